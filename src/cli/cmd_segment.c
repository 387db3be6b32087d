/* cmd_segment.c — siyu segment count|export|explain EXPR: audiences from the command line.
 * count and export build the member index from the store first; explain only parses.
 * siyu segment settings [--set JSON] shows or sets the RFM and lifecycle thresholds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "cli/cli.h"
#include "segment/eval.h"
#include "segment/expr.h"
#include "base/jsonx.h"
#include "segment/index.h"
#include "views/audience.h"
#include "views/views.h"

/* siyu segment settings [--set JSON]: the stored thresholds as JSON, or sets them from
 * the body PUT /api/v1/segments/settings takes (the same checks, the same store keys). */
static int cmd_settings(const char *db, const char *set)
{
    store_t *st;
    int rc = cli_open_store("segment", cli_db(db), false, &st);
    if (rc) return rc;
    store_conn *c = NULL;
    siyu_err e;
    siyu_err_init(&e);
    audience_settings s;
    json_t *body = NULL;
    rc = 1;
    if (store_conn_open(st, &c, &e)) goto out;
    if (!set) {
        if (audience_settings_load(c, &s, &e)) goto out;
    } else {
        audience_settings_init(&s);
        if (!(body = jx_parse(set, strlen(set), false, &e)) ||
            audience_settings_update(&s, body, &e) || store_begin(c, true, &e))
            goto out;
        siyu_err le;
        siyu_err_init(&le);
        audience_settings_load(c, &s, &le); /* what --set leaves out stays as stored */
        siyu_err_clear(&le);
        if (audience_settings_update(&s, body, &e) || audience_settings_save(c, &s, &e) ||
            store_commit(c, &e)) {
            store_rollback(c);
            goto out;
        }
        fprintf(stderr, "siyu: segment: settings saved; a running siyu serve applies them at its "
                        "next start (PUT /api/v1/segments/settings applies them at once)\n");
    }
    json_t *out = audience_settings_json(&s, NULL);
    char *text = json_dumps(out, JSON_INDENT(2));
    printf("%s\n", text);
    free(text);
    json_decref(out);
    rc = 0;
out:
    if (rc)
        cli_fail("segment", e.code == SIYU_INVALID_ARGUMENT ? EXIT_USAGE : 1, "settings: %s",
                 e.message);
    if (rc && e.code == SIYU_INVALID_ARGUMENT) rc = EXIT_USAGE;
    siyu_err_clear(&e);
    json_decref(body);
    store_conn_close(c);
    store_close(st);
    return rc;
}

int cmd_segment(int argc, char **argv)
{
    const char *db = NULL, *set = NULL;
    bool json = false;
    cli_opt opts[] = {
        {"--db", true, &db, NULL, "PATH  the store (default: $SIYU_DB); explain needs none"},
        {"--set", true, &set, NULL, "JSON  settings: change them (default: print them)"},
        {"--json", false, NULL, &json,
         "count, explain: print JSON ({\"count\", \"expression\"}; default: text)"},
        {0}};
    const char *pos[2];
    int np, rc = cli_parse("segment", argc, argv, 2, opts, pos, 2, &np);
    if (rc) return rc;
    if (np == 1 && strcmp(pos[0], "settings") == 0) return cmd_settings(db, set);
    if (set) return cli_fail("segment", EXIT_USAGE, "--set goes with settings only");
    if (np != 2 ||
        (strcmp(pos[0], "count") && strcmp(pos[0], "export") && strcmp(pos[0], "explain")))
        return cli_fail("segment", EXIT_USAGE,
                        "expected count, export or explain and an expression, or settings");
    seg_error se;
    seg_expr *ex = NULL;
    if (strcmp(pos[0], "explain") == 0) {
        if (seg_parse(pos[1], NULL, &ex, &se)) return cli_fail("segment", 1, "%s", se.msg);
        char *canon = seg_print(ex);
        if (json) {
            json_t *o = json_pack("{s:s}", "expression", canon);
            json_dumpf(o, stdout, JSON_COMPACT);
            putchar('\n');
            json_decref(o);
        } else {
            printf("%s\n", canon);
        }
        free(canon);
        seg_expr_free(ex);
        return 0;
    }
    store_t *st;
    if ((rc = cli_open_store("segment", cli_db(db), false, &st))) return rc;
    siyu_err e;
    siyu_err_init(&e);
    seg_index *idx = NULL;
    bool progress = cli_progress_wanted();
    if (progress) fprintf(stderr, "segment: loading the member index...");
    int vrc = views_open_cli(st, NULL, &idx, &e);
    if (progress) fprintf(stderr, "\r\033[K");
    if (vrc) {
        store_close(st);
        cli_fail("segment", 1, "%s", e.message);
        siyu_err_clear(&e);
        return 1;
    }
    store_close(st);
    rc = 0;
    if (seg_parse(pos[1], idx, &ex, &se)) {
        rc = cli_fail("segment", 1, "%s", se.msg);
    } else if (strcmp(pos[0], "count") == 0) {
        uint64_t n = 0, t0 = clock_mono_ns();
        if (seg_count(idx, ex, NULL, &n, &se))
            rc = cli_fail("segment", 1, "%s", se.msg);
        else if (json) {
            char *canon = seg_print(ex);
            json_t *o = json_pack("{s:I, s:s, s:f}", "count", (json_int_t)n, "expression", canon,
                                  "ms", (double)(clock_mono_ns() - t0) / 1e6);
            json_dumpf(o, stdout, JSON_COMPACT);
            putchar('\n');
            json_decref(o);
            free(canon);
        } else
            printf("%llu members (%.3f ms)\n", (unsigned long long)n,
                   (double)(clock_mono_ns() - t0) / 1e6);
    } else {
        seg_audience a;
        if (seg_select(idx, ex, NULL, &a, &se)) {
            rc = cli_fail("segment", 1, "%s", se.msg);
        } else {
            printf("member_id\n");
            for (size_t i = 0; i < a.count; i++)
                printf("%lld\n", (long long)a.ids[i]);
            seg_audience_release(&a);
        }
    }
    seg_expr_free(ex);
    seg_index_free(idx);
    return rc;
}
