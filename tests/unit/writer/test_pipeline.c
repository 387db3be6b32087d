/* The request pipeline with store faults, in-process: a read whose store step fails
 * answers 500 — never a 404, a 401, a short list or a 200 built on missing rows — and a
 * write whose step fails answers 500 and writes nothing. Every N from 1 until the call
 * succeeds with no fault hit. */
#include <check.h>
#include <pthread.h>

#include "../../http/harness.h"
#include "base/timeutil.h"
#include "http/http.h"
#include "loyalty/loyalty.h"

static store_t *st;
static char buf[1 << 16];

static int count_members(void)
{
    store_conn *c;
    siyu_err e;
    siyu_err_init(&e);
    store_conn_open(st, &c, &e);
    store_stmt *s = store_q(c, Q_COUNT_MEMBERS);
    int n = store_step(s) == STORE_ROW ? (int)store_col_int(s, 0) : -1;
    store_reset(s);
    store_conn_close(c);
    return n;
}

/* Calls method path with the n-th step failing, n = 1, 2, … until a call hits no fault;
 * every faulted call must answer 500. Returns the final (fault-free) status. */
static int with_faults(const char *method, const char *path, const char *body, int *faulted)
{
    int fd = conn_open();
    int status = -1;
    *faulted = 0;
    for (int n = 1; n < 1000; n++) {
        int before = count_members();
        long hits = store_fault_hits(st);
        store_fault_set(st, n, STORE_FAULT_IOERR);
        status = request(fd, method, path, body, buf, sizeof buf);
        store_fault_set(st, 0, STORE_FAULT_IOERR);
        if (store_fault_hits(st) == hits) break;
        (*faulted)++;
        if (status != 500)
            fprintf(stderr, "%s %s, fault at step %d: %d %s\n", method, path, n, status, buf);
        CHECK_INT_EQ(status, 500);
        CHECK(strstr(buf, "\"internal\"") != NULL);
        CHECK_INT_EQ(count_members(), before); /* nothing written */
    }
    close(fd);
    return status;
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/siyu-pipe-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(db, sizeof db, "%s/p.db", dir);
    siyu_err e;
    siyu_err_init(&e);
    store_options create = {.sync = STORE_SYNC_NORMAL, .create = true};
    CHECK_INT_EQ(store_open(db, &create, &st, &e), 0);
    loyalty_install();
    store_conn *c;
    CHECK_INT_EQ(store_conn_open(st, &c, &e), 0);
    CHECK_INT_EQ(store_begin(c, true, &e), 0);
    CHECK_INT_EQ(auth_token_create(c, ROLE_ADMIN, 0, "test", clock_now(), token, &e), 0);
    CHECK_INT_EQ(store_commit(c, &e), 0);
    store_conn_close(c);

    http_config cfg;
    http_config_init(&cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.threads = 2;
    cfg.access_log = NULL;
    http_server *srv;
    CHECK_INT_EQ(http_server_start(st, &cfg, &srv, &e), 0);
    port = http_server_port(srv);

    int fd = conn_open();
    CHECK_INT_EQ(request(fd, "POST", "/api/v1/members",
                         "{\"phone\":\"13900000001\",\"name\":\"A\"}", buf, sizeof buf),
                 201);
    CHECK_INT_EQ(
        request(fd, "POST", "/api/v1/members", "{\"phone\":\"13900000002\"}", buf, sizeof buf),
        201);
    close(fd);

    int faulted;
    /* a member's 360: a failed read is not "no such member" (404) nor "bad token" (401) */
    CHECK_INT_EQ(with_faults("GET", "/api/v1/members/1", NULL, &faulted), 200);
    CHECK(faulted > 0);
    /* a list: a failed read is not a short list */
    CHECK_INT_EQ(with_faults("GET", "/api/v1/members?limit=10", NULL, &faulted), 200);
    CHECK(faulted > 0);
    CHECK(strstr(buf, "13900000002") != NULL || strstr(buf, "\"id\":2") != NULL);
    /* a write: 500 and nothing written, until it lands once */
    CHECK_INT_EQ(with_faults("POST", "/api/v1/members", "{\"phone\":\"13900000003\"}", &faulted),
                 201);
    CHECK(faulted > 0);
    CHECK_INT_EQ(count_members(), 3);
    /* an order for a member: the same */
    CHECK_INT_EQ(with_faults("POST", "/api/v1/brands", "{\"name\":\"B\"}", &faulted), 201);
    CHECK(faulted > 0);

    http_server_stop(srv);
    store_close(st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT_EQ(system(cmd), 0);
    return CHECK_DONE();
}
