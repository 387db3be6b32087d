/* test_games_unit.c — the games' arithmetic and their invariants on a real store.
 *
 * The draw: interval edges, and 100 000 draws from the server's generator whose prize
 * shares pass a chi-square test at p > 0.001 (statistic against GSL's critical value).
 * Red envelope splits: exact sums and bounds over thousands of random parameter sets,
 * the tight edges, and refusals. On a store: stock, budget and caps are never passed,
 * a replay answers the first play, validation names its field, and `siyu check` finds a
 * campaign whose counters disagree with its plays. */
#include <gsl/gsl_cdf.h>
#include <jansson.h>
#include <sqlite3.h>

#include "fission/games.h"
#include "fixture.h"
#include "loyalty/loyalty.h"

static void pick_edges(void)
{
    const uint32_t odds[] = {50000000, 300000000, 0, 150000000};
    CHECK_INT_EQ(games_pick(odds, 4, 0), 0);
    CHECK_INT_EQ(games_pick(odds, 4, 49999999), 0);
    CHECK_INT_EQ(games_pick(odds, 4, 50000000), 1);
    CHECK_INT_EQ(games_pick(odds, 4, 349999999), 1);
    CHECK_INT_EQ(games_pick(odds, 4, 350000000), 3); /* a zero-odds prize is never drawn */
    CHECK_INT_EQ(games_pick(odds, 4, 499999999), 3);
    CHECK_INT_EQ(games_pick(odds, 4, 500000000), -1);
    CHECK_INT_EQ(games_pick(odds, 4, GAMES_SCALE - 1), -1);
    const uint32_t all[] = {GAMES_SCALE};
    CHECK_INT_EQ(games_pick(all, 1, GAMES_SCALE - 1), 0);
}

/* 100 000 plays with unlimited stock: each outcome's count against its expectation.
 * The draws come from the server's own generator (libsodium), so a fair generator still
 * lands past p = 0.001 once in a thousand runs: a failing sample is drawn once more, and
 * only two failures in a row (one in a million for a fair generator; every time for a
 * biased one) fail the test. */
enum { CHI_N = 100000, CHI_K = 5 };
static const uint32_t chi_odds[] = {50000000, 300000000, 150000000, 10000000}; /* 5 30 15 1 % */

static double chi_sample(long count[CHI_K], double share[CHI_K])
{
    memset(count, 0, CHI_K * sizeof *count);
    for (int i = 0; i < CHI_N; i++) {
        int p = games_pick(chi_odds, 4, (uint32_t)games_random_below(GAMES_SCALE));
        count[p < 0 ? CHI_K - 1 : p]++;
    }
    double rest = 1;
    for (int i = 0; i < CHI_K - 1; i++) {
        share[i] = (double)chi_odds[i] / GAMES_SCALE;
        rest -= share[i];
    }
    share[CHI_K - 1] = rest;
    double stat = 0;
    for (int i = 0; i < CHI_K; i++) {
        double want = share[i] * CHI_N;
        stat += (count[i] - want) * (count[i] - want) / want;
    }
    return stat;
}

static void odds_chi_square(void)
{
    long count[CHI_K];
    double share[CHI_K];
    double critical = gsl_cdf_chisq_Qinv(0.001, CHI_K - 1); /* 18.47 for 4 degrees of freedom */
    double stat = 0, p = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        stat = chi_sample(count, share);
        p = gsl_cdf_chisq_Q(stat, CHI_K - 1);
        fprintf(stderr, "chi-square %.3f (critical %.3f), p = %.4f\n", stat, critical, p);
        if (p > 0.001) break;
    }
    CHECK(stat < critical);
    CHECK(p > 0.001);
    /* and a generator that is off is caught: shift 1% of "nothing" onto the first prize */
    double bad = 0;
    for (int i = 0; i < CHI_K; i++) {
        double want = share[i] * CHI_N, got = (double)count[i];
        if (i == 0) got += CHI_N / 100;
        if (i == CHI_K - 1) got -= CHI_N / 100;
        bad += (got - want) * (got - want) / want;
    }
    CHECK(bad > critical);
}

static uint64_t lcg_state = 88172645463325252ull;
static uint64_t lcg_below(uint64_t n)
{
    lcg_state ^= lcg_state << 13;
    lcg_state ^= lcg_state >> 7;
    lcg_state ^= lcg_state << 17;
    return lcg_state % n;
}

static void split_checked(int64_t total, int64_t n, int64_t min, int64_t max,
                          uint64_t (*rnd)(uint64_t))
{
    int64_t *out = malloc((size_t)n * sizeof *out);
    CHECK_INT_EQ(games_split(total, n, min, max, rnd, out), 0);
    int64_t sum = 0;
    for (int64_t i = 0; i < n; i++) {
        if (out[i] < min || out[i] > max)
            CHECK_FAIL_("split %lld/%lld in [%lld, %lld]: packet %lld is %lld", (long long)total,
                        (long long)n, (long long)min, (long long)max, (long long)i,
                        (long long)out[i]);
        sum += out[i];
    }
    CHECK_INT_EQ(sum, total);
    free(out);
}

static void splits(void)
{
    /* the example, with the server's generator */
    for (int i = 0; i < 200; i++)
        split_checked(100000, 50, 100, 8000, games_random_below);
    /* thousands of random parameter sets, from tight to loose */
    for (int k = 0; k < 5000; k++) {
        int64_t n = 1 + (int64_t)lcg_below(k % 10 == 0 ? 2000 : 60);
        int64_t min = 1 + (int64_t)lcg_below(5000);
        int64_t max = min + (int64_t)lcg_below(k % 3 == 0 ? 3 : 20000);
        int64_t lo = min * n, hi = max * n;
        int64_t total = lo + (int64_t)lcg_below((uint64_t)(hi - lo) + 1);
        split_checked(total, n, min, max, k % 2 ? lcg_below : games_random_below);
    }
    /* the edges: everything at min, everything at max, one packet */
    split_checked(500, 5, 100, 300, games_random_below);
    split_checked(1500, 5, 100, 300, games_random_below);
    split_checked(777, 1, 1, 777, games_random_below);
    /* refusals: bounds that cannot hold the total, and products that overflow */
    int64_t out[8];
    CHECK_INT_EQ(games_split(499, 5, 100, 300, games_random_below, out), -1);
    CHECK_INT_EQ(games_split(1501, 5, 100, 300, games_random_below, out), -1);
    CHECK_INT_EQ(games_split(100, 5, 30, 20, games_random_below, out), -1);
    CHECK_INT_EQ(games_split(INT64_MAX, 4, INT64_MAX / 2, INT64_MAX, games_random_below, out), -1);
    /* large sums beyond 2^32 use the 64-bit draw */
    split_checked(1000000000000LL, 7, 100000000000LL, 200000000000LL, games_random_below);
}

/* ---------------- on a store ---------------- */

static int64_t member(fixture *f, int i)
{
    char b[96];
    snprintf(b, sizeof b, "{\"phone\":\"1390000%04d\"}", i);
    siyu_err e;
    siyu_err_init(&e);
    json_t *o = NULL;
    int rc = call(f, members_create_or_match, b, &o, &e);
    CHECK(rc == 201 || rc == 200);
    int64_t id = jint(o, "id");
    json_decref(o);
    siyu_err_clear(&e);
    return id;
}

static fixture *cur;
static int64_t cur_campaign;
static int play_fn(dom *d, json_t *b, json_t **o, siyu_err *e)
{
    return games_play(d, cur_campaign, b, o, e);
}
static int grab_fn(dom *d, json_t *b, json_t **o, siyu_err *e)
{
    return games_grab(d, cur_campaign, b, o, e);
}

static int play(fixture *f, int64_t campaign, int64_t m, const char *id, json_t **out)
{
    char b[160];
    snprintf(b, sizeof b, "{\"member_id\":%lld,\"play_id\":\"%s\"}", (long long)m, id);
    cur = f;
    cur_campaign = campaign;
    siyu_err e;
    siyu_err_init(&e);
    int rc = call(f, play_fn, b, out, &e);
    if (rc < 0 && e.code != SIYU_UNPROCESSABLE && e.code != SIYU_CONFLICT)
        fprintf(stderr, "play %s: %s\n", id, e.message);
    siyu_err_clear(&e);
    return rc;
}

static int64_t create(fixture *f, const char *body, int want, const char *field)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *o = NULL;
    int rc = call(f, games_campaign_create, body, &o, &e);
    if (rc != want) fprintf(stderr, "create %s: %d %s\n", body, rc, e.message);
    CHECK_INT_EQ(rc, want);
    if (field) {
        CHECK(strcmp(e.field, field) == 0);
        if (strcmp(e.field, field) != 0)
            fprintf(stderr, "want field %s, got %s (%s)\n", field, e.field, e.message);
    }
    int64_t id = o ? jint(o, "id") : 0;
    json_decref(o);
    siyu_err_clear(&e);
    return id;
}

static int check_store(fixture *f)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *v = NULL;
    store_begin(f->d.conn, false, &e);
    int found = loyalty_check(f->d.conn, f->d.now, 20, &v, &e);
    store_rollback(f->d.conn);
    if (found) {
        char *t = json_dumps(v, 0);
        fprintf(stderr, "check: %s\n", t);
        free(t);
    }
    json_decref(v);
    siyu_err_clear(&e);
    return found;
}

static void validation(fixture *f)
{
    const char *prize = "\"prizes\":[{\"name\":\"P\",\"points\":5,\"odds\":0.5,\"stock\":3,"
                        "\"cost_cents\":10}]";
    char b[1024];
    snprintf(b, sizeof b, "{\"kind\":\"wheel\",\"name\":\"w\",\"rules\":{%s}}", prize);
    create(f, b, 201, NULL);
    create(f, "{\"kind\":\"bingo\",\"name\":\"w\",\"rules\":{}}", -1, "kind");
    create(f,
           "{\"kind\":\"wheel\",\"name\":\"w\",\"rules\":{\"prizes\":[{\"name\":\"a\",\"points\":1,"
           "\"odds\":0.6,\"stock\":null,\"cost_cents\":0},{\"name\":\"b\",\"points\":1,"
           "\"odds\":0.5,\"stock\":null,\"cost_cents\":0}]}}",
           -1, "rules.prizes");
    create(f,
           "{\"kind\":\"wheel\",\"name\":\"w\",\"rules\":{\"prizes\":[{\"name\":\"a\",\"points\":1,"
           "\"odds\":1.5,\"stock\":null,\"cost_cents\":0}]}}",
           -1, "rules.prizes[0].odds");
    create(f,
           "{\"kind\":\"wheel\",\"name\":\"w\",\"rules\":{\"prizes\":[{\"name\":\"a\",\"points\":1,"
           "\"odds\":0.1,\"cost_cents\":0}]}}",
           -1, "rules.prizes[0].stock");
    create(f,
           "{\"kind\":\"wheel\",\"name\":\"w\",\"rules\":{\"prizes\":[{\"name\":\"a\",\"points\":1,"
           "\"gift\":\"cup\",\"odds\":0.1,\"stock\":1,\"cost_cents\":0}]}}",
           -1, "rules.prizes[0].coupon_template_id");
    create(f,
           "{\"kind\":\"wheel\",\"name\":\"w\",\"rules\":{\"prizes\":[{\"name\":\"a\","
           "\"coupon_template_id\":999,\"odds\":0.1,\"stock\":1,\"cost_cents\":0}]}}",
           -1, "rules.prizes[0].coupon_template_id");
    create(
        f,
        "{\"kind\":\"wheel\",\"name\":\"w\",\"rules\":{\"budget_cents\":-1,\"prizes\":[{\"name\":"
        "\"a\",\"points\":1,\"odds\":0.1,\"stock\":1,\"cost_cents\":0}]}}",
        -1, "rules.budget_cents");
    create(f,
           "{\"kind\":\"wheel\",\"name\":\"w\",\"rules\":{\"prizes\":[{\"name\":\"a\",\"points\":1,"
           "\"odds\":0.1,\"stock\":1,\"cost_cents\":99999999999999999}]}}",
           -1, "rules.prizes[0].cost_cents");
    create(f,
           "{\"kind\":\"wheel\",\"name\":\"w\",\"starts_at\":\"2026-12-01T00:00:00+08:00\","
           "\"ends_at\":\"2026-11-01T00:00:00+08:00\",\"rules\":{\"prizes\":[{\"name\":\"a\","
           "\"points\":1,\"odds\":0.1,\"stock\":1,\"cost_cents\":0}]}}",
           -1, "ends_at");
    create(f,
           "{\"kind\":\"red_envelope\",\"name\":\"r\",\"rules\":{\"total_cents\":1000,\"packets\":"
           "10,\"min_cents\":101,\"max_cents\":500}}",
           -1, "rules.min_cents");
    create(f,
           "{\"kind\":\"red_envelope\",\"name\":\"r\",\"rules\":{\"total_cents\":1000,\"packets\":"
           "10,\"min_cents\":1,\"max_cents\":99}}",
           -1, "rules.max_cents");
    /* products that would overflow are refused, not wrapped */
    create(f,
           "{\"kind\":\"red_envelope\",\"name\":\"r\",\"rules\":{\"total_cents\":1000000000000,"
           "\"packets\":10000,\"min_cents\":1000000000000,\"max_cents\":1000000000000}}",
           -1, "rules.min_cents");
    create(f,
           "{\"kind\":\"red_envelope\",\"name\":\"r\",\"rules\":{\"total_cents\":1000,\"packets\":"
           "10,\"min_cents\":1,\"max_cents\":500,\"prizes\":[]}}",
           -1, "rules.prizes");
}

static void plays(fixture *f)
{
    int64_t m[10];
    for (int i = 0; i < 10; i++)
        m[i] = member(f, i);
    /* one prize, always drawn, stock 5: the sixth and later plays get nothing */
    int64_t c = create(f,
                       "{\"kind\":\"scratch\",\"name\":\"s\",\"rules\":{\"budget_cents\":100000,"
                       "\"prizes\":[{\"name\":\"20积分\",\"points\":20,\"odds\":1,\"stock\":5,"
                       "\"cost_cents\":20}]}}",
                       201, NULL);
    int won = 0;
    for (int i = 0; i < 30; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        json_t *o = NULL;
        CHECK_INT_EQ(play(f, c, m[i % 10], id, &o), 201);
        json_t *p = json_object_get(o, "prize");
        if (json_is_object(p)) won++;
        const char *outcome = json_string_value(json_object_get(o, "outcome"));
        CHECK(strcmp(outcome, won <= 5 && json_is_object(p) ? "won" : "out_of_stock") == 0);
        json_decref(o);
    }
    CHECK_INT_EQ(won, 5);
    /* a replay answers the first play; the same id for another member is a conflict */
    json_t *a = NULL, *b = NULL;
    CHECK_INT_EQ(play(f, c, m[0], "s0", &a), 200);
    CHECK_INT_EQ(play(f, c, m[0], "s0", &b), 200);
    CHECK(json_equal(a, b));
    CHECK_INT_EQ(jint(a, "prize.points"), 20);
    json_decref(a);
    json_decref(b);
    CHECK_INT_EQ(play(f, c, m[1], "s0", NULL), -1);
    /* the budget: cost 300 within 1000 gives three prizes, then nothing */
    c = create(f,
               "{\"kind\":\"wheel\",\"name\":\"b\",\"rules\":{\"budget_cents\":1000,"
               "\"prizes\":[{\"name\":\"杯子\",\"gift\":\"cup\",\"odds\":1,\"stock\":null,"
               "\"cost_cents\":300}]}}",
               201, NULL);
    won = 0;
    for (int i = 0; i < 8; i++) {
        char id[16];
        snprintf(id, sizeof id, "b%d", i);
        json_t *o = NULL;
        CHECK_INT_EQ(play(f, c, m[i], id, &o), 201);
        if (json_is_object(json_object_get(o, "prize"))) won++;
        json_decref(o);
    }
    CHECK_INT_EQ(won, 3);
    /* caps: 2 a day, 3 in all; an entry cost in points, refused when short */
    c = create(f,
               "{\"kind\":\"wheel\",\"name\":\"c\",\"rules\":{\"plays_per_member_per_day\":2,"
               "\"plays_per_member\":3,\"entry_points\":5,\"prizes\":[{\"name\":\"x\",\"points\":"
               "10,\"odds\":0,\"stock\":null,\"cost_cents\":0}]}}",
               201, NULL);
    /* member 0 won 20 points on the scratch card: 4 plays' worth */
    CHECK_INT_EQ(play(f, c, m[0], "c1", NULL), 201);
    CHECK_INT_EQ(play(f, c, m[0], "c2", NULL), 201);
    CHECK_INT_EQ(play(f, c, m[0], "c3", NULL), -1); /* the day's cap */
    f->d.now += 86400;
    CHECK_INT_EQ(play(f, c, m[0], "c4", NULL), 201);
    CHECK_INT_EQ(play(f, c, m[0], "c5", NULL), -1); /* the campaign's cap */
    /* member 9 has no points: the entry cost refuses the play and writes nothing */
    CHECK_INT_EQ(play(f, c, m[9], "c6", NULL), -1);
    char tier[32];
    int64_t pts = -1;
    store_begin(f->d.conn, false, NULL);
    loyalty_member_state(f->d.conn, m[0], tier, sizeof tier, &pts);
    store_rollback(f->d.conn);
    CHECK_INT_EQ(pts, 20 - 3 * 5);
    CHECK_INT_EQ(check_store(f), 0);
    /* the window: a play after the end is refused */
    c = create(f,
               "{\"kind\":\"wheel\",\"name\":\"old\",\"starts_at\":\"2020-01-01T00:00:00+08:00\","
               "\"ends_at\":\"2020-02-01T00:00:00+08:00\",\"rules\":{\"prizes\":[{\"name\":\"x\","
               "\"points\":1,\"odds\":1,\"stock\":null,\"cost_cents\":0}]}}",
               201, NULL);
    CHECK_INT_EQ(play(f, c, m[1], "late", NULL), -1);
}

static int64_t merge_into;
static int merge_fn(dom *d, json_t *b, json_t **o, siyu_err *e)
{
    return members_merge(d, merge_into, b, o, e);
}

/* A play made before its member was merged replays for the surviving member. */
static void merged_replay(fixture *f)
{
    int64_t a = member(f, 500), b = member(f, 501);
    int64_t c = create(f,
                       "{\"kind\":\"wheel\",\"name\":\"m\",\"rules\":{\"prizes\":[{\"name\":"
                       "\"x\",\"points\":1,\"odds\":1,\"stock\":null,\"cost_cents\":0}]}}",
                       201, NULL);
    json_t *first = NULL, *again = NULL;
    char id[] = "before-merge";
    CHECK_INT_EQ(play(f, c, a, id, &first), 201);
    merge_into = b;
    char body[64];
    snprintf(body, sizeof body, "{\"from_member_id\":%lld}", (long long)a);
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(call(f, merge_fn, body, NULL, &e), 200);
    siyu_err_clear(&e);
    CHECK_INT_EQ(play(f, c, b, id, &again), 200);
    CHECK_INT_EQ(jint(again, "draw"), jint(first, "draw"));
    CHECK_INT_EQ(jint(again, "prize.id"), jint(first, "prize.id"));
    CHECK_INT_EQ(play(f, c, member(f, 502), id, NULL), -1); /* anyone else: a conflict */
    json_decref(first);
    json_decref(again);
}

static void envelopes(fixture *f)
{
    int64_t c =
        create(f,
               "{\"kind\":\"red_envelope\",\"name\":\"开业红包\",\"rules\":{\"total_cents\":"
               "10000,\"packets\":5,\"min_cents\":100,\"max_cents\":8000}}",
               201, NULL);
    cur = f;
    cur_campaign = c;
    int64_t sum = 0;
    siyu_err e;
    siyu_err_init(&e);
    for (int i = 0; i < 7; i++) {
        char b[128];
        snprintf(b, sizeof b, "{\"member_id\":%lld,\"grab_id\":\"g%d\"}",
                 (long long)member(f, 100 + i), i);
        json_t *o = NULL;
        int rc = call(f, grab_fn, b, &o, &e);
        CHECK_INT_EQ(rc, i < 5 ? 201 : -1);
        if (rc > 0) {
            int64_t amount = jint(o, "amount_cents");
            CHECK(amount >= 100 && amount <= 8000);
            CHECK_INT_EQ(jint(o, "points"), amount); /* 100 points a yuan by default */
            sum += amount;
        } else {
            CHECK_INT_EQ(e.code, SIYU_UNPROCESSABLE);
        }
        json_decref(o);
    }
    CHECK_INT_EQ(sum, 10000);
    /* a member grabs once */
    c = create(f,
               "{\"kind\":\"red_envelope\",\"name\":\"r\",\"rules\":{\"total_cents\":1000,"
               "\"packets\":5,\"min_cents\":1,\"max_cents\":1000}}",
               201, NULL);
    cur_campaign = c;
    CHECK_INT_EQ(call(f, grab_fn, "{\"member_id\":1,\"grab_id\":\"x1\"}", NULL, &e), 201);
    CHECK_INT_EQ(call(f, grab_fn, "{\"member_id\":1,\"grab_id\":\"x1\"}", NULL, &e), 200);
    CHECK_INT_EQ(call(f, grab_fn, "{\"member_id\":1,\"grab_id\":\"x2\"}", NULL, &e), -1);
    CHECK_INT_EQ(call(f, grab_fn, "{\"member_id\":2,\"grab_id\":\"x1\"}", NULL, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_CONFLICT);
    siyu_err_clear(&e);
    CHECK_INT_EQ(check_store(f), 0);
}

/* The checker sees counters that disagree with the plays and packets. */
static void checker(fixture *f)
{
    CHECK_INT_EQ(check_store(f), 0);
    char path[128];
    snprintf(path, sizeof path, "%s/d.db", f->dir);
    sqlite3 *db;
    CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT_EQ(sqlite3_exec(db, "UPDATE campaign_prizes SET won = won - 1 WHERE won > 0", NULL,
                              NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    CHECK(check_store(f) > 0);
    CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_exec(db, "UPDATE campaign_prizes SET won = won + 1", NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK_INT_EQ(check_store(f), 0);
}

static void checker_packets(fixture *f)
{
    char path[128];
    snprintf(path, sizeof path, "%s/d.db", f->dir);
    sqlite3 *db;
    CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_exec(db, "UPDATE campaign_packets SET amount_cents = amount_cents + 1 WHERE id = 1",
                 NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK_INT_EQ(check_store(f), 1);
}

int main(void)
{
    pick_edges();
    odds_chi_square();
    splits();
    fixture f;
    fixture_open(&f);
    loyalty_install();
    validation(&f);
    plays(&f);
    merged_replay(&f);
    envelopes(&f);
    fixture_close(&f);
    fixture_open(&f);
    {
        int64_t c = create(&f,
                           "{\"kind\":\"scratch\",\"name\":\"s\",\"rules\":{\"prizes\":[{\"name\":"
                           "\"p\",\"points\":1,\"odds\":1,\"stock\":2,\"cost_cents\":1}]}}",
                           201, NULL);
        int64_t m = member(&f, 1);
        CHECK_INT_EQ(play(&f, c, m, "a", NULL), 201);
        checker(&f);
        create(&f,
               "{\"kind\":\"red_envelope\",\"name\":\"r\",\"rules\":{\"total_cents\":1000,"
               "\"packets\":5,\"min_cents\":1,\"max_cents\":1000}}",
               201, NULL);
        checker_packets(&f);
    }
    fixture_close(&f);
    return CHECK_DONE();
}
