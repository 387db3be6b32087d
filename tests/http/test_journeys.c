/* test_journeys.c — journeys against the real server and a real webhook receiver.
 *
 * The test owns the clock (SIYU_NOW_FILE) and ticks the scheduler itself
 * (POST /api/v1/journeys/tick), so a 30-day series runs in seconds. A libmicrohttpd
 * receiver on loopback checks every message's HMAC-SHA256 signature (computed here with
 * libsodium, independently of siyu) and can be told to fail. Covered:
 *   - a payment journey: the message arrives signed, rendered with the member's values,
 *     with its Idempotency-Key; failures are retried with backoff, then dead-lettered;
 *   - quiet hours defer a send to 09:00; opt-out stops sends; the 2-per-7-days budget
 *     holds across two journeys;
 *   - the new-member series on days 3, 7 and 15, with a coupon and a guide task;
 *   - a wecom send becomes a guide task; confirming sends it, a timeout falls back to sms;
 *   - a holdout that is stable and silent; the report's counts;
 *   - SIGKILL with hundreds of members mid-journey: after a restart every run's message
 *     is in the outbox exactly once.
 * Run: test_journeys PATH_TO_SIYU */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/timeutil.h"
#include "harness.h"
#include "webhook_rx.h"

#define SECRET "test-secret-0123456789abcdef"

static int fd;
static char buf[1 << 16];
static char clock_path[128];

/* ---------------- the clock ---------------- */

static void set_now(const char *rfc3339)
{
    FILE *f = fopen(clock_path, "w");
    fprintf(f, "%s\n", rfc3339);
    fclose(f);
}

/* ---------------- the receiver ---------------- */

static pthread_mutex_t rx_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *received; /* every accepted body, with its headers */
static atomic_int fail_next, bad_signatures, attempts_seen;
static int rx_port;

/* Every request counts as an attempt; fail_next answers 503 that many times (siyu retries). */
static int on_webhook(void *ctx, json_t *body, const char *key, bool signature_ok)
{
    (void)ctx;
    atomic_fetch_add(&attempts_seen, 1);
    if (atomic_load(&fail_next) > 0) {
        atomic_fetch_sub(&fail_next, 1);
        return 503;
    }
    if (!signature_ok) {
        atomic_fetch_add(&bad_signatures, 1);
        return 401;
    }
    pthread_mutex_lock(&rx_lock);
    json_array_append_new(received,
                          json_pack("{s:O, s:s}", "body", body ? body : json_null(), "key", key));
    pthread_mutex_unlock(&rx_lock);
    return 200;
}

static size_t received_count(void)
{
    pthread_mutex_lock(&rx_lock);
    size_t n = json_array_size(received);
    pthread_mutex_unlock(&rx_lock);
    return n;
}

static const char *received_text(size_t i)
{
    pthread_mutex_lock(&rx_lock);
    const char *t = json_string_value(
        json_object_get(json_object_get(json_array_get(received, i), "body"), "text"));
    pthread_mutex_unlock(&rx_lock);
    return t ? t : "(none)";
}

/* ---------------- calls ---------------- */

static int call(const char *method, const char *path, json_t **out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int call(const char *method, const char *path, json_t **out, const char *fmt, ...)
{
    char body[8000] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(body, sizeof body, fmt, ap);
        va_end(ap);
    }
    int st = request_hdr(fd, token, method, path, NULL, fmt ? body : NULL, buf, sizeof buf);
    if (out)
        *out = json_loads(buf, 0, NULL);
    else if (st >= 400)
        fprintf(stderr, "%s %s -> %d %s\n", method, path, st, buf);
    return st;
}

/* A request whose body is too big for the harness's buffer (an NDJSON import). */
static int request_big(const char *path, const char *body, size_t len)
{
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/x-ndjson\r\nContent-Length: %zu\r\n\r\n",
                     path, token, len);
    if (send(fd, hdr, (size_t)n, MSG_NOSIGNAL) != n) return -1;
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, body + off, len - off, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        off += (size_t)w;
    }
    /* read the answer with the harness's reader: an empty request on a fresh buffer */
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (r <= 0) return -1;
        got += (size_t)r;
        buf[got] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) continue;
        char *cl = strcasestr(buf, "Content-Length:");
        size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;
        if (got < (size_t)(end + 4 - buf) + want) continue;
        harness_record_raw("POST", path, buf, got);
        return atoi(buf + 9);
    }
}

static json_t *jget(json_t *o, const char *path)
{
    char p[256];
    snprintf(p, sizeof p, "%s", path);
    json_t *cur = o;
    for (char *save = NULL, *t = strtok_r(p, ".", &save); t && cur; t = strtok_r(NULL, ".", &save))
        cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(t)) : json_object_get(cur, t);
    return cur;
}
static int64_t jint(json_t *o, const char *path)
{
    json_t *v = jget(o, path);
    return json_is_integer(v) ? json_integer_value(v) : -999;
}
static const char *jstr(json_t *o, const char *path)
{
    json_t *v = jget(o, path);
    return json_is_string(v) ? json_string_value(v) : "(none)";
}

/* A step outcome's count in a report (its first step), 0 when absent. */
static int64_t outcome(json_t *report, const char *name)
{
    json_t *v = json_object_get(jget(report, "steps.0.outcomes"), name);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

static void tick(void)
{
    CHECK_INT_EQ(call("POST", "/api/v1/journeys/tick", NULL, NULL), 200);
}

/* A marketing consent for a channel: without one, a member is never messaged on it. */
static void grant(int64_t id, const char *channel)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)id);
    CHECK_INT_EQ(
        call("POST", path, NULL,
             "{\"purpose\":\"marketing\",\"channel\":\"%s\",\"granted\":true,"
             "\"source\":\"till\",\"text_version\":\"t1\",\"at\":\"2026-01-01T09:00:00+08:00\"}",
             channel),
        200);
}

static int64_t member(const char *phone, const char *name, int64_t guide, bool sms, bool wechat)
{
    json_t *o;
    char extra[200] = "";
    /* the addresses its messages go to: a guide's member is their WeCom contact, a
     * public-account follower has an openid */
    if (guide)
        snprintf(extra, sizeof extra, ",\"guide_id\":%lld,\"wecom_external_id\":\"wm%s\"",
                 (long long)guide, phone);
    if (wechat)
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
                 ",\"openid\":\"o%s\",\"app_id\":\"wx-pa\"", phone);
    CHECK_INT_EQ(call("POST", "/api/v1/members", &o,
                      "{\"phone\":\"%s\",\"name\":\"%s\",\"store_id\":1%s}", phone, name, extra),
                 201);
    int64_t id = jint(o, "id");
    json_decref(o);
    if (guide) grant(id, "wecom");
    if (wechat) {
        grant(id, "wechat_template");
        grant(id, "public_account");
    }
    if (sms)
        CHECK_INT_EQ(
            call(
                "POST", "/api/v1/events", NULL,
                "{\"member_id\":%lld,\"type\":\"sms_opt_in\",\"at\":\"2026-01-01T10:00:00+08:00\"}",
                (long long)id),
            201);
    if (wechat)
        CHECK_INT_EQ(call("POST", "/api/v1/events", NULL,
                          "{\"member_id\":%lld,\"type\":\"follow_public_account\",\"at\":\"2026-01-"
                          "01T10:00:00+08:00\"}",
                          (long long)id),
                     201);
    return id;
}

static int order_seq;
static void order(int64_t m, const char *at)
{
    CHECK_INT_EQ(
        call("POST", "/api/v1/orders", NULL,
             "{\"channel\":\"store\",\"external_id\":\"o%d\",\"store_id\":1,\"member_id\":%lld,"
             "\"placed_at\":\"%s\",\"total_cents\":1000,\"items\":[{\"sku\":\"A\",\"qty\":1,"
             "\"unit_price_cents\":1000}]}",
             ++order_seq, (long long)m, at),
        201);
}

static json_t *messages(int64_t m)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/messages?member_id=%lld&limit=100", (long long)m);
    json_t *o;
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    return o;
}

static int64_t journey(const char *json)
{
    json_t *o;
    int st = call("POST", "/api/v1/journeys", &o, "%s", json);
    if (st != 201) fprintf(stderr, "journey: %s\n", buf);
    CHECK_INT_EQ(st, 201);
    int64_t id = jint(o, "id");
    json_decref(o);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/activate", (long long)id);
    CHECK_INT_EQ(call("POST", path, NULL, NULL), 200);
    return id;
}

static void set_state(int64_t id, const char *action)
{
    char path[80];
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/%s", (long long)id, action);
    CHECK_INT_EQ(call("POST", path, NULL, NULL), 200);
}

/* ---------------- scenarios ---------------- */

static void bad_definitions(void)
{
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{\"action\":\"send_"
         "message\","
         "\"channel\":\"sms\",\"template\":\"{{member.nickname}}\"}]}",
         "steps[0].template"},
        {"{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{\"action\":\"send_"
         "message\","
         "\"channel\":\"sms\",\"template\":\"券 {{coupon.code}}\"}]}",
         "steps[0].template"},
        {"{\"name\":\"x\",\"trigger\":{\"event\":\"paid\"},\"steps\":[{\"action\":\"exit\"}]}",
         "trigger.event"},
        {"{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{\"action\":\"wait\","
         "\"duration\":\"3 days\"}]}",
         "steps[0].duration"},
        {"{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{\"action\":\"send_"
         "message\","
         "\"channel\":\"fax\",\"template\":\"hi\"}]}",
         "steps[0].channel"},
        {"{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{\"id\":\"a\","
         "\"action\":\"exit\"},"
         "{\"action\":\"branch\",\"if\":\"orders > 1\",\"goto\":\"a\"}]}",
         "steps[1].goto"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *o;
        CHECK_INT_EQ(call("POST", "/api/v1/journeys", &o, "%s", bad[i].body), 400);
        CHECK_STR_EQ(jstr(o, "error.field"), bad[i].field);
        json_decref(o);
    }
    json_t *o;
    CHECK_INT_EQ(call("GET", "/api/v1/journeys", &o, NULL), 200);
    CHECK_INT_EQ((int64_t)json_array_size(json_object_get(o, "items")), 0);
    json_decref(o);
    /* the guardrails: defaults, a change, a bad value naming its field */
    CHECK_INT_EQ(call("GET", "/api/v1/journeys/guardrails", &o, NULL), 200);
    CHECK_INT_EQ(jint(o, "budget_max"), 2);
    CHECK_INT_EQ(jint(o, "budget_window_days"), 7);
    CHECK_STR_EQ(jstr(o, "quiet_hours"), "21:00-09:00");
    CHECK_STR_EQ(jstr(o, "monthly_caps.wecom"), "days_in_month");
    json_decref(o);
    CHECK_INT_EQ(
        call("PUT", "/api/v1/journeys/guardrails", &o, "{\"quiet_hours\":\"22:30-08:00\"}"), 200);
    CHECK_STR_EQ(jstr(o, "quiet_hours"), "22:30-08:00");
    json_decref(o);
    CHECK_INT_EQ(
        call("PUT", "/api/v1/journeys/guardrails", &o, "{\"budget_window_days\":\"week\"}"), 400);
    CHECK_STR_EQ(jstr(o, "error.field"), "budget_window_days");
    json_decref(o);
    CHECK_INT_EQ(call("PUT", "/api/v1/journeys/guardrails", NULL, "{}"), 200);
}

static void payment_journey(void)
{
    set_now("2026-03-02T10:00:00+08:00");
    int64_t j1 =
        journey("{\"name\":\"支付后感谢\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":0,"
                "\"steps\":[{\"id\":\"m\",\"action\":\"send_message\",\"channel\":\"sms\","
                "\"template\":\"{{member.name}}您好，感谢光临{{store.name}}\"}]}");
    tick(); /* the first tick starts the cursors at now */
    int64_t a = member("13900000001", "王芳", 0, true, false);
    order(a, "2026-03-02T10:00:00+08:00");
    tick();
    CHECK_INT_EQ((int64_t)received_count(), 1);
    CHECK_STR_EQ(received_text(0), "王芳您好，感谢光临湖滨店");
    CHECK_INT_EQ(atomic_load(&bad_signatures), 0);
    json_t *m = messages(a);
    CHECK_STR_EQ(jstr(m, "items.0.status"), "sent");
    CHECK_STR_EQ(jstr(m, "items.0.channel"), "sms");
    int64_t mid = jint(m, "items.0.id");
    json_decref(m);
    pthread_mutex_lock(&rx_lock);
    char want[32];
    snprintf(want, sizeof want, "%lld", (long long)mid);
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(received, 0), "key")), want);
    pthread_mutex_unlock(&rx_lock);
    /* a receipt marks it delivered */
    CHECK_INT_EQ(call("POST", "/api/v1/messages/receipts", NULL,
                      "{\"message_id\":%lld,\"status\":\"delivered\"}", (long long)mid),
                 200);
    m = messages(a);
    CHECK_STR_EQ(jstr(m, "items.0.status"), "delivered");
    json_decref(m);

    /* failures are retried: the receiver fails twice, the third attempt lands */
    set_now("2026-03-03T10:00:00+08:00");
    atomic_store(&fail_next, 2);
    order(a, "2026-03-03T10:00:00+08:00");
    tick();
    m = messages(a);
    CHECK_STR_EQ(jstr(m, "items.0.status"), "retry");
    json_decref(m);
    set_now("2026-03-03T10:10:00+08:00"); /* past the backoff */
    tick();
    set_now("2026-03-03T10:30:00+08:00");
    tick();
    m = messages(a);
    CHECK_STR_EQ(jstr(m, "items.0.status"), "sent");
    CHECK_INT_EQ(jint(m, "items.0.attempts"), 3);
    json_decref(m);
    CHECK_INT_EQ((int64_t)received_count(), 2);

    /* quiet hours: an order at 22:00 waits for 09:00 */
    set_now("2026-03-04T22:00:00+08:00");
    int64_t b = member("13900000002", "李娜", 0, true, false);
    order(b, "2026-03-04T22:00:00+08:00");
    tick();
    m = messages(b);
    CHECK_INT_EQ((int64_t)json_array_size(json_object_get(m, "items")), 0);
    json_decref(m);
    set_now("2026-03-05T08:59:00+08:00");
    tick();
    m = messages(b);
    CHECK_INT_EQ((int64_t)json_array_size(json_object_get(m, "items")), 0);
    json_decref(m);
    set_now("2026-03-05T09:00:00+08:00");
    tick();
    m = messages(b);
    CHECK_INT_EQ((int64_t)json_array_size(json_object_get(m, "items")), 1);
    CHECK_STR_EQ(jstr(m, "items.0.status"), "sent");
    json_decref(m);

    /* the budget holds across journeys: a second journey on the same trigger; member a
     * already had 2 messages in the last 7 days, so nothing more goes out */
    int64_t j2 =
        journey("{\"name\":\"支付后二号\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":0,"
                "\"steps\":[{\"id\":\"m2\",\"action\":\"send_message\",\"channel\":\"sms\","
                "\"template\":\"第二个旅程\"}]}");
    set_now("2026-03-05T11:00:00+08:00");
    order(a, "2026-03-05T11:00:00+08:00");
    tick();
    m = messages(a);
    CHECK_INT_EQ((int64_t)json_array_size(json_object_get(m, "items")), 2);
    json_decref(m);
    /* b had 1: one of the two journeys sends, the other is capped */
    order(b, "2026-03-05T11:00:00+08:00");
    tick();
    m = messages(b);
    CHECK_INT_EQ((int64_t)json_array_size(json_object_get(m, "items")), 2);
    json_decref(m);
    json_t *r1, *r2;
    char path[80];
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/report", (long long)j1);
    CHECK_INT_EQ(call("GET", path, &r1, NULL), 200);
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/report", (long long)j2);
    CHECK_INT_EQ(call("GET", path, &r2, NULL), 200);
    /* a: both capped; b: one sent, one capped */
    CHECK_INT_EQ(outcome(r1, "budget") + outcome(r2, "budget"), 3);
    json_decref(r1);
    json_decref(r2);

    /* opt-out stops sends: a week later b opts out of sms */
    set_now("2026-03-13T10:00:00+08:00");
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)b);
    CHECK_INT_EQ(call("POST", path, NULL, "{\"channel\":\"sms\",\"opted_out\":true}"), 200);
    order(b, "2026-03-13T10:00:00+08:00");
    tick();
    m = messages(b);
    CHECK_INT_EQ((int64_t)json_array_size(json_object_get(m, "items")), 2);
    json_decref(m);

    /* dead letter: wechat_template bound with 2 attempts to a receiver that fails */
    CHECK_INT_EQ(
        call("PUT", "/api/v1/channels/wechat_template", NULL,
             "{\"adapter\":\"webhook\",\"url\":\"http://127.0.0.1:%d/hook\",\"secret\":\"" SECRET
             "\",\"max_attempts\":2}",
             rx_port),
        200);
    set_state(j1, "pause");
    set_state(j2, "pause");
    int64_t j3 =
        journey("{\"name\":\"公众号通知\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":0,"
                "\"steps\":[{\"action\":\"send_message\",\"channel\":\"wechat_template\","
                "\"template\":\"谢谢\",\"wechat_template\":{\"template_id\":\"T1\","
                "\"data\":{\"first\":\"谢谢\"}}}]}");
    int64_t c = member("13900000003", "赵强", 0, false, true);
    atomic_store(&fail_next, 10);
    order(c, "2026-03-13T10:00:00+08:00");
    tick();
    set_now("2026-03-13T12:00:00+08:00");
    tick();
    m = messages(c);
    CHECK_STR_EQ(jstr(m, "items.0.status"), "dead");
    CHECK_INT_EQ(jint(m, "items.0.attempts"), 2);
    int64_t dead_id = jint(m, "items.0.id");
    json_decref(m);
    /* the dead-letter list holds it, and only it */
    CHECK_INT_EQ(call("GET", "/api/v1/messages?status=dead", &m, NULL), 200);
    CHECK_INT_EQ((int64_t)json_array_size(json_object_get(m, "items")), 1);
    CHECK_INT_EQ(jint(m, "items.0.id"), dead_id);
    json_decref(m);
    atomic_store(&fail_next, 0);
    set_state(j3, "pause");
}

static void series(void)
{
    /* a guide, a coupon template, and the new-member series from the library (its
     * coupon template id 1 is the one made here) */
    json_t *o;
    CHECK_INT_EQ(call("POST", "/api/v1/staff", &o,
                      "{\"name\":\"王导购\",\"role\":\"guide\",\"store_id\":1,"
                      "\"code\":\"wang\"}"),
                 201);
    int64_t guide = jint(o, "id");
    json_decref(o);
    CHECK_INT_EQ(
        call("POST", "/api/v1/coupon-templates", NULL,
             "{\"name\":\"新人券\",\"kind\":\"cash_off\",\"value_cents\":500,\"valid_days\":14}"),
        201);
    set_now("2026-04-01T10:00:00+08:00");
    int64_t j = journey("{\"from_library\":\"new_member_series\",\"holdout_pct\":0}");
    tick();
    int64_t m = member("13900000010", "陈晨", guide, true, true);
    CHECK_INT_EQ(call("POST", "/api/v1/events", NULL,
                      "{\"member_id\":%lld,\"type\":\"add_guide_contact\",\"at\":\"2026-04-01T10:"
                      "00:00+08:00\"}",
                      (long long)m),
                 201);
    tick(); /* joined: enters, waits 3 days */
    json_t *msg = messages(m);
    CHECK_INT_EQ((int64_t)json_array_size(json_object_get(msg, "items")), 0);
    json_decref(msg);
    /* day 3: a wecom message becomes a task for the guide */
    set_now("2026-04-04T10:00:00+08:00");
    tick();
    char path[96];
    snprintf(path, sizeof path, "/api/v1/tasks?guide_id=%lld&state=open", (long long)guide);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_STR_EQ(jstr(o, "items.0.kind"), "wecom_send");
    CHECK_STR_EQ(jstr(o, "items.0.script"), "陈晨您好，我是湖滨店的王导购，有任何需要随时找我。");
    int64_t task = jint(o, "items.0.id");
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/tasks/%lld/confirm", (long long)task);
    CHECK_INT_EQ(call("POST", path, NULL, NULL), 200);
    tick();
    msg = messages(m);
    CHECK_STR_EQ(jstr(msg, "items.0.channel"), "wecom");
    CHECK_STR_EQ(jstr(msg, "items.0.status"), "sent");
    json_decref(msg);
    /* day 7: no order yet, so a coupon and a public-account message carrying its code */
    set_now("2026-04-08T10:00:00+08:00");
    size_t before = received_count();
    tick();
    CHECK_INT_EQ((int64_t)received_count(), (int64_t)before + 1);
    snprintf(path, sizeof path, "/api/v1/members/%lld/coupons", (long long)m);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    char want[256];
    snprintf(want, sizeof want, "陈晨，送您一张新人券 %s，2026-04-22前有效。",
             jstr(o, "items.0.code"));
    json_decref(o);
    CHECK_STR_EQ(received_text(before), want);
    /* day 16: a follow-up task for the guide */
    set_now("2026-04-16T10:00:00+08:00");
    tick();
    snprintf(path, sizeof path, "/api/v1/tasks?guide_id=%lld&state=open", (long long)guide);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_STR_EQ(jstr(o, "items.0.kind"), "follow_up");
    CHECK_STR_EQ(jstr(o, "items.0.script"), "回访新会员陈晨，了解首购体验");
    json_decref(o);
    /* day 31: the last message is frequency-free (a week after the last) and names points */
    set_now("2026-05-01T10:00:00+08:00");
    before = received_count();
    tick();
    CHECK_INT_EQ((int64_t)received_count(), (int64_t)before + 1);
    CHECK_STR_EQ(received_text(before), "陈晨，您已有0积分，可在湖滨店抵现。");
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/report", (long long)j);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(jint(o, "entered.total"), 1);
    CHECK_INT_EQ(jint(o, "entered.active"), 0);
    json_decref(o);
    set_state(j, "pause");

    /* a wecom send nobody confirms falls back to the public account after the timeout */
    int64_t j2 = journey(
        "{\"name\":\"企微兜底\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":0,"
        "\"steps\":[{\"action\":\"send_message\",\"channel\":\"wecom\","
        "\"fallback\":[\"wechat_template\"],\"timeout\":\"2h\",\"template\":\"企微问候\","
        "\"wechat_template\":{\"template_id\":\"T1\",\"data\":{\"first\":\"企微问候\"}}}]}");
    set_now("2026-05-10T10:00:00+08:00");
    order(m, "2026-05-10T10:00:00+08:00");
    tick();
    before = received_count();
    set_now("2026-05-10T12:30:00+08:00");
    tick();
    CHECK_INT_EQ((int64_t)received_count(), (int64_t)before + 1);
    CHECK_STR_EQ(received_text(before), "企微问候");
    msg = messages(m);
    CHECK_STR_EQ(jstr(msg, "items.0.channel"), "wechat_template");
    CHECK_STR_EQ(jstr(msg, "items.1.channel"), "wecom");
    CHECK_STR_EQ(jstr(msg, "items.1.status"), "skipped");
    json_decref(msg);
    set_state(j2, "pause");
}

/* The 95% Wilson score interval, written out here independently of the server. */
static void wilson(int64_t x, int64_t n, double *lo, double *hi)
{
    const double z = 1.959963984540054;
    double p = (double)x / (double)n, nn = (double)n;
    double c = (p + z * z / (2 * nn)) / (1 + z * z / nn);
    double h = z * sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / (1 + z * z / nn);
    *lo = x == 0 ? 0 : c - h;
    *hi = x == n ? 1 : c + h;
}

/* holdout members go through silently; a member's group never changes */
static void holdout(void)
{
    set_now("2026-06-01T10:00:00+08:00");
    int64_t j =
        journey("{\"name\":\"对照组\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":30,"
                "\"reentry\":{\"policy\":\"once\"},"
                "\"goal\":{\"event\":\"order_paid\",\"within_days\":7},"
                "\"steps\":[{\"action\":\"wait\",\"duration\":\"1h\"},{\"action\":\"send_message\","
                "\"channel\":\"sms\",\"template\":\"回来看看\"}]}");
    tick();
    int64_t ids[200];
    for (int i = 0; i < 200; i++) {
        char phone[16];
        snprintf(phone, sizeof phone, "1370000%04d", i);
        ids[i] = member(phone, "会员", 0, true, false);
        order(ids[i], "2026-06-01T10:00:00+08:00");
    }
    tick();
    set_now("2026-06-01T11:30:00+08:00");
    tick();
    char path[80];
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/report", (long long)j);
    json_t *o;
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    int64_t held = jint(o, "entered.holdout"), treated = jint(o, "entered.treatment");
    CHECK_INT_EQ(held + treated, 200);
    CHECK(held >= 40 && held <= 80); /* 30% of 200, well within chance */
    CHECK_INT_EQ(jint(o, "steps.1.outcomes.held_out"), held);
    CHECK_INT_EQ(jint(o, "steps.1.outcomes.sent"), treated);
    json_decref(o);
    /* the held-out members got nothing: count messages per member from the store */
    CHECK_INT_EQ(db_int("SELECT count(*) FROM journey_runs r WHERE r.journey_id = ?1"
                        " AND r.holdout = 1 AND EXISTS (SELECT 1 FROM messages m"
                        " WHERE m.run_id = r.id)",
                        j, 0),
                 0);

    /* the first 50 members come back the next day with a ¥10 order: the goal and the
     * revenue, per group, against the groups as the store recorded them */
    set_now("2026-06-02T10:00:00+08:00");
    int64_t back_held = 0;
    for (int i = 0; i < 50; i++) {
        order(ids[i], "2026-06-02T10:00:00+08:00");
        back_held += db_int("SELECT holdout FROM journey_runs WHERE journey_id = ?1"
                            " AND member_id = ?2",
                            j, ids[i]);
    }
    tick();
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    int64_t back_treated = 50 - back_held;
    CHECK_INT_EQ(jint(o, "goal.treatment.converted"), back_treated);
    CHECK_INT_EQ(jint(o, "goal.holdout.converted"), back_held);
    CHECK_INT_EQ(jint(o, "revenue.treatment.net_cents"), back_treated * 1000);
    CHECK_INT_EQ(jint(o, "revenue.holdout.net_cents"), back_held * 1000);
    double rt = (double)back_treated / (double)treated, rh = (double)back_held / (double)held;
    CHECK_NEAR(json_real_value(jget(o, "goal.uplift")), rt - rh, 1e-9);
    /* Newcombe's hybrid score interval, from the two Wilson intervals */
    double lt, ut, lh, uh;
    wilson(back_treated, treated, &lt, &ut);
    wilson(back_held, held, &lh, &uh);
    CHECK_NEAR(json_real_value(jget(o, "goal.uplift_ci95.0")),
               rt - rh - sqrt((rt - lt) * (rt - lt) + (uh - rh) * (uh - rh)), 1e-9);
    CHECK_NEAR(json_real_value(jget(o, "goal.uplift_ci95.1")),
               rt - rh + sqrt((ut - rt) * (ut - rt) + (rh - lh) * (rh - lh)), 1e-9);
    CHECK_NEAR(json_real_value(jget(o, "revenue.uplift_per_member_cents")), 1000.0 * (rt - rh),
               1e-6);
    json_decref(o);
    set_state(j, "pause");
}

/* Pausing for longer than the staleness window skips the overdue sends on resume
 * (counted), editing an active journey keeps members on the step they are on, and a
 * dry run counts who would have entered. */
static void pause_edit_dry_run(void)
{
    set_now("2026-06-10T10:00:00+08:00");
    const char *v1 =
        "{\"name\":\"编辑\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":0,"
        "\"reentry\":{\"policy\":\"once\"},"
        "\"steps\":[{\"id\":\"w\",\"action\":\"wait\",\"duration\":\"1d\"},"
        "{\"id\":\"m\",\"action\":\"send_message\",\"channel\":\"sms\",\"template\":\"一\"}]}";
    int64_t j = journey(v1);
    tick();
    order(5, "2026-06-10T10:00:00+08:00");
    order(6, "2026-06-10T10:00:00+08:00");
    tick(); /* both wait a day */
    /* edit: a new first step; the runs stay on "w", and the new step "pre" is not run */
    char path[96];
    snprintf(path, sizeof path, "/api/v1/journeys/%lld", (long long)j);
    CHECK_INT_EQ(
        call(
            "PUT", path, NULL,
            "{\"name\":\"编辑\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":0,"
            "\"reentry\":{\"policy\":\"once\"},"
            "\"steps\":[{\"id\":\"pre\",\"action\":\"award_points\",\"points\":5},"
            "{\"id\":\"w\",\"action\":\"wait\",\"duration\":\"1d\"},"
            "{\"id\":\"m\",\"action\":\"send_message\",\"channel\":\"sms\",\"template\":\"二\"}]}"),
        200);
    /* pause, and come back three days later: the sends are stale, skipped and counted */
    set_state(j, "pause");
    set_now("2026-06-13T10:00:00+08:00");
    tick();
    set_state(j, "resume");
    size_t before = received_count();
    tick();
    CHECK_INT_EQ((int64_t)received_count(), (int64_t)before);
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/report", (long long)j);
    json_t *o;
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(jint(o, "steps.2.outcomes.stale"), 2);
    CHECK(json_object_size(jget(o, "steps.0.outcomes")) == 0); /* "pre" never ran */
    json_decref(o);
    /* nobody got the 5 points of the step added before them */
    CHECK_INT_EQ(
        db_int("SELECT count(*) FROM points_ledger WHERE member_id IN (5, 6) AND kind = 'adjust'",
               0, 0),
        0);
    /* dry run over the last 30 days: members with an order since 05-14 (counted here
     * with SQL), all of whom reach every step */
    int64_t since = 0;
    time_parse_rfc3339("2026-05-14T10:00:00+08:00", &since);
    int64_t want =
        db_int("SELECT count(DISTINCT member_id) FROM orders WHERE placed_at >= ?1", since, 0);
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/dry-run", (long long)j);
    CHECK_INT_EQ(call("POST", path, &o, "{\"days\":30}"), 200);
    CHECK_INT_EQ(jint(o, "would_enter"), want);
    CHECK_INT_EQ(jint(o, "steps.2.reached"), want);
    CHECK_INT_EQ(jint(o, "steps.2.messages"), want);
    json_decref(o);
    set_state(j, "pause");
}

/* "Entered a segment": the first look records who is in it; later looks enrol the
 * newcomers only. */
static int64_t adjusts(int64_t member)
{
    return db_int("SELECT count(*) FROM points_ledger WHERE member_id = ?1 AND kind = 'adjust'",
                  member, 0);
}

static void segment_entry(void)
{
    set_now("2026-06-20T10:00:00+08:00");
    int64_t j =
        journey("{\"name\":\"三单会员\",\"trigger\":{\"entered_segment\":\"orders >= 3\"},"
                "\"holdout_pct\":0,\"steps\":[{\"action\":\"award_points\",\"points\":7}]}");
    tick(); /* the first look: member 1 (three orders in March) is already in */
    int64_t x = member("13900000077", "新客", 0, true, false);
    for (int i = 0; i < 3; i++)
        order(x, "2026-06-20T10:00:00+08:00");
    set_now("2026-06-20T10:01:00+08:00");
    tick(); /* too soon for another look */
    CHECK_INT_EQ(adjusts(x), 0);
    set_now("2026-06-20T10:06:00+08:00");
    tick();
    CHECK_INT_EQ(adjusts(x), 1);
    CHECK_INT_EQ(adjusts(1), 0);
    set_state(j, "pause");
}

/* SIGKILL while hundreds of members move through a journey; restart; each run that
 * passed its send step has exactly one message, and ticking again adds none twice */
static pid_t kill9(pid_t pid)
{
    set_now("2026-07-01T10:00:00+08:00");
    int64_t j = journey(
        "{\"name\":\"批量\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":0,"
        "\"steps\":[{\"action\":\"wait\",\"duration\":\"1d\"},{\"action\":\"send_message\","
        "\"channel\":\"sms\",\"template\":\"你好\"},{\"action\":\"wait\",\"duration\":\"1d\"}]}");
    tick();
    /* thousands of new members pay (the import makes them members at the till) and
     * opt in to SMS: they enter and wait a day */
    enum { N = 3000 };
    size_t cap = (size_t)N * 300, len = 0;
    char *nd = malloc(cap), *ev = malloc(cap);
    size_t elen = 0;
    for (int i = 0; i < N; i++) {
        len += (size_t)snprintf(nd + len, cap - len,
                                "{\"channel\":\"store\",\"external_id\":\"k%d\",\"store_id\":1,"
                                "\"placed_at\":\"2026-07-01T10:00:00+08:00\",\"total_cents\":1000,"
                                "\"member\":{\"phone\":\"1350000%04d\"},\"items\":[{\"sku\":\"A\","
                                "\"qty\":1,\"unit_price_cents\":1000}]}\n",
                                i, i);
        elen += (size_t)snprintf(ev + elen, cap - elen,
                                 "{\"member\":{\"phone\":\"1350000%04d\"},\"type\":\"sms_opt_in\","
                                 "\"at\":\"2026-07-01T09:00:00+08:00\"}\n",
                                 i);
    }
    CHECK_INT_EQ(request_big("/api/v1/import/orders", nd, len), 200);
    CHECK_INT_EQ(request_big("/api/v1/import/events", ev, elen), 200);
    free(nd);
    free(ev);
    tick();
    set_now("2026-07-02T11:00:00+08:00");
    /* tick in the background and kill the server in the middle of it */
    pid_t child = fork();
    if (child == 0) {
        int c = conn_open();
        char b[4096];
        request(c, "POST", "/api/v1/journeys/tick", NULL, b, sizeof b);
        _exit(0);
    }
    usleep(30000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    waitpid(child, NULL, 0);
    close(fd);
    pid = start_server();
    fd = conn_open();
    tick();
    tick();
    char jid[32];
    snprintf(jid, sizeof jid, "%lld", (long long)j);
    const char *arg = jid;
    long long got[3] = {-1, -1, -1};
    CHECK_INT_EQ(
        db_query("SELECT count(*), count(DISTINCT run_id), (SELECT count(*) FROM"
                 " journey_runs WHERE journey_id = ?1) FROM messages WHERE journey_id = ?1",
                 &arg, 1, got, 3),
        0);
    int msgs = (int)got[0], runs_with = (int)got[1], runs = (int)got[2];
    fprintf(stderr, "kill -9: %d runs, %d messages\n", runs, msgs);
    CHECK(runs >= 3000);
    CHECK_INT_EQ(msgs, runs_with); /* none twice */
    CHECK_INT_EQ(msgs, runs);      /* none lost */
    return pid;
}

/* ================ a fresh server: issue 14's journey defects ================ */

/* A POST /journeys/tick answered 200, with its tick counts in *out. */
static void tick_out(json_t **out)
{
    CHECK_INT_EQ(call("POST", "/api/v1/journeys/tick", out, NULL), 200);
}

static int64_t items(json_t *list)
{
    return (int64_t)json_array_size(json_object_get(list, "items"));
}

static int64_t member_messages(int64_t m)
{
    json_t *o = messages(m);
    int64_t n = items(o);
    json_decref(o);
    return n;
}

static json_t *report(int64_t j)
{
    char path[80];
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/report", (long long)j);
    json_t *o;
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    return o;
}

/* Runs SQL on the store beside the server (a definition an earlier version saved
 * unchecked; a fault injected at the store boundary). */
static void store_sql(const char *sql, const char *text)
{
    long long changed = -1; /* on either store (harness.h) */
    CHECK_INT_EQ(db_query(sql, &text, text ? 1 : 0, &changed, 1), 0);
}

/* Saves a definition straight into the store, as a version without checks did. */
static int64_t stored_journey(const char *name, const char *spec, const char *state)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO journeys(name, spec, state, version, created_at, updated_at)"
             " VALUES ('%s', ?1, '%s', 1, 0, 0)",
             name, state);
    store_sql(sql, spec);
    return db_int("SELECT max(id) FROM journeys", 0, 0);
}

static const char *SMS_THANKS =
    "{\"name\":\"%s\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":0,"
    "\"steps\":[{\"id\":\"m\",\"action\":\"send_message\",\"channel\":\"sms\","
    "\"template\":\"%s\"}]}";

static int64_t sms_journey(const char *name, const char *text)
{
    char def[512];
    snprintf(def, sizeof def, SMS_THANKS, name, text);
    return journey(def);
}

/* Item 3: an order committed a second after activation, before the journey system's
 * first tick, is messaged; an order from before the activation triggers nothing. */
static void activation_before_first_tick(void)
{
    set_now("2026-09-01T10:00:00+08:00");
    int64_t old = member("13800000001", "旧客", 0, true, false);
    order(old, "2026-09-01T09:00:00+08:00");
    int64_t j = sms_journey("到店感谢", "感谢光临");
    set_now("2026-09-01T10:00:01+08:00");
    int64_t m = member("13800000002", "新客", 0, true, false);
    order(m, "2026-09-01T10:00:01+08:00");
    size_t before = received_count();
    tick(); /* the journey system's first tick on this server */
    CHECK_INT_EQ(member_messages(m), 1);
    CHECK_INT_EQ(member_messages(old), 0);
    CHECK_INT_EQ((int64_t)received_count(), (int64_t)before + 1);
    set_state(j, "pause");
}

/* Item 1: a run waiting for an order is moved on by the order; the ticks after it run
 * and the other journeys still send. */
static void wait_for_event_completed_by_order(void)
{
    set_now("2026-09-02T10:00:00+08:00");
    int64_t w =
        journey("{\"name\":\"等首单\",\"trigger\":{\"event\":\"member_joined\"},\"holdout_pct\":0,"
                "\"steps\":[{\"id\":\"w\",\"action\":\"wait\",\"for_event\":\"order_paid\","
                "\"timeout\":\"7d\"},{\"id\":\"thanks\",\"action\":\"send_message\","
                "\"channel\":\"sms\",\"template\":\"首单感谢\"}]}");
    int64_t p = sms_journey("每单感谢", "每单感谢");
    int64_t x = member("13800000010", "等待者", 0, true, false);
    tick(); /* x joined: waits for an order */
    order(x, "2026-09-02T10:00:00+08:00");
    json_t *o;
    tick_out(&o);
    CHECK_INT_EQ(jint(o, "tick.failed"), 0);
    json_decref(o);
    CHECK_INT_EQ(member_messages(x), 2); /* the run moved on, and the other journey sent */
    /* later ticks run, and every journey still sends */
    set_now("2026-09-02T10:05:00+08:00");
    int64_t y = member("13800000011", "后来者", 0, true, false);
    tick();
    order(y, "2026-09-02T10:05:00+08:00");
    tick();
    tick();
    CHECK_INT_EQ(member_messages(y), 2);
    o = report(w);
    CHECK_INT_EQ(jint(o, "steps.0.outcomes.event"), 2);
    CHECK_INT_EQ(jint(o, "steps.1.outcomes.sent"), 2);
    CHECK_INT_EQ(jint(o, "failures.total"), 0);
    json_decref(o);
    set_state(w, "pause");
    set_state(p, "pause");
}

/* Item 1: a step that fails (here a fault injected at the store boundary) fails its
 * own run, with the error kept and counted, and nothing else: the tick answers 200,
 * the next ticks run, another journey sends. */
static void failing_step_fails_its_run(void)
{
    if (harness_on_pg()) { /* the same trigger in PostgreSQL's words; a check violation, as
                            * SQLite's RAISE(ABORT) is a constraint failure */
        store_sql("CREATE FUNCTION inject_task_failure() RETURNS trigger LANGUAGE plpgsql AS"
                  " $f$ BEGIN IF NEW.script = '爆' THEN RAISE EXCEPTION 'injected failure'"
                  " USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $f$",
                  NULL);
        store_sql("CREATE TRIGGER inject_task_failure BEFORE INSERT ON guide_tasks"
                  " FOR EACH ROW EXECUTE FUNCTION inject_task_failure()",
                  NULL);
    } else
        store_sql("CREATE TRIGGER inject_task_failure BEFORE INSERT ON guide_tasks"
                  " WHEN NEW.script = '爆' BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
                  NULL);
    set_now("2026-09-03T10:00:00+08:00");
    int64_t bad =
        journey("{\"name\":\"会失败\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":0,"
                "\"steps\":[{\"id\":\"t\",\"action\":\"guide_task\",\"script\":\"爆\"},"
                "{\"id\":\"m\",\"action\":\"send_message\",\"channel\":\"sms\","
                "\"template\":\"不该发出\"}]}");
    int64_t good = sms_journey("照常发送", "照常发送");
    int64_t z = member("13800000020", "受害者", 0, true, false);
    order(z, "2026-09-03T10:00:00+08:00");
    json_t *o;
    tick_out(&o);
    CHECK_INT_EQ(jint(o, "tick.failed"), 1);
    CHECK(strstr(jstr(o, "tick.errors.0.error"), "injected failure") != NULL);
    CHECK_STR_EQ(jstr(o, "tick.errors.0.step"), "t");
    json_decref(o);
    CHECK_INT_EQ(member_messages(z), 1); /* the other journey's, not the failed run's */
    o = report(bad);
    CHECK_INT_EQ(jint(o, "steps.0.outcomes.failed"), 1);
    CHECK_INT_EQ(jint(o, "failures.total"), 1);
    CHECK(strstr(jstr(o, "failures.recent.0.error"), "injected failure") != NULL);
    CHECK_INT_EQ(jint(o, "entered.total"), 1);
    CHECK_INT_EQ(jint(o, "entered.active"), 0);
    CHECK(json_object_size(jget(o, "steps.1.outcomes")) == 0);
    CHECK_INT_EQ((int64_t)json_object_size(jget(o, "steps.0.reasons.failed")), 1);
    json_decref(o);
    /* the scheduler goes on: another member, another order, both journeys act */
    set_now("2026-09-03T10:10:00+08:00");
    int64_t z2 = member("13800000021", "下一位", 0, true, false);
    order(z2, "2026-09-03T10:10:00+08:00");
    tick_out(&o);
    CHECK_INT_EQ(jint(o, "tick.failed"), 1);
    json_decref(o);
    CHECK_INT_EQ(member_messages(z2), 1);
    o = report(bad);
    CHECK_INT_EQ(jint(o, "steps.0.outcomes.failed"), 2);
    json_decref(o);
    if (harness_on_pg()) {
        store_sql("DROP TRIGGER inject_task_failure ON guide_tasks", NULL);
        store_sql("DROP FUNCTION inject_task_failure()", NULL);
    } else
        store_sql("DROP TRIGGER inject_task_failure", NULL);
    set_state(bad, "pause");
    set_state(good, "pause");
}

/* Item 2: every reference is checked on save (400 naming the field), again on
 * activation, and the dry run refuses what the engine would refuse. */
static void references_checked(void)
{
    CHECK_INT_EQ(call("POST", "/api/v1/tags", NULL, "{\"name\":\"VIP\"}"), 201);
    CHECK_INT_EQ(call("POST", "/api/v1/tags", NULL, "{\"name\":\"大客\",\"expr\":\"orders >= 5\"}"),
                 201);
    CHECK_INT_EQ(
        call("POST", "/api/v1/coupon-templates", NULL,
             "{\"name\":\"感谢券\",\"kind\":\"cash_off\",\"value_cents\":500,\"valid_days\":14}"),
        201);
#define DEF(trigger, audience, steps)                                                              \
    "{\"name\":\"引用\",\"trigger\":" trigger ",\"audience\":" audience ",\"steps\":[" steps "]}"
#define EXIT_STEP "{\"action\":\"exit\"}"
    static const struct {
        const char *body, *field;
    } bad[] = {
        {DEF("{\"event\":\"order_paid\"}", "\"tier = \"", EXIT_STEP), "audience"},
        {DEF("{\"event\":\"order_paid\"}", "\"tag:\\\"不存在\\\"\"", EXIT_STEP), "audience"},
        {DEF("{\"event\":\"order_paid\"}", "\"reach.any = true\"", EXIT_STEP), "audience"},
        {DEF("{\"event\":\"order_paid\"}", "null",
             "{\"action\":\"issue_coupon\",\"template_id\":99}"),
         "steps[0].template_id"},
        {DEF("{\"event\":\"order_paid\"}", "null", "{\"action\":\"add_tag\",\"tag\":\"不存在\"}"),
         "steps[0].tag"},
        {DEF("{\"event\":\"order_paid\"}", "null", "{\"action\":\"remove_tag\",\"tag\":\"大客\"}"),
         "steps[0].tag"},
        {DEF("{\"event\":\"order_paid\"}", "null",
             "{\"action\":\"branch\",\"if\":\"orders >>> 1\",\"goto\":\"e\"},"
             "{\"id\":\"e\",\"action\":\"exit\"}"),
         "steps[0].if"},
        {DEF("{\"event\":\"order_paid\"}", "null",
             "{\"action\":\"branch\",\"if\":\"tag:\\\"不存在\\\"\",\"goto\":\"e\"},"
             "{\"id\":\"e\",\"action\":\"exit\"}"),
         "steps[0].if"},
        {DEF("{\"entered_segment\":\"spend_356d > 1\"}", "null", EXIT_STEP),
         "trigger.entered_segment"},
        {DEF("{\"daily_at\":\"10:00\",\"segment\":\"segment:\\\"没有\\\"\"}", "null", EXIT_STEP),
         "trigger.segment"},
        {DEF("{\"event\":\"member_joined\"}", "null",
             "{\"action\":\"wait\",\"after_trigger\":\"7d\"},"
             "{\"action\":\"wait\",\"after_trigger\":\"3d\"}"),
         "steps[1].after_trigger"},
        {DEF("{\"event\":\"member_joined\"}", "null",
             "{\"action\":\"wait\",\"after_trigger\":\"7d\",\"duration\":\"1d\"}"),
         "steps[0].after_trigger"},
    };
    /* a valid journey to PUT the bad versions onto */
    json_t *o;
    CHECK_INT_EQ(call("POST", "/api/v1/journeys", &o, "%s",
                      DEF("{\"event\":\"order_paid\"}", "\"tag:\\\"VIP\\\" and reach.any\"",
                          "{\"action\":\"issue_coupon\",\"template_id\":1},"
                          "{\"action\":\"add_tag\",\"tag\":\"VIP\"},"
                          "{\"action\":\"branch\",\"if\":\"tag:\\\"大客\\\"\",\"goto\":\"e\"},"
                          "{\"id\":\"e\",\"action\":\"exit\"}")),
                 201);
    int64_t ok = jint(o, "id");
    json_decref(o);
    char path[80];
    snprintf(path, sizeof path, "/api/v1/journeys/%lld", (long long)ok);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_INT_EQ(call("POST", "/api/v1/journeys", &o, "%s", bad[i].body), 400);
        CHECK_STR_EQ(jstr(o, "error.field"), bad[i].field);
        json_decref(o);
        CHECK_INT_EQ(call("PUT", path, &o, "%s", bad[i].body), 400);
        CHECK_STR_EQ(jstr(o, "error.field"), bad[i].field);
        json_decref(o);
    }
    /* a definition an earlier version saved unchecked: activation refuses it, naming
     * the field, and it stays a draft */
    int64_t old = stored_journey(
        "旧定义",
        "{\"name\":\"旧定义\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{\"action\":"
        "\"add_tag\",\"tag\":\"不存在\"}]}",
        "draft");
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/activate", (long long)old);
    CHECK_INT_EQ(call("POST", path, &o, NULL), 400);
    CHECK_STR_EQ(jstr(o, "error.field"), "steps[0].tag");
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/journeys/%lld", (long long)old);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_STR_EQ(jstr(o, "state"), "draft");
    json_decref(o);
    /* an active one with an audience the parser refuses: the dry run says so instead of
     * counting everyone, and live nobody enters (the tick says why) */
    int64_t aud = stored_journey(
        "旧受众",
        "{\"name\":\"旧受众\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":0,"
        "\"audience\":\"tag:\\\"不存在\\\"\",\"steps\":[{\"action\":\"exit\"}]}",
        "active");
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/dry-run", (long long)aud);
    CHECK_INT_EQ(call("POST", path, &o, "{\"days\":30}"), 400);
    CHECK_STR_EQ(jstr(o, "error.field"), "audience");
    json_decref(o);
    set_now("2026-09-04T10:00:00+08:00");
    int64_t v = member("13800000030", "受众外", 0, true, false);
    order(v, "2026-09-04T10:00:00+08:00");
    tick_out(&o);
    CHECK(jint(o, "tick.failed") >= 1);
    CHECK(strstr(jstr(o, "tick.errors.0.error"), "audience") != NULL);
    json_decref(o);
    o = report(aud);
    CHECK_INT_EQ(jint(o, "entered.total"), 0);
    json_decref(o);
    set_state(aud, "archive");
#undef DEF
#undef EXIT_STEP
}

/* A coupon the member cannot get is an outcome of its step, counted with its reason in
 * the report; the run goes on. */
static void coupon_outcomes(void)
{
    json_t *o;
    CHECK_INT_EQ(call("POST", "/api/v1/coupon-templates", &o,
                      "{\"name\":\"每人一张\",\"kind\":\"cash_off\",\"value_cents\":300,"
                      "\"valid_days\":14,\"per_member_limit\":1}"),
                 201);
    int64_t tpl = jint(o, "id");
    json_decref(o);
    set_now("2026-09-05T10:00:00+08:00");
    char def[512];
    snprintf(def, sizeof def,
             "{\"name\":\"每单一券\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":0,"
             "\"steps\":[{\"id\":\"c\",\"action\":\"issue_coupon\",\"template_id\":%lld},"
             "{\"id\":\"t\",\"action\":\"guide_task\",\"script\":\"回访\"}]}",
             (long long)tpl);
    int64_t j = journey(def);
    int64_t m = member("13800000035", "两单", 0, true, false);
    order(m, "2026-09-05T10:00:00+08:00");
    tick();
    set_now("2026-09-05T11:00:00+08:00");
    order(m, "2026-09-05T11:00:00+08:00");
    tick();
    o = report(j);
    CHECK_INT_EQ(jint(o, "steps.0.outcomes.coupon_issued"), 1);
    CHECK_INT_EQ(jint(o, "steps.0.outcomes.coupon_failed_per_member_limit"), 1);
    CHECK_INT_EQ(
        (int64_t)json_object_size(jget(o, "steps.0.reasons.coupon_failed_per_member_limit")), 1);
    /* the reason, with the member and the template written N, whoever it was */
    const char *reason = NULL;
    json_t *count;
    json_object_foreach(jget(o, "steps.0.reasons.coupon_failed_per_member_limit"), reason, count)
    {
        CHECK_INT_EQ(json_integer_value(count), 1);
        CHECK(strstr(reason, "member N") != NULL);
    }
    CHECK_INT_EQ(jint(o, "steps.1.outcomes.task_created"), 2);
    json_decref(o);
    set_state(j, "pause");
}

/* Item 4: steps timed from the trigger happen on their day, however late a guide
 * confirms the step before them. */
static void trigger_timed_waits(void)
{
    json_t *o;
    CHECK_INT_EQ(call("POST", "/api/v1/staff", &o,
                      "{\"name\":\"李导购\",\"role\":\"guide\",\"store_id\":1,\"code\":\"lidg\"}"),
                 201);
    int64_t guide = jint(o, "id");
    json_decref(o);
    set_now("2026-10-01T10:00:00+08:00");
    int64_t j = journey(
        "{\"name\":\"入会第3和第7天\",\"trigger\":{\"event\":\"member_joined\"},\"holdout_pct\":0,"
        "\"steps\":[{\"id\":\"d3\",\"action\":\"wait\",\"after_trigger\":\"3d\"},"
        "{\"id\":\"hello\",\"action\":\"send_message\",\"channel\":\"wecom\",\"timeout\":\"48h\","
        "\"template\":\"导购问候\"},"
        "{\"id\":\"d7\",\"action\":\"wait\",\"after_trigger\":\"7d\"},"
        "{\"id\":\"day7\",\"action\":\"send_message\",\"channel\":\"sms\",\"template\":\"第七天\"}]"
        "}");
    int64_t m = member("13800000040", "新会员", guide, true, false);
    CHECK_INT_EQ(call("POST", "/api/v1/events", NULL,
                      "{\"member_id\":%lld,\"type\":\"add_guide_contact\",\"at\":\"2026-10-01T10:"
                      "00:00+08:00\"}",
                      (long long)m),
                 201);
    tick();
    set_now("2026-10-04T10:00:00+08:00"); /* day 3: the guide's task */
    tick();
    char path[96];
    snprintf(path, sizeof path, "/api/v1/tasks?guide_id=%lld&state=open", (long long)guide);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_STR_EQ(jstr(o, "items.0.kind"), "wecom_send");
    int64_t task = jint(o, "items.0.id");
    json_decref(o);
    set_now("2026-10-05T11:00:00+08:00"); /* confirmed a day and an hour late */
    /* a consent withdrawn while the task waited: the guide cannot confirm the send */
    char cpath[96];
    snprintf(cpath, sizeof cpath, "/api/v1/members/%lld/consents", (long long)m);
    CHECK_INT_EQ(call("POST", cpath, NULL,
                      "{\"purpose\":\"marketing\",\"channel\":\"wecom\",\"granted\":false,"
                      "\"source\":\"guide\",\"at\":\"2026-10-05T10:30:00+08:00\"}"),
                 200);
    snprintf(path, sizeof path, "/api/v1/tasks/%lld/confirm", (long long)task);
    CHECK_INT_EQ(call("POST", path, &o, NULL), 409);
    CHECK_STR_EQ(jstr(o, "error.field"), "consent");
    json_decref(o);
    CHECK_INT_EQ(call("POST", cpath, NULL,
                      "{\"purpose\":\"marketing\",\"channel\":\"wecom\",\"granted\":true,"
                      "\"source\":\"guide\",\"at\":\"2026-10-05T10:45:00+08:00\"}"),
                 200);
    CHECK_INT_EQ(call("POST", path, NULL, NULL), 200);
    tick();
    set_now("2026-10-08T09:59:00+08:00");
    tick();
    CHECK_INT_EQ(member_messages(m), 1);  /* the wecom hello only */
    set_now("2026-10-08T10:00:00+08:00"); /* day 7 after joining, to the minute */
    tick();
    json_t *list = messages(m);
    CHECK_INT_EQ(items(list), 2);
    CHECK_STR_EQ(jstr(list, "items.0.channel"), "sms");
    json_decref(list);
    /* a member recorded today as having joined two months ago: the steps timed from
     * that are long past, so its sends are stale and skipped, never a burst */
    CHECK_INT_EQ(call("POST", "/api/v1/members", &o,
                      "{\"phone\":\"13800000041\",\"name\":\"老会员\",\"store_id\":1,"
                      "\"guide_id\":%lld,\"wecom_external_id\":\"wm13800000041\","
                      "\"joined_at\":\"2026-08-01T10:00:00+08:00\"}",
                      (long long)guide),
                 201);
    int64_t late = jint(o, "id");
    json_decref(o);
    grant(late, "wecom");
    static const char *const reach[] = {"sms_opt_in", "add_guide_contact"};
    for (int i = 0; i < 2; i++)
        CHECK_INT_EQ(
            call("POST", "/api/v1/events", NULL,
                 "{\"member_id\":%lld,\"type\":\"%s\",\"at\":\"2026-08-01T10:00:00+08:00\"}",
                 (long long)late, reach[i]),
            201);
    tick();
    CHECK_INT_EQ(member_messages(late), 0);
    o = report(j);
    CHECK_INT_EQ(jint(o, "steps.1.outcomes.stale"), 1);
    CHECK_INT_EQ(jint(o, "steps.3.outcomes.stale"), 1);
    json_decref(o);
    set_state(j, "pause");
}

/* Item 7: the dry run walks the waits (a wait longer than the window reaches nobody at
 * the later step); zero conversions on both sides give a real interval. */
static void dry_run_and_intervals(void)
{
    set_now("2026-10-28T10:00:00+08:00");
    int64_t ms[3];
    for (int i = 0; i < 3; i++) {
        char phone[16];
        snprintf(phone, sizeof phone, "1380000005%d", i);
        ms[i] = member(phone, "模拟", 0, true, false);
        order(ms[i], "2026-10-28T10:00:00+08:00");
    }
    set_now("2026-11-01T10:00:00+08:00");
    json_t *o;
    CHECK_INT_EQ(
        call(
            "POST", "/api/v1/journeys", &o,
            "{\"name\":\"模拟\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":0,"
            "\"reentry\":{\"policy\":\"once\"},\"steps\":["
            "{\"id\":\"a\",\"action\":\"send_message\",\"channel\":\"sms\",\"template\":\"一\"},"
            "{\"id\":\"w\",\"action\":\"wait\",\"duration\":\"10d\"},"
            "{\"id\":\"b\",\"action\":\"send_message\",\"channel\":\"sms\",\"template\":\"二\"}]}"),
        201);
    int64_t j = jint(o, "id");
    json_decref(o);
    /* who paid in the last 5 days, counted with SQL */
    int64_t since = 0;
    time_parse_rfc3339("2026-10-27T10:00:00+08:00", &since);
    int64_t want = db_int("SELECT count(DISTINCT member_id) FROM orders WHERE placed_at >= ?1"
                          " AND member_id IS NOT NULL",
                          since, 0);
    CHECK_INT_EQ(want, 3);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/dry-run", (long long)j);
    CHECK_INT_EQ(call("POST", path, &o, "{\"days\":5}"), 200);
    CHECK_INT_EQ(jint(o, "would_enter"), want);
    CHECK_INT_EQ(jint(o, "steps.0.reached"), want);
    CHECK_INT_EQ(jint(o, "steps.0.messages"), want);
    CHECK_INT_EQ(jint(o, "steps.1.reached"), want);
    CHECK_INT_EQ(jint(o, "steps.1.waiting"), want);
    CHECK_INT_EQ(jint(o, "steps.2.reached"), 0);
    CHECK_INT_EQ(jint(o, "steps.2.messages"), 0);
    json_decref(o);

    /* a date trigger: members who joined 2 days before each day of the window enter then,
     * and wait a day after it; those who joined exactly 2 days ago still wait */
    CHECK_INT_EQ(call("POST", "/api/v1/journeys", &o,
                      "{\"name\":\"入会第2天\",\"trigger\":{\"date\":\"after_join\",\"days\":2},"
                      "\"holdout_pct\":0,\"steps\":[{\"action\":\"wait\",\"after_trigger\":\"1d\"},"
                      "{\"action\":\"exit\"}]}"),
                 201);
    int64_t dj = jint(o, "id");
    json_decref(o);
    int64_t now = 0;
    time_parse_rfc3339("2026-11-01T10:00:00+08:00", &now);
    int64_t today = (now + 8 * 3600) / 86400, joined_in = 0, joined_last = 0;
    char day[32];
    snprintf(day, sizeof day, "%lld", (long long)today);
    const char *arg = day;
    long long joined[2] = {-1, -1}; /* joined 2 to 11 days ago, and exactly 2 */
    CHECK_INT_EQ(db_query("SELECT count(*) FILTER (WHERE d >= 2 AND d <= 2 + 10 - 1),"
                          " count(*) FILTER (WHERE d = 2) FROM"
                          " (SELECT ?1 - (joined_at + 28800) / 86400 AS d FROM members) AS x",
                          &arg, 1, joined, 2),
                 0);
    joined_in = joined[0];
    joined_last = joined[1];
    CHECK(joined_in > 0);
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/dry-run", (long long)dj);
    CHECK_INT_EQ(call("POST", path, &o, "{\"days\":10}"), 200);
    CHECK_INT_EQ(jint(o, "would_enter"), joined_in);
    CHECK_INT_EQ(jint(o, "steps.0.waiting"), joined_last);
    CHECK_INT_EQ(jint(o, "steps.1.reached"), joined_in - joined_last);
    CHECK_INT_EQ(jint(o, "runs.exited"), joined_in - joined_last);
    json_decref(o);

    /* nobody converts on either side: the interval is not [0, 0] */
    int64_t g = journey(
        "{\"name\":\"零转化\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":50,"
        "\"reentry\":{\"policy\":\"once\"},\"goal\":{\"event\":\"refund\",\"within_days\":7},"
        "\"steps\":[{\"action\":\"wait\",\"duration\":\"1h\"}]}");
    tick();
    for (int i = 0; i < 24; i++) {
        char phone[16];
        snprintf(phone, sizeof phone, "138000001%02d", i);
        order(member(phone, "零", 0, false, false), "2026-11-01T10:00:00+08:00");
    }
    tick();
    o = report(g);
    int64_t nt = jint(o, "goal.treatment.members"), nh = jint(o, "goal.holdout.members");
    CHECK_INT_EQ(nt + nh, 24);
    CHECK(nt > 0 && nh > 0);
    CHECK_INT_EQ(jint(o, "goal.treatment.converted"), 0);
    CHECK_INT_EQ(jint(o, "goal.holdout.converted"), 0);
    double lo = json_real_value(jget(o, "goal.uplift_ci95.0")),
           hi = json_real_value(jget(o, "goal.uplift_ci95.1"));
    CHECK(lo < 0 && hi > 0);
    double l, ut, uh;
    wilson(0, nt, &l, &ut);
    wilson(0, nh, &l, &uh);
    CHECK_NEAR(lo, -uh, 1e-9);
    CHECK_NEAR(hi, ut, 1e-9);
    CHECK_NEAR(json_real_value(jget(o, "goal.treatment.rate_ci95.1")), ut, 1e-9);
    json_decref(o);
    set_state(g, "pause");
}

/* Every JSON example of docs/journeys.md is accepted by the real server: definitions
 * are saved and activated, the guardrail settings are stored. */
static void docs_examples(void)
{
    const char *docs = getenv("SIYU_DOCS");
    if (!docs) {
        fprintf(stderr, "SIYU_DOCS not set: the docs examples are not checked\n");
        CHECK(docs != NULL);
        return;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/journeys.md", docs);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return;
    static char text[1 << 17];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    int definitions = 0, others = 0;
    for (char *p = strstr(text, "```json\n"); p; p = strstr(p, "```json\n")) {
        p += 8;
        char *end = strstr(p, "```");
        if (!end) break;
        *end = 0;
        json_error_t err;
        json_t *ex = json_loads(p, 0, &err);
        if (!ex) fprintf(stderr, "docs/journeys.md: %s\n%s\n", err.text, p);
        CHECK(ex != NULL);
        if (ex && json_object_get(ex, "trigger")) {
            char name[64];
            snprintf(name, sizeof name, "文档示例 %d", ++definitions);
            json_object_set_new(ex, "name", json_string(name));
            char *body = json_dumps(ex, JSON_COMPACT);
            json_t *o;
            int st = call("POST", "/api/v1/journeys", &o, "%s", body);
            if (st != 201) fprintf(stderr, "docs example %d: %s\n", definitions, body);
            CHECK_INT_EQ(st, 201);
            char act[96];
            snprintf(act, sizeof act, "/api/v1/journeys/%lld/activate", (long long)jint(o, "id"));
            json_decref(o);
            if (st == 201) {
                CHECK_INT_EQ(call("POST", act, NULL, NULL), 200);
                *strrchr(act, '/') = 0;
                strcat(act, "/dry-run");
                CHECK_INT_EQ(call("POST", act, NULL, "{\"days\":60}"), 200);
            }
            free(body);
        } else if (ex && json_object_get(ex, "budget_max")) {
            char *body = json_dumps(ex, JSON_COMPACT);
            CHECK_INT_EQ(call("PUT", "/api/v1/journeys/guardrails", NULL, "%s", body), 200);
            free(body);
            others++;
        }
        json_decref(ex);
        p = end + 3;
    }
    CHECK(definitions >= 2);
    CHECK(others >= 1);
    CHECK_INT_EQ(call("PUT", "/api/v1/journeys/guardrails", NULL, "{}"), 200);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_journeys PATH_TO_SIYU\n");
        return 2;
    }
    if (sodium_init() < 0) return 1;
    received = json_array();
    webhook_rx wrx;
    CHECK(webhook_rx_start(&wrx, SECRET, on_webhook, NULL) == 0);
    rx_port = wrx.port;
    snprintf(clock_path, sizeof clock_path, "/tmp/siyu-clock-%d", (int)getpid());
    set_now("2026-03-01T10:00:00+08:00");
    setenv("SIYU_NOW_FILE", clock_path, 1);
    setenv("SIYU_TICK_SECONDS", "0", 1);
    setenv("SIYU_SWEEP_SECONDS", "0", 1);
    pid_t pid = harness_start(argv[1]);
    fd = conn_open();
    CHECK_INT_EQ(call("POST", "/api/v1/stores", NULL,
                      "{\"name\":\"湖滨店\",\"code\":\"S1\",\"kind\":\"physical\"}"),
                 201);
    CHECK_INT_EQ(
        call("PUT", "/api/v1/channels/sms", NULL,
             "{\"adapter\":\"webhook\",\"url\":\"http://127.0.0.1:%d/hook\",\"secret\":\"" SECRET
             "\",\"backoff_base_ms\":60000}",
             rx_port),
        200);
    bad_definitions();
    payment_journey();
    series();
    holdout();
    pause_edit_dry_run();
    segment_entry();
    pid = kill9(pid);
    close(fd);
    CHECK_INT_EQ(harness_stop(pid), 0);

    /* a fresh server: what a new chain meets in its first weeks */
    pid = harness_start(argv[1]);
    fd = conn_open();
    CHECK_INT_EQ(call("POST", "/api/v1/stores", NULL,
                      "{\"name\":\"湖滨店\",\"code\":\"S1\",\"kind\":\"physical\"}"),
                 201);
    CHECK_INT_EQ(
        call("PUT", "/api/v1/channels/sms", NULL,
             "{\"adapter\":\"webhook\",\"url\":\"http://127.0.0.1:%d/hook\",\"secret\":\"" SECRET
             "\"}",
             rx_port),
        200);
    activation_before_first_tick();
    wait_for_event_completed_by_order();
    failing_step_fails_its_run();
    references_checked();
    coupon_outcomes();
    trigger_timed_waits();
    dry_run_and_intervals();
    docs_examples();
    close(fd);
    CHECK_INT_EQ(harness_stop(pid), 0);
    webhook_rx_stop(&wrx);
    unlink(clock_path);
    json_decref(received);
    return CHECK_DONE();
}
