/* committer.c — the group committer behind writer.h. */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/timeutil.h"
#include "writer/writer.h"

/* The writes of one commit whose views are to follow it (committed, with changes, and a
 * reader to follow them on). The first of their submitters to wake applies them all, in
 * commit order, in one read transaction on its own connection (one snapshot to open and
 * one page cache to fill for the whole commit, instead of one per write); the others wait
 * until it has, so each still answers only once the views show its write. The last to
 * leave frees it. */
typedef struct write_batch {
    atomic_int led;  /* taken by the submitter that applies the batch */
    atomic_int refs; /* submitters not yet done with it */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool applied;
    size_t n;
    struct write_job *jobs[]; /* alive until applied: their submitters wait */
} write_batch;

typedef struct write_job {
    writer_fn fn;
    void *arg;
    siyu_err *e;
    bool alone;  /* writer_exclusive: runs with no transaction of the writer's open */
    bool follow; /* a reader to follow its changes on was given */
    /* committed, but its sync failed: answered an error, yet other readers see it, so
     * the views still follow it (syncer_main) */
    bool unsynced;
    int rc;
    sem_t done; /* posted once, when the write committed or was undone */
    /* writer_submit_async: called instead of posting done (the job is the caller's) */
    writer_done_fn done_fn;
    void *done_ctx;
    dom_changes changes; /* what the write changed, kept only if it committed */
    write_batch *batch;  /* set before done is posted when the views follow it */
    struct write_job *next;
} write_job;

struct writer {
    store_t *store;
    store_conn *conn;
    writer_commit_fn on_commit;
    void *on_commit_ctx;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t ready, done;
    write_job *head, *tail;
    bool stop;
    struct lease_req *lease; /* the lease granted now (writer_lease), or NULL */
    /* The store lets the committer make its commits durable (store_conn_defer_sync). Then
     * either each COMMIT syncs, as SQLite's own, and the writer waits for it; or the
     * commits do not, and the syncer thread makes each committed list of writes durable
     * with one store_sync_now while the writer runs the next batch, waking their
     * submitters after it (deferring). sync_policy says which. */
    bool defer_sync;
    sync_policy policy;
    bool deferring; /* the batches go to the syncer now (writer thread only) */
    /* averages over the last eight or so, in ns: a group's COMMIT, the syncer's sync */
    _Atomic uint64_t commit_ns, sync_ns;
    pthread_t syncer;
    pthread_cond_t synced_ready;
    write_job *sync_head, *sync_tail;
    bool sync_stop;
    bool sync_in_flight; /* the sync thread is syncing (take_more) */
    /* A sync failed: every write is refused from then on, until siyu restarts (under
     * w->lock: sync_error). On Linux a failed fdatasync may mark the pages it could not
     * write clean, so a later sync that succeeds proves nothing about them; and the commits
     * after them in the WAL would be lost with them to a power cut, WAL recovery stopping at
     * the first bad frame. PostgreSQL stops for the same reason. */
    atomic_bool sync_broken;
    char sync_error[200];
    atomic_uint_fast64_t batches, writes, failed, commit_failures, queued;
    atomic_uint_fast64_t synced_inline, synced_deferred;
};

/* Who syncs a committed batch (SIYU_DEFER_SYNC=off|on|auto). A sync that overlaps the next
 * batch lets the writer use the disk's time, but the writer then commits as soon as it
 * can, so its batches are smaller and each write costs more: POST /orders, whose commits
 * take 1.5 – 2 ms with their sync, gained a fifth from it; QR scans, whose commits take
 * 0.3 ms, lost a tenth (bench/README.md). And a commit the syncer makes durable can be read
 * by others a moment before it is (a write nobody was told succeeded, which a power cut in
 * that moment would lose), where a COMMIT that syncs is seen by no one before. SYNC_AUTO
 * defers only while making a batch durable takes a millisecond or more. */
enum {
    SYNC_DEFER_FROM_NS = 1000000, /* auto: defer once a batch's COMMIT and sync take 1 ms */
    SYNC_INLINE_BELOW_NS = 600000 /* and sync inside COMMIT again once they take under 0.6 ms */
};

int writer_sync_policy(sync_policy *out)
{
    const char *v = getenv("SIYU_DEFER_SYNC");
    *out = SYNC_AUTO;
    if (!v || !*v || strcmp(v, "auto") == 0) return 0;
    if (strcmp(v, "on") == 0) *out = SYNC_DEFERRED;
    if (strcmp(v, "off") == 0) *out = SYNC_INLINE;
    return *out == SYNC_AUTO ? -1 : 0;
}

bool writer_auto_defers(bool deferring, uint64_t commit_ns, uint64_t sync_ns)
{
    uint64_t took = commit_ns;
    if (deferring) took += sync_ns; /* the COMMIT no longer syncs */
    return took >= (deferring ? SYNC_INLINE_BELOW_NS : SYNC_DEFER_FROM_NS);
}

static void average(_Atomic uint64_t *avg, uint64_t ns)
{
    uint64_t a = atomic_load(avg); /* one thread writes each */
    atomic_store(avg, a ? a - a / 8 + ns / 8 : ns);
}

static void refuse_unsynced(writer_t *w, write_job *k, bool committed)
{
    k->rc = -1;
    k->unsynced = committed; /* readers see it: the views follow it */
    atomic_fetch_add(&w->failed, 1);
    pthread_mutex_lock(&w->lock);
    siyu_err_set(k->e, SIYU_INTERNAL, NULL, "%s", w->sync_error);
    pthread_mutex_unlock(&w->lock);
}

static void log_changes(writer_t *w, struct write_job *first, struct write_job *end);

/* Writes per group commit and how long each COMMIT took (the fsync included), for /metrics:
 * one process has one committer. */
static metric_hist batch_sizes = METRIC_HIST(metric_le_size);
static metric_hist commit_seconds = METRIC_HIST(metric_le_seconds);

metric_hist *writer_batch_sizes(void)
{
    return &batch_sizes;
}

metric_hist *writer_commit_seconds(void)
{
    return &commit_seconds;
}

/* One write in its savepoint; a sticky store error fails it whatever fn answered. */
static void run_one(writer_t *w, write_job *j)
{
    atomic_fetch_add(&w->writes, 1);
    if (store_savepoint(w->conn, j->e)) {
        j->rc = -1;
        return;
    }
    j->rc = j->fn(w->conn, &j->changes, j->arg, j->e);
    /* a failed step fails the write, whatever it answered: a 404 or a 409 built on a
     * read that failed is an internal error, not a refusal */
    if (store_conn_check(w->conn, j->e)) j->rc = -1;
    if (j->rc < 0) {
        store_savepoint_undo(w->conn);
        dom_changes_clear(&j->changes);
    } else {
        store_savepoint_release(w->conn);
    }
}

/* Several nodes on one store: the batch's changes go to the change log in its own
 * transaction, with a notification the other nodes hear when it commits (views/follow.c).
 * A failure sticks to the connection, so the commit refuses and the batch fails whole: no
 * node's views may miss a committed write. */
static void log_changes(writer_t *w, write_job *first, write_job *end)
{
    size_t cap = 256, len = 0;
    char *json = malloc(cap);
    json[len++] = '[';
    for (write_job *k = first; k != end; k = k->next) {
        if (k->rc != 0) continue;
        for (size_t i = 0; i < k->changes.n; i++) {
            if (len + 80 > cap) json = realloc(json, cap *= 2);
            const dom_change *x = &k->changes.v[i];
            len += (size_t)snprintf(json + len, cap - len, "%s[%d,%lld,%lld]", len > 1 ? "," : "",
                                    (int)x->kind, (long long)x->id, (long long)x->other);
        }
    }
    json[len++] = ']';
    json[len] = 0;
    if (len > 2) {
        siyu_err e;
        siyu_err_init(&e);
        store_stmt *s = store_q(w->conn, Q_CHANGE_LOG_WRITE);
        store_bind_text(s, 1, store_node_id());
        store_bind_text(s, 2, json);
        store_bind_int(s, 3, (int64_t)time(NULL));
        if (store_exec(s, &e) == 0) {
            s = store_q(w->conn, Q_CHANGE_NOTIFY);
            store_bind_text(s, 1, store_node_id());
            store_step(s);
            store_reset(s);
        }
        siyu_err_clear(&e);
    }
    free(json);
}

/* While a sync is in flight, a commit now would wait for the next sync anyway: the writes
 * that come meanwhile join the open transaction instead (up to GROUP_MAX), and it commits
 * when the sync thread is free again. The same answers, at the same time, from fewer and
 * larger commits: with the writer committing as soon as it could, a batch held half the
 * writes and each write cost more (a QR scan 74 µs of CPU against 58). True when writes
 * were appended after last; false: commit now. */
enum { GROUP_MAX = 1024 };
static bool take_more(writer_t *w, write_job *last, size_t size)
{
    pthread_mutex_lock(&w->lock);
    while (w->sync_in_flight && !w->head && !w->stop && size < GROUP_MAX)
        pthread_cond_wait(&w->ready, &w->lock);
    bool more = w->sync_in_flight && w->head && !w->stop && size < GROUP_MAX;
    if (more) { /* only writes that share a transaction: an exclusive one waits its turn */
        write_job *k = w->head, *prev = NULL;
        for (; k && !k->alone && size < GROUP_MAX; k = k->next, size++)
            prev = k;
        if (prev) {
            last->next = w->head;
            w->head = prev->next;
            prev->next = NULL;
            if (!w->head) w->tail = NULL;
        } else {
            more = false;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return more;
}

/* The consecutive shared writes from j on, in one transaction; returns the next job. */
static write_job *run_group(writer_t *w, write_job *j)
{
    siyu_err txe;
    siyu_err_init(&txe);
    atomic_fetch_add(&w->batches, 1);
    int tx = store_begin(w->conn, true, &txe);
    write_job *first = j, *last = NULL;
    size_t size = 0;
    for (;;) {
        for (; j && !j->alone; j = j->next) {
            size++;
            last = j;
            if (tx) {
                siyu_err_set(j->e, SIYU_INTERNAL, NULL, "%s", txe.message);
                j->rc = -1;
                continue;
            }
            run_one(w, j);
        }
        if (j || tx || !w->defer_sync || !take_more(w, last, size)) break;
        j = last->next; /* the writes that came meanwhile, in this same transaction */
    }
    if (!tx && store_shared(w->store)) log_changes(w, first, j);
    metric_observe(&batch_sizes, (double)size);
    uint64_t t0 = clock_mono_ns();
    /* every write here notes the members it changed: their kept 360s are dropped below,
     * not all of them (view_stamps.c) */
    store_conn_names_members(w->conn, true);
    int crc = tx ? 0 : store_commit(w->conn, &txe);
    store_conn_names_members(w->conn, false);
    if (!tx) {
        uint64_t took = clock_mono_ns() - t0;
        metric_observe(&commit_seconds, (double)took / 1e9);
        average(&w->commit_ns, took);
    }
    if (!tx && crc) {
        atomic_fetch_add(&w->commit_failures, 1);
        for (write_job *k = first; k != j; k = k->next)
            if (k->rc == 0) {
                k->rc = -1;
                dom_changes_clear(&k->changes);
                siyu_err_set(k->e, SIYU_INTERNAL, NULL, "%s", txe.message);
            }
    }
    for (write_job *k = first; k != j; k = k->next) {
        if (k->rc < 0)
            atomic_fetch_add(&w->failed, 1);
        else
            dom_changes_touch(k->changes.v, k->changes.n);
    }
    siyu_err_clear(&txe);
    return j;
}

static void run_alone(writer_t *w, write_job *j)
{
    atomic_fetch_add(&w->writes, 1);
    store_conn_clear(w->conn);
    j->rc = j->fn(w->conn, &j->changes, j->arg, j->e);
    if (store_conn_check(w->conn, j->e)) j->rc = -1;
    if (store_in_tx(w->conn)) { /* fn left a transaction open: it never commits */
        store_rollback(w->conn);
        if (j->rc == 0) {
            j->rc = -1;
            siyu_err_set(j->e, SIYU_INTERNAL, NULL, "a write left its transaction open");
        }
    }
    if (j->rc < 0) {
        atomic_fetch_add(&w->failed, 1);
        /* what committed stays committed; the views still follow it */
    }
    /* an import commits in steps of its own: what it changed is logged after, in one
     * transaction, so the other nodes follow it too (a moment later than this one) */
    if (store_shared(w->store) && j->changes.n) {
        siyu_err le;
        siyu_err_init(&le);
        int saved = j->rc;
        if (store_begin(w->conn, true, &le) == 0) {
            j->rc = 0;
            log_changes(w, j, j->next);
            j->rc = saved;
            if (store_commit(w->conn, &le))
                fprintf(stderr, "siyu: writer: the change log missed an import: %s\n", le.message);
        }
        siyu_err_clear(&le);
    }
}

/* The views follow a write that committed (its sync may have failed: readers see it),
 * changed something and has a reader to follow it on. */
static bool views_follow(const write_job *k)
{
    return k->follow && (k->rc == 0 || k->unsynced) && k->changes.n;
}

/* Gathers the writes from first up to end whose views follow them into one batch. */
static void group_views(write_job *first, write_job *end)
{
    size_t n = 0;
    for (write_job *k = first; k != end; k = k->next)
        n += views_follow(k);
    if (!n) return;
    write_batch *b = malloc(sizeof *b + n * sizeof b->jobs[0]);
    if (!b) return; /* each submitter follows its own write instead */
    atomic_init(&b->led, 0);
    atomic_init(&b->refs, (int)n);
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->cond, NULL);
    b->applied = false;
    b->n = 0;
    for (write_job *k = first; k != end; k = k->next)
        if (views_follow(k)) {
            b->jobs[b->n++] = k;
            k->batch = b;
        }
}

/* The views follow the commit that held job: the first of its batch to come applies the
 * batch's changes, the rest wait for that. */
static void follow_commit(writer_t *w, write_job *job, store_conn *reader)
{
    write_batch *b = job->batch;
    if (!b) {
        w->on_commit(w->on_commit_ctx, reader, job->changes.v, job->changes.n);
        return;
    }
    if (atomic_exchange(&b->led, 1) == 0) {
        size_t total = 0;
        for (size_t i = 0; i < b->n; i++)
            total += b->jobs[i]->changes.n;
        dom_change *all = b->n == 1 ? NULL : malloc(total * sizeof *all);
        if (all) {
            size_t at = 0;
            for (size_t i = 0; i < b->n; i++) {
                memcpy(all + at, b->jobs[i]->changes.v, b->jobs[i]->changes.n * sizeof *all);
                at += b->jobs[i]->changes.n;
            }
            w->on_commit(w->on_commit_ctx, reader, all, total);
            free(all);
        } else {
            for (size_t i = 0; i < b->n; i++)
                w->on_commit(w->on_commit_ctx, reader, b->jobs[i]->changes.v,
                             b->jobs[i]->changes.n);
        }
        pthread_mutex_lock(&b->lock);
        b->applied = true;
        pthread_cond_broadcast(&b->cond);
        pthread_mutex_unlock(&b->lock);
    } else {
        pthread_mutex_lock(&b->lock);
        while (!b->applied)
            pthread_cond_wait(&b->cond, &b->lock);
        pthread_mutex_unlock(&b->lock);
    }
    if (atomic_fetch_sub(&b->refs, 1) == 1) {
        pthread_mutex_destroy(&b->lock);
        pthread_cond_destroy(&b->cond);
        free(b);
    }
}

/* The writes of list are durable: their views are gathered and their submitters woken. */
static void wake_submitters(writer_t *w, write_job *list)
{
    if (w->on_commit) group_views(list, NULL);
    /* each submitter is woken alone and takes no lock to wake: a broadcast would wake
     * every waiting worker at every commit, each to find its own write still queued, and
     * all of them would contend for the writer's lock */
    for (write_job *j = list; j;) {
        write_job *next = j->next; /* j is gone once its submitter runs */
        atomic_fetch_sub(&w->queued, 1);
        if (j->done_fn)
            j->done_fn(j->done_ctx);
        else
            sem_post(&j->done);
        j = next;
    }
}

static void hand_to_syncer(writer_t *w, write_job *list)
{
    write_job *last = list;
    while (last->next)
        last = last->next;
    pthread_mutex_lock(&w->lock);
    if (w->sync_tail)
        w->sync_tail->next = list;
    else
        w->sync_head = list;
    w->sync_tail = last;
    pthread_cond_signal(&w->synced_ready);
    pthread_mutex_unlock(&w->lock);
}

/* Makes the committed writes of list durable (the syncer thread). */
static void sync_list(writer_t *w, write_job *list)
{
    siyu_err se;
    siyu_err_init(&se);
    uint64_t t0 = clock_mono_ns();
    if (!atomic_load(&w->sync_broken) && store_sync_now(w->conn, &se)) {
        pthread_mutex_lock(&w->lock);
        snprintf(w->sync_error, sizeof w->sync_error, "%s; writes are refused until siyu restarts",
                 se.message);
        pthread_mutex_unlock(&w->lock);
        atomic_store(&w->sync_broken, true);
        atomic_fetch_add(&w->commit_failures, 1);
        fprintf(stderr, "siyu: writer: %s\n", w->sync_error);
    }
    siyu_err_clear(&se);
    average(&w->sync_ns, clock_mono_ns() - t0);
    /* committed, but whether they would survive a power cut is not known: not a 2xx (a
     * keyed retry after the restart finds the write and answers it). Their changes are
     * kept: the commit is visible to every reader, and views that missed it would
     * disagree with the store until a restart. */
    if (atomic_load(&w->sync_broken))
        for (write_job *k = list; k; k = k->next)
            if (k->rc == 0) refuse_unsynced(w, k, true);
}

/* Before a batch, with no transaction open: whether its commits go to the syncer, the
 * connection's commits set to match (SYNC_AUTO, by how long making a batch durable took). */
static bool choose_deferring(writer_t *w)
{
    bool want = true;
    if (w->policy == SYNC_AUTO)
        want =
            writer_auto_defers(w->deferring, atomic_load(&w->commit_ns), atomic_load(&w->sync_ns));
    /* a switch the store refused leaves the commits as they were: so does the choice */
    if (want != w->deferring && store_conn_sync_commits(w->conn, !want)) w->deferring = want;
    return w->deferring;
}

static bool syncer_busy(writer_t *w)
{
    pthread_mutex_lock(&w->lock);
    bool busy = w->sync_head || w->sync_in_flight;
    pthread_mutex_unlock(&w->lock);
    return busy;
}

static void *syncer_main(void *arg)
{
    writer_t *w = arg;
    pthread_setname_np(pthread_self(), "siyu-sync");
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->sync_head && !w->sync_stop)
            pthread_cond_wait(&w->synced_ready, &w->lock);
        if (!w->sync_head) break; /* stopping, and nothing left to sync */
        write_job *list = w->sync_head;
        w->sync_head = w->sync_tail = NULL;
        w->sync_in_flight = true;
        pthread_mutex_unlock(&w->lock);
        sync_list(w, list);
        pthread_mutex_lock(&w->lock);
        w->sync_in_flight = false;
        pthread_cond_signal(&w->ready); /* a transaction held open for this sync commits */
        pthread_mutex_unlock(&w->lock);
        wake_submitters(w, list);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* The sync thread syncs what the writer handed it last, then stops. */
static void stop_syncer(writer_t *w)
{
    pthread_mutex_lock(&w->lock);
    w->sync_stop = true;
    pthread_cond_signal(&w->synced_ready);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->syncer, NULL);
}

static void *writer_main(void *arg)
{
    writer_t *w = arg;
    pthread_setname_np(pthread_self(), "siyu-writer"); /* for top -H and perf */
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->stop)
            pthread_cond_wait(&w->ready, &w->lock);
        if (!w->head && w->stop) break;
        write_job *batch = w->head;
        w->head = w->tail = NULL;
        pthread_mutex_unlock(&w->lock);

        if (atomic_load(&w->sync_broken)) { /* nothing more is written */
            for (write_job *j = batch; j; j = j->next)
                refuse_unsynced(w, j, false);
            wake_submitters(w, batch);
            pthread_mutex_lock(&w->lock);
            continue;
        }
        bool defer = w->defer_sync && choose_deferring(w);
        for (write_job *j = batch; j;) {
            if (j->alone) {
                run_alone(w, j);
                j = j->next;
            } else {
                j = run_group(w, j);
            }
        }
        if (!w->defer_sync) {
            wake_submitters(w, batch);
        } else if (defer || syncer_busy(w) || atomic_load(&w->sync_broken)) {
            /* durable after the syncer's next sync; a batch whose COMMIT synced goes that
             * way too while the syncer holds earlier ones: batches are answered in order.
             * And after a sync failed while it ran: its frames follow the unsynced ones in
             * the WAL, so it is refused with them (the syncer refuses what it is handed) */
            atomic_fetch_add(&w->synced_deferred, 1);
            hand_to_syncer(w, batch);
        } else {
            atomic_fetch_add(&w->synced_inline, 1); /* its COMMIT synced */
            wake_submitters(w, batch);
        }
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int writer_start(store_t *st, writer_commit_fn on_commit, void *on_commit_ctx, writer_t **out,
                 siyu_err *e)
{
    writer_t *w = calloc(1, sizeof *w);
    w->store = st;
    w->on_commit = on_commit;
    w->on_commit_ctx = on_commit_ctx;
    if (store_conn_open(st, &w->conn, e)) {
        free(w);
        return -1;
    }
    store_conn_cache(w->conn, 128);
    store_conn_writer(w->conn);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->ready, NULL);
    pthread_cond_init(&w->done, NULL);
    pthread_cond_init(&w->synced_ready, NULL);
    writer_sync_policy(&w->policy); /* a bad value was refused by the command line */
    w->defer_sync = w->policy != SYNC_INLINE && store_conn_defer_sync(w->conn);
    w->deferring = w->defer_sync; /* store_conn_defer_sync left commits without a sync */
    if (w->defer_sync && w->policy == SYNC_AUTO) {
        w->deferring = !store_conn_sync_commits(w->conn, true); /* until syncs prove long */
    }
    if (w->defer_sync && pthread_create(&w->syncer, NULL, syncer_main, w)) {
        store_conn_close(w->conn);
        free(w);
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "writer: cannot start its sync thread");
    }
    if (pthread_create(&w->thread, NULL, writer_main, w)) {
        if (w->defer_sync) stop_syncer(w);
        store_conn_close(w->conn);
        free(w);
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "writer: cannot start its thread");
    }
    *out = w;
    return 0;
}

void writer_stop(writer_t *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->ready);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    if (w->defer_sync) stop_syncer(w);
    store_conn_close(w->conn);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->ready);
    pthread_cond_destroy(&w->done);
    pthread_cond_destroy(&w->synced_ready);
    free(w);
}

/* Queues job; -1 (e filled) when the writer takes no more writes. */
static int enqueue(writer_t *w, write_job *job, siyu_err *e)
{
    pthread_mutex_lock(&w->lock);
    if (w->stop || atomic_load(&w->sync_broken)) {
        if (w->stop)
            siyu_err_set(e, SIYU_INTERNAL, NULL, "writer: stopped");
        else
            siyu_err_set(e, SIYU_INTERNAL, NULL, "%s", w->sync_error);
        pthread_mutex_unlock(&w->lock);
        return -1;
    }
    atomic_fetch_add(&w->queued, 1);
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    pthread_cond_signal(&w->ready);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

/* After a job was done: the views follow it on reader; its outcome. */
static int finish(writer_t *w, write_job *job, store_conn *reader)
{
    if (w->on_commit && views_follow(job)) follow_commit(w, job, reader);
    dom_changes_free(&job->changes);
    return job->rc;
}

static int submit(writer_t *w, writer_fn fn, void *arg, bool alone, store_conn *reader, siyu_err *e)
{
    write_job job = {.fn = fn, .arg = arg, .e = e, .alone = alone, .follow = reader != NULL};
    sem_init(&job.done, 0, 0);
    if (enqueue(w, &job, e)) {
        sem_destroy(&job.done);
        return -1;
    }
    while (sem_wait(&job.done) != 0)
        ; /* EINTR: a signal, not the commit */
    sem_destroy(&job.done);
    return finish(w, &job, reader);
}

write_job *writer_submit_async(writer_t *w, writer_fn fn, void *arg, bool follow,
                               writer_done_fn done, void *ctx, siyu_err *e)
{
    write_job *job = malloc(sizeof *job);
    if (!job) {
        siyu_err_set(e, SIYU_INTERNAL, NULL, "writer: out of memory");
        return NULL;
    }
    *job = (write_job){
        .fn = fn, .arg = arg, .e = e, .follow = follow, .done_fn = done, .done_ctx = ctx};
    if (enqueue(w, job, e)) {
        free(job);
        return NULL;
    }
    return job;
}

int writer_finish(writer_t *w, write_job *job, store_conn *reader)
{
    int rc = finish(w, job, reader);
    free(job);
    return rc;
}

int writer_submit(writer_t *w, writer_fn fn, void *arg, store_conn *reader, siyu_err *e)
{
    return submit(w, fn, arg, false, reader, e);
}

int writer_exclusive(writer_t *w, writer_fn fn, void *arg, store_conn *reader, siyu_err *e)
{
    return submit(w, fn, arg, true, reader, e);
}

bool writer_sync_failed(writer_t *w, char *why, size_t cap)
{
    if (!atomic_load(&w->sync_broken)) return false;
    if (why && cap) {
        pthread_mutex_lock(&w->lock);
        snprintf(why, cap, "%s", w->sync_error);
        pthread_mutex_unlock(&w->lock);
    }
    return true;
}

void writer_get_stats(writer_t *w, writer_stats *out)
{
    out->batches = atomic_load(&w->batches);
    out->writes = atomic_load(&w->writes);
    out->failed = atomic_load(&w->failed);
    out->commit_failures = atomic_load(&w->commit_failures);
    out->queued = atomic_load(&w->queued);
    out->synced_inline = atomic_load(&w->synced_inline);
    out->synced_deferred = atomic_load(&w->synced_deferred);
}

struct lease_req {
    writer_t *w;
    siyu_err err; /* the helper's: the lease's own outcome is the holder's business */
    int rc;
    bool granted, released, ended;
    pthread_t thread;
};
typedef struct lease_req lease_req;

/* Runs on the writer thread as an exclusive job: lends the connection, waits for it. */
static int lease_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    (void)c;
    (void)changes;
    (void)e;
    lease_req *q = arg;
    writer_t *w = q->w;
    pthread_mutex_lock(&w->lock);
    w->lease = q; /* one lease at a time: the writer thread runs one job at a time */
    q->granted = true;
    pthread_cond_broadcast(&w->done);
    while (!q->released)
        pthread_cond_wait(&w->ready, &w->lock);
    w->lease = NULL;
    pthread_mutex_unlock(&w->lock);
    return 0;
}

static void *lease_submitter(void *arg)
{
    lease_req *q = arg;
    q->rc = writer_exclusive(q->w, lease_fn, q, NULL, &q->err);
    pthread_mutex_lock(&q->w->lock);
    q->ended = true; /* refused (the writer stopped) or given back */
    pthread_cond_broadcast(&q->w->done);
    pthread_mutex_unlock(&q->w->lock);
    return NULL;
}

int writer_lease(writer_t *w, store_conn **c, siyu_err *e)
{
    /* the exclusive job is submitted from a helper thread, which waits for it to end;
     * this thread waits only until the connection is lent */
    lease_req *q = calloc(1, sizeof *q);
    q->w = w;
    siyu_err_init(&q->err);
    if (pthread_create(&q->thread, NULL, lease_submitter, q)) {
        free(q);
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "writer: cannot lend the connection");
    }
    pthread_mutex_lock(&w->lock);
    while (!q->granted && !q->ended)
        pthread_cond_wait(&w->done, &w->lock);
    bool granted = q->granted;
    pthread_mutex_unlock(&w->lock);
    if (!granted) {
        pthread_join(q->thread, NULL);
        siyu_err_set(e, q->err.code, NULL, "%s", q->err.message);
        siyu_err_clear(&q->err);
        free(q);
        return -1;
    }
    *c = w->conn;
    return 0;
}

int writer_lease_end(writer_t *w, siyu_err *e)
{
    if (store_in_tx(w->conn)) store_rollback(w->conn);
    pthread_mutex_lock(&w->lock);
    lease_req *q = w->lease;
    q->released = true;
    pthread_cond_broadcast(&w->ready);
    pthread_mutex_unlock(&w->lock);
    pthread_join(q->thread, NULL);
    /* the lease's exclusive job ended once the syncer had synced it: a sync that failed
     * is the holder's to answer, like a commit that failed */
    int rc = q->rc ? -1 : 0;
    if (rc && e) siyu_err_set(e, q->err.code, NULL, "%s", q->err.message);
    siyu_err_clear(&q->err);
    free(q);
    return rc;
}

int writer_lease_cb(void *w, store_conn **c, siyu_err *e)
{
    return writer_lease(w, c, e);
}

int writer_lease_end_cb(void *w, siyu_err *e)
{
    return writer_lease_end(w, e);
}
