/* demo_console.c — the demo chain's console sign-ins (docs/console.md).
 *
 * An HQ admin and an HQ operator join the chain's staff (the generated chain has store
 * managers and guides only), and four people get a login with the demo password:
 * admin, operator, the first store's manager (manager) and one of its guides (guide).
 * A store kept from an earlier run keeps its logins. */
#include <stdio.h>
#include <string.h>

#include "auth/session.h"
#include "base/timeutil.h"
#include "cli/cli.h"

int demo_console(store_t *st, siyu_err *e);

static int64_t add_staff(store_conn *c, const char *name, const char *kind, const char *code,
                         int64_t now, siyu_err *e)
{
    store_stmt *s = store_q(c, Q_STAFF_INSERT);
    store_bind_text(s, 1, name);
    store_bind_text(s, 2, kind);
    store_bind_text(s, 4, code);
    store_bind_int(s, 5, now);
    if (store_exec(s, e)) return -1;
    return store_last_id(c);
}

static int login(store_conn *c, int64_t staff, const char *username, const char *hash, int64_t now,
                 siyu_err *e)
{
    return auth_login_store(c, staff, username, hash, now, NULL, e) < 0 ? -1 : 0;
}

int demo_console(store_t *st, siyu_err *e)
{
    char hash[AUTH_PWHASH_LEN];
    if (auth_password_hash(DEMO_CONSOLE_PASSWORD, hash, e)) return -1;
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    int64_t now = clock_now(), manager = 0, guide = 0, store = 0, after = 0;
    int rc = store_begin(c, true, e);
    /* the first store's manager, and a guide of the same store */
    for (bool more = true; rc == 0 && more && !(manager && guide);) {
        store_stmt *s = store_q(c, Q_STAFF_LIST);
        store_bind_int(s, 1, after);
        store_bind_int(s, 2, 500);
        more = false;
        while (store_step(s) == STORE_ROW) {
            more = true;
            after = store_col_int(s, 0);
            const char *what = store_col_text(s, 2);
            int64_t at = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
            if (!manager && strcmp(what, "store_manager") == 0 && at) {
                manager = after;
                store = at;
            }
        }
        store_reset(s);
    }
    after = 0;
    if (rc == 0 && store) {
        store_stmt *s = store_q(c, Q_STAFF_LIST);
        store_bind_int(s, 1, 0);
        store_bind_int(s, 2, 1000);
        store_bind_int(s, 3, store);
        while (!guide && store_step(s) == STORE_ROW)
            if (strcmp(store_col_text(s, 2), "guide") == 0) guide = store_col_int(s, 0);
        store_reset(s);
    }
    int64_t admin = 0, operator= 0;
    if (rc == 0) admin = add_staff(c, "总部管理员 HQ admin", "admin", "hq-admin", now, e);
    if (rc == 0 && admin > 0)
        operator= add_staff(c, "总部运营 HQ operator", "operator", "hq-operator", now, e);
    if (rc == 0 && (admin <= 0 || operator<= 0)) rc = -1;
    if (rc == 0) rc = login(c, admin, "admin", hash, now, e);
    if (rc == 0) rc = login(c, operator, "operator", hash, now, e);
    if (rc == 0 && manager) rc = login(c, manager, "manager", hash, now, e);
    if (rc == 0 && guide) rc = login(c, guide, "guide", hash, now, e);
    if (rc == 0) rc = store_commit(c, e);
    if (rc) store_rollback(c);
    store_conn_close(c);
    return rc;
}
