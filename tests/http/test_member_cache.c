/* test_member_cache.c — the member 360 kept in memory, against the real server.
 *
 * The server runs with SIYU_MEMBER_CACHE=verify: every answer it serves from memory it also
 * renders from the store and compares, counting a difference as stale. Each kind of write a
 * chain makes is followed by the 360 it changes, read as a kept answer was there to serve:
 * an order (stats), a manual tag and a rule tag (tags, which the member index derives), a
 * consent withdrawn (consents and reachability), a coupon issued (coupons), a profile
 * change, and an order imported by another process (the CLI), which shows once the cache's
 * poll of the change sequence has looked.
 * The kept answer of one role is not another's (a guide sees the phone masked), and a caller
 * out of scope is refused though the answer is kept. /metrics must count hits, and none
 * stale. Run: test_member_cache PATH_TO_SIYU */
#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "harness.h"

static char buf[1 << 20];
static pid_t pid;
static int fd;

static json_t *J_as(const char *tok, const char *method, const char *path, const char *body,
                    int *status)
{
    *status = request_as(fd, tok, method, path, body, buf, sizeof buf);
    return json_loads(buf, JSON_DECODE_ANY, NULL);
}

static json_t *J(const char *method, const char *path, const char *body, int *status)
{
    return J_as(token, method, path, body, status);
}

static int64_t create(const char *path, const char *body)
{
    int st;
    json_t *v = J("POST", path, body, &st);
    if (st != 201) fprintf(stderr, "POST %s %s: %d %s\n", path, body, st, buf);
    CHECK_INT_EQ(st, 201);
    int64_t id = json_integer_value(json_object_get(v, "id"));
    json_decref(v);
    return id;
}

static void token_of(int64_t staff, char *out, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/staff/%lld/tokens", (long long)staff);
    int st;
    json_t *v = J("POST", path, NULL, &st);
    CHECK_INT_EQ(st, 201);
    snprintf(out, cap, "%s", json_string_value(json_object_get(v, "token")));
    json_decref(v);
}

static long long metric(const char *name)
{
    CHECK_INT_EQ(request(fd, "GET", "/metrics", NULL, buf, sizeof buf), 200);
    size_t n = strlen(name);
    for (const char *p = buf; (p = strstr(p, name)); p += n)
        if ((p == buf || p[-1] == '\n') && p[n] == ' ') return atoll(p + n + 1);
    return -1;
}

static long long hits(void)
{
    return metric("siyu_member_cache_total{result=\"hit\"}");
}

/* The member's 360 as tok sees it, read twice: the second read is served from memory. */
static json_t *m360_as(const char *tok, int64_t m)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)m);
    int st;
    json_t *first = J_as(tok, "GET", path, NULL, &st);
    CHECK_INT_EQ(st, 200);
    long long h = hits();
    json_t *v = J_as(tok, "GET", path, NULL, &st);
    CHECK_INT_EQ(st, 200);
    CHECK_INT_EQ(hits(), h + 1); /* kept */
    CHECK(json_equal(first, v));
    json_decref(first);
    return v;
}

static json_t *m360(int64_t m)
{
    return m360_as(token, m);
}

static bool has_tag(json_t *v, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(v, "tags"), i,
                       t) if (strcmp(json_string_value(t), name) == 0) return true;
    return false;
}

static int64_t jint(json_t *v, const char *a, const char *b)
{
    json_t *x = json_object_get(v, a);
    return json_integer_value(b ? json_object_get(x, b) : x);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    setenv("SIYU_MEMBER_CACHE", "verify", 1);
    setenv("SIYU_MEMBER_CACHE_POLL_MS", "50", 1);
    pid = harness_start(argv[1]);
    fd = conn_open();
    int st;
    create("/api/v1/stores", "{\"name\":\"一店\",\"code\":\"S1\",\"kind\":\"physical\"}");
    int64_t g1 = create("/api/v1/staff", "{\"name\":\"导购甲\",\"role\":\"guide\",\"store_id\":1}");
    int64_t g2 = create("/api/v1/staff", "{\"name\":\"导购乙\",\"role\":\"guide\",\"store_id\":1}");
    char t1[128], t2[128];
    token_of(g1, t1, sizeof t1);
    token_of(g2, t2, sizeof t2);
    char body[512];
    snprintf(body, sizeof body,
             "{\"phone\":\"13900000001\",\"store_id\":1,\"guide_id\":%lld,\"city\":\"宁波\"}",
             (long long)g1);
    int64_t m = create("/api/v1/members", body);
    snprintf(body, sizeof body, "{\"phone\":\"13900000002\",\"store_id\":1,\"guide_id\":%lld}",
             (long long)g2);
    int64_t other = create("/api/v1/members", body);

    /* an order: the member's stats; the other member's kept answer still served */
    json_t *v = m360(m), *o = m360(other);
    CHECK_INT_EQ(jint(v, "stats", "orders"), 0);
    json_decref(v);
    json_decref(o);
    create("/api/v1/orders", "{\"channel\":\"store\",\"external_id\":\"A1\",\"store_id\":1,"
                             "\"member\":{\"phone\":\"13900000001\"},\"placed_at\":"
                             "\"2026-12-01T10:00:00+08:00\",\"total_cents\":1000,\"items\":"
                             "[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":1000}]}");
    v = m360(m);
    CHECK_INT_EQ(jint(v, "stats", "orders"), 1);
    json_decref(v);
    long long h = hits();
    char path[96];
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)other);
    json_decref(J("GET", path, NULL, &st));
    CHECK_INT_EQ(hits(), h + 1); /* untouched: still kept */

    /* a manual tag, then a rule tag (the index derives it: no store row of the member) */
    int64_t tag = create("/api/v1/tags", "{\"name\":\"团购\"}");
    snprintf(path, sizeof path, "/api/v1/tags/%lld/members", (long long)tag);
    snprintf(body, sizeof body, "{\"member_ids\":[%lld]}", (long long)m);
    json_decref(J("POST", path, body, &st));
    CHECK_INT_EQ(st, 200);
    v = m360(m);
    CHECK(has_tag(v, "团购"));
    CHECK(!has_tag(v, "宁波"));
    json_decref(v);
    create("/api/v1/tags", "{\"name\":\"宁波\",\"expr\":\"city = \\\"宁波\\\"\"}");
    v = m360(m);
    CHECK(has_tag(v, "宁波"));
    json_decref(v);

    /* a consent withdrawn */
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)m);
    json_decref(J("POST", path,
                  "{\"purpose\":\"marketing\",\"channel\":\"sms\",\"granted\":false,"
                  "\"source\":\"till\"}",
                  &st));
    CHECK_INT_EQ(st, 200);
    v = m360(m);
    CHECK_INT_EQ((long long)json_array_size(json_object_get(v, "consents")), 1);
    json_decref(v);

    /* a coupon issued */
    int64_t tpl = create("/api/v1/coupon-templates",
                         "{\"name\":\"十元券\",\"kind\":\"cash_off\",\"value_cents\":1000,"
                         "\"valid_days\":30}");
    snprintf(body, sizeof body, "{\"template_id\":%lld,\"member_id\":%lld}", (long long)tpl,
             (long long)m);
    create("/api/v1/coupons", body);
    v = m360(m);
    CHECK_INT_EQ((long long)json_array_size(json_object_get(v, "coupons")), 1);
    json_decref(v);

    /* a profile change */
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)m);
    json_decref(J("PATCH", path, "{\"name\":\"王小明\"}", &st));
    CHECK_INT_EQ(st, 200);
    v = m360(m);
    CHECK_STR_EQ(json_string_value(json_object_get(v, "name")), "王小明");
    json_decref(v);

    /* roles: a guide's answer has the phone masked, kept apart from the admin's; a guide out
     * of scope is refused though the answer is kept */
    v = m360_as(t1, m);
    const char *phone = json_string_value(json_object_get(v, "phone"));
    CHECK(phone && strchr(phone, '*'));
    json_decref(v);
    v = m360(m);
    CHECK_STR_EQ(json_string_value(json_object_get(v, "phone")), "13900000001");
    json_decref(v);
    json_decref(J_as(t2, "GET", path, NULL, &st));
    CHECK_INT_EQ(st, 403);

    /* another process writes (the CLI imports an order): shown within a second */
    v = m360(m);
    json_decref(v);
    char file[600], cmd[1400];
    snprintf(file, sizeof file, "%s/o.ndjson", dir);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    fprintf(f, "{\"channel\":\"store\",\"external_id\":\"CLI1\",\"store_id\":1,"
               "\"member\":{\"phone\":\"13900000001\"},\"placed_at\":"
               "\"2026-12-02T10:00:00+08:00\",\"total_cents\":500,\"items\":"
               "[{\"sku\":\"B\",\"qty\":1,\"unit_price_cents\":500}]}\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s import orders %s --db %s >/dev/null", siyu, file, db);
    CHECK_INT_EQ(run(cmd, NULL, 0), 0);
    /* until the poll has looked (every 50 ms here) a kept answer may be a moment behind,
     * which verify mode would count: the read comes after a few polls */
    usleep(400000);
    v = J("GET", path, NULL, &st);
    CHECK_INT_EQ(jint(v, "stats", "orders"), 2);
    json_decref(v);

    CHECK(hits() > 10);
    CHECK_INT_EQ(metric("siyu_member_cache_stale_total"), 0);
    close(fd);
    CHECK_INT_EQ(harness_stop(pid), 0);
    return CHECK_DONE();
}
