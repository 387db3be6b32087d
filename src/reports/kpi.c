/* kpi.c — the KPI report (period, previous period, series) and the leaderboards.
 *
 * One pass over the day buckets of each period, in time order. Per-member scratch
 * (flags, last visit day, last series bucket) turns every distinct count — active
 * members, visit days, repeat buyers, churn — into a compare and a store, so the
 * cost is one walk of the period's orders (split over two threads by member, with
 * the members' scratch prefetched ahead). Formulas: docs/metrics.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "reports/internal.h"

/* ================= shared helpers ================= */

json_t *rp_ratio(int64_t num, int64_t den)
{
    return den ? json_real((double)num / (double)den) : json_null();
}

json_t *rp_div(double num, double den)
{
    return den != 0 ? json_real(num / den) : json_null();
}

json_t *rp_cents_avg(int64_t num, int64_t den)
{
    if (!den)
        return json_null();
    /* round half away from zero, in integers (the SQL reference does the same) */
    int64_t q = (num >= 0 ? 2 * num + den : 2 * num - den) / (2 * den);
    return json_integer(q);
}

json_t *rp_date(int32_t day)
{
    char b[16];
    date_format(day, b, sizeof b);
    return json_string(b);
}

static const char *const gran_names[] = {"day", "week", "month", NULL};

json_t *rp_query_json(const reports_query *q)
{
    json_t *o = json_object();
    json_object_set_new(o, "from", rp_date(q->from));
    json_object_set_new(o, "to", rp_date(q->to));
    json_object_set_new(o, "brand", q->brand_id ? json_integer(q->brand_id) : json_null());
    json_object_set_new(o, "store", q->store_id ? json_integer(q->store_id) : json_null());
    json_object_set_new(o, "channel", q->channel >= 0 ? json_string(dom_channels[q->channel]) : json_null());
    json_object_set_new(o, "guide", q->guide_id ? json_integer(q->guide_id) : json_null());
    return o;
}

int rp_check_query(const reports_query *q, siyu_err *e)
{
    if (q->to < q->from)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "to", "to: before from");
    if (q->to - q->from > 3700)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "to", "to: a period is at most ten years");
    if (q->channel < -1 || q->channel >= RP_NCH)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "channel", "channel: unknown channel");
    return 0;
}

static int param_id(json_t *p, const char *key, int64_t *out, siyu_err *e)
{
    json_t *v = json_object_get(p, key);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
    } else if (json_is_string(v)) {
        char *end;
        *out = strtoll(json_string_value(v), &end, 10);
        if (!*json_string_value(v) || *end)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: not an integer", key);
    } else {
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: not an integer", key);
    }
    if (*out <= 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: must be positive", key);
    return 0;
}

static int param_date(json_t *p, const char *key, int32_t *out, siyu_err *e)
{
    json_t *v = json_object_get(p, key);
    if (!v || json_is_null(v))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: required (YYYY-MM-DD)", key);
    if (!json_is_string(v) || date_parse(json_string_value(v), out))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: expected YYYY-MM-DD", key);
    return 0;
}

int reports_query_parse(json_t *p, reports_query *q, siyu_err *e)
{
    memset(q, 0, sizeof *q);
    q->channel = -1;
    q->granularity = REPORTS_MONTH;
    int64_t top = 0;
    if (param_date(p, "from", &q->from, e) || param_date(p, "to", &q->to, e) ||
        param_id(p, "brand", &q->brand_id, e) || param_id(p, "store", &q->store_id, e) ||
        param_id(p, "guide", &q->guide_id, e) || param_id(p, "top", &top, e))
        return -1;
    if (top > 1000)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "top", "top: at most 1000");
    q->top_n = (int)top;
    json_t *ch = json_object_get(p, "channel");
    if (ch && !json_is_null(ch)) {
        q->channel = json_is_string(ch) ? rp_channel_index(json_string_value(ch)) : -1;
        if (q->channel < 0)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "channel", "channel: unknown channel");
    }
    json_t *g = json_object_get(p, "granularity");
    if (g && !json_is_null(g)) {
        int i = 0;
        while (gran_names[i] && !(json_is_string(g) && strcmp(gran_names[i], json_string_value(g)) == 0))
            i++;
        if (!gran_names[i])
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "granularity",
                                "granularity: one of day, week, month");
        q->granularity = (reports_granularity)i;
    }
    return rp_check_query(q, e);
}

/* ================= filters ================= */

void rp_filter_init(rp_filter *f, const reports_t *r, const reports_query *q)
{
    memset(f, 0, sizeof *f);
    f->guide = -1;
    f->ch = q->channel;
    if (q->store_id || q->brand_id) {
        f->store_ok = calloc(r->n_stores + 1, 1);
        for (size_t s = 0; s < r->n_stores; s++)
            f->store_ok[s] = (!q->store_id || r->s_id[s] == q->store_id) &&
                             (!q->brand_id || r->s_brand[s] == q->brand_id);
    }
    if (q->guide_id) {
        f->guide = rp_map_get(&r->guide_ix, q->guide_id);
        if (f->guide < 0)
            f->none = true;
    }
    f->all = !f->store_ok && !q->guide_id && q->channel < 0;
}

void rp_filter_free(rp_filter *f)
{
    free(f->store_ok);
}

/* ================= accumulators ================= */

typedef struct acc {
    int64_t orders_all, orders, member_orders, fully_refunded, refunded_orders;
    int64_t gross, refunded, net, member_net, items;
    int64_t active, repeat, visit_days;
} acc;

static inline void acc_money(acc *a, const reports_t *r, size_t o)
{
    int64_t t = r->o_total[o], f = r->o_refunded[o];
    a->orders_all++;
    a->gross += t;
    a->refunded += f;
    a->net += t - f;
    a->refunded_orders += f > 0;
    if (r->o_member[o] >= 0)
        a->member_net += t - f;
}

static void acc_json(json_t *o, const acc *a, int days)
{
    json_object_set_new(o, "orders", json_integer(a->orders));
    json_object_set_new(o, "member_orders", json_integer(a->member_orders));
    json_object_set_new(o, "non_member_orders", json_integer(a->orders - a->member_orders));
    json_object_set_new(o, "fully_refunded_orders", json_integer(a->fully_refunded));
    json_object_set_new(o, "refunded_orders", json_integer(a->refunded_orders));
    json_object_set_new(o, "gross_sales_cents", json_integer(a->gross));
    json_object_set_new(o, "refunded_cents", json_integer(a->refunded));
    json_object_set_new(o, "net_sales_cents", json_integer(a->net));
    json_object_set_new(o, "member_net_sales_cents", json_integer(a->member_net));
    json_object_set_new(o, "items", json_integer(a->items));
    json_object_set_new(o, "member_ratio_orders", rp_ratio(a->member_orders, a->orders));
    json_object_set_new(o, "member_ratio_sales", rp_ratio(a->member_net, a->net));
    json_object_set_new(o, "avg_ticket_cents", rp_cents_avg(a->net, a->orders));
    json_object_set_new(o, "attachment_rate", rp_ratio(a->items, a->orders));
    json_object_set_new(o, "refund_rate", rp_ratio(a->refunded, a->gross));
    json_object_set_new(o, "active_members", json_integer(a->active));
    json_object_set_new(o, "purchase_frequency", rp_ratio(a->member_orders, a->active));
    json_object_set_new(o, "repeat_buyers", json_integer(a->repeat));
    json_object_set_new(o, "repurchase_rate", rp_ratio(a->repeat, a->active));
    json_object_set_new(o, "annual_contribution_cents",
                        a->active ? rp_cents_avg(a->member_net * 365, a->active * (int64_t)days)
                                  : json_null());
    (void)days;
}

/* ================= the KPI report ================= */

/* How many orders ahead the scans prefetch a member's scratch: enough to cover a
 * memory latency at a few nanoseconds per order. */
#define PREFETCH 24

enum {
    F_A0 = 1 << 0, F_A1 = 1 << 1, F_A2 = 1 << 2, /* active in P-2, P-1, P */
    F_R1 = 1 << 3, F_R2 = 1 << 4,                /* bought again in P-1, P */
    F_N1 = 1 << 5, F_N2 = 1 << 6,                /* joined in P-1, P */
    F_CONV = 1 << 7,                             /* first order within 30 days */
};

static int32_t bucket_start(int32_t d, reports_granularity g)
{
    if (g == REPORTS_DAY)
        return d;
    if (g == REPORTS_WEEK) {
        int wd = (int)(((d + 3) % 7 + 7) % 7); /* 0 = Monday; day 0 was a Thursday */
        return d - wd;
    }
    int y, m, dd;
    date_civil(d, &y, &m, &dd);
    return date_from_civil(y, m, 1);
}

static int32_t bucket_end(int32_t start, reports_granularity g)
{
    if (g == REPORTS_DAY)
        return start;
    if (g == REPORTS_WEEK)
        return start + 6;
    int y, m, dd;
    date_civil(start, &y, &m, &dd);
    return (m == 12 ? date_from_civil(y + 1, 1, 1) : date_from_civil(y, m + 1, 1)) - 1;
}

typedef struct period_extra {
    int64_t members, reach[RP_NREACH], reach_any;
    int64_t new_members, new_by_ch[RP_NCH], converted, churned;
} period_extra;

/* Per-member scratch of a KPI scan. The scan is bound by these random accesses, so
 * it is kept small enough to stay in the last-level cache for a million members:
 * days and buckets are relative (+1, 0 = none), which 16 bits hold for any period
 * rp_check_query allows (3 × 3701 days). */
typedef struct mscratch {
    uint16_t last_day, last_b;
    uint8_t flags;
} mscratch;

#define KPI_THREADS 2

/* One thread's share of the KPI scan: the members in [m_lo, m_hi) and the
 * non-member orders of its row parity, so no two threads touch one member. */
typedef struct kscan {
    const reports_t *r;
    const rp_filter *f;
    mscratch *ms;
    int32_t pf[3], len, to, m_lo, m_hi;
    int nb, part;
    const int32_t *b_start;
    size_t ns;
    bool threaded;
    /* out */
    acc per[3];
    acc *series;
    int64_t conv[2];
    int64_t *st_conv;
} kscan;

static void acc_add(acc *a, const acc *b)
{
    a->orders_all += b->orders_all;
    a->orders += b->orders;
    a->member_orders += b->member_orders;
    a->fully_refunded += b->fully_refunded;
    a->refunded_orders += b->refunded_orders;
    a->gross += b->gross;
    a->refunded += b->refunded;
    a->net += b->net;
    a->member_net += b->member_net;
    a->items += b->items;
    a->active += b->active;
    a->repeat += b->repeat;
    a->visit_days += b->visit_days;
}

static void *kpi_scan(void *arg)
{
    kscan *ks = arg;
    const reports_t *r = ks->r;
    const rp_filter *f = ks->f;
    mscratch *ms = ks->ms;
    const int32_t *pf = ks->pf, len = ks->len, *b_start = ks->b_start;
    const int nb = ks->nb;
    const size_t ns = ks->ns;
/* first-order conversion: any valid order, any store or channel, within 30 days */
#define CONVERT(m, d)                                                                              \
    do {                                                                                           \
        mscratch *c_ = &ms[m];                                                                     \
        if ((c_->flags & (F_N1 | F_N2)) && !(c_->flags & F_CONV) && (d) >= r->m_join_day[m] &&     \
            (d) <= r->m_join_day[m] + 30) {                                                        \
            c_->flags |= F_CONV;                                                                   \
            int k_ = (c_->flags & F_N2) ? 1 : 0;                                                   \
            ks->conv[k_]++;                                                                    \
            if (k_)                                                                                \
                ks->st_conv[r->m_store[m] < 0 ? ns : (size_t)r->m_store[m]]++;                         \
        }                                                                                          \
    } while (0)

    for (int k = 0; k < 3; k++) {
        const uint8_t fa = (uint8_t)(1u << k), fr = k == 1 ? F_R1 : F_R2;
        int b = 0;
        for (int32_t d = pf[k]; d < pf[k] + len; d++) {
            if (k == 2)
                while (b + 1 < nb && d >= b_start[b + 1])
                    b++;
            const rp_vec *v = rp_day(r, d);
            acc *a = &ks->per[k], *s = &ks->series[b];
            for (uint32_t i = 0; i < v->n; i++) {
                const uint32_t o = v->v[i];
                /* the member's scratch is a random access: ask for it well ahead */
                if (i + PREFETCH < v->n) {
                    const int32_t pm = r->o_member[v->v[i + PREFETCH]];
                    if (pm >= ks->m_lo && pm < ks->m_hi)
                        __builtin_prefetch(&ms[pm], 1);
                }
                if (!rp_f_order(f, r, o))
                    continue;
                const int32_t m = r->o_member[o];
                /* members by range, non-member orders by row parity */
                if (m >= 0 ? (m < ks->m_lo || m >= ks->m_hi) : (int)(o % KPI_THREADS) != ks->part)
                    continue;
                const bool valid = rp_valid(r, o);
                if (k == 0) { /* P-2 is only needed for the previous period's churn */
                    if (valid && m >= 0)
                        ms[m].flags |= F_A0;
                    continue;
                }
                acc_money(a, r, o);
                if (k == 2)
                    acc_money(s, r, o);
                if (!valid) {
                    a->fully_refunded++;
                    if (k == 2)
                        s->fully_refunded++;
                    continue;
                }
                a->orders++;
                a->items += r->o_items[o];
                if (k == 2) {
                    s->orders++;
                    s->items += r->o_items[o];
                }
                if (m < 0)
                    continue;
                mscratch *x = &ms[m];
                if (f->all)
                    CONVERT(m, d);
                a->member_orders++;
                if (!(x->flags & fa)) {
                    x->flags |= fa;
                    a->active++;
                } else if (!(x->flags & fr)) {
                    x->flags |= fr;
                    a->repeat++;
                }
                const uint16_t rd = (uint16_t)(d - pf[0] + 1);
                if (x->last_day != rd) {
                    x->last_day = rd;
                    a->visit_days++;
                }
                if (k == 2) {
                    s->member_orders++;
                    if (x->last_b != (uint16_t)(b + 1)) {
                        x->last_b = (uint16_t)(b + 1);
                        s->active++;
                    }
                }
            }
        }
    }
    /* conversion over the orders the scan did not see: all of them when the query is
     * filtered (conversion ignores the filters), and the 30 days after the period */
    for (int32_t d = f->all ? ks->to + 1 : pf[1]; d <= ks->to + 30; d++) {
        const rp_vec *v = rp_day(r, d);
        for (uint32_t i = 0; i < v->n; i++) {
            const uint32_t o = v->v[i];
            const int32_t m = r->o_member[o];
            if (m >= ks->m_lo && m < ks->m_hi && rp_valid(r, o))
                CONVERT(m, d);
        }
    }
#undef CONVERT
    return NULL;
}

json_t *reports_kpi(reports_t *r, const reports_query *q, siyu_err *e)
{
    if (rp_check_query(q, e))
        return NULL;
    pthread_rwlock_rdlock(&r->lock);
    rp_filter f;
    rp_filter_init(&f, r, q);
    const int32_t len = q->to - q->from + 1;
    const int32_t pf[3] = {q->from - 2 * len, q->from - len, q->from};
    const size_t nm = r->n_members;
    mscratch *ms = malloc((nm + 1) * sizeof *ms);
    for (size_t m = 0; m < nm; m++)
        ms[m] = (mscratch){0, 0, 0};

    /* series buckets over the current period */
    int nb = 0;
    for (int32_t d = q->from; d <= q->to; d = bucket_end(bucket_start(d, q->granularity), q->granularity) + 1)
        nb++;
    acc *series = calloc((size_t)nb + 1, sizeof *series);
    int32_t *b_start = malloc(((size_t)nb + 1) * sizeof *b_start);
    int64_t *b_new = calloc((size_t)nb + 1, sizeof *b_new);
    {
        int b = 0;
        for (int32_t d = q->from; d <= q->to; b++) {
            b_start[b] = d;
            d = bucket_end(bucket_start(d, q->granularity), q->granularity) + 1;
        }
    }

    /* member populations first (online rate, new members), so the order scan can
     * also settle first-order conversion */
    period_extra px[2];
    memset(px, 0, sizeof px);
    size_t ns = r->n_stores;
    int64_t *st_new = calloc(ns + 1, sizeof *st_new), *st_conv = calloc(ns + 1, sizeof *st_conv);
    for (size_t m = 0; m < nm; m++) {
        if (!rp_f_member(&f, r, m))
            continue;
        int32_t jd = r->m_join_day[m];
        for (int k = 0; k < 2; k++) {
            int32_t end = pf[k + 1] + len - 1;
            if (jd > end)
                continue;
            period_extra *p = &px[k];
            p->members++;
            uint8_t rb = r->m_reach[m];
            for (int c = 0; c < RP_NREACH; c++)
                p->reach[c] += (rb >> c) & 1;
            p->reach_any += rb != 0;
            if (jd >= pf[k + 1]) {
                p->new_members++;
                p->new_by_ch[r->m_join_ch[m]]++;
                ms[m].flags |= k ? F_N2 : F_N1;
                if (k) {
                    st_new[r->m_store[m] < 0 ? ns : (size_t)r->m_store[m]]++;
                    int b = 0;
                    while (b + 1 < nb && jd >= b_start[b + 1])
                        b++;
                    b_new[b]++;
                }
            }
        }
    }

    /* the order scan, on two threads that own half of the members each */
    kscan ks[KPI_THREADS];
    pthread_t th[KPI_THREADS];
    for (int t = 0; t < KPI_THREADS; t++) {
        ks[t] = (kscan){.r = r, .f = &f, .ms = ms, .len = len, .nb = nb, .b_start = b_start,
                        .ns = ns, .to = q->to, .part = t,
                        .m_lo = (int32_t)(nm * (size_t)t / KPI_THREADS),
                        .m_hi = (int32_t)(nm * (size_t)(t + 1) / KPI_THREADS),
                        .series = calloc((size_t)nb + 1, sizeof(acc)),
                        .st_conv = calloc(ns + 1, sizeof(int64_t))};
        memcpy(ks[t].pf, pf, sizeof pf);
    }
    for (int t = 1; t < KPI_THREADS; t++)
        if (pthread_create(&th[t], NULL, kpi_scan, &ks[t]))
            kpi_scan(&ks[t]); /* no thread: do it here */
        else
            ks[t].threaded = true;
    kpi_scan(&ks[0]);
    for (int t = 1; t < KPI_THREADS; t++)
        if (ks[t].threaded)
            pthread_join(th[t], NULL);
    acc per[3];
    memset(per, 0, sizeof per);
    for (int t = 0; t < KPI_THREADS; t++) {
        for (int k = 0; k < 3; k++)
            acc_add(&per[k], &ks[t].per[k]);
        for (int b = 0; b < nb; b++)
            acc_add(&series[b], &ks[t].series[b]);
        px[0].converted += ks[t].conv[0];
        px[1].converted += ks[t].conv[1];
        for (size_t x = 0; x <= ns; x++)
            st_conv[x] += ks[t].st_conv[x];
        free(ks[t].series);
        free(ks[t].st_conv);
    }
    /* churn counts the members active before, whatever their profile */
    int64_t active_p2 = 0;
    for (size_t m = 0; m < nm; m++) {
        uint8_t fl = ms[m].flags;
        if (!r->m_alive[m])
            continue;
        active_p2 += (fl & F_A0) != 0;
        if ((fl & F_A0) && !(fl & F_A1))
            px[0].churned++;
        if ((fl & F_A1) && !(fl & F_A2))
            px[1].churned++;
    }

    json_t *out = json_object();
    json_object_set_new(out, "query", rp_query_json(q));
    json_object_set_new(out, "granularity", json_string(gran_names[q->granularity]));
    for (int k = 1; k < 3; k++) {
        const acc *a = &per[k];
        const period_extra *p = &px[k - 1];
        json_t *o = json_object();
        json_object_set_new(o, "from", rp_date(pf[k]));
        json_object_set_new(o, "to", rp_date(pf[k] + len - 1));
        json_object_set_new(o, "days", json_integer(len));
        acc_json(o, a, len);
        json_object_set_new(o, "visit_days", json_integer(a->visit_days));
        json_object_set_new(o, "weekly_visit_frequency",
                            a->active ? json_real((double)a->visit_days * 7.0 /
                                                  ((double)a->active * (double)len))
                                      : json_null());
        int64_t prev_active = k == 2 ? per[1].active : active_p2;
        json_object_set_new(o, "previously_active_members", json_integer(prev_active));
        json_object_set_new(o, "churned_members", json_integer(p->churned));
        json_object_set_new(o, "churn_rate", rp_ratio(p->churned, prev_active));
        json_object_set_new(o, "members", json_integer(p->members));
        json_t *reach = json_object(), *online = json_object();
        json_object_set_new(reach, "any", json_integer(p->reach_any));
        json_object_set_new(online, "any", rp_ratio(p->reach_any, p->members));
        for (int c = 0; c < RP_NREACH; c++) {
            json_object_set_new(reach, rp_reach_channels[c], json_integer(p->reach[c]));
            json_object_set_new(online, rp_reach_channels[c], rp_ratio(p->reach[c], p->members));
        }
        json_object_set_new(o, "reachable_members", reach);
        json_object_set_new(o, "online_rate", online);
        json_object_set_new(o, "new_members", json_integer(p->new_members));
        json_t *bych = json_object();
        for (int c = 0; c < RP_NCH; c++)
            json_object_set_new(bych, dom_channels[c], json_integer(p->new_by_ch[c]));
        json_object_set_new(o, "new_members_by_channel", bych);
        json_object_set_new(o, "new_members_converted_30d", json_integer(p->converted));
        json_object_set_new(o, "new_member_conversion_rate", rp_ratio(p->converted, p->new_members));
        if (k == 2) {
            /* by store, sorted by store id; members without a store last */
            json_t *arr = json_array();
            int32_t *rows = malloc((ns + 1) * sizeof *rows);
            size_t n = 0;
            for (size_t s = 0; s < ns; s++)
                if (st_new[s])
                    rows[n++] = (int32_t)s;
            for (size_t i = 1; i < n; i++) /* insertion sort: few stores have new members */
                for (size_t j = i; j > 0 && r->s_id[rows[j - 1]] > r->s_id[rows[j]]; j--) {
                    int32_t t = rows[j];
                    rows[j] = rows[j - 1];
                    rows[j - 1] = t;
                }
            if (st_new[ns])
                rows[n++] = (int32_t)ns;
            for (size_t i = 0; i < n; i++) {
                size_t s = (size_t)rows[i];
                json_array_append_new(
                    arr, json_pack("{s:o, s:I, s:I, s:o}", "store_id",
                                   s < ns ? json_integer(r->s_id[s]) : json_null(), "new_members",
                                   (json_int_t)st_new[s], "converted_30d", (json_int_t)st_conv[s],
                                   "conversion_rate", rp_ratio(st_conv[s], st_new[s])));
            }
            free(rows);
            json_object_set_new(o, "new_members_by_store", arr);
        }
        json_object_set_new(out, k == 2 ? "current" : "previous", o);
    }
    json_t *ser = json_array();
    for (int b = 0; b < nb; b++) {
        int32_t end = b + 1 < nb ? b_start[b + 1] - 1 : q->to;
        json_t *o = json_object();
        json_object_set_new(o, "from", rp_date(b_start[b]));
        json_object_set_new(o, "to", rp_date(end));
        acc_json(o, &series[b], end - b_start[b] + 1);
        json_object_set_new(o, "new_members", json_integer(b_new[b]));
        json_array_append_new(ser, o);
    }
    json_object_set_new(out, "series", ser);

    free(st_new);
    free(st_conv);
    free(series);
    free(b_start);
    free(b_new);
    free(ms);
    rp_filter_free(&f);
    pthread_rwlock_unlock(&r->lock);
    return out;
}

/* ================= leaderboards ================= */

/* Distinct (member, group) pairs without a hash in the common case: each member
 * keeps up to SLOTS groups it bought in during this query; the rare member with
 * more spills into a map. The count per pair says "bought again in that group". */
#define SLOTS 4

typedef struct pslot {
    int32_t grp[SLOTS];
    uint8_t cnt[SLOTS]; /* saturates at 2 */
    uint8_t used;
} pslot; /* one cache line fetch per order */

typedef struct pairs {
    pslot *m;     /* per member */
    rp_map spill; /* (m * (G+1) + g + 1) -> count */
    int64_t G;
} pairs;

/* Returns how many orders the pair had before this one (saturated at 2). */
static inline int pair_hit(pairs *p, int32_t m, int32_t g)
{
    pslot *x = &p->m[m];
    for (uint8_t i = 0; i < x->used; i++)
        if (x->grp[i] == g) {
            int prev = x->cnt[i];
            x->cnt[i] = (uint8_t)(prev < 2 ? prev + 1 : 2);
            return prev;
        }
    if (x->used < SLOTS) {
        x->grp[x->used] = g;
        x->cnt[x->used++] = 1;
        return 0;
    }
    int64_t key = (int64_t)m * (p->G + 1) + g + 1;
    int32_t c = rp_map_get(&p->spill, key);
    int prev = c < 0 ? 0 : c;
    rp_map_put(&p->spill, key, prev < 2 ? prev + 1 : 2);
    return prev;
}

typedef struct lrow {
    acc a;
    int64_t members, reach_any, new_members;
    int64_t key; /* store id, channel index or guide id: the tie-break */
    bool show;
} lrow;

static int lrow_cmp(const void *x, const void *y)
{
    const lrow *a = *(const lrow *const *)x, *b = *(const lrow *const *)y;
    if (a->a.net != b->a.net)
        return a->a.net > b->a.net ? -1 : 1;
    return a->key < b->key ? -1 : a->key > b->key;
}

json_t *reports_leaderboard(reports_t *r, const reports_query *q, reports_dim dim, siyu_err *e)
{
    if (rp_check_query(q, e))
        return NULL;
    if (dim != REPORTS_BY_STORE && dim != REPORTS_BY_CHANNEL && dim != REPORTS_BY_GUIDE) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "by", "by: store, channel or guide");
        return NULL;
    }
    pthread_rwlock_rdlock(&r->lock);
    rp_filter f;
    rp_filter_init(&f, r, q);
    const size_t nm = r->n_members;
    const int32_t G = (int32_t)(dim == REPORTS_BY_STORE ? r->n_stores
                                : dim == REPORTS_BY_CHANNEL ? RP_NCH : r->n_guides);
    const int32_t len = q->to - q->from + 1;
    lrow *rows = calloc((size_t)G + 1, sizeof *rows);
    pairs p = {.m = malloc((nm + 1) * sizeof(pslot)), .G = G};
    for (size_t m = 0; m < nm; m++)
        p.m[m].used = 0;

    for (int32_t d = q->from; d <= q->to; d++) {
        const rp_vec *v = rp_day(r, d);
        for (uint32_t i = 0; i < v->n; i++) {
            const uint32_t o = v->v[i];
            if (i + PREFETCH < v->n) {
                const int32_t pm = r->o_member[v->v[i + PREFETCH]];
                if (pm >= 0)
                    __builtin_prefetch(&p.m[pm], 1);
            }
            if (!rp_f_order(&f, r, o))
                continue;
            int32_t g = dim == REPORTS_BY_STORE ? r->o_store[o]
                        : dim == REPORTS_BY_CHANNEL ? r->o_ch[o] : r->o_guide[o];
            if (g < 0)
                continue; /* an order credited to no guide */
            acc *a = &rows[g].a;
            acc_money(a, r, o);
            if (!rp_valid(r, o)) {
                a->fully_refunded++;
                continue;
            }
            a->orders++;
            a->items += r->o_items[o];
            const int32_t m = r->o_member[o];
            if (m < 0)
                continue;
            a->member_orders++;
            int prev = pair_hit(&p, m, g);
            a->active += prev == 0;
            a->repeat += prev == 1;
        }
    }
    /* member-side figures: bound members, reachable, new in the period */
    for (size_t m = 0; m < nm; m++) {
        if (!rp_f_member(&f, r, m) || r->m_join_day[m] > q->to)
            continue;
        int32_t g = dim == REPORTS_BY_STORE ? r->m_store[m]
                    : dim == REPORTS_BY_CHANNEL ? r->m_join_ch[m] : r->m_guide[m];
        if (g < 0)
            continue;
        rows[g].members++;
        rows[g].reach_any += r->m_reach[m] != 0;
        rows[g].new_members += r->m_join_day[m] >= q->from;
    }
    lrow **order = malloc(((size_t)G + 1) * sizeof *order);
    size_t n = 0;
    for (int32_t g = 0; g < G; g++) {
        lrow *w = &rows[g];
        if (dim == REPORTS_BY_STORE) {
            w->key = r->s_id[g];
            w->show = !f.store_ok || f.store_ok[g];
        } else if (dim == REPORTS_BY_CHANNEL) {
            w->key = g;
            w->show = f.ch < 0 || f.ch == g;
        } else {
            w->key = r->g_id[g];
            w->show = (f.guide < 0 || f.guide == g) && (w->a.orders_all || w->members);
        }
        if (w->show && !f.none)
            order[n++] = w;
    }
    qsort(order, n, sizeof *order, lrow_cmp);
    json_t *arr = json_array();
    int64_t rank = 0;
    for (size_t i = 0; i < n; i++) {
        lrow *w = order[i];
        if (i == 0 || w->a.net != order[i - 1]->a.net)
            rank = (int64_t)i + 1;
        json_t *o = json_object();
        json_object_set_new(o, "rank", json_integer(rank));
        if (dim == REPORTS_BY_STORE) {
            int32_t g = (int32_t)(w - rows);
            json_object_set_new(o, "store_id", json_integer(w->key));
            json_object_set_new(o, "kind", r->s_kind[g] == RP_KIND_UNKNOWN
                                               ? json_null()
                                               : json_string(dom_store_kinds[r->s_kind[g]]));
            json_object_set_new(o, "brand_id", r->s_brand[g] ? json_integer(r->s_brand[g]) : json_null());
        } else if (dim == REPORTS_BY_CHANNEL) {
            json_object_set_new(o, "channel", json_string(dom_channels[w->key]));
        } else {
            json_object_set_new(o, "guide_id", json_integer(w->key));
        }
        acc_json(o, &w->a, len);
        json_object_set_new(o, "members", json_integer(w->members));
        json_object_set_new(o, "reachable_members", json_integer(w->reach_any));
        json_object_set_new(o, "online_rate", rp_ratio(w->reach_any, w->members));
        json_object_set_new(o, "new_members", json_integer(w->new_members));
        json_array_append_new(arr, o);
    }
    static const char *const dims[] = {"store", "channel", "guide"};
    json_t *out = json_pack("{s:o, s:s, s:s, s:o}", "query", rp_query_json(q), "by", dims[dim],
                            "ranked_by", "net_sales_cents", "items", arr);
    free(order);
    free(rows);
    free(p.m);
    rp_map_free(&p.spill);
    rp_filter_free(&f);
    pthread_rwlock_unlock(&r->lock);
    return out;
}
