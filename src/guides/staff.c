/* staff.c — a staff member's lifecycle: their store (with its history), status
 * (active / departed) and WeCom userid; a departure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guides/guides.h"
#include "base/jsonx.h"
#include "community/community.h"

static const char *const statuses[] = {"active", "departed", NULL};

bool guides_staff_active(dom *d, int64_t id)
{
    store_stmt *s = store_q(d->conn, Q_STAFF_LIFE_GET);
    store_bind_int(s, 1, id);
    bool active = store_step(s) == STORE_ROW && strcmp(store_col_text(s, 0), "active") == 0;
    store_reset(s);
    return active;
}

/* The staff record with its store history (oldest first). */
static int staff_render(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    if (!out) return 0;
    if (staff_get(d, id, out, e) < 0) return -1;
    json_t *stores = json_array();
    store_stmt *s = store_q(d->conn, Q_STAFF_STORES_OF);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW)
        json_array_append_new(
            stores, json_pack("{s:o, s:o, s:o}", "store_id", dom_nullable_int(s, 0), "from",
                              dom_time(store_col_int(s, 1)), "to",
                              store_col_null(s, 2) ? json_null() : dom_time(store_col_int(s, 2))));
    store_reset(s);
    json_object_set_new(*out, "stores", stores);
    return 0;
}

static int set_status(dom *d, int64_t id, bool departed, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_STAFF_STATUS_SET);
    store_bind_text(s, 1, departed ? "departed" : "active");
    if (departed) store_bind_int(s, 2, d->now);
    store_bind_int(s, 3, id);
    if (store_exec(s, e)) return -1;
    if (!departed) return 0;
    /* a departed staff member's tokens and console sessions stop working at once */
    s = store_q(d->conn, Q_STAFF_TOKENS_REVOKE);
    store_bind_int(s, 1, d->now);
    store_bind_int(s, 2, id);
    if (store_exec(s, e)) return -1;
    s = store_q(d->conn, Q_SESSION_REVOKE_STAFF);
    store_bind_int(s, 1, d->now);
    store_bind_int(s, 2, id);
    return store_exec(s, e);
}

static int move_store(dom *d, int64_t id, int64_t store_id, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_STAFF_STORE_CLOSE);
    store_bind_int(s, 1, d->now);
    store_bind_int(s, 2, id);
    if (store_exec(s, e)) return -1;
    if (store_id) {
        s = store_q(d->conn, Q_STAFF_STORE_OPEN);
        store_bind_int(s, 1, id);
        store_bind_int(s, 2, store_id);
        store_bind_int(s, 3, d->now);
        if (store_exec(s, e)) return -1;
    }
    s = store_q(d->conn, Q_STAFF_STORE_SET);
    if (store_id) store_bind_int(s, 1, store_id);
    store_bind_int(s, 2, id);
    return store_exec(s, e);
}

int staff_patch(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"wecom_userid", "store_id", "status", NULL};
    if (jx_only(body, allowed, NULL, e)) return -1;
    json_t *v = json_object_get(body, "wecom_userid");
    const char *uid = NULL;
    if (v && !json_is_null(v)) {
        if (jx_str(body, "wecom_userid", true, &uid, e) < 0) return -1;
        if (!*uid || strlen(uid) > 64)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "wecom_userid",
                                "wecom_userid: 1 to 64 characters");
    }
    json_t *sv = json_object_get(body, "store_id");
    int64_t store_id = 0;
    if (sv && !json_is_null(sv) && jx_int(body, "store_id", true, &store_id, e) < 0) return -1;
    int status = -1;
    if (jx_enum(body, "status", false, statuses, &status, e) < 0) return -1;

    store_stmt *s = store_q(d->conn, Q_STAFF_LIFE_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "staff %lld does not exist", (long long)id);
    }
    bool was_departed = strcmp(store_col_text(s, 0), "departed") == 0;
    int64_t cur_store = store_col_null(s, 2) ? 0 : store_col_int(s, 2);
    char srole[32];
    snprintf(srole, sizeof srole, "%s", store_col_text(s, 3));
    store_reset(s);

    if (sv) {
        bool in_store = strcmp(srole, "guide") == 0 || strcmp(srole, "store_manager") == 0;
        if (!store_id && in_store)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "store_id", "store_id: required for a %s",
                                srole);
        if (store_id && dom_require_store(d, store_id, "store_id", e)) return -1;
    }
    if (uid) {
        s = store_q(d->conn, Q_STAFF_BY_WECOM);
        store_bind_text(s, 1, uid);
        if (store_step(s) == STORE_ROW && store_col_int(s, 0) != id) {
            long long other = (long long)store_col_int(s, 0);
            store_reset(s);
            return siyu_err_set(e, SIYU_CONFLICT, "wecom_userid",
                                "wecom_userid: already belongs to staff %lld", other);
        }
        store_reset(s);
    }
    if (v) {
        s = store_q(d->conn, Q_STAFF_WECOM_SET);
        store_bind_text(s, 1, uid);
        store_bind_int(s, 2, id);
        if (store_exec(s, e)) return -1;
    }
    /* a move keeps the history: past orders keep the store they were placed in */
    if (sv && store_id != cur_store && move_store(d, id, store_id, e)) return -1;
    if (status >= 0 && (status == 1) != was_departed && set_status(d, id, status == 1, e))
        return -1;
    if (staff_render(d, id, out, e)) return -1;
    return 200;
}

/* The one place a departure hands over what the guide owned besides their customers
 * (whose transfer staff_depart opens). Communities: the departing guide's groups become
 * owner_departed in the same write — no join code serves them and their SOP posts wait —
 * until WeCom's transfer arrives from the bridge (group_updated with the new owner). */
int guides_depart_handover(dom *d, const guides_departure *dep, siyu_err *e)
{
    int n = groups_of_guide(d, dep->staff_id, NULL, 0); /* how many */
    if (n <= 0) return 0;
    int64_t *ids = malloc((size_t)n * sizeof *ids);
    if (!ids) return siyu_err_set(e, SIYU_INTERNAL, NULL, "out of memory");
    n = groups_of_guide(d, dep->staff_id, ids, n);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++)
        rc = groups_set_owner_state(d, ids[i], "owner_departed", 0, e);
    free(ids);
    return rc;
}

int staff_depart(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"transfer_to", "split", NULL};
    static const char *const splits[] = {"even", "least_loaded", NULL};
    int split = 0;
    if (jx_only(body, allowed, NULL, e) || jx_enum(body, "split", false, splits, &split, e) < 0)
        return -1;
    /* required, so a departure is never an accident: [] departs with no transfer */
    json_t *to = json_object_get(body, "transfer_to");
    if (!to)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "transfer_to",
                            "transfer_to: required (the receiving guides, or [] for none)");
    int64_t ids[TRANSFER_MAX_RECEIVERS];
    size_t n = 0;
    if (transfer_receivers(d, to, "transfer_to", ids, &n, e)) return -1;

    store_stmt *s = store_q(d->conn, Q_STAFF_LIFE_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "staff %lld does not exist", (long long)id);
    }
    bool departed = strcmp(store_col_text(s, 0), "departed") == 0;
    store_reset(s);
    if (departed)
        return siyu_err_set(e, SIYU_CONFLICT, NULL,
                            "staff %lld has already departed (a transfer of their customers: "
                            "POST /transfers with kind departed)",
                            (long long)id);
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return siyu_err_set(e, SIYU_UNPROCESSABLE, "transfer_to",
                                "transfer_to: the departing guide cannot receive");
    if (set_status(d, id, true, e)) return -1;
    int64_t transfer_id = 0;
    if (n) {
        transfer_spec sp = {.departed = true,
                            .from = id,
                            .to = ids,
                            .n_to = n,
                            .least_loaded = split == 1,
                            .all = true};
        if (transfer_open(d, &sp, &transfer_id, e)) return -1;
    }
    guides_departure dep = {.staff_id = id, .to = ids, .n_to = n, .transfer_id = transfer_id};
    if (guides_depart_handover(d, &dep, e)) return -1;
    if (staff_render(d, id, out, e)) return -1;
    if (out)
        json_object_set_new(*out, "transfer_id",
                            transfer_id ? json_integer(transfer_id) : json_null());
    return 200;
}
