/* cmd_store.c — siyu init (the token commands are in cmd_token.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/timeutil.h"
#include "cli/cli.h"

int cmd_init(int argc, char **argv)
{
    const char *db = NULL;
    cli_opt opts[] = {{"--db", true, &db, NULL, "PATH  the store (default: $SIYU_DB)"}, {0}};
    int rc = cli_parse("init", argc, argv, 2, opts, NULL, 0, NULL);
    if (rc) return rc;
    store_t *st;
    if ((rc = cli_open_store("init", cli_db(db), true, &st))) return rc;
    printf("siyu: store %s is ready (schema version %d)\n", store_path(st),
           store_schema_version(st));
    store_close(st);
    return 0;
}
