/* codes.c — join codes that never fill up (无限群): seats, and asking for the next group.
 *
 * A code serves its store's groups of its theme, oldest first. A scan takes a seat in the
 * first group whose customers plus open seats are under the cap (the code's cap, or the
 * group's when lower); the seat is kept by the member_joined that carries the code's
 * state, and lapses after hold_seconds. Scans are writes on the group committer, decided
 * one after another, so a group is never offered more seats than it has room for
 * whatever the concurrency. When every group is full, one request for a new group goes
 * to the bridge (group_requests, the bridge reads GET /group-requests) and the scan
 * answers 503 with Retry-After until that group's group_created arrives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "community/community.h"
#include "base/jsonx.h"

int64_t group_code_state(const char *state)
{
    if (!state || strncmp(state, "gc-", 3) != 0 || !state[3]) return 0;
    char *end;
    long long v = strtoll(state + 3, &end, 10);
    return *end || v <= 0 ? 0 : (int64_t)v;
}

typedef struct gcode {
    int64_t id, store_id, cap, hold;
    char theme[64], state[32];
} gcode;

static int code_load(dom *d, int64_t id, gcode *c, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_GCODE_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "group code %lld does not exist",
                            (long long)id);
    }
    c->id = id;
    c->store_id = store_col_int(s, 1);
    snprintf(c->theme, sizeof c->theme, "%s", store_col_text(s, 2));
    c->cap = store_col_int(s, 3);
    snprintf(c->state, sizeof c->state, "%s", store_col_text(s, 4));
    c->hold = store_col_int(s, 5);
    store_reset(s);
    /* a code is its store's: HQ, or the store's manager */
    if (d->who.role != ROLE_ADMIN && d->who.role != ROLE_OPERATOR &&
        !(d->who.role == ROLE_STORE_MANAGER && c->store_id == d->who.store_id))
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, NULL,
                            "group code %lld is outside your scope", (long long)id);
    return 0;
}

typedef struct seatable {
    int64_t group_id, room;
    char chat_id[128];
} seatable;

/* The first group of the code with room, or group_id 0. */
static void first_with_room(dom *d, const gcode *c, seatable *out)
{
    memset(out, 0, sizeof *out);
    int64_t ids[256], caps[256];
    char chats[256][128];
    int n = 0;
    store_stmt *s = store_q(d->conn, Q_GCODE_GROUPS);
    store_bind_int(s, 1, c->store_id);
    store_bind_text(s, 2, c->theme);
    while (n < 256 && store_step(s) == STORE_ROW) {
        ids[n] = store_col_int(s, 0);
        snprintf(chats[n], sizeof chats[n], "%s", store_col_text(s, 1));
        caps[n] = store_col_int(s, 2);
        n++;
    }
    store_reset(s);
    for (int i = 0; i < n; i++) {
        int64_t cap = caps[i] < c->cap ? caps[i] : c->cap;
        s = store_q(d->conn, Q_GRP_LIVE_CUSTOMERS);
        store_bind_int(s, 1, ids[i]);
        int64_t taken = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
        store_reset(s);
        s = store_q(d->conn, Q_SEAT_OPEN);
        store_bind_int(s, 1, ids[i]);
        store_bind_int(s, 2, d->now);
        taken += store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
        store_reset(s);
        if (taken < cap) {
            out->group_id = ids[i];
            out->room = cap - taken;
            snprintf(out->chat_id, sizeof out->chat_id, "%s", chats[i]);
            return;
        }
    }
}

static json_t *code_json(dom *d, const gcode *c)
{
    seatable st;
    first_with_room(d, c, &st);
    json_t *o = json_pack("{s:I, s:s, s:I, s:s, s:I, s:I}", "id", (json_int_t)c->id, "state",
                          c->state, "store_id", (json_int_t)c->store_id, "theme", c->theme, "cap",
                          (json_int_t)c->cap, "hold_seconds", (json_int_t)c->hold);
    json_object_set_new(o, "group_id", st.group_id ? json_integer(st.group_id) : json_null());
    json_object_set_new(o, "chat_id", st.group_id ? json_string(st.chat_id) : json_null());
    return o;
}

int group_codes_create(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"store_id", "theme", "cap", "hold_seconds", NULL};
    int64_t store_id, cap = GROUP_CAP_DEFAULT, hold = GROUP_SEAT_HOLD_DEFAULT;
    const char *theme;
    if (jx_only(body, allowed, NULL, e) || jx_int(body, "store_id", true, &store_id, e) < 0 ||
        jx_str(body, "theme", true, &theme, e) < 0 || jx_int(body, "cap", false, &cap, e) < 0 ||
        jx_int(body, "hold_seconds", false, &hold, e) < 0)
        return -1;
    if (!*theme || strlen(theme) > 60)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "theme", "theme: 1 to 60 characters");
    if (cap < 1 || cap > 100000)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "cap", "cap: 1 to 100000");
    if (hold < 10 || hold > 86400)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "hold_seconds", "hold_seconds: 10 to 86400");
    if (dom_require_store(d, store_id, "store_id", e)) return -1;
    if (d->who.role == ROLE_STORE_MANAGER && store_id != d->who.store_id)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, "store_id", "store_id: not your store");
    store_stmt *s = store_q(d->conn, Q_GCODE_INSERT);
    store_bind_int(s, 1, store_id);
    store_bind_text(s, 2, theme);
    store_bind_int(s, 3, cap);
    store_bind_int(s, 4, hold);
    store_bind_int(s, 5, d->now);
    if (store_exec(s, e)) return -1;
    int64_t id = store_last_id(d->conn);
    char state[32];
    snprintf(state, sizeof state, "gc-%lld", (long long)id);
    s = store_q(d->conn, Q_GCODE_SET_STATE);
    store_bind_text(s, 1, state);
    store_bind_int(s, 2, id);
    if (store_exec(s, e)) return -1;
    if (out) {
        gcode c;
        if (code_load(d, id, &c, e)) return -1;
        *out = code_json(d, &c);
    }
    return 201;
}

int group_codes_get(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    gcode c;
    if (code_load(d, id, &c, e)) return -1;
    *out = code_json(d, &c);
    return 200;
}

static int64_t pending_request(dom *d, int64_t code_id)
{
    store_stmt *s = store_q(d->conn, Q_GREQ_PENDING);
    store_bind_int(s, 1, code_id);
    int64_t id = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    return id;
}

int group_codes_scan(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"external_userid", NULL};
    const char *ext = NULL;
    if (body &&
        (jx_only(body, allowed, NULL, e) || jx_str(body, "external_userid", false, &ext, e) < 0))
        return -1;
    if (ext && (!*ext || strlen(ext) > 128))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "external_userid",
                            "external_userid: 1 to 128 characters");
    gcode c;
    if (code_load(d, id, &c, e)) return -1;
    if (ext) { /* the same customer again while the seat waits: the same seat */
        store_stmt *s = store_q(d->conn, Q_SEAT_REPEAT);
        store_bind_int(s, 1, id);
        store_bind_text(s, 2, ext);
        store_bind_int(s, 3, d->now);
        int64_t g = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
        store_reset(s);
        if (g) {
            s = store_q(d->conn, Q_GRP_GET);
            store_bind_int(s, 1, g);
            if (store_step(s) == STORE_ROW && out)
                *out = json_pack("{s:I, s:s, s:s, s:b}", "group_id", (json_int_t)g, "chat_id",
                                 store_col_text(s, 1), "state", c.state, "repeat", 1);
            store_reset(s);
            return 200;
        }
    }
    seatable st;
    first_with_room(d, &c, &st);
    if (!st.group_id) {
        int64_t req = pending_request(d, id);
        if (!req) {
            store_stmt *s = store_q(d->conn, Q_GREQ_INSERT);
            store_bind_int(s, 1, id);
            store_bind_int(s, 2, c.store_id);
            store_bind_text(s, 3, c.theme);
            store_bind_int(s, 4, d->now);
            if (store_exec(s, e)) return -1;
            req = store_last_id(d->conn);
        }
        /* not an error: the request to the bridge must commit */
        if (out)
            *out = json_pack(
                "{s:{s:s, s:s}, s:I, s:I}", "error", "code", "unavailable", "message",
                "every group of this code is full; a new group has been asked for (请稍后再试)",
                "retry_after_seconds", (json_int_t)GROUP_RETRY_AFTER, "request_id",
                (json_int_t)req);
        return 503;
    }
    store_stmt *s = store_q(d->conn, Q_SEAT_INSERT);
    store_bind_int(s, 1, id);
    store_bind_int(s, 2, st.group_id);
    store_bind_text(s, 3, ext);
    store_bind_int(s, 4, d->now);
    store_bind_int(s, 5, d->now + c.hold);
    if (store_exec(s, e)) return -1;
    int64_t seat = store_last_id(d->conn);
    if (out)
        *out = json_pack("{s:I, s:s, s:s, s:I, s:o, s:b}", "group_id", (json_int_t)st.group_id,
                         "chat_id", st.chat_id, "state", c.state, "seat_id", (json_int_t)seat,
                         "expires_at", dom_time(d->now + c.hold), "repeat", 0);
    return 201;
}

int group_seat_keep(dom *d, int64_t group_id, int64_t code_id, const char *ext, int64_t at,
                    siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_SEAT_KEEP_EXT);
    store_bind_int(s, 1, at);
    store_bind_int(s, 2, group_id);
    store_bind_text(s, 3, ext);
    if (store_exec(s, e)) return -1;
    if (store_changes(d->conn) > 0) return 0;
    s = store_q(d->conn, Q_SEAT_KEEP_CODE);
    store_bind_int(s, 1, at);
    store_bind_int(s, 2, group_id);
    store_bind_int(s, 3, code_id);
    return store_exec(s, e);
}

int group_requests_fulfil(dom *d, int64_t group_id, int64_t store_id, const char *theme,
                          siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_GREQ_FULFIL);
    store_bind_int(s, 1, group_id);
    store_bind_int(s, 2, d->now);
    store_bind_int(s, 3, store_id);
    store_bind_text(s, 4, theme);
    return store_exec(s, e);
}

int group_requests_list(dom *d, bool pending, int64_t cursor, int limit, json_t **out, siyu_err *e)
{
    (void)e;
    json_t *items = json_array();
    int64_t last = 0;
    store_stmt *s = store_q(d->conn, Q_GREQ_LIST);
    store_bind_int(s, 1, pending);
    store_bind_int(s, 2, cursor);
    store_bind_int(s, 3, limit);
    while (store_step(s) == STORE_ROW) {
        last = store_col_int(s, 0);
        json_t *o =
            json_pack("{s:I, s:I, s:I, s:s, s:o}", "id", (json_int_t)last, "code_id",
                      (json_int_t)store_col_int(s, 1), "store_id", (json_int_t)store_col_int(s, 2),
                      "theme", store_col_text(s, 3), "requested_at", dom_time(store_col_int(s, 4)));
        json_object_set_new(o, "group_id", dom_nullable_int(s, 5));
        json_object_set_new(o, "fulfilled_at",
                            store_col_null(s, 6) ? json_null() : dom_time(store_col_int(s, 6)));
        /* the push to the bridge (the outbox, on the wecom channel's binding) */
        json_t *p = json_pack("{s:s, s:I}", "state", store_col_text(s, 7), "attempts",
                              (json_int_t)store_col_int(s, 8));
        json_object_set_new(p, "pushed_at",
                            store_col_null(s, 9) ? json_null() : dom_time(store_col_int(s, 9)));
        json_object_set_new(p, "error", dom_nullable_text(s, 10));
        json_object_set_new(o, "push", p);
        json_array_append_new(items, o);
    }
    store_reset(s);
    *out = dom_list(items, limit, last);
    return 200;
}
