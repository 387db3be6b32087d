/* set.c — member sets: plain bitsets when dense, CRoaring bitmaps when sparse.
 *
 * Why two forms: the Debian CRoaring build has no POPCNT/AVX2, so ANDing dense
 * bitmaps through it costs 5-20x a plain word loop; but a store's 20 000 members out
 * of 20 million cost 40 KB in roaring and 2.5 MB as a bitset. The crossover is at a
 * density of 1/64 (see seg_internal.h). */
#include <stdlib.h>
#include <string.h>

#include "segment/seg_internal.h"

#define DENSE_DIVISOR 64

static int to_dense(seg_set *s, size_t nwords)
{
    uint64_t *w = calloc(nwords ? nwords : 1, sizeof *w);
    if (!w)
        return -1;
    if (s->r) {
        roaring_uint32_iterator_t *it = roaring_create_iterator(s->r);
        if (!it) {
            free(w);
            return -1;
        }
        while (it->has_value) {
            w[it->current_value >> 6] |= 1ull << (it->current_value & 63);
            roaring_advance_uint32_iterator(it);
        }
        roaring_free_uint32_iterator(it);
        roaring_bitmap_free(s->r);
        s->r = NULL;
    }
    s->w = w;
    return 0;
}

int seg_set_add(seg_set *s, uint32_t ord, size_t nwords)
{
    if (s->w) {
        uint64_t bit = 1ull << (ord & 63), *wp = &s->w[ord >> 6];
        if (!(*wp & bit)) {
            *wp |= bit;
            s->card++;
        }
        return 0;
    }
    if (!s->r) {
        s->r = roaring_bitmap_create();
        if (!s->r)
            return -1;
    }
    if (roaring_bitmap_contains(s->r, ord))
        return 0;
    roaring_bitmap_add(s->r, ord);
    s->card++;
    if (s->card > 64 && s->card * DENSE_DIVISOR > nwords * 64)
        return to_dense(s, nwords);
    return 0;
}

void seg_set_remove(seg_set *s, uint32_t ord)
{
    if (s->w) {
        uint64_t bit = 1ull << (ord & 63), *wp = &s->w[ord >> 6];
        if (*wp & bit) {
            *wp &= ~bit;
            s->card--;
        }
    } else if (s->r && roaring_bitmap_contains(s->r, ord)) {
        roaring_bitmap_remove(s->r, ord);
        s->card--;
    }
}

bool seg_set_has(const seg_set *s, uint32_t ord)
{
    if (s->w)
        return (s->w[ord >> 6] >> (ord & 63)) & 1;
    return s->r && roaring_bitmap_contains(s->r, ord);
}

int seg_set_grow(seg_set *s, size_t old_nwords, size_t nwords)
{
    if (!s->w)
        return 0;
    uint64_t *w = realloc(s->w, nwords * sizeof *w);
    if (!w)
        return -1;
    memset(w + old_nwords, 0, (nwords - old_nwords) * sizeof *w);
    s->w = w;
    return 0;
}

void seg_set_clear(seg_set *s)
{
    free(s->w);
    if (s->r)
        roaring_bitmap_free(s->r);
    memset(s, 0, sizeof *s);
}

size_t seg_set_bytes(const seg_set *s, size_t nwords)
{
    if (s->w)
        return nwords * 8;
    return s->r ? roaring_bitmap_size_in_bytes(s->r) : 0;
}
