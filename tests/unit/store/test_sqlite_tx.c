/* SQLite's BEGIN, BEGIN IMMEDIATE, COMMIT and ROLLBACK are statements prepared once per
 * connection (store_sqlite.c): each must come back to work after it failed. Two stores
 * opened on one file stand for two processes (each has its own writers' queue, so they meet
 * at SQLite's lock): a BEGIN IMMEDIATE refused while the other holds the lock begins once it
 * is free; a transaction whose COMMIT was refused is undone, and the next one commits; a
 * table created by another connection after the statements were prepared changes nothing. */
#include <check.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brands.h"
#include "store/store.h"

static int count(store_conn *c)
{
    siyu_err e;
    siyu_err_init(&e);
    if (store_begin(c, false, &e)) return -1;
    int n = brands(c);
    store_rollback(c);
    return n;
}

int main(void)
{
    char dir[] = "/tmp/siyu-sqlite-tx-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[300];
    snprintf(path, sizeof path, "%s/s.db", dir);
    setenv("SIYU_BUSY_TIMEOUT_MS", "50", 1); /* a refused lock is answered soon */
    siyu_err e;
    siyu_err_init(&e);
    store_t *one = NULL, *two = NULL;
    store_options create = {.sync = STORE_SYNC_NORMAL, .create = true};
    store_options open = {.sync = STORE_SYNC_NORMAL};
    CHECK_INT_EQ(store_open(path, &create, &one, &e), 0);
    CHECK_INT_EQ(store_open(path, &open, &two, &e), 0);
    store_conn *a, *b;
    CHECK_INT_EQ(store_conn_open(one, &a, &e), 0);
    CHECK_INT_EQ(store_conn_open(two, &b, &e), 0);
    int base = count(a);
    CHECK(base >= 0);

    /* 1. BEGIN IMMEDIATE refused (the other holds the lock), then begun */
    CHECK_INT_EQ(store_begin(a, true, &e), 0);
    CHECK_INT_EQ(add_brand(a, "a1", &e), 0);
    CHECK_INT_EQ(store_begin(b, true, &e), -1);
    CHECK(strstr(e.message, "locked") != NULL);
    siyu_err_clear(&e);
    CHECK(!store_in_tx(b));
    CHECK_INT_EQ(store_begin(b, true, &e), -1); /* again: still refused, not wedged */
    siyu_err_clear(&e);
    CHECK_INT_EQ(store_commit(a, &e), 0);
    CHECK_INT_EQ(store_begin(b, true, &e), 0);
    CHECK_INT_EQ(brands(b), base + 1); /* it sees a's commit */
    CHECK_INT_EQ(add_brand(b, "b1", &e), 0);
    CHECK_INT_EQ(store_commit(b, &e), 0);
    CHECK_INT_EQ(count(a), base + 2);

    /* 2. a write refused: a read transaction whose snapshot the other store's commit made
     * stale cannot write (SQLITE_BUSY_SNAPSHOT); its failure sticks, the commit is refused
     * and undone whole, and the prepared COMMIT and ROLLBACK serve the next transaction */
    CHECK_INT_EQ(store_begin(b, false, &e), 0);
    CHECK_INT_EQ(brands(b), base + 2); /* the read snapshot is taken */
    CHECK_INT_EQ(store_begin(a, true, &e), 0);
    CHECK_INT_EQ(add_brand(a, "a2", &e), 0);
    CHECK_INT_EQ(store_commit(a, &e), 0);
    CHECK_INT_EQ(add_brand(b, "b2", &e), -1);
    siyu_err_clear(&e);
    CHECK_INT_EQ(store_commit(b, &e), -1);
    siyu_err_clear(&e);
    CHECK(!store_in_tx(b));
    CHECK_INT_EQ(count(a), base + 3); /* b2 never landed */
    CHECK_INT_EQ(store_begin(b, true, &e), 0);
    CHECK_INT_EQ(add_brand(b, "b2", &e), 0);
    CHECK_INT_EQ(store_commit(b, &e), 0);
    CHECK_INT_EQ(count(a), base + 4);

    /* 3. another connection changes the schema after the statements were prepared */
    sqlite3 *h = NULL;
    CHECK_INT_EQ(sqlite3_open(path, &h), SQLITE_OK);
    CHECK_INT_EQ(sqlite3_exec(h, "CREATE TABLE later(x INTEGER)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    CHECK_INT_EQ(store_begin(a, true, &e), 0);
    CHECK_INT_EQ(add_brand(a, "a3", &e), 0);
    CHECK_INT_EQ(store_commit(a, &e), 0);
    CHECK_INT_EQ(store_begin(a, true, &e), 0);
    CHECK_INT_EQ(add_brand(a, "a4", &e), 0);
    store_rollback(a);
    CHECK_INT_EQ(count(b), base + 5);

    store_conn_close(a);
    store_conn_close(b);
    store_close(one);
    store_close(two);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT_EQ(system(cmd), 0);
    return CHECK_DONE();
}
