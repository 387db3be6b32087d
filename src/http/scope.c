/* scope.c — the route table's scope rules, applied once per request.
 *
 * Every route names what its path points at (route.scope) and which body or query
 * fields name other objects (route.scope_body). run() in server.c calls scope_apply
 * after the role check, inside the request's transaction (the write's own savepoint
 * for writes), before any handler: an object outside the caller's scope is a 403
 * whatever route reaches it, and handlers never decide it themselves. The rule for
 * each kind of object lives in the domain (src/domain/scope.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/phone.h"
#include "http/router.h"

static const char *const scope_names[SCOPE__COUNT] = {
    [SCOPE_UNSET] = NULL,      [SCOPE_PUBLIC] = "public", [SCOPE_CHAIN] = "chain",
    [SCOPE_MEMBER] = "member", [SCOPE_ORDER] = "order",   [SCOPE_STAFF] = "staff",
    [SCOPE_STORE] = "store",   [SCOPE_TASK] = "task",     [SCOPE_COUPON] = "coupon",
    [SCOPE_TOKEN] = "token",
};

const char *route_scope_name(route_scope s)
{
    return s > SCOPE_UNSET && s < SCOPE__COUNT ? scope_names[s] : "unset";
}

static bool hq(const dom *d)
{
    return d->who.role == ROLE_ADMIN || d->who.role == ROLE_OPERATOR;
}

/* in: a scope_* answer (1, 0, -1); a 0 becomes a 403 naming the field. */
static int verdict(int in, const char *field, const char *what, int64_t id, siyu_err *e)
{
    if (in < 0) return -1;
    if (in) return 0;
    siyu_err_clear(e);
    if (field)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, field, "%s: %s %lld is outside your scope",
                            field, what, (long long)id);
    return siyu_err_set(e, SIYU_PERMISSION_DENIED, NULL, "%s %lld is outside your scope", what,
                        (long long)id);
}

/* A referenced object that does not exist is left to the handler (a 404 or a 400
 * naming the field, as the domain words it); only one that exists can be out of scope. */
static int referenced(int in, siyu_err *e)
{
    if (in < 0 && e->code == SIYU_NOT_FOUND) {
        siyu_err_clear(e);
        siyu_err_init(e);
        return 1;
    }
    return in;
}

static int check_member_ref(dom *d, int64_t id, const char *field, siyu_err *e)
{
    if (id <= 0) return 0;
    return verdict(referenced(scope_member(d, id, e), e), field, "member", id, e);
}

static int check_int_field(dom *d, json_t *obj, const char *key,
                           int (*rule)(dom *, int64_t, siyu_err *), const char *what, siyu_err *e)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return 0; /* absent or malformed: the handler names the field */
    int64_t id = json_integer_value(v);
    return verdict(referenced(rule(d, id, e), e), key, what, id, e);
}

static int check_query_int(http_req *r, const char *key, int (*rule)(dom *, int64_t, siyu_err *),
                           const char *what, siyu_err *e)
{
    const char *v = req_query(r, key);
    if (!v) return 0;
    char *end;
    long long id = strtoll(v, &end, 10);
    if (!*v || *end || id <= 0) return 0;
    return verdict(referenced(rule(&r->d, id, e), e), key, what, id, e);
}

static const char *const ident_kinds[] = {"phone", "unionid", "openid", "card_no",
                                          "wecom_external_id"};

/* The members that obj's identities already name: a member they name must be in
 * scope. A cashier serves any member, but adds no identity to another store's member.
 * Two members named while one is out of scope is a 409 that names neither. */
static int check_identities(dom *d, json_t *obj, const char *prefix, const char *outer,
                            bool as_missing, siyu_err *e)
{
    if (!json_is_object(obj)) return 0;
    const char *app_id = json_string_value(json_object_get(obj, "app_id"));
    int64_t owners[8];
    int n_owners = 0, unknown = 0;
    for (size_t k = 0; k < sizeof ident_kinds / sizeof *ident_kinds; k++) {
        const char *v = json_string_value(json_object_get(obj, ident_kinds[k]));
        if (!v || !*v) continue;
        int64_t owner = scope_identity_owner(d, ident_kinds[k], app_id, v);
        if (!owner) {
            unknown++;
            continue;
        }
        bool seen = false;
        for (int i = 0; i < n_owners; i++)
            seen |= owners[i] == owner;
        if (!seen && n_owners < (int)(sizeof owners / sizeof *owners)) owners[n_owners++] = owner;
    }
    bool out = false;
    for (int i = 0; i < n_owners; i++) {
        int in = scope_member(d, owners[i], e);
        if (in < 0) return -1;
        if (in && d->who.role == ROLE_CASHIER && unknown) {
            int64_t home = 0;
            scope_member_home(d, owners[i], &home);
            in = home == d->who.store_id;
        }
        out |= !in;
    }
    if (!out) return 0;
    char f[64];
    snprintf(f, sizeof f, "%s", *prefix ? prefix : "phone");
    if (as_missing) {
        /* word for word what the domain answers for identities nobody has */
        char full[96];
        snprintf(full, sizeof full, "%s%s%s", outer, *outer ? "." : "", f);
        if (*outer)
            return siyu_err_set(e, SIYU_NOT_FOUND, full, "%s: %s: no member has these identities",
                                outer, f);
        return siyu_err_set(e, SIYU_NOT_FOUND, full, "%s: no member has these identities", f);
    }
    if (n_owners > 1)
        return siyu_err_set(e, SIYU_CONFLICT, f, "%s: these identities belong to different members",
                            f);
    return siyu_err_set(e, SIYU_PERMISSION_DENIED, f,
                        "%s: these identities belong to a member outside your scope", f);
}

/* The body rules for one object (the body itself, or one of its events, named by
 * outer: "events[3]"). */
static int check_body(http_req *r, json_t *obj, unsigned rules, const char *outer, siyu_err *e)
{
    dom *d = &r->d;
    if (!json_is_object(obj)) return 0;
    if ((rules & SB_STORE) && check_int_field(d, obj, "store_id", scope_store, "store", e))
        return -1;
    if ((rules & SB_GUIDE) && check_int_field(d, obj, "guide_id", scope_staff, "staff", e))
        return -1;
    if (rules & SB_MEMBER) {
        static const char *const keys[] = {"member_id", "from_member_id"};
        for (size_t k = 0; k < 2; k++)
            if (check_int_field(d, obj, keys[k], scope_member, "member", e)) return -1;
        json_t *list = json_object_get(obj, "member_ids");
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
            char f[40];
            snprintf(f, sizeof f, "member_ids[%zu]", i);
            if (json_is_integer(v) && check_member_ref(d, json_integer_value(v), f, e)) return -1;
        }
    }
    if (rules & SB_IDENTITY) {
        json_t *m = json_object_get(obj, "member");
        bool find = (rules & SB_FIND) != 0;
        if (m ? check_identities(d, m, "member", outer, find, e)
              : check_identities(d, obj, "", outer, find, e))
            return -1;
    }
    return 0;
}

/* GET /members?phone=…: for a caller who may not see every member, a member out of
 * scope answers exactly as a missing one (404), so a phone tells nothing. */
static int check_lookup(http_req *r, siyu_err *e)
{
    dom *d = &r->d;
    for (size_t k = 0; k < sizeof ident_kinds / sizeof *ident_kinds; k++) {
        const char *v = req_query(r, ident_kinds[k]);
        if (!v) continue;
        if (hq(d) || d->who.role == ROLE_CASHIER) return 0;
        char norm[64];
        if (k == 0 && phone_normalise(v, norm, sizeof norm))
            return 0; /* the handler refuses the phone itself (400) */
        int64_t owner = scope_identity_owner(d, ident_kinds[k], req_query(r, "app_id"), v);
        int in = owner ? scope_member(d, owner, e) : 0;
        if (in < 0) return -1;
        if (!in)
            return siyu_err_set(e, SIYU_NOT_FOUND, ident_kinds[k], "no member with %s %s",
                                ident_kinds[k], v);
        return 0;
    }
    if (d->who.role == ROLE_CASHIER)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, NULL,
                            "a till looks members up by phone, unionid, openid or card_no");
    return 0;
}

int scope_apply(http_req *r, const route *rt, siyu_err *e)
{
    dom *d = &r->d;
    int in = 1;
    switch (rt->scope) {
    case SCOPE_UNSET:
        /* a route without a rule is refused to everyone but admins: the table is wrong */
        if (d->who.role != ROLE_ADMIN)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, NULL, "%s %s has no scope rule",
                                rt->method, rt->pattern);
        return 0;
    case SCOPE_PUBLIC:
    case SCOPE_CHAIN:
    case SCOPE_TOKEN:
        break;
    case SCOPE_MEMBER:
        in = scope_member(d, r->id, e);
        break;
    case SCOPE_ORDER:
        in = scope_order(d, r->id, e);
        break;
    case SCOPE_STAFF:
        in = scope_staff(d, r->id, e);
        break;
    case SCOPE_STORE:
        in = scope_store(d, r->id, e);
        break;
    case SCOPE_TASK:
        in = scope_task(d, r->id, e);
        break;
    case SCOPE_COUPON:
        if (!r->word) break;
        in = scope_coupon(d, r->word, e);
        if (in == 0)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, NULL, "coupon %s is outside your scope",
                                r->word);
        break;
    case SCOPE__COUNT:
        break;
    }
    if (verdict(in, NULL, route_scope_name(rt->scope), r->id, e)) return -1;
    if (hq(d)) return 0; /* the whole chain is theirs */
    unsigned b = rt->scope_body;
    if (b & SB_LOOKUP && check_lookup(r, e)) return -1;
    /* the query names objects too (lists narrowed by member, store or guide) */
    if ((b & SB_MEMBER) && check_query_int(r, "member_id", scope_member, "member", e)) return -1;
    /* the reports name them store= and guide= */
    if ((b & SB_STORE) && (check_query_int(r, "store_id", scope_store, "store", e) ||
                           check_query_int(r, "store", scope_store, "store", e)))
        return -1;
    if ((b & SB_GUIDE) && (check_query_int(r, "guide_id", scope_staff, "staff", e) ||
                           check_query_int(r, "guide", scope_staff, "staff", e)))
        return -1;
    if (check_body(r, r->body, b, "", e)) return -1;
    if (b & SB_EACH_EVENT) {
        size_t i;
        json_t *ev;
        json_array_foreach(json_object_get(r->body, "events"), i, ev)
        {
            char outer[32];
            snprintf(outer, sizeof outer, "events[%zu]", i);
            if (check_body(r, ev, b, outer, e)) return -1;
        }
    }
    return 0;
}
