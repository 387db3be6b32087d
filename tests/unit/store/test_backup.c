/* Unit tests for store/backup.h: a backup restores to the same store; restore refuses an
 * existing store without force, and files that are not a siyu store of a known schema;
 * a vacuum leaves no deleted byte in the store's files and a backup none in its copy —
 * even when the rows were deleted without SQLite's secure delete.
 *
 * SQLite-only by nature (its online backup API and its file's bytes), so it has no pg_
 * variant: a PostgreSQL store is copied with pg_dump -Fc and restored with pg_restore into an
 * empty database (docs/privacy.md), and its freed space is the server's VACUUM's. */
#include <check.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/backup.h"
#include "store/store.h"

#define SECRET "secret-brand-13911112222"

static int file_count(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    size_t got = fread(data, 1, (size_t)n, f);
    fclose(f);
    size_t k = strlen(needle);
    int hits = 0;
    for (size_t i = 0; i + k <= got; i++)
        hits += memcmp(data + i, needle, k) == 0;
    free(data);
    return hits;
}

static int store_files_count(const char *db, const char *needle)
{
    char p[300];
    int n = file_count(db, needle);
    snprintf(p, sizeof p, "%s-wal", db);
    n += file_count(p, needle);
    snprintf(p, sizeof p, "%s-shm", db);
    return n + file_count(p, needle);
}

static void sql(const char *db, const char *text)
{
    sqlite3 *s;
    CHECK_INT_EQ(sqlite3_open(db, &s), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(s, text, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", text, msg);
        CHECK(0);
    }
    sqlite3_free(msg);
    sqlite3_close(s);
}

static int brands(const char *db)
{
    store_t *st;
    siyu_err e;
    siyu_err_init(&e);
    store_options o = {.sync = STORE_SYNC_NORMAL};
    if (store_open(db, &o, &st, &e)) return -1;
    store_conn *c;
    store_conn_open(st, &c, &e);
    store_stmt *s = store_q(c, Q_BRAND_LIST);
    store_bind_int(s, 1, 0);
    store_bind_int(s, 2, 1000);
    int n = 0;
    while (store_step(s) == STORE_ROW)
        n++;
    store_conn_close(c);
    store_close(st);
    return n;
}

int main(void)
{
    char dir[] = "/tmp/siyu-backup-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char db[128], bak[128], restored[128], other[128];
    snprintf(db, sizeof db, "%s/s.db", dir);
    snprintf(bak, sizeof bak, "%s/s.bak", dir);
    snprintf(restored, sizeof restored, "%s/r.db", dir);
    snprintf(other, sizeof other, "%s/o.db", dir);
    siyu_err e;
    siyu_err_init(&e);
    store_t *st;
    store_options create = {.sync = STORE_SYNC_NORMAL, .create = true};
    CHECK_INT_EQ(store_open(db, &create, &st, &e), 0);
    int version = store_schema_version(st);
    store_close(st);

    /* 300 brands, then the secret one deleted by a connection without secure delete: its
     * bytes stay in the WAL and the pages until something rewrites them */
    sql(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)"
            " INSERT INTO brands(name, created_at) SELECT 'brand-' || i, 1 FROM n;"
            "INSERT INTO brands(name, created_at) VALUES ('" SECRET "', 1);");
    sql(db, "PRAGMA secure_delete=OFF; DELETE FROM brands WHERE name = '" SECRET "';");
    CHECK(store_files_count(db, SECRET) > 0);

    /* the backup is compacted: the deleted brand is not in it */
    store_backup_info info;
    CHECK_INT_EQ(store_backup(db, bak, &info, &e), 0);
    CHECK_INT_EQ(info.schema_version, version);
    CHECK(info.bytes > 0);
    CHECK_INT_EQ(file_count(bak, SECRET), 0);
    char partial[160];
    snprintf(partial, sizeof partial, "%s.partial", bak);
    CHECK(access(partial, F_OK) != 0);

    /* the vacuum takes it out of the store's own files */
    bool truncated = false;
    CHECK_INT_EQ(store_vacuum(db, &truncated, &e), 0);
    CHECK(truncated);
    CHECK_INT_EQ(store_files_count(db, SECRET), 0);
    CHECK_INT_EQ(brands(db), 300);

    /* restore: into a new path it works; over an existing store only with force */
    CHECK_INT_EQ(store_restore(bak, restored, false, &info, &e), 0);
    CHECK_INT_EQ(brands(restored), 300);
    siyu_err_clear(&e);
    CHECK_INT_EQ(store_restore(bak, restored, false, &info, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_CONFLICT);
    CHECK_STR_EQ(e.field, "db");
    siyu_err_clear(&e);
    sql(restored, "DELETE FROM brands WHERE id > 100");
    CHECK_INT_EQ(store_restore(bak, restored, true, &info, &e), 0);
    CHECK_INT_EQ(brands(restored), 300);

    /* not a siyu store: garbage, a plain SQLite file, a schema newer than this siyu */
    snprintf(other, sizeof other, "%s/junk", dir);
    FILE *f = fopen(other, "w");
    fputs("SQLite format 3 — but not really\n", f);
    fclose(f);
    char target[160];
    snprintf(target, sizeof target, "%s/never.db", dir);
    siyu_err_clear(&e);
    CHECK_INT_EQ(store_restore(other, target, false, &info, &e), -1);
    CHECK_STR_EQ(e.field, "from");
    snprintf(other, sizeof other, "%s/plain.db", dir);
    sql(other, "CREATE TABLE t(x)");
    siyu_err_clear(&e);
    CHECK_INT_EQ(store_restore(other, target, false, &info, &e), -1);
    CHECK(strstr(e.message, "not a siyu store") != NULL);
    char newer[160];
    snprintf(newer, sizeof newer, "%s/newer.db", dir);
    CHECK_INT_EQ(store_backup(db, newer, &info, &e), 0);
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", version + 1);
    sql(newer, pragma);
    siyu_err_clear(&e);
    CHECK_INT_EQ(store_restore(newer, target, false, &info, &e), -1);
    CHECK(strstr(e.message, "newer") != NULL);
    CHECK(access(target, F_OK) != 0);
    siyu_err_clear(&e);
    CHECK_INT_EQ(store_backup(other, bak, &info, &e), -1); /* backup checks its source too */
    CHECK_INT_EQ(file_count(bak, SECRET), 0);              /* and left the old copy alone */
    CHECK_INT_EQ(brands(bak) >= 0, 1);
    siyu_err_clear(&e);

    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT_EQ(system(cmd), 0);
    return CHECK_DONE();
}
