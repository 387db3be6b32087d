/* cbs.c — transactions into per-customer calibration/holdout summaries.
 *
 * Purchase days, not orders, are counted: the models describe how often a customer
 * comes back, and two tickets on one day are one visit. The first purchase day is time 0;
 * x counts the purchase days after it up to the end of calibration. */
#include <stdlib.h>
#include <string.h>

#include "predict/internal.h"

static int by_customer_day(const void *pa, const void *pb)
{
    const predict_txn *a = pa, *b = pb;
    if (a->customer != b->customer)
        return a->customer < b->customer ? -1 : 1;
    return (a->day > b->day) - (a->day < b->day);
}

predict_status predict_cbs_build(const predict_txn *txns, size_t n, const predict_window *w,
                                 predict_cbs *out, predict_error *err)
{
    memset(out, 0, sizeof *out);
    if (!w || !(w->unit_days > 0) || w->holdout_end_day < w->cal_end_day || (n && !txns))
        return predict__fail(err, PREDICT_INVALID, "bad window or transactions");
    out->window = *w;
    predict_txn *t = malloc((n ? n : 1) * sizeof *t);
    predict_summary *rows = malloc((n ? n : 1) * sizeof *rows);
    if (!t || !rows) {
        free(t);
        free(rows);
        return predict__fail(err, PREDICT_NOMEM, "out of memory");
    }
    memcpy(t, txns, n * sizeof *t);
    qsort(t, n, sizeof *t, by_customer_day);
    size_t nrows = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && t[j].customer == t[i].customer)
            j++;
        /* customer t[i..j), days ascending */
        int32_t first = t[i].day;
        if (first <= w->cal_end_day) {
            predict_summary *s = &rows[nrows++];
            memset(s, 0, sizeof *s);
            s->customer = t[i].customer;
            s->first_day = first;
            int32_t last_cal = first;
            double repeat_sum = 0;
            for (size_t k = i; k < j;) {
                /* one purchase day: sum its amounts */
                int32_t day = t[k].day;
                int64_t cents = 0;
                while (k < j && t[k].day == day)
                    cents += t[k++].amount_cents;
                if (day == first)
                    continue;
                if (day <= w->cal_end_day) {
                    s->x++;
                    last_cal = day;
                    repeat_sum += (double)cents;
                } else if (day <= w->holdout_end_day) {
                    s->x_star++;
                }
            }
            s->t_x = s->x ? (double)(last_cal - first) / w->unit_days : 0;
            s->T = (double)(w->cal_end_day - first) / w->unit_days;
            s->mean_value = s->x ? repeat_sum / s->x : 0;
        }
        i = j;
    }
    free(t);
    if (!nrows) {
        free(rows);
        return predict__fail(err, PREDICT_NO_CUSTOMERS,
                             "no customer bought before the end of calibration");
    }
    out->rows = rows;
    out->n = nrows;
    predict__ok(err);
    return PREDICT_OK;
}

void predict_cbs_release(predict_cbs *cbs)
{
    if (!cbs)
        return;
    free(cbs->rows);
    cbs->rows = NULL;
    cbs->n = 0;
}
