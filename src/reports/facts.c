/* facts.c — the fact store: columns, id maps, the incremental API and the load.
 *
 * Writes take the rwlock as writer and only append or patch in place; a report
 * holds it as reader for its whole computation, so it sees one consistent state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "reports/internal.h"

const char *const rp_reach_channels[] = {"public_account", "wecom", "group", "sms",
                                         "miniprogram",    NULL};

/* ================= containers ================= */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "siyu: reports: out of memory (%zu bytes)\n", n);
        abort();
    }
    return q;
}

int32_t rp_map_get(const rp_map *m, int64_t k)
{
    if (!m->cap) return -1;
    size_t mask = m->cap - 1;
    for (size_t i = mix64((uint64_t)k) & mask;; i = (i + 1) & mask) {
        if (m->k[i] == k) return m->v[i];
        if (m->k[i] == 0) return -1;
    }
}

static void map_insert(rp_map *m, int64_t k, int32_t v)
{
    size_t mask = m->cap - 1;
    for (size_t i = mix64((uint64_t)k) & mask;; i = (i + 1) & mask) {
        if (m->k[i] == k || m->k[i] == 0) {
            if (m->k[i] == 0) m->n++;
            m->k[i] = k;
            m->v[i] = v;
            return;
        }
    }
}

void rp_map_reserve(rp_map *m, size_t keys)
{
    if (keys * 10 >= m->cap * 7) {
        rp_map old = *m;
        m->cap = old.cap ? old.cap * 2 : 1024;
        while (keys * 10 >= m->cap * 7)
            m->cap *= 2;
        /* both zeroed: the snapshot writes the whole table, and an empty slot's value must
         * not carry whatever the heap held there */
        m->k = calloc(m->cap, sizeof *m->k);
        m->v = calloc(m->cap, sizeof *m->v);
        m->n = 0;
        if (!m->k || !m->v) abort();
        for (size_t i = 0; i < old.cap; i++)
            if (old.k[i]) map_insert(m, old.k[i], old.v[i]);
        snapmap_free(old.k); /* a table read from a snapshot lies in it (snapmap.h) */
        snapmap_free(old.v);
    }
}

void rp_map_put(rp_map *m, int64_t k, int32_t v)
{
    rp_map_reserve(m, m->n + 1);
    map_insert(m, k, v);
}

bool rp_map_is_rows(const rp_map *m, const int64_t *keys, size_t n)
{
    if (m->cap == 0) return n == 0 && m->n == 0;
    if ((m->cap & (m->cap - 1)) || m->cap < 1024 || m->n != n || n * 10 >= m->cap * 7) return false;
    size_t mask = m->cap - 1, empty = m->cap;
    for (size_t i = 0; i < m->cap && empty == m->cap; i++)
        if (m->k[i] == 0) empty = i;
    if (empty == m->cap) return false; /* a lookup of an absent key would never end */
    uint8_t *seen = calloc(n / 8 + 1, 1);
    if (!seen) return false;
    bool ok = true;
    size_t used = 0, run = 0; /* run: occupied slots since the last empty one */
    /* from the slot after an empty one, once around: every key's probe from its home slot
     * must reach it without crossing an empty slot, so the key's home lies within the run */
    for (size_t step = 1; ok && step <= m->cap; step++) {
        size_t s = (empty + step) & mask;
        enum { AHEAD = 16 };
        size_t a = (s + AHEAD) & mask;
        if (m->k[a] && (uint32_t)m->v[a] < n) __builtin_prefetch(&keys[m->v[a]]);
        if (m->k[s] == 0) {
            run = 0;
            continue;
        }
        run++;
        int32_t row = m->v[s];
        size_t home = mix64((uint64_t)m->k[s]) & mask;
        ok = row >= 0 && (size_t)row < n && !(seen[row / 8] & (1u << (row % 8))) &&
             keys[row] == m->k[s] && ((s - home) & mask) < run;
        if (ok) seen[row / 8] |= (uint8_t)(1u << (row % 8));
        used++;
    }
    free(seen);
    return ok && used == n;
}

void rp_map_free(rp_map *m)
{
    snapmap_free(m->k);
    snapmap_free(m->v);
    memset(m, 0, sizeof *m);
}

static int64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    h = mix64(h);
    return h ? (int64_t)h : 1;
}

int32_t rp_strs_intern(rp_strs *t, const char *s)
{
    if (!s || !*s) return 0;
    if (!t->n) { /* index 0: none */
        t->cap = 64;
        t->s = xrealloc(NULL, t->cap * sizeof *t->s);
        t->next = xrealloc(NULL, t->cap * sizeof *t->next);
        t->s[0] = strdup("");
        t->next[0] = -1;
        t->n = 1;
    }
    int64_t h = str_hash(s);
    int32_t first = rp_map_get(&t->by_hash, h);
    for (int32_t i = first; i >= 0; i = t->next[i])
        if (strcmp(t->s[i], s) == 0) return i;
    if (t->n == t->cap) {
        t->cap *= 2;
        t->s = xrealloc(t->s, t->cap * sizeof *t->s);
        t->next = xrealloc(t->next, t->cap * sizeof *t->next);
    }
    int32_t i = (int32_t)t->n++;
    t->s[i] = strdup(s);
    t->next[i] = first;
    rp_map_put(&t->by_hash, h, i);
    return i;
}

static void strs_free(rp_strs *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->s[i]);
    free(t->s);
    free(t->next);
    rp_map_free(&t->by_hash);
}

/* Every growth doubles a capacity (or starts one from none): the old one was half. A column
 * may lie in the snapshot the facts were read from (snapmap.h), and is then copied out. */
static void *xgrow(void *p, size_t oldsize, size_t n)
{
    void *q = snapmap_realloc(p, oldsize, n);
    if (!q) {
        fprintf(stderr, "siyu: reports: out of memory (%zu bytes)\n", n);
        abort();
    }
    return q;
}
#define GROW(arr, cap) (arr) = xgrow((arr), (cap) / 2 * sizeof *(arr), (cap) * sizeof *(arr))

/* ================= lifecycle ================= */

reports_t *reports_new(void)
{
    reports_t *r = calloc(1, sizeof *r);
    if (!r) abort();
    pthread_rwlock_init(&r->lock, NULL);
    r->cache = rp_cache_new();
    return r;
}

void reports_free(reports_t *r)
{
    if (!r) return;
    rp_cache_free(r->cache);
    /* columns may lie in the snapshot the facts were read from (snapmap.h) */
    rp_map_free(&r->store_ix);
    snapmap_free(r->s_id);
    snapmap_free(r->s_brand);
    snapmap_free(r->s_kind);
    rp_map_free(&r->guide_ix);
    snapmap_free(r->g_id);
    rp_map_free(&r->member_ix);
    snapmap_free(r->m_id);
    snapmap_free(r->m_join_day);
    snapmap_free(r->m_store);
    snapmap_free(r->m_guide);
    snapmap_free(r->m_into);
    snapmap_free(r->m_join_ch);
    snapmap_free(r->m_reach);
    snapmap_free(r->m_alive);
    rp_map_free(&r->order_ix);
    snapmap_free(r->o_id);
    snapmap_free(r->o_total);
    snapmap_free(r->o_discount);
    snapmap_free(r->o_refunded);
    snapmap_free(r->o_member);
    snapmap_free(r->o_store);
    snapmap_free(r->o_guide);
    snapmap_free(r->o_day);
    snapmap_free(r->o_at);
    snapmap_free(r->o_items);
    snapmap_free(r->o_item_off);
    snapmap_free(r->o_item_n);
    snapmap_free(r->o_ch);
    snapmap_free(r->i_order);
    snapmap_free(r->i_sku);
    snapmap_free(r->i_cat);
    snapmap_free(r->i_qty);
    snapmap_free(r->i_refqty);
    snapmap_free(r->i_unit);
    strs_free(&r->skus);
    strs_free(&r->cats);
    snapmap_free(r->lv_member);
    snapmap_free(r->lv_day);
    for (size_t i = 0; i < r->n_days; i++)
        free(r->bucket[i].v);
    free(r->bucket);
    free(r->mo_off);
    free(r->mo);
    free(r->o_mpos);
    free(r->o_tnext);
    free(r->m_tail);
    free(r->m_merged);
    free(r->m_sib);
    pthread_rwlock_destroy(&r->lock);
    snapmap_release(r->map); /* after every column in it was let go */
    free(r);
}

void reports_get_stats(reports_t *r, reports_stats *out)
{
    pthread_rwlock_rdlock(&r->lock);
    out->orders = r->n_orders;
    out->items = r->n_items;
    out->members = r->n_members;
    out->live_views = r->n_lv;
    out->skus = r->skus.n ? r->skus.n - 1 : 0;
    out->bytes = r->cap_orders * (4 * 8 + 9 * 4 + 1) + r->cap_items * (5 * 4 + 8) +
                 r->cap_members * (8 + 6 * 4 + 3) + r->cap_lv * 8 + r->order_ix.cap * 12 +
                 r->member_ix.cap * 12 + r->n_orders * 4 + r->mo_n * sizeof(rp_mrec) +
                 r->mo_members * 4;
    pthread_rwlock_unlock(&r->lock);
}

/* ================= dimension rows ================= */

int rp_channel_index(const char *name)
{
    if (!name) return -1;
    for (int i = 0; dom_channels[i]; i++)
        if (strcmp(dom_channels[i], name) == 0) return i;
    return -1;
}

static int kind_index(const char *name)
{
    if (!name) return RP_KIND_UNKNOWN;
    for (int i = 0; dom_store_kinds[i]; i++)
        if (strcmp(dom_store_kinds[i], name) == 0) return i;
    return RP_KIND_UNKNOWN;
}

int32_t rp_store_row(reports_t *r, int64_t id)
{
    if (!id) return -1;
    int32_t x = rp_map_get(&r->store_ix, id);
    if (x >= 0) return x;
    if (r->n_stores == r->cap_stores) {
        r->cap_stores = r->cap_stores ? r->cap_stores * 2 : 64;
        GROW(r->s_id, r->cap_stores);
        GROW(r->s_brand, r->cap_stores);
        GROW(r->s_kind, r->cap_stores);
    }
    x = (int32_t)r->n_stores++;
    r->s_id[x] = id;
    r->s_brand[x] = 0;
    r->s_kind[x] = RP_KIND_UNKNOWN;
    rp_map_put(&r->store_ix, id, x);
    return x;
}

int32_t rp_guide_row(reports_t *r, int64_t id)
{
    if (!id) return -1;
    int32_t x = rp_map_get(&r->guide_ix, id);
    if (x >= 0) return x;
    if (r->n_guides == r->cap_guides) {
        r->cap_guides = r->cap_guides ? r->cap_guides * 2 : 64;
        GROW(r->g_id, r->cap_guides);
    }
    x = (int32_t)r->n_guides++;
    r->g_id[x] = id;
    rp_map_put(&r->guide_ix, id, x);
    return x;
}

static void store_upsert_locked(reports_t *r, int64_t id, int kind, int64_t brand)
{
    int32_t x = rp_store_row(r, id);
    r->s_kind[x] = (uint8_t)kind;
    r->s_brand[x] = brand;
}

int reports_upsert_store(reports_t *r, const reports_store_in *in, siyu_err *e)
{
    if (in->id <= 0) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "id", "id: must be positive");
    int kind = kind_index(in->kind);
    if (kind == RP_KIND_UNKNOWN)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "kind", "kind: unknown store kind");
    pthread_rwlock_wrlock(&r->lock);
    r->version++;
    store_upsert_locked(r, in->id, kind, in->brand_id);
    pthread_rwlock_unlock(&r->lock);
    return 0;
}

/* ================= members ================= */

/* The row of a live member: a merged-away id leads to its survivor (a writer may
 * still name it: events and orders accept a merged id and follow the merge). */
static int32_t live_member(const reports_t *r, int64_t id)
{
    int32_t x = rp_map_get(&r->member_ix, id);
    for (int hops = 0; x >= 0 && !r->m_alive[x] && r->m_into[x] >= 0 && hops < 64; hops++)
        x = r->m_into[x];
    return x;
}

static int32_t member_row(reports_t *r, int64_t id)
{
    int32_t x = rp_map_get(&r->member_ix, id);
    if (x >= 0) return x;
    if (r->n_members == r->cap_members) {
        r->cap_members = r->cap_members ? r->cap_members * 2 : 1024;
        GROW(r->m_id, r->cap_members);
        GROW(r->m_join_day, r->cap_members);
        GROW(r->m_store, r->cap_members);
        GROW(r->m_guide, r->cap_members);
        GROW(r->m_into, r->cap_members);
        GROW(r->m_join_ch, r->cap_members);
        GROW(r->m_reach, r->cap_members);
        GROW(r->m_alive, r->cap_members);
        GROW(r->m_tail, r->cap_members);
        GROW(r->m_merged, r->cap_members);
        GROW(r->m_sib, r->cap_members);
    }
    x = (int32_t)r->n_members++;
    r->m_id[x] = id;
    r->m_join_day[x] = 0;
    r->m_store[x] = r->m_guide[x] = r->m_into[x] = -1;
    r->m_join_ch[x] = 0;
    r->m_reach[x] = 0;
    r->m_alive[x] = 1;
    rp_mo_member_added(r, x);
    rp_map_put(&r->member_ix, id, x);
    return x;
}

static int member_upsert_locked(reports_t *r, const reports_member_in *in, siyu_err *e)
{
    int ch = in->join_channel ? rp_channel_index(in->join_channel) : 0;
    if (ch < 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "join_channel",
                            "join_channel: unknown channel");
    int32_t x = member_row(r, in->id);
    r->m_join_day[x] = time_local_day(in->joined_at);
    r->m_join_ch[x] = (uint8_t)ch;
    r->m_store[x] = rp_store_row(r, in->store_id);
    r->m_guide[x] = rp_guide_row(r, in->guide_id);
    r->m_alive[x] = 1;
    return 0;
}

int reports_upsert_member(reports_t *r, const reports_member_in *in, siyu_err *e)
{
    if (in->id <= 0) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "id", "id: must be positive");
    pthread_rwlock_wrlock(&r->lock);
    r->version++;
    int rc = member_upsert_locked(r, in, e);
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

static int reach_index(const char *channel)
{
    for (int i = 0; channel && rp_reach_channels[i]; i++)
        if (strcmp(rp_reach_channels[i], channel) == 0) return i;
    return -1;
}

int reports_set_reach(reports_t *r, int64_t member_id, const char *channel, bool on, siyu_err *e)
{
    int c = reach_index(channel);
    if (c < 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "channel", "channel: unknown reach channel");
    pthread_rwlock_wrlock(&r->lock);
    r->version++;
    int32_t x = live_member(r, member_id);
    if (x >= 0) {
        if (on)
            r->m_reach[x] |= (uint8_t)(1u << c);
        else
            r->m_reach[x] &= (uint8_t) ~(1u << c);
    }
    pthread_rwlock_unlock(&r->lock);
    if (x < 0)
        return siyu_err_set(e, SIYU_NOT_FOUND, "member_id", "member_id: unknown member %lld",
                            (long long)member_id);
    return 0;
}

static void merge_locked(reports_t *r, int32_t a, int32_t b)
{
    /* rare: a linear pass is simpler than a per-member order list */
    for (size_t o = 0; o < r->n_orders; o++)
        if (r->o_member[o] == b) r->o_member[o] = a;
    for (size_t i = 0; i < r->n_lv; i++)
        if (r->lv_member[i] == b) r->lv_member[i] = a;
    r->m_alive[b] = 0;
    r->m_into[b] = a;
    r->m_reach[a] |= r->m_reach[b]; /* the caller sets the exact state after */
    r->m_reach[b] = 0;
    rp_mo_merge(r, a, b);
}

int reports_merge_members(reports_t *r, int64_t into, int64_t from, siyu_err *e)
{
    pthread_rwlock_wrlock(&r->lock);
    r->version++;
    int32_t a = rp_map_get(&r->member_ix, into), b = rp_map_get(&r->member_ix, from);
    if (a >= 0 && b >= 0 && a != b) merge_locked(r, a, b);
    pthread_rwlock_unlock(&r->lock);
    if (a < 0 || b < 0)
        return siyu_err_set(e, SIYU_NOT_FOUND, "member_id", "member_id: unknown member %lld",
                            (long long)(a < 0 ? into : from));
    return 0;
}

/* ================= orders ================= */

static void bucket_add(reports_t *r, int32_t day, uint32_t row)
{
    if (!r->n_days) {
        r->day0 = day - 400;
        r->n_days = 800;
        r->bucket = calloc(r->n_days, sizeof *r->bucket);
    }
    if (day < r->day0) {
        size_t shift = (size_t)(r->day0 - day) + 365;
        r->bucket = xrealloc(r->bucket, (r->n_days + shift) * sizeof *r->bucket);
        memmove(r->bucket + shift, r->bucket, r->n_days * sizeof *r->bucket);
        memset(r->bucket, 0, shift * sizeof *r->bucket);
        r->n_days += shift;
        r->day0 -= (int32_t)shift;
    }
    if ((size_t)(day - r->day0) >= r->n_days) {
        size_t want = (size_t)(day - r->day0) + 366;
        r->bucket = xrealloc(r->bucket, want * sizeof *r->bucket);
        memset(r->bucket + r->n_days, 0, (want - r->n_days) * sizeof *r->bucket);
        r->n_days = want;
    }
    rp_vec *v = &r->bucket[day - r->day0];
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        GROW(v->v, v->cap);
    }
    v->v[v->n++] = row;
}

static void item_append(reports_t *r, uint32_t order, const char *sku, const char *cat, int64_t qty,
                        int64_t unit, int64_t refqty)
{
    if (r->n_items == r->cap_items) {
        r->cap_items = r->cap_items ? r->cap_items * 2 : 4096;
        GROW(r->i_order, r->cap_items);
        GROW(r->i_sku, r->cap_items);
        GROW(r->i_cat, r->cap_items);
        GROW(r->i_qty, r->cap_items);
        GROW(r->i_refqty, r->cap_items);
        GROW(r->i_unit, r->cap_items);
    }
    size_t i = r->n_items++;
    r->i_order[i] = order;
    r->i_sku[i] = (uint32_t)rp_strs_intern(&r->skus, sku);
    r->i_cat[i] = (uint32_t)rp_strs_intern(&r->cats, cat);
    r->i_qty[i] = (int32_t)qty;
    r->i_refqty[i] = (int32_t)refqty;
    r->i_unit[i] = unit;
    if (r->o_item_n[order] == 0) r->o_item_off[order] = (uint32_t)i;
    r->o_item_n[order]++;
}

static int order_add_locked(reports_t *r, const reports_order_in *in, siyu_err *e)
{
    int ch = rp_channel_index(in->channel);
    if (ch < 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "channel", "channel: unknown channel");
    if (in->id <= 0) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "id", "id: must be positive");
    if (rp_map_get(&r->order_ix, in->id) >= 0) return 0;
    int32_t m = -1;
    if (in->member_id) {
        m = live_member(r, in->member_id);
        if (m < 0)
            return siyu_err_set(e, SIYU_NOT_FOUND, "member_id", "member_id: unknown member %lld",
                                (long long)in->member_id);
    }
    if (r->n_orders == r->cap_orders) {
        r->cap_orders = r->cap_orders ? r->cap_orders * 2 : 4096;
        GROW(r->o_id, r->cap_orders);
        GROW(r->o_total, r->cap_orders);
        GROW(r->o_discount, r->cap_orders);
        GROW(r->o_refunded, r->cap_orders);
        GROW(r->o_member, r->cap_orders);
        GROW(r->o_store, r->cap_orders);
        GROW(r->o_guide, r->cap_orders);
        GROW(r->o_day, r->cap_orders);
        GROW(r->o_at, r->cap_orders);
        GROW(r->o_items, r->cap_orders);
        GROW(r->o_item_off, r->cap_orders);
        GROW(r->o_item_n, r->cap_orders);
        GROW(r->o_ch, r->cap_orders);
        GROW(r->o_mpos, r->cap_orders);
        GROW(r->o_tnext, r->cap_orders);
    }
    uint32_t o = (uint32_t)r->n_orders++;
    r->o_id[o] = in->id;
    r->o_total[o] = in->total_cents;
    r->o_discount[o] = in->discount_cents;
    r->o_refunded[o] = in->refunded_cents;
    r->o_member[o] = m;
    r->o_store[o] = rp_store_row(r, in->store_id);
    r->o_guide[o] = rp_guide_row(r, in->guide_id);
    r->o_day[o] = time_local_day(in->placed_at);
    r->o_at[o] = in->placed_at;
    r->o_ch[o] = (uint8_t)ch;
    r->o_item_off[o] = (uint32_t)r->n_items;
    r->o_item_n[o] = 0;
    int64_t count = 0;
    for (size_t i = 0; i < in->n_items; i++) {
        const reports_item_in *it = &in->items[i];
        item_append(r, o, it->sku, it->category, it->qty, it->unit_price_cents, it->refunded_qty);
        count += it->qty;
    }
    r->o_items[o] = (int32_t)(in->item_count ? in->item_count : count);
    rp_map_put(&r->order_ix, in->id, (int32_t)o);
    bucket_add(r, r->o_day[o], o);
    rp_mo_add(r, o);
    return 0;
}

int reports_add_order(reports_t *r, const reports_order_in *in, siyu_err *e)
{
    pthread_rwlock_wrlock(&r->lock);
    r->version++;
    int rc = order_add_locked(r, in, e);
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

static int refund_add_locked(reports_t *r, const reports_refund_in *in, siyu_err *e)
{
    int32_t o = rp_map_get(&r->order_ix, in->order_id);
    if (o < 0)
        return siyu_err_set(e, SIYU_NOT_FOUND, "order_id", "order_id: unknown order %lld",
                            (long long)in->order_id);
    if (in->amount_cents <= 0 || r->o_refunded[o] + in->amount_cents > r->o_total[o])
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "amount_cents",
                            "amount_cents: more than is refundable");
    for (size_t i = 0; i < in->n_lines; i++) {
        int64_t line = in->lines[i].line;
        if (line < 1 || line > r->o_item_n[o])
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "lines", "lines: no line %lld",
                                (long long)line);
    }
    r->o_refunded[o] += in->amount_cents;
    rp_mo_order_changed(r, (uint32_t)o);
    for (size_t i = 0; i < in->n_lines; i++)
        r->i_refqty[r->o_item_off[o] + (uint32_t)in->lines[i].line - 1] +=
            (int32_t)in->lines[i].qty;
    return 0;
}

int reports_add_refund(reports_t *r, const reports_refund_in *in, siyu_err *e)
{
    pthread_rwlock_wrlock(&r->lock);
    r->version++;
    int rc = refund_add_locked(r, in, e);
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

static int live_view_locked(reports_t *r, int64_t member_id, int64_t at, siyu_err *e)
{
    int32_t m = live_member(r, member_id);
    if (m < 0)
        return siyu_err_set(e, SIYU_NOT_FOUND, "member_id", "member_id: unknown member %lld",
                            (long long)member_id);
    if (r->n_lv == r->cap_lv) {
        r->cap_lv = r->cap_lv ? r->cap_lv * 2 : 1024;
        GROW(r->lv_member, r->cap_lv);
        GROW(r->lv_day, r->cap_lv);
    }
    r->lv_member[r->n_lv] = m;
    r->lv_day[r->n_lv] = time_local_day(at);
    r->n_lv++;
    return 0;
}

int reports_add_live_view(reports_t *r, int64_t member_id, int64_t at, siyu_err *e)
{
    pthread_rwlock_wrlock(&r->lock);
    r->version++;
    int rc = live_view_locked(r, member_id, at, e);
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

/* ================= reading the store ================= */

static int64_t col_id(store_stmt *s, int i)
{
    return store_col_null(s, i) ? 0 : store_col_int(s, i);
}

/* Describes a store row from STORE_GET / STORE_LIST (id, name, code, kind, brand_id...). */
static void store_from_row(reports_t *r, store_stmt *s)
{
    store_upsert_locked(r, store_col_int(s, 0), kind_index(store_col_text(s, 3)), col_id(s, 4));
}

static void store_describe(reports_t *r, store_conn *c, int64_t id)
{
    int32_t x = rp_map_get(&r->store_ix, id);
    if (!id || (x >= 0 && r->s_kind[x] != RP_KIND_UNKNOWN)) return;
    store_stmt *s = store_q(c, Q_STORE_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) == STORE_ROW) store_from_row(r, s);
    store_reset(s);
}

static int reach_reload(reports_t *r, store_conn *c, int64_t member_id)
{
    int32_t x = rp_map_get(&r->member_ix, member_id);
    if (x < 0) return 0;
    uint8_t bits = 0;
    store_stmt *s = store_q(c, Q_REACH_LIST);
    store_bind_int(s, 1, member_id);
    while (store_step(s) == STORE_ROW) {
        int i = reach_index(store_col_text(s, 0));
        if (i >= 0 && store_col_int(s, 1)) bits |= (uint8_t)(1u << i);
    }
    r->m_reach[x] = bits;
    return 0;
}

static int member_reload(reports_t *r, store_conn *c, int64_t id, siyu_err *e)
{
    store_stmt *s = store_q(c, Q_MEMBER_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) return 0;
    if (!store_col_null_by(s, "merged_into")) { /* merged away */
        store_reset(s);
        return 0;
    }
    char ch[32];
    const char *channel = store_col_text_by(s, "join_channel");
    snprintf(ch, sizeof ch, "%s", channel ? channel : "store");
    reports_member_in m = {.id = id,
                           .joined_at = store_col_int_by(s, "joined_at"),
                           .join_channel = ch,
                           .store_id = store_col_opt_by(s, "store_id"),
                           .guide_id = store_col_opt_by(s, "guide_id")};
    store_reset(s);
    store_describe(r, c, m.store_id);
    return member_upsert_locked(r, &m, e);
}

static int order_reload(reports_t *r, store_conn *c, int64_t id, siyu_err *e)
{
    store_stmt *s = store_q(c, Q_ORDER_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) return 0;
    char ch[32];
    snprintf(ch, sizeof ch, "%s", store_col_text_by(s, "channel"));
    reports_order_in o = {.id = id,
                          .channel = ch,
                          .store_id = store_col_int_by(s, "store_id"),
                          .member_id = store_col_opt_by(s, "member_id"),
                          .guide_id = store_col_opt_by(s, "guide_id"),
                          .placed_at = store_col_int_by(s, "placed_at"),
                          .total_cents = store_col_int_by(s, "total_cents"),
                          .discount_cents = store_col_int_by(s, "discount_cents"),
                          .refunded_cents = store_col_int_by(s, "refunded_cents")};
    store_reset(s);
    size_t cap = 16, n = 0;
    reports_item_in *items = xrealloc(NULL, cap * sizeof *items);
    s = store_q(c, Q_ORDER_ITEMS);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW) {
        if (n == cap) {
            cap *= 2;
            items = xrealloc(items, cap * sizeof *items);
        }
        const char *cat = store_col_text(s, 2);
        items[n] = (reports_item_in){.sku = strdup(store_col_text(s, 1)),
                                     .category = cat ? strdup(cat) : NULL,
                                     .qty = store_col_int(s, 4),
                                     .unit_price_cents = store_col_int(s, 5),
                                     .refunded_qty = store_col_int(s, 6)};
        n++;
    }
    o.items = items;
    o.n_items = n;
    store_describe(r, c, o.store_id);
    int rc = order_add_locked(r, &o, e);
    for (size_t i = 0; i < n; i++) {
        free((char *)items[i].sku);
        free((char *)items[i].category);
    }
    free(items);
    return rc;
}

static int refund_reload(reports_t *r, store_conn *c, int64_t refund_id, siyu_err *e)
{
    store_stmt *s = store_q(c, Q_REFUND_GET);
    store_bind_int(s, 1, refund_id);
    if (store_step(s) != STORE_ROW) return 0;
    reports_refund_in rf = {.order_id = store_col_int(s, 1), .amount_cents = store_col_int(s, 3)};
    json_t *items = store_col_text(s, 5) ? json_loads(store_col_text(s, 5), 0, NULL) : NULL;
    store_reset(s);
    reports_refund_line lines[512];
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        if (rf.n_lines == 512) break;
        lines[rf.n_lines++] = (reports_refund_line){json_integer_value(json_object_get(it, "line")),
                                                    json_integer_value(json_object_get(it, "qty"))};
    }
    rf.lines = lines;
    int rc = refund_add_locked(r, &rf, e);
    json_decref(items);
    return rc;
}

int reports_apply(reports_t *r, store_conn *c, const dom_changes *ch, siyu_err *e)
{
    if (!ch || !ch->n) return 0;
    pthread_rwlock_wrlock(&r->lock);
    int rc = 0;
    for (size_t i = 0; i < ch->n && !rc; i++) {
        const dom_change *x = &ch->v[i];
        /* only what changes the facts makes kept answers stale (a sign-in, a tag: not) */
        if (x->kind == DOM_CHANGE_MEMBER || x->kind == DOM_CHANGE_REACH ||
            x->kind == DOM_CHANGE_ORDER || x->kind == DOM_CHANGE_REFUND ||
            x->kind == DOM_CHANGE_MERGE)
            r->version++;
        switch (x->kind) {
        case DOM_CHANGE_MEMBER:
            rc = member_reload(r, c, x->id, e);
            if (!rc) rc = reach_reload(r, c, x->id);
            break;
        case DOM_CHANGE_REACH:
            rc = reach_reload(r, c, x->id);
            break;
        case DOM_CHANGE_ORDER:
            rc = order_reload(r, c, x->id, e);
            break;
        case DOM_CHANGE_REFUND: {
            /* an order created in this same batch was read with its refunds */
            bool fresh = false;
            for (size_t j = 0; j < i && !fresh; j++)
                fresh = ch->v[j].kind == DOM_CHANGE_ORDER && ch->v[j].id == x->other;
            if (!fresh) rc = refund_reload(r, c, x->id, e);
            break;
        }
        case DOM_CHANGE_MERGE: {
            int32_t a = rp_map_get(&r->member_ix, x->id), b = rp_map_get(&r->member_ix, x->other);
            if (a >= 0 && b >= 0 && a != b && r->m_alive[b]) merge_locked(r, a, b);
            if (!rc) rc = member_reload(r, c, x->id, e);
            if (!rc) rc = reach_reload(r, c, x->id);
            break;
        }
        case DOM_CHANGE_LIVE_VIEW:
            break; /* carries no row to read back: callers use reports_add_live_view */
        case DOM_CHANGE_LOYALTY:
            break; /* points and tiers are not facts here: tiers come through a classifier */
        case DOM_CHANGE_MEMBER_360:
            break; /* for the kept member answers only */
        case DOM_CHANGE_TAG:
        case DOM_CHANGE_TAG_MEMBER:
        case DOM_CHANGE_SEGMENT:
        case DOM_CHANGE_AUDIENCE_SETTINGS:
        case DOM_CHANGE_GROUP_DAY:
        case DOM_CHANGE_GROUP:
            break; /* audiences live in the member index, groups in the group view */
        }
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

int reports_load(store_conn *c, reports_t **out, siyu_err *e)
{
    *out = NULL;
    reports_t *r = reports_new();
    bool own_tx = !store_in_tx(c);
    if (own_tx && store_begin(c, false, e)) {
        reports_free(r);
        return -1;
    }
    int rc = -1;
    store_stmt *s;
    /* stores, a page at a time */
    for (int64_t after = 0;;) {
        s = store_q(c, Q_STORE_LIST);
        store_bind_int(s, 1, after);
        store_bind_int(s, 2, 1000);
        int n = 0;
        while (store_step(s) == STORE_ROW) {
            store_from_row(r, s);
            after = store_col_int(s, 0);
            n++;
        }
        if (n < 1000) break;
    }
    s = store_q(c, Q_SCAN_MEMBERS);
    store_step_rc st;
    while ((st = store_step(s)) == STORE_ROW) {
        const char *ch = store_col_text(s, 6);
        reports_member_in m = {.id = store_col_int(s, 0),
                               .joined_at = store_col_int(s, 7),
                               .join_channel = ch ? ch : "store",
                               .store_id = col_id(s, 4),
                               .guide_id = col_id(s, 5)};
        if (member_upsert_locked(r, &m, e)) {
            store_reset(s);
            goto done;
        }
    }
    if (st != STORE_DONE) goto fail_store;
    s = store_q(c, Q_SCAN_REACH);
    while ((st = store_step(s)) == STORE_ROW) {
        int32_t x = rp_map_get(&r->member_ix, store_col_int(s, 0));
        int i = reach_index(store_col_text(s, 1));
        if (x >= 0 && i >= 0 && store_col_int(s, 2)) r->m_reach[x] |= (uint8_t)(1u << i);
    }
    if (st != STORE_DONE) goto fail_store;
    s = store_q(c, Q_SCAN_ORDERS);
    while ((st = store_step(s)) == STORE_ROW) {
        reports_order_in o = {.id = store_col_int(s, 0),
                              .member_id = col_id(s, 1),
                              .store_id = store_col_int(s, 2),
                              .channel = store_col_text(s, 3),
                              .guide_id = col_id(s, 4),
                              .placed_at = store_col_int(s, 5),
                              .total_cents = store_col_int(s, 6),
                              .discount_cents = store_col_int(s, 7),
                              .refunded_cents = store_col_int(s, 8),
                              .item_count = store_col_int(s, 9)};
        if (order_add_locked(r, &o, e)) {
            store_reset(s);
            goto done;
        }
    }
    if (st != STORE_DONE) goto fail_store;
    s = store_q(c, Q_SCAN_ITEMS);
    int64_t last_id = 0;
    int32_t row = -1;
    while ((st = store_step(s)) == STORE_ROW) {
        int64_t oid = store_col_int(s, 0);
        if (oid != last_id) {
            row = rp_map_get(&r->order_ix, oid);
            last_id = oid;
        }
        if (row < 0) continue;
        item_append(r, (uint32_t)row, store_col_text(s, 2), store_col_text(s, 3),
                    store_col_int(s, 4), store_col_int(s, 5), store_col_int(s, 6));
    }
    if (st != STORE_DONE) goto fail_store;
    s = store_q(c, Q_SCAN_EVENTS_OF_TYPE);
    store_bind_text(s, 1, "live_view");
    while ((st = store_step(s)) == STORE_ROW)
        if (rp_map_get(&r->member_ix, store_col_int(s, 0)) >= 0)
            live_view_locked(r, store_col_int(s, 0), store_col_int(s, 1), e);
    if (st != STORE_DONE) goto fail_store;
    rp_mo_build(r);
    rc = 0;
    goto done;
fail_store:
    siyu_err_set(e, SIYU_INTERNAL, NULL, "reports: loading: %s", store_errmsg(c));
done:
    if (own_tx) store_rollback(c);
    if (rc) {
        reports_free(r);
        return -1;
    }
    *out = r;
    return 0;
}
