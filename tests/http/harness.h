/* harness.h — what the HTTP tests share: start the real `siyu serve` on a loopback port
 * the system picks, with a fresh store and an admin token, and a minimal HTTP/1.1 client (one
 * keep-alive connection, Content-Length bodies). Header-only: each test is one file.
 *
 * The store is a SQLite file in a temporary directory, or, when SIYU_TEST_DB names a
 * PostgreSQL server (postgresql://…), a fresh database on that server made for the test
 * and dropped after it (harness_store, harness_store_drop). db_ints reads the store
 * directly on either. */
#ifndef SIYU_TEST_HARNESS_H
#define SIYU_TEST_HARNESS_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <pgtest.h>
#include <sqlite3.h>

static const char *siyu;
static char dir[64], db[512], token[128];
static char pg_dbname[64]; /* on PostgreSQL: the test's database */
static int port;

/* ---- recording: every answer, for the contract check (tools/api/validate.mjs) ----
 *
 * With SIYU_RECORD_RESPONSES=FILE set, every answer a test reads is appended to FILE as
 * one JSON line {"method", "path", "status", "content_type", "body"}; scripts/test.sh
 * then validates each against the OpenAPI document. A test with its own socket code
 * hands its raw answer to harness_record_raw, so no answer escapes the check. */

static inline void harness_json_str(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* Records one answer: its status, Content-Type and body (method and path as sent), the
 * request's body when the client knows it, and its Content-Encoding when compressed (the
 * body is then not kept: its status and type are still checked). Thread-safe: tests call
 * it from many threads at once. */
static inline void harness_record(const char *method, const char *path, int status,
                                  const char *ctype, size_t ctype_len, const char *body, size_t len,
                                  const char *encoding, const char *request)
{
    const char *file = getenv("SIYU_RECORD_RESPONSES");
    if (!file || !*file || status <= 0) return;
    char *line = NULL;
    size_t cap = 0;
    FILE *m = open_memstream(&line, &cap);
    if (!m) return;
    fputs("{\"method\":", m);
    harness_json_str(m, method, strlen(method));
    fputs(",\"path\":", m);
    harness_json_str(m, path, strlen(path));
    fprintf(m, ",\"status\":%d,\"content_type\":", status);
    harness_json_str(m, ctype ? ctype : "", ctype ? ctype_len : 0);
    fputs(",\"body\":", m);
    harness_json_str(m, body ? body : "", body ? len : 0);
    if (encoding) fprintf(m, ",\"content_encoding\":\"%s\"", encoding);
    if (request) {
        fputs(",\"request\":", m);
        harness_json_str(m, request, strlen(request));
    }
    fputs("}\n", m);
    fclose(m);
    /* one write per line on an O_APPEND file: tests running side by side never interleave */
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (write(fd, line, cap) != (ssize_t)cap) fprintf(stderr, "cannot record to %s\n", file);
        close(fd);
    }
    free(line);
}

/* Records a raw HTTP answer (status line, headers, body; NUL-terminated) to a request whose
 * body was request (or NULL). */
static inline void harness_record_raw_req(const char *method, const char *path, const char *request,
                                          const char *raw, size_t len)
{
    if (!getenv("SIYU_RECORD_RESPONSES") || len < 12 || strncmp(raw, "HTTP/1.", 7) != 0) return;
    const char *end = strstr(raw, "\r\n\r\n");
    if (!end || (size_t)(end - raw) > len) return;
    const char *ct = strcasestr(raw, "\r\nContent-Type:"), *ctv = NULL;
    size_t ctl = 0;
    if (ct && ct < end) {
        ctv = ct + 15;
        while (*ctv == ' ')
            ctv++;
        ctl = strcspn(ctv, "\r\n");
    }
    const char *cl = strcasestr(raw, "\r\nContent-Length:");
    size_t body_len = len - (size_t)(end + 4 - raw);
    if (cl && cl < end) {
        size_t want = strtoul(cl + 17, NULL, 10);
        if (want < body_len) body_len = want;
    }
    if (strcmp(method, "HEAD") == 0) body_len = 0;
    const char *ce = strcasestr(raw, "\r\nContent-Encoding:");
    bool gz = ce && ce < end && strncasecmp(ce + 19, " gzip", 5) == 0;
    harness_record(method, path, atoi(raw + 9), ctv, ctl, end + 4, gz ? 0 : body_len,
                   gz ? "gzip" : NULL, request);
}

/* Records a raw HTTP answer read by a test's own client (see harness_record_raw_req). */
static inline void harness_record_raw(const char *method, const char *path, const char *raw,
                                      size_t len)
{
    harness_record_raw_req(method, path, NULL, raw, len);
}

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
    /* one send per request: a separate body send meets Nagle and delayed ACK (40 ms); a
     * request larger than the stack buffer is built on the heap, whatever its size */
    char small[8192], *req = small;
    size_t blen = body ? strlen(body) : 0;
    const char *fmt = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n%s"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s";
    int n = snprintf(small, sizeof small, fmt, method, path, tok, headers ? headers : "", blen,
                     body ? body : "");
    if (n > 0 && (size_t)n >= sizeof small) {
        req = malloc((size_t)n + 1);
        if (!req) return -1;
        snprintf(req, (size_t)n + 1, fmt, method, path, tok, headers ? headers : "", blen,
                 body ? body : "");
    }
    size_t sent = 0;
    while (n > 0 && sent < (size_t)n) {
        ssize_t w = send(fd, req + sent, (size_t)n - sent, MSG_NOSIGNAL);
        if (w <= 0) break;
        sent += (size_t)w;
    }
    if (req != small) free(req);
    if (n <= 0 || sent < (size_t)n) return -1;
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
        int status = atoi(buf + 9); /* "HTTP/1.1 201 Created" */
        harness_record_raw_req(method, path, body, buf, header + want);
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

static inline int request(int fd, const char *method, const char *path, const char *body, char *buf,
                          size_t cap)
{
    return request_as(fd, token, method, path, body, buf, cap);
}

/* Reads the banner `siyu serve` prints on stdout once it listens ("siyu: serving STORE on
 * http://HOST:PORT/ (…)") from fd and returns PORT, or -1 when siyu ended (or said nothing
 * for two minutes) before it. */
static inline int harness_read_port(int fd)
{
    char line[4096];
    size_t got = 0;
    while (got < sizeof line - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 120000) <= 0) return -1;
        ssize_t r = read(fd, line + got, sizeof line - 1 - got);
        if (r <= 0) return -1;
        got += (size_t)r;
        line[got] = 0;
        char *nl = strchr(line, '\n');
        if (!nl) continue;
        *nl = 0;
        const char *at = strstr(line, " on http://");
        const char *colon = at ? strchr(at + 11, ':') : NULL;
        int n = colon ? atoi(colon + 1) : 0;
        return n > 0 && n < 65536 ? n : -1;
    }
    return -1;
}

/* Starts `siyu serve` on the store db, listening on 127.0.0.1:listen_port, and waits until it
 * answers /healthz; sets port to the port it listens on. With listen_port 0 the system picks a
 * free port as the socket is bound and siyu tells which (its banner on stdout, read through a
 * pipe): no other process can take it between the choice and the listen, as it could if the
 * test chose a port and siyu bound it later (tests run side by side). A test that must find a
 * restarted server at the same address passes the port of its first start: the port was then
 * just released by the test's own server, a far narrower window (no test needs it today). */
static inline pid_t start_server_on(int listen_port)
{
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", listen_port);
    int out[2];
    if (pipe2(out, O_CLOEXEC)) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1); /* stderr stays: sanitizer reports belong in the test log */
        execl(siyu, siyu, "serve", "--db", db, "--listen", listen, "--access-log", "off",
              (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    int got = harness_read_port(out[0]);
    /* siyu writes nothing more on stdout after its banner, and serve ignores SIGPIPE: the
     * closed pipe neither stops it nor changes its exit status */
    close(out[0]);
    if (got < 0) {
        fprintf(stderr, "server did not start (no banner on its stdout)\n");
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        exit(1);
    }
    port = got;
    for (int i = 0; i < 300; i++) { /* the socket is open: wait for /healthz */
        int fd = conn_open();
        if (fd >= 0) {
            char buf[256];
            int st = request(fd, "GET", "/healthz", NULL, buf, sizeof buf);
            close(fd);
            if (st == 200) return pid;
        }
        usleep(20000);
    }
    fprintf(stderr, "server did not start\n");
    exit(1);
}

/* A loopback port where every connection is refused, for a peer that is down: a socket bound
 * there (the system's choice) but not listening, held in *sock so no other process takes the
 * port; the caller closes it when done. Returns the port, or -1. */
static inline int refusing_port(int *sock)
{
    *sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (*sock < 0 || bind(*sock, (struct sockaddr *)&sa, sizeof sa) ||
        getsockname(*sock, (struct sockaddr *)&sa, &len)) {
        if (*sock >= 0) close(*sock);
        *sock = -1;
        return -1;
    }
    return ntohs(sa.sin_port);
}

/* Starts `siyu serve` on a port the system picks (see start_server_on); port is then the
 * server's. A restart gets a new port: clients connect again after it (conn_open). */
static inline pid_t start_server(void)
{
    return start_server_on(0);
}

static inline int run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = out ? fread(out, 1, cap - 1, p) : 0;
    if (out) {
        out[n] = 0;
        out[strcspn(out, "\n")] = 0;
    }
    return pclose(p);
}

/* ---- the store: a file in dir, or a fresh PostgreSQL database ---- */

static inline bool harness_on_pg(void)
{
    return pg_dbname[0] != 0;
}

/* Names the test's store in db: dir/file, or with SIYU_TEST_DB=postgresql://… a new,
 * empty database on that server (same URL, another database name). dir must exist. */
static inline void harness_store(const char *file)
{
    int rc = pgtest_fresh("t", pg_dbname, db, sizeof db);
    if (rc < 0) exit(1);
    if (rc > 0) snprintf(db, sizeof db, "%s/%s", dir, file);
    if (rc == 0) { /* what siyu keeps beside a store file, kept in dir for a database */
        char outbox[128];
        snprintf(outbox, sizeof outbox, "%s/outbox", dir);
        setenv("SIYU_OUTBOX_DIR", outbox, 1);
    }
}

/* Drops the PostgreSQL database of harness_store (nothing for a file: dir goes with rm). */
static inline void harness_store_drop(void)
{
    pgtest_drop(pg_dbname);
    pg_dbname[0] = 0;
}

/* Runs sql on the store, read directly (independent of the API), with text parameters
 * ?1..?nargs, and reads the first row's first n integers (NULL reads 0). Returns 0, or -1
 * when the query failed or gave no row. A statement that changes the store reads no row:
 * its count of changed rows goes to out[0] when n is 1. The SQL is the common dialect of
 * SQLite and PostgreSQL. */
static inline int db_query(const char *sql, const char *const *args, int nargs, long long *out,
                           int n)
{
    int rc = -1;
    if (harness_on_pg()) {
        char text[4096];
        snprintf(text, sizeof text, "%s", sql);
        for (char *p = text; *p; p++)
            if (*p == '?' && p[1] >= '0' && p[1] <= '9') *p = '$';
        PGconn *pg = PQconnectdb(db);
        PGresult *r = PQexecParams(pg, text, nargs, NULL, args, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) >= n) {
            for (int i = 0; i < n; i++)
                out[i] = strtoll(PQgetvalue(r, 0, i), NULL, 10);
            rc = 0;
        } else if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            if (n == 1) out[0] = strtoll(PQcmdTuples(r), NULL, 10);
            rc = 0;
        } else
            fprintf(stderr, "%s: %s", sql, PQerrorMessage(pg));
        PQclear(r);
        PQfinish(pg);
        return rc;
    }
    sqlite3 *s;
    if (sqlite3_open_v2(db, &s, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(s);
        return -1;
    }
    sqlite3_busy_timeout(s, 5000);
    sqlite3_stmt *q = NULL;
    int step = SQLITE_ERROR;
    if (sqlite3_prepare_v2(s, sql, -1, &q, NULL) == SQLITE_OK) {
        for (int i = 0; i < nargs; i++)
            sqlite3_bind_text(q, i + 1, args[i], -1, SQLITE_STATIC);
        step = sqlite3_step(q);
    }
    if (step == SQLITE_ROW && sqlite3_column_count(q) >= n) {
        for (int i = 0; i < n; i++)
            out[i] = sqlite3_column_int64(q, i);
        rc = 0;
    } else if (step == SQLITE_DONE && sqlite3_column_count(q) == 0) {
        if (n == 1) out[0] = sqlite3_changes(s);
        rc = 0;
    } else
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(s));
    sqlite3_finalize(q);
    sqlite3_close(s);
    return rc;
}

/* Runs sql on the store as db_query does and calls row(ctx, values, n) for every row, each
 * value as text (NULL for NULL; valid during the call). Returns the rows read, or -1. */
typedef void (*db_row_fn)(void *ctx, const char *const *values, int n);
static inline long long db_each(const char *sql, const char *const *args, int nargs, db_row_fn row,
                                void *ctx)
{
    long long rows = -1;
    if (harness_on_pg()) {
        char text[4096];
        snprintf(text, sizeof text, "%s", sql);
        for (char *p = text; *p; p++)
            if (*p == '?' && p[1] >= '0' && p[1] <= '9') *p = '$';
        PGconn *pg = PQconnectdb(db);
        PGresult *r = PQexecParams(pg, text, nargs, NULL, args, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            int nf = PQnfields(r) < 32 ? PQnfields(r) : 32;
            for (rows = 0; rows < PQntuples(r); rows++) {
                const char *v[32];
                for (int i = 0; i < nf; i++)
                    v[i] = PQgetisnull(r, (int)rows, i) ? NULL : PQgetvalue(r, (int)rows, i);
                row(ctx, v, nf);
            }
        } else
            fprintf(stderr, "%s: %s", sql, PQerrorMessage(pg));
        PQclear(r);
        PQfinish(pg);
        return rows;
    }
    sqlite3 *s;
    if (sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(s);
        return -1;
    }
    sqlite3_busy_timeout(s, 5000);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s, sql, -1, &q, NULL) == SQLITE_OK) {
        for (int i = 0; i < nargs; i++)
            sqlite3_bind_text(q, i + 1, args[i], -1, SQLITE_STATIC);
        int step, nf = sqlite3_column_count(q) < 32 ? sqlite3_column_count(q) : 32;
        for (rows = 0; (step = sqlite3_step(q)) == SQLITE_ROW; rows++) {
            const char *v[32];
            for (int i = 0; i < nf; i++)
                v[i] = (const char *)sqlite3_column_text(q, i);
            row(ctx, v, nf);
        }
        if (step != SQLITE_DONE) rows = -1;
    }
    if (rows < 0) fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(s));
    sqlite3_finalize(q);
    sqlite3_close(s);
    return rows;
}

/* Runs a script of statements separated by ';' (no parameters, no rows read) on the store;
 * returns 0, or -1 with the error printed. */
static inline int db_script(const char *sql)
{
    int rc = -1;
    if (harness_on_pg()) {
        PGconn *pg = PQconnectdb(db);
        PGresult *r = PQexec(pg, sql);
        if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
            rc = 0;
        else
            fprintf(stderr, "script: %s", PQerrorMessage(pg));
        PQclear(r);
        PQfinish(pg);
        return rc;
    }
    sqlite3 *s;
    if (sqlite3_open(db, &s) == SQLITE_OK) {
        sqlite3_busy_timeout(s, 5000);
        char *err = NULL;
        rc = sqlite3_exec(s, sql, NULL, NULL, &err) == SQLITE_OK ? 0 : -1;
        if (rc) fprintf(stderr, "script: %s\n", err);
        sqlite3_free(err);
    }
    sqlite3_close(s);
    return rc;
}

/* As db_query without parameters. */
static inline int db_ints(const char *sql, long long *out, int n)
{
    return db_query(sql, NULL, 0, out, n);
}

/* The first column of sql's first row, with integer parameters ?1 and ?2 (bound only as far
 * as the text names them); -1 when the query failed. */
static inline long long db_int(const char *sql, long long a, long long b)
{
    char sa[32], sb[32];
    snprintf(sa, sizeof sa, "%lld", a);
    snprintf(sb, sizeof sb, "%lld", b);
    const char *args[2] = {sa, sb};
    int nargs = strstr(sql, "?2") ? 2 : strstr(sql, "?1") ? 1 : 0;
    long long v = -1;
    return db_query(sql, args, nargs, &v, 1) ? -1 : v;
}

/* Runs a statement that changes the store; returns the rows it changed, or -1. */
static inline long long db_exec(const char *sql)
{
    long long n = -1;
    return db_query(sql, NULL, 0, &n, 1) ? -1 : n;
}

/* Makes the temp store, the admin token and starts the server. */
static inline pid_t harness_start(const char *binary)
{
    siyu = binary;
    snprintf(dir, sizeof dir, "/tmp/siyu-http-XXXXXX");
    if (!mkdtemp(dir)) exit(1);
    harness_store("t.db");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s init --db %s >/dev/null", siyu, db);
    if (run(cmd, NULL, 0)) exit(1);
    snprintf(cmd, sizeof cmd, "%s token create --db %s --role admin", siyu, db);
    if (run(cmd, token, sizeof token)) exit(1);
    return start_server();
}

/* The value of a sample in a /metrics text (name with its labels, as printed), -1 if absent. */
static inline long long harness_metric(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; (p = strstr(p, name)); p += n)
        if ((p == text || p[-1] == '\n') && p[n] == ' ') return atoll(p + n + 1);
    return -1;
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
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    harness_store_drop();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif
