/* models.c — fitting and storing member predictions. */
#include "models/models.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "predict/predict.h"

#define CHUNK_MEMBERS 50000 /* members summarised at a time: bounds the transaction buffer */

void model_options_init(model_options *o, int64_t now)
{
    memset(o, 0, sizeof *o);
    o->unit_days = 1;
    o->cal_end_day = time_local_day(now) - 1; /* yesterday: today is not over yet */
    o->horizon_days = 90;
    o->monthly_discount = 0.01;
    o->churn_threshold = 0.3;
    o->threads = 1;
}

static int read_real(json_t *body, const char *key, double lo, double hi, double *out, siyu_err *e)
{
    json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_number(v))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: not a number", key);
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: must be between %g and %g", key, lo,
                            hi);
    *out = x;
    return 0;
}

int model_options_from_json(model_options *o, json_t *body, siyu_err *e)
{
    if (!body) return 0;
    static const char *const allowed[] = {
        "unit", "cal_end", "horizon_days", "monthly_discount", "churn_threshold", NULL};
    static const char *const units[] = {"days", "weeks", NULL};
    int unit = 0;
    if (jx_only(body, allowed, NULL, e) || jx_enum(body, "unit", false, units, &unit, e) < 0 ||
        jx_date(body, "cal_end", false, &o->cal_end_day, e) < 0 ||
        read_real(body, "horizon_days", 1, 3650, &o->horizon_days, e) ||
        read_real(body, "monthly_discount", 0, 1, &o->monthly_discount, e) ||
        read_real(body, "churn_threshold", 0, 1, &o->churn_threshold, e))
        return -1;
    o->unit_days = unit == 1 ? 7 : 1;
    return 0;
}

/* ---------------- reading orders into summaries ---------------- */

typedef struct txn_buf {
    predict_txn *v;
    size_t n, cap;
} txn_buf;

static void txn_push(txn_buf *b, int64_t member, int32_t day, int64_t cents)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1 << 16;
        b->v = realloc(b->v, b->cap * sizeof *b->v);
    }
    b->v[b->n++] = (predict_txn){.customer = member, .day = day, .amount_cents = cents};
}

/* Appends the summaries of one chunk of transactions to all. */
static int flush_chunk(txn_buf *b, const predict_window *w, predict_cbs *all, siyu_err *e)
{
    if (!b->n) return 0;
    predict_cbs part;
    predict_error pe;
    predict_status st = predict_cbs_build(b->v, b->n, w, &part, &pe);
    b->n = 0;
    if (st == PREDICT_NO_CUSTOMERS)
        return 0; /* all of this chunk joined after the calibration period */
    if (st != PREDICT_OK) return siyu_err_set(e, SIYU_INTERNAL, NULL, "summaries: %s", pe.message);
    all->rows = realloc(all->rows, (all->n + part.n) * sizeof *all->rows);
    memcpy(all->rows + all->n, part.rows, part.n * sizeof *part.rows);
    all->n += part.n;
    predict_cbs_release(&part);
    return 0;
}

/* Every member's net orders (fully refunded ones do not count) summarised for window w.
 * Orders arrive sorted by member, so members are summarised a chunk at a time. */
static int load_summaries(store_conn *c, const predict_window *w, predict_cbs *all, siyu_err *e)
{
    memset(all, 0, sizeof *all);
    all->window = *w;
    txn_buf b = {0};
    int64_t last_member = 0;
    int members_in_chunk = 0, rc = 0;
    store_stmt *s = store_q(c, Q_SCAN_MEMBER_ORDERS);
    while (store_step(s) == STORE_ROW) {
        int64_t member = store_col_int(s, 0), total = store_col_int(s, 2),
                refunded = store_col_int(s, 3);
        if (total > 0 && refunded >= total) continue;
        if (member != last_member) {
            if (++members_in_chunk > CHUNK_MEMBERS) {
                if ((rc = flush_chunk(&b, w, all, e))) break;
                members_in_chunk = 1;
            }
            last_member = member;
        }
        txn_push(&b, member, time_local_day(store_col_int(s, 1)), total - refunded);
    }
    store_reset(s);
    if (!rc) rc = flush_chunk(&b, w, all, e);
    free(b.v);
    if (!rc && all->n == 0)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, NULL,
                            "no member bought anything before the end of calibration");
    return rc;
}

static siyu_code status_code(predict_status st)
{
    switch (st) {
    case PREDICT_INVALID:
        return SIYU_INVALID_ARGUMENT;
    case PREDICT_NOMEM:
    case PREDICT_NUMERIC:
        return SIYU_INTERNAL;
    default:
        return SIYU_UNPROCESSABLE; /* the data cannot support a fit: say why */
    }
}

static json_t *bgnbd_json(const predict_bgnbd *m)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:{s:f, s:f, s:f, s:f}, s:f, s:i, s:I, s:I}", "r", m->r,
                     "alpha", m->alpha, "a", m->a, "b", m->b, "standard_errors", "r", m->se[0],
                     "alpha", m->se[1], "a", m->se[2], "b", m->se[3], "log_likelihood", m->ll,
                     "iterations", m->iterations, "customers", (json_int_t)m->n_customers,
                     "distinct_histories", (json_int_t)m->n_rows);
}

static json_t *gg_json(const predict_gg *m)
{
    return json_pack("{s:f, s:f, s:f, s:{s:f, s:f, s:f}, s:f, s:i, s:I}", "p", m->p, "q", m->q,
                     "gamma_cents", m->gamma, "standard_errors", "p", m->se[0], "q", m->se[1],
                     "gamma_cents", m->se[2], "log_likelihood", m->ll, "iterations", m->iterations,
                     "customers", (json_int_t)m->n_customers);
}

int models_fit(store_conn *c, const model_options *o, int64_t now, json_t **report, siyu_err *e)
{
    predict_window w = {.cal_end_day = o->cal_end_day,
                        .holdout_end_day = o->cal_end_day,
                        .unit_days = o->unit_days};
    predict_cbs cbs;
    uint64_t t0 = clock_mono_ns();
    if (store_begin(c, false, e)) return -1;
    int rc = load_summaries(c, &w, &cbs, e);
    store_rollback(c); /* the read snapshot */
    if (rc) return -1;
    uint64_t t_load = clock_mono_ns();
    predict_error pe;
    predict_fit_opts fo = {.nthreads = o->threads};
    predict_bgnbd bg;
    predict_status st = predict_bgnbd_fit(&cbs, &fo, &bg, &pe);
    if (st != PREDICT_OK) {
        predict_cbs_release(&cbs);
        return siyu_err_set(e, status_code(st), NULL, "BG/NBD: %s: %s", predict_status_name(st),
                            pe.message);
    }
    predict_gg gg;
    predict_error gpe;
    predict_status gst = predict_gg_fit(&cbs, &fo, &gg, &gpe);
    uint64_t t_fit = clock_mono_ns();
    predict_score *scores = calloc(cbs.n ? cbs.n : 1, sizeof *scores);
    predict_score_opts so = {.horizon_days = o->horizon_days,
                             .clv_months = 12,
                             .monthly_discount = o->monthly_discount,
                             .nthreads = o->threads};
    if (gst == PREDICT_OK) {
        st = predict_score_all(&bg, &gg, &cbs, &so, scores, &pe);
    } else {
        /* Without a spend model: value a purchase at the member's own mean repeat spend
         * (or the mean over members for one-time buyers); CLV undiscounted. */
        double sum = 0;
        size_t k = 0;
        for (size_t i = 0; i < cbs.n; i++)
            if (cbs.rows[i].x > 0) {
                sum += cbs.rows[i].mean_value;
                k++;
            }
        double pop = k ? sum / (double)k : 0;
        double h = o->horizon_days / o->unit_days, year = 365.25 / o->unit_days;
        for (size_t i = 0; i < cbs.n; i++) {
            const predict_summary *r = &cbs.rows[i];
            scores[i].customer = r->customer;
            scores[i].p_alive = predict_bgnbd_p_alive(&bg, r->x, r->t_x, r->T);
            scores[i].expected_purchases = predict_bgnbd_expected(&bg, h, r->x, r->t_x, r->T);
            scores[i].expected_value = r->x > 0 ? r->mean_value : pop;
            scores[i].clv_cents =
                predict_bgnbd_expected(&bg, year, r->x, r->t_x, r->T) * scores[i].expected_value;
        }
        st = PREDICT_OK;
    }
    if (st != PREDICT_OK) {
        free(scores);
        predict_cbs_release(&cbs);
        return siyu_err_set(e, status_code(st), NULL, "scoring: %s", pe.message);
    }
    uint64_t t_score = clock_mono_ns();

    char cal_end[16];
    date_format(o->cal_end_day, cal_end, sizeof cal_end);
    json_t *rep = json_object();
    char at[40];
    time_format_rfc3339(now, at, sizeof at);
    json_object_set_new(rep, "at", json_string(at));
    json_object_set_new(
        rep, "calibration",
        json_pack("{s:s, s:s}", "end", cal_end, "unit", o->unit_days == 7 ? "weeks" : "days"));
    json_object_set_new(rep, "customers", json_integer((json_int_t)cbs.n));
    json_object_set_new(rep, "bgnbd", bgnbd_json(&bg));
    json_object_set_new(
        rep, "gamma_gamma",
        gst == PREDICT_OK
            ? gg_json(&gg)
            : json_pack("{s:s, s:s}", "error", predict_status_name(gst), "message", gpe.message));
    json_object_set_new(rep, "options",
                        json_pack("{s:f, s:f, s:f}", "horizon_days", o->horizon_days,
                                  "monthly_discount", o->monthly_discount, "churn_threshold",
                                  o->churn_threshold));

    /* Replace the predictions and record the run, all or nothing. */
    rc = o->write_begin ? o->write_begin(o->write_ctx, &c, e) : 0;
    bool leased = o->write_begin && rc == 0;
    if (!rc) rc = store_begin(c, true, e);
    int64_t run_id = 0;
    if (!rc) {
        char *text = json_dumps(rep, JSON_COMPACT);
        store_stmt *s = store_q(c, Q_MODEL_RUN_INSERT);
        store_bind_int(s, 1, now);
        store_bind_int(s, 2, o->cal_end_day);
        store_bind_real(s, 3, o->unit_days);
        store_bind_int(s, 4, (int64_t)cbs.n);
        store_bind_text(s, 5, text);
        rc = store_exec(s, e);
        free(text);
        run_id = store_last_id(c);
        if (!rc) rc = store_exec(store_q(c, Q_PREDICTIONS_CLEAR), e);
        for (size_t i = 0; !rc && i < cbs.n; i++) {
            const predict_score *sc = &scores[i];
            s = store_q(c, Q_PREDICTION_PUT);
            store_bind_int(s, 1, sc->customer);
            store_bind_int(s, 2, run_id);
            store_bind_int(s, 3, cbs.rows[i].x);
            store_bind_real(s, 4, isfinite(sc->p_alive) ? sc->p_alive : 0);
            store_bind_real(s, 5, isfinite(sc->expected_purchases) ? sc->expected_purchases : 0);
            store_bind_int(s, 6, isfinite(sc->expected_value) ? llround(sc->expected_value) : 0);
            store_bind_int(s, 7, isfinite(sc->clv_cents) ? llround(sc->clv_cents) : 0);
            rc = store_exec(s, e);
        }
        if (!rc)
            rc = store_commit(c, e);
        else
            store_rollback(c);
    }
    if (leased) {
        siyu_err ee; /* a write that failed already has its error */
        siyu_err_init(&ee);
        if (o->write_end(o->write_ctx, rc ? &ee : e) && !rc) rc = -1;
        siyu_err_clear(&ee);
    }
    uint64_t t_store = clock_mono_ns();
    free(scores);
    predict_cbs_release(&cbs);
    if (rc) {
        json_decref(rep);
        return -1;
    }
    json_object_set_new(rep, "id", json_integer(run_id));
    json_object_set_new(rep, "timings_ms",
                        json_pack("{s:f, s:f, s:f, s:f}", "load", (double)(t_load - t0) / 1e6,
                                  "fit", (double)(t_fit - t_load) / 1e6, "score",
                                  (double)(t_score - t_fit) / 1e6, "store",
                                  (double)(t_store - t_score) / 1e6));
    *report = rep;
    return 201;
}

int models_current(store_conn *c, json_t **out, siyu_err *e)
{
    store_stmt *s = store_q(c, Q_MODEL_RUN_LATEST);
    if (store_step(s) != STORE_ROW)
        return siyu_err_set(
            e, SIYU_NOT_FOUND, NULL,
            "no model has been fitted yet (siyu model fit, POST /api/v1/models/fit)");
    json_t *rep = json_loads(store_col_text(s, 5), 0, NULL);
    if (!rep) rep = json_object();
    json_object_set_new(rep, "id", json_integer(store_col_int(s, 0)));
    store_reset(s);
    *out = rep;
    return 200;
}

int models_validate(store_conn *c, int32_t cal_end, int32_t holdout_end, double unit_days,
                    json_t **out, siyu_err *e)
{
    if (holdout_end <= cal_end)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "holdout_end",
                            "holdout_end: must be after cal_end");
    predict_window w = {
        .cal_end_day = cal_end, .holdout_end_day = holdout_end, .unit_days = unit_days};
    predict_cbs cbs;
    /* Read in the caller's snapshot when it has one (an HTTP read route opens it),
     * else in a snapshot of our own. */
    bool own = !store_in_tx(c);
    if (own && store_begin(c, false, e)) return -1;
    int rc = load_summaries(c, &w, &cbs, e);
    if (own) store_rollback(c);
    if (rc) return -1;
    predict_error pe;
    predict_bgnbd bg;
    predict_status st = predict_bgnbd_fit(&cbs, NULL, &bg, &pe);
    predict_validation v;
    if (st == PREDICT_OK) st = predict_validate(&bg, &cbs, &v, &pe);
    predict_cbs_release(&cbs);
    if (st != PREDICT_OK)
        return siyu_err_set(e, status_code(st), NULL, "%s: %s", predict_status_name(st),
                            pe.message);
    json_t *rows = json_array();
    for (int i = 0; i < PREDICT_VALIDATE_GROUPS; i++) {
        char label[8];
        snprintf(label, sizeof label, i == PREDICT_VALIDATE_GROUPS - 1 ? "%d+" : "%d", i);
        json_array_append_new(rows,
                              json_pack("{s:s, s:I, s:f, s:f}", "calibration_purchases", label,
                                        "customers", (json_int_t)v.by_x[i].customers, "actual",
                                        v.by_x[i].actual, "predicted", v.by_x[i].predicted));
    }
    char a[16], b[16];
    date_format(cal_end, a, sizeof a);
    date_format(holdout_end, b, sizeof b);
    *out = json_pack("{s:s, s:s, s:s, s:f, s:o, s:{s:I, s:f, s:f}, s:o}", "cal_end", a,
                     "holdout_end", b, "unit", unit_days == 7 ? "weeks" : "days", "holdout_length",
                     v.holdout_length, "bgnbd", bgnbd_json(&bg), "total", "customers",
                     (json_int_t)v.total.customers, "actual", v.total.actual, "predicted",
                     v.total.predicted, "by_calibration_purchases", rows);
    return 200;
}

json_t *models_member_json(store_conn *c, int64_t member_id)
{
    store_stmt *s = store_q(c, Q_PREDICTION_GET);
    store_bind_int(s, 1, member_id);
    if (store_step(s) != STORE_ROW) return json_null();
    int64_t run = store_col_int(s, 0), x = store_col_int(s, 1);
    double p_alive = store_col_real(s, 2), exp90 = store_col_real(s, 3);
    int64_t value = store_col_int(s, 4), clv = store_col_int(s, 5);
    store_reset(s);
    double threshold = 0.3;
    s = store_q(c, Q_MODEL_RUN_LATEST);
    if (store_step(s) == STORE_ROW) {
        json_t *rep = json_loads(store_col_text(s, 5), 0, NULL);
        json_t *t = json_object_get(json_object_get(rep, "options"), "churn_threshold");
        if (json_is_number(t)) threshold = json_number_value(t);
        json_decref(rep);
    }
    store_reset(s);
    return json_pack("{s:f, s:f, s:I, s:I, s:b, s:I}", "p_alive", p_alive, "expected_purchases_90d",
                     exp90, "expected_value_cents", (json_int_t)value, "clv_12m_cents",
                     (json_int_t)clv, "churn_risk", x >= 1 && p_alive < threshold, "run_id",
                     (json_int_t)run);
}
