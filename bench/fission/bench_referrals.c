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
 * Prints both times, the ratio, and checks the two top KOLs agree.
 *
 * With --pg URL (a PostgreSQL server) the same rows are copied from the SQLite store into a
 * PostgreSQL database of the bench's own (siyu_bench_referrals, fresh each run: siyu's
 * schema by its migrations, the rows by COPY, VACUUM ANALYZE; untimed), and both sides run
 * there too: siyu's report on the PostgreSQL store, and the same SQL in PostgreSQL's dialect.
 * Printed beside SQLite's with the ratios; the two stores' reports must be the same answer
 * and every top KOL the same. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "fission/fission.h"
#include "pgbench.h"
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

/* Table `table` of the SQLite file into the same table on PostgreSQL, by COPY. */
static void copy_table(sqlite3 *db, PGconn *pg, const char *table)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT * FROM %s", table);
    sqlite3_stmt *s;
    must(sqlite3_prepare_v2(db, sql, -1, &s, NULL), db, sql);
    int nc = sqlite3_column_count(s);
    size_t n = (size_t)snprintf(sql, sizeof sql, "COPY %s(", table);
    for (int k = 0; k < nc; k++)
        n += (size_t)snprintf(sql + n, sizeof sql - n, "%s%s", k ? ", " : "",
                              sqlite3_column_name(s, k));
    snprintf(sql + n, sizeof sql - n, ") FROM STDIN");
    pgb_copy p;
    pgb_copy_begin(&p, pg, sql);
    char row[8192];
    while (sqlite3_step(s) == SQLITE_ROW) {
        size_t len = 0;
        for (int k = 0; k < nc && len + 64 < sizeof row; k++) {
            if (k) row[len++] = '\t';
            int type = sqlite3_column_type(s, k);
            if (type == SQLITE_NULL) {
                len += (size_t)snprintf(row + len, sizeof row - len, "\\N");
            } else if (type == SQLITE_INTEGER) {
                len += (size_t)snprintf(row + len, sizeof row - len, "%lld",
                                        (long long)sqlite3_column_int64(s, k));
            } else if (type == SQLITE_BLOB) { /* bytea's hex form, its backslash escaped */
                const unsigned char *b = sqlite3_column_blob(s, k);
                int bn = sqlite3_column_bytes(s, k);
                len += (size_t)snprintf(row + len, sizeof row - len, "\\\\x");
                for (int i = 0; i < bn && len + 8 < sizeof row; i++)
                    len += (size_t)snprintf(row + len, sizeof row - len, "%02x", b[i]);
            } else { /* text (and reals, as text): COPY's escapes */
                for (const char *t = (const char *)sqlite3_column_text(s, k);
                     *t && len + 8 < sizeof row; t++) {
                    if (*t == '\\' || *t == '\t' || *t == '\n' || *t == '\r') {
                        row[len++] = '\\';
                        row[len++] = *t == '\t' ? 't' : *t == '\n' ? 'n' : *t == '\r' ? 'r' : '\\';
                    } else {
                        row[len++] = *t;
                    }
                }
            }
        }
        row[len] = 0;
        pgb_copy_row(&p, "%s\n", row);
    }
    sqlite3_finalize(s);
    pgb_copy_end(&p);
}

/* siyu's report on the store at url, best of 3; the last answer into *report. */
static double siyu_report(const char *url, int64_t from, int64_t to, int64_t now, json_t **report)
{
    siyu_err e;
    siyu_err_init(&e);
    store_t *st;
    store_options opt = {.sync = STORE_SYNC_NORMAL, .create = false};
    store_conn *c;
    if (store_open(url, &opt, &st, &e) || store_conn_open(st, &c, &e)) {
        fprintf(stderr, "bench_referrals: %s\n", e.message);
        exit(1);
    }
    store_conn_cache(c, 512);
    double best = 1e9;
    *report = NULL;
    for (int round = 0; round < 3; round++) {
        dom d = {.conn = c, .now = now};
        d.who.role = ROLE_ADMIN;
        double a = now_s();
        store_begin(c, false, &e);
        json_t *out = NULL;
        if (fission_referrals_report(&d, from, to, 10, &out, &e) < 0) {
            fprintf(stderr, "bench_referrals: %s\n", e.message);
            exit(1);
        }
        store_rollback(c);
        double t = now_s() - a;
        if (t < best) best = t;
        json_decref(*report);
        *report = out;
    }
    store_conn_close(c);
    store_close(st);
    return best;
}

static int64_t top_kol(json_t *report)
{
    return json_integer_value(json_object_get(
        json_array_get(json_object_get(json_object_get(report, "top_kols"), "by_all_members"), 0),
        "member_id"));
}

int main(int argc, char **argv)
{
    long members = 20000000, edges = 5000000;
    const char *path = "bench/out/fission/referrals.db", *pg_server = NULL;
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
        else if (!strcmp(argv[i], "--pg") && i + 1 < argc)
            pg_server = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--members N] [--edges E] [--db PATH] [--keep] [--pg URL]\n",
                    argv[0]);
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

    /* ---- the same rows on PostgreSQL (untimed) ---- */
    char pg_url[512] = "";
    if (pg_server) {
        double g0 = now_s();
        pgb_database(pg_server, "siyu_bench_referrals", true, pg_url, sizeof pg_url);
        store_options opt = {.sync = STORE_SYNC_NORMAL, .create = true};
        if (store_open(pg_url, &opt, &st, &e)) {
            fprintf(stderr, "bench_referrals: %s\n", e.message);
            return 1;
        }
        store_close(st);
        sqlite3 *db;
        must(sqlite3_open(path, &db), db, "open");
        PGconn *pg = pgb_connect(pg_url);
        pgb_exec(pg, "SET session_replication_role = replica"); /* consistent by construction */
        pgb_exec(pg, "BEGIN");
        static const char *const tables[] = {"members",   "campaigns",      "referral_invites",
                                             "referrals", "referral_stats", "referral_cohorts"};
        for (size_t k = 0; k < sizeof tables / sizeof *tables; k++)
            copy_table(db, pg, tables[k]);
        pgb_exec(pg, "COMMIT");
        pgb_exec(pg, "VACUUM ANALYZE");
        PQfinish(pg);
        sqlite3_close(db);
        printf("copied to PostgreSQL by COPY in %.1f s (untimed)\n", now_s() - g0);
    }

    /* ---- siyu: the report as GET /api/v1/reports/referrals answers it ---- */
    json_t *report = NULL, *pg_report = NULL;
    double best = siyu_report(path, t0 - 86400, t0 + span + 86400, t0 + span + 86400, &report);
    json_t *tot = json_object_get(report, "total");
    int64_t siyu_top = top_kol(report);
    printf("siyu  report: %.3f ms (best of 3) — K-factor %.4f over %lld invites, %lld joined; "
           "%zu months; top KOL by all members: %lld\n",
           best * 1000, json_real_value(json_object_get(tot, "k_factor")),
           (long long)json_integer_value(json_object_get(tot, "invites_sent")),
           (long long)json_integer_value(json_object_get(tot, "members_joined")),
           json_array_size(json_object_get(report, "months")), (long long)siyu_top);
    double pg_best = 0;
    if (pg_url[0]) {
        pg_best = siyu_report(pg_url, t0 - 86400, t0 + span + 86400, t0 + span + 86400, &pg_report);
        printf("siyu  report on PostgreSQL: %.3f ms (best of 3); %s\n", pg_best * 1000,
               json_equal(report, pg_report) ? "the same answer as on SQLite"
                                             : "NOT THE ANSWER OF SQLITE");
    }

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
    bool ok = sql_top == siyu_top;
    if (pg_url[0]) {
        /* the same queries in PostgreSQL's dialect: the month by to_char, a boolean's sum
         * by a cast; the rest as on SQLite */
        PGconn *pg = pgb_connect(pg_url);
        char pq[sizeof sql / sizeof *sql][1024];
        for (size_t q = 0; q < sizeof sql / sizeof *sql; q++)
            snprintf(pq[q], sizeof pq[q], "%s", sql[q]);
        snprintf(pq[3], sizeof pq[3],
                 "SELECT to_char(to_timestamp(i.created_at + 28800) AT TIME ZONE 'UTC', 'YYYY-MM')"
                 " AS month, count(DISTINCT i.member_id), count(r.member_id) FROM referral_invites"
                 " i LEFT JOIN referrals r ON r.invite_id = i.id GROUP BY month");
        char *lvl = strstr(pq[4], "sum(anc.lvl = 1)");
        if (!lvl) return 1;
        char tail[1024];
        snprintf(tail, sizeof tail, "sum((anc.lvl = 1)::int)%s", lvl + strlen("sum(anc.lvl = 1)"));
        snprintf(lvl, sizeof pq[4] - (size_t)(lvl - pq[4]), "%s", tail);
        int64_t pg_top = 0;
        a = now_s();
        for (size_t q = 0; q < sizeof sql / sizeof *sql; q++) {
            PGresult *r = PQexec(pg, pq[q]);
            if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                fprintf(stderr, "bench_referrals: %s: %s", pq[q], PQerrorMessage(pg));
                return 1;
            }
            if (q == 4 && PQntuples(r) > 0) pg_top = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            PQclear(r);
        }
        double pt = now_s() - a;
        PQfinish(pg);
        int64_t pg_siyu_top = top_kol(pg_report);
        bool same = json_equal(report, pg_report) && pg_top == sql_top && pg_siyu_top == siyu_top;
        ok = ok && same;
        printf("SQL   report on PostgreSQL: %.3f s; top KOL by all members: %lld\n", pt,
               (long long)pg_top);
        printf("\n%-34s %12s %12s %10s\n", "", "SQLite", "PostgreSQL", "PG/SQLite");
        printf("%-34s %9.3f ms %9.3f ms %9.2fx\n", "siyu report", best * 1000, pg_best * 1000,
               pg_best / best);
        printf("%-34s %10.3f s %10.3f s %9.2fx\n", "SQL (recursive CTE)", t, pt, pt / t);
        printf("%-34s %11.1fx %11.1fx\n", "ratio SQL / siyu", t / best, pt / pg_best);
        printf("answers: %s\n", same ? "the same on both stores (report, top KOLs)"
                                     : "DIFFER BETWEEN SQLITE AND POSTGRESQL");
        json_decref(pg_report);
    }
    json_decref(report);
    return ok ? 0 : 1;
}
