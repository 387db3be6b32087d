/* storeread.h — a test's direct look at its store, on either engine.
 *
 * Unit tests that check what the store holds (every table's rows, a count) read it here,
 * independently of the store layer under test: with sqlite3 for a file path, with libpq for a
 * postgresql:// URL. sr_each runs one statement and hands every row to a callback, each value
 * as text (NULL for SQL NULL); sr_tables lists the store's tables in name order. */
#ifndef SIYU_STOREREAD_H
#define SIYU_STOREREAD_H

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define SR_MAX_COLS 64
typedef void (*sr_row_fn)(void *ctx, const char *const *values, int n);

static inline int sr_is_pg(const char *url)
{
    return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

/* Runs sql (no parameters) on the store at url; row() gets every row. Returns the rows read,
 * -1 on failure (printed). */
static inline long sr_each(const char *url, const char *sql, sr_row_fn row, void *ctx)
{
    long rows = -1;
    if (sr_is_pg(url)) {
        /* one connection kept per url (a test reads its store thousands of times); the
         * test's pgtest_drop ends it with the database */
        static PGconn *pg;
        static char pg_url[512];
        if (pg && (strcmp(pg_url, url) != 0 || PQstatus(pg) != CONNECTION_OK)) {
            PQfinish(pg);
            pg = NULL;
        }
        if (!pg) {
            pg = PQconnectdb(url);
            snprintf(pg_url, sizeof pg_url, "%s", url);
        }
        PGresult *r = PQexec(pg, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            int nf = PQnfields(r) < SR_MAX_COLS ? PQnfields(r) : SR_MAX_COLS;
            for (rows = 0; rows < PQntuples(r); rows++) {
                const char *v[SR_MAX_COLS];
                for (int i = 0; i < nf; i++)
                    v[i] = PQgetisnull(r, (int)rows, i) ? NULL : PQgetvalue(r, (int)rows, i);
                row(ctx, v, nf);
            }
        } else
            fprintf(stderr, "%s: %s", sql, PQerrorMessage(pg));
        PQclear(r);
        return rows;
    }
    sqlite3 *sdb;
    if (sqlite3_open_v2(url, &sdb, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(sdb);
        return -1;
    }
    sqlite3_busy_timeout(sdb, 5000);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(sdb, sql, -1, &s, NULL) == SQLITE_OK) {
        int step, nf = sqlite3_column_count(s);
        if (nf > SR_MAX_COLS) nf = SR_MAX_COLS;
        for (rows = 0; (step = sqlite3_step(s)) == SQLITE_ROW; rows++) {
            const char *v[SR_MAX_COLS];
            for (int i = 0; i < nf; i++)
                v[i] = (const char *)sqlite3_column_text(s, i);
            row(ctx, v, nf);
        }
        if (step != SQLITE_DONE) rows = -1;
    }
    if (rows < 0) fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(sdb));
    sqlite3_finalize(s);
    sqlite3_close(sdb);
    return rows;
}

/* The statement listing the store's tables (views and PostgreSQL's partitions left out). */
static inline const char *sr_tables_sql(const char *url)
{
    return sr_is_pg(url) ? "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid ="
                           " c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN"
                           " ('r', 'p') AND NOT c.relispartition ORDER BY 1"
                         : "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name";
}

/* The first column of the first row as an integer; -1 when there is none. */
static inline void sr_int_row_(void *ctx, const char *const *v, int n)
{
    long long *out = ctx;
    if (*out == -1 && n > 0 && v[0]) *out = strtoll(v[0], NULL, 10);
}
static inline long long sr_int(const char *url, const char *sql)
{
    long long v = -1;
    sr_each(url, sql, sr_int_row_, &v);
    return v;
}

#endif
