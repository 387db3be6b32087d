/* bgnbd.c — the BG/NBD model (Fader, Hardie & Lee 2005): likelihood, fit, P(alive) and the
 * conditional expected number of purchases.
 *
 * Per customer with summary (x, t_x, T) the likelihood is
 *   L = Γ(r+x) α^r / Γ(r) · B(a, b+x) / B(a, b) · [ (α+T)^−(r+x)
 *                                                  + [x>0] a/(b+x−1) (α+t_x)^−(r+x) ]
 * evaluated in log space: the bracket is a log-sum-exp of A3 = −(r+x) log(α+T) and
 * A4 = log a − log(b+x−1) − (r+x) log(α+t_x). The gamma-function ratios depend on x only and
 * are exact finite sums (Γ(r+x)/Γ(r) = Π_{k<x} (r+k)), so one evaluation costs O(max x) for
 * them plus, per distinct (x, t_x, T) row, one exp and one log1p; log(α+t) is tabulated per
 * distinct time. Gradient and Hessian are analytic (see row_accumulate). */
#include "predict/internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

/* ---- data: collapse identical summaries ---------------------------------------------------- */

void predict__bg_data_release(predict_bg_data *d)
{
    if (!d) return;
    free(d->x);
    free(d->itx);
    free(d->iT);
    free(d->w);
    free(d->times);
    free(d->nx);
    memset(d, 0, sizeof *d);
}

predict_status predict__bg_data_build(const predict_cbs *cbs, predict_bg_data *d,
                                      predict_error *err)
{
    memset(d, 0, sizeof *d);
    if (!cbs || (cbs->n > 0 && !cbs->rows))
        return predict__fail(err, PREDICT_INVALID, "NULL summaries");
    if (cbs->n == 0) return predict__fail(err, PREDICT_NO_CUSTOMERS, "no customers to fit");
    predict_hash rows, times;
    size_t expect = cbs->n < 65536 ? cbs->n : 65536;
    if (predict__hash_init(&rows, expect) != 0)
        return predict__fail(err, PREDICT_NOMEM, "out of memory");
    if (predict__hash_init(&times, 1024) != 0) {
        predict__hash_release(&rows);
        return predict__fail(err, PREDICT_NOMEM, "out of memory");
    }
    predict_status rc = PREDICT_OK;
    size_t capw = expect;
    double *w = malloc(capw * sizeof *w);
    if (!w) {
        rc = predict__fail(err, PREDICT_NOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < cbs->n; i++) {
        const predict_summary *s = &cbs->rows[i];
        if (s->x < 0 || !(s->T >= 0) || !isfinite(s->T) || !(s->t_x >= 0) || !(s->t_x <= s->T) ||
            (s->x == 0 && s->t_x != 0)) {
            rc = predict__fail(err, PREDICT_INVALID,
                               "summary %zu (customer %lld) is inconsistent: x=%d t_x=%g T=%g", i,
                               (long long)s->customer, (int)s->x, s->t_x, s->T);
            goto cleanup;
        }
        int32_t r =
            predict__hash_put(&rows, (uint64_t)s->x, predict__dbits(s->t_x), predict__dbits(s->T));
        if (r < 0) {
            rc = predict__fail(err, PREDICT_NOMEM, "out of memory");
            goto cleanup;
        }
        if ((size_t)r >= capw) {
            size_t nc = capw * 2;
            double *nw = realloc(w, nc * sizeof *nw);
            if (!nw) {
                rc = predict__fail(err, PREDICT_NOMEM, "out of memory");
                goto cleanup;
            }
            w = nw;
            capw = nc;
        }
        if ((size_t)r == d->nrows) { /* a new distinct row */
            w[r] = 0;
            d->nrows++;
        }
        w[r] += 1;
        d->xsum += s->x;
        d->Tsum += s->T;
        if (s->x > d->xmax) d->xmax = s->x;
    }
    d->wsum = (double)cbs->n;
    d->nrows = rows.n;
    d->x = malloc(d->nrows * sizeof *d->x);
    d->itx = malloc(d->nrows * sizeof *d->itx);
    d->iT = malloc(d->nrows * sizeof *d->iT);
    d->nx = calloc((size_t)d->xmax + 1, sizeof *d->nx);
    if (!d->x || !d->itx || !d->iT || !d->nx) {
        rc = predict__fail(err, PREDICT_NOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t r = 0; r < d->nrows; r++) {
        const uint64_t *k = rows.keys + 3 * r;
        d->x[r] = (int32_t)k[0];
        int32_t a = predict__hash_put(&times, k[1], 0, 0);
        int32_t b = predict__hash_put(&times, k[2], 0, 0);
        if (a < 0 || b < 0) {
            rc = predict__fail(err, PREDICT_NOMEM, "out of memory");
            goto cleanup;
        }
        d->itx[r] = a;
        d->iT[r] = b;
        d->nx[d->x[r]] += w[r];
    }
    d->ntimes = times.n;
    d->times = malloc(d->ntimes * sizeof *d->times);
    if (!d->times) {
        rc = predict__fail(err, PREDICT_NOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < d->ntimes; i++)
        memcpy(&d->times[i], &times.keys[3 * i], sizeof(double));
    d->w = w;
    w = NULL;
cleanup:
    free(w);
    predict__hash_release(&rows);
    predict__hash_release(&times);
    if (rc != PREDICT_OK) predict__bg_data_release(d);
    return rc;
}

/* ---- evaluation ---------------------------------------------------------------------------- */

/* Per-evaluation tables, shared read-only by the worker threads. */
typedef struct bg_tables {
    double r, alpha, a, b;
    const double *lat, *iat; /* log(α+t), 1/(α+t) per distinct time */
    const double *lbx, *ibx; /* log(b+x−1), 1/(b+x−1) per x (x >= 1) */
} bg_tables;

typedef struct bg_acc {
    double f, g[4], H[16];
} bg_acc;

typedef struct bg_job {
    const predict_bg_data *d;
    const bg_tables *t;
    size_t lo, hi;
    int want_g, want_H;
    bg_acc acc;
} bg_job;

/* The rows' part: log-sum-exp of A3 and A4 with weights w3 = 1 − w4, w4 = softmax weight of
 * A4. Gradient = w3 ∇A3 + w4 ∇A4; Hessian = w3 ∇²A3 + w4 ∇²A4 + w3 w4 (∇A4 − ∇A3)(…)ᵀ. */
static void row_accumulate(bg_job *j)
{
    const predict_bg_data *d = j->d;
    const bg_tables *t = j->t;
    const double r = t->r, a = t->a, la = log(t->a), ia = 1 / t->a;
    double f = 0, gr = 0, gal = 0, ga = 0, gb = 0;
    double Hrr = 0, Hral = 0, Hra = 0, Hrb = 0, Halal = 0, Hala = 0, Halb = 0, Haa = 0, Hab = 0,
           Hbb = 0;
    (void)a;
    for (size_t i = j->lo; i < j->hi; i++) {
        const int32_t x = d->x[i];
        const double w = d->w[i], lT = t->lat[d->iT[i]], iT = t->iat[d->iT[i]];
        const double rx = r + x;
        if (x == 0) {
            f -= w * r * lT;
            if (j->want_g) {
                gr -= w * lT;
                gal -= w * r * iT;
            }
            if (j->want_H) {
                Hral -= w * iT;
                Halal += w * r * iT * iT;
            }
            continue;
        }
        const double ltx = t->lat[d->itx[i]], itx = t->iat[d->itx[i]];
        const double A3 = -rx * lT, A4 = la - t->lbx[x] - rx * ltx, dd = A4 - A3;
        const double e = exp(-fabs(dd)), l1p = log1p(e);
        double w3, w4;
        if (dd >= 0) {
            f += w * (A4 + l1p);
            w4 = 1 / (1 + e);
            w3 = e * w4;
        } else {
            f += w * (A3 + l1p);
            w3 = 1 / (1 + e);
            w4 = e * w3;
        }
        if (!j->want_g) continue;
        const double ib = t->ibx[x];
        gr -= w * (w3 * lT + w4 * ltx);
        gal -= w * rx * (w3 * iT + w4 * itx);
        ga += w * w4 * ia;
        gb -= w * w4 * ib;
        if (!j->want_H) continue;
        const double D0 = lT - ltx, D1 = rx * (iT - itx), D2 = ia, D3 = -ib;
        const double c = w * w3 * w4;
        Hrr += c * D0 * D0;
        Hral += -w * (w3 * iT + w4 * itx) + c * D0 * D1;
        Hra += c * D0 * D2;
        Hrb += c * D0 * D3;
        Halal += w * rx * (w3 * iT * iT + w4 * itx * itx) + c * D1 * D1;
        Hala += c * D1 * D2;
        Halb += c * D1 * D3;
        Haa += -w * w4 * ia * ia + c * D2 * D2;
        Hab += c * D2 * D3;
        Hbb += w * w4 * ib * ib + c * D3 * D3;
    }
    bg_acc *o = &j->acc;
    o->f = f;
    o->g[0] = gr, o->g[1] = gal, o->g[2] = ga, o->g[3] = gb;
    double H[16] = {Hrr, Hral, Hra, Hrb, Hral, Halal, Hala, Halb,
                    Hra, Hala, Haa, Hab, Hrb,  Halb,  Hab,  Hbb};
    memcpy(o->H, H, sizeof H);
}

static void *row_thread(void *p)
{
    row_accumulate(p);
    return NULL;
}

double predict__bg_eval(const predict_bg_data *d, const double par[4], double *g, double *H)
{
    const double r = par[0], al = par[1], a = par[2], b = par[3];
    if (!(r > 0 && al > 0 && a > 0 && b > 0) || !isfinite(r + al + a + b)) return -INFINITY;
    size_t nx = (size_t)d->xmax + 1;
    double *buf = malloc((2 * d->ntimes + 2 * nx) * sizeof *buf);
    if (!buf) return -INFINITY;
    double *lat = buf, *iat = buf + d->ntimes, *lbx = iat + d->ntimes, *ibx = lbx + nx;
    for (size_t i = 0; i < d->ntimes; i++) {
        lat[i] = log(al + d->times[i]);
        iat[i] = 1 / (al + d->times[i]);
    }
    lbx[0] = ibx[0] = 0;
    for (size_t x = 1; x < nx; x++) {
        lbx[x] = log(b + (double)x - 1);
        ibx[x] = 1 / (b + (double)x - 1);
    }
    bg_tables t = {r, al, a, b, lat, iat, lbx, ibx};

    /* Rows, split over threads when asked and worth it. */
    int nt = d->nthreads > 1 && d->nrows >= 20000 ? d->nthreads : 1;
    if (nt > 16) nt = 16;
    bg_job jobs[16];
    pthread_t th[16];
    int started[16] = {0};
    for (int k = 0; k < nt; k++) {
        jobs[k] = (bg_job){.d = d,
                           .t = &t,
                           .lo = d->nrows * (size_t)k / (size_t)nt,
                           .hi = d->nrows * (size_t)(k + 1) / (size_t)nt,
                           .want_g = g != NULL || H != NULL,
                           .want_H = H != NULL};
        if (k > 0) started[k] = pthread_create(&th[k], NULL, row_thread, &jobs[k]) == 0;
    }
    row_accumulate(&jobs[0]);
    for (int k = 1; k < nt; k++) {
        if (started[k])
            pthread_join(th[k], NULL);
        else
            row_accumulate(&jobs[k]); /* thread creation failed: do it here */
    }
    bg_acc acc = jobs[0].acc;
    for (int k = 1; k < nt; k++) {
        acc.f += jobs[k].acc.f;
        for (int i = 0; i < 4; i++)
            acc.g[i] += jobs[k].acc.g[i];
        for (int i = 0; i < 16; i++)
            acc.H[i] += jobs[k].acc.H[i];
    }
    free(buf);

    /* The x-only part: Σ_x n_x [log Γ(r+x)/Γ(r) + log B(a,b+x)/B(a,b)] + N r log α, by running
     * sums over k < x of log(r+k), log(b+k), log(a+b+k) and their derivatives. */
    double slr = 0, slb = 0, slab = 0, s1r = 0, s1b = 0, s1ab = 0, s2r = 0, s2b = 0, s2ab = 0;
    const double lal = log(al);
    acc.f += d->wsum * r * lal;
    acc.g[0] += d->wsum * lal;
    acc.g[1] += d->wsum * r / al;
    acc.H[1] += d->wsum / al;
    acc.H[4] += d->wsum / al;
    acc.H[5] -= d->wsum * r / (al * al);
    for (size_t x = 0; x < nx; x++) {
        if (x > 0) {
            double rk = r + (double)(x - 1), bk = b + (double)(x - 1),
                   abk = a + b + (double)(x - 1);
            slr += log(rk), slb += log(bk), slab += log(abk);
            s1r += 1 / rk, s1b += 1 / bk, s1ab += 1 / abk;
            s2r += 1 / (rk * rk), s2b += 1 / (bk * bk), s2ab += 1 / (abk * abk);
        }
        double n = d->nx[x];
        if (n == 0) continue;
        acc.f += n * (slr + slb - slab);
        acc.g[0] += n * s1r;
        acc.g[2] -= n * s1ab;
        acc.g[3] += n * (s1b - s1ab);
        acc.H[0] -= n * s2r;
        acc.H[10] += n * s2ab;
        acc.H[11] += n * s2ab;
        acc.H[14] += n * s2ab;
        acc.H[15] += n * (s2ab - s2b);
    }
    if (g) memcpy(g, acc.g, sizeof acc.g);
    if (H) memcpy(H, acc.H, sizeof acc.H);
    return isfinite(acc.f) ? acc.f : -INFINITY;
}

/* ---- fit ----------------------------------------------------------------------------------- */

/* Objective on theta = log(par): g_θ = par ∘ g, H_θ = diag(par) H diag(par) + diag(par ∘ g). */
static int bg_objective(void *ctx, const double *theta, double *f, double *g, double *H)
{
    double par[4], gn[4], Hn[16];
    for (int i = 0; i < 4; i++)
        par[i] = exp(theta[i]);
    *f = predict__bg_eval(ctx, par, g ? gn : NULL, H ? Hn : NULL);
    if (!isfinite(*f)) return -1;
    if (g) {
        for (int i = 0; i < 4; i++)
            g[i] = par[i] * gn[i];
    }
    if (H) {
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                H[i * 4 + j] = par[i] * par[j] * Hn[i * 4 + j] + (i == j ? par[i] * gn[i] : 0);
    }
    return 0;
}

static const char *const bg_names[4] = {"r", "alpha", "a", "b"};

/* Populations above this size start from the fit of a subsample of about SUBSAMPLE_N. */
#define SUBSAMPLE_ABOVE 400000
#define SUBSAMPLE_N 100000

int predict__subsample_start(const predict_cbs *cbs, int bgnbd, void *out, predict_error *err)
{
    if (cbs->n <= SUBSAMPLE_ABOVE) return -1;
    size_t step = cbs->n / SUBSAMPLE_N, m = cbs->n / step;
    predict_cbs sub = {cbs->window, m, malloc(m * sizeof *sub.rows)};
    if (!sub.rows) return -1;
    for (size_t i = 0; i < m; i++)
        sub.rows[i] = cbs->rows[i * step];
    predict_status st =
        bgnbd ? predict_bgnbd_fit(&sub, NULL, out, err) : predict_gg_fit(&sub, NULL, out, err);
    free(sub.rows);
    return st == PREDICT_OK ? 0 : -1;
}

predict_status predict_bgnbd_fit(const predict_cbs *cbs, const predict_fit_opts *opts,
                                 predict_bgnbd *out, predict_error *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!out || !cbs) return predict__fail(err, PREDICT_INVALID, "NULL argument");
    if (cbs->n == 0) return predict__fail(err, PREDICT_NO_CUSTOMERS, "no customers to fit");
    if (cbs->n == 1)
        return predict__fail(err, PREDICT_TOO_FEW,
                             "only one customer: BG/NBD needs a population to fit");
    predict_bg_data d;
    predict_status rc = predict__bg_data_build(cbs, &d, err);
    if (rc != PREDICT_OK) return rc;
    if (d.xsum == 0) {
        rc = predict__fail(err, PREDICT_NO_REPEAT,
                           "none of the %zu customers made a repeat purchase: purchase rate "
                           "and dropout cannot be estimated",
                           cbs->n);
        goto cleanup;
    }
    if (d.nrows == 1) {
        rc = predict__fail(err, PREDICT_DEGENERATE,
                           "all %zu customers have the same purchase history (x, t_x, T): the "
                           "likelihood has no interior maximum",
                           cbs->n);
        goto cleanup;
    }
    d.nthreads = opts ? opts->nthreads : 1;

    /* Start: r = 1 and α matching the mean purchase rate Σx/ΣT; a = b = 1. For a large
     * population, the optimum of an evenly spread subsample is a far better start: the full
     * data then needs two or three Newton steps instead of seven. */
    double theta[4] = {0, log(d.Tsum / d.xsum), 0, 0};
    predict_bgnbd sub;
    if (predict__subsample_start(cbs, 1, &sub, NULL) == 0) {
        theta[0] = log(sub.r), theta[1] = log(sub.alpha);
        theta[2] = log(sub.a), theta[3] = log(sub.b);
    }
    predict_opt o = {
        .k = 4, .max_iter = opts && opts->max_iter > 0 ? opts->max_iter : 200, .theta_bound = 30};
    predict_opt_result res = predict__newton(&o, bg_objective, &d, theta);
    if (res == PREDICT_OPT_DIVERGED) {
        rc = predict__fail(err, PREDICT_DEGENERATE,
                           "BG/NBD parameter %s ran to %s: the data has no interior maximum",
                           bg_names[o.diverged_index],
                           theta[o.diverged_index] > 0 ? "infinity" : "zero");
        goto cleanup;
    }
    if (res == PREDICT_OPT_MAXITER) {
        rc = predict__fail(err, PREDICT_NO_CONVERGENCE,
                           "BG/NBD fit did not converge in %d iterations", o.iterations);
        goto cleanup;
    }
    if (res == PREDICT_OPT_FAILED) {
        rc = predict__fail(err, PREDICT_NUMERIC, "BG/NBD likelihood not finite during the fit");
        goto cleanup;
    }
    /* Observed information in the natural parameters from the optimiser's last Hessian on
     * the log scale: H_θ = diag(par) H diag(par) + diag(par ∘ g). */
    double par[4], cov[16], negH[16];
    for (int i = 0; i < 4; i++)
        par[i] = exp(theta[i]);
    double ll = o.f;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            negH[i * 4 + j] = -(o.H[i * 4 + j] - (i == j ? o.g[i] : 0)) / (par[i] * par[j]);
    if (!isfinite(ll) || predict__spd_inverse(4, negH, cov) != 0) {
        rc = predict__fail(err, PREDICT_DEGENERATE,
                           "BG/NBD information matrix is singular at the optimum: parameters "
                           "not identifiable from this data");
        goto cleanup;
    }
    /* a and b (or r) in the tens of thousands mean the data only pins their ratio (the dropout
     * probability), not the spread of it: small chains with few repeat buyers land there.
     * The parameters are not identifiable, and the expectation's series would need ~a
     * terms per customer: refuse, and say why. */
    if (par[2] > PREDICT_BG_MAX_SHAPE || par[3] > PREDICT_BG_MAX_SHAPE) {
        rc = predict__fail(err, PREDICT_DEGENERATE,
                           "BG/NBD dropout parameters ran off (a = %.3g, b = %.3g): the data "
                           "pins the dropout probability but not its spread across customers "
                           "(too few repeat buyers)",
                           par[2], par[3]);
        goto cleanup;
    }
    if (par[2] < PREDICT_BG_MIN_SHAPE || par[3] < PREDICT_BG_MIN_SHAPE) {
        rc = predict__fail(err, PREDICT_DEGENERATE,
                           "BG/NBD dropout parameters ran to zero (a = %.3g, b = %.3g): the data "
                           "says every customer either never or always drops out",
                           par[2], par[3]);
        goto cleanup;
    }
    if (par[0] > PREDICT_BG_MAX_SHAPE) {
        rc = predict__fail(err, PREDICT_DEGENERATE,
                           "BG/NBD purchase-rate parameters ran off (r = %.3g, alpha = %.3g): the "
                           "data pins the mean purchase rate but not its spread across customers "
                           "(too few repeat buyers)",
                           par[0], par[1]);
        goto cleanup;
    }
    out->r = par[0], out->alpha = par[1], out->a = par[2], out->b = par[3];
    for (int i = 0; i < 4; i++)
        out->se[i] = sqrt(cov[i * 4 + i]);
    out->ll = ll;
    out->iterations = o.iterations;
    out->unit_days = cbs->window.unit_days > 0 ? cbs->window.unit_days : 1;
    out->n_customers = cbs->n;
    out->n_rows = d.nrows;
    predict__ok(err);
cleanup:
    predict__bg_data_release(&d);
    return rc;
}

double predict_bgnbd_loglik(const double par[4], const predict_cbs *cbs, double grad[4])
{
    predict_bg_data d;
    if (predict__bg_data_build(cbs, &d, NULL) != PREDICT_OK) return -INFINITY;
    double f = predict__bg_eval(&d, par, grad, NULL);
    predict__bg_data_release(&d);
    return f;
}

/* ---- predictions --------------------------------------------------------------------------- */

double predict__bg_inv_alive(const predict_bgnbd *m, int32_t x, double t_x, double T)
{
    if (x <= 0) return 1;
    /* Out-of-range input is clamped (0 <= t_x <= T) so that no NaN can come out. */
    T = T > 0 ? T : 0;
    t_x = t_x > 0 ? (t_x < T ? t_x : T) : 0;
    double lt =
        log(m->a) - log(m->b + x - 1) + (m->r + x) * (log(m->alpha + T) - log(m->alpha + t_x));
    return 1 + exp(lt); /* may be +inf: then P(alive) = 0 and expectations 0, never NaN */
}

double predict_bgnbd_p_alive(const predict_bgnbd *m, int32_t x, double t_x, double T)
{
    return 1 / predict__bg_inv_alive(m, x, t_x, T);
}

/* With u = t/(α+T+t), C = a+b+x−1, the Euler transformation 2F1(A,B;C;u) =
 * (1−u)^(C−A−B) 2F1(C−A, C−B; C; u) turns the numerator into
 *   C · [1 − (1−u)^(a−1)]/(a−1) − (1−u)^(a−1) · Σ_{k≥1} (c1)_k (a)_{k−1} / ((C+1)_{k−1} k!) u^k
 * with c1 = a+b−1−r: the 0/0 at a = 1 becomes expm1(s)/s, and C may be ≤ 0 (x = 0, a+b < 1)
 * without dividing by it. The series terms shrink like u^k. */
double predict__bg_numerator(const predict_bgnbd *m, double t, int32_t x, double T)
{
    if (!(t > 0) || x < 0) return 0;
    T = T > 0 ? T : 0;
    const double a = m->a, b = m->b, r = m->r;
    const double u = t / (m->alpha + T + t), C = a + b + x - 1, c1 = a + b - 1 - r;
    const double l1u = log1p(-u), s = (a - 1) * l1u;
    if (c1 < -1 && C > 0 && fabs(a - 1) > 1e-3) {
        /* r well above a + b − 1: the transformed series alternates with huge terms and
         * cancels to garbage. The plain form C/(a−1) · [1 − (1−u)^(r+x) 2F1(r+x, b+x; C; u)]
         * has positive terms only: sum them in logs, scaled by (1−u)^(r+x). */
        const double A = r + x, B = b + x;
        double lt = 0, lf = 0; /* log of the current term and of the running sum */
        for (long k = 0; k < 10000000; k++) {
            const double ratio = (A + k) * (B + k) * u / ((C + k) * (k + 1));
            lt += log(ratio);
            lf = lt > lf ? lt + log1p(exp(lf - lt)) : lf + log1p(exp(lt - lf));
            if (ratio < 1 && lt - lf < -40) break;
        }
        return C / (a - 1) * -expm1(A * l1u + lf);
    }
    const double phi = fabs(s) < 1e-300 ? 1 : expm1(s) / s;
    /* The terms times (1−u)^(a−1), kept as log magnitude and sign: with a large a (small
     * chains fit a, b in the thousands) the plain terms grow past DBL_MAX while the factor
     * underflows to 0, and inf · 0 is NaN. Scaled, every term is at most the result. */
    double sum = 0;
    if (c1 != 0) {
        double lt = log(fabs(c1) * u) + s, sg = c1 > 0 ? 1 : -1;
        sum = sg * exp(lt);
        for (long k = 1; k < 50000000; k++) {
            const double ratio = (c1 + k) * (a + k - 1) * u / ((C + k) * (k + 1));
            if (ratio == 0 || !isfinite(ratio)) break;
            lt += log(fabs(ratio));
            sg = ratio > 0 ? sg : -sg;
            const double term = sg * exp(lt);
            sum += term;
            if (fabs(ratio) < 1 && fabs(term) <= 1e-17 * fabs(sum)) break;
        }
    }
    return C * (-l1u * phi) - sum;
}

double predict_bgnbd_expected(const predict_bgnbd *m, double t, int32_t x, double t_x, double T)
{
    return predict__bg_numerator(m, t, x, T) / predict__bg_inv_alive(m, x, t_x, T);
}

double predict_bgnbd_expected_new(const predict_bgnbd *m, double t)
{
    return predict__bg_numerator(m, t, 0, 0);
}
