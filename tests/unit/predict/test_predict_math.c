/* test_predict_math.c — the building blocks: summaries by hand, analytic derivatives against
 * finite differences, the stabilised hypergeometric numerator against GSL's 2F1, CLV and
 * scoring against their definitions. */
#include "check.h"
#include "predict/internal.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_hyperg.h>
#include <math.h>
#include <stdlib.h>

static void test_summaries(void)
{
    /* Days 100 (two orders), 103, 103, 110; cal ends 110, holdout to 120 has 115 and 115.
     * Customer 9 starts after calibration: not in the cohort. Unsorted on purpose. */
    predict_txn t[] = {
        {7, 115, 50},  {7, 100, 1000}, {7, 103, 200}, {7, 110, 400}, {7, 100, 500},
        {7, 103, 300}, {7, 115, 70},   {9, 111, 999}, {8, 105, 10},  {7, 125, 1},
    };
    predict_window w = {110, 120, 1};
    predict_cbs c;
    predict_error err;
    CHECK_INT_EQ(predict_cbs_build(t, sizeof t / sizeof *t, &w, &c, &err), PREDICT_OK);
    CHECK_INT_EQ(c.n, 2);
    if (c.n == 2) {
        const predict_summary *a = &c.rows[0], *b = &c.rows[1];
        CHECK_INT_EQ(a->customer, 7);
        CHECK_INT_EQ(a->first_day, 100);
        CHECK_INT_EQ(a->x, 2); /* days 103 and 110 */
        CHECK_NEAR(a->t_x, 10, 0);
        CHECK_NEAR(a->T, 10, 0);
        CHECK_NEAR(a->mean_value, (200 + 300 + 400) / 2.0, 0); /* first day excluded */
        CHECK_INT_EQ(a->x_star, 1); /* 115 once; 125 is after the holdout */
        CHECK_INT_EQ(b->customer, 8);
        CHECK_INT_EQ(b->x, 0);
        CHECK_NEAR(b->t_x, 0, 0);
        CHECK_NEAR(b->T, 5, 0);
        CHECK_NEAR(b->mean_value, 0, 0);
    }
    predict_cbs_release(&c);
    predict_cbs_release(&c); /* twice is harmless */
    predict_window wk = {110, 110, 7};
    CHECK_INT_EQ(predict_cbs_build(t, sizeof t / sizeof *t, &wk, &c, &err), PREDICT_OK);
    CHECK_NEAR(c.rows[0].T, 10 / 7.0, 1e-15);
    CHECK_INT_EQ(c.rows[0].x_star, 0);
    predict_cbs_release(&c);
    predict_window bad = {110, 100, 1};
    CHECK_INT_EQ(predict_cbs_build(t, 1, &bad, &c, &err), PREDICT_INVALID);
    bad = (predict_window){110, 120, 0};
    CHECK_INT_EQ(predict_cbs_build(t, 1, &bad, &c, &err), PREDICT_INVALID);
    CHECK(c.rows == NULL && c.n == 0);
}

/* A small irregular data set in continuous time. */
static predict_cbs make_cbs(void)
{
    static predict_summary rows[] = {
        {1, 0, 0, 0, 30, 0, 0},     {2, 0, 1, 3.5, 30, 1250, 1}, {3, 0, 4, 20, 25, 800, 2},
        {4, 0, 2, 28, 29, 2100, 0}, {5, 0, 0, 0, 12, 0, 0},      {6, 0, 9, 11, 31, 400, 5},
        {7, 0, 1, 0.5, 2, 990, 0},  {8, 0, 3, 7, 40, 1500, 1},   {9, 0, 0, 0, 30, 0, 0},
    };
    return (predict_cbs){{0, 0, 7}, sizeof rows / sizeof *rows, rows};
}

static void test_bg_derivatives(void)
{
    predict_cbs c = make_cbs();
    predict_bg_data d;
    CHECK_INT_EQ(predict__bg_data_build(&c, &d, NULL), PREDICT_OK);
    CHECK_INT_EQ(d.nrows, 8); /* customers 1 and 9 collapse */
    const double pars[3][4] = {{0.3, 5, 0.8, 2.5}, {2, 0.7, 1.7, 0.4}, {0.05, 40, 0.2, 9}};
    for (int s = 0; s < 3; s++) {
        double g[4], H[16];
        const double *par = pars[s];
        predict__bg_eval(&d, par, g, H);
        for (int i = 0; i < 4; i++) {
            double p1[4], p2[4], g1[4], g2[4], h = 1e-6 * par[i];
            memcpy(p1, par, sizeof p1);
            memcpy(p2, par, sizeof p2);
            p1[i] -= h, p2[i] += h;
            double f1 = predict__bg_eval(&d, p1, g1, NULL), f2 = predict__bg_eval(&d, p2, g2, NULL);
            CHECK_NEAR(g[i], (f2 - f1) / (2 * h), 1e-6);
            for (int j = 0; j < 4; j++)
                CHECK_NEAR(H[i * 4 + j], (g2[j] - g1[j]) / (2 * h), 1e-5);
        }
        /* The public entry point agrees with the collapsed evaluation. */
        double gp[4];
        CHECK_NEAR(predict_bgnbd_loglik(par, &c, gp), predict__bg_eval(&d, par, NULL, NULL), 1e-13);
    }
    double badpar[4] = {-1, 1, 1, 1};
    CHECK(predict__bg_eval(&d, badpar, NULL, NULL) == -INFINITY);
    predict__bg_data_release(&d);
}

static void test_gg_derivatives(void)
{
    predict_cbs c = make_cbs();
    const double par[3] = {3, 4, 700};
    double g[3];
    predict_gg_loglik(par, &c, g);
    for (int i = 0; i < 3; i++) {
        double p1[3], p2[3], h = 1e-6 * par[i];
        memcpy(p1, par, sizeof p1);
        memcpy(p2, par, sizeof p2);
        p1[i] -= h, p2[i] += h;
        CHECK_NEAR(g[i],
                   (predict_gg_loglik(p2, &c, NULL) - predict_gg_loglik(p1, &c, NULL)) / (2 * h),
                   1e-6);
    }
}

/* The textbook form, with GSL's 2F1, for a away from 1. */
static double expected_direct(const predict_bgnbd *m, double t, int x, double tx, double T)
{
    double r = m->r, al = m->alpha, a = m->a, b = m->b;
    double u = t / (al + T + t);
    double f = gsl_sf_hyperg_2F1(r + x, b + x, a + b + x - 1, u);
    double num = (a + b + x - 1) / (a - 1) * (1 - pow((al + T) / (al + T + t), r + x) * f);
    double den = 1 + (x > 0) * a / (b + x - 1) * pow((al + T) / (al + tx), r + x);
    return num / den;
}

static void test_expected(void)
{
    gsl_set_error_handler_off();
    predict_bgnbd m = {.r = 0.24259, .alpha = 4.4136, .a = 0.79292, .b = 2.42591, .unit_days = 7};
    const double as[] = {0.79292, 1.6, 3.0, 0.3};
    for (int ia = 0; ia < 4; ia++) {
        m.a = as[ia];
        for (int x = 0; x <= 6; x++) {
            double T = 10 + 5 * x, tx = x ? T * 0.6 : 0;
            for (double t = 1; t < 200; t *= 3) {
                double e = predict_bgnbd_expected(&m, t, x, tx, T);
                CHECK_NEAR(e, expected_direct(&m, t, x, tx, T), 1e-9);
            }
        }
    }
    /* a = 1 exactly (the textbook form is 0/0) is continuous with its neighbours. */
    m.a = 1;
    double e1 = predict_bgnbd_expected(&m, 39, 2, 30, 38);
    m.a = 1 + 1e-7;
    double e2 = predict_bgnbd_expected(&m, 39, 2, 30, 38);
    m.a = 1 - 1e-7;
    double e3 = predict_bgnbd_expected(&m, 39, 2, 30, 38);
    CHECK(isfinite(e1) && e1 > 0);
    CHECK_NEAR(e1, e2, 1e-6);
    CHECK_NEAR(e1, e3, 1e-6);
    /* a + b < 1 with x = 0 (C = a+b−1 < 0) stays finite and positive. */
    predict_bgnbd s = {.r = 0.5, .alpha = 3, .a = 0.3, .b = 0.4, .unit_days = 1};
    double e0 = predict_bgnbd_expected(&s, 50, 0, 0, 10);
    CHECK(isfinite(e0) && e0 > 0);
    CHECK_NEAR(predict_bgnbd_expected_new(&m, 20), predict_bgnbd_expected(&m, 20, 0, 0, 0), 1e-15);
    CHECK_NEAR(predict_bgnbd_expected(&m, 0, 3, 5, 9), 0, 0);
    /* P(alive): 1 without repeats, falls as the silence since the last purchase grows. */
    CHECK_NEAR(predict_bgnbd_p_alive(&m, 0, 0, 50), 1, 0);
    double p1 = predict_bgnbd_p_alive(&m, 3, 30, 31), p2 = predict_bgnbd_p_alive(&m, 3, 5, 31);
    CHECK(p1 > p2 && p2 > 0 && p1 < 1);
    CHECK(predict_bgnbd_p_alive(&m, 500, 1, 1e6) == 0); /* underflow is 0, not NaN */
    CHECK(predict_bgnbd_expected(&m, 10, 500, 1, 1e6) == 0);
}

static void test_clv_and_scoring(void)
{
    predict_bgnbd bg = {.r = 0.3, .alpha = 30, .a = 0.8, .b = 2.5, .unit_days = 1};
    predict_gg gg = {.p = 6, .q = 3.7, .gamma = 1500};
    predict_summary s = {42, 0, 3, 80, 200, 2500, 0};
    const double M = 365.25 / 12, d = 0.01;
    double want = 0, prev = 0;
    for (int m = 1; m <= 12; m++) {
        double e = predict_bgnbd_expected(&bg, m * M, s.x, s.t_x, s.T);
        want += (e - prev) * predict_gg_expected_value(&gg, s.x, s.mean_value) / pow(1 + d, m);
        prev = e;
    }
    CHECK_NEAR(predict_clv(&bg, &gg, &s, 12, d), want, 1e-12);
    /* Gamma-Gamma: population mean for x = 0, shrinks the customer's mean towards it. */
    double pop = gg.p * gg.gamma / (gg.q - 1);
    CHECK_NEAR(predict_gg_expected_value(&gg, 0, 0), pop, 1e-15);
    double v = predict_gg_expected_value(&gg, 3, 2500);
    CHECK(v > fmin(pop, 2500) && v < fmax(pop, 2500));

    /* Scoring many customers, 1 and 2 threads, equals the single-customer functions. */
    enum { N = 30000 };
    predict_summary *rows = malloc(N * sizeof *rows);
    predict_score *o1 = malloc(N * sizeof *o1), *o2 = malloc(N * sizeof *o2);
    CHECK(rows && o1 && o2);
    if (!rows || !o1 || !o2) return;
    for (int i = 0; i < N; i++) {
        int x = i % 9;
        int64_t T = 30 + ((int64_t)i * 7919) % 700;
        rows[i] = (predict_summary){i,         0,
                                    x,         x ? (double)(((int64_t)i * 104729) % (T + 1)) : 0,
                                    (double)T, x ? 1000 + i % 5000 : 0,
                                    0};
    }
    predict_cbs c = {{0, 0, 1}, N, rows};
    predict_score_opts so = {.monthly_discount = 0.01};
    predict_error err;
    CHECK_INT_EQ(predict_score_all(&bg, &gg, &c, &so, o1, &err), PREDICT_OK);
    so.nthreads = 2;
    CHECK_INT_EQ(predict_score_all(&bg, &gg, &c, &so, o2, &err), PREDICT_OK);
    for (int i = 0; i < N; i++) {
        CHECK(memcmp(&o1[i], &o2[i], sizeof o1[i]) == 0);
        if (i % 1013 == 0) {
            const predict_summary *r = &rows[i];
            CHECK_NEAR(o1[i].expected_purchases,
                       predict_bgnbd_expected(&bg, 90, r->x, r->t_x, r->T), 1e-12);
            CHECK_NEAR(o1[i].clv_cents, predict_clv(&bg, &gg, r, 12, 0.01), 1e-12);
            CHECK_NEAR(o1[i].expected_value, predict_gg_expected_value(&gg, r->x, r->mean_value),
                       1e-15);
        }
    }
    so.clv_months = -1;
    CHECK_INT_EQ(predict_score_all(&bg, &gg, &c, &so, o1, &err), PREDICT_INVALID);
    free(rows);
    free(o1);
    free(o2);
}

int main(void)
{
    CHECK_STR_EQ(predict_status_name(PREDICT_NO_REPEAT), "no_repeat_buyers");
    CHECK_STR_EQ(predict_status_name(PREDICT_OK), "ok");
    test_summaries();
    test_bg_derivatives();
    test_gg_derivatives();
    test_expected();
    test_clv_and_scoring();
    return CHECK_DONE();
}
