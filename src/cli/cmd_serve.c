/* cmd_serve.c — siyu serve: run the HTTP API until SIGINT or SIGTERM. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "messaging/msg_adapter.h"
#include "http/http.h"
#include "views/views.h"

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
    if (listen)
        cfg.listen = listen;
    if (threads > 0)
        cfg.threads = threads;
    FILE *log = stderr;
    if (access_log && strcmp(access_log, "off") == 0)
        log = NULL;
    else if (access_log && strcmp(access_log, "-") != 0) {
        log = fopen(access_log, "a");
        if (!log)
            return cli_fail("serve", 1, "--access-log: cannot open %s", access_log);
        setvbuf(log, NULL, _IOLBF, 0);
    }
    cfg.access_log = log;
    siyu_err e;
    siyu_err_init(&e);
    /* the in-memory views are built before the socket opens, so the first report is right */
    views *vw = NULL;
    if (views_open(st, &vw, &e)) {
        cli_fail("serve", 1, "%s", e.message);
        siyu_err_clear(&e);
        return 1;
    }
    cfg.views = vw;
    cfg.on_commit = views_on_commit;
    cfg.on_commit_ctx = vw;
    http_server *srv;
    if (http_server_start(st, &cfg, &srv, &e)) {
        cli_fail("serve", 1, "%s", e.message);
        siyu_err_clear(&e);
        views_close(vw);
        return 1;
    }
    cli_sweeper *sweeper = cli_sweeper_start(st, vw);
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(cfg.listen, ':') - cfg.listen), cfg.listen);
    printf("siyu: serving %s on http://%s:%d/ (%d threads)\n", store_path(st), host,
           http_server_port(srv), cfg.threads);
    if (banner_token)
        printf("siyu: admin token: %s\n"
               "siyu: try: curl -H 'Authorization: Bearer %s' 'http://%s:%d/api/v1/members?limit=3'\n",
               banner_token, banner_token, host, http_server_port(srv));
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "siyu: %s received, finishing requests in flight\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    cli_sweeper_stop(sweeper);
    http_server_stop(srv);
    views_close(vw);
    if (log && log != stderr)
        fclose(log);
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    const char *db = NULL, *listen = NULL, *threads_s = NULL, *log = NULL, *outbox = NULL;
    cli_opt opts[] = {{"--db", true, &db, NULL},
                      {"--outbox-dir", true, &outbox, NULL},
                      {"--listen", true, &listen, NULL},
                      {"--threads", true, &threads_s, NULL},
                      {"--access-log", true, &log, NULL},
                      {0}};
    int rc = cli_parse("serve", argc, argv, 2, opts, NULL, 0, NULL);
    if (rc)
        return rc;
    if (!listen)
        listen = getenv("SIYU_LISTEN");
    int threads = threads_s ? atoi(threads_s) : 0;
    if (threads_s && (threads < 1 || threads > 256))
        return cli_fail("serve", EXIT_USAGE, "--threads: expected 1 to 256");
    if (outbox && *outbox) msg_outbox_dir_set(outbox);
    store_t *st;
    if ((rc = cli_open_store("serve", cli_db(db), false, &st)))
        return rc;
    rc = cli_serve_until_signal(st, listen, threads, log, NULL);
    store_close(st);
    return rc;
}
