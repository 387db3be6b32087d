/* optim.c — a damped Newton maximiser for small (k <= 4) smooth likelihoods.
 *
 * Why Newton and not BFGS: both models have a cheap analytic Hessian, and with it Newton
 * converges in a handful of iterations, each costing about one likelihood pass — that is what
 * keeps fitting two million customers well under a second. Far from the optimum the Hessian
 * may be indefinite, so the step solves (−H + λI) δ = g with λ raised until the system is
 * positive definite and the step increases f (Levenberg–Marquardt damping), then lowered again
 * so the final iterations are pure Newton steps. Parameters are optimised on the log scale, so
 * they stay positive; a log-parameter running past theta_bound means the likelihood has no
 * interior maximum (degenerate data). */
#include "predict/internal.h"

#include <math.h>

int predict__chol_solve(int k, double *A, const double *b, double *x)
{
    for (int j = 0; j < k; j++) {
        double s = A[j * k + j];
        for (int p = 0; p < j; p++)
            s -= A[j * k + p] * A[j * k + p];
        if (!(s > 0) || !isfinite(s)) return -1;
        double d = sqrt(s);
        A[j * k + j] = d;
        for (int i = j + 1; i < k; i++) {
            double t = A[i * k + j];
            for (int p = 0; p < j; p++)
                t -= A[i * k + p] * A[j * k + p];
            A[i * k + j] = t / d;
        }
    }
    double y[4];
    for (int i = 0; i < k; i++) {
        double t = b[i];
        for (int p = 0; p < i; p++)
            t -= A[i * k + p] * y[p];
        y[i] = t / A[i * k + i];
    }
    for (int i = k - 1; i >= 0; i--) {
        double t = y[i];
        for (int p = i + 1; p < k; p++)
            t -= A[p * k + i] * x[p];
        x[i] = t / A[i * k + i];
    }
    return 0;
}

int predict__spd_inverse(int k, const double *A, double *inv)
{
    for (int c = 0; c < k; c++) {
        double M[16], e[4] = {0}, col[4];
        memcpy(M, A, (size_t)(k * k) * sizeof *M);
        e[c] = 1;
        if (predict__chol_solve(k, M, e, col) != 0) return -1;
        for (int r = 0; r < k; r++)
            inv[r * k + c] = col[r];
    }
    return 0;
}

predict_opt_result predict__newton(predict_opt *o, predict_objective fn, void *ctx, double *theta)
{
    const int k = o->k;
    double f, g[4], H[16], lambda = 0, theta0[4], f_ten;
    memcpy(theta0, theta, (size_t)k * sizeof *theta);
    o->iterations = 0;
    o->diverged_index = -1;
    if (fn(ctx, theta, &f, g, H) != 0) return PREDICT_OPT_FAILED;
    f_ten = f;
    for (int it = 0; it < o->max_iter; it++) {
        o->iterations = it + 1;
        double scale = 0;
        for (int i = 0; i < k; i++)
            scale = fmax(scale, fabs(H[i * k + i]));
        scale = fmax(scale, 1e-12);
        int accepted = 0;
        for (int tries = 0; tries < 60 && !accepted; tries++) {
            double A[16], step[4];
            for (int i = 0; i < k * k; i++)
                A[i] = -H[i];
            for (int i = 0; i < k; i++)
                A[i * k + i] += lambda;
            if (predict__chol_solve(k, A, g, step) != 0) {
                lambda = lambda > 0 ? lambda * 10 : 1e-6 * scale;
                continue;
            }
            double big = 0, dec = 0;
            for (int i = 0; i < k; i++) {
                big = fmax(big, fabs(step[i]));
                dec += g[i] * step[i];
            }
            /* Newton decrement: g'(−H)^-1 g is twice the predicted gain. Stop when the
             * predicted gain is at the rounding level of f. */
            if (lambda == 0 && (dec <= 1e-13 * (1 + fabs(f)) || big < 1e-12)) {
                o->f = f;
                memcpy(o->g, g, sizeof o->g);
                memcpy(o->H, H, sizeof o->H);
                return PREDICT_OPT_CONVERGED;
            }
            if (big > 2) { /* at most a factor e^2 per parameter per step */
                for (int i = 0; i < k; i++)
                    step[i] *= 2 / big;
                dec *= 2 / big;
            }
            /* The trial point gets gradient and Hessian too: near the optimum nearly every
             * step is accepted, and then they are needed anyway — one pass instead of two. */
            double t2[4], f2, g2[4], H2[16];
            for (int i = 0; i < k; i++)
                t2[i] = theta[i] + step[i];
            if (fn(ctx, t2, &f2, g2, H2) == 0 && f2 >= f + 1e-4 * dec * 0.5) {
                memcpy(theta, t2, (size_t)k * sizeof *theta);
                f = f2;
                memcpy(g, g2, sizeof g2);
                memcpy(H, H2, sizeof H2);
                accepted = 1;
                lambda = lambda > 1e-3 * scale ? lambda / 10 : 0;
            } else if (lambda == 0 && dec <= 1e-9 * (1 + fabs(f))) {
                /* The pure Newton step cannot improve f any more: rounding level reached. */
                o->f = f;
                memcpy(o->g, g, sizeof o->g);
                memcpy(o->H, H, sizeof o->H);
                return PREDICT_OPT_CONVERGED;
            } else {
                lambda = lambda > 0 ? lambda * 10 : 1e-4 * scale;
            }
        }
        if (!accepted) return PREDICT_OPT_FAILED;
        for (int i = 0; i < k; i++) {
            if (fabs(theta[i]) > o->theta_bound) {
                o->diverged_index = i;
                o->f = f;
                return PREDICT_OPT_DIVERGED;
            }
        }
        /* Stalled: ten iterations without a relative gain of 1e-10 while Newton still
         * predicts one. That is a flat ridge running to the boundary, not an optimum. */
        if (it % 10 == 9) {
            if (f - f_ten <= 1e-10 * (1 + fabs(f))) break;
            f_ten = f;
        }
    }
    o->f = f;
    /* Out of iterations or stalled: if a parameter has moved by a factor of more than e^5
     * from a start that is of the right order of magnitude, it is heading for 0 or infinity
     * (e.g. no heterogeneity: r, α → ∞ together), which is degenerate data, not a slow
     * optimiser. */
    double far = 5;
    for (int i = 0; i < k; i++) {
        if (fabs(theta[i] - theta0[i]) > far) {
            far = fabs(theta[i] - theta0[i]);
            o->diverged_index = i;
        }
    }
    return o->diverged_index >= 0 ? PREDICT_OPT_DIVERGED : PREDICT_OPT_MAXITER;
}
