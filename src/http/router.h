/* router.h — the route table and the request every handler sees.
 *
 * Routes are data: method, pattern, handler, which roles may call it and flags for
 * the generic work the router does once for all (auth, role check, body parsing,
 * the write transaction, Idempotency-Key replay). Handlers read straight down and
 * never open transactions or check tokens themselves. */
#ifndef SIYU_HTTP_ROUTER_H
#define SIYU_HTTP_ROUTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "domain/domain.h"
#include "views/member_cache.h"

enum route_flags {
    ROUTE_PUBLIC = 1 << 0,   /* no token needed */
    ROUTE_WRITE = 1 << 1,    /* runs in a write transaction; honours Idempotency-Key */
    ROUTE_BODY = 1 << 2,     /* needs a JSON object body */
    ROUTE_BODY_OPT = 1 << 3, /* takes an optional JSON object body */
    ROUTE_RAW = 1 << 4,      /* takes the body as bytes (NDJSON import) */
    ROUTE_SECRET = 1 << 5,   /* answer holds a secret: never stored for replay */
    ROUTE_HTML = 1 << 6,     /* answers text, not JSON */
    ROUTE_OWN_TX = 1 << 7,   /* reads on its own, then submits its writes to the group committer */
    ROUTE_IDEM = 1 << 8,     /* a write that must carry an Idempotency-Key (points moves) */
    ROUTE_KEYED = 1 << 9, /* idempotent by a key in its body: a 200 is a replay (orders, refunds) */
    ROUTE_LINES = 1 << 10, /* its body carries order lines: the cap grows with the line cap */
    ROUTE_LONG = 1 << 11,  /* a read that may take long (a report, an export): served by a
                            * worker, never on an I/O thread (http.h, HTTP_EVENT) */
};

typedef struct http_req {
    const char *method, *path;
    int64_t id;       /* the {id} of the path, if any */
    const char *word; /* the {kind}/{name} of the path, if any */
    char word_buf[64];
    void *conn;      /* struct MHD_Connection *, for query arguments */
    json_t *body;    /* parsed body (ROUTE_BODY) or NULL */
    const char *raw; /* raw body bytes (ROUTE_RAW: the spooled body, mapped read-only) */
    size_t raw_len;
    FILE *raw_file; /* ROUTE_RAW: the same body as a stream, at its start (imports read
                     * this: the body is on disk, never whole in memory) */
    /* The caller was resolved from the headers, before any body byte was read (server.c
     * on_request): d.who holds the principal and the route's role mask was checked. The
     * pipeline (run) reuses it and never resolves the token twice. */
    bool authenticated;
    /* served on an I/O thread (http.h, HTTP_EVENT): the handler must not wait, and a
     * call for the group committer is counted as a route to mark ROUTE_LONG */
    bool on_io_thread;
    /* The request id: the X-Request-Id header if sent (1 to 64 printable characters),
     * else one siyu made; echoed in the answer's X-Request-Id and kept in the audit log. */
    char request_id[72];
    /* The answer replays a stored one (Idempotency-Key): it carries Idempotency-Replayed. */
    bool replayed;
    dom d;        /* store connection, caller, clock */
    void *server; /* http_server *, for /metrics */
    /* Writes run on the group committer; a handler may leave rendering its answer to the
     * worker after the commit (defer_render says it may), so the single writer thread
     * spends its time writing. render_after then runs in a read snapshot. */
    bool defer_render;
    int (*render_after)(struct http_req *r, siyu_err *e);
    order_made render_order; /* POST /orders: what the write made, to answer from */
    order_in *order_prep;    /* POST /orders: the body checked by the worker (owned), or NULL */
    /* the answer */
    int status;
    json_t *resp; /* JSON answer (owned), or */
    char *text;   /* a text answer (owned) with its content type */
    const char *content_type;
    /* The handler read limit and cursor (req_page): it paged its own answer. A list route
     * whose handler did not is paged by the pipeline (http_page_answer). */
    bool paged;
    char set_cookie[200]; /* a Set-Cookie header for the answer (the console's session), or "" */
    const char *cache_control; /* instead of no-store (the console's files), or NULL */
    bool page_headers;         /* the console's page: its Content-Security-Policy and framing */
    /* A route's kept answer (route.kept): the ticket read before the store was, and in verify
     * mode the kept bytes (owned) to compare the fresh answer with. */
    member_cache_ticket kept_ticket;
    bool kept_ticket_taken;
    char *kept_body;
    size_t kept_len;
} http_req;

typedef int (*route_fn)(http_req *r, siyu_err *e);

/* The scope rule of a route: what its path names, so the pipeline can tell whether the
 * caller may touch it (server.c run() applies it once, through scope_apply, for reads
 * and writes alike, before the handler runs). An object outside the caller's scope is
 * a 403 whatever route reaches it; a missing one is a 404. Every route must name one:
 * SCOPE_UNSET (a zero left by an entry that forgot) fails the authorization test. */
typedef enum route_scope {
    SCOPE_UNSET = 0,
    SCOPE_PUBLIC, /* no caller (ROUTE_PUBLIC routes) */
    SCOPE_CHAIN,  /* the chain's rules, settings, journeys, segments, tags, templates,
                     tokens: the role mask says who may; lists under it are narrowed
                     to the caller in the domain (members, orders, reports, audiences) */
    SCOPE_MEMBER, /* {id} is a member */
    SCOPE_ORDER,  /* {id} is an order */
    SCOPE_STAFF,  /* {id} is a staff member */
    SCOPE_STORE,  /* {id} is a store */
    SCOPE_TASK,   /* {id} is a guide task */
    SCOPE_COUPON, /* {code} is a coupon: its member's scope */
    SCOPE_TOKEN,  /* {id} is an API token (admins only: the role mask) */
    SCOPE__COUNT
} route_scope;

/* What else in a request names objects that must be in scope (route.scope_body). */
enum route_scope_body {
    SB_STORE = 1 << 0,      /* body store_id (or query store_id, store): the caller's store */
    SB_GUIDE = 1 << 1,      /* body guide_id (or query guide_id, guide): a guide of the
                               caller's store; a guide: themself */
    SB_MEMBER = 1 << 2,     /* body member_id, from_member_id, member_ids[], query member_id */
    SB_IDENTITY = 1 << 3,   /* body identities (top level, or under "member"): a member they
                               already name must be in scope; a 409 between two members
                               never names one the caller may not see */
    SB_LOOKUP = 1 << 4,     /* query identities (GET /members?phone=): a member out of scope
                               answers 404 exactly as a missing one; a cashier may only look up */
    SB_EACH_EVENT = 1 << 5, /* the rules above apply to each of body "events"[] too */
    SB_FIND = 1 << 6,       /* the route only finds members by identity (never creates):
                               one out of scope answers 404 exactly as a missing one */
};

typedef struct route {
    const char *method;
    const char *pattern; /* segments; {id} matches an integer, {kind} a word */
    route_fn fn;
    unsigned roles; /* role mask allowed (ignored for ROUTE_PUBLIC) */
    unsigned flags;
    const char *summary;
    const char *tag;
    route_scope scope;   /* what the path names (see route_scope) */
    unsigned scope_body; /* route_scope_body bits */
    /* The contract (openapi.c, docs/api.md "The contract"), set with designated
     * initializers after the positional fields: .query = "page member_id:int", ... */
    const char *query; /* the query parameters it takes (route_query_parse); any
                        * other is refused with 400 before the handler runs */
    /* Query parameters (as .query names them) any of which makes this read a scan that may
     * take long (GET /members?name=): then it is served as a ROUTE_LONG read is. NULL: none. */
    const char *long_with;
    const char *request;  /* the body's schema: a component of src/http/schemas (a .json file) */
    const char *response; /* the success answer's schema: "Member", "Member[]" (a page of
                           * them), "A|B" (one of), or a media type ("text/csv") */
    unsigned answers;     /* statuses it may answer besides those the flags imply (ANS_*) */
    /* A write's checks that need no store, run by the worker before the write is queued,
     * so the single writer thread spends its time writing: what it finds stays in the
     * request for the handler. A body it refuses goes to the writer unprepared and is
     * refused there, in the usual order (the scope first). NULL: none. */
    void (*prepare)(struct http_req *r);
    /* An answer kept in memory, tried after the caller is known and before the store is
     * read: 1 when it answered (status and text set; the scope rule checked on what it
     * kept), 0 to go on as usual. NULL: none. */
    int (*kept)(struct http_req *r);
} route;

/* Statuses a route declares beyond the ones its flags imply. Implied: 200 (unless 201
 * or 204 alone), 400 for every route (a bad or unknown query parameter), 401 and 403
 * without ROUTE_PUBLIC, 404 with a path parameter, 413 with a body, and 200 plus 409
 * for a write that takes an Idempotency-Key (a replay, a key reused). */
enum route_answers {
    ANS_201 = 1 << 0, /* created */
    ANS_204 = 1 << 1, /* no content */
    ANS_404 = 1 << 2, /* a resource it names (body or query) may be missing */
    ANS_409 = 1 << 3, /* a conflict: identities of two members, a state that forbids it */
    ANS_422 = 1 << 4, /* well-formed but against a rule */
    ANS_503 = 1 << 5, /* not ready */
    ANS_401 = 1 << 6, /* a public route that checks credentials itself (signing in) */
    ANS_429 = 1 << 7, /* refused for a while (a locked sign-in) */
};

/* One declared query parameter: "name", "name:int", "name:date", "name:time",
 * "name:bool", "name:a|b|c" (an enum); a trailing '!' makes it required. The word
 * "page" declares limit and cursor (every list pages the same way: docs/api.md). */
typedef struct route_param {
    char name[48];
    char type[160]; /* "string", "int", "date", "time", "bool", or "a|b|c" */
    bool required;
} route_param;

/* Parses a route's .query into out (at most cap); returns how many, or -1 with a message
 * naming the bad word. */
int route_query_parse(const char *query, route_param *out, int cap, char *err, size_t errlen);
/* True when the route's .query declares the parameter name ("page": limit, cursor). */
bool route_query_has(const route *rt, const char *name);
/* A list route: it declares "page". */
bool route_is_list(const route *rt);
/* The pipeline's check: every query argument the request carries is declared by the
 * route, else 400 naming the first unknown one. */
int route_check_query(http_req *r, const route *rt, siyu_err *e);

/* Names of the scope rules, for the OpenAPI document ("x-scope") and messages. */
const char *route_scope_name(route_scope s);

/* Applies the route's scope rule to the request (inside its transaction, on r->d.conn):
 * 0 when every object it names is in the caller's scope (or missing: the handler
 * answers 404), -1 with permission_denied or not_found otherwise. */
int scope_apply(http_req *r, const route *rt, siyu_err *e);

extern const route routes[];
extern const int route_count;

/* Finds the route for method and path, filling r->id / r->word. Returns the index,
 * -1 when no pattern matches the path, -2 when the path matches but not the method. */
int router_match(const char *method, const char *path, http_req *r);
/* The Allow header of a path: its methods in table order, HEAD after GET, then OPTIONS
 * (e.g. "GET, HEAD, PATCH, OPTIONS"). Returns how many of the table's routes match the
 * path (0: an unknown path, out is empty). */
int router_allow(const char *path, char *out, size_t len);

/* The audit log's view of the pipeline (routes_audit.c): a staff write is recorded in
 * its own savepoint (server.c exec_write); a read of unmasked personal data is queued
 * (http_audit_read, after the answer is built); the queue is written by the jobs. */
int http_audit_write(http_req *r, const route *rt, siyu_err *e);
void http_audit_read(http_req *r, const route *rt);
/* Writes the queued read rows now, through the server's group committer. */
int http_audit_flush(http_req *r, siyu_err *e);

/* Query argument helpers (they fill e naming the argument). */
const char *req_query(http_req *r, const char *name);
int req_query_int(http_req *r, const char *name, int64_t *out, siyu_err *e);
int req_page(http_req *r, int64_t *cursor, int *limit, siyu_err *e);
/* Pages a list route's answer whose handler built the whole list ({"items": [...]}):
 * limit items from the cursor's position, next_cursor the position after them or null.
 * Every list answers limit, cursor and next_cursor alike (docs/api.md "Lists"). */
int http_page_answer(http_req *r, siyu_err *e);

/* Stores the domain's answer: status from rc, the JSON it rendered. Called as
 * http_answer(r, rc, &out) after the call, never with `out` as a value: argument
 * evaluation order is unspecified in C. */
static inline int http_answer(http_req *r, int rc, json_t **out)
{
    if (rc < 0) {
        json_decref(*out);
        return -1;
    }
    r->status = rc;
    r->resp = *out;
    return 0;
}

/* Handlers that only hand the path id, body or page to one domain call:
 * HTTP_BODY_CALL(h_x, fn) defines int h_x(r, e) calling fn(d, body, &out, e), and so on
 * (prefix `static` for a file-local handler). */
#define HTTP_BODY_CALL(name, fn)                                                                   \
    int name(http_req *r, siyu_err *e)                                                             \
    {                                                                                              \
        json_t *out = NULL;                                                                        \
        int rc = fn(&r->d, r->body, &out, e);                                                      \
        return http_answer(r, rc, &out);                                                           \
    }
#define HTTP_ID_CALL(name, fn)                                                                     \
    int name(http_req *r, siyu_err *e)                                                             \
    {                                                                                              \
        json_t *out = NULL;                                                                        \
        int rc = fn(&r->d, r->id, &out, e);                                                        \
        return http_answer(r, rc, &out);                                                           \
    }
#define HTTP_ID_BODY_CALL(name, fn)                                                                \
    int name(http_req *r, siyu_err *e)                                                             \
    {                                                                                              \
        json_t *out = NULL;                                                                        \
        int rc = fn(&r->d, r->id, r->body, &out, e);                                               \
        return http_answer(r, rc, &out);                                                           \
    }
#define HTTP_LIST_CALL(name, fn)                                                                   \
    int name(http_req *r, siyu_err *e)                                                             \
    {                                                                                              \
        int64_t cursor;                                                                            \
        int limit;                                                                                 \
        json_t *out = NULL;                                                                        \
        if (req_page(r, &cursor, &limit, e)) return -1;                                            \
        int rc = fn(&r->d, cursor, limit, &out, e);                                                \
        return http_answer(r, rc, &out);                                                           \
    }

/* The server's in-memory views, or NULL (server.c). */
struct views *http_views(http_req *r);
struct member_cache *http_member_cache(http_req *r);
/* The server's store, for handlers that open their own connections (server.c). */
store_t *http_store(http_req *r);
/* The group committer (src/writer/writer.h) every write of the server goes to, for a
 * handler that submits to it and so waits: its route must say it may wait (ROUTE_WRITE,
 * ROUTE_OWN_TX, ROUTE_LONG), or an I/O thread waits with it (counted, and reported once). */
struct writer *http_writer(http_req *r);
/* The background jobs (src/jobs/jobs.h), or NULL (server.c). */
struct jobs *http_jobs(http_req *r);

/* Points an import's commit observer at the server's (server.c). */
struct import_options;
void http_import_observer(http_req *r, struct import_options *o);

/* The OpenAPI 3.1 document of the route table and src/http/schemas (openapi.c). */
json_t *openapi_document(void);
/* The component schemas, parsed once (openapi.c); NULL when the embedded files do not
 * parse (a build fault: the contract test names the file). */
json_t *openapi_components(void);

/* Prometheus text of the counters (metrics.c). */
void metrics_record(int route_index, int status, uint64_t ns);
char *metrics_render(void *server);
/* Appends the group committer, the background jobs and their backlog (read on c). */
char *metrics_render_background(char *text, void *server, store_conn *c);

#endif
