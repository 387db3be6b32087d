/* test_fission_unit.c — fission's arithmetic and its checker on a real store.
 *
 * Assist steps: fixed cuts differ by at most a cent and sum to the discount; random cuts
 * over thousands of parameter sets sum exactly and stay within their bounds; impossible
 * plans are refused. On a store: an assist helped to its target, a referral tree and a
 * team are clean under `siyu check`, and each corruption of a counter (an assist's price,
 * a team's seats, a member's referral figures, an invite's joins) is found. */
#include <jansson.h>
#include <sqlite3.h>

#include "fission/fission.h"
#include "fission/games.h"
#include "fixture.h"
#include "loyalty/loyalty.h"

static uint64_t state = 88172645463325252ull;
static uint64_t xrnd(uint64_t n)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state % n;
}

static void steps(void)
{
    int64_t out[1000];
    CHECK_INT_EQ(fission_assist_steps(999, 3, false, 0, 0, xrnd, out), 0);
    CHECK_INT_EQ(out[0] + out[1] + out[2], 999);
    CHECK_INT_EQ(out[0], 333);
    CHECK_INT_EQ(fission_assist_steps(1000, 3, false, 0, 0, xrnd, out), 0);
    CHECK_INT_EQ(out[0], 334);
    CHECK_INT_EQ(out[2], 333);
    CHECK_INT_EQ(fission_assist_steps(2, 3, false, 0, 0, xrnd, out), -1);    /* under a cent each */
    CHECK_INT_EQ(fission_assist_steps(100, 5, true, 30, 40, xrnd, out), -1); /* 5 x 30 > 100 */
    CHECK_INT_EQ(fission_assist_steps(100, 5, true, 1, 10, xrnd, out), -1);  /* 5 x 10 < 100 */
    for (int round = 0; round < 5000; round++) {
        int64_t n = 1 + (int64_t)xrnd(200), total = n + (int64_t)xrnd(100000);
        int64_t min = 1 + (int64_t)xrnd((uint64_t)(total / n)), max = 0;
        if (xrnd(2)) max = min + (int64_t)xrnd((uint64_t)total);
        if (max && max * n < total) max = total;
        bool random = xrnd(3) != 0;
        CHECK_INT_EQ(fission_assist_steps(total, n, random, min, max, xrnd, out), 0);
        int64_t sum = 0, lo = random ? min : total / n,
                hi = random ? (max ? max : total) : total / n + 1;
        for (int64_t i = 0; i < n; i++) {
            sum += out[i];
            if (out[i] < lo || out[i] > hi || out[i] <= 0)
                CHECK_FAIL_("round %d: cut %lld outside [%lld, %lld]", round, (long long)out[i],
                            (long long)lo, (long long)hi);
        }
        CHECK_INT_EQ(sum, total);
    }
}

static int check_store(fixture *f)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *v = NULL;
    store_begin(f->d.conn, false, &e);
    int found = loyalty_check(f->d.conn, f->d.now, 20, &v, &e);
    store_rollback(f->d.conn);
    json_decref(v);
    siyu_err_clear(&e);
    return found;
}

typedef int (*id_fn)(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);

static int64_t id_call(fixture *f, id_fn fn, int64_t id, const char *body, int want)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *b = J(body), *o = NULL;
    store_begin(f->d.conn, true, &e);
    int rc = fn(&f->d, id, b, &o, &e);
    if (rc < 0) {
        fprintf(stderr, "call: %s\n", e.message);
        store_rollback(f->d.conn);
    } else {
        store_commit(f->d.conn, &e);
    }
    CHECK_INT_EQ(rc, want);
    int64_t got = json_integer_value(json_object_get(o, "id"));
    json_decref(b);
    json_decref(o);
    siyu_err_clear(&e);
    return got;
}

static int64_t body_call(fixture *f, body_fn fn, const char *body)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *o = NULL;
    int rc = call(f, fn, body, &o, &e);
    CHECK(rc == 201 || rc == 200);
    int64_t id = json_integer_value(json_object_get(o, "id"));
    json_decref(o);
    siyu_err_clear(&e);
    return id;
}

/* Applies a corruption, expects the checker to find it, and undoes it. */
static void corrupt(fixture *f, const char *bad, const char *undo)
{
    char path[128];
    snprintf(path, sizeof path, "%s/d.db", f->dir);
    sqlite3 *db;
    CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT_EQ(sqlite3_exec(db, bad, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    if (check_store(f) == 0) CHECK_FAIL_("the checker missed: %s", bad);
    CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT_EQ(sqlite3_exec(db, undo, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    CHECK_INT_EQ(check_store(f), 0);
}

static void on_a_store(fixture *f)
{
    int64_t m[8];
    for (int i = 0; i < 8; i++) {
        char b[64];
        snprintf(b, sizeof b, "{\"phone\":\"1390000%04d\"}", i);
        m[i] = body_call(f, members_create_or_match, b);
    }
    int64_t ca = body_call(f, games_campaign_create,
                           "{\"kind\":\"assist\",\"name\":\"a\",\"rules\":{\"sku\":\"B\","
                           "\"price_cents\":1000,\"target_cents\":100,\"helpers\":3,"
                           "\"step\":\"random\",\"hours\":2}}");
    char b[64];
    snprintf(b, sizeof b, "{\"member_id\":%lld}", (long long)m[0]);
    int64_t a = id_call(f, fission_assist_start, ca, b, 201);
    for (int i = 1; i <= 3; i++) {
        snprintf(b, sizeof b, "{\"member_id\":%lld}", (long long)m[i]);
        id_call(f, fission_assist_help, a, b, 201);
    }
    snprintf(b, sizeof b, "{\"member_id\":%lld}", (long long)m[4]);
    id_call(f, fission_assist_help, a, b, -1); /* reached: closed */
    CHECK_INT_EQ(check_store(f), 0);
    corrupt(f, "UPDATE assists SET current_cents = current_cents + 1",
            "UPDATE assists SET current_cents = current_cents - 1");
    corrupt(f, "UPDATE assist_helps SET cut_cents = cut_cents + 1 WHERE seq = 1",
            "UPDATE assist_helps SET cut_cents = cut_cents - 1 WHERE seq = 1");
    /* a referral tree: m5 invites m6, which invites a new member */
    int64_t ci = body_call(f, games_campaign_create,
                           "{\"kind\":\"invite\",\"name\":\"i\",\"rules\":{\"on_join\":"
                           "{\"points\":5}}}");
    snprintf(b, sizeof b, "{\"member_id\":%lld}", (long long)m[5]);
    siyu_err e;
    siyu_err_init(&e);
    json_t *o = NULL, *body = J(b);
    store_begin(f->d.conn, true, &e);
    CHECK_INT_EQ(fission_invite_create(&f->d, ci, body, &o, &e), 201);
    char st[64];
    snprintf(st, sizeof st, "%s", json_string_value(json_object_get(o, "state")));
    json_decref(o);
    json_decref(body);
    o = NULL;
    body = J("{\"phone\":\"13700000001\"}");
    CHECK_INT_EQ(members_create_or_match(&f->d, body, &o, &e), 201);
    int64_t fresh = json_integer_value(json_object_get(o, "id"));
    json_t *ref = NULL;
    CHECK_INT_EQ(fission_state_arrived(&f->d, fresh, true, st, NULL, "members", &ref, &e), 0);
    CHECK(json_is_true(json_object_get(ref, "accepted")));
    CHECK_INT_EQ(store_commit(f->d.conn, &e), 0);
    json_decref(ref);
    json_decref(o);
    json_decref(body);
    siyu_err_clear(&e);
    CHECK_INT_EQ(check_store(f), 0);
    corrupt(f, "UPDATE referral_stats SET downstream = downstream + 1",
            "UPDATE referral_stats SET downstream = downstream - 1");
    corrupt(f, "UPDATE referrals SET depth = 2", "UPDATE referrals SET depth = 1");
    corrupt(f, "UPDATE referral_invites SET joined = joined + 1",
            "UPDATE referral_invites SET joined = joined - 1");
    corrupt(f, "UPDATE referral_cohorts SET inviters = inviters + 1",
            "UPDATE referral_cohorts SET inviters = inviters - 1");
}

int main(void)
{
    steps();
    fixture f;
    fixture_open(&f);
    loyalty_install();
    fission_install();
    on_a_store(&f);
    fixture_close(&f);
    return CHECK_DONE();
}
