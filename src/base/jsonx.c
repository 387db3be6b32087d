#include "base/jsonx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"

/* jansson's own limit is 2048 levels; ours is far lower and checked before parsing,
 * skipping string contents so brackets inside strings do not count. */
static int depth_ok(const char *b, size_t n)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > JX_MAX_DEPTH) return 0;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 1;
}

json_t *jx_parse(const char *buf, size_t len, bool any_type, siyu_err *e)
{
    if (len == 0) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, NULL, "body: expected a JSON object");
        return NULL;
    }
    if (!depth_ok(buf, len)) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, NULL, "body: nested deeper than %d levels",
                     JX_MAX_DEPTH);
        return NULL;
    }
    json_error_t je;
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!v) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, NULL, "body: invalid JSON at line %d column %d: %s",
                     je.line, je.column, je.text);
        return NULL;
    }
    if (!any_type && !json_is_object(v)) {
        json_decref(v);
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, NULL, "body: expected a JSON object");
        return NULL;
    }
    return v;
}

static json_t *field(json_t *obj, const char *key, bool required, siyu_err *e, int *rc)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *rc = required ? siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: required", key) : 0;
        return NULL;
    }
    *rc = 1;
    return v;
}

int jx_int(json_t *obj, const char *key, bool required, int64_t *out, siyu_err *e)
{
    int rc;
    json_t *v = field(obj, key, required, e, &rc);
    if (!v) return rc;
    if (!json_is_integer(v))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: not an integer", key);
    *out = json_integer_value(v);
    return 1;
}

int jx_str(json_t *obj, const char *key, bool required, const char **out, siyu_err *e)
{
    int rc;
    json_t *v = field(obj, key, required, e, &rc);
    if (!v) return rc;
    if (!json_is_string(v))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: not a string", key);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: contains a NUL character", key);
    if (json_string_length(v) > 1000)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: longer than 1000 bytes", key);
    *out = json_string_value(v);
    return 1;
}

int jx_bool(json_t *obj, const char *key, bool required, bool *out, siyu_err *e)
{
    int rc;
    json_t *v = field(obj, key, required, e, &rc);
    if (!v) return rc;
    if (!json_is_boolean(v))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: not a boolean", key);
    *out = json_is_true(v);
    return 1;
}

int jx_time(json_t *obj, const char *key, bool required, int64_t *out, siyu_err *e)
{
    const char *s = NULL;
    int rc = jx_str(obj, key, required, &s, e);
    if (rc <= 0) return rc;
    if (time_parse_rfc3339(s, out))
        return siyu_err_set(
            e, SIYU_INVALID_ARGUMENT, key,
            "%s: expected RFC 3339 time with offset, e.g. 2026-11-22T10:00:00+08:00", key);
    return 1;
}

int jx_date(json_t *obj, const char *key, bool required, int32_t *out, siyu_err *e)
{
    const char *s = NULL;
    int rc = jx_str(obj, key, required, &s, e);
    if (rc <= 0) return rc;
    if (date_parse(s, out))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: expected YYYY-MM-DD", key);
    return 1;
}

int jx_enum(json_t *obj, const char *key, bool required, const char *const *values, int *index,
            siyu_err *e)
{
    const char *s = NULL;
    int rc = jx_str(obj, key, required, &s, e);
    if (rc <= 0) return rc;
    for (int i = 0; values[i]; i++)
        if (strcmp(values[i], s) == 0) {
            *index = i;
            return 1;
        }
    char list[256] = "";
    for (int i = 0; values[i]; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, values[i], sizeof list - strlen(list) - 1);
    }
    return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: expected one of %s", key, list);
}

int jx_only(json_t *obj, const char *const *allowed, const char *prefix, siyu_err *e)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int ok = 0;
        /* the first byte first: most names differ there, and an import checks every
         * key of every record against these lists */
        for (int i = 0; allowed[i] && !ok; i++)
            ok = allowed[i][0] == key[0] && strcmp(allowed[i], key) == 0;
        if (!ok) {
            char f[64];
            snprintf(f, sizeof f, "%s%s", prefix ? prefix : "", key);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: unknown field", f);
        }
    }
    return 0;
}
