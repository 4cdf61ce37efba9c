"""Every schema in schemas/ checked by python-jsonschema and every example in schemas/examples/
validated against it, as a partner's Python code would: Draft 2020-12, the schemas resolved
from each other (no network), formats as annotations (the library's default). It must agree
with the hub on everything but the checks only the hub makes (tests/interop/hub-only.json).
Run by scripts/interop, which installs jsonschema into a virtual environment.

    python tests/interop/jsonschema_check.py [repo root]
"""

import json
import sys
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

BASE = "https://schemas.samverkan.se/"


def main(root: Path) -> int:
    schema_dir = root / "schemas"
    hub_only = set(json.loads((root / "tests/interop/hub-only.json").read_text()))
    schemas = {p.name: json.loads(p.read_text()) for p in sorted(schema_dir.glob("*.json"))}
    registry = Registry().with_resources(
        (BASE + name, Resource.from_contents(schema)) for name, schema in schemas.items()
    )
    failures, checked = [], 0
    for name, schema in schemas.items():
        Draft202012Validator.check_schema(schema)
        validator = Draft202012Validator(schema, registry=registry)
        stem = name.removesuffix(".json")
        for example in sorted((schema_dir / "examples" / stem).glob("*/*.json")):
            kind = example.parent.name
            path = f"{stem}/{kind}/{example.name}"
            event = json.loads(example.read_text())
            if "data" not in event:
                continue  # an envelope refusal with no data to check
            hub_says = kind == "invalid" and example.name.startswith("schema_invalid--")
            expected = "invalid" if hub_says and path not in hub_only else "valid"
            got = "valid" if validator.is_valid(event["data"]) else "invalid"
            checked += 1
            if got != expected:
                failures.append(f"{path}: jsonschema says {got}, expected {expected}")
    for failure in failures:
        print(f"jsonschema-check: {failure}", file=sys.stderr)
    if not failures:
        print(f"jsonschema-check: {len(schemas)} schemas checked, {checked} examples agree")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[2]))
