/* test_loyalty.c — the loyalty engine against the real server.
 *
 *  1. A member's year, worked by hand (see the comments beside each step): earn
 *     rules with a category rule and a birthday multiplier, a tier multiplier, points
 *     spent on an order first-expiring-first, a coupon, partial and full refunds,
 *     expiry six months after earning, an upgrade, a review that finds the member no
 *     longer qualifying, the grace period and the downgrade.
 *  2. Coupons: 64 concurrent orders redeeming one coupon — exactly one succeeds;
 *     stock; per-member limit; forwarding to a new phone creates a prospect whose
 *     first order pays the referrer, and whose full refund takes it back; a full
 *     refund restores the coupon.
 *  3. 64 concurrent redemptions against one balance: never below zero.
 *  4. Benefits for the till, bulk credits, bad input writing nothing.
 *  5. SIGKILL in a stream of orders, redemptions and refunds; restart; siyu check is
 *     clean and every acknowledged operation is there exactly once.
 * The server's clock is pinned (SIYU_NOW) so the year can be replayed.
 * Run: test_loyalty PATH_TO_SIYU */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "harness.h"

#define NOW "2026-03-01T12:00:00+08:00"

static int fd;
static char buf[1 << 16];

/* Sends and parses; returns the status, the answer in *out (may be NULL). */
static int call(const char *method, const char *path, const char *idem, json_t **out,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int call(const char *method, const char *path, const char *idem, json_t **out,
                const char *fmt, ...)
{
    char body[6000] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(body, sizeof body, fmt, ap);
        va_end(ap);
    }
    char hdr[256] = "";
    if (idem) snprintf(hdr, sizeof hdr, "Idempotency-Key: %s\r\n", idem);
    int st = request_hdr(fd, token, method, path, hdr, fmt ? body : NULL, buf, sizeof buf);
    if (out) *out = json_loads(buf, 0, NULL);
    if (st >= 400 && !out) fprintf(stderr, "%s %s -> %d %s\n", method, path, st, buf);
    return st;
}

static int64_t jint(json_t *o, const char *path)
{
    /* "a.b.c" or "a.0.b" */
    char p[256];
    snprintf(p, sizeof p, "%s", path);
    json_t *cur = o;
    for (char *save = NULL, *t = strtok_r(p, ".", &save); t && cur; t = strtok_r(NULL, ".", &save))
        cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(t)) : json_object_get(cur, t);
    if (!json_is_integer(cur)) {
        fprintf(stderr, "no integer at %s in %s\n", path, json_dumps(o, JSON_COMPACT));
        return INT64_MIN;
    }
    return json_integer_value(cur);
}

static const char *jstr(json_t *o, const char *path)
{
    char p[256];
    snprintf(p, sizeof p, "%s", path);
    json_t *cur = o;
    for (char *save = NULL, *t = strtok_r(p, ".", &save); t && cur; t = strtok_r(NULL, ".", &save))
        cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(t)) : json_object_get(cur, t);
    return json_is_string(cur) ? json_string_value(cur) : "(none)";
}

static int64_t order(const char *ext, int64_t member, const char *at, const char *items,
                     int64_t total, int64_t discount, int64_t points, const char *coupon, int want)
{
    json_t *o;
    char extra[128] = "";
    if (coupon) snprintf(extra, sizeof extra, ",\"coupon_code\":\"%s\"", coupon);
    int st = call("POST", "/api/v1/orders", NULL, &o,
                  "{\"channel\":\"store\",\"external_id\":\"%s\",\"store_id\":1,\"member_id\":%lld,"
                  "\"placed_at\":\"%s\",\"total_cents\":%lld,\"discount_cents\":%lld,"
                  "\"points_used\":%lld,\"items\":%s%s}",
                  ext, (long long)member, at, (long long)total, (long long)discount,
                  (long long)points, items, extra);
    if (st != want) fprintf(stderr, "order %s: %d %s\n", ext, st, buf);
    CHECK_INT_EQ(st, want);
    int64_t id = st < 300 ? jint(o, "id") : 0;
    json_decref(o);
    return id;
}

static void refund(int64_t order_id, const char *ext, int64_t amount, const char *at)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/orders/%lld/refunds", (long long)order_id);
    CHECK_INT_EQ(call("POST", path, NULL, NULL,
                      "{\"external_id\":\"%s\",\"amount_cents\":%lld,\"at\":\"%s\"}", ext,
                      (long long)amount, at),
                 201);
}

static json_t *points(int64_t member)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/members/%lld/points?limit=100", (long long)member);
    json_t *o;
    CHECK_INT_EQ(call("GET", path, NULL, &o, NULL), 200);
    return o;
}

static int64_t member(const char *phone, const char *joined, const char *birthday)
{
    json_t *o;
    CHECK_INT_EQ(call("POST", "/api/v1/members", NULL, &o,
                      "{\"phone\":\"%s\",\"store_id\":1,\"joined_at\":\"%s\",\"birthday\":\"%s\"}",
                      phone, joined, birthday),
                 201);
    int64_t id = jint(o, "id");
    json_decref(o);
    return id;
}

/* The sum of a member's ledger read straight from the store (independent of the API). */
static int64_t ledger_sum(int64_t m)
{
    long long v = db_int("SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE member_id = ?1",
                         m, 0); /* on either store (harness.h) */
    CHECK(v >= 0);
    return v;
}

static int run_check(void)
{
    char cmd[512], out[4096];
    snprintf(cmd, sizeof cmd, "%s check --db %s 2>&1", siyu, db);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int st = pclose(p);
    if (st) fprintf(stderr, "siyu check: %s\n", out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---------------- 1. a member's year, by hand ---------------- */

static void worked_year(void)
{
    CHECK_INT_EQ(call("PUT", "/api/v1/loyalty/settings", NULL, NULL,
                      "{\"points_expiry\":{\"mode\":\"months\",\"months\":6},\"pending_days\":7,"
                      "\"redeem_points_per_yuan\":100,\"referral\":{\"referrer_points\":200}}"),
                 200);
    CHECK_INT_EQ(
        call("PUT", "/api/v1/loyalty/tiers", NULL, NULL,
             "{\"tiers\":[{\"code\":\"normal\",\"name\":\"普通\"},"
             "{\"code\":\"silver\",\"name\":\"银卡\",\"qualify\":{\"metric\":\"net_spend\","
             "\"min\":100000},\"multiplier\":1.5,\"discount_pct\":5,\"benefits\":[\"生日礼\"]},"
             "{\"code\":\"gold\",\"name\":\"金卡\",\"qualify\":{\"metric\":\"net_spend\","
             "\"min\":300000},\"multiplier\":2,\"discount_pct\":10}],"
             "\"review\":{\"schedule\":\"anniversary\",\"grace_days\":30}}"),
        200);
    CHECK_INT_EQ(call("POST", "/api/v1/loyalty/earn-rules", NULL, NULL,
                      "{\"name\":\"基础积分\",\"points_per_yuan\":1}"),
                 201);
    CHECK_INT_EQ(call("POST", "/api/v1/loyalty/earn-rules", NULL, NULL,
                      "{\"name\":\"生鲜双倍\",\"points_per_yuan\":2,\"categories\":[\"fresh\"],"
                      "\"birthday_multiplier\":2}"),
                 201);
    json_t *o;
    CHECK_INT_EQ(call("POST", "/api/v1/coupon-templates", NULL, &o,
                      "{\"name\":\"满200减50\",\"kind\":\"cash_off\",\"value_cents\":5000,"
                      "\"min_spend_cents\":20000,\"valid_days\":365,\"stock\":10,"
                      "\"per_member_limit\":1}"),
                 201);
    int64_t tpl = jint(o, "id");
    json_decref(o);

    /* joined 2025-01-10 10:00, birthday in March */
    int64_t a = member("13900000001", "2025-01-10T10:00:00+08:00", "1990-03-15");
    char path[96];
    /* the coupon is issued "now" (2026-03-01) but redeemed on a 2025 order below: make it
     * valid from the start with a template of fixed dates instead */
    CHECK_INT_EQ(call("POST", "/api/v1/coupon-templates", NULL, &o,
                      "{\"name\":\"满200减50(2025)\",\"kind\":\"cash_off\",\"value_cents\":5000,"
                      "\"min_spend_cents\":20000,\"valid_from\":\"2025-01-01T00:00:00+08:00\","
                      "\"valid_to\":\"2026-12-31T00:00:00+08:00\",\"stock\":10}"),
                 201);
    int64_t tpl2025 = jint(o, "id");
    json_decref(o);
    CHECK_INT_EQ(call("POST", "/api/v1/coupons", NULL, &o,
                      "{\"template_id\":%lld,\"member_id\":%lld}", (long long)tpl2025,
                      (long long)a),
                 201);
    char code[32];
    snprintf(code, sizeof code, "%s", jstr(o, "code"));
    json_decref(o);

    /* 1. 2025-01-15 ¥600 grocery at 普通: 600 × 1 = 600 points, spendable 01-22,
     *    expiring at the end of 2025-07-15 */
    int64_t o1 =
        order("y1", a, "2025-01-15T10:00:00+08:00",
              "[{\"sku\":\"G\",\"category\":\"grocery\",\"qty\":1,\"unit_price_cents\":60000}]",
              60000, 0, 0, NULL, 201);
    /* 2. 2025-02-20 ¥500: 500 points (still 普通 when placed); net spend 110000 >= 100000
     *    -> 银卡 from this order */
    int64_t o2 =
        order("y2", a, "2025-02-20T10:00:00+08:00",
              "[{\"sku\":\"G\",\"category\":\"grocery\",\"qty\":1,\"unit_price_cents\":50000}]",
              50000, 0, 0, NULL, 201);
    /* 3. 2025-03-05 ¥200 fresh, paying 300 points (¥3) — taken from the 600 lot, which
     *    expires first. Earned on ¥197 paid: 197 × 2 (fresh) × 1.5 (银卡) × 2 (birthday
     *    month) = 1182 */
    int64_t o3 =
        order("y3", a, "2025-03-05T10:00:00+08:00",
              "[{\"sku\":\"F\",\"category\":\"fresh\",\"qty\":2,\"unit_price_cents\":10000}]",
              20000, 0, 300, NULL, 201);
    /* asking for more points than spendable is refused and writes nothing */
    order("y3x", a, "2025-03-06T10:00:00+08:00",
          "[{\"sku\":\"G\",\"category\":\"grocery\",\"qty\":1,\"unit_price_cents\":10000}]", 10000,
          0, 999999, NULL, 422);
    /* 4. 2025-04-10 ¥300 with the ¥50 coupon: paid ¥250 -> 250 × 1.5 = 375 */
    int64_t o4 =
        order("y4", a, "2025-04-10T10:00:00+08:00",
              "[{\"sku\":\"G\",\"category\":\"grocery\",\"qty\":1,\"unit_price_cents\":30000}]",
              25000, 5000, 0, code, 201);
    /* the same coupon again: refused */
    order("y4x", a, "2025-04-11T10:00:00+08:00",
          "[{\"sku\":\"G\",\"category\":\"grocery\",\"qty\":1,\"unit_price_cents\":30000}]", 25000,
          5000, 0, code, 422);
    /* 5. 2025-05-01 half of order 2 refunded: 500 × 25000/50000 = 250 points reversed */
    refund(o2, "y2r", 25000, "2025-05-01T10:00:00+08:00");
    /* 6. 2025-07-20 ¥100: the 600 lot (300 left) expired at 2025-07-16 00:00 -> -300;
     *    earns 100 × 1.5 = 150 */
    order("y6", a, "2025-07-20T10:00:00+08:00",
          "[{\"sku\":\"G\",\"category\":\"grocery\",\"qty\":1,\"unit_price_cents\":10000}]", 10000,
          0, 0, NULL, 201);
    /* 7. 2025-08-01 order 1 fully refunded: its 600 are reversed; its own lot is empty
     *    (spent and expired), so they come from the next to expire: the 250 left of
     *    order 2's lot, then 350 of order 3's 1182 */
    refund(o1, "y1r", 60000, "2025-08-01T10:00:00+08:00");
    json_t *p = points(a);
    /* on NOW (2026-03-01) every 2025 lot has expired; nothing pending */
    CHECK_INT_EQ(jint(p, "balance"), 0);
    json_decref(p);
    /* 8. 2026-02-15 ¥50. First the member's due work, as of the order:
     *    expiries: 832 left of order 3's lot (2025-09-06), 375 of order 4's (2025-10-11),
     *    150 of order 6's (2026-01-21);
     *    review on the anniversary 2026-01-10 10:00: net spend over the year before is
     *    25000 + 20000 + 25000 + 10000 = 80000 < 100000: grace until 2026-02-09 10:00;
     *    at the end of grace still 80000: 银卡 -> 普通.
     *    Then earns 50 × 1 = 50, pending until 02-22. */
    order("y8", a, "2026-02-15T10:00:00+08:00",
          "[{\"sku\":\"G\",\"category\":\"grocery\",\"qty\":1,\"unit_price_cents\":5000}]", 5000, 0,
          0, NULL, 201);

    p = points(a);
    CHECK_INT_EQ(jint(p, "balance"), 50);
    CHECK_INT_EQ(jint(p, "pending"), 0);
    CHECK_INT_EQ(jint(p, "cash_value_cents"), 50);
    CHECK_STR_EQ(jstr(p, "expiring.0.expires_at"), "2026-08-16T00:00:00+08:00");
    CHECK_INT_EQ(jint(p, "expiring.0.points"), 50);
    /* the ledger, newest first, entry by entry */
    static const struct {
        const char *kind;
        int64_t delta;
        const char *at;
    } want[] = {
        {"earn", 50, "2026-02-15T10:00:00+08:00"},
        {"expire", -150, "2026-01-21T00:00:00+08:00"},
        {"expire", -375, "2025-10-11T00:00:00+08:00"},
        {"expire", -832, "2025-09-06T00:00:00+08:00"},
        {"reverse", -600, "2025-08-01T10:00:00+08:00"},
        {"earn", 150, "2025-07-20T10:00:00+08:00"},
        {"expire", -300, "2025-07-16T00:00:00+08:00"},
        {"reverse", -250, "2025-05-01T10:00:00+08:00"},
        {"earn", 375, "2025-04-10T10:00:00+08:00"},
        {"earn", 1182, "2025-03-05T10:00:00+08:00"},
        {"redeem", -300, "2025-03-05T10:00:00+08:00"},
        {"earn", 500, "2025-02-20T10:00:00+08:00"},
        {"earn", 600, "2025-01-15T10:00:00+08:00"},
    };
    size_t nw = sizeof want / sizeof *want;
    json_t *items = json_object_get(json_object_get(p, "ledger"), "items");
    CHECK_INT_EQ((int64_t)json_array_size(items), (int64_t)nw);
    int64_t sum = 0;
    for (size_t i = 0; i < nw && i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        CHECK_STR_EQ(jstr(it, "kind"), want[i].kind);
        CHECK_INT_EQ(jint(it, "delta"), want[i].delta);
        CHECK_STR_EQ(jstr(it, "at"), want[i].at);
        sum += want[i].delta;
    }
    CHECK_INT_EQ(sum, 50);
    CHECK_INT_EQ(ledger_sum(a), 50);
    json_decref(p);
    (void)o3;
    (void)o4;
    (void)tpl;

    /* tier history and the 360 */
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)a);
    CHECK_INT_EQ(call("GET", path, NULL, &o, NULL), 200);
    CHECK_STR_EQ(jstr(o, "tier.code"), "normal");
    CHECK_STR_EQ(jstr(o, "tier_history.0.to"), "silver");
    CHECK_STR_EQ(jstr(o, "tier_history.0.reason"), "upgrade");
    CHECK_STR_EQ(jstr(o, "tier_history.0.at"), "2025-02-20T10:00:00+08:00");
    CHECK_INT_EQ(jint(o, "tier_history.0.order_id"), o2);
    CHECK_STR_EQ(jstr(o, "tier_history.1.to"), "normal");
    CHECK_STR_EQ(jstr(o, "tier_history.1.reason"), "downgrade");
    CHECK_STR_EQ(jstr(o, "tier_history.1.at"), "2026-02-09T10:00:00+08:00");
    CHECK_INT_EQ((int64_t)json_array_size(json_object_get(o, "tier_history")), 2);
    CHECK_STR_EQ(jstr(o, "coupons.0.state"), "redeemed");
    CHECK_INT_EQ(jint(o, "coupons.0.order_id"), o4);
    CHECK_STR_EQ(jstr(o, "coupons.0.history.1.kind"), "redeemed");
    CHECK_INT_EQ(jint(o, "points.balance"), 50);
    json_decref(o);
    CHECK_INT_EQ(run_check(), 0);

    /* a ¥1500 order makes g 银卡 at once; the tier leaderboard for February ranks 银卡
     * (g's ¥1500) above 普通 (a's ¥50) — tiers as the member index holds them now */
    int64_t g = member("13900000008", "2026-01-05T10:00:00+08:00", "1990-01-01");
    order("g1", g, "2026-02-20T10:00:00+08:00",
          "[{\"sku\":\"G\",\"category\":\"grocery\",\"qty\":1,\"unit_price_cents\":150000}]",
          150000, 0, 0, NULL, 201);
    CHECK_INT_EQ(call("GET", "/api/v1/reports/leaderboard?by=tier&from=2026-02-01&to=2026-02-28",
                      NULL, &o, NULL),
                 200);
    CHECK_STR_EQ(jstr(o, "items.0.tier"), "silver");
    CHECK_INT_EQ(jint(o, "items.0.net_sales_cents"), 150000);
    CHECK_STR_EQ(jstr(o, "items.1.tier"), "normal");
    CHECK_INT_EQ(jint(o, "items.1.net_sales_cents"), 5000);
    CHECK_INT_EQ(jint(o, "items.1.rank"), 2);
    json_decref(o);
}

/* ---------------- 2. coupons: concurrency, stock, limits, forwarding, referral ------ */

static char shared_code[32];
static int64_t shared_member;
static atomic_int wins, losses, others;

static void *redeem_client(void *arg)
{
    int i = (int)(intptr_t)arg;
    int c = conn_open();
    char b[4096], body[1024];
    snprintf(
        body, sizeof body,
        "{\"channel\":\"store\",\"external_id\":\"race%d\",\"store_id\":1,\"member_id\":%lld,"
        "\"placed_at\":\"" NOW "\",\"total_cents\":25000,\"discount_cents\":5000,"
        "\"coupon_code\":\"%s\",\"items\":[{\"sku\":\"G\",\"qty\":1,\"unit_price_cents\":30000}]}",
        i, (long long)shared_member, shared_code);
    int st = request(c, "POST", "/api/v1/orders", body, b, sizeof b);
    if (st == 201)
        atomic_fetch_add(&wins, 1);
    else if (st == 422)
        atomic_fetch_add(&losses, 1);
    else
        atomic_fetch_add(&others, 1);
    close(c);
    return NULL;
}

static void coupons(void)
{
    json_t *o;
    CHECK_INT_EQ(call("POST", "/api/v1/coupon-templates", NULL, &o,
                      "{\"name\":\"6折券\",\"kind\":\"percent_off\",\"percent\":40,"
                      "\"max_off_cents\":3000,\"valid_days\":30,\"stock\":3,"
                      "\"per_member_limit\":2,\"shareable\":true,\"restore_on_refund\":true}"),
                 201);
    int64_t tpl = jint(o, "id");
    json_decref(o);
    int64_t b = member("13900000002", "2026-01-01T10:00:00+08:00", "1991-06-01");
    int64_t c = member("13900000003", "2026-01-01T10:00:00+08:00", "1991-06-01");
    /* issue idempotently by external_id */
    CHECK_INT_EQ(call("POST", "/api/v1/coupons", NULL, &o,
                      "{\"template_id\":%lld,\"member_id\":%lld,\"external_id\":\"welcome\"}",
                      (long long)tpl, (long long)b),
                 201);
    snprintf(shared_code, sizeof shared_code, "%s", jstr(o, "code"));
    json_decref(o);
    CHECK_INT_EQ(call("POST", "/api/v1/coupons", NULL, &o,
                      "{\"template_id\":%lld,\"member_id\":%lld,\"external_id\":\"welcome\"}",
                      (long long)tpl, (long long)b),
                 200);
    CHECK_STR_EQ(jstr(o, "code"), shared_code);
    json_decref(o);
    /* second for b (limit 2), then a list: c gets the last of the stock of 3, b is over
     * its limit */
    CHECK_INT_EQ(call("POST", "/api/v1/coupons", NULL, NULL,
                      "{\"template_id\":%lld,\"member_id\":%lld}", (long long)tpl, (long long)b),
                 201);
    CHECK_INT_EQ(call("POST", "/api/v1/coupons", NULL, &o,
                      "{\"template_id\":%lld,\"member_ids\":[%lld,%lld]}", (long long)tpl,
                      (long long)c, (long long)b),
                 201);
    CHECK_INT_EQ((int64_t)json_array_size(json_object_get(o, "issued")), 1);
    CHECK_INT_EQ(jint(o, "issued.0.member_id"), c);
    CHECK_INT_EQ(jint(o, "skipped.0.member_id"), b);
    json_decref(o);
    /* out of stock */
    CHECK_INT_EQ(call("POST", "/api/v1/coupons", NULL, &o,
                      "{\"template_id\":%lld,\"member_id\":%lld}", (long long)tpl, (long long)c),
                 422);
    CHECK(strstr(jstr(o, "error.message"), "out of stock") != NULL);
    json_decref(o);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/coupon-templates/%lld", (long long)tpl);
    CHECK_INT_EQ(call("GET", path, NULL, &o, NULL), 200);
    CHECK_INT_EQ(jint(o, "issued"), 3);
    CHECK_INT_EQ(jint(o, "remaining"), 0);
    json_decref(o);

    /* benefits at the till for b: 40% off a ¥300 basket capped at ¥30 */
    snprintf(path, sizeof path, "/api/v1/members/%lld/benefits?amount_cents=30000&store_id=1",
             (long long)b);
    CHECK_INT_EQ(call("GET", path, NULL, &o, NULL), 200);
    CHECK_INT_EQ((int64_t)json_array_size(json_object_get(o, "coupons")), 2);
    CHECK_INT_EQ(jint(o, "coupons.0.discount_cents"), 3000);
    CHECK_STR_EQ(jstr(o, "tier.code"), "normal");
    json_decref(o);

    /* 64 clients redeem the same coupon at once: exactly one order lands */
    shared_member = b;
    pthread_t th[64];
    for (int i = 0; i < 64; i++)
        pthread_create(&th[i], NULL, redeem_client, (void *)(intptr_t)i);
    for (int i = 0; i < 64; i++)
        pthread_join(th[i], NULL);
    CHECK_INT_EQ(atomic_load(&wins), 1);
    CHECK_INT_EQ(atomic_load(&losses), 63);
    CHECK_INT_EQ(atomic_load(&others), 0);
    snprintf(path, sizeof path, "/api/v1/coupons/%s", shared_code);
    CHECK_INT_EQ(call("GET", path, NULL, &o, NULL), 200);
    CHECK_STR_EQ(jstr(o, "state"), "redeemed");
    int64_t won = jint(o, "order_id");
    json_decref(o);
    /* a full refund restores it (the template says so) */
    refund(won, "race-refund", 25000, NOW);
    CHECK_INT_EQ(call("GET", path, NULL, &o, NULL), 200);
    CHECK_STR_EQ(jstr(o, "state"), "issued");
    CHECK_STR_EQ(jstr(o, "history.2.kind"), "restored");
    json_decref(o);

    /* forward it to a new phone: a prospect whose referrer is b */
    snprintf(path, sizeof path, "/api/v1/coupons/%s/forward", shared_code);
    CHECK_INT_EQ(call("POST", path, NULL, &o, "{\"phone\":\"13900000009\"}"), 200);
    int64_t friend = jint(o, "friend.member_id");
    CHECK(json_is_true(json_object_get(json_object_get(o, "friend"), "created")));
    CHECK_INT_EQ(jint(o, "friend.referrer_id"), b);
    CHECK_INT_EQ(jint(o, "member_id"), friend);
    json_decref(o);
    /* forwarding to an existing member moves the coupon but makes no referral */
    char code2[32];
    snprintf(path, sizeof path, "/api/v1/members/%lld/coupons", (long long)b);
    CHECK_INT_EQ(call("GET", path, NULL, &o, NULL), 200);
    snprintf(code2, sizeof code2, "%s", jstr(o, "items.0.code"));
    CHECK_STR_EQ(jstr(o, "items.0.history.0.kind"), "issued");
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/coupons/%s/forward", code2);
    CHECK_INT_EQ(call("POST", path, NULL, &o, "{\"phone\":\"13900000003\"}"), 200);
    CHECK(!json_is_true(json_object_get(json_object_get(o, "friend"), "created")));
    CHECK(json_is_null(json_object_get(json_object_get(o, "friend"), "referrer_id")));
    json_decref(o);
    /* ... but c already received 1 of 2 allowed; a third would break the limit */

    /* the friend's first order pays b 200 points (pending 7 days, so count via ledger) */
    int64_t before = ledger_sum(b);
    int64_t fo =
        order("friend-1", friend, NOW,
              "[{\"sku\":\"G\",\"category\":\"grocery\",\"qty\":1,\"unit_price_cents\":10000}]",
              10000, 0, 0, NULL, 201);
    CHECK_INT_EQ(ledger_sum(b) - before, 200);
    /* a second order pays nothing more */
    order("friend-2", friend, NOW,
          "[{\"sku\":\"G\",\"category\":\"grocery\",\"qty\":1,\"unit_price_cents\":10000}]", 10000,
          0, 0, NULL, 201);
    CHECK_INT_EQ(ledger_sum(b) - before, 200);
    /* the first order fully refunded: the reward is taken back */
    refund(fo, "friend-1r", 10000, NOW);
    CHECK_INT_EQ(ledger_sum(b) - before, 0);
    /* an existing member referred earns nobody anything: c has no referrer */
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)c);
    CHECK_INT_EQ(call("GET", path, NULL, &o, NULL), 200);
    CHECK(json_is_null(json_object_get(o, "referrer_id")));
    json_decref(o);
    CHECK_INT_EQ(run_check(), 0);
}

/* ---------------- 3. concurrent redemptions against one balance ---------------- */

static int64_t race_member;
static atomic_int redeemed_ok, redeemed_short;

static void *points_client(void *arg)
{
    int i = (int)(intptr_t)arg;
    int c = conn_open();
    char b[4096], path[96], hdr[96];
    snprintf(path, sizeof path, "/api/v1/members/%lld/points", (long long)race_member);
    snprintf(hdr, sizeof hdr, "Idempotency-Key: race-%d\r\n", i);
    int st = request_hdr(c, token, "POST", path, hdr, "{\"delta\":-30,\"reason\":\"换购\"}", b,
                         sizeof b);
    if (st == 201)
        atomic_fetch_add(&redeemed_ok, 1);
    else if (st == 422)
        atomic_fetch_add(&redeemed_short, 1);
    close(c);
    return NULL;
}

static void balance_race(void)
{
    race_member = member("13900000004", "2026-01-01T10:00:00+08:00", "1992-01-01");
    char path[96];
    snprintf(path, sizeof path, "/api/v1/members/%lld/points", (long long)race_member);
    /* no Idempotency-Key: refused */
    CHECK_INT_EQ(call("POST", path, NULL, NULL, "{\"delta\":1000,\"reason\":\"x\"}"), 400);
    CHECK_INT_EQ(call("POST", path, "credit-1", NULL, "{\"delta\":1000,\"reason\":\"活动补偿\"}"),
                 201);
    /* a retry of the same key moves nothing */
    CHECK_INT_EQ(call("POST", path, "credit-1", NULL, "{\"delta\":1000,\"reason\":\"活动补偿\"}"),
                 200);
    CHECK_INT_EQ(ledger_sum(race_member), 1000);
    pthread_t th[64];
    for (int i = 0; i < 64; i++)
        pthread_create(&th[i], NULL, points_client, (void *)(intptr_t)i);
    for (int i = 0; i < 64; i++)
        pthread_join(th[i], NULL);
    /* 1000 / 30 = 33 succeed, leaving 10; the other 31 are refused */
    CHECK_INT_EQ(atomic_load(&redeemed_ok), 33);
    CHECK_INT_EQ(atomic_load(&redeemed_short), 31);
    CHECK_INT_EQ(ledger_sum(race_member), 10);
    json_t *p = points(race_member);
    CHECK_INT_EQ(jint(p, "balance"), 10);
    json_decref(p);

    /* bulk: a credit of 5 to a list, then a debit of 12 that only the rich can pay */
    int64_t other = member("13900000005", "2026-01-01T10:00:00+08:00", "1992-01-01");
    json_t *o;
    CHECK_INT_EQ(call("POST", "/api/v1/points/bulk", "bulk-1", &o,
                      "{\"delta\":5,\"reason\":\"周年庆\",\"member_ids\":[%lld,%lld]}",
                      (long long)race_member, (long long)other),
                 201);
    CHECK_INT_EQ(jint(o, "applied"), 2);
    json_decref(o);
    CHECK_INT_EQ(call("POST", "/api/v1/points/bulk", "bulk-2", &o,
                      "{\"delta\":-12,\"reason\":\"纠错\",\"member_ids\":[%lld,%lld]}",
                      (long long)race_member, (long long)other),
                 201);
    CHECK_INT_EQ(jint(o, "applied"), 1);
    CHECK_INT_EQ(jint(o, "skipped.0.member_id"), other);
    json_decref(o);
    CHECK_INT_EQ(ledger_sum(race_member), 3);
    CHECK_INT_EQ(ledger_sum(other), 5);
    /* by segment: everyone with points_balance >= 5 gets 1 more */
    CHECK_INT_EQ(call("POST", "/api/v1/points/bulk", "bulk-3", &o,
                      "{\"delta\":1,\"reason\":\"x\",\"segment\":\"points_balance >= 5\"}"),
                 201);
    int64_t applied = jint(o, "applied");
    json_decref(o);
    CHECK(applied >= 1);
    CHECK_INT_EQ(ledger_sum(other), 6);
    CHECK_INT_EQ(ledger_sum(race_member), 3);
    /* an unknown member in a list: an error naming it, nothing written */
    CHECK_INT_EQ(call("POST", "/api/v1/points/bulk", "bulk-4", &o,
                      "{\"delta\":1,\"reason\":\"x\",\"member_ids\":[%lld,999999]}",
                      (long long)other),
                 404);
    CHECK_STR_EQ(jstr(o, "error.field"), "member_ids[1]");
    json_decref(o);
    CHECK_INT_EQ(ledger_sum(other), 6);
}

/* ---------------- 4. bad configuration writes nothing ---------------- */

static void bad_input(void)
{
    json_t *o;
    CHECK_INT_EQ(call("PUT", "/api/v1/loyalty/tiers", NULL, &o,
                      "{\"tiers\":[{\"code\":\"a\",\"name\":\"A\"},{\"code\":\"b\",\"name\":\"B\","
                      "\"qualify\":{\"metric\":\"balance\",\"min\":1}}]}"),
                 400);
    CHECK_STR_EQ(jstr(o, "error.field"), "tiers[1].qualify");
    json_decref(o);
    CHECK_INT_EQ(call("POST", "/api/v1/loyalty/earn-rules", NULL, &o,
                      "{\"name\":\"x\",\"points_per_yuan\":-1}"),
                 400);
    CHECK_STR_EQ(jstr(o, "error.field"), "points_per_yuan");
    json_decref(o);
    CHECK_INT_EQ(call("POST", "/api/v1/coupon-templates", NULL, &o,
                      "{\"name\":\"x\",\"kind\":\"percent_off\",\"percent\":120,\"valid_days\":3}"),
                 400);
    CHECK_STR_EQ(jstr(o, "error.field"), "percent");
    json_decref(o);
    CHECK_INT_EQ(call("PUT", "/api/v1/loyalty/settings", NULL, &o,
                      "{\"points_expiry\":{\"mode\":\"months\"}}"),
                 400);
    CHECK_STR_EQ(jstr(o, "error.field"), "points_expiry.months");
    json_decref(o);
    /* the ladder is still the one set before */
    CHECK_INT_EQ(call("GET", "/api/v1/loyalty/tiers", NULL, &o, NULL), 200);
    CHECK_INT_EQ((int64_t)json_array_size(json_object_get(o, "tiers")), 3);
    json_decref(o);
}

/* ---------------- 5. kill -9 in a stream of loyalty operations ---------------- */

#define STREAM_THREADS 6
static atomic_bool stop_stream;
static atomic_int acked_n;
static struct ack {
    int kind; /* 0 order, 1 redemption, 2 refund */
    int seq;
} acked[100000];
static int64_t stream_members[STREAM_THREADS];

static void *stream_client(void *arg)
{
    int t = (int)(intptr_t)arg;
    int c = conn_open();
    char b[8192], body[1024], path[96], hdr[96];
    int64_t last_order = 0;
    for (int k = 0; c >= 0 && !atomic_load(&stop_stream); k++) {
        int seq = k * STREAM_THREADS + t, st, kind = k % 3;
        if (kind == 0) {
            snprintf(
                body, sizeof body,
                "{\"channel\":\"store\",\"external_id\":\"s%d\",\"store_id\":1,\"member_id\":%lld,"
                "\"placed_at\":\"" NOW "\",\"total_cents\":10000,\"items\":[{\"sku\":\"G\","
                "\"qty\":1,\"unit_price_cents\":10000}]}",
                seq, (long long)stream_members[t]);
            st = request(c, "POST", "/api/v1/orders", body, b, sizeof b);
            if (st == 201) {
                json_t *o = json_loads(b, 0, NULL);
                last_order = json_integer_value(json_object_get(o, "id"));
                json_decref(o);
            }
        } else if (kind == 1) {
            snprintf(path, sizeof path, "/api/v1/members/%lld/points",
                     (long long)stream_members[t]);
            snprintf(hdr, sizeof hdr, "Idempotency-Key: r%d\r\n", seq);
            st = request_hdr(c, token, "POST", path, hdr, "{\"delta\":-1,\"reason\":\"stream\"}", b,
                             sizeof b);
        } else {
            if (!last_order) continue;
            snprintf(path, sizeof path, "/api/v1/orders/%lld/refunds", (long long)last_order);
            snprintf(body, sizeof body, "{\"external_id\":\"f%d\",\"amount_cents\":4000}", seq);
            st = request(c, "POST", path, body, b, sizeof b);
        }
        if (st < 0) break;
        if (st == 201) {
            int i = atomic_fetch_add(&acked_n, 1);
            if (i < 100000) acked[i] = (struct ack){kind, seq};
        }
    }
    if (c >= 0) close(c);
    return NULL;
}

static int64_t count_where(const char *sql, const char *arg)
{
    long long v = -1;
    CHECK_INT_EQ(db_query(sql, &arg, 1, &v, 1), 0); /* on either store (harness.h) */
    return v;
}

static pid_t kill9(pid_t pid)
{
    /* no pending window, so stream redemptions can spend what orders earn */
    CHECK_INT_EQ(call("PUT", "/api/v1/loyalty/settings", NULL, NULL,
                      "{\"pending_days\":0,\"points_expiry\":{\"mode\":\"never\"}}"),
                 200);
    for (int t = 0; t < STREAM_THREADS; t++) {
        char phone[16];
        snprintf(phone, sizeof phone, "1370000000%d", t);
        stream_members[t] = member(phone, "2026-01-01T10:00:00+08:00", "1992-01-01");
    }
    close(fd);
    pthread_t th[STREAM_THREADS];
    for (int t = 0; t < STREAM_THREADS; t++)
        pthread_create(&th[t], NULL, stream_client, (void *)(intptr_t)t);
    for (int i = 0; i < 300 && atomic_load(&acked_n) < 1500; i++)
        usleep(10000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    atomic_store(&stop_stream, true);
    for (int t = 0; t < STREAM_THREADS; t++)
        pthread_join(th[t], NULL);
    int n = atomic_load(&acked_n);
    fprintf(stderr, "acknowledged %d loyalty operations before SIGKILL\n", n);
    CHECK(n > 50);
    /* the store alone: every invariant holds */
    CHECK_INT_EQ(run_check(), 0);
    /* every acknowledged operation is there exactly once */
    int missing = 0;
    for (int i = 0; i < n && i < 100000; i++) {
        char key[32];
        int64_t have;
        if (acked[i].kind == 0) {
            snprintf(key, sizeof key, "s%d", acked[i].seq);
            have = count_where(
                "SELECT count(*) FROM orders o JOIN points_ledger l ON l.order_id = o.id"
                " AND l.kind = 'earn' WHERE o.external_id = ?1",
                key);
        } else if (acked[i].kind == 1) {
            snprintf(key, sizeof key, "r%d", acked[i].seq);
            /* Idempotency-Keys are kept per caller (idempotency_keys) */
            have = count_where("SELECT (SELECT count(*) FROM idempotency WHERE key = ?1)"
                               " + (SELECT count(*) FROM idempotency_keys WHERE key = ?1)",
                               key);
        } else {
            snprintf(key, sizeof key, "f%d", acked[i].seq);
            have = count_where("SELECT count(*) FROM refunds WHERE external_id = ?1", key);
        }
        if (have != 1) missing++;
    }
    CHECK_INT_EQ(missing, 0);
    pid = start_server();
    fd = conn_open();
    /* a replayed redemption after the restart moves nothing */
    for (int i = 0; i < n && i < 100000; i++)
        if (acked[i].kind == 1) {
            char key[32], path[96];
            int t = acked[i].seq % STREAM_THREADS;
            int64_t before = ledger_sum(stream_members[t]);
            snprintf(key, sizeof key, "r%d", acked[i].seq);
            snprintf(path, sizeof path, "/api/v1/members/%lld/points",
                     (long long)stream_members[t]);
            CHECK_INT_EQ(call("POST", path, key, NULL, "{\"delta\":-1,\"reason\":\"stream\"}"),
                         200);
            CHECK_INT_EQ(ledger_sum(stream_members[t]), before);
            break;
        }
    CHECK_INT_EQ(run_check(), 0);
    return pid;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_loyalty PATH_TO_SIYU\n");
        return 2;
    }
    setenv("SIYU_NOW", NOW, 1);
    setenv("SIYU_SWEEP_SECONDS", "0", 1);
    pid_t pid = harness_start(argv[1]);
    fd = conn_open();
    CHECK_INT_EQ(call("POST", "/api/v1/stores", NULL, NULL,
                      "{\"name\":\"湖滨店\",\"code\":\"S1\",\"kind\":\"physical\"}"),
                 201);
    worked_year();
    coupons();
    balance_race();
    bad_input();
    pid = kill9(pid);
    /* the CLI writing to the store while the server runs: both keep working */
    {
        char cmd[512], out[512];
        for (int i = 0; i < 3; i++) {
            snprintf(cmd, sizeof cmd, "%s loyalty sweep --db %s", siyu, db);
            CHECK_INT_EQ(run(cmd, out, sizeof out), 0);
            char path[64], key[32];
            snprintf(path, sizeof path, "/api/v1/members/%lld/points",
                     (long long)stream_members[0]);
            snprintf(key, sizeof key, "after-cli-%d", i);
            CHECK_INT_EQ(call("POST", path, key, NULL, "{\"delta\":1,\"reason\":\"cli\"}"), 201);
        }
    }
    /* the checker can fail: a balance moved behind the ledger's back, a coupon whose
     * history says it was redeemed twice, a template over its stock, an account's
     * marks that no longer match what they stand for */
    static const char *const tamper[][2] = {
        {"UPDATE loyalty_accounts SET points = points + 1 WHERE member_id ="
         " (SELECT min(member_id) FROM loyalty_accounts)",
         "UPDATE loyalty_accounts SET points = points - 1 WHERE member_id ="
         " (SELECT min(member_id) FROM loyalty_accounts)"},
        {"INSERT INTO coupon_events(coupon_id, at, kind) SELECT id, 0, 'redeemed' FROM coupons"
         " WHERE state = 'redeemed' LIMIT 1",
         "DELETE FROM coupon_events WHERE at = 0"},
        {"UPDATE coupon_templates SET issued = issued + 1 WHERE id = 1",
         "UPDATE coupon_templates SET issued = issued - 1 WHERE id = 1"},
        /* the marks an order trusts instead of the ledger and the orders */
        {"UPDATE loyalty_accounts SET earn_day_points = earn_day_points + 1 WHERE member_id ="
         " (SELECT min(member_id) FROM loyalty_accounts WHERE earn_day > 0)",
         "UPDATE loyalty_accounts SET earn_day_points = earn_day_points - 1 WHERE member_id ="
         " (SELECT min(member_id) FROM loyalty_accounts WHERE earn_day > 0)"},
        /* the last member's bound: the first ones' were taken under an older ladder, and a
         * stale bound is rightly ignored */
        {"UPDATE loyalty_accounts SET qualify_bound = qualify_bound - 100000000 WHERE member_id ="
         " (SELECT max(member_id) FROM loyalty_accounts WHERE qualify_key IS NOT NULL)",
         "UPDATE loyalty_accounts SET qualify_bound = qualify_bound + 100000000 WHERE member_id ="
         " (SELECT max(member_id) FROM loyalty_accounts WHERE qualify_key IS NOT NULL)"},
        {"UPDATE loyalty_accounts SET next_expiry = next_expiry + 1 WHERE member_id ="
         " (SELECT min(member_id) FROM loyalty_accounts WHERE next_expiry IS NOT NULL)",
         "UPDATE loyalty_accounts SET next_expiry = next_expiry - 1 WHERE member_id ="
         " (SELECT min(member_id) FROM loyalty_accounts WHERE next_expiry IS NOT NULL)"},
        /* an order's total against its lines, its refunds against its total */
        {"UPDATE orders SET total_cents = total_cents + 1 WHERE id = (SELECT min(id) FROM orders)",
         "UPDATE orders SET total_cents = total_cents - 1 WHERE id = (SELECT min(id) FROM orders)"},
        {"WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 185)"
         " INSERT INTO order_items(order_id, line, sku, qty, unit_price_cents)"
         " SELECT (SELECT min(id) FROM orders), 10000 + n, 'W', 1000000, 100000000000 FROM k",
         "DELETE FROM order_items WHERE line > 10000"},
        {"UPDATE orders SET refunded_cents = total_cents + 1 WHERE id = (SELECT max(id) FROM orders"
         " WHERE refunded_cents = 0)",
         "UPDATE orders SET refunded_cents = 0 WHERE refunded_cents = total_cents + 1"},
    };
    for (size_t i = 0; i < sizeof tamper / sizeof *tamper; i++) {
        CHECK(db_exec(tamper[i][0]) > 0);
        CHECK_INT_EQ(run_check(), 1);
        CHECK(db_exec(tamper[i][1]) > 0);
        CHECK_INT_EQ(run_check(), 0);
    }
    close(fd);
    CHECK_INT_EQ(harness_stop(pid), 0);
    return CHECK_DONE();
}
