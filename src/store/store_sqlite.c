/* store_sqlite.c — the SQLite driver behind store.h (the default: a file path).
 *
 * WAL mode so readers never block the writer; foreign keys on; every statement
 * prepared once per connection and cached by query name. Write transactions start
 * with BEGIN IMMEDIATE so two writers never deadlock upgrading a read lock; the busy
 * timeout makes concurrent writers queue instead of failing. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/metric.h"
#include "base/timeutil.h"

#include "store/sqlite_internal.h"
#include "store/store_driver.h"

typedef struct sq_store {
    store_t base;
    char *path;
    store_options opt;
    int schema_version;
    /* One writer at a time, queued here in order rather than in SQLite's busy
     * handler, which sleeps in growing steps (up to 100 ms) and wrecks tail latency. */
    pthread_mutex_t write_lock;
    /* The checkpointer (sq_conn_writer): copies the WAL into the database on a thread of
     * its own, so the group committer's commits do not carry SQLite's automatic
     * checkpoint. */
    pthread_mutex_t ckpt_lock;
    pthread_cond_t ckpt_cond;
    pthread_t ckpt_thread;
    bool ckpt_started, ckpt_want, ckpt_stop;
    /* The WAL opened once more, for store_sync_now's fdatasync (-1 until the first): the group
     * committer's connection commits without syncing and the committer syncs this after
     * (sq_conn_defer_sync). */
    pthread_mutex_t sync_lock;
    int wal_fd;
    /* The WAL's and its directory's names as SQLite resolved them (sq_conn_defer_sync):
     * SQLite follows a symbolic link to the database, and keeps the WAL beside the file
     * the link points to, not beside the link. */
    char *wal_path, *wal_dir;
} sq_store;

typedef struct sq_stmt {
    store_stmt base;
    sqlite3_stmt *st;
    struct sq_conn *conn;
} sq_stmt;

typedef struct sq_conn {
    store_conn base;
    sq_store *store;
    sqlite3 *db;
    bool holds_write_lock;
    sq_stmt stmts[Q__COUNT];
    /* savepoints run once per imported record: prepared once, not parsed each time */
    sqlite3_stmt *sp_begin, *sp_release, *sp_undo;
    /* and transactions once per request or batch: sqlite3_exec parsed each anew, and its
     * parser's allocation consolidated malloc's heap on every commit */
    sqlite3_stmt *tx_begin, *tx_begin_write, *tx_commit, *tx_rollback;
    bool no_spill; /* from a transaction's first savepoint to its end nothing spills */
    /* pages spilled when the transaction began, and whether a statement failed on a
     * constraint (SQLite undoes it alone) outside any savepoint after some spilled */
    int spilled_at_begin;
    bool undone_after_spill;
    int64_t data_version; /* PRAGMA data_version when last asked; -1: never asked */
} sq_conn;

/* Resets every statement still running: one left un-reset after reading the row it
 * wanted keeps its read snapshot past COMMIT, and the next BEGIN IMMEDIATE on the
 * connection then fails with "database is locked" (SQLITE_BUSY_SNAPSHOT) for as long
 * as any other connection has written since — no busy timeout ever ends it. */
static void reset_running(sqlite3 *db)
{
    for (sqlite3_stmt *p = sqlite3_next_stmt(db, NULL); p; p = sqlite3_next_stmt(db, p))
        if (sqlite3_stmt_busy(p)) sqlite3_reset(p);
}

/* Steps a statement prepared once (on first use) and resets it: 0 when it ran to the end.
 * On failure SQLite's message goes to msg (cap bytes) when msg is given. */
static int run_prepared_msg(sqlite3 *db, sqlite3_stmt **st, const char *sql, char *msg, size_t cap)
{
    int rc = SQLITE_ERROR;
    if (*st || sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK)
        rc = sqlite3_step(*st);
    if (rc != SQLITE_DONE && msg) snprintf(msg, cap, "%s", sqlite3_errmsg(db));
    if (*st) sqlite3_reset(*st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int run_prepared(sqlite3 *db, sqlite3_stmt **st, const char *sql)
{
    return run_prepared_msg(db, st, sql, NULL, 0);
}

static int open_db(sq_store *st, sqlite3 **out, siyu_err *e)
{
    int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (st->opt.create ? SQLITE_OPEN_CREATE : 0);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(st->path, &db, flags, sqlite_timed_vfs());
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
             /* a small page cache per connection (one per request at once: --threads); the
              * writer asks for a larger one (store_conn_cache). mmap was measured: it
              * halved write throughput at first; again on 2026-12-06, mapping 1 GiB cut
              * a GET /members/{id}'s server CPU by 17% but raised a POST /orders' by 20%
              * (by 23% with the writer's connection unmapped), so reads go through the
              * OS cache instead. */
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
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) goto fail;
    int v = read_version(db); /* re-read under the lock: another process may have migrated */
    for (int i = v; i < sqlite_migration_count; i++) {
        if (sqlite3_exec(db, sqlite_migrations[i], NULL, NULL, &msg) != SQLITE_OK) goto fail;
    }
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", sqlite_migration_count);
    if (v < sqlite_migration_count && sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        goto fail;
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) goto fail;
    return 0;
fail:
    siyu_err_set(e, SIYU_INTERNAL, "db", "db: migration failed: %s",
                 msg ? msg : sqlite3_errmsg(db));
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

static void sq_close(store_t *st_);
static void sq_rollback(store_conn *c_);

static int sq_open(const char *url, const store_options *opt, store_t **out, siyu_err *e)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure_sqlite);
    *out = NULL;
    sq_store *st = calloc(1, sizeof *st);
    st->base.drv = &store_sqlite_driver;
    st->path = strdup(url);
    st->opt = *opt;
    pthread_mutex_init(&st->write_lock, NULL);
    pthread_mutex_init(&st->ckpt_lock, NULL);
    pthread_cond_init(&st->ckpt_cond, NULL);
    pthread_mutex_init(&st->sync_lock, NULL);
    st->wal_fd = -1;
    sqlite3 *db;
    if (open_db(st, &db, e)) {
        sq_close(&st->base);
        return -1;
    }
    int v = read_version(db);
    if (st->opt.create && v < sqlite_migration_count) {
        if (migrate(db, e)) {
            sqlite3_close(db);
            sq_close(&st->base);
            return -1;
        }
        v = read_version(db);
    }
    sqlite3_close(db);
    if (v < sqlite_migration_count) {
        sq_close(&st->base);
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
        sq_close(&st->base);
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "db",
                            "db: schema version %d is newer than this siyu (%d)", v,
                            sqlite_migration_count);
    }
    st->schema_version = v;
    *out = &st->base;
    return 0;
}

static void sq_close(store_t *st_)
{
    sq_store *st = (sq_store *)st_;
    if (st->ckpt_started) {
        pthread_mutex_lock(&st->ckpt_lock);
        st->ckpt_stop = true;
        pthread_cond_signal(&st->ckpt_cond);
        pthread_mutex_unlock(&st->ckpt_lock);
        pthread_join(st->ckpt_thread, NULL);
    }
    pthread_mutex_destroy(&st->ckpt_lock);
    pthread_cond_destroy(&st->ckpt_cond);
    if (st->wal_fd >= 0) close(st->wal_fd);
    free(st->wal_path);
    free(st->wal_dir);
    pthread_mutex_destroy(&st->sync_lock);
    pthread_mutex_destroy(&st->write_lock);
    free(st->path);
    free(st);
}

static int sq_schema_version(store_t *st_)
{
    sq_store *st = (sq_store *)st_;
    return st->schema_version;
}

static int sq_conn_open(store_t *st_, store_conn **out, siyu_err *e)
{
    sq_store *st = (sq_store *)st_;
    sq_conn *c = calloc(1, sizeof *c);
    c->base.drv = &store_sqlite_driver;
    c->base.st = &st->base;
    c->store = st;
    c->data_version = -1;
    if (open_db(st, &c->db, e)) {
        free(c);
        return -1;
    }
    *out = &c->base;
    return 0;
}

static void sq_conn_cache(store_conn *c_, int mib)
{
    sq_conn *c = (sq_conn *)c_;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d", mib * 1024);
    sqlite3_exec(c->db, sql, NULL, NULL, NULL);
}

static bool sq_conn_others_wrote(store_conn *c_)
{
    sq_conn *c = (sq_conn *)c_;
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(c->db, "PRAGMA data_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    bool changed = v < 0 || c->data_version < 0 || v != c->data_version;
    c->data_version = v;
    return changed;
}

/* ---- The checkpointer ----
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past 1 000
 * pages: under POST /orders it was a fifth of the group committer's time, and the batch
 * behind it waited. With SIYU_CHECKPOINTER=on the committer's connection turns it off; a
 * WAL hook wakes a thread that runs passive checkpoints on a connection of its own while
 * the committer goes on.
 *
 * A passive checkpoint alone never lets the WAL start over: SQLite rewinds it only when a
 * writer begins while every frame has been copied, and the committer keeps appending. So
 * past WAL_CKPT_INLINE pages the committer copies what is left itself, after its commit
 * (the tail since the last background checkpoint, a few pages), and its next transaction
 * rewinds the WAL. */
enum { WAL_CKPT_BACKGROUND = 1000, WAL_CKPT_INLINE = 8000 };

static void *checkpointer_main(void *arg)
{
    sq_store *st = arg;
    pthread_setname_np(pthread_self(), "siyu-checkpoint");
    siyu_err e;
    siyu_err_init(&e);
    sqlite3 *db = NULL;
    if (open_db(st, &db, &e)) {
        fprintf(stderr, "siyu: checkpointer: %s\n", e.message);
        db = NULL;
    }
    pthread_mutex_lock(&st->ckpt_lock);
    for (;;) {
        while (!st->ckpt_want && !st->ckpt_stop)
            pthread_cond_wait(&st->ckpt_cond, &st->ckpt_lock);
        if (st->ckpt_stop) break;
        st->ckpt_want = false;
        pthread_mutex_unlock(&st->ckpt_lock);
        /* busy (the committer copying the tail itself) is not a failure: it is copied */
        if (db) sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&st->ckpt_lock);
    }
    pthread_mutex_unlock(&st->ckpt_lock);
    if (db) sqlite3_close(db);
    return NULL;
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    sq_store *st = arg;
    if (pages >= WAL_CKPT_INLINE) {
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    } else if (pages >= WAL_CKPT_BACKGROUND) {
        pthread_mutex_lock(&st->ckpt_lock);
        st->ckpt_want = true;
        pthread_cond_signal(&st->ckpt_cond);
        pthread_mutex_unlock(&st->ckpt_lock);
    }
    return SQLITE_OK;
}

static void sq_conn_writer(store_conn *c_)
{
    sq_conn *c = (sq_conn *)c_;
    sq_store *st = c->store;
    /* Opt-in (SIYU_CHECKPOINTER=on): under POST /orders it lowered the p99 (16.5 – 18.8 ms
     * against 20.9 – 23.4) but under QR scans it cost a tenth of the throughput and pushed
     * the p99 to the 5 ms goal's edge (bench/README.md) — a second thread syncing the same
     * disk. SQLite's automatic checkpoint stays the default. */
    const char *on = getenv("SIYU_CHECKPOINTER");
    if (!on || strcmp(on, "on") != 0) return;
    pthread_mutex_lock(&st->ckpt_lock);
    if (!st->ckpt_started && pthread_create(&st->ckpt_thread, NULL, checkpointer_main, st) == 0)
        st->ckpt_started = true;
    pthread_mutex_unlock(&st->ckpt_lock);
    if (!st->ckpt_started) return;         /* no thread: the automatic checkpoint stays */
    sqlite3_wal_hook(c->db, wal_hook, st); /* replaces the automatic checkpoint's own hook */
}

/* ---- Commits synced after, not inside ----
 *
 * Under synchronous=FULL, SQLite syncs the WAL inside every COMMIT, and the group
 * committer waits for the disk (1.5 ms a batch of orders here) before it can run the next
 * batch. Asked to defer (the committer asks unless SIYU_DEFER_SYNC=off), its connection
 * commits with synchronous=NORMAL instead, and the committer syncs each committed batch
 * itself or hands it to a thread, with store_sync_now: one fdatasync of the WAL, through a
 * descriptor of its own (on Linux it syncs the file, whichever descriptor wrote), makes
 * every commit before it durable; only then are the batch's writers answered. NORMAL is
 * SQLite's own crash-safe mode (a commit not yet synced can be lost to a power cut, never
 * torn), so a write answered 2xx is as durable as under FULL. What differs: another reader
 * may see a commit up to one fdatasync before its writer is answered. */
/* Notes the WAL's name for sq_sync, from the path SQLite itself resolved (symbolic links
 * followed, made absolute), on c's own thread: sq_sync runs on another. */
static void note_wal_path(sq_conn *c)
{
    sq_store *st = c->store;
    pthread_mutex_lock(&st->sync_lock);
    const char *db = sqlite3_db_filename(c->db, "main");
    if (!st->wal_path && db && *db) {
        st->wal_path = strdup(sqlite3_filename_wal(db));
        st->wal_dir = strdup(db);
        char *slash = strrchr(st->wal_dir, '/');
        if (slash) slash[slash == st->wal_dir ? 1 : 0] = 0; /* absolute: there is one */
    }
    pthread_mutex_unlock(&st->sync_lock);
}

static bool sq_conn_defer_sync(store_conn *c_)
{
    sq_conn *c = (sq_conn *)c_;
    if (c->store->opt.sync != STORE_SYNC_FULL) return false; /* nothing is synced at commit */
    note_wal_path(c);
    return sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) == SQLITE_OK;
}

static bool sq_conn_sync_commits(store_conn *c_, bool sync)
{
    sq_conn *c = (sq_conn *)c_;
    /* refused inside a transaction ("Safety level may not be changed"): the mode stays */
    return sqlite3_exec(c->db, sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", NULL,
                        NULL, NULL) == SQLITE_OK;
}

static int sq_sync(store_conn *c_, siyu_err *e)
{
    sq_conn *c = (sq_conn *)c_;
    sq_store *st = c->store; /* wal_path: noted when the sync was deferred */
    pthread_mutex_lock(&st->sync_lock);
    /* SQLite deletes the WAL when the store's last connection closes (a writer stopped
     * with no checkpointer's connection open) and makes a new one for the next: a
     * descriptor of the old file would sync nothing that matters. Linked nowhere: reopen. */
    struct stat sb;
    if (st->wal_fd >= 0 && (fstat(st->wal_fd, &sb) != 0 || sb.st_nlink == 0)) {
        close(st->wal_fd);
        st->wal_fd = -1;
    }
    if (st->wal_fd < 0) {
        const char *wal = st->wal_path ? st->wal_path : "(unknown)";
        int fd = st->wal_path ? open(st->wal_path, O_RDONLY | O_CLOEXEC) : -1;
        /* the WAL's name is durable too: its directory synced whenever it is opened */
        int dfd = fd >= 0 ? open(st->wal_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (fd < 0 || dfd < 0 || fsync(dfd) != 0) {
            int err = st->wal_path ? errno : ENOENT;
            if (fd >= 0) close(fd);
            if (dfd >= 0) close(dfd);
            pthread_mutex_unlock(&st->sync_lock);
            return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: sync: %s: %s", wal, strerror(err));
        }
        close(dfd);
        st->wal_fd = fd;
    }
    uint64_t t0 = clock_mono_ns();
    int rc = fdatasync(st->wal_fd);
    int err = errno;
    metric_observe(store_sync_seconds(), (double)(clock_mono_ns() - t0) / 1e9);
    pthread_mutex_unlock(&st->sync_lock);
    if (rc != 0) return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: sync: %s", strerror(err));
    return 0;
}

static void sq_conn_close(store_conn *c_)
{
    sq_conn *c = (sq_conn *)c_;
    for (int i = 0; i < Q__COUNT; i++)
        sqlite3_finalize(c->stmts[i].st);
    sqlite3_finalize(c->sp_begin);
    sqlite3_finalize(c->sp_release);
    sqlite3_finalize(c->sp_undo);
    sqlite3_finalize(c->tx_begin);
    sqlite3_finalize(c->tx_begin_write);
    sqlite3_finalize(c->tx_commit);
    sqlite3_finalize(c->tx_rollback);
    sqlite3_close(c->db);
    free(c);
}

/* ---- No spilling under a savepoint ----
 *
 * SQLite 3.40 (Debian 12's) can leave a WAL that recovery cannot read past. A transaction
 * larger than its page cache spills pages to the WAL; a page spilled twice overwrites its
 * frame in place, and SQLite recomputes the checksums at COMMIT from the first frame it
 * overwrote, writing none for frames appended meanwhile. Rolled back to a savepoint taken
 * before that frame, the transaction goes on appending frames below it that nothing
 * checksums. Readers of the live WAL see the commit, but recovery after a crash stops at
 * the first such frame, and that commit and every later one are lost until a checkpoint
 * has copied them (unit_store_sqlite_spill). siyu rolls back to savepoints all the time
 * (a record in the group committer, in a careful import batch, in bulk operations), so
 * from a transaction's first savepoint to its end nothing spills: frames spilled before it
 * lie below every savepoint's mark, which a rollback never crosses.
 *
 * SQLite undoes a statement that fails on a constraint midway (a multi-row INSERT … SELECT)
 * the same way, through a savepoint of its own, which siyu does not see. Outside a savepoint
 * such a failure after a page spilled therefore makes the commit refuse and the transaction
 * roll back (no caller commits after one today: a refused import record replays its batch,
 * every other write runs in a savepoint).
 *
 * Spilling stays on elsewhere: with it off for whole transactions, importing 475 000
 * events into the 100 000-member demo store took 12.1 s instead of 8.4 s, its dirty pages
 * crowding the index pages out of the cache (5.4 times the reads).
 *
 * How: the pragma's ON and OFF reach the pager only outside a transaction (tried: pages
 * still spilled under the savepoint), so it is given a number instead, the pages the cache
 * may hold before it spills, which the pager takes at once. SQLite's own is 1, meaning "at
 * the cache's size". It runs twice in a transaction that has savepoints. */
static int spill_stop(sq_conn *c)
{
    if (c->no_spill) return 0;
    if (sqlite3_exec(c->db, "PRAGMA cache_spill=2147483647", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    c->no_spill = true;
    return 0;
}

static void spill_again(sq_conn *c)
{
    if (c->no_spill && sqlite3_exec(c->db, "PRAGMA cache_spill=1", NULL, NULL, NULL) == SQLITE_OK)
        c->no_spill = false;
}

static int spilled_pages(sq_conn *c)
{
    int now = 0, high = 0;
    return sqlite3_db_status(c->db, SQLITE_DBSTATUS_CACHE_SPILL, &now, &high, 0) ? -1 : now;
}

/* A constraint failure outside any savepoint: see above. */
static void note_undone(sq_conn *c)
{
    if (!c->no_spill && !sqlite3_get_autocommit(c->db) && spilled_pages(c) != c->spilled_at_begin)
        c->undone_after_spill = true;
}

long long sqlite_conn_spilled(store_conn *c_)
{
    return c_->drv == &store_sqlite_driver ? spilled_pages((sq_conn *)c_) : -1;
}

static void release_write_lock(sq_conn *c)
{
    if (c->holds_write_lock) {
        c->holds_write_lock = false;
        pthread_mutex_unlock(&c->store->write_lock);
    }
}

static int sq_begin(store_conn *c_, bool write, siyu_err *e)
{
    sq_conn *c = (sq_conn *)c_;
    char msg[200];
    reset_running(c->db);
    if (write) {
        pthread_mutex_lock(&c->store->write_lock);
        c->holds_write_lock = true;
    }
    if (write ? run_prepared_msg(c->db, &c->tx_begin_write, "BEGIN IMMEDIATE", msg, sizeof msg)
              : run_prepared_msg(c->db, &c->tx_begin, "BEGIN", msg, sizeof msg)) {
        siyu_err_set(e, SIYU_INTERNAL, NULL, "store: begin: %s", msg);
        release_write_lock(c);
        return -1;
    }
    c->spilled_at_begin = spilled_pages(c);
    c->undone_after_spill = false;
    return 0;
}

static int sq_commit(store_conn *c_, siyu_err *e)
{
    sq_conn *c = (sq_conn *)c_;
    char msg[200];
    reset_running(c->db);
    if (c->undone_after_spill) {
        siyu_err_set(e, SIYU_INTERNAL, NULL,
                     "store: commit refused: a statement failed on a constraint after the "
                     "transaction's pages spilled to the WAL, which SQLite 3.40 could not "
                     "recover after a crash; the transaction is rolled back");
        sq_rollback(&c->base);
        return -1;
    }
    if (run_prepared_msg(c->db, &c->tx_commit, "COMMIT", msg, sizeof msg)) {
        siyu_err_set(e, SIYU_INTERNAL, NULL, "store: commit: %s", msg);
        sq_rollback(&c->base);
        return -1;
    }
    spill_again(c);
    release_write_lock(c);
    return 0;
}

static void sq_rollback(store_conn *c_)
{
    sq_conn *c = (sq_conn *)c_;
    reset_running(c->db);
    if (!sqlite3_get_autocommit(c->db)) run_prepared(c->db, &c->tx_rollback, "ROLLBACK");
    spill_again(c);
    release_write_lock(c);
}

static bool sq_in_tx(store_conn *c_)
{
    sq_conn *c = (sq_conn *)c_;
    return !sqlite3_get_autocommit(c->db);
}

/* A statement left running outside a transaction keeps its read snapshot, and every other
 * statement of the connection reads that snapshot until it is reset. */
static void sq_read_latest(store_conn *c_)
{
    sq_conn *c = (sq_conn *)c_;
    if (sqlite3_get_autocommit(c->db)) reset_running(c->db);
}

static int sq_savepoint(store_conn *c_, siyu_err *e)
{
    sq_conn *c = (sq_conn *)c_;
    if (spill_stop(c) || run_prepared(c->db, &c->sp_begin, "SAVEPOINT rec"))
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: savepoint: %s", sqlite3_errmsg(c->db));
    return 0;
}

static void sq_savepoint_release(store_conn *c_)
{
    sq_conn *c = (sq_conn *)c_;
    run_prepared(c->db, &c->sp_release, "RELEASE rec");
    if (sqlite3_get_autocommit(c->db)) spill_again(c); /* it was the transaction */
}

static void sq_savepoint_undo(store_conn *c_)
{
    sq_conn *c = (sq_conn *)c_;
    reset_running(c->db);
    run_prepared(c->db, &c->sp_undo, "ROLLBACK TO rec");
    run_prepared(c->db, &c->sp_release, "RELEASE rec");
    if (sqlite3_get_autocommit(c->db)) spill_again(c);
}

static void sq_reset(store_stmt *s_)
{
    sq_stmt *s = (sq_stmt *)s_;
    sqlite3_reset(s->st);
}

static store_stmt *sq_q(store_conn *c_, store_query q)
{
    sq_conn *c = (sq_conn *)c_;
    sq_stmt *s = &c->stmts[q];
    if (!s->st) {
        if (sqlite3_prepare_v3(c->db, sqlite_queries[q], -1, SQLITE_PREPARE_PERSISTENT, &s->st,
                               NULL) != SQLITE_OK) {
            /* A query text that does not prepare is a programming error, caught by tests. */
            fprintf(stderr, "siyu: store: cannot prepare query %d: %s\n", (int)q,
                    sqlite3_errmsg(c->db));
            abort();
        }
        s->base.drv = &store_sqlite_driver;
        s->conn = c;
    } else {
        sqlite3_reset(s->st);
        sqlite3_clear_bindings(s->st);
    }
    return &s->base;
}

static void sq_bind_int(store_stmt *s_, int i, int64_t v)
{
    sq_stmt *s = (sq_stmt *)s_;
    sqlite3_bind_int64(s->st, i, v);
}

static void sq_bind_text(store_stmt *s_, int i, const char *v)
{
    sq_stmt *s = (sq_stmt *)s_;
    /* SQLITE_STATIC: no copy. Callers bind just before stepping, while the text lives. */
    if (v)
        sqlite3_bind_text(s->st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s->st, i);
}

static void sq_bind_blob(store_stmt *s_, int i, const void *v, int n)
{
    sq_stmt *s = (sq_stmt *)s_;
    sqlite3_bind_blob(s->st, i, v, n, SQLITE_STATIC);
}

static void sq_bind_real(store_stmt *s_, int i, double v)
{
    sq_stmt *s = (sq_stmt *)s_;
    sqlite3_bind_double(s->st, i, v);
}

static double sq_col_real(store_stmt *s_, int i)
{
    sq_stmt *s = (sq_stmt *)s_;
    return sqlite3_column_double(s->st, i);
}

static void sq_bind_null(store_stmt *s_, int i)
{
    sq_stmt *s = (sq_stmt *)s_;
    sqlite3_bind_null(s->st, i);
}

static store_step_rc sq_step(store_stmt *s_)
{
    sq_stmt *s = (sq_stmt *)s_;
    sqlite3 *db = sqlite3_db_handle(s->st);
    if (!sqlite3_stmt_busy(s->st) && sqlite3_get_autocommit(db) && !sqlite3_stmt_readonly(s->st)) {
        /* a write outside any transaction (its own autocommit): the change sequence moves
         * first, so a crash between the two can only make a snapshot look stale, never
         * current (store.c moves it inside every write transaction) */
        if (sqlite3_exec(db, "UPDATE change_seq SET seq = seq + 1, tag = random() WHERE id = 1",
                         NULL, NULL, NULL) != SQLITE_OK) {
            sqlite3_reset(s->st);
            return STORE_ERROR;
        }
    }
    int rc = sqlite3_step(s->st);
    if (rc == SQLITE_ROW) return STORE_ROW;
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s->st); /* release read locks at once */
        return STORE_DONE;
    }
    rc = sqlite3_reset(s->st);
    if ((rc & 0xff) != SQLITE_CONSTRAINT) return STORE_ERROR;
    note_undone(s->conn);
    return STORE_CONSTRAINT;
}

static int64_t sq_col_int(store_stmt *s_, int i)
{
    sq_stmt *s = (sq_stmt *)s_;
    return sqlite3_column_int64(s->st, i);
}

static const char *sq_col_text(store_stmt *s_, int i)
{
    sq_stmt *s = (sq_stmt *)s_;
    return (const char *)sqlite3_column_text(s->st, i);
}

static const void *sq_col_blob(store_stmt *s_, int i, int *n)
{
    sq_stmt *s = (sq_stmt *)s_;
    *n = sqlite3_column_bytes(s->st, i);
    return sqlite3_column_blob(s->st, i);
}

static bool sq_col_null(store_stmt *s_, int i)
{
    sq_stmt *s = (sq_stmt *)s_;
    return sqlite3_column_type(s->st, i) == SQLITE_NULL;
}

static int64_t sq_last_id(store_conn *c_)
{
    sq_conn *c = (sq_conn *)c_;
    return sqlite3_last_insert_rowid(c->db);
}

static int sq_changes(store_conn *c_)
{
    sq_conn *c = (sq_conn *)c_;
    return sqlite3_changes(c->db);
}

static int64_t sq_total_changes(store_conn *c_)
{
    sq_conn *c = (sq_conn *)c_;
    return (int64_t)sqlite3_total_changes64(c->db);
}

static const char *sq_errmsg(store_conn *c_)
{
    sq_conn *c = (sq_conn *)c_;
    return sqlite3_errmsg(c->db);
}

static store_conn *sq_stmt_conn(store_stmt *s_)
{
    sq_stmt *s = (sq_stmt *)s_;
    return &s->conn->base;
}

static int64_t sq_size_bytes(store_t *st_)
{
    sq_store *st = (sq_store *)st_;
    struct stat sb;
    int64_t total = 0;
    char wal[4096];
    if (stat(st->path, &sb) == 0) total += sb.st_size;
    snprintf(wal, sizeof wal, "%s-wal", st->path);
    if (stat(wal, &sb) == 0) total += sb.st_size;
    return total;
}

static const char *sq_path(store_t *st_)
{
    sq_store *st = (sq_store *)st_;
    return st->path;
}

static int sq_col_count(store_stmt *s_)
{
    return sqlite3_column_count(((sq_stmt *)s_)->st);
}

static const char *sq_col_name(store_stmt *s_, int i)
{
    return sqlite3_column_name(((sq_stmt *)s_)->st, i);
}

static store_col_kind sq_col_type(store_stmt *s_, int i)
{
    switch (sqlite3_column_type(((sq_stmt *)s_)->st, i)) {
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

/* One process serves a SQLite store: there is nobody to hear from. */
static int sq_listen(store_conn *c, const char *channel, siyu_err *e)
{
    (void)c;
    (void)channel;
    (void)e;
    return 0;
}

static int sq_wait_notify(store_conn *c, int timeout_ms)
{
    (void)c;
    struct timespec t = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
    return 0;
}

const store_driver store_sqlite_driver = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .schema_version = sq_schema_version,
    .size_bytes = sq_size_bytes,
    .path = sq_path,
    .conn_open = sq_conn_open,
    .conn_close = sq_conn_close,
    .conn_cache = sq_conn_cache,
    .conn_others_wrote = sq_conn_others_wrote,
    .conn_writer = sq_conn_writer,
    .conn_defer_sync = sq_conn_defer_sync,
    .conn_sync_commits = sq_conn_sync_commits,
    .sync = sq_sync,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_tx = sq_in_tx,
    .read_latest = sq_read_latest,
    .savepoint = sq_savepoint,
    .savepoint_release = sq_savepoint_release,
    .savepoint_undo = sq_savepoint_undo,
    .q = sq_q,
    .bind_int = sq_bind_int,
    .bind_text = sq_bind_text,
    .bind_blob = sq_bind_blob,
    .bind_null = sq_bind_null,
    .bind_real = sq_bind_real,
    .step = sq_step,
    .reset = sq_reset,
    .col_int = sq_col_int,
    .col_text = sq_col_text,
    .col_blob = sq_col_blob,
    .col_null = sq_col_null,
    .col_real = sq_col_real,
    .col_count = sq_col_count,
    .col_name = sq_col_name,
    .col_type = sq_col_type,
    .last_id = sq_last_id,
    .changes = sq_changes,
    .total_changes = sq_total_changes,
    .errmsg = sq_errmsg,
    .stmt_conn = sq_stmt_conn,
    .shared = false,
    .remote = false,
    .listen = sq_listen,
    .wait_notify = sq_wait_notify,
};
