/* bench_reports.c — the chain-wide 12-month KPI report and the per-store leaderboard,
 * from the in-memory fact store against the same figures by SQL over SQLite.
 *
 *   bench_reports [--orders N] [--db PATH] [--runs K] [--sql-runs J] [--skip-sql]
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
 * rebuilds the member-major records: its time is printed apart. */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
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

int main(int argc, char **argv)
{
    int64_t n_orders = 10000000;
    int runs = 7, sql_runs = 2;
    const char *db_path = NULL;
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
        else {
            fprintf(stderr, "usage: bench_reports [--orders N] [--db PATH] [--runs K] [--sql-runs "
                            "J] [--skip-sql]\n");
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
    /* ---- SQL ---- */
    sqlref_db *db = sqlref_open(db_path);
    double sk = 1e18, sl = 1e18;
    sqlref_period sp, prev_sp;
    sqlref_store *rows = malloc(sizeof *rows * (NSTORES + 1)),
                 *prow = malloc(sizeof *prow * (NSTORES + 1));
    size_t nrows = 0, nprow = 0;
    for (int i = 0; i < sql_runs; i++) {
        t0 = clock_mono_ns();
        sqlref_period_kpis(db, q.from, q.to, &sp);
        sqlref_period_kpis(db, q.from - 365, q.to - 365, &prev_sp); /* the previous period too */
        double t = ms(clock_mono_ns() - t0);
        sk = t < sk ? t : sk;
        t0 = clock_mono_ns();
        nrows = sqlref_stores(db, q.from, q.to, rows, NSTORES + 1);
        nprow = sqlref_stores(db, q.from - 365, q.to - 365, prow, NSTORES + 1); /* previous */
        t = ms(clock_mono_ns() - t0);
        sl = t < sl ? t : sl;
    }
    sqlref_close(db);

    /* the two sides must agree before their times mean anything */
    json_t *cur = json_object_get(kpi, "current");
    int bad = 0;
#define SAME(field, v)                                                                             \
    if (json_integer_value(json_object_get(cur, field)) != (v)) {                                  \
        fprintf(stderr, "MISMATCH %s: reports %lld, sql %lld\n", field,                            \
                (long long)json_integer_value(json_object_get(cur, field)), (long long)(v));       \
        bad++;                                                                                     \
    }
    SAME("orders", sp.orders);
    SAME("member_orders", sp.member_orders);
    SAME("net_sales_cents", sp.net);
    SAME("member_net_sales_cents", sp.member_net);
    SAME("items", sp.items);
    SAME("active_members", sp.active);
    SAME("repeat_buyers", sp.repeat);
    SAME("visit_days", sp.visit_days);
    SAME("churned_members", sp.churned);
    SAME("previously_active_members", sp.prev_active);
    cur = json_object_get(kpi, "previous");
    SAME("net_sales_cents", prev_sp.net);
    SAME("active_members", prev_sp.active);
    SAME("visit_days", prev_sp.visit_days);
    SAME("churned_members", prev_sp.churned);
    cur = json_object_get(kpi, "current");
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
                fprintf(stderr, "MISMATCH store %lld (%s)\n", (long long)id,
                        k ? "previous" : "current");
                bad++;
            }
#undef LB
        }
    }
    printf("period %s..%s: %lld orders, %lld active members, net %lld cents\n",
           json_string_value(json_object_get(cur, "from")),
           json_string_value(json_object_get(cur, "to")), (long long)sp.orders,
           (long long)sp.active, (long long)sp.net);
    printf("%-34s %10s %10s %8s\n", "", "reports", "sql", "ratio");
    printf("%-34s %8.1f ms %8.0f ms %7.1fx\n", "KPI report (12 months + previous)", rk, sk,
           sk / rk);
    printf("%-34s %8.1f ms %8.0f ms %7.1fx\n", "per-store leaderboard", rl, sl, sl / rl);
    printf("%-34s %8.1f ms %8.0f ms %7.1fx\n", "both", rk + rl, sk + sl, (sk + sl) / (rk + rl));
    printf("figures agree: %s\n", bad ? "NO" : "yes");
    json_decref(kpi);
    json_decref(lb);
    free(rows);
    free(prow);
    free(tk);
    free(tl);
    reports_free(r);
    return bad ? 1 : 0;
}
