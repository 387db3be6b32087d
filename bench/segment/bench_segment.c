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
 *                                        (for a profiler: --runs 1000 --no-sqlite) */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "segment/eval.h"
#include "segment/index.h"

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

int main(int argc, char **argv)
{
    long n = 20000000, runs = 101, sruns = 3;
    int use_sqlite = 1, tailored = 1;
    const char *only = NULL;
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
        else {
            fprintf(stderr,
                    "usage: %s [--members N] [--runs R] [--sqlite-runs S] [--no-sqlite] "
                    "[--no-tailored] [--query NAME]\n",
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
             "SELECT count(*) FROM m WHERE (tags & %lld) AND (tags & %lld) AND NOT (tags & %lld)",
             1ll << 3, 1ll << 8, 1ll << 1);
    snprintf(qs[1].sql, 1024,
             "SELECT count(*) FROM m WHERE tier = 'gold' AND city = '杭州' AND (reach & 2)");
    snprintf(
        qs[2].sql, 1024,
        "SELECT count(*) FROM m WHERE store IN (3, 5, 8) AND (tags & 1) AND gender = 'female'");
    snprintf(qs[3].sql, 1024,
             "SELECT count(*) FROM m WHERE tier IN ('gold', 'silver') AND (reach & 16) AND "
             "(tags & %lld) AND (tags & %lld) AND NOT (tags & %lld)",
             1ll << 4, 1ll << 9, 1ll << 20);
    snprintf(qs[4].sql, 1024,
             "SELECT count(*) FROM m WHERE s365 >= 100000 AND o365 >= 3 AND (tags & 4)");
    snprintf(qs[5].sql, 1024,
             "SELECT count(*) FROM m WHERE store = 12 AND last_day >= %d AND tier != 'bronze'",
             T - 30);
    snprintf(
        qs[6].sql, 1024,
        "SELECT count(*) FROM m WHERE bmonth = 11 AND city = '上海' AND bday BETWEEN %d AND %d "
        "AND (reach & 2)",
        bd_lo, bd_hi);
    snprintf(qs[7].sql, 1024,
             "SELECT count(*) FROM m WHERE joined BETWEEN %d AND %d AND orders = 0 AND reach != 0",
             T - 7, T - 3);
    snprintf(qs[8].sql, 1024,
             "SELECT count(*) FROM m WHERE tier = 'gold' AND (tags & 32) AND "
             "((orders >= 1 AND last_day < %d AND orders < %d AND spend >= %lld) OR p_alive < 0.3)",
             T - rfm.r_max_days, rfm.f_min_orders, (long long)rfm.m_min_cents);
    snprintf(qs[9].sql, 1024,
             "SELECT count(*) FROM m WHERE fav = '生鲜' AND city = '杭州' AND s90 > 20000");
    snprintf(qs[10].sql, 1024,
             "SELECT count(*) FROM m WHERE store IN (1, 2, 3, 4) AND last_day BETWEEN %d AND %d "
             "AND orders >= 1 AND first_day <= %d AND ((tags & 1) OR (tags & 512))",
             T - 180, T - 91, T - 30);
    snprintf(qs[11].sql, 1024, "SELECT count(*) FROM m WHERE guide = 1234 AND o30 >= 1");
    snprintf(qs[12].sql, 1024,
             "SELECT count(*) FROM m WHERE (tags & 1) AND (tags & 8) AND NOT (tags & 128) AND "
             "tier != 'bronze' AND (reach & 2) AND spend >= 50000 AND last_day >= %d AND gender = "
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

    /* ---- siyu: every question, median and p99 of `runs` counts ---- */
    double med[64], p99[64], sq_general[64] = {0}, sq_tailored[64] = {0}, sq_scan[64] = {0};
    uint64_t cnt[64];
    int64_t scount[64];
    double *samples = malloc((size_t)(runs > sruns ? runs : sruns) * sizeof *samples);
    for (size_t q = 0; q < nq; q++) {
        scount[q] = -1;
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
    if (db) {
        static const char *const cols[] = {"store",     "guide",    "tier",   "gender", "city",
                                           "fav",       "bmonth",   "bday",   "joined", "orders",
                                           "o30",       "o365",     "spend",  "s90",    "s365",
                                           "first_day", "last_day", "p_alive"};
        const size_t ncols = sizeof cols / sizeof *cols;
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
            const char *ixs[] = {
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
