/* scope.c — which objects a caller may touch: the rule for each kind of object.
 *
 * Admins and operators see the whole chain. A store manager sees their store: its
 * members, orders, staff and the tasks of its guides. A guide sees their own members,
 * the orders credited to them or placed by their members, and their own tasks. A
 * cashier (a till) serves any member of the chain — away-from-home shoppers are about
 * an eighth of a store's orders — but only at its own store; the route table admits a
 * cashier to little (look up, benefits, orders). The HTTP pipeline applies these rules
 * once per request from the route table (src/http/scope.c); domain calls keep their
 * own checks as a second line. Each answers 1 in scope, 0 out of scope, -1 with
 * not_found when there is no such object. */
#include <string.h>

#include "base/phone.h"
#include "domain/domain.h"

static bool hq(const dom *d)
{
    return d->who.role == ROLE_ADMIN || d->who.role == ROLE_OPERATOR;
}

int scope_member(dom *d, int64_t id, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_SCOPE_MEMBER);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "member %lld does not exist", (long long)id);
    }
    int64_t sid = store_col_null(s, 0) ? 0 : store_col_int(s, 0);
    int64_t gid = store_col_null(s, 1) ? 0 : store_col_int(s, 1);
    store_reset(s);
    return members_in_scope(d, sid, gid);
}

int scope_member_home(dom *d, int64_t id, int64_t *store_id)
{
    store_stmt *s = store_q(d->conn, Q_SCOPE_MEMBER);
    store_bind_int(s, 1, id);
    int found = store_step(s) == STORE_ROW;
    *store_id = found && !store_col_null(s, 0) ? store_col_int(s, 0) : 0;
    store_reset(s);
    return found;
}

int scope_order(dom *d, int64_t id, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_SCOPE_ORDER);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "order %lld does not exist", (long long)id);
    }
    int64_t sid = store_col_int(s, 0);
    int64_t gid = store_col_null(s, 1) ? 0 : store_col_int(s, 1);
    int64_t mgid = store_col_null(s, 2) ? 0 : store_col_int(s, 2);
    store_reset(s);
    switch (d->who.role) {
    case ROLE_ADMIN:
    case ROLE_OPERATOR:
        return 1;
    case ROLE_STORE_MANAGER:
    case ROLE_CASHIER:
        return sid == d->who.store_id;
    case ROLE_GUIDE:
        return gid == d->who.staff_id || mgid == d->who.staff_id;
    default:
        return 0;
    }
}

/* A staff member: a store manager's and a till's are their store's staff, a guide's
 * is themself. */
int scope_staff(dom *d, int64_t id, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_SCOPE_STAFF);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "staff %lld does not exist", (long long)id);
    }
    int64_t sid = store_col_null(s, 0) ? 0 : store_col_int(s, 0);
    store_reset(s);
    switch (d->who.role) {
    case ROLE_ADMIN:
    case ROLE_OPERATOR:
        return 1;
    case ROLE_STORE_MANAGER:
    case ROLE_CASHIER:
        return sid && sid == d->who.store_id;
    case ROLE_GUIDE:
        return id == d->who.staff_id;
    default:
        return 0;
    }
}

int scope_store(dom *d, int64_t id, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_SCOPE_STORE);
    store_bind_int(s, 1, id);
    int found = store_step(s) == STORE_ROW;
    store_reset(s);
    if (!found)
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "store %lld does not exist", (long long)id);
    return hq(d) || id == d->who.store_id;
}

int scope_task(dom *d, int64_t id, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_SCOPE_TASK);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "task %lld not found", (long long)id);
    }
    int64_t gid = store_col_null(s, 0) ? 0 : store_col_int(s, 0);
    int64_t sid = store_col_null(s, 1) ? 0 : store_col_int(s, 1);
    store_reset(s);
    switch (d->who.role) {
    case ROLE_ADMIN:
    case ROLE_OPERATOR:
        return 1;
    case ROLE_STORE_MANAGER:
        return sid && sid == d->who.store_id;
    case ROLE_GUIDE:
        return gid == d->who.staff_id;
    default:
        return 0;
    }
}

int scope_coupon(dom *d, const char *code, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_SCOPE_COUPON);
    store_bind_text(s, 1, code);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "coupon %s does not exist", code);
    }
    int64_t member = store_col_int(s, 0);
    store_reset(s);
    return scope_member(d, member, e);
}

int64_t scope_identity_owner(dom *d, const char *kind, const char *app_id, const char *value)
{
    char norm[64];
    if (strcmp(kind, "phone") == 0) {
        if (phone_normalise(value, norm, sizeof norm)) return 0;
        value = norm;
    }
    store_stmt *s = store_q(d->conn, Q_SCOPE_IDENTITY);
    store_bind_text(s, 1, kind);
    store_bind_text(s, 2, strcmp(kind, "openid") == 0 && app_id ? app_id : "");
    store_bind_text(s, 3, value);
    int64_t owner = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    return owner;
}
