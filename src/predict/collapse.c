/* collapse.c — the growable hash that maps identical keys to one dense index.
 *
 * Why: with time in days, millions of customers share a few hundred thousand distinct
 * (x, t_x, T), and every likelihood evaluation then costs per distinct row, not per customer.
 * Slots hold only int32 indices; keys are stored densely so growing rehashes from them. */
#include "predict/internal.h"

#include <stdlib.h>

static uint64_t mix(uint64_t k0, uint64_t k1, uint64_t k2)
{
    uint64_t h = k0 * 0x9E3779B97F4A7C15ull;
    h ^= (k1 + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
    h = (h << 31) | (h >> 33);
    h ^= (k2 + 0x165667B19E3779F9ull) * 0x94D049BB133111EBull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return h;
}

static int rehash(predict_hash *h, size_t nslots)
{
    int32_t *s = malloc(nslots * sizeof *s);
    if (!s) return -1;
    memset(s, 0xff, nslots * sizeof *s);
    for (size_t i = 0; i < h->n; i++) {
        const uint64_t *k = h->keys + 3 * i;
        size_t j = mix(k[0], k[1], k[2]) & (nslots - 1);
        while (s[j] >= 0)
            j = (j + 1) & (nslots - 1);
        s[j] = (int32_t)i;
    }
    free(h->slots);
    h->slots = s;
    h->nslots = nslots;
    return 0;
}

int predict__hash_init(predict_hash *h, size_t expect)
{
    memset(h, 0, sizeof *h);
    size_t ns = 1024;
    while (ns < 2 * expect)
        ns <<= 1;
    h->cap_keys = expect > 16 ? expect : 16;
    h->keys = malloc(3 * h->cap_keys * sizeof *h->keys);
    if (!h->keys || rehash(h, ns) != 0) {
        predict__hash_release(h);
        return -1;
    }
    return 0;
}

int32_t predict__hash_put(predict_hash *h, uint64_t k0, uint64_t k1, uint64_t k2)
{
    size_t mask = h->nslots - 1, j = mix(k0, k1, k2) & mask;
    for (;;) {
        int32_t i = h->slots[j];
        if (i < 0) break;
        const uint64_t *k = h->keys + 3 * (size_t)i;
        if (k[0] == k0 && k[1] == k1 && k[2] == k2) return i;
        j = (j + 1) & mask;
    }
    if (h->n >= (size_t)INT32_MAX) return -1;
    if (h->n == h->cap_keys) {
        size_t cap = h->cap_keys * 2;
        uint64_t *k = realloc(h->keys, 3 * cap * sizeof *k);
        if (!k) return -1;
        h->keys = k;
        h->cap_keys = cap;
    }
    int32_t idx = (int32_t)h->n++;
    h->keys[3 * (size_t)idx] = k0;
    h->keys[3 * (size_t)idx + 1] = k1;
    h->keys[3 * (size_t)idx + 2] = k2;
    if (2 * h->n > h->nslots) { /* load factor 1/2: rebuild, which also places the new key */
        if (rehash(h, h->nslots * 2) != 0) {
            h->n--;
            return -1;
        }
        return idx;
    }
    h->slots[j] = idx;
    return idx;
}

void predict__hash_release(predict_hash *h)
{
    if (!h) return;
    free(h->keys);
    free(h->slots);
    memset(h, 0, sizeof *h);
}
