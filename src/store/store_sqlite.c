/* store_sqlite.c — the SQLite driver behind store.h.
 *
 * WAL mode so readers never block the writer; foreign keys on; every statement
 * prepared once per connection and cached by query name. Write transactions start
 * with BEGIN IMMEDIATE so two writers never deadlock upgrading a read lock; the busy
 * timeout makes concurrent writers queue instead of failing. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/sqlite_internal.h"
#include "store/store.h"

struct store {
    char *path;
    store_options opt;
    int schema_version;
    /* One writer at a time, queued here in order rather than in SQLite's busy
     * handler, which sleeps in growing steps (up to 100 ms) and wrecks tail latency. */
    pthread_mutex_t write_lock;
    /* fault injection: the fault_at-th counted step fails with fault_kind */
    atomic_long fault_at, fault_seen, fault_hits;
    int fault_kind;
};

struct store_stmt {
    sqlite3_stmt *st;
    store_conn *conn;
};

struct store_conn {
    store_t *store;
    sqlite3 *db;
    bool holds_write_lock;
    store_stmt stmts[Q__COUNT];
    /* savepoints run once per imported record: prepared once, not parsed each time */
    sqlite3_stmt *sp_begin, *sp_release, *sp_undo;
    int failed; /* the sticky error's SQLite code, 0 when none */
    char fail_msg[200];
};

/* Resets every statement still running: one left un-reset after reading the row it
 * wanted keeps its read snapshot past COMMIT, and the next BEGIN IMMEDIATE on the
 * connection then fails with "database is locked" (SQLITE_BUSY_SNAPSHOT) for as long
 * as any other connection has written since — no busy timeout ever ends it. */
static void reset_running(sqlite3 *db)
{
    for (sqlite3_stmt *p = sqlite3_next_stmt(db, NULL); p; p = sqlite3_next_stmt(db, p))
        if (sqlite3_stmt_busy(p)) sqlite3_reset(p);
}

static void stick(store_conn *c, int rc, const char *msg)
{
    if (c->failed) return;
    c->failed = rc ? rc : SQLITE_ERROR;
    snprintf(c->fail_msg, sizeof c->fail_msg, "%s", msg && *msg ? msg : sqlite3_errstr(rc));
}

/* Counts one step against an injected fault; returns the SQLite code to fail with. */
static int fault_due(store_t *st)
{
    long at = atomic_load(&st->fault_at);
    if (at <= 0) return 0;
    if (atomic_fetch_add(&st->fault_seen, 1) + 1 != at) return 0;
    atomic_fetch_add(&st->fault_hits, 1);
    return st->fault_kind == STORE_FAULT_BUSY ? SQLITE_BUSY : SQLITE_IOERR;
}

static int run_prepared(sqlite3 *db, sqlite3_stmt **st, const char *sql)
{
    if (!*st && sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(*st);
    sqlite3_reset(*st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int open_db(store_t *st, sqlite3 **out, siyu_err *e)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (st->opt.create ? SQLITE_OPEN_CREATE : 0);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(st->path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        siyu_err_set(e, SIYU_INTERNAL, "db", "db: cannot open %s: %s", st->path,
                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return -1;
    }
    /* another process holding the write lock (the CLI while siyu serve runs) is waited
     * for, up to SIYU_BUSY_TIMEOUT_MS (default 10 s) */
    const char *busy = getenv("SIYU_BUSY_TIMEOUT_MS");
    sqlite3_busy_timeout(db, busy && atoi(busy) > 0 ? atoi(busy) : 10000);
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             /* a small page cache per connection (there is one per worker thread); the
              * writer asks for a larger one (store_conn_cache). mmap was measured: it
              * halves write throughput, so reads go through the OS cache instead. */
             "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=%s;"
             " PRAGMA cache_size=-8192; PRAGMA temp_store=MEMORY;",
             st->opt.sync == STORE_SYNC_FULL ? "FULL" : "NORMAL");
    char *msg = NULL;
    if (sqlite3_exec(db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
        siyu_err_set(e, SIYU_INTERNAL, "db", "db: %s: %s", st->path, msg ? msg : "pragma failed");
        sqlite3_free(msg);
        sqlite3_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

static int read_version(sqlite3 *db)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int migrate(sqlite3 *db, siyu_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
        goto fail;
    int v = read_version(db); /* re-read under the lock: another process may have migrated */
    for (int i = v; i < sqlite_migration_count; i++) {
        if (sqlite3_exec(db, sqlite_migrations[i], NULL, NULL, &msg) != SQLITE_OK)
            goto fail;
    }
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", sqlite_migration_count);
    if (v < sqlite_migration_count && sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        goto fail;
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
        goto fail;
    return 0;
fail:
    siyu_err_set(e, SIYU_INTERNAL, "db", "db: migration failed: %s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* SQLite counts every allocation under a global mutex unless told not to; siyu
 * never reads those counts, and the mutex showed up in every write's profile. */
static void configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_initialize();
}

int store_open(const char *url, const store_options *opt, store_t **out, siyu_err *e)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure_sqlite);
    *out = NULL;
    if (!url || !*url)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "db", "db: no path given (--db or SIYU_DB)");
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "db",
                            "db: the PostgreSQL store is not available in this build");
    store_t *st = calloc(1, sizeof *st);
    st->path = strdup(url);
    st->opt = *opt;
    pthread_mutex_init(&st->write_lock, NULL);
    const char *fault = getenv("SIYU_STORE_FAULT");
    if (fault && *fault)
        store_fault_set(st, atol(fault),
                        strstr(fault, ":busy") ? STORE_FAULT_BUSY : STORE_FAULT_IOERR);
    sqlite3 *db;
    if (open_db(st, &db, e)) {
        store_close(st);
        return -1;
    }
    int v = read_version(db);
    if (st->opt.create && v < sqlite_migration_count) {
        if (migrate(db, e)) {
            sqlite3_close(db);
            store_close(st);
            return -1;
        }
        v = read_version(db);
    }
    sqlite3_close(db);
    if (v < sqlite_migration_count) {
        store_close(st);
        if (v > 0)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "db",
                                "db: %s has schema version %d, older than this siyu's %d "
                                "(run siyu init --db %s to migrate it)",
                                url, v, sqlite_migration_count, url);
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "db",
                            "db: %s is not an initialised siyu store (run siyu init --db %s)", url,
                            url);
    }
    if (v > sqlite_migration_count) {
        store_close(st);
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "db",
                            "db: schema version %d is newer than this siyu (%d)", v,
                            sqlite_migration_count);
    }
    st->schema_version = v;
    *out = st;
    return 0;
}

void store_close(store_t *st)
{
    if (!st)
        return;
    pthread_mutex_destroy(&st->write_lock);
    free(st->path);
    free(st);
}

int store_schema_version(store_t *st)
{
    return st->schema_version;
}

int store_conn_open(store_t *st, store_conn **out, siyu_err *e)
{
    store_conn *c = calloc(1, sizeof *c);
    c->store = st;
    if (open_db(st, &c->db, e)) {
        free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void store_conn_cache(store_conn *c, int mib)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d", mib * 1024);
    sqlite3_exec(c->db, sql, NULL, NULL, NULL);
}

void store_conn_close(store_conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < Q__COUNT; i++)
        sqlite3_finalize(c->stmts[i].st);
    sqlite3_finalize(c->sp_begin);
    sqlite3_finalize(c->sp_release);
    sqlite3_finalize(c->sp_undo);
    sqlite3_close(c->db);
    free(c);
}

static void release_write_lock(store_conn *c)
{
    if (c->holds_write_lock) {
        c->holds_write_lock = false;
        pthread_mutex_unlock(&c->store->write_lock);
    }
}

int store_begin(store_conn *c, bool write, siyu_err *e)
{
    char *msg = NULL;
    store_conn_clear(c); /* a new transaction starts clean */
    reset_running(c->db);
    if (write) {
        pthread_mutex_lock(&c->store->write_lock);
        c->holds_write_lock = true;
    }
    if (sqlite3_exec(c->db, write ? "BEGIN IMMEDIATE" : "BEGIN", NULL, NULL, &msg) != SQLITE_OK) {
        siyu_err_set(e, SIYU_INTERNAL, NULL, "store: begin: %s", msg ? msg : "failed");
        sqlite3_free(msg);
        release_write_lock(c);
        return -1;
    }
    return 0;
}

int store_commit(store_conn *c, siyu_err *e)
{
    char *msg = NULL;
    if (c->failed) { /* an earlier step failed: what was read or written is not whole */
        siyu_err_set(e, SIYU_INTERNAL, NULL, "store: %s", c->fail_msg);
        store_rollback(c);
        return -1;
    }
    reset_running(c->db);
    int frc = fault_due(c->store);
    if (frc) {
        stick(c, frc, "disk I/O error (injected at commit)");
        siyu_err_set(e, SIYU_INTERNAL, NULL, "store: commit: %s", c->fail_msg);
        store_rollback(c);
        return -1;
    }
    if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
        siyu_err_set(e, SIYU_INTERNAL, NULL, "store: commit: %s", msg ? msg : "failed");
        sqlite3_free(msg);
        store_rollback(c);
        return -1;
    }
    release_write_lock(c);
    return 0;
}

void store_rollback(store_conn *c)
{
    reset_running(c->db);
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    release_write_lock(c);
}

bool store_in_tx(store_conn *c)
{
    return !sqlite3_get_autocommit(c->db);
}

int store_savepoint(store_conn *c, siyu_err *e)
{
    if (c->failed) return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: %s", c->fail_msg);
    if (run_prepared(c->db, &c->sp_begin, "SAVEPOINT rec"))
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: savepoint: %s", sqlite3_errmsg(c->db));
    return 0;
}

void store_savepoint_release(store_conn *c)
{
    run_prepared(c->db, &c->sp_release, "RELEASE rec");
}

void store_savepoint_undo(store_conn *c)
{
    reset_running(c->db);
    run_prepared(c->db, &c->sp_undo, "ROLLBACK TO rec");
    run_prepared(c->db, &c->sp_release, "RELEASE rec");
    /* A failed step keeps sticking after its savepoint is undone: an I/O error or a
     * locked store fails the whole transaction (the commit refuses), so it is retried
     * whole rather than taken for one record's or one step's own failure. */
}

void store_reset(store_stmt *s)
{
    sqlite3_reset(s->st);
}

store_stmt *store_q(store_conn *c, store_query q)
{
    store_stmt *s = &c->stmts[q];
    if (!s->st) {
        if (sqlite3_prepare_v3(c->db, sqlite_queries[q], -1, SQLITE_PREPARE_PERSISTENT, &s->st,
                               NULL) != SQLITE_OK) {
            /* A query text that does not prepare is a programming error, caught by tests. */
            fprintf(stderr, "siyu: store: cannot prepare query %d: %s\n", (int)q,
                    sqlite3_errmsg(c->db));
            abort();
        }
        s->conn = c;
    } else {
        sqlite3_reset(s->st);
        sqlite3_clear_bindings(s->st);
    }
    return s;
}

void store_bind_int(store_stmt *s, int i, int64_t v)
{
    sqlite3_bind_int64(s->st, i, v);
}

void store_bind_text(store_stmt *s, int i, const char *v)
{
    /* SQLITE_STATIC: no copy. Callers bind just before stepping, while the text lives. */
    if (v)
        sqlite3_bind_text(s->st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s->st, i);
}

void store_bind_blob(store_stmt *s, int i, const void *v, int n)
{
    sqlite3_bind_blob(s->st, i, v, n, SQLITE_STATIC);
}

void store_bind_real(store_stmt *s, int i, double v)
{
    sqlite3_bind_double(s->st, i, v);
}

double store_col_real(store_stmt *s, int i)
{
    return sqlite3_column_double(s->st, i);
}

void store_bind_null(store_stmt *s, int i)
{
    sqlite3_bind_null(s->st, i);
}

store_step_rc store_step(store_stmt *s)
{
    store_conn *c = s->conn;
    if (c->failed) { /* fail fast: the request or transaction is already lost */
        sqlite3_reset(s->st);
        return STORE_ERROR;
    }
    int frc = fault_due(c->store);
    if (frc) {
        sqlite3_reset(s->st);
        stick(c, frc,
              frc == SQLITE_BUSY ? "database is locked (injected)" : "disk I/O error (injected)");
        return STORE_ERROR;
    }
    int rc = sqlite3_step(s->st);
    if (rc == SQLITE_ROW)
        return STORE_ROW;
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s->st); /* release read locks at once */
        return STORE_DONE;
    }
    rc = sqlite3_reset(s->st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) return STORE_CONSTRAINT;
    stick(c, rc, sqlite3_errmsg(c->db));
    return STORE_ERROR;
}

int store_exec(store_stmt *s, siyu_err *e)
{
    store_step_rc rc = store_step(s);
    if (rc == STORE_DONE || rc == STORE_ROW) {
        sqlite3_reset(s->st);
        return 0;
    }
    if (rc == STORE_CONSTRAINT)
        return siyu_err_set(e, SIYU_CONFLICT, NULL, "store: %s", sqlite3_errmsg(s->conn->db));
    return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: %s", s->conn->fail_msg);
}

bool store_conn_failed(store_conn *c)
{
    return c && c->failed != 0;
}

const char *store_conn_error(store_conn *c)
{
    return c && c->failed ? c->fail_msg : "";
}

int store_conn_check(store_conn *c, siyu_err *e)
{
    if (!store_conn_failed(c)) return 0;
    /* the first error wins: a refusal set before the store failed is replaced */
    siyu_err_clear(e);
    return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: %s", c->fail_msg);
}

void store_conn_clear(store_conn *c)
{
    c->failed = 0;
    c->fail_msg[0] = 0;
}

void store_fault_set(store_t *st, long n, store_fault kind)
{
    st->fault_kind = kind;
    atomic_store(&st->fault_seen, 0);
    atomic_store(&st->fault_at, n > 0 ? n : 0);
}

long store_fault_hits(store_t *st)
{
    return atomic_load(&st->fault_hits);
}

int64_t store_col_int(store_stmt *s, int i)
{
    return sqlite3_column_int64(s->st, i);
}

const char *store_col_text(store_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s->st, i);
}

const void *store_col_blob(store_stmt *s, int i, int *n)
{
    *n = sqlite3_column_bytes(s->st, i);
    return sqlite3_column_blob(s->st, i);
}

bool store_col_null(store_stmt *s, int i)
{
    return sqlite3_column_type(s->st, i) == SQLITE_NULL;
}

int64_t store_last_id(store_conn *c)
{
    return sqlite3_last_insert_rowid(c->db);
}

int store_changes(store_conn *c)
{
    return sqlite3_changes(c->db);
}

const char *store_errmsg(store_conn *c)
{
    return sqlite3_errmsg(c->db);
}

store_conn *store_stmt_conn(store_stmt *s)
{
    return s->conn;
}

int64_t store_size_bytes(store_t *st)
{
    struct stat sb;
    int64_t total = 0;
    char wal[4096];
    if (stat(st->path, &sb) == 0)
        total += sb.st_size;
    snprintf(wal, sizeof wal, "%s-wal", st->path);
    if (stat(wal, &sb) == 0)
        total += sb.st_size;
    return total;
}

const char *store_path(store_t *st)
{
    return st->path;
}

int store_col_count(store_stmt *s)
{
    return sqlite3_column_count(s->st);
}

const char *store_col_name(store_stmt *s, int i)
{
    return sqlite3_column_name(s->st, i);
}

store_col_kind store_col_type(store_stmt *s, int i)
{
    switch (sqlite3_column_type(s->st, i)) {
    case SQLITE_INTEGER:
        return STORE_COL_INT;
    case SQLITE_FLOAT:
        return STORE_COL_REAL;
    case SQLITE_TEXT:
        return STORE_COL_TEXT;
    case SQLITE_BLOB:
        return STORE_COL_BLOB;
    default:
        return STORE_COL_NULL;
    }
}
