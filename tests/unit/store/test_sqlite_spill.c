/* A transaction larger than its connection's page cache, with a savepoint rolled back in
 * its middle, must come back whole when the store is recovered from its WAL after a crash.
 *
 * Why this needs a test: SQLite 3.40 (Debian 12's) writes a WAL that recovery cannot read
 * past when a transaction spills pages to the WAL, writes some of them again (SQLite then
 * overwrites their frames in place and recomputes checksums at COMMIT, from the first
 * frame it overwrote), and rolls back to a savepoint taken before those frames: the
 * frames appended after the rollback get no checksum, and the recomputation at COMMIT
 * starts past them. Readers of the live WAL index see every commit, but recovery stops at
 * the first such frame and loses that commit and every later one until a checkpoint has
 * copied them. siyu rolls back to savepoints all the time (one per record in the group
 * committer, a careful import batch, the bulk operations), so from a transaction's first
 * savepoint to its end its connection does not spill (store_sqlite.c).
 *
 * The test writes through the store's own connection, with the smallest page cache the
 * store lets a caller set (1 MiB), rows large enough that one transaction dirties several
 * times that, and a second connection holding an old read snapshot so that no checkpoint
 * copies anything and the WAL only grows. After every COMMIT a copy of the database and its
 * WAL, recovered by SQLite alone, holds exactly the rows committed so far; nothing reaches
 * the WAL while a savepoint is open; and a transaction without one still spills (turning
 * spilling off for good made imports much slower). A statement undone on a constraint
 * outside a savepoint, once pages spilled (SQLite undoes it through a savepoint of its
 * own), makes the commit refuse. */
#include <check.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brands.h"
#include "crash_copy.h"
#include "store/sqlite_internal.h"
#include "store/store.h"

#define NAME_BYTES 1500 /* a brand row and its UNIQUE index entry each fill about half a page */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static unsigned next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 32);
}

/* n brands with long random names, so the index takes them at random places */
static int add_brands(store_conn *c, int round, const char *tag, int n, siyu_err *e)
{
    char name[NAME_BYTES + 1];
    for (int i = 0; i < n; i++) {
        int len = snprintf(name, sizeof name, "%s-%d-%d-", tag, round, i);
        for (int k = len; k < NAME_BYTES; k++)
            name[k] = (char)('a' + next_random() % 26);
        name[NAME_BYTES] = '\0';
        if (add_brand(c, name, e)) return -1;
    }
    return 0;
}

/* The brands a copy of the database and its WAL holds once SQLite has recovered it, as
 * after a crash (crash_copy.h), or -1 when the copy is not a sound database. */
static long long recovered_brands(const char *dir, const char *db)
{
    sqlite3 *h = crash_copy_open(dir, db);
    long long n = -1;
    sqlite3_stmt *s = NULL;
    if (h && sqlite3_prepare_v2(h, "PRAGMA quick_check", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW &&
        strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0) {
        sqlite3_finalize(s);
        s = NULL;
        if (sqlite3_prepare_v2(h, "SELECT count(*) FROM brands", -1, &s, NULL) == SQLITE_OK &&
            sqlite3_step(s) == SQLITE_ROW)
            n = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    crash_copy_close(h, dir);
    return n;
}

int main(void)
{
    char dir[] = "/tmp/siyu-sqlite-spill-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[300];
    snprintf(path, sizeof path, "%s/s.db", dir);
    siyu_err e;
    siyu_err_init(&e);
    store_t *st = NULL;
    store_options create = {.sync = STORE_SYNC_NORMAL, .create = true};
    CHECK_INT_EQ(store_open(path, &create, &st, &e), 0);
    store_conn *w, *reader;
    CHECK_INT_EQ(store_conn_open(st, &w, &e), 0);
    CHECK_INT_EQ(store_conn_open(st, &reader, &e), 0);
    store_conn_cache(w, 1);

    /* the reader's snapshot predates every round: no checkpoint gets past it */
    CHECK_INT_EQ(store_begin(reader, false, &e), 0);
    long long committed = brands(reader);
    CHECK(committed >= 0);

    long long spilled;
    for (int round = 0; round < 6; round++) {
        spilled = sqlite_conn_spilled(w);
        CHECK(spilled >= 0);
        CHECK_INT_EQ(store_begin(w, true, &e), 0);
        /* kept: on odd rounds a record past the cache (about 250 pages), which spills (nothing
         * rolls back below it); on even rounds one that fits */
        int kept = round % 2 ? 600 : 40;
        CHECK_INT_EQ(add_brands(w, round, "kept", kept, &e), 0);
        if (round % 2) CHECK(sqlite_conn_spilled(w) > spilled);
        spilled = sqlite_conn_spilled(w);
        /* rolled back: a record several times the cache, whose index pages are dirtied
         * again after they would have spilled */
        CHECK_INT_EQ(store_savepoint(w, &e), 0);
        CHECK_INT_EQ(add_brands(w, round, "undone", 1500, &e), 0);
        CHECK_INT_EQ(sqlite_conn_spilled(w), spilled); /* nothing spilled under it */
        store_savepoint_undo(w);
        /* and a little after the rollback, as the committer's next record would */
        CHECK_INT_EQ(store_savepoint(w, &e), 0);
        CHECK_INT_EQ(add_brands(w, round, "after", 40, &e), 0);
        store_savepoint_release(w);
        CHECK_INT_EQ(store_commit(w, &e), 0);
        committed += kept + 40;
        CHECK_INT_EQ(recovered_brands(dir, path), committed);

        /* spilling is back once the transaction ended: a transaction with no savepoint
         * spills, and is recovered whole as well */
        spilled = sqlite_conn_spilled(w);
        CHECK_INT_EQ(store_begin(w, true, &e), 0);
        CHECK_INT_EQ(add_brands(w, round, "plain", 600, &e), 0);
        CHECK(sqlite_conn_spilled(w) > spilled);
        CHECK_INT_EQ(store_commit(w, &e), 0);
        committed += 600;
        CHECK_INT_EQ(recovered_brands(dir, path), committed);
    }

    /* a statement failing on a constraint outside any savepoint is undone by SQLite alone,
     * through its own statement savepoint: after pages spilled, the commit is refused and
     * nothing of the transaction stays; before any spilled, or inside a savepoint of the
     * store's, the transaction commits */
    CHECK_INT_EQ(store_begin(w, true, &e), 0);
    CHECK_INT_EQ(add_brand(w, "taken", &e), 0);
    CHECK_INT_EQ(store_commit(w, &e), 0);
    committed += 1;

    spilled = sqlite_conn_spilled(w);
    CHECK_INT_EQ(store_begin(w, true, &e), 0);
    CHECK_INT_EQ(add_brands(w, 100, "refused", 600, &e), 0);
    CHECK(sqlite_conn_spilled(w) > spilled);
    CHECK_INT_EQ(add_brand(w, "taken", &e), -1); /* UNIQUE */
    CHECK_INT_EQ(e.code, SIYU_CONFLICT);
    siyu_err_clear(&e);
    CHECK_INT_EQ(store_commit(w, &e), -1);
    CHECK(strstr(e.message, "spilled") != NULL);
    siyu_err_clear(&e);
    CHECK(!store_in_tx(w));
    CHECK_INT_EQ(recovered_brands(dir, path), committed);

    CHECK_INT_EQ(store_begin(w, true, &e), 0);
    CHECK_INT_EQ(add_brands(w, 101, "small", 5, &e), 0);
    CHECK_INT_EQ(add_brand(w, "taken", &e), -1);
    siyu_err_clear(&e);
    CHECK_INT_EQ(store_commit(w, &e), 0);
    committed += 5;

    CHECK_INT_EQ(store_begin(w, true, &e), 0);
    CHECK_INT_EQ(add_brands(w, 102, "saved", 600, &e), 0);
    CHECK_INT_EQ(store_savepoint(w, &e), 0);
    CHECK_INT_EQ(add_brand(w, "taken", &e), -1);
    siyu_err_clear(&e);
    store_savepoint_undo(w);
    CHECK_INT_EQ(store_commit(w, &e), 0);
    committed += 600;
    CHECK_INT_EQ(recovered_brands(dir, path), committed);

    store_rollback(reader);

    store_conn_close(w);
    store_conn_close(reader);
    store_close(st);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT_EQ(system(cmd), 0);
    return CHECK_DONE();
}
