/* The VFS gathers a transaction's WAL frames and writes them when the commit frame is
 * whole (sqlite_vfs.c). What must hold whatever SQLite does with its WAL:
 *   - a commit is in the file before anyone can see it: a reader on SQLite's own VFS,
 *     after every COMMIT, finds exactly the rows committed (under synchronous=NORMAL, so
 *     no sync flushes anything on the way);
 *   - what SQLite writes after the commit frame (checksums rewritten when a page spilled
 *     mid-transaction was written again) is in the file too: a copy of the database and
 *     its WAL, taken between transactions, recovers every commit from the WAL alone;
 *   - a transaction rolled back after its frames spilled leaves nothing behind.
 * The writer's WAL starts over often (a 40-page autocheckpoint), then only grows (none: a
 * checkpoint's reads after a commit would flush what it left), transactions range from one
 * row to well past the gathering's 1 MiB, and its page cache is small, so pages spill. */
#include <check.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    exec(w, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=20;"
            " PRAGMA wal_autocheckpoint=40;"
            " CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, b BLOB);"
            " CREATE INDEX t_k ON t(k)");
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
            exec(w, "PRAGMA wal_autocheckpoint=0");
        if (round % (round < 120 ? 10 : 20) == 9 || huge) {
            recovered(path, &seen_rows, &seen_bytes);
            if (seen_rows != rows || seen_bytes != bytes)
                CHECK_FAIL_("round %d: recovered %lld rows, %lld bytes from the WAL; committed "
                            "%lld, %lld",
                            round, seen_rows, seen_bytes, rows, bytes);
        }
    }
    CHECK(big >= 5);
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
    for (int i = 0; i < 3; i++) {
        snprintf(f, sizeof f, "%s%s", path, suffix[i]);
        unlink(f);
    }
    rmdir(dir);
    fprintf(stderr, "wal gather: %lld rows in %lld commits (%lld past 1 MiB), %lld rolled back\n",
            rows, 240 - undone, big, undone);
    return CHECK_DONE();
}
