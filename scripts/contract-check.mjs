// Validate an AsyncAPI document with the official parser (@asyncapi/parser), offline.
//
//   node scripts/contract-check.mjs DOCUMENT.json   (run by scripts/contract-check)
//
// Prints every diagnostic; exits 1 when one has error severity (0) or when a $ref points
// outside the document (checked first, so nothing is ever fetched: the contract must resolve
// without a network). The parser is resolved from NODE_PATH (target/contract-check/node_modules).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Parser, DiagnosticSeverity } = require('@asyncapi/parser');

const file = process.argv[2];
if (!file) {
  console.error('usage: node scripts/contract-check.mjs DOCUMENT.json');
  process.exit(2);
}
const text = readFileSync(file, 'utf8');

// Every $ref must be local ("#/..."): a remote one would make validation and code generation
// depend on the network.
const foreign = [];
(function walk(value, path) {
  if (Array.isArray(value)) return value.forEach((v, i) => walk(v, `${path}/${i}`));
  if (value === null || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value)) {
    if (key === '$ref' && (typeof v !== 'string' || !v.startsWith('#'))) foreign.push(`${path}: ${v}`);
    walk(v, `${path}/${key}`);
  }
})(JSON.parse(text), '');

if (foreign.length) {
  for (const f of foreign) console.log(`Error\tnon-local-ref\t${f}`);
  console.log(`${file}: ${foreign.length} reference(s) outside the document; not parsed`);
  process.exit(1);
}

const parser = new Parser();
const diagnostics = await parser.validate(text, { source: file });

const names = Object.fromEntries(Object.entries(DiagnosticSeverity).map(([k, v]) => [v, k]));
for (const d of diagnostics) {
  const where = (d.path || []).join('/');
  console.log(`${names[d.severity] ?? d.severity}\t${d.code}\t/${where}\t${d.message}`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).length;
console.log(`${file}: ${diagnostics.length} diagnostic(s), ${errors} error(s)`);
process.exit(errors ? 1 : 0);
