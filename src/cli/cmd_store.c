/* cmd_store.c — siyu init and siyu token create. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/timeutil.h"
#include "cli/cli.h"

int cmd_init(int argc, char **argv)
{
    const char *db = NULL;
    cli_opt opts[] = {{"--db", true, &db, NULL}, {0}};
    int rc = cli_parse("init", argc, argv, 2, opts, NULL, 0, NULL);
    if (rc)
        return rc;
    store_t *st;
    if ((rc = cli_open_store("init", cli_db(db), true, &st)))
        return rc;
    printf("siyu: store %s is ready (schema version %d)\n", store_path(st), store_schema_version(st));
    store_close(st);
    return 0;
}

int cmd_token(int argc, char **argv)
{
    const char *db = NULL, *role_s = NULL, *staff_s = NULL, *name = NULL;
    cli_opt opts[] = {{"--db", true, &db, NULL},
                      {"--role", true, &role_s, NULL},
                      {"--staff", true, &staff_s, NULL},
                      {"--name", true, &name, NULL},
                      {0}};
    const char *pos[1];
    int np, rc = cli_parse("token", argc, argv, 2, opts, pos, 1, &np);
    if (rc)
        return rc;
    if (np != 1 || strcmp(pos[0], "create") != 0)
        return cli_fail("token", EXIT_USAGE, "expected 'token create'");
    if (!role_s)
        return cli_fail("token", EXIT_USAGE, "--role is required (admin, operator, store_manager, guide)");
    role r = role_parse(role_s);
    if (r == ROLE_NONE)
        return cli_fail("token", EXIT_USAGE, "--role: expected admin, operator, store_manager or guide");
    int64_t staff = 0;
    if (staff_s) {
        char *end;
        staff = strtoll(staff_s, &end, 10);
        if (*end || staff <= 0)
            return cli_fail("token", EXIT_USAGE, "--staff: expected a staff id");
    }
    store_t *st;
    if ((rc = cli_open_store("token", cli_db(db), false, &st)))
        return rc;
    store_conn *c;
    siyu_err e;
    siyu_err_init(&e);
    char token[AUTH_TOKEN_LEN + 1];
    rc = 1;
    if (store_conn_open(st, &c, &e) == 0) {
        if (store_begin(c, true, &e) == 0 &&
            auth_token_create(c, r, staff, name, clock_now(), token, &e) == 0 &&
            store_commit(c, &e) == 0) {
            printf("%s\n", token);
            rc = 0;
        } else {
            store_rollback(c);
        }
        store_conn_close(c);
    }
    if (rc)
        cli_fail("token", e.code == SIYU_INTERNAL ? 1 : 1, "%s", e.message);
    siyu_err_clear(&e);
    store_close(st);
    return rc;
}
