/* sops.c — group SOPs (社群SOP): posts scheduled to store groups every week — new
 * arrivals on Monday, a live-stream reminder on Thursday evening — as `group_post` tasks
 * for each group's owner, with the text and a piece of the content library.
 *
 * An SOP targets a store's groups (optionally of one theme), a theme across the chain,
 * or named groups, and a weekly slot (weekday, local time). Each slot makes one task per
 * targeted group on its owner, under a task campaign of kind group_post created with the
 * SOP, so the campaign's reminders, expiry and done / late roll-ups (src/guides/tasks.c)
 * apply as for every task. The tick (group_sops_tick, on the journeys tick: one node
 * holds the jobs' lease) tries the latest slot of each active SOP again and again: the
 * task of a group and slot is written once, whatever the restarts and nodes (a unique
 * index on campaign, round and group). A group whose owner left waits (no task) until it
 * is inherited; its task then goes to the new owner, if that slot is still the latest. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "community/community.h"

typedef struct gsop {
    int64_t id, campaign_id, store_id, weekday, minute, content_id, due_hours, created_at;
    char name[256], theme[128], state[16];
    char *group_ids, *text;
} gsop;

static void gsop_free(gsop *g)
{
    free(g->group_ids);
    free(g->text);
    g->group_ids = g->text = NULL;
}

static void gsop_row(store_stmt *s, gsop *g)
{
    memset(g, 0, sizeof *g);
    g->id = store_col_int(s, 0);
    snprintf(g->name, sizeof g->name, "%s", store_col_text(s, 1));
    g->campaign_id = store_col_int(s, 2);
    g->store_id = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
    if (!store_col_null(s, 4)) snprintf(g->theme, sizeof g->theme, "%s", store_col_text(s, 4));
    g->group_ids = store_col_null(s, 5) ? NULL : strdup(store_col_text(s, 5));
    g->weekday = store_col_int(s, 6);
    g->minute = store_col_int(s, 7);
    g->content_id = store_col_null(s, 8) ? 0 : store_col_int(s, 8);
    g->text = strdup(store_col_text(s, 9));
    g->due_hours = store_col_int(s, 10);
    snprintf(g->state, sizeof g->state, "%s", store_col_text(s, 11));
    g->created_at = store_col_int(s, 12);
}

static int gsop_load(dom *d, int64_t id, gsop *g, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_GSOP_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "group SOP %" PRId64 " not found", id);
    }
    gsop_row(s, g);
    store_reset(s);
    return 0;
}

/* HQ sees every SOP; a store manager those of their store (a chain-wide one is HQ's). */
static bool gsop_in_scope(const dom *d, const gsop *g)
{
    if (d->who.role != ROLE_STORE_MANAGER) return true;
    return g->store_id && g->store_id == d->who.store_id;
}

/* The latest slot at or before now, and not before the SOP was made: its local day
 * (0: none yet) and instant. Weekday 1 is Monday; 1970-01-01 was a Thursday. */
static int32_t latest_slot(const gsop *g, int64_t now, int64_t *at)
{
    int32_t today = time_local_day(now);
    int wd = (int)(((today % 7) + 7 + 3) % 7) + 1;
    int32_t day = today - (int32_t)(((wd - g->weekday) % 7 + 7) % 7);
    int64_t t = (int64_t)day * 86400 - SIYU_LOCAL_OFFSET_S + g->minute * 60;
    if (t > now) {
        day -= 7;
        t -= 7 * 86400;
    }
    if (t < g->created_at) return 0;
    *at = t;
    return day;
}

static json_t *gsop_json(dom *d, const gsop *g)
{
    char hm[8];
    snprintf(hm, sizeof hm, "%02d:%02d", (int)(g->minute / 60), (int)(g->minute % 60));
    json_t *o = json_pack("{s:I, s:s, s:I, s:{s:I, s:s}, s:s, s:I, s:s, s:o}", "id",
                          (json_int_t)g->id, "name", g->name, "campaign_id",
                          (json_int_t)g->campaign_id, "schedule", "weekday", (json_int_t)g->weekday,
                          "time", hm, "text", g->text, "due_hours", (json_int_t)g->due_hours,
                          "state", g->state, "created_at", dom_time(g->created_at));
    json_object_set_new(o, "store_id", g->store_id ? json_integer(g->store_id) : json_null());
    json_object_set_new(o, "theme", g->theme[0] ? json_string(g->theme) : json_null());
    json_t *ids = g->group_ids ? json_loads(g->group_ids, 0, NULL) : NULL;
    json_object_set_new(o, "group_ids", ids ? ids : json_null());
    json_object_set_new(o, "content_id", g->content_id ? json_integer(g->content_id) : json_null());
    int64_t at = 0;
    int32_t day = latest_slot(g, d->now, &at);
    json_object_set_new(o, "last_slot", day ? dom_time(at) : json_null());
    /* the roll-up of its tasks, as for every task campaign */
    store_stmt *s = store_q(d->conn, Q_GSOP_ROLLUP);
    store_bind_int(s, 1, g->campaign_id);
    if (store_step(s) == STORE_ROW) {
        int64_t done = store_col_int(s, 2), on_time = store_col_int(s, 3);
        json_object_set_new(
            o, "tasks",
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "slots",
                      (json_int_t)store_col_int(s, 5), "total", (json_int_t)store_col_int(s, 0),
                      "open", (json_int_t)store_col_int(s, 1), "done", (json_int_t)done, "on_time",
                      (json_int_t)on_time, "late", (json_int_t)(done - on_time), "expired",
                      (json_int_t)store_col_int(s, 4)));
    }
    store_reset(s);
    return o;
}

/* "HH:MM" -> minutes of the day. */
static int parse_hm(const char *t, int64_t *minute)
{
    int h, m;
    char tail;
    if (strlen(t) != 5 || sscanf(t, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || h > 23 || m < 0 ||
        m > 59 || t[2] != ':')
        return -1;
    *minute = h * 60 + m;
    return 0;
}

int group_sops_create(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"name",       "store_id",  "theme",
                                          "group_ids",  "schedule",  "text",
                                          "content_id", "due_hours", NULL};
    static const char *const sched_keys[] = {"weekday", "time", NULL};
    int64_t store_id = 0, content_id = 0, due_hours = 24, weekday, minute;
    const char *name = NULL, *theme = NULL, *text, *time_s;
    if (jx_only(body, allowed, NULL, e) || jx_str(body, "name", false, &name, e) < 0 ||
        jx_int(body, "store_id", false, &store_id, e) < 0 ||
        jx_str(body, "theme", false, &theme, e) < 0 || jx_str(body, "text", true, &text, e) < 0 ||
        jx_int(body, "content_id", false, &content_id, e) < 0 ||
        jx_int(body, "due_hours", false, &due_hours, e) < 0)
        return -1;
    json_t *sched = json_object_get(body, "schedule");
    if (!json_is_object(sched))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "schedule",
                            "schedule: an object {weekday: 1 (Monday) to 7, time: \"HH:MM\"}");
    if (jx_only(sched, sched_keys, "schedule.", e) ||
        jx_int(sched, "weekday", true, &weekday, e) < 0 ||
        jx_str(sched, "time", true, &time_s, e) < 0)
        return -1;
    if (weekday < 1 || weekday > 7)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "schedule.weekday",
                            "schedule.weekday: 1 (Monday) to 7 (Sunday)");
    if (parse_hm(time_s, &minute))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "schedule.time",
                            "schedule.time: \"HH:MM\", local time");
    if (!*text || strlen(text) > 4000)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "text", "text: 1 to 4000 characters");
    if (name && (!*name || strlen(name) > 200))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: 1 to 200 characters");
    if (theme && (!*theme || strlen(theme) > 60))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "theme", "theme: 1 to 60 characters");
    if (due_hours < 1 || due_hours > 24 * 14)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "due_hours", "due_hours: 1 to 336");
    /* the target: a store's groups (of a theme), a theme chain-wide, or named groups */
    json_t *gids = json_object_get(body, "group_ids");
    if (gids && json_is_null(gids)) gids = NULL;
    if (gids && (store_id || theme))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "group_ids",
                            "group_ids: either named groups, or store_id and/or theme");
    if (!gids && !store_id && !theme)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "store_id",
                            "store_id: name the groups (store_id, theme or group_ids)");
    if (store_id) {
        if (dom_require_store(d, store_id, "store_id", e)) return -1;
        if (d->who.role == ROLE_STORE_MANAGER && store_id != d->who.store_id)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, "store_id", "store_id: not your store");
    } else if (theme && d->who.role == ROLE_STORE_MANAGER) {
        store_id = d->who.store_id; /* a store manager's theme SOP is their store's */
    }
    if (gids) {
        if (!json_is_array(gids) || json_array_size(gids) == 0 || json_array_size(gids) > 1000)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "group_ids",
                                "group_ids: an array of 1 to 1000 group ids");
        int64_t only_store = 0;
        size_t i;
        json_t *v;
        json_array_foreach(gids, i, v)
        {
            char f[40];
            snprintf(f, sizeof f, "group_ids[%zu]", i);
            if (!json_is_integer(v))
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: not an id", f);
            json_t *g = NULL;
            siyu_err sub;
            siyu_err_init(&sub);
            if (groups_get(d, json_integer_value(v), &g, &sub) < 0) {
                siyu_err_clear(&sub);
                return siyu_err_set(
                    e, sub.code == SIYU_PERMISSION_DENIED ? sub.code : SIYU_UNPROCESSABLE, f,
                    "%s: no group %lld in your scope", f, (long long)json_integer_value(v));
            }
            int64_t sid = json_integer_value(json_object_get(g, "store_id"));
            json_decref(g);
            if (i == 0) only_store = sid;
            if (only_store != sid) only_store = -1;
        }
        /* named groups of one store are that store's SOP (its manager sees it) */
        if (only_store > 0) store_id = only_store;
    }
    if (content_id) {
        store_stmt *s = store_q(d->conn, Q_CONTENT_GET);
        store_bind_int(s, 1, content_id);
        bool ok = store_step(s) == STORE_ROW;
        store_reset(s);
        if (!ok)
            return siyu_err_set(e, SIYU_UNPROCESSABLE, "content_id", "content_id: no such content");
    }
    char defname[96];
    if (!name) {
        static const char *const days[] = {"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
        snprintf(defname, sizeof defname, "群SOP %s %s", days[weekday], time_s);
        name = defname;
    }
    /* the task campaign its tasks roll up under (no rounds of its own: the SOP makes them) */
    char *gj = gids ? json_dumps(gids, JSON_COMPACT) : NULL;
    json_t *target = json_object();
    if (store_id) json_object_set_new(target, "store_ids", json_pack("[I]", (json_int_t)store_id));
    char content[32] = "";
    if (content_id) snprintf(content, sizeof content, "[%" PRId64 "]", content_id);
    char *tj = json_dumps(target, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(target);
    store_stmt *s = store_q(d->conn, Q_TCAMP_INSERT);
    store_bind_text(s, 1, name);
    store_bind_text(s, 2, "group_post");
    store_bind_text(s, 3, text);
    store_bind_text(s, 4, content_id ? content : NULL);
    store_bind_text(s, 5, tj);
    store_bind_int(s, 8, due_hours);
    store_bind_int(s, 9, 0);   /* no holdout: a post to a group has no control group */
    store_bind_int(s, 10, 14); /* the campaign's attribution window, as a campaign's default */
    store_bind_int(s, 11, due_hours > 4 ? 4 : 1);
    store_bind_int(s, 12, 24);
    if (store_id) store_bind_int(s, 13, store_id);
    if (d->who.staff_id) store_bind_int(s, 14, d->who.staff_id);
    store_bind_int(s, 15, d->now);
    int rc = store_exec(s, e);
    free(tj);
    if (rc) {
        free(gj);
        return -1;
    }
    int64_t camp = store_last_id(d->conn);
    s = store_q(d->conn, Q_GSOP_INSERT);
    store_bind_text(s, 1, name);
    store_bind_int(s, 2, camp);
    if (store_id) store_bind_int(s, 3, store_id);
    store_bind_text(s, 4, gids ? NULL : theme);
    store_bind_text(s, 5, gj);
    store_bind_int(s, 6, weekday);
    store_bind_int(s, 7, minute);
    if (content_id) store_bind_int(s, 8, content_id);
    store_bind_text(s, 9, text);
    store_bind_int(s, 10, due_hours);
    store_bind_int(s, 11, d->now);
    if (d->who.staff_id) store_bind_int(s, 12, d->who.staff_id);
    rc = store_exec(s, e);
    free(gj);
    if (rc) return -1;
    int64_t id = store_last_id(d->conn);
    if (out) {
        gsop g;
        if (gsop_load(d, id, &g, e)) return -1;
        *out = gsop_json(d, &g);
        gsop_free(&g);
    }
    return 201;
}

int group_sops_get(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    gsop g;
    if (gsop_load(d, id, &g, e)) return -1;
    if (!gsop_in_scope(d, &g)) {
        gsop_free(&g);
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, NULL, "group SOP %lld is outside your scope",
                            (long long)id);
    }
    *out = gsop_json(d, &g);
    gsop_free(&g);
    return 200;
}

int group_sops_list(dom *d, int64_t store_id, int64_t cursor, int limit, json_t **out, siyu_err *e)
{
    if (d->who.role == ROLE_STORE_MANAGER) {
        if (store_id && store_id != d->who.store_id)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, "store_id", "store_id: not your store");
        store_id = d->who.store_id;
    }
    json_t *items = json_array();
    int64_t last = 0;
    gsop *rows = calloc((size_t)limit + 1, sizeof *rows);
    int n = 0;
    store_stmt *s = store_q(d->conn, Q_GSOP_LIST);
    if (store_id) store_bind_int(s, 1, store_id);
    store_bind_int(s, 2, cursor);
    store_bind_int(s, 3, limit);
    while (n < limit && store_step(s) == STORE_ROW)
        gsop_row(s, &rows[n++]);
    store_reset(s);
    for (int i = 0; i < n; i++) {
        last = rows[i].id;
        json_array_append_new(items, gsop_json(d, &rows[i]));
        gsop_free(&rows[i]);
    }
    free(rows);
    *out = dom_list(items, limit, last);
    return 200;
}

int group_sops_patch(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"state", "text", NULL};
    static const char *const states[] = {"active", "paused", NULL};
    int st = -1;
    const char *text = NULL;
    if (jx_only(body, allowed, NULL, e) || jx_enum(body, "state", false, states, &st, e) < 0 ||
        jx_str(body, "text", false, &text, e) < 0)
        return -1;
    if (text && (!*text || strlen(text) > 4000))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "text", "text: 1 to 4000 characters");
    gsop g;
    if (gsop_load(d, id, &g, e)) return -1;
    if (!gsop_in_scope(d, &g)) {
        gsop_free(&g);
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, NULL, "group SOP %lld is outside your scope",
                            (long long)id);
    }
    store_stmt *s = store_q(d->conn, Q_GSOP_SET);
    store_bind_text(s, 1, st >= 0 ? states[st] : g.state);
    store_bind_text(s, 2, text ? text : g.text);
    store_bind_int(s, 3, d->now);
    store_bind_int(s, 4, id);
    int rc = store_exec(s, e); /* before g's text, bound, is freed */
    gsop_free(&g);
    if (rc) return -1;
    if (out) {
        if (gsop_load(d, id, &g, e)) return -1;
        *out = gsop_json(d, &g);
        gsop_free(&g);
    }
    return 200;
}

/* The latest slot of one SOP: a task per targeted group whose owner runs it. */
static int gsop_slot(dom *d, const gsop *g, int64_t *made, int64_t *waiting, siyu_err *e)
{
    int64_t at;
    int32_t day = latest_slot(g, d->now, &at);
    if (!day) return 0;
    char round[16];
    date_format(day, round, sizeof round);
    typedef struct {
        int64_t id, owner, store;
        bool runs;
    } tg;
    tg *v = NULL;
    size_t n = 0, cap = 0;
    store_stmt *s = store_q(d->conn, Q_GSOP_GROUPS);
    if (g->store_id && !g->group_ids) store_bind_int(s, 1, g->store_id);
    store_bind_text(s, 2, g->group_ids || !g->theme[0] ? NULL : g->theme);
    store_bind_text(s, 3, g->group_ids);
    while (store_step(s) == STORE_ROW) {
        if (n == cap) v = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof *v);
        const char *st = store_col_text(s, 2);
        v[n++] =
            (tg){store_col_int(s, 0), store_col_null(s, 1) ? 0 : store_col_int(s, 1),
                 store_col_int(s, 3), strcmp(st, "normal") == 0 || strcmp(st, "inherited") == 0};
    }
    store_reset(s);
    /* a task made after its slot (a group inherited late) still gets its full time */
    int64_t due = (at > d->now - g->due_hours * 3600 ? at : d->now) + g->due_hours * 3600;
    int64_t new_tasks = 0;
    for (size_t i = 0; i < n; i++) {
        if (!v[i].runs || !v[i].owner) { /* the owner left: it waits for the inheritor */
            s = store_q(d->conn, Q_GSOP_TASK_EXISTS);
            store_bind_int(s, 1, g->campaign_id);
            store_bind_text(s, 2, round);
            store_bind_int(s, 3, v[i].id);
            if (store_step(s) != STORE_ROW) (*waiting)++;
            store_reset(s);
            continue;
        }
        s = store_q(d->conn, Q_GSOP_TASK_INSERT);
        store_bind_int(s, 1, v[i].owner);
        store_bind_int(s, 2, g->campaign_id);
        store_bind_int(s, 3, v[i].store);
        store_bind_text(s, 4, g->text);
        store_bind_int(s, 5, due);
        store_bind_int(s, 6, d->now);
        store_bind_text(s, 7, round);
        store_bind_int(s, 8, v[i].id);
        if (store_exec(s, e)) {
            free(v);
            return -1;
        }
        new_tasks += store_changes(d->conn);
    }
    free(v);
    *made += new_tasks;
    if (!new_tasks) return 0;
    /* the campaign counts its tasks, as its own rounds do (siyu check) */
    s = store_q(d->conn, Q_GSOP_CAMP_TASKS);
    store_bind_int(s, 1, new_tasks);
    store_bind_text(s, 2, round);
    store_bind_int(s, 3, g->campaign_id);
    return store_exec(s, e);
}

int group_sops_tick(dom *d, json_t **out, siyu_err *e)
{
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    store_stmt *s = store_q(d->conn, Q_GSOP_ACTIVE);
    while (store_step(s) == STORE_ROW) {
        if (n == cap) ids = realloc(ids, (cap = cap ? cap * 2 : 16) * sizeof *ids);
        ids[n++] = store_col_int(s, 0);
    }
    store_reset(s);
    int64_t made = 0, waiting = 0;
    for (size_t i = 0; i < n; i++) {
        gsop g;
        if (gsop_load(d, ids[i], &g, e)) {
            free(ids);
            return -1;
        }
        int rc = gsop_slot(d, &g, &made, &waiting, e);
        gsop_free(&g);
        if (rc) {
            free(ids);
            return -1;
        }
    }
    free(ids);
    if (out)
        *out = json_pack("{s:I, s:I}", "tasks", (json_int_t)made, "waiting", (json_int_t)waiting);
    return 0;
}
