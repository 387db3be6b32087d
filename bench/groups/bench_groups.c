/* bench_groups.c — communities (issue 16, "Performance"): a day of group activity ingested
 * through the domain, and the group leaderboard over a year.
 *
 *   bench_groups [--groups N] [--people P] [--board-groups M] [--runs K] [--dir DIR]
 *
 * ingest: N groups (default 50 000) of P customers (default 200) each send one day's
 * count per customer: N × P member-day counts (10 million by default) go through
 * groups_events_record — JSON batches of 5000 parsed, checked, upserted with the group-day
 * roll-up moved in the same write, one commit per batch — into a SQLite store with siyu's
 * schema. The obvious alternative: the same rows by a prepared INSERT into a bare table
 * with the same key, one transaction per 5000, no checks and no roll-up. Both at
 * synchronous=NORMAL. Ratio = siyu / bare insert.
 *
 * leaderboard: M groups (default 2 000) of P customers with a year of activity (a
 * customer speaks on about one day in ten), stints joining through the year and one in
 * ten quitting, spread over 200 stores, a guide per ten groups and eight themes; past the
 * first R groups (--raw-groups, 2 000) only the group-day roll-up is written. Timed:
 * groups_report over the year from the group view (src/views/group_view.c, built as siyu
 * serve builds it), median of K runs, against the SQL path (the reference) in the same run
 * (once above 5 000 groups): the ratio, and whether both answers are the same JSON. Also a
 * plain SQL GROUP BY over the raw member-day counts of the first R groups, best of K.
 * --groups 0 skips the ingest; --reuse 1 reuses the store a previous run left. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/timeutil.h"
#include "community/community.h"
#include "guides/guides.h"
#include "reports/reports.h"
#include "views/group_view.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static inline uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)((rng >> 11) % n);
}

static double secs(void)
{
    return (double)clock_mono_ns() / 1e9;
}

static void die(const char *what, siyu_err *e)
{
    fprintf(stderr, "bench_groups: %s: %s\n", what, e ? e->message : "");
    exit(1);
}

static int dcall(dom *d, int (*fn)(dom *, json_t *, json_t **, siyu_err *), const char *body,
                 siyu_err *e)
{
    json_t *b = json_loads(body, 0, NULL);
    if (!b) die("bad JSON", NULL);
    if (store_begin(d->conn, true, e)) return -1;
    int rc = fn(d, b, NULL, e);
    json_decref(b);
    if (rc < 0) {
        store_rollback(d->conn);
        return -1;
    }
    return store_commit(d->conn, e);
}

/* A fresh store with a store and guide g-1 (WeCom userid), at path. */
static void fresh(const char *path, store_t **st, dom *d, siyu_err *e)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -f %s %s-wal %s-shm", path, path, path);
    if (system(cmd) != 0) die("rm", NULL);
    store_options o = {.sync = STORE_SYNC_NORMAL, .create = true};
    memset(d, 0, sizeof *d);
    if (store_open(path, &o, st, e) || store_conn_open(*st, &d->conn, e)) die("open", e);
    d->who.role = ROLE_ADMIN;
    d->now = clock_now();
    if (dcall(d, brands_create, "{\"name\":\"b\"}", e) ||
        dcall(d, stores_create, "{\"name\":\"s\",\"code\":\"S1\",\"kind\":\"physical\"}", e) ||
        dcall(d, staff_create, "{\"name\":\"g\",\"role\":\"guide\",\"store_id\":1}", e))
        die("chain", e);
    json_t *b = json_loads("{\"wecom_userid\":\"g-1\"}", 0, NULL);
    store_begin(d->conn, true, e);
    if (staff_patch(d, 1, b, NULL, e) < 0 || store_commit(d->conn, e)) die("userid", e);
    json_decref(b);
}

#define BATCH 5000

static double ingest(const char *dir, int groups, int people)
{
    char path[512];
    snprintf(path, sizeof path, "%s/groups-ingest.db", dir);
    store_t *st;
    dom d;
    siyu_err e;
    siyu_err_init(&e);
    fresh(path, &st, &d, &e);
    size_t cap = (size_t)BATCH * 160 + 64;
    char *body = malloc(cap);
    char at[40];
    time_format_rfc3339(d.now - 86400, at, sizeof at);
    /* the groups, untimed */
    for (int g = 0; g < groups;) {
        size_t n = (size_t)snprintf(body, cap, "{\"events\":[");
        for (int k = 0; k < 1000 && g < groups; k++, g++)
            n += (size_t)snprintf(body + n, cap - n,
                                  "%s{\"event\":\"group_created\",\"chat_id\":\"c%d\","
                                  "\"owner_userid\":\"g-1\",\"at\":\"%s\"}",
                                  k ? "," : "", g, at);
        snprintf(body + n, cap - n, "]}");
        if (dcall(&d, groups_events_record, body, &e)) die("groups", &e);
    }
    char day[16];
    date_format(time_local_day(d.now) - 1, day, sizeof day);
    /* one day: every customer of every group, 5000 counts a batch */
    int64_t total = (int64_t)groups * people, done = 0;
    double timed = 0;
    while (done < total) {
        size_t n = (size_t)snprintf(body, cap, "{\"events\":[");
        int k = 0;
        for (; k < BATCH && done < total; k++, done++) {
            int g = (int)(done / people), p = (int)(done % people);
            n += (size_t)snprintf(body + n, cap - n,
                                  "%s{\"event\":\"activity\",\"chat_id\":\"c%d\","
                                  "\"external_userid\":\"wm%d-%d\",\"day\":\"%s\","
                                  "\"messages\":%u}",
                                  k ? "," : "", g, g, p, day, rnd(30));
        }
        snprintf(body + n, cap - n, "]}");
        double t = secs();
        if (dcall(&d, groups_events_record, body, &e)) die("activity", &e);
        timed += secs() - t;
    }
    json_t *v = json_array();
    if (groups_check(d.conn, 5, v)) die("the roll-up differs from the activity", NULL);
    json_decref(v);
    store_conn_close(d.conn);
    store_close(st);

    /* the bare insert */
    snprintf(path, sizeof path, "%s/groups-bare.db", dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -f %s %s-wal %s-shm", path, path, path);
    if (system(cmd) != 0) die("rm", NULL);
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                 "CREATE TABLE act (group_id INTEGER NOT NULL, person TEXT NOT NULL,"
                 " day INTEGER NOT NULL, messages INTEGER NOT NULL,"
                 " PRIMARY KEY (group_id, person, day)) WITHOUT ROWID;",
                 NULL, NULL, NULL);
    sqlite3_stmt *ins;
    sqlite3_prepare_v2(db, "INSERT INTO act VALUES (?1, ?2, ?3, ?4)", -1, &ins, NULL);
    int32_t dn = time_local_day(clock_now()) - 1;
    double t = secs();
    for (int64_t i = 0; i < total;) {
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        for (int k = 0; k < BATCH && i < total; k++, i++) {
            char person[32];
            int g = (int)(i / people), p = (int)(i % people);
            snprintf(person, sizeof person, "wm%d-%d", g, p);
            sqlite3_bind_int64(ins, 1, g + 1);
            sqlite3_bind_text(ins, 2, person, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(ins, 3, dn);
            sqlite3_bind_int64(ins, 4, rnd(30));
            sqlite3_step(ins);
            sqlite3_reset(ins);
        }
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    double bare = secs() - t;
    sqlite3_finalize(ins);
    sqlite3_close(db);
    free(body);
    printf("ingest    %d groups × %d customers = %lld member-day counts\n", groups, people,
           (long long)total);
    printf("  siyu (groups_events_record, batches of %d)  %8.2f s  %9.0f counts/s\n", BATCH, timed,
           (double)total / timed);
    printf("  bare INSERT, same key, no checks             %8.2f s  %9.0f counts/s\n", bare,
           (double)total / bare);
    printf("  ratio siyu / bare %.2f; 10 million counts at this rate: %.1f s (target < 60 s)\n",
           timed / bare, timed / (double)total * 1e7);
    return timed;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The timed part: the report from the group view, then by SQL. */
static void report(store_t *st, dom *dp, int groups, int people, int runs, int raw_groups,
                   int64_t raw, int64_t days_rows, double best_sql)
{
    dom d = *dp;
    siyu_err e;
    siyu_err_init(&e);
    int32_t today = time_local_day(d.now), from = today - 364;
    /* the report: from the group view (built as siyu does at start-up, with the KPI facts
     * it reads orders from), then by SQL, its reference */
    if (store_conn_open(st, &d.conn, &e)) die("conn", &e);
    double t = secs();
    reports_t *rep;
    group_view *gv;
    if (reports_load(d.conn, &rep, &e) || group_view_load(st, d.conn, rep, &gv, &e))
        die("view", &e);
    double load = secs() - t;
    group_view_stats gs;
    group_view_get_stats(gv, &gs);
    double ts[64];
    if (runs > 64) runs = 64;
    json_t *from_view = NULL, *from_sql = NULL;
    for (int r = 0; r < runs; r++) {
        json_t *out = NULL;
        t = secs();
        store_begin(d.conn, false, &e);
        if (groups_report_from(&d, group_view_figures, gv, from, today, 0, 0, &out, &e) < 0)
            die("report", &e);
        store_commit(d.conn, &e);
        ts[r] = secs() - t;
        json_decref(from_view);
        from_view = out;
    }
    qsort(ts, (size_t)runs, sizeof *ts, cmp_d);
    double med = ts[runs / 2];
    /* the SQL path: once when it takes seconds */
    int sql_runs = getenv("BENCH_GROUPS_NO_SQL") ? 0 : groups > 5000 ? 1 : runs;
    double tq[64];
    for (int r = 0; r < sql_runs; r++) {
        json_t *out = NULL;
        t = secs();
        store_begin(d.conn, false, &e);
        if (groups_report(&d, from, today, 0, 0, &out, &e) < 0) die("report", &e);
        store_commit(d.conn, &e);
        tq[r] = secs() - t;
        json_decref(from_sql);
        from_sql = out;
    }
    if (!sql_runs) { /* profiling the view alone */
        printf("  siyu groups_report from the group view, median of %d  %8.1f ms\n", runs,
               med * 1e3);
        exit(0);
    }
    qsort(tq, (size_t)sql_runs, sizeof *tq, cmp_d);
    double sql = tq[sql_runs / 2];
    bool same = json_equal(from_view, from_sql);
    json_decref(from_view);
    json_decref(from_sql);
    group_view_free(gv);
    reports_free(rep);
    store_conn_close(d.conn);
    store_close(st);
    int raw_n = raw_groups < groups ? raw_groups : groups;
    printf("leaderboard over a year: %d groups × %d customers, %lld group-day rows; raw "
           "member-day counts for the first %d groups: %lld\n",
           groups, people, (long long)(days_rows >= 0 ? days_rows : (int64_t)gs.days), raw_n,
           (long long)raw);
    printf("  group view: %zu stints, %zu group-days, %.0f MB, built in %.1f s (untimed)\n",
           gs.stints, gs.days, (double)gs.bytes / 1048576.0, load);
    printf("  siyu groups_report from the group view, median of %d  %8.1f ms (target < 200 ms)\n",
           runs, med * 1e3);
    printf("  siyu groups_report by SQL (the reference), %s of %d  %8.1f ms\n",
           sql_runs > 1 ? "median" : "one", sql_runs, sql * 1e3);
    printf("  ratio view / SQL %.4f (%.0fx faster); answers identical: %s\n", med / sql, sql / med,
           same ? "yes" : "NO");
    if (best_sql > 0)
        printf("  plain SQL GROUP BY over the raw counts of %d groups, best of %d  %8.1f ms "
               "(x %d/%d: %.0f ms)\n",
               raw_n, runs, best_sql * 1e3, groups, raw_n, best_sql * 1e3 * groups / raw_n);
    if (!same) exit(1);
}

static void board(const char *dir, int groups, int people, int runs, int raw_groups, bool reuse)
{
    char path[512];
    snprintf(path, sizeof path, "%s/groups-board.db", dir);
    store_t *st;
    dom d;
    siyu_err e;
    siyu_err_init(&e);
    struct stat sb;
    if (reuse && stat(path, &sb) == 0) { /* --reuse: the store a previous run wrote */
        store_options o = {.sync = STORE_SYNC_NORMAL};
        memset(&d, 0, sizeof d);
        if (store_open(path, &o, &st, &e)) die("open", &e);
        d.who.role = ROLE_ADMIN;
        d.now = clock_now();
        report(st, &d, groups, people, runs, raw_groups, -1, -1, 0);
        return;
    }
    fresh(path, &st, &d, &e);
    store_conn_close(d.conn);
    int32_t today = time_local_day(d.now), from = today - 364;
    /* a year of a chain's groups, written straight into siyu's tables (untimed) */
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_exec(db, "PRAGMA synchronous=OFF; BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *g, *m, *a, *dd;
    sqlite3_prepare_v2(db,
                       "INSERT INTO chat_groups(id, chat_id, store_id, owner_id, owner_userid,"
                       " name, theme, cap, state, created_at, updated_at) VALUES (?1, 'c' || ?1,"
                       " ?3, ?4, 'g-1', 'group ' || ?1, ?5, 200, 'normal', ?2, ?2)",
                       -1, &g, NULL);
    sqlite3_prepare_v2(db,
                       "INSERT INTO chat_group_members(group_id, person, is_staff, joined_at,"
                       " joined_day, quit_at, quit_day, quit_scene) VALUES (?1, ?2, 0, ?3, ?4,"
                       " ?5, ?6, ?7)",
                       -1, &m, NULL);
    sqlite3_prepare_v2(db,
                       "INSERT INTO chat_group_activity(group_id, person, day, messages)"
                       " VALUES (?1, ?2, ?3, ?4)",
                       -1, &a, NULL);
    sqlite3_prepare_v2(db,
                       "INSERT INTO chat_group_days(group_id, day, speakers, messages)"
                       " VALUES (?1, ?2, ?3, ?4)",
                       -1, &dd, NULL);
    int64_t raw = 0, days_rows = 0;
    int *sp = calloc(365, sizeof *sp), *ms = calloc(365, sizeof *ms);
    for (int gi = 1; gi <= groups; gi++) {
        /* a chain's spread: 200 stores, a guide owning ten groups, eight themes (the
         * roll-ups by store, guide and theme have thousands of rows); store and staff ids
         * name no rows here, which the report does not read */
        static const char *const themes[] = {"fresh", "health", "baby",  "beauty",
                                             "wine",  "tea",    "snack", "pets"};
        sqlite3_bind_int64(g, 1, gi);
        sqlite3_bind_int64(g, 2, (int64_t)from * 86400);
        sqlite3_bind_int64(g, 3, 1 + gi % 200);
        sqlite3_bind_int64(g, 4, 1 + (gi - 1) / 10);
        sqlite3_bind_text(g, 5, themes[gi % 8], -1, SQLITE_STATIC);
        sqlite3_step(g);
        sqlite3_reset(g);
        memset(sp, 0, 365 * sizeof *sp);
        memset(ms, 0, 365 * sizeof *ms);
        for (int p = 0; p < people; p++) {
            char person[32];
            snprintf(person, sizeof person, "wm%d-%d", gi, p);
            int jd = (int)rnd(300), qd = rnd(10) == 0 ? jd + 1 + (int)rnd(364 - jd) : -1;
            sqlite3_bind_int64(m, 1, gi);
            sqlite3_bind_text(m, 2, person, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(m, 3, ((int64_t)from + jd) * 86400);
            sqlite3_bind_int64(m, 4, from + jd);
            if (qd >= 0) {
                sqlite3_bind_int64(m, 5, ((int64_t)from + qd) * 86400);
                sqlite3_bind_int64(m, 6, from + qd);
                sqlite3_bind_text(m, 7, "left", -1, SQLITE_STATIC);
            } else {
                sqlite3_bind_null(m, 5);
                sqlite3_bind_null(m, 6);
                sqlite3_bind_null(m, 7);
            }
            sqlite3_step(m);
            sqlite3_reset(m);
            if (gi > raw_groups) {
                /* past the raw groups only the roll-up is written: about one day in ten
                 * of the stay, drawn directly (a full year per customer would be 36 500
                 * draws per group; the raw rows would be hundreds of millions) */
                int stay = (qd >= 0 ? qd : 365) - jd;
                for (int k = 0; k < stay / 10; k++) {
                    int day = jd + (int)rnd((uint32_t)stay);
                    sp[day]++;
                    ms[day] += 1 + (int)rnd(20);
                }
                continue;
            }
            for (int day = jd; day < (qd >= 0 ? qd : 365); day++) {
                if (rnd(10)) continue;
                int msgs = 1 + (int)rnd(20);
                sqlite3_bind_int64(a, 1, gi);
                sqlite3_bind_text(a, 2, person, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(a, 3, from + day);
                sqlite3_bind_int64(a, 4, msgs);
                sqlite3_step(a);
                sqlite3_reset(a);
                sp[day]++;
                ms[day] += msgs;
                raw++;
            }
        }
        for (int day = 0; day < 365; day++) {
            if (!sp[day]) continue;
            sqlite3_bind_int64(dd, 1, gi);
            sqlite3_bind_int64(dd, 2, from + day);
            sqlite3_bind_int64(dd, 3, sp[day]);
            sqlite3_bind_int64(dd, 4, ms[day]);
            sqlite3_step(dd);
            sqlite3_reset(dd);
            days_rows++;
        }
    }
    free(sp);
    free(ms);
    sqlite3_finalize(g);
    sqlite3_finalize(m);
    sqlite3_finalize(a);
    sqlite3_finalize(dd);
    sqlite3_exec(db, "COMMIT; ANALYZE", NULL, NULL, NULL);
    /* the plain GROUP BY over the raw counts */
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db,
                       "SELECT group_id, SUM(messages), SUM(messages > 0) AS sd FROM"
                       " chat_group_activity WHERE day >= ?1 AND day <= ?2 GROUP BY group_id"
                       " ORDER BY 2 DESC LIMIT 100",
                       -1, &q, NULL);
    double best_sql = 1e9;
    for (int r = 0; r < runs; r++) {
        double t = secs();
        sqlite3_bind_int64(q, 1, from);
        sqlite3_bind_int64(q, 2, today);
        while (sqlite3_step(q) == SQLITE_ROW) {
        }
        sqlite3_reset(q);
        t = secs() - t;
        if (t < best_sql) best_sql = t;
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    report(st, &d, groups, people, runs, raw_groups, raw, days_rows, best_sql);
}

int main(int argc, char **argv)
{
    int groups = 50000, people = 200, board_groups = 2000, runs = 5, raw_groups = 2000;
    bool reuse = false;
    const char *dir = "bench/out";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--groups") == 0)
            groups = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--people") == 0)
            people = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--board-groups") == 0)
            board_groups = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--reuse") == 0)
            reuse = atoi(argv[i + 1]) != 0;
        else if (strcmp(argv[i], "--raw-groups") == 0)
            raw_groups = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
    }
    if (groups < 0 || people < 1 || board_groups < 1 || runs < 1) {
        fprintf(stderr, "usage: bench_groups [--groups N] [--people P] [--board-groups M] "
                        "[--runs K] [--raw-groups R] [--reuse 1] [--dir DIR]\n");
        return 2;
    }
    mkdir(dir, 0755);
    if (groups) ingest(dir, groups, people); /* --groups 0: the leaderboard alone */
    board(dir, board_groups, people, runs, raw_groups, reuse);
    return 0;
}
