/* digest.h — 16-byte content digests for idempotency ("is this the same request?").
 *
 * Fields are fed one by one with their lengths (so "ab"+"c" differs from "a"+"bc")
 * into BLAKE2b; the caller feeds them in a fixed order, which makes the digest
 * independent of the order keys had in the JSON body — and far cheaper than
 * printing a canonical JSON text first. */
#ifndef SIYU_BASE_DIGEST_H
#define SIYU_BASE_DIGEST_H

#include <jansson.h>
#include <sodium.h>
#include <stdint.h>

#define DIGEST_BYTES 16

typedef struct digest {
    crypto_generichash_state st;
    /* fields gather here and reach BLAKE2b in runs: an order feeds it thirty small
     * fields, and each update call cost more than hashing its bytes (the stream, and so
     * the digest, is the same) */
    unsigned char pending[256];
    size_t n_pending;
} digest;

void digest_init(digest *d);
void digest_str(digest *d, const char *s); /* NULL is distinct from "" */
void digest_int(digest *d, int64_t v);
void digest_json(digest *d, json_t *v); /* canonical (sorted keys) text of v, or NULL */
void digest_final(digest *d, unsigned char out[DIGEST_BYTES]);

/* The digest of one JSON value: the Idempotency-Key comparison of arbitrary bodies. */
void digest_of_json(json_t *v, unsigned char out[DIGEST_BYTES]);

#endif
