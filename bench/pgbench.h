/* pgbench.h — PostgreSQL for the benches: a database of the bench's own on a server
 * (e.g. scripts/pg-test-server.sh's), statements that must succeed, and rows in bulk
 * by COPY (text format, sent a megabyte at a time). Header-only: each bench is one
 * executable. Every failure is fatal: a bench has nothing sensible to do without its
 * rows. Values written through pgb_copy_row must hold no tab, newline or backslash
 * (or escape them as COPY's text format wants). Functions are inline: a bench may use a
 * few of them. */
#ifndef SIYU_BENCH_PGBENCH_H
#define SIYU_BENCH_PGBENCH_H

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline PGconn *pgb_connect(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "postgresql: %s", PQerrorMessage(c));
        exit(1);
    }
    PQsetNoticeProcessor(c, NULL, NULL);
    return c;
}

static inline void pgb_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        fprintf(stderr, "postgresql: %s\n  %s", sql, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
}

/* The first column of the first row as an integer; -1 on an error (no such table...). */
static inline int64_t pgb_int(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int64_t v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* The URL of database `name` on the server of `server` (its path replaced). */
static inline void pgb_db_url(const char *server, const char *name, char *out, size_t cap)
{
    const char *scheme = strstr(server, "://");
    const char *host = scheme ? scheme + 3 : server;
    const char *slash = strchr(host, '/'), *query = strchr(host, '?');
    size_t keep = slash   ? (size_t)(slash - server)
                  : query ? (size_t)(query - server)
                          : strlen(server);
    snprintf(out, cap, "%.*s/%s%s", (int)keep, server, name, query ? query : "");
}

/* Makes `name` on the server (dropping a previous one when fresh); its URL into out. Returns
 * true when the database already existed and was kept. */
static inline bool pgb_database(const char *server, const char *name, bool fresh, char *out,
                                size_t cap)
{
    char admin[512], sql[256];
    pgb_db_url(server, "postgres", admin, sizeof admin);
    pgb_db_url(server, name, out, cap);
    PGconn *c = pgb_connect(admin);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_database WHERE datname = '%s'", name);
    bool exists = pgb_int(c, sql) > 0;
    if (exists && fresh) {
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", name);
        pgb_exec(c, sql);
        exists = false;
    }
    if (!exists) {
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
        pgb_exec(c, sql);
    }
    PQfinish(c);
    return exists;
}

typedef struct pgb_copy {
    PGconn *c;
    char *buf;
    size_t n, cap;
    int64_t rows;
} pgb_copy;

static inline void pgb_copy_flush(pgb_copy *p)
{
    if (p->n && PQputCopyData(p->c, p->buf, (int)p->n) != 1) {
        fprintf(stderr, "postgresql: COPY: %s", PQerrorMessage(p->c));
        exit(1);
    }
    p->n = 0;
}

/* Starts "COPY table(cols) FROM STDIN" on c. */
static inline void pgb_copy_begin(pgb_copy *p, PGconn *c, const char *copy_sql)
{
    memset(p, 0, sizeof *p);
    p->c = c;
    p->cap = 1 << 20;
    p->buf = malloc(p->cap);
    PGresult *r = PQexec(c, copy_sql);
    if (!p->buf || PQresultStatus(r) != PGRES_COPY_IN) {
        fprintf(stderr, "postgresql: %s: %s", copy_sql, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
}

/* One row: fields separated by \t, \N for NULL, ended by \n (the caller's format). */
__attribute__((format(printf, 2, 3))) static inline void pgb_copy_row(pgb_copy *p, const char *fmt,
                                                                      ...)
{
    if (p->cap - p->n < 4096) pgb_copy_flush(p);
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(p->buf + p->n, p->cap - p->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= p->cap - p->n) {
        fprintf(stderr, "pgb_copy_row: a row over %zu bytes\n", p->cap - p->n);
        exit(1);
    }
    p->n += (size_t)k;
    p->rows++;
}

static inline void pgb_copy_end(pgb_copy *p)
{
    pgb_copy_flush(p);
    if (PQputCopyEnd(p->c, NULL) != 1) {
        fprintf(stderr, "postgresql: COPY end: %s", PQerrorMessage(p->c));
        exit(1);
    }
    PGresult *r;
    while ((r = PQgetResult(p->c)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "postgresql: COPY: %s", PQerrorMessage(p->c));
            exit(1);
        }
        PQclear(r);
    }
    free(p->buf);
    p->buf = NULL;
}

#endif
