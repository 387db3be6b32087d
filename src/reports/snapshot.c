/* snapshot.c — the fact store written out and read back (reports.h: reports_snapshot_write /
 * _read), for the views' snapshot (views/snapshot.c).
 *
 * Written: every column of stores, guides, members, orders, items and live views at its
 * count, the interned SKU and category names, the day buckets, and the id maps' tables (at
 * 20 M members, building the member map again was nearly half of a restart). Not written:
 * the member-major copy (rp_mo_build) and the answer cache. The reader bounds every count
 * before allocating, checks every row reference against the table it names, that each order
 * sits in its own day's bucket exactly once and that each id map finds exactly its column's
 * ids (rp_map_is_rows), and answers NULL on anything malformed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/snapio.h"
#include "base/timeutil.h"
#include "reports/internal.h"

#define MARK_FACTS 0x54434146u /* "FACT" */
#define MARK_MAPS 0x5350414du  /* "MAPS" */
#define MARK_END 0x2e444e45u

/* column lists: (array, count) */
#define STORE_COLS(X) X(s_id) X(s_brand) X(s_kind)
#define GUIDE_COLS(X) X(g_id)
#define MEMBER_COLS(X)                                                                             \
    X(m_id) X(m_join_day) X(m_store) X(m_guide) X(m_into) X(m_join_ch) X(m_reach) X(m_alive)
#define ORDER_COLS(X)                                                                              \
    X(o_id)                                                                                        \
    X(o_total)                                                                                     \
    X(o_discount)                                                                                  \
    X(o_refunded)                                                                                  \
    X(o_member) X(o_store) X(o_guide) X(o_day) X(o_items) X(o_item_off) X(o_item_n) X(o_ch) X(o_at)
#define ITEM_COLS(X) X(i_order) X(i_sku) X(i_cat) X(i_qty) X(i_refqty) X(i_unit)
#define LV_COLS(X) X(lv_member) X(lv_day)

static void put_map(snap_out *w, const rp_map *m)
{
    snap_put_u64(w, m->cap);
    snap_put_u64(w, m->n);
    if (m->cap) {
        snap_put_column(w, m->k, m->cap * sizeof *m->k);
        snap_put_column(w, m->v, m->cap * sizeof *m->v);
    }
}

/* A map read back, in place when the buffer is a mapping; checked against its id column. */
static bool get_map(snap_in *in, rp_map *m, const int64_t *ids, size_t rows)
{
    uint64_t cap = snap_get_count(in, (uint64_t)1 << 31, 12), n = snap_get_u64(in);
    if (in->bad || n != rows) return false;
    m->cap = cap;
    m->n = n;
    if (cap && (!snap_get_column(in, (void **)&m->k, cap * sizeof *m->k) ||
                !snap_get_column(in, (void **)&m->v, cap * sizeof *m->v)))
        return false;
    return rp_map_is_rows(m, ids, rows);
}

static void put_strs(snap_out *w, const rp_strs *t)
{
    snap_put_u64(w, t->n);
    for (size_t i = 1; i < t->n; i++) {
        uint64_t len = strlen(t->s[i]);
        snap_put_u64(w, len);
        snap_put(w, t->s[i], len);
    }
}

int reports_snapshot_write(reports_t *r, snap_out *w)
{
    pthread_rwlock_rdlock(&r->lock);
    snap_put_mark(w, MARK_FACTS);
#define W(f) snap_put_column(w, r->f, n * sizeof *r->f);
    size_t n = r->n_stores;
    snap_put_u64(w, n);
    STORE_COLS(W)
    n = r->n_guides;
    snap_put_u64(w, n);
    GUIDE_COLS(W)
    n = r->n_members;
    snap_put_u64(w, n);
    MEMBER_COLS(W)
    n = r->n_orders;
    snap_put_u64(w, n);
    ORDER_COLS(W)
    n = r->n_items;
    snap_put_u64(w, n);
    ITEM_COLS(W)
    n = r->n_lv;
    snap_put_u64(w, n);
    LV_COLS(W)
#undef W
    put_strs(w, &r->skus);
    put_strs(w, &r->cats);
    snap_put_i64(w, r->day0);
    snap_put_u64(w, r->n_days);
    for (size_t d = 0; d < r->n_days; d++) {
        snap_put_u64(w, r->bucket[d].n);
        snap_put(w, r->bucket[d].v, (size_t)r->bucket[d].n * 4);
    }
    snap_put_mark(w, MARK_MAPS);
    put_map(w, &r->store_ix);
    put_map(w, &r->guide_ix);
    put_map(w, &r->member_ix);
    put_map(w, &r->order_ix);
    snap_put_mark(w, MARK_END);
    pthread_rwlock_unlock(&r->lock);
    return w->bad ? -1 : 0;
}

static bool get_strs(snap_in *in, rp_strs *t)
{
    uint64_t n = snap_get_count(in, INT32_MAX, 8);
    for (uint64_t i = 1; i < n; i++) {
        uint64_t len = snap_get_count(in, 1 << 20, 1);
        const char *s = snap_take(in, len);
        if (!s || len == 0 || memchr(s, 0, len)) return false;
        char *z = malloc(len + 1);
        if (!z) return false;
        memcpy(z, s, len);
        z[len] = 0;
        int32_t got = rp_strs_intern(t, z);
        free(z);
        if ((uint64_t)got != i) return false;
    }
    return !in->bad;
}

static bool in_rows(int32_t v, size_t n, bool none_ok)
{
    return (v >= 0 && (size_t)v < n) || (none_ok && v == -1);
}

static size_t count_kinds(void)
{
    size_t n = 0;
    while (dom_store_kinds[n])
        n++;
    return n;
}

/* What the domain lets an order carry (orders.c): money 0..a billion yuan, quantities
 * 0..a million; refunds never above what they refund. A report's sums rely on it. */
#define MAX_MONEY 100000000000LL
#define MAX_QTY 1000000

static bool consistent(reports_t *r)
{
    size_t nk = count_kinds();
    for (size_t i = 0; i < r->n_stores; i++)
        if (!r->s_id[i] || (r->s_kind[i] >= nk && r->s_kind[i] != RP_KIND_UNKNOWN)) return false;
    for (size_t i = 0; i < r->n_guides; i++)
        if (!r->g_id[i]) return false;
    for (size_t m = 0; m < r->n_members; m++)
        if (!r->m_id[m] || !in_rows(r->m_store[m], r->n_stores, true) ||
            !in_rows(r->m_guide[m], r->n_guides, true) ||
            !in_rows(r->m_into[m], r->n_members, true) || r->m_join_ch[m] >= RP_NCH ||
            r->m_alive[m] > 1)
            return false;
    for (size_t o = 0; o < r->n_orders; o++)
        if (!r->o_id[o] || !in_rows(r->o_member[o], r->n_members, true) ||
            !in_rows(r->o_store[o], r->n_stores, true) ||
            !in_rows(r->o_guide[o], r->n_guides, true) || r->o_ch[o] >= RP_NCH ||
            (uint64_t)r->o_item_off[o] + r->o_item_n[o] > r->n_items || r->o_total[o] < 0 ||
            r->o_total[o] > MAX_MONEY || r->o_discount[o] < 0 || r->o_discount[o] > MAX_MONEY ||
            r->o_refunded[o] < 0 || r->o_refunded[o] > r->o_total[o] || r->o_items[o] < 0 ||
            time_local_day(r->o_at[o]) != r->o_day[o]) /* the instant the group view reads */
            return false;
    for (size_t i = 0; i < r->n_items; i++)
        if (r->i_order[i] >= r->n_orders || r->i_sku[i] >= (r->skus.n ? r->skus.n : 1) ||
            r->i_cat[i] >= (r->cats.n ? r->cats.n : 1) || r->i_qty[i] < 0 ||
            r->i_qty[i] > MAX_QTY || r->i_refqty[i] < 0 || r->i_refqty[i] > r->i_qty[i] ||
            r->i_unit[i] < 0 || r->i_unit[i] > MAX_MONEY)
            return false;
    for (size_t i = 0; i < r->n_lv; i++)
        if (!in_rows(r->lv_member[i], r->n_members, false)) return false;
    /* each order in its own day's bucket, exactly once (the member-major build relies on it) */
    uint8_t *seen = calloc(r->n_orders ? r->n_orders : 1, 1);
    if (!seen) return false;
    bool ok = true;
    for (size_t d = 0; ok && d < r->n_days; d++)
        for (uint32_t i = 0; ok && i < r->bucket[d].n; i++) {
            uint32_t o = r->bucket[d].v[i];
            ok = o < r->n_orders && !seen[o] && (int64_t)r->o_day[o] - r->day0 == (int64_t)d;
            if (ok) seen[o] = 1;
        }
    for (size_t o = 0; ok && o < r->n_orders; o++)
        ok = seen[o];
    free(seen);
    return ok;
}

reports_t *reports_snapshot_read(snap_in *in)
{
    reports_t *r = reports_new();
    r->map = snapmap_retain(in->map); /* the columns below may lie in it */
    bool ok = true;
    snap_expect_mark(in, MARK_FACTS);
    /* each count is bounded by what is left: at least a byte per element of a column */
#define R(f) ok = ok && snap_get_column(in, (void **)&r->f, n * sizeof *r->f);
    size_t n = snap_get_count(in, INT32_MAX, 1);
    r->n_stores = r->cap_stores = n;
    STORE_COLS(R)
    n = ok ? snap_get_count(in, INT32_MAX, 1) : 0;
    r->n_guides = r->cap_guides = n;
    GUIDE_COLS(R)
    n = ok ? snap_get_count(in, INT32_MAX, 1) : 0;
    r->n_members = r->cap_members = n;
    MEMBER_COLS(R)
    if (ok) { /* not in the file: rp_mo_build fills them at the end */
        r->m_tail = malloc((n ? n : 1) * sizeof *r->m_tail);
        r->m_merged = malloc((n ? n : 1) * sizeof *r->m_merged);
        r->m_sib = malloc((n ? n : 1) * sizeof *r->m_sib);
        ok = r->m_tail && r->m_merged && r->m_sib;
    }
    n = ok ? snap_get_count(in, INT32_MAX, 1) : 0;
    r->n_orders = r->cap_orders = n;
    ORDER_COLS(R)
    if (ok) {
        r->o_mpos = malloc((n ? n : 1) * sizeof *r->o_mpos);
        r->o_tnext = malloc((n ? n : 1) * sizeof *r->o_tnext);
        ok = r->o_mpos && r->o_tnext;
        for (size_t o = 0; ok && o < n; o++) {
            r->o_mpos[o] = RP_NO_POS;
            r->o_tnext[o] = -1;
        }
    }
    n = ok ? snap_get_count(in, UINT32_MAX, 1) : 0;
    r->n_items = r->cap_items = n;
    ITEM_COLS(R)
    n = ok ? snap_get_count(in, UINT32_MAX, 1) : 0;
    r->n_lv = r->cap_lv = n;
    LV_COLS(R)
#undef R
    ok = ok && get_strs(in, &r->skus) && get_strs(in, &r->cats);
    int64_t day0 = snap_get_i64(in);
    uint64_t ndays = snap_get_count(in, 1u << 22, 8);
    ok = ok && !in->bad && day0 > INT32_MIN / 2 && day0 < INT32_MAX / 2;
    if (ok && ndays) {
        r->day0 = (int32_t)day0;
        r->bucket = calloc(ndays, sizeof *r->bucket);
        ok = r->bucket != NULL;
        if (ok) r->n_days = ndays;
        for (size_t d = 0; ok && d < ndays; d++) {
            uint64_t bn = snap_get_count(in, UINT32_MAX, 4);
            rp_vec *v = &r->bucket[d];
            if (bn) {
                ok = snap_get_copy(in, (void **)&v->v, bn * 4);
                v->n = v->cap = (uint32_t)bn;
            }
            ok = ok && !in->bad;
        }
    }
    snap_expect_mark(in, MARK_MAPS);
    ok = ok && !in->bad && get_map(in, &r->store_ix, r->s_id, r->n_stores) &&
         get_map(in, &r->guide_ix, r->g_id, r->n_guides) &&
         get_map(in, &r->member_ix, r->m_id, r->n_members) &&
         get_map(in, &r->order_ix, r->o_id, r->n_orders);
    snap_expect_mark(in, MARK_END);
    ok = ok && !in->bad && consistent(r);
    if (!ok) {
        in->bad = true;
        reports_free(r);
        return NULL;
    }
    rp_mo_build(r);
    return r;
}
