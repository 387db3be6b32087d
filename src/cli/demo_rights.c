/* demo_rights.c — the demo chain's members' rights: erasures and an audit trail.
 *
 * Three members asked to be forgotten in the last week (erased as `POST /members/{id}/erase`
 * erases: the pseudonymous record keeps their orders and figures), and the audit log holds
 * a week of what the console and the API record: store managers reading member 360s, an
 * admin exporting one member's data, and the erasures themselves. So the privacy pages of
 * the console and `GET /api/v1/audit` have something true to show. */
#include <stdio.h>

#include "base/timeutil.h"
#include "cli/demo.h"
#include "domain/domain.h"

#define DAY 86400

static int audit(store_conn *c, int64_t at, int64_t staff, const char *as_role, const char *action,
                 int64_t member, const char *request_id, const char *detail, siyu_err *e)
{
    dom_audit_entry a = {.at = at,
                         .staff_id = staff,
                         .role = as_role,
                         .action = action,
                         .request_id = request_id,
                         .detail = detail,
                         .members = &member,
                         .n_members = 1};
    return dom_audit_write(c, &a, e);
}

int demo_rights(store_t *st, siyu_err *e)
{
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    int64_t now = clock_now();
    int rc = store_begin(c, true, e);
    store_stmt *s = rc ? NULL : store_q(c, Q_COUNT_MEMBERS);
    int64_t members = s && store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    if (s) store_reset(s);

    /* a week of store managers reading member 360s (manager k runs store k) */
    for (int i = 0; i < 60 && rc == 0 && members > 0; i++) {
        int64_t manager = 1 + i % 20, member = 1 + (i * 7919) % members;
        char rid[40];
        snprintf(rid, sizeof rid, "req_demo_read_%02d", i);
        rc = audit(c, now - 7 * DAY + i * (7 * DAY / 60), manager, "store_manager", "member.read",
                   member, rid, NULL, e);
    }
    if (rc == 0 && members > 0)
        rc = audit(c, now - 3 * DAY, 0, "admin", "member.export", 1 + 4242 % members,
                   "req_demo_export_1", NULL, e);

    /* three erasures at the members' request, each audited as the API audits it */
    static const int64_t asked[] = {97, 2024, 31415};
    for (size_t i = 0; i < sizeof asked / sizeof *asked && rc == 0; i++) {
        if (asked[i] > members) continue;
        dom d = {.conn = c, .now = now - (int64_t)(3 - i) * DAY};
        d.who.role = ROLE_ADMIN;
        char rid[40];
        snprintf(rid, sizeof rid, "req_demo_erase_%zu", i + 1);
        json_t *body = json_pack("{s:s}", "reason", "会员本人在门店服务台申请删除个人信息"),
               *out = NULL;
        siyu_err sub;
        siyu_err_init(&sub);
        if ((rc = store_savepoint(c, e)) == 0 &&
            (rc = demo_settle(c, members_erase(&d, asked[i], body, rid, &out, &sub), &sub, e)) == 0)
            rc = audit(c, d.now, 0, "admin", "POST /api/v1/members/{id}/erase", asked[i], rid,
                       "{\"status\":200}", e);
        if (rc == 1) rc = 0; /* merged away in the history: another member's */
        json_decref(body);
        json_decref(out);
    }
    if (rc == 0)
        rc = store_commit(c, e);
    else
        store_rollback(c);
    store_conn_close(c);
    return rc;
}
