/* cmd_backup.c — the operator's safety net and members' rights on the command line:
 * siyu backup, siyu restore, siyu vacuum, siyu member export. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "cli/cli.h"
#include "domain/domain.h"
#include "store/backup.h"

int cmd_backup(int argc, char **argv)
{
    const char *db = NULL, *out = NULL;
    cli_opt opts[] = {{"--db", true, &db, NULL, "PATH  the store (default: $SIYU_DB)"},
                      {"--out", true, &out, NULL, "FILE  where the copy goes (required)"},
                      {0}};
    int rc = cli_parse("backup", argc, argv, 2, opts, NULL, 0, NULL);
    if (rc) return rc;
    if (!cli_db(db))
        return cli_fail("backup", EXIT_USAGE, "--db PATH is required (or set SIYU_DB)");
    if (!out) return cli_fail("backup", EXIT_USAGE, "--out FILE is required");
    siyu_err e;
    siyu_err_init(&e);
    store_backup_info info;
    cli_step("backup", "copying the store");
    int brc = store_backup(cli_db(db), out, &info, &e);
    cli_step_done();
    if (brc) {
        cli_fail("backup", 1, "%s", e.message);
        siyu_err_clear(&e);
        return 1;
    }
    char at[40];
    time_format_rfc3339(info.at, at, sizeof at);
    printf("siyu: backup of %s as of %s written to %s (%lld bytes, schema version %d)\n",
           cli_db(db), at, out, (long long)info.bytes, info.schema_version);
    return 0;
}

int cmd_restore(int argc, char **argv)
{
    const char *db = NULL, *from = NULL;
    bool force = false;
    cli_opt opts[] = {
        {"--db", true, &db, NULL, "PATH  the store (default: $SIYU_DB)"},
        {"--from", true, &from, NULL, "FILE  the backup to restore (required)"},
        {"--force", false, NULL, &force, "replace an existing store (default: refuse)"},
        {0}};
    int rc = cli_parse("restore", argc, argv, 2, opts, NULL, 0, NULL);
    if (rc) return rc;
    if (!cli_db(db))
        return cli_fail("restore", EXIT_USAGE, "--db PATH is required (or set SIYU_DB)");
    if (!from) return cli_fail("restore", EXIT_USAGE, "--from FILE is required");
    siyu_err e;
    siyu_err_init(&e);
    store_backup_info info;
    cli_step("restore", "checking and copying the backup");
    int rrc = store_restore(from, cli_db(db), force, &info, &e);
    cli_step_done();
    if (rrc) {
        cli_fail("restore", 1, "%s", e.message);
        siyu_err_clear(&e);
        return 1;
    }
    /* an older schema is brought forward as siyu init would */
    store_t *st;
    if ((rc = cli_open_store("restore", cli_db(db), true, &st))) return rc;
    printf("siyu: restored %s into %s (schema version %d%s); run siyu check --db %s\n", from,
           cli_db(db), store_schema_version(st),
           store_schema_version(st) != info.schema_version ? ", migrated" : "", cli_db(db));
    store_close(st);
    return 0;
}

int cmd_vacuum(int argc, char **argv)
{
    const char *db = NULL;
    cli_opt opts[] = {{"--db", true, &db, NULL, "PATH  the store (default: $SIYU_DB)"}, {0}};
    int rc = cli_parse("vacuum", argc, argv, 2, opts, NULL, 0, NULL);
    if (rc) return rc;
    if (!cli_db(db))
        return cli_fail("vacuum", EXIT_USAGE, "--db PATH is required (or set SIYU_DB)");
    siyu_err e;
    siyu_err_init(&e);
    bool truncated;
    cli_step("vacuum", "rebuilding the store");
    int vrc = store_vacuum(cli_db(db), &truncated, &e);
    cli_step_done();
    if (vrc) {
        cli_fail("vacuum", 1, "%s", e.message);
        siyu_err_clear(&e);
        return 1;
    }
    if (!truncated)
        return cli_fail(
            "vacuum", 1,
            "%s was rebuilt but its WAL is still read by someone: run siyu vacuum again",
            cli_db(db));
    printf("siyu: %s rebuilt and its WAL truncated\n", cli_db(db));
    return 0;
}

/* siyu member export ID --db PATH: the document GET /members/{id}/export answers. */
int cmd_member(int argc, char **argv)
{
    const char *db = NULL;
    cli_opt opts[] = {{"--db", true, &db, NULL, "PATH  the store (default: $SIYU_DB)"}, {0}};
    const char *pos[2];
    int np, rc = cli_parse("member", argc, argv, 2, opts, pos, 2, &np);
    if (rc) return rc;
    if (np != 2 || strcmp(pos[0], "export") != 0)
        return cli_fail("member", EXIT_USAGE, "expected 'member export ID'");
    char *end;
    long long id = strtoll(pos[1], &end, 10);
    if (*end || id <= 0) return cli_fail("member", EXIT_USAGE, "ID: expected a member id");
    store_t *st;
    if ((rc = cli_open_store("member", cli_db(db), false, &st))) return rc;
    store_conn *c = NULL;
    siyu_err e;
    siyu_err_init(&e);
    json_t *out = NULL;
    rc = 1;
    if (store_conn_open(st, &c, &e) == 0 && store_begin(c, false, &e) == 0) {
        /* the operator at the machine holding the store acts as an admin */
        dom d = {.conn = c, .who = {.role = ROLE_ADMIN}, .now = clock_now()};
        if (members_export(&d, id, &out, &e) >= 0) rc = 0;
        store_rollback(c);
    }
    if (rc == 0) {
        char *text = json_dumps(out, JSON_INDENT(2));
        puts(text);
        free(text);
    } else {
        cli_fail("member", rc, "%s", e.message);
    }
    json_decref(out);
    siyu_err_clear(&e);
    store_conn_close(c);
    store_close(st);
    return rc;
}
