/* The webhook adapter against a REAL HTTP receiver: libmicrohttpd on a free loopback
 * port. The receiver checks what docs/messaging.md promises on its own terms — the
 * HMAC-SHA256 of the raw body with the shared 32-byte secret (libsodium's one-shot
 * crypto_auth_hmacsha256, not the adapter's code), an Idempotency-Key equal to the
 * body's message_id, JSON content — and can be told to fail the first K requests, so
 * retries and the dead letter run over real sockets. Time is the test's own: the
 * adapter answers "retry at T" and the test simply calls again "at T". */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "messaging/msg_adapter.h"

#define SECRET "0123456789abcdef0123456789ABCDEF" /* 32 bytes */
#define MAX_REQ 512

typedef struct receiver {
    struct MHD_Daemon *d;
    uint16_t port;
    pthread_mutex_t lock;
    int fail_first; /* answer fail_status to the first K well-signed requests */
    int fail_status;
    const char *retry_after; /* sent with failures when set */
    int requests, bad_signature, bad_key, bad_type;
    char keys[MAX_REQ][32];
    char attempt_hdr[MAX_REQ][8];
    char sig_hdr[MAX_REQ][80];
    char *bodies[MAX_REQ];
} receiver;

typedef struct upload {
    char *p;
    size_t len;
} upload;

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *text,
                              const char *retry_after)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (retry_after) MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* The receiver's own check: hex-decode the header and compare with HMAC-SHA256. */
static bool signature_ok(const char *hdr, const char *body, size_t len)
{
    unsigned char got[crypto_auth_hmacsha256_BYTES], want[crypto_auth_hmacsha256_BYTES];
    size_t n = 0;
    if (!hdr || strncmp(hdr, "sha256=", 7) != 0 || strlen(hdr) != 7 + 64 ||
        sodium_hex2bin(got, sizeof got, hdr + 7, 64, NULL, &n, NULL) != 0 || n != sizeof got)
        return false;
    crypto_auth_hmacsha256(want, (const unsigned char *)body, len, (const unsigned char *)SECRET);
    return crypto_verify_32(got, want) == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **ctx)
{
    receiver *rv = cls;
    upload *u = *ctx;
    if (!u) {
        *ctx = u = calloc(1, sizeof *u);
        return u ? MHD_YES : MHD_NO;
    }
    if (*data_size) {
        char *p = realloc(u->p, u->len + *data_size + 1);
        if (!p) return MHD_NO;
        memcpy(p + u->len, data, *data_size);
        u->p = p;
        u->len += *data_size;
        u->p[u->len] = 0;
        *data_size = 0;
        return MHD_YES;
    }
    char *body = u->p ? u->p : strdup("");
    size_t len = u->len;
    free(u);
    *ctx = NULL;

    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Siyu-Signature");
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    const char *att = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Siyu-Attempt");
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");

    pthread_mutex_lock(&rv->lock);
    unsigned status = 200;
    const char *text = "ok", *ra = NULL;
    if (strcmp(method, "POST") != 0 || strcmp(url, "/hook") != 0) {
        status = 404, text = "no such hook";
    } else if (!signature_ok(sig, body, len)) {
        rv->bad_signature++;
        status = 401, text = "bad signature";
    } else {
        json_t *j = json_loadb(body, len, 0, NULL);
        char id[32] = "";
        if (j && json_is_integer(json_object_get(j, "message_id")))
            snprintf(id, sizeof id, "%lld",
                     (long long)json_integer_value(json_object_get(j, "message_id")));
        json_decref(j);
        if (!key || strcmp(key, id) != 0) rv->bad_key++;
        if (!type || strcmp(type, "application/json") != 0) rv->bad_type++;
        int k = rv->requests++;
        if (k < MAX_REQ) {
            snprintf(rv->keys[k], sizeof rv->keys[k], "%s", key ? key : "");
            snprintf(rv->attempt_hdr[k], sizeof rv->attempt_hdr[k], "%s", att ? att : "");
            snprintf(rv->sig_hdr[k], sizeof rv->sig_hdr[k], "%s", sig);
            rv->bodies[k] = body;
            body = NULL;
        }
        if (k < rv->fail_first) {
            status = (unsigned)rv->fail_status, text = "try later\nplease";
            ra = rv->retry_after;
        }
    }
    pthread_mutex_unlock(&rv->lock);
    free(body);
    (void)version;
    return answer(c, status, text, ra);
}

static void receiver_start(receiver *rv)
{
    memset(rv, 0, sizeof *rv);
    pthread_mutex_init(&rv->lock, NULL);
    rv->fail_status = 503;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = 0; /* a free port, chosen by the kernel */
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rv->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                             on_request, rv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                             MHD_OPTION_THREAD_POOL_SIZE, 4u, MHD_OPTION_END);
    if (!rv->d) {
        fprintf(stderr, "cannot start the receiver\n");
        exit(1);
    }
    rv->port = MHD_get_daemon_info(rv->d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void receiver_reset(receiver *rv, int fail_first, int fail_status, const char *ra)
{
    pthread_mutex_lock(&rv->lock);
    for (int i = 0; i < rv->requests && i < MAX_REQ; i++)
        free(rv->bodies[i]);
    rv->requests = rv->bad_signature = rv->bad_key = rv->bad_type = 0;
    rv->fail_first = fail_first;
    rv->fail_status = fail_status;
    rv->retry_after = ra;
    pthread_mutex_unlock(&rv->lock);
}

static void receiver_stop(receiver *rv)
{
    MHD_stop_daemon(rv->d);
    receiver_reset(rv, 0, 503, NULL);
    pthread_mutex_destroy(&rv->lock);
}

static msg_adapter *webhook(uint16_t port, const char *secret, int max_attempts)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/hook", (unsigned)port);
    json_t *c = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i}", "adapter", "webhook", "url", url,
                          "secret", secret, "max_attempts", max_attempts, "backoff_base_ms", 1000,
                          "backoff_cap_ms", 60000, "timeout_ms", 3000);
    siyu_err e;
    siyu_err_init(&e);
    msg_adapter *a = msg_adapter_new(c, &e);
    if (!a) {
        fprintf(stderr, "webhook config: %s\n", e.message);
        exit(1);
    }
    json_decref(c);
    return a;
}

static const int64_t T0 = 1800000000000; /* the test's clock, in ms */

static void test_sent_first_time(receiver *rv)
{
    receiver_reset(rv, 0, 503, NULL);
    msg_adapter *a = webhook(rv->port, SECRET, 5);
    msg_message m = {.id = 101,
                     .channel = MSG_CH_WEBHOOK,
                     .member_id = 42,
                     .journey_id = 3,
                     .text = "王芳您好，您的积分余额为1200分"};
    msg_outcome o;
    msg_adapter_send(a, &m, T0, &o);
    CHECK_INT_EQ(o.status, MSG_SENT);
    CHECK_INT_EQ(o.attempts, 1);
    CHECK_INT_EQ(o.http_status, 200);
    CHECK_INT_EQ(o.retry_at_ms, 0);
    CHECK_INT_EQ(rv->requests, 1);
    CHECK_INT_EQ(rv->bad_signature, 0);
    CHECK_INT_EQ(rv->bad_key, 0);
    CHECK_INT_EQ(rv->bad_type, 0);
    CHECK_STR_EQ(rv->keys[0], "101");
    CHECK_STR_EQ(rv->attempt_hdr[0], "1");
    json_t *j = json_loads(rv->bodies[0], 0, NULL);
    CHECK(j != NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(j, "text")), "王芳您好，您的积分余额为1200分");
    CHECK_STR_EQ(json_string_value(json_object_get(j, "channel")), "webhook");
    CHECK_INT_EQ(json_integer_value(json_object_get(j, "member_id")), 42);
    CHECK_INT_EQ(json_integer_value(json_object_get(j, "journey_id")), 3);
    json_decref(j);
    /* the library's own verifier (what docs/messaging.md offers receivers written in C)
     * agrees with the receiver's, and refuses the body with one byte changed */
    CHECK(msg_signature_verify(SECRET, 32, rv->bodies[0], strlen(rv->bodies[0]), rv->sig_hdr[0]));
    rv->bodies[0][0] = ' ';
    CHECK(!msg_signature_verify(SECRET, 32, rv->bodies[0], strlen(rv->bodies[0]), rv->sig_hdr[0]));
    msg_adapter_free(a);
}

/* Fails the first K, succeeds on K+1: each retry is due within its backoff ceiling. */
static void test_retry_then_sent(receiver *rv)
{
    const int K = 3;
    receiver_reset(rv, K, 503, NULL);
    msg_adapter *a = webhook(rv->port, SECRET, 5);
    msg_message m = {.id = 202, .channel = MSG_CH_SMS, .member_id = 7, .text = "Hello {{x}} \"q\""};
    msg_outcome o;
    int64_t now = T0;
    const int64_t ceiling[] = {1000, 2000, 4000}; /* base 1 s, doubling */
    for (int i = 0; i < K; i++) {
        msg_adapter_send(a, &m, now, &o);
        CHECK_INT_EQ(o.status, MSG_RETRY);
        CHECK_INT_EQ(o.attempts, i + 1);
        CHECK_INT_EQ(o.http_status, 503);
        CHECK(strstr(o.error, "HTTP 503: try later please") != NULL);
        CHECK(o.retry_at_ms >= now && o.retry_at_ms <= now + ceiling[i]);
        now = o.retry_at_ms; /* the caller's clock moves to T */
        m.attempts = o.attempts;
    }
    msg_adapter_send(a, &m, now, &o);
    CHECK_INT_EQ(o.status, MSG_SENT);
    CHECK_INT_EQ(o.attempts, K + 1);
    CHECK_INT_EQ(rv->requests, K + 1);
    CHECK_INT_EQ(rv->bad_signature, 0);
    CHECK_INT_EQ(rv->bad_key, 0);
    for (int i = 0; i <= K; i++) {
        char want[8];
        snprintf(want, sizeof want, "%d", i + 1);
        CHECK_STR_EQ(rv->keys[i], "202"); /* one key: the receiver can dedupe */
        CHECK_STR_EQ(rv->attempt_hdr[i], want);
        CHECK_STR_EQ(rv->bodies[i], rv->bodies[0]); /* byte-identical every time */
    }
    msg_adapter_free(a);
}

static void test_dead_letter(receiver *rv)
{
    receiver_reset(rv, 1000, 500, NULL);
    msg_adapter *a = webhook(rv->port, SECRET, 3);
    msg_message m = {.id = 303, .channel = MSG_CH_SMS, .member_id = 7, .text = "x"};
    msg_outcome o;
    int64_t now = T0;
    msg_adapter_send(a, &m, now, &o);
    CHECK_INT_EQ(o.status, MSG_RETRY);
    m.attempts = o.attempts;
    now = o.retry_at_ms;
    msg_adapter_send(a, &m, now, &o);
    CHECK_INT_EQ(o.status, MSG_RETRY);
    m.attempts = o.attempts;
    now = o.retry_at_ms;
    msg_adapter_send(a, &m, now, &o);
    CHECK_INT_EQ(o.status, MSG_DEAD);
    CHECK_INT_EQ(o.attempts, 3);
    CHECK_INT_EQ(o.retry_at_ms, 0);
    CHECK_INT_EQ(o.http_status, 500);
    CHECK_INT_EQ(rv->requests, 3);
    msg_adapter_free(a);

    /* a refusal for good (400) is dead at the first attempt */
    receiver_reset(rv, 1, 400, NULL);
    a = webhook(rv->port, SECRET, 5);
    m.attempts = 0;
    msg_adapter_send(a, &m, T0, &o);
    CHECK_INT_EQ(o.status, MSG_DEAD);
    CHECK_INT_EQ(o.attempts, 1);
    CHECK_INT_EQ(o.http_status, 400);
    CHECK_INT_EQ(rv->requests, 1);
    msg_adapter_free(a);

    /* the wrong secret: the receiver's own check refuses it (401) → dead */
    receiver_reset(rv, 0, 503, NULL);
    a = webhook(rv->port, "not-the-shared-secret-at-all!!!!", 5);
    msg_adapter_send(a, &m, T0, &o);
    CHECK_INT_EQ(o.status, MSG_DEAD);
    CHECK_INT_EQ(o.http_status, 401);
    CHECK_INT_EQ(rv->bad_signature, 1);
    CHECK_INT_EQ(rv->requests, 0);
    msg_adapter_free(a);
}

static void test_retry_after(receiver *rv)
{
    /* 429 with Retry-After: 7 → not before 7 s, although the jitter is at most 1 s */
    receiver_reset(rv, 1, 429, "7");
    msg_adapter *a = webhook(rv->port, SECRET, 5);
    msg_message m = {.id = 404, .channel = MSG_CH_WECOM, .member_id = 7, .text = "x"};
    msg_outcome o;
    msg_adapter_send(a, &m, T0, &o);
    CHECK_INT_EQ(o.status, MSG_RETRY);
    CHECK_INT_EQ(o.http_status, 429);
    CHECK_INT_EQ(o.retry_at_ms, T0 + 7000);
    m.attempts = 1;
    msg_adapter_send(a, &m, o.retry_at_ms, &o);
    CHECK_INT_EQ(o.status, MSG_SENT);
    msg_adapter_free(a);
}

static void test_connection_refused(void)
{
    /* a port that refuses connections: a socket bound there but not listening, kept open
     * until the sends are done so no other process (tests run side by side) takes the port */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    CHECK_INT_EQ(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    CHECK_INT_EQ(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
    msg_adapter *a = webhook(ntohs(sa.sin_port), SECRET, 2);
    msg_message m = {.id = 505, .channel = MSG_CH_SMS, .member_id = 7, .text = "x"};
    msg_outcome o;
    msg_adapter_send(a, &m, T0, &o);
    CHECK_INT_EQ(o.status, MSG_RETRY);
    CHECK_INT_EQ(o.http_status, 0);
    CHECK(o.error[0] != 0);
    CHECK(o.retry_at_ms >= T0 && o.retry_at_ms <= T0 + 1000);
    m.attempts = 1;
    msg_adapter_send(a, &m, o.retry_at_ms, &o);
    CHECK_INT_EQ(o.status, MSG_DEAD);
    CHECK_INT_EQ(o.attempts, 2);
    msg_adapter_free(a);
    close(s);
}

typedef struct worker {
    msg_adapter *a;
    int base, n, sent;
} worker;

static void *send_many(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < w->n; i++) {
        msg_message m = {.id = w->base + i, .channel = MSG_CH_SMS, .member_id = i, .text = "并发"};
        msg_outcome o;
        msg_adapter_send(w->a, &m, T0, &o);
        w->sent += o.status == MSG_SENT;
    }
    return NULL;
}

/* One adapter shared by four threads: every message arrives once, correctly signed. */
static void test_concurrent(receiver *rv)
{
    receiver_reset(rv, 0, 503, NULL);
    msg_adapter *a = webhook(rv->port, SECRET, 5);
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){a, 10000 + i * 1000, 50, 0};
        pthread_create(&th[i], NULL, send_many, &w[i]);
    }
    int sent = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        sent += w[i].sent;
    }
    CHECK_INT_EQ(sent, 200);
    CHECK_INT_EQ(rv->requests, 200);
    CHECK_INT_EQ(rv->bad_signature, 0);
    CHECK_INT_EQ(rv->bad_key, 0);
    int seen[4][50];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < rv->requests; i++) {
        int id = atoi(rv->keys[i]) - 10000;
        if (id >= 0 && id / 1000 < 4 && id % 1000 < 50) seen[id / 1000][id % 1000]++;
    }
    int once = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 50; j++)
            once += seen[i][j] == 1;
    CHECK_INT_EQ(once, 200);
    msg_adapter_free(a);
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    receiver rv;
    receiver_start(&rv);
    test_sent_first_time(&rv);
    test_retry_then_sent(&rv);
    test_dead_letter(&rv);
    test_retry_after(&rv);
    test_connection_refused();
    test_concurrent(&rv);
    receiver_stop(&rv);
    return CHECK_DONE();
}
