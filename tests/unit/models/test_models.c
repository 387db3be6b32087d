/* Unit tests for models: a fit on the store's orders stores one prediction per buyer,
 * shows them on the member 360, agrees with src/predict on the same summaries, and a
 * store that cannot support a fit (no repeat buyers) answers 422 and changes nothing. */
#include "../domain/fixture.h"
#include "models/models.h"
#include "predict/predict.h"

static void add_order(fixture *f, int member, int n, const char *when, int cents)
{
    char body[600];
    snprintf(body, sizeof body,
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

    /* 60 members with varied histories: a deterministic spread of repeat days */
    for (int m = 3; m < 63; m++) {
        int orders = 1 + (m * 7) % 6;
        for (int k = 0; k < orders; k++) {
            char when[40];
            int day = 1 + (m * 3 + k * (11 + m % 13)) % 300;
            int32_t d0;
            date_parse("2026-01-01", &d0);
            char date[16];
            date_format(d0 + day, date, sizeof date);
            snprintf(when, sizeof when, "%sT12:00:00+08:00", date);
            add_order(&f, m, k, when, 500 + (m * 37 + k * 101) % 3000);
        }
    }
    siyu_err_clear(&e);
    CHECK_INT_EQ(models_fit(f.d.conn, &o, f.d.now, &out, &e), 201);
    int64_t customers = json_integer_value(json_object_get(out, "customers"));
    CHECK_INT_EQ(customers, 62);
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
    predict_window w = {.cal_end_day = o.cal_end_day, .holdout_end_day = o.cal_end_day, .unit_days = 1};
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
    CHECK_NEAR(predict_bgnbd_p_alive(&model, cbs.rows[0].x, cbs.rows[0].t_x, cbs.rows[0].T), stored, 1e-9);
    predict_cbs_release(&cbs);

    /* the holdout table: actual purchases counted from the orders */
    int32_t cal_end, holdout_end;
    date_parse("2026-06-30", &cal_end);
    date_parse("2026-10-31", &holdout_end);
    CHECK_INT_EQ(models_validate(f.d.conn, cal_end, holdout_end, 7, &out, &e), 200);
    CHECK(json_real_value(json_object_get(json_object_get(out, "total"), "actual")) > 0);
    json_decref(out);

    siyu_err_clear(&e);
    fixture_close(&f);
    return CHECK_DONE();
}
