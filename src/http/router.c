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
    return 0;
}
