/* test_messaging.c — messages, channels and consent against the real server and a real
 * webhook receiver on loopback (signatures checked here with libsodium).
 *
 * The test owns the clock (SIYU_NOW_FILE) and ticks the scheduler itself. Covered:
 *   - file adapters write only inside the outbox directory: an absolute path, "..", and
 *     a symbolic link that leads out are 400 naming `path`, and nothing is created;
 *   - one consent model: an opt-out through /consents removes the member from reach.sms
 *     counts, the online rate and journey sms sends, and shows in the member 360 (the
 *     sms_opt_in event and /consents write the same record);
 *   - every message carries its address for its channel (phone, openid + app id, the
 *     member's external userid + the guide's userid) and a WeChat template message its
 *     template id and named data; a member with no address is skipped with a reason.
 * Run: test_messaging PATH_TO_SIYU */
#include <check.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "harness.h"
#include "webhook_rx.h"

#define SECRET "test-secret-0123456789abcdef"

static int fd;
static char buf[1 << 16];
static char clock_path[128];

static void set_now(const char *rfc3339)
{
    FILE *f = fopen(clock_path, "w");
    fprintf(f, "%s\n", rfc3339);
    fclose(f);
}

/* ---------------- the receiver ---------------- */

static pthread_mutex_t rx_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *received; /* every accepted body */
static atomic_int bad_signatures;

/* When set, the receiver erases this member (as an admin, on its own connection) while
 * siyu waits for its answer, then answers 503 (not received): an erasure landing mid-send. */
static atomic_llong erase_during_send;

static int on_webhook(void *ctx, json_t *body, const char *key, bool signature_ok)
{
    (void)ctx, (void)key;
    if (!signature_ok) {
        atomic_fetch_add(&bad_signatures, 1);
        return 401;
    }
    long long victim = atomic_exchange(&erase_during_send, 0);
    if (victim) {
        char path[96], out[4096];
        snprintf(path, sizeof path, "/api/v1/members/%lld/erase", victim);
        int c = conn_open();
        int st =
            request_as(c, token, "POST", path, "{\"reason\":\"asked by phone\"}", out, sizeof out);
        close(c);
        return st == 200 ? 503 : 500;
    }
    pthread_mutex_lock(&rx_lock);
    json_array_append(received, body ? body : json_null());
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

/* The i-th received body (a new reference). */
static json_t *received_body(size_t i)
{
    pthread_mutex_lock(&rx_lock);
    json_t *b = json_incref(json_array_get(received, i));
    pthread_mutex_unlock(&rx_lock);
    return b;
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

static void tick(void)
{
    CHECK_INT_EQ(call("POST", "/api/v1/journeys/tick", NULL, NULL), 200);
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

static int64_t create(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int64_t create(const char *path, const char *fmt, ...)
{
    char body[4000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    json_t *o;
    int st = call("POST", path, &o, "%s", body);
    if (st != 201) fprintf(stderr, "POST %s %s -> %d %s\n", path, body, st, buf);
    CHECK_INT_EQ(st, 201);
    int64_t id = jint(o, "id");
    json_decref(o);
    return id;
}

static void event(int64_t m, const char *type, const char *at)
{
    CHECK_INT_EQ(call("POST", "/api/v1/events", NULL,
                      "{\"member_id\":%lld,\"type\":\"%s\",\"at\":\"%s\"}", (long long)m, type, at),
                 201);
}

/* A marketing consent for a channel: without one, a member is never messaged on it. */
static void grant(int64_t m, const char *channel, bool granted)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)m);
    CHECK_INT_EQ(call("POST", path, NULL,
                      "{\"purpose\":\"marketing\",\"channel\":\"%s\",\"granted\":%s,"
                      "\"source\":\"miniprogram\",\"text_version\":\"mp-3\"}",
                      channel, granted ? "true" : "false"),
                 200);
}

static int64_t seg_count(const char *expr)
{
    json_t *o;
    CHECK_INT_EQ(call("POST", "/api/v1/segments/count", &o, "{\"expr\":\"%s\"}", expr), 200);
    int64_t n = jint(o, "count");
    json_decref(o);
    return n;
}

/* current reachable_members.sms and online_rate.sms of the KPI report */
static void kpi_sms(int64_t *reachable, double *rate)
{
    json_t *o;
    CHECK_INT_EQ(call("GET", "/api/v1/reports/kpi?from=2026-03-01&to=2026-03-31", &o, NULL), 200);
    *reachable = jint(o, "current.reachable_members.sms");
    json_t *r = jget(o, "current.online_rate.sms");
    *rate = json_is_number(r) ? json_number_value(r) : -1;
    json_decref(o);
}

static json_t *messages(int64_t m)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/messages?member_id=%lld&limit=100", (long long)m);
    json_t *o;
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    return o;
}

static size_t n_messages(int64_t m)
{
    json_t *o = messages(m);
    size_t n = json_array_size(json_object_get(o, "items"));
    json_decref(o);
    return n;
}

/* ---------------- the outbox directory ---------------- */

static void outbox_dir(void)
{
    char p[256], q[256], outside[128];
    snprintf(outside, sizeof outside, "%s/outside", dir);
    CHECK_INT_EQ(mkdir(outside, 0750), 0);
    snprintf(p, sizeof p, "%s/evil.ndjson", outside);
    json_t *o;
    const char *bad[] = {p, "../evil.ndjson", "../outside/evil.ndjson", "a/../../evil.ndjson",
                         "link/evil.ndjson"};
    /* a directory link inside the outbox that leads out */
    snprintf(q, sizeof q, "%s/outbox", dir);
    mkdir(q, 0750);
    snprintf(q, sizeof q, "%s/outbox/link", dir);
    CHECK_INT_EQ(symlink(outside, q), 0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int st = call("PUT", "/api/v1/channels/sms", &o, "{\"adapter\":\"file\",\"path\":\"%s\"}",
                      bad[i]);
        CHECK_INT_EQ(st, 400);
        CHECK_STR_EQ(jstr(o, "error.field"), "path");
        json_decref(o);
    }
    struct stat sb;
    CHECK(stat(p, &sb) != 0);
    snprintf(p, sizeof p, "%s/evil.ndjson", dir);
    CHECK(stat(p, &sb) != 0);
    /* inside is fine: the file lands in the outbox beside the store */
    CHECK_INT_EQ(call("PUT", "/api/v1/channels/wechat_template", &o,
                      "{\"adapter\":\"file\",\"path\":\"wx.ndjson\"}"),
                 200);
    CHECK_STR_EQ(jstr(o, "binding.path"), "wx.ndjson");
    json_decref(o);
    snprintf(p, sizeof p, "%s/outbox/wx.ndjson", dir);
    CHECK_INT_EQ(stat(p, &sb), 0);
}

/* ---------------- one consent model ---------------- */

static void consent(void)
{
    int64_t a =
        create("/api/v1/members", "{\"phone\":\"13800000001\",\"name\":\"王芳\",\"store_id\":1}");
    int64_t b =
        create("/api/v1/members", "{\"phone\":\"13800000002\",\"name\":\"李雷\",\"store_id\":1}");
    event(a, "sms_opt_in", "2026-03-01T09:00:00+08:00");
    event(b, "sms_opt_in", "2026-03-01T09:00:00+08:00");
    CHECK_INT_EQ(seg_count("reach.sms"), 2);
    int64_t reach;
    double rate;
    kpi_sms(&reach, &rate);
    CHECK_INT_EQ(reach, 2);
    CHECK(rate > 0.99 && rate < 1.01);
    CHECK_INT_EQ(call("POST", "/api/v1/journeys", NULL,
                      "{\"name\":\"谢谢\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":0,"
                      "\"steps\":[{\"action\":\"send_message\","
                      "\"channel\":\"sms\",\"template\":\"{{member.name}}，谢谢光临\"}]}"),
                 201);
    CHECK_INT_EQ(call("POST", "/api/v1/journeys/1/activate", NULL, "{}"), 200);
    tick();
    set_now("2026-03-02T10:01:00+08:00");
    order(a, "2026-03-02T10:00:00+08:00");
    order(b, "2026-03-02T10:00:00+08:00");
    tick();
    CHECK_INT_EQ((int64_t)n_messages(a), 1);
    CHECK_INT_EQ((int64_t)n_messages(b), 1);

    /* a withdraws marketing consent for sms at the till */
    json_t *o;
    char path[96];
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)a);
    CHECK_INT_EQ(call("POST", path, &o,
                      "{\"purpose\":\"marketing\",\"channel\":\"sms\",\"granted\":false,"
                      "\"source\":\"till\",\"text_version\":\"v2\"}"),
                 200);
    CHECK_STR_EQ(jstr(o, "consents.0.channel"), "sms");
    CHECK(json_is_false(jget(o, "consents.0.granted")));
    json_decref(o);
    CHECK_INT_EQ(seg_count("reach.sms"), 1);
    kpi_sms(&reach, &rate);
    CHECK_INT_EQ(reach, 1);
    CHECK(rate > 0.49 && rate < 0.51);
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)a);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK(json_is_false(jget(o, "reachability.sms")));
    CHECK_STR_EQ(jstr(o, "consents.0.purpose"), "marketing");
    CHECK_STR_EQ(jstr(o, "consents.0.source"), "till");
    CHECK_STR_EQ(jstr(o, "consents.0.text_version"), "v2");
    json_decref(o);
    /* the next order messages b, not a */
    set_now("2026-03-10T10:01:00+08:00");
    order(a, "2026-03-10T10:00:00+08:00");
    order(b, "2026-03-10T10:00:00+08:00");
    tick();
    CHECK_INT_EQ((int64_t)n_messages(a), 1);
    CHECK_INT_EQ((int64_t)n_messages(b), 2);

    /* the event path writes the same record: opting in again by event restores it all */
    set_now("2026-03-10T11:00:00+08:00");
    event(a, "sms_opt_in", "2026-03-10T11:00:00+08:00");
    CHECK_INT_EQ(seg_count("reach.sms"), 2);
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)a);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_STR_EQ(jstr(o, "consents.0.source"), "event");
    CHECK(json_is_true(jget(o, "consents.0.granted")));
    json_decref(o);
    /* the first body shape still works, and is the same model */
    CHECK_INT_EQ(call("POST", path, NULL, "{\"channel\":\"sms\",\"opted_out\":true}"), 200);
    CHECK_INT_EQ(seg_count("reach.sms"), 1);
    /* bad bodies name their field and write nothing */
    CHECK_INT_EQ(
        call("POST", path, &o, "{\"purpose\":\"ads\",\"channel\":\"sms\",\"granted\":true}"), 400);
    CHECK_STR_EQ(jstr(o, "error.field"), "purpose");
    json_decref(o);
    CHECK_INT_EQ(
        call("POST", path, &o, "{\"purpose\":\"marketing\",\"channel\":\"fax\",\"granted\":true}"),
        400);
    CHECK_STR_EQ(jstr(o, "error.field"), "channel");
    json_decref(o);
    CHECK_INT_EQ(call("POST", path, &o,
                      "{\"purpose\":\"marketing\",\"channel\":\"sms\",\"granted\":true,"
                      "\"source\":\"fax\"}"),
                 400);
    CHECK_STR_EQ(jstr(o, "error.field"), "source");
    json_decref(o);
    CHECK_INT_EQ(seg_count("reach.sms"), 1);
    CHECK_INT_EQ(call("POST", "/api/v1/journeys/1/pause", NULL, "{}"), 200);
}

/* ---------------- addresses and template messages ---------------- */

/* The body the receiver got for a message id, or NULL (a new reference). */
static json_t *received_for(int64_t message_id)
{
    for (size_t i = received_count(); i-- > 0;) {
        json_t *b = received_body(i);
        if (jint(b, "message_id") == message_id) return b;
        json_decref(b);
    }
    return NULL;
}

/* A message made while the member could be messaged, still in the outbox (its first
 * attempt failed) when they opt out: it is never sent, and says why. */
static void consent_after_queue(int rx_port)
{
    /* the sms receiver is down: its port refuses every connection */
    int dead_sock;
    int dead_port = refusing_port(&dead_sock);
    CHECK(dead_port > 0);
    CHECK_INT_EQ(
        call("PUT", "/api/v1/channels/sms", NULL,
             "{\"adapter\":\"webhook\",\"url\":\"http://127.0.0.1:%d/hook\",\"secret\":\"" SECRET
             "\"}",
             dead_port),
        200);
    set_now("2026-03-12T10:00:00+08:00");
    int64_t m =
        create("/api/v1/members", "{\"phone\":\"13800000009\",\"name\":\"周敏\",\"store_id\":1}");
    event(m, "sms_opt_in", "2026-03-12T09:00:00+08:00");
    int64_t j =
        create("/api/v1/journeys", "{\"name\":\"退订之后\",\"trigger\":{\"event\":\"order_paid\"},"
                                   "\"holdout_pct\":0,\"steps\":[{\"action\":\"send_message\","
                                   "\"channel\":\"sms\",\"template\":\"{{member.name}}，谢谢\"}]}");
    char path[96];
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/activate", (long long)j);
    CHECK_INT_EQ(call("POST", path, NULL, "{}"), 200);
    tick();
    set_now("2026-03-12T10:01:00+08:00");
    order(m, "2026-03-12T10:00:00+08:00");
    tick();
    json_t *o = messages(m);
    CHECK_INT_EQ((int64_t)json_array_size(jget(o, "items")), 1);
    int64_t id = jint(o, "items.0.id");
    CHECK_STR_EQ(jstr(o, "items.0.status"), "retry");
    json_decref(o);
    /* the member opts out; the receiver is back; the retry falls due */
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)m);
    CHECK_INT_EQ(call("POST", path, NULL,
                      "{\"purpose\":\"marketing\",\"channel\":\"sms\",\"granted\":false,"
                      "\"source\":\"miniprogram\"}"),
                 200);
    CHECK_INT_EQ(
        call("PUT", "/api/v1/channels/sms", NULL,
             "{\"adapter\":\"webhook\",\"url\":\"http://127.0.0.1:%d/hook\",\"secret\":\"" SECRET
             "\"}",
             rx_port),
        200);
    set_now("2026-03-13T10:00:00+08:00");
    tick();
    json_t *got = received_for(id);
    CHECK(got == NULL);
    json_decref(got);
    o = messages(m);
    CHECK_STR_EQ(jstr(o, "items.0.status"), "skipped");
    CHECK(strstr(jstr(o, "items.0.error"), "consent") != NULL);
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/pause", (long long)j);
    CHECK_INT_EQ(call("POST", path, NULL, "{}"), 200);
    close(dead_sock);
}

/* A message in flight when its member is erased: the erasure skips it, and the answer
 * that comes back afterwards (here: try again later) neither revives it nor writes on
 * it — it is never sent again. */
static void erased_while_sending(void)
{
    set_now("2026-03-12T11:00:00+08:00");
    int64_t m =
        create("/api/v1/members", "{\"phone\":\"13800000012\",\"name\":\"郑洁\",\"store_id\":1}");
    event(m, "sms_opt_in", "2026-03-12T10:59:00+08:00");
    int64_t j =
        create("/api/v1/journeys", "{\"name\":\"擦除之中\",\"trigger\":{\"event\":\"order_paid\"},"
                                   "\"holdout_pct\":0,\"steps\":[{\"action\":\"send_message\","
                                   "\"channel\":\"sms\",\"template\":\"{{member.name}}，您好\"}]}");
    char path[96];
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/activate", (long long)j);
    CHECK_INT_EQ(call("POST", path, NULL, "{}"), 200);
    tick();
    order(m, "2026-03-12T10:59:30+08:00");
    size_t before = received_count();
    atomic_store(&erase_during_send, (long long)m);
    tick(); /* the run queues the message; the dispatch sends it; the receiver erases */
    CHECK_INT_EQ(atomic_load(&erase_during_send), 0); /* the receiver was called */
    CHECK_INT_EQ((int64_t)(received_count() - before), 0);
    json_t *o = messages(m);
    CHECK_INT_EQ((int64_t)json_array_size(jget(o, "items")), 1);
    CHECK_STR_EQ(jstr(o, "items.0.status"), "skipped");
    CHECK(jget(o, "items.0.error") == NULL || json_is_null(jget(o, "items.0.error")));
    json_decref(o);
    set_now("2026-03-13T11:00:00+08:00");
    tick();
    CHECK_INT_EQ((int64_t)(received_count() - before), 0); /* never again */
    o = messages(m);
    CHECK_STR_EQ(jstr(o, "items.0.status"), "skipped");
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/pause", (long long)j);
    CHECK_INT_EQ(call("POST", path, NULL, "{}"), 200);
}

/* An opt-in stamped a few minutes ahead (a device clock running fast, within the
 * tolerance events and consents allow) must not outlive the member's opt-out a minute
 * later: the withdrawal answers 200 and is what the consent says from then on. */
static void consent_ahead_of_clock(void)
{
    set_now("2026-03-14T10:00:00+08:00");
    int64_t m =
        create("/api/v1/members", "{\"phone\":\"13800000010\",\"name\":\"吴昊\",\"store_id\":1}");
    event(m, "sms_opt_in", "2026-03-14T10:04:00+08:00");
    set_now("2026-03-14T10:01:00+08:00");
    char path[96];
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)m);
    json_t *o;
    CHECK_INT_EQ(call("POST", path, &o,
                      "{\"purpose\":\"marketing\",\"channel\":\"sms\",\"granted\":false,"
                      "\"source\":\"till\"}"),
                 200);
    CHECK(json_is_false(jget(o, "consents.0.granted")));
    json_decref(o);
    set_now("2026-03-14T10:10:00+08:00");
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK(json_is_false(jget(o, "consents.0.granted")));
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)m);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK(json_is_false(jget(o, "reachability.sms")));
    json_decref(o);
}

static void addresses(int rx_port)
{
    CHECK_INT_EQ(
        call("PUT", "/api/v1/channels/wechat_template", NULL,
             "{\"adapter\":\"webhook\",\"url\":\"http://127.0.0.1:%d/hook\",\"secret\":\"" SECRET
             "\"}",
             rx_port),
        200);
    json_t *o;
    /* a send on wechat_template needs its template id and data fields */
    CHECK_INT_EQ(call("POST", "/api/v1/journeys", &o,
                      "{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{"
                      "\"action\":\"send_message\",\"channel\":\"sms\",\"fallback\":["
                      "\"wechat_template\"],\"template\":\"hi\"}]}"),
                 400);
    CHECK_STR_EQ(jstr(o, "error.field"), "steps[0].wechat_template");
    json_decref(o);
    CHECK_INT_EQ(call("POST", "/api/v1/journeys", &o,
                      "{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{"
                      "\"action\":\"send_message\",\"channel\":\"wechat_template\",\"template\":"
                      "\"hi\",\"wechat_template\":{\"template_id\":\"T\",\"data\":{\"first\":"
                      "\"{{member.nmae}}\"}}}]}"),
                 400);
    CHECK_STR_EQ(jstr(o, "error.field"), "steps[0].wechat_template.data.first");
    json_decref(o);
    /* public account first, sms as the fallback */
    int64_t j =
        create("/api/v1/journeys",
               "{\"name\":\"地址\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":0,"
               "\"steps\":[{\"action\":\"send_message\",\"channel\":\"wechat_template\","
               "\"fallback\":[\"sms\"],\"template\":\"{{member.name}}，谢谢\","
               "\"wechat_template\":{\"template_id\":\"TM-001\",\"data\":{\"first\":"
               "\"{{member.name}}您好\",\"keyword1\":\"{{store.name}}\"}}}]}");
    char path[96];
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/activate", (long long)j);
    CHECK_INT_EQ(call("POST", path, NULL, "{}"), 200);
    set_now("2026-03-20T10:00:00+08:00");
    tick();
    /* w follows the public account with an openid; p has only a phone; n has neither
     * an openid nor a phone (a card) though it follows and opted in to sms */
    int64_t w = create("/api/v1/members", "{\"phone\":\"13900000031\",\"openid\":\"o-w31\","
                                          "\"app_id\":\"wx-pa\",\"name\":\"张伟\",\"store_id\":1}");
    int64_t p =
        create("/api/v1/members", "{\"phone\":\"13900000032\",\"name\":\"刘洋\",\"store_id\":1}");
    int64_t n =
        create("/api/v1/members", "{\"card_no\":\"C-33\",\"name\":\"陈静\",\"store_id\":1}");
    event(w, "follow_public_account", "2026-03-20T09:00:00+08:00");
    event(p, "sms_opt_in", "2026-03-20T09:00:00+08:00");
    event(n, "follow_public_account", "2026-03-20T09:00:00+08:00");
    event(n, "sms_opt_in", "2026-03-20T09:00:00+08:00");
    grant(w, "wechat_template", true);
    grant(n, "wechat_template", true);
    size_t before = received_count();
    order(w, "2026-03-20T10:00:00+08:00");
    order(p, "2026-03-20T10:00:00+08:00");
    order(n, "2026-03-20T10:00:00+08:00");
    set_now("2026-03-20T10:05:00+08:00");
    tick();
    CHECK_INT_EQ((int64_t)received_count(), (int64_t)before + 2);
    /* w: a WeChat template message to its openid and app id */
    json_t *m = messages(w);
    CHECK_STR_EQ(jstr(m, "items.0.channel"), "wechat_template");
    CHECK_STR_EQ(jstr(m, "items.0.to.openid"), "o-w31");
    int64_t id = jint(m, "items.0.id");
    json_decref(m);
    json_t *b = received_for(id);
    CHECK(b != NULL);
    CHECK_STR_EQ(jstr(b, "to.openid"), "o-w31");
    CHECK_STR_EQ(jstr(b, "to.app_id"), "wx-pa");
    CHECK_STR_EQ(jstr(b, "template.template_id"), "TM-001");
    CHECK_STR_EQ(jstr(b, "template.data.first.value"), "张伟您好");
    CHECK_STR_EQ(jstr(b, "template.data.keyword1.value"), "湖滨店");
    CHECK_STR_EQ(jstr(b, "text"), "张伟，谢谢");
    json_decref(b);
    /* p: the public account is not reachable, so sms, to its phone */
    m = messages(p);
    CHECK_STR_EQ(jstr(m, "items.0.channel"), "sms");
    id = jint(m, "items.0.id");
    json_decref(m);
    b = received_for(id);
    CHECK(b != NULL);
    CHECK_STR_EQ(jstr(b, "to.phone"), "13900000032");
    CHECK(jget(b, "template") == NULL);
    json_decref(b);
    /* n: reachable and consenting on both, but no address on either: skipped, counted */
    CHECK_INT_EQ((int64_t)n_messages(n), 0);
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/report", (long long)j);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    json_t *oc = jget(o, "steps.0.outcomes");
    CHECK_INT_EQ(json_integer_value(json_object_get(oc, "no_address")), 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(oc, "sent")), 2);
    json_decref(o);

    /* consent is the rule on every channel: q follows the public account, is a guide's
     * WeCom contact and has a phone, but never gave a marketing consent — nothing
     * reaches the receiver; one that withdrew hers (r) gets nothing either. A consent
     * granted later lets the next message through. */
    int64_t q = create("/api/v1/members", "{\"phone\":\"13900000034\",\"openid\":\"o-q34\","
                                          "\"app_id\":\"wx-pa\",\"name\":\"孙丽\",\"store_id\":1}");
    int64_t rr =
        create("/api/v1/members", "{\"phone\":\"13900000035\",\"openid\":\"o-r35\","
                                  "\"app_id\":\"wx-pa\",\"name\":\"周敏\",\"store_id\":1}");
    set_now("2026-03-21T09:30:00+08:00");
    event(q, "follow_public_account", "2026-03-21T09:00:00+08:00");
    event(q, "add_guide_contact", "2026-03-21T09:00:00+08:00");
    event(rr, "follow_public_account", "2026-03-21T09:00:00+08:00");
    grant(rr, "wechat_template", true);
    grant(rr, "wechat_template", false);
    before = received_count();
    order(q, "2026-03-21T10:00:00+08:00");
    order(rr, "2026-03-21T10:00:00+08:00");
    set_now("2026-03-21T10:05:00+08:00");
    tick();
    CHECK_INT_EQ((int64_t)received_count(), (int64_t)before);
    CHECK_INT_EQ((int64_t)n_messages(q), 0);
    CHECK_INT_EQ((int64_t)n_messages(rr), 0);
    grant(q, "wechat_template", true);
    order(q, "2026-03-21T11:00:00+08:00");
    set_now("2026-03-21T11:05:00+08:00");
    tick();
    CHECK_INT_EQ((int64_t)received_count(), (int64_t)before + 1);
    m = messages(q);
    CHECK_STR_EQ(jstr(m, "items.0.channel"), "wechat_template");
    json_decref(m);
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/pause", (long long)j);
    CHECK_INT_EQ(call("POST", path, NULL, "{}"), 200);
}

/* ---------------- the library's coupons ---------------- */

/* The ready-made post-payment and live journeys each issue their own template, limited
 * per member per period to fit the journey: a member who buys twice in a month gets
 * two post-payment coupons and a live coupon besides (with one lifetime-limited
 * template for all, every coupon after the first failed). */
static void library_coupons(void)
{
    json_t *lib;
    CHECK_INT_EQ(call("GET", "/api/v1/journey-library", &lib, NULL), 200);
    /* the templates the library names, created in id order */
    int64_t want = 1;
    json_t *specs[8] = {0};
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(lib, "items"), i, it)
    {
        json_t *steps = jget(it, "definition.steps");
        size_t k;
        json_t *st;
        json_array_foreach(steps, k, st)
        {
            json_t *tid = json_object_get(st, "template_id");
            if (json_is_integer(tid) && json_integer_value(tid) < 8)
                specs[json_integer_value(tid)] = json_object_get(it, "coupon_template");
        }
    }
    for (want = 1; want < 7; want++) {
        char *text = specs[want] ? json_dumps(specs[want], JSON_COMPACT)
                                 : strdup("{\"name\":\"其他\",\"kind\":\"cash_off\","
                                          "\"value_cents\":100,\"valid_days\":3}");
        CHECK_INT_EQ(create("/api/v1/coupon-templates", "%s", text), want);
        free(text);
    }
    CHECK(specs[4] && specs[6] && specs[1]);
    CHECK_STR_EQ(jstr(specs[6], "per_member_period"), "day");
    json_decref(lib);
    int64_t jp = create("/api/v1/journeys", "{\"from_library\":\"post_payment_coupon\","
                                            "\"holdout_pct\":0}");
    int64_t jl = create("/api/v1/journeys", "{\"from_library\":\"post_live_72h\","
                                            "\"holdout_pct\":0}");
    char path[96];
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/activate", (long long)jp);
    CHECK_INT_EQ(call("POST", path, NULL, "{}"), 200);
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/activate", (long long)jl);
    CHECK_INT_EQ(call("POST", path, NULL, "{}"), 200);
    set_now("2026-04-01T10:00:00+08:00");
    tick();
    int64_t m = create("/api/v1/members", "{\"phone\":\"13900000041\",\"name\":\"周敏\","
                                          "\"store_id\":1}");
    event(m, "sms_opt_in", "2026-04-01T09:00:00+08:00");
    set_now("2026-04-02T10:00:00+08:00");
    order(m, "2026-04-02T10:00:00+08:00");
    event(m, "live_view", "2026-04-02T10:00:00+08:00");
    tick();
    set_now("2026-04-02T13:00:00+08:00"); /* the live journey waits 2 hours */
    tick();
    set_now("2026-04-06T10:00:00+08:00"); /* the live journey's 70-hour wait times out */
    tick();
    set_now("2026-04-10T10:00:00+08:00"); /* after the post-payment journey's 7-day cooldown */
    order(m, "2026-04-10T10:00:00+08:00");
    tick();
    snprintf(path, sizeof path, "/api/v1/members/%lld/coupons", (long long)m);
    json_t *o;
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    int per_tpl[8] = {0};
    json_array_foreach(json_object_get(o, "items"), i, it)
    {
        int64_t t = jint(it, "template_id");
        if (t > 0 && t < 8) per_tpl[t]++;
    }
    json_decref(o);
    CHECK_INT_EQ(per_tpl[4], 2);
    CHECK_INT_EQ(per_tpl[6], 1);
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/report", (long long)jp);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(jint(o, "steps.0.outcomes.coupon_issued"), 2);
    CHECK(jget(o, "steps.0.outcomes.coupon_failed") == NULL);
    json_decref(o);
}

/* ---------------- a per-period limit under concurrency ---------------- */

static int64_t race_template, race_member;
static atomic_int race_ok, race_limited;

static void *race_issue(void *arg)
{
    (void)arg;
    int c = conn_open();
    char body[128], out[4096];
    snprintf(body, sizeof body, "{\"template_id\":%lld,\"member_id\":%lld}",
             (long long)race_template, (long long)race_member);
    for (int k = 0; k < 4; k++) {
        int st = request(c, "POST", "/api/v1/coupons", body, out, sizeof out);
        if (st == 201)
            atomic_fetch_add(&race_ok, 1);
        else if (st == 422 && strstr(out, "per_member_limit"))
            atomic_fetch_add(&race_limited, 1);
    }
    close(c);
    return NULL;
}

/* 16 clients × 4 requests for one member's coupons of a template limited to 3 a day:
 * exactly 3 are issued, every other request is refused for the limit. */
static void limit_race(void)
{
    race_template =
        create("/api/v1/coupon-templates",
               "{\"name\":\"每日3张\",\"kind\":\"cash_off\",\"value_cents\":100,"
               "\"valid_days\":3,\"per_member_limit\":3,\"per_member_period\":\"day\"}");
    race_member = create("/api/v1/members", "{\"phone\":\"13900000051\",\"store_id\":1}");
    pthread_t th[16];
    for (int i = 0; i < 16; i++)
        pthread_create(&th[i], NULL, race_issue, NULL);
    for (int i = 0; i < 16; i++)
        pthread_join(th[i], NULL);
    CHECK_INT_EQ(atomic_load(&race_ok), 3);
    CHECK_INT_EQ(atomic_load(&race_limited), 61);
}

/* /metrics counted what the outbox and the webhook did: every body the receiver accepted is
 * one delivered attempt with its latency, and at least as many messages were sent. */
static void metrics_follow_deliveries(void)
{
    static char m[1 << 20];
    CHECK_INT_EQ(request_hdr(fd, token, "GET", "/metrics", NULL, NULL, m, sizeof m), 200);
    const char *p = strstr(m, "\nsiyu_webhook_attempts_total{outcome=\"delivered\"} ");
    long long delivered = p ? atoll(strchr(p, '}') + 2) : -1;
    CHECK_INT_EQ(delivered, (long long)received_count());
    p = strstr(m, "\nsiyu_webhook_duration_seconds_count ");
    CHECK(p && atoll(strchr(p + 1, ' ') + 1) >= delivered);
    p = strstr(m, "\nsiyu_outbox_messages_total{outcome=\"sent\"} ");
    CHECK(p && atoll(strchr(p, '}') + 2) >= delivered);
    CHECK(delivered > 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_messaging PATH_TO_SIYU\n");
        return 2;
    }
    if (sodium_init() < 0) return 1;
    received = json_array();
    webhook_rx wrx;
    CHECK(webhook_rx_start(&wrx, SECRET, on_webhook, NULL) == 0);
    int rx_port = wrx.port;
    snprintf(clock_path, sizeof clock_path, "/tmp/siyu-msg-clock-%d", (int)getpid());
    set_now("2026-03-01T10:00:00+08:00");
    setenv("SIYU_NOW_FILE", clock_path, 1);
    setenv("SIYU_TICK_SECONDS", "0", 1);
    setenv("SIYU_SWEEP_SECONDS", "0", 1);
    unsetenv("SIYU_OUTBOX_DIR");
    pid_t pid = harness_start(argv[1]);
    fd = conn_open();
    CHECK_INT_EQ(call("POST", "/api/v1/stores", NULL,
                      "{\"name\":\"湖滨店\",\"code\":\"S1\",\"kind\":\"physical\"}"),
                 201);
    CHECK_INT_EQ(call("PUT", "/api/v1/journeys/guardrails", NULL,
                      "{\"quiet_hours\":null,\"budget_max\":-1}"),
                 200);
    outbox_dir();
    CHECK_INT_EQ(
        call("PUT", "/api/v1/channels/sms", NULL,
             "{\"adapter\":\"webhook\",\"url\":\"http://127.0.0.1:%d/hook\",\"secret\":\"" SECRET
             "\"}",
             rx_port),
        200);
    consent();
    consent_after_queue(rx_port);
    erased_while_sending();
    consent_ahead_of_clock();
    addresses(rx_port);
    library_coupons();
    limit_race();
    CHECK_INT_EQ(atomic_load(&bad_signatures), 0);
    metrics_follow_deliveries();
    close(fd);
    CHECK_INT_EQ(harness_stop(pid), 0);
    webhook_rx_stop(&wrx);
    unlink(clock_path);
    json_decref(received);
    return CHECK_DONE();
}
