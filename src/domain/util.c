#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "domain/domain.h"
#include "domain/memo.h"

const char *const dom_channels[] = {"store",       "miniprogram",  "mall",        "live",
                                    "points_mall", "distribution", "third_party", NULL};
const char *const dom_store_kinds[] = {"physical",    "mall",         "live",
                                       "points_mall", "distribution", NULL};

json_t *dom_time(int64_t t)
{
    if (!t) return json_null();
    char buf[40];
    time_format_rfc3339(t, buf, sizeof buf);
    return json_string(buf);
}

json_t *dom_cursor(int64_t last_id)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)last_id);
    return json_string(buf);
}

json_t *dom_list(json_t *items, int limit, int64_t last_id)
{
    json_t *next = json_null();
    if ((int)json_array_size(items) == limit && last_id > 0) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)last_id);
        next = json_string(buf);
    }
    return json_pack("{s:o, s:o}", "items", items, "next_cursor", next);
}

json_t *dom_nullable_int(store_stmt *s, int col)
{
    return store_col_null(s, col) ? json_null() : json_integer(store_col_int(s, col));
}

json_t *dom_nullable_text(store_stmt *s, int col)
{
    const char *t = store_col_text(s, col);
    return t ? json_string(t) : json_null();
}

int dom_require_store(dom *d, int64_t id, const char *field, siyu_err *e)
{
    if (dom_memo_store_known(d->memo, id)) return 0;
    store_stmt *s = store_q(d->conn, Q_STORE_GET);
    store_bind_int(s, 1, id);
    int found = store_step(s) == STORE_ROW;
    store_reset(s);
    if (!found)
        return siyu_err_set(e, SIYU_NOT_FOUND, field, "%s: store %lld does not exist", field,
                            (long long)id);
    dom_memo_store_add(d->memo, id);
    return 0;
}

int dom_require_staff(dom *d, int64_t id, const char *want_role, const char *field,
                      int64_t *store_id, siyu_err *e)
{
    dom_memo_staff row;
    const dom_memo_staff *known = dom_memo_staff_get(d->memo, id);
    if (known) {
        row = *known;
    } else {
        store_stmt *s = store_q(d->conn, Q_STAFF_GET);
        store_bind_int(s, 1, id);
        if (store_step(s) != STORE_ROW)
            return siyu_err_set(e, SIYU_NOT_FOUND, field, "%s: staff %lld does not exist", field,
                                (long long)id);
        const char *stored = store_col_text(s, 2);
        bool fits = strlen(stored) < sizeof row.role;
        snprintf(row.role, sizeof row.role, "%s", stored);
        row.store_id = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
        store_reset(s);
        if (fits) dom_memo_staff_add(d->memo, id, &row);
    }
    if (store_id) *store_id = row.store_id;
    if (want_role && strcmp(row.role, want_role) != 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: staff %lld is a %s, not a %s",
                            field, (long long)id, row.role, want_role);
    return 0;
}

void dom_changes_touch(const dom_change *v, size_t n)
{
    bool everyone = false;
    for (size_t i = 0; i < n; i++) {
        const dom_change *x = &v[i];
        switch (x->kind) {
        case DOM_CHANGE_MEMBER:
        case DOM_CHANGE_REACH:
        case DOM_CHANGE_LIVE_VIEW:
        case DOM_CHANGE_LOYALTY:
        case DOM_CHANGE_MEMBER_360:
            store_view_touch(x->id);
            break;
        case DOM_CHANGE_MERGE:
            store_view_touch(x->id);
            store_view_touch(x->other);
            break;
        case DOM_CHANGE_ORDER:
        case DOM_CHANGE_TAG_MEMBER:
            if (x->other) store_view_touch(x->other);
            break;
        case DOM_CHANGE_REFUND: /* its member comes as DOM_CHANGE_MEMBER_360 */
            break;
        case DOM_CHANGE_GROUP_DAY: /* the index touches the members whose counts it reloads */
        case DOM_CHANGE_GROUP:     /* the index does not follow a group's row or stints */
            break;
        case DOM_CHANGE_TAG:
        case DOM_CHANGE_SEGMENT:
        case DOM_CHANGE_AUDIENCE_SETTINGS:
            /* the member index re-derives tags and classes of members these do not name */
            everyone = true;
            break;
        }
    }
    if (everyone) store_view_bump();
}

void dom_until(dom *d, int64_t t)
{
    if (t > 0 && (!d->until || t < d->until)) d->until = t;
}

void dom_note(dom *d, dom_change_kind kind, int64_t id, int64_t other)
{
    dom_changes *c = d->changes;
    if (!c) return;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n++] = (dom_change){kind, id, other};
}

void dom_changes_clear(dom_changes *c)
{
    c->n = 0;
}

void dom_changes_free(dom_changes *c)
{
    free(c->v);
    c->v = NULL;
    c->n = c->cap = 0;
}

/* Set once at start-up, before any request thread exists. */
static const dom_loyalty_hooks *loyalty_hooks;

void dom_set_loyalty(const dom_loyalty_hooks *hooks)
{
    loyalty_hooks = hooks;
}

const dom_loyalty_hooks *dom_loyalty(void)
{
    return loyalty_hooks;
}
