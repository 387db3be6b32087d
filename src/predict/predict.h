/* predict.h — customer-base predictions: BG/NBD (who is still a customer, how often they will
 * buy) and Gamma-Gamma (how much they spend per order), fitted by maximum likelihood.
 *
 * This module owns the mathematics only: transactions in, per-customer summaries, fitted
 * parameters and per-customer predictions out. It knows nothing of HTTP, the store or members;
 * callers map member ids to the int64 customer keys and persist the results. Everything is
 * pure and re-entrant (no globals); the only dependencies are libm and pthreads.
 *
 * Times: transactions carry a day number (days since 1970-01-01). Summaries are expressed in
 * a time unit of `unit_days` days (1 = days, the default; 7 = weeks, as in the literature).
 * Money: amounts are int64 cents; mean values and CLV are cents (double; round to store).
 *
 * Errors: every fallible call returns a predict_status and, when `err` is not NULL, fills it
 * with the status and an English message. On failure, out-parameters are zeroed: a failed
 * call never leaves NaN behind. See docs/predictions.md for the user-facing description. */
#ifndef SIYU_PREDICT_H
#define SIYU_PREDICT_H

#include <stddef.h>
#include <stdint.h>

/* ---- errors ------------------------------------------------------------------------------- */

/* X(name, string): one table generates the enum and predict_status_name(). */
#define PREDICT_STATUS_MAP(X)                                                                      \
    X(OK, "ok")                                                                                    \
    X(INVALID, "invalid_argument")      /* NULL pointer, bad window or option */                   \
    X(NO_CUSTOMERS, "no_customers")     /* nothing to summarise or fit */                          \
    X(TOO_FEW, "too_few_customers")     /* fewer customers than the model can be fitted on */      \
    X(NO_REPEAT, "no_repeat_buyers")    /* nobody bought twice: dropout and spend unknown */       \
    X(DEGENERATE, "degenerate_data")    /* no interior maximum (identical histories, ...) */       \
    X(NO_CONVERGENCE, "no_convergence") /* optimiser hit its iteration limit */                    \
    X(NUMERIC, "numeric_error")         /* non-finite value where none is possible */              \
    X(NOMEM, "out_of_memory")

typedef enum predict_status {
#define X(name, str) PREDICT_##name,
    PREDICT_STATUS_MAP(X)
#undef X
} predict_status;

typedef struct predict_error {
    predict_status status;
    char message[240];
} predict_error;

const char *predict_status_name(predict_status s); /* "no_repeat_buyers", ... */

/* ---- summaries (summary.c) --------------------------------------------------------------- */

typedef struct predict_txn {
    int64_t customer;     /* any key; customers are the distinct keys */
    int32_t day;          /* days since 1970-01-01 */
    int64_t amount_cents; /* order amount; several orders of one day are summed */
} predict_txn;

/* The calibration period ends on cal_end_day (inclusive); the holdout period is
 * (cal_end_day, holdout_end_day]. holdout_end_day == cal_end_day means no holdout. */
typedef struct predict_window {
    int32_t cal_end_day;
    int32_t holdout_end_day;
    double unit_days; /* > 0; 1 = days, 7 = weeks */
} predict_window;

/* One customer's calibration/holdout summary ("CBS" in the literature). Purchase days, not
 * orders, are counted: several orders on one day are one purchase. */
typedef struct predict_summary {
    int64_t customer;
    int32_t first_day; /* day of the first purchase: time 0 */
    int32_t x;         /* repeat purchase days in calibration (days after the first) */
    double t_x;        /* time of the last calibration purchase since the first; 0 if x == 0 */
    double T;          /* time from the first purchase to the end of calibration */
    double
        mean_value; /* mean cents of the x repeat purchase days (first day excluded); 0 if x == 0 */
    int32_t x_star; /* purchase days in the holdout period */
} predict_summary;

/* A set of summaries and the window they were computed for. `rows` is malloc'd and owned
 * by the set; a caller may also fill one by hand (e.g. simulated data). */
typedef struct predict_cbs {
    predict_window window;
    size_t n;
    predict_summary *rows;
} predict_cbs;

/* Summarises `n` transactions (any order; the input is not modified) into one row per
 * customer whose first purchase is on or before cal_end_day, sorted by customer key.
 * Later customers are not in the calibration cohort and are left out; transactions after
 * holdout_end_day are ignored. An empty result is PREDICT_NO_CUSTOMERS. */
predict_status predict_cbs_build(const predict_txn *txns, size_t n, const predict_window *w,
                                 predict_cbs *out, predict_error *err);
void predict_cbs_release(predict_cbs *cbs); /* frees rows; NULL and released sets are no-ops */

/* ---- fitting (bgnbd.c, gammagamma.c) ----------------------------------------------------- */

typedef struct predict_fit_opts {
    int nthreads; /* likelihood evaluation threads; <= 1 means single-threaded */
    int max_iter; /* Newton iterations; 0 means the default (200) */
} predict_fit_opts;

/* Fitted BG/NBD model (Fader, Hardie & Lee 2005). Purchase rate λ ~ Gamma(r, α) per customer
 * (α in time units), dropout probability after each repeat purchase p ~ Beta(a, b). */
typedef struct predict_bgnbd {
    double r, alpha, a, b;
    double se[4];       /* standard errors of r, alpha, a, b (inverse observed information) */
    double ll;          /* maximised log-likelihood */
    int iterations;     /* Newton iterations used */
    double unit_days;   /* time unit of alpha and of every t passed to the predictors */
    size_t n_customers; /* customers fitted on */
    size_t n_rows;      /* distinct (x, t_x, T) after collapsing identical summaries */
} predict_bgnbd;

/* Fitted Gamma-Gamma spend model (Fader & Hardie 2013): per-purchase value ~ Gamma(p, ν),
 * ν ~ Gamma(q, γ) per customer. Fitted on customers with x > 0 and mean_value > 0. */
typedef struct predict_gg {
    double p, q, gamma; /* gamma in cents */
    double se[3];
    double ll;
    int iterations;
    size_t n_customers; /* repeat buyers fitted on */
} predict_gg;

/* The largest shape parameter r, a or b a fit accepts: beyond it the data pins only a ratio
 * (r/α, the purchase rate, or a/(a+b), the dropout probability), not the spread across
 * customers, and every prediction's series would need about that many terms. */
#define PREDICT_BG_MAX_SHAPE 1e4
/* The smallest a or b a fit accepts: near zero every customer is sure to drop out or to stay,
 * and the expectation's series divides by a + b + x − 1 + k ≈ 0. */
#define PREDICT_BG_MIN_SHAPE 1e-4

/* Fit by damped Newton on log-parameters with the analytic gradient and Hessian. Errors:
 * NO_CUSTOMERS (n == 0), TOO_FEW (one customer), NO_REPEAT (all x == 0), DEGENERATE (all
 * histories identical, or a parameter runs to 0 or infinity, r, a or b above
 * PREDICT_BG_MAX_SHAPE, a or b below PREDICT_BG_MIN_SHAPE, or the Hessian at the optimum is
 * singular), NO_CONVERGENCE. `opts` may be NULL. A fit that
 * succeeds gives finite predictions for every history. */
predict_status predict_bgnbd_fit(const predict_cbs *cbs, const predict_fit_opts *opts,
                                 predict_bgnbd *out, predict_error *err);
/* Same errors; additionally DEGENERATE when q <= 1 (the population mean spend is infinite). */
predict_status predict_gg_fit(const predict_cbs *cbs, const predict_fit_opts *opts, predict_gg *out,
                              predict_error *err);

/* Total log-likelihood at given parameters (no collapsing shortcuts beyond exact ones);
 * `grad` (4 or 3 values, may be NULL) receives the gradient in the natural parameters.
 * Returns -INFINITY for non-positive parameters. Useful for tests and diagnostics. */
double predict_bgnbd_loglik(const double par[4], const predict_cbs *cbs, double grad[4]);
double predict_gg_loglik(const double par[3], const predict_cbs *cbs, double grad[3]);

/* ---- per-customer predictions (bgnbd.c, gammagamma.c, clv.c) ----------------------------- */

/* The single-customer predictors clamp out-of-range input (t_x into [0, T], T >= 0) and never
 * return NaN for a fitted model.
 * P(alive at T | x, t_x, T). Customers with x == 0 are alive (BG/NBD: dropout happens only
 * right after a repeat purchase). */
double predict_bgnbd_p_alive(const predict_bgnbd *m, int32_t x, double t_x, double T);
/* Expected purchases in (T, T + t] given the history; t in the model's time unit. */
double predict_bgnbd_expected(const predict_bgnbd *m, double t, int32_t x, double t_x, double T);
/* Expected purchases in (0, t] for a customer just acquired (unconditional). */
double predict_bgnbd_expected_new(const predict_bgnbd *m, double t);
/* Expected mean order value (cents) given x repeat purchases of mean `mean_value`; for
 * x == 0 (or mean_value <= 0) the population mean p·γ/(q − 1). */
double predict_gg_expected_value(const predict_gg *m, int32_t x, double mean_value);

typedef struct predict_score_opts {
    double horizon_days;     /* expected_purchases horizon; 0 means 90 */
    int clv_months;          /* CLV horizon in months of 365.25/12 days; 0 means 12 */
    double monthly_discount; /* d in 1/(1+d)^m; 0 means no discounting (use e.g. 0.01) */
    int nthreads;            /* <= 1 means single-threaded */
} predict_score_opts;

typedef struct predict_score {
    int64_t customer;
    double p_alive;            /* [0, 1] */
    double expected_purchases; /* next horizon_days */
    double expected_value;     /* cents per purchase (Gamma-Gamma conditional mean) */
    double clv_cents;          /* discounted value of the next clv_months, see clv.c */
} predict_score;

/* CLV over `months` months (cents): Σ_m [E(m) − E(m−1)] · value / (1 + d)^m where E(m) is the
 * conditional expected number of purchases by the end of month m (BG/NBD) and value the
 * Gamma-Gamma conditional mean spend. */
double predict_clv(const predict_bgnbd *bg, const predict_gg *gg, const predict_summary *s,
                   int months, double monthly_discount);

/* Scores every summary into out[i] (out has cbs->n entries), sharing the expensive
 * hypergeometric terms between customers with equal (x, T). INVALID on bad options. */
predict_status predict_score_all(const predict_bgnbd *bg, const predict_gg *gg,
                                 const predict_cbs *cbs, const predict_score_opts *opts,
                                 predict_score *out, predict_error *err);

/* ---- holdout validation (validate.c) ----------------------------------------------------- */

#define PREDICT_VALIDATE_GROUPS 8 /* calibration repeat purchases 0, 1, ..., 6, 7+ */

typedef struct predict_validation_row {
    size_t customers;
    double actual;    /* Σ x_star of the group */
    double predicted; /* Σ E[purchases in the holdout | calibration history] */
} predict_validation_row;

typedef struct predict_validation {
    double holdout_length; /* in the model's time unit */
    predict_validation_row total;
    predict_validation_row by_x[PREDICT_VALIDATE_GROUPS]; /* index = min(x, 7) */
} predict_validation;

/* The classic calibration/holdout table. INVALID if the window has no holdout. */
predict_status predict_validate(const predict_bgnbd *bg, const predict_cbs *cbs,
                                predict_validation *out, predict_error *err);

#endif
