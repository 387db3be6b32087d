/* cmd_serve.c — siyu serve: run the HTTP API until SIGINT or SIGTERM. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "domain/domain.h"
#include "messaging/msg_adapter.h"
#include "http/http.h"
#include "http/router.h"
#include "jobs/jobs.h"
#include "base/timeutil.h"
#include "views/snapshot.h"
#include "views/views.h"
#include "writer/writer.h"

/* The connection limits and caps of `siyu serve`: a flag, else its environment
 * variable, else the default (http_config_init, ORDERS_MAX_LINES_DEFAULT). */
typedef struct serve_knob {
    const char *flag, *env;
    long min, max;
    const char *value; /* the flag's value, if given */
} serve_knob;

enum {
    K_PER_CLIENT,
    K_MAX_CONNS,
    K_REQ_TIMEOUT,
    K_IDLE_TIMEOUT,
    K_ORDER_LINES,
    K_IMPORT_MIB,
    K_GZIP_MIN,
    K_IO_THREADS,
    K_SEND_BUFFER,
    K_N
};

static serve_knob knobs[K_N] = {
    [K_PER_CLIENT] = {"--max-conn-per-client", "SIYU_MAX_CONN_PER_CLIENT", 0, 1000000, NULL},
    [K_MAX_CONNS] = {"--max-connections", "SIYU_MAX_CONNECTIONS", 1, 1000000, NULL},
    [K_REQ_TIMEOUT] = {"--request-timeout", "SIYU_REQUEST_TIMEOUT", 1, 3600, NULL},
    [K_IDLE_TIMEOUT] = {"--idle-timeout", "SIYU_IDLE_TIMEOUT", 1, 86400, NULL},
    [K_ORDER_LINES] = {"--max-order-lines", "SIYU_MAX_ORDER_LINES", 1, ORDERS_MAX_LINES_LIMIT,
                       NULL},
    [K_IMPORT_MIB] = {"--max-import-mib", "SIYU_MAX_IMPORT_MIB", 1, 65536, NULL},
    [K_GZIP_MIN] = {"--gzip-min-bytes", "SIYU_GZIP_MIN_BYTES", 0, 1 << 30, NULL},
    [K_IO_THREADS] = {"--io-threads", "SIYU_IO_THREADS", 1, 64, NULL},
    [K_SEND_BUFFER] = {"--send-buffer", "SIYU_SEND_BUFFER", 0, 64 << 20, NULL},
};

/* --cors-origins, else $SIYU_CORS_ORIGINS: the browser origins allowed (off when neither). */
static const char *cors_flag;

/* Reads one knob: 0 when unset, 1 with *out, or EXIT_USAGE (printed). */
static int knob(serve_knob *k, long *out)
{
    const char *v = k->value ? k->value : getenv(k->env);
    if (!v || !*v) return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < k->min || n > k->max)
        return cli_fail("serve", EXIT_USAGE, "%s: expected %ld to %ld, got '%s'",
                        k->value ? k->flag : k->env, k->min, k->max, v);
    *out = n;
    return 1;
}

/* Applies the knobs to cfg (and the order line cap); EXIT_USAGE when one is bad. */
static int apply_knobs(http_config *cfg)
{
    long v = 0; /* set by knob() whenever it answers 1 */
    int rc;
    if ((rc = knob(&knobs[K_PER_CLIENT], &v)) == EXIT_USAGE) return EXIT_USAGE;
    if (rc) cfg->max_conn_per_client = (unsigned)v;
    if ((rc = knob(&knobs[K_MAX_CONNS], &v)) == EXIT_USAGE) return EXIT_USAGE;
    if (rc) cfg->max_connections = (unsigned)v;
    if ((rc = knob(&knobs[K_REQ_TIMEOUT], &v)) == EXIT_USAGE) return EXIT_USAGE;
    if (rc) cfg->request_timeout = (unsigned)v;
    if ((rc = knob(&knobs[K_IDLE_TIMEOUT], &v)) == EXIT_USAGE) return EXIT_USAGE;
    if (rc) cfg->idle_timeout = (unsigned)v;
    if ((rc = knob(&knobs[K_ORDER_LINES], &v)) == EXIT_USAGE) return EXIT_USAGE;
    if (rc) orders_set_max_lines((int)v);
    if ((rc = knob(&knobs[K_IMPORT_MIB], &v)) == EXIT_USAGE) return EXIT_USAGE;
    if (rc) cfg->max_import_body = (size_t)v << 20;
    if ((rc = knob(&knobs[K_GZIP_MIN], &v)) == EXIT_USAGE) return EXIT_USAGE;
    if (rc) cfg->gzip_min_bytes = (size_t)v;
    if ((rc = knob(&knobs[K_IO_THREADS], &v)) == EXIT_USAGE) return EXIT_USAGE;
    if (rc) cfg->io_threads = (int)v;
    if ((rc = knob(&knobs[K_SEND_BUFFER], &v)) == EXIT_USAGE) return EXIT_USAGE;
    if (rc) cfg->send_buffer = (unsigned)v;
    cfg->cors_origins = cors_flag ? cors_flag : getenv("SIYU_CORS_ORIGINS");
    return 0;
}

/* --views-snapshot PATH|off, else $SIYU_VIEWS_SNAPSHOT: the views' snapshot (default: beside a
 * SQLite store, <db>.views; none on PostgreSQL). */
static const char *snapshot_flag;

int cli_serve_until_signal(store_t *st, const char *listen, int threads, const char *access_log,
                           const char *banner_token)
{
    /* Block the stop signals in every thread (workers inherit the mask); the main
     * thread waits for them with sigwait, then shuts down gracefully. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    http_config cfg;
    http_config_init(&cfg);
    if (listen) cfg.listen = listen;
    if (threads > 0) cfg.threads = threads;
    if (apply_knobs(&cfg)) return EXIT_USAGE;
    cfg.spool_dir = getenv("SIYU_SPOOL_DIR");
    FILE *log = stderr;
    if (access_log && strcmp(access_log, "off") == 0)
        log = NULL;
    else if (access_log && strcmp(access_log, "-") != 0) {
        log = fopen(access_log, "a");
        if (!log) return cli_fail("serve", 1, "--access-log: cannot open %s", access_log);
        setvbuf(log, NULL, _IOLBF, 0);
    }
    cfg.access_log = log;
    siyu_err e;
    siyu_err_init(&e);
    /* the in-memory views are built before the socket opens, so the first report is right */
    views *vw = NULL;
    /* several nodes on one store: follow the others' commits from before the build on */
    int64_t mark = store_shared(st) ? views_follow_mark(st, &e) : 0;
    if (!snapshot_flag) snapshot_flag = getenv("SIYU_VIEWS_SNAPSHOT");
    char *snap = snapshot_flag && strcmp(snapshot_flag, "off") == 0
                     ? NULL
                     : views_snapshot_default_path(st, snapshot_flag);
    if (mark < 0 || views_open_snapshot(st, snap, &vw, &e)) {
        free(snap);
        cli_fail("serve", 1, "%s", e.message);
        siyu_err_clear(&e);
        return 1;
    }
    cfg.views = vw;
    cfg.on_commit = views_on_commit;
    cfg.on_commit_ctx = vw;
    /* one writer path: HTTP writes and the background jobs share the group committer */
    writer_t *writer = NULL;
    jobs_t *jobs = NULL;
    jobs_config jc;
    jobs_config_init(&jc);
    http_server *srv = NULL;
    if (writer_start(st, views_on_commit, vw, &writer, &e) ||
        jobs_start(st, writer, vw, &jc, &jobs, &e)) {
        cli_fail("serve", 1, "%s", e.message);
        siyu_err_clear(&e);
        writer_stop(writer);
        views_close(vw);
        free(snap);
        return 1;
    }
    struct views_follow *follow = NULL;
    if (views_follow_start(st, vw, mark, &follow, &e)) {
        cli_fail("serve", 1, "%s", e.message);
        siyu_err_clear(&e);
        jobs_stop(jobs);
        writer_stop(writer);
        views_close(vw);
        free(snap);
        return 1;
    }
    cfg.writer = writer;
    cfg.jobs = jobs;
    if (http_server_start(st, &cfg, &srv, &e)) {
        cli_fail("serve", 1, "%s", e.message);
        siyu_err_clear(&e);
        jobs_stop(jobs);
        views_follow_stop(follow);
        writer_stop(writer);
        views_close(vw);
        free(snap);
        return 1;
    }
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(cfg.listen, ':') - cfg.listen), cfg.listen);
    /* the banner names the port bound (the system's choice with --listen HOST:0): the
     * end-to-end tests read it from a pipe, then close it — nothing else goes to stdout */
    printf("siyu: serving %s on http://%s:%d/ (%d requests at once; %u connections, %u per client; "
           "request timeout %us, idle %us; orders up to %d lines; CORS %s)\n",
           store_path(st), host, http_server_port(srv), cfg.threads, cfg.max_connections,
           cfg.max_conn_per_client, cfg.request_timeout, cfg.idle_timeout, orders_max_lines(),
           cfg.cors_origins && *cfg.cors_origins ? cfg.cors_origins : "off");
    if (banner_token)
        printf(
            "siyu: admin token: %s\n"
            "siyu: try: curl -H 'Authorization: Bearer %s' 'http://%s:%d/api/v1/members?limit=3'\n",
            banner_token, banner_token, host, http_server_port(srv));
    fflush(stdout);
    /* The views use their snapshot's pages in place. Serving, the node takes the file out of
     * the directory: whatever is then done to that path (a copy over it, a truncation) cannot
     * change the pages under the node, which keeps them through its mapping. Nothing of value
     * goes: the file is stale from the node's first write, and a clean stop writes a new one. */
    if (snap && views_read_from_snapshot(vw) && unlink(snap) == 0)
        fprintf(stderr,
                "siyu: views snapshot %s in use: taken out of the directory until a clean stop "
                "writes the next\n",
                snap);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "siyu: %s received, finishing requests in flight\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    /* HTTP first: a request answered while it stops may read the jobs' status (/metrics,
     * /readyz) and queue read audits, which the jobs' last flush writes */
    http_server_stop(srv);
    jobs_stop(jobs);
    writer_stop(writer);
    /* every write is stopped and followed: the views are the store's at (seq, tag) */
    int64_t at[2];
    int seq_rc = follow ? views_follow_stop_at(follow, at) : views_store_seq(st, at, &e);
    if (snap) {
        uint64_t t0 = clock_mono_ns();
        if (seq_rc == 0 && views_save_snapshot(vw, st, snap, at, &e) == 0)
            fprintf(stderr, "siyu: views snapshot written to %s in %.1f s\n", snap,
                    (double)(clock_mono_ns() - t0) / 1e9);
        else
            fprintf(stderr, "siyu: views snapshot not written: %s\n",
                    seq_rc ? "the change sequence could not be read" : e.message);
        siyu_err_clear(&e);
    }
    free(snap);
    views_close(vw);
    if (log && log != stderr) fclose(log);
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    const char *db = NULL, *listen = NULL, *threads_s = NULL, *log = NULL, *outbox = NULL;
    cli_opt opts[] = {
        {"--db", true, &db, NULL, "PATH  the store (default: $SIYU_DB)"},
        {"--outbox-dir", true, &outbox, NULL,
         "DIR  where file adapters write (default: $SIYU_OUTBOX_DIR, else outbox beside the "
         "store)"},
        {"--listen", true, &listen, NULL,
         "ADDR  address and port (default: $SIYU_LISTEN, else 127.0.0.1:8080)"},
        {"--threads", true, &threads_s, NULL,
         "N  requests served at once, each on a store connection of its own; as many workers "
         "run the requests that wait, a write in its commit (default 64; $SIYU_THREADS)"},
        {"--io-threads", true, &knobs[K_IO_THREADS].value, NULL,
         "N  threads serving every connection and answering reads (default: the cores, at "
         "least 2; $SIYU_IO_THREADS)"},
        {"--access-log", true, &log, NULL,
         "FILE|-|off  one line per request; - is stderr (default: -)"},
        {"--max-conn-per-client", true, &knobs[K_PER_CLIENT].value, NULL,
         "N  connections per client address, 0: no limit (default: 256; "
         "$SIYU_MAX_CONN_PER_CLIENT)"},
        {"--max-connections", true, &knobs[K_MAX_CONNS].value, NULL,
         "N  connections in all (default: 4096; $SIYU_MAX_CONNECTIONS)"},
        {"--request-timeout", true, &knobs[K_REQ_TIMEOUT].value, NULL,
         "SECS  to receive a request's headers (default: 10; $SIYU_REQUEST_TIMEOUT)"},
        {"--idle-timeout", true, &knobs[K_IDLE_TIMEOUT].value, NULL,
         "SECS  an idle keep-alive connection is closed after (default: 120; $SIYU_IDLE_TIMEOUT)"},
        {"--max-order-lines", true, &knobs[K_ORDER_LINES].value, NULL,
         "N  lines per order at most (default: 10000; $SIYU_MAX_ORDER_LINES)"},
        {"--max-import-mib", true, &knobs[K_IMPORT_MIB].value, NULL,
         "MIB  body of POST /import at most (default: 64; $SIYU_MAX_IMPORT_MIB)"},
        {"--cors-origins", true, &cors_flag, NULL,
         "LIST  browser origins allowed to call the API, comma-separated "
         "(https://a.example,https://b.example; * for any); default: none, CORS off "
         "($SIYU_CORS_ORIGINS)"},
        {"--gzip-min-bytes", true, &knobs[K_GZIP_MIN].value, NULL,
         "N  gzip answers of at least N bytes when the client accepts gzip; 0: never "
         "(default: 1024; $SIYU_GZIP_MIN_BYTES)"},
        {"--send-buffer", true, &knobs[K_SEND_BUFFER].value, NULL,
         "BYTES  each client connection's kernel send buffer, capped by the kernel at "
         "net.core.wmem_max; 0: the kernel's own, grown with the answer (default: 0; "
         "$SIYU_SEND_BUFFER)"},
        {"--views-snapshot", true, &snapshot_flag, NULL,
         "PATH|off  the views' snapshot, read at start when current, written at a clean stop "
         "(default: $SIYU_VIEWS_SNAPSHOT, else <db>.views beside a SQLite store; none on "
         "PostgreSQL)"},
        {0}};
    int rc = cli_parse("serve", argc, argv, 2, opts, NULL, 0, NULL);
    if (rc) return rc;
    if (!listen) listen = getenv("SIYU_LISTEN");
    if (!threads_s) threads_s = getenv("SIYU_THREADS");
    int threads = threads_s ? atoi(threads_s) : 0;
    if (threads_s && (threads < 1 || threads > 256))
        return cli_fail("serve", EXIT_USAGE, "--threads: expected 1 to 256");
    http_config probe; /* refuse a bad limit before the store is opened */
    http_config_init(&probe);
    if (apply_knobs(&probe)) return EXIT_USAGE;
    if (outbox && *outbox) msg_outbox_dir_set(outbox);
    store_t *st;
    if ((rc = cli_open_store("serve", cli_db(db), false, &st))) return rc;
    rc = cli_serve_until_signal(st, listen, threads, log, NULL);
    store_close(st);
    return rc;
}

/* siyu openapi: the document the server answers at /api/v1/openapi.json, without a
 * server or a store (CI lints it and generates the TypeScript client from it). */
int cmd_openapi(int argc, char **argv)
{
    const char *out = NULL;
    cli_opt opts[] = {
        {"--out", true, &out, NULL, "FILE  write the document there (default: standard output)"},
        {0}};
    int rc = cli_parse("openapi", argc, argv, 2, opts, NULL, 0, NULL);
    if (rc) return rc;
    if (!openapi_components())
        return cli_fail("openapi", 1, "the embedded schemas (src/http/schemas) do not parse");
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) return cli_fail("openapi", 1, "cannot write %s", out);
    json_t *doc = openapi_document();
    rc = json_dumpf(doc, f, JSON_INDENT(2)) == 0 && fputc('\n', f) != EOF ? 0 : 1;
    json_decref(doc);
    if (out && fclose(f)) rc = 1;
    return rc ? cli_fail("openapi", 1, "cannot write the document") : 0;
}
