/* bench_referrals.c — the referral report (K-factor, cycle time, top KOLs) over a large
 * graph, against plain SQL.
 *
 *   bench_referrals [--members 20000000] [--edges 5000000] [--db PATH] [--keep]
 *
 * Makes a store (siyu's schema) and writes straight into it, untimed: members 1..M, the
 * last E of whom were referred — each by an earlier member, one in three by one of the
 * first 1000 (the KOLs), so the graph is a forest with long tails — one invite link per
 * inviter, the referrals with root, depth and path, and the figures siyu keeps as it goes
 * (referral_stats, each invite's joined / first orders / cycle seconds, the day cohorts),
 * computed here by walking the tree. Then, timed, on the same store:
 *   siyu   fission_referrals_report for the whole window: the K-factor per campaign,
 *          channel and month from the day cohorts siyu keeps, and the four KOL rankings
 *          from their indexes;
 *   SQL    the obvious alternative: the K-factor by joining invites to referrals, grouped
 *          three ways, and the KOL rankings by a recursive CTE that walks every member up
 *          to its ancestors and sums what it brought.
 * Prints both times, the ratio, and checks the two top KOLs agree. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "fission/fission.h"
#include "store/store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void must(int rc, sqlite3 *db, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "bench_referrals: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "bench_referrals: %s: %s\n", sql, err);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    long members = 20000000, edges = 5000000;
    const char *path = "bench/out/fission/referrals.db";
    int keep = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--members") && i + 1 < argc)
            members = atol(argv[++i]);
        else if (!strcmp(argv[i], "--edges") && i + 1 < argc)
            edges = atol(argv[++i]);
        else if (!strcmp(argv[i], "--db") && i + 1 < argc)
            path = argv[++i];
        else if (!strcmp(argv[i], "--keep"))
            keep = 1;
        else {
            fprintf(stderr, "usage: %s [--members N] [--edges E] [--db PATH] [--keep]\n", argv[0]);
            return 2;
        }
    }
    if (edges >= members || edges < 1) {
        fprintf(stderr, "bench_referrals: needs 0 < edges < members\n");
        return 2;
    }
    const int64_t t0 = 1735660800; /* 2025-01-01 (+08:00 midnight is 16:00 UTC before) */
    const int64_t span = 2 * 365 * 86400LL;
    siyu_err e;
    siyu_err_init(&e);
    store_t *st;
    if (!keep || access(path, F_OK) != 0) {
        unlink(path);
        store_options opt = {.sync = STORE_SYNC_NORMAL, .create = true};
        if (store_open(path, &opt, &st, &e)) {
            fprintf(stderr, "bench_referrals: %s\n", e.message);
            return 1;
        }
        store_close(st);
        double g0 = now_s();
        sqlite3 *db;
        must(sqlite3_open(path, &db), db, "open");
        exec(db, "PRAGMA foreign_keys=OFF; PRAGMA synchronous=OFF; PRAGMA journal_mode=OFF;"
                 "PRAGMA cache_size=-1000000; BEGIN");
        int32_t *parent = calloc((size_t)members + 1, sizeof *parent);
        int32_t *depth = calloc((size_t)members + 1, sizeof *depth);
        int32_t *direct = calloc((size_t)members + 1, sizeof *direct);
        int32_t *down = calloc((size_t)members + 1, sizeof *down);
        int64_t *dsales = calloc((size_t)members + 1, sizeof *dsales);
        int64_t *asales = calloc((size_t)members + 1, sizeof *asales);
        int32_t *invite_of = calloc((size_t)members + 1, sizeof *invite_of);
        int64_t *joined_at = malloc(((size_t)members + 1) * sizeof *joined_at);
        sqlite3_stmt *s;
        must(sqlite3_prepare_v2(db,
                                "INSERT INTO members(id, store_id, join_channel, joined_at,"
                                " created_at, updated_at) VALUES (?1, NULL, 'store', ?2, ?2, ?2)",
                                -1, &s, NULL),
             db, "prepare members");
        for (long m = 1; m <= members; m++) {
            joined_at[m] = t0 + (int64_t)((double)span * (double)m / (double)members);
            sqlite3_bind_int64(s, 1, m);
            sqlite3_bind_int64(s, 2, joined_at[m]);
            must(sqlite3_step(s), db, "member");
            sqlite3_reset(s);
        }
        sqlite3_finalize(s);
        exec(db, "INSERT INTO campaigns(id, kind, name, rules, created_at) VALUES (1, 'invite',"
                 " 'bench', '{}', 1735660800)");
        /* who referred whom, walking up for depth and what each brought */
        long first = members - edges + 1;
        for (long m = first; m <= members; m++) {
            long r =
                rnd() % 3 == 0 ? 1 + (long)(rnd() % 1000) : 1 + (long)(rnd() % (uint64_t)(m - 1));
            parent[m] = (int32_t)r;
            depth[m] = depth[r] + 1;
        }
        int64_t *sales = calloc((size_t)members + 1, sizeof *sales);
        for (long m = first; m <= members; m++) {
            sales[m] = rnd() % 5 < 2 ? 0 : 1000 + (int64_t)(rnd() % 50000);
            direct[parent[m]]++;
            dsales[parent[m]] += sales[m];
            for (long a = parent[m]; a; a = parent[a]) {
                down[a]++;
                asales[a] += sales[m];
            }
        }
        /* one invite link per inviter, in the month of its first referee */
        sqlite3_stmt *inv;
        must(sqlite3_prepare_v2(db,
                                "INSERT INTO referral_invites(id, campaign_id, member_id, channel,"
                                " state, created_at) VALUES (?1, 1, ?2, 'link', ?3, ?4)",
                                -1, &inv, NULL),
             db, "prepare invites");
        int64_t n_inv = 0;
        for (long m = first; m <= members; m++) {
            long r = parent[m];
            if (invite_of[r]) continue;
            invite_of[r] = (int32_t)++n_inv;
            char state[32];
            snprintf(state, sizeof state, "inv-b%lld", (long long)n_inv);
            sqlite3_bind_int64(inv, 1, n_inv);
            sqlite3_bind_int64(inv, 2, r);
            sqlite3_bind_text(inv, 3, state, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(inv, 4, joined_at[m] - 3600);
            must(sqlite3_step(inv), db, "invite");
            sqlite3_reset(inv);
        }
        sqlite3_finalize(inv);
        int64_t *ij = calloc((size_t)n_inv + 1, sizeof *ij),
                *ifo = calloc((size_t)n_inv + 1, sizeof *ifo),
                *icy = calloc((size_t)n_inv + 1, sizeof *icy);
        must(sqlite3_prepare_v2(
                 db,
                 "INSERT INTO referrals(member_id, referrer_id, root_id, depth, path, invite_id,"
                 " campaign_id, channel, via, joined_at, referrer_joined_at, first_order_id,"
                 " first_order_at, sales_cents) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 'link',"
                 " 'members', ?7, ?8, ?9, ?10, ?11)",
                 -1, &s, NULL),
             db, "prepare referrals");
        char *pathbuf = malloc(1 << 20);
        long chain[1 << 16];
        for (long m = first; m <= members; m++) {
            int n = 0;
            for (long a = parent[m]; a && n < (1 << 16); a = parent[a])
                chain[n++] = a;
            size_t len = 0;
            pathbuf[len++] = '/';
            for (int k = n - 1; k >= 0; k--)
                len += (size_t)snprintf(pathbuf + len, (1 << 20) - len, "%ld/", chain[k]);
            int64_t iv = invite_of[parent[m]];
            ij[iv]++;
            icy[iv] += joined_at[m] - joined_at[parent[m]];
            sqlite3_bind_int64(s, 1, m);
            sqlite3_bind_int64(s, 2, parent[m]);
            sqlite3_bind_int64(s, 3, chain[n - 1]);
            sqlite3_bind_int64(s, 4, depth[m]);
            sqlite3_bind_text(s, 5, pathbuf, (int)len, SQLITE_STATIC);
            sqlite3_bind_int64(s, 6, iv);
            sqlite3_bind_int64(s, 7, joined_at[m]);
            sqlite3_bind_int64(s, 8, joined_at[parent[m]]);
            if (sales[m]) {
                ifo[iv]++;
                sqlite3_bind_int64(s, 9, m); /* a stand-in order id */
                sqlite3_bind_int64(s, 10, joined_at[m] + 86400);
            } else {
                sqlite3_bind_null(s, 9);
                sqlite3_bind_null(s, 10);
            }
            sqlite3_bind_int64(s, 11, sales[m]);
            must(sqlite3_step(s), db, "referral");
            sqlite3_reset(s);
        }
        sqlite3_finalize(s);
        free(pathbuf);
        must(sqlite3_prepare_v2(db,
                                "UPDATE referral_invites SET joined = ?1, first_orders = ?2,"
                                " cycle_seconds = ?3 WHERE id = ?4",
                                -1, &s, NULL),
             db, "prepare invite counts");
        for (int64_t i = 1; i <= n_inv; i++) {
            sqlite3_bind_int64(s, 1, ij[i]);
            sqlite3_bind_int64(s, 2, ifo[i]);
            sqlite3_bind_int64(s, 3, icy[i]);
            sqlite3_bind_int64(s, 4, i);
            must(sqlite3_step(s), db, "invite counts");
            sqlite3_reset(s);
        }
        sqlite3_finalize(s);
        must(sqlite3_prepare_v2(db,
                                "INSERT INTO referral_stats(member_id, direct, downstream,"
                                " direct_sales_cents, downstream_sales_cents) VALUES (?1, ?2, ?3,"
                                " ?4, ?5)",
                                -1, &s, NULL),
             db, "prepare stats");
        long stats = 0;
        for (long m = 1; m <= members; m++) {
            if (!down[m]) continue;
            stats++;
            sqlite3_bind_int64(s, 1, m);
            sqlite3_bind_int64(s, 2, direct[m]);
            sqlite3_bind_int64(s, 3, down[m]);
            sqlite3_bind_int64(s, 4, dsales[m]);
            sqlite3_bind_int64(s, 5, asales[m]);
            must(sqlite3_step(s), db, "stats");
            sqlite3_reset(s);
        }
        sqlite3_finalize(s);
        exec(db, "COMMIT; ANALYZE");
        sqlite3_close(db);
        int maxd = 0;
        for (long m = first; m <= members; m++)
            if (depth[m] > maxd) maxd = depth[m];
        printf("generated %ld members, %ld referrals (deepest %d), %lld invites, %ld members "
               "with stats in %.1f s (untimed)\n",
               members, edges, maxd, (long long)n_inv, stats, now_s() - g0);
        free(parent);
        free(depth);
        free(direct);
        free(down);
        free(dsales);
        free(asales);
        free(invite_of);
        free(joined_at);
        free(sales);
        free(ij);
        free(ifo);
        free(icy);
    }

    /* the day cohorts siyu keeps as invites, joins and first orders happen (untimed) */
    {
        sqlite3 *db;
        must(sqlite3_open(path, &db), db, "open");
        exec(db,
             "CREATE TABLE IF NOT EXISTS referral_cohorts (day INTEGER NOT NULL,"
             " campaign_id INTEGER NOT NULL, channel TEXT NOT NULL,"
             " invites INTEGER NOT NULL DEFAULT 0, inviters INTEGER NOT NULL DEFAULT 0,"
             " joined INTEGER NOT NULL DEFAULT 0, first_orders INTEGER NOT NULL DEFAULT 0,"
             " cycle_seconds INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (day, campaign_id, channel));"
             "INSERT INTO referral_cohorts SELECT (created_at + 28800) / 86400,"
             " COALESCE(campaign_id, 0), channel, count(*), count(DISTINCT member_id),"
             " sum(joined), sum(first_orders), sum(cycle_seconds) FROM referral_invites"
             " WHERE NOT EXISTS (SELECT 1 FROM referral_cohorts) GROUP BY 1, 2, 3");
        sqlite3_close(db);
    }

    /* ---- siyu: the report as GET /api/v1/reports/referrals answers it ---- */
    store_options opt = {.sync = STORE_SYNC_NORMAL, .create = false};
    if (store_open(path, &opt, &st, &e)) {
        fprintf(stderr, "bench_referrals: %s\n", e.message);
        return 1;
    }
    store_conn *c;
    store_conn_open(st, &c, &e);
    store_conn_cache(c, 512);
    double best = 1e9;
    json_t *report = NULL;
    for (int round = 0; round < 3; round++) {
        dom d = {.conn = c, .now = t0 + span + 86400};
        d.who.role = ROLE_ADMIN;
        double a = now_s();
        store_begin(c, false, &e);
        json_t *out = NULL;
        if (fission_referrals_report(&d, t0 - 86400, t0 + span + 86400, 10, &out, &e) < 0) {
            fprintf(stderr, "bench_referrals: %s\n", e.message);
            return 1;
        }
        store_rollback(c);
        double t = now_s() - a;
        if (t < best) best = t;
        json_decref(report);
        report = out;
    }
    store_conn_close(c);
    store_close(st);
    json_t *tot = json_object_get(report, "total");
    int64_t siyu_top = json_integer_value(json_object_get(
        json_array_get(json_object_get(json_object_get(report, "top_kols"), "by_all_members"), 0),
        "member_id"));
    printf("siyu  report: %.3f ms (best of 3) — K-factor %.4f over %lld invites, %lld joined; "
           "%zu months; top KOL by all members: %lld\n",
           best * 1000, json_real_value(json_object_get(tot, "k_factor")),
           (long long)json_integer_value(json_object_get(tot, "invites_sent")),
           (long long)json_integer_value(json_object_get(tot, "members_joined")),
           json_array_size(json_object_get(report, "months")), (long long)siyu_top);

    /* ---- the obvious SQL ---- */
    sqlite3 *db;
    must(sqlite3_open(path, &db), db, "open");
    exec(db, "PRAGMA cache_size=-512000");
    static const char *const sql[] = {
        "SELECT count(DISTINCT i.id), count(DISTINCT i.member_id), count(r.member_id),"
        " count(r.first_order_id), sum(r.joined_at - r.referrer_joined_at) FROM referral_invites i"
        " LEFT JOIN referrals r ON r.invite_id = i.id",
        "SELECT i.campaign_id, count(DISTINCT i.member_id), count(r.member_id) FROM"
        " referral_invites i LEFT JOIN referrals r ON r.invite_id = i.id GROUP BY i.campaign_id",
        "SELECT i.channel, count(DISTINCT i.member_id), count(r.member_id) FROM referral_invites i"
        " LEFT JOIN referrals r ON r.invite_id = i.id GROUP BY i.channel",
        "SELECT strftime('%Y-%m', i.created_at + 28800, 'unixepoch') AS month,"
        " count(DISTINCT i.member_id), count(r.member_id) FROM referral_invites i LEFT JOIN"
        " referrals r ON r.invite_id = i.id GROUP BY month",
        "WITH RECURSIVE anc(m, a, lvl) AS (SELECT member_id, referrer_id, 1 FROM referrals UNION"
        " ALL SELECT anc.m, r.referrer_id, anc.lvl + 1 FROM anc JOIN referrals r ON r.member_id ="
        " anc.a), brought AS (SELECT anc.a AS member_id, sum(anc.lvl = 1) AS direct, count(*) AS"
        " down, sum(CASE WHEN anc.lvl = 1 THEN x.sales_cents ELSE 0 END) AS dsales,"
        " sum(x.sales_cents) AS asales FROM anc JOIN referrals x ON x.member_id = anc.m GROUP BY"
        " anc.a) SELECT member_id FROM brought ORDER BY down DESC, member_id LIMIT 10",
    };
    double a = now_s();
    int64_t sql_top = 0;
    for (size_t q = 0; q < sizeof sql / sizeof *sql; q++) {
        sqlite3_stmt *s;
        must(sqlite3_prepare_v2(db, sql[q], -1, &s, NULL), db, "prepare SQL");
        bool firstrow = true;
        while (sqlite3_step(s) == SQLITE_ROW)
            if (q == 4 && firstrow) {
                sql_top = sqlite3_column_int64(s, 0);
                firstrow = false;
            }
        sqlite3_finalize(s);
    }
    double t = now_s() - a;
    sqlite3_close(db);
    printf("SQL   report: %.3f s — recursive CTE; top KOL by all members: %lld\n", t,
           (long long)sql_top);
    printf("ratio SQL / siyu: %.1fx; %s; %s 1 s\n", t / best,
           sql_top == siyu_top ? "the top KOLs agree" : "THE TOP KOLS DIFFER",
           best < 1.0 ? "under" : "NOT under");
    json_decref(report);
    return sql_top == siyu_top ? 0 : 1;
}
