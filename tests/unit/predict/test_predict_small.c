/* test_predict_small.c — a property over random small chains (20 members, about 60
 * orders, a few months): whenever BG/NBD fits (valid parameters), every prediction made
 * from it is finite — P(alive), expected purchases over any horizon, for a new customer,
 * the holdout table and the scores with or without the spend model. Small chains are
 * where fits land on extreme parameters (a, b in the thousands), which used to make the
 * series of the expectation overflow into inf − inf. */
#include "check.h"
#include "predict/predict.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

static int below(int n)
{
    return (int)(rnd() % (uint32_t)n);
}

int main(void)
{
    enum { CHAINS = 3000, MEMBERS = 20 };
    predict_txn txns[200];
    int fitted = 0, bad = 0;
    const double horizons[] = {1, 7, 30, 90, 365, 3650};
    for (int chain = 0; chain < CHAINS; chain++) {
        rng_state = 0x9e3779b97f4a7c15ULL ^ (uint64_t)chain * 0x100000001b3ULL;
        const int32_t start = 20000, span = 30 + below(180);
        const int32_t cal_end = start + span, holdout_end = cal_end + 7 + below(90);
        const double unit = below(4) ? 1 : 7;
        size_t n = 0;
        const int orders = 40 + below(41);
        /* members buy unevenly: some once, some in bursts, some often */
        for (int k = 0; k < orders; k++) {
            int64_t m = 1 + (below(3) ? below(MEMBERS) : below(4));
            int32_t day = start + below(holdout_end - start + 1);
            if (below(5) == 0) day = start + below(3); /* a burst at the opening */
            txns[n++] = (predict_txn){m, day, 100 + below(20000)};
        }
        predict_window w = {cal_end, holdout_end, unit};
        predict_cbs cbs;
        predict_error err;
        if (predict_cbs_build(txns, n, &w, &cbs, &err) != PREDICT_OK) continue;
        predict_bgnbd bg;
        if (predict_bgnbd_fit(&cbs, NULL, &bg, &err) != PREDICT_OK) {
            /* a refused fit says why */
            CHECK(err.message[0] != '\0');
            predict_cbs_release(&cbs);
            continue;
        }
        fitted++;
        CHECK(bg.r > 0 && bg.alpha > 0 && bg.a > 0 && bg.b > 0);
        CHECK(isfinite(bg.r) && isfinite(bg.alpha) && isfinite(bg.a) && isfinite(bg.b));
        int chain_bad = 0;
        for (size_t i = 0; i < cbs.n; i++) {
            const predict_summary *s = &cbs.rows[i];
            double p = predict_bgnbd_p_alive(&bg, s->x, s->t_x, s->T);
            chain_bad += !(isfinite(p) && p >= 0 && p <= 1);
            for (size_t h = 0; h < sizeof horizons / sizeof *horizons; h++) {
                double e = predict_bgnbd_expected(&bg, horizons[h] / unit, s->x, s->t_x, s->T);
                chain_bad += !(isfinite(e) && e >= 0);
            }
        }
        for (size_t h = 0; h < sizeof horizons / sizeof *horizons; h++) {
            double e = predict_bgnbd_expected_new(&bg, horizons[h] / unit);
            chain_bad += !(isfinite(e) && e >= 0);
        }
        predict_validation v;
        if (predict_validate(&bg, &cbs, &v, &err) != PREDICT_OK) {
            if (bad < 5) fprintf(stderr, "chain %d: validate: %s\n", chain, err.message);
            chain_bad++;
        } else {
            chain_bad += !isfinite(v.total.predicted);
        }
        predict_gg gg;
        predict_score *sc = calloc(cbs.n, sizeof *sc);
        predict_score_opts so = {.horizon_days = 90, .clv_months = 12, .monthly_discount = 0.01};
        if (predict_gg_fit(&cbs, NULL, &gg, &err) == PREDICT_OK) {
            if (predict_score_all(&bg, &gg, &cbs, &so, sc, &err) != PREDICT_OK) {
                if (bad < 5) fprintf(stderr, "chain %d: scores: %s\n", chain, err.message);
                chain_bad++;
            } else {
                for (size_t i = 0; i < cbs.n; i++)
                    chain_bad += !(isfinite(sc[i].p_alive) && isfinite(sc[i].expected_purchases) &&
                                   isfinite(sc[i].expected_value) && isfinite(sc[i].clv_cents));
            }
        }
        free(sc);
        if (chain_bad) {
            if (bad < 5)
                fprintf(stderr, "chain %d: r %g alpha %g a %g b %g: %d non-finite\n", chain, bg.r,
                        bg.alpha, bg.a, bg.b, chain_bad);
            bad++;
        }
        predict_cbs_release(&cbs);
    }
    printf("%d of %d small chains fitted, %d with a non-finite prediction\n", fitted, CHAINS, bad);
    CHECK(fitted > CHAINS / 10); /* the property is tested on many fits */
    CHECK_INT_EQ(bad, 0);
    return CHECK_DONE();
}
