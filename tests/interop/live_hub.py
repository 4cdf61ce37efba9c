"""A real hub for the interop checks that need one: `samverkan run` on a throwaway virtual host
of the broker under test, with a temporary SQLite store, the sample organisations
(config/sample.toml), the clock pinned to the sample data's reference date and HTTP on a port
the system chooses. Partners' tools then talk to it exactly as they would in production: AMQP
as an organisation's broker user (`samverkan onboard`), HTTP with a token (`samverkan tokens
issue`).

The broker is `SAMVERKAN__AMQP__URL` and `SAMVERKAN__AMQP__MANAGEMENT_URL` (else the local
defaults of config/default.toml), as for the service tests. It is required: when it cannot be
reached this raises `HubError` saying so; nothing is skipped.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2f"
DEFAULT_MANAGEMENT_URL = "http://127.0.0.1:15672"
# Broker users are global to a broker, not per vhost, and tests/it resets the sample
# organisations' users to this password whenever it onboards them: the same password lets this
# check and those tests run at once without locking each other out.
ORG_PASSWORD = "samverkan-it"
START_TIMEOUT = 60  # seconds for the hub to serve HTTP and be ready
STOP_TIMEOUT = 30  # seconds for a clean stop after SIGTERM
SERVING = "serving /healthz"  # the start-up log line that names the bound address
START_BROKER = "start it with `scripts/test --broker-only` or point SAMVERKAN__AMQP__URL at one"


class HubError(Exception):
    """The hub or the broker it needs did not come up; the message says what to do."""


def quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


class Broker:
    """The broker under test: its AMQP URL and its management API."""

    def __init__(self) -> None:
        self.amqp = urllib.parse.urlsplit(os.environ.get("SAMVERKAN__AMQP__URL", DEFAULT_AMQP_URL))
        management = os.environ.get("SAMVERKAN__AMQP__MANAGEMENT_URL", DEFAULT_MANAGEMENT_URL)
        self.management = urllib.parse.urlsplit(management)
        # Credentials: the management URL's own, else the AMQP URL's (as the hub does).
        creds = self.management if self.management.username else self.amqp
        self.admin = urllib.parse.unquote(creds.username or "guest")
        self.admin_password = urllib.parse.unquote(creds.password or "guest")

    def vhost_url(self, user: str, password: str, vhost: str) -> str:
        netloc = f"{quote(user)}:{quote(password)}@{self.amqp.hostname}"
        if self.amqp.port:
            netloc += f":{self.amqp.port}"
        return f"{self.amqp.scheme}://{netloc}/{quote(vhost)}"

    def api(self, method: str, path: str, body=None):
        """Call the management API; the parsed JSON answer (None when empty)."""
        host = self.management.hostname
        port = f":{self.management.port}" if self.management.port else ""
        url = f"{self.management.scheme}://{host}{port}/api/{path}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        token = base64.b64encode(f"{self.admin}:{self.admin_password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                text = response.read()
        except urllib.error.HTTPError as e:
            raise HubError(
                f"RabbitMQ management API: {method} /api/{path}: {e.code} {e.reason}"
            ) from e
        except (urllib.error.URLError, OSError) as e:
            raise HubError(
                f"cannot reach the RabbitMQ management API at {host}{port} ({e}); {START_BROKER}"
            ) from e
        return json.loads(text) if text else None


class LiveHub:
    """`with LiveHub(binary, root, orgs) as hub:` a running hub; `orgs` are onboarded and get
    API tokens. Everything it created (vhost, store, process) is gone afterwards."""

    def __init__(self, binary: Path, root: Path, orgs: list[str]) -> None:
        self.binary, self.root, self.orgs = binary, root, orgs
        self.broker = Broker()
        self.vhost = f"interop-{uuid.uuid4().hex[:12]}"
        self.dir = Path(tempfile.mkdtemp(prefix="samverkan-interop-"))
        self.process = None
        self.created = False
        self.http_url = ""
        self.tokens: dict[str, str] = {}

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAMVERKAN")}
        env.pop("RUST_LOG", None)
        b = self.broker
        env.update(
            SAMVERKAN__AMQP__URL=b.vhost_url(b.admin, b.admin_password, self.vhost),
            SAMVERKAN__AMQP__MANAGEMENT_URL=os.environ.get(
                "SAMVERKAN__AMQP__MANAGEMENT_URL", DEFAULT_MANAGEMENT_URL
            ),
            SAMVERKAN__AMQP__CONNECTION_NAME=f"hub-{self.vhost}",
            SAMVERKAN__STORE__URL=f"sqlite://{self.dir / 'hub.db'}",
            SAMVERKAN__HTTP__LISTEN="127.0.0.1:0",
            SAMVERKAN__HUB__FIXED_DATE="2026-11-22",
            SAMVERKAN__LOG__FORMAT="json",
            SAMVERKAN__LOG__LEVEL="info",
        )
        return env

    def samverkan(self, *args: str, stdin: str = "") -> str:
        """Run a `samverkan` command against this hub's settings; its stdout."""
        config = str(self.root / "config/sample.toml")
        command = [str(self.binary), "--config", config, *args]
        done = subprocess.run(
            command, input=stdin, capture_output=True, text=True, env=self.env(), timeout=120
        )
        if done.returncode != 0:
            raise HubError(f"`samverkan {' '.join(args)}` failed: {done.stderr.strip()}")
        return done.stdout

    def __enter__(self) -> "LiveHub":
        try:
            self.broker.api("PUT", f"vhosts/{quote(self.vhost)}", {})
            self.created = True
            everything = {"configure": ".*", "write": ".*", "read": ".*"}
            path = f"permissions/{quote(self.vhost)}/{quote(self.broker.admin)}"
            self.broker.api("PUT", path, everything)
            for org in self.orgs:
                self.samverkan(
                    "onboard",
                    org,
                    "--password-stdin",
                    "--reset-password",
                    "--reset-tags",
                    stdin=ORG_PASSWORD + "\n",
                )
            self.start()
            for org in self.orgs:
                self.tokens[org] = self.samverkan("tokens", "issue", org).strip()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def start(self) -> None:
        log = open(self.dir / "hub.log", "wb")
        config = str(self.root / "config/sample.toml")
        self.process = subprocess.Popen(
            [str(self.binary), "--config", config, "run"],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HubError(f"the hub exited with {self.process.returncode}:\n{self.log_tail()}")
            if not self.http_url:
                self.http_url = self.served_address()
            elif self.get("/readyz")[0] == 200:
                return
            time.sleep(0.2)
        raise HubError(f"the hub was not ready within {START_TIMEOUT} s:\n{self.log_tail()}")

    def served_address(self) -> str:
        for line in self.log_lines():
            if str(line.get("message", "")).startswith(SERVING):
                return f"http://{line['address']}"
        return ""

    def log_lines(self) -> list[dict]:
        lines = []
        for text in (self.dir / "hub.log").read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(text))
            except ValueError:
                lines.append({"message": text})
        return lines

    def log_tail(self, count: int = 30) -> str:
        if not (self.dir / "hub.log").exists():
            return "(no log)"
        text = (self.dir / "hub.log").read_text(errors="replace").splitlines()
        return "\n".join(text[-count:])

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.http_url + path, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")
        except (urllib.error.URLError, OSError) as e:
            return 0, str(e)

    def amqp_url(self, org: str | None = None) -> str:
        """The hub's vhost as `org`'s broker user (config/sample.toml names each one after its
        organisation, in lower case), or as the broker admin."""
        b = self.broker
        if org is None:
            return b.vhost_url(b.admin, b.admin_password, self.vhost)
        return b.vhost_url(org.lower(), ORG_PASSWORD, self.vhost)

    def queues(self) -> list[str]:
        listed = self.broker.api("GET", f"queues/{quote(self.vhost)}?columns=name") or []
        return sorted(q["name"] for q in listed)

    def __exit__(self, *_exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        try:
            if self.created:
                self.broker.api("DELETE", f"vhosts/{quote(self.vhost)}")
        except HubError as e:
            print(f"live-hub: could not delete vhost {self.vhost}: {e}", file=sys.stderr)
        shutil.rmtree(self.dir, ignore_errors=True)
