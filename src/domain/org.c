/* org.c — brands, stores and staff: the organisation members and orders hang on. */
#include <string.h>

#include "base/jsonx.h"
#include "domain/domain.h"

static const char *const staff_roles[] = {"store_manager", "guide", "operator", "admin", NULL};

/* ---------------- brands ---------------- */

static json_t *brand_json(store_stmt *s)
{
    return json_pack("{s:I, s:s, s:o}", "id", (json_int_t)store_col_int(s, 0), "name",
                     store_col_text(s, 1), "created_at", dom_time(store_col_int(s, 2)));
}

static int brand_render(dom *d, int64_t id, json_t **out)
{
    if (!out) return 0;
    store_stmt *s = store_q(d->conn, Q_BRAND_GET);
    store_bind_int(s, 1, id);
    *out = store_step(s) == STORE_ROW ? brand_json(s) : NULL;
    store_reset(s);
    return 0;
}

int brands_create(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"name", NULL};
    const char *name;
    if (jx_only(body, allowed, NULL, e) || jx_str(body, "name", true, &name, e) < 0) return -1;
    if (!*name) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: must not be empty");
    store_stmt *s = store_q(d->conn, Q_BRAND_BY_NAME);
    store_bind_text(s, 1, name);
    if (store_step(s) == STORE_ROW) { /* a brand is its name: creating it again is a replay */
        int64_t id = store_col_int(s, 0);
        store_reset(s);
        brand_render(d, id, out);
        return 200;
    }
    s = store_q(d->conn, Q_BRAND_INSERT);
    store_bind_text(s, 1, name);
    store_bind_int(s, 2, d->now);
    if (store_exec(s, e)) return -1;
    brand_render(d, store_last_id(d->conn), out);
    return 201;
}

int brands_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e)
{
    json_t *items = json_array();
    int64_t last = 0;
    store_stmt *s = store_q(d->conn, Q_BRAND_LIST);
    store_bind_int(s, 1, cursor);
    store_bind_int(s, 2, limit);
    while (store_step(s) == STORE_ROW) {
        last = store_col_int(s, 0);
        json_array_append_new(items, brand_json(s));
    }
    *out = dom_list(items, limit, last);
    return 200;
}

/* ---------------- stores ---------------- */

static json_t *store_json(store_stmt *s)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id",
                     (json_int_t)store_col_int(s, 0), "name", store_col_text(s, 1), "code",
                     store_col_text(s, 2), "kind", store_col_text(s, 3), "brand_id",
                     dom_nullable_int(s, 4), "region", dom_nullable_text(s, 5), "city",
                     dom_nullable_text(s, 6), "created_at", dom_time(store_col_int(s, 7)));
}

int stores_get(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_STORE_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW)
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "store %lld does not exist", (long long)id);
    if (out) *out = store_json(s);
    store_reset(s);
    return 200;
}

int stores_id_by_code(dom *d, const char *code, int64_t *id, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_STORE_BY_CODE);
    store_bind_text(s, 1, code);
    int found = store_step(s) == STORE_ROW;
    if (found) *id = store_col_int(s, 0);
    store_reset(s);
    if (!found)
        return siyu_err_set(e, SIYU_NOT_FOUND, "store_code", "store_code: no store has code %s",
                            code);
    return 0;
}

int stores_create(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"name",   "code", "kind", "brand_id",
                                          "region", "city", NULL};
    const char *name, *code, *region = NULL, *city = NULL;
    int kind;
    int64_t brand_id = 0;
    if (jx_only(body, allowed, NULL, e) || jx_str(body, "name", true, &name, e) < 0 ||
        jx_str(body, "code", true, &code, e) < 0 ||
        jx_enum(body, "kind", true, dom_store_kinds, &kind, e) < 0 ||
        jx_int(body, "brand_id", false, &brand_id, e) < 0 ||
        jx_str(body, "region", false, &region, e) < 0 || jx_str(body, "city", false, &city, e) < 0)
        return -1;
    if (!*name) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: must not be empty");
    if (!*code) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "code", "code: must not be empty");
    if (brand_id) {
        store_stmt *b = store_q(d->conn, Q_BRAND_GET);
        store_bind_int(b, 1, brand_id);
        int found = store_step(b) == STORE_ROW;
        store_reset(b);
        if (!found)
            return siyu_err_set(e, SIYU_NOT_FOUND, "brand_id",
                                "brand_id: brand %lld does not exist", (long long)brand_id);
    }
    store_stmt *s = store_q(d->conn, Q_STORE_BY_CODE);
    store_bind_text(s, 1, code);
    if (store_step(s) == STORE_ROW) {
        /* The code is the store's natural key: the same store again is a replay, a
         * different store under a taken code is a conflict. */
        int64_t id = store_col_int(s, 0);
        store_reset(s);
        json_t *existing = NULL;
        if (stores_get(d, id, &existing, e) < 0) return -1;
        int same = strcmp(json_string_value(json_object_get(existing, "name")), name) == 0 &&
                   strcmp(json_string_value(json_object_get(existing, "kind")),
                          dom_store_kinds[kind]) == 0;
        if (!same) {
            json_decref(existing);
            siyu_err_set(e, SIYU_CONFLICT, "code", "code: store %lld already has code %s",
                         (long long)id, code);
            e->details = json_pack("{s:I}", "store_id", (json_int_t)id);
            return -1;
        }
        if (out)
            *out = existing;
        else
            json_decref(existing);
        return 200;
    }
    s = store_q(d->conn, Q_STORE_INSERT);
    store_bind_text(s, 1, name);
    store_bind_text(s, 2, code);
    store_bind_text(s, 3, dom_store_kinds[kind]);
    if (brand_id) store_bind_int(s, 4, brand_id);
    store_bind_text(s, 5, region);
    store_bind_text(s, 6, city);
    store_bind_int(s, 7, d->now);
    if (store_exec(s, e)) return -1;
    if (out) stores_get(d, store_last_id(d->conn), out, e);
    return 201;
}

int stores_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e)
{
    json_t *items = json_array();
    int64_t last = 0;
    store_stmt *s = store_q(d->conn, Q_STORE_LIST);
    store_bind_int(s, 1, cursor);
    store_bind_int(s, 2, limit);
    while (store_step(s) == STORE_ROW) {
        last = store_col_int(s, 0);
        json_array_append_new(items, store_json(s));
    }
    *out = dom_list(items, limit, last);
    return 200;
}

/* ---------------- staff ---------------- */

/* status: active or departed (issue 15: a departed guide's tokens are revoked and they
 * get no new tasks, scans or tokens; see src/guides/staff.c) */
static json_t *staff_json(store_stmt *s)
{
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:s}", "id", (json_int_t)store_col_int(s, 0),
                  "name", store_col_text(s, 1), "role", store_col_text(s, 2), "store_id",
                  dom_nullable_int(s, 3), "code", dom_nullable_text(s, 4), "created_at",
                  dom_time(store_col_int(s, 5)), "status", store_col_text(s, 6));
    json_object_set_new(o, "departed_at",
                        store_col_null(s, 7) ? json_null() : dom_time(store_col_int(s, 7)));
    json_object_set_new(o, "wecom_userid", dom_nullable_text(s, 8));
    return o;
}

int staff_get(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_STAFF_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW)
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "staff %lld does not exist", (long long)id);
    int64_t store_id = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
    if (d->who.role == ROLE_STORE_MANAGER && store_id != d->who.store_id) {
        store_reset(s);
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, NULL, "staff %lld is not in your store",
                            (long long)id);
    }
    if (out) *out = staff_json(s);
    store_reset(s);
    return 200;
}

int staff_create(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"name", "role", "store_id", "code", NULL};
    const char *name, *code = NULL;
    int role_ix;
    int64_t store_id = 0;
    if (jx_only(body, allowed, NULL, e) || jx_str(body, "name", true, &name, e) < 0 ||
        jx_enum(body, "role", true, staff_roles, &role_ix, e) < 0 ||
        jx_int(body, "store_id", false, &store_id, e) < 0 ||
        jx_str(body, "code", false, &code, e) < 0)
        return -1;
    if (!*name) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: must not be empty");
    bool in_store = role_ix <= 1; /* guides and store managers belong to a store */
    if (in_store && !store_id)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "store_id", "store_id: required for a %s",
                            staff_roles[role_ix]);
    if (store_id && dom_require_store(d, store_id, "store_id", e)) return -1;
    if (code && *code) {
        store_stmt *s = store_q(d->conn, Q_STAFF_BY_CODE);
        store_bind_text(s, 1, code);
        if (store_step(s) == STORE_ROW) { /* an employee number is a natural key */
            int64_t id = store_col_int(s, 0);
            store_reset(s);
            if (out) staff_get(d, id, out, e);
            return 200;
        }
    }
    store_stmt *s = store_q(d->conn, Q_STAFF_INSERT);
    store_bind_text(s, 1, name);
    store_bind_text(s, 2, staff_roles[role_ix]);
    if (store_id) store_bind_int(s, 3, store_id);
    store_bind_text(s, 4, code && *code ? code : NULL);
    store_bind_int(s, 5, d->now);
    if (store_exec(s, e)) return -1;
    int64_t id = store_last_id(d->conn);
    if (store_id) { /* the store history starts here (staff_stores) */
        s = store_q(d->conn, Q_STAFF_STORE_OPEN);
        store_bind_int(s, 1, id);
        store_bind_int(s, 2, store_id);
        store_bind_int(s, 3, d->now);
        if (store_exec(s, e)) return -1;
    }
    if (out) staff_get(d, id, out, e);
    return 201;
}

int staff_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e)
{
    json_t *items = json_array();
    int64_t last = 0;
    store_stmt *s = store_q(d->conn, Q_STAFF_LIST);
    store_bind_int(s, 1, cursor);
    store_bind_int(s, 2, limit);
    if (d->who.role == ROLE_STORE_MANAGER) store_bind_int(s, 3, d->who.store_id);
    while (store_step(s) == STORE_ROW) {
        last = store_col_int(s, 0);
        json_array_append_new(items, staff_json(s));
    }
    *out = dom_list(items, limit, last);
    return 200;
}

int staff_token_create(dom *d, int64_t staff_id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"name", "expires_at", NULL};
    const char *name = NULL;
    int64_t expires = 0;
    if (body && (jx_only(body, allowed, NULL, e) || jx_str(body, "name", false, &name, e) < 0 ||
                 jx_time(body, "expires_at", false, &expires, e) < 0))
        return -1;
    json_t *staff;
    if (staff_get(d, staff_id, &staff, e) < 0) return -1;
    role r = role_parse(json_string_value(json_object_get(staff, "role")));
    bool departed = strcmp(json_string_value(json_object_get(staff, "status")), "departed") == 0;
    json_decref(staff);
    if (departed)
        return siyu_err_set(e, SIYU_CONFLICT, "staff_id", "staff %lld has departed",
                            (long long)staff_id);
    char token[AUTH_TOKEN_LEN + 1];
    int64_t id = 0;
    auth_token_spec spec = {.role = r, .staff_id = staff_id, .expires_at = expires, .name = name};
    if (auth_token_issue(d->conn, &spec, d->now, token, &id, e)) return -1;
    if (out) {
        *out = json_pack("{s:s, s:I, s:s, s:I}", "token", token, "id", (json_int_t)id, "role",
                         role_name(r), "staff_id", (json_int_t)staff_id);
        json_object_set_new(*out, "expires_at", dom_time(expires));
    }
    return 201;
}
