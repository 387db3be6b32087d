/* check.c — the loyalty invariants, verified from the store alone (`siyu check`).
 *
 * Each check is a query for violating rows, so a clean store costs a few scans and a
 * broken one names the member, coupon or template at fault. Tier consistency is
 * re-derived from the rules: a member may sit above what its orders qualify it for
 * now (downgrades wait for the review), never below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    s = store_q(c, Q_CHECK_ORDER_POINTS);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "points_used",
            "order %lld used %lld points but the ledger holds no matching redemption",
            (long long)store_col_int(s, 0), (long long)store_col_int(s, 1));
    store_reset(s);

    /* tiers: the held tier exists, matches its history, and is not below the rules */
    loy_config *cfg = loy_config_get(c, e);
    if (!cfg) return -1;
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
    return found;
}
