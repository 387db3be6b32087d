/* qrcodes.c — channel QR codes (渠道活码): which guide a scan goes to, what a code brought.
 *
 * Every scan is a write on the group committer, so scans of one code are decided one
 * after another against the counts already committed or earlier in the same batch:
 * the daily cap per guide is exact under any number of concurrent scans. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guides/guides.h"
#include "base/jsonx.h"
#include "base/checked.h"
#include "base/timeutil.h"

#define QR_MAX_GUIDES 256

static const char *const rotations[] = {"round_robin", "least_loaded", NULL};

int64_t qr_state_code(const char *state)
{
    if (!state || strncmp(state, "qr-", 3) != 0 || !state[3]) return 0;
    char *end;
    long long v = strtoll(state + 3, &end, 10);
    return *end || v <= 0 ? 0 : (int64_t)v;
}

/* ---------------- schedules ---------------- */

static int hhmm(json_t *v, int *minutes)
{
    const char *s = json_string_value(v);
    int h, m;
    char tail;
    if (!s || sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || h > 24 || m < 0 || m > 59 ||
        (h == 24 && m))
        return -1;
    *minutes = h * 60 + m;
    return 0;
}

int qr_schedule_check(json_t *sch, siyu_err *e)
{
    static const char *const allowed[] = {"weekdays", "from", "to", NULL};
    if (!json_is_object(sch))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "schedule",
                            "schedule: expected {\"weekdays\", \"from\", \"to\"}");
    if (jx_only(sch, allowed, "schedule.", e)) return -1;
    json_t *wd = json_object_get(sch, "weekdays");
    if (wd) {
        if (!json_is_array(wd) || !json_array_size(wd))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "schedule.weekdays",
                                "schedule.weekdays: a non-empty list of 1 (Monday) to 7");
        size_t i;
        json_t *v;
        json_array_foreach(wd, i, v)
        {
            if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 7)
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "schedule.weekdays",
                                    "schedule.weekdays: a non-empty list of 1 (Monday) to 7");
        }
    }
    json_t *from = json_object_get(sch, "from"), *to = json_object_get(sch, "to");
    int a = 0, b = 0; /* set by hhmm() whenever from and to are given */
    if (!from != !to)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, from ? "schedule.to" : "schedule.from",
                            "%s: from and to go together", from ? "schedule.to" : "schedule.from");
    if (from && hhmm(from, &a))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "schedule.from", "schedule.from: HH:MM");
    if (to && hhmm(to, &b))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "schedule.to", "schedule.to: HH:MM");
    if (from && a == b)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "schedule.to",
                            "schedule.to: must differ from schedule.from");
    return 0;
}

bool qr_schedule_open(json_t *sch, int64_t unix_s)
{
    if (!sch) return true;
    int32_t day = time_local_day(unix_s);
    int weekday = (int)(((int64_t)day % 7 + 7 + 3) % 7) + 1; /* 1970-01-01 was a Thursday */
    int64_t local = unix_s + 8 * 3600;
    int minute = (int)(((local % 86400) + 86400) % 86400 / 60);
    json_t *wd = json_object_get(sch, "weekdays");
    if (wd) {
        bool hit = false;
        size_t i;
        json_t *v;
        json_array_foreach(wd, i, v) hit |= json_integer_value(v) == weekday;
        if (!hit) return false;
    }
    int a, b;
    if (hhmm(json_object_get(sch, "from"), &a) || hhmm(json_object_get(sch, "to"), &b)) return true;
    return a < b ? minute >= a && minute < b : minute >= a || minute < b;
}

/* ---------------- codes ---------------- */

typedef struct qr {
    int64_t id, store_id, daily_cap, backup, cost, rr_next;
    char name[256], state[32], rotation[16], campaign[256], target[8];
    bool has_campaign;
    json_t *schedule; /* owned, or NULL */
} qr;

static int qr_load(dom *d, int64_t id, qr *q, siyu_err *e)
{
    memset(q, 0, sizeof *q);
    store_stmt *s = store_q(d->conn, Q_QR_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "qr code %lld does not exist", (long long)id);
    }
    q->id = id;
    snprintf(q->name, sizeof q->name, "%s", store_col_text(s, 1));
    snprintf(q->state, sizeof q->state, "%s", store_col_text(s, 2));
    q->store_id = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
    snprintf(q->rotation, sizeof q->rotation, "%s", store_col_text(s, 4));
    q->daily_cap = store_col_null(s, 5) ? 0 : store_col_int(s, 5);
    q->backup = store_col_null(s, 6) ? 0 : store_col_int(s, 6);
    if (!store_col_null(s, 7)) q->schedule = json_loads(store_col_text(s, 7), 0, NULL);
    q->has_campaign = !store_col_null(s, 8);
    if (q->has_campaign) snprintf(q->campaign, sizeof q->campaign, "%s", store_col_text(s, 8));
    q->cost = store_col_int(s, 9);
    q->rr_next = store_col_int(s, 10);
    snprintf(q->target, sizeof q->target, "%s", store_col_text(s, 11));
    store_reset(s);
    /* a code is chain-level: HQ, or the store manager of the code's own store */
    if (d->who.role != ROLE_ADMIN && d->who.role != ROLE_OPERATOR &&
        !(d->who.role == ROLE_STORE_MANAGER && q->store_id && q->store_id == d->who.store_id)) {
        json_decref(q->schedule);
        q->schedule = NULL;
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, NULL, "qr code %lld is outside your scope",
                            (long long)id);
    }
    return 0;
}

static int qr_guides(dom *d, const qr *q, int64_t *g, int cap)
{
    int n = 0;
    store_stmt *s;
    if (strcmp(q->target, "store") == 0) {
        s = store_q(d->conn, Q_QR_STORE_GUIDES);
        store_bind_int(s, 1, q->store_id);
    } else {
        s = store_q(d->conn, Q_QR_GUIDES);
        store_bind_int(s, 1, q->id);
    }
    while (n < cap && store_step(s) == STORE_ROW)
        g[n++] = store_col_int(s, 0);
    store_reset(s);
    return n;
}

static json_t *qr_json(dom *d, const qr *q)
{
    int64_t g[QR_MAX_GUIDES];
    int n = qr_guides(d, q, g, QR_MAX_GUIDES);
    json_t *ids = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(ids, json_integer(g[i]));
    json_t *target = strcmp(q->target, "store") == 0
                         ? json_pack("{s:I}", "store_id", (json_int_t)q->store_id)
                         : json_pack("{s:o}", "guide_ids", json_incref(ids));
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:o, s:o, s:s}", "id", (json_int_t)q->id, "name", q->name,
                  "state", q->state, "target", target, "guide_ids", ids, "rotation", q->rotation);
    json_object_set_new(o, "store_id", q->store_id ? json_integer(q->store_id) : json_null());
    json_object_set_new(o, "daily_cap_per_guide",
                        q->daily_cap ? json_integer(q->daily_cap) : json_null());
    json_object_set_new(o, "backup_guide_id", q->backup ? json_integer(q->backup) : json_null());
    json_object_set_new(o, "schedule", q->schedule ? json_incref(q->schedule) : json_null());
    json_object_set_new(o, "campaign", q->has_campaign ? json_string(q->campaign) : json_null());
    json_object_set_new(o, "cost_cents", json_integer(q->cost));
    return o;
}

/* A guide named by a code: a guide, and for a store manager one of their store's. */
static int code_guide(dom *d, int64_t id, const char *field, int64_t *store_id, siyu_err *e)
{
    if (dom_require_staff(d, id, "guide", field, store_id, e)) return -1;
    if (d->who.role == ROLE_STORE_MANAGER && *store_id != d->who.store_id)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, field, "%s: guide %lld is not in your store",
                            field, (long long)id);
    return 0;
}

int qr_codes_create(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {
        "name",     "target",     "rotation", "daily_cap_per_guide", "backup_guide_id", "schedule",
        "campaign", "cost_cents", NULL};
    static const char *const target_keys[] = {"guide_ids", "store_id", NULL};
    const char *name, *campaign = NULL;
    int rot = 0;
    int64_t cap = 0, backup = 0, cost = 0, store_id = 0;
    if (jx_only(body, allowed, NULL, e) || jx_str(body, "name", true, &name, e) < 0 ||
        jx_enum(body, "rotation", false, rotations, &rot, e) < 0 ||
        jx_int(body, "daily_cap_per_guide", false, &cap, e) < 0 ||
        jx_int(body, "backup_guide_id", false, &backup, e) < 0 ||
        jx_str(body, "campaign", false, &campaign, e) < 0 ||
        jx_int(body, "cost_cents", false, &cost, e) < 0)
        return -1;
    if (!*name) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: must not be empty");
    if (json_object_get(body, "daily_cap_per_guide") && (cap < 1 || cap > 1000000))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "daily_cap_per_guide",
                            "daily_cap_per_guide: 1 to 1000000 (leave it out for no cap)");
    if (cost < 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "cost_cents",
                            "cost_cents: must not be negative");
    if (campaign && (!*campaign || strlen(campaign) > 200))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "campaign", "campaign: 1 to 200 characters");
    json_t *sch = json_object_get(body, "schedule");
    if (json_is_null(sch)) sch = NULL;
    if (sch && qr_schedule_check(sch, e)) return -1;
    json_t *target = json_object_get(body, "target");
    if (!json_is_object(target) || json_object_size(target) != 1)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "target",
                            "target: {\"guide_ids\": [...]} or {\"store_id\": N}");
    if (jx_only(target, target_keys, "target.", e)) return -1;
    json_t *gids = json_object_get(target, "guide_ids");
    int64_t g[QR_MAX_GUIDES];
    size_t n = 0;
    bool by_store = gids == NULL;
    if (by_store) {
        if (jx_int(target, "store_id", true, &store_id, e) < 0) {
            snprintf(e->field, sizeof e->field, "target.store_id");
            return -1;
        }
        if (dom_require_store(d, store_id, "target.store_id", e)) return -1;
        if (d->who.role == ROLE_STORE_MANAGER && store_id != d->who.store_id)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, "target.store_id",
                                "target.store_id: not your store");
    } else {
        if (!json_is_array(gids) || !json_array_size(gids) || json_array_size(gids) > QR_MAX_GUIDES)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "target.guide_ids",
                                "target.guide_ids: 1 to %d guide ids", QR_MAX_GUIDES);
        size_t i;
        json_t *v;
        bool mixed = false;
        json_array_foreach(gids, i, v)
        {
            if (!json_is_integer(v))
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "target.guide_ids",
                                    "target.guide_ids: expected integers");
            int64_t id = json_integer_value(v), sid = 0;
            for (size_t k = 0; k < n; k++)
                if (g[k] == id)
                    return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "target.guide_ids",
                                        "target.guide_ids: guide %lld is named twice",
                                        (long long)id);
            if (code_guide(d, id, "target.guide_ids", &sid, e)) return -1;
            if (n == 0)
                store_id = sid;
            else if (sid != store_id)
                mixed = true;
            g[n++] = id;
        }
        if (mixed) /* guides of several stores: the code is HQ's */
            store_id = 0;
    }
    if (backup) {
        int64_t sid = 0;
        if (code_guide(d, backup, "backup_guide_id", &sid, e)) return -1;
        if (sid != store_id) store_id = by_store ? store_id : 0;
    }
    char *sch_text = sch ? json_dumps(sch, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    store_stmt *s = store_q(d->conn, Q_QR_INSERT);
    store_bind_text(s, 1, name);
    if (store_id) store_bind_int(s, 2, store_id);
    store_bind_text(s, 3, rotations[rot]);
    if (cap) store_bind_int(s, 4, cap);
    if (backup) store_bind_int(s, 5, backup);
    store_bind_text(s, 6, sch_text);
    store_bind_text(s, 7, campaign);
    store_bind_int(s, 8, cost);
    store_bind_int(s, 9, d->now);
    store_bind_text(s, 10, by_store ? "store" : "guides");
    int rc = store_exec(s, e);
    free(sch_text);
    if (rc) return -1;
    int64_t id = store_last_id(d->conn);
    char state[32];
    snprintf(state, sizeof state, "qr-%lld", (long long)id);
    s = store_q(d->conn, Q_QR_SET_STATE);
    store_bind_text(s, 1, state);
    store_bind_int(s, 2, id);
    if (store_exec(s, e)) return -1;
    for (size_t i = 0; i < n; i++) {
        s = store_q(d->conn, Q_QR_GUIDE_ADD);
        store_bind_int(s, 1, id);
        store_bind_int(s, 2, g[i]);
        store_bind_int(s, 3, (int64_t)i);
        if (store_exec(s, e)) return -1;
    }
    if (out) {
        qr q;
        if (qr_load(d, id, &q, e)) return -1;
        *out = qr_json(d, &q);
        json_decref(q.schedule);
    }
    return 201;
}

/* The day's scans of code counted for each of the n candidate guides g (into c) and for
 * the backup guide (into *backup_c), read in one statement: one range of the counter's key
 * is cheaper than a lookup per guide. Rows of guides no longer in rotation are passed over;
 * a failed read sticks to the connection and fails the write. */
static void day_counts(dom *d, int64_t code, int32_t day, const int64_t *g, int n, int64_t backup,
                       int64_t *c, int64_t *backup_c)
{
    memset(c, 0, (size_t)n * sizeof *c);
    *backup_c = 0;
    store_stmt *s = store_q(d->conn, Q_QR_SCAN_COUNTS);
    store_bind_int(s, 1, code);
    store_bind_int(s, 2, day);
    while (store_step(s) == STORE_ROW) {
        int64_t guide = store_col_int(s, 0), k = store_col_int(s, 1);
        if (guide == backup) *backup_c = k;
        for (int i = 0; i < n; i++)
            if (g[i] == guide) {
                c[i] = k;
                break;
            }
    }
    store_reset(s);
}

int qr_codes_scan(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"external_userid", NULL};
    const char *ext = NULL;
    if (body &&
        (jx_only(body, allowed, NULL, e) || jx_str(body, "external_userid", false, &ext, e) < 0))
        return -1;
    if (ext && !*ext) ext = NULL;
    qr q;
    if (qr_load(d, id, &q, e)) return -1;
    int32_t day = time_local_day(d->now);
    int64_t chosen = 0;
    bool repeat = false;
    if (ext) { /* the same customer the same day: the same guide, counted once */
        store_stmt *s = store_q(d->conn, Q_QR_SCAN_REPEAT);
        store_bind_int(s, 1, id);
        store_bind_int(s, 2, day);
        store_bind_text(s, 3, ext);
        if (store_step(s) == STORE_ROW) {
            chosen = store_col_int(s, 0);
            repeat = true;
        }
        store_reset(s);
    }
    int64_t g[QR_MAX_GUIDES];
    int n = 0, pick = -1;
    if (!chosen) {
        n = qr_schedule_open(q.schedule, d->now) ? qr_guides(d, &q, g, QR_MAX_GUIDES) : 0;
        int64_t counts[QR_MAX_GUIDES], backup_count;
        day_counts(d, id, day, g, n, q.backup, counts, &backup_count);
        bool least = strcmp(q.rotation, "least_loaded") == 0;
        int64_t best = -1;
        for (int k = 0; k < n; k++) {
            int i = least ? k : (int)((q.rr_next + k) % n);
            int64_t c = counts[i];
            if (q.daily_cap && c >= q.daily_cap) continue;
            if (!least) {
                pick = i;
                break;
            }
            if (best < 0 || c < best) {
                best = c;
                pick = i;
            }
        }
        if (pick >= 0)
            chosen = g[pick];
        else if (q.backup && guides_staff_active(d, q.backup) && /* departed: skipped */
                 (!q.daily_cap || backup_count < q.daily_cap))
            chosen = q.backup;
    }
    json_decref(q.schedule);
    if (!chosen)
        return siyu_err_set(e, SIYU_CONFLICT, NULL,
                            "qr code %lld: every guide and the backup guide are at their daily cap",
                            (long long)id);
    if (!repeat) {
        store_stmt *s = store_q(d->conn, Q_QR_SCAN_INSERT);
        store_bind_int(s, 1, id);
        store_bind_int(s, 2, day);
        store_bind_int(s, 3, chosen);
        store_bind_text(s, 4, ext);
        store_bind_int(s, 5, d->now);
        if (store_exec(s, e)) return -1;
        s = store_q(d->conn, Q_QR_SCAN_COUNT_BUMP);
        store_bind_int(s, 1, id);
        store_bind_int(s, 2, day);
        store_bind_int(s, 3, chosen);
        if (store_exec(s, e)) return -1;
        if (pick >= 0 && strcmp(q.rotation, "round_robin") == 0) {
            s = store_q(d->conn, Q_QR_SET_NEXT);
            store_bind_int(s, 1, (pick + 1) % n);
            store_bind_int(s, 2, id);
            if (store_exec(s, e)) return -1;
        }
    }
    if (out)
        *out = json_pack("{s:I, s:s, s:I, s:b}", "guide_id", (json_int_t)chosen, "state", q.state,
                         "qr_code_id", (json_int_t)id, "repeat", repeat);
    return repeat ? 200 : 201;
}

/* rounded to the nearest cent; null when nothing to divide by */
static json_t *per(int64_t cost, int64_t n)
{
    return n > 0 ? json_integer((cost + n / 2) / n) : json_null();
}

int qr_codes_stats(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    qr q;
    if (qr_load(d, id, &q, e)) return -1;
    json_decref(q.schedule);
    store_stmt *s = store_q(d->conn, Q_QR_STATS);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "qr code %lld: stats failed", (long long)id);
    }
    int64_t v[5];
    for (int i = 0; i < 5; i++)
        v[i] = store_col_int(s, i);
    store_reset(s);
    *out = json_pack("{s:I, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "qr_code_id",
                     (json_int_t)id, "state", q.state, "campaign",
                     q.has_campaign ? json_string(q.campaign) : json_null(), "scans",
                     (json_int_t)v[0], "contacts_added", (json_int_t)v[1], "new_members",
                     (json_int_t)v[2], "first_orders_30d", (json_int_t)v[3], "sales_cents",
                     (json_int_t)v[4], "cost_cents", (json_int_t)q.cost, "cost_per_member_cents",
                     per(q.cost, v[2]), "cost_per_first_order_cents", per(q.cost, v[3]));
    return 200;
}

int qr_codes_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e)
{
    struct row {
        int64_t id, store_id, created_at;
        char name[256];
    } *rows = calloc((size_t)limit + 1, sizeof *rows);
    if (!rows) return siyu_err_set(e, SIYU_INTERNAL, NULL, "out of memory");
    int n = 0;
    store_stmt *s = store_q(d->conn, Q_QR_CODE_LIST);
    store_bind_int(s, 1, cursor);
    store_bind_int(s, 2, limit);
    if (d->who.role == ROLE_STORE_MANAGER) store_bind_int(s, 3, d->who.store_id);
    while (n < limit && store_step(s) == STORE_ROW) {
        rows[n].id = store_col_int(s, 0);
        snprintf(rows[n].name, sizeof rows[n].name, "%s", store_col_text(s, 1));
        rows[n].store_id = store_col_null(s, 2) ? 0 : store_col_int(s, 2);
        rows[n].created_at = store_col_int(s, 3);
        n++;
    }
    store_reset(s);
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        json_t *one = NULL;
        if (qr_codes_stats(d, rows[i].id, &one, e) < 0) {
            json_decref(items);
            free(rows);
            return -1;
        }
        json_object_set_new(one, "id", json_integer(rows[i].id));
        json_object_set_new(one, "name", json_string(rows[i].name));
        json_object_set_new(one, "store_id",
                            rows[i].store_id ? json_integer(rows[i].store_id) : json_null());
        json_object_set_new(one, "created_at", dom_time(rows[i].created_at));
        json_array_append_new(items, one);
    }
    *out = dom_list(items, limit, n ? rows[n - 1].id : 0);
    free(rows);
    return 200;
}

/* ---------------- campaigns ---------------- */

typedef struct camp {
    char name[256];
    int64_t codes, cost, v[5];
} camp;

static json_t *camp_json(const camp *c)
{
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "campaign", c->name,
                     "codes", (json_int_t)c->codes, "scans", (json_int_t)c->v[0], "contacts_added",
                     (json_int_t)c->v[1], "new_members", (json_int_t)c->v[2], "first_orders_30d",
                     (json_int_t)c->v[3], "sales_cents", (json_int_t)c->v[4], "cost_cents",
                     (json_int_t)c->cost, "cost_per_member_cents", per(c->cost, c->v[2]),
                     "cost_per_first_order_cents", per(c->cost, c->v[3]));
}

int qr_campaigns_report(dom *d, const char *campaign, json_t **out, siyu_err *e)
{
    typedef struct code_row {
        int64_t id, cost;
        char campaign[256];
    } code_row;
    size_t n = 0, cap = 64;
    code_row *rows = malloc(cap * sizeof *rows);
    if (!rows) return siyu_err_set(e, SIYU_INTERNAL, NULL, "campaigns: out of memory");
    store_stmt *s = store_q(d->conn, Q_QR_CAMPAIGN_CODES);
    store_bind_text(s, 1, campaign);
    while (store_step(s) == STORE_ROW) {
        if (n == cap) {
            code_row *m = realloc(rows, (cap *= 2) * sizeof *rows);
            if (!m) break;
            rows = m;
        }
        snprintf(rows[n].campaign, sizeof rows[n].campaign, "%s", store_col_text(s, 0));
        rows[n].id = store_col_int(s, 1);
        rows[n].cost = store_col_int(s, 2);
        n++;
    }
    store_reset(s);
    json_t *items = json_array();
    camp c;
    memset(&c, 0, sizeof c);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        if (i == 0 || strcmp(rows[i].campaign, c.name) != 0) {
            if (i) json_array_append_new(items, camp_json(&c));
            memset(&c, 0, sizeof c);
            snprintf(c.name, sizeof c.name, "%s", rows[i].campaign);
        }
        c.codes++;
        ok = ck_add(c.cost, rows[i].cost, &c.cost);
        s = store_q(d->conn, Q_QR_STATS);
        store_bind_int(s, 1, rows[i].id);
        if (store_step(s) == STORE_ROW)
            for (int k = 0; k < 5 && ok; k++)
                ok = ck_add(c.v[k], store_col_int(s, k), &c.v[k]);
        store_reset(s);
    }
    if (n && ok) json_array_append_new(items, camp_json(&c));
    free(rows);
    if (!ok) {
        json_decref(items);
        return siyu_err_set(e, SIYU_UNPROCESSABLE, NULL, "campaigns: a sum passed 2^63 - 1");
    }
    if (campaign && !json_array_size(items)) {
        json_decref(items);
        return siyu_err_set(e, SIYU_NOT_FOUND, "campaign", "campaign: no code has campaign %s",
                            campaign);
    }
    *out = json_pack("{s:o}", "items", items);
    return 200;
}
