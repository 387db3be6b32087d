/* Unit tests for the store's failure model: a statement left running never locks the
 * store for the next writer, the first failed step sticks to its connection until the
 * next transaction (every later step fails, the commit refuses), a failure inside an
 * undone savepoint goes with it, and injected faults hit exactly the N-th step. */
#include <check.h>
#include <pgtest.h>
#include <unistd.h>

#include "brands.h"
#include "store/store.h"

int main(void)
{
    char dir[] = "/tmp/siyu-sticky-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[512], pg_name[64]; /* a file in dir, or a fresh PostgreSQL database */
    int pg = pgtest_fresh("sticky", pg_name, path, sizeof path);
    CHECK(pg >= 0);
    if (pg > 0) snprintf(path, sizeof path, "%s/s.db", dir);
    siyu_err e;
    siyu_err_init(&e);
    store_t *st = NULL;
    store_options create = {.sync = STORE_SYNC_NORMAL, .create = true};
    CHECK_INT_EQ(store_open(path, &create, &st, &e), 0);
    store_conn *a, *b;
    CHECK_INT_EQ(store_conn_open(st, &a, &e), 0);
    CHECK_INT_EQ(store_conn_open(st, &b, &e), 0);

    /* 1. A read left running (one row read, never reset) on a writer's connection, then
     * a write on another connection: the first writer's next transaction must begin.
     * (Before: "store: begin: database is locked" for ever — the stale snapshot.) */
    CHECK_INT_EQ(store_begin(a, true, &e), 0);
    CHECK_INT_EQ(add_brand(a, "one", &e), 0);
    CHECK_INT_EQ(add_brand(a, "two", &e), 0);
    store_stmt *s = store_q(a, Q_BRAND_LIST);
    store_bind_int(s, 1, 0);
    store_bind_int(s, 2, 10);
    CHECK_INT_EQ(store_step(s), STORE_ROW); /* and left running */
    CHECK_INT_EQ(store_commit(a, &e), 0);
    CHECK_INT_EQ(store_begin(b, true, &e), 0);
    CHECK_INT_EQ(add_brand(b, "three", &e), 0);
    CHECK_INT_EQ(store_commit(b, &e), 0);
    int rc = store_begin(a, true, &e);
    CHECK_INT_EQ(rc, 0);
    if (rc) fprintf(stderr, "begin after a left-running read: %s\n", e.message);
    CHECK_INT_EQ(brands(a), 3); /* and it sees the other writer's row */
    CHECK_INT_EQ(store_commit(a, &e), 0);

    /* 2. The first failure sticks: a failed read is not "no rows" for later steps. */
    CHECK_INT_EQ(store_begin(a, false, &e), 0);
    CHECK(!store_conn_failed(a));
    store_fault_set(st, 1, STORE_FAULT_IOERR);
    CHECK_INT_EQ(brands(a), 0); /* the injected I/O error ends the loop early */
    CHECK_INT_EQ(store_fault_hits(st), 1);
    CHECK(store_conn_failed(a));
    CHECK(strstr(store_conn_error(a), "I/O") != NULL);
    CHECK_INT_EQ(brands(a), 0); /* every later step fails fast, fault or not */
    CHECK_INT_EQ(store_conn_check(a, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_INTERNAL);
    siyu_err_clear(&e);
    CHECK_INT_EQ(store_commit(a, &e), -1); /* the commit refuses */
    CHECK_INT_EQ(e.code, SIYU_INTERNAL);
    siyu_err_clear(&e);
    CHECK(!store_in_tx(a));
    /* the next transaction starts clean */
    CHECK_INT_EQ(store_begin(a, false, &e), 0);
    CHECK(!store_conn_failed(a));
    CHECK_INT_EQ(brands(a), 3);
    CHECK_INT_EQ(store_commit(a, &e), 0);

    /* 3. A write whose later step fails commits nothing: the commit refuses. */
    CHECK_INT_EQ(store_begin(a, true, &e), 0);
    CHECK_INT_EQ(add_brand(a, "four", &e), 0);
    store_fault_set(st, 1, STORE_FAULT_BUSY);
    CHECK_INT_EQ(brands(a), 0);
    CHECK(strstr(store_conn_error(a), "locked") != NULL);
    CHECK_INT_EQ(add_brand(a, "five", &e), -1);
    CHECK_INT_EQ(e.code, SIYU_INTERNAL);
    siyu_err_clear(&e);
    CHECK_INT_EQ(store_commit(a, &e), -1);
    siyu_err_clear(&e);
    CHECK_INT_EQ(store_begin(b, false, &e), 0);
    CHECK_INT_EQ(brands(b), 3); /* "four" never landed */
    CHECK_INT_EQ(store_commit(b, &e), 0);

    /* 4. A failure inside a savepoint is not undone with it: the transaction is lost
     * whole (an I/O error is never one record's own refusal). A constraint is. */
    CHECK_INT_EQ(store_begin(a, true, &e), 0);
    CHECK_INT_EQ(add_brand(a, "six", &e), 0);
    CHECK_INT_EQ(store_savepoint(a, &e), 0);
    CHECK_INT_EQ(add_brand(a, "six", &e), -1); /* a constraint: a refusal, not sticky */
    CHECK_INT_EQ(e.code, SIYU_CONFLICT);
    siyu_err_clear(&e);
    CHECK(!store_conn_failed(a));
    store_savepoint_undo(a);
    CHECK_INT_EQ(store_savepoint(a, &e), 0);
    store_fault_set(st, 2, STORE_FAULT_IOERR);
    CHECK_INT_EQ(add_brand(a, "seven", &e), 0);
    CHECK_INT_EQ(add_brand(a, "eight", &e), -1);
    siyu_err_clear(&e);
    store_savepoint_undo(a);
    CHECK(store_conn_failed(a));
    CHECK_INT_EQ(store_savepoint(a, &e), -1); /* nothing more runs in this transaction */
    siyu_err_clear(&e);
    CHECK_INT_EQ(store_commit(a, &e), -1);
    siyu_err_clear(&e);
    CHECK_INT_EQ(store_begin(a, true, &e), 0); /* the next one is clean */
    CHECK_INT_EQ(add_brand(a, "six", &e), 0);
    CHECK_INT_EQ(store_savepoint(a, &e), 0);
    CHECK_INT_EQ(add_brand(a, "seven", &e), 0);
    store_savepoint_undo(a);
    CHECK_INT_EQ(store_commit(a, &e), 0);
    CHECK_INT_EQ(store_begin(b, false, &e), 0);
    CHECK_INT_EQ(brands(b), 4); /* one, two, three, six */
    CHECK_INT_EQ(store_commit(b, &e), 0);

    /* 5. The commit counts as a step: a fault there writes nothing. */
    CHECK_INT_EQ(store_begin(a, true, &e), 0);
    CHECK_INT_EQ(add_brand(a, "ten", &e), 0);
    store_fault_set(st, 1, STORE_FAULT_IOERR);
    CHECK_INT_EQ(store_commit(a, &e), -1);
    siyu_err_clear(&e);
    CHECK(!store_in_tx(a));
    store_fault_set(st, 0, STORE_FAULT_IOERR);
    CHECK_INT_EQ(store_begin(b, false, &e), 0);
    CHECK_INT_EQ(brands(b), 4);
    CHECK_INT_EQ(store_commit(b, &e), 0);

    store_conn_close(a);
    store_conn_close(b);
    store_close(st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT_EQ(system(cmd), 0);
    pgtest_drop(pg_name);
    return CHECK_DONE();
}
