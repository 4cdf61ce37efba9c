"""The official CloudEvents Python SDK (2.x) against a running hub, as a partner's developer
would use it (scripts/interop runs it in CI; tests/interop/live_hub.py starts the hub):

- its AMQP binding (`cloudEvents_` application properties, `time` as epoch milliseconds) and
  its RabbitMQ binding (`ce-` headers), each in binary and structured mode, published with
  pika to the ingress exchange as VGR's broker user: the hub accepts all four needs (VGR's
  queue gets a `need.status` for each and no `message.rejected`) and routes them
  (`challenge.published` reaches Chalmers);
- its HTTP binding in binary and structured mode, POSTed to `/v1/events` with RV's token:
  `202`, and the W3C `traceparent` header sent with one of them is continued in its status;
- its parsers, `from_amqp` (AMQP binding) and `from_rabbitmq` (RabbitMQ binding), read every
  message the hub put in any organisation's queue, whichever mode it is in, consumed with pika
  (the three senders' queues as the organisations themselves).

The needs are sample needs without personal data. Any failure, an unreachable broker
included, ends it with a message and exit status 1.

    python tests/interop/sdk_live_check.py SAMVERKAN_BINARY [repo root]
"""

import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pika
from cloudevents.core.bindings import amqp, http, rabbitmq
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from live_hub import HubError, LiveHub

INGRESS = "samverkan.ingress"
NEED_SUBMITTED = "se.samverkan.need.submitted.v1"
NEED_SCHEMA = "https://schemas.samverkan.se/need.v1.json"
STATUS, CHALLENGE, REJECTED = (
    f"se.samverkan.{kind}.v1" for kind in ("need.status", "challenge.published", "message.rejected")
)
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
SETTLE_TIMEOUT = 60  # seconds for the hub to handle everything and publish what it caused
# VGR's needs over AMQP, one per binding and mode; RV's over HTTP.
OVER_AMQP = {
    "NEED-2026-0101": "amqp binary",
    "NEED-2026-0102": "amqp structured",
    "NEED-2026-0103": "rabbitmq binary",
    "NEED-2026-0106": "rabbitmq structured",
}
OVER_HTTP = {"NEED-2026-0104": "http binary", "NEED-2026-0105": "http structured"}
TO_MESSAGE = {
    "amqp binary": amqp.to_binary,
    "amqp structured": amqp.to_structured,
    "rabbitmq binary": rabbitmq.to_binary,
    "rabbitmq structured": rabbitmq.to_structured,
    "http binary": http.to_binary,
    "http structured": http.to_structured,
}


class CheckFailed(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def strip_annotations(value):
    """The sample data's `_…` annotations removed (tests only), as the hub's tests do."""
    if isinstance(value, dict):
        return {k: strip_annotations(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [strip_annotations(v) for v in value]
    return value


def need_event(root: Path, need_id: str) -> CloudEvent:
    """A sample need as its region's `need.submitted`; the SDK fills in `id` and `time`."""
    needs = json.loads((root / "sample-data/needs.json").read_text())["needs"]
    need = strip_annotations(next(n for n in needs if n["id"] == need_id))
    attributes = {
        "type": NEED_SUBMITTED,
        "source": f"urn:samverkan:org:{need['region']}",
        "subject": need_id,
        "dataschema": NEED_SCHEMA,
        "datacontenttype": "application/json",
    }
    return CloudEvent(attributes, need)


def send_over_amqp(hub: LiveHub, events: dict[str, CloudEvent]) -> None:
    """Publish each event as VGR with the binding and mode `OVER_AMQP` names, confirmed."""
    connection = pika.BlockingConnection(pika.URLParameters(hub.amqp_url("VGR")))
    channel = connection.channel()
    channel.confirm_delivery()
    for need_id, how in OVER_AMQP.items():
        event = events[need_id]
        message = TO_MESSAGE[how](event, JSONFormat())
        if isinstance(message, amqp.AMQPMessage):
            content_type = message.properties.get(amqp.CONTENT_TYPE_PROPERTY)
            headers, body = message.application_properties, message.application_data
        else:
            content_type, headers, body = message.content_type, message.headers, message.body
        if how == "amqp binary":
            time_ms = headers["cloudEvents_time"]
            check(isinstance(time_ms, int), f"the AMQP binding's time is {type(time_ms)}")
        properties = pika.BasicProperties(
            content_type=content_type,
            headers=headers or None,
            user_id="vgr",  # the broker checks it against the connection's user; the hub reads it
            message_id=event.get_id(),
            delivery_mode=2,
        )
        # mandatory + confirms: pika raises when the broker does not route or take it.
        channel.basic_publish(INGRESS, NEED_SUBMITTED, body, properties, mandatory=True)
    connection.close()


def send_over_http(hub: LiveHub, events: dict[str, CloudEvent]) -> None:
    """POST each event as RV with the mode `OVER_HTTP` names; the binary one with a W3C
    `traceparent` header, as an OpenTelemetry-instrumented client sends it."""
    for need_id, how in OVER_HTTP.items():
        message = TO_MESSAGE[how](events[need_id], JSONFormat())
        headers = dict(message.headers)
        headers["Authorization"] = f"Bearer {hub.tokens['RV']}"
        if how == "http binary":
            headers["traceparent"] = TRACEPARENT
        request = urllib.request.Request(
            hub.http_url + "/v1/events", data=message.body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, answer = response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            status, answer = e.code, e.read().decode(errors="replace")
        check(status == 202, f"{how} {need_id}: POST /v1/events answered {status}: {answer}")


def metric(text: str, prefix: str) -> int:
    """The sum of the samples whose line starts with `prefix`."""
    lines = (line for line in text.splitlines() if line.startswith(prefix))
    return sum(int(float(line.split()[-1])) for line in lines)


def await_settled(hub: LiveHub, expected: int) -> str:
    """Wait until the hub handled `expected` deliveries and published everything they caused
    (no outbox row left); its metrics then."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    text = ""
    while time.monotonic() < deadline:
        status, text = hub.get("/metrics")
        handled = metric(text, "samverkan_deliveries_total{")
        if status == 200 and handled >= expected and metric(text, "samverkan_outbox_pending ") == 0:
            return text
        time.sleep(0.2)
    raise CheckFailed(f"the hub did not settle within {SETTLE_TIMEOUT} s; /metrics:\n{text}")


def read_with_sdk(props: pika.BasicProperties, body: bytes, queue: str) -> dict:
    """One delivery through both SDK parsers (each picks binary or structured mode itself);
    they must agree with each other and with the AMQP properties the hub set."""
    raw_headers = dict(props.headers or {})
    as_amqp = amqp.AMQPMessage(
        properties={amqp.CONTENT_TYPE_PROPERTY: props.content_type} if props.content_type else {},
        application_properties=raw_headers,
        application_data=body,
    )
    as_rabbitmq = rabbitmq.RabbitMQMessage(
        headers={k: str(v) for k, v in raw_headers.items()},
        content_type=props.content_type,
        body=body,
    )
    try:
        events = [
            amqp.from_amqp(as_amqp, JSONFormat()),
            rabbitmq.from_rabbitmq(as_rabbitmq, JSONFormat()),
        ]
    except Exception as e:  # the SDK's own errors: report which message, then fail
        raise CheckFailed(f"{queue}: the SDK cannot read a message ({e!r}): {body[:300]!r}") from e
    seen = [{**e.get_attributes(), "data": e.get_data()} for e in events]
    check(seen[0] == seen[1], f"{queue}: the AMQP and RabbitMQ parsers disagree: {seen}")
    event = seen[0]
    check(
        event["id"] == props.message_id,
        f"{queue}: message_id {props.message_id} != id {event['id']}",
    )
    check(event["type"] == props.type, f"{queue}: AMQP type {props.type} != {event['type']}")
    check(isinstance(event["data"], dict), f"{queue}: data is not a JSON object: {event}")
    mode = (
        "structured"
        if (props.content_type or "").startswith("application/cloudevents")
        else "binary"
    )
    return {**event, "mode": mode, "queue": queue}


def drain(hub: LiveHub, own: list[str]) -> list[dict]:
    """Every message of every organisation's queue, read with the SDK; the organisations in
    `own` read their queue as themselves, the others' are read as the broker admin."""
    read = []
    for queue in (q for q in hub.queues() if q.startswith("samverkan.org.")):
        org = queue.removeprefix("samverkan.org.")
        url = hub.amqp_url(org if org in own else None)
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        while True:
            method, props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                break
            read.append(read_with_sdk(props, body, queue))
        connection.close()
    return read


def verify(read: list[dict], metrics: str) -> None:
    """What the hub sent: a status per need to its region, no rejection, a challenge for
    Chalmers, and the W3C header's trace in the status of the need it came with."""
    refused = metric(metrics, 'samverkan_deliveries_total{outcome="refused"')
    rejections = [e for e in read if e["type"] == REJECTED]
    check(refused == 0 and not rejections, f"the hub refused SDK events: {rejections or metrics}")
    for org, needs in (("VGR", OVER_AMQP), ("RV", OVER_HTTP)):
        statuses = {
            e["subject"]
            for e in read
            if e["queue"] == f"samverkan.org.{org}" and e["type"] == STATUS
        }
        check(
            statuses == set(needs),
            f"{org} got need.status for {sorted(statuses)}, not {sorted(needs)}",
        )
    challenges = [
        e for e in read if e["queue"] == "samverkan.org.chalmers" and e["type"] == CHALLENGE
    ]
    check(
        any(e["subject"] == "NEED-2026-0101" for e in challenges),
        f"no challenge for Chalmers: {challenges}",
    )
    traced = [e for e in read if e["type"] == STATUS and e["subject"] == "NEED-2026-0104"]
    check(
        [e.get("traceparent") for e in traced] == [TRACEPARENT],
        f"the traceparent header did not reach NEED-2026-0104's status: {traced}",
    )


def main(binary: Path, root: Path) -> int:
    events = {n: need_event(root, n) for n in [*OVER_AMQP, *OVER_HTTP]}
    senders = ["VGR", "RV", "chalmers"]
    try:
        with LiveHub(binary, root, senders) as hub:
            send_over_amqp(hub, events)
            send_over_http(hub, events)
            metrics = await_settled(hub, len(events))
            read = drain(hub, senders)
            verify(read, metrics)
    except (HubError, CheckFailed, pika.exceptions.AMQPError) as e:
        print(f"sdk-live-check: FAILED: {str(e) or repr(e)}", file=sys.stderr)
        return 1
    modes = {m: sum(e["mode"] == m for e in read) for m in ("structured", "binary")}
    print(
        f"sdk-live-check: the hub accepted {len(OVER_AMQP)} SDK events over AMQP "
        f"({', '.join(OVER_AMQP.values())}) and {len(OVER_HTTP)} over HTTP; the SDK read all "
        f"{len(read)} events it sent to {len({e['queue'] for e in read})} organisations' queues "
        f"({modes['structured']} structured, {modes['binary']} binary)"
    )
    return 0


if __name__ == "__main__":
    root = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).parents[2]
    sys.exit(main(Path(sys.argv[1]), root))
