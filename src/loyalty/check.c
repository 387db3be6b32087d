/* check.c — the loyalty invariants, verified from the store alone (`siyu check`).
 *
 * Each check is a query for violating rows, so a clean store costs a few scans and a
 * broken one names the member, coupon or template at fault. Tier consistency is
 * re-derived from the rules: a member may sit above what its orders qualify it for
 * now (downgrades wait for the review), never below. Orders are checked against their
 * own lines (Σ qty × unit price = total + discount, summed without wrapping) and their
 * refunds (refunded = Σ refunds ≤ total). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/checked.h"
#include "fission/fission.h"
#include "fission/games.h"
#include "community/community.h"
#include "loyalty/internal.h"

static void add(json_t *out, int *found, int max, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add(json_t *out, int *found, int max, const char *check, const char *fmt, ...)
{
    (*found)++;
    if ((int)json_array_size(out) >= max) return;
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_append_new(out, json_pack("{s:s, s:s}", "check", check, "message", msg));
}

/* The accounts' marks stand in for ledger and order queries on the order path, so a
 * wrong one would silently mis-cap points or skip an upgrade: re-derive them. */
static void check_marks(store_conn *c, const loy_config *cfg, json_t *v, int *found, int max)
{
    size_t n = 0, cap = 1024;
    struct row {
        int64_t id;
        loy_marks m;
        bool has_earn;
    } *rows = malloc(cap * sizeof *rows);
    store_stmt *s = store_q(c, Q_LACCOUNT_MARKS_SCAN);
    while (store_step(s) == STORE_ROW) {
        if (n == cap) rows = realloc(rows, (cap *= 2) * sizeof *rows);
        struct row *r = &rows[n++];
        memset(r, 0, sizeof *r);
        r->id = store_col_int(s, 0);
        r->has_earn = !store_col_null(s, 1);
        r->m.earn_day = (int32_t)store_col_int(s, 1);
        r->m.earn_day_points = store_col_int(s, 2);
        if (!store_col_null(s, 3)) {
            r->m.qualify_key = store_col_int(s, 3);
            r->m.qualify_from = store_col_int(s, 4);
            r->m.qualify_bound = store_col_int(s, 5);
        }
    }
    store_reset(s);
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        if (r->has_earn) {
            loy_marks truth = {0};
            loy_earn_marks_load(c, r->id, &truth);
            if (truth.earn_day != r->m.earn_day || truth.earn_day_points != r->m.earn_day_points)
                add(v, found, max, "marks",
                    "member %lld: the account says day %d earned %lld points, the ledger says "
                    "day %d earned %lld",
                    (long long)r->id, (int)r->m.earn_day, (long long)r->m.earn_day_points,
                    (int)truth.earn_day, (long long)truth.earn_day_points);
        }
        if (r->m.qualify_key && r->m.qualify_key == cfg->qualify_key) {
            int64_t actual = loy_metric_after(c, cfg, r->id, r->m.qualify_from);
            if (actual > r->m.qualify_bound)
                add(v, found, max, "marks",
                    "member %lld: the account bounds its tier metric at %lld, but it sums to %lld",
                    (long long)r->id, (long long)r->m.qualify_bound, (long long)actual);
        }
    }
    free(rows);
    s = store_q(c, Q_CHECK_NEXT_EXPIRY);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, found, max, "marks",
            "member %lld: the account's next expiry is %s but a lot with points left expires "
            "at %lld",
            (long long)store_col_int(s, 0), store_col_null(s, 1) ? "none" : store_col_text(s, 1),
            (long long)store_col_int(s, 2));
    store_reset(s);
}

/* One order's lines summed so far; the rule is Σ qty × unit = total + discount. */
typedef struct order_sum {
    int64_t id, total, discount, refunded, sum;
    bool lines, wrapped;
} order_sum;

static void order_sum_done(const order_sum *o, json_t *v, int *found, int max)
{
    if (!o->id) return;
    int64_t charged = 0;
    bool fits = ck_add(o->total, o->discount, &charged);
    if (o->wrapped)
        add(v, found, max, "order_total",
            "order %lld: its lines sum past the largest amount (total %lld, discount %lld)",
            (long long)o->id, (long long)o->total, (long long)o->discount);
    else if (!o->lines)
        add(v, found, max, "order_total", "order %lld has no lines", (long long)o->id);
    else if (!fits || charged != o->sum || o->total < 0 || o->discount < 0)
        add(v, found, max, "order_total",
            "order %lld: total %lld plus discount %lld does not equal its lines' %lld",
            (long long)o->id, (long long)o->total, (long long)o->discount, (long long)o->sum);
    if (o->refunded < 0 || o->refunded > o->total)
        add(v, found, max, "refunded", "order %lld: refunded %lld of a total of %lld",
            (long long)o->id, (long long)o->refunded, (long long)o->total);
}

/* Every order against its lines, and its refunded amount against its refunds. */
static void check_orders(store_conn *c, json_t *v, int *found, int max)
{
    order_sum o = {0};
    store_stmt *s = store_q(c, Q_CHECK_ORDER_LINES);
    while (store_step(s) == STORE_ROW) {
        int64_t id = store_col_int(s, 0);
        if (id != o.id) {
            order_sum_done(&o, v, found, max);
            o = (order_sum){.id = id,
                            .total = store_col_int(s, 1),
                            .discount = store_col_int(s, 2),
                            .refunded = store_col_int(s, 3)};
        }
        if (store_col_null(s, 4)) continue;
        o.lines = true;
        if (!o.wrapped && !ck_add_mul(&o.sum, store_col_int(s, 4), store_col_int(s, 5)))
            o.wrapped = true;
    }
    store_reset(s);
    order_sum_done(&o, v, found, max);

    int64_t id = 0, refunded = 0, sum = 0;
    bool wrapped = false;
    s = store_q(c, Q_CHECK_ORDER_REFUNDS);
    for (bool more = true; more;) {
        more = store_step(s) == STORE_ROW;
        int64_t next = more ? store_col_int(s, 0) : 0;
        if (id && next != id && (wrapped || sum != refunded))
            add(v, found, max, "refunded",
                "order %lld: refunded %lld but its refunds sum to %s%lld", (long long)id,
                (long long)refunded, wrapped ? "more than " : "", (long long)sum);
        if (!more) break;
        if (next != id) {
            id = next;
            refunded = store_col_int(s, 1);
            sum = 0;
            wrapped = false;
        }
        if (!store_col_null(s, 2) && !wrapped && !ck_add(sum, store_col_int(s, 2), &sum))
            wrapped = true;
    }
    store_reset(s);
}

int loyalty_check(store_conn *c, int64_t now, int max, json_t **out, siyu_err *e)
{
    if (!*out) *out = json_array();
    json_t *v = *out;
    int found = 0;
    store_stmt *s = store_q(c, Q_CHECK_BALANCES);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW) {
        if (store_col_null(s, 1))
            add(v, &found, max, "balance",
                "member %lld has ledger entries summing to %lld but no account",
                (long long)store_col_int(s, 0), (long long)store_col_int(s, 2));
        else
            add(v, &found, max, "balance",
                "member %lld: account says %lld points, the ledger sums to %lld, its lots hold "
                "%lld",
                (long long)store_col_int(s, 0), (long long)store_col_int(s, 1),
                (long long)store_col_int(s, 2), (long long)store_col_int(s, 3));
    }
    store_reset(s);
    s = store_q(c, Q_CHECK_COUPON_STATES);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "coupon",
            "coupon %s is %s but was redeemed %lld times and restored %lld times",
            store_col_text(s, 0), store_col_text(s, 1), (long long)store_col_int(s, 2),
            (long long)store_col_int(s, 3));
    store_reset(s);
    s = store_q(c, Q_CHECK_COUPON_ORDERS);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "coupon", "coupon %s is used by %lld orders that stand",
            store_col_text(s, 0), (long long)store_col_int(s, 1));
    store_reset(s);
    s = store_q(c, Q_CHECK_STOCK);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "stock", "template %lld: stock %s, issued %lld, coupons %lld",
            (long long)store_col_int(s, 0),
            store_col_null(s, 1) ? "unlimited" : store_col_text(s, 1),
            (long long)store_col_int(s, 2), (long long)store_col_int(s, 3));
    store_reset(s);
    s = store_q(c, Q_CHECK_COUPON_LIMITS);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "coupon_limit",
            "member %lld received %lld coupons of template %lld in one %s (limit %lld)",
            (long long)store_col_int(s, 0), (long long)store_col_int(s, 2),
            (long long)store_col_int(s, 1), store_col_text(s, 4), (long long)store_col_int(s, 3));
    store_reset(s);
    s = store_q(c, Q_CHECK_ORDER_POINTS);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "points_used",
            "order %lld used %lld points but the ledger holds no matching redemption",
            (long long)store_col_int(s, 0), (long long)store_col_int(s, 1));
    store_reset(s);

    check_orders(c, v, &found, max);
    /* what a foreign key or a unique key held before orders and events were partitioned by
     * month on PostgreSQL (their keys are rows of order_keys / event_keys) */
    s = store_q(c, Q_CHECK_ORDER_KEYS);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "order_keys", "%s: %lld", store_col_text_by(s, "what"),
            (long long)store_col_int_by(s, "id"));
    store_reset(s);

    /* tiers: the held tier exists, matches its history, and is not below the rules */
    loy_config *cfg = loy_config_get(c, e);
    if (!cfg) return -1;
    check_marks(c, cfg, v, &found, max);
    if (cfg->n_tiers) {
        size_t n = 0, cap = 1024;
        struct acct {
            int64_t id;
            char tier[LOY_CODE_LEN];
        } *a = malloc(cap * sizeof *a);
        s = store_q(c, Q_LACCOUNT_SCAN);
        while (store_step(s) == STORE_ROW) {
            if (n == cap) a = realloc(a, (cap *= 2) * sizeof *a);
            a[n].id = store_col_int(s, 0);
            snprintf(a[n].tier, sizeof a[n].tier, "%s",
                     store_col_null(s, 2) ? "" : store_col_text(s, 2));
            n++;
        }
        store_reset(s);
        for (size_t i = 0; i < n; i++) {
            int held = a[i].tier[0] ? loy_tier_index(cfg, a[i].tier) : 0;
            if (held < 0) {
                add(v, &found, max, "tier", "member %lld holds tier %s, which the ladder lacks",
                    (long long)a[i].id, a[i].tier);
                continue;
            }
            s = store_q(c, Q_TIER_HISTORY_LAST);
            store_bind_int(s, 1, a[i].id);
            char last[LOY_CODE_LEN] = "";
            if (store_step(s) == STORE_ROW) snprintf(last, sizeof last, "%s", store_col_text(s, 0));
            store_reset(s);
            if (strcmp(last, a[i].tier) != 0)
                add(v, &found, max, "tier", "member %lld holds %s but its history ends at %s",
                    (long long)a[i].id, a[i].tier[0] ? a[i].tier : "(none)",
                    last[0] ? last : "(none)");
            int q = loy_qualifying(c, cfg, a[i].id, now);
            if (q > held)
                add(v, &found, max, "tier", "member %lld holds %s but its orders qualify it for %s",
                    (long long)a[i].id, cfg->tiers[held].code, cfg->tiers[q].code);
        }
        free(a);
        /* members with qualifying orders and no account were never upgraded */
        int longest = 0;
        for (int i = 1; i < cfg->n_tiers; i++)
            if (cfg->tiers[i].window_months > longest) longest = cfg->tiers[i].window_months;
        s = store_q(c, Q_SCAN_SPEND_WINDOW);
        store_bind_int(s, 1, loy_add_months(now, -longest));
        store_bind_int(s, 2, now);
        n = 0;
        int64_t *ids = malloc(cap * sizeof *ids);
        while (store_step(s) == STORE_ROW) {
            if (n == cap) ids = realloc(ids, (cap *= 2) * sizeof *ids);
            ids[n++] = store_col_int(s, 0);
        }
        store_reset(s);
        for (size_t i = 0; i < n; i++) {
            s = store_q(c, Q_LACCOUNT_GET);
            store_bind_int(s, 1, ids[i]);
            bool has = store_step(s) == STORE_ROW;
            store_reset(s);
            if (has) continue;
            int q = loy_qualifying(c, cfg, ids[i], now);
            if (q > 0)
                add(v, &found, max, "tier",
                    "member %lld holds no tier but its orders qualify it for %s", (long long)ids[i],
                    cfg->tiers[q].code);
        }
        free(ids);
    }
    loy_config_release(cfg);
    /* the games' campaigns (src/fission/check.c) */
    found += games_check(c, max, v);
    /* the communities' groups and seats (src/community/sales.c) */
    found += groups_check(c, max, v);
    found += fission_check(c, max, v);
    return found;
}
