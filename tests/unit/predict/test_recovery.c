/* test_recovery.c — parameters of simulated customers are fitted back within sampling
 * error.
 *
 * 60,000 customers are drawn from BG/NBD with known (r, α, a, b) — a gamma purchase rate,
 * a beta dropout chance after each repeat purchase, observed for 27 to 39 weeks — and
 * from Gamma-Gamma with known (p, q, γ) for their spend. Each fitted parameter must lie
 * within 4 of its own standard errors of the truth: with the observed information being
 * the right yardstick for a maximum-likelihood estimate, a correct fitter fails this less
 * than once in ten thousand seeds (and the seed is fixed), while a biased one fails it. */
#include <check.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "predict/predict.h"

int main(void)
{
    const double r = 0.25, alpha = 4.0, a = 0.8, b = 2.5; /* BG/NBD, weeks */
    const double p = 6.0, q = 4.0, gamma = 1500.0;        /* Gamma-Gamma, cents */
    const size_t n = 60000;
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 20261122);
    predict_cbs cbs = {.window = {.cal_end_day = 0, .holdout_end_day = 0, .unit_days = 7}, .n = n,
                       .rows = calloc(n, sizeof(predict_summary))};
    for (size_t i = 0; i < n; i++) {
        predict_summary *s = &cbs.rows[i];
        s->customer = (int64_t)i + 1;
        s->T = 27 + 12 * gsl_rng_uniform(g);
        double lambda = gsl_ran_gamma(g, r, 1 / alpha); /* rate α: scale 1/α */
        double drop = gsl_ran_beta(g, a, b);
        double t = 0, last = 0;
        int x = 0;
        for (;;) {
            t += gsl_ran_exponential(g, 1 / lambda);
            if (t > s->T)
                break;
            x++;
            last = t;
            if (gsl_rng_uniform(g) < drop)
                break; /* dropped out right after this purchase */
        }
        s->x = x;
        s->t_x = last;
        if (x > 0) {
            double nu = gsl_ran_gamma(g, q, 1 / gamma);
            double sum = 0;
            for (int k = 0; k < x; k++)
                sum += gsl_ran_gamma(g, p, 1 / nu);
            s->mean_value = sum / x;
        }
    }
    gsl_rng_free(g);

    predict_bgnbd bg;
    predict_error err;
    CHECK_INT_EQ(predict_bgnbd_fit(&cbs, NULL, &bg, &err), PREDICT_OK);
    double fit[4] = {bg.r, bg.alpha, bg.a, bg.b}, truth[4] = {r, alpha, a, b};
    for (int k = 0; k < 4; k++) {
        fprintf(stderr, "BG/NBD %d: fitted %.4f truth %.4f se %.4f\n", k, fit[k], truth[k], bg.se[k]);
        CHECK(fabs(fit[k] - truth[k]) < 4 * bg.se[k]);
    }
    predict_gg gg;
    CHECK_INT_EQ(predict_gg_fit(&cbs, NULL, &gg, &err), PREDICT_OK);
    double gfit[3] = {gg.p, gg.q, gg.gamma}, gtruth[3] = {p, q, gamma};
    for (int k = 0; k < 3; k++) {
        fprintf(stderr, "Gamma-Gamma %d: fitted %.4f truth %.4f se %.4f\n", k, gfit[k], gtruth[k],
                gg.se[k]);
        CHECK(fabs(gfit[k] - gtruth[k]) < 4 * gg.se[k]);
    }
    free(cbs.rows);
    return CHECK_DONE();
}
