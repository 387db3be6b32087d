/* Unit tests for the deferred sync of the group committer (committer.c, store_sqlite.c's
 * sq_sync) on SQLite under synchronous=FULL, in the store's odd places:
 *
 * - a store named through a symbolic link: SQLite keeps its WAL beside the file the link
 *   points to, and the sync must find it there (else every write answers 500); and one
 *   named by a relative path;
 * - a WAL that SQLite deleted when the last connection closed (a writer stopped, no
 *   checkpointer) and made anew for the next writer: the sync must reach the new file, not
 *   the old descriptor's deleted one;
 * - a sync that fails: its writes committed and others can read them, so the views follow
 *   them too (a 500 for the writer, but the views never miss a row the store has);
 * - a sync that fails after a lease's commits: writer_lease_end tells its holder. */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdatomic.h>
#include <storeread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "brand_write.h"
#include "writer/writer.h"

static char dir[] = "/tmp/siyu-sync-XXXXXX";

/* ---- what the views saw ---- */
static atomic_int seen_changes;
static int64_t last_seen;

static void follow(void *ctx, store_conn *reader, const dom_change *v, size_t n)
{
    (void)ctx;
    (void)reader;
    for (size_t i = 0; i < n; i++) {
        atomic_fetch_add(&seen_changes, 1);
        last_seen = v[i].id;
    }
}

static int write_brand(store_t *st, writer_t *w, const char *name, siyu_err *e)
{
    store_conn *reader;
    CHECK_INT_EQ(store_conn_open(st, &reader, e), 0);
    brand_write b = {.name = name};
    int rc = writer_submit(w, brand_fn, &b, reader, e);
    store_conn_close(reader);
    return rc;
}

/* How many descriptors of this process name a WAL that is no longer in its directory. */
static int deleted_wal_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char link[300], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%s", de->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len <= 0) continue;
        target[len] = 0;
        if (strstr(target, dir) && strstr(target, "-wal (deleted)")) n++;
    }
    closedir(d);
    return n;
}

int main(void)
{
    setenv("SIYU_DEFER_SYNC", "on", 1); /* opt-in: this test is about it */
    setenv("SIYU_CHECKPOINTER", "on", 1);
    CHECK(mkdtemp(dir) != NULL);
    siyu_err e;
    siyu_err_init(&e);
    store_options full = {.sync = STORE_SYNC_FULL, .create = true};
    char real[600], link[600], cmd[700];

    /* a store named through a symbolic link: writes are answered, and their WAL (beside
     * the real file) is what the committer syncs */
    snprintf(real, sizeof real, "%s/real.db", dir);
    snprintf(link, sizeof link, "%s/link.db", dir);
    CHECK_INT_EQ(symlink(real, link), 0);
    store_t *st;
    writer_t *w;
    CHECK_INT_EQ(store_open(link, &full, &st, &e), 0);
    CHECK_INT_EQ(writer_start(st, follow, NULL, &w, &e), 0);
    int rc = write_brand(st, w, "through-a-link", &e);
    if (rc) fprintf(stderr, "through a link: %s\n", e.message);
    CHECK_INT_EQ(rc, 0);
    siyu_err_clear(&e);
    writer_stop(w);
    store_close(st);
    CHECK_INT_EQ(sr_int(real, "SELECT count(*) FROM brands WHERE name = 'through-a-link'"), 1);

    /* a store named by a relative path (siyu serve --db k.db) */
    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK_INT_EQ(chdir(dir), 0);
    CHECK_INT_EQ(store_open("rel.db", &full, &st, &e), 0);
    CHECK_INT_EQ(writer_start(st, follow, NULL, &w, &e), 0);
    CHECK_INT_EQ(write_brand(st, w, "relative", &e), 0);
    writer_stop(w);
    store_close(st);
    CHECK_INT_EQ(chdir(cwd), 0);

    /* a WAL deleted and made anew between two writers on one store: without the
     * checkpointer's connection, the writer's is the last, and closing it removes the WAL */
    setenv("SIYU_CHECKPOINTER", "off", 1);
    snprintf(real, sizeof real, "%s/again.db", dir);
    CHECK_INT_EQ(store_open(real, &full, &st, &e), 0);
    CHECK_INT_EQ(writer_start(st, follow, NULL, &w, &e), 0);
    CHECK_INT_EQ(write_brand(st, w, "first-writer", &e), 0);
    writer_stop(w);
    CHECK_INT_EQ(writer_start(st, follow, NULL, &w, &e), 0);
    CHECK_INT_EQ(write_brand(st, w, "second-writer", &e), 0);
    /* the sync that answered it went to the live WAL: no descriptor holds a deleted one */
    CHECK_INT_EQ(deleted_wal_fds(), 0);
    writer_stop(w);
    store_close(st);
    setenv("SIYU_CHECKPOINTER", "on", 1);

    /* a failed sync: the write committed and readers see it, so the views follow it even
     * though its writer is answered an internal error */
    snprintf(real, sizeof real, "%s/fail.db", dir);
    CHECK_INT_EQ(store_open(real, &full, &st, &e), 0);
    CHECK_INT_EQ(writer_start(st, follow, NULL, &w, &e), 0);
    int before = atomic_load(&seen_changes);
    store_fault_sync(st, 1);
    CHECK_INT_EQ(write_brand(st, w, "unsynced", &e), -1);
    CHECK_INT_EQ(e.code, SIYU_INTERNAL);
    siyu_err_clear(&e);
    store_fault_sync(st, 0);
    CHECK_INT_EQ(sr_int(real, "SELECT count(*) FROM brands WHERE name = 'unsynced'"), 1);
    CHECK_INT_EQ(atomic_load(&seen_changes), before + 1);
    CHECK_INT_EQ(last_seen, sr_int(real, "SELECT id FROM brands WHERE name = 'unsynced'"));
    /* and no write is taken after it until a restart: a new writer */
    CHECK_INT_EQ(write_brand(st, w, "after-unsynced", &e), -1);
    siyu_err_clear(&e);
    CHECK_INT_EQ(sr_int(real, "SELECT count(*) FROM brands WHERE name = 'after-unsynced'"), 0);
    writer_stop(w);
    CHECK_INT_EQ(writer_start(st, follow, NULL, &w, &e), 0);

    /* a lease (a model fit's results, the outbox's states): its holder commits on the
     * committer's connection, which does not sync at commit, so the sync after the lease
     * is the holder's to hear about */
    store_conn *lc = NULL;
    CHECK_INT_EQ(writer_lease(w, &lc, &e), 0);
    CHECK_INT_EQ(store_begin(lc, true, &e), 0);
    brand_write lb = {.name = "leased"};
    CHECK_INT_EQ(brand_fn(lc, NULL, &lb, &e), 0);
    CHECK_INT_EQ(store_commit(lc, &e), 0);
    store_fault_sync(st, 1);
    CHECK_INT_EQ(writer_lease_end(w, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_INTERNAL);
    CHECK(strstr(e.message, "sync") != NULL);
    siyu_err_clear(&e);
    store_fault_sync(st, 0);
    CHECK_INT_EQ(writer_lease(w, &lc, &e), -1); /* refused until a restart */
    siyu_err_clear(&e);
    writer_stop(w);
    CHECK_INT_EQ(writer_start(st, follow, NULL, &w, &e), 0);
    CHECK_INT_EQ(writer_lease(w, &lc, &e), 0);
    CHECK_INT_EQ(writer_lease_end(w, &e), 0); /* and after it a lease is clean */
    writer_stop(w);
    store_close(st);

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT_EQ(system(cmd), 0);
    return CHECK_DONE();
}
