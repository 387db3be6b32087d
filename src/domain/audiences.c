/* audiences.c — the writes behind tags and saved segments (domain.h). They run in the
 * caller's write transaction like every other write (the group committer's, in
 * siyu serve); the member index follows them through the change list. */
#include <stdio.h>
#include <string.h>

#include "domain/domain.h"

static int name_taken(store_conn *c, store_query q, const char *name, bool *taken)
{
    store_stmt *s = store_q(c, q);
    store_bind_text(s, 1, name);
    store_step_rc rc = store_step(s);
    store_reset(s);
    *taken = rc == STORE_ROW;
    return rc == STORE_ERROR ? -1 : 0;
}

int dom_tag_create(dom *d, const char *name, const char *rule_expr, int64_t *id, siyu_err *e)
{
    if (!name || !*name)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: must not be empty");
    bool taken;
    if (name_taken(d->conn, Q_TAG_BY_NAME, name, &taken)) return store_conn_check(d->conn, e);
    if (taken) return siyu_err_set(e, SIYU_CONFLICT, "name", "name: a tag called %s exists", name);
    store_stmt *s = store_q(d->conn, Q_TAG_INSERT);
    store_bind_text(s, 1, name);
    store_bind_text(s, 2, rule_expr ? "rule" : "manual");
    store_bind_text(s, 3, rule_expr);
    store_bind_int(s, 4, d->now);
    if (store_exec(s, e)) return -1;
    *id = store_last_id(d->conn);
    dom_note(d, DOM_CHANGE_TAG, *id, 0);
    return 0;
}

int dom_tag_members(dom *d, int64_t tag_id, const int64_t *ids, size_t n, bool add, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_TAG_GET);
    store_bind_int(s, 1, tag_id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        if (store_conn_check(d->conn, e)) return -1;
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "tag %lld does not exist", (long long)tag_id);
    }
    char name[256];
    snprintf(name, sizeof name, "%s", store_col_text(s, 1));
    bool rule = strcmp(store_col_text(s, 2), "rule") == 0;
    store_reset(s);
    if (rule)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, NULL,
                            "tag %s is a rule tag: its members follow its expression", name);
    for (size_t k = 0; k < n; k++) {
        s = store_q(d->conn, add ? Q_TAG_MEMBER_ADD : Q_TAG_MEMBER_REMOVE);
        store_bind_int(s, 1, tag_id);
        store_bind_int(s, 2, ids[k]);
        if (store_exec(s, e)) return -1;
        dom_note(d, DOM_CHANGE_TAG_MEMBER, tag_id, ids[k]);
    }
    return 0;
}

int dom_segment_create(dom *d, const char *name, const char *expr, int64_t *id, siyu_err *e)
{
    if (!name || !*name)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: must not be empty");
    bool taken;
    if (name_taken(d->conn, Q_SEGMENT_BY_NAME, name, &taken)) return store_conn_check(d->conn, e);
    if (taken)
        return siyu_err_set(e, SIYU_CONFLICT, "name", "name: a segment called %s exists", name);
    store_stmt *s = store_q(d->conn, Q_SEGMENT_INSERT);
    store_bind_text(s, 1, name);
    store_bind_text(s, 2, expr);
    store_bind_int(s, 3, d->now);
    if (store_exec(s, e)) return -1;
    *id = store_last_id(d->conn);
    dom_note(d, DOM_CHANGE_SEGMENT, *id, 0);
    return 0;
}
