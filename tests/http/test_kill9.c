/* test_kill9.c — an acknowledged order survives kill -9, exactly once.
 *
 * Starts the real `siyu serve` on a free loopback port, lets 8 client threads post
 * distinct orders over keep-alive connections, records every order answered 201, kills
 * the server with SIGKILL mid-stream, restarts it on the same store and then checks:
 * every acknowledged order is there (a replay answers 200 with the same id), and no
 * order is there twice (each external id appears once in the store).
 * Run: test_kill9 PATH_TO_SIYU (SIYU_TEST_DB=postgresql://… runs it on PostgreSQL) */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <jansson.h>

#define THREADS 8
#define MAX_ACKS 200000

#include "harness.h"

/* ---- the load ---- */

static atomic_int acked_n;
static int acked[MAX_ACKS]; /* sequence numbers answered 201 */
static atomic_bool stop;

static void order_body(int seq, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "{\"channel\":\"store\",\"external_id\":\"k%d\",\"store_id\":1,"
             "\"placed_at\":\"2026-11-20T10:00:00+08:00\",\"total_cents\":%d,"
             "\"member\":{\"phone\":\"138%08d\"},"
             "\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":%d}]}",
             seq, 100 + seq % 900, seq % 5000, 100 + seq % 900);
}

static void *client(void *arg)
{
    int t = (int)(intptr_t)arg;
    int fd = conn_open();
    char body[512], buf[8192];
    for (int k = 0; fd >= 0 && !atomic_load(&stop); k++) {
        int seq = k * THREADS + t;
        order_body(seq, body, sizeof body);
        int st = request(fd, "POST", "/api/v1/orders", body, buf, sizeof buf);
        if (st < 0) break; /* the server is gone: this order may or may not have landed */
        if (st == 201) {
            int i = atomic_fetch_add(&acked_n, 1);
            if (i < MAX_ACKS) acked[i] = seq;
        }
    }
    if (fd >= 0) close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_kill9 PATH_TO_SIYU\n");
        return 2;
    }
    siyu = argv[1];
    snprintf(dir, sizeof dir, "/tmp/siyu-kill9-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    harness_store("k.db");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s init --db %s >/dev/null", siyu, db);
    CHECK_INT_EQ(run(cmd, NULL, 0), 0);
    snprintf(cmd, sizeof cmd, "%s token create --db %s --role admin", siyu, db);
    CHECK_INT_EQ(run(cmd, token, sizeof token), 0);
    port = free_port();
    pid_t pid = start_server();
    int fd = conn_open();
    char buf[8192];
    CHECK_INT_EQ(request(fd, "POST", "/api/v1/stores",
                         "{\"name\":\"店\",\"code\":\"S1\",\"kind\":\"physical\"}", buf,
                         sizeof buf),
                 201);
    close(fd);

    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, client, (void *)(intptr_t)t);
    /* let the stream run, then kill the server in the middle of it */
    for (int i = 0; i < 200 && atomic_load(&acked_n) < 3000; i++)
        usleep(10000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    atomic_store(&stop, true);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    int n = atomic_load(&acked_n);
    fprintf(stderr, "acknowledged %d orders before SIGKILL\n", n);
    CHECK(n > 100);

    /* no order twice: each external id at most once in the store */
    long long counts[2] = {-1, -2};
    CHECK_INT_EQ(db_ints("SELECT count(*), count(DISTINCT external_id) FROM orders", counts, 2), 0);
    long long stored = counts[0];
    CHECK_INT_EQ(stored, counts[1]);
    CHECK(stored >= n); /* orders in flight at the kill may have landed, unacknowledged */

    /* every acknowledged order is there: after restart, its replay answers 200 */
    pid = start_server();
    fd = conn_open();
    int missing = 0;
    for (int i = 0; i < n && i < MAX_ACKS; i++) {
        char body[512];
        order_body(acked[i], body, sizeof body);
        int st = request(fd, "POST", "/api/v1/orders", body, buf, sizeof buf);
        if (st != 200) missing++;
    }
    CHECK_INT_EQ(missing, 0);
    /* and the count did not move: the replays created nothing */
    CHECK_INT_EQ(request(fd, "GET", "/api/v1/orders?limit=1", NULL, buf, sizeof buf), 200);
    close(fd);
    long long after = -1;
    CHECK_INT_EQ(db_ints("SELECT count(*) FROM orders", &after, 1), 0);
    CHECK_INT_EQ(after, stored);

    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0); /* graceful stop exits 0 */
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT_EQ(system(cmd), 0);
    harness_store_drop();
    return CHECK_DONE();
}
