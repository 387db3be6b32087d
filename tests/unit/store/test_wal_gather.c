/* The VFS gathers a transaction's WAL frames and writes them with one call before SQLite
 * publishes the commit (sqlite_vfs.c). What must hold whatever SQLite does with its WAL:
 *   - a commit is in the file before anyone can see it: a reader on SQLite's own VFS,
 *     after every COMMIT, finds exactly the rows committed (under synchronous=NORMAL, so
 *     no sync flushes anything on the way);
 *   - what SQLite writes after the commit frame (checksums rewritten when a page spilled
 *     mid-transaction was written again) is in the file too: a copy of the database and
 *     its WAL, taken between transactions, recovers every commit from the WAL alone;
 *   - a transaction or savepoint rolled back after its frames spilled leaves nothing
 *     behind, also when another writer commits next (test_two_writers);
 *   - the gathering is on (test_gathered).
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
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crash_copy.h"
#include "store/sqlite_internal.h"

static char dir[] = "/tmp/siyu-wal-gather-XXXXXX";

/* ---- Below the VFS under test: SQLite's own, checking at each memory barrier ----
 * SQLite publishes a commit by writing the WAL index header twice, the copy at byte 48
 * first, crossing the barrier between the two. The copy at 48 then names the last frame
 * readers will trust (mxFrame) and the WAL's salts; that frame must already be in the
 * file, whole, with those salts (a frame of an older generation of the WAL has others).
 * This VFS is registered as the default before siyu's wraps it, so siyu's calls reach it
 * after siyu's own barrier work. */
typedef struct below_file {
    sqlite3_file base;
    sqlite3_file *real;
    char wal_path[400];   /* a main database's WAL */
    void volatile *index; /* its WAL index's first region, once mapped */
} below_file;

static sqlite3_vfs below_vfs, *os_vfs;
static long long barrier_checks;
#define BELOW(f) (((below_file *)(f))->real)

static uint32_t index_u32(const volatile unsigned char *p)
{
    uint32_t v;
    unsigned char b[4] = {p[0], p[1], p[2], p[3]};
    memcpy(&v, b, 4); /* the index is in native byte order */
    return v;
}

static void check_published(below_file *bf)
{
    const volatile unsigned char *h = (const volatile unsigned char *)bf->index + 48;
    uint32_t frames = index_u32(h + 16);
    unsigned page = (unsigned)h[14] | (unsigned)h[15] << 8; /* little-endian hosts */
    if (h[12] != 1 || frames == 0) return;                  /* not initialised; empty */
    if (page == 1) page = 65536;
    long long end = 32 + (long long)frames * (24 + page);
    int fd = open(bf->wal_path, O_RDONLY);
    unsigned char frame[24];
    struct stat st;
    bool whole = fd >= 0 && fstat(fd, &st) == 0 && st.st_size >= end &&
                 pread(fd, frame, 24, end - 24 - page) == 24;
    if (fd >= 0) close(fd);
    bool salts = whole;
    for (int i = 0; salts && i < 8; i++)
        salts = frame[8 + i] == h[32 + i];
    if (!whole || !salts)
        CHECK_FAIL_("published frame %u is not in the WAL file yet (%s)", frames,
                    whole ? "another generation's salts" : "short file");
    barrier_checks++;
}

static int b_close(sqlite3_file *f)
{
    return BELOW(f)->pMethods->xClose(BELOW(f));
}
static int b_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
    return BELOW(f)->pMethods->xRead(BELOW(f), b, n, o);
}
static int b_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
    return BELOW(f)->pMethods->xWrite(BELOW(f), b, n, o);
}
static int b_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return BELOW(f)->pMethods->xTruncate(BELOW(f), size);
}
static int b_sync(sqlite3_file *f, int flags)
{
    return BELOW(f)->pMethods->xSync(BELOW(f), flags);
}
static int b_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return BELOW(f)->pMethods->xFileSize(BELOW(f), size);
}
static int b_lock(sqlite3_file *f, int l)
{
    return BELOW(f)->pMethods->xLock(BELOW(f), l);
}
static int b_unlock(sqlite3_file *f, int l)
{
    return BELOW(f)->pMethods->xUnlock(BELOW(f), l);
}
static int b_reserved(sqlite3_file *f, int *out)
{
    return BELOW(f)->pMethods->xCheckReservedLock(BELOW(f), out);
}
static int b_fcntl(sqlite3_file *f, int op, void *arg)
{
    return BELOW(f)->pMethods->xFileControl(BELOW(f), op, arg);
}
static int b_sector(sqlite3_file *f)
{
    return BELOW(f)->pMethods->xSectorSize(BELOW(f));
}
static int b_devchar(sqlite3_file *f)
{
    return BELOW(f)->pMethods->xDeviceCharacteristics(BELOW(f));
}
static int b_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    int rc = BELOW(f)->pMethods->xShmMap(BELOW(f), pg, pgsz, extend, pp);
    if (rc == SQLITE_OK && pg == 0 && *pp) ((below_file *)f)->index = *pp;
    return rc;
}
static int b_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return BELOW(f)->pMethods->xShmLock(BELOW(f), off, n, flags);
}
static void b_shm_barrier(sqlite3_file *f)
{
    BELOW(f)->pMethods->xShmBarrier(BELOW(f));
    below_file *bf = (below_file *)f;
    if (bf->index && bf->wal_path[0]) check_published(bf);
}
static int b_shm_unmap(sqlite3_file *f, int del)
{
    ((below_file *)f)->index = NULL;
    return BELOW(f)->pMethods->xShmUnmap(BELOW(f), del);
}
static const sqlite3_io_methods below_methods = {
    .iVersion = 2,
    .xClose = b_close,
    .xRead = b_read,
    .xWrite = b_write,
    .xTruncate = b_truncate,
    .xSync = b_sync,
    .xFileSize = b_size,
    .xLock = b_lock,
    .xUnlock = b_unlock,
    .xCheckReservedLock = b_reserved,
    .xFileControl = b_fcntl,
    .xSectorSize = b_sector,
    .xDeviceCharacteristics = b_devchar,
    .xShmMap = b_shm_map,
    .xShmLock = b_shm_lock,
    .xShmBarrier = b_shm_barrier,
    .xShmUnmap = b_shm_unmap,
};

static int b_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)vfs;
    below_file *bf = (below_file *)f;
    memset(bf, 0, sizeof *bf);
    bf->real = (sqlite3_file *)(bf + 1);
    int rc = os_vfs->xOpen(os_vfs, name, bf->real, flags, out_flags);
    f->pMethods = rc == SQLITE_OK && bf->real->pMethods ? &below_methods : NULL;
    if (rc == SQLITE_OK && name && (flags & SQLITE_OPEN_MAIN_DB))
        snprintf(bf->wal_path, sizeof bf->wal_path, "%s-wal", name);
    return rc;
}

static void below_register(void)
{
    os_vfs = sqlite3_vfs_find(NULL);
    below_vfs = *os_vfs;
    below_vfs.zName = "wal-check";
    below_vfs.szOsFile = (int)sizeof(below_file) + os_vfs->szOsFile;
    below_vfs.xOpen = b_open;
    below_vfs.pNext = NULL;
    CHECK_INT_EQ(sqlite3_vfs_register(&below_vfs, 1), SQLITE_OK);
}

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

/* the database and its WAL as a crash would leave them (crash_copy.h) */
static void recovered(const char *db_path, long long *rows, long long *bytes)
{
    sqlite3 *db = crash_copy_open(dir, db_path);
    CHECK(db != NULL);
    if (db) tally(db, rows, bytes);
    crash_copy_close(db, dir);
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

/* The gathering is on: twenty commits of some twenty pages each, written with a call or
 * two each, not two calls a frame. */
static void test_gathered(const char *path)
{
    sqlite3 *db = NULL;
    CHECK_INT_EQ(
        sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, sqlite_timed_vfs()),
        SQLITE_OK);
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
             " CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, b BLOB)");
    uint64_t writes0, bytes0, writes1, bytes1;
    sqlite_vfs_gathered(&writes0, &bytes0);
    for (int i = 0; i < 20; i++)
        exec(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20)"
                 " INSERT INTO t(k, b) SELECT x, randomblob(3000) FROM c");
    sqlite_vfs_gathered(&writes1, &bytes1);
    long long writes = (long long)(writes1 - writes0), frames = (long long)(bytes1 - bytes0) / 4120;
    if (writes < 20 || writes > 40 || frames < 20 * 20)
        CHECK_FAIL_("20 commits of 20 rows of 3 000 bytes: %lld frames in %lld gathered writes",
                    frames, writes);
    sqlite3_close(db);
}

int main(void)
{
    CHECK(mkdtemp(dir) != NULL);
    below_register(); /* before siyu's VFS finds the default to wrap */
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
        /* frames spilled inside a savepoint, then undone; only while checkpoints follow: on a
         * WAL that only grows, SQLite 3.40 itself (this VFS's gathering off) left a WAL whose
         * recovery stopped early after round 202's savepoint. siyu's connections do not spill
         * under a savepoint for that reason (store_sqlite.c, unit_store_sqlite_spill); this
         * connection is SQLite's own, made to spill. */
        if (round % 13 == 7 && round < 120)
            exec(w, "SAVEPOINT s; INSERT INTO t(k, b) SELECT k, randomblob(3000) FROM t LIMIT 40;"
                    " ROLLBACK TO s; RELEASE s");
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
    CHECK(barrier_checks >= 200);
    char one[300];
    snprintf(one, sizeof one, "%s/one.db", dir);
    test_gathered(one);
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
    for (int i = 0; i < 9; i++) {
        snprintf(f, sizeof f, "%s%s", i < 3 ? path : i < 6 ? two : one, suffix[i % 3]);
        unlink(f);
    }
    rmdir(dir);
    fprintf(stderr, "wal gather: %lld rows in %lld commits (%lld past 1 MiB), %lld rolled back\n",
            rows, 240 - undone, big, undone);
    return CHECK_DONE();
}
