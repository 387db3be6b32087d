/* sqlite_backup.c — backup, restore and vacuum for the SQLite store (backup.h). */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/backup.h"
#include "store/sqlite_internal.h"
#include "store/store_driver.h"

/* A PostgreSQL store has its own tools (pg_dump, pg_restore, VACUUM FULL). */
static int not_on_pg(const char *db, const char *what, siyu_err *e)
{
    return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "db",
                        "db: %s is for a SQLite store; on PostgreSQL use %s (docs/privacy.md)",
                        what,
                        strcmp(what, "siyu vacuum") == 0   ? "VACUUM FULL"
                        : strcmp(what, "siyu backup") == 0 ? "pg_dump"
                                                           : "pg_restore");
}

static int fail(siyu_err *e, siyu_code code, sqlite3 *db, const char *what, const char *path)
{
    return siyu_err_set(e, code, "db", "%s %s: %s", what, path,
                        db ? sqlite3_errmsg(db) : "cannot open");
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int int_query(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *s;
    int rc = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
        *out = sqlite3_column_int(s, 0);
        rc = 0;
    }
    sqlite3_finalize(s);
    return rc;
}

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static int64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

static int fsync_path(const char *path, bool dir)
{
    int fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static void parent_dir(const char *path, char *buf, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(buf, cap, ".");
    else if (slash == path)
        snprintf(buf, cap, "/");
    else
        snprintf(buf, cap, "%.*s", (int)(slash - path), path);
}

/* The canonical name of path, which need not exist (its directory must): the directory
 * resolved, the last component kept. False when the directory cannot be resolved. */
static bool canonical(const char *path, char *buf, size_t cap)
{
    char dir[4096], *real;
    parent_dir(path, dir, sizeof dir);
    const char *slash = strrchr(path, '/');
    if (!(real = realpath(dir, NULL))) return false;
    int n =
        snprintf(buf, cap, "%s/%s", strcmp(real, "/") == 0 ? "" : real, slash ? slash + 1 : path);
    free(real);
    return n > 0 && (size_t)n < cap;
}

/* Whether writing path would write over the store db or one of its companion files (its
 * WAL, shared memory or rollback journal), however either is spelled; a path that cannot
 * be resolved counts as one, so nothing is written on a guess. */
static bool names_store(const char *path, const char *db)
{
    char a[4200], b[4200], with[4300];
    if (!canonical(path, a, sizeof a) || !canonical(db, b, sizeof b)) return true;
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        snprintf(with, sizeof with, "%s%s", b, suffixes[i]);
        if (strcmp(a, with) == 0) return true;
    }
    struct stat sa, sb; /* the same file by another name (a hard or symbolic link) */
    return stat(path, &sa) == 0 && stat(db, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Checks db holds a siyu store of a schema this siyu knows; answers its version. */
static int check_siyu_store(sqlite3 *db, const char *path, int *version, siyu_err *e)
{
    int ok_tables = 0, v = -1;
    if (int_query(db, "PRAGMA user_version", &v) ||
        int_query(db,
                  "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
                  " ('members', 'identities', 'orders', 'order_items', 'refunds', 'events')",
                  &ok_tables))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "from", "from: %s is not a SQLite database",
                            path);
    if (ok_tables != 6 || v < 1)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "from", "from: %s is not a siyu store", path);
    if (v > sqlite_migration_count)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "from",
                            "from: %s has schema version %d, newer than this siyu (%d)", path, v,
                            sqlite_migration_count);
    *version = v;
    return 0;
}

/* One backup step copying everything; retried while the source is briefly busy. */
static int copy_all(sqlite3 *dst, sqlite3 *src, siyu_err *e, const char *what)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) return siyu_err_set(e, SIYU_INTERNAL, "db", "%s: %s", what, sqlite3_errmsg(dst));
    int rc;
    for (int tries = 0;; tries++) {
        rc = sqlite3_backup_step(b, -1);
        if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || tries >= 200) break;
        sqlite3_sleep(50);
    }
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE)
        return siyu_err_set(e, SIYU_INTERNAL, "db", "%s: %s", what, sqlite3_errstr(rc));
    return 0;
}

int store_backup(const char *db, const char *out, store_backup_info *info, siyu_err *e)
{
    memset(info, 0, sizeof *info);
    if (!out || !*out)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "out", "out: no file given (--out FILE)");
    if (store_url_is_pg(db)) return not_on_pg(db, "siyu backup", e);
    if (!file_exists(db))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "db", "db: %s does not exist", db);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.partial", out);
    if (names_store(out, db) || names_store(tmp, db))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "out",
                            "out: %s is the store itself (or its WAL); a backup goes elsewhere",
                            out);
    unlink(tmp);
    sqlite3 *src = NULL, *dst = NULL;
    int rc = -1;
    if (sqlite3_open_v2(db, &src, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fail(e, SIYU_INVALID_ARGUMENT, src, "db: cannot open", db);
        goto done;
    }
    sqlite3_busy_timeout(src, 10000);
    if (check_siyu_store(src, db, &info->schema_version, e)) {
        snprintf(e->field, sizeof e->field, "db");
        goto done;
    }
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        fail(e, SIYU_INVALID_ARGUMENT, dst, "out: cannot create", tmp);
        goto done;
    }
    info->at = (int64_t)time(NULL);
    if (copy_all(dst, src, e, "backup")) goto done;
    /* one self-contained file, compacted: no free page keeps old (erased) bytes */
    if (exec(dst, "PRAGMA journal_mode=DELETE") || exec(dst, "PRAGMA secure_delete=ON") ||
        exec(dst, "VACUUM")) {
        fail(e, SIYU_INTERNAL, dst, "backup: cannot compact", tmp);
        goto done;
    }
    sqlite3_close(dst);
    dst = NULL;
    char dir[4096];
    parent_dir(out, dir, sizeof dir);
    if (fsync_path(tmp, false) || rename(tmp, out) || fsync_path(dir, true)) {
        siyu_err_set(e, SIYU_INTERNAL, "out", "out: cannot write %s: %s", out, strerror(errno));
        goto done;
    }
    info->bytes = file_size(out);
    rc = 0;
done:
    sqlite3_close(dst);
    sqlite3_close(src);
    if (rc) unlink(tmp);
    return rc;
}

int store_restore(const char *from, const char *db, bool force, store_backup_info *info,
                  siyu_err *e)
{
    memset(info, 0, sizeof *info);
    if (!from || !*from)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "from", "from: no file given (--from FILE)");
    if (store_url_is_pg(db)) return not_on_pg(db, "siyu restore", e);
    if (!file_exists(from))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "from", "from: %s does not exist", from);
    if (names_store(from, db))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "from",
                            "from: %s is the store being restored into (or its WAL)", from);
    char wal[4096];
    snprintf(wal, sizeof wal, "%s-wal", db);
    if (!force && (file_exists(db) || file_exists(wal)))
        return siyu_err_set(e, SIYU_CONFLICT, "db",
                            "db: %s already exists; restoring would replace it (--force to do so)",
                            db);
    sqlite3 *src = NULL, *dst = NULL;
    int rc = -1;
    if (sqlite3_open_v2(from, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fail(e, SIYU_INVALID_ARGUMENT, src, "from: cannot open", from);
        goto done;
    }
    char *ok = NULL;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(src, "PRAGMA quick_check", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        ok = strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    bool sound = ok && strcmp(ok, "ok") == 0;
    free(ok);
    if (!sound) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "from",
                     "from: %s is not a sound SQLite database (quick_check failed)", from);
        goto done;
    }
    if (check_siyu_store(src, from, &info->schema_version, e)) goto done;
    if (sqlite3_open_v2(db, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        fail(e, SIYU_INVALID_ARGUMENT, dst, "db: cannot open", db);
        goto done;
    }
    sqlite3_busy_timeout(dst, 10000);
    if (copy_all(dst, src, e, "restore")) goto done;
    if (exec(dst, "PRAGMA journal_mode=WAL")) {
        fail(e, SIYU_INTERNAL, dst, "restore: cannot set WAL mode on", db);
        goto done;
    }
    info->bytes = file_size(db);
    rc = 0;
done:
    sqlite3_close(dst);
    sqlite3_close(src);
    return rc;
}

int store_vacuum(const char *db, bool *wal_truncated, siyu_err *e)
{
    *wal_truncated = false;
    if (store_url_is_pg(db)) return not_on_pg(db, "siyu vacuum", e);
    if (!file_exists(db))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "db", "db: %s does not exist", db);
    sqlite3 *c = NULL;
    int rc = -1, v;
    if (sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fail(e, SIYU_INVALID_ARGUMENT, c, "db: cannot open", db);
        goto done;
    }
    sqlite3_busy_timeout(c, 30000);
    if (check_siyu_store(c, db, &v, e)) {
        snprintf(e->field, sizeof e->field, "db");
        goto done;
    }
    if (exec(c, "PRAGMA secure_delete=ON") || exec(c, "VACUUM")) {
        fail(e, SIYU_INTERNAL, c, "vacuum:", db);
        goto done;
    }
    /* the WAL still holds the pages as they were before: checkpoint and truncate it */
    for (int tries = 0; tries < 100 && !*wal_truncated; tries++) {
        int busy = 1;
        if (int_query(c, "PRAGMA wal_checkpoint(TRUNCATE)", &busy) == 0 && busy == 0)
            *wal_truncated = true;
        else
            sqlite3_sleep(100);
    }
    rc = 0;
done:
    sqlite3_close(c);
    return rc;
}
