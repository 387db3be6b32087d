/* bench_reports.c — the chain-wide 12-month KPI report and the per-store leaderboard,
 * from the in-memory fact store against the same figures by SQL over SQLite.
 *
 *   bench_reports [--orders N] [--db PATH] [--runs K] [--sql-runs J] [--skip-sql] [--pg URL]
 *
 * Generates N orders (default 10 million) over 24 months for a chain of 200 stores
 * (one mall, one live room), 400 guides and N/10 members, straight through the
 * incremental API, and writes the same orders and members into a SQLite file with
 * siyu's schema (kept between runs: reused when it already holds N orders). Items
 * live in memory only: neither timed report reads them. Prints both latencies
 * (median of K runs for reports, best of J (default 2) for SQL) and the ratio. Both
 * sides compute the same figures: the KPI report's current and previous periods (with
 * churn), and per store both periods' sales, active members, repeat buyers, visit days
 * and churn. Everything runs on one thread. The first report after the bulk load also
 * rebuilds the member-major records: its time is printed apart.
 *
 * Then, on each store (the SQLite file, and with --pg URL a PostgreSQL database of the
 * bench's own on that server, siyu_bench_reports_N, the same rows by COPY, kept between
 * runs like the file): siyu's reports_load from it (timed) and the same two reports on the
 * loaded facts, and the same SQL figures on that store (on PostgreSQL also with one
 * process). Printed per store with the ratios PostgreSQL / SQLite and SQL / siyu. Every
 * figure must agree across the incremental facts, the loaded ones and SQL on both
 * engines, and the reports loaded from the two stores must be the same answers. */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "pgbench.h"
#include "reports/reports.h"
#include "sqlref.h"
#include "store/store.h"

#define NSTORES 200
#define NGUIDES 400

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static inline uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)((rng >> 11) % n);
}

typedef struct gen_order {
    int64_t id, member, store, guide, placed_at, total, refunded;
    int ch, items;
} gen_order;

static const char *const channels[] = {"store",       "miniprogram",  "mall",       "live",
                                       "points_mall", "distribution", "third_party"};

static const char *store_kind(int s)
{
    return s == 1 ? "mall" : s == 2 ? "live" : "physical";
}

/* The whole chain is a function of the order index and the seed. */
static void gen(int64_t i, int64_t n_orders, int64_t n_members, int32_t d0, int32_t days,
                gen_order *o)
{
    o->id = i + 1;
    /* every order from its own seed: the memory and SQL sides draw the same rows */
    uint64_t z = (uint64_t)i * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    rng = (z ^ (z >> 31)) | 1;
    /* spread evenly over the days, in id order */
    double u = (double)(i + 1) / (double)n_orders;
    int32_t d = d0 + (int32_t)((double)days * u);
    if (d >= d0 + days) d = d0 + days - 1;
    o->placed_at = (int64_t)d * 86400 - 8 * 3600 + 8 * 3600 + rnd(13 * 3600);
    o->store = 1 + rnd(NSTORES);
    o->ch = o->store == 1 ? (rnd(2) ? 1 : 2) : o->store == 2 ? 3 : (rnd(20) ? 0 : 6);
    /* members: 60% of orders, skewed so some buy often */
    o->member = 0;
    if (rnd(10) < 6) {
        uint32_t a = rnd((uint32_t)n_members), b = rnd((uint32_t)n_members);
        o->member = 1 + (a < b ? a : b);
    }
    o->guide = rnd(3) ? 1 + (o->store - 1) * 2 + rnd(2) : 0;
    o->items = 1 + (int)rnd(4);
    o->total = 500 + rnd(30000);
    int r = (int)rnd(40);
    o->refunded = r == 0 ? o->total : r == 1 ? o->total / 3 : 0;
}

static int32_t member_join_day(int64_t m, int32_t d0, int32_t days)
{
    return d0 - 365 + (int32_t)((uint64_t)m * 2654435761u % (uint64_t)(days + 365));
}

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t db_orders(const char *path)
{
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_stmt *s;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM orders", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

static void write_db(const char *path, int64_t n_orders, int64_t n_members, int32_t d0,
                     int32_t days)
{
    remove(path);
    siyu_err e;
    siyu_err_init(&e);
    store_t *st;
    store_options opt = {.sync = STORE_SYNC_NORMAL, .create = true};
    if (store_open(path, &opt, &st, &e)) {
        fprintf(stderr, "bench_reports: %s: %s\n", path, e.message);
        exit(1);
    }
    store_close(st);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) sqlref_die(db, "open");
    sqlite3_exec(db,
                 "PRAGMA synchronous=OFF; PRAGMA journal_mode=OFF; PRAGMA cache_size=-1048576;"
                 "BEGIN",
                 NULL, NULL, NULL);
    sqlite3_exec(db, "INSERT INTO brands(id, name, created_at) VALUES (1, 'b1', 0), (2, 'b2', 0)",
                 NULL, NULL, NULL);
    sqlite3_stmt *s;
    sqlite3_prepare_v2(db,
                       "INSERT INTO stores(id, name, code, kind, brand_id, created_at) VALUES (?1, "
                       "?2, ?2, ?3, ?4, 0)",
                       -1, &s, NULL);
    for (int i = 1; i <= NSTORES; i++) {
        char code[16];
        snprintf(code, sizeof code, "S%d", i);
        sqlite3_bind_int(s, 1, i);
        sqlite3_bind_text(s, 2, code, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 3, store_kind(i), -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 4, 1 + i % 2);
        sqlite3_step(s);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    sqlite3_prepare_v2(
        db,
        "INSERT INTO staff(id, name, role, store_id, created_at) VALUES (?1, 'g', 'guide', ?2, 0)",
        -1, &s, NULL);
    for (int g = 1; g <= NGUIDES; g++) {
        sqlite3_bind_int(s, 1, g);
        sqlite3_bind_int(s, 2, 1 + (g - 1) / 2);
        sqlite3_step(s);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    sqlite3_prepare_v2(db,
                       "INSERT INTO members(id, store_id, guide_id, join_channel, joined_at, "
                       "created_at, updated_at)"
                       " VALUES (?1, ?2, ?3, 'store', ?4, 0, 0)",
                       -1, &s, NULL);
    for (int64_t m = 1; m <= n_members; m++) {
        int64_t store = 1 + m % NSTORES;
        sqlite3_bind_int64(s, 1, m);
        sqlite3_bind_int64(s, 2, store);
        sqlite3_bind_int64(s, 3, 1 + (store - 1) * 2 + m % 2);
        sqlite3_bind_int64(s, 4, (int64_t)member_join_day(m, d0, days) * 86400);
        sqlite3_step(s);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    sqlite3_prepare_v2(
        db,
        "INSERT INTO orders(id, channel, external_id, store_id, member_id, guide_id, placed_at,"
        " total_cents, discount_cents, points_used, refunded_cents, item_count, digest)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, 0, ?9, ?10, ?11)",
        -1, &s, NULL);
    uint64_t t0 = clock_mono_ns();
    for (int64_t i = 0; i < n_orders; i++) {
        gen_order o;
        gen(i, n_orders, n_members, d0, days, &o);
        char ext[24];
        snprintf(ext, sizeof ext, "X%lld", (long long)o.id);
        unsigned char dg[16] = {0};
        memcpy(dg, &o.id, sizeof o.id);
        sqlite3_bind_int64(s, 1, o.id);
        sqlite3_bind_text(s, 2, channels[o.ch], -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, ext, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 4, o.store);
        if (o.member)
            sqlite3_bind_int64(s, 5, o.member);
        else
            sqlite3_bind_null(s, 5);
        if (o.guide)
            sqlite3_bind_int64(s, 6, o.guide);
        else
            sqlite3_bind_null(s, 6);
        sqlite3_bind_int64(s, 7, o.placed_at);
        sqlite3_bind_int64(s, 8, o.total);
        sqlite3_bind_int64(s, 9, o.refunded);
        sqlite3_bind_int(s, 10, o.items);
        sqlite3_bind_blob(s, 11, dg, 16, SQLITE_TRANSIENT);
        if (sqlite3_step(s) != SQLITE_DONE) sqlref_die(db, "insert");
        sqlite3_reset(s);
        if ((i + 1) % 1000000 == 0)
            fprintf(stderr, "  sqlite: %lld orders (%.0f s)\n", (long long)(i + 1),
                    ms(clock_mono_ns() - t0) / 1000);
    }
    sqlite3_finalize(s);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) sqlref_die(db, "commit");
    sqlite3_close(db);
}

/* The same rows into the PostgreSQL database at url, by COPY: siyu's schema first (store_open
 * runs the migrations), then brands, stores, staff, members and orders with the foreign keys'
 * triggers off for the session (the rows are consistent by construction), then VACUUM ANALYZE
 * as any loaded database gets before it is queried. */
static void write_pg(const char *url, int64_t n_orders, int64_t n_members, int32_t d0, int32_t days)
{
    siyu_err e;
    siyu_err_init(&e);
    store_t *st;
    store_options opt = {.sync = STORE_SYNC_NORMAL, .create = true};
    if (store_open(url, &opt, &st, &e)) {
        fprintf(stderr, "bench_reports: %s: %s\n", url, e.message);
        exit(1);
    }
    store_close(st);
    PGconn *c = pgb_connect(url);
    pgb_exec(c, "SET session_replication_role = replica");
    pgb_exec(c, "BEGIN");
    pgb_exec(c, "INSERT INTO brands(id, name, created_at) VALUES (1, 'b1', 0), (2, 'b2', 0)");
    pgb_copy p;
    pgb_copy_begin(&p, c, "COPY stores(id, name, code, kind, brand_id, created_at) FROM STDIN");
    for (int i = 1; i <= NSTORES; i++)
        pgb_copy_row(&p, "%d\tS%d\tS%d\t%s\t%d\t0\n", i, i, i, store_kind(i), 1 + i % 2);
    pgb_copy_end(&p);
    pgb_copy_begin(&p, c, "COPY staff(id, name, role, store_id, created_at) FROM STDIN");
    for (int g = 1; g <= NGUIDES; g++)
        pgb_copy_row(&p, "%d\tg\tguide\t%d\t0\n", g, 1 + (g - 1) / 2);
    pgb_copy_end(&p);
    pgb_copy_begin(&p, c,
                   "COPY members(id, store_id, guide_id, join_channel, joined_at, created_at, "
                   "updated_at) FROM STDIN");
    for (int64_t m = 1; m <= n_members; m++) {
        int64_t store = 1 + m % NSTORES;
        pgb_copy_row(&p, "%lld\t%lld\t%lld\tstore\t%lld\t0\t0\n", (long long)m, (long long)store,
                     (long long)(1 + (store - 1) * 2 + m % 2),
                     (long long)member_join_day(m, d0, days) * 86400);
    }
    pgb_copy_end(&p);
    pgb_copy_begin(&p, c,
                   "COPY orders(id, channel, external_id, store_id, member_id, guide_id, placed_at,"
                   " total_cents, discount_cents, points_used, refunded_cents, item_count, digest)"
                   " FROM STDIN");
    uint64_t t0 = clock_mono_ns();
    for (int64_t i = 0; i < n_orders; i++) {
        gen_order o;
        gen(i, n_orders, n_members, d0, days, &o);
        char member[24] = "\\N", guide[24] = "\\N", dg[40];
        if (o.member) snprintf(member, sizeof member, "%lld", (long long)o.member);
        if (o.guide) snprintf(guide, sizeof guide, "%lld", (long long)o.guide);
        /* the digest SQLite gets: the id's bytes, then zeros (little-endian, as memcpy) */
        unsigned char raw[16] = {0};
        memcpy(raw, &o.id, sizeof o.id);
        for (int k = 0; k < 16; k++)
            snprintf(dg + 2 * k, 3, "%02x", raw[k]);
        pgb_copy_row(&p, "%lld\t%s\tX%lld\t%lld\t%s\t%s\t%lld\t%lld\t0\t0\t%lld\t%d\t\\\\x%s\n",
                     (long long)o.id, channels[o.ch], (long long)o.id, (long long)o.store, member,
                     guide, (long long)o.placed_at, (long long)o.total, (long long)o.refunded,
                     o.items, dg);
        if ((i + 1) % 1000000 == 0)
            fprintf(stderr, "  postgresql: %lld orders (%.0f s)\n", (long long)(i + 1),
                    ms(clock_mono_ns() - t0) / 1000);
    }
    pgb_copy_end(&p);
    pgb_exec(c, "COMMIT");
    pgb_exec(c, "VACUUM ANALYZE");
    PQfinish(c);
}

/* One store's side: siyu loading its facts from the store, then the reports in memory,
 * and the same figures by SQL on that store. */
typedef struct side {
    const char *name, *url;
    double load, first, kpi, lb, sql_kpi, sql_lb;
    double serial_kpi, serial_lb; /* PostgreSQL without parallel workers */
    json_t *kpi_j, *lb_j;
    sqlref_period sp, psp;
    sqlref_store rows[NSTORES + 1], prow[NSTORES + 1];
    size_t nrows, nprow;
} side;

static int check_against_sql(json_t *kpi, json_t *lb, const sqlref_period *sp,
                             const sqlref_period *prev_sp, sqlref_store *rows, size_t nrows,
                             sqlref_store *prow, size_t nprow, const char *who);

static void measure_reports(side *sd, const reports_query *q, int runs)
{
    siyu_err e;
    siyu_err_init(&e);
    store_t *st;
    store_conn *c;
    store_options opt = {.sync = STORE_SYNC_NORMAL};
    reports_t *r = NULL;
    uint64_t t0 = clock_mono_ns();
    if (store_open(sd->url, &opt, &st, &e) || store_conn_open(st, &c, &e) ||
        reports_load(c, &r, &e)) {
        fprintf(stderr, "bench_reports: %s: %s\n", sd->name, e.message);
        exit(1);
    }
    sd->load = ms(clock_mono_ns() - t0);
    store_conn_close(c);
    store_close(st);
    t0 = clock_mono_ns();
    json_decref(reports_kpi(r, q, &e));
    sd->first = ms(clock_mono_ns() - t0);
    uint64_t *tk = malloc(sizeof *tk * (size_t)runs), *tl = malloc(sizeof *tl * (size_t)runs);
    for (int i = 0; i < runs; i++) {
        json_decref(sd->kpi_j);
        json_decref(sd->lb_j);
        t0 = clock_mono_ns();
        sd->kpi_j = reports_kpi(r, q, &e);
        tk[i] = clock_mono_ns() - t0;
        t0 = clock_mono_ns();
        sd->lb_j = reports_leaderboard(r, q, REPORTS_BY_STORE, &e);
        tl[i] = clock_mono_ns() - t0;
    }
    qsort(tk, (size_t)runs, sizeof *tk, cmp_u64);
    qsort(tl, (size_t)runs, sizeof *tl, cmp_u64);
    sd->kpi = ms(tk[runs / 2]);
    sd->lb = ms(tl[runs / 2]);
    free(tk);
    free(tl);
    reports_free(r);
}

static void measure_sql(side *sd, const reports_query *q, int sql_runs, bool serial)
{
    sqlref_db *db = sqlref_open(sd->url);
    if (serial && db->pg) pgb_exec(db->pg, "SET max_parallel_workers_per_gather = 0");
    sd->sql_kpi = sd->sql_lb = 1e18;
    for (int i = 0; i < sql_runs; i++) {
        uint64_t t0 = clock_mono_ns();
        sqlref_period_kpis(db, q->from, q->to, &sd->sp);
        sqlref_period_kpis(db, q->from - 365, q->to - 365, &sd->psp); /* the previous period */
        double t = ms(clock_mono_ns() - t0);
        sd->sql_kpi = t < sd->sql_kpi ? t : sd->sql_kpi;
        t0 = clock_mono_ns();
        sd->nrows = sqlref_stores(db, q->from, q->to, sd->rows, NSTORES + 1);
        sd->nprow = sqlref_stores(db, q->from - 365, q->to - 365, sd->prow, NSTORES + 1);
        t = ms(clock_mono_ns() - t0);
        sd->sql_lb = t < sd->sql_lb ? t : sd->sql_lb;
    }
    sqlref_close(db);
}

int main(int argc, char **argv)
{
    int64_t n_orders = 10000000;
    int runs = 7, sql_runs = 2;
    const char *db_path = NULL, *pg_server = NULL;
    char pg_db[512] = "";
    bool skip_sql = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--orders") == 0 && i + 1 < argc)
            n_orders = atoll(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--sql-runs") == 0 && i + 1 < argc)
            sql_runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--skip-sql") == 0)
            skip_sql = true;
        else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db_path = argv[++i];
        else if (strcmp(argv[i], "--pg") == 0 && i + 1 < argc)
            pg_server = argv[++i];
        else {
            fprintf(stderr, "usage: bench_reports [--orders N] [--db PATH] [--runs K] [--sql-runs "
                            "J] [--skip-sql] [--pg URL]\n");
            return 2;
        }
    }
    if (n_orders < 1000 || runs < 1 || sql_runs < 1) {
        fprintf(stderr, "bench_reports: --orders at least 1000, --runs at least 1\n");
        return 2;
    }
    char pathbuf[256];
    if (!db_path) {
        snprintf(pathbuf, sizeof pathbuf, "/tmp/siyu-bench-reports-%lld.db", (long long)n_orders);
        db_path = pathbuf;
    }
    const int64_t n_members = n_orders / 10;
    int32_t to = 0, d0;
    date_parse("2026-10-31", &to);
    const int32_t days = 730;
    d0 = to - days + 1;

    /* ---- the fact store, through the incremental API ---- */
    siyu_err e;
    siyu_err_init(&e);
    reports_t *r = reports_new();
    uint64_t t0 = clock_mono_ns();
    for (int s = 1; s <= NSTORES; s++) {
        reports_store_in in = {.id = s, .kind = store_kind(s), .brand_id = 1 + s % 2};
        reports_upsert_store(r, &in, &e);
    }
    for (int64_t m = 1; m <= n_members; m++) {
        int64_t store = 1 + m % NSTORES;
        reports_member_in in = {.id = m,
                                .joined_at = (int64_t)member_join_day(m, d0, days) * 86400,
                                .join_channel = "store",
                                .store_id = store,
                                .guide_id = 1 + (store - 1) * 2 + m % 2};
        reports_upsert_member(r, &in, &e);
        if (m % 3 == 0) reports_set_reach(r, m, m % 2 ? "wecom" : "public_account", true, &e);
    }
    static const char *const cats[] = {"fruit", "dairy", "snack", "grain", "drink"};
    char skus[2000][8];
    for (int k = 0; k < 2000; k++)
        snprintf(skus[k], sizeof skus[k], "K%04d", k);
    for (int64_t i = 0; i < n_orders; i++) {
        gen_order o;
        gen(i, n_orders, n_members, d0, days, &o);
        reports_item_in it = {.sku = skus[rnd(2000)],
                              .category = cats[rnd(5)],
                              .qty = o.items,
                              .unit_price_cents = o.total / o.items};
        reports_order_in in = {.id = o.id,
                               .member_id = o.member,
                               .store_id = o.store,
                               .guide_id = o.guide,
                               .channel = channels[o.ch],
                               .placed_at = o.placed_at,
                               .total_cents = o.total,
                               .refunded_cents = o.refunded,
                               .item_count = o.items,
                               .items = &it,
                               .n_items = 1};
        if (reports_add_order(r, &in, &e)) {
            fprintf(stderr, "bench_reports: add_order: %s\n", e.message);
            return 1;
        }
    }
    reports_stats rs;
    reports_get_stats(r, &rs);
    printf("facts: %lld orders, %zu members, %zu items built in %.0f ms (~%zu MiB)\n",
           (long long)n_orders, rs.members, rs.items, ms(clock_mono_ns() - t0), rs.bytes >> 20);

    /* ---- the same rows in SQLite ---- */
    if (!skip_sql && db_orders(db_path) != n_orders) {
        fprintf(stderr, "writing %s ...\n", db_path);
        t0 = clock_mono_ns();
        write_db(db_path, n_orders, n_members, d0, days);
        fprintf(stderr, "  written in %.1f s\n", ms(clock_mono_ns() - t0) / 1000);
    }
    /* ---- and in PostgreSQL: a database of the bench's own, kept like the file ---- */
    if (!skip_sql && pg_server) {
        char name[64], sql[64];
        snprintf(name, sizeof name, "siyu_bench_reports_%lld", (long long)n_orders);
        bool kept = pgb_database(pg_server, name, false, pg_db, sizeof pg_db);
        int64_t have = -1;
        if (kept) {
            PGconn *c = pgb_connect(pg_db);
            snprintf(sql, sizeof sql, "SELECT count(*) FROM orders");
            have = pgb_int(c, sql);
            PQfinish(c);
        }
        if (have != n_orders) {
            pgb_database(pg_server, name, true, pg_db, sizeof pg_db);
            fprintf(stderr, "writing PostgreSQL database %s by COPY ...\n", name);
            t0 = clock_mono_ns();
            write_pg(pg_db, n_orders, n_members, d0, days);
            fprintf(stderr, "  written in %.1f s\n", ms(clock_mono_ns() - t0) / 1000);
        }
    }

    reports_query q = {.from = to - 364, .to = to, .channel = -1, .granularity = REPORTS_MONTH};
    /* ---- reports ---- */
    uint64_t *tk = malloc(sizeof *tk * (size_t)runs), *tl = malloc(sizeof *tl * (size_t)runs);
    json_t *kpi = NULL, *lb = NULL;
    /* the first report pays for rebuilding the member-major records after the load */
    t0 = clock_mono_ns();
    json_decref(reports_kpi(r, &q, &e));
    double first = ms(clock_mono_ns() - t0);
    printf("first KPI report after the load (rebuilds the member-major records) %.1f ms\n", first);
    for (int i = 0; i < runs; i++) {
        json_decref(kpi);
        json_decref(lb);
        t0 = clock_mono_ns();
        kpi = reports_kpi(r, &q, &e);
        tk[i] = clock_mono_ns() - t0;
        t0 = clock_mono_ns();
        lb = reports_leaderboard(r, &q, REPORTS_BY_STORE, &e);
        tl[i] = clock_mono_ns() - t0;
    }
    qsort(tk, (size_t)runs, sizeof *tk, cmp_u64);
    qsort(tl, (size_t)runs, sizeof *tl, cmp_u64);
    double rk = ms(tk[runs / 2]), rl = ms(tl[runs / 2]);

    if (skip_sql) {
        printf("KPI report (12 months + previous) %8.1f ms\nper-store leaderboard %8.1f ms\n", rk,
               rl);
        json_decref(kpi);
        json_decref(lb);
        reports_free(r);
        return 0;
    }
    reports_free(r); /* its answers are kept: one fact store in memory at a time */
    r = NULL;
    /* ---- each store: siyu loading from it, and the same figures by SQL on it ---- */
    side *sides = calloc(2, sizeof *sides);
    int nsides = pg_db[0] ? 2 : 1;
    sides[0].name = "SQLite";
    sides[0].url = db_path;
    sides[1].name = "PostgreSQL";
    sides[1].url = pg_db;
    int bad = 0;
    for (int k = 0; k < nsides; k++) {
        side *sd = &sides[k];
        fprintf(stderr, "%s: reports_load, reports, SQL ...\n", sd->name);
        measure_reports(sd, &q, runs);
        if (k == 1) { /* one process, as siyu's reports: the answers must not change */
            measure_sql(sd, &q, sql_runs, true);
            sd->serial_kpi = sd->sql_kpi;
            sd->serial_lb = sd->sql_lb;
            bad += check_against_sql(sd->kpi_j, sd->lb_j, &sd->sp, &sd->psp, sd->rows, sd->nrows,
                                     sd->prow, sd->nprow, "PostgreSQL, one process");
        }
        measure_sql(sd, &q, sql_runs, false);
        char who[64];
        snprintf(who, sizeof who, "%s, loaded", sd->name);
        bad += check_against_sql(sd->kpi_j, sd->lb_j, &sd->sp, &sd->psp, sd->rows, sd->nrows,
                                 sd->prow, sd->nprow, who);
    }
    /* the incremental facts against the SQL of the first store (items and reach in memory
     * only: compared on the figures SQL computes) */
    bad += check_against_sql(kpi, lb, &sides[0].sp, &sides[0].psp, sides[0].rows, sides[0].nrows,
                             sides[0].prow, sides[0].nprow, "incremental");
    if (nsides == 2) { /* the two engines must give the same answers, both ways */
        side *a = &sides[0], *b = &sides[1];
        if (!json_equal(a->kpi_j, b->kpi_j) || !json_equal(a->lb_j, b->lb_j)) {
            fprintf(stderr,
                    "MISMATCH: the reports loaded from SQLite and from PostgreSQL differ\n");
            bad++;
        }
        if (memcmp(&a->sp, &b->sp, sizeof a->sp) || memcmp(&a->psp, &b->psp, sizeof a->psp) ||
            a->nrows != b->nrows || a->nprow != b->nprow ||
            memcmp(a->rows, b->rows, a->nrows * sizeof *a->rows) ||
            memcmp(a->prow, b->prow, a->nprow * sizeof *a->prow)) {
            fprintf(stderr, "MISMATCH: the SQL figures on SQLite and on PostgreSQL differ\n");
            bad++;
        }
    }
    const side *s0 = &sides[0];
    json_t *cur = json_object_get(kpi, "current");
    printf("period %s..%s: %lld orders, %lld active members, net %lld cents\n",
           json_string_value(json_object_get(cur, "from")),
           json_string_value(json_object_get(cur, "to")), (long long)s0->sp.orders,
           (long long)s0->sp.active, (long long)s0->sp.net);
    printf("\nin memory, facts built through the incremental API, against SQL on SQLite:\n");
    printf("%-34s %10s %10s %8s\n", "", "reports", "sql", "ratio");
    printf("%-34s %8.1f ms %8.0f ms %7.1fx\n", "KPI report (12 months + previous)", rk, s0->sql_kpi,
           s0->sql_kpi / rk);
    printf("%-34s %8.1f ms %8.0f ms %7.1fx\n", "per-store leaderboard", rl, s0->sql_lb,
           s0->sql_lb / rl);
    printf("%-34s %8.1f ms %8.0f ms %7.1fx\n", "both", rk + rl, s0->sql_kpi + s0->sql_lb,
           (s0->sql_kpi + s0->sql_lb) / (rk + rl));
    printf("\nsiyu reading each store (reports_load), and SQL on each store:\n");
    printf("%-40s %12s", "", "SQLite");
    if (nsides == 2) printf(" %12s %10s", "PostgreSQL", "PG/SQLite");
    printf("\n");
#define ROW(label, field, unit)                                                                    \
    do {                                                                                           \
        printf("%-40s %9.1f %s", label, sides[0].field, unit);                                     \
        if (nsides == 2)                                                                           \
            printf(" %9.1f %s %9.2fx", sides[1].field, unit, sides[1].field / sides[0].field);     \
        printf("\n");                                                                              \
    } while (0)
    ROW("siyu reports_load (store -> memory)", load, "ms");
    ROW("siyu first KPI report after the load", first, "ms");
    ROW("siyu KPI report (12 months + previous)", kpi, "ms");
    ROW("siyu per-store leaderboard", lb, "ms");
    ROW("SQL KPI figures (both periods)", sql_kpi, "ms");
    ROW("SQL per-store leaderboard (both periods)", sql_lb, "ms");
#undef ROW
    if (nsides == 2) {
        printf("%-40s %12s %9.1f ms %9.2fx\n", "SQL KPI figures, PostgreSQL one process", "",
               sides[1].serial_kpi, sides[1].serial_kpi / sides[0].sql_kpi);
        printf("%-40s %12s %9.1f ms %9.2fx\n", "SQL leaderboard, PostgreSQL one process", "",
               sides[1].serial_lb, sides[1].serial_lb / sides[0].sql_lb);
    }
    printf("%-40s %12s", "ratio SQL / siyu", "SQLite");
    if (nsides == 2) printf(" %12s %12s", "PostgreSQL", "PG 1 process");
    printf("\n");
    for (int w = 0; w < 2; w++) {
        printf("%-40s", w ? "  per-store leaderboard" : "  KPI report");
        for (int k = 0; k < nsides; k++) {
            double x = w ? sides[k].sql_lb / sides[k].lb : sides[k].sql_kpi / sides[k].kpi;
            printf(" %11.1fx", x);
        }
        if (nsides == 2)
            printf(" %11.1fx",
                   w ? sides[1].serial_lb / sides[1].lb : sides[1].serial_kpi / sides[1].kpi);
        printf("\n");
    }
    printf("figures agree (%s): %s\n",
           nsides == 2 ? "incremental, loaded from SQLite and PostgreSQL, SQL on both"
                       : "incremental, loaded from SQLite, SQL",
           bad ? "NO" : "yes");
    for (int k = 0; k < nsides; k++) {
        json_decref(sides[k].kpi_j);
        json_decref(sides[k].lb_j);
    }
    free(sides);
    json_decref(kpi);
    json_decref(lb);
    free(tk);
    free(tl);
    reports_free(r);
    return bad ? 1 : 0;
}

/* Every figure SQL computes against the report's; prints each difference, returns their count. */
static int check_against_sql(json_t *kpi, json_t *lb, const sqlref_period *sp,
                             const sqlref_period *prev_sp, sqlref_store *rows, size_t nrows,
                             sqlref_store *prow, size_t nprow, const char *who)
{
    json_t *cur = json_object_get(kpi, "current");
    int bad = 0;
#define SAME(field, v)                                                                             \
    if (json_integer_value(json_object_get(cur, field)) != (v)) {                                  \
        fprintf(stderr, "MISMATCH (%s) %s: reports %lld, sql %lld\n", who, field,                  \
                (long long)json_integer_value(json_object_get(cur, field)), (long long)(v));       \
        bad++;                                                                                     \
    }
    SAME("orders", sp->orders);
    SAME("member_orders", sp->member_orders);
    SAME("net_sales_cents", sp->net);
    SAME("member_net_sales_cents", sp->member_net);
    SAME("items", sp->items);
    SAME("active_members", sp->active);
    SAME("repeat_buyers", sp->repeat);
    SAME("visit_days", sp->visit_days);
    SAME("churned_members", sp->churned);
    SAME("previously_active_members", sp->prev_active);
    cur = json_object_get(kpi, "previous");
    SAME("net_sales_cents", prev_sp->net);
    SAME("active_members", prev_sp->active);
    SAME("visit_days", prev_sp->visit_days);
    SAME("churned_members", prev_sp->churned);
#undef SAME
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(lb, "items"), i, row)
    {
        int64_t id = json_integer_value(json_object_get(row, "store_id"));
        for (int k = 0; k < 2; k++) {
            json_t *w = k ? json_object_get(row, "previous") : row;
            const sqlref_store *x = sqlref_store_row(k ? prow : rows, k ? nprow : nrows, id);
#define LB(field, v) (json_integer_value(json_object_get(w, field)) != (v))
            if (x && (LB("net_sales_cents", x->net) || LB("orders", x->orders) ||
                      LB("active_members", x->active) || LB("repeat_buyers", x->repeat) ||
                      LB("visit_days", x->visit_days) ||
                      LB("previously_active_members", x->prev_active) ||
                      LB("churned_members", x->churned))) {
                fprintf(stderr, "MISMATCH (%s) store %lld (%s)\n", who, (long long)id,
                        k ? "previous" : "current");
                bad++;
            }
#undef LB
        }
    }
    return bad;
}
