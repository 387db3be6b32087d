/* fixture.h — a fresh store on a temp file with a small organisation, for domain tests
 * (with SIYU_TEST_DB=postgresql://… a fresh PostgreSQL database instead, see pgtest.h).
 *
 * Stores: 1 文三路店 (physical), 2 线上商城 (mall). Staff: 1 guide 王芳 in store 1,
 * 2 guide 李娜 in store 2, 3 store manager of store 1. */
#ifndef SIYU_TEST_FIXTURE_H
#define SIYU_TEST_FIXTURE_H

#include <check.h>
#include <pgtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "domain/domain.h"

typedef struct fixture {
    char dir[64];
    char pgname[64]; /* the PostgreSQL database, when the tests run on one */
    store_t *st;
    dom d;
} fixture;

static inline json_t *J(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (!v) {
        fprintf(stderr, "bad test JSON: %s: %s\n", text, je.text);
        abort();
    }
    return v;
}

/* Runs one domain call with a JSON literal in its own transaction, like the HTTP layer
 * does; returns the status (or -1) and the answer in *out (may be NULL). */
typedef int (*body_fn)(dom *d, json_t *body, json_t **out, siyu_err *e);
static inline int call(fixture *f, body_fn fn, const char *body, json_t **out, siyu_err *e)
{
    json_t *b = J(body);
    siyu_err_clear(e);
    store_begin(f->d.conn, true, e);
    json_t *o = NULL;
    int rc = fn(&f->d, b, &o, e);
    if (rc < 0) {
        store_rollback(f->d.conn);
        json_decref(o);
        o = NULL;
    } else {
        store_commit(f->d.conn, e);
    }
    json_decref(b);
    if (out)
        *out = o;
    else
        json_decref(o);
    return rc;
}

static inline int64_t jint(json_t *o, const char *path)
{
    /* "stats.orders" style paths */
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = o;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
        cur = json_object_get(cur, tok);
    return cur ? json_integer_value(cur) : -999999;
}

static inline void fixture_open(fixture *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/siyu-dom-XXXXXX");
    if (!mkdtemp(f->dir)) abort();
    char path[512];
    int pg = pgtest_fresh("dom", f->pgname, path, sizeof path);
    if (pg < 0) abort();
    if (pg > 0) snprintf(path, sizeof path, "%s/d.db", f->dir);
    siyu_err e;
    siyu_err_init(&e);
    store_options o = {.sync = STORE_SYNC_NORMAL, .create = true};
    if (store_open(path, &o, &f->st, &e) || store_conn_open(f->st, &f->d.conn, &e)) abort();
    f->d.who.role = ROLE_ADMIN;
    time_parse_rfc3339("2026-11-22T12:00:00+08:00", &f->d.now);
    CHECK_INT_EQ(call(f, brands_create, "{\"name\":\"鲜丰\"}", NULL, &e), 201);
    CHECK_INT_EQ(
        call(f, stores_create,
             "{\"name\":\"文三路店\",\"code\":\"S1\",\"kind\":\"physical\",\"brand_id\":1}", NULL,
             &e),
        201);
    CHECK_INT_EQ(call(f, stores_create, "{\"name\":\"线上商城\",\"code\":\"M1\",\"kind\":\"mall\"}",
                      NULL, &e),
                 201);
    CHECK_INT_EQ(
        call(f, staff_create, "{\"name\":\"王芳\",\"role\":\"guide\",\"store_id\":1}", NULL, &e),
        201);
    CHECK_INT_EQ(
        call(f, staff_create, "{\"name\":\"李娜\",\"role\":\"guide\",\"store_id\":2}", NULL, &e),
        201);
    CHECK_INT_EQ(call(f, staff_create,
                      "{\"name\":\"赵强\",\"role\":\"store_manager\",\"store_id\":1}", NULL, &e),
                 201);
    siyu_err_clear(&e);
}

/* Runs sql straight on the fixture's store, behind the domain's back (a test that checks
 * the checker); returns 0 when it succeeded. */
static inline int fixture_exec(fixture *f, const char *sql)
{
    int rc = -1;
    if (f->pgname[0]) {
        char url[512], name[64];
        snprintf(name, sizeof name, "%s", f->pgname);
        const char *server = pgtest_server(), *host = strstr(server, "://") + 3;
        const char *slash = strchr(host, '/'), *query = strchr(host, '?');
        int head = slash   ? (int)(slash - server)
                   : query ? (int)(query - server)
                           : (int)strlen(server);
        snprintf(url, sizeof url, "%.*s/%s%s", head, server, name, query ? query : "");
        PGconn *pg = PQconnectdb(url);
        PGresult *r = PQexec(pg, sql);
        rc = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
        if (rc) fprintf(stderr, "%s: %s", sql, PQerrorMessage(pg));
        PQclear(r);
        PQfinish(pg);
        return rc;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/d.db", f->dir);
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        char *msg = NULL;
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK ? 0 : -1;
        if (rc) fprintf(stderr, "%s: %s\n", sql, msg ? msg : "failed");
        sqlite3_free(msg);
    }
    sqlite3_close(db);
    return rc;
}

static inline void fixture_close(fixture *f)
{
    store_conn_close(f->d.conn);
    store_close(f->st);
    pgtest_drop(f->pgname);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0) abort();
}

#endif
