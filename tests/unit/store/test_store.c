/* Unit tests for src/store: migrations are idempotent, every named query prepares,
 * transactions and savepoints keep or drop exactly what they should — on SQLite, and on
 * PostgreSQL too when SIYU_TEST_DB names a server (postgresql://…): the test makes itself
 * a fresh database there. */
#include <check.h>
#include <pgtest.h>
#include <unistd.h>

#include "store/pg_internal.h"
#include "store/sqlite_internal.h"
#include "store/store.h"

/* The store tests on one store: a SQLite path or a PostgreSQL URL (an empty database). */
static void store_suite(const char *path)
{
    siyu_err e;
    siyu_err_init(&e);

    /* opening an uninitialised path without create is a clear error */
    store_t *st = NULL;
    store_options plain = {.sync = STORE_SYNC_NORMAL, .create = false};
    CHECK_INT_EQ(store_open(path, &plain, &st, &e), -1);
    CHECK(strstr(e.message, "siyu init") != NULL || strstr(e.message, "cannot open") != NULL);

    store_options create = {.sync = STORE_SYNC_NORMAL, .create = true};
    if (store_open(path, &create, &st, &e)) fprintf(stderr, "%s\n", e.message);
    CHECK(st != NULL);
    int v = store_schema_version(st);
    CHECK(v >= 1);
    store_close(st);
    CHECK_INT_EQ(store_open(path, &create, &st, &e), 0); /* init twice is harmless */
    CHECK_INT_EQ(store_schema_version(st), v);
    store_close(st);
    CHECK_INT_EQ(store_open(path, &plain, &st, &e), 0);

    store_conn *c;
    CHECK_INT_EQ(store_conn_open(st, &c, &e), 0);
    /* every query text prepares against the schema (store_q aborts otherwise) */
    for (int q = 0; q < Q__COUNT; q++)
        CHECK(store_q(c, (store_query)q) != NULL);

    /* a rolled-back write leaves nothing; a committed one stays */
    CHECK_INT_EQ(store_begin(c, true, &e), 0);
    store_stmt *s = store_q(c, Q_BRAND_INSERT);
    store_bind_text(s, 1, "gone");
    store_bind_int(s, 2, 1);
    CHECK_INT_EQ(store_exec(s, &e), 0);
    store_rollback(c);
    CHECK_INT_EQ(store_begin(c, true, &e), 0);
    s = store_q(c, Q_BRAND_INSERT);
    store_bind_text(s, 1, "kept");
    store_bind_int(s, 2, 1);
    CHECK_INT_EQ(store_exec(s, &e), 0);
    /* a savepoint undone drops only its own work */
    CHECK_INT_EQ(store_savepoint(c, &e), 0);
    s = store_q(c, Q_BRAND_INSERT);
    store_bind_text(s, 1, "undone");
    store_bind_int(s, 2, 1);
    CHECK_INT_EQ(store_exec(s, &e), 0);
    store_savepoint_undo(c);
    /* a unique violation is reported as a constraint */
    s = store_q(c, Q_BRAND_INSERT);
    store_bind_text(s, 1, "kept");
    store_bind_int(s, 2, 1);
    CHECK_INT_EQ(store_step(s), STORE_CONSTRAINT);
    CHECK_INT_EQ(store_commit(c, &e), 0);

    int names = 0;
    s = store_q(c, Q_BRAND_LIST);
    store_bind_int(s, 1, 0);
    store_bind_int(s, 2, 100);
    while (store_step(s) == STORE_ROW) {
        CHECK_STR_EQ(store_col_text(s, 1), "kept");
        names++;
    }
    CHECK_INT_EQ(names, 1);

    /* the id of a new row is store_last_id; it reads back by that id */
    s = store_q(c, Q_BRAND_INSERT);
    store_bind_text(s, 1, "second");
    store_bind_int(s, 2, 7);
    CHECK_INT_EQ(store_exec(s, &e), 0);
    int64_t id = store_last_id(c);
    CHECK(id > 0);
    CHECK_INT_EQ(store_changes(c), 1);
    s = store_q(c, Q_BRAND_GET);
    store_bind_int(s, 1, id);
    CHECK_INT_EQ(store_step(s), STORE_ROW);
    CHECK_INT_EQ(store_col_int(s, 0), id);
    CHECK_STR_EQ(store_col_text(s, 1), "second");
    CHECK_INT_EQ(store_col_int(s, 2), 7);
    CHECK_INT_EQ(store_step(s), STORE_DONE);
    /* an update reports the rows it changed, none when nothing matched */
    s = store_q(c, Q_SEGMENT_DELETE);
    store_bind_int(s, 1, 12345);
    CHECK_INT_EQ(store_exec(s, &e), 0);
    CHECK_INT_EQ(store_changes(c), 0);

    /* blobs come back byte for byte (zero and high bytes), NULL reads as NULL */
    const unsigned char hash[6] = {0, 0xff, 0x5c, 'x', 0x80, 0};
    s = store_q(c, Q_TOKEN_INSERT);
    store_bind_blob(s, 1, hash, sizeof hash);
    store_bind_text(s, 2, "admin");
    store_bind_null(s, 3);
    store_bind_text(s, 4, NULL);
    store_bind_int(s, 5, 1);
    CHECK_INT_EQ(store_exec(s, &e), 0);
    s = store_q(c, Q_TOKEN_BY_HASH);
    store_bind_blob(s, 1, hash, sizeof hash);
    CHECK_INT_EQ(store_step(s), STORE_ROW);
    int n = 0;
    const void *got = store_col_blob(s, 1, &n);
    CHECK_INT_EQ(n, sizeof hash);
    CHECK(got && memcmp(got, hash, sizeof hash) == 0);
    CHECK_STR_EQ(store_col_text(s, 2), "admin");
    CHECK(store_col_null(s, 3));
    CHECK(store_col_text(s, 3) == NULL);
    store_reset(s);

    /* reals keep their value; a large integer keeps all its digits */
    s = store_q(c, Q_MODEL_RUN_INSERT);
    store_bind_int(s, 1, INT64_C(9007199254740993));
    store_bind_int(s, 2, -3);
    store_bind_real(s, 3, 7.25);
    store_bind_int(s, 4, 2);
    store_bind_text(s, 5, "{}");
    CHECK_INT_EQ(store_exec(s, &e), 0);
    s = store_q(c, Q_MODEL_RUN_LATEST);
    CHECK_INT_EQ(store_step(s), STORE_ROW);
    CHECK_INT_EQ(store_col_int(s, 1), INT64_C(9007199254740993));
    CHECK_INT_EQ(store_col_int(s, 2), -3);
    CHECK(store_col_real(s, 3) == 7.25);
    store_reset(s);

    /* a constraint met inside a write transaction leaves the transaction usable: the
     * work before it and after it commits (a coupon code taken is tried again) */
    CHECK_INT_EQ(store_begin(c, true, &e), 0);
    CHECK(store_in_tx(c));
    s = store_q(c, Q_BRAND_INSERT);
    store_bind_text(s, 1, "before");
    store_bind_int(s, 2, 1);
    CHECK_INT_EQ(store_exec(s, &e), 0);
    s = store_q(c, Q_BRAND_INSERT);
    store_bind_text(s, 1, "second");
    store_bind_int(s, 2, 1);
    CHECK_INT_EQ(store_step(s), STORE_CONSTRAINT);
    CHECK(strlen(store_errmsg(c)) > 0);
    s = store_q(c, Q_BRAND_INSERT);
    store_bind_text(s, 1, "after");
    store_bind_int(s, 2, 1);
    CHECK_INT_EQ(store_exec(s, &e), 0);
    CHECK_INT_EQ(store_commit(c, &e), 0);
    CHECK(!store_in_tx(c));
    const char *want[] = {"before", "after"};
    for (int i = 0; i < 2; i++) {
        s = store_q(c, Q_BRAND_BY_NAME);
        store_bind_text(s, 1, want[i]);
        CHECK_INT_EQ(store_step(s), STORE_ROW);
        store_reset(s);
    }

    /* savepoints nest: undoing the outer drops what the inner kept; an inner one with
     * nothing in it, undone or released, changes nothing around it */
    CHECK_INT_EQ(store_begin(c, true, &e), 0);
    CHECK_INT_EQ(store_savepoint(c, &e), 0);
    s = store_q(c, Q_BRAND_INSERT);
    store_bind_text(s, 1, "outer");
    store_bind_int(s, 2, 1);
    CHECK_INT_EQ(store_exec(s, &e), 0);
    CHECK_INT_EQ(store_savepoint(c, &e), 0);
    s = store_q(c, Q_BRAND_INSERT);
    store_bind_text(s, 1, "inner");
    store_bind_int(s, 2, 1);
    CHECK_INT_EQ(store_exec(s, &e), 0);
    store_savepoint_release(c);
    store_savepoint_undo(c);
    CHECK_INT_EQ(store_savepoint(c, &e), 0);
    CHECK_INT_EQ(store_savepoint(c, &e), 0);
    store_savepoint_undo(c);
    s = store_q(c, Q_BRAND_INSERT);
    store_bind_text(s, 1, "kept too");
    store_bind_int(s, 2, 1);
    CHECK_INT_EQ(store_exec(s, &e), 0);
    CHECK_INT_EQ(store_savepoint(c, &e), 0);
    store_savepoint_release(c);
    store_savepoint_release(c);
    CHECK_INT_EQ(store_commit(c, &e), 0);
    const char *gone[] = {"outer", "inner"};
    for (int i = 0; i < 2; i++) {
        s = store_q(c, Q_BRAND_BY_NAME);
        store_bind_text(s, 1, gone[i]);
        CHECK_INT_EQ(store_step(s), STORE_DONE);
    }
    s = store_q(c, Q_BRAND_BY_NAME);
    store_bind_text(s, 1, "kept too");
    CHECK_INT_EQ(store_step(s), STORE_ROW);
    store_reset(s);
    CHECK_INT_EQ(store_begin(c, false, &e), 0); /* a read transaction with nothing in it */
    CHECK(store_in_tx(c));
    CHECK_INT_EQ(store_commit(c, &e), 0);
    CHECK(!store_in_tx(c));
    CHECK_INT_EQ(store_begin(c, false, &e), 0);
    store_rollback(c);
    CHECK(!store_in_tx(c));
    s = store_q(c, Q_BRAND_BY_NAME);
    store_bind_text(s, 1, "kept too");
    CHECK_INT_EQ(store_step(s), STORE_ROW);
    int64_t kept_too = store_col_int(s, 0);
    store_reset(s);

    /* a statement walked part way and another run meanwhile on the same connection */
    s = store_q(c, Q_BRAND_LIST);
    store_bind_int(s, 1, 0);
    store_bind_int(s, 2, 100);
    CHECK_INT_EQ(store_step(s), STORE_ROW);
    store_stmt *other = store_q(c, Q_COUNT_ORDERS);
    CHECK_INT_EQ(store_step(other), STORE_ROW);
    CHECK_INT_EQ(store_col_int(other, 0), 0);
    store_reset(other);
    int rest = 1;
    while (store_step(s) == STORE_ROW)
        rest++;
    CHECK_INT_EQ(rest, 5); /* kept, second, before, after, kept too */
    CHECK(kept_too > 0);

    /* a scan longer than a batch of the PostgreSQL driver's cursor (4096 rows), with other
     * statements run between its rows, reads every row once, in a transaction or not */
    enum { MEMBERS = 9000 };
    CHECK_INT_EQ(store_begin(c, true, &e), 0);
    for (int i = 0; i < MEMBERS; i++) {
        s = store_q(c, Q_MEMBER_INSERT);
        store_bind_text(s, 1, "m");
        store_bind_int(s, 8, i);
        store_bind_int(s, 9, i);
        CHECK_INT_EQ(store_exec(s, &e), 0);
    }
    CHECK_INT_EQ(store_commit(c, &e), 0);
    for (int tx = 0; tx < 2; tx++) {
        if (tx) CHECK_INT_EQ(store_begin(c, false, &e), 0);
        s = store_q(c, Q_SCAN_MEMBERS);
        int64_t rows = 0, last = 0;
        bool ordered = true;
        while (store_step(s) == STORE_ROW) {
            ordered = ordered && store_col_int(s, 0) > last;
            last = store_col_int(s, 0);
            CHECK_INT_EQ(store_col_int(s, 7), rows); /* joined_at */
            if (++rows % 1000 == 0) {
                other = store_q(c, Q_COUNT_MEMBERS);
                CHECK_INT_EQ(store_step(other), STORE_ROW);
                CHECK_INT_EQ(store_col_int(other, 0), MEMBERS);
                store_reset(other);
            }
        }
        CHECK(ordered);
        CHECK_INT_EQ(rows, MEMBERS);
        /* stopped early and run again: from the start */
        s = store_q(c, Q_SCAN_MEMBERS);
        CHECK_INT_EQ(store_step(s), STORE_ROW);
        CHECK_INT_EQ(store_col_int(s, 7), 0);
        store_reset(s);
        s = store_q(c, Q_SCAN_MEMBERS);
        CHECK_INT_EQ(store_step(s), STORE_ROW);
        CHECK_INT_EQ(store_col_int(s, 7), 0);
        if (tx)
            store_rollback(c);
        else
            store_reset(s);
    }
    CHECK(store_size_bytes(st) > 0);
    store_conn_close(c);
    store_close(st);
}

/* Every named query has a PostgreSQL text, and every SQLite migration its PostgreSQL twin
 * (both stores carry the same schema version). Needs no server. */
static const char *const query_names[Q__COUNT] = {
#define Q(name) #name,
    STORE_QUERY_LIST(Q)
#undef Q
};

static void pg_texts_complete(void)
{
    for (int q = 0; q < Q__COUNT; q++) {
        if (!pg_queries[q])
            fprintf(stderr, "Q_%s has no PostgreSQL text (src/store/pg_queries.c)\n",
                    query_names[q]);
        CHECK(pg_queries[q] != NULL);
        if (!sqlite_queries[q])
            fprintf(stderr, "Q_%s has no SQLite text (src/store/sqlite_queries.c)\n",
                    query_names[q]);
        CHECK(sqlite_queries[q] != NULL);
    }
    CHECK_INT_EQ(pg_migration_count, sqlite_migration_count);
}

/* PostgreSQL: a connection the server dropped while idle (a restart, a failover) is
 * opened again when the next transaction begins, or before a statement of none. */
static void pg_reconnects(const char *db, const char *name)
{
    siyu_err e;
    siyu_err_init(&e);
    store_t *st = NULL;
    store_options plain = {.sync = STORE_SYNC_NORMAL, .create = false};
    /* a password in the URL never shows in the store's name (the test server trusts) */
    char url[600];
    snprintf(url, sizeof url, "%s%spassword=sekret", db, strchr(db, '?') ? "&" : "?");
    CHECK_INT_EQ(store_open(url, &plain, &st, &e), 0);
    CHECK(strstr(store_path(st), "sekret") == NULL);
    CHECK(strstr(store_path(st), "password=***") != NULL);
    store_conn *c = NULL;
    CHECK_INT_EQ(store_conn_open(st, &c, &e), 0);
    store_stmt *s = store_q(c, Q_COUNT_ORDERS);
    CHECK_INT_EQ(store_step(s), STORE_ROW);
    store_reset(s);
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'", name);
    CHECK_INT_EQ(pgtest_admin(sql), 0);
    for (int write = 0; write < 2; write++) {
        CHECK_INT_EQ(store_begin(c, write, &e), 0);
        s = store_q(c, Q_COUNT_ORDERS);
        CHECK_INT_EQ(store_step(s), STORE_ROW);
        store_reset(s);
        CHECK_INT_EQ(store_commit(c, &e), 0);
    }
    /* a read of no transaction (the server's token check on a connection lent to a
     * request) is opened again too: dropped while idle, and dropped once seen dropped */
    for (int round = 0; round < 2; round++) {
        CHECK_INT_EQ(pgtest_admin(sql), 0);
        if (round == 1) { /* the drop seen by a failed read first */
            s = store_q(c, Q_COUNT_ORDERS);
            store_step(s);
            store_reset(s);
            store_conn_clear(c);
        }
        s = store_q(c, Q_COUNT_ORDERS);
        CHECK_INT_EQ(store_step(s), STORE_ROW);
        store_reset(s);
        CHECK_INT_EQ(store_conn_check(c, &e), 0);
    }
    store_conn_close(c);
    store_close(st);
}

int main(void)
{
    pg_texts_complete();

    char dir[] = "/tmp/siyu-store-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/s.db", dir);
    store_suite(path);
    store_close(NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT_EQ(system(cmd), 0);

    /* on PostgreSQL too, when a server is given: a fresh database on it */
    char name[64] = "", db[512];
    int rc = pgtest_fresh("store", name, db, sizeof db);
    CHECK(rc >= 0);
    if (rc == 0) {
        store_suite(db);
        pg_reconnects(db, name);
        pgtest_drop(name);
    }
    return CHECK_DONE();
}
