#include "base/error.h"

#include <stdio.h>
#include <string.h>

const char *siyu_code_name(siyu_code c)
{
    switch (c) {
#define X(name, str, status)                                                                       \
    case SIYU_##name:                                                                              \
        return str;
        SIYU_ERROR_MAP(X)
#undef X
    }
    return "internal";
}

int siyu_code_status(siyu_code c)
{
    switch (c) {
#define X(name, str, status)                                                                       \
    case SIYU_##name:                                                                              \
        return status;
        SIYU_ERROR_MAP(X)
#undef X
    }
    return 500;
}

void siyu_err_init(siyu_err *e)
{
    /* not a memset of all 340 bytes: every record of an import inits a few of these */
    e->code = 0;
    e->message[0] = 0;
    e->field[0] = 0;
    e->details = NULL;
}

void siyu_err_clear(siyu_err *e)
{
    if (e->details) json_decref(e->details);
    siyu_err_init(e);
}

int siyu_err_set(siyu_err *e, siyu_code code, const char *field, const char *fmt, ...)
{
    if (!e) return -1;
    e->code = code;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

int siyu_err_within(siyu_err *e, const char *outer)
{
    char f[sizeof e->field], m[sizeof e->message];
    snprintf(f, sizeof f, "%s%s%s", outer, e->field[0] ? "." : "", e->field);
    snprintf(m, sizeof m, "%s: %s", outer, e->message);
    snprintf(e->field, sizeof e->field, "%s", f);
    snprintf(e->message, sizeof e->message, "%s", m);
    return -1;
}

json_t *siyu_err_to_json(const siyu_err *e)
{
    json_t *inner = json_pack("{s:s, s:s}", "code", siyu_code_name(e->code), "message",
                              e->message[0] ? e->message : siyu_code_name(e->code));
    if (e->field[0]) json_object_set_new(inner, "field", json_string(e->field));
    if (e->details) json_object_update(inner, e->details);
    return json_pack("{s:o}", "error", inner);
}
