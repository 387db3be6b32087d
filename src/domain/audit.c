/* audit.c — the audit log: who wrote, and who read or exported unmasked personal data.
 *
 * One row per audited request: when, the staff member and role, the action (the
 * route, "POST /api/v1/members/{id}/consents", or a named read such as
 * "member.read"), the members it named, the request id and a small JSON detail (never
 * a phone or a name: the log must not hold what an erasure removes). audit_members
 * indexes the rows by member. Append-only: no route or query updates or deletes a
 * row, except the retention sweep (retention.c) removing rows older than the setting.
 *
 * Writes are audited inside the write's own savepoint (dom_audit_write on the
 * committer's connection: the row commits with the write or not at all). Reads are
 * queued in memory (dom_audit_queue, no store work on the read path) and written in
 * batches through the group committer by the jobs' audit flush (dom_audit_flush);
 * a crash loses what was queued since the last flush (at most about a second). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/domain.h"

#define AUDIT_QUEUE_MAX 100000

typedef struct queued {
    dom_audit_entry a;
    char *role, *action, *request_id, *detail;
    int64_t *members;
} queued;

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static queued *q_items;
static size_t q_n, q_cap;
static unsigned long long q_dropped, q_written;

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void queued_free(queued *x)
{
    free(x->role);
    free(x->action);
    free(x->request_id);
    free(x->detail);
    free(x->members);
}

int dom_audit_write(store_conn *c, const dom_audit_entry *a, siyu_err *e)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < a->n_members; i++)
        json_array_append_new(ids, json_integer(a->members[i]));
    char *text = json_dumps(ids, JSON_COMPACT);
    json_decref(ids);
    store_stmt *s = store_q(c, Q_AUDIT_INSERT);
    store_bind_int(s, 1, a->at);
    if (a->staff_id)
        store_bind_int(s, 2, a->staff_id);
    else
        store_bind_null(s, 2);
    store_bind_text(s, 3, a->role);
    store_bind_text(s, 4, a->action);
    store_bind_text(s, 5, text);
    store_bind_text(s, 6, a->request_id && *a->request_id ? a->request_id : NULL);
    store_bind_text(s, 7, a->detail);
    int rc = store_exec(s, e);
    free(text);
    if (rc) return -1;
    int64_t id = store_last_id(c);
    for (size_t i = 0; i < a->n_members; i++) {
        s = store_q(c, Q_AUDIT_MEMBER_INSERT);
        store_bind_int(s, 1, a->members[i]);
        store_bind_int(s, 2, id);
        if (store_exec(s, e)) return -1;
    }
    return 0;
}

void dom_audit_queue(const dom_audit_entry *a)
{
    queued x = {.a = *a};
    x.role = dup_or_null(a->role);
    x.action = dup_or_null(a->action);
    x.request_id = dup_or_null(a->request_id);
    x.detail = dup_or_null(a->detail);
    if (a->n_members) {
        x.members = malloc(a->n_members * sizeof *x.members);
        memcpy(x.members, a->members, a->n_members * sizeof *x.members);
    }
    pthread_mutex_lock(&q_lock);
    if (q_n >= AUDIT_QUEUE_MAX) { /* the flush is failing: count what is lost */
        q_dropped++;
        pthread_mutex_unlock(&q_lock);
        queued_free(&x);
        return;
    }
    if (q_n == q_cap) {
        q_cap = q_cap ? q_cap * 2 : 64;
        q_items = realloc(q_items, q_cap * sizeof *q_items);
    }
    q_items[q_n++] = x;
    pthread_mutex_unlock(&q_lock);
}

int dom_audit_flush(store_conn *c, siyu_err *e)
{
    pthread_mutex_lock(&q_lock);
    queued *items = q_items;
    size_t n = q_n;
    q_items = NULL;
    q_n = q_cap = 0;
    pthread_mutex_unlock(&q_lock);
    size_t i;
    int rc = 0;
    for (i = 0; i < n; i++) {
        dom_audit_entry a = items[i].a;
        a.role = items[i].role;
        a.action = items[i].action;
        a.request_id = items[i].request_id;
        a.detail = items[i].detail;
        a.members = items[i].members;
        if (dom_audit_write(c, &a, e)) {
            rc = -1;
            break;
        }
    }
    if (rc) { /* undone with the batch: queue them again, in front of newer ones */
        pthread_mutex_lock(&q_lock);
        queued *merged = malloc((n + q_n + 1) * sizeof *merged);
        memcpy(merged, items, n * sizeof *merged);
        if (q_n) memcpy(merged + n, q_items, q_n * sizeof *merged);
        free(q_items);
        q_items = merged;
        q_n += n;
        q_cap = q_n + 1;
        pthread_mutex_unlock(&q_lock);
        free(items);
        return -1;
    }
    for (i = 0; i < n; i++)
        queued_free(&items[i]);
    free(items);
    pthread_mutex_lock(&q_lock);
    q_written += n;
    pthread_mutex_unlock(&q_lock);
    return 0;
}

void dom_audit_stats(unsigned long long *queued_now, unsigned long long *written,
                     unsigned long long *dropped)
{
    pthread_mutex_lock(&q_lock);
    *queued_now = q_n;
    *written = q_written;
    *dropped = q_dropped;
    pthread_mutex_unlock(&q_lock);
}

int audit_list(dom *d, const dom_audit_filter *f, int64_t cursor, int limit, json_t **out,
               siyu_err *e)
{
    (void)e;
    json_t *items = json_array();
    store_stmt *s = store_q(d->conn, Q_AUDIT_LIST);
    if (f->member_id)
        store_bind_int(s, 1, f->member_id);
    else
        store_bind_null(s, 1);
    if (f->staff_id)
        store_bind_int(s, 2, f->staff_id);
    else
        store_bind_null(s, 2);
    store_bind_text(s, 3, f->action);
    if (f->has_from)
        store_bind_int(s, 4, f->from);
    else
        store_bind_null(s, 4);
    if (f->has_to)
        store_bind_int(s, 5, f->to);
    else
        store_bind_null(s, 5);
    store_bind_int(s, 6, cursor);
    store_bind_int(s, 7, limit + 1);
    int64_t last = 0;
    int n = 0;
    bool more = false;
    while (store_step(s) == STORE_ROW) {
        if (n == limit) {
            more = true;
            break;
        }
        last = store_col_int(s, 0);
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(last));
        json_object_set_new(o, "at", dom_time(store_col_int(s, 1)));
        json_object_set_new(o, "staff_id", dom_nullable_int(s, 2));
        json_object_set_new(o, "role", json_string(store_col_text(s, 3)));
        json_object_set_new(o, "action", json_string(store_col_text(s, 4)));
        json_t *ids = json_loads(store_col_text(s, 5), 0, NULL);
        json_object_set_new(o, "member_ids", ids ? ids : json_array());
        json_object_set_new(o, "request_id", dom_nullable_text(s, 6));
        const char *dt = store_col_text(s, 7);
        json_t *detail = dt ? json_loads(dt, 0, NULL) : NULL;
        json_object_set_new(o, "detail", detail ? detail : json_object());
        json_array_append_new(items, o);
        n++;
    }
    store_reset(s);
    *out = json_pack("{s:o, s:o}", "items", items, "next_cursor",
                     more ? dom_cursor(last) : json_null());
    return 200;
}
