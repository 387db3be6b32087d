/* Unit tests for src/store: migrations are idempotent, every named query prepares,
 * transactions and savepoints keep or drop exactly what they should. */
#include <check.h>
#include <unistd.h>

#include "store/store.h"

int main(void)
{
    char dir[] = "/tmp/siyu-store-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/s.db", dir);
    siyu_err e;
    siyu_err_init(&e);

    /* opening an uninitialised path without create is a clear error */
    store_t *st = NULL;
    store_options plain = {.sync = STORE_SYNC_NORMAL, .create = false};
    CHECK_INT_EQ(store_open(path, &plain, &st, &e), -1);
    CHECK(strstr(e.message, "siyu init") != NULL || strstr(e.message, "cannot open") != NULL);

    store_options create = {.sync = STORE_SYNC_NORMAL, .create = true};
    CHECK_INT_EQ(store_open(path, &create, &st, &e), 0);
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
    CHECK(store_size_bytes(st) > 0);
    store_conn_close(c);
    store_close(st);
    store_close(NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT_EQ(system(cmd), 0);
    return CHECK_DONE();
}
