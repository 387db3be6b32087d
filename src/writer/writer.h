/* writer.h — the one write path of a running siyu: the group committer.
 *
 * Every write of `siyu serve` — HTTP writes, the background jobs (journey ticks, the
 * loyalty sweep), tag, segment and settings writes, imports, and the results of
 * model fits and outbox deliveries — is submitted here and runs on one writer thread
 * with its own store connection. The thread takes every queued write, runs each in its
 * own savepoint of one transaction (a refused write is undone alone), commits once and
 * wakes the submitters: one fsync makes a whole batch durable, and writers never
 * contend for SQLite's lock.
 *
 * A write whose connection has a sticky store error when it returns (store.h) fails,
 * whatever it returned: it is undone and answers an internal error.
 *
 * Writes from another process (the CLI while the server runs) take SQLite's lock with
 * a busy timeout; nothing here keeps a statement or a transaction open between
 * batches, so they never find the store locked for longer than one batch. */
#ifndef SIYU_WRITER_WRITER_H
#define SIYU_WRITER_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/metric.h"
#include "domain/domain.h"
#include "store/store.h"

typedef struct writer writer_t;

/* One write: runs on the writer's connection c inside a write transaction the writer
 * holds (in its own savepoint). It notes what it changed in changes (set it as the
 * dom's changes). Returns 0 to keep its work, -1 (e filled) to undo it. */
typedef int (*writer_fn)(store_conn *c, dom_changes *changes, void *arg, siyu_err *e);

/* Called after a write committed, with what it changed, on the submitter's own
 * connection (which sees the commit): the in-memory views follow the store here. */
typedef void (*writer_commit_fn)(void *ctx, store_conn *reader, const dom_change *v, size_t n);

/* Who makes a commit durable, on a store whose commits may leave it to the committer
 * (store_conn_defer_sync: SQLite), from SIYU_DEFER_SYNC: off, SQLite inside each COMMIT;
 * on, a sync thread while the writer runs the next batch; auto (the default), the COMMIT
 * while that takes under a millisecond, the sync thread while it takes longer
 * (committer.c). A write is answered 2xx only once durable, whichever it is. */
typedef enum sync_policy { SYNC_AUTO, SYNC_INLINE, SYNC_DEFERRED } sync_policy;
/* Reads SIYU_DEFER_SYNC into *out; -1 when it holds none of auto, on, off (*out: auto). */
int writer_sync_policy(sync_policy *out);
/* SYNC_AUTO's choice before a batch: whether its commits go to the sync thread, from the
 * averages of a batch's COMMIT (commit_ns) and of the sync thread's sync (sync_ns), and
 * whether they go there now. Two thresholds, so a commit near one does not flip every batch. */
bool writer_auto_defers(bool deferring, uint64_t commit_ns, uint64_t sync_ns);

int writer_start(store_t *st, writer_commit_fn on_commit, void *on_commit_ctx, writer_t **out,
                 siyu_err *e);
void writer_stop(writer_t *w); /* runs what is queued, then stops; NULL is a no-op */

/* Queues fn and sleeps until the transaction holding it has committed (0) or the
 * write was undone (-1, e filled). After a commit with changes, on_commit runs on
 * reader (the caller's own connection); reader NULL skips it. */
int writer_submit(writer_t *w, writer_fn fn, void *arg, store_conn *reader, siyu_err *e);

/* The same without sleeping, for a caller that serves others meanwhile (the HTTP layer's
 * I/O threads, http.h): queues fn and returns its job; done(ctx) is called, on the
 * writer's or the sync thread, once the write committed and is durable or was undone,
 * and must not block. The caller then calls writer_finish on a connection of its own
 * (follow: whether the views follow the write there), which gives fn's outcome (0, or
 * -1 with e filled) and frees the job. NULL (e filled): not queued, done is never called.
 * e must stay valid until writer_finish. */
typedef void (*writer_done_fn)(void *ctx);
typedef struct write_job writer_job;
writer_job *writer_submit_async(writer_t *w, writer_fn fn, void *arg, bool follow,
                                writer_done_fn done, void *ctx, siyu_err *e);
int writer_finish(writer_t *w, writer_job *job, store_conn *reader);

/* Long work that commits in steps of its own (an import's batches): fn
 * runs on the writer thread, on the writer's connection, with no transaction open; it
 * begins and commits its own write transactions there. No other write runs meanwhile.
 * Whatever fn leaves open is rolled back. changes collects what fn noted; on_commit
 * runs for them when fn returns 0. */
int writer_exclusive(writer_t *w, writer_fn fn, void *arg, store_conn *reader, siyu_err *e);

/* A lease of the writer's connection to the calling thread, for work whose long
 * computation must not hold the writer (a model fit reads and computes on its own
 * connection, then writes its results): writer_lease waits until every write queued
 * before it has committed, then hands over the writer's connection with no
 * transaction open; the caller begins and commits its write transaction on it, and
 * gives it back with writer_lease_end. No other write runs meanwhile; the caller must
 * not submit writes while it holds the lease. Whatever it leaves open is rolled back. */
int writer_lease(writer_t *w, store_conn **c, siyu_err *e);
/* Gives the connection back; 0 once what the caller committed on it is durable. -1 (e set
 * when given): the sync after its commits failed — they committed, but may not survive a
 * power cut, and the caller must not answer them as done (the committer's connection
 * commits without syncing: committer.c). */
int writer_lease_end(writer_t *w, siyu_err *e);
/* The two above as the callbacks of work that writes on a lent connection (the model
 * fit's model_options, the outbox's journey_writer): ctx is the writer. */
int writer_lease_cb(void *w, store_conn **c, siyu_err *e);
int writer_lease_end_cb(void *w, siyu_err *e);

/* For /metrics. */
typedef struct writer_stats {
    uint64_t batches; /* transactions committed or attempted */
    uint64_t writes;  /* writes run */
    uint64_t failed;  /* writes undone */
    uint64_t commit_failures;
    uint64_t queued; /* writes waiting now */
    /* committed batches (store_conn_defer_sync): durable by their own COMMIT, answered
     * by the writer; or made durable and answered by the sync thread (sync_policy) */
    uint64_t synced_inline, synced_deferred;
} writer_stats;
void writer_get_stats(writer_t *w, writer_stats *out);
/* A sync of the store failed (SQLite: the committer's fdatasync of the WAL): from then on
 * every write is refused with that error, until siyu restarts, and readiness says so. Fills
 * why (cap bytes) with the error when it did. */
bool writer_sync_failed(writer_t *w, char *why, size_t cap);
/* Writes per group commit, and the seconds each COMMIT took (its fsync included). */
metric_hist *writer_batch_sizes(void);
metric_hist *writer_commit_seconds(void);

#endif
