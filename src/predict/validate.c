/* validate.c — the calibration/holdout table of Fader, Hardie & Lee (2005), figure 4: fit on
 * the calibration period, predict each customer's purchases in the holdout period from their
 * calibration history, and compare with what they actually did, in total and grouped by the
 * number of calibration repeat purchases (0, 1, …, 6, 7+). */
#include "predict/internal.h"

#include <math.h>

predict_status predict_validate(const predict_bgnbd *bg, const predict_cbs *cbs,
                                predict_validation *out, predict_error *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!bg || !cbs || !out || (cbs->n > 0 && !cbs->rows))
        return predict__fail(err, PREDICT_INVALID, "NULL argument");
    if (!(bg->r > 0 && bg->alpha > 0 && bg->a > 0 && bg->b > 0 && bg->unit_days > 0))
        return predict__fail(err, PREDICT_INVALID, "BG/NBD model is not fitted");
    const predict_window *w = &cbs->window;
    if (w->holdout_end_day <= w->cal_end_day || !(w->unit_days > 0))
        return predict__fail(err, PREDICT_INVALID, "the window has no holdout period");
    if (w->unit_days != bg->unit_days)
        return predict__fail(err, PREDICT_INVALID,
                             "summaries are in units of %g days but the model of %g days",
                             w->unit_days, bg->unit_days);
    if (cbs->n == 0) return predict__fail(err, PREDICT_NO_CUSTOMERS, "no customers to validate on");
    double t = (double)(w->holdout_end_day - w->cal_end_day) / w->unit_days;
    out->holdout_length = t;
    for (size_t i = 0; i < cbs->n; i++) {
        const predict_summary *s = &cbs->rows[i];
        double e = predict_bgnbd_expected(bg, t, s->x, s->t_x, s->T);
        if (!isfinite(e))
            return predict__fail(err, PREDICT_NUMERIC, "non-finite prediction for customer %lld",
                                 (long long)s->customer);
        predict_validation_row *g =
            &out->by_x[s->x < PREDICT_VALIDATE_GROUPS - 1 ? s->x : PREDICT_VALIDATE_GROUPS - 1];
        g->customers++, out->total.customers++;
        g->actual += s->x_star, out->total.actual += s->x_star;
        g->predicted += e, out->total.predicted += e;
    }
    predict__ok(err);
    return PREDICT_OK;
}
