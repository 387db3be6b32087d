/* kpi.c — the KPI report (period, previous period, series) and the leaderboards.
 *
 * Additive figures are one pass over the day buckets of each period. Distinct figures
 * — active members, visit days, repeat buyers, churn, first-order conversion, and the
 * same per (member, group) for leaderboards — are one pass over the members, each
 * reading its own orders as a day-ordered run of records (mo.c), so no order needs a
 * random lookup of its member. One thread. Formulas: docs/metrics.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/checked.h"
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
    if (!den) return json_null();
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
    json_object_set_new(o, "channel",
                        q->channel >= 0 ? json_string(dom_channels[q->channel]) : json_null());
    json_object_set_new(o, "guide", q->guide_id ? json_integer(q->guide_id) : json_null());
    return o;
}

int rp_check_query(const reports_query *q, siyu_err *e)
{
    if (q->to < q->from) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "to", "to: before from");
    if (q->to - q->from > 3700)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "to", "to: a period is at most ten years");
    if (q->channel < -1 || q->channel >= RP_NCH)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "channel", "channel: unknown channel");
    return 0;
}

static int param_id(json_t *p, const char *key, int64_t *out, siyu_err *e)
{
    json_t *v = json_object_get(p, key);
    if (!v || json_is_null(v)) return 0;
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
    if (*out <= 0) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: must be positive", key);
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
    if (top > 1000) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "top", "top: at most 1000");
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
        while (gran_names[i] &&
               !(json_is_string(g) && strcmp(gran_names[i], json_string_value(g)) == 0))
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
        if (f->guide < 0) f->none = true;
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
    bool overflowed; /* a money sum passed 2^63 − 1 cents: clamped, and said so */
} acc;

static inline void acc_money(acc *a, const reports_t *r, size_t o)
{
    int64_t t = r->o_total[o], f = r->o_refunded[o];
    a->orders_all++;
    a->gross = ck_add_sat(a->gross, t, &a->overflowed);
    a->refunded = ck_add_sat(a->refunded, f, &a->overflowed);
    a->net = ck_add_sat(a->net, t - f, &a->overflowed);
    a->refunded_orders += f > 0;
    if (r->o_member[o] >= 0) a->member_net = ck_add_sat(a->member_net, t - f, &a->overflowed);
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
    int64_t year_net, member_days;
    if (!a->active)
        json_object_set_new(o, "annual_contribution_cents", json_null());
    else if (ck_mul(a->member_net, 365, &year_net) &&
             ck_mul(a->active, (int64_t)days, &member_days))
        json_object_set_new(o, "annual_contribution_cents", rp_cents_avg(year_net, member_days));
    else /* past 2^63 in integers: the same figure in floating point */
        json_object_set_new(o, "annual_contribution_cents",
                            json_integer((json_int_t)llround((double)a->member_net * 365.0 /
                                                             ((double)a->active * days))));
    if (a->overflowed) json_object_set_new(o, "overflowed", json_true());
}

/* ================= the KPI report ================= */

/* A report's three periods: P-2 (only for the previous period's churn), P-1 (the
 * previous period) and P (the period asked for), each `len` days from pf[k]. */
enum { P2 = 0, P1 = 1, P0 = 2 };

static int32_t bucket_start(int32_t d, reports_granularity g)
{
    if (g == REPORTS_DAY) return d;
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
    if (g == REPORTS_DAY) return start;
    if (g == REPORTS_WEEK) return start + 6;
    int y, m, dd;
    date_civil(start, &y, &m, &dd);
    return (m == 12 ? date_from_civil(y + 1, 1, 1) : date_from_civil(y, m + 1, 1)) - 1;
}

typedef struct period_extra {
    int64_t members, reach[RP_NREACH], reach_any;
    int64_t new_members, new_by_ch[RP_NCH], converted, churned;
} period_extra;

/* The additive figures of one day's orders (filters applied) into a. Kept to locals
 * and branch-free arithmetic: this loop runs once per order of the two periods. */
static void day_money(const reports_t *r, const rp_filter *f, int32_t d, acc *a)
{
    const rp_vec *v = rp_day(r, d);
    int64_t all = 0, orders = 0, member_orders = 0, fully = 0, refunded_orders = 0;
    int64_t gross = 0, refunded = 0, member_net = 0, items = 0;
    bool ov = false; /* checked sums, without a branch per order */
    const int64_t *tot = r->o_total, *ref = r->o_refunded;
    const int32_t *mem = r->o_member, *its = r->o_items;
    for (uint32_t i = 0; i < v->n; i++) {
        const uint32_t o = v->v[i];
        if (!rp_f_order(f, r, o)) continue;
        const int64_t t = tot[o], rf = ref[o];
        const int64_t is_m = mem[o] >= 0;
        const int64_t valid = !(rf > 0 && rf >= t);
        all++;
        ov |= __builtin_add_overflow(gross, t, &gross);
        ov |= __builtin_add_overflow(refunded, rf, &refunded);
        refunded_orders += rf > 0;
        ov |= __builtin_add_overflow(member_net, is_m ? t - rf : 0, &member_net);
        fully += !valid;
        orders += valid;
        member_orders += valid & is_m;
        items += valid ? its[o] : 0;
    }
    a->orders_all += all;
    a->orders += orders;
    a->member_orders += member_orders;
    a->fully_refunded += fully;
    a->refunded_orders += refunded_orders;
    a->overflowed |= ov;
    if (ov) { /* a wrapped day is not a figure: clamp it */
        gross = refunded = member_net = INT64_MAX;
    }
    a->gross = ck_add_sat(a->gross, gross, &a->overflowed);
    a->refunded = ck_add_sat(a->refunded, refunded, &a->overflowed);
    a->net = ck_add_sat(a->net, ov ? INT64_MAX : gross - refunded, &a->overflowed);
    a->member_net = ck_add_sat(a->member_net, member_net, &a->overflowed);
    a->items += items;
}

static void acc_add(acc *a, const acc *b)
{
    a->orders_all += b->orders_all;
    a->orders += b->orders;
    a->member_orders += b->member_orders;
    a->fully_refunded += b->fully_refunded;
    a->refunded_orders += b->refunded_orders;
    a->gross = ck_add_sat(a->gross, b->gross, &a->overflowed);
    a->refunded = ck_add_sat(a->refunded, b->refunded, &a->overflowed);
    a->net = ck_add_sat(a->net, b->net, &a->overflowed);
    a->member_net = ck_add_sat(a->member_net, b->member_net, &a->overflowed);
    a->overflowed |= b->overflowed;
    a->items += b->items;
    a->active += b->active;
    a->repeat += b->repeat;
    a->visit_days += b->visit_days;
}

/* The distinct-member figures that the chain-wide report and every leaderboard row
 * share: visit frequency and churn against the period before. */
static void visits_churn_json(json_t *o, const acc *a, int days, int64_t prev_active,
                              int64_t churned)
{
    json_object_set_new(o, "visit_days", json_integer(a->visit_days));
    json_object_set_new(
        o, "weekly_visit_frequency",
        a->active ? json_real((double)a->visit_days * 7.0 / ((double)a->active * (double)days))
                  : json_null());
    json_object_set_new(o, "previously_active_members", json_integer(prev_active));
    json_object_set_new(o, "churned_members", json_integer(churned));
    json_object_set_new(o, "churn_rate", rp_ratio(churned, prev_active));
}

json_t *reports_kpi(reports_t *r, const reports_query *q, siyu_err *e)
{
    if (rp_check_query(q, e)) return NULL;
    rp_mo_refresh(r);
    pthread_rwlock_rdlock(&r->lock);
    rp_filter f;
    rp_filter_init(&f, r, q);
    const int32_t len = q->to - q->from + 1;
    const int32_t pf[3] = {q->from - 2 * len, q->from - len, q->from};
    const size_t nm = r->n_members;

    /* series buckets over the current period, and each day's bucket */
    int nb = 0;
    for (int32_t d = q->from; d <= q->to;
         d = bucket_end(bucket_start(d, q->granularity), q->granularity) + 1)
        nb++;
    acc *series = calloc((size_t)nb + 1, sizeof *series);
    int32_t *b_start = malloc(((size_t)nb + 1) * sizeof *b_start);
    int64_t *b_new = calloc((size_t)nb + 1, sizeof *b_new);
    uint16_t *b_of = malloc((size_t)len * sizeof *b_of);
    {
        int b = 0;
        for (int32_t d = q->from; d <= q->to; b++) {
            b_start[b] = d;
            int32_t end = bucket_end(bucket_start(d, q->granularity), q->granularity);
            for (; d <= end && d <= q->to; d++)
                b_of[d - q->from] = (uint16_t)b;
        }
    }

    /* the additive figures: one pass over the days of P-1 and P */
    acc per[3];
    memset(per, 0, sizeof per);
    for (int32_t d = pf[P1]; d < pf[P1] + len; d++)
        day_money(r, &f, d, &per[P1]);
    for (int32_t d = q->from; d <= q->to; d++)
        day_money(r, &f, d, &series[b_of[d - q->from]]);
    for (int b = 0; b < nb; b++)
        acc_add(&per[P0], &series[b]);

    /* member by member: populations, then their orders (member-major records) for the
     * distinct figures — active, repeat, visit days, churn, first-order conversion */
    period_extra px[2]; /* [0] previous period, [1] current */
    memset(px, 0, sizeof px);
    const size_t ns = r->n_stores;
    int64_t *st_new = calloc(ns + 1, sizeof *st_new), *st_conv = calloc(ns + 1, sizeof *st_conv);
    int64_t active_p2 = 0;
    rp_mbuf buf = {0};
    for (size_t m = 0; m < nm; m++) {
        if (!r->m_alive[m]) continue;
        const int32_t jd = r->m_join_day[m];
        int newk = -1; /* joined in P-1 (0) or P (1), member filters applied */
        if (rp_f_member(&f, r, m)) {
            for (int k = 0; k < 2; k++) {
                if (jd > pf[k + 1] + len - 1) continue;
                period_extra *p = &px[k];
                p->members++;
                const uint8_t rb = r->m_reach[m];
                for (int c = 0; c < RP_NREACH; c++)
                    p->reach[c] += (rb >> c) & 1;
                p->reach_any += rb != 0;
                if (jd >= pf[k + 1]) {
                    p->new_members++;
                    p->new_by_ch[r->m_join_ch[m]]++;
                    newk = k;
                    if (k) {
                        st_new[r->m_store[m] < 0 ? ns : (size_t)r->m_store[m]]++;
                        b_new[b_of[jd - q->from]]++;
                    }
                }
            }
        }
        const rp_mrec *x;
        const size_t n = rp_mo_member(r, (int32_t)m, &buf, &x);
        if (!n) continue;
        int cnt[3] = {0, 0, 0}, vd[3] = {0, 0, 0}, lastb = -1, bcnt = 0;
        int32_t lastd = INT32_MIN;
        bool conv = newk < 0; /* settled: not new, or converted */
        /* records are in day order: stop once past the period and the 30 days */
        const int32_t stop = newk >= 0 && jd + 30 > q->to ? jd + 30 : q->to;
        for (size_t i = 0; i < n; i++) {
            const int32_t d = x[i].day;
            if (d > stop) break;
            if (!x[i].valid) continue;
            /* conversion: any store or channel, on the join day or the 30 after */
            if (!conv && d >= jd && d <= jd + 30) {
                conv = true;
                px[newk].converted++;
                if (newk) st_conv[r->m_store[m] < 0 ? ns : (size_t)r->m_store[m]]++;
            }
            if (d < pf[P2] || d > q->to || !rp_f_rec(&f, &x[i])) continue;
            const int k = d >= pf[P0] ? P0 : d >= pf[P1] ? P1 : P2;
            cnt[k]++;
            if (d != lastd) {
                vd[k]++;
                lastd = d;
            }
            if (k == P0) {
                const int b = b_of[d - q->from];
                if (b != lastb) { /* records are in day order: a bucket's orders are a run */
                    series[b].active++;
                    lastb = b;
                    bcnt = 0;
                }
                if (++bcnt == 2) series[b].repeat++; /* bought again within the bucket */
            }
        }
        for (int k = P1; k <= P0; k++) {
            per[k].active += cnt[k] > 0;
            per[k].repeat += cnt[k] > 1;
            per[k].visit_days += vd[k];
        }
        active_p2 += cnt[P2] > 0;
        px[0].churned += cnt[P2] && !cnt[P1];
        px[1].churned += cnt[P1] && !cnt[P0];
    }
    free(buf.v);

    json_t *out = json_object();
    json_object_set_new(out, "query", rp_query_json(q));
    json_object_set_new(out, "granularity", json_string(gran_names[q->granularity]));
    for (int k = P1; k <= P0; k++) {
        const acc *a = &per[k];
        const period_extra *p = &px[k - 1];
        json_t *o = json_object();
        json_object_set_new(o, "from", rp_date(pf[k]));
        json_object_set_new(o, "to", rp_date(pf[k] + len - 1));
        json_object_set_new(o, "days", json_integer(len));
        acc_json(o, a, len);
        visits_churn_json(o, a, len, k == P0 ? per[P1].active : active_p2, p->churned);
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
        json_object_set_new(o, "new_member_conversion_rate",
                            rp_ratio(p->converted, p->new_members));
        if (k == P0) {
            /* by store, sorted by store id; members without a store last */
            json_t *arr = json_array();
            int32_t *rows = malloc((ns + 1) * sizeof *rows);
            size_t n = 0;
            for (size_t s = 0; s < ns; s++)
                if (st_new[s]) rows[n++] = (int32_t)s;
            for (size_t i = 1; i < n; i++) /* insertion sort: few stores have new members */
                for (size_t j = i; j > 0 && r->s_id[rows[j - 1]] > r->s_id[rows[j]]; j--) {
                    int32_t t = rows[j];
                    rows[j] = rows[j - 1];
                    rows[j - 1] = t;
                }
            if (st_new[ns]) rows[n++] = (int32_t)ns;
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
        json_object_set_new(out, k == P0 ? "current" : "previous", o);
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
    free(b_of);
    rp_filter_free(&f);
    pthread_rwlock_unlock(&r->lock);
    return out;
}

/* ================= leaderboards ================= */

/* One group's row: the three periods' figures (P-2 only for the previous churn). */
typedef struct lrow {
    acc a[3];
    int64_t churned[3]; /* [P1]: churned in the previous period, [P0]: in this one */
    int64_t members[3], reach_any[3], new_members[3];
    int64_t key;       /* store id, channel index, guide id or label index: the tie-break */
    const char *label; /* classes: the label ("" for none), ties by label */
    int64_t prev_rank;
    bool show;
} lrow;

static int lrow_cmp_at(const lrow *a, const lrow *b, int k)
{
    if (a->a[k].net != b->a[k].net) return a->a[k].net > b->a[k].net ? -1 : 1;
    if (a->label && b->label) return strcmp(a->label, b->label);
    return a->key < b->key ? -1 : a->key > b->key;
}

static int lrow_cmp(const void *x, const void *y)
{
    return lrow_cmp_at(*(const lrow *const *)x, *(const lrow *const *)y, P0);
}

static int lrow_cmp_prev(const void *x, const void *y)
{
    return lrow_cmp_at(*(const lrow *const *)x, *(const lrow *const *)y, P1);
}

/* One member's (group, counts) while its records are read; members buy in few
 * groups, so a linear search of a short array beats any hash. */
typedef struct gslot {
    int32_t g, lastd;
    uint8_t cnt[3]; /* orders per period, saturated at 2: "active" and "bought again" */
    uint16_t vd[3]; /* distinct days per period */
} gslot;

/* Classes of members from a classifier, resolved once per query. */
typedef struct classes {
    const char **label; /* by class index */
    size_t n, cap;
    int32_t *of; /* per member row, -1: left out */
} classes;

static int32_t class_index(classes *c, const char *label)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->label[i] == label || strcmp(c->label[i], label) == 0) return (int32_t)i;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->label = realloc(c->label, c->cap * sizeof *c->label);
        if (!c->label) abort();
    }
    c->label[c->n] = label;
    return (int32_t)c->n++;
}

static void classes_resolve(classes *c, const reports_t *r, reports_classify_fn fn, void *ctx)
{
    c->of = malloc((r->n_members + 1) * sizeof *c->of);
    const char *last = NULL;
    int32_t last_ix = -1;
    for (size_t m = 0; m < r->n_members; m++) {
        const char *l = r->m_alive[m] ? fn(ctx, r->m_id[m]) : NULL;
        if (!l) {
            c->of[m] = -1;
            continue;
        }
        if (l != last) { /* most runs of members share a label's pointer */
            last_ix = class_index(c, l);
            last = l;
        }
        c->of[m] = last_ix;
    }
}

#define DIM_CLASS 3

static int32_t member_group(const reports_t *r, int dim, const classes *c, size_t m)
{
    return dim == REPORTS_BY_STORE     ? r->m_store[m]
           : dim == REPORTS_BY_CHANNEL ? r->m_join_ch[m]
           : dim == REPORTS_BY_GUIDE   ? r->m_guide[m]
                                       : c->of[m];
}

static void row_period_json(json_t *o, const lrow *w, int k, int len)
{
    acc_json(o, &w->a[k], len);
    visits_churn_json(o, &w->a[k], len, w->a[k - 1].active, w->churned[k]);
    json_object_set_new(o, "members", json_integer(w->members[k]));
    json_object_set_new(o, "reachable_members", json_integer(w->reach_any[k]));
    json_object_set_new(o, "online_rate", rp_ratio(w->reach_any[k], w->members[k]));
    json_object_set_new(o, "new_members", json_integer(w->new_members[k]));
}

static json_t *leaderboard(reports_t *r, const reports_query *q, int dim, const char *name,
                           reports_classify_fn classify, void *ctx, siyu_err *e)
{
    if (rp_check_query(q, e)) return NULL;
    rp_mo_refresh(r);
    pthread_rwlock_rdlock(&r->lock);
    rp_filter f;
    rp_filter_init(&f, r, q);
    const size_t nm = r->n_members;
    classes cl = {0};
    if (dim == DIM_CLASS) classes_resolve(&cl, r, classify, ctx);
    const int32_t G = (int32_t)(dim == REPORTS_BY_STORE     ? r->n_stores
                                : dim == REPORTS_BY_CHANNEL ? RP_NCH
                                : dim == REPORTS_BY_GUIDE   ? r->n_guides
                                                            : cl.n);
    const int32_t len = q->to - q->from + 1;
    const int32_t pf[3] = {q->from - 2 * len, q->from - len, q->from};
    lrow *rows = calloc((size_t)G + 1, sizeof *rows);

    /* the additive figures, day by day over P-1 and P */
    for (int k = P1; k <= P0; k++)
        for (int32_t d = pf[k]; d < pf[k] + len; d++) {
            const rp_vec *v = rp_day(r, d);
            for (uint32_t i = 0; i < v->n; i++) {
                const uint32_t o = v->v[i];
                if (!rp_f_order(&f, r, o)) continue;
                int32_t g;
                if (dim == DIM_CLASS)
                    g = r->o_member[o] >= 0 ? cl.of[r->o_member[o]] : -1;
                else
                    g = dim == REPORTS_BY_STORE     ? r->o_store[o]
                        : dim == REPORTS_BY_CHANNEL ? r->o_ch[o]
                                                    : r->o_guide[o];
                if (g < 0) continue; /* no guide credited, or a member left out of the classes */
                acc *a = &rows[g].a[k];
                acc_money(a, r, o);
                if (!rp_valid(r, o)) {
                    a->fully_refunded++;
                    continue;
                }
                a->orders++;
                a->items += r->o_items[o];
                a->member_orders += r->o_member[o] >= 0;
            }
        }

    /* member by member: populations per group, and the distinct figures per (member,
     * group) from the member's records */
    rp_mbuf buf = {0};
    gslot *gs = NULL;
    size_t gs_cap = 0;
    for (size_t m = 0; m < nm; m++) {
        if (!r->m_alive[m]) continue;
        if (rp_f_member(&f, r, m)) {
            const int32_t g = member_group(r, dim, &cl, m), jd = r->m_join_day[m];
            for (int k = P1; g >= 0 && k <= P0; k++)
                if (jd <= pf[k] + len - 1) {
                    rows[g].members[k]++;
                    rows[g].reach_any[k] += r->m_reach[m] != 0;
                    rows[g].new_members[k] += jd >= pf[k];
                }
        }
        const int32_t cls = dim == DIM_CLASS ? cl.of[m] : 0;
        if (cls < 0) continue;
        const rp_mrec *x;
        const size_t n = rp_mo_member(r, (int32_t)m, &buf, &x);
        if (n > gs_cap) {
            gs_cap = n < 64 ? 64 : n;
            gs = realloc(gs, gs_cap * sizeof *gs);
            if (!gs) abort();
        }
        size_t ng = 0;
        for (size_t i = 0; i < n; i++) {
            const int32_t d = x[i].day;
            if (d > q->to) break;
            if (d < pf[P2] || !x[i].valid || !rp_f_rec(&f, &x[i])) continue;
            const int32_t g = dim == REPORTS_BY_STORE     ? x[i].store
                              : dim == REPORTS_BY_CHANNEL ? x[i].ch
                              : dim == REPORTS_BY_GUIDE   ? x[i].guide
                                                          : cls;
            if (g < 0) continue;
            size_t j = 0;
            while (j < ng && gs[j].g != g)
                j++;
            if (j == ng) gs[ng++] = (gslot){.g = g, .lastd = INT32_MIN};
            const int k = d >= pf[P0] ? P0 : d >= pf[P1] ? P1 : P2;
            if (gs[j].cnt[k] < 2) gs[j].cnt[k]++;
            if (gs[j].lastd != d) { /* days ascend, so a new day is a new visit */
                gs[j].lastd = d;
                gs[j].vd[k]++;
            }
        }
        for (size_t j = 0; j < ng; j++) {
            lrow *w = &rows[gs[j].g];
            for (int k = P2; k <= P0; k++) {
                w->a[k].active += gs[j].cnt[k] > 0;
                w->a[k].repeat += gs[j].cnt[k] > 1;
                w->a[k].visit_days += gs[j].vd[k];
            }
            w->churned[P1] += gs[j].cnt[P2] && !gs[j].cnt[P1];
            w->churned[P0] += gs[j].cnt[P1] && !gs[j].cnt[P0];
        }
    }
    free(buf.v);
    free(gs);

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
        } else if (dim == REPORTS_BY_GUIDE) {
            w->key = r->g_id[g];
            w->show = (f.guide < 0 || f.guide == g) &&
                      (w->a[P0].orders_all || w->a[P1].orders_all || w->members[P0]);
        } else {
            w->key = g;
            w->label = cl.label[g];
            w->show = w->a[P0].orders_all || w->a[P1].orders_all || w->members[P0];
        }
        if (w->show && !f.none) order[n++] = w;
    }
    /* the previous period's rank, among the same rows */
    qsort(order, n, sizeof *order, lrow_cmp_prev);
    for (size_t i = 0; i < n; i++)
        order[i]->prev_rank = i > 0 && order[i]->a[P1].net == order[i - 1]->a[P1].net
                                  ? order[i - 1]->prev_rank
                                  : (int64_t)i + 1;
    qsort(order, n, sizeof *order, lrow_cmp);
    json_t *arr = json_array();
    int64_t rank = 0;
    for (size_t i = 0; i < n; i++) {
        lrow *w = order[i];
        if (i == 0 || w->a[P0].net != order[i - 1]->a[P0].net) rank = (int64_t)i + 1;
        json_t *o = json_object();
        json_object_set_new(o, "rank", json_integer(rank));
        const int32_t g = (int32_t)(w - rows);
        if (dim == REPORTS_BY_STORE) {
            json_object_set_new(o, "store_id", json_integer(w->key));
            json_object_set_new(o, "kind",
                                r->s_kind[g] == RP_KIND_UNKNOWN
                                    ? json_null()
                                    : json_string(dom_store_kinds[r->s_kind[g]]));
            json_object_set_new(o, "brand_id",
                                r->s_brand[g] ? json_integer(r->s_brand[g]) : json_null());
        } else if (dim == REPORTS_BY_CHANNEL) {
            json_object_set_new(o, "channel", json_string(dom_channels[w->key]));
        } else if (dim == REPORTS_BY_GUIDE) {
            json_object_set_new(o, "guide_id", json_integer(w->key));
        } else {
            json_object_set_new(o, name, *w->label ? json_string(w->label) : json_null());
        }
        row_period_json(o, w, P0, len);
        json_t *p = json_object();
        json_object_set_new(p, "rank", json_integer(w->prev_rank));
        row_period_json(p, w, P1, len);
        json_object_set_new(o, "previous", p);
        json_array_append_new(arr, o);
    }
    static const char *const dims[] = {"store", "channel", "guide"};
    json_t *prev = json_pack("{s:o, s:o, s:i}", "from", rp_date(pf[P1]), "to",
                             rp_date(pf[P1] + len - 1), "days", len);
    json_t *out = json_pack("{s:o, s:s, s:s, s:o, s:o}", "query", rp_query_json(q), "by",
                            dim == DIM_CLASS ? name : dims[dim], "ranked_by", "net_sales_cents",
                            "previous_period", prev, "items", arr);
    free(order);
    free(rows);
    free(cl.label);
    free(cl.of);
    rp_filter_free(&f);
    pthread_rwlock_unlock(&r->lock);
    return out;
}

json_t *reports_leaderboard(reports_t *r, const reports_query *q, reports_dim dim, siyu_err *e)
{
    if (dim != REPORTS_BY_STORE && dim != REPORTS_BY_CHANNEL && dim != REPORTS_BY_GUIDE) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "by", "by: store, channel or guide");
        return NULL;
    }
    return leaderboard(r, q, (int)dim, NULL, NULL, NULL, e);
}

json_t *reports_leaderboard_by(reports_t *r, const reports_query *q, const char *name,
                               reports_classify_fn classify, void *ctx, siyu_err *e)
{
    if (!name || !*name || !classify) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "by", "by: a class name and a classifier");
        return NULL;
    }
    return leaderboard(r, q, DIM_CLASS, name, classify, ctx, e);
}
