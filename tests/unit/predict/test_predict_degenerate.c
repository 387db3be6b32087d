/* test_predict_degenerate.c — data the models cannot be fitted on gives a clear status and
 * message, zeroed outputs and never a NaN. */
#include "check.h"
#include "predict/predict.h"
#include "sim.h"

#include <math.h>
#include <stdlib.h>

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return 0;
    return 1;
}

/* Fits both models and checks the statuses; outputs must be zeroed with a message set. */
static void expect(const char *what, predict_summary *rows, size_t n, predict_status want_bg,
                   predict_status want_gg)
{
    predict_cbs c = {{0, 0, 1}, n, rows};
    predict_bgnbd bg;
    predict_gg gg;
    predict_error e1 = {0}, e2 = {0};
    predict_status s1 = predict_bgnbd_fit(&c, NULL, &bg, &e1);
    predict_status s2 = predict_gg_fit(&c, NULL, &gg, &e2);
    printf("%-28s BG/NBD %-18s %s\n%-28s GG     %-18s %s\n", what, predict_status_name(s1),
           e1.message, "", predict_status_name(s2), e2.message);
    CHECK_INT_EQ(s1, want_bg);
    CHECK_INT_EQ(s2, want_gg);
    CHECK_INT_EQ(e1.status, s1);
    CHECK_INT_EQ(e2.status, s2);
    if (s1 != PREDICT_OK) {
        CHECK(e1.message[0] != '\0');
        CHECK(all_zero(&bg, sizeof bg));
    } else {
        CHECK(isfinite(bg.r) && isfinite(bg.alpha) && isfinite(bg.a) && isfinite(bg.b));
        CHECK(isfinite(bg.ll) && isfinite(bg.se[0]));
    }
    if (s2 != PREDICT_OK) {
        CHECK(e2.message[0] != '\0');
        CHECK(all_zero(&gg, sizeof gg));
    }
}

int main(void)
{
    predict_summary rows[400];
    predict_error err;

    /* No customers: from transactions and from summaries. */
    predict_window w = {100, 100, 1};
    predict_cbs c;
    CHECK_INT_EQ(predict_cbs_build(NULL, 0, &w, &c, &err), PREDICT_NO_CUSTOMERS);
    predict_txn late = {1, 200, 100};
    CHECK_INT_EQ(predict_cbs_build(&late, 1, &w, &c, &err), PREDICT_NO_CUSTOMERS);
    expect("no customers", rows, 0, PREDICT_NO_CUSTOMERS, PREDICT_NO_CUSTOMERS);

    /* One customer (a repeat buyer). */
    rows[0] = (predict_summary){1, 0, 3, 20, 30, 1500, 0};
    expect("one customer", rows, 1, PREDICT_TOO_FEW, PREDICT_TOO_FEW);

    /* Nobody bought twice. */
    for (int i = 0; i < 100; i++)
        rows[i] = (predict_summary){i, 0, 0, 0, 10 + i, 0, 0};
    expect("no repeat buyers", rows, 100, PREDICT_NO_REPEAT, PREDICT_NO_REPEAT);

    /* A healthy simulated population (BG/NBD and Gamma-Gamma fit), then broken in one way. */
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    for (int i = 0; i < 400; i++) {
        rows[i].customer = i;
        sim_bgnbd(rng, 0.5, 10, 0.8, 2.5, 60 + i % 40, 0, &rows[i]);
        rows[i].mean_value = rows[i].x ? sim_gg_mean(rng, 6, 4, 1500, rows[i].x) : 0;
    }
    gsl_rng_free(rng);
    predict_summary sim[400];
    memcpy(sim, rows, sizeof sim);
    expect("healthy (simulated)", rows, 400, PREDICT_OK, PREDICT_OK);

    /* Repeat purchases of zero or negative value (refunds) only: spend is unknown. */
    for (int i = 0; i < 400; i++)
        rows[i].mean_value = rows[i].x ? (i % 2 ? 0 : -300) : 0;
    expect("repeats without value", rows, 400, PREDICT_OK, PREDICT_NO_REPEAT);

    /* Everyone identical. */
    for (int i = 0; i < 200; i++)
        rows[i] = (predict_summary){i, 0, 2, 8, 30, 2000, 0};
    expect("all identical", rows, 200, PREDICT_DEGENERATE, PREDICT_DEGENERATE);

    /* Nobody ever drops out (every repeat buyer bought on the last day): the dropout
     * probability runs to zero, there is no interior maximum. Spend is still fine. */
    memcpy(rows, sim, sizeof sim);
    for (int i = 0; i < 400; i++)
        rows[i].t_x = rows[i].x ? rows[i].T : 0;
    expect("nobody drops out", rows, 400, PREDICT_DEGENERATE, PREDICT_OK);

    /* Inconsistent summaries are rejected, not fitted. */
    memcpy(rows, sim, sizeof sim);
    rows[3].x = 1;
    rows[3].t_x = rows[3].T + 1; /* after T */
    expect("t_x after T", rows, 400, PREDICT_INVALID, PREDICT_OK);
    rows[3].t_x = NAN;
    expect("NaN t_x", rows, 400, PREDICT_INVALID, PREDICT_OK);
    rows[3].t_x = 0;
    rows[3].x = -1;
    expect("negative x", rows, 400, PREDICT_INVALID, PREDICT_OK);
    memcpy(rows, sim, sizeof sim);

    /* Scoring and validation refuse unfitted models instead of producing NaN. */
    predict_bgnbd bg0 = {0};
    predict_gg gg0 = {0};
    predict_score out[10];
    predict_cbs ten = {{0, 0, 1}, 10, rows};
    CHECK_INT_EQ(predict_score_all(&bg0, &gg0, &ten, NULL, out, &err), PREDICT_INVALID);
    predict_validation v;
    CHECK_INT_EQ(predict_validate(&bg0, &ten, &v, &err), PREDICT_INVALID);
    predict_bgnbd bg = {.r = 0.3, .alpha = 5, .a = 0.8, .b = 2.5, .unit_days = 1};
    CHECK_INT_EQ(predict_validate(&bg, &ten, &v, &err), PREDICT_INVALID); /* no holdout */
    CHECK_INT_EQ(predict_bgnbd_fit(NULL, NULL, &bg0, &err), PREDICT_INVALID);
    return CHECK_DONE();
}
