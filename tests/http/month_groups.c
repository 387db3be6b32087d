/* month_groups.c — communities (docs/communities.md) through the month.
 *
 * The customers are strangers in their groups all month (no member has their WeCom ids);
 * they register at the end, after the last tick, and become members then.
 *
 * Setup: a new guide of the first store becomes the WeCom owner "month-owner"; one group of the
 * theme "month" is opened, and a join code for the store's "month" groups with a cap of 30.
 * Every day at 10:00 a few new customers scan the code and join the group it seats them in
 * (a full code answers 503 and the bridge opens the next group); some customers quit; about
 * a third of those in a group send a day's message count (some sent twice, the second
 * replacing the first); and a few of them order, some of a promoted SKU, one in five refunded
 * whole (placed at the end, dated when planned, so the core's journeys never see them). A
 * group sale session over the whole month promotes two SKUs in every month group.
 *
 * Check (line "G"): each group's day statistics equal the counts this file kept from what it
 * sent; no group holds more customers than the code's cap; the session's orders and sales
 * equal the orders this file placed for customers while they were in a group, net of the
 * refunded ones; replaying a day's events changes nothing.
 *
 * The groups report from the group view equals the SQL path's (source=sql) every fourth day
 * and at the end, once the orders, refunds and registrations are in.
 *
 * A group SOP posts to the store's "month" groups weekly at 10:30, from the second day:
 * each slot has exactly one group_post task per month group opened before the next slot
 * (the tick keeps the latest slot until the next one), on the owner, none twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "month.h"

#define CAP 30
#define MAX_PEOPLE 2000
#define MAX_GROUPS 64
#define MAX_DAYS 400

static int ck;
static month_rng rng;
static int64_t store_id, guide_id, code_id, sale_id, sop_id, sop_campaign;
static int64_t opened_at[MAX_GROUPS];
static int n_groups;
static char chats[MAX_GROUPS][32];
static int64_t group_ids[MAX_GROUPS];
static struct person {
    int64_t member;
    int group; /* index into chats, -1 when out */
} people[MAX_PEOPLE];
static int n_people;
/* tallies per group and day of the month */
static int joins[MAX_GROUPS][MAX_DAYS], quits[MAX_GROUPS][MAX_DAYS],
    members_end[MAX_GROUPS][MAX_DAYS], speakers[MAX_GROUPS][MAX_DAYS];
static int64_t messages[MAX_GROUPS][MAX_DAYS];
static int64_t want_orders, want_sales;
static char last_day_events[1 << 16];

static bool post_events(const char *body)
{
    int st = month_call("POST", "/api/v1/groups/events", NULL, "%s", body);
    month_seen(ck);
    if (st != 200 && st != 201) {
        month_fail(ck, "POST /groups/events answered %d: %.200s — %.200s", st, month_body(), body);
        return false;
    }
    return true;
}

static void open_group(void)
{
    if (n_groups == MAX_GROUPS) return;
    snprintf(chats[n_groups], sizeof chats[n_groups], "month-chat-%d", n_groups + 1);
    char body[512];
    snprintf(body, sizeof body,
             "{\"event\":\"group_created\",\"chat_id\":\"%s\",\"owner_userid\":\"month-owner\","
             "\"store_id\":%lld,\"theme\":\"month\",\"cap\":200,\"at\":\"%s\"}",
             chats[n_groups], (long long)store_id, month_T(month_now()));
    if (!post_events(body)) return;
    group_ids[n_groups] =
        month_q1("SELECT id FROM chat_groups WHERE chat_id = 'month-chat-' || ?1", n_groups + 1, 0);
    opened_at[n_groups] = month_now();
    n_groups++;
}

static void setup(void)
{
    ck = month_check_kind("G communities: group stats, caps and a sale session");
    month_rng_init(&rng, "groups");
    /* the group owner: a guide of its own, so the core's guides and their contacts are
     * left as they are */
    store_id = month_q1("SELECT min(store_id) FROM staff WHERE role = 'guide' AND ?1 = ?1", 0, 0);
    json_t *g = NULL;
    month_seen(ck);
    if (month_call("POST", "/api/v1/staff", &g,
                   "{\"name\":\"月测群主\",\"role\":\"guide\",\"store_id\":%lld}",
                   (long long)store_id) != 201) {
        month_fail(ck, "POST /staff: %.200s", month_body());
        json_decref(g);
        return;
    }
    guide_id = month_jint(g, "id");
    json_decref(g);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/staff/%lld", (long long)guide_id);
    month_seen(ck);
    if (month_call("PATCH", path, NULL, "{\"wecom_userid\":\"month-owner\"}") != 200) {
        month_fail(ck, "PATCH %s: %.200s", path, month_body());
        return;
    }
    open_group();
    json_t *o = NULL;
    month_seen(ck);
    if (month_call("POST", "/api/v1/group-codes", &o,
                   "{\"store_id\":%lld,\"theme\":\"month\",\"cap\":%d}", (long long)store_id,
                   CAP) != 201)
        month_fail(ck, "POST /group-codes: %.200s", month_body());
    code_id = month_jint(o, "id");
    json_decref(o);
    /* the SOP: weekly from the month's second day, 10:30 */
    int64_t day1 = month_local_day(month_start()) + 1;
    int weekday = (int)(((day1 % 7) + 7 + 3) % 7) + 1;
    o = NULL;
    month_seen(ck);
    if (month_call("POST", "/api/v1/group-sops", &o,
                   "{\"store_id\":%lld,\"theme\":\"month\",\"schedule\":{\"weekday\":%d,"
                   "\"time\":\"10:30\"},\"text\":\"本周上新 month\",\"name\":\"month SOP\"}",
                   (long long)store_id, weekday) != 201)
        month_fail(ck, "POST /group-sops: %.200s", month_body());
    sop_id = month_jint(o, "id");
    sop_campaign = month_jint(o, "campaign_id");
    json_decref(o);
}

/* The SOP's slots against the groups this file opened: one task per group opened before
 * the next slot, on the owner, never twice. */
static void check_sop(void)
{
    if (!sop_id) return;
    int64_t first = (month_local_day(month_start()) + 1) * 86400 - 8 * 3600 + 630 * 60;
    int slots = 0;
    for (int64_t s = first; s <= month_now(); s += 7 * 86400, slots++) {
        int64_t next = s + 7 * 86400, want = 0;
        for (int g = 0; g < n_groups; g++)
            want += opened_at[g] < next && opened_at[g] <= month_now();
        char round[16];
        snprintf(round, sizeof round, "%.10s", month_T(s));
        int64_t day = month_local_day(s);
        char sql[160]; /* the round is the slot's local date */
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND round = '%s' AND "
                 "?2 = ?2",
                 round);
        int64_t got = month_q1(sql, sop_campaign, 0);
        month_seen(ck);
        if (got != want)
            month_fail(ck,
                       "SOP slot %s (day %lld): %lld group_post tasks, %lld groups opened "
                       "before the next slot",
                       round, (long long)day, (long long)got, (long long)want);
    }
    month_seen(ck);
    int64_t dup = month_q1("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND "
                           "(guide_id <> ?2 OR kind <> 'group_post' OR member_id IS NOT NULL OR "
                           "group_id IS NULL)",
                           sop_campaign, guide_id);
    if (dup) month_fail(ck, "SOP: %lld tasks not a group post on the owner", (long long)dup);
    int64_t total = month_q1("SELECT count(*) - count(DISTINCT round || '/' || group_id) FROM "
                             "guide_tasks WHERE campaign_id = ?1 AND ?2 = ?2",
                             sop_campaign, 0);
    month_seen(ck);
    if (total) month_fail(ck, "SOP: %lld tasks twice for a group and slot", (long long)total);
    (void)slots;
}

static int day_index(void)
{
    return (int)(month_local_day(month_now()) - month_local_day(month_start()));
}

/* A new customer scans the code and joins where it seats them (or the bridge opens the next
 * group when every one is full, and the customer scans again). */
static void newcomer(int d, char *events, size_t cap, size_t *n)
{
    if (n_people == MAX_PEOPLE) return;
    struct person *p = &people[n_people];
    char body[256], path[64];
    int k = n_people, st;
    json_t *o = NULL;
    snprintf(path, sizeof path, "/api/v1/group-codes/%lld/scan", (long long)code_id);
    snprintf(body, sizeof body, "{\"external_userid\":\"mg-%d\"}", k);
    for (int attempt = 0; attempt < 2; attempt++) {
        st = month_call("POST", path, &o, "%s", body);
        month_seen(ck);
        if (st == 503) {
            json_decref(o);
            open_group(); /* the bridge answers the request */
            continue;
        }
        if (st != 201 && st != 200) {
            month_fail(ck, "scan: %d %.200s", st, month_body());
            json_decref(o);
            return;
        }
        const char *chat = json_string_value(month_jget(o, "chat_id"));
        int g = -1;
        for (int i = 0; i < n_groups; i++)
            if (chat && strcmp(chats[i], chat) == 0) g = i;
        json_decref(o);
        if (g < 0) return;
        *n += (size_t)snprintf(events + *n, cap - *n,
                               "%s{\"event\":\"member_joined\",\"chat_id\":\"%s\","
                               "\"external_userid\":\"mg-%d\",\"join_scene\":\"qr\","
                               "\"state\":\"gc-%lld\",\"at\":\"%s\"}",
                               *n > 11 ? "," : "", chats[g], k, (long long)code_id,
                               month_T(month_now()));
        p->group = g;
        joins[g][d]++;
        n_people++;
        return;
    }
}

/* Orders are placed at the end of the month (in check, after the last tick), dated when
 * they were planned: the core's journeys see none of them, so its own expectations of who
 * exits on an order stay its own. Each is planned with whether its customer was in a group
 * at that instant. */
#define MAX_ORDERS 4000
static struct planned {
    int person;
    int64_t at;
    bool promoted, in_group, refund;
    int qty, price;
} planned[MAX_ORDERS];
static int n_planned;

static void plan_order(int k)
{
    if (n_planned == MAX_ORDERS) return;
    struct planned *o = &planned[n_planned++];
    o->person = k;
    o->at = month_now() + 120; /* after the day's joins (at +0) and quits (at +60) */
    o->promoted = month_chance(&rng, 0.6);
    o->in_group = people[k].group >= 0;
    o->refund = month_chance(&rng, 0.2);
    o->qty = 1 + (int)month_uniform(&rng, 3);
    o->price = 500 + 100 * (int)month_uniform(&rng, 10);
}

static void place_orders(void)
{
    /* the customers register now: strangers in their groups all month, they become members
     * by their WeCom ids (after the last tick: the core's journeys never meet them) */
    for (int k = 0; k < n_people; k++) {
        json_t *o = NULL;
        int st = month_call("POST", "/api/v1/members", &o,
                            "{\"phone\":\"1977%07d\",\"wecom_external_id\":\"mg-%d\","
                            "\"guide_id\":%lld,\"joined_at\":\"%s\"}",
                            k, k, (long long)guide_id, month_T(month_start()));
        people[k].member = month_jint(o, "id");
        json_decref(o);
        month_seen(ck);
        if (st != 201) month_fail(ck, "POST /members for mg-%d: %d %.200s", k, st, month_body());
    }
    for (int i = 0; i < n_planned; i++) {
        struct planned *p = &planned[i];
        char ext[32];
        snprintf(ext, sizeof ext, "MG-%d", i + 1);
        json_t *o = NULL;
        int st = month_call(
            "POST", "/api/v1/orders", &o,
            "{\"channel\":\"store\",\"external_id\":\"%s\",\"store_id\":%lld,\"member_id\":%lld,"
            "\"placed_at\":\"%s\",\"total_cents\":%d,\"items\":[{\"sku\":\"%s\",\"qty\":%d,"
            "\"unit_price_cents\":%d}]}",
            ext, (long long)store_id, (long long)people[p->person].member, month_T(p->at),
            p->qty * p->price, p->promoted ? "MONTH-GROUP-A" : "MONTH-OTHER", p->qty, p->price);
        int64_t id = month_jint(o, "id");
        json_decref(o);
        month_seen(ck);
        if (st != 201) {
            month_fail(ck, "order %s: %d %.200s", ext, st, month_body());
            continue;
        }
        if (p->refund) {
            char path[64];
            snprintf(path, sizeof path, "/api/v1/orders/%lld/refunds", (long long)id);
            st = month_call("POST", path, NULL,
                            "{\"external_id\":\"R%s\",\"amount_cents\":%d,\"at\":\"%s\"}", ext,
                            p->qty * p->price, month_T(month_now()));
            if (st != 201) month_fail(ck, "refund %s: %d %.200s", ext, st, month_body());
        }
        /* an erased member's orders name nobody a group can be matched to (docs/privacy.md) */
        bool erased = month_erased_at(people[p->person].member) != 0;
        if (p->promoted && !p->refund && p->in_group && !erased) {
            want_orders++;
            want_sales += (int64_t)p->qty * p->price;
        }
    }
}

static int last_day = -1;

/* The groups report from siyu's group view equals the SQL path's (source=sql) over the
 * month so far, the last week with within_days, and the store's scope. */
static void view_equals_sql(void)
{
    char from[16], week[16], to[16];
    snprintf(from, sizeof from, "%.10s", month_T(month_start()));
    snprintf(week, sizeof week, "%.10s", month_T(month_now() - 6 * 86400));
    snprintf(to, sizeof to, "%.10s", month_T(month_now()));
    const char *const forms[] = {"from=%s&to=%s", "from=%s&to=%s&within_days=3",
                                 "from=%s&to=%s&store=%lld"};
    for (int k = 0; k < 3; k++) {
        char q[160], path[240];
        snprintf(q, sizeof q, forms[k], k == 1 ? week : from, to, (long long)store_id);
        json_t *a = NULL, *b = NULL;
        snprintf(path, sizeof path, "/api/v1/reports/groups?%s", q);
        int sa = month_call("GET", path, &a, NULL);
        snprintf(path, sizeof path, "/api/v1/reports/groups?%s&source=sql", q);
        int sb = month_call("GET", path, &b, NULL);
        month_seen(ck);
        if (sa != 200 || sb != 200 || !json_equal(a, b)) {
            char *x = a ? json_dumps(a, JSON_COMPACT) : NULL,
                 *y = b ? json_dumps(b, JSON_COMPACT) : NULL;
            month_fail(ck, "groups report %s: view %d %.300s, SQL %d %.300s", q, sa, x ? x : "", sb,
                       y ? y : "");
            free(x);
            free(y);
        }
        json_decref(a);
        json_decref(b);
    }
}

static void act(int day, int minute)
{
    if (minute != 10 * 60 || !code_id) return;
    int d = day_index();
    if (d < 0 || d >= MAX_DAYS) return;
    last_day = d;
    static char events[1 << 16];
    size_t n = (size_t)snprintf(events, sizeof events, "{\"events\":[");
    int arrivals = 2 + (int)month_uniform(&rng, 4);
    for (int i = 0; i < arrivals; i++)
        newcomer(d, events, sizeof events, &n);
    for (int k = 0; k < n_people; k++) {
        struct person *p = &people[k];
        if (p->group < 0) continue;
        if (month_chance(&rng, 0.03)) {
            n += (size_t)snprintf(events + n, sizeof events - n,
                                  "%s{\"event\":\"member_quit\",\"chat_id\":\"%s\","
                                  "\"external_userid\":\"mg-%d\",\"quit_scene\":\"left\","
                                  "\"at\":\"%s\"}",
                                  n > 11 ? "," : "", chats[p->group], k, month_T(month_now() + 60));
            quits[p->group][d]++;
            p->group = -1;
            continue;
        }
        if (month_chance(&rng, 0.33)) {
            int m = (int)month_uniform(&rng, 25), again = (int)month_uniform(&rng, 25);
            bool twice = month_chance(&rng, 0.2);
            char date[16];
            snprintf(date, sizeof date, "%.10s", month_T(month_now()));
            for (int t = 0; t <= (int)twice; t++)
                n += (size_t)snprintf(events + n, sizeof events - n,
                                      "%s{\"event\":\"activity\",\"chat_id\":\"%s\","
                                      "\"external_userid\":\"mg-%d\",\"day\":\"%s\","
                                      "\"messages\":%d}",
                                      n > 11 ? "," : "", chats[p->group], k, date, t ? again : m);
            int final = twice ? again : m;
            speakers[p->group][d] += final > 0;
            messages[p->group][d] += final;
        }
        if (n + 4096 > sizeof events) break;
    }
    snprintf(events + n, sizeof events - n, "]}");
    if (n > 12) {
        post_events(events);
        snprintf(last_day_events, sizeof last_day_events, "%s", events);
    }
    for (int g = 0; g < n_groups; g++)
        for (int k = 0; k < n_people; k++)
            members_end[g][d] += people[k].group == g;
    /* two orders a day, two minutes after the day's events: a customer in a group, or one
     * who left (placed at the end, see place_orders) */
    for (int i = 0; i < 2 && n_people; i++)
        plan_order((int)month_uniform(&rng, n_people));
    if (d % 4 == 3) view_equals_sql();
}

static void check(void)
{
    if (!code_id || !n_groups) return;
    check_sop();
    int days = last_day + 1; /* the days this file acted on */
    char from[16], to[16];
    snprintf(from, sizeof from, "%.10s", month_T(month_start()));
    snprintf(to, sizeof to, "%.10s", month_T(month_now()));
    /* a replay of the last day's events changes nothing */
    if (last_day_events[0]) post_events(last_day_events);
    for (int g = 0; g < n_groups; g++) {
        char path[200];
        snprintf(path, sizeof path, "/api/v1/groups/%lld/stats?from=%s&to=%s",
                 (long long)group_ids[g], from, to);
        json_t *o = NULL;
        int st = month_call("GET", path, &o, NULL);
        month_seen(ck);
        if (st != 200) {
            month_fail(ck, "GET %s: %d %.200s", path, st, month_body());
            json_decref(o);
            continue;
        }
        json_t *items = month_jget(o, "items");
        int bad = 0;
        for (int d = 0; d < days && d < (int)json_array_size(items); d++) {
            json_t *r = json_array_get(items, (size_t)d);
            if (month_jint(r, "new_members") != joins[g][d] ||
                month_jint(r, "quits") != quits[g][d] ||
                month_jint(r, "members") != members_end[g][d] ||
                month_jint(r, "speakers") != speakers[g][d] ||
                month_jint(r, "messages") != messages[g][d]) {
                if (bad++ < 3)
                    month_fail(ck,
                               "group %s day %d: siyu %lld/%lld/%lld/%lld/%lld, sent "
                               "%d/%d/%d/%d/%lld (joins/quits/members/speakers/messages)",
                               chats[g], d, (long long)month_jint(r, "new_members"),
                               (long long)month_jint(r, "quits"),
                               (long long)month_jint(r, "members"),
                               (long long)month_jint(r, "speakers"),
                               (long long)month_jint(r, "messages"), joins[g][d], quits[g][d],
                               members_end[g][d], speakers[g][d], (long long)messages[g][d]);
            }
        }
        json_decref(o);
        int64_t live = month_q1("SELECT count(*) FROM chat_group_members WHERE group_id = ?1 AND "
                                "quit_at IS NULL AND is_staff = 0",
                                group_ids[g], 0);
        month_seen(ck);
        if (live > CAP)
            month_fail(ck, "group %s holds %lld customers, over the cap %d", chats[g],
                       (long long)live, CAP);
    }
    /* the session over the month, every month group */
    place_orders();
    view_equals_sql(); /* with the month's orders, refunds and members in */
    char ids[512];
    size_t n = 0;
    for (int g = 0; g < n_groups; g++)
        n += (size_t)snprintf(ids + n, sizeof ids - n, "%s%lld", g ? "," : "",
                              (long long)group_ids[g]);
    json_t *o = NULL;
    int st = month_call("POST", "/api/v1/group-sales", &o,
                        "{\"group_ids\":[%s],\"from\":\"%s\",\"to\":\"%s\",\"skus\":"
                        "[\"MONTH-GROUP-A\",\"MONTH-GROUP-B\"],\"name\":\"month\"}",
                        ids, month_T(month_start()), month_T(month_now() + 3600));
    month_seen(ck);
    if (st != 201) {
        month_fail(ck, "POST /group-sales: %d %.200s", st, month_body());
        json_decref(o);
        return;
    }
    sale_id = month_jint(o, "id");
    json_decref(o);
    char path[80];
    snprintf(path, sizeof path, "/api/v1/group-sales/%lld/report", (long long)sale_id);
    st = month_call("GET", path, &o, NULL);
    month_seen(ck);
    if (st != 200 || month_jint(o, "orders") != want_orders ||
        month_jint(o, "sales_cents") != want_sales) {
        month_fail(ck,
                   "the session: %d, siyu %lld orders %lld cents, placed %lld orders %lld cents",
                   st, (long long)month_jint(o, "orders"), (long long)month_jint(o, "sales_cents"),
                   (long long)want_orders, (long long)want_sales);
        /* name the orders of customers this file had in a group and the store has not */
        for (int i = 0; i < n_planned; i++) {
            struct planned *p = &planned[i];
            if (!p->promoted || p->refund || !p->in_group ||
                month_erased_at(people[p->person].member))
                continue;
            int64_t in = month_q1("SELECT count(*) FROM chat_group_members WHERE person = 'mg-' || "
                                  "?1 AND joined_at <= ?2 AND (quit_at IS NULL OR quit_at > ?2)",
                                  p->person, p->at);
            if (in != 1)
                month_fail(ck, "order MG-%d of customer mg-%d at %s: %lld stints around it", i + 1,
                           p->person, month_T(p->at), (long long)in);
        }
    }
    json_decref(o);
}

const month_participant month_groups = {"groups", setup, act, check, NULL};
