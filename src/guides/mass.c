/* mass.c — mass messages through guides (群发): one message to many members, carried
 * out by each member's guide.
 *
 * A mass message is a task campaign of kind mass_message: its members are split by
 * their credited guide into confirmable tasks (the guide sends the rendered text and
 * content in WeCom and confirms). A member is tasked once whatever the number of
 * guides they are a contact of, and only when: they have a live contact edge (a guide
 * can reach them), a granted marketing consent for wecom (domain/consent.c), and room
 * under the per-member frequency cap. The cap counts the member's WeCom sends in
 * rolling windows — a day, 7 days, 30 days — across journeys' WeCom messages and mass
 * message tasks (open or done), and the journeys' guardrails count mass message tasks
 * as WeCom sends in turn (Q_MESSAGES_HISTORY), so the two share one budget. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "guides/guides.h"
#include "segment/eval.h"
#include "segment/expr.h"

#include "messaging/msg_guardrails.h"

#define CAP_DAY_DEFAULT MSG_FREQ_DEFAULT_DAY
#define CAP_WEEK_DEFAULT MSG_FREQ_DEFAULT_WEEK
#define CAP_MONTH_DEFAULT MSG_FREQ_DEFAULT_MONTH

typedef struct caps {
    int64_t day, week, month; /* < 0: no cap on that window */
} caps;

static caps caps_load(dom *d)
{
    caps c = {CAP_DAY_DEFAULT, CAP_WEEK_DEFAULT, CAP_MONTH_DEFAULT};
    store_stmt *s = store_q(d->conn, Q_GUIDE_SETTINGS_GET);
    if (store_step(s) == STORE_ROW) {
        c.day = store_col_null(s, 0) ? -1 : store_col_int(s, 0);
        c.week = store_col_null(s, 1) ? -1 : store_col_int(s, 1);
        c.month = store_col_null(s, 2) ? -1 : store_col_int(s, 2);
    }
    store_reset(s);
    return c;
}

static json_t *cap_json(int64_t v)
{
    return v < 0 ? json_null() : json_integer(v);
}

int mass_settings_get(dom *d, json_t **out, siyu_err *e)
{
    (void)e;
    caps c = caps_load(d);
    *out = json_pack("{s:{s:o, s:o, s:o}}", "frequency_cap", "per_day", cap_json(c.day), "per_week",
                     cap_json(c.week), "per_month", cap_json(c.month));
    return 200;
}

int mass_settings_put(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const keys[] = {"frequency_cap", NULL};
    static const char *const ckeys[] = {"per_day", "per_week", "per_month", NULL};
    if (jx_only(body, keys, NULL, e)) return -1;
    json_t *fc = json_object_get(body, "frequency_cap");
    if (!json_is_object(fc))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "frequency_cap",
                            "frequency_cap: an object {per_day, per_week, per_month}");
    if (jx_only(fc, ckeys, "frequency_cap.", e)) return -1;
    caps c = caps_load(d);
    int64_t *slot[] = {&c.day, &c.week, &c.month};
    for (int i = 0; ckeys[i]; i++) {
        json_t *v = json_object_get(fc, ckeys[i]);
        if (!v) continue;
        if (json_is_null(v)) {
            *slot[i] = -1;
            continue;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "frequency_cap",
                                "frequency_cap.%s: 0 to 1000, or null for none", ckeys[i]);
        *slot[i] = json_integer_value(v);
    }
    store_stmt *s = store_q(d->conn, Q_GUIDE_SETTINGS_PUT);
    for (int i = 0; i < 3; i++)
        if (*slot[i] >= 0) store_bind_int(s, i + 1, *slot[i]);
    store_bind_int(s, 4, d->now);
    if (store_exec(s, e)) return -1;
    return mass_settings_get(d, out, e);
}

/* Is there room under the cap for one more WeCom send to the member now? */
static bool cap_room(dom *d, const caps *c, int64_t member)
{
    store_stmt *s = store_q(d->conn, Q_WECOM_SENDS_SINCE);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, d->now - 86400);
    store_bind_int(s, 3, d->now - 7 * 86400);
    store_bind_int(s, 4, d->now - 30 * 86400);
    bool ok = true;
    if (store_step(s) == STORE_ROW) {
        int64_t day = store_col_int(s, 0), week = store_col_int(s, 1), month = store_col_int(s, 2);
        ok = (c->day < 0 || day < c->day) && (c->week < 0 || week < c->week) &&
             (c->month < 0 || month < c->month);
    }
    store_reset(s);
    return ok;
}

bool guides_wecom_room(dom *d, int64_t member)
{
    caps c = caps_load(d);
    return cap_room(d, &c, member);
}

static int cmp_id(const void *a, const void *b);

int guides_wecom_capped(dom *d, int64_t **ids, size_t *n)
{
    caps c = caps_load(d);
    int64_t cap[3] = {c.day, c.week, c.month};
    *ids = NULL;
    *n = 0;
    size_t room = 0;
    store_stmt *s = store_q(d->conn, Q_WECOM_SENDS_RECENT);
    store_bind_int(s, 1, d->now - 30 * 86400);
    int64_t cur = 0, cnt[3] = {0, 0, 0};
    bool any = false;
    for (;;) {
        bool row = store_step(s) == STORE_ROW;
        int64_t m = row ? store_col_int(s, 0) : 0;
        if (any && (!row || m != cur)) {
            bool full = false;
            for (int i = 0; i < 3; i++)
                full |= cap[i] >= 0 && cnt[i] >= cap[i];
            if (full) {
                if (*n == room) *ids = realloc(*ids, (room = room ? room * 2 : 256) * sizeof **ids);
                (*ids)[(*n)++] = cur;
            }
            cnt[0] = cnt[1] = cnt[2] = 0;
        }
        if (!row) break;
        any = true;
        cur = m;
        int64_t at = store_col_int(s, 1);
        for (int i = 0; i < 3; i++)
            cnt[i] += at > d->now - msg_freq_window_s[i];
    }
    store_reset(s);
    /* a cap of 0 holds back everyone, sends or not: the caller checks caps_zero */
    if (*n) qsort(*ids, *n, sizeof **ids, cmp_id);
    return (c.day == 0 || c.week == 0 || c.month == 0) ? 1 : 0;
}

static int wecom_bit(void)
{
    int i = 0;
    while (dom_consent_channels[i] && strcmp(dom_consent_channels[i], "wecom"))
        i++;
    return i;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int guides_mass_round(dom *d, struct seg_index *idx, int64_t campaign, json_t *target,
                      const char *round, int64_t due, int64_t *tasks, int64_t *consent,
                      int64_t *cap, int64_t *no_contact, siyu_err *e)
{
    int64_t *ids = NULL;
    size_t n = 0;
    json_t *list = json_object_get(target, "member_ids");
    const char *expr = json_string_value(json_object_get(target, "segment"));
    if (list) {
        ids = malloc((json_array_size(list) + 1) * sizeof *ids);
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v) ids[n++] = json_integer_value(v);
    } else if (expr) {
        seg_expr *ex = NULL;
        seg_error se;
        seg_audience a = {0};
        if (!idx) return siyu_err_set(e, SIYU_INTERNAL, "segment", "segment: no member index here");
        if (seg_parse(expr, idx, &ex, &se))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "segment", "segment: %s", se.msg);
        int rc = seg_select(idx, ex, NULL, &a, &se);
        seg_expr_free(ex);
        if (rc) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "segment", "segment: %s", se.msg);
        ids = malloc((a.count + 1) * sizeof *ids);
        if (a.count) memcpy(ids, a.ids, a.count * sizeof *ids);
        n = a.count;
        seg_audience_release(&a);
    }
    /* once per member, whatever the list repeats */
    if (n) qsort(ids, n, sizeof *ids, cmp_id);
    json_t *stores = json_object_get(target, "store_ids");
    json_t *guides = json_object_get(target, "guide_ids");
    caps c = caps_load(d);
    uint32_t wbit = 1u << wecom_bit();
    int64_t prev = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        int64_t m = ids[i];
        if (m == prev) continue;
        prev = m;
        /* the guide of the member's live edge by the credited-guide rule */
        store_stmt *s = store_q(d->conn, Q_CONTACT_CREDITED);
        store_bind_int(s, 1, m);
        int64_t guide = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
        store_reset(s);
        if (!guide) {
            (*no_contact)++;
            continue;
        }
        int64_t sid = 0;
        s = store_q(d->conn, Q_STAFF_LIFE_GET);
        store_bind_int(s, 1, guide);
        bool active = false;
        if (store_step(s) == STORE_ROW) {
            active = strcmp(store_col_text(s, 0), "active") == 0;
            if (!store_col_null(s, 2)) sid = store_col_int(s, 2);
        }
        store_reset(s);
        bool in = true;
        size_t j;
        json_t *x;
        if (stores) {
            in = false;
            json_array_foreach(stores, j, x) in |= json_integer_value(x) == sid;
        }
        if (in && guides) {
            in = false;
            json_array_foreach(guides, j, x) in |= json_integer_value(x) == guide;
        }
        if (!in) continue; /* another store's member: not this message's */
        if (!(dom_consent_marketing(d, m) & wbit)) {
            (*consent)++;
            continue;
        }
        if (!cap_room(d, &c, m)) {
            (*cap)++;
            continue;
        }
        s = store_q(d->conn, Q_TASK_INSERT_CAMPAIGN);
        /* a departed guide gets no task: it waits for whoever takes the member over */
        if (active) store_bind_int(s, 1, guide);
        store_bind_int(s, 2, m);
        store_bind_int(s, 3, campaign);
        if (sid) store_bind_int(s, 4, sid);
        store_bind_text(s, 5, "mass_message");
        store_bind_text(s, 6, "wecom");
        if (due) store_bind_int(s, 7, due);
        store_bind_int(s, 8, d->now);
        store_bind_text(s, 9, round);
        rc = store_exec(s, e);
        if (!rc) (*tasks)++;
    }
    free(ids);
    return rc;
}

int mass_messages_create(dom *d, struct seg_index *idx, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const keys[] = {"name",        "text",     "content_ids", "segment",
                                       "member_ids",  "store_id", "due",         "due_hours",
                                       "window_days", NULL};
    const char *name = NULL, *text = NULL, *expr = NULL;
    int64_t due = 0, store_id = 0;
    if (jx_only(body, keys, NULL, e) || jx_str(body, "name", false, &name, e) < 0 ||
        jx_str(body, "text", true, &text, e) < 0 || jx_str(body, "segment", false, &expr, e) < 0 ||
        jx_int(body, "store_id", false, &store_id, e) < 0 ||
        jx_time(body, "due", false, &due, e) < 0)
        return -1;
    if (!*text || strlen(text) > 4000)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "text", "text: 1 to 4000 bytes");
    if (guides_script_check(text, "text", e)) return -1;
    if (name && (!*name || strlen(name) > 200))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: 1 to 200 bytes");
    json_t *list = json_object_get(body, "member_ids");
    if (!list == !expr)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "segment",
                            "segment: give segment or member_ids (one of them)");
    json_t *target = json_object();
    int rc = -1;
    char *content = NULL;
    if (list) {
        if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > 100000) {
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, "member_ids",
                         "member_ids: an array of 1 to 100000 member ids");
            goto out;
        }
        json_t *ids = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
            char f[40];
            snprintf(f, sizeof f, "member_ids[%zu]", i);
            if (!json_is_integer(v)) {
                json_decref(ids);
                siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: not a member id", f);
                goto out;
            }
            int64_t live = members_live_id(d, json_integer_value(v), f, e);
            if (live < 0) {
                json_decref(ids);
                goto out;
            }
            json_array_append_new(ids, json_integer(live));
        }
        json_object_set_new(target, "member_ids", ids);
    } else {
        json_object_set_new(target, "segment", json_string(expr));
    }
    if (store_id) {
        if (dom_require_store(d, store_id, "store_id", e)) goto out;
        json_object_set_new(target, "store_ids", json_pack("[I]", (json_int_t)store_id));
    }
    /* a store's message (a store manager's always) reaches the store's guides' members */
    if (d->who.role == ROLE_STORE_MANAGER && store_id && store_id != d->who.store_id) {
        siyu_err_set(e, SIYU_PERMISSION_DENIED, "store_id", "store_id: outside your store");
        goto out;
    }
    {
        json_t *seg = json_object_get(target, "segment");
        json_t *chk = json_object();
        if (seg) json_object_set(chk, "segment", seg);
        if (json_object_get(target, "store_ids"))
            json_object_set(chk, "store_ids", json_object_get(target, "store_ids"));
        int r = guides_target_check(d, idx, chk, e);
        if (!r && json_object_get(chk, "store_ids"))
            json_object_set(target, "store_ids", json_object_get(chk, "store_ids"));
        json_decref(chk);
        if (r) goto out;
    }
    guides_campaign_opts o;
    if (guides_campaign_opts_read(body, &o, e) || guides_content_ids_check(d, body, &content, e))
        goto out;
    if (due && due <= d->now) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "due", "due: must be in the future");
        goto out;
    }
    if (!due) due = d->now + o.due_hours * 3600;
    o.holdout_pct = 0;
    int64_t id;
    if (guides_campaign_insert(d, name ? name : "mass message", "mass_message", text, content,
                               target, NULL, due, &o, &id, e))
        goto out;
    int64_t tasks = 0, consent = 0, cap = 0, none = 0;
    if (guides_mass_round(d, idx, id, target, "launch", due, &tasks, &consent, &cap, &none, e))
        goto out;
    store_stmt *s = store_q(d->conn, Q_TCAMP_ROUND_DONE);
    store_bind_text(s, 1, "launch");
    store_bind_int(s, 2, tasks);
    store_bind_int(s, 3, 0);
    store_bind_int(s, 4, consent);
    store_bind_int(s, 5, cap);
    store_bind_int(s, 6, none);
    store_bind_int(s, 7, id);
    if (store_exec(s, e)) goto out;
    if (task_campaigns_get(d, id, out, e) < 0) goto out;
    rc = 201;
out:
    free(content);
    json_decref(target);
    return rc;
}
