// lib.mjs — what the contract tools share: reading recorded answers, finding the
// operation of a method and path in the OpenAPI document.
import fs from 'node:fs';
import readline from 'node:readline';

// The recorded answers, one JSON line each, read as a stream (the end-to-end suite records
// hundreds of megabytes: never one string).
export async function* readRecords(file) {
  const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  for await (const l of lines) {
    line++;
    if (!l.trim()) continue;
    const r = JSON.parse(l);
    r.line = line;
    yield r;
  }
}

// Templates of the document's paths as regular expressions, most literal first (so
// /segments/settings wins over /segments/{id}).
function compiled(doc) {
  if (doc.__compiled) return doc.__compiled;
  const list = Object.keys(doc.paths).map((t) => {
    const re = new RegExp(
      '^' + t.replace(/[.]/g, '\\.').replace(/\{id\}/g, '[1-9][0-9]*').replace(/\{[a-z_]+\}/g, '[^/]+') + '/?$');
    return { template: t, re, literal: t.split('{').length };
  });
  list.sort((a, b) => a.literal - b.literal);
  Object.defineProperty(doc, '__compiled', { value: list });
  return list;
}

// The template and operation a request reached: {template, op} (op undefined when the
// path exists without that method), or null for an unknown path.
export function matchOperation(doc, method, fullPath) {
  const path = fullPath.split('?')[0];
  for (const c of compiled(doc)) {
    if (!c.re.test(path)) continue;
    const item = doc.paths[c.template];
    const m = method === 'HEAD' ? 'get' : method.toLowerCase();
    if (item[m]) return { template: c.template, op: item[m] };
  }
  for (const c of compiled(doc)) if (c.re.test(path)) return { template: c.template, op: undefined };
  return null;
}
