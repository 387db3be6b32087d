/* summary.c — transactions to per-customer calibration/holdout summaries.
 *
 * Conventions (those of the CDNOW summary the models were published on): purchase days, not
 * orders, count — several orders on one day are one purchase with their amounts summed; the
 * first purchase day is time 0 and is not a repeat purchase; its amount is not part of the
 * mean repeat value (the Gamma-Gamma model is fitted on repeat purchases only). */
#include "predict/internal.h"

#include <math.h>
#include <stdlib.h>

static int txn_cmp(const void *pa, const void *pb)
{
    const predict_txn *a = pa, *b = pb;
    if (a->customer != b->customer) return a->customer < b->customer ? -1 : 1;
    return (a->day > b->day) - (a->day < b->day);
}

static int sorted(const predict_txn *t, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (txn_cmp(&t[i - 1], &t[i]) > 0) return 0;
    return 1;
}

/* Summarises one customer's transactions t[0..n), sorted by day. Returns 0 if the customer
 * is not in the calibration cohort (first purchase after cal_end_day). */
static int summarise_one(const predict_txn *t, size_t n, const predict_window *w,
                         predict_summary *s)
{
    int32_t first = t[0].day;
    if (first > w->cal_end_day) return 0;
    memset(s, 0, sizeof *s);
    s->customer = t[0].customer;
    s->first_day = first;
    int32_t last_cal = first, prev = first;
    long double repeat_sum = 0; /* cents; long double keeps sums of large int64 exact enough */
    for (size_t i = 0; i < n; i++) {
        int32_t d = t[i].day;
        int new_day = (i == 0) || d != prev;
        prev = d;
        if (d <= w->cal_end_day) {
            if (d == first) continue; /* the first day (all its orders) is not a repeat purchase */
            repeat_sum += (long double)t[i].amount_cents;
            if (new_day) {
                s->x++;
                last_cal = d;
            }
        } else if (d <= w->holdout_end_day) {
            if (new_day) s->x_star++;
        }
    }
    s->t_x = (double)(last_cal - first) / w->unit_days;
    s->T = (double)(w->cal_end_day - first) / w->unit_days;
    s->mean_value = s->x > 0 ? (double)(repeat_sum / s->x) : 0.0;
    return 1;
}

predict_status predict_cbs_build(const predict_txn *txns, size_t n, const predict_window *w,
                                 predict_cbs *out, predict_error *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!out || !w || (n > 0 && !txns)) return predict__fail(err, PREDICT_INVALID, "NULL argument");
    if (!(w->unit_days > 0) || !isfinite(w->unit_days))
        return predict__fail(err, PREDICT_INVALID, "unit_days must be > 0, got %g", w->unit_days);
    if (w->holdout_end_day < w->cal_end_day)
        return predict__fail(err, PREDICT_INVALID, "holdout_end_day %d is before cal_end_day %d",
                             (int)w->holdout_end_day, (int)w->cal_end_day);
    out->window = *w;
    if (n == 0) return predict__fail(err, PREDICT_NO_CUSTOMERS, "no transactions");

    /* Sort a copy unless the caller already gives (customer, day) order. */
    const predict_txn *t = txns;
    predict_txn *copy = NULL;
    if (!sorted(txns, n)) {
        copy = malloc(n * sizeof *copy);
        if (!copy)
            return predict__fail(err, PREDICT_NOMEM, "out of memory sorting %zu transactions", n);
        memcpy(copy, txns, n * sizeof *copy);
        qsort(copy, n, sizeof *copy, txn_cmp);
        t = copy;
    }
    size_t ncust = 1;
    for (size_t i = 1; i < n; i++)
        ncust += t[i].customer != t[i - 1].customer;
    predict_summary *rows = malloc(ncust * sizeof *rows);
    if (!rows) {
        free(copy);
        return predict__fail(err, PREDICT_NOMEM, "out of memory for %zu summaries", ncust);
    }
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && t[j].customer == t[i].customer)
            j++;
        m += (size_t)summarise_one(t + i, j - i, w, &rows[m]);
        i = j;
    }
    free(copy);
    if (m == 0) {
        free(rows);
        return predict__fail(err, PREDICT_NO_CUSTOMERS,
                             "no customer made a first purchase by the end of calibration");
    }
    out->n = m;
    out->rows = rows;
    predict__ok(err);
    return PREDICT_OK;
}

void predict_cbs_release(predict_cbs *cbs)
{
    if (!cbs) return;
    free(cbs->rows);
    cbs->rows = NULL;
    cbs->n = 0;
}
