/* jobs.h — the background jobs of siyu serve.
 *
 * One thread runs, every SIYU_TICK_SECONDS (default 5): the journey tick (enrols
 * members and advances due runs, in one write submitted to the group committer),
 * then the outbox (delivers due messages); and every SIYU_SWEEP_SECONDS (default 60)
 * the loyalty sweep (expiries and tier reviews, in bounded writes through the group
 * committer). 0 turns a job off.
 *
 * Each job keeps its status — runs, failures, the last success, the last error and
 * since when it fails — which /readyz (ready only while every job's last run
 * succeeded) and /metrics (with the backlog: due runs, due messages) show. */
#ifndef SIYU_JOBS_JOBS_H
#define SIYU_JOBS_JOBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/metric.h"
#include "store/store.h"

struct writer;
struct views;

/* JOB_AUDIT writes the queued audit rows of reads (every SIYU_AUDIT_FLUSH_SECONDS,
 * default 1); JOB_RETENTION deletes what is older than the retention settings
 * (every SIYU_RETENTION_SECONDS, default 3600), in writes of at most 1000 rows a kind. */
typedef enum job_kind {
    JOB_JOURNEYS,
    JOB_OUTBOX,
    JOB_SWEEP,
    JOB_AUDIT,
    JOB_RETENTION,
    JOB__COUNT
} job_kind;

typedef struct job_status {
    const char *name;   /* "journeys", "outbox", "sweep" */
    int period_seconds; /* 0: off */
    uint64_t runs, failures;
    int64_t last_run;     /* Unix seconds, 0 before the first run */
    int64_t last_success; /* 0 when it never succeeded */
    int64_t
        failing_since; /* the first failure of the current streak, 0 when the last run succeeded */
    char last_error[256]; /* the last failure's message, "" if none */
} job_status;

typedef struct jobs jobs_t;

typedef struct jobs_config {
    int tick_seconds;      /* journeys and outbox; default from SIYU_TICK_SECONDS (5) */
    int sweep_seconds;     /* loyalty sweep; default from SIYU_SWEEP_SECONDS (60) */
    int audit_seconds;     /* audit flush of reads; default from SIYU_AUDIT_FLUSH_SECONDS (1) */
    int retention_seconds; /* retention sweep; default from SIYU_RETENTION_SECONDS (3600) */
} jobs_config;
void jobs_config_init(jobs_config *c); /* reads the environment */

/* Starts the thread (none when every job is off; the status is still answered).
 * w is the group committer every job's writes go to; vw (may be NULL) follows them. */
int jobs_start(store_t *st, struct writer *w, struct views *vw, const jobs_config *cfg,
               jobs_t **out, siyu_err *e);
void jobs_stop(jobs_t *j); /* NULL is a no-op */

/* Runs one job now on the calling thread (tests, siyu loyalty sweep); records its
 * status like a scheduled run. Returns its result. */
int jobs_run(jobs_t *j, job_kind k, siyu_err *e);

void jobs_status(jobs_t *j, job_status out[JOB__COUNT]);
/* Readiness: true when every job's last run succeeded (or it has not run yet). With
 * why, an object per failing job: {"job", "error", "failing_since", "failures"}. */
bool jobs_ready(jobs_t *j, json_t **why);
/* The seconds each run of job k took (every run, failed or not). */
metric_hist *jobs_duration(job_kind k);

#endif
