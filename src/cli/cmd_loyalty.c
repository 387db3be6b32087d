/* cmd_loyalty.c — siyu check (the store's loyalty invariants) and siyu loyalty sweep
 * (expiries and tier reviews now). The background jobs siyu serve runs live in
 * src/jobs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "cli/cli.h"
#include "guides/guides.h"
#include "journey/journey.h"
#include "loyalty/loyalty.h"
#include "views/views.h"

int cmd_check(int argc, char **argv)
{
    const char *db = NULL, *max_s = NULL;
    bool json = false;
    cli_opt opts[] = {{"--db", true, &db, NULL, "PATH  the store (default: $SIYU_DB)"},
                      {"--max", true, &max_s, NULL, "N  violations listed at most (default: 20)"},
                      {"--json", false, NULL, &json, "print the result as JSON (default: text)"},
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
        cli_step("check", "verifying every balance, coupon, stock and tier");
        found = loyalty_check(c, clock_now(), max, &v, &e);
        if (found >= 0)
            found += guides_check(c, max, v); /* tasks, campaigns, staff history, transfers */
        cli_step_done();
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
               "lines, refunds within their totals, guide tasks and campaigns consistent\n");
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

/* One sweep in its own write transaction (from another process than siyu serve, it
 * waits for the store's lock with the busy timeout). */
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
    cli_opt opts[] = {{"--db", true, &db, NULL, "PATH  the store (default: $SIYU_DB)"}, {0}};
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
    cli_step("loyalty", "expiring due points and coupons, reviewing due tiers");
    rc = sweep_once(st, NULL, 0, &out, &e);
    cli_step_done();
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
