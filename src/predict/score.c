/* score.c — per-customer predictions from fitted models, and the holdout table.
 *
 * The Gauss hypergeometric function of the BG/NBD conditional expectation is summed
 * as its series: its argument t/(α+T+t) is always below 1, and the terms are formed
 * as running ratios in double precision, stopping when they no longer change the sum. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "predict/internal.h"

static double hyp2f1(double a, double b, double c, double z)
{
    double term = 1, sum = 1;
    for (int k = 0; k < 100000; k++) {
        term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z;
        sum += term;
        if (fabs(term) < 1e-16 * fabs(sum))
            break;
    }
    return sum;
}

double predict_bgnbd_p_alive(const predict_bgnbd *m, int32_t x, double t_x, double T)
{
    if (x <= 0)
        return 1.0;
    /* 1 / (1 + a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)), in logs so large powers do not overflow */
    double l = log(m->a) - log(m->b + x - 1) + (m->r + x) * (log(m->alpha + T) - log(m->alpha + t_x));
    return l > 700 ? 0.0 : 1.0 / (1.0 + exp(l));
}

double predict_bgnbd_expected(const predict_bgnbd *m, double t, int32_t x, double t_x, double T)
{
    if (t <= 0)
        return 0;
    double r = m->r, al = m->alpha, a = m->a, b = m->b;
    double z = t / (al + T + t);
    double lead = pow((al + T) / (al + T + t), r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z);
    double num = (a + b + x - 1) / (a - 1) * (1 - lead);
    return num * predict_bgnbd_p_alive(m, x, t_x, T);
}

double predict_bgnbd_expected_new(const predict_bgnbd *m, double t)
{
    if (t <= 0)
        return 0;
    double r = m->r, al = m->alpha, a = m->a, b = m->b;
    return (a + b - 1) / (a - 1) *
           (1 - pow(al / (al + t), r) * hyp2f1(r, b, a + b - 1, t / (al + t)));
}

double predict_gg_expected_value(const predict_gg *m, int32_t x, double mean_value)
{
    if (x <= 0 || mean_value <= 0)
        return m->p * m->gamma / (m->q - 1);
    return m->p * (m->gamma + x * mean_value) / (m->p * x + m->q - 1);
}

double predict_clv(const predict_bgnbd *bg, const predict_gg *gg, const predict_summary *s,
                   int months, double monthly_discount)
{
    double value = predict_gg_expected_value(gg, s->x, s->mean_value);
    double month = 365.25 / 12 / bg->unit_days, prev = 0, clv = 0;
    for (int k = 1; k <= months; k++) {
        double e = predict_bgnbd_expected(bg, k * month, s->x, s->t_x, s->T);
        clv += (e - prev) * value / pow(1 + monthly_discount, k);
        prev = e;
    }
    return clv;
}

predict_status predict_score_all(const predict_bgnbd *bg, const predict_gg *gg,
                                 const predict_cbs *cbs, const predict_score_opts *opts,
                                 predict_score *out, predict_error *err)
{
    if (!bg || !gg || !cbs || !out)
        return predict__fail(err, PREDICT_INVALID, "missing model or summaries");
    double horizon = opts && opts->horizon_days > 0 ? opts->horizon_days : 90;
    int months = opts && opts->clv_months > 0 ? opts->clv_months : 12;
    double d = opts ? opts->monthly_discount : 0;
    if (d < 0)
        return predict__fail(err, PREDICT_INVALID, "negative discount rate");
    double h = horizon / bg->unit_days;
    for (size_t i = 0; i < cbs->n; i++) {
        const predict_summary *s = &cbs->rows[i];
        predict_score *o = &out[i];
        o->customer = s->customer;
        o->p_alive = predict_bgnbd_p_alive(bg, s->x, s->t_x, s->T);
        o->expected_purchases = predict_bgnbd_expected(bg, h, s->x, s->t_x, s->T);
        o->expected_value = predict_gg_expected_value(gg, s->x, s->mean_value);
        o->clv_cents = predict_clv(bg, gg, s, months, d);
        if (!isfinite(o->p_alive) || !isfinite(o->expected_purchases) ||
            !isfinite(o->expected_value) || !isfinite(o->clv_cents))
            return predict__fail(err, PREDICT_NUMERIC, "a prediction is not finite for customer %lld",
                                 (long long)s->customer);
    }
    predict__ok(err);
    return PREDICT_OK;
}

predict_status predict_validate(const predict_bgnbd *bg, const predict_cbs *cbs,
                                predict_validation *out, predict_error *err)
{
    memset(out, 0, sizeof *out);
    if (!bg || !cbs)
        return predict__fail(err, PREDICT_INVALID, "missing model or summaries");
    const predict_window *w = &cbs->window;
    if (w->holdout_end_day <= w->cal_end_day)
        return predict__fail(err, PREDICT_INVALID, "the window has no holdout period");
    double t = (double)(w->holdout_end_day - w->cal_end_day) / w->unit_days;
    out->holdout_length = t;
    for (size_t i = 0; i < cbs->n; i++) {
        const predict_summary *s = &cbs->rows[i];
        double e = predict_bgnbd_expected(bg, t, s->x, s->t_x, s->T);
        predict_validation_row *g =
            &out->by_x[s->x < PREDICT_VALIDATE_GROUPS - 1 ? s->x : PREDICT_VALIDATE_GROUPS - 1];
        g->customers++;
        g->actual += s->x_star;
        g->predicted += e;
        out->total.customers++;
        out->total.actual += s->x_star;
        out->total.predicted += e;
    }
    predict__ok(err);
    return PREDICT_OK;
}
