/* test_fission.c — fission over HTTP: the referral tree of docs/fission.md worked by hand,
 * invite rewards with their cap, clawback and abuse rules, group-buy and assists under 64
 * concurrent requests, deadlines on the test clock, a campaign paused, a merge that
 * moves no play, and a SIGKILL in a stream of joins, helps and invites after which
 * `siyu check` verifies teams, assists and the referral graph.
 * Run: test_fission PATH_TO_SIYU */
#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <math.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "harness.h"
#include "webhook_rx.h"

#define N 64

static char buf[1 << 17];
static char clock_path[128];
static int64_t now_s; /* the test clock, Unix seconds */

static void set_now(int64_t t)
{
    now_s = t;
    time_t tt = (time_t)(t + 8 * 3600);
    struct tm tm;
    gmtime_r(&tt, &tm);
    char s[64];
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S+08:00", &tm);
    FILE *f = fopen(clock_path, "w");
    fprintf(f, "%s\n", s);
    fclose(f);
}

static void iso(int64_t t, char *s, size_t cap)
{
    time_t tt = (time_t)(t + 8 * 3600);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(s, cap, "%Y-%m-%dT%H:%M:%S+08:00", &tm);
}

static int call(const char *method, const char *path, json_t **out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int call(const char *method, const char *path, json_t **out, const char *fmt, ...)
{
    char body[8192];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(body, sizeof body, fmt, ap);
        va_end(ap);
    }
    int fd = conn_open();
    int st = request(fd, method, path, fmt ? body : NULL, buf, sizeof buf);
    close(fd);
    if (out) *out = json_loads(buf, 0, NULL);
    return st;
}

static int64_t jget(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static int64_t member(const char *phone, const char *state, const char *device, int want)
{
    json_t *o;
    char extra[256] = "";
    if (state) snprintf(extra, sizeof extra, ",\"state\":\"%s\"", state);
    if (device)
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), ",\"device_id\":\"%s\"",
                 device);
    int st =
        call("POST", "/api/v1/members", &o, "{\"phone\":\"%s\",\"store_id\":1%s}", phone, extra);
    if (st != want) fprintf(stderr, "member %s: %d %s\n", phone, st, buf);
    CHECK_INT_EQ(st, want);
    int64_t id = jget(o, "id");
    json_decref(o);
    return id;
}

/* The referral answer of the last member call. */
static const char *referral_reason(int64_t *referrer)
{
    static char reason[64];
    json_t *o = json_loads(buf, 0, NULL);
    json_t *r = json_object_get(o, "referral");
    reason[0] = 0;
    if (referrer) *referrer = jget(r, "referrer_id");
    if (json_is_false(json_object_get(r, "accepted")))
        snprintf(reason, sizeof reason, "%s", json_string_value(json_object_get(r, "reason")));
    else if (json_is_true(json_object_get(r, "accepted")))
        snprintf(reason, sizeof reason, "accepted");
    json_decref(o);
    return reason;
}

static int64_t order(const char *ext, int64_t m, int64_t total)
{
    json_t *o;
    char at[40];
    iso(now_s, at, sizeof at);
    int st = call("POST", "/api/v1/orders", &o,
                  "{\"channel\":\"store\",\"external_id\":\"%s\",\"store_id\":1,\"member_id\":%lld,"
                  "\"placed_at\":\"%s\",\"total_cents\":%lld,\"discount_cents\":0,"
                  "\"points_used\":0,\"items\":[{\"sku\":\"A1\",\"category\":\"grocery\","
                  "\"qty\":1,\"unit_price_cents\":%lld}]}",
                  ext, (long long)m, at, (long long)total, (long long)total);
    if (st != 201) fprintf(stderr, "order %s: %d %s\n", ext, st, buf);
    CHECK_INT_EQ(st, 201);
    int64_t id = jget(o, "id");
    json_decref(o);
    return id;
}

static void refund(int64_t order_id, const char *ext, int64_t amount)
{
    char path[64], at[40];
    iso(now_s, at, sizeof at);
    snprintf(path, sizeof path, "/api/v1/orders/%lld/refunds", (long long)order_id);
    CHECK_INT_EQ(call("POST", path, NULL,
                      "{\"external_id\":\"%s\",\"amount_cents\":%lld,\"at\":\"%s\"}", ext,
                      (long long)amount, at),
                 201);
}

static int64_t campaign(const char *body)
{
    json_t *o;
    int st = call("POST", "/api/v1/campaigns", &o, "%s", body);
    if (st != 201) fprintf(stderr, "campaign: %d %s\n", st, buf);
    CHECK_INT_EQ(st, 201);
    int64_t id = jget(o, "id");
    json_decref(o);
    return id;
}

static void invite(int64_t c, int64_t m, const char *device, char state[64])
{
    char path[96];
    json_t *o;
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/invites", (long long)c);
    int st = device ? call("POST", path, &o, "{\"member_id\":%lld,\"device_id\":\"%s\"}",
                           (long long)m, device)
                    : call("POST", path, &o, "{\"member_id\":%lld}", (long long)m);
    if (st != 201) fprintf(stderr, "invite: %d %s\n", st, buf);
    CHECK_INT_EQ(st, 201);
    snprintf(state, 64, "%s", json_string_value(json_object_get(o, "state")));
    json_decref(o);
    /* one link per member and campaign: asking again answers the same */
    CHECK_INT_EQ(call("POST", path, &o, "{\"member_id\":%lld}", (long long)m), 200);
    CHECK_STR_EQ(json_string_value(json_object_get(o, "state")), state);
    json_decref(o);
}

static int64_t points_of(int64_t m)
{
    char path[96];
    json_t *o;
    snprintf(path, sizeof path, "/api/v1/members/%lld/points", (long long)m);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    int64_t b = jget(o, "balance");
    json_decref(o);
    return b;
}

static void check_clean(void)
{
    char cmd[512], out[8192];
    snprintf(cmd, sizeof cmd, "%s check --db %s 2>&1", siyu, db);
    int rc = run(cmd, out, sizeof out);
    if (rc) fprintf(stderr, "siyu check: %s\n", out);
    CHECK_INT_EQ(rc, 0);
}

/* ---------------- the referral tree of docs/fission.md ---------------- */

#define T0 1772330400 /* 2026-03-01T10:00:00+08:00 */
#define DAY 86400

static void tree(void)
{
    set_now(T0);
    int64_t c =
        campaign("{\"kind\":\"invite\",\"name\":\"老带新\",\"rules\":{\"on_join\":{\"points\":50},"
                 "\"on_first_order\":{\"points\":100},\"max_rewards_per_referrer\":2,"
                 "\"clawback_days\":30,\"max_joins_per_device_per_day\":1}}");
    int64_t R = member("13800000001", NULL, NULL, 201);
    int64_t X = member("13800000002", NULL, NULL, 201);
    char sR[64], sA[64], sD[64];
    invite(c, R, "devR", sR);
    /* day 1: A, B, C join through R; X (already a member) and a join from R's own device
     * are refused */
    set_now(T0 + DAY);
    int64_t ref;
    int64_t A = member("13800000011", sR, "devA", 201);
    CHECK_STR_EQ(referral_reason(&ref), "accepted");
    CHECK_INT_EQ(ref, R);
    int64_t B = member("13800000012", sR, "devB", 201);
    int64_t C = member("13800000013", sR, "devC", 201);
    CHECK_INT_EQ(member("13800000002", sR, "devX", 200), X);
    CHECK_STR_EQ(referral_reason(NULL), "existing_member");
    member("13800000091", sR, "devR", 201);
    CHECK_STR_EQ(referral_reason(NULL), "self_referral");
    /* day 3: D and E join through A; D's device again for A, and a second join of the
     * day from E's device, are refused */
    set_now(T0 + 3 * DAY);
    invite(c, A, NULL, sA);
    int64_t D = member("13800000021", sA, "devD", 201);
    int64_t E = member("13800000022", sA, "shared", 201);
    member("13800000092", sA, "devD", 201);
    CHECK_STR_EQ(referral_reason(NULL), "device_seen");
    invite(c, D, NULL, sD);
    member("13800000093", sD, "shared", 201);
    CHECK_STR_EQ(referral_reason(NULL), "device_daily_cap");
    /* a second state never changes a referrer */
    CHECK_INT_EQ(member("13800000021", sR, "devD2", 200), D);
    CHECK_STR_EQ(referral_reason(NULL), "already_referred");
    /* day 6: F joins through D */
    set_now(T0 + 6 * DAY);
    int64_t F = member("13800000031", sD, "devF", 201);
    CHECK_STR_EQ(referral_reason(&ref), "accepted");
    CHECK_INT_EQ(ref, D);
    /* orders (day 7): A 10000 then 4000 back; D 20000 all back (A's first-order reward is
     * taken back); E 3000 + 7000; F 5000; C 2500; B none */
    set_now(T0 + 7 * DAY);
    int64_t oa = order("t-a1", A, 10000);
    refund(oa, "t-a1-r", 4000);
    int64_t od = order("t-d1", D, 20000);
    CHECK_INT_EQ(points_of(A), 200); /* 50 + 50 joins, 100 for D's first order */
    refund(od, "t-d1-r", 20000);
    CHECK_INT_EQ(points_of(A), 100);
    order("t-e1", E, 3000);
    order("t-e2", E, 7000);
    order("t-f1", F, 5000);
    order("t-c1", C, 2500);
    (void)B;
    /* rewards: R paid for A and B (cap 2), C capped; A 50+50+100+100-100; D 50+100 */
    CHECK_INT_EQ(points_of(R), 200);
    CHECK_INT_EQ(points_of(A), 200);
    CHECK_INT_EQ(points_of(D), 150);
    /* the member's view */
    char path[96];
    json_t *o;
    snprintf(path, sizeof path, "/api/v1/members/%lld/referrals", (long long)A);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    json_t *by = json_object_get(o, "referred_by"), *direct = json_object_get(o, "direct"),
           *down = json_object_get(o, "downstream");
    CHECK_INT_EQ(jget(by, "referrer_id"), R);
    CHECK_INT_EQ(jget(by, "depth"), 1);
    CHECK_INT_EQ(jget(direct, "members"), 2);
    CHECK_INT_EQ(jget(direct, "sales_cents"), 10000);
    CHECK_INT_EQ(jget(down, "members"), 3);
    CHECK_INT_EQ(jget(down, "sales_cents"), 15000);
    CHECK_INT_EQ(jget(down, "depth_max"), 2);
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/members/%lld/referrals", (long long)F);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(jget(json_object_get(o, "referred_by"), "depth"), 3);
    CHECK_INT_EQ(jget(json_object_get(o, "referred_by"), "root_id"), R);
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/members/%lld/referrals", (long long)R);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(jget(json_object_get(o, "direct"), "members"), 3);
    CHECK_INT_EQ(jget(json_object_get(o, "direct"), "sales_cents"), 8500);
    CHECK_INT_EQ(jget(json_object_get(o, "downstream"), "members"), 6);
    CHECK_INT_EQ(jget(json_object_get(o, "downstream"), "sales_cents"), 23500);
    json_decref(o);
    /* the report: 3 invites by 3 inviters brought 6 members, 5 of whom ordered; cycle
     * times 1+1+1+2+2+3 = 10 days over 6 joins */
    CHECK_INT_EQ(call("GET",
                      "/api/v1/reports/referrals?from=2026-03-01T00:00:00%2B08:00"
                      "&to=2026-04-01T00:00:00%2B08:00",
                      &o, NULL),
                 200);
    json_t *t = json_object_get(o, "total");
    CHECK_INT_EQ(jget(t, "invites_sent"), 3);
    CHECK_INT_EQ(jget(t, "inviters"), 3);
    CHECK_INT_EQ(jget(t, "members_joined"), 6);
    CHECK_INT_EQ(jget(t, "first_orders"), 5);
    CHECK(fabs(json_real_value(json_object_get(t, "k_factor")) - 2.0) < 1e-9);
    CHECK(fabs(json_real_value(json_object_get(t, "cycle_time_days")) - 10.0 / 6) < 1e-9);
    CHECK_INT_EQ(json_array_size(json_object_get(o, "months")), 1);
    json_t *kol = json_object_get(o, "top_kols");
    json_t *first = json_array_get(json_object_get(kol, "by_all_members"), 0);
    CHECK_INT_EQ(jget(first, "member_id"), R);
    CHECK_INT_EQ(jget(first, "downstream"), 6);
    first = json_array_get(json_object_get(kol, "by_direct_sales"), 0);
    CHECK_INT_EQ(jget(first, "member_id"), A);
    CHECK_INT_EQ(jget(first, "direct_sales_cents"), 10000);
    CHECK_INT_EQ(json_array_size(json_object_get(kol, "by_all_sales")), 3);
    json_decref(o);
    /* the campaign's report names each refusal */
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/report", (long long)c);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    json_t *ref_ = json_object_get(o, "refused");
    CHECK_INT_EQ(jget(ref_, "existing_member"), 1);
    CHECK_INT_EQ(jget(ref_, "self_referral"), 1);
    CHECK_INT_EQ(jget(ref_, "device_seen"), 1);
    CHECK_INT_EQ(jget(ref_, "device_daily_cap"), 1);
    CHECK_INT_EQ(jget(ref_, "already_referred"), 1);
    CHECK_INT_EQ(jget(o, "members_joined"), 6);
    json_decref(o);
    /* the 360 says who referred a member */
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)E);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(
        jget(json_object_get(json_object_get(o, "referral"), "referred_by"), "referrer_id"), A);
    CHECK(json_array_size(json_object_get(o, "campaigns")) >= 1);
    json_decref(o);
    /* the segment attributes follow the graph */
    static const struct {
        const char *expr;
        int64_t want;
    } segs[] = {{"referrals_all >= 3", 2},   /* R (6) and A (3) */
                {"referrals_direct = 1", 1}, /* D */
                {"referral_depth = 3", 1},   /* F */
                {"referral_depth > 0", 6}};
    for (size_t k = 0; k < sizeof segs / sizeof *segs; k++) {
        CHECK_INT_EQ(call("POST", "/api/v1/segments/count", &o, "{\"expr\":\"%s\"}", segs[k].expr),
                     200);
        CHECK_INT_EQ(jget(o, "count"), segs[k].want);
        json_decref(o);
    }
    /* a paused campaign makes no invite */
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld", (long long)c);
    CHECK_INT_EQ(call("PATCH", path, NULL, "{\"paused\":true,\"name\":\"老带新(停)\"}"), 200);
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/invites", (long long)c);
    CHECK_INT_EQ(call("POST", path, NULL, "{\"member_id\":%lld}", (long long)B), 422);
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld", (long long)c);
    CHECK_INT_EQ(call("PATCH", path, NULL, "{\"paused\":false}"), 200);
    CHECK_INT_EQ(call("PATCH", path, NULL, "{\"rules\":{}}"), 400);
    check_clean();
}

/* ---------------- the other two ways in: a WeCom contact, a forwarded coupon ---------- */

static void other_ways(void)
{
    set_now(T0 + 8 * DAY);
    int64_t c = campaign("{\"kind\":\"invite\",\"name\":\"企微邀请\",\"rules\":{\"on_join\":"
                         "{\"points\":10}}}");
    int64_t host = member("13800000101", NULL, NULL, 201);
    char st[64];
    invite(c, host, NULL, st);
    json_t *o;
    CHECK_INT_EQ(
        call("POST", "/api/v1/staff", &o, "{\"name\":\"王芳\",\"role\":\"guide\",\"store_id\":1}"),
        201);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/staff/%lld", (long long)jget(o, "id"));
    json_decref(o);
    CHECK_INT_EQ(call("PATCH", path, NULL, "{\"wecom_userid\":\"fis-guide\"}"), 200);
    char at[40];
    iso(now_s - 60, at, sizeof at);
    CHECK_INT_EQ(call("POST", "/api/v1/wecom/events", &o,
                      "{\"event\":\"add_external_contact\",\"userid\":\"fis-guide\","
                      "\"external_userid\":\"wmFIS1\",\"state\":\"%s\",\"at\":\"%s\","
                      "\"unionid\":\"uFIS1\"}",
                      st, at),
                 201);
    json_t *r0 = json_array_get(json_object_get(o, "results"), 0);
    json_t *ref = json_object_get(r0, "referral");
    CHECK(json_is_true(json_object_get(ref, "accepted")));
    CHECK_INT_EQ(jget(ref, "referrer_id"), host);
    int64_t via_wecom = jget(r0, "member_id");
    json_decref(o);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM referrals WHERE member_id = ?1 AND via = 'wecom'",
                        via_wecom, 0),
                 1);
    CHECK_INT_EQ(points_of(host), 10);
    /* a shareable coupon forwarded to a new phone: an invite of channel coupon */
    CHECK_INT_EQ(call("POST", "/api/v1/coupon-templates", &o,
                      "{\"name\":\"分享券\",\"kind\":\"cash_off\",\"value_cents\":500,"
                      "\"min_spend_cents\":1000,\"valid_days\":30,\"shareable\":true}"),
                 201);
    int64_t tpl = jget(o, "id");
    json_decref(o);
    CHECK_INT_EQ(call("POST", "/api/v1/coupons", &o, "{\"template_id\":%lld,\"member_id\":%lld}",
                      (long long)tpl, (long long)host),
                 201);
    char code[32];
    json_t *items = json_object_get(o, "items");
    json_t *first = items ? json_array_get(items, 0) : o;
    snprintf(code, sizeof code, "%s", json_string_value(json_object_get(first, "code")));
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/coupons/%s/forward", code);
    CHECK_INT_EQ(call("POST", path, &o, "{\"phone\":\"13800000102\"}"), 200);
    int64_t friend = jget(json_object_get(o, "friend"), "member_id");
    json_decref(o);
    CHECK_INT_EQ(db_int("SELECT referrer_id FROM referrals WHERE member_id = ?1 AND channel ="
                        " 'coupon'",
                        friend, 0),
                 host);
    snprintf(path, sizeof path, "/api/v1/members/%lld/referrals", (long long)host);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(jget(json_object_get(o, "direct"), "members"), 2);
    json_decref(o);
    check_clean();
}

/* ---------------- group-buy ---------------- */

static int64_t gb_members[N + 8];
static int64_t failed_team; /* group_buy's team that fails at its deadline */

typedef struct job {
    char path[96], body[256];
    int status;
} job;

static pthread_barrier_t gate;

static void *worker(void *arg)
{
    job *j = arg;
    char local[8192];
    int fd = conn_open();
    pthread_barrier_wait(&gate);
    j->status = request(fd, "POST", j->path, j->body, local, sizeof local);
    close(fd);
    return NULL;
}

static void run_all(job *jobs)
{
    pthread_t th[N];
    pthread_barrier_init(&gate, NULL, N);
    for (int i = 0; i < N; i++)
        pthread_create(&th[i], NULL, worker, &jobs[i]);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&gate);
}

static int64_t team_open(int64_t c, int64_t leader, const char *ext, int want)
{
    char path[96];
    json_t *o;
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/teams", (long long)c);
    int st =
        call("POST", path, &o, "{\"member_id\":%lld,\"order\":\"%s\"}", (long long)leader, ext);
    if (st != want) fprintf(stderr, "team open: %d %s\n", st, buf);
    CHECK_INT_EQ(st, want);
    int64_t id = jget(o, "id");
    json_decref(o);
    return id;
}

static void group_buy(void)
{
    set_now(T0 + 10 * DAY);
    int64_t c = campaign("{\"kind\":\"group_buy\",\"name\":\"三人团\",\"rules\":{\"sku\":\"A1\","
                         "\"price_cents\":9900,\"team_size\":3,\"hours\":24}}");
    for (int i = 0; i < N + 8; i++) {
        char phone[32], ext[32];
        snprintf(phone, sizeof phone, "1390000%04d", i);
        gb_members[i] = member(phone, NULL, NULL, 201);
        snprintf(ext, sizeof ext, "gb-%d", i);
        order(ext, gb_members[i], 9900);
    }
    int64_t team = team_open(c, gb_members[N], "gb-64", 201);
    CHECK_INT_EQ(team_open(c, gb_members[N], "gb-64", 200), team); /* a retry */
    /* 64 members join at once: two seats are left */
    static job jobs[N];
    for (int i = 0; i < N; i++) {
        snprintf(jobs[i].path, sizeof jobs[i].path, "/api/v1/teams/%lld/join", (long long)team);
        snprintf(jobs[i].body, sizeof jobs[i].body, "{\"member_id\":%lld,\"order\":\"gb-%d\"}",
                 (long long)gb_members[i], i);
    }
    run_all(jobs);
    int joined = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        joined += jobs[i].status == 201;
        refused += jobs[i].status == 422;
    }
    CHECK_INT_EQ(joined, 2);
    CHECK_INT_EQ(refused, N - 2);
    char path[96];
    json_t *o;
    snprintf(path, sizeof path, "/api/v1/teams/%lld", (long long)team);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(jget(o, "paid"), 3);
    CHECK_STR_EQ(json_string_value(json_object_get(o, "status")), "succeeded");
    CHECK_INT_EQ(json_array_size(json_object_get(o, "members")), 3);
    json_decref(o);
    /* a team that fails at its deadline: every payment goes back through the mall */
    int64_t t2 = team_open(c, gb_members[N + 1], "gb-65", 201);
    failed_team = t2;
    snprintf(path, sizeof path, "/api/v1/teams/%lld/join", (long long)t2);
    CHECK_INT_EQ(call("POST", path, NULL, "{\"member_id\":%lld,\"order\":\"gb-66\"}",
                      (long long)gb_members[N + 2]),
                 201);
    CHECK_INT_EQ(call("POST", path, NULL, "{\"member_id\":%lld,\"order\":\"gb-66\"}",
                      (long long)gb_members[N + 2]),
                 200); /* the same join again */
    CHECK_INT_EQ(call("POST", path, NULL, "{\"member_id\":%lld,\"order\":\"gb-67\"}",
                      (long long)gb_members[N + 2]),
                 409); /* the same member with another order */
    CHECK_INT_EQ(call("POST", path, NULL, "{\"member_id\":%lld,\"order\":\"nope\"}",
                      (long long)gb_members[N + 3]),
                 422);
    set_now(T0 + 11 * DAY + 3600);
    CHECK_INT_EQ(call("POST", path, NULL, "{\"member_id\":%lld,\"order\":\"gb-67\"}",
                      (long long)gb_members[N + 3]),
                 422); /* past the deadline */
    CHECK_INT_EQ(call("POST", "/api/v1/campaigns/sweep", &o, NULL), 200);
    CHECK_INT_EQ(jget(o, "teams_failed"), 1);
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/teams/%lld", (long long)t2);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_STR_EQ(json_string_value(json_object_get(o, "status")), "failed");
    json_t *refunds = json_object_get(o, "refunds");
    CHECK_INT_EQ(json_array_size(refunds), 2);
    CHECK_INT_EQ(jget(json_array_get(refunds, 0), "amount_cents"), 9900);
    json_decref(o);
    /* virtual completion, stated in the report */
    int64_t cv = campaign("{\"kind\":\"group_buy\",\"name\":\"虚拟成团\",\"rules\":{\"sku\":\"A1\","
                          "\"price_cents\":9900,\"team_size\":3,\"hours\":2,"
                          "\"virtual_completion\":true}}");
    int64_t t3 = team_open(cv, gb_members[N + 4], "gb-68", 201);
    set_now(T0 + 11 * DAY + 4 * 3600);
    CHECK_INT_EQ(call("POST", "/api/v1/campaigns/sweep", NULL, NULL), 200);
    snprintf(path, sizeof path, "/api/v1/teams/%lld", (long long)t3);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_STR_EQ(json_string_value(json_object_get(o, "status")), "succeeded");
    CHECK_INT_EQ(jget(o, "virtual_members"), 2);
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/report", (long long)cv);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(jget(o, "virtual_members"), 2);
    CHECK_INT_EQ(json_array_size(json_object_get(o, "completed_virtually")), 1);
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/report", (long long)c);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(jget(o, "teams_failed"), 1);
    CHECK_INT_EQ(jget(o, "refunds_instructed"), 2);
    CHECK_INT_EQ(jget(o, "participants"), 5);
    json_decref(o);
    check_clean();
}

/* ---------------- assists ---------------- */

static void assists(void)
{
    set_now(T0 + 12 * DAY);
    int64_t c = campaign("{\"kind\":\"assist\",\"name\":\"砍一刀\",\"rules\":{\"sku\":\"B2\","
                         "\"price_cents\":10000,\"target_cents\":4000,\"helpers\":5,"
                         "\"step\":\"random\",\"hours\":48}}");
    char path[96];
    json_t *o;
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/assists", (long long)c);
    CHECK_INT_EQ(call("POST", path, &o, "{\"member_id\":%lld}", (long long)gb_members[0]), 201);
    int64_t a = jget(o, "id");
    json_decref(o);
    CHECK_INT_EQ(call("POST", path, &o, "{\"member_id\":%lld}", (long long)gb_members[0]), 200);
    CHECK_INT_EQ(jget(o, "id"), a);
    json_decref(o);
    static job jobs[N];
    for (int i = 0; i < N; i++) {
        snprintf(jobs[i].path, sizeof jobs[i].path, "/api/v1/assists/%lld/help", (long long)a);
        snprintf(jobs[i].body, sizeof jobs[i].body, "{\"member_id\":%lld}",
                 (long long)gb_members[i + 1]);
    }
    run_all(jobs);
    int helped = 0;
    for (int i = 0; i < N; i++)
        helped += jobs[i].status == 201;
    CHECK_INT_EQ(helped, 5);
    snprintf(path, sizeof path, "/api/v1/assists/%lld", (long long)a);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(jget(o, "current_cents"), 4000);
    CHECK_STR_EQ(json_string_value(json_object_get(o, "status")), "reached");
    int64_t sum = 0;
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(o, "helps"), i, h) sum += jget(h, "cut_cents");
    CHECK_INT_EQ(sum, 6000);
    CHECK_INT_EQ(jget(o, "discount_cents"), 6000);
    json_decref(o);
    /* a helper helps once per campaign, on any assist of it */
    int64_t helper = 0;
    for (int k = 0; k < N && !helper; k++)
        if (jobs[k].status == 201) helper = gb_members[k + 1];
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/assists", (long long)c);
    CHECK_INT_EQ(call("POST", path, &o, "{\"member_id\":%lld}", (long long)gb_members[N]), 201);
    int64_t a2 = jget(o, "id");
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/assists/%lld/help", (long long)a2);
    CHECK_INT_EQ(call("POST", path, NULL, "{\"member_id\":%lld}", (long long)helper), 422);
    CHECK_INT_EQ(call("POST", path, NULL, "{\"member_id\":%lld}", (long long)gb_members[N]),
                 422); /* not one's own */
    /* fixed steps: 999 cents over 3 helpers is 333 each; new members only */
    int64_t cf = campaign("{\"kind\":\"assist\",\"name\":\"新人助力\",\"rules\":{\"sku\":\"B3\","
                          "\"price_cents\":1000,\"target_cents\":1,\"helpers\":3,"
                          "\"step\":\"fixed\",\"new_members_only\":true,\"hours\":1}}");
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/assists", (long long)cf);
    CHECK_INT_EQ(call("POST", path, &o, "{\"member_id\":%lld}", (long long)gb_members[1]), 201);
    int64_t a3 = jget(o, "id");
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/assists/%lld/help", (long long)a3);
    CHECK_INT_EQ(call("POST", path, &o, "{\"member_id\":%lld}", (long long)gb_members[2]), 422);
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(o, "error"), "reason")),
                 "not_new_member");
    json_decref(o);
    set_now(now_s + 60);
    for (int k = 0; k < 3; k++) {
        char phone[32];
        snprintf(phone, sizeof phone, "1370000%04d", k);
        int64_t fresh = member(phone, NULL, NULL, 201);
        CHECK_INT_EQ(call("POST", path, &o, "{\"member_id\":%lld}", (long long)fresh), 201);
        CHECK_INT_EQ(jget(o, "cut_cents"), 333);
        json_decref(o);
    }
    snprintf(path, sizeof path, "/api/v1/assists/%lld", (long long)a3);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(jget(o, "current_cents"), 1);
    json_decref(o);
    /* the unhelped second assist expires at its deadline */
    set_now(now_s + 3 * DAY);
    CHECK_INT_EQ(call("POST", "/api/v1/campaigns/sweep", &o, NULL), 200);
    CHECK_INT_EQ(jget(o, "assists_expired"), 1);
    json_decref(o);
    check_clean();
}

/* ---------------- a merge moves no play ---------------- */

static void merge_keeps_plays(void)
{
    int64_t w = campaign("{\"kind\":\"wheel\",\"name\":\"转盘\",\"rules\":{\"prizes\":[{\"name\":"
                         "\"杯\",\"gift\":\"cup\",\"odds\":1,\"stock\":null,\"cost_cents\":1}]}}");
    char path[96];
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/plays", (long long)w);
    int64_t from = gb_members[10], into = gb_members[11];
    CHECK_INT_EQ(
        call("POST", path, NULL, "{\"member_id\":%lld,\"play_id\":\"m-1\"}", (long long)from), 201);
    snprintf(path, sizeof path, "/api/v1/members/%lld/merge", (long long)into);
    CHECK_INT_EQ(call("POST", path, NULL, "{\"from_member_id\":%lld}", (long long)from), 200);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM campaign_plays WHERE member_id = ?1", from, 0), 1);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM team_members WHERE member_id = ?1", from, 0),
                 db_int("SELECT count(*) FROM team_members WHERE member_id = ?1", from, 0));
    /* the survivor's replay of the play answers the first play */
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/plays", (long long)w);
    CHECK_INT_EQ(
        call("POST", path, NULL, "{\"member_id\":%lld,\"play_id\":\"m-1\"}", (long long)into), 200);
    check_clean();
}

/* ---------------- SIGKILL mid-stream ---------------- */

#define THREADS 8
static atomic_int acked;
static atomic_bool stop;
static int64_t kill_team, kill_assist, kill_campaign;
static char kill_state[64];

static void *streamer(void *arg)
{
    int t = (int)(intptr_t)arg;
    char local[8192], body[256], path[96];
    for (int k = 0; !atomic_load(&stop); k++) {
        int fd = conn_open();
        if (fd < 0) break;
        int i = t * 1000 + k;
        int st;
        switch (k % 3) {
        case 0: /* a new member through an invite */
            snprintf(body, sizeof body, "{\"phone\":\"1360%07d\",\"state\":\"%s\"}", i, kill_state);
            st = request(fd, "POST", "/api/v1/members", body, local, sizeof local);
            break;
        case 1: /* a join of the big team, with the member's order */
            snprintf(path, sizeof path, "/api/v1/teams/%lld/join", (long long)kill_team);
            snprintf(body, sizeof body, "{\"member_id\":%lld,\"order\":\"gb-%d\"}",
                     (long long)gb_members[(t * 8 + k / 3) % N], (t * 8 + k / 3) % N);
            st = request(fd, "POST", path, body, local, sizeof local);
            break;
        default:
            snprintf(path, sizeof path, "/api/v1/assists/%lld/help", (long long)kill_assist);
            snprintf(body, sizeof body, "{\"member_id\":%lld}",
                     (long long)gb_members[(t * 8 + k / 3) % N]);
            st = request(fd, "POST", path, body, local, sizeof local);
        }
        close(fd);
        if (st == 201) atomic_fetch_add(&acked, 1);
        if (st <= 0) break;
    }
    return NULL;
}

static pid_t kill9(pid_t pid)
{
    set_now(T0 + 20 * DAY);
    kill_campaign = campaign("{\"kind\":\"invite\",\"name\":\"断电邀请\",\"rules\":{\"on_join\":"
                             "{\"points\":5},\"max_rewards_per_referrer\":30}}");
    invite(kill_campaign, gb_members[N + 5], NULL, kill_state);
    int64_t cg = campaign("{\"kind\":\"group_buy\",\"name\":\"大团\",\"rules\":{\"sku\":\"A1\","
                          "\"price_cents\":9900,\"team_size\":40,\"hours\":24}}");
    kill_team = team_open(cg, gb_members[N + 6], "gb-70", 201);
    int64_t ca = campaign("{\"kind\":\"assist\",\"name\":\"断电砍价\",\"rules\":{\"sku\":\"B2\","
                          "\"price_cents\":100000,\"target_cents\":100,\"helpers\":30,"
                          "\"step\":\"random\",\"hours\":48}}");
    char path[96];
    json_t *o;
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/assists", (long long)ca);
    CHECK_INT_EQ(call("POST", path, &o, "{\"member_id\":%lld}", (long long)gb_members[N + 7]), 201);
    kill_assist = jget(o, "id");
    json_decref(o);
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, streamer, (void *)(intptr_t)t);
    for (int i = 0; i < 500 && atomic_load(&acked) < 40; i++)
        usleep(10000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    atomic_store(&stop, true);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    fprintf(stderr, "acknowledged %d joins, helps and invites before SIGKILL\n",
            atomic_load(&acked));
    CHECK(atomic_load(&acked) > 5);
    check_clean();
    CHECK(db_int("SELECT paid FROM teams WHERE id = ?1", kill_team, 0) <= 40);
    CHECK(db_int("SELECT helped FROM assists WHERE id = ?1", kill_assist, 0) <= 30);
    return start_server();
}

/* ---------------- refund instructions: pulled, acknowledged, pushed to the mall ----------------
 */

#define SECRET "mall-secret-0123456789abcdef"

static pthread_mutex_t rx_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *rx_seen; /* instruction id (as a string) -> deliveries the mall accepted */
static atomic_int rx_fail_next, rx_bad_key, rx_bad_signature;

static int on_mall(void *ctx, json_t *body, const char *key, bool signature_ok)
{
    (void)ctx;
    if (!signature_ok) {
        atomic_fetch_add(&rx_bad_signature, 1);
        return 401;
    }
    if (atomic_load(&rx_fail_next) > 0) {
        atomic_fetch_sub(&rx_fail_next, 1);
        return 503; /* the mall is down: siyu retries with the same key */
    }
    json_t *data = json_object_get(body, "data");
    json_int_t id = json_integer_value(json_object_get(data, "refund_instruction_id"));
    char k[32];
    snprintf(k, sizeof k, "%lld", (long long)id);
    if (strcmp(k, key) != 0 ||
        strcmp(json_string_value(json_object_get(data, "kind")), "refund_instruction") != 0)
        atomic_fetch_add(&rx_bad_key, 1);
    pthread_mutex_lock(&rx_lock);
    json_object_set_new(rx_seen, k,
                        json_integer(json_integer_value(json_object_get(rx_seen, k)) + 1));
    pthread_mutex_unlock(&rx_lock);
    return 200;
}

static int64_t rx_deliveries(int64_t id)
{
    char k[32];
    snprintf(k, sizeof k, "%lld", (long long)id);
    pthread_mutex_lock(&rx_lock);
    int64_t n = json_integer_value(json_object_get(rx_seen, k));
    pthread_mutex_unlock(&rx_lock);
    return n;
}

/* Every refund instruction of a status, by pages of `page`: how many, and each order's
 * external id seen at most once (the team's payments each appear exactly once). */
static int pull_all(const char *status, int page, json_t *orders)
{
    int64_t cursor = 0;
    int n = 0;
    for (;;) {
        char path[160];
        json_t *o;
        snprintf(path, sizeof path, "/api/v1/refund-instructions?status=%s&limit=%d&cursor=%lld",
                 status, page, (long long)cursor);
        CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
        json_t *items = json_object_get(o, "items"), *it;
        size_t i;
        json_array_foreach(items, i, it)
        {
            const char *ext = json_string_value(json_object_get(it, "order_external_id"));
            CHECK(json_object_get(orders, ext) == NULL);
            json_object_set_new(orders, ext, json_integer(jget(it, "amount_cents")));
            CHECK_STR_EQ(json_string_value(json_object_get(it, "status")), status);
            n++;
        }
        const char *next = json_string_value(json_object_get(o, "next_cursor"));
        cursor = next ? atoll(next) : 0;
        json_decref(o);
        if (!next) break;
    }
    return n;
}

static json_t *tick(void)
{
    json_t *o;
    CHECK_INT_EQ(call("POST", "/api/v1/journeys/tick", &o, NULL), 200);
    json_t *r = json_incref(json_object_get(json_object_get(o, "dispatch"), "refund_instructions"));
    json_decref(o);
    return r;
}

static void refund_instructions(int rx_port)
{
    /* group_buy's failed team: its leader's and its member's payments, once each, pulled */
    json_t *orders = json_object();
    CHECK_INT_EQ(pull_all("pending", 1, orders), 2);
    CHECK_INT_EQ(json_integer_value(json_object_get(orders, "gb-65")), 9900);
    CHECK_INT_EQ(json_integer_value(json_object_get(orders, "gb-66")), 9900);
    json_decref(orders);
    json_t *o;
    CHECK_INT_EQ(call("GET", "/api/v1/refund-instructions?status=pending", &o, NULL), 200);
    json_t *items = json_object_get(o, "items");
    int64_t id1 = jget(json_array_get(items, 0), "id"), id2 = jget(json_array_get(items, 1), "id");
    CHECK_INT_EQ(jget(json_array_get(items, 0), "team_id"), failed_team);
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(items, 0), "delivery")),
                 "queued");
    json_decref(o);
    CHECK_INT_EQ(call("GET", "/api/v1/refund-instructions?status=refunded", NULL, NULL), 400);
    /* no binding "mall" yet: a tick sends nothing */
    o = tick();
    CHECK_INT_EQ(jget(o, "sent"), 0);
    json_decref(o);
    /* the mall's webhook; it is down for the first attempt */
    CHECK_INT_EQ(call("PUT", "/api/v1/channels/mall", NULL,
                      "{\"adapter\":\"webhook\",\"url\":\"http://127.0.0.1:%d/refunds\","
                      "\"secret\":\"" SECRET "\",\"backoff_base_ms\":1000}",
                      rx_port),
                 200);
    atomic_store(&rx_fail_next, 1);
    o = tick();
    CHECK_INT_EQ(jget(o, "sent"), 1);
    CHECK_INT_EQ(jget(o, "retry"), 1);
    json_decref(o);
    set_now(now_s + 60); /* past the retry's time */
    o = tick();
    CHECK_INT_EQ(jget(o, "sent"), 1);
    json_decref(o);
    o = tick(); /* nothing left to send */
    CHECK_INT_EQ(jget(o, "sent") + jget(o, "retry") + jget(o, "dead"), 0);
    json_decref(o);
    CHECK_INT_EQ(rx_deliveries(id1), 1);
    CHECK_INT_EQ(rx_deliveries(id2), 1);
    CHECK_INT_EQ(atomic_load(&rx_bad_key), 0);
    CHECK_INT_EQ(atomic_load(&rx_bad_signature), 0);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/refund-instructions/%lld", (long long)id1);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_STR_EQ(json_string_value(json_object_get(o, "delivery")), "sent");
    CHECK(jget(o, "attempts") >= 1);
    json_decref(o);
    /* acknowledged: once, the same answer again, another reference is a conflict */
    snprintf(path, sizeof path, "/api/v1/refund-instructions/%lld/ack", (long long)id1);
    CHECK_INT_EQ(call("POST", path, &o, "{\"reference\":\"RF-1\"}"), 200);
    CHECK_STR_EQ(json_string_value(json_object_get(o, "status")), "acked");
    char acked_at[64];
    snprintf(acked_at, sizeof acked_at, "%s", json_string_value(json_object_get(o, "acked_at")));
    json_decref(o);
    set_now(now_s + 60);
    CHECK_INT_EQ(call("POST", path, &o, "{\"reference\":\"RF-1\"}"), 200);
    CHECK_STR_EQ(json_string_value(json_object_get(o, "acked_at")), acked_at);
    json_decref(o);
    CHECK_INT_EQ(call("POST", path, &o, NULL), 200); /* no body: the same */
    CHECK_STR_EQ(json_string_value(json_object_get(o, "reference")), "RF-1");
    json_decref(o);
    CHECK_INT_EQ(call("POST", path, NULL, "{\"reference\":\"RF-2\"}"), 409);
    CHECK_INT_EQ(call("POST", path, NULL, "{\"reference\":\"\"}"), 400);
    CHECK_INT_EQ(call("POST", path, NULL, "{\"refund\":\"RF-1\"}"), 400);
    CHECK_INT_EQ(call("POST", "/api/v1/refund-instructions/999999/ack", NULL, NULL), 404);
    orders = json_object();
    CHECK_INT_EQ(pull_all("pending", 10, orders), 1);
    CHECK(json_object_get(orders, "gb-66") != NULL);
    json_decref(orders);
    orders = json_object();
    CHECK_INT_EQ(pull_all("acked", 10, orders), 1);
    json_decref(orders);
    check_clean();
}

/* After the SIGKILL: the big team fails at its deadline, every paid seat gets exactly one
 * instruction, a second SIGKILL right after the sweep loses none, and each reaches the
 * mall once. */
static pid_t refunds_after_kill(pid_t pid)
{
    long long paid = db_int("SELECT paid FROM teams WHERE id = ?1", kill_team, 0);
    set_now(now_s + 3 * DAY);
    json_t *o;
    CHECK_INT_EQ(call("POST", "/api/v1/campaigns/sweep", &o, NULL), 200);
    CHECK(jget(o, "teams_failed") >= 1);
    json_decref(o);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    check_clean();
    pid = start_server();
    CHECK_INT_EQ(db_int("SELECT count(*) FROM mall_instructions WHERE team_id = ?1", kill_team, 0),
                 paid);
    json_t *orders = json_object();
    int pending = pull_all("pending", 7, orders);
    CHECK_INT_EQ(pending, paid + 1); /* and group_buy's unacknowledged one */
    json_decref(orders);
    for (int i = 0; i < 5; i++)
        json_decref(tick());
    CHECK_INT_EQ(db_int("SELECT count(*) FROM mall_instructions WHERE delivery = 'sent'", 0, 0),
                 paid + 2);
    long long n = db_int("SELECT count(*) FROM mall_instructions", 0, 0);
    CHECK_INT_EQ(n, paid + 2);
    for (long long i = 0; i < n; i++)
        CHECK_INT_EQ(rx_deliveries(db_int("SELECT id FROM mall_instructions ORDER BY id LIMIT 1"
                                          " OFFSET ?1",
                                          i, 0)),
                     1);
    check_clean();
    return pid;
}

/* ---------------- coupon clawback, worked by hand ----------------
 * Campaign: on_first_order {points 30, coupon 满100减5}, clawback_days 10. P invites Q, S
 * and U; each places a first order, so P holds 90 points and three coupons K_Q, K_S, K_U.
 * P redeems K_S on an order of its own. Day +3: Q's order fully refunded -> K_Q voided
 * (unused), 30 points back. Day +4: S's order fully refunded -> 30 points back, K_S already
 * redeemed: not recovered. Day +15: U's order fully refunded, past the 10 days: nothing.
 * Report: 2 rewards clawed back, 60 points taken, 0 points not recovered, 1 coupon voided,
 * 1 not recovered; P's balance 90 - 60 (+ what P's own order earned, none: no earn rule). */
static const char *coupon_state(const char *code)
{
    static char state[32];
    char path[96];
    json_t *o;
    snprintf(path, sizeof path, "/api/v1/coupons/%s", code);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    snprintf(state, sizeof state, "%s", json_string_value(json_object_get(o, "state")));
    json_decref(o);
    return state;
}

static void coupon_clawback(void)
{
    int64_t t0 = now_s + DAY;
    set_now(t0);
    json_t *o;
    CHECK_INT_EQ(call("POST", "/api/v1/coupon-templates", &o,
                      "{\"name\":\"满100减5\",\"kind\":\"cash_off\",\"value_cents\":500,"
                      "\"min_spend_cents\":1000,\"valid_days\":60}"),
                 201);
    int64_t tpl = jget(o, "id");
    json_decref(o);
    char body[512];
    snprintf(
        body, sizeof body,
        "{\"kind\":\"invite\",\"name\":\"券回收\",\"rules\":{\"on_first_order\":{\"points\":30,"
        "\"coupon_template_id\":%lld},\"clawback_days\":10}}",
        (long long)tpl);
    int64_t c = campaign(body);
    int64_t P = member("13588000001", NULL, NULL, 201);
    char sP[64];
    invite(c, P, NULL, sP);
    int64_t Q = member("13588000002", sP, "cq", 201);
    int64_t S = member("13588000003", sP, "cs", 201);
    int64_t U = member("13588000004", sP, "cu", 201);
    int64_t before = points_of(P);
    int64_t oq = order("cb-q", Q, 10000), os = order("cb-s", S, 8000), ou = order("cb-u", U, 6000);
    CHECK_INT_EQ(points_of(P), before + 90);
    /* the three reward coupons, by the rewards' rows */
    char kq[32], ks[32], ku[32];
    char *codes[3] = {kq, ks, ku};
    for (int i = 0; i < 3; i++) {
        char path[160];
        snprintf(path, sizeof path, "/api/v1/members/%lld/coupons", (long long)P);
        CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
        json_t *items = json_object_get(o, "items"), *it;
        size_t k;
        int found = 0;
        json_array_foreach(items, k, it)
        {
            if ((int)k == 2 - i) { /* newest first: K_U, K_S, K_Q */
                snprintf(codes[i], 32, "%s", json_string_value(json_object_get(it, "code")));
                found = 1;
            }
        }
        CHECK(found);
        json_decref(o);
    }
    CHECK_STR_EQ(coupon_state(kq), "issued");
    /* P redeems K_S */
    char at[40];
    iso(now_s, at, sizeof at);
    int st =
        call("POST", "/api/v1/orders", &o,
             "{\"channel\":\"store\",\"external_id\":\"cb-p\",\"store_id\":1,\"member_id\":%lld,"
             "\"placed_at\":\"%s\",\"total_cents\":1500,\"discount_cents\":500,"
             "\"coupon_code\":\"%s\",\"items\":[{\"sku\":\"A1\",\"qty\":1,"
             "\"unit_price_cents\":2000}]}",
             (long long)P, at, ks);
    if (st != 201) fprintf(stderr, "order with coupon: %d %s\n", st, buf);
    CHECK_INT_EQ(st, 201);
    json_decref(o);
    CHECK_STR_EQ(coupon_state(ks), "redeemed");
    int64_t p_now = points_of(P);
    set_now(t0 + 3 * DAY);
    refund(oq, "cb-q-r", 10000);
    CHECK_STR_EQ(coupon_state(kq), "void");
    CHECK_INT_EQ(points_of(P), p_now - 30);
    set_now(t0 + 4 * DAY);
    refund(os, "cb-s-r", 8000);
    CHECK_STR_EQ(coupon_state(ks), "redeemed"); /* already used: stays, reported */
    CHECK_INT_EQ(points_of(P), p_now - 60);
    set_now(t0 + 15 * DAY);
    refund(ou, "cb-u-r", 6000); /* past clawback_days */
    CHECK_STR_EQ(coupon_state(ku), "issued");
    CHECK_INT_EQ(points_of(P), p_now - 60);
    /* a voided coupon cannot be redeemed */
    iso(now_s, at, sizeof at);
    CHECK_INT_EQ(call("POST", "/api/v1/orders", &o,
                      "{\"channel\":\"store\",\"external_id\":\"cb-p2\",\"store_id\":1,"
                      "\"member_id\":%lld,\"placed_at\":\"%s\",\"total_cents\":1500,"
                      "\"discount_cents\":500,\"coupon_code\":\"%s\",\"items\":[{\"sku\":\"A1\","
                      "\"qty\":1,\"unit_price_cents\":2000}]}",
                      (long long)P, at, kq),
                 422);
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(o, "error"), "field")),
                 "coupon_code");
    json_decref(o);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/report", (long long)c);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    json_t *cb = json_object_get(o, "clawback");
    CHECK_INT_EQ(jget(cb, "rewards"), 2);
    CHECK_INT_EQ(jget(cb, "points_taken"), 60);
    CHECK_INT_EQ(jget(cb, "points_not_recovered"), 0);
    CHECK_INT_EQ(jget(cb, "coupons_voided"), 1);
    CHECK_INT_EQ(jget(cb, "coupons_not_recovered"), 1);
    json_decref(o);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM referral_rewards WHERE campaign_id = ?1 AND"
                        " clawed_coupon = 'redeemed'",
                        c, 0),
                 1);
    check_clean();
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_fission PATH_TO_SIYU\n");
        return 2;
    }
    snprintf(clock_path, sizeof clock_path, "/tmp/siyu-fission-clock-%d", (int)getpid());
    set_now(T0);
    if (sodium_init() < 0) return 1;
    rx_seen = json_object();
    webhook_rx wrx;
    CHECK(webhook_rx_start(&wrx, SECRET, on_mall, NULL) == 0);
    int rx_port = wrx.port;
    setenv("SIYU_NOW_FILE", clock_path, 1);
    setenv("SIYU_TICK_SECONDS", "0", 1);
    setenv("SIYU_SWEEP_SECONDS", "0", 1);
    pid_t pid = harness_start(argv[1]);
    CHECK_INT_EQ(call("POST", "/api/v1/stores", NULL,
                      "{\"name\":\"湖滨店\",\"code\":\"S1\",\"kind\":\"physical\"}"),
                 201);
    tree();
    other_ways();
    group_buy();
    refund_instructions(rx_port);
    assists();
    merge_keeps_plays();
    pid = kill9(pid);
    check_clean();
    pid = refunds_after_kill(pid);
    coupon_clawback();
    CHECK_INT_EQ(harness_stop(pid), 0);
    webhook_rx_stop(&wrx);
    json_decref(rx_seen);
    unlink(clock_path);
    return CHECK_DONE();
}
