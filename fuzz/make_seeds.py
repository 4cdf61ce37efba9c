#!/usr/bin/env python3
"""Writes the seed inputs of the `decode` fuzz target into a directory (default: ./seeds).

Seeds, in the target's input format (see fuzz_targets/decode.rs and docs/fuzzing.md):
  * every schemas/examples/**/*.json as a bare body (no content type, no headers);
  * the same with `content-type: application/cloudevents+json` (structured mode);
  * every valid example in binary mode: attributes as headers (the three prefixes in turn),
    `data` as the body;
  * every sample need of sample-data/needs.json as a bare body and as the data of a binary-mode
    need.submitted event.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "seeds")
PREFIXES = ["ce-", "cloudEvents_", "cloudEvents:"]


def write(name, data):
    OUT.joinpath(name).write_bytes(data)


def with_head(lines, body):
    return b"\0" + "\n".join(lines).encode() + b"\n\n" + body


def binary(event, prefix):
    lines = ["content-type: application/json"]
    for key, value in event.items():
        if key in ("data", "datacontenttype"):
            continue
        lines.append(f"{prefix}{key}: {value}")
    body = json.dumps(event.get("data"), ensure_ascii=False).encode()
    return with_head(lines, body)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    n = 0
    for i, path in enumerate(sorted(ROOT.glob("schemas/examples/**/*.json"))):
        raw = path.read_bytes()
        stem = f"{path.parent.parent.name}--{path.parent.name}--{path.stem}"
        write(f"bare--{stem}", raw)
        write(f"structured--{stem}", with_head(["content-type: application/cloudevents+json"], raw))
        n += 2
        if path.parent.name == "valid":
            event = json.loads(raw)
            write(f"binary--{stem}", binary(event, PREFIXES[i % 3]))
            n += 1
    needs = json.loads(ROOT.joinpath("sample-data/needs.json").read_text())["needs"]
    for i, need in enumerate(needs):
        body = json.dumps(need, ensure_ascii=False).encode()
        write(f"need--{need['id']}", body)
        event = {
            "specversion": "1.0",
            "id": f"seed-{i}",
            "source": "urn:samverkan:org:VGR",
            "type": "se.samverkan.need.submitted.v1",
            "time": "2026-11-22T10:00:00Z",
            "dataschema": "https://schemas.samverkan.se/need.v1.json",
            "subject": need["id"],
            "data": need,
        }
        write(f"binary-need--{need['id']}", binary(event, PREFIXES[i % 3]))
        n += 2
    print(f"{n} seeds in {OUT}")


main()
