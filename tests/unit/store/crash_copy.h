/* crash_copy.h — a store's database and WAL as a crash would leave them: both copied, no
 * -shm, so SQLite rebuilds the WAL index from the frames and stops at the first whose
 * checksum does not follow. For the tests of what recovery finds. */
#ifndef SIYU_TESTS_STORE_CRASH_COPY_H
#define SIYU_TESTS_STORE_CRASH_COPY_H

#include <sqlite3.h>
#include <stdio.h>
#include <unistd.h>

static inline int crash_copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    int rc = in && out ? 0 : -1;
    char buf[65536];
    size_t n;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) rc = -1;
    if (in) fclose(in);
    if (out && fclose(out) != 0) rc = -1;
    return rc;
}

/* dir/copy.db and its WAL, removed (with the -shm SQLite made) */
static inline void crash_copy_remove(const char *dir)
{
    const char *tails[] = {"", "-wal", "-shm"};
    char p[400];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/copy.db%s", dir, tails[i]);
        unlink(p);
    }
}

/* db_path and its WAL copied to dir/copy.db and opened read-only, or NULL */
static inline sqlite3 *crash_copy_open(const char *dir, const char *db_path)
{
    char wal[400], to[400], to_wal[400];
    crash_copy_remove(dir);
    snprintf(wal, sizeof wal, "%s-wal", db_path);
    snprintf(to, sizeof to, "%s/copy.db", dir);
    snprintf(to_wal, sizeof to_wal, "%s/copy.db-wal", dir);
    sqlite3 *db = NULL;
    if (crash_copy_file(db_path, to) || crash_copy_file(wal, to_wal) ||
        sqlite3_open_v2(to, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static inline void crash_copy_close(sqlite3 *db, const char *dir)
{
    sqlite3_close(db);
    crash_copy_remove(dir);
}

#endif
