/* http.h — siyu serve: the HTTP API (and its metrics and OpenAPI document).
 *
 * libmicrohttpd with a thread pool and keep-alive; every worker thread has its own
 * store connection. Start returns once the socket listens; stop finishes the
 * requests in flight before it returns (graceful shutdown). */
#ifndef SIYU_HTTP_HTTP_H
#define SIYU_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base/error.h"
#include "domain/domain.h"
#include "store/store.h"

/* Called after a write has committed, with what it changed, on the calling worker's
 * own connection (which sees the commit): the in-memory views follow the store here. */
typedef void (*http_commit_fn)(void *ctx, store_conn *c, const dom_change *v, size_t n);

/* How connections are served. HTTP_EVENT (the default): a few I/O threads serve every
 * connection and answer the requests that never wait (reads); a request that may wait
 * (a write in the group commit, a token's use, an import, a long read) is handed to one
 * of `threads` workers while its connection is suspended, so it holds up no other
 * client and no thread waits per idle connection. HTTP_PER_CONNECTION: a thread per
 * connection, everything on it. HTTP_POOL: libmicrohttpd's pool of `threads`, everything
 * on it. The last two are kept for comparison (SIYU_HTTP_MODE). */
typedef enum http_mode { HTTP_EVENT, HTTP_PER_CONNECTION, HTTP_POOL } http_mode;

typedef struct http_config {
    const char *listen; /* "127.0.0.1:8080"; port 0 picks a free one */
    int threads;        /* requests served at once (store connections); default 64 */
    int io_threads;     /* HTTP_EVENT: threads serving the connections; default: cores */
    http_mode mode;
    size_t max_body;        /* bytes; default 1 MiB (POST /orders: see orders_max_body) */
    size_t max_import_body; /* bytes of one import upload; default 64 MiB (spooled to disk) */
    /* Connections. One client (one address) may hold at most max_conn_per_client of the
     * max_connections; a request must arrive whole (headers and body) within
     * request_timeout seconds of silence and of its first callback; a keep-alive
     * connection may idle idle_timeout seconds between requests. */
    unsigned max_connections;     /* default 4096 */
    unsigned max_conn_per_client; /* default 256; 0 = no per-client limit */
    unsigned request_timeout;     /* seconds; default 10 */
    unsigned idle_timeout;        /* seconds; default 120 */
    const char *spool_dir;        /* where import uploads are spooled; NULL = beside the store */
    FILE *access_log;             /* one line per request, or NULL for none */
    http_commit_fn on_commit;     /* may be NULL */
    void *on_commit_ctx;
    struct views *views; /* in-memory views for reports and audiences, or NULL */
    /* The group committer every write goes to (src/writer), shared with the background
     * jobs; NULL: the server starts its own with on_commit. */
    struct writer *writer;
    struct jobs *jobs; /* the background jobs, for /readyz and /metrics, or NULL */
    /* Browsers: the origins (scheme://host[:port], comma-separated; "*" for any) whose
     * pages may call the API (CORS). NULL or "": none, no CORS header is ever sent. */
    const char *cors_origins;
    /* Answers of at least this many bytes are sent gzipped to a client whose
     * Accept-Encoding takes gzip; 0: never. Default 1024. */
    size_t gzip_min_bytes;
    /* Each client connection's kernel send buffer (SO_SNDBUF), in bytes; 0: the kernel's
     * own, which grows with the answer (up to net.ipv4.tcp_wmem's largest, 4 MiB here). Any
     * other value stops that growth, and the kernel caps it at net.core.wmem_max. A bound
     * keeps memory per connection known; tests use a small one to make a client that does
     * not read hold its answer. Default 0. */
    unsigned send_buffer;
} http_config;

typedef struct http_server http_server;

void http_config_init(http_config *c);
int http_server_start(store_t *st, const http_config *c, http_server **out, siyu_err *e);
int http_server_port(http_server *s);
void http_server_stop(http_server *s); /* graceful; NULL is a no-op */

#endif
