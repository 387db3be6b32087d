// validate.mjs — every answer the end-to-end tests recorded (tests/http/harness.h,
// SIYU_RECORD_RESPONSES) is checked against the OpenAPI document: its path and method
// are in it, its status is declared, its Content-Type is the declared one and its JSON
// body validates against the declared schema (JSON Schema 2020-12, ajv). Any mismatch
// fails, naming the request, the status and what did not match.
//   node tools/api/validate.mjs OPENAPI.json RECORDED.jsonl
import fs from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { matchOperation, readRecords } from './lib.mjs';

const [docFile, recFile] = process.argv.slice(2);
if (!docFile || !recFile) {
  console.error('usage: node validate.mjs OPENAPI.json RECORDED.jsonl');
  process.exit(2);
}
const doc = JSON.parse(fs.readFileSync(docFile, 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
ajv.addSchema({ $id: 'siyu', components: { schemas: doc.components.schemas } });

const compiled = new Map();
function validator(schema) {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) {
    // the document's refs (#/components/schemas/X) resolve in the schema added above
    const rebased = JSON.parse(key.replaceAll('"#/components/', '"siyu#/components/'));
    compiled.set(key, ajv.compile(rebased));
  }
  return compiled.get(key);
}

function resolve(obj) {
  while (obj && obj.$ref) {
    const parts = obj.$ref.replace(/^#\//, '').split('/');
    obj = parts.reduce((o, p) => o?.[p], doc);
  }
  return obj;
}

// The declared response of a status: the exact code, else its range ("5XX"), else default.
function declared(op, status) {
  const r = op.responses || {};
  return resolve(r[String(status)] || r[`${String(status)[0]}XX`] || r.default);
}

const failures = [];
const seen = new Set();
let checked = 0;
let bodies = 0;
for await (const r of readRecords(recFile)) {
  const where = `${r.method} ${r.path} → ${r.status} (${recFile}:${r.line})`;
  const fail = (why) => failures.push(`${where}: ${why}`);
  checked++;
  const m = matchOperation(doc, r.method, r.path);
  if (!m) {
    // a path the document does not have must be an unknown route
    if (r.status !== 404) fail('the path is not in the document');
    continue;
  }
  if (!m.op) {
    // the path exists without this method: 405 with Allow, or OPTIONS' 204
    if (![405, 204, 404].includes(r.status)) fail(`${r.method} is not in the document for ${m.template}`);
    continue;
  }
  seen.add(`${r.method === 'HEAD' ? 'GET' : r.method} ${m.template}`);
  const resp = declared(m.op, r.status);
  if (!resp) {
    fail(`status ${r.status} is not declared (declared: ${Object.keys(m.op.responses).join(', ')})`);
    continue;
  }
  if (r.method === 'HEAD' || r.status === 204 || r.status === 304) continue; // no body
  const type = (r.content_type || '').split(';')[0].trim().toLowerCase();
  const content = resp.content || {};
  if (!Object.keys(content).length) {
    if (r.body.length) fail(`a body where the document declares none (${type})`);
    continue;
  }
  const media = content[type];
  if (!media) {
    fail(`Content-Type ${type || '(none)'} is not declared (declared: ${Object.keys(content).join(', ')})`);
    continue;
  }
  if (!type.endsWith('json') || r.content_encoding) continue; // text, or compressed (not kept)
  let body;
  try {
    body = JSON.parse(r.body);
  } catch (e) {
    fail(`the body is not JSON: ${e.message}`);
    continue;
  }
  bodies++;
  const v = validator(media.schema || {});
  if (!v(body)) {
    const errs = v.errors.slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`);
    fail(`the body does not match ${media.schema?.$ref || 'its schema'}: ${errs.join('; ')}`);
  }
}

let ops = 0;
for (const [t, item] of Object.entries(doc.paths))
  for (const method of Object.keys(item)) if (!['parameters', 'summary', 'description'].includes(method)) ops++;
console.log(`contract: ${checked} recorded answers checked (${bodies} JSON bodies validated), ` +
  `${seen.size} of ${ops} operations reached by the end-to-end tests`);
if (failures.length) {
  const shown = failures.slice(0, Number(process.env.SIYU_CONTRACT_SHOW || 50));
  console.error(`contract: ${failures.length} answers do not match the OpenAPI document:\n  ` + shown.join('\n  '));
  if (failures.length > shown.length) console.error(`  … and ${failures.length - shown.length} more`);
  console.log(`${checked - failures.length} passed, ${failures.length} failed`);
  process.exit(1);
}
console.log(`${checked} passed, 0 failed`);
