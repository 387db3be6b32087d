/* index.h — the in-memory, column-oriented member index that segment expressions
 * are evaluated against.
 *
 * Owns: dense member ordinals (0..N-1) and the member id <-> ordinal maps; one column
 * per attribute of spec/segments.md; per-value bitmaps of categoricals; reachability
 * flags; manual and rule tags; saved segments; RFM and lifecycle thresholds; the
 * per-day order buckets that keep 30/90/365-day windows exact as days pass.
 *
 * Days are day numbers: days since 1970-01-01 (UTC or the tenant's zone — the caller
 * decides, consistently). SEG_NO_DAY means "none". "X_days" attributes are computed
 * against the index's current day (seg_index_advance_day), so audiences move as days
 * pass without writes.
 *
 * Thread safety: every call is safe from any thread. Writers take the index's write
 * lock for the whole update of one member, readers (seg_count & co.) the read lock
 * for a whole evaluation, so a reader never sees a half-applied order (orders
 * updated, orders_30d not yet). A rwlock rather than finer locks because an update
 * is a few hundred nanoseconds and an evaluation a few milliseconds: the lock is
 * never the bottleneck, and it keeps every column mutually consistent for free.
 * Writers are preferred so a stream of counts cannot starve order upkeep.
 *
 * Return values: 0 on success; -1 with err filled (err may be NULL). Member ids
 * that the index has never seen are an error for every call but upsert. */
#ifndef SIYU_SEGMENT_INDEX_H
#define SIYU_SEGMENT_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segment/expr.h"

#define SEG_NO_DAY INT32_MIN      /* a day that is not known */
#define SEG_GROUP_MESSAGE_DAYS 30 /* the window of group_messages_30d, today included */
#define SEG_NO_VALUE INT64_MIN    /* an integer prediction that is not known */

/* Reachability flags (consent respected by the caller: pass 0 after an opt-out). */
enum {
    SEG_REACH_PUBLIC_ACCOUNT = 1 << 0,
    SEG_REACH_WECOM = 1 << 1,
    SEG_REACH_GROUP = 1 << 2,
    SEG_REACH_SMS = 1 << 3,
    SEG_REACH_MINIPROGRAM = 1 << 4,
};

/* A member's profile. Ids 0 and strings NULL or "" mean "none". */
typedef struct seg_member_profile {
    int64_t id;
    int64_t store_id, guide_id, brand_id;
    const char *join_channel, *tier, *gender, *city;
    int32_t birthday;     /* day number, SEG_NO_DAY when unknown */
    int32_t joined_day;   /* day number, SEG_NO_DAY when unknown */
    int64_t qr_code_id;   /* the channel QR code it joined through (src/guides), 0: none */
    const char *campaign; /* the campaign it joined through, NULL: none */
} seg_member_profile;

/* Spend of one order (or refund) in one product category. */
typedef struct seg_category_spend {
    const char *category;
    int64_t cents;
} seg_category_spend;

/* RFM: a member with at least one (net) order is "high" on
 *   R when last_order_days <= r_max_days,
 *   F when orders >= f_min_orders,
 *   M when spend_cents >= m_min_cents.
 * By default (automatic) the thresholds are a median split, recomputed on every day
 * roll and by seg_index_rfm_recompute: a member is high when strictly better than the
 * (lower) median of members with orders: r_max_days = median(last_order_days) - 1,
 * f_min_orders = median(orders) + 1, m_min_cents = median(spend_cents) + 1. */
typedef struct seg_rfm_thresholds {
    int32_t r_max_days;
    int32_t f_min_orders;
    int64_t m_min_cents;
} seg_rfm_thresholds;

/* Lifecycle stage, first rule that holds:
 *   prospect  no (net) orders
 *   new       first_order_days < new_days                               (default 30)
 *   won_back  last_order_days <= active_days and the gap between the last order and
 *             the one before it > lapsed_days
 *   active    last_order_days <= active_days                            (default 90)
 *   at_risk   last_order_days <= lapsed_days                            (default 180)
 *   lapsed    otherwise */
typedef struct seg_lifecycle_thresholds {
    int32_t new_days, active_days, lapsed_days;
} seg_lifecycle_thresholds;

/* ---- life cycle ---- */

/* A new empty index whose current day is `today`. NULL on allocation failure. */
seg_index *seg_index_new(int32_t today);
/* Frees the index; NULL is a no-op. No call may be running on it. */
void seg_index_free(seg_index *idx);
/* Pre-sizes for n members (a start-up rebuild knows its count). */
int seg_index_reserve(seg_index *idx, size_t n, seg_error *err);
/* Gives back the room that growing left behind (columns sized for more members than
 * there are, day buckets and the category pool grown by doubling): called once the
 * start-up rebuild is done. Later writes grow them again as needed. */
void seg_index_compact(seg_index *idx);

/* ---- members ---- */

/* Inserts or replaces a member's profile (not its orders, points, reach, tags). A
 * member removed earlier comes back. Ids are the store's, 1 to 2^32-1. */
int seg_index_upsert_member(seg_index *idx, const seg_member_profile *p, seg_error *err);
/* Removes a member from every audience (merged away, erased). Its ordinal is kept. */
int seg_index_remove_member(seg_index *idx, int64_t member_id, seg_error *err);
/* Two members became one (members merge): everything the index knows of from's
 * orders — lifetime and windowed counts and spends, items, first / last / previous
 * order days, category spend (so the favourite category) — and its manual tags move
 * onto `into`, as the store moved its orders and tag rows; `from` is then removed.
 * into's profile, reach, points and predictions are left alone (the caller reloads
 * them). Merging a member no longer in any audience is a no-op, so a replayed merge
 * never counts orders twice. Costs a pass over the day buckets of from's order days
 * in the window, nothing over all members. */
int seg_index_merge_member(seg_index *idx, int64_t into_id, int64_t from_id, seg_error *err);
/* Members in the index (live ones). */
size_t seg_index_member_count(seg_index *idx);

/* ---- orders and refunds ----
 * An order of `net_cents` with `items` items on day `day`, split over categories
 * (`cats` may be NULL). An order dated after the current day first advances it.
 * A refund names the day of the order it refunds: windows count an order and its
 * refunds together, by order day. `cancels_order` when the refund undoes the whole
 * order (it then no longer counts in orders / orders_Nd). First, last and previous
 * order days are those of orders placed; refunds do not move them. */
int seg_index_apply_order(seg_index *idx, int64_t member_id, int32_t day, int64_t net_cents,
                          int32_t items, const seg_category_spend *cats, size_t ncats,
                          seg_error *err);
int seg_index_apply_refund(seg_index *idx, int64_t member_id, int32_t order_day, int64_t cents,
                           int32_t items, bool cancels_order, const seg_category_spend *cats,
                           size_t ncats, seg_error *err);

/* ---- other member state ---- */
int seg_index_set_reach(seg_index *idx, int64_t member_id, unsigned flags, seg_error *err);
int seg_index_set_points(seg_index *idx, int64_t member_id, int64_t balance, seg_error *err);
/* A member's store groups now and the day it first joined one (SEG_NO_DAY: never). */
int seg_index_set_groups(seg_index *idx, int64_t member_id, int64_t groups, int32_t first_day,
                         seg_error *err);
/* A member's messages in store groups per local day (days may repeat: they add up),
 * replacing what the index had; days before the last 30 are dropped, a day after today
 * first advances it. group_messages_30d is their sum over the window ending today. */
int seg_index_set_group_messages(seg_index *idx, int64_t member_id, const int32_t *days,
                                 const int64_t *messages, size_t n, seg_error *err);
/* Whether the member is in store group group_id now (`group = ID`). To replace a
 * member's groups, clear them first — before seg_index_set_groups changes the count
 * the clearing relies on (the member is in `groups` of the sets) — then set each. */
int seg_index_clear_member_groups(seg_index *idx, int64_t member_id, seg_error *err);
int seg_index_set_member_group(seg_index *idx, int64_t member_id, int64_t group_id, bool in,
                               seg_error *err);
/* A member's live WeCom contact edges and the day of its first contact (SEG_NO_DAY: none). */
/* The member's place in the referral graph: referees direct and downstream, its own
 * depth (0: not referred). */
int seg_index_set_referrals(seg_index *idx, int64_t member_id, int64_t direct, int64_t all,
                            int64_t depth, seg_error *err);
int seg_index_set_contacts(seg_index *idx, int64_t member_id, int64_t live, int32_t first_day,
                           seg_error *err);
int seg_index_set_tier(seg_index *idx, int64_t member_id, const char *tier, seg_error *err);
/* p_alive and expected_purchases_90d NaN, clv_12m_cents SEG_NO_VALUE: not fitted. */
int seg_index_set_prediction(seg_index *idx, int64_t member_id, double p_alive,
                             double expected_purchases_90d, int64_t clv_12m_cents, seg_error *err);

/* ---- time ----
 * Moves the current day forward (a day that is not later is a no-op). Windowed
 * attributes are corrected from the day buckets; automatic RFM thresholds are
 * recomputed; rule tags are refreshed. */
int seg_index_advance_day(seg_index *idx, int32_t today, seg_error *err);
int32_t seg_index_today(seg_index *idx);

/* ---- tags ----
 * A tag is manual (members added and removed by id) or a rule tag (rule_expr
 * non-NULL: members matching the expression). A rule tag is materialised into a
 * bitmap on creation and by seg_index_rule_tags_refresh (and every day roll); while
 * writes have happened since, evaluation answers from the expression itself, so a
 * rule tag is never stale. Returns the tag id (>= 0) or -1. Names are unique. */
int seg_index_tag_create(seg_index *idx, const char *name, const char *rule_expr, seg_error *err);
int seg_index_tag_find(seg_index *idx, const char *name); /* -1 when unknown */
const char *seg_index_tag_name(seg_index *idx, int tag);  /* valid while the index lives */
int seg_index_tag_add(seg_index *idx, int tag, int64_t member_id, seg_error *err);
int seg_index_tag_remove(seg_index *idx, int tag, int64_t member_id, seg_error *err);
/* Adds every member of an audience to a manual tag ("tag these members"). */
int seg_index_tag_add_expr(seg_index *idx, int tag, const seg_expr *e, seg_error *err);
int seg_index_rule_tags_refresh(seg_index *idx, seg_error *err);
/* The tags a member carries (manual and rule), up to max; returns how many there are
 * (may exceed max), or -1 for an unknown member. */
int seg_index_member_tags(seg_index *idx, int64_t member_id, int *tags, int max);

/* ---- saved segments: `segment:3` / `segment:"高价值"` ----
 * Defining an existing id replaces it. A segment may refer to segments defined
 * before it; evaluation depth is capped, so a cycle made by redefinition is an
 * error, never a hang. */
int seg_index_segment_define(seg_index *idx, int64_t id, const char *name, const char *expr,
                             seg_error *err);
int seg_index_segment_drop(seg_index *idx, int64_t id);

/* ---- RFM and lifecycle ---- */
void seg_index_rfm_get(seg_index *idx, seg_rfm_thresholds *out, bool *automatic);
/* Fixed thresholds (automatic off), or NULL to return to the median split. */
void seg_index_rfm_set(seg_index *idx, const seg_rfm_thresholds *t);
/* Recomputes the median split now (a no-op while thresholds are fixed). */
void seg_index_rfm_recompute(seg_index *idx);
void seg_index_lifecycle_get(seg_index *idx, seg_lifecycle_thresholds *out);
int seg_index_lifecycle_set(seg_index *idx, const seg_lifecycle_thresholds *t, seg_error *err);
/* The member's class: 1..8 (seg_rfm_names[class-1]) or 0 when it has no orders, and
 * its lifecycle stage 0..5 (seg_lifecycle_names); -1 for an unknown member. */
int seg_index_member_rfm(seg_index *idx, int64_t member_id);
int seg_index_member_lifecycle(seg_index *idx, int64_t member_id);

/* ---- accounting ---- */
typedef struct seg_index_stats {
    size_t members; /* ordinals, live or not */
    size_t bytes;   /* heap bytes held by the index; of which: */
    size_t bytes_columns, bytes_dims, bytes_flags_tags, bytes_categories, bytes_buckets;
    size_t bucket_entries;
    size_t dense_sets, sparse_sets;
} seg_index_stats;
void seg_index_stats_get(seg_index *idx, seg_index_stats *out);

/* ---- Snapshot (snapshot.c; the views' snapshot file is views/snapshot.c) ----
 * Writes the members' data — columns, dimensions, groups, reach, category spend, day
 * buckets — under the read lock; tags and saved segments are not written (the caller
 * defines them again after reading). The reader checks every length and every ordinal,
 * code and offset against what it indexes and answers NULL on anything malformed. */
struct snap_out;
struct snap_in;
int seg_index_snapshot_write(seg_index *idx, struct snap_out *w);
seg_index *seg_index_snapshot_read(struct snap_in *r);

#endif
