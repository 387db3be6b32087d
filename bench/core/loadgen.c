/* loadgen.c — a closed-loop HTTP/1.1 load generator for siyu's API.
 *
 *   bench_loadgen --port P --token T [--host 127.0.0.1]
 *                 [--mode orders|member|redeem|play|scan]
 *                 [--conns 64] [--threads 2] [--seconds 10] [--members N] [--stores 20]
 *                 [--run-id ID] [--campaign C (play: the campaign; scan: the QR code)] [--rate R]
 *                 [--path /api/v1/... (GET that one path, e.g. to measure a route's floor)]
 *
 * Each thread drives conns/threads keep-alive connections with poll(); every connection
 * has one request in flight and sends the next as soon as the answer is complete (a
 * closed loop, like wrk). orders: POST /api/v1/orders with a distinct external_id per
 * request (run id, connection, sequence), a random card_no member M00000001..N and
 * store 1..S, 1-3 lines whose total is right. member: GET /api/v1/members/{random id}.
 * redeem: POST /api/v1/members/{conn + 1}/points {delta: -1} with a distinct
 * Idempotency-Key — each connection redeems against its own member. play: POST
 * /api/v1/campaigns/C/plays {member_id: random 1..N, play_id: distinct} (bench/fission).
 * scan: POST /api/v1/qr-codes/C/scan {external_userid: distinct}, every scan a new
 * customer (bench/guides).
 * --rate R paces the same connections to R requests a second in all instead (each one
 * request every conns/R seconds, staggered; like wrk2): latency then counts from each
 * request's scheduled start, so a stall charges every request it delayed, not only the one
 * in flight (no coordinated omission). A closed loop at saturation measures the queue of
 * 64 clients over the machine's cores; a paced load, the latency at a given throughput.
 * Prints one line: requests, ok (2xx), errors, rate, p50/p90/p99/max latency in ms. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MODE_ORDERS, MODE_MEMBER, MODE_REDEEM, MODE_PLAY, MODE_SCAN, MODE_PATH };

static struct {
    const char *host, *token, *run_id, *path;
    int port, mode, conns, threads, seconds;
    double rate; /* paced: requests a second in all; 0: closed loop */
    long campaign;
    long members, stores;
    char placed_at[40];
} cfg = {.host = "127.0.0.1",
         .conns = 64,
         .threads = 2,
         .seconds = 10,
         .members = 100000,
         .stores = 20,
         .mode = MODE_ORDERS};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct conn {
    int fd, id;
    uint64_t seq, sent_at;
    uint64_t due; /* paced: the next request's scheduled start */
    int idle;     /* paced: answered, waiting for its due time */
    char req[2048];
    size_t req_len, req_off;
    char resp[1 << 16];
    size_t resp_len;
} conn;

typedef struct worker {
    int index, nconns;
    conn *conns;
    uint64_t rng;
    /* latencies in microseconds, one per completed request */
    uint32_t *lat;
    size_t nlat, cap;
    long ok, errors, status_other;
    char first_error[256];
} worker;

static volatile int stop;

static uint64_t rnd(worker *w)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}

static int connect_to(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg.port)};
    inet_pton(AF_INET, cfg.host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("loadgen: connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void build_request(worker *w, conn *c)
{
    c->seq++;
    if (cfg.mode == MODE_REDEEM) {
        static const char body[] = "{\"delta\":-1,\"reason\":\"bench\"}";
        c->req_len =
            (size_t)snprintf(c->req, sizeof c->req,
                             "POST /api/v1/members/%d/points HTTP/1.1\r\nHost: %s\r\n"
                             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                             "Idempotency-Key: bench-%s-%d-%llu\r\n"
                             "Content-Length: %zu\r\n\r\n%s",
                             c->id + 1, cfg.host, cfg.token, cfg.run_id, c->id,
                             (unsigned long long)c->seq, sizeof body - 1, body);
    } else if (cfg.mode == MODE_PLAY) {
        char body[160];
        long member = 1 + (long)(rnd(w) % (uint64_t)cfg.members);
        int bl = snprintf(body, sizeof body, "{\"member_id\":%ld,\"play_id\":\"b-%s-%d-%llu\"}",
                          member, cfg.run_id, c->id, (unsigned long long)c->seq);
        c->req_len =
            (size_t)snprintf(c->req, sizeof c->req,
                             "POST /api/v1/campaigns/%ld/plays HTTP/1.1\r\nHost: %s\r\n"
                             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                             "Content-Length: %d\r\n\r\n%s",
                             cfg.campaign, cfg.host, cfg.token, bl, body);
    } else if (cfg.mode == MODE_SCAN) {
        char body[160];
        int bl = snprintf(body, sizeof body, "{\"external_userid\":\"wmLG-%s-%d-%llu\"}",
                          cfg.run_id, c->id, (unsigned long long)c->seq);
        c->req_len =
            (size_t)snprintf(c->req, sizeof c->req,
                             "POST /api/v1/qr-codes/%ld/scan HTTP/1.1\r\nHost: %s\r\n"
                             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                             "Content-Length: %d\r\n\r\n%s",
                             cfg.campaign, cfg.host, cfg.token, bl, body);
    } else if (cfg.mode == MODE_PATH) {
        c->req_len = (size_t)snprintf(c->req, sizeof c->req,
                                      "GET %s HTTP/1.1\r\nHost: %s\r\n"
                                      "Authorization: Bearer %s\r\n\r\n",
                                      cfg.path, cfg.host, cfg.token);
    } else if (cfg.mode == MODE_MEMBER) {
        long id = 1 + (long)(rnd(w) % (uint64_t)cfg.members);
        c->req_len = (size_t)snprintf(c->req, sizeof c->req,
                                      "GET /api/v1/members/%ld HTTP/1.1\r\nHost: %s\r\n"
                                      "Authorization: Bearer %s\r\n\r\n",
                                      id, cfg.host, cfg.token);
    } else {
        char body[1200];
        long member = 1 + (long)(rnd(w) % (uint64_t)cfg.members);
        long store = 1 + (long)(rnd(w) % (uint64_t)cfg.stores);
        int lines = 1 + (int)(rnd(w) % 3);
        char items[800];
        size_t il = 0;
        long total = 0;
        for (int i = 0; i < lines; i++) {
            int sku = 1 + (int)(rnd(w) % 300), qty = 1 + (int)(rnd(w) % 3);
            long price = 100 + (long)(rnd(w) % 9900);
            total += qty * price;
            il +=
                (size_t)snprintf(items + il, sizeof items - il,
                                 "%s{\"sku\":\"SKU%04d\",\"category\":\"生鲜\",\"name\":\"商品%d\","
                                 "\"qty\":%d,\"unit_price_cents\":%ld}",
                                 i ? "," : "", sku, sku, qty, price);
        }
        int bl =
            snprintf(body, sizeof body,
                     "{\"channel\":\"store\",\"external_id\":\"bench-%s-%d-%llu\","
                     "\"store_id\":%ld,\"placed_at\":\"%s\",\"total_cents\":%ld,"
                     "\"discount_cents\":0,\"member\":{\"card_no\":\"M%08ld\"},\"items\":[%s]}",
                     cfg.run_id, c->id, (unsigned long long)c->seq, store, cfg.placed_at, total,
                     member, items);
        c->req_len =
            (size_t)snprintf(c->req, sizeof c->req,
                             "POST /api/v1/orders HTTP/1.1\r\nHost: %s\r\n"
                             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                             "Content-Length: %d\r\n\r\n%s",
                             cfg.host, cfg.token, bl, body);
    }
    c->req_off = 0;
    c->resp_len = 0;
    c->sent_at = now_ns();
}

static int send_some(conn *c)
{
    while (c->req_off < c->req_len) {
        ssize_t n = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return 0;
            return -1;
        }
        c->req_off += (size_t)n;
    }
    return 0;
}

/* Is the answer in c->resp complete? Sets *status. Content-Length or chunked. */
static int complete(conn *c, int *status)
{
    c->resp[c->resp_len] = 0;
    char *end = strstr(c->resp, "\r\n\r\n");
    if (!end) return 0;
    *status = atoi(c->resp + 9);
    size_t head = (size_t)(end + 4 - c->resp);
    for (char *p = c->resp; p < end; p = strstr(p, "\r\n") + 2) {
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            return c->resp_len >= head + strtoul(p + 15, NULL, 10);
        if (strncasecmp(p, "Transfer-Encoding: chunked", 26) == 0)
            return c->resp_len >= head + 5 &&
                   memcmp(c->resp + c->resp_len - 5, "0\r\n\r\n", 5) == 0;
    }
    return 1; /* no body */
}

static void record(worker *w, conn *c, int status)
{
    uint64_t us = (now_ns() - c->sent_at) / 1000;
    if (w->nlat == w->cap)
        w->lat = realloc(w->lat, (w->cap = w->cap ? w->cap * 2 : 65536) * sizeof *w->lat);
    w->lat[w->nlat++] = (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us);
    if (status >= 200 && status < 300) {
        w->ok++;
    } else {
        w->errors++;
        if (!w->first_error[0]) {
            char *body = strstr(c->resp, "\r\n\r\n");
            snprintf(w->first_error, sizeof w->first_error, "%d %s", status, body ? body + 4 : "");
        }
    }
}

static uint64_t start_ns;

/* Paced: sends every idle connection's request that is due; the nanoseconds until the next
 * one is (at most 100 ms). */
static uint64_t send_due(worker *w)
{
    uint64_t now = now_ns(), wait = 100000000ull;
    uint64_t interval = (uint64_t)((double)cfg.conns / cfg.rate * 1e9);
    for (int i = 0; i < w->nconns; i++) {
        conn *c = &w->conns[i];
        if (!c->idle) continue;
        if (c->due <= now) {
            build_request(w, c);
            c->sent_at = c->due;
            c->due += interval;
            c->idle = 0;
            send_some(c);
        } else if (c->due - now < wait) {
            wait = c->due - now;
        }
    }
    return wait;
}

static void *run(void *arg)
{
    worker *w = arg;
    struct pollfd *pf = calloc((size_t)w->nconns, sizeof *pf);
    for (int i = 0; i < w->nconns; i++) {
        conn *c = &w->conns[i];
        if (cfg.rate > 0) { /* staggered over one interval */
            c->due = start_ns + (uint64_t)((double)c->id / cfg.rate * 1e9);
            c->idle = 1;
            continue;
        }
        build_request(w, c);
        send_some(c);
    }
    while (!stop) {
        struct timespec ts = {0, 100000000};
        if (cfg.rate > 0) {
            uint64_t wait = send_due(w);
            ts.tv_sec = (time_t)(wait / 1000000000ull);
            ts.tv_nsec = (long)(wait % 1000000000ull);
        }
        for (int i = 0; i < w->nconns; i++) {
            pf[i].fd = w->conns[i].fd;
            pf[i].events = POLLIN | (w->conns[i].req_off < w->conns[i].req_len ? POLLOUT : 0);
        }
        if (ppoll(pf, (nfds_t)w->nconns, &ts, NULL) <= 0) continue;
        for (int i = 0; i < w->nconns; i++) {
            conn *c = &w->conns[i];
            if (pf[i].revents & POLLOUT && send_some(c) < 0) {
                fprintf(stderr, "loadgen: send failed\n");
                exit(1);
            }
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = recv(c->fd, c->resp + c->resp_len, sizeof c->resp - 1 - c->resp_len, 0);
            if (n <= 0) {
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                fprintf(stderr, "loadgen: the server closed a connection\n");
                exit(1);
            }
            c->resp_len += (size_t)n;
            int status;
            if (complete(c, &status)) {
                record(w, c, status);
                if (stop) break;
                if (cfg.rate > 0) {
                    c->idle = 1;
                    continue;
                }
                build_request(w, c);
                send_some(c);
            }
        }
    }
    free(pf);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--host"))
            cfg.host = v;
        else if (!strcmp(k, "--port"))
            cfg.port = atoi(v);
        else if (!strcmp(k, "--token"))
            cfg.token = v;
        else if (!strcmp(k, "--mode"))
            cfg.mode = !strcmp(v, "member")   ? MODE_MEMBER
                       : !strcmp(v, "redeem") ? MODE_REDEEM
                       : !strcmp(v, "play")   ? MODE_PLAY
                       : !strcmp(v, "scan")   ? MODE_SCAN
                                              : MODE_ORDERS;
        else if (!strcmp(k, "--path"))
            cfg.path = v, cfg.mode = MODE_PATH;
        else if (!strcmp(k, "--campaign"))
            cfg.campaign = atol(v);
        else if (!strcmp(k, "--conns"))
            cfg.conns = atoi(v);
        else if (!strcmp(k, "--threads"))
            cfg.threads = atoi(v);
        else if (!strcmp(k, "--seconds"))
            cfg.seconds = atoi(v);
        else if (!strcmp(k, "--members"))
            cfg.members = atol(v);
        else if (!strcmp(k, "--stores"))
            cfg.stores = atol(v);
        else if (!strcmp(k, "--rate"))
            cfg.rate = atof(v);
        else if (!strcmp(k, "--run-id"))
            cfg.run_id = v;
        else {
            fprintf(stderr, "loadgen: unknown option %s\n", k);
            return 2;
        }
    }
    if (!cfg.port || !cfg.token || cfg.conns < 1 || cfg.threads < 1 || cfg.members < 1) {
        fprintf(stderr,
                "usage: %s --port P --token T [--mode orders|member] [--conns N] "
                "[--threads N] [--seconds N] [--members N] [--stores N] [--run-id ID] "
                "[--rate R]\n",
                argv[0]);
        return 2;
    }
    if (cfg.threads > cfg.conns) cfg.threads = cfg.conns;
    static char rid[32];
    if (!cfg.run_id) {
        snprintf(rid, sizeof rid, "%lx-%d", (long)time(NULL), (int)getpid());
        cfg.run_id = rid;
    }
    /* an hour ago, in UTC: orders may not lie in the server's future */
    time_t t = time(NULL) - 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(cfg.placed_at, sizeof cfg.placed_at, "%Y-%m-%dT%H:%M:%SZ", &tm);

    worker *ws = calloc((size_t)cfg.threads, sizeof *ws);
    pthread_t *th = calloc((size_t)cfg.threads, sizeof *th);
    int next = 0;
    for (int i = 0; i < cfg.threads; i++) {
        worker *w = &ws[i];
        w->index = i;
        w->rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1) ^ (uint64_t)getpid();
        w->nconns = cfg.conns / cfg.threads + (i < cfg.conns % cfg.threads);
        w->conns = calloc((size_t)w->nconns, sizeof *w->conns);
        for (int j = 0; j < w->nconns; j++) {
            w->conns[j].fd = connect_to();
            w->conns[j].id = next++;
        }
    }
    uint64_t t0 = now_ns();
    start_ns = t0 + 10000000ull; /* paced: the first requests 10 ms from now */
    for (int i = 0; i < cfg.threads; i++)
        pthread_create(&th[i], NULL, run, &ws[i]);
    sleep((unsigned)cfg.seconds);
    stop = 1;
    for (int i = 0; i < cfg.threads; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(now_ns() - t0) / 1e9;
    size_t n = 0;
    long ok = 0, errors = 0;
    for (int i = 0; i < cfg.threads; i++)
        n += ws[i].nlat;
    uint32_t *all = malloc((n ? n : 1) * sizeof *all);
    size_t k = 0;
    const char *first_error = "";
    for (int i = 0; i < cfg.threads; i++) {
        memcpy(all + k, ws[i].lat, ws[i].nlat * sizeof *all);
        k += ws[i].nlat;
        ok += ws[i].ok;
        errors += ws[i].errors;
        if (!*first_error && ws[i].first_error[0]) first_error = ws[i].first_error;
    }
    qsort(all, n, sizeof *all, cmp_u32);
#define PCT(p) (n ? all[(size_t)((double)(n - 1) * (p))] / 1000.0 : 0)
    printf("mode=%s conns=%d seconds=%.1f requests=%zu ok=%ld errors=%ld rate=%.0f/s "
           "p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms%s\n",
           cfg.mode == MODE_MEMBER   ? "member"
           : cfg.mode == MODE_PATH   ? "path"
           : cfg.mode == MODE_REDEEM ? "redeem"
           : cfg.mode == MODE_PLAY   ? "play"
           : cfg.mode == MODE_SCAN   ? "scan"
                                     : "orders",
           cfg.conns, secs, n, ok, errors, (double)ok / secs, PCT(0.50), PCT(0.90), PCT(0.99),
           PCT(1.0), cfg.rate > 0 ? " paced" : "");
    if (*first_error) fprintf(stderr, "loadgen: first error: %.200s\n", first_error);
    return errors && !ok ? 1 : 0;
}
