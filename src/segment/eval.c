/* eval.c — expressions to member sets and counts.
 *
 * Strategy (why it is fast):
 *  - Tags, categorical values and flags are stored sets (set.c): a dense one is used
 *    in place as a plain bitset, a sparse one as its sorted ordinals.
 *  - Range clauses are not sets: they are "scans" of a narrow column, compiled per
 *    evaluation into intervals over the stored values (days since -> day numbers,
 *    age -> birthdays), so `joined_days between 3 and 7` costs one compare per member
 *    with no per-member arithmetic. SSE2 kernels turn 16 compares into 16 bits.
 *  - AND is the workhorse. If any operand is a small (sparse) set, its members are
 *    the candidates and every other operand is tested per candidate. Otherwise the
 *    dense operands are ANDed block by block (64 words = 4096 members, in cache); a
 *    scan runs only over blocks where something survived; counting fuses popcount
 *    into the same pass, so a count never writes a bitset.
 *  - OR and NOT materialise a dense bitset (NOT lazily: a flag, folded into the AND
 *    that consumes it as and-not).
 *  - The root is AND(expression, scope, live members). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "segment/seg_internal.h"

#define BLOCK 64 /* words per block */

/* attribute -> categorical dimension */
static const int dim_of_attr[SEG_A_COUNT_] = {
    [SEG_A_STORE] = SEG_D_STORE,       [SEG_A_GUIDE] = SEG_D_GUIDE,
    [SEG_A_BRAND] = SEG_D_BRAND,       [SEG_A_JOIN_CHANNEL] = SEG_D_CHANNEL,
    [SEG_A_TIER] = SEG_D_TIER,         [SEG_A_GENDER] = SEG_D_GENDER,
    [SEG_A_CITY] = SEG_D_CITY,         [SEG_A_FAVOURITE_CATEGORY] = SEG_D_FAV,
    [SEG_A_CAMPAIGN] = SEG_D_CAMPAIGN, [SEG_A_QR_CODE] = SEG_D_QR};

/* ================= evaluation context ================= */

typedef struct ev {
    const seg_index *idx;
    size_t nw; /* words covering n ordinals */
    seg_error *err;
    void **allocs; /* freed when the evaluation ends */
    size_t nallocs, allocs_cap;
    bool oom;
} ev;

static void *ev_alloc(ev *c, size_t bytes)
{
    if (c->nallocs == c->allocs_cap) {
        size_t nc = c->allocs_cap ? c->allocs_cap * 2 : 16;
        void **a = realloc(c->allocs, nc * sizeof *a);
        if (!a) {
            c->oom = true;
            return NULL;
        }
        c->allocs = a;
        c->allocs_cap = nc;
    }
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p) {
        c->oom = true;
        return NULL;
    }
    c->allocs[c->nallocs++] = p;
    return p;
}

static void ev_release(ev *c)
{
    for (size_t i = 0; i < c->nallocs; i++)
        free(c->allocs[i]);
    free(c->allocs);
}

static int oom(ev *c)
{
    seg_err_set(c->err, 0, "out of memory");
    return -1;
}

/* ================= results ================= */

typedef enum { R_DENSE, R_SPARSE } rkind;

typedef struct res {
    rkind kind;
    bool neg;          /* the complement of what is stored */
    const uint64_t *w; /* dense: nw words (owned by the context or the index) */
    const uint32_t *a; /* sparse: sorted ordinals */
    size_t n;
} res;

static res res_empty(void)
{
    return (res){.kind = R_SPARSE};
}

static bool res_test(const res *r, uint32_t o)
{
    bool in;
    if (r->kind == R_DENSE) {
        in = (r->w[o >> 6] >> (o & 63)) & 1;
    } else {
        size_t at = seg_lower_bound(r->a, r->n, o);
        in = at < r->n && r->a[at] == o;
    }
    return in != r->neg;
}

static int res_from_set(ev *c, const seg_set *s, res *out)
{
    if (s->w) {
        *out = (res){.kind = R_DENSE, .w = s->w};
        return 0;
    }
    *out = res_empty();
    if (s->a) { /* already the sorted ordinals: read in place, under the read lock */
        *out = (res){.kind = R_SPARSE, .a = s->a, .n = s->card};
        return 0;
    }
    if (!s->r || !s->card) return 0;
    uint32_t *a = ev_alloc(c, s->card * sizeof *a);
    if (!a) return oom(c);
    roaring_bitmap_to_uint32_array(s->r, a);
    out->a = a;
    out->n = s->card;
    return 0;
}

/* A dense bitset owned by the context, with the result's members (neg applied). */
static uint64_t *res_dense(ev *c, const res *r)
{
    uint64_t *w = ev_alloc(c, c->nw * 8);
    if (!w) return NULL;
    if (r->kind == R_DENSE)
        memcpy(w, r->w, c->nw * 8);
    else
        seg_bits_add(w, r->a, r->n);
    if (r->neg)
        for (size_t i = 0; i < c->nw; i++)
            w[i] = ~w[i];
    return w;
}

/* ================= scans ================= */

typedef enum { SC_INT, SC_AVG, SC_FLOAT, SC_IPO } sckind;
typedef enum { CT_U8, CT_U16, CT_I32, CT_I64 } coltype;

typedef struct ival { /* an interval over int64 values, inclusive */
    int64_t lo, hi;
} ival;

typedef struct dival { /* an interval over rationals or doubles */
    bool has_lo, lo_incl, has_hi, hi_incl;
    double lo, hi;          /* SC_FLOAT */
    int64_t lp, lq, hp, hq; /* SC_IPO: bounds lp/lq, hp/hq */
} dival;

typedef struct scan {
    sckind kind;
    bool neg;
    coltype type;
    const void *col;
    size_t nint;
    ival *iv;  /* SC_INT, SC_AVG */
    dival *dv; /* SC_FLOAT, SC_IPO */
    const float *fcol;
} scan;

static inline bool in_ivals(const scan *s, int64_t v)
{
    for (size_t i = 0; i < s->nint; i++)
        if (v >= s->iv[i].lo && v <= s->iv[i].hi) return true;
    return false;
}

static inline bool in_dival(const dival *d, double v)
{
    if (d->has_lo && !(d->lo_incl ? v >= d->lo : v > d->lo)) return false;
    if (d->has_hi && !(d->hi_incl ? v <= d->hi : v < d->hi)) return false;
    return v == v; /* NaN: none */
}

/* items/orders against p/q exactly: sign of items*q - p*orders (orders > 0). */
static inline int cmp_ratio(int64_t items, int64_t orders, int64_t p, int64_t q)
{
    __int128 l = (__int128)items * q, r = (__int128)p * orders;
    return (l > r) - (l < r);
}

static inline bool in_ipo(const dival *d, int64_t items, int64_t orders)
{
    if (d->has_lo) {
        int c = cmp_ratio(items, orders, d->lp, d->lq);
        if (d->lo_incl ? c < 0 : c <= 0) return false;
    }
    if (d->has_hi) {
        int c = cmp_ratio(items, orders, d->hp, d->hq);
        if (d->hi_incl ? c > 0 : c >= 0) return false;
    }
    return true;
}

static bool scan_test(const seg_index *idx, const scan *s, uint32_t o)
{
    bool in = false;
    switch (s->kind) {
    case SC_INT: {
        int64_t v;
        switch (s->type) {
        case CT_U8:
            v = ((const uint8_t *)s->col)[o];
            break;
        case CT_U16:
            v = ((const uint16_t *)s->col)[o];
            break;
        case CT_I32:
            v = ((const int32_t *)s->col)[o];
            break;
        default:
            v = ((const int64_t *)s->col)[o];
            break;
        }
        in = in_ivals(s, v);
        break;
    }
    case SC_AVG:
        in = idx->orders[o] > 0 && in_ivals(s, idx->spend[o] / idx->orders[o]);
        break;
    case SC_FLOAT:
        for (size_t i = 0; i < s->nint && !in; i++)
            in = in_dival(&s->dv[i], (double)s->fcol[o]);
        break;
    case SC_IPO:
        if (idx->orders[o] > 0)
            for (size_t i = 0; i < s->nint && !in; i++)
                in = in_ipo(&s->dv[i], idx->items[o], idx->orders[o]);
        break;
    }
    return in != s->neg;
}

/* ---- kernels: one interval over a column, nwb words starting at word w0 ---- */

static void k_u8(const uint8_t *col, size_t w0, size_t nwb, int64_t lo, int64_t hi, uint64_t *m)
{
    uint8_t l = (uint8_t)lo, r = (uint8_t)(hi - lo);
    const uint8_t *v = col + w0 * 64;
#if defined(__SSE2__)
    __m128i L = _mm_set1_epi8((char)l), R = _mm_set1_epi8((char)r), Z = _mm_setzero_si128();
    for (size_t i = 0; i < nwb; i++, v += 64) {
        uint64_t bits = 0;
        for (int j = 0; j < 4; j++) {
            __m128i x = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(v + 16 * j)), L);
            __m128i le = _mm_cmpeq_epi8(_mm_subs_epu8(x, R), Z);
            bits |= (uint64_t)(uint16_t)_mm_movemask_epi8(le) << (16 * j);
        }
        m[i] |= bits;
    }
#else
    for (size_t i = 0; i < nwb; i++, v += 64) {
        uint64_t bits = 0;
        for (int j = 0; j < 64; j++)
            bits |= (uint64_t)((uint8_t)(v[j] - l) <= r) << j;
        m[i] |= bits;
    }
#endif
}

static void k_u16(const uint16_t *col, size_t w0, size_t nwb, int64_t lo, int64_t hi, uint64_t *m)
{
    uint16_t l = (uint16_t)lo, r = (uint16_t)(hi - lo);
    const uint16_t *v = col + w0 * 64;
#if defined(__SSE2__)
    __m128i L = _mm_set1_epi16((short)l), R = _mm_set1_epi16((short)r), Z = _mm_setzero_si128();
    for (size_t i = 0; i < nwb; i++, v += 64) {
        uint64_t bits = 0;
        for (int j = 0; j < 4; j++) {
            __m128i a = _mm_sub_epi16(_mm_loadu_si128((const __m128i *)(v + 16 * j)), L);
            __m128i b = _mm_sub_epi16(_mm_loadu_si128((const __m128i *)(v + 16 * j + 8)), L);
            a = _mm_cmpeq_epi16(_mm_subs_epu16(a, R), Z);
            b = _mm_cmpeq_epi16(_mm_subs_epu16(b, R), Z);
            bits |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_packs_epi16(a, b)) << (16 * j);
        }
        m[i] |= bits;
    }
#else
    for (size_t i = 0; i < nwb; i++, v += 64) {
        uint64_t bits = 0;
        for (int j = 0; j < 64; j++)
            bits |= (uint64_t)((uint16_t)(v[j] - l) <= r) << j;
        m[i] |= bits;
    }
#endif
}

static void k_i32(const int32_t *col, size_t w0, size_t nwb, int64_t lo, int64_t hi, uint64_t *m)
{
    uint32_t l = (uint32_t)lo, r = (uint32_t)((uint64_t)hi - (uint64_t)lo);
    const int32_t *v = col + w0 * 64;
#if defined(__SSE2__)
    __m128i L = _mm_set1_epi32((int)l), S = _mm_set1_epi32(INT32_MIN);
    __m128i R = _mm_set1_epi32((int)(r ^ 0x80000000u));
    for (size_t i = 0; i < nwb; i++, v += 64) {
        uint64_t bits = 0;
        for (int j = 0; j < 4; j++) {
            __m128i g[4];
            for (int k = 0; k < 4; k++) {
                __m128i x =
                    _mm_sub_epi32(_mm_loadu_si128((const __m128i *)(v + 16 * j + 4 * k)), L);
                g[k] = _mm_cmpgt_epi32(_mm_xor_si128(x, S), R); /* x > r, unsigned */
            }
            __m128i p = _mm_packs_epi16(_mm_packs_epi32(g[0], g[1]), _mm_packs_epi32(g[2], g[3]));
            bits |= (uint64_t)(uint16_t)~_mm_movemask_epi8(p) << (16 * j);
        }
        m[i] |= bits;
    }
#else
    for (size_t i = 0; i < nwb; i++, v += 64) {
        uint64_t bits = 0;
        for (int j = 0; j < 64; j++)
            bits |= (uint64_t)((uint32_t)v[j] - l <= r) << j;
        m[i] |= bits;
    }
#endif
}

static void k_i64(const int64_t *col, size_t w0, size_t nwb, int64_t lo, int64_t hi, uint64_t *m)
{
    uint64_t l = (uint64_t)lo, r = (uint64_t)hi - (uint64_t)lo;
    const int64_t *v = col + w0 * 64;
    for (size_t i = 0; i < nwb; i++, v += 64) {
        uint64_t bits = 0;
        for (int j = 0; j < 64; j++)
            bits |= (uint64_t)((uint64_t)v[j] - l <= r) << j;
        m[i] |= bits;
    }
}

/* Masks of the members of words [w0, w0+nwb) that satisfy the scan. Reading up to a
 * whole word past n is safe: columns are allocated to `cap`, a multiple of 64; the
 * root's AND with the live set clears whatever matched there. */
static void scan_block(const seg_index *idx, const scan *s, size_t w0, size_t nwb, uint64_t *m)
{
    memset(m, 0, nwb * 8);
    if (s->kind == SC_INT) {
        for (size_t k = 0; k < s->nint; k++) {
            int64_t lo = s->iv[k].lo, hi = s->iv[k].hi;
            switch (s->type) {
            case CT_U8:
                k_u8(s->col, w0, nwb, lo, hi, m);
                break;
            case CT_U16:
                k_u16(s->col, w0, nwb, lo, hi, m);
                break;
            case CT_I32:
                k_i32(s->col, w0, nwb, lo, hi, m);
                break;
            case CT_I64:
                k_i64(s->col, w0, nwb, lo, hi, m);
                break;
            }
        }
    } else if (s->kind == SC_FLOAT && s->nint == 1) {
        const float *f = s->fcol + w0 * 64;
        const dival *d = &s->dv[0];
        for (size_t i = 0; i < nwb; i++, f += 64) {
            uint64_t bits = 0;
            for (int j = 0; j < 64; j++)
                bits |= (uint64_t)in_dival(d, (double)f[j]) << j;
            m[i] = bits;
        }
    } else {
        scan plain = *s;
        plain.neg = false;
        for (size_t i = 0; i < nwb; i++) {
            uint64_t bits = 0;
            uint32_t base = (uint32_t)((w0 + i) * 64);
            for (uint32_t j = 0; j < 64; j++)
                bits |= (uint64_t)scan_test(idx, &plain, base + j) << j;
            m[i] = bits;
        }
    }
    if (s->neg)
        for (size_t i = 0; i < nwb; i++)
            m[i] = ~m[i];
}

/* ---- compiling comparisons ---- */

static int64_t rat_floor(int64_t num, int scale)
{
    int64_t q = 1;
    for (int i = 0; i < scale; i++)
        q *= 10;
    return num >= 0 ? num / q : -((-num + q - 1) / q);
}
static int64_t rat_ceil(int64_t num, int scale)
{
    return -rat_floor(-num, scale);
}
static bool rat_integral(const seg_lit *l)
{
    return l->kind != SEG_L_DEC || rat_floor(l->num, l->scale) == rat_ceil(l->num, l->scale);
}
static int64_t lit_num(const seg_lit *l)
{
    return l->kind == SEG_L_DEC ? l->num : l->i;
}
static int lit_scale(const seg_lit *l)
{
    return l->kind == SEG_L_DEC ? l->scale : 0;
}

#define NEG_INF INT64_MIN
#define POS_INF INT64_MAX

/* Intervals of attribute values for an integer attribute: n lits of a CMP/IN/BETWEEN. */
static size_t int_intervals(const seg_node *n, ival *out)
{
    size_t k = 0;
    if (n->kind == SEG_N_BETWEEN) {
        const seg_lit *a = &n->lits[0], *b = &n->lits[1];
        out[k++] = (ival){rat_ceil(lit_num(a), lit_scale(a)), rat_floor(lit_num(b), lit_scale(b))};
        return k;
    }
    if (n->kind == SEG_N_IN) {
        for (size_t i = 0; i < n->n; i++)
            if (rat_integral(&n->lits[i])) {
                int64_t v = rat_floor(lit_num(&n->lits[i]), lit_scale(&n->lits[i]));
                out[k++] = (ival){v, v};
            }
        return k;
    }
    const seg_lit *l = &n->lits[0];
    int64_t fl = rat_floor(lit_num(l), lit_scale(l)), ce = rat_ceil(lit_num(l), lit_scale(l));
    switch (n->op) {
    case SEG_OP_EQ:
        if (fl == ce) out[k++] = (ival){fl, fl};
        break;
    case SEG_OP_NE:
        if (fl == ce) {
            out[k++] = (ival){NEG_INF, fl - 1};
            out[k++] = (ival){fl + 1, POS_INF};
        } else {
            out[k++] = (ival){NEG_INF, POS_INF};
        }
        break;
    case SEG_OP_LT:
        out[k++] = (ival){NEG_INF, ce - 1};
        break;
    case SEG_OP_LE:
        out[k++] = (ival){NEG_INF, fl};
        break;
    case SEG_OP_GT:
        out[k++] = (ival){fl + 1, POS_INF};
        break;
    case SEG_OP_GE:
        out[k++] = (ival){ce, POS_INF};
        break;
    }
    return k;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Days since 1900 of the latest valid date <= (y, m, d) with y = today's year - a. */
static int64_t bday_bound(int32_t today, int64_t a)
{
    int ty, tm, td;
    seg_civil_from_days(today, &ty, &tm, &td);
    int y = (int)(ty - a);
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (tm == 2 && td == 29 && !leap) td = 28;
    return (int64_t)seg_days_from_civil(y, tm, td) + SEG_BDAY_OFFSET;
}

/* Maps attribute-value intervals to stored-value intervals in place; drops empty ones.
 * kind: 0 identity, 1 days since (stored = today - v), 2 age (stored = birthday),
 * 3 date (stored = v + offset). dmin/dmax: the valid stored values. */
static size_t map_intervals(ival *iv, size_t k, int kind, int32_t today, int64_t offset,
                            int64_t dmin, int64_t dmax)
{
    size_t out = 0;
    for (size_t i = 0; i < k; i++) {
        int64_t lo = iv[i].lo, hi = iv[i].hi;
        if (lo > hi) continue;
        if (kind == 1) {
            lo = clamp64(lo, -1000000, 1000000);
            hi = clamp64(hi, -1000000, 1000000);
            int64_t nlo = today - hi, nhi = today - lo;
            lo = nlo;
            hi = nhi;
        } else if (kind == 2) {
            /* age >= L <=> bday <= B(L); age <= H <=> bday > B(H+1) */
            lo = clamp64(lo, -300, 300);
            hi = clamp64(hi, -301, 299);
            int64_t nhi = bday_bound(today, lo), nlo = bday_bound(today, hi + 1) + 1;
            lo = nlo;
            hi = nhi;
        } else if (kind == 3) {
            lo = lo == NEG_INF ? NEG_INF : clamp64(lo, -10000000, 10000000) + offset;
            hi = hi == POS_INF ? POS_INF : clamp64(hi, -10000000, 10000000) + offset;
        }
        if (lo < dmin) lo = dmin;
        if (hi > dmax) hi = dmax;
        if (lo <= hi) iv[out++] = (ival){lo, hi};
    }
    return out;
}

/* Decimal intervals of a CMP/IN/BETWEEN for a DEC attribute. */
static size_t dec_intervals(const seg_node *n, dival *out)
{
    size_t k = 0;
    int64_t pow10[19] = {1};
    for (int i = 1; i < 19; i++)
        pow10[i] = pow10[i - 1] * 10;
#define BOUND_LO(D, l, incl)                                                                       \
    do {                                                                                           \
        (D).has_lo = true;                                                                         \
        (D).lo_incl = incl;                                                                        \
        (D).lo = (l)->d;                                                                           \
        (D).lp = lit_num(l);                                                                       \
        (D).lq = pow10[lit_scale(l)];                                                              \
    } while (0)
#define BOUND_HI(D, l, incl)                                                                       \
    do {                                                                                           \
        (D).has_hi = true;                                                                         \
        (D).hi_incl = incl;                                                                        \
        (D).hi = (l)->d;                                                                           \
        (D).hp = lit_num(l);                                                                       \
        (D).hq = pow10[lit_scale(l)];                                                              \
    } while (0)
    if (n->kind == SEG_N_BETWEEN) {
        memset(&out[0], 0, sizeof out[0]);
        BOUND_LO(out[0], &n->lits[0], true);
        BOUND_HI(out[0], &n->lits[1], true);
        return 1;
    }
    size_t nl = n->kind == SEG_N_IN ? n->n : 1;
    for (size_t i = 0; i < nl; i++) {
        const seg_lit *l = &n->lits[i];
        seg_op op = n->kind == SEG_N_IN ? SEG_OP_EQ : n->op;
        memset(&out[k], 0, sizeof out[k]);
        switch (op) {
        case SEG_OP_EQ:
            BOUND_LO(out[k], l, true);
            BOUND_HI(out[k], l, true);
            k++;
            break;
        case SEG_OP_NE:
            BOUND_HI(out[k], l, false);
            k++;
            memset(&out[k], 0, sizeof out[k]);
            BOUND_LO(out[k], l, false);
            k++;
            break;
        case SEG_OP_LT:
            BOUND_HI(out[k], l, false);
            k++;
            break;
        case SEG_OP_LE:
            BOUND_HI(out[k], l, true);
            k++;
            break;
        case SEG_OP_GT:
            BOUND_LO(out[k], l, false);
            k++;
            break;
        case SEG_OP_GE:
            BOUND_LO(out[k], l, true);
            k++;
            break;
        }
    }
    return k;
#undef BOUND_LO
#undef BOUND_HI
}

static bool is_categorical(seg_attr_id a)
{
    seg_attr_type t = seg_attrs[a].type;
    return a != SEG_A_GROUP && (t == SEG_T_CAT_INT || t == SEG_T_CAT_STR);
}

/* Is n a scan (a comparison on a non-categorical attribute, or not of one)? If so,
 * compiles it into *out. Returns 1 scan, 0 not a scan, -1 error. */
static int compile_scan(ev *c, const seg_node *n, scan *out)
{
    bool neg = false;
    while (n->kind == SEG_N_NOT) {
        neg = !neg;
        n = n->kids[0];
    }
    if (n->kind != SEG_N_CMP && n->kind != SEG_N_IN && n->kind != SEG_N_BETWEEN) return 0;
    if (is_categorical(n->attr) || n->attr == SEG_A_GROUP) return 0;
    const seg_index *idx = c->idx;
    memset(out, 0, sizeof *out);
    out->neg = neg;
    size_t maxk = (n->kind == SEG_N_IN ? n->n : 1) + 1;
    seg_attr_id a = n->attr;
    if (a == SEG_A_RFM || a == SEG_A_LIFECYCLE) {
        /* the class columns: codes 0 (none) .. 8 (rfm) or 0 .. 5 (lifecycle) */
        uint32_t m = 0;
        for (size_t i = 0; i < n->n; i++) {
            const seg_lit *l = &n->lits[i];
            int ncls = a == SEG_A_RFM ? SEG_RFM_CLASSES : SEG_LIFECYCLE_STAGES;
            for (int k = 0; k < ncls; k++) {
                const char *nm = a == SEG_A_RFM ? seg_rfm_names[k] : seg_lifecycle_names[k];
                if (strlen(nm) == l->slen && memcmp(nm, l->s, l->slen) == 0)
                    m |= 1u << (a == SEG_A_RFM ? k + 1 : k);
            }
        }
        if (n->kind == SEG_N_CMP && n->op == SEG_OP_NE)
            m = (a == SEG_A_RFM ? 0x1FEu : 0x3Fu) & ~m; /* no class (0) matches nothing */
        /* the accepted codes as intervals: runs of set bits */
        out->iv = ev_alloc(c, 10 * sizeof *out->iv);
        if (!out->iv) return oom(c);
        out->kind = SC_INT;
        out->type = CT_U8;
        out->col = a == SEG_A_RFM ? idx->rfm_cls : idx->life_cls;
        for (int k = 0; k < 10; k++)
            if ((m >> k) & 1) {
                if (out->nint && out->iv[out->nint - 1].hi == k - 1)
                    out->iv[out->nint - 1].hi = k;
                else
                    out->iv[out->nint++] = (ival){k, k};
            }
        return 1;
    }
    if (seg_attrs[a].type == SEG_T_DEC) {
        out->dv = ev_alloc(c, maxk * sizeof *out->dv);
        if (!out->dv) return oom(c);
        out->nint = dec_intervals(n, out->dv);
        if (a == SEG_A_ITEMS_PER_ORDER) {
            out->kind = SC_IPO;
        } else {
            out->kind = SC_FLOAT;
            out->fcol = a == SEG_A_P_ALIVE ? idx->palive : idx->expect;
        }
        return 1;
    }
    out->iv = ev_alloc(c, maxk * sizeof *out->iv);
    if (!out->iv) return oom(c);
    size_t k = int_intervals(n, out->iv);
    out->kind = SC_INT;
    int kind = 0;
    int64_t off = 0, dmin = 0, dmax = 65535;
    switch (a) {
    case SEG_A_AGE:
        out->type = CT_U16;
        out->col = idx->bday;
        kind = 2;
        dmin = 1;
        break;
    case SEG_A_BIRTHDAY_MONTH:
        out->type = CT_U8;
        out->col = idx->bmonth;
        dmin = 1;
        dmax = 255;
        break;
    case SEG_A_BIRTHDAY_DAY:
        out->type = CT_U8;
        out->col = idx->bmday;
        dmin = 1;
        dmax = 255;
        break;
    case SEG_A_BIRTHDAY:
        out->type = CT_U16;
        out->col = idx->bday;
        kind = 3;
        off = SEG_BDAY_OFFSET;
        dmin = 1;
        break;
    case SEG_A_JOINED_DAYS:
        out->type = CT_U16;
        out->col = idx->joined;
        kind = 1;
        dmin = 1;
        break;
    case SEG_A_FIRST_ORDER_DAYS:
        out->type = CT_U16;
        out->col = idx->first;
        kind = 1;
        dmin = 1;
        break;
    case SEG_A_LAST_ORDER_DAYS:
        out->type = CT_U16;
        out->col = idx->last;
        kind = 1;
        dmin = 1;
        break;
    case SEG_A_JOINED_DATE:
        out->type = CT_U16;
        out->col = idx->joined;
        kind = 3;
        dmin = 1;
        break;
    case SEG_A_FIRST_ORDER_DATE:
        out->type = CT_U16;
        out->col = idx->first;
        kind = 3;
        dmin = 1;
        break;
    case SEG_A_LAST_ORDER_DATE:
        out->type = CT_U16;
        out->col = idx->last;
        kind = 3;
        dmin = 1;
        break;
    case SEG_A_ORDERS:
        out->type = CT_I32;
        out->col = idx->orders;
        dmin = INT32_MIN;
        dmax = INT32_MAX;
        break;
    case SEG_A_ORDERS_30D:
        out->type = CT_U16;
        out->col = idx->o30;
        break;
    case SEG_A_ORDERS_90D:
        out->type = CT_U16;
        out->col = idx->o90;
        break;
    case SEG_A_ORDERS_365D:
        out->type = CT_U16;
        out->col = idx->o365;
        break;
    case SEG_A_SPEND:
        out->type = CT_I64;
        out->col = idx->spend;
        dmin = INT64_MIN;
        dmax = INT64_MAX;
        break;
    case SEG_A_SPEND_30D:
        out->type = CT_I32;
        out->col = idx->s30;
        dmin = INT32_MIN;
        dmax = INT32_MAX;
        break;
    case SEG_A_SPEND_90D:
        out->type = CT_I32;
        out->col = idx->s90;
        dmin = INT32_MIN;
        dmax = INT32_MAX;
        break;
    case SEG_A_SPEND_365D:
        out->type = CT_I32;
        out->col = idx->s365;
        dmin = INT32_MIN;
        dmax = INT32_MAX;
        break;
    case SEG_A_POINTS:
        out->type = CT_I32;
        out->col = idx->points;
        dmin = INT32_MIN;
        dmax = INT32_MAX;
        break;
    case SEG_A_CONTACTS:
        out->type = CT_U16;
        out->col = idx->contacts;
        break;
    case SEG_A_REFERRALS_DIRECT:
    case SEG_A_REFERRALS_ALL:
    case SEG_A_REFERRAL_DEPTH:
        out->type = CT_I32;
        out->col = a == SEG_A_REFERRALS_DIRECT ? idx->ref_direct
                   : a == SEG_A_REFERRALS_ALL  ? idx->ref_all
                                               : idx->ref_depth;
        dmin = INT32_MIN;
        dmax = INT32_MAX;
        break;
    case SEG_A_CONTACT_DAYS:
        out->type = CT_U16;
        out->col = idx->contact_first;
        kind = 1;
        dmin = 1;
        break;
    case SEG_A_GROUPS:
        out->type = CT_U16;
        out->col = idx->groups;
        break;
    case SEG_A_GROUP_DAYS:
        out->type = CT_U16;
        out->col = idx->group_first;
        kind = 1;
        dmin = 1;
        break;
    case SEG_A_GROUP_MESSAGES_30D:
        out->type = CT_I32;
        out->col = idx->gmsg30;
        dmin = INT32_MIN;
        dmax = INT32_MAX;
        break;
    case SEG_A_CLV_12M:
        out->type = CT_I32;
        out->col = idx->clv;
        dmin = INT32_MIN + 1;
        dmax = INT32_MAX;
        break;
    case SEG_A_AVG_TICKET:
        out->kind = SC_AVG;
        dmin = INT64_MIN;
        dmax = INT64_MAX;
        break;
    default:
        seg_err_set(c->err, n->column, "attribute %s cannot be scanned", seg_attrs[a].name);
        return -1;
    }
    out->nint = map_intervals(out->iv, k, kind, idx->today, off, dmin, dmax);
    return 1;
}

/* ================= sets from nodes ================= */

static int eval_node(ev *c, const seg_node *n, int depth, res *out);

static int cmp_code(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int eval_categorical(ev *c, const seg_node *n, res *out)
{
    const seg_dim *dm = &c->idx->dims[dim_of_attr[n->attr]];
    /* the codes named: unknown values name no member */
    size_t nc = 0;
    uint32_t *codes = ev_alloc(c, (n->n + 1) * sizeof *codes);
    if (!codes) return oom(c);
    for (size_t i = 0; i < n->n; i++) {
        const seg_lit *l = &n->lits[i];
        char buf[24];
        const char *s = l->s;
        size_t len = l->slen;
        if (l->kind == SEG_L_INT) {
            if (l->i == 0) continue; /* id 0 is "none" */
            len = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)l->i);
            s = buf;
        }
        uint32_t code = seg_dict_find(&dm->dict, s, len);
        if (code && code < dm->nsets) codes[nc++] = code;
    }
    /* a value named twice (`store in (22, 22)`) is one set: the unions below add up
     * the sets' members as distinct */
    qsort(codes, nc, sizeof *codes, cmp_code);
    size_t nu = 0;
    for (size_t i = 0; i < nc; i++)
        if (nu == 0 || codes[nu - 1] != codes[i]) codes[nu++] = codes[i];
    nc = nu;
    bool ne = n->kind == SEG_N_CMP && n->op == SEG_OP_NE;
    if (ne && dm->nsets) /* != v: neither v nor "no value" */
        codes[nc++] = 0;
    if (nc == 0) {
        *out = res_empty();
        out->neg = ne;
        return 0;
    }
    if (nc == 1) {
        if (res_from_set(c, &dm->sets[codes[0]], out) != 0) return -1;
        out->neg = ne;
        return 0;
    }
    /* a union: members of distinct codes are distinct, so sparse arrays concatenate
     * and a merge sort is avoided by going through a bitset when large */
    uint64_t total = 0;
    bool any_dense = false;
    for (size_t i = 0; i < nc; i++) {
        total += dm->sets[codes[i]].card;
        any_dense |= dm->sets[codes[i]].w != NULL;
    }
    if (!any_dense && nc <= 16 && total * 128 < c->nw * 64) {
        /* merge the sorted members of each value into the list so far: two lists
         * taking turns, and one for a roaring value's members (at most total each) */
        uint32_t *a = ev_alloc(c, total * sizeof *a), *next = ev_alloc(c, total * sizeof *next),
                 *add = ev_alloc(c, total * sizeof *add);
        if (!a || !next || !add) return oom(c);
        size_t k = 0;
        for (size_t i = 0; i < nc; i++) {
            const seg_set *s = &dm->sets[codes[i]];
            if (!s->card) continue;
            const uint32_t *in = s->a; /* an array set is read in place */
            if (!in) {
                roaring_bitmap_to_uint32_array(s->r, add);
                in = add;
            }
            size_t x = 0, y = 0, z = 0, nb = s->card;
            while (x < k || y < nb)
                next[z++] = (y >= nb || (x < k && a[x] < in[y])) ? a[x++] : in[y++];
            uint32_t *t = a;
            a = next;
            next = t;
            k = z;
        }
        *out = (res){.kind = R_SPARSE, .a = a, .n = k, .neg = ne};
        return 0;
    }
    uint64_t *w = ev_alloc(c, c->nw * 8);
    if (!w) return oom(c);
    for (size_t i = 0; i < nc; i++)
        if (seg_set_or_into(&dm->sets[codes[i]], w, c->nw) != 0) return oom(c);
    /* back to a sorted list only when an AND would take it as its candidates (below 1
     * member in 128, as and_operands decides); above that, the AND reads it block by
     * block, and a bitset is what it reads fastest */
    if (!any_dense && total * 128 < c->nw * 64) {
        uint32_t *a = ev_alloc(c, total * sizeof *a);
        if (!a) return oom(c);
        size_t k = 0;
        for (size_t i = 0; i < c->nw; i++)
            for (uint64_t x = w[i]; x; x &= x - 1)
                a[k++] = (uint32_t)(i * 64 + (size_t)__builtin_ctzll(x));
        *out = (res){.kind = R_SPARSE, .a = a, .n = k, .neg = ne};
        return 0;
    }
    *out = (res){.kind = R_DENSE, .w = w, .neg = ne};
    return 0;
}

/* `group = ID`, `group in (…)`: the members of the groups named now (a member may be in
 * several); `group != ID`: the members not in that group. */
static int eval_group(ev *c, const seg_node *n, res *out)
{
    const seg_set *sets[64];
    size_t ns = 0;
    bool ne = n->kind == SEG_N_CMP && n->op == SEG_OP_NE;
    uint64_t *w = NULL;
    for (size_t i = 0; i < n->n; i++) {
        const seg_lit *l = &n->lits[i];
        const seg_set *s = l->kind == SEG_L_INT ? seg_ix_group_set(c->idx, l->i) : NULL;
        if (!s || !s->card) continue;
        if (ns < 64) {
            bool dup = false;
            for (size_t k = 0; k < ns; k++)
                dup |= sets[k] == s;
            if (!dup) sets[ns++] = s;
            continue;
        }
        if (!w && !(w = ev_alloc(c, c->nw * 8))) return oom(c);
        if (seg_set_or_into(s, w, c->nw) != 0) return oom(c);
    }
    if (!w && ns == 0) {
        *out = res_empty();
    } else if (!w && ns == 1) {
        if (res_from_set(c, sets[0], out) != 0) return -1;
    } else {
        if (!w && !(w = ev_alloc(c, c->nw * 8))) return oom(c);
        for (size_t k = 0; k < ns; k++)
            if (seg_set_or_into(sets[k], w, c->nw) != 0) return oom(c);
        *out = (res){.kind = R_DENSE, .w = w};
    }
    out->neg = ne;
    return 0;
}

static const seg_node *saved_root(ev *c, const seg_node *n)
{
    const seg_saved *s = n->name ? seg_ix_saved_by_name(c->idx, n->name, n->name_len)
                                 : seg_ix_saved_by_id(c->idx, n->seg_id);
    if (!s) {
        if (n->name)
            seg_err_set(c->err, n->column, "unknown segment \"%.60s\"", n->name);
        else
            seg_err_set(c->err, n->column, "unknown segment %lld", (long long)n->seg_id);
        return NULL;
    }
    return s->expr->root;
}

/* The tag's set, or (rule tag changed since materialised) its rule. */
static const seg_tag *tag_of(ev *c, const seg_node *n)
{
    int t = seg_ix_tag_find(c->idx, n->name, n->name_len);
    if (t < 0) {
        seg_err_set(c->err, n->column, "unknown tag \"%.60s\"", n->name);
        return NULL;
    }
    return &c->idx->tags[t];
}

static bool tag_use_rule(const seg_index *idx, const seg_tag *t)
{
    return t->rule && t->fresh_gen != idx->gen;
}

/* ================= AND ================= */

/* A compiled sub-expression (an OR, a NOT over a group) that an AND consumes
 * lazily: tested per candidate member, or evaluated one block at a time, so it never
 * costs a full pass when the rest of the AND has already emptied most blocks. */
typedef enum { CT_AND, CT_OR, CT_NOT, CT_SCAN, CT_RES } ctkind;
typedef struct ctree {
    ctkind kind;
    scan s;
    res r;
    struct ctree **kids;
    size_t n;
} ctree;

typedef enum { OP_RES, OP_SCAN, OP_TREE } opkind;
typedef struct operand {
    opkind kind;
    scan s;
    res r;
    ctree *t;
} operand;

static int compile_tree(ev *c, const seg_node *n, int depth, ctree **out)
{
    ctree *t = ev_alloc(c, sizeof *t);
    if (!t) return oom(c);
    int sc = compile_scan(c, n, &t->s);
    if (sc < 0) return -1;
    if (sc == 1) {
        t->kind = CT_SCAN;
    } else if (n->kind == SEG_N_AND || n->kind == SEG_N_OR || n->kind == SEG_N_NOT) {
        t->kind = n->kind == SEG_N_AND ? CT_AND : n->kind == SEG_N_OR ? CT_OR : CT_NOT;
        t->n = n->n;
        t->kids = ev_alloc(c, n->n * sizeof *t->kids);
        if (!t->kids) return oom(c);
        for (size_t i = 0; i < n->n; i++)
            if (compile_tree(c, n->kids[i], depth, &t->kids[i]) != 0) return -1;
    } else {
        t->kind = CT_RES;
        if (eval_node(c, n, depth, &t->r) != 0) return -1;
    }
    *out = t;
    return 0;
}

static bool tree_test(const seg_index *idx, const ctree *t, uint32_t o)
{
    switch (t->kind) {
    case CT_SCAN:
        return scan_test(idx, &t->s, o);
    case CT_RES:
        return res_test(&t->r, o);
    case CT_NOT:
        return !tree_test(idx, t->kids[0], o);
    case CT_AND:
        for (size_t i = 0; i < t->n; i++)
            if (!tree_test(idx, t->kids[i], o)) return false;
        return true;
    case CT_OR:
        for (size_t i = 0; i < t->n; i++)
            if (tree_test(idx, t->kids[i], o)) return true;
        return false;
    }
    return false;
}

/* The result's members in words [w0, w0+nb). */
static void res_block(const res *r, size_t w0, size_t nb, uint64_t *m)
{
    if (r->kind == R_DENSE) {
        memcpy(m, r->w + w0, nb * 8);
    } else {
        memset(m, 0, nb * 8);
        uint32_t lo_o = (uint32_t)(w0 * 64);
        uint64_t end = (uint64_t)(w0 + nb) * 64;
        for (size_t i = seg_lower_bound(r->a, r->n, lo_o); i < r->n && r->a[i] < end; i++)
            m[(r->a[i] >> 6) - w0] |= 1ull << (r->a[i] & 63);
    }
    if (r->neg)
        for (size_t i = 0; i < nb; i++)
            m[i] = ~m[i];
}

static void tree_block(const seg_index *idx, const ctree *t, size_t w0, size_t nb, uint64_t *m)
{
    uint64_t tmp[BLOCK];
    switch (t->kind) {
    case CT_SCAN:
        scan_block(idx, &t->s, w0, nb, m);
        return;
    case CT_RES:
        res_block(&t->r, w0, nb, m);
        return;
    case CT_NOT:
        tree_block(idx, t->kids[0], w0, nb, m);
        for (size_t i = 0; i < nb; i++)
            m[i] = ~m[i];
        return;
    case CT_AND:
    case CT_OR:
        tree_block(idx, t->kids[0], w0, nb, m);
        for (size_t k = 1; k < t->n; k++) {
            uint64_t any = 0;
            if (t->kind == CT_AND) {
                for (size_t i = 0; i < nb; i++)
                    any |= m[i];
                if (!any) return;
            }
            tree_block(idx, t->kids[k], w0, nb, tmp);
            if (t->kind == CT_AND)
                for (size_t i = 0; i < nb; i++)
                    m[i] &= tmp[i];
            else
                for (size_t i = 0; i < nb; i++)
                    m[i] |= tmp[i];
        }
        return;
    }
}

/* A filter's cost per member when run over a whole block, in sixteenths of a
 * nanosecond; and_operands weighs it against testing the block's members one by one. */
static unsigned scan_cost16(const scan *s)
{
    unsigned nint = s->nint ? (unsigned)s->nint : 1u;
    switch (s->kind) {
    case SC_INT:
        return (s->type == CT_I64 ? 12u : 4u) * nint;
    case SC_FLOAT:
        return 16;
    default:
        return 96;
    }
}

static unsigned tree_cost16(const ctree *t)
{
    switch (t->kind) {
    case CT_SCAN:
        return scan_cost16(&t->s);
    case CT_RES:
        return 1;
    default: {
        unsigned c = 0;
        for (size_t i = 0; i < t->n; i++)
            c += tree_cost16(t->kids[i]);
        return c ? c : 1;
    }
    }
}

/* Asks for the cache lines op_test will read for member o. Members tested one by one
 * are far apart (that is why they are tested one by one), so every read misses the
 * cache and, waited for in turn, costs ~100 ns; requested together they overlap. */
static inline void op_prefetch(const seg_index *idx, const operand *op, uint32_t o)
{
    if (op->kind != OP_SCAN) return;
    const scan *s = &op->s;
    switch (s->kind) {
    case SC_INT: {
        static const unsigned width[] = {[CT_U8] = 1, [CT_U16] = 2, [CT_I32] = 4, [CT_I64] = 8};
        __builtin_prefetch((const char *)s->col + (size_t)o * width[s->type]);
        break;
    }
    case SC_FLOAT:
        __builtin_prefetch(s->fcol + o);
        break;
    case SC_AVG:
    case SC_IPO:
        __builtin_prefetch(idx->orders + o);
        __builtin_prefetch(idx->spend + o);
        __builtin_prefetch(idx->items + o);
        break;
    }
}

static inline bool op_test(const seg_index *idx, const operand *op, uint32_t o)
{
    switch (op->kind) {
    case OP_SCAN:
        return scan_test(idx, &op->s, o);
    case OP_TREE:
        return tree_test(idx, op->t, o);
    default:
        return res_test(&op->r, o);
    }
}

/* Counting is on every block's path. Debian's baseline x86-64 has no POPCNT, so
 * __builtin_popcountll is a libgcc call (~5% of a count); a clone for CPUs that
 * have the instruction is picked once, at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("popcnt", "default")))
#endif
static uint64_t
popcount_words(const uint64_t *w, size_t n)
{
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += (uint64_t)__builtin_popcountll(w[i]);
    return c;
}

/* ANDs the operands. With count non-NULL only counts (out untouched). */
static int and_operands(ev *c, operand *ops, size_t nops, res *out, uint64_t *count)
{
    /* 1. a positive sparse set: its members are the candidates, every other operand is
     *    tested per candidate */
    ssize_t best = -1;
    for (size_t i = 0; i < nops; i++)
        if (ops[i].kind == OP_RES && ops[i].r.kind == R_SPARSE && !ops[i].r.neg &&
            (best < 0 || ops[i].r.n < ops[best].r.n))
            best = (ssize_t)i;
    /* a candidate costs ~10 ns to test, a member of a block-wise AND ~0.05 ns: only
     * when candidates are fewer than 1 in 128 is testing them one by one cheaper */
    if (best >= 0 && ops[best].r.n * 128 > c->nw * 64) best = -1;
    if (best >= 0) {
        const res *cand = &ops[best].r;
        uint32_t *a = count ? NULL : ev_alloc(c, cand->n * sizeof *a);
        if (!count && !a) return oom(c);
        size_t k = 0;
        enum { AHEAD = 16 };
        for (size_t e = 0; e < cand->n; e++) {
            uint32_t o = cand->a[e];
            if (e + AHEAD < cand->n)
                for (size_t i = 0; i < nops; i++)
                    if (i != (size_t)best) op_prefetch(c->idx, &ops[i], cand->a[e + AHEAD]);
            bool ok = true;
            for (size_t i = 0; i < nops && ok; i++)
                if (i != (size_t)best) ok = op_test(c->idx, &ops[i], o);
            if (ok) {
                if (a) a[k] = o;
                k++;
            }
        }
        if (count)
            *count = k;
        else
            *out = (res){.kind = R_SPARSE, .a = a, .n = k};
        return 0;
    }

    /* 2. block by block: AND the dense sets (positive ones first: they empty blocks
     *    soonest), clear negated sparse ones, then filter by scans and sub-expressions:
     *    per member where the block is already thin, by whole-block kernels where not */
    const uint64_t *dw[nops ? nops : 1];
    bool dneg[nops ? nops : 1];
    const res *negsp[nops ? nops : 1];
    size_t negpos[nops ? nops : 1];
    const operand *filt[nops ? nops : 1];
    size_t nd = 0, nns = 0, nf = 0;
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < nops; i++) {
            if (ops[i].kind != OP_RES) {
                if (pass == 0) filt[nf++] = &ops[i];
            } else if (ops[i].r.kind == R_DENSE) {
                if (ops[i].r.neg == (pass == 1)) {
                    dw[nd] = ops[i].r.w;
                    dneg[nd++] = ops[i].r.neg;
                }
            } else if (pass == 0) {
                negsp[nns] = &ops[i].r;
                negpos[nns++] = 0;
            }
        }
    /* block cost of each filter, per member, in sixteenths of a nanosecond (orders of
     * magnitude, tuned by measurement; see scan_cost16): integer interval kernels
     * ~0.25 ns (rfm and lifecycle are such kernels over their class columns), float
     * compares ~1, per-member computations (avg ticket, items per order) ~6; a
     * sub-expression costs what its parts cost, and a set read block by block is a few
     * words per 64 members, next to nothing */
    unsigned filt_cost16[nops ? nops : 1];
    for (size_t i = 0; i < nf; i++)
        filt_cost16[i] =
            filt[i]->kind == OP_TREE ? tree_cost16(filt[i]->t) : scan_cost16(&filt[i]->s);
    for (size_t i = 1; i < nf; i++)
        for (size_t j = i; j > 0 && filt_cost16[j] < filt_cost16[j - 1]; j--) {
            const operand *t = filt[j];
            filt[j] = filt[j - 1];
            filt[j - 1] = t;
            unsigned u = filt_cost16[j];
            filt_cost16[j] = filt_cost16[j - 1];
            filt_cost16[j - 1] = u;
        }
    uint64_t *acc = count ? NULL : ev_alloc(c, c->nw * 8);
    if (!count && !acc) return oom(c);
    uint64_t tmp[BLOCK], m[BLOCK], total = 0;
    for (size_t w0 = 0; w0 < c->nw; w0 += BLOCK) {
        size_t nb = c->nw - w0 < BLOCK ? c->nw - w0 : BLOCK;
        if (nd == 0) {
            for (size_t i = 0; i < nb; i++)
                tmp[i] = ~0ull;
        } else {
            const uint64_t *s0 = dw[0] + w0;
            if (dneg[0])
                for (size_t i = 0; i < nb; i++)
                    tmp[i] = ~s0[i];
            else
                memcpy(tmp, s0, nb * 8);
            for (size_t k = 1; k < nd; k++) {
                const uint64_t *sk = dw[k] + w0;
                if (dneg[k])
                    for (size_t i = 0; i < nb; i++)
                        tmp[i] &= ~sk[i];
                else
                    for (size_t i = 0; i < nb; i++)
                        tmp[i] &= sk[i];
            }
        }
        uint64_t end = (uint64_t)(w0 + nb) * 64;
        for (size_t k = 0; k < nns; k++) {
            const res *r = negsp[k];
            size_t p = negpos[k];
            if (r->neg) {
                while (p < r->n && r->a[p] < end) {
                    uint32_t o = r->a[p++];
                    tmp[(o >> 6) - w0] &= ~(1ull << (o & 63));
                }
            } else {
                memset(m, 0, nb * 8);
                while (p < r->n && r->a[p] < end) {
                    uint32_t o = r->a[p++];
                    m[(o >> 6) - w0] |= 1ull << (o & 63);
                }
                for (size_t i = 0; i < nb; i++)
                    tmp[i] &= m[i];
            }
            negpos[k] = p;
        }
        /* filters, cheapest first; each runs over the whole block (a kernel) or, when
         * few members are left, only for them: per member a test costs ~16 ns (cache
         * misses, a call), per block a member costs its filter's block cost */
        uint64_t pop = nf ? popcount_words(tmp, nb) : 0;
        for (size_t k = 0; k < nf && pop; k++) {
            if (pop * 16 * 16 < (uint64_t)nb * 64 * filt_cost16[k]) {
                /* the block's members, their lines requested first, then tested */
                uint16_t cand[BLOCK * 64]; /* offsets in the block: 8 KB of stack */
                size_t ncand = 0;
                uint32_t base = (uint32_t)(w0 * 64);
                for (size_t i = 0; i < nb; i++)
                    for (uint64_t x = tmp[i]; x; x &= x - 1)
                        cand[ncand++] = (uint16_t)(i * 64 + (size_t)__builtin_ctzll(x));
                for (size_t j = 0; j < ncand; j++)
                    op_prefetch(c->idx, filt[k], base + cand[j]);
                pop = ncand;
                for (size_t j = 0; j < ncand; j++)
                    if (!op_test(c->idx, filt[k], base + cand[j])) {
                        tmp[cand[j] >> 6] &= ~(1ull << (cand[j] & 63));
                        pop--;
                    }
            } else {
                if (filt[k]->kind == OP_SCAN)
                    scan_block(c->idx, &filt[k]->s, w0, nb, m);
                else
                    tree_block(c->idx, filt[k]->t, w0, nb, m);
                for (size_t i = 0; i < nb; i++)
                    tmp[i] &= m[i];
                pop = popcount_words(tmp, nb);
            }
        }
        if (acc)
            memcpy(acc + w0, tmp, nb * 8);
        else
            total += popcount_words(tmp, nb);
    }
    if (count)
        *count = total;
    else
        *out = (res){.kind = R_DENSE, .w = acc};
    return 0;
}

/* Gathers the operands of an AND node (or of one node standing alone). */
static int collect(ev *c, const seg_node *n, int depth, operand *ops, size_t *nops)
{
    operand *op = &ops[*nops];
    int sc = compile_scan(c, n, &op->s);
    if (sc < 0) return -1;
    if (sc == 1) {
        op->kind = OP_SCAN;
    } else if (n->kind == SEG_N_OR || (n->kind == SEG_N_NOT && (n->kids[0]->kind == SEG_N_OR ||
                                                                n->kids[0]->kind == SEG_N_AND))) {
        op->kind = OP_TREE;
        if (compile_tree(c, n, depth, &op->t) != 0) return -1;
    } else {
        op->kind = OP_RES;
        if (eval_node(c, n, depth, &op->r) != 0) return -1;
    }
    (*nops)++;
    return 0;
}

static int eval_and(ev *c, const seg_node *n, int depth, res *out)
{
    operand *ops = ev_alloc(c, n->n * sizeof *ops);
    if (!ops) return oom(c);
    size_t nops = 0;
    for (size_t i = 0; i < n->n; i++)
        if (collect(c, n->kids[i], depth, ops, &nops) != 0) return -1;
    return and_operands(c, ops, nops, out, NULL);
}

static int eval_or(ev *c, const seg_node *n, int depth, res *out)
{
    uint64_t *acc = ev_alloc(c, c->nw * 8), m[BLOCK];
    if (!acc) return oom(c);
    for (size_t i = 0; i < n->n; i++) {
        scan s;
        int sc = compile_scan(c, n->kids[i], &s);
        if (sc < 0) return -1;
        if (sc == 1) {
            for (size_t w0 = 0; w0 < c->nw; w0 += BLOCK) {
                size_t nb = c->nw - w0 < BLOCK ? c->nw - w0 : BLOCK;
                scan_block(c->idx, &s, w0, nb, m);
                for (size_t k = 0; k < nb; k++)
                    acc[w0 + k] |= m[k];
            }
            continue;
        }
        res r;
        if (eval_node(c, n->kids[i], depth, &r) != 0) return -1;
        if (r.kind == R_DENSE) {
            if (r.neg)
                for (size_t k = 0; k < c->nw; k++)
                    acc[k] |= ~r.w[k];
            else
                for (size_t k = 0; k < c->nw; k++)
                    acc[k] |= r.w[k];
        } else if (!r.neg) {
            seg_bits_add(acc, r.a, r.n);
        } else {
            uint64_t *d = res_dense(c, &r);
            if (!d) return oom(c);
            for (size_t k = 0; k < c->nw; k++)
                acc[k] |= d[k];
        }
    }
    *out = (res){.kind = R_DENSE, .w = acc};
    return 0;
}

static int eval_node(ev *c, const seg_node *n, int depth, res *out)
{
    if (depth > SEG_EXPR_MAX_DEPTH) {
        seg_err_set(c->err, n->column,
                    "segments and rule tags refer to each other too deeply "
                    "(a cycle?)");
        return -1;
    }
    switch (n->kind) {
    case SEG_N_AND:
        return eval_and(c, n, depth, out);
    case SEG_N_OR:
        return eval_or(c, n, depth, out);
    case SEG_N_NOT:
        if (eval_node(c, n->kids[0], depth, out) != 0) return -1;
        out->neg = !out->neg;
        return 0;
    case SEG_N_TAG: {
        const seg_tag *t = tag_of(c, n);
        if (!t) return -1;
        if (tag_use_rule(c->idx, t)) return eval_node(c, t->rule->root, depth + 1, out);
        return res_from_set(c, &t->set, out);
    }
    case SEG_N_SEGMENT: {
        const seg_node *r = saved_root(c, n);
        return r ? eval_node(c, r, depth + 1, out) : -1;
    }
    case SEG_N_FLAG:
        return res_from_set(c, &c->idx->reach[n->attr - SEG_A_REACH_PUBLIC_ACCOUNT], out);
    case SEG_N_CMP:
    case SEG_N_IN:
    case SEG_N_BETWEEN:
        if (n->attr == SEG_A_GROUP) return eval_group(c, n, out);
        if (is_categorical(n->attr)) return eval_categorical(c, n, out);
        {
            operand op;
            if (compile_scan(c, n, &op.s) != 1) return -1;
            op.kind = OP_SCAN;
            return and_operands(c, &op, 1, out, NULL);
        }
    }
    return -1;
}

/* ================= the root ================= */

/* AND(e, scope, live): count (count non-NULL) or a dense bitset into *dense. */
static int eval_root(ev *c, const seg_expr *e, const seg_expr *scope, uint64_t *count,
                     const uint64_t **dense)
{
    const seg_node *parts[2] = {e->root, scope ? scope->root : NULL};
    size_t cap = 2;
    for (int p = 0; p < 2; p++)
        if (parts[p]) cap += parts[p]->kind == SEG_N_AND ? parts[p]->n : 1;
    operand *ops = ev_alloc(c, cap * sizeof *ops);
    if (!ops) return oom(c);
    size_t nops = 0;
    for (int p = 0; p < 2; p++) {
        const seg_node *n = parts[p];
        if (!n) continue;
        if (n->kind == SEG_N_AND) {
            for (size_t i = 0; i < n->n; i++)
                if (collect(c, n->kids[i], 0, ops, &nops) != 0) return -1;
        } else if (collect(c, n, 0, ops, &nops) != 0) {
            return -1;
        }
    }
    ops[nops].kind = OP_RES;
    ops[nops++].r = (res){.kind = R_DENSE, .w = c->idx->live};
    if (count) return and_operands(c, ops, nops, NULL, count);
    res r;
    if (and_operands(c, ops, nops, &r, NULL) != 0) return -1;
    if (r.kind == R_DENSE && !r.neg) {
        *dense = r.w;
        return 0;
    }
    *dense = res_dense(c, &r);
    return *dense ? 0 : oom(c);
}

static void ev_init(ev *c, const seg_index *idx, seg_error *err)
{
    memset(c, 0, sizeof *c);
    c->idx = idx;
    c->nw = (idx->n + 63) / 64;
    c->err = err;
    if (err) {
        err->column = 0;
        err->msg[0] = 0;
    }
}

#define RLOCK(idx) pthread_rwlock_rdlock(&(idx)->lock)
#define UNLOCK(idx) pthread_rwlock_unlock(&(idx)->lock)

int seg_count(seg_index *idx, const seg_expr *e, const seg_expr *scope, uint64_t *out,
              seg_error *err)
{
    ev c;
    *out = 0;
    RLOCK(idx);
    ev_init(&c, idx, err);
    int rc = eval_root(&c, e, scope, out, NULL);
    UNLOCK(idx);
    ev_release(&c);
    return rc;
}

int seg_eval_dense(const seg_index *idx, const seg_expr *e, const seg_expr *scope, uint64_t **out,
                   seg_error *err)
{
    ev c;
    ev_init(&c, idx, err);
    const uint64_t *d = NULL;
    *out = NULL;
    int rc = eval_root(&c, e, scope, NULL, &d);
    if (rc == 0) {
        *out = calloc(idx->nwords ? idx->nwords : 1, 8);
        if (*out)
            memcpy(*out, d, c.nw * 8);
        else
            rc = oom(&c);
    }
    ev_release(&c);
    return rc;
}

/* ================= single member ================= */

int seg_ix_match(const seg_index *idx, const seg_node *n, uint32_t o, int depth, bool *out,
                 seg_error *err)
{
    if (depth > SEG_EXPR_MAX_DEPTH) {
        seg_err_set(err, n->column,
                    "segments and rule tags refer to each other too deeply "
                    "(a cycle?)");
        return -1;
    }
    ev c;
    ev_init(&c, idx, err);
    int rc = 0;
    bool r = false;
    switch (n->kind) {
    case SEG_N_AND:
    case SEG_N_OR: {
        bool want = n->kind == SEG_N_OR; /* short-circuit value */
        r = !want;
        for (size_t i = 0; i < n->n && rc == 0; i++) {
            bool k;
            rc = seg_ix_match(idx, n->kids[i], o, depth, &k, err);
            if (rc == 0 && k == want) {
                r = want;
                break;
            }
        }
        break;
    }
    case SEG_N_NOT:
        rc = seg_ix_match(idx, n->kids[0], o, depth, &r, err);
        r = !r;
        break;
    case SEG_N_TAG: {
        const seg_tag *t = tag_of(&c, n);
        if (!t)
            rc = -1;
        else if (tag_use_rule(idx, t))
            rc = seg_ix_match(idx, t->rule->root, o, depth + 1, &r, err);
        else
            r = seg_set_has(&t->set, o);
        break;
    }
    case SEG_N_SEGMENT: {
        const seg_node *root = saved_root(&c, n);
        rc = root ? seg_ix_match(idx, root, o, depth + 1, &r, err) : -1;
        break;
    }
    case SEG_N_FLAG:
        r = seg_set_has(&idx->reach[n->attr - SEG_A_REACH_PUBLIC_ACCOUNT], o);
        break;
    default:
        if (n->attr == SEG_A_GROUP) {
            bool any = false, ne = n->kind == SEG_N_CMP && n->op == SEG_OP_NE;
            for (size_t i = 0; i < n->n; i++) {
                const seg_set *s =
                    n->lits[i].kind == SEG_L_INT ? seg_ix_group_set(idx, n->lits[i].i) : NULL;
                if (s && seg_set_has(s, o)) any = true;
            }
            r = ne ? !any : any;
        } else if (is_categorical(n->attr)) {
            {
                {
                    uint32_t code = seg_ix_dim_code(idx, dim_of_attr[n->attr], o);
                    const seg_dim *dm = &idx->dims[dim_of_attr[n->attr]];
                    bool any = false;
                    bool ne = n->kind == SEG_N_CMP && n->op == SEG_OP_NE;
                    for (size_t i = 0; i < n->n; i++) {
                        const seg_lit *l = &n->lits[i];
                        char buf[24];
                        const char *s = l->s;
                        size_t len = l->slen;
                        if (l->kind == SEG_L_INT) {
                            if (l->i == 0) continue;
                            len = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)l->i);
                            s = buf;
                        }
                        uint32_t lc = seg_dict_find(&dm->dict, s, len);
                        if (lc && lc == code) any = true;
                    }
                    r = ne ? (!any && code != 0) : any;
                }
            }
        } else {
            scan s;
            rc = compile_scan(&c, n, &s) == 1 ? 0 : -1;
            if (rc == 0) r = scan_test(idx, &s, o);
        }
    }
    ev_release(&c);
    *out = r;
    return rc;
}

int seg_match(seg_index *idx, const seg_expr *e, int64_t member_id, bool *out, seg_error *err)
{
    *out = false;
    RLOCK(idx);
    int o = seg_ix_ord(idx, member_id), rc = -1;
    if (o < 0)
        seg_err_set(err, 0, "member %lld is not in the index", (long long)member_id);
    else if ((idx->live[o >> 6] >> (o & 63)) & 1)
        rc = seg_ix_match(idx, e->root, (uint32_t)o, 0, out, err);
    else
        rc = 0;
    UNLOCK(idx);
    return rc;
}

/* ================= member lists ================= */

/* Calls fn for every member of the dense result in id order from after_id, until fn
 * returns false. */
static void walk_ids(seg_index *idx, const uint64_t *w, int64_t after_id,
                     bool (*fn)(void *, int64_t), void *ctx)
{
    const uint32_t *by_id = seg_ix_by_id(idx);
    if (!by_id && !idx->ids_sorted)
        return; /* out of memory building the order: nothing rather than disorder */
    size_t lo = 0, hi = idx->n;
    while (lo < hi) { /* first position with id > after_id */
        size_t mid = (lo + hi) / 2;
        int64_t id = idx->ids[by_id ? by_id[mid] : mid];
        if (id <= after_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!by_id) {
        for (size_t wi = lo / 64; wi < (idx->n + 63) / 64; wi++) {
            uint64_t x = w[wi];
            if (wi == lo / 64) x &= ~0ull << (lo & 63);
            for (; x; x &= x - 1)
                if (!fn(ctx, idx->ids[wi * 64 + (size_t)__builtin_ctzll(x)])) return;
        }
        return;
    }
    for (size_t p = lo; p < idx->n; p++) {
        uint32_t o = by_id[p];
        if ((w[o >> 6] >> (o & 63)) & 1)
            if (!fn(ctx, idx->ids[o])) return;
    }
}

typedef struct collect_ctx {
    int64_t *ids;
    size_t n, limit;
} collect_ctx;

static bool collect_id(void *ctx, int64_t id)
{
    collect_ctx *cc = ctx;
    cc->ids[cc->n++] = id;
    return cc->n < cc->limit;
}

int seg_page(seg_index *idx, const seg_expr *e, const seg_expr *scope, int64_t after_id,
             size_t limit, int64_t *ids, size_t *n, seg_error *err)
{
    ev c;
    *n = 0;
    RLOCK(idx);
    ev_init(&c, idx, err);
    const uint64_t *d = NULL;
    int rc = eval_root(&c, e, scope, NULL, &d);
    if (rc == 0 && limit > 0) {
        collect_ctx cc = {.ids = ids, .limit = limit};
        walk_ids(idx, d, after_id, collect_id, &cc);
        *n = cc.n;
    }
    UNLOCK(idx);
    ev_release(&c);
    return rc;
}

int seg_select(seg_index *idx, const seg_expr *e, const seg_expr *scope, seg_audience *out,
               seg_error *err)
{
    ev c;
    memset(out, 0, sizeof *out);
    RLOCK(idx);
    ev_init(&c, idx, err);
    const uint64_t *d = NULL;
    int rc = eval_root(&c, e, scope, NULL, &d);
    if (rc == 0) {
        size_t cnt = popcount_words(d, c.nw);
        out->ids = malloc((cnt ? cnt : 1) * sizeof *out->ids);
        if (!out->ids) {
            rc = oom(&c);
        } else if (cnt) {
            collect_ctx cc = {.ids = out->ids, .limit = cnt};
            walk_ids(idx, d, INT64_MIN, collect_id, &cc);
            out->count = cc.n;
        }
    }
    UNLOCK(idx);
    ev_release(&c);
    return rc;
}

void seg_audience_release(seg_audience *a)
{
    if (!a) return;
    free(a->ids);
    memset(a, 0, sizeof *a);
}

/* ================= breakdowns ================= */

static int row_cmp(const void *a, const void *b)
{
    const seg_breakdown_row *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->label, y->label);
}

int seg_breakdown_by(seg_index *idx, const seg_expr *e, const seg_expr *scope, const char *by,
                     seg_breakdown *out, seg_error *err)
{
    memset(out, 0, sizeof *out);
    int a = seg_attr_find(by, strlen(by));
    if (a < 0 || !(is_categorical((seg_attr_id)a) || a == SEG_A_RFM || a == SEG_A_LIFECYCLE ||
                   a == SEG_A_BIRTHDAY_MONTH)) {
        seg_err_set(err, 0,
                    "cannot break down by \"%.40s\" (store, guide, brand, join_channel, "
                    "tier, gender, city, favourite_category, rfm, lifecycle, birthday_month)",
                    by);
        return -1;
    }
    ev c;
    RLOCK(idx);
    ev_init(&c, idx, err);
    const uint64_t *d = NULL;
    int rc = eval_root(&c, e, scope, NULL, &d);
    size_t ngroups = a == SEG_A_RFM              ? 9
                     : a == SEG_A_LIFECYCLE      ? 6
                     : a == SEG_A_BIRTHDAY_MONTH ? 13
                                                 : idx->dims[dim_of_attr[a]].dict.n + 1;
    uint64_t *counts = rc == 0 ? calloc(ngroups, sizeof *counts) : NULL;
    if (rc == 0 && !counts) rc = oom(&c);
    if (rc == 0) {
        for (size_t wi = 0; wi < c.nw; wi++)
            for (uint64_t x = d[wi]; x; x &= x - 1) {
                uint32_t o = (uint32_t)(wi * 64 + (size_t)__builtin_ctzll(x));
                size_t g = a == SEG_A_RFM              ? (size_t)idx->rfm_cls[o]
                           : a == SEG_A_LIFECYCLE      ? (size_t)idx->life_cls[o]
                           : a == SEG_A_BIRTHDAY_MONTH ? idx->bmonth[o]
                                                       : seg_ix_dim_code(idx, dim_of_attr[a], o);
                counts[g < ngroups ? g : 0]++;
            }
        size_t nrows = 0;
        for (size_t g = 0; g < ngroups; g++)
            nrows += counts[g] != 0;
        out->rows = calloc(nrows ? nrows : 1, sizeof *out->rows);
        if (!out->rows) rc = oom(&c);
        for (size_t g = 0; rc == 0 && g < ngroups; g++) {
            if (!counts[g]) continue;
            seg_breakdown_row *r = &out->rows[out->n++];
            r->count = counts[g];
            out->total += counts[g];
            if (a == SEG_A_RFM) {
                snprintf(r->label, sizeof r->label, "%s", g ? seg_rfm_names[g - 1] : "");
            } else if (a == SEG_A_LIFECYCLE) {
                snprintf(r->label, sizeof r->label, "%s", seg_lifecycle_names[g]);
            } else if (a == SEG_A_BIRTHDAY_MONTH) {
                r->value = (int64_t)g;
                if (g) snprintf(r->label, sizeof r->label, "%zu", g);
            } else if (g) {
                const seg_dict *dict = &idx->dims[dim_of_attr[a]].dict;
                snprintf(r->label, sizeof r->label, "%.*s", (int)dict->lens[g], dict->strs[g]);
                if (seg_attrs[a].type == SEG_T_CAT_INT) r->value = strtoll(dict->strs[g], NULL, 10);
            }
        }
        if (rc == 0) qsort(out->rows, out->n, sizeof *out->rows, row_cmp);
    }
    UNLOCK(idx);
    free(counts);
    ev_release(&c);
    if (rc != 0) seg_breakdown_release(out);
    return rc;
}

void seg_breakdown_release(seg_breakdown *b)
{
    if (!b) return;
    free(b->rows);
    memset(b, 0, sizeof *b);
}
