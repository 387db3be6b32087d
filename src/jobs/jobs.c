/* jobs.c — the background jobs' thread and their status (jobs.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/timeutil.h"
#include "community/community.h"
#include "fission/fission.h"
#include "jobs/jobs.h"
#include "guides/guides.h"
#include "journey/journey.h"
#include "loyalty/loyalty.h"
#include "views/views.h"
#include "writer/writer.h"

struct jobs {
    store_t *st;
    writer_t *w;
    views *vw;
    jobs_config cfg;
    store_conn *conn;             /* the jobs thread's own: reads changes back for the views */
    journey_writer outbox_writer; /* the outbox records deliveries on the lent writer */
    pthread_mutex_t status_lock;
    job_status status[JOB__COUNT];
    bool running;
    atomic_bool stop;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
};

static const char *const job_names[JOB__COUNT] = {"journeys", "outbox", "sweep", "audit",
                                                  "retention"};

static int env_seconds(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : dflt;
}

void jobs_config_init(jobs_config *c)
{
    c->tick_seconds = env_seconds("SIYU_TICK_SECONDS", 5);
    c->sweep_seconds = env_seconds("SIYU_SWEEP_SECONDS", 60);
    c->audit_seconds = env_seconds("SIYU_AUDIT_FLUSH_SECONDS", 1);
    c->retention_seconds = env_seconds("SIYU_RETENTION_SECONDS", 3600);
}

/* ---- the jobs: each write goes to the group committer ---- */

typedef struct job_ctx {
    jobs_t *j;
    int64_t now;
    json_t *out;
} job_ctx;

static int tick_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    job_ctx *x = arg;
    dom d = {.conn = c, .now = x->now, .changes = changes};
    d.who.role = ROLE_ADMIN;
    struct seg_index *idx = x->j->vw ? views_index(x->j->vw) : NULL;
    if (journey_tick(&d, idx, 5000, NULL, e)) return -1;
    /* guide task campaigns: expiry, reminders, recurring rounds (src/guides/tasks.c) */
    if (guides_tasks_tick(&d, idx, NULL, e)) return -1;
    /* group SOPs: each slot's group_post tasks (src/community/sops.c) */
    if (group_sops_tick(&d, NULL, e)) return -1;
    /* group-buy teams and assists past their deadline close on the same tick */
    if (fission_sweep(&d, 1000, NULL, e) < 0) return -1;
    /* transfers whose wait is over end done (src/guides) */
    return transfers_sweep(&d, 5000, NULL, e);
}

static int sweep_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    job_ctx *x = arg;
    dom d = {.conn = c, .now = x->now, .changes = changes};
    d.who.role = ROLE_ADMIN;
    json_decref(x->out);
    x->out = NULL;
    /* bounded batches keep each write short; the next round takes the rest */
    return loyalty_sweep(&d, 5000, &x->out, e);
}

static int audit_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    (void)changes;
    (void)arg;
    return dom_audit_flush(c, e);
}

typedef struct retention_ctx {
    int64_t now;
    bool more;
} retention_ctx;

static int retention_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    retention_ctx *x = arg;
    dom d = {.conn = c, .now = x->now, .changes = changes};
    d.who.role = ROLE_ADMIN;
    return retention_sweep(&d, 1000, NULL, &x->more, e);
}

/* Several nodes on one store: the journey tick, the outbox, the loyalty sweep and the
 * retention sweep run on one node at a time — the one whose jobs connection holds the lease
 * (a session advisory lock on PostgreSQL, freed when that node's session ends, a kill -9
 * included; always this node on SQLite). The audit flush runs on every node: its queue is
 * the node's own memory. */
#define JOBS_LEASE_KEY 0x7369796a /* "siyj": not the store's write lock ("siyu") */
/* 1 when this node holds the lease, 0 when another does, -1 (e filled) when the store
 * cannot say: the job fails as any job whose store fails. */
static int holds_lease(jobs_t *j, siyu_err *e)
{
    if (!store_shared(j->st)) return 1; /* one process serves the store */
    store_conn_clear(j->conn);
    store_stmt *s = store_q(j->conn, Q_JOBS_LEASE);
    store_bind_int(s, 1, JOBS_LEASE_KEY);
    int held = store_step(s) == STORE_ROW && store_col_int_by(s, "held") != 0;
    store_reset(s);
    if (store_conn_check(j->conn, e)) held = -1;
    store_conn_clear(j->conn);
    return held;
}

static int run_job(jobs_t *j, job_kind k, siyu_err *e)
{
    if (k != JOB_AUDIT) {
        int held = holds_lease(j, e);
        if (held <= 0) return held; /* 0: another node runs it */
    }
    job_ctx x = {.j = j, .now = clock_now()};
    int rc;
    switch (k) {
    case JOB_AUDIT: {
        unsigned long long queued, written, dropped;
        dom_audit_stats(&queued, &written, &dropped);
        /* nothing queued: no write at all (an idle server takes no lock for it) */
        rc = queued ? writer_submit(j->w, audit_fn, NULL, NULL, e) : 0;
        break;
    }
    case JOB_RETENTION: {
        /* one short write per batch: other writes run between them */
        retention_ctx r = {.now = x.now};
        int rounds = 0;
        do {
            rc = writer_submit(j->w, retention_fn, &r, NULL, e);
        } while (rc == 0 && r.more && ++rounds < 1000 && !atomic_load(&j->stop));
        break;
    }
    case JOB_JOURNEYS:
        rc = writer_submit(j->w, tick_fn, &x, j->conn, e);
        break;
    case JOB_OUTBOX:
        rc = journey_dispatch_with(j->st, &j->outbox_writer, x.now, 5000, NULL, e);
        break;
    case JOB_SWEEP:
    default:
        rc = writer_submit(j->w, sweep_fn, &x, j->conn, e);
        break;
    }
    json_decref(x.out);
    return rc;
}

/* How long each job's runs take, for /metrics (one process runs one set of jobs). */
static metric_hist durations[JOB__COUNT] = {[0 ... JOB__COUNT - 1] =
                                                METRIC_HIST(metric_le_long_seconds)};

metric_hist *jobs_duration(job_kind k)
{
    return &durations[k];
}

int jobs_run(jobs_t *j, job_kind k, siyu_err *e)
{
    uint64_t t0 = clock_mono_ns();
    int rc = run_job(j, k, e);
    metric_observe(&durations[k], (double)(clock_mono_ns() - t0) / 1e9);
    int64_t now = clock_now();
    pthread_mutex_lock(&j->status_lock);
    job_status *s = &j->status[k];
    s->runs++;
    s->last_run = now;
    if (rc == 0) {
        s->last_success = now;
        s->failing_since = 0;
    } else {
        s->failures++;
        if (!s->failing_since) s->failing_since = now;
        snprintf(s->last_error, sizeof s->last_error, "%s", e->message);
    }
    pthread_mutex_unlock(&j->status_lock);
    if (rc) fprintf(stderr, "siyu: %s: %s\n", job_names[k], e->message);
    return rc;
}

static void *jobs_main(void *arg)
{
    jobs_t *j = arg;
    uint64_t last_sweep = clock_mono_ns(), last_tick = 0, last_audit = 0,
             last_retention = clock_mono_ns();
    int tick = j->cfg.tick_seconds, sweep = j->cfg.sweep_seconds;
    int audit = j->cfg.audit_seconds, retention = j->cfg.retention_seconds;
    int period = tick > 0 ? tick : sweep;
    if (audit > 0 && (period <= 0 || audit < period)) period = audit;
    if (period <= 0) period = retention;
    pthread_mutex_lock(&j->lock);
    while (!atomic_load(&j->stop)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += period;
        pthread_cond_timedwait(&j->wake, &j->lock, &until);
        if (atomic_load(&j->stop)) break;
        pthread_mutex_unlock(&j->lock);
        siyu_err e;
        siyu_err_init(&e);
        uint64_t now_ns = clock_mono_ns();
        if (audit > 0 && now_ns - last_audit >= (uint64_t)audit * 1000000000ull - 50000000ull) {
            last_audit = now_ns;
            jobs_run(j, JOB_AUDIT, &e);
            siyu_err_clear(&e);
        }
        if (tick > 0 && now_ns - last_tick >= (uint64_t)tick * 1000000000ull - 50000000ull) {
            last_tick = now_ns;
            /* the outbox runs even when the tick failed: what is queued still goes out */
            jobs_run(j, JOB_JOURNEYS, &e);
            siyu_err_clear(&e);
            jobs_run(j, JOB_OUTBOX, &e);
            siyu_err_clear(&e);
        }
        if (sweep > 0 && clock_mono_ns() - last_sweep >= (uint64_t)sweep * 1000000000ull) {
            last_sweep = clock_mono_ns();
            jobs_run(j, JOB_SWEEP, &e);
            siyu_err_clear(&e);
        }
        if (retention > 0 &&
            clock_mono_ns() - last_retention >= (uint64_t)retention * 1000000000ull) {
            last_retention = clock_mono_ns();
            jobs_run(j, JOB_RETENTION, &e);
            siyu_err_clear(&e);
        }
        pthread_mutex_lock(&j->lock);
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

int jobs_start(store_t *st, struct writer *w, struct views *vw, const jobs_config *cfg,
               jobs_t **out, siyu_err *e)
{
    jobs_t *j = calloc(1, sizeof *j);
    j->st = st;
    j->w = w;
    j->vw = vw;
    j->outbox_writer =
        (journey_writer){.begin = writer_lease_cb, .end = writer_lease_end_cb, .ctx = w};
    if (cfg)
        j->cfg = *cfg;
    else
        jobs_config_init(&j->cfg);
    if (store_conn_open(st, &j->conn, e)) {
        free(j);
        return -1;
    }
    pthread_mutex_init(&j->status_lock, NULL);
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->wake, NULL);
    for (int k = 0; k < JOB__COUNT; k++)
        j->status[k].name = job_names[k];
    j->status[JOB_JOURNEYS].period_seconds = j->cfg.tick_seconds > 0 ? j->cfg.tick_seconds : 0;
    j->status[JOB_OUTBOX].period_seconds = j->status[JOB_JOURNEYS].period_seconds;
    j->status[JOB_SWEEP].period_seconds = j->cfg.sweep_seconds > 0 ? j->cfg.sweep_seconds : 0;
    j->status[JOB_AUDIT].period_seconds = j->cfg.audit_seconds > 0 ? j->cfg.audit_seconds : 0;
    j->status[JOB_RETENTION].period_seconds =
        j->cfg.retention_seconds > 0 ? j->cfg.retention_seconds : 0;
    if (j->cfg.tick_seconds > 0 || j->cfg.sweep_seconds > 0 || j->cfg.audit_seconds > 0 ||
        j->cfg.retention_seconds > 0) {
        if (pthread_create(&j->thread, NULL, jobs_main, j)) {
            jobs_stop(j);
            return siyu_err_set(e, SIYU_INTERNAL, NULL, "jobs: cannot start their thread");
        }
        j->running = true;
    }
    *out = j;
    return 0;
}

void jobs_stop(jobs_t *j)
{
    if (!j) return;
    if (j->running) {
        pthread_mutex_lock(&j->lock);
        atomic_store(&j->stop, true);
        pthread_cond_signal(&j->wake);
        pthread_mutex_unlock(&j->lock);
        pthread_join(j->thread, NULL);
    }
    if (j->w) { /* what reads queued since the last flush */
        siyu_err e;
        siyu_err_init(&e);
        if (writer_submit(j->w, audit_fn, NULL, NULL, &e))
            fprintf(stderr, "siyu: audit: %s\n", e.message);
        siyu_err_clear(&e);
    }
    store_conn_close(j->conn);
    pthread_mutex_destroy(&j->lock);
    pthread_mutex_destroy(&j->status_lock);
    pthread_cond_destroy(&j->wake);
    free(j);
}

void jobs_status(jobs_t *j, job_status out[JOB__COUNT])
{
    pthread_mutex_lock(&j->status_lock);
    memcpy(out, j->status, sizeof j->status);
    pthread_mutex_unlock(&j->status_lock);
}

bool jobs_ready(jobs_t *j, json_t **why)
{
    job_status s[JOB__COUNT];
    jobs_status(j, s);
    bool ok = true;
    json_t *failing = why ? json_array() : NULL;
    for (int k = 0; k < JOB__COUNT; k++) {
        if (!s[k].failing_since) continue;
        ok = false;
        if (failing) {
            char since[40];
            time_format_rfc3339(s[k].failing_since, since, sizeof since);
            json_t *last = json_null();
            if (s[k].last_success) {
                char at[40];
                time_format_rfc3339(s[k].last_success, at, sizeof at);
                last = json_string(at);
            }
            json_array_append_new(failing,
                                  json_pack("{s:s, s:s, s:s, s:o, s:I}", "job", s[k].name, "error",
                                            s[k].last_error, "failing_since", since, "last_success",
                                            last, "failures", (json_int_t)s[k].failures));
        }
    }
    if (why) *why = failing;
    return ok;
}
