/* test_rights.c — members' rights and the operator's safety net against the real server.
 *
 *   - export: GET /members/{id}/export holds everything the member 360 shows, and one
 *     section per table keyed by a member — the tables are read from the store's own
 *     schema, so a table added without export coverage fails here — with exactly the
 *     rows the store holds for the member (orders with their items and refunds);
 *     `siyu member export` prints the same document;
 *   - roles: export and erasure answer 403 to operators, store managers and guides;
 *   - erasure: 400 without a reason (nothing erased); then the 360 answers
 *     "erased": true with its orders and figures and no personal field, the identities
 *     match nobody, the profile cannot be filled again, the erasure log holds who, why
 *     and the request id, the KPI report is unchanged (but for reachability, which the
 *     erased member no longer has), `siyu check` is clean; after `siyu vacuum` (run while
 *     the server serves) no erased value is in the .db, -wal or -shm bytes nor in a
 *     backup made afterwards (even one made before the vacuum); a new registration with
 *     the same phone is a new member;
 *   - backup: taken while 8 clients stream orders over HTTP, it restores to a store where
 *     `siyu check` is clean and every order acknowledged before the backup began is
 *     present exactly once; restore refuses an existing store without --force and a
 *     file that is not a siyu store.
 * Run: test_rights PATH_TO_SIYU */
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "erasure.h"
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

static int fd;
static char buf[1 << 20];

/* One request as tok with optional extra headers; the answer parsed into *out. */
static int call_as(const char *tok, const char *hdr, const char *method, const char *path,
                   json_t **out, const char *fmt, ...)
{
    char body[4096];
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

static int64_t jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
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

/* Counts the occurrences of needle in a file's bytes (0 when the file is absent). */
static int file_count(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    size_t got = fread(data, 1, (size_t)n, f);
    fclose(f);
    size_t k = strlen(needle);
    int hits = 0;
    for (size_t i = 0; i + k <= got; i++)
        if (memcmp(data + i, needle, k) == 0) hits++;
    free(data);
    return hits;
}

/* Occurrences of needle in the store's three files. */
static int store_count(const char *needle)
{
    char p[256];
    int n = file_count(db, needle);
    snprintf(p, sizeof p, "%s-wal", db);
    n += file_count(p, needle);
    snprintf(p, sizeof p, "%s-shm", db);
    n += file_count(p, needle);
    return n;
}

static int64_t seg_count(const char *expr)
{
    json_t *o = NULL;
    CHECK_INT_EQ(call("POST", "/api/v1/segments/count", &o, "{\"expr\":\"%s\"}", expr), 200);
    int64_t n = jint(o, "count");
    json_decref(o);
    return n;
}

/* The first column of sql's first row on the store (either engine), ?1 bound to a. */
static int64_t sql_int(const char *sql, int64_t a)
{
    int64_t v = db_int(sql, a, 0);
    if (v < 0) failures++;
    return v;
}

/* The store's tables with a member_id column (views left out), one per call of row(). */
static void table_row(void *ctx, const char *const *v, int n)
{
    json_t *names = ctx;
    if (n > 0 && v[0]) json_array_append_new(names, json_string(v[0]));
}

#define PHONE "13912345678"
#define PHONE2 "13698765432"
#define NAME "Zhang Wei-Erased"
#define UNIONID "union-erase-me-0001"
#define CARD "CARD-ERASE-7788"
#define WECOM_ID "wm-erase-me-0001"

static void test_export_and_erase(void)
{
    fd = conn_open();
    create("/api/v1/stores", "{\"name\":\"S1\",\"code\":\"s1\",\"kind\":\"physical\"}");
    int64_t mgr =
        create("/api/v1/staff", "{\"name\":\"Mgr\",\"role\":\"store_manager\",\"store_id\":1}");
    int64_t guide =
        create("/api/v1/staff", "{\"name\":\"Guide\",\"role\":\"guide\",\"store_id\":1}");
    char op_tok[128], mgr_tok[128], guide_tok[128];
    make_token("operator", 0, op_tok, sizeof op_tok);
    make_token("store_manager", mgr, mgr_tok, sizeof mgr_tok);
    make_token("guide", guide, guide_tok, sizeof guide_tok);

    char body[1024];
    snprintf(body, sizeof body,
             "{\"phone\":\"" PHONE "\",\"name\":\"" NAME "\",\"birthday\":\"1990-05-01\","
             "\"city\":\"Shanghai\",\"gender\":\"male\",\"unionid\":\"" UNIONID "\","
             "\"card_no\":\"" CARD "\",\"openid\":\"openid-erase-1\",\"app_id\":\"wxapp\","
             "\"wecom_external_id\":\"" WECOM_ID "\","
             "\"store_id\":1,\"guide_id\":%lld}",
             (long long)guide);
    json_t *joined = NULL; /* with a key: its retry after the erasure is checked below */
    CHECK_INT_EQ(call_as(token, "Idempotency-Key: join-a\r\n", "POST", "/api/v1/members", &joined,
                         "%s", body),
                 201);
    int64_t a = jint(joined, "id");
    json_decref(joined);
    char join_body[1024];
    snprintf(join_body, sizeof join_body, "%s", body);
    int64_t b = create("/api/v1/members", "{\"phone\":\"" PHONE2 "\",\"name\":\"Second Self\","
                                          "\"store_id\":1}");
    int64_t other = create("/api/v1/members", "{\"phone\":\"13500000001\",\"store_id\":1}");
    char path[160];
    snprintf(path, sizeof path, "/api/v1/members/%lld/merge", (long long)a);
    CHECK_INT_EQ(call("POST", path, NULL, "{\"from_member_id\":%lld}", (long long)b), 200);

    /* consent, events, orders with a refund, points, a coupon, a tag */
    CHECK_INT_EQ(call("POST", "/api/v1/events", NULL,
                      "{\"type\":\"sms_opt_in\",\"member_id\":%lld,\"at\":\"2026-01-01T00:00:00Z\","
                      "\"props\":{\"note\":\"called from " PHONE "\"}}",
                      (long long)a),
                 201);
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)a);
    int st = call("POST", path, NULL,
                  "{\"purpose\":\"marketing\",\"channel\":\"wechat_template\",\"granted\":true,"
                  "\"source\":\"till\",\"text_version\":\"2026-01\"}");
    CHECK(st == 200 || st == 201);
    /* a journey thanks every buyer by sms: a run and a message naming the member */
    CHECK_INT_EQ(call("POST", "/api/v1/journeys", NULL,
                      "{\"name\":\"thanks\",\"trigger\":{\"event\":\"order_paid\"},"
                      "\"holdout_pct\":0,\"steps\":[{\"action\":\"send_message\","
                      "\"channel\":\"sms\",\"template\":\"{{member.name}}, thank you\"}]}"),
                 201);
    CHECK_INT_EQ(call("POST", "/api/v1/journeys/1/activate", NULL, "{}"), 200);
    CHECK_INT_EQ(call("POST", "/api/v1/journeys/tick", NULL, NULL), 200);
    int64_t o1 = 0;
    for (int i = 0; i < 3; i++) {
        int64_t who = i == 2 ? other : a;
        snprintf(body, sizeof body,
                 "{\"channel\":\"store\",\"external_id\":\"o%d\",\"store_id\":1,"
                 "\"member_id\":%lld,\"placed_at\":\"2026-01-10T10:0%d:00+08:00\","
                 "\"items\":[{\"sku\":\"a\",\"qty\":2,\"unit_price_cents\":1500},"
                 "{\"sku\":\"b\",\"qty\":1,\"unit_price_cents\":700}],\"total_cents\":3700}",
                 i, (long long)who, i + 2);
        int64_t id = create("/api/v1/orders", body);
        if (i == 0) o1 = id;
    }
    CHECK_INT_EQ(call("POST", "/api/v1/journeys/tick", NULL, NULL), 200);
    snprintf(path, sizeof path, "/api/v1/orders/%lld/refunds", (long long)o1);
    CHECK_INT_EQ(call("POST", path, NULL, "{\"external_id\":\"r1\",\"amount_cents\":700}"), 201);
    snprintf(path, sizeof path, "/api/v1/members/%lld/points", (long long)a);
    CHECK_INT_EQ(call_as(token, "Idempotency-Key: pts-1\r\n", "POST", path, NULL,
                         "{\"delta\":100,\"reason\":\"goodwill for " NAME "\"}"),
                 201);
    int64_t tpl = create("/api/v1/coupon-templates",
                         "{\"name\":\"10 off\",\"kind\":\"cash_off\",\"value_cents\":1000,"
                         "\"valid_days\":30,\"stock\":10}");
    snprintf(body, sizeof body, "{\"template_id\":%lld,\"member_id\":%lld}", (long long)tpl,
             (long long)a);
    create("/api/v1/coupons", body);
    int64_t tag = create("/api/v1/tags", "{\"name\":\"vip\"}");
    snprintf(path, sizeof path, "/api/v1/tags/%lld/members", (long long)tag);
    CHECK_INT_EQ(call("POST", path, NULL, "{\"member_ids\":[%lld]}", (long long)a), 200);

    /* another member's event names the member's phone (a share: to whom they sent it) */
    CHECK_INT_EQ(call("POST", "/api/v1/events", NULL,
                      "{\"type\":\"share\",\"member_id\":%lld,"
                      "\"at\":\"2026-01-02T00:00:00Z\",\"props\":{\"to_phone\":\"" PHONE
                      "\",\"channel\":\"poster\"}}",
                      (long long)other),
                 201);
    /* and another's note quotes it inside free text */
    CHECK_INT_EQ(call("POST", "/api/v1/events", NULL,
                      "{\"type\":\"share\",\"member_id\":%lld,"
                      "\"at\":\"2026-01-02T00:00:01Z\",\"props\":{\"text\":\"asked to call " PHONE
                      " after six\"}}",
                      (long long)other),
                 201);
    /* the member scanned a guide's channel QR code: the scan keeps their WeCom id */
    int64_t qr = create("/api/v1/qr-codes", "{\"name\":\"door\",\"target\":{\"store_id\":1}}");
    snprintf(path, sizeof path, "/api/v1/qr-codes/%lld/scan", (long long)qr);
    CHECK_INT_EQ(call("POST", path, NULL, "{\"external_userid\":\"" WECOM_ID "\"}"), 201);
    CHECK_INT_EQ(sql_int("SELECT count(*) FROM qr_scans WHERE code_id = ?1 AND"
                         " external_userid = '" WECOM_ID "'",
                         qr),
                 1);

    /* ---- export ---- */
    json_t *m360 = NULL, *x = NULL;
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)a);
    CHECK_INT_EQ(call("GET", path, &m360, NULL), 200);
    snprintf(path, sizeof path, "/api/v1/members/%lld/export", (long long)a);
    CHECK_INT_EQ(call("GET", path, &x, NULL), 200);
    CHECK(x && m360);
    json_t *xm = json_object_get(x, "member");
    const char *k;
    json_t *v;
    json_object_foreach(m360, k, v)
    {
        if (!json_equal(v, json_object_get(xm, k))) {
            fprintf(stderr, "export: member.%s differs from the 360\n", k);
            failures++;
        }
    }
    CHECK(json_object_size(m360) > 20);
    /* every table keyed by a member has its section, with exactly the member's rows */
    json_t *names = json_array();
    db_each(harness_on_pg()
                ? "SELECT c.table_name FROM information_schema.columns c JOIN"
                  " information_schema.tables t ON t.table_name = c.table_name AND"
                  " t.table_schema = c.table_schema WHERE c.table_schema = current_schema() AND"
                  " t.table_type = 'BASE TABLE' AND c.column_name = 'member_id' AND NOT"
                  " (SELECT relispartition FROM pg_class WHERE oid = (quote_ident(c.table_schema)"
                  " || '.' || quote_ident(c.table_name))::regclass) ORDER BY 1"
                : "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND EXISTS"
                  " (SELECT 1 FROM pragma_table_info(m.name) c WHERE c.name = 'member_id')"
                  " ORDER BY m.name",
            NULL, 0, table_row, names);
    int tables = 0;
    size_t ti;
    json_t *tn;
    json_array_foreach(names, ti, tn)
    {
        const char *t = json_string_value(tn);
        tables++;
        json_t *sec = json_object_get(x, t);
        if (!json_is_array(sec)) {
            fprintf(stderr, "export: no section for table %s (keyed by member_id)\n", t);
            failures++;
            continue;
        }
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\" WHERE member_id = ?1", t);
        if (strcmp(t, "audit_members") == 0) {
            /* the reads' audit rows are queued and written by the audit flush, every second:
             * some (the 360 read above, the export's own) may land after the export read the
             * store. They take higher ids, so the export must hold every row up to its last. */
            json_int_t last = 0;
            size_t ri;
            json_t *row;
            json_array_foreach(sec, ri, row)
            {
                json_int_t id = json_integer_value(json_object_get(row, "audit_id"));
                if (id > last) last = id;
            }
            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM audit_members WHERE member_id = ?1 AND audit_id <= %lld",
                     (long long)last);
        }
        int64_t want = sql_int(sql, a);
        if ((int64_t)json_array_size(sec) != want) {
            fprintf(stderr, "export: %s has %zu rows, the store %lld\n", t, json_array_size(sec),
                    (long long)want);
            failures++;
        }
    }
    json_decref(names);
    CHECK(tables >= 15);
    CHECK_INT_EQ(json_array_size(json_object_get(x, "orders")), 2);
    size_t items = 0, refunds = 0, i;
    json_array_foreach(json_object_get(x, "orders"), i, v)
    {
        items += json_array_size(json_object_get(v, "items"));
        refunds += json_array_size(json_object_get(v, "refunds"));
    }
    CHECK_INT_EQ(items, sql_int("SELECT count(*) FROM order_items i JOIN orders o ON o.id ="
                                " i.order_id WHERE o.member_id = ?1",
                                a));
    CHECK_INT_EQ(refunds, sql_int("SELECT count(*) FROM refunds r JOIN orders o ON o.id ="
                                  " r.order_id WHERE o.member_id = ?1",
                                  a));
    CHECK_INT_EQ(json_array_size(json_object_get(x, "merges")),
                 sql_int("SELECT count(*) FROM merges WHERE into_id = ?1 OR from_id = ?1", a));
    CHECK_INT_EQ(json_array_size(json_object_get(x, "members")), 2); /* a and b merged into it */
    CHECK(json_array_size(json_object_get(x, "points_ledger")) >= 1);
    CHECK_INT_EQ(json_array_size(json_object_get(x, "coupons")), 1);
    CHECK_INT_EQ(json_array_size(json_object_get(x, "tag_members")), 1);
    CHECK(strstr(buf, PHONE2) != NULL); /* the merged member's phone came along */
    CHECK(json_array_size(json_object_get(x, "journey_runs")) >= 1);
    json_t *msgs = json_object_get(x, "messages");
    CHECK(json_array_size(msgs) >= 1);
    CHECK(strstr(json_string_value(json_object_get(json_array_get(msgs, 0), "body")), NAME));
    int64_t in_city = seg_count("city = \\\"Shanghai\\\"");
    CHECK_INT_EQ(in_city, 1);
    /* the command line prints the same document */
    char cmd[512], *out = malloc(1 << 20);
    snprintf(cmd, sizeof cmd, "%s member export %lld --db %s", siyu, (long long)a, db);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, (1 << 20) - 1, p);
    out[n] = 0;
    CHECK_INT_EQ(pclose(p), 0);
    json_t *cx = json_loads(out, 0, NULL);
    CHECK(cx != NULL);
    json_object_foreach(x, k, v)
    {
        if (strcmp(k, "exported_at") == 0 || strcmp(k, "member") == 0) continue;
        if (strcmp(k, "audit_members") == 0 || strcmp(k, "audit_log") == 0) {
            /* reads are audited through a queue flushed every second: the later export may
             * hold rows the earlier one could not yet, and must hold every row it did */
            size_t r, j;
            json_t *row, *later = json_object_get(cx, k);
            json_array_foreach(v, r, row)
            {
                bool found = false;
                for (j = 0; j < json_array_size(later) && !found; j++)
                    found = json_equal(row, json_array_get(later, j));
                if (!found) {
                    fprintf(stderr, "siyu member export: audit row %zu of the API's is missing\n",
                            r);
                    failures++;
                }
            }
            continue;
        }
        if (!json_equal(v, json_object_get(cx, k))) {
            fprintf(stderr, "siyu member export: %s differs from the API's\n", k);
            failures++;
        }
    }
    json_decref(cx);
    free(out);

    /* ---- roles: admins only ---- */
    const char *others[] = {op_tok, mgr_tok, guide_tok};
    for (int r = 0; r < 3; r++) {
        snprintf(path, sizeof path, "/api/v1/members/%lld/export", (long long)a);
        CHECK_INT_EQ(call_as(others[r], NULL, "GET", path, NULL, NULL), 403);
        snprintf(path, sizeof path, "/api/v1/members/%lld/erase", (long long)a);
        CHECK_INT_EQ(call_as(others[r], NULL, "POST", path, NULL, "{\"reason\":\"x\"}"), 403);
    }

    /* ---- erasure ---- */
    json_t *kpi_before = NULL, *kpi_after = NULL;
    const char *kpi = "/api/v1/reports/kpi?from=2026-01-01&to=2026-01-31";
    CHECK_INT_EQ(call("GET", kpi, &kpi_before, NULL), 200);
    snprintf(path, sizeof path, "/api/v1/members/%lld/erase", (long long)a);
    json_t *er = NULL;
    CHECK_INT_EQ(call("POST", path, &er, "{}"), 400);
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(er, "error"), "field")),
                 "reason") == 0);
    json_decref(er);
    CHECK_INT_EQ(sql_int("SELECT count(*) FROM identities WHERE member_id = ?1", a), 6);
    CHECK_INT_EQ(call_as(token, "X-Request-Id: req-erase-1\r\n", "POST", path, &er,
                         "{\"reason\":\"the member asked at the service desk\"}"),
                 200);
    CHECK(json_is_true(json_object_get(er, "erased")));
    CHECK_INT_EQ(jint(er, "members_erased"), 2);
    const char *erased_at = json_string_value(json_object_get(er, "erased_at"));
    CHECK(erased_at != NULL);
    json_t *er2 = NULL; /* asked twice: the first erasure answers */
    CHECK_INT_EQ(call("POST", path, &er2, "{\"reason\":\"again\"}"), 200);
    CHECK(json_equal(er, er2));
    json_decref(er2);
    json_decref(er);
    CHECK_INT_EQ(sql_int("SELECT count(*) FROM erasures WHERE member_id = ?1 AND role = 'admin'"
                         " AND reason = 'the member asked at the service desk'"
                         " AND request_id = 'req-erase-1'",
                         a),
                 1);

    json_t *after = NULL;
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)a);
    CHECK_INT_EQ(call("GET", path, &after, NULL), 200);
    CHECK(json_is_true(json_object_get(after, "erased")));
    const char *personal[] = {"name", "gender", "birthday", "city", "phone", "unionid", "card_no"};
    for (size_t f = 0; f < sizeof personal / sizeof *personal; f++)
        CHECK(json_object_get(after, personal[f]) == NULL);
    CHECK_INT_EQ(json_array_size(json_object_get(after, "identities")), 0);
    CHECK(json_equal(json_object_get(after, "stats"), json_object_get(m360, "stats")));
    CHECK(json_equal(json_object_get(after, "points"), json_object_get(m360, "points")));
    CHECK(strstr(buf, PHONE) == NULL && strstr(buf, NAME) == NULL);
    json_decref(after);
    CHECK_INT_EQ(seg_count("city = \\\"Shanghai\\\""), 0); /* the member index followed */
    /* the views followed: the KPI report is the same but for reachability */
    CHECK_INT_EQ(call("GET", kpi, &kpi_after, NULL), 200);
    json_t *kb = json_deep_copy(kpi_before), *ka = json_deep_copy(kpi_after);
    kpi_drop_reach(kb);
    kpi_drop_reach(ka);
    if (!json_equal(kb, ka)) {
        char diff[2000] = "";
        json_diff_paths(kb, ka, "kpi", diff, sizeof diff);
        fprintf(stderr, "the KPI report changed with the erasure: %s\n", diff);
        failures++;
    }
    /* and the reachability the member had is gone from it */
    json_t *rb = json_object_get(json_object_get(kpi_before, "current"), "reachable_members");
    json_t *ra = json_object_get(json_object_get(kpi_after, "current"), "reachable_members");
    CHECK_INT_EQ(json_integer_value(json_object_get(rb, "sms")), 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(ra, "sms")), 0);
    json_decref(kb);
    json_decref(ka);
    json_decref(kpi_before);
    json_decref(kpi_after);
    /* the other member's event stays, without the erased phone */
    CHECK_INT_EQ(sql_int("SELECT count(*) FROM events WHERE member_id = ?1 AND"
                         " type = 'share'",
                         other),
                 2);
    CHECK_INT_EQ(sql_int("SELECT count(*) FROM events WHERE props LIKE '%" PHONE "%'"
                         " AND ?1 = ?1",
                         0),
                 0);
    /* the QR code's scans still count, but no longer name the member's WeCom id */
    CHECK_INT_EQ(sql_int("SELECT count(*) FROM qr_scans WHERE code_id = ?1", qr), 1);
    CHECK_INT_EQ(sql_int("SELECT count(*) FROM qr_scans WHERE code_id = ?1 AND"
                         " external_userid = '" WECOM_ID "'",
                         qr),
                 0);
    /* the till retries its join after the erasure, with the same key: the first answer
     * (the same member; 200, as every replay), without the personal values it held */
    json_t *retried = NULL;
    CHECK_INT_EQ(call_as(token, "Idempotency-Key: join-a\r\n", "POST", "/api/v1/members", &retried,
                         "%s", join_body),
                 200);
    CHECK_INT_EQ(jint(retried, "id"), a);
    if (jint(retried, "id") != a) fprintf(stderr, "the retried join answered %s\n", buf);
    CHECK(strstr(buf, PHONE) == NULL && strstr(buf, UNIONID) == NULL && strstr(buf, CARD) == NULL);
    json_decref(retried);
    /* nothing matches the member again; the profile cannot be filled again */
    CHECK_INT_EQ(call("GET", "/api/v1/members?phone=" PHONE, NULL, NULL), 404);
    CHECK_INT_EQ(call("GET", "/api/v1/members?unionid=" UNIONID, NULL, NULL), 404);
    CHECK_INT_EQ(call("PATCH", path, NULL, "{\"name\":\"Back Again\"}"), 409);
    snprintf(path, sizeof path, "/api/v1/members/%lld/merge", (long long)other);
    CHECK_INT_EQ(call("POST", path, NULL, "{\"from_member_id\":%lld}", (long long)a), 409);
    /* the export of the pseudonymous record still works and holds nothing personal */
    snprintf(path, sizeof path, "/api/v1/members/%lld/export", (long long)a);
    CHECK_INT_EQ(call("GET", path, NULL, NULL), 200);
    CHECK(strstr(buf, "\"erased\":true") != NULL);
    const char *gone[] = {PHONE,         PHONE2,           NAME,    UNIONID, CARD,
                          "Second Self", "openid-erase-1", WECOM_ID};
    for (size_t f = 0; f < sizeof gone / sizeof *gone; f++)
        if (strstr(buf, gone[f])) {
            fprintf(stderr, "export after erasure still holds %s\n", gone[f]);
            failures++;
        }
    if (harness_on_pg()) {
        /* siyu backup and vacuum are SQLite's (its backup API, its file): on PostgreSQL the
         * operator uses pg_dump and the server's own VACUUM (docs/privacy.md) */
        json_decref(m360);
        json_decref(x);
        close(fd);
        return;
    }

    /* a backup made after the erasure (before any vacuum) holds none of it */
    char bak[256];
    snprintf(bak, sizeof bak, "%s/early.bak", dir);
    snprintf(cmd, sizeof cmd, "%s backup --db %s --out %s >/dev/null", siyu, db, bak);
    CHECK_INT_EQ(run(cmd, NULL, 0), 0);
    const char *needles[] = {PHONE,         PHONE2,           NAME,    UNIONID, CARD,
                             "Second Self", "openid-erase-1", WECOM_ID};
    for (size_t f = 0; f < sizeof needles / sizeof *needles; f++)
        CHECK_INT_EQ(file_count(bak, needles[f]), 0);
    /* siyu vacuum while the server serves: the store's files hold none of it */
    snprintf(cmd, sizeof cmd, "%s vacuum --db %s >/dev/null", siyu, db);
    CHECK_INT_EQ(run(cmd, NULL, 0), 0);
    for (size_t f = 0; f < sizeof needles / sizeof *needles; f++) {
        int hits = store_count(needles[f]);
        if (hits)
            fprintf(stderr, "after vacuum: %s found %d times in the store\n", needles[f], hits);
        CHECK_INT_EQ(hits, 0);
    }
    snprintf(bak, sizeof bak, "%s/late.bak", dir);
    snprintf(cmd, sizeof cmd, "%s backup --db %s --out %s >/dev/null", siyu, db, bak);
    CHECK_INT_EQ(run(cmd, NULL, 0), 0);
    for (size_t f = 0; f < sizeof needles / sizeof *needles; f++)
        CHECK_INT_EQ(file_count(bak, needles[f]), 0);
    snprintf(cmd, sizeof cmd, "%s check --db %s >/dev/null", siyu, db);
    CHECK_INT_EQ(run(cmd, NULL, 0), 0);
    /* the server still serves after the vacuum; the same phone registers a new member */
    json_t *fresh = NULL;
    CHECK_INT_EQ(call("POST", "/api/v1/members", &fresh, "{\"phone\":\"" PHONE "\"}"), 201);
    CHECK(jint(fresh, "id") != a && jint(fresh, "id") > 0);
    json_decref(fresh);
    json_decref(m360);
    json_decref(x);
    close(fd);
}

/* ---------------- backup while 8 clients stream orders ---------------- */

#define WRITERS 8
#define MAX_ORDERS 4000
static atomic_int acked[WRITERS];
static atomic_bool stop, writer_failed;

static void *writer(void *arg)
{
    int w = (int)(intptr_t)arg;
    int c = conn_open();
    char b[8192], body[512];
    for (int i = 0; i < MAX_ORDERS && !atomic_load(&stop); i++) {
        snprintf(body, sizeof body,
                 "{\"channel\":\"store\",\"external_id\":\"w%d-%d\",\"store_id\":1,"
                 "\"member\":{\"phone\":\"1390000%04d\"},"
                 "\"placed_at\":\"2026-02-01T10:00:00+08:00\","
                 "\"items\":[{\"sku\":\"s%d\",\"qty\":1,\"unit_price_cents\":990}],"
                 "\"total_cents\":990}",
                 w, i, (w * 97 + i) % 500, i % 7);
        int st = request(c, "POST", "/api/v1/orders", body, b, sizeof b);
        if (st != 201) {
            fprintf(stderr, "writer %d: order %d -> %d %s\n", w, i, st, b);
            atomic_store(&writer_failed, true);
            break;
        }
        atomic_store(&acked[w], i + 1); /* acknowledged: w{w}-0 .. w{w}-i */
    }
    close(c);
    return NULL;
}

static void test_backup_under_writers(void)
{
    fd = conn_open();
    create("/api/v1/stores", "{\"name\":\"S1\",\"code\":\"s1\",\"kind\":\"physical\"}");
    pthread_t th[WRITERS];
    for (int w = 0; w < WRITERS; w++)
        pthread_create(&th[w], NULL, writer, (void *)(intptr_t)w);
    for (int w = 0; w < WRITERS; w++) /* every writer is streaming */
        while (atomic_load(&acked[w]) < 20 && !atomic_load(&writer_failed))
            usleep(1000);
    int before[WRITERS]; /* acknowledged before the backup began */
    for (int w = 0; w < WRITERS; w++)
        before[w] = atomic_load(&acked[w]);
    char bak[256], restored[256], cmd[1024];
    snprintf(bak, sizeof bak, "%s/stream.bak", dir);
    snprintf(restored, sizeof restored, "%s/restored.db", dir);
    snprintf(cmd, sizeof cmd, "%s backup --db %s --out %s >/dev/null", siyu, db, bak);
    CHECK_INT_EQ(run(cmd, NULL, 0), 0);
    int during = 0; /* writes went on while the backup ran */
    for (int w = 0; w < WRITERS; w++)
        during += atomic_load(&acked[w]) - before[w];
    atomic_store(&stop, true);
    for (int w = 0; w < WRITERS; w++)
        pthread_join(th[w], NULL);
    fprintf(stderr, "backup: %d orders acknowledged while it ran\n", during);
    CHECK(!atomic_load(&writer_failed));

    snprintf(cmd, sizeof cmd, "%s restore --from %s --db %s >/dev/null", siyu, bak, restored);
    CHECK_INT_EQ(run(cmd, NULL, 0), 0);
    snprintf(cmd, sizeof cmd, "%s check --db %s >/dev/null", siyu, restored);
    CHECK_INT_EQ(run(cmd, NULL, 0), 0);
    sqlite3 *s = NULL;
    CHECK_INT_EQ(sqlite3_open_v2(restored, &s, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(s,
                       "SELECT count(*) FROM orders WHERE channel = 'store' AND external_id = ?1",
                       -1, &q, NULL);
    int missing = 0, doubled = 0, total = 0;
    for (int w = 0; w < WRITERS; w++)
        for (int i = 0; i < before[w]; i++) {
            char ext[32];
            snprintf(ext, sizeof ext, "w%d-%d", w, i);
            sqlite3_reset(q);
            sqlite3_bind_text(q, 1, ext, -1, SQLITE_TRANSIENT);
            int n = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
            missing += n == 0;
            doubled += n > 1;
            total++;
        }
    sqlite3_finalize(q);
    CHECK_INT_EQ(missing, 0);
    CHECK_INT_EQ(doubled, 0);
    CHECK(total >= WRITERS * 20);
    /* no order in the copy that was never acknowledged or in flight */
    int acked_total = 0;
    for (int w = 0; w < WRITERS; w++)
        acked_total += atomic_load(&acked[w]);
    int64_t in_copy = sql_int("SELECT count(*) FROM orders WHERE ?1 = ?1", 0);
    CHECK(in_copy >= total && in_copy <= acked_total + WRITERS);
    sqlite3_close(s);

    /* restore refuses to overwrite a store unless told to */
    snprintf(cmd, sizeof cmd, "%s restore --from %s --db %s 2>/dev/null", siyu, bak, restored);
    CHECK(run(cmd, NULL, 0) != 0);
    snprintf(cmd, sizeof cmd, "%s restore --from %s --db %s 2>/dev/null", siyu, bak, db);
    CHECK(run(cmd, NULL, 0) != 0);
    snprintf(cmd, sizeof cmd, "%s restore --from %s --db %s --force >/dev/null", siyu, bak,
             restored);
    CHECK_INT_EQ(run(cmd, NULL, 0), 0);
    snprintf(cmd, sizeof cmd, "%s check --db %s >/dev/null", siyu, restored);
    CHECK_INT_EQ(run(cmd, NULL, 0), 0);
    /* a backup never lands on the store it copies (nor on its WAL or shared memory, by
     * another spelling of the path): refused, and the store serves on unharmed */
    for (int k = 0; k < 4; k++) {
        char target[600];
        const char *suffix[] = {"", "-wal", "-shm"};
        if (k < 3)
            snprintf(target, sizeof target, "%s%s", db, suffix[k]);
        else /* the same file by way of its directory's parent */
            snprintf(target, sizeof target, "%s/../%s%s", dir, strrchr(dir, '/') + 1,
                     strrchr(db, '/'));
        snprintf(cmd, sizeof cmd, "%s backup --db %s --out %s 2>/dev/null", siyu, db, target);
        CHECK(run(cmd, NULL, 0) != 0);
    }
    snprintf(cmd, sizeof cmd, "%s restore --from %s --db %s --force 2>/dev/null", siyu, db, db);
    CHECK(run(cmd, NULL, 0) != 0);
    json_t *later = NULL;
    CHECK_INT_EQ(call("POST", "/api/v1/members", &later, "{\"phone\":\"13511112222\"}"), 201);
    json_decref(later);
    snprintf(cmd, sizeof cmd, "%s check --db %s >/dev/null", siyu, db);
    CHECK_INT_EQ(run(cmd, NULL, 0), 0);
    /* and anything that is not a siyu store */
    char junk[256], plain[256];
    snprintf(junk, sizeof junk, "%s/junk.bak", dir);
    FILE *f = fopen(junk, "w");
    fputs("not a database at all\n", f);
    fclose(f);
    snprintf(plain, sizeof plain, "%s/plain.db", dir);
    sqlite3_open(plain, &s);
    sqlite3_exec(s, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", NULL, NULL, NULL);
    sqlite3_close(s);
    const char *bad[] = {junk, plain};
    for (int k = 0; k < 2; k++) {
        char target[256];
        snprintf(target, sizeof target, "%s/never%d.db", dir, k);
        snprintf(cmd, sizeof cmd, "%s restore --from %s --db %s 2>/dev/null", siyu, bad[k], target);
        CHECK(run(cmd, NULL, 0) != 0);
        CHECK(access(target, F_OK) != 0);
    }
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_rights PATH_TO_SIYU\n");
        return 2;
    }
    /* the first server's clock stands still on a weekday morning: the journey's message
     * is neither stale nor in quiet hours, whenever the test runs */
    setenv("SIYU_NOW", "2026-01-10T11:00:00+08:00", 1);
    pid_t pid = harness_start(argv[1]);
    unsetenv("SIYU_NOW");
    test_export_and_erase();
    CHECK_INT_EQ(harness_stop(pid), 0);
    /* siyu backup is SQLite's online backup API, SQLite-only by nature; a PostgreSQL store
     * is copied with pg_dump -Fc while siyu serves (one snapshot; docs/privacy.md) */
    if (!pgtest_server()) {
        pid = harness_start(argv[1]);
        test_backup_under_writers();
        CHECK_INT_EQ(harness_stop(pid), 0);
    }
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
