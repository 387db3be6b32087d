/* bench_scan.c — the channel QR code's scan decision under 64 clients (issue 15, goal: p99
 * < 5 ms), against the same server's GET /healthz (no store, no writer: the HTTP floor).
 *
 *   bench_scan PATH_TO_SIYU [--clients 64] [--seconds 5] [--guides 4] [--threads T]
 *              [--against 16] [--rate R] [--pg URL]
 *
 * Runs it twice, each on a server of its own: with siyu's default HTTP workers (or --threads)
 * and, as the alternative, with --against workers (0: skip); prints the server's CPU per
 * request and, from /metrics, the writer's mean scans per group commit and commit time.
 * Starts `siyu serve` on a fresh store in a temporary directory, makes a store, guides and a
 * code rotating them (least loaded, a daily cap no scan reaches), then runs a closed loop:
 * each client one keep-alive connection, one request in flight. Every scan is a distinct
 * customer (a new scan counted, not a repeat). Prints requests per second and latency
 * percentiles for both, and the ratio of the scan's p99 to the floor's. SIYU_SYNC as in the
 * environment (unset: FULL, an fsync per group commit).
 *
 * --rate R paces the same clients to R requests a second in all (each client one request
 * every clients/R seconds, staggered) instead of as fast as answers come back: a closed
 * loop at saturation measures the machine's queue (64 clients over 2 cores wait their turn
 * whatever the request), a paced load the latency at a given throughput. Latency is then
 * counted from each request's scheduled start, so a stall that delays later requests is
 * charged to them too (no coordinated omission).
 *
 * --pg URL (a PostgreSQL server) runs the default-worker server once more on a PostgreSQL
 * store (a database of the bench's own there, siyu_bench_scan, fresh) and prints its rows
 * beside SQLite's with the ratios PostgreSQL / SQLite. */
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

#include "pgbench.h"

static int port;
static char token[128], dir[64];
static const char *siyu;
static pid_t server;

/* The server's CPU seconds so far (user + system, /proc/PID/stat). */
static double server_cpu(void)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)server);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    char *p = strrchr(line, ')');
    unsigned long ut = 0, st = 0;
    /* after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

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
    double interval; /* paced: seconds between one client's requests; 0: closed loop */
    atomic_long seq;
} load;

typedef struct client {
    load *l;
    double first; /* paced: this client's first scheduled start */
    double *lat;
    size_t n, cap;
    long errors;
} client;

static void *client_run(void *arg)
{
    client *c = arg;
    int fd = conn_open();
    char buf[4096], body[96];
    double next = c->first;
    while (fd >= 0 && now_s() < c->l->until) {
        if (c->l->scan)
            snprintf(body, sizeof body, "{\"external_userid\":\"wmBENCH%ld\"}",
                     atomic_fetch_add(&c->l->seq, 1));
        double t0 = now_s();
        if (c->l->interval > 0) {
            if (next >= c->l->until) break;
            if (next > t0) {
                struct timespec ts = {(time_t)next, (long)((next - (double)(time_t)next) * 1e9)};
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            }
            t0 = next;
            next += c->l->interval;
        }
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
    double rps, p50, p90, p99, max, cpu_us; /* cpu_us: server CPU per request */
    long n, errors;
} result;

static result measure(load *l, int clients, double seconds)
{
    pthread_t *t = calloc((size_t)clients, sizeof *t);
    client *c = calloc((size_t)clients, sizeof *c);
    double t0 = now_s(), cpu0 = server_cpu();
    l->until = t0 + seconds;
    for (int i = 0; i < clients; i++) {
        c[i].l = l;
        c[i].first = t0 + 0.01 + l->interval * i / clients;
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
    r.cpu_us = total ? (server_cpu() - cpu0) / (double)total * 1e6 : 0;
    double *all = malloc((total ? total : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < clients; i++) {
        memcpy(all + k, c[i].lat, c[i].n * sizeof *all);
        k += c[i].n;
        free(c[i].lat);
    }
    qsort(all, total, sizeof *all, cmp_d);
    r.n = (long)total;
    r.rps = (double)total / (l->interval > 0 ? seconds : elapsed);
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
    printf("| %-34s | %8.0f | %7.2f | %7.2f | %7.2f | %7.2f | %6.0f | %ld |\n", what, r.rps, r.p50,
           r.p90, r.p99, r.max, r.cpu_us, r.errors);
}

/* The mean of a histogram of /metrics (its _sum over its _count), or 0. */
static double metric_mean(const char *text, const char *name)
{
    char key[128];
    double sum = 0, count = 0;
    snprintf(key, sizeof key, "\n%s_sum ", name);
    const char *p = strstr(text, key);
    if (p) sum = atof(p + strlen(key));
    snprintf(key, sizeof key, "\n%s_count ", name);
    p = strstr(text, key);
    if (p) count = atof(p + strlen(key));
    return count > 0 ? sum / count : 0;
}

/* The count of a histogram's bucket le="LE", or -1. */
static double metric_bucket(const char *text, const char *name, const char *le)
{
    char key[160];
    snprintf(key, sizeof key, "\n%s_bucket{le=\"%s\"} ", name, le);
    const char *p = strstr(text, key);
    return p ? atof(p + strlen(key)) : -1;
}

static const char *loadgen; /* --loadgen: bench_loadgen's path, or NULL */

/* The scans again from bench_loadgen; its line parsed into r (n = 0 on failure). */
static result measure_loadgen(int64_t code, int clients, double seconds, double rate)
{
    result r = {0};
    char cmd[1024], line[1024], paced[48] = "";
    if (rate > 0) snprintf(paced, sizeof paced, " --rate %.0f", rate);
    snprintf(cmd, sizeof cmd,
             "%s --port %d --token %s --mode scan --campaign %lld --conns %d --threads 2 "
             "--seconds %d%s",
             loadgen, port, token, (long long)code, clients, (int)(seconds + 0.5), paced);
    double cpu0 = server_cpu();
    if (run(cmd, line, sizeof line)) return r;
    const char *p = strstr(line, "ok=");
    if (p) r.n = atol(p + 3);
    p = strstr(line, "errors=");
    if (p) r.errors = atol(p + 7);
    if ((p = strstr(line, "rate="))) r.rps = atof(p + 5);
    if ((p = strstr(line, "p50="))) r.p50 = atof(p + 4);
    if ((p = strstr(line, "p90="))) r.p90 = atof(p + 4);
    if ((p = strstr(line, "p99="))) r.p99 = atof(p + 4);
    if ((p = strstr(line, "max="))) r.max = atof(p + 4);
    r.cpu_us = r.n ? (server_cpu() - cpu0) / (double)r.n * 1e6 : 0;
    return r;
}

typedef struct run_result {
    result floor, scan, scan_lg;
    double batch, commit_ms;
    double commits, commits_over_1ms, commits_over_5ms; /* the writer's COMMITs */
} run_result;

/* One server with `threads` HTTP workers (0: siyu's default) on a fresh store: the floor,
 * then the scans, then the writer's mean batch and commit time from /metrics. */
static int serve_and_measure(int threads, int clients, int guides, double seconds, double rate,
                             const char *pg_server, run_result *out)
{
    snprintf(dir, sizeof dir, "/tmp/siyu-bench-scan-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    char cmd[2048], db[512];
    snprintf(db, sizeof db, "%s/b.db", dir);
    if (pg_server) pgb_database(pg_server, "siyu_bench_scan", true, db, sizeof db);
    snprintf(cmd, sizeof cmd, "%s init --db '%s' >/dev/null", siyu, db);
    if (run(cmd, NULL, 0)) return 1;
    snprintf(cmd, sizeof cmd, "%s token create --db '%s' --role admin", siyu, db);
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
    char listen[64], nthreads[16];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(nthreads, sizeof nthreads, "%d", threads);
    server = fork();
    if (server == 0) {
        setenv("SIYU_TICK_SECONDS", "0", 1);
        setenv("SIYU_SWEEP_SECONDS", "0", 1);
        if (threads > 0)
            execl(siyu, siyu, "serve", "--db", db, "--listen", listen, "--access-log", "off",
                  "--threads", nthreads, (char *)NULL);
        else
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

    load floor = {.method = "GET"}, scan = {.method = "POST", .scan = true};
    snprintf(floor.path, sizeof floor.path, "/healthz");
    snprintf(scan.path, sizeof scan.path, "/api/v1/qr-codes/%lld/scan", (long long)code);
    measure(&floor, clients, 1); /* warm up, unpaced */
    floor.interval = scan.interval = rate > 0 ? clients / rate : 0;
    out->floor = measure(&floor, clients, seconds);
    out->scan = measure(&scan, clients, seconds);
    if (loadgen) out->scan_lg = measure_loadgen(code, clients, seconds, rate);
    static char text[1 << 18];
    int st = request(fd, "GET", "/metrics", NULL, text, sizeof text);
    out->batch = st == 200 ? metric_mean(text, "siyu_writer_batch_size") : 0;
    out->commit_ms = st == 200 ? metric_mean(text, "siyu_writer_commit_seconds") * 1e3 : 0;
    if (st == 200) {
        const char *h = "siyu_writer_commit_seconds";
        out->commits = metric_bucket(text, h, "+Inf");
        out->commits_over_1ms = out->commits - metric_bucket(text, h, "0.001");
        out->commits_over_5ms = out->commits - metric_bucket(text, h, "0.005");
    }
    close(fd);
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_scan PATH_TO_SIYU [--clients N] [--seconds S] [--guides G]"
                        " [--threads T] [--against T2] [--rate R] [--loadgen PATH] [--pg URL]\n");
        return 2;
    }
    siyu = argv[1];
    int clients = 64, guides = 4, threads = 0, against = 16;
    double seconds = 5, rate = 0;
    const char *pg_server = NULL;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--clients") == 0) clients = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[i + 1]);
        if (strcmp(argv[i], "--guides") == 0) guides = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--against") == 0) against = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--rate") == 0) rate = atof(argv[i + 1]);
        if (strcmp(argv[i], "--loadgen") == 0) loadgen = argv[i + 1];
        if (strcmp(argv[i], "--pg") == 0) pg_server = argv[i + 1];
    }
    run_result a, b, c;
    if (serve_and_measure(threads, clients, guides, seconds, rate, NULL, &a)) return 1;
    if (against > 0 && serve_and_measure(against, clients, guides, seconds, rate, NULL, &b))
        return 1;
    if (pg_server && serve_and_measure(threads, clients, guides, seconds, rate, pg_server, &c))
        return 1;
    const char *sync = getenv("SIYU_SYNC");
    printf("bench_scan: %d clients, %.0f s each, %d guides, SIYU_SYNC=%s, ", clients, seconds,
           guides, sync ? sync : "(full)");
    if (rate > 0)
        printf("paced at %.0f requests/s (latency from each request's scheduled start)\n\n", rate);
    else
        printf("closed loop (each client's next request when its answer arrives)\n\n");
    printf("| %-34s | %8s | %7s | %7s | %7s | %7s | %6s | %s |\n", "request", "req/s", "p50 ms",
           "p90 ms", "p99 ms", "max ms", "CPU us", "errors");
    printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    char what[64];
    snprintf(what, sizeof what, "GET /healthz (%s workers)", threads ? "--threads" : "default");
    print(what, a.floor);
    snprintf(what, sizeof what, "POST scan (%s workers)", threads ? "--threads" : "default");
    print(what, a.scan);
    if (loadgen) print("POST scan (bench_loadgen clients)", a.scan_lg);
    if (against > 0) {
        snprintf(what, sizeof what, "POST scan (%d workers)", against);
        print(what, b.scan);
    }
    if (pg_server) {
        print("GET /healthz, PostgreSQL store", c.floor);
        print("POST scan, PostgreSQL store", c.scan);
    }
    printf("\nwriter: %.1f scans per group commit, %.2f ms per commit", a.batch, a.commit_ms);
    if (against > 0) printf(" (%d workers: %.1f, %.2f ms)", against, b.batch, b.commit_ms);
    printf("\nwriter: of %.0f COMMITs, %.0f took over 1 ms and %.0f over 5 ms (a checkpoint's "
           "fsyncs or the disk)",
           a.commits, a.commits_over_1ms, a.commits_over_5ms);
    printf("\nscan p99 / healthz p99 = %.2f", a.floor.p99 > 0 ? a.scan.p99 / a.floor.p99 : 0);
    if (against > 0 && b.scan.p99 > 0)
        printf("; scan p99 / scan p99 with %d workers = %.2f", against, a.scan.p99 / b.scan.p99);
    if (pg_server)
        printf("\nPostgreSQL / SQLite (same workers): scans/s %.2f, scan p99 %.2f; writer on "
               "PostgreSQL: %.1f scans per group commit, %.2f ms per commit",
               a.scan.rps > 0 ? c.scan.rps / a.scan.rps : 0,
               a.scan.p99 > 0 ? c.scan.p99 / a.scan.p99 : 0, c.batch, c.commit_ms);
    printf("\nscan p99 %s 5 ms (goal)", a.scan.p99 < 5 ? "<" : ">=");
    if (loadgen) printf("; from bench_loadgen %s 5 ms", a.scan_lg.p99 < 5 ? "<" : ">=");
    printf("\n");
    return 0;
}
