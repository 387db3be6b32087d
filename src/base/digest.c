#include "base/digest.h"

#include <stdlib.h>
#include <string.h>

void digest_init(digest *d)
{
    crypto_generichash_init(&d->st, NULL, 0, DIGEST_BYTES);
    d->n_pending = 0;
}

static void feed(digest *d, const unsigned char *p, size_t len)
{
    if (d->n_pending + len > sizeof d->pending) {
        crypto_generichash_update(&d->st, d->pending, d->n_pending);
        d->n_pending = 0;
        if (len >= sizeof d->pending) {
            crypto_generichash_update(&d->st, p, len);
            return;
        }
    }
    memcpy(d->pending + d->n_pending, p, len);
    d->n_pending += len;
}

void digest_int(digest *d, int64_t v)
{
    unsigned char b[9] = {'i'};
    for (int i = 0; i < 8; i++)
        b[1 + i] = (unsigned char)((uint64_t)v >> (8 * i));
    feed(d, b, sizeof b);
}

void digest_str(digest *d, const char *s)
{
    if (!s) {
        unsigned char n = 'n';
        feed(d, &n, 1);
        return;
    }
    size_t len = strlen(s);
    digest_int(d, (int64_t)len);
    feed(d, (const unsigned char *)s, len);
}

void digest_json(digest *d, json_t *v)
{
    if (!v) {
        digest_str(d, NULL);
        return;
    }
    char *s = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    digest_str(d, s);
    free(s);
}

void digest_final(digest *d, unsigned char out[DIGEST_BYTES])
{
    if (d->n_pending) crypto_generichash_update(&d->st, d->pending, d->n_pending);
    d->n_pending = 0;
    crypto_generichash_final(&d->st, out, DIGEST_BYTES);
}

void digest_of_json(json_t *v, unsigned char out[DIGEST_BYTES])
{
    digest d;
    digest_init(&d);
    digest_json(&d, v);
    digest_final(&d, out);
}
