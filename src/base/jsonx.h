/* jsonx.h — reading request bodies without trusting them.
 *
 * Parsing enforces a size and nesting cap before jansson sees the bytes. The getters
 * read one field each, with its type checked: a wrong type, a missing required field
 * or an out-of-range value fills the siyu_err naming the field and returns -1, so a
 * handler reads straight down (`if (jx_int(body, "qty", 1, &qty, e)) return -1;`). */
#ifndef SIYU_BASE_JSONX_H
#define SIYU_BASE_JSONX_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

#define JX_MAX_DEPTH 32

/* Parses a whole JSON document of len bytes; must be an object unless any_type. */
json_t *jx_parse(const char *buf, size_t len, bool any_type, siyu_err *e);

/* Required fields fail when absent or null; optional ones leave *out untouched and
 * return 0. Every getter returns 1 when the field was present, 0 when absent, -1 on error. */
int jx_int(json_t *obj, const char *key, bool required, int64_t *out, siyu_err *e);
int jx_str(json_t *obj, const char *key, bool required, const char **out, siyu_err *e);
int jx_bool(json_t *obj, const char *key, bool required, bool *out, siyu_err *e);
int jx_time(json_t *obj, const char *key, bool required, int64_t *out, siyu_err *e);
int jx_date(json_t *obj, const char *key, bool required, int32_t *out, siyu_err *e);
/* A string that must be one of a NULL-terminated list; *index gets its position. */
int jx_enum(json_t *obj, const char *key, bool required, const char *const *values, int *index,
            siyu_err *e);

/* Rejects keys not in the NULL-terminated allowed list (a typo must not pass silently). */
int jx_only(json_t *obj, const char *const *allowed, const char *prefix, siyu_err *e);

#endif
