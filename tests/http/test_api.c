/* test_api.c — the HTTP contract of api.md against the real server: the OpenAPI document
 * lists exactly what is served, tokens and scopes, bad input never writes, Idempotency-Key
 * replays, bulk import over HTTP and the CLI, metrics, and reports that follow writes.
 * Run: test_api PATH_TO_SIYU */
#include <check.h>
#include <jansson.h>
#include <stdbool.h>

#include "harness.h"

static char buf[1 << 20];

static json_t *J(int fd, const char *method, const char *path, const char *body, int *status)
{
    *status = request(fd, method, path, body, buf, sizeof buf);
    return json_loads(buf, JSON_DECODE_ANY, NULL);
}

static const char *err_field(json_t *v)
{
    return json_string_value(json_object_get(json_object_get(v, "error"), "field"));
}

static const char *err_code(json_t *v)
{
    return json_string_value(json_object_get(json_object_get(v, "error"), "code"));
}

/* True when the server answered "there is no such route" rather than running one. */
static bool no_route(int status, json_t *v)
{
    const char *m = json_string_value(json_object_get(json_object_get(v, "error"), "message"));
    /* an unknown path is a 404; a known path with a method it lacks is a 405 */
    return (status == 404 && m && strncmp(m, "no route", 8) == 0) ||
           (status == 405 && m && strstr(m, "is not allowed on"));
}

static void test_openapi(int fd)
{
    int st;
    json_t *doc = J(fd, "GET", "/api/v1/openapi.json", NULL, &st);
    CHECK_INT_EQ(st, 200);
    json_t *paths = json_object_get(doc, "paths");
    CHECK(json_object_size(paths) > 10);
    const char *path;
    json_t *item;
    int ops = 0;
    json_object_foreach(paths, path, item)
    {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            char url[256], upper[8];
            size_t k = 0;
            for (; method[k] && k < 7; k++)
                upper[k] = (char)(method[k] - 32);
            upper[k] = 0;
            /* fill the path parameters with values that exist in no store */
            const char *p = path;
            size_t n = 0;
            while (*p && n < sizeof url - 16) {
                if (strncmp(p, "{id}", 4) == 0) {
                    n += (size_t)snprintf(url + n, sizeof url - n, "999999");
                    p += 4;
                } else if (strncmp(p, "{kind}", 6) == 0) {
                    n += (size_t)snprintf(url + n, sizeof url - n, "orders");
                    p += 6;
                } else {
                    url[n++] = *p++;
                }
            }
            url[n] = 0;
            json_t *v = J(fd, upper, url, strcmp(upper, "GET") ? "{}" : NULL, &st);
            if (no_route(st, v)) fprintf(stderr, "documented but not served: %s %s\n", upper, url);
            CHECK(!no_route(st, v));
            json_decref(v);
            ops++;
        }
    }
    CHECK(ops >= 25);
    /* what is not documented is not served */
    json_t *v = J(fd, "DELETE", "/api/v1/members/1", NULL, &st);
    CHECK(no_route(st, v));
    json_decref(v);
    v = J(fd, "GET", "/api/v1/nothing", NULL, &st);
    CHECK(no_route(st, v));
    json_decref(v);
    CHECK(json_object_get(paths, "/api/v1/nothing") == NULL);
    json_decref(doc);
}

static void test_auth_and_scope(int fd)
{
    int st;
    /* no token, a bad token */
    st = request_as(fd, "", "GET", "/api/v1/members", NULL, buf, sizeof buf);
    CHECK_INT_EQ(st, 401);
    st = request_as(fd, "sy_0000000000000000000000000000000000000000000000000000000000000000",
                    "GET", "/api/v1/members", NULL, buf, sizeof buf);
    CHECK_INT_EQ(st, 401);
    st = request_as(fd, "", "GET", "/healthz", NULL, buf, sizeof buf);
    CHECK_INT_EQ(st, 200);
    /* org: two stores, a guide in store 1 */
    json_t *v = J(fd, "POST", "/api/v1/stores",
                  "{\"name\":\"一店\",\"code\":\"S1\",\"kind\":\"physical\"}", &st);
    CHECK_INT_EQ(st, 201);
    json_decref(v);
    v = J(fd, "POST", "/api/v1/stores", "{\"name\":\"商城\",\"code\":\"M1\",\"kind\":\"mall\"}",
          &st);
    CHECK_INT_EQ(st, 201);
    json_decref(v);
    v = J(fd, "POST", "/api/v1/staff", "{\"name\":\"王芳\",\"role\":\"guide\",\"store_id\":1}",
          &st);
    CHECK_INT_EQ(st, 201);
    int64_t guide = json_integer_value(json_object_get(v, "id"));
    json_decref(v);
    char path[128];
    snprintf(path, sizeof path, "/api/v1/staff/%lld/tokens", (long long)guide);
    v = J(fd, "POST", path, NULL, &st);
    CHECK_INT_EQ(st, 201);
    char gtok[128];
    snprintf(gtok, sizeof gtok, "%s", json_string_value(json_object_get(v, "token")));
    json_decref(v);
    char body[256];
    snprintf(body, sizeof body, "{\"phone\":\"13812345678\",\"name\":\"张伟\",\"guide_id\":%lld}",
             (long long)guide);
    v = J(fd, "POST", "/api/v1/members", body, &st);
    CHECK_INT_EQ(st, 201);
    int64_t mine = json_integer_value(json_object_get(v, "id"));
    json_decref(v);
    v = J(fd, "POST", "/api/v1/members", "{\"phone\":\"13900000000\"}", &st);
    int64_t other = json_integer_value(json_object_get(v, "id"));
    json_decref(v);
    /* the guide sees their member with the phone masked, and not the other */
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)mine);
    st = request_as(fd, gtok, "GET", path, NULL, buf, sizeof buf);
    CHECK_INT_EQ(st, 200);
    v = json_loads(buf, 0, NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(v, "phone")), "138****5678");
    json_decref(v);
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)other);
    st = request_as(fd, gtok, "GET", path, NULL, buf, sizeof buf);
    CHECK_INT_EQ(st, 403);
    /* a guide may not record orders, nor create staff */
    st = request_as(fd, gtok, "POST", "/api/v1/staff",
                    "{\"name\":\"x\",\"role\":\"guide\",\"store_id\":1}", buf, sizeof buf);
    CHECK_INT_EQ(st, 403);
    /* the guide's member list holds exactly their member */
    st = request_as(fd, gtok, "GET", "/api/v1/members", NULL, buf, sizeof buf);
    CHECK_INT_EQ(st, 200);
    v = json_loads(buf, 0, NULL);
    CHECK_INT_EQ(json_array_size(json_object_get(v, "items")), 1);
    json_decref(v);
}

static int order_count(int fd)
{
    int st;
    json_t *v = J(fd, "GET", "/api/v1/orders?limit=1000", NULL, &st);
    int n = (int)json_array_size(json_object_get(v, "items"));
    json_decref(v);
    return n;
}

static void test_bad_input(int fd)
{
    int before = order_count(fd), st;
    static const struct {
        const char *body;
        int status;
        const char *field;
    } bad[] = {
        {"{\"channel\":\"store\"", 400, NULL},
        {"[1,2]", 400, NULL},
        {"{\"channel\":\"store\",\"external_id\":\"x\",\"store_id\":\"1\",\"placed_at\":\"2026-11-"
         "20T10:00:00+08:00\",\"total_cents\":100,\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_"
         "cents\":100}]}",
         400, "store_id"},
        {"{\"channel\":\"store\",\"external_id\":\"x\",\"store_id\":1,\"placed_at\":\"2026-11-"
         "20T10:00:00+08:00\",\"total_cents\":100,\"items\":[{\"sku\":\"A\",\"qty\":-1,\"unit_"
         "price_cents\":100}]}",
         400, "items[0].qty"},
        {"{\"channel\":\"store\",\"external_id\":\"x\",\"store_id\":1,\"placed_at\":\"2026-13-"
         "20T10:00:00+08:00\",\"total_cents\":100,\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_"
         "cents\":100}]}",
         400, "placed_at"},
        {"{\"channel\":\"store\",\"external_id\":\"x\",\"store_id\":77,\"placed_at\":\"2026-11-"
         "20T10:00:00+08:00\",\"total_cents\":100,\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_"
         "cents\":100}]}",
         404, "store_id"},
        {"{\"channel\":\"store\",\"external_id\":\"x\",\"store_id\":1,\"placed_at\":\"2026-11-"
         "20T10:00:00+08:00\",\"total_cents\":100,\"member\":{\"phone\":\"123\"},\"items\":[{"
         "\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":100}]}",
         400, "member.phone"},
        {"{\"channel\":\"store\",\"external_id\":\"x\",\"store_id\":1,\"placed_at\":\"2026-11-"
         "20T10:00:00+08:00\",\"total_cents\":100,\"bogus\":1,\"items\":[{\"sku\":\"A\",\"qty\":1,"
         "\"unit_price_cents\":100}]}",
         400, "bogus"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *v = J(fd, "POST", "/api/v1/orders", bad[i].body, &st);
        CHECK_INT_EQ(st, bad[i].status);
        CHECK(err_code(v) != NULL);
        if (bad[i].field) CHECK_STR_EQ(err_field(v), bad[i].field);
        json_decref(v);
    }
    /* nesting deeper than 32 levels */
    char deep[200] = "{\"a\":";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    json_t *v = J(fd, "POST", "/api/v1/orders", deep, &st);
    CHECK_INT_EQ(st, 400);
    json_decref(v);
    /* a body over 1 MiB (POST /members; POST /orders takes more: it fits the line cap) */
    size_t big = (1u << 20) + 100;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    huge[big] = 0;
    int hfd = conn_open();
    char head[256];
    int n = snprintf(head, sizeof head,
                     "POST /api/v1/members HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     token, big);
    CHECK(send(hfd, head, (size_t)n, MSG_NOSIGNAL) == n);
    send(hfd, huge, big, MSG_NOSIGNAL);
    ssize_t r = recv(hfd, buf, sizeof buf - 1, 0);
    buf[r > 0 ? r : 0] = 0;
    harness_record_raw("POST", "/api/v1/members", buf, r > 0 ? (size_t)r : 0);
    CHECK(strstr(buf, " 413 ") != NULL);
    CHECK(strstr(buf, "payload_too_large") != NULL);
    close(hfd);
    free(huge);
    CHECK_INT_EQ(order_count(fd), before);
}

/* POST /orders is checked by the worker before it is queued (route.prepare), and written
 * from what the worker found. A body the worker refuses still meets the scope rule first
 * on the writer: a manager's malformed order for another store is a 403, not a 400. And
 * an order sent with an Idempotency-Key (answered on the writer) is the same as one
 * answered after the commit. */
static void test_orders_prepared(int fd)
{
    int st;
    json_t *v = J(fd, "POST", "/api/v1/staff",
                  "{\"name\":\"店长\",\"role\":\"store_manager\",\"store_id\":1}", &st);
    CHECK_INT_EQ(st, 201);
    char path[128];
    snprintf(path, sizeof path, "/api/v1/staff/%lld/tokens",
             (long long)json_integer_value(json_object_get(v, "id")));
    json_decref(v);
    v = J(fd, "POST", path, NULL, &st);
    CHECK_INT_EQ(st, 201);
    char mtok[128];
    snprintf(mtok, sizeof mtok, "%s", json_string_value(json_object_get(v, "token")));
    json_decref(v);
    static const char *const fmt =
        "{\"channel\":\"store\",\"external_id\":\"%s\",\"store_id\":%d,\"placed_at\":\"2026-11-"
        "20T10:00:00+08:00\",\"total_cents\":%d,\"items\":[{\"sku\":\"A\",\"qty\":%d,"
        "\"unit_price_cents\":100}]}";
    char body[512];
    int before = order_count(fd);
    snprintf(body, sizeof body, fmt, "P1", 2, 100, -1);
    st = request_as(fd, mtok, "POST", "/api/v1/orders", body, buf, sizeof buf);
    CHECK_INT_EQ(st, 403); /* the other store: the scope speaks before the body's checks */
    v = json_loads(buf, 0, NULL);
    CHECK_STR_EQ(err_field(v), "store_id");
    json_decref(v);
    snprintf(body, sizeof body, fmt, "P1", 1, 100, -1);
    st = request_as(fd, mtok, "POST", "/api/v1/orders", body, buf, sizeof buf);
    CHECK_INT_EQ(st, 400);
    v = json_loads(buf, 0, NULL);
    CHECK_STR_EQ(err_field(v), "items[0].qty");
    json_decref(v);
    snprintf(body, sizeof body, fmt, "P1", 1, 300, 3);
    st = request_as(fd, mtok, "POST", "/api/v1/orders", body, buf, sizeof buf);
    CHECK_INT_EQ(st, 201);
    json_t *made = json_loads(buf, 0, NULL);
    CHECK_INT_EQ(json_integer_value(json_object_get(made, "total_cents")), 300);
    CHECK_INT_EQ(order_count(fd), before + 1);
    /* the same order again with an Idempotency-Key: answered on the writer, the same JSON */
    st = request_hdr(fd, mtok, "POST", "/api/v1/orders", "Idempotency-Key: order-P1\r\n", body, buf,
                     sizeof buf);
    CHECK_INT_EQ(st, 200); /* the order exists: a replay by its key */
    json_t *again = json_loads(buf, 0, NULL);
    CHECK(again && json_equal(again, made));
    json_decref(again);
    json_decref(made);
    CHECK_INT_EQ(order_count(fd), before + 1);
}

static void test_idempotency_key(int fd)
{
    const char *body = "{\"card_no\":\"IK1\",\"name\":\"一\"}";
    char req[1024], first[4096];
    int n = snprintf(req, sizeof req,
                     "POST /api/v1/members HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     "Idempotency-Key: k-1\r\nContent-Length: %zu\r\n\r\n%s",
                     token, strlen(body), body);
    int kfd = conn_open();
    CHECK(send(kfd, req, (size_t)n, MSG_NOSIGNAL) == n);
    ssize_t r = recv(kfd, first, sizeof first - 1, 0);
    first[r > 0 ? r : 0] = 0;
    harness_record_raw("POST", "/api/v1/members", first, r > 0 ? (size_t)r : 0);
    CHECK(strstr(first, " 201 ") != NULL);
    CHECK(send(kfd, req, (size_t)n, MSG_NOSIGNAL) == n);
    r = recv(kfd, buf, sizeof buf - 1, 0);
    buf[r > 0 ? r : 0] = 0;
    harness_record_raw("POST", "/api/v1/members", buf, r > 0 ? (size_t)r : 0);
    CHECK(strstr(buf, " 200 ") != NULL);
    CHECK_STR_EQ(strstr(buf, "\r\n\r\n"), strstr(first, "\r\n\r\n")); /* the first answer */
    const char *other = "{\"card_no\":\"IK2\"}";
    n = snprintf(req, sizeof req,
                 "POST /api/v1/members HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                 "Idempotency-Key: k-1\r\nContent-Length: %zu\r\n\r\n%s",
                 token, strlen(other), other);
    CHECK(send(kfd, req, (size_t)n, MSG_NOSIGNAL) == n);
    r = recv(kfd, buf, sizeof buf - 1, 0);
    buf[r > 0 ? r : 0] = 0;
    harness_record_raw("POST", "/api/v1/members", buf, r > 0 ? (size_t)r : 0);
    CHECK(strstr(buf, " 409 ") != NULL);
    close(kfd);
}

static void test_import_and_reports(int fd)
{
    int st;
    /* NDJSON over HTTP: line 2 is bad */
    json_t *v = J(fd, "POST", "/api/v1/import/orders",
                  "{\"channel\":\"store\",\"external_id\":\"I1\",\"store_id\":1,\"placed_at\":"
                  "\"2026-11-20T10:00:00+08:00\",\"total_cents\":500,\"member\":{\"card_no\":"
                  "\"IK1\"},\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":500}]}\n"
                  "{\"channel\":\"store\",\"external_id\":\"I2\",\"store_id\":1,\"placed_at\":"
                  "\"2026-11-20T10:00:00+08:00\",\"total_cents\":1,\"items\":[{\"sku\":\"A\","
                  "\"qty\":1,\"unit_price_cents\":500}]}\n"
                  "{\"channel\":\"mall\",\"external_id\":\"I3\",\"store_id\":2,\"placed_at\":"
                  "\"2026-11-21T10:00:00+08:00\",\"total_cents\":700,\"items\":[{\"sku\":\"B\","
                  "\"qty\":1,\"unit_price_cents\":700}]}\n",
                  &st);
    CHECK_INT_EQ(st, 200);
    CHECK_INT_EQ(json_integer_value(json_object_get(v, "imported")), 2);
    CHECK_INT_EQ(json_integer_value(json_object_get(v, "rejected")), 1);
    CHECK_INT_EQ(json_integer_value(
                     json_object_get(json_array_get(json_object_get(v, "errors"), 0), "line")),
                 2);
    json_decref(v);
    /* CSV through the CLI, beside the running server */
    char csv[256], cmd[600], out[512];
    snprintf(csv, sizeof csv, "%s/o.csv", dir);
    FILE *f = fopen(csv, "w");
    fputs("channel,external_id,store_id,placed_at,total_cents,sku,qty,unit_price_cents\n"
          "store,C1,1,2026-11-21T11:00:00+08:00,300,A,1,300\n"
          "store,C2,1,2026-11-21T11:00:00+08:00,abc,A,1,300\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s import orders %s --db %s 2>%s/err.txt", siyu, csv, db, dir);
    CHECK_INT_EQ(run(cmd, out, sizeof out), 1 << 8); /* a partial import exits 1 */
    CHECK(strstr(out, "imported 1, duplicates 0, rejected 1") != NULL);
    snprintf(cmd, sizeof cmd, "cat %s/err.txt", dir);
    run(cmd, out, sizeof out);
    CHECK(strstr(out, "line 3: total_cents: not an integer") != NULL);
    /* reports follow the writes that went through the server: I1 and I3 on 11-20/21 */
    v = J(fd, "GET", "/api/v1/reports/kpi?from=2026-11-20&to=2026-11-21", NULL, &st);
    CHECK_INT_EQ(st, 200);
    json_t *cur = json_object_get(v, "current");
    CHECK_INT_EQ(json_integer_value(json_object_get(cur, "orders")), 2);
    CHECK_INT_EQ(json_integer_value(json_object_get(cur, "member_orders")), 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(cur, "net_sales_cents")), 1200);
    json_decref(v);
}

/* Audiences over the real server, against answers worked out from what was posted:
 * three members in 杭州 / 上海 with 0, 1 and 2 orders. */
static void test_segments(int fd)
{
    int st;
    json_t *v;
    v = J(fd, "POST", "/api/v1/members", "{\"card_no\":\"SG1\",\"city\":\"杭州\"}", &st);
    CHECK_INT_EQ(st, 201);
    int64_t m1 = json_integer_value(json_object_get(v, "id"));
    json_decref(v);
    v = J(fd, "POST", "/api/v1/members", "{\"card_no\":\"SG2\",\"city\":\"杭州\"}", &st);
    json_decref(v);
    v = J(fd, "POST", "/api/v1/members", "{\"card_no\":\"SG3\",\"city\":\"上海\"}", &st);
    json_decref(v);
    static const char *const orders[] = {
        "{\"channel\":\"store\",\"external_id\":\"SGO1\",\"store_id\":1,\"placed_at\":\"2026-11-"
        "20T10:00:00+08:00\",\"total_cents\":5000,\"member\":{\"card_no\":\"SG1\"},\"items\":[{"
        "\"sku\":\"A\",\"category\":\"生鲜\",\"qty\":1,\"unit_price_cents\":5000}]}",
        "{\"channel\":\"store\",\"external_id\":\"SGO2\",\"store_id\":1,\"placed_at\":\"2026-11-"
        "21T10:00:00+08:00\",\"total_cents\":3000,\"member\":{\"card_no\":\"SG1\"},\"items\":[{"
        "\"sku\":\"B\",\"category\":\"日化\",\"qty\":1,\"unit_price_cents\":3000}]}",
        "{\"channel\":\"mall\",\"external_id\":\"SGO3\",\"store_id\":2,\"placed_at\":\"2026-11-"
        "21T10:00:00+08:00\",\"total_cents\":800,\"member\":{\"card_no\":\"SG3\"},\"items\":[{"
        "\"sku\":\"C\",\"qty\":1,\"unit_price_cents\":800}]}",
    };
    for (size_t i = 0; i < 3; i++) {
        v = J(fd, "POST", "/api/v1/orders", orders[i], &st);
        CHECK_INT_EQ(st, 201);
        json_decref(v);
    }
    static const struct {
        const char *expr;
        int64_t count;
    } cases[] = {
        {"city = \\\"杭州\\\"", 2},
        {"city = \\\"杭州\\\" and orders >= 2", 1},
        {"city in (\\\"杭州\\\", \\\"上海\\\") and orders >= 1", 2},
        {"favourite_category = \\\"生鲜\\\" and spend_cents = 8000", 1},
        {"not city = \\\"杭州\\\" and orders = 1 and spend_cents between 800 and 800", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char body[400];
        snprintf(body, sizeof body, "{\"expr\":\"%s\"}", cases[i].expr);
        v = J(fd, "POST", "/api/v1/segments/count", body, &st);
        CHECK_INT_EQ(st, 200);
        /* the members created in this test only: restrict to their cards' cities and ids */
        int64_t n = json_integer_value(json_object_get(v, "count"));
        if (n != cases[i].count) fprintf(stderr, "expr %s: %lld\n", cases[i].expr, (long long)n);
        CHECK_INT_EQ(n, cases[i].count);
        json_decref(v);
    }
    /* a bad expression names the column, and is never an empty audience */
    v = J(fd, "POST", "/api/v1/segments/count", "{\"expr\":\"orders >= 1 and spend_356d > 0\"}",
          &st);
    CHECK_INT_EQ(st, 400);
    CHECK_STR_EQ(err_field(v), "expr");
    CHECK(strstr(json_string_value(json_object_get(json_object_get(v, "error"), "message")),
                 "column 17") != NULL);
    json_decref(v);
    /* a manual tag, a rule tag, a saved segment, the member 360 */
    v = J(fd, "POST", "/api/v1/tags", "{\"name\":\"常客\"}", &st);
    CHECK_INT_EQ(st, 201);
    int64_t tag = json_integer_value(json_object_get(v, "id"));
    json_decref(v);
    char path[128], body[128];
    snprintf(path, sizeof path, "/api/v1/tags/%lld/members", (long long)tag);
    snprintf(body, sizeof body, "{\"member_ids\":[%lld]}", (long long)m1);
    v = J(fd, "POST", path, body, &st);
    CHECK_INT_EQ(st, 200);
    json_decref(v);
    v = J(fd, "POST", "/api/v1/tags", "{\"name\":\"大单\",\"expr\":\"spend_cents >= 8000\"}", &st);
    CHECK_INT_EQ(st, 201);
    json_decref(v);
    v = J(fd, "POST", "/api/v1/segments/count", "{\"expr\":\"tag:常客 and tag:\\\"大单\\\"\"}",
          &st);
    CHECK_INT_EQ(st, 200);
    CHECK_INT_EQ(json_integer_value(json_object_get(v, "count")), 1);
    json_decref(v);
    v = J(fd, "POST", "/api/v1/segments",
          "{\"name\":\"杭州会员\",\"expr\":\"city = \\\"杭州\\\"\"}", &st);
    CHECK_INT_EQ(st, 201);
    int64_t seg = json_integer_value(json_object_get(v, "id"));
    json_decref(v);
    snprintf(path, sizeof path, "/api/v1/segments/%lld", (long long)seg);
    v = J(fd, "GET", path, NULL, &st);
    CHECK_INT_EQ(json_integer_value(json_object_get(v, "count")), 2);
    json_decref(v);
    snprintf(path, sizeof path, "/api/v1/segments/%lld/export", (long long)seg);
    st = request(fd, "GET", path, NULL, buf, sizeof buf);
    CHECK_INT_EQ(st, 200);
    CHECK(strncmp(buf, "member_id,name,phone", 20) == 0);
    int lines = 0;
    for (char *p = buf; *p; p++)
        lines += *p == '\n';
    CHECK_INT_EQ(lines, 3); /* header and two members */
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)m1);
    v = J(fd, "GET", path, NULL, &st);
    json_t *tags = json_object_get(v, "tags");
    CHECK_INT_EQ(json_array_size(tags), 2);
    CHECK(json_is_string(json_object_get(v, "lifecycle")));
    json_decref(v);
}

static void test_metrics(int fd)
{
    int st = request(fd, "GET", "/metrics", NULL, buf, sizeof buf);
    CHECK_INT_EQ(st, 200);
    CHECK(
        strstr(
            buf,
            "siyu_http_requests_total{method=\"POST\",route=\"/api/v1/members\",status=\"2xx\"}") !=
        NULL);
    CHECK(strstr(buf, "siyu_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/"
                      "orders\",le=\"+Inf\"}") != NULL);
    CHECK(strstr(buf, "siyu_store_bytes ") != NULL);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    pid_t pid = harness_start(argv[1]);
    int fd = conn_open();
    test_auth_and_scope(fd);
    test_openapi(fd);
    test_bad_input(fd);
    test_idempotency_key(fd);
    test_import_and_reports(fd);
    test_segments(fd);
    test_metrics(fd);
    test_orders_prepared(fd); /* last: the reports above count their own orders */
    close(fd);
    CHECK_INT_EQ(harness_stop(pid), 0);
    return CHECK_DONE();
}
