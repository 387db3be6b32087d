/* pgtest.h — a fresh PostgreSQL database for a test, when SIYU_TEST_DB names a server.
 *
 * Tests that make a store call pgtest_fresh: with SIYU_TEST_DB=postgresql://… it makes an
 * empty database on that server (same URL, another database name) and gives its URL; the
 * test then runs on PostgreSQL instead of a SQLite file. pgtest_drop removes it after. */
#ifndef SIYU_PGTEST_H
#define SIYU_PGTEST_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The server's URL from SIYU_TEST_DB, or NULL when the tests run on SQLite. */
static inline const char *pgtest_server(void)
{
    const char *url = getenv("SIYU_TEST_DB");
    if (url && (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0))
        return url;
    return NULL;
}

/* Runs one command on the server's own database; returns 0 when it succeeded. */
static inline int pgtest_admin(const char *sql)
{
    PGconn *pg = PQconnectdb(pgtest_server());
    PQclear(PQexec(pg, "SET client_min_messages = warning"));
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
    if (rc) fprintf(stderr, "%s: %s", sql, PQerrorMessage(pg));
    PQclear(r);
    PQfinish(pg);
    return rc;
}

/* Makes an empty database named after tag and this process, its name in name (cap 64) and
 * its URL in url. Returns 0, 1 when there is no server (run on SQLite), -1 on failure. */
static inline int pgtest_fresh(const char *tag, char name[64], char *url, size_t cap)
{
    const char *server = pgtest_server();
    if (!server) return 1;
    static int made;
    snprintf(name, 64, "siyu_%s_%d_%d", tag, (int)getpid(), made++);
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", name);
    pgtest_admin(sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    if (pgtest_admin(sql)) return -1;
    const char *host = strstr(server, "://") + 3, *slash = strchr(host, '/'),
               *query = strchr(host, '?');
    int head = slash ? (int)(slash - server) : query ? (int)(query - server) : (int)strlen(server);
    snprintf(url, cap, "%.*s/%s%s", head, server, name, query ? query : "");
    return 0;
}

/* Drops a database pgtest_fresh made (its connections closed first); "" is a no-op. */
static inline void pgtest_drop(const char *name)
{
    if (!name[0] || !pgtest_server()) return;
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    pgtest_admin(sql);
}

#endif
