// infer.mjs — drafts a response schema from recorded answers, for a developer writing a
// route's declaration (the draft is a start: add descriptions, enums and examples).
//   SIYU_RECORD_RESPONSES=/tmp/rec.jsonl ctest -R e2e_NAME
//   node tools/api/infer.mjs /tmp/rec.jsonl build/openapi.json 'GET /api/v1/x'
import fs from 'node:fs';
import { matchOperation, readRecords } from './lib.mjs';

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (Number.isInteger(v)) return 'integer';
  return typeof v === 'number' ? 'number' : typeof v;
}

// Merges one value into a draft: types seen, properties seen in every object, items.
function merge(d, v) {
  d = d || { types: new Set(), n: 0 };
  d.types.add(typeOf(v));
  if (typeOf(v) === 'object') {
    d.objects = (d.objects || 0) + 1;
    d.props = d.props || {};
    d.seen = d.seen || {};
    for (const [k, x] of Object.entries(v)) {
      d.props[k] = merge(d.props[k], x);
      d.seen[k] = (d.seen[k] || 0) + 1;
    }
  } else if (typeOf(v) === 'array') {
    for (const x of v) d.items = merge(d.items, x);
  } else if (typeOf(v) === 'string') {
    d.strings = d.strings || new Set();
    if (d.strings.size < 50) d.strings.add(v);
    if (/^\d{4}-\d\d-\d\dT/.test(v)) d.time = (d.time || 0) + 1;
  }
  d.n++;
  return d;
}

function toSchema(d) {
  if (!d) return {};
  const types = [...d.types];
  if (types.includes('integer') && types.includes('number'))
    types.splice(types.indexOf('integer'), 1);
  const s = { type: types.length === 1 ? types[0] : types };
  if (d.props) {
    s.properties = {};
    const required = [];
    for (const k of Object.keys(d.props).sort()) {
      s.properties[k] = toSchema(d.props[k]);
      if (d.seen[k] === d.objects) required.push(k);
    }
    if (required.length) s.required = required;
  }
  if (d.items) s.items = toSchema(d.items);
  else if (types.includes('array')) s.items = {};
  if (d.time && d.time === d.strings?.size) s.format = 'date-time';
  return s;
}

const [recFile, docFile, want] = process.argv.slice(2);
const doc = JSON.parse(fs.readFileSync(docFile, 'utf8'));
const drafts = {};
for await (const r of readRecords(recFile)) {
  const m = matchOperation(doc, r.method, r.path);
  if (!m || r.status >= 300 || !r.content_type.startsWith('application/json')) continue;
  const key = `${r.method} ${m.template}`;
  if (want && key !== want) continue;
  let body;
  try { body = JSON.parse(r.body); } catch { continue; }
  drafts[key] = drafts[key] || { draft: undefined, example: body };
  drafts[key].draft = merge(drafts[key].draft, body);
}
const out = {};
for (const [k, v] of Object.entries(drafts)) out[k] = { schema: toSchema(v.draft), example: v.example };
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
