/* metrics.c — /metrics in Prometheus text: requests by route and status, latency
 * histograms, and what the writer, the store, the jobs, the outbox, the webhook adapter
 * and the importer count where they work (each keeps its own atomics; this file only
 * reads them), with the process's own figures and the build.
 *
 * Counters are plain atomics indexed by route: recording costs a few relaxed
 * increments and never takes a lock on the request path. */
#include <dirent.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/metric.h"
#include "base/timeutil.h"
#include "import/import.h"
#include "journey/journey.h"
#include "messaging/msg_adapter.h"
#include "reports/reports.h"
#include "segment/index.h"

#include "http/http.h"
#include "http/router.h"
#include "jobs/jobs.h"
#include "views/member_cache.h"

struct member_cache *http_server_member_cache(void *srv);
#include "views/group_view.h"
#include "views/views.h"
#include "writer/writer.h"

#define MAX_ROUTES 128
#define N_BUCKETS 12
static const double bucket_ms[N_BUCKETS] = {0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 250, 1000, 5000};
static const int status_classes[] = {2, 3, 4, 5};

typedef struct route_metrics {
    atomic_ullong by_class[6];        /* index status/100 */
    atomic_ullong by_code[500];       /* index status - 100 */
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
    if (status >= 100 && status < 600)
        atomic_fetch_add_explicit(&m->by_code[status - 100], 1, memory_order_relaxed);
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
void http_server_conn_stats(void *srv, unsigned long long out[6]); /* server.c */
int http_server_in_flight(void *srv);                              /* server.c */
unsigned long long http_server_blocked_io(void *srv);              /* server.c */
unsigned long long http_server_to_workers(void *srv);              /* server.c */

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

/* One histogram's series; labels is "" or `job="x"` (HELP and TYPE are the caller's). */
static void put_hist(buf *b, const char *name, const char *labels, metric_hist *h)
{
    unsigned long long cum[METRIC_BUCKETS_MAX], count;
    double sum;
    metric_hist_read(h, cum, &count, &sum);
    const char *sep = *labels ? "," : "";
    for (int i = 0; i < h->n; i++)
        put(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, h->le[i], cum[i]);
    put(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, count);
    put(b, "%s_sum%s%s%s %.6f\n", name, *labels ? "{" : "", labels, *labels ? "}" : "", sum);
    put(b, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels, *labels ? "}" : "", count);
}

static void put_family(buf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The process's own figures, from /proc (Linux): CPU seconds, resident and virtual
 * memory, open and allowed file descriptors, start time. */
static void put_process(buf *b)
{
    static int64_t boot = -1;
    if (boot < 0) {
        FILE *f = fopen("/proc/stat", "r");
        char line[256];
        boot = 0;
        while (f && fgets(line, sizeof line, f))
            if (strncmp(line, "btime ", 6) == 0) boot = atoll(line + 6);
        if (f) fclose(f);
    }
    FILE *f = fopen("/proc/self/stat", "r");
    char st[1024] = "";
    size_t n = f ? fread(st, 1, sizeof st - 1, f) : 0;
    if (f) fclose(f);
    st[n] = 0;
    const char *p = strrchr(st, ')'); /* the command name may hold spaces */
    unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
    long long rss = 0;
    if (p)
        sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
               "%llu %llu %lld",
               &utime, &stime, &start, &vsize, &rss);
    double tick = (double)sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    int fds = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *de; d && (de = readdir(d));)
        if (de->d_name[0] != '.') fds++;
    if (d) closedir(d), fds--; /* the directory's own descriptor */
    struct rlimit rl;
    long long max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long long)rl.rlim_cur : -1;
    put_family(b, "process_cpu_seconds_total", "counter", "User and system CPU time spent.");
    put(b, "process_cpu_seconds_total %.2f\n", (double)(utime + stime) / tick);
    put_family(b, "process_resident_memory_bytes", "gauge", "Resident memory size.");
    put(b, "process_resident_memory_bytes %lld\n", rss * page);
    put_family(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size.");
    put(b, "process_virtual_memory_bytes %llu\n", vsize);
    put_family(b, "process_open_fds", "gauge", "Open file descriptors.");
    put(b, "process_open_fds %d\n", fds);
    put_family(b, "process_max_fds", "gauge", "The limit of open file descriptors.");
    put(b, "process_max_fds %lld\n", max_fds);
    put_family(b, "process_start_time_seconds", "gauge", "Start time of the process (Unix time).");
    put(b, "process_start_time_seconds %.2f\n", (double)boot + (double)start / tick);
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
    put_family(&b, "siyu_http_responses_total", "counter",
               "HTTP answers by route and status code.");
    for (int i = 0; i <= route_count && i <= MAX_ROUTES; i++) {
        int slot = i == route_count ? MAX_ROUTES : i;
        const char *method = i == route_count ? "ANY" : routes[i].method;
        const char *path = i == route_count ? "unmatched" : routes[i].pattern;
        for (int k = 0; k < 500; k++) {
            unsigned long long v = atomic_load(&per_route[slot].by_code[k]);
            if (v)
                put(&b, "siyu_http_responses_total{method=\"%s\",route=\"%s\",code=\"%d\"} %llu\n",
                    method, path, k + 100, v);
        }
    }
    put_family(&b, "siyu_http_requests_in_flight", "gauge",
               "Requests being served now (this scrape included).");
    put(&b, "siyu_http_requests_in_flight %d\n", http_server_in_flight(server));
    unsigned long long cs[6];
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
        "# HELP siyu_http_store_connections Store connections the server has opened to lend "
        "to requests (at most --threads).\n"
        "# TYPE siyu_http_store_connections gauge\nsiyu_http_store_connections %llu\n"
        "# HELP siyu_http_store_connection_waits_total Requests that waited because every "
        "store connection was lent (more requests at once than --threads).\n"
        "# TYPE siyu_http_store_connection_waits_total counter\n"
        "siyu_http_store_connection_waits_total %llu\n"
        "# HELP siyu_http_io_thread_waits_total Requests whose handler waited for the group "
        "committer on an I/O thread, holding up that thread's connections (a route to mark "
        "ROUTE_LONG; 0 when every route is declared right).\n"
        "# TYPE siyu_http_io_thread_waits_total counter\n"
        "siyu_http_io_thread_waits_total %llu\n"
        "# HELP siyu_http_worker_requests_total Requests an I/O thread handed to a worker "
        "because they may wait: writes with no store connection free, imports, reports, "
        "exports, scans.\n"
        "# TYPE siyu_http_worker_requests_total counter\n"
        "siyu_http_worker_requests_total %llu\n",
        cs[4], cs[5], http_server_blocked_io(server), http_server_to_workers(server));
    {
        uint64_t hits, misses;
        auth_cache_counts(&hits, &misses);
        put(&b,
            "# HELP siyu_auth_token_cache_total Bearer token checks, by whether the cache of "
            "resolved tokens answered (hit) or the store did (miss).\n"
            "# TYPE siyu_auth_token_cache_total counter\n"
            "siyu_auth_token_cache_total{result=\"hit\"} %llu\n"
            "siyu_auth_token_cache_total{result=\"miss\"} %llu\n",
            (unsigned long long)hits, (unsigned long long)misses);
    }
    {
        member_cache_stats m;
        member_cache_get_stats(http_server_member_cache(server), &m);
        put(&b,
            "# HELP siyu_member_cache_total Member 360 requests by whether a kept answer served "
            "them (hit) or the store did (miss).\n"
            "# TYPE siyu_member_cache_total counter\n"
            "siyu_member_cache_total{result=\"hit\"} %llu\n"
            "siyu_member_cache_total{result=\"miss\"} %llu\n"
            "# HELP siyu_member_cache_stale_total Kept 360s that differed from a fresh render "
            "(SIYU_MEMBER_CACHE=verify; a defect when not 0).\n"
            "# TYPE siyu_member_cache_stale_total counter\nsiyu_member_cache_stale_total %llu\n"
            "# HELP siyu_member_cache_poll_failures_total Polls of the change sequence that "
            "failed (nothing kept is served until one succeeds).\n"
            "# TYPE siyu_member_cache_poll_failures_total counter\n"
            "siyu_member_cache_poll_failures_total %llu\n"
            "# HELP siyu_member_cache_entries Member 360s kept.\n"
            "# TYPE siyu_member_cache_entries gauge\nsiyu_member_cache_entries %llu\n"
            "# HELP siyu_member_cache_bytes Bytes of member 360s kept.\n"
            "# TYPE siyu_member_cache_bytes gauge\nsiyu_member_cache_bytes %llu\n",
            (unsigned long long)m.hits, (unsigned long long)m.misses, (unsigned long long)m.stale,
            (unsigned long long)m.poll_failures, (unsigned long long)m.entries,
            (unsigned long long)m.bytes);
    }
    put(&b,
        "# HELP siyu_store_bytes Size of the store on disk (database and WAL).\n"
        "# TYPE siyu_store_bytes gauge\nsiyu_store_bytes %lld\n",
        (long long)store_size_bytes(http_server_store(server)));
    {
        /* a SQLite store's WAL on its own: it grows between checkpoints */
        const char *path = store_path(http_server_store(server));
        char wal[1100];
        struct stat sb;
        if (path && !strstr(path, "://")) {
            snprintf(wal, sizeof wal, "%s-wal", path);
            put_family(&b, "siyu_store_wal_bytes", "gauge",
                       "Size of the SQLite store's write-ahead log.");
            put(&b, "siyu_store_wal_bytes %lld\n",
                stat(wal, &sb) == 0 ? (long long)sb.st_size : 0LL);
        }
        put_family(&b, "siyu_build_info", "gauge",
                   "The running build: siyu's version, the store's engine and SQLite's version.");
        put(&b, "siyu_build_info{version=\"%s\",store=\"%s\",sqlite=\"%s\"} 1\n", SIYU_VERSION,
            path && strstr(path, "://") ? "postgresql" : "sqlite", sqlite3_libversion());
    }
    put_process(&b);
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
            "# TYPE siyu_writer_queued gauge\nsiyu_writer_queued %llu\n"
            "# HELP siyu_writer_syncs_total Committed batches the group committer made durable, "
            "by who synced them.\n"
            "# TYPE siyu_writer_syncs_total counter\n"
            "siyu_writer_syncs_total{by=\"writer\"} %llu\n"
            "siyu_writer_syncs_total{by=\"sync_thread\"} %llu\n",
            (unsigned long long)ws.batches, (unsigned long long)ws.writes,
            (unsigned long long)ws.failed, (unsigned long long)ws.commit_failures,
            (unsigned long long)ws.queued, (unsigned long long)ws.synced_inline,
            (unsigned long long)ws.synced_deferred);
        put_family(&b, "siyu_writer_batch_size", "histogram",
                   "Writes in each group commit (one transaction, one fsync).");
        put_hist(&b, "siyu_writer_batch_size", "", writer_batch_sizes());
        put_family(&b, "siyu_writer_commit_seconds", "histogram",
                   "Time of each group commit's COMMIT, its fsync included.");
        put_hist(&b, "siyu_writer_commit_seconds", "", writer_commit_seconds());
    }
    put_family(&b, "siyu_store_fsync_seconds", "histogram",
               "Time of each fsync of a SQLite store's files (WAL at commit, database at "
               "checkpoint).");
    put_hist(&b, "siyu_store_fsync_seconds", "", store_sync_seconds());
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
        put_family(&b, "siyu_job_duration_seconds", "histogram",
                   "Time of each run of each background job, failed runs included.");
        for (int k = 0; k < JOB__COUNT; k++) {
            char lab[64];
            snprintf(lab, sizeof lab, "job=\"%s\"", s[k].name);
            put_hist(&b, "siyu_job_duration_seconds", lab, jobs_duration((job_kind)k));
        }
        put_family(&b, "siyu_job_last_run_seconds", "gauge",
                   "When each job last ran (Unix time; 0: never).");
        for (int k = 0; k < JOB__COUNT; k++)
            put(&b, "siyu_job_last_run_seconds{job=\"%s\"} %lld\n", s[k].name,
                (long long)s[k].last_run);
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
    {
        static const char *const out_names[4] = {"sent", "retry", "dead", "skipped"};
        unsigned long long oc[4];
        journey_outbox_outcomes(oc);
        put_family(&b, "siyu_outbox_messages_total", "counter",
                   "Messages the outbox recorded by outcome: sent, retry (scheduled again), dead "
                   "(a dead letter: no more attempts), skipped (consent withdrawn).");
        for (int k = 0; k < 4; k++)
            put(&b, "siyu_outbox_messages_total{outcome=\"%s\"} %llu\n", out_names[k], oc[k]);
        static const char *const wh_names[MSG_WEBHOOK__OUTCOMES] = {"delivered", "retryable",
                                                                    "refused", "network"};
        unsigned long long wo[MSG_WEBHOOK__OUTCOMES];
        msg_webhook_outcomes(wo);
        put_family(&b, "siyu_webhook_attempts_total", "counter",
                   "Webhook attempts by outcome: delivered (2xx), retryable (408, 425, 429, 5xx), "
                   "refused (any other status), network (no answer).");
        for (int k = 0; k < MSG_WEBHOOK__OUTCOMES; k++)
            put(&b, "siyu_webhook_attempts_total{outcome=\"%s\"} %llu\n", wh_names[k], wo[k]);
        put_family(&b, "siyu_webhook_duration_seconds", "histogram",
                   "Time of each webhook attempt, until the receiver answered or failed.");
        put_hist(&b, "siyu_webhook_duration_seconds", "", msg_webhook_seconds());
        put_family(&b, "siyu_import_records_total", "counter",
                   "Records of the imports this process ran, by kind and outcome.");
        for (int k = 0; k < IMPORT_KINDS; k++) {
            unsigned long long ic[4];
            import_counts(k, ic);
            put(&b,
                "siyu_import_records_total{kind=\"%s\",outcome=\"imported\"} %llu\n"
                "siyu_import_records_total{kind=\"%s\",outcome=\"duplicate\"} %llu\n"
                "siyu_import_records_total{kind=\"%s\",outcome=\"rejected\"} %llu\n",
                import_kind_name(k), ic[0], import_kind_name(k), ic[1], import_kind_name(k), ic[2]);
        }
        put_family(&b, "siyu_import_failures_total", "counter",
                   "Imports that could not finish (a bad header, a store failure), by kind.");
        for (int k = 0; k < IMPORT_KINDS; k++) {
            unsigned long long ic[4];
            import_counts(k, ic);
            put(&b, "siyu_import_failures_total{kind=\"%s\"} %llu\n", import_kind_name(k), ic[3]);
        }
    }
    struct views *vw = http_server_views(server);
    if (vw) {
        seg_index_stats is;
        seg_index_stats_get(views_index(vw), &is);
        reports_stats rs;
        reports_get_stats(views_reports(vw), &rs);
        put_family(&b, "siyu_member_index_bytes", "gauge",
                   "Memory of the in-memory member index (audiences), counting the views "
                   "snapshot's pages it uses in place.");
        put(&b, "siyu_member_index_bytes %zu\n", is.bytes);
        put_family(&b, "siyu_member_index_members", "gauge", "Members in the member index.");
        put(&b, "siyu_member_index_members %zu\n", is.members);
        put_family(&b, "siyu_report_facts_bytes", "gauge",
                   "Memory of the in-memory report facts (orders, items, members).");
        put(&b, "siyu_report_facts_bytes %zu\n", rs.bytes);
        put_family(&b, "siyu_report_facts_orders", "gauge", "Orders in the report facts.");
        put(&b, "siyu_report_facts_orders %zu\n", rs.orders);
        group_view_stats gs;
        group_view_get_stats(views_groups(vw), &gs);
        put_family(&b, "siyu_group_view_bytes", "gauge",
                   "Memory of the in-memory group view (groups, group-days, stints).");
        put(&b, "siyu_group_view_bytes %zu\n", gs.bytes);
        put_family(&b, "siyu_group_view_stints", "gauge", "Customer stints in the group view.");
        put(&b, "siyu_group_view_stints %zu\n", gs.stints);
        put_family(&b, "siyu_group_view_ready", "gauge",
                   "1 when the groups report is answered from the group view, 0 while it "
                   "reads SQL (the view stale or being rebuilt).");
        put(&b, "siyu_group_view_ready %d\n", gs.ready ? 1 : 0);
    }
    if (vw) {
        put_family(&b, "siyu_views_start_seconds", "gauge",
                   "How long the node took at start to have its views: read from the views "
                   "snapshot (source=\"snapshot\") or rebuilt from the store (source=\"store\").");
        put(&b, "siyu_views_start_seconds{source=\"%s\"} %.3f\n",
            views_read_from_snapshot(vw) ? "snapshot" : "store", views_start_seconds(vw));
    }
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
        put_family(&b, "siyu_outbox_depth", "gauge",
                   "Messages waiting in the outbox (queued or retrying, due or not).");
        put(&b, "siyu_outbox_depth %lld\n",
            (long long)count_due(c, Q_BACKLOG_MESSAGES_DUE, INT64_MAX));
        /* readiness as /readyz decides it: the store answers, the views follow it, every
         * job's last run succeeded */
        store_stmt *ps = store_q(c, Q_STORE_PING);
        bool ready = store_step(ps) == STORE_ROW;
        store_reset(ps);
        if (j && !jobs_ready(j, NULL)) ready = false;
        if (vw && views_failed_updates(vw)) ready = false;
        if (w && writer_sync_failed(w, NULL, 0)) ready = false;
        put_family(&b, "siyu_ready", "gauge", "1 while GET /readyz answers 200, else 0.");
        put(&b, "siyu_ready %d\n", ready ? 1 : 0);
    }
    return b.p;
}
