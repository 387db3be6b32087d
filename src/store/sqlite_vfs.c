/* sqlite_vfs.c — a VFS over SQLite's own that times every fsync, for /metrics.
 *
 * SQLite syncs the WAL inside COMMIT (synchronous=FULL) and the database at checkpoints;
 * the commit's latency includes its sync, but only the sync says whether the disk or
 * siyu is slow. Every method is SQLite's own; xSync is timed around the call. */
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

#include "base/metric.h"
#include "base/timeutil.h"
#include "store/sqlite_internal.h"
#include "store/store.h"

typedef struct timed_file {
    sqlite3_file base;
    sqlite3_file *real; /* SQLite's own file, right after this struct */
} timed_file;

static sqlite3_vfs timed_vfs;
static sqlite3_vfs *real_vfs;
static metric_hist sync_seconds = METRIC_HIST(metric_le_seconds);

metric_hist *store_sync_seconds(void)
{
    return &sync_seconds;
}

#define REAL(f) (((timed_file *)(f))->real)

static int t_close(sqlite3_file *f)
{
    int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
    return rc;
}
static int t_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
    return REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}
static int t_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
    return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int t_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int t_sync(sqlite3_file *f, int flags)
{
    uint64_t t0 = clock_mono_ns();
    store_slow_sync_wait(); /* a slow disk, for tests */
    int rc = REAL(f)->pMethods->xSync(REAL(f), flags);
    metric_observe(&sync_seconds, (double)(clock_mono_ns() - t0) / 1e9);
    return rc;
}
static int t_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
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
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
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
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void t_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int t_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int t_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp)
{
    return REAL(f)->pMethods->xFetch(REAL(f), o, n, pp);
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
    tf->real = (sqlite3_file *)(tf + 1);
    memset(tf->real, 0, (size_t)real_vfs->szOsFile);
    int rc = real_vfs->xOpen(real_vfs, name, tf->real, flags, out_flags);
    /* a file SQLite's VFS did not open has no methods: neither has ours (never closed) */
    const sqlite3_io_methods *m = tf->real->pMethods;
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
