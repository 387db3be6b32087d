/* The VFS gathers a transaction's WAL frames and writes them when the commit frame is
 * whole (sqlite_vfs.c). What must hold whatever SQLite does with its WAL:
 *   - a commit is in the file before anyone can see it: a reader on SQLite's own VFS,
 *     after every COMMIT, finds exactly the rows committed (under synchronous=NORMAL, so
 *     no sync flushes anything on the way);
 *   - what SQLite writes after the commit frame (checksums rewritten when a page spilled
 *     mid-transaction was written again) is in the file too: a copy of the database and
 *     its WAL, taken between transactions, recovers every commit from the WAL alone;
 *   - a transaction rolled back after its frames spilled leaves nothing behind.
 *   - at the moment SQLite publishes a commit (its WAL hook), the WAL file holds every
 *     frame it published.
 * The writer's WAL starts over often (a checkpoint every 40 pages), then only grows (none: a
 * checkpoint's reads after a commit would flush what it left), transactions range from one
 * row to well past the gathering's 1 MiB, and its page cache is small, so pages spill. */
#include <check.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/sqlite_internal.h"

static char dir[] = "/tmp/siyu-wal-gather-XXXXXX";

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) CHECK_FAIL_("%s: %s", sql, msg);
    sqlite3_free(msg);
}

/* rows and total blob bytes, as db sees them; -1 rows when it cannot read */
static void tally(sqlite3 *db, long long *rows, long long *bytes)
{
    sqlite3_stmt *s = NULL;
    *rows = *bytes = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*), coalesce(sum(length(b)), 0) FROM t", -1, &s,
                           NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        *rows = sqlite3_column_int64(s, 0);
        *bytes = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    CHECK(in != NULL && out != NULL);
    char buf[65536];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
        CHECK_INT_EQ((long long)fwrite(buf, 1, n, out), (long long)n);
    if (in) fclose(in);
    if (out) fclose(out);
}

/* the database and its WAL as a crash would leave them (no -shm): SQLite recovers the WAL
 * index from the frames, and stops at the first whose checksum does not follow */
static void recovered(const char *db_path, long long *rows, long long *bytes)
{
    char from[400], to[400], to_wal[400];
    snprintf(to, sizeof to, "%s/copy.db", dir);
    snprintf(to_wal, sizeof to_wal, "%s/copy.db-wal", dir);
    unlink(to);
    unlink(to_wal);
    snprintf(from, sizeof from, "%s-wal", db_path);
    copy_file(db_path, to);
    copy_file(from, to_wal);
    sqlite3 *db = NULL;
    CHECK_INT_EQ(sqlite3_open_v2(to, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    tally(db, rows, bytes);
    sqlite3_close(db);
    char wal[400];
    snprintf(wal, sizeof wal, "%s/copy.db-shm", dir);
    unlink(wal);
    unlink(to_wal);
    unlink(to);
}

/* Two writers on one file: a transaction that spilled frames and was rolled back leaves
 * them gathered on its connection, where the other writer's next commit lands on the same
 * offsets; they must be written (or dropped) before the lock passes, never later over the
 * other's commit. */
static void test_two_writers(const char *path)
{
    sqlite3 *a = NULL, *b = NULL, *r = NULL;
    CHECK_INT_EQ(
        sqlite3_open_v2(path, &a, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, sqlite_timed_vfs()),
        SQLITE_OK);
    CHECK_INT_EQ(sqlite3_open_v2(path, &b, SQLITE_OPEN_READWRITE, sqlite_timed_vfs()), SQLITE_OK);
    exec(a, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=10;"
            " PRAGMA wal_autocheckpoint=0;"
            " CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, b BLOB);"
            " CREATE TABLE n(value INTEGER PRIMARY KEY);"
            " WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 60)"
            " INSERT INTO n SELECT x FROM c");
    exec(b, "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0");
    CHECK_INT_EQ(sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    long long rows = 0, bytes = 0, seen_rows, seen_bytes;
    for (int round = 0; round < 12; round++) {
        /* an empty WAL: page 1, which a rollback reads again, comes from the database file,
         * so nothing touches a's WAL on the way */
        if (round % 2 == 0) exec(b, "PRAGMA wal_checkpoint(TRUNCATE)");
        /* a: 60 rows of 2 000 bytes through a 10-page cache spill, then are rolled back */
        exec(a, "BEGIN; INSERT INTO t(k, b) SELECT value, randomblob(2000)"
                " FROM n WHERE value <= 60; ROLLBACK");
        /* b commits where a's frames were */
        exec(b, "BEGIN; INSERT INTO t(k, b) SELECT value, randomblob(1500)"
                " FROM n WHERE value <= 30; COMMIT");
        rows += 30;
        bytes += 30 * 1500;
        tally(a, &seen_rows, &seen_bytes); /* a reads: anything it still holds goes now */
        tally(r, &seen_rows, &seen_bytes);
        if (seen_rows != rows || seen_bytes != bytes)
            CHECK_FAIL_("two writers, round %d: the reader saw %lld rows, %lld bytes; committed "
                        "%lld, %lld",
                        round, seen_rows, seen_bytes, rows, bytes);
        recovered(path, &seen_rows, &seen_bytes);
        if (seen_rows != rows || seen_bytes != bytes)
            CHECK_FAIL_("two writers, round %d: recovered %lld rows, %lld bytes; committed "
                        "%lld, %lld",
                        round, seen_rows, seen_bytes, rows, bytes);
    }
    sqlite3_close(r);
    sqlite3_close(b);
    sqlite3_close(a);
}

/* Runs once a commit is published in the WAL index, before COMMIT returns: its frames
 * must be in the file already. It stands in for SQLite's automatic checkpoint too (a hook
 * replaces it): every ckpt_pages pages, 0 for none. */
static int ckpt_pages = 40, published;
static int on_commit(void *path, sqlite3 *db, const char *name, int frames)
{
    char wal[400];
    snprintf(wal, sizeof wal, "%s-wal", (const char *)path);
    struct stat st;
    long long want = 32 + (long long)frames * (24 + 4096);
    if (stat(wal, &st) != 0 || (long long)st.st_size < want)
        CHECK_FAIL_("published %d frames with %lld bytes in the WAL file, %lld wanted", frames,
                    (long long)st.st_size, want);
    published++;
    if (ckpt_pages && frames >= ckpt_pages)
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

int main(void)
{
    CHECK(mkdtemp(dir) != NULL);
    CHECK(sqlite_timed_vfs() != NULL);
    char path[300];
    snprintf(path, sizeof path, "%s/g.db", dir);
    sqlite3 *w = NULL, *r = NULL;
    CHECK_INT_EQ(
        sqlite3_open_v2(path, &w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, sqlite_timed_vfs()),
        SQLITE_OK);
    exec(w, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            " PRAGMA cache_size=20;"
            " CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, b BLOB);"
            " CREATE INDEX t_k ON t(k)");
    sqlite3_wal_hook(w, on_commit, path);
    CHECK_INT_EQ(sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);

    sqlite3_stmt *ins = NULL, *upd = NULL;
    CHECK_INT_EQ(
        sqlite3_prepare_v2(w, "INSERT INTO t(k, b) VALUES (?1, randomblob(?2))", -1, &ins, NULL),
        SQLITE_OK);
    CHECK_INT_EQ(sqlite3_prepare_v2(w,
                                    "UPDATE t SET b = randomblob(length(b)), k = k + 1"
                                    " WHERE id % 7 = ?1",
                                    -1, &upd, NULL),
                 SQLITE_OK);
    unsigned x = 12345;
    long long rows = 0, bytes = 0, seen_rows, seen_bytes, big = 0, undone = 0;
    for (int round = 0; round < 240; round++) {
        x = x * 1103515245u + 12345u;
        int n = 1 + (int)(x >> 16) % 40, size = 100 + (int)(x >> 8) % 3000;
        bool huge = round % 25 == 24; /* past 1 MiB of frames */
        if (huge) n = 400, size = 3000;
        bool rollback = !huge && round % 11 == 5;
        exec(w, "BEGIN");
        for (int i = 0; i < n; i++) {
            sqlite3_bind_int(ins, 1, (int)(x % 1000) + i);
            sqlite3_bind_int(ins, 2, size);
            CHECK_INT_EQ(sqlite3_step(ins), SQLITE_DONE);
            sqlite3_reset(ins);
        }
        /* pages written again after they spilled: SQLite overwrites their frames in place
         * and rewrites the checksums after the commit frame */
        sqlite3_bind_int(upd, 1, round % 7);
        CHECK_INT_EQ(sqlite3_step(upd), SQLITE_DONE);
        sqlite3_reset(upd);
        if (rollback) {
            exec(w, "ROLLBACK");
            undone++;
        } else {
            exec(w, "COMMIT");
            rows += n;
            bytes += (long long)n * size;
            if (n * size > (1 << 20)) big++;
        }
        tally(r, &seen_rows, &seen_bytes);
        if (seen_rows != rows || seen_bytes != bytes)
            CHECK_FAIL_("round %d: the reader saw %lld rows, %lld bytes; committed %lld, %lld",
                        round, seen_rows, seen_bytes, rows, bytes);
        if (round == 120) /* from here the WAL only grows: no checkpoint reads it after a commit */
            ckpt_pages = 0;
        if (round % (round < 120 ? 10 : 20) == 9 || huge) {
            recovered(path, &seen_rows, &seen_bytes);
            if (seen_rows != rows || seen_bytes != bytes)
                CHECK_FAIL_("round %d: recovered %lld rows, %lld bytes from the WAL; committed "
                            "%lld, %lld",
                            round, seen_rows, seen_bytes, rows, bytes);
        }
    }
    CHECK(big >= 5);
    CHECK(published >= 200);
    char two[300];
    snprintf(two, sizeof two, "%s/two.db", dir);
    test_two_writers(two);
    CHECK(undone >= 20);
    sqlite3_stmt *s = NULL;
    CHECK_INT_EQ(sqlite3_prepare_v2(r, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
    CHECK_INT_EQ(sqlite3_step(s), SQLITE_ROW);
    CHECK_STR_EQ((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    sqlite3_finalize(ins);
    sqlite3_finalize(upd);
    sqlite3_close(r);
    sqlite3_close(w);
    char f[400];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 6; i++) {
        snprintf(f, sizeof f, "%s%s", i < 3 ? path : two, suffix[i % 3]);
        unlink(f);
    }
    rmdir(dir);
    fprintf(stderr, "wal gather: %lld rows in %lld commits (%lld past 1 MiB), %lld rolled back\n",
            rows, 240 - undone, big, undone);
    return CHECK_DONE();
}
