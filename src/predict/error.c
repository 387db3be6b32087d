/* error.c — status names and the error-setting helpers of the predict module. */
#include "predict/internal.h"

#include <stdarg.h>
#include <stdio.h>

const char *predict_status_name(predict_status s)
{
    switch (s) {
#define X(name, str)                                                                               \
    case PREDICT_##name:                                                                           \
        return str;
        PREDICT_STATUS_MAP(X)
#undef X
    }
    return "unknown";
}

predict_status predict__fail(predict_error *err, predict_status s, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = s;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return s;
}

void predict__ok(predict_error *err)
{
    if (err) {
        err->status = PREDICT_OK;
        err->message[0] = '\0';
    }
}
