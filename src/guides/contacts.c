/* contacts.c — contacts as edges, the bridge's WeCom events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guides/guides.h"
#include "base/digest.h"
#include "base/jsonx.h"
#include "base/timeutil.h"

/* ---------------- reading edges ---------------- */

static int64_t live_edges(dom *d, int64_t member_id)
{
    store_stmt *s = store_q(d->conn, Q_CONTACTS_LIVE_COUNT);
    store_bind_int(s, 1, member_id);
    int64_t n = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    return n;
}

int64_t guides_credited(dom *d, int64_t member_id)
{
    store_stmt *s = store_q(d->conn, Q_CONTACT_CREDITED);
    store_bind_int(s, 1, member_id);
    int64_t g = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    if (g) return g;
    s = store_q(d->conn, Q_MEMBER_GET);
    store_bind_int(s, 1, member_id);
    if (store_step(s) == STORE_ROW && !store_col_null_by(s, "guide_id"))
        g = store_col_int_by(s, "guide_id");
    store_reset(s);
    return g;
}

void guides_member_block(dom *d, json_t *member)
{
    int64_t id = json_integer_value(json_object_get(member, "id"));
    if (!id) return;
    json_object_set_new(member, "contacts", json_integer(live_edges(d, id)));
    int64_t g = guides_credited(d, id);
    json_object_set_new(member, "credited_guide_id", g ? json_integer(g) : json_null());
    store_stmt *s = store_q(d->conn, Q_MEMBER_ACQUISITION);
    store_bind_int(s, 1, id);
    if (store_step(s) == STORE_ROW)
        json_object_set_new(member, "acquisition",
                            json_pack("{s:o, s:o, s:o, s:o, s:o}", "qr_code_id",
                                      dom_nullable_int(s, 0), "campaign", dom_nullable_text(s, 1),
                                      "channel", dom_nullable_text(s, 2), "store_id",
                                      dom_nullable_int(s, 3), "guide_id", dom_nullable_int(s, 4)));
    store_reset(s);
}

int member_contacts(dom *d, int64_t member_id, json_t **out, siyu_err *e)
{
    json_t *m = NULL;
    if (members_get(d, member_id, &m, e) < 0) /* live, in scope; follows merges */
        return -1;
    int64_t id = json_integer_value(json_object_get(m, "id"));
    json_decref(m);
    json_t *items = json_array();
    int64_t live = 0;
    store_stmt *s = store_q(d->conn, Q_CONTACTS_OF_MEMBER);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW) {
        bool is_live = store_col_null(s, 9) && store_col_null(s, 10);
        live += is_live;
        json_t *c = json_object();
        json_object_set_new(c, "guide_id", json_integer(store_col_int(s, 0)));
        json_object_set_new(c, "guide_name", dom_nullable_text(s, 1));
        json_object_set_new(c, "userid", dom_nullable_text(s, 2));
        json_object_set_new(c, "external_userid", dom_nullable_text(s, 3));
        json_object_set_new(c, "added_at", dom_time(store_col_int(s, 4)));
        json_object_set_new(c, "add_way", dom_nullable_int(s, 5));
        json_object_set_new(c, "state", dom_nullable_text(s, 6));
        json_object_set_new(c, "qr_code_id", dom_nullable_int(s, 7));
        json_object_set_new(c, "remark", dom_nullable_text(s, 8));
        json_object_set_new(c, "customer_deleted_at",
                            store_col_null(s, 9) ? json_null() : dom_time(store_col_int(s, 9)));
        json_object_set_new(c, "guide_deleted_at",
                            store_col_null(s, 10) ? json_null() : dom_time(store_col_int(s, 10)));
        json_object_set_new(c, "live", json_boolean(is_live));
        json_array_append_new(items, c);
    }
    int64_t g = guides_credited(d, id);
    *out = json_pack("{s:I, s:o, s:I, s:o}", "member_id", (json_int_t)id, "credited_guide_id",
                     g ? json_integer(g) : json_null(), "live", (json_int_t)live, "items", items);
    return 200;
}

/* ---------------- the bridge's events ---------------- */

static const char *const wecom_kinds[] = {"add_external_contact", "edit_external_contact",
                                          "del_external_contact", "del_follow_user", NULL};
enum { EV_ADD, EV_EDIT, EV_DEL_BY_GUIDE, EV_DEL_BY_CUSTOMER };

/* reach.wecom follows the live edges (consent gates it in member_reach_now) */
int guides_reach_follow(dom *d, int64_t member_id, int64_t at, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_REACH_UPSERT);
    store_bind_int(s, 1, member_id);
    store_bind_text(s, 2, "wecom");
    store_bind_int(s, 3, live_edges(d, member_id) > 0);
    store_bind_int(s, 4, at);
    if (store_exec(s, e)) return -1;
    /* noted even when the flag stays: the index's contacts and contact_days follow */
    dom_note(d, DOM_CHANGE_REACH, member_id, 0);
    return 0;
}

typedef struct staff_ref {
    int64_t id, store_id;
} staff_ref;

static int guide_by_userid(dom *d, const char *uid, staff_ref *g, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_STAFF_BY_WECOM);
    store_bind_text(s, 1, uid);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "userid",
                            "userid: no staff member has WeCom userid %s", uid);
    }
    g->id = store_col_int(s, 0);
    g->store_id = store_col_null(s, 1) ? 0 : store_col_int(s, 1);
    store_reset(s);
    return 0;
}

/* add_external_contact: the member (found by identities, or created and attributed to
 * the code its state names), then the edge. */
static int64_t contact_add(dom *d, json_t *ev, const staff_ref *g, const char *ext, int64_t at,
                           siyu_err *e)
{
    const char *state = NULL, *unionid = NULL, *phone = NULL, *name = NULL, *remark = NULL;
    int64_t add_way = -1;
    if (jx_str(ev, "state", false, &state, e) < 0 ||
        jx_str(ev, "unionid", false, &unionid, e) < 0 ||
        jx_str(ev, "phone", false, &phone, e) < 0 || jx_str(ev, "name", false, &name, e) < 0 ||
        jx_str(ev, "remark", false, &remark, e) < 0 ||
        jx_int(ev, "add_way", false, &add_way, e) < 0)
        return -1;
    int64_t code = 0, code_store = 0;
    const char *campaign = NULL;
    char campaign_buf[256] = "";
    if (state && (code = qr_state_code(state))) {
        store_stmt *s = store_q(d->conn, Q_QR_BY_STATE);
        store_bind_text(s, 1, state);
        if (store_step(s) == STORE_ROW) {
            code_store = store_col_null(s, 1) ? 0 : store_col_int(s, 1);
            if (!store_col_null(s, 2)) {
                snprintf(campaign_buf, sizeof campaign_buf, "%s", store_col_text(s, 2));
                campaign = campaign_buf;
            }
        } else {
            code = 0; /* a state that looks like a code but names none is kept as text */
        }
        store_reset(s);
    }
    json_t *ident = json_pack("{s:s}", "wecom_external_id", ext);
    if (unionid) json_object_set_new(ident, "unionid", json_string(unionid));
    if (phone) json_object_set_new(ident, "phone", json_string(phone));
    if (name) json_object_set_new(ident, "name", json_string(name));
    member_defaults defs = {.store_id = code_store ? code_store : g->store_id,
                            .guide_id = g->id,
                            .joined_at = at,
                            .channel = "store"};
    bool created = false;
    int64_t mid = members_resolve(d, ident, "event.", false, NULL, e);
    if (mid < 0 && e->code == SIYU_NOT_FOUND) {
        siyu_err_clear(e);
        created = true;
        mid = members_resolve(d, ident, "event.", true, &defs, e);
    }
    json_decref(ident);
    if (mid < 0) {
        if (e->field[0] == 'e' &&
            strncmp(e->field, "event.", 6) == 0) /* "event.phone" -> "phone" */
            memmove(e->field, e->field + 6, strlen(e->field + 6) + 1);
        return -1;
    }
    if (created && (code || campaign)) {
        store_stmt *s = store_q(d->conn, Q_MEMBER_ACQUIRED_SET);
        if (code) store_bind_int(s, 1, code);
        store_bind_text(s, 2, campaign);
        store_bind_int(s, 3, mid);
        if (store_exec(s, e)) return -1;
        dom_note(d, DOM_CHANGE_MEMBER, mid, 0);
    }
    store_stmt *s = store_q(d->conn, Q_CONTACT_ADD);
    store_bind_int(s, 1, mid);
    store_bind_int(s, 2, g->id);
    store_bind_text(s, 3, ext);
    store_bind_int(s, 4, at);
    if (add_way >= 0) store_bind_int(s, 5, add_way);
    store_bind_text(s, 6, state);
    if (code) store_bind_int(s, 7, code);
    store_bind_text(s, 8, remark);
    store_bind_int(s, 9, d->now);
    if (store_exec(s, e) || guides_reach_follow(d, mid, at, e)) return -1;
    dom_note(d, DOM_CHANGE_MEMBER_360, mid, 0); /* its contacts and acquisition */
    /* the contact_added journey trigger: an event carrying the guide and the code */
    json_t *props = json_pack("{s:I, s:s}", "guide_id", (json_int_t)g->id, "external_userid", ext);
    json_object_set_new(props, "state", state ? json_string(state) : json_null());
    json_object_set_new(props, "qr_code_id", code ? json_integer(code) : json_null());
    json_object_set_new(props, "campaign", campaign ? json_string(campaign) : json_null());
    char *text = json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(props);
    unsigned char dg[DIGEST_BYTES];
    digest_of_json(ev, dg);
    dg[0] ^= 0x5a; /* not the WeCom event's own digest (wecom_events) */
    s = store_q(d->conn, Q_EVENT_INSERT);
    store_bind_int(s, 1, mid);
    store_bind_text(s, 2, "contact_added");
    store_bind_int(s, 3, at);
    store_bind_text(s, 4, text);
    store_bind_blob(s, 5, dg, DIGEST_BYTES);
    int rc = store_exec(s, e);
    free(text);
    if (rc) return -1;
    return created ? -2 - mid : mid; /* the caller tells a created member apart */
}

static int64_t contact_change(dom *d, int kind, json_t *ev, const staff_ref *g, const char *ext,
                              int64_t at, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_CONTACT_GET);
    store_bind_int(s, 1, g->id);
    store_bind_text(s, 2, ext);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "external_userid",
                            "external_userid: %s is not a contact of userid's guide", ext);
    }
    int64_t mid = store_col_int(s, 1);
    store_reset(s);
    if (kind == EV_EDIT) {
        const char *remark = NULL, *state = NULL;
        if (jx_str(ev, "remark", false, &remark, e) < 0 ||
            jx_str(ev, "state", false, &state, e) < 0)
            return -1;
        s = store_q(d->conn, Q_CONTACT_EDIT);
        store_bind_text(s, 1, remark);
        store_bind_text(s, 2, state);
        store_bind_int(s, 3, d->now);
        store_bind_int(s, 4, g->id);
        store_bind_text(s, 5, ext);
        if (store_exec(s, e)) return -1;
        dom_note(d, DOM_CHANGE_MEMBER_360, mid, 0);
        return mid;
    }
    s = store_q(d->conn, kind == EV_DEL_BY_GUIDE ? Q_CONTACT_GUIDE_DEL : Q_CONTACT_CUSTOMER_DEL);
    store_bind_int(s, 1, at);
    store_bind_int(s, 2, d->now);
    store_bind_int(s, 3, g->id);
    store_bind_text(s, 4, ext);
    if (store_exec(s, e) || guides_reach_follow(d, mid, at, e)) return -1;
    dom_note(d, DOM_CHANGE_MEMBER_360, mid, 0);
    return mid;
}

static int one_event(dom *d, json_t *ev, json_t *results, int *recorded, siyu_err *e)
{
    static const char *const allowed[] = {
        "event", "userid", "external_userid", "state",  "at", "unionid",
        "phone", "name",   "add_way",         "remark", NULL};
    if (!json_is_object(ev))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "event", "event: expected an object");
    int kind;
    const char *uid, *ext;
    int64_t at;
    if (jx_only(ev, allowed, NULL, e) || jx_enum(ev, "event", true, wecom_kinds, &kind, e) < 0 ||
        jx_str(ev, "userid", true, &uid, e) < 0 ||
        jx_str(ev, "external_userid", true, &ext, e) < 0 || jx_time(ev, "at", true, &at, e) < 0)
        return -1;
    if (!*ext)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "external_userid",
                            "external_userid: must not be empty");
    if (at > d->now + 300)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "at", "at: is in the future");
    unsigned char dg[DIGEST_BYTES];
    digest_of_json(ev, dg);
    store_stmt *s = store_q(d->conn, Q_WECOM_EVENT_SEEN);
    store_bind_blob(s, 1, dg, DIGEST_BYTES);
    bool seen = store_step(s) == STORE_ROW;
    store_reset(s);
    json_t *r = json_pack("{s:s, s:b}", "event", wecom_kinds[kind], "duplicate", seen);
    json_array_append_new(results, r);
    if (seen) return 0;
    staff_ref g = {0, 0};
    if (guide_by_userid(d, uid, &g, e)) return -1;
    int64_t mid = kind == EV_ADD ? contact_add(d, ev, &g, ext, at, e)
                                 : contact_change(d, kind, ev, &g, ext, at, e);
    if (mid == -1) return -1;
    bool created = mid < -1;
    if (created) mid = -2 - mid;
    json_object_set_new(r, "member_id", json_integer(mid));
    json_object_set_new(r, "guide_id", json_integer(g.id));
    json_object_set_new(r, "member_created", json_boolean(created));
    s = store_q(d->conn, Q_WECOM_EVENT_PUT);
    store_bind_blob(s, 1, dg, DIGEST_BYTES);
    store_bind_text(s, 2, wecom_kinds[kind]);
    store_bind_int(s, 3, at);
    store_bind_int(s, 4, d->now);
    if (store_exec(s, e)) return -1;
    (*recorded)++;
    return 0;
}

int wecom_events_record(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    json_t *batch = json_object_get(body, "events");
    if (batch && (json_object_size(body) != 1 || !json_is_array(batch)))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "events",
                            "events: a batch body is {\"events\": [...]} alone");
    size_t n = batch ? json_array_size(batch) : 1;
    if (batch && (n == 0 || n > 1000))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "events", "events: 1 to 1000 events");
    json_t *results = json_array();
    int recorded = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *ev = batch ? json_array_get(batch, i) : body;
        if (one_event(d, ev, results, &recorded, e)) {
            json_decref(results);
            if (batch) { /* name the event: events[3].userid */
                char outer[32];
                snprintf(outer, sizeof outer, "events[%zu]", i);
                siyu_err_within(e, outer);
            }
            return -1;
        }
    }
    if (out)
        *out = json_pack("{s:i, s:i, s:o}", "recorded", recorded, "duplicates", (int)n - recorded,
                         "results", results);
    else
        json_decref(results);
    return recorded ? 201 : 200;
}

/* ---------------- the contacts report ---------------- */

int contacts_report(dom *d, int32_t from, int32_t to, int64_t store_id, int64_t guide_id,
                    json_t **out, siyu_err *e)
{
    if (to < from) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "to", "to: before from");
    if (d->who.role == ROLE_STORE_MANAGER) store_id = d->who.store_id;
    if (d->who.role == ROLE_GUIDE) guide_id = d->who.staff_id;
    int64_t t0 = (int64_t)from * 86400 - 8 * 3600, t1 = ((int64_t)to + 1) * 86400 - 8 * 3600;
    json_t *items = json_array();
    int64_t sum[4] = {0};
    store_stmt *s = store_q(d->conn, Q_CONTACTS_REPORT);
    store_bind_int(s, 1, t0);
    store_bind_int(s, 2, t1);
    if (store_id) store_bind_int(s, 3, store_id);
    if (guide_id) store_bind_int(s, 4, guide_id);
    while (store_step(s) == STORE_ROW) {
        int64_t v[4];
        for (int k = 0; k < 4; k++) {
            v[k] = store_col_int(s, 3 + k);
            sum[k] += v[k];
        }
        json_array_append_new(items, json_pack("{s:I, s:s, s:o, s:I, s:I, s:I, s:I}", "guide_id",
                                               (json_int_t)store_col_int(s, 0), "name",
                                               store_col_text(s, 1), "store_id",
                                               dom_nullable_int(s, 2), "contacts", (json_int_t)v[0],
                                               "added", (json_int_t)v[1], "lost", (json_int_t)v[2],
                                               "deleted_by_guide", (json_int_t)v[3]));
    }
    store_reset(s);
    char a[16], b[16];
    date_format(from, a, sizeof a);
    date_format(to, b, sizeof b);
    *out = json_pack("{s:s, s:s, s:{s:I, s:I, s:I, s:I}, s:o}", "from", a, "to", b, "total",
                     "contacts", (json_int_t)sum[0], "added", (json_int_t)sum[1], "lost",
                     (json_int_t)sum[2], "deleted_by_guide", (json_int_t)sum[3], "items", items);
    return 200;
}
