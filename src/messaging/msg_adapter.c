/* msg_adapter.c — what all adapters share: the retry schedule, the message's JSON, the
 * signature, configuration and the channel bindings. */
#include "messaging/msg_adapter.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "messaging/msg_adapter_internal.h"

/* ---------------------------------------------------------------- retry schedule */

msg_retry_policy msg_retry_policy_default(void)
{
    msg_retry_policy p = {MSG_RETRY_DEFAULT_MAX_ATTEMPTS, MSG_RETRY_DEFAULT_BASE_MS,
                          MSG_RETRY_DEFAULT_CAP_MS};
    return p;
}

int64_t msg_backoff_ceiling_ms(const msg_retry_policy *p, int failures)
{
    if (failures < 1) failures = 1;
    int64_t c = p->base_ms > 0 ? p->base_ms : 1;
    /* doubling stops at the cap, so this never overflows */
    for (int i = 1; i < failures && c < p->cap_ms; i++)
        c *= 2;
    return c < p->cap_ms ? c : p->cap_ms;
}

int64_t msg_backoff_delay_ms(const msg_retry_policy *p, int failures, uint64_t rnd)
{
    int64_t ceiling = msg_backoff_ceiling_ms(p, failures);
    /* rnd / 2^64 is in [0, 1); both factors are exact in a double for any sane ceiling */
    double u = (double)(rnd >> 11) / 9007199254740992.0; /* 53 bits: exact, < 1 */
    int64_t d = (int64_t)(u * (double)(ceiling + 1));
    return d > ceiling ? ceiling : d;
}

void msg_retry_decide(const msg_retry_policy *p, int attempts_made, bool permanent, int64_t now_ms,
                      int64_t min_delay_ms, uint64_t rnd, msg_outcome *o)
{
    o->attempts = attempts_made;
    if (permanent || attempts_made >= p->max_attempts) {
        o->status = MSG_DEAD;
        o->retry_at_ms = 0;
        return;
    }
    int64_t d = msg_backoff_delay_ms(p, attempts_made, rnd);
    int64_t floor_ms = min_delay_ms < p->cap_ms ? min_delay_ms : p->cap_ms;
    o->status = MSG_RETRY;
    o->retry_at_ms = now_ms + (d > floor_ms ? d : floor_ms);
}

const char *msg_status_name(msg_status s)
{
    switch (s) {
    case MSG_SENT:
        return "sent";
    case MSG_RETRY:
        return "retry";
    case MSG_DEAD:
        return "dead";
    }
    return "?";
}

/* ---------------------------------------------------------------- message JSON */

json_t *msg_message_to_json(const msg_message *m)
{
    json_t *o = json_object();
    if (m->key)
        json_object_set_new(o, "key", json_string(m->key));
    else
        json_object_set_new(o, "message_id", json_integer(m->id));
    const char *ch = msg_channel_name(m->channel);
    json_object_set_new(o, "channel", ch ? json_string(ch) : json_null());
    json_object_set_new(o, "member_id", json_integer(m->member_id));
    if (m->journey_id > 0) json_object_set_new(o, "journey_id", json_integer(m->journey_id));
    if (m->to && json_is_object(m->to)) json_object_set(o, "to", m->to);
    json_object_set_new(o, "text", m->text ? json_string(m->text) : json_null());
    if (m->tmpl && json_is_object(m->tmpl)) json_object_set(o, "template", m->tmpl);
    if (m->data && json_is_object(m->data)) json_object_set(o, "data", m->data);
    if (m->created_at > 0) {
        char t[40];
        time_format_rfc3339(m->created_at, t, sizeof t);
        json_object_set_new(o, "created_at", json_string(t));
    }
    return o;
}

/* ---------------------------------------------------------------- signatures */

void msg_sign(const char *secret, size_t secret_len, const char *body, size_t len,
              char out[MSG_SIGNATURE_LEN + 1])
{
    /* the multi-part API takes a key of any length, as HMAC itself does, so a receiver
     * can verify with any HMAC-SHA256 library */
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, secret_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, 65, mac, sizeof mac);
    sodium_memzero(&st, sizeof st);
}

bool msg_signature_verify(const char *secret, size_t secret_len, const char *body, size_t len,
                          const char *header_value)
{
    if (!header_value || strlen(header_value) != MSG_SIGNATURE_LEN) return false;
    char want[MSG_SIGNATURE_LEN + 1];
    msg_sign(secret, secret_len, body, len, want);
    return sodium_memcmp(want, header_value, MSG_SIGNATURE_LEN) == 0;
}

/* ---------------------------------------------------------------- configuration */

static int read_retry(json_t *cfg, msg_retry_policy *p, siyu_err *e)
{
    *p = msg_retry_policy_default();
    int64_t v;
    int rc;
    if ((rc = jx_int(cfg, "max_attempts", false, &v, e)) < 0) return -1;
    if (rc == 1) {
        if (v < 1 || v > 100)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "max_attempts",
                                "max_attempts: expected 1 to 100");
        p->max_attempts = (int)v;
    }
    if ((rc = jx_int(cfg, "backoff_base_ms", false, &v, e)) < 0) return -1;
    if (rc == 1) {
        if (v < 1 || v > 86400000)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "backoff_base_ms",
                                "backoff_base_ms: expected 1 to 86400000 (one day)");
        p->base_ms = v;
    }
    if ((rc = jx_int(cfg, "backoff_cap_ms", false, &v, e)) < 0) return -1;
    if (rc == 1) {
        if (v < 1 || v > 7 * 86400000LL)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "backoff_cap_ms",
                                "backoff_cap_ms: expected 1 to 604800000 (seven days)");
        p->cap_ms = v;
    }
    if (p->cap_ms < p->base_ms)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "backoff_cap_ms",
                            "backoff_cap_ms: must not be below backoff_base_ms (%lld)",
                            (long long)p->base_ms);
    return 0;
}

msg_adapter *msg_adapter_new(json_t *config, siyu_err *e)
{
    static const char *const kinds[] = {"webhook", "file", NULL};
    if (!json_is_object(config)) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, NULL, "body: expected a JSON object");
        return NULL;
    }
    int kind;
    msg_retry_policy retry;
    if (jx_enum(config, "adapter", true, kinds, &kind, e) < 0 || read_retry(config, &retry, e))
        return NULL;
    msg_adapter *a = kind == 0 ? msg_webhook_new(config, e) : msg_file_new(config, e);
    if (a) a->retry = retry;
    return a;
}

void msg_adapter_free(msg_adapter *a)
{
    if (a) a->ops->destroy(a);
}

const char *msg_adapter_kind(const msg_adapter *a)
{
    return a->ops->kind;
}

json_t *msg_adapter_describe(const msg_adapter *a)
{
    json_t *o = json_pack("{s:s}", "adapter", a->ops->kind);
    a->ops->describe(a, o);
    json_object_set_new(o, "max_attempts", json_integer(a->retry.max_attempts));
    json_object_set_new(o, "backoff_base_ms", json_integer(a->retry.base_ms));
    json_object_set_new(o, "backoff_cap_ms", json_integer(a->retry.cap_ms));
    return o;
}

/* ---------------------------------------------------------------- sending */

static void dead(msg_outcome *out, int attempts, const char *why)
{
    memset(out, 0, sizeof *out);
    out->status = MSG_DEAD;
    out->attempts = attempts;
    snprintf(out->error, sizeof out->error, "%s", why);
}

void msg_adapter_send(msg_adapter *a, const msg_message *m, int64_t now_ms, msg_outcome *out)
{
    if (!m || m->id <= 0 || !m->text || !msg_channel_name(m->channel) || m->attempts < 0 ||
        (m->data && !json_is_object(m->data))) {
        dead(out, m ? m->attempts : 0, "invalid message: needs an id > 0, a channel and text");
        return;
    }
    json_t *msg = msg_message_to_json(m);
    msg_attempt r;
    memset(&r, 0, sizeof r);
    a->ops->attempt(a, m, msg, m->attempts + 1, now_ms, &r);
    json_decref(msg);

    memset(out, 0, sizeof *out);
    out->http_status = r.http_status;
    if (r.ok) {
        out->status = MSG_SENT;
        out->attempts = m->attempts + 1;
        return;
    }
    snprintf(out->error, sizeof out->error, "%s", r.error[0] ? r.error : "failed");
    uint64_t rnd;
    randombytes_buf(&rnd, sizeof rnd);
    msg_retry_decide(&a->retry, m->attempts + 1, r.permanent, now_ms, r.min_delay_ms, rnd, out);
}

/* ---------------------------------------------------------------- bindings */

void msg_bindings_init(msg_bindings *b)
{
    memset(b, 0, sizeof *b);
}

void msg_bindings_clear(msg_bindings *b)
{
    for (int i = 0; i < MSG_CHANNEL_COUNT; i++) {
        msg_adapter_free(b->adapter[i]);
        b->adapter[i] = NULL;
    }
}

int msg_bindings_bind(msg_bindings *b, const char *channel, json_t *config, siyu_err *e)
{
    int ch = channel ? msg_channel_from_name(channel, strlen(channel)) : -1;
    if (ch < 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "channel",
                            "channel: expected one of wechat_template, sms, wecom, webhook");
    msg_adapter *a = msg_adapter_new(config, e);
    if (!a) return -1;
    msg_adapter_free(b->adapter[ch]);
    b->adapter[ch] = a;
    return 0;
}

void msg_bindings_send(msg_bindings *b, const msg_message *m, int64_t now_ms, msg_outcome *out)
{
    const char *name = m ? msg_channel_name(m->channel) : NULL;
    if (!name) {
        dead(out, m ? m->attempts : 0, "invalid message: unknown channel");
        return;
    }
    if (!b->adapter[m->channel]) {
        char why[128];
        snprintf(why, sizeof why, "channel %s is not bound to an adapter", name);
        dead(out, m->attempts, why);
        return;
    }
    msg_adapter_send(b->adapter[m->channel], m, now_ms, out);
}
