/* analyses.c — cohorts, products, live-stream sessions and member distributions.
 *
 * Each is one walk over the day buckets of its window plus small per-member or
 * per-SKU scratch; formulas and field names are in docs/metrics.md. */
#include <stdlib.h>
#include <string.h>

#include "base/checked.h"
#include "base/timeutil.h"
#include "reports/internal.h"

static int month_index(int32_t day)
{
    int y, m, d;
    date_civil(day, &y, &m, &d);
    return y * 12 + m - 1;
}

static json_t *month_json(int mi)
{
    char b[16];
    snprintf(b, sizeof b, "%04d-%02d", mi / 12, mi % 12 + 1);
    return json_string(b);
}

/* ================= cohorts ================= */

json_t *reports_cohorts(reports_t *r, const reports_query *q, siyu_err *e)
{
    if (rp_check_query(q, e)) return NULL;
    pthread_rwlock_rdlock(&r->lock);
    const size_t nm = r->n_members;
    const int m0 = month_index(q->from), m1 = month_index(q->to);
    const int nc = m1 - m0 + 1;
    rp_filter f;
    rp_filter_init(&f, r, q);
    /* cohort of each member (-1: not in one), then per cohort × month: buyers, sales */
    int32_t *coh = malloc((nm + 1) * sizeof *coh), *last = malloc((nm + 1) * sizeof *last);
    int64_t *size = calloc((size_t)nc, sizeof *size);
    int64_t *buyers = calloc((size_t)nc * (size_t)nc, sizeof *buyers);
    int64_t *sales = calloc((size_t)nc * (size_t)nc, sizeof *sales);
    for (size_t m = 0; m < nm; m++) {
        last[m] = -1;
        coh[m] = -1;
        int32_t jd = r->m_join_day[m];
        if (jd < q->from || jd > q->to || !rp_f_member(&f, r, m)) continue;
        coh[m] = month_index(jd) - m0;
        size[coh[m]]++;
    }
    for (int32_t d = q->from; d <= q->to; d++) {
        const rp_vec *v = rp_day(r, d);
        const int md = month_index(d) - m0;
        for (uint32_t i = 0; i < v->n; i++) {
            const uint32_t o = v->v[i];
            const int32_t m = r->o_member[o];
            if (m < 0 || coh[m] < 0 || md < coh[m]) continue;
            const int k = md - coh[m];
            sales[coh[m] * nc + k] += r->o_total[o] - r->o_refunded[o];
            if (rp_valid(r, o) && last[m] != k) {
                last[m] = k;
                buyers[coh[m] * nc + k]++;
            }
        }
    }
    json_t *arr = json_array();
    for (int c = 0; c < nc; c++) {
        json_t *months = json_array();
        int64_t cum = 0;
        for (int k = 0; c + k < nc; k++) {
            cum += sales[c * nc + k];
            json_array_append_new(
                months, json_pack("{s:i, s:I, s:o, s:I, s:o}", "months_since_join", k,
                                  "active_members", (json_int_t)buyers[c * nc + k], "retention",
                                  rp_ratio(buyers[c * nc + k], size[c]), "net_sales_cents",
                                  (json_int_t)sales[c * nc + k],
                                  "cumulative_sales_per_member_cents", rp_cents_avg(cum, size[c])));
        }
        json_array_append_new(arr, json_pack("{s:o, s:I, s:o}", "cohort", month_json(m0 + c),
                                             "members", (json_int_t)size[c], "months", months));
    }
    rp_filter_free(&f);
    free(coh);
    free(last);
    free(size);
    free(buyers);
    free(sales);
    pthread_rwlock_unlock(&r->lock);
    return json_pack("{s:o, s:o}", "query", rp_query_json(q), "cohorts", arr);
}

/* ================= products ================= */

typedef struct kv {
    int64_t key;   /* packed ids */
    int64_t sales; /* net cents, or a count */
    int64_t units;
} kv;

static _Thread_local const reports_t *sort_r; /* for qsort's comparators */

static int sku_cmp_names(uint32_t a, uint32_t b)
{
    return strcmp(sort_r->skus.s[a], sort_r->skus.s[b]);
}

static int kv_sku_cmp(const void *x, const void *y)
{
    const kv *a = x, *b = y;
    if (a->sales != b->sales) return a->sales > b->sales ? -1 : 1;
    return sku_cmp_names((uint32_t)a->key, (uint32_t)b->key);
}

static int kv_pair_cmp(const void *x, const void *y)
{
    const kv *a = x, *b = y;
    if (a->sales != b->sales) return a->sales > b->sales ? -1 : 1;
    /* key = lo * 2^32 + hi, with lo/hi ordered by name already */
    int c = sku_cmp_names((uint32_t)(a->key >> 32), (uint32_t)(b->key >> 32));
    return c ? c : sku_cmp_names((uint32_t)a->key, (uint32_t)b->key);
}

/* Sums (group, sku) pairs through a map to a dense accumulator list. */
typedef struct gsum {
    rp_map ix;
    kv *v;
    int32_t *group;
    size_t n, cap;
} gsum;

static void gsum_add(gsum *g, int32_t group, uint32_t sku, int64_t nsku, int64_t sales,
                     int64_t units)
{
    int64_t key = (int64_t)group * (nsku + 1) + sku + 1;
    int32_t i = rp_map_get(&g->ix, key);
    if (i < 0) {
        if (g->n == g->cap) {
            g->cap = g->cap ? g->cap * 2 : 256;
            g->v = realloc(g->v, g->cap * sizeof *g->v);
            g->group = realloc(g->group, g->cap * sizeof *g->group);
        }
        i = (int32_t)g->n++;
        g->v[i] = (kv){.key = sku};
        g->group[i] = group;
        rp_map_put(&g->ix, key, i);
    }
    g->v[i].sales += sales;
    g->v[i].units += units;
}

static json_t *sku_row(const reports_t *r, const kv *x, int64_t total)
{
    return json_pack("{s:s, s:I, s:I, s:o}", "sku", r->skus.s[x->key], "net_sales_cents",
                     (json_int_t)x->sales, "units", (json_int_t)x->units, "share",
                     rp_ratio(x->sales, total));
}

/* Top n of each group of a gsum, groups sorted by key_of(group). */
static json_t *gsum_tops(const reports_t *r, gsum *g, int ngroups, int top, const char *gname,
                         json_t *(*gkey)(const reports_t *, int32_t))
{
    json_t *arr = json_array();
    kv **per = calloc((size_t)ngroups + 1, sizeof *per);
    size_t *cnt = calloc((size_t)ngroups + 1, sizeof *cnt);
    for (size_t i = 0; i < g->n; i++)
        cnt[g->group[i]]++;
    for (int k = 0; k < ngroups; k++)
        per[k] = malloc((cnt[k] + 1) * sizeof **per);
    memset(cnt, 0, ((size_t)ngroups + 1) * sizeof *cnt);
    for (size_t i = 0; i < g->n; i++)
        per[g->group[i]][cnt[g->group[i]]++] = g->v[i];
    for (int k = 0; k < ngroups; k++) {
        if (!cnt[k]) {
            free(per[k]);
            continue;
        }
        qsort(per[k], cnt[k], sizeof **per, kv_sku_cmp);
        int64_t total = 0;
        for (size_t i = 0; i < cnt[k]; i++)
            total += per[k][i].sales;
        json_t *list = json_array();
        for (size_t i = 0; i < cnt[k] && (int)i < top; i++)
            json_array_append_new(list, sku_row(r, &per[k][i], total));
        json_array_append_new(arr, json_pack("{s:o, s:I, s:o}", gname, gkey(r, k),
                                             "net_sales_cents", (json_int_t)total, "top", list));
        free(per[k]);
    }
    free(per);
    free(cnt);
    return arr;
}

static json_t *store_key(const reports_t *r, int32_t s)
{
    return json_integer(r->s_id[s]);
}

static json_t *cat_key(const reports_t *r, int32_t c)
{
    return c ? json_string(r->cats.s[c]) : json_null();
}

static int json_key_cmp(json_t *a, json_t *b)
{
    if (json_is_null(a) || json_is_null(b)) return json_is_null(b) - json_is_null(a);
    if (json_is_integer(a))
        return json_integer_value(a) < json_integer_value(b)
                   ? -1
                   : json_integer_value(a) > json_integer_value(b);
    return strcmp(json_string_value(a), json_string_value(b));
}

/* Sorts an array of group objects by their group key, for a stable answer. */
static void sort_groups(json_t *arr, const char *gname)
{
    size_t n = json_array_size(arr);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            json_t *a = json_array_get(arr, j - 1), *b = json_array_get(arr, j);
            if (json_key_cmp(json_object_get(a, gname), json_object_get(b, gname)) <= 0) break;
            json_incref(a);
            json_array_set(arr, j - 1, b);
            json_array_set_new(arr, j, a);
        }
}

#define MAX_BASKET 64 /* distinct SKUs of one order that enter pair counting */

json_t *reports_products(reports_t *r, const reports_query *q, siyu_err *e)
{
    if (rp_check_query(q, e)) return NULL;
    pthread_rwlock_rdlock(&r->lock);
    const int top = q->top_n > 0 ? q->top_n : 10;
    const int64_t nsku = (int64_t)r->skus.n;
    kv *sku = calloc((size_t)nsku + 1, sizeof *sku);
    for (int64_t s = 0; s < nsku; s++)
        sku[s].key = s;
    gsum by_store = {0}, by_cat = {0}, pairs = {0};
    rp_filter f;
    rp_filter_init(&f, r, q);
    int64_t baskets = 0, total = 0;
    const bool groups = !q->concentration_only;
    bool overflowed = false; /* a sum past 2^63 − 1 cents: clamped, and said so */
    for (int32_t d = q->from; d <= q->to; d++) {
        const rp_vec *v = rp_day(r, d);
        for (uint32_t i = 0; i < v->n; i++) {
            const uint32_t o = v->v[i];
            if (!rp_valid(r, o) || !rp_f_order(&f, r, o) || !r->o_item_n[o]) continue;
            baskets++;
            uint32_t basket[MAX_BASKET];
            int nb = 0;
            for (uint32_t k = 0; k < r->o_item_n[o]; k++) {
                size_t it = r->o_item_off[o] + k;
                int64_t units = r->i_qty[it] - r->i_refqty[it];
                int64_t net;
                if (!ck_mul(units, r->i_unit[it], &net)) net = INT64_MAX, overflowed = true;
                uint32_t s = r->i_sku[it];
                sku[s].sales = ck_add_sat(sku[s].sales, net, &overflowed);
                sku[s].units += units;
                total = ck_add_sat(total, net, &overflowed);
                if (!groups) continue;
                gsum_add(&by_store, r->o_store[o], s, nsku, net, units);
                gsum_add(&by_cat, (int32_t)r->i_cat[it], s, nsku, net, units);
                if (units <= 0) continue; /* a line refunded in full was not bought */
                bool seen = false;
                for (int b = 0; b < nb && !seen; b++)
                    seen = basket[b] == s;
                if (!seen && nb < MAX_BASKET) basket[nb++] = s;
            }
            for (int a = 0; a < nb; a++)
                for (int b = a + 1; b < nb; b++) {
                    uint32_t x = basket[a], y = basket[b];
                    if (strcmp(r->skus.s[x], r->skus.s[y]) > 0) {
                        uint32_t t = x;
                        x = y;
                        y = t;
                    }
                    /* group = lo sku, "sku" = hi sku */
                    gsum_add(&pairs, (int32_t)x, y, nsku, 1, 0);
                }
        }
    }
    sort_r = r;
    qsort(sku, (size_t)nsku, sizeof *sku, kv_sku_cmp);
    int64_t sold = 0;
    for (int64_t s = 0; s < nsku; s++)
        sold += sku[s].sales > 0;
    int64_t k80 = 0, cum = 0;
    if (total > 0) /* cum < 80 % of total, exact below 2^53 cents and never wrapping above */
        for (k80 = 0; k80 < sold && (double)cum * 10 < (double)total * 8; k80++)
            cum = ck_add_sat(cum, sku[k80].sales, NULL);
    int64_t n2 = (sold * 2 + 99) / 100, n20 = (sold * 20 + 99) / 100, s2 = 0, s20 = 0;
    for (int64_t s = 0; s < n20; s++) {
        s20 = ck_add_sat(s20, sku[s].sales, NULL);
        if (s < n2) s2 = ck_add_sat(s2, sku[s].sales, NULL);
    }
    json_t *out = json_object();
    json_object_set_new(out, "query", rp_query_json(q));
    json_object_set_new(out, "net_sales_cents", json_integer(total));
    if (overflowed) json_object_set_new(out, "overflowed", json_true());
    json_object_set_new(out, "skus_sold", json_integer(sold));
    json_object_set_new(out, "skus_for_80pct", total > 0 ? json_integer(k80) : json_null());
    json_object_set_new(out, "skus_for_80pct_share", rp_ratio(k80, sold));
    json_object_set_new(out, "top_2pct_skus", json_integer(n2));
    json_object_set_new(out, "top_2pct_share", total > 0 ? rp_ratio(s2, total) : json_null());
    json_object_set_new(out, "top_20pct_skus", json_integer(n20));
    json_object_set_new(out, "top_20pct_share", total > 0 ? rp_ratio(s20, total) : json_null());
    json_t *best = json_array();
    for (int64_t s = 0; s < sold && s < top; s++)
        json_array_append_new(best, sku_row(r, &sku[s], total));
    json_object_set_new(out, "best_sellers", best);
    if (!groups) goto done;
    json_t *st = gsum_tops(r, &by_store, (int)r->n_stores, top, "store_id", store_key);
    sort_groups(st, "store_id");
    json_object_set_new(out, "best_sellers_by_store", st);
    json_t *ct = gsum_tops(r, &by_cat, (int)r->cats.n + 1, top, "category", cat_key);
    sort_groups(ct, "category");
    json_object_set_new(out, "best_sellers_by_category", ct);
    /* pairs: count of baskets holding both */
    for (size_t i = 0; i < pairs.n; i++)
        pairs.v[i].key = ((int64_t)pairs.group[i] << 32) | pairs.v[i].key;
    if (pairs.n) qsort(pairs.v, pairs.n, sizeof *pairs.v, kv_pair_cmp); /* v is NULL when empty */
    json_t *pj = json_array();
    for (size_t i = 0; i < pairs.n && (int)i < top; i++)
        json_array_append_new(pj, json_pack("{s:s, s:s, s:I, s:o}", "sku_a",
                                            r->skus.s[pairs.v[i].key >> 32], "sku_b",
                                            r->skus.s[(uint32_t)pairs.v[i].key], "orders",
                                            (json_int_t)pairs.v[i].sales, "support",
                                            rp_ratio(pairs.v[i].sales, baskets)));
    json_object_set_new(out, "baskets", json_integer(baskets));
    json_object_set_new(out, "bought_together", pj);
done:;
    gsum *gs[] = {&by_store, &by_cat, &pairs};
    for (int i = 0; i < 3; i++) {
        rp_map_free(&gs[i]->ix);
        free(gs[i]->v);
        free(gs[i]->group);
    }
    free(sku);
    rp_filter_free(&f);
    pthread_rwlock_unlock(&r->lock);
    return out;
}

/* ================= live stream ================= */

static int lv_cmp(const void *x, const void *y)
{
    const int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

json_t *reports_live(reports_t *r, const reports_query *q, siyu_err *e)
{
    if (rp_check_query(q, e)) return NULL;
    pthread_rwlock_rdlock(&r->lock);
    const size_t nm = r->n_members;
    /* viewers per day: (day, member) pairs sorted, duplicates dropped */
    int64_t *lv = malloc((r->n_lv + 1) * sizeof *lv);
    size_t nlv = 0;
    for (size_t i = 0; i < r->n_lv; i++)
        if (r->lv_day[i] >= q->from && r->lv_day[i] <= q->to && r->m_alive[r->lv_member[i]])
            lv[nlv++] = ((int64_t)(r->lv_day[i] - q->from) << 32) | (uint32_t)r->lv_member[i];
    qsort(lv, nlv, sizeof *lv, lv_cmp);
    int32_t *stamp = malloc((nm + 1) * sizeof *stamp);
    for (size_t m = 0; m < nm; m++)
        stamp[m] = INT32_MIN;
    reports_query sq = *q; /* live stores: the store and brand filters only */
    sq.channel = -1;
    sq.guide_id = 0;
    rp_filter f;
    rp_filter_init(&f, r, &sq);
    json_t *sessions = json_array();
    int64_t tot_live = 0, tot_72 = 0;
    size_t li = 0;
    int64_t *st_orders = calloc(r->n_stores + 1, sizeof *st_orders);
    int64_t *st_sales = calloc(r->n_stores + 1, sizeof *st_sales);
    for (int32_t d = q->from; d <= q->to; d++) {
        int64_t viewers = 0;
        while (li < nlv && (int32_t)(lv[li] >> 32) == d - q->from) {
            int32_t m = (int32_t)(uint32_t)lv[li];
            if (stamp[m] != d) {
                stamp[m] = d;
                viewers++;
            }
            li++;
        }
        const rp_vec *v = rp_day(r, d);
        int64_t live_orders = 0, live_sales = 0, vw_orders = 0, vw_sales = 0;
        for (uint32_t i = 0; i < v->n; i++) {
            const uint32_t o = v->v[i];
            int32_t s = r->o_store[o];
            if (s >= 0 && r->s_kind[s] == RP_KIND_LIVE && rp_f_order(&f, r, o)) {
                int64_t net = r->o_total[o] - r->o_refunded[o];
                live_sales += net;
                st_sales[s] += net;
                if (rp_valid(r, o)) {
                    live_orders++;
                    st_orders[s]++;
                }
            }
            int32_t m = r->o_member[o];
            if (m >= 0 && stamp[m] == d && rp_valid(r, o)) {
                vw_orders++;
                vw_sales += r->o_total[o] - r->o_refunded[o];
            }
        }
        bool live_day = false;
        json_t *stores = json_array();
        for (size_t s = 0; s < r->n_stores; s++) /* stores by row; sorted below */
            if (st_orders[s] || st_sales[s]) {
                live_day = true;
                json_array_append_new(stores, json_pack("{s:I, s:I, s:I}", "store_id",
                                                        (json_int_t)r->s_id[s], "orders",
                                                        (json_int_t)st_orders[s], "net_sales_cents",
                                                        (json_int_t)st_sales[s]));
                st_orders[s] = st_sales[s] = 0;
            }
        if (!live_day && !viewers) {
            json_decref(stores);
            continue;
        }
        sort_groups(stores, "store_id");
        /* the 72 hours after: the three following local days, any store or channel */
        int64_t o72 = 0, s72 = 0, by_ch[RP_NCH] = {0}, buyers = 0;
        int32_t *seen = NULL;
        size_t nseen = 0;
        for (int32_t dd = d + 1; dd <= d + 3 && viewers; dd++) {
            const rp_vec *w = rp_day(r, dd);
            for (uint32_t i = 0; i < w->n; i++) {
                const uint32_t o = w->v[i];
                int32_t m = r->o_member[o];
                if (m < 0 || stamp[m] != d || !rp_valid(r, o)) continue;
                int64_t net = r->o_total[o] - r->o_refunded[o];
                o72++;
                s72 += net;
                by_ch[r->o_ch[o]] += net;
                bool dup = false;
                for (size_t k = 0; k < nseen && !dup; k++)
                    dup = seen[k] == m;
                if (!dup) {
                    seen = realloc(seen, (nseen + 1) * sizeof *seen);
                    seen[nseen++] = m;
                    buyers++;
                }
            }
        }
        free(seen);
        json_t *ch = json_object();
        for (int c = 0; c < RP_NCH; c++)
            json_object_set_new(ch, dom_channels[c], json_integer(by_ch[c]));
        tot_live += live_sales;
        tot_72 += s72;
        json_t *o = json_object();
        json_object_set_new(o, "day", rp_date(d));
        json_object_set_new(o, "live_stores", stores);
        json_object_set_new(o, "live_orders", json_integer(live_orders));
        json_object_set_new(o, "live_sales_cents", json_integer(live_sales));
        json_object_set_new(o, "viewers", json_integer(viewers));
        json_object_set_new(o, "viewer_orders_during", json_integer(vw_orders));
        json_object_set_new(o, "viewer_sales_during_cents", json_integer(vw_sales));
        json_object_set_new(o, "viewer_buyers_72h", json_integer(buyers));
        json_object_set_new(o, "viewer_orders_72h", json_integer(o72));
        json_object_set_new(o, "viewer_sales_72h_cents", json_integer(s72));
        json_object_set_new(o, "viewer_sales_72h_by_channel", ch);
        json_object_set_new(o, "viewer_conversion_72h", rp_ratio(buyers, viewers));
        json_array_append_new(sessions, o);
    }
    rp_filter_free(&f);
    free(st_orders);
    free(st_sales);
    free(stamp);
    free(lv);
    pthread_rwlock_unlock(&r->lock);
    return json_pack("{s:o, s:o, s:I, s:I}", "query", rp_query_json(q), "sessions", sessions,
                     "live_sales_cents", (json_int_t)tot_live, "viewer_sales_72h_cents",
                     (json_int_t)tot_72);
}

/* ================= distributions ================= */

typedef struct dclass {
    const char *label;
    int64_t members, buyers, orders, net;
} dclass;

/* Per-member period figures under the query's order filters. */
static void member_sales(const reports_t *r, const reports_query *q, const rp_filter *f,
                         int64_t *net, int32_t *orders)
{
    for (int32_t d = q->from; d <= q->to; d++) {
        const rp_vec *v = rp_day(r, d);
        for (uint32_t i = 0; i < v->n; i++) {
            const uint32_t o = v->v[i];
            int32_t m = r->o_member[o];
            if (m < 0 || !rp_f_order(f, r, o)) continue;
            net[m] += r->o_total[o] - r->o_refunded[o];
            orders[m] += rp_valid(r, o);
        }
    }
}

static void dclass_add(dclass *c, int64_t net, int32_t orders)
{
    c->members++;
    c->buyers += orders > 0;
    c->orders += orders;
    c->net += net;
}

static json_t *dclasses_json(const char *name, dclass *c, size_t n, int64_t population,
                             bool partition)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            arr, json_pack("{s:s, s:I, s:o, s:I, s:I, s:I, s:o}", "class", c[i].label, "members",
                           (json_int_t)c[i].members, "share", rp_ratio(c[i].members, population),
                           "buyers", (json_int_t)c[i].buyers, "orders", (json_int_t)c[i].orders,
                           "net_sales_cents", (json_int_t)c[i].net, "sales_per_member_cents",
                           rp_cents_avg(c[i].net, c[i].members)));
    return json_pack("{s:s, s:b, s:o}", "name", name, "partition", partition, "classes", arr);
}

json_t *reports_distributions(reports_t *r, const reports_query *q, siyu_err *e)
{
    if (rp_check_query(q, e)) return NULL;
    pthread_rwlock_rdlock(&r->lock);
    const size_t nm = r->n_members;
    int64_t *net = calloc(nm + 1, sizeof *net);
    int32_t *orders = calloc(nm + 1, sizeof *orders);
    rp_filter f;
    rp_filter_init(&f, r, q);
    member_sales(r, q, &f, net, orders);
    dclass reach[RP_NREACH + 2], join[RP_NCH];
    memset(reach, 0, sizeof reach);
    memset(join, 0, sizeof join);
    for (int c = 0; c < RP_NREACH; c++)
        reach[c].label = rp_reach_channels[c];
    reach[RP_NREACH].label = "any";
    reach[RP_NREACH + 1].label = "none";
    for (int c = 0; c < RP_NCH; c++)
        join[c].label = dom_channels[c];
    int64_t pop = 0;
    for (size_t m = 0; m < nm; m++) {
        if (r->m_join_day[m] > q->to || !rp_f_member(&f, r, m)) continue;
        pop++;
        uint8_t rb = r->m_reach[m];
        for (int c = 0; c < RP_NREACH; c++)
            if ((rb >> c) & 1) dclass_add(&reach[c], net[m], orders[m]);
        dclass_add(&reach[rb ? RP_NREACH : RP_NREACH + 1], net[m], orders[m]);
        dclass_add(&join[r->m_join_ch[m]], net[m], orders[m]);
    }
    json_t *groups = json_array();
    json_array_append_new(groups, dclasses_json("reachability", reach, RP_NREACH + 2, pop, false));
    json_array_append_new(groups, dclasses_json("join_channel", join, RP_NCH, pop, true));
    rp_filter_free(&f);
    free(net);
    free(orders);
    pthread_rwlock_unlock(&r->lock);
    return json_pack("{s:o, s:I, s:o, s:[s,s,s]}", "query", rp_query_json(q), "members",
                     (json_int_t)pop, "groups", groups, "pending", "rfm", "lifecycle", "tier");
}

static int dclass_cmp(const void *x, const void *y)
{
    return strcmp(((const dclass *)x)->label, ((const dclass *)y)->label);
}

json_t *reports_distribution_by(reports_t *r, const reports_query *q, const char *name,
                                reports_classify_fn classify, void *ctx, siyu_err *e)
{
    if (rp_check_query(q, e)) return NULL;
    pthread_rwlock_rdlock(&r->lock);
    const size_t nm = r->n_members;
    int64_t *net = calloc(nm + 1, sizeof *net);
    int32_t *orders = calloc(nm + 1, sizeof *orders);
    rp_filter f;
    rp_filter_init(&f, r, q);
    member_sales(r, q, &f, net, orders);
    dclass *cl = NULL;
    size_t n = 0;
    int64_t pop = 0;
    for (size_t m = 0; m < nm; m++) {
        if (r->m_join_day[m] > q->to || !rp_f_member(&f, r, m)) continue;
        pop++;
        const char *label = classify(ctx, r->m_id[m]);
        if (!label) continue;
        size_t i = 0;
        while (i < n && strcmp(cl[i].label, label) != 0)
            i++;
        if (i == n) {
            cl = realloc(cl, (n + 1) * sizeof *cl);
            cl[n++] = (dclass){.label = label};
        }
        dclass_add(&cl[i], net[m], orders[m]);
    }
    qsort(cl, n, sizeof *cl, dclass_cmp);
    json_t *g = dclasses_json(name, cl, n, pop, true);
    free(cl);
    rp_filter_free(&f);
    free(net);
    free(orders);
    pthread_rwlock_unlock(&r->lock);
    return g;
}
