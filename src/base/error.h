/* error.h — the one error table of siyu.
 *
 * Every failure a caller can see is one of these codes. The table gives each code its
 * api.md name and HTTP status, so the HTTP layer, the CLI and the domain agree by
 * construction (libuv's UV_ERRNO_MAP idea). A siyu_err also carries a message, the
 * offending field and optional JSON details (e.g. the two member ids of a conflict). */
#ifndef SIYU_BASE_ERROR_H
#define SIYU_BASE_ERROR_H

#include <jansson.h>
#include <stdarg.h>

#define SIYU_ERROR_MAP(X)                                                                          \
    X(OK, "ok", 200)                                                                               \
    X(INVALID_ARGUMENT, "invalid_argument", 400)                                                   \
    X(UNAUTHENTICATED, "unauthenticated", 401)                                                     \
    X(PERMISSION_DENIED, "permission_denied", 403)                                                 \
    X(NOT_FOUND, "not_found", 404)                                                                 \
    X(CONFLICT, "conflict", 409)                                                                   \
    X(PAYLOAD_TOO_LARGE, "payload_too_large", 413)                                                 \
    X(UNPROCESSABLE, "unprocessable", 422)                                                         \
    X(RATE_LIMITED, "rate_limited", 429)                                                           \
    X(INTERNAL, "internal", 500)

typedef enum siyu_code {
#define X(name, str, status) SIYU_##name,
    SIYU_ERROR_MAP(X)
#undef X
} siyu_code;

typedef struct siyu_err {
    siyu_code code;
    char message[256];
    char field[64];
    json_t *details; /* owned; extra members merged into the error object, or NULL */
} siyu_err;

const char *siyu_code_name(siyu_code c);
int siyu_code_status(siyu_code c);

void siyu_err_init(siyu_err *e);
void siyu_err_clear(siyu_err *e); /* frees details, resets to OK */

/* Sets code, field (may be NULL) and a printf message; returns -1 so callers can
 * `return siyu_err_set(...)`. The message of a field error starts with the field. */
int siyu_err_set(siyu_err *e, siyu_code code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Places an error inside an outer element (a batch's "events[3]"): the field becomes
 * events[3].chat_id and the message starts with events[3]: — so a client learns which
 * element of its batch was refused. Returns -1, as siyu_err_set does. */
int siyu_err_within(siyu_err *e, const char *outer);

/* {"error": {"code", "message", "field"?, ...details}} — a new reference. */
json_t *siyu_err_to_json(const siyu_err *e);

#endif
