/* bench_tasks.c — issue 15's figures for guide tasks.
 *
 *   bench_tasks [--members N] [--contacts M] [--runs R] [--cache-mib 256]
 *
 * 1. Launch. A chain of N members (default 1 000 000) over 50 stores and 1 000 guides,
 *    30% of them with a live WeCom contact edge (a tenth of those to another guide than
 *    their bound one, so the credited-guide rule has work to do), is written straight into
 *    a SQLite store (not timed). Timed: POST /task-campaigns' domain call for every
 *    member (kind call, a script, a 10% holdout) in one write transaction, committed —
 *    the holdout split, one INSERT … SELECT per 5 000 members choosing each credited
 *    guide, the holdout rows. Against it, on the same store: the plain INSERT … SELECT a
 *    hand-written SQL launch would be — one task per live member on their bound guide,
 *    no credited-guide rule, no holdout — committed.
 * 2. The workbench of one guide with M customers (default 5 000): bound to them, each a
 *    live contact, three orders each over 90 days, a coupon for one in ten, predictions,
 *    and 200 open tasks. Timed: guides_workbench in a read transaction, the median of R
 *    runs (default 21). Against it: the plain SQL queries it replaces, prepared once and
 *    run through SQLite directly on the same file (no JSON, no layers), median of R. */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "guides/guides.h"
#include "store/store.h"

static double secs(uint64_t a, uint64_t b)
{
    return (double)(b - a) / 1e9;
}

static void die(const char *what, const siyu_err *e)
{
    fprintf(stderr, "bench_tasks: %s: %s\n", what, e ? e->message : "");
    exit(1);
}

static void sq(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "bench_tasks: %s: %s\n", sql, err);
        exit(1);
    }
}

/* CPU time of this thread, ms: the figure a loaded machine does not inflate */
/* The process's peak resident memory since reset_peak (Linux: VmHWM, reset by
 * clear_refs 5), in MiB; -1 when unknown. */
static void reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static double peak_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kib = atof(line + 6);
    if (f) fclose(f);
    return kib < 0 ? -1 : kib / 1024;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long members = 1000000, contacts = 5000;
    int runs = 21;
    int cache_mib = 256; /* the launching connection's page cache */
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--members") == 0) members = atol(argv[i + 1]);
        if (strcmp(argv[i], "--contacts") == 0) contacts = atol(argv[i + 1]);
        if (strcmp(argv[i], "--runs") == 0) runs = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--cache-mib") == 0) cache_mib = atoi(argv[i + 1]);
    }
    const int stores = 50, guides = 1000;
    int64_t now = 1773000000; /* 2026-03-09 */
    char dir[] = "/tmp/siyu-bench-tasks-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[128];
    snprintf(path, sizeof path, "%s/t.db", dir);
    store_options so = {.sync = STORE_SYNC_NORMAL, .create = true};
    store_t *st;
    siyu_err e;
    siyu_err_init(&e);
    if (store_open(path, &so, &st, &e)) die("store", &e);

    /* ---- the chain, straight into the file ---- */
    printf("== chain: %ld members, %d stores, %d guides (not timed)\n", members, stores, guides);
    fflush(stdout);
    uint64_t t0 = clock_mono_ns();
    sqlite3 *db;
    sqlite3_open(path, &db);
    sq(db, "PRAGMA synchronous=OFF");
    sq(db, "BEGIN");
    sqlite3_stmt *s;
    sqlite3_prepare_v2(db,
                       "INSERT INTO stores(id, name, code, kind, region, created_at) VALUES"
                       " (?1, 'store ' || ?1, 'S' || ?1, 'physical', 'r' || (?1 % 5), 0)",
                       -1, &s, NULL);
    for (int i = 1; i <= stores; i++) {
        sqlite3_bind_int(s, 1, i);
        sqlite3_step(s);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    sqlite3_prepare_v2(db,
                       "INSERT INTO staff(id, name, role, store_id, created_at) VALUES"
                       " (?1, 'guide ' || ?1, 'guide', ?2, 0)",
                       -1, &s, NULL);
    for (int i = 1; i <= guides; i++) {
        sqlite3_bind_int(s, 1, i);
        sqlite3_bind_int(s, 2, (i - 1) % stores + 1);
        sqlite3_step(s);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    sqlite3_stmt *c;
    sqlite3_prepare_v2(db,
                       "INSERT INTO members(id, name, store_id, guide_id, join_channel,"
                       " joined_at, created_at, updated_at) VALUES (?1, 'm' || ?1, ?2, ?3,"
                       " 'store', ?4, ?4, ?4)",
                       -1, &s, NULL);
    sqlite3_prepare_v2(db,
                       "INSERT INTO contacts(member_id, guide_id, external_userid, added_at,"
                       " updated_at) VALUES (?1, ?2, 'wm' || ?1, ?3, ?3)",
                       -1, &c, NULL);
    /* guide 1 is the workbench's guide: members 1..contacts are theirs */
    for (long m = 1; m <= members; m++) {
        int g = m <= contacts ? 1 : (int)(m % (guides - 1)) + 2;
        sqlite3_bind_int64(s, 1, m);
        sqlite3_bind_int(s, 2, (g - 1) % stores + 1);
        sqlite3_bind_int(s, 3, g);
        sqlite3_bind_int64(s, 4, now - 400 * 86400 + m % (300 * 86400));
        sqlite3_step(s);
        sqlite3_reset(s);
        if (m <= contacts || m % 10 < 3) {
            int cg = m <= contacts || m % 100 != 7 ? g : (g % guides) + 1;
            sqlite3_bind_int64(c, 1, m);
            sqlite3_bind_int(c, 2, cg);
            sqlite3_bind_int64(c, 3, now - 86400 * (m % 200) - 60);
            sqlite3_step(c);
            sqlite3_reset(c);
        }
    }
    sqlite3_finalize(s);
    sqlite3_finalize(c);
    /* the workbench guide's customers: three orders each over 90 days, a coupon for one in
     * ten expiring within the week, predictions, 200 open tasks */
    sq(db, "INSERT INTO coupon_templates(id, name, spec, stock, created_at) VALUES"
           " (1, 't', '{}', NULL, 0)");
    sqlite3_prepare_v2(db,
                       "INSERT INTO orders(channel, external_id, store_id, member_id,"
                       " guide_id, placed_at, total_cents, discount_cents, points_used,"
                       " item_count, digest) VALUES ('store', 'o' || ?1 || '-' || ?2, 1, ?1,"
                       " 1, ?3, 5000, 0, 0, 1, x'00')",
                       -1, &s, NULL);
    for (long m = 1; m <= contacts; m++)
        for (int k = 0; k < 3; k++) {
            sqlite3_bind_int64(s, 1, m);
            sqlite3_bind_int(s, 2, k);
            sqlite3_bind_int64(s, 3, now - 86400 * ((m * 7 + k * 31) % 90) - 3600);
            sqlite3_step(s);
            sqlite3_reset(s);
        }
    sqlite3_finalize(s);
    char q[512];
    snprintf(q, sizeof q,
             "INSERT INTO coupons(code, template_id, member_id, first_member_id, state,"
             " issued_at, valid_from, expires_at) SELECT 'c' || id, 1, id, id, 'issued', %lld,"
             " %lld, %lld FROM members WHERE id <= %ld AND id %% 10 = 0",
             (long long)now - 86400, (long long)now - 86400, (long long)now + 3 * 86400, contacts);
    sq(db, q);
    snprintf(q, sizeof q,
             "INSERT INTO model_runs(id, at, cal_end_day, unit_days, customers, report)"
             " VALUES (1, %lld, 0, 1, 0, '{}')",
             (long long)now);
    sq(db, q);
    snprintf(q, sizeof q,
             "INSERT INTO member_predictions(member_id, run_id, x, p_alive,"
             " expected_purchases_90d, expected_value_cents, clv_12m_cents) SELECT id, 1, 3,"
             " (id %% 100) / 100.0, 1.0, 5000, 20000 FROM members WHERE id <= %ld",
             contacts);
    sq(db, q);
    snprintf(q, sizeof q,
             "INSERT INTO guide_tasks(guide_id, member_id, kind, state, created_at, due_at)"
             " SELECT 1, id, 'call', 'open', %lld, %lld + (id %% 3 - 1) * 86400 FROM members"
             " WHERE id <= 200",
             (long long)now, (long long)now);
    sq(db, q);
    sq(db, "COMMIT");
    sqlite3_close(db); /* no ANALYZE: siyu's stores have none (stale statistics of a small
                        * guide_tasks made SQLite scan it whole once it had a million rows) */
    printf("   built in %.1f s\n", secs(t0, clock_mono_ns()));

    dom d = {.now = now};
    d.who.role = ROLE_ADMIN;
    if (store_conn_open(st, &d.conn, &e)) die("conn", &e);
    store_conn_cache(d.conn, cache_mib);

    /* ---- 1. the launch ---- */
    printf("== launch: a task campaign over every member\n");
    fflush(stdout);
    json_t *body = json_pack("{s:s, s:s, s:s, s:{}, s:s, s:i}", "name", "bench", "kind", "call",
                             "script", "{{member.name}}您好，我是{{guide.name}}", "target", "due",
                             "2026-03-12T10:00:00+08:00", "holdout_pct", 10);
    json_t *out = NULL;
    reset_peak();
    t0 = clock_mono_ns();
    double lc0 = cpu_ms();
    /* in a savepoint, as the group committer runs every request (which keeps the page
     * cache from spilling: store_sqlite.c) */
    if (store_begin(d.conn, true, &e) || store_savepoint(d.conn, &e)) die("begin", &e);
    if (task_campaigns_create(&d, NULL, body, &out, &e) < 0) die("launch", &e);
    store_savepoint_release(d.conn);
    uint64_t t_work = clock_mono_ns();
    if (store_commit(d.conn, &e)) die("commit", &e);
    double launch = secs(t0, clock_mono_ns()), launch_cpu = (cpu_ms() - lc0) / 1000;
    double commit_s = secs(t_work, clock_mono_ns());
    long tasks = (long)json_integer_value(json_object_get(out, "tasks"));
    long held = (long)json_integer_value(json_object_get(out, "held_out"));
    json_decref(out);
    json_decref(body);
    printf("   siyu: %.2f s (%.2f s CPU; the commit %.2f s of it) — %ld tasks, %ld held out"
           " (%.0f members/s); peak memory %.0f MiB\n",
           launch, launch_cpu, commit_s, tasks, held, (double)(tasks + held) / launch, peak_mib());

    sqlite3_open(path, &db);
    sq(db, "PRAGMA synchronous=NORMAL");
    t0 = clock_mono_ns();
    double pc0 = cpu_ms();
    sq(db, "BEGIN IMMEDIATE");
    snprintf(q, sizeof q,
             "INSERT INTO guide_tasks(guide_id, member_id, campaign_id, kind, state, created_at,"
             " due_at) SELECT guide_id, id, 999, 'call', 'open', %lld, %lld FROM members"
             " WHERE merged_into IS NULL",
             (long long)now, (long long)now + 3 * 86400);
    sq(db, q);
    sq(db, "COMMIT");
    double plain = secs(t0, clock_mono_ns()), plain_cpu = (cpu_ms() - pc0) / 1000;
    printf("   plain INSERT … SELECT: %.2f s (%.2f s CPU) — %d rows\n", plain, plain_cpu,
           sqlite3_changes(db));
    printf("   ratio siyu / plain: %.2f (CPU %.2f)\n", launch / plain, launch_cpu / plain_cpu);
    sq(db, "DELETE FROM guide_tasks WHERE campaign_id = 999");
    sqlite3_close(db);

    /* ---- 2. the workbench ---- */
    printf("== workbench: a guide with %ld customers (median of %d)\n", contacts, runs);
    fflush(stdout);
    double *w = malloc((size_t)runs * sizeof *w), *p = malloc((size_t)runs * sizeof *p);
    double *wc = malloc((size_t)runs * sizeof *wc), *pc = malloc((size_t)runs * sizeof *pc);
    size_t bytes = 0;
    for (int r = 0; r < runs; r++) {
        t0 = clock_mono_ns();
        double c0 = cpu_ms();
        if (store_begin(d.conn, false, &e)) die("begin", &e);
        if (guides_workbench(&d, 1, 60, &out, &e) < 0) die("workbench", &e);
        char *text = json_dumps(out, JSON_COMPACT);
        store_rollback(d.conn);
        w[r] = secs(t0, clock_mono_ns()) * 1000;
        wc[r] = cpu_ms() - c0;
        if (r == 0) {
            json_t *f = json_object_get(out, "figures");
            printf("   members %lld, contacts %lld, overdue %lld, to call %lld\n",
                   (long long)json_integer_value(json_object_get(f, "members")),
                   (long long)json_integer_value(json_object_get(f, "contacts")),
                   (long long)json_integer_value(
                       json_object_get(json_object_get(out, "tasks_overdue"), "count")),
                   (long long)json_array_size(
                       json_object_get(json_object_get(out, "members_to_call"), "items")));
        }
        bytes = strlen(text);
        free(text);
        json_decref(out);
    }
    /* the plain SQL it replaces: the same questions, straight to SQLite */
    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    static const char *const plain_q[] = {
        "SELECT count(*) FROM guide_tasks WHERE guide_id = ?1 AND state = 'open'"
        " AND due_at >= ?2",
        "SELECT count(*) FROM guide_tasks WHERE guide_id = ?1 AND state = 'open' AND due_at < ?2",
        "SELECT id, member_id, due_at FROM guide_tasks WHERE guide_id = ?1 AND state = 'open'"
        " ORDER BY due_at LIMIT 100",
        "SELECT m.id, m.name, m.birthday, p.p_alive, (SELECT min(k.expires_at) FROM coupons k"
        " WHERE k.member_id = m.id AND k.state = 'issued' AND k.expires_at >= ?2),"
        " (SELECT max(o.placed_at) FROM orders o WHERE o.member_id = m.id),"
        " (SELECT sum(o.total_cents) FROM orders o WHERE o.member_id = m.id AND o.placed_at >= ?2"
        " - 2592000) FROM members m LEFT JOIN member_predictions p ON p.member_id = m.id"
        " WHERE m.guide_id = ?1",
        "SELECT count(*), sum(added_at >= ?2 - 2592000), sum(customer_deleted_at >= ?2 - 2592000)"
        " FROM contacts WHERE guide_id = ?1",
        "SELECT member_id, added_at FROM contacts WHERE guide_id = ?1 AND added_at >= ?2 - 604800"
        " ORDER BY added_at DESC LIMIT 50",
    };
    enum { NQ = sizeof plain_q / sizeof *plain_q };
    sqlite3_stmt *ps[NQ];
    for (int i = 0; i < NQ; i++)
        if (sqlite3_prepare_v2(db, plain_q[i], -1, &ps[i], NULL) != SQLITE_OK) {
            fprintf(stderr, "bench_tasks: %s: %s\n", plain_q[i], sqlite3_errmsg(db));
            return 1;
        }
    long rows = 0;
    for (int r = 0; r < runs; r++) {
        t0 = clock_mono_ns();
        double c0 = cpu_ms();
        sq(db, "BEGIN");
        for (int i = 0; i < NQ; i++) {
            sqlite3_bind_int(ps[i], 1, 1);
            sqlite3_bind_int64(ps[i], 2, now);
            while (sqlite3_step(ps[i]) == SQLITE_ROW)
                rows += r == 0;
            sqlite3_reset(ps[i]);
        }
        sq(db, "COMMIT");
        p[r] = secs(t0, clock_mono_ns()) * 1000;
        pc[r] = cpu_ms() - c0;
    }
    for (int i = 0; i < NQ; i++)
        sqlite3_finalize(ps[i]);
    sqlite3_close(db);
    qsort(w, (size_t)runs, sizeof *w, cmp_d);
    qsort(p, (size_t)runs, sizeof *p, cmp_d);
    qsort(wc, (size_t)runs, sizeof *wc, cmp_d);
    qsort(pc, (size_t)runs, sizeof *pc, cmp_d);
    printf("   siyu: %.1f ms median (%.1f ms slowest; %.1f ms CPU), %zu bytes of JSON\n",
           w[runs / 2], w[runs - 1], wc[runs / 2], bytes);
    printf("   plain SQL: %.1f ms median (%.1f ms CPU; %ld rows)\n", p[runs / 2], pc[runs / 2],
           rows);
    printf("   ratio siyu / plain: %.2f (CPU %.2f)\n", w[runs / 2] / p[runs / 2],
           wc[runs / 2] / pc[runs / 2]);
    free(w);
    free(p);
    free(wc);
    free(pc);
    store_conn_close(d.conn);
    store_close(st);
    snprintf(q, sizeof q, "rm -rf %s", dir);
    if (getenv("BENCH_TASKS_KEEP"))
        printf("   store kept: %s\n", path);
    else if (system(q) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return 0;
}
