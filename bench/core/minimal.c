/* minimal.c — the least a libmicrohttpd JSON responder does: the baseline of the
 * `GET /members/{id}` capacity goal (siyu at ≥ 50% of it, issue 19).
 *
 *   bench_minimal --body FILE [--port 0] [--threads N]
 *
 * Answers every GET with the bytes of FILE as application/json (run.sh saves siyu's own
 * member 360 there, so both sides send answers of the same size) and 401 when the
 * Authorization header is missing, so the request is read as siyu reads it. No store, no
 * routing, no JSON work: what is left is libmicrohttpd, the kernel and the load generator.
 * The daemon is started as siyu starts its own (internal polling thread, epoll, a thread
 * pool) with one thread per CPU by default, its best configuration on this machine.
 * Prints "listening on http://127.0.0.1:PORT/" and serves until SIGTERM or SIGINT. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static struct MHD_Response *answer, *refusal;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size;
    if (!*state) { /* the first call carries the headers only */
        *state = (void *)1;
        return MHD_YES;
    }
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!auth) return MHD_queue_response(c, MHD_HTTP_UNAUTHORIZED, refusal);
    return MHD_queue_response(c, MHD_HTTP_OK, answer);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap = cap ? cap * 2 : 65536;
            char *grown = realloc(buf, cap);
            if (!grown) break;
            buf = grown;
        }
        size_t n = fread(buf + *len, 1, cap - *len, f);
        if (!n) break;
        *len += n;
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    const char *body_path = NULL;
    unsigned port = 0;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--body"))
            body_path = argv[i + 1];
        else if (!strcmp(argv[i], "--port"))
            port = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atol(argv[i + 1]);
        else {
            fprintf(stderr, "usage: %s --body FILE [--port P] [--threads N]\n", argv[0]);
            return 2;
        }
    }
    if (!body_path || threads < 1) {
        fprintf(stderr, "usage: %s --body FILE [--port P] [--threads N]\n", argv[0]);
        return 2;
    }
    size_t len;
    char *body = slurp(body_path, &len);
    if (!body) {
        fprintf(stderr, "bench_minimal: cannot read %s\n", body_path);
        return 1;
    }
    answer = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
    static char no[] = "{\"error\":{\"code\":\"unauthenticated\"}}";
    refusal = MHD_create_response_from_buffer(sizeof no - 1, no, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(answer, "Content-Type", "application/json");
    MHD_add_response_header(refusal, "Content-Type", "application/json");

    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)threads, MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        1024u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bench_minimal: cannot listen\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("listening on http://127.0.0.1:%u/ (%ld threads, %zu-byte answer)\n",
           info ? info->port : port, threads, len);
    fflush(stdout);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    while (!stopping)
        pause();
    MHD_stop_daemon(d);
    MHD_destroy_response(answer);
    MHD_destroy_response(refusal);
    free(body);
    return 0;
}
