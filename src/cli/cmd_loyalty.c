/* cmd_loyalty.c — siyu check (the store's loyalty invariants) and siyu loyalty sweep
 * (expiries and tier reviews now), plus the background thread siyu serve runs: the
 * journey scheduler and outbox every SIYU_TICK_SECONDS, the loyalty sweep every
 * SIYU_SWEEP_SECONDS. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/timeutil.h"
#include "cli/cli.h"
#include "journey/journey.h"
#include "loyalty/loyalty.h"
#include "views/views.h"

int cmd_check(int argc, char **argv)
{
    const char *db = NULL, *max_s = NULL;
    bool json = false;
    cli_opt opts[] = {{"--db", true, &db, NULL},
                      {"--max", true, &max_s, NULL},
                      {"--json", false, NULL, &json},
                      {0}};
    int rc = cli_parse("check", argc, argv, 2, opts, NULL, 0, NULL);
    if (rc) return rc;
    int max = max_s ? atoi(max_s) : 20;
    if (max < 1) return cli_fail("check", EXIT_USAGE, "--max: expected a positive number");
    store_t *st;
    if ((rc = cli_open_store("check", cli_db(db), false, &st))) return rc;
    store_conn *c = NULL;
    siyu_err e;
    siyu_err_init(&e);
    json_t *v = NULL;
    int found = -1;
    if (store_conn_open(st, &c, &e) == 0 && store_begin(c, false, &e) == 0) {
        found = loyalty_check(c, clock_now(), max, &v, &e);
        store_rollback(c);
    }
    store_conn_close(c);
    store_close(st);
    if (found < 0) {
        cli_fail("check", 1, "%s", e.message);
        siyu_err_clear(&e);
        json_decref(v);
        return 1;
    }
    if (json) {
        json_t *o = json_pack("{s:b, s:i, s:O}", "ok", found == 0, "violations", found, "first", v);
        char *text = json_dumps(o, JSON_INDENT(2));
        puts(text);
        free(text);
        json_decref(o);
    } else if (found == 0) {
        printf("siyu check: ok — balances equal their ledgers, no coupon redeemed twice, stock "
               "within limits, tiers consistent with their rules, order totals equal their "
               "lines, refunds within their totals\n");
    } else {
        printf("siyu check: %d violation%s; the first:\n", found, found == 1 ? "" : "s");
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
            printf("  [%s] %s\n", json_string_value(json_object_get(x, "check")),
                   json_string_value(json_object_get(x, "message")));
    }
    json_decref(v);
    return found == 0 ? 0 : 1;
}

/* One sweep in its own write transaction; the changes go to `views` when given. */
static int sweep_once(store_t *st, views *vw, int limit, json_t **out, siyu_err *e)
{
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    dom_changes changes = {0};
    dom d = {.conn = c, .now = clock_now(), .changes = &changes};
    d.who.role = ROLE_ADMIN;
    int rc = store_begin(c, true, e);
    if (rc == 0) {
        rc = loyalty_sweep(&d, limit, out, e);
        if (rc == 0)
            rc = store_commit(c, e);
        else
            store_rollback(c);
    }
    if (rc == 0 && vw && changes.n) views_on_commit(vw, c, changes.v, changes.n);
    dom_changes_free(&changes);
    store_conn_close(c);
    return rc;
}

int cmd_loyalty(int argc, char **argv)
{
    const char *db = NULL, *pos[1] = {0};
    cli_opt opts[] = {{"--db", true, &db, NULL}, {0}};
    int got = 0;
    int rc = cli_parse("loyalty", argc, argv, 2, opts, pos, 1, &got);
    if (rc) return rc;
    if (!pos[0] || strcmp(pos[0], "sweep") != 0)
        return cli_fail("loyalty", EXIT_USAGE, "expected: siyu loyalty sweep --db PATH");
    store_t *st;
    if ((rc = cli_open_store("loyalty", cli_db(db), false, &st))) return rc;
    siyu_err e;
    siyu_err_init(&e);
    json_t *out = NULL;
    rc = sweep_once(st, NULL, 0, &out, &e);
    store_close(st);
    if (rc) {
        cli_fail("loyalty", 1, "%s", e.message);
        siyu_err_clear(&e);
        return 1;
    }
    char *text = json_dumps(out, JSON_COMPACT);
    puts(text);
    free(text);
    json_decref(out);
    return 0;
}

/* ---------------- the background thread siyu serve runs ---------------- */

struct cli_sweeper {
    store_t *st;
    views *vw;
    int tick_seconds, sweep_seconds;
    atomic_bool stop;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
};

static int env_seconds(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : dflt;
}

/* One journey tick in a write transaction, its changes to the views, then the outbox. */
static void journeys_once(cli_sweeper *s)
{
    siyu_err e;
    siyu_err_init(&e);
    store_conn *c;
    if (store_conn_open(s->st, &c, &e)) {
        siyu_err_clear(&e);
        return;
    }
    dom_changes changes = {0};
    dom d = {.conn = c, .now = clock_now(), .changes = &changes};
    d.who.role = ROLE_ADMIN;
    int rc = store_begin(c, true, &e);
    if (rc == 0) {
        rc = journey_tick(&d, s->vw ? views_index(s->vw) : NULL, 5000, NULL, &e);
        if (rc == 0)
            rc = store_commit(c, &e);
        else
            store_rollback(c);
    }
    if (rc == 0 && s->vw && changes.n) views_on_commit(s->vw, c, changes.v, changes.n);
    dom_changes_free(&changes);
    store_conn_close(c);
    if (rc == 0) rc = journey_dispatch(s->st, d.now, 5000, NULL, &e);
    if (rc) fprintf(stderr, "siyu: journeys: %s\n", e.message);
    siyu_err_clear(&e);
}

static void *sweeper_main(void *arg)
{
    cli_sweeper *s = arg;
    uint64_t last_sweep = clock_mono_ns();
    int period = s->tick_seconds > 0 ? s->tick_seconds : s->sweep_seconds;
    pthread_mutex_lock(&s->lock);
    while (!atomic_load(&s->stop)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += period;
        pthread_cond_timedwait(&s->wake, &s->lock, &until);
        if (atomic_load(&s->stop)) break;
        pthread_mutex_unlock(&s->lock);
        if (s->tick_seconds > 0) journeys_once(s);
        if (s->sweep_seconds > 0 &&
            clock_mono_ns() - last_sweep >= (uint64_t)s->sweep_seconds * 1000000000ull) {
            last_sweep = clock_mono_ns();
            siyu_err e;
            siyu_err_init(&e);
            json_t *out = NULL;
            /* bounded batches keep the writer's lock short; the next round takes the rest */
            if (sweep_once(s->st, s->vw, 5000, &out, &e))
                fprintf(stderr, "siyu: loyalty sweep: %s\n", e.message);
            siyu_err_clear(&e);
            json_decref(out);
        }
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

cli_sweeper *cli_sweeper_start(store_t *st, views *vw)
{
    int tick = env_seconds("SIYU_TICK_SECONDS", 5), sweep = env_seconds("SIYU_SWEEP_SECONDS", 60);
    if (tick <= 0 && sweep <= 0) return NULL;
    cli_sweeper *s = calloc(1, sizeof *s);
    s->st = st;
    s->vw = vw;
    s->tick_seconds = tick;
    s->sweep_seconds = sweep;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    if (pthread_create(&s->thread, NULL, sweeper_main, s)) {
        free(s);
        return NULL;
    }
    return s;
}

void cli_sweeper_stop(cli_sweeper *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->stop, true);
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s);
}
