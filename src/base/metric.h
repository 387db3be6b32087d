/* metric.h — histograms for /metrics, kept where things happen.
 *
 * The writer, the store, the jobs, the outbox, the webhook adapter and the importer each
 * keep their own counters and histograms as atomics (relaxed increments, never a lock on
 * the path they measure); /metrics (http/metrics.c) reads them when it is scraped. A
 * histogram has fixed upper bounds, counts per bucket, a count and a sum. */
#ifndef SIYU_BASE_METRIC_H
#define SIYU_BASE_METRIC_H

#include <stdatomic.h>
#include <stddef.h>

#define METRIC_BUCKETS_MAX 16

typedef struct metric_hist {
    const double *le;                        /* upper bounds, ascending */
    int n;                                   /* how many (at most METRIC_BUCKETS_MAX) */
    atomic_ullong b[METRIC_BUCKETS_MAX + 1]; /* per bucket; b[n]: above every bound */
    atomic_ullong count;
    atomic_ullong sum_micro; /* the sum of the values, in millionths */
} metric_hist;

/* Bounds for latencies in seconds (100 µs to 10 s) and for sizes (1 to 1024). */
extern const double metric_le_seconds[16];
extern const double metric_le_long_seconds[12]; /* 1 ms to 10 min: background jobs */
extern const double metric_le_size[11];

#define METRIC_HIST(bounds)                                                                        \
    {                                                                                              \
        .le = bounds, .n = (int)(sizeof bounds / sizeof *bounds)                                   \
    }

void metric_observe(metric_hist *h, double v);
/* cum[i]: observations <= le[i] (n of them); *count and *sum of all. */
void metric_hist_read(metric_hist *h, unsigned long long *cum, unsigned long long *count,
                      double *sum);

#endif
