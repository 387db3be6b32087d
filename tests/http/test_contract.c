/* test_contract.c — the API contract (docs/api.md "The contract"), over the route table:
 *
 *   1. every route declares what the OpenAPI document needs: an answer schema, a body
 *      schema when it takes a body, query parameters that parse, schema names that exist
 *      in src/http/schemas — a route without them fails here, with the line to add;
 *   2. on the real server, every GET refuses an unknown query parameter with 400 naming it;
 *   3. every list pages the same way: limit (1..1000) and cursor in, items and next_cursor
 *      out; walking a list one item at a time gives the list read at once, in order. */
#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "harness.h"
#include "http/router.h"

static int fd;
static char buf[1 << 20];

static int call(const char *method, const char *path, const char *body)
{
    int st = request(fd, method, path, body, buf, sizeof buf);
    if (st < 0) {
        close(fd);
        fd = conn_open();
        st = request(fd, method, path, body, buf, sizeof buf);
    }
    return st;
}

static json_t *get_json(const char *path, int *status)
{
    *status = call("GET", path, NULL);
    return json_loads(buf, JSON_DECODE_ANY, NULL);
}

/* The tag's schema file a developer adds a component to. */
static void schema_file(const route *rt, char *out, size_t len)
{
    snprintf(out, len, "src/http/schemas/%s.json", rt->tag ? rt->tag : "TAG");
}

/* Every name a .response or .request spec mentions ("A|B[]" names A and B). */
static void check_names(const route *rt, const char *field, const char *spec, json_t *schemas)
{
    if (!spec || strchr(spec, '/')) return; /* a media type */
    char copy[200];
    snprintf(copy, sizeof copy, "%s", spec);
    for (char *save = NULL, *w = strtok_r(copy, "|", &save); w; w = strtok_r(NULL, "|", &save)) {
        size_t n = strlen(w);
        if (n > 2 && strcmp(w + n - 2, "[]") == 0) w[n - 2] = 0;
        if (!json_object_get(schemas, w)) {
            char file[96];
            schema_file(rt, file, sizeof file);
            CHECK_FAIL_("%s %s: its %s names schema \"%s\", which no file of src/http/schemas "
                        "defines — add \"%s\": {\"type\": \"object\", \"required\": [...], "
                        "\"properties\": {...}, \"examples\": [...]} to %s",
                        rt->method, rt->pattern, field, w, w, file);
        }
    }
}

/* A route's long_with names parameters it declares (a name it does not take could never be
 * sent, and the scan it stands for would run on an I/O thread). */
static void test_long_with_declared(void)
{
    int names = 0;
    for (int i = 0; i < route_count; i++) {
        const route *rt = &routes[i];
        route_param ps[8];
        char err[120];
        int n = route_query_parse(rt->long_with, ps, 8, err, sizeof err);
        if (n < 0) CHECK_FAIL_("%s %s: long_with: %s", rt->method, rt->pattern, err);
        for (int k = 0; k < n; k++) {
            if (!route_query_has(rt, ps[k].name))
                CHECK_FAIL_("%s %s: long_with names \"%s\", not a parameter it declares in .query",
                            rt->method, rt->pattern, ps[k].name);
            names++;
        }
    }
    CHECK(names > 0);
}

/* 1. The declarations, without a server. */
static void test_declarations(void)
{
    json_t *schemas = openapi_components();
    CHECK(schemas != NULL); /* a file of src/http/schemas that does not parse is named on stderr */
    if (!schemas) return;
    for (int i = 0; i < route_count; i++) {
        const route *rt = &routes[i];
        char file[96];
        schema_file(rt, file, sizeof file);
        if (!rt->response)
            CHECK_FAIL_("%s %s declares no answer: add .response = \"Name\" to its row in the "
                        "route table (\"Name[]\" for a list, a media type such as \"text/csv\" "
                        "for text) and a \"Name\" schema with its fields, required fields, enums "
                        "and an example to %s (docs/api.md, \"The contract\")",
                        rt->method, rt->pattern, file);
        if ((rt->flags & (ROUTE_BODY | ROUTE_BODY_OPT)) && !rt->request)
            CHECK_FAIL_("%s %s takes a JSON body but declares no schema for it: add .request = "
                        "\"NameCreate\" to its row and the \"NameCreate\" schema to %s",
                        rt->method, rt->pattern, file);
        if ((rt->flags & ROUTE_RAW) && !(rt->request && strchr(rt->request, '/')))
            CHECK_FAIL_("%s %s takes raw bytes: add .request = \"application/x-ndjson\" (or "
                        "\"text/csv\") to its row",
                        rt->method, rt->pattern);
        check_names(rt, ".response", rt->response, schemas);
        if (rt->flags & (ROUTE_BODY | ROUTE_BODY_OPT))
            check_names(rt, ".request", rt->request, schemas);
        route_param ps[32];
        char err[120];
        if (route_query_parse(rt->query, ps, 32, err, sizeof err) < 0)
            CHECK_FAIL_("%s %s: .query = \"%s\": %s (words are name, name:int, name:date, "
                        "name:time, name:bool or name:a|b|c, ending in ! when required; "
                        "\"page\" for limit and cursor)",
                        rt->method, rt->pattern, rt->query, err);
        bool list = rt->response && strstr(rt->response, "[]");
        if (list && (!route_is_list(rt) || strcmp(rt->method, "GET") != 0))
            CHECK_FAIL_("%s %s answers a list (%s) but does not page it: a list is a GET whose "
                        ".query starts with \"page\" (limit and cursor, docs/api.md \"Lists\")",
                        rt->method, rt->pattern, rt->response);
        if (route_is_list(rt) && !list && strcmp(rt->pattern, "/api/v1/members/{id}/points") &&
            strcmp(rt->pattern, "/api/v1/transfers/{id}")) /* an object with a page of items */
            CHECK_FAIL_("%s %s declares limit and cursor but its .response is not a page: "
                        "write it \"Name[]\"",
                        rt->method, rt->pattern);
    }
    /* the generated document: one operationId per route, all distinct */
    json_t *doc = openapi_document();
    json_t *paths = json_object_get(doc, "paths"), *ids = json_object();
    const char *p;
    json_t *item;
    int ops = 0;
    json_object_foreach(paths, p, item)
    {
        const char *m;
        json_t *op;
        json_object_foreach(item, m, op)
        {
            const char *id = json_string_value(json_object_get(op, "operationId"));
            ops++;
            CHECK(id != NULL);
            if (id && json_object_get(ids, id))
                CHECK_FAIL_("operationId %s is given twice (%s %s)", id, m, p);
            if (id) json_object_set_new(ids, id, json_true());
            CHECK(json_object_get(json_object_get(op, "responses"), "400") != NULL);
        }
    }
    CHECK_INT_EQ(ops, route_count);
    json_decref(ids);
    json_decref(doc);
}

/* ---- 2 and 3 on the real server ---- */

/* A component's first example, from src/http/schemas (fixtures are the documented bodies). */
static json_t *example(const char *name)
{
    json_t *ex = json_object_get(json_object_get(openapi_components(), name), "examples");
    return json_deep_copy(json_array_get(ex, 0));
}

static void post(const char *path, json_t *body, int want)
{
    char *text = json_dumps(body, JSON_COMPACT);
    int st = call("POST", path, text);
    if (st != want) CHECK_FAIL_("POST %s %s: %d, want %d — %.300s", path, text, st, want, buf);
    free(text);
    json_decref(body);
}

static void put(const char *path, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    int st = call("PUT", path, text);
    if (st != 200) CHECK_FAIL_("PUT %s %s: %d — %.300s", path, text, st, buf);
    free(text);
    json_decref(body);
}

/* Two or more of everything a list answers, where the API can make them. */
static void fixtures(void)
{
    for (int i = 1; i <= 2; i++) {
        char code[16];
        snprintf(code, sizeof code, "S%d", i);
        post("/api/v1/brands", json_pack("{s:s}", "name", code), 201);
        post("/api/v1/stores",
             json_pack("{s:s, s:s, s:i, s:s}", "code", code, "name", code, "brand_id", 1, "kind",
                       "physical"),
             201);
        snprintf(code, sizeof code, "g%d", i);
        post("/api/v1/staff",
             json_pack("{s:s, s:s, s:i, s:s}", "name", code, "role", "guide", "store_id", 1, "code",
                       code),
             201);
        post("/api/v1/tokens", json_pack("{s:s, s:s}", "role", "operator", "name", code), 201);
    }
    for (int i = 1; i <= 3; i++) {
        char phone[16], ext[16];
        snprintf(phone, sizeof phone, "1390000000%d", i);
        post("/api/v1/members",
             json_pack("{s:s, s:s, s:i, s:s}", "phone", phone, "name", "M", "store_id", 1, "city",
                       "宁波"),
             201);
        snprintf(ext, sizeof ext, "c%d", i);
        post("/api/v1/orders",
             json_pack("{s:s, s:s, s:i, s:i, s:s, s:i, s:[{s:s, s:i, s:i}]}", "channel", "store",
                       "external_id", ext, "store_id", 1, "member_id", 1, "placed_at",
                       "2026-11-01T10:00:00+08:00", "total_cents", 1000, "items", "sku", "A", "qty",
                       1, "unit_price_cents", 1000),
             201);
    }
    for (int i = 1; i <= 2; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        post("/api/v1/segments", json_pack("{s:s, s:s}", "name", name, "expr", "city = \"宁波\""),
             201);
        post("/api/v1/tags", json_pack("{s:s}", "name", name), 201);
        post("/api/v1/loyalty/earn-rules",
             json_pack("{s:s, s:i}", "name", name, "points_per_yuan", i), 201);
        json_t *t = example("CouponTemplateCreate");
        json_object_set_new(t, "name", json_string(name));
        json_object_set_new(t, "stock", json_integer(100));
        json_object_set_new(t, "per_member_limit", json_integer(10));
        post("/api/v1/coupon-templates", t, 201);
        post("/api/v1/coupons",
             json_pack("{s:i, s:i, s:s}", "template_id", 1, "member_id", 1, "external_id", name),
             201);
        json_t *j = example("JourneyCreate");
        json_object_set_new(j, "name", json_string(name));
        post("/api/v1/journeys", j, 201);
        json_t *c = example("CampaignCreate");
        json_object_set_new(c, "name", json_string(name));
        post("/api/v1/campaigns", c, 201);
    }
    json_t *ch = example("ChannelBinding");
    put("/api/v1/channels/sms", json_incref(ch));
    put("/api/v1/channels/wecom", ch);
    /* communities: two groups of guide 1, and two full codes' requests for a new group */
    int st = call("PATCH", "/api/v1/staff/1", "{\"wecom_userid\":\"gd-1\"}");
    if (st != 200) CHECK_FAIL_("PATCH /api/v1/staff/1: %d — %.300s", st, buf);
    post("/api/v1/groups/events",
         json_pack("{s:[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}]}", "events", "event",
                   "group_created", "chat_id", "chat-1", "owner_userid", "gd-1", "theme", "fresh",
                   "at", "2026-11-01T09:00:00+08:00", "event", "group_created", "chat_id", "chat-2",
                   "owner_userid", "gd-1", "theme", "fresh", "at", "2026-11-01T09:00:00+08:00"),
         201);
    for (int i = 1; i <= 2; i++) {
        char theme[16], path[64];
        snprintf(theme, sizeof theme, "mom-%d", i);
        post("/api/v1/group-codes", json_pack("{s:i, s:s}", "store_id", 1, "theme", theme), 201);
        snprintf(path, sizeof path, "/api/v1/group-codes/%d/scan", i);
        post(path, json_object(), 503);
    }
    /* two group SOPs: the fresh groups on Mondays, and chat-1 on Thursdays */
    post("/api/v1/group-sops",
         json_pack("{s:i, s:s, s:{s:i, s:s}, s:s}", "store_id", 1, "theme", "fresh", "schedule",
                   "weekday", 1, "time", "10:00", "text", "本周新品到店"),
         201);
    post("/api/v1/group-sops",
         json_pack("{s:[i], s:{s:i, s:s}, s:s, s:i}", "group_ids", 1, "schedule", "weekday", 4,
                   "time", "19:30", "text", "今晚直播", "due_hours", 2),
         201);
    /* transfers (docs/guides.md): members 1..3 are guide 1's, moved to guide 2 in two */
    for (int m = 1; m <= 3; m++) {
        char path[40];
        snprintf(path, sizeof path, "/api/v1/members/%d", m);
        st = call("PATCH", path, "{\"guide_id\":1}");
        if (st != 200) CHECK_FAIL_("PATCH %s: %d — %.200s", path, st, buf);
    }
    post("/api/v1/transfers",
         json_pack("{s:i, s:[i], s:[i, i], s:s}", "from_guide_id", 1, "to_guide_ids", 2,
                   "member_ids", 1, 2, "kind", "on_job"),
         201);
    post("/api/v1/transfers",
         json_pack("{s:i, s:[i], s:[i], s:s}", "from_guide_id", 1, "to_guide_ids", 2, "member_ids",
                   3, "kind", "on_job"),
         201);
    /* the console's lists: two channel QR codes and two task campaigns of store 1 */
    for (int i = 1; i <= 2; i++) {
        char name[16];
        snprintf(name, sizeof name, "q%d", i);
        post("/api/v1/qr-codes",
             json_pack("{s:s, s:{s:i}, s:s}", "name", name, "target", "store_id", 1, "campaign",
                       "spring"),
             201);
        post("/api/v1/task-campaigns",
             json_pack("{s:s, s:s, s:s, s:s, s:{s:[i]}}", "name", name, "kind", "call", "script",
                       "hi", "due", "2099-12-01T10:00:00+08:00", "target", "store_ids", 1),
             201);
    }
    /* refund instructions (docs/fission.md): a group-buy team of two that fails when its
     * campaign ends, a few seconds from now (this test has no clock of its own) */
    post("/api/v1/orders",
         json_pack("{s:s, s:s, s:i, s:i, s:s, s:i, s:[{s:s, s:i, s:i}]}", "channel", "mall",
                   "external_id", "gb-2", "store_id", 1, "member_id", 2, "placed_at",
                   "2026-11-01T10:00:00+08:00", "total_cents", 1000, "items", "sku", "A", "qty", 1,
                   "unit_price_cents", 1000),
         201);
    time_t end = time(NULL) + 4;
    char ends_at[40];
    strftime(ends_at, sizeof ends_at, "%Y-%m-%dT%H:%M:%SZ", gmtime(&end));
    post("/api/v1/campaigns",
         json_pack("{s:s, s:s, s:s, s:{s:s, s:i, s:i, s:i}}", "kind", "group_buy", "name", "gb",
                   "ends_at", ends_at, "rules", "sku", "A", "price_cents", 1000, "team_size", 3,
                   "hours", 1),
         201);
    json_t *c = NULL;
    st = call("GET", "/api/v1/campaigns?limit=1000", NULL);
    c = json_loads(buf, 0, NULL);
    json_t *items = json_object_get(c, "items");
    json_int_t gb = json_integer_value(
        json_object_get(json_array_get(items, json_array_size(items) - 1), "id"));
    json_decref(c);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/teams", (long long)gb);
    post(path, json_pack("{s:i, s:s}", "member_id", 1, "order", "c1"), 201);
    snprintf(path, sizeof path, "/api/v1/teams/1/join");
    post(path, json_pack("{s:i, s:s}", "member_id", 2, "order", "gb-2"), 201);
    while (time(NULL) <= end)
        usleep(100000);
    st = call("POST", "/api/v1/campaigns/sweep", NULL);
    if (st != 200) CHECK_FAIL_("POST /api/v1/campaigns/sweep: %d — %.300s", st, buf);
}

/* The route's path with its parameters filled: {id} 1 (every fixture list has one), a
 * word otherwise. */
static void fill(const route *rt, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = rt->pattern; *p && n + 8 < len;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *v = strncmp(p, "{id}", 4) == 0     ? "1"
                            : strncmp(p, "{kind}", 6) == 0 ? "members"
                                                           : "sms";
            n += (size_t)snprintf(out + n, len - n, "%s", v);
            p = close + 1;
            continue;
        }
        out[n++] = *p++;
    }
    out[n] = 0;
}

/* 2. Every GET refuses a parameter it does not declare, naming it. */
static void test_unknown_parameters(void)
{
    int checked = 0;
    for (int i = 0; i < route_count; i++) {
        const route *rt = &routes[i];
        if (strcmp(rt->method, "GET") != 0) continue;
        char path[256], url[320];
        fill(rt, path, sizeof path);
        snprintf(url, sizeof url, "%s?phnoe=13900000001", path);
        int st;
        json_t *v = get_json(url, &st);
        const char *field =
            json_string_value(json_object_get(json_object_get(v, "error"), "field"));
        if (st != 400 || !field || strcmp(field, "phnoe") != 0)
            CHECK_FAIL_("GET %s with an unknown parameter: %d, want 400 naming phnoe — %.200s", url,
                        st, buf);
        json_decref(v);
        checked++;
    }
    fprintf(stderr, "unknown query parameters: %d GET routes refuse them\n", checked);
}

/* 3. Every list: limit is honoured and capped, next_cursor leads through every item once. */
static void test_pagination(void)
{
    int lists = 0, paged = 0;
    for (int i = 0; i < route_count; i++) {
        const route *rt = &routes[i];
        if (!rt->response || !strstr(rt->response, "[]")) continue;
        lists++;
        char path[256], url[512];
        fill(rt, path, sizeof path);
        /* a list that must be narrowed (messages: member_id or status) is, to member 1 */
        if (route_query_has(rt, "member_id"))
            strncat(path, "?member_id=1", sizeof path - strlen(path) - 1);
        const char *sep = strchr(path, '?') ? "&" : "?";
        int st;
        static const char *const bad[] = {"limit=0", "limit=1001", "limit=x", "cursor=-1"};
        for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
            snprintf(url, sizeof url, "%s%s%s", path, sep, bad[b]);
            json_t *v = get_json(url, &st);
            if (st != 400) CHECK_FAIL_("GET %s: %d, want 400 — %.200s", url, st, buf);
            json_decref(v);
        }
        snprintf(url, sizeof url, "%s%slimit=1000", path, sep);
        json_t *all = get_json(url, &st);
        json_t *items = json_object_get(all, "items");
        if (st != 200 || !json_is_array(items) ||
            !json_is_null(json_object_get(all, "next_cursor"))) {
            CHECK_FAIL_("GET %s: %d, want 200 with items and a null next_cursor — %.300s", url, st,
                        buf);
            json_decref(all);
            continue;
        }
        /* one item at a time, by cursor: the same items in the same order, then null */
        size_t k = 0;
        char cursor[64] = "";
        for (int pages = 0; pages <= (int)json_array_size(items) + 1; pages++) {
            snprintf(url, sizeof url, "%s%slimit=1%s%s", path, sep, *cursor ? "&cursor=" : "",
                     cursor);
            json_t *pg = get_json(url, &st);
            json_t *its = json_object_get(pg, "items"), *next = json_object_get(pg, "next_cursor");
            if (st != 200 || !json_is_array(its) || json_array_size(its) > 1 ||
                !(json_is_null(next) || json_is_string(next))) {
                CHECK_FAIL_("GET %s: %d, want at most one item and a string or null next_cursor — "
                            "%.300s",
                            url, st, buf);
                json_decref(pg);
                break;
            }
            if (json_array_size(its) == 1) {
                if (!json_equal(json_array_get(its, 0), json_array_get(items, k)))
                    CHECK_FAIL_("GET %s: item %zu differs from the list read at once", url, k);
                k++;
            }
            bool last = json_is_null(next);
            if (!last) snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
            json_decref(pg);
            if (last) break;
        }
        if (k != json_array_size(items))
            CHECK_FAIL_("GET %s: paging one by one gave %zu items, the whole list %zu", path, k,
                        json_array_size(items));
        if (k >= 2)
            paged++;
        else
            fprintf(stderr, "note: GET %s has %zu item(s) here: paged by one page only\n", path, k);
        json_decref(all);
    }
    fprintf(stderr, "pagination: %d lists, %d walked over two pages or more\n", lists, paged);
    CHECK(paged >= lists - 3); /* messages and tasks need a journey's run to fill */
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    test_declarations();
    test_long_with_declared();
    pid_t pid = harness_start(argv[1]);
    fd = conn_open();
    fixtures();
    test_unknown_parameters();
    test_pagination();
    close(fd);
    CHECK_INT_EQ(harness_stop(pid), 0);
    return CHECK_DONE();
}
