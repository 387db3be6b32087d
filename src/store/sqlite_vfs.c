/* sqlite_vfs.c — a VFS over SQLite's own that times every fsync, for /metrics, and
 * gathers a transaction's WAL frames into one write.
 *
 * SQLite syncs the WAL inside COMMIT (synchronous=FULL) and the database at checkpoints;
 * the commit's latency includes its sync, but only the sync says whether the disk or
 * siyu is slow. xSync is timed around the call.
 *
 * SQLite appends each WAL frame with two writes (its 24-byte header, then the page): a
 * batch of 22 orders is some 120 frames, 240 pwrite calls, and under POST /orders writing
 * the WAL was a quarter of the group committer's time, 11% once gathered (bench/README.md,
 * an eleventh sitting). So a WAL's appended frames are gathered in memory and written with
 * one call. They are written:
 *   - before the connection's database file crosses its memory barrier: SQLite crosses it
 *     between the two copies of the WAL index header it writes to publish a commit, after
 *     every frame of it (checksums rewritten after the commit frame included), so a reader
 *     never finds a frame that is not in the file;
 *   - before that file takes or leaves a lock on the WAL index: frames a transaction
 *     spilled and then rolled back (a rollback need not touch the WAL file) are written
 *     while the writer still holds the lock, never later over the next writer's commit at
 *     the same offsets;
 *   - before anything else touches the WAL (a read, a sync, a size, a truncation, a write
 *     that does not continue the run).
 * So nothing gathered outlives a transaction, and nothing depends on the frames' format.
 * A WAL is gathered only when its connection's database file is known: each connection's
 * file names are one block, and sqlite3_filename_database leads back to the pointer its
 * database file was opened with.
 * unit_store_wal_gather checks what must hold, at the moment each commit is published.
 * Every other method is SQLite's own. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/metric.h"
#include "base/timeutil.h"
#include "store/sqlite_internal.h"
#include "store/store.h"

enum {
    WAL_GATHER_MAX = 1 << 20, /* past this, what is gathered is written (a big import) */
    /* SQLite's unix VFS writes at most 128 KiB - 1 bytes a call (seekAndWriteFd masks the
     * length with 0x1ffff): what is gathered goes in pieces of 31 pages */
    WRITE_PIECE = 31 * 4096
};

typedef struct timed_file timed_file;
struct timed_file {
    sqlite3_file base;
    sqlite3_file *real; /* SQLite's own file, right after this struct */
    /* a main database file: its name as SQLite passed it, its connection's WAL while that is
     * open, the next in open_dbs */
    const char *db_name;
    timed_file *wal;
    timed_file *next_db;
    /* a WAL's appended frames not yet written: gather_len bytes for offset gather_at */
    timed_file *db; /* the WAL's database file; NULL: nothing is gathered */
    unsigned char *gather;
    size_t gather_len;
    sqlite3_int64 gather_at;
};

/* the main database files open through this VFS, for a WAL to find its own */
static pthread_mutex_t open_dbs_lock = PTHREAD_MUTEX_INITIALIZER;
static timed_file *open_dbs;

static sqlite3_vfs timed_vfs;
static sqlite3_vfs *real_vfs;
static _Atomic uint64_t gathered_writes, gathered_bytes; /* sqlite_vfs_gathered */

void sqlite_vfs_gathered(uint64_t *writes, uint64_t *bytes)
{
    *writes = atomic_load(&gathered_writes);
    *bytes = atomic_load(&gathered_bytes);
}
static metric_hist sync_seconds = METRIC_HIST(metric_le_seconds);

metric_hist *store_sync_seconds(void)
{
    return &sync_seconds;
}

#define REAL(f) (((timed_file *)(f))->real)

/* Writes what is gathered; nothing is kept when the write fails (SQLite fails the
 * transaction whose frames they were). */
static int flush(sqlite3_file *f)
{
    timed_file *tf = (timed_file *)f;
    if (!tf->gather_len) return SQLITE_OK;
    int rc = SQLITE_OK;
    for (size_t done = 0; rc == SQLITE_OK && done < tf->gather_len; done += WRITE_PIECE) {
        size_t n = tf->gather_len - done < WRITE_PIECE ? tf->gather_len - done : WRITE_PIECE;
        rc = REAL(f)->pMethods->xWrite(REAL(f), tf->gather + done, (int)n,
                                       tf->gather_at + (sqlite3_int64)done);
    }
    atomic_fetch_add_explicit(&gathered_writes, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&gathered_bytes, tf->gather_len, memory_order_relaxed);
    tf->gather_len = 0;
    return rc;
}

/* the frames a database file's WAL still gathers, written */
static int flush_wal_of(sqlite3_file *db)
{
    timed_file *wal = ((timed_file *)db)->wal;
    return wal ? flush(&wal->base) : SQLITE_OK;
}

static int t_close(sqlite3_file *f)
{
    timed_file *tf = (timed_file *)f;
    int flushed = flush(f);
    free(tf->gather);
    tf->gather = NULL;
    pthread_mutex_lock(&open_dbs_lock);
    if (tf->db) tf->db->wal = NULL; /* a WAL closing */
    if (tf->wal) tf->wal->db = NULL;
    for (timed_file **p = &open_dbs; *p; p = &(*p)->next_db)
        if (*p == tf) {
            *p = tf->next_db;
            break;
        }
    pthread_mutex_unlock(&open_dbs_lock);
    int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
    return flushed != SQLITE_OK ? flushed : rc;
}
static int t_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}

/* A WAL's write: gathered while it continues the run (SQLite appending frames). */
static int gather_write(timed_file *tf, const unsigned char *b, int n, sqlite3_int64 o)
{
    sqlite3_file *f = &tf->base;
    size_t len = (size_t)n;
    if (tf->gather_len && (o != tf->gather_at + (sqlite3_int64)tf->gather_len ||
                           tf->gather_len + len > WAL_GATHER_MAX)) {
        int rc = flush(f);
        if (rc != SQLITE_OK) return rc;
    }
    if (len > WAL_GATHER_MAX) return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
    if (!tf->gather && !(tf->gather = malloc(WAL_GATHER_MAX))) {
        pthread_mutex_lock(&open_dbs_lock); /* no memory: written as it comes from now on */
        tf->db->wal = NULL;
        tf->db = NULL;
        pthread_mutex_unlock(&open_dbs_lock);
        return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
    }
    if (!tf->gather_len) tf->gather_at = o;
    memcpy(tf->gather + tf->gather_len, b, len);
    tf->gather_len += len;
    return SQLITE_OK;
}

static int t_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
    timed_file *tf = (timed_file *)f;
    if (tf->db && n > 0) return gather_write(tf, b, n, o);
    return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int t_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int t_sync(sqlite3_file *f, int flags)
{
    int flushed = flush(f);
    if (flushed != SQLITE_OK) return flushed;
    uint64_t t0 = clock_mono_ns();
    store_slow_sync_wait(); /* a slow disk, for tests */
    int rc = REAL(f)->pMethods->xSync(REAL(f), flags);
    metric_observe(&sync_seconds, (double)(clock_mono_ns() - t0) / 1e9);
    return rc;
}
static int t_size(sqlite3_file *f, sqlite3_int64 *size)
{
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int t_lock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int t_unlock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int t_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int t_fcntl(sqlite3_file *f, int op, void *arg)
{
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int t_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int t_devchar(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int t_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}
static int t_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    int rc = flush_wal_of(f);
    if (rc != SQLITE_OK && !(flags & SQLITE_SHM_UNLOCK)) return rc;
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void t_shm_barrier(sqlite3_file *f)
{
    flush_wal_of(f); /* a failure shows at the WAL's next call: its frames are gone */
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int t_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int t_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp)
{
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : REAL(f)->pMethods->xFetch(REAL(f), o, n, pp);
}
static int t_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), o, p);
}

/* one table per io_methods version, so SQLite never calls a method the real file lacks */
static sqlite3_io_methods timed_methods[4];
static const sqlite3_io_methods timed_methods_v3 = {
    .iVersion = 3,
    .xClose = t_close,
    .xRead = t_read,
    .xWrite = t_write,
    .xTruncate = t_truncate,
    .xSync = t_sync,
    .xFileSize = t_size,
    .xLock = t_lock,
    .xUnlock = t_unlock,
    .xCheckReservedLock = t_reserved,
    .xFileControl = t_fcntl,
    .xSectorSize = t_sector,
    .xDeviceCharacteristics = t_devchar,
    .xShmMap = t_shm_map,
    .xShmLock = t_shm_lock,
    .xShmBarrier = t_shm_barrier,
    .xShmUnmap = t_shm_unmap,
    .xFetch = t_fetch,
    .xUnfetch = t_unfetch,
};

static int t_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)vfs;
    timed_file *tf = (timed_file *)f;
    memset(tf, 0, sizeof *tf);
    tf->real = (sqlite3_file *)(tf + 1);
    memset(tf->real, 0, (size_t)real_vfs->szOsFile);
    int rc = real_vfs->xOpen(real_vfs, name, tf->real, flags, out_flags);
    /* a file SQLite's VFS did not open has no methods: neither has ours (never closed) */
    const sqlite3_io_methods *m = tf->real->pMethods;
    if (rc == SQLITE_OK && m && name) {
        pthread_mutex_lock(&open_dbs_lock);
        if (flags & SQLITE_OPEN_MAIN_DB) {
            tf->db_name = name;
            tf->next_db = open_dbs;
            open_dbs = tf;
        } else if (flags & SQLITE_OPEN_WAL) {
            const char *db = sqlite3_filename_database(name);
            for (timed_file *d = open_dbs; d; d = d->next_db)
                if (d->db_name == db && !d->wal) {
                    d->wal = tf;
                    tf->db = d;
                    break;
                }
        }
        pthread_mutex_unlock(&open_dbs_lock);
    }
    f->pMethods = rc == SQLITE_OK && m ? &timed_methods[m->iVersion < 1   ? 1
                                                        : m->iVersion > 3 ? 3
                                                                          : m->iVersion]
                                       : NULL;
    return rc;
}

static void vfs_init(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    if (!real_vfs || real_vfs->iVersion < 2) return;
    for (int v = 1; v <= 3; v++) {
        timed_methods[v] = timed_methods_v3;
        timed_methods[v].iVersion = v;
    }
    timed_vfs = *real_vfs;
    timed_vfs.zName = "siyu-timed";
    timed_vfs.szOsFile = (int)sizeof(timed_file) + real_vfs->szOsFile;
    timed_vfs.xOpen = t_open;
    timed_vfs.pNext = NULL;
    if (sqlite3_vfs_register(&timed_vfs, 0) != SQLITE_OK) real_vfs = NULL;
}

const char *sqlite_timed_vfs(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, vfs_init);
    return real_vfs ? "siyu-timed" : NULL;
}
