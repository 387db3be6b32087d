/* bench_segment.c — count latency of the member index against SQLite, same data, same run.
 *
 * Generates N members (default 20 million) with realistic skew — stores and cities
 * Zipf-like, 30% never ordered, recency skewed towards the recent — feeds them through
 * the index's update API (that is the start-up rebuild), then loads the very same
 * members into SQLite, one row per member with every attribute precomputed, and asks
 * both the same fixed questions. SQLite answers three ways: with an index on every
 * attribute (the general schema, which the goal is measured against), with a covering
 * index made for each question (tailored: it presumes the questions), and with no
 * index. Counts must agree; latency is reported as median and p99.
 *
 *   bench_segment --members 1000000      a quick run
 *   bench_segment --no-sqlite            the index only
 *   bench_segment --no-tailored          SQLite without the per-question indexes
 *   bench_segment --query lifecycle      only the questions whose name contains it
 *                                        (for a profiler: --runs 1000 --no-sqlite)
 *   bench_segment --pg URL               also on PostgreSQL (a server; the bench makes its
 *                                        databases there): the same table, rows and SQL
 *                                        three ways; and siyu's index loaded at start-up
 *                                        from a SQLite and a PostgreSQL store of the same
 *                                        members. Counts must agree everywhere. */
#include <math.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgbench.h"
#include "segment/eval.h"
#include "segment/index.h"
#include "store/store.h"
#include "views/views.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

static uint64_t rs = 88172645463325252ull;
static inline uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}
static inline double unif(void)
{
    return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0);
}
/* Zipf-ish index in [0, n): heavy head, long tail */
static inline int skew(int n)
{
    double u = unif();
    return (int)(pow(u, 2.5) * n);
}

#define NSTORES 2000
#define NCITIES 300
#define NCATS 20
#define NTAGS 50

static const char *channels[] = {"pos", "miniprogram", "live", "mall", "qrcode", "referral"};
static const char *catnames[NCATS] = {"生鲜", "日化", "酒水", "零食", "母婴", "服饰", "家电",
                                      "粮油", "乳品", "冷冻", "烘焙", "饮料", "个护", "家居",
                                      "文具", "宠物", "玩具", "保健", "调味", "水果"};
static char cities[NCITIES][16];
static double tag_density[NTAGS];

/* The generated member, also the SQLite row. */
typedef struct gm {
    int64_t id;
    int store, guide, brand;
    const char *channel, *tier, *gender, *city;
    int32_t bday, joined;
    int orders, o30, o90, o365, items;
    int64_t spend, s30, s90, s365;
    int32_t first, last, prev;
    const char *fav;
    int points;
    unsigned reach;
    double p_alive;
    int64_t clv;
    uint64_t tags;
} gm;

static int32_t T; /* today */

/* Set while the members are written into a store: every generated order, in order. */
struct gm;
static void (*order_hook)(const struct gm *m, int32_t day, int64_t cents, int items, int category);

static int32_t civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153u * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int32_t)doe - 719468;
}

/* Generates member i and applies it to the index (idx may be NULL: SQLite pass). */
static void gen_member(int64_t i, gm *m, seg_index *idx)
{
    memset(m, 0, sizeof *m);
    m->id = i + 1;
    m->store = 1 + skew(NSTORES);
    m->guide = unif() < 0.15 ? 0 : m->store * 10 + (int)(rnd() % 10);
    m->brand = 1 + (int)(rnd() % 5);
    m->channel = channels[skew(6)];
    double u = unif();
    m->tier = u < 0.6 ? "bronze" : u < 0.85 ? "silver" : u < 0.95 ? "gold" : NULL;
    u = unif();
    m->gender = u < 0.55 ? "female" : u < 0.95 ? "male" : NULL;
    m->city = cities[skew(NCITIES)];
    m->bday = unif() < 0.7 ? T - 365 * 18 - (int32_t)(rnd() % (365 * 52)) : SEG_NO_DAY;
    m->joined = T - (int32_t)(rnd() % 1500);
    seg_error err;
    if (idx) {
        seg_member_profile p = {.id = m->id,
                                .store_id = m->store,
                                .guide_id = m->guide,
                                .brand_id = m->brand,
                                .join_channel = m->channel,
                                .tier = m->tier,
                                .gender = m->gender,
                                .city = m->city,
                                .birthday = m->bday,
                                .joined_day = m->joined};
        if (seg_index_upsert_member(idx, &p, &err) != 0) {
            fprintf(stderr, "upsert: %s\n", err.msg);
            exit(1);
        }
    }
    /* orders: 30% none; else geometric with mean ~4, recency skewed */
    int n = 0;
    if (unif() >= 0.3)
        for (n = 1; n < 60 && unif() < 0.75; n++)
            ;
    int64_t catspend[NCATS] = {0};
    int span = T - m->joined;
    int32_t days[64];
    for (int k = 0; k < n; k++)
        days[k] = T - (int32_t)(pow(unif(), 1.8) * span);
    /* chronological, as a rebuild replays them */
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0 && days[b] < days[b - 1]; b--) {
            int32_t t = days[b];
            days[b] = days[b - 1];
            days[b - 1] = t;
        }
    int favc = (int)(rnd() % NCATS);
    for (int k = 0; k < n; k++) {
        int32_t d = days[k];
        int64_t cents = 2000 + (int64_t)(pow(unif(), 2) * 48000);
        int items = 1 + (int)(rnd() % 8);
        int c1 = unif() < 0.6 ? favc : (int)(rnd() % NCATS);
        seg_category_spend cs[1] = {{catnames[c1], cents}};
        if (idx && seg_index_apply_order(idx, m->id, d, cents, items, cs, 1, &err) != 0) {
            fprintf(stderr, "order: %s\n", err.msg);
            exit(1);
        }
        if (order_hook) order_hook(m, d, cents, items, c1);
        catspend[c1] += cents;
        m->orders++;
        m->items += items;
        m->spend += cents;
        int age = T - d;
        if (age < 365) {
            m->o365++;
            m->s365 += cents;
        }
        if (age < 90) {
            m->o90++;
            m->s90 += cents;
        }
        if (age < 30) {
            m->o30++;
            m->s30 += cents;
        }
        if (!m->first || d < m->first) m->first = d;
        if (d > m->last) {
            m->prev = m->last;
            m->last = d;
        } else if (d < m->last && d > m->prev) {
            m->prev = d;
        }
    }
    int best = -1;
    for (int c = 0; c < NCATS; c++)
        if (catspend[c] > 0 &&
            (best < 0 || catspend[c] > catspend[best] ||
             (catspend[c] == catspend[best] && strcmp(catnames[c], catnames[best]) < 0)))
            best = c;
    m->fav = best >= 0 ? catnames[best] : NULL;
    static const double rp[5] = {0.4, 0.3, 0.15, 0.2, 0.25};
    for (int k = 0; k < 5; k++)
        if (unif() < rp[k]) m->reach |= 1u << k;
    m->points = (int)(rnd() % 20000);
    m->p_alive = n && unif() < 0.9 ? (double)(float)unif() : NAN;
    m->clv = m->p_alive == m->p_alive ? (int64_t)(rnd() % 500000) : SEG_NO_VALUE;
    double ex = m->p_alive == m->p_alive ? (double)(float)(unif() * 5) : NAN;
    for (int t = 0; t < NTAGS; t++)
        if (unif() < tag_density[t]) m->tags |= 1ull << t;
    if (idx) {
        if (seg_index_set_reach(idx, m->id, m->reach, &err) ||
            seg_index_set_points(idx, m->id, m->points, &err) ||
            seg_index_set_prediction(idx, m->id, m->p_alive, ex, m->clv, &err)) {
            fprintf(stderr, "state: %s\n", err.msg);
            exit(1);
        }
        for (int t = 0; t < NTAGS; t++)
            if ((m->tags >> t) & 1)
                if (seg_index_tag_add(idx, t, m->id, &err) != 0) {
                    fprintf(stderr, "tag: %s\n", err.msg);
                    exit(1);
                }
    }
}

/* ================= the questions ================= */

typedef struct question {
    const char *name, *expr;
    char sql[1024];
    int kind; /* 0 tags/categoricals only, 1 with ranges */
} question;

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void exec(sqlite3 *db, const char *q)
{
    char *msg;
    if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s\n  %s\n", msg, q);
        exit(1);
    }
}

/* Median of `runs` executions of a count query, in ms; the count into *count. */
static double sql_median(sqlite3 *db, const char *sql, long runs, double *samples, int64_t *count)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        exit(1);
    }
    for (long r = 0; r < runs; r++) {
        double a = now_s();
        sqlite3_step(st);
        *count = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        samples[r] = (now_s() - a) * 1e3;
    }
    sqlite3_finalize(st);
    qsort(samples, (size_t)runs, sizeof *samples, cmp_d);
    return samples[runs / 2];
}

/* ================= PostgreSQL ================= */

/* The members' table on PostgreSQL: the SQLite table's columns in PostgreSQL's types. */
#define PG_TABLE_M                                                                                 \
    "CREATE TABLE m(id BIGINT PRIMARY KEY, store INT, guide INT, brand INT, channel TEXT, "        \
    "tier TEXT, gender TEXT, city TEXT, bday INT, bmonth INT, joined INT, orders INT, "            \
    "o30 INT, o90 INT, o365 INT, spend BIGINT, s30 BIGINT, s90 BIGINT, s365 BIGINT, "              \
    "first_day INT, last_day INT, prev_day INT, items INT, fav TEXT, points INT, reach INT, "      \
    "p_alive DOUBLE PRECISION, clv BIGINT, tags BIGINT)"

/* x as COPY text in buf, or COPY's NULL */
static const char *num_or_null(char *buf, size_t cap, long long x, bool is_null)
{
    if (is_null) return "\\N";
    snprintf(buf, cap, "%lld", x);
    return buf;
}

/* Member m as a COPY text row of table m, the same values SQLite gets. */
static void pg_copy_member(pgb_copy *p, const gm *m)
{
    char g[24], bd[24], bm[24], fd[24], ld[24], pd[24], pa[40], cl[24];
    int bmonth = 0;
    if (m->bday != SEG_NO_DAY) {
        time_t tt = (time_t)m->bday * 86400;
        struct tm tm;
        gmtime_r(&tt, &tm);
        bmonth = tm.tm_mon + 1;
    }
    if (m->p_alive == m->p_alive) snprintf(pa, sizeof pa, "%.17g", m->p_alive);
    pgb_copy_row(p,
                 "%lld\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%lld\t%lld\t%lld\t%"
                 "lld\t%s\t%s\t%s\t%d\t%s\t%d\t%u\t%s\t%s\t%lld\n",
                 (long long)m->id, m->store, num_or_null(g, sizeof g, m->guide, !m->guide),
                 m->brand, m->channel, m->tier ? m->tier : "\\N", m->gender ? m->gender : "\\N",
                 m->city, num_or_null(bd, sizeof bd, m->bday, m->bday == SEG_NO_DAY),
                 num_or_null(bm, sizeof bm, bmonth, m->bday == SEG_NO_DAY), m->joined, m->orders,
                 m->o30, m->o90, m->o365, (long long)m->spend, (long long)m->s30, (long long)m->s90,
                 (long long)m->s365, num_or_null(fd, sizeof fd, m->first, !m->orders),
                 num_or_null(ld, sizeof ld, m->last, !m->orders),
                 num_or_null(pd, sizeof pd, m->prev, !m->prev), m->items, m->fav ? m->fav : "\\N",
                 m->points, m->reach, m->p_alive == m->p_alive ? pa : "\\N",
                 num_or_null(cl, sizeof cl, m->clv, m->clv == SEG_NO_VALUE), (long long)m->tags);
}

/* Median of `runs` executions of a count query on PostgreSQL, in ms; the count into *count. */
static double pg_median(PGconn *c, const char *sql, long runs, double *samples, int64_t *count)
{
    PGresult *r = PQprepare(c, "", sql, 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "postgresql: %s: %s", sql, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
    for (long k = 0; k < runs; k++) {
        double a = now_s();
        r = PQexecPrepared(c, "", 0, NULL, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fprintf(stderr, "postgresql: %s: %s", sql, PQerrorMessage(c));
            exit(1);
        }
        *count = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        samples[k] = (now_s() - a) * 1e3;
    }
    qsort(samples, (size_t)runs, sizeof *samples, cmp_d);
    return samples[runs / 2];
}

/* ================= the same members in a siyu store =================
 * The generated members written as siyu's own rows (members, orders with their lines,
 * reachability and consent, tags, predictions), so the server's start-up path
 * (views_open_index) builds its index from them: on a SQLite file and on PostgreSQL.
 * A store has no tier without a loyalty ladder, so the loaded index has none; nor
 * points. Each table is one pass over the members (regenerated: cheap, and nothing is
 * held in memory). Rows are text lines, fields split by tabs, \N for NULL. */

enum {
    T_BRANDS,
    T_STORES,
    T_STAFF,
    T_MEMBERS,
    T_ORDERS,
    T_ITEMS,
    T_REACH,
    T_CONSENTS,
    T_TAGS,
    T_TAG_MEMBERS,
    T_PREDICTIONS,
    NTABLES
};
static const char *const table_cols[NTABLES] = {
    "brands(id, name, created_at)",
    "stores(id, name, code, kind, brand_id, created_at)",
    "staff(id, name, role, store_id, created_at)",
    "members(id, gender, birthday, city, store_id, guide_id, join_channel, joined_at, created_at,"
    " updated_at)",
    "orders(id, channel, external_id, store_id, member_id, placed_at, total_cents, discount_cents,"
    " points_used, refunded_cents, item_count, digest)",
    "order_items(order_id, line, sku, category, qty, unit_price_cents, refunded_qty)",
    "member_reach(member_id, channel, reachable, at)",
    "member_consents(member_id, purpose, channel, granted, at)",
    "tags(id, name, kind, created_at)",
    "tag_members(tag_id, member_id)",
    "member_predictions(member_id, run_id, x, p_alive, expected_purchases_90d,"
    " expected_value_cents, clv_12m_cents)"};

typedef void (*row_fn)(void *ctx, const char *line);
static row_fn emit_fn;
static void *emit_ctx;
static int emit_table;
static int64_t emit_order_id;

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    emit_fn(emit_ctx, line);
}

/* placed at local noon of day d (+08:00) */
static void emit_order(const gm *m, int32_t d, int64_t cents, int items, int cat)
{
    int64_t id = ++emit_order_id;
    if (emit_table == T_ORDERS)
        emit("%lld\tstore\tX%lld\t%lld\t%lld\t%lld\t%lld\t0\t0\t0\t%d\t\\\\x00", (long long)id,
             (long long)id, (long long)m->store, (long long)m->id, (long long)d * 86400 + 4 * 3600,
             (long long)cents, items);
    else if (emit_table == T_ITEMS) {
        /* the category's spend on one line, the other items at no price: the index sees
         * the order's items and its category spend as the generator drew them */
        emit("%lld\t1\tK\t%s\t1\t%lld\t0", (long long)id, catnames[cat], (long long)cents);
        if (items > 1) emit("%lld\t2\tK\t%s\t%d\t0\t0", (long long)id, catnames[cat], items - 1);
    }
}

static void emit_rows(int t, long n)
{
    static const char *const reach_names[5] = {"public_account", "wecom", "group", "sms",
                                               "miniprogram"};
    emit_table = t;
    if (t == T_BRANDS)
        for (int b = 1; b <= 5; b++)
            emit("%d\tb%d\t0", b, b);
    else if (t == T_STORES)
        for (int k = 1; k <= NSTORES; k++)
            emit("%d\tS%d\tS%d\tphysical\t%d\t0", k, k, k, 1 + k % 5);
    else if (t == T_STAFF) /* guide g works at store g / 10 */
        for (int g = 1; g < (NSTORES + 1) * 10; g++) {
            char st[16] = "\\N";
            if (g / 10 >= 1) snprintf(st, sizeof st, "%d", g / 10);
            emit("%d\tg\tguide\t%s\t0", g, st);
        }
    else if (t == T_TAGS)
        for (int k = 0; k < NTAGS; k++)
            emit("%d\tt%d\tmanual\t0", k + 1, k);
    if (t == T_BRANDS || t == T_STORES || t == T_STAFF || t == T_TAGS) return;
    gm m;
    rs = 88172645463325252ull;
    emit_order_id = 0;
    order_hook = t == T_ORDERS || t == T_ITEMS ? emit_order : NULL;
    for (long i = 0; i < n; i++) {
        gen_member(i, &m, NULL);
        if (t == T_MEMBERS) {
            char g[16] = "\\N", bd[16] = "\\N";
            if (m.guide) snprintf(g, sizeof g, "%d", m.guide);
            if (m.bday != SEG_NO_DAY) snprintf(bd, sizeof bd, "%d", m.bday);
            emit("%lld\t%s\t%s\t%s\t%d\t%s\t%s\t%lld\t0\t0", (long long)m.id,
                 m.gender ? m.gender : "\\N", bd, m.city, m.store, g, m.channel,
                 (long long)m.joined * 86400 + 4 * 3600);
        } else if (t == T_REACH) {
            for (int k = 0; k < 5; k++)
                if (k != 3 && (m.reach >> k) & 1)
                    emit("%lld\t%s\t1\t0", (long long)m.id, reach_names[k]);
        } else if (t == T_CONSENTS) { /* SMS reach is a marketing consent */
            if ((m.reach >> 3) & 1) emit("%lld\tmarketing\tsms\t1\t0", (long long)m.id);
        } else if (t == T_TAG_MEMBERS) {
            for (int k = 0; k < NTAGS; k++)
                if ((m.tags >> k) & 1) emit("%d\t%lld", k + 1, (long long)m.id);
        } else if (t == T_PREDICTIONS && m.p_alive == m.p_alive) {
            emit("%lld\t1\t0\t%.17g\t0\t0\t%lld", (long long)m.id, m.p_alive,
                 (long long)(m.clv == SEG_NO_VALUE ? 0 : m.clv));
        }
    }
    order_hook = NULL;
}

/* SQLite: one INSERT per row, each field bound as an integer when it reads as one. */
static void sqlite_row(void *ctx, const char *line)
{
    sqlite3_stmt *st = ctx;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", line);
    int col = 1;
    for (char *f = buf, *next; f; f = next, col++) {
        next = strchr(f, '\t');
        if (next) *next++ = 0;
        char *end;
        long long v = strtoll(f, &end, 10);
        if (strcmp(f, "\\N") == 0)
            sqlite3_bind_null(st, col);
        else if (*f && !*end)
            sqlite3_bind_int64(st, col, v);
        else
            sqlite3_bind_text(st, col, f, -1, SQLITE_TRANSIENT);
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
        fprintf(stderr, "sqlite: %s: %s\n", line, sqlite3_errmsg(sqlite3_db_handle(st)));
        exit(1);
    }
    sqlite3_reset(st);
}

static void pg_row(void *ctx, const char *line)
{
    pgb_copy_row(ctx, "%s\n", line);
}

/* siyu's schema at url (a file or a PostgreSQL URL), by its own migrations. */
static void store_create(const char *url)
{
    siyu_err e;
    siyu_err_init(&e);
    store_t *st;
    store_options opt = {.sync = STORE_SYNC_NORMAL, .create = true};
    if (store_open(url, &opt, &st, &e)) {
        fprintf(stderr, "%s: %s\n", url, e.message);
        exit(1);
    }
    store_close(st);
}

static void write_store_sqlite(const char *path, long n)
{
    remove(path);
    store_create(path);
    sqlite3 *db;
    sqlite3_open(path, &db);
    exec(db, "PRAGMA synchronous=OFF; PRAGMA journal_mode=OFF; PRAGMA cache_size=-1048576; BEGIN");
    for (int t = 0; t < NTABLES; t++) {
        char sql[512], q[128] = "";
        int nc = 1;
        for (const char *c = table_cols[t]; *c; c++)
            nc += *c == ',';
        for (int k = 0; k < nc; k++)
            strcat(q, k ? ",?" : "?");
        snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (%s)", table_cols[t], q);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
            fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
            exit(1);
        }
        emit_fn = sqlite_row;
        emit_ctx = st;
        emit_rows(t, n);
        sqlite3_finalize(st);
    }
    exec(db, "COMMIT");
    sqlite3_close(db);
}

/* COPY per table, the foreign keys' triggers off for the session (the rows are consistent
 * by construction), then VACUUM ANALYZE as a loaded database gets. */
static void write_store_pg(const char *url, long n)
{
    store_create(url);
    PGconn *c = pgb_connect(url);
    pgb_exec(c, "SET session_replication_role = replica");
    pgb_exec(c, "BEGIN");
    for (int t = 0; t < NTABLES; t++) {
        char sql[512];
        snprintf(sql, sizeof sql, "COPY %s FROM STDIN", table_cols[t]);
        pgb_copy p;
        pgb_copy_begin(&p, c, sql);
        emit_fn = pg_row;
        emit_ctx = &p;
        emit_rows(t, n);
        pgb_copy_end(&p);
    }
    pgb_exec(c, "COMMIT");
    pgb_exec(c, "VACUUM ANALYZE");
    PQfinish(c);
}

/* The server's start-up path on the store at url: the index it builds, and the time. */
static seg_index *load_index(const char *url, double *secs)
{
    siyu_err e;
    siyu_err_init(&e);
    store_t *st;
    seg_index *idx = NULL;
    store_options opt = {.sync = STORE_SYNC_NORMAL};
    double t0 = now_s();
    if (store_open(url, &opt, &st, &e) || views_open_index(st, &idx, &e)) {
        fprintf(stderr, "%s: %s\n", url, e.message);
        exit(1);
    }
    *secs = now_s() - t0;
    store_close(st);
    return idx;
}

int main(int argc, char **argv)
{
    long n = 20000000, runs = 101, sruns = 3;
    int use_sqlite = 1, tailored = 1;
    const char *only = NULL, *pg_server = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--members") && i + 1 < argc)
            n = atol(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atol(argv[++i]);
        else if (!strcmp(argv[i], "--sqlite-runs") && i + 1 < argc)
            sruns = atol(argv[++i]);
        else if (!strcmp(argv[i], "--no-sqlite"))
            use_sqlite = 0;
        else if (!strcmp(argv[i], "--no-tailored"))
            tailored = 0;
        else if (!strcmp(argv[i], "--query") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--pg") && i + 1 < argc)
            pg_server = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s [--members N] [--runs R] [--sqlite-runs S] [--no-sqlite] "
                    "[--no-tailored] [--query NAME] [--pg URL]\n",
                    argv[0]);
            return 2;
        }
    }
    T = civil(2025, 11, 22);
    for (int c = 0; c < NCITIES; c++)
        snprintf(cities[c], sizeof cities[c],
                 c == 0   ? "上海"
                 : c == 1 ? "杭州"
                 : c == 2 ? "北京"
                          : "city%d",
                 c);
    static const double dens[] = {0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.4, 0.15};
    for (int t = 0; t < NTAGS; t++)
        tag_density[t] = dens[t % 10];

    printf("siyu segment bench: %ld members, %d tags, single thread\n\n", n, NTAGS);
    /* ---- build the index ---- */
    long rss0 = rss_kb();
    double t0 = now_s();
    seg_index *idx = seg_index_new(T);
    seg_error err;
    if (seg_index_reserve(idx, (size_t)n, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (int t = 0; t < NTAGS; t++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", t);
        seg_index_tag_create(idx, name, NULL, &err);
    }
    gm m;
    rs = 88172645463325252ull;
    for (long i = 0; i < n; i++)
        gen_member(i, &m, idx);
    seg_index_rfm_recompute(idx);
    seg_index_compact(idx); /* as the server's start-up rebuild does */
    double t_build = now_s() - t0;
    long rss1 = rss_kb();
    seg_index_stats st;
    seg_index_stats_get(idx, &st);
    seg_rfm_thresholds rfm;
    seg_index_rfm_get(idx, &rfm, NULL);

    printf(
        "index build (start-up rebuild via the update API): %.1f s (%.2f us/member incl. orders)\n",
        t_build, t_build / (double)n * 1e6);
    printf("resident: %.1f bytes/member (RSS delta), %.1f bytes/member (index accounting), "
           "%zu bucket entries, %zu dense + %zu sparse sets\n",
           (double)(rss1 - rss0) * 1024.0 / (double)n, (double)st.bytes / (double)n,
           st.bucket_entries, st.dense_sets, st.sparse_sets);
    printf(
        "  per member: columns %.1f, categoricals %.1f, flags and tags %.1f, category spend %.1f, "
        "day buckets %.1f (%.2f entries/member)\n",
        (double)st.bytes_columns / (double)n, (double)st.bytes_dims / (double)n,
        (double)st.bytes_flags_tags / (double)n, (double)st.bytes_categories / (double)n,
        (double)st.bytes_buckets / (double)n, (double)st.bucket_entries / (double)n);
    printf("rfm thresholds (median split): r_max_days %d, f_min_orders %d, m_min_cents %lld\n\n",
           rfm.r_max_days, rfm.f_min_orders, (long long)rfm.m_min_cents);

    /* ---- questions ---- */
    /* age between 25 and 40 on 2025-11-22: born after 1984-11-22, on or before 2000-11-22 */
    int32_t bd_lo = civil(1984, 11, 22) + 1, bd_hi = civil(2000, 11, 22);
    question qs[] = {
        {"3 tags", "tag:t3 and tag:t8 and not tag:t1", "", 0},
        {"tier+city+flag", "tier = \"gold\" and city = \"杭州\" and reach.wecom", "", 0},
        {"stores+tag+gender", "store in (3, 5, 8) and tag:t0 and gender = \"female\"", "", 0},
        {"5 tags/categoricals",
         "tag:t4 and tag:t9 and tier in (\"gold\", \"silver\") and reach.miniprogram and not "
         "tag:t20",
         "", 0},
        {"spend+orders+tag", "spend_365d_cents >= 100000 and orders_365d >= 3 and tag:t2", "", 1},
        {"recency+store+tier", "last_order_days <= 30 and store = 12 and tier != \"bronze\"", "",
         1},
        {"birthday month+age",
         "birthday_month = 11 and reach.wecom and age between 25 and 40 and city = \"上海\"", "",
         1},
        {"new joiners", "joined_days between 3 and 7 and orders = 0 and reach.any", "", 1},
        {"gold at risk", "tier = \"gold\" and (rfm = \"重要挽留\" or p_alive < 0.3) and tag:t5", "",
         1},
        {"category+city+spend",
         "favourite_category = \"生鲜\" and city = \"杭州\" and spend_90d_cents > 20000", "", 1},
        {"lifecycle+stores+tags",
         "(tag:t0 or tag:t9) and lifecycle = \"at_risk\" and store in (1, 2, 3, 4)", "", 1},
        {"guide scope", "guide = 1234 and orders_30d >= 1", "", 1},
        {"8 clauses",
         "tag:t0 and tag:t3 and not tag:t7 and tier != \"bronze\" and reach.wecom and "
         "spend_cents >= 50000 and last_order_days <= 90 and gender = \"female\"",
         "", 1},
    };
    size_t nq = sizeof qs / sizeof qs[0];
    snprintf(qs[0].sql, 1024,
             "SELECT count(*) FROM m WHERE (tags & %lld) <> 0 AND (tags & %lld) <> 0 AND (tags & "
             "%lld) = 0",
             1ll << 3, 1ll << 8, 1ll << 1);
    snprintf(qs[1].sql, 1024,
             "SELECT count(*) FROM m WHERE tier = 'gold' AND city = '杭州' AND (reach & 2) <> 0");
    snprintf(qs[2].sql, 1024,
             "SELECT count(*) FROM m WHERE store IN (3, 5, 8) AND (tags & 1) <> 0 AND gender = "
             "'female'");
    snprintf(qs[3].sql, 1024,
             "SELECT count(*) FROM m WHERE tier IN ('gold', 'silver') AND (reach & 16) <> 0 AND "
             "(tags & %lld) <> 0 AND (tags & %lld) <> 0 AND (tags & %lld) = 0",
             1ll << 4, 1ll << 9, 1ll << 20);
    snprintf(qs[4].sql, 1024,
             "SELECT count(*) FROM m WHERE s365 >= 100000 AND o365 >= 3 AND (tags & 4) <> 0");
    snprintf(qs[5].sql, 1024,
             "SELECT count(*) FROM m WHERE store = 12 AND last_day >= %d AND tier != 'bronze'",
             T - 30);
    snprintf(
        qs[6].sql, 1024,
        "SELECT count(*) FROM m WHERE bmonth = 11 AND city = '上海' AND bday BETWEEN %d AND %d "
        "AND (reach & 2) <> 0",
        bd_lo, bd_hi);
    snprintf(qs[7].sql, 1024,
             "SELECT count(*) FROM m WHERE joined BETWEEN %d AND %d AND orders = 0 AND reach != 0",
             T - 7, T - 3);
    snprintf(qs[8].sql, 1024,
             "SELECT count(*) FROM m WHERE tier = 'gold' AND (tags & 32) <> 0 AND "
             "((orders >= 1 AND last_day < %d AND orders < %d AND spend >= %lld) OR p_alive < 0.3)",
             T - rfm.r_max_days, rfm.f_min_orders, (long long)rfm.m_min_cents);
    snprintf(qs[9].sql, 1024,
             "SELECT count(*) FROM m WHERE fav = '生鲜' AND city = '杭州' AND s90 > 20000");
    snprintf(qs[10].sql, 1024,
             "SELECT count(*) FROM m WHERE store IN (1, 2, 3, 4) AND last_day BETWEEN %d AND %d "
             "AND orders >= 1 AND first_day <= %d AND ((tags & 1) <> 0 OR (tags & 512) <> 0)",
             T - 180, T - 91, T - 30);
    snprintf(qs[11].sql, 1024, "SELECT count(*) FROM m WHERE guide = 1234 AND o30 >= 1");
    snprintf(
        qs[12].sql, 1024,
        "SELECT count(*) FROM m WHERE (tags & 1) <> 0 AND (tags & 8) <> 0 AND (tags & 128) = 0 AND "
        "tier != 'bronze' AND (reach & 2) <> 0 AND spend >= 50000 AND last_day >= %d AND gender = "
        "'female'",
        T - 90);

    /* ---- SQLite: the same members, one row each with every attribute precomputed ---- */
    sqlite3 *db = NULL;
    double t_sql_load = 0;
    if (use_sqlite) {
        double ts = now_s();
        sqlite3_open(":memory:", &db);
        exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-8000000; "
                 "PRAGMA temp_store=MEMORY");
        exec(
            db,
            "CREATE TABLE m(id INTEGER PRIMARY KEY, store INT, guide INT, brand INT, channel TEXT, "
            "tier TEXT, gender TEXT, city TEXT, bday INT, bmonth INT, joined INT, orders INT, "
            "o30 INT, o90 INT, o365 INT, spend INT, s30 INT, s90 INT, s365 INT, first_day INT, "
            "last_day INT, prev_day INT, items INT, fav TEXT, points INT, reach INT, "
            "p_alive REAL, clv INT, tags INT)");
        exec(db, "BEGIN");
        sqlite3_stmt *ins;
        sqlite3_prepare_v2(
            db, "INSERT INTO m VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            -1, &ins, NULL);
        rs = 88172645463325252ull;
        for (long i = 0; i < n; i++) {
            gen_member(i, &m, NULL);
            int c = 1;
            sqlite3_bind_int64(ins, c++, m.id);
            sqlite3_bind_int(ins, c++, m.store);
            if (m.guide)
                sqlite3_bind_int(ins, c++, m.guide);
            else
                sqlite3_bind_null(ins, c++);
            sqlite3_bind_int(ins, c++, m.brand);
            sqlite3_bind_text(ins, c++, m.channel, -1, SQLITE_STATIC);
            if (m.tier)
                sqlite3_bind_text(ins, c++, m.tier, -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(ins, c++);
            if (m.gender)
                sqlite3_bind_text(ins, c++, m.gender, -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(ins, c++);
            sqlite3_bind_text(ins, c++, m.city, -1, SQLITE_STATIC);
            if (m.bday != SEG_NO_DAY) {
                time_t tt = (time_t)m.bday * 86400;
                struct tm tm;
                gmtime_r(&tt, &tm);
                sqlite3_bind_int(ins, c++, m.bday);
                sqlite3_bind_int(ins, c++, tm.tm_mon + 1);
            } else {
                sqlite3_bind_null(ins, c++);
                sqlite3_bind_null(ins, c++);
            }
            sqlite3_bind_int(ins, c++, m.joined);
            sqlite3_bind_int(ins, c++, m.orders);
            sqlite3_bind_int(ins, c++, m.o30);
            sqlite3_bind_int(ins, c++, m.o90);
            sqlite3_bind_int(ins, c++, m.o365);
            sqlite3_bind_int64(ins, c++, m.spend);
            sqlite3_bind_int64(ins, c++, m.s30);
            sqlite3_bind_int64(ins, c++, m.s90);
            sqlite3_bind_int64(ins, c++, m.s365);
            if (m.orders) {
                sqlite3_bind_int(ins, c++, m.first);
                sqlite3_bind_int(ins, c++, m.last);
            } else {
                sqlite3_bind_null(ins, c++);
                sqlite3_bind_null(ins, c++);
            }
            if (m.prev)
                sqlite3_bind_int(ins, c++, m.prev);
            else
                sqlite3_bind_null(ins, c++);
            sqlite3_bind_int(ins, c++, m.items);
            if (m.fav)
                sqlite3_bind_text(ins, c++, m.fav, -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(ins, c++);
            sqlite3_bind_int(ins, c++, m.points);
            sqlite3_bind_int(ins, c++, (int)m.reach);
            if (m.p_alive == m.p_alive)
                sqlite3_bind_double(ins, c++, m.p_alive);
            else
                sqlite3_bind_null(ins, c++);
            if (m.clv != SEG_NO_VALUE)
                sqlite3_bind_int64(ins, c++, m.clv);
            else
                sqlite3_bind_null(ins, c++);
            sqlite3_bind_int64(ins, c++, (int64_t)m.tags);
            if (sqlite3_step(ins) != SQLITE_DONE) {
                fprintf(stderr, "insert: %s\n", sqlite3_errmsg(db));
                return 1;
            }
            sqlite3_reset(ins);
        }
        sqlite3_finalize(ins);
        exec(db, "COMMIT");
        t_sql_load = now_s() - ts;
        printf("SQLite load (one row per member): %.1f s\n", t_sql_load);
    }
    /* ---- PostgreSQL: the same rows, by COPY, in a database of the bench's own ---- */
    PGconn *pg = NULL;
    char pg_url[512] = "";
    if (pg_server && use_sqlite) {
        double ts = now_s();
        pgb_database(pg_server, "siyu_bench_segment", true, pg_url, sizeof pg_url);
        pg = pgb_connect(pg_url);
        pgb_exec(pg, PG_TABLE_M);
        pgb_copy p;
        pgb_copy_begin(&p, pg, "COPY m FROM STDIN");
        rs = 88172645463325252ull;
        for (long i = 0; i < n; i++) {
            gen_member(i, &m, NULL);
            pg_copy_member(&p, &m);
        }
        pgb_copy_end(&p);
        pgb_exec(pg, "VACUUM ANALYZE m");
        printf("PostgreSQL load (the same rows by COPY, VACUUM ANALYZE): %.1f s\n", now_s() - ts);
    }

    /* ---- siyu: every question, median and p99 of `runs` counts ---- */
    double med[64], p99[64], sq_general[64] = {0}, sq_tailored[64] = {0}, sq_scan[64] = {0};
    double pg_general[64] = {0}, pg_tailored[64] = {0}, pg_scan[64] = {0};
    uint64_t cnt[64];
    int64_t scount[64], pcount[64];
    double *samples = malloc((size_t)(runs > sruns ? runs : sruns) * sizeof *samples);
    for (size_t q = 0; q < nq; q++) {
        scount[q] = pcount[q] = -1;
        if (only && !strstr(qs[q].name, only)) continue;
        seg_expr *e;
        if (seg_parse(qs[q].expr, idx, &e, &err) != 0) {
            fprintf(stderr, "%s: %s\n", qs[q].expr, err.msg);
            return 1;
        }
        seg_count(idx, e, NULL, &cnt[q], &err); /* warm */
        for (long r = 0; r < runs; r++) {
            double a = now_s();
            seg_count(idx, e, NULL, &cnt[q], &err);
            samples[r] = (now_s() - a) * 1e3;
        }
        qsort(samples, (size_t)runs, sizeof *samples, cmp_d);
        med[q] = samples[runs / 2];
        p99[q] = samples[(size_t)((double)(runs - 1) * 0.99)];
        seg_expr_free(e);
    }

    /* ---- SQLite, three ways, on the same rows ----
     * general:  an index on every attribute a question filters on, and ANALYZE: what
     *           a store built for questions nobody has asked yet can have, and what the
     *           goal is measured against (the planner picks the best index per question)
     * tailored: a covering index made for each question, its equality columns first:
     *           possible only when the questions are known in advance; shown for honesty
     * scan:     no index at all */
    static const char *const cols[] = {
        "store",  "guide", "tier", "gender", "city", "fav",  "bmonth",    "bday",     "joined",
        "orders", "o30",   "o365", "spend",  "s90",  "s365", "first_day", "last_day", "p_alive"};
    const size_t ncols = sizeof cols / sizeof *cols;
    static const char *const ixs[] = {
        "CREATE INDEX i_tags ON m(tags)",
        "CREATE INDEX i_tier_city ON m(tier, city, reach, tags)",
        "CREATE INDEX i_store ON m(store, gender, tags, last_day, tier)",
        "CREATE INDEX i_s365 ON m(s365, o365, tags)",
        "CREATE INDEX i_bmonth ON m(bmonth, city, bday, reach)",
        "CREATE INDEX i_joined ON m(joined, orders, reach)",
        "CREATE INDEX i_tier_rfm ON m(tier, tags, orders, last_day, spend, p_alive)",
        "CREATE INDEX i_fav ON m(fav, city, s90)",
        "CREATE INDEX i_store_life ON m(store, last_day, orders, first_day, tags)",
        "CREATE INDEX i_guide ON m(guide, o30)",
        "CREATE INDEX i_tags_all ON m(tags, tier, reach, spend, last_day, gender)",
    };
    if (db) {
        double ts = now_s();
        for (size_t k = 0; k < ncols; k++) {
            char sql[128];
            snprintf(sql, sizeof sql, "CREATE INDEX g_%s ON m(%s)", cols[k], cols[k]);
            exec(db, sql);
        }
        exec(db, "ANALYZE");
        printf("SQLite general schema: %zu single-attribute indexes + ANALYZE: %.1f s\n", ncols,
               now_s() - ts);
        for (size_t q = 0; q < nq; q++)
            if (!only || strstr(qs[q].name, only))
                sq_general[q] = sql_median(db, qs[q].sql, sruns, samples, &scount[q]);
        for (size_t k = 0; k < ncols; k++) {
            char sql[128];
            snprintf(sql, sizeof sql, "DROP INDEX g_%s", cols[k]);
            exec(db, sql);
        }
        for (size_t q = 0; q < nq; q++) {
            if (only && !strstr(qs[q].name, only)) continue;
            char scanq[1100];
            const char *w = strstr(qs[q].sql, " FROM m WHERE ");
            snprintf(scanq, sizeof scanq, "%.*s FROM m NOT INDEXED WHERE %s", (int)(w - qs[q].sql),
                     qs[q].sql, w + strlen(" FROM m WHERE "));
            int64_t c2;
            sq_scan[q] = sql_median(db, scanq, 1, samples, &c2);
        }
        if (tailored) {
            ts = now_s();
            for (size_t k = 0; k < sizeof ixs / sizeof ixs[0]; k++)
                exec(db, ixs[k]);
            exec(db, "ANALYZE");
            printf("SQLite tailored: %zu covering indexes + ANALYZE: %.1f s\n",
                   sizeof ixs / sizeof ixs[0], now_s() - ts);
            for (size_t q = 0; q < nq; q++)
                if (!only || strstr(qs[q].name, only)) {
                    int64_t c2;
                    sq_tailored[q] = sql_median(db, qs[q].sql, sruns, samples, &c2);
                }
        }
        printf("\n");
    }
    /* ---- PostgreSQL, the same three ways on the same rows (its planner's defaults,
     * parallel workers included): scan first, before any index; every count checked ---- */
    if (pg) {
        int64_t c2;
        for (size_t q = 0; q < nq; q++)
            if (!only || strstr(qs[q].name, only)) {
                pg_scan[q] = pg_median(pg, qs[q].sql, 1, samples, &c2);
                if (c2 != scount[q]) pcount[q] = c2; /* reported as a mismatch below */
            }
        double ts = now_s();
        for (size_t k = 0; k < ncols; k++) {
            char sql[128];
            snprintf(sql, sizeof sql, "CREATE INDEX g_%s ON m(%s)", cols[k], cols[k]);
            pgb_exec(pg, sql);
        }
        pgb_exec(pg, "ANALYZE m");
        printf("PostgreSQL general schema: %zu single-attribute indexes + ANALYZE: %.1f s\n", ncols,
               now_s() - ts);
        for (size_t q = 0; q < nq; q++)
            if ((!only || strstr(qs[q].name, only))) {
                pg_general[q] = pg_median(pg, qs[q].sql, sruns, samples, &c2);
                if (pcount[q] < 0) pcount[q] = c2;
            }
        for (size_t k = 0; k < ncols; k++) {
            char sql[128];
            snprintf(sql, sizeof sql, "DROP INDEX g_%s", cols[k]);
            pgb_exec(pg, sql);
        }
        if (tailored) {
            ts = now_s();
            for (size_t k = 0; k < sizeof ixs / sizeof ixs[0]; k++)
                pgb_exec(pg, ixs[k]);
            pgb_exec(pg, "VACUUM ANALYZE m"); /* the visibility map: index-only scans */
            printf("PostgreSQL tailored: %zu covering indexes + VACUUM ANALYZE: %.1f s\n",
                   sizeof ixs / sizeof ixs[0], now_s() - ts);
            for (size_t q = 0; q < nq; q++)
                if (!only || strstr(qs[q].name, only)) {
                    pg_tailored[q] = pg_median(pg, qs[q].sql, sruns, samples, &c2);
                    if (c2 != pcount[q]) pcount[q] = -2;
                }
        }
        printf("\n");
    }

    printf("%-22s %5s %8s %8s %7s | %9s %7s | %9s %6s | %8s %7s | %s\n", "question", "kind",
           "count", "median", "p99", "general", "ratio", "tailored", "ratio", "scan", "ratio",
           "check");
    printf("%-22s %5s %8s %8s %7s | %9s %7s | %9s %6s | %8s %7s |\n", "", "", "", "ms", "ms", "ms",
           "", "ms", "", "ms", "");
    double lat_tags[64], lat_range[64], log_g = 0, log_t = 0, log_s = 0;
    int ntags_q = 0, nrange_q = 0, nratio = 0, mismatches = 0;
    for (size_t q = 0; q < nq; q++) {
        if (only && !strstr(qs[q].name, only)) continue;
        if (qs[q].kind)
            lat_range[nrange_q++] = med[q];
        else
            lat_tags[ntags_q++] = med[q];
        bool ok = scount[q] < 0 || (uint64_t)scount[q] == cnt[q];
        mismatches += !ok;
        char g[32] = "-", gr[32] = "-", t[32] = "-", tr[32] = "-", sc[32] = "-", scr[32] = "-";
        if (db) {
            snprintf(g, sizeof g, "%.1f", sq_general[q]);
            snprintf(gr, sizeof gr, "%.0fx", sq_general[q] / med[q]);
            snprintf(sc, sizeof sc, "%.0f", sq_scan[q]);
            snprintf(scr, sizeof scr, "%.0fx", sq_scan[q] / med[q]);
            log_g += log(sq_general[q] / med[q]);
            log_s += log(sq_scan[q] / med[q]);
            if (tailored) {
                snprintf(t, sizeof t, "%.1f", sq_tailored[q]);
                snprintf(tr, sizeof tr, "%.0fx", sq_tailored[q] / med[q]);
                log_t += log(sq_tailored[q] / med[q]);
            }
            nratio++;
        }
        printf("%-22s %5s %8llu %8.3f %7.3f | %9s %7s | %9s %6s | %8s %7s | %s\n", qs[q].name,
               qs[q].kind ? "range" : "tags", (unsigned long long)cnt[q], med[q], p99[q], g, gr, t,
               tr, sc, scr,
               !db  ? ""
               : ok ? "same count"
                    : "COUNT DIFFERS");
        if (!ok) printf("    sqlite count %lld\n", (long long)scount[q]);
    }
    qsort(lat_tags, (size_t)ntags_q, sizeof(double), cmp_d);
    qsort(lat_range, (size_t)nrange_q, sizeof(double), cmp_d);
    if (ntags_q && nrange_q) { /* --query may leave one kind out */
        printf("\nmedian of medians: tags/categoricals %.3f ms (goal < 1), with ranges %.3f ms "
               "(goal < 10)\n",
               lat_tags[ntags_q / 2], lat_range[nrange_q / 2]);
        printf("worst median: tags/categoricals %.3f ms, with ranges %.3f ms\n",
               lat_tags[ntags_q - 1], lat_range[nrange_q - 1]);
    }
    if (nratio) {
        printf(
            "speed-up over SQLite, geometric mean: %.0fx over the general schema (goal >= 300x), "
            "%.0fx without indexes",
            exp(log_g / nratio), exp(log_s / nratio));
        if (tailored)
            printf(", %.0fx over an index tailored to each question", exp(log_t / nratio));
        printf("\n");
    }
    if (pg) {
        printf("\nPostgreSQL, the same rows and SQL (ratios: PostgreSQL / siyu, and PostgreSQL / "
               "SQLite):\n");
        printf("%-22s %8s | %9s %7s %7s | %9s %7s %7s | %8s %7s %7s | %s\n", "question", "count",
               "general", "ratio", "/SQLite", "tailored", "ratio", "/SQLite", "scan", "ratio",
               "/SQLite", "check");
        double lg = 0, lt = 0, ls = 0, lgs = 0, lts = 0, lss = 0;
        int nr = 0;
        for (size_t q = 0; q < nq; q++) {
            if (only && !strstr(qs[q].name, only)) continue;
            bool ok = pcount[q] >= 0 && (uint64_t)pcount[q] == cnt[q];
            mismatches += !ok;
            printf(
                "%-22s %8lld | %9.1f %6.0fx %6.2fx | %9.1f %6.0fx %6.2fx | %8.0f %6.0fx %6.2fx | "
                "%s\n",
                qs[q].name, (long long)pcount[q], pg_general[q], pg_general[q] / med[q],
                pg_general[q] / sq_general[q], pg_tailored[q], pg_tailored[q] / med[q],
                tailored ? pg_tailored[q] / sq_tailored[q] : 0, pg_scan[q], pg_scan[q] / med[q],
                pg_scan[q] / sq_scan[q], ok ? "same count" : "COUNT DIFFERS");
            lg += log(pg_general[q] / med[q]);
            ls += log(pg_scan[q] / med[q]);
            lgs += log(pg_general[q] / sq_general[q]);
            lss += log(pg_scan[q] / sq_scan[q]);
            if (tailored) {
                lt += log(pg_tailored[q] / med[q]);
                lts += log(pg_tailored[q] / sq_tailored[q]);
            }
            nr++;
        }
        if (nr) {
            printf("speed-up over PostgreSQL, geometric mean: %.0fx over the general schema, %.0fx "
                   "without indexes",
                   exp(lg / nr), exp(ls / nr));
            if (tailored) printf(", %.0fx over the tailored indexes", exp(lt / nr));
            printf("\nPostgreSQL / SQLite, geometric mean: general %.2fx, scan %.2fx",
                   exp(lgs / nr), exp(lss / nr));
            if (tailored) printf(", tailored %.2fx", exp(lts / nr));
            printf("\n");
        }
        PQfinish(pg);
    }
    /* ---- the index as the server builds it at start-up, from a SQLite store and from a
     * PostgreSQL store holding the same members as siyu's own rows ---- */
    if (pg_server) {
        char path[256], url[512], now[64];
        snprintf(path, sizeof path, "/tmp/siyu-bench-segment-%ld.db", n);
        pgb_database(pg_server, "siyu_bench_segment_store", true, url, sizeof url);
        double ts = now_s();
        write_store_sqlite(path, n);
        double w_lite = now_s() - ts;
        ts = now_s();
        write_store_pg(url, n);
        double w_pg = now_s() - ts;
        printf("\nsiyu stores of the same members (members, orders and lines, reach, tags, "
               "predictions): written in %.1f s (SQLite, INSERT), %.1f s (PostgreSQL, COPY)\n",
               w_lite, w_pg);
        /* the index's today is the generator's: noon of T, local time */
        int32_t z = T + 719468, era = z / 146097, doe = z - era * 146097;
        int32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
        int32_t dd = doy - (153 * mp + 2) / 5 + 1, mm = mp < 10 ? mp + 3 : mp - 9;
        int32_t yy = yoe + era * 400 + (mm <= 2);
        snprintf(now, sizeof now, "%04d-%02d-%02dT12:00:00+08:00", yy, mm, dd);
        setenv("SIYU_NOW", now, 1);
        double l_lite, l_pg;
        seg_index *a = load_index(path, &l_lite);
        seg_index *b = load_index(url, &l_pg);
        printf("%-44s %10s %10s %10s\n", "", "SQLite", "PostgreSQL", "PG/SQLite");
        printf("%-44s %8.2f s %8.2f s %9.2fx\n", "index load at start-up (views_open_index)",
               l_lite, l_pg, l_pg / l_lite);
        char label[64];
        snprintf(label, sizeof label, "  x the update API's build, no store (%.2f s)", t_build);
        printf("%-44s %9.2fx %9.2fx\n", label, l_lite / t_build, l_pg / t_build);
        printf("%-22s %10s %10s %10s  %s\n", "question", "API-built", "SQLite", "PostgreSQL",
               "check");
        for (size_t q = 0; q < nq; q++) {
            if (only && !strstr(qs[q].name, only)) continue;
            uint64_t ca = 0, cb = 0;
            seg_expr *ea, *eb;
            if (seg_parse(qs[q].expr, a, &ea, &err) || seg_count(a, ea, NULL, &ca, &err) ||
                seg_parse(qs[q].expr, b, &eb, &err) || seg_count(b, eb, NULL, &cb, &err)) {
                fprintf(stderr, "%s: %s\n", qs[q].expr, err.msg);
                return 1;
            }
            seg_expr_free(ea);
            seg_expr_free(eb);
            /* a store has no tier without a loyalty ladder: those questions differ from
             * the API-built index, and must still agree between the two stores */
            bool tier = strstr(qs[q].expr, "tier") != NULL, ok = ca == cb && (tier || ca == cnt[q]);
            mismatches += !ok;
            printf("%-22s %10llu %10llu %10llu  %s\n", qs[q].name, (unsigned long long)cnt[q],
                   (unsigned long long)ca, (unsigned long long)cb,
                   !ok    ? "COUNT DIFFERS"
                   : tier ? "same in both stores (no tier in a store without a ladder)"
                          : "same count");
        }
        seg_index_free(a);
        seg_index_free(b);
        remove(path);
    }
    if (mismatches) printf("%d COUNT MISMATCHES\n", mismatches);
    free(samples);

    /* ---- per-order upkeep: orders for random members, dated today ---- */
    int norders = 1000000;
    double t1 = now_s();
    for (int k = 0; k < norders; k++) {
        seg_category_spend cs = {catnames[k % NCATS], 5000};
        seg_index_apply_order(idx, 1 + (int64_t)(rnd() % (uint64_t)n), T, 5000, 3, &cs, 1, &err);
    }
    printf("per-order upkeep: %.2f us/order (1M orders on random members, one category each)\n",
           (now_s() - t1) / norders * 1e6);
    /* a day passing: windows slide, the RFM medians and every member's classes are redone */
    t1 = now_s();
    seg_index_advance_day(idx, T + 1, &err);
    printf("day roll (windows, RFM medians, class columns of every member): %.0f ms\n",
           (now_s() - t1) * 1e3);
    if (db) sqlite3_close(db);
    seg_index_free(idx);
    return mismatches ? 1 : 0;
}
