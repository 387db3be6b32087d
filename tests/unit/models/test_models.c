/* Unit tests for models: a fit on the store's orders stores one prediction per buyer,
 * shows them on the member 360, agrees with src/predict on the same summaries, and a
 * store that cannot support a fit (no repeat buyers) answers 422 and changes nothing. */
#include "../domain/fixture.h"
#include "models/models.h"
#include "predict/predict.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

static void add_order(fixture *f, int member, int n, const char *when, int cents)
{
    char body[600];
    snprintf(
        body, sizeof body,
        "{\"channel\":\"store\",\"external_id\":\"m%d-%d\",\"store_id\":1,\"placed_at\":\"%s\","
        "\"total_cents\":%d,\"member\":{\"card_no\":\"C%d\"},"
        "\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":%d}]}",
        member, n, when, cents, member, cents);
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(call(f, orders_create, body, NULL, &e), 201);
}

int main(void)
{
    fixture f;
    fixture_open(&f);
    siyu_err e;
    siyu_err_init(&e);
    json_t *out;
    model_options o;
    model_options_init(&o, f.d.now);

    /* one order each: nobody bought twice, so dropout cannot be estimated */
    add_order(&f, 1, 1, "2026-01-05T10:00:00+08:00", 1000);
    add_order(&f, 2, 1, "2026-02-05T10:00:00+08:00", 2000);
    CHECK_INT_EQ(models_fit(f.d.conn, &o, f.d.now, &out, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_UNPROCESSABLE);
    CHECK(strstr(e.message, "no_repeat_buyers") != NULL);
    CHECK_INT_EQ(models_current(f.d.conn, &out, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_NOT_FOUND);

    /* 400 members who buy by the BG/NBD story (gamma purchase rate, beta dropout after each
     * purchase) from their join day to 2026-11-20 — data with a real maximum */
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 42);
    int32_t d0;
    date_parse("2026-01-01", &d0);
    for (int m = 3; m < 403; m++) {
        double lambda = gsl_ran_gamma(g, 1.5, 1 / 30.0), drop = gsl_ran_beta(g, 1, 4);
        double t = gsl_rng_uniform(g) * 120; /* joins in the first four months */
        for (int k = 0; k < 40 && t < 322; k++) {
            char date[16], when[40];
            date_format(d0 + (int32_t)t, date, sizeof date);
            snprintf(when, sizeof when, "%sT12:00:00+08:00", date);
            add_order(&f, m, k, when, 500 + (int)(gsl_rng_uniform(g) * 3000));
            if (gsl_rng_uniform(g) < drop) break;
            t += 1 + gsl_ran_exponential(g, 1 / lambda);
        }
    }
    gsl_rng_free(g);
    siyu_err_clear(&e);
    CHECK_INT_EQ(models_fit(f.d.conn, &o, f.d.now, &out, &e), 201);
    int64_t customers = json_integer_value(json_object_get(out, "customers"));
    CHECK_INT_EQ(customers, 402);
    json_t *bg = json_object_get(out, "bgnbd");
    double r = json_real_value(json_object_get(bg, "r"));
    CHECK(r > 0 && isfinite(r));
    json_decref(out);

    /* the member 360 carries the prediction, in range */
    json_t *m;
    CHECK_INT_EQ(members_get(&f.d, 5, &m, &e), 200);
    json_t *p = json_object_get(m, "predictions");
    CHECK(json_is_object(p));
    double p_alive = json_real_value(json_object_get(p, "p_alive"));
    CHECK(p_alive >= 0 && p_alive <= 1);
    CHECK(json_real_value(json_object_get(p, "expected_purchases_90d")) >= 0);
    json_decref(m);

    /* the stored p_alive equals src/predict's on the member's own summary */
    store_stmt *s = store_q(f.d.conn, Q_PREDICTION_GET);
    store_bind_int(s, 1, 5);
    CHECK_INT_EQ(store_step(s), STORE_ROW);
    double stored = store_col_real(s, 2);
    store_reset(s);
    predict_txn tx[8];
    size_t n = 0;
    s = store_q(f.d.conn, Q_SCAN_MEMBER_ORDERS);
    while (store_step(s) == STORE_ROW)
        if (store_col_int(s, 0) == 5)
            tx[n++] = (predict_txn){5, time_local_day(store_col_int(s, 1)),
                                    store_col_int(s, 2) - store_col_int(s, 3)};
    store_reset(s);
    predict_window w = {
        .cal_end_day = o.cal_end_day, .holdout_end_day = o.cal_end_day, .unit_days = 1};
    predict_cbs cbs;
    predict_error pe;
    CHECK_INT_EQ(predict_cbs_build(tx, n, &w, &cbs, &pe), PREDICT_OK);
    CHECK_INT_EQ(models_current(f.d.conn, &out, &e), 200);
    bg = json_object_get(out, "bgnbd");
    predict_bgnbd model = {.r = json_real_value(json_object_get(bg, "r")),
                           .alpha = json_real_value(json_object_get(bg, "alpha")),
                           .a = json_real_value(json_object_get(bg, "a")),
                           .b = json_real_value(json_object_get(bg, "b")),
                           .unit_days = 1};
    json_decref(out);
    CHECK_NEAR(predict_bgnbd_p_alive(&model, cbs.rows[0].x, cbs.rows[0].t_x, cbs.rows[0].T), stored,
               1e-9);
    predict_cbs_release(&cbs);

    /* the holdout table: actual purchases counted from the orders */
    int32_t cal_end, holdout_end;
    date_parse("2026-08-31", &cal_end);
    date_parse("2026-11-20", &holdout_end);
    int vrc = models_validate(f.d.conn, cal_end, holdout_end, 7, &out, &e);
    if (vrc < 0) fprintf(stderr, "validate: %s\n", e.message);
    CHECK_INT_EQ(vrc, 200);
    if (vrc == 200) {
        /* actual holdout purchases equal a count made straight from the orders: distinct
         * purchase days in (cal_end, holdout_end] of members who bought by cal_end */
        long expect = 0;
        int64_t cur = -1, first = 0, last_day = -1;
        store_stmt *q = store_q(f.d.conn, Q_SCAN_MEMBER_ORDERS);
        while (store_step(q) == STORE_ROW) {
            int64_t mem = store_col_int(q, 0), day = time_local_day(store_col_int(q, 1));
            if (mem != cur) {
                cur = mem;
                first = day;
                last_day = -1;
            }
            if (first <= cal_end && day > cal_end && day <= holdout_end && day != last_day)
                expect++;
            last_day = day;
        }
        store_reset(q);
        CHECK(expect > 0);
        CHECK_NEAR(json_real_value(json_object_get(json_object_get(out, "total"), "actual")),
                   (double)expect, 1e-12);
        json_decref(out);
    }

    siyu_err_clear(&e);
    fixture_close(&f);
    return CHECK_DONE();
}
