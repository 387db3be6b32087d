/* metric.c — lock-free histograms (metric.h). */
#include "base/metric.h"

const double metric_le_seconds[16] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
const double metric_le_long_seconds[12] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5,
                                           1,     5,     10,   30,   60,  600};
const double metric_le_size[11] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

void metric_observe(metric_hist *h, double v)
{
    int i = 0;
    while (i < h->n && v > h->le[i])
        i++;
    atomic_fetch_add_explicit(&h->b[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    if (v > 0)
        atomic_fetch_add_explicit(&h->sum_micro, (unsigned long long)(v * 1e6 + 0.5),
                                  memory_order_relaxed);
}

void metric_hist_read(metric_hist *h, unsigned long long *cum, unsigned long long *count,
                      double *sum)
{
    unsigned long long c = 0;
    for (int i = 0; i < h->n; i++) {
        c += atomic_load_explicit(&h->b[i], memory_order_relaxed);
        cum[i] = c;
    }
    c += atomic_load_explicit(&h->b[h->n], memory_order_relaxed);
    /* a scrape racing an observation may see a bucket before the count: never less */
    unsigned long long n = atomic_load_explicit(&h->count, memory_order_relaxed);
    *count = n > c ? n : c;
    *sum = (double)atomic_load_explicit(&h->sum_micro, memory_order_relaxed) / 1e6;
}
