/* test_games.c — the games over HTTP, under concurrency and after kill -9.
 *
 * 64 concurrent plays on a pool whose only prize has stock 5 give exactly 5 prizes;
 * a budget is never overspent; per-member caps (a day's and the campaign's) hold
 * exactly under 64 concurrent plays; a replayed play_id answers the first answer, byte
 * for byte, and the same play_id for another member is a 409; 64 concurrent grabs of
 * a 50-packet red envelope take each packet once and sum exactly to its total. Then a
 * stream of plays and grabs is cut by SIGKILL: after a restart every acknowledged play
 * replays as it was answered, stock and budget hold, and `siyu check` is clean.
 * Run: test_games PATH_TO_SIYU */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "harness.h"

#define N 64

static int64_t members[N];
static char buf[1 << 16];

/* One request on a fresh connection: status, answer parsed into *out (may be NULL). */
static int call(const char *method, const char *path, json_t **out, const char *body)
{
    int fd = conn_open();
    int st = request(fd, method, path, body, buf, sizeof buf);
    close(fd);
    if (out) *out = json_loads(buf, 0, NULL);
    return st;
}

static int64_t jget(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static int64_t create(const char *body)
{
    json_t *o;
    int st = call("POST", "/api/v1/campaigns", &o, body);
    if (st != 201) fprintf(stderr, "create: %d %s\n", st, buf);
    CHECK_INT_EQ(st, 201);
    int64_t id = jget(o, "id");
    json_decref(o);
    return id;
}

/* ---------------- 64 concurrent requests ---------------- */

typedef struct job {
    int64_t campaign;
    int64_t member;
    char id[32];
    bool grab;
    int status;
    char answer[2048];
} job;

static pthread_barrier_t gate;

static void job_body(const job *j, char *b, size_t cap)
{
    snprintf(b, cap, "{\"member_id\":%lld,\"%s\":\"%s\"}", (long long)j->member,
             j->grab ? "grab_id" : "play_id", j->id);
}

static void job_path(const job *j, char *p, size_t cap)
{
    snprintf(p, cap, "/api/v1/campaigns/%lld/%s", (long long)j->campaign,
             j->grab ? "envelopes/grab" : "plays");
}

static void *worker(void *arg)
{
    job *j = arg;
    char body[256], path[128], local[4096];
    job_body(j, body, sizeof body);
    job_path(j, path, sizeof path);
    int fd = conn_open();
    pthread_barrier_wait(&gate);
    j->status = request(fd, "POST", path, body, local, sizeof local);
    snprintf(j->answer, sizeof j->answer, "%s", local);
    close(fd);
    return NULL;
}

static void run_all(job *jobs)
{
    pthread_t th[N];
    pthread_barrier_init(&gate, NULL, N);
    for (int i = 0; i < N; i++)
        pthread_create(&th[i], NULL, worker, &jobs[i]);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&gate);
}

static bool won(const job *j)
{
    json_t *o = json_loads(j->answer, 0, NULL);
    bool w = o && json_is_object(json_object_get(o, "prize"));
    json_decref(o);
    return w;
}

/* Each first answer replays byte for byte. */
static void replays(const job *jobs)
{
    for (int i = 0; i < N; i++) {
        if (jobs[i].status != 201) continue;
        char body[256], path[128];
        job_body(&jobs[i], body, sizeof body);
        job_path(&jobs[i], path, sizeof path);
        CHECK_INT_EQ(call("POST", path, NULL, body), 200);
        if (strcmp(buf, jobs[i].answer) != 0)
            CHECK_FAIL_("replay of %s: %s, first %s", jobs[i].id, buf, jobs[i].answer);
    }
}

static void stock_five(void)
{
    int64_t c = create("{\"kind\":\"scratch\",\"name\":\"刮刮卡\",\"rules\":{\"budget_cents\":"
                       "100000,\"prizes\":[{\"name\":\"礼品杯\",\"gift\":\"cup\",\"odds\":1,"
                       "\"stock\":5,\"cost_cents\":100}]}}");
    static job jobs[N];
    for (int i = 0; i < N; i++)
        jobs[i] = (job){.campaign = c, .member = members[i]};
    for (int i = 0; i < N; i++)
        snprintf(jobs[i].id, sizeof jobs[i].id, "five-%d", i);
    run_all(jobs);
    int wins = 0;
    for (int i = 0; i < N; i++) {
        CHECK_INT_EQ(jobs[i].status, 201);
        wins += won(&jobs[i]);
    }
    CHECK_INT_EQ(wins, 5);
    replays(jobs);
    /* the same play_id with another member is a conflict */
    char body[128], path[64];
    snprintf(body, sizeof body, "{\"member_id\":%lld,\"play_id\":\"five-0\"}",
             (long long)members[1]);
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/plays", (long long)c);
    CHECK_INT_EQ(call("POST", path, NULL, body), 409);
    json_t *r;
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/report", (long long)c);
    CHECK_INT_EQ(call("GET", path, &r, NULL), 200);
    CHECK_INT_EQ(jget(r, "plays"), N);
    CHECK_INT_EQ(jget(r, "participants"), N);
    CHECK_INT_EQ(jget(r, "prizes_won"), 5);
    CHECK_INT_EQ(jget(r, "spent_cents"), 500);
    json_t *p = json_array_get(json_object_get(r, "prizes"), 0);
    CHECK_INT_EQ(jget(p, "won"), 5);
    CHECK_INT_EQ(jget(p, "stock_left"), 0);
    json_decref(r);
}

static void budget(void)
{
    int64_t c = create("{\"kind\":\"wheel\",\"name\":\"预算\",\"rules\":{\"budget_cents\":1000,"
                       "\"prizes\":[{\"name\":\"30积分\",\"points\":30,\"odds\":1,\"stock\":null,"
                       "\"cost_cents\":300}]}}");
    static job jobs[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (job){.campaign = c, .member = members[i]};
        snprintf(jobs[i].id, sizeof jobs[i].id, "budget-%d", i);
    }
    run_all(jobs);
    int wins = 0;
    for (int i = 0; i < N; i++) {
        CHECK_INT_EQ(jobs[i].status, 201);
        wins += won(&jobs[i]);
    }
    CHECK_INT_EQ(wins, 3);
    json_t *r;
    char path[64];
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/report", (long long)c);
    CHECK_INT_EQ(call("GET", path, &r, NULL), 200);
    CHECK_INT_EQ(jget(r, "spent_cents"), 900);
    CHECK(jget(r, "spent_cents") <= jget(r, "budget_cents"));
    json_decref(r);
}

static void caps(void)
{
    int64_t c = create("{\"kind\":\"wheel\",\"name\":\"限次\",\"rules\":{"
                       "\"plays_per_member_per_day\":2,\"plays_per_member\":3,\"prizes\":[{"
                       "\"name\":\"1积分\",\"points\":1,\"odds\":0.5,\"stock\":null,"
                       "\"cost_cents\":0}]}}");
    static job jobs[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (job){.campaign = c, .member = members[i % 8]};
        snprintf(jobs[i].id, sizeof jobs[i].id, "cap-%d", i);
    }
    run_all(jobs);
    int ok[8] = {0};
    for (int i = 0; i < N; i++) {
        CHECK(jobs[i].status == 201 || jobs[i].status == 422);
        if (jobs[i].status == 201) ok[i % 8]++;
    }
    for (int m = 0; m < 8; m++)
        CHECK_INT_EQ(ok[m], 2);
    replays(jobs);
}

static void envelope(void)
{
    int64_t c = create("{\"kind\":\"red_envelope\",\"name\":\"开业红包\",\"rules\":{"
                       "\"total_cents\":100000,\"packets\":50,\"min_cents\":100,"
                       "\"max_cents\":8000}}");
    static job jobs[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (job){.campaign = c, .member = members[i], .grab = true};
        snprintf(jobs[i].id, sizeof jobs[i].id, "grab-%d", i);
    }
    run_all(jobs);
    int got = 0, none = 0;
    int64_t sum = 0;
    for (int i = 0; i < N; i++) {
        if (jobs[i].status == 201) {
            got++;
            json_t *o = json_loads(jobs[i].answer, 0, NULL);
            int64_t a = jget(o, "amount_cents");
            CHECK(a >= 100 && a <= 8000);
            sum += a;
            json_decref(o);
        } else {
            CHECK_INT_EQ(jobs[i].status, 422);
            none++;
        }
    }
    CHECK_INT_EQ(got, 50);
    CHECK_INT_EQ(none, N - 50);
    CHECK_INT_EQ(sum, 100000);
    replays(jobs);
    json_t *r;
    char path[64];
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/report", (long long)c);
    CHECK_INT_EQ(call("GET", path, &r, NULL), 200);
    CHECK_INT_EQ(jget(r, "packets_grabbed"), 50);
    CHECK_INT_EQ(jget(r, "packets_left"), 0);
    CHECK_INT_EQ(jget(r, "grabbed_cents"), 100000);
    json_decref(r);
}

static void validation(void)
{
    json_t *o;
    CHECK_INT_EQ(call("POST", "/api/v1/campaigns", &o,
                      "{\"kind\":\"wheel\",\"name\":\"w\",\"rules\":{\"prizes\":[{\"name\":\"a\","
                      "\"points\":1,\"odds\":0.7,\"stock\":null,\"cost_cents\":0},{\"name\":\"b\","
                      "\"points\":1,\"odds\":0.4,\"stock\":null,\"cost_cents\":0}]}}"),
                 400);
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(o, "error"), "field")),
                 "rules.prizes") == 0);
    json_decref(o);
    CHECK_INT_EQ(call("POST", "/api/v1/campaigns", &o,
                      "{\"kind\":\"red_envelope\",\"name\":\"r\",\"rules\":{\"total_cents\":100,"
                      "\"packets\":50,\"min_cents\":100,\"max_cents\":8000}}"),
                 400);
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(o, "error"), "field")),
                 "rules.min_cents") == 0);
    json_decref(o);
    /* a list and one campaign read back */
    CHECK_INT_EQ(call("GET", "/api/v1/campaigns?limit=100", &o, NULL), 200);
    CHECK(json_array_size(json_object_get(o, "items")) >= 4);
    json_decref(o);
}

/* ---------------- kill -9 mid-stream ---------------- */

#define THREADS 8
#define MAX_ACKS 20000
typedef struct ack {
    job j;
} ack;
static ack acks[MAX_ACKS];
static atomic_int acked_n;
static atomic_bool stop;
static int64_t kill_game, kill_envelope;

static void *streamer(void *arg)
{
    int t = (int)(intptr_t)arg;
    int fd = conn_open();
    char body[256], path[128], local[4096];
    for (int k = 0; fd >= 0 && !atomic_load(&stop); k++) {
        job j = {.member = members[(k * THREADS + t) % N], .grab = k % 5 == 4};
        j.campaign = j.grab ? kill_envelope : kill_game;
        snprintf(j.id, sizeof j.id, "k%d-%d", t, k);
        job_body(&j, body, sizeof body);
        job_path(&j, path, sizeof path);
        int st = request(fd, "POST", path, body, local, sizeof local);
        if (st < 0) break;
        if (st == 201) {
            int i = atomic_fetch_add(&acked_n, 1);
            if (i < MAX_ACKS) {
                j.status = st;
                snprintf(j.answer, sizeof j.answer, "%s", local);
                acks[i].j = j;
            }
        }
    }
    if (fd >= 0) close(fd);
    return NULL;
}

static pid_t kill9(pid_t pid)
{
    kill_game = create("{\"kind\":\"wheel\",\"name\":\"断电\",\"rules\":{\"budget_cents\":3000,"
                       "\"plays_per_member\":20,\"prizes\":[{\"name\":\"券\",\"points\":5,"
                       "\"odds\":0.3,\"stock\":25,\"cost_cents\":100},{\"name\":\"杯\",\"gift\":"
                       "\"cup\",\"odds\":0.3,\"stock\":null,\"cost_cents\":50}]}}");
    kill_envelope = create("{\"kind\":\"red_envelope\",\"name\":\"红包\",\"rules\":{"
                           "\"total_cents\":5000,\"packets\":40,\"min_cents\":1,"
                           "\"max_cents\":1000,\"grabs_per_member\":2}}");
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, streamer, (void *)(intptr_t)t);
    for (int i = 0; i < 500 && atomic_load(&acked_n) < 300; i++)
        usleep(10000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    atomic_store(&stop, true);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    int n = atomic_load(&acked_n);
    fprintf(stderr, "acknowledged %d plays and grabs before SIGKILL\n", n);
    CHECK(n > 20);
    pid = start_server();
    int missing = 0;
    for (int i = 0; i < n && i < MAX_ACKS; i++) {
        char body[256], path[128];
        job_body(&acks[i].j, body, sizeof body);
        job_path(&acks[i].j, path, sizeof path);
        if (call("POST", path, NULL, body) != 200 || strcmp(buf, acks[i].j.answer) != 0) missing++;
    }
    CHECK_INT_EQ(missing, 0);
    json_t *r;
    char path[64];
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/report", (long long)kill_game);
    CHECK_INT_EQ(call("GET", path, &r, NULL), 200);
    CHECK(jget(r, "spent_cents") <= 3000);
    json_t *p = json_array_get(json_object_get(r, "prizes"), 0);
    CHECK(jget(p, "won") <= 25);
    json_decref(r);
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/report", (long long)kill_envelope);
    CHECK_INT_EQ(call("GET", path, &r, NULL), 200);
    CHECK_INT_EQ(jget(r, "grabbed_cents") + jget(r, "left_cents"), 5000);
    json_decref(r);
    return pid;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_games PATH_TO_SIYU\n");
        return 2;
    }
    pid_t pid = harness_start(argv[1]);
    for (int i = 0; i < N; i++) {
        char body[64];
        json_t *o;
        snprintf(body, sizeof body, "{\"phone\":\"1370000%04d\"}", i);
        CHECK_INT_EQ(call("POST", "/api/v1/members", &o, body), 201);
        members[i] = jget(o, "id");
        json_decref(o);
    }
    stock_five();
    budget();
    caps();
    envelope();
    validation();
    pid = kill9(pid);
    /* siyu check verifies every campaign from the store alone */
    char cmd[512], out[4096];
    snprintf(cmd, sizeof cmd, "%s check --db %s 2>/dev/null", siyu, db);
    CHECK_INT_EQ(run(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "ok") != NULL);
    CHECK_INT_EQ(harness_stop(pid), 0);
    return CHECK_DONE();
}
