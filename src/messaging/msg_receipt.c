#include "messaging/msg_receipt.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"

const char *msg_receipt_status_name(msg_receipt_status s)
{
    switch (s) {
    case MSG_RECEIPT_DELIVERED:
        return "delivered";
    case MSG_RECEIPT_FAILED:
        return "failed";
    case MSG_RECEIPT_READ:
        return "read";
    }
    return "?";
}

/* An integer, or the decimal string a receiver echoing the Idempotency-Key sends. */
static int read_id(json_t *obj, int64_t *id, siyu_err *e)
{
    json_t *v = json_object_get(obj, "message_id");
    if (!v || json_is_null(v))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "message_id", "message_id: required");
    int64_t n = 0;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (len == 0 || len > 18 || strlen(s) != len) goto bad;
        for (size_t i = 0; i < len; i++) {
            if (s[i] < '0' || s[i] > '9') goto bad;
            n = n * 10 + (s[i] - '0');
        }
    } else {
        goto bad;
    }
    if (n <= 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "message_id",
                            "message_id: must be a positive integer");
    *id = n;
    return 0;
bad:
    return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "message_id",
                        "message_id: expected an integer (or a string of digits)");
}

int msg_receipt_parse(const char *body, size_t len, msg_receipt *out, siyu_err *e)
{
    static const char *const keys[] = {"message_id", "status", "at", "reason", NULL};
    static const char *const statuses[] = {"delivered", "failed", "read", NULL};
    if (len > MSG_RECEIPT_MAX_BYTES)
        return siyu_err_set(e, SIYU_PAYLOAD_TOO_LARGE, NULL, "body: larger than %d bytes",
                            MSG_RECEIPT_MAX_BYTES);
    json_t *o = jx_parse(body, len, false, e);
    if (!o) return -1;
    msg_receipt r;
    memset(&r, 0, sizeof r);
    int status = 0;
    const char *reason = NULL;
    int rc = -1;
    if (jx_only(o, keys, NULL, e) || read_id(o, &r.message_id, e) ||
        jx_enum(o, "status", true, statuses, &status, e) < 0 ||
        jx_time(o, "at", true, &r.at, e) < 0 || jx_str(o, "reason", false, &reason, e) < 0)
        goto done;
    if (reason && strlen(reason) > MSG_RECEIPT_REASON_MAX) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "reason", "reason: longer than %d bytes",
                     MSG_RECEIPT_REASON_MAX);
        goto done;
    }
    if (reason) snprintf(r.reason, sizeof r.reason, "%s", reason);
    r.status = (msg_receipt_status)status;
    *out = r;
    rc = 0;
done:
    json_decref(o);
    return rc;
}
