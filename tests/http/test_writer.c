/* One writer path, end to end: every kind of write — HTTP orders, members, tags, journey
 * ticks (over HTTP and in the background), token creation over HTTP, HTTP imports, and
 * from another process `siyu token create` and `siyu import` — mixed against one store
 * while the server runs, round after round; every write succeeds, before and after.
 * (Before: after POST /staff/{id}/tokens the writer kept a read snapshot open, and once
 * anything else had written, every later write answered 500 "database is locked".)
 * Then /readyz answers 200 with every background job healthy, and /metrics shows the
 * writer and the jobs. */
#include <check.h>
#include <jansson.h>

#include "harness.h"

static char buf[1 << 20];
static int fd;

static int post(const char *path, const char *body)
{
    int st = request(fd, "POST", path, body, buf, sizeof buf);
    if (st < 200 || st >= 300) fprintf(stderr, "POST %s: %d %s\n", path, st, buf);
    return st;
}

static int64_t post_id(const char *path, const char *body, int want)
{
    int st = post(path, body);
    CHECK_INT_EQ(st, want);
    json_t *v = json_loads(buf, 0, NULL);
    int64_t id = json_integer_value(json_object_get(v, "id"));
    json_decref(v);
    return id;
}

static int cli(const char *args)
{
    char cmd[1024], out[512];
    snprintf(cmd, sizeof cmd, "%s %s --db %s 2>&1", siyu, args, db);
    int rc = run(cmd, out, sizeof out);
    if (rc) fprintf(stderr, "siyu %s: %d %s\n", args, rc, out);
    return rc;
}

static void order_body(char *out, size_t cap, const char *ext, int cents)
{
    snprintf(out, cap,
             "{\"channel\":\"store\",\"external_id\":\"%s\",\"store_id\":1,\"placed_at\":"
             "\"2026-11-20T10:00:00+08:00\",\"total_cents\":%d,\"member\":{\"card_no\":\"C-%s\"},"
             "\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":%d}]}",
             ext, cents, ext, cents);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    /* the background jobs tick every second, through the same group committer */
    setenv("SIYU_TICK_SECONDS", "1", 1);
    setenv("SIYU_SWEEP_SECONDS", "1", 1);
    pid_t pid = harness_start(argv[1]);
    fd = conn_open();
    CHECK(fd >= 0);

    CHECK_INT_EQ(post("/api/v1/brands", "{\"name\":\"B\"}"), 201);
    CHECK_INT_EQ(post("/api/v1/stores",
                      "{\"code\":\"S1\",\"name\":\"S1\",\"brand_id\":1,\"kind\":\"physical\"}"),
                 201);
    int64_t guide =
        post_id("/api/v1/staff", "{\"name\":\"G\",\"role\":\"guide\",\"store_id\":1}", 201);

    char path[256], body[2048], file[256];
    int orders = 0;
    for (int round = 0; round < 3; round++) {
        /* token creation over HTTP: the write that used to leave the snapshot open */
        snprintf(path, sizeof path, "/api/v1/staff/%lld/tokens", (long long)guide);
        CHECK_INT_EQ(post(path, "{}"), 201);
        /* another process writes while the server runs */
        CHECK_INT_EQ(cli("token create --role admin"), 0);
        /* and every kind of write still succeeds */
        char ext[32];
        snprintf(ext, sizeof ext, "W%d", round);
        order_body(body, sizeof body, ext, 1000 + round);
        CHECK_INT_EQ(post("/api/v1/orders", body), 201);
        orders++;
        snprintf(body, sizeof body, "{\"phone\":\"1390000%04d\"}", round);
        int64_t member = post_id("/api/v1/members", body, 201);
        snprintf(body, sizeof body, "{\"name\":\"tag%d\"}", round);
        int64_t tag = post_id("/api/v1/tags", body, 201);
        snprintf(path, sizeof path, "/api/v1/tags/%lld/members", (long long)tag);
        snprintf(body, sizeof body, "{\"member_ids\":[%lld]}", (long long)member);
        CHECK_INT_EQ(post(path, body), 200);
        CHECK_INT_EQ(post("/api/v1/journeys/tick", NULL), 200);
        /* a CLI import in another process, then an HTTP import */
        snprintf(file, sizeof file, "%s/orders%d.ndjson", dir, round);
        FILE *f = fopen(file, "w");
        CHECK(f != NULL);
        for (int k = 0; k < 3; k++) {
            snprintf(ext, sizeof ext, "CLI%d-%d", round, k);
            order_body(body, sizeof body, ext, 500 + k);
            fprintf(f, "%s\n", body);
        }
        fclose(f);
        snprintf(body, sizeof body, "import orders %s", file);
        CHECK_INT_EQ(cli(body), 0);
        orders += 3;
        snprintf(ext, sizeof ext, "HI%d", round);
        order_body(body, sizeof body, ext, 700);
        strcat(body, "\n");
        CHECK_INT_EQ(post("/api/v1/import/orders", body), 200);
        orders++;
        /* the same kinds again right after the CLI wrote */
        snprintf(ext, sizeof ext, "X%d", round);
        order_body(body, sizeof body, ext, 900);
        CHECK_INT_EQ(post("/api/v1/orders", body), 201);
        orders++;
        snprintf(path, sizeof path, "/api/v1/tags/%lld/members/remove", (long long)tag);
        snprintf(body, sizeof body, "{\"member_ids\":[%lld]}", (long long)member);
        CHECK_INT_EQ(post(path, body), 200);
        CHECK_INT_EQ(post("/api/v1/journeys/tick", NULL), 200);
    }
    /* everything landed once: the order count over HTTP equals what was written */
    int got = 0;
    char cursor[64] = "";
    for (;;) {
        snprintf(path, sizeof path, "/api/v1/orders?limit=100%s%s", *cursor ? "&cursor=" : "",
                 cursor);
        CHECK_INT_EQ(request(fd, "GET", path, NULL, buf, sizeof buf), 200);
        json_t *v = json_loads(buf, 0, NULL);
        got += (int)json_array_size(json_object_get(v, "items"));
        const char *next = json_string_value(json_object_get(v, "next_cursor"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        json_decref(v);
        if (!*cursor) break;
    }
    CHECK_INT_EQ(got, orders);
    /* the CLI still writes after all that, and so does the server */
    CHECK_INT_EQ(cli("token create --role operator"), 0);
    CHECK_INT_EQ(post("/api/v1/members", "{\"phone\":\"13911112222\"}"), 201);

    /* readiness: the store answers and every job's last run succeeded */
    int st = request(fd, "GET", "/readyz", NULL, buf, sizeof buf);
    CHECK_INT_EQ(st, 200);
    json_t *v = json_loads(buf, 0, NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(v, "status")), "ready");
    CHECK_INT_EQ(json_array_size(json_object_get(v, "failing")), 0);
    json_decref(v);
    CHECK_INT_EQ(request(fd, "GET", "/metrics", NULL, buf, sizeof buf), 200);
    CHECK(strstr(buf, "siyu_writer_writes_total ") != NULL);
    CHECK(strstr(buf, "siyu_job_runs_total{job=\"journeys\"}") != NULL);
    CHECK(strstr(buf, "siyu_job_failures_total{job=\"sweep\"} 0") != NULL);
    CHECK(strstr(buf, "siyu_backlog_due_messages ") != NULL);
    close(fd);

    /* SQLite: a sync of the WAL that fails (injected: the server's first) answers the write
     * it covered 500 and refuses every write after it, readiness saying why, until siyu
     * restarts; the write it covered did commit */
    if (strncmp(db, "postgres", 8) != 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        setenv("SIYU_STORE_SYNC_FAULT", "1", 1);
        setenv("SIYU_DEFER_SYNC", "on", 1); /* the committer's sync thread, always */
        pid = start_server();
        unsetenv("SIYU_STORE_SYNC_FAULT");
        fd = conn_open();
        CHECK_INT_EQ(
            request(fd, "POST", "/api/v1/brands", "{\"name\":\"unsynced\"}", buf, sizeof buf), 500);
        CHECK(strstr(buf, "sync") != NULL);
        CHECK_INT_EQ(
            request(fd, "POST", "/api/v1/brands", "{\"name\":\"refused\"}", buf, sizeof buf), 500);
        CHECK(strstr(buf, "restart") != NULL);
        CHECK_INT_EQ(request(fd, "GET", "/readyz", NULL, buf, sizeof buf), 503);
        v = json_loads(buf, 0, NULL);
        CHECK(json_is_false(json_object_get(v, "writes")));
        CHECK(strstr(json_string_value(json_object_get(v, "writes_error")), "sync") != NULL);
        json_decref(v);
        CHECK_INT_EQ(request(fd, "GET", "/metrics", NULL, buf, sizeof buf), 200);
        CHECK(strstr(buf, "siyu_ready 0") != NULL);
        close(fd);
        CHECK_INT_EQ(db_int("SELECT count(*) FROM brands WHERE name = 'unsynced'", 0, 0), 1);
        CHECK_INT_EQ(db_int("SELECT count(*) FROM brands WHERE name = 'refused'", 0, 0), 0);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        unsetenv("SIYU_DEFER_SYNC");
        pid = start_server(); /* a restart takes writes again */
        fd = conn_open();
        CHECK_INT_EQ(post("/api/v1/brands", "{\"name\":\"after-the-restart\"}"), 201);
        CHECK_INT_EQ(request(fd, "GET", "/readyz", NULL, buf, sizeof buf), 200);
        /* the default (SIYU_DEFER_SYNC=auto) counts who made each batch durable */
        CHECK_INT_EQ(request(fd, "GET", "/metrics", NULL, buf, sizeof buf), 200);
        const char *kw = "siyu_writer_syncs_total{by=\"writer\"} ",
                   *kt = "siyu_writer_syncs_total{by=\"sync_thread\"} ";
        const char *by_writer = strstr(buf, kw), *by_thread = strstr(buf, kt);
        CHECK(by_writer != NULL && by_thread != NULL);
        if (by_writer && by_thread)
            CHECK(atol(by_writer + strlen(kw)) + atol(by_thread + strlen(kt)) >= 1);
        close(fd);
    }
    CHECK_INT_EQ(harness_stop(pid), 0);
    return CHECK_DONE();
}
