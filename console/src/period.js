// Local dates in +08:00 (the reports' day), as YYYY-MM-DD.
export function today () {
  return new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10)
}
export function addDays (d, n) {
  const t = new Date(d + 'T00:00:00Z')
  t.setUTCDate(t.getUTCDate() + n)
  return t.toISOString().slice(0, 10)
}
export function lastDays (n) {
  const to = addDays(today(), -1)
  return { from: addDays(to, -(n - 1)), to }
}
