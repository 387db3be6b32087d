/* tasks.c — task campaigns (SOP): HQ or a store hands work to guides as tasks.
 *
 * A campaign names a kind, a script with template variables, content, a target (a
 * segment, stores, guides) and a deadline, or a recurring rule. Each round of it makes
 * one task per targeted member on their credited guide (one per guide for the kinds
 * that name no member), holding a fixed share of the targeted members out as the
 * control group of the uplift. Rounds are set-based: the member ids go to the store in
 * chunks and one INSERT … SELECT per chunk picks each member's credited guide and
 * applies the store and guide filters, so a million members launch in seconds.
 *
 * The tick (guides_tasks_tick) makes the recurring rounds, reminds guides before a
 * deadline (a notice per guide and campaign, read on the workbench) and expires open
 * tasks left past their deadline. The report rolls the tasks up by store, guide and
 * region and compares the orders of tasked members with the holdout's. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "guides/guides.h"
#include "journey/journey.h"
#include "messaging/msg_guardrails.h"
#include "messaging/msg_template.h"
#include "segment/eval.h"
#include "segment/expr.h"

const char *const tcamp_kinds[] = {"call", "visit", "wecom_message", "moments", "group_post", NULL};
const char *const task_outcomes[] = {"done", "sent", "unreachable", "refused", NULL};

#define CHUNK 5000
#define Z95 1.959963984540054
/* the holdout hash is keyed by (member, this + campaign id), so a campaign's control
 * group never lines up with a journey's of the same id */
#define HOLDOUT_SALT ((int64_t)1 << 40)

bool tcamp_kind_has_members(const char *kind)
{
    return strcmp(kind, "moments") != 0 && strcmp(kind, "group_post") != 0;
}

/* ---------------- template variables ---------------- */

int guides_script_check(const char *text, const char *field, siyu_err *e)
{
    msg_template *t = NULL;
    siyu_err sub;
    siyu_err_init(&sub);
    uint32_t avail =
        MSG_VAR_ALL & ~(MSG_VAR_BIT(MSG_VAR_COUPON_CODE) | MSG_VAR_BIT(MSG_VAR_COUPON_EXPIRES_ON));
    int rc = msg_template_compile(text, strlen(text), &t, &sub);
    if (rc == 0) rc = msg_template_check_available(t, avail, &sub);
    msg_template_free(t);
    if (rc) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: %s", field, sub.message);
        siyu_err_clear(&sub);
        return -1;
    }
    return 0;
}

/* ---------------- checking a campaign ---------------- */

/* An array of 1..max positive ids under key (absent: *out NULL). */
static int id_array(json_t *obj, const char *key, const char *field, size_t max, json_t **out,
                    siyu_err *e)
{
    json_t *a = json_object_get(obj, key);
    *out = NULL;
    if (!a || json_is_null(a)) return 0;
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > max)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: an array of 1 to %zu ids", field,
                            max);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (!json_is_integer(v) ||
                                    json_integer_value(v) <=
                                        0) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field,
                                                               "%s[%zu]: not an id", field, i);
    *out = a;
    return 0;
}

static char *dump(json_t *v)
{
    return v ? json_dumps(v, JSON_COMPACT) : NULL;
}

/* Checks and normalises the target {segment, store_ids, guide_ids}: a store manager's
 * campaign is narrowed to their store (naming another store or its guides is a 403). */
int guides_target_check(dom *d, struct seg_index *idx, json_t *target, siyu_err *e)
{
    static const char *const keys[] = {"segment", "store_ids", "guide_ids", NULL};
    if (!json_is_object(target))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "target",
                            "target: an object {segment, store_ids, guide_ids}");
    if (jx_only(target, keys, "target.", e)) return -1;
    const char *expr = NULL;
    if (jx_str(target, "segment", false, &expr, e) < 0) return -1;
    if (expr) {
        if (!idx)
            return siyu_err_set(e, SIYU_INTERNAL, "target.segment",
                                "target.segment: no member index here");
        seg_expr *ex = NULL;
        seg_error se;
        if (seg_parse(expr, idx, &ex, &se))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "target.segment", "target.segment: %s",
                                se.msg);
        seg_expr_free(ex);
    }
    json_t *stores, *guides;
    if (id_array(target, "store_ids", "target.store_ids", 10000, &stores, e) ||
        id_array(target, "guide_ids", "target.guide_ids", 100000, &guides, e))
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(stores, i, v)
    {
        char f[48];
        snprintf(f, sizeof f, "target.store_ids[%zu]", i);
        if (dom_require_store(d, json_integer_value(v), f, e)) return -1;
        if (d->who.role == ROLE_STORE_MANAGER && json_integer_value(v) != d->who.store_id)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, f, "%s: outside your store", f);
    }
    json_array_foreach(guides, i, v)
    {
        char f[48];
        int64_t sid = 0;
        snprintf(f, sizeof f, "target.guide_ids[%zu]", i);
        if (dom_require_staff(d, json_integer_value(v), "guide", f, &sid, e)) return -1;
        if (d->who.role == ROLE_STORE_MANAGER && sid != d->who.store_id)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, f, "%s: a guide of another store", f);
    }
    if (d->who.role == ROLE_STORE_MANAGER && !stores)
        json_object_set_new(target, "store_ids", json_pack("[I]", (json_int_t)d->who.store_id));
    return 0;
}

/* ---------------- rounds ---------------- */

typedef struct camp {
    int64_t id, due_at, due_hours, holdout_pct, window_days, remind_hours, expire_hours, store_id;
    char name[256], kind[24], last_round[64];
    json_t *target, *recurring;
} camp;

static void camp_free(camp *c)
{
    json_decref(c->target);
    json_decref(c->recurring);
    c->target = c->recurring = NULL;
}

static int camp_load(dom *d, int64_t id, camp *c, siyu_err *e)
{
    memset(c, 0, sizeof *c);
    store_stmt *s = store_q(d->conn, Q_TCAMP_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "task campaign %" PRId64 " not found", id);
    }
    c->id = id;
    snprintf(c->name, sizeof c->name, "%s", store_col_text(s, 1));
    snprintf(c->kind, sizeof c->kind, "%s", store_col_text(s, 2));
    c->target = json_loads(store_col_text(s, 5), 0, NULL);
    if (!store_col_null(s, 6)) c->recurring = json_loads(store_col_text(s, 6), 0, NULL);
    c->due_at = store_col_null(s, 7) ? 0 : store_col_int(s, 7);
    c->due_hours = store_col_int(s, 8);
    c->holdout_pct = store_col_int(s, 9);
    c->window_days = store_col_int(s, 10);
    c->remind_hours = store_col_int(s, 11);
    c->expire_hours = store_col_int(s, 12);
    c->store_id = store_col_null(s, 13) ? 0 : store_col_int(s, 13);
    if (!store_col_null(s, 16))
        snprintf(c->last_round, sizeof c->last_round, "%s", store_col_text(s, 16));
    store_reset(s);
    if (!c->target) c->target = json_object();
    return 0;
}

typedef struct round_counts {
    int64_t tasks, held_out, consent, cap, no_guide;
} round_counts;

/* Appends ids[from..to) as a JSON array into buf. */
static void ids_json(const int64_t *ids, size_t n, char *buf, size_t cap)
{
    size_t k = 0;
    buf[k++] = '[';
    for (size_t i = 0; i < n && k + 24 < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, i ? ",%" PRId64 : "%" PRId64, ids[i]);
    buf[k++] = ']';
    buf[k] = 0;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int exec_or_fail(store_stmt *s, dom *d, siyu_err *e)
{
    if (store_step(s) == STORE_ERROR) {
        store_reset(s);
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: %s", store_errmsg(d->conn));
    }
    store_reset(s);
    return 0;
}

/* The targeted members of a campaign now: the segment's, else every live member. */
static int target_members(dom *d, struct seg_index *idx, json_t *target, int64_t **ids, size_t *n,
                          siyu_err *e)
{
    const char *expr = json_string_value(json_object_get(target, "segment"));
    *ids = NULL;
    *n = 0;
    if (expr) {
        if (!idx)
            return siyu_err_set(e, SIYU_INTERNAL, "target.segment",
                                "target.segment: no member index here");
        seg_expr *ex = NULL;
        seg_error se;
        seg_audience a = {0};
        if (seg_parse(expr, idx, &ex, &se))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "target.segment", "target.segment: %s",
                                se.msg);
        int rc = seg_select(idx, ex, NULL, &a, &se);
        seg_expr_free(ex);
        if (rc)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "target.segment", "target.segment: %s",
                                se.msg);
        *ids = malloc((a.count ? a.count : 1) * sizeof **ids);
        memcpy(*ids, a.ids, a.count * sizeof **ids);
        *n = a.count;
        seg_audience_release(&a);
        return 0;
    }
    size_t cap = 1024;
    *ids = malloc(cap * sizeof **ids);
    store_stmt *s = store_q(d->conn, Q_SCAN_LIVE_MEMBER_IDS);
    while (store_step(s) == STORE_ROW) {
        if (*n == cap) *ids = realloc(*ids, (cap *= 2) * sizeof **ids);
        (*ids)[(*n)++] = store_col_int(s, 0);
    }
    store_reset(s);
    return 0;
}

/* One round of a campaign of a kind with members: tasks for the targeted members on
 * their credited guides, the holdout recorded. */
static int round_members(dom *d, struct seg_index *idx, const camp *c, const char *round,
                         int64_t due, round_counts *rc, siyu_err *e)
{
    int64_t *ids;
    size_t n;
    if (target_members(d, idx, c->target, &ids, &n, e)) return -1;
    char *stores = dump(json_object_get(c->target, "store_ids"));
    char *guides = dump(json_object_get(c->target, "guide_ids"));
    int64_t *treat = malloc((n ? n : 1) * sizeof *treat),
            *hold = malloc((n ? n : 1) * sizeof *hold);
    size_t nt = 0, nh = 0;
    /* a WeCom message obeys the per-member frequency caps shared with journeys' WeCom
     * sends and mass messages: members at a cap now are not tasked */
    int64_t *capped = NULL, *over = NULL;
    size_t ncap = 0, nover = 0;
    bool all_capped = false;
    if (strcmp(c->kind, "wecom_message") == 0) {
        all_capped = guides_wecom_capped(d, &capped, &ncap) == 1;
        over = malloc((n ? n : 1) * sizeof *over);
    }
    for (size_t i = 0; i < n; i++) {
        if (msg_in_holdout(ids[i], HOLDOUT_SALT + c->id, (int)c->holdout_pct))
            hold[nh++] = ids[i];
        else if (over &&
                 (all_capped || (ncap && bsearch(&ids[i], capped, ncap, sizeof *capped, cmp_id))))
            over[nover++] = ids[i];
        else
            treat[nt++] = ids[i];
    }
    free(ids);
    free(capped);
    char *buf = malloc(CHUNK * 22 + 16);
    int err = 0;
    /* the capped members this campaign would have tasked (its filters applied) */
    for (size_t at = 0; at < nover && !err; at += CHUNK) {
        size_t k = nover - at < CHUNK ? nover - at : CHUNK;
        ids_json(over + at, k, buf, CHUNK * 22 + 16);
        store_stmt *s = store_q(d->conn, Q_TCAMP_TARGET_COUNT);
        store_bind_text(s, 1, buf);
        store_bind_text(s, 2, stores);
        store_bind_text(s, 3, guides);
        if (store_step(s) == STORE_ROW) rc->cap += store_col_int(s, 0);
        store_reset(s);
    }
    free(over);
    for (size_t at = 0; at < nt && !err; at += CHUNK) {
        size_t k = nt - at < CHUNK ? nt - at : CHUNK;
        ids_json(treat + at, k, buf, CHUNK * 22 + 16);
        store_stmt *s = store_q(d->conn, Q_TCAMP_TASKS_INSERT);
        store_bind_int(s, 1, c->id);
        store_bind_text(s, 2, c->kind);
        store_bind_text(s, 3, strcmp(c->kind, "wecom_message") == 0 ? "wecom" : NULL);
        if (due) store_bind_int(s, 4, due);
        store_bind_int(s, 5, d->now);
        store_bind_text(s, 6, round);
        store_bind_text(s, 7, buf);
        store_bind_text(s, 8, stores);
        store_bind_text(s, 9, guides);
        err = exec_or_fail(s, d, e);
        if (!err) rc->tasks += store_changes(d->conn);
    }
    for (size_t at = 0; at < nh && !err; at += CHUNK) {
        size_t k = nh - at < CHUNK ? nh - at : CHUNK;
        ids_json(hold + at, k, buf, CHUNK * 22 + 16);
        store_stmt *s = store_q(d->conn, Q_TCAMP_HOLDOUT_INSERT);
        store_bind_int(s, 1, c->id);
        store_bind_int(s, 2, d->now);
        store_bind_text(s, 3, buf);
        store_bind_text(s, 4, stores);
        store_bind_text(s, 5, guides);
        err = exec_or_fail(s, d, e);
        if (!err) rc->held_out += store_changes(d->conn);
    }
    free(buf);
    free(treat);
    free(hold);
    free(stores);
    free(guides);
    return err ? -1 : 0;
}

static int round_guides(dom *d, const camp *c, const char *round, int64_t due, round_counts *rc,
                        siyu_err *e)
{
    char *stores = dump(json_object_get(c->target, "store_ids"));
    char *guides = dump(json_object_get(c->target, "guide_ids"));
    store_stmt *s = store_q(d->conn, Q_TCAMP_GUIDE_TASKS_INSERT);
    store_bind_int(s, 1, c->id);
    store_bind_text(s, 2, c->kind);
    store_bind_text(s, 3, strcmp(c->kind, "group_post") == 0 ? "wecom" : NULL);
    if (due) store_bind_int(s, 4, due);
    store_bind_int(s, 5, d->now);
    store_bind_text(s, 6, round);
    store_bind_text(s, 7, stores);
    store_bind_text(s, 8, guides);
    int err = exec_or_fail(s, d, e);
    if (!err) rc->tasks += store_changes(d->conn);
    free(stores);
    free(guides);
    return err ? -1 : 0;
}

static int round_done(dom *d, const camp *c, const char *round, const round_counts *rc, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_TCAMP_ROUND_DONE);
    store_bind_text(s, 1, round);
    store_bind_int(s, 2, rc->tasks);
    store_bind_int(s, 3, rc->held_out);
    store_bind_int(s, 4, rc->consent);
    store_bind_int(s, 5, rc->cap);
    store_bind_int(s, 6, rc->no_guide);
    store_bind_int(s, 7, c->id);
    return store_exec(s, e);
}

static int run_round(dom *d, struct seg_index *idx, const camp *c, const char *round, int64_t due,
                     round_counts *rc, siyu_err *e)
{
    int r;
    if (strcmp(c->kind, "mass_message") == 0)
        r = guides_mass_round(d, idx, c->id, c->target, round, due, &rc->tasks, &rc->consent,
                              &rc->cap, &rc->no_guide, e);
    else if (tcamp_kind_has_members(c->kind))
        r = round_members(d, idx, c, round, due, rc, e);
    else
        r = round_guides(d, c, round, due, rc, e);
    if (r) return -1;
    return round_done(d, c, round, rc, e);
}

/* Day N after a contact was added: a task for each live edge whose day came in
 * (last, now], on the guide who added the customer. */
static int round_contacts(dom *d, const camp *c, json_t *days, round_counts *rc, siyu_err *e)
{
    int64_t last = c->last_round[0] ? strtoll(c->last_round, NULL, 10) : d->now;
    json_t *stores = json_object_get(c->target, "store_ids");
    json_t *guides = json_object_get(c->target, "guide_ids");
    size_t i;
    json_t *v;
    json_array_foreach(days, i, v)
    {
        int64_t n = json_integer_value(v);
        char round[32];
        snprintf(round, sizeof round, "d%" PRId64, n);
        typedef struct {
            int64_t member, guide, store;
            bool active;
        } hit;
        hit *hits = NULL;
        size_t nh = 0, cap = 0;
        store_stmt *s = store_q(d->conn, Q_TCAMP_CONTACTS_DUE);
        store_bind_int(s, 1, last - n * 86400);
        store_bind_int(s, 2, d->now - n * 86400);
        while (store_step(s) == STORE_ROW) {
            if (nh == cap) hits = realloc(hits, (cap = cap ? cap * 2 : 64) * sizeof *hits);
            hits[nh++] = (hit){store_col_int(s, 0), store_col_int(s, 1),
                               store_col_null(s, 4) ? 0 : store_col_int(s, 4),
                               strcmp(store_col_text(s, 5), "active") == 0};
        }
        store_reset(s);
        for (size_t k = 0; k < nh; k++) {
            bool in = true;
            size_t j;
            json_t *x;
            if (stores) {
                in = false;
                json_array_foreach(stores, j, x) in |= json_integer_value(x) == hits[k].store;
            }
            if (in && guides) {
                in = false;
                json_array_foreach(guides, j, x) in |= json_integer_value(x) == hits[k].guide;
            }
            if (!in) continue;
            if (msg_in_holdout(hits[k].member, HOLDOUT_SALT + c->id, (int)c->holdout_pct)) {
                char one[32];
                snprintf(one, sizeof one, "[%" PRId64 "]", hits[k].member);
                s = store_q(d->conn, Q_TCAMP_HOLDOUT_INSERT);
                store_bind_int(s, 1, c->id);
                store_bind_int(s, 2, d->now);
                store_bind_text(s, 3, one);
                if (exec_or_fail(s, d, e)) {
                    free(hits);
                    return -1;
                }
                rc->held_out += store_changes(d->conn);
                continue;
            }
            if (strcmp(c->kind, "wecom_message") == 0 && !guides_wecom_room(d, hits[k].member)) {
                rc->cap++;
                continue;
            }
            s = store_q(d->conn, Q_TASK_INSERT_CAMPAIGN);
            /* a departed guide gets no task: it waits for whoever takes the member over */
            if (hits[k].active) store_bind_int(s, 1, hits[k].guide);
            store_bind_int(s, 2, hits[k].member);
            store_bind_int(s, 3, c->id);
            if (hits[k].store) store_bind_int(s, 4, hits[k].store);
            store_bind_text(s, 5, c->kind);
            store_bind_text(s, 6, strcmp(c->kind, "wecom_message") == 0 ? "wecom" : NULL);
            store_bind_int(s, 7, d->now + c->due_hours * 3600);
            store_bind_int(s, 8, d->now);
            store_bind_text(s, 9, round);
            if (store_exec(s, e)) {
                free(hits);
                return -1;
            }
            rc->tasks++;
        }
        free(hits);
    }
    char now[32];
    snprintf(now, sizeof now, "%" PRId64, d->now);
    return round_done(d, c, now, rc, e);
}

/* The recurring rounds due now for one campaign. */
static int camp_recur(dom *d, struct seg_index *idx, const camp *c, siyu_err *e)
{
    round_counts rc = {0};
    json_t *days = json_object_get(c->recurring, "after_contact_days");
    if (days) return round_contacts(d, c, days, &rc, e);
    int64_t weekday = json_integer_value(json_object_get(c->recurring, "weekday"));
    int32_t today = time_local_day(d->now);
    /* 1970-01-01 was a Thursday (4) */
    int wd = (int)(((today % 7) + 7 + 3) % 7) + 1;
    if (wd != weekday) return 0;
    char round[16];
    date_format(today, round, sizeof round);
    if (strcmp(round, c->last_round) == 0) return 0;
    return run_round(d, idx, c, round, d->now + c->due_hours * 3600, &rc, e);
}

/* ---------------- the API ---------------- */

static json_t *camp_json(dom *d, int64_t id)
{
    store_stmt *s = store_q(d->conn, Q_TCAMP_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return json_null();
    }
    json_t *o = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "name", store_col_text(s, 1),
                          "kind", store_col_text(s, 2));
    json_object_set_new(o, "script", dom_nullable_text(s, 3));
    json_object_set_new(o, "content_ids",
                        store_col_null(s, 4) ? json_array()
                                             : json_loads(store_col_text(s, 4), 0, NULL));
    json_object_set_new(o, "target", json_loads(store_col_text(s, 5), 0, NULL));
    json_object_set_new(o, "recurring",
                        store_col_null(s, 6) ? json_null()
                                             : json_loads(store_col_text(s, 6), 0, NULL));
    json_object_set_new(o, "due",
                        store_col_null(s, 7) ? json_null() : dom_time(store_col_int(s, 7)));
    json_object_set_new(o, "due_hours", json_integer(store_col_int(s, 8)));
    json_object_set_new(o, "holdout_pct", json_integer(store_col_int(s, 9)));
    json_object_set_new(o, "window_days", json_integer(store_col_int(s, 10)));
    json_object_set_new(o, "remind_hours", json_integer(store_col_int(s, 11)));
    json_object_set_new(o, "expire_hours", json_integer(store_col_int(s, 12)));
    json_object_set_new(o, "store_id", dom_nullable_int(s, 13));
    json_object_set_new(o, "created_at", dom_time(store_col_int(s, 15)));
    json_object_set_new(o, "tasks", json_integer(store_col_int(s, 17)));
    json_object_set_new(o, "held_out", json_integer(store_col_int(s, 18)));
    json_object_set_new(o, "skipped",
                        json_pack("{s:I, s:I, s:I}", "consent", (json_int_t)store_col_int(s, 19),
                                  "frequency_cap", (json_int_t)store_col_int(s, 20), "no_guide",
                                  (json_int_t)store_col_int(s, 21)));
    store_reset(s);
    return o;
}

int guides_content_ids_check(dom *d, json_t *body, char **out, siyu_err *e)
{
    json_t *a = json_object_get(body, "content_ids");
    *out = NULL;
    if (!a || json_is_null(a)) return 0;
    if (!json_is_array(a) || json_array_size(a) > 20)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "content_ids",
                            "content_ids: an array of at most 20 content ids");
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        bool ok = json_is_integer(v);
        if (ok) {
            store_stmt *s = store_q(d->conn, Q_CONTENT_GET);
            store_bind_int(s, 1, json_integer_value(v));
            ok = store_step(s) == STORE_ROW;
            store_reset(s);
        }
        if (!ok)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "content_ids",
                                "content_ids[%zu]: no such content", i);
    }
    *out = json_dumps(a, JSON_COMPACT);
    return 0;
}

int guides_campaign_insert(dom *d, const char *name, const char *kind, const char *script,
                           const char *content_ids, json_t *target, json_t *recurring, int64_t due,
                           const guides_campaign_opts *o, int64_t *id, siyu_err *e)
{
    char *tj = json_dumps(target, JSON_COMPACT | JSON_SORT_KEYS);
    char *rj = recurring ? json_dumps(recurring, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    store_stmt *s = store_q(d->conn, Q_TCAMP_INSERT);
    store_bind_text(s, 1, name);
    store_bind_text(s, 2, kind);
    store_bind_text(s, 3, script);
    store_bind_text(s, 4, content_ids);
    store_bind_text(s, 5, tj);
    store_bind_text(s, 6, rj);
    if (due) store_bind_int(s, 7, due);
    store_bind_int(s, 8, o->due_hours);
    store_bind_int(s, 9, o->holdout_pct);
    store_bind_int(s, 10, o->window_days);
    store_bind_int(s, 11, o->remind_hours);
    store_bind_int(s, 12, o->expire_hours);
    if (d->who.role == ROLE_STORE_MANAGER) store_bind_int(s, 13, d->who.store_id);
    if (d->who.staff_id) store_bind_int(s, 14, d->who.staff_id);
    store_bind_int(s, 15, d->now);
    int rc = store_exec(s, e);
    free(tj);
    free(rj);
    if (rc) return -1;
    *id = store_last_id(d->conn);
    return 0;
}

static int opt_range(json_t *body, const char *key, int64_t lo, int64_t hi, int64_t *v, siyu_err *e)
{
    if (jx_int(body, key, false, v, e) < 0) return -1;
    if (*v < lo || *v > hi)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: %" PRId64 " to %" PRId64, key, lo,
                            hi);
    return 0;
}

int guides_campaign_opts_read(json_t *body, guides_campaign_opts *o, siyu_err *e)
{
    *o = (guides_campaign_opts){.due_hours = 24,
                                .holdout_pct = 10,
                                .window_days = 14,
                                .remind_hours = 4,
                                .expire_hours = 72};
    return opt_range(body, "due_hours", 1, 24 * 31, &o->due_hours, e) ||
           opt_range(body, "holdout_pct", 0, 50, &o->holdout_pct, e) ||
           opt_range(body, "window_days", 1, 90, &o->window_days, e) ||
           opt_range(body, "remind_hours", 0, 48, &o->remind_hours, e) ||
           opt_range(body, "expire_hours", 1, 24 * 31, &o->expire_hours, e);
}

int task_campaigns_create(dom *d, struct seg_index *idx, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const keys[] = {"name",        "kind",        "script",       "content_ids",
                                       "target",      "due",         "recurring",    "due_hours",
                                       "holdout_pct", "window_days", "remind_hours", "expire_hours",
                                       NULL};
    const char *name = NULL, *script = NULL;
    int kind_ix;
    int64_t due = 0;
    guides_campaign_opts o;
    if (jx_only(body, keys, NULL, e) || jx_str(body, "name", true, &name, e) < 0 ||
        jx_enum(body, "kind", true, tcamp_kinds, &kind_ix, e) < 0 ||
        jx_str(body, "script", false, &script, e) < 0 || jx_time(body, "due", false, &due, e) < 0 ||
        guides_campaign_opts_read(body, &o, e))
        return -1;
    if (!*name || strlen(name) > 200)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: 1 to 200 bytes");
    if (script && (strlen(script) > 4000 || guides_script_check(script, "script", e)))
        return script && strlen(script) > 4000
                   ? siyu_err_set(e, SIYU_INVALID_ARGUMENT, "script", "script: at most 4000 bytes")
                   : -1;
    const char *kind = tcamp_kinds[kind_ix];
    json_t *target = json_object_get(body, "target");
    target = target ? json_deep_copy(target) : json_object();
    json_t *rec = json_object_get(body, "recurring");
    int rc = -1;
    char *content = NULL;
    if (guides_target_check(d, idx, target, e) || guides_content_ids_check(d, body, &content, e))
        goto out;
    if (rec && !json_is_null(rec)) {
        static const char *const rkeys[] = {"weekday", "after_contact_days", NULL};
        if (!json_is_object(rec) ||
            !json_object_get(rec, "weekday") == !json_object_get(rec, "after_contact_days")) {
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, "recurring",
                         "recurring: {\"weekday\": 1..7} or {\"after_contact_days\": [N, …]}");
            goto out;
        }
        if (jx_only(rec, rkeys, "recurring.", e)) goto out;
        json_t *wd = json_object_get(rec, "weekday"),
               *days = json_object_get(rec, "after_contact_days");
        if (wd &&
            (!json_is_integer(wd) || json_integer_value(wd) < 1 || json_integer_value(wd) > 7)) {
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, "recurring.weekday",
                         "recurring.weekday: 1 (Monday) to 7 (Sunday)");
            goto out;
        }
        if (days) {
            bool ok =
                json_is_array(days) && json_array_size(days) >= 1 && json_array_size(days) <= 10;
            size_t i;
            json_t *v;
            json_array_foreach(days, i, v) ok = ok && json_is_integer(v) &&
                                                json_integer_value(v) >= 0 &&
                                                json_integer_value(v) <= 365;
            if (!ok) {
                siyu_err_set(e, SIYU_INVALID_ARGUMENT, "recurring.after_contact_days",
                             "recurring.after_contact_days: 1 to 10 days, 0 to 365");
                goto out;
            }
            if (!tcamp_kind_has_members(kind) || json_object_get(target, "segment")) {
                siyu_err_set(e, SIYU_INVALID_ARGUMENT, "recurring.after_contact_days",
                             "recurring.after_contact_days: for kinds with members, targeted by "
                             "stores or guides (not a segment)");
                goto out;
            }
        }
        if (due) {
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, "due",
                         "due: a recurring campaign's tasks are due due_hours after each round");
            goto out;
        }
    } else {
        rec = NULL;
        if (!due) {
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, "due", "due: required (or a recurring rule)");
            goto out;
        }
        if (due <= d->now) {
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, "due", "due: must be in the future");
            goto out;
        }
    }
    int64_t id;
    if (guides_campaign_insert(d, name, kind, script, content, target, rec, due, &o, &id, e))
        goto out;
    camp c;
    if (camp_load(d, id, &c, e)) goto out;
    round_counts counts = {0};
    int r;
    if (!rec)
        r = run_round(d, idx, &c, "launch", due, &counts, e);
    else if (json_object_get(rec, "after_contact_days")) {
        char now[32];
        snprintf(now, sizeof now, "%" PRId64, d->now);
        r = round_done(d, &c, now, &counts, e);
    } else
        r = camp_recur(d, idx, &c, e);
    camp_free(&c);
    if (r) goto out;
    *out = camp_json(d, id);
    rc = 201;
out:
    free(content);
    json_decref(target);
    return rc;
}

int task_campaigns_get(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    camp c;
    if (camp_load(d, id, &c, e)) return -1;
    camp_free(&c);
    if (d->who.role == ROLE_STORE_MANAGER && c.store_id && c.store_id != d->who.store_id)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, "id",
                            "task campaign %" PRId64 " is another store's", id);
    *out = camp_json(d, id);
    return 200;
}

int task_campaigns_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e)
{
    (void)e;
    int64_t ids[1000];
    int n = 0;
    store_stmt *s = store_q(d->conn, Q_TASK_CAMPAIGN_LIST);
    store_bind_int(s, 1, cursor);
    store_bind_int(s, 2, limit);
    if (d->who.role == ROLE_STORE_MANAGER) store_bind_int(s, 3, d->who.store_id);
    while (n < limit && n < 1000 && store_step(s) == STORE_ROW)
        ids[n++] = store_col_int(s, 0);
    store_reset(s);
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, camp_json(d, ids[i]));
    *out = dom_list(items, limit, n ? ids[n - 1] : 0);
    return 200;
}

/* ---------------- the tick ---------------- */

/* The reminders and expiry of one campaign. Each touches only the rows it changes: a
 * campaign's open tasks are indexed by deadline (guide_tasks_open), expiry takes those
 * past the cutoff out of that index, and reminders cover the deadlines from the campaign's
 * watermark (reminded_until) to now + remind_hours, so a tick never rereads a million open
 * tasks that are not yet due or already reminded. */
static int camp_tick(dom *d, int64_t id, int64_t remind_h, int64_t expire_h, int64_t until,
                     int64_t *expired, int64_t *reminded, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_TASKS_EXPIRE);
    store_bind_int(s, 1, id);
    store_bind_int(s, 2, d->now - expire_h * 3600);
    if (store_exec(s, e)) return -1;
    *expired += store_changes(d->conn);
    int64_t from = until > d->now ? until : d->now, to = d->now + remind_h * 3600;
    if (remind_h <= 0 || to <= from) return 0;
    typedef struct {
        int64_t guide, n, due;
    } rem;
    rem *list = NULL;
    size_t n = 0, cap = 0;
    s = store_q(d->conn, Q_TASKS_REMIND_LIST);
    store_bind_int(s, 1, id);
    store_bind_int(s, 2, from);
    store_bind_int(s, 3, to);
    while (store_step(s) == STORE_ROW) {
        if (n == cap) list = realloc(list, (cap = cap ? cap * 2 : 16) * sizeof *list);
        list[n++] = (rem){store_col_int(s, 0), store_col_int(s, 1), store_col_int(s, 2)};
    }
    store_reset(s);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        s = store_q(d->conn, Q_NOTICE_INSERT);
        store_bind_int(s, 1, list[i].guide);
        store_bind_text(s, 2, "tasks_due");
        store_bind_int(s, 3, id);
        store_bind_int(s, 4, list[i].n);
        store_bind_int(s, 5, list[i].due);
        store_bind_int(s, 6, d->now);
        rc = store_exec(s, e);
        *reminded += list[i].n;
    }
    free(list);
    if (rc) return -1;
    if (n) {
        s = store_q(d->conn, Q_TASKS_REMIND_MARK);
        store_bind_int(s, 1, d->now);
        store_bind_int(s, 2, id);
        store_bind_int(s, 3, from);
        store_bind_int(s, 4, to);
        if (store_exec(s, e)) return -1;
    }
    s = store_q(d->conn, Q_TCAMP_SET_REMINDED);
    store_bind_int(s, 1, to);
    store_bind_int(s, 2, id);
    return store_exec(s, e);
}

int guides_tasks_tick(dom *d, struct seg_index *idx, json_t **out, siyu_err *e)
{
    int64_t expired = 0, reminded = 0, rounds = 0;
    typedef struct {
        int64_t id, remind, expire, until;
    } tc;
    tc *all = NULL;
    size_t na = 0, acap = 0;
    store_stmt *s = store_q(d->conn, Q_TCAMP_TICK_LIST);
    while (store_step(s) == STORE_ROW) {
        if (na == acap) all = realloc(all, (acap = acap ? acap * 2 : 16) * sizeof *all);
        all[na++] = (tc){store_col_int(s, 0), store_col_int(s, 1), store_col_int(s, 2),
                         store_col_null(s, 3) ? 0 : store_col_int(s, 3)};
    }
    store_reset(s);
    for (size_t i = 0; i < na; i++)
        if (camp_tick(d, all[i].id, all[i].remind, all[i].expire, all[i].until, &expired, &reminded,
                      e)) {
            free(all);
            return -1;
        }
    free(all);
    /* recurring rounds */
    int64_t *ids = NULL;
    size_t ni = 0, icap = 0;
    s = store_q(d->conn, Q_TCAMP_RECURRING);
    while (store_step(s) == STORE_ROW) {
        if (ni == icap) ids = realloc(ids, (icap = icap ? icap * 2 : 16) * sizeof *ids);
        ids[ni++] = store_col_int(s, 0);
    }
    store_reset(s);
    for (size_t i = 0; i < ni; i++) {
        camp c;
        if (camp_load(d, ids[i], &c, e)) {
            free(ids);
            return -1;
        }
        char before[64];
        snprintf(before, sizeof before, "%s", c.last_round);
        int r = camp_recur(d, idx, &c, e);
        camp_free(&c);
        if (r) {
            free(ids);
            return -1;
        }
        camp c2;
        if (camp_load(d, ids[i], &c2, e) == 0) {
            rounds += strcmp(before, c2.last_round) != 0 &&
                      !json_object_get(c2.recurring, "after_contact_days");
            camp_free(&c2);
        }
    }
    free(ids);
    if (out)
        *out = json_pack("{s:I, s:I, s:I}", "expired", (json_int_t)expired, "reminded",
                         (json_int_t)reminded, "rounds", (json_int_t)rounds);
    return 0;
}

/* ---------------- reassigning ---------------- */

int tasks_reassign(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const keys[] = {"guide_id", NULL};
    int64_t guide;
    if (jx_only(body, keys, NULL, e) || jx_int(body, "guide_id", true, &guide, e) < 0) return -1;
    store_stmt *s = store_q(d->conn, Q_TASK_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "task %" PRId64 " not found", id);
    }
    char state[16];
    snprintf(state, sizeof state, "%s", store_col_text(s, 9));
    int64_t old_store = store_col_null(s, 13) ? 0 : store_col_int(s, 13);
    int64_t camp_id = store_col_null(s, 12) ? 0 : store_col_int(s, 12);
    int64_t due = store_col_null(s, 8) ? 0 : store_col_int(s, 8);
    store_reset(s);
    int64_t sid = 0;
    if (dom_require_staff(d, guide, "guide", "guide_id", &sid, e)) return -1;
    if (!guides_staff_active(d, guide))
        return siyu_err_set(e, SIYU_CONFLICT, "guide_id",
                            "guide_id: guide %" PRId64 " has departed (no new tasks)", guide);
    if (d->who.role == ROLE_STORE_MANAGER && sid != d->who.store_id)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, "guide_id",
                            "guide_id: a guide of another store");
    if (d->who.role == ROLE_STORE_MANAGER && old_store && old_store != d->who.store_id)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, "id", "task %" PRId64 " is another store's",
                            id);
    if (strcmp(state, "open") != 0)
        return siyu_err_set(e, SIYU_CONFLICT, "state", "state: the task is %s already", state);
    s = store_q(d->conn, Q_TASK_REASSIGN);
    store_bind_int(s, 1, guide);
    if (sid) store_bind_int(s, 2, sid);
    store_bind_int(s, 3, id);
    if (store_exec(s, e)) return -1;
    /* a task already inside its reminder window reminds its new guide at once */
    if (camp_id && due > d->now) {
        camp c;
        if (camp_load(d, camp_id, &c, e)) return -1;
        camp_free(&c);
        if (c.remind_hours > 0 && due <= d->now + c.remind_hours * 3600) {
            s = store_q(d->conn, Q_NOTICE_INSERT);
            store_bind_int(s, 1, guide);
            store_bind_text(s, 2, "tasks_due");
            store_bind_int(s, 3, camp_id);
            store_bind_int(s, 4, 1);
            store_bind_int(s, 5, due);
            store_bind_int(s, 6, d->now);
            if (store_exec(s, e)) return -1;
        }
    }
    return tasks_get(d, id, out, e);
}

/* ---------------- the report ---------------- */

typedef struct agg {
    int64_t id, store;
    char name[128], region[64];
    int64_t tasks, done, on_time, open, skipped, expired;
} agg;

static agg *agg_find(agg **v, size_t *n, size_t *cap, int64_t id, const char *name,
                     const char *region)
{
    for (size_t i = 0; i < *n; i++)
        if ((*v)[i].id == id && (id || strcmp((*v)[i].name, name ? name : "") == 0))
            return &(*v)[i];
    if (*n == *cap) *v = realloc(*v, (*cap = *cap ? *cap * 2 : 16) * sizeof **v);
    agg *a = &(*v)[(*n)++];
    memset(a, 0, sizeof *a);
    a->id = id;
    snprintf(a->name, sizeof a->name, "%s", name ? name : "");
    snprintf(a->region, sizeof a->region, "%s", region ? region : "");
    return a;
}

static void agg_add(agg *a, const char *state, int on_time, int64_t n)
{
    a->tasks += n;
    if (strcmp(state, "done") == 0) {
        a->done += n;
        if (on_time) a->on_time += n;
    } else if (strcmp(state, "open") == 0)
        a->open += n;
    else if (strcmp(state, "skipped") == 0)
        a->skipped += n;
    else if (strcmp(state, "expired") == 0)
        a->expired += n;
}

static json_t *agg_json(const agg *a, const char *id_key, bool named)
{
    json_t *o = json_object();
    if (id_key) json_object_set_new(o, id_key, a->id ? json_integer(a->id) : json_null());
    if (named) json_object_set_new(o, "name", a->name[0] ? json_string(a->name) : json_null());
    json_object_set_new(o, "tasks", json_integer(a->tasks));
    json_object_set_new(o, "done", json_integer(a->done));
    json_object_set_new(o, "on_time", json_integer(a->on_time));
    json_object_set_new(o, "late", json_integer(a->done - a->on_time));
    json_object_set_new(o, "open", json_integer(a->open));
    json_object_set_new(o, "skipped", json_integer(a->skipped));
    json_object_set_new(o, "expired", json_integer(a->expired));
    json_object_set_new(o, "completion_rate",
                        a->tasks ? json_real((double)a->done / (double)a->tasks) : json_null());
    return o;
}

static json_t *group_json(int64_t n, int64_t x)
{
    double lo, hi;
    guides_wilson(x, n, &lo, &hi);
    return json_pack("{s:I, s:I, s:o, s:[f, f]}", "members", (json_int_t)n, "converted",
                     (json_int_t)x, "rate", n ? json_real((double)x / (double)n) : json_null(),
                     "interval", lo, hi);
}

void guides_wilson(int64_t x, int64_t n, double *lo, double *hi)
{
    if (n <= 0) {
        *lo = 0, *hi = 1;
        return;
    }
    double z = Z95, nn = (double)n, p = (double)x / nn, z2 = z * z;
    double denom = 1 + z2 / nn;
    double center = (p + z2 / (2 * nn)) / denom;
    double half = z * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / denom;
    *lo = x == 0 ? 0 : fmax(0, center - half);
    *hi = x == n ? 1 : fmin(1, center + half);
}

void guides_newcombe(int64_t x1, int64_t n1, int64_t x2, int64_t n2, double *lo, double *hi)
{
    double l1, u1, l2, u2;
    guides_wilson(x1, n1, &l1, &u1);
    guides_wilson(x2, n2, &l2, &u2);
    double p1 = n1 > 0 ? (double)x1 / (double)n1 : 0, p2 = n2 > 0 ? (double)x2 / (double)n2 : 0;
    double diff = p1 - p2;
    *lo = diff - sqrt((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2));
    *hi = diff + sqrt((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2));
}

static json_t *uplift_json(int64_t n1, int64_t x1, int64_t n0, int64_t x0)
{
    json_t *o = json_object();
    if (n1 && n0) {
        double lo, hi;
        guides_newcombe(x1, n1, x0, n0, &lo, &hi);
        json_object_set_new(o, "uplift",
                            json_real((double)x1 / (double)n1 - (double)x0 / (double)n0));
        json_object_set_new(o, "interval", json_pack("[f, f]", lo, hi));
    } else {
        json_object_set_new(o, "uplift", json_null());
        json_object_set_new(o, "interval", json_null());
    }
    return o;
}

int task_campaigns_report(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    camp c;
    if (camp_load(d, id, &c, e)) return -1;
    int64_t scope_store = d->who.role == ROLE_STORE_MANAGER ? d->who.store_id : 0;
    if (scope_store && c.store_id && c.store_id != scope_store) {
        camp_free(&c);
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, "id",
                            "task campaign %" PRId64 " is another store's", id);
    }
    agg total = {0}, *stores = NULL, *guides = NULL, *regions = NULL;
    size_t ns = 0, cs = 0, ng = 0, cg = 0, nr = 0, cr = 0;
    store_stmt *s = store_q(d->conn, Q_TCAMP_REPORT);
    store_bind_int(s, 1, id);
    if (scope_store) store_bind_int(s, 2, scope_store);
    while (store_step(s) == STORE_ROW) {
        int64_t sid = store_col_null(s, 0) ? 0 : store_col_int(s, 0);
        int64_t gid = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
        const char *state = store_col_text(s, 5);
        int on_time = (int)store_col_int(s, 6);
        int64_t k = store_col_int(s, 7);
        const char *sname = store_col_null(s, 1) ? NULL : store_col_text(s, 1);
        const char *region = store_col_null(s, 2) ? NULL : store_col_text(s, 2);
        const char *gname = store_col_null(s, 4) ? NULL : store_col_text(s, 4);
        agg_add(&total, state, on_time, k);
        agg *a = agg_find(&stores, &ns, &cs, sid, sname, region);
        agg_add(a, state, on_time, k);
        agg *g = agg_find(&guides, &ng, &cg, gid, gname, NULL);
        g->store = sid;
        agg_add(g, state, on_time, k);
        agg *r = agg_find(&regions, &nr, &cr, 0, region ? region : "", NULL);
        agg_add(r, state, on_time, k);
    }
    store_reset(s);
    json_t *o = agg_json(&total, NULL, false);
    json_object_set_new(o, "campaign_id", json_integer(id));
    json_object_set_new(o, "name", json_string(c.name));
    json_object_set_new(o, "kind", json_string(c.kind));
    json_t *bs = json_array(), *bg = json_array(), *br = json_array();
    for (size_t i = 0; i < ns; i++) {
        json_t *x = agg_json(&stores[i], "store_id", true);
        json_object_set_new(x, "region",
                            stores[i].region[0] ? json_string(stores[i].region) : json_null());
        json_array_append_new(bs, x);
    }
    for (size_t i = 0; i < ng; i++) {
        json_t *x = agg_json(&guides[i], "guide_id", true);
        json_object_set_new(x, "store_id",
                            guides[i].store ? json_integer(guides[i].store) : json_null());
        json_array_append_new(bg, x);
    }
    for (size_t i = 0; i < nr; i++) {
        json_t *x = agg_json(&regions[i], NULL, false);
        json_object_set_new(x, "region",
                            regions[i].name[0] ? json_string(regions[i].name) : json_null());
        json_array_append_new(br, x);
    }
    free(stores);
    free(guides);
    free(regions);
    json_object_set_new(o, "by_store", bs);
    json_object_set_new(o, "by_guide", bg);
    json_object_set_new(o, "by_region", br);
    json_t *outcomes = json_object();
    s = store_q(d->conn, Q_TCAMP_OUTCOMES);
    store_bind_int(s, 1, id);
    if (scope_store) store_bind_int(s, 2, scope_store);
    while (store_step(s) == STORE_ROW)
        json_object_set_new(outcomes, store_col_text(s, 0), json_integer(store_col_int(s, 1)));
    store_reset(s);
    json_object_set_new(o, "outcomes", outcomes);
    if (tcamp_kind_has_members(c.kind)) {
        int64_t win = c.window_days * 86400, n1 = 0, x1 = 0, n0 = 0, x0 = 0, nt = 0, xt = 0;
        s = store_q(d->conn, Q_TCAMP_UPLIFT_DONE);
        store_bind_int(s, 1, id);
        store_bind_int(s, 2, win);
        if (scope_store) store_bind_int(s, 3, scope_store);
        if (store_step(s) == STORE_ROW) n1 = store_col_int(s, 0), x1 = store_col_int(s, 1);
        store_reset(s);
        s = store_q(d->conn, Q_TCAMP_UPLIFT_TASKED);
        store_bind_int(s, 1, id);
        store_bind_int(s, 2, win);
        if (scope_store) store_bind_int(s, 3, scope_store);
        if (store_step(s) == STORE_ROW) nt = store_col_int(s, 0), xt = store_col_int(s, 1);
        store_reset(s);
        s = store_q(d->conn, Q_TCAMP_UPLIFT_HOLDOUT);
        store_bind_int(s, 1, id);
        store_bind_int(s, 2, win);
        if (store_step(s) == STORE_ROW) n0 = store_col_int(s, 0), x0 = store_col_int(s, 1);
        store_reset(s);
        json_t *u = uplift_json(n1, x1, n0, x0);
        json_object_set_new(u, "window_days", json_integer(c.window_days));
        json_object_set_new(u, "holdout_pct", json_integer(c.holdout_pct));
        json_object_set_new(u, "completed", group_json(n1, x1));
        json_object_set_new(u, "holdout", group_json(n0, x0));
        json_t *itt = uplift_json(nt, xt, n0, x0);
        json_object_set_new(itt, "tasked", group_json(nt, xt));
        json_object_set_new(u, "intent_to_treat", itt);
        json_object_set_new(o, "uplift", u);
    } else {
        json_object_set_new(o, "uplift", json_null());
    }
    camp_free(&c);
    *out = o;
    return 200;
}
