/* Unit test of the group committer's choice of who syncs (SIYU_DEFER_SYNC=auto) at the
 * moment it changes, seen from inside (committer.c is compiled into this test, so the test
 * sets the averages the choice reads instead of waiting for a disk to be slow or fast):
 *
 * - a batch whose COMMIT synced, run while the sync thread fails the previous batch's sync:
 *   it is refused like every write after a failed sync (its frames follow the unsynced
 *   ones in the WAL, so the power cut that loses those loses it too), never answered 2xx. */
#include <check.h>
#include <stdatomic.h>
#include <unistd.h>

#include "brand_write.h"
#include "writer/committer.c"

static char dir[] = "/tmp/siyu-switch-XXXXXX";
static store_t *st;
static writer_t *w;
static atomic_bool first_answered, second_ran;

typedef struct submitted {
    const char *name;
    int rc;
    siyu_err e;
} submitted;

static void *submit_brand(void *arg)
{
    submitted *s = arg;
    brand_write b = {.name = s->name};
    siyu_err_init(&s->e);
    s->rc = writer_submit(w, brand_fn, &b, NULL, &s->e);
    atomic_store(&first_answered, true);
    return NULL;
}

/* The second write: it runs once the sync thread failed the first write's sync and let it
 * go (so the sync thread is idle when this batch's COMMIT returns). */
static int after_the_failure(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    atomic_store(&second_ran, true);
    while (!writer_sync_failed(w, NULL, 0) || !atomic_load(&first_answered))
        usleep(1000);
    store_slow_sync(0); /* this batch's own COMMIT syncs at the disk's pace */
    return brand_fn(c, changes, arg, e);
}

int main(void)
{
    setenv("SIYU_DEFER_SYNC", "auto", 1);
    unsetenv("SIYU_CHECKPOINTER");
    CHECK(mkdtemp(dir) != NULL);
    char path[600], cmd[700];
    snprintf(path, sizeof path, "%s/s.db", dir);
    siyu_err e;
    siyu_err_init(&e);
    store_options full = {.sync = STORE_SYNC_FULL, .create = true};
    CHECK_INT_EQ(store_open(path, &full, &st, &e), 0);
    CHECK_INT_EQ(writer_start(st, NULL, NULL, &w, &e), 0);
    CHECK(w->defer_sync);
    brand_write warm = {.name = "warm"};
    CHECK_INT_EQ(writer_submit(w, brand_fn, &warm, NULL, &e), 0);

    /* the first write's batch goes to the sync thread (commits seemed slow), whose sync
     * takes a second and then fails */
    atomic_store(&w->commit_ns, 10000000);
    store_slow_sync(1000000);
    store_fault_sync(st, 1);
    submitted first = {.name = "deferred"};
    pthread_t th;
    pthread_create(&th, NULL, submit_brand, &first);
    writer_stats s;
    do {
        usleep(1000);
        writer_get_stats(w, &s);
    } while (s.synced_deferred == 0);

    /* the next batch: syncs look short now, so its COMMIT syncs itself */
    atomic_store(&w->commit_ns, 0);
    atomic_store(&w->sync_ns, 0);
    brand_write second = {.name = "inline"};
    int rc = writer_submit(w, after_the_failure, &second, NULL, &e);
    pthread_join(th, NULL);
    CHECK_INT_EQ(first.rc, -1);
    siyu_err_clear(&first.e);
    CHECK(atomic_load(&second_ran)); /* else the failure came first: nothing was shown */
    CHECK_INT_EQ(rc, -1);            /* refused, as every write after a failed sync */
    CHECK_INT_EQ(e.code, SIYU_INTERNAL);
    siyu_err_clear(&e);
    store_fault_sync(st, 0);
    writer_stop(w);
    store_close(st);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT_EQ(system(cmd), 0);
    return CHECK_DONE();
}
