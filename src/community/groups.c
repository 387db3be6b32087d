/* groups.c — store groups, their people and activity, fed by the bridge's group events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "community/community.h"
#include "base/digest.h"
#include "base/jsonx.h"
#include "base/timeutil.h"

#define GROUP_MAX_DAYS 366
#define GROUP_MAX_EVENTS 5000

static const char *const owner_states[] = {"normal", "owner_departed", "inheriting", "inherited",
                                           NULL};

/* ---------------- reading a group ---------------- */

typedef struct grp {
    int64_t id, store_id, owner_id, cap, created_at, dismissed_at, updated_at;
    char chat_id[128], owner_userid[72], name[256], theme[64], state[16];
    bool has_theme;
} grp;

static void grp_from_row(store_stmt *s, grp *g)
{
    memset(g, 0, sizeof *g);
    g->id = store_col_int(s, 0);
    snprintf(g->chat_id, sizeof g->chat_id, "%s", store_col_text(s, 1));
    g->store_id = store_col_int(s, 2);
    g->owner_id = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
    if (!store_col_null(s, 4))
        snprintf(g->owner_userid, sizeof g->owner_userid, "%s", store_col_text(s, 4));
    if (!store_col_null(s, 5)) snprintf(g->name, sizeof g->name, "%s", store_col_text(s, 5));
    g->has_theme = !store_col_null(s, 6);
    if (g->has_theme) snprintf(g->theme, sizeof g->theme, "%s", store_col_text(s, 6));
    g->cap = store_col_int(s, 7);
    snprintf(g->state, sizeof g->state, "%s", store_col_text(s, 8));
    g->created_at = store_col_int(s, 9);
    g->dismissed_at = store_col_null(s, 10) ? 0 : store_col_int(s, 10);
    g->updated_at = store_col_int(s, 11);
}

/* A group is its store's: HQ, the store's manager, and the guide who owns it. */
static bool grp_in_scope(const dom *d, const grp *g)
{
    if (d->who.role == ROLE_GUIDE) return g->owner_id && g->owner_id == d->who.staff_id;
    if (d->who.role == ROLE_CASHIER) return false;
    return members_in_scope(d, g->store_id, g->owner_id);
}

static int grp_load(dom *d, int64_t id, grp *g, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_GRP_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "group %lld does not exist", (long long)id);
    }
    grp_from_row(s, g);
    store_reset(s);
    if (!grp_in_scope(d, g))
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, NULL, "group %lld is outside your scope",
                            (long long)id);
    return 0;
}

static int64_t count1(dom *d, store_query q, int64_t a)
{
    store_stmt *s = store_q(d->conn, q);
    store_bind_int(s, 1, a);
    int64_t n = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    return n;
}

static json_t *grp_json(dom *d, const grp *g)
{
    json_t *o = json_pack("{s:I, s:s, s:I, s:I, s:s}", "id", (json_int_t)g->id, "chat_id",
                          g->chat_id, "store_id", (json_int_t)g->store_id, "cap",
                          (json_int_t)g->cap, "state", g->state);
    json_object_set_new(o, "owner_id", g->owner_id ? json_integer(g->owner_id) : json_null());
    json_object_set_new(o, "owner_userid",
                        g->owner_userid[0] ? json_string(g->owner_userid) : json_null());
    json_object_set_new(o, "name", g->name[0] ? json_string(g->name) : json_null());
    json_object_set_new(o, "theme", g->has_theme ? json_string(g->theme) : json_null());
    json_object_set_new(o, "members", json_integer(count1(d, Q_GRP_LIVE_CUSTOMERS, g->id)));
    json_object_set_new(o, "created_at", dom_time(g->created_at));
    json_object_set_new(o, "dismissed_at",
                        g->dismissed_at ? dom_time(g->dismissed_at) : json_null());
    return o;
}

int groups_list(dom *d, int64_t store_id, int64_t cursor, int limit, json_t **out, siyu_err *e)
{
    if (store_id && dom_require_store(d, store_id, "store_id", e)) return -1;
    json_t *items = json_array();
    int64_t last = 0;
    int got = 0;
    grp *rows = malloc((size_t)limit * sizeof *rows);
    /* rows out of the caller's scope are skipped, so read on until a page is full */
    while (got < limit) {
        int n = 0, nr = 0;
        store_stmt *s = store_q(d->conn, Q_GRP_LIST);
        if (store_id) store_bind_int(s, 1, store_id);
        store_bind_int(s, 2, cursor);
        store_bind_int(s, 3, limit - got);
        while (store_step(s) == STORE_ROW) {
            n++;
            grp_from_row(s, &rows[nr]);
            cursor = rows[nr].id;
            if (grp_in_scope(d, &rows[nr])) nr++;
        }
        store_reset(s);
        for (int i = 0; i < nr; i++) {
            json_array_append_new(items, grp_json(d, &rows[i]));
            last = rows[i].id;
        }
        got += nr;
        if (n < limit - (got - nr)) break; /* the table ended */
    }
    free(rows);
    *out = dom_list(items, limit, last);
    return 200;
}

/* ---------------- statistics ---------------- */

int groups_days(dom *d, int64_t id, int32_t from, int32_t to, group_day *out, siyu_err *e)
{
    (void)e;
    int n = to - from + 1;
    memset(out, 0, (size_t)n * sizeof *out);
    int64_t delta[GROUP_MAX_DAYS + 1];
    memset(delta, 0, sizeof delta);
    for (int i = 0; i < n; i++)
        out[i].day = from + i;
    store_stmt *s = store_q(d->conn, Q_GRP_STINTS);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW) {
        int32_t j = (int32_t)store_col_int(s, 0);
        bool quit = !store_col_null(s, 1);
        int32_t q = quit ? (int32_t)store_col_int(s, 1) : INT32_MAX;
        bool dismissed = quit && strcmp(store_col_text(s, 2), "dismissed") == 0;
        if (j >= from && j <= to) out[j - from].new_members++;
        if (quit && !dismissed && q >= from && q <= to) out[q - from].quits++;
        /* a member at the end of the days [j, q - 1] */
        int32_t a = j > from ? j : from, b = q - 1 < to ? q - 1 : to;
        if (a <= b) {
            delta[a - from]++;
            delta[b - from + 1]--;
        }
    }
    store_reset(s);
    int64_t run = 0;
    for (int i = 0; i < n; i++) {
        run += delta[i];
        out[i].members = run;
    }
    s = store_q(d->conn, Q_GRP_DAYS);
    store_bind_int(s, 1, id);
    store_bind_int(s, 2, from);
    store_bind_int(s, 3, to);
    while (store_step(s) == STORE_ROW) {
        int32_t day = (int32_t)store_col_int(s, 0);
        out[day - from].speakers = store_col_int(s, 1);
        out[day - from].messages = store_col_int(s, 2);
    }
    store_reset(s);
    return 0;
}

static int range_check(int32_t from, int32_t to, siyu_err *e)
{
    if (to < from) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "to", "to: before from");
    if (to - from + 1 > GROUP_MAX_DAYS)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "to", "to: at most %d days from from",
                            GROUP_MAX_DAYS);
    return 0;
}

int groups_stats(dom *d, int64_t id, int32_t from, int32_t to, json_t **out, siyu_err *e)
{
    grp g;
    if (grp_load(d, id, &g, e) || range_check(from, to, e)) return -1;
    group_day *days = calloc((size_t)(to - from + 1), sizeof *days);
    if (groups_days(d, id, from, to, days, e)) {
        free(days);
        return -1;
    }
    json_t *items = json_array();
    char buf[16];
    for (int i = 0; i <= to - from; i++) {
        date_format(days[i].day, buf, sizeof buf);
        json_array_append_new(items, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "day", buf,
                                               "new_members", (json_int_t)days[i].new_members,
                                               "quits", (json_int_t)days[i].quits, "members",
                                               (json_int_t)days[i].members, "speakers",
                                               (json_int_t)days[i].speakers, "messages",
                                               (json_int_t)days[i].messages));
    }
    free(days);
    *out = json_pack("{s:I, s:o}", "group_id", (json_int_t)id, "items", items);
    return 200;
}

/* ratio or null */
static json_t *ratio(int64_t a, int64_t b)
{
    return b > 0 ? json_real((double)a / (double)b) : json_null();
}

int groups_get(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    grp g;
    if (grp_load(d, id, &g, e)) return -1;
    json_t *o = grp_json(d, &g);
    json_t *people = json_array();
    int64_t matched = 0, strangers = 0, staff = 0;
    store_stmt *s = store_q(d->conn, Q_GRP_PEOPLE);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW) {
        bool is_staff = store_col_int(s, 1) != 0;
        json_t *p = json_object();
        json_object_set_new(p, is_staff ? "userid" : "external_userid",
                            json_string(store_col_text(s, 0)));
        json_object_set_new(p, "staff", json_boolean(is_staff));
        json_object_set_new(p, "member_id", dom_nullable_int(s, 2));
        json_object_set_new(p, "joined_at", dom_time(store_col_int(s, 3)));
        json_object_set_new(p, "join_scene", dom_nullable_text(s, 4));
        json_object_set_new(p, "state", dom_nullable_text(s, 5));
        json_object_set_new(p, "inviter", dom_nullable_text(s, 6));
        json_object_set_new(p, "code_id", dom_nullable_int(s, 7));
        if (is_staff)
            staff++;
        else if (store_col_null(s, 2))
            strangers++;
        else
            matched++;
        json_array_append_new(people, p);
    }
    store_reset(s);
    /* the last 30 local days, today included */
    int32_t today = time_local_day(d->now), from = today - (GROUP_SILENT_DAYS - 1);
    group_day days[GROUP_SILENT_DAYS];
    if (groups_days(d, id, from, today, days, e)) {
        json_decref(o);
        json_decref(people);
        return -1;
    }
    int64_t speaker_days = 0, member_days = 0, messages = 0, quits = 0, joins = 0;
    for (int i = 0; i < GROUP_SILENT_DAYS; i++) {
        speaker_days += days[i].speakers;
        member_days += days[i].members;
        messages += days[i].messages;
        quits += days[i].quits;
        joins += days[i].new_members;
    }
    s = store_q(d->conn, Q_GRP_SILENT);
    store_bind_int(s, 1, id);
    store_bind_int(s, 2, from);
    int64_t spoke = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    int64_t silent = matched + strangers - spoke;
    int64_t start = days[0].members - days[0].new_members + days[0].quits;
    json_object_set_new(o, "people", people);
    json_object_set_new(o, "matched_members", json_integer(matched));
    json_object_set_new(o, "non_members", json_integer(strangers));
    json_object_set_new(o, "staff", json_integer(staff));
    json_object_set_new(o, "last_30_days",
                        json_pack("{s:I, s:I, s:I, s:I, s:o, s:o}", "new_members",
                                  (json_int_t)joins, "quits", (json_int_t)quits, "messages",
                                  (json_int_t)messages, "silent_members", (json_int_t)silent,
                                  "activity_rate", ratio(speaker_days, member_days), "churn",
                                  ratio(quits, start + joins)));
    *out = o;
    return 200;
}

int groups_patch(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"theme", "cap", NULL};
    const char *theme = NULL;
    int64_t cap = 0;
    if (jx_only(body, allowed, NULL, e) || jx_str(body, "theme", false, &theme, e) < 0 ||
        jx_int(body, "cap", false, &cap, e) < 0)
        return -1;
    if (theme && (!*theme || strlen(theme) > 60))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "theme", "theme: 1 to 60 characters");
    if (json_object_get(body, "cap") && (cap < 1 || cap > 100000))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "cap", "cap: 1 to 100000");
    grp g;
    if (grp_load(d, id, &g, e)) return -1;
    if (d->who.role == ROLE_GUIDE)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, NULL,
                            "a group's theme and cap are the store's to set");
    store_stmt *s = store_q(d->conn, Q_GRP_PATCH);
    store_bind_text(s, 1, theme);
    if (cap) store_bind_int(s, 2, cap);
    store_bind_int(s, 3, d->now);
    store_bind_int(s, 4, id);
    if (store_exec(s, e)) return -1;
    dom_note(d, DOM_CHANGE_GROUP, id, 0);
    if (theme && group_requests_fulfil(d, id, g.store_id, theme, e)) return -1;
    if (out) {
        if (grp_load(d, id, &g, e)) return -1;
        *out = grp_json(d, &g);
    }
    return 200;
}

/* ---------------- the hook for departures ---------------- */

int groups_of_guide(dom *d, int64_t guide_id, int64_t *ids, int cap)
{
    int n = 0;
    store_stmt *s = store_q(d->conn, Q_GRP_OF_OWNER);
    store_bind_int(s, 1, guide_id);
    while (store_step(s) == STORE_ROW) {
        if (n < cap) ids[n] = store_col_int(s, 0);
        n++;
    }
    store_reset(s);
    return n;
}

int groups_set_owner_state(dom *d, int64_t group_id, const char *state, int64_t new_owner_id,
                           siyu_err *e)
{
    bool known = false;
    for (int i = 0; owner_states[i]; i++)
        known |= strcmp(owner_states[i], state) == 0;
    if (!known)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "state",
                            "state: normal, owner_departed, inheriting or inherited");
    if (new_owner_id) {
        int64_t sid = 0;
        if (dom_require_staff(d, new_owner_id, "guide", "owner_id", &sid, e)) return -1;
    }
    if (count1(d, Q_GRP_GET, group_id) == 0 && !store_conn_failed(d->conn))
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "group %lld does not exist",
                            (long long)group_id);
    store_stmt *s = store_q(d->conn, Q_GRP_SET_STATE);
    store_bind_text(s, 1, state);
    if (new_owner_id) store_bind_int(s, 2, new_owner_id);
    store_bind_int(s, 3, d->now);
    store_bind_int(s, 4, group_id);
    dom_note(d, DOM_CHANGE_GROUP, group_id, 0);
    return store_exec(s, e);
}

/* ---------------- the bridge's events ---------------- */

static const char *const kinds[] = {"group_created",
                                    "group_updated",
                                    "group_dismissed",
                                    "member_joined",
                                    "member_quit",
                                    "activity",
                                    NULL};
enum { EV_CREATED, EV_UPDATED, EV_DISMISSED, EV_JOINED, EV_QUIT, EV_ACTIVITY };
static const char *const join_scenes[] = {"invited", "link", "qr", NULL};
static const char *const quit_scenes[] = {"left", "removed", NULL};

typedef struct chat_ref {
    int64_t id, store_id;
    bool dismissed;
    char chat_id[128];
    /* the group-days the batch's activity touched: their roll-up is computed again once,
     * at the end of the batch, instead of moved by every count */
    struct touched {
        int64_t group_id;
        int32_t day;
    } * touched;
    size_t nt, ct;
} chat_ref;

static void touch(chat_ref *c, int64_t group_id, int32_t day)
{
    for (size_t i = c->nt, k = 0; i > 0 && k < 32; i--, k++)
        if (c->touched[i - 1].group_id == group_id && c->touched[i - 1].day == day) return;
    if (c->nt == c->ct) {
        c->ct = c->ct ? c->ct * 2 : 64;
        c->touched = realloc(c->touched, c->ct * sizeof *c->touched);
    }
    c->touched[c->nt].group_id = group_id;
    c->touched[c->nt++].day = day;
}

/* The group a chat_id names; the last one looked up is remembered (a day of activity
 * comes group by group). */
static int chat_find(dom *d, const char *chat_id, chat_ref *c, siyu_err *e)
{
    if (c->id && strcmp(c->chat_id, chat_id) == 0) return 0;
    store_stmt *s = store_q(d->conn, Q_GRP_BY_CHAT);
    store_bind_text(s, 1, chat_id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        c->id = 0;
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "chat_id",
                            "chat_id: no group %s (its group_created comes first)", chat_id);
    }
    c->id = store_col_int(s, 0);
    c->store_id = store_col_int(s, 1);
    c->dismissed = !store_col_null(s, 2);
    snprintf(c->chat_id, sizeof c->chat_id, "%s", chat_id);
    store_reset(s);
    return 0;
}

static int owner_find(dom *d, const char *uid, int64_t *id, int64_t *store_id, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_STAFF_BY_WECOM);
    store_bind_text(s, 1, uid);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "owner_userid",
                            "owner_userid: no staff member has WeCom userid %s", uid);
    }
    *id = store_col_int(s, 0);
    *store_id = store_col_null(s, 1) ? 0 : store_col_int(s, 1);
    store_reset(s);
    return 0;
}

static int group_created(dom *d, json_t *ev, const char *chat_id, int64_t at, json_t *r,
                         siyu_err *e)
{
    const char *owner_uid, *name = NULL, *theme = NULL;
    int64_t store_id = 0, cap = GROUP_CAP_DEFAULT, owner = 0, owner_store = 0;
    if (jx_str(ev, "owner_userid", true, &owner_uid, e) < 0 ||
        jx_str(ev, "name", false, &name, e) < 0 || jx_str(ev, "theme", false, &theme, e) < 0 ||
        jx_int(ev, "store_id", false, &store_id, e) < 0 || jx_int(ev, "cap", false, &cap, e) < 0)
        return -1;
    if (cap < 1 || cap > 100000)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "cap", "cap: 1 to 100000");
    if (theme && (!*theme || strlen(theme) > 60))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "theme", "theme: 1 to 60 characters");
    if (owner_find(d, owner_uid, &owner, &owner_store, e)) return -1;
    if (!store_id) store_id = owner_store;
    if (!store_id)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "store_id",
                            "store_id: the owner belongs to no store; name the group's store");
    if (dom_require_store(d, store_id, "store_id", e)) return -1;
    chat_ref c = {0};
    siyu_err probe;
    siyu_err_init(&probe);
    if (chat_find(d, chat_id, &c, &probe) == 0)
        return siyu_err_set(e, SIYU_CONFLICT, "chat_id", "chat_id: group %s already exists",
                            chat_id);
    siyu_err_clear(&probe);
    store_stmt *s = store_q(d->conn, Q_GRP_INSERT);
    store_bind_text(s, 1, chat_id);
    store_bind_int(s, 2, store_id);
    store_bind_int(s, 3, owner);
    store_bind_text(s, 4, owner_uid);
    store_bind_text(s, 5, name);
    store_bind_text(s, 6, theme);
    store_bind_int(s, 7, cap);
    store_bind_int(s, 8, at);
    store_bind_int(s, 9, d->now);
    if (store_exec(s, e)) return -1;
    int64_t id = store_last_id(d->conn);
    dom_note(d, DOM_CHANGE_GROUP, id, 0);
    json_object_set_new(r, "group_id", json_integer(id));
    if (theme && group_requests_fulfil(d, id, store_id, theme, e)) return -1;
    /* the owner is in the group from the start; as staff, outside the cap */
    s = store_q(d->conn, Q_GRP_JOIN);
    store_bind_int(s, 1, id);
    store_bind_text(s, 2, owner_uid);
    store_bind_int(s, 3, 1);
    store_bind_int(s, 5, at);
    store_bind_int(s, 6, time_local_day(at));
    store_bind_text(s, 7, "owner");
    return store_exec(s, e);
}

static int group_updated(dom *d, json_t *ev, chat_ref *c, json_t *r, siyu_err *e)
{
    const char *owner_uid = NULL, *name = NULL;
    int64_t owner = 0, owner_store = 0;
    if (jx_str(ev, "owner_userid", false, &owner_uid, e) < 0 ||
        jx_str(ev, "name", false, &name, e) < 0)
        return -1;
    if (owner_uid && owner_find(d, owner_uid, &owner, &owner_store, e)) return -1;
    store_stmt *s = store_q(d->conn, Q_GRP_UPDATE);
    store_bind_text(s, 1, name);
    if (owner) store_bind_int(s, 2, owner);
    store_bind_text(s, 3, owner_uid);
    store_bind_int(s, 4, d->now);
    store_bind_int(s, 5, c->id);
    json_object_set_new(r, "group_id", json_integer(c->id));
    dom_note(d, DOM_CHANGE_GROUP, c->id, 0);
    return store_exec(s, e);
}

/* A customer who is a member: reach.group follows "is in a group now" (consent still
 * gates it), and the index's groups and group_days follow the note. */
static int member_follow(dom *d, const char *person, const char *unionid, int64_t at, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_GRP_PERSON_MEMBER);
    store_bind_text(s, 1, person);
    store_bind_text(s, 2, unionid);
    int64_t mid = store_step(s) == STORE_ROW && !store_col_null(s, 0) ? store_col_int(s, 0) : 0;
    store_reset(s);
    if (!mid) return 0;
    s = store_q(d->conn, Q_GRP_MEMBER_SUMMARY);
    store_bind_int(s, 1, mid);
    int64_t live = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    s = store_q(d->conn, Q_REACH_UPSERT);
    store_bind_int(s, 1, mid);
    store_bind_text(s, 2, "group");
    store_bind_int(s, 3, live > 0);
    store_bind_int(s, 4, at);
    if (store_exec(s, e)) return -1;
    dom_note(d, DOM_CHANGE_REACH, mid, 0);
    return 0;
}

/* The person an event names: a customer's external_userid or a staff member's userid. */
static int person_of(json_t *ev, const char **person, bool *is_staff, siyu_err *e)
{
    const char *ext = NULL, *uid = NULL;
    if (jx_str(ev, "external_userid", false, &ext, e) < 0 ||
        jx_str(ev, "userid", false, &uid, e) < 0)
        return -1;
    if (!ext == !uid)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "external_userid",
                            "external_userid: a customer's, or userid for a staff member (one)");
    *person = ext ? ext : uid;
    *is_staff = uid != NULL;
    if (!**person || strlen(*person) > 128)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, ext ? "external_userid" : "userid",
                            "%s: 1 to 128 characters", ext ? "external_userid" : "userid");
    return 0;
}

static int member_joined(dom *d, json_t *ev, chat_ref *c, int64_t at, json_t *r, siyu_err *e)
{
    const char *person, *unionid = NULL, *state = NULL, *inviter = NULL;
    bool is_staff;
    int scene = -1;
    if (person_of(ev, &person, &is_staff, e) ||
        jx_enum(ev, "join_scene", false, join_scenes, &scene, e) < 0 ||
        jx_str(ev, "unionid", false, &unionid, e) < 0 ||
        jx_str(ev, "state", false, &state, e) < 0 || jx_str(ev, "inviter", false, &inviter, e) < 0)
        return -1;
    if (c->dismissed)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "chat_id", "chat_id: group %s was dismissed",
                            c->chat_id);
    json_object_set_new(r, "group_id", json_integer(c->id));
    store_stmt *s = store_q(d->conn, Q_GRP_LIVE_STINT);
    store_bind_int(s, 1, c->id);
    store_bind_text(s, 2, person);
    bool already = store_step(s) == STORE_ROW;
    store_reset(s);
    if (already) { /* the bridge saw the join twice under different content */
        json_object_set_new(r, "already_in", json_true());
        return 0;
    }
    int64_t code = 0;
    if (state && (code = group_code_state(state))) {
        s = store_q(d->conn, Q_GCODE_BY_STATE);
        store_bind_text(s, 1, state);
        if (store_step(s) != STORE_ROW) code = 0; /* looks like a code, names none */
        store_reset(s);
    }
    s = store_q(d->conn, Q_GRP_JOIN);
    store_bind_int(s, 1, c->id);
    store_bind_text(s, 2, person);
    store_bind_int(s, 3, is_staff);
    store_bind_text(s, 4, unionid);
    store_bind_int(s, 5, at);
    store_bind_int(s, 6, time_local_day(at));
    store_bind_text(s, 7, scene >= 0 ? join_scenes[scene] : NULL);
    store_bind_text(s, 8, state);
    store_bind_text(s, 9, inviter);
    if (code) store_bind_int(s, 10, code);
    if (store_exec(s, e)) return -1;
    if (!is_staff) dom_note(d, DOM_CHANGE_GROUP, c->id, store_last_id(d->conn));
    if (code && !is_staff) {
        json_object_set_new(r, "code_id", json_integer(code));
        if (group_seat_keep(d, c->id, code, person, at, e)) return -1;
    }
    return is_staff ? 0 : member_follow(d, person, unionid, at, e);
}

static int member_quit(dom *d, json_t *ev, chat_ref *c, int64_t at, json_t *r, siyu_err *e)
{
    const char *person;
    bool is_staff;
    int scene = 0;
    if (person_of(ev, &person, &is_staff, e) ||
        jx_enum(ev, "quit_scene", false, quit_scenes, &scene, e) < 0)
        return -1;
    json_object_set_new(r, "group_id", json_integer(c->id));
    store_stmt *s = store_q(d->conn, Q_GRP_LIVE_STINT);
    store_bind_int(s, 1, c->id);
    store_bind_text(s, 2, person);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_UNPROCESSABLE, is_staff ? "userid" : "external_userid",
                            "%s: %s is not in group %s", is_staff ? "userid" : "external_userid",
                            person, c->chat_id);
    }
    int64_t stint = store_col_int(s, 0);
    store_reset(s);
    s = store_q(d->conn, Q_GRP_QUIT);
    store_bind_int(s, 1, at);
    store_bind_int(s, 2, time_local_day(at));
    store_bind_text(s, 3, quit_scenes[scene]);
    store_bind_int(s, 4, stint);
    if (store_exec(s, e)) return -1;
    if (!is_staff) dom_note(d, DOM_CHANGE_GROUP, c->id, stint);
    return is_staff ? 0 : member_follow(d, person, NULL, at, e);
}

/* activity: a customer's messages on a local day; a later count replaces the earlier,
 * and the group-day roll-up follows in the same write (at the end of the batch). Staff
 * messages are not counted (the statistics are about customers). Answers 1 when the
 * count was already the same. */
static int activity(dom *d, json_t *ev, chat_ref *c, json_t *r, siyu_err *e)
{
    const char *person;
    bool is_staff;
    int32_t day;
    int64_t messages;
    if (person_of(ev, &person, &is_staff, e) || jx_date(ev, "day", true, &day, e) < 0 ||
        jx_int(ev, "messages", true, &messages, e) < 0)
        return -1;
    if (messages < 0 || messages > 1000000)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "messages", "messages: 0 to 1000000");
    if (day > time_local_day(d->now))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "day", "day: is in the future");
    if (r) json_object_set_new(r, "group_id", json_integer(c->id));
    if (is_staff) {
        if (r) json_object_set_new(r, "ignored", json_true());
        return 0;
    }
    store_stmt *s = store_q(d->conn, Q_GRP_ACT_PUT);
    store_bind_int(s, 1, c->id);
    store_bind_text(s, 2, person);
    store_bind_int(s, 3, day);
    store_bind_int(s, 4, messages);
    if (store_exec(s, e)) return -1;
    if (store_changes(d->conn) == 0) return 1; /* the same count again: nothing moves */
    touch(c, c->id, day);
    return 0;
}

static int one_event(dom *d, json_t *ev, chat_ref *c, json_t *results, int *recorded, siyu_err *e)
{
    static const char *const allowed[] = {
        "event",   "chat_id", "owner_userid", "store_id",   "name",       "theme",
        "cap",     "at",      "day",          "messages",   "userid",     "external_userid",
        "unionid", "state",   "inviter",      "join_scene", "quit_scene", NULL};
    if (!json_is_object(ev))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "event", "event: expected an object");
    int kind;
    const char *chat_id;
    int64_t at = 0;
    if (jx_only(ev, allowed, NULL, e) || jx_enum(ev, "event", true, kinds, &kind, e) < 0 ||
        jx_str(ev, "chat_id", true, &chat_id, e) < 0)
        return -1;
    if (!*chat_id || strlen(chat_id) > 120)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "chat_id", "chat_id: 1 to 120 characters");
    if (kind == EV_ACTIVITY) { /* idempotent by replacement: no digest kept */
        json_t *r = results ? json_pack("{s:s}", "event", kinds[kind]) : NULL;
        if (r) json_array_append_new(results, r);
        if (chat_find(d, chat_id, c, e)) return -1;
        int rc = activity(d, ev, c, r, e);
        if (rc < 0) return -1;
        if (r) json_object_set_new(r, "duplicate", json_boolean(rc == 1));
        if (rc == 0) (*recorded)++;
        return 0;
    }
    if (jx_time(ev, "at", true, &at, e) < 0) return -1;
    if (at > d->now + 300)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "at", "at: is in the future");
    unsigned char dg[DIGEST_BYTES];
    digest_of_json(ev, dg);
    store_stmt *s = store_q(d->conn, Q_GRP_EVENT_SEEN);
    store_bind_blob(s, 1, dg, DIGEST_BYTES);
    bool seen = store_step(s) == STORE_ROW;
    store_reset(s);
    json_t *r = json_pack("{s:s, s:b}", "event", kinds[kind], "duplicate", seen);
    if (results)
        json_array_append_new(results, r);
    else
        json_decref(r), r = NULL;
    if (seen) return 0;
    json_t *rr = r ? r : json_object();
    int rc;
    if (kind == EV_CREATED) {
        rc = group_created(d, ev, chat_id, at, rr, e);
        c->id = 0; /* forget the remembered group */
    } else if (chat_find(d, chat_id, c, e)) {
        rc = -1;
    } else if (kind == EV_UPDATED) {
        rc = group_updated(d, ev, c, rr, e);
    } else if (kind == EV_DISMISSED) {
        json_object_set_new(rr, "group_id", json_integer(c->id));
        s = store_q(d->conn, Q_GRP_DISMISS);
        store_bind_int(s, 1, at);
        store_bind_int(s, 2, d->now);
        store_bind_int(s, 3, c->id);
        rc = store_exec(s, e);
        dom_note(d, DOM_CHANGE_GROUP, c->id, 0);
        /* the stints the dismissal ends, for the group view */
        s = store_q(d->conn, Q_GRP_LIVE_STINT_IDS);
        store_bind_int(s, 1, c->id);
        while (!rc && store_step(s) == STORE_ROW)
            dom_note(d, DOM_CHANGE_GROUP, c->id, store_col_int(s, 0));
        store_reset(s);
        if (!rc) {
            s = store_q(d->conn, Q_GRP_DISMISS_STINTS);
            store_bind_int(s, 1, at);
            store_bind_int(s, 2, time_local_day(at));
            store_bind_int(s, 3, c->id);
            rc = store_exec(s, e);
        }
        c->id = 0;
    } else if (kind == EV_JOINED) {
        rc = member_joined(d, ev, c, at, rr, e);
    } else {
        rc = member_quit(d, ev, c, at, rr, e);
    }
    if (!r) json_decref(rr);
    if (rc) return -1;
    s = store_q(d->conn, Q_GRP_EVENT_PUT);
    store_bind_blob(s, 1, dg, DIGEST_BYTES);
    store_bind_text(s, 2, kinds[kind]);
    store_bind_int(s, 3, at);
    store_bind_int(s, 4, d->now);
    if (store_exec(s, e)) return -1;
    (*recorded)++;
    return 0;
}

int groups_events_record(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    json_t *batch = json_object_get(body, "events");
    if (batch && (json_object_size(body) != 1 || !json_is_array(batch)))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "events",
                            "events: a batch body is {\"events\": [...]} alone");
    size_t n = batch ? json_array_size(batch) : 1;
    if (batch && (n == 0 || n > GROUP_MAX_EVENTS))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "events", "events: 1 to %d events",
                            GROUP_MAX_EVENTS);
    /* a batch of activity answers counts only: its results would be as large as it */
    json_t *results = json_array();
    int recorded = 0;
    chat_ref c = {0};
    for (size_t i = 0; i < n; i++) {
        json_t *ev = batch ? json_array_get(batch, i) : body;
        if (one_event(d, ev, &c, results, &recorded, e)) {
            free(c.touched);
            json_decref(results);
            if (batch) { /* name the event: events[3].chat_id */
                char outer[32];
                snprintf(outer, sizeof outer, "events[%zu]", i);
                siyu_err_within(e, outer);
            }
            return -1;
        }
    }
    for (size_t i = 0; i < c.nt; i++) {
        /* the index follows its members' group_messages_30d */
        dom_note(d, DOM_CHANGE_GROUP_DAY, c.touched[i].group_id, c.touched[i].day);
        store_stmt *s = store_q(d->conn, Q_GRP_DAY_ROLLUP);
        store_bind_int(s, 1, c.touched[i].group_id);
        store_bind_int(s, 2, c.touched[i].day);
        if (store_exec(s, e)) {
            free(c.touched);
            json_decref(results);
            return -1;
        }
    }
    free(c.touched);
    if (out)
        *out = json_pack("{s:i, s:i, s:o}", "recorded", recorded, "duplicates", (int)n - recorded,
                         "results", results);
    else
        json_decref(results);
    return recorded ? 201 : 200;
}
