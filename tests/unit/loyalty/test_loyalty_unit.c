/* test_loyalty_unit.c — the loyalty engine's arithmetic, worked by hand, on a real store.
 *
 * Calendar months (clamped month ends, leap years), expiry instants, earn rules with
 * per-order and per-day caps, rounding of proportional reversals over several partial
 * refunds, a merge of two members' points, configuration errors naming their field,
 * and the checker on a clean store. */
#include <jansson.h>

#include "fixture.h"
#include "loyalty/internal.h"
#include "loyalty/loyalty.h"

static int64_t T(const char *s)
{
    int64_t t = 0;
    if (time_parse_rfc3339(s, &t)) abort();
    return t;
}

static void months(void)
{
    /* month ends clamp; time of day is kept */
    CHECK_INT_EQ(loy_add_months(T("2025-01-31T10:00:00+08:00"), 1), T("2025-02-28T10:00:00+08:00"));
    CHECK_INT_EQ(loy_add_months(T("2024-01-31T10:00:00+08:00"), 1), T("2024-02-29T10:00:00+08:00"));
    CHECK_INT_EQ(loy_add_months(T("2025-03-31T23:30:00+08:00"), -1),
                 T("2025-02-28T23:30:00+08:00"));
    CHECK_INT_EQ(loy_add_months(T("2025-12-15T00:00:00+08:00"), 1), T("2026-01-15T00:00:00+08:00"));
    CHECK_INT_EQ(loy_add_months(T("2025-01-10T10:00:00+08:00"), -12),
                 T("2024-01-10T10:00:00+08:00"));
    /* local midnight, not UTC midnight: 2025-07-15 23:59 +08 is still the 15th */
    loy_config cfg = {.expiry = LOY_EXPIRY_MONTHS, .expiry_months = 6};
    CHECK_INT_EQ(loy_expiry_of(&cfg, T("2025-01-15T23:59:00+08:00")),
                 T("2025-07-16T00:00:00+08:00"));
    cfg.expiry = LOY_EXPIRY_END_OF_NEXT_YEAR;
    CHECK_INT_EQ(loy_expiry_of(&cfg, T("2025-03-05T10:00:00+08:00")),
                 T("2027-01-01T00:00:00+08:00"));
    CHECK_INT_EQ(loy_expiry_of(&cfg, T("2025-12-31T23:00:00+08:00")),
                 T("2027-01-01T00:00:00+08:00"));
    cfg.expiry = LOY_EXPIRY_NEVER;
    CHECK_INT_EQ(loy_expiry_of(&cfg, T("2025-03-05T10:00:00+08:00")), INT64_MAX);
}

static int64_t ledger_sum(fixture *f, int64_t member)
{
    char tier[32];
    int64_t points = -1;
    store_begin(f->d.conn, false, NULL);
    loyalty_member_state(f->d.conn, member, tier, sizeof tier, &points);
    store_rollback(f->d.conn);
    return points;
}

static int64_t order(fixture *f, const char *ext, int64_t member, const char *at, int64_t cents,
                     const char *category)
{
    char body[512];
    snprintf(
        body, sizeof body,
        "{\"channel\":\"store\",\"external_id\":\"%s\",\"store_id\":1,\"member_id\":%lld,"
        "\"placed_at\":\"%s\",\"total_cents\":%lld,\"items\":[{\"sku\":\"A\",\"category\":\"%s\","
        "\"qty\":1,\"unit_price_cents\":%lld}]}",
        ext, (long long)member, at, (long long)cents, category, (long long)cents);
    siyu_err e;
    siyu_err_init(&e);
    json_t *o = NULL;
    int rc = call(f, orders_create, body, &o, &e);
    if (rc != 201) fprintf(stderr, "order %s: %s\n", ext, e.message);
    CHECK_INT_EQ(rc, 201);
    int64_t id = jint(o, "id");
    json_decref(o);
    siyu_err_clear(&e);
    return id;
}

static void refund(fixture *f, int64_t order_id, const char *ext, int64_t cents)
{
    char body[256];
    snprintf(body, sizeof body, "{\"external_id\":\"%s\",\"amount_cents\":%lld}", ext,
             (long long)cents);
    json_t *b = J(body);
    siyu_err e;
    siyu_err_init(&e);
    store_begin(f->d.conn, true, &e);
    int rc = orders_refund(&f->d, order_id, b, NULL, &e);
    if (rc != 201) fprintf(stderr, "refund %s: %s\n", ext, e.message);
    CHECK_INT_EQ(rc, 201);
    store_commit(f->d.conn, &e);
    json_decref(b);
    siyu_err_clear(&e);
}

static int64_t new_member(fixture *f, const char *phone)
{
    char body[200];
    snprintf(body, sizeof body, "{\"phone\":\"%s\",\"store_id\":1}", phone);
    siyu_err e;
    siyu_err_init(&e);
    json_t *o = NULL;
    CHECK_INT_EQ(call(f, members_create_or_match, body, &o, &e), 201);
    int64_t id = jint(o, "id");
    json_decref(o);
    return id;
}

static void earning(void)
{
    fixture f;
    fixture_open(&f);
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(call(&f, loyalty_settings_put,
                      "{\"points_expiry\":{\"mode\":\"never\"},\"max_points_per_day\":120}", NULL,
                      &e),
                 200);
    /* two rules: 1 point per yuan everywhere; 3 per yuan on wine capped at 50 an order */
    CHECK_INT_EQ(
        call(&f, loyalty_rules_create, "{\"name\":\"base\",\"points_per_yuan\":1}", NULL, &e), 201);
    CHECK_INT_EQ(call(&f, loyalty_rules_create,
                      "{\"name\":\"wine\",\"points_per_yuan\":3,\"categories\":[\"wine\"],"
                      "\"cap_per_order\":50}",
                      NULL, &e),
                 201);
    int64_t m = new_member(&f, "13800000001");
    /* ¥30 wine: 90 -> capped at 50 */
    order(&f, "e1", m, "2026-11-20T10:00:00+08:00", 3000, "wine");
    CHECK_INT_EQ(ledger_sum(&f, m), 50);
    /* ¥60 grocery the same day: 60; the day holds 110 */
    order(&f, "e2", m, "2026-11-20T11:00:00+08:00", 6000, "grocery");
    CHECK_INT_EQ(ledger_sum(&f, m), 110);
    /* ¥40 more that day: only 10 left under the daily cap of 120 */
    order(&f, "e3", m, "2026-11-20T23:59:00+08:00", 4000, "grocery");
    CHECK_INT_EQ(ledger_sum(&f, m), 120);
    /* the next local day starts afresh: ¥40 -> 40 */
    order(&f, "e4", m, "2026-11-21T00:01:00+08:00", 4000, "grocery");
    CHECK_INT_EQ(ledger_sum(&f, m), 160);
    /* ¥9.99 earns 9 (rounded down); refunds of ¥5.00 then ¥4.99 reverse
     * floor(9 × 500 / 999) = 4, then floor(9 × 999 / 999) - 4 = 5: all 9, never 10 */
    int64_t o5 = order(&f, "e5", m, "2026-11-21T10:00:00+08:00", 999, "grocery");
    CHECK_INT_EQ(ledger_sum(&f, m), 169);
    refund(&f, o5, "e5r1", 500);
    CHECK_INT_EQ(ledger_sum(&f, m), 165);
    refund(&f, o5, "e5r2", 499);
    CHECK_INT_EQ(ledger_sum(&f, m), 160);

    /* a merge carries the ledger: the survivor holds both sums */
    int64_t m2 = new_member(&f, "13800000002");
    order(&f, "e6", m2, "2026-11-21T10:00:00+08:00", 7000, "grocery");
    CHECK_INT_EQ(ledger_sum(&f, m2), 70);
    char body[64];
    snprintf(body, sizeof body, "{\"from_member_id\":%lld}", (long long)m2);
    json_t *b = J(body);
    store_begin(f.d.conn, true, &e);
    CHECK_INT_EQ(members_merge(&f.d, m, b, NULL, &e), 200);
    store_commit(f.d.conn, &e);
    json_decref(b);
    CHECK_INT_EQ(ledger_sum(&f, m), 230);

    /* the checker finds nothing wrong */
    json_t *v = NULL;
    store_begin(f.d.conn, false, &e);
    CHECK_INT_EQ(loyalty_check(f.d.conn, f.d.now, 10, &v, &e), 0);
    store_rollback(f.d.conn);
    json_decref(v);
    siyu_err_clear(&e);
    fixture_close(&f);
}

static int tiers_get(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    (void)body;
    return loyalty_tiers_get(d, out, e);
}

static void config_errors(void)
{
    fixture f;
    fixture_open(&f);
    siyu_err e;
    siyu_err_init(&e);
    static const struct {
        body_fn fn;
        const char *body, *field;
    } bad[] = {
        {loyalty_tiers_put, "{\"tiers\":[]}", "tiers"},
        {loyalty_tiers_put,
         "{\"tiers\":[{\"code\":\"a\",\"name\":\"A\",\"qualify\":{\"metric\":\"net_spend\",\"min\":"
         "1}}]}",
         "tiers[0].qualify"},
        {loyalty_tiers_put,
         "{\"tiers\":[{\"code\":\"a\",\"name\":\"A\"},{\"code\":\"a\",\"name\":\"B\","
         "\"qualify\":{\"metric\":\"net_spend\",\"min\":1}}]}",
         "tiers[1].code"},
        {loyalty_tiers_put,
         "{\"tiers\":[{\"code\":\"a\",\"name\":\"A\"},{\"code\":\"b\",\"name\":\"B\","
         "\"qualify\":{\"metric\":\"net_spend\",\"min\":500}},{\"code\":\"c\",\"name\":\"C\","
         "\"qualify\":{\"metric\":\"net_spend\",\"min\":400}}]}",
         "tiers[2].qualify.min"},
        {loyalty_tiers_put, "{\"tiers\":[{\"code\":\"a\",\"name\":\"A\",\"multiplier\":1.234}]}",
         "tiers[0].multiplier"},
        {loyalty_tiers_put,
         "{\"tiers\":[{\"code\":\"a\",\"name\":\"A\"}],\"review\":{\"schedule\":\"weekly\"}}",
         "review.schedule"},
        {loyalty_rules_create, "{\"name\":\"x\"}", "points_per_yuan"},
        {loyalty_rules_create, "{\"name\":\"x\",\"points_per_yuan\":1,\"channels\":[\"tv\"]}",
         "channels"},
        {loyalty_rules_create, "{\"name\":\"x\",\"points_per_yuan\":1,\"store_ids\":[99]}",
         "store_ids"},
        {loyalty_rules_create, "{\"name\":\"x\",\"points_per_yuan\":1,\"colour\":1}", "colour"},
        {loyalty_settings_put, "{\"pending_days\":-1}", "pending_days"},
        {loyalty_settings_put, "{\"referral\":{\"referrer_points\":\"many\"}}",
         "referral.referrer_points"},
        {coupon_templates_create, "{\"name\":\"x\",\"kind\":\"cash_off\",\"valid_days\":3}",
         "value_cents"},
        {coupon_templates_create, "{\"name\":\"x\",\"kind\":\"gift\",\"valid_days\":3}",
         "gift_sku"},
        {coupon_templates_create, "{\"name\":\"x\",\"kind\":\"cash_off\",\"value_cents\":100}",
         "valid_days"},
        {coupon_templates_create,
         "{\"name\":\"x\",\"kind\":\"cash_off\",\"value_cents\":100,\"valid_days\":3,\"stock\":-1}",
         "stock"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = call(&f, bad[i].fn, bad[i].body, NULL, &e);
        CHECK_INT_EQ(rc, -1);
        if (strcmp(e.field, bad[i].field) != 0) fprintf(stderr, "case %zu: %s\n", i, e.message);
        CHECK_STR_EQ(e.field, bad[i].field);
        siyu_err_clear(&e);
    }
    /* nothing was written by any of them */
    json_t *o = NULL;
    CHECK_INT_EQ(call(&f, tiers_get, "{}", &o, &e), 200);
    CHECK_INT_EQ((int64_t)json_array_size(json_object_get(o, "tiers")), 0);
    json_decref(o);
    fixture_close(&f);
}

/* Time passing with nobody touching the member: the sweep expires points and coupons
 * and runs the review. */
static void sweep(void)
{
    fixture f;
    fixture_open(&f); /* now: 2026-11-22 12:00 */
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(call(&f, loyalty_settings_put, "{\"points_expiry\":{\"mode\":\"months\",\"months\":1}}",
                      NULL, &e),
                 200);
    CHECK_INT_EQ(call(&f, loyalty_rules_create, "{\"name\":\"base\",\"points_per_yuan\":1}", NULL, &e), 201);
    CHECK_INT_EQ(call(&f, loyalty_tiers_put,
                      "{\"tiers\":[{\"code\":\"n\",\"name\":\"N\"},{\"code\":\"s\",\"name\":\"S\","
                      "\"qualify\":{\"metric\":\"net_spend\",\"min\":10000}}],"
                      "\"review\":{\"schedule\":\"calendar_year\"}}",
                      NULL, &e),
                 200);
    CHECK_INT_EQ(call(&f, coupon_templates_create,
                      "{\"name\":\"t\",\"kind\":\"cash_off\",\"value_cents\":100,\"valid_days\":2}",
                      NULL, &e),
                 201);
    int64_t m = new_member(&f, "13800000009");
    /* ¥150 on 2026-11-22: 150 points expiring at the end of 2026-12-22; tier S at once,
     * reviewed on 2027-01-01 */
    order(&f, "s1", m, "2026-11-22T10:00:00+08:00", 15000, "grocery");
    char body[96];
    snprintf(body, sizeof body, "{\"template_id\":1,\"member_id\":%lld}", (long long)m);
    CHECK_INT_EQ(call(&f, coupons_issue, body, NULL, &e), 201);
    CHECK_INT_EQ(ledger_sum(&f, m), 150);
    char tier[32];
    int64_t pts;
    store_begin(f.d.conn, false, &e);
    loyalty_member_state(f.d.conn, m, tier, sizeof tier, &pts);
    store_rollback(f.d.conn);
    CHECK_STR_EQ(tier, "s");

    /* 2026-11-25: the coupon (valid to the end of 11-24) expires; the points do not */
    f.d.now = T("2026-11-25T09:00:00+08:00");
    json_t *o = NULL;
    store_begin(f.d.conn, true, &e);
    CHECK_INT_EQ(loyalty_sweep(&f.d, 0, &o, &e), 0);
    store_commit(f.d.conn, &e);
    CHECK_INT_EQ(jint(o, "coupons_expired"), 1);
    CHECK_INT_EQ(jint(o, "points_expired"), 0);
    CHECK_INT_EQ(jint(o, "reviews"), 0);
    json_decref(o);
    /* 2027-01-02: the points expired on 12-23; the review on 01-01 finds ¥150 in the
     * year before, still S */
    f.d.now = T("2027-01-02T09:00:00+08:00");
    store_begin(f.d.conn, true, &e);
    CHECK_INT_EQ(loyalty_sweep(&f.d, 0, &o, &e), 0);
    store_commit(f.d.conn, &e);
    CHECK_INT_EQ(jint(o, "points_expired"), 150);
    CHECK_INT_EQ(jint(o, "reviews"), 1);
    json_decref(o);
    CHECK_INT_EQ(ledger_sum(&f, m), 0);
    /* 2028-01-02: the 2028-01-01 review sees no spend in 2027: back to N */
    f.d.now = T("2028-01-02T09:00:00+08:00");
    store_begin(f.d.conn, true, &e);
    CHECK_INT_EQ(loyalty_sweep(&f.d, 0, &o, &e), 0);
    store_commit(f.d.conn, &e);
    json_decref(o);
    store_begin(f.d.conn, false, &e);
    loyalty_member_state(f.d.conn, m, tier, sizeof tier, &pts);
    json_t *v = NULL;
    CHECK_INT_EQ(loyalty_check(f.d.conn, f.d.now, 10, &v, &e), 0);
    store_rollback(f.d.conn);
    json_decref(v);
    CHECK_STR_EQ(tier, "n");
    siyu_err_clear(&e);
    fixture_close(&f);
}

int main(void)
{
    loyalty_install();
    months();
    earning();
    config_errors();
    sweep();
    return CHECK_DONE();
}
