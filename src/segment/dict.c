/* dict.c — string interning for categorical values (city names, tiers, channels,
 * categories, and integer ids written as decimal text). Codes are dense from 1 so a
 * column of codes can be 1, 2 or 4 bytes wide. */
#include <stdlib.h>
#include <string.h>

#include "segment/seg_internal.h"

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

uint32_t seg_dict_find(const seg_dict *d, const char *s, size_t len)
{
    if (!d->slots) return 0;
    for (uint32_t i = (uint32_t)hash_bytes(s, len) & d->mask;; i = (i + 1) & d->mask) {
        uint32_t c = d->slots[i];
        if (!c) return 0;
        if (d->lens[c] == len && memcmp(d->strs[c], s, len) == 0) return c;
    }
}

static int rehash(seg_dict *d, uint32_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots) return -1;
    for (uint32_t c = 1; c < d->n; c++) {
        uint32_t i = (uint32_t)hash_bytes(d->strs[c], d->lens[c]) & (nslots - 1);
        while (slots[i])
            i = (i + 1) & (nslots - 1);
        slots[i] = c;
    }
    free(d->slots);
    d->slots = slots;
    d->mask = nslots - 1;
    return 0;
}

uint32_t seg_dict_intern(seg_dict *d, const char *s, size_t len)
{
    uint32_t c = seg_dict_find(d, s, len);
    if (c) return c;
    if (d->n == 0) d->n = 1;
    if (d->n + 1 > d->cap) {
        uint32_t nc = d->cap ? d->cap * 2 : 16;
        char **strs = realloc(d->strs, nc * sizeof *strs);
        if (!strs) return 0;
        d->strs = strs;
        uint32_t *lens = realloc(d->lens, nc * sizeof *lens);
        if (!lens) return 0;
        d->lens = lens;
        d->cap = nc;
    }
    if (!d->slots || (d->n + 1) * 2 > d->mask + 1)
        if (rehash(d, d->slots ? (d->mask + 1) * 2 : 32) != 0) return 0;
    char *copy = malloc(len + 1);
    if (!copy) return 0;
    memcpy(copy, s, len);
    copy[len] = 0;
    c = d->n++;
    d->strs[c] = copy;
    d->lens[c] = (uint32_t)len;
    uint32_t i = (uint32_t)hash_bytes(s, len) & d->mask;
    while (d->slots[i])
        i = (i + 1) & d->mask;
    d->slots[i] = c;
    return c;
}

void seg_dict_free(seg_dict *d)
{
    for (uint32_t c = 1; c < d->n; c++)
        free(d->strs[c]);
    free(d->strs);
    free(d->lens);
    free(d->slots);
    memset(d, 0, sizeof *d);
}
