/* Unit tests for src/guides: a code's state, schedules in local time, the scan decision
 * (caps per code, guide and local +08:00 day; repeats; the backup), WeCom events
 * creating and matching members, and a store manager's reach. */
#include "fixture.h"
#include "guides/guides.h"
#include "journey/journey.h"

static int64_t at(const char *rfc3339)
{
    int64_t t = 0;
    if (time_parse_rfc3339(rfc3339, &t)) abort();
    return t;
}

static void states(void)
{
    CHECK_INT_EQ(qr_state_code("qr-12"), 12);
    CHECK_INT_EQ(qr_state_code("qr-"), 0);
    CHECK_INT_EQ(qr_state_code("qr-1x"), 0);
    CHECK_INT_EQ(qr_state_code("qr--3"), 0);
    CHECK_INT_EQ(qr_state_code("spring"), 0);
    CHECK_INT_EQ(qr_state_code(NULL), 0);
}

static void schedules(void)
{
    json_t *day = J("{\"weekdays\":[1,2,3,4,5],\"from\":\"09:00\",\"to\":\"21:00\"}");
    /* 2026-03-02 is a Monday, 2026-03-07 a Saturday (local time) */
    CHECK(!qr_schedule_open(day, at("2026-03-02T08:59:00+08:00")));
    CHECK(qr_schedule_open(day, at("2026-03-02T09:00:00+08:00")));
    CHECK(qr_schedule_open(day, at("2026-03-02T20:59:59+08:00")));
    CHECK(!qr_schedule_open(day, at("2026-03-02T21:00:00+08:00")));
    CHECK(!qr_schedule_open(day, at("2026-03-07T10:00:00+08:00")));
    /* local Monday 01:00 is Sunday in UTC: the weekday is the local one */
    json_t *mon = J("{\"weekdays\":[1]}");
    CHECK(qr_schedule_open(mon, at("2026-03-02T01:00:00+08:00")));
    CHECK(!qr_schedule_open(mon, at("2026-03-01T23:00:00+08:00")));
    json_t *night = J("{\"from\":\"22:00\",\"to\":\"06:00\"}");
    CHECK(qr_schedule_open(night, at("2026-03-02T23:00:00+08:00")));
    CHECK(qr_schedule_open(night, at("2026-03-02T05:59:00+08:00")));
    CHECK(!qr_schedule_open(night, at("2026-03-02T06:00:00+08:00")));
    CHECK(qr_schedule_open(NULL, at("2026-03-02T06:00:00+08:00")));
    siyu_err e;
    siyu_err_init(&e);
    static const struct {
        const char *s, *field;
    } bad[] = {
        {"{\"weekdays\":[]}", "schedule.weekdays"},
        {"{\"weekdays\":[0]}", "schedule.weekdays"},
        {"{\"from\":\"09:00\"}", "schedule.to"},
        {"{\"from\":\"9\",\"to\":\"10:00\"}", "schedule.from"},
        {"{\"from\":\"09:00\",\"to\":\"09:00\"}", "schedule.to"},
        {"{\"hours\":1}", "schedule.hours"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *s = J(bad[i].s);
        siyu_err_clear(&e);
        CHECK_INT_EQ(qr_schedule_check(s, &e), -1);
        if (strcmp(e.field, bad[i].field) != 0)
            CHECK_FAIL_("%s: field %s, want %s", bad[i].s, e.field, bad[i].field);
        json_decref(s);
    }
    CHECK_INT_EQ(qr_schedule_check(day, &e), 0);
    json_decref(day);
    json_decref(mon);
    json_decref(night);
}

static int scan(fixture *f, int64_t code, const char *ext, int64_t *guide, siyu_err *e)
{
    json_t *b = ext ? json_pack("{s:s}", "external_userid", ext) : NULL;
    siyu_err_clear(e);
    store_begin(f->d.conn, true, e);
    json_t *o = NULL;
    int rc = qr_codes_scan(&f->d, code, b, &o, e);
    if (rc < 0)
        store_rollback(f->d.conn);
    else
        store_commit(f->d.conn, e);
    *guide = rc < 0 ? 0 : jint(o, "guide_id");
    json_decref(o);
    json_decref(b);
    return rc;
}

/* Staff: 1 guide in store 1, 2 guide in store 2, 3 manager of store 1; 4 a second
 * guide of store 1 (the backup). */
static void scans(fixture *f)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *o;
    CHECK_INT_EQ(
        call(f, staff_create, "{\"name\":\"张伟\",\"role\":\"guide\",\"store_id\":1}", &o, &e),
        201);
    int64_t backup = jint(o, "id");
    json_decref(o);
    char body[256];
    snprintf(body, sizeof body,
             "{\"name\":\"c\",\"target\":{\"guide_ids\":[1]},\"daily_cap_per_guide\":2,"
             "\"backup_guide_id\":%lld}",
             (long long)backup);
    CHECK_INT_EQ(call(f, qr_codes_create, body, &o, &e), 201);
    int64_t code = jint(o, "id");
    CHECK_INT_EQ(jint(o, "store_id"), 1);
    json_decref(o);
    int64_t g;
    /* late evening, local time: 23:30 on the 22nd is 15:30 UTC */
    f->d.now = at("2026-11-22T23:30:00+08:00");
    CHECK_INT_EQ(scan(f, code, "wa", &g, &e), 201);
    CHECK_INT_EQ(g, 1);
    CHECK_INT_EQ(scan(f, code, "wa", &g, &e), 200); /* a repeat counts once */
    CHECK_INT_EQ(g, 1);
    CHECK_INT_EQ(scan(f, code, NULL, &g, &e), 201);
    CHECK_INT_EQ(g, 1);
    CHECK_INT_EQ(scan(f, code, "wb", &g, &e), 201); /* guide 1 at cap: the backup */
    CHECK_INT_EQ(g, backup);
    CHECK_INT_EQ(scan(f, code, "wc", &g, &e), 201);
    CHECK_INT_EQ(g, backup);
    CHECK_INT_EQ(scan(f, code, "wd", &g, &e), -1); /* everyone at cap */
    CHECK_INT_EQ(e.code, SIYU_CONFLICT);
    CHECK_INT_EQ(scan(f, code, "wb", &g, &e), 200); /* a repeat is still answered */
    CHECK_INT_EQ(g, backup);
    /* 23:59:59 local is the same day; 00:00 local (still the 22nd in UTC) is a new one */
    f->d.now = at("2026-11-22T23:59:59+08:00");
    CHECK_INT_EQ(scan(f, code, "we", &g, &e), -1);
    f->d.now = at("2026-11-23T00:00:00+08:00");
    CHECK_INT_EQ(scan(f, code, "we", &g, &e), 201);
    CHECK_INT_EQ(g, 1);
    CHECK_INT_EQ(scan(f, code, "wa", &g, &e), 201); /* yesterday's customer, a new scan */
    CHECK_INT_EQ(g, 1);

    /* a store manager: their store's guides only, and codes of their store only */
    f->d.who = (principal){.role = ROLE_STORE_MANAGER, .staff_id = 3, .store_id = 1};
    CHECK_INT_EQ(
        call(f, qr_codes_create, "{\"name\":\"x\",\"target\":{\"guide_ids\":[2]}}", NULL, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_PERMISSION_DENIED);
    CHECK_INT_EQ(
        call(f, qr_codes_create, "{\"name\":\"x\",\"target\":{\"guide_ids\":[1,2]}}", NULL, &e),
        -1);
    CHECK_INT_EQ(scan(f, code, "wf", &g, &e), 201); /* in scope; guide 1 at cap today */
    CHECK_INT_EQ(g, backup);
    f->d.who = (principal){.role = ROLE_ADMIN};
    /* a code over two stores' guides is HQ's alone */
    CHECK_INT_EQ(
        call(f, qr_codes_create, "{\"name\":\"hq\",\"target\":{\"guide_ids\":[1,2]}}", &o, &e),
        201);
    int64_t hq = jint(o, "id");
    CHECK(json_is_null(json_object_get(o, "store_id")));
    json_decref(o);
    f->d.who = (principal){.role = ROLE_STORE_MANAGER, .staff_id = 3, .store_id = 1};
    CHECK_INT_EQ(scan(f, hq, "wg", &g, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_PERMISSION_DENIED);
    f->d.who = (principal){.role = ROLE_ADMIN};
}

static int staff_patch_1(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    return staff_patch(d, 1, body, out, e);
}

static void events(fixture *f)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *o;
    f->d.now = at("2026-11-23T12:00:00+08:00");
    CHECK_INT_EQ(call(f, staff_patch_1, "{\"wecom_userid\":\"wf\"}", NULL, &e), 200);
    const char *add = "{\"event\":\"add_external_contact\",\"userid\":\"wf\","
                      "\"external_userid\":\"wmX\",\"state\":\"qr-1\",\"phone\":\"13900001234\","
                      "\"at\":\"2026-11-23T00:10:00+08:00\"}";
    CHECK_INT_EQ(call(f, wecom_events_record, add, &o, &e), 201);
    json_t *r = json_array_get(json_object_get(o, "results"), 0);
    int64_t m = jint(r, "member_id");
    CHECK(json_is_true(json_object_get(r, "member_created")));
    json_decref(o);
    CHECK_INT_EQ(call(f, wecom_events_record, add, &o, &e), 200);
    CHECK_INT_EQ(jint(o, "duplicates"), 1);
    json_decref(o);
    /* the same person by phone from another edge: the same member */
    CHECK_INT_EQ(call(f, wecom_events_record,
                      "{\"event\":\"add_external_contact\",\"userid\":\"wf\","
                      "\"external_userid\":\"wmY\",\"phone\":\"139 0000 1234\","
                      "\"at\":\"2026-11-23T00:20:00+08:00\"}",
                      &o, &e),
                 201);
    CHECK_INT_EQ(jint(json_array_get(json_object_get(o, "results"), 0), "member_id"), m);
    json_decref(o);
    CHECK_INT_EQ(guides_credited(&f->d, m), 1);
    store_begin(f->d.conn, false, &e);
    CHECK_INT_EQ(member_contacts(&f->d, m, &o, &e), 200);
    store_rollback(f->d.conn);
    CHECK_INT_EQ(jint(o, "live"), 2);
    json_decref(o);
    /* an event naming no known guide, or in the future, writes nothing */
    CHECK_INT_EQ(call(f, wecom_events_record,
                      "{\"event\":\"add_external_contact\",\"userid\":\"nobody\","
                      "\"external_userid\":\"wmZ\",\"at\":\"2026-11-23T00:20:00+08:00\"}",
                      NULL, &e),
                 -1);
    CHECK_STR_EQ(e.field, "userid");
    CHECK_INT_EQ(call(f, wecom_events_record,
                      "{\"event\":\"add_external_contact\",\"userid\":\"wf\","
                      "\"external_userid\":\"wmZ\",\"at\":\"2027-11-23T00:20:00+08:00\"}",
                      NULL, &e),
                 -1);
    CHECK_STR_EQ(e.field, "at");
}

/* ---- task campaigns: intervals, rounds on the credited guide, member-less kinds ---- */

static int campaign_create(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    return task_campaigns_create(d, NULL, body, out, e);
}

static int64_t reassign_to;
static int reassign_1(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    (void)body;
    json_t *b = json_pack("{s:I}", "guide_id", (json_int_t)reassign_to);
    int rc = tasks_reassign(d, 1, b, out, e);
    json_decref(b);
    return rc;
}

static void campaigns(fixture *f)
{
    /* the worked example of docs/tasks.md: 3 of 18 against 1 of 6 */
    double lo, hi;
    guides_wilson(3, 18, &lo, &hi);
    CHECK_NEAR(lo, 0.05836576805861446, 1e-9);
    CHECK_NEAR(hi, 0.39222038103915724, 1e-9);
    guides_newcombe(3, 18, 1, 6, &lo, &hi);
    CHECK_NEAR(lo, -0.4113490232965788, 1e-9);
    CHECK_NEAR(hi, 0.2636999639024076, 1e-9);
    guides_wilson(0, 0, &lo, &hi);
    CHECK(lo == 0 && hi == 1);

    siyu_err e;
    siyu_err_init(&e);
    json_t *o;
    f->d.now = at("2026-11-24T10:00:00+08:00");
    CHECK_INT_EQ(call(f, campaign_create,
                      "{\"name\":\"x\",\"kind\":\"call\",\"script\":\"{{coupon.code}}\","
                      "\"due\":\"2026-11-25T10:00:00+08:00\"}",
                      NULL, &e),
                 -1);
    CHECK_STR_EQ(e.field, "script");
    /* the events' member is credited to guide 1 (store 1): one task, on guide 1 */
    CHECK_INT_EQ(call(f, campaign_create,
                      "{\"name\":\"回访\",\"kind\":\"call\",\"script\":\"您好{{guide.name}}\","
                      "\"target\":{\"store_ids\":[1]},\"holdout_pct\":0,"
                      "\"due\":\"2026-11-25T10:00:00+08:00\"}",
                      &o, &e),
                 201);
    CHECK_INT_EQ(jint(o, "tasks"), 1);
    CHECK_INT_EQ(jint(o, "held_out"), 0);
    json_decref(o);
    store_begin(f->d.conn, false, &e);
    CHECK_INT_EQ(tasks_get(&f->d, 1, &o, &e), 200);
    store_rollback(f->d.conn);
    CHECK_INT_EQ(jint(o, "guide_id"), 1);
    CHECK_INT_EQ(jint(o, "store_id"), 1);
    CHECK_STR_EQ(json_string_value(json_object_get(o, "script")), "您好王芳");
    json_decref(o);
    /* moments: one task per guide, no member */
    CHECK_INT_EQ(call(f, campaign_create,
                      "{\"name\":\"朋友圈\",\"kind\":\"moments\",\"target\":{\"guide_ids\":[1,2]},"
                      "\"due\":\"2026-11-25T10:00:00+08:00\"}",
                      &o, &e),
                 201);
    CHECK_INT_EQ(jint(o, "tasks"), 2);
    json_decref(o);
    /* a store manager moves their task only among their store's guides */
    f->d.who = (principal){.role = ROLE_STORE_MANAGER, .staff_id = 3, .store_id = 1};
    reassign_to = 2;
    CHECK_INT_EQ(call(f, reassign_1, "{}", NULL, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_PERMISSION_DENIED);
    CHECK_STR_EQ(e.field, "guide_id");
    f->d.who = (principal){.role = ROLE_ADMIN};
    CHECK_INT_EQ(call(f, reassign_1, "{}", &o, &e), 200);
    CHECK_INT_EQ(jint(o, "guide_id"), 2);
    CHECK_INT_EQ(jint(o, "store_id"), 2);
    json_decref(o);
    /* siyu check's part: clean */
    json_t *v = json_array();
    store_begin(f->d.conn, false, &e);
    CHECK_INT_EQ(guides_check(f->d.conn, 10, v), 0);
    store_rollback(f->d.conn);
    json_decref(v);
}

/* ---- transfers: least-loaded split under a capacity, a member waiting in one transfer is
 * not in another, the sweep at the end of the wait, siyu check's part ---- */

static int transfer_create(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    return transfers_create(d, body, NULL, 0, out, e);
}

static int64_t member_guide(fixture *f, int64_t m)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *o = NULL;
    store_begin(f->d.conn, false, &e);
    members_get(&f->d, m, &o, &e);
    store_rollback(f->d.conn);
    int64_t g = jint(o, "guide_id");
    json_decref(o);
    return g;
}

static void transfers(fixture *f)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *o;
    f->d.now = at("2026-11-24T10:00:00+08:00");
    const char *g = "{\"name\":\"%s\",\"role\":\"guide\",\"store_id\":1}";
    char body[256];
    int64_t recv[2];
    for (int i = 0; i < 2; i++) {
        snprintf(body, sizeof body, g, i ? "周一" : "吴二");
        CHECK_INT_EQ(call(f, staff_create, body, &o, &e), 201);
        recv[i] = jint(o, "id");
        json_decref(o);
    }
    int64_t m[6];
    for (int i = 0; i < 6; i++) {
        snprintf(body, sizeof body, "{\"phone\":\"1370000000%d\",\"store_id\":1,\"guide_id\":1}",
                 i);
        CHECK_INT_EQ(call(f, members_create_or_match, body, &o, &e), 201);
        m[i] = jint(o, "id");
        json_decref(o);
    }
    CHECK_INT_EQ(call(f, guides_settings_put, "{\"max_contacts_per_guide\":2}", NULL, &e), 200);
    /* guide 1's customers: the six, and the one created by the events above (m of events) */
    snprintf(body, sizeof body,
             "{\"from_guide_id\":1,\"to_guide_ids\":[%lld,%lld],\"member_ids\":[%lld,%lld,%lld,"
             "%lld,%lld,%lld],\"kind\":\"on_job\",\"split\":\"least_loaded\"}",
             (long long)recv[0], (long long)recv[1], (long long)m[0], (long long)m[1],
             (long long)m[2], (long long)m[3], (long long)m[4], (long long)m[5]);
    CHECK_INT_EQ(call(f, transfer_create, body, &o, &e), 201);
    /* least loaded, ties to the first: 4, 5, 4, 5, then both at 2: capacity */
    CHECK_INT_EQ(jint(o, "counts.waiting"), 4);
    CHECK_INT_EQ(jint(o, "counts.failed"), 2);
    json_t *items = json_object_get(o, "items");
    for (size_t i = 0; i < 6; i++) {
        json_t *it = json_array_get(items, i);
        const char *want = i < 4 ? "waiting" : "failed";
        CHECK_STR_EQ(json_string_value(json_object_get(it, "state")), want);
        if (i < 4) CHECK_INT_EQ(jint(it, "to_guide_id"), recv[i % 2]);
        if (i >= 4) CHECK_STR_EQ(json_string_value(json_object_get(it, "reason")), "capacity");
    }
    json_decref(o);
    /* again: the four are waiting in the first (in_transfer), the two still find no room */
    CHECK_INT_EQ(call(f, transfer_create, body, &o, &e), 201);
    CHECK_INT_EQ(jint(o, "counts.failed"), 6);
    items = json_object_get(o, "items");
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(items, 0), "reason")),
                 "in_transfer");
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(items, 5), "reason")),
                 "capacity");
    json_decref(o);
    /* before the wait ends nothing moves; after it, the four are the receivers' */
    f->d.now = at("2026-11-25T09:59:00+08:00");
    int done = -1;
    store_begin(f->d.conn, true, &e);
    CHECK_INT_EQ(transfers_sweep(&f->d, 0, &done, &e), 0);
    store_commit(f->d.conn, &e);
    CHECK_INT_EQ(done, 0);
    CHECK_INT_EQ(member_guide(f, m[0]), 1);
    f->d.now = at("2026-11-25T10:00:00+08:00");
    store_begin(f->d.conn, true, &e);
    CHECK_INT_EQ(transfers_sweep(&f->d, 0, &done, &e), 0);
    store_commit(f->d.conn, &e);
    CHECK_INT_EQ(done, 4);
    for (int i = 0; i < 6; i++)
        CHECK_INT_EQ(member_guide(f, m[i]), i < 4 ? recv[i % 2] : 1);
    /* siyu check: clean, then each invariant broken behind the domain's back is found */
    json_t *v = json_array();
    CHECK_INT_EQ(guides_check(f->d.conn, 20, v), 0);
    CHECK_INT_EQ(fixture_exec(f, "UPDATE transfer_items SET ended_at = NULL WHERE state = 'done'"),
                 0);
    CHECK_INT_EQ(guides_check(f->d.conn, 20, v), 4);
    CHECK_INT_EQ(fixture_exec(f, "UPDATE staff_stores SET to_at = 1 WHERE staff_id = 1"), 0);
    CHECK_INT_EQ(guides_check(f->d.conn, 20, v), 5);
    CHECK_INT_EQ(fixture_exec(f, "UPDATE qr_scan_counts SET n = n + 1 WHERE guide_id = 1"), 0);
    CHECK(guides_check(f->d.conn, 20, v) > 5);
    json_decref(v);
}

/* Caps stay exact on a code with more guides than a scan's counts start with in place (64):
 * 70 guides capped at one scan a day each take one scan apiece, whichever rotation, then
 * the backup takes one, then the code is full. */
static void many_guides(fixture *f, const char *rotation)
{
    enum { N = 70 };
    siyu_err e;
    siyu_err_init(&e);
    json_t *o;
    int64_t gid[N + 1];
    char body[4096];
    size_t n = (size_t)snprintf(body, sizeof body,
                                "{\"name\":\"many-%s\",\"rotation\":\"%s\","
                                "\"daily_cap_per_guide\":1,\"target\":{\"guide_ids\":[",
                                rotation, rotation);
    for (int i = 0; i <= N; i++) {
        char staff[128];
        snprintf(staff, sizeof staff, "{\"name\":\"g%s%d\",\"role\":\"guide\",\"store_id\":2}",
                 rotation, i);
        CHECK_INT_EQ(call(f, staff_create, staff, &o, &e), 201);
        gid[i] = jint(o, "id");
        json_decref(o);
        if (i < N)
            n += (size_t)snprintf(body + n, sizeof body - n, "%s%lld", i ? "," : "",
                                  (long long)gid[i]);
    }
    snprintf(body + n, sizeof body - n, "]},\"backup_guide_id\":%lld}", (long long)gid[N]);
    CHECK_INT_EQ(call(f, qr_codes_create, body, &o, &e), 201);
    int64_t code = jint(o, "id");
    json_decref(o);
    int got[N + 1] = {0};
    for (int i = 0; i <= N; i++) {
        char ext[32];
        snprintf(ext, sizeof ext, "m-%s-%d", rotation, i);
        int64_t g = 0;
        CHECK_INT_EQ(scan(f, code, ext, &g, &e), 201);
        for (int k = 0; k <= N; k++)
            if (gid[k] == g) got[k]++;
    }
    for (int k = 0; k <= N; k++)
        if (got[k] != 1) CHECK_FAIL_("%s: guide %d took %d scans, cap 1", rotation, k, got[k]);
    int64_t g;
    CHECK_INT_EQ(scan(f, code, "m-full", &g, &e), -1); /* everyone at cap, the backup too */
    CHECK_INT_EQ(e.code, SIYU_CONFLICT);
}

int main(void)
{
    states();
    schedules();
    fixture f;
    fixture_open(&f);
    scans(&f);
    events(&f);
    campaigns(&f);
    transfers(&f);
    many_guides(&f, "round_robin");
    many_guides(&f, "least_loaded");
    fixture_close(&f);
    return CHECK_DONE();
}
