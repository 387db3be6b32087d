/* month_reader.h — the chain-month test's independent reader, on either engine.
 *
 * The test reads the store directly, never through siyu: with the sqlite3 API on a file, with
 * libpq on a postgresql:// URL. The calls mirror sqlite3's (prepare, bind, step, column, reset,
 * finalize), so the checks read the same on both; on PostgreSQL a statement runs when first
 * stepped (its ?N parameters sent as $N, values as text) and its rows are then read in order.
 * The SQL is the dialect both engines share, with two SQLite words translated (rq_pg_words);
 * where more differs the test gives each engine its text (month_on_pg()). */
#ifndef SIYU_TEST_MONTH_READER_H
#define SIYU_TEST_MONTH_READER_H

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RQ_ROW = 100, RQ_DONE = 101 };
#define RQ_MAX_PARAMS 16

typedef struct rq_stmt {
    sqlite3_stmt *lite;
    /* PostgreSQL: the text with $N, the parameters as text, the rows once run */
    char *sql;
    int nparams;
    char *params[RQ_MAX_PARAMS];
    PGresult *res;
    int row;
} rq_stmt;

static sqlite3 *rq_lite;
static PGconn *rq_pg;

static inline void rq_open(const char *url)
{
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
        rq_pg = PQconnectdb(url);
        if (PQstatus(rq_pg) != CONNECTION_OK) {
            fprintf(stderr, "cannot connect to %s: %s", url, PQerrorMessage(rq_pg));
            exit(1);
        }
        PQclear(PQexec(rq_pg, "SET client_min_messages = warning"));
        return;
    }
    if (sqlite3_open_v2(url, &rq_lite, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "cannot open %s read-only\n", url);
        exit(1);
    }
    sqlite3_busy_timeout(rq_lite, 5000);
}

static inline void rq_close(void)
{
    if (rq_lite) sqlite3_close(rq_lite);
    if (rq_pg) PQfinish(rq_pg);
    rq_lite = NULL;
    rq_pg = NULL;
}

/* SQLite's words the month's checks use, in PostgreSQL's: an index on a temporary table is
 * named without "temp.", and json_extract(X, '$.a.b') is (X::jsonb #>> '{a,b}') (text). */
static inline char *rq_pg_words(const char *sql)
{
    size_t cap = strlen(sql) * 2 + 64, n = 0;
    char *out = malloc(cap);
    for (const char *p = sql; *p;) {
        if (n + 64 >= cap) out = realloc(out, cap *= 2);
        if (strncmp(p, "CREATE INDEX temp.", 18) == 0) {
            n += (size_t)snprintf(out + n, cap - n, "CREATE INDEX ");
            p += 18;
            continue;
        }
        if (strncmp(p, "json_extract(", 13) == 0) {
            const char *arg = p + 13, *comma = strstr(arg, ", '$."), *close;
            if (comma && (close = strstr(comma, "')"))) {
                size_t need = (size_t)(close - p) + 32;
                while (n + need >= cap)
                    out = realloc(out, cap *= 2);
                n += (size_t)snprintf(out + n, cap - n, "((%.*s)::jsonb #>> '{", (int)(comma - arg),
                                      arg);
                for (const char *k = comma + 5; k < close; k++)
                    out[n++] = *k == '.' ? ',' : *k;
                n += (size_t)snprintf(out + n, cap - n, "}')");
                p = close + 2;
                continue;
            }
        }
        out[n++] = *p++;
    }
    out[n] = 0;
    return out;
}

static inline rq_stmt *rq_prepare(const char *sql)
{
    rq_stmt *s = calloc(1, sizeof *s);
    if (rq_lite) {
        if (sqlite3_prepare_v2(rq_lite, sql, -1, &s->lite, NULL) != SQLITE_OK) {
            fprintf(stderr, "SQL %s: %s\n", sql, sqlite3_errmsg(rq_lite));
            exit(1);
        }
        return s;
    }
    s->sql = rq_pg_words(sql);
    for (char *p = s->sql; *p; p++)
        if (*p == '?' && p[1] >= '0' && p[1] <= '9') {
            *p = '$';
            int n = atoi(p + 1);
            if (n > s->nparams) s->nparams = n;
        }
    s->row = -1;
    return s;
}

static inline void rq_bind_text(rq_stmt *s, int i, const char *v)
{
    if (s->lite) {
        sqlite3_bind_text(s->lite, i, v, -1, SQLITE_TRANSIENT);
        return;
    }
    if (i < 1 || i > RQ_MAX_PARAMS) return;
    free(s->params[i - 1]);
    s->params[i - 1] = v ? strdup(v) : NULL;
}

static inline void rq_bind_int(rq_stmt *s, int i, int64_t v)
{
    if (s->lite) {
        sqlite3_bind_int64(s->lite, i, v);
        return;
    }
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)v);
    rq_bind_text(s, i, t);
}

static inline int rq_step(rq_stmt *s)
{
    if (s->lite) {
        int rc = sqlite3_step(s->lite);
        return rc == SQLITE_ROW ? RQ_ROW : RQ_DONE;
    }
    if (!s->res) {
        s->res = PQexecParams(rq_pg, s->sql, s->nparams, NULL, (const char *const *)s->params, NULL,
                              NULL, 0);
        if (PQresultStatus(s->res) != PGRES_TUPLES_OK &&
            PQresultStatus(s->res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "SQL %s: %s", s->sql, PQerrorMessage(rq_pg));
            exit(1);
        }
        s->row = -1;
    }
    return ++s->row < PQntuples(s->res) ? RQ_ROW : RQ_DONE;
}

static inline bool rq_null(rq_stmt *s, int i)
{
    if (s->lite) return sqlite3_column_type(s->lite, i) == SQLITE_NULL;
    return !s->res || s->row < 0 || s->row >= PQntuples(s->res) || i >= PQnfields(s->res) ||
           PQgetisnull(s->res, s->row, i);
}

static inline int64_t rq_int(rq_stmt *s, int i)
{
    if (s->lite) return sqlite3_column_int64(s->lite, i);
    if (rq_null(s, i)) return 0;
    const char *v = PQgetvalue(s->res, s->row, i);
    if (v[0] == 't' && v[1] == 0) return 1; /* a boolean */
    if (v[0] == 'f' && v[1] == 0) return 0;
    return strtoll(v, NULL, 10);
}

static inline const unsigned char *rq_text(rq_stmt *s, int i)
{
    if (s->lite) return sqlite3_column_text(s->lite, i);
    return rq_null(s, i) ? NULL : (const unsigned char *)PQgetvalue(s->res, s->row, i);
}

/* As sqlite3_reset: runs again at the next step, with the same bindings. */
static inline void rq_reset(rq_stmt *s)
{
    if (s->lite) {
        sqlite3_reset(s->lite);
        return;
    }
    PQclear(s->res);
    s->res = NULL;
    s->row = -1;
}

static inline void rq_finalize(rq_stmt *s)
{
    if (!s) return;
    if (s->lite) sqlite3_finalize(s->lite);
    PQclear(s->res);
    for (int i = 0; i < RQ_MAX_PARAMS; i++)
        free(s->params[i]);
    free(s->sql);
    free(s);
}

/* Statements without rows (the reader's own temporary tables), ';'-separated. */
static inline void rq_exec(const char *sql)
{
    if (rq_lite) {
        char *err = NULL;
        if (sqlite3_exec(rq_lite, sql, NULL, NULL, &err) != SQLITE_OK) {
            fprintf(stderr, "SQL %s: %s\n", sql, err ? err : "?");
            exit(1);
        }
        return;
    }
    char *text = rq_pg_words(sql);
    PGresult *r = PQexec(rq_pg, text);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "SQL %s: %s", text, PQerrorMessage(rq_pg));
        exit(1);
    }
    PQclear(r);
    free(text);
}

#endif
