/* test_segments_e2e.c — issue 4 against the real server: RFM and lifecycle settings set
 * over the API (validated, role-checked, in force at once, kept over a restart, the same
 * through the CLI), manual tags by ids, phones, audience and CSV files of phones, and
 * merges that the member index follows at once.
 *
 * Expected answers are computed here from the data the test wrote — by the rules of
 * docs/segments.md, or by SQL over the store — never copied from the server.
 * Run: test_segments_e2e PATH_TO_SIYU */
#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "harness.h"

static char buf[1 << 20];
static pid_t pid;
static int fd;

/* ---------------- HTTP helpers ---------------- */

/* One request with any content type and body size (the harness's takes JSON only). */
static int raw_request(const char *tok, const char *method, const char *path, const char *ctype,
                       const char *body, size_t blen)
{
    size_t cap = blen + 1024;
    char *req = malloc(cap);
    int n = snprintf(req, cap,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                     method, path, tok, ctype, blen);
    memcpy(req + n, body, blen);
    size_t len = (size_t)n + blen;
    int ok = send(fd, req, len, MSG_NOSIGNAL) == (ssize_t)len;
    free(req);
    if (!ok) return -1;
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (r <= 0) return -1;
        got += (size_t)r;
        buf[got] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) continue;
        char *cl = strcasestr(buf, "Content-Length:");
        size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;
        size_t header = (size_t)(end + 4 - buf);
        if (got < header + want) continue;
        int status = atoi(buf + 9);
        harness_record_raw(method, path, buf, header + want);
        memmove(buf, end + 4, want);
        buf[want] = 0;
        return status;
    }
}

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

static json_t *csv_as(const char *tok, const char *path, const char *ctype, const char *body,
                      int *status)
{
    *status = raw_request(tok, "POST", path, ctype, body, strlen(body));
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

static int64_t count_of(const char *tok, const char *expr)
{
    json_t *body = json_pack("{s:s}", "expr", expr);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    int st;
    json_t *v = J_as(tok, "POST", "/api/v1/segments/count", text, &st);
    free(text);
    if (st != 200) fprintf(stderr, "count %s: %d %s\n", expr, st, buf);
    CHECK_INT_EQ(st, 200);
    int64_t n = json_integer_value(json_object_get(v, "count"));
    json_decref(v);
    return n;
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

/* The member 360's rfm / lifecycle / tags. */
static json_t *member(int64_t id)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)id);
    int st;
    json_t *v = J("GET", path, NULL, &st);
    CHECK_INT_EQ(st, 200);
    return v;
}

static const char *member_str(int64_t id, const char *key, char *out, size_t cap)
{
    json_t *v = member(id);
    const char *s = json_string_value(json_object_get(v, key));
    snprintf(out, cap, "%s", s ? s : "(null)");
    json_decref(v);
    return out;
}

static void stop(void)
{
    close(fd);
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void start(void)
{
    pid = start_server();
    fd = conn_open();
}

static void restart(void)
{
    stop();
    start();
}

/* ---------------- the store, read directly ---------------- */

static int64_t sql_int(const char *q, int64_t a, int64_t b)
{
    long long v = db_int(q, a, b); /* on either store (harness.h) */
    if (v < 0) CHECK(0);
    return v;
}

static int64_t tag_rows(int64_t tag)
{
    return sql_int("SELECT count(*) FROM tag_members t JOIN members m ON m.id = t.member_id"
                   " WHERE t.tag_id = ?1 AND m.merged_into IS NULL",
                   tag, 0);
}

static bool tagged(int64_t tag, int64_t member_id)
{
    return sql_int("SELECT count(*) FROM tag_members WHERE tag_id = ?1 AND member_id = ?2", tag,
                   member_id) == 1;
}

/* ---------------- dates ---------------- */

/* The local (+08:00) day number today, and noon of a day as RFC 3339. */
static int32_t today_local(void)
{
    return (int32_t)((time(NULL) + 8 * 3600) / 86400);
}

static void noon(int32_t day, char *out, size_t cap)
{
    time_t t = (time_t)day * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT12:00:00+08:00", &tm);
}

static int order_seq;

/* An order `days_ago` days ago of `cents` in `category`, for a member by card. */
static int64_t order(const char *card, int days_ago, int64_t cents, const char *category)
{
    char when[40], body[600];
    noon(today_local() - days_ago, when, sizeof when);
    snprintf(
        body, sizeof body,
        "{\"channel\":\"store\",\"external_id\":\"E2E-%d\",\"store_id\":1,\"placed_at\":\"%s\","
        "\"total_cents\":%lld,\"member\":{\"card_no\":\"%s\"},\"items\":[{\"sku\":\"S\","
        "\"category\":\"%s\",\"qty\":1,\"unit_price_cents\":%lld}]}",
        ++order_seq, when, (long long)cents, card, category, (long long)cents);
    return create("/api/v1/orders", body);
}

/* ---------------- settings ---------------- */

/* What the test wrote for one member, to classify it by the documented rules. */
typedef struct hand {
    const char *card;
    int64_t id;
    int norders;
    int days_ago[4];
    int64_t cents[4];
} hand;

static hand people[] = {
    {"RF1", 0, 1, {0}, {10000}},
    {"RF2", 0, 3, {40, 70, 100}, {10000, 12000, 8000}},
    {"RF3", 0, 1, {200}, {500}},
    {"RF4", 0, 0, {0}, {0}},
};
#define NPEOPLE (sizeof people / sizeof *people)

static const char *rfm_by_hand(const hand *h, int r_max, int f_min, int64_t m_min)
{
    static const char *const names[2][2][2] = {
        {{"一般挽留", "重要挽留"}, {"一般保持", "重要保持"}},
        {{"一般发展", "重要发展"}, {"一般价值", "重要价值"}}}; /* [r][f][m] */
    if (!h->norders) return "(null)";
    int last = 100000;
    int64_t spend = 0;
    for (int i = 0; i < h->norders; i++) {
        last = h->days_ago[i] < last ? h->days_ago[i] : last;
        spend += h->cents[i];
    }
    return names[last <= r_max][h->norders >= f_min][spend >= m_min];
}

static const char *lifecycle_by_hand(const hand *h, int new_days, int active, int lapsed)
{
    if (!h->norders) return "prospect";
    int first = -1, last = 100000, prev = 100000;
    for (int i = 0; i < h->norders; i++) {
        first = h->days_ago[i] > first ? h->days_ago[i] : first;
        last = h->days_ago[i] < last ? h->days_ago[i] : last;
    }
    for (int i = 0; i < h->norders; i++)
        if (h->days_ago[i] > last && h->days_ago[i] < prev) prev = h->days_ago[i];
    if (first < new_days) return "new";
    if (last <= active) return prev != 100000 && prev - last > lapsed ? "won_back" : "active";
    return last <= lapsed ? "at_risk" : "lapsed";
}

static int64_t lower_median(int64_t *v, int n)
{
    for (int i = 1; i < n; i++) /* insertion sort: a handful of values */
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            int64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[(n - 1) / 2];
}

static void check_classes(int r, int f, int64_t m, int nd, int ad, int ld, const char *when)
{
    char got[64];
    for (size_t i = 0; i < NPEOPLE; i++) {
        const char *want = rfm_by_hand(&people[i], r, f, m);
        member_str(people[i].id, "rfm", got, sizeof got);
        if (strcmp(got, want))
            fprintf(stderr, "%s: %s rfm %s, expected %s\n", when, people[i].card, got, want);
        CHECK_STR_EQ(got, want);
        want = lifecycle_by_hand(&people[i], nd, ad, ld);
        member_str(people[i].id, "lifecycle", got, sizeof got);
        if (strcmp(got, want))
            fprintf(stderr, "%s: %s lifecycle %s, expected %s\n", when, people[i].card, got, want);
        CHECK_STR_EQ(got, want);
    }
}

static void put_fails(const char *tok, const char *body, int status, const char *field)
{
    int st;
    json_t *v = J_as(tok, "PUT", "/api/v1/segments/settings", body, &st);
    if (st != status) fprintf(stderr, "PUT %s: %d %s\n", body, st, buf);
    CHECK_INT_EQ(st, status);
    if (field) CHECK_STR_EQ(err_field(v), field);
    json_decref(v);
}

static char optok[128], mgrtok[128];

static void test_settings(void)
{
    int st;
    /* defaults: a median split, and 30 / 90 / 180 */
    json_t *v = J("GET", "/api/v1/segments/settings", NULL, &st);
    CHECK_INT_EQ(st, 200);
    CHECK_STR_EQ(json_string_value(json_object_get(v, "rfm")), "auto");
    json_t *life = json_object_get(v, "lifecycle");
    CHECK_INT_EQ(json_integer_value(json_object_get(life, "new_days")), 30);
    CHECK_INT_EQ(json_integer_value(json_object_get(life, "active_days")), 90);
    CHECK_INT_EQ(json_integer_value(json_object_get(life, "lapsed_days")), 180);
    json_decref(v);

    for (size_t i = 0; i < NPEOPLE; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"card_no\":\"%s\"}", people[i].card);
        people[i].id = create("/api/v1/members", body);
        for (int k = 0; k < people[i].norders; k++)
            order(people[i].card, people[i].days_ago[k], people[i].cents[k], "生鲜");
    }
    /* "auto": the medians of what the test wrote (members with orders only) */
    int64_t rec[NPEOPLE], freq[NPEOPLE], mon[NPEOPLE];
    int n = 0;
    for (size_t i = 0; i < NPEOPLE; i++) {
        if (!people[i].norders) continue;
        int last = 100000;
        int64_t spend = 0;
        for (int k = 0; k < people[i].norders; k++) {
            last = people[i].days_ago[k] < last ? people[i].days_ago[k] : last;
            spend += people[i].cents[k];
        }
        rec[n] = last;
        freq[n] = people[i].norders;
        mon[n++] = spend;
    }
    int r_auto = (int)lower_median(rec, n) - 1, f_auto = (int)lower_median(freq, n) + 1;
    int64_t m_auto = lower_median(mon, n) + 1;
    /* the index recomputes medians on a day roll or a change of settings: ask for auto */
    v = J("PUT", "/api/v1/segments/settings", "{\"rfm\":\"auto\"}", &st);
    CHECK_INT_EQ(st, 200);
    json_t *inforce = json_object_get(v, "rfm_in_force");
    CHECK_INT_EQ(json_integer_value(json_object_get(inforce, "recency_max_days")), r_auto);
    CHECK_INT_EQ(json_integer_value(json_object_get(inforce, "frequency_min_orders")), f_auto);
    CHECK_INT_EQ(json_integer_value(json_object_get(inforce, "monetary_min_cents")), m_auto);
    json_decref(v);
    check_classes(r_auto, f_auto, m_auto, 30, 90, 180, "auto");

    /* a rule tag naming a class: it must follow the thresholds */
    create("/api/v1/tags", "{\"name\":\"保持客\",\"expr\":\"rfm = \\\"重要保持\\\"\"}");

    /* fixed thresholds: in force at once */
    v = J("PUT", "/api/v1/segments/settings",
          "{\"rfm\":{\"recency_max_days\":30,\"frequency_min_orders\":2,\"monetary_min_cents\":"
          "20000},"
          "\"lifecycle\":{\"new_days\":1,\"active_days\":30,\"lapsed_days\":100}}",
          &st);
    CHECK_INT_EQ(st, 200);
    CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(v, "rfm"), "recency_max_days")),
                 30);
    json_decref(v);
    check_classes(30, 2, 20000, 1, 30, 100, "fixed");
    int64_t keep = 0;
    for (size_t i = 0; i < NPEOPLE; i++)
        keep += strcmp(rfm_by_hand(&people[i], 30, 2, 20000), "重要保持") == 0;
    CHECK(keep > 0);
    CHECK_INT_EQ(count_of(token, "tag:\"保持客\""), keep);
    CHECK_INT_EQ(count_of(token, "rfm = \"重要保持\""), keep);

    /* every bad field is named, and a refused PUT changes nothing */
    put_fails(token, "{}", 400, "rfm");
    put_fails(token, "{\"rfm\":\"median\"}", 400, "rfm");
    put_fails(
        token,
        "{\"rfm\":{\"recency_max_days\":-1,\"frequency_min_orders\":2,\"monetary_min_cents\":1}}",
        400, "rfm.recency_max_days");
    put_fails(
        token,
        "{\"rfm\":{\"recency_max_days\":1,\"frequency_min_orders\":0,\"monetary_min_cents\":1}}",
        400, "rfm.frequency_min_orders");
    put_fails(token,
              "{\"rfm\":{\"recency_max_days\":1,\"frequency_min_orders\":2,\"monetary_min_cents\":"
              "\"9\"}}",
              400, "rfm.monetary_min_cents");
    put_fails(token, "{\"rfm\":{\"recency_max_days\":1,\"frequency_min_orders\":2}}", 400,
              "rfm.monetary_min_cents");
    put_fails(token, "{\"rfm\":{\"recency_days\":1}}", 400, "rfm.recency_days");
    put_fails(token, "{\"lifecycle\":{\"new_days\":1,\"active_days\":60,\"lapsed_days\":30}}", 400,
              "lifecycle.lapsed_days");
    put_fails(token, "{\"lifecycle\":{\"active_days\":60,\"lapsed_days\":90}}", 400,
              "lifecycle.new_days");
    put_fails(token, "{\"lifecycle\":{\"new_days\":1.5,\"active_days\":60,\"lapsed_days\":90}}",
              400, "lifecycle.new_days");
    put_fails(token, "{\"lifecycle\":30}", 400, "lifecycle");
    put_fails(token, "{\"rfm\":\"auto\",\"colour\":1}", 400, "colour");
    /* roles: HQ only may set them; everyone may read them */
    put_fails(mgrtok, "{\"rfm\":\"auto\"}", 403, NULL);
    v = J_as(mgrtok, "GET", "/api/v1/segments/settings", NULL, &st);
    CHECK_INT_EQ(st, 200);
    CHECK_INT_EQ(
        json_integer_value(json_object_get(json_object_get(v, "rfm"), "frequency_min_orders")), 2);
    json_decref(v);
    check_classes(30, 2, 20000, 1, 30, 100, "after refused PUTs");
    /* an operator may; a body with only lifecycle leaves rfm as it was */
    v = J_as(optok, "PUT", "/api/v1/segments/settings",
             "{\"lifecycle\":{\"new_days\":1,\"active_days\":50,\"lapsed_days\":150}}", &st);
    CHECK_INT_EQ(st, 200);
    json_decref(v);
    check_classes(30, 2, 20000, 1, 50, 150, "operator");

    /* kept in the store, under the documented keys */
    CHECK_INT_EQ(
        sql_int("SELECT count(*) FROM settings WHERE key IN ('segment.rfm', 'segment.lifecycle')",
                0, 0),
        2);
    /* re-applied at start-up, rule tags included */
    restart();
    check_classes(30, 2, 20000, 1, 50, 150, "after a restart");
    CHECK_INT_EQ(count_of(token, "tag:\"保持客\""), keep);
    v = J("GET", "/api/v1/segments/settings", NULL, &st);
    CHECK_INT_EQ(
        json_integer_value(json_object_get(json_object_get(v, "lifecycle"), "active_days")), 50);
    json_decref(v);

    /* the CLI reads and writes the same thing (a CLI write takes effect at the next start,
     * so it runs while the server is stopped) */
    stop();
    char cmd[512], out[4096];
    snprintf(cmd, sizeof cmd, "%s segment settings --db %s", siyu, db);
    FILE *p = popen(cmd, "r");
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = 0;
    CHECK_INT_EQ(pclose(p), 0);
    json_t *cli = json_loads(out, 0, NULL);
    CHECK_INT_EQ(
        json_integer_value(json_object_get(json_object_get(cli, "rfm"), "monetary_min_cents")),
        20000);
    CHECK_INT_EQ(
        json_integer_value(json_object_get(json_object_get(cli, "lifecycle"), "lapsed_days")), 150);
    json_decref(cli);
    snprintf(cmd, sizeof cmd,
             "%s segment settings --db %s --set '{\"lifecycle\":{\"new_days\":1}}' 2>/dev/null",
             siyu, db);
    CHECK_INT_EQ(WEXITSTATUS(system(cmd)), 2);
    snprintf(cmd, sizeof cmd,
             "%s segment settings --db %s --set '{\"rfm\":\"auto\"}' >/dev/null 2>&1", siyu, db);
    CHECK_INT_EQ(WEXITSTATUS(system(cmd)), 0);
    start();
    check_classes(r_auto, f_auto, m_auto, 1, 50, 150, "auto again, set by the CLI");
}

/* ---------------- manual tags ---------------- */

#define NT 8
static int64_t tm_id[NT];
static const char *const tm_phone[NT] = {"13900000001", "13900000002", "13900000003",
                                         "13900000004", "13900000005", "13900000006",
                                         "13900000007", "13900000008"};

static void test_tags(void)
{
    int st;
    char path[128], body[512];
    for (int i = 0; i < NT; i++) {
        /* the first six in store 1, the others in store 2 */
        snprintf(body, sizeof body, "{\"phone\":\"%s\",\"store_id\":%d,\"city\":\"宁波\"}",
                 tm_phone[i], i < 6 ? 1 : 2);
        tm_id[i] = create("/api/v1/members", body);
    }
    int64_t tag = create("/api/v1/tags", "{\"name\":\"团购\"}");
    int64_t rule = create("/api/v1/tags", "{\"name\":\"宁波\",\"expr\":\"city = \\\"宁波\\\"\"}");

    /* JSON: by ids, by phones (any spelling), by a saved segment */
    snprintf(path, sizeof path, "/api/v1/tags/%lld/members", (long long)tag);
    snprintf(body, sizeof body, "{\"member_ids\":[%lld],\"phones\":[\"+86 139-0000-0002\"]}",
             (long long)tm_id[0]);
    json_t *v = J("POST", path, body, &st);
    CHECK_INT_EQ(st, 200);
    json_decref(v);
    CHECK(tagged(tag, tm_id[0]) && tagged(tag, tm_id[1]));
    CHECK_INT_EQ(tag_rows(tag), 2);
    CHECK_INT_EQ(count_of(token, "tag:团购"), tag_rows(tag));
    int64_t seg = create("/api/v1/segments",
                         "{\"name\":\"宁波二店\",\"expr\":\"city = \\\"宁波\\\" and store = 2\"}");
    snprintf(body, sizeof body, "{\"expr\":\"segment:%lld\"}", (long long)seg);
    v = J("POST", path, body, &st);
    CHECK_INT_EQ(st, 200);
    json_decref(v);
    CHECK(tagged(tag, tm_id[6]) && tagged(tag, tm_id[7]));
    CHECK_INT_EQ(tag_rows(tag), 4);
    CHECK_INT_EQ(count_of(token, "tag:团购"), tag_rows(tag));
    /* remove by the same audience */
    snprintf(path, sizeof path, "/api/v1/tags/%lld/members/remove", (long long)tag);
    v = J("POST", path, body, &st);
    CHECK_INT_EQ(st, 200);
    json_decref(v);
    CHECK(!tagged(tag, tm_id[6]) && !tagged(tag, tm_id[7]));
    CHECK_INT_EQ(tag_rows(tag), 2);
    CHECK_INT_EQ(count_of(token, "tag:团购"), 2);
    /* one unknown id: nothing written */
    snprintf(path, sizeof path, "/api/v1/tags/%lld/members", (long long)tag);
    snprintf(body, sizeof body, "{\"member_ids\":[%lld, 999999]}", (long long)tm_id[5]);
    v = J("POST", path, body, &st);
    CHECK_INT_EQ(st, 404);
    CHECK_STR_EQ(err_field(v), "member_ids[1]");
    json_decref(v);
    CHECK(!tagged(tag, tm_id[5]));

    /* CSV: BOM, CRLF, quoted cells with commas, quotes and a line break, blank lines,
     * phones spelt three ways, one phone twice */
    snprintf(path, sizeof path, "/api/v1/tags/%lld/members/csv", (long long)tag);
    const char *file = "\xEF\xBB\xBFname,Phone,note\r\n"
                       "\"Li, Lei\",13900000003,a\r\n"
                       "\"Wang \"\"Xiao\"\"\",+86 139 0000 0004,\"two\r\nlines\"\r\n"
                       "\r\n"
                       "Zhao,139-0000-0005,\r\n"
                       "again,13900000003,\r\n"
                       "\r\n";
    v = csv_as(token, path, "text/csv", file, &st);
    if (st != 200) fprintf(stderr, "csv: %d %s\n", st, buf);
    CHECK_INT_EQ(st, 200);
    CHECK_INT_EQ(json_integer_value(json_object_get(v, "rows")), 4);
    CHECK_INT_EQ(json_integer_value(json_object_get(v, "added")), 3);
    json_decref(v);
    for (int i = 0; i < 5; i++)
        CHECK(tagged(tag, tm_id[i]));
    CHECK_INT_EQ(tag_rows(tag), 5);
    CHECK_INT_EQ(count_of(token, "tag:团购"), 5);

    /* a bad file: every bad or unknown phone with its line (line 4's record spans two
     * lines and line 6 is blank, so the unknown phone is on line 7); nothing written */
    const char *bad = "phone,name\n"
                      "13900000006,ok\n"
                      "12345,short\n"
                      "13900000007,\"a\nb\"\n"
                      "\n"
                      "13811112222,unknown\n"
                      ",empty\n"
                      "13900000008,ok\n";
    v = csv_as(token, path, "text/csv; charset=utf-8", bad, &st);
    CHECK_INT_EQ(st, 400);
    CHECK_STR_EQ(err_code(v), "invalid_argument");
    CHECK_STR_EQ(err_field(v), "phone");
    json_t *errors = json_object_get(json_object_get(v, "error"), "errors");
    CHECK_INT_EQ(json_array_size(errors), 3);
    static const int want_lines[] = {3, 7, 8};
    for (size_t i = 0; i < 3 && i < json_array_size(errors); i++) {
        json_t *e = json_array_get(errors, i);
        CHECK_INT_EQ(json_integer_value(json_object_get(e, "line")), want_lines[i]);
        CHECK_STR_EQ(json_string_value(json_object_get(e, "field")), "phone");
    }
    CHECK(strstr(json_string_value(json_object_get(json_array_get(errors, 1), "message")),
                 "13811112222") != NULL);
    CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(v, "error"), "rejected")), 3);
    json_decref(v);
    CHECK(!tagged(tag, tm_id[5]) && !tagged(tag, tm_id[6]) && !tagged(tag, tm_id[7]));
    CHECK_INT_EQ(tag_rows(tag), 5);
    CHECK_INT_EQ(count_of(token, "tag:团购"), 5);

    /* no phone column; an unclosed quote; JSON sent to the CSV route; an empty file */
    v = csv_as(token, path, "text/csv", "name,tel\na,13900000006\n", &st);
    CHECK_INT_EQ(st, 400);
    CHECK_STR_EQ(err_field(v), "phone");
    json_decref(v);
    v = csv_as(token, path, "text/csv", "phone\n13900000006\n\"13900000007\n", &st);
    CHECK_INT_EQ(st, 400);
    json_decref(v);
    CHECK(!tagged(tag, tm_id[5]));
    v = csv_as(token, path, "application/json", "{\"phones\":[\"13900000006\"]}", &st);
    CHECK_INT_EQ(st, 400);
    CHECK_STR_EQ(err_field(v), "Content-Type");
    json_decref(v);
    v = csv_as(token, path, "text/csv", "phone\n", &st);
    CHECK_INT_EQ(st, 400);
    json_decref(v);
    CHECK_INT_EQ(tag_rows(tag), 5);

    /* a store manager of store 1: a phone of store 2 is outside their scope */
    const char *scoped = "phone\n13900000006\n13900000007\n";
    v = csv_as(mgrtok, path, "text/csv", scoped, &st);
    CHECK_INT_EQ(st, 400);
    errors = json_object_get(json_object_get(v, "error"), "errors");
    CHECK_INT_EQ(json_array_size(errors), 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(json_array_get(errors, 0), "line")), 3);
    json_decref(v);
    CHECK(!tagged(tag, tm_id[5]));
    v = csv_as(mgrtok, path, "text/csv", "phone\n13900000006\n", &st);
    CHECK_INT_EQ(st, 200);
    json_decref(v);
    CHECK(tagged(tag, tm_id[5]));

    /* remove by CSV */
    snprintf(path, sizeof path, "/api/v1/tags/%lld/members/remove/csv", (long long)tag);
    v = csv_as(token, path, "text/csv", "phone\n13900000001\n13900000006\n", &st);
    CHECK_INT_EQ(st, 200);
    CHECK_INT_EQ(json_integer_value(json_object_get(v, "removed")), 2);
    json_decref(v);
    CHECK(!tagged(tag, tm_id[0]) && !tagged(tag, tm_id[5]));
    CHECK_INT_EQ(tag_rows(tag), 4);
    CHECK_INT_EQ(count_of(token, "tag:团购"), 4);

    /* a rule tag takes no members; an unknown tag is a 404 */
    snprintf(path, sizeof path, "/api/v1/tags/%lld/members/csv", (long long)rule);
    v = csv_as(token, path, "text/csv", "phone\n13900000001\n", &st);
    CHECK_INT_EQ(st, 422);
    json_decref(v);
    v = csv_as(token, "/api/v1/tags/999999/members/csv", "text/csv", "phone\n13900000001\n", &st);
    CHECK_INT_EQ(st, 404);
    json_decref(v);

    /* the index after a restart agrees with the store */
    restart();
    CHECK_INT_EQ(count_of(token, "tag:团购"), tag_rows(tag));
}

/* ---------------- merges ---------------- */

/* The index's count of an expression, from the live server and from the CLI (which
 * builds a fresh index from the store). */
static int64_t cli_count(const char *expr)
{
    char cmd[1024], out[256];
    snprintf(cmd, sizeof cmd, "%s segment count --db %s '%s'", siyu, db, expr);
    if (run(cmd, out, sizeof out)) return -1;
    return atoll(out);
}

static void test_merge(void)
{
    int st;
    char path[128], body[256], expr[512];
    int64_t into = create("/api/v1/members", "{\"card_no\":\"MG-A\",\"city\":\"温州\"}");
    int64_t from = create("/api/v1/members", "{\"card_no\":\"MG-B\",\"city\":\"温州\"}");
    order("MG-A", 100, 3000, "日化");
    order("MG-A", 10, 2000, "日化");
    order("MG-B", 400, 9000, "酒水"); /* outside every window */
    order("MG-B", 20, 4000, "酒水");
    order("MG-B", 5, 1500, "生鲜");
    int64_t tag = create("/api/v1/tags", "{\"name\":\"合并前\"}");
    snprintf(path, sizeof path, "/api/v1/tags/%lld/members", (long long)tag);
    snprintf(body, sizeof body, "{\"member_ids\":[%lld]}", (long long)from);
    json_t *v = J("POST", path, body, &st);
    CHECK_INT_EQ(st, 200);
    json_decref(v);
    CHECK_INT_EQ(count_of(token, "city = \"温州\""), 2);

    snprintf(path, sizeof path, "/api/v1/members/%lld/merge", (long long)into);
    snprintf(body, sizeof body, "{\"from_member_id\":%lld}", (long long)from);
    v = J("POST", path, body, &st);
    CHECK_INT_EQ(st, 200);
    json_decref(v);

    /* the survivor's figures, from the store */
    int64_t orders = sql_int("SELECT count(*) FROM orders WHERE member_id = ?1", into, 0);
    int64_t spend = sql_int(
        "SELECT sum(total_cents - refunded_cents) FROM orders WHERE member_id = ?1", into, 0);
    int64_t cut30 =
        (int64_t)(today_local() - 29) * 86400 - 8 * 3600; /* local midnight, 29 days ago */
    int64_t o30 = sql_int("SELECT count(*) FROM orders WHERE member_id = ?1 AND placed_at >= ?2",
                          into, cut30);
    int64_t s30 =
        sql_int("SELECT sum(total_cents) FROM orders WHERE member_id = ?1 AND placed_at >= ?2",
                into, cut30);
    CHECK_INT_EQ(orders, 5);
    CHECK(o30 == 3 && s30 == 7500);
    /* right away, without a restart: one member, with both members' orders and tags */
    snprintf(expr, sizeof expr,
             "city = \"温州\" and orders = %lld and spend_cents = %lld and orders_30d = %lld and "
             "spend_30d_cents = %lld and favourite_category = \"酒水\" and tag:\"合并前\" and "
             "first_order_days = 400 and last_order_days = 5",
             (long long)orders, (long long)spend, (long long)o30, (long long)s30);
    CHECK_INT_EQ(count_of(token, "city = \"温州\""), 1);
    CHECK_INT_EQ(count_of(token, expr), 1);
    CHECK_INT_EQ(count_of(token, "tag:\"合并前\""), tag_rows(tag));
    json_t *m = member(into);
    json_t *tags = json_object_get(m, "tags");
    bool has = false;
    for (size_t i = 0; i < json_array_size(tags); i++)
        has |= strcmp(json_string_value(json_array_get(tags, i)), "合并前") == 0;
    CHECK(has);
    json_decref(m);
    /* the live index and one rebuilt from the store agree */
    static const char *const exprs[] = {"city = \"温州\"",
                                        "orders >= 4",
                                        "orders_90d = 3",
                                        "spend_365d_cents = 7500",
                                        "favourite_category = \"酒水\"",
                                        "tag:\"合并前\"",
                                        "lifecycle = \"active\""};
    for (size_t i = 0; i < sizeof exprs / sizeof *exprs; i++)
        CHECK_INT_EQ(count_of(token, exprs[i]), cli_count(exprs[i]));
    CHECK_INT_EQ(cli_count(expr), 1);
    /* a replayed merge moves nothing twice */
    v = J("POST", path, body, &st);
    CHECK_INT_EQ(st, 200);
    json_decref(v);
    CHECK_INT_EQ(count_of(token, expr), 1);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    pid = harness_start(argv[1]);
    fd = conn_open();
    int st;
    json_t *v = J("POST", "/api/v1/stores",
                  "{\"name\":\"一店\",\"code\":\"S1\",\"kind\":\"physical\"}", &st);
    json_decref(v);
    v = J("POST", "/api/v1/stores", "{\"name\":\"二店\",\"code\":\"S2\",\"kind\":\"physical\"}",
          &st);
    json_decref(v);
    int64_t mgr =
        create("/api/v1/staff", "{\"name\":\"店长\",\"role\":\"store_manager\",\"store_id\":1}");
    char path[64];
    snprintf(path, sizeof path, "/api/v1/staff/%lld/tokens", (long long)mgr);
    v = J("POST", path, NULL, &st);
    snprintf(mgrtok, sizeof mgrtok, "%s", json_string_value(json_object_get(v, "token")));
    json_decref(v);
    int64_t op = create("/api/v1/staff", "{\"name\":\"总部运营\",\"role\":\"operator\"}");
    snprintf(path, sizeof path, "/api/v1/staff/%lld/tokens", (long long)op);
    v = J("POST", path, NULL, &st);
    snprintf(optok, sizeof optok, "%s", json_string_value(json_object_get(v, "token")));
    json_decref(v);

    test_settings();
    test_tags();
    test_merge();

    close(fd);
    CHECK_INT_EQ(harness_stop(pid), 0);
    return CHECK_DONE();
}
