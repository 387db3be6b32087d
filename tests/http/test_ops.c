/* test_ops.c — what an operator and a browser meet, checked on the real server.
 *
 * CORS: off by default (no header at all); with --cors-origins an allowed origin gets
 * Access-Control-Allow-Origin on every answer (errors too) and a preflight names the
 * path's methods and the headers it may send, another origin gets nothing, both get
 * Vary: Origin, and credentials are never allowed.
 * gzip: an answer over the threshold is gzipped for a client that accepts it — inflated,
 * it is byte for byte the plain answer; a small answer, or gzip;q=0, goes plain; Vary:
 * Accept-Encoding either way.
 * /metrics: every family an operator's dashboard reads is there, passes promtool (when
 * installed: scripts/setup.sh installs it), and moves when its thing happens: an order
 * posted moves the writer's writes, batches, commit and fsync histograms and the route's
 * 201 count; an import moves the import counters by what it imported and rejected.
 * Run: test_ops PATH_TO_SIYU */
#include <check.h>
#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <time.h>
#include <zlib.h>

#include "harness.h"

static int fd;
static char head[16384], body[1 << 21];
static size_t body_len;

/* One request on the keep-alive connection (extra: header lines), its header block in
 * head and its body (any bytes) in body/body_len. */
static int call(const char *tok, const char *method, const char *path, const char *extra,
                const char *data)
{
    char req[16384];
    size_t blen = data ? strlen(data) : 0;
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, tok ? "Authorization: Bearer " : "", tok ? tok : "",
                     tok ? "\r\n" : "", extra ? extra : "", blen, data ? data : "");
    if (n <= 0 || (size_t)n >= sizeof req) return -1;
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
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
        harness_record_raw(method, path, in, hl + want);
        memcpy(head, in, hl < sizeof head ? hl : sizeof head - 1);
        head[hl < sizeof head ? hl : sizeof head - 1] = 0;
        memcpy(body, in + hl, want);
        body[want] = 0;
        body_len = want;
        return status;
    }
}

/* The value of header name in head ("" when absent). */
static const char *header(const char *name)
{
    static char v[1024];
    v[0] = 0;
    char pat[128];
    snprintf(pat, sizeof pat, "\r\n%s:", name);
    const char *p = strcasestr(head, pat);
    if (!p) return v;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\r");
    snprintf(v, sizeof v, "%.*s", (int)n, p);
    return v;
}

static void test_cors_off(void)
{
    int st = call(NULL, "GET", "/healthz", "Origin: https://a.example\r\n", NULL);
    CHECK_INT_EQ(st, 200);
    CHECK(strcasestr(head, "Access-Control-") == NULL);
    CHECK(strstr(header("Vary"), "Origin") == NULL);
    st = call(NULL, "OPTIONS", "/api/v1/orders",
              "Origin: https://a.example\r\nAccess-Control-Request-Method: POST\r\n", NULL);
    CHECK_INT_EQ(st, 204);
    CHECK(strcasestr(head, "Access-Control-") == NULL);
}

static void test_cors_on(void)
{
    /* an allowed origin reads answers, errors included */
    int st = call(NULL, "GET", "/healthz", "Origin: https://b.example\r\n", NULL);
    CHECK_INT_EQ(st, 200);
    CHECK_STR_EQ(header("Access-Control-Allow-Origin"), "https://b.example");
    CHECK(strstr(header("Vary"), "Origin") != NULL);
    CHECK(strstr(header("Access-Control-Expose-Headers"), "X-Request-Id") != NULL);
    CHECK(strcasestr(head, "Access-Control-Allow-Credentials") == NULL);
    st = call(NULL, "GET", "/api/v1/members", "Origin: https://a.example\r\n", NULL);
    CHECK_INT_EQ(st, 401);
    CHECK_STR_EQ(header("Access-Control-Allow-Origin"), "https://a.example");
    /* another origin: nothing a browser would accept, and still Vary: Origin */
    st = call(NULL, "GET", "/healthz", "Origin: https://evil.example\r\n", NULL);
    CHECK_INT_EQ(st, 200);
    CHECK(strcasestr(head, "Access-Control-Allow-Origin") == NULL);
    CHECK(strstr(header("Vary"), "Origin") != NULL);
    /* a preflight: the path's methods, the headers siyu reads, no token needed */
    st = call(NULL, "OPTIONS", "/api/v1/orders",
              "Origin: https://a.example\r\nAccess-Control-Request-Method: POST\r\n"
              "Access-Control-Request-Headers: authorization, idempotency-key\r\n",
              NULL);
    CHECK_INT_EQ(st, 204);
    CHECK_STR_EQ(header("Access-Control-Allow-Origin"), "https://a.example");
    CHECK(strstr(header("Access-Control-Allow-Methods"), "POST") != NULL);
    CHECK(strstr(header("Access-Control-Allow-Methods"), "GET") != NULL);
    CHECK(strstr(header("Access-Control-Allow-Methods"), "DELETE") == NULL);
    CHECK(strstr(header("Access-Control-Allow-Headers"), "Authorization") != NULL);
    CHECK(strstr(header("Access-Control-Allow-Headers"), "Idempotency-Key") != NULL);
    CHECK(atoi(header("Access-Control-Max-Age")) > 0);
    CHECK(strcasestr(head, "Access-Control-Allow-Credentials") == NULL);
    st = call(NULL, "OPTIONS", "/api/v1/orders",
              "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n", NULL);
    CHECK_INT_EQ(st, 204);
    CHECK(strcasestr(head, "Access-Control-Allow-") == NULL);
    st = call(NULL, "OPTIONS", "/api/v1/no-such-thing",
              "Origin: https://a.example\r\nAccess-Control-Request-Method: GET\r\n", NULL);
    CHECK_INT_EQ(st, 404);
}

/* body inflated from gzip into out; returns its length, or -1. */
static long gunzip(const char *in, size_t n, char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + 15) != Z_OK) return -1;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    int rc = inflate(&z, Z_FINISH);
    long len = rc == Z_STREAM_END ? (long)z.total_out : -1;
    inflateEnd(&z);
    return len;
}

static void test_gzip(void)
{
    static char plain[1 << 21], inflated[1 << 21];
    int st = call(NULL, "GET", "/api/v1/openapi.json", NULL, NULL);
    CHECK_INT_EQ(st, 200);
    CHECK(body_len > 1024);
    CHECK(strcasestr(head, "Content-Encoding") == NULL);
    CHECK(strstr(header("Vary"), "Accept-Encoding") != NULL);
    size_t plain_len = body_len;
    memcpy(plain, body, body_len);
    st = call(NULL, "GET", "/api/v1/openapi.json", "Accept-Encoding: br, gzip;q=0.8\r\n", NULL);
    CHECK_INT_EQ(st, 200);
    CHECK_STR_EQ(header("Content-Encoding"), "gzip");
    CHECK(strstr(header("Vary"), "Accept-Encoding") != NULL);
    CHECK(body_len < plain_len / 4); /* JSON compresses well */
    long n = gunzip(body, body_len, inflated, sizeof inflated);
    CHECK_INT_EQ(n, (long)plain_len);
    CHECK(n == (long)plain_len && memcmp(inflated, plain, plain_len) == 0);
    /* the same for an authenticated list */
    st = call(token, "GET", "/api/v1/members?limit=200", "Accept-Encoding: gzip\r\n", NULL);
    CHECK_INT_EQ(st, 200);
    if (strcmp(header("Content-Encoding"), "gzip") == 0) {
        n = gunzip(body, body_len, inflated, sizeof inflated);
        CHECK(n > 0);
        inflated[n > 0 ? n : 0] = 0;
        json_t *v = json_loads(inflated, 0, NULL);
        CHECK(json_is_array(json_object_get(v, "items")));
        json_decref(v);
    }
    /* refused by q=0, and a small answer: plain */
    st = call(NULL, "GET", "/api/v1/openapi.json", "Accept-Encoding: gzip;q=0\r\n", NULL);
    CHECK_INT_EQ(st, 200);
    CHECK(strcasestr(head, "Content-Encoding") == NULL);
    CHECK_INT_EQ((long)body_len, (long)plain_len);
    st = call(NULL, "GET", "/healthz", "Accept-Encoding: gzip\r\n", NULL);
    CHECK_INT_EQ(st, 200);
    CHECK(strcasestr(head, "Content-Encoding") == NULL);
    CHECK(strstr(body, "ok") != NULL);
}

/* ---- metrics ---- */

static char metrics[1 << 20];

static void scrape(void)
{
    int st = call(NULL, "GET", "/metrics", NULL, NULL);
    CHECK_INT_EQ(st, 200);
    snprintf(metrics, sizeof metrics, "%s", body);
}

/* The value of one series (its name and labels exactly as rendered), or -1 when absent. */
static double value(const char *series)
{
    size_t n = strlen(series);
    for (const char *p = metrics; (p = strstr(p, series)); p += n)
        if ((p == metrics || p[-1] == '\n') && p[n] == ' ') return strtod(p + n + 1, NULL);
    return -1;
}

static bool family(const char *name, const char *type)
{
    char want[160];
    snprintf(want, sizeof want, "# TYPE %s %s\n", name, type);
    return strstr(metrics, want) != NULL;
}

static void test_metrics_families(void)
{
    static const char *const fam[][2] = {
        {"siyu_http_requests_total", "counter"},
        {"siyu_http_responses_total", "counter"},
        {"siyu_http_request_duration_seconds", "histogram"},
        {"siyu_http_requests_in_flight", "gauge"},
        {"siyu_http_connections_open", "gauge"},
        {"siyu_http_store_connections", "gauge"},
        {"siyu_http_store_connection_waits_total", "counter"},
        {"siyu_store_bytes", "gauge"},
        {"siyu_build_info", "gauge"},
        {"siyu_writer_queued", "gauge"},
        {"siyu_writer_batch_size", "histogram"},
        {"siyu_writer_commit_seconds", "histogram"},
        {"siyu_store_fsync_seconds", "histogram"},
        {"siyu_job_runs_total", "counter"},
        {"siyu_job_failures_total", "counter"},
        {"siyu_job_duration_seconds", "histogram"},
        {"siyu_job_last_success_seconds", "gauge"},
        {"siyu_outbox_messages_total", "counter"},
        {"siyu_outbox_depth", "gauge"},
        {"siyu_webhook_attempts_total", "counter"},
        {"siyu_webhook_duration_seconds", "histogram"},
        {"siyu_import_records_total", "counter"},
        {"siyu_member_index_bytes", "gauge"},
        {"siyu_report_facts_bytes", "gauge"},
        {"siyu_group_view_ready", "gauge"},
        {"siyu_ready", "gauge"},
        {"process_cpu_seconds_total", "counter"},
        {"process_resident_memory_bytes", "gauge"},
        {"process_open_fds", "gauge"},
        {"process_start_time_seconds", "gauge"},
    };
    scrape();
    for (size_t i = 0; i < sizeof fam / sizeof *fam; i++) {
        if (!family(fam[i][0], fam[i][1])) fprintf(stderr, "missing family %s\n", fam[i][0]);
        CHECK(family(fam[i][0], fam[i][1]));
    }
    if (!harness_on_pg()) CHECK(family("siyu_store_wal_bytes", "gauge"));
    CHECK(value("process_resident_memory_bytes") > 1e6);
    CHECK(value("process_open_fds") > 3);
    double start = value("process_start_time_seconds"), now = (double)time(NULL);
    CHECK(start > now - 3600 && start <= now + 5);
    CHECK_INT_EQ((long)value("siyu_ready"), 1);
    CHECK(value("siyu_http_requests_in_flight") >= 1); /* this scrape */
    /* promtool's own check, when it is installed (scripts/setup.sh installs it) */
    if (system("command -v promtool >/dev/null 2>&1") == 0) {
        char path[600], cmd[800];
        snprintf(path, sizeof path, "%s/metrics.txt", dir);
        FILE *f = fopen(path, "w");
        fputs(metrics, f);
        fclose(f);
        snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
        CHECK_INT_EQ(system(cmd), 0);
    } else {
        /* CI installs it (scripts/setup.sh): there, its absence is a failure */
        fprintf(stderr, "promtool not installed: its check is skipped\n");
        CHECK(getenv("CI") == NULL);
    }
}

static void test_metrics_move(void)
{
    int st = call(token, "POST", "/api/v1/stores", NULL,
                  "{\"name\":\"一店\",\"code\":\"S1\",\"kind\":\"physical\"}");
    CHECK_INT_EQ(st, 201);
    scrape();
    double writes = value("siyu_writer_writes_total"),
           batches = value("siyu_writer_batch_size_count"),
           commits = value("siyu_writer_commit_seconds_count"),
           syncs = value("siyu_store_fsync_seconds_count"),
           created = value("siyu_http_responses_total{method=\"POST\",route=\"/api/v1/orders\","
                           "code=\"201\"}");
    CHECK(writes >= 1 && batches >= 1 && commits >= 1);
    CHECK(created < 0); /* no order yet: no series */
    st = call(token, "POST", "/api/v1/orders", NULL,
              "{\"channel\":\"store\",\"external_id\":\"OPS1\",\"store_id\":1,\"placed_at\":"
              "\"2026-11-20T10:00:00+08:00\",\"total_cents\":500,\"items\":[{\"sku\":\"A\","
              "\"qty\":1,\"unit_price_cents\":500}]}");
    CHECK_INT_EQ(st, 201);
    scrape();
    CHECK(value("siyu_writer_writes_total") >= writes + 1);
    CHECK(value("siyu_writer_batch_size_count") >= batches + 1);
    CHECK(value("siyu_writer_commit_seconds_count") >= commits + 1);
    /* on SQLite the commit synced the WAL (synchronous=FULL) */
    if (!harness_on_pg()) CHECK(value("siyu_store_fsync_seconds_count") >= syncs + 1);
    CHECK_INT_EQ((long)value("siyu_http_responses_total{method=\"POST\",route=\"/api/v1/orders\","
                             "code=\"201\"}"),
                 1);
    CHECK(value("siyu_http_requests_total{method=\"POST\",route=\"/api/v1/orders\","
                "status=\"2xx\"}") == 1);

    /* an import: two members in, one rejected */
    double in0 = value("siyu_import_records_total{kind=\"members\",outcome=\"imported\"}");
    double rej0 = value("siyu_import_records_total{kind=\"members\",outcome=\"rejected\"}");
    st = call(token, "POST", "/api/v1/import/members", NULL,
              "{\"phone\":\"13800000001\",\"name\":\"甲\"}\n"
              "{\"phone\":\"not a phone\"}\n"
              "{\"phone\":\"13800000002\",\"name\":\"乙\"}\n");
    CHECK(st == 200 || st == 422);
    scrape();
    CHECK_INT_EQ(
        (long)(value("siyu_import_records_total{kind=\"members\",outcome=\"imported\"}") - in0), 2);
    CHECK_INT_EQ(
        (long)(value("siyu_import_records_total{kind=\"members\",outcome=\"rejected\"}") - rej0),
        1);
    CHECK(value("siyu_member_index_members") >= 2);
    /* the background jobs run at start: their durations are counted */
    for (int i = 0; i < 500 && value("siyu_job_duration_seconds_count{job=\"journeys\"}") < 1;
         i++) {
        usleep(20000);
        scrape();
    }
    CHECK(value("siyu_job_duration_seconds_count{job=\"journeys\"}") >= 1);
    CHECK(value("siyu_job_runs_total{job=\"journeys\"}") >=
          value("siyu_job_duration_seconds_count{job=\"journeys\"}") - 1);
}

/* Every series the Grafana dashboard (ops/grafana/siyu.json) queries is a family of a
 * real /metrics answer (a histogram's _bucket, _sum and _count of its family). */
static void test_dashboard(void)
{
    const char *path = getenv("SIYU_DASHBOARD");
    if (!path) {
        fprintf(stderr, "SIYU_DASHBOARD not set: the dashboard check is skipped\n");
        return;
    }
    json_error_t err;
    json_t *d = json_load_file(path, 0, &err);
    CHECK(d != NULL);
    scrape();
    size_t i, k, exprs = 0;
    json_t *panel, *target;
    json_array_foreach(json_object_get(d, "panels"), i, panel)
    {
        json_array_foreach(json_object_get(panel, "targets"), k, target)
        {
            const char *e = json_string_value(json_object_get(target, "expr"));
            CHECK(e != NULL);
            exprs++;
            for (const char *p = e; p && *p; p++) {
                if ((strncmp(p, "siyu_", 5) && strncmp(p, "process_", 8)) ||
                    (p > e && (isalnum((unsigned char)p[-1]) || p[-1] == '_')))
                    continue;
                char name[128];
                size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
                snprintf(name, sizeof name, "%.*s", (int)n, p);
                char want[200];
                snprintf(want, sizeof want, "# TYPE %s ", name);
                bool ok = strstr(metrics, want) != NULL;
                static const char *const suffix[] = {"_bucket", "_sum", "_count"};
                for (int sfx = 0; !ok && sfx < 3; sfx++) {
                    size_t sl = strlen(suffix[sfx]);
                    if (n > sl && strcmp(name + n - sl, suffix[sfx]) == 0) {
                        snprintf(want, sizeof want, "# TYPE %.*s histogram", (int)(n - sl), name);
                        ok = strstr(metrics, want) != NULL;
                    }
                }
                if (!ok) fprintf(stderr, "dashboard: %s is no metric of /metrics\n", name);
                CHECK(ok);
                p += n - 1;
            }
        }
    }
    CHECK(exprs > 20);
    json_decref(d);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    unsetenv("SIYU_CORS_ORIGINS");
    pid_t pid = harness_start(argv[1]);
    fd = conn_open();
    test_cors_off();
    test_gzip();
    test_metrics_families();
    test_metrics_move();
    test_dashboard();
    close(fd);
    /* the same store served again with an allow-list */
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    setenv("SIYU_CORS_ORIGINS", "https://a.example, https://b.example", 1);
    pid = start_server(); /* on a new port */
    fd = conn_open();
    test_cors_on();
    close(fd);
    CHECK_INT_EQ(harness_stop(pid), 0);
    return CHECK_DONE();
}
