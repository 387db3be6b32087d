/* test_nodes.c — two `siyu serve` nodes on one PostgreSQL store.
 *
 *   - an Idempotency-Key answered on A answers the same on B (the keys are in the store);
 *   - a member created on node A is counted by node B's segment count: B follows A's
 *     commits through the change log (polled; the delay is printed, not asserted);
 *   - 8 writers post distinct orders, spread over both nodes, each order's member on a
 *     thank-you journey; node A is killed with SIGKILL mid-stream; the writers of A go on
 *     on B. Then: every acknowledged order is in the store exactly once (and replays on B
 *     answer 200), every journey run ended with exactly one message, sent (the file
 *     adapter's lines are counted too), the jobs ran on
 *     one node at a time (the lease), and `siyu check` is clean.
 * PostgreSQL only (exit 77 on SQLite: one process serves a SQLite store).
 * Run: SIYU_TEST_DB=postgresql://… test_nodes PATH_TO_SIYU */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "harness.h"

#define WRITERS 8
#define MAX_ACKS 100000
#define MEMBERS 200 /* the chain's members, each with an SMS marketing consent */

static int port_a, port_b;
static atomic_bool a_dead, stop;
static atomic_int acked_n;
static int acked[MAX_ACKS];

static int conn_to(int p)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        close(fd);
        return -1;
    }
    return fd;
}

static void order_body(int seq, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "{\"channel\":\"store\",\"external_id\":\"n%d\",\"store_id\":1,"
             "\"placed_at\":\"2026-11-20T10:00:00+08:00\",\"total_cents\":%d,"
             "\"member\":{\"phone\":\"137%08d\"},"
             "\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":%d}]}",
             seq, 100 + seq % 900, seq % MEMBERS, 100 + seq % 900);
}

/* Writer t posts to node A when t is even, else B; once A is gone, A's writers go to B. */
static void *writer(void *arg)
{
    int t = (int)(intptr_t)arg;
    bool on_a = t % 2 == 0;
    int fd = conn_to(on_a ? port_a : port_b);
    char body[512], buf[8192];
    for (int k = 0; !atomic_load(&stop) && k < 20000; k++) {
        int seq = k * WRITERS + t;
        order_body(seq, body, sizeof body);
        int st = fd >= 0 ? request(fd, "POST", "/api/v1/orders", body, buf, sizeof buf) : -1;
        if (st < 0) { /* the node died: this order may or may not have landed; retry on B */
            if (fd >= 0) close(fd);
            fd = conn_to(port_b);
            on_a = false;
            st = fd >= 0 ? request(fd, "POST", "/api/v1/orders", body, buf, sizeof buf) : -1;
        }
        if (st == 201 || st == 200) { /* 200: the retry of an order that had landed on A */
            int i = atomic_fetch_add(&acked_n, 1);
            if (i < MAX_ACKS) acked[i] = seq;
        } else if (st >= 0) {
            fprintf(stderr, "writer %d: order %d -> %d %.200s\n", t, seq, st, buf);
        }
    }
    if (fd >= 0) close(fd);
    return NULL;
}

static long long seg_count_on(int p, const char *expr)
{
    int fd = conn_to(p);
    char body[256], buf[4096];
    snprintf(body, sizeof body, "{\"expr\":\"%s\"}", expr);
    int st = request(fd, "POST", "/api/v1/segments/count", body, buf, sizeof buf);
    close(fd);
    json_t *o = st == 200 ? json_loads(buf, 0, NULL) : NULL;
    long long n = o ? json_integer_value(json_object_get(o, "count")) : -1;
    json_decref(o);
    return n;
}

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    if (!pgtest_server()) {
        fprintf(stderr, "test_nodes: PostgreSQL only (SIYU_TEST_DB), skipped\n");
        return 77;
    }
    setenv("SIYU_TICK_SECONDS", "1", 1); /* the journeys run while the orders stream */
    pid_t a = harness_start(argv[1]);
    port_a = port;
    pid_t b = start_server(); /* on a port of its own */
    port_b = port;
    port = port_a;
    char buf[8192];
    int fd = conn_to(port_a);
    CHECK_INT_EQ(request(fd, "POST", "/api/v1/stores",
                         "{\"name\":\"店\",\"code\":\"S1\",\"kind\":\"physical\"}", buf,
                         sizeof buf),
                 201);
    CHECK_INT_EQ(
        request(fd, "POST", "/api/v1/journeys",
                "{\"name\":\"thanks\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":["
                "{\"action\":\"send_message\",\"channel\":\"sms\",\"template\":\"thanks\"},"
                "{\"action\":\"exit\"}]}",
                buf, sizeof buf),
        201);
    json_t *j = json_loads(buf, 0, NULL);
    /* no quiet hours: the test runs at any hour of the real clock, and from 21:00 to 09:00
     * (+08:00) every send would wait for the morning (it failed in CI at 21:20) */
    CHECK_INT_EQ(request(fd, "PUT", "/api/v1/journeys/guardrails", "{\"quiet_hours\":null}", buf,
                         sizeof buf),
                 200);
    /* the messages go to a file in the outbox directory both nodes share */
    CHECK_INT_EQ(request(fd, "PUT", "/api/v1/channels/sms",
                         "{\"adapter\":\"file\",\"path\":\"sms.ndjson\"}", buf, sizeof buf),
                 200);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/activate",
             (long long)json_integer_value(json_object_get(j, "id")));
    json_decref(j);
    CHECK_INT_EQ(request(fd, "POST", path, NULL, buf, sizeof buf), 200);

    /* the members, made on both nodes, each with a marketing consent for SMS */
    int fb = conn_to(port_b);
    for (int i = 0; i < MEMBERS; i++) {
        int on = i % 2 ? fb : fd;
        char body[160], path2[96];
        snprintf(body, sizeof body, "{\"phone\":\"137%08d\",\"store_id\":1}", i);
        CHECK_INT_EQ(request(on, "POST", "/api/v1/members", body, buf, sizeof buf), 201);
        json_t *m = json_loads(buf, 0, NULL);
        snprintf(path2, sizeof path2, "/api/v1/members/%lld/consents",
                 (long long)json_integer_value(json_object_get(m, "id")));
        json_decref(m);
        CHECK_INT_EQ(request(on, "POST", path2,
                             "{\"purpose\":\"marketing\",\"channel\":\"sms\",\"granted\":true,"
                             "\"source\":\"till\",\"text_version\":\"t1\","
                             "\"at\":\"2026-01-01T09:00:00+08:00\"}",
                             buf, sizeof buf),
                     200);
    }

    /* an Idempotency-Key answered on A answers the same on B: the keys are in the store
     * (a journey, which nothing but the key makes a retry of) */
    char first[4096];
    const char *draft = "{\"name\":\"draft\",\"trigger\":{\"event\":\"order_paid\"},"
                        "\"steps\":[{\"action\":\"exit\"}]}";
    long long journeys = db_int("SELECT count(*) FROM journeys", 0, 0);
    CHECK_INT_EQ(request_hdr(fd, token, "POST", "/api/v1/journeys", "Idempotency-Key: j-1\r\n",
                             draft, buf, sizeof buf),
                 201);
    snprintf(first, sizeof first, "%s", buf);
    CHECK_INT_EQ(request_hdr(fb, token, "POST", "/api/v1/journeys", "Idempotency-Key: j-1\r\n",
                             draft, buf, sizeof buf),
                 200); /* a replay */
    CHECK_STR_EQ(buf, first);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM journeys", 0, 0), journeys + 1);
    close(fb);

    /* a member created on A, counted on B */
    long long before = seg_count_on(port_b, "city = \\\"Lhasa\\\"");
    CHECK_INT_EQ(before, 0);
    CHECK_INT_EQ(request(fd, "POST", "/api/v1/members",
                         "{\"phone\":\"13912345678\",\"city\":\"Lhasa\"}", buf, sizeof buf),
                 201);
    double t0 = mono(), seen = -1;
    for (int i = 0; i < 1000 && seen < 0; i++) {
        if (seg_count_on(port_b, "city = \\\"Lhasa\\\"") == 1)
            seen = mono() - t0;
        else
            usleep(5000);
    }
    fprintf(stderr, "node B counted node A's member after %.3f s\n", seen);
    CHECK(seen >= 0);
    close(fd);

    /* 8 writers over both nodes; A killed mid-stream */
    pthread_t th[WRITERS];
    for (int t = 0; t < WRITERS; t++)
        pthread_create(&th[t], NULL, writer, (void *)(intptr_t)t);
    for (int i = 0; i < 1000 && atomic_load(&acked_n) < 600; i++)
        usleep(10000);
    kill(a, SIGKILL);
    waitpid(a, NULL, 0);
    atomic_store(&a_dead, true);
    int at_kill = atomic_load(&acked_n);
    for (int i = 0; i < 1000 && atomic_load(&acked_n) < at_kill + 400; i++)
        usleep(10000);
    atomic_store(&stop, true);
    for (int t = 0; t < WRITERS; t++)
        pthread_join(th[t], NULL);
    int n = atomic_load(&acked_n);
    fprintf(stderr, "acknowledged %d orders (%d before node A was killed)\n", n, at_kill);
    CHECK(n > at_kill);

    /* exactly once: no order twice, every acknowledged one there (a replay on B answers 200) */
    long long counts[2] = {-1, -2};
    CHECK_INT_EQ(db_ints("SELECT count(*), count(DISTINCT external_id) FROM orders", counts, 2), 0);
    CHECK_INT_EQ(counts[0], counts[1]);
    CHECK(counts[0] >= n);
    fd = conn_to(port_b);
    int missing = 0;
    for (int i = 0; i < n && i < MAX_ACKS; i++) {
        char body[512];
        order_body(acked[i], body, sizeof body);
        if (request(fd, "POST", "/api/v1/orders", body, buf, sizeof buf) != 200) missing++;
    }
    CHECK_INT_EQ(missing, 0);
    close(fd);
    long long after = -1;
    CHECK_INT_EQ(db_ints("SELECT count(*) FROM orders", &after, 1), 0);
    CHECK_INT_EQ(after, counts[0]);

    /* B's views followed A's commits: its segment count of buyers is the store's */
    long long buyers = -1;
    CHECK_INT_EQ(db_ints("SELECT count(DISTINCT member_id) FROM orders WHERE member_id IS NOT NULL",
                         &buyers, 1),
                 0);
    long long on_b = -1;
    for (int i = 0; i < 400 && on_b != buyers; i++) {
        on_b = seg_count_on(port_b, "orders >= 1");
        if (on_b != buyers) usleep(5000);
    }
    CHECK_INT_EQ(on_b, buyers);

    /* the journeys' messages exactly once: B's jobs (it holds the lease now) finish them */
    long long open_runs = -1, unsent = -1;
    for (int i = 0; i < 2000 && (open_runs != 0 || unsent != 0); i++) {
        open_runs = db_int("SELECT count(*) FROM journey_runs WHERE ended_at IS NULL", 0, 0);
        unsent = db_int("SELECT count(*) FROM messages WHERE status IN ('queued', 'retry')", 0, 0);
        if (open_runs != 0 || unsent != 0) usleep(10000);
    }
    CHECK_INT_EQ(open_runs, 0);
    CHECK_INT_EQ(unsent, 0);
    long long m[3] = {-1, -2, -3};
    CHECK_INT_EQ(db_ints("SELECT count(*), count(DISTINCT run_id),"
                         " (SELECT count(*) FROM journey_runs) FROM messages",
                         m, 3),
                 0);
    fprintf(stderr, "journeys: %lld runs, %lld messages for %lld distinct runs\n", m[2], m[0],
            m[1]);
    CHECK_INT_EQ(m[0], m[1]);
    CHECK(m[0] > 0);
    /* every run that reached its message has one, sent: the file holds each message's line */
    long long sent = db_int("SELECT count(*) FROM messages WHERE status = 'sent'", 0, 0);
    char file[600];
    snprintf(file, sizeof file, "%s/outbox/sms.ndjson", dir);
    FILE *f = fopen(file, "r");
    long long lines = 0;
    for (int ch; f && (ch = fgetc(f)) != EOF;)
        lines += ch == '\n';
    if (f) fclose(f);
    /* a node killed between writing a line and recording it sent leaves a line that the
     * next node writes again (at least once at the adapter; once in the store) */
    fprintf(stderr, "messages: %lld sent, %lld lines in the outbox file\n", sent, lines);
    CHECK(lines >= sent);
    kill(b, SIGTERM);
    waitpid(b, NULL, 0);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "%s check --db %s >/dev/null", siyu, db);
    CHECK_INT_EQ(run(cmd, NULL, 0), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    harness_store_drop();
    return CHECK_DONE();
}
