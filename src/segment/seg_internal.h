/* seg_internal.h — structures shared by the segment module's files; not for callers.
 *
 * parse.c/print.c build and print the AST, set.c the member sets, dict.c the
 * per-attribute dictionaries, index.c the columns and their upkeep, eval.c the
 * evaluator. */
#ifndef SIYU_SEGMENT_INTERNAL_H
#define SIYU_SEGMENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <roaring/roaring.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/snapmap.h"
#include "segment/attrs.h"
#include "segment/eval.h"
#include "segment/expr.h"
#include "segment/index.h"

void seg_err_set(seg_error *err, int column, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ================= AST ================= */

typedef enum seg_lit_kind { SEG_L_INT, SEG_L_DEC, SEG_L_STR, SEG_L_DATE } seg_lit_kind;

typedef struct seg_lit {
    seg_lit_kind kind;
    int column;
    int64_t i; /* INT value; DATE day number */
    double d;  /* DEC and INT as double */
    /* DEC exactly: num / 10^scale (so comparisons with ratios are exact) */
    int64_t num;
    int scale;
    char *s; /* STR decoded (may hold no NUL), DEC/DATE canonical text */
    size_t slen;
} seg_lit;

typedef enum seg_node_kind {
    SEG_N_OR,
    SEG_N_AND,
    SEG_N_NOT,
    SEG_N_TAG,
    SEG_N_SEGMENT,
    SEG_N_FLAG,
    SEG_N_CMP,
    SEG_N_IN,
    SEG_N_BETWEEN
} seg_node_kind;

typedef enum seg_op { SEG_OP_EQ, SEG_OP_NE, SEG_OP_LT, SEG_OP_LE, SEG_OP_GT, SEG_OP_GE } seg_op;

typedef struct seg_node seg_node;
struct seg_node {
    seg_node_kind kind;
    int column;
    seg_attr_id attr;
    seg_op op;
    size_t n; /* children (OR/AND/NOT) or literals (CMP 1, IN n, BETWEEN 2) */
    seg_node **kids;
    seg_lit *lits;
    char *name; /* TAG name; SEGMENT name (NULL when by id) */
    size_t name_len;
    int64_t seg_id; /* SEGMENT by id */
};

struct seg_expr {
    seg_node *root;
};

void seg_node_free(seg_node *n);

/* ================= member sets ================= */

/* A set of ordinals: a plain bitset when dense, a roaring bitmap when sparse, a sorted
 * array when so sparse that roaring's per-chunk containers cost more (set.c). A set
 * turns dense when it holds more than 1 member in 64 (a bitset then costs at most
 * ~4x the roaring array containers, and ANDs at memory speed instead of being
 * converted element by element); it never turns back,
 * except by being rebuilt. */
typedef struct seg_set {
    uint64_t card;
    uint64_t *w;         /* dense: nwords words, or NULL */
    roaring_bitmap_t *r; /* sparse, or NULL */
    uint32_t *a;         /* very sparse: card sorted ordinals (acap allocated), or NULL */
    uint32_t acap;       /* (at most one of w, r, a is set; an empty set may have none) */
} seg_set;

int seg_set_add(seg_set *s, uint32_t ord, size_t nwords); /* -1 on ENOMEM */
/* Replaces s by the n sorted ordinals of a, in the form that suits their count. */
int seg_set_from_sorted(seg_set *s, const uint32_t *a, size_t n, size_t nwords);
void seg_set_shrink(seg_set *s); /* frees growth slack */
/* Tests only: when non-zero, the most members kept as an array (small test indexes
 * would otherwise never build a roaring set: they turn dense first). */
extern uint64_t seg_set_array_limit_for_tests;
void seg_set_remove(seg_set *s, uint32_t ord);
bool seg_set_has(const seg_set *s, uint32_t ord);
int seg_set_grow(seg_set *s, size_t old_nwords, size_t nwords);
void seg_set_clear(seg_set *s);
size_t seg_set_bytes(const seg_set *s, size_t nwords);
/* Adds the set's members to the bitset w of nwords words, whatever its form.
 * -1 on ENOMEM (w then holds some of them). */
int seg_set_or_into(const seg_set *s, uint64_t *w, size_t nwords);

/* Sets the bits of the n ordinals of a in the bitset w. */
static inline void seg_bits_add(uint64_t *w, const uint32_t *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        w[a[i] >> 6] |= 1ull << (a[i] & 63);
}

/* The position of the first of the n sorted ordinals in a that is >= v (n when none):
 * array sets, sorted member lists and the id column all search this way. */
static inline size_t seg_lower_bound(const uint32_t *a, size_t n, uint32_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ================= dictionaries ================= */

/* Interns byte strings to codes 1..n (0 is "none"). */
typedef struct seg_dict {
    char **strs; /* code -> string (strs[0] unused) */
    uint32_t *lens;
    uint32_t n, cap; /* codes in use (including 0), capacity */
    uint32_t *slots; /* open addressing: code, 0 = empty */
    uint32_t mask;
} seg_dict;

uint32_t seg_dict_find(const seg_dict *d, const char *s, size_t len); /* 0 if absent */
uint32_t seg_dict_intern(seg_dict *d, const char *s, size_t len);     /* 0 on ENOMEM */
void seg_dict_free(seg_dict *d);

/* ================= the index ================= */

/* Categorical dimensions: a column of codes plus one set per code. */
enum {
    SEG_D_STORE,
    SEG_D_GUIDE,
    SEG_D_BRAND,
    SEG_D_CHANNEL,
    SEG_D_TIER,
    SEG_D_GENDER,
    SEG_D_CITY,
    SEG_D_CAMPAIGN,
    SEG_D_QR,
    SEG_D_FAV,
    SEG_D_COUNT_
};

typedef struct seg_dim {
    seg_dict dict;
    uint32_t max_code; /* the column's width limit */
    int width;         /* bytes per code: 1, 2 or 4 */
    void *col;
    seg_set *sets; /* per code (sets[0]: members without a value) */
    uint32_t nsets;
} seg_dim;

/* An entry of a day bucket: the ordinal in the low 30 bits, the change of order count
 * in the top 2 (01 = +1, 10 = -1), and the change of net spend. 8 bytes per order. */
typedef struct seg_bucket_entry {
    uint32_t ord_delta;
    int32_t cents;
} seg_bucket_entry;

typedef struct seg_bucket {
    seg_bucket_entry *e;
    uint32_t n, cap;
} seg_bucket;

#define SEG_WINDOW_DAYS 365

typedef struct seg_tag {
    char *name;
    seg_set set;
    seg_expr *rule;     /* NULL for manual tags */
    uint64_t fresh_gen; /* the write generation the rule's bitmap was computed at */
} seg_tag;

typedef struct seg_saved {
    int64_t id;
    char *name;
    seg_expr *expr;
} seg_saved;

/* Per-member category spend: a block of (category code, cents) pairs in one pool.
 * Blocks have a power-of-two capacity; freed blocks go on a free list per size. */
typedef struct seg_catpair {
    uint32_t cat;
    int32_t cents;
} seg_catpair;

/* A member's store-group messages per local day, the last SEG_GROUP_WINDOW days only. */
#define SEG_GROUP_WINDOW SEG_GROUP_MESSAGE_DAYS
typedef struct seg_gdays {
    uint32_t n;
    struct {
        int32_t day;
        int32_t messages;
    } v[SEG_GROUP_WINDOW];
} seg_gdays;

/* One store group's members now. */
typedef struct seg_grp {
    int64_t id;
    seg_set set;
} seg_grp;

/* Every per-member column of struct seg_index, one element per ordinal: grown,
 * compacted, freed and counted together (index.c), so a new column is listed here. */
/* clang-format off */
#define SEG_MEMBER_COLUMNS(X)                                                                      \
    X(ids) X(bday) X(bmonth) X(bmday) X(joined) X(first) X(last) X(prev) X(orders) X(items)       \
    X(spend) X(o30) X(o90) X(o365) X(s30) X(s90) X(s365) X(points) X(rfm_cls) X(life_cls)        \
    X(palive) X(expect) X(clv) X(contacts) X(contact_first)   \
    X(groups) X(group_first) X(ref_direct) X(ref_all) X(ref_depth) X(gmsg30) X(gdays)
/* clang-format on */
/* ... and the per-member columns of category spend (counted with the category pool) */
#define SEG_CATEGORY_COLUMNS(X) X(cat_off) X(cat_len) X(cat_cap_log)

struct seg_index {
    pthread_rwlock_t lock;
    uint32_t n, cap; /* ordinals in use, allocated */
    size_t nwords;   /* cap / 64 */
    uint64_t gen;    /* bumped by every write (rule tag freshness) */
    int32_t today;
    /* today, readable without the lock: every read of the index asks whether the day moved
     * (seg_index_advance_day), and taking the write lock for that serialised all readers */
    _Atomic int32_t today_seen;

    /* identities: ordinal -> id, and id -> ordinal by open addressing of ordinals+1 */
    uint32_t *ids;   /* member ids: store rowids, 1..2^32-1 (4 bytes a member, not 8) */
    bool ids_sorted; /* ids ascend with ordinals (the usual case: ids from a sequence) */
    uint32_t *by_id; /* ordinals sorted by id, built on demand when !ids_sorted */
    bool by_id_valid;
    pthread_mutex_t by_id_lock; /* readers build by_id under the read lock */
    uint32_t *hslots;
    uint32_t hmask;
    uint64_t *live; /* members not removed */
    uint32_t nlive;

    seg_dim dims[SEG_D_COUNT_];

    /* birthday: days since 1900-01-01 (0 none); month, day of month (0 none) */
    uint16_t *bday;
    uint8_t *bmonth, *bmday;
    /* day numbers since 1970 (0 none) */
    uint16_t *joined, *first, *last, *prev;
    /* lifetime */
    int32_t *orders, *items;
    int64_t *spend;
    /* windows */
    uint16_t *o30, *o90, *o365;
    int32_t *s30, *s90, *s365;
    int32_t *points;
    /* each member's RFM class and lifecycle stage (seg_ix_rfm_class, seg_ix_lifecycle),
     * kept current: by every order, refund and merge for the member, and for everyone
     * when the day or a threshold changes. A question on them reads one byte a member
     * instead of five columns. */
    uint8_t *rfm_cls, *life_cls;
    float *palive, *expect; /* NaN: none */
    int32_t *clv;           /* INT32_MIN: none */
    /* WeCom contact edges (src/guides): live ones, and the day of the first (0 none) */
    uint16_t *contacts, *contact_first;
    /* store groups (src/community): groups in now, and the day of the first join (0 none) */
    uint16_t *groups, *group_first;
    /* the referral graph (src/fission): referees direct and downstream, own depth */
    int32_t *ref_direct, *ref_all, *ref_depth;
    /* store group messages: each member's counts per day of the last 30 (NULL: none),
     * and their sum, kept as days pass (group_messages_30d) */
    int32_t *gmsg30;
    struct seg_gdays **gdays;
    /* the members of each store group now (`group = ID`), sorted by group id */
    struct seg_grp *grp;
    uint32_t ngrp, grp_cap;
    seg_set reach[6]; /* 5 channels + any */

    /* category spend */
    uint32_t *cat_off; /* into catpool; UINT32_MAX none */
    uint8_t *cat_len, *cat_cap_log;
    seg_catpair *catpool;
    size_t catpool_n, catpool_cap;
    uint32_t cat_free[16]; /* free-list heads per log2 capacity, UINT32_MAX empty */

    seg_bucket buckets[SEG_WINDOW_DAYS];

    seg_tag *tags;
    int ntags, tags_cap;
    seg_saved *saved;
    int nsaved, saved_cap;

    seg_rfm_thresholds rfm;
    bool rfm_auto;
    seg_lifecycle_thresholds life;

    /* the snapshot the index was read from when its columns, dense sets' words, id hash
     * and category pool lie in it (NULL: all malloc'd); whoever frees or grows those
     * calls snapmap_free / snapmap_realloc */
    struct snapmap *map;
};

/* Unlocked internals (callers hold the lock). */
const seg_set *seg_ix_group_set(const seg_index *idx, int64_t group_id); /* NULL: none */
int seg_ix_ord(const seg_index *idx, int64_t id);                        /* -1 when unknown */
int seg_ix_tag_find(const seg_index *idx, const char *name, size_t len);
const seg_saved *seg_ix_saved_by_id(const seg_index *idx, int64_t id);
const seg_saved *seg_ix_saved_by_name(const seg_index *idx, const char *name, size_t len);
uint32_t seg_ix_dim_code(const seg_index *idx, int dim, uint32_t ord);
const uint32_t *seg_ix_by_id(seg_index *idx); /* needs write or own lock */
int seg_parse_ix(const char *text, const seg_index *idx, seg_expr **out, seg_error *err);

/* Does member `ord` match node n? (eval.c; depth guards segment recursion) */
int seg_ix_match(const seg_index *idx, const seg_node *n, uint32_t ord, int depth, bool *out,
                 seg_error *err);

/* Evaluates e (and scope) into a dense bitset of nwords words (caller frees). */
int seg_eval_dense(const seg_index *idx, const seg_expr *e, const seg_expr *scope, uint64_t **out,
                   seg_error *err);

/* The member's RFM class: 0 none (no orders), 1..8 = seg_rfm_names[class - 1]. Only
 * cls_update (index.c) calls this and seg_ix_lifecycle: everyone else reads the kept
 * bytes, rfm_cls and life_cls. */
static inline int seg_ix_rfm_class(const seg_index *idx, uint32_t o)
{
    if (idx->orders[o] < 1 || !idx->last[o]) return 0;
    int r = idx->today - idx->last[o] <= idx->rfm.r_max_days;
    int f = idx->orders[o] >= idx->rfm.f_min_orders;
    int m = idx->spend[o] >= idx->rfm.m_min_cents;
    static const int cls[2][2][2] = {{{8, 4}, {7, 3}}, {{6, 2}, {5, 1}}}; /* [r][f][m] */
    return cls[r][f][m];
}

/* The member's lifecycle stage, 0..5 = seg_lifecycle_names (rules in index.h). */
static inline int seg_ix_lifecycle(const seg_index *idx, uint32_t o)
{
    const seg_lifecycle_thresholds *t = &idx->life;
    if (idx->orders[o] < 1 || !idx->last[o]) return 0;      /* prospect */
    if (idx->today - idx->first[o] < t->new_days) return 1; /* new */
    int32_t ld = idx->today - idx->last[o];
    if (ld <= t->active_days)
        return idx->prev[o] && idx->last[o] - idx->prev[o] > t->lapsed_days ? 5 /* won_back */
                                                                            : 2 /* active */;
    return ld <= t->lapsed_days ? 3 /* at_risk */ : 4 /* lapsed */;
}

/* Days since 1900-01-01 of 1970-01-01. */
#define SEG_BDAY_OFFSET 25567

/* Civil date <-> day number since 1970-01-01 (proleptic Gregorian). */
int32_t seg_days_from_civil(int y, int m, int d);
void seg_civil_from_days(int32_t z, int *y, int *m, int *d);

#endif
