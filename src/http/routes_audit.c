/* routes_audit.c — the audit log as the pipeline sees it, and the audit and retention
 * routes (the route table is in routes.c).
 *
 * Audited: every staff write that succeeded (every ROUTE_WRITE request, recorded in
 * the write's own savepoint by exec_write; the action is "METHOD pattern"); routes
 * that write in their own transactions (imports, tags, segments, fits) and every
 * read of unmasked personal data by a role that sees phones unmasked (every role but
 * the guide): the member 360 ("member.read"), member lookups and lists
 * ("member.lookup", "member.list"), the member export ("member.export"), the segment
 * CSV export ("segment.export"), a segment's members ("segment.members") and messages with their
 * addresses ("messages.read") — queued in memory and written by the jobs' audit flush
 * (docs/privacy.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "http/router.h"

#define AUDIT_MAX_MEMBERS 10000

/* The members a request names: most name one or none, so they start in place and only a
 * list (a segment export, a page of members) grows on the heap. A block of the cap's size
 * a request cost a free that consolidated malloc's heap on every write. */
typedef struct ids {
    int64_t inline_v[16];
    int64_t *v;
    size_t n, cap;
} ids;

static void ids_init(ids *x)
{
    x->v = x->inline_v;
    x->n = 0;
    x->cap = sizeof x->inline_v / sizeof x->inline_v[0];
}

static void ids_close(ids *x)
{
    if (x->v != x->inline_v) free(x->v);
}

static void add(ids *x, int64_t id)
{
    if (id <= 0 || x->n >= AUDIT_MAX_MEMBERS) return;
    for (size_t i = 0; i < x->n && i < 64; i++)
        if (x->v[x->n - 1 - i] == id) return; /* nearby repeats */
    if (x->n == x->cap) {
        size_t cap = x->cap * 4 > AUDIT_MAX_MEMBERS ? AUDIT_MAX_MEMBERS : x->cap * 4;
        int64_t *v = malloc(cap * sizeof *v);
        if (!v) return; /* the audit row names the members it could keep */
        memcpy(v, x->v, x->n * sizeof *v);
        ids_close(x);
        x->v = v;
        x->cap = cap;
    }
    x->v[x->n++] = id;
}

static void add_json(ids *x, json_t *v)
{
    if (json_is_integer(v)) add(x, json_integer_value(v));
}

static void add_from(ids *x, json_t *o)
{
    if (!json_is_object(o)) return;
    add_json(x, json_object_get(o, "member_id"));
    add_json(x, json_object_get(o, "from_member_id"));
    json_t *list = json_object_get(o, "member_ids"), *v;
    size_t i;
    if (json_is_array(list)) json_array_foreach(list, i, v) add_json(x, v);
}

static void record(http_req *r, const char *action, const ids *x, json_t *detail, bool now_in_tx,
                   store_conn *c, int *rc, siyu_err *e)
{
    char *dt = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    dom_audit_entry a = {.at = r->d.now ? r->d.now : clock_now(),
                         .staff_id = r->d.who.staff_id,
                         .role = role_name(r->d.who.role),
                         .action = action,
                         .request_id = r->request_id,
                         .detail = dt,
                         .members = x->v,
                         .n_members = x->n};
    if (now_in_tx)
        *rc = dom_audit_write(c, &a, e);
    else
        dom_audit_queue(&a);
    free(dt);
}

int http_audit_write(http_req *r, const route *rt, siyu_err *e)
{
    if (!rt->fn || (r->status && r->status >= 300)) return 0;
    ids list, *x = &list;
    ids_init(x);
    if (rt->scope == SCOPE_MEMBER) add(x, r->id);
    add_from(x, r->body);
    json_t *events = json_object_get(r->body, "events"), *v;
    size_t i;
    if (json_is_array(events)) json_array_foreach(events, i, v) add_from(x, v);
    if (json_is_object(r->resp)) {
        add_json(x, json_object_get(r->resp, "member_id"));
        if (strcmp(rt->pattern, "/api/v1/members") == 0)
            add_json(x, json_object_get(r->resp, "id"));
    }
    char action[200];
    snprintf(action, sizeof action, "%s %s", rt->method, rt->pattern);
    json_t *detail = json_pack("{s:i}", "status", r->status ? r->status : 200);
    if (r->id && rt->scope != SCOPE_MEMBER) json_object_set_new(detail, "id", json_integer(r->id));
    int rc = 0;
    record(r, action, x, detail, true, r->d.conn, &rc, e);
    ids_close(x);
    return rc;
}

static bool is(const route *rt, const char *pattern)
{
    return strcmp(rt->method, "GET") == 0 && strcmp(rt->pattern, pattern) == 0;
}

void http_audit_read(http_req *r, const route *rt)
{
    if (!rt->fn) return;
    bool write = strcmp(rt->method, "GET") != 0;
    if (write && (rt->flags & ROUTE_WRITE)) return;    /* recorded with the write itself */
    if (!write && r->d.who.role == ROLE_GUIDE) return; /* a guide sees phones masked */
    const char *action = NULL;
    json_t *detail = json_object();
    ids list, *x = &list;
    ids_init(x);
    char buf[200];
    size_t i;
    json_t *v;
    if (write) {
        snprintf(buf, sizeof buf, "%s %s", rt->method, rt->pattern);
        action = buf;
        if (rt->scope == SCOPE_MEMBER) add(x, r->id);
        add_from(x, r->body);
        if (r->id && rt->scope != SCOPE_MEMBER)
            json_object_set_new(detail, "id", json_integer(r->id));
        if (r->word) json_object_set_new(detail, "kind", json_string(r->word));
    } else if (is(rt, "/api/v1/members/{id}")) {
        action = "member.read";
        add(x, r->id);
    } else if (is(rt, "/api/v1/members/{id}/export")) {
        action = "member.export";
        add(x, r->id);
    } else if (is(rt, "/api/v1/members")) {
        static const char *const kinds[] = {"phone",   "unionid",           "openid",
                                            "card_no", "wecom_external_id", NULL};
        action = "member.list";
        for (int k = 0; kinds[k]; k++)
            if (req_query(r, kinds[k])) {
                action = "member.lookup";
                json_object_set_new(detail, "by", json_string(kinds[k])); /* never the value */
            }
        add_json(x, json_object_get(r->resp, "id"));
        json_array_foreach(json_object_get(r->resp, "items"), i, v)
            add_json(x, json_object_get(v, "id"));
    } else if (is(rt, "/api/v1/segments/{id}/export")) {
        action = "segment.export";
        json_object_set_new(detail, "segment_id", json_integer(r->id));
        /* the CSV's first column is the member id; the first line is the header */
        const char *p = r->text ? strchr(r->text, '\n') : NULL;
        size_t rows = 0;
        while (p && *++p) {
            add(x, strtoll(p, NULL, 10));
            rows++;
            p = strchr(p, '\n');
        }
        json_object_set_new(detail, "rows", json_integer((json_int_t)rows));
    } else if (is(rt, "/api/v1/segments/{id}/members")) {
        /* the page of members, each the 360 with its identities unmasked */
        action = "segment.members";
        json_object_set_new(detail, "segment_id", json_integer(r->id));
        json_array_foreach(json_object_get(r->resp, "items"), i, v)
            add_json(x, json_object_get(v, "id"));
    } else if (is(rt, "/api/v1/messages")) {
        action = "messages.read";
        int64_t m = 0;
        siyu_err e;
        siyu_err_init(&e);
        if (req_query_int(r, "member_id", &m, &e) > 0) add(x, m);
        siyu_err_clear(&e);
        json_array_foreach(json_object_get(r->resp, "items"), i, v)
            add_json(x, json_object_get(v, "member_id"));
    }
    if (action) {
        int rc = 0;
        record(r, action, x, detail, false, NULL, &rc, NULL);
    } else {
        json_decref(detail);
    }
    ids_close(x);
}

/* ---------------- routes ---------------- */

static int query_time(http_req *r, const char *name, int64_t *out, bool *has, siyu_err *e)
{
    const char *v = req_query(r, name);
    *has = false;
    if (!v) return 0;
    if (time_parse_rfc3339(v, out))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, name, "%s: expected an RFC 3339 instant",
                            name);
    *has = true;
    return 0;
}

int h_audit_list(http_req *r, siyu_err *e);
int h_audit_list(http_req *r, siyu_err *e)
{
    dom_audit_filter f = {0};
    int64_t cursor;
    int limit;
    if (req_page(r, &cursor, &limit, e) || req_query_int(r, "member_id", &f.member_id, e) < 0 ||
        req_query_int(r, "staff_id", &f.staff_id, e) < 0 ||
        query_time(r, "from", &f.from, &f.has_from, e) || query_time(r, "to", &f.to, &f.has_to, e))
        return -1;
    f.action = req_query(r, "action");
    if (f.action && (!*f.action || strlen(f.action) > 200))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "action", "action: 1 to 200 characters");
    /* what reads queued so far is written first, so the answer is up to date */
    if (http_audit_flush(r, e)) return -1;
    json_t *out = NULL;
    int rc = audit_list(&r->d, &f, cursor, limit, &out, e);
    if (rc < 0) return -1;
    r->status = rc;
    r->resp = out;
    return 0;
}

int h_retention_get(http_req *r, siyu_err *e);
int h_retention_get(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = retention_get(&r->d, &out, e);
    if (rc < 0) return -1;
    r->status = rc;
    r->resp = out;
    return 0;
}

int h_retention_put(http_req *r, siyu_err *e);
int h_retention_put(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = retention_put(&r->d, r->body, &out, e);
    if (rc < 0) return -1;
    r->status = rc;
    r->resp = out;
    return 0;
}

int h_retention_sweep(http_req *r, siyu_err *e);
int h_retention_sweep(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    bool more = false;
    int64_t batch = 1000;
    if (req_query_int(r, "batch", &batch, e) < 0) return -1;
    if (batch < 1 || batch > 100000)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "batch", "batch: 1 to 100000");
    if (retention_sweep(&r->d, (int)batch, &out, &more, e)) return -1;
    json_object_set_new(out, "more", json_boolean(more));
    r->status = 200;
    r->resp = out;
    return 0;
}
