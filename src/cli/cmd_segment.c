/* cmd_segment.c — siyu segment count|export|explain EXPR: audiences from the command line.
 * count and export build the member index from the store first; explain only parses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "cli/cli.h"
#include "segment/eval.h"
#include "segment/expr.h"
#include "segment/index.h"
#include "views/views.h"

int cmd_segment(int argc, char **argv)
{
    const char *db = NULL;
    cli_opt opts[] = {{"--db", true, &db, NULL}, {0}};
    const char *pos[2];
    int np, rc = cli_parse("segment", argc, argv, 2, opts, pos, 2, &np);
    if (rc)
        return rc;
    if (np != 2 || (strcmp(pos[0], "count") && strcmp(pos[0], "export") && strcmp(pos[0], "explain")))
        return cli_fail("segment", EXIT_USAGE, "expected count, export or explain and an expression");
    seg_error se;
    seg_expr *ex = NULL;
    if (strcmp(pos[0], "explain") == 0) {
        if (seg_parse(pos[1], NULL, &ex, &se))
            return cli_fail("segment", 1, "%s", se.msg);
        char *canon = seg_print(ex);
        printf("%s\n", canon);
        free(canon);
        seg_expr_free(ex);
        return 0;
    }
    store_t *st;
    if ((rc = cli_open_store("segment", cli_db(db), false, &st)))
        return rc;
    siyu_err e;
    siyu_err_init(&e);
    seg_index *idx = NULL;
    if (views_open_index(st, &idx, &e)) {
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
        else
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
