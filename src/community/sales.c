/* sales.c — what groups sell: group sale sessions, the groups report, `siyu check`.
 *
 * An order is a group's while its member is in the group: placed at or after the join and
 * before the quit (a member in two of a session's groups counts once). Refunds net out
 * as in the KPI report (docs/metrics.md): by the order they refund, whenever they come;
 * a void order (refunds cover its total) is no order. A session's figures are its SKUs'
 * lines, each at its quantity net of refunded units times its unit price. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "community/community.h"
#include "base/checked.h"
#include "base/jsonx.h"
#include "base/timeutil.h"

#define SALE_MAX_GROUPS 1000
#define SALE_MAX_SKUS 500
#define Z95 1.959963984540054

void group_wilson(int64_t k, int64_t n, double *lo, double *hi)
{
    if (n <= 0) {
        *lo = 0, *hi = 1;
        return;
    }
    double nn = (double)n, p = (double)k / nn, z2 = Z95 * Z95;
    double denom = 1 + z2 / nn;
    double center = (p + z2 / (2 * nn)) / denom;
    double half = Z95 * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / denom;
    *lo = k == 0 ? 0 : fmax(0, center - half);
    *hi = k == n ? 1 : fmin(1, center + half);
}

static int desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

int group_skus_for_share(int64_t *v, int n, int pct)
{
    int64_t total = 0;
    bool over = false;
    for (int i = 0; i < n; i++)
        if (v[i] > 0) total = ck_add_sat(total, v[i], &over);
    if (total <= 0) return 0;
    qsort(v, (size_t)n, sizeof *v, desc);
    /* the smallest k with 100 * (sum of the k largest) >= pct * total, in exact integers
     * (a sum near 2^63 compares in long double) */
    int64_t run = 0;
    for (int i = 0; i < n; i++) {
        run = ck_add_sat(run, v[i], &over);
        if ((long double)run * 100 >= (long double)total * pct) return i + 1;
    }
    return n;
}

/* A group the caller may name: HQ, the store's manager, the owning guide. */
static int group_named(dom *d, int64_t id, const char *field, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_GRP_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_UNPROCESSABLE, field, "%s: group %lld does not exist", field,
                            (long long)id);
    }
    int64_t store_id = store_col_int(s, 2), owner = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
    store_reset(s);
    bool ok = d->who.role == ROLE_ADMIN || d->who.role == ROLE_OPERATOR ||
              (d->who.role == ROLE_STORE_MANAGER && store_id == d->who.store_id) ||
              (d->who.role == ROLE_GUIDE && owner == d->who.staff_id);
    if (!ok)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, field,
                            "%s: group %lld is outside your scope", field, (long long)id);
    return 0;
}

/* ---------------- group sale sessions ---------------- */

int group_sales_create(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"group_ids", "from", "to", "skus", "name", NULL};
    int64_t from, to;
    const char *name = NULL;
    if (jx_only(body, allowed, NULL, e) || jx_time(body, "from", true, &from, e) < 0 ||
        jx_time(body, "to", true, &to, e) < 0 || jx_str(body, "name", false, &name, e) < 0)
        return -1;
    if (to <= from) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "to", "to: must be after from");
    if (name && strlen(name) > 200)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: at most 200 characters");
    json_t *gids = json_object_get(body, "group_ids"), *skus = json_object_get(body, "skus");
    if (!json_is_array(gids) || !json_array_size(gids) || json_array_size(gids) > SALE_MAX_GROUPS)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "group_ids", "group_ids: 1 to %d group ids",
                            SALE_MAX_GROUPS);
    if (!json_is_array(skus) || !json_array_size(skus) || json_array_size(skus) > SALE_MAX_SKUS)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "skus", "skus: 1 to %d SKUs", SALE_MAX_SKUS);
    size_t i, k;
    json_t *v, *w;
    json_array_foreach(gids, i, v)
    {
        if (!json_is_integer(v))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "group_ids",
                                "group_ids: expected integers");
        for (k = 0; k < i; k++)
            if (json_integer_value(json_array_get(gids, k)) == json_integer_value(v))
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "group_ids",
                                    "group_ids: group %lld is named twice",
                                    (long long)json_integer_value(v));
        if (group_named(d, json_integer_value(v), "group_ids", e)) return -1;
    }
    json_array_foreach(skus, i, v)
    {
        const char *t = json_string_value(v);
        if (!t || !*t || strlen(t) > 64)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "skus",
                                "skus: strings of 1 to 64 characters");
        for (k = 0; k < i; k++) {
            w = json_array_get(skus, k);
            if (strcmp(json_string_value(w), t) == 0)
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "skus", "skus: %s is named twice", t);
        }
    }
    store_stmt *s = store_q(d->conn, Q_GSALE_INSERT);
    store_bind_text(s, 1, name);
    store_bind_int(s, 2, from);
    store_bind_int(s, 3, to);
    store_bind_int(s, 4, d->now);
    if (store_exec(s, e)) return -1;
    int64_t id = store_last_id(d->conn);
    json_array_foreach(gids, i, v)
    {
        s = store_q(d->conn, Q_GSALE_GROUP_ADD);
        store_bind_int(s, 1, id);
        store_bind_int(s, 2, json_integer_value(v));
        if (store_exec(s, e)) return -1;
    }
    json_array_foreach(skus, i, v)
    {
        s = store_q(d->conn, Q_GSALE_SKU_ADD);
        store_bind_int(s, 1, id);
        store_bind_text(s, 2, json_string_value(v));
        if (store_exec(s, e)) return -1;
    }
    if (out)
        *out = json_pack("{s:I, s:O, s:o, s:o, s:O}", "id", (json_int_t)id, "group_ids", gids,
                         "from", dom_time(from), "to", dom_time(to), "skus", skus);
    return 201;
}

typedef struct sku_sum {
    char sku[72];
    int64_t orders, sales;
    int64_t last_order; /* the last order counted, so an order with two lines counts once */
} sku_sum;

int group_sales_report(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_GSALE_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "group sale %lld does not exist",
                            (long long)id);
    }
    json_t *name = dom_nullable_text(s, 1);
    int64_t from = store_col_int(s, 2), to = store_col_int(s, 3);
    store_reset(s);
    /* every group of the session must be the caller's */
    json_t *gids = json_array();
    int64_t groups[SALE_MAX_GROUPS];
    int ng = 0;
    s = store_q(d->conn, Q_GSALE_GROUPS);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW && ng < SALE_MAX_GROUPS)
        groups[ng++] = store_col_int(s, 0);
    store_reset(s);
    for (int i = 0; i < ng; i++) {
        if (group_named(d, groups[i], "id", e)) {
            json_decref(gids);
            json_decref(name);
            if (e->code == SIYU_PERMISSION_DENIED) e->field[0] = 0;
            return -1;
        }
        json_array_append_new(gids, json_integer(groups[i]));
    }
    sku_sum *sk = calloc(SALE_MAX_SKUS, sizeof *sk);
    int nk = 0;
    s = store_q(d->conn, Q_GSALE_SKUS);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW && nk < SALE_MAX_SKUS)
        snprintf(sk[nk++].sku, sizeof sk[0].sku, "%s", store_col_text(s, 0));
    store_reset(s);
    int64_t orders = 0, sales = 0, last = 0;
    bool over = false;
    s = store_q(d->conn, Q_GSALE_LINES);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW) {
        int64_t order = store_col_int(s, 0), qty = store_col_int(s, 3), price = store_col_int(s, 4),
                total = store_col_int(s, 5), refunded = store_col_int(s, 6);
        if (refunded > 0 && refunded >= total) continue; /* void */
        if (qty <= 0) continue;                          /* every unit of the line refunded */
        const char *sku = store_col_text(s, 2);
        int64_t line;
        if (!ck_mul(qty, price, &line)) line = INT64_MAX, over = true;
        for (int k = 0; k < nk; k++) {
            if (strcmp(sk[k].sku, sku) != 0) continue;
            if (sk[k].last_order != order) sk[k].orders++, sk[k].last_order = order;
            sk[k].sales = ck_add_sat(sk[k].sales, line, &over);
        }
        if (last != order) orders++, last = order;
        sales = ck_add_sat(sales, line, &over);
    }
    store_reset(s);
    json_t *by = json_array();
    int64_t v[SALE_MAX_SKUS];
    for (int k = 0; k < nk; k++) {
        v[k] = sk[k].sales;
        json_array_append_new(by, json_pack("{s:s, s:I, s:I}", "sku", sk[k].sku, "orders",
                                            (json_int_t)sk[k].orders, "sales_cents",
                                            (json_int_t)sk[k].sales));
    }
    int top = group_skus_for_share(v, nk, 80);
    free(sk);
    *out = json_pack("{s:I, s:o, s:o, s:o, s:o, s:I, s:I, s:o, s:i, s:i}", "id", (json_int_t)id,
                     "name", name, "group_ids", gids, "from", dom_time(from), "to", dom_time(to),
                     "orders", (json_int_t)orders, "sales_cents", (json_int_t)sales, "by_sku", by,
                     "skus_for_80pct", top, "skus", nk);
    if (over) json_object_set_new(*out, "overflowed", json_true());
    return 200;
}

/* ---------------- the groups report ---------------- */

typedef group_board_row brow;

typedef struct rollup {
    int64_t key;
    char theme[64];
    int64_t groups, members, joins, quits, messages, speaker_days, member_days, orders, sales;
} rollup;

static brow *brow_find(brow *v, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo].id == id ? &v[lo] : NULL;
}

static json_t *ratio(int64_t a, int64_t b)
{
    return b > 0 ? json_real((double)a / (double)b) : json_null();
}

static void roll_add(rollup *r, const brow *b, bool *over)
{
    r->groups++;
    r->members += b->members;
    r->joins += b->joins;
    r->quits += b->quits;
    r->messages = ck_add_sat(r->messages, b->messages, over);
    r->speaker_days += b->speaker_days;
    r->member_days += b->member_days;
    r->orders += b->orders;
    r->sales = ck_add_sat(r->sales, b->sales, over);
}

static json_t *roll_json(const rollup *r)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I}", "groups", (json_int_t)r->groups,
                     "members", (json_int_t)r->members, "new_members", (json_int_t)r->joins,
                     "quits", (json_int_t)r->quits, "messages", (json_int_t)r->messages,
                     "activity_rate", ratio(r->speaker_days, r->member_days), "orders",
                     (json_int_t)r->orders, "sales_cents", (json_int_t)r->sales);
}

/* rollups keyed by an integer (store, guide) or a theme, in the order of their first
 * group, found through a hash index (50 000 groups may have thousands of guides) */
typedef struct rollset {
    rollup *v;
    size_t n, cap;
    int32_t *ix; /* open addressing over v: -1 empty */
    size_t nix;
} rollset;

static size_t roll_hash(int64_t key, const char *theme)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)key * 0x9E3779B97F4A7C15ULL;
    for (const unsigned char *p = (const unsigned char *)theme; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)(h ^ (h >> 29));
}

static rollup *roll_at(rollset *s, int64_t key, const char *theme)
{
    if (!theme) theme = "";
    if ((s->n + 1) * 2 > s->nix) {
        free(s->ix);
        s->nix = s->nix ? s->nix * 2 : 64;
        s->ix = malloc(s->nix * sizeof *s->ix);
        for (size_t i = 0; i < s->nix; i++)
            s->ix[i] = -1;
        for (size_t k = 0; k < s->n; k++) {
            size_t i = roll_hash(s->v[k].key, s->v[k].theme) & (s->nix - 1);
            while (s->ix[i] >= 0)
                i = (i + 1) & (s->nix - 1);
            s->ix[i] = (int32_t)k;
        }
    }
    size_t i = roll_hash(key, theme) & (s->nix - 1);
    for (; s->ix[i] >= 0; i = (i + 1) & (s->nix - 1)) {
        rollup *r = &s->v[s->ix[i]];
        if (r->key == key && strcmp(r->theme, theme) == 0) return r;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
    }
    s->ix[i] = (int32_t)s->n;
    rollup *r = &s->v[s->n++];
    memset(r, 0, sizeof *r);
    r->key = key;
    snprintf(r->theme, sizeof r->theme, "%s", theme);
    return r;
}

static int board_cmp(const void *a, const void *b)
{
    const brow *x = *(brow *const *)a, *y = *(brow *const *)b;
    if (x->sales != y->sales) return x->sales < y->sales ? 1 : -1;
    if (x->messages != y->messages) return x->messages < y->messages ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;
}

#define BOARD_TOP 100

/* heap order: the worst of the kept rows at [0] */
static bool board_worse(const brow *x, const brow *y)
{
    return board_cmp(&x, &y) > 0;
}

static void board_offer(brow **h, size_t *n, brow *b)
{
    size_t i;
    if (*n < BOARD_TOP) { /* sift up */
        i = (*n)++;
        while (i > 0 && board_worse(b, h[(i - 1) / 2])) {
            h[i] = h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        h[i] = b;
        return;
    }
    if (!board_worse(h[0], b)) return; /* not better than the worst kept */
    i = 0;                             /* sift down from the top */
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && board_worse(h[c + 1], h[c])) c++;
        if (!board_worse(h[c], b)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = b;
}

static json_t *conv_json(int64_t members, int64_t buyers)
{
    double lo, hi;
    group_wilson(buyers, members, &lo, &hi);
    return json_pack("{s:I, s:I, s:o, s:o}", "members", (json_int_t)members, "buyers",
                     (json_int_t)buyers, "conversion", ratio(buyers, members), "interval",
                     members > 0 ? json_pack("[f, f]", lo, hi) : json_null());
}

/* The figures by SQL: the independent reference the group view is checked against. */
static int figures_sql(dom *d, const groups_ask *q, groups_figures *f)
{
    int32_t from = q->from, to = q->to;
    int64_t store_id = q->store_id, guide = q->guide, within_days = q->within_days,
            from_s = q->from_s, to_s = q->to_s;
    size_t n = 0, cap = 1024;
    brow *v = malloc(cap * sizeof *v);
    store_stmt *s = store_q(d->conn, Q_GRP_BOARD);
    store_bind_int(s, 1, from);
    store_bind_int(s, 2, to);
    if (store_id) store_bind_int(s, 3, store_id);
    while (store_step(s) == STORE_ROW) {
        if (n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
        brow *b = &v[n++];
        memset(b, 0, sizeof *b);
        b->id = store_col_int(s, 0);
        b->store_id = store_col_int(s, 1);
        b->owner_id = store_col_null(s, 2) ? 0 : store_col_int(s, 2);
        b->has_theme = !store_col_null(s, 3);
        if (b->has_theme) snprintf(b->theme, sizeof b->theme, "%s", store_col_text(s, 3));
        if (!store_col_null(s, 4)) snprintf(b->name, sizeof b->name, "%s", store_col_text(s, 4));
        snprintf(b->chat_id, sizeof b->chat_id, "%s", store_col_text(s, 5));
        b->cap = store_col_int(s, 6);
        snprintf(b->state, sizeof b->state, "%s", store_col_text(s, 7));
        b->speaker_days = store_col_int(s, 8);
        b->messages = store_col_int(s, 9);
        if (guide && b->owner_id != guide) n--;
    }
    store_reset(s);
    s = store_q(d->conn, Q_GRP_BOARD_STINTS);
    store_bind_int(s, 1, from);
    store_bind_int(s, 2, to);
    if (store_id) store_bind_int(s, 3, store_id);
    while (store_step(s) == STORE_ROW) {
        brow *b = brow_find(v, n, store_col_int(s, 0));
        if (!b) continue;
        b->joins = store_col_int(s, 1);
        b->quits = store_col_int(s, 2);
        b->members = store_col_int(s, 3);
        b->member_days = store_col_int(s, 4);
    }
    store_reset(s);
    bool over = false;
    s = store_q(d->conn, Q_GRP_ORDERS);
    store_bind_int(s, 1, from_s);
    store_bind_int(s, 2, to_s);
    if (store_id) store_bind_int(s, 3, store_id);
    if (within_days) store_bind_int(s, 4, within_days * 86400);
    while (store_step(s) == STORE_ROW) {
        brow *b = brow_find(v, n, store_col_int(s, 0));
        int64_t total = store_col_int(s, 2), refunded = store_col_int(s, 3);
        if (!b || (refunded > 0 && refunded >= total)) continue;
        b->orders++;
        b->sales = ck_add_sat(b->sales, total - refunded, &over);
    }
    store_reset(s);
    /* conversion and reach per store (not for a guide) */
    group_conv_row *cv = NULL;
    size_t ncv = 0, ccv = 0;
    if (!guide) {
        s = store_q(d->conn, Q_GRP_CONVERSION);
        store_bind_int(s, 1, from_s);
        store_bind_int(s, 2, to_s);
        if (store_id) store_bind_int(s, 3, store_id);
        while (store_step(s) == STORE_ROW) {
            int64_t st = store_col_int(s, 0);
            int ing = store_col_int(s, 1) ? 1 : 0;
            if (!ncv || cv[ncv - 1].store != st) {
                if (ncv == ccv) cv = realloc(cv, (ccv = ccv ? ccv * 2 : 16) * sizeof *cv);
                memset(&cv[ncv], 0, sizeof *cv);
                cv[ncv++].store = st;
            }
            cv[ncv - 1].n[ing] = store_col_int(s, 2);
            cv[ncv - 1].b[ing] = store_col_int(s, 3);
        }
        store_reset(s);
    }
    f->v = v;
    f->n = n;
    f->cv = cv;
    f->ncv = ncv;
    f->over = over;
    return 0;
}

int groups_report_from(dom *d, groups_source src, void *ctx, int32_t from, int32_t to,
                       int64_t store_id, int64_t within_days, json_t **out, siyu_err *e)
{
    if (to < from) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "to", "to: before from");
    if (to - from > 3660)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "to", "to: at most ten years after from");
    if (within_days < 0 || within_days > 3650)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "within_days", "within_days: 1 to 3650");
    if (store_id && dom_require_store(d, store_id, "store", e)) return -1;
    /* a store manager sees their store; a guide their own groups */
    if (d->who.role == ROLE_STORE_MANAGER) {
        if (store_id && store_id != d->who.store_id)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, "store", "store: not your store");
        store_id = d->who.store_id;
    }
    int64_t guide = d->who.role == ROLE_GUIDE ? d->who.staff_id : 0;
    if (guide) store_id = d->who.store_id;
    groups_ask q = {.from = from,
                    .to = to,
                    .store_id = store_id,
                    .guide = guide,
                    .within_days = within_days,
                    .from_s = (int64_t)from * 86400 - SIYU_LOCAL_OFFSET_S,
                    .to_s = ((int64_t)to + 1) * 86400 - SIYU_LOCAL_OFFSET_S};
    groups_figures f = {0};
    if (!src || src(ctx, &q, &f)) {
        memset(&f, 0, sizeof f);
        figures_sql(d, &q, &f);
    }
    brow *v = f.v;
    size_t n = f.n;
    bool over = f.over;
    /* roll-ups */
    rollup chain = {0};
    rollset rs_store = {0}, rs_guide = {0}, rs_theme = {0};
    /* the leaderboard's 100: a heap of the best so far, its worst on top (board_cmp is a
     * total order, so this is the head of a full sort) */
    brow *order[BOARD_TOP];
    size_t nb = 0;
    for (size_t i = 0; i < n; i++) {
        brow *b = &v[i];
        board_offer(order, &nb, b);
        roll_add(&chain, b, &over);
        roll_add(roll_at(&rs_store, b->store_id, NULL), b, &over);
        roll_add(roll_at(&rs_guide, b->owner_id, NULL), b, &over);
        roll_add(roll_at(&rs_theme, 0, b->has_theme ? b->theme : ""), b, &over);
    }
    rollup *stores = rs_store.v, *guides = rs_guide.v, *themes = rs_theme.v;
    size_t ns = rs_store.n, nguide = rs_guide.n, nt = rs_theme.n;
    free(rs_store.ix);
    free(rs_guide.ix);
    free(rs_theme.ix);
    qsort(order, nb, sizeof *order, board_cmp);
    json_t *board = json_array();
    for (size_t i = 0; i < nb; i++) {
        brow *b = order[i];
        json_t *o =
            json_pack("{s:i, s:I, s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:o, s:I, s:I}", "rank",
                      (int)i + 1, "group_id", (json_int_t)b->id, "chat_id", b->chat_id, "store_id",
                      (json_int_t)b->store_id, "cap", (json_int_t)b->cap, "state", b->state,
                      "members", (json_int_t)b->members, "new_members", (json_int_t)b->joins,
                      "quits", (json_int_t)b->quits, "messages", (json_int_t)b->messages,
                      "activity_rate", ratio(b->speaker_days, b->member_days), "orders",
                      (json_int_t)b->orders, "sales_cents", (json_int_t)b->sales);
        json_object_set_new(o, "name", b->name[0] ? json_string(b->name) : json_null());
        json_object_set_new(o, "theme", b->has_theme ? json_string(b->theme) : json_null());
        json_object_set_new(o, "owner_id", b->owner_id ? json_integer(b->owner_id) : json_null());
        json_array_append_new(board, o);
    }
    /* conversion and reach per store: members in a group during the period against the
     * store's members in none (a guide's report has no population of its own) */
    json_t *by_store = json_array(), *by_guide = json_array(), *by_theme = json_array();
    int64_t all_in[2] = {0, 0}, all_buy[2] = {0, 0};
    group_conv_row *cv = f.cv;
    size_t ncv = f.ncv;
    for (size_t k = 0; k < ncv; k++)
        for (int ing = 0; ing < 2; ing++) {
            all_in[ing] += cv[k].n[ing];
            all_buy[ing] += cv[k].b[ing];
        }
    for (size_t i = 0; i < ns; i++) {
        json_t *o = roll_json(&stores[i]);
        json_object_set_new(o, "store_id", json_integer(stores[i].key));
        for (size_t k = 0; k < ncv; k++) {
            if (cv[k].store != stores[i].key) continue;
            json_object_set_new(o, "reach", ratio(cv[k].n[1], cv[k].n[0] + cv[k].n[1]));
            json_object_set_new(o, "in_groups", conv_json(cv[k].n[1], cv[k].b[1]));
            json_object_set_new(o, "in_no_group", conv_json(cv[k].n[0], cv[k].b[0]));
        }
        json_array_append_new(by_store, o);
    }
    for (size_t i = 0; i < nguide; i++) {
        json_t *o = roll_json(&guides[i]);
        json_object_set_new(o, "guide_id",
                            guides[i].key ? json_integer(guides[i].key) : json_null());
        json_array_append_new(by_guide, o);
    }
    for (size_t i = 0; i < nt; i++) {
        json_t *o = roll_json(&themes[i]);
        json_object_set_new(o, "theme",
                            themes[i].theme[0] ? json_string(themes[i].theme) : json_null());
        json_array_append_new(by_theme, o);
    }
    json_t *ch = roll_json(&chain);
    if (!guide) {
        json_object_set_new(ch, "reach", ratio(all_in[1], all_in[0] + all_in[1]));
        json_object_set_new(ch, "in_groups", conv_json(all_in[1], all_buy[1]));
        json_object_set_new(ch, "in_no_group", conv_json(all_in[0], all_buy[0]));
    }
    free(cv);
    free(stores);
    free(guides);
    free(themes);
    free(v);
    char fb[16], tb[16];
    date_format(from, fb, sizeof fb);
    date_format(to, tb, sizeof tb);
    *out = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "from", fb, "to", tb, "store",
                     store_id ? json_integer(store_id) : json_null(), "leaderboard", board, "chain",
                     ch, "by_store", by_store, "by_guide", by_guide, "by_theme", by_theme);
    json_object_set_new(*out, "within_days", within_days ? json_integer(within_days) : json_null());
    if (over) json_object_set_new(*out, "overflowed", json_true());
    return 200;
}

/* ---------------- siyu check ---------------- */

static void add(json_t *v, int *found, int max, const char *check, const char *fmt, ...)
{
    (*found)++;
    if ((int)json_array_size(v) >= max) return;
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_append_new(v, json_pack("{s:s, s:s}", "check", check, "message", msg));
}

int groups_check(store_conn *c, int max, json_t *v)
{
    int found = 0;
    store_stmt *s = store_q(c, Q_CHECK_GROUP_DAYS);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "group_days",
            "group %lld day %lld: the day roll-up differs from the activity",
            (long long)store_col_int(s, 0), (long long)store_col_int(s, 1));
    store_reset(s);
    s = store_q(c, Q_CHECK_GROUP_SEATS);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "group_cap",
            "group %lld: %lld customers in it through codes, over its cap %lld",
            (long long)store_col_int(s, 0), (long long)store_col_int(s, 1),
            (long long)store_col_int(s, 2));
    store_reset(s);
    s = store_q(c, Q_CHECK_GROUP_SEAT_STORE);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "group_seats",
            "seat %lld: in a group of another store or theme than its code's, or kept by no join "
            "through the code",
            (long long)store_col_int(s, 0));
    store_reset(s);
    /* group SOPs: each post names a group, under an SOP's campaign, on a slot (a round) */
    s = store_q(c, Q_CHECK_GROUP_SOP_TASKS);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "group_sops",
            "task %lld: a group post naming no group, no SOP's campaign or no slot",
            (long long)store_col_int(s, 0));
    store_reset(s);
    return found;
}

int groups_report(dom *d, int32_t from, int32_t to, int64_t store_id, int64_t within_days,
                  json_t **out, siyu_err *e)
{
    return groups_report_from(d, NULL, NULL, from, to, store_id, within_days, out, e);
}
