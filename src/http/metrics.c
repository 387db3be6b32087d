/* metrics.c — request counts and latency histograms by route, in Prometheus text.
 *
 * Counters are plain atomics indexed by route: recording costs a few relaxed
 * increments and never takes a lock on the request path. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"

#define MAX_ROUTES 128
#define N_BUCKETS 12
static const double bucket_ms[N_BUCKETS] = {0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 250, 1000, 5000};
static const int status_classes[] = {2, 3, 4, 5};

typedef struct route_metrics {
    atomic_ullong by_class[6];         /* index status/100 */
    atomic_ullong buckets[N_BUCKETS];  /* cumulative at render time */
    atomic_ullong count;
    atomic_ullong sum_us;
} route_metrics;

static route_metrics per_route[MAX_ROUTES + 1]; /* last slot: unmatched paths */

void metrics_record(int route_index, int status, uint64_t ns)
{
    route_metrics *m = &per_route[route_index >= 0 && route_index < MAX_ROUTES ? route_index : MAX_ROUTES];
    int cls = status / 100;
    if (cls >= 0 && cls < 6)
        atomic_fetch_add_explicit(&m->by_class[cls], 1, memory_order_relaxed);
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
                put(&b, "siyu_http_requests_total{method=\"%s\",route=\"%s\",status=\"%dxx\"} %llu\n",
                    method, path, status_classes[c], v);
        }
    }
    put(&b, "# HELP siyu_http_request_duration_seconds Latency from first byte to answer.\n"
            "# TYPE siyu_http_request_duration_seconds histogram\n");
    for (int i = 0; i <= route_count && i <= MAX_ROUTES; i++) {
        int slot = i == route_count ? MAX_ROUTES : i;
        route_metrics *m = &per_route[slot];
        unsigned long long count = atomic_load(&m->count);
        if (!count)
            continue;
        const char *method = i == route_count ? "ANY" : routes[i].method;
        const char *path = i == route_count ? "unmatched" : routes[i].pattern;
        unsigned long long cum = 0;
        for (int k = 0; k < N_BUCKETS; k++) {
            cum += atomic_load(&m->buckets[k]);
            put(&b, "siyu_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
                method, path, bucket_ms[k] / 1000, cum);
        }
        put(&b, "siyu_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n",
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
    put(&b, "# HELP siyu_store_bytes Size of the store on disk (database and WAL).\n"
            "# TYPE siyu_store_bytes gauge\nsiyu_store_bytes %lld\n",
        (long long)store_size_bytes(http_server_store(server)));
    return b.p;
}
