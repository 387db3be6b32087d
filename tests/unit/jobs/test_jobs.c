/* Unit tests for src/jobs and src/writer: the background jobs write through the group
 * committer, and a job that fails is seen — its status (failures, last error, since
 * when) and readiness say so until a run succeeds again; the committer undoes a write
 * whose store read failed even when the write itself answered success. */
#include <check.h>
#include <pgtest.h>
#include <unistd.h>

#include "jobs/jobs.h"
#include "writer/writer.h"

/* A write that ignores a failed read (as ~200 callers used to) and answers success. */
static int careless_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    (void)changes;
    (void)e;
    store_stmt *s = store_q(c, Q_BRAND_BY_NAME);
    store_bind_text(s, 1, "x");
    bool found = store_step(s) == STORE_ROW; /* the injected fault: "not found" */
    store_reset(s);
    if (!found) {
        s = store_q(c, Q_BRAND_INSERT);
        store_bind_text(s, 1, (const char *)arg);
        store_bind_int(s, 2, 1);
        store_exec(s, e); /* fails fast: the connection has the sticky error */
        siyu_err_clear(e);
    }
    return 0;
}

static int brand_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    (void)changes;
    store_stmt *s = store_q(c, Q_BRAND_INSERT);
    store_bind_text(s, 1, (const char *)arg);
    store_bind_int(s, 2, 1);
    return store_exec(s, e);
}

static int brands(store_t *st)
{
    store_conn *c;
    siyu_err e;
    siyu_err_init(&e);
    if (store_conn_open(st, &c, &e)) return -1;
    int n = 0;
    store_begin(c, false, &e);
    store_stmt *s = store_q(c, Q_BRAND_LIST);
    store_bind_int(s, 1, 0);
    store_bind_int(s, 2, 1000);
    while (store_step(s) == STORE_ROW)
        n++;
    store_rollback(c);
    store_conn_close(c);
    return n;
}

int main(void)
{
    char dir[] = "/tmp/siyu-jobs-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[512], pg_name[64]; /* a file in dir, or a fresh PostgreSQL database */
    int pg = pgtest_fresh("jobs", pg_name, path, sizeof path);
    CHECK(pg >= 0);
    if (pg > 0) snprintf(path, sizeof path, "%s/j.db", dir);
    siyu_err e;
    siyu_err_init(&e);
    store_t *st = NULL;
    store_options create = {.sync = STORE_SYNC_NORMAL, .create = true};
    CHECK_INT_EQ(store_open(path, &create, &st, &e), 0);
    writer_t *w = NULL;
    CHECK_INT_EQ(writer_start(st, NULL, NULL, &w, &e), 0);

    /* the committer: a write that answers success after a failed read is undone */
    CHECK_INT_EQ(writer_submit(w, brand_fn, "kept", NULL, &e), 0);
    store_fault_set(st, 1, STORE_FAULT_IOERR);
    CHECK_INT_EQ(writer_submit(w, careless_fn, "half", NULL, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_INTERNAL);
    CHECK(strstr(e.message, "I/O") != NULL);
    siyu_err_clear(&e);
    CHECK_INT_EQ(brands(st), 1);
    CHECK_INT_EQ(writer_submit(w, brand_fn, "after", NULL, &e), 0); /* the next one is clean */
    CHECK_INT_EQ(brands(st), 2);
    writer_stats ws;
    writer_get_stats(w, &ws);
    CHECK_INT_EQ((int)ws.writes, 3);
    CHECK_INT_EQ((int)ws.failed, 1);

    /* a lease: the writer's connection lent for one transaction of the caller's (a model
     * fit's results), then writes flow again */
    store_conn *lc = NULL;
    CHECK_INT_EQ(writer_lease(w, &lc, &e), 0);
    CHECK(lc != NULL);
    CHECK(!store_in_tx(lc));
    CHECK_INT_EQ(store_begin(lc, true, &e), 0);
    CHECK_INT_EQ(brand_fn(lc, NULL, "leased", &e), 0);
    CHECK_INT_EQ(store_commit(lc, &e), 0);
    CHECK_INT_EQ(writer_lease_end(w, &e), 0);
    CHECK_INT_EQ(brands(st), 3);
    CHECK_INT_EQ(writer_lease(w, &lc, &e), 0); /* left open: rolled back at the end */
    CHECK_INT_EQ(store_begin(lc, true, &e), 0);
    CHECK_INT_EQ(brand_fn(lc, NULL, "dropped", &e), 0);
    CHECK_INT_EQ(writer_lease_end(w, &e), 0);
    CHECK_INT_EQ(writer_submit(w, brand_fn, "later", NULL, &e), 0);
    CHECK_INT_EQ(brands(st), 4);

    /* the jobs: no thread (periods 0), run by hand */
    jobs_config cfg = {.tick_seconds = 0, .sweep_seconds = 0};
    jobs_t *j = NULL;
    CHECK_INT_EQ(jobs_start(st, w, NULL, &cfg, &j, &e), 0);
    json_t *why = NULL;
    CHECK(jobs_ready(j, &why)); /* nothing ran yet: ready */
    json_decref(why);
    for (int k = 0; k < JOB__COUNT; k++) {
        CHECK_INT_EQ(jobs_run(j, (job_kind)k, &e), 0);
        siyu_err_clear(&e);
    }
    CHECK(jobs_ready(j, NULL));

    /* a tick that fails is seen: not ready, naming the job, its error and since when */
    store_fault_set(st, 1, STORE_FAULT_IOERR);
    CHECK_INT_EQ(jobs_run(j, JOB_JOURNEYS, &e), -1);
    siyu_err_clear(&e);
    CHECK(!jobs_ready(j, &why));
    CHECK_INT_EQ(json_array_size(why), 1);
    json_t *f = json_array_get(why, 0);
    CHECK_STR_EQ(json_string_value(json_object_get(f, "job")), "journeys");
    CHECK(strstr(json_string_value(json_object_get(f, "error")), "I/O") != NULL);
    CHECK(json_string_value(json_object_get(f, "failing_since")) != NULL);
    CHECK(json_is_string(json_object_get(f, "last_success")));
    json_decref(why);
    job_status s[JOB__COUNT];
    jobs_status(j, s);
    CHECK_INT_EQ((int)s[JOB_JOURNEYS].runs, 2);
    CHECK_INT_EQ((int)s[JOB_JOURNEYS].failures, 1);
    CHECK(s[JOB_JOURNEYS].failing_since > 0);
    int64_t since = s[JOB_JOURNEYS].failing_since;
    /* it keeps failing: since when stays the first failure's */
    store_fault_set(st, 1, STORE_FAULT_BUSY);
    CHECK_INT_EQ(jobs_run(j, JOB_JOURNEYS, &e), -1);
    siyu_err_clear(&e);
    jobs_status(j, s);
    CHECK_INT_EQ(s[JOB_JOURNEYS].failing_since, since);
    CHECK(strstr(s[JOB_JOURNEYS].last_error, "locked") != NULL);
    /* the sweep fails the same way, through the committer */
    store_fault_set(st, 1, STORE_FAULT_IOERR);
    CHECK_INT_EQ(jobs_run(j, JOB_SWEEP, &e), -1);
    siyu_err_clear(&e);
    CHECK(!jobs_ready(j, &why));
    CHECK_INT_EQ(json_array_size(why), 2);
    json_decref(why);
    /* a run that succeeds makes the job ready again */
    CHECK_INT_EQ(jobs_run(j, JOB_JOURNEYS, &e), 0);
    CHECK_INT_EQ(jobs_run(j, JOB_SWEEP, &e), 0);
    CHECK(jobs_ready(j, NULL));
    jobs_status(j, s);
    CHECK_INT_EQ(s[JOB_JOURNEYS].failing_since, 0);
    CHECK(s[JOB_JOURNEYS].last_success >= since);

    jobs_stop(j);
    writer_stop(w);
    store_close(st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT_EQ(system(cmd), 0);
    pgtest_drop(pg_name);
    return CHECK_DONE();
}
