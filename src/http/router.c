/* router.c — matching a path against the route table, and reading query arguments. */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"

/* Matches one pattern; on success fills the path parameters. */
static int match(const char *pattern, const char *path, http_req *r)
{
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t n = strcspn(s, "/");
            if (n == 0 || n >= sizeof r->word_buf) return 0;
            if (strncmp(p, "{id}", 4) == 0) {
                char buf[24];
                if (n >= sizeof buf) return 0;
                memcpy(buf, s, n);
                buf[n] = 0;
                char *end;
                long long v = strtoll(buf, &end, 10);
                if (*end || v <= 0 || buf[0] == '+' || buf[0] == '0') return 0;
                r->id = v;
            } else {
                memcpy(r->word_buf, s, n);
                r->word_buf[n] = 0;
                r->word = r->word_buf;
            }
            p = close + 1;
            s += n;
            continue;
        }
        if (*p != *s) return 0;
        p++;
        s++;
    }
    /* a trailing slash is forgiven */
    return *p == 0 && (*s == 0 || (s[0] == '/' && s[1] == 0));
}

int router_match(const char *method, const char *path, http_req *r)
{
    int path_found = 0;
    for (int i = 0; i < route_count; i++) {
        if (!match(routes[i].pattern, path, r)) continue;
        if (strcmp(routes[i].method, method) == 0) return i;
        path_found = 1;
    }
    return path_found ? -2 : -1;
}

int router_allow(const char *path, char *out, size_t len)
{
    http_req r;
    int found = 0;
    size_t n = 0;
    out[0] = 0;
    for (int i = 0; i < route_count; i++) {
        memset(&r, 0, sizeof r);
        if (!match(routes[i].pattern, path, &r)) continue;
        bool dup = false;
        for (int j = 0; j < i && !dup; j++) {
            memset(&r, 0, sizeof r);
            dup = strcmp(routes[j].method, routes[i].method) == 0 &&
                  match(routes[j].pattern, path, &r);
        }
        found++;
        if (dup || n >= len) continue; /* a full buffer keeps what fits */
        bool get = strcmp(routes[i].method, "GET") == 0;
        n += (size_t)snprintf(out + n, len - n, "%s%s%s", n ? ", " : "", routes[i].method,
                              get ? ", HEAD" : "");
    }
    if (found && n < len) snprintf(out + n, len - n, ", OPTIONS");
    return found;
}

const char *req_query(http_req *r, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)r->conn, MHD_GET_ARGUMENT_KIND,
                                       name);
}

int req_query_int(http_req *r, const char *name, int64_t *out, siyu_err *e)
{
    const char *v = req_query(r, name);
    if (!v) return 0;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || x < 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, name, "%s: expected a non-negative integer",
                            name);
    *out = x;
    return 1;
}

int req_page(http_req *r, int64_t *cursor, int *limit, siyu_err *e)
{
    int64_t l = 50, c = 0;
    if (req_query_int(r, "limit", &l, e) < 0 || req_query_int(r, "cursor", &c, e) < 0) return -1;
    if (l < 1 || l > 1000)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "limit", "limit: must be between 1 and 1000");
    *limit = (int)l;
    *cursor = c;
    r->paged = true;
    return 0;
}

int http_page_answer(http_req *r, siyu_err *e)
{
    int64_t cursor = 0; /* set by req_page; Release builds cannot see it */
    int limit = 0;
    if (req_page(r, &cursor, &limit, e)) return -1;
    json_t *items = json_is_object(r->resp) ? json_object_get(r->resp, "items") : NULL;
    if (!json_is_array(items) || r->status >= 300) return 0;
    size_t n = json_array_size(items), from = (size_t)cursor < n ? (size_t)cursor : n;
    size_t to = n - from > (size_t)limit ? from + (size_t)limit : n;
    json_t *page = json_array();
    for (size_t i = from; i < to; i++)
        json_array_append(page, json_array_get(items, i));
    json_object_set_new(r->resp, "items", page);
    char next[24];
    snprintf(next, sizeof next, "%zu", to);
    json_object_set_new(r->resp, "next_cursor", to < n ? json_string(next) : json_null());
    return 0;
}

/* ---------------- the declared query parameters ---------------- */

int route_query_parse(const char *query, route_param *out, int cap, char *err, size_t errlen)
{
    int n = 0;
    const char *p = query ? query : "";
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p) break;
        size_t len = strcspn(p, " ");
        char word[256];
        if (len >= sizeof word) {
            snprintf(err, errlen, "query word too long: %.40s…", p);
            return -1;
        }
        memcpy(word, p, len);
        word[len] = 0;
        p += len;
        bool required = len > 1 && word[len - 1] == '!';
        if (required) word[--len] = 0;
        if (strcmp(word, "page") == 0) { /* every list: limit and cursor */
            if (n + 2 > cap) goto full;
            out[n++] = (route_param){.name = "limit", .type = "int"};
            out[n++] = (route_param){.name = "cursor", .type = "string"};
            continue;
        }
        char *colon = strchr(word, ':');
        const char *type = colon ? colon + 1 : "string";
        if (colon) *colon = 0;
        if (!*word || strlen(word) >= sizeof out->name || strlen(type) >= sizeof out->type ||
            !*type) {
            snprintf(err, errlen, "bad query word \"%s\" (expected name[:type][!])", word);
            return -1;
        }
        for (const char *c = word; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) {
                snprintf(err, errlen, "bad query parameter name \"%s\"", word);
                return -1;
            }
        if (n + 1 > cap) goto full;
        route_param *q = &out[n++];
        memset(q, 0, sizeof *q);
        snprintf(q->name, sizeof q->name, "%s", word);
        snprintf(q->type, sizeof q->type, "%s", type);
        q->required = required;
    }
    return n;
full:
    snprintf(err, errlen, "more than %d query parameters", cap);
    return -1;
}

bool route_query_has(const route *rt, const char *name)
{
    route_param ps[32];
    char err[120];
    int n = route_query_parse(rt->query, ps, 32, err, sizeof err);
    for (int i = 0; i < n; i++)
        if (strcmp(ps[i].name, name) == 0) return true;
    return false;
}

bool route_is_list(const route *rt)
{
    route_param ps[32];
    char err[120];
    int n = route_query_parse(rt->query, ps, 32, err, sizeof err);
    bool limit = false, cursor = false;
    for (int i = 0; i < n; i++) {
        limit |= strcmp(ps[i].name, "limit") == 0;
        cursor |= strcmp(ps[i].name, "cursor") == 0;
    }
    return limit && cursor;
}

typedef struct query_check {
    route_param ps[32];
    int n;
    const char *unknown;
} query_check;

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    (void)value;
    query_check *q = cls;
    for (int i = 0; i < q->n; i++)
        if (strcmp(q->ps[i].name, key) == 0) return MHD_YES;
    q->unknown = key;
    return MHD_NO; /* the first unknown one is enough */
}

int route_check_query(http_req *r, const route *rt, siyu_err *e)
{
    if (!r->conn) return 0;
    query_check q = {.n = 0, .unknown = NULL};
    char err[120];
    q.n = route_query_parse(rt->query, q.ps, 32, err, sizeof err);
    if (q.n < 0) return siyu_err_set(e, SIYU_INTERNAL, NULL, "route %s: %s", rt->pattern, err);
    MHD_get_connection_values((struct MHD_Connection *)r->conn, MHD_GET_ARGUMENT_KIND, query_arg,
                              &q);
    if (!q.unknown) return 0;
    char known[400];
    size_t k = 0;
    known[0] = 0;
    for (int i = 0; i < q.n && k < sizeof known; i++)
        k += (size_t)snprintf(known + k, sizeof known - k, "%s%s", i ? ", " : "", q.ps[i].name);
    return siyu_err_set(e, SIYU_INVALID_ARGUMENT, q.unknown,
                        "%.60s: unknown query parameter of %s %s (it takes %s)", q.unknown,
                        rt->method, rt->pattern, q.n ? known : "none");
}
