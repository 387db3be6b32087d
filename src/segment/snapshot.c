/* snapshot.c — the member index's members written out and read back (index.h:
 * seg_index_snapshot_write / _read), for the views' snapshot (views/snapshot.c).
 *
 * What is written: every per-member column (SEG_MEMBER_COLUMNS, SEG_CATEGORY_COLUMNS) at the
 * index's capacity, the id hash, the live bitmap, the categorical dimensions (dictionary,
 * code column, one set per code), store groups, reach sets, the category pool, the day
 * buckets and the thresholds. Not written: tags, saved segments and the operator's
 * thresholds — the caller reads them from the store after (they are small, and rule tags
 * are evaluated then, as after a rebuild).
 *
 * The reader trusts nothing: every count is bounded before it is allocated, every ordinal,
 * code and pool offset is checked against what it indexes, and any failure frees what was
 * read and answers NULL (the caller then rebuilds). A layout signature (each column's name
 * and element size) is written first, so a binary whose columns differ refuses the file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/snapio.h"
#include "segment/index.h"
#include "segment/seg_internal.h"

#define MARK_INDEX 0x58444e49u /* "INDX" */
#define MARK_DIMS 0x534d4944u
#define MARK_MORE 0x45524f4du
#define MARK_END 0x2e444e45u

static void layout_signature(char *buf, size_t cap)
{
    size_t len = 0;
    seg_index *idx = NULL; /* sizeof only: never dereferenced */
#define L(f)                                                                                       \
    if (len < cap) len += (size_t)snprintf(buf + len, cap - len, #f ":%zu,", sizeof *idx->f);
    SEG_MEMBER_COLUMNS(L)
    SEG_CATEGORY_COLUMNS(L)
#undef L
    if (len < cap)
        snprintf(buf + len, cap - len, "gdays:%zu,cat:%zu,bucket:%zu,rfm:%zu,life:%zu",
                 sizeof(seg_gdays), sizeof(seg_catpair), sizeof(seg_bucket_entry),
                 sizeof(seg_rfm_thresholds), sizeof(seg_lifecycle_thresholds));
    (void)idx;
}

/* ---- sets ---- */

enum { SET_EMPTY, SET_DENSE, SET_ROARING, SET_ARRAY };

static void put_set(snap_out *w, const seg_set *s, size_t nwords)
{
    uint8_t form = s->w ? SET_DENSE : s->r ? SET_ROARING : s->a && s->card ? SET_ARRAY : SET_EMPTY;
    snap_put(w, &form, 1);
    snap_put_u64(w, s->card);
    if (form == SET_DENSE) {
        snap_put_column(w, s->w, nwords * 8);
    } else if (form == SET_ROARING) {
        size_t n = roaring_bitmap_portable_size_in_bytes(s->r);
        char *buf = malloc(n ? n : 1);
        if (!buf) {
            w->bad = true;
            return;
        }
        roaring_bitmap_portable_serialize(s->r, buf);
        snap_put_u64(w, n);
        snap_put(w, buf, n);
        free(buf);
    } else if (form == SET_ARRAY) {
        snap_put(w, s->a, (size_t)s->card * 4);
    }
}

static uint64_t popcount_words(const uint64_t *w, size_t n)
{
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += (uint64_t)__builtin_popcountll(w[i]);
    return c;
}

/* Reads a set of ordinals below cap (nwords words); false when it is malformed. */
static bool get_set(snap_in *r, seg_set *s, uint32_t cap, size_t nwords)
{
    memset(s, 0, sizeof *s);
    uint8_t form = 255;
    snap_get(r, &form, 1);
    uint64_t card = snap_get_u64(r);
    if (r->bad) return false;
    if (form == SET_EMPTY) return card == 0;
    if (form == SET_DENSE) {
        if (card > cap || !nwords) return false;
        if (!snap_get_column(r, (void **)&s->w, nwords * 8)) return false;
        s->card = card;
        return popcount_words(s->w, nwords) == card;
    }
    if (form == SET_ROARING) {
        uint64_t n = snap_get_count(r, UINT64_MAX, 1);
        const char *src = snap_take(r, n);
        if (!src || card > cap) return false;
        s->r = roaring_bitmap_portable_deserialize_safe(src, n);
        if (!s->r) return false;
        s->card = card;
        if (roaring_bitmap_get_cardinality(s->r) != card) return false;
        return card == 0 || roaring_bitmap_maximum(s->r) < cap;
    }
    if (form == SET_ARRAY) {
        if (card == 0 || card > cap) return false;
        if (!snap_get_copy(r, (void **)&s->a, card * 4)) return false;
        s->card = card;
        s->acap = (uint32_t)card;
        for (uint64_t i = 0; i < card; i++)
            if (s->a[i] >= cap || (i && s->a[i] <= s->a[i - 1])) return false;
        return true;
    }
    return false;
}

/* ---- writing ---- */

int seg_index_snapshot_write(seg_index *idx, snap_out *w)
{
    pthread_rwlock_rdlock(&idx->lock);
    char sig[2048];
    layout_signature(sig, sizeof sig);
    uint64_t siglen = strlen(sig);
    snap_put_mark(w, MARK_INDEX);
    snap_put_u64(w, siglen);
    snap_put(w, sig, siglen);
    const uint32_t cap = idx->cap;
    snap_put_u64(w, idx->n);
    snap_put_u64(w, cap);
    snap_put_u64(w, idx->gen);
    snap_put_i64(w, idx->today);
    snap_put_u64(w, idx->ids_sorted);
    snap_put_u64(w, idx->nlive);
#define W(f)                                                                                       \
    if (strcmp(#f, "gdays") != 0) snap_put_column(w, idx->f, (size_t)cap * sizeof *idx->f);
    SEG_MEMBER_COLUMNS(W)
    SEG_CATEGORY_COLUMNS(W)
#undef W
    snap_put_column(w, idx->live, idx->nwords * 8);
    snap_put_u64(w, idx->hslots ? (uint64_t)idx->hmask + 1 : 0);
    if (idx->hslots) snap_put_column(w, idx->hslots, ((size_t)idx->hmask + 1) * 4);
    snap_put_mark(w, MARK_DIMS);
    for (int d = 0; d < SEG_D_COUNT_; d++) {
        const seg_dim *dm = &idx->dims[d];
        uint64_t nstr = dm->dict.n ? dm->dict.n - 1 : 0;
        snap_put_u64(w, nstr);
        for (uint32_t c = 1; c <= nstr; c++) {
            snap_put_u64(w, dm->dict.lens[c]);
            snap_put(w, dm->dict.strs[c], dm->dict.lens[c]);
        }
        snap_put_column(w, dm->col, (size_t)cap * (size_t)dm->width);
        snap_put_u64(w, dm->nsets);
        for (uint32_t c = 0; c < dm->nsets; c++)
            put_set(w, &dm->sets[c], idx->nwords);
    }
    snap_put_mark(w, MARK_MORE);
    uint64_t ng = 0;
    for (uint32_t o = 0; o < idx->n; o++)
        ng += idx->gdays[o] != NULL;
    snap_put_u64(w, ng);
    for (uint32_t o = 0; o < idx->n; o++)
        if (idx->gdays[o]) {
            snap_put_u64(w, o);
            snap_put(w, idx->gdays[o], sizeof(seg_gdays));
        }
    snap_put_u64(w, idx->ngrp);
    for (uint32_t g = 0; g < idx->ngrp; g++) {
        snap_put_i64(w, idx->grp[g].id);
        put_set(w, &idx->grp[g].set, idx->nwords);
    }
    for (int i = 0; i < 6; i++)
        put_set(w, &idx->reach[i], idx->nwords);
    snap_put_u64(w, idx->catpool_n);
    if (idx->catpool_n) snap_put_column(w, idx->catpool, idx->catpool_n * sizeof *idx->catpool);
    snap_put(w, idx->cat_free, sizeof idx->cat_free);
    for (int i = 0; i < SEG_WINDOW_DAYS; i++) {
        snap_put_u64(w, idx->buckets[i].n);
        snap_put(w, idx->buckets[i].e, (size_t)idx->buckets[i].n * sizeof *idx->buckets[i].e);
    }
    snap_put(w, &idx->rfm, sizeof idx->rfm);
    snap_put_u64(w, idx->rfm_auto);
    snap_put(w, &idx->life, sizeof idx->life);
    snap_put_mark(w, MARK_END);
    pthread_rwlock_unlock(&idx->lock);
    return w->bad ? -1 : 0;
}

/* ---- reading ---- */

/* Everything that indexes something else points inside it. */
static bool consistent(const seg_index *idx)
{
    const uint32_t n = idx->n;
    for (uint32_t o = 0; o < n; o++) {
        if (!idx->ids[o]) return false;
        if (idx->ids_sorted && o && idx->ids[o] <= idx->ids[o - 1]) return false;
    }
    if (!idx->ids_sorted && !idx->hslots) return false;
    if (idx->hslots) {
        uint64_t used = 0;
        for (uint64_t i = 0; i <= idx->hmask; i++) {
            if (idx->hslots[i] > n) return false;
            used += idx->hslots[i] != 0;
        }
        if (used != n || used > idx->hmask) return false; /* a free slot ends every probe */
    }
    if (popcount_words(idx->live, idx->nwords) != idx->nlive || idx->nlive > n) return false;
    for (int d = 0; d < SEG_D_COUNT_; d++) {
        const seg_dim *dm = &idx->dims[d];
        for (uint32_t o = 0; o < idx->cap; o++) {
            uint32_t code = seg_ix_dim_code(idx, d, o);
            if (o < n ? code >= dm->nsets && code != 0 : code != 0) return false;
        }
    }
    for (uint32_t o = 0; o < idx->cap; o++) {
        if (idx->cat_off[o] == UINT32_MAX) {
            if (idx->cat_len[o]) return false;
            continue;
        }
        if (o >= n || idx->cat_cap_log[o] > 15) return false;
        uint64_t room = (uint64_t)1 << idx->cat_cap_log[o];
        if (idx->cat_len[o] > room || idx->cat_off[o] + room > idx->catpool_n) return false;
        for (unsigned i = 0; i < idx->cat_len[o]; i++)
            if (idx->catpool[idx->cat_off[o] + i].cat >= idx->dims[SEG_D_FAV].dict.n &&
                idx->catpool[idx->cat_off[o] + i].cat != 0)
                return false;
    }
    for (int i = 0; i < 16; i++) {
        uint64_t steps = 0;
        for (uint32_t h = idx->cat_free[i]; h != UINT32_MAX; h = idx->catpool[h].cat)
            if (h + ((uint64_t)1 << i) > idx->catpool_n || ++steps > idx->catpool_n) return false;
    }
    for (int i = 0; i < SEG_WINDOW_DAYS; i++)
        for (uint32_t k = 0; k < idx->buckets[i].n; k++)
            if ((idx->buckets[i].e[k].ord_delta & 0x3FFFFFFFu) >= n) return false;
    for (uint32_t g = 1; g < idx->ngrp; g++)
        if (idx->grp[g].id <= idx->grp[g - 1].id) return false;
    return true;
}

seg_index *seg_index_snapshot_read(snap_in *r)
{
    char sig[2048];
    layout_signature(sig, sizeof sig);
    snap_expect_mark(r, MARK_INDEX);
    uint64_t siglen = snap_get_u64(r);
    const char *fsig = siglen == strlen(sig) ? snap_take(r, siglen) : NULL;
    if (!fsig || memcmp(fsig, sig, siglen) != 0) return NULL;
    uint64_t n = snap_get_u64(r), cap = snap_get_u64(r), gen = snap_get_u64(r);
    int64_t today = snap_get_i64(r);
    uint64_t sorted = snap_get_u64(r), nlive = snap_get_u64(r);
    if (r->bad || cap % 64 || n > cap || cap > (1u << 30) || today < INT32_MIN / 2 ||
        today > INT32_MAX / 2 || sorted > 1)
        return NULL;
    /* every column holds cap elements: at least a byte each must be left to read */
    if (cap > r->n - r->pos) return NULL;
    seg_index *idx = seg_index_new((int32_t)today);
    if (!idx) return NULL;
    idx->map = snapmap_retain(r->map); /* columns below may lie in it */
    idx->n = (uint32_t)n;
    idx->cap = (uint32_t)cap;
    idx->nwords = cap / 64;
    idx->gen = gen;
    idx->ids_sorted = sorted;
    idx->nlive = (uint32_t)nlive;
    bool ok = true;
#define R(f)                                                                                       \
    if (ok && strcmp(#f, "gdays") != 0)                                                            \
        ok = snap_get_column(r, (void **)&idx->f, (size_t)cap * sizeof *idx->f);
    SEG_MEMBER_COLUMNS(R)
    SEG_CATEGORY_COLUMNS(R)
#undef R
    if (ok) idx->gdays = calloc(cap ? cap : 1, sizeof *idx->gdays);
    ok = ok && idx->gdays && snap_get_column(r, (void **)&idx->live, idx->nwords * 8);
    uint64_t nslots = ok ? snap_get_count(r, (uint64_t)1 << 31, 4) : 0;
    if (ok && nslots) {
        ok = (nslots & (nslots - 1)) == 0 && snap_get_column(r, (void **)&idx->hslots, nslots * 4);
        idx->hmask = (uint32_t)(nslots - 1);
    }
    snap_expect_mark(r, MARK_DIMS);
    for (int d = 0; ok && !r->bad && d < SEG_D_COUNT_; d++) {
        seg_dim *dm = &idx->dims[d];
        uint64_t nstr = snap_get_count(r, dm->max_code, 8);
        for (uint64_t c = 1; ok && c <= nstr; c++) {
            uint64_t len = snap_get_count(r, UINT32_MAX - 1, 1);
            const char *s = snap_take(r, len);
            ok = s && seg_dict_intern(&dm->dict, s, len) == c;
        }
        ok = ok && snap_get_column(r, &dm->col, (size_t)cap * (size_t)dm->width);
        uint64_t nsets = ok ? snap_get_count(r, (uint64_t)dm->max_code + 1, 9) : 0;
        if (ok && nsets) {
            dm->sets = calloc(nsets, sizeof *dm->sets);
            ok = dm->sets != NULL;
            for (uint64_t c = 0; ok && c < nsets; c++, dm->nsets++)
                ok = get_set(r, &dm->sets[c], idx->cap, idx->nwords);
        }
    }
    snap_expect_mark(r, MARK_MORE);
    uint64_t ng = ok ? snap_get_count(r, n, 8 + sizeof(seg_gdays)) : 0;
    for (uint64_t i = 0; ok && !r->bad && i < ng; i++) {
        uint64_t o = snap_get_u64(r);
        const void *src = snap_take(r, sizeof(seg_gdays));
        ok = src && o < n && !idx->gdays[o] && (idx->gdays[o] = malloc(sizeof(seg_gdays)));
        if (ok) {
            memcpy(idx->gdays[o], src, sizeof(seg_gdays));
            ok = idx->gdays[o]->n <= SEG_GROUP_WINDOW;
        }
    }
    uint64_t ngrp = ok ? snap_get_count(r, UINT32_MAX / 2, 17) : 0;
    if (ok && ngrp) {
        idx->grp = calloc(ngrp, sizeof *idx->grp);
        ok = idx->grp != NULL;
        idx->grp_cap = (uint32_t)ngrp;
        for (uint64_t g = 0; ok && g < ngrp; g++, idx->ngrp++) {
            idx->grp[g].id = snap_get_i64(r);
            ok = get_set(r, &idx->grp[g].set, idx->cap, idx->nwords);
        }
    }
    for (int i = 0; ok && i < 6; i++)
        ok = get_set(r, &idx->reach[i], idx->cap, idx->nwords);
    uint64_t pool = ok ? snap_get_count(r, UINT32_MAX - 1, sizeof(seg_catpair)) : 0;
    if (ok && pool) {
        ok = snap_get_column(r, (void **)&idx->catpool, pool * sizeof(seg_catpair));
        idx->catpool_n = idx->catpool_cap = pool;
    }
    ok = ok && snap_get(r, idx->cat_free, sizeof idx->cat_free);
    for (int i = 0; ok && i < SEG_WINDOW_DAYS; i++) {
        uint64_t be = snap_get_count(r, UINT32_MAX, sizeof(seg_bucket_entry));
        seg_bucket *b = &idx->buckets[i];
        if (be) {
            ok = snap_get_copy(r, (void **)&b->e, be * sizeof *b->e);
            b->n = b->cap = (uint32_t)be;
        }
        ok = ok && !r->bad;
    }
    ok = ok && snap_get(r, &idx->rfm, sizeof idx->rfm);
    uint64_t rauto = snap_get_u64(r);
    ok = ok && rauto <= 1 && snap_get(r, &idx->life, sizeof idx->life);
    idx->rfm_auto = rauto;
    snap_expect_mark(r, MARK_END);
    if (!ok || r->bad || !consistent(idx)) {
        r->bad = true;
        seg_index_free(idx);
        return NULL;
    }
    return idx;
}
