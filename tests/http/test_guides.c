/* test_guides.c — the guide's side against the real server (docs/guides.md): WeCom
 * userids, contacts as edges fed by WeCom-shaped events, channel QR codes with exact
 * daily caps under concurrent scans, the day rolling over, and what a code brought.
 * The test owns the clock (SIYU_NOW_FILE).
 * Run: test_guides PATH_TO_SIYU */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "harness.h"
#include "calls.h"

static char clock_path[128];

static void set_now(const char *rfc3339)
{
    FILE *f = fopen(clock_path, "w");
    fprintf(f, "%s\n", rfc3339);
    fclose(f);
}

static int64_t store1, store2, g1, g2, g3, g4, mgr1, mgr2, code;
static char tok_mgr1[80], tok_mgr2[80], tok_g1[80];

static void chain(void)
{
    store1 = make("/api/v1/stores", "{\"name\":\"湖滨店\",\"code\":\"S1\",\"kind\":\"physical\"}");
    store2 = make("/api/v1/stores", "{\"name\":\"西溪店\",\"code\":\"S2\",\"kind\":\"physical\"}");
    g1 = make("/api/v1/staff", "{\"name\":\"王芳\",\"role\":\"guide\",\"store_id\":%lld}",
              (long long)store1);
    g2 = make("/api/v1/staff", "{\"name\":\"李娜\",\"role\":\"guide\",\"store_id\":%lld}",
              (long long)store1);
    g3 = make("/api/v1/staff", "{\"name\":\"张伟\",\"role\":\"guide\",\"store_id\":%lld}",
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
}

/* A guide's WeCom userid: set, shown, unique, cleared. */
static void wecom_userids(void)
{
    char path[64];
    json_t *o;
    const int64_t ids[] = {g1, g2, g3};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/api/v1/staff/%lld", (long long)ids[i]);
        CHECK_INT_EQ(call_as(NULL, "PATCH", path, &o, "{\"wecom_userid\":\"guide-%d\"}", i + 1),
                     200);
        CHECK_STR_EQ(jstr(o, "wecom_userid"), i == 0 ? "guide-1" : i == 1 ? "guide-2" : "guide-3");
        json_decref(o);
    }
    snprintf(path, sizeof path, "/api/v1/staff/%lld", (long long)g4);
    CHECK_INT_EQ(call_as(NULL, "PATCH", path, &o, "{\"wecom_userid\":\"guide-1\"}"), 409);
    CHECK_STR_EQ(err_field(o), "wecom_userid");
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "PATCH", path, &o, "{\"wecom_user\":\"x\"}"), 400);
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "PATCH", path, &o, "{\"wecom_userid\":\"guide-4\"}"), 200);
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "PATCH", path, &o, "{\"wecom_userid\":null}"), 200);
    CHECK(json_is_null(json_object_get(o, "wecom_userid")));
    json_decref(o);
    /* a store manager may not change staff */
    CHECK_INT_EQ(call_as(tok_mgr1, "PATCH", path, NULL, "{\"wecom_userid\":\"x\"}"), 403);
}

static void bad_codes(void)
{
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"name\":\"x\"}", "target"},
        {"{\"name\":\"x\",\"target\":{\"guide_ids\":[]}}", "target.guide_ids"},
        {"{\"name\":\"x\",\"target\":{\"guide_ids\":[1,1]}}", "target.guide_ids"},
        {"{\"name\":\"x\",\"target\":{\"store_id\":999}}", "target.store_id"},
        {"{\"name\":\"x\",\"target\":{\"store_id\":1},\"rotation\":\"random\"}", "rotation"},
        {"{\"name\":\"x\",\"target\":{\"store_id\":1},\"daily_cap_per_guide\":0}",
         "daily_cap_per_guide"},
        {"{\"name\":\"x\",\"target\":{\"store_id\":1},\"cost_cents\":-1}", "cost_cents"},
        {"{\"name\":\"x\",\"target\":{\"store_id\":1},\"schedule\":{\"weekdays\":[8]}}",
         "schedule.weekdays"},
        {"{\"name\":\"x\",\"target\":{\"store_id\":1},\"schedule\":{\"from\":\"25:00\","
         "\"to\":\"10:00\"}}",
         "schedule.from"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *o;
        int st = call_as(NULL, "POST", "/api/v1/qr-codes", &o, "%s", bad[i].body);
        if (st == 201 || !err_field(o) || strcmp(err_field(o), bad[i].field) != 0)
            CHECK_FAIL_("%s: %d %s (want field %s)", bad[i].body, st, buf, bad[i].field);
        json_decref(o);
    }
    /* a store manager names only their own store's guides */
    CHECK_INT_EQ(call_as(tok_mgr1, "POST", "/api/v1/qr-codes", NULL,
                         "{\"name\":\"x\",\"target\":{\"guide_ids\":[%lld]}}", (long long)g4),
                 403);
    CHECK_INT_EQ(call_as(tok_mgr1, "POST", "/api/v1/qr-codes", NULL,
                         "{\"name\":\"x\",\"target\":{\"store_id\":%lld}}", (long long)store2),
                 403);
    /* a guide creates no codes */
    CHECK_INT_EQ(call_as(tok_g1, "POST", "/api/v1/qr-codes", NULL,
                         "{\"name\":\"x\",\"target\":{\"store_id\":%lld}}", (long long)store1),
                 403);
}

/* ---- 64 concurrent scans of a code whose two guides have a daily cap of 10 ---- */

#define SCANS 64
static int scan_status[SCANS];
static int64_t scan_guide[SCANS];

static void *scanner(void *arg)
{
    int i = (int)(intptr_t)arg;
    int c = conn_open();
    char path[64], body[64], out[1024];
    snprintf(path, sizeof path, "/api/v1/qr-codes/%lld/scan", (long long)code);
    snprintf(body, sizeof body, "{\"external_userid\":\"wm-scan-%d\"}", i);
    scan_status[i] = request_as(c, tok_mgr1, "POST", path, body, out, sizeof out);
    json_t *o = json_loads(out, 0, NULL);
    scan_guide[i] = jint(o, "guide_id");
    json_decref(o);
    close(c);
    return NULL;
}

static void concurrent_scans(void)
{
    json_t *o;
    CHECK_INT_EQ(call_as(tok_mgr1, "POST", "/api/v1/qr-codes", &o,
                         "{\"name\":\"春季拉新\",\"target\":{\"guide_ids\":[%lld,%lld]},"
                         "\"rotation\":\"round_robin\",\"daily_cap_per_guide\":10,"
                         "\"backup_guide_id\":%lld,\"campaign\":\"spring\",\"cost_cents\":10000}",
                         (long long)g1, (long long)g2, (long long)g3),
                 201);
    code = jint(o, "id");
    char want[32];
    snprintf(want, sizeof want, "qr-%lld", (long long)code);
    CHECK_STR_EQ(jstr(o, "state"), want);
    CHECK_INT_EQ(jint(o, "store_id"), store1);
    json_decref(o);

    pthread_t th[SCANS];
    for (int i = 0; i < SCANS; i++)
        pthread_create(&th[i], NULL, scanner, (void *)(intptr_t)i);
    for (int i = 0; i < SCANS; i++)
        pthread_join(th[i], NULL);
    int n1 = 0, n2 = 0, n3 = 0, refused = 0, first_g1 = -1;
    for (int i = 0; i < SCANS; i++) {
        if (scan_status[i] == 409) {
            refused++;
            continue;
        }
        CHECK_INT_EQ(scan_status[i], 201);
        if (scan_guide[i] == g1) {
            n1++;
            if (first_g1 < 0) first_g1 = i;
        }
        n2 += scan_guide[i] == g2;
        n3 += scan_guide[i] == g3;
    }
    CHECK_INT_EQ(n1, 10);
    CHECK_INT_EQ(n2, 10);
    CHECK_INT_EQ(n3, 10); /* the backup guide, up to the same cap */
    CHECK_INT_EQ(refused, SCANS - 30);

    /* every cap is full: a new customer is refused, a repeat customer keeps their guide
     * and counts once */
    char path[64];
    snprintf(path, sizeof path, "/api/v1/qr-codes/%lld/scan", (long long)code);
    CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{\"external_userid\":\"wm-new\"}"), 409);
    json_decref(o);
    CHECK(first_g1 >= 0);
    CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{\"external_userid\":\"wm-scan-%d\"}", first_g1),
                 200);
    CHECK_INT_EQ(jint(o, "guide_id"), g1);
    CHECK(json_is_true(json_object_get(o, "repeat")));
    json_decref(o);

    /* another store's manager neither scans nor reads the code */
    CHECK_INT_EQ(call_as(tok_mgr2, "POST", path, NULL, "{}"), 403);
    char stats[64];
    snprintf(stats, sizeof stats, "/api/v1/qr-codes/%lld/stats", (long long)code);
    CHECK_INT_EQ(call_as(tok_mgr2, "GET", stats, NULL, NULL), 403);
    CHECK_INT_EQ(call_as(tok_mgr1, "GET", stats, &o, NULL), 200);
    CHECK_INT_EQ(jint(o, "scans"), 30);
    json_decref(o);

    /* the day rolls over (+08:00): the caps are fresh, round robin goes on */
    set_now("2026-03-02T00:00:01+08:00");
    int fresh1 = 0, fresh2 = 0;
    for (int i = 0; i < 20; i++) {
        CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{\"external_userid\":\"wm-day2-%d\"}", i),
                     201);
        fresh1 += jint(o, "guide_id") == g1;
        fresh2 += jint(o, "guide_id") == g2;
        json_decref(o);
    }
    CHECK_INT_EQ(fresh1, 10);
    CHECK_INT_EQ(fresh2, 10);
    /* yesterday's customer is a new scan today */
    CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{\"external_userid\":\"wm-scan-%d\"}", first_g1),
                 201);
    CHECK_INT_EQ(jint(o, "guide_id"), g3);
    json_decref(o);
}

/* A store-wide, least-loaded code with a schedule: outside its hours only the backup. */
static void store_code_schedule(void)
{
    json_t *o;
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/qr-codes", &o,
                         "{\"name\":\"门店码\",\"target\":{\"store_id\":%lld},"
                         "\"rotation\":\"least_loaded\",\"backup_guide_id\":%lld,"
                         "\"schedule\":{\"weekdays\":[1,2,3,4,5],\"from\":\"09:00\","
                         "\"to\":\"21:00\"}}",
                         (long long)store1, (long long)g3),
                 201);
    int64_t id = jint(o, "id");
    CHECK_INT_EQ(json_array_size(json_object_get(o, "guide_ids")), 3);
    json_decref(o);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/qr-codes/%lld/scan", (long long)id);
    /* Monday 2026-03-02 at 00:00: closed — the backup takes it */
    CHECK_INT_EQ(call_as(NULL, "POST", path, &o, NULL), 201);
    CHECK_INT_EQ(jint(o, "guide_id"), g3);
    json_decref(o);
    set_now("2026-03-02T10:00:00+08:00");
    int64_t seen[3] = {0, 0, 0};
    for (int i = 0; i < 5; i++) {
        CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{}"), 201);
        int64_t g = jint(o, "guide_id");
        seen[g == g1 ? 0 : g == g2 ? 1 : 2]++;
        json_decref(o);
    }
    /* least loaded: g3 had one already, so g1 and g2 catch up first, then all take
     * turns (ties go to the first in order): 2 + 2 + (1 + 1) */
    CHECK_INT_EQ(seen[0], 2);
    CHECK_INT_EQ(seen[1], 2);
    CHECK_INT_EQ(seen[2], 1);
}

static json_t *member(int64_t id)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)id);
    json_t *o;
    CHECK_INT_EQ(call_as(NULL, "GET", path, &o, NULL), 200);
    return o;
}

static json_t *contacts(const char *tok, int64_t id, int want)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/members/%lld/contacts", (long long)id);
    json_t *o;
    CHECK_INT_EQ(call_as(tok, "GET", path, &o, NULL), want);
    return o;
}

static bool reach_wecom(int64_t id)
{
    json_t *m = member(id);
    bool on = json_is_true(json_object_get(json_object_get(m, "reachability"), "wecom"));
    json_decref(m);
    return on;
}

/* Members reachable on WeCom, as the segment index and the KPI report count them. */
static void wecom_reachable(int64_t want)
{
    json_t *o;
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/segments/count", &o, "{\"expr\":\"reach.wecom\"}"),
                 200);
    CHECK_INT_EQ(jint(o, "count"), want);
    json_decref(o);
    CHECK_INT_EQ(
        call_as(NULL, "GET", "/api/v1/reports/kpi?from=2026-03-01&to=2026-03-31", &o, NULL), 200);
    CHECK_INT_EQ(jint(json_object_get(json_object_get(o, "current"), "reachable_members"), "wecom"),
                 want);
    json_decref(o);
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

static pid_t server;

/* Contacts as edges from WeCom-shaped events; a new customer through a code is a new
 * member attributed to the code's campaign. */
static void contact_edges(void)
{
    json_t *o;
    set_now("2026-03-12T10:00:00+08:00");
    static const char add1[] = "{\"event\":\"add_external_contact\",\"userid\":\"guide-1\","
                               "\"external_userid\":\"wmAAA\",\"state\":\"qr-%lld\","
                               "\"at\":\"2026-03-02T10:05:00+08:00\",\"unionid\":\"uAAA\","
                               "\"add_way\":1}";
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/wecom/events", &o, add1, (long long)code), 201);
    json_t *r0 = json_array_get(json_object_get(o, "results"), 0);
    int64_t m = jint(r0, "member_id");
    CHECK(m > 0);
    CHECK(json_is_true(json_object_get(r0, "member_created")));
    json_decref(o);
    /* the same event again: recorded once */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/wecom/events", &o, add1, (long long)code), 200);
    CHECK_INT_EQ(jint(o, "recorded"), 0);
    CHECK_INT_EQ(jint(o, "duplicates"), 1);
    json_decref(o);

    json_t *mm = member(m);
    CHECK_INT_EQ(jint(mm, "store_id"), store1);
    CHECK_INT_EQ(jint(mm, "guide_id"), g1);
    json_t *acq = json_object_get(mm, "acquisition");
    CHECK_INT_EQ(jint(acq, "qr_code_id"), code);
    CHECK_STR_EQ(jstr(acq, "campaign"), "spring");
    CHECK_INT_EQ(jint(mm, "contacts"), 1);
    json_decref(mm);
    CHECK(reach_wecom(m));
    wecom_reachable(1);

    /* a second guide adds the same customer (by unionid, in a batch with an edit) */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/wecom/events", &o,
                         "{\"events\":[{\"event\":\"add_external_contact\",\"userid\":\"guide-2\","
                         "\"external_userid\":\"wmAAA\",\"unionid\":\"uAAA\","
                         "\"at\":\"2026-03-02T11:00:00+08:00\"},"
                         "{\"event\":\"edit_external_contact\",\"userid\":\"guide-2\","
                         "\"external_userid\":\"wmAAA\",\"remark\":\"爱买咖啡\","
                         "\"at\":\"2026-03-02T11:01:00+08:00\"}]}"),
                 201);
    CHECK_INT_EQ(jint(o, "recorded"), 2);
    CHECK_INT_EQ(jint(json_array_get(json_object_get(o, "results"), 0), "member_id"), m);
    json_decref(o);
    o = contacts(NULL, m, 200);
    CHECK_INT_EQ(jint(o, "live"), 2);
    CHECK_INT_EQ(jint(o, "credited_guide_id"), g1); /* the bound guide, still a contact */
    json_t *items = json_object_get(o, "items");
    CHECK_INT_EQ(json_array_size(items), 2);
    char state[32];
    snprintf(state, sizeof state, "qr-%lld", (long long)code);
    CHECK_STR_EQ(jstr(json_array_get(items, 0), "state"), state);
    CHECK_INT_EQ(jint(json_array_get(items, 0), "qr_code_id"), code);
    /* the segment attributes: live edges, days since the first (2026-03-02 → 03-12) */
    CHECK_INT_EQ(count("contacts = 2"), 1);
    CHECK_INT_EQ(count("contacts >= 1"), 1);
    CHECK_INT_EQ(count("contact_days = 10"), 1);
    CHECK_INT_EQ(jint(json_array_get(items, 0), "add_way"), 1);
    CHECK_STR_EQ(jstr(json_array_get(items, 1), "remark"), "爱买咖啡");
    json_decref(o);

    /* the customer deletes the bound guide: credit goes to the live edge */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/wecom/events", NULL,
                         "{\"event\":\"del_follow_user\",\"userid\":\"guide-1\","
                         "\"external_userid\":\"wmAAA\",\"at\":\"2026-03-03T09:00:00+08:00\"}"),
                 201);
    o = contacts(NULL, m, 200);
    CHECK_INT_EQ(jint(o, "live"), 1);
    CHECK_INT_EQ(jint(o, "credited_guide_id"), g2);
    CHECK(!json_is_null(
        json_object_get(json_array_get(json_object_get(o, "items"), 0), "customer_deleted_at")));
    json_decref(o);
    CHECK(reach_wecom(m));
    /* the other guide deletes the customer: no live edge, WeCom unreachable */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/wecom/events", NULL,
                         "{\"event\":\"del_external_contact\",\"userid\":\"guide-2\","
                         "\"external_userid\":\"wmAAA\",\"at\":\"2026-03-03T10:00:00+08:00\"}"),
                 201);
    o = contacts(NULL, m, 200);
    CHECK_INT_EQ(jint(o, "live"), 0);
    CHECK_INT_EQ(jint(o, "credited_guide_id"), g1); /* no live edge: the bound guide */
    json_decref(o);
    CHECK(!reach_wecom(m));
    wecom_reachable(0);
    CHECK_INT_EQ(count("contacts >= 1"), 0);
    CHECK_INT_EQ(count("contact_days >= 0"), 1); /* a contact once, still */

    /* a known member matched by phone gets an edge, not a new member; no attribution */
    int64_t known =
        make("/api/v1/members", "{\"phone\":\"13800001111\",\"store_id\":%lld}", (long long)store1);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/wecom/events", &o,
                         "{\"event\":\"add_external_contact\",\"userid\":\"guide-3\","
                         "\"external_userid\":\"wmBBB\",\"phone\":\"13800001111\","
                         "\"state\":\"qr-%lld\",\"at\":\"2026-03-03T10:00:00+08:00\"}",
                         (long long)code),
                 201);
    r0 = json_array_get(json_object_get(o, "results"), 0);
    CHECK_INT_EQ(jint(r0, "member_id"), known);
    CHECK(json_is_false(json_object_get(r0, "member_created")));
    json_decref(o);
    mm = member(known);
    CHECK(json_is_null(json_object_get(json_object_get(mm, "acquisition"), "qr_code_id")));
    json_decref(mm);
    wecom_reachable(1);

    /* bad events write nothing and name the field */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/wecom/events", &o,
                         "{\"events\":[{\"event\":\"add_external_contact\",\"userid\":\"guide-1\","
                         "\"external_userid\":\"wmCCC\",\"at\":\"2026-03-03T10:00:00+08:00\"},"
                         "{\"event\":\"add_external_contact\",\"userid\":\"nobody\","
                         "\"external_userid\":\"wmDDD\",\"at\":\"2026-03-03T10:00:00+08:00\"}]}"),
                 422);
    CHECK_STR_EQ(err_field(o), "events[1].userid");
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "GET", "/api/v1/members?wecom_external_id=wmCCC", NULL, NULL), 404);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/wecom/events", &o,
                         "{\"event\":\"joined\",\"userid\":\"guide-1\",\"external_userid\":\"x\","
                         "\"at\":\"2026-03-03T10:00:00+08:00\"}"),
                 400);
    CHECK_STR_EQ(err_field(o), "event");
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/wecom/events", &o,
                         "{\"event\":\"del_follow_user\",\"userid\":\"guide-1\","
                         "\"external_userid\":\"wmZZZ\",\"at\":\"2026-03-03T10:00:00+08:00\"}"),
                 404);
    CHECK_STR_EQ(err_field(o), "external_userid");
    json_decref(o);
    /* events come from the bridge: a store manager's token may not post them */
    CHECK_INT_EQ(call_as(tok_mgr1, "POST", "/api/v1/wecom/events", NULL,
                         "{\"event\":\"del_follow_user\",\"userid\":\"guide-1\","
                         "\"external_userid\":\"wmAAA\",\"at\":\"2026-03-03T10:00:00+08:00\"}"),
                 403);
    /* contacts follow the member's scope */
    json_decref(contacts(tok_mgr1, m, 200));
    json_decref(contacts(tok_mgr2, m, 403));

    /* what the code brought: the new member's first order within 30 days counts, a later
     * one does not */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/orders", NULL,
                         "{\"channel\":\"store\",\"external_id\":\"QO1\",\"store_id\":%lld,"
                         "\"placed_at\":\"2026-03-10T10:00:00+08:00\",\"total_cents\":6000,"
                         "\"member_id\":%lld,\"items\":[{\"sku\":\"A\",\"qty\":1,"
                         "\"unit_price_cents\":6000}]}",
                         (long long)store1, (long long)m),
                 201);
    set_now("2026-04-20T10:00:00+08:00");
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/orders", NULL,
                         "{\"channel\":\"store\",\"external_id\":\"QO2\",\"store_id\":%lld,"
                         "\"placed_at\":\"2026-04-20T10:00:00+08:00\",\"total_cents\":9000,"
                         "\"member_id\":%lld,\"items\":[{\"sku\":\"A\",\"qty\":1,"
                         "\"unit_price_cents\":9000}]}",
                         (long long)store1, (long long)m),
                 201);
    char stats[64];
    snprintf(stats, sizeof stats, "/api/v1/qr-codes/%lld/stats", (long long)code);
    CHECK_INT_EQ(call_as(NULL, "GET", stats, &o, NULL), 200);
    CHECK_INT_EQ(jint(o, "scans"), 51);
    CHECK_INT_EQ(jint(o, "contacts_added"), 2); /* guide-1's and guide-3's edges */
    CHECK_INT_EQ(jint(o, "new_members"), 1);
    CHECK_INT_EQ(jint(o, "first_orders_30d"), 1);
    CHECK_INT_EQ(jint(o, "sales_cents"), 6000);
    CHECK_INT_EQ(jint(o, "cost_cents"), 10000);
    CHECK_INT_EQ(jint(o, "cost_per_member_cents"), 10000);
    CHECK_INT_EQ(jint(o, "cost_per_first_order_cents"), 10000);
    CHECK_STR_EQ(jstr(o, "campaign"), "spring");
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "GET", "/api/v1/qr-codes/9999/stats", NULL, NULL), 404);

    /* the export carries the member's edges */
    char path[64];
    snprintf(path, sizeof path, "/api/v1/members/%lld/export", (long long)m);
    CHECK_INT_EQ(call_as(NULL, "GET", path, &o, NULL), 200);
    CHECK_INT_EQ(json_array_size(json_object_get(o, "contacts")), 2);
    json_decref(o);

    /* a merge moves the edges: the phone member's live edge with guide-3 joins m's and
     * is now m's credited guide */
    snprintf(path, sizeof path, "/api/v1/members/%lld/merge", (long long)m);
    CHECK_INT_EQ(call_as(NULL, "POST", path, NULL, "{\"from_member_id\":%lld}", (long long)known),
                 200);
    o = contacts(NULL, m, 200);
    CHECK_INT_EQ(json_array_size(json_object_get(o, "items")), 3);
    CHECK_INT_EQ(jint(o, "live"), 1);
    CHECK_INT_EQ(jint(o, "credited_guide_id"), g3);
    json_decref(o);
    CHECK(reach_wecom(m)); /* m's own edges were dead; the moved one is live */
    wecom_reachable(1);
    CHECK_INT_EQ(count("contacts = 1"), 1);
    CHECK_INT_EQ(count("contact_days = 49"), 1); /* 2026-03-02 → 04-20 */
    /* the index rebuilt at start-up reads the same from the store */
    close(fd);
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    server = start_server();
    fd = conn_open();
    CHECK_INT_EQ(count("contacts = 1"), 1);
    CHECK_INT_EQ(count("contact_days = 49"), 1);
    CHECK_INT_EQ(count("contact_days >= 0"), 1);
    wecom_reachable(1);
    /* and a later event for the moved edge finds the surviving member */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/wecom/events", &o,
                         "{\"event\":\"edit_external_contact\",\"userid\":\"guide-3\","
                         "\"external_userid\":\"wmBBB\",\"remark\":\"VIP\","
                         "\"at\":\"2026-04-20T10:00:00+08:00\"}"),
                 201);
    CHECK_INT_EQ(jint(json_array_get(json_object_get(o, "results"), 0), "member_id"), m);
    json_decref(o);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_guides PATH_TO_SIYU\n");
        return 2;
    }
    snprintf(clock_path, sizeof clock_path, "/tmp/siyu-clock-guides-%d", (int)getpid());
    set_now("2026-03-01T10:00:00+08:00");
    setenv("SIYU_NOW_FILE", clock_path, 1);
    setenv("SIYU_TICK_SECONDS", "0", 1);
    setenv("SIYU_SWEEP_SECONDS", "0", 1);
    server = harness_start(argv[1]);
    fd = conn_open();
    chain();
    wecom_userids();
    bad_codes();
    concurrent_scans();
    store_code_schedule();
    contact_edges();
    close(fd);
    CHECK_INT_EQ(harness_stop(server), 0);
    unlink(clock_path);
    return CHECK_DONE();
}
