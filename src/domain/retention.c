/* retention.c — how long events, messages and the audit log are kept, and the sweep.
 *
 * One settings row (retention_settings; a NULL column is the default). The sweep
 * deletes, per kind, at most `batch` rows older than now − days (oldest first), each
 * call one short write through the group committer (the jobs' retention job calls it
 * again while a kind has more), so writes are never held back for long. Never swept:
 * orders, their items and refunds, the points ledger, coupons and their events, tiers
 * (reports and `siyu check` need them whole); live_view events (the reports read them
 * at start-up); messages still queued, retrying or waiting for a guide. */
#include <stdatomic.h>

#include "base/jsonx.h"
#include "domain/domain.h"

static atomic_ullong deleted[3];

void retention_stats(unsigned long long out[3])
{
    for (int i = 0; i < 3; i++)
        out[i] = atomic_load(&deleted[i]);
}

static void settings(dom *d, int64_t days[3], int64_t *updated)
{
    days[0] = RETENTION_EVENTS_DAYS;
    days[1] = RETENTION_MESSAGES_DAYS;
    days[2] = RETENTION_AUDIT_DAYS;
    *updated = 0;
    store_stmt *s = store_q(d->conn, Q_RETENTION_GET);
    if (store_step(s) == STORE_ROW) {
        for (int i = 0; i < 3; i++)
            if (!store_col_null(s, i)) days[i] = store_col_int(s, i);
        *updated = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
    }
    store_reset(s);
}

static const char *const names[3] = {"events_days", "messages_days", "audit_days"};

int retention_get(dom *d, json_t **out, siyu_err *e)
{
    (void)e;
    int64_t days[3], updated;
    settings(d, days, &updated);
    *out = json_object();
    for (int i = 0; i < 3; i++)
        json_object_set_new(*out, names[i], json_integer(days[i]));
    json_object_set_new(*out, "updated_at", updated ? dom_time(updated) : json_null());
    return 200;
}

int retention_put(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const keys[] = {"events_days", "messages_days", "audit_days", NULL};
    if (jx_only(body, keys, NULL, e)) return -1;
    int64_t days[3], updated;
    settings(d, days, &updated);
    for (int i = 0; i < 3; i++) {
        if (jx_int(body, names[i], false, &days[i], e) < 0) return -1;
        if (days[i] < 1 || days[i] > 36500)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, names[i], "%s: 1 to 36500 days",
                                names[i]);
    }
    store_stmt *s = store_q(d->conn, Q_RETENTION_PUT);
    for (int i = 0; i < 3; i++)
        store_bind_int(s, i + 1, days[i]);
    store_bind_int(s, 4, d->now);
    if (store_exec(s, e)) return -1;
    return retention_get(d, out, e);
}

int retention_sweep(dom *d, int batch, json_t **out, bool *more, siyu_err *e)
{
    int64_t days[3], updated;
    settings(d, days, &updated);
    static const store_query qs[3] = {Q_RETENTION_EVENTS, Q_RETENTION_MESSAGES, Q_RETENTION_AUDIT};
    int n[3] = {0, 0, 0};
    *more = false;
    /* PostgreSQL: the coming months' partitions made, and whole months past the cut-off
     * dropped at once (the row deletes below then take what is left of the oldest month);
     * SQLite: nothing */
    store_stmt *p = store_q(d->conn, Q_PARTITIONS_MAINTAIN);
    store_bind_int(p, 1, d->now);
    store_bind_int(p, 2, d->now - days[0] * 86400);
    store_bind_int(p, 3, d->now - days[1] * 86400);
    int64_t dropped[2] = {0, 0};
    if (store_step(p) == STORE_ROW) {
        dropped[0] = store_col_int_by(p, "events_rows");
        dropped[1] = store_col_int_by(p, "messages_rows");
    }
    store_reset(p);
    if (store_conn_check(d->conn, e)) return -1;
    for (int i = 0; i < 3; i++) {
        int64_t cutoff = d->now - days[i] * 86400;
        if (i == 2) { /* the audit rows' member index first, for the same oldest rows */
            store_stmt *m = store_q(d->conn, Q_RETENTION_AUDIT_MEMBERS);
            store_bind_int(m, 1, cutoff);
            store_bind_int(m, 2, batch);
            if (store_exec(m, e)) return -1;
        }
        store_stmt *s = store_q(d->conn, qs[i]);
        store_bind_int(s, 1, cutoff);
        store_bind_int(s, 2, batch);
        if (store_exec(s, e)) return -1;
        n[i] = store_changes(d->conn);
        if (n[i] >= batch) *more = true;
    }
    /* the change log the nodes follow each other by (views/follow.c): a node reads it within
     * a second, and one that was away longer rebuilds its views when it starts; an hour
     * is kept */
    store_stmt *cl = store_q(d->conn, Q_CHANGE_LOG_PRUNE);
    store_bind_int(cl, 1, d->now - 3600);
    store_bind_int(cl, 2, batch);
    if (store_exec(cl, e)) return -1;
    if (store_changes(d->conn) >= batch) *more = true;
    n[0] += (int)dropped[0];
    n[1] += (int)dropped[1];
    for (int i = 0; i < 3; i++)
        atomic_fetch_add(&deleted[i], (unsigned long long)n[i]);
    if (out) *out = json_pack("{s:i, s:i, s:i}", "events", n[0], "messages", n[1], "audit", n[2]);
    return 0;
}
