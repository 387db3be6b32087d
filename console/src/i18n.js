// A small message catalog of our own instead of vue-i18n: the console needs lookups with
// {name} parameters and number formats, which Intl gives; vue-i18n would add ~15 KiB of
// gzip to the first load (its message compiler, or a build plugin to avoid it) for
// features we do not use (plurals by rule, linked messages). Every string a user sees
// is a key in messages.js, in zh-CN and en.
import { reactive } from 'vue'
import { messages } from './messages.js'

const saved = typeof localStorage !== 'undefined' && localStorage.getItem('siyu.locale')
export const i18n = reactive({ locale: saved === 'en' ? 'en' : 'zh-CN' })

export function setLocale (l) {
  i18n.locale = l
  localStorage.setItem('siyu.locale', l)
  document.documentElement.lang = l
}

function lookup (catalog, key) {
  return key.split('.').reduce((o, k) => (o == null ? o : o[k]), catalog)
}

export function t (key, params) {
  let s = lookup(messages[i18n.locale], key)
  if (s == null) s = lookup(messages['zh-CN'], key)
  if (s == null) return key
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] == null ? m : params[k]))
  return s
}

const zh = () => i18n.locale === 'zh-CN'
const fmt = (d, opts) => new Intl.NumberFormat(zh() ? 'zh-CN' : 'en-US', opts).format(d)

// A count: 12,345 in English; 1.23万 above ten thousand for Chinese readers.
export function count (n) {
  if (n == null) return '—'
  if (zh() && Math.abs(n) >= 1e8) return fmt(n / 1e8, { maximumFractionDigits: 2 }) + '亿'
  if (zh() && Math.abs(n) >= 1e4) return fmt(n / 1e4, { maximumFractionDigits: 2 }) + '万'
  return fmt(n, { maximumFractionDigits: 2 })
}

// Money in fen: ¥1,234.56; ¥12.35万 in Chinese, ¥123.5K / ¥1.23M in English past 10 000.
export function money (cents) {
  if (cents == null) return '—'
  const y = cents / 100
  if (zh() && Math.abs(y) >= 1e8) return '¥' + fmt(y / 1e8, { maximumFractionDigits: 2 }) + '亿'
  if (zh() && Math.abs(y) >= 1e4) return '¥' + fmt(y / 1e4, { maximumFractionDigits: 2 }) + '万'
  if (!zh() && Math.abs(y) >= 1e6) return '¥' + fmt(y / 1e6, { maximumFractionDigits: 2 }) + 'M'
  if (!zh() && Math.abs(y) >= 1e4) return '¥' + fmt(y / 1e3, { maximumFractionDigits: 1 }) + 'K'
  return '¥' + fmt(y, { minimumFractionDigits: 2, maximumFractionDigits: 2 })
}

// Money in fen as an exact figure (tables, data behind charts): ¥1,234.56.
export function moneyExact (cents) {
  if (cents == null) return '—'
  return '¥' + fmt(cents / 100, { minimumFractionDigits: 2, maximumFractionDigits: 2 })
}

export function pct (r, digits = 1) {
  if (r == null) return '—'
  return fmt(r * 100, { minimumFractionDigits: digits, maximumFractionDigits: digits }) + '%'
}

export function num (x, digits = 2) {
  if (x == null) return '—'
  return fmt(x, { maximumFractionDigits: digits })
}

export function date (s) {
  if (!s) return '—'
  return String(s).slice(0, 10)
}
