/* fit.c — maximum likelihood for BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma
 * (Fader & Hardie 2013), and the per-customer predictions that follow from them.
 *
 * Customers with identical summaries are collapsed into weighted rows (collapse.c), and
 * the terms that depend only on x are computed once per distinct x, so an evaluation
 * costs two logarithms per distinct history. Parameters are optimised on the log scale
 * (so they stay positive) with GSL's BFGS on the analytic gradient (a Nelder-Mead simplex
 * takes over should the line search stall). Standard errors come from the inverse of the
 * Hessian, differenced from the analytic gradient. */
#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_sf_psi.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "predict/internal.h"

#define LOG_BOUND 25.0 /* |log parameter| beyond this: it ran to 0 or infinity */

/* ---------------- collapsed data ---------------- */

typedef struct bg_rows {
    size_t n;
    int32_t *x;
    double *tx, *T, *w;
    int32_t *itx, *iT; /* indices into times: T and t_x take few distinct values (whole days) */
    double *times;
    size_t ntimes;
    int32_t xmax;
    double wsum;
} bg_rows;

/* The index of time t in d->times, adding it when new. */
static int32_t time_index(bg_rows *d, predict_hash *th, double t)
{
    int32_t k = predict__hash_put(th, predict__dbits(t), 0, 0);
    if (k >= 0 && (size_t)k == d->ntimes) {
        d->times = realloc(d->times, (d->ntimes + 1) * sizeof *d->times);
        d->times[d->ntimes++] = t;
    }
    return k;
}

static int bg_rows_build(const predict_cbs *cbs, bg_rows *d)
{
    memset(d, 0, sizeof *d);
    predict_hash h;
    if (predict__hash_init(&h, cbs->n / 4 + 16))
        return -1;
    d->x = malloc(cbs->n * sizeof *d->x);
    d->tx = malloc(cbs->n * sizeof *d->tx);
    d->T = malloc(cbs->n * sizeof *d->T);
    d->w = calloc(cbs->n, sizeof *d->w);
    d->itx = malloc(cbs->n * sizeof *d->itx);
    d->iT = malloc(cbs->n * sizeof *d->iT);
    predict_hash th;
    if (!d->x || !d->tx || !d->T || !d->w || !d->itx || !d->iT || predict__hash_init(&th, 1024)) {
        predict__hash_release(&h);
        return -1;
    }
    for (size_t i = 0; i < cbs->n; i++) {
        const predict_summary *s = &cbs->rows[i];
        int32_t k = predict__hash_put(&h, (uint64_t)s->x, predict__dbits(s->t_x),
                                      predict__dbits(s->T));
        if (k < 0) {
            predict__hash_release(&h);
            return -1;
        }
        if ((size_t)k == d->n) {
            d->x[k] = s->x;
            d->tx[k] = s->t_x;
            d->T[k] = s->T;
            d->itx[k] = time_index(d, &th, s->t_x);
            d->iT[k] = time_index(d, &th, s->T);
            if (d->itx[k] < 0 || d->iT[k] < 0) {
                predict__hash_release(&h);
                predict__hash_release(&th);
                return -1;
            }
            d->n++;
        }
        d->w[k] += 1;
        if (s->x > d->xmax)
            d->xmax = s->x;
    }
    d->wsum = (double)cbs->n;
    predict__hash_release(&h);
    predict__hash_release(&th);
    return 0;
}

static void bg_rows_release(bg_rows *d)
{
    free(d->x);
    free(d->tx);
    free(d->T);
    free(d->w);
    free(d->itx);
    free(d->iT);
    free(d->times);
    memset(d, 0, sizeof *d);
}

/* ---------------- BG/NBD log-likelihood ---------------- */

typedef struct bg_ctx {
    const bg_rows *d;
    double *per_x; /* scratch: x-only terms, 4 × (xmax + 1) */
    double *lt;    /* scratch: log(α + time) per distinct time */
} bg_ctx;

/* The log-likelihood and its gradient in the natural parameters (see the header of this
 * file for the formulas' source). Per distinct x: the digamma and lgamma terms; per row:
 * two logarithms and a log-sum-exp with its weights. */
static double bg_ll_grad(const bg_ctx *c, const double *p, double *g)
{
    double r = p[0], alpha = p[1], a = p[2], b = p[3];
    if (!(r > 0 && alpha > 0 && a > 0 && b > 0))
        return -INFINITY;
    const bg_rows *d = c->d;
    double base = -lgamma(r) + r * log(alpha) + lgamma(a + b) - lgamma(b);
    double dr0 = -gsl_sf_psi(r) + log(alpha), dab = gsl_sf_psi(a + b), db0 = -gsl_sf_psi(b);
    double *px = c->per_x, *pr = c->per_x + d->xmax + 1, *pa = pr + d->xmax + 1,
           *pb = pa + d->xmax + 1;
    for (int32_t x = 0; x <= d->xmax; x++) {
        double psi_abx = gsl_sf_psi(a + b + x);
        px[x] = base + lgamma(r + x) + lgamma(b + x) - lgamma(a + b + x);
        pr[x] = dr0 + gsl_sf_psi(r + x);
        pa[x] = dab - psi_abx;
        pb[x] = dab + gsl_sf_psi(b + x) + db0 - psi_abx;
    }
    for (size_t k = 0; k < d->ntimes; k++)
        c->lt[k] = log(alpha + d->times[k]);
    double ll = 0, la = log(a), G[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < d->n; i++) {
        int32_t x = d->x[i];
        double lT = c->lt[d->iT[i]], w = d->w[i];
        double a3 = -(r + x) * lT, term = a3, w3 = 1, w4 = 0, ltx = 0;
        if (x > 0) {
            ltx = c->lt[d->itx[i]];
            double a4 = la - log(b + x - 1) - (r + x) * ltx;
            double hi = a3 > a4 ? a3 : a4, lo = a3 > a4 ? a4 : a3, e = exp(lo - hi);
            term = hi + log1p(e);
            w3 = a3 >= a4 ? 1 / (1 + e) : e / (1 + e);
            w4 = 1 - w3;
        }
        ll += w * (px[x] + term);
        if (g) {
            G[0] += w * (pr[x] - w3 * lT - w4 * ltx);
            G[1] += w * (r / alpha - w3 * (r + x) / (alpha + d->T[i]) -
                         (x > 0 ? w4 * (r + x) / (alpha + d->tx[i]) : 0));
            G[2] += w * (pa[x] + (x > 0 ? w4 / a : 0));
            G[3] += w * (pb[x] - (x > 0 ? w4 / (b + x - 1) : 0));
        }
    }
    if (g)
        memcpy(g, G, sizeof G);
    return ll;
}

double predict_bgnbd_loglik(const double par[4], const predict_cbs *cbs, double grad[4])
{
    bg_rows d;
    if (bg_rows_build(cbs, &d))
        return -INFINITY;
    bg_ctx c = {&d, malloc(4 * (size_t)(d.xmax + 1) * sizeof(double)),
                malloc((d.ntimes + 1) * sizeof(double))};
    double ll = bg_ll_grad(&c, par, grad);
    free(c.per_x);
    free(c.lt);
    bg_rows_release(&d);
    return ll;
}

/* ---------------- Gamma-Gamma log-likelihood ---------------- */

typedef struct gg_data {
    size_t n;
    double *x, *m;
} gg_data;

static int by_x_then_m(const void *pa, const void *pb)
{
    const double *a = pa, *b = pb;
    return (a[0] > b[0]) - (a[0] < b[0]);
}

static int gg_data_build(const predict_cbs *cbs, gg_data *d)
{
    d->n = 0;
    d->x = malloc((cbs->n ? cbs->n : 1) * sizeof *d->x);
    d->m = malloc((cbs->n ? cbs->n : 1) * sizeof *d->m);
    if (!d->x || !d->m)
        return -1;
    /* rows sorted by x: the lgamma and digamma terms then change only between groups */
    double *pairs = malloc((cbs->n ? cbs->n : 1) * 2 * sizeof *pairs);
    if (!pairs)
        return -1;
    for (size_t i = 0; i < cbs->n; i++)
        if (cbs->rows[i].x > 0 && cbs->rows[i].mean_value > 0) {
            pairs[2 * d->n] = cbs->rows[i].x;
            pairs[2 * d->n + 1] = cbs->rows[i].mean_value;
            d->n++;
        }
    qsort(pairs, d->n, 2 * sizeof *pairs, by_x_then_m);
    for (size_t i = 0; i < d->n; i++) {
        d->x[i] = pairs[2 * i];
        d->m[i] = pairs[2 * i + 1];
    }
    free(pairs);
    return 0;
}

static double gg_ll_grad(const gg_data *d, const double *par, double *g)
{
    double p = par[0], q = par[1], gm = par[2];
    if (!(p > 0 && q > 0 && gm > 0))
        return -INFINITY;
    double ll = 0, lg = log(gm), G[3] = {0, 0, 0}, psq = gsl_sf_psi(q);
    double cq = -lgamma(q) + q * lg;
    double last_x = -1, lpx = 0, dpx = 0, dq = 0;
    for (size_t i = 0; i < d->n; i++) {
        double x = d->x[i], m = d->m[i], px = p * x;
        if (x != last_x) { /* rows come grouped by x often enough to make this pay */
            lpx = lgamma(px + q) - lgamma(px);
            dpx = gsl_sf_psi(px + q) - gsl_sf_psi(px);
            dq = gsl_sf_psi(px + q) - psq;
            last_x = x;
        }
        double lxm = log(x * m + gm), lm = log(m);
        ll += lpx + cq + (px - 1) * lm + px * log(x) - (px + q) * lxm;
        if (g) {
            G[0] += x * (dpx + lm + log(x) - lxm);
            G[1] += dq + lg - lxm;
            G[2] += q / gm - (px + q) / (x * m + gm);
        }
    }
    if (g)
        memcpy(g, G, sizeof G);
    return ll;
}

double predict_gg_loglik(const double par[3], const predict_cbs *cbs, double grad[3])
{
    gg_data d;
    if (gg_data_build(cbs, &d)) {
        free(d.x);
        free(d.m);
        return -INFINITY;
    }
    double ll = gg_ll_grad(&d, par, grad);
    free(d.x);
    free(d.m);
    return ll;
}

/* ---------------- the optimiser ---------------- */

/* A log-likelihood with its gradient in the natural parameters (grad may be NULL). */
typedef double (*llg_fn)(void *ctx, const double *par, double *grad);

typedef struct opt_ctx {
    llg_fn f;
    void *ctx;
    int k;
} opt_ctx;

/* On θ = log(parameters): f(θ) = −LL(e^θ), ∇f = −e^θ ⊙ ∇LL. Parameters stay positive. */
static void opt_fdf(const gsl_vector *v, void *arg, double *f, gsl_vector *df)
{
    opt_ctx *c = arg;
    double par[4], g[4];
    for (int i = 0; i < c->k; i++) {
        double t = gsl_vector_get(v, (size_t)i);
        par[i] = exp(fabs(t) > LOG_BOUND + 5 ? copysign(LOG_BOUND + 5, t) : t);
    }
    double ll = c->f(c->ctx, par, df ? g : NULL);
    if (f)
        *f = isfinite(ll) ? -ll : 1e300;
    if (df)
        for (int i = 0; i < c->k; i++)
            gsl_vector_set(df, (size_t)i, isfinite(ll) ? -par[i] * g[i] : 0);
}

static double opt_f(const gsl_vector *v, void *arg)
{
    double f;
    opt_fdf(v, arg, &f, NULL);
    return f;
}

static void opt_df(const gsl_vector *v, void *arg, gsl_vector *df)
{
    opt_fdf(v, arg, NULL, df);
}

/* Maximises from theta (log-parameters, updated in place) with BFGS on the analytic
 * gradient, falling back to a Nelder-Mead simplex when the line search cannot progress.
 * Returns the iterations used, or -1 when neither converged. */
static int maximise(llg_fn f, void *ctx, int k, double *theta, int max_iter, bool use_gradient)
{
    opt_ctx c = {f, ctx, k};
    int iter = 0;
    if (!use_gradient)
        goto simplex;
    gsl_multimin_function_fdf fdf = {.n = (size_t)k, .f = opt_f, .df = opt_df, .fdf = opt_fdf,
                                     .params = &c};
    gsl_vector *x = gsl_vector_alloc((size_t)k);
    for (int i = 0; i < k; i++)
        gsl_vector_set(x, (size_t)i, theta[i]);
    gsl_multimin_fdfminimizer *s =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, (size_t)k);
    gsl_set_error_handler_off();
    gsl_multimin_fdfminimizer_set(s, &fdf, x, 0.1, 0.1);
    int status = GSL_CONTINUE;
    while (status == GSL_CONTINUE && iter < max_iter) {
        iter++;
        if (gsl_multimin_fdfminimizer_iterate(s))
            break; /* no progress: polish with the simplex below */
        status = gsl_multimin_test_gradient(s->gradient, 1e-5);
    }
    for (int i = 0; i < k; i++)
        theta[i] = gsl_vector_get(s->x, (size_t)i);
    double grad_norm = gsl_blas_dnrm2(s->gradient);
    gsl_multimin_fdfminimizer_free(s);
    gsl_vector_free(x);
    if (status == GSL_SUCCESS || grad_norm < 1e-4)
        return iter;

simplex:;
    /* Nelder-Mead from where BFGS stopped, restarted until it no longer improves */
    gsl_multimin_function fn = {.n = (size_t)k, .f = opt_f, .params = &c};
    gsl_vector *y = gsl_vector_alloc((size_t)k), *step = gsl_vector_alloc((size_t)k);
    gsl_multimin_fminimizer *nm =
        gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, (size_t)k);
    int converged = 0;
    double prev = INFINITY;
    for (int restart = 0; restart < 8 && iter < max_iter; restart++) {
        for (int i = 0; i < k; i++) {
            gsl_vector_set(y, (size_t)i, theta[i]);
            gsl_vector_set(step, (size_t)i, restart ? 0.05 : 0.5);
        }
        gsl_multimin_fminimizer_set(nm, &fn, y, step);
        int st = GSL_CONTINUE;
        while (st == GSL_CONTINUE && iter < max_iter) {
            iter++;
            if (gsl_multimin_fminimizer_iterate(nm))
                break;
            st = gsl_multimin_test_size(gsl_multimin_fminimizer_size(nm), 1e-10);
        }
        for (int i = 0; i < k; i++)
            theta[i] = gsl_vector_get(nm->x, (size_t)i);
        if (st == GSL_SUCCESS && fabs(prev - nm->fval) < 1e-9 * (1 + fabs(nm->fval))) {
            converged = 1;
            break;
        }
        prev = nm->fval;
    }
    gsl_multimin_fminimizer_free(nm);
    gsl_vector_free(y);
    gsl_vector_free(step);
    return converged ? iter : -1;
}

/* Standard errors: sqrt(diag((−H)^{-1})), H the Hessian of the log-likelihood in the
 * natural parameters, by central differences of the analytic gradient. Returns -1 if −H
 * is not positive definite (no interior maximum). */
static int std_errors(llg_fn f, void *ctx, int k, const double *par, double *se)
{
    double H[16], p[4], gu[4], gd[4];
    for (int j = 0; j < k; j++) {
        double h = 1e-5 * par[j];
        memcpy(p, par, sizeof(double) * (size_t)k);
        p[j] = par[j] + h;
        f(ctx, p, gu);
        p[j] = par[j] - h;
        f(ctx, p, gd);
        for (int i = 0; i < k; i++)
            H[i * k + j] = -(gu[i] - gd[i]) / (2 * h);
    }
    for (int i = 0; i < k; i++) /* symmetrise away the differencing noise */
        for (int j = i + 1; j < k; j++)
            H[i * k + j] = H[j * k + i] = (H[i * k + j] + H[j * k + i]) / 2;
    gsl_matrix_view m = gsl_matrix_view_array(H, (size_t)k, (size_t)k);
    gsl_set_error_handler_off();
    if (gsl_linalg_cholesky_decomp1(&m.matrix))
        return -1;
    gsl_linalg_cholesky_invert(&m.matrix);
    for (int i = 0; i < k; i++) {
        double v = gsl_matrix_get(&m.matrix, (size_t)i, (size_t)i);
        if (!(v >= 0) || !isfinite(v))
            return -1;
        se[i] = sqrt(v);
    }
    return 0;
}

/* ---------------- BG/NBD fit ---------------- */

static double bg_ll_cb(void *ctx, const double *p, double *g)
{
    return bg_ll_grad(ctx, p, g);
}

predict_status predict_bgnbd_fit(const predict_cbs *cbs, const predict_fit_opts *opts,
                                 predict_bgnbd *out, predict_error *err)
{
    memset(out, 0, sizeof *out);
    if (!cbs)
        return predict__fail(err, PREDICT_INVALID, "no summaries");
    if (cbs->n == 0)
        return predict__fail(err, PREDICT_NO_CUSTOMERS, "no customers to fit");
    if (cbs->n == 1)
        return predict__fail(err, PREDICT_TOO_FEW, "one customer cannot be fitted");
    size_t repeaters = 0;
    for (size_t i = 0; i < cbs->n; i++)
        repeaters += cbs->rows[i].x > 0;
    if (!repeaters)
        return predict__fail(err, PREDICT_NO_REPEAT,
                             "nobody bought twice: dropout cannot be estimated");
    bg_rows d;
    if (bg_rows_build(cbs, &d)) {
        bg_rows_release(&d);
        return predict__fail(err, PREDICT_NOMEM, "out of memory");
    }
    if (d.n == 1) {
        bg_rows_release(&d);
        return predict__fail(err, PREDICT_DEGENERATE, "every customer has the same history");
    }
    bg_ctx c = {&d, malloc(4 * (size_t)(d.xmax + 1) * sizeof(double)),
                malloc((d.ntimes + 1) * sizeof(double))};
    /* start: r = 1, α = mean T (the time scale of the data), a = b = 1 */
    double meanT = 0;
    for (size_t i = 0; i < d.n; i++)
        meanT += d.w[i] * d.T[i];
    meanT /= d.wsum;
    double theta[4] = {0, log(meanT > 1 ? meanT : 1), 0, 0};
    int max_iter = opts && opts->max_iter > 0 ? opts->max_iter : 5000;
    int iters = maximise(bg_ll_cb, &c, 4, theta, max_iter, true);
    predict_status st = PREDICT_OK;
    for (int i = 0; i < 4; i++)
        if (fabs(theta[i]) > LOG_BOUND)
            st = PREDICT_DEGENERATE;
    double par[4] = {exp(theta[0]), exp(theta[1]), exp(theta[2]), exp(theta[3])};
    if (st == PREDICT_OK && iters < 0)
        st = PREDICT_NO_CONVERGENCE;
    if (st == PREDICT_OK) {
        out->r = par[0];
        out->alpha = par[1];
        out->a = par[2];
        out->b = par[3];
        out->ll = bg_ll_grad(&c, par, NULL);
        out->iterations = iters;
        out->unit_days = cbs->window.unit_days;
        out->n_customers = cbs->n;
        out->n_rows = d.n;
        if (std_errors(bg_ll_cb, &c, 4, par, out->se))
            st = PREDICT_DEGENERATE;
        if (!isfinite(out->ll))
            st = PREDICT_NUMERIC;
    }
    free(c.per_x);
    free(c.lt);
    bg_rows_release(&d);
    if (st != PREDICT_OK) {
        memset(out, 0, sizeof *out);
        return predict__fail(err, st,
                             st == PREDICT_NO_CONVERGENCE
                                 ? "the optimiser did not converge"
                                 : "the data have no interior maximum (a parameter runs to 0 or "
                                   "infinity, or the information matrix is singular)");
    }
    predict__ok(err);
    return PREDICT_OK;
}

/* ---------------- Gamma-Gamma fit ---------------- */

static double gg_ll_cb(void *ctx, const double *p, double *g)
{
    return gg_ll_grad(ctx, p, g);
}

predict_status predict_gg_fit(const predict_cbs *cbs, const predict_fit_opts *opts,
                              predict_gg *out, predict_error *err)
{
    memset(out, 0, sizeof *out);
    if (!cbs)
        return predict__fail(err, PREDICT_INVALID, "no summaries");
    gg_data d;
    if (gg_data_build(cbs, &d)) {
        free(d.x);
        free(d.m);
        return predict__fail(err, PREDICT_NOMEM, "out of memory");
    }
    predict_status st = PREDICT_OK;
    if (d.n == 0)
        st = cbs->n ? PREDICT_NO_REPEAT : PREDICT_NO_CUSTOMERS;
    else if (d.n == 1)
        st = PREDICT_TOO_FEW;
    double mean = 0;
    for (size_t i = 0; i < d.n; i++)
        mean += d.m[i];
    mean = d.n ? mean / (double)d.n : 0;
    double par[3] = {0};
    int iters = 0;
    if (st == PREDICT_OK) {
        double theta[3] = {0, log(2.0), log(mean > 1 ? mean : 1)};
        int max_iter = opts && opts->max_iter > 0 ? opts->max_iter : 5000;
        /* the Gamma-Gamma surface is a long curved valley in (p, γ/q): BFGS crawls along
         * it, the simplex measured an order of magnitude faster */
        iters = maximise(gg_ll_cb, &d, 3, theta, max_iter, false);
        for (int i = 0; i < 3; i++) {
            if (fabs(theta[i]) > LOG_BOUND)
                st = PREDICT_DEGENERATE;
            par[i] = exp(theta[i]);
        }
        if (st == PREDICT_OK && iters < 0)
            st = PREDICT_NO_CONVERGENCE;
        if (st == PREDICT_OK && par[1] <= 1)
            st = PREDICT_DEGENERATE; /* the population mean spend p·γ/(q−1) would be infinite */
    }
    if (st == PREDICT_OK) {
        out->p = par[0];
        out->q = par[1];
        out->gamma = par[2];
        out->ll = gg_ll_grad(&d, par, NULL);
        out->iterations = iters;
        out->n_customers = d.n;
        if (std_errors(gg_ll_cb, &d, 3, par, out->se))
            st = PREDICT_DEGENERATE;
    }
    free(d.x);
    free(d.m);
    if (st != PREDICT_OK) {
        memset(out, 0, sizeof *out);
        static const char *const why[] = {
            [PREDICT_NO_CUSTOMERS] = "no customers",
            [PREDICT_NO_REPEAT] = "no repeat buyers with spend: spend per order cannot be modelled",
            [PREDICT_TOO_FEW] = "one repeat buyer cannot be fitted",
            [PREDICT_DEGENERATE] = "spend has no interior maximum (q <= 1 or a parameter runs away)",
            [PREDICT_NO_CONVERGENCE] = "the optimiser did not converge",
        };
        return predict__fail(err, st, "%s", st < (int)(sizeof why / sizeof *why) && why[st]
                                                ? why[st]
                                                : predict_status_name(st));
    }
    predict__ok(err);
    return PREDICT_OK;
}
