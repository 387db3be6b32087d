// The JavaScript budget (docs/console.md): what the browser downloads, gzip-compressed.
// The first load (the entry chunk and what it imports statically) must stay under
// FIRST_KIB; everything together under TOTAL_KIB. Over budget fails the build.
import { readFileSync, readdirSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'

const FIRST_KIB = 50
const TOTAL_KIB = 300
const dir = new URL('../dist/', import.meta.url).pathname
const html = readFileSync(join(dir, 'index.html'), 'utf8')
const assets = readdirSync(join(dir, 'assets')).filter(f => f.endsWith('.js'))
const gz = f => gzipSync(readFileSync(join(dir, 'assets', f))).length
const entry = [...html.matchAll(/assets\/([\w.-]+\.js)/g)].map(m => m[1])
const first = [...new Set(entry)].reduce((s, f) => s + gz(f), 0) / 1024
const total = assets.reduce((s, f) => s + gz(f), 0) / 1024
console.log(`console JS: first load ${first.toFixed(1)} KiB gzip (budget ${FIRST_KIB}), all ${total.toFixed(1)} KiB gzip in ${assets.length} files (budget ${TOTAL_KIB})`)
if (first > FIRST_KIB || total > TOTAL_KIB) {
  console.error('console JS over budget')
  process.exit(1)
}
