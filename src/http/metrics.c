/* metrics.c — request counts and latency histograms by route, in Prometheus text.
 *
 * Counters are plain atomics indexed by route: recording costs a few relaxed
 * increments and never takes a lock on the request path. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"

#include "http/http.h"
#include "http/router.h"
#include "jobs/jobs.h"
#include "views/views.h"
#include "writer/writer.h"

#define MAX_ROUTES 128
#define N_BUCKETS 12
static const double bucket_ms[N_BUCKETS] = {0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 250, 1000, 5000};
static const int status_classes[] = {2, 3, 4, 5};

typedef struct route_metrics {
    atomic_ullong by_class[6];        /* index status/100 */
    atomic_ullong buckets[N_BUCKETS]; /* cumulative at render time */
    atomic_ullong count;
    atomic_ullong sum_us;
} route_metrics;

static route_metrics per_route[MAX_ROUTES + 1]; /* last slot: unmatched paths */

void metrics_record(int route_index, int status, uint64_t ns)
{
    route_metrics *m =
        &per_route[route_index >= 0 && route_index < MAX_ROUTES ? route_index : MAX_ROUTES];
    int cls = status / 100;
    if (cls >= 0 && cls < 6) atomic_fetch_add_explicit(&m->by_class[cls], 1, memory_order_relaxed);
    double ms = (double)ns / 1e6;
    for (int b = 0; b < N_BUCKETS; b++)
        if (ms <= bucket_ms[b]) {
            atomic_fetch_add_explicit(&m->buckets[b], 1, memory_order_relaxed);
            break;
        }
    atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_us, ns / 1000, memory_order_relaxed);
}

store_t *http_server_store(void *srv);
void http_server_conn_stats(void *srv, unsigned long long out[4]); /* server.c */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)n + 64;
        b->p = realloc(b->p, b->cap);
    }
}

char *metrics_render(void *server)
{
    buf b = {malloc(8192), 0, 8192};
    b.p[0] = 0;
    put(&b, "# HELP siyu_http_requests_total HTTP requests by route and status class.\n"
            "# TYPE siyu_http_requests_total counter\n");
    for (int i = 0; i <= route_count && i <= MAX_ROUTES; i++) {
        int slot = i == route_count ? MAX_ROUTES : i;
        const char *method = i == route_count ? "ANY" : routes[i].method;
        const char *path = i == route_count ? "unmatched" : routes[i].pattern;
        for (size_t c = 0; c < sizeof status_classes / sizeof *status_classes; c++) {
            unsigned long long v = atomic_load(&per_route[slot].by_class[status_classes[c]]);
            if (v)
                put(&b,
                    "siyu_http_requests_total{method=\"%s\",route=\"%s\",status=\"%dxx\"} %llu\n",
                    method, path, status_classes[c], v);
        }
    }
    put(&b, "# HELP siyu_http_request_duration_seconds Latency from first byte to answer.\n"
            "# TYPE siyu_http_request_duration_seconds histogram\n");
    for (int i = 0; i <= route_count && i <= MAX_ROUTES; i++) {
        int slot = i == route_count ? MAX_ROUTES : i;
        route_metrics *m = &per_route[slot];
        unsigned long long count = atomic_load(&m->count);
        if (!count) continue;
        const char *method = i == route_count ? "ANY" : routes[i].method;
        const char *path = i == route_count ? "unmatched" : routes[i].pattern;
        unsigned long long cum = 0;
        for (int k = 0; k < N_BUCKETS; k++) {
            cum += atomic_load(&m->buckets[k]);
            put(&b,
                "siyu_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} "
                "%llu\n",
                method, path, bucket_ms[k] / 1000, cum);
        }
        put(&b,
            "siyu_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} "
            "%llu\n",
            method, path, count);
        put(&b, "siyu_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n", method,
            path, (double)atomic_load(&m->sum_us) / 1e6);
        put(&b, "siyu_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n",
            method, path, count);
    }
    unsigned long long cs[4];
    http_server_conn_stats(server, cs);
    put(&b,
        "# HELP siyu_http_connections_open Client connections open now.\n"
        "# TYPE siyu_http_connections_open gauge\nsiyu_http_connections_open %llu\n"
        "# HELP siyu_http_connections_refused_total Connections refused because their client "
        "already held its share (--max-conn-per-client).\n"
        "# TYPE siyu_http_connections_refused_total counter\n"
        "siyu_http_connections_refused_total{reason=\"per_client_limit\"} %llu\n"
        "# HELP siyu_http_connections_timed_out_total Connections closed by a timeout: a "
        "request not sent whole in time (--request-timeout), or idle between requests "
        "(--idle-timeout).\n"
        "# TYPE siyu_http_connections_timed_out_total counter\n"
        "siyu_http_connections_timed_out_total{phase=\"request\"} %llu\n"
        "siyu_http_connections_timed_out_total{phase=\"idle\"} %llu\n",
        cs[0], cs[1], cs[2], cs[3]);
    put(&b,
        "# HELP siyu_store_bytes Size of the store on disk (database and WAL).\n"
        "# TYPE siyu_store_bytes gauge\nsiyu_store_bytes %lld\n",
        (long long)store_size_bytes(http_server_store(server)));
    return b.p;
}

/* ---- the writer and the background jobs ---- */

struct writer *http_server_writer(void *srv);
struct jobs *http_server_jobs(void *srv);
struct views *http_server_views(void *srv);

static int64_t count_due(store_conn *c, store_query q, int64_t now)
{
    store_stmt *s = store_q(c, q);
    store_bind_int(s, 1, now);
    int64_t n = store_step(s) == STORE_ROW ? store_col_int(s, 0) : -1;
    store_reset(s);
    return n;
}

char *metrics_render_background(char *text, void *server, store_conn *c)
{
    buf b = {text, strlen(text), strlen(text) + 1};
    writer_t *w = http_server_writer(server);
    if (w) {
        writer_stats ws;
        writer_get_stats(w, &ws);
        put(&b,
            "# HELP siyu_writer_batches_total Transactions of the group committer.\n"
            "# TYPE siyu_writer_batches_total counter\nsiyu_writer_batches_total %llu\n"
            "# HELP siyu_writer_writes_total Writes run by the group committer.\n"
            "# TYPE siyu_writer_writes_total counter\nsiyu_writer_writes_total %llu\n"
            "# HELP siyu_writer_failed_total Writes undone (refused or failed).\n"
            "# TYPE siyu_writer_failed_total counter\nsiyu_writer_failed_total %llu\n"
            "# HELP siyu_writer_commit_failures_total Group commits that failed.\n"
            "# TYPE siyu_writer_commit_failures_total counter\n"
            "siyu_writer_commit_failures_total %llu\n"
            "# HELP siyu_writer_queued Writes waiting for the group committer.\n"
            "# TYPE siyu_writer_queued gauge\nsiyu_writer_queued %llu\n",
            (unsigned long long)ws.batches, (unsigned long long)ws.writes,
            (unsigned long long)ws.failed, (unsigned long long)ws.commit_failures,
            (unsigned long long)ws.queued);
    }
    jobs_t *j = http_server_jobs(server);
    if (j) {
        job_status s[JOB__COUNT];
        jobs_status(j, s);
        put(&b, "# HELP siyu_job_runs_total Runs of each background job.\n"
                "# TYPE siyu_job_runs_total counter\n");
        for (int k = 0; k < JOB__COUNT; k++)
            put(&b, "siyu_job_runs_total{job=\"%s\"} %llu\n", s[k].name,
                (unsigned long long)s[k].runs);
        put(&b, "# HELP siyu_job_failures_total Failed runs of each background job.\n"
                "# TYPE siyu_job_failures_total counter\n");
        for (int k = 0; k < JOB__COUNT; k++)
            put(&b, "siyu_job_failures_total{job=\"%s\"} %llu\n", s[k].name,
                (unsigned long long)s[k].failures);
        put(&b, "# HELP siyu_job_last_success_seconds When each job last succeeded (Unix time; 0: "
                "never).\n# TYPE siyu_job_last_success_seconds gauge\n");
        for (int k = 0; k < JOB__COUNT; k++)
            put(&b, "siyu_job_last_success_seconds{job=\"%s\"} %lld\n", s[k].name,
                (long long)s[k].last_success);
        put(&b,
            "# HELP siyu_job_failing_since_seconds Since when each job fails (Unix time; 0: its "
            "last run succeeded).\n# TYPE siyu_job_failing_since_seconds gauge\n");
        for (int k = 0; k < JOB__COUNT; k++)
            put(&b, "siyu_job_failing_since_seconds{job=\"%s\"} %lld\n", s[k].name,
                (long long)s[k].failing_since);
        put(&b, "# HELP siyu_job_last_error Each failing job's last error (the value is 1).\n"
                "# TYPE siyu_job_last_error gauge\n");
        for (int k = 0; k < JOB__COUNT; k++) {
            if (!s[k].failing_since) continue;
            put(&b, "siyu_job_last_error{job=\"%s\",error=\"", s[k].name);
            for (const char *p = s[k].last_error; *p; p++) /* label value escapes */
                put(&b, *p == '"' || *p == '\\' ? "\\%c" : *p == '\n' ? " " : "%c", *p);
            put(&b, "\"} 1\n");
        }
    }
    {
        unsigned long long rd[3], aq, aw, ad;
        retention_stats(rd);
        dom_audit_stats(&aq, &aw, &ad);
        put(&b,
            "# HELP siyu_retention_deleted_total Rows deleted by the retention sweep.\n"
            "# TYPE siyu_retention_deleted_total counter\n"
            "siyu_retention_deleted_total{kind=\"events\"} %llu\n"
            "siyu_retention_deleted_total{kind=\"messages\"} %llu\n"
            "siyu_retention_deleted_total{kind=\"audit\"} %llu\n"
            "# HELP siyu_audit_queued Audit rows of reads waiting for the next flush.\n"
            "# TYPE siyu_audit_queued gauge\nsiyu_audit_queued %llu\n"
            "# HELP siyu_audit_flushed_total Audit rows of reads written.\n"
            "# TYPE siyu_audit_flushed_total counter\nsiyu_audit_flushed_total %llu\n"
            "# HELP siyu_audit_dropped_total Audit rows of reads lost (queue full).\n"
            "# TYPE siyu_audit_dropped_total counter\nsiyu_audit_dropped_total %llu\n",
            rd[0], rd[1], rd[2], aq, aw, ad);
    }
    struct views *vw = http_server_views(server);
    if (vw)
        put(&b,
            "# HELP siyu_views_failed_updates_total View updates after a commit whose store "
            "reads failed (the views lag the store until restart).\n"
            "# TYPE siyu_views_failed_updates_total counter\n"
            "siyu_views_failed_updates_total %llu\n",
            (unsigned long long)views_failed_updates(vw));
    if (c) {
        int64_t now = clock_now();
        put(&b,
            "# HELP siyu_backlog_due_runs Active journey runs whose next step is due.\n"
            "# TYPE siyu_backlog_due_runs gauge\nsiyu_backlog_due_runs %lld\n"
            "# HELP siyu_backlog_due_messages Messages queued or retrying and due.\n"
            "# TYPE siyu_backlog_due_messages gauge\nsiyu_backlog_due_messages %lld\n",
            (long long)count_due(c, Q_BACKLOG_RUNS_DUE, now),
            (long long)count_due(c, Q_BACKLOG_MESSAGES_DUE, now));
    }
    return b.p;
}
