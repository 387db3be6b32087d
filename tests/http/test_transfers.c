/* test_transfers.c — staff lifecycle and customer transfers against the real server
 * (docs/guides.md): a departed guide's 1 000 customers move to two guides under a
 * capacity, the bridge reports some results and the wait ends the rest; credit moves at
 * completion and not before, and the old guide's past sales stay the same in every
 * report. The 90-day rule of on-job transfers, store history, scope, `siyu check`.
 * The test owns the clock (SIYU_NOW_FILE).
 * Run: test_transfers PATH_TO_SIYU */
#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "harness.h"
#include "calls.h"

static pid_t server;
static char clock_path[128];
static char now_text[40];

static void set_now(const char *rfc3339)
{
    FILE *f = fopen(clock_path, "w");
    fprintf(f, "%s\n", rfc3339);
    fclose(f);
    snprintf(now_text, sizeof now_text, "%s", rfc3339);
}

static void set_userid(int64_t staff, const char *uid)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/staff/%lld", (long long)staff);
    CHECK_INT_EQ(call_as(NULL, "PATCH", path, NULL, "{\"wecom_userid\":\"%s\"}", uid), 200);
}

#define CUSTOMERS 1000
#define EDGES 990 /* customers with a WeCom edge; the rest are bound only */
#define CAPACITY 450

static int64_t store1, store2, ga, gb, gc, gf, gg, mgr1, mgr2;
static char tok_a[80], tok_mgr1[80], tok_mgr2[80];
static int64_t cust[CUSTOMERS];
static int order_seq;

static void chain(void)
{
    store1 = make("/api/v1/stores", "{\"name\":\"湖滨店\",\"code\":\"S1\",\"kind\":\"physical\"}");
    store2 = make("/api/v1/stores", "{\"name\":\"西溪店\",\"code\":\"S2\",\"kind\":\"physical\"}");
    const char *staff = "{\"name\":\"%s\",\"role\":\"%s\",\"store_id\":%lld}";
    ga = make("/api/v1/staff", staff, "王芳", "guide", (long long)store1);
    gb = make("/api/v1/staff", staff, "李娜", "guide", (long long)store1);
    gc = make("/api/v1/staff", staff, "张伟", "guide", (long long)store1);
    gf = make("/api/v1/staff", staff, "赵敏", "guide", (long long)store1);
    gg = make("/api/v1/staff", staff, "钱进", "guide", (long long)store1);
    mgr1 = make("/api/v1/staff", staff, "M1", "store_manager", (long long)store1);
    mgr2 = make("/api/v1/staff", staff, "M2", "store_manager", (long long)store2);
    set_userid(ga, "guide-a");
    set_userid(gb, "guide-b");
    set_userid(gc, "guide-c");
    set_userid(gf, "guide-f");
    set_userid(gg, "guide-g");
    make_token(ga, tok_a);
    make_token(mgr1, tok_mgr1);
    make_token(mgr2, tok_mgr2);
}

/* Guide A's customers: EDGES added through WeCom events (members created, bound to A),
 * the rest bound to A without an edge. */
static void customers(void)
{
    for (int b = 0; b < EDGES; b += 100) {
        size_t cap = 200000, n = 0;
        char *body = malloc(cap);
        n += (size_t)snprintf(body + n, cap - n, "{\"events\":[");
        for (int i = b; i < b + 100 && i < EDGES; i++)
            n += (size_t)snprintf(body + n, cap - n,
                                  "%s{\"event\":\"add_external_contact\",\"userid\":\"guide-a\","
                                  "\"external_userid\":\"wm-a-%d\",\"at\":\"%s\"}",
                                  i > b ? "," : "", i, now_text);
        snprintf(body + n, cap - n, "]}");
        json_t *o;
        CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/wecom/events", &o, "%s", body), 201);
        free(body);
        json_t *res = json_object_get(o, "results");
        for (int i = b; i < b + 100 && i < EDGES; i++)
            cust[i] = jint(json_array_get(res, (size_t)(i - b)), "member_id");
        json_decref(o);
    }
    for (int i = EDGES; i < CUSTOMERS; i++)
        cust[i] =
            make("/api/v1/members", "{\"phone\":\"139%08d\",\"store_id\":%lld,\"guide_id\":%lld}",
                 i, (long long)store1, (long long)ga);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM members WHERE guide_id = ?1", ga, 0), CUSTOMERS);
}

/* An order for member m now, credited by the server (no guide named). Returns its id. */
static int64_t order(int64_t m, int64_t cents)
{
    json_t *o;
    int st = call_as(NULL, "POST", "/api/v1/orders", &o,
                     "{\"channel\":\"store\",\"external_id\":\"T%d\",\"store_id\":%lld,"
                     "\"placed_at\":\"%s\",\"total_cents\":%lld,\"member_id\":%lld,"
                     "\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":%lld}]}",
                     ++order_seq, (long long)store1, now_text, (long long)cents, (long long)m,
                     (long long)cents);
    CHECK_INT_EQ(st, 201);
    int64_t id = jint(o, "id");
    json_decref(o);
    return id;
}

static int64_t order_guide(int64_t id)
{
    return db_int("SELECT guide_id FROM orders WHERE id = ?1", id, 0);
}

/* A's figures in every report over March: KPI filtered to A, the guide leaderboard's row
 * for A, and the leaderboard by store's row for store 1 restricted to A. */
typedef struct figures {
    int64_t kpi_net, kpi_orders, board_net, board_orders, store_net;
} figures;

static figures a_figures(void)
{
    figures f = {0};
    json_t *o;
    char path[256];
    snprintf(path, sizeof path, "/api/v1/reports/kpi?from=2026-03-01&to=2026-03-31&guide=%lld",
             (long long)ga);
    CHECK_INT_EQ(call_as(NULL, "GET", path, &o, NULL), 200);
    json_t *cur = json_object_get(o, "current");
    f.kpi_net = jint(cur, "net_sales_cents");
    f.kpi_orders = jint(cur, "orders");
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "GET",
                         "/api/v1/reports/leaderboard?from=2026-03-01&to=2026-03-31&by=guide", &o,
                         NULL),
                 200);
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(o, "items"), i, row) if (jint(row, "guide_id") == ga)
    {
        f.board_net = jint(row, "net_sales_cents");
        f.board_orders = jint(row, "orders");
    }
    json_decref(o);
    snprintf(path, sizeof path,
             "/api/v1/reports/leaderboard?from=2026-03-01&to=2026-03-31&by=store&guide=%lld",
             (long long)ga);
    CHECK_INT_EQ(call_as(NULL, "GET", path, &o, NULL), 200);
    json_array_foreach(json_object_get(o, "items"), i, row) if (jint(row, "store_id") == store1)
        f.store_net = jint(row, "net_sales_cents");
    json_decref(o);
    return f;
}

/* The 90-day rule: two on-job moves of a member, a third refused as `limit`; departed
 * transfers are not limited; 90 days later on-job moves are allowed again. */
static int64_t limited; /* the member moved twice on the job */

static int64_t transfer(const char *tok, int want, const char *fmt, ...)
{
    char body[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    json_t *o;
    int st = call_as(tok, "POST", "/api/v1/transfers", &o, "%s", body);
    if (st != want) CHECK_FAIL_("POST /transfers %s: %d %s (want %d)", body, st, buf, want);
    int64_t id = st == 201 ? jint(o, "id") : 0;
    json_decref(o);
    return id;
}

static json_t *get_transfer(int64_t id, const char *query)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/transfers/%lld%s", (long long)id, query ? query : "");
    json_t *o;
    CHECK_INT_EQ(call_as(NULL, "GET", path, &o, NULL), 200);
    return o;
}

static void result(int64_t tid, int64_t m, const char *state, int want)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/transfers/%lld/results", (long long)tid);
    int st = call_as(NULL, "POST", path, NULL,
                     "{\"results\":[{\"member_id\":%lld,\"state\":\"%s\"}]}", (long long)m, state);
    if (st != want)
        CHECK_FAIL_("result %lld %s: %d %s (want %d)", (long long)m, state, st, buf, want);
}

static void ninety_days(void)
{
    limited = make("/api/v1/members",
                   "{\"phone\":\"13700000001\",\"store_id\":%lld,"
                   "\"guide_id\":%lld}",
                   (long long)store1, (long long)gf);
    int64_t t1 = transfer(NULL, 201,
                          "{\"from_guide_id\":%lld,\"to_guide_ids\":[%lld],\"member_ids\":[%lld],"
                          "\"kind\":\"on_job\"}",
                          (long long)gf, (long long)gg, (long long)limited);
    json_t *o = get_transfer(t1, NULL);
    CHECK_INT_EQ(jint(json_object_get(o, "counts"), "waiting"), 1);
    CHECK_STR_EQ(jstr(o, "state"), "waiting");
    json_decref(o);
    /* waiting: the member is still F's */
    CHECK_INT_EQ(db_int("SELECT guide_id FROM members WHERE id = ?1", limited, 0), gf);
    result(t1, limited, "done", 201);
    CHECK_INT_EQ(db_int("SELECT guide_id FROM members WHERE id = ?1", limited, 0), gg);
    result(t1, limited, "done", 200);    /* the same result again: a replay */
    result(t1, limited, "refused", 409); /* another one: a conflict */
    int64_t t2 = transfer(NULL, 201,
                          "{\"from_guide_id\":%lld,\"to_guide_ids\":[%lld],\"member_ids\":[%lld],"
                          "\"kind\":\"on_job\"}",
                          (long long)gg, (long long)gf, (long long)limited);
    result(t2, limited, "done", 201);
    int64_t t3 = transfer(NULL, 201,
                          "{\"from_guide_id\":%lld,\"to_guide_ids\":[%lld],\"member_ids\":[%lld],"
                          "\"kind\":\"on_job\"}",
                          (long long)gf, (long long)gg, (long long)limited);
    o = get_transfer(t3, NULL);
    json_t *it = json_array_get(json_object_get(o, "items"), 0);
    CHECK_STR_EQ(jstr(it, "state"), "failed");
    CHECK_STR_EQ(jstr(it, "reason"), "limit");
    CHECK_STR_EQ(jstr(o, "state"), "finished");
    json_decref(o);
    CHECK_INT_EQ(db_int("SELECT guide_id FROM members WHERE id = ?1", limited, 0), gf);

    /* bad transfers name the field and write nothing */
    long long before = db_int("SELECT count(*) FROM transfers", 0, 0);
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"from_guide_id\":%lld,\"to_guide_ids\":[%lld],\"kind\":\"on_job\"}", "member_ids"},
        {"{\"from_guide_id\":%lld,\"to_guide_ids\":[%lld],\"all\":true,\"kind\":\"gone\"}", "kind"},
        {"{\"from_guide_id\":%lld,\"to_guide_ids\":[%lld],\"all\":true,\"kind\":\"departed\"}",
         "kind"},
        {"{\"from_guide_id\":%lld,\"to_guide_ids\":[%lld, 99999],\"all\":true,\"kind\":\"on_job\"}",
         "to_guide_ids"},
        {"{\"from_guide_id\":%lld,\"to_guide_ids\":[%lld],\"member_ids\":[1],\"kind\":\"on_job\"}",
         "member_ids"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char body[512];
        snprintf(body, sizeof body, bad[i].body, (long long)gf, (long long)gg);
        int st = call_as(NULL, "POST", "/api/v1/transfers", &o, "%s", body);
        if (st < 400 || st >= 500 || !err_field(o) || strcmp(err_field(o), bad[i].field) != 0)
            CHECK_FAIL_("%s: %d %s (want field %s)", body, st, buf, bad[i].field);
        json_decref(o);
    }
    CHECK_INT_EQ(db_int("SELECT count(*) FROM transfers", 0, 0), before);
    /* a store manager of another store may not move store 1's customers */
    transfer(tok_mgr2, 403,
             "{\"from_guide_id\":%lld,\"to_guide_ids\":[%lld],\"all\":true,\"kind\":\"on_job\"}",
             (long long)gf, (long long)gg);
}

static void departure(void)
{
    CHECK_INT_EQ(call_as(NULL, "PUT", "/api/v1/guides/settings", NULL,
                         "{\"max_contacts_per_guide\":%d}", CAPACITY),
                 200);
    /* B already has one customer: B takes CAPACITY - 1, C takes CAPACITY */
    int64_t bm = make("/api/v1/members",
                      "{\"phone\":\"13700000002\",\"store_id\":%lld,"
                      "\"guide_id\":%lld}",
                      (long long)store1, (long long)gb);
    (void)bm;
    /* past sales: one order for each of the first 100 customers, 100 + i yuan */
    int64_t past = 0;
    for (int i = 0; i < 100; i++) {
        int64_t id = order(cust[i], 10000 + 100 * i);
        CHECK_INT_EQ(order_guide(id), ga);
        past += 10000 + 100 * i;
    }
    figures before = a_figures();
    CHECK_INT_EQ(before.kpi_net, past);
    CHECK_INT_EQ(before.kpi_orders, 100);
    CHECK_INT_EQ(before.board_net, past);
    CHECK_INT_EQ(before.store_net, past);

    /* a code with A and B: A gets scans until A departs */
    int64_t code =
        make("/api/v1/qr-codes", "{\"name\":\"c\",\"target\":{\"guide_ids\":[%lld,%lld]}}",
             (long long)ga, (long long)gb);

    set_now("2026-03-02T10:00:00+08:00");
    /* a departure needs transfer_to ([] for none) */
    char path[128];
    json_t *o;
    snprintf(path, sizeof path, "/api/v1/staff/%lld/depart", (long long)ga);
    CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{}"), 400);
    CHECK_STR_EQ(err_field(o), "transfer_to");
    json_decref(o);
    CHECK_INT_EQ(call_as(tok_mgr1, "POST", path, NULL, "{\"transfer_to\":[]}"), 403);
    /* A's token, used just before the departure (the server has it fresh in its cache of
     * resolved tokens), is refused at the very next request after it */
    CHECK_INT_EQ(call_as(tok_a, "GET", "/api/v1/members", NULL, NULL), 200);
    CHECK_INT_EQ(call_as(tok_a, "GET", "/api/v1/members", NULL, NULL), 200);
    CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{\"transfer_to\":[%lld,%lld]}", (long long)gb,
                         (long long)gc),
                 200);
    CHECK_STR_EQ(jstr(o, "status"), "departed");
    int64_t tid = jint(o, "transfer_id");
    CHECK(tid > 0);
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "POST", path, NULL, "{\"transfer_to\":[]}"), 409);
    /* tokens revoked; no new token */
    CHECK_INT_EQ(call_as(tok_a, "GET", "/api/v1/members", NULL, NULL), 401);
    snprintf(path, sizeof path, "/api/v1/staff/%lld/tokens", (long long)ga);
    CHECK_INT_EQ(call_as(NULL, "POST", path, NULL, "{}"), 409);
    /* scans skip the departed guide */
    snprintf(path, sizeof path, "/api/v1/qr-codes/%lld/scan", (long long)code);
    for (int i = 0; i < 4; i++) {
        CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{}"), 201);
        CHECK_INT_EQ(jint(o, "guide_id"), gb);
        json_decref(o);
    }

    /* the transfer: every customer once, capacity respected */
    o = get_transfer(tid, "?limit=1000");
    CHECK_STR_EQ(jstr(o, "kind"), "departed");
    CHECK_INT_EQ(jint(o, "from_guide_id"), ga);
    json_t *c = json_object_get(o, "counts");
    const int64_t asked = (CAPACITY - 1) + CAPACITY;
    CHECK_INT_EQ(jint(c, "waiting"), asked);
    CHECK_INT_EQ(jint(c, "failed"), CUSTOMERS - asked);
    CHECK_INT_EQ(json_array_size(json_object_get(o, "items")), CUSTOMERS);
    int64_t to_b = 0, to_c = 0, capacity = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(o, "items"), i, it)
    {
        if (strcmp(jstr(it, "state"), "failed") == 0) {
            capacity += strcmp(jstr(it, "reason"), "capacity") == 0;
            continue;
        }
        to_b += jint(it, "to_guide_id") == gb;
        to_c += jint(it, "to_guide_id") == gc;
    }
    CHECK_INT_EQ(capacity, CUSTOMERS - asked);
    CHECK_INT_EQ(to_b, CAPACITY - 1);
    CHECK_INT_EQ(to_c, CAPACITY);
    json_decref(o);
    /* pages: 1000 items by 300 */
    int64_t cursor = 0, seen = 0;
    for (int p = 0; p < 10; p++) {
        char q[64];
        snprintf(q, sizeof q, "?limit=300&cursor=%lld", (long long)cursor);
        o = get_transfer(tid, q);
        seen += (int64_t)json_array_size(json_object_get(o, "items"));
        json_t *nc = json_object_get(o, "next_cursor");
        cursor = json_is_string(nc) ? strtoll(json_string_value(nc), NULL, 10) : 0;
        json_decref(o);
        if (!cursor) break;
    }
    CHECK_INT_EQ(seen, CUSTOMERS);
    /* the list by guide names it; store 2's manager sees none of it */
    snprintf(path, sizeof path, "/api/v1/transfers?guide_id=%lld", (long long)ga);
    CHECK_INT_EQ(call_as(tok_mgr1, "GET", path, &o, NULL), 200);
    CHECK_INT_EQ(json_array_size(json_object_get(o, "items")), 1);
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/transfers/%lld", (long long)tid);
    CHECK_INT_EQ(call_as(tok_mgr2, "GET", path, NULL, NULL), 403);
    CHECK_INT_EQ(call_as(tok_mgr2, "GET", "/api/v1/transfers", &o, NULL), 200);
    CHECK_INT_EQ(json_array_size(json_object_get(o, "items")), 0);
    json_decref(o);

    /* the bridge's messages: one transfer_customer per receiver, the edges' userids */
    CHECK_INT_EQ(call_as(NULL, "GET", "/api/v1/bridge/messages", &o, NULL), 200);
    int64_t members_asked = 0, userids = 0;
    json_array_foreach(json_object_get(o, "items"), i, it)
    {
        if (jint(it, "transfer_id") != tid) continue;
        CHECK_STR_EQ(jstr(it, "kind"), "transfer_customer");
        CHECK_STR_EQ(jstr(it, "handover_userid"), "guide-a");
        members_asked += (int64_t)json_array_size(json_object_get(it, "member_ids"));
        userids += (int64_t)json_array_size(json_object_get(it, "external_userid"));
    }
    CHECK_INT_EQ(members_asked, asked);
    CHECK_INT_EQ(userids, db_int("SELECT count(*) FROM transfer_items i JOIN contacts c ON"
                                 " c.member_id = i.member_id AND c.guide_id = i.from_guide_id"
                                 " WHERE i.transfer_id = ?1 AND i.asked = 1",
                                 tid, 0));
    json_decref(o);

    /* waiting: credit has not moved — an order now is still A's */
    set_now("2026-03-02T12:00:00+08:00");
    for (int k = 0; k < 20; k++)
        CHECK_INT_EQ(order_guide(order(cust[k], 5000)), ga);

    /* the bridge reports: of the first 300 asked items, 200 done, 50 refused, 50 failed */
    o = get_transfer(tid, "?limit=1000");
    int64_t asked_ids[CUSTOMERS], to_of[CUSTOMERS];
    size_t na = 0;
    json_array_foreach(json_object_get(o, "items"), i,
                       it) if (strcmp(jstr(it, "state"), "waiting") == 0)
    {
        to_of[na] = jint(it, "to_guide_id");
        asked_ids[na++] = jint(it, "member_id");
    }
    json_decref(o);
    CHECK_INT_EQ(na, asked);
    set_now("2026-03-02T15:00:00+08:00");
    {
        size_t cap = 100000, n = 0;
        char *body = malloc(cap);
        n += (size_t)snprintf(body + n, cap - n, "{\"results\":[");
        for (size_t k = 0; k < 300; k++)
            n += (size_t)snprintf(body + n, cap - n, "%s{\"member_id\":%lld,\"state\":\"%s\"%s}",
                                  k ? "," : "", (long long)asked_ids[k],
                                  k < 200   ? "done"
                                  : k < 250 ? "refused"
                                            : "failed",
                                  k >= 250 ? ",\"reason\":\"customer_limit\"" : "");
        snprintf(body + n, cap - n, "]}");
        snprintf(path, sizeof path, "/api/v1/transfers/%lld/results", (long long)tid);
        CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "%s", body), 201);
        CHECK_INT_EQ(jint(o, "recorded"), 300);
        json_decref(o);
        /* the same batch again: nothing changes */
        CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "%s", body), 200);
        CHECK_INT_EQ(jint(o, "unchanged"), 300);
        json_decref(o);
        free(body);
    }
    o = get_transfer(tid, NULL);
    c = json_object_get(o, "counts");
    CHECK_INT_EQ(jint(c, "done"), 200);
    CHECK_INT_EQ(jint(c, "refused"), 50);
    CHECK_INT_EQ(jint(c, "failed"), CUSTOMERS - asked + 50);
    CHECK_INT_EQ(jint(c, "waiting"), asked - 300);
    json_decref(o);
    /* done: the member is the receiver's — their next order, the edge, the 360 */
    for (size_t k = 0; k < 200; k += 40) {
        set_now(k % 80 ? "2026-03-02T16:00:00+08:00" : "2026-03-02T16:00:01+08:00");
        CHECK_INT_EQ(order_guide(order(asked_ids[k], 7000)), to_of[k]);
        CHECK_INT_EQ(db_int("SELECT guide_id FROM members WHERE id = ?1", asked_ids[k], 0),
                     to_of[k]);
    }
    /* refused: still A's */
    CHECK_INT_EQ(order_guide(order(asked_ids[220], 7000)), ga);
    /* an edge moved: the receiver's is live, A's ended */
    long long live_a = db_int("SELECT count(*) FROM contacts WHERE guide_id = ?1 AND"
                              " customer_deleted_at IS NULL AND guide_deleted_at IS NULL",
                              ga, 0);
    long long moved_with_edge = db_int("SELECT count(*) FROM transfer_items i WHERE"
                                       " i.transfer_id = ?1 AND i.state = 'done' AND EXISTS"
                                       " (SELECT 1 FROM contacts c WHERE c.member_id = i.member_id"
                                       " AND c.guide_id = i.to_guide_id AND c.guide_deleted_at"
                                       " IS NULL AND c.customer_deleted_at IS NULL)",
                                       tid, 0);
    CHECK_INT_EQ(live_a + moved_with_edge,
                 EDGES); /* every edge either still A's or the receiver's */

    /* 24 h later the rest are done by the tick */
    set_now("2026-03-03T10:00:30+08:00");
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, "{}"), 200);
    o = get_transfer(tid, NULL);
    c = json_object_get(o, "counts");
    CHECK_INT_EQ(jint(c, "waiting"), 0);
    CHECK_INT_EQ(jint(c, "done"), asked - 100);
    CHECK_STR_EQ(jstr(o, "state"), "finished");
    json_decref(o);
    set_now("2026-03-03T11:00:00+08:00");
    CHECK_INT_EQ(order_guide(order(asked_ids[asked - 1], 3000)), to_of[asked - 1]);

    /* every order of a transferred member is credited to the guide the member had at
     * that instant: A before the item was done, the receiver after */
    CHECK_INT_EQ(db_int("SELECT count(*) FROM orders o WHERE o.member_id IN (SELECT member_id"
                        " FROM transfer_items WHERE transfer_id = ?1) AND o.guide_id <>"
                        " COALESCE((SELECT i.to_guide_id FROM transfer_items i WHERE"
                        " i.member_id = o.member_id AND i.state = 'done' AND i.ended_at <="
                        " o.placed_at ORDER BY i.ended_at DESC LIMIT 1), ?2)",
                        tid, ga),
                 0);
    CHECK(db_int("SELECT count(*) FROM orders o JOIN transfer_items i ON i.member_id ="
                 " o.member_id AND i.state = 'done' WHERE i.transfer_id = ?1 AND o.guide_id ="
                 " i.to_guide_id",
                 tid, 0) >= 6);
    /* capacity never exceeded */
    CHECK(db_int("SELECT count(*) FROM members WHERE guide_id = ?1", gb, 0) <= CAPACITY);
    CHECK(db_int("SELECT count(*) FROM members WHERE guide_id = ?1", gc, 0) <= CAPACITY);

    /* A's past sales: unchanged in every report (the 20 waiting-time orders and the
     * refused one were A's too) */
    figures after = a_figures();
    int64_t a_later = 20 * 5000 + 7000;
    CHECK_INT_EQ(after.kpi_net, past + a_later);
    CHECK_INT_EQ(after.kpi_orders, 100 + 21);
    CHECK_INT_EQ(after.board_net, past + a_later);
    CHECK_INT_EQ(after.board_orders, 100 + 21);
    CHECK_INT_EQ(after.store_net, past + a_later);
    CHECK_INT_EQ(db_int("SELECT sum(total_cents) FROM orders WHERE guide_id = ?1", ga, 0),
                 past + a_later);

    /* a departed transfer has no 90-day limit: F departs with the twice-moved member */
    snprintf(path, sizeof path, "/api/v1/staff/%lld/depart", (long long)gf);
    CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{\"transfer_to\":[%lld]}", (long long)gg), 200);
    int64_t tf = jint(o, "transfer_id");
    json_decref(o);
    o = get_transfer(tf, NULL);
    it = json_array_get(json_object_get(o, "items"), 0);
    CHECK_INT_EQ(jint(it, "member_id"), limited);
    CHECK_STR_EQ(jstr(it, "state"), "waiting");
    json_decref(o);
}

/* A guide moves stores: the history keeps both; past orders keep their store. */
static void store_move(void)
{
    char path[64];
    json_t *o;
    snprintf(path, sizeof path, "/api/v1/staff/%lld", (long long)gc);
    CHECK_INT_EQ(call_as(NULL, "PATCH", path, &o, "{\"store_id\":%lld}", (long long)store2), 200);
    CHECK_INT_EQ(jint(o, "store_id"), store2);
    json_t *h = json_object_get(o, "stores");
    CHECK_INT_EQ(json_array_size(h), 2);
    CHECK_INT_EQ(jint(json_array_get(h, 0), "store_id"), store1);
    CHECK(!json_is_null(json_object_get(json_array_get(h, 0), "to")));
    CHECK(json_is_null(json_object_get(json_array_get(h, 1), "to")));
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "PATCH", path, &o, "{\"store_id\":null}"), 400);
    CHECK_STR_EQ(err_field(o), "store_id");
    json_decref(o);
    CHECK_INT_EQ(
        db_int("SELECT count(*) FROM orders WHERE guide_id = ?1 AND store_id = ?2", gc, store2), 0);
    /* rehired: active again, no token until one is made */
    snprintf(path, sizeof path, "/api/v1/staff/%lld", (long long)ga);
    CHECK_INT_EQ(call_as(NULL, "PATCH", path, &o, "{\"status\":\"active\"}"), 200);
    CHECK_STR_EQ(jstr(o, "status"), "active");
    json_decref(o);
    CHECK_INT_EQ(call_as(tok_a, "GET", "/api/v1/members", NULL, NULL), 401);
}

/* 90 days after the second on-job move, a third is allowed. */
static void ninety_days_later(void)
{
    set_now("2026-06-10T10:00:00+08:00");
    /* the member is G's (F departed, the departed transfer ended done on the tick) */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/transfers/sweep", NULL, NULL), 200);
    CHECK_INT_EQ(db_int("SELECT guide_id FROM members WHERE id = ?1", limited, 0), gg);
    int64_t t = transfer(NULL, 201,
                         "{\"from_guide_id\":%lld,\"to_guide_ids\":[%lld],\"member_ids\":[%lld],"
                         "\"kind\":\"on_job\"}",
                         (long long)gg, (long long)gb, (long long)limited);
    json_t *o = get_transfer(t, NULL);
    CHECK_STR_EQ(jstr(json_array_get(json_object_get(o, "items"), 0), "state"), "waiting");
    json_decref(o);
}

static int64_t seg_count(const char *expr)
{
    json_t *o;
    char body[512];
    json_t *e = json_pack("{s:s}", "expr", expr);
    char *t = json_dumps(e, JSON_COMPACT);
    snprintf(body, sizeof body, "%s", t);
    free(t);
    json_decref(e);
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/segments/count", &o, "%s", body), 200);
    int64_t n = jint(o, "count");
    json_decref(o);
    return n;
}

/* Attribution: members who joined through codes are attributed to their campaign in the
 * member 360, the segment attributes and the acquisition-cost report; the contact_added
 * trigger enters a welcome journey; contacts lost are reported per guide. */
static void acquisition(void)
{
    set_now("2026-03-05T10:00:00+08:00");
    json_t *o;
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/tags", NULL, "{\"name\":\"welcomed\"}"), 201);
    int64_t jid = 0;
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys", &o,
                         "{\"name\":\"欢迎\",\"trigger\":{\"event\":\"contact_added\"},"
                         "\"audience\":\"campaign = \\\"spring\\\"\",\"steps\":[{\"action\":"
                         "\"add_tag\",\"tag\":\"welcomed\"}]}"),
                 201);
    jid = jint(o, "id");
    json_decref(o);
    char path[128];
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/activate", (long long)jid);
    CHECK_INT_EQ(call_as(NULL, "POST", path, NULL, NULL), 200);

    const char *code = "{\"name\":\"%s\",\"target\":{\"guide_ids\":[%lld]},\"campaign\":\"%s\","
                       "\"cost_cents\":%d}";
    int64_t q1 = make("/api/v1/qr-codes", code, "门店海报", (long long)gb, "spring", 10000);
    int64_t q2 = make("/api/v1/qr-codes", code, "朋友圈", (long long)gc, "spring", 20000);
    int64_t q3 = make("/api/v1/qr-codes", code, "秋季", (long long)gb, "autumn", 5000);
    const int64_t codes[3] = {q1, q2, q3};
    const char *uids[3] = {"guide-b", "guide-c", "guide-b"};
    const int joins[3] = {3, 2, 1};
    int64_t joined[3][3] = {{0}};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < joins[k]; i++) {
            CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/wecom/events", &o,
                                 "{\"event\":\"add_external_contact\",\"userid\":\"%s\","
                                 "\"external_userid\":\"wm-q%d-%d\",\"state\":\"qr-%lld\","
                                 "\"at\":\"%s\"}",
                                 uids[k], k, i, (long long)codes[k], now_text),
                         201);
            joined[k][i] = jint(json_array_get(json_object_get(o, "results"), 0), "member_id");
            json_decref(o);
        }
    /* the member 360 */
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)joined[1][0]);
    CHECK_INT_EQ(call_as(NULL, "GET", path, &o, NULL), 200);
    json_t *acq = json_object_get(o, "acquisition");
    CHECK_STR_EQ(jstr(acq, "campaign"), "spring");
    CHECK_INT_EQ(jint(acq, "qr_code_id"), q2);
    CHECK_INT_EQ(jint(acq, "guide_id"), gc);
    CHECK_INT_EQ(jint(acq, "store_id"), store2); /* C moved to store 2: the code's store */
    CHECK_STR_EQ(jstr(acq, "channel"), "store");
    json_decref(o);
    /* the segment attributes */
    CHECK_INT_EQ(seg_count("campaign = \"spring\""), 5);
    CHECK_INT_EQ(seg_count("campaign = \"autumn\""), 1);
    char expr[64];
    snprintf(expr, sizeof expr, "qr_code = %lld", (long long)q1);
    CHECK_INT_EQ(seg_count(expr), 3);
    snprintf(expr, sizeof expr, "qr_code = %lld and contacts = 1", (long long)q2);
    CHECK_INT_EQ(seg_count(expr), 2);
    /* the welcome journey: every spring contact, no autumn one */
    CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/journeys/tick", NULL, "{}"), 200);
    CHECK_INT_EQ(seg_count("tag:\"welcomed\""), 5);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM events WHERE type = 'contact_added' AND props LIKE"
                        " '%\"campaign\":\"spring\"%'",
                        0, 0),
                 5);
    /* first orders: two spring members within 30 days, one after (not counted) */
    order(joined[0][0], 8000);
    order(joined[1][1], 12000);
    set_now("2026-04-20T10:00:00+08:00");
    order(joined[0][1], 50000);
    CHECK_INT_EQ(call_as(NULL, "GET", "/api/v1/qr-campaigns", &o, NULL), 200);
    json_t *spring = NULL, *autumn = NULL, *row;
    size_t i;
    json_array_foreach(json_object_get(o, "items"), i, row)
    {
        if (strcmp(jstr(row, "campaign"), "spring") == 0) spring = row;
        if (strcmp(jstr(row, "campaign"), "autumn") == 0) autumn = row;
    }
    CHECK(spring && autumn);
    CHECK_INT_EQ(jint(spring, "codes"), 2);
    CHECK_INT_EQ(jint(spring, "contacts_added"), 5);
    CHECK_INT_EQ(jint(spring, "new_members"), 5);
    CHECK_INT_EQ(jint(spring, "first_orders_30d"), 2);
    CHECK_INT_EQ(jint(spring, "sales_cents"), 20000);
    CHECK_INT_EQ(jint(spring, "cost_cents"), 30000);
    CHECK_INT_EQ(jint(spring, "cost_per_member_cents"), 6000);
    CHECK_INT_EQ(jint(spring, "cost_per_first_order_cents"), 15000);
    CHECK_INT_EQ(jint(autumn, "new_members"), 1);
    CHECK(json_is_null(json_object_get(autumn, "cost_per_first_order_cents")));
    /* the same as the codes' own stats summed */
    int64_t members = 0, sales = 0;
    for (int k = 0; k < 2; k++) {
        json_t *st;
        snprintf(path, sizeof path, "/api/v1/qr-codes/%lld/stats", (long long)codes[k]);
        CHECK_INT_EQ(call_as(NULL, "GET", path, &st, NULL), 200);
        members += jint(st, "new_members");
        sales += jint(st, "sales_cents");
        json_decref(st);
    }
    CHECK_INT_EQ(jint(spring, "new_members"), members);
    CHECK_INT_EQ(jint(spring, "sales_cents"), sales);
    json_decref(o);
    CHECK_INT_EQ(call_as(NULL, "GET", "/api/v1/qr-campaigns?campaign=winter", NULL, NULL), 404);

    /* contacts lost: two spring customers delete guide B */
    for (int k = 0; k < 2; k++)
        CHECK_INT_EQ(call_as(NULL, "POST", "/api/v1/wecom/events", NULL,
                             "{\"event\":\"del_follow_user\",\"userid\":\"guide-b\","
                             "\"external_userid\":\"wm-q0-%d\",\"at\":\"%s\"}",
                             k, now_text),
                     201);
    snprintf(path, sizeof path, "/api/v1/reports/contacts?from=2026-04-01&to=2026-04-30&guide=%lld",
             (long long)gb);
    CHECK_INT_EQ(call_as(NULL, "GET", path, &o, NULL), 200);
    row = json_array_get(json_object_get(o, "items"), 0);
    CHECK_INT_EQ(jint(row, "lost"), 2);
    CHECK_INT_EQ(jint(row, "added"), 0);
    CHECK_INT_EQ(jint(row, "contacts"),
                 db_int("SELECT count(*) FROM contacts WHERE guide_id = ?1 AND customer_deleted_at"
                        " IS NULL AND guide_deleted_at IS NULL",
                        gb, 0));
    json_decref(o);
    CHECK_INT_EQ(
        call_as(NULL, "GET", "/api/v1/reports/contacts?from=2026-03-01&to=2026-03-31", &o, NULL),
        200);
    CHECK_INT_EQ(jint(json_object_get(o, "total"), "lost"), 0);
    CHECK_INT_EQ(jint(json_object_get(o, "total"), "added"),
                 db_int("SELECT count(*) FROM contacts WHERE added_at >= ?1 AND added_at < ?2",
                        1772294400LL, 1774972800LL));
    json_decref(o);
    /* a store manager sees their own store's guides only */
    CHECK_INT_EQ(call_as(tok_mgr2, "GET", "/api/v1/reports/contacts?from=2026-04-01&to=2026-04-30",
                         &o, NULL),
                 200);
    json_array_foreach(json_object_get(o, "items"), i, row)
        CHECK_INT_EQ(jint(row, "store_id"), store2);
    json_decref(o);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_transfers PATH_TO_SIYU\n");
        return 2;
    }
    snprintf(clock_path, sizeof clock_path, "/tmp/siyu-clock-transfers-%d", (int)getpid());
    set_now("2026-03-01T10:00:00+08:00");
    setenv("SIYU_NOW_FILE", clock_path, 1);
    setenv("SIYU_TICK_SECONDS", "0", 1);
    setenv("SIYU_SWEEP_SECONDS", "0", 1);
    server = harness_start(argv[1]);
    fd = conn_open();
    chain();
    customers();
    ninety_days();
    departure();
    store_move();
    acquisition();
    ninety_days_later();
    close(fd);
    { /* siyu check: the store history, departed tokens and transfer items hold */
        char cmd[1024], out[8192];
        snprintf(cmd, sizeof cmd, "%s check --db '%s'", argv[1], db);
        int rc = run(cmd, out, sizeof out);
        if (rc != 0) CHECK_FAIL_("siyu check: %d %s", rc, out);
    }
    CHECK_INT_EQ(harness_stop(server), 0);
    unlink(clock_path);
    return CHECK_DONE();
}
