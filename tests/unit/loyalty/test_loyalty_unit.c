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
    CHECK_INT_EQ(call(&f, loyalty_settings_put,
                      "{\"points_expiry\":{\"mode\":\"months\",\"months\":1}}", NULL, &e),
                 200);
    CHECK_INT_EQ(
        call(&f, loyalty_rules_create, "{\"name\":\"base\",\"points_per_yuan\":1}", NULL, &e), 201);
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

/* ---- the order path's shortcuts against an oracle ----
 *
 * An order consults the account's marks instead of the ledger (daily cap) and the
 * orders (tier qualification). Here a seeded stream of orders — dates shuffled, so
 * many are back-filled — refunds and merges runs against the real store, while an
 * oracle recomputes every order's earned points and every upgrade from nothing but
 * its own list of orders. They must agree entry by entry, and the checker (which
 * also re-derives the marks) must find nothing. */

#define OR_MEMBERS 12
#define OR_ORDERS 1400
#define OR_CAP 300

typedef struct or_order {
    int64_t id, at, total, refunded;
    int64_t pts; /* what the oracle says it earned */
} or_order;

typedef struct or_member {
    int64_t id;
    int tier;
    bool merged_away, merged;
    or_order *orders[OR_ORDERS];
    int n;
} or_member;

static uint64_t rng = 0x5eed1234abcdULL;
static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng % n;
}

/* The ladder is judged by net spend (¥20 000, ¥40 000 over 12 months) or, in the second
 * run, by points earned (6 000, 10 500): the bound the account keeps is in either unit. */
static bool or_by_points;
static int64_t or_min[3];
static const int64_t or_mult[3] = {100, 150, 200};

static int or_qualify(const or_member *m, int64_t t)
{
    int64_t from = loy_add_months(t, -12), sum = 0;
    for (int i = 0; i < m->n; i++)
        if (m->orders[i]->at > from && m->orders[i]->at <= t)
            sum += or_by_points ? m->orders[i]->pts : m->orders[i]->total - m->orders[i]->refunded;
    return sum >= or_min[2] ? 2 : sum >= or_min[1] ? 1 : 0;
}

static int64_t or_earned_on(const or_member *m, int32_t day)
{
    int64_t sum = 0;
    for (int i = 0; i < m->n; i++)
        if (time_local_day(m->orders[i]->at) == day) sum += m->orders[i]->pts;
    return sum;
}

static void against_oracle(bool by_points)
{
    or_by_points = by_points;
    or_min[0] = 0;
    or_min[1] = by_points ? 6000 : 2000000;
    or_min[2] = by_points ? 10500 : 4000000;
    fixture f;
    fixture_open(&f);
    siyu_err e;
    siyu_err_init(&e);
    f.d.now = T("2026-11-01T12:00:00+08:00");
    char body[600];
    const char *metric = by_points ? "points_earned" : "net_spend";
    snprintf(body, sizeof body,
             "{\"points_expiry\":{\"mode\":\"never\"},\"max_points_per_day\":%d}", OR_CAP);
    CHECK_INT_EQ(call(&f, loyalty_settings_put, body, NULL, &e), 200);
    snprintf(body, sizeof body,
             "{\"tiers\":[{\"code\":\"n\",\"name\":\"N\"},"
             "{\"code\":\"s\",\"name\":\"S\",\"multiplier\":1.5,"
             "\"qualify\":{\"metric\":\"%s\",\"min\":%lld}},"
             "{\"code\":\"g\",\"name\":\"G\",\"multiplier\":2,"
             "\"qualify\":{\"metric\":\"%s\",\"min\":%lld}}],"
             "\"review\":{\"schedule\":\"none\"}}",
             metric, (long long)or_min[1], metric, (long long)or_min[2]);
    CHECK_INT_EQ(call(&f, loyalty_tiers_put, body, NULL, &e), 200);
    CHECK_INT_EQ(
        call(&f, loyalty_rules_create, "{\"name\":\"base\",\"points_per_yuan\":1}", NULL, &e), 201);

    static or_member mem[OR_MEMBERS];
    static or_order orders[OR_ORDERS];
    memset(mem, 0, sizeof mem);
    for (int i = 0; i < OR_MEMBERS; i++) {
        char phone[16];
        snprintf(phone, sizeof phone, "139000000%02d", i);
        mem[i].id = new_member(&f, phone);
    }
    int64_t day0 = T("2024-06-01T00:00:00+08:00");
    int n_orders = 0, n_refunds = 0, upgrades = 0, backfilled_upgrades = 0;
    for (int op = 0; n_orders < OR_ORDERS; op++) {
        int who;
        do
            who = (int)rnd(OR_MEMBERS);
        while (mem[who].merged_away);
        or_member *m = &mem[who];
        if (op == 500 || op == 1000) {
            /* merge another live member into this one */
            int from;
            do
                from = (int)rnd(OR_MEMBERS);
            while (from == who || mem[from].merged_away);
            snprintf(body, sizeof body, "{\"from_member_id\":%lld}", (long long)mem[from].id);
            json_t *b = J(body);
            store_begin(f.d.conn, true, &e);
            CHECK_INT_EQ(members_merge(&f.d, m->id, b, NULL, &e), 200);
            store_commit(f.d.conn, &e);
            json_decref(b);
            for (int i = 0; i < mem[from].n; i++)
                m->orders[m->n++] = mem[from].orders[i];
            if (mem[from].tier > m->tier) m->tier = mem[from].tier;
            int q = or_qualify(m, f.d.now);
            if (q > m->tier) m->tier = q;
            mem[from].merged_away = true;
            m->merged = true;
            continue;
        }
        /* refunds reverse earned points in proportion; the points oracle leaves them out */
        if (!by_points && m->n && rnd(10) == 0) {
            /* refund part or all of one of its orders */
            or_order *o = m->orders[rnd((uint64_t)m->n)];
            if (o->refunded == o->total) continue;
            int64_t amount = 1 + (int64_t)rnd((uint64_t)(o->total - o->refunded));
            char ext[32];
            snprintf(ext, sizeof ext, "or-r%d", n_refunds++);
            refund(&f, o->id, ext, amount);
            o->refunded += amount;
            continue;
        }
        /* an order on one of ~210 days (several per day happen), any time of day */
        or_order *o = &orders[n_orders];
        o->at = day0 + 4 * 86400 * (int64_t)rnd(210) + (int64_t)rnd(86400);
        o->total = 5000 + (int64_t)rnd(145000);
        char ext[32], at[40];
        snprintf(ext, sizeof ext, "or-%d", n_orders++);
        time_format_rfc3339(o->at, at, sizeof at);
        o->id = order(&f, ext, m->id, at, o->total, "x");
        /* the oracle: points at the tier held before the order, capped per local day */
        int64_t pts = o->total * or_mult[m->tier] / 10000;
        int64_t room = OR_CAP - or_earned_on(m, time_local_day(o->at));
        o->pts = pts < room ? pts : room > 0 ? room : 0;
        m->orders[m->n++] = o;
        if (m->tier < 2) {
            int q = or_qualify(m, o->at);
            int64_t latest = 0;
            for (int i = 0; i < m->n; i++)
                if (m->orders[i]->at > latest) latest = m->orders[i]->at;
            if (q > m->tier) {
                m->tier = q, upgrades++;
            } else if (o->at < f.d.now - 86400 && latest > o->at) {
                /* a back-filled order may complete a window that ends later */
                int qn = or_qualify(m, f.d.now);
                if (qn > m->tier) m->tier = qn, upgrades++, backfilled_upgrades++;
            }
        }
    }
    /* the stream exercised what it is meant to */
    fprintf(stderr, "oracle (%s): %d upgrades, %d after a back-filled order, %d refunds\n", metric,
            upgrades, backfilled_upgrades, n_refunds);
    CHECK(upgrades >= OR_MEMBERS);
    CHECK(by_points || backfilled_upgrades >= 1); /* rare with points: tiers come early */
    CHECK(by_points || n_refunds >= 50);

    store_begin(f.d.conn, false, &e);
    int capped = 0;
    for (int i = 0; i < n_orders; i++) {
        const or_order *o = &orders[i];
        int owner = -1;
        for (int k = 0; k < OR_MEMBERS && owner < 0; k++)
            for (int j = 0; j < mem[k].n && owner < 0; j++)
                if (mem[k].orders[j] == o && !mem[k].merged_away) owner = k;
        CHECK(owner >= 0);
        store_stmt *s = store_q(f.d.conn, Q_LEDGER_EARN_OF_ORDER);
        store_bind_int(s, 1, o->id);
        store_bind_int(s, 2, mem[owner].id);
        int64_t got = store_step(s) == STORE_ROW ? store_col_int(s, 2) : 0;
        store_reset(s);
        if (got != o->pts)
            fprintf(stderr, "order %d earned %lld, oracle %lld\n", i, (long long)got,
                    (long long)o->pts);
        CHECK_INT_EQ(got, o->pts);
        capped += o->pts < o->total * 100 / 10000;
    }
    CHECK(capped >= 100);
    static const char *const codes[] = {"n", "s", "g"};
    for (int k = 0; k < OR_MEMBERS; k++) {
        if (mem[k].merged_away) continue;
        char tier[32];
        int64_t pts;
        loyalty_member_state(f.d.conn, mem[k].id, tier, sizeof tier, &pts);
        if (strcmp(tier, codes[mem[k].tier]) != 0)
            fprintf(stderr, "member %lld holds %s, oracle %s\n", (long long)mem[k].id, tier,
                    codes[mem[k].tier]);
        CHECK_STR_EQ(tier, codes[mem[k].tier]);
    }
    json_t *v = NULL;
    int bad = loyalty_check(f.d.conn, f.d.now, 10, &v, &e);
    if (bad) {
        char *dump = json_dumps(v, JSON_INDENT(1));
        fprintf(stderr, "%s\n", dump);
        free(dump);
    }
    CHECK_INT_EQ(bad, 0);
    json_decref(v);
    store_rollback(f.d.conn);
    siyu_err_clear(&e);
    fixture_close(&f);
}

/* Issues template tid to m at instant `at`; the status, and the journey outcome. */
static int issue_at(fixture *f, int64_t tid, int64_t m, const char *at, const char **outcome)
{
    f->d.now = T(at);
    char body[96];
    snprintf(body, sizeof body, "{\"template_id\":%lld,\"member_id\":%lld}", (long long)tid,
             (long long)m);
    siyu_err e;
    siyu_err_init(&e);
    int rc = call(f, coupons_issue, body, NULL, &e);
    static char last[64];
    snprintf(last, sizeof last, "%s", coupons_issue_outcome(rc, &e));
    if (outcome) *outcome = last;
    if (rc < 0) CHECK_STR_EQ(e.field, "member_id");
    siyu_err_clear(&e);
    return rc;
}

/* Per-member limits per period: a local calendar day, month or year, or the member's
 * lifetime; the boundaries are local midnights (+08:00); `siyu check` finds a member
 * over a limit. */
static void coupon_periods(void)
{
    fixture f;
    fixture_open(&f);
    siyu_err e;
    siyu_err_init(&e);
    static const char *const tpl[] = {
        "{\"name\":\"day\",\"kind\":\"cash_off\",\"value_cents\":100,\"valid_days\":30,"
        "\"per_member_limit\":2,\"per_member_period\":\"day\"}",
        "{\"name\":\"month\",\"kind\":\"cash_off\",\"value_cents\":100,\"valid_days\":30,"
        "\"per_member_limit\":1,\"per_member_period\":\"month\"}",
        "{\"name\":\"year\",\"kind\":\"cash_off\",\"value_cents\":100,\"valid_days\":30,"
        "\"per_member_limit\":1,\"per_member_period\":\"year\"}",
        "{\"name\":\"life\",\"kind\":\"cash_off\",\"value_cents\":100,\"valid_days\":30,"
        "\"per_member_limit\":1}",
    };
    for (int i = 0; i < 4; i++)
        CHECK_INT_EQ(call(&f, coupon_templates_create, tpl[i], NULL, &e), 201);
    int64_t m = new_member(&f, "13800000021");
    const char *why;
    /* day: two on 11-22, a third refused, the next local day (00:00 +08:00) fine */
    CHECK_INT_EQ(issue_at(&f, 1, m, "2026-11-22T09:00:00+08:00", &why), 201);
    CHECK_STR_EQ(why, "coupon_issued");
    CHECK_INT_EQ(issue_at(&f, 1, m, "2026-11-22T12:00:00+08:00", NULL), 201);
    CHECK_INT_EQ(issue_at(&f, 1, m, "2026-11-22T23:59:59+08:00", &why), -1);
    CHECK_STR_EQ(why, "coupon_failed_per_member_limit");
    CHECK_INT_EQ(issue_at(&f, 1, m, "2026-11-23T00:00:00+08:00", NULL), 201);
    /* month: one in November, the next on 12-01, not again until January */
    CHECK_INT_EQ(issue_at(&f, 2, m, "2026-11-02T10:00:00+08:00", NULL), 201);
    CHECK_INT_EQ(issue_at(&f, 2, m, "2026-11-30T23:59:59+08:00", &why), -1);
    CHECK_STR_EQ(why, "coupon_failed_per_member_limit");
    CHECK_INT_EQ(issue_at(&f, 2, m, "2026-12-01T00:00:00+08:00", NULL), 201);
    CHECK_INT_EQ(issue_at(&f, 2, m, "2026-12-31T23:00:00+08:00", NULL), -1);
    CHECK_INT_EQ(issue_at(&f, 2, m, "2027-01-01T00:00:00+08:00", NULL), 201);
    /* year */
    CHECK_INT_EQ(issue_at(&f, 3, m, "2026-03-01T10:00:00+08:00", NULL), 201);
    CHECK_INT_EQ(issue_at(&f, 3, m, "2026-12-31T23:59:59+08:00", NULL), -1);
    CHECK_INT_EQ(issue_at(&f, 3, m, "2027-01-01T00:00:01+08:00", NULL), 201);
    /* lifetime: one, ever */
    CHECK_INT_EQ(issue_at(&f, 4, m, "2026-03-01T10:00:00+08:00", NULL), 201);
    CHECK_INT_EQ(issue_at(&f, 4, m, "2028-03-01T10:00:00+08:00", &why), -1);
    CHECK_STR_EQ(why, "coupon_failed_per_member_limit");
    /* other refusals keep their own reasons */
    CHECK_INT_EQ(call(&f, coupon_templates_create,
                      "{\"name\":\"one\",\"kind\":\"cash_off\",\"value_cents\":100,"
                      "\"valid_days\":30,\"stock\":1}",
                      NULL, &e),
                 201);
    int64_t m2 = new_member(&f, "13800000022");
    CHECK_INT_EQ(issue_at(&f, 5, m, "2028-03-01T10:00:00+08:00", NULL), 201);
    f.d.now = T("2028-03-01T10:00:00+08:00");
    char body[96];
    snprintf(body, sizeof body, "{\"template_id\":5,\"member_id\":%lld}", (long long)m2);
    int rc = call(&f, coupons_issue, body, NULL, &e);
    CHECK_INT_EQ(rc, -1);
    CHECK_STR_EQ(coupons_issue_outcome(rc, &e), "coupon_failed_out_of_stock");
    siyu_err_clear(&e);
    /* configuration errors name the field */
    CHECK_INT_EQ(call(&f, coupon_templates_create,
                      "{\"name\":\"w\",\"kind\":\"cash_off\",\"value_cents\":100,\"valid_days\":3,"
                      "\"per_member_limit\":1,\"per_member_period\":\"week\"}",
                      NULL, &e),
                 -1);
    CHECK_STR_EQ(e.field, "per_member_period");
    CHECK_INT_EQ(call(&f, coupon_templates_create,
                      "{\"name\":\"w\",\"kind\":\"cash_off\",\"value_cents\":100,\"valid_days\":3,"
                      "\"per_member_period\":\"day\"}",
                      NULL, &e),
                 -1);
    CHECK_STR_EQ(e.field, "per_member_period");
    siyu_err_clear(&e);
    /* the checker: clean, then a second November coupon of the monthly template written
     * behind the domain's back is found */
    json_t *v = NULL;
    store_begin(f.d.conn, false, &e);
    CHECK_INT_EQ(loyalty_check(f.d.conn, f.d.now, 10, &v, &e), 0);
    store_rollback(f.d.conn);
    json_decref(v);
    v = NULL;
    CHECK_INT_EQ(fixture_exec(&f, "INSERT INTO coupon_events(coupon_id, at, kind, member_id)"
                                  " SELECT id, issued_at + 3600, 'issued', member_id FROM coupons"
                                  " WHERE template_id = 2 ORDER BY id LIMIT 1"),
                 0);
    store_begin(f.d.conn, false, &e);
    CHECK_INT_EQ(loyalty_check(f.d.conn, f.d.now, 10, &v, &e), 1);
    store_rollback(f.d.conn);
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(v, 0), "check")), "coupon_limit");
    json_decref(v);
    siyu_err_clear(&e);
    fixture_close(&f);
}

/* A merged-away member with orders but no loyalty account (its history predates the
 * programme) still hands its orders to the survivor: the survivor's marks and tier are
 * re-derived from the combined orders, and the checker agrees. */
static void merge_without_account(void)
{
    fixture f;
    fixture_open(&f);
    siyu_err e;
    siyu_err_init(&e);
    int64_t b = new_member(&f, "13800000012");
    order(&f, "h1", b, "2026-11-01T10:00:00+08:00", 70000, "grocery");
    CHECK_INT_EQ(call(&f, loyalty_tiers_put,
                      "{\"tiers\":[{\"code\":\"n\",\"name\":\"N\"},{\"code\":\"s\",\"name\":\"S\","
                      "\"qualify\":{\"metric\":\"net_spend\",\"min\":100000}}],"
                      "\"review\":{\"schedule\":\"none\"}}",
                      NULL, &e),
                 200);
    int64_t a = new_member(&f, "13800000011");
    order(&f, "h2", a, "2026-11-20T10:00:00+08:00", 50000, "grocery");
    char body[64];
    snprintf(body, sizeof body, "{\"from_member_id\":%lld}", (long long)b);
    json_t *jb = J(body);
    store_begin(f.d.conn, true, &e);
    CHECK_INT_EQ(members_merge(&f.d, a, jb, NULL, &e), 200);
    store_commit(f.d.conn, &e);
    json_decref(jb);
    /* ¥700 + ¥500 of net spend qualifies the survivor for S */
    store_stmt *s = store_q(f.d.conn, Q_LACCOUNT_GET);
    store_bind_int(s, 1, a);
    CHECK_INT_EQ(store_step(s), STORE_ROW);
    CHECK_STR_EQ(store_col_null(s, 1) ? "" : store_col_text(s, 1), "s");
    store_reset(s);
    json_t *v = NULL;
    store_begin(f.d.conn, false, &e);
    CHECK_INT_EQ(loyalty_check(f.d.conn, f.d.now, 10, &v, &e), 0);
    store_rollback(f.d.conn);
    json_decref(v);
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
    coupon_periods();
    merge_without_account();
    against_oracle(false);
    against_oracle(true);
    return CHECK_DONE();
}
