/* check.c — the games' invariants from the store alone, for `siyu check` (called by
 * loyalty_check): stock, spend against budget, caps, and red envelope packets. */
#include <stdarg.h>
#include <stdio.h>

#include "fission/fission.h"
#include "fission/games.h"

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

int games_check(store_conn *c, int max, json_t *v)
{
    int found = 0;
    store_stmt *s = store_q(c, Q_GAME_CHECK_PRIZES);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "game_stock",
            "campaign %lld prize %lld: stock %s, won %lld, plays that won it %lld",
            (long long)store_col_int(s, 0), (long long)store_col_int(s, 1),
            store_col_null(s, 2) ? "unlimited" : store_col_text(s, 2),
            (long long)store_col_int(s, 3), (long long)store_col_int(s, 4));
    store_reset(s);
    s = store_q(c, Q_GAME_CHECK_SPEND);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "game_budget",
            "campaign %lld: budget %s, spent %lld, its plays' prizes cost %lld",
            (long long)store_col_int(s, 0),
            store_col_null(s, 1) ? "unlimited" : store_col_text(s, 1),
            (long long)store_col_int(s, 2), (long long)store_col_int(s, 3));
    store_reset(s);
    s = store_q(c, Q_GAME_CHECK_PACKETS);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "game_packets",
            "campaign %lld: %lld packets of %lld summing to %lld of %lld, %lld out of bounds",
            (long long)store_col_int(s, 0), (long long)store_col_int(s, 1),
            (long long)store_col_int(s, 2), (long long)store_col_int(s, 3),
            (long long)store_col_int(s, 4), (long long)store_col_int(s, 5));
    store_reset(s);
    s = store_q(c, Q_GAME_CHECK_CAPS);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "game_caps", "campaign %lld: member %lld has %lld %s (limit %lld)",
            (long long)store_col_int(s, 0), (long long)store_col_int(s, 1),
            (long long)store_col_int(s, 3),
            store_col_null(s, 2) ? "plays or grabs" : "plays in a day",
            (long long)store_col_int(s, 4));
    store_reset(s);
    return found;
}

/* The fission invariants (fission.h): teams, assists, the referral graph and what each
 * member brought, reward caps. */
int fission_check(store_conn *c, int max, json_t *v)
{
    int found = 0;
    store_stmt *s = store_q(c, Q_FIS_CHECK_TEAMS);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "team_seats",
            "team %lld: size %lld, paid %lld, virtual %lld, %s, members %lld, refunds %lld",
            (long long)store_col_int(s, 0), (long long)store_col_int(s, 1),
            (long long)store_col_int(s, 2), (long long)store_col_int(s, 3), store_col_text(s, 4),
            (long long)store_col_int(s, 5), (long long)store_col_int(s, 6));
    store_reset(s);
    s = store_q(c, Q_FIS_CHECK_ASSISTS);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "assist_cuts",
            "assist %lld: price %lld, target %lld, now %lld, helped %lld of %lld, %s, cuts sum "
            "to %lld in %lld helps",
            (long long)store_col_int(s, 0), (long long)store_col_int(s, 1),
            (long long)store_col_int(s, 2), (long long)store_col_int(s, 3),
            (long long)store_col_int(s, 4), (long long)store_col_int(s, 5), store_col_text(s, 6),
            (long long)store_col_int(s, 7), (long long)store_col_int(s, 8));
    store_reset(s);
    s = store_q(c, Q_FIS_CHECK_GRAPH);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "referral_graph",
            "member %lld: depth %lld, root %lld, path %s; its referrer gives %lld, %lld, %s",
            (long long)store_col_int(s, 0), (long long)store_col_int(s, 1),
            (long long)store_col_int(s, 2), store_col_text(s, 3), (long long)store_col_int(s, 4),
            (long long)store_col_int(s, 5), store_col_text(s, 6));
    store_reset(s);
    s = store_q(c, Q_FIS_CHECK_STATS);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "referral_stats",
            "member %lld: brought %lld direct, %lld in all, %lld and %lld cents; the graph "
            "says %lld, %lld, %lld and %lld",
            (long long)store_col_int(s, 0), (long long)store_col_int(s, 1),
            (long long)store_col_int(s, 2), (long long)store_col_int(s, 3),
            (long long)store_col_int(s, 4), (long long)store_col_int(s, 5),
            (long long)store_col_int(s, 6), (long long)store_col_int(s, 7),
            (long long)store_col_int(s, 8));
    store_reset(s);
    s = store_q(c, Q_FIS_CHECK_CLAWBACK);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "reward_coupon",
            "reward %lld: %s, coupon %s recorded as %s but its state is %s",
            (long long)store_col_int(s, 0), store_col_text(s, 1), store_col_text(s, 2),
            store_col_null(s, 3) ? "not clawed back" : store_col_text(s, 3), store_col_text(s, 4));
    store_reset(s);
    s = store_q(c, Q_MALL_CHECK);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "refund_instructions", "refund instruction %lld (%s, %s): %s",
            (long long)store_col_int(s, 0), store_col_text(s, 1), store_col_text(s, 2),
            store_col_text(s, 3));
    store_reset(s);
    s = store_q(c, Q_FIS_CHECK_SALES);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "referral_sales",
            "member %lld: %lld cents of sales kept, its orders net %lld",
            (long long)store_col_int(s, 0), (long long)store_col_int(s, 1),
            (long long)store_col_int(s, 2));
    store_reset(s);
    s = store_q(c, Q_FIS_CHECK_INVITES);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "referral_invites",
            "invite %lld: kept %lld joined, %lld first orders, %lld s of cycles; the graph says "
            "%lld, %lld, %lld",
            (long long)store_col_int(s, 0), (long long)store_col_int(s, 1),
            (long long)store_col_int(s, 2), (long long)store_col_int(s, 3),
            (long long)store_col_int(s, 4), (long long)store_col_int(s, 5),
            (long long)store_col_int(s, 6));
    store_reset(s);
    s = store_q(c, Q_FIS_CHECK_COHORTS);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW)
        add(v, &found, max, "referral_cohorts",
            "day %lld, campaign %lld, %s: kept %lld invites by %lld, %lld joined, %lld first "
            "orders, %lld s; the invites say %lld, %lld, %lld, %lld, %lld",
            (long long)store_col_int(s, 0), (long long)store_col_int(s, 1), store_col_text(s, 2),
            (long long)store_col_int(s, 3), (long long)store_col_int(s, 4),
            (long long)store_col_int(s, 5), (long long)store_col_int(s, 6),
            (long long)store_col_int(s, 7), (long long)store_col_int(s, 8),
            (long long)store_col_int(s, 9), (long long)store_col_int(s, 10),
            (long long)store_col_int(s, 11), (long long)store_col_int(s, 12));
    store_reset(s);
    s = store_q(c, Q_FIS_CHECK_CAPS);
    while (store_step(s) == STORE_ROW) {
        json_t *rules = json_loads(store_col_text(s, 3), 0, NULL);
        json_t *cap = json_object_get(rules, "max_rewards_per_referrer");
        if (json_is_integer(cap) && store_col_int(s, 2) > json_integer_value(cap))
            add(v, &found, max, "referral_cap",
                "campaign %lld: referrer %lld paid for %lld referees (cap %lld)",
                (long long)store_col_int(s, 0), (long long)store_col_int(s, 1),
                (long long)store_col_int(s, 2), (long long)json_integer_value(cap));
        json_decref(rules);
    }
    store_reset(s);
    return found;
}
