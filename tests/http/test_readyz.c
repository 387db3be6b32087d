/* Readiness is not liveness: while the background jobs fail (here: another process
 * holds the store's write lock, so every journey tick and sweep times out), /healthz
 * stays 200 but /readyz answers 503 naming the failing jobs, their last error and
 * since when, and /metrics counts the failures; once the lock is gone the next runs
 * succeed and /readyz is 200 again. (Before: /healthz was the only answer, green while
 * the scheduler failed every tick.) The test waits for states, never for a time. */
#include <check.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "harness.h"

static char buf[1 << 16];

/* Polls /readyz until it answers want (at most ~30 s of 50 ms naps). */
static int wait_ready(int fd, int want)
{
    int st = -1;
    for (int i = 0; i < 600; i++) {
        st = request(fd, "GET", "/readyz", NULL, buf, sizeof buf);
        if (st == want) break;
        usleep(50000);
    }
    return st;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    setenv("SIYU_TICK_SECONDS", "1", 1);
    setenv("SIYU_SWEEP_SECONDS", "1", 1);
    setenv("SIYU_BUSY_TIMEOUT_MS", "200", 1);
    pid_t pid = harness_start(argv[1]);
    int fd = conn_open();
    CHECK(fd >= 0);
    CHECK_INT_EQ(wait_ready(fd, 200), 200);

    /* another process takes the write lock and keeps it (on PostgreSQL, the writers'
     * advisory lock, as siyu's own write transactions take it) */
    sqlite3 *other = NULL;
    PGconn *other_pg = NULL;
    if (harness_on_pg()) {
        other_pg = PQconnectdb(db);
        PGresult *r = PQexec(other_pg, "BEGIN; SELECT pg_advisory_xact_lock(1936292213)");
        CHECK_INT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
        PQclear(r);
    } else {
        CHECK_INT_EQ(sqlite3_open(db, &other), SQLITE_OK);
        CHECK_INT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    }

    CHECK_INT_EQ(wait_ready(fd, 503), 503);
    json_t *v = json_loads(buf, 0, NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(v, "status")), "not_ready");
    CHECK(json_is_true(json_object_get(v, "store"))); /* it still answers reads */
    json_t *failing = json_object_get(v, "failing");
    CHECK(json_array_size(failing) >= 1);
    bool journeys = false;
    size_t i;
    json_t *f;
    json_array_foreach(failing, i, f)
    {
        const char *job = json_string_value(json_object_get(f, "job"));
        if (job && strcmp(job, "journeys") == 0) {
            journeys = true;
            CHECK(strstr(json_string_value(json_object_get(f, "error")), "locked") != NULL);
            CHECK(json_is_string(json_object_get(f, "failing_since")));
            CHECK(json_integer_value(json_object_get(f, "failures")) >= 1);
        }
    }
    CHECK(journeys);
    json_decref(v);
    /* liveness is another question: the process serves */
    CHECK_INT_EQ(request(fd, "GET", "/healthz", NULL, buf, sizeof buf), 200);
    CHECK_INT_EQ(request(fd, "GET", "/metrics", NULL, buf, sizeof buf), 200);
    CHECK(strstr(buf, "siyu_job_failures_total{job=\"journeys\"} 0") == NULL);
    CHECK(strstr(buf, "siyu_job_last_error{job=\"journeys\"") != NULL);
    CHECK(strstr(buf, "siyu_job_failing_since_seconds{job=\"journeys\"} 0") == NULL);

    /* the lock goes: the next runs succeed, and the server is ready again */
    if (other_pg) {
        PQclear(PQexec(other_pg, "ROLLBACK"));
        PQfinish(other_pg);
    } else {
        CHECK_INT_EQ(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(other);
    }
    CHECK_INT_EQ(wait_ready(fd, 200), 200);
    CHECK_INT_EQ(request(fd, "GET", "/metrics", NULL, buf, sizeof buf), 200);
    CHECK(strstr(buf, "siyu_job_failing_since_seconds{job=\"journeys\"} 0") != NULL);
    /* and writes go through */
    CHECK_INT_EQ(request(fd, "POST", "/api/v1/brands", "{\"name\":\"B\"}", buf, sizeof buf), 201);
    close(fd);
    CHECK_INT_EQ(harness_stop(pid), 0);
    return CHECK_DONE();
}
