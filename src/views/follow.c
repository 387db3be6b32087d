/* follow.c — several nodes on one store: each follows the others' commits.
 *
 * Every node's group committer writes its batches' change lists to change_log inside the
 * batch's transaction and calls pg_notify (committer.c). A follower thread per node listens
 * on the channel on a connection of its own; woken by a notification, or every half second
 * when none came (a lost notification, a reconnect), it reads the log after the last
 * sequence number it applied, leaves out its own node's rows (its views followed them at
 * commit) and hands the rest to views_on_commit, which reads the rows back as it does for a
 * local commit. Writers queue on one lock across nodes (the store's write lock), so seq is in
 * commit order and a reader never sees a later seq before an earlier one.
 *
 * Why LISTEN/NOTIFY and a table, not logical decoding: the notification is transactional
 * (sent at commit, never for a rollback) and needs no server setting, replication slot or
 * privilege; the table makes it lossless (a node that was away reads what it missed) and
 * gives every change a number to catch up from. Logical decoding would need wal_level =
 * logical, a slot per node that holds WAL back while its node is down, and decoding rows
 * into domain changes the committer already has in hand. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "views/views.h"

struct views_follow {
    store_t *st;
    views *vw;
    int64_t seq; /* the last change applied */
    pthread_t thread;
    atomic_bool stop;
    atomic_uint_fast64_t applied, rounds;
};

int64_t views_follow_mark(store_t *st, siyu_err *e)
{
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    int64_t seq = -1;
    if (store_begin(c, false, e) == 0) {
        store_stmt *s = store_q(c, Q_CHANGE_LOG_MAX);
        if (store_step(s) == STORE_ROW) seq = store_col_int(s, 0);
        store_reset(s);
        if (store_conn_check(c, e)) seq = -1;
        store_rollback(c);
    }
    store_conn_close(c);
    return seq;
}

/* Reads and applies the other nodes' changes after f->seq; returns how many, -1 on failure. */
static long catch_up(struct views_follow *f, store_conn *c)
{
    siyu_err e;
    siyu_err_init(&e);
    long total = 0;
    for (;;) {
        size_t cap = 256, n = 0;
        dom_change *v = malloc(cap * sizeof *v);
        int64_t last = f->seq;
        int rc = store_begin(c, false, &e);
        if (rc == 0) {
            store_stmt *s = store_q(c, Q_CHANGE_LOG_AFTER);
            store_bind_int(s, 1, f->seq);
            store_bind_text(s, 2, store_node_id());
            store_bind_int(s, 3, 4096);
            while (store_step(s) == STORE_ROW) {
                if (n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
                last = store_col_int_by(s, "seq");
                v[n++] = (dom_change){.kind = (dom_change_kind)store_col_int_by(s, "kind"),
                                      .id = store_col_int_by(s, "id"),
                                      .other = store_col_int_by(s, "other")};
            }
            store_reset(s);
            rc = store_conn_check(c, &e);
            store_rollback(c);
        }
        if (rc) {
            fprintf(stderr, "siyu: follow: %s\n", e.message);
            siyu_err_clear(&e);
            store_conn_clear(c);
            free(v);
            return -1;
        }
        if (n) views_on_commit(f->vw, c, v, n);
        free(v);
        f->seq = last;
        total += (long)n;
        if (n < 4096) break;
    }
    atomic_fetch_add(&f->applied, (uint_fast64_t)total);
    return total;
}

static void *follow_main(void *arg)
{
    struct views_follow *f = arg;
    store_conn *c = NULL;
    while (!atomic_load(&f->stop)) {
        siyu_err e;
        siyu_err_init(&e);
        if (!c) {
            if (store_conn_open(f->st, &c, &e) || store_listen(c, "siyu_changes", &e)) {
                fprintf(stderr, "siyu: follow: %s\n", e.message);
                siyu_err_clear(&e);
                store_conn_close(c);
                c = NULL;
                struct timespec t = {0, 500000000L};
                nanosleep(&t, NULL);
                continue;
            }
        }
        catch_up(f, c);
        atomic_fetch_add(&f->rounds, 1);
        /* woken by a commit of another node, or after half a second in any case */
        if (store_wait_notify(c, 500) < 0) {
            store_conn_close(c);
            c = NULL;
        }
    }
    store_conn_close(c);
    return NULL;
}

int views_follow_start(store_t *st, views *vw, int64_t from_seq, struct views_follow **out,
                       siyu_err *e)
{
    *out = NULL;
    if (!store_shared(st)) return 0; /* one process serves the store: nothing to follow */
    struct views_follow *f = calloc(1, sizeof *f);
    f->st = st;
    f->vw = vw;
    f->seq = from_seq;
    if (pthread_create(&f->thread, NULL, follow_main, f)) {
        free(f);
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "follow: cannot start its thread");
    }
    *out = f;
    return 0;
}

void views_follow_stop(struct views_follow *f)
{
    if (!f) return;
    atomic_store(&f->stop, true);
    pthread_join(f->thread, NULL);
    free(f);
}

int views_follow_stop_at(struct views_follow *f, int64_t at[2])
{
    atomic_store(&f->stop, true);
    pthread_join(f->thread, NULL);
    siyu_err e;
    siyu_err_init(&e);
    int rc = views_store_seq(f->st, at, &e);
    store_conn *c;
    /* every change at or before at[0] is in the log now: apply those not applied yet */
    if (rc == 0 && store_conn_open(f->st, &c, &e) == 0) {
        rc = catch_up(f, c) < 0 ? -1 : 0;
        store_conn_close(c);
    } else {
        rc = -1;
    }
    siyu_err_clear(&e);
    free(f);
    return rc;
}

uint64_t views_follow_applied(struct views_follow *f)
{
    return f ? atomic_load(&f->applied) : 0;
}
