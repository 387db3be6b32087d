/* test_predict_recovery.c — parameters are recovered from data simulated with them.
 *
 * Tolerance: the MLE is asymptotically normal around the true value with the covariance
 * given by the inverse observed information, which is what the fit reports as se[]. So each
 * estimate must lie within 4 of its own standard errors of the truth: for a correct fit the
 * chance of a miss is 6e-5 per parameter (and the seed is fixed, so the test is
 * deterministic). A biased likelihood, a wrong gradient or a premature stop shows up as a
 * miss by many standard errors at these sample sizes. The standard errors must also be
 * small enough to make the check meaningful (relative se < 15 %).
 *
 * The whole-day variant records times as real summaries do (floored to days, same-day
 * purchases merged). That is no longer exactly the continuous-time model, so there the check
 * is a 10 % relative band instead (alpha comes out about 6 % high on this grid: t_x is
 * biased down by about half a day); it guards the day-unit code path, not the statistics. */
#include "check.h"
#include "sim.h"

#include <stdlib.h>

#define N_CUSTOMERS 60000

static int grid; /* 1 while checking the whole-day variant */

static void check_recovered(const char *name, double est, double se, double truth)
{
    double z = (est - truth) / se;
    printf("  %-6s true %10.4f  est %10.4f  se %8.4f  z %+.2f\n", name, truth, est, se, z);
    CHECK(se > 0 && se < 0.15 * truth);
    if (grid)
        CHECK(fabs(est / truth - 1) < 0.10);
    else
        CHECK(fabs(z) < 4);
}

static void recover_bgnbd(int day_grid)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20240501);
    /* Weeks: r, α as in CDNOW but a tad more active; days: α scaled by 7. */
    const double r = 0.35, alpha = day_grid ? 7 * 5.0 : 5.0, a = 0.7, b = 2.8;
    predict_summary *rows = calloc(N_CUSTOMERS, sizeof *rows);
    CHECK(rows != NULL);
    if (!rows) return;
    for (int i = 0; i < N_CUSTOMERS; i++) {
        /* Staggered acquisition: observed for 26..78 weeks. */
        double T = 26 + 52 * gsl_rng_uniform(rng);
        if (day_grid) T = floor(7 * T);
        rows[i].customer = i;
        sim_bgnbd(rng, r, alpha, a, b, T, day_grid, &rows[i]);
    }
    predict_cbs cbs = {{0, 0, day_grid ? 1 : 7}, N_CUSTOMERS, rows};
    predict_bgnbd m, m2;
    grid = day_grid;
    predict_error err;
    CHECK_INT_EQ(predict_bgnbd_fit(&cbs, NULL, &m, &err), PREDICT_OK);
    printf("BG/NBD recovery (%s, %d customers, %zu distinct rows, %d iterations, LL %.2f)\n",
           day_grid ? "whole days" : "continuous weeks", N_CUSTOMERS, m.n_rows, m.iterations, m.ll);
    check_recovered("r", m.r, m.se[0], r);
    check_recovered("alpha", m.alpha, m.se[1], alpha);
    check_recovered("a", m.a, m.se[2], a);
    check_recovered("b", m.b, m.se[3], b);
    /* Two threads give the same optimum (sums in a different order: rounding only). */
    predict_fit_opts two = {.nthreads = 2};
    CHECK_INT_EQ(predict_bgnbd_fit(&cbs, &two, &m2, &err), PREDICT_OK);
    CHECK_NEAR(m2.r / m.r, 1, 1e-8);
    CHECK_NEAR(m2.alpha / m.alpha, 1, 1e-8);
    CHECK_NEAR(m2.a / m.a, 1, 1e-8);
    CHECK_NEAR(m2.b / m.b, 1, 1e-8);
    free(rows);
    gsl_rng_free(rng);
}

static void recover_gg(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 77);
    const double p = 6, q = 4, gamma = 1500; /* cents: mean order about 30 yuan */
    predict_summary *rows = calloc(N_CUSTOMERS, sizeof *rows);
    CHECK(rows != NULL);
    if (!rows) return;
    for (int i = 0; i < N_CUSTOMERS; i++) {
        int x = 1 + (int)gsl_ran_poisson(rng, 2.0);
        rows[i] = (predict_summary){i, 0, x, 1, 2, sim_gg_mean(rng, p, q, gamma, x), 0};
    }
    predict_cbs cbs = {{0, 0, 1}, N_CUSTOMERS, rows};
    predict_gg m;
    grid = 0;
    predict_error err;
    CHECK_INT_EQ(predict_gg_fit(&cbs, NULL, &m, &err), PREDICT_OK);
    printf("Gamma-Gamma recovery (%zu customers, %d iterations, LL %.2f)\n", m.n_customers,
           m.iterations, m.ll);
    check_recovered("p", m.p, m.se[0], p);
    check_recovered("q", m.q, m.se[1], q);
    check_recovered("gamma", m.gamma, m.se[2], gamma);
    free(rows);
    gsl_rng_free(rng);
}

int main(void)
{
    recover_bgnbd(0);
    recover_bgnbd(1);
    recover_gg();
    return CHECK_DONE();
}
