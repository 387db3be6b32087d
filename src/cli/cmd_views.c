/* cmd_views.c — siyu views snapshot: write the views' snapshot of a store, so siyu serve
 * starts and siyu segment count / report kpi answer without rebuilding the views. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "cli/cli.h"
#include "views/snapshot.h"
#include "views/views.h"

int cmd_views(int argc, char **argv)
{
    const char *db = NULL, *out = NULL;
    cli_opt opts[] = {
        {"--db", true, &db, NULL, "PATH  the store (default: $SIYU_DB)"},
        {"--out", true, &out, NULL,
         "PATH  the snapshot (default: $SIYU_VIEWS_SNAPSHOT, else <db>.views beside a SQLite "
         "store; required on PostgreSQL)"},
        {0}};
    const char *pos[1];
    int np, rc = cli_parse("views", argc, argv, 2, opts, pos, 1, &np);
    if (rc) return rc;
    if (np != 1 || strcmp(pos[0], "snapshot") != 0)
        return cli_fail("views", EXIT_USAGE, "expected snapshot");
    store_t *st;
    if ((rc = cli_open_store("views", cli_db(db), false, &st))) return rc;
    char *path = views_snapshot_default_path(st, out ? out : getenv("SIYU_VIEWS_SNAPSHOT"));
    if (!path || strcmp(path, "off") == 0) {
        free(path);
        store_close(st);
        return cli_fail("views", EXIT_USAGE, "--out PATH is required on PostgreSQL");
    }
    siyu_err e;
    siyu_err_init(&e);
    views *v = NULL;
    uint64_t t0 = clock_mono_ns();
    rc = views_open(st, &v, &e);
    if (rc == 0) rc = views_save_snapshot(v, st, path, NULL, &e);
    views_close(v);
    store_close(st);
    if (rc) {
        cli_fail("views", 1, "%s", e.message);
        siyu_err_clear(&e);
        free(path);
        return 1;
    }
    printf("siyu: views snapshot written to %s in %.1f s\n", path,
           (double)(clock_mono_ns() - t0) / 1e9);
    free(path);
    return 0;
}
