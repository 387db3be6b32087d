/* sqlref.h — the pure-SQL reference for the main KPIs and the per-store leaderboard.
 *
 * Plain SQL over the store, read directly (the sqlite3 API on a file, libpq on a
 * postgresql:// URL; not through the store layer): what a relational dashboard would run.
 * The tests check reports_kpi and reports_leaderboard against it on either engine; the
 * bench times it against them. Formulas are those of docs/metrics.md: a fully refunded
 * order is void; net = total − refunded. The SQL is the dialect both engines share. */
#ifndef SIYU_TEST_REPORTS_SQLREF_H
#define SIYU_TEST_REPORTS_SQLREF_H

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

typedef struct sqlref_db {
    sqlite3 *lite; /* a SQLite file, or */
    PGconn *pg;    /* a PostgreSQL database */
} sqlref_db;

static void sqlref_die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "sqlref: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
    abort();
}

static sqlref_db *sqlref_open(const char *path)
{
    sqlref_db *db = calloc(1, sizeof *db);
    if (strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0) {
        db->pg = PQconnectdb(path);
        if (PQstatus(db->pg) != CONNECTION_OK) {
            fprintf(stderr, "sqlref: %s", PQerrorMessage(db->pg));
            abort();
        }
        return db;
    }
    if (sqlite3_open_v2(path, &db->lite, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        sqlref_die(db->lite, "open");
    sqlite3_exec(db->lite, "PRAGMA cache_size=-262144", NULL, NULL, NULL);
    return db;
}

static void sqlref_close(sqlref_db *db)
{
    if (!db) return;
    if (db->lite) sqlite3_close(db->lite);
    if (db->pg) PQfinish(db->pg);
    free(db);
}

/* Runs sql with ?1..?4 the integers a..d; row(ctx, values, n) for every row (NULL reads 0). */
typedef void (*sqlref_row_fn)(void *ctx, const int64_t *v, int n);
static void sqlref_rows(sqlref_db *db, const char *sql, int64_t a, int64_t b, int64_t c, int64_t d,
                        sqlref_row_fn row, void *ctx)
{
    int64_t args[4] = {a, b, c, d}, v[16];
    if (db->pg) {
        char text[4096];
        size_t n = 0;
        for (const char *p = sql; *p && n + 24 < sizeof text; p++)
            if (p[0] == '?' && p[1] >= '1' && p[1] <= '4')
                n += (size_t)snprintf(text + n, sizeof text - n, "%lld",
                                      (long long)args[*++p - '1']);
            else
                text[n++] = *p;
        text[n] = 0;
        PGresult *r = PQexec(db->pg, text);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fprintf(stderr, "sqlref: %s: %s", text, PQerrorMessage(db->pg));
            abort();
        }
        int nf = PQnfields(r) < 16 ? PQnfields(r) : 16;
        for (int i = 0; i < PQntuples(r); i++) {
            for (int k = 0; k < nf; k++)
                v[k] = PQgetisnull(r, i, k) ? 0 : strtoll(PQgetvalue(r, i, k), NULL, 10);
            row(ctx, v, nf);
        }
        PQclear(r);
        return;
    }
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db->lite, sql, -1, &s, NULL) != SQLITE_OK) sqlref_die(db->lite, sql);
    for (int k = 0; k < sqlite3_bind_parameter_count(s) && k < 4; k++)
        sqlite3_bind_int64(s, k + 1, args[k]);
    int nf = sqlite3_column_count(s) < 16 ? sqlite3_column_count(s) : 16;
    while (sqlite3_step(s) == SQLITE_ROW) {
        for (int k = 0; k < nf; k++)
            v[k] = sqlite3_column_int64(s, k);
        row(ctx, v, nf);
    }
    sqlite3_finalize(s);
}

static void sqlref_one_(void *ctx, const int64_t *v, int n)
{
    memcpy(ctx, v, (size_t)n * sizeof *v);
}

/* Unix-second bounds of local days [from, to]. */
static void sqlref_bounds(int32_t from, int32_t to, int64_t *lo, int64_t *hi)
{
    *lo = (int64_t)from * 86400 - 8 * 3600;
    *hi = ((int64_t)to + 1) * 86400 - 8 * 3600;
}

/* The period [from, to] with churn against the previous period of the same length. */
static inline void sqlref_period_kpis(sqlref_db *db, int32_t from, int32_t to, sqlref_period *p)
{
    int64_t lo, hi, plo, phi, v[16] = {0};
    int32_t len = to - from + 1;
    sqlref_bounds(from, to, &lo, &hi);
    sqlref_bounds(from - len, from - 1, &plo, &phi);
    memset(p, 0, sizeof *p);
    sqlref_rows(db,
                "SELECT count(*) FILTER (WHERE " SQLREF_VALID "),"
                " count(*) FILTER (WHERE member_id IS NOT NULL AND " SQLREF_VALID "),"
                " coalesce(sum(total_cents), 0), coalesce(sum(refunded_cents), 0),"
                " coalesce(sum(total_cents - refunded_cents), 0),"
                " coalesce(sum(total_cents - refunded_cents) FILTER (WHERE member_id IS NOT NULL),"
                " 0), coalesce(sum(item_count) FILTER (WHERE " SQLREF_VALID "), 0)"
                " FROM orders WHERE " SQLREF_RANGE,
                lo, hi, 0, 0, sqlref_one_, v);
    p->orders = v[0];
    p->member_orders = v[1];
    p->gross = v[2];
    p->refunded = v[3];
    p->net = v[4];
    p->member_net = v[5];
    p->items = v[6];
    memset(v, 0, sizeof v);
    sqlref_rows(db,
                "SELECT count(*), coalesce(sum(CASE WHEN n >= 2 THEN 1 ELSE 0 END), 0),"
                " coalesce(sum(days), 0) FROM ("
                " SELECT member_id, count(*) AS n,"
                " count(DISTINCT (placed_at + 28800) / 86400) AS days FROM orders"
                " WHERE " SQLREF_RANGE " AND member_id IS NOT NULL AND " SQLREF_VALID
                " GROUP BY member_id) m",
                lo, hi, 0, 0, sqlref_one_, v);
    p->active = v[0];
    p->repeat = v[1];
    p->visit_days = v[2];
    memset(v, 0, sizeof v);
    sqlref_rows(db,
                "SELECT (SELECT count(DISTINCT member_id) FROM orders WHERE " SQLREF_RANGE
                " AND member_id IS NOT NULL AND " SQLREF_VALID "),"
                " (SELECT count(*) FROM (SELECT member_id FROM orders WHERE " SQLREF_RANGE
                " AND member_id IS NOT NULL AND " SQLREF_VALID
                " EXCEPT SELECT member_id FROM orders WHERE placed_at >= ?3 AND placed_at < ?4"
                " AND member_id IS NOT NULL AND " SQLREF_VALID ") c)",
                plo, phi, lo, hi, sqlref_one_, v);
    p->prev_active = v[0];
    p->churned = v[1];
}

static sqlref_store *sqlref_store_row(sqlref_store *out, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (out[i].store_id == id) return &out[i];
    return NULL;
}

typedef struct sqlref_stores_ctx {
    sqlref_store *out;
    size_t n, cap;
    int part;
} sqlref_stores_ctx;

static void sqlref_store_row_(void *ctx, const int64_t *v, int nv)
{
    sqlref_stores_ctx *x = ctx;
    (void)nv;
    if (x->part == 0) {
        if (x->n >= x->cap) return;
        sqlref_store *r = &x->out[x->n++];
        memset(r, 0, sizeof *r);
        *r = (sqlref_store){.store_id = v[0],
                            .orders = v[1],
                            .member_orders = v[2],
                            .net = v[3],
                            .member_net = v[4]};
        return;
    }
    sqlref_store *r = sqlref_store_row(x->out, x->n, v[0]);
    if (!r) return;
    if (x->part == 1) {
        r->active = v[1];
        r->repeat = v[2];
        r->visit_days = v[3];
    } else {
        r->prev_active = v[1];
        r->churned = v[2];
    }
}

/* Per-store rows for [from, to], by store id; returns the count (at most cap). Stores
 * with no order in [from, to] are left out (their churn too). */
static inline size_t sqlref_stores(sqlref_db *db, int32_t from, int32_t to, sqlref_store *out,
                                   size_t cap)
{
    int64_t lo, hi, plo, phi;
    int32_t len = to - from + 1;
    sqlref_bounds(from, to, &lo, &hi);
    sqlref_bounds(from - len, from - 1, &plo, &phi);
    sqlref_stores_ctx x = {.out = out, .cap = cap};
    sqlref_rows(db,
                "SELECT store_id, count(*) FILTER (WHERE " SQLREF_VALID "),"
                " count(*) FILTER (WHERE member_id IS NOT NULL AND " SQLREF_VALID "),"
                " sum(total_cents - refunded_cents),"
                " coalesce(sum(total_cents - refunded_cents) FILTER (WHERE member_id IS NOT NULL),"
                " 0) FROM orders WHERE " SQLREF_RANGE " GROUP BY store_id ORDER BY store_id",
                lo, hi, 0, 0, sqlref_store_row_, &x);
    x.part = 1;
    sqlref_rows(db,
                "SELECT store_id, count(*), sum(CASE WHEN n >= 2 THEN 1 ELSE 0 END), sum(days)"
                " FROM (SELECT store_id, member_id, count(*) AS n,"
                " count(DISTINCT (placed_at + 28800) / 86400) AS days"
                " FROM orders WHERE " SQLREF_RANGE " AND member_id IS NOT NULL AND " SQLREF_VALID
                " GROUP BY store_id, member_id) sm GROUP BY store_id",
                lo, hi, 0, 0, sqlref_store_row_, &x);
    /* churn per store: (store, member) pairs active before and not now */
    x.part = 2;
    sqlref_rows(db,
                "SELECT p.store_id, p.n, coalesce(c.n, 0) FROM (SELECT store_id, count(*) AS n"
                " FROM (SELECT DISTINCT store_id, member_id FROM orders WHERE " SQLREF_RANGE
                " AND member_id IS NOT NULL AND " SQLREF_VALID ") pm GROUP BY store_id) p"
                " LEFT JOIN (SELECT store_id, count(*) AS n FROM (SELECT store_id, member_id"
                " FROM orders WHERE " SQLREF_RANGE " AND member_id IS NOT NULL AND " SQLREF_VALID
                " EXCEPT SELECT store_id, member_id FROM orders WHERE placed_at >= ?3 AND"
                " placed_at < ?4 AND member_id IS NOT NULL AND " SQLREF_VALID ") cm"
                " GROUP BY store_id) c ON c.store_id = p.store_id",
                plo, phi, lo, hi, sqlref_store_row_, &x);
    return x.n;
}

#endif
