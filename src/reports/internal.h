/* internal.h — the fact store's layout, shared by the report files only.
 *
 * Every entity is a set of parallel column arrays indexed by a dense row number;
 * an id map turns store ids into rows. Orders are also listed per local day (day
 * buckets of row numbers), so a report walks exactly the days of its period, in
 * time order — which is what makes "distinct days per member" a single compare. */
#ifndef SIYU_REPORTS_INTERNAL_H
#define SIYU_REPORTS_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "base/snapmap.h"
#include "reports/reports.h"

#define RP_NCH 7    /* channels of api.md (dom_channels) */
#define RP_NREACH 5 /* reach channels */
#define RP_KIND_UNKNOWN 255
#define RP_KIND_LIVE 2 /* index of "live" in dom_store_kinds */

extern const char *const rp_reach_channels[];

/* open addressing int64 -> int32 (keys never 0) */
typedef struct rp_map {
    int64_t *k;
    int32_t *v;
    size_t cap, n;
} rp_map;
int32_t rp_map_get(const rp_map *m, int64_t k); /* -1 when absent */
void rp_map_put(rp_map *m, int64_t k, int32_t v);
/* Whether m holds exactly keys[i] -> i for each of the n rows, each found by a lookup (a table
 * read back from a snapshot, where k and v may lie in the mapping). */
bool rp_map_is_rows(const rp_map *m, const int64_t *keys, size_t n);
/* Room for keys keys in all, so as many puts rehash nothing. */
void rp_map_reserve(rp_map *m, size_t keys);
void rp_map_free(rp_map *m);

/* interned strings: index 0 is "" (none) */
typedef struct rp_strs {
    char **s;
    size_t n, cap;
    rp_map by_hash; /* hash -> first index; collisions chained through next */
    int32_t *next;
} rp_strs;
int32_t rp_strs_intern(rp_strs *t, const char *s);

typedef struct rp_vec {
    uint32_t *v;
    uint32_t n, cap;
} rp_vec;

struct reports {
    pthread_rwlock_t lock;
    /* the snapshot the facts were read from, when their columns lie in it (NULL: all
     * malloc'd); whoever frees or grows a column calls snapmap_free / snapmap_realloc */
    struct snapmap *map;

    /* stores */
    rp_map store_ix;
    int64_t *s_id, *s_brand;
    uint8_t *s_kind;
    size_t n_stores, cap_stores;

    /* guides (only their ids: names live in the store) */
    rp_map guide_ix;
    int64_t *g_id;
    size_t n_guides, cap_guides;

    /* members */
    rp_map member_ix;
    int64_t *m_id;
    int32_t *m_join_day, *m_store, *m_guide; /* store/guide rows, -1 none */
    int32_t *m_into;                         /* a merged-away member's survivor row, else -1 */
    uint8_t *m_join_ch, *m_reach, *m_alive;  /* m_reach: bit per rp_reach_channels */
    size_t n_members, cap_members;

    /* orders */
    rp_map order_ix;
    int64_t *o_id, *o_total, *o_discount, *o_refunded;
    int64_t *o_at; /* placed_at, Unix seconds (the group view matches it to stints) */
    int32_t *o_member, *o_store, *o_guide, *o_day, *o_items;
    uint32_t *o_item_off, *o_item_n;
    uint8_t *o_ch;
    size_t n_orders, cap_orders;

    /* items, contiguous per order */
    uint32_t *i_order, *i_sku, *i_cat;
    int32_t *i_qty, *i_refqty;
    int64_t *i_unit;
    size_t n_items, cap_items;
    rp_strs skus, cats;

    /* live_view events */
    int32_t *lv_member, *lv_day;
    size_t n_lv, cap_lv;

    /* order rows per local day: bucket[d - day0] */
    int32_t day0;
    size_t n_days;
    rp_vec *bucket;

    /* The member-major copy of member orders (mo.c): every member's orders as compact
     * records, contiguous and in day order, so "distinct members / days / groups"
     * figures read them sequentially instead of chasing a member per order. Built by
     * rp_mo_build (at load, and by a report when the tail below has grown); orders
     * added since wait in a per-member tail list, and a merged-away member's orders
     * stay in its segment, reached through the survivor's list of merged members. */
    uint32_t *mo_off; /* [mo_members + 1]: a member row's records are mo[off[m]..off[m+1]) */
    struct rp_mrec *mo;
    size_t mo_members, mo_n;
    uint32_t *o_mpos;  /* per order: its record in mo, RP_NO_POS when in a tail or no member */
    int32_t *o_tnext;  /* per order: the next order of the same member's tail, -1 */
    int32_t *m_tail;   /* per member: the newest order of its tail, -1 */
    int32_t *m_merged; /* per member: first member merged into it (chained by m_sib), -1 */
    int32_t *m_sib;
    size_t n_tail;

    /* Every change to the facts adds one (under the write lock); the answer cache
     * (cache.c) keeps an answer only for the version it was computed at. */
    uint64_t version;
    struct rp_cache *cache;
};

struct rp_cache *rp_cache_new(void);
void rp_cache_free(struct rp_cache *c);

#define RP_NO_POS UINT32_MAX

/* One member order as the member-major pass needs it: filters and groups resolved to
 * rows (-1 none), the order's day and whether it is void (refunds patch it). */
typedef struct rp_mrec {
    int32_t day, store, guide;
    uint8_t ch, valid;
} rp_mrec;

/* facts.c */
int rp_channel_index(const char *name);         /* -1 if unknown */
int32_t rp_store_row(reports_t *r, int64_t id); /* interns; -1 for id 0 */
int32_t rp_guide_row(reports_t *r, int64_t id); /* interns; -1 for id 0 */
static inline bool rp_valid(const reports_t *r, size_t o)
{
    /* a fully refunded order is void: not an order, not a visit */
    return !(r->o_refunded[o] > 0 && r->o_refunded[o] >= r->o_total[o]);
}
static inline const rp_vec *rp_day(const reports_t *r, int32_t d)
{
    static const rp_vec empty = {0};
    if (d < r->day0 || (size_t)(d - r->day0) >= r->n_days) return &empty;
    return &r->bucket[d - r->day0];
}

/* A query's filters resolved to rows once, so hot loops compare small ints. */
typedef struct rp_filter {
    bool all;          /* no filter at all */
    bool none;         /* a filter names something unknown: nothing matches */
    uint8_t *store_ok; /* per store row, NULL when no store/brand filter */
    int32_t guide;     /* row, -1 no filter */
    int ch;            /* -1 no filter */
} rp_filter;
void rp_filter_init(rp_filter *f, const reports_t *r, const reports_query *q);
void rp_filter_free(rp_filter *f);

/* Orders: their store (and its brand), channel and credited guide. */
static inline bool rp_f_order(const rp_filter *f, const reports_t *r, size_t o)
{
    if (f->all) return true;
    if (f->none) return false;
    if (f->store_ok && !f->store_ok[r->o_store[o]]) return false;
    if (f->ch >= 0 && r->o_ch[o] != f->ch) return false;
    if (f->guide >= 0 && r->o_guide[o] != f->guide) return false;
    return true;
}

/* Member populations: live members by home store (and its brand), bound guide and
 * join channel. */
static inline bool rp_f_member(const rp_filter *f, const reports_t *r, size_t m)
{
    if (!r->m_alive[m]) return false;
    if (f->all) return true;
    if (f->none) return false;
    if (f->store_ok && (r->m_store[m] < 0 || !f->store_ok[r->m_store[m]])) return false;
    if (f->ch >= 0 && r->m_join_ch[m] != f->ch) return false;
    if (f->guide >= 0 && r->m_guide[m] != f->guide) return false;
    return true;
}

/* A member order's record, also used for filtering it. */
static inline bool rp_f_rec(const rp_filter *f, const rp_mrec *x)
{
    if (f->all) return true;
    if (f->none) return false;
    if (f->store_ok && (x->store < 0 || !f->store_ok[x->store])) return false;
    if (f->ch >= 0 && x->ch != f->ch) return false;
    if (f->guide >= 0 && x->guide != f->guide) return false;
    return true;
}

/* mo.c: the member-major records */
void rp_mo_build(reports_t *r);           /* under the write lock */
void rp_mo_refresh(reports_t *r);         /* takes the lock: rebuilds when the tail is long */
void rp_mo_add(reports_t *r, uint32_t o); /* a new member order joins its member's tail */
void rp_mo_merge(reports_t *r, int32_t into, int32_t from);
void rp_mo_member_added(reports_t *r, int32_t m);
void rp_mo_order_changed(reports_t *r, uint32_t o); /* after a refund */
/* A live member's records (its own, its merged members', its tail), in day order.
 * Points into mo when it can, else into *buf (grown as needed). */
typedef struct rp_mbuf {
    rp_mrec *v;
    size_t cap;
} rp_mbuf;
size_t rp_mo_member(const reports_t *r, int32_t m, rp_mbuf *buf, const rp_mrec **out);

/* kpi.c helpers shared with analyses.c */
json_t *rp_ratio(int64_t num, int64_t den);     /* null when den == 0 */
json_t *rp_div(double num, double den);         /* null when den == 0 */
json_t *rp_cents_avg(int64_t num, int64_t den); /* rounded integer, null when den == 0 */
json_t *rp_date(int32_t day);
json_t *rp_query_json(const reports_query *q);
int rp_check_query(const reports_query *q, siyu_err *e);

#endif
