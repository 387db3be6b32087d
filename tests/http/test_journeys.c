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

typedef struct upload {
    char *data;
    size_t len;
} upload;

static enum MHD_Result rx(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                          const char *version, const char *data, size_t *size, void **ctx)
{
    (void)cls, (void)url, (void)method, (void)version;
    upload *u = *ctx;
    if (!u) {
        *ctx = calloc(1, sizeof *u);
        return MHD_YES;
    }
    if (*size) {
        u->data = realloc(u->data, u->len + *size + 1);
        memcpy(u->data + u->len, data, *size);
        u->len += *size;
        u->data[u->len] = 0;
        *size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&attempts_seen, 1);
    int status = 200;
    if (atomic_load(&fail_next) > 0) {
        atomic_fetch_sub(&fail_next, 1);
        status = 503;
    } else {
        const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Siyu-Signature");
        const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, (const unsigned char *)SECRET, strlen(SECRET));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)(u->data ? u->data : ""), u->len);
        crypto_auth_hmacsha256_final(&st, mac);
        char want[80] = "sha256=";
        sodium_bin2hex(want + 7, sizeof want - 7, mac, sizeof mac);
        if (!sig || strcmp(sig, want) != 0) {
            atomic_fetch_add(&bad_signatures, 1);
            status = 401;
        } else {
            json_t *body = json_loads(u->data ? u->data : "", 0, NULL);
            pthread_mutex_lock(&rx_lock);
            json_array_append_new(
                received,
                json_pack("{s:o, s:s}", "body", body ? body : json_null(), "key", key ? key : ""));
            pthread_mutex_unlock(&rx_lock);
        }
    }
    free(u->data);
    free(u);
    *ctx = NULL;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
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

static int64_t member(const char *phone, const char *name, int64_t guide, bool sms, bool wechat)
{
    json_t *o;
    char extra[64] = "";
    if (guide) snprintf(extra, sizeof extra, ",\"guide_id\":%lld", (long long)guide);
    CHECK_INT_EQ(call("POST", "/api/v1/members", &o,
                      "{\"phone\":\"%s\",\"name\":\"%s\",\"store_id\":1%s}", phone, name, extra),
                 201);
    int64_t id = jint(o, "id");
    json_decref(o);
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
                "\"template\":\"谢谢\"}]}");
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
                      "{\"name\":\"王导购\",\"role\":\"guide\",\"store_id\":1}"),
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
        "\"fallback\":[\"wechat_template\"],\"timeout\":\"2h\",\"template\":\"企微问候\"}]}");
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
    double se = sqrt(rt * (1 - rt) / (double)treated + rh * (1 - rh) / (double)held);
    CHECK_NEAR(json_real_value(jget(o, "goal.uplift_ci95.0")), rt - rh - 1.96 * se, 1e-9);
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
    CHECK_INT_EQ(db_query("SELECT count(*), count(DISTINCT run_id), (SELECT count(*) FROM"
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

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_journeys PATH_TO_SIYU\n");
        return 2;
    }
    if (sodium_init() < 0) return 1;
    received = json_array();
    rx_port = free_port();
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)rx_port,
                                            NULL, NULL, rx, NULL, MHD_OPTION_END);
    CHECK(d != NULL);
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
    MHD_stop_daemon(d);
    unlink(clock_path);
    json_decref(received);
    return CHECK_DONE();
}
