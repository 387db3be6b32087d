/* server.c — libmicrohttpd glue and the generic request pipeline.
 *
 * For every request: match the route, check the body size, resolve the token and
 * the role, parse the body, open the transaction (a write lock for writes, a
 * consistent snapshot for reads), replay an Idempotency-Key if it was seen, run the
 * handler, commit before answering (a 2xx on a write is durable), log and count.
 * Handlers see none of this. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "http/http.h"
#include "http/router.h"
#include "import/import.h"

#define IMPORT_MAX_BODY (64u << 20)

/* A write waiting for the group committer. */
typedef struct write_job {
    http_req *r;
    const route *rt;
    siyu_err *e;
    int rc;
    bool done;
    dom_changes changes; /* what the write changed, kept only if it committed */
    struct write_job *next;
} write_job;

struct http_server {
    struct MHD_Daemon *daemon;
    store_t *store;
    http_config cfg; /* includes the commit observer */
    int port;
    atomic_int in_flight;
    pthread_key_t conn_key; /* each worker thread's store connection */
    /* Group commit: every write runs on one writer thread, many to a transaction, so
     * one fsync makes a whole batch durable. Workers queue a job and sleep until the
     * transaction holding it has committed. */
    pthread_t writer;
    pthread_mutex_t q_lock;
    pthread_cond_t q_ready, q_done;
    write_job *q_head, *q_tail;
    bool q_stop;
    store_conn *writer_conn;
};

typedef struct req_ctx {
    char *buf;
    size_t len, cap, limit;
    bool too_large;
    int route;
    uint64_t t0;
    http_req r;
} req_ctx;

void http_config_init(http_config *c)
{
    memset(c, 0, sizeof *c);
    c->listen = "127.0.0.1:8080";
    /* A worker waits while its write is in the group commit, so more workers than
     * cores make bigger batches: 16 measured best on 2 cores (bench/README.md). */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    c->threads = (int)(cores * 4 > 16 ? cores * 4 : 16);
    c->max_body = 1u << 20;
    c->access_log = stderr;
}

static void close_conn(void *p)
{
    store_conn_close(p);
}

static store_conn *thread_conn(http_server *s, siyu_err *e)
{
    store_conn *c = pthread_getspecific(s->conn_key);
    if (!c) {
        if (store_conn_open(s->store, &c, e))
            return NULL;
        pthread_setspecific(s->conn_key, c);
    }
    return c;
}

static enum MHD_Result send_text(struct MHD_Connection *mc, int status, char *text,
                                 const char *type)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result rc = MHD_queue_response(mc, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void fail(http_req *r, const siyu_err *e)
{
    r->status = siyu_code_status(e->code);
    json_decref(r->resp);
    r->resp = siyu_err_to_json(e);
}

/* The Idempotency-Key of a side-effecting call: a replay answers the first answer
 * with 200, the same key with another body is a conflict. Keys belong to the caller
 * (auth_caller_key): one caller never sees another's answer, and two callers who pick
 * the same key are two keys. Returns 1 when replayed. */
static int idem_replay(http_req *r, const char *caller, const char *key, const char *route_key,
                       const unsigned char *dg, siyu_err *e)
{
    store_stmt *s = store_q(r->d.conn, Q_IDEM_GET2);
    store_bind_text(s, 1, caller);
    store_bind_text(s, 2, key);
    store_bind_text(s, 3, route_key);
    if (store_step(s) != STORE_ROW)
        return 0;
    int n;
    const void *old = store_col_blob(s, 0, &n);
    bool same = n == 16 && memcmp(old, dg, 16) == 0;
    if (!same) {
        store_reset(s);
        return siyu_err_set(e, SIYU_CONFLICT, "Idempotency-Key",
                            "Idempotency-Key: already used with a different body");
    }
    r->status = 200;
    r->resp = json_loads(store_col_text(s, 2), 0, NULL);
    store_reset(s);
    return 1;
}

/* The write part of a request, inside a transaction the caller holds on r->d.conn:
 * the scope rule (inside the write's savepoint, so nothing moves between the check
 * and the write), the token's last use, Idempotency-Key replay or conflict, the
 * handler, the stored answer. */
static int exec_write(http_req *r, const route *rt, siyu_err *e)
{
    if (r->d.who.touch && auth_touch(r->d.conn, &r->d.who, r->d.now, e)) return -1;
    if (!rt->fn) /* a read's token use, recorded on its own */
        return 0;
    if (scope_apply(r, rt, e)) return -1;
    struct MHD_Connection *mc = r->conn;
    const char *k = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Idempotency-Key");
    if (!k && (rt->flags & ROUTE_IDEM))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "Idempotency-Key",
                            "Idempotency-Key: required, so a retry never moves points twice");
    if (!k || (rt->flags & ROUTE_SECRET)) {
        r->defer_render = true; /* nothing to store with the answer: render it after commit */
        return rt->fn(r, e);
    }
    if (!*k || strlen(k) > 200)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "Idempotency-Key",
                            "Idempotency-Key: must be 1 to 200 characters");
    char route_key[300], caller[48];
    unsigned char dg[DIGEST_BYTES];
    snprintf(route_key, sizeof route_key, "%s %s", r->method, r->path);
    auth_caller_key(&r->d.who, caller, sizeof caller);
    digest_of_json(r->body, dg);
    int rep = idem_replay(r, caller, k, route_key, dg, e);
    if (rep != 0)
        return rep < 0 ? -1 : 0;
    if (rt->fn(r, e) < 0)
        return -1;
    if (r->status >= 300)
        return 0;
    char *text = json_dumps(r->resp, JSON_COMPACT);
    store_stmt *s = store_q(r->d.conn, Q_IDEM_PUT2);
    store_bind_text(s, 1, caller);
    store_bind_text(s, 2, k);
    store_bind_text(s, 3, route_key);
    store_bind_blob(s, 4, dg, DIGEST_BYTES);
    store_bind_int(s, 5, r->status);
    store_bind_text(s, 6, text);
    store_bind_int(s, 7, r->d.now);
    int rc = store_exec(s, e);
    free(text);
    return rc;
}

/* The group committer: takes every queued write, runs each in its own savepoint of one
 * transaction (a refused write is undone alone), commits once, then wakes them all. */
static void *writer_main(void *arg)
{
    http_server *srv = arg;
    pthread_mutex_lock(&srv->q_lock);
    for (;;) {
        while (!srv->q_head && !srv->q_stop)
            pthread_cond_wait(&srv->q_ready, &srv->q_lock);
        if (!srv->q_head && srv->q_stop)
            break;
        write_job *batch = srv->q_head;
        srv->q_head = srv->q_tail = NULL;
        pthread_mutex_unlock(&srv->q_lock);

        siyu_err txe;
        siyu_err_init(&txe);
        int tx = store_begin(srv->writer_conn, true, &txe);
        for (write_job *j = batch; j; j = j->next) {
            j->r->d.conn = srv->writer_conn;
            j->r->d.changes = &j->changes;
            if (tx || store_savepoint(srv->writer_conn, j->e)) {
                if (tx)
                    siyu_err_set(j->e, SIYU_INTERNAL, NULL, "%s", txe.message);
                j->rc = -1;
                continue;
            }
            j->rc = exec_write(j->r, j->rt, j->e);
            if (j->rc < 0) {
                store_savepoint_undo(srv->writer_conn);
                dom_changes_clear(&j->changes);
            }
            else
                store_savepoint_release(srv->writer_conn);
        }
        if (!tx && store_commit(srv->writer_conn, &txe)) {
            for (write_job *j = batch; j; j = j->next)
                if (j->rc == 0) {
                    j->rc = -1;
                    dom_changes_clear(&j->changes);
                    siyu_err_set(j->e, SIYU_INTERNAL, NULL, "%s", txe.message);
                }
        }
        siyu_err_clear(&txe);
        pthread_mutex_lock(&srv->q_lock);
        for (write_job *j = batch; j; j = j->next)
            j->done = true;
        pthread_cond_broadcast(&srv->q_done);
    }
    pthread_mutex_unlock(&srv->q_lock);
    return NULL;
}

static int queue_write(http_server *srv, http_req *r, const route *rt, siyu_err *e)
{
    write_job job = {.r = r, .rt = rt, .e = e};
    pthread_mutex_lock(&srv->q_lock);
    if (srv->q_tail)
        srv->q_tail->next = &job;
    else
        srv->q_head = &job;
    srv->q_tail = &job;
    pthread_cond_signal(&srv->q_ready);
    while (!job.done)
        pthread_cond_wait(&srv->q_done, &srv->q_lock);
    pthread_mutex_unlock(&srv->q_lock);
    r->d.changes = NULL;
    if (job.rc == 0 && job.changes.n && srv->cfg.on_commit)
        srv->cfg.on_commit(srv->cfg.on_commit_ctx, pthread_getspecific(srv->conn_key),
                           job.changes.v, job.changes.n);
    dom_changes_free(&job.changes);
    return job.rc;
}

/* A read's token use, written at most once a minute per token (auth_resolve decides)
 * through the group committer like every write; a write records it in its own batch. */
static void touch_token(http_server *srv, http_req *r)
{
    static const route touch = {"POST", "(token use)", NULL,        0, ROUTE_WRITE,
                                NULL,   NULL,          SCOPE_CHAIN, 0};
    http_req t;
    memset(&t, 0, sizeof t);
    t.method = r->method;
    t.path = r->path;
    t.conn = r->conn;
    t.d.who = r->d.who;
    t.d.now = r->d.now;
    siyu_err e;
    siyu_err_init(&e);
    store_conn *own = r->d.conn;
    if (queue_write(srv, &t, &touch, &e) < 0)
        fprintf(stderr, "siyu: recording a token's use: %s\n", e.message);
    r->d.conn = own;
    siyu_err_clear(&e);
}

static void run(http_server *srv, req_ctx *c, struct MHD_Connection *mc)
{
    http_req *r = &c->r;
    siyu_err e;
    siyu_err_init(&e);
    const route *rt = c->route >= 0 ? &routes[c->route] : NULL;
    bool tx = false;

    if (!rt) {
        siyu_err_set(&e, SIYU_NOT_FOUND, NULL,
                     c->route == -2 ? "%s is not allowed on %s" : "no route %s %s", r->method,
                     r->path);
        goto out;
    }
    if (c->too_large) {
        siyu_err_set(&e, SIYU_PAYLOAD_TOO_LARGE, NULL, "body: larger than %zu bytes", c->limit);
        goto out;
    }
    r->d.now = clock_now();
    if (rt->flags & ROUTE_PUBLIC) {
        if (!(r->d.conn = thread_conn(srv, &e)))
            goto out;
        goto call;
    }
    if (!(r->d.conn = thread_conn(srv, &e)))
        goto out;
    const char *auth = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
        siyu_err_set(&e, SIYU_UNAUTHENTICATED, NULL, "a bearer token is required");
        goto out;
    }
    if (auth_resolve_at(r->d.conn, auth + 7, r->d.now, &r->d.who, &e)) goto out;
    if (!(rt->roles & r->d.who.role)) {
        siyu_err_set(&e, SIYU_PERMISSION_DENIED, NULL, "role %s may not call %s %s",
                     role_name(r->d.who.role), rt->method, rt->pattern);
        goto out;
    }
    if (r->d.who.touch && !(rt->flags & ROUTE_WRITE)) {
        touch_token(srv, r);
        r->d.who.touch = false;
    }
    if (rt->flags & (ROUTE_BODY | ROUTE_BODY_OPT)) {
        if (c->len == 0 && (rt->flags & ROUTE_BODY_OPT)) {
            r->body = NULL;
        } else if (!(r->body = jx_parse(c->buf ? c->buf : "", c->len, false, &e))) {
            goto out;
        }
    }
    if (rt->flags & ROUTE_RAW) {
        r->raw = c->buf;
        r->raw_len = c->len;
    }
    if (rt->flags & ROUTE_WRITE) {
        /* the scope rule runs on the writer, inside the write's own savepoint */
        store_conn *own = r->d.conn;
        int rc = queue_write(srv, r, rt, &e);
        r->d.conn = own;
        if (rc < 0)
            goto out;
        if (r->render_after) {
            if (store_begin(r->d.conn, false, &e))
                goto out;
            tx = true;
            if (r->render_after(r, &e) < 0)
                goto out;
            tx = false;
            store_commit(r->d.conn, &e);
        }
        goto done;
    }
    if (store_begin(r->d.conn, false, &e)) goto out;
    tx = true;
    if (scope_apply(r, rt, &e)) goto out;
    if (rt->flags & (ROUTE_RAW | ROUTE_OWN_TX)) {
        /* long work opens its own transactions: the scope was read in a snapshot of its own */
        tx = false;
        if (store_commit(r->d.conn, &e)) goto out;
    }
call:
    if (rt->fn(r, &e) < 0)
        goto out;
    if (tx) {
        tx = false;
        if (store_commit(r->d.conn, &e))
            goto out;
    }
done:
out:
    if (tx)
        store_rollback(r->d.conn);
    if (e.code != SIYU_OK) {
        fail(r, &e);
        if (e.code == SIYU_INTERNAL)
            fprintf(stderr, "siyu: %s %s: %s\n", r->method, r->path, e.message);
    }
    siyu_err_clear(&e);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    http_server *srv = cls;
    req_ctx *c = *con_cls;
    if (!c) {
        c = calloc(1, sizeof *c);
        c->t0 = clock_mono_ns();
        c->r.method = method;
        c->r.path = url;
        c->route = router_match(method, url, &c->r);
        c->limit = c->route >= 0 && (routes[c->route].flags & ROUTE_RAW) ? IMPORT_MAX_BODY
                                                                          : srv->cfg.max_body;
        const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > c->limit)
            c->too_large = true;
        atomic_fetch_add(&srv->in_flight, 1);
        *con_cls = c;
        return MHD_YES;
    }
    if (*upload_size) {
        /* keep reading (and dropping) an oversize body so the 413 reaches the client */
        if (!c->too_large) {
            if (c->len + *upload_size > c->limit) {
                c->too_large = true;
            } else {
                if (c->len + *upload_size + 1 > c->cap) {
                    c->cap = (c->len + *upload_size + 1) * 2;
                    if (c->cap > c->limit + 1)
                        c->cap = c->limit + 1;
                    c->buf = realloc(c->buf, c->cap);
                }
                memcpy(c->buf + c->len, upload, *upload_size);
                c->len += *upload_size;
                c->buf[c->len] = 0;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    c->r.conn = mc;
    c->r.server = srv;
    run(srv, c, mc);
    http_req *r = &c->r;
    char *text;
    const char *type;
    if (r->text && r->status < 400) {
        text = r->text;
        r->text = NULL;
        type = r->content_type;
    } else {
        text = json_dumps(r->resp ? r->resp : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
        type = "application/json; charset=utf-8";
        if (!text) { /* a NaN or a broken string in an answer: a bug, not a crash */
            fprintf(stderr, "siyu: %s %s: the answer cannot be written as JSON\n", r->method,
                    r->path);
            r->status = 500;
            text = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"the answer "
                          "cannot be written as JSON\"}}");
        }
    }
    size_t bytes = strlen(text);
    enum MHD_Result rc = send_text(mc, r->status ? r->status : 500, text, type);
    uint64_t ns = clock_mono_ns() - c->t0;
    metrics_record(c->route, r->status, ns);
    if (srv->cfg.access_log) {
        char when[40];
        time_format_rfc3339(clock_now(), when, sizeof when);
        fprintf(srv->cfg.access_log, "%s %s %s %d %zuB %.3fms\n", when, method, url, r->status,
                bytes, (double)ns / 1e6);
    }
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_server *srv = cls;
    req_ctx *c = *con_cls;
    if (!c)
        return;
    json_decref(c->r.body);
    json_decref(c->r.resp);
    free(c->r.text);
    free(c->buf);
    free(c);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->in_flight, 1);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa, siyu_err *e)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof host)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "listen",
                            "listen: expected HOST:PORT, e.g. 127.0.0.1:8080");
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || !colon[1])
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "listen", "listen: bad port in %s", listen);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "listen", "listen: bad IPv4 address %s", host);
    return 0;
}

int http_server_start(store_t *st, const http_config *cfg, http_server **out, siyu_err *e)
{
    struct sockaddr_in sa;
    if (parse_listen(cfg->listen, &sa, e))
        return -1;
    http_server *s = calloc(1, sizeof *s);
    s->store = st;
    s->cfg = *cfg;
    pthread_key_create(&s->conn_key, close_conn);
    if (store_conn_open(st, &s->writer_conn, e)) {
        pthread_key_delete(s->conn_key);
        free(s);
        return -1;
    }
    store_conn_cache(s->writer_conn, 128);
    pthread_mutex_init(&s->q_lock, NULL);
    pthread_cond_init(&s->q_ready, NULL);
    pthread_cond_init(&s->q_done, NULL);
    pthread_create(&s->writer, NULL, writer_main, s);
    s->daemon = MHD_start_daemon(
        /* ITC lets MHD_quiesce_daemon stop the listening socket under a thread pool */
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0,
        NULL, NULL,
        on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(cfg->threads > 0 ? cfg->threads : 4), MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        s, MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_CONNECTION_LIMIT, 4096u,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (!s->daemon) {
        pthread_mutex_lock(&s->q_lock);
        s->q_stop = true;
        pthread_cond_signal(&s->q_ready);
        pthread_mutex_unlock(&s->q_lock);
        pthread_join(s->writer, NULL);
        store_conn_close(s->writer_conn);
        pthread_key_delete(s->conn_key);
        free(s);
        return siyu_err_set(e, SIYU_INTERNAL, "listen", "listen: cannot listen on %s", cfg->listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : ntohs(sa.sin_port);
    *out = s;
    return 0;
}

int http_server_port(http_server *s)
{
    return s->port;
}

void http_server_stop(http_server *s)
{
    if (!s)
        return;
    /* Stop accepting, let the requests in flight finish (up to 10 s), then close. */
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    for (int i = 0; i < 1000 && atomic_load(&s->in_flight) > 0; i++)
        usleep(10000);
    MHD_stop_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    pthread_mutex_lock(&s->q_lock);
    s->q_stop = true;
    pthread_cond_signal(&s->q_ready);
    pthread_mutex_unlock(&s->q_lock);
    pthread_join(s->writer, NULL);
    store_conn_close(s->writer_conn);
    pthread_key_delete(s->conn_key);
    free(s);
}

typedef struct import_relay {
    http_server *srv;
    store_conn *conn;
} import_relay;

static void relay_commit(void *ctx, const dom_change *v, size_t n)
{
    http_server *srv = ctx;
    if (srv->cfg.on_commit)
        srv->cfg.on_commit(srv->cfg.on_commit_ctx, pthread_getspecific(srv->conn_key), v, n);
}

void http_import_observer(http_req *r, struct import_options *o)
{
    http_server *srv = r->server;
    if (srv->cfg.on_commit) {
        o->on_commit = relay_commit;
        o->on_commit_ctx = srv;
    }
}

struct views *http_views(http_req *r)
{
    return ((http_server *)r->server)->cfg.views;
}

store_t *http_store(http_req *r)
{
    return ((http_server *)r->server)->store;
}

/* for metrics.c */
store_t *http_server_store(void *srv);
store_t *http_server_store(void *srv)
{
    return ((http_server *)srv)->store;
}
