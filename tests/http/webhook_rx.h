/* webhook_rx.h — a webhook receiver for the end-to-end tests.
 *
 * An HTTP server in the test's own process standing where a chain's SMS gateway or WeCom
 * bridge would: it takes siyu's POSTs, checks each `X-Siyu-Signature` (HMAC-SHA256 of the
 * raw body with the channel's secret, "sha256=" + hex) and hands every request to the test,
 * which says what to answer. Header-only: each end-to-end test is one translation unit. */
#ifndef SIYU_TEST_WEBHOOK_RX_H
#define SIYU_TEST_WEBHOOK_RX_H

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Called for each request on the receiver's thread: its body parsed (NULL when not JSON; the
 * callee may keep it with json_incref), its Idempotency-Key ("" when none), and whether its
 * signature held. Answers the HTTP status to return (200 accepts; 401 for a bad signature,
 * 503 to make siyu retry). */
typedef int (*webhook_rx_fn)(void *ctx, json_t *body, const char *key, bool signature_ok);

typedef struct webhook_rx {
    struct MHD_Daemon *daemon;
    int port;
    const char *secret;
    webhook_rx_fn fn;
    void *ctx;
    atomic_long requests, bad_signatures; /* every request; those whose signature failed */
} webhook_rx;

typedef struct webhook_rx_upload {
    char *data;
    size_t len;
} webhook_rx_upload;

static inline bool webhook_rx_signed(const webhook_rx *rx, struct MHD_Connection *c,
                                     const webhook_rx_upload *u)
{
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Siyu-Signature");
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)rx->secret, strlen(rx->secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)(u->data ? u->data : ""), u->len);
    crypto_auth_hmacsha256_final(&st, mac);
    char want[80] = "sha256=";
    sodium_bin2hex(want + 7, sizeof want - 7, mac, sizeof mac);
    return sig && strcmp(sig, want) == 0;
}

static inline enum MHD_Result webhook_rx_request(void *cls, struct MHD_Connection *c,
                                                 const char *url, const char *method,
                                                 const char *version, const char *data,
                                                 size_t *size, void **ctx)
{
    (void)url, (void)method, (void)version;
    webhook_rx *rx = cls;
    webhook_rx_upload *u = *ctx;
    if (!u) {
        *ctx = calloc(1, sizeof *u);
        return MHD_YES;
    }
    if (*size) {
        u->data = realloc(u->data, u->len + *size + 1);
        memcpy(u->data + u->len, data, *size);
        u->len += *size;
        u->data[u->len] = 0;
        *size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&rx->requests, 1);
    bool ok = webhook_rx_signed(rx, c, u);
    if (!ok) atomic_fetch_add(&rx->bad_signatures, 1);
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    json_t *body = json_loads(u->data ? u->data : "", 0, NULL);
    int status = rx->fn(rx->ctx, body, key ? key : "", ok);
    json_decref(body);
    free(u->data);
    free(u);
    *ctx = NULL;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Starts listening on a loopback port the system picks as the socket is bound (so no other
 * process can take it first) and sets rx->port to it. 0 on success. */
static inline int webhook_rx_start(webhook_rx *rx, const char *secret, webhook_rx_fn fn, void *ctx)
{
    rx->port = 0;
    rx->secret = secret;
    rx->fn = fn;
    rx->ctx = ctx;
    atomic_store(&rx->requests, 0);
    atomic_store(&rx->bad_signatures, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rx->daemon =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, webhook_rx_request, rx,
                         MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
    if (!rx->daemon) return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(rx->daemon, MHD_DAEMON_INFO_BIND_PORT);
    rx->port = info ? info->port : 0;
    if (rx->port > 0) return 0;
    MHD_stop_daemon(rx->daemon);
    rx->daemon = NULL;
    return -1;
}

static inline void webhook_rx_stop(webhook_rx *rx)
{
    if (rx->daemon) MHD_stop_daemon(rx->daemon);
    rx->daemon = NULL;
}

#endif
