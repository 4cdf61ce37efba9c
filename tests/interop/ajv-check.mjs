// Every schema in schemas/ compiled by ajv with its default options (strict mode on) plus
// ajv-formats, and every example in schemas/examples/ checked against it: a partner's generic
// validator must agree with the hub on everything but the checks only the hub makes (the
// Luhn digits, listed in HUB_ONLY). Run by scripts/interop, which installs ajv here.
//
//   node tests/interop/ajv-check.mjs [repo root]
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const root = process.argv[2] ?? new URL("../..", import.meta.url).pathname;
const schemaDir = join(root, "schemas");
const examples = join(schemaDir, "examples");
const HUB_ONLY = JSON.parse(readFileSync(join(root, "tests/interop/hub-only.json"), "utf8"));

// Strict mode's softer findings (strictTypes) are only logged; here they fail the check too.
const failures = [];
console.warn = (...args) => failures.push(`strict mode: ${args.join(" ")}`);
const ajv = new Ajv2020();
addFormats(ajv);
const files = readdirSync(schemaDir).filter((f) => f.endsWith(".json"));
for (const file of files) {
  ajv.addSchema(JSON.parse(readFileSync(join(schemaDir, file), "utf8")));
}
let checked = 0;
for (const file of files) {
  const id = `https://schemas.samverkan.se/${file}`;
  let validate;
  try {
    validate = ajv.getSchema(id);
  } catch (e) {
    failures.push(`${file}: does not compile: ${e.message}`);
    continue;
  }
  const name = file.replace(/\.json$/, "");
  for (const kind of ["valid", "invalid"]) {
    let entries = [];
    try {
      entries = readdirSync(join(examples, name, kind));
    } catch {
      continue; // common.v1 has no examples
    }
    for (const example of entries.filter((e) => e.endsWith(".json"))) {
      const path = `${name}/${kind}/${example}`;
      const event = JSON.parse(readFileSync(join(examples, name, kind, example), "utf8"));
      if (!("data" in event)) continue; // an envelope refusal with no data to check
      // Only `schema_invalid--*` examples have bad `data`; the rest fail in the envelope.
      const hubSays = kind === "invalid" && example.startsWith("schema_invalid--");
      const expected = hubSays && !HUB_ONLY.includes(path) ? "invalid" : "valid";
      const got = validate(event.data) ? "valid" : "invalid";
      checked += 1;
      if (got !== expected) {
        failures.push(`${path}: ajv says ${got}, expected ${expected} ${JSON.stringify(validate.errors ?? [])}`);
      }
    }
  }
}
if (failures.length) {
  for (const f of failures) console.error(`ajv-check: ${f}`);
  process.exit(1);
}
console.log(`ajv-check: ${files.length} schemas compiled, ${checked} examples agree`);
