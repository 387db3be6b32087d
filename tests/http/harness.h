/* harness.h — what the HTTP tests share: start the real `siyu serve` on a free loopback
 * port with a fresh store and an admin token, and a minimal HTTP/1.1 client (one
 * keep-alive connection, Content-Length bodies). Header-only: each test is one file. */
#ifndef SIYU_TEST_HARNESS_H
#define SIYU_TEST_HARNESS_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *siyu;
static char dir[64], db[128], token[128];
static int port;

/* ---- a minimal HTTP/1.1 client: one keep-alive connection, Content-Length bodies ---- */

static inline int conn_open(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends one request; returns the status with the body in buf, or -1 when the
 * connection broke (the server died). */
/* As request_as, with extra header lines ("Idempotency-Key: k\r\n") or NULL. */
static inline int request_hdr(int fd, const char *tok, const char *method, const char *path,
                              const char *headers, const char *body, char *buf, size_t cap)
{
    /* one send per request: a separate body send meets Nagle and delayed ACK (40 ms) */
    char req[8192];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, tok, headers ? headers : "", blen, body ? body : "");
    if (n <= 0 || (size_t)n >= sizeof req || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        return -1;
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + got, cap - 1 - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
        buf[got] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        char *cl = strcasestr(buf, "Content-Length:");
        size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;
        size_t header = (size_t)(end + 4 - buf);
        if (got < header + want)
            continue;
        int status = atoi(buf + 9); /* "HTTP/1.1 201 Created" */
        memmove(buf, end + 4, want);
        buf[want] = 0;
        return status;
    }
}

static inline int request_as(int fd, const char *tok, const char *method, const char *path,
                             const char *body, char *buf, size_t cap)
{
    return request_hdr(fd, tok, method, path, NULL, body, buf, cap);
}

/* ---- the server ---- */

static inline int request(int fd, const char *method, const char *path, const char *body,
                          char *buf, size_t cap)
{
    return request_as(fd, token, method, path, body, buf, cap);
}

static inline int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

static inline pid_t start_server(void)
{
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1); /* stderr stays: sanitizer reports belong in the test log */
        execl(siyu, siyu, "serve", "--db", db, "--listen", listen, "--access-log", "off",
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300; i++) { /* wait for /healthz */
        int fd = conn_open();
        if (fd >= 0) {
            char buf[256];
            int st = request(fd, "GET", "/healthz", NULL, buf, sizeof buf);
            close(fd);
            if (st == 200)
                return pid;
        }
        usleep(20000);
    }
    fprintf(stderr, "server did not start\n");
    exit(1);
}

static inline int run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = out ? fread(out, 1, cap - 1, p) : 0;
    if (out) {
        out[n] = 0;
        out[strcspn(out, "\n")] = 0;
    }
    return pclose(p);
}


/* Makes the temp store, the admin token and starts the server. */
static inline pid_t harness_start(const char *binary)
{
    siyu = binary;
    snprintf(dir, sizeof dir, "/tmp/siyu-http-XXXXXX");
    if (!mkdtemp(dir))
        exit(1);
    snprintf(db, sizeof db, "%s/t.db", dir);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s init --db %s >/dev/null", siyu, db);
    if (run(cmd, NULL, 0))
        exit(1);
    snprintf(cmd, sizeof cmd, "%s token create --db %s --role admin", siyu, db);
    if (run(cmd, token, sizeof token))
        exit(1);
    port = free_port();
    return start_server();
}

/* Stops the server with SIGTERM; returns its exit status (0 after a clean, graceful
 * stop — under the sanitizers a leak or an error report makes it non-zero). */
static inline int harness_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif
