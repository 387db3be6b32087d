/* models.h — member predictions: fitting BG/NBD and Gamma-Gamma on the chain's own
 * orders (src/predict does the mathematics) and keeping the results on members.
 *
 * A fit reads every member order from the store, summarises it per member, fits both
 * models, scores every member and replaces the stored predictions in one transaction
 * with a model run that records parameters, standard errors and log-likelihoods. A fit
 * that fails (no repeat buyers, degenerate data) changes nothing and says why. */
#ifndef SIYU_MODELS_MODELS_H
#define SIYU_MODELS_MODELS_H

#include <jansson.h>
#include <stdint.h>

#include "base/error.h"
#include "store/store.h"

typedef struct model_options {
    double unit_days;        /* time unit of the fit: 1 (days, default) or 7 (weeks) */
    int32_t cal_end_day;     /* calibration ends on this local day (default: yesterday) */
    double horizon_days;     /* expected purchases horizon (default 90) */
    double monthly_discount; /* for the 12-month value (default 0.01) */
    double churn_threshold;  /* churn_risk: p_alive below this, with a repeat purchase (0.3) */
    int threads;             /* scoring threads (default 1) */
    /* Where the results are written (siyu serve: the group committer's connection, lent
     * by writer_lease): write_begin hands over the connection to write on, with no
     * transaction open, and write_end gives it back. NULL: on c itself. */
    int (*write_begin)(void *ctx, store_conn **c, siyu_err *e);
    int (*write_end)(void *ctx, siyu_err *e); /* 0, or -1: the results may not be durable */
    void *write_ctx;
} model_options;

void model_options_init(model_options *o, int64_t now);

/* Reads options from a JSON body ({unit, cal_end, horizon_days, monthly_discount,
 * churn_threshold}); absent fields keep their defaults. */
int model_options_from_json(model_options *o, json_t *body, siyu_err *e);

/* Fits, scores and stores; *report gets the run (see docs/predictions.md). Manages its
 * own write transaction on c. */
int models_fit(store_conn *c, const model_options *o, int64_t now, json_t **report, siyu_err *e);

/* The latest run's report, or not_found before the first fit. */
int models_current(store_conn *c, json_t **out, siyu_err *e);

/* The holdout check: fit on orders up to cal_end, predict (cal_end, holdout_end], and
 * compare with what happened, in total and by calibration repeat purchases. Stores
 * nothing; reads in the caller's transaction when one is open, else in its own. */
int models_validate(store_conn *c, int32_t cal_end, int32_t holdout_end, double unit_days,
                    json_t **out, siyu_err *e);

/* The member-360 block: {p_alive, expected_purchases_90d, expected_value_cents,
 * clv_12m_cents, churn_risk, run_id} or null before any fit. */
json_t *models_member_json(store_conn *c, int64_t member_id);

#endif
