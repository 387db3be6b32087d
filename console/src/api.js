// The console speaks the public API and nothing else, with the session cookie siyu set at
// sign-in (HttpOnly: this code never sees it) and the session's CSRF token on every write.
import { reactive } from 'vue'

export const session = reactive({ who: null, csrf: null, checked: false })

export class ApiError extends Error {
  constructor (status, body) {
    super((body && body.error && body.error.message) || 'HTTP ' + status)
    this.status = status
    this.body = body
    this.field = body && body.error && body.error.field
  }
}

let onUnauthenticated = () => {}
export function forget () { localStorage.removeItem('siyu.signedIn') }
export function whenSignedOut (fn) { onUnauthenticated = fn }

export async function api (method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (method !== 'GET' && method !== 'HEAD' && session.csrf) headers['X-CSRF-Token'] = session.csrf
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  if (res.status === 204) return null
  const text = await res.text()
  let data = null
  try { data = text ? JSON.parse(text) : null } catch (e) { data = text }
  if (!res.ok) {
    if (res.status === 401 && !opts.quiet) onUnauthenticated()
    throw new ApiError(res.status, data)
  }
  return data
}

export const get = (path, opts) => api('GET', path, undefined, opts)
export const post = (path, body, opts) => api('POST', path, body === undefined ? {} : body, opts)

export function query (params) {
  const q = Object.entries(params).filter(([, v]) => v !== '' && v !== null && v !== undefined)
  return q.length ? '?' + q.map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&') : ''
}

// Whether this browser signed in (the cookie itself is HttpOnly): without the mark the
// console shows the sign-in page at once instead of asking the server and getting a 401.
const MARK = 'siyu.signedIn'

export async function loadSession () {
  if (!localStorage.getItem(MARK)) { session.checked = true; return null }
  try {
    const who = await get('/api/v1/session', { quiet: true })
    session.who = who
    session.csrf = who.session ? who.session.csrf_token : null
  } catch (e) {
    session.who = null
    session.csrf = null
    localStorage.removeItem(MARK)
  }
  session.checked = true
  return session.who
}

export async function signIn (username, password) {
  const who = await post('/api/v1/session', { username, password }, { quiet: true })
  session.who = who
  session.csrf = who.session.csrf_token
  localStorage.setItem(MARK, '1')
  return who
}

export async function signOut () {
  try { await api('DELETE', '/api/v1/session') } finally {
    localStorage.removeItem(MARK)
    session.who = null
    session.csrf = null
  }
}
