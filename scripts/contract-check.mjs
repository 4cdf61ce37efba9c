// Validate the contract documents with the official parsers, offline: an AsyncAPI document
// with @asyncapi/parser, an OpenAPI document with @readme/openapi-parser (which knows 3.1).
//
//   node scripts/contract-check.mjs DOCUMENT.json...   (run by scripts/contract-check)
//
// The kind of each document is its top-level `asyncapi` or `openapi` field. Prints every
// diagnostic; exits 1 when one is an error or when a $ref points outside the document (checked
// first, so nothing is ever fetched: the contract must resolve without a network). The parsers
// are resolved from NODE_PATH (target/contract-check/node_modules).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const files = process.argv.slice(2);
if (!files.length) {
  console.error('usage: node scripts/contract-check.mjs DOCUMENT.json...');
  process.exit(2);
}

// Every $ref must be local ("#/..."): a remote one would make validation and code generation
// depend on the network.
function foreignRefs(document) {
  const foreign = [];
  (function walk(value, path) {
    if (Array.isArray(value)) return value.forEach((v, i) => walk(v, `${path}/${i}`));
    if (value === null || typeof value !== 'object') return;
    for (const [key, v] of Object.entries(value)) {
      if (key === '$ref' && (typeof v !== 'string' || !v.startsWith('#'))) foreign.push(`${path}: ${v}`);
      walk(v, `${path}/${key}`);
    }
  })(document, '');
  return foreign;
}

// @asyncapi/parser: diagnostics with a severity; errors are severity 0.
async function checkAsyncapi(file, text) {
  const { Parser, DiagnosticSeverity } = require('@asyncapi/parser');
  const diagnostics = await new Parser().validate(text, { source: file });
  const names = Object.fromEntries(Object.entries(DiagnosticSeverity).map(([k, v]) => [v, k]));
  for (const d of diagnostics) {
    const where = (d.path || []).join('/');
    console.log(`${names[d.severity] ?? d.severity}\t${d.code}\t/${where}\t${d.message}`);
  }
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).length;
  console.log(`${file}: ${diagnostics.length} diagnostic(s), ${errors} error(s)`);
  return errors;
}

// @readme/openapi-parser: the document as an object (never a path, so no file or URL is
// resolved), external references off.
async function checkOpenapi(file, text) {
  const { validate } = require('@readme/openapi-parser');
  const result = await validate(JSON.parse(text), { resolve: { external: false } });
  for (const w of result.warnings ?? []) console.log(`Warning\t${w.message}`);
  const errors = result.valid ? [] : result.errors;
  for (const e of errors) console.log(`Error\t${e.message}`);
  if (!result.valid && result.additionalErrors) console.log(`Error\t…and ${result.additionalErrors} more`);
  const count = errors.length + (result.additionalErrors ?? 0);
  console.log(`${file}: ${result.specification ?? 'unknown'} document, ${count} error(s), ${(result.warnings ?? []).length} warning(s)`);
  return result.valid ? 0 : Math.max(count, 1);
}

let failed = 0;
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const document = JSON.parse(text);
  const foreign = foreignRefs(document);
  if (foreign.length) {
    for (const f of foreign) console.log(`Error\tnon-local-ref\t${f}`);
    console.log(`${file}: ${foreign.length} reference(s) outside the document; not parsed`);
    failed += 1;
    continue;
  }
  if (typeof document.asyncapi === 'string') {
    failed += (await checkAsyncapi(file, text)) ? 1 : 0;
  } else if (typeof document.openapi === 'string') {
    failed += (await checkOpenapi(file, text)) ? 1 : 0;
  } else {
    console.log(`${file}: neither an AsyncAPI nor an OpenAPI document`);
    failed += 1;
  }
}
process.exit(failed ? 1 : 0);
