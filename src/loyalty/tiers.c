/* tiers.c — the tier ladder applied to members.
 *
 * A member qualifies for a tier when its metric (net spend of orders placed in the
 * window, refunds deducted; or points earned by orders in the window, reversals
 * deducted — never the balance) reaches the tier's minimum over the rolling window
 * ending at the moment asked. Upgrades happen as soon as an order qualifies. A
 * downgrade happens only at a review (the member's join anniversary, or 1 January,
 * as the ladder says): a member who no longer qualifies then keeps its tier through
 * the grace period and is re-assessed when it ends. A member without an account row
 * holds the first tier. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "loyalty/internal.h"

/* What a metric query saw besides its value, for a caller that wants it:
 * - last_order: the latest order time seen by a spend query (INT64_MAX until one runs),
 *   so an upgrade check knows without another query whether the member has orders
 *   after the one being placed;
 * - after_sum, after_from: the metric over everything after the window's start, and
 *   that start: a qualify bound the caller may keep (see loy_marks). */
typedef struct metric_seen {
    int64_t last_order, after_sum, after_from;
} metric_seen;

static int64_t metric_query(store_conn *c, loy_metric metric, int64_t member, int64_t from,
                            int64_t upto, metric_seen *seen)
{
    store_stmt *s =
        store_q(c, metric == LOY_METRIC_SPEND ? Q_MEMBER_SPEND_WINDOW : Q_MEMBER_EARNED_WINDOW);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, from);
    store_bind_int(s, 3, upto);
    int64_t v = 0;
    if (seen) {
        seen->after_sum = 0;
        seen->after_from = from;
    }
    if (store_step(s) == STORE_ROW) {
        v = store_col_int(s, 0);
        if (seen) {
            seen->after_sum = store_col_int(s, 2);
            if (metric == LOY_METRIC_SPEND)
                seen->last_order = store_col_null(s, 1) ? 0 : store_col_int(s, 1);
        }
    }
    store_reset(s);
    return v;
}

static int64_t metric_value(store_conn *c, const loy_tier *t, int64_t member, int64_t at,
                            metric_seen *seen)
{
    return metric_query(c, t->metric, member, loy_add_months(at, -t->window_months), at, seen);
}

int64_t loy_metric_after(store_conn *c, const loy_config *cfg, int64_t member, int64_t from)
{
    metric_seen seen = {.last_order = INT64_MAX};
    metric_query(c, cfg->qualify_metric, member, from, INT64_MAX, &seen);
    return seen.after_sum;
}

static int qualifying(store_conn *c, const loy_config *cfg, int64_t member, int64_t t,
                      metric_seen *seen)
{
    /* ladders usually share one metric and window: ask the store once per pair */
    int64_t seen_value[LOY_MAX_TIERS];
    int seen_from[LOY_MAX_TIERS], n_seen = 0;
    for (int i = cfg->n_tiers - 1; i > 0; i--) {
        const loy_tier *x = &cfg->tiers[i];
        int k = 0;
        while (k < n_seen && !(cfg->tiers[seen_from[k]].metric == x->metric &&
                               cfg->tiers[seen_from[k]].window_months == x->window_months))
            k++;
        if (k == n_seen) {
            seen_from[n_seen] = i;
            seen_value[n_seen++] = metric_value(c, x, member, t, seen);
        }
        if (seen_value[k] >= x->min) return i;
    }
    return 0;
}

int loy_qualifying(store_conn *c, const loy_config *cfg, int64_t member, int64_t t)
{
    return qualifying(c, cfg, member, t, NULL);
}

void loy_account_read(store_conn *c, const loy_config *cfg, int64_t member, loy_account *a)
{
    memset(a, 0, sizeof *a);
    store_stmt *s = store_q(c, Q_LACCOUNT_GET);
    store_bind_int(s, 1, member);
    if (store_step(s) == STORE_ROW) {
        a->exists = a->marks.exists = true;
        if (!store_col_null(s, 1)) {
            a->tier = loy_tier_index(cfg, store_col_text(s, 1));
            if (a->tier < 0) a->tier = 0;
        }
        a->review_at = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
        a->grace_until = store_col_null(s, 4) ? 0 : store_col_int(s, 4);
        a->referrer_id = store_col_null(s, 5) ? 0 : store_col_int(s, 5);
        a->referral_paid = !store_col_null(s, 7);
        a->marks.earn_known = !store_col_null(s, 8);
        a->marks.earn_day = (int32_t)store_col_int(s, 8);
        a->marks.earn_day_points = store_col_int(s, 9);
        if (!store_col_null(s, 10)) {
            a->marks.qualify_key = store_col_int(s, 10);
            a->marks.qualify_from = store_col_int(s, 11);
            a->marks.qualify_bound = store_col_int(s, 12);
        }
        a->marks.next_expiry = store_col_null(s, 13) ? 0 : store_col_int(s, 13);
    } else {
        a->marks.earn_known = true; /* no account, no earn: every earn writes one */
    }
    store_reset(s);
}

int loy_current_tier(store_conn *c, const loy_config *cfg, int64_t member)
{
    store_stmt *s = store_q(c, Q_LACCOUNT_GET);
    store_bind_int(s, 1, member);
    int i = 0;
    if (store_step(s) == STORE_ROW && !store_col_null(s, 1)) {
        i = loy_tier_index(cfg, store_col_text(s, 1));
        if (i < 0) i = 0;
    }
    store_reset(s);
    return i;
}

/* The next review after t: the member's next join anniversary, or the next 1 January. */
static int64_t next_review(store_conn *c, const loy_config *cfg, int64_t member, int64_t t)
{
    int y, m, dd;
    date_civil(time_local_day(t), &y, &m, &dd);
    if (cfg->review == LOY_REVIEW_NONE) return 0;
    if (cfg->review == LOY_REVIEW_CALENDAR_YEAR) return loy_day_start(date_from_civil(y + 1, 1, 1));
    int64_t joined = t;
    store_stmt *s = store_q(c, Q_MEMBER_GET);
    store_bind_int(s, 1, member);
    if (store_step(s) == STORE_ROW) joined = store_col_int_by(s, "joined_at");
    store_reset(s);
    int64_t r = joined;
    int years = 0;
    while (r <= t && years < 200)
        r = loy_add_months(joined, 12 * ++years);
    return r;
}

int loy_tier_set(dom *d, const loy_config *cfg, int64_t member, int to, int64_t t,
                 const char *reason, int64_t order_id, siyu_err *e)
{
    if (loy_account_ensure(d, member, e)) return -1;
    int from = loy_current_tier(d->conn, cfg, member);
    /* the base tier holds no review: there is nothing to fall from */
    int64_t review = to > 0 ? next_review(d->conn, cfg, member, t) : 0;
    store_stmt *s = store_q(d->conn, Q_LACCOUNT_SET_TIER);
    store_bind_text(s, 1, cfg->tiers[to].code);
    store_bind_int(s, 2, t);
    if (review) store_bind_int(s, 3, review);
    store_bind_int(s, 5, d->now);
    store_bind_int(s, 6, member);
    if (store_exec(s, e)) return -1;
    s = store_q(d->conn, Q_TIER_HISTORY_INSERT);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, t);
    store_bind_text(s, 3, cfg->tiers[from].code);
    store_bind_text(s, 4, cfg->tiers[to].code);
    store_bind_text(s, 5, reason);
    if (order_id) store_bind_int(s, 6, order_id);
    if (store_exec(s, e)) return -1;
    dom_note(d, DOM_CHANGE_LOYALTY, member, 0);
    return 0;
}

static bool has_orders_after(dom *d, int64_t member, int64_t t)
{
    store_stmt *s = store_q(d->conn, Q_MEMBER_LAST_ORDER_AT);
    store_bind_int(s, 1, member);
    bool later = store_step(s) == STORE_ROW && !store_col_null(s, 0) && store_col_int(s, 0) > t;
    store_reset(s);
    return later;
}

int loy_tier_upgrade(dom *d, const loy_config *cfg, int64_t member, int cur, int64_t t,
                     int64_t order_id, loy_marks *marks, siyu_err *e)
{
    if (cfg->n_tiers < 2) return 0;
    if (cur < 0) cur = loy_current_tier(d->conn, cfg, member);
    if (cur == cfg->n_tiers - 1)
        return 0; /* at the top: nothing to move up to (grace ends at the review) */
    metric_seen seen = {.last_order = INT64_MAX}; /* unknown unless a spend query runs */
    int q = qualifying(d->conn, cfg, member, t, &seen);
    if (marks && cfg->qualify_key) {
        /* the query just summed everything after its window's start: a bound */
        marks->qualify_key = cfg->qualify_key;
        marks->qualify_from = seen.after_from;
        marks->qualify_bound = seen.after_sum;
    }
    if (q > cur) return loy_tier_set(d, cfg, member, q, t, "upgrade", order_id, e);
    /* An order older than the member's latest (a back-filled import) may complete a
     * window that ends later: ask again as of now. */
    if (t < d->now - 86400 && seen.last_order > t &&
        (seen.last_order != INT64_MAX || has_orders_after(d, member, t))) {
        int qn = loy_qualifying(d->conn, cfg, member, d->now);
        if (qn > cur) return loy_tier_set(d, cfg, member, qn, d->now, "upgrade", order_id, e);
    }
    if (q == cur && cur > 0) {
        /* requalified during a grace period: the grace ends here */
        store_stmt *s = store_q(d->conn, Q_LACCOUNT_GET);
        store_bind_int(s, 1, member);
        bool in_grace = store_step(s) == STORE_ROW && !store_col_null(s, 4);
        int64_t since = in_grace ? store_col_int(s, 2) : 0, review = store_col_int(s, 3);
        store_reset(s);
        if (in_grace) {
            s = store_q(d->conn, Q_LACCOUNT_SET_TIER);
            store_bind_text(s, 1, cfg->tiers[cur].code);
            store_bind_int(s, 2, since);
            store_bind_int(s, 3, review);
            store_bind_int(s, 5, d->now);
            store_bind_int(s, 6, member);
            if (store_exec(s, e)) return -1;
            dom_note(d, DOM_CHANGE_LOYALTY, member, 0); /* its grace ended */
            return 0;
        }
    }
    return 0;
}

int loy_tier_review(dom *d, const loy_config *cfg, int64_t member, int64_t t, siyu_err *e)
{
    if (cfg->n_tiers < 2) return 0;
    for (int guard = 0; guard < 400; guard++) {
        store_stmt *s = store_q(d->conn, Q_LACCOUNT_GET);
        store_bind_int(s, 1, member);
        if (store_step(s) != STORE_ROW || store_col_null(s, 1)) {
            store_reset(s);
            return 0;
        }
        int cur = loy_tier_index(cfg, store_col_text(s, 1));
        int64_t since = store_col_int(s, 2);
        int64_t review = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
        int64_t grace = store_col_null(s, 4) ? 0 : store_col_int(s, 4);
        store_reset(s);
        if (cur < 0) /* a code the ladder no longer has: re-assess now */
            return loy_tier_set(d, cfg, member, loy_qualifying(d->conn, cfg, member, t), t,
                                "review", 0, e);
        if (grace && grace <= t) {
            int q = loy_qualifying(d->conn, cfg, member, grace);
            if (q < cur) return loy_tier_set(d, cfg, member, q, grace, "downgrade", 0, e);
            grace = 0;
        } else if (review && review <= t) {
            int q = loy_qualifying(d->conn, cfg, member, review);
            int64_t next = next_review(d->conn, cfg, member, review);
            if (q < cur && cfg->grace_days == 0)
                return loy_tier_set(d, cfg, member, q, review, "downgrade", 0, e);
            if (q < cur) grace = review + cfg->grace_days * 86400;
            review = next;
        } else {
            return 0;
        }
        s = store_q(d->conn, Q_LACCOUNT_SET_TIER);
        store_bind_text(s, 1, cfg->tiers[cur].code);
        store_bind_int(s, 2, since);
        if (review) store_bind_int(s, 3, review);
        if (grace) store_bind_int(s, 4, grace);
        store_bind_int(s, 5, d->now);
        store_bind_int(s, 6, member);
        if (store_exec(s, e)) return -1;
        dom_note(d, DOM_CHANGE_LOYALTY, member, 0); /* its review and grace moved */
        /* loop: several reviews may have come due while nobody touched the member */
    }
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int loy_tier_reevaluate_all(dom *d, const loy_config *cfg, siyu_err *e)
{
    /* everyone who holds a tier, and everyone with orders in the longest window */
    size_t n = 0, cap = 1024;
    int64_t *ids = malloc(cap * sizeof *ids);
    int longest = 0;
    for (int i = 1; i < cfg->n_tiers; i++)
        if (cfg->tiers[i].window_months > longest) longest = cfg->tiers[i].window_months;
    store_stmt *s = store_q(d->conn, Q_LACCOUNT_SCAN);
    while (store_step(s) == STORE_ROW) {
        if (n == cap) ids = realloc(ids, (cap *= 2) * sizeof *ids);
        ids[n++] = store_col_int(s, 0);
    }
    store_reset(s);
    if (longest) {
        s = store_q(d->conn, Q_SCAN_SPEND_WINDOW);
        store_bind_int(s, 1, loy_add_months(d->now, -longest));
        store_bind_int(s, 2, d->now);
        while (store_step(s) == STORE_ROW) {
            if (n == cap) ids = realloc(ids, (cap *= 2) * sizeof *ids);
            ids[n++] = store_col_int(s, 0);
        }
        store_reset(s);
    }
    qsort(ids, n, sizeof *ids, cmp_id);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i && ids[i] == ids[i - 1]) continue;
        int q = cfg->n_tiers ? loy_qualifying(d->conn, cfg, ids[i], d->now) : -1;
        store_stmt *a = store_q(d->conn, Q_LACCOUNT_GET);
        store_bind_int(a, 1, ids[i]);
        bool has = store_step(a) == STORE_ROW;
        char held[LOY_CODE_LEN] = "";
        if (has && !store_col_null(a, 1)) snprintf(held, sizeof held, "%s", store_col_text(a, 1));
        store_reset(a);
        if (q < 0) continue;
        int cur = held[0] ? loy_tier_index(cfg, held) : 0;
        if (cur != q) rc = loy_tier_set(d, cfg, ids[i], q, d->now, "ladder", 0, e);
    }
    free(ids);
    return rc;
}
