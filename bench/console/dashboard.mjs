// How long the HQ dashboard takes to render after signing in, on a demo store of any size.
//   node bench/console/dashboard.mjs SIYU_BINARY DB [RUNS]
// e.g. on the README's 100 000-member demo: node bench/console/dashboard.mjs build/src/cli/siyu siyu-demo.db
// Serves DB twice — first with the reports' answer cache off (SIYU_REPORTS_CACHE=off: every
// report computed at every sign-in, the obvious alternative), then with it on (siyu's
// default) — and signs in as the demo's admin RUNS times (5) in fresh browser contexts
// each time. Prints each run, from the sign-in answer and from the click (argon2id
// included) to every tile, chart and leaderboard drawn, the medians and their ratio. With
// the cache on, the first sign-in computes (cold) and the next ones find the answers kept.
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'

const [siyu, db, runsArg] = process.argv.slice(2)
const runs = Number(runsArg || 5)
const root = new URL('../../', import.meta.url).pathname
const { chromium } = await import(join(root, 'console', 'node_modules', 'playwright-core', 'index.mjs'))
const browser = await chromium.launch({ executablePath: process.env.SIYU_CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] })
const rendered = () => document.querySelectorAll('[data-kpi]').length >= 12 &&
  document.querySelectorAll('figure.chart').length >= 6 &&
  [...document.querySelectorAll('figure.chart')].every(f => f.dataset.drawn === '1') &&
  document.querySelectorAll('[data-test=guide-board] tbody tr').length > 0
const median = a => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]

async function serve (cache) {
  const port = await new Promise(resolve => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) }) })
  const base = `http://127.0.0.1:${port}`
  const server = spawn(siyu, ['serve', '--db', db, '--listen', `127.0.0.1:${port}`, '--access-log', 'off'],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { SIYU_CONSOLE_DIR: join(root, 'console', 'dist'), ...process.env, SIYU_REPORTS_CACHE: cache } })
  for (let i = 0; ; i++) {
    try { if ((await fetch(base + '/healthz')).ok) break } catch (e) { /* not yet */ }
    if (i > 3000) throw new Error('siyu did not start')
    await new Promise(r => setTimeout(r, 100))
  }
  const after = [], click = []
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
    console.log(`cache ${cache}, run ${i + 1}: ${t2 - t1} ms after the sign-in answer, ${t2 - t0} ms after the click`)
    await ctx.close()
  }
  server.kill('SIGTERM')
  await new Promise(r => server.on('exit', r))
  return { after, click }
}

const off = await serve('off')
const on = await serve('on')
const warm = on.after.slice(1), warmClick = on.click.slice(1)
console.log(`cache off: median ${median(off.after)} ms after the sign-in answer, ${median(off.click)} ms after the click`)
console.log(`cache on: first sign-in ${on.after[0]} ms (${on.click[0]} ms after the click); then median ${median(warm)} ms after the sign-in answer, ${median(warmClick)} ms after the click`)
console.log(`ratio (cache on, warm / cache off): ${(median(warm) / median(off.after)).toFixed(2)} after the answer, ${(median(warmClick) / median(off.click)).toFixed(2)} after the click`)
await browser.close()
