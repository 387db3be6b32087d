/* index.c — the member index: columns, their upkeep on every change, day rolls, tags,
 * saved segments, RFM and lifecycle.
 *
 * Layout: one array per attribute indexed by ordinal ("columns"), sized to `cap`
 * (a multiple of 64 so bitsets and columns line up word for word). Columns are as
 * narrow as the attribute allows — days as uint16 day numbers, windowed order counts
 * as uint16 — because a range clause is answered by scanning its column, and a scan
 * runs at memory speed: half the bytes, half the time.
 *
 * Windows (orders_30d, spend_90d_cents, ...): each order (and refund) is also recorded
 * in the bucket of its order day, for the days still inside the widest window (365).
 * When the day advances to d, the buckets of days d-30, d-90 and d-365 are subtracted
 * from the 30-, 90- and 365-day columns (and the last one freed). So windows stay
 * exact as days pass without writes, a day roll costs what that day's orders cost
 * (never a pass over all members), and a back-dated order lands in exactly the
 * windows that contain its day. 8 bytes per order of the last year. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "segment/seg_internal.h"

#define WLOCK(idx) pthread_rwlock_wrlock(&(idx)->lock)
#define RLOCK(idx) pthread_rwlock_rdlock(&(idx)->lock)
#define UNLOCK(idx) pthread_rwlock_unlock(&(idx)->lock)

static const struct {
    int width;
    uint32_t max;
} dim_shape[SEG_D_COUNT_] = {
    [SEG_D_STORE] = {2, 65535},    [SEG_D_GUIDE] = {4, 0xFFFFFFFEu}, [SEG_D_BRAND] = {1, 255},
    [SEG_D_CHANNEL] = {1, 255},    [SEG_D_TIER] = {1, 255},          [SEG_D_GENDER] = {1, 255},
    [SEG_D_CITY] = {2, 65535},     [SEG_D_FAV] = {2, 65535},         [SEG_D_CAMPAIGN] = {2, 65535},
    [SEG_D_QR] = {4, 0xFFFFFFFEu},
};

static const char *const dim_names[SEG_D_COUNT_] = {
    "store",  "guide", "brand",    "join_channel", "tier",
    "gender", "city",  "campaign", "qr_code",      "favourite_category"};

/* ================= life cycle ================= */

seg_index *seg_index_new(int32_t today)
{
    seg_index *idx = calloc(1, sizeof *idx);
    if (!idx) return NULL;
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* prefer writers: a steady stream of counts must not starve order upkeep */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&idx->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&idx->by_id_lock, NULL);
    idx->today = today;
    atomic_init(&idx->today_seen, today);
    idx->ids_sorted = true;
    for (int d = 0; d < SEG_D_COUNT_; d++) {
        idx->dims[d].width = dim_shape[d].width;
        idx->dims[d].max_code = dim_shape[d].max;
    }
    for (int i = 0; i < 16; i++)
        idx->cat_free[i] = UINT32_MAX;
    idx->rfm_auto = true;
    idx->rfm = (seg_rfm_thresholds){.r_max_days = 90, .f_min_orders = 2, .m_min_cents = 1};
    idx->life = (seg_lifecycle_thresholds){.new_days = 30, .active_days = 90, .lapsed_days = 180};
    return idx;
}

static void set_array_free(seg_set *s, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        seg_set_clear(&s[i]);
    free(s);
}

void seg_index_free(seg_index *idx)
{
    if (!idx) return;
    for (uint32_t o = 0; o < idx->cap && idx->gdays; o++)
        free(idx->gdays[o]);
    for (uint32_t g = 0; g < idx->ngrp; g++)
        seg_set_clear(&idx->grp[g].set);
    free(idx->grp);
    /* columns may lie in the snapshot the index was read from (snapmap.h) */
#define F(f) snapmap_free(idx->f);
    SEG_MEMBER_COLUMNS(F)
    SEG_CATEGORY_COLUMNS(F)
#undef F
    snapmap_free(idx->catpool);
    free(idx->by_id);
    snapmap_free(idx->hslots);
    snapmap_free(idx->live);
    for (int d = 0; d < SEG_D_COUNT_; d++) {
        seg_dict_free(&idx->dims[d].dict);
        snapmap_free(idx->dims[d].col);
        set_array_free(idx->dims[d].sets, idx->dims[d].nsets);
    }
    for (int i = 0; i < 6; i++)
        seg_set_clear(&idx->reach[i]);
    for (int i = 0; i < SEG_WINDOW_DAYS; i++)
        free(idx->buckets[i].e);
    for (int i = 0; i < idx->ntags; i++) {
        free(idx->tags[i].name);
        seg_set_clear(&idx->tags[i].set);
        seg_expr_free(idx->tags[i].rule);
    }
    free(idx->tags);
    for (int i = 0; i < idx->nsaved; i++) {
        free(idx->saved[i].name);
        seg_expr_free(idx->saved[i].expr);
    }
    free(idx->saved);
    pthread_rwlock_destroy(&idx->lock);
    pthread_mutex_destroy(&idx->by_id_lock);
    snapmap_release(idx->map); /* after every column in it was let go */
    free(idx);
}

static int grow_arr(void **p, size_t elem, size_t oldn, size_t newn)
{
    void *q = snapmap_realloc(*p, elem * oldn, elem * newn);
    if (!q) return -1;
    memset((char *)q + elem * oldn, 0, elem * (newn - oldn));
    *p = q;
    return 0;
}

/* Grows every column and dense set to hold newcap ordinals (a multiple of 64). On
 * failure the index is unchanged as far as readers can tell (n is not moved). */
static int grow(seg_index *idx, uint32_t newcap)
{
    uint32_t old = idx->cap;
    size_t ow = old / 64, nw = newcap / 64;
#define G(f)                                                                                       \
    if (grow_arr((void **)&idx->f, sizeof *idx->f, old, newcap) != 0) return -1;
    SEG_MEMBER_COLUMNS(G)
    SEG_CATEGORY_COLUMNS(G)
#undef G
    for (uint32_t i = old; i < newcap; i++) {
        idx->palive[i] = NAN;
        idx->expect[i] = NAN;
        idx->clv[i] = INT32_MIN;
        idx->cat_off[i] = UINT32_MAX;
    }
    for (int d = 0; d < SEG_D_COUNT_; d++) {
        seg_dim *dm = &idx->dims[d];
        if (grow_arr(&dm->col, (size_t)dm->width, old, newcap) != 0) return -1;
        for (uint32_t c = 0; c < dm->nsets; c++)
            if (seg_set_grow(&dm->sets[c], ow, nw) != 0) return -1;
    }
    if (grow_arr((void **)&idx->live, 8, ow, nw) != 0) return -1;
    for (int i = 0; i < 6; i++)
        if (seg_set_grow(&idx->reach[i], ow, nw) != 0) return -1;
    for (int t = 0; t < idx->ntags; t++)
        if (seg_set_grow(&idx->tags[t].set, ow, nw) != 0) return -1;
    for (uint32_t g = 0; g < idx->ngrp; g++)
        if (seg_set_grow(&idx->grp[g].set, ow, nw) != 0) return -1;
    free(idx->by_id);
    idx->by_id = NULL;
    idx->by_id_valid = false;
    idx->cap = newcap;
    idx->nwords = nw;
    return 0;
}

/* Shrinks *p from oldn to newn elements; on failure it keeps the larger block (still
 * correct). */
static void shrink_arr(void **p, size_t elem, size_t oldn, size_t newn)
{
    void *q = snapmap_realloc(*p, elem * oldn, elem * (newn ? newn : 1));
    if (q) *p = q;
}

void seg_index_compact(seg_index *idx)
{
    WLOCK(idx);
    uint32_t newcap = (idx->n + 63) & ~63u;
    if (newcap < 64) newcap = 64;
    if (newcap < idx->cap) {
        size_t nw = newcap / 64, ow = idx->nwords;
        const uint32_t cap = idx->cap;
#define S(f) shrink_arr((void **)&idx->f, sizeof *idx->f, cap, newcap);
        SEG_MEMBER_COLUMNS(S)
        SEG_CATEGORY_COLUMNS(S)
#undef S
        for (int d = 0; d < SEG_D_COUNT_; d++) {
            seg_dim *dm = &idx->dims[d];
            shrink_arr(&dm->col, (size_t)dm->width, cap, newcap);
            for (uint32_t c = 0; c < dm->nsets; c++)
                if (dm->sets[c].w) shrink_arr((void **)&dm->sets[c].w, 8, ow, nw);
        }
        shrink_arr((void **)&idx->live, 8, ow, nw);
        for (int i = 0; i < 6; i++)
            if (idx->reach[i].w) shrink_arr((void **)&idx->reach[i].w, 8, ow, nw);
        for (int t = 0; t < idx->ntags; t++)
            if (idx->tags[t].set.w) shrink_arr((void **)&idx->tags[t].set.w, 8, ow, nw);
        for (uint32_t g = 0; g < idx->ngrp; g++)
            if (idx->grp[g].set.w) shrink_arr((void **)&idx->grp[g].set.w, 8, ow, nw);
        free(idx->by_id);
        idx->by_id = NULL;
        idx->by_id_valid = false;
        idx->cap = newcap;
        idx->nwords = nw;
    }
    for (int i = 0; i < SEG_WINDOW_DAYS; i++) {
        seg_bucket *b = &idx->buckets[i];
        if (b->cap > b->n && b->n) {
            shrink_arr((void **)&b->e, sizeof *b->e, b->cap, b->n);
            b->cap = b->n;
        } else if (!b->n) {
            free(b->e);
            b->e = NULL;
            b->cap = 0;
        }
    }
    if (idx->catpool_cap > idx->catpool_n) {
        shrink_arr((void **)&idx->catpool, sizeof *idx->catpool, idx->catpool_cap, idx->catpool_n);
        idx->catpool_cap = idx->catpool_n;
    }
    for (int d = 0; d < SEG_D_COUNT_; d++)
        for (uint32_t c = 0; c < idx->dims[d].nsets; c++)
            seg_set_shrink(&idx->dims[d].sets[c]);
    for (int t = 0; t < idx->ntags; t++)
        seg_set_shrink(&idx->tags[t].set);
    for (int i = 0; i < 6; i++)
        seg_set_shrink(&idx->reach[i]);
    UNLOCK(idx);
#ifdef __GLIBC__
    malloc_trim(0); /* the shrunk blocks left holes in the heap: give their pages back */
#endif
}

/* ================= id <-> ordinal ================= */

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* While ids arrive in ascending order (a rebuild reads members by id, new members get
 * ids from a sequence) the id column is sorted and needs no hash: an interpolation
 * guess lands on or next to the member when ids are dense, then a binary search
 * finishes. That saves 4-7 bytes a member. The first out-of-order id builds the hash. */
static int ord_sorted(const seg_index *idx, int64_t id)
{
    if (idx->n == 0 || id < idx->ids[0] || id > idx->ids[idx->n - 1]) return -1;
    size_t lo = 0, hi = idx->n; /* answer in [lo, hi) */
    int64_t span = (int64_t)idx->ids[idx->n - 1] - idx->ids[0];
    if (span > 0) {
        size_t g = (size_t)((double)(id - idx->ids[0]) / (double)span * (double)(idx->n - 1));
        if (g >= idx->n) g = idx->n - 1;
        if (idx->ids[g] == id) return (int)g;
        /* gallop from the guess */
        size_t step = 1;
        if (idx->ids[g] < id) {
            lo = g + 1;
            while (lo + step < idx->n && idx->ids[lo + step] < id)
                step *= 2;
            hi = lo + step + 1 < idx->n ? lo + step + 1 : idx->n;
        } else {
            hi = g;
            while (step <= hi && idx->ids[hi - step] > id)
                step *= 2;
            lo = step <= hi ? hi - step : 0;
        }
    }
    /* id is within [ids[0], ids[n-1]] (checked above), so it fits the 4-byte ids */
    lo += seg_lower_bound(idx->ids + lo, hi - lo, (uint32_t)id);
    return lo < idx->n && idx->ids[lo] == id ? (int)lo : -1;
}

int seg_ix_ord(const seg_index *idx, int64_t id)
{
    if (!idx->hslots) return idx->ids_sorted ? ord_sorted(idx, id) : -1;
    for (uint32_t i = (uint32_t)mix64((uint64_t)id) & idx->hmask;; i = (i + 1) & idx->hmask) {
        uint32_t s = idx->hslots[i];
        if (!s) return -1;
        if (idx->ids[s - 1] == id) return (int)(s - 1);
    }
}

/* The hash holds ordinals only (4 bytes a slot): the key is read back from ids[]. */
static int hash_resize(seg_index *idx, uint32_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots) return -1;
    for (uint32_t o = 0; o < idx->n; o++) {
        uint32_t i = (uint32_t)mix64((uint64_t)idx->ids[o]) & (nslots - 1);
        while (slots[i])
            i = (i + 1) & (nslots - 1);
        slots[i] = o + 1;
    }
    snapmap_free(idx->hslots);
    idx->hslots = slots;
    idx->hmask = nslots - 1;
    return 0;
}

int seg_index_reserve(seg_index *idx, size_t n, seg_error *err)
{
    if (n > (1u << 30) - 64) {
        seg_err_set(err, 0, "too many members for one index");
        return -1;
    }
    WLOCK(idx);
    int rc = 0;
    uint32_t cap = (uint32_t)((n + 63) & ~(size_t)63);
    if (cap > idx->cap) rc = grow(idx, cap);
    uint32_t slots = 1024;
    while ((uint64_t)slots * 7 < (uint64_t)n * 10)
        slots *= 2;
    if (rc == 0 && idx->hslots && slots > idx->hmask + 1) rc = hash_resize(idx, slots);
    UNLOCK(idx);
    if (rc) seg_err_set(err, 0, "out of memory");
    return rc;
}

/* ================= categorical dimensions ================= */

uint32_t seg_ix_dim_code(const seg_index *idx, int d, uint32_t ord)
{
    const seg_dim *dm = &idx->dims[d];
    switch (dm->width) {
    case 1:
        return ((const uint8_t *)dm->col)[ord];
    case 2:
        return ((const uint16_t *)dm->col)[ord];
    default:
        return ((const uint32_t *)dm->col)[ord];
    }
}

static int dim_ensure_sets(seg_index *idx, seg_dim *dm, uint32_t code)
{
    if (code < dm->nsets) return 0;
    uint32_t nn = dm->nsets ? dm->nsets : 4;
    while (nn <= code)
        nn *= 2;
    seg_set *s = realloc(dm->sets, nn * sizeof *s);
    if (!s) return -1;
    memset(s + dm->nsets, 0, (nn - dm->nsets) * sizeof *s);
    dm->sets = s;
    dm->nsets = nn;
    (void)idx;
    return 0;
}

/* Moves member ord from its current code to `code` (keeping the per-code sets). */
static int dim_set(seg_index *idx, int d, uint32_t ord, uint32_t code, bool fresh)
{
    seg_dim *dm = &idx->dims[d];
    uint32_t old = fresh ? UINT32_MAX : seg_ix_dim_code(idx, d, ord);
    if (old == code) return 0;
    if (dim_ensure_sets(idx, dm, code) != 0) return -1;
    if (seg_set_add(&dm->sets[code], ord, idx->nwords) != 0) return -1;
    if (old != UINT32_MAX) seg_set_remove(&dm->sets[old], ord);
    switch (dm->width) {
    case 1:
        ((uint8_t *)dm->col)[ord] = (uint8_t)code;
        break;
    case 2:
        ((uint16_t *)dm->col)[ord] = (uint16_t)code;
        break;
    default:
        ((uint32_t *)dm->col)[ord] = code;
        break;
    }
    return 0;
}

/* The code of a value (interning it); 0 for none; -1 when the column is full. */
static int64_t dim_code_str(seg_index *idx, int d, const char *s, seg_error *err)
{
    if (!s || !*s) return 0;
    seg_dim *dm = &idx->dims[d];
    uint32_t c = seg_dict_intern(&dm->dict, s, strlen(s));
    if (!c) {
        seg_err_set(err, 0, "out of memory");
        return -1;
    }
    if (c > dm->max_code) {
        seg_err_set(err, 0, "too many distinct values of %s (at most %u)", dim_names[d],
                    dm->max_code);
        return -1;
    }
    return c;
}

static int64_t dim_code_int(seg_index *idx, int d, int64_t v, seg_error *err)
{
    if (v == 0) return 0;
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return dim_code_str(idx, d, buf, err);
}

/* ================= members ================= */

static int new_member(seg_index *idx, int64_t id, seg_error *err)
{
    if (idx->n >= (1u << 30) - 64) {
        seg_err_set(err, 0, "too many members for one index");
        return -1;
    }
    if (id <= 0 || id > (int64_t)UINT32_MAX) {
        seg_err_set(err, 0, "member id %lld is outside 1..%u", (long long)id, UINT32_MAX);
        return -1;
    }
    if (idx->n == idx->cap) {
        uint32_t nc = idx->cap ? idx->cap * 2 : 1024;
        if (grow(idx, nc) != 0) goto oom;
    }
    uint32_t o = idx->n;
    bool sorted = idx->ids_sorted && (o == 0 || idx->ids[o - 1] < id);
    if (!sorted && !idx->hslots) {
        /* the first id out of order: from now on, a hash */
        uint32_t slots = 1024;
        while ((uint64_t)slots * 7 < (uint64_t)(idx->n + 1) * 10)
            slots *= 2;
        if (hash_resize(idx, slots) != 0) goto oom;
    }
    if (idx->hslots && (uint64_t)(idx->n + 1) * 10 > (uint64_t)(idx->hmask + 1) * 7)
        if (hash_resize(idx, (idx->hmask + 1) * 2) != 0) goto oom;
    for (int d = 0; d < SEG_D_COUNT_; d++)
        if (dim_set(idx, d, o, 0, true) != 0) goto oom;
    idx->ids[o] = id;
    idx->ids_sorted = sorted;
    idx->by_id_valid = false;
    idx->n++;
    if (idx->hslots) {
        uint32_t i = (uint32_t)mix64((uint64_t)id) & idx->hmask;
        while (idx->hslots[i] && idx->hslots[i] != o + 1)
            i = (i + 1) & idx->hmask;
        idx->hslots[i] = o + 1;
    }
    return (int)o;
oom:
    seg_err_set(err, 0, "out of memory");
    return -1;
}

static int unknown_member(seg_error *err, int64_t id)
{
    seg_err_set(err, 0, "member %lld is not in the index", (long long)id);
    return -1;
}

static int day16(int32_t day, int32_t offset, uint16_t *out)
{
    if (day == SEG_NO_DAY) {
        *out = 0;
        return 0;
    }
    int64_t v = (int64_t)day + offset;
    if (v < 1 || v > 65535) return -1;
    *out = (uint16_t)v;
    return 0;
}

int seg_index_upsert_member(seg_index *idx, const seg_member_profile *p, seg_error *err)
{
    uint16_t bday, joined;
    if (day16(p->birthday, SEG_BDAY_OFFSET, &bday) != 0) {
        seg_err_set(err, 0, "birthday out of range (1900-01-02 .. 2079)");
        return -1;
    }
    if (day16(p->joined_day, 0, &joined) != 0) {
        seg_err_set(err, 0, "joined day out of range (1970-01-02 .. 2149)");
        return -1;
    }
    WLOCK(idx);
    int rc = -1;
    int o = seg_ix_ord(idx, p->id);
    if (o < 0 && (o = new_member(idx, p->id, err)) < 0) goto out;
    int64_t codes[SEG_D_COUNT_ - 1];
    codes[SEG_D_STORE] = dim_code_int(idx, SEG_D_STORE, p->store_id, err);
    codes[SEG_D_GUIDE] = dim_code_int(idx, SEG_D_GUIDE, p->guide_id, err);
    codes[SEG_D_BRAND] = dim_code_int(idx, SEG_D_BRAND, p->brand_id, err);
    codes[SEG_D_CHANNEL] = dim_code_str(idx, SEG_D_CHANNEL, p->join_channel, err);
    codes[SEG_D_TIER] = dim_code_str(idx, SEG_D_TIER, p->tier, err);
    codes[SEG_D_GENDER] = dim_code_str(idx, SEG_D_GENDER, p->gender, err);
    codes[SEG_D_CITY] = dim_code_str(idx, SEG_D_CITY, p->city, err);
    codes[SEG_D_CAMPAIGN] = dim_code_str(idx, SEG_D_CAMPAIGN, p->campaign, err);
    codes[SEG_D_QR] = dim_code_int(idx, SEG_D_QR, p->qr_code_id, err);
    for (int d = 0; d < SEG_D_FAV; d++)
        if (codes[d] < 0) goto out;
    for (int d = 0; d < SEG_D_FAV; d++)
        if (dim_set(idx, d, (uint32_t)o, (uint32_t)codes[d], false) != 0) {
            seg_err_set(err, 0, "out of memory");
            goto out;
        }
    idx->bday[o] = bday;
    if (bday) {
        int y, m, d;
        seg_civil_from_days(p->birthday, &y, &m, &d);
        idx->bmonth[o] = (uint8_t)m;
        idx->bmday[o] = (uint8_t)d;
    } else {
        idx->bmonth[o] = idx->bmday[o] = 0;
    }
    idx->joined[o] = joined;
    if (!(idx->live[o >> 6] & (1ull << (o & 63)))) {
        idx->live[o >> 6] |= 1ull << (o & 63);
        idx->nlive++;
    }
    idx->gen++;
    rc = 0;
out:
    UNLOCK(idx);
    return rc;
}

int seg_index_remove_member(seg_index *idx, int64_t member_id, seg_error *err)
{
    WLOCK(idx);
    int o = seg_ix_ord(idx, member_id);
    if (o >= 0 && (idx->live[o >> 6] & (1ull << (o & 63)))) {
        idx->live[o >> 6] &= ~(1ull << (o & 63));
        idx->nlive--;
        idx->gen++;
    }
    UNLOCK(idx);
    return o < 0 ? unknown_member(err, member_id) : 0;
}

size_t seg_index_member_count(seg_index *idx)
{
    RLOCK(idx);
    size_t n = idx->nlive;
    UNLOCK(idx);
    return n;
}

/* ================= category spend and favourite ================= */

/* A block of 2^caplog pairs, zeroed: the views snapshot writes the pool whole, room past a
 * member's pairs included, and must not carry what the allocator left there (bytes of
 * earlier requests) to disk, nor differ between two indexes holding the same members. */
static uint32_t cat_alloc(seg_index *idx, int caplog)
{
    size_t need = (size_t)1 << caplog;
    uint32_t h = idx->cat_free[caplog];
    if (h != UINT32_MAX) {
        idx->cat_free[caplog] = idx->catpool[h].cat;
        memset(&idx->catpool[h], 0, need * sizeof *idx->catpool);
        return h;
    }
    if (idx->catpool_n + need > UINT32_MAX - 1) return UINT32_MAX;
    if (idx->catpool_n + need > idx->catpool_cap) {
        size_t nc = idx->catpool_cap ? idx->catpool_cap + idx->catpool_cap / 2 : 4096;
        while (nc < idx->catpool_n + need)
            nc += nc / 2;
        seg_catpair *p =
            snapmap_realloc(idx->catpool, idx->catpool_cap * sizeof *p, nc * sizeof *p);
        if (!p) return UINT32_MAX;
        idx->catpool = p;
        idx->catpool_cap = nc;
    }
    uint32_t off = (uint32_t)idx->catpool_n;
    idx->catpool_n += need;
    memset(&idx->catpool[off], 0, need * sizeof *idx->catpool);
    return off;
}

static int cat_add(seg_index *idx, uint32_t o, uint32_t code, int64_t delta)
{
    uint32_t off = idx->cat_off[o];
    unsigned len = idx->cat_len[o];
    if (off != UINT32_MAX)
        for (unsigned i = 0; i < len; i++)
            if (idx->catpool[off + i].cat == code) {
                idx->catpool[off + i].cents += (int32_t)delta;
                return 0;
            }
    if (len == 255) return 0; /* a member with 255 categories: later ones are not tracked */
    if (off == UINT32_MAX || len == (1u << idx->cat_cap_log[o])) {
        int caplog = off == UINT32_MAX ? 0 : idx->cat_cap_log[o] + 1;
        uint32_t noff = cat_alloc(idx, caplog);
        if (noff == UINT32_MAX) return -1;
        if (off != UINT32_MAX) {
            memcpy(&idx->catpool[noff], &idx->catpool[off], len * sizeof(seg_catpair));
            int oldlog = idx->cat_cap_log[o];
            idx->catpool[off].cat = idx->cat_free[oldlog];
            idx->cat_free[oldlog] = off;
        }
        idx->cat_off[o] = off = noff;
        idx->cat_cap_log[o] = (uint8_t)caplog;
    }
    idx->catpool[off + len] = (seg_catpair){.cat = code, .cents = (int32_t)delta};
    idx->cat_len[o] = (uint8_t)(len + 1);
    return 0;
}

/* Favourite category: most net spend (> 0); ties go to the smaller name (bytewise). */
static int fav_update(seg_index *idx, uint32_t o)
{
    uint32_t off = idx->cat_off[o], best = 0;
    int32_t bestc = 0;
    const seg_dict *dict = &idx->dims[SEG_D_FAV].dict;
    if (off != UINT32_MAX)
        for (unsigned i = 0; i < idx->cat_len[o]; i++) {
            seg_catpair cp = idx->catpool[off + i];
            if (cp.cents <= 0) continue;
            if (cp.cents > bestc) {
                best = cp.cat;
                bestc = cp.cents;
            } else if (cp.cents == bestc) {
                size_t la = dict->lens[cp.cat], lb = dict->lens[best];
                int c = memcmp(dict->strs[cp.cat], dict->strs[best], la < lb ? la : lb);
                if (c < 0 || (c == 0 && la < lb)) best = cp.cat;
            }
        }
    return dim_set(idx, SEG_D_FAV, o, best, false);
}

static int apply_cats(seg_index *idx, uint32_t o, const seg_category_spend *cats, size_t n,
                      int sign, seg_error *err)
{
    for (size_t i = 0; i < n; i++) {
        int64_t c = dim_code_str(idx, SEG_D_FAV, cats[i].category, err);
        if (c < 0) return -1;
        if (c == 0) continue;
        if (cat_add(idx, o, (uint32_t)c, sign * cats[i].cents) != 0) goto oom;
    }
    if (n && fav_update(idx, o) != 0) goto oom;
    return 0;
oom:
    seg_err_set(err, 0, "out of memory");
    return -1;
}

/* ================= orders, refunds, day rolls ================= */

static int bucket_push(seg_index *idx, int32_t day, uint32_t o, int odelta, int32_t cents)
{
    seg_bucket *b = &idx->buckets[day % SEG_WINDOW_DAYS];
    if (b->n == b->cap) {
        uint32_t nc = b->cap ? b->cap * 2 : 256;
        seg_bucket_entry *e = realloc(b->e, nc * sizeof *e);
        if (!e) return -1;
        b->e = e;
        b->cap = nc;
    }
    uint32_t flags = odelta > 0 ? 1u << 30 : odelta < 0 ? 2u << 30 : 0;
    b->e[b->n++] = (seg_bucket_entry){.ord_delta = o | flags, .cents = cents};
    return 0;
}

/* Subtracts bucket `day` from the window of `w` days (30, 90 or 365). */
static void bucket_leave(seg_index *idx, int32_t day, int w)
{
    if (day < 1) return;
    seg_bucket *b = &idx->buckets[day % SEG_WINDOW_DAYS];
    uint16_t *oc = w == 30 ? idx->o30 : w == 90 ? idx->o90 : idx->o365;
    int32_t *sc = w == 30 ? idx->s30 : w == 90 ? idx->s90 : idx->s365;
    for (uint32_t i = 0; i < b->n; i++) {
        uint32_t o = b->e[i].ord_delta & ((1u << 30) - 1), f = b->e[i].ord_delta >> 30;
        oc[o] = (uint16_t)(oc[o] - (f == 1 ? 1 : f == 2 ? -1 : 0));
        sc[o] -= b->e[i].cents;
    }
    if (w == SEG_WINDOW_DAYS) {
        free(b->e);
        memset(b, 0, sizeof *b);
    }
}

static void rfm_recompute_locked(seg_index *idx);
static void rule_tags_refresh_locked(seg_index *idx);

/* The member's class columns, after a change to its orders. */
static void cls_update(seg_index *idx, uint32_t o)
{
    idx->rfm_cls[o] = (uint8_t)seg_ix_rfm_class(idx, o);
    idx->life_cls[o] = (uint8_t)seg_ix_lifecycle(idx, o);
}

/* Everyone's class columns, after the day or a threshold changed (~5 ns a member). */
static void cls_update_all(seg_index *idx)
{
    for (uint32_t o = 0; o < idx->n; o++)
        cls_update(idx, o);
}

/* The member's group messages in the window ending today: days before it leave. */
static void gdays_trim(seg_index *idx, uint32_t o)
{
    seg_gdays *g = idx->gdays[o];
    if (!g) return;
    int64_t sum = 0;
    uint32_t k = 0;
    for (uint32_t i = 0; i < g->n; i++)
        if (g->v[i].day > idx->today - SEG_GROUP_WINDOW) {
            g->v[k++] = g->v[i];
            sum += g->v[i].messages;
        }
    g->n = k;
    idx->gmsg30[o] = sum > INT32_MAX ? INT32_MAX : (int32_t)sum;
    if (!k) {
        free(g);
        idx->gdays[o] = NULL;
    }
}

static void advance_locked(seg_index *idx, int32_t today)
{
    if (today <= idx->today) return;
    int32_t stop = today < idx->today + SEG_WINDOW_DAYS ? today : idx->today + SEG_WINDOW_DAYS;
    for (int32_t d = idx->today + 1; d <= stop; d++) {
        bucket_leave(idx, d - 30, 30);
        bucket_leave(idx, d - 90, 90);
        bucket_leave(idx, d - SEG_WINDOW_DAYS, SEG_WINDOW_DAYS);
    }
    idx->today = today;
    atomic_store_explicit(&idx->today_seen, today, memory_order_release);
    idx->gen++;
    for (uint32_t o = 0; o < idx->n; o++)
        if (idx->gdays[o]) gdays_trim(idx, o);
    if (idx->rfm_auto)
        rfm_recompute_locked(idx);
    else
        cls_update_all(idx);
    rule_tags_refresh_locked(idx);
}

int seg_index_advance_day(seg_index *idx, int32_t today, seg_error *err)
{
    if (today < 1 || today > 65535) {
        seg_err_set(err, 0, "day %d out of range", today);
        return -1;
    }
    /* the day moves once a day: the other calls see so without any lock */
    if (atomic_load_explicit(&idx->today_seen, memory_order_acquire) >= today) return 0;
    WLOCK(idx);
    advance_locked(idx, today);
    UNLOCK(idx);
    return 0;
}

int32_t seg_index_today(seg_index *idx)
{
    RLOCK(idx);
    int32_t t = idx->today;
    UNLOCK(idx);
    return t;
}

/* Adds (odelta orders, cents) of an order placed on `day` to the windows containing it. */
static int windows_add(seg_index *idx, uint32_t o, int32_t day, int odelta, int32_t cents)
{
    int32_t age = idx->today - day;
    if (age < 0 || age >= SEG_WINDOW_DAYS) return 0;
    if (bucket_push(idx, day, o, odelta, cents) != 0) return -1;
    idx->o365[o] = (uint16_t)(idx->o365[o] + odelta);
    idx->s365[o] += cents;
    if (age < 90) {
        idx->o90[o] = (uint16_t)(idx->o90[o] + odelta);
        idx->s90[o] += cents;
    }
    if (age < 30) {
        idx->o30[o] = (uint16_t)(idx->o30[o] + odelta);
        idx->s30[o] += cents;
    }
    return 0;
}

static int check_order_args(int32_t day, int64_t cents, int32_t items, seg_error *err)
{
    if (day < 1 || day > 65535) {
        seg_err_set(err, 0, "order day %d out of range", day);
        return -1;
    }
    if (cents < -2000000000 || cents > 2000000000 || items < 0) {
        seg_err_set(err, 0, "order amount or items out of range");
        return -1;
    }
    return 0;
}

int seg_index_apply_order(seg_index *idx, int64_t member_id, int32_t day, int64_t net_cents,
                          int32_t items, const seg_category_spend *cats, size_t ncats,
                          seg_error *err)
{
    if (check_order_args(day, net_cents, items, err) != 0) return -1;
    WLOCK(idx);
    int rc = -1;
    int oi = seg_ix_ord(idx, member_id);
    if (oi < 0) {
        unknown_member(err, member_id);
        goto out;
    }
    uint32_t o = (uint32_t)oi;
    if (day > idx->today) advance_locked(idx, day);
    if (windows_add(idx, o, day, 1, (int32_t)net_cents) != 0) {
        seg_err_set(err, 0, "out of memory");
        goto out;
    }
    idx->orders[o]++;
    idx->spend[o] += net_cents;
    idx->items[o] += items;
    uint16_t d = (uint16_t)day;
    /* last, and prev = the latest order day strictly before last */
    if (!idx->last[o]) {
        idx->last[o] = idx->first[o] = d;
    } else if (d > idx->last[o]) {
        idx->prev[o] = idx->last[o];
        idx->last[o] = d;
    } else if (d < idx->last[o] && d > idx->prev[o]) {
        idx->prev[o] = d;
    }
    if (!idx->first[o] || d < idx->first[o]) idx->first[o] = d;
    cls_update(idx, o);
    rc = apply_cats(idx, o, cats, ncats, 1, err);
    idx->gen++;
out:
    UNLOCK(idx);
    return rc;
}

int seg_index_apply_refund(seg_index *idx, int64_t member_id, int32_t order_day, int64_t cents,
                           int32_t items, bool cancels_order, const seg_category_spend *cats,
                           size_t ncats, seg_error *err)
{
    if (check_order_args(order_day, cents, items, err) != 0) return -1;
    WLOCK(idx);
    int rc = -1;
    int oi = seg_ix_ord(idx, member_id);
    if (oi < 0) {
        unknown_member(err, member_id);
        goto out;
    }
    uint32_t o = (uint32_t)oi;
    if (order_day > idx->today) advance_locked(idx, order_day);
    int od = cancels_order ? -1 : 0;
    if (windows_add(idx, o, order_day, od, -(int32_t)cents) != 0) {
        seg_err_set(err, 0, "out of memory");
        goto out;
    }
    idx->orders[o] += od;
    idx->spend[o] -= cents;
    idx->items[o] -= items;
    cls_update(idx, o);
    rc = apply_cats(idx, o, cats, ncats, -1, err);
    idx->gen++;
out:
    UNLOCK(idx);
    return rc;
}

/* ================= merges ================= */

/* Moves member f's order state onto t: counts, spends, windows, order days,
 * category spend, manual tags. The fallible steps (allocations) run first, so an out
 * of memory leaves the numbers unmoved. Callers hold the write lock. */
static int merge_locked(seg_index *idx, uint32_t t, uint32_t f, seg_error *err)
{
    /* category spend, and so the favourite category */
    uint32_t foff = idx->cat_off[f];
    if (foff != UINT32_MAX) {
        for (unsigned i = 0; i < idx->cat_len[f]; i++) {
            /* cat_add may move the pool: read the pair afresh every time */
            seg_catpair cp = idx->catpool[foff + i];
            if (cat_add(idx, t, cp.cat, cp.cents) != 0) goto oom;
        }
        if (fav_update(idx, t) != 0 || dim_set(idx, SEG_D_FAV, f, 0, false) != 0) goto oom;
        int lg = idx->cat_cap_log[f];
        idx->catpool[foff].cat = idx->cat_free[lg];
        idx->cat_free[lg] = foff;
        idx->cat_off[f] = UINT32_MAX;
        idx->cat_len[f] = 0;
    }
    /* manual tags follow the member (the store copies its tag rows the same way);
     * rule tags follow from the moved numbers */
    for (int i = 0; i < idx->ntags; i++) {
        seg_tag *tg = &idx->tags[i];
        if (tg->rule || !seg_set_has(&tg->set, f)) continue;
        if (seg_set_add(&tg->set, t, idx->nwords) != 0) goto oom;
        seg_set_remove(&tg->set, f);
    }
    /* f's entries in the day buckets must leave t's windows when their day does. They
     * lie only on f's order days (refunds are bucketed by their order's day), so only
     * the buckets from f's first to last order day inside the window are visited. */
    if (idx->last[f]) {
        int32_t lo = idx->first[f] > idx->today - (SEG_WINDOW_DAYS - 1)
                         ? idx->first[f]
                         : idx->today - (SEG_WINDOW_DAYS - 1);
        int32_t hi = idx->last[f] < idx->today ? idx->last[f] : idx->today;
        for (int32_t d = lo < 1 ? 1 : lo; d <= hi; d++) {
            seg_bucket *b = &idx->buckets[d % SEG_WINDOW_DAYS];
            for (uint32_t i = 0; i < b->n; i++)
                if ((b->e[i].ord_delta & ((1u << 30) - 1)) == f)
                    b->e[i].ord_delta = (b->e[i].ord_delta & ~((1u << 30) - 1)) | t;
        }
    }
    idx->orders[t] += idx->orders[f];
    idx->items[t] += idx->items[f];
    idx->spend[t] += idx->spend[f];
    idx->o30[t] = (uint16_t)(idx->o30[t] + idx->o30[f]);
    idx->o90[t] = (uint16_t)(idx->o90[t] + idx->o90[f]);
    idx->o365[t] = (uint16_t)(idx->o365[t] + idx->o365[f]);
    idx->s30[t] += idx->s30[f];
    idx->s90[t] += idx->s90[f];
    idx->s365[t] += idx->s365[f];
    if (idx->first[f] && (!idx->first[t] || idx->first[f] < idx->first[t]))
        idx->first[t] = idx->first[f];
    /* last = the latest order day of both; prev = the latest day strictly before it */
    uint16_t days[4] = {idx->last[t], idx->prev[t], idx->last[f], idx->prev[f]};
    uint16_t last = 0, prev = 0;
    for (int i = 0; i < 4; i++)
        if (days[i] > last) last = days[i];
    for (int i = 0; i < 4; i++)
        if (days[i] < last && days[i] > prev) prev = days[i];
    idx->last[t] = last;
    idx->prev[t] = prev;
    /* f keeps nothing, so a member that comes back (upsert) does not count twice */
    idx->orders[f] = idx->items[f] = 0;
    idx->spend[f] = 0;
    idx->o30[f] = idx->o90[f] = idx->o365[f] = 0;
    idx->s30[f] = idx->s90[f] = idx->s365[f] = 0;
    idx->first[f] = idx->last[f] = idx->prev[f] = 0;
    cls_update(idx, t);
    cls_update(idx, f);
    return 0;
oom:
    seg_err_set(err, 0, "out of memory");
    return -1;
}

int seg_index_merge_member(seg_index *idx, int64_t into_id, int64_t from_id, seg_error *err)
{
    if (into_id == from_id) {
        seg_err_set(err, 0, "member %lld cannot be merged into itself", (long long)into_id);
        return -1;
    }
    WLOCK(idx);
    int rc = -1;
    int t = seg_ix_ord(idx, into_id), f = seg_ix_ord(idx, from_id);
    if (t < 0 || f < 0) {
        unknown_member(err, t < 0 ? into_id : from_id);
        goto out;
    }
    rc = 0;
    if (!(idx->live[f >> 6] & (1ull << (f & 63))))
        goto out; /* merged (or removed) already: a replay must not move orders twice */
    rc = merge_locked(idx, (uint32_t)t, (uint32_t)f, err);
    if (rc == 0) {
        idx->live[f >> 6] &= ~(1ull << (f & 63));
        idx->nlive--;
    }
    idx->gen++;
out:
    UNLOCK(idx);
    return rc;
}

/* ================= other member state ================= */

#define MEMBER_OR_FAIL(idx, id, o)                                                                 \
    int o = seg_ix_ord(idx, id);                                                                   \
    if (o < 0) {                                                                                   \
        UNLOCK(idx);                                                                               \
        return unknown_member(err, id);                                                            \
    }

int seg_index_set_reach(seg_index *idx, int64_t member_id, unsigned flags, seg_error *err)
{
    WLOCK(idx);
    MEMBER_OR_FAIL(idx, member_id, o);
    int rc = 0;
    for (int i = 0; i < 6; i++) {
        bool on = i < 5 ? (flags >> i) & 1 : (flags & 31) != 0;
        if (on)
            rc |= seg_set_add(&idx->reach[i], (uint32_t)o, idx->nwords);
        else
            seg_set_remove(&idx->reach[i], (uint32_t)o);
    }
    idx->gen++;
    UNLOCK(idx);
    if (rc) seg_err_set(err, 0, "out of memory");
    return rc;
}

int seg_index_set_points(seg_index *idx, int64_t member_id, int64_t balance, seg_error *err)
{
    if (balance < INT32_MIN || balance > INT32_MAX) {
        seg_err_set(err, 0, "points balance out of range");
        return -1;
    }
    WLOCK(idx);
    MEMBER_OR_FAIL(idx, member_id, o);
    idx->points[o] = (int32_t)balance;
    idx->gen++;
    UNLOCK(idx);
    return 0;
}

int seg_index_set_contacts(seg_index *idx, int64_t member_id, int64_t live, int32_t first_day,
                           seg_error *err)
{
    uint16_t first;
    if (live < 0 || day16(first_day, 0, &first) != 0) {
        seg_err_set(err, 0, "contact day out of range");
        return -1;
    }
    WLOCK(idx);
    MEMBER_OR_FAIL(idx, member_id, o);
    idx->contacts[o] = live > 65535 ? 65535 : (uint16_t)live;
    idx->contact_first[o] = first;
    idx->gen++;
    UNLOCK(idx);
    return 0;
}

int seg_index_set_groups(seg_index *idx, int64_t member_id, int64_t groups, int32_t first_day,
                         seg_error *err)
{
    uint16_t first;
    if (groups < 0 || day16(first_day, 0, &first) != 0) {
        seg_err_set(err, 0, "group day out of range");
        return -1;
    }
    WLOCK(idx);
    MEMBER_OR_FAIL(idx, member_id, o);
    idx->groups[o] = groups > 65535 ? 65535 : (uint16_t)groups;
    idx->group_first[o] = first;
    idx->gen++;
    UNLOCK(idx);
    return 0;
}

int seg_index_set_group_messages(seg_index *idx, int64_t member_id, const int32_t *days,
                                 const int64_t *messages, size_t n, seg_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (days[i] < 1 || days[i] > 65535 || messages[i] < 0) {
            seg_err_set(err, 0, "group messages out of range");
            return -1;
        }
    WLOCK(idx);
    MEMBER_OR_FAIL(idx, member_id, o);
    for (size_t i = 0; i < n; i++) /* a day after today first advances it, as an order does */
        if (days[i] > idx->today) advance_locked(idx, days[i]);
    seg_gdays *g = idx->gdays[o];
    if (!g && n && !(g = calloc(1, sizeof *g))) {
        UNLOCK(idx);
        seg_err_set(err, 0, "out of memory");
        return -1;
    }
    if (g) {
        g->n = 0;
        for (size_t i = 0; i < n; i++) {
            if (days[i] <= idx->today - SEG_GROUP_WINDOW || !messages[i]) continue;
            uint32_t k = 0; /* one entry a day: the caller's days may repeat */
            while (k < g->n && g->v[k].day != days[i])
                k++;
            if (k == g->n) {
                if (g->n == SEG_GROUP_WINDOW) continue; /* cannot happen: 30 distinct days */
                g->v[g->n].day = days[i];
                g->v[g->n++].messages = 0;
            }
            int64_t m = (int64_t)g->v[k].messages + messages[i];
            g->v[k].messages = m > INT32_MAX ? INT32_MAX : (int32_t)m;
        }
        idx->gdays[o] = g;
        gdays_trim(idx, (uint32_t)o);
    }
    idx->gen++;
    UNLOCK(idx);
    return 0;
}

/* The group's slot in idx->grp (sorted by id), or where it would go. */
static uint32_t grp_find(const seg_index *idx, int64_t id, bool *found)
{
    uint32_t lo = 0, hi = idx->ngrp;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (idx->grp[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < idx->ngrp && idx->grp[lo].id == id;
    return lo;
}

int seg_index_set_member_group(seg_index *idx, int64_t member_id, int64_t group_id, bool in,
                               seg_error *err)
{
    if (group_id < 1) {
        seg_err_set(err, 0, "group id out of range");
        return -1;
    }
    WLOCK(idx);
    MEMBER_OR_FAIL(idx, member_id, o);
    bool found;
    uint32_t k = grp_find(idx, group_id, &found);
    int rc = 0;
    if (!found && in) {
        if (idx->ngrp == idx->grp_cap) {
            uint32_t nc = idx->grp_cap ? idx->grp_cap * 2 : 64;
            seg_grp *v = realloc(idx->grp, nc * sizeof *v);
            if (!v) {
                UNLOCK(idx);
                seg_err_set(err, 0, "out of memory");
                return -1;
            }
            idx->grp = v;
            idx->grp_cap = nc;
        }
        memmove(&idx->grp[k + 1], &idx->grp[k], (idx->ngrp - k) * sizeof *idx->grp);
        memset(&idx->grp[k], 0, sizeof idx->grp[k]);
        idx->grp[k].id = group_id;
        idx->ngrp++;
        found = true;
    }
    if (found) {
        if (in)
            rc = seg_set_add(&idx->grp[k].set, (uint32_t)o, idx->nwords);
        else
            seg_set_remove(&idx->grp[k].set, (uint32_t)o);
        if (rc) seg_err_set(err, 0, "out of memory");
    }
    idx->gen++;
    UNLOCK(idx);
    return rc;
}

int seg_index_clear_member_groups(seg_index *idx, int64_t member_id, seg_error *err)
{
    WLOCK(idx);
    MEMBER_OR_FAIL(idx, member_id, o);
    /* the member is in groups[o] of the sets (both follow the stints): stop when they are
     * all found, and visit none for a member in no group */
    uint32_t left = idx->groups[o];
    for (uint32_t g = 0; g < idx->ngrp && left; g++)
        if (seg_set_has(&idx->grp[g].set, (uint32_t)o)) {
            seg_set_remove(&idx->grp[g].set, (uint32_t)o);
            left--;
        }
    if (left) /* a count that was clamped: every set then */
        for (uint32_t g = 0; g < idx->ngrp; g++)
            seg_set_remove(&idx->grp[g].set, (uint32_t)o);
    idx->gen++;
    UNLOCK(idx);
    return 0;
}

const seg_set *seg_ix_group_set(const seg_index *idx, int64_t group_id)
{
    bool found;
    uint32_t k = grp_find(idx, group_id, &found);
    return found ? &idx->grp[k].set : NULL;
}

int seg_index_set_referrals(seg_index *idx, int64_t member_id, int64_t direct, int64_t all,
                            int64_t depth, seg_error *err)
{
    if (direct < 0 || all < 0 || depth < 0) {
        seg_err_set(err, 0, "referral counts out of range");
        return -1;
    }
    WLOCK(idx);
    MEMBER_OR_FAIL(idx, member_id, o);
    idx->ref_direct[o] = direct > INT32_MAX ? INT32_MAX : (int32_t)direct;
    idx->ref_all[o] = all > INT32_MAX ? INT32_MAX : (int32_t)all;
    idx->ref_depth[o] = depth > INT32_MAX ? INT32_MAX : (int32_t)depth;
    idx->gen++;
    UNLOCK(idx);
    return 0;
}

int seg_index_set_tier(seg_index *idx, int64_t member_id, const char *tier, seg_error *err)
{
    WLOCK(idx);
    MEMBER_OR_FAIL(idx, member_id, o);
    int rc = -1;
    int64_t c = dim_code_str(idx, SEG_D_TIER, tier, err);
    if (c >= 0) {
        rc = dim_set(idx, SEG_D_TIER, (uint32_t)o, (uint32_t)c, false);
        if (rc) seg_err_set(err, 0, "out of memory");
    }
    idx->gen++;
    UNLOCK(idx);
    return rc;
}

int seg_index_set_prediction(seg_index *idx, int64_t member_id, double p_alive,
                             double expected_purchases_90d, int64_t clv_12m_cents, seg_error *err)
{
    if (clv_12m_cents != SEG_NO_VALUE &&
        (clv_12m_cents <= INT32_MIN || clv_12m_cents > INT32_MAX)) {
        seg_err_set(err, 0, "clv_12m_cents out of range");
        return -1;
    }
    WLOCK(idx);
    MEMBER_OR_FAIL(idx, member_id, o);
    /* stored as float: 7 significant digits are plenty for a probability or an
     * expected count, and half the bytes to scan */
    idx->palive[o] = (float)p_alive;
    idx->expect[o] = (float)expected_purchases_90d;
    idx->clv[o] = clv_12m_cents == SEG_NO_VALUE ? INT32_MIN : (int32_t)clv_12m_cents;
    idx->gen++;
    UNLOCK(idx);
    return 0;
}

/* ================= RFM and lifecycle ================= */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Lower median by selection (O(n) expected). */
static int64_t median_i64(int64_t *v, size_t n)
{
    size_t k = (n - 1) / 2, lo = 0, hi = n - 1;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    while (hi - lo > 16) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int64_t piv = v[lo + (seed >> 33) % (hi - lo + 1)];
        size_t i = lo, lt = lo, gt = hi;
        while (i <= gt) { /* three-way partition */
            if (v[i] < piv) {
                int64_t t = v[i];
                v[i] = v[lt];
                v[lt] = t;
                i++;
                lt++;
            } else if (v[i] > piv) {
                int64_t t = v[i];
                v[i] = v[gt];
                v[gt] = t;
                if (gt == 0) break;
                gt--;
            } else {
                i++;
            }
        }
        if (k < lt)
            hi = lt - 1;
        else if (k > gt)
            lo = gt + 1;
        else
            return piv;
    }
    qsort(v + lo, hi - lo + 1, sizeof *v, cmp_i64);
    return v[k];
}

static void rfm_recompute_locked(seg_index *idx)
{
    size_t n = 0;
    int64_t *v = malloc((size_t)(idx->n ? idx->n : 1) * sizeof *v);
    if (!v) return; /* keeps the previous thresholds */
    for (int pass = 0; pass < 3; pass++) {
        n = 0;
        for (uint32_t o = 0; o < idx->n; o++) {
            if (!(idx->live[o >> 6] >> (o & 63) & 1) || idx->orders[o] < 1 || !idx->last[o])
                continue;
            v[n++] = pass == 0   ? idx->today - idx->last[o]
                     : pass == 1 ? idx->orders[o]
                                 : idx->spend[o];
        }
        if (!n) break;
        int64_t med = median_i64(v, n);
        if (pass == 0)
            idx->rfm.r_max_days = (int32_t)(med - 1);
        else if (pass == 1)
            idx->rfm.f_min_orders = (int32_t)(med + 1);
        else
            idx->rfm.m_min_cents = med + 1;
    }
    free(v);
    cls_update_all(idx);
}

void seg_index_rfm_get(seg_index *idx, seg_rfm_thresholds *out, bool *automatic)
{
    RLOCK(idx);
    *out = idx->rfm;
    if (automatic) *automatic = idx->rfm_auto;
    UNLOCK(idx);
}

void seg_index_rfm_set(seg_index *idx, const seg_rfm_thresholds *t)
{
    WLOCK(idx);
    if (t) {
        idx->rfm = *t;
        idx->rfm_auto = false;
        cls_update_all(idx);
    } else {
        idx->rfm_auto = true;
        /* with nobody to take medians of, the defaults rather than the old fixed values */
        idx->rfm = (seg_rfm_thresholds){.r_max_days = 90, .f_min_orders = 2, .m_min_cents = 1};
        rfm_recompute_locked(idx);
    }
    idx->gen++;
    UNLOCK(idx);
}

void seg_index_rfm_recompute(seg_index *idx)
{
    WLOCK(idx);
    /* fixed thresholds an operator set stay as set */
    if (idx->rfm_auto) rfm_recompute_locked(idx);
    idx->gen++;
    UNLOCK(idx);
}

void seg_index_lifecycle_get(seg_index *idx, seg_lifecycle_thresholds *out)
{
    RLOCK(idx);
    *out = idx->life;
    UNLOCK(idx);
}

int seg_index_lifecycle_set(seg_index *idx, const seg_lifecycle_thresholds *t, seg_error *err)
{
    if (t->new_days < 0 || t->active_days < 0 || t->lapsed_days < t->active_days) {
        seg_err_set(err, 0, "lifecycle thresholds must be >= 0 with lapsed_days >= active_days");
        return -1;
    }
    WLOCK(idx);
    idx->life = *t;
    cls_update_all(idx);
    idx->gen++;
    UNLOCK(idx);
    return 0;
}

int seg_index_member_rfm(seg_index *idx, int64_t member_id)
{
    RLOCK(idx);
    int o = seg_ix_ord(idx, member_id);
    int c = o < 0 ? -1 : idx->rfm_cls[o];
    UNLOCK(idx);
    return c;
}

int seg_index_member_lifecycle(seg_index *idx, int64_t member_id)
{
    RLOCK(idx);
    int o = seg_ix_ord(idx, member_id);
    int c = o < 0 ? -1 : idx->life_cls[o];
    UNLOCK(idx);
    return c;
}

/* ================= tags ================= */

int seg_ix_tag_find(const seg_index *idx, const char *name, size_t len)
{
    for (int i = 0; i < idx->ntags; i++)
        if (strlen(idx->tags[i].name) == len && memcmp(idx->tags[i].name, name, len) == 0) return i;
    return -1;
}

int seg_index_tag_find(seg_index *idx, const char *name)
{
    RLOCK(idx);
    int t = seg_ix_tag_find(idx, name, strlen(name));
    UNLOCK(idx);
    return t;
}

const char *seg_index_tag_name(seg_index *idx, int tag)
{
    RLOCK(idx);
    const char *s = tag >= 0 && tag < idx->ntags ? idx->tags[tag].name : NULL;
    UNLOCK(idx);
    return s;
}

/* Replaces s by the members of a dense bitset (words beyond n are zero); w is
 * consumed. */
static int set_from_words(seg_index *idx, seg_set *s, uint64_t *w)
{
    uint64_t card = 0;
    for (size_t i = 0; i < idx->nwords; i++)
        card += (uint64_t)__builtin_popcountll(w[i]);
    if (card * 64 > idx->nwords * 64) { /* dense: keep the words as they are */
        seg_set_clear(s);
        *s = (seg_set){.card = card, .w = w};
        return 0;
    }
    uint32_t *a = malloc((card ? card : 1) * sizeof *a);
    if (!a) {
        free(w);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < idx->nwords; i++)
        for (uint64_t x = w[i]; x; x &= x - 1)
            a[k++] = (uint32_t)(i * 64 + (size_t)__builtin_ctzll(x));
    free(w);
    int rc = seg_set_from_sorted(s, a, k, idx->nwords);
    free(a);
    return rc;
}

static void rule_tags_refresh_locked(seg_index *idx)
{
    for (int i = 0; i < idx->ntags; i++) {
        seg_tag *t = &idx->tags[i];
        if (!t->rule || t->fresh_gen == idx->gen) continue;
        t->fresh_gen = UINT64_MAX; /* evaluate from the rule, not from the old bitmap */
        uint64_t *w;
        if (seg_eval_dense(idx, t->rule, NULL, &w, NULL) == 0 &&
            set_from_words(idx, &t->set, w) == 0)
            t->fresh_gen = idx->gen;
    }
}

int seg_index_rule_tags_refresh(seg_index *idx, seg_error *err)
{
    (void)err;
    WLOCK(idx);
    rule_tags_refresh_locked(idx);
    UNLOCK(idx);
    return 0;
}

int seg_index_tag_create(seg_index *idx, const char *name, const char *rule_expr, seg_error *err)
{
    if (!name || !*name) {
        seg_err_set(err, 0, "a tag needs a name");
        return -1;
    }
    WLOCK(idx);
    int rc = -1;
    seg_expr *rule = NULL;
    if (seg_ix_tag_find(idx, name, strlen(name)) >= 0) {
        seg_err_set(err, 0, "tag \"%.60s\" exists", name);
        goto out;
    }
    if (rule_expr && seg_parse_ix(rule_expr, idx, &rule, err) != 0) goto out;
    if (idx->ntags == idx->tags_cap) {
        int nc = idx->tags_cap ? idx->tags_cap * 2 : 16;
        seg_tag *t = realloc(idx->tags, (size_t)nc * sizeof *t);
        if (!t) goto oom;
        idx->tags = t;
        idx->tags_cap = nc;
    }
    seg_tag *t = &idx->tags[idx->ntags];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name))) goto oom;
    t->rule = rule;
    t->fresh_gen = UINT64_MAX;
    rule = NULL;
    rc = idx->ntags++;
    if (t->rule) rule_tags_refresh_locked(idx);
    goto out;
oom:
    seg_err_set(err, 0, "out of memory");
out:
    seg_expr_free(rule);
    UNLOCK(idx);
    return rc;
}

static int manual_tag(seg_index *idx, int tag, seg_error *err)
{
    if (tag < 0 || tag >= idx->ntags) {
        seg_err_set(err, 0, "no tag %d", tag);
        return -1;
    }
    if (idx->tags[tag].rule) {
        seg_err_set(err, 0, "tag \"%.60s\" is a rule tag: its members follow its rule",
                    idx->tags[tag].name);
        return -1;
    }
    return 0;
}

int seg_index_tag_add(seg_index *idx, int tag, int64_t member_id, seg_error *err)
{
    WLOCK(idx);
    int rc = manual_tag(idx, tag, err);
    if (rc == 0) {
        int o = seg_ix_ord(idx, member_id);
        if (o < 0)
            rc = unknown_member(err, member_id);
        else if ((rc = seg_set_add(&idx->tags[tag].set, (uint32_t)o, idx->nwords)) != 0)
            seg_err_set(err, 0, "out of memory");
        idx->gen++;
    }
    UNLOCK(idx);
    return rc;
}

int seg_index_tag_remove(seg_index *idx, int tag, int64_t member_id, seg_error *err)
{
    WLOCK(idx);
    int rc = manual_tag(idx, tag, err);
    if (rc == 0) {
        int o = seg_ix_ord(idx, member_id);
        if (o < 0)
            rc = unknown_member(err, member_id);
        else
            seg_set_remove(&idx->tags[tag].set, (uint32_t)o);
        idx->gen++;
    }
    UNLOCK(idx);
    return rc;
}

int seg_index_tag_add_expr(seg_index *idx, int tag, const seg_expr *e, seg_error *err)
{
    WLOCK(idx);
    uint64_t *w = NULL;
    int rc = manual_tag(idx, tag, err);
    if (rc == 0) rc = seg_eval_dense(idx, e, NULL, &w, err);
    for (size_t i = 0; rc == 0 && i < idx->nwords; i++)
        for (uint64_t x = w[i]; x && rc == 0; x &= x - 1)
            rc = seg_set_add(&idx->tags[tag].set, (uint32_t)(i * 64 + (size_t)__builtin_ctzll(x)),
                             idx->nwords);
    if (rc == 0) idx->gen++;
    free(w);
    UNLOCK(idx);
    return rc;
}

int seg_index_member_tags(seg_index *idx, int64_t member_id, int *tags, int max)
{
    RLOCK(idx);
    int o = seg_ix_ord(idx, member_id), k = 0;
    if (o >= 0)
        for (int i = 0; i < idx->ntags; i++) {
            const seg_tag *t = &idx->tags[i];
            bool in;
            if (t->rule && t->fresh_gen != idx->gen) {
                if (seg_ix_match(idx, t->rule->root, (uint32_t)o, 0, &in, NULL) != 0) in = false;
            } else {
                in = seg_set_has(&t->set, (uint32_t)o);
            }
            if (in) {
                if (k < max) tags[k] = i;
                k++;
            }
        }
    UNLOCK(idx);
    return o < 0 ? -1 : k;
}

/* ================= saved segments ================= */

const seg_saved *seg_ix_saved_by_id(const seg_index *idx, int64_t id)
{
    for (int i = 0; i < idx->nsaved; i++)
        if (idx->saved[i].id == id) return &idx->saved[i];
    return NULL;
}

const seg_saved *seg_ix_saved_by_name(const seg_index *idx, const char *name, size_t len)
{
    for (int i = 0; i < idx->nsaved; i++)
        if (idx->saved[i].name && strlen(idx->saved[i].name) == len &&
            memcmp(idx->saved[i].name, name, len) == 0)
            return &idx->saved[i];
    return NULL;
}

int seg_index_segment_define(seg_index *idx, int64_t id, const char *name, const char *expr,
                             seg_error *err)
{
    WLOCK(idx);
    int rc = -1;
    seg_expr *e = NULL;
    char *nm = NULL;
    const seg_saved *other = name ? seg_ix_saved_by_name(idx, name, strlen(name)) : NULL;
    if (other && other->id != id) {
        seg_err_set(err, 0, "segment \"%.60s\" exists (id %lld)", name, (long long)other->id);
        goto out;
    }
    if (seg_parse_ix(expr, idx, &e, err) != 0) goto out;
    if (name && !(nm = strdup(name))) goto oom;
    seg_saved *s = (seg_saved *)seg_ix_saved_by_id(idx, id);
    if (!s) {
        if (idx->nsaved == idx->saved_cap) {
            int nc = idx->saved_cap ? idx->saved_cap * 2 : 16;
            seg_saved *ns = realloc(idx->saved, (size_t)nc * sizeof *ns);
            if (!ns) goto oom;
            idx->saved = ns;
            idx->saved_cap = nc;
        }
        s = &idx->saved[idx->nsaved++];
        memset(s, 0, sizeof *s);
        s->id = id;
    }
    free(s->name);
    seg_expr_free(s->expr);
    s->name = nm;
    s->expr = e;
    nm = NULL;
    e = NULL;
    idx->gen++;
    rc = 0;
    goto out;
oom:
    seg_err_set(err, 0, "out of memory");
out:
    free(nm);
    seg_expr_free(e);
    UNLOCK(idx);
    return rc;
}

int seg_index_segment_drop(seg_index *idx, int64_t id)
{
    WLOCK(idx);
    int rc = -1;
    for (int i = 0; i < idx->nsaved; i++)
        if (idx->saved[i].id == id) {
            free(idx->saved[i].name);
            seg_expr_free(idx->saved[i].expr);
            idx->saved[i] = idx->saved[--idx->nsaved];
            idx->gen++;
            rc = 0;
            break;
        }
    UNLOCK(idx);
    return rc;
}

/* ================= the public parser entry ================= */

int seg_parse(const char *text, const seg_index *idx, seg_expr **out, seg_error *err)
{
    if (!idx) return seg_parse_ix(text, NULL, out, err);
    seg_index *m = (seg_index *)idx; /* the lock is the only thing touched */
    RLOCK(m);
    int rc = seg_parse_ix(text, idx, out, err);
    UNLOCK(m);
    return rc;
}

/* ================= id order ================= */

static const seg_index *sort_ctx;
static int cmp_ord_by_id(const void *a, const void *b)
{
    uint32_t x = sort_ctx->ids[*(const uint32_t *)a], y = sort_ctx->ids[*(const uint32_t *)b];
    return (x > y) - (x < y);
}

const uint32_t *seg_ix_by_id(seg_index *idx)
{
    if (idx->ids_sorted) return NULL;
    pthread_mutex_lock(&idx->by_id_lock);
    if (!idx->by_id_valid) {
        free(idx->by_id);
        idx->by_id = malloc((size_t)(idx->n ? idx->n : 1) * sizeof *idx->by_id);
        if (idx->by_id) {
            for (uint32_t o = 0; o < idx->n; o++)
                idx->by_id[o] = o;
            static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;
            pthread_mutex_lock(&sort_lock);
            sort_ctx = idx;
            qsort(idx->by_id, idx->n, sizeof *idx->by_id, cmp_ord_by_id);
            pthread_mutex_unlock(&sort_lock);
            idx->by_id_valid = true;
        }
    }
    const uint32_t *r = idx->by_id;
    pthread_mutex_unlock(&idx->by_id_lock);
    return r;
}

/* ================= accounting ================= */

void seg_index_stats_get(seg_index *idx, seg_index_stats *out)
{
    RLOCK(idx);
    memset(out, 0, sizeof *out);
    out->members = idx->n;
    size_t cap = idx->cap, b = 0;
#define B(f) +sizeof *idx->f
    b += cap * (0 SEG_MEMBER_COLUMNS(B));
    b += (size_t)(idx->hmask + 1) * 4 + idx->nwords * 8;
    out->bytes_columns = b;
    b = 0;
    for (int d = 0; d < SEG_D_COUNT_; d++) {
        const seg_dim *dm = &idx->dims[d];
        b += cap * (size_t)dm->width + (size_t)dm->dict.cap * 12 + (size_t)(dm->dict.mask + 1) * 4;
        for (uint32_t c = 1; c < dm->dict.n; c++)
            b += dm->dict.lens[c] + 1;
        for (uint32_t c = 0; c < dm->nsets; c++) {
            b += seg_set_bytes(&dm->sets[c], idx->nwords) + sizeof(seg_set);
            if (dm->sets[c].w)
                out->dense_sets++;
            else if (dm->sets[c].r || dm->sets[c].a)
                out->sparse_sets++;
        }
    }
    out->bytes_dims = b;
    b = 0;
    for (int i = 0; i < 6; i++)
        b += seg_set_bytes(&idx->reach[i], idx->nwords);
    for (int t = 0; t < idx->ntags; t++) {
        b += seg_set_bytes(&idx->tags[t].set, idx->nwords);
        if (idx->tags[t].set.w)
            out->dense_sets++;
        else if (idx->tags[t].set.r || idx->tags[t].set.a)
            out->sparse_sets++;
    }
    out->bytes_flags_tags = b;
    out->bytes_categories =
        idx->catpool_cap * sizeof(seg_catpair) + cap * (0 SEG_CATEGORY_COLUMNS(B));
#undef B
    b = 0;
    for (int i = 0; i < SEG_WINDOW_DAYS; i++) {
        b += (size_t)idx->buckets[i].cap * sizeof(seg_bucket_entry);
        out->bucket_entries += idx->buckets[i].n;
    }
    out->bytes_buckets = b;
    b = out->bytes_columns + out->bytes_dims + out->bytes_flags_tags + out->bytes_categories +
        out->bytes_buckets;
    out->bytes = b;
    UNLOCK(idx);
}
