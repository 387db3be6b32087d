// A hash router (siyu serves one page at /; #/members/42 never reaches the server). Each
// route names the roles that may open it — the API refuses the rest anyway, the console
// just does not offer what the role cannot use. Pages load on demand, so the sign-in
// page ships none of the dashboard's charts.
import { reactive } from 'vue'

const HQ = ['admin', 'operator']
const STAFF = ['admin', 'operator', 'store_manager', 'guide']
const MGR = ['admin', 'operator', 'store_manager']

export const routes = [
  { name: 'dashboard', path: '/dashboard', roles: HQ, page: () => import('./pages/Dashboard.vue') },
  { name: 'members', path: '/members', roles: STAFF, page: () => import('./pages/Members.vue') },
  { name: 'segments', path: '/segments', roles: HQ, page: () => import('./pages/Segments.vue') },
  { name: 'loyalty', path: '/loyalty', roles: HQ, page: () => import('./pages/Loyalty.vue') },
  { name: 'journeys', path: '/journeys', roles: HQ, page: () => import('./pages/Journeys.vue') },
  { name: 'store', path: '/store', roles: ['admin', 'operator', 'store_manager'], page: () => import('./pages/Store.vue') },
  { name: 'guide', path: '/guide', roles: ['guide'], page: () => import('./pages/Guide.vue') },
  { name: 'tasks', path: '/tasks', roles: MGR, page: () => import('./pages/Tasks.vue') },
  { name: 'qr', path: '/qr', roles: MGR, page: () => import('./pages/Qr.vue') },
  { name: 'groups', path: '/groups', roles: MGR, page: () => import('./pages/Groups.vue') },
  { name: 'fission', path: '/fission', roles: HQ, page: () => import('./pages/Fission.vue') },
  { name: 'audit', path: '/audit', roles: ['admin'], page: () => import('./pages/Audit.vue') }
]

export const home = { admin: '/dashboard', operator: '/dashboard', store_manager: '/store', guide: '/guide' }

function parse () {
  const h = (location.hash || '#/').slice(1)
  const [path, q] = h.split('?')
  const parts = path.split('/').filter(Boolean)
  const params = Object.fromEntries(new URLSearchParams(q || ''))
  return { path: '/' + (parts[0] || ''), sub: parts.slice(1), params }
}

export const current = reactive(parse())
window.addEventListener('hashchange', () => Object.assign(current, parse()))

export function go (path) { location.hash = '#' + path }
export function allowed (route, role) { return route.roles.includes(role) }
