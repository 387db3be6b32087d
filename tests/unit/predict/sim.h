/* sim.h — simulating customers from known BG/NBD and Gamma-Gamma parameters (test helper). */
#ifndef SIYU_TEST_PREDICT_SIM_H
#define SIYU_TEST_PREDICT_SIM_H

#include "predict/predict.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>

/* One customer observed for T time units from the first purchase: λ ~ Gamma(r, 1/α),
 * p ~ Beta(a, b); purchases at exponential gaps; after each repeat purchase the customer
 * drops out with probability p (BG/NBD's story). With `day_grid`, times are floored to whole
 * days (unit = days) and purchases on an already-used day are dropped, as summaries do. */
static inline void sim_bgnbd(gsl_rng *rng, double r, double alpha, double a, double b, double T,
                             int day_grid, predict_summary *s)
{
    double lambda = gsl_ran_gamma(rng, r, 1 / alpha), p = gsl_ran_beta(rng, a, b);
    double t = 0, last = 0;
    int x = 0;
    for (;;) {
        t += gsl_ran_exponential(rng, 1 / lambda);
        if (t > T) break;
        double tt = day_grid ? floor(t) : t;
        if (!day_grid || tt > last) {
            x++;
            last = tt;
        }
        if (gsl_rng_uniform(rng) < p) break;
    }
    s->x = x;
    s->t_x = x ? last : 0;
    s->T = T;
    s->x_star = 0;
    s->first_day = 0;
}

/* Mean of x purchase values: ν ~ Gamma(q, 1/γ) per customer, values ~ Gamma(p, 1/ν). */
static inline double sim_gg_mean(gsl_rng *rng, double p, double q, double gamma, int x)
{
    double nu = gsl_ran_gamma(rng, q, 1 / gamma), sum = 0;
    for (int i = 0; i < x; i++)
        sum += gsl_ran_gamma(rng, p, 1 / nu);
    return sum / x;
}

#endif
