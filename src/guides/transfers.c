/* transfers.c — moving a guide's customers to other guides as WeCom does it (在职继承 /
 * 离职继承): items that wait for the bridge's result or the end of the wait, the 90-day
 * rule of on-job transfers, receivers' capacity, credit that moves at completion, and
 * the bridge's transfer_customer messages. See guides.h and docs/guides.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guides/guides.h"
#include "base/jsonx.h"

static const char *const kinds[] = {"on_job", "departed", NULL};
static const char *const splits[] = {"even", "least_loaded", NULL};
static const char *const ends[] = {"done", "refused", "failed", NULL};

#define ONJOB_WINDOW (90 * 86400)
#define ONJOB_MAX 2

/* ---------------- settings ---------------- */

typedef struct gsettings {
    int64_t max_contacts; /* 0: no maximum */
    int64_t wait_hours;
} gsettings;

static void settings_load(dom *d, gsettings *g)
{
    g->max_contacts = 0;
    g->wait_hours = 24;
    store_stmt *s = store_q(d->conn, Q_SETTING_GET);
    store_bind_text(s, 1, "guides");
    json_t *v = store_step(s) == STORE_ROW ? json_loads(store_col_text(s, 0), 0, NULL) : NULL;
    store_reset(s);
    if (!v) return;
    json_t *m = json_object_get(v, "max_contacts_per_guide");
    if (json_is_integer(m)) g->max_contacts = json_integer_value(m);
    json_t *w = json_object_get(v, "transfer_wait_hours");
    if (json_is_integer(w)) g->wait_hours = json_integer_value(w);
    json_decref(v);
}

static json_t *settings_json(const gsettings *g)
{
    return json_pack("{s:o, s:I}", "max_contacts_per_guide",
                     g->max_contacts ? json_integer(g->max_contacts) : json_null(),
                     "transfer_wait_hours", (json_int_t)g->wait_hours);
}

int guides_settings_get(dom *d, json_t **out, siyu_err *e)
{
    (void)e;
    gsettings g;
    settings_load(d, &g);
    *out = settings_json(&g);
    return 200;
}

int guides_settings_put(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"max_contacts_per_guide", "transfer_wait_hours", NULL};
    gsettings g;
    settings_load(d, &g);
    if (jx_only(body, allowed, NULL, e)) return -1;
    json_t *m = json_object_get(body, "max_contacts_per_guide");
    if (m && json_is_null(m))
        g.max_contacts = 0;
    else if (m) {
        if (jx_int(body, "max_contacts_per_guide", true, &g.max_contacts, e) < 0) return -1;
        if (g.max_contacts < 1 || g.max_contacts > 100000000)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "max_contacts_per_guide",
                                "max_contacts_per_guide: 1 to 100000000, or null for none");
    }
    if (jx_int(body, "transfer_wait_hours", false, &g.wait_hours, e) < 0) return -1;
    if (g.wait_hours < 1 || g.wait_hours > 24 * 30)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "transfer_wait_hours",
                            "transfer_wait_hours: 1 to 720");
    json_t *o = settings_json(&g);
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    store_stmt *s = store_q(d->conn, Q_SETTING_PUT);
    store_bind_text(s, 1, "guides");
    store_bind_text(s, 2, text);
    int rc = store_exec(s, e);
    free(text);
    if (rc) {
        json_decref(o);
        return -1;
    }
    *out = o;
    return 200;
}

/* ---------------- opening a transfer ---------------- */

/* A guide who may give or receive customers: a guide or store manager; with active,
 * one still working. Store managers may only name their own store's staff. */
static int transfer_guide(dom *d, int64_t id, const char *field, bool active, int64_t *store,
                          siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_STAFF_LIFE_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, field, "%s: staff %lld does not exist", field,
                            (long long)id);
    }
    bool is_active = strcmp(store_col_text(s, 0), "active") == 0;
    int64_t sid = store_col_null(s, 2) ? 0 : store_col_int(s, 2);
    bool guide = strcmp(store_col_text(s, 3), "guide") == 0 ||
                 strcmp(store_col_text(s, 3), "store_manager") == 0;
    store_reset(s);
    if (!guide)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, field,
                            "%s: staff %lld is not a guide or store manager", field, (long long)id);
    if (active && !is_active)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, field, "%s: staff %lld has departed", field,
                            (long long)id);
    if (d->who.role == ROLE_STORE_MANAGER && sid != d->who.store_id)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, field, "%s: staff %lld is not in your store",
                            field, (long long)id);
    if (store) *store = sid;
    return 0;
}

int transfer_receivers(dom *d, json_t *arr, const char *field, int64_t *ids, size_t *n, siyu_err *e)
{
    *n = 0;
    if (!json_is_array(arr) || json_array_size(arr) > TRANSFER_MAX_RECEIVERS)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: an array of at most %d guide ids",
                            field, TRANSFER_MAX_RECEIVERS);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_integer(v))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: expected integers", field);
        int64_t id = json_integer_value(v);
        for (size_t k = 0; k < *n; k++)
            if (ids[k] == id)
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field,
                                    "%s: guide %lld is named twice", field, (long long)id);
        if (transfer_guide(d, id, field, true, NULL, e)) return -1;
        ids[(*n)++] = id;
    }
    return 0;
}

static int64_t guide_load(dom *d, int64_t guide)
{
    store_stmt *s = store_q(d->conn, Q_GUIDE_LOAD);
    store_bind_int(s, 1, guide);
    int64_t n = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    return n;
}

static bool query_flag(dom *d, store_query q, int64_t a, int64_t b, int64_t *count)
{
    store_stmt *s = store_q(d->conn, q);
    store_bind_int(s, 1, a);
    if (q == Q_TRANSFER_ONJOB_MOVES) store_bind_int(s, 2, b);
    bool row = store_step(s) == STORE_ROW;
    if (count) *count = row ? store_col_int(s, 0) : 0;
    store_reset(s);
    return row;
}

/* The guide's customers, ascending; caller frees. */
static int64_t *customers_of(dom *d, int64_t guide, size_t *n)
{
    size_t cap = 256;
    int64_t *ids = malloc(cap * sizeof *ids);
    *n = 0;
    store_stmt *s = store_q(d->conn, Q_GUIDE_CUSTOMERS);
    store_bind_int(s, 1, guide);
    while (ids && store_step(s) == STORE_ROW) {
        if (*n == cap) {
            int64_t *m = realloc(ids, (cap *= 2) * sizeof *ids);
            if (!m) {
                free(ids);
                ids = NULL;
                break;
            }
            ids = m;
        }
        ids[(*n)++] = store_col_int(s, 0);
    }
    store_reset(s);
    return ids;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int transfer_open(dom *d, const transfer_spec *sp, int64_t *id, siyu_err *e)
{
    gsettings g;
    settings_load(d, &g);
    size_t nc = 0;
    int64_t *cust = customers_of(d, sp->from, &nc);
    if (!cust) return siyu_err_set(e, SIYU_INTERNAL, NULL, "transfer: out of memory");
    const int64_t *members = sp->all ? cust : sp->members;
    size_t nm = sp->all ? nc : sp->n_members;

    json_t *to_ids = json_array();
    for (size_t i = 0; i < sp->n_to; i++)
        json_array_append_new(to_ids, json_integer(sp->to[i]));
    char *to_text = json_dumps(to_ids, JSON_COMPACT);
    json_decref(to_ids);
    store_stmt *s = store_q(d->conn, Q_TRANSFER_INSERT);
    store_bind_text(s, 1, sp->departed ? "departed" : "on_job");
    store_bind_int(s, 2, sp->from);
    store_bind_text(s, 3, to_text);
    store_bind_text(s, 4, sp->least_loaded ? "least_loaded" : "even");
    store_bind_int(s, 5, d->now);
    if (d->who.staff_id) store_bind_int(s, 6, d->who.staff_id);
    int rc = store_exec(s, e);
    free(to_text);
    if (rc) {
        free(cust);
        return -1;
    }
    int64_t tid = store_last_id(d->conn);

    int64_t load[TRANSFER_MAX_RECEIVERS];
    size_t asked[TRANSFER_MAX_RECEIVERS] = {0};
    for (size_t r = 0; r < sp->n_to; r++)
        load[r] = guide_load(d, sp->to[r]);
    size_t rot = 0;
    for (size_t i = 0; i < nm && rc == 0; i++) {
        int64_t m = members[i], moves = 0;
        const char *reason = NULL;
        size_t pick = 0;
        if (query_flag(d, Q_TRANSFER_MEMBER_WAITING, m, 0, NULL))
            reason = "in_transfer";
        else if (!sp->departed &&
                 (query_flag(d, Q_TRANSFER_ONJOB_MOVES, m, d->now - ONJOB_WINDOW, &moves),
                  moves >= ONJOB_MAX))
            reason = "limit";
        if (sp->least_loaded) {
            for (size_t r = 1; r < sp->n_to; r++)
                if (load[r] < load[pick]) pick = r;
            if (!reason && g.max_contacts && load[pick] >= g.max_contacts) reason = "capacity";
        } else {
            pick = rot % sp->n_to;
            if (!reason && g.max_contacts) { /* the next receiver in rotation with room */
                size_t k = 0;
                while (k < sp->n_to && load[(rot + k) % sp->n_to] >= g.max_contacts)
                    k++;
                if (k == sp->n_to)
                    reason = "capacity";
                else
                    pick = (rot + k) % sp->n_to;
            }
            if (!reason) rot = pick + 1;
        }
        s = store_q(d->conn, Q_TRANSFER_ITEM_INSERT);
        store_bind_int(s, 1, tid);
        store_bind_int(s, 2, m);
        store_bind_int(s, 3, sp->from);
        store_bind_int(s, 4, sp->to[pick]);
        store_bind_text(s, 5, reason ? "failed" : "waiting");
        store_bind_text(s, 6, reason);
        store_bind_int(s, 7, d->now + g.wait_hours * 3600);
        if (reason) store_bind_int(s, 8, d->now);
        store_bind_int(s, 9, reason ? 0 : 1);
        rc = store_exec(s, e);
        if (!reason) {
            load[pick]++;
            asked[pick]++;
        }
    }
    free(cust);
    if (rc) return -1;
    /* one transfer_customer per receiver for the bridge to carry out */
    for (size_t r = 0; r < sp->n_to; r++) {
        if (!asked[r]) continue;
        s = store_q(d->conn, Q_BRIDGE_MESSAGE_INSERT);
        store_bind_text(s, 1, "transfer_customer");
        store_bind_int(s, 2, tid);
        store_bind_int(s, 3, sp->to[r]);
        store_bind_int(s, 4, d->now);
        if (store_exec(s, e)) return -1;
    }
    *id = tid;
    return 0;
}

/* ---------------- reading ---------------- */

typedef struct counts {
    int64_t waiting, done, refused, failed;
} counts;

static void counts_of(dom *d, int64_t id, counts *c)
{
    memset(c, 0, sizeof *c);
    store_stmt *s = store_q(d->conn, Q_TRANSFER_COUNTS);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW) {
        const char *st = store_col_text(s, 0);
        int64_t n = store_col_int(s, 1);
        if (strcmp(st, "waiting") == 0)
            c->waiting = n;
        else if (strcmp(st, "done") == 0)
            c->done = n;
        else if (strcmp(st, "refused") == 0)
            c->refused = n;
        else
            c->failed += n;
    }
    store_reset(s);
}

/* The transfer's head (no items); NULL with e when missing or out of the caller's scope. */
static json_t *transfer_head(dom *d, int64_t id, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_TRANSFER_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        siyu_err_set(e, SIYU_NOT_FOUND, NULL, "transfer %lld does not exist", (long long)id);
        return NULL;
    }
    int64_t store = store_col_null(s, 7) ? 0 : store_col_int(s, 7);
    if (d->who.role == ROLE_STORE_MANAGER && store != d->who.store_id) {
        store_reset(s);
        siyu_err_set(e, SIYU_PERMISSION_DENIED, NULL, "transfer %lld is outside your store",
                     (long long)id);
        return NULL;
    }
    json_t *to = json_loads(store_col_text(s, 3), 0, NULL);
    json_t *o = json_pack("{s:I, s:s, s:I, s:o, s:s, s:o}", "id", (json_int_t)id, "kind",
                          store_col_text(s, 1), "from_guide_id", (json_int_t)store_col_int(s, 2),
                          "to_guide_ids", to ? to : json_array(), "split", store_col_text(s, 4),
                          "created_at", dom_time(store_col_int(s, 5)));
    json_object_set_new(o, "created_by", dom_nullable_int(s, 6));
    store_reset(s);
    counts c;
    counts_of(d, id, &c);
    json_object_set_new(o, "state", json_string(c.waiting ? "waiting" : "finished"));
    json_object_set_new(o, "counts",
                        json_pack("{s:I, s:I, s:I, s:I}", "waiting", (json_int_t)c.waiting, "done",
                                  (json_int_t)c.done, "refused", (json_int_t)c.refused, "failed",
                                  (json_int_t)c.failed));
    return o;
}

int transfers_get(dom *d, int64_t id, int64_t cursor, int limit, json_t **out, siyu_err *e)
{
    json_t *o = transfer_head(d, id, e);
    if (!o) return -1;
    json_t *items = json_array();
    int64_t last = 0;
    int n = 0;
    store_stmt *s = store_q(d->conn, Q_TRANSFER_ITEMS);
    store_bind_int(s, 1, id);
    store_bind_int(s, 2, cursor);
    store_bind_int(s, 3, limit);
    while (store_step(s) == STORE_ROW) {
        last = store_col_int(s, 0);
        n++;
        json_t *it = json_pack("{s:I, s:I, s:s, s:o}", "member_id", (json_int_t)store_col_int(s, 1),
                               "to_guide_id", (json_int_t)store_col_int(s, 2), "state",
                               store_col_text(s, 3), "reason", dom_nullable_text(s, 4));
        json_object_set_new(it, "ended_at",
                            store_col_null(s, 5) ? json_null() : dom_time(store_col_int(s, 5)));
        json_array_append_new(items, it);
    }
    store_reset(s);
    json_t *page = dom_list(items, limit, n ? last : 0); /* {items, next_cursor} */
    json_object_update(o, page);
    json_decref(page);
    *out = o;
    return 200;
}

int transfers_list(dom *d, int64_t guide_id, int64_t cursor, int limit, json_t **out, siyu_err *e)
{
    int64_t ids[1000];
    int n = 0;
    if (limit > 1000) limit = 1000;
    store_stmt *s = store_q(d->conn, Q_TRANSFER_LIST);
    if (guide_id) store_bind_int(s, 1, guide_id);
    if (d->who.role == ROLE_STORE_MANAGER) store_bind_int(s, 2, d->who.store_id);
    store_bind_int(s, 3, cursor);
    store_bind_int(s, 4, limit);
    while (n < limit && store_step(s) == STORE_ROW)
        ids[n++] = store_col_int(s, 0);
    store_reset(s);
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o = transfer_head(d, ids[i], e);
        if (!o) {
            json_decref(items);
            return -1;
        }
        json_array_append_new(items, o);
    }
    *out = dom_list(items, limit, n ? ids[n - 1] : 0);
    return 200;
}

/* ---------------- creating ---------------- */

int transfers_create(dom *d, json_t *body, const int64_t *segment_ids, size_t n_segment,
                     json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"from_guide_id", "to_guide_ids", "member_ids", "segment",
                                          "all",           "kind",         "split",      NULL};
    int64_t from = 0;
    int kind = 0, split = 0;
    bool all = false;
    if (jx_only(body, allowed, NULL, e) || jx_int(body, "from_guide_id", true, &from, e) < 0 ||
        jx_enum(body, "kind", true, kinds, &kind, e) < 0 ||
        jx_enum(body, "split", false, splits, &split, e) < 0 ||
        jx_bool(body, "all", false, &all, e) < 0)
        return -1;
    json_t *mids = json_object_get(body, "member_ids");
    bool seg = json_object_get(body, "segment") != NULL;
    if ((all ? 1 : 0) + (mids ? 1 : 0) + (seg ? 1 : 0) != 1)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "member_ids",
                            "member_ids: name the customers by exactly one of member_ids, "
                            "segment or \"all\": true");
    json_t *to = json_object_get(body, "to_guide_ids");
    if (!to)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "to_guide_ids", "to_guide_ids: required");
    int64_t recv[TRANSFER_MAX_RECEIVERS];
    size_t nr = 0;
    if (transfer_receivers(d, to, "to_guide_ids", recv, &nr, e)) return -1;
    if (!nr)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "to_guide_ids",
                            "to_guide_ids: at least one guide");
    /* an on-job transfer gives from a working guide; a departed one from a departed guide */
    if (transfer_guide(d, from, "from_guide_id", false, NULL, e)) return -1;
    bool active = guides_staff_active(d, from);
    if (kind == 1 && active)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "kind",
                            "kind: departed needs a departed guide (POST /staff/%lld/depart)",
                            (long long)from);
    if (kind == 0 && !active)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "kind",
                            "kind: guide %lld has departed: the transfer is departed",
                            (long long)from);
    for (size_t i = 0; i < nr; i++)
        if (recv[i] == from)
            return siyu_err_set(e, SIYU_UNPROCESSABLE, "to_guide_ids",
                                "to_guide_ids: guide %lld is the giving guide", (long long)from);
    transfer_spec sp = {.departed = kind == 1,
                        .from = from,
                        .to = recv,
                        .n_to = nr,
                        .least_loaded = split == 1,
                        .all = all};
    int64_t *list = NULL;
    size_t n = 0;
    if (!all) {
        size_t nc = 0;
        int64_t *cust = customers_of(d, from, &nc);
        if (!cust) return siyu_err_set(e, SIYU_INTERNAL, NULL, "transfer: out of memory");
        if (mids) {
            if (!json_is_array(mids) || !json_array_size(mids) || json_array_size(mids) > 100000) {
                free(cust);
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "member_ids",
                                    "member_ids: 1 to 100000 member ids");
            }
            list = malloc(json_array_size(mids) * sizeof *list);
            size_t i;
            json_t *v;
            json_array_foreach(mids, i, v)
            {
                int64_t m = json_integer_value(v);
                if (!json_is_integer(v) || !bsearch(&m, cust, nc, sizeof *cust, cmp_id)) {
                    free(cust);
                    free(list);
                    return siyu_err_set(e, SIYU_UNPROCESSABLE, "member_ids",
                                        "member_ids[%zu]: not a customer of guide %lld", i,
                                        (long long)from);
                }
                bool twice = false;
                for (size_t k = 0; k < n && !twice; k++)
                    twice = list[k] == m;
                if (!twice) list[n++] = m;
            }
        } else { /* the segment's members who are the guide's customers */
            list = malloc((nc ? nc : 1) * sizeof *list);
            for (size_t i = 0; i < n_segment; i++)
                if (bsearch(&segment_ids[i], cust, nc, sizeof *cust, cmp_id))
                    list[n++] = segment_ids[i];
        }
        free(cust);
        sp.members = list;
        sp.n_members = n;
    }
    int64_t id = 0;
    int rc = transfer_open(d, &sp, &id, e);
    free(list);
    if (rc) return -1;
    if (out && transfers_get(d, id, 0, 100, out, e) < 0) return -1;
    return 201;
}

/* ---------------- ending items ---------------- */

/* A done item: the member's credit, open tasks and the old guide's live edge move to the
 * receiver at this instant. */
static int item_done(dom *d, int64_t item, int64_t tid, int64_t member, int64_t from, int64_t to,
                     siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_TRANSFER_ITEM_END);
    store_bind_text(s, 1, "done");
    store_bind_int(s, 3, d->now);
    store_bind_int(s, 4, item);
    if (store_exec(s, e)) return -1;
    s = store_q(d->conn, Q_MEMBER_GUIDE_MOVE);
    store_bind_int(s, 1, to);
    store_bind_int(s, 2, d->now);
    store_bind_int(s, 3, member);
    store_bind_int(s, 4, from);
    if (store_exec(s, e)) return -1;
    s = store_q(d->conn, Q_TASKS_FOLLOW);
    store_bind_int(s, 1, to);
    store_bind_int(s, 2, member);
    store_bind_int(s, 3, from);
    if (store_exec(s, e)) return -1;
    char state[40];
    snprintf(state, sizeof state, "transfer-%lld", (long long)tid);
    s = store_q(d->conn, Q_CONTACT_HANDOVER);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, from);
    store_bind_int(s, 3, to);
    store_bind_int(s, 4, d->now);
    store_bind_text(s, 5, state);
    if (store_exec(s, e)) return -1;
    s = store_q(d->conn, Q_CONTACT_HANDED);
    store_bind_int(s, 1, d->now);
    store_bind_int(s, 2, member);
    store_bind_int(s, 3, from);
    if (store_exec(s, e)) return -1;
    dom_note(d, DOM_CHANGE_MEMBER, member, 0);
    return guides_reach_follow(d, member, d->now, e);
}

int transfers_results(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"results", NULL};
    static const char *const item_keys[] = {"member_id", "state", "reason", NULL};
    if (jx_only(body, allowed, NULL, e)) return -1;
    json_t *res = json_object_get(body, "results");
    if (!json_is_array(res) || !json_array_size(res) || json_array_size(res) > 1000)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "results", "results: 1 to 1000 results");
    json_t *head = transfer_head(d, id, e);
    if (!head) return -1;
    json_decref(head);
    int recorded = 0, unchanged = 0;
    size_t i;
    json_t *r;
    json_array_foreach(res, i, r)
    {
        char f[48];
        int64_t member = 0;
        int st = 0;
        const char *reason = NULL;
        snprintf(f, sizeof f, "results[%zu].", i);
        if (!json_is_object(r))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "results", "results[%zu]: an object", i);
        if (jx_only(r, item_keys, f, e)) return -1;
        if (jx_int(r, "member_id", true, &member, e) < 0 ||
            jx_enum(r, "state", true, ends, &st, e) < 0 ||
            jx_str(r, "reason", false, &reason, e) < 0) {
            char field[sizeof e->field];
            snprintf(field, sizeof field, "%s%s", f, e->field);
            snprintf(e->field, sizeof e->field, "%s", field);
            return -1;
        }
        if (reason && strlen(reason) > 200) {
            snprintf(f, sizeof f, "results[%zu].reason", i);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: at most 200 characters", f);
        }
        store_stmt *s = store_q(d->conn, Q_TRANSFER_ITEM_OF);
        store_bind_int(s, 1, id);
        store_bind_int(s, 2, member);
        if (store_step(s) != STORE_ROW) {
            store_reset(s);
            snprintf(f, sizeof f, "results[%zu].member_id", i);
            return siyu_err_set(e, SIYU_UNPROCESSABLE, f, "%s: member %lld is not in transfer %lld",
                                f, (long long)member, (long long)id);
        }
        int64_t item = store_col_int(s, 0), from = store_col_int(s, 2), to = store_col_int(s, 3);
        char cur[16];
        snprintf(cur, sizeof cur, "%s", store_col_text(s, 1));
        store_reset(s);
        if (strcmp(cur, "waiting") != 0) { /* ended: the same result again is a replay */
            if (strcmp(cur, ends[st]) == 0) {
                unchanged++;
                continue;
            }
            snprintf(f, sizeof f, "results[%zu].state", i);
            return siyu_err_set(e, SIYU_CONFLICT, f, "%s: member %lld's transfer already ended %s",
                                f, (long long)member, cur);
        }
        if (st == 0) {
            if (item_done(d, item, id, member, from, to, e)) return -1;
        } else {
            s = store_q(d->conn, Q_TRANSFER_ITEM_END);
            store_bind_text(s, 1, ends[st]);
            store_bind_text(s, 2, reason);
            store_bind_int(s, 3, d->now);
            store_bind_int(s, 4, item);
            if (store_exec(s, e)) return -1;
        }
        recorded++;
    }
    if (out) {
        json_t *o = transfer_head(d, id, e);
        if (!o) return -1;
        json_object_set_new(o, "recorded", json_integer(recorded));
        json_object_set_new(o, "unchanged", json_integer(unchanged));
        *out = o;
    }
    return recorded ? 201 : 200;
}

int transfers_sweep(dom *d, int limit, int *done, siyu_err *e)
{
    typedef struct due {
        int64_t item, tid, member, from, to;
    } due;
    if (limit <= 0) limit = 5000;
    due *v = malloc((size_t)limit * sizeof *v);
    if (!v) return siyu_err_set(e, SIYU_INTERNAL, NULL, "transfers: out of memory");
    int n = 0;
    store_stmt *s = store_q(d->conn, Q_TRANSFER_DUE);
    store_bind_int(s, 1, d->now);
    store_bind_int(s, 2, limit);
    while (n < limit && store_step(s) == STORE_ROW) {
        v[n] = (due){store_col_int(s, 0), store_col_int(s, 1), store_col_int(s, 2),
                     store_col_int(s, 3), store_col_int(s, 4)};
        n++;
    }
    store_reset(s);
    for (int i = 0; i < n; i++)
        if (item_done(d, v[i].item, v[i].tid, v[i].member, v[i].from, v[i].to, e)) {
            free(v);
            return -1;
        }
    free(v);
    if (done) *done = n;
    return 0;
}

/* ---------------- the bridge's messages ---------------- */

int bridge_messages_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e)
{
    (void)e;
    typedef struct row {
        int64_t id, tid, to, at, from;
        char kind[32];
    } row;
    row *rows = malloc((size_t)(limit > 0 ? limit : 1) * sizeof *rows);
    int n = 0;
    store_stmt *s = store_q(d->conn, Q_BRIDGE_MESSAGES);
    store_bind_int(s, 1, cursor);
    store_bind_int(s, 2, limit);
    while (rows && n < limit && store_step(s) == STORE_ROW) {
        row *r = &rows[n++];
        r->id = store_col_int(s, 0);
        snprintf(r->kind, sizeof r->kind, "%s", store_col_text(s, 1));
        r->tid = store_col_int(s, 2);
        r->to = store_col_int(s, 3);
        r->at = store_col_int(s, 4);
        r->from = store_col_int(s, 5);
    }
    store_reset(s);
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        row *r = &rows[i];
        json_t *o =
            json_pack("{s:I, s:s, s:I, s:I, s:I, s:o}", "id", (json_int_t)r->id, "kind", r->kind,
                      "transfer_id", (json_int_t)r->tid, "handover_guide_id", (json_int_t)r->from,
                      "takeover_guide_id", (json_int_t)r->to, "created_at", dom_time(r->at));
        int64_t who[2] = {r->from, r->to};
        const char *key[2] = {"handover_userid", "takeover_userid"};
        for (int k = 0; k < 2; k++) {
            s = store_q(d->conn, Q_STAFF_LIFE_GET);
            store_bind_int(s, 1, who[k]);
            json_object_set_new(o, key[k],
                                store_step(s) == STORE_ROW ? dom_nullable_text(s, 4) : json_null());
            store_reset(s);
        }
        json_t *ext = json_array(), *mem = json_array();
        s = store_q(d->conn, Q_BRIDGE_TRANSFER_ITEMS);
        store_bind_int(s, 1, r->tid);
        store_bind_int(s, 2, r->to);
        while (store_step(s) == STORE_ROW) {
            json_array_append_new(mem, json_integer(store_col_int(s, 0)));
            if (!store_col_null(s, 1) && *store_col_text(s, 1))
                json_array_append_new(ext, json_string(store_col_text(s, 1)));
        }
        store_reset(s);
        json_object_set_new(o, "external_userid", ext);
        json_object_set_new(o, "member_ids", mem);
        json_array_append_new(items, o);
    }
    int64_t last = n ? rows[n - 1].id : 0;
    free(rows);
    *out = dom_list(items, limit, last);
    return 200;
}

/* ---------------- siyu check ---------------- */

int transfers_check(store_conn *c, int max, json_t *v)
{
    int found = 0;
    char msg[300];
    store_stmt *s = store_q(c, Q_STAFF_CHECK_STORES);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW) {
        found++;
        snprintf(
            msg, sizeof msg, "staff %lld: store %s but %lld open store history rows (store %s)",
            (long long)store_col_int(s, 0), store_col_null(s, 2) ? "none" : store_col_text(s, 2),
            (long long)store_col_int(s, 1), store_col_null(s, 3) ? "none" : store_col_text(s, 3));
        if ((int)json_array_size(v) < max)
            json_array_append_new(v,
                                  json_pack("{s:s, s:s}", "check", "staff_stores", "message", msg));
    }
    store_reset(s);
    s = store_q(c, Q_STAFF_CHECK_TOKENS);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW) {
        found++;
        snprintf(msg, sizeof msg, "staff %lld has departed but token %lld is not revoked",
                 (long long)store_col_int(s, 0), (long long)store_col_int(s, 1));
        if ((int)json_array_size(v) < max)
            json_array_append_new(
                v, json_pack("{s:s, s:s}", "check", "departed_tokens", "message", msg));
    }
    store_reset(s);
    s = store_q(c, Q_QR_CHECK_COUNTS);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW) {
        found++;
        snprintf(msg, sizeof msg, "qr code %lld, day %lld, guide %lld: counter %lld, scans %lld",
                 (long long)store_col_int(s, 0), (long long)store_col_int(s, 1),
                 (long long)store_col_int(s, 2), (long long)store_col_int(s, 3),
                 (long long)store_col_int(s, 4));
        if ((int)json_array_size(v) < max)
            json_array_append_new(
                v, json_pack("{s:s, s:s}", "check", "qr_scan_counts", "message", msg));
    }
    store_reset(s);
    s = store_q(c, Q_TRANSFER_CHECK_ITEMS);
    store_bind_int(s, 1, max);
    while (store_step(s) == STORE_ROW) {
        found++;
        snprintf(msg, sizeof msg, "transfer item %lld: state %s with ended_at %s",
                 (long long)store_col_int(s, 0), store_col_text(s, 1),
                 store_col_null(s, 2) ? "unset" : store_col_text(s, 2));
        if ((int)json_array_size(v) < max)
            json_array_append_new(
                v, json_pack("{s:s, s:s}", "check", "transfer_items", "message", msg));
    }
    store_reset(s);
    return found;
}
