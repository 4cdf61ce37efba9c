"""Events built with the official CloudEvents Python SDK (`pip install cloudevents`, 2.x) as a
university developer would, written in structured mode with its RabbitMQ binding, for
`samverkan validate` to accept (scripts/interop runs it on the files this writes). The SDK
fills in `id` (a UUID4) and `time` (now, with microseconds) itself, so this checks the hub's
envelope rules against what the SDK really produces, not against our own examples' style.

It also pins down what the SDK's binary bindings write, which the hub must read: the AMQP
binding's `cloudEvents_time` is an integer of epoch milliseconds (src/transport/amqp/convert.rs
turns it into RFC 3339; tests/it/interop_amqp.rs sends it over RabbitMQ) and the RabbitMQ
binding's `ce-` headers are strings.

    python tests/interop/cloudevents_sdk_check.py OUT_DIR [repo root]
"""

import json
import sys
from pathlib import Path

from cloudevents.core.bindings import amqp, rabbitmq
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

KEEP = ("type", "source", "subject", "dataschema", "datacontenttype", "traceparent")


def main(out: Path, root: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for example in sorted((root / "schemas/examples").glob("*/valid/*.json")):
        sent = json.loads(example.read_text())
        attributes = {k: sent[k] for k in KEEP if k in sent}
        event = CloudEvent(attributes, sent["data"])
        message = rabbitmq.to_structured(event, JSONFormat())
        assert message.content_type.startswith("application/cloudevents+json"), message
        name = f"{example.parent.parent.name}--{example.name}"
        (out / name).write_bytes(message.body)
        written += 1
        binary = amqp.to_binary(event, JSONFormat())
        time = binary.application_properties["cloudEvents_time"]
        assert isinstance(time, int), f"the AMQP binding's time is {type(time)}"
        headers = rabbitmq.to_binary(event, JSONFormat()).headers
        assert all(isinstance(v, str) for v in headers.values()), headers
    print(f"cloudevents-sdk-check: {written} events written to {out}")
    return 0


if __name__ == "__main__":
    root = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).parents[2]
    sys.exit(main(Path(sys.argv[1]), root))
