/* queries.h — the names of every statement the domain may run.
 *
 * A name says what the statement does; its text lives with the engine
 * (sqlite_queries.c), so the domain never sees SQL. Parameter order is documented
 * beside each name: (in: ...) -> out columns. */
#ifndef SIYU_STORE_QUERIES_H
#define SIYU_STORE_QUERIES_H

#define STORE_QUERY_LIST(Q)                                                                        \
    /* organisation */                                                                             \
    Q(BRAND_INSERT)          /* (name, now) */                                                     \
    Q(BRAND_GET)             /* (id) -> id, name, created_at */                                    \
    Q(BRAND_LIST)            /* (after_id, limit) -> as BRAND_GET */                               \
    Q(STORE_INSERT)          /* (name, code, kind, brand_id, region, city, now) */                 \
    Q(STORE_GET)             /* (id) -> id, name, code, kind, brand_id, region, city, created_at */ \
    Q(STORE_BY_CODE)         /* (code) -> id */                                                    \
    Q(STORE_LIST)            /* (after_id, limit) -> as STORE_GET */                               \
    Q(BRAND_BY_NAME)         /* (name) -> id */                                                    \
    Q(STAFF_INSERT)          /* (name, role, store_id, code, now) */                               \
    Q(STAFF_GET)             /* (id) -> id, name, role, store_id, code, created_at */              \
    Q(STAFF_BY_CODE)         /* (code) -> id */                                                    \
    Q(STAFF_LIST)            /* (after_id, limit, store_id or NULL) -> as STAFF_GET */             \
    Q(TOKEN_INSERT)          /* (hash, role, staff_id, name, now) */                               \
    Q(TOKEN_BY_HASH)         /* (hash) -> id, hash, role, staff_id, staff store_id */              \
    /* members */                                                                                  \
    Q(MEMBER_INSERT)         /* (name, gender, birthday, city, store_id, guide_id, channel,        \
                                joined_at, now) */                                                 \
    Q(MEMBER_GET)            /* (id) -> id, name, gender, birthday, city, store_id, guide_id,      \
                                join_channel, joined_at, merged_into, created_at, updated_at */    \
    Q(MEMBER_UPDATE)         /* (name, gender, birthday, city, store_id, guide_id, now, id) */     \
    Q(MEMBER_SET_MERGED)     /* (into, now, id) */                                                 \
    Q(MEMBER_LIST)           /* (after_id, limit, store_id or NULL, guide_id or NULL) -> as GET */ \
    Q(IDENTITY_FIND)         /* (kind, app_id, value) -> member_id */                              \
    Q(IDENTITY_INSERT)       /* (kind, app_id, value, member_id) */                                \
    Q(IDENTITY_LIST)         /* (member_id) -> kind, app_id, value */                              \
    Q(IDENTITY_MOVE)         /* (into, from) */                                                    \
    Q(MEMBER_STATS)          /* (member_id) -> orders, gross_cents, refunded_cents, first, last */ \
    Q(MERGE_INSERT)          /* (into, from, now, details json) */                                 \
    Q(MERGE_LIST)            /* (into) -> from_id, at, details */                                  \
    Q(REACH_UPSERT)          /* (member_id, channel, on, at) — keeps the latest by at */           \
    Q(REACH_LIST)            /* (member_id) -> channel, on, at */                                  \
    Q(REACH_MOVE)            /* (into, from) — keeps the latest per channel */                     \
    Q(REACH_DELETE)          /* (member_id) */                                                     \
    /* orders */                                                                                   \
    Q(ORDER_BY_KEY)          /* (channel, external_id) -> id, digest */                            \
    Q(ORDER_INSERT)          /* (channel, external_id, store_id, member_id, guide_id, placed_at,   \
                                total, discount, points_used, coupon_code, digest, item_count) */  \
    Q(ORDER_ITEM_INSERT)     /* (order_id, line, sku, category, name, qty, unit_price) */          \
    Q(ORDER_GET)             /* (id) -> id, channel, external_id, store_id, member_id, guide_id,   \
                                placed_at, total, discount, points_used, coupon_code, refunded */  \
    Q(ORDER_ITEMS)           /* (order_id) -> line, sku, category, name, qty, unit, refunded_qty */\
    Q(ORDER_ITEM_REFUND)     /* (qty, order_id, line) — only while qty stays refundable */         \
    Q(ORDER_ADD_REFUNDED)    /* (amount, id) — only while it stays within the total */             \
    Q(ORDER_LIST)            /* (after_id, limit, member_id or NULL, store_id or NULL,             \
                                guide scope or NULL) -> as ORDER_GET */                            \
    Q(ORDERS_MOVE)           /* (into, from) */                                                    \
    Q(REFUND_BY_KEY)         /* (external_id) -> id, order_id, digest */                           \
    Q(REFUND_INSERT)         /* (order_id, external_id, amount, at, items json, digest) */         \
    Q(REFUND_GET)            /* (id) -> id, order_id, external_id, amount, at, items */            \
    Q(REFUND_LIST)           /* (order_id) -> as REFUND_GET */                                     \
    /* events */                                                                                   \
    Q(EVENT_INSERT)          /* (member_id, type, at, props json, digest) */                       \
    Q(EVENT_BY_DIGEST)       /* (digest) -> id */                                                  \
    Q(EVENTS_MOVE)           /* (into, from) */                                                    \
    Q(EVENT_LIST)            /* (member_id, limit) -> id, type, at, props */                       \
    /* idempotency keys for side-effecting calls */                                                \
    Q(IDEM_GET)              /* (key, route) -> digest, status, body */                            \
    Q(IDEM_PUT)              /* (key, route, digest, status, body, now) */                         \
    /* whole-store scans: start-up index build, model fitting */                             \
    Q(SCAN_MEMBER_ORDERS)    /* () -> member_id, placed_at, total, refunded, item_count,           \
                                store_id, channel, guide_id, id — by member, then time */          \
    Q(SCAN_MEMBERS)          /* () -> id, gender, birthday, city, store_id, guide_id,              \
                                join_channel, joined_at — live members by id */                    \
    Q(SCAN_MEMBER_CATEGORIES)/* () -> member_id, category, net_cents — by member */                \
    Q(SCAN_REACH)            /* () -> member_id, channel, reachable */                             \
    Q(SCAN_ORDERS)           /* () -> id, member_id, store_id, channel, guide_id, placed_at,       \
                                total, discount, refunded, item_count — every order by id */       \
    Q(SCAN_ITEMS)            /* () -> order_id, line, sku, category, qty, unit, refunded_qty */    \
    Q(SCAN_REFUNDS)          /* () -> order_id, amount, refunded_at — by id */                      \
    Q(SCAN_EVENTS_OF_TYPE)   /* (type) -> member_id, at, props — by id */                           \
    /* models */                                                                                   \
    Q(MODEL_RUN_INSERT)      /* (at, cal_end_day, unit_days, customers, report json) */            \
    Q(MODEL_RUN_LATEST)      /* () -> id, at, cal_end_day, unit_days, customers, report */         \
    Q(PREDICTIONS_CLEAR)     /* () */                                                              \
    Q(PREDICTION_PUT)        /* (member_id, run_id, x, p_alive, expected_90d, value, clv) */       \
    Q(PREDICTION_GET)        /* (member_id) -> run_id, x, p_alive, expected_90d, value, clv */     \
    Q(SCAN_PREDICTIONS)      /* () -> member_id, x, p_alive, expected_90d, clv */                  \
    /* tags, saved segments, settings */                                                         \
    Q(TAG_INSERT)            /* (name, kind, expr, now) */                                         \
    Q(TAG_GET)               /* (id) -> id, name, kind, expr, created_at */                        \
    Q(TAG_BY_NAME)           /* (name) -> id */                                                    \
    Q(TAG_LIST)              /* () -> as TAG_GET, by id */                                         \
    Q(TAG_DELETE)            /* (id) */                                                            \
    Q(TAG_MEMBERS_CLEAR)     /* (tag_id) */                                                        \
    Q(TAG_MEMBER_ADD)        /* (tag_id, member_id) — no-op when present */                        \
    Q(TAG_MEMBER_REMOVE)     /* (tag_id, member_id) */                                             \
    Q(TAG_MEMBERS_MOVE)      /* (into, from) — manual tags follow a merge */                       \
    Q(SCAN_TAG_MEMBERS)      /* () -> tag_id, member_id */                                         \
    Q(MEMBER_TAG_NAMES)      /* (member_id) -> name, kind */                                       \
    Q(SEGMENT_INSERT)        /* (name, expr, now) */                                               \
    Q(SEGMENT_GET)           /* (id) -> id, name, expr, created_at, updated_at */                  \
    Q(SEGMENT_BY_NAME)       /* (name) -> id */                                                    \
    Q(SEGMENT_LIST)          /* (after_id, limit) -> as SEGMENT_GET */                             \
    Q(SEGMENT_UPDATE)        /* (name, expr, now, id) */                                           \
    Q(SEGMENT_DELETE)        /* (id) */                                                            \
    Q(SETTING_GET)           /* (key) -> value */                                                  \
    Q(SETTING_PUT)           /* (key, value) */                                                    \
    /* counts for metrics and the demo */                                                          \
    Q(COUNT_MEMBERS)         /* () -> n */                                                         \
    Q(COUNT_ORDERS)          /* () -> n */

typedef enum store_query {
#define Q(name) Q_##name,
    STORE_QUERY_LIST(Q)
#undef Q
        Q__COUNT
} store_query;

#endif
