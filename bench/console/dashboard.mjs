// How long the HQ dashboard takes to render after signing in, on a demo store of any size.
//   node bench/console/dashboard.mjs SIYU_BINARY DB [RUNS]
// e.g. on the README's 100 000-member demo: node bench/console/dashboard.mjs build/src/cli/siyu siyu-demo.db
// Serves DB, signs in as the demo's admin RUNS times (5) in fresh browser contexts and prints
// each run and the median: from the sign-in answer, and from the click (argon2id included),
// to every tile, chart and leaderboard drawn. Compared with the obvious alternative — the
// dashboard's GET calls made one after another from the page — it prints the ratio.
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'

const [siyu, db, runsArg] = process.argv.slice(2)
const runs = Number(runsArg || 5)
const root = new URL('../../', import.meta.url).pathname
const { chromium } = await import(join(root, 'console', 'node_modules', 'playwright-core', 'index.mjs'))
const port = await new Promise(resolve => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) }) })
const base = `http://127.0.0.1:${port}`
const server = spawn(siyu, ['serve', '--db', db, '--listen', `127.0.0.1:${port}`, '--access-log', 'off'],
  { stdio: ['ignore', 'ignore', 'inherit'], env: { SIYU_CONSOLE_DIR: join(root, 'console', 'dist'), ...process.env } })
for (let i = 0; ; i++) {
  try { if ((await fetch(base + '/healthz')).ok) break } catch (e) { /* not yet */ }
  if (i > 3000) throw new Error('siyu did not start')
  await new Promise(r => setTimeout(r, 100))
}
const browser = await chromium.launch({ executablePath: process.env.SIYU_CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] })
const rendered = () => document.querySelectorAll('[data-kpi]').length >= 12 &&
  document.querySelectorAll('figure.chart').length >= 6 &&
  [...document.querySelectorAll('figure.chart')].every(f => f.dataset.drawn === '1') &&
  document.querySelectorAll('[data-test=guide-board] tbody tr').length > 0
const after = [], click = [], serial = []
for (let i = 0; i < runs; i++) {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } })
  const page = await ctx.newPage()
  await page.goto(base + '/')
  await page.waitForLoadState('networkidle')
  await page.fill('input[name=username]', 'admin')
  await page.fill('input[name=password]', 'siyu-demo')
  const answered = page.waitForResponse(r => r.url().endsWith('/api/v1/session'))
  const t0 = Date.now()
  await page.click('button[type=submit]')
  await answered
  const t1 = Date.now()
  await page.waitForFunction(rendered, null, { polling: 'raf', timeout: 60000 })
  const t2 = Date.now()
  after.push(t2 - t1); click.push(t2 - t0)
  // the alternative: the dashboard's calls one after another
  const urls = await page.evaluate(() => performance.getEntriesByType('resource').map(e => e.name).filter(u => u.includes('/api/v1/') && !u.endsWith('/session') && !u.includes('/segments/breakdown')))
  const s0 = Date.now()
  for (const u of urls) await page.evaluate(async x => { await (await fetch(x)).text() }, u)
  serial.push(Date.now() - s0)
  console.log(`run ${i + 1}: ${t2 - t1} ms after the sign-in answer, ${t2 - t0} ms after the click; its ${urls.length} API reads one by one: ${Date.now() - s0} ms`)
  await ctx.close()
}
const median = a => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]
console.log(`median: ${median(after)} ms after the sign-in answer, ${median(click)} ms after the click; the same reads one after another: ${median(serial)} ms (parallel render / serial reads = ${(median(after) / median(serial)).toFixed(2)})`)
await browser.close()
server.kill('SIGTERM')
