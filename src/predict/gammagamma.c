/* gammagamma.c — the Gamma-Gamma spend model (Fader & Hardie 2013): fit and conditional mean.
 *
 * A customer's purchase values are Gamma(p, ν) with a per-customer rate ν ~ Gamma(q, γ). The
 * observed mean z̄ of x repeat purchases then has the density
 *   f(z̄ | x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q x^(px) z̄^(px−1) / (γ + x z̄)^(px+q).
 * Everything except log(γ + x z̄) is a function of x alone or a constant of the data, so one
 * evaluation is one log per customer plus O(distinct x) special functions. */
#include "predict/internal.h"

#include <math.h>
#include <stdlib.h>

/* Digamma and trigamma: recurrence up to z >= 12, then the asymptotic series (error < 1e-14).
 * Our own rather than GSL's so that no global GSL error handler is involved. */
static double digamma(double z)
{
    double acc = 0;
    while (z < 12) {
        acc -= 1 / z;
        z += 1;
    }
    double i2 = 1 / (z * z);
    return acc + log(z) - 0.5 / z -
           i2 * (1.0 / 12 - i2 * (1.0 / 120 - i2 * (1.0 / 252 - i2 * (1.0 / 240 - i2 / 132))));
}

static double trigamma(double z)
{
    double acc = 0;
    while (z < 12) {
        acc += 1 / (z * z);
        z += 1;
    }
    double i1 = 1 / z, i2 = i1 * i1;
    return acc + i1 + 0.5 * i2 +
           i1 * i2 * (1.0 / 6 - i2 * (1.0 / 30 - i2 * (1.0 / 42 - i2 * (1.0 / 30 - i2 * 5 / 66))));
}

typedef struct gg_data {
    size_t n;
    double *xz; /* x · z̄ per customer */
    double *xs; /* x per customer, as double */
    int32_t xmax;
    double *nx;                /* customers per x */
    double W, Sxlz, Slz, Sxlx; /* Σ1, Σ x log z̄, Σ log z̄, Σ x log x */
    double zsum;
} gg_data;

static void gg_release(gg_data *d)
{
    free(d->xz);
    free(d->xs);
    free(d->nx);
    memset(d, 0, sizeof *d);
}

static predict_status gg_build(const predict_cbs *cbs, gg_data *d, predict_error *err)
{
    memset(d, 0, sizeof *d);
    if (!cbs || (cbs->n > 0 && !cbs->rows))
        return predict__fail(err, PREDICT_INVALID, "NULL summaries");
    for (size_t i = 0; i < cbs->n; i++) {
        const predict_summary *s = &cbs->rows[i];
        if (s->x > 0 && s->mean_value > 0 && isfinite(s->mean_value)) {
            d->n++;
            if (s->x > d->xmax) d->xmax = s->x;
        }
    }
    if (d->n == 0)
        return predict__fail(err, PREDICT_NO_REPEAT,
                             "no customer has a repeat purchase with positive value: spend per "
                             "order cannot be modelled");
    d->xz = malloc(d->n * sizeof *d->xz);
    d->xs = malloc(d->n * sizeof *d->xs);
    d->nx = calloc((size_t)d->xmax + 1, sizeof *d->nx);
    if (!d->xz || !d->xs || !d->nx) {
        gg_release(d);
        return predict__fail(err, PREDICT_NOMEM, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < cbs->n; i++) {
        const predict_summary *s = &cbs->rows[i];
        if (!(s->x > 0 && s->mean_value > 0 && isfinite(s->mean_value))) continue;
        double x = s->x, lz = log(s->mean_value);
        d->xs[k] = x;
        d->xz[k] = x * s->mean_value;
        d->nx[s->x] += 1;
        d->Sxlz += x * lz;
        d->Slz += lz;
        d->Sxlx += x * log(x);
        d->zsum += s->mean_value;
        k++;
    }
    d->W = (double)d->n;
    return PREDICT_OK;
}

/* Log-likelihood, gradient and Hessian in (p, q, γ); g, H may be NULL. */
static double gg_eval(const gg_data *d, const double par[3], double *g, double *H)
{
    const double p = par[0], q = par[1], ga = par[2];
    if (!(p > 0 && q > 0 && ga > 0) || !isfinite(p + q + ga)) return -INFINITY;
    double SxL = 0, SL = 0, Sxi = 0, Si = 0, Sxi2 = 0, Si2 = 0;
    if (g || H) {
        for (size_t i = 0; i < d->n; i++) {
            double v = ga + d->xz[i], L = log(v), iv = 1 / v, x = d->xs[i];
            SxL += x * L, SL += L;
            Sxi += x * iv, Si += iv;
            Sxi2 += x * iv * iv, Si2 += iv * iv;
        }
    } else {
        for (size_t i = 0; i < d->n; i++) {
            double L = log(ga + d->xz[i]);
            SxL += d->xs[i] * L, SL += L;
        }
    }
    const double W = d->W, lga = log(ga);
    double f = -W * lgamma(q) + W * q * lga + p * d->Sxlz - d->Slz + p * d->Sxlx - p * SxL - q * SL;
    double gp = d->Sxlz + d->Sxlx - SxL, gq = -W * digamma(q) + W * lga - SL;
    double gg = W * q / ga - p * Sxi - q * Si;
    double Hpp = 0, Hpq = 0, Hqq = -W * trigamma(q);
    for (int32_t x = 1; x <= d->xmax; x++) {
        double n = d->nx[x];
        if (n == 0) continue;
        double px = p * x, s = px + q;
        f += n * (lgamma(s) - lgamma(px));
        if (!g && !H) continue;
        double ps = digamma(s), pp = digamma(px);
        gp += n * x * (ps - pp);
        gq += n * ps;
        if (H) {
            double ts = trigamma(s), tp = trigamma(px);
            Hpp += n * x * x * (ts - tp);
            Hpq += n * x * ts;
            Hqq += n * ts;
        }
    }
    if (g) {
        g[0] = gp, g[1] = gq, g[2] = gg;
    }
    if (H) {
        double Hpg = -Sxi, Hqg = W / ga - Si, Hgg = -W * q / (ga * ga) + p * Sxi2 + q * Si2;
        double M[9] = {Hpp, Hpq, Hpg, Hpq, Hqq, Hqg, Hpg, Hqg, Hgg};
        memcpy(H, M, sizeof M);
    }
    return isfinite(f) ? f : -INFINITY;
}

static int gg_objective(void *ctx, const double *theta, double *f, double *g, double *H)
{
    double par[3], gn[3], Hn[9];
    for (int i = 0; i < 3; i++)
        par[i] = exp(theta[i]);
    *f = gg_eval(ctx, par, g ? gn : NULL, H ? Hn : NULL);
    if (!isfinite(*f)) return -1;
    if (g)
        for (int i = 0; i < 3; i++)
            g[i] = par[i] * gn[i];
    if (H)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                H[i * 3 + j] = par[i] * par[j] * Hn[i * 3 + j] + (i == j ? par[i] * gn[i] : 0);
    return 0;
}

static const char *const gg_names[3] = {"p", "q", "gamma"};

predict_status predict_gg_fit(const predict_cbs *cbs, const predict_fit_opts *opts, predict_gg *out,
                              predict_error *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!out || !cbs) return predict__fail(err, PREDICT_INVALID, "NULL argument");
    if (cbs->n == 0) return predict__fail(err, PREDICT_NO_CUSTOMERS, "no customers to fit");
    gg_data d;
    predict_status rc = gg_build(cbs, &d, err);
    if (rc != PREDICT_OK) return rc;
    if (d.n == 1) {
        rc = predict__fail(err, PREDICT_TOO_FEW,
                           "only one repeat buyer: Gamma-Gamma needs a population to fit");
        goto cleanup;
    }
    int same = 1;
    for (size_t i = 1; i < d.n && same; i++)
        same = d.xz[i] / d.xs[i] == d.xz[0] / d.xs[0];
    if (same) {
        rc = predict__fail(err, PREDICT_DEGENERATE,
                           "all %zu repeat buyers have the same mean order value: spend "
                           "variation cannot be estimated",
                           d.n);
        goto cleanup;
    }
    /* Start: p = 2, q = 3 and γ making the population mean p γ / (q − 1) the sample mean. */
    double theta[3] = {log(2), log(3), log(d.zsum / d.W)};
    predict_gg sub;
    if (predict__subsample_start(cbs, 0, &sub, NULL) == 0) {
        theta[0] = log(sub.p), theta[1] = log(sub.q), theta[2] = log(sub.gamma);
    }
    predict_opt o = {
        .k = 3, .max_iter = opts && opts->max_iter > 0 ? opts->max_iter : 200, .theta_bound = 40};
    predict_opt_result res = predict__newton(&o, gg_objective, &d, theta);
    if (res == PREDICT_OPT_DIVERGED) {
        rc = predict__fail(err, PREDICT_DEGENERATE,
                           "Gamma-Gamma parameter %s ran to %s: the data has no interior maximum",
                           gg_names[o.diverged_index],
                           theta[o.diverged_index] > 0 ? "infinity" : "zero");
        goto cleanup;
    }
    if (res == PREDICT_OPT_MAXITER) {
        rc = predict__fail(err, PREDICT_NO_CONVERGENCE,
                           "Gamma-Gamma fit did not converge in %d iterations", o.iterations);
        goto cleanup;
    }
    if (res == PREDICT_OPT_FAILED) {
        rc =
            predict__fail(err, PREDICT_NUMERIC, "Gamma-Gamma likelihood not finite during the fit");
        goto cleanup;
    }
    double par[3], negH[9], cov[9];
    for (int i = 0; i < 3; i++)
        par[i] = exp(theta[i]);
    double ll = o.f;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            negH[i * 3 + j] = -(o.H[i * 3 + j] - (i == j ? o.g[i] : 0)) / (par[i] * par[j]);
    if (!isfinite(ll) || predict__spd_inverse(3, negH, cov) != 0) {
        rc = predict__fail(err, PREDICT_DEGENERATE,
                           "Gamma-Gamma information matrix is singular at the optimum");
        goto cleanup;
    }
    if (!(par[1] > 1)) {
        rc =
            predict__fail(err, PREDICT_DEGENERATE,
                          "Gamma-Gamma q = %g <= 1: the population mean spend is infinite", par[1]);
        goto cleanup;
    }
    out->p = par[0], out->q = par[1], out->gamma = par[2];
    for (int i = 0; i < 3; i++)
        out->se[i] = sqrt(cov[i * 3 + i]);
    out->ll = ll;
    out->iterations = o.iterations;
    out->n_customers = d.n;
    predict__ok(err);
cleanup:
    gg_release(&d);
    return rc;
}

double predict_gg_loglik(const double par[3], const predict_cbs *cbs, double grad[3])
{
    gg_data d;
    if (gg_build(cbs, &d, NULL) != PREDICT_OK) return -INFINITY;
    double f = gg_eval(&d, par, grad, NULL);
    gg_release(&d);
    return f;
}

/* E[M | x, z̄] = p (γ + x z̄) / (p x + q − 1): a weighted average of the population mean
 * p γ / (q − 1) and the customer's own mean z̄, the weight moving to z̄ as x grows. */
double predict_gg_expected_value(const predict_gg *m, int32_t x, double mean_value)
{
    if (x <= 0 || !(mean_value > 0) || !isfinite(mean_value)) return m->p * m->gamma / (m->q - 1);
    return m->p * (m->gamma + x * mean_value) / (m->p * x + m->q - 1);
}
