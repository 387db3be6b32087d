/* test_groups.c — communities against the real server (docs/communities.md): the bridge's
 * group events, join codes whose caps hold under 64 concurrent scans, seats that lapse, a
 * full code asking for a new group, statistics against counts kept independently by the
 * test from the events it sent (and unchanged by a replay), a hand-worked group sale
 * session with joins, quits, refunds and a stranger who becomes a member, the groups
 * report, scopes, and `siyu check`. The test owns the clock (SIYU_NOW_FILE).
 * Run: test_groups PATH_TO_SIYU */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "harness.h"
#include "calls.h"
#include "webhook_rx.h"

#define SECRET "bridge-secret-0123456789abcdef"

static char clock_path[128];

static void set_now(const char *rfc3339)
{
    FILE *f = fopen(clock_path, "w");
    fprintf(f, "%s\n", rfc3339);
    fclose(f);
}

/* Posts events (a JSON array text) as one batch; answers the status, *recorded filled. */
static int post_events(const char *array, int *recorded)
{
    json_t *o;
    int st = call_as(NULL, "POST", "/api/v1/groups/events", &o, "{\"events\":%s}", array);
    if (recorded) *recorded = (int)jint(o, "recorded");
    json_decref(o);
    return st;
}

static int64_t group_id(const char *chat)
{
    const char *args[1] = {chat};
    long long v = -1;
    db_query("SELECT id FROM chat_groups WHERE chat_id = ?1", args, 1, &v, 1);
    return v;
}

static int64_t store1, store2, g1, g2, g4, mgr1, mgr2;
static char tok_mgr1[80], tok_mgr2[80], tok_g1[80], tok_g2[80];

static void chain(void)
{
    store1 = make("/api/v1/stores", "{\"name\":\"湖滨店\",\"code\":\"S1\",\"kind\":\"physical\"}");
    store2 = make("/api/v1/stores", "{\"name\":\"西溪店\",\"code\":\"S2\",\"kind\":\"physical\"}");
    g1 = make("/api/v1/staff", "{\"name\":\"王芳\",\"role\":\"guide\",\"store_id\":%lld}",
              (long long)store1);
    g2 = make("/api/v1/staff", "{\"name\":\"李娜\",\"role\":\"guide\",\"store_id\":%lld}",
              (long long)store1);
    g4 = make("/api/v1/staff", "{\"name\":\"刘洋\",\"role\":\"guide\",\"store_id\":%lld}",
              (long long)store2);
    mgr1 = make("/api/v1/staff", "{\"name\":\"M1\",\"role\":\"store_manager\",\"store_id\":%lld}",
                (long long)store1);
    mgr2 = make("/api/v1/staff", "{\"name\":\"M2\",\"role\":\"store_manager\",\"store_id\":%lld}",
                (long long)store2);
    make_token(mgr1, tok_mgr1);
    make_token(mgr2, tok_mgr2);
    make_token(g1, tok_g1);
    make_token(g2, tok_g2);
    const int64_t ids[] = {g1, g2, g4};
    const char *uids[] = {"gd-1", "gd-2", "gd-4"};
    for (int i = 0; i < 3; i++) {
        char path[64];
        snprintf(path, sizeof path, "/api/v1/staff/%lld", (long long)ids[i]);
        CHECK_INT_EQ(call_as(NULL, "PATCH", path, NULL, "{\"wecom_userid\":\"%s\"}", uids[i]), 200);
    }
}

/* ---- bad events: 400/422 naming the field, nothing written ---- */

static void bad_events(void)
{
    static const struct {
        const char *body, *field;
        int status;
    } bad[] = {
        {"{\"event\":\"group_made\",\"chat_id\":\"c\"}", "event", 400},
        {"{\"event\":\"group_created\",\"at\":\"2026-03-01T09:00:00+08:00\"}", "chat_id", 400},
        {"{\"event\":\"group_created\",\"chat_id\":\"c\",\"at\":\"2026-03-01T09:00:00+08:00\"}",
         "owner_userid", 400},
        {"{\"event\":\"group_created\",\"chat_id\":\"c\",\"owner_userid\":\"nobody\","
         "\"at\":\"2026-03-01T09:00:00+08:00\"}",
         "owner_userid", 422},
        {"{\"event\":\"group_created\",\"chat_id\":\"c\",\"owner_userid\":\"gd-1\",\"cap\":0,"
         "\"at\":\"2026-03-01T09:00:00+08:00\"}",
         "cap", 400},
        {"{\"event\":\"member_joined\",\"chat_id\":\"nope\",\"external_userid\":\"x\","
         "\"at\":\"2026-03-01T09:00:00+08:00\"}",
         "chat_id", 422},
        {"{\"event\":\"activity\",\"chat_id\":\"nope\",\"external_userid\":\"x\","
         "\"day\":\"2026-03-01\",\"messages\":3}",
         "chat_id", 422},
        {"{\"event\":\"group_created\",\"chat_id\":\"c\",\"owner_userid\":\"gd-1\","
         "\"at\":\"2026-03-01T09:00:00+08:00\",\"colour\":\"red\"}",
         "colour", 400},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *o;
        int st = call_as(NULL, "POST", "/api/v1/groups/events", &o, "%s", bad[i].body);
        if (st != bad[i].status || !err_field(o) || strcmp(err_field(o), bad[i].field) != 0)
            CHECK_FAIL_("%s: %d %s (want %d on %s)", bad[i].body, st, buf, bad[i].status,
                        bad[i].field);
        json_decref(o);
    }
    /* a batch with one bad event writes nothing and names it */
    json_t *o;
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/groups/events", &o,
                         "{\"events\":[{\"event\":\"group_created\",\"chat_id\":\"ok\","
                         "\"owner_userid\":\"gd-1\",\"at\":\"2026-03-01T09:00:00+08:00\"},"
                         "{\"event\":\"activity\",\"chat_id\":\"ok\",\"external_userid\":\"x\","
                         "\"day\":\"2026-03-01\",\"messages\":-1}]}"),
                 400);
    CHECK_STR_EQ(err_field(o), "events[1].messages");
    json_decref(o);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM chat_groups", 0, 0), 0);
}

/* ---- 64 concurrent scans at 195 of 200: exactly 5 to that group, the rest to the next ---- */

#define SCANS 64
static int64_t code_health, grp_a, grp_b;
static int scan_status[SCANS];
static int64_t scan_group[SCANS];

static void *scanner(void *arg)
{
    int i = (int)(intptr_t)arg;
    int c = conn_open();
    char path[64], body[64], out[2048];
    snprintf(path, sizeof path, "/api/v1/group-codes/%lld/scan", (long long)code_health);
    snprintf(body, sizeof body, "{\"external_userid\":\"wm-scan-%d\"}", i);
    scan_status[i] = request_as(c, tok_mgr1, "POST", path, body, out, sizeof out);
    json_t *o = json_loads(out, 0, NULL);
    scan_group[i] = jint(o, "group_id");
    json_decref(o);
    close(c);
    return NULL;
}

static char *big; /* event batches */
#define BIG (1 << 17)

static void cap_holds(void)
{
    int rec;
    CHECK_INT_EQ(
        post_events("[{\"event\":\"group_created\",\"chat_id\":\"chat-A\",\"owner_userid\":"
                    "\"gd-1\",\"name\":\"湖滨健康1群\",\"theme\":\"health\","
                    "\"at\":\"2026-03-01T09:00:00+08:00\"},"
                    "{\"event\":\"group_created\",\"chat_id\":\"chat-B\",\"owner_userid\":"
                    "\"gd-1\",\"name\":\"湖滨健康2群\",\"theme\":\"health\","
                    "\"at\":\"2026-03-01T09:05:00+08:00\"}]",
                    &rec),
        201);
    CHECK_INT_EQ(rec, 2);
    grp_a = group_id("chat-A");
    grp_b = group_id("chat-B");
    CHECK(grp_a > 0 && grp_b > grp_a);
    /* 195 customers in A, by invitation */
    size_t n = 0;
    n += (size_t)snprintf(big + n, BIG - n, "[");
    for (int i = 0; i < 195; i++)
        n += (size_t)snprintf(big + n, BIG - n,
                              "%s{\"event\":\"member_joined\",\"chat_id\":\"chat-A\","
                              "\"external_userid\":\"wm-a-%d\",\"join_scene\":\"invited\","
                              "\"inviter\":\"gd-1\",\"at\":\"2026-03-02T10:%02d:00+08:00\"}",
                              i ? "," : "", i, i % 60);
    snprintf(big + n, BIG - n, "]");
    CHECK_INT_EQ(post_events(big, &rec), 201);
    CHECK_INT_EQ(rec, 195);
    CHECK_INT_EQ(post_events(big, &rec), 200); /* a replay records nothing */
    CHECK_INT_EQ(rec, 0);
    json_t *o;
    CHECK_INT_EQ(call_as(tok_mgr1, "POST", "/api/v1/group-codes", &o,
                         "{\"store_id\":%lld,\"theme\":\"health\",\"cap\":200}", (long long)store1),
                 201);
    code_health = jint(o, "id");
    CHECK_INT_EQ(jint(o, "group_id"), grp_a);
    char state[32];
    snprintf(state, sizeof state, "gc-%lld", (long long)code_health);
    CHECK_STR_EQ(jstr(o, "state"), state);
    json_decref(o);

    pthread_t th[SCANS];
    for (int i = 0; i < SCANS; i++)
        pthread_create(&th[i], NULL, scanner, (void *)(intptr_t)i);
    for (int i = 0; i < SCANS; i++)
        pthread_join(th[i], NULL);
    int to_a = 0, to_b = 0;
    for (int i = 0; i < SCANS; i++) {
        CHECK_INT_EQ(scan_status[i], 201);
        to_a += scan_group[i] == grp_a;
        to_b += scan_group[i] == grp_b;
    }
    CHECK_INT_EQ(to_a, 5);
    CHECK_INT_EQ(to_b, SCANS - 5);
    /* the same customer scanning again keeps their seat */
    char path[64];
    snprintf(path, sizeof path, "/api/v1/group-codes/%lld/scan", (long long)code_health);
    CHECK_INT_EQ(call_as(tok_mgr1, "POST", path, &o, "{\"external_userid\":\"wm-scan-0\"}"), 200);
    CHECK_INT_EQ(jint(o, "group_id"), scan_group[0]);
    json_decref(o);
    /* the joins that follow keep the seats: A is at 200, its seats all kept */
    n = 0;
    n += (size_t)snprintf(big + n, BIG - n, "[");
    for (int i = 0; i < SCANS; i++)
        n += (size_t)snprintf(big + n, BIG - n,
                              "%s{\"event\":\"member_joined\",\"chat_id\":\"%s\","
                              "\"external_userid\":\"wm-scan-%d\",\"join_scene\":\"qr\","
                              "\"state\":\"%s\",\"at\":\"2026-03-20T10:00:%02d+08:00\"}",
                              i ? "," : "", scan_group[i] == grp_a ? "chat-A" : "chat-B", i, state,
                              i % 60);
    snprintf(big + n, BIG - n, "]");
    CHECK_INT_EQ(post_events(big, &rec), 201);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM chat_group_members WHERE group_id = ?1 AND "
                        "quit_at IS NULL AND is_staff = 0",
                        grp_a, 0),
                 200);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM group_seats WHERE kept_at IS NOT NULL", 0, 0), SCANS);
    /* the next scan goes to B */
    CHECK_INT_EQ(call_as(tok_mgr1, "POST", path, &o, NULL), 201);
    CHECK_INT_EQ(jint(o, "group_id"), grp_b);
    json_decref(o);
    /* another store's manager may not scan or read this code */
    CHECK_INT_EQ(call_as(tok_mgr2, "POST", path, NULL, NULL), 403);
}

/* ---- a full code asks the bridge for a new group once, answers 503 until it comes; seats
 * lapse ---- */

static void full_code(void)
{
    json_t *o;
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/group-codes", &o,
                         "{\"store_id\":%lld,\"theme\":\"mom\",\"cap\":2,\"hold_seconds\":60}",
                         (long long)store1),
                 201);
    int64_t code = jint(o, "id");
    CHECK(json_is_null(json_object_get(o, "chat_id")));
    json_decref(o);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/group-codes/%lld/scan", (long long)code);
    /* no group yet: 503 with Retry-After, one request however many scans */
    for (int i = 0; i < 3; i++) {
        char raw[4096];
        int st = request_hdr(fd, token, "POST", path, NULL, "{}", raw, sizeof raw);
        CHECK_INT_EQ(st, 503);
        o = json_loads(raw, 0, NULL);
        CHECK_STR_EQ(jstr(json_object_get(o, "error"), "code"), "unavailable");
        CHECK_INT_EQ(jint(o, "retry_after_seconds"), 30);
        json_decref(o);
    }
    CHECK_INT_EQ(call_as(NULL, "GET", "/api/v1/group-requests?pending=1", &o, NULL), 200);
    CHECK_INT_EQ((long long)json_array_size(json_object_get(o, "items")), 1);
    json_decref(o);
    /* the bridge opens the group: the request is answered, scans are seated */
    CHECK_INT_EQ(
        post_events("[{\"event\":\"group_created\",\"chat_id\":\"chat-M\",\"owner_userid\":"
                    "\"gd-2\",\"theme\":\"mom\",\"at\":\"2026-03-20T10:00:00+08:00\"}]",
                    NULL),
        201);
    CHECK_INT_EQ(call_as(NULL, "GET", "/api/v1/group-requests?pending=1", &o, NULL), 200);
    CHECK_INT_EQ((long long)json_array_size(json_object_get(o, "items")), 0);
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{}"), 201);
    CHECK_STR_EQ(jstr(o, "chat_id"), "chat-M");
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "POST", path, NULL, "{}"), 201);
    CHECK_INT_EQ(call_as(NULL, "POST", path, NULL, "{}"), 503); /* two seats held */
    /* a minute later the seats lapse: room again */
    set_now("2026-03-20T10:02:00+08:00");
    CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{}"), 201);
    CHECK_STR_EQ(jstr(o, "chat_id"), "chat-M");
    json_decref(o);
    set_now("2026-03-20T10:00:00+08:00");
}

/* ---- the push of a request for a new group to the bridge ----
 * The wecom channel bound to a webhook (the bridge): a full code's request goes out through
 * the outbox's real webhook adapter, signed, with its own Idempotency-Key; a 503 from the
 * bridge is retried with backoff on the test clock, and what was delivered is not sent again.
 * The pull (GET /group-requests) shows the same request with its push state. */

static pthread_mutex_t rx_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *rx_log;     /* every request: {key, accepted, body} */
static char rx_refuse[64]; /* answer 503 to the first request with this key */
static int rx_bad;         /* bad signatures */

static int on_bridge(void *ctx, json_t *body, const char *key, bool signature_ok)
{
    (void)ctx;
    pthread_mutex_lock(&rx_lock);
    int st = 200;
    if (!signature_ok) {
        rx_bad++;
        st = 401;
    } else if (rx_refuse[0] && strcmp(key, rx_refuse) == 0) {
        rx_refuse[0] = 0;
        st = 503;
    }
    json_array_append_new(
        rx_log, json_pack("{s:s, s:b, s:O?}", "key", key, "accepted", st == 200, "body", body));
    pthread_mutex_unlock(&rx_lock);
    return st;
}

/* Requests the bridge saw with this key, and those it accepted (*body: the last one's). */
static int rx_count(const char *key, int *accepted, json_t **body)
{
    int n = 0;
    *accepted = 0;
    size_t i;
    json_t *it;
    pthread_mutex_lock(&rx_lock);
    json_array_foreach(rx_log, i, it)
    {
        if (strcmp(jstr(it, "key"), key) != 0) continue;
        n++;
        if (json_is_true(json_object_get(it, "accepted"))) {
            (*accepted)++;
            if (body) *body = json_object_get(it, "body");
        }
    }
    pthread_mutex_unlock(&rx_lock);
    return n;
}

static json_t *request_row(int64_t id)
{
    json_t *o, *found = NULL;
    CHECK_INT_EQ(call_as(NULL, "GET", "/api/v1/group-requests", &o, NULL), 200);
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(o, "items"), i, it)
    {
        if (jint(it, "id") == id) found = json_incref(it);
    }
    json_decref(o);
    return found;
}

static void pushed_request(void)
{
    rx_log = json_array();
    webhook_rx rx;
    CHECK(webhook_rx_start(&rx, SECRET, on_bridge, NULL) == 0);
    int rx_port = rx.port;
    set_now("2026-03-20T11:00:00+08:00");
    json_t *o;
    /* before the bridge's channel is bound: a request waits for the pull, nothing is sent */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/group-codes", &o,
                         "{\"store_id\":%lld,\"theme\":\"pets\",\"cap\":1}", (long long)store1),
                 201);
    int64_t code = jint(o, "id");
    json_decref(o);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/group-codes/%lld/scan", (long long)code);
    CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{}"), 503);
    int64_t req = jint(o, "request_id");
    json_decref(o);
    char want[64];
    snprintf(want, sizeof want, "group-request-%lld", (long long)req);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, "{}"), 200);
    CHECK_INT_EQ((long long)json_array_size(rx_log), 0);
    json_t *row = request_row(req);
    CHECK(row != NULL);
    CHECK_STR_EQ(jstr(json_object_get(row, "push"), "state"), "pending");
    CHECK_INT_EQ(jint(json_object_get(row, "push"), "attempts"), 0);
    json_decref(row);
    /* the bridge binds the wecom channel; its first answer to this request is a 503 */
    CHECK_INT_EQ(
        call_as(NULL, "PUT", "/api/v1/channels/wecom", NULL,
                "{\"adapter\":\"webhook\",\"url\":\"http://127.0.0.1:%d/bridge\",\"secret\":"
                "\"" SECRET "\"}",
                rx_port),
        200);
    snprintf(rx_refuse, sizeof rx_refuse, "%s", want);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, "{}"), 200);
    int acc;
    json_t *b = NULL;
    CHECK_INT_EQ(rx_count(want, &acc, NULL), 1);
    CHECK_INT_EQ(acc, 0);
    row = request_row(req);
    CHECK_STR_EQ(jstr(json_object_get(row, "push"), "state"), "pending");
    CHECK_INT_EQ(jint(json_object_get(row, "push"), "attempts"), 1);
    CHECK(jstr(json_object_get(row, "push"), "error") != NULL);
    json_decref(row);
    /* more scans ask nothing more; ten minutes on (past the first backoff) it is delivered,
     * with the same key */
    CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{}"), 503);
    CHECK_INT_EQ(jint(o, "request_id"), req);
    json_decref(o);
    set_now("2026-03-20T11:10:00+08:00");
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, "{}"), 200);
    CHECK_INT_EQ(rx_count(want, &acc, &b), 2);
    CHECK_INT_EQ(acc, 1);
    json_t *data = json_object_get(b, "data");
    CHECK_STR_EQ(jstr(b, "channel"), "wecom");
    CHECK_STR_EQ(jstr(b, "key"), want);
    CHECK_STR_EQ(jstr(data, "kind"), "group_request");
    CHECK_INT_EQ(jint(data, "request_id"), req);
    CHECK_INT_EQ(jint(data, "code_id"), code);
    CHECK_INT_EQ(jint(data, "store_id"), store1);
    CHECK_STR_EQ(jstr(data, "theme"), "pets");
    CHECK_STR_EQ(jstr(data, "requested_at"), "2026-03-20T11:00:00+08:00");
    row = request_row(req);
    CHECK_STR_EQ(jstr(json_object_get(row, "push"), "state"), "sent");
    CHECK_INT_EQ(jint(json_object_get(row, "push"), "attempts"), 2);
    CHECK(json_is_null(json_object_get(row, "fulfilled_at")));
    json_decref(row);
    /* delivered once: later ticks send it no more; the pull lists it until it is answered */
    set_now("2026-03-20T12:00:00+08:00");
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, "{}"), 200);
    CHECK_INT_EQ(rx_count(want, &acc, NULL), 2);
    row = request_row(req);
    CHECK(row && json_is_null(json_object_get(row, "fulfilled_at")));
    json_decref(row);
    CHECK_INT_EQ(
        post_events("[{\"event\":\"group_created\",\"chat_id\":\"chat-P1\",\"owner_userid\":"
                    "\"gd-1\",\"theme\":\"pets\",\"at\":\"2026-03-20T12:00:00+08:00\"}]",
                    NULL),
        201);
    row = request_row(req);
    CHECK(row && !json_is_null(json_object_get(row, "fulfilled_at")));
    json_decref(row);
    /* a second request, answered by a new group before any tick, is never pushed */
    CHECK_INT_EQ(call_as(NULL, "POST", path, NULL, "{}"), 201);
    CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{}"), 503);
    int64_t req2 = jint(o, "request_id");
    json_decref(o);
    CHECK(req2 > req);
    CHECK_INT_EQ(
        post_events("[{\"event\":\"group_created\",\"chat_id\":\"chat-P2\",\"owner_userid\":"
                    "\"gd-1\",\"theme\":\"pets\",\"at\":\"2026-03-20T12:00:00+08:00\"}]",
                    NULL),
        201);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, "{}"), 200);
    snprintf(want, sizeof want, "group-request-%lld", (long long)req2);
    CHECK_INT_EQ(rx_count(want, &acc, NULL), 0);
    CHECK_INT_EQ(rx_bad, 0);
    webhook_rx_stop(&rx);
    json_decref(rx_log);
    set_now("2026-03-20T10:00:00+08:00");
}

/* ---- statistics against the test's own counts, and a replay ---- */

#define PEOPLE 40
#define DAYS 7
static int exp_joins[DAYS], exp_quits[DAYS], exp_members[DAYS], exp_speakers[DAYS],
    exp_messages[DAYS];

static void statistics(void)
{
    CHECK_INT_EQ(
        post_events("[{\"event\":\"group_created\",\"chat_id\":\"chat-T\",\"owner_userid\":"
                    "\"gd-2\",\"theme\":\"fresh\",\"at\":\"2026-03-01T08:00:00+08:00\"}]",
                    NULL),
        201);
    bool in[PEOPLE] = {false};
    int msgs[PEOPLE][DAYS];
    memset(msgs, -1, sizeof msgs);
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
#define RND(n) ((int)((seed = seed * 6364136223846793005ULL + 1442695040888963407ULL) >> 33) % (n))
    size_t len = 0, first_len;
    len += (size_t)snprintf(big + len, BIG - len, "[");
    int nev = 0;
    for (int d = 0; d < DAYS; d++) {
        for (int k = 0; k < 30; k++) {
            int p = RND(PEOPLE), minute = k * 2;
            const char *sep = nev++ ? "," : "";
            if (RND(4) == 0) { /* a join or a quit */
                if (!in[p]) {
                    len +=
                        (size_t)snprintf(big + len, BIG - len,
                                         "%s{\"event\":\"member_joined\",\"chat_id\":\"chat-T\","
                                         "\"external_userid\":\"wm-t-%d\",\"join_scene\":\"link\","
                                         "\"at\":\"2026-03-%02dT09:%02d:00+08:00\"}",
                                         sep, p, d + 1, minute);
                    in[p] = true;
                    exp_joins[d]++;
                } else {
                    len +=
                        (size_t)snprintf(big + len, BIG - len,
                                         "%s{\"event\":\"member_quit\",\"chat_id\":\"chat-T\","
                                         "\"external_userid\":\"wm-t-%d\",\"quit_scene\":\"left\","
                                         "\"at\":\"2026-03-%02dT09:%02d:00+08:00\"}",
                                         sep, p, d + 1, minute);
                    in[p] = false;
                    exp_quits[d]++;
                }
            } else { /* a day's count, sometimes sent again with another count */
                int m = RND(5) == 0 ? 0 : RND(40);
                len += (size_t)snprintf(big + len, BIG - len,
                                        "%s{\"event\":\"activity\",\"chat_id\":\"chat-T\","
                                        "\"external_userid\":\"wm-t-%d\",\"day\":\"2026-03-%02d\","
                                        "\"messages\":%d}",
                                        sep, p, d + 1, m);
                msgs[p][d] = m;
            }
        }
        for (int p = 0; p < PEOPLE; p++)
            exp_members[d] += in[p];
    }
    first_len = len;
    (void)first_len;
    for (int d = 0; d < DAYS; d++)
        for (int p = 0; p < PEOPLE; p++)
            if (msgs[p][d] >= 0) {
                exp_speakers[d] += msgs[p][d] > 0;
                exp_messages[d] += msgs[p][d];
            }
    snprintf(big + len, BIG - len, "]");
    int rec;
    CHECK_INT_EQ(post_events(big, &rec), 201);
    char *copy = strdup(big);
    json_t *o;
    int64_t t = group_id("chat-T");
    char path[128];
    snprintf(path, sizeof path, "/api/v1/groups/%lld/stats?from=2026-03-01&to=2026-03-07",
             (long long)t);
    for (int round = 0; round < 2; round++) {
        CHECK_INT_EQ(call_as(tok_g2, "GET", path, &o, NULL), 200);
        json_t *items = json_object_get(o, "items");
        CHECK_INT_EQ((long long)json_array_size(items), DAYS);
        for (int d = 0; d < DAYS && d < (int)json_array_size(items); d++) {
            json_t *r = json_array_get(items, (size_t)d);
            CHECK_INT_EQ(jint(r, "new_members"), exp_joins[d]);
            CHECK_INT_EQ(jint(r, "quits"), exp_quits[d]);
            CHECK_INT_EQ(jint(r, "members"), exp_members[d]);
            CHECK_INT_EQ(jint(r, "speakers"), exp_speakers[d]);
            CHECK_INT_EQ(jint(r, "messages"), exp_messages[d]);
        }
        json_decref(o);
        /* the same events again change nothing */
        if (round == 0) { /* a replaced count is replaced again, ending where it was */
            int st = post_events(copy, &rec);
            CHECK(st == 200 || st == 201);
        }
    }
    free(copy);
    /* a guide of another group and another store's manager do not see it */
    CHECK_INT_EQ(call_as(tok_g1, "GET", path, NULL, NULL), 403);
    CHECK_INT_EQ(call_as(tok_mgr2, "GET", path, NULL, NULL), 403);
    CHECK_INT_EQ(call_as(tok_mgr1, "GET", path, NULL, NULL), 200);
#undef RND
}

static int64_t count(const char *expr)
{
    json_t *o;
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/segments/count", &o, "{\"expr\":\"%s\"}", expr),
                 200);
    int64_t n = jint(o, "count");
    json_decref(o);
    return n;
}

/* ---- a group sale session worked by hand (docs/communities.md) ---- */

static int64_t order(const char *ext, int64_t member, const char *at, const char *items,
                     int64_t total)
{
    return make("/api/v1/orders",
                "{\"channel\":\"store\",\"external_id\":\"%s\",\"store_id\":%lld,"
                "\"member_id\":%lld,\"placed_at\":\"%s\",\"total_cents\":%lld,\"items\":%s}",
                ext, (long long)store1, (long long)member, at, (long long)total, items);
}

static void group_sales(void)
{
    int64_t m1 = make("/api/v1/members",
                      "{\"joined_at\":\"2026-03-01T00:00:00+08:00\",\"phone\":\"13800000001\","
                      "\"wecom_external_id\":\"x1\","
                      "\"store_id\":%lld}",
                      (long long)store1);
    int64_t m2 = make("/api/v1/members",
                      "{\"joined_at\":\"2026-03-01T00:00:00+08:00\",\"phone\":\"13800000002\","
                      "\"wecom_external_id\":\"x2\","
                      "\"store_id\":%lld}",
                      (long long)store1);
    int64_t m3 = make(
        "/api/v1/members",
        "{\"joined_at\":\"2026-03-01T00:00:00+08:00\",\"phone\":\"13800000003\",\"store_id\":%lld}",
        (long long)store1);
    CHECK_INT_EQ(
        post_events("[{\"event\":\"group_created\",\"chat_id\":\"chat-S\",\"owner_userid\":"
                    "\"gd-2\",\"theme\":\"sale\",\"at\":\"2026-03-01T08:00:00+08:00\"},"
                    "{\"event\":\"member_joined\",\"chat_id\":\"chat-S\",\"external_userid\":"
                    "\"x1\",\"join_scene\":\"invited\",\"at\":\"2026-03-05T10:00:00+08:00\"},"
                    "{\"event\":\"member_joined\",\"chat_id\":\"chat-S\",\"external_userid\":"
                    "\"x3\",\"join_scene\":\"link\",\"at\":\"2026-03-10T08:00:00+08:00\"},"
                    "{\"event\":\"member_joined\",\"chat_id\":\"chat-S\",\"external_userid\":"
                    "\"x2\",\"join_scene\":\"qr\",\"at\":\"2026-03-12T10:00:00+08:00\"},"
                    "{\"event\":\"member_quit\",\"chat_id\":\"chat-S\",\"external_userid\":"
                    "\"x2\",\"at\":\"2026-03-14T12:00:00+08:00\"}]",
                    NULL),
        201);
    int64_t s = group_id("chat-S");
    char path[128];
    json_t *o;
    /* x3 is no member yet: a non-member; an identity arriving makes them one */
    snprintf(path, sizeof path, "/api/v1/groups/%lld", (long long)s);
    CHECK_INT_EQ(call_as(tok_g2, "GET", path, &o, NULL), 200);
    CHECK_INT_EQ(jint(o, "members"), 2);
    CHECK_INT_EQ(jint(o, "matched_members"), 1);
    CHECK_INT_EQ(jint(o, "non_members"), 1);
    CHECK_INT_EQ(jint(o, "staff"), 1);
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/members", NULL,
                         "{\"phone\":\"13800000003\",\"wecom_external_id\":\"x3\"}"),
                 200);
    CHECK_INT_EQ(call_as(tok_g2, "GET", path, &o, NULL), 200);
    CHECK_INT_EQ(jint(o, "matched_members"), 2);
    CHECK_INT_EQ(jint(o, "non_members"), 0);
    json_decref(o);
    /* segments: m1 and m3 are in a group now, m2 was (joined 03-12, 8 days ago) */
    CHECK_INT_EQ(count("groups >= 1"), 2);
    CHECK_INT_EQ(count("groups = 0 and group_days >= 0"), 1);
    CHECK_INT_EQ(count("group_days = 8"), 1);
    CHECK_INT_EQ(count("group_days = 15"), 1); /* m1, since 03-05 */
    /* the orders (the session promotes A, B and C from 03-10 to 03-17) */
    order("S-1", m1, "2026-03-11T10:00:00+08:00",
          "[{\"sku\":\"A\",\"qty\":2,\"unit_price_cents\":1000},"
          "{\"sku\":\"Z\",\"qty\":1,\"unit_price_cents\":500}]",
          2500);
    int64_t o2 = order("S-2", m1, "2026-03-12T10:00:00+08:00",
                       "[{\"sku\":\"B\",\"qty\":1,\"unit_price_cents\":3000}]", 3000);
    order("S-3", m2, "2026-03-11T10:00:00+08:00",
          "[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":1000}]", 1000);
    int64_t o4 = order("S-4", m2, "2026-03-13T10:00:00+08:00",
                       "[{\"sku\":\"A\",\"qty\":3,\"unit_price_cents\":1000},"
                       "{\"sku\":\"C\",\"qty\":1,\"unit_price_cents\":500}]",
                       3500);
    order("S-5", m2, "2026-03-15T10:00:00+08:00",
          "[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":1000}]", 1000);
    order("S-6", m3, "2026-03-16T10:00:00+08:00",
          "[{\"sku\":\"B\",\"qty\":2,\"unit_price_cents\":1500}]", 3000);
    order("S-7", m3, "2026-03-17T01:00:00+08:00",
          "[{\"sku\":\"B\",\"qty\":1,\"unit_price_cents\":1500}]", 1500);
    snprintf(path, sizeof path, "/api/v1/orders/%lld/refunds", (long long)o2);
    CHECK_INT_EQ(
        call_as(NULL, "POST", path, NULL,
                "{\"external_id\":\"RF-2\",\"amount_cents\":3000,\"items\":[{\"sku\":\"B\","
                "\"qty\":1}],\"at\":\"2026-03-18T10:00:00+08:00\"}"),
        201);
    snprintf(path, sizeof path, "/api/v1/orders/%lld/refunds", (long long)o4);
    CHECK_INT_EQ(
        call_as(NULL, "POST", path, NULL,
                "{\"external_id\":\"RF-4\",\"amount_cents\":1000,\"items\":[{\"sku\":\"A\","
                "\"qty\":1}],\"at\":\"2026-03-18T10:00:00+08:00\"}"),
        201);
    /* bad sessions */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/group-sales", &o,
                         "{\"group_ids\":[%lld],\"from\":\"2026-03-17T00:00:00+08:00\","
                         "\"to\":\"2026-03-10T00:00:00+08:00\",\"skus\":[\"A\"]}",
                         (long long)s),
                 400);
    CHECK_STR_EQ(err_field(o), "to");
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/group-sales", &o,
                         "{\"group_ids\":[%lld],\"from\":\"2026-03-10T00:00:00+08:00\","
                         "\"to\":\"2026-03-17T00:00:00+08:00\",\"skus\":[]}",
                         (long long)s),
                 400);
    CHECK_STR_EQ(err_field(o), "skus");
    json_decref(o);
    CHECK_INT_EQ(call_as(tok_mgr2, "POST", "/api/v1/group-sales", NULL,
                         "{\"group_ids\":[%lld],\"from\":\"2026-03-10T00:00:00+08:00\","
                         "\"to\":\"2026-03-17T00:00:00+08:00\",\"skus\":[\"A\"]}",
                         (long long)s),
                 403);
    CHECK_INT_EQ(call_as(tok_g2, "POST", "/api/v1/group-sales", &o,
                         "{\"group_ids\":[%lld],\"from\":\"2026-03-10T00:00:00+08:00\","
                         "\"to\":\"2026-03-17T00:00:00+08:00\",\"skus\":[\"A\",\"B\",\"C\"],"
                         "\"name\":\"春鲜团\"}",
                         (long long)s),
                 201);
    int64_t sale = jint(o, "id");
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/group-sales/%lld/report", (long long)sale);
    CHECK_INT_EQ(call_as(tok_g2, "GET", path, &o, NULL), 200);
    /* by hand: S-1 (A 2000), S-4 (A 3 less 1 refunded = 2000, C 500), S-6 (B 3000); S-2 is
     * void, S-3 before x2 joined, S-5 after x2 quit, S-7 after the window */
    CHECK_INT_EQ(jint(o, "orders"), 3);
    CHECK_INT_EQ(jint(o, "sales_cents"), 7500);
    CHECK_INT_EQ(jint(o, "skus_for_80pct"), 2);
    json_t *by = json_object_get(o, "by_sku");
    CHECK_INT_EQ((long long)json_array_size(by), 3);
    static const struct {
        const char *sku;
        int64_t orders, sales;
    } want[] = {{"A", 2, 4000}, {"B", 1, 3000}, {"C", 1, 500}};
    for (size_t i = 0; i < 3 && i < json_array_size(by); i++) {
        json_t *r = json_array_get(by, i);
        CHECK_STR_EQ(jstr(r, "sku"), want[i].sku);
        CHECK_INT_EQ(jint(r, "orders"), want[i].orders);
        CHECK_INT_EQ(jint(r, "sales_cents"), want[i].sales);
    }
    json_decref(o);
    CHECK_INT_EQ(call_as(tok_mgr2, "GET", path, NULL, NULL), 403);
    CHECK_INT_EQ(call_as(tok_g1, "GET", path, NULL, NULL), 403);
    /* the groups report: S's orders in the week, net of refunds: S-1 2500, S-4 2500, S-6 3000 */
    CHECK_INT_EQ(
        call_as(tok_mgr1, "GET", "/api/v1/reports/groups?from=2026-03-10&to=2026-03-16", &o, NULL),
        200);
    json_t *board = json_object_get(o, "leaderboard");
    bool seen = false;
    size_t i;
    json_t *r;
    json_array_foreach(board, i, r)
    {
        if (jint(r, "group_id") != s) continue;
        seen = true;
        CHECK_INT_EQ(jint(r, "orders"), 3);
        CHECK_INT_EQ(jint(r, "sales_cents"), 8000);
        CHECK_INT_EQ(jint(r, "rank"), 1);
        CHECK_INT_EQ(jint(r, "new_members"), 2); /* x3 on 03-10, x2 on 03-12 */
        CHECK_INT_EQ(jint(r, "quits"), 1);
        CHECK_INT_EQ(jint(r, "members"), 2);
    }
    CHECK(seen);
    /* conversion: store 1's members in a group that week (m1, m2, m3) all bought */
    json_t *st = json_array_get(json_object_get(o, "by_store"), 0);
    CHECK_INT_EQ(jint(json_object_get(st, "in_groups"), "members"), 3);
    CHECK_INT_EQ(jint(json_object_get(st, "in_groups"), "buyers"), 3);
    json_decref(o);
    /* within a day of joining: only S-6 is inside (x3 joined 03-10 08:00... no: 6 days) */
    CHECK_INT_EQ(call_as(NULL, "GET",
                         "/api/v1/reports/groups?from=2026-03-10&to=2026-03-16&within_days=2", &o,
                         NULL),
                 200);
    json_array_foreach(json_object_get(o, "leaderboard"), i, r)
    {
        if (jint(r, "group_id") != s) continue;
        /* S-4 (x2 joined 03-12 10:00, ordered 03-13 10:00) is within 2 days; S-1 (x1 joined
         * 03-05) and S-6 (x3 joined 03-10) are not */
        CHECK_INT_EQ(jint(r, "orders"), 1);
        CHECK_INT_EQ(jint(r, "sales_cents"), 2500);
    }
    json_decref(o);
    CHECK_INT_EQ(call_as(tok_mgr2, "GET", "/api/v1/reports/groups?store=1", NULL, NULL), 403);
}

static void patch_and_dismiss(void)
{
    char path[64];
    json_t *o;
    snprintf(path, sizeof path, "/api/v1/groups/%lld", (long long)grp_b);
    CHECK_INT_EQ(call_as(tok_mgr1, "PATCH", path, &o, "{\"cap\":0}"), 400);
    CHECK_STR_EQ(err_field(o), "cap");
    json_decref(o);
    CHECK_INT_EQ(call_as(tok_mgr2, "PATCH", path, NULL, "{\"cap\":300}"), 403);
    CHECK_INT_EQ(call_as(tok_mgr1, "PATCH", path, &o, "{\"cap\":300}"), 200);
    CHECK_INT_EQ(jint(o, "cap"), 300);
    json_decref(o);
    /* a dismissed group is served by no code and its people leave it */
    CHECK_INT_EQ(post_events("[{\"event\":\"group_dismissed\",\"chat_id\":\"chat-B\","
                             "\"at\":\"2026-03-20T10:00:00+08:00\"}]",
                             NULL),
                 201);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM chat_group_members WHERE group_id = ?1 AND "
                        "quit_at IS NULL",
                        grp_b, 0),
                 0);
    snprintf(path, sizeof path, "/api/v1/group-codes/%lld/scan", (long long)code_health);
    CHECK_INT_EQ(call_as(tok_mgr1, "POST", path, NULL, "{}"), 503);
    /* lists: a store's manager sees their store's groups only */
    CHECK_INT_EQ(call_as(tok_mgr2, "GET", "/api/v1/groups", &o, NULL), 200);
    CHECK_INT_EQ((long long)json_array_size(json_object_get(o, "items")), 0);
    json_decref(o);
    CHECK_INT_EQ(call_as(tok_mgr1, "GET", "/api/v1/groups?limit=2", &o, NULL), 200);
    CHECK_INT_EQ((long long)json_array_size(json_object_get(o, "items")), 2);
    json_decref(o);
}

static void erasure(void)
{
    /* m1 (x1) erased: the group keeps its counts, the export before shows the stint */
    long long m1 = db_int("SELECT member_id FROM identities WHERE kind = 'wecom_external_id' AND "
                          "value = 'x1'",
                          0, 0);
    char path[64];
    json_t *o;
    snprintf(path, sizeof path, "/api/v1/members/%lld/export", m1);
    CHECK_INT_EQ(call_as(NULL, "GET", path, &o, NULL), 200);
    CHECK_INT_EQ((long long)json_array_size(json_object_get(o, "chat_group_members")), 1);
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/members/%lld/erase", m1);
    CHECK_INT_EQ(call_as(NULL, "POST", path, NULL, "{\"reason\":\"request\"}"), 200);
    const char *args[1] = {"x1"};
    long long left = -1;
    db_query("SELECT count(*) FROM chat_group_members WHERE person = ?1", args, 1, &left, 1);
    CHECK_INT_EQ(left, 0);
}

/* ---- the segment attributes `group` and `group_messages_30d`, worked by hand ----
 * Group S (docs/communities.md's example): m3 (x3) is in it, m2 (x2) quit it on 03-14, m1
 * was erased. Today is 03-20: the window is 02-19 .. 03-20. */
static void group_segments(void)
{
    set_now("2026-03-20T10:00:00+08:00");
    int64_t s = group_id("chat-S");
    CHECK_INT_EQ(
        post_events("[{\"event\":\"activity\",\"chat_id\":\"chat-S\",\"external_userid\":"
                    "\"x3\",\"day\":\"2026-03-20\",\"messages\":2},"
                    "{\"event\":\"activity\",\"chat_id\":\"chat-S\",\"external_userid\":"
                    "\"x3\",\"day\":\"2026-02-18\",\"messages\":50},"
                    "{\"event\":\"activity\",\"chat_id\":\"chat-S\",\"external_userid\":"
                    "\"x3\",\"day\":\"2026-02-19\",\"messages\":1},"
                    "{\"event\":\"activity\",\"chat_id\":\"chat-S\",\"external_userid\":"
                    "\"x2\",\"day\":\"2026-03-13\",\"messages\":3},"
                    "{\"event\":\"member_joined\",\"chat_id\":\"chat-S\",\"external_userid\":"
                    "\"x8\",\"join_scene\":\"qr\",\"at\":\"2026-03-18T09:00:00+08:00\"},"
                    "{\"event\":\"activity\",\"chat_id\":\"chat-S\",\"external_userid\":"
                    "\"x8\",\"day\":\"2026-03-18\",\"messages\":7}]",
                    NULL),
        201);
    char e[160];
    /* m3: 2 + 1 (02-18 is outside); m2: 3 (quitting keeps what was said); x8 no member */
    snprintf(e, sizeof e, "group = %lld", (long long)s);
    CHECK_INT_EQ(count(e), 1);
    snprintf(e, sizeof e, "group = %lld and group_messages_30d = 3", (long long)s);
    CHECK_INT_EQ(count(e), 1);
    CHECK_INT_EQ(count("group_messages_30d = 3"), 2);
    snprintf(e, sizeof e, "group != %lld and group_messages_30d = 3", (long long)s);
    CHECK_INT_EQ(count(e), 1);
    CHECK_INT_EQ(count("group_messages_30d = 7"), 0);
    /* a later count replaces the earlier: m3 said 6 today, not 2 */
    CHECK_INT_EQ(post_events("[{\"event\":\"activity\",\"chat_id\":\"chat-S\",\"external_userid\":"
                             "\"x3\",\"day\":\"2026-03-20\",\"messages\":6}]",
                             NULL),
                 201);
    CHECK_INT_EQ(count("group_messages_30d = 7"), 1);
    /* x8 becomes a member: in group S now, with its 7 messages */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/members", NULL,
                         "{\"phone\":\"13800000008\",\"wecom_external_id\":\"x8\"}"),
                 201);
    CHECK_INT_EQ(count("group_messages_30d = 7"), 2);
    snprintf(e, sizeof e, "group in (%lld, 999999)", (long long)s);
    CHECK_INT_EQ(count(e), 2);
    snprintf(e, sizeof e, "group = %lld and group_messages_30d >= 7", (long long)s);
    CHECK_INT_EQ(count(e), 2);
    /* 02-19 leaves the window on 03-21, 03-13 on 04-12, 03-18 and 03-20 on 04-17 and 04-19 */
    set_now("2026-03-21T10:00:00+08:00");
    CHECK_INT_EQ(count("group_messages_30d = 6"), 1);
    set_now("2026-04-12T10:00:00+08:00");
    CHECK_INT_EQ(count("group_messages_30d = 3"), 0);
    CHECK_INT_EQ(count("group_messages_30d > 0"), 2);
    set_now("2026-04-19T10:00:00+08:00");
    CHECK_INT_EQ(count("group_messages_30d > 0"), 0);
    /* x8 quits: no longer in S */
    CHECK_INT_EQ(
        post_events("[{\"event\":\"member_quit\",\"chat_id\":\"chat-S\",\"external_userid\":"
                    "\"x8\",\"at\":\"2026-04-19T09:00:00+08:00\"}]",
                    NULL),
        201);
    snprintf(e, sizeof e, "group = %lld", (long long)s);
    CHECK_INT_EQ(count(e), 1);
    set_now("2026-03-20T10:00:00+08:00");
}

/* ---- group SOPs over five weeks on the test clock (docs/communities.md) ----
 * Store 3's groups: P1 and P2 of theme fresh (owners A and B), P3 of theme health (owner
 * A). SOP 1: store 3's fresh groups, Mondays 10:00; SOP 2: group P3, Thursdays 19:30, two
 * hours to post. 2026-03-20 is a Friday. A departs on 03-27; WeCom hands P1 to C on 03-30. */

static int64_t sop_tick(void)
{
    json_t *o;
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", &o, "{}"), 200);
    int64_t n = jint(json_object_get(json_object_get(o, "tick"), "group_sops"), "tasks");
    json_decref(o);
    return n;
}

/* Tasks of a campaign's round: how many, and on which guide for a group. */
static long long slot_tasks(int64_t campaign, const char *round)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM guide_tasks WHERE campaign_id = %lld AND round = '%s' AND "
             "kind = 'group_post' AND member_id IS NULL",
             (long long)campaign, round);
    return db_int(sql, 0, 0);
}

static long long slot_guide(int64_t campaign, const char *round, int64_t group)
{
    char sql[220];
    snprintf(sql, sizeof sql,
             "SELECT guide_id FROM guide_tasks WHERE campaign_id = %lld AND round = '%s' AND "
             "group_id = %lld",
             (long long)campaign, round, (long long)group);
    return db_int(sql, 0, 0);
}

static long long slot_task(int64_t campaign, const char *round, int64_t group)
{
    char sql[220];
    snprintf(sql, sizeof sql,
             "SELECT id FROM guide_tasks WHERE campaign_id = %lld AND round = '%s' AND "
             "group_id = %lld",
             (long long)campaign, round, (long long)group);
    return db_int(sql, 0, 0);
}

static void group_sops(void)
{
    set_now("2026-03-20T10:00:00+08:00");
    int64_t store3 =
        make("/api/v1/stores", "{\"name\":\"滨江店\",\"code\":\"S3\",\"kind\":\"physical\"}");
    int64_t ga = make("/api/v1/staff", "{\"name\":\"A\",\"role\":\"guide\",\"store_id\":%lld}",
                      (long long)store3);
    int64_t gb = make("/api/v1/staff", "{\"name\":\"B\",\"role\":\"guide\",\"store_id\":%lld}",
                      (long long)store3);
    int64_t gc = make("/api/v1/staff", "{\"name\":\"C\",\"role\":\"guide\",\"store_id\":%lld}",
                      (long long)store3);
    int64_t mgr3 =
        make("/api/v1/staff", "{\"name\":\"M3\",\"role\":\"store_manager\",\"store_id\":%lld}",
             (long long)store3);
    char tok_mgr3[80], tok_a[80], tok_b[80], path[96];
    make_token(mgr3, tok_mgr3);
    make_token(ga, tok_a);
    make_token(gb, tok_b);
    const int64_t ids[] = {ga, gb, gc};
    const char *uids[] = {"sop-a", "sop-b", "sop-c"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/api/v1/staff/%lld", (long long)ids[i]);
        CHECK_INT_EQ(call_as(NULL, "PATCH", path, NULL, "{\"wecom_userid\":\"%s\"}", uids[i]), 200);
    }
    CHECK_INT_EQ(
        post_events("[{\"event\":\"group_created\",\"chat_id\":\"chat-SOP1\",\"owner_userid\":"
                    "\"sop-a\",\"theme\":\"fresh\",\"at\":\"2026-03-20T09:00:00+08:00\"},"
                    "{\"event\":\"group_created\",\"chat_id\":\"chat-SOP2\",\"owner_userid\":"
                    "\"sop-b\",\"theme\":\"fresh\",\"at\":\"2026-03-20T09:00:00+08:00\"},"
                    "{\"event\":\"group_created\",\"chat_id\":\"chat-SOP3\",\"owner_userid\":"
                    "\"sop-a\",\"theme\":\"health\",\"at\":\"2026-03-20T09:00:00+08:00\"}]",
                    NULL),
        201);
    int64_t p1 = group_id("chat-SOP1"), p2 = group_id("chat-SOP2"), p3 = group_id("chat-SOP3");
    int64_t poster =
        make("/api/v1/content", "{\"kind\":\"poster\",\"title\":\"本周新品\",\"url\":"
                                "\"https://example.com/new.png\",\"tags\":[\"新品\"]}");
    /* bad SOPs: 400/422 naming the field, 403 outside the manager's store */
    static const struct {
        const char *body, *field;
        int status;
    } bad[] = {
        {"{\"store_id\":%lld,\"schedule\":{\"weekday\":8,\"time\":\"10:00\"},\"text\":\"x\"}",
         "schedule.weekday", 400},
        {"{\"store_id\":%lld,\"schedule\":{\"weekday\":1,\"time\":\"24:00\"},\"text\":\"x\"}",
         "schedule.time", 400},
        {"{\"store_id\":%lld,\"schedule\":{\"weekday\":1,\"time\":\"10:00\"}}", "text", 400},
        {"{\"store_id\":%lld,\"group_ids\":[1],\"schedule\":{\"weekday\":1,\"time\":"
         "\"10:00\"},\"text\":\"x\"}",
         "group_ids", 400},
        {"{\"store_id\":%lld,\"schedule\":{\"weekday\":1,\"time\":\"10:00\"},\"text\":\"x\","
         "\"content_id\":999999}",
         "content_id", 422},
    };
    json_t *o;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_INT_EQ(
            call_as(tok_mgr3, "POST", "/api/v1/group-sops", &o, bad[i].body, (long long)store3),
            bad[i].status);
        CHECK_STR_EQ(err_field(o), bad[i].field);
        json_decref(o);
    }
    CHECK_INT_EQ(db_int("SELECT count(*) FROM group_sops", 0, 0), 0);
    CHECK_INT_EQ(call_as(tok_mgr3, "POST", "/api/v1/group-sops", NULL,
                         "{\"store_id\":%lld,\"schedule\":{\"weekday\":1,\"time\":\"10:00\"},"
                         "\"text\":\"x\"}",
                         (long long)store1),
                 403);
    /* SOP 1, by the store's manager; SOP 2 by HQ for a named group */
    CHECK_INT_EQ(call_as(tok_mgr3, "POST", "/api/v1/group-sops", &o,
                         "{\"store_id\":%lld,\"theme\":\"fresh\",\"schedule\":{\"weekday\":1,"
                         "\"time\":\"10:00\"},\"text\":\"本周新品到店 New arrivals\","
                         "\"content_id\":%lld,\"name\":\"周一上新\"}",
                         (long long)store3, (long long)poster),
                 201);
    int64_t sop1 = jint(o, "id"), camp1 = jint(o, "campaign_id");
    CHECK(json_is_null(json_object_get(o, "last_slot")));
    CHECK_INT_EQ(jint(json_object_get(o, "tasks"), "total"), 0);
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/group-sops", &o,
                         "{\"group_ids\":[%lld],\"schedule\":{\"weekday\":4,\"time\":\"19:30\"},"
                         "\"text\":\"今晚8点直播 Live at 8\",\"due_hours\":2}",
                         (long long)p3),
                 201);
    int64_t sop2 = jint(o, "id"), camp2 = jint(o, "campaign_id");
    CHECK_INT_EQ(jint(o, "store_id"), store3); /* named groups of one store: its SOP */
    json_decref(o);
    /* week 1: nothing before Monday 10:00; then a task per fresh group, once */
    CHECK_INT_EQ(sop_tick(), 0);
    set_now("2026-03-23T09:59:00+08:00");
    CHECK_INT_EQ(sop_tick(), 0);
    set_now("2026-03-23T10:00:00+08:00");
    CHECK_INT_EQ(sop_tick(), 2);
    CHECK_INT_EQ(sop_tick(), 0);
    CHECK_INT_EQ(slot_tasks(camp1, "2026-03-23"), 2);
    CHECK_INT_EQ(slot_guide(camp1, "2026-03-23", p1), ga);
    CHECK_INT_EQ(slot_guide(camp1, "2026-03-23", p2), gb);
    /* the owner sees it with its group, text and content */
    CHECK_INT_EQ(call_as(tok_a, "GET", "/api/v1/tasks?state=open", &o, NULL), 200);
    json_t *items = json_object_get(o, "items"), *t = json_array_get(items, 0);
    CHECK_INT_EQ((long long)json_array_size(items), 1);
    CHECK_STR_EQ(jstr(t, "kind"), "group_post");
    CHECK_INT_EQ(jint(t, "group_id"), p1);
    CHECK_STR_EQ(jstr(t, "script"), "本周新品到店 New arrivals");
    CHECK_INT_EQ(json_integer_value(json_array_get(json_object_get(t, "content_ids"), 0)), poster);
    CHECK_STR_EQ(jstr(t, "due_at"), "2026-03-24T10:00:00+08:00");
    json_decref(o);
    /* A posts on time, B a day late */
    set_now("2026-03-23T12:00:00+08:00");
    snprintf(path, sizeof path, "/api/v1/tasks/%lld/done", slot_task(camp1, "2026-03-23", p1));
    CHECK_INT_EQ(call_as(tok_a, "POST", path, NULL, "{}"), 200);
    set_now("2026-03-24T11:00:00+08:00");
    snprintf(path, sizeof path, "/api/v1/tasks/%lld/done", slot_task(camp1, "2026-03-23", p2));
    CHECK_INT_EQ(call_as(tok_b, "POST", path, NULL, "{}"), 200);
    /* Thursday 19:30: the live-stream reminder for P3, left undone */
    set_now("2026-03-26T19:30:00+08:00");
    CHECK_INT_EQ(sop_tick(), 1);
    CHECK_INT_EQ(slot_guide(camp2, "2026-03-26", p3), ga);
    /* A departs: P1 and P3 wait for their inheritor */
    set_now("2026-03-27T10:00:00+08:00");
    snprintf(path, sizeof path, "/api/v1/staff/%lld/depart", (long long)ga);
    CHECK_INT_EQ(call_as(NULL, "POST", path, NULL, "{\"transfer_to\":[]}"), 200);
    snprintf(path, sizeof path, "/api/v1/groups/%lld", (long long)p1);
    CHECK_INT_EQ(call_as(NULL, "GET", path, &o, NULL), 200);
    CHECK_STR_EQ(jstr(o, "state"), "owner_departed");
    json_decref(o);
    /* week 2: P2's task; P1 waits */
    set_now("2026-03-30T10:00:00+08:00");
    json_t *tk;
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", &tk, "{}"), 200);
    json_t *gs = json_object_get(json_object_get(tk, "tick"), "group_sops");
    CHECK_INT_EQ(jint(gs, "tasks"), 1);
    CHECK_INT_EQ(jint(gs, "waiting"), 1); /* P1 (P3's slot is Thursday's, its task made) */
    json_decref(tk);
    CHECK_INT_EQ(slot_tasks(camp1, "2026-03-30"), 1);
    /* WeCom hands P1 to C: the waiting post goes to C, with its full day */
    set_now("2026-03-30T15:00:00+08:00");
    CHECK_INT_EQ(
        post_events("[{\"event\":\"group_updated\",\"chat_id\":\"chat-SOP1\",\"owner_userid\":"
                    "\"sop-c\",\"at\":\"2026-03-30T15:00:00+08:00\"}]",
                    NULL),
        201);
    CHECK_INT_EQ(sop_tick(), 1);
    CHECK_INT_EQ(slot_guide(camp1, "2026-03-30", p1), gc);
    CHECK_INT_EQ(sop_tick(), 0);
    /* SOP 2 paused by the store's manager: no post on 04-02; P3 still waits anyway */
    snprintf(path, sizeof path, "/api/v1/group-sops/%lld", (long long)sop2);
    CHECK_INT_EQ(call_as(tok_mgr3, "PATCH", path, &o, "{\"state\":\"paused\"}"), 200);
    CHECK_STR_EQ(jstr(o, "state"), "paused");
    json_decref(o);
    CHECK_INT_EQ(call_as(tok_mgr3, "PATCH", path, &o, "{\"state\":\"stopped\"}"), 400);
    CHECK_STR_EQ(err_field(o), "state");
    json_decref(o);
    set_now("2026-04-02T19:30:00+08:00");
    CHECK_INT_EQ(sop_tick(), 0);
    CHECK_INT_EQ(slot_tasks(camp2, "2026-04-02"), 0);
    /* week 3: two tasks (C for P1, B for P2), however many ticks */
    set_now("2026-04-06T10:30:00+08:00");
    CHECK_INT_EQ(sop_tick(), 2);
    CHECK_INT_EQ(sop_tick(), 0);
    CHECK_INT_EQ(slot_guide(camp1, "2026-04-06", p1), gc);
    CHECK_INT_EQ(db_int("SELECT count(*) - count(DISTINCT campaign_id || '/' || round || '/' || "
                        "group_id) FROM guide_tasks WHERE group_id IS NOT NULL",
                        0, 0),
                 0);
    /* the roll-ups: SOP 1 has 3 slots, 6 tasks, 2 done (1 on time, 1 late), week 2's two
     * expired (due 03-31 10:00, expiry a day later), week 3's two open; SOP 2's task
     * expired (due 21:30 on 03-26) */
    snprintf(path, sizeof path, "/api/v1/group-sops/%lld", (long long)sop1);
    CHECK_INT_EQ(call_as(tok_mgr3, "GET", path, &o, NULL), 200);
    json_t *r = json_object_get(o, "tasks");
    CHECK_INT_EQ(jint(r, "slots"), 3);
    CHECK_INT_EQ(jint(r, "total"), 6);
    CHECK_INT_EQ(jint(r, "done"), 2);
    CHECK_INT_EQ(jint(r, "on_time"), 1);
    CHECK_INT_EQ(jint(r, "late"), 1);
    CHECK_INT_EQ(jint(r, "open"), 2);
    CHECK_INT_EQ(jint(r, "expired"), 2);
    CHECK_STR_EQ(jstr(o, "last_slot"), "2026-04-06T10:00:00+08:00");
    CHECK_STR_EQ(jstr(json_object_get(o, "schedule"), "time"), "10:00");
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/group-sops/%lld", (long long)sop2);
    CHECK_INT_EQ(call_as(NULL, "GET", path, &o, NULL), 200);
    CHECK_INT_EQ(jint(json_object_get(o, "tasks"), "expired"), 1);
    json_decref(o);
    /* the same figures in the task campaign's report */
    snprintf(path, sizeof path, "/api/v1/task-campaigns/%lld/report", (long long)camp1);
    CHECK_INT_EQ(call_as(NULL, "GET", path, NULL, NULL), 200);
    /* scopes: store 1's manager sees neither; lists are narrowed */
    snprintf(path, sizeof path, "/api/v1/group-sops/%lld", (long long)sop1);
    CHECK_INT_EQ(call_as(tok_mgr1, "GET", path, NULL, NULL), 403);
    CHECK_INT_EQ(call_as(tok_mgr1, "PATCH", path, NULL, "{\"state\":\"paused\"}"), 403);
    CHECK_INT_EQ(call_as(tok_g1, "GET", "/api/v1/group-sops", NULL, NULL), 403);
    CHECK_INT_EQ(call_as(tok_mgr1, "GET", "/api/v1/group-sops", &o, NULL), 200);
    CHECK_INT_EQ((long long)json_array_size(json_object_get(o, "items")), 0);
    json_decref(o);
    CHECK_INT_EQ(call_as(tok_mgr3, "GET", "/api/v1/group-sops", &o, NULL), 200);
    CHECK_INT_EQ((long long)json_array_size(json_object_get(o, "items")), 2);
    json_decref(o);
    (void)gb;
    set_now("2026-03-20T10:00:00+08:00");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_groups PATH_TO_SIYU\n");
        return 2;
    }
    if (sodium_init() < 0) return 1;
    big = malloc(BIG);
    snprintf(clock_path, sizeof clock_path, "/tmp/siyu-clock-groups-%d", (int)getpid());
    set_now("2026-03-20T10:00:00+08:00");
    setenv("SIYU_NOW_FILE", clock_path, 1);
    setenv("SIYU_TICK_SECONDS", "0", 1);
    setenv("SIYU_SWEEP_SECONDS", "0", 1);
    pid_t server = harness_start(argv[1]);
    fd = conn_open();
    chain();
    bad_events();
    cap_holds();
    full_code();
    pushed_request();
    statistics();
    group_sales();
    patch_and_dismiss();
    erasure();
    group_segments();
    group_sops();
    close(fd);
    char cmd[512], out[4096];
    snprintf(cmd, sizeof cmd, "%s check --db %s 2>&1", siyu, db);
    int rc = run(cmd, out, sizeof out);
    if (rc != 0) CHECK_FAIL_("siyu check: %d %s", rc, out);
    if (rc != 0 && system(cmd) != 0) fprintf(stderr, "(siyu check above)\n");
    CHECK_INT_EQ(harness_stop(server), 0);
    unlink(clock_path);
    free(big);
    return CHECK_DONE();
}
