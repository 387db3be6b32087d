/* reports.h — KPI reports over an in-memory, column-oriented fact store.
 *
 * Owns: the facts the KPIs need (orders with their items, members, reachability,
 * live_view events, store kinds and brands), kept as columns in memory and indexed
 * by local (+08:00) day, and every report computed from them: the KPI report with
 * its previous period and series, leaderboards per store / channel / guide / tier
 * (or any class, with their previous period alongside), join
 * cohorts, product concentration and baskets, live-stream sessions and member
 * distributions. Answers are jansson objects whose field names are the contract of
 * docs/metrics.md (money in *_cents integers, ratios in [0,1], null when undefined).
 *
 * Does not own: the store (it only reads it, through named scan queries), the member
 * index (tiers.c only reads its tier column), HTTP, or parsing of request parameters
 * beyond reports_query_parse().
 *
 * Lifecycle: reports_load() builds the facts from the store at start-up; after that
 * the caller feeds every committed write through the incremental calls (or, simpler,
 * hands the domain's change list to reports_apply()), so the reports always equal a
 * fresh reports_load(). Thread safety: every call takes the object's rwlock — report
 * calls as readers (any number at once), the incremental calls as the writer. */
#ifndef SIYU_REPORTS_REPORTS_H
#define SIYU_REPORTS_REPORTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "domain/domain.h"
#include "store/store.h"

typedef struct reports reports_t;

/* ---- building the facts ---- */

reports_t *reports_new(void);
void reports_free(reports_t *r); /* NULL is a no-op */
/* Reads the whole store (stores, members, reach, orders, items, live_view events) in
 * one read transaction. On error *out is NULL and e says why. */
int reports_load(store_conn *c, reports_t **out, siyu_err *e);

/* ---- incremental API: call after the write committed, once per change ----
 * Ids are the store's ids; 0 means "none". Strings are copied. Unknown store or
 * guide ids are accepted (a store of unknown kind, no brand) and can be described
 * later with reports_upsert_store. Each call returns 0, or -1 with e filled on a bad
 * argument (unknown channel, refund of an unknown order...). */

typedef struct reports_store_in {
    int64_t id;
    const char *kind; /* physical, mall, live, points_mall, distribution */
    int64_t brand_id; /* 0: none */
} reports_store_in;
int reports_upsert_store(reports_t *r, const reports_store_in *in, siyu_err *e);

typedef struct reports_member_in {
    int64_t id;
    int64_t joined_at;          /* Unix seconds */
    const char *join_channel;   /* one of api.md's channels; NULL: store */
    int64_t store_id, guide_id; /* home store and bound guide, 0: none */
} reports_member_in;
/* Creates the member or replaces its profile (store, guide, join fields). */
int reports_upsert_member(reports_t *r, const reports_member_in *in, siyu_err *e);
/* `from` was merged into `into`: its orders and live views move, it disappears.
 * Follow with reports_upsert_member/set_reach for `into` (reports_apply does). */
int reports_merge_members(reports_t *r, int64_t into, int64_t from, siyu_err *e);
/* channel: public_account, wecom, group, sms, miniprogram (member.reachability keys). */
int reports_set_reach(reports_t *r, int64_t member_id, const char *channel, bool reachable,
                      siyu_err *e);

typedef struct reports_item_in {
    const char *sku;
    const char *category; /* NULL: none */
    int64_t qty, unit_price_cents;
    int64_t refunded_qty; /* 0 for a new order */
} reports_item_in;

typedef struct reports_order_in {
    int64_t id, member_id, store_id, guide_id; /* guide: the credited guide */
    const char *channel;
    int64_t placed_at; /* Unix seconds */
    int64_t total_cents, discount_cents;
    int64_t refunded_cents; /* 0 for a new order */
    int64_t item_count;     /* Σ qty; computed from items when 0 */
    const reports_item_in *items;
    size_t n_items;
} reports_order_in;
/* Adding an order id that is already there changes nothing (returns 0). */
int reports_add_order(reports_t *r, const reports_order_in *in, siyu_err *e);

typedef struct reports_refund_line {
    int64_t line; /* 1-based line of the order */
    int64_t qty;
} reports_refund_line;
typedef struct reports_refund_in {
    int64_t order_id, amount_cents;
    const reports_refund_line *lines; /* NULL when the refund names no lines */
    size_t n_lines;
} reports_refund_in;
int reports_add_refund(reports_t *r, const reports_refund_in *in, siyu_err *e);

/* A live_view event of a member at an instant. */
int reports_add_live_view(reports_t *r, int64_t member_id, int64_t at, siyu_err *e);

/* Applies a committed transaction's change list by reading the changed rows back
 * through c (members, reach, orders with items, refunds, merges). live_view events
 * are not in the change list: add them with reports_add_live_view. */
int reports_apply(reports_t *r, store_conn *c, const dom_changes *ch, siyu_err *e);

/* ---- queries ---- */

typedef enum reports_granularity {
    REPORTS_DAY,
    REPORTS_WEEK, /* Monday-based weeks, clipped to the period */
    REPORTS_MONTH,
} reports_granularity;

typedef struct reports_query {
    int32_t from, to;                     /* local days (timeutil), inclusive */
    int64_t brand_id, store_id, guide_id; /* 0: all */
    int channel;                          /* index into dom_channels, -1: all */
    reports_granularity granularity;
    int top_n; /* rows per top list (products); 0: 10 */
    /* products: the concentration figures and best sellers only (part=concentration),
     * without the per-store and per-category lists and the pairs bought together */
    bool concentration_only;
} reports_query;

/* ---- the answer cache ----
 * A few recent answers (64), each kept under a key the caller builds from the report and
 * its whole query (after scope narrowing), and valid only while the facts are the ones
 * it was computed from: any change to the facts makes every kept answer stale. The
 * console's dashboard asks the same reports with the same filters at every sign-in.
 * reports_version is read before computing; reports_cache_put keeps the answer for that
 * version (a write in between makes it stale at once). reports_cache_get answers a copy
 * the caller owns, or NULL. SIYU_REPORTS_CACHE=off in the environment turns it off. */
uint64_t reports_version(reports_t *r);
json_t *reports_cache_get(reports_t *r, const char *key);
void reports_cache_put(reports_t *r, const char *key, uint64_t version, const json_t *answer);
/* Answers served from the cache and computed since start, for readiness and tests. */
void reports_cache_counts(reports_t *r, uint64_t *hits, uint64_t *misses);

/* Fills q from request parameters given as a JSON object of strings or integers:
 * from, to (YYYY-MM-DD, required), brand, store, guide (ids), channel (name),
 * granularity (day|week|month, default month), top (1..1000). Errors name the field. */
int reports_query_parse(json_t *params, reports_query *q, siyu_err *e);

/* Every function answers a new reference, or NULL with e filled. */
json_t *reports_kpi(reports_t *r, const reports_query *q, siyu_err *e);

/* Leaderboards: per group, the KPIs of the period with their rank, and under
 * "previous" the same figures (and rank) for the previous period. */
typedef enum reports_dim { REPORTS_BY_STORE, REPORTS_BY_CHANNEL, REPORTS_BY_GUIDE } reports_dim;
json_t *reports_leaderboard(reports_t *r, const reports_query *q, reports_dim dim, siyu_err *e);
json_t *reports_cohorts(reports_t *r, const reports_query *q, siyu_err *e);
/* With q->concentration_only, the answer has no best_sellers_by_store,
 * best_sellers_by_category, baskets or bought_together (and costs a fraction). */
json_t *reports_products(reports_t *r, const reports_query *q, siyu_err *e);
json_t *reports_live(reports_t *r, const reports_query *q, siyu_err *e);
/* Members by reachability and by join channel, with their sales in the period. */
json_t *reports_distributions(reports_t *r, const reports_query *q, siyu_err *e);

/* The hook for classes computed elsewhere (RFM, lifecycle stage, tier): classify
 * returns a member's class label (a static or long-lived string) or NULL to leave
 * the member out; the answer counts members per label with their period sales, in
 * the same shape as one reports_distributions group. */
typedef const char *(*reports_classify_fn)(void *ctx, int64_t member_id);
json_t *reports_distribution_by(reports_t *r, const reports_query *q, const char *name,
                                reports_classify_fn classify, void *ctx, siyu_err *e);
/* A leaderboard by those classes (tier, RFM class, lifecycle stage): orders grouped by
 * their member's class today, members by their own. Rows are keyed by `name` (e.g.
 * "tier"); the label "" (members without a class) shows as null. Non-member orders and
 * members the classifier leaves out (NULL) are on no row. */
json_t *reports_leaderboard_by(reports_t *r, const reports_query *q, const char *name,
                               reports_classify_fn classify, void *ctx, siyu_err *e);

/* A ready-made classifier: member ids with their labels, for callers that read the
 * classes from elsewhere in bulk (the tier column of the member index). Members not
 * added get the default label. Labels are copied; lookups are a binary search. Use as
 * reports_leaderboard_by(r, q, "tier", reports_classes_classify, classes, e). */
typedef struct reports_classes reports_classes;
reports_classes *reports_classes_new(const char *default_label); /* NULL: "" */
void reports_classes_free(reports_classes *c);                   /* NULL is a no-op */
/* Adds n member ids under label (ids may come in any order; an id added twice keeps
 * the last label). */
void reports_classes_add(reports_classes *c, const char *label, const int64_t *ids, size_t n);
const char *reports_classes_classify(void *classes, int64_t member_id);

/* Rebuilds the member-major copy of member orders now (reports do it themselves once
 * n/32 orders have arrived since the last build; a caller may after a bulk import). */
void reports_compact(reports_t *r);

/* Sizes, for /metrics and the bench. */
typedef struct reports_stats {
    size_t orders, items, members, live_views, skus, bytes;
} reports_stats;
void reports_get_stats(reports_t *r, reports_stats *out);

/* ---- Snapshot (snapshot.c; the file is views/snapshot.c) ----
 * Writes the facts under the read lock; the reader checks every count and row reference
 * and answers NULL on anything malformed (the caller then loads from the store). */
struct snap_out;
struct snap_in;
int reports_snapshot_write(reports_t *r, struct snap_out *w);
reports_t *reports_snapshot_read(struct snap_in *in);
/* ---- What the group view (src/views/group_view.c) reads of the facts (groupfacts.c) ----
 * Orders and refunds are kept once, here; the group view matches them to its stints. */
typedef struct reports_order_ref {
    int64_t member_id, order_id, placed_at, total, refunded;
} reports_order_ref;
/* Calls fn for every order with a member placed on local days [from, to] that refunds do
 * not void, under the read lock (fn must not call back into r). */
void reports_each_order(reports_t *r, int32_t from, int32_t to,
                        void (*fn)(void *ctx, const reports_order_ref *o), void *ctx);
/* Members and buyers per home store: live members with a store, joined by day `to`
 * (store_id 0: every store), split by whether they are in `in_group` (member ids, any
 * order); a buyer has an order placed on [from, to] that refunds do not void. Rows in
 * store id order, only stores with members; *out is malloc'd. */
typedef struct reports_group_conv {
    int64_t store_id, n[2], b[2];
} reports_group_conv;
size_t reports_group_conversion(reports_t *r, int32_t from, int32_t to, int64_t store_id,
                                const int64_t *in_group, size_t n_in, reports_group_conv **out);

#endif
