/* test_authz.c — the authorization matrix, generated from the route table.
 *
 * For every route of routes[] (not a hand list), every caller — admin, operator, a
 * store manager, a guide, a till's cashier, no token, a bad token, a revoked token and
 * an expired token — and an object in the caller's scope and one outside it, the
 * server must answer as the route's rule says: 401 without a valid token, 403 for a
 * role the route does not admit, 403 for an object out of scope (404 for a member
 * looked up by identity, exactly as a missing one), and for an object in scope
 * anything but 401/403; never a 5xx, and no 2xx answer to a store's caller carries an
 * object of another store. A route without a scope rule fails the test.
 *
 * The chain: stores A and B, each with a store manager, a guide, a member, an order,
 * a coupon and a guide task. The callers of the matrix belong to store A; everything
 * of store B is named "OutOfScope…" so a leak shows in any answer.
 * Run: test_authz PATH_TO_SIYU */
#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth/auth.h"
#include "harness.h"
#include "http/router.h"

static char buf[1 << 20];
static int fd;
static int requests_made;

static int callv(const char *tok, const char *method, const char *path, json_t **out,
                 const char *fmt, va_list ap)
{
    char body[4096];
    if (fmt) vsnprintf(body, sizeof body, fmt, ap);
    requests_made++;
    int st = request_as(fd, tok, method, path, fmt ? body : NULL, buf, sizeof buf);
    if (st < 0) { /* the server closed the connection: reconnect once */
        close(fd);
        fd = conn_open();
        st = request_as(fd, tok, method, path, fmt ? body : NULL, buf, sizeof buf);
    }
    if (out) *out = json_loads(buf, JSON_DECODE_ANY, NULL);
    return st;
}

static int call(const char *tok, const char *method, const char *path, json_t **out,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int st = callv(tok, method, path, out, fmt, ap);
    va_end(ap);
    return st;
}

/* A setup call that must succeed; answers the id (or 0). */
static int64_t make(const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *o;
    int st = callv(token, "POST", path, &o, fmt, ap);
    va_end(ap);
    if (st != 200 && st != 201) {
        fprintf(stderr, "setup POST %s: %d %s\n", path, st, buf);
        exit(1);
    }
    int64_t id = json_integer_value(json_object_get(o, "id"));
    json_decref(o);
    return id;
}

static void make_token(const char *body, char *out)
{
    json_t *o;
    int st = call(token, "POST", "/api/v1/tokens", &o, "%s", body);
    if (st != 201) {
        fprintf(stderr, "setup token %s: %d %s\n", body, st, buf);
        exit(1);
    }
    snprintf(out, 80, "%s", json_string_value(json_object_get(o, "token")));
    json_decref(o);
}

static void sql(const char *q)
{
    if (db_exec(q) < 0) { /* on either store (harness.h) */
        fprintf(stderr, "sql %s: failed\n", q);
        exit(1);
    }
}

/* ---------------- the chain ---------------- */

enum { SIDE_A, SIDE_B };
static struct side {
    int64_t store, mgr, guide, member, order, task;
    char phone[16], coupon[40];
} side[2];
static int64_t op_staff, spare_token;

static void build_chain(void)
{
    static const char *const tag[2] = {"A", "OutOfScope"};
    static const char *const phone[2] = {"13800000001", "13900000002"};
    int64_t tpl = make("/api/v1/coupon-templates",
                       "{\"name\":\"t\",\"kind\":\"cash_off\",\"value_cents\":500,"
                       "\"min_spend_cents\":1000,\"valid_days\":365,\"stock\":100}");
    for (int s = 0; s < 2; s++) {
        struct side *x = &side[s];
        x->store =
            make("/api/v1/stores", "{\"name\":\"%sStore\",\"code\":\"%s-S\",\"kind\":\"physical\"}",
                 tag[s], tag[s]);
        x->mgr = make("/api/v1/staff",
                      "{\"name\":\"%sManager\",\"role\":\"store_manager\",\"store_id\":%lld}",
                      tag[s], (long long)x->store);
        x->guide =
            make("/api/v1/staff", "{\"name\":\"%sGuide\",\"role\":\"guide\",\"store_id\":%lld}",
                 tag[s], (long long)x->store);
        snprintf(x->phone, sizeof x->phone, "%s", phone[s]);
        x->member =
            make("/api/v1/members",
                 "{\"phone\":\"%s\",\"name\":\"%sMember\",\"store_id\":%lld,\"guide_id\":%lld}",
                 x->phone, tag[s], (long long)x->store, (long long)x->guide);
        x->order =
            make("/api/v1/orders",
                 "{\"channel\":\"store\",\"external_id\":\"%s-ORDER\",\"store_id\":%lld,"
                 "\"member_id\":%lld,\"guide_id\":%lld,\"placed_at\":\"2026-11-01T10:00:00+08:00\","
                 "\"total_cents\":2000,\"items\":[{\"sku\":\"%sSku\",\"qty\":1,"
                 "\"unit_price_cents\":2000}]}",
                 tag[s], (long long)x->store, (long long)x->member, (long long)x->guide, tag[s]);
        json_t *o;
        int st =
            call(token, "POST", "/api/v1/coupons", &o, "{\"template_id\":%lld,\"member_id\":%lld}",
                 (long long)tpl, (long long)x->member);
        if (st != 201) {
            fprintf(stderr, "setup coupon: %d %s\n", st, buf);
            exit(1);
        }
        snprintf(x->coupon, sizeof x->coupon, "%s", json_string_value(json_object_get(o, "code")));
        json_decref(o);
        char q[512];
        snprintf(
            q, sizeof q,
            "INSERT INTO guide_tasks(guide_id, member_id, kind, script, channel, due_at, state,"
            " created_at) VALUES (%lld, %lld, 'call', '%sTask', 'wecom', 0, 'open', 0)",
            (long long)x->guide, (long long)x->member, tag[s]);
        sql(q);
        x->task = (int64_t)s + 1;
    }
    op_staff = make("/api/v1/staff", "{\"name\":\"HQ\",\"role\":\"operator\"}");
}

/* ---------------- the callers ---------------- */

enum { C_ADMIN, C_OPERATOR, C_MGR, C_GUIDE, C_CASHIER, C_NONE, C_BAD, C_REVOKED, C_EXPIRED, C__N };
static const char *const caller_name[C__N] = {"admin",     "operator",      "store_manager",
                                              "guide",     "cashier",       "no token",
                                              "bad token", "revoked token", "expired token"};
static const unsigned caller_role[C__N] = {
    ROLE_ADMIN, ROLE_OPERATOR, ROLE_STORE_MANAGER, ROLE_GUIDE, ROLE_CASHIER, 0, 0, 0, 0};
static char tok[C__N][80];

static void make_callers(void)
{
    char b[160];
    snprintf(tok[C_ADMIN], 80, "%s", token);
    snprintf(b, sizeof b, "{\"role\":\"operator\",\"staff_id\":%lld}", (long long)op_staff);
    make_token(b, tok[C_OPERATOR]);
    snprintf(b, sizeof b, "{\"role\":\"store_manager\",\"staff_id\":%lld}", (long long)side[0].mgr);
    make_token(b, tok[C_MGR]);
    snprintf(b, sizeof b, "{\"role\":\"guide\",\"staff_id\":%lld}", (long long)side[0].guide);
    make_token(b, tok[C_GUIDE]);
    snprintf(b, sizeof b, "{\"role\":\"cashier\",\"store_id\":%lld}", (long long)side[0].store);
    make_token(b, tok[C_CASHIER]);
    snprintf(tok[C_NONE], 80, "%s", "");
    snprintf(tok[C_BAD], 80, "sy_%064d", 0);
    /* a revoked admin token, and an admin token whose expiry has passed */
    make_token("{\"role\":\"admin\",\"name\":\"revoked\"}", tok[C_REVOKED]);
    json_t *list;
    call(token, "GET", "/api/v1/tokens?limit=1000", &list, NULL);
    size_t i;
    json_t *t;
    int64_t revoked = 0;
    json_array_foreach(json_object_get(list, "items"), i, t)
    {
        if (json_is_string(json_object_get(t, "name")) &&
            strcmp(json_string_value(json_object_get(t, "name")), "revoked") == 0)
            revoked = json_integer_value(json_object_get(t, "id"));
    }
    json_decref(list);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/tokens/%lld", (long long)revoked);
    CHECK_INT_EQ(call(token, "DELETE", path, NULL, NULL), 200);
    make_token(
        "{\"role\":\"admin\",\"name\":\"expired\",\"expires_at\":\"2099-01-01T00:00:00+08:00\"}",
        tok[C_EXPIRED]);
    sql("UPDATE tokens SET expires_at = 1000 WHERE name = 'expired'");
    /* the object of the token routes: a token nobody uses */
    json_t *o;
    call(token, "POST", "/api/v1/tokens", &o, "{\"role\":\"operator\",\"name\":\"spare\"}");
    spare_token = json_integer_value(json_object_get(o, "id"));
    json_decref(o);
}

/* Is side B's object of this kind outside the caller's scope? A till serves every
 * member of the chain (away-from-home shoppers), so members are in its scope. */
static bool b_is_out(int c, const char *kind)
{
    if (c == C_ADMIN || c == C_OPERATOR) return false;
    if (c == C_CASHIER && (strcmp(kind, "member") == 0 || strcmp(kind, "coupon") == 0 ||
                           strcmp(kind, "identity") == 0 || strcmp(kind, "lookup") == 0))
        return false;
    return true;
}

/* ---------------- requests from the table ---------------- */

/* The path of a route with its parameter naming side s's object of the route's kind. */
static void fill_path(const route *rt, int s, char *out, size_t cap)
{
    const struct side *x = &side[s];
    char val[64] = "1";
    switch (rt->scope) {
    case SCOPE_MEMBER:
        snprintf(val, sizeof val, "%lld", (long long)x->member);
        break;
    case SCOPE_ORDER:
        snprintf(val, sizeof val, "%lld", (long long)x->order);
        break;
    case SCOPE_STAFF:
        snprintf(val, sizeof val, "%lld", (long long)x->guide);
        break;
    case SCOPE_STORE:
        snprintf(val, sizeof val, "%lld", (long long)x->store);
        break;
    case SCOPE_TASK:
        snprintf(val, sizeof val, "%lld", (long long)x->task);
        break;
    case SCOPE_COUPON:
        snprintf(val, sizeof val, "%s", x->coupon);
        break;
    case SCOPE_TOKEN:
        snprintf(val, sizeof val, "%lld", (long long)spare_token);
        break;
    default:
        break;
    }
    size_t n = 0;
    for (const char *p = rt->pattern; *p && n + 1 < cap;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *v = val;
            if (strncmp(p, "{kind}", 6) == 0)
                v = "members";
            else if (strncmp(p, "{name}", 6) == 0)
                v = "sms";
            n += (size_t)snprintf(out + n, cap - n, "%s", v);
            p = close + 1;
            continue;
        }
        out[n++] = *p++;
    }
    out[n < cap ? n : cap - 1] = 0;
}

/* One request: which side each named object comes from (the path's, and each body or
 * query rule's), so a request can have exactly one object out of scope. */
typedef struct probe {
    int path, store, guide, member, from, list, identity, nested, event, lookup;
} probe;

static void build(const route *rt, const probe *p, char *path, size_t cap, char *body, size_t bcap,
                  bool *has_body)
{
    fill_path(rt, p->path, path, cap);
    unsigned b = rt->scope_body;
    bool get = strcmp(rt->method, "GET") == 0;
    *has_body = !get && (rt->flags & (ROUTE_BODY | ROUTE_BODY_OPT | ROUTE_RAW));
    if (get) {
        size_t n = strlen(path);
        char sep = '?';
#define QADD(...)                                                                                  \
    do {                                                                                           \
        n += (size_t)snprintf(path + n, cap - n, "%c", sep);                                       \
        n += (size_t)snprintf(path + n, cap - n, __VA_ARGS__);                                     \
        sep = '&';                                                                                 \
    } while (0)
        /* the spellings the route declares (the reports say store= and guide=): any
         * other query parameter is refused with 400 before the scope rule runs */
        if (b & SB_LOOKUP) QADD("phone=%s", side[p->lookup].phone);
        if ((b & SB_MEMBER) && route_query_has(rt, "member_id"))
            QADD("member_id=%lld", (long long)side[p->member].member);
        if ((b & SB_STORE) && route_query_has(rt, "store_id"))
            QADD("store_id=%lld", (long long)side[p->store].store);
        if ((b & SB_STORE) && route_query_has(rt, "store"))
            QADD("store=%lld", (long long)side[p->store].store);
        if ((b & SB_GUIDE) && route_query_has(rt, "guide_id"))
            QADD("guide_id=%lld", (long long)side[p->guide].guide);
        if ((b & SB_GUIDE) && route_query_has(rt, "guide"))
            QADD("guide=%lld", (long long)side[p->guide].guide);
#undef QADD
        body[0] = 0;
        return;
    }
    if (rt->flags & ROUTE_RAW) {
        body[0] = 0;
        return;
    }
    json_t *o = json_object();
    if (b & SB_STORE) json_object_set_new(o, "store_id", json_integer(side[p->store].store));
    if (b & SB_GUIDE) json_object_set_new(o, "guide_id", json_integer(side[p->guide].guide));
    if (b & SB_MEMBER) {
        json_object_set_new(o, "member_id", json_integer(side[p->member].member));
        json_object_set_new(o, "from_member_id", json_integer(side[p->from].member));
        json_object_set_new(o, "member_ids", json_pack("[I]", (json_int_t)side[p->list].member));
    }
    if (b & SB_IDENTITY) {
        json_object_set_new(o, "phone", json_string(side[p->identity].phone));
        if (p->nested >= 0)
            json_object_set_new(o, "member", json_pack("{s:s}", "phone", side[p->nested].phone));
    }
    if (b & SB_EACH_EVENT)
        json_object_set_new(o, "events",
                            json_pack("[{s:I}]", "member_id", (json_int_t)side[p->event].member));
    char *text = json_dumps(o, JSON_COMPACT);
    snprintf(body, bcap, "%s", text);
    free(text);
    json_decref(o);
}

static void expect(const route *rt, int c, const char *what, const char *path, const char *body,
                   bool has_body, int want_lo, int want_hi, bool leak_check)
{
    int st = call(tok[c], rt->method, path, NULL, has_body ? "%s" : NULL, body);
    bool ok = st >= want_lo && st <= want_hi && st < 500 && st > 0;
    if (ok && leak_check && st < 300 && strstr(buf, "OutOfScope")) ok = false;
    if (!ok) {
        CHECK_FAIL_("%s %s as %s (%s): %d, want %d..%d%s — %s %.300s", rt->method, path,
                    caller_name[c], what, st, want_lo, want_hi,
                    leak_check && st < 300 ? " and nothing of store B" : "", body, buf);
    }
}

/* In scope: anything but 401/403 and 5xx; with leak_check, a 2xx carries nothing of
 * store B. A bare list (no query naming objects) may also answer 403 (a till lists
 * nothing). */
static void expect_in(const route *rt, int c, const char *path, const char *body, bool has_body,
                      bool leak_check, bool bare)
{
    int st = call(tok[c], rt->method, path, NULL, has_body ? "%s" : NULL, body);
    bool leak =
        leak_check && c != C_ADMIN && c != C_OPERATOR && st < 300 && strstr(buf, "OutOfScope");
    if (st <= 0 || st == 401 || (st == 403 && !bare) || st >= 500 || leak)
        CHECK_FAIL_("%s %s as %s (in scope): %d%s — %s %.300s", rt->method, path, caller_name[c],
                    st, leak ? " carrying store B" : "", body, buf);
}

static void matrix(void)
{
    char path[512], body[4096];
    bool has_body;
    int unset = 0;
    for (int i = 0; i < route_count; i++) {
        const route *rt = &routes[i];
        if (rt->scope == SCOPE_UNSET) {
            CHECK_FAIL_("%s %s has no scope rule in the route table", rt->method, rt->pattern);
            unset++;
            continue;
        }
        if (rt->flags & ROUTE_PUBLIC) {
            CHECK(rt->scope == SCOPE_PUBLIC);
            fill_path(rt, SIDE_A, path, sizeof path);
            for (int c = 0; c < C__N; c++) {
                int st = call(tok[c], rt->method, path, NULL, NULL);
                /* a public route that takes a body (signing in) refuses an empty one with
                 * 400 whoever calls: never 401/403 for the caller's token, never a 5xx */
                bool body_ok = (rt->flags & ROUTE_BODY) && st == 400;
                /* the console's files: a name that is not one is a 404 to everyone */
                if (strstr(rt->pattern, "{file}") && st == 404) body_ok = true;
                if (st <= 0 || (st >= 400 && !body_ok))
                    CHECK_FAIL_("public %s %s as %s: %d", rt->method, path, caller_name[c], st);
            }
            continue;
        }
        CHECK(rt->scope != SCOPE_PUBLIC);
        const probe in = {SIDE_A, SIDE_A, SIDE_A, SIDE_A, SIDE_A,
                          SIDE_A, SIDE_A, SIDE_A, SIDE_A, SIDE_A};
        build(rt, &in, path, sizeof path, body, sizeof body, &has_body);
        /* no valid token: 401 before anything else */
        for (int c = C_NONE; c < C__N; c++)
            expect(rt, c, "no valid token", path, body, has_body, 401, 401, false);
        /* the store's callers first: HQ's calls may change what they touch */
        static const int order[] = {C_MGR, C_GUIDE, C_CASHIER, C_ADMIN, C_OPERATOR};
        for (size_t oi = 0; oi < sizeof order / sizeof *order; oi++) {
            int c = order[oi];
            if (!(rt->roles & caller_role[c])) {
                expect(rt, c, "role not admitted", path, body, has_body, 403, 403, false);
                continue;
            }
            expect_in(rt, c, path, body, has_body, true, false);
            if (strcmp(rt->method, "GET") == 0 && rt->scope == SCOPE_CHAIN) {
                char bare[512];
                fill_path(rt, SIDE_A, bare, sizeof bare);
                expect_in(rt, c, bare, "", false, true, true);
            }
            /* every object of side B, one at a time, while the rest stay in scope */
            unsigned sb = rt->scope_body;
            bool get = strcmp(rt->method, "GET") == 0,
                 takes_body = !get && !(rt->flags & ROUTE_RAW);
            struct {
                const char *kind; /* for b_is_out */
                size_t field;     /* offsetof(probe, …) */
                bool applies;
                int lo, hi; /* the answer when side B is out of scope */
            } outs[] = {
                {route_scope_name(rt->scope), offsetof(probe, path),
                 rt->scope >= SCOPE_MEMBER && rt->scope <= SCOPE_COUPON, 403, 403},
                {"store", offsetof(probe, store), (sb & SB_STORE) != 0, 403, 403},
                {"staff", offsetof(probe, guide), (sb & SB_GUIDE) != 0, 403, 403},
                {"member", offsetof(probe, member), (sb & SB_MEMBER) != 0, 403, 403},
                {"member", offsetof(probe, from), (sb & SB_MEMBER) && takes_body, 403, 403},
                {"member", offsetof(probe, list), (sb & SB_MEMBER) && takes_body, 403, 403},
                /* identities of another store's member: 403 (or 409 when they also
                 * name one of the caller's members, naming neither) */
                {"identity", offsetof(probe, identity), (sb & SB_IDENTITY) && takes_body,
                 sb & SB_FIND ? 404 : 403, sb & SB_FIND ? 404 : 409},
                {"identity", offsetof(probe, nested), (sb & SB_IDENTITY) && takes_body,
                 sb & SB_FIND ? 404 : 403, sb & SB_FIND ? 404 : 409},
                {"member", offsetof(probe, event), (sb & SB_EACH_EVENT) && takes_body, 403, 403},
                /* a member looked up by identity: out of scope answers as missing */
                {"lookup", offsetof(probe, lookup), (sb & SB_LOOKUP) && get, 404, 404},
            };
            for (size_t k = 0; k < sizeof outs / sizeof *outs; k++) {
                /* HQ sees the whole chain: the request in scope above is theirs */
                if (!outs[k].applies || c == C_ADMIN || c == C_OPERATOR) continue;
                probe p = in;
                if (strcmp(outs[k].kind, "identity") == 0)
                    p.nested = -1; /* the top-level identities alone, then "member" alone */
                *(int *)((char *)&p + outs[k].field) = SIDE_B;
                if (outs[k].field == offsetof(probe, nested)) p.identity = SIDE_A;
                build(rt, &p, path, sizeof path, body, sizeof body, &has_body);
                if (b_is_out(c, outs[k].kind))
                    expect(rt, c, outs[k].kind, path, body, has_body, outs[k].lo, outs[k].hi,
                           false);
                else
                    expect_in(rt, c, path, body, has_body, false, false);
            }
            build(rt, &in, path, sizeof path, body, sizeof body, &has_body);
        }
    }
    CHECK_INT_EQ(unset, 0);
    fprintf(stderr, "authorization matrix: %d routes, %d requests\n", route_count, requests_made);
}

/* ---------------- regressions, one per defect of the issue ---------------- */

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_t *jget(json_t *o, const char *k)
{
    return json_object_get(o, k);
}

/* Item 8: Idempotency-Keys belong to the caller. A guide who resends an admin's key
 * and body must not get the admin's stored answer (another store's member, unmasked);
 * two store managers who pick the same key are two keys, not a 409. */
static void test_idempotency_per_caller(void)
{
    char body[256], out[1 << 14];
    snprintf(body, sizeof body,
             "{\"phone\":\"13700000077\",\"name\":\"OutOfScopeNew\",\"store_id\":%lld,"
             "\"guide_id\":%lld}",
             (long long)side[1].store, (long long)side[1].guide);
    int st = request_hdr(fd, token, "POST", "/api/v1/members", "Idempotency-Key: shared-1\r\n",
                         body, out, sizeof out);
    CHECK_INT_EQ(st, 201);
    st = request_hdr(fd, tok[C_GUIDE], "POST", "/api/v1/members", "Idempotency-Key: shared-1\r\n",
                     body, out, sizeof out);
    CHECK(st == 403);
    CHECK(strstr(out, "13700000077") == NULL);
    CHECK(strstr(out, "OutOfScopeNew") == NULL);

    /* the other store's manager */
    char mgr_b[80], b[128];
    snprintf(b, sizeof b, "{\"role\":\"store_manager\",\"staff_id\":%lld}", (long long)side[1].mgr);
    make_token(b, mgr_b);
    snprintf(body, sizeof body, "{\"phone\":\"13700000101\",\"store_id\":%lld}",
             (long long)side[0].store);
    st = request_hdr(fd, tok[C_MGR], "POST", "/api/v1/members", "Idempotency-Key: morning\r\n",
                     body, out, sizeof out);
    CHECK_INT_EQ(st, 201);
    snprintf(body, sizeof body, "{\"phone\":\"13700000102\",\"store_id\":%lld}",
             (long long)side[1].store);
    st = request_hdr(fd, mgr_b, "POST", "/api/v1/members", "Idempotency-Key: morning\r\n", body,
                     out, sizeof out);
    CHECK_INT_EQ(st, 201);
    /* and a caller's own replay still answers the first answer */
    st = request_hdr(fd, mgr_b, "POST", "/api/v1/members", "Idempotency-Key: morning\r\n", body,
                     out, sizeof out);
    CHECK_INT_EQ(st, 200);
    CHECK(strstr(out, "13700000102") != NULL);
}

/* Item 12: a store manager reads and closes only their store's guide tasks, attaches
 * no identity to another store's member, is told nothing by a 409, credits no order
 * to another store's guide and moves no member to one; a guide cannot tell a member of
 * another's from a stranger by phone. */
static void test_store_scope(void)
{
    json_t *o;
    char path[128];
    /* tasks */
    snprintf(path, sizeof path, "/api/v1/tasks/%lld/skip", (long long)side[1].task);
    CHECK_INT_EQ(call(tok[C_MGR], "POST", path, NULL, NULL), 403);
    CHECK_INT_EQ(call(tok[C_MGR], "GET", "/api/v1/tasks?limit=1000", &o, NULL), 200);
    CHECK(json_array_size(jget(o, "items")) >= 1);
    CHECK(strstr(buf, "OutOfScopeTask") == NULL);
    json_decref(o);
    CHECK_INT_EQ(call(token, "GET", "/api/v1/tasks?limit=1000", NULL, NULL), 200);
    CHECK(strstr(buf, "OutOfScopeTask") != NULL);

    /* identities attached through an order */
    int st = call(tok[C_MGR], "POST", "/api/v1/orders", &o,
                  "{\"channel\":\"store\",\"external_id\":\"attach-1\",\"store_id\":%lld,"
                  "\"placed_at\":\"2026-11-02T10:00:00+08:00\",\"total_cents\":100,"
                  "\"member\":{\"phone\":\"%s\",\"unionid\":\"u-stolen\"},"
                  "\"items\":[{\"sku\":\"x\",\"qty\":1,\"unit_price_cents\":100}]}",
                  (long long)side[0].store, side[1].phone);
    CHECK_INT_EQ(st, 403);
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)side[1].member);
    CHECK_INT_EQ(call(token, "GET", path, NULL, NULL), 200);
    CHECK(strstr(buf, "u-stolen") == NULL);

    /* a 409 between the caller's member and another store's names neither */
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)side[1].member);
    CHECK_INT_EQ(call(token, "PATCH", path, NULL, "{\"name\":\"OutOfScopeMember\"}"), 200);
    call(token, "POST", "/api/v1/members", NULL, "{\"phone\":\"%s\",\"card_no\":\"CARD-B\"}",
         side[1].phone);
    st = call(tok[C_MGR], "POST", "/api/v1/orders", &o,
              "{\"channel\":\"store\",\"external_id\":\"attach-2\",\"store_id\":%lld,"
              "\"placed_at\":\"2026-11-02T10:00:00+08:00\",\"total_cents\":100,"
              "\"member\":{\"phone\":\"%s\",\"card_no\":\"CARD-B\"},"
              "\"items\":[{\"sku\":\"x\",\"qty\":1,\"unit_price_cents\":100}]}",
              (long long)side[0].store, side[0].phone);
    CHECK(st == 409 || st == 403);
    const char *msg = jstr(jget(o, "error"), "message");
    CHECK(msg && strpbrk(msg, "0123456789") == NULL);
    CHECK(jget(jget(o, "error"), "details") == NULL);
    CHECK(strstr(buf, "member_ids") == NULL);
    json_decref(o);

    /* an order credited to another store's guide */
    st = call(
        tok[C_MGR], "POST", "/api/v1/orders", NULL,
        "{\"channel\":\"store\",\"external_id\":\"credit-1\",\"store_id\":%lld,\"guide_id\":%lld,"
        "\"placed_at\":\"2026-11-02T10:00:00+08:00\",\"total_cents\":100,"
        "\"items\":[{\"sku\":\"x\",\"qty\":1,\"unit_price_cents\":100}]}",
        (long long)side[0].store, (long long)side[1].guide);
    CHECK_INT_EQ(st, 403);

    /* a member moved to another store's guide */
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)side[0].member);
    CHECK_INT_EQ(
        call(tok[C_MGR], "PATCH", path, NULL, "{\"guide_id\":%lld}", (long long)side[1].guide),
        403);
    CHECK_INT_EQ(call(token, "GET", path, &o, NULL), 200);
    CHECK_INT_EQ(json_integer_value(jget(o, "guide_id")), side[0].guide);
    json_decref(o);

    /* a guide looking up another guide's member and a stranger: the same answer */
    char a[1024], b[1024];
    snprintf(path, sizeof path, "/api/v1/members?phone=%s", side[1].phone);
    int st1 = call(tok[C_GUIDE], "GET", path, NULL, NULL);
    snprintf(a, sizeof a, "%s", buf);
    int st2 = call(tok[C_GUIDE], "GET", "/api/v1/members?phone=13600000000", NULL, NULL);
    snprintf(b, sizeof b, "%s", buf);
    CHECK_INT_EQ(st1, 404);
    CHECK_INT_EQ(st2, 404);
    /* the bodies differ only in the number asked about */
    char *p = strstr(a, side[1].phone);
    if (p) memcpy(p, "13600000000", 11);
    CHECK_STR_EQ(a, b);
    /* nor by recording an event for a phone (a route that only finds members) */
    int st3 =
        call(tok[C_GUIDE], "POST", "/api/v1/events", NULL,
             "{\"events\":[{\"type\":\"share\",\"member\":{\"phone\":\"%s\"}}]}", side[1].phone);
    snprintf(a, sizeof a, "%s", buf);
    int st4 = call(tok[C_GUIDE], "POST", "/api/v1/events", NULL,
                   "{\"events\":[{\"type\":\"share\",\"member\":{\"phone\":\"13600000000\"}}]}");
    snprintf(b, sizeof b, "%s", buf);
    CHECK_INT_EQ(st3, 404);
    CHECK_INT_EQ(st4, 404);
    CHECK_STR_EQ(a, b);
    /* nor can a store manager, tagging members by phone */
    json_t *tag;
    CHECK_INT_EQ(call(token, "POST", "/api/v1/tags", &tag, "{\"name\":\"vip-by-phone\"}"), 201);
    snprintf(path, sizeof path, "/api/v1/tags/%lld/members",
             (long long)json_integer_value(jget(tag, "id")));
    json_decref(tag);
    st3 = call(tok[C_MGR], "POST", path, NULL, "{\"phones\":[\"%s\"]}", side[1].phone);
    snprintf(a, sizeof a, "%s", buf);
    st4 = call(tok[C_MGR], "POST", path, NULL, "{\"phones\":[\"13600000000\"]}");
    snprintf(b, sizeof b, "%s", buf);
    CHECK_INT_EQ(st3, st4);
    if ((p = strstr(a, side[1].phone))) memcpy(p, "13600000000", 11);
    CHECK_STR_EQ(a, b);
    /* and their own member is found, phone masked */
    snprintf(path, sizeof path, "/api/v1/members?phone=%s", side[0].phone);
    CHECK_INT_EQ(call(tok[C_GUIDE], "GET", path, NULL, NULL), 200);
    CHECK(strstr(buf, side[0].phone) == NULL);
}

/* The reports' filters (store=, guide=) name objects too: a store manager asking for
 * another store's guide, or a guide for another store, is refused like any other route
 * naming them, not answered (with the caller's own figures under the other's name). */
static void test_report_filters(void)
{
    static const char *const reports[] = {"kpi",      "leaderboard", "cohorts",
                                          "products", "live",        "distributions"};
    char path[256];
    for (size_t i = 0; i < sizeof reports / sizeof *reports; i++) {
        /* by= is the leaderboard's alone: elsewhere it is an unknown parameter (400) */
        const char *q =
            i == 1 ? "from=2026-10-01&to=2026-12-31&by=store" : "from=2026-10-01&to=2026-12-31";
        snprintf(path, sizeof path, "/api/v1/reports/%s?%s&guide=%lld", reports[i], q,
                 (long long)side[1].guide);
        int st = call(tok[C_MGR], "GET", path, NULL, NULL);
        if (st != 403) CHECK_FAIL_("store manager, %s: %d %.200s", path, st, buf);
        snprintf(path, sizeof path, "/api/v1/reports/%s?%s&store=%lld", reports[i], q,
                 (long long)side[1].store);
        st = call(tok[C_GUIDE], "GET", path, NULL, NULL);
        if (st != 403) CHECK_FAIL_("guide, %s: %d %.200s", path, st, buf);
        /* their own store and guide still answer */
        snprintf(path, sizeof path, "/api/v1/reports/%s?%s&store=%lld&guide=%lld", reports[i], q,
                 (long long)side[0].store, (long long)side[0].guide);
        st = call(tok[C_MGR], "GET", path, NULL, NULL);
        if (st != 200) CHECK_FAIL_("store manager, %s: %d %.200s", path, st, buf);
        st = call(tok[C_GUIDE], "GET", path, NULL, NULL);
        if (st != 200) CHECK_FAIL_("guide, %s: %d %.200s", path, st, buf);
    }
}

/* A key already taken by another store's order or refund: the 409 names neither it nor
 * its id, so a (channel, external_id) tells a store's caller nothing about other stores. */
static void test_conflicts_name_nothing_out_of_scope(void)
{
    json_t *o;
    /* store B's order has external_id "OutOfScope-ORDER" on channel store */
    int st = call(tok[C_MGR], "POST", "/api/v1/orders", &o,
                  "{\"channel\":\"store\",\"external_id\":\"OutOfScope-ORDER\",\"store_id\":%lld,"
                  "\"member_id\":%lld,\"placed_at\":\"2026-11-01T10:00:00+08:00\","
                  "\"total_cents\":100,\"items\":[{\"sku\":\"x\",\"qty\":1,"
                  "\"unit_price_cents\":100}]}",
                  (long long)side[0].store, (long long)side[0].member);
    CHECK_INT_EQ(st, 409);
    CHECK(jget(jget(o, "error"), "order_id") == NULL);
    const char *msg = jstr(jget(o, "error"), "message");
    char id[32];
    snprintf(id, sizeof id, "order %lld", (long long)side[1].order);
    CHECK(msg && strstr(msg, id) == NULL);
    json_decref(o);
    /* the till's the same */
    st = call(tok[C_CASHIER], "POST", "/api/v1/orders", &o,
              "{\"channel\":\"store\",\"external_id\":\"OutOfScope-ORDER\",\"store_id\":%lld,"
              "\"placed_at\":\"2026-11-01T10:00:00+08:00\",\"total_cents\":100,"
              "\"items\":[{\"sku\":\"x\",\"qty\":1,\"unit_price_cents\":100}]}",
              (long long)side[0].store);
    CHECK_INT_EQ(st, 409);
    CHECK(jget(jget(o, "error"), "order_id") == NULL);
    json_decref(o);
    /* a refund key store B used first */
    char path[96];
    snprintf(path, sizeof path, "/api/v1/orders/%lld/refunds", (long long)side[1].order);
    CHECK_INT_EQ(
        call(token, "POST", path, NULL, "{\"external_id\":\"RF-OutOfScope\",\"amount_cents\":100}"),
        201);
    snprintf(path, sizeof path, "/api/v1/orders/%lld/refunds", (long long)side[0].order);
    st = call(tok[C_MGR], "POST", path, &o,
              "{\"external_id\":\"RF-OutOfScope\",\"amount_cents\":100}");
    CHECK_INT_EQ(st, 409);
    CHECK(jget(jget(o, "error"), "refund_id") == NULL);
    msg = jstr(jget(o, "error"), "message");
    CHECK(msg && strpbrk(msg, "0123456789") == NULL);
    json_decref(o);
    /* HQ is still told which one */
    st = call(token, "POST", path, &o, "{\"external_id\":\"RF-OutOfScope\",\"amount_cents\":100}");
    CHECK_INT_EQ(st, 409);
    CHECK(json_integer_value(jget(jget(o, "error"), "refund_id")) > 0);
    json_decref(o);
}

/* Forwarding a shareable coupon to a friend's phone: when the phone is another store's
 * member, the answer to a store's caller names nobody (no member id, no history), and a
 * friend over the template's limit is refused without naming them either. */
static void test_forward_names_nobody_out_of_scope(void)
{
    json_t *o;
    int64_t tpl = make("/api/v1/coupon-templates",
                       "{\"name\":\"share\",\"kind\":\"cash_off\",\"value_cents\":100,"
                       "\"valid_days\":30,\"shareable\":true,\"per_member_limit\":2}");
    char code[2][40], path[96], b_id[40];
    CHECK_INT_EQ(call(token, "POST", "/api/v1/coupons", NULL,
                      "{\"template_id\":%lld,\"member_id\":%lld}", (long long)tpl,
                      (long long)side[1].member),
                 201);
    for (int i = 0; i < 2; i++) {
        CHECK_INT_EQ(call(token, "POST", "/api/v1/coupons", &o,
                          "{\"template_id\":%lld,\"member_id\":%lld,\"external_id\":\"fw-%d\"}",
                          (long long)tpl, (long long)side[0].member, i),
                     201);
        snprintf(code[i], sizeof code[i], "%s", jstr(o, "code") ? jstr(o, "code") : "");
        json_decref(o);
    }
    snprintf(b_id, sizeof b_id, "\"member_id\":%lld", (long long)side[1].member);
    snprintf(path, sizeof path, "/api/v1/coupons/%s/forward", code[0]);
    CHECK_INT_EQ(call(tok[C_GUIDE], "POST", path, &o, "{\"phone\":\"%s\"}", side[1].phone), 200);
    CHECK(json_is_null(jget(jget(o, "friend"), "member_id")));
    CHECK(json_is_null(jget(o, "member_id")));
    CHECK(strstr(buf, b_id) == NULL);
    json_decref(o);
    /* the friend now holds two of the template (limit 2): the next is refused, unnamed */
    snprintf(path, sizeof path, "/api/v1/coupons/%s/forward", code[1]);
    CHECK_INT_EQ(call(tok[C_GUIDE], "POST", path, &o, "{\"phone\":\"%s\"}", side[1].phone), 422);
    const char *msg = jstr(jget(o, "error"), "message");
    char id[32];
    snprintf(id, sizeof id, "member %lld", (long long)side[1].member);
    CHECK(msg && strstr(msg, id) == NULL);
    json_decref(o);
}

/* Item 14: tokens are listed, revoked and expired, their last use is recorded, and a
 * token's role is its staff member's. */
/* Whether the token named name has a last use written down (GET /api/v1/tokens). */
static bool token_used(const char *name)
{
    json_t *o, *x;
    size_t i;
    bool used = false, found = false;
    CHECK_INT_EQ(call(token, "GET", "/api/v1/tokens?limit=1000", &o, NULL), 200);
    json_array_foreach(jget(o, "items"), i, x)
    {
        if (!jstr(x, "name") || strcmp(jstr(x, "name"), name) != 0) continue;
        found = true;
        used = jstr(x, "last_used_at") != NULL;
    }
    json_decref(o);
    CHECK(found);
    return used;
}

static void test_tokens(void)
{
    json_t *o;
    char t[80], path[64];
    make_token("{\"role\":\"operator\",\"name\":\"to-revoke\"}", t);
    CHECK_INT_EQ(call(t, "GET", "/api/v1/stores", NULL, NULL), 200);
    CHECK_INT_EQ(call(token, "GET", "/api/v1/tokens?limit=1000", &o, NULL), 200);
    int64_t id = 0;
    size_t i;
    json_t *x;
    json_array_foreach(jget(o, "items"), i, x)
    {
        CHECK(jget(x, "token") == NULL && jget(x, "hash") == NULL); /* never the secret */
        if (jstr(x, "name") && strcmp(jstr(x, "name"), "to-revoke") == 0) {
            id = json_integer_value(jget(x, "id"));
            CHECK_STR_EQ(jstr(x, "state"), "active");
            CHECK(jstr(x, "last_used_at") != NULL); /* it was used a moment ago */
        }
        if (jstr(x, "name") && strcmp(jstr(x, "name"), "expired") == 0)
            CHECK_STR_EQ(jstr(x, "state"), "expired");
    }
    json_decref(o);
    CHECK(id > 0);
    snprintf(path, sizeof path, "/api/v1/tokens/%lld", (long long)id);
    CHECK_INT_EQ(call(t, "DELETE", path, NULL, NULL), 403); /* an operator cannot */
    CHECK_INT_EQ(call(token, "DELETE", path, &o, NULL), 200);
    CHECK_STR_EQ(jstr(o, "state"), "revoked");
    json_decref(o);
    CHECK_INT_EQ(call(t, "GET", "/api/v1/stores", NULL, NULL), 401);
    CHECK_INT_EQ(call(tok[C_EXPIRED], "GET", "/api/v1/stores", NULL, NULL), 401);
    CHECK_INT_EQ(call(token, "DELETE", "/api/v1/tokens/999999", NULL, NULL), 404);

    /* a token's use is written down by a request that succeeds, whatever the request before
     * it decided: a first call refused for its role (403) or for its body (400) writes no
     * use, so the next one, answered from the cache of resolved tokens, still must */
    make_token("{\"role\":\"operator\",\"name\":\"used-after-403\"}", t);
    CHECK_INT_EQ(call(t, "GET", "/api/v1/tokens", NULL, NULL), 403);
    CHECK(!token_used("used-after-403"));
    CHECK_INT_EQ(call(t, "GET", "/api/v1/stores", NULL, NULL), 200);
    CHECK(token_used("used-after-403"));
    make_token("{\"role\":\"operator\",\"name\":\"used-after-400\"}", t);
    CHECK_INT_EQ(call(t, "POST", "/api/v1/members", NULL, "{"), 400);
    CHECK(!token_used("used-after-400"));
    CHECK_INT_EQ(call(t, "GET", "/api/v1/stores", NULL, NULL), 200);
    CHECK(token_used("used-after-400"));

    /* a guide's token is a guide's: admin or operator for a guide is refused, by HTTP
     * and by the CLI */
    CHECK_INT_EQ(call(token, "POST", "/api/v1/tokens", &o, "{\"role\":\"admin\",\"staff_id\":%lld}",
                      (long long)side[0].guide),
                 400);
    CHECK_STR_EQ(jstr(jget(o, "error"), "field"), "role");
    json_decref(o);
    char cmd[512], line[256];
    snprintf(cmd, sizeof cmd, "%s token create --db %s --role admin --staff %lld 2>/dev/null", siyu,
             db, (long long)side[0].guide);
    CHECK(run(cmd, line, sizeof line) != 0);
    snprintf(cmd, sizeof cmd, "%s token create --db %s --role guide --staff %lld --expires 1d",
             siyu, db, (long long)side[0].guide);
    CHECK_INT_EQ(run(cmd, line, sizeof line), 0);
    CHECK_INT_EQ(call(line, "GET", "/api/v1/tasks", NULL, NULL), 200);
    /* the CLI lists and revokes too */
    snprintf(cmd, sizeof cmd, "%s token list --db %s --json | grep -c '\"state\":\"revoked\"'",
             siyu, db);
    CHECK_INT_EQ(run(cmd, line, sizeof line), 0);
    CHECK(atoi(line) >= 2);
    /* a token made before roles had to match (a guide's token saying admin) no longer works */
    snprintf(cmd, sizeof cmd, "%s token create --db %s --role guide --staff %lld --name old-guide",
             siyu, db, (long long)side[1].guide);
    CHECK_INT_EQ(run(cmd, line, sizeof line), 0);
    CHECK_INT_EQ(call(line, "GET", "/api/v1/tasks", NULL, NULL), 200);
    sql("UPDATE tokens SET role = 'admin' WHERE name = 'old-guide'");
    /* written by another process: the server's cache of resolved tokens sees it once its
     * entry has aged out (AUTH_CACHE_MS), never later */
    usleep((AUTH_CACHE_MS + 300) * 1000);
    CHECK_INT_EQ(call(line, "GET", "/api/v1/tokens", NULL, NULL), 401);
    /* the CLI revokes a token the server has just checked: refused within the same bound */
    snprintf(cmd, sizeof cmd, "%s token create --db %s --role operator --name cli-revoked", siyu,
             db);
    CHECK_INT_EQ(run(cmd, line, sizeof line), 0);
    CHECK_INT_EQ(call(line, "GET", "/api/v1/stores", NULL, NULL), 200);
    CHECK_INT_EQ(call(line, "GET", "/api/v1/stores", NULL, NULL), 200); /* from the cache */
    long long tid = db_int("SELECT id FROM tokens WHERE name = 'cli-revoked'", 0, 0);
    CHECK(tid > 0);
    snprintf(cmd, sizeof cmd, "%s token revoke --db %s %lld >/dev/null", siyu, db, tid);
    char out[256];
    CHECK_INT_EQ(run(cmd, out, sizeof out), 0);
    usleep((AUTH_CACHE_MS + 300) * 1000);
    CHECK_INT_EQ(call(line, "GET", "/api/v1/stores", NULL, NULL), 401);
    /* past expiry is refused at creation */
    CHECK_INT_EQ(call(token, "POST", "/api/v1/tokens", NULL,
                      "{\"role\":\"operator\",\"expires_at\":\"2020-01-01T00:00:00+08:00\"}"),
                 400);
}

/* Item 15: a till's cashier token looks any member up (phone masked), reads their
 * benefits and posts their order at its own store, and does nothing else. */
static void test_cashier(void)
{
    char cmd[512], till[128], path[128];
    snprintf(cmd, sizeof cmd, "%s token create --db %s --role cashier --store %lld --name till-1",
             siyu, db, (long long)side[0].store);
    CHECK_INT_EQ(run(cmd, till, sizeof till), 0);
    json_t *o;
    snprintf(path, sizeof path, "/api/v1/members?phone=%s", side[1].phone);
    CHECK_INT_EQ(call(till, "GET", path, &o, NULL), 200);
    CHECK_INT_EQ(json_integer_value(jget(o, "id")), side[1].member);
    CHECK(strstr(buf, side[1].phone) == NULL); /* masked */
    /* the till's view of the member, not the 360 it may not read by id: no purchase
     * history, coupons, points, consents, tier history or guide of another store */
    static const char *const not_for_tills[] = {"stats",       "coupons",      "points",
                                                "consents",    "tier_history", "guide",
                                                "merged_from", "predictions",  "reachability"};
    for (size_t i = 0; i < sizeof not_for_tills / sizeof *not_for_tills; i++)
        if (jget(o, not_for_tills[i]))
            CHECK_FAIL_("a till's lookup answers the member's %s: %.300s", not_for_tills[i], buf);
    CHECK(strstr(buf, "OutOfScopeSku") == NULL && strstr(buf, side[1].coupon) == NULL);
    json_decref(o);
    snprintf(path, sizeof path, "/api/v1/members/%lld/benefits", (long long)side[1].member);
    CHECK_INT_EQ(call(till, "GET", path, NULL, NULL), 200);
    /* at its own store: the benefits at another store's till are not its to ask */
    snprintf(path, sizeof path, "/api/v1/members/%lld/benefits?store_id=%lld",
             (long long)side[1].member, (long long)side[1].store);
    CHECK_INT_EQ(call(till, "GET", path, NULL, NULL), 403);
    snprintf(path, sizeof path, "/api/v1/members/%lld/benefits?store_id=%lld",
             (long long)side[1].member, (long long)side[0].store);
    CHECK_INT_EQ(call(till, "GET", path, NULL, NULL), 200);
    const char *order =
        "{\"channel\":\"store\",\"external_id\":\"%s\",\"store_id\":%lld,\"member_id\":%lld,"
        "\"placed_at\":\"2026-11-03T10:00:00+08:00\",\"total_cents\":300,"
        "\"items\":[{\"sku\":\"y\",\"qty\":1,\"unit_price_cents\":300}]}";
    CHECK_INT_EQ(call(till, "POST", "/api/v1/orders", NULL, order, "till-away",
                      (long long)side[0].store, (long long)side[1].member),
                 201);
    CHECK_INT_EQ(call(till, "POST", "/api/v1/orders", NULL, order, "till-other-store",
                      (long long)side[1].store, (long long)side[1].member),
                 403);
    /* nothing else: the 360, lists, orders, members' writes */
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)side[1].member);
    CHECK_INT_EQ(call(till, "GET", path, NULL, NULL), 403);
    CHECK_INT_EQ(call(till, "GET", "/api/v1/members", NULL, NULL), 403);
    CHECK_INT_EQ(call(till, "GET", "/api/v1/orders", NULL, NULL), 403);
    CHECK_INT_EQ(call(till, "POST", "/api/v1/members", NULL, "{\"phone\":\"13700000555\"}"), 403);
    /* a till's token whose store is gone from its row (an old or hand-edited store) is
     * no till: it answers 401, never serves as a till of no store */
    char lost[128];
    snprintf(cmd, sizeof cmd,
             "%s token create --db %s --role cashier --store %lld --name till-lost", siyu, db,
             (long long)side[0].store);
    CHECK_INT_EQ(run(cmd, lost, sizeof lost), 0);
    sql("UPDATE tokens SET store_id = NULL WHERE name = 'till-lost'");
    snprintf(path, sizeof path, "/api/v1/members?phone=%s", side[1].phone);
    CHECK_INT_EQ(call(lost, "GET", path, NULL, NULL), 401);
    snprintf(path, sizeof path, "/api/v1/members/%lld/benefits", (long long)side[1].member);
    CHECK_INT_EQ(call(lost, "GET", path, NULL, NULL), 401);
    /* a cashier token needs its store, and no staff member */
    snprintf(cmd, sizeof cmd, "%s token create --db %s --role cashier 2>/dev/null", siyu, db);
    CHECK(run(cmd, NULL, 0) != 0);
}

/* A staff token's store, staff and state are whatever the store says at the request, though
 * the server answers a token it has just checked from its cache of resolved tokens: each
 * change below is seen by the very next request, made with a token used twice just before
 * (so its entry is fresh). */
static void staff_token(int64_t staff, char *out)
{
    char path[64];
    json_t *o;
    snprintf(path, sizeof path, "/api/v1/staff/%lld/tokens", (long long)staff);
    CHECK_INT_EQ(call(token, "POST", path, &o, "{}"), 201);
    snprintf(out, 80, "%s", jstr(o, "token") ? jstr(o, "token") : "");
    json_decref(o);
}

static int get_member(const char *t, int64_t member)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)member);
    return call(t, "GET", path, NULL, NULL);
}

static void test_staff_changes_seen_at_once(void)
{
    char tm[80], tg[80], path[96];
    int64_t mgr = make("/api/v1/staff",
                       "{\"name\":\"MovingManager\",\"role\":\"store_manager\",\"store_id\":%lld}",
                       (long long)side[0].store);
    staff_token(mgr, tm);
    /* issued a moment ago: good at once (a refusal is never kept) */
    CHECK_INT_EQ(get_member(tm, side[0].member), 200);
    CHECK_INT_EQ(get_member(tm, side[0].member), 200);
    CHECK_INT_EQ(get_member(tm, side[1].member), 403);
    /* moved to the other store: the next request sees the new store's objects only */
    snprintf(path, sizeof path, "/api/v1/staff/%lld", (long long)mgr);
    CHECK_INT_EQ(call(token, "PATCH", path, NULL, "{\"store_id\":%lld}", (long long)side[1].store),
                 200);
    CHECK_INT_EQ(get_member(tm, side[0].member), 403);
    CHECK_INT_EQ(get_member(tm, side[1].member), 200);
    CHECK_INT_EQ(call(tm, "GET", "/api/v1/tasks?limit=1000", NULL, NULL), 200);
    CHECK(strstr(buf, "OutOfScopeTask") != NULL && strstr(buf, "ATask") == NULL);
    /* and back */
    CHECK_INT_EQ(call(token, "PATCH", path, NULL, "{\"store_id\":%lld}", (long long)side[0].store),
                 200);
    CHECK_INT_EQ(get_member(tm, side[1].member), 403);
    CHECK_INT_EQ(get_member(tm, side[0].member), 200);
    /* departed through PATCH: its tokens stop at the next request */
    CHECK_INT_EQ(call(token, "PATCH", path, NULL, "{\"status\":\"departed\"}"), 200);
    CHECK_INT_EQ(get_member(tm, side[0].member), 401);
    /* back at work: the old token stays revoked, a new one works at once */
    CHECK_INT_EQ(call(token, "PATCH", path, NULL, "{\"status\":\"active\"}"), 200);
    CHECK_INT_EQ(get_member(tm, side[0].member), 401);
    staff_token(mgr, tm);
    CHECK_INT_EQ(get_member(tm, side[0].member), 200);

    /* a guide departs through POST /staff/{id}/depart right after using the token */
    int64_t guide =
        make("/api/v1/staff", "{\"name\":\"LeavingGuide\",\"role\":\"guide\",\"store_id\":%lld}",
             (long long)side[0].store);
    staff_token(guide, tg);
    CHECK_INT_EQ(call(tg, "GET", "/api/v1/tasks?limit=10", NULL, NULL), 200);
    CHECK_INT_EQ(call(tg, "GET", "/api/v1/tasks?limit=10", NULL, NULL), 200);
    snprintf(path, sizeof path, "/api/v1/staff/%lld/depart", (long long)guide);
    CHECK_INT_EQ(call(token, "POST", path, NULL, "{\"transfer_to\":[]}"), 200);
    CHECK_INT_EQ(call(tg, "GET", "/api/v1/tasks?limit=10", NULL, NULL), 401);
    CHECK_INT_EQ(call(tg, "GET", "/api/v1/tasks?limit=10", NULL, NULL), 401);

    /* a token revoked by DELETE /tokens/{id} between two uses of it */
    make_token("{\"role\":\"operator\",\"name\":\"revoked-between\"}", tm);
    CHECK_INT_EQ(call(tm, "GET", "/api/v1/stores", NULL, NULL), 200);
    CHECK_INT_EQ(call(tm, "GET", "/api/v1/stores", NULL, NULL), 200);
    json_t *o, *x;
    size_t i;
    int64_t id = 0;
    CHECK_INT_EQ(call(token, "GET", "/api/v1/tokens?limit=1000", &o, NULL), 200);
    json_array_foreach(jget(o, "items"), i, x)
    {
        if (jstr(x, "name") && strcmp(jstr(x, "name"), "revoked-between") == 0)
            id = json_integer_value(jget(x, "id"));
    }
    json_decref(o);
    CHECK(id > 0);
    snprintf(path, sizeof path, "/api/v1/tokens/%lld", (long long)id);
    CHECK_INT_EQ(call(token, "DELETE", path, NULL, NULL), 200);
    CHECK_INT_EQ(call(tm, "GET", "/api/v1/stores", NULL, NULL), 401);
}

/* Every route of the table ran above, on an I/O thread or a worker as its flags say
 * (architecture.md, "Serving HTTP"): none waited for the group committer on an I/O thread,
 * where it would hold up every connection of that thread. A read whose handler writes
 * (GET /audit flushes the reads' audit rows first) must be ROUTE_OWN_TX or ROUTE_LONG. */
static void test_no_route_waits_on_io(void)
{
    CHECK_INT_EQ(call(token, "GET", "/metrics", NULL, NULL), 200);
    static const char name[] = "\nsiyu_http_io_thread_waits_total ";
    const char *p = strstr(buf, name);
    CHECK(p != NULL);
    if (p) CHECK_INT_EQ(strtoll(p + strlen(name), NULL, 10), 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    pid_t pid = harness_start(argv[1]);
    fd = conn_open();
    build_chain();
    make_callers();
    matrix();
    test_idempotency_per_caller();
    test_store_scope();
    test_report_filters();
    test_conflicts_name_nothing_out_of_scope();
    test_forward_names_nobody_out_of_scope();
    test_tokens();
    test_cashier();
    test_staff_changes_seen_at_once();
    test_no_route_waits_on_io();
    close(fd);
    CHECK_INT_EQ(harness_stop(pid), 0);
    return CHECK_DONE();
}
