/* msg_adapter.h — how a channel's messages leave siyu.
 *
 * Each channel (msg_channel.h) is bound by configuration to an adapter:
 *   {"adapter": "webhook", "url": "http://127.0.0.1:9000/hook", "secret": "…"}
 *   {"adapter": "file", "path": "sms.ndjson"}   (inside the outbox directory)
 * plus optional retry settings (docs/messaging.md lists every key). The webhook adapter
 * POSTs the message as JSON, signed with HMAC-SHA256 and carrying the message id as its
 * Idempotency-Key; the file adapter appends one NDJSON line and fsyncs it.
 *
 * An adapter never sleeps and never loops: one call is one attempt, and the answer is an
 * outcome — sent, failed with "retry at T" (exponential backoff with full jitter, T in
 * the caller's clock), or dead (after max_attempts failures, or at once when the receiver
 * refuses the message for good). The caller persists the outcome and calls again at T,
 * passing the number of attempts already made; a time-controlled test is therefore as
 * fast as a real one is slow.
 *
 * Adapters are safe to use from several threads at once. */
#ifndef SIYU_MESSAGING_MSG_ADAPTER_H
#define SIYU_MESSAGING_MSG_ADAPTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/metric.h"
#include "messaging/msg_channel.h"

/* ---------------------------------------------------------------- retry schedule */

#define MSG_RETRY_DEFAULT_MAX_ATTEMPTS 12
#define MSG_RETRY_DEFAULT_BASE_MS 5000   /* ceiling of the first retry's delay */
#define MSG_RETRY_DEFAULT_CAP_MS 3600000 /* no delay ceiling above one hour */

typedef struct msg_retry_policy {
    int max_attempts; /* attempts in all, >= 1; the max_attempts-th failure is dead */
    int64_t base_ms;  /* ceiling of the delay after the first failure */
    int64_t cap_ms;   /* the ceiling never grows past this */
} msg_retry_policy;

/* The defaults above. */
msg_retry_policy msg_retry_policy_default(void);

/* Ceiling of the delay after the n-th failed attempt (n >= 1): min(cap, base * 2^(n-1)). */
int64_t msg_backoff_ceiling_ms(const msg_retry_policy *p, int failures);
/* Full jitter: a delay uniform in [0, ceiling], drawn from rnd (uniform over 64 bits) as
 * floor(u * (ceiling + 1)) with u = (rnd >> 11) / 2^53 in [0, 1). Pure: rnd = 0 gives 0,
 * rnd = 2^63 gives floor((ceiling + 1) / 2), rnd = UINT64_MAX gives the ceiling. */
int64_t msg_backoff_delay_ms(const msg_retry_policy *p, int failures, uint64_t rnd);

/* ---------------------------------------------------------------- messages and outcomes */

typedef struct msg_message {
    int64_t id; /* > 0, unique; sent as the Idempotency-Key */
    msg_channel channel;
    int64_t member_id;
    int64_t journey_id; /* 0 when the message belongs to no journey */
    /* the address on the channel (borrowed), or NULL: {"phone"} for sms, {"openid",
     * "app_id"} for wechat_template, {"external_userid", "userid"} (the member's and the
     * sending guide's WeCom ids) for wecom */
    json_t *to;
    const char *text; /* the rendered text, UTF-8 */
    /* a WeChat template message (borrowed), or NULL: {"template_id", "data": {name:
     * {"value"}}} */
    json_t *tmpl;
    json_t *data;       /* an object of extra fields for the channel (borrowed), or NULL */
    int64_t created_at; /* unix seconds it entered the outbox; 0 to leave it out */
    int attempts;       /* attempts already made; 0 the first time */
    /* a message that is no outbox row (a request to the bridge for a new group): its own
     * Idempotency-Key, e.g. "group-request-12", sent as "key" in place of "message_id";
     * NULL for the outbox's messages */
    const char *key;
} msg_message;

typedef enum msg_status {
    MSG_SENT,  /* delivered to the adapter's receiver */
    MSG_RETRY, /* this attempt failed; try again at retry_at_ms */
    MSG_DEAD   /* dead-lettered: no more attempts */
} msg_status;

/* "sent", "retry", "dead". */
const char *msg_status_name(msg_status s);

typedef struct msg_outcome {
    msg_status status;
    int attempts;        /* attempts made, this one included */
    int64_t retry_at_ms; /* MSG_RETRY: unix ms when to try again; otherwise 0 */
    int http_status;     /* webhook: the receiver's HTTP status; 0 when none */
    char error[256];     /* why the last attempt failed; "" when sent */
} msg_outcome;

/* The decision after a failed attempt, shared by every adapter (pure): dead when
 * `permanent` or when attempts_made >= max_attempts; otherwise retry at
 * now_ms + max(msg_backoff_delay_ms(p, attempts_made, rnd), min(min_delay_ms, cap_ms)).
 * min_delay_ms carries a receiver's Retry-After (0 when none). Sets status, attempts and
 * retry_at_ms; leaves http_status and error alone. */
void msg_retry_decide(const msg_retry_policy *p, int attempts_made, bool permanent, int64_t now_ms,
                      int64_t min_delay_ms, uint64_t rnd, msg_outcome *o);

/* The message as JSON: {message_id, channel, member_id, journey_id?, to?, text, template?,
 * data?, created_at?} — the webhook's body and the file adapter's line. A new reference. */
json_t *msg_message_to_json(const msg_message *m);

/* ---------------------------------------------------------------- signatures */

#define MSG_SIGNATURE_HEADER "X-Siyu-Signature"
#define MSG_SIGNATURE_LEN 71 /* "sha256=" + 64 hex digits */
#define MSG_SECRET_MIN_BYTES 16

/* out = "sha256=" + lowercase hex HMAC-SHA256(secret, body): the header's value. */
void msg_sign(const char *secret, size_t secret_len, const char *body, size_t len,
              char out[MSG_SIGNATURE_LEN + 1]);
/* What a receiver does: recompute and compare in constant time. */
bool msg_signature_verify(const char *secret, size_t secret_len, const char *body, size_t len,
                          const char *header_value);

/* ---------------------------------------------------------------- adapters */

typedef struct msg_adapter msg_adapter;

/* File adapters write only inside one directory, the outbox directory: their `path` is
 * relative to it, has no "." or ".." component, and neither its directories nor the file
 * may be symbolic links that lead out of it (the file itself is never a link). The
 * directory is created (0750) when a file adapter is first made. Set once at start-up
 * (siyu serve --outbox-dir, SIYU_OUTBOX_DIR, default a folder "outbox" beside the store);
 * while none is set every file adapter is refused. 0, or -1 when out of memory. */
int msg_outbox_dir_set(const char *dir);
const char *msg_outbox_dir(void); /* NULL when none */

/* A new adapter from a channel binding's configuration (the body of
 * PUT /api/v1/channels/{name}). Unknown keys, a bad URL, a short secret or an out-of-range
 * setting fail with e naming the field (code invalid_argument); NULL is returned then. */
msg_adapter *msg_adapter_new(json_t *config, siyu_err *e);
/* Closes files and connections; NULL is a no-op. */
void msg_adapter_free(msg_adapter *a);

/* For /metrics: every webhook attempt's outcome (a 2xx; a status worth a retry — 408, 425,
 * 429, 5xx; any other status; no answer at all) and how long it took, in seconds. */
enum {
    MSG_WEBHOOK_DELIVERED,
    MSG_WEBHOOK_RETRYABLE,
    MSG_WEBHOOK_REFUSED,
    MSG_WEBHOOK_NETWORK,
    MSG_WEBHOOK__OUTCOMES
};
void msg_webhook_outcomes(unsigned long long out[MSG_WEBHOOK__OUTCOMES]);
metric_hist *msg_webhook_seconds(void);

/* "webhook" or "file". */
const char *msg_adapter_kind(const msg_adapter *a);
/* The configuration with every default filled in and the secret left out
 * ("secret_set": true instead): what GET shows. A new reference. */
json_t *msg_adapter_describe(const msg_adapter *a);

/* One attempt to send m at now_ms (unix milliseconds, the caller's clock). Always fills
 * *out. A message without an id or text is dead at once (a bug upstream, not a delivery
 * problem to retry). */
void msg_adapter_send(msg_adapter *a, const msg_message *m, int64_t now_ms, msg_outcome *out);

/* ---------------------------------------------------------------- channel bindings */

typedef struct msg_bindings {
    msg_adapter *adapter[MSG_CHANNEL_COUNT]; /* owned; NULL while unbound */
} msg_bindings;

void msg_bindings_init(msg_bindings *b);
/* Frees every adapter and leaves b unbound. */
void msg_bindings_clear(msg_bindings *b);
/* Binds channel (by name) to a new adapter built from config, replacing (and freeing) the
 * previous one. On error the old binding stays and e names the field ("channel" for an
 * unknown channel name). */
int msg_bindings_bind(msg_bindings *b, const char *channel, json_t *config, siyu_err *e);
/* Sends m through its channel's adapter; an unbound channel is a dead outcome. Callers
 * must not bind while sending on the same msg_bindings (rebinding frees the adapter). */
void msg_bindings_send(msg_bindings *b, const msg_message *m, int64_t now_ms, msg_outcome *out);

#endif
