/* bench_scan.c — the channel QR code's scan decision under 64 clients (issue 15, goal: p99
 * < 5 ms), against the same server's GET /healthz (no store, no writer: the HTTP floor).
 *
 *   bench_scan PATH_TO_SIYU [--clients 64] [--seconds 5] [--guides 4]
 *
 * Starts `siyu serve` on a fresh store in a temporary directory, makes a store, guides and a
 * code rotating them (least loaded, a daily cap no scan reaches), then runs a closed loop:
 * each client one keep-alive connection, one request in flight. Every scan is a distinct
 * customer (a new scan counted, not a repeat). Prints requests per second and latency
 * percentiles for both, and the ratio of the scan's p99 to the floor's. SIYU_SYNC as in the
 * environment (unset: FULL, an fsync per group commit). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int port;
static char token[128], dir[64];
static const char *siyu;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int conn_open(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One request on a keep-alive connection; the status, the body into buf. */
static int request(int fd, const char *method, const char *path, const char *body, char *buf,
                   size_t cap)
{
    char req[2048];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, token, blen, body ? body : "");
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) return -1;
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + got, cap - 1 - got, 0);
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
        memmove(buf, end + 4, want);
        buf[want] = 0;
        return status;
    }
}

static int64_t post_id(int fd, const char *path, const char *body)
{
    char buf[8192];
    int st = request(fd, "POST", path, body, buf, sizeof buf);
    if (st != 201 && st != 200) {
        fprintf(stderr, "bench_scan: POST %s: %d %s\n", path, st, buf);
        exit(1);
    }
    char *p = strstr(buf, "\"id\":");
    return p ? strtoll(p + 5, NULL, 10) : 0;
}

static int run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = out ? fread(out, 1, cap - 1, p) : 0;
    if (out) {
        out[n] = 0;
        char *nl = strchr(out, '\n');
        if (nl) *nl = 0;
    }
    return pclose(p);
}

/* ---- the load ---- */

typedef struct load {
    const char *method;
    char path[128];
    bool scan;
    double until;
    atomic_long seq;
} load;

typedef struct client {
    load *l;
    double *lat;
    size_t n, cap;
    long errors;
} client;

static void *client_run(void *arg)
{
    client *c = arg;
    int fd = conn_open();
    char buf[4096], body[96];
    while (fd >= 0 && now_s() < c->l->until) {
        if (c->l->scan)
            snprintf(body, sizeof body, "{\"external_userid\":\"wmBENCH%ld\"}",
                     atomic_fetch_add(&c->l->seq, 1));
        double t0 = now_s();
        int st = request(fd, c->l->method, c->l->path, c->l->scan ? body : NULL, buf, sizeof buf);
        double dt = now_s() - t0;
        if (st < 200 || st >= 300) {
            c->errors++;
            if (st < 0) break;
            continue;
        }
        if (c->n == c->cap)
            c->lat = realloc(c->lat, (c->cap = c->cap ? 2 * c->cap : 4096) * sizeof *c->lat);
        c->lat[c->n++] = dt;
    }
    if (fd >= 0) close(fd);
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct result {
    double rps, p50, p90, p99, max;
    long n, errors;
} result;

static result measure(load *l, int clients, double seconds)
{
    pthread_t *t = calloc((size_t)clients, sizeof *t);
    client *c = calloc((size_t)clients, sizeof *c);
    double t0 = now_s();
    l->until = t0 + seconds;
    for (int i = 0; i < clients; i++) {
        c[i].l = l;
        pthread_create(&t[i], NULL, client_run, &c[i]);
    }
    size_t total = 0;
    result r = {0};
    for (int i = 0; i < clients; i++) {
        pthread_join(t[i], NULL);
        total += c[i].n;
        r.errors += c[i].errors;
    }
    double elapsed = now_s() - t0;
    double *all = malloc((total ? total : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < clients; i++) {
        memcpy(all + k, c[i].lat, c[i].n * sizeof *all);
        k += c[i].n;
        free(c[i].lat);
    }
    qsort(all, total, sizeof *all, cmp_d);
    r.n = (long)total;
    r.rps = (double)total / elapsed;
    if (total) {
        r.p50 = all[total / 2] * 1e3;
        r.p90 = all[(size_t)((double)total * 0.90)] * 1e3;
        r.p99 = all[(size_t)((double)total * 0.99)] * 1e3;
        r.max = all[total - 1] * 1e3;
    }
    free(all);
    free(c);
    free(t);
    return r;
}

static void print(const char *what, result r)
{
    printf("| %-34s | %8.0f | %7.2f | %7.2f | %7.2f | %7.2f | %ld |\n", what, r.rps, r.p50, r.p90,
           r.p99, r.max, r.errors);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr,
                "usage: bench_scan PATH_TO_SIYU [--clients N] [--seconds S] [--guides G]\n");
        return 2;
    }
    siyu = argv[1];
    int clients = 64, guides = 4;
    double seconds = 5;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--clients") == 0) clients = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[i + 1]);
        if (strcmp(argv[i], "--guides") == 0) guides = atoi(argv[i + 1]);
    }
    snprintf(dir, sizeof dir, "/tmp/siyu-bench-scan-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    char cmd[1024], db[128];
    snprintf(db, sizeof db, "%s/b.db", dir);
    snprintf(cmd, sizeof cmd, "%s init --db %s >/dev/null", siyu, db);
    if (run(cmd, NULL, 0)) return 1;
    snprintf(cmd, sizeof cmd, "%s token create --db %s --role admin", siyu, db);
    if (run(cmd, token, sizeof token)) return 1;
    {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof sa;
        bind(fd, (struct sockaddr *)&sa, sizeof sa);
        getsockname(fd, (struct sockaddr *)&sa, &len);
        close(fd);
        port = ntohs(sa.sin_port);
    }
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("SIYU_TICK_SECONDS", "0", 1);
        setenv("SIYU_SWEEP_SECONDS", "0", 1);
        execl(siyu, siyu, "serve", "--db", db, "--listen", listen, "--access-log", "off",
              (char *)NULL);
        _exit(127);
    }
    int fd = -1;
    for (int i = 0; i < 200 && fd < 0; i++) {
        usleep(50000);
        fd = conn_open();
    }
    if (fd < 0) {
        fprintf(stderr, "bench_scan: the server did not start\n");
        return 1;
    }
    int64_t store =
        post_id(fd, "/api/v1/stores", "{\"name\":\"b\",\"code\":\"B1\",\"kind\":\"physical\"}");
    char body[1024], ids[512] = "";
    size_t n = 0;
    for (int g = 0; g < guides; g++) {
        snprintf(body, sizeof body, "{\"name\":\"g%d\",\"role\":\"guide\",\"store_id\":%lld}", g,
                 (long long)store);
        n += (size_t)snprintf(ids + n, sizeof ids - n, "%s%lld", g ? "," : "",
                              (long long)post_id(fd, "/api/v1/staff", body));
    }
    snprintf(body, sizeof body,
             "{\"name\":\"bench\",\"target\":{\"guide_ids\":[%s]},\"rotation\":\"least_loaded\","
             "\"daily_cap_per_guide\":1000000}",
             ids);
    int64_t code = post_id(fd, "/api/v1/qr-codes", body);
    close(fd);

    load floor = {.method = "GET"}, scan = {.method = "POST", .scan = true};
    snprintf(floor.path, sizeof floor.path, "/healthz");
    snprintf(scan.path, sizeof scan.path, "/api/v1/qr-codes/%lld/scan", (long long)code);
    measure(&floor, clients, 1); /* warm up */
    result f = measure(&floor, clients, seconds);
    result s = measure(&scan, clients, seconds);
    const char *sync = getenv("SIYU_SYNC");
    printf("bench_scan: %d clients, %.0f s each, %d guides, SIYU_SYNC=%s\n\n", clients, seconds,
           guides, sync ? sync : "(full)");
    printf("| %-34s | %8s | %7s | %7s | %7s | %7s | %s |\n", "request", "req/s", "p50 ms", "p90 ms",
           "p99 ms", "max ms", "errors");
    printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    print("GET /healthz (the HTTP floor)", f);
    print("POST /qr-codes/{id}/scan", s);
    printf("\nscan p99 / healthz p99 = %.2f; scan p99 %s 5 ms (goal)\n",
           f.p99 > 0 ? s.p99 / f.p99 : 0, s.p99 < 5 ? "<" : ">=");
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    return 0;
}
