/* server.c — libmicrohttpd glue and the generic request pipeline.
 *
 * For every request: match the route, check the body size, resolve the token and
 * the role, parse the body, open the transaction (a write lock for writes, a
 * consistent snapshot for reads), replay an Idempotency-Key if it was seen, run the
 * handler, commit before answering (a 2xx on a write is durable), log and count.
 * Handlers see none of this. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <sodium.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "base/digest.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "http/http.h"
#include "http/router.h"
#include "auth/session.h"
#include "import/import.h"
#include "views/member_cache.h"
#include "writer/writer.h"

#define IMPORT_MAX_BODY (64u << 20)
/* A request refused on its headers with a body up to this size has the body read and
 * dropped (keeping the connection); a larger one is answered at once, unread. */
#define REFUSED_BODY_READ (64u << 10)

/* One client address and how many connections it holds (the per-client limit). */
typedef struct client_slot {
    unsigned char key[16]; /* IPv6, or IPv4 mapped into it */
    unsigned count;
    bool used; /* ever held a key: lookups probe past it */
} client_slot;

/* What the server keeps about one connection (MHD's socket context). */
typedef struct conn_info {
    unsigned char key[16];
    uint64_t since_ns; /* opened, or its last request completed */
    bool in_request;   /* between a request's first callback and its completion */
    bool served;       /* at least one request completed */
    bool over;         /* accepted past the per-client limit: closed at once */
} conn_info;

struct http_server {
    struct MHD_Daemon *daemon;
    store_t *store;
    http_config cfg; /* includes the commit observer */
    int port;
    atomic_int in_flight;
    /* Store connections lent to requests: a request takes one on its first callback and
     * gives it back once its answer is made (answer()), not when the client has read it; at
     * most cfg.threads are open, and a request that finds none free waits for one. */
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_freed;
    store_conn **pool_idle;
    size_t pool_n_idle, pool_open;
    atomic_ullong pool_waits; /* requests that found every store connection lent */
    int pool_waiting;         /* workers waiting for one now (under pool_lock) */
    bool auth_cache; /* bearer tokens through auth_resolve_cached (SIYU_AUTH_CACHE=off: not) */
    member_cache *members; /* member 360s kept in memory (views/member_cache.h) */
    http_mode mode;
    /* HTTP_EVENT: requests that may wait (writes, a token's use, long reads) run on these
     * workers while their connection is suspended; the I/O threads serve the others */
    pthread_mutex_t work_lock;
    pthread_cond_t work_ready;
    struct req_ctx *work_head, *work_tail;
    bool work_stop;
    pthread_t *workers;
    int n_workers;
    atomic_ullong blocked_io; /* handlers that waited on an I/O thread: a route to fix */
    atomic_ullong to_workers; /* requests an I/O thread handed to a worker (may_wait) */
    /* Requests whose connection is suspended (a worker's, or a write queued from an I/O
     * thread) and not yet answered: libmicrohttpd must not stop with a connection
     * suspended, so the stop waits for none to be left. Once stopping is set, none is
     * suspended any more: each runs whole on its I/O thread, which may then wait. */
    atomic_int suspended;
    atomic_bool stopping;
    /* writes queued by write_start whose write_done has not returned: it resumes through
     * libmicrohttpd's wake-up channel after the I/O thread may already have answered, so
     * the stop waits for it too before libmicrohttpd goes */
    atomic_int resumers;
    /* HTTP_EVENT: each I/O thread's own store connection (io_conn), closed at the stop */
    pthread_mutex_t io_lock;
    store_conn **io_conns;
    size_t n_io_conns;
    /* Every write goes to the group committer (src/writer): the one given in the
     * config (shared with the background jobs), or one of the server's own. */
    writer_t *writer;
    bool own_writer;
    /* Connections by client address, so that one client cannot hold them all. */
    pthread_mutex_t ct_lock;
    client_slot *ct;
    size_t ct_cap, ct_used;
    atomic_ullong conns_open, refused_per_client, timed_out_request, timed_out_idle;
    char spool_dir[512]; /* where ROUTE_RAW bodies are spooled */
    char **cors;         /* the origins allowed by --cors-origins, exactly as written */
    size_t n_cors;
    bool cors_on, cors_any; /* any list at all; "*" in it */
};

/* A write of the pipeline, run by the group committer on its connection. */
typedef struct http_write {
    http_req *r;
    const route *rt;
} http_write;

typedef struct req_ctx {
    char *buf;
    size_t len, cap, limit;
    bool too_large;
    /* ROUTE_RAW bodies (imports) go to an unlinked file in bounded chunks, never into
     * memory; the handler reads them back as a stream (see spool_open). */
    int spool_fd;
    bool spool_failed;
    FILE *spool_in;  /* the spool read back, for the handler */
    void *spool_map; /* the spool mapped read-only, for handlers that take bytes */
    bool refused;    /* refused on the headers (404, 413, 401, 403): r holds the error and
                      * the body is never kept */
    bool sent;       /* that answer is queued already: the body is never read */
    int route;
    uint64_t t0;
    uint64_t declared; /* the Content-Length, 0 when none */
    char allow[160];   /* the path's methods (router_allow), for 405 and OPTIONS */
    conn_info *ci;
    store_conn *conn; /* lent by the server's pool until the answer is made */
    bool conn_io;     /* conn is the I/O thread's own (io_conn), not the pool's */
    /* HTTP_EVENT: handed to a worker (the connection suspended until it ran) */
    struct MHD_Connection *mc;
    bool ran;
    bool counted; /* counted in http_server.suspended until answered or completed */
    struct req_ctx *next_work;
    /* HTTP_EVENT: a write queued without a waiting thread (write_start) */
    bool writing;
    writer_job *job;
    http_write write;
    store_conn *own; /* the request's connection, where the views follow the write */
    siyu_err werr;
    http_req r;
} req_ctx;

void http_config_init(http_config *c)
{
    memset(c, 0, sizeof *c);
    c->listen = "127.0.0.1:8080";
    /* A request waits while its write is in the group commit, holding its store
     * connection: a commit can only hold as many writes as there are connections to lend.
     * 64 let 64 concurrent clients share one commit (bench/guides: the scan's p99 against
     * 16); each waiting request sleeps on its own semaphore (src/writer), so waiting
     * costs no CPU. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    c->threads = (int)(cores * 4 > 64 ? cores * 4 : 64);
    /* one I/O thread a core: reads answer on them, everything that waits on a worker */
    c->io_threads = (int)(cores > 2 ? cores : 2);
    c->mode = HTTP_EVENT;
    c->max_body = 1u << 20;
    c->max_import_body = IMPORT_MAX_BODY;
    c->max_connections = 4096;
    c->max_conn_per_client = 256;
    c->request_timeout = 10;
    c->idle_timeout = 120;
    c->access_log = stderr;
    c->gzip_min_bytes = 1024;
}

/* Closes the pool's connections: every request has been answered and returned its loan. */
static void pool_close(http_server *s)
{
    for (size_t i = 0; i < s->pool_n_idle; i++)
        store_conn_close(s->pool_idle[i]);
    free(s->pool_idle);
    pthread_mutex_destroy(&s->pool_lock);
    pthread_cond_destroy(&s->pool_freed);
}

/* Opens a connection for the pool, whose lock the caller holds and which has room: the
 * lock is released (an open takes time, on PostgreSQL a round trip or more). */
static int pool_grow(http_server *s, store_conn **out, siyu_err *e)
{
    s->pool_open++;
    pthread_mutex_unlock(&s->pool_lock);
    if (store_conn_open(s->store, out, e) == 0) return 0;
    *out = NULL;
    pthread_mutex_lock(&s->pool_lock);
    s->pool_open--;
    pthread_cond_signal(&s->pool_freed);
    pthread_mutex_unlock(&s->pool_lock);
    return -1;
}

/* HTTP_EVENT. An I/O thread takes no connection from the pool that it would wait for: the
 * pool's connections come back when the I/O threads answer the requests holding them, so
 * such a wait could wait for itself. Each I/O thread has a connection of its own instead,
 * for the token check on the headers and the reads it answers at once (each runs whole in
 * one callback, so nothing else uses it meanwhile); a request that goes on elsewhere (a
 * write in the group commit, a worker's) takes one from the pool (request_conn_try). */
static _Thread_local store_conn *tl_io_conn;
static _Thread_local bool tl_worker; /* the thread is one of the server's workers */

static store_conn *io_conn(http_server *s, siyu_err *e)
{
    if (tl_io_conn) return tl_io_conn;
    store_conn *c;
    if (store_conn_open(s->store, &c, e)) return NULL;
    pthread_mutex_lock(&s->io_lock);
    store_conn **v = realloc(s->io_conns, (s->n_io_conns + 1) * sizeof *v);
    if (!v) {
        pthread_mutex_unlock(&s->io_lock);
        store_conn_close(c);
        siyu_err_set(e, SIYU_INTERNAL, NULL, "out of memory");
        return NULL;
    }
    s->io_conns = v;
    s->io_conns[s->n_io_conns++] = c;
    pthread_mutex_unlock(&s->io_lock);
    return tl_io_conn = c;
}

/* The request's store connection: its loan, or a new loan from the pool (on an I/O
 * thread of HTTP_EVENT, that thread's own). */
static store_conn *request_conn(http_server *s, req_ctx *rc, siyu_err *e)
{
    store_conn *c = rc->conn;
    if (!c && s->mode == HTTP_EVENT && !tl_worker) {
        if (!(c = io_conn(s, e))) return NULL;
        rc->conn = c;
        rc->conn_io = true;
    }
    if (!c) {
        pthread_mutex_lock(&s->pool_lock);
        if (!s->pool_n_idle && s->pool_open >= (size_t)s->cfg.threads)
            atomic_fetch_add(&s->pool_waits, 1);
        s->pool_waiting++;
        while (!s->pool_n_idle && s->pool_open >= (size_t)s->cfg.threads)
            pthread_cond_wait(&s->pool_freed, &s->pool_lock);
        s->pool_waiting--;
        if (s->pool_n_idle) {
            c = s->pool_idle[--s->pool_n_idle];
            pthread_mutex_unlock(&s->pool_lock);
        } else if (pool_grow(s, &c, e)) {
            return NULL;
        }
        rc->conn = c;
    }
    store_conn_clear(c); /* a request starts with no store error */
    return c;
}

/* Takes the I/O thread's own connection back from rc: it stays with the thread. */
static void io_conn_detach(req_ctx *rc)
{
    if (!rc->conn_io) return;
    if (rc->r.d.conn == rc->conn) rc->r.d.conn = NULL;
    rc->conn = NULL;
    rc->conn_io = false;
}

/* HTTP_EVENT, on an I/O thread: lends rc a store connection only if one is free now. An
 * I/O thread never waits for one: the connections come back when the I/O threads answer
 * the requests holding them, so a wait there could wait for itself. */
static bool request_conn_try(http_server *s, req_ctx *rc)
{
    io_conn_detach(rc);
    if (rc->conn) return true;
    pthread_mutex_lock(&s->pool_lock);
    /* workers waiting for a connection come first: only one idle beyond theirs is taken */
    if (s->pool_n_idle > (size_t)s->pool_waiting) {
        rc->conn = s->pool_idle[--s->pool_n_idle];
        pthread_mutex_unlock(&s->pool_lock);
        return true;
    }
    if (s->pool_n_idle || s->pool_open >= (size_t)s->cfg.threads) {
        pthread_mutex_unlock(&s->pool_lock); /* the worker it goes to counts its wait */
        return false;
    }
    siyu_err e;
    siyu_err_init(&e);
    pool_grow(s, &rc->conn, &e);
    siyu_err_clear(&e);
    return true; /* a failed open: request_conn, in the prologue, opens or reports */
}

static void request_conn_return(http_server *s, req_ctx *rc)
{
    io_conn_detach(rc); /* the I/O thread's own: not the pool's to take back */
    if (!rc->conn) return;
    if (rc->r.d.conn == rc->conn) rc->r.d.conn = NULL;
    pthread_mutex_lock(&s->pool_lock);
    s->pool_idle[s->pool_n_idle++] = rc->conn;
    pthread_cond_signal(&s->pool_freed);
    pthread_mutex_unlock(&s->pool_lock);
    rc->conn = NULL;
}

/* Sends text with its type and the extra headers (name, value pairs; NULL ends them). */
static enum MHD_Result send_text(struct MHD_Connection *mc, int status, char *text, size_t len,
                                 const char *type, const char *request_id, const char *const *extra)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (type) MHD_add_response_header(resp, "Content-Type", type);
    for (size_t i = 0; extra && extra[i]; i += 2)
        MHD_add_response_header(resp, extra[i], extra[i + 1]);
    if (request_id && *request_id) MHD_add_response_header(resp, "X-Request-Id", request_id);
    if (!MHD_get_response_header(resp, "Cache-Control"))
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
    if (store_step(s) != STORE_ROW) return 0;
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
    r->replayed = true;
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
        if (rt->fn(r, e) < 0) return -1;
        return http_audit_write(r, rt, e); /* in the write's own savepoint */
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
    if (rep != 0) return rep < 0 ? -1 : http_audit_write(r, rt, e);
    if (rt->fn(r, e) < 0) return -1;
    if (r->status >= 300) return 0;
    if (http_audit_write(r, rt, e)) return -1;
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

static int http_write_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    http_write *w = arg;
    w->r->d.conn = c;
    w->r->d.changes = changes;
    return exec_write(w->r, w->rt, e);
}

/* Runs r's write on the group committer, which lends it the writer's connection; the
 * views then read the commit back through the request's own, which r has again after. */
static int queue_write(http_server *srv, http_req *r, const route *rt, siyu_err *e)
{
    store_conn *own = r->d.conn;
    http_write w = {.r = r, .rt = rt};
    int rc = writer_submit(srv->writer, http_write_fn, &w, own, e);
    r->d.changes = NULL;
    r->d.conn = own;
    return rc;
}

static int spool_open(http_server *srv, req_ctx *c, siyu_err *e);

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
    t.d.conn = r->d.conn;
    siyu_err e;
    siyu_err_init(&e);
    if (queue_write(srv, &t, &touch, &e) < 0)
        fprintf(stderr, "siyu: recording a token's use: %s\n", e.message);
    else
        auth_cache_touched(&r->d.who, r->d.now);
    siyu_err_clear(&e);
}

/* What every request goes through before its handler: the route, the body's size and
 * spool, the query's names, the clock, a store connection, the caller (checked on the
 * headers), a read's token use, the body parsed, a write's preparation. -1 (e filled):
 * refused; 1: a public route, whose handler runs with nothing else; 0: go on. */
static int prologue(http_server *srv, req_ctx *c, const route *rt, siyu_err *e)
{
    http_req *r = &c->r;
    if (!rt)
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL,
                            c->route == -2 ? "%s is not allowed on %s" : "no route %s %s",
                            r->method, r->path);
    if (c->too_large)
        return siyu_err_set(e, SIYU_PAYLOAD_TOO_LARGE, NULL, "body: larger than %zu bytes",
                            c->limit);
    if (c->spool_failed) {
        fprintf(stderr, "siyu: cannot spool an upload to %s\n", srv->spool_dir);
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "body: the upload could not be kept on disk");
    }
    if (route_check_query(r, rt, e)) return -1; /* the route's .query is the list */
    r->d.now = clock_now();
    if (!(r->d.conn = request_conn(srv, c, e))) return -1;
    if (rt->flags & ROUTE_PUBLIC) {
        /* a public route with a body (signing in) parses it, and nothing else */
        if ((rt->flags & ROUTE_BODY) &&
            !(r->body = jx_parse(c->buf ? c->buf : "", c->len, false, e)))
            return -1;
        return 1;
    }
    /* The token and the role were checked on the headers (on_headers), before any
     * byte of the body was read; the principal is reused, never resolved twice. */
    if (!r->authenticated)
        return siyu_err_set(e, SIYU_UNAUTHENTICATED, NULL, "a bearer token is required");
    if (r->d.who.touch && !(rt->flags & ROUTE_WRITE)) {
        touch_token(srv, r);
        r->d.who.touch = false;
    }
    if (rt->flags & (ROUTE_BODY | ROUTE_BODY_OPT)) {
        if (c->len == 0 && (rt->flags & ROUTE_BODY_OPT)) {
            r->body = NULL;
        } else if (!(r->body = jx_parse(c->buf ? c->buf : "", c->len, false, e))) {
            return -1;
        }
    }
    if ((rt->flags & ROUTE_RAW) && spool_open(srv, c, e)) return -1;
    if ((rt->flags & ROUTE_WRITE) && rt->prepare) rt->prepare(r);
    return 0;
}

/* A write's part after its commit: the token's use seen, the answer rendered from a
 * snapshot that holds the write, a keyed 200 marked a replay. */
static int write_after(http_req *r, const route *rt, siyu_err *e)
{
    if (r->d.who.touch) auth_cache_touched(&r->d.who, r->d.now); /* committed with it */
    if (r->render_after) {
        if (store_begin(r->d.conn, false, e)) return -1;
        if (r->render_after(r, e) < 0) {
            store_rollback(r->d.conn);
            return -1;
        }
        if (store_commit(r->d.conn, e)) return -1;
    }
    if (r->status == 200 && (rt->flags & ROUTE_KEYED)) r->replayed = true;
    return 0;
}

/* The end of every request: an error becomes the answer (a 404 or 400 built on a
 * failed read is a 500). */
static void epilogue(http_req *r, siyu_err *e)
{
    if (r->d.conn && store_conn_failed(r->d.conn)) store_conn_check(r->d.conn, e);
    if (e->code != SIYU_OK) {
        fail(r, e);
        if (e->code == SIYU_INTERNAL)
            fprintf(stderr, "siyu: %s %s: %s\n", r->method, r->path, e->message);
    }
    siyu_err_clear(e);
}

static void run(http_server *srv, req_ctx *c, struct MHD_Connection *mc)
{
    http_req *r = &c->r;
    siyu_err e;
    siyu_err_init(&e);
    const route *rt = c->route >= 0 ? &routes[c->route] : NULL;
    bool tx = false;
    (void)mc;

    int pro = prologue(srv, c, rt, &e);
    if (pro < 0) goto out;
    if (pro == 1) goto call;
    if (rt->flags & ROUTE_WRITE) {
        /* the scope rule runs on the writer, inside the write's own savepoint */
        if (queue_write(srv, r, rt, &e) < 0) goto out;
        write_after(r, rt, &e);
        goto out;
    }
    /* an answer kept in memory, when it still holds and the caller may see it */
    if (rt->kept && rt->kept(r) > 0) {
        http_audit_read(r, rt);
        goto out;
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
    if (rt->fn(r, &e) < 0) goto out;
    if (!r->paged && route_is_list(rt) && http_page_answer(r, &e)) goto out;
    if (!(rt->flags & ROUTE_PUBLIC) && (!r->status || r->status < 300))
        http_audit_read(r, rt);          /* queued: the jobs write it through the committer */
    if (store_conn_check(r->d.conn, &e)) /* a failed read is a 5xx, never a wrong answer */
        goto out;
    if (tx) {
        tx = false;
        if (store_commit(r->d.conn, &e)) goto out;
    }
out:
    if (tx) store_rollback(r->d.conn);
    epilogue(r, &e);
}

/* ---------------- HTTP_EVENT: writes without a waiting thread ---------------- */

static void write_done(void *ctx)
{
    req_ctx *c = ctx;
    http_server *s = c->r.server; /* read first: c may be answered and freed once resumed */
    MHD_resume_connection(c->mc);
    atomic_fetch_sub(&s->resumers, 1); /* last */
}

/* Counts c as suspended, unless the server is stopping: then false, and c runs whole on
 * its I/O thread. */
static bool suspend_counted(http_server *s, req_ctx *c)
{
    atomic_fetch_add(&s->suspended, 1); /* before the check: the stop sees one or the other */
    if (atomic_load(&s->stopping)) {
        atomic_fetch_sub(&s->suspended, 1);
        return false;
    }
    c->counted = true;
    return true;
}

static void suspend_uncount(http_server *s, req_ctx *c)
{
    if (!c->counted) return;
    c->counted = false;
    atomic_fetch_sub(&s->suspended, 1);
}

/* A write's request on an I/O thread: the prologue, then its write queued for the group
 * committer and its connection suspended. True when suspended (write_end runs on resume),
 * false when refused before (the answer is ready). */
static bool write_start(http_server *srv, req_ctx *c, struct MHD_Connection *mc)
{
    http_req *r = &c->r;
    const route *rt = &routes[c->route];
    siyu_err_init(&c->werr);
    if (prologue(srv, c, rt, &c->werr) != 0) {
        epilogue(r, &c->werr);
        return false;
    }
    c->write = (http_write){.r = r, .rt = rt};
    c->own = r->d.conn;
    c->mc = mc;
    c->writing = true;
    /* suspended first: the commit may resume it before writer_submit_async returns */
    MHD_suspend_connection(mc);
    atomic_fetch_add(&srv->resumers, 1);
    c->job =
        writer_submit_async(srv->writer, http_write_fn, &c->write, true, write_done, c, &c->werr);
    if (!c->job) {
        atomic_fetch_sub(&srv->resumers, 1);
        c->writing = false;
        r->d.conn = c->own;
        epilogue(r, &c->werr);
        c->ran = true;             /* nothing more to run: the error is the answer */
        MHD_resume_connection(mc); /* answered on resume */
    }
    return true;
}

/* The write committed (or was undone): the views follow it on the request's connection,
 * then the rest of the request. */
static int write_finish(http_server *srv, req_ctx *c)
{
    c->writing = false;
    int rc = writer_finish(srv->writer, c->job, c->own);
    c->job = NULL;
    c->r.d.changes = NULL;
    c->r.d.conn = c->own;
    return rc;
}

static void write_end(http_server *srv, req_ctx *c)
{
    if (write_finish(srv, c) == 0) write_after(&c->r, &routes[c->route], &c->werr);
    epilogue(&c->r, &c->werr);
}

/* ---------------- connections: the per-client limit and the timeouts ---------------- */

/* The client's address as a 16-byte key (IPv4 mapped into IPv6). */
static void client_key(const struct sockaddr *sa, unsigned char key[16])
{
    memset(key, 0, 16);
    if (sa && sa->sa_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa && sa->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    }
}

static size_t key_hash(const unsigned char *key)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    return (size_t)h;
}

/* Drops the addresses that hold no connection (ct_lock held). Live addresses are at
 * most the connections, so the table stays at most half full of them. */
static void ct_rebuild(http_server *s)
{
    client_slot *old = s->ct;
    s->ct = calloc(s->ct_cap, sizeof *s->ct);
    s->ct_used = 0;
    for (size_t i = 0; i < s->ct_cap; i++) {
        if (!old[i].used || !old[i].count) continue;
        size_t h = key_hash(old[i].key) & (s->ct_cap - 1);
        while (s->ct[h].used)
            h = (h + 1) & (s->ct_cap - 1);
        s->ct[h] = old[i];
        s->ct_used++;
    }
    free(old);
}

/* The slot of an address (ct_lock held); NULL when absent and !insert. */
static client_slot *ct_slot(http_server *s, const unsigned char *key, bool insert)
{
    if (insert && s->ct_used * 4 >= s->ct_cap * 3) ct_rebuild(s);
    size_t mask = s->ct_cap - 1, h = key_hash(key) & mask;
    for (size_t i = 0; i < s->ct_cap; i++, h = (h + 1) & mask) {
        client_slot *sl = &s->ct[h];
        if (!sl->used) {
            if (!insert) return NULL;
            memcpy(sl->key, key, 16);
            sl->used = true;
            sl->count = 0;
            s->ct_used++;
            return sl;
        }
        if (memcmp(sl->key, key, 16) == 0) return sl;
    }
    return NULL; /* cannot happen: the rebuild keeps a quarter of the table free */
}

/* Before MHD takes a connection: refuse a client that already holds its share. The
 * count itself moves when the connection starts and closes (on_connection), which
 * MHD pairs exactly; two accepts racing past this check are caught there. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    http_server *s = cls;
    (void)len;
    if (!s->cfg.max_conn_per_client) return MHD_YES;
    unsigned char key[16];
    client_key(addr, key);
    pthread_mutex_lock(&s->ct_lock);
    client_slot *sl = ct_slot(s, key, false);
    bool full = sl && sl->count >= s->cfg.max_conn_per_client;
    pthread_mutex_unlock(&s->ct_lock);
    if (full) {
        atomic_fetch_add(&s->refused_per_client, 1);
        return MHD_NO;
    }
    return MHD_YES;
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_info *ci = calloc(1, sizeof *ci);
        const union MHD_ConnectionInfo *ai =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        client_key(ai ? ai->client_addr : NULL, ci->key);
        ci->since_ns = clock_mono_ns();
        if (s->cfg.send_buffer) {
            const union MHD_ConnectionInfo *fd =
                MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
            int bytes = (int)s->cfg.send_buffer;
            if (fd) setsockopt(fd->connect_fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
        }
        *socket_context = ci;
        atomic_fetch_add(&s->conns_open, 1);
        pthread_mutex_lock(&s->ct_lock);
        client_slot *sl = ct_slot(s, ci->key, true);
        if (sl && ++sl->count > s->cfg.max_conn_per_client && s->cfg.max_conn_per_client)
            ci->over = true;
        pthread_mutex_unlock(&s->ct_lock);
        if (ci->over) {
            /* accepted in a race past on_accept: end it now (MHD sees the socket close
             * and closes the connection, which gives the count back) */
            atomic_fetch_add(&s->refused_per_client, 1);
            const union MHD_ConnectionInfo *fi =
                MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
            if (fi) shutdown(fi->connect_fd, SHUT_RDWR);
        }
        return;
    }
    conn_info *ci = *socket_context;
    if (!ci) return;
    atomic_fetch_sub(&s->conns_open, 1);
    pthread_mutex_lock(&s->ct_lock);
    client_slot *sl = ct_slot(s, ci->key, false);
    if (sl && sl->count) sl->count--;
    pthread_mutex_unlock(&s->ct_lock);
    /* MHD does not say why it closed; a connection silent for its whole timeout was
     * closed by it (the client's own close comes sooner: the server's comes first) */
    if (!ci->in_request && !ci->over) {
        unsigned t = ci->served ? s->cfg.idle_timeout : s->cfg.request_timeout;
        if (t && clock_mono_ns() - ci->since_ns + 250000000ull >= (uint64_t)t * 1000000000ull)
            atomic_fetch_add(ci->served ? &s->timed_out_idle : &s->timed_out_request, 1);
    }
    free(ci);
    *socket_context = NULL;
}

/* for metrics.c: open connections, refused by the per-client limit, timed out while a
 * request was incomplete, timed out idle between requests; store connections opened for
 * requests, requests that waited for one */
void http_server_conn_stats(void *srv, unsigned long long out[6]);
void http_server_conn_stats(void *srv, unsigned long long out[6])
{
    http_server *s = srv;
    out[0] = atomic_load(&s->conns_open);
    out[1] = atomic_load(&s->refused_per_client);
    out[2] = atomic_load(&s->timed_out_request);
    out[3] = atomic_load(&s->timed_out_idle);
    pthread_mutex_lock(&s->pool_lock);
    out[4] = s->pool_open;
    pthread_mutex_unlock(&s->pool_lock);
    out[5] = atomic_load(&s->pool_waits);
}

int http_server_in_flight(void *srv);
int http_server_in_flight(void *srv)
{
    return atomic_load(&((http_server *)srv)->in_flight);
}

/* ---------------- the body: bounded buffers and the import spool ---------------- */

/* Why a spool file and not a pipe into the importer: the importer holds the store's
 * write lock while it runs, so feeding it while the upload arrives would let a slow
 * client hold every writer back for as long as it takes to send; a body that turns
 * out too large (413) would already be half imported; and a worker thread would block
 * inside MHD's read callback. Spooled, the upload costs a file descriptor and disk,
 * memory stays MHD's read buffer (tens of KiB) whatever the upload size, the size cap
 * is checked before anything is written, and the import then runs at disk speed. The
 * file is unlinked at once, so nothing is left behind by a crash. */
static int spool_write(http_server *srv, req_ctx *c, const char *data, size_t n)
{
    if (c->spool_fd < 0) {
        char path[600];
        snprintf(path, sizeof path, "%s/.siyu-upload-XXXXXX", srv->spool_dir);
        c->spool_fd = mkostemp(path, O_CLOEXEC);
        if (c->spool_fd < 0) return -1;
        unlink(path);
    }
    while (n) {
        ssize_t w = write(c->spool_fd, data, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Hands the spooled body to the handler: a stream at its start, and a read-only map
 * for handlers that take bytes (file pages, not the heap). */
static int spool_open(http_server *srv, req_ctx *c, siyu_err *e)
{
    http_req *r = &c->r;
    int fd;
    if (spool_write(srv, c, "", 0) || (fd = dup(c->spool_fd)) < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
        !(c->spool_in = fdopen(fd, "r")))
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "body: cannot read the spooled upload");
    r->raw_file = c->spool_in;
    r->raw = "";
    r->raw_len = c->len;
    if (c->len) {
        void *m = mmap(NULL, c->len, PROT_READ, MAP_PRIVATE, c->spool_fd, 0);
        if (m == MAP_FAILED)
            return siyu_err_set(e, SIYU_INTERNAL, NULL, "body: cannot map the spooled upload");
        c->spool_map = m;
        r->raw = m;
    }
    return 0;
}

/* The body cap of a route: imports take their own (spooled), POST /orders grows with the
 * order line cap, everything else the server's. */
static size_t body_limit(http_server *srv, int route_index)
{
    if (route_index < 0) return srv->cfg.max_body;
    const route *rt = &routes[route_index];
    if (rt->flags & ROUTE_RAW) return srv->cfg.max_import_body;
    if (rt->flags & ROUTE_LINES) {
        size_t o = orders_max_body();
        return o > srv->cfg.max_body ? o : srv->cfg.max_body;
    }
    return srv->cfg.max_body;
}

/* What can be decided on the headers is decided there, before a byte of the body is
 * read: an unknown route (404), a declared body over the cap (413), a missing or
 * unknown token (401) and a role the route does not allow (403). The principal stays
 * on the request (r->authenticated) for run(). */
static int on_headers(http_server *srv, req_ctx *c, struct MHD_Connection *mc, siyu_err *e)
{
    http_req *r = &c->r;
    if (c->route == -2 && strcmp(r->method, "OPTIONS") == 0) {
        r->status = 204; /* the path's methods, in Allow; no token needed */
        return 1;
    }
    if (c->route < 0)
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL,
                            c->route == -2 ? "%s is not allowed on %s" : "no route %s %s",
                            r->method, r->path);
    const route *rt = &routes[c->route];
    if (c->too_large)
        return siyu_err_set(e, SIYU_PAYLOAD_TOO_LARGE, NULL, "body: larger than %zu bytes",
                            c->limit);
    if (rt->flags & ROUTE_PUBLIC) return 0;
    if (!(r->d.conn = request_conn(srv, c, e))) return -1;
    const char *auth = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Authorization");
    const char *cookie = MHD_lookup_connection_value(mc, MHD_COOKIE_KIND, AUTH_SESSION_COOKIE);
    int arc;
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
        arc = srv->auth_cache ? auth_resolve_cached(r->d.conn, auth + 7, clock_now(), &r->d.who, e)
                              : auth_resolve_at(r->d.conn, auth + 7, clock_now(), &r->d.who, e);
    } else if (!auth && cookie && *cookie) {
        /* the console's session: every call but a read must carry its CSRF token, so a
         * cookie alone (sent by a browser on another site's behalf, or stolen) writes
         * nothing */
        bool read = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
        const char *csrf = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, AUTH_CSRF_HEADER);
        arc = auth_session_resolve(r->d.conn, cookie, !read, csrf, clock_now(), &r->d.who, e);
    } else {
        return siyu_err_set(e, SIYU_UNAUTHENTICATED, NULL, "a bearer token is required");
    }
    if (store_conn_check(r->d.conn, e)) return -1; /* a failed read is not a bad token */
    if (arc) return -1;
    if (!(rt->roles & r->d.who.role))
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, NULL, "role %s may not call %s %s",
                            role_name(r->d.who.role), rt->method, rt->pattern);
    r->authenticated = true;
    return 0;
}

/* The created resource of a 201 whose answer has an id: the request's path and the id,
 * when a GET route answers that path (POST /api/v1/members -> /api/v1/members/42). */
static bool created_location(const http_req *r, char *out, size_t len)
{
    json_t *id = json_is_object(r->resp) ? json_object_get(r->resp, "id") : NULL;
    if (!json_is_integer(id) || json_integer_value(id) <= 0) return false;
    size_t n = strlen(r->path);
    while (n > 1 && r->path[n - 1] == '/')
        n--;
    int w = snprintf(out, len, "%.*s/%lld", (int)n, r->path, (long long)json_integer_value(id));
    if (w < 0 || (size_t)w >= len) return false;
    http_req probe;
    memset(&probe, 0, sizeof probe);
    return router_match("GET", out, &probe) >= 0;
}

/* ---------------- CORS and gzip ---------------- */

/* The request's Origin when --cors-origins allows it, else NULL. */
static const char *cors_origin(http_server *srv, struct MHD_Connection *mc)
{
    if (!srv->cors_on) return NULL;
    const char *o = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Origin");
    if (!o || !*o) return NULL;
    if (srv->cors_any) return o;
    for (size_t i = 0; i < srv->n_cors; i++)
        if (strcasecmp(srv->cors[i], o) == 0) return o;
    return NULL;
}

/* The headers a browser needs to read an answer from an allowed origin, and on a preflight
 * (OPTIONS with Access-Control-Request-Method) which methods and headers it may send.
 * Callers authenticate with a bearer token they set themselves, never with cookies, so
 * Access-Control-Allow-Credentials is never sent; "*" is answered as "*". */
static size_t cors_headers(http_server *srv, req_ctx *c, struct MHD_Connection *mc,
                           const char **extra, size_t nx)
{
    const char *o = cors_origin(srv, mc);
    if (!o) return nx;
    extra[nx++] = "Access-Control-Allow-Origin";
    extra[nx++] = srv->cors_any ? "*" : o;
    const char *want =
        MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Access-Control-Request-Method");
    if (strcmp(c->r.method, "OPTIONS") == 0 && c->r.status == 204 && want) {
        extra[nx++] = "Access-Control-Allow-Methods";
        extra[nx++] = c->allow;
        extra[nx++] = "Access-Control-Allow-Headers";
        extra[nx++] = "Authorization, Content-Type, Idempotency-Key, X-Request-Id";
        extra[nx++] = "Access-Control-Max-Age";
        extra[nx++] = "600";
    } else {
        extra[nx++] = "Access-Control-Expose-Headers";
        extra[nx++] = "X-Request-Id, Location, Idempotency-Replayed, WWW-Authenticate, Allow";
    }
    return nx;
}

/* Whether Accept-Encoding takes gzip: "gzip", "x-gzip" or "*", with no q=0. */
static bool accepts_gzip(struct MHD_Connection *mc)
{
    const char *h = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Accept-Encoding");
    while (h && *h) {
        while (*h == ' ' || *h == ',' || *h == '\t')
            h++;
        size_t n = strcspn(h, ",; \t");
        bool named = (n == 4 && strncasecmp(h, "gzip", 4) == 0) ||
                     (n == 6 && strncasecmp(h, "x-gzip", 6) == 0) || (n == 1 && *h == '*');
        const char *end = h + strcspn(h, ",");
        double q = 1;
        const char *qp = strstr(h, "q=");
        if (qp && qp < end) q = strtod(qp + 2, NULL);
        if (named) return q > 0;
        h = end;
    }
    return false;
}

/* text (len bytes) as a gzip member, or NULL (then the answer goes as it is). */
static char *gzip_text(const char *text, size_t len, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* level 5: most of level 9's ratio on JSON at a fraction of its time; 16 + 15: gzip */
    if (deflateInit2(&z, 5, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&z, (uLong)len);
    char *out = malloc(cap);
    z.next_in = (Bytef *)text;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* Renders r's answer, queues it, logs and counts it. */
static enum MHD_Result answer(http_server *srv, req_ctx *c, struct MHD_Connection *mc,
                              const char *url, const char *method)
{
    http_req *r = &c->r;
    char *text;
    const char *type;
    const char *extra[32];
    size_t nx = 0;
    char location[200], vary[40] = "";
    if (c->allow[0] && (r->status == 405 || r->status == 204)) {
        extra[nx++] = "Allow";
        extra[nx++] = c->allow;
    }
    if (r->status == 401) {
        extra[nx++] = "WWW-Authenticate";
        extra[nx++] = "Bearer";
    }
    if (r->cache_control && r->status == 200) {
        extra[nx++] = "Cache-Control";
        extra[nx++] = r->cache_control;
        extra[nx++] = "X-Content-Type-Options";
        extra[nx++] = "nosniff";
    }
    if (r->page_headers && r->status == 200) {
        /* the console runs only its own files; no page may frame it */
        extra[nx++] = "Content-Security-Policy";
        extra[nx++] = "default-src 'self'; img-src 'self' data:; style-src 'self' "
                      "'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action "
                      "'self'";
    }
    if (r->set_cookie[0]) {
        extra[nx++] = "Set-Cookie";
        extra[nx++] = r->set_cookie;
    }
    if (r->replayed) {
        extra[nx++] = "Idempotency-Replayed";
        extra[nx++] = "true";
    }
    char retry[24];
    if (r->status == 503 && json_is_object(r->resp) && /* a full group code (src/community) */
        json_is_integer(json_object_get(r->resp, "retry_after_seconds"))) {
        snprintf(retry, sizeof retry, "%lld",
                 (long long)json_integer_value(json_object_get(r->resp, "retry_after_seconds")));
        extra[nx++] = "Retry-After";
        extra[nx++] = retry;
    }
    if (r->status == 201 && created_location(r, location, sizeof location)) {
        extra[nx++] = "Location";
        extra[nx++] = location;
    }
    nx = cors_headers(srv, c, mc, extra, nx);
    if (srv->cors_on) snprintf(vary, sizeof vary, "Origin");
    if (r->status == 204) {
        text = strdup("");
        type = NULL;
    } else if (r->text && r->status < 400) {
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
    if (srv->cfg.gzip_min_bytes && r->status != 204) {
        /* whether an answer is gzipped depends on Accept-Encoding: caches must know */
        snprintf(vary + strlen(vary), sizeof vary - strlen(vary), "%sAccept-Encoding",
                 *vary ? ", " : "");
        size_t zlen;
        char *z;
        if (bytes >= srv->cfg.gzip_min_bytes && accepts_gzip(mc) &&
            (z = gzip_text(text, bytes, &zlen))) {
            free(text);
            text = z;
            bytes = zlen;
            extra[nx++] = "Content-Encoding";
            extra[nx++] = "gzip";
        }
    }
    if (*vary) {
        extra[nx++] = "Vary";
        extra[nx++] = vary;
    }
    extra[nx] = NULL;
    enum MHD_Result rc =
        send_text(mc, r->status ? r->status : 500, text, bytes, type, r->request_id, extra);
    uint64_t ns = clock_mono_ns() - c->t0;
    metrics_record(c->route, r->status, ns);
    if (srv->cfg.access_log) {
        /* the caller: its role, staff member and token (ids only, never the secret) */
        char when[40], who[96] = "-";
        time_format_rfc3339(clock_now(), when, sizeof when);
        if (r->authenticated)
            snprintf(who, sizeof who, "%s:staff=%lld:token=%lld", role_name(r->d.who.role),
                     (long long)r->d.who.staff_id, (long long)r->d.who.token_id);
        fprintf(srv->cfg.access_log, "%s %s %s %d %zuB %.3fms %s %s\n", when, method, url,
                r->status, bytes, (double)ns / 1e6, r->request_id, who);
    }
    /* The answer is whole in memory: its store connection goes back now, not once the client
     * has read it all. A few clients reading large answers slowly would otherwise hold the
     * pool, every write behind them would wait, and so would a stop. */
    request_conn_return(srv, c);
    return rc;
}

/* A known path called with a method it does not have: 405, its methods in Allow. */
static void method_not_allowed(http_req *r)
{
    r->status = 405;
    json_t *inner = json_object_get(r->resp, "error");
    if (inner) json_object_set_new(inner, "code", json_string("method_not_allowed"));
}

static uint32_t request_id_prefix;
static void request_id_seed(void)
{
    randombytes_buf(&request_id_prefix, sizeof request_id_prefix);
}

/* The caller's X-Request-Id when it is 1 to 64 printable characters, else a new one. */
static void request_id(struct MHD_Connection *mc, char *out, size_t len)
{
    const char *h = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "X-Request-Id");
    size_t n = h ? strlen(h) : 0;
    bool ok = n > 0 && n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = h[i] > 32 && h[i] < 127;
    if (ok) {
        snprintf(out, len, "%s", h);
        return;
    }
    /* a random prefix drawn once and a counter: unique within the process and, with 32
     * random bits, across restarts; a syscall per request for 12 fresh bytes bought nothing */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    static atomic_ullong counter;
    pthread_once(&once, request_id_seed);
    uint64_t seq = atomic_fetch_add(&counter, 1);
    unsigned char b[12];
    uint32_t pre = request_id_prefix;
    memcpy(b, &pre, 4);
    for (int i = 0; i < 8; i++)
        b[4 + i] = (unsigned char)(seq >> (56 - 8 * i));
    static const char hex[] = "0123456789abcdef";
    if (len < 4 + 2 * sizeof b + 1) {
        snprintf(out, len, "req");
        return;
    }
    memcpy(out, "req_", 4);
    for (size_t i = 0; i < sizeof b; i++) {
        out[4 + 2 * i] = hex[b[i] >> 4];
        out[5 + 2 * i] = hex[b[i] & 15];
    }
    out[4 + 2 * sizeof b] = 0;
}

/* ---------------- HTTP_EVENT: the workers ---------------- */

/* Whether a request runs anywhere but whole on its I/O thread: not when refused already. */
static bool runs_elsewhere(const req_ctx *c)
{
    return !c->refused && c->route >= 0 && !c->too_large && !c->spool_failed;
}

/* Whether a request is a write queued for the group committer from its I/O thread
 * (write_start): a plain write, nothing the prologue might wait for. */
static bool write_from_io(const req_ctx *c)
{
    const unsigned others = ROUTE_PUBLIC | ROUTE_RAW | ROUTE_OWN_TX | ROUTE_LONG;
    return runs_elsewhere(c) && (routes[c->route].flags & (ROUTE_WRITE | others)) == ROUTE_WRITE;
}

/* Whether the request names one of the route's long_with parameters (a scan). */
static bool long_with(const route *rt, struct MHD_Connection *mc)
{
    if (!rt->long_with) return false;
    route_param ps[4];
    char err[120];
    int n = route_query_parse(rt->long_with, ps, 4, err, sizeof err);
    for (int i = 0; i < n; i++)
        if (MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, ps[i].name)) return true;
    return false;
}

/* Whether a request may wait (http.h, HTTP_EVENT): then a worker runs it while its
 * connection is suspended, and the I/O thread goes on serving the others. */
static bool may_wait(const req_ctx *c, struct MHD_Connection *mc)
{
    if (!runs_elsewhere(c)) return false;
    const route *rt = &routes[c->route];
    if (rt->flags & (ROUTE_WRITE | ROUTE_RAW | ROUTE_OWN_TX | ROUTE_LONG)) return true;
    if (long_with(rt, mc)) return true;
    if (c->r.d.who.touch) return true; /* the token's use goes through the group commit */
    /* any other method (signing in: a password hash and a write) */
    return strcmp(c->r.method, "GET") != 0 && strcmp(c->r.method, "HEAD") != 0 &&
           strcmp(c->r.method, "OPTIONS") != 0;
}

static void *work_main(void *arg)
{
    http_server *s = arg;
    pthread_setname_np(pthread_self(), "siyu-http-work");
    tl_worker = true;
    pthread_mutex_lock(&s->work_lock);
    for (;;) {
        while (!s->work_head && !s->work_stop)
            pthread_cond_wait(&s->work_ready, &s->work_lock);
        req_ctx *c = s->work_head;
        if (!c) break; /* stopping, and nothing is left to run */
        s->work_head = c->next_work;
        if (!s->work_head) s->work_tail = NULL;
        pthread_mutex_unlock(&s->work_lock);
        run(s, c, c->mc);
        c->ran = true; /* read by the I/O thread once resumed (MHD's lock orders it) */
        MHD_resume_connection(c->mc);
        pthread_mutex_lock(&s->work_lock);
    }
    pthread_mutex_unlock(&s->work_lock);
    return NULL;
}

/* Suspends c's connection and queues c for a worker. */
static void dispatch(http_server *s, req_ctx *c, struct MHD_Connection *mc)
{
    atomic_fetch_add(&s->to_workers, 1);
    c->mc = mc;
    MHD_suspend_connection(mc);
    pthread_mutex_lock(&s->work_lock);
    c->next_work = NULL;
    if (s->work_tail)
        s->work_tail->next_work = c;
    else
        s->work_head = c;
    s->work_tail = c;
    pthread_cond_signal(&s->work_ready);
    pthread_mutex_unlock(&s->work_lock);
}

static int workers_start(http_server *s)
{
    pthread_mutex_init(&s->work_lock, NULL);
    pthread_cond_init(&s->work_ready, NULL);
    s->workers = calloc((size_t)s->cfg.threads, sizeof *s->workers);
    for (int i = 0; i < s->cfg.threads; i++) {
        if (pthread_create(&s->workers[i], NULL, work_main, s)) break;
        s->n_workers++;
    }
    return s->n_workers > 0 ? 0 : -1;
}

/* Lets the workers run what is queued, then joins them. */
static void workers_stop(http_server *s)
{
    if (!s->workers) return;
    pthread_mutex_lock(&s->work_lock);
    s->work_stop = true;
    pthread_cond_broadcast(&s->work_ready);
    pthread_mutex_unlock(&s->work_lock);
    for (int i = 0; i < s->n_workers; i++)
        pthread_join(s->workers[i], NULL);
    free(s->workers);
    s->workers = NULL;
    pthread_mutex_destroy(&s->work_lock);
    pthread_cond_destroy(&s->work_ready);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    http_server *srv = cls;
    req_ctx *c = *con_cls;
    (void)version;
    if (!c) {
        c = calloc(1, sizeof *c);
        c->spool_fd = -1;
        c->t0 = clock_mono_ns();
        c->r.method = method;
        c->r.path = url;
        c->r.conn = mc;
        c->r.server = srv;
        const union MHD_ConnectionInfo *si =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        c->ci = si ? si->socket_context : NULL;
        if (c->ci && c->ci->over) { /* past the per-client limit: already being closed */
            free(c);
            return MHD_NO;
        }
        if (c->ci) c->ci->in_request = true;
        request_id(mc, c->r.request_id, sizeof c->r.request_id);
        c->route = router_match(method, url, &c->r);
        if (c->route < 0 && strcmp(method, "HEAD") == 0) {
            /* HEAD is the GET of the same path: same status and headers (MHD leaves the
             * body out of the answer) */
            int get = router_match("GET", url, &c->r);
            if (get >= 0) {
                c->route = get;
                c->r.method = "GET";
            }
        }
        if (c->route == -2) router_allow(url, c->allow, sizeof c->allow);
        c->limit = body_limit(srv, c->route);
        const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Length");
        unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
        c->declared = declared;
        if (declared > c->limit) c->too_large = true;
        MHD_set_connection_option(mc, MHD_CONNECTION_OPTION_TIMEOUT, srv->cfg.request_timeout);
        atomic_fetch_add(&srv->in_flight, 1);
        *con_cls = c;
        siyu_err e;
        siyu_err_init(&e);
        int hr = on_headers(srv, c, mc, &e);
        if (hr) {
            if (hr < 0) fail(&c->r, &e);
            if (hr < 0 && c->route == -2) method_not_allowed(&c->r);
            siyu_err_clear(&e);
            c->refused = true;
            /* A small declared body is read and dropped, so the connection stays open
             * for the client's next request; anything larger (or of unknown size) is
             * answered now and never read: MHD then closes the connection, since an
             * unread body cannot be skipped. */
            bool chunked =
                MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Transfer-Encoding") != NULL;
            if (chunked || declared > REFUSED_BODY_READ) {
                c->sent = true;
                return answer(srv, c, mc, url, method);
            }
        }
        return MHD_YES;
    }
    if (c->sent) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        /* the whole body must arrive in time: request_timeout for up to a MiB and one more
         * for every further MiB, declared or sent (a floor of ~100 KiB/s on big uploads);
         * MHD's own timeout closes a connection silent that long */
        uint64_t size = c->declared > c->len + *upload_size ? c->declared : c->len + *upload_size;
        uint64_t per = (uint64_t)srv->cfg.request_timeout * 1000000000ull;
        if (srv->cfg.request_timeout && clock_mono_ns() - c->t0 > per * (1 + size / (1u << 20))) {
            atomic_fetch_add(&srv->timed_out_request, 1);
            return MHD_NO; /* the body is too slow: close the connection */
        }
        /* keep reading (and dropping) an oversize body so the 413 reaches the client */
        if (!c->too_large && c->len + *upload_size > c->limit) c->too_large = true;
        if (c->refused || c->too_large || c->spool_failed) {
            /* dropped */
        } else if (c->route >= 0 && (routes[c->route].flags & ROUTE_RAW)) {
            if (spool_write(srv, c, upload, *upload_size))
                c->spool_failed = true;
            else
                c->len += *upload_size;
        } else {
            if (c->len + *upload_size + 1 > c->cap) {
                c->cap = (c->len + *upload_size + 1) * 2;
                if (c->cap > c->limit + 1) c->cap = c->limit + 1;
                c->buf = realloc(c->buf, c->cap);
            }
            memcpy(c->buf + c->len, upload, *upload_size);
            c->len += *upload_size;
            c->buf[c->len] = 0;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (c->ran) {
        /* resumed: a worker ran it */
    } else if (c->writing) {
        write_end(srv, c); /* resumed: its write is done */
        c->ran = true;
    } else if (srv->mode == HTTP_EVENT && write_from_io(c) && suspend_counted(srv, c)) {
        /* a write: queued for the group commit from here, on a connection of the pool's
         * (it holds it until answered); with none free, a worker waits for one */
        if (!request_conn_try(srv, c)) {
            dispatch(srv, c, mc);
            return MHD_YES;
        }
        if (write_start(srv, c, mc)) return MHD_YES;
        suspend_uncount(srv, c); /* refused before it was queued */
        c->ran = true;
    } else if (srv->mode == HTTP_EVENT && may_wait(c, mc) && suspend_counted(srv, c)) {
        /* the I/O thread keeps its own connection; the worker takes one of the pool's (a
         * connection taken here would wait in the queue, and with every worker waiting for
         * one, the pool could end up held by requests no worker is free to run) */
        io_conn_detach(c);
        dispatch(srv, c, mc);
        return MHD_YES;
    } else if (!c->refused) {
        /* stopping, what would have waited elsewhere runs here: not a route's mistake */
        c->r.on_io_thread = srv->mode == HTTP_EVENT && !atomic_load(&srv->stopping);
        run(srv, c, mc);
        c->r.on_io_thread = false;
    }
    suspend_uncount(srv, c); /* resumed, and answered now */
    /* the request is whole: the connection may now idle until the next one */
    MHD_set_connection_option(mc, MHD_CONNECTION_OPTION_TIMEOUT, srv->cfg.idle_timeout);
    return answer(srv, c, mc, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_server *srv = cls;
    req_ctx *c = *con_cls;
    (void)mc;
    if (!c) return;
    if (c->ci) {
        c->ci->in_request = false;
        c->ci->since_ns = clock_mono_ns();
        if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
            c->ci->served = true;
        else if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED)
            atomic_fetch_add(&srv->timed_out_request, 1);
    }
    if (c->writing) {
        /* resumed, but closed before it was answered (the client left): the write is done,
         * and the views still follow it */
        write_finish(srv, c);
        siyu_err_clear(&c->werr);
    }
    suspend_uncount(srv, c);
    request_conn_return(srv, c);
    json_decref(c->r.body);
    orders_prepared_free(c->r.order_prep);
    json_decref(c->r.resp);
    free(c->r.text);
    free(c->r.kept_body);
    free(c->buf);
    if (c->spool_in) fclose(c->spool_in);
    if (c->spool_map) munmap(c->spool_map, c->len);
    if (c->spool_fd >= 0) close(c->spool_fd);
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
    if (strcmp(host, "localhost") == 0) snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "listen", "listen: bad IPv4 address %s",
                            host);
    return 0;
}

/* Frees the server once libmicrohttpd and the workers have stopped (or never ran). */
static void server_free(http_server *s)
{
    for (size_t i = 0; i < s->n_io_conns; i++) /* the I/O threads have ended */
        store_conn_close(s->io_conns[i]);
    free(s->io_conns);
    if (s->own_writer) writer_stop(s->writer);
    member_cache_close(s->members);
    pool_close(s);
    pthread_mutex_destroy(&s->io_lock);
    pthread_mutex_destroy(&s->ct_lock);
    free(s->ct);
    for (size_t i = 0; i < s->n_cors; i++)
        free(s->cors[i]);
    free(s->cors);
    free(s);
}

int http_server_start(store_t *st, const http_config *cfg, http_server **out, siyu_err *e)
{
    struct sockaddr_in sa;
    if (parse_listen(cfg->listen, &sa, e)) return -1;
    http_server *s = calloc(1, sizeof *s);
    s->store = st;
    s->cfg = *cfg;
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_cond_init(&s->pool_freed, NULL);
    pthread_mutex_init(&s->io_lock, NULL);
    if (s->cfg.threads < 1) s->cfg.threads = 4;
    s->pool_idle = calloc((size_t)s->cfg.threads, sizeof *s->pool_idle);
    /* http.h says what each mode does; SIYU_HTTP_MODE picks one, for comparison */
    s->mode = cfg->mode;
    const char *hm = getenv("SIYU_HTTP_MODE");
    if (hm && strcmp(hm, "event") == 0) s->mode = HTTP_EVENT;
    if (hm && strcmp(hm, "connection") == 0) s->mode = HTTP_PER_CONNECTION;
    if (hm && strcmp(hm, "pool") == 0) s->mode = HTTP_POOL;
    if (s->cfg.io_threads < 1) s->cfg.io_threads = 2;
    /* A bearer token resolved lately is checked from memory (auth.h says what keeps it
     * exact); SIYU_AUTH_CACHE=off reads the store on every request, for comparison. */
    const char *ac = getenv("SIYU_AUTH_CACHE");
    s->auth_cache = !(ac && strcmp(ac, "off") == 0);
    /* member 360s kept in memory (views/member_cache.h says when one is served again) */
    member_cache_mode mcm;
    size_t mc_bytes;
    int mc_poll;
    if (member_cache_config(&mcm, &mc_bytes, &mc_poll, e) ||
        !(s->members = member_cache_open(st, mcm, mc_bytes, mc_poll, e))) {
        pool_close(s);
        free(s);
        return -1;
    }
    s->writer = cfg->writer;
    if (!s->writer) {
        if (writer_start(st, cfg->on_commit, cfg->on_commit_ctx, &s->writer, e)) {
            member_cache_close(s->members);
            pool_close(s);
            free(s);
            return -1;
        }
        s->own_writer = true;
    }
    /* import uploads are spooled beside the store unless told otherwise: that disk is
     * sized for data, where /tmp may be a RAM disk (a database URL has no beside: the
     * temporary directory) */
    if (cfg->spool_dir && *cfg->spool_dir) {
        snprintf(s->spool_dir, sizeof s->spool_dir, "%s", cfg->spool_dir);
    } else if (strstr(store_path(st), "://")) {
        const char *tmp = getenv("TMPDIR");
        snprintf(s->spool_dir, sizeof s->spool_dir, "%s", tmp && *tmp ? tmp : "/tmp");
    } else {
        const char *db = store_path(st), *slash = db ? strrchr(db, '/') : NULL;
        if (slash && slash != db)
            snprintf(s->spool_dir, sizeof s->spool_dir, "%.*s", (int)(slash - db), db);
        else
            snprintf(s->spool_dir, sizeof s->spool_dir, "%s", slash ? "/" : ".");
    }
    if (!s->cfg.max_import_body) s->cfg.max_import_body = IMPORT_MAX_BODY;
    if (!s->cfg.max_connections) s->cfg.max_connections = 4096;
    if (!s->cfg.request_timeout) s->cfg.request_timeout = 10;
    if (!s->cfg.idle_timeout) s->cfg.idle_timeout = 120;
    pthread_mutex_init(&s->ct_lock, NULL);
    s->ct_cap = 1024;
    while (s->ct_cap < (size_t)s->cfg.max_connections * 4)
        s->ct_cap *= 2;
    s->ct = calloc(s->ct_cap, sizeof *s->ct);
    for (const char *p = cfg->cors_origins; p && *p;) { /* "a, b,c" */
        while (*p == ',' || *p == ' ')
            p++;
        size_t n = strcspn(p, ", ");
        if (!n) break;
        s->cors = realloc(s->cors, (s->n_cors + 1) * sizeof *s->cors);
        s->cors[s->n_cors++] = strndup(p, n);
        s->cors_on = true;
        if (n == 1 && *p == '*') s->cors_any = true;
        p += n;
    }
    /* ITC lets MHD_quiesce_daemon stop the listening socket. Every mode polls, none uses
     * epoll: libmicrohttpd 0.9.75 quiescing a pool of epoll threads races each thread taking
     * the listening socket out of its own epoll set, and aborts the process when it loses
     * ("Failed to remove listen FD from epoll set", seen at a SIGTERM in e2e_kill9) */
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_POLL;
    if (s->mode == HTTP_PER_CONNECTION) flags |= MHD_USE_THREAD_PER_CONNECTION;
    if (s->mode == HTTP_EVENT) flags |= MHD_ALLOW_SUSPEND_RESUME;
    struct MHD_OptionItem pool[] = {
        {MHD_OPTION_THREAD_POOL_SIZE, s->mode == HTTP_EVENT ? s->cfg.io_threads : s->cfg.threads,
         NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    if (s->mode == HTTP_EVENT && workers_start(s)) {
        workers_stop(s);
        server_free(s);
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "serve: cannot start the HTTP workers");
    }
    s->daemon = MHD_start_daemon(
        flags, 0, on_accept, s, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_ARRAY, s->mode == HTTP_PER_CONNECTION ? pool + 1 : pool,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        s,
        /* a request's headers (and body) must keep coming: request_timeout of silence
         * closes the connection; between requests it may idle idle_timeout (set per
         * connection when a request completes) */
        MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.request_timeout, MHD_OPTION_CONNECTION_LIMIT,
        s->cfg.max_connections, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (!s->daemon) {
        workers_stop(s);
        server_free(s);
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
    if (!s) return;
    /* Stop accepting, let the requests in flight finish (up to 10 s), then close. */
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    /* a request on a connection kept alive may still come: from now on it runs whole on its
     * I/O thread, never suspended */
    atomic_store(&s->stopping, true);
    for (int i = 0; i < 1000 && atomic_load(&s->in_flight) > 0; i++)
        usleep(10000);
    /* every suspended request is answered first (each is with a worker or the committer,
     * which run what is queued): libmicrohttpd must not stop with a connection suspended,
     * and nothing may resume one after */
    while (atomic_load(&s->suspended) > 0 || atomic_load(&s->resumers) > 0)
        usleep(1000);
    /* and their answers a moment to be sent (uncounted as they are queued, not sent) */
    for (int i = 0; i < 200 && atomic_load(&s->in_flight) > 0; i++)
        usleep(10000);
    workers_stop(s);
    MHD_stop_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    server_free(s);
}

/* An import's batches commit on the group committer's thread (writer_exclusive); the
 * views follow each batch on the requesting worker's connection, idle meanwhile. */
static void relay_commit(void *ctx, const dom_change *v, size_t n)
{
    http_req *r = ctx;
    http_server *srv = r->server;
    if (srv->cfg.on_commit) srv->cfg.on_commit(srv->cfg.on_commit_ctx, r->d.conn, v, n);
}

void http_import_observer(http_req *r, struct import_options *o)
{
    http_server *srv = r->server;
    if (srv->cfg.on_commit) {
        o->on_commit = relay_commit;
        o->on_commit_ctx = r;
    }
}

struct writer *http_writer(http_req *r)
{
    http_server *s = r->server;
    if (r->on_io_thread && atomic_fetch_add(&s->blocked_io, 1) == 0)
        fprintf(stderr,
                "siyu: %s %s waits for the group committer on an I/O thread: its route "
                "should be ROUTE_LONG\n",
                r->method, r->path);
    return s->writer;
}

unsigned long long http_server_blocked_io(void *srv);
unsigned long long http_server_blocked_io(void *srv)
{
    return atomic_load(&((http_server *)srv)->blocked_io);
}

unsigned long long http_server_to_workers(void *srv);
unsigned long long http_server_to_workers(void *srv)
{
    return atomic_load(&((http_server *)srv)->to_workers);
}

struct writer *http_server_writer(void *srv);
struct writer *http_server_writer(void *srv)
{
    return ((http_server *)srv)->writer;
}

struct jobs *http_jobs(http_req *r)
{
    return ((http_server *)r->server)->cfg.jobs;
}

struct jobs *http_server_jobs(void *srv);
struct jobs *http_server_jobs(void *srv)
{
    return ((http_server *)srv)->cfg.jobs;
}

struct views *http_server_views(void *srv);
struct views *http_server_views(void *srv)
{
    return ((http_server *)srv)->cfg.views;
}

struct member_cache *http_member_cache(http_req *r)
{
    return ((http_server *)r->server)->members;
}

struct member_cache *http_server_member_cache(void *srv);
struct member_cache *http_server_member_cache(void *srv)
{
    return ((http_server *)srv)->members;
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

static int audit_flush_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    (void)changes;
    (void)arg;
    return dom_audit_flush(c, e);
}

int http_audit_flush(http_req *r, siyu_err *e)
{
    http_server *srv = r->server;
    if (!srv || !srv->writer) return 0;
    return writer_submit(srv->writer, audit_flush_fn, NULL, NULL, e);
}
