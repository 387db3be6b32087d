/* clv.c — customer lifetime value and scoring every customer.
 *
 * CLV over M months with monthly discount rate d (a month is 365.25/12 days):
 *   CLV = Σ_{m=1..M} [E(m) − E(m−1)] · v / (1 + d)^m
 * where E(m) is the BG/NBD conditional expected number of purchases in the first m months
 * after the end of calibration and v the Gamma-Gamma conditional mean order value. Purchases
 * of month m are valued at the end of month m (a slightly conservative convention).
 *
 * Speed: E(t | x, t_x, T) = N(t; x, T) / (1 + [x>0] a/(b+x−1) ((α+T)/(α+t_x))^(r+x)); the
 * numerator N holds the hypergeometric series and depends on (x, T) only, so scoring computes
 * it once per distinct (x, T) — with time in days, millions of customers share a few thousand —
 * and each customer then costs a few logs and one exp. */
#include "predict/internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#define DAYS_PER_MONTH (365.25 / 12)

double predict_clv(const predict_bgnbd *bg, const predict_gg *gg, const predict_summary *s,
                   int months, double monthly_discount)
{
    if (!bg || !gg || !s || months <= 0 || !(monthly_discount > -1)) return 0;
    const double M = DAYS_PER_MONTH / bg->unit_days;
    double prev = 0, disc = 1, sum = 0;
    for (int m = 1; m <= months; m++) {
        double N = predict__bg_numerator(bg, m * M, s->x, s->T);
        disc /= 1 + monthly_discount;
        sum += (N - prev) * disc;
        prev = N;
    }
    double v = predict_gg_expected_value(gg, s->x, s->mean_value);
    return sum * v / predict__bg_inv_alive(bg, s->x, s->t_x, s->T);
}

typedef struct score_ctx {
    const predict_bgnbd *bg;
    const predict_gg *gg;
    const predict_cbs *cbs;
    const uint64_t *keys; /* memo keys: x, bits of T */
    double *memo;         /* per key: N(horizon), discounted monthly increments */
    const int32_t *slot;  /* customer -> memo index */
    predict_score *out;
    double h, M, d;
    int months;
} score_ctx;

typedef struct score_job {
    score_ctx *c;
    size_t lo, hi;
    int phase; /* 0: memo entries [lo,hi); 1: customers [lo,hi) */
} score_job;

static void score_run(score_job *j)
{
    score_ctx *c = j->c;
    if (j->phase == 0) {
        for (size_t k = j->lo; k < j->hi; k++) {
            int32_t x = (int32_t)c->keys[3 * k];
            double T;
            memcpy(&T, &c->keys[3 * k + 1], sizeof T);
            double prev = 0, disc = 1, sum = 0;
            for (int m = 1; m <= c->months; m++) {
                double N = predict__bg_numerator(c->bg, m * c->M, x, T);
                disc /= 1 + c->d;
                sum += (N - prev) * disc;
                prev = N;
            }
            c->memo[2 * k] = predict__bg_numerator(c->bg, c->h, x, T);
            c->memo[2 * k + 1] = sum;
        }
        return;
    }
    for (size_t i = j->lo; i < j->hi; i++) {
        const predict_summary *s = &c->cbs->rows[i];
        const double *mv = &c->memo[2 * (size_t)c->slot[i]];
        double inv = predict__bg_inv_alive(c->bg, s->x, s->t_x, s->T);
        double v = predict_gg_expected_value(c->gg, s->x, s->mean_value);
        predict_score *o = &c->out[i];
        o->customer = s->customer;
        o->p_alive = 1 / inv;
        o->expected_purchases = mv[0] / inv;
        o->expected_value = v;
        o->clv_cents = mv[1] / inv * v;
    }
}

static void *score_thread(void *p)
{
    score_run(p);
    return NULL;
}

static void run_parallel(score_ctx *c, int phase, size_t n, int nt)
{
    score_job jobs[16];
    pthread_t th[16];
    int started[16] = {0};
    for (int k = 0; k < nt; k++) {
        jobs[k] =
            (score_job){c, n * (size_t)k / (size_t)nt, n * (size_t)(k + 1) / (size_t)nt, phase};
        if (k > 0) started[k] = pthread_create(&th[k], NULL, score_thread, &jobs[k]) == 0;
    }
    score_run(&jobs[0]);
    for (int k = 1; k < nt; k++) {
        if (started[k])
            pthread_join(th[k], NULL);
        else
            score_run(&jobs[k]);
    }
}

predict_status predict_score_all(const predict_bgnbd *bg, const predict_gg *gg,
                                 const predict_cbs *cbs, const predict_score_opts *opts,
                                 predict_score *out, predict_error *err)
{
    if (!bg || !gg || !cbs || (cbs->n > 0 && (!cbs->rows || !out)))
        return predict__fail(err, PREDICT_INVALID, "NULL argument");
    if (!(bg->r > 0 && bg->alpha > 0 && bg->a > 0 && bg->b > 0 && bg->unit_days > 0))
        return predict__fail(err, PREDICT_INVALID, "BG/NBD model is not fitted");
    if (!(gg->p > 0 && gg->q > 1 && gg->gamma > 0))
        return predict__fail(err, PREDICT_INVALID, "Gamma-Gamma model is not fitted");
    predict_score_opts o = opts ? *opts : (predict_score_opts){0};
    if (o.horizon_days == 0) o.horizon_days = 90;
    if (o.clv_months == 0) o.clv_months = 12;
    if (!(o.horizon_days > 0) || !isfinite(o.horizon_days) || o.clv_months < 0 ||
        o.clv_months > 1200 || !(o.monthly_discount > -1) || !isfinite(o.monthly_discount))
        return predict__fail(err, PREDICT_INVALID,
                             "bad scoring options: horizon_days %g, clv_months %d, "
                             "monthly_discount %g",
                             o.horizon_days, o.clv_months, o.monthly_discount);
    int nt = o.nthreads > 1 ? (o.nthreads > 16 ? 16 : o.nthreads) : 1;
    if (cbs->n == 0) {
        predict__ok(err);
        return PREDICT_OK;
    }
    for (size_t i = 0; i < cbs->n; i++) {
        const predict_summary *s = &cbs->rows[i];
        if (s->x < 0 || !(s->T >= 0) || !isfinite(s->T) || !(s->t_x >= 0) || !(s->t_x <= s->T))
            return predict__fail(err, PREDICT_INVALID,
                                 "summary %zu (customer %lld) is inconsistent", i,
                                 (long long)s->customer);
    }
    predict_hash h;
    if (predict__hash_init(&h, 4096) != 0)
        return predict__fail(err, PREDICT_NOMEM, "out of memory");
    predict_status rc = PREDICT_OK;
    double *memo = NULL;
    int32_t *slot = malloc(cbs->n * sizeof *slot);
    if (!slot) {
        rc = predict__fail(err, PREDICT_NOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < cbs->n; i++) {
        slot[i] =
            predict__hash_put(&h, (uint64_t)cbs->rows[i].x, predict__dbits(cbs->rows[i].T), 0);
        if (slot[i] < 0) {
            rc = predict__fail(err, PREDICT_NOMEM, "out of memory");
            goto cleanup;
        }
    }
    memo = malloc(2 * h.n * sizeof *memo);
    if (!memo) {
        rc = predict__fail(err, PREDICT_NOMEM, "out of memory");
        goto cleanup;
    }
    score_ctx c = {bg,
                   gg,
                   cbs,
                   h.keys,
                   memo,
                   slot,
                   out,
                   o.horizon_days / bg->unit_days,
                   DAYS_PER_MONTH / bg->unit_days,
                   o.monthly_discount,
                   o.clv_months};
    run_parallel(&c, 0, h.n, h.n >= 64 ? nt : 1);
    run_parallel(&c, 1, cbs->n, cbs->n >= 10000 ? nt : 1);
    predict__ok(err);
cleanup:
    free(slot);
    free(memo);
    predict__hash_release(&h);
    return rc;
}
