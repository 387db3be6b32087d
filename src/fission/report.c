/* report.c — what a campaign brought (docs/fission.md, "What it brought").
 *
 * For every kind: participants (anyone who played, grabbed, invited or was invited,
 * joined a team, started or helped an assist), new members among them (joined at or
 * after the campaign's start), cost per new member, and the orders and net sales of
 * participants in the 30 days from their first participation against matched
 * non-participants: for each participant (the first 2000 by id), the first member by id
 * of the same store (or none, alike), joined within 30 days of it, who took no part,
 * was not matched already and had ordered before the same instant exactly when the
 * participant had; its 30 days start at the same instant. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fission/internal.h"
#include "loyalty/loyalty.h"

#define MATCH_MAX 2000
#define WINDOW (30 * 86400)

typedef struct facts {
    int64_t joined_at, store_id, before, orders, sales;
    bool has_store, ok;
} facts;

static facts member_facts(dom *d, int64_t member, int64_t at)
{
    facts f = {0};
    store_stmt *s = store_q(d->conn, Q_FIS_MEMBER_FACTS);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, at);
    if (store_step(s) == STORE_ROW) {
        f.ok = true;
        f.joined_at = store_col_int(s, 0);
        f.has_store = !store_col_null(s, 1);
        f.store_id = f.has_store ? store_col_int(s, 1) : 0;
        f.before = store_col_int(s, 2);
        f.orders = store_col_int(s, 3);
        f.sales = store_col_int(s, 4);
    }
    store_reset(s);
    return f;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static bool in(const int64_t *v, size_t n, int64_t x)
{
    return bsearch(&x, v, n, sizeof *v, cmp64) != NULL;
}

static json_t *share(int64_t num, int64_t den)
{
    return den ? json_real((double)num / (double)den) : json_null();
}

/* participants, new members, the matched comparison */
static int brought(dom *d, int64_t campaign, int64_t start, int64_t cost, json_t *o, siyu_err *e)
{
    (void)e;
    size_t n = 0, cap = 256;
    int64_t *ids = malloc(cap * sizeof *ids), *firsts = malloc(cap * sizeof *firsts);
    store_stmt *s = store_q(d->conn, Q_FIS_PARTICIPANTS);
    store_bind_int(s, 1, campaign);
    while (store_step(s) == STORE_ROW) {
        if (n == cap) {
            cap *= 2;
            ids = realloc(ids, cap * sizeof *ids);
            firsts = realloc(firsts, cap * sizeof *firsts);
        }
        ids[n] = store_col_int(s, 0);
        firsts[n] = store_col_int(s, 1);
        n++;
    }
    store_reset(s);
    int64_t fresh = 0;
    int64_t p_orders = 0, p_sales = 0, c_orders = 0, c_sales = 0, matched = 0;
    int64_t *used = malloc((MATCH_MAX + 1) * sizeof *used);
    size_t n_used = 0;
    for (size_t i = 0; i < n; i++) {
        facts f = member_facts(d, ids[i], firsts[i]);
        if (!f.ok) continue;
        if (f.joined_at >= start) fresh++;
        if (i >= MATCH_MAX) continue;
        /* the comparable non-participant */
        int64_t after = 0, found = 0;
        for (int round = 0; round < 4 && !found; round++) {
            int64_t cand[64];
            int k = 0;
            s = store_q(d->conn, Q_FIS_MATCH_CANDIDATES);
            if (f.has_store) store_bind_int(s, 1, f.store_id);
            store_bind_int(s, 2, f.joined_at - WINDOW);
            store_bind_int(s, 3, f.joined_at + WINDOW);
            store_bind_int(s, 4, after);
            store_bind_int(s, 5, 64);
            while (store_step(s) == STORE_ROW && k < 64)
                cand[k++] = store_col_int(s, 0);
            store_reset(s);
            if (!k) break;
            after = cand[k - 1];
            for (int j = 0; j < k && !found; j++) {
                if (in(ids, n, cand[j])) continue;
                bool taken = false;
                for (size_t u = 0; u < n_used && !taken; u++)
                    taken = used[u] == cand[j];
                if (taken) continue;
                facts g = member_facts(d, cand[j], firsts[i]);
                if (!g.ok || (g.before > 0) != (f.before > 0)) continue;
                found = cand[j];
                used[n_used++] = found;
                matched++;
                p_orders += f.orders;
                p_sales += f.sales;
                c_orders += g.orders;
                c_sales += g.sales;
            }
        }
    }
    free(used);
    free(ids);
    free(firsts);
    json_object_set_new(o, "participants", json_integer((json_int_t)n));
    json_object_set_new(o, "new_members", json_integer(fresh));
    json_object_set_new(o, "cost_cents", json_integer(cost));
    json_object_set_new(o, "cost_per_new_member_cents",
                        fresh ? json_integer(cost / fresh) : json_null());
    json_t *m = json_pack("{s:I, s:I, s:I, s:I, s:I}", "pairs", (json_int_t)matched,
                          "participant_orders", (json_int_t)p_orders, "participant_sales_cents",
                          (json_int_t)p_sales, "comparison_orders", (json_int_t)c_orders,
                          "comparison_sales_cents", (json_int_t)c_sales);
    json_object_set_new(m, "orders_per_participant", share(p_orders, matched));
    json_object_set_new(m, "orders_per_comparison", share(c_orders, matched));
    json_object_set_new(m, "sales_lift_cents_per_participant",
                        matched ? json_real((double)(p_sales - c_sales) / (double)matched)
                                : json_null());
    json_object_set_new(o, "next_30_days", m);
    return 0;
}

static int64_t points_cost(dom *d, int64_t points)
{
    int64_t per_yuan = 0;
    siyu_err sub;
    siyu_err_init(&sub);
    /* the points worth one yuan at the till: a point costs 100 / that cents */
    if (loyalty_points_of_cents(d->conn, 100, &per_yuan, &sub) || per_yuan <= 0) per_yuan = 0;
    siyu_err_clear(&sub);
    return per_yuan ? points * 100 / per_yuan : 0;
}

int fission_campaign_report(dom *d, int64_t campaign, const char *kind, int64_t created_at,
                            json_t *o, siyu_err *e)
{
    fis_campaign c;
    if (fis_campaign_load(d, campaign, &c, e)) return -1;
    int64_t start = c.starts_at ? c.starts_at : created_at;
    int64_t cost = json_integer_value(json_object_get(o, "spent_cents"));
    store_stmt *s;
    if (strcmp(kind, "invite") == 0) {
        s = store_q(d->conn, Q_FIS_INVITE_REPORT);
        store_bind_int(s, 1, campaign);
        if (store_step(s) == STORE_ROW) {
            int64_t inv = store_col_int(s, 0), inviters = store_col_int(s, 1),
                    joined = store_col_int(s, 2), refused = store_col_int(s, 3),
                    first = store_col_int(s, 4), cycle = store_col_int(s, 5);
            json_object_set_new(o, "invites_sent", json_integer(inv));
            json_object_set_new(o, "inviters", json_integer(inviters));
            json_object_set_new(o, "members_joined", json_integer(joined));
            json_object_set_new(o, "joins_refused", json_integer(refused));
            json_object_set_new(o, "first_orders", json_integer(first));
            json_object_set_new(o, "k_factor", share(joined, inviters));
            json_object_set_new(o, "cycle_time_days",
                                joined ? json_real((double)cycle / (double)joined / 86400.0)
                                       : json_null());
        }
        store_reset(s);
        json_t *r = json_object();
        s = store_q(d->conn, Q_FIS_INVITE_REFUSALS);
        store_bind_int(s, 1, campaign);
        while (store_step(s) == STORE_ROW)
            json_object_set_new(r, store_col_text(s, 0), json_integer(store_col_int(s, 1)));
        store_reset(s);
        json_object_set_new(o, "refused", r);
        json_t *w = json_array();
        int64_t points = 0, clawed = 0, back = 0, lost = 0, voided = 0, kept = 0;
        s = store_q(d->conn, Q_FIS_REWARD_REPORT);
        store_bind_int(s, 1, campaign);
        while (store_step(s) == STORE_ROW) {
            json_t *row = json_pack(
                "{s:s, s:s, s:I, s:I, s:I, s:I}", "level", store_col_text(s, 0), "status",
                store_col_text(s, 1), "rewards", (json_int_t)store_col_int(s, 2), "points",
                (json_int_t)store_col_int(s, 3), "coupons", (json_int_t)store_col_int(s, 4),
                "points_clawed_back", (json_int_t)store_col_int(s, 5));
            json_object_set_new(row, "coupons_voided", json_integer(store_col_int(s, 6)));
            json_object_set_new(row, "coupons_not_recovered", json_integer(store_col_int(s, 7)));
            json_array_append_new(w, row);
            points += store_col_int(s, 3);
            clawed += store_col_int(s, 5);
            if (strcmp(store_col_text(s, 1), "clawed_back") == 0) {
                back += store_col_int(s, 2);
                lost += store_col_int(s, 3) - store_col_int(s, 5);
            }
            voided += store_col_int(s, 6);
            kept += store_col_int(s, 7);
        }
        store_reset(s);
        json_object_set_new(o, "rewards", w);
        /* what a full refund within clawback_days took back, and what it could not: points
         * already spent, coupons already redeemed (or expired) */
        json_object_set_new(o, "clawback",
                            json_pack("{s:I, s:I, s:I, s:I, s:I}", "rewards", (json_int_t)back,
                                      "points_taken", (json_int_t)clawed, "points_not_recovered",
                                      (json_int_t)lost, "coupons_voided", (json_int_t)voided,
                                      "coupons_not_recovered", (json_int_t)kept));
        cost = points_cost(d, points - clawed);
    } else if (strcmp(kind, "group_buy") == 0) {
        s = store_q(d->conn, Q_FIS_TEAM_REPORT);
        store_bind_int(s, 1, campaign);
        if (store_step(s) == STORE_ROW) {
            static const char *const names[] = {
                "teams",           "teams_open",   "teams_succeeded",    "teams_failed",
                "virtual_members", "paid_members", "refunds_instructed", "refunded_cents"};
            for (int i = 0; i < 8; i++)
                json_object_set_new(o, names[i], json_integer(store_col_int(s, i)));
            int64_t teams = store_col_int(s, 0), paid = store_col_int(s, 5);
            /* members each leader brought into its team */
            json_object_set_new(o, "k_factor", share(paid - teams, teams));
        }
        store_reset(s);
        json_t *v = json_array();
        s = store_q(d->conn, Q_FIS_TEAMS_VIRTUAL);
        store_bind_int(s, 1, campaign);
        while (store_step(s) == STORE_ROW)
            json_array_append_new(v, json_pack("{s:I, s:I}", "team_id",
                                               (json_int_t)store_col_int(s, 0), "virtual_members",
                                               (json_int_t)store_col_int(s, 1)));
        store_reset(s);
        json_object_set_new(o, "completed_virtually", v);
        cost = 0;
    } else if (strcmp(kind, "assist") == 0) {
        s = store_q(d->conn, Q_FIS_ASSIST_REPORT);
        store_bind_int(s, 1, campaign);
        if (store_step(s) == STORE_ROW) {
            static const char *const names[] = {
                "assists", "assists_open", "assists_reached", "assists_expired",
                "helps",   "cut_cents",    "coupons_granted"};
            for (int i = 0; i < 7; i++)
                json_object_set_new(o, names[i], json_integer(store_col_int(s, i)));
            json_object_set_new(o, "k_factor", share(store_col_int(s, 4), store_col_int(s, 0)));
            cost = 0; /* what reached assists take off: price minus target each */
            int64_t reached = store_col_int(s, 2);
            int64_t each =
                fis_rule_int(c.rules, "price_cents", 0) - fis_rule_int(c.rules, "target_cents", 0);
            cost = reached * each;
        }
        store_reset(s);
    }
    int rc = brought(d, campaign, start, cost, o, e);
    fis_campaign_free(&c);
    return rc;
}
