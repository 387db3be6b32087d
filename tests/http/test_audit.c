/* test_audit.c — consent history and imports, the audit log and retention, against the
 * real server.
 *
 *   - consent: every change is kept (GET /consents answers the history oldest first and
 *     the current state derived from it); a member record imported with "consents"
 *     (NDJSON over HTTP, CSV columns consent_PURPOSE_CHANNEL through the CLI) records
 *     them with source "import"; a bad consent list refuses the record; the member
 *     export lists the consent history;
 *   - audit: a staff write is logged with its route, staff, role, members and the
 *     request id the caller sent (echoed in X-Request-Id; one siyu made otherwise);
 *     unmasked reads (the member 360, a lookup by phone, the export) are logged, a
 *     guide's masked read is not; the log filters by member, staff, action and time and
 *     pages by cursor; only admins read it, and no route updates or deletes it;
 *   - retention: the settings answer their defaults, refuse nonsense, and the sweep
 *     deletes exactly the events, finished messages and audit rows older than the
 *     settings — never live_view events, queued messages or newer rows — in batches of
 *     the size asked, while another client keeps writing;
 *   - upgrading: a store from before the rule grants the marketing consents its members'
 *     reachable connections implied, once, and keeps withdrawals.
 * Run: test_audit PATH_TO_SIYU */
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <time.h>

#include "harness.h"

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)
#define CHECK_INT_EQ(a, b)                                                                         \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, a_, b_); \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)
#define CHECK_STR_EQ(a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || strcmp(a_, b_)) {                                                               \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,      \
                    a_ ? a_ : "(null)", b_);                                                       \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static int fd;
static char buf[1 << 20];

static int call_as(const char *tok, const char *hdr, const char *method, const char *path,
                   json_t **out, const char *fmt, ...)
{
    char body[6000];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(body, sizeof body, fmt, ap);
        va_end(ap);
    }
    int st = request_hdr(fd, tok, method, path, hdr, fmt ? body : NULL, buf, sizeof buf);
    if (out) *out = json_loads(buf, 0, NULL);
    return st;
}
#define call(method, path, out, ...) call_as(token, NULL, method, path, out, __VA_ARGS__)

static json_t *jget(json_t *o, const char *path)
{
    char key[128];
    const char *p = path;
    while (o && *p) {
        size_t n = strcspn(p, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        char *end;
        long i = strtol(key, &end, 10);
        o = *end == 0 && json_is_array(o) ? json_array_get(o, (size_t)i) : json_object_get(o, key);
        p += n;
        if (*p == '.') p++;
    }
    return o;
}
static int64_t jint(json_t *o, const char *path)
{
    json_t *v = jget(o, path);
    return json_is_integer(v) ? json_integer_value(v) : -999;
}
static const char *jstr(json_t *o, const char *path)
{
    return json_string_value(jget(o, path));
}

static int64_t create(const char *path, const char *body)
{
    json_t *o = NULL;
    int st = call("POST", path, &o, "%s", body);
    if (st != 201 && st != 200) fprintf(stderr, "POST %s %s -> %d %s\n", path, body, st, buf);
    CHECK(st == 201 || st == 200);
    int64_t id = jint(o, "id");
    json_decref(o);
    return id;
}

static void make_token(const char *role, int64_t staff, char *out, size_t cap)
{
    char cmd[512];
    if (staff)
        snprintf(cmd, sizeof cmd, "%s token create --db %s --role %s --staff %lld", siyu, db, role,
                 (long long)staff);
    else
        snprintf(cmd, sizeof cmd, "%s token create --db %s --role %s", siyu, db, role);
    CHECK_INT_EQ(run(cmd, out, cap), 0);
}

/* One request on a fresh connection, keeping the answer's headers: the X-Request-Id
 * the server answered goes to rid. */
static int raw_call(const char *tok, const char *hdr, const char *method, const char *path,
                    const char *body, char *rid, size_t rid_cap)
{
    int c = conn_open();
    char req[4096], resp[1 << 16];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n%s"
                     "Connection: close\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, tok, hdr ? hdr : "", blen, body ? body : "");
    if (send(c, req, (size_t)n, MSG_NOSIGNAL) != n) return -1;
    size_t got = 0;
    ssize_t r;
    while (got < sizeof resp - 1 && (r = recv(c, resp + got, sizeof resp - 1 - got, 0)) > 0)
        got += (size_t)r;
    resp[got] = 0;
    close(c);
    rid[0] = 0;
    char *h = strcasestr(resp, "\r\nX-Request-Id: ");
    if (h) {
        h += 16;
        size_t k = strcspn(h, "\r\n");
        snprintf(rid, rid_cap, "%.*s", (int)k, h);
    }
    harness_record_raw(method, path, resp, got);
    return atoi(resp + 9);
}

/* The audit entries matching a query (admin). */
static json_t *audit(const char *query)
{
    char path[300];
    snprintf(path, sizeof path, "/api/v1/audit?%s", query);
    json_t *o = NULL;
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    return o;
}

/* ---------------- consent ---------------- */

static void consents(void)
{
    int64_t m =
        create("/api/v1/members", "{\"phone\":\"13700000001\",\"name\":\"李娜\",\"store_id\":1}");
    char path[128];
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)m);
    CHECK_INT_EQ(
        call("POST", path, NULL,
             "{\"purpose\":\"marketing\",\"channel\":\"wecom\",\"granted\":true,"
             "\"source\":\"guide\",\"text_version\":\"g1\",\"at\":\"2026-01-01T10:00:00Z\"}"),
        200);
    json_t *o = NULL;
    CHECK_INT_EQ(call("POST", path, &o,
                      "{\"purpose\":\"marketing\",\"channel\":\"wecom\",\"granted\":false,"
                      "\"source\":\"miniprogram\",\"text_version\":\"g2\","
                      "\"at\":\"2026-02-01T10:00:00Z\"}"),
                 200);
    /* the current state is the latest change; the history keeps both */
    CHECK_INT_EQ(json_array_size(jget(o, "consents")), 1);
    CHECK(json_is_false(jget(o, "consents.0.granted")));
    CHECK_INT_EQ(json_array_size(jget(o, "history")), 2);
    CHECK(json_is_true(jget(o, "history.0.granted")));
    CHECK_STR_EQ(jstr(o, "history.0.source"), "guide");
    CHECK_STR_EQ(jstr(o, "history.0.text_version"), "g1");
    CHECK_STR_EQ(jstr(o, "history.1.source"), "miniprogram");
    json_decref(o);
    /* an older change is history, not the current state */
    CHECK_INT_EQ(call("POST", path, &o,
                      "{\"purpose\":\"marketing\",\"channel\":\"wecom\",\"granted\":true,"
                      "\"source\":\"till\",\"at\":\"2025-06-01T10:00:00Z\"}"),
                 200);
    CHECK(json_is_false(jget(o, "consents.0.granted")));
    CHECK_INT_EQ(json_array_size(jget(o, "history")), 3);
    CHECK_STR_EQ(jstr(o, "history.0.source"), "till"); /* oldest first */
    json_decref(o);
    /* the export lists the whole history */
    snprintf(path, sizeof path, "/api/v1/members/%lld/export", (long long)m);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(json_array_size(jget(o, "consent_history")), 3);
    CHECK_STR_EQ(jstr(o, "consent_history.1.text_version"), "g1");
    CHECK_STR_EQ(jstr(o, "consent_history.2.text_version"), "g2");
    json_decref(o);

    /* an import carries consents (NDJSON over HTTP): recorded with source "import" */
    CHECK_INT_EQ(
        call("POST", "/api/v1/import/members", &o,
             "{\"phone\":\"13700000002\",\"name\":\"王芳\",\"store_id\":1,\"consents\":["
             "{\"purpose\":\"marketing\",\"channel\":\"sms\",\"granted\":true,\"text_version\":"
             "\"p7\"},{\"purpose\":\"profiling\",\"channel\":\"wechat_template\",\"granted\":"
             "false}]}\n"
             "{\"phone\":\"13700000003\",\"name\":\"坏\",\"store_id\":1,\"consents\":["
             "{\"purpose\":\"marketing\",\"channel\":\"fax\",\"granted\":true}]}\n"),
        200);
    CHECK_INT_EQ(jint(o, "imported"), 1);
    CHECK_INT_EQ(jint(o, "rejected"), 1);
    CHECK_STR_EQ(jstr(o, "errors.0.field"), "consents.channel");
    json_decref(o);
    CHECK_INT_EQ(call("GET", "/api/v1/members?phone=13700000002", &o, NULL), 200);
    int64_t imported = jint(o, "id");
    json_decref(o);
    CHECK(imported > 0);
    CHECK_INT_EQ(call("GET", "/api/v1/members?phone=13700000003", NULL, NULL), 404);
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)imported);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(json_array_size(jget(o, "history")), 2);
    for (int i = 0; i < 2; i++) {
        char k[32];
        snprintf(k, sizeof k, "consents.%d.source", i);
        CHECK_STR_EQ(jstr(o, k), "import");
    }
    CHECK_STR_EQ(jstr(o, "consents.0.purpose"), "marketing");
    CHECK_STR_EQ(jstr(o, "consents.0.text_version"), "p7");
    CHECK(json_is_true(jget(o, "consents.0.granted")));
    CHECK(json_is_false(jget(o, "consents.1.granted")));
    json_decref(o);

    /* CSV: consent_PURPOSE_CHANNEL columns, through the CLI while the server serves */
    char csv[256], cmd[600];
    snprintf(csv, sizeof csv, "%s/m.csv", dir);
    FILE *f = fopen(csv, "w");
    fputs("phone,name,store_id,consent_marketing_wecom,consent_marketing_sms,"
          "consent_text_version\n13700000004,赵静,1,true,false,csv-1\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s import members %s --db %s >/dev/null 2>&1", siyu, csv, db);
    CHECK_INT_EQ(run(cmd, NULL, 0), 0);
    CHECK_INT_EQ(call("GET", "/api/v1/members?phone=13700000004", &o, NULL), 200);
    int64_t c = jint(o, "id");
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)c);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(json_array_size(jget(o, "consents")), 2);
    CHECK_STR_EQ(jstr(o, "consents.0.channel"), "sms");
    CHECK(json_is_false(jget(o, "consents.0.granted")));
    CHECK_STR_EQ(jstr(o, "consents.1.channel"), "wecom");
    CHECK(json_is_true(jget(o, "consents.1.granted")));
    CHECK_STR_EQ(jstr(o, "consents.1.source"), "import");
    CHECK_STR_EQ(jstr(o, "consents.1.text_version"), "csv-1");
    json_decref(o);
}

/* ---------------- audit ---------------- */

static void audit_log(void)
{
    int64_t op = create("/api/v1/staff", "{\"name\":\"运营甲\",\"role\":\"operator\"}");
    int64_t gd = create("/api/v1/staff", "{\"name\":\"导购乙\",\"role\":\"guide\",\"store_id\":1}");
    int64_t mg =
        create("/api/v1/staff", "{\"name\":\"店长丙\",\"role\":\"store_manager\",\"store_id\":1}");
    char op_tok[128], gd_tok[128], mg_tok[128];
    make_token("operator", op, op_tok, sizeof op_tok);
    make_token("guide", gd, gd_tok, sizeof gd_tok);
    make_token("store_manager", mg, mg_tok, sizeof mg_tok);

    /* a staff write, with the caller's request id: echoed, and logged with it */
    char rid[128];
    CHECK_INT_EQ(raw_call(op_tok, "X-Request-Id: req-audit-1\r\n", "POST", "/api/v1/members",
                          "{\"phone\":\"13600000001\",\"name\":\"周杰\",\"store_id\":1,"
                          "\"nmae\":\"x\"}",
                          rid, sizeof rid),
                 400); /* a refused write is not logged */
    CHECK_STR_EQ(rid, "req-audit-1");
    char mbody[200];
    snprintf(mbody, sizeof mbody,
             "{\"phone\":\"13600000001\",\"name\":\"周杰\",\"store_id\":1,\"guide_id\":%lld}",
             (long long)gd);
    CHECK_INT_EQ(raw_call(op_tok, "X-Request-Id: req-audit-2\r\n", "POST", "/api/v1/members", mbody,
                          rid, sizeof rid),
                 201);
    CHECK_STR_EQ(rid, "req-audit-2");
    json_t *o = NULL;
    CHECK_INT_EQ(call("GET", "/api/v1/members?phone=13600000001", &o, NULL), 200);
    int64_t m = jint(o, "id");
    json_decref(o);
    char q[200];
    snprintf(q, sizeof q, "action=POST%%20/api/v1/members&staff_id=%lld", (long long)op);
    o = audit(q);
    CHECK_INT_EQ(json_array_size(jget(o, "items")), 1);
    CHECK_STR_EQ(jstr(o, "items.0.request_id"), "req-audit-2");
    CHECK_STR_EQ(jstr(o, "items.0.role"), "operator");
    CHECK_INT_EQ(jint(o, "items.0.staff_id"), op);
    CHECK_INT_EQ(jint(o, "items.0.member_ids.0"), m);
    CHECK(jstr(o, "items.0.at") != NULL);
    CHECK(json_is_object(jget(o, "items.0.detail")));
    json_decref(o);
    /* without a request id, siyu makes one, echoes it and logs it */
    char path[128];
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)m);
    CHECK_INT_EQ(raw_call(op_tok, NULL, "POST", path,
                          "{\"purpose\":\"marketing\",\"channel\":\"sms\",\"granted\":true}", rid,
                          sizeof rid),
                 200);
    CHECK(strlen(rid) > 8);
    snprintf(q, sizeof q, "member_id=%lld&action=POST%%20/api/v1/members/%%7Bid%%7D/consents",
             (long long)m);
    o = audit(q);
    CHECK_INT_EQ(json_array_size(jget(o, "items")), 1);
    CHECK_STR_EQ(jstr(o, "items.0.request_id"), rid);
    json_decref(o);

    /* unmasked reads: the 360 and a lookup by an operator; a guide's (masked) is not */
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)m);
    CHECK_INT_EQ(call_as(op_tok, "X-Request-Id: read-1\r\n", "GET", path, NULL, NULL), 200);
    CHECK_INT_EQ(call_as(op_tok, NULL, "GET", "/api/v1/members?phone=13600000001", NULL, NULL),
                 200);
    CHECK_INT_EQ(call_as(gd_tok, NULL, "GET", path, NULL, NULL), 200);
    snprintf(path, sizeof path, "/api/v1/members/%lld/export", (long long)m);
    CHECK_INT_EQ(call_as(token, "X-Request-Id: export-1\r\n", "GET", path, NULL, NULL), 200);
    snprintf(q, sizeof q, "member_id=%lld&action=member.read", (long long)m);
    o = audit(q);
    CHECK_INT_EQ(json_array_size(jget(o, "items")), 1); /* the operator's, not the guide's */
    CHECK_STR_EQ(jstr(o, "items.0.request_id"), "read-1");
    CHECK_STR_EQ(jstr(o, "items.0.role"), "operator");
    json_decref(o);
    snprintf(q, sizeof q, "member_id=%lld&action=member.lookup&staff_id=%lld", (long long)m,
             (long long)op);
    o = audit(q);
    CHECK_INT_EQ(json_array_size(jget(o, "items")), 1);
    CHECK_STR_EQ(jstr(o, "items.0.detail.by"), "phone");
    json_decref(o);
    snprintf(q, sizeof q, "member_id=%lld&action=member.export", (long long)m);
    o = audit(q);
    CHECK_INT_EQ(json_array_size(jget(o, "items")), 1);
    CHECK_STR_EQ(jstr(o, "items.0.role"), "admin");
    CHECK_STR_EQ(jstr(o, "items.0.request_id"), "export-1");
    json_decref(o);
    snprintf(q, sizeof q, "staff_id=%lld", (long long)gd);
    o = audit(q);
    CHECK_INT_EQ(json_array_size(jget(o, "items")), 0);
    json_decref(o);
    /* the log never holds the phone it was looked up by */
    o = audit("limit=1000");
    char *all = json_dumps(o, JSON_COMPACT);
    CHECK(strstr(all, "13600000001") == NULL);
    free(all);
    json_decref(o);

    /* pages by cursor; a time window */
    o = audit("limit=2");
    CHECK_INT_EQ(json_array_size(jget(o, "items")), 2);
    /* a cursor is a string, as every list answers it */
    int64_t next = jstr(o, "next_cursor") ? strtoll(jstr(o, "next_cursor"), NULL, 10) : -999;
    int64_t first = jint(o, "items.0.id");
    json_decref(o);
    CHECK(next > first);
    snprintf(q, sizeof q, "limit=2&cursor=%lld", (long long)next);
    o = audit(q);
    CHECK(jint(o, "items.0.id") > next);
    json_decref(o);
    o = audit("from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z");
    CHECK_INT_EQ(json_array_size(jget(o, "items")), 0);
    json_decref(o);
    CHECK_INT_EQ(call("GET", "/api/v1/audit?from=yesterday", NULL, NULL), 400);

    /* admins only; append-only */
    const char *toks[] = {op_tok, gd_tok, mg_tok};
    for (int i = 0; i < 3; i++) {
        CHECK_INT_EQ(call_as(toks[i], NULL, "GET", "/api/v1/audit", NULL, NULL), 403);
        CHECK_INT_EQ(call_as(toks[i], NULL, "GET", "/api/v1/retention", NULL, NULL), 403);
    }
    CHECK(call("DELETE", "/api/v1/audit", NULL, NULL) >= 400);
    CHECK(call("PUT", "/api/v1/audit", NULL, "{}") >= 400);
}

/* ---------------- the segment export ---------------- */

/* The CSV lists each member's marketing consents; ?consent=CHANNEL keeps only those who
 * gave one for the channel; the export is audited with the members it named. */
static void segment_export(void)
{
    int64_t a =
        create("/api/v1/members",
               "{\"phone\":\"13400000001\",\"name\":\"甲\",\"store_id\":1,\"city\":\"宁波\"}");
    int64_t b =
        create("/api/v1/members",
               "{\"phone\":\"13400000002\",\"name\":\"乙\",\"store_id\":1,\"city\":\"宁波\"}");
    char path[128];
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)a);
    CHECK_INT_EQ(call("POST", path, NULL,
                      "{\"purpose\":\"marketing\",\"channel\":\"sms\",\"granted\":true}"),
                 200);
    json_t *o = NULL;
    CHECK_INT_EQ(call("POST", "/api/v1/segments", &o,
                      "{\"name\":\"宁波\",\"expr\":\"city = \\\"宁波\\\"\"}"),
                 201);
    int64_t seg = jint(o, "id");
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/segments/%lld/export", (long long)seg);
    CHECK_INT_EQ(call_as(token, "X-Request-Id: seg-1\r\n", "GET", path, NULL, NULL), 200);
    CHECK(strstr(buf, ",marketing_consents\n") != NULL);
    CHECK(strstr(buf, "13400000001") && strstr(buf, "13400000002"));
    CHECK(strstr(buf, ",sms\n") != NULL);
    snprintf(path, sizeof path, "/api/v1/segments/%lld/export?consent=sms", (long long)seg);
    CHECK_INT_EQ(call("GET", path, NULL, NULL), 200);
    CHECK(strstr(buf, "13400000001") != NULL);
    CHECK(strstr(buf, "13400000002") == NULL);
    snprintf(path, sizeof path, "/api/v1/segments/%lld/export?consent=fax", (long long)seg);
    CHECK_INT_EQ(call("GET", path, NULL, NULL), 400);
    char q[128];
    snprintf(q, sizeof q, "/api/v1/audit?action=segment.export&member_id=%lld", (long long)b);
    CHECK_INT_EQ(call("GET", q, &o, NULL), 200);
    CHECK_INT_EQ(json_array_size(jget(o, "items")), 1); /* the filtered export did not name b */
    CHECK_STR_EQ(jstr(o, "items.0.request_id"), "seg-1");
    CHECK_INT_EQ(jint(o, "items.0.detail.rows"), 2);
    CHECK_INT_EQ(jint(o, "items.0.detail.segment_id"), seg);
    CHECK_INT_EQ(json_array_size(jget(o, "items.0.member_ids")), 2);
    json_decref(o);
    /* the segment's members as JSON carry the same unmasked phones: audited too */
    snprintf(path, sizeof path, "/api/v1/segments/%lld/members", (long long)seg);
    CHECK_INT_EQ(call_as(token, "X-Request-Id: seg-members-1\r\n", "GET", path, NULL, NULL), 200);
    CHECK(strstr(buf, "13400000001") && strstr(buf, "13400000002"));
    snprintf(q, sizeof q, "/api/v1/audit?action=segment.members&member_id=%lld", (long long)b);
    CHECK_INT_EQ(call("GET", q, &o, NULL), 200);
    CHECK_INT_EQ(json_array_size(jget(o, "items")), 1);
    CHECK_STR_EQ(jstr(o, "items.0.request_id"), "seg-members-1");
    CHECK_INT_EQ(jint(o, "items.0.detail.segment_id"), seg);
    CHECK_INT_EQ(json_array_size(jget(o, "items.0.member_ids")), 2);
    json_decref(o);
}

/* ---------------- retention ---------------- */

/* The store read and written directly, on either engine (harness.h). */
static int64_t sql_int(const char *sql)
{
    return db_int(sql, 0, 0);
}

static void sql_exec(const char *sql)
{
    if (db_script(sql)) failures++;
}

static atomic_int writes_ok;
static void *writer_thread(void *arg)
{
    (void)arg;
    int c = conn_open();
    static char b[1 << 14];
    for (int i = 0; i < 40; i++) {
        char body[200];
        snprintf(body, sizeof body, "{\"phone\":\"1350000%04d\",\"name\":\"并发\",\"store_id\":1}",
                 i);
        if (request(c, "POST", "/api/v1/members", body, b, sizeof b) == 201)
            atomic_fetch_add(&writes_ok, 1);
    }
    close(c);
    return NULL;
}

static void retention(void)
{
    json_t *o = NULL;
    CHECK_INT_EQ(call("GET", "/api/v1/retention", &o, NULL), 200);
    CHECK_INT_EQ(jint(o, "events_days"), 730);
    CHECK_INT_EQ(jint(o, "messages_days"), 365);
    CHECK_INT_EQ(jint(o, "audit_days"), 1095);
    json_decref(o);
    CHECK_INT_EQ(call("PUT", "/api/v1/retention", &o, "{\"events_days\":0}"), 400);
    CHECK_STR_EQ(jstr(o, "error.field"), "events_days");
    json_decref(o);
    CHECK_INT_EQ(call("PUT", "/api/v1/retention", &o, "{\"event_days\":10}"), 400);
    json_decref(o);
    CHECK_INT_EQ(call("PUT", "/api/v1/retention", &o,
                      "{\"events_days\":100,\"messages_days\":100,\"audit_days\":100}"),
                 200);
    CHECK_INT_EQ(jint(o, "audit_days"), 100);
    json_decref(o);

    /* old and new rows of each kind: 7 old events (and 2 old live_view ones), 5 old
     * finished messages (and an old queued one), 5 old audit rows with their members */
    int64_t m =
        create("/api/v1/members", "{\"phone\":\"13500001111\",\"name\":\"旧\",\"store_id\":1}");
    char sql[4000];
    int64_t now = (int64_t)time(NULL), old = now - 101 * 86400, young = now - 99 * 86400;
    /* 16 random bytes and the audit row just inserted, in each engine's words */
    const char *rnd = harness_on_pg() ? "decode(md5(random()::text), 'hex')" : "randomblob(16)";
    int n = snprintf(sql, sizeof sql, "BEGIN;");
    for (int i = 0; i < 7; i++)
        n += snprintf(sql + n, sizeof sql - n,
                      "INSERT INTO events(member_id, type, at, digest) VALUES (%lld, 'share', %lld,"
                      " %s);",
                      (long long)m, (long long)(old - i), rnd);
    for (int i = 0; i < 2; i++)
        n += snprintf(sql + n, sizeof sql - n,
                      "INSERT INTO events(member_id, type, at, digest) VALUES (%lld, 'live_view',"
                      " %lld, %s);",
                      (long long)m, (long long)old, rnd);
    for (int i = 0; i < 3; i++)
        n += snprintf(sql + n, sizeof sql - n,
                      "INSERT INTO events(member_id, type, at, digest) VALUES (%lld, 'share', %lld,"
                      " %s);",
                      (long long)m, (long long)young, rnd);
    for (int i = 0; i < 6; i++)
        n += snprintf(sql + n, sizeof sql - n,
                      "INSERT INTO messages(member_id, channel, body, status, created_at)"
                      " VALUES (%lld, 'sms', 'x', '%s', %lld);",
                      (long long)m, i == 5 ? "queued" : "sent", (long long)old);
    n += snprintf(sql + n, sizeof sql - n,
                  "INSERT INTO messages(member_id, channel, body, status, created_at)"
                  " VALUES (%lld, 'sms', 'y', 'sent', %lld);",
                  (long long)m, (long long)young);
    for (int i = 0; i < 5; i++)
        n += snprintf(sql + n, sizeof sql - n,
                      "INSERT INTO audit_log(at, role, action, member_ids, request_id)"
                      " VALUES (%lld, 'admin', 'member.read', '[%lld]', 'old-%d');"
                      "INSERT INTO audit_members(member_id, audit_id) VALUES (%lld,"
                      " (SELECT max(id) FROM audit_log));",
                      (long long)(old - i), (long long)m, i, (long long)m);
    snprintf(sql + n, sizeof sql - n, "COMMIT;");
    sql_exec(sql);
    int64_t events_before = sql_int("SELECT count(*) FROM events");
    int64_t messages_before = sql_int("SELECT count(*) FROM messages");
    int64_t audit_before = sql_int("SELECT count(*) FROM audit_log");
    int64_t recent_audit =
        sql_int("SELECT count(*) FROM audit_log WHERE request_id NOT LIKE 'old-%'");

    /* batches of 2 while another client writes */
    pthread_t t;
    pthread_create(&t, NULL, writer_thread, NULL);
    int64_t del[3] = {0, 0, 0};
    int rounds = 0;
    bool more = true;
    while (more && rounds < 50) {
        CHECK_INT_EQ(call("POST", "/api/v1/retention/sweep?batch=2", &o, NULL), 200);
        CHECK(jint(o, "events") <= 2 && jint(o, "messages") <= 2 && jint(o, "audit") <= 2);
        del[0] += jint(o, "events");
        del[1] += jint(o, "messages");
        del[2] += jint(o, "audit");
        more = json_is_true(jget(o, "more"));
        json_decref(o);
        rounds++;
    }
    pthread_join(t, NULL);
    CHECK_INT_EQ(atomic_load(&writes_ok), 40);
    CHECK(rounds >= 4); /* 7 old events in batches of 2 */
    CHECK_INT_EQ(del[0], 7);
    CHECK_INT_EQ(del[1], 5);
    CHECK_INT_EQ(del[2], 5);
    /* exactly the old rows went; the rest stayed (the sweeps' own audit rows are new) */
    char q[200];
    snprintf(q, sizeof q, "SELECT count(*) FROM events WHERE at < %lld",
             (long long)(now - 100 * 86400));
    CHECK_INT_EQ(sql_int(q), 2); /* the live_view ones */
    CHECK_INT_EQ(sql_int("SELECT count(*) FROM events WHERE type = 'live_view'"), 2);
    CHECK(sql_int("SELECT count(*) FROM events") >= events_before - 7);
    CHECK_INT_EQ(sql_int("SELECT count(*) FROM messages"), messages_before - 5);
    CHECK_INT_EQ(sql_int("SELECT count(*) FROM messages WHERE status = 'queued'"), 1);
    CHECK_INT_EQ(sql_int("SELECT count(*) FROM audit_log WHERE request_id LIKE 'old-%'"), 0);
    CHECK(sql_int("SELECT count(*) FROM audit_log") >= audit_before - 5);
    CHECK(sql_int("SELECT count(*) FROM audit_log WHERE request_id NOT LIKE 'old-%'") >=
          recent_audit);
    CHECK_INT_EQ(sql_int("SELECT count(*) FROM audit_members WHERE audit_id NOT IN"
                         " (SELECT id FROM audit_log)"),
                 0);
    CHECK(sql_int("SELECT count(*) FROM events WHERE type = 'share'") >= 3);
    /* a sweep with nothing old deletes nothing */
    CHECK_INT_EQ(call("POST", "/api/v1/retention/sweep", &o, NULL), 200);
    CHECK_INT_EQ(jint(o, "events") + jint(o, "messages") + jint(o, "audit"), 0);
    json_decref(o);
    /* the metrics count what went */
    CHECK_INT_EQ(request(fd, "GET", "/metrics", NULL, buf, sizeof buf), 200);
    CHECK(strstr(buf, "siyu_retention_deleted_total{kind=\"events\"} 7") != NULL);
    CHECK(strstr(buf, "siyu_retention_deleted_total{kind=\"messages\"} 5") != NULL);
    CHECK(strstr(buf, "siyu_retention_deleted_total{kind=\"audit\"} 5") != NULL);
}

/* ---------------- upgrading a store ---------------- */

/* A store from before the consent rule (schema 13): members reachable on WeCom or the public
 * account by their connection alone are granted those marketing consents once, so nothing
 * that went out before stops silently. */
static pid_t upgrade(pid_t pid)
{
    int64_t m =
        create("/api/v1/members", "{\"phone\":\"13300000001\",\"name\":\"老会员\",\"store_id\":1}");
    int64_t n = create("/api/v1/members",
                       "{\"phone\":\"13300000002\",\"name\":\"老会员二\",\"store_id\":1}");
    close(fd);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    char sql[4000];
    snprintf(sql, sizeof sql,
             "DROP TABLE consent_history; DROP TABLE audit_log; DROP TABLE audit_members;"
             "DROP TABLE retention_settings; DROP INDEX events_at; DROP INDEX messages_created;"
             "DROP INDEX coupon_events_member; DROP INDEX messages_run_waiting;"
             "DROP TABLE sessions; DROP TABLE staff_logins;"
             /* 18: communities */
             "DROP TABLE group_sale_skus; DROP TABLE group_sale_groups; DROP TABLE group_sales;"
             "DROP TABLE group_requests; DROP TABLE group_seats; DROP TABLE group_codes;"
             "DROP TABLE group_events; DROP TABLE chat_group_days; DROP TABLE chat_group_activity;"
             "DROP TABLE chat_group_members; DROP TABLE chat_groups;"
             "DROP TABLE change_log;" /* migration 19 */
             "DROP TABLE group_sops;" /* 24 (23 and 24's columns go with their tables) */
             "DROP TABLE change_seq;" /* 27 */
             /* and what migration 20 (task campaigns, content) added since */
             "DROP TABLE task_campaigns; DROP TABLE task_holdout; DROP TABLE guide_notices;"
             "DROP TABLE guide_settings; DROP TABLE content_events; DROP TABLE content;"
             "DROP INDEX contacts_added;"
             /* 21 (fission) */
             "DROP TABLE assist_helps; DROP TABLE assists; DROP TABLE mall_instructions;"
             "DROP TABLE team_members; DROP TABLE teams; DROP TABLE referral_rewards;"
             "DROP TABLE referral_attempts; DROP TABLE referral_stats; DROP TABLE referrals;"
             "DROP TABLE referral_invites; DROP TABLE referral_cohorts;"
             "DROP INDEX campaign_plays_member_only;"
             "DROP INDEX campaign_packets_member_only; ALTER TABLE campaigns DROP COLUMN paused;"
             /* and migration 22's staff lifecycle and transfers */
             "DROP TABLE bridge_messages; DROP TABLE transfer_items; DROP TABLE transfers;"
             "DROP TABLE staff_stores; DROP TABLE qr_scan_counts;"
             "ALTER TABLE staff DROP COLUMN status;"
             "ALTER TABLE staff DROP COLUMN departed_at;"
             "DELETE FROM member_consents WHERE member_id IN (%lld, %lld);"
             "INSERT INTO member_reach(member_id, channel, reachable, at) VALUES"
             " (%lld, 'wecom', 1, 1700000000), (%lld, 'public_account', 1, 1700000000),"
             " (%lld, 'group', 1, 1700000000), (%lld, 'public_account', 0, 1700000000);"
             "INSERT INTO member_consents(member_id, purpose, channel, granted, source, at)"
             " VALUES (%lld, 'marketing', 'wecom', 0, 'guide', 1700000500);"
             "PRAGMA user_version = 14;",
             (long long)m, (long long)n, (long long)m, (long long)m, (long long)m, (long long)n,
             (long long)n);
    sql_exec(sql);
    /* the operator's way: siyu init brings the store forward, then serve */
    char cmd[300];
    snprintf(cmd, sizeof cmd, "%s init --db %s >/dev/null", siyu, db);
    CHECK_INT_EQ(run(cmd, NULL, 0), 0);
    pid = start_server();
    fd = conn_open();
    char path[96];
    json_t *o = NULL;
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)m);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(json_array_size(jget(o, "consents")), 3);
    const char *want[] = {"public_account", "wechat_template", "wecom"};
    for (int i = 0; i < 3; i++) {
        json_t *c = json_array_get(jget(o, "consents"), (size_t)i);
        CHECK_STR_EQ(json_string_value(json_object_get(c, "channel")), want[i]);
        CHECK(json_is_true(json_object_get(c, "granted")));
        CHECK_STR_EQ(json_string_value(json_object_get(c, "text_version")), "reachability");
    }
    CHECK_INT_EQ(json_array_size(jget(o, "history")), 3);
    json_decref(o);
    /* not reachable: nothing granted; a withdrawal stays a withdrawal */
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)n);
    CHECK_INT_EQ(call("GET", path, &o, NULL), 200);
    CHECK_INT_EQ(json_array_size(jget(o, "consents")), 1);
    CHECK_STR_EQ(jstr(o, "consents.0.channel"), "wecom");
    CHECK(json_is_false(jget(o, "consents.0.granted")));
    CHECK_INT_EQ(json_array_size(jget(o, "history")), 1);
    json_decref(o);
    /* the new tables work on the upgraded store */
    CHECK_INT_EQ(call("GET", "/api/v1/retention", NULL, NULL), 200);
    return pid;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    pid_t pid = harness_start(argv[1]);
    fd = conn_open();
    CHECK(fd >= 0);
    CHECK(create("/api/v1/stores", "{\"name\":\"S1\",\"code\":\"s1\",\"kind\":\"physical\"}") > 0);
    consents();
    audit_log();
    segment_export();
    retention();
    /* the upgrade rewinds a SQLite file to schema 14 (PRAGMA user_version): SQLite-only; a
     * PostgreSQL store is created at the current schema, its upgrades run by siyu init */
    if (!harness_on_pg()) pid = upgrade(pid);
    close(fd);
    CHECK_INT_EQ(harness_stop(pid), 0);
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
