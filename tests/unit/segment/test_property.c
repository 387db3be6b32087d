/* test_property.c — the index against an independent evaluation.
 *
 * Random members, orders, refunds, tags and profile changes (fixed seed) go both
 * through the index's update API and, as raw rows, into an in-memory SQLite database.
 * SQL computes every attribute from the raw rows (GROUP BY, subqueries), random
 * expressions are translated both into the segment language and into SQL WHERE
 * clauses, and the member sets must be identical — after the writes, and again after
 * days pass without writes (windows, days-since, age, lifecycle move).
 *
 * No store is involved: the in-memory SQLite database is the test's own oracle, not siyu's
 * store, so the test has no PostgreSQL variant (the index reads a PostgreSQL store through
 * the same scans, which pg_e2e_segments_e2e covers). */
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "segment/attrs.h"
#include "segment/eval.h"
#include "segment/index.h"
#include "segment/seg_internal.h"

/* ================= helpers ================= */

static uint64_t rng = 0x5eed5eed12345ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static int64_t rr(int64_t lo, int64_t hi) /* inclusive */
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}
static bool chance(int pct)
{
    return (int)(rnd() % 100) < pct;
}

static sqlite3 *db;
static void sql(const char *fmt, ...)
{
    char *q;
    va_list ap;
    va_start(ap, fmt);
    q = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    char *msg = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "SQL error: %s\n  in: %s\n", msg, q);
        exit(2);
    }
    sqlite3_free(q);
}

static int64_t sql_int(const char *q)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "SQL error: %s\n  in: %s\n", sqlite3_errmsg(db), q);
        exit(2);
    }
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : INT64_MIN;
    sqlite3_finalize(st);
    return v;
}

/* civil -> days since 1970 (the test's own copy) */
static int32_t civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153u * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int32_t)doe - 719468;
}

typedef struct sb {
    char s[16384];
    size_t n;
} sb;
static void sbf(sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->s + b->n, sizeof b->s - b->n, fmt, ap);
    va_end(ap);
    if (k > 0) b->n += (size_t)k < sizeof b->s - b->n ? (size_t)k : sizeof b->s - b->n - 1;
}

/* ================= the world ================= */

#define NMEM 3000
#define NTAGS 5
static const char *channels[] = {"pos", "miniprogram", "live", NULL};
static const char *tiers[] = {"bronze", "silver", "gold", NULL};
static const char *genders[] = {"male", "female", NULL};
static const char *cities[] = {"杭州", "上海", "北京", "宁波", "it's", NULL};
static const char *cats[] = {"生鲜", "日化", "酒水", "零食", "母婴", "a\"b"};
#define NCATS 6
static const char *tag_names[NTAGS] = {"高价值", "流失风险", "vip", "half", "most"};
static const int tag_pct[NTAGS] = {1, 5, 20, 50, 90};

static seg_index *idx;
static int64_t ids[NMEM];
static int32_t today;
static int tag_ids[NTAGS];

typedef struct order_row {
    int64_t oid, mid;
    int32_t day;
    int64_t cents;
    int32_t items;
    int ncat;
    int cat[3];
    int64_t catc[3];
    bool refunded;
} order_row;
static order_row *orders_;
static size_t norders, orders_cap;

static const char *pick(const char **arr, size_t n)
{
    return arr[rnd() % n];
}

static void upsert(int i)
{
    seg_member_profile p = {.id = ids[i]};
    /* a few large stores and guides (dense sets) and a long tail: stores 50..69 with
     * ~15 members each (roaring bitmaps), guides 200..399 with ~4 (sorted arrays) */
    p.store_id = chance(5) ? 0 : chance(10) ? rr(50, 69) : rr(1, 8);
    p.guide_id = chance(20) ? 0 : chance(30) ? rr(200, 399) : rr(100, 119);
    p.brand_id = rr(0, 3);
    p.join_channel = pick(channels, 4);
    p.tier = pick(tiers, 4);
    p.gender = pick(genders, 3);
    p.city = pick(cities, 6);
    p.birthday = SEG_NO_DAY;
    if (chance(80)) {
        int y = (int)rr(1950, 2012), m = (int)rr(1, 12), d = (int)rr(1, 28);
        if (chance(5)) {
            m = 2;
            d = 29;
            y = 2000 + 4 * (int)rr(0, 2);
        } else if (chance(5)) {
            m = 3;
            d = 1;
        } /* the day after a 29th of February that isn't */
        else if (chance(5)) {
            m = 2;
            d = 28;
        }
        p.birthday = civil(y, m, d);
    }
    p.joined_day = chance(5) ? SEG_NO_DAY : today - (int32_t)rr(0, 500);
    seg_error err;
    if (seg_index_upsert_member(idx, &p, &err) != 0) {
        fprintf(stderr, "upsert: %s\n", err.msg);
        exit(2);
    }
    /* optional integers as SQL text: a number or NULL */
    char st[24] = "NULL", gd[24] = "NULL", br[24] = "NULL", bd[24] = "NULL", jd[24] = "NULL";
    if (p.store_id) snprintf(st, sizeof st, "%lld", (long long)p.store_id);
    if (p.guide_id) snprintf(gd, sizeof gd, "%lld", (long long)p.guide_id);
    if (p.brand_id) snprintf(br, sizeof br, "%lld", (long long)p.brand_id);
    if (p.birthday != SEG_NO_DAY) snprintf(bd, sizeof bd, "%d", p.birthday);
    if (p.joined_day != SEG_NO_DAY) snprintf(jd, sizeof jd, "%d", p.joined_day);
    sql("INSERT OR REPLACE INTO members(id, live, store, guide, brand, channel, tier, gender, "
        "city, bday, joined, points, reach, p_alive, expect, clv) VALUES(%lld, 1, %s, %s, %s, %Q, "
        "%Q, "
        "%Q, %Q, %s, %s, COALESCE((SELECT points FROM members WHERE id=%lld),0), "
        "COALESCE((SELECT reach FROM members WHERE id=%lld),0), "
        "(SELECT p_alive FROM members WHERE id=%lld), (SELECT expect FROM members WHERE id=%lld), "
        "(SELECT clv FROM members WHERE id=%lld))",
        (long long)p.id, st, gd, br, p.join_channel, p.tier, p.gender, p.city, bd, jd,
        (long long)p.id, (long long)p.id, (long long)p.id, (long long)p.id, (long long)p.id);
}

static void member_state(int i)
{
    seg_error err;
    int64_t id = ids[i];
    unsigned reach = (unsigned)(rnd() & 31);
    if (chance(30)) reach = 0;
    int64_t points = rr(-100, 5000);
    CHECK(seg_index_set_reach(idx, id, reach, &err) == 0);
    CHECK(seg_index_set_points(idx, id, points, &err) == 0);
    if (chance(70)) {
        /* values a float represents exactly the same way in SQL */
        double pa = (double)(float)((double)rr(0, 1000) / 1000.0);
        double ex = (double)(float)((double)rr(0, 300) / 100.0);
        int64_t clv = rr(0, 200000);
        CHECK(seg_index_set_prediction(idx, id, pa, ex, clv, &err) == 0);
        sql("UPDATE members SET reach=%u, points=%lld, p_alive=%.17g, expect=%.17g, clv=%lld "
            "WHERE id=%lld",
            reach, (long long)points, pa, ex, (long long)clv, (long long)id);
    } else {
        CHECK(seg_index_set_prediction(idx, id, NAN, NAN, SEG_NO_VALUE, &err) == 0);
        sql("UPDATE members SET reach=%u, points=%lld, p_alive=NULL, expect=NULL, clv=NULL "
            "WHERE id=%lld",
            reach, (long long)points, (long long)id);
    }
}

static void place_order(int i, int32_t day)
{
    if (norders == orders_cap) {
        orders_cap = orders_cap ? orders_cap * 2 : 1024;
        orders_ = realloc(orders_, orders_cap * sizeof *orders_);
    }
    order_row *o = &orders_[norders];
    memset(o, 0, sizeof *o);
    o->oid = (int64_t)norders + 1;
    o->mid = ids[i];
    o->day = day;
    o->ncat = (int)rr(1, 3);
    seg_category_spend cs[3];
    for (int k = 0; k < o->ncat; k++) {
        o->cat[k] = (int)rr(0, NCATS - 1);
        o->catc[k] = rr(1, 40) * 250; /* round amounts: ties between categories happen */
        o->cents += o->catc[k];
        cs[k] = (seg_category_spend){cats[o->cat[k]], o->catc[k]};
    }
    o->items = (int32_t)rr(1, 9);
    seg_error err;
    if (seg_index_apply_order(idx, o->mid, day, o->cents, o->items, cs, (size_t)o->ncat, &err) !=
        0) {
        fprintf(stderr, "order: %s\n", err.msg);
        exit(2);
    }
    sql("INSERT INTO orders VALUES(%lld, %lld, %d, %lld, %d)", (long long)o->oid, (long long)o->mid,
        day, (long long)o->cents, o->items);
    for (int k = 0; k < o->ncat; k++)
        sql("INSERT INTO order_cats VALUES(%lld, %Q, %lld)", (long long)o->oid, cats[o->cat[k]],
            (long long)o->catc[k]);
    norders++;
}

static void refund_some(void)
{
    if (!norders) return;
    order_row *o = &orders_[rnd() % norders];
    if (o->refunded || today - o->day > 500) return;
    o->refunded = true;
    seg_error err;
    bool full = chance(50);
    seg_category_spend cs[3];
    int64_t cents = 0;
    int32_t items = 0;
    int ncs = 0;
    if (full) {
        for (int k = 0; k < o->ncat; k++)
            cs[ncs++] = (seg_category_spend){cats[o->cat[k]], o->catc[k]};
        cents = o->cents;
        items = o->items;
    } else {
        cs[ncs++] = (seg_category_spend){cats[o->cat[0]], o->catc[0] / 2};
        cents = o->catc[0] / 2;
        items = o->items > 1 ? 1 : 0;
    }
    CHECK(seg_index_apply_refund(idx, o->mid, o->day, cents, items, full, cs, (size_t)ncs, &err) ==
          0);
    sql("INSERT INTO refunds VALUES(%lld, %lld, %lld, %d, %d)", (long long)o->oid,
        (long long)o->oid, (long long)cents, items, full);
    for (int k = 0; k < ncs; k++)
        sql("INSERT INTO refund_cats VALUES(%lld, %Q, %lld)", (long long)o->oid, cs[k].category,
            (long long)cs[k].cents);
}

/* ================= SQL attributes ================= */

static seg_rfm_thresholds rfm;
static seg_lifecycle_thresholds life;

static void build_attrs(void)
{
    sql("DROP TABLE IF EXISTS attrs");
    sql("DROP TABLE IF EXISTS cs");
    sql("CREATE TABLE cs AS SELECT mid, cat, sum(c) spend FROM ("
        "   SELECT o.mid, oc.cat, oc.cents c FROM order_cats oc JOIN orders o ON o.oid = oc.oid "
        "   UNION ALL SELECT o.mid, rc.cat, -rc.cents FROM refund_cats rc "
        "   JOIN refunds r ON r.rid = rc.rid JOIN orders o ON o.oid = r.oid) GROUP BY mid, cat");
    sql("CREATE INDEX cs_mid ON cs(mid)");
    sql("CREATE TABLE attrs AS "
        "WITH o AS (SELECT o.oid, o.mid, o.day, "
        "   o.cents - COALESCE((SELECT sum(cents) FROM refunds r WHERE r.oid=o.oid),0) AS net, "
        "   o.items - COALESCE((SELECT sum(items) FROM refunds r WHERE r.oid=o.oid),0) AS nitems, "
        "   1 - COALESCE((SELECT max(cancels) FROM refunds r WHERE r.oid=o.oid),0) AS cnt "
        "   FROM orders o), "
        "agg AS (SELECT mid, sum(cnt) orders, sum(net) spend, sum(nitems) items, min(day) first_d, "
        "   max(day) last_d, "
        "   sum(CASE WHEN %d - day < 30 THEN cnt ELSE 0 END) o30, "
        "   sum(CASE WHEN %d - day < 90 THEN cnt ELSE 0 END) o90, "
        "   sum(CASE WHEN %d - day < 365 THEN cnt ELSE 0 END) o365, "
        "   sum(CASE WHEN %d - day < 30 THEN net ELSE 0 END) s30, "
        "   sum(CASE WHEN %d - day < 90 THEN net ELSE 0 END) s90, "
        "   sum(CASE WHEN %d - day < 365 THEN net ELSE 0 END) s365 "
        "   FROM o GROUP BY mid) "
        "SELECT m.id, m.live, m.store, m.guide, m.brand, m.channel AS join_channel, m.tier, "
        "  m.gender, m.city, m.points AS points_balance, m.p_alive, m.expect AS "
        "expected_purchases_90d, "
        "  m.clv AS clv_12m_cents, m.bday AS birthday, m.joined AS joined_date, "
        "  (m.reach & 1) != 0 AS r_pa, (m.reach & 2) != 0 AS r_wecom, (m.reach & 4) != 0 AS "
        "r_group, "
        "  (m.reach & 8) != 0 AS r_sms, (m.reach & 16) != 0 AS r_mini, m.reach != 0 AS r_any, "
        "  CASE WHEN m.bday IS NOT NULL THEN "
        "    CAST(strftime('%%Y', %d*86400, 'unixepoch') AS INT) "
        "    - CAST(strftime('%%Y', m.bday*86400, 'unixepoch') AS INT) "
        "    - (strftime('%%m%%d', %d*86400, 'unixepoch') < strftime('%%m%%d', m.bday*86400, "
        "'unixepoch')) "
        "  END AS age, "
        "  CAST(strftime('%%m', m.bday*86400, 'unixepoch') AS INT) AS birthday_month, "
        "  CAST(strftime('%%d', m.bday*86400, 'unixepoch') AS INT) AS birthday_day, "
        "  %d - m.joined AS joined_days, "
        "  %d - agg.first_d AS first_order_days, %d - agg.last_d AS last_order_days, "
        "  agg.first_d AS first_order_date, agg.last_d AS last_order_date, "
        "  COALESCE(agg.orders, 0) AS orders, COALESCE(agg.o30, 0) AS orders_30d, "
        "  COALESCE(agg.o90, 0) AS orders_90d, COALESCE(agg.o365, 0) AS orders_365d, "
        "  COALESCE(agg.spend, 0) AS spend_cents, COALESCE(agg.s30, 0) AS spend_30d_cents, "
        "  COALESCE(agg.s90, 0) AS spend_90d_cents, COALESCE(agg.s365, 0) AS spend_365d_cents, "
        "  CASE WHEN agg.orders > 0 THEN agg.spend / agg.orders END AS avg_ticket_cents, "
        "  CASE WHEN agg.orders > 0 THEN CAST(agg.items AS REAL) / agg.orders END AS "
        "items_per_order, "
        "  (SELECT cat FROM cs WHERE cs.mid = m.id AND cs.spend > 0 ORDER BY cs.spend DESC, cs.cat "
        "ASC "
        "   LIMIT 1) AS favourite_category, "
        "  agg.last_d AS last_d, agg.first_d AS first_d, "
        "  (SELECT max(day) FROM orders o2 WHERE o2.mid = m.id AND o2.day < agg.last_d) AS prev_d "
        "FROM members m LEFT JOIN agg ON agg.mid = m.id",
        today, today, today, today, today, today, today, today, today, today, today);
    /* rfm and lifecycle from the thresholds (checked against SQL medians in main) */
    sql("ALTER TABLE attrs ADD COLUMN rfm TEXT");
    sql("ALTER TABLE attrs ADD COLUMN lifecycle TEXT");
    sql("UPDATE attrs SET rfm = CASE WHEN orders < 1 THEN NULL ELSE "
        " CASE (last_order_days <= %d) * 4 + (orders >= %d) * 2 + (spend_cents >= %lld) "
        "  WHEN 7 THEN '重要价值' WHEN 5 THEN '重要发展' WHEN 3 THEN '重要保持' WHEN 1 THEN "
        "'重要挽留' "
        "  WHEN 6 THEN '一般价值' WHEN 4 THEN '一般发展' WHEN 2 THEN '一般保持' ELSE '一般挽留' "
        "END END",
        rfm.r_max_days, rfm.f_min_orders, (long long)rfm.m_min_cents);
    sql("UPDATE attrs SET lifecycle = CASE "
        " WHEN orders < 1 THEN 'prospect' "
        " WHEN first_order_days < %d THEN 'new' "
        " WHEN last_order_days <= %d AND prev_d IS NOT NULL AND last_d - prev_d > %d THEN "
        "'won_back' "
        " WHEN last_order_days <= %d THEN 'active' "
        " WHEN last_order_days <= %d THEN 'at_risk' ELSE 'lapsed' END",
        life.new_days, life.active_days, life.lapsed_days, life.active_days, life.lapsed_days);
}

/* ================= random expressions ================= */

typedef struct num_attr {
    const char *name, *col;
    int64_t lo, hi;
    int kind; /* 0 int, 1 decimal, 2 date */
} num_attr;

static const num_attr nattrs[] = {
    {"age", "age", -1, 80, 0},
    {"birthday_month", "birthday_month", 0, 13, 0},
    {"birthday_day", "birthday_day", 0, 32, 0},
    {"joined_days", "joined_days", -3, 520, 0},
    {"first_order_days", "first_order_days", 0, 600, 0},
    {"last_order_days", "last_order_days", 0, 600, 0},
    {"orders", "orders", 0, 12, 0},
    {"orders_30d", "orders_30d", 0, 3, 0},
    {"orders_90d", "orders_90d", 0, 5, 0},
    {"orders_365d", "orders_365d", 0, 9, 0},
    {"spend_cents", "spend_cents", -1000, 150000, 0},
    {"spend_30d_cents", "spend_30d_cents", 0, 30000, 0},
    {"spend_90d_cents", "spend_90d_cents", 0, 60000, 0},
    {"spend_365d_cents", "spend_365d_cents", 0, 120000, 0},
    {"avg_ticket_cents", "avg_ticket_cents", 0, 25000, 0},
    {"items_per_order", "items_per_order", 0, 900, 1},
    {"points_balance", "points_balance", -200, 5200, 0},
    {"p_alive", "p_alive", 0, 100, 1},
    {"expected_purchases_90d", "expected_purchases_90d", 0, 300, 1},
    {"clv_12m_cents", "clv_12m_cents", 0, 200000, 0},
    {"joined_date", "joined_date", 0, 520, 2},
    {"first_order_date", "first_order_date", 0, 600, 2},
    {"last_order_date", "last_order_date", 0, 600, 2},
    {"birthday", "birthday", 0, 23000, 2},
};
#define NNATTRS (sizeof nattrs / sizeof nattrs[0])

/* A literal for attribute a in both languages. */
static void num_lit(const num_attr *a, sb *l, sb *s)
{
    if (a->kind == 2) {
        /* dates: days back from today (birthday: from 1950) */
        int32_t day = a->hi > 10000 ? civil(1950, 1, 1) + (int32_t)rr(0, a->hi)
                                    : today - (int32_t)rr(a->lo, a->hi);
        if (chance(30) && a->hi > 10000) /* the 29th of February */
            day = civil(2000 + 4 * (int)rr(0, 2), 2, 29);
        int64_t z = (int64_t)day * 86400;
        char buf[16];
        time_t t = (time_t)z;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
        sbf(l, "%s", buf);
        sbf(s, "%d", day);
        return;
    }
    if (a->kind == 1) {
        /* hundredths, sometimes a third decimal or an integer */
        int64_t v = rr(a->lo, a->hi);
        if (chance(20)) {
            sbf(l, "%lld", (long long)(v / 100));
            sbf(s, "%lld", (long long)(v / 100));
        } else if (chance(15)) {
            char buf[32];
            snprintf(buf, sizeof buf, "%lld.%03lld", (long long)(v / 100), (long long)rr(0, 999));
            sbf(l, "%s", buf);
            sbf(s, "%s", buf);
        } else {
            sbf(l, "%lld.%02lld", (long long)(v / 100), (long long)(v % 100));
            sbf(s, "%lld.%02lld", (long long)(v / 100), (long long)(v % 100));
        }
        return;
    }
    int64_t v = rr(a->lo, a->hi);
    if (chance(8)) { /* a decimal literal on an integer attribute */
        sbf(l, "%lld.5", (long long)v);
        sbf(s, "%lld.5", (long long)v);
        return;
    }
    sbf(l, "%lld", (long long)v);
    sbf(s, "%lld", (long long)v);
}

static const char *ops[] = {"=", "!=", "<", "<=", ">", ">="};

static void sql_str(sb *s, const char *v)
{
    sbf(s, "'");
    for (const char *p = v; *p; p++)
        sbf(s, *p == '\'' ? "''" : "%c", *p);
    sbf(s, "'");
}
static void lang_str(sb *l, const char *v)
{
    sbf(l, "\"");
    for (const char *p = v; *p; p++)
        sbf(l, (*p == '"' || *p == '\\') ? "\\%c" : "%c", *p);
    sbf(l, "\"");
}

static void gen_leaf(sb *l, sb *s)
{
    int k = (int)rr(0, 14);
    if (k <= 5) { /* numeric */
        const num_attr *a = &nattrs[rnd() % NNATTRS];
        int form = (int)rr(0, 9);
        if (form <= 6) {
            const char *op = ops[rnd() % 6];
            sbf(l, "%s %s ", a->name, op);
            sbf(s, "(%s IS NOT NULL AND %s %s ", a->col, a->col, op);
            num_lit(a, l, s);
            sbf(s, ")");
        } else if (form <= 8) {
            sbf(l, "%s between ", a->name);
            sbf(s, "(%s IS NOT NULL AND %s BETWEEN ", a->col, a->col);
            num_lit(a, l, s);
            sbf(l, " and ");
            sbf(s, " AND ");
            num_lit(a, l, s);
            sbf(s, ")");
        } else {
            sbf(l, "%s in (", a->name);
            sbf(s, "(%s IS NOT NULL AND %s IN (", a->col, a->col);
            int n = (int)rr(1, 4);
            for (int i = 0; i < n; i++) {
                if (i) {
                    sbf(l, ", ");
                    sbf(s, ", ");
                }
                num_lit(a, l, s);
            }
            sbf(l, ")");
            sbf(s, "))");
        }
        return;
    }
    if (k <= 8) { /* categorical */
        static const char *catn[] = {"store", "guide",  "brand", "join_channel",
                                     "tier",  "gender", "city",  "favourite_category"};
        int c = (int)rr(0, 7);
        bool in = chance(25);
        const char *op = chance(30) ? "!=" : "=";
        int n = in ? (int)rr(1, 3) : 1;
        if (in) {
            sbf(l, "%s in (", catn[c]);
            sbf(s, "(%s IS NOT NULL AND %s IN (", catn[c], catn[c]);
        } else {
            sbf(l, "%s %s ", catn[c], op);
            sbf(s, "(%s IS NOT NULL AND %s %s ", catn[c], catn[c], op);
        }
        for (int i = 0; i < n; i++) {
            if (i) {
                sbf(l, ", ");
                sbf(s, ", ");
            }
            if (c <= 2) {
                int64_t v = c == 0   ? (chance(40) ? rr(49, 70) : rr(0, 9))
                            : c == 1 ? (chance(40) ? rr(199, 400) : rr(99, 121))
                                     : rr(0, 4);
                sbf(l, "%lld", (long long)v);
                sbf(s, "%lld", (long long)v);
            } else {
                static const char *extra[] = {"深圳", "platinum", "other", ""};
                const char *v;
                switch (c) {
                case 3:
                    v = chance(10) ? extra[3] : channels[rnd() % 3];
                    break;
                case 4:
                    v = chance(10) ? extra[1] : tiers[rnd() % 3];
                    break;
                case 5:
                    v = chance(10) ? extra[2] : genders[rnd() % 2];
                    break;
                case 6:
                    v = chance(10) ? extra[0] : cities[rnd() % 5];
                    break;
                default:
                    v = cats[rnd() % NCATS];
                    break;
                }
                lang_str(l, v);
                sql_str(s, v);
            }
        }
        sbf(l, in ? ")" : "");
        sbf(s, in ? "))" : ")");
        return;
    }
    if (k <= 10) { /* flags */
        static const char *fl[] = {"reach.public_account", "reach.wecom",
                                   "reach.group",          "reach.sms",
                                   "reach.miniprogram",    "reach.any"};
        static const char *fc[] = {"r_pa", "r_wecom", "r_group", "r_sms", "r_mini", "r_any"};
        int f = (int)rr(0, 5);
        sbf(l, "%s", fl[f]);
        sbf(s, "(%s = 1)", fc[f]);
        return;
    }
    if (k <= 12) { /* tags, the rule tag, the saved segment */
        int t = (int)rr(0, NTAGS + 1);
        if (t < NTAGS) {
            sbf(l, "tag:");
            lang_str(l, tag_names[t]);
            sbf(s, "(id IN (SELECT mid FROM tags WHERE tag = %d))", t);
        } else if (t == NTAGS) {
            sbf(l, "tag:big");
            sbf(s, "((spend_365d_cents >= 50000) AND r_any = 1)");
        } else {
            sbf(l, chance(50) ? "segment:7" : "segment:\"s7\"");
            sbf(s, "((tier IS NOT NULL AND tier = 'gold') OR orders_30d >= 2)");
        }
        return;
    }
    /* rfm / lifecycle */
    bool is_rfm = chance(50);
    const char *col = is_rfm ? "rfm" : "lifecycle";
    int ncls = is_rfm ? SEG_RFM_CLASSES : SEG_LIFECYCLE_STAGES;
    const char *const *names = is_rfm ? seg_rfm_names : seg_lifecycle_names;
    if (chance(30)) {
        int n = (int)rr(1, 3);
        sbf(l, "%s in (", col);
        sbf(s, "(%s IS NOT NULL AND %s IN (", col, col);
        for (int i = 0; i < n; i++) {
            const char *v = names[rnd() % (unsigned)ncls];
            sbf(l, i ? ", \"%s\"" : "\"%s\"", v);
            sbf(s, i ? ", '%s'" : "'%s'", v);
        }
        sbf(l, ")");
        sbf(s, "))");
    } else {
        const char *op = chance(30) ? "!=" : "=";
        const char *v = names[rnd() % (unsigned)ncls];
        sbf(l, "%s %s \"%s\"", col, op, v);
        sbf(s, "(%s IS NOT NULL AND %s %s '%s')", col, col, op, v);
    }
}

static void gen_expr(sb *l, sb *s, int depth)
{
    int k = depth >= 3 ? 0 : (int)rr(0, 9);
    if (k <= 4) {
        gen_leaf(l, s);
    } else if (k <= 8) {
        const char *op = k <= 6 ? "and" : "or";
        int n = (int)rr(2, 4);
        sbf(l, "(");
        sbf(s, "(");
        for (int i = 0; i < n; i++) {
            if (i) {
                sbf(l, " %s ", op);
                sbf(s, " %s ", op);
            }
            gen_expr(l, s, depth + 1);
        }
        sbf(l, ")");
        sbf(s, ")");
    } else {
        sbf(l, "not ");
        sbf(s, "NOT ");
        if (chance(50)) {
            sbf(l, "(");
            sbf(s, "(");
            gen_expr(l, s, depth + 1);
            sbf(l, ")");
            sbf(s, ")");
        } else {
            gen_leaf(l, s);
        }
    }
}

/* ================= checking ================= */

static int64_t *sql_ids(const char *where, const char *scope_sql, size_t *n)
{
    char *q = sqlite3_mprintf("SELECT id FROM attrs WHERE live = 1 AND (%s) AND (%s) ORDER BY id",
                              where, scope_sql ? scope_sql : "1");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "SQL error: %s\n  in: %s\n", sqlite3_errmsg(db), q);
        exit(2);
    }
    size_t cap = 1024, k = 0;
    int64_t *v = malloc(cap * sizeof *v);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (k == cap) v = realloc(v, (cap *= 2) * sizeof *v);
        v[k++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_free(q);
    *n = k;
    return v;
}

static int nchecked, nnonempty;

static void check_one(const char *lang, const char *where, const char *scope_lang,
                      const char *scope_sql)
{
    seg_error err;
    seg_expr *e = NULL, *sc = NULL;
    if (seg_parse(lang, idx, &e, &err) != 0) {
        fprintf(stderr, "parse failed: %s\n  %s\n", err.msg, lang);
        check_failures_++;
        return;
    }
    if (scope_lang && seg_parse(scope_lang, idx, &sc, &err) != 0) {
        fprintf(stderr, "scope parse failed: %s\n", err.msg);
        exit(2);
    }
    size_t ns;
    int64_t *want = sql_ids(where, scope_sql, &ns);
    seg_audience a;
    uint64_t cnt = 0;
    CHECK(seg_select(idx, e, sc, &a, &err) == 0);
    CHECK(seg_count(idx, e, sc, &cnt, &err) == 0);
    bool same = a.count == ns && cnt == ns;
    for (size_t i = 0; same && i < ns; i++)
        same = a.ids[i] == want[i];
    if (!same) {
        check_failures_++;
        fprintf(stderr,
                "MISMATCH at today=%d: index %zu (count %llu) vs SQL %zu\n  expr: %s\n  sql: %s\n",
                today, a.count, (unsigned long long)cnt, ns, lang, where);
        size_t i = 0, j = 0, shown = 0;
        while ((i < a.count || j < ns) && shown < 5) {
            if (j >= ns || (i < a.count && a.ids[i] < want[j])) {
                fprintf(stderr, "  only index: %lld\n", (long long)a.ids[i++]);
                shown++;
            } else if (i >= a.count || want[j] < a.ids[i]) {
                fprintf(stderr, "  only SQL: %lld\n", (long long)want[j++]);
                shown++;
            } else {
                i++;
                j++;
            }
        }
    }
    /* single-member tests agree with the set */
    for (int t = 0; t < 3; t++) {
        int64_t id = ids[rnd() % NMEM];
        bool m = false, in = false;
        for (size_t i = 0; i < ns; i++)
            in |= want[i] == id;
        if (!sc) {
            CHECK(seg_match(idx, e, id, &m, &err) == 0);
            if (m != in) {
                fprintf(stderr, "seg_match(%lld) = %d, SQL %d: %s\n", (long long)id, m, in, lang);
                check_failures_++;
            }
        }
    }
    nchecked++;
    nnonempty += ns > 0 && ns < NMEM - 20;
    seg_audience_release(&a);
    free(want);
    seg_expr_free(e);
    seg_expr_free(sc);
}

static void check_paging(void)
{
    seg_error err;
    seg_expr *e;
    CHECK(seg_parse("orders >= 1 or reach.sms", idx, &e, &err) == 0);
    size_t ns;
    int64_t *want = sql_ids("orders >= 1 OR r_sms = 1", NULL, &ns);
    int64_t page[97], after = INT64_MIN;
    size_t got = 0, n;
    bool ok = true;
    do {
        CHECK(seg_page(idx, e, NULL, after, 97, page, &n, &err) == 0);
        for (size_t i = 0; i < n; i++, got++)
            ok &= got < ns && page[i] == want[got];
        if (n) after = page[n - 1];
    } while (n == 97);
    CHECK(ok);
    CHECK_INT_EQ(got, ns);
    free(want);
    seg_expr_free(e);
}

static void check_breakdowns(void)
{
    static const char *by[] = {"store", "tier",          "city",
                               "rfm",   "lifecycle",     "favourite_category",
                               "guide", "birthday_month"};
    seg_error err;
    seg_expr *e;
    CHECK(seg_parse("orders >= 1 or reach.wecom", idx, &e, &err) == 0);
    for (size_t b = 0; b < sizeof by / sizeof by[0]; b++) {
        seg_breakdown bd;
        CHECK(seg_breakdown_by(idx, e, NULL, by[b], &bd, &err) == 0);
        char *q = sqlite3_mprintf(
            "SELECT COALESCE(CAST(%s AS TEXT), ''), count(*) FROM attrs WHERE live = 1 AND "
            "(orders >= 1 OR r_wecom = 1) GROUP BY 1",
            by[b]);
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db, q, -1, &st, NULL);
        size_t rows = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *lab = (const char *)sqlite3_column_text(st, 0);
            int64_t c = sqlite3_column_int64(st, 1);
            bool found = false;
            for (size_t i = 0; i < bd.n; i++)
                if (strcmp(bd.rows[i].label, lab) == 0) {
                    found = true;
                    if ((int64_t)bd.rows[i].count != c) {
                        fprintf(stderr, "breakdown %s [%s]: %llu vs SQL %lld\n", by[b], lab,
                                (unsigned long long)bd.rows[i].count, (long long)c);
                        check_failures_++;
                    }
                }
            if (!found) {
                fprintf(stderr, "breakdown %s: no row [%s]\n", by[b], lab);
                check_failures_++;
            }
            rows++;
        }
        CHECK_INT_EQ(rows, bd.n);
        sqlite3_finalize(st);
        sqlite3_free(q);
        seg_breakdown_release(&bd);
    }
    seg_expr_free(e);
}

static void check_rfm_medians(void)
{
    bool autom;
    seg_index_rfm_recompute(idx);
    seg_index_rfm_get(idx, &rfm, &autom);
    CHECK(autom);
    seg_index_lifecycle_get(idx, &life);
    build_attrs();
    int64_t n = sql_int("SELECT count(*) FROM attrs WHERE live=1 AND orders >= 1");
    char q[512];
    const char *cols[] = {"last_order_days", "orders", "spend_cents"};
    int64_t med[3];
    for (int k = 0; k < 3; k++) {
        snprintf(q, sizeof q,
                 "SELECT %s FROM attrs WHERE live=1 AND orders >= 1 ORDER BY 1 "
                 "LIMIT 1 OFFSET %lld",
                 cols[k], (long long)((n - 1) / 2));
        med[k] = sql_int(q);
    }
    CHECK_INT_EQ(rfm.r_max_days, med[0] - 1);
    CHECK_INT_EQ(rfm.f_min_orders, med[1] + 1);
    CHECK_INT_EQ(rfm.m_min_cents, med[2] + 1);
    /* member-level rfm and lifecycle through the accessors */
    for (int t = 0; t < 50; t++) {
        int i = (int)(rnd() % NMEM);
        char qq[200];
        snprintf(qq, sizeof qq,
                 "SELECT CASE lifecycle WHEN 'prospect' THEN 0 WHEN 'new' THEN 1 "
                 "WHEN 'active' THEN 2 WHEN 'at_risk' THEN 3 WHEN 'lapsed' THEN 4 ELSE 5 END "
                 "FROM attrs WHERE id=%lld",
                 (long long)ids[i]);
        CHECK_INT_EQ(seg_index_member_lifecycle(idx, ids[i]), sql_int(qq));
    }
}

static void check_round(const char *label, int nexpr)
{
    check_rfm_medians();
    int before = check_failures_;
    static const char *scopes[][2] = {{NULL, NULL},
                                      {"store = 3", "(store IS NOT NULL AND store = 3)"},
                                      {"guide = 105", "(guide IS NOT NULL AND guide = 105)"}};
    for (int i = 0; i < nexpr && check_failures_ - before < 10; i++) {
        sb l = {0}, s = {0};
        gen_expr(&l, &s, 0);
        int sc = chance(80) ? 0 : (int)rr(1, 2);
        check_one(l.s, s.s, scopes[sc][0], scopes[sc][1]);
    }
    check_paging();
    check_breakdowns();
    fprintf(stderr, "%s: today=%d, %d expressions checked (%d with a partial audience)\n", label,
            today, nchecked, nnonempty);
}

int main(void)
{
    sqlite3_open(":memory:", &db);
    sql("CREATE TABLE members(id INTEGER PRIMARY KEY, live, store, guide, brand, channel, tier, "
        "gender, city, bday, joined, points, reach, p_alive REAL, expect REAL, clv)");
    sql("CREATE TABLE orders(oid INTEGER PRIMARY KEY, mid, day, cents, items)");
    sql("CREATE INDEX orders_mid ON orders(mid, day)");
    sql("CREATE TABLE order_cats(oid, cat, cents)");
    sql("CREATE TABLE refunds(rid INTEGER PRIMARY KEY, oid, cents, items, cancels)");
    sql("CREATE INDEX refunds_oid ON refunds(oid)");
    sql("CREATE TABLE refund_cats(rid, cat, cents)");
    sql("CREATE TABLE tags(tag, mid)");
    sql("CREATE INDEX tags_tag ON tags(tag, mid)");
    sql("CREATE INDEX order_cats_oid ON order_cats(oid)");
    sql("BEGIN");

    /* at 3 000 members a set turns dense past 64 members; keep arrays to 8 so that the
     * sets between are roaring bitmaps, and all three forms are checked */
    seg_set_array_limit_for_tests = 8;
    today = civil(2024, 1, 10);
    idx = seg_index_new(today);
    seg_error err;
    /* ids not in insertion order: exercises the id-order permutation */
    for (int i = 0; i < NMEM; i++)
        ids[i] = 1000 + 7 * (int64_t)i;
    for (int i = NMEM - 1; i > 0; i--) {
        int j = (int)(rnd() % (uint64_t)(i + 1));
        int64_t t = ids[i];
        ids[i] = ids[j];
        ids[j] = t;
    }
    for (int i = 0; i < NMEM; i++) {
        upsert(i);
        member_state(i);
    }
    for (int t = 0; t < NTAGS; t++) {
        tag_ids[t] = seg_index_tag_create(idx, tag_names[t], NULL, &err);
        CHECK(tag_ids[t] >= 0);
        for (int i = 0; i < NMEM; i++)
            if (chance(tag_pct[t])) {
                CHECK(seg_index_tag_add(idx, tag_ids[t], ids[i], &err) == 0);
                sql("INSERT INTO tags VALUES(%d, %lld)", t, (long long)ids[i]);
            }
    }
    CHECK(seg_index_tag_create(idx, "big", "spend_365d_cents >= 50000 and reach.any", &err) >= 0);
    CHECK(seg_index_segment_define(idx, 7, "s7", "tier = \"gold\" or orders_30d >= 2", &err) == 0);

    /* 420 days of trading: orders, refunds, profile and state changes */
    for (int d = 0; d < 420; d++) {
        today++;
        if (d % 3 == 0) CHECK(seg_index_advance_day(idx, today, &err) == 0);
        /* (other days: the first order of the day advances the index itself) */
        int n = (int)rr(5, 40);
        for (int k = 0; k < n; k++) {
            int i = (int)(rnd() % NMEM);
            if (i % 5 == 0) i = (int)(rnd() % 50); /* some heavy buyers */
            place_order(i, chance(90) ? today : today - (int32_t)rr(1, 400)); /* back-dated too */
        }
        for (int k = 0; k < 4; k++)
            refund_some();
        if (d % 10 == 0) {
            for (int k = 0; k < 20; k++) {
                int i = (int)(rnd() % NMEM);
                if (chance(50))
                    upsert(i);
                else
                    member_state(i);
            }
            int i = (int)(rnd() % NMEM);
            int t = (int)(rnd() % NTAGS);
            CHECK(seg_index_tag_remove(idx, tag_ids[t], ids[i], &err) == 0);
            sql("DELETE FROM tags WHERE tag=%d AND mid=%lld", t, (long long)ids[i]);
        }
        if (d % 50 == 0) {
            int i = (int)(rnd() % NMEM);
            CHECK(seg_index_set_tier(idx, ids[i], "gold", &err) == 0);
            sql("UPDATE members SET tier='gold' WHERE id=%lld", (long long)ids[i]);
        }
    }
    CHECK(seg_index_advance_day(idx, today, &err) == 0);
    for (int k = 0; k < 10; k++) { /* removed members leave every audience */
        int i = (int)(rnd() % NMEM);
        CHECK(seg_index_remove_member(idx, ids[i], &err) == 0);
        sql("UPDATE members SET live=0 WHERE id=%lld", (long long)ids[i]);
    }
    sql("COMMIT");

    check_round("after writes", 700);
    /* days pass without any write: windows, days since, age, lifecycle move */
    today += 17;
    CHECK(seg_index_advance_day(idx, today, &err) == 0);
    check_round("+17 days", 500);
    today += 75;
    CHECK(seg_index_advance_day(idx, today, &err) == 0);
    check_round("+92 days", 500);
    /* a birthday boundary: jump to the 1st of March of a non-leap year and to the 28th/29th of Feb
     */
    today = civil(2026, 2, 28);
    CHECK(seg_index_advance_day(idx, today, &err) == 0);
    check_round("2026-02-28", 250);
    today = civil(2028, 2, 29);
    CHECK(seg_index_advance_day(idx, today, &err) == 0);
    check_round("2028-02-29", 250);

    seg_index_stats st;
    seg_index_stats_get(idx, &st);
    CHECK_INT_EQ(st.bucket_entries, 0); /* every bucket left the year-long window */

    seg_index_free(idx);
    free(orders_);
    sqlite3_close(db);
    return CHECK_DONE();
}
