/* sqlref.h — the pure-SQL reference for the main KPIs and the per-store leaderboard.
 *
 * Plain SQL over the SQLite file (opened read-only with the sqlite3 API, not through
 * the store): what a relational dashboard would run. The tests check reports_kpi
 * and reports_leaderboard against it; the bench times it against them. Formulas are
 * those of docs/metrics.md: a fully refunded order is void; net = total − refunded. */
#ifndef SIYU_TEST_REPORTS_SQLREF_H
#define SIYU_TEST_REPORTS_SQLREF_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SQLREF_VALID "NOT (refunded_cents > 0 AND refunded_cents >= total_cents)"
#define SQLREF_RANGE "placed_at >= ?1 AND placed_at < ?2"

typedef struct sqlref_period {
    int64_t orders, member_orders, gross, refunded, net, member_net, items;
    int64_t active, repeat, visit_days, prev_active, churned;
} sqlref_period;

typedef struct sqlref_store {
    int64_t store_id, orders, member_orders, net, member_net, active, repeat;
    int64_t visit_days, prev_active, churned; /* churn against the period before */
} sqlref_store;

static void sqlref_die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "sqlref: %s: %s\n", what, sqlite3_errmsg(db));
    abort();
}

static sqlite3 *sqlref_open(const char *path)
{
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) sqlref_die(db, "open");
    sqlite3_exec(db, "PRAGMA cache_size=-262144", NULL, NULL, NULL);
    return db;
}

/* Unix-second bounds of local days [from, to]. */
static void sqlref_bounds(int32_t from, int32_t to, int64_t *lo, int64_t *hi)
{
    *lo = (int64_t)from * 86400 - 8 * 3600;
    *hi = ((int64_t)to + 1) * 86400 - 8 * 3600;
}

static sqlite3_stmt *sqlref_prep(sqlite3 *db, const char *sql, int64_t a, int64_t b, int64_t c,
                                 int64_t d)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) sqlref_die(db, sql);
    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    if (sqlite3_bind_parameter_count(s) >= 4) {
        sqlite3_bind_int64(s, 3, c);
        sqlite3_bind_int64(s, 4, d);
    }
    return s;
}

/* The period [from, to] with churn against the previous period of the same length. */
static inline void sqlref_period_kpis(sqlite3 *db, int32_t from, int32_t to, sqlref_period *p)
{
    int64_t lo, hi, plo, phi;
    int32_t len = to - from + 1;
    sqlref_bounds(from, to, &lo, &hi);
    sqlref_bounds(from - len, from - 1, &plo, &phi);
    memset(p, 0, sizeof *p);
    sqlite3_stmt *s = sqlref_prep(
        db,
        "SELECT count(*) FILTER (WHERE " SQLREF_VALID "),"
        " count(*) FILTER (WHERE member_id IS NOT NULL AND " SQLREF_VALID "),"
        " coalesce(sum(total_cents), 0), coalesce(sum(refunded_cents), 0),"
        " coalesce(sum(total_cents - refunded_cents), 0),"
        " coalesce(sum(total_cents - refunded_cents) FILTER (WHERE member_id IS NOT NULL), 0),"
        " coalesce(sum(item_count) FILTER (WHERE " SQLREF_VALID "), 0)"
        " FROM orders WHERE " SQLREF_RANGE,
        lo, hi, 0, 0);
    if (sqlite3_step(s) != SQLITE_ROW) sqlref_die(db, "period");
    p->orders = sqlite3_column_int64(s, 0);
    p->member_orders = sqlite3_column_int64(s, 1);
    p->gross = sqlite3_column_int64(s, 2);
    p->refunded = sqlite3_column_int64(s, 3);
    p->net = sqlite3_column_int64(s, 4);
    p->member_net = sqlite3_column_int64(s, 5);
    p->items = sqlite3_column_int64(s, 6);
    sqlite3_finalize(s);
    s = sqlref_prep(db,
                    "SELECT count(*), coalesce(sum(n >= 2), 0), coalesce(sum(days), 0) FROM ("
                    " SELECT member_id, count(*) AS n,"
                    " count(DISTINCT (placed_at + 28800) / 86400) AS days FROM orders"
                    " WHERE " SQLREF_RANGE " AND member_id IS NOT NULL AND " SQLREF_VALID
                    " GROUP BY member_id)",
                    lo, hi, 0, 0);
    if (sqlite3_step(s) != SQLITE_ROW) sqlref_die(db, "active");
    p->active = sqlite3_column_int64(s, 0);
    p->repeat = sqlite3_column_int64(s, 1);
    p->visit_days = sqlite3_column_int64(s, 2);
    sqlite3_finalize(s);
    s = sqlref_prep(db,
                    "SELECT (SELECT count(DISTINCT member_id) FROM orders WHERE " SQLREF_RANGE
                    " AND member_id IS NOT NULL AND " SQLREF_VALID "),"
                    " (SELECT count(*) FROM (SELECT member_id FROM orders WHERE " SQLREF_RANGE
                    " AND member_id IS NOT NULL AND " SQLREF_VALID
                    " EXCEPT SELECT member_id FROM orders WHERE placed_at >= ?3 AND placed_at < ?4"
                    " AND member_id IS NOT NULL AND " SQLREF_VALID "))",
                    plo, phi, lo, hi);
    if (sqlite3_step(s) != SQLITE_ROW) sqlref_die(db, "churn");
    p->prev_active = sqlite3_column_int64(s, 0);
    p->churned = sqlite3_column_int64(s, 1);
    sqlite3_finalize(s);
}

static sqlref_store *sqlref_store_row(sqlref_store *out, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (out[i].store_id == id) return &out[i];
    return NULL;
}

/* Per-store rows for [from, to], by store id; returns the count (at most cap). Stores
 * with no order in [from, to] are left out (their churn too). */
static inline size_t sqlref_stores(sqlite3 *db, int32_t from, int32_t to, sqlref_store *out,
                                   size_t cap)
{
    int64_t lo, hi, plo, phi;
    int32_t len = to - from + 1;
    sqlref_bounds(from, to, &lo, &hi);
    sqlref_bounds(from - len, from - 1, &plo, &phi);
    size_t n = 0;
    sqlite3_stmt *s = sqlref_prep(
        db,
        "SELECT store_id, count(*) FILTER (WHERE " SQLREF_VALID "),"
        " count(*) FILTER (WHERE member_id IS NOT NULL AND " SQLREF_VALID "),"
        " sum(total_cents - refunded_cents),"
        " coalesce(sum(total_cents - refunded_cents) FILTER (WHERE member_id IS NOT NULL), 0)"
        " FROM orders WHERE " SQLREF_RANGE " GROUP BY store_id ORDER BY store_id",
        lo, hi, 0, 0);
    while (sqlite3_step(s) == SQLITE_ROW && n < cap) {
        sqlref_store *x = &out[n++];
        memset(x, 0, sizeof *x);
        x->store_id = sqlite3_column_int64(s, 0);
        x->orders = sqlite3_column_int64(s, 1);
        x->member_orders = sqlite3_column_int64(s, 2);
        x->net = sqlite3_column_int64(s, 3);
        x->member_net = sqlite3_column_int64(s, 4);
    }
    sqlite3_finalize(s);
    s = sqlref_prep(db,
                    "SELECT store_id, count(*), sum(n >= 2), sum(days) FROM (SELECT store_id,"
                    " member_id, count(*) AS n, count(DISTINCT (placed_at + 28800) / 86400) AS days"
                    " FROM orders WHERE " SQLREF_RANGE
                    " AND member_id IS NOT NULL AND " SQLREF_VALID
                    " GROUP BY store_id, member_id) GROUP BY store_id",
                    lo, hi, 0, 0);
    while (sqlite3_step(s) == SQLITE_ROW) {
        sqlref_store *x = sqlref_store_row(out, n, sqlite3_column_int64(s, 0));
        if (x) {
            x->active = sqlite3_column_int64(s, 1);
            x->repeat = sqlite3_column_int64(s, 2);
            x->visit_days = sqlite3_column_int64(s, 3);
        }
    }
    sqlite3_finalize(s);
    /* churn per store: (store, member) pairs active before and not now */
    s = sqlref_prep(db,
                    "SELECT p.store_id, p.n, coalesce(c.n, 0) FROM (SELECT store_id, count(*) AS n"
                    " FROM (SELECT DISTINCT store_id, member_id FROM orders WHERE " SQLREF_RANGE
                    " AND member_id IS NOT NULL AND " SQLREF_VALID ") GROUP BY store_id) p"
                    " LEFT JOIN (SELECT store_id, count(*) AS n FROM (SELECT store_id, member_id"
                    " FROM orders WHERE " SQLREF_RANGE
                    " AND member_id IS NOT NULL AND " SQLREF_VALID
                    " EXCEPT SELECT store_id, member_id FROM orders WHERE placed_at >= ?3 AND"
                    " placed_at < ?4 AND member_id IS NOT NULL AND " SQLREF_VALID ")"
                    " GROUP BY store_id) c ON c.store_id = p.store_id",
                    plo, phi, lo, hi);
    while (sqlite3_step(s) == SQLITE_ROW) {
        sqlref_store *x = sqlref_store_row(out, n, sqlite3_column_int64(s, 0));
        if (x) {
            x->prev_active = sqlite3_column_int64(s, 1);
            x->churned = sqlite3_column_int64(s, 2);
        }
    }
    sqlite3_finalize(s);
    return n;
}

#endif
