/* members.c — the member center: one member, many identities.
 *
 * A person is recognised by any of their identities (phone, WeChat unionid, openid
 * per app, member card, enterprise-WeChat external id). Create-or-match finds the
 * member every given identity points at, adds the identities they did not have yet,
 * and refuses (409) when the identities point at two different members — that is a
 * merge for a human to decide, never something to guess. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/phone.h"
#include "base/timeutil.h"
#include "domain/domain.h"
#include "domain/memo.h"
#include "models/models.h"

static const char *const genders[] = {"male", "female", "unknown", NULL};
static const char *const reach_channels[] = {"public_account", "wecom", "group", "sms",
                                             "miniprogram",    NULL};

#define MAX_IDENTITIES 8

typedef struct identity {
    const char *kind;
    const char *app_id; /* "" unless an openid of a named app */
    char value[200];
} identity;

/* Reads the identity fields of obj; phones are normalised. Returns the count or -1. */
static int read_identities(json_t *obj, const char *prefix, identity *ids, siyu_err *e)
{
    static const char *const kinds[] = {"phone", "unionid", "openid", "card_no",
                                        "wecom_external_id"};
    int n = 0;
    const char *app_id = "";
    char f[80];
    snprintf(f, sizeof f, "%sapp_id", prefix);
    json_t *app = json_object_get(obj, "app_id");
    if (app && !json_is_null(app)) {
        if (!json_is_string(app))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: not a string", f);
        app_id = json_string_value(app);
    }
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        json_t *v = json_object_get(obj, kinds[k]);
        if (!v || json_is_null(v)) continue;
        snprintf(f, sizeof f, "%s%s", prefix, kinds[k]);
        if (!json_is_string(v))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: not a string", f);
        const char *s = json_string_value(v);
        identity *id = &ids[n++];
        id->kind = kinds[k];
        id->app_id = strcmp(kinds[k], "openid") == 0 ? app_id : "";
        if (k == 0) {
            if (phone_normalise(s, id->value, sizeof id->value))
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                                    "%s: not a valid phone number: \"%.40s\"", f, s);
        } else {
            size_t len = strlen(s);
            if (len == 0 || len >= sizeof id->value || len != json_string_length(v))
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                                    "%s: must be 1 to %zu bytes of text", f, sizeof id->value - 1);
            memcpy(id->value, s, len + 1);
        }
    }
    return n;
}

static int64_t identity_owner(dom *d, const identity *id)
{
    store_stmt *s = store_q(d->conn, Q_IDENTITY_FIND);
    store_bind_text(s, 1, id->kind);
    store_bind_text(s, 2, id->app_id);
    store_bind_text(s, 3, id->value);
    int64_t owner = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    return owner;
}

static int identity_add(dom *d, const identity *id, int64_t member_id, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_IDENTITY_INSERT);
    store_bind_text(s, 1, id->kind);
    store_bind_text(s, 2, id->app_id);
    store_bind_text(s, 3, id->value);
    store_bind_int(s, 4, member_id);
    return store_exec(s, e);
}

/* The one member all identities point at (0 if none), or -1 with a conflict. */
static int64_t match_identities(dom *d, identity *ids, int n, const char *prefix, siyu_err *e)
{
    int64_t found = 0;
    const char *found_kind = NULL;
    for (int i = 0; i < n; i++) {
        int64_t owner = identity_owner(d, &ids[i]);
        if (!owner) continue;
        if (found && owner != found) {
            char f[80];
            snprintf(f, sizeof f, "%s%s", prefix, ids[i].kind);
            siyu_err_set(e, SIYU_CONFLICT, f,
                         "%s: belongs to member %lld while %s belongs to member %lld", f,
                         (long long)owner, found_kind, (long long)found);
            e->details =
                json_pack("{s:[I,I]}", "member_ids", (json_int_t)(found < owner ? found : owner),
                          (json_int_t)(found < owner ? owner : found));
            return -1;
        }
        found = owner;
        found_kind = ids[i].kind;
    }
    return found;
}

bool members_in_scope(const dom *d, int64_t store_id, int64_t guide_id)
{
    switch (d->who.role) {
    case ROLE_ADMIN:
    case ROLE_OPERATOR:
        return true;
    case ROLE_STORE_MANAGER:
        return store_id == d->who.store_id;
    case ROLE_GUIDE:
        return guide_id == d->who.staff_id;
    case ROLE_CASHIER:
        return true; /* a till serves the whole chain; its routes are few (scope.c) */
    default:
        return false;
    }
}

int64_t members_live_id(dom *d, int64_t id, const char *field, siyu_err *e)
{
    return members_live_brief(d, id, field, NULL, e);
}

int64_t members_live_brief(dom *d, int64_t id, const char *field, dom_member_brief *b, siyu_err *e)
{
    /* Merges can chain (a into b, then b into c); follow them, but never forever. */
    for (int hops = 0; hops < 16; hops++) {
        store_stmt *s = store_q(d->conn, Q_MEMBER_GET);
        store_bind_int(s, 1, id);
        if (store_step(s) != STORE_ROW) break;
        int64_t into = store_col_opt_by(s, "merged_into");
        if (!into && b) {
            b->guide_id = store_col_opt_by(s, "guide_id");
            b->has_birthday = !store_col_null_by(s, "birthday");
            b->birthday = (int32_t)store_col_int_by(s, "birthday");
        }
        store_reset(s);
        if (!into) return id;
        id = into;
    }
    siyu_err_set(e, SIYU_NOT_FOUND, field, "%s: member %lld does not exist",
                 field ? field : "member", (long long)id);
    return -1;
}

/* ---------------- rendering: the member 360 ---------------- */

static bool can_see_phone(const dom *d)
{
    return d->who.role != ROLE_GUIDE && d->who.role != ROLE_CASHIER;
}

static json_t *identities_json(dom *d, int64_t id, json_t *member)
{
    json_t *arr = json_array();
    store_stmt *s = store_q(d->conn, Q_IDENTITY_LIST);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW) {
        const char *kind = store_col_text(s, 0), *app = store_col_text(s, 1),
                   *value = store_col_text(s, 2);
        char masked[40];
        if (strcmp(kind, "phone") == 0 && !can_see_phone(d)) {
            phone_mask(value, masked, sizeof masked);
            value = masked;
        }
        json_t *o = json_pack("{s:s, s:s}", "kind", kind, "value", value);
        if (app && *app) json_object_set_new(o, "app_id", json_string(app));
        json_array_append_new(arr, o);
        /* the first of each kind is also a top-level field, for convenience */
        if (strcmp(kind, "openid") != 0 && !json_object_get(member, kind))
            json_object_set_new(member, kind, json_string(value));
    }
    return arr;
}

static json_t *reach_json(dom *d, int64_t id)
{
    json_t *o = json_object();
    for (int i = 0; reach_channels[i]; i++)
        json_object_set_new(o, reach_channels[i], json_false());
    bool any = false;
    store_stmt *s = store_q(d->conn, Q_REACH_LIST);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW) {
        bool on = store_col_int(s, 1) != 0;
        json_object_set_new(o, store_col_text(s, 0), json_boolean(on));
        char key[64];
        snprintf(key, sizeof key, "%s_since", store_col_text(s, 0));
        json_object_set_new(o, key, dom_time(store_col_int(s, 2)));
        any = any || on;
    }
    json_object_set_new(o, "any", json_boolean(any));
    return o;
}

static json_t *stats_json(dom *d, int64_t id)
{
    store_stmt *s = store_q(d->conn, Q_MEMBER_STATS);
    store_bind_int(s, 1, id);
    json_t *o = json_object();
    if (store_step(s) == STORE_ROW) {
        int64_t orders = store_col_int(s, 0), gross = store_col_int(s, 1),
                refunded = store_col_int(s, 2), items = store_col_int(s, 5);
        int64_t spend = gross - refunded;
        json_object_set_new(o, "orders", json_integer(orders));
        json_object_set_new(o, "spend_cents", json_integer(spend));
        json_object_set_new(o, "gross_cents", json_integer(gross));
        json_object_set_new(o, "refunded_cents", json_integer(refunded));
        json_object_set_new(o, "avg_ticket_cents", json_integer(orders ? spend / orders : 0));
        json_object_set_new(o, "items", json_integer(items));
        json_object_set_new(o, "first_order_at",
                            store_col_null(s, 3) ? json_null() : dom_time(store_col_int(s, 3)));
        json_object_set_new(o, "last_order_at",
                            store_col_null(s, 4) ? json_null() : dom_time(store_col_int(s, 4)));
    }
    store_reset(s);
    return o;
}

static json_t *ref_json(dom *d, store_query q, int64_t id)
{
    if (!id) return json_null();
    store_stmt *s = store_q(d->conn, q);
    store_bind_int(s, 1, id);
    json_t *o = store_step(s) == STORE_ROW
                    ? json_pack("{s:I, s:s}", "id", (json_int_t)id, "name", store_col_text(s, 1))
                    : json_null();
    store_reset(s);
    return o;
}

/* Renders the member 360. Expects the member to exist and be live. */
static json_t *member_render(dom *d, int64_t id, bool full)
{
    store_stmt *s = store_q(d->conn, Q_MEMBER_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) return NULL;
    char bday[16];
    json_t *m = json_object();
    json_object_set_new(m, "id", json_integer(id));
    json_object_set_new(m, "name", dom_nullable_text(s, store_col_index(s, "name")));
    json_object_set_new(m, "gender", dom_nullable_text(s, store_col_index(s, "gender")));
    if (store_col_null_by(s, "birthday")) {
        json_object_set_new(m, "birthday", json_null());
    } else {
        date_format((int32_t)store_col_int_by(s, "birthday"), bday, sizeof bday);
        json_object_set_new(m, "birthday", json_string(bday));
    }
    json_object_set_new(m, "city", dom_nullable_text(s, store_col_index(s, "city")));
    int64_t store_id = store_col_opt_by(s, "store_id");
    int64_t guide_id = store_col_opt_by(s, "guide_id");
    json_object_set_new(m, "store_id", store_id ? json_integer(store_id) : json_null());
    json_object_set_new(m, "guide_id", guide_id ? json_integer(guide_id) : json_null());
    json_object_set_new(m, "join_channel",
                        dom_nullable_text(s, store_col_index(s, "join_channel")));
    json_object_set_new(m, "joined_at", dom_time(store_col_int_by(s, "joined_at")));
    json_object_set_new(m, "created_at", dom_time(store_col_int_by(s, "created_at")));
    json_object_set_new(m, "updated_at", dom_time(store_col_int_by(s, "updated_at")));
    store_reset(s);
    json_object_set_new(m, "identities", identities_json(d, id, m));
    int64_t erased_at = 0;
    bool erased = members_erased(d, id, &erased_at); /* rights.c: no personal field left */
    json_object_set_new(m, "erased", json_boolean(erased));
    if (erased) {
        static const char *const personal[] = {"name", "gender", "birthday", "city", NULL};
        for (int i = 0; personal[i]; i++)
            json_object_del(m, personal[i]);
        json_object_set_new(m, "erased_at", dom_time(erased_at));
    }
    if (!full) return m;
    json_object_set_new(m, "store", ref_json(d, Q_STORE_GET, store_id));
    json_object_set_new(m, "guide", ref_json(d, Q_STAFF_GET, guide_id));
    json_object_set_new(m, "reachability", reach_json(d, id));
    json_object_set_new(m, "consents", dom_consents_json(d, id));
    json_object_set_new(m, "stats", stats_json(d, id));
    json_object_set_new(m, "predictions", models_member_json(d->conn, id));
    const dom_loyalty_hooks *loy = dom_loyalty();
    json_t *lb = loy ? loy->member_block(d, id) : NULL;
    if (lb) { /* tier, points, coupons: merged in at the top level of the 360 */
        json_object_update(m, lb);
        json_decref(lb);
    }
    json_t *merged = json_array();
    s = store_q(d->conn, Q_MERGE_LIST);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW) {
        json_t *one = json_pack("{s:I, s:o}", "member_id", (json_int_t)store_col_int(s, 0), "at",
                                dom_time(store_col_int(s, 1)));
        json_t *det = store_col_null(s, 2) ? NULL : json_loads(store_col_text(s, 2), 0, NULL);
        json_t *fl = json_object_get(det, "filled"), *kp = json_object_get(det, "kept");
        json_object_set_new(one, "filled", fl ? json_incref(fl) : json_array());
        json_object_set_new(one, "kept", kp ? json_incref(kp) : json_array());
        json_decref(det);
        json_array_append_new(merged, one);
    }
    json_object_set_new(m, "merged_from", merged);
    /* profile fields filled by a create-or-match for a known identity, newest first */
    json_t *changes = json_array();
    s = store_q(d->conn, Q_PROFILE_CHANGES);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW) {
        json_t *one = json_loads(store_col_text(s, 2), 0, NULL);
        if (!one) one = json_object();
        json_object_set_new(one, "at", dom_time(store_col_int(s, 0)));
        json_object_set_new(one, "source", json_string(store_col_text(s, 1)));
        json_array_append_new(changes, one);
    }
    json_object_set_new(m, "profile_changes", changes);
    return m;
}

/* Loads the scope columns of a member and checks the caller may see them. Answers
 * 404 with merged_into for a member merged away. */
static int member_check(dom *d, int64_t id, int64_t *store_id, int64_t *guide_id, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_MEMBER_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW)
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "member %lld does not exist", (long long)id);
    int64_t sid = store_col_opt_by(s, "store_id");
    int64_t gid = store_col_opt_by(s, "guide_id");
    int64_t into = store_col_opt_by(s, "merged_into");
    store_reset(s);
    if (into) {
        int64_t live = members_live_id(d, into, NULL, e);
        siyu_err_set(e, SIYU_NOT_FOUND, NULL, "member %lld was merged into member %lld",
                     (long long)id, (long long)(live > 0 ? live : into));
        e->details = json_pack("{s:I}", "merged_into", (json_int_t)(live > 0 ? live : into));
        return -1;
    }
    if (!members_in_scope(d, sid, gid))
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, NULL, "member %lld is outside your scope",
                            (long long)id);
    if (store_id) *store_id = sid;
    if (guide_id) *guide_id = gid;
    return 0;
}

int members_get(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    if (member_check(d, id, NULL, NULL, e)) return -1;
    if (out) *out = member_render(d, id, true);
    return 200;
}

/* ---------------- profile fields ---------------- */

typedef struct profile {
    const char *name, *city;
    int gender; /* index into genders, -1 none */
    int32_t birthday;
    bool has_birthday;
    int64_t store_id, guide_id;
} profile;

/* Reads the profile fields present in body. For PATCH, a null clears a field; the
 * set[] flags say which fields the body named. */
enum { P_NAME, P_GENDER, P_BIRTHDAY, P_CITY, P_STORE, P_GUIDE, P__COUNT };
static int read_profile(dom *d, json_t *body, profile *p, bool set[P__COUNT], siyu_err *e)
{
    static const char *const keys[P__COUNT] = {"name", "gender",   "birthday",
                                               "city", "store_id", "guide_id"};
    for (int i = 0; i < P__COUNT; i++)
        set[i] = json_object_get(body, keys[i]) != NULL;
    if (jx_str(body, "name", false, &p->name, e) < 0 ||
        jx_str(body, "city", false, &p->city, e) < 0 ||
        jx_enum(body, "gender", false, genders, &p->gender, e) < 0)
        return -1;
    int rc = jx_date(body, "birthday", false, &p->birthday, e);
    if (rc < 0) return -1;
    if (rc == 1) {
        if (p->birthday > time_local_day(d->now))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "birthday", "birthday: is in the future");
        p->has_birthday = true;
    }
    if (p->name && strlen(p->name) > 100)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: longer than 100 bytes");
    if (jx_int(body, "store_id", false, &p->store_id, e) < 0 ||
        jx_int(body, "guide_id", false, &p->guide_id, e) < 0)
        return -1;
    if (p->store_id && dom_require_store(d, p->store_id, "store_id", e)) return -1;
    if (p->guide_id) {
        int64_t guide_store;
        if (dom_require_staff(d, p->guide_id, "guide", "guide_id", &guide_store, e)) return -1;
        if (!p->store_id && !set[P_STORE])
            p->store_id = guide_store; /* a member bound to a guide belongs to their store */
    }
    return 0;
}

/* Applies the caller's scope to a new or changed member: a guide binds members to
 * themselves, a store manager keeps them in their store. */
static int scope_profile(dom *d, profile *p, siyu_err *e)
{
    if (d->who.role == ROLE_GUIDE) {
        if (p->guide_id && p->guide_id != d->who.staff_id)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, "guide_id",
                                "guide_id: a guide can only bind members to themselves");
        p->guide_id = d->who.staff_id;
        p->store_id = d->who.store_id;
    } else if (d->who.role == ROLE_STORE_MANAGER) {
        if (p->store_id && p->store_id != d->who.store_id)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, "store_id",
                                "store_id: a store manager can only add members to their store");
        p->store_id = d->who.store_id;
    }
    return 0;
}

static int64_t member_insert(dom *d, const profile *p, const char *channel, int64_t joined_at,
                             identity *ids, int n, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_MEMBER_INSERT);
    store_bind_text(s, 1, p->name);
    store_bind_text(s, 2, p->gender >= 0 ? genders[p->gender] : NULL);
    if (p->has_birthday) store_bind_int(s, 3, p->birthday);
    store_bind_text(s, 4, p->city);
    if (p->store_id) store_bind_int(s, 5, p->store_id);
    if (p->guide_id) store_bind_int(s, 6, p->guide_id);
    store_bind_text(s, 7, channel);
    store_bind_int(s, 8, joined_at);
    store_bind_int(s, 9, d->now);
    if (store_exec(s, e)) return -1;
    int64_t id = store_last_id(d->conn);
    for (int i = 0; i < n; i++)
        if (identity_add(d, &ids[i], id, e)) return -1;
    dom_note(d, DOM_CHANGE_MEMBER, id, 0);
    return id;
}

/* Adds the identities the member lacks. */
static int add_missing(dom *d, identity *ids, int n, int64_t member_id, siyu_err *e)
{
    bool added = false;
    for (int i = 0; i < n; i++) {
        if (identity_owner(d, &ids[i])) continue;
        if (identity_add(d, &ids[i], member_id, e)) return -1;
        added = true;
    }
    /* a new identity may name the member in a store group it was a stranger in
     * (src/community): the index re-reads what follows the reach */
    if (added) dom_note(d, DOM_CHANGE_REACH, member_id, 0);
    return 0;
}

/* ---------------- filling empty profile fields ---------------- */

/* The profile fields a create-or-match or a merge may fill. A field is empty when it
 * is NULL, "" or (gender) "unknown"; only empty fields are filled, never overwritten. */
enum { PF_NAME, PF_GENDER, PF_BIRTHDAY, PF_CITY, PF__N };
static const char *const pf_names[PF__N] = {"name", "gender", "birthday", "city"};

typedef struct pfields {
    bool has[PF__N];
    char name[256], gender[16], city[256];
    int64_t birthday;
} pfields;

static void pfields_load(dom *d, int64_t id, pfields *f, int64_t *store_id, int64_t *guide_id)
{
    memset(f, 0, sizeof *f);
    store_stmt *s = store_q(d->conn, Q_MEMBER_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) == STORE_ROW) {
        if (!store_col_null_by(s, "name"))
            snprintf(f->name, sizeof f->name, "%s", store_col_text_by(s, "name"));
        if (!store_col_null_by(s, "gender"))
            snprintf(f->gender, sizeof f->gender, "%s", store_col_text_by(s, "gender"));
        if (!store_col_null_by(s, "city"))
            snprintf(f->city, sizeof f->city, "%s", store_col_text_by(s, "city"));
        f->has[PF_BIRTHDAY] = !store_col_null_by(s, "birthday");
        f->birthday = f->has[PF_BIRTHDAY] ? store_col_int_by(s, "birthday") : 0;
        if (store_id) *store_id = store_col_opt_by(s, "store_id");
        if (guide_id) *guide_id = store_col_opt_by(s, "guide_id");
    }
    store_reset(s);
    f->has[PF_NAME] = f->name[0] != 0;
    f->has[PF_GENDER] = f->gender[0] != 0 && strcmp(f->gender, "unknown") != 0;
    f->has[PF_CITY] = f->city[0] != 0;
}

static void pfields_from_profile(const profile *p, pfields *f)
{
    memset(f, 0, sizeof *f);
    if (p->name) snprintf(f->name, sizeof f->name, "%s", p->name);
    if (p->gender >= 0) snprintf(f->gender, sizeof f->gender, "%s", genders[p->gender]);
    if (p->city) snprintf(f->city, sizeof f->city, "%s", p->city);
    f->has[PF_BIRTHDAY] = p->has_birthday;
    f->birthday = p->birthday;
    f->has[PF_NAME] = f->name[0] != 0;
    f->has[PF_GENDER] = f->gender[0] != 0 && strcmp(f->gender, "unknown") != 0;
    f->has[PF_CITY] = f->city[0] != 0;
}

static bool pfields_same(const pfields *a, const pfields *b, int k)
{
    switch (k) {
    case PF_NAME:
        return strcmp(a->name, b->name) == 0;
    case PF_GENDER:
        return strcmp(a->gender, b->gender) == 0;
    case PF_BIRTHDAY:
        return a->birthday == b->birthday;
    default:
        return strcmp(a->city, b->city) == 0;
    }
}

/* Fills member id's empty fields from `in`; appends the names of the fields filled to
 * `filled` and of those it already had (with another value) to `kept`. Writes the
 * member and notes it for the views only when something was filled. */
static int pfields_fill(dom *d, int64_t id, const pfields *in, json_t *filled, json_t *kept,
                        siyu_err *e)
{
    pfields cur;
    int64_t store_id = 0, guide_id = 0;
    pfields_load(d, id, &cur, &store_id, &guide_id);
    int n = 0;
    for (int k = 0; k < PF__N; k++) {
        if (!in->has[k]) continue;
        if (!cur.has[k]) {
            json_array_append_new(filled, json_string(pf_names[k]));
            n++;
        } else if (!pfields_same(&cur, in, k)) {
            json_array_append_new(kept, json_string(pf_names[k]));
        }
    }
    if (!n) return 0;
    const pfields *name = cur.has[PF_NAME] ? &cur : in, *gender = cur.has[PF_GENDER] ? &cur : in,
                  *bday = cur.has[PF_BIRTHDAY] ? &cur : in, *city = cur.has[PF_CITY] ? &cur : in;
    store_stmt *s = store_q(d->conn, Q_MEMBER_UPDATE);
    store_bind_text(s, 1, name->has[PF_NAME] ? name->name : NULL);
    store_bind_text(s, 2, gender->gender[0] ? gender->gender : NULL);
    if (bday->has[PF_BIRTHDAY]) store_bind_int(s, 3, bday->birthday);
    store_bind_text(s, 4, city->has[PF_CITY] ? city->city : NULL);
    if (store_id) store_bind_int(s, 5, store_id);
    if (guide_id) store_bind_int(s, 6, guide_id);
    store_bind_int(s, 7, d->now);
    store_bind_int(s, 8, id);
    if (store_exec(s, e)) return -1;
    dom_note(d, DOM_CHANGE_MEMBER, id, 0); /* the segment index re-reads the profile */
    return 0;
}

/* Who changed a profile, for the audit records. */
static void audit_who(const dom *d, json_t *details)
{
    json_object_set_new(details, "by_role", json_string(role_name(d->who.role)));
    if (d->who.staff_id) json_object_set_new(details, "by_staff_id", json_integer(d->who.staff_id));
}

int members_create_or_match(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {
        "phone",   "unionid",   "openid",   "app_id", "card_no",  "wecom_external_id",
        "name",    "gender",    "birthday", "city",   "store_id", "guide_id",
        "channel", "joined_at", NULL};
    identity ids[MAX_IDENTITIES];
    if (jx_only(body, allowed, NULL, e)) return -1;
    int n = read_identities(body, "", ids, e);
    if (n < 0) return -1;
    if (n == 0)
        return siyu_err_set(
            e, SIYU_INVALID_ARGUMENT, "phone",
            "phone: a member needs at least one of phone, unionid, openid, card_no, "
            "wecom_external_id");
    profile p = {.gender = -1};
    bool set[P__COUNT];
    int channel = 0;
    int64_t joined_at = d->now;
    if (read_profile(d, body, &p, set, e) ||
        jx_enum(body, "channel", false, dom_channels, &channel, e) < 0 ||
        jx_time(body, "joined_at", false, &joined_at, e) < 0)
        return -1;
    if (joined_at > d->now + 300)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "joined_at", "joined_at: is in the future");
    int64_t found = match_identities(d, ids, n, "", e);
    if (found < 0) return -1;
    if (found) {
        int64_t live = members_live_id(d, found, NULL, e);
        if (live < 0 || member_check(d, live, NULL, NULL, e)) return -1;
        if (add_missing(d, ids, n, live, e)) return -1;
        /* A member first made at the till from a phone alone gets the name, birthday and
         * gender given now: empty fields are filled, never overwritten. */
        pfields in;
        pfields_from_profile(&p, &in);
        json_t *filled = json_array(), *kept = json_array();
        if (pfields_fill(d, live, &in, filled, kept, e)) {
            json_decref(filled);
            json_decref(kept);
            return -1;
        }
        if (json_array_size(filled)) {
            json_t *details = json_pack("{s:O, s:O}", "filled", filled, "kept", kept);
            audit_who(d, details);
            char *text = json_dumps(details, JSON_COMPACT);
            json_decref(details);
            store_stmt *s = store_q(d->conn, Q_PROFILE_CHANGE_INSERT);
            store_bind_int(s, 1, live);
            store_bind_int(s, 2, d->now);
            store_bind_text(s, 3, "create_or_match");
            store_bind_text(s, 4, text);
            int rc = store_exec(s, e);
            free(text);
            if (rc) {
                json_decref(filled);
                json_decref(kept);
                return -1;
            }
        }
        if (out) {
            *out = member_render(d, live, true);
            json_object_set(*out, "filled", filled);
            json_object_set(*out, "kept", kept);
        }
        json_decref(filled);
        json_decref(kept);
        return 200;
    }
    if (scope_profile(d, &p, e)) return -1;
    int64_t id = member_insert(d, &p, dom_channels[channel], joined_at, ids, n, e);
    if (id < 0) return -1;
    if (out) *out = member_render(d, id, true);
    return 201;
}

int64_t members_resolve(dom *d, json_t *obj, const char *prefix, bool create,
                        const member_defaults *defs, siyu_err *e)
{
    bool found_brief;
    return members_resolve_brief(d, obj, prefix, create, defs, NULL, &found_brief, e);
}

struct member_idents {
    int n;
    identity ids[];
};

/* Checks obj's fields and reads its identities into ids; returns their count or -1. */
static int idents_of(json_t *obj, const char *prefix, const char *f, identity *ids, siyu_err *e)
{
    if (!json_is_object(obj))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: expected an object of identities", f);
    static const char *const allowed[] = {"phone",   "unionid",           "openid", "app_id",
                                          "card_no", "wecom_external_id", "name",   NULL};
    if (jx_only(obj, allowed, prefix, e)) return -1;
    int n = read_identities(obj, prefix, ids, e);
    if (n == 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                            "%s: needs one of phone, unionid, openid, card_no, wecom_external_id",
                            f);
    return n;
}

static void field_of(const char *prefix, char *f, size_t len)
{
    snprintf(f, len, "%.*s", (int)strlen(prefix) - 1, prefix); /* "member." -> "member" */
}

member_idents *members_idents_read(json_t *obj, const char *prefix, siyu_err *e)
{
    char f[64];
    field_of(prefix, f, sizeof f);
    identity ids[MAX_IDENTITIES];
    int n = idents_of(obj, prefix, f, ids, e);
    if (n < 0) return NULL;
    member_idents *m = malloc(sizeof *m + (size_t)n * sizeof *ids);
    if (!m) {
        siyu_err_set(e, SIYU_INTERNAL, f, "%s: out of memory", f);
        return NULL;
    }
    m->n = n;
    memcpy(m->ids, ids, (size_t)n * sizeof *ids);
    return m;
}

void members_idents_free(member_idents *m)
{
    free(m);
}

/* members_resolve_brief once the identities are read: obj only for a new member's name. */
static int64_t resolve_ids(dom *d, identity *ids, int n, json_t *obj, const char *prefix,
                           const char *f, bool create, const member_defaults *defs,
                           dom_member_brief *b, bool *found_brief, siyu_err *e)
{
    *found_brief = false;
    /* a bulk import names a member by one card, order after order (domain/memo.h) */
    bool memo = b && d->memo && n == 1;
    const dom_memo_member *known =
        memo ? dom_memo_member_get(d->memo, ids[0].kind, ids[0].app_id, ids[0].value) : NULL;
    if (known) {
        *b = (dom_member_brief){known->guide_id, known->has_birthday, known->birthday};
        *found_brief = true;
        return known->id;
    }
    int64_t found = match_identities(d, ids, n, prefix, e);
    if (found < 0) return -1;
    if (found) {
        int64_t live = members_live_brief(d, found, f, b, e);
        /* with one identity there is nothing missing: it is the one that matched */
        if (live > 0 && n > 1 && add_missing(d, ids, n, live, e)) return -1;
        *found_brief = live > 0 && b;
        if (memo && live > 0)
            dom_memo_member_add(
                d->memo, ids[0].kind, ids[0].app_id, ids[0].value,
                &(dom_memo_member){live, b->guide_id, b->has_birthday, b->birthday});
        return live;
    }
    if (!create) return siyu_err_set(e, SIYU_NOT_FOUND, f, "%s: no member has these identities", f);
    profile p = {
        .gender = -1, .store_id = defs ? defs->store_id : 0, .guide_id = defs ? defs->guide_id : 0};
    jx_str(obj, "name", false, &p.name, NULL);
    return member_insert(d, &p, defs && defs->channel ? defs->channel : "store",
                         defs && defs->joined_at ? defs->joined_at : d->now, ids, n, e);
}

int64_t members_resolve_brief(dom *d, json_t *obj, const char *prefix, bool create,
                              const member_defaults *defs, dom_member_brief *b, bool *found_brief,
                              siyu_err *e)
{
    char f[64];
    field_of(prefix, f, sizeof f);
    identity ids[MAX_IDENTITIES];
    int n = idents_of(obj, prefix, f, ids, e);
    if (n < 0) {
        *found_brief = false;
        return -1;
    }
    return resolve_ids(d, ids, n, obj, prefix, f, create, defs, b, found_brief, e);
}

int64_t members_resolve_idents(dom *d, member_idents *m, json_t *obj, const char *prefix,
                               bool create, const member_defaults *defs, dom_member_brief *b,
                               bool *found_brief, siyu_err *e)
{
    char f[64];
    field_of(prefix, f, sizeof f);
    return resolve_ids(d, m->ids, m->n, obj, prefix, f, create, defs, b, found_brief, e);
}

int members_lookup(dom *d, const char *kind, const char *value, const char *app_id, json_t **out,
                   siyu_err *e)
{
    identity id = {.kind = kind, .app_id = app_id && strcmp(kind, "openid") == 0 ? app_id : ""};
    if (strcmp(kind, "phone") == 0) {
        if (phone_normalise(value, id.value, sizeof id.value))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "phone",
                                "phone: not a valid phone number");
    } else {
        snprintf(id.value, sizeof id.value, "%s", value);
    }
    int64_t owner = identity_owner(d, &id);
    if (!owner) return siyu_err_set(e, SIYU_NOT_FOUND, kind, "no member with %s %s", kind, value);
    owner = members_live_id(d, owner, kind, e);
    if (owner < 0) return -1;
    if (d->who.role == ROLE_CASHIER) {
        /* a till finds the shopper (profile, masked identities) and reads their benefits
         * apart; never the 360 it may not read by id */
        if (member_check(d, owner, NULL, NULL, e)) return -1;
        if (out) *out = member_render(d, owner, false);
        return 200;
    }
    return members_get(d, owner, out, e);
}

int members_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e)
{
    /* Collect the ids first: rendering reuses MEMBER_GET, which the list statement is. */
    int64_t ids[1000];
    int n = 0;
    store_stmt *s = store_q(d->conn, Q_MEMBER_LIST);
    store_bind_int(s, 1, cursor);
    store_bind_int(s, 2, limit);
    if (d->who.role == ROLE_STORE_MANAGER) store_bind_int(s, 3, d->who.store_id);
    if (d->who.role == ROLE_GUIDE) store_bind_int(s, 4, d->who.staff_id);
    while (n < limit && n < 1000 && store_step(s) == STORE_ROW)
        ids[n++] = store_col_int(s, 0);
    store_reset(s);
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, member_render(d, ids[i], false));
    *out = dom_list(items, limit, n ? ids[n - 1] : 0);
    return 200;
}

int members_search_name(dom *d, const char *text, int64_t cursor, int limit, json_t **out,
                        siyu_err *e)
{
    if (d->who.role == ROLE_CASHIER)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, "name",
                            "name: a till looks members up by phone or card");
    size_t len = strlen(text);
    if (len < 1 || len > 64)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: 1 to 64 bytes");
    int64_t ids[1000];
    int n = 0;
    store_stmt *s = store_q(d->conn, Q_MEMBER_SEARCH_NAME);
    store_bind_text(s, 1, text);
    store_bind_int(s, 2, cursor);
    store_bind_int(s, 3, limit);
    if (d->who.role == ROLE_STORE_MANAGER) store_bind_int(s, 4, d->who.store_id);
    if (d->who.role == ROLE_GUIDE) store_bind_int(s, 5, d->who.staff_id);
    while (n < limit && n < 1000 && store_step(s) == STORE_ROW)
        ids[n++] = store_col_int(s, 0);
    store_reset(s);
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, member_render(d, ids[i], false));
    *out = dom_list(items, limit, n ? ids[n - 1] : 0);
    return 200;
}

int members_patch(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"name",     "gender",   "birthday", "city",
                                          "store_id", "guide_id", NULL};
    if (jx_only(body, allowed, NULL, e)) return -1;
    if (member_check(d, id, NULL, NULL, e)) return -1;
    profile p = {.gender = -1};
    bool set[P__COUNT];
    if (read_profile(d, body, &p, set, e)) return -1;
    if ((set[P_NAME] || set[P_GENDER] || set[P_BIRTHDAY] || set[P_CITY]) &&
        members_erased(d, id, NULL)) {
        const char *f = set[P_NAME]       ? "name"
                        : set[P_GENDER]   ? "gender"
                        : set[P_BIRTHDAY] ? "birthday"
                                          : "city";
        return siyu_err_set(e, SIYU_CONFLICT, f,
                            "%s: member %lld was erased; it keeps no personal data", f,
                            (long long)id);
    }
    if (d->who.role == ROLE_GUIDE && ((set[P_STORE] && p.store_id != d->who.store_id) ||
                                      (set[P_GUIDE] && p.guide_id != d->who.staff_id)))
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, set[P_STORE] ? "store_id" : "guide_id",
                            "%s: a guide cannot move members",
                            set[P_STORE] ? "store_id" : "guide_id");
    if (d->who.role == ROLE_STORE_MANAGER && set[P_STORE] && p.store_id != d->who.store_id)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, "store_id",
                            "store_id: a store manager cannot move members out of their store");
    /* Start from the stored profile and overwrite what the body names. */
    store_stmt *s = store_q(d->conn, Q_MEMBER_GET);
    store_bind_int(s, 1, id);
    store_step(s);
    char name[256] = "", gender[16] = "", city[256] = "";
    bool has_name = !store_col_null_by(s, "name"), has_gender = !store_col_null_by(s, "gender"),
         has_city = !store_col_null_by(s, "city"), has_bday = !store_col_null_by(s, "birthday");
    if (has_name) snprintf(name, sizeof name, "%s", store_col_text_by(s, "name"));
    if (has_gender) snprintf(gender, sizeof gender, "%s", store_col_text_by(s, "gender"));
    if (has_city) snprintf(city, sizeof city, "%s", store_col_text_by(s, "city"));
    int64_t bday = has_bday ? store_col_int_by(s, "birthday") : 0;
    int64_t store_id = store_col_opt_by(s, "store_id");
    int64_t guide_id = store_col_opt_by(s, "guide_id");
    store_reset(s);
    if (set[P_GUIDE] && p.guide_id && !set[P_STORE])
        store_id = p.store_id; /* moving to a guide moves to their store */
    s = store_q(d->conn, Q_MEMBER_UPDATE);
    store_bind_text(s, 1, set[P_NAME] ? p.name : (has_name ? name : NULL));
    store_bind_text(s, 2,
                    set[P_GENDER] ? (p.gender >= 0 ? genders[p.gender] : NULL)
                                  : (has_gender ? gender : NULL));
    if (set[P_BIRTHDAY] ? p.has_birthday : has_bday)
        store_bind_int(s, 3, set[P_BIRTHDAY] ? p.birthday : bday);
    store_bind_text(s, 4, set[P_CITY] ? p.city : (has_city ? city : NULL));
    int64_t new_store = set[P_STORE] ? p.store_id : store_id;
    int64_t new_guide = set[P_GUIDE] ? p.guide_id : guide_id;
    if (new_store) store_bind_int(s, 5, new_store);
    if (new_guide) store_bind_int(s, 6, new_guide);
    store_bind_int(s, 7, d->now);
    store_bind_int(s, 8, id);
    if (store_exec(s, e)) return -1;
    dom_note(d, DOM_CHANGE_MEMBER, id, 0);
    if (out) *out = member_render(d, id, true);
    return 200;
}

int members_merge(dom *d, int64_t into, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"from_member_id", NULL};
    int64_t from;
    if (jx_only(body, allowed, NULL, e) || jx_int(body, "from_member_id", true, &from, e) < 0)
        return -1;
    if (from == into)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "from_member_id",
                            "from_member_id: a member cannot be merged into itself");
    if (member_check(d, into, NULL, NULL, e)) return -1;
    if (members_erased(d, into, NULL) || members_erased(d, from, NULL)) {
        bool f = !members_erased(d, into, NULL);
        return siyu_err_set(e, SIYU_CONFLICT, f ? "from_member_id" : NULL,
                            "member %lld was erased: an erased member is never merged",
                            (long long)(f ? from : into));
    }
    siyu_err sub;
    siyu_err_init(&sub);
    if (member_check(d, from, NULL, NULL, &sub)) {
        /* A replayed merge finds `from` already merged into `into`: answer as before. */
        json_t *mi = sub.details ? json_object_get(sub.details, "merged_into") : NULL;
        if (mi && json_integer_value(mi) == into) {
            siyu_err_clear(&sub);
            if (out) *out = member_render(d, into, true);
            return 200;
        }
        *e = sub;
        e->field[0] = 0;
        snprintf(e->field, sizeof e->field, "from_member_id");
        return -1;
    }
    /* Count what moves, for the audit record. */
    json_t *from_view = member_render(d, from, true);
    json_t *stats = json_object_get(from_view, "stats");
    json_t *details = json_pack(
        "{s:O, s:O, s:O}", "identities", json_object_get(from_view, "identities"), "orders",
        json_object_get(stats, "orders"), "spend_cents", json_object_get(stats, "spend_cents"));
    audit_who(d, details);
    json_decref(from_view);
    /* the merged-away member's profile fills what the kept member lacks */
    pfields from_fields;
    pfields_load(d, from, &from_fields, NULL, NULL);
    json_t *filled = json_array(), *kept = json_array();
    json_object_set_new(details, "filled", filled);
    json_object_set_new(details, "kept", kept);
    if (pfields_fill(d, into, &from_fields, filled, kept, e)) {
        json_decref(details);
        return -1;
    }
    static const store_query moves[] = {Q_IDENTITY_MOVE, Q_ORDERS_MOVE,         Q_EVENTS_MOVE,
                                        Q_REACH_MOVE,    Q_TAG_MEMBERS_MOVE,    Q_CONSENT_MOVE,
                                        Q_CONTACTS_MOVE, Q_CONSENT_HISTORY_MOVE};
    for (size_t i = 0; i < sizeof moves / sizeof *moves; i++) {
        store_stmt *s = store_q(d->conn, moves[i]);
        store_bind_int(s, 1, into);
        store_bind_int(s, 2, from);
        if (store_exec(s, e)) {
            json_decref(details);
            return -1;
        }
    }
    /* the contact edges moved: WeCom reachability follows the live ones */
    store_stmt *s = store_q(d->conn, Q_REACH_WECOM_EDGES);
    store_bind_int(s, 1, into);
    if (store_exec(s, e)) {
        json_decref(details);
        return -1;
    }
    s = store_q(d->conn, Q_REACH_DELETE);
    store_bind_int(s, 1, from);
    if (store_exec(s, e)) {
        json_decref(details);
        return -1;
    }
    s = store_q(d->conn, Q_CONSENT_DELETE); /* the one consent model moved with the reach */
    store_bind_int(s, 1, from);
    if (store_exec(s, e)) {
        json_decref(details);
        return -1;
    }
    /* The merged-away member's journeys go on as the survivor's (a wait for its next
     * order is met by the survivor's); where both are in the same journey, the survivor's
     * run is kept and the other ends. Messages and guide tasks keep their history. */
    s = store_q(d->conn, Q_RUNS_MERGE_EXIT);
    store_bind_int(s, 1, into);
    store_bind_int(s, 2, from);
    store_bind_int(s, 3, d->now);
    if (store_exec(s, e)) {
        json_decref(details);
        return -1;
    }
    /* journeys' runs and messages, guide tasks, a task campaign's holdout rows (those the
     * survivor lacks) and content uses and views follow the surviving member */
    static const store_query follow[] = {Q_RUNS_MOVE, Q_MESSAGES_MOVE, Q_TASKS_MOVE, Q_HOLDOUT_MOVE,
                                         Q_CONTENT_EVENTS_MOVE};
    for (size_t i = 0; i < sizeof follow / sizeof *follow; i++) {
        s = store_q(d->conn, follow[i]);
        store_bind_int(s, 1, into);
        store_bind_int(s, 2, from);
        if (store_exec(s, e)) {
            json_decref(details);
            return -1;
        }
    }
    const dom_loyalty_hooks *loy = dom_loyalty();
    if (loy && loy->members_merged(d, into, from, e)) {
        json_decref(details);
        return -1;
    }
    s = store_q(d->conn, Q_MEMBER_SET_MERGED);
    store_bind_int(s, 1, into);
    store_bind_int(s, 2, d->now);
    store_bind_int(s, 3, from);
    if (store_exec(s, e)) {
        json_decref(details);
        return -1;
    }
    char *text = json_dumps(details, JSON_COMPACT);
    s = store_q(d->conn, Q_MERGE_INSERT);
    store_bind_int(s, 1, into);
    store_bind_int(s, 2, from);
    store_bind_int(s, 3, d->now);
    store_bind_text(s, 4, text);
    int rc = store_exec(s, e);
    free(text);
    if (rc) {
        json_decref(details);
        return -1;
    }
    dom_note(d, DOM_CHANGE_MERGE, into, from);
    if (out) {
        *out = member_render(d, into, true);
        json_object_set(*out, "filled", json_object_get(details, "filled"));
        json_object_set(*out, "kept", json_object_get(details, "kept"));
    }
    json_decref(details);
    return 200;
}
