// smoke.ts — a typed client of siyu, generated from its OpenAPI document by
// openapi-typescript (build/siyu-api.d.ts) and called through openapi-fetch against a real
// `siyu serve` on a small store. That it compiles (tsc, strict) shows the document
// describes what an integrator's code needs; that it passes shows the server answers it.
//   SIYU_URL=http://127.0.0.1:PORT SIYU_TOKEN=sy_… node build/smoke.js
import createClient from 'openapi-fetch';
import type { paths, components } from './build/siyu-api.js';

type Member = components['schemas']['Member'];

const baseUrl = process.env.SIYU_URL;
const token = process.env.SIYU_TOKEN;
if (!baseUrl || !token) {
  console.error('smoke: SIYU_URL and SIYU_TOKEN are required');
  process.exit(2);
}
const api = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

let passed = 0;
let failed = 0;
function check(what: string, ok: boolean, detail?: unknown): void {
  if (ok) passed++;
  else {
    failed++;
    console.error(`smoke: FAILED ${what}`, detail ?? '');
  }
}

const run = Date.now().toString(36);

const health = await api.GET('/healthz');
check('GET /healthz', health.response.status === 200 && health.data?.status === 'ok', health.error);

const brand = await api.POST('/api/v1/brands', { body: { name: `Smoke ${run}` } });
const brandId: number | undefined = brand.data?.id;
check('POST /api/v1/brands', brand.response.status === 201 && typeof brandId === 'number', brand.error);

const store = await api.POST('/api/v1/stores', {
  body: { code: `S-${run}`, name: `Smoke store ${run}`, brand_id: brandId, kind: 'physical' },
});
const storeId = store.data?.id;
check('POST /api/v1/stores', store.response.status === 201 && typeof storeId === 'number', store.error);
if (storeId === undefined) {
  console.log(`smoke: ${passed} passed, ${failed} failed (no store: the rest needs one)`);
  process.exit(1);
}

const phone = `139${String(Date.now()).slice(-8)}`;
const created = await api.POST('/api/v1/members', {
  body: { phone, name: 'Smoke Test', store_id: storeId },
  headers: { 'Idempotency-Key': `smoke-${run}` },
});
const member: Member | undefined = created.data;
check('POST /api/v1/members', created.response.status === 201 && member?.store_id === storeId, created.error);
check('Location of the new member', created.response.headers.get('Location') === `/api/v1/members/${member?.id}`);

const replay = await api.POST('/api/v1/members', {
  body: { phone, name: 'Smoke Test', store_id: storeId },
  headers: { 'Idempotency-Key': `smoke-${run}` },
});
check('an Idempotency-Key replay answers the first answer', replay.response.status === 200 && replay.data?.id === member?.id);

if (member) {
  const one = await api.GET('/api/v1/members/{id}', { params: { path: { id: member.id } } });
  check('GET /api/v1/members/{id}', one.data?.id === member.id && one.data?.phone === phone, one.error);

  const order = await api.POST('/api/v1/orders', {
    body: {
      channel: 'store',
      external_id: `smoke-${run}`,
      store_id: storeId,
      member_id: member.id,
      placed_at: '2026-11-22T10:00:00+08:00',
      total_cents: 12800,
      items: [{ sku: 'SMOKE-1', qty: 2, unit_price_cents: 6400 }],
    },
  });
  check('POST /api/v1/orders', order.response.status === 201 && order.data?.total_cents === 12800, order.error);

  const orders = await api.GET('/api/v1/orders', { params: { query: { member_id: member.id, limit: 10 } } });
  const items = orders.data?.items ?? [];
  check('GET /api/v1/orders?member_id', items.length === 1 && items[0]?.member_id === member.id, orders.error);
  check('a last page has a null next_cursor', orders.data?.next_cursor === null);
}

const found = await api.GET('/api/v1/members', { params: { query: { phone } } });
check('GET /api/v1/members?phone= looks the member up',
  found.response.status === 200 && !!found.data && 'id' in found.data && found.data.id === member?.id, found.error);

const page = await api.GET('/api/v1/brands', { params: { query: { limit: 1 } } });
check('GET /api/v1/brands?limit=1 pages', (page.data?.items.length ?? 0) <= 1 && page.data !== undefined, page.error);

const kpi = await api.GET('/api/v1/reports/kpi', { params: { query: { from: '2026-11-01', to: '2026-11-30' } } });
check('GET /api/v1/reports/kpi', kpi.response.status === 200, kpi.error);

// a misspelt filter is refused, naming it, never silently ignored
const typo = await fetch(`${baseUrl}/api/v1/members?phnoe=${phone}`, { headers: { Authorization: `Bearer ${token}` } });
const typoBody = (await typo.json()) as components['schemas']['Error'];
check('an unknown query parameter is a 400 naming it', typo.status === 400 && typoBody.error.field === 'phnoe', typoBody);

const missing = await api.GET('/api/v1/members/{id}', { params: { path: { id: 999999999 } } });
check('a missing member is a 404 with the error schema', missing.response.status === 404 && missing.error?.error.code === 'not_found', missing.error);

console.log(`smoke: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
