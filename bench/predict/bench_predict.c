/* bench_predict.c — how fast siyu fits and scores the prediction models.
 *
 * 1. CDNOW (2,357 customers, weeks): BG/NBD and Gamma-Gamma fits, best of 50 runs.
 * 2. N simulated members of a chain (default 2,000,000): two years of acquisition, time in
 *    whole days (so identical histories collapse), BG/NBD histories and Gamma-Gamma spend
 *    drawn from known parameters with GSL's RNG. Fit both models with 1 and 2 threads, then
 *    score every member (p_alive, 90-day purchases, expected value, 12-month CLV) with 1 and
 *    2 threads.
 * The obvious alternative, Python lifetimes' BetaGeoFitter on numpy/scipy, cannot be
 * installed here; the issue gives its figures measured on this machine class — 35 ms for
 * CDNOW and 15 s for 2.36 million customers — and the ratios below use those (the latter
 * scaled linearly to N). They are reference figures, not measured by this program.
 *
 * Run: bench_predict CDNOW_DIR [MEMBERS] */
#include "cdnow.h"
#include "sim.h"
#include "predict/predict.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void row(const char *what, double ms, double ref_ms, double goal_ms)
{
    char ref[32] = "-", ratio[32] = "-", goal[32] = "-";
    if (ref_ms > 0) {
        snprintf(ref, sizeof ref, "%.0f ms", ref_ms);
        snprintf(ratio, sizeof ratio, "%.0fx", ref_ms / ms);
    }
    if (goal_ms > 0)
        snprintf(goal, sizeof goal, "< %g ms %s", goal_ms, ms < goal_ms ? "ok" : "MISSED");
    printf("%-52s %10.2f ms %12s %8s   %s\n", what, ms, ref, ratio, goal);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "data/cdnow";
    long members = argc > 2 ? atol(argv[2]) : 2000000;
    if (members < 1000) members = 1000;
    predict_error e;

    /* ---- CDNOW ---- */
    size_t n;
    predict_txn *tx = cdnow_read(dir, &n);
    if (!tx) return 1;
    predict_window w = cdnow_window();
    predict_cbs cbs;
    if (predict_cbs_build(tx, n, &w, &cbs, &e) != PREDICT_OK) {
        fprintf(stderr, "bench_predict: %s\n", e.message);
        return 1;
    }
    predict_bgnbd bg;
    predict_gg gg;
    double best_bg = 1e9, best_gg = 1e9, best_both = 1e9;
    for (int i = 0; i < 50; i++) {
        double t0 = now_ms();
        predict_bgnbd_fit(&cbs, NULL, &bg, &e);
        double t1 = now_ms();
        predict_gg_fit(&cbs, NULL, &gg, &e);
        double t2 = now_ms();
        best_bg = fmin(best_bg, t1 - t0);
        best_gg = fmin(best_gg, t2 - t1);
        best_both = fmin(best_both, t2 - t0);
    }
    printf("lifetimes figures: reference measurements on this machine class (from issue 5), "
           "not run here\n\n");
    printf("%-52s %13s %12s %8s   %s\n", "benchmark", "siyu", "lifetimes", "ratio", "goal");
    row("CDNOW BG/NBD fit (2,357 customers, weeks)", best_bg, 35.0, 2.0);
    row("CDNOW Gamma-Gamma fit (946 repeat buyers)", best_gg, 0, 0);
    row("CDNOW both fits", best_both, 0, 0);
    printf("   BG/NBD r=%.5f alpha=%.5f a=%.5f b=%.5f LL=%.2f, %d Newton iterations\n", bg.r,
           bg.alpha, bg.a, bg.b, bg.ll, bg.iterations);
    predict_cbs_release(&cbs);
    free(tx);

    /* ---- a chain's members: two years of acquisition, days ---- */
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 7);
    predict_cbs big = {
        {0, 0, 1}, (size_t)members, calloc((size_t)members, sizeof(predict_summary))};
    if (!big.rows) return 1;
    for (long i = 0; i < members; i++) {
        predict_summary *s = &big.rows[i];
        s->customer = i + 1;
        /* about 5 purchases a year for the typical active member; 1 in 7 drops per purchase */
        sim_bgnbd(g, 0.8, 60, 1.0, 6.0, floor(730 * gsl_rng_uniform(g)), 1, s);
        s->mean_value = s->x ? sim_gg_mean(g, 4, 5, 40000, s->x) : 0;
    }
    gsl_rng_free(g);
    printf("\n%ld simulated members (time in days)\n", members);
    double ref = 15000.0 * (double)members / 2360000.0;
    for (int threads = 1; threads <= 2; threads++) {
        predict_fit_opts fo = {.nthreads = threads};
        double t0 = now_ms();
        predict_status st = predict_bgnbd_fit(&big, &fo, &bg, &e);
        double t1 = now_ms();
        predict_status st2 = predict_gg_fit(&big, &fo, &gg, &e);
        double t2 = now_ms();
        if (st != PREDICT_OK || st2 != PREDICT_OK) {
            fprintf(stderr, "bench_predict: fit failed: %s\n", e.message);
            return 1;
        }
        char label[96];
        snprintf(label, sizeof label, "BG/NBD fit, %d thread%s (%zu distinct histories)", threads,
                 threads > 1 ? "s" : "", bg.n_rows);
        row(label, t1 - t0, ref, threads == 1 ? 500 : 0);
        snprintf(label, sizeof label, "Gamma-Gamma fit (%zu repeat buyers)", gg.n_customers);
        row(label, t2 - t1, 0, 0);
        row(threads == 1 ? "both fits, 1 thread" : "both fits, 2 threads", t2 - t0, 0,
            threads == 1 ? 500 : 0);
    }
    printf("   BG/NBD r=%.4f alpha=%.3f a=%.4f b=%.4f (%d iterations); GG p=%.3f q=%.3f "
           "gamma=%.1f (%d iterations)\n",
           bg.r, bg.alpha, bg.a, bg.b, bg.iterations, gg.p, gg.q, gg.gamma, gg.iterations);
    predict_score *out = malloc((size_t)members * sizeof *out);
    if (!out) return 1;
    for (int threads = 1; threads <= 2; threads++) {
        predict_score_opts so = {
            .horizon_days = 90, .clv_months = 12, .monthly_discount = 0.01, .nthreads = threads};
        double t0 = now_ms();
        if (predict_score_all(&bg, &gg, &big, &so, out, &e) != PREDICT_OK) {
            fprintf(stderr, "bench_predict: scoring failed: %s\n", e.message);
            return 1;
        }
        row(threads == 1 ? "scoring all members, 1 thread" : "scoring all members, 2 threads",
            now_ms() - t0, 0, threads == 1 ? 1000 : 0);
    }
    double pa = 0, clv = 0;
    for (long i = 0; i < members; i++)
        pa += out[i].p_alive, clv += out[i].clv_cents;
    printf("   mean p_alive %.3f, mean 12-month CLV %.0f cents\n", pa / members, clv / members);
    free(out);
    free(big.rows);
    return 0;
}
