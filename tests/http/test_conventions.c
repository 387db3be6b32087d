/* test_conventions.c — the HTTP conventions every route keeps, checked on the real server.
 *
 * HEAD answers every GET route of routes[] with the GET's status and type and no body; a
 * method a path does not have is a 405 naming the path's methods in Allow; OPTIONS on a
 * known path is a 204 with Allow; a 201 with an id carries the created resource's
 * Location; a 401 carries WWW-Authenticate; an answer replayed from an Idempotency-Key
 * carries Idempotency-Replayed.
 * Run: test_conventions PATH_TO_SIYU */
#include <check.h>
#include <jansson.h>
#include <stdbool.h>

#include "harness.h"
#include "http/router.h"

static int fd;
static char head[16384], body[1 << 20];

/* One request on the keep-alive connection, keeping the answer's header block (head)
 * apart from its body. A HEAD or 204 answer has no body whatever its Content-Length. */
static int call(const char *tok, const char *method, const char *path, const char *extra,
                const char *json)
{
    char req[8192];
    size_t blen = json ? strlen(json) : 0;
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, tok ? "Authorization: Bearer " : "", tok ? tok : "",
                     tok ? "\r\n" : "", extra ? extra : "", blen, json ? json : "");
    if (n <= 0 || (size_t)n >= sizeof req || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        fd = conn_open();
        if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) return -1;
    }
    static char in[sizeof head + sizeof body];
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(fd, in + got, sizeof in - 1 - got, 0);
        if (r <= 0) return -1;
        got += (size_t)r;
        in[got] = 0;
        char *end = strstr(in, "\r\n\r\n");
        if (!end) continue;
        size_t hl = (size_t)(end + 4 - in);
        int status = atoi(in + 9);
        char *cl = strcasestr(in, "Content-Length:");
        size_t want = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
        if (strcmp(method, "HEAD") == 0 || status == 204) want = 0;
        if (got < hl + want) continue;
        if (got > hl + want) /* bytes past the answer: a body where none belongs */
            want = got - hl;
        harness_record_raw(method, path, in, hl + want);
        memcpy(head, in, hl < sizeof head ? hl : sizeof head - 1);
        head[hl < sizeof head ? hl : sizeof head - 1] = 0;
        memcpy(body, in + hl, want);
        body[want] = 0;
        return status;
    }
}

/* The value of header name in the last answer, or "" (case-insensitive name). */
static const char *header(const char *name)
{
    static char v[512];
    v[0] = 0;
    char pat[128];
    snprintf(pat, sizeof pat, "\r\n%s:", name);
    char *h = strcasestr(head, pat);
    if (!h) return v;
    h += strlen(pat);
    while (*h == ' ')
        h++;
    size_t n = strcspn(h, "\r\n");
    if (n >= sizeof v) n = sizeof v - 1;
    memcpy(v, h, n);
    v[n] = 0;
    return v;
}

/* Whether an Allow value ("GET, HEAD, OPTIONS") names method m. */
static bool allow_has(const char *allow, const char *m)
{
    size_t n = strlen(m);
    for (const char *a = allow; *a;) {
        size_t k = strcspn(a, ", ");
        if (k == n && strncmp(a, m, n) == 0) return true;
        a += k;
        a += strspn(a, ", ");
    }
    return false;
}

/* A concrete path of a pattern: {id} is 1, any other parameter a word. */
static void concrete(const char *pattern, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = pattern; *p && n + 8 < len;) {
        if (*p == '{') {
            bool id = strncmp(p, "{id}", 4) == 0;
            n += (size_t)snprintf(out + n, len - n, "%s", id ? "1" : "x");
            p = strchr(p, '}') + 1;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = 0;
}

static void test_head_every_get(void)
{
    int checked = 0;
    for (int i = 0; i < route_count; i++) {
        if (strcmp(routes[i].method, "GET") != 0) continue;
        char path[256];
        concrete(routes[i].pattern, path, sizeof path);
        int get = call(token, "GET", path, NULL, NULL);
        char type[256];
        snprintf(type, sizeof type, "%s", header("Content-Type"));
        int hd = call(token, "HEAD", path, NULL, NULL);
        if (hd != get) fprintf(stderr, "HEAD %s: %d, GET: %d\n", path, hd, get);
        CHECK_INT_EQ(hd, get);
        CHECK_STR_EQ(header("Content-Type"), type);
        CHECK_INT_EQ((int)strlen(body), 0);
        checked++;
    }
    CHECK(checked > 20);
    /* the public ones too, without a token */
    CHECK_INT_EQ(call(NULL, "HEAD", "/healthz", NULL, NULL), 200);
    CHECK_INT_EQ((int)strlen(body), 0);
    /* an unknown path stays a 404 */
    CHECK_INT_EQ(call(token, "HEAD", "/api/v1/nothing-here", NULL, NULL), 404);
}

/* Every path of the table: a method it lacks is a 405 listing the methods it has, in
 * Allow; OPTIONS lists them with a 204. */
static void test_405_and_options(void)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    int checked = 0;
    for (int i = 0; i < route_count; i++) {
        char path[256];
        concrete(routes[i].pattern, path, sizeof path);
        char want[512] = "";
        size_t n = 0;
        for (size_t m = 0; m < sizeof methods / sizeof *methods; m++) {
            http_req probe;
            memset(&probe, 0, sizeof probe);
            bool has = router_match(methods[m], path, &probe) >= 0; /* the table's own match */
            if (has) n += (size_t)snprintf(want + n, sizeof want - n, "%s,", methods[m]);
        }
        for (size_t m = 0; m < sizeof methods / sizeof *methods; m++) {
            char tag[16];
            snprintf(tag, sizeof tag, "%s,", methods[m]);
            if (strstr(want, tag)) continue;
            int st = call(token, methods[m], path, NULL, methods[m][0] == 'P' ? "{}" : NULL);
            if (st != 405) fprintf(stderr, "%s %s: %d, not 405\n", methods[m], path, st);
            CHECK_INT_EQ(st, 405);
            const char *allow = header("Allow");
            /* Allow names every method the path has, and not this one */
            for (char *w = want; *w;) {
                size_t k = strcspn(w, ",");
                char one[16];
                snprintf(one, sizeof one, "%.*s", (int)k, w);
                if (!allow_has(allow, one))
                    fprintf(stderr, "%s: Allow %s lacks %s\n", path, allow, one);
                CHECK(allow_has(allow, one));
                w += k + 1;
            }
            CHECK(!allow_has(allow, methods[m]));
            json_t *e = json_loads(body, 0, NULL);
            CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(e, "error"), "code")),
                         "method_not_allowed");
            json_decref(e);
            checked++;
            break; /* one missing method per path is enough */
        }
        int st = call(NULL, "OPTIONS", path, NULL, NULL);
        CHECK_INT_EQ(st, 204);
        CHECK(allow_has(header("Allow"), "OPTIONS"));
        CHECK(allow_has(header("Allow"), routes[i].method));
        CHECK_INT_EQ((int)strlen(body), 0);
    }
    CHECK(checked > 10);
    CHECK_INT_EQ(call(NULL, "OPTIONS", "/api/v1/nothing-here", NULL, NULL), 404);
    /* /api/v1/members has GET and POST: a DELETE names both, and HEAD */
    CHECK_INT_EQ(call(token, "DELETE", "/api/v1/members", NULL, NULL), 405);
    CHECK(allow_has(header("Allow"), "GET") && allow_has(header("Allow"), "POST") &&
          allow_has(header("Allow"), "HEAD") && !allow_has(header("Allow"), "DELETE"));
}

static int64_t created(const char *path, const char *json, const char *want_prefix)
{
    int st = call(token, "POST", path, NULL, json);
    CHECK_INT_EQ(st, 201);
    json_t *o = json_loads(body, 0, NULL);
    int64_t id = json_integer_value(json_object_get(o, "id"));
    json_decref(o);
    char want[128];
    snprintf(want, sizeof want, "%s/%lld", want_prefix, (long long)id);
    CHECK(id > 0);
    CHECK_STR_EQ(header("Location"), want);
    /* the Location answers */
    CHECK_INT_EQ(call(token, "GET", want, NULL, NULL), 200);
    return id;
}

static void test_location(void)
{
    int64_t store =
        created("/api/v1/stores", "{\"name\":\"S\",\"code\":\"S1\",\"kind\":\"physical\"}",
                "/api/v1/stores");
    char b[1024];
    snprintf(b, sizeof b, "{\"phone\":\"13800000009\",\"name\":\"M\",\"store_id\":%lld}",
             (long long)store);
    int64_t member = created("/api/v1/members", b, "/api/v1/members");
    snprintf(b, sizeof b,
             "{\"channel\":\"store\",\"external_id\":\"LOC-1\",\"store_id\":%lld,"
             "\"member_id\":%lld,\"placed_at\":\"2026-11-01T10:00:00+08:00\","
             "\"total_cents\":2000,\"items\":[{\"sku\":\"K\",\"qty\":1,"
             "\"unit_price_cents\":2000}]}",
             (long long)store, (long long)member);
    int64_t order = created("/api/v1/orders", b, "/api/v1/orders");
    /* the same order again is a replay: 200, marked, no Location */
    CHECK_INT_EQ(call(token, "POST", "/api/v1/orders", NULL, b), 200);
    CHECK_STR_EQ(header("Idempotency-Replayed"), "true");
    CHECK_STR_EQ(header("Location"), "");
    char path[64];
    snprintf(path, sizeof path, "/api/v1/orders/%lld/refunds", (long long)order);
    const char *rf = "{\"external_id\":\"RF-1\",\"amount_cents\":500}";
    CHECK_INT_EQ(call(token, "POST", path, NULL, rf), 201);
    CHECK_STR_EQ(header("Idempotency-Replayed"), "");
    CHECK_INT_EQ(call(token, "POST", path, NULL, rf), 200);
    CHECK_STR_EQ(header("Idempotency-Replayed"), "true");
    /* a 200 (a member matched, not created) has no Location */
    snprintf(b, sizeof b, "{\"phone\":\"13800000009\"}");
    int st = call(token, "POST", "/api/v1/members", NULL, b);
    CHECK(st == 200 || st == 201);
    if (st == 200) CHECK_STR_EQ(header("Location"), "");
}

static void test_unauthenticated(void)
{
    CHECK_INT_EQ(call(NULL, "GET", "/api/v1/members", NULL, NULL), 401);
    CHECK_STR_EQ(header("WWW-Authenticate"), "Bearer");
    CHECK_INT_EQ(call("sy_bad", "GET", "/api/v1/members", NULL, NULL), 401);
    CHECK_STR_EQ(header("WWW-Authenticate"), "Bearer");
    /* a 403 or a 200 has none */
    CHECK_INT_EQ(call(token, "GET", "/api/v1/members", NULL, NULL), 200);
    CHECK_STR_EQ(header("WWW-Authenticate"), "");
}

static void test_replay(void)
{
    const char *k = "Idempotency-Key: conv-1\r\n";
    const char *b = "{\"name\":\"R\",\"code\":\"R1\",\"kind\":\"physical\"}";
    CHECK_INT_EQ(call(token, "POST", "/api/v1/stores", k, b), 201);
    CHECK_STR_EQ(header("Idempotency-Replayed"), "");
    char first[4096];
    snprintf(first, sizeof first, "%s", body);
    CHECK_INT_EQ(call(token, "POST", "/api/v1/stores", k, b), 200);
    CHECK_STR_EQ(header("Idempotency-Replayed"), "true");
    CHECK_STR_EQ(body, first);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    pid_t pid = harness_start(argv[1]);
    fd = conn_open();
    test_head_every_get();
    test_405_and_options();
    test_location();
    test_unauthenticated();
    test_replay();
    close(fd);
    CHECK_INT_EQ(harness_stop(pid), 0);
    return CHECK_DONE();
}
