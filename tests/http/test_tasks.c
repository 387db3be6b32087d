/* test_tasks.c — task campaigns, mass messages, content and the workbench against the real
 * server (docs/tasks.md).
 *
 * A campaign over three stores: every roll-up of its report (totals, by store, by guide,
 * by region) equals the counts computed here from the tasks themselves (GET /tasks, and
 * the store read directly); a store manager neither sees nor reassigns another store's
 * tasks; tasks end done on time, late, skipped and expired as the clock moves; the uplift
 * is worked by hand from orders placed for chosen tasked and held-out members. Mass
 * messages task each member once, obey consent and the frequency cap; content uses,
 * views and the attribution rule; the workbench; recurring rounds. The test owns the
 * clock (SIYU_NOW_FILE).
 * Run: test_tasks PATH_TO_SIYU */
#include <check.h>
#include <jansson.h>
#include <math.h>
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

/* ---- the chain: three stores (two in the east, one in the west), two guides each ---- */

#define STORES 3
#define GUIDES (STORES * 2)
#define PER_GUIDE 6
static int64_t store[STORES], guide[GUIDES], mgr[STORES];
static char tok_guide[GUIDES][80], tok_mgr[STORES][80];
static const char *const store_name[STORES] = {"湖滨店", "西溪店", "滨江店"};
static const char *const region[STORES] = {"东区", "东区", "西区"};
static int64_t members[GUIDES * PER_GUIDE + 2];
static int n_members;
static int64_t shared_member, moved_member, no_consent_member;

static int store_of_guide(int64_t g)
{
    for (int i = 0; i < GUIDES; i++)
        if (guide[i] == g) return i / 2;
    return -1;
}

static int guide_ix(int64_t g)
{
    for (int i = 0; i < GUIDES; i++)
        if (guide[i] == g) return i;
    return -1;
}

static int64_t add_contact(int g, const char *ext, const char *name, const char *at)
{
    json_t *o;
    int st = call_as(NULL, "POST", "/api/v1/wecom/events", &o,
                     "{\"event\":\"add_external_contact\",\"userid\":\"g-%d\","
                     "\"external_userid\":\"%s\",\"name\":\"%s\",\"at\":\"%s\"}",
                     g, ext, name, at);
    if (st != 201 && st != 200) {
        fprintf(stderr, "add contact: %d %s\n", st, buf);
        exit(1);
    }
    int64_t m = jint(json_array_get(json_object_get(o, "results"), 0), "member_id");
    json_decref(o);
    return m;
}

static void chain(void)
{
    for (int s = 0; s < STORES; s++) {
        store[s] =
            make("/api/v1/stores",
                 "{\"name\":\"%s\",\"code\":\"S%d\",\"kind\":\"physical\",\"region\":\"%s\"}",
                 store_name[s], s, region[s]);
        mgr[s] = make("/api/v1/staff",
                      "{\"name\":\"店长%d\",\"role\":\"store_manager\","
                      "\"store_id\":%lld}",
                      s, (long long)store[s]);
        make_token(mgr[s], tok_mgr[s]);
    }
    for (int g = 0; g < GUIDES; g++) {
        guide[g] =
            make("/api/v1/staff", "{\"name\":\"导购%d\",\"role\":\"guide\",\"store_id\":%lld}", g,
                 (long long)store[g / 2]);
        make_token(guide[g], tok_guide[g]);
        char path[64];
        snprintf(path, sizeof path, "/api/v1/staff/%lld", (long long)guide[g]);
        CHECK_INT_EQ(call_as(NULL, "PATCH", path, NULL, "{\"wecom_userid\":\"g-%d\"}", g), 200);
    }
    /* each guide's customers, added as WeCom contacts the day before */
    for (int g = 0; g < GUIDES; g++)
        for (int i = 0; i < PER_GUIDE; i++) {
            char ext[32], name[32];
            snprintf(ext, sizeof ext, "wm-%d-%d", g, i);
            snprintf(name, sizeof name, "客户%d-%d", g, i);
            members[n_members++] = add_contact(g, ext, name, "2026-03-01T09:00:00+08:00");
        }
    /* guide 1 (store 0) adds guide 0's first customer too: a contact of two guides, still
     * credited to guide 0 (their bound guide) */
    shared_member = members[0];
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/wecom/events", NULL,
                         "{\"event\":\"add_external_contact\",\"userid\":\"g-1\","
                         "\"external_userid\":\"wm-0-0\",\"at\":\"2026-03-01T09:30:00+08:00\"}"),
                 201);
    /* guide 2's first customer deletes guide 2 and adds guide 3: credited to guide 3 */
    moved_member = members[2 * PER_GUIDE];
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/wecom/events", NULL,
                         "{\"events\":[{\"event\":\"del_follow_user\",\"userid\":\"g-2\","
                         "\"external_userid\":\"wm-2-0\",\"at\":\"2026-03-01T10:00:00+08:00\"},"
                         "{\"event\":\"add_external_contact\",\"userid\":\"g-3\","
                         "\"external_userid\":\"wm-2-0\",\"at\":\"2026-03-01T10:05:00+08:00\"}]}"),
                 201);
    /* marketing consent for wecom, but one member never gave it */
    no_consent_member = members[5];
    for (int i = 0; i < n_members; i++) {
        if (members[i] == no_consent_member) continue;
        char path[64];
        snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)members[i]);
        CHECK_INT_EQ(call_as(NULL, "POST", path, NULL,
                             "{\"purpose\":\"marketing\",\"channel\":\"wecom\",\"granted\":true}"),
                     200);
    }
}

/* ---- the campaign over three stores ---- */

static int64_t camp;

typedef struct counts {
    long long tasks, done, on_time, late, open, skipped, expired;
} counts;

static void count_add(counts *c, json_t *t)
{
    const char *state = jstr(t, "state");
    c->tasks++;
    if (strcmp(state, "done") == 0) {
        c->done++;
        if (json_is_true(json_object_get(t, "on_time")))
            c->on_time++;
        else
            c->late++;
    } else if (strcmp(state, "open") == 0)
        c->open++;
    else if (strcmp(state, "skipped") == 0)
        c->skipped++;
    else if (strcmp(state, "expired") == 0)
        c->expired++;
}

static void expect_counts(json_t *row, const counts *c, const char *what)
{
    const char *k[] = {"tasks", "done", "on_time", "late", "open", "skipped", "expired"};
    const long long v[] = {c->tasks, c->done, c->on_time, c->late, c->open, c->skipped, c->expired};
    for (int i = 0; i < 7; i++)
        if (jint(row, k[i]) != v[i])
            CHECK_FAIL_("%s: %s is %lld, counted %lld", what, k[i], (long long)jint(row, k[i]),
                        v[i]);
}

/* The campaign's tasks as GET /tasks lists them (every state) for tok. */
static json_t *campaign_tasks(const char *tok, int64_t id)
{
    json_t *all = json_array(), *o;
    int64_t cursor = 0;
    for (;;) {
        char path[128];
        snprintf(path, sizeof path, "/api/v1/tasks?limit=1000&cursor=%lld", (long long)cursor);
        CHECK_INT_EQ(call_as(tok, "GET", path, &o, NULL), 200);
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(o, "items"), i, t) if (jint(t, "campaign_id") == id)
            json_array_append(all, t);
        json_t *next = json_object_get(o, "next_cursor");
        cursor = json_is_integer(next) ? json_integer_value(next) : 0;
        json_decref(o);
        if (!cursor) break;
    }
    return all;
}

/* Every roll-up of the report against counts made here from the tasks. */
static void check_rollups(const char *tok, int only_store)
{
    json_t *tasks = campaign_tasks(tok, camp);
    counts total = {0}, by_store[STORES] = {{0}}, by_guide[GUIDES] = {{0}}, east = {0}, west = {0};
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t)
    {
        int g = guide_ix(jint(t, "guide_id"));
        CHECK(g >= 0);
        if (g < 0) continue;
        count_add(&total, t);
        count_add(&by_store[g / 2], t);
        count_add(&by_guide[g], t);
        count_add(strcmp(region[g / 2], "东区") == 0 ? &east : &west, t);
        CHECK_INT_EQ(jint(t, "store_id"), store[g / 2]);
    }
    json_decref(tasks);
    /* and the store read directly, not through the API */
    if (only_store < 0)
        CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1", camp, 0),
                     total.tasks);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/task-campaigns/%lld/report", (long long)camp);
    json_t *r;
    CHECK_INT_EQ(call_as(tok, "GET", path, &r, NULL), 200);
    expect_counts(r, &total, "total");
    json_t *rows = json_object_get(r, "by_store");
    CHECK_INT_EQ(json_array_size(rows), only_store < 0 ? STORES : 1);
    json_array_foreach(rows, i, t)
    {
        int s = -1;
        for (int k = 0; k < STORES; k++)
            if (store[k] == jint(t, "store_id")) s = k;
        CHECK(s >= 0 && (only_store < 0 || s == only_store));
        if (s < 0) continue;
        CHECK_STR_EQ(jstr(t, "name"), store_name[s]);
        CHECK_STR_EQ(jstr(t, "region"), region[s]);
        expect_counts(t, &by_store[s], store_name[s]);
    }
    rows = json_object_get(r, "by_guide");
    json_array_foreach(rows, i, t)
    {
        int g = guide_ix(jint(t, "guide_id"));
        CHECK(g >= 0 && (only_store < 0 || g / 2 == only_store));
        if (g < 0) continue;
        char name[32];
        snprintf(name, sizeof name, "导购%d", g);
        CHECK_STR_EQ(jstr(t, "name"), name);
        CHECK_INT_EQ(jint(t, "store_id"), store[g / 2]);
        expect_counts(t, &by_guide[g], name);
    }
    rows = json_object_get(r, "by_region");
    json_array_foreach(rows, i, t)
    {
        bool is_east = strcmp(jstr(t, "region"), "东区") == 0;
        expect_counts(t, is_east ? &east : &west, jstr(t, "region"));
    }
    json_decref(r);
}

static void campaign(void)
{
    json_t *o;
    /* bad bodies name their field; nothing is written */
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"name\":\"x\",\"kind\":\"dance\",\"due\":\"2026-03-04T10:00:00+08:00\"}", "kind"},
        {"{\"name\":\"x\",\"kind\":\"call\"}", "due"},
        {"{\"name\":\"x\",\"kind\":\"call\",\"due\":\"2026-03-01T10:00:00+08:00\"}", "due"},
        {"{\"name\":\"x\",\"kind\":\"call\",\"due\":\"2026-03-04T10:00:00+08:00\","
         "\"script\":\"{{member.nam}}\"}",
         "script"},
        {"{\"name\":\"x\",\"kind\":\"call\",\"due\":\"2026-03-04T10:00:00+08:00\","
         "\"target\":{\"store_ids\":[999]}}",
         "target.store_ids[0]"},
        {"{\"name\":\"x\",\"kind\":\"call\",\"due\":\"2026-03-04T10:00:00+08:00\","
         "\"holdout_pct\":90}",
         "holdout_pct"},
        {"{\"name\":\"x\",\"kind\":\"call\",\"recurring\":{\"weekday\":8}}", "recurring.weekday"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int st = call_as(NULL, "POST", "/api/v1/task-campaigns", &o, "%s", bad[i].body);
        const char *f = jstr(json_object_get(o, "error"), "field");
        if (st / 100 == 2 || !f || strcmp(f, bad[i].field) != 0)
            CHECK_FAIL_("%s: %d %s (want field %s)", bad[i].body, st, buf, bad[i].field);
        json_decref(o);
    }
    CHECK_INT_EQ(db_int("SELECT count(*) FROM task_campaigns", 0, 0), 0);
    /* a store manager launches only for their own store */
    CHECK_INT_EQ(call_as(tok_mgr[0], "POST", "/api/v1/task-campaigns", NULL,
                         "{\"name\":\"x\",\"kind\":\"call\",\"due\":\"2026-03-04T10:00:00+08:00\","
                         "\"target\":{\"store_ids\":[%lld]}}",
                         (long long)store[1]),
                 403);
    CHECK_INT_EQ(
        call_as(tok_guide[0], "POST", "/api/v1/task-campaigns", NULL,
                "{\"name\":\"x\",\"kind\":\"call\",\"due\":\"2026-03-04T10:00:00+08:00\"}"),
        403);

    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/task-campaigns", &o,
                         "{\"name\":\"春季回访\",\"kind\":\"call\","
                         "\"script\":\"{{member.name}}您好，我是{{store.name}}的{{guide.name}}\","
                         "\"target\":{\"store_ids\":[%lld,%lld,%lld]},"
                         "\"due\":\"2026-03-04T10:00:00+08:00\",\"holdout_pct\":30,"
                         "\"window_days\":7}",
                         (long long)store[0], (long long)store[1], (long long)store[2]),
                 201);
    camp = jint(o, "id");
    int64_t tasks = jint(o, "tasks"), held = jint(o, "held_out");
    json_decref(o);
    /* every member of the three stores is either tasked or held out */
    CHECK_INT_EQ(tasks + held, n_members);
    CHECK(held > 0 && tasks > held);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM task_holdout WHERE campaign_id = ?1", camp, 0), held);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks t JOIN task_holdout h ON"
                        " h.member_id = t.member_id AND h.campaign_id = t.campaign_id"
                        " WHERE t.campaign_id = ?1",
                        camp, 0),
                 0);
    /* each task is on the member's credited guide (as GET /members/{id}/contacts says),
     * its script rendered with the member's, store's and guide's names */
    json_t *list = campaign_tasks(NULL, camp);
    CHECK_INT_EQ(json_array_size(list), tasks);
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
    {
        char path[64];
        snprintf(path, sizeof path, "/api/v1/members/%lld/contacts",
                 (long long)jint(t, "member_id"));
        json_t *c;
        CHECK_INT_EQ(call_as(NULL, "GET", path, &c, NULL), 200);
        CHECK_INT_EQ(jint(t, "guide_id"), jint(c, "credited_guide_id"));
        json_decref(c);
        int g = guide_ix(jint(t, "guide_id"));
        const char *script = jstr(t, "script");
        char want[128];
        snprintf(want, sizeof want, "您好，我是%s的导购%d", store_name[g / 2], g);
        CHECK(script && strstr(script, want) && strncmp(script, "客户", 6) == 0);
        CHECK_STR_EQ(jstr(t, "state"), "open");
        if (jint(t, "member_id") == moved_member) CHECK_INT_EQ(jint(t, "guide_id"), guide[3]);
    }
    json_decref(list);
    check_rollups(NULL, -1);
}

/* A store manager sees and reassigns only their own store's tasks. */
static int64_t reassigned;

static void manager_scope(void)
{
    json_t *mine = campaign_tasks(tok_mgr[0], camp);
    size_t i;
    json_t *t;
    int64_t a_task = 0;
    json_array_foreach(mine, i, t)
    {
        CHECK_INT_EQ(store_of_guide(jint(t, "guide_id")), 0);
        if (!a_task && jint(t, "guide_id") == guide[0]) a_task = jint(t, "id");
    }
    CHECK(json_array_size(mine) > 0 && a_task);
    json_decref(mine);
    json_t *all = campaign_tasks(NULL, camp);
    int64_t b_task = 0;
    json_array_foreach(all, i, t) if (!b_task && store_of_guide(jint(t, "guide_id")) == 1) b_task =
        jint(t, "id");
    json_decref(all);
    char path[96];
    /* another store's task: not reassigned, not closed, by store 0's manager */
    snprintf(path, sizeof path, "/api/v1/tasks/%lld/reassign", (long long)b_task);
    CHECK_INT_EQ(
        call_as(tok_mgr[0], "POST", path, NULL, "{\"guide_id\":%lld}", (long long)guide[0]), 403);
    CHECK_INT_EQ(
        call_as(tok_mgr[0], "POST", path, NULL, "{\"guide_id\":%lld}", (long long)guide[2]), 403);
    snprintf(path, sizeof path, "/api/v1/tasks/%lld/done", (long long)b_task);
    CHECK_INT_EQ(call_as(tok_mgr[0], "POST", path, NULL, "{}"), 403);
    /* their own task to another store's guide: refused; to their other guide: done */
    snprintf(path, sizeof path, "/api/v1/tasks/%lld/reassign", (long long)a_task);
    CHECK_INT_EQ(
        call_as(tok_mgr[0], "POST", path, NULL, "{\"guide_id\":%lld}", (long long)guide[2]), 403);
    CHECK_INT_EQ(
        call_as(tok_guide[0], "POST", path, NULL, "{\"guide_id\":%lld}", (long long)guide[1]), 403);
    json_t *o;
    CHECK_INT_EQ(call_as(tok_mgr[0], "POST", path, &o, "{\"guide_id\":%lld}", (long long)guide[1]),
                 200);
    CHECK_INT_EQ(jint(o, "guide_id"), guide[1]);
    json_decref(o);
    reassigned = a_task;
    /* the guide who lost it can no longer close it; the new one can see it */
    snprintf(path, sizeof path, "/api/v1/tasks/%lld/done", (long long)a_task);
    CHECK_INT_EQ(call_as(tok_guide[0], "POST", path, NULL, "{}"), 403);
    json_t *g1 = campaign_tasks(tok_guide[1], camp);
    bool seen = false;
    json_array_foreach(g1, i, t) seen |= jint(t, "id") == a_task;
    CHECK(seen);
    json_decref(g1);
    /* the report of a store manager is their store's; another store's is not theirs */
    check_rollups(tok_mgr[0], 0);
    check_rollups(tok_mgr[1], 1);
}

/* Reminders, completion on time and late, skips, expiry. */
static void lifecycle(void)
{
    /* 3 hours before the deadline: inside the 4-hour reminder window */
    set_now("2026-03-04T07:00:00+08:00");
    json_t *o;
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", &o, NULL), 200);
    json_decref(o);
    long long open0 = db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND"
                             " guide_id = ?2 AND state = 'open'",
                             camp, guide[0]);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND"
                        " reminded_at IS NULL",
                        camp, 0),
                 0);
    CHECK_INT_EQ(call_as(tok_guide[0], "GET", "/api/v1/workbench", &o, NULL), 200);
    json_t *rem = json_array_get(json_object_get(o, "reminders"), 0);
    CHECK_INT_EQ(jint(rem, "tasks"), open0);
    CHECK_INT_EQ(jint(rem, "campaign_id"), camp);
    CHECK_INT_EQ(jint(json_object_get(o, "tasks_due"), "count"), open0);
    json_decref(o);
    /* a second tick reminds nobody twice */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, NULL), 200);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_notices", 0, 0), GUIDES);

    /* the guides work: by position in each guide's list, done (on time), unreachable (on
     * time), late, skipped, left to expire */
    json_t *late = json_array();
    for (int g = 0; g < GUIDES; g++) {
        json_t *mine = campaign_tasks(tok_guide[g], camp);
        size_t i;
        json_t *t;
        json_array_foreach(mine, i, t)
        {
            char path[96];
            int64_t id = jint(t, "id");
            switch (i % 5) {
            case 0:
                snprintf(path, sizeof path, "/api/v1/tasks/%lld/done", (long long)id);
                CHECK_INT_EQ(call_as(tok_guide[g], "POST", path, &o,
                                     "{\"outcome\":\"done\",\"note\":\"约了周末到店\"}"),
                             200);
                CHECK(json_is_true(json_object_get(o, "on_time")));
                CHECK_STR_EQ(jstr(o, "note"), "约了周末到店");
                CHECK(json_is_string(json_object_get(o, "completed_at")));
                json_decref(o);
                break;
            case 1:
                snprintf(path, sizeof path, "/api/v1/tasks/%lld/done", (long long)id);
                CHECK_INT_EQ(
                    call_as(tok_guide[g], "POST", path, NULL, "{\"outcome\":\"unreachable\"}"),
                    200);
                break;
            case 2:
                json_array_append_new(late, json_integer(id * 100 + g));
                break;
            case 3:
                snprintf(path, sizeof path, "/api/v1/tasks/%lld/skip", (long long)id);
                CHECK_INT_EQ(call_as(tok_guide[g], "POST", path, NULL, NULL), 200);
                break;
            default:
                break;
            }
        }
        json_decref(mine);
    }
    /* a bad outcome names its field; a closed task is not closed twice */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/tasks/1/done", &o, "{\"outcome\":\"maybe\"}"), 400);
    json_decref(o);
    check_rollups(NULL, -1);
    /* after the deadline: late */
    set_now("2026-03-04T12:00:00+08:00");
    size_t i;
    json_t *v;
    json_array_foreach(late, i, v)
    {
        int64_t id = json_integer_value(v) / 100;
        int g = (int)(json_integer_value(v) % 100);
        char path[96];
        snprintf(path, sizeof path, "/api/v1/tasks/%lld/done", (long long)id);
        CHECK_INT_EQ(call_as(tok_guide[g], "POST", path, &o, "{\"outcome\":\"refused\"}"), 200);
        CHECK(json_is_false(json_object_get(o, "on_time")));
        json_decref(o);
    }
    json_decref(late);
    /* the workbench: what is overdue is what is left open */
    CHECK_INT_EQ(call_as(tok_guide[2], "GET", "/api/v1/workbench", &o, NULL), 200);
    CHECK_INT_EQ(jint(json_object_get(o, "tasks_overdue"), "count"),
                 db_int("SELECT count(*) FROM guide_tasks WHERE guide_id = ?1 AND state = 'open'"
                        " AND due_at IS NOT NULL",
                        guide[2], 0));
    json_decref(o);
    check_rollups(NULL, -1);
    /* 72 hours past the deadline the rest expire */
    set_now("2026-03-07T10:00:01+08:00");
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, NULL), 200);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND"
                        " state = 'open'",
                        camp, 0),
                 0);
    CHECK(db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND state = 'expired'",
                 camp, 0) > 0);
    check_rollups(NULL, -1);
    check_rollups(tok_mgr[2], 2);
    json_t *r;
    char path[64];
    snprintf(path, sizeof path, "/api/v1/task-campaigns/%lld/report", (long long)camp);
    CHECK_INT_EQ(call_as(NULL, "GET", path, &r, NULL), 200);
    json_t *out = json_object_get(r, "outcomes");
    CHECK_INT_EQ(jint(out, "done"), db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id ="
                                           " ?1 AND outcome = 'done'",
                                           camp, 0));
    CHECK(jint(out, "refused") > 0 && jint(out, "unreachable") > 0);
    json_decref(r);
}

/* ---- the uplift, worked by hand ---- */

static void wilson(double x, double n, double *lo, double *hi)
{
    const double z = 1.959963984540054;
    double p = x / n, d = 1 + z * z / n;
    double c = (p + z * z / (2 * n)) / d, h = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d;
    *lo = x == 0 ? 0 : fmax(0, c - h);
    *hi = x == n ? 1 : fmin(1, c + h);
}

static int orders_made;

static void order(int64_t member, int s, const char *at, int cents)
{
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/orders", NULL,
                         "{\"channel\":\"store\",\"external_id\":\"T%d\",\"store_id\":%lld,"
                         "\"placed_at\":\"%s\",\"total_cents\":%d,\"member_id\":%lld,"
                         "\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":%d}]}",
                         ++orders_made, (long long)store[s], at, cents, (long long)member, cents),
                 201);
}

static void uplift(void)
{
    set_now("2026-03-20T10:00:00+08:00");
    /* the members with a done task, and the held-out ones, from the store itself */
    long long n1 = db_int("SELECT count(DISTINCT member_id) FROM guide_tasks WHERE"
                          " campaign_id = ?1 AND state = 'done'",
                          camp, 0);
    long long n0 = db_int("SELECT count(*) FROM task_holdout WHERE campaign_id = ?1", camp, 0);
    CHECK(n1 >= 3 && n0 >= 2);
    /* orders: 3 completed members buy 1 day after the last completion (inside the 7-day
     * window of each), 1 held-out member buys 3 days after launch (inside), another 10
     * days after (outside) */
    int got = 0;
    for (int i = 0; i < n_members && got < 3; i++) {
        if (db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND member_id = ?2"
                   " AND state = 'done'",
                   camp, members[i]) > 0) {
            order(members[i], 0, "2026-03-05T12:00:00+08:00", 10000);
            got++;
        }
    }
    int held = 0;
    for (int i = 0; i < n_members && held < 2; i++) {
        if (db_int("SELECT count(*) FROM task_holdout WHERE campaign_id = ?1 AND member_id = ?2",
                   camp, members[i]) > 0) {
            order(members[i], 0, held ? "2026-03-12T10:00:01+08:00" : "2026-03-05T10:00:00+08:00",
                  10000);
            held++;
        }
    }
    /* by hand: completed 3 of n1, holdout 1 of n0 */
    double p1 = 3.0 / (double)n1, p0 = 1.0 / (double)n0, l1, u1, l0, u0;
    wilson(3, (double)n1, &l1, &u1);
    wilson(1, (double)n0, &l0, &u0);
    double lo = (p1 - p0) - sqrt((p1 - l1) * (p1 - l1) + (u0 - p0) * (u0 - p0));
    double hi = (p1 - p0) + sqrt((u1 - p1) * (u1 - p1) + (p0 - l0) * (p0 - l0));
    json_t *r;
    char path[64];
    snprintf(path, sizeof path, "/api/v1/task-campaigns/%lld/report", (long long)camp);
    CHECK_INT_EQ(call_as(NULL, "GET", path, &r, NULL), 200);
    json_t *u = json_object_get(r, "uplift");
    CHECK_INT_EQ(jint(json_object_get(u, "completed"), "members"), n1);
    CHECK_INT_EQ(jint(json_object_get(u, "completed"), "converted"), 3);
    CHECK_INT_EQ(jint(json_object_get(u, "holdout"), "members"), n0);
    CHECK_INT_EQ(jint(json_object_get(u, "holdout"), "converted"), 1);
    CHECK_NEAR(json_real_value(json_object_get(u, "uplift")), p1 - p0, 1e-9);
    CHECK_NEAR(json_real_value(json_array_get(json_object_get(u, "interval"), 0)), lo, 1e-9);
    CHECK_NEAR(json_real_value(json_array_get(json_object_get(u, "interval"), 1)), hi, 1e-9);
    CHECK_INT_EQ(jint(u, "window_days"), 7);
    CHECK_INT_EQ(jint(u, "holdout_pct"), 30);
    json_decref(r);
}

/* ---- mass messages ---- */

static void mass_messages(void)
{
    json_t *o;
    CHECK_INT_EQ(call_as(NULL, "PUT", "/api/v1/mass-messages/settings", &o,
                         "{\"frequency_cap\":{\"per_day\":1,\"per_week\":7,\"per_month\":4}}"),
                 200);
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "PUT", "/api/v1/mass-messages/settings", &o,
                         "{\"frequency_cap\":{\"per_day\":-1}}"),
                 400);
    json_decref(o);
    char ids[4096];
    size_t k = 0;
    ids[k++] = '[';
    for (int i = 0; i < n_members; i++)
        k += (size_t)snprintf(ids + k, sizeof ids - k, "%s%lld", i ? "," : "",
                              (long long)members[i]);
    /* the shared member twice in the list: still one task */
    k += (size_t)snprintf(ids + k, sizeof ids - k, ",%lld]", (long long)shared_member);
    CHECK_INT_EQ(call_as(tok_mgr[0], "POST", "/api/v1/mass-messages", NULL,
                         "{\"text\":\"hi\",\"member_ids\":%s,\"store_id\":%lld}", ids,
                         (long long)store[1]),
                 403);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/mass-messages", &o,
                         "{\"name\":\"新品\",\"text\":\"{{member.name}}，新品到店\","
                         "\"member_ids\":%s}",
                         ids),
                 201);
    int64_t mass = jint(o, "id");
    json_t *sk = json_object_get(o, "skipped");
    CHECK_INT_EQ(jint(sk, "consent"), 1);
    CHECK_INT_EQ(jint(sk, "frequency_cap"), 0);
    CHECK_INT_EQ(jint(o, "tasks"), n_members - 1);
    json_decref(o);
    /* once per member, on the credited guide, never the member without consent */
    CHECK_INT_EQ(
        db_int("SELECT count(DISTINCT member_id) FROM guide_tasks WHERE campaign_id = ?1", mass, 0),
        n_members - 1);
    CHECK_INT_EQ(
        db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND member_id = ?2", mass,
               no_consent_member),
        0);
    CHECK_INT_EQ(
        db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND member_id = ?2", mass,
               shared_member),
        1);
    CHECK_INT_EQ(
        db_int("SELECT guide_id FROM guide_tasks WHERE campaign_id = ?1 AND member_id = ?2", mass,
               moved_member),
        guide[3]);
    /* the guide sees the rendered text and confirms: sent */
    json_t *mine = campaign_tasks(tok_guide[0], mass);
    json_t *t = json_array_get(mine, 0);
    CHECK(strstr(jstr(t, "script"), "，新品到店") != NULL);
    CHECK_STR_EQ(jstr(t, "kind"), "mass_message");
    char path[96];
    snprintf(path, sizeof path, "/api/v1/tasks/%lld/confirm", (long long)jint(t, "id"));
    CHECK_INT_EQ(call_as(tok_guide[0], "POST", path, &o, NULL), 200);
    CHECK_STR_EQ(jstr(o, "outcome"), "sent");
    json_decref(o);
    json_decref(mine);
    /* the same day again: the cap of one a day holds everyone back */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/mass-messages", &o,
                         "{\"text\":\"again\",\"member_ids\":%s}", ids),
                 201);
    CHECK_INT_EQ(jint(o, "tasks"), 0);
    CHECK_INT_EQ(jint(json_object_get(o, "skipped"), "frequency_cap"), n_members - 1);
    json_decref(o);
    /* the next day a store's message reaches its own guides' members only */
    set_now("2026-03-21T10:00:00+08:00");
    CHECK_INT_EQ(call_as(tok_mgr[1], "POST", "/api/v1/mass-messages", &o,
                         "{\"text\":\"店内活动\",\"member_ids\":%s}", ids),
                 201);
    int64_t store_mass = jint(o, "id");
    json_decref(o);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks t JOIN staff s ON s.id = t.guide_id"
                        " WHERE t.campaign_id = ?1 AND s.store_id <> ?2",
                        store_mass, store[1]),
                 0);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1", store_mass, 0),
                 2 * PER_GUIDE); /* guide 2 lost one customer to guide 3: same store */
    /* the cap is never broken: nobody has two mass messages within a day */
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks a JOIN guide_tasks b ON"
                        " a.member_id = b.member_id AND a.id < b.id AND a.kind = 'mass_message'"
                        " AND b.kind = 'mass_message' AND b.created_at - a.created_at < 86400",
                        0, 0),
                 0);
}

/* ---- content ---- */

static void content(void)
{
    json_t *o;
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/content", &o,
                         "{\"kind\":\"script\",\"title\":\"春季话术\","
                         "\"body\":\"{{member.name}}，春装到了\",\"tags\":[\"spring\",\"call\"]}"),
                 201);
    int64_t c1 = jint(o, "id");
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/content", &o,
                         "{\"kind\":\"poster\",\"title\":\"海报\",\"url\":\"https://x/p.png\","
                         "\"tags\":[\"autumn\"]}"),
                 201);
    int64_t c2 = jint(o, "id");
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/content", &o, "{\"kind\":\"script\"}"), 400);
    json_decref(o);
    CHECK_INT_EQ(call_as(tok_guide[0], "GET", "/api/v1/content?tag=spring", &o, NULL), 200);
    CHECK_INT_EQ(json_array_size(json_object_get(o, "items")), 1);
    CHECK_INT_EQ(jint(json_array_get(json_object_get(o, "items"), 0), "id"), c1);
    json_decref(o);
    CHECK_INT_EQ(call_as(tok_guide[0], "GET", "/api/v1/content?tag=spr", &o, NULL), 200);
    CHECK_INT_EQ(json_array_size(json_object_get(o, "items")), 0);
    json_decref(o);
    /* guide 0 sends c1 to a member, shares c1 as a link someone else views, sends c2 to a
     * third member */
    int64_t m1 = members[1], m2 = members[2], m3 = members[3];
    char path[96];
    snprintf(path, sizeof path, "/api/v1/content/%lld/shares", (long long)c1);
    CHECK_INT_EQ(call_as(tok_guide[0], "POST", path, NULL, "{\"kind\":\"sent\",\"member_id\":%lld}",
                         (long long)m1),
                 201);
    CHECK_INT_EQ(call_as(tok_guide[0], "POST", path, &o, "{\"kind\":\"shared\"}"), 201);
    char tokn[64];
    snprintf(tokn, sizeof tokn, "%s", jstr(o, "token"));
    CHECK(jstr(o, "link") && strstr(jstr(o, "link"), tokn));
    json_decref(o);
    CHECK_INT_EQ(
        call_as(tok_guide[0], "POST", path, NULL, "{\"guide_id\":%lld}", (long long)guide[2]), 403);
    set_now("2026-03-21T12:00:00+08:00");
    static char views[256];
    snprintf(views, sizeof views,
             "{\"token\":\"%s\",\"at\":\"2026-03-21T11:00:00+08:00\",\"member_id\":%lld}", tokn,
             (long long)m2);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/content/views", &o, "%s", views), 201);
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/content/views", &o, "%s", views), 200);
    CHECK_INT_EQ(jint(o, "duplicates"), 1);
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/content/%lld/shares", (long long)c2);
    CHECK_INT_EQ(call_as(tok_guide[0], "POST", path, NULL, "{\"kind\":\"sent\",\"member_id\":%lld}",
                         (long long)m3),
                 201);
    /* orders: m1 and m2 within 7 days of their c1 touch → c1; m3 → c2; m1 again 11 days
     * after its touch → nobody */
    set_now("2026-04-05T10:00:00+08:00");
    order(m1, 0, "2026-03-22T10:00:00+08:00", 3000);
    order(m2, 0, "2026-03-22T10:00:00+08:00", 5000);
    order(m3, 0, "2026-03-22T10:00:00+08:00", 7000);
    order(m1, 0, "2026-04-02T10:00:00+08:00", 9000);
    snprintf(path, sizeof path, "/api/v1/content/%lld/stats", (long long)c1);
    CHECK_INT_EQ(call_as(tok_guide[0], "GET", path, &o, NULL), 200);
    CHECK_INT_EQ(jint(json_object_get(o, "uses"), "sent"), 1);
    CHECK_INT_EQ(jint(json_object_get(o, "uses"), "shared"), 1);
    CHECK_INT_EQ(jint(o, "views"), 1);
    CHECK_INT_EQ(jint(o, "members_reached"), 2);
    CHECK_INT_EQ(jint(o, "orders"), 2);
    CHECK_INT_EQ(jint(o, "sales_cents"), 8000);
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/content/%lld/stats", (long long)c2);
    CHECK_INT_EQ(call_as(NULL, "GET", path, &o, NULL), 200);
    CHECK_INT_EQ(jint(o, "orders"), 1);
    CHECK_INT_EQ(jint(o, "sales_cents"), 7000);
    json_decref(o);
}

/* ---- the workbench ---- */

static void workbench(void)
{
    json_t *o;
    char path[96];
    snprintf(path, sizeof path, "/api/v1/workbench?guide_id=%lld", (long long)guide[0]);
    CHECK_INT_EQ(call_as(tok_mgr[1], "GET", path, NULL, NULL), 403);
    CHECK_INT_EQ(call_as(tok_guide[1], "GET", path, NULL, NULL), 403);
    CHECK_INT_EQ(call_as(tok_mgr[0], "GET", path, &o, NULL), 200);
    json_t *f = json_object_get(o, "figures");
    CHECK_INT_EQ(jint(f, "contacts"),
                 db_int("SELECT count(*) FROM contacts WHERE guide_id = ?1 AND"
                        " customer_deleted_at IS NULL AND guide_deleted_at IS NULL",
                        guide[0], 0));
    CHECK_INT_EQ(jint(f, "members"), PER_GUIDE);
    /* sales credited to guide 0 in the last 30 days: the orders above (members 1..3 are
     * guide 0's customers; orders credit the member's guide) */
    CHECK_INT_EQ(jint(f, "sales_cents_30d"),
                 db_int("SELECT COALESCE(sum(total_cents - refunded_cents), 0) FROM orders"
                        " WHERE guide_id = ?1 AND placed_at >= ?2",
                        guide[0], 1775354400LL - 30 * 86400));
    CHECK(json_is_real(json_object_get(f, "tasks_on_time_rate")) ||
          json_is_null(json_object_get(f, "tasks_on_time_rate")));
    json_decref(o);
    /* a guide's own: the new contact added today is one to welcome */
    add_contact(0, "wm-new", "新客", "2026-04-05T09:00:00+08:00");
    CHECK_INT_EQ(call_as(tok_guide[0], "GET", "/api/v1/workbench", &o, NULL), 200);
    CHECK_INT_EQ(json_array_size(json_object_get(o, "new_contacts")), 1);
    CHECK_INT_EQ(jint(json_object_get(o, "figures"), "contacts_added_30d"), 1);
    json_decref(o);
}

/* ---- the guide leaderboard people can read ---- */

static void leaderboard(void)
{
    /* guide 2 (store 1) is credited for their customer's order in store 0 */
    order(members[2 * PER_GUIDE + 1], 0, "2026-04-04T10:00:00+08:00", 4200);
    json_t *o;
    const char *path = "/api/v1/reports/leaderboard?by=guide&from=2026-03-01&to=2026-04-30";
    CHECK_INT_EQ(call_as(tok_mgr[1], "GET", path, &o, NULL), 200);
    json_t *items = json_object_get(o, "items");
    size_t i;
    json_t *row;
    bool saw2 = false;
    json_array_foreach(items, i, row)
    {
        int g = guide_ix(jint(row, "guide_id"));
        CHECK(g == 2 || g == 3);
        if (g < 0) continue;
        char name[32];
        snprintf(name, sizeof name, "导购%d", g);
        CHECK_STR_EQ(jstr(row, "name"), name);
        CHECK_STR_EQ(jstr(row, "store_name"), store_name[1]);
        CHECK_INT_EQ(jint(row, "contacts"),
                     db_int("SELECT count(*) FROM contacts WHERE guide_id = ?1 AND"
                            " customer_deleted_at IS NULL AND guide_deleted_at IS NULL",
                            guide[g], 0));
        CHECK_INT_EQ(jint(row, "net_sales_cents"),
                     db_int("SELECT COALESCE(sum(total_cents - refunded_cents), 0) FROM orders"
                            " WHERE guide_id = ?1",
                            guide[g], 0));
        CHECK(jint(row, "rank") >= 1 && jint(row, "rank") <= 2);
        if (g == 2) {
            saw2 = true;
            CHECK(jint(row, "net_sales_cents") >= 4200);
            CHECK_INT_EQ(jint(row, "contacts_lost"), 1); /* wm-2-0 deleted guide 2 */
        }
    }
    CHECK(saw2);
    json_decref(o);
    /* HQ sees every guide, named */
    CHECK_INT_EQ(call_as(NULL, "GET", path, &o, NULL), 200);
    CHECK(json_array_size(json_object_get(o, "items")) >= 4);
    json_array_foreach(json_object_get(o, "items"), i, row) CHECK(jstr(row, "name") != NULL);
    json_decref(o);
}

/* ---- recurring rounds ---- */

static void recurring(void)
{
    /* 2026-04-06 is a Monday */
    set_now("2026-04-06T09:00:00+08:00");
    json_t *o;
    CHECK_INT_EQ(call_as(tok_mgr[2], "POST", "/api/v1/task-campaigns", &o,
                         "{\"name\":\"每周朋友圈\",\"kind\":\"moments\",\"script\":\"本周新品\","
                         "\"recurring\":{\"weekday\":1},\"due_hours\":12}"),
                 201);
    int64_t weekly = jint(o, "id");
    CHECK_INT_EQ(jint(o, "tasks"), 2); /* store 2's two guides, no members */
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, NULL), 200);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1", weekly, 0), 2);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND"
                        " member_id IS NOT NULL",
                        weekly, 0),
                 0);
    set_now("2026-04-13T09:00:00+08:00");
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, NULL), 200);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1", weekly, 0), 4);
    CHECK_INT_EQ(
        db_int("SELECT count(DISTINCT round) FROM guide_tasks WHERE campaign_id = ?1", weekly, 0),
        2);
    /* day 1 after a contact is added */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/task-campaigns", &o,
                         "{\"name\":\"加好友次日\",\"kind\":\"wecom_message\","
                         "\"script\":\"{{member.name}}欢迎\",\"holdout_pct\":0,"
                         "\"recurring\":{\"after_contact_days\":[1]},"
                         "\"target\":{\"store_ids\":[%lld]}}",
                         (long long)store[0]),
                 201);
    int64_t welcome = jint(o, "id");
    json_decref(o);
    set_now("2026-04-13T09:40:00+08:00");
    int64_t fresh = add_contact(1, "wm-fresh", "新朋友", "2026-04-13T09:30:00+08:00");
    add_contact(4, "wm-other", "别店", "2026-04-13T09:30:00+08:00"); /* store 2: not targeted */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, NULL), 200);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1", welcome, 0), 0);
    set_now("2026-04-14T10:00:00+08:00");
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, NULL), 200);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, NULL), 200);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1", welcome, 0), 1);
    CHECK_INT_EQ(db_int("SELECT member_id FROM guide_tasks WHERE campaign_id = ?1", welcome, 0),
                 fresh);
    CHECK_INT_EQ(db_int("SELECT guide_id FROM guide_tasks WHERE campaign_id = ?1", welcome, 0),
                 guide[1]);
    /* every campaign's counts equal its tasks (the invariant siyu check holds) */
    CHECK_INT_EQ(db_int("SELECT count(*) FROM task_campaigns c WHERE c.tasks <> (SELECT count(*)"
                        " FROM guide_tasks t WHERE t.campaign_id = c.id)",
                        0, 0),
                 0);
}

/* ---- a departed guide gets no new tasks; their members' tasks wait for the receiver ---- */

static int64_t dep_guide, dep_members[3];

static void departed(void)
{
    set_now("2026-04-20T10:00:00+08:00");
    dep_guide =
        make("/api/v1/staff", "{\"name\":\"离职导购\",\"role\":\"guide\",\"store_id\":%lld}",
             (long long)store[0]);
    char path[128];
    snprintf(path, sizeof path, "/api/v1/staff/%lld", (long long)dep_guide);
    CHECK_INT_EQ(call_as(NULL, "PATCH", path, NULL, "{\"wecom_userid\":\"g-dep\"}"), 200);
    for (int i = 0; i < 3; i++) {
        json_t *o;
        char ext[32];
        snprintf(ext, sizeof ext, "wm-dep-%d", i);
        CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/wecom/events", &o,
                             "{\"event\":\"add_external_contact\",\"userid\":\"g-dep\","
                             "\"external_userid\":\"%s\",\"name\":\"离职客户%d\","
                             "\"at\":\"2026-04-20T09:00:00+08:00\"}",
                             ext, i),
                     201);
        dep_members[i] = jint(json_array_get(json_object_get(o, "results"), 0), "member_id");
        json_decref(o);
    }
    /* the guide departs; guide 0 takes the customers over (WeCom's 24 h wait) */
    json_t *o;
    snprintf(path, sizeof path, "/api/v1/staff/%lld/depart", (long long)dep_guide);
    CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{\"transfer_to\":[%lld]}", (long long)guide[0]),
                 200);
    int64_t tid = jint(o, "transfer_id");
    json_decref(o);
    CHECK(tid > 0);
    set_now("2026-04-20T11:00:00+08:00");
    /* a campaign over store 0 while the transfer waits */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/task-campaigns", &o,
                         "{\"name\":\"离职后回访\",\"kind\":\"call\",\"script\":\"回访\","
                         "\"holdout_pct\":0,\"target\":{\"store_ids\":[%lld]},"
                         "\"due\":\"2026-04-25T10:00:00+08:00\"}",
                         (long long)store[0]),
                 201);
    int64_t c1 = jint(o, "id");
    json_decref(o);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks WHERE guide_id = ?1 AND created_at >= ?2",
                        dep_guide, 0),
                 0);
    for (int i = 0; i < 3; i++) {
        /* tasked, without a guide, in the departed guide's store */
        CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND"
                            " member_id = ?2 AND guide_id IS NULL",
                            c1, dep_members[i]),
                     1);
        CHECK_INT_EQ(db_int("SELECT store_id FROM guide_tasks WHERE campaign_id = ?1 AND"
                            " member_id = ?2",
                            c1, dep_members[i]),
                     store[0]);
    }
    /* the store's other members are tasked on their own guides as before */
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND guide_id IS"
                        " NULL",
                        c1, 0),
                 3);
    /* a campaign of posts: one task per active guide of the store, none for the departed */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/task-campaigns", &o,
                         "{\"name\":\"离职后朋友圈\",\"kind\":\"moments\",\"script\":\"新品\","
                         "\"target\":{\"store_ids\":[%lld]},"
                         "\"due\":\"2026-04-25T10:00:00+08:00\"}",
                         (long long)store[0]),
                 201);
    int64_t c2 = jint(o, "id");
    CHECK_INT_EQ(jint(o, "tasks"), 2);
    json_decref(o);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND guide_id = ?2",
                        c2, dep_guide),
                 0);
    /* nobody hands the departed guide a task */
    {
        int64_t any = db_int("SELECT id FROM guide_tasks WHERE campaign_id = ?1 AND guide_id IS"
                             " NULL",
                             c1, 0);
        snprintf(path, sizeof path, "/api/v1/tasks/%lld/reassign", (long long)any);
        CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{\"guide_id\":%lld}", (long long)dep_guide),
                     409);
        CHECK_STR_EQ(err_field(o), "guide_id");
        json_decref(o);
    }
    /* the bridge reports one customer moved: that member's task follows to guide 0 */
    snprintf(path, sizeof path, "/api/v1/transfers/%lld/results", (long long)tid);
    CHECK_INT_EQ(call_as(NULL, "POST", path, NULL,
                         "{\"results\":[{\"member_id\":%lld,\"state\":\"done\"}]}",
                         (long long)dep_members[0]),
                 201);
    CHECK_INT_EQ(
        db_int("SELECT guide_id FROM guide_tasks WHERE campaign_id = ?1 AND member_id = ?2", c1,
               dep_members[0]),
        guide[0]);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND guide_id IS"
                        " NULL",
                        c1, 0),
                 2);
    /* the wait ends: the other two follow too */
    set_now("2026-04-21T12:00:00+08:00");
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, NULL), 200);
    for (int i = 0; i < 3; i++)
        CHECK_INT_EQ(db_int("SELECT guide_id FROM guide_tasks WHERE campaign_id = ?1 AND"
                            " member_id = ?2",
                            c1, dep_members[i]),
                     guide[0]);
    /* a campaign after the transfer tasks the receiver directly */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/task-campaigns", &o,
                         "{\"name\":\"接手后回访\",\"kind\":\"visit\",\"script\":\"回访\","
                         "\"holdout_pct\":0,\"target\":{\"store_ids\":[%lld]},"
                         "\"due\":\"2026-04-25T10:00:00+08:00\"}",
                         (long long)store[0]),
                 201);
    int64_t c3 = jint(o, "id");
    json_decref(o);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND guide_id IS"
                        " NULL",
                        c3, 0),
                 0);
    for (int i = 0; i < 3; i++)
        CHECK_INT_EQ(db_int("SELECT guide_id FROM guide_tasks WHERE campaign_id = ?1 AND"
                            " member_id = ?2",
                            c3, dep_members[i]),
                     guide[0]);
}

/* ---- the WeCom frequency caps, shared by journeys, mass messages and campaigns ---- */

static int64_t wecom_sends(int64_t m)
{
    return db_int("SELECT count(*) FROM messages WHERE member_id = ?1 AND channel = 'wecom'"
                  " AND status NOT IN ('dead', 'failed', 'skipped')",
                  m, 0);
}

static void shared_caps(void)
{
    /* a new customer of guide 4 (store 2: no welcome campaign sends to them) */
    set_now("2026-04-22T09:10:00+08:00");
    int64_t m = add_contact(4, "wm-caps", "频控客户", "2026-04-22T09:00:00+08:00");
    char path[128];
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)m);
    CHECK_INT_EQ(call_as(NULL, "POST", path, NULL,
                         "{\"purpose\":\"marketing\",\"channel\":\"wecom\",\"granted\":true}"),
                 200);
    CHECK_INT_EQ(call_as(NULL, "PUT", "/api/v1/mass-messages/settings", NULL,
                         "{\"frequency_cap\":{\"per_day\":1,\"per_week\":7,\"per_month\":4}}"),
                 200);
    json_t *o;
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys", &o,
                         "{\"name\":\"分享后问候\",\"trigger\":{\"event\":\"live_view\"},"
                         "\"holdout_pct\":0,\"steps\":[{\"action\":\"send_message\","
                         "\"channel\":\"wecom\",\"timeout\":\"48h\",\"template\":\"感谢分享\"}]}"),
                 201);
    int64_t j = jint(o, "id");
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/activate", (long long)j);
    CHECK_INT_EQ(call_as(NULL, "POST", path, NULL, NULL), 200);
    /* 10:00 a mass message to the member */
    set_now("2026-04-23T10:00:00+08:00");
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/mass-messages", &o,
                         "{\"text\":\"上新\",\"member_ids\":[%lld]}", (long long)m),
                 201);
    CHECK_INT_EQ(jint(o, "tasks"), 1);
    json_decref(o);
    int64_t before = wecom_sends(m);
    /* 10:30 the member shares: the journey's WeCom send waits for the day's cap */
    set_now("2026-04-23T10:30:00+08:00");
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/events", NULL,
                         "{\"member_id\":%lld,\"type\":\"live_view\","
                         "\"at\":\"2026-04-23T10:30:00+08:00\"}",
                         (long long)m),
                 201);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, NULL), 200);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, NULL), 200);
    CHECK_INT_EQ(wecom_sends(m), before);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM journey_log WHERE journey_id = ?1 AND outcome ="
                        " 'deferred_frequency_cap'",
                        j, 0),
                 1);
    /* a campaign's WeCom message the same day: the member is at the cap */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/task-campaigns", &o,
                         "{\"name\":\"企微提醒\",\"kind\":\"wecom_message\",\"script\":\"提醒\","
                         "\"holdout_pct\":0,\"target\":{\"guide_ids\":[%lld]},"
                         "\"due\":\"2026-04-25T10:00:00+08:00\"}",
                         (long long)guide[4]),
                 201);
    int64_t wc = jint(o, "id");
    CHECK_INT_EQ(jint(json_object_get(o, "skipped"), "frequency_cap"), 1);
    json_decref(o);
    CHECK_INT_EQ(
        db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND member_id = ?2", wc, m),
        0);
    /* the next day, a day after the mass message: the journey's send goes */
    set_now("2026-04-24T10:05:00+08:00");
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, NULL), 200);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, NULL), 200);
    CHECK_INT_EQ(wecom_sends(m), before + 1);
    /* and now it holds back the next mass message and campaign message */
    set_now("2026-04-24T11:00:00+08:00");
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/mass-messages", &o,
                         "{\"text\":\"再上新\",\"member_ids\":[%lld]}", (long long)m),
                 201);
    CHECK_INT_EQ(jint(o, "tasks"), 0);
    CHECK_INT_EQ(jint(json_object_get(o, "skipped"), "frequency_cap"), 1);
    json_decref(o);
    /* a week's cap: two sends so far this week, room for one more with 3 a week */
    CHECK_INT_EQ(
        call_as(NULL, "PUT", "/api/v1/mass-messages/settings", NULL,
                "{\"frequency_cap\":{\"per_day\":null,\"per_week\":3,\"per_month\":null}}"),
        200);
    set_now("2026-04-25T10:00:00+08:00");
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/task-campaigns", &o,
                         "{\"name\":\"企微提醒二\",\"kind\":\"wecom_message\",\"script\":\"提醒\","
                         "\"holdout_pct\":0,\"target\":{\"guide_ids\":[%lld]},"
                         "\"due\":\"2026-04-27T10:00:00+08:00\"}",
                         (long long)guide[4]),
                 201);
    wc = jint(o, "id");
    json_decref(o);
    CHECK_INT_EQ(
        db_int("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND member_id = ?2", wc, m),
        1);
    set_now("2026-04-26T10:00:00+08:00");
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/mass-messages", &o,
                         "{\"text\":\"周末\",\"member_ids\":[%lld]}", (long long)m),
                 201);
    CHECK_INT_EQ(jint(o, "tasks"), 0);
    CHECK_INT_EQ(jint(json_object_get(o, "skipped"), "frequency_cap"), 1);
    json_decref(o);
    /* a week after the first send there is room again */
    set_now("2026-04-30T10:30:00+08:00");
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/mass-messages", &o,
                         "{\"text\":\"月末\",\"member_ids\":[%lld]}", (long long)m),
                 201);
    CHECK_INT_EQ(jint(o, "tasks"), 1);
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "PUT", "/api/v1/mass-messages/settings", NULL,
                         "{\"frequency_cap\":{\"per_day\":1,\"per_week\":7,\"per_month\":4}}"),
                 200);
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/pause", (long long)j);
    call_as(NULL, "POST", path, NULL, NULL);
}

/* ---- the console's lists and search (issue 18) ---- */

static void console_lists(void)
{
    json_t *o, *p;
    /* task campaigns: HQ sees every one, by id; a store manager HQ's and their store's */
    CHECK_INT_EQ(call_as(NULL, "GET", "/api/v1/task-campaigns?limit=100", &o, NULL), 200);
    json_t *items = json_object_get(o, "items");
    CHECK_INT_EQ((int64_t)json_array_size(items),
                 db_int("SELECT count(*) FROM task_campaigns", 0, 0));
    for (size_t i = 1; i < json_array_size(items); i++)
        CHECK(jint(json_array_get(items, i), "id") > jint(json_array_get(items, i - 1), "id"));
    json_decref(o);
    CHECK_INT_EQ(call_as(tok_mgr[0], "GET", "/api/v1/task-campaigns?limit=100", &o, NULL), 200);
    items = json_object_get(o, "items");
    CHECK_INT_EQ(
        (int64_t)json_array_size(items),
        db_int("SELECT count(*) FROM task_campaigns WHERE store_id IS NULL OR store_id = ?1",
               store[0], 0));
    CHECK(db_int("SELECT count(*) FROM task_campaigns WHERE store_id = ?1", store[2], 0) > 0);
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *sid = json_object_get(json_array_get(items, i), "store_id");
        CHECK(json_is_null(sid) || json_integer_value(sid) == store[0]);
    }
    json_decref(o);
    CHECK_INT_EQ(call_as(tok_guide[0], "GET", "/api/v1/task-campaigns", NULL, NULL), 403);
    /* a page at a time: the second page starts after the first */
    CHECK_INT_EQ(call_as(NULL, "GET", "/api/v1/task-campaigns?limit=1", &o, NULL), 200);
    char path[160];
    snprintf(path, sizeof path, "/api/v1/task-campaigns?limit=1&cursor=%s", jstr(o, "next_cursor"));
    CHECK_INT_EQ(call_as(NULL, "GET", path, &p, NULL), 200);
    CHECK(jint(json_array_get(json_object_get(p, "items"), 0), "id") >
          jint(json_array_get(json_object_get(o, "items"), 0), "id"));
    json_decref(o);
    json_decref(p);

    /* members by name: each role's scope, counted in the store itself */
    static const char *const who[] = {"admin", "manager", "guide"};
    const char *toks[] = {NULL, tok_mgr[0], tok_guide[0]};
    int64_t want[3] = {
        db_int("SELECT count(*) FROM members WHERE merged_into IS NULL AND name LIKE '%客户1-%'", 0,
               0),
        db_int("SELECT count(*) FROM members WHERE merged_into IS NULL AND name LIKE '%客户1-%'"
               " AND store_id = ?1",
               store[0], 0),
        db_int("SELECT count(*) FROM members WHERE merged_into IS NULL AND name LIKE '%客户1-%'"
               " AND guide_id = ?1",
               guide[0], 0)};
    CHECK_INT_EQ(want[0], PER_GUIDE); /* guide 1's customers, all of store 0 */
    CHECK_INT_EQ(want[1], PER_GUIDE);
    CHECK_INT_EQ(want[2], 0); /* guide 0 finds none of guide 1's customers */
    for (int r = 0; r < 3; r++) {
        CHECK_INT_EQ(
            call_as(toks[r], "GET", "/api/v1/members?name=%E5%AE%A2%E6%88%B71-&limit=50", &o, NULL),
            200);
        items = json_object_get(o, "items");
        if ((int64_t)json_array_size(items) != want[r])
            fprintf(stderr, "name search as %s: %zu, want %lld\n", who[r], json_array_size(items),
                    (long long)want[r]);
        CHECK_INT_EQ((int64_t)json_array_size(items), want[r]);
        for (size_t i = 0; i < json_array_size(items); i++)
            CHECK(strstr(jstr(json_array_get(items, i), "name"), "客户1-") != NULL);
        json_decref(o);
    }
    /* another store's manager finds none of them */
    CHECK_INT_EQ(call_as(tok_mgr[1], "GET", "/api/v1/members?name=%E5%AE%A2%E6%88%B71-", &o, NULL),
                 200);
    CHECK_INT_EQ((int64_t)json_array_size(json_object_get(o, "items")), 0);
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "GET", "/api/v1/members?name=", &o, NULL), 400);
    CHECK_STR_EQ(err_field(o), "name");
    json_decref(o);

    /* channel QR codes: HQ lists every code with its stats, a store manager their store's */
    int64_t qa = make("/api/v1/qr-codes",
                      "{\"name\":\"湖滨海报\",\"target\":{\"store_id\":%lld},"
                      "\"campaign\":\"春季\",\"cost_cents\":1000}",
                      (long long)store[0]);
    int64_t qb = make("/api/v1/qr-codes", "{\"name\":\"西溪海报\",\"target\":{\"store_id\":%lld}}",
                      (long long)store[1]);
    snprintf(path, sizeof path, "/api/v1/qr-codes/%lld/scan", (long long)qa);
    CHECK_INT_EQ(call_as(NULL, "POST", path, NULL, "{\"external_userid\":\"wm-qr-1\"}") / 100, 2);
    CHECK_INT_EQ(call_as(NULL, "GET", "/api/v1/qr-codes?limit=100", &o, NULL), 200);
    items = json_object_get(o, "items");
    CHECK_INT_EQ((int64_t)json_array_size(items), db_int("SELECT count(*) FROM qr_codes", 0, 0));
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *row = json_array_get(items, i);
        snprintf(path, sizeof path, "/api/v1/qr-codes/%lld/stats", (long long)jint(row, "id"));
        CHECK_INT_EQ(call_as(NULL, "GET", path, &p, NULL), 200);
        const char *keys[] = {"scans",       "contacts_added", "new_members", "first_orders_30d",
                              "sales_cents", "cost_cents"};
        for (int k = 0; k < 6; k++)
            CHECK_INT_EQ(jint(row, keys[k]), jint(p, keys[k]));
        if (jint(row, "id") == qa) {
            CHECK_STR_EQ(jstr(row, "name"), "湖滨海报");
            CHECK_INT_EQ(jint(row, "scans"), 1);
        }
        json_decref(p);
    }
    json_decref(o);
    CHECK_INT_EQ(call_as(tok_mgr[1], "GET", "/api/v1/qr-codes?limit=100", &o, NULL), 200);
    items = json_object_get(o, "items");
    CHECK_INT_EQ((int64_t)json_array_size(items), 1);
    CHECK_INT_EQ(jint(json_array_get(items, 0), "id"), qb);
    json_decref(o);
    CHECK_INT_EQ(call_as(tok_guide[0], "GET", "/api/v1/qr-codes", NULL, NULL), 403);

    /* the products report's concentration alone = the same figures of the whole report */
    const char *q = "/api/v1/reports/products?from=2026-01-01&to=2026-12-31&top=1000";
    CHECK_INT_EQ(call_as(NULL, "GET", q, &o, NULL), 200);
    snprintf(path, sizeof path, "%s&part=concentration", q);
    CHECK_INT_EQ(call_as(NULL, "GET", path, &p, NULL), 200);
    const char *same[] = {"net_sales_cents", "skus_sold",      "skus_for_80pct", "top_2pct_skus",
                          "top_20pct_skus",  "top_2pct_share", "best_sellers"};
    for (int k = 0; k < 7; k++)
        CHECK(json_equal(json_object_get(o, same[k]), json_object_get(p, same[k])));
    CHECK(json_array_size(json_object_get(o, "best_sellers")) > 0);
    CHECK(json_object_get(p, "best_sellers_by_store") == NULL);
    CHECK(json_object_get(p, "bought_together") == NULL);
    json_decref(o);
    json_decref(p);
    snprintf(path, sizeof path, "%s&part=baskets", q);
    CHECK_INT_EQ(call_as(NULL, "GET", path, &o, NULL), 400);
    CHECK_STR_EQ(err_field(o), "part");
    json_decref(o);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_tasks PATH_TO_SIYU\n");
        return 2;
    }
    snprintf(clock_path, sizeof clock_path, "/tmp/siyu-clock-tasks-%d", (int)getpid());
    set_now("2026-03-02T10:00:00+08:00");
    setenv("SIYU_NOW_FILE", clock_path, 1);
    setenv("SIYU_TICK_SECONDS", "0", 1);
    setenv("SIYU_SWEEP_SECONDS", "0", 1);
    pid_t server = harness_start(argv[1]);
    fd = conn_open();
    chain();
    campaign();
    manager_scope();
    lifecycle();
    uplift();
    mass_messages();
    content();
    workbench();
    leaderboard();
    recurring();
    departed();
    shared_caps();
    console_lists();
    close(fd);
    CHECK_INT_EQ(harness_stop(server), 0);
    unlink(clock_path);
    return CHECK_DONE();
}
