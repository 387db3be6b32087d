/* msg_adapter_internal.h — what every adapter implements (private to src/messaging).
 *
 * msg_adapter.c owns what is common: validating the message, building its JSON, the
 * retry decision and the channel bindings. An adapter only makes one attempt and says
 * how it went. */
#ifndef SIYU_MESSAGING_MSG_ADAPTER_INTERNAL_H
#define SIYU_MESSAGING_MSG_ADAPTER_INTERNAL_H

#include "messaging/msg_adapter.h"

typedef struct msg_attempt {
    bool ok;
    bool permanent;       /* retrying cannot help (e.g. the receiver answered 400) */
    int http_status;      /* 0 when no HTTP answer */
    int64_t min_delay_ms; /* the receiver's Retry-After, 0 when none */
    char error[256];
} msg_attempt;

typedef struct msg_adapter_ops {
    const char *kind;
    /* One attempt; `msg` is msg_message_to_json(m), attempt_no counts from 1. */
    void (*attempt)(msg_adapter *a, const msg_message *m, json_t *msg, int attempt_no,
                    int64_t now_ms, msg_attempt *r);
    /* Adds the adapter's own settings to a describe() object. */
    void (*describe)(const msg_adapter *a, json_t *obj);
    void (*destroy)(msg_adapter *a);
} msg_adapter_ops;

struct msg_adapter {
    const msg_adapter_ops *ops;
    msg_retry_policy retry;
};

/* Keys every adapter's configuration accepts (NULL-terminated, for jx_only). */
#define MSG_ADAPTER_COMMON_KEYS "adapter", "max_attempts", "backoff_base_ms", "backoff_cap_ms"

msg_adapter *msg_webhook_new(json_t *config, siyu_err *e);
msg_adapter *msg_file_new(json_t *config, siyu_err *e);

#endif
