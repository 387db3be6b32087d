/* calls.h — the calls an end-to-end test of one feature makes on its one keep-alive
 * connection: a request as any token (the admin's by default) with its answer parsed, the
 * setup POSTs that must succeed, and the small readers of an answer. Include after harness.h;
 * the test opens fd (conn_open) once the server is up. */
#ifndef SIYU_TEST_CALLS_H
#define SIYU_TEST_CALLS_H

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

static int fd;
static char buf[1 << 20]; /* the last answer's body */

/* One call as tok (NULL: the admin) with a body of any size (a printf format, NULL: none);
 * the answer parsed into *out when asked. Answers the status, -1 when the connection broke. */
static inline int call_as(const char *tok, const char *method, const char *path, json_t **out,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline int call_as(const char *tok, const char *method, const char *path, json_t **out,
                          const char *fmt, ...)
{
    char *body = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&body, fmt, ap) < 0) body = NULL;
        va_end(ap);
    }
    int st = request_as(fd, tok ? tok : token, method, path, body, buf, sizeof buf);
    free(body);
    if (out) *out = json_loads(buf, JSON_DECODE_ANY, NULL);
    return st;
}

static inline int64_t jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static inline const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The field an error answer names. */
static inline const char *err_field(json_t *o)
{
    return jstr(json_object_get(o, "error"), "field");
}

/* A setup POST that must succeed (200 or 201): answers the id it made, or ends the test. */
static inline int64_t make(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline int64_t make(const char *path, const char *fmt, ...)
{
    char body[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    json_t *o;
    int st = call_as(NULL, "POST", path, &o, "%s", body);
    if (st != 201 && st != 200) {
        fprintf(stderr, "setup POST %s %s: %d %s\n", path, body, st, buf);
        exit(1);
    }
    int64_t id = jint(o, "id");
    json_decref(o);
    return id;
}

/* A new token for a staff member, into out (80 bytes). */
static inline void make_token(int64_t staff, char *out)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/staff/%lld/tokens", (long long)staff);
    json_t *o;
    CHECK_INT_EQ(call_as(NULL, "POST", path, &o, "{}"), 201);
    snprintf(out, 80, "%s", jstr(o, "token"));
    json_decref(o);
}

#endif
