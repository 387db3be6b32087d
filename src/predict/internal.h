/* internal.h — shared between the files of src/predict (and its unit tests), not public.
 *
 * Three pieces: error helpers, a tiny growable hash that collapses identical keys into dense
 * indices (used to collapse customers with identical summaries), and a damped Newton
 * maximiser for the 3- and 4-parameter likelihoods. */
#ifndef SIYU_PREDICT_INTERNAL_H
#define SIYU_PREDICT_INTERNAL_H

#include "predict/predict.h"

#include <stdint.h>
#include <string.h>

/* Sets err (if not NULL) and returns the status, so callers can `return predict__fail(...)`. */
predict_status predict__fail(predict_error *err, predict_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void predict__ok(predict_error *err);

/* ---- collapsing hash (collapse.c) ---------------------------------------------------------
 * Keys are three 64-bit words (e.g. x, bits of t_x, bits of T). predict__hash_put returns the
 * dense index of the key, appending it when new; keys live in `keys` (3 words per index), so
 * the slot array is only int32 indices and rehashing is cheap. */
typedef struct predict_hash {
    uint64_t *keys; /* 3 * n words */
    size_t n, cap_keys;
    int32_t *slots; /* -1 empty */
    size_t nslots;  /* power of two */
} predict_hash;

int predict__hash_init(predict_hash *h, size_t expect); /* 0 or -1 (no memory) */
int32_t predict__hash_put(predict_hash *h, uint64_t k0, uint64_t k1, uint64_t k2); /* -1 nomem */
void predict__hash_release(predict_hash *h);

static inline uint64_t predict__dbits(double d)
{
    uint64_t u;
    if (d == 0.0) d = 0.0; /* -0.0 and 0.0 are one key */
    memcpy(&u, &d, sizeof u);
    return u;
}

/* ---- damped Newton maximiser (optim.c) ----------------------------------------------------
 * Maximises f over theta in R^k (k <= 4; theta are log-parameters). The callback fills f and,
 * when g and H are not NULL, the gradient and the Hessian (row-major k*k) at theta, and returns
 * 0, or -1 when f is not finite there. */
typedef int (*predict_objective)(void *ctx, const double *theta, double *f, double *g, double *H);

typedef enum {
    PREDICT_OPT_CONVERGED,
    PREDICT_OPT_MAXITER,
    PREDICT_OPT_DIVERGED,
    PREDICT_OPT_FAILED
} predict_opt_result;

typedef struct predict_opt {
    int k;
    int max_iter;
    double theta_bound; /* |theta_i| beyond this means a parameter ran to 0 or infinity */
    /* results */
    double f;
    double g[4], H[16]; /* gradient and Hessian in theta at the optimum, when converged */
    int iterations;
    int diverged_index; /* which parameter ran off (left theta_bound, or moved by more than
                           e^5 from the start on a stalled or unfinished run), for messages */
} predict_opt;

predict_opt_result predict__newton(predict_opt *o, predict_objective fn, void *ctx, double *theta);

/* Cholesky solve of the k*k SPD system A x = b (A is overwritten). 0 or -1 if not SPD. */
int predict__chol_solve(int k, double *A, const double *b, double *x);
/* Inverse of a k*k SPD matrix into inv. 0 or -1 if not SPD. */
int predict__spd_inverse(int k, const double *A, double *inv);

/* For a large population (more than 400,000 summaries), fits the model (bgnbd: BG/NBD into a
 * predict_bgnbd, else Gamma-Gamma into a predict_gg) on an evenly strided subsample of about
 * 100,000 and returns 0: a warm start for the full fit. Returns -1 otherwise. */
int predict__subsample_start(const predict_cbs *cbs, int bgnbd, void *out, predict_error *err);

/* ---- BG/NBD internals (bgnbd.c) ---------------------------------------------------------- */

/* Customers collapsed on (x, t_x, T); times are indices into a table of distinct times so one
 * evaluation takes one log per distinct time, not per customer. */
typedef struct predict_bg_data {
    size_t nrows;
    int32_t *x, *itx, *iT;
    double *w;
    size_t ntimes;
    double *times;
    int32_t xmax;
    double *nx; /* Σ weights per x, xmax + 1 entries */
    double wsum, xsum, Tsum;
    int nthreads;
} predict_bg_data;

predict_status predict__bg_data_build(const predict_cbs *cbs, predict_bg_data *d,
                                      predict_error *err);
void predict__bg_data_release(predict_bg_data *d);
/* Log-likelihood, gradient and Hessian (row-major 4x4) in the natural parameters
 * (r, alpha, a, b); g and H may be NULL. Returns -INFINITY outside the domain. */
double predict__bg_eval(const predict_bg_data *d, const double par[4], double *g, double *H);

/* (a+b+x−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; t/(α+T+t))] / (a−1), the
 * numerator of the conditional expectation, evaluated without cancellation near a = 1. */
double predict__bg_numerator(const predict_bgnbd *m, double t, int32_t x, double T);
/* 1 / P(alive), i.e. 1 + [x>0] a/(b+x−1) ((α+T)/(α+t_x))^(r+x), in log form when large. */
double predict__bg_inv_alive(const predict_bgnbd *m, int32_t x, double t_x, double T);

#endif
