/* cmd_staff.c — siyu staff login: sets or resets a staff member's console sign-in.
 *
 * The password is read from standard input (its first line), never from the command
 * line, where other users of the machine could read it in the process list. Setting a
 * login ends the staff member's open sessions, as PUT /api/v1/staff/{id}/login does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/session.h"
#include "base/timeutil.h"
#include "cli/cli.h"

int cmd_staff(int argc, char **argv)
{
    const char *db = NULL, *staff_s = NULL, *username = NULL;
    bool remove = false;
    cli_opt opts[] = {
        {"--db", true, &db, NULL, "PATH  the store (default: $SIYU_DB)"},
        {"--staff", true, &staff_s, NULL, "ID  the staff member (required)"},
        {"--username", true, &username, NULL,
         "NAME  what they sign in as: 3 to 64 letters, digits, . _ - @ (required unless --remove)"},
        {"--remove", false, NULL, &remove,
         "remove the sign-in instead (they left): their sessions end"},
        {0}};
    const char *pos[1];
    int np, rc = cli_parse("staff", argc, argv, 2, opts, pos, 1, &np);
    if (rc) return rc;
    if (np != 1 || strcmp(pos[0], "login") != 0)
        return cli_fail("staff", EXIT_USAGE, "expected 'staff login'");
    char *end;
    long long staff = staff_s ? strtoll(staff_s, &end, 10) : 0;
    if (!staff_s || *end || staff <= 0)
        return cli_fail("staff", EXIT_USAGE, "--staff: expected a staff id");
    if (!remove && !username)
        return cli_fail("staff", EXIT_USAGE, "--username is required (or --remove)");
    siyu_err e;
    siyu_err_init(&e);
    char password[300] = "", hash[AUTH_PWHASH_LEN];
    if (!remove) {
        if (!fgets(password, sizeof password, stdin))
            return cli_fail("staff", EXIT_USAGE, "the password is read from standard input");
        password[strcspn(password, "\r\n")] = 0;
        if (auth_login_check(username, password, &e) || auth_password_hash(password, hash, &e)) {
            sodium_memzero(password, sizeof password);
            rc = cli_fail("staff", EXIT_USAGE, "%s", e.message);
            siyu_err_clear(&e);
            return rc;
        }
        sodium_memzero(password, sizeof password);
    }
    store_t *st;
    if ((rc = cli_open_store("staff", cli_db(db), false, &st))) return rc;
    store_conn *c;
    rc = 1;
    if (store_conn_open(st, &c, &e) == 0) {
        json_t *out = NULL;
        int64_t now = clock_now();
        if (store_begin(c, true, &e) == 0 &&
            (remove ? auth_login_remove(c, staff, now, &e)
                    : auth_login_store(c, staff, username, hash, now, &out, &e)) >= 0 &&
            store_commit(c, &e) == 0) {
            rc = 0;
            if (remove)
                printf("staff %lld: sign-in removed\n", staff);
            else
                printf("staff %lld signs in as %s\n", staff, username);
        } else {
            store_rollback(c);
        }
        json_decref(out);
        store_conn_close(c);
    }
    if (rc) cli_fail("staff", 1, "%s", e.message);
    siyu_err_clear(&e);
    store_close(st);
    return rc;
}
