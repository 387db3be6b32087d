/* events.c — what members do outside orders, and the reachability it implies.
 *
 * Reachability (can we reach this member online, and how) is derived from events:
 * following the public account, becoming a guide's enterprise-WeChat contact,
 * joining a store group, opting in to SMS, authorising the mini-program — and their
 * opposites. Each channel keeps the state of its latest event by event time, so
 * events arriving out of order (bulk import, retries) still end in the right state.
 * An event is identified by its content: the same event posted twice is stored once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/digest.h"
#include "base/jsonx.h"
#include "domain/domain.h"

const char *const dom_event_types[] = {"follow_public_account",
                                       "unfollow_public_account",
                                       "add_guide_contact",
                                       "remove_guide_contact",
                                       "join_group",
                                       "leave_group",
                                       "sms_opt_in",
                                       "sms_opt_out",
                                       "miniprogram_authorize",
                                       "share",
                                       "live_view",
                                       NULL};

/* What each event type does to reachability: channel and new state, or none. The sms
 * entries are consent, not a connection: they are recorded in the one consent model
 * (marketing, sms, source "event"), which sms reachability reads. */
static const struct {
    const char *channel;
    int on;
} reach_effect[] = {
    {"public_account", 1},
    {"public_account", 0},
    {"wecom", 1},
    {"wecom", 0},
    {"group", 1},
    {"group", 0},
    {"sms", 1},
    {"sms", 0},
    {"miniprogram", 1},
    {NULL, 0},
    {NULL, 0},
};

#define MAX_BATCH 1000

typedef struct event_in {
    int type;
    int64_t member_id, at;
    json_t *props; /* borrowed */
} event_in;

static int read_event(dom *d, json_t *ev, const char *prefix, event_in *out, siyu_err *e)
{
    static const char *const allowed[] = {"type", "member_id", "member", "at", "props", NULL};
    siyu_err sub;
    siyu_err_init(&sub);
    char f[80];
    if (!json_is_object(ev))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, prefix, "%s: not an object", prefix);
    out->at = d->now;
    out->member_id = 0;
    if (jx_only(ev, allowed, NULL, &sub) ||
        jx_enum(ev, "type", true, dom_event_types, &out->type, &sub) < 0 ||
        jx_int(ev, "member_id", false, &out->member_id, &sub) < 0 ||
        jx_time(ev, "at", false, &out->at, &sub) < 0)
        goto fail;
    out->props = json_object_get(ev, "props");
    if (out->props && !json_is_null(out->props) && !json_is_object(out->props)) {
        siyu_err_set(&sub, SIYU_INVALID_ARGUMENT, "props", "props: not an object");
        goto fail;
    }
    if (out->at > d->now + 300) {
        siyu_err_set(&sub, SIYU_INVALID_ARGUMENT, "at", "at: is in the future");
        goto fail;
    }
    json_t *m = json_object_get(ev, "member");
    if (out->member_id && m) {
        siyu_err_set(&sub, SIYU_INVALID_ARGUMENT, "member",
                     "member: give member_id or member, not both");
        goto fail;
    }
    if (out->member_id) {
        out->member_id = members_live_id(d, out->member_id, "member_id", &sub);
        if (out->member_id < 0) goto fail;
    } else if (m) {
        out->member_id = members_resolve(d, m, "member.", false, NULL, &sub);
        if (out->member_id < 0) goto fail;
    } else {
        siyu_err_set(&sub, SIYU_INVALID_ARGUMENT, "member_id", "member_id: required (or member)");
        goto fail;
    }
    /* a guide records events only for their own members, a store manager for their store */
    store_stmt *s = store_q(d->conn, Q_MEMBER_GET);
    store_bind_int(s, 1, out->member_id);
    store_step(s);
    int64_t sid = store_col_opt_by(s, "store_id");
    int64_t gid = store_col_opt_by(s, "guide_id");
    store_reset(s);
    if (!members_in_scope(d, sid, gid)) {
        siyu_err_set(&sub, SIYU_PERMISSION_DENIED, "member_id",
                     "member_id: member %lld is outside your scope", (long long)out->member_id);
        goto fail;
    }
    return 0;
fail:
    snprintf(f, sizeof f, "%s%s%s", prefix, *prefix && sub.field[0] ? "." : "", sub.field);
    siyu_err_set(e, sub.code, f, "%s%s%s", prefix, *prefix ? ": " : "", sub.message);
    if (sub.details) e->details = sub.details;
    return -1;
}

/* Writes one event; returns 1 when new, 0 when it was already there. */
static int write_event(dom *d, const event_in *ev, siyu_err *e)
{
    unsigned char dg[DIGEST_BYTES];
    digest dd;
    digest_init(&dd);
    digest_str(&dd, dom_event_types[ev->type]);
    digest_int(&dd, ev->member_id);
    digest_int(&dd, ev->at);
    digest_json(&dd, ev->props && !json_is_null(ev->props) ? ev->props : NULL);
    digest_final(&dd, dg);
    store_stmt *s = store_q(d->conn, Q_EVENT_BY_DIGEST);
    store_bind_blob(s, 1, dg, 16);
    int seen = store_step(s) == STORE_ROW;
    store_reset(s);
    if (seen) return 0;
    char *props =
        ev->props && !json_is_null(ev->props) ? json_dumps(ev->props, JSON_COMPACT) : NULL;
    s = store_q(d->conn, Q_EVENT_INSERT);
    store_bind_int(s, 1, ev->member_id);
    store_bind_text(s, 2, dom_event_types[ev->type]);
    store_bind_int(s, 3, ev->at);
    store_bind_text(s, 4, props);
    store_bind_blob(s, 5, dg, 16);
    int rc = store_exec(s, e);
    free(props);
    if (rc) return -1;
    if (strcmp(dom_event_types[ev->type], "live_view") == 0)
        dom_note(d, DOM_CHANGE_LIVE_VIEW, ev->member_id, ev->at);
    if (reach_effect[ev->type].channel && strcmp(reach_effect[ev->type].channel, "sms") == 0)
        return dom_consent_put(d, ev->member_id, "marketing", "sms", reach_effect[ev->type].on,
                               "event", NULL, ev->at, e)
                   ? -1
                   : 1;
    if (reach_effect[ev->type].channel) {
        s = store_q(d->conn, Q_REACH_UPSERT);
        store_bind_int(s, 1, ev->member_id);
        store_bind_text(s, 2, reach_effect[ev->type].channel);
        store_bind_int(s, 3, reach_effect[ev->type].on);
        store_bind_int(s, 4, ev->at);
        if (store_exec(s, e)) return -1;
        if (store_changes(d->conn)) dom_note(d, DOM_CHANGE_REACH, ev->member_id, 0);
    }
    return 1;
}

int events_record(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    json_t *batch = json_object_get(body, "events");
    size_t n = 1;
    if (batch) {
        if (json_object_size(body) != 1)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "events",
                                "events: a batch body has only the events field");
        if (!json_is_array(batch))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "events", "events: not an array");
        n = json_array_size(batch);
        if (n == 0 || n > MAX_BATCH)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "events",
                                "events: a batch holds 1 to %d events", MAX_BATCH);
    }
    event_in *evs = malloc(sizeof *evs * n);
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        char prefix[32] = "";
        if (batch) snprintf(prefix, sizeof prefix, "events[%zu]", i);
        if (read_event(d, batch ? json_array_get(batch, i) : body, prefix, &evs[i], e)) goto done;
    }
    /* every event checked: now write them all */
    int added = 0, dup = 0;
    for (size_t i = 0; i < n; i++) {
        int w = write_event(d, &evs[i], e);
        if (w < 0) goto done;
        added += w;
        dup += !w;
    }
    if (out) *out = json_pack("{s:i, s:i}", "accepted", added, "duplicates", dup);
    rc = added ? 201 : 200;
done:
    free(evs);
    return rc;
}
