/* set.c — member sets: plain bitsets when dense, CRoaring bitmaps when sparse, sorted
 * arrays when very sparse.
 *
 * Why three forms: the Debian CRoaring build has no POPCNT/AVX2, so ANDing dense
 * bitmaps through it costs 5-20x a plain word loop; but a store's 20 000 members out
 * of 20 million cost 40 KB in roaring and 2.5 MB as a bitset. The crossover is at a
 * density of 1/64 (see seg_internal.h). At the other end, a guide's 850 members spread
 * over all 305 of roaring's 65 536-member chunks cost ~60 bytes of container per chunk
 * (~20 bytes a member, measured by RSS at 20 M members); a sorted array costs 4.
 * Roaring wins once its chunks hold ~30 members each. */
#include <stdlib.h>
#include <string.h>

#include "segment/seg_internal.h"

#define DENSE_DIVISOR 64
/* members per roaring chunk below which a sorted array is smaller */
#define ARRAY_PER_CHUNK 32

uint64_t seg_set_array_limit_for_tests;

/* The most members a set keeps as a sorted array in an index of nwords words. */
static uint64_t array_limit(size_t nwords)
{
    if (seg_set_array_limit_for_tests) return seg_set_array_limit_for_tests;
    uint64_t chunks = ((uint64_t)nwords * 64 + 65535) / 65536;
    uint64_t lim = chunks * ARRAY_PER_CHUNK;
    return lim < 256 ? 256 : lim;
}

static bool dense_enough(uint64_t card, size_t nwords)
{
    return card > 64 && card * DENSE_DIVISOR > nwords * 64;
}

/* Position of ord in the array form, or where it would go. */
static size_t array_find(const seg_set *s, uint32_t ord)
{
    return seg_lower_bound(s->a, s->card, ord);
}

static int array_to_roaring(seg_set *s)
{
    roaring_bitmap_t *r = roaring_bitmap_create();
    if (!r) return -1;
    roaring_bitmap_add_many(r, s->card, s->a);
    free(s->a);
    s->a = NULL;
    s->acap = 0;
    s->r = r;
    return 0;
}

static int to_dense(seg_set *s, size_t nwords)
{
    uint64_t *w = calloc(nwords ? nwords : 1, sizeof *w);
    if (!w) return -1;
    if (seg_set_or_into(s, w, nwords) != 0) {
        free(w);
        return -1;
    }
    if (s->r) {
        roaring_bitmap_free(s->r);
        s->r = NULL;
    }
    if (s->a) {
        free(s->a);
        s->a = NULL;
        s->acap = 0;
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
        /* the array form (an empty set has no storage) */
        size_t at = s->a ? array_find(s, ord) : 0;
        if (s->a && at < s->card && s->a[at] == ord) return 0;
        if (s->card + 1 > array_limit(nwords) && !dense_enough(s->card + 1, nwords)) {
            if (array_to_roaring(s) != 0) return -1;
            return seg_set_add(s, ord, nwords);
        }
        if (s->card == s->acap) {
            uint32_t nc = s->acap ? s->acap + s->acap / 2 + 1 : 4;
            uint32_t *a = realloc(s->a, (size_t)nc * sizeof *a);
            if (!a) return -1;
            s->a = a;
            s->acap = nc;
        }
        memmove(s->a + at + 1, s->a + at, (size_t)(s->card - at) * sizeof *s->a);
        s->a[at] = ord;
        s->card++;
        return dense_enough(s->card, nwords) ? to_dense(s, nwords) : 0;
    }
    if (roaring_bitmap_contains(s->r, ord)) return 0;
    roaring_bitmap_add(s->r, ord);
    s->card++;
    if (dense_enough(s->card, nwords)) return to_dense(s, nwords);
    return 0;
}

int seg_set_from_sorted(seg_set *s, const uint32_t *a, size_t n, size_t nwords)
{
    seg_set ns = {.card = n};
    if (dense_enough(n, nwords)) {
        ns.w = calloc(nwords ? nwords : 1, sizeof *ns.w);
        if (!ns.w) return -1;
        seg_bits_add(ns.w, a, n);
    } else if (n > array_limit(nwords)) {
        ns.r = roaring_bitmap_of_ptr(n, a);
        if (!ns.r) return -1;
    } else if (n) {
        ns.a = malloc(n * sizeof *ns.a);
        if (!ns.a) return -1;
        memcpy(ns.a, a, n * sizeof *ns.a);
        ns.acap = (uint32_t)n;
    }
    seg_set_clear(s);
    *s = ns;
    return 0;
}

void seg_set_shrink(seg_set *s)
{
    if (s->r) {
        roaring_bitmap_shrink_to_fit(s->r);
    } else if (s->a && s->acap > s->card) {
        uint32_t *a = realloc(s->a, (size_t)(s->card ? s->card : 1) * sizeof *a);
        if (a) {
            s->a = a;
            s->acap = (uint32_t)(s->card ? s->card : 1);
        }
    }
}

int seg_set_or_into(const seg_set *s, uint64_t *w, size_t nwords)
{
    if (s->w) {
        for (size_t k = 0; k < nwords; k++)
            w[k] |= s->w[k];
    } else if (s->a) {
        seg_bits_add(w, s->a, s->card);
    } else if (s->r && s->card) {
        /* bulk extraction is ~5x faster than the 0.2.66 iterator */
        uint32_t *a = malloc(s->card * sizeof *a);
        if (!a) return -1;
        roaring_bitmap_to_uint32_array(s->r, a);
        seg_bits_add(w, a, s->card);
        free(a);
    }
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
    } else if (s->r) {
        if (roaring_bitmap_contains(s->r, ord)) {
            roaring_bitmap_remove(s->r, ord);
            s->card--;
        }
    } else if (s->a) {
        size_t at = array_find(s, ord);
        if (at < s->card && s->a[at] == ord) {
            memmove(s->a + at, s->a + at + 1, (size_t)(s->card - at - 1) * sizeof *s->a);
            s->card--;
        }
    }
}

bool seg_set_has(const seg_set *s, uint32_t ord)
{
    if (s->w) return (s->w[ord >> 6] >> (ord & 63)) & 1;
    if (s->r) return roaring_bitmap_contains(s->r, ord);
    if (!s->a) return false;
    size_t at = array_find(s, ord);
    return at < s->card && s->a[at] == ord;
}

int seg_set_grow(seg_set *s, size_t old_nwords, size_t nwords)
{
    if (!s->w) return 0;
    uint64_t *w = snapmap_realloc(s->w, old_nwords * sizeof *w, nwords * sizeof *w);
    if (!w) return -1;
    memset(w + old_nwords, 0, (nwords - old_nwords) * sizeof *w);
    s->w = w;
    return 0;
}

void seg_set_clear(seg_set *s)
{
    snapmap_free(s->w); /* a dense set's words may lie in a snapshot (snapmap.h) */
    free(s->a);
    if (s->r) roaring_bitmap_free(s->r);
    memset(s, 0, sizeof *s);
}

size_t seg_set_bytes(const seg_set *s, size_t nwords)
{
    if (s->w) return nwords * 8;
    if (s->a) return (size_t)s->acap * 4 + 16;
    if (!s->r) return 0;
    /* the containers' bytes plus, per container, its struct, its key and pointer in
     * the bitmap, and two malloc headers */
    roaring_statistics_t st;
    roaring_bitmap_statistics(s->r, &st);
    return (size_t)st.n_bytes_array_containers + st.n_bytes_run_containers +
           st.n_bytes_bitset_containers + (size_t)st.n_containers * (16 + 11 + 32) + 64;
}
