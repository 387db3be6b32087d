/* msg_webhook.c — the webhook adapter: one signed JSON POST per attempt, with libcurl.
 *
 * Headers: Content-Type: application/json, Idempotency-Key: <message id>,
 * X-Siyu-Signature: sha256=<hex HMAC-SHA256(secret, body)>, X-Siyu-Attempt: <n>.
 * The body is byte-identical on every attempt, so a receiver may dedupe by either the
 * key or the body. Answers: 2xx is sent; 408, 425, 429, 5xx, a timeout or a connection
 * failure are retried (a Retry-After is honoured, up to the backoff cap); any other
 * status (3xx — redirects are not followed — and the remaining 4xx) means the receiver
 * refuses the message for good, so it is dead at once.
 *
 * Curl handles are pooled: a handle keeps its connection alive between messages, and
 * each sending thread takes its own from the pool, so the adapter is thread-safe. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "messaging/msg_adapter_internal.h"

#define POOL_MAX 16
#define DEFAULT_TIMEOUT_MS 5000

typedef struct webhook {
    msg_adapter base;
    char *url;
    char *secret;
    size_t secret_len;
    long timeout_ms;
    pthread_mutex_t lock; /* guards the pool */
    CURL *pool[POOL_MAX];
    int pooled;
} webhook;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The start of the answer's body, for the error message. */
typedef struct answer {
    char text[160];
    size_t len;
} answer;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    answer *a = ud;
    size_t total = size * n, room = sizeof a->text - 1 - a->len;
    size_t k = total < room ? total : room;
    memcpy(a->text + a->len, p, k);
    a->len += k;
    a->text[a->len] = 0;
    return total;
}

static CURL *take(webhook *w)
{
    CURL *h = NULL;
    pthread_mutex_lock(&w->lock);
    if (w->pooled > 0) h = w->pool[--w->pooled];
    pthread_mutex_unlock(&w->lock);
    return h ? h : curl_easy_init();
}

static void give_back(webhook *w, CURL *h)
{
    pthread_mutex_lock(&w->lock);
    if (w->pooled < POOL_MAX) {
        w->pool[w->pooled++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&w->lock);
    if (h) curl_easy_cleanup(h);
}

static bool retryable_status(long s)
{
    return s == 408 || s == 425 || s == 429 || s >= 500;
}

/* Every attempt's outcome and how long the receiver took, for /metrics (per process). */
static metric_hist wh_seconds = METRIC_HIST(metric_le_seconds);
static atomic_ullong wh_outcomes[MSG_WEBHOOK__OUTCOMES];

metric_hist *msg_webhook_seconds(void)
{
    return &wh_seconds;
}

void msg_webhook_outcomes(unsigned long long out[MSG_WEBHOOK__OUTCOMES])
{
    for (int i = 0; i < MSG_WEBHOOK__OUTCOMES; i++)
        out[i] = atomic_load(&wh_outcomes[i]);
}

static void wh_attempt(msg_adapter *a, const msg_message *m, json_t *msg, int attempt_no,
                       int64_t now_ms, msg_attempt *r)
{
    webhook *w = (webhook *)a;
    char *body = json_dumps(msg, JSON_COMPACT);
    CURL *h = body ? take(w) : NULL;
    if (!h) {
        snprintf(r->error, sizeof r->error, "out of memory");
        free(body);
        return;
    }
    size_t len = strlen(body);
    char sig[MSG_SIGNATURE_LEN + 1], hdr_sig[128], hdr_key[128], hdr_attempt[48];
    msg_sign(w->secret, w->secret_len, body, len, sig);
    snprintf(hdr_sig, sizeof hdr_sig, MSG_SIGNATURE_HEADER ": %s", sig);
    if (m->key)
        snprintf(hdr_key, sizeof hdr_key, "Idempotency-Key: %s", m->key);
    else
        snprintf(hdr_key, sizeof hdr_key, "Idempotency-Key: %lld", (long long)m->id);
    snprintf(hdr_attempt, sizeof hdr_attempt, "X-Siyu-Attempt: %d", attempt_no);
    struct curl_slist *hdrs = NULL, *t;
    const char *lines[] = {"Content-Type: application/json",
                           hdr_key,
                           hdr_sig,
                           hdr_attempt,
                           "Expect:", /* no 100-continue round trip for larger bodies */
                           NULL};
    for (int i = 0; lines[i]; i++) {
        if (!(t = curl_slist_append(hdrs, lines[i]))) {
            snprintf(r->error, sizeof r->error, "out of memory");
            goto done;
        }
        hdrs = t;
    }

    answer ans = {.len = 0};
    ans.text[0] = 0;
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_reset(h); /* keeps the live connection, drops the previous options */
    curl_easy_setopt(h, CURLOPT_URL, w->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, w->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, w->timeout_ms);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "siyu-webhook/" SIYU_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ans);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

    uint64_t t0 = clock_mono_ns();
    CURLcode rc = curl_easy_perform(h);
    metric_observe(&wh_seconds, (double)(clock_mono_ns() - t0) / 1e9);
    if (rc != CURLE_OK) {
        atomic_fetch_add(&wh_outcomes[MSG_WEBHOOK_NETWORK], 1);
        snprintf(r->error, sizeof r->error, "%s: %s", curl_easy_strerror(rc),
                 errbuf[0] ? errbuf : "no answer");
        goto done;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    r->http_status = (int)status;
    if (status >= 200 && status < 300) {
        r->ok = true;
        atomic_fetch_add(&wh_outcomes[MSG_WEBHOOK_DELIVERED], 1);
        goto done;
    }
    r->permanent = !retryable_status(status);
    atomic_fetch_add(&wh_outcomes[r->permanent ? MSG_WEBHOOK_REFUSED : MSG_WEBHOOK_RETRYABLE], 1);
    curl_off_t after = 0;
    if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
        r->min_delay_ms = (int64_t)after * 1000;
    for (size_t i = 0; i < ans.len; i++) /* one line in the error */
        if (ans.text[i] == '\n' || ans.text[i] == '\r') ans.text[i] = ' ';
    snprintf(r->error, sizeof r->error, "HTTP %ld%s%s", status, ans.len ? ": " : "", ans.text);
done:
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    give_back(w, h);
    free(body);
    (void)now_ms;
}

static void wh_describe(const msg_adapter *a, json_t *o)
{
    const webhook *w = (const webhook *)a;
    json_object_set_new(o, "url", json_string(w->url));
    json_object_set_new(o, "secret_set", json_true());
    json_object_set_new(o, "timeout_ms", json_integer(w->timeout_ms));
}

static void wh_destroy(msg_adapter *a)
{
    webhook *w = (webhook *)a;
    for (int i = 0; i < w->pooled; i++)
        curl_easy_cleanup(w->pool[i]);
    pthread_mutex_destroy(&w->lock);
    free(w->url);
    if (w->secret) {
        sodium_memzero(w->secret, w->secret_len);
        free(w->secret);
    }
    free(w);
}

static const msg_adapter_ops webhook_ops = {"webhook", wh_attempt, wh_describe, wh_destroy};

/* Only absolute http(s) URLs with a host: a typo must fail when the channel is bound,
 * not at three in the morning on the first send. */
static bool url_ok(const char *u)
{
    const char *rest = NULL;
    if (strncmp(u, "http://", 7) == 0)
        rest = u + 7;
    else if (strncmp(u, "https://", 8) == 0)
        rest = u + 8;
    if (!rest || !*rest || *rest == '/' || *rest == ':') return false;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) return false;
    return true;
}

msg_adapter *msg_webhook_new(json_t *cfg, siyu_err *e)
{
    static const char *const keys[] = {MSG_ADAPTER_COMMON_KEYS, "url", "secret", "timeout_ms",
                                       NULL};
    const char *url = NULL, *secret = NULL;
    int64_t timeout = DEFAULT_TIMEOUT_MS;
    if (jx_only(cfg, keys, NULL, e) || jx_str(cfg, "url", true, &url, e) < 0 ||
        jx_str(cfg, "secret", true, &secret, e) < 0 ||
        jx_int(cfg, "timeout_ms", false, &timeout, e) < 0)
        return NULL;
    if (!url_ok(url)) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "url",
                     "url: expected an absolute http:// or https:// URL");
        return NULL;
    }
    if (strlen(secret) < MSG_SECRET_MIN_BYTES) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "secret", "secret: at least %d bytes",
                     MSG_SECRET_MIN_BYTES);
        return NULL;
    }
    if (timeout < 100 || timeout > 120000) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "timeout_ms", "timeout_ms: expected 100 to 120000");
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    webhook *w = calloc(1, sizeof *w);
    if (!w || !(w->url = strdup(url)) || !(w->secret = strdup(secret))) {
        if (w) {
            free(w->url);
            free(w);
        }
        siyu_err_set(e, SIYU_INTERNAL, NULL, "out of memory");
        return NULL;
    }
    w->base.ops = &webhook_ops;
    w->secret_len = strlen(secret);
    w->timeout_ms = (long)timeout;
    pthread_mutex_init(&w->lock, NULL);
    return &w->base;
}
