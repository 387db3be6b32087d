/* sqlite_queries.c — the SQLite text of every named query in queries.h. */
#include "store/sqlite_internal.h"

#define MEMBER_COLS                                                                                \
    "id, name, gender, birthday, city, store_id, guide_id, join_channel, joined_at,"               \
    " merged_into, created_at, updated_at"
#define ORDER_COLS                                                                                 \
    "id, channel, external_id, store_id, member_id, guide_id, placed_at, total_cents,"             \
    " discount_cents, points_used, coupon_code, refunded_cents"

const char *const sqlite_queries[Q__COUNT] = {
    [Q_BRAND_INSERT] = "INSERT INTO brands(name, created_at) VALUES (?1, ?2)",
    [Q_BRAND_GET] = "SELECT id, name, created_at FROM brands WHERE id = ?1",
    [Q_BRAND_LIST] = "SELECT id, name, created_at FROM brands WHERE id > ?1 ORDER BY id LIMIT ?2",
    [Q_STORE_INSERT] = "INSERT INTO stores(name, code, kind, brand_id, region, city, created_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_STORE_GET] = "SELECT id, name, code, kind, brand_id, region, city, created_at FROM stores"
                    " WHERE id = ?1",
    [Q_STORE_BY_CODE] = "SELECT id FROM stores WHERE code = ?1",
    [Q_STORE_LIST] = "SELECT id, name, code, kind, brand_id, region, city, created_at FROM stores"
                     " WHERE id > ?1 ORDER BY id LIMIT ?2",
    [Q_STAFF_INSERT] = "INSERT INTO staff(name, role, store_id, code, created_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_STAFF_GET] = "SELECT id, name, role, store_id, code, created_at FROM staff WHERE id = ?1",
    [Q_STAFF_BY_CODE] = "SELECT id FROM staff WHERE code = ?1",
    [Q_BRAND_BY_NAME] = "SELECT id FROM brands WHERE name = ?1",
    [Q_STAFF_LIST] = "SELECT id, name, role, store_id, code, created_at FROM staff WHERE id > ?1"
                     " AND (?3 IS NULL OR store_id = ?3) ORDER BY id LIMIT ?2",
    [Q_TOKEN_INSERT] = "INSERT INTO tokens(hash, role, staff_id, name, created_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_TOKEN_BY_HASH] = "SELECT t.id, t.hash, t.role, t.staff_id, s.store_id FROM tokens t"
                        " LEFT JOIN staff s ON s.id = t.staff_id WHERE t.hash = ?1",
    [Q_MEMBER_INSERT] = "INSERT INTO members(name, gender, birthday, city, store_id, guide_id,"
                        " join_channel, joined_at, created_at, updated_at)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    [Q_MEMBER_GET] = "SELECT " MEMBER_COLS " FROM members WHERE id = ?1",
    [Q_MEMBER_UPDATE] = "UPDATE members SET name = ?1, gender = ?2, birthday = ?3, city = ?4,"
                        " store_id = ?5, guide_id = ?6, updated_at = ?7 WHERE id = ?8",
    [Q_MEMBER_SET_MERGED] = "UPDATE members SET merged_into = ?1, updated_at = ?2 WHERE id = ?3",
    [Q_MEMBER_LIST] = "SELECT " MEMBER_COLS " FROM members WHERE id > ?1 AND merged_into IS NULL"
                      " AND (?3 IS NULL OR store_id = ?3) AND (?4 IS NULL OR guide_id = ?4)"
                      " ORDER BY id LIMIT ?2",
    [Q_IDENTITY_FIND] = "SELECT member_id FROM identities WHERE kind = ?1 AND app_id = ?2"
                        " AND value = ?3",
    [Q_IDENTITY_INSERT] = "INSERT INTO identities(kind, app_id, value, member_id)"
                          " VALUES (?1, ?2, ?3, ?4)",
    [Q_IDENTITY_LIST] = "SELECT kind, app_id, value FROM identities WHERE member_id = ?1"
                        " ORDER BY kind, app_id, value",
    [Q_IDENTITY_MOVE] = "UPDATE identities SET member_id = ?1 WHERE member_id = ?2",
    [Q_MEMBER_STATS] = "SELECT count(*) FILTER (WHERE refunded_cents < total_cents OR"
                       " total_cents = 0), coalesce(sum(total_cents), 0),"
                       " coalesce(sum(refunded_cents), 0), min(placed_at), max(placed_at),"
                       " coalesce(sum(item_count), 0)"
                       " FROM orders WHERE member_id = ?1",
    [Q_MERGE_INSERT] = "INSERT INTO merges(into_id, from_id, at, details) VALUES (?1, ?2, ?3, ?4)",
    [Q_MERGE_LIST] = "SELECT from_id, at, details FROM merges WHERE into_id = ?1 ORDER BY id",
    [Q_REACH_UPSERT] = "INSERT INTO member_reach(member_id, channel, reachable, at)"
                       " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(member_id, channel) DO UPDATE SET"
                       " reachable = excluded.reachable, at = excluded.at"
                       " WHERE excluded.at >= member_reach.at",
    [Q_REACH_LIST] = "SELECT channel, reachable, at FROM member_reach WHERE member_id = ?1"
                     " ORDER BY channel",
    [Q_REACH_MOVE] = "INSERT INTO member_reach(member_id, channel, reachable, at)"
                     " SELECT ?1, channel, reachable, at FROM member_reach WHERE member_id = ?2"
                     " ON CONFLICT(member_id, channel) DO UPDATE SET"
                     " reachable = excluded.reachable, at = excluded.at"
                     " WHERE excluded.at > member_reach.at",
    [Q_REACH_DELETE] = "DELETE FROM member_reach WHERE member_id = ?1",
    [Q_ORDER_BY_KEY] = "SELECT id, digest FROM orders WHERE channel = ?1 AND external_id = ?2",
    [Q_ORDER_INSERT] = "INSERT INTO orders(channel, external_id, store_id, member_id, guide_id,"
                       " placed_at, total_cents, discount_cents, points_used, coupon_code, digest,"
                       " item_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [Q_ORDER_ITEM_INSERT] = "INSERT INTO order_items(order_id, line, sku, category, name, qty,"
                            " unit_price_cents) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_ORDER_GET] = "SELECT " ORDER_COLS " FROM orders WHERE id = ?1",
    [Q_ORDER_ITEMS] = "SELECT line, sku, category, name, qty, unit_price_cents, refunded_qty"
                      " FROM order_items WHERE order_id = ?1 ORDER BY line",
    [Q_ORDER_ITEM_REFUND] = "UPDATE order_items SET refunded_qty = refunded_qty + ?1"
                            " WHERE order_id = ?2 AND line = ?3 AND refunded_qty + ?1 <= qty",
    [Q_ORDER_ADD_REFUNDED] = "UPDATE orders SET refunded_cents = refunded_cents + ?1"
                             " WHERE id = ?2 AND refunded_cents + ?1 <= total_cents",
    [Q_ORDER_LIST] = "SELECT " ORDER_COLS " FROM orders WHERE id > ?1"
                     " AND (?3 IS NULL OR member_id = ?3) AND (?4 IS NULL OR store_id = ?4)"
                     " AND (?5 IS NULL OR guide_id = ?5 OR member_id IN"
                     "      (SELECT id FROM members WHERE guide_id = ?5))"
                     " ORDER BY id LIMIT ?2",
    [Q_ORDERS_MOVE] = "UPDATE orders SET member_id = ?1 WHERE member_id = ?2",
    [Q_REFUND_BY_KEY] = "SELECT id, order_id, digest FROM refunds WHERE external_id = ?1",
    [Q_REFUND_INSERT] = "INSERT INTO refunds(order_id, external_id, amount_cents, refunded_at,"
                        " items, digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_REFUND_GET] = "SELECT id, order_id, external_id, amount_cents, refunded_at, items"
                     " FROM refunds WHERE id = ?1",
    [Q_REFUND_LIST] = "SELECT id, order_id, external_id, amount_cents, refunded_at, items"
                      " FROM refunds WHERE order_id = ?1 ORDER BY id",
    [Q_EVENT_INSERT] = "INSERT INTO events(member_id, type, at, props, digest)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_EVENT_BY_DIGEST] = "SELECT id FROM events WHERE digest = ?1",
    [Q_EVENTS_MOVE] = "UPDATE events SET member_id = ?1 WHERE member_id = ?2",
    [Q_EVENT_LIST] = "SELECT id, type, at, props FROM events WHERE member_id = ?1"
                     " ORDER BY at DESC, id DESC LIMIT ?2",
    [Q_IDEM_GET] = "SELECT digest, status, body FROM idempotency WHERE key = ?1 AND route = ?2",
    [Q_IDEM_PUT] = "INSERT INTO idempotency(key, route, digest, status, body, created_at)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_SCAN_MEMBER_ORDERS] = "SELECT member_id, placed_at, total_cents, refunded_cents, item_count,"
                             " store_id, channel, guide_id, id FROM orders"
                             " WHERE member_id IS NOT NULL ORDER BY member_id, placed_at",
    [Q_SCAN_MEMBERS] = "SELECT id, gender, birthday, city, store_id, guide_id, join_channel, joined_at"
                       " FROM members WHERE merged_into IS NULL ORDER BY id",
    [Q_SCAN_MEMBER_CATEGORIES] =
        "SELECT o.member_id, coalesce(i.category, ''),"
        " sum((i.qty - i.refunded_qty) * i.unit_price_cents) FROM orders o"
        " JOIN order_items i ON i.order_id = o.id WHERE o.member_id IS NOT NULL"
        " GROUP BY o.member_id, i.category ORDER BY o.member_id",
    [Q_SCAN_REACH] = "SELECT member_id, channel, reachable FROM member_reach ORDER BY member_id",
    [Q_SCAN_ORDERS] = "SELECT id, member_id, store_id, channel, guide_id, placed_at, total_cents,"
                      " discount_cents, refunded_cents, item_count FROM orders ORDER BY id",
    [Q_SCAN_ITEMS] = "SELECT order_id, line, sku, category, qty, unit_price_cents, refunded_qty"
                     " FROM order_items ORDER BY order_id, line",
    [Q_SCAN_REFUNDS] = "SELECT order_id, amount_cents, refunded_at FROM refunds ORDER BY id",
    [Q_SCAN_EVENTS_OF_TYPE] = "SELECT member_id, at, props FROM events WHERE type = ?1 ORDER BY id",
    [Q_MODEL_RUN_INSERT] = "INSERT INTO model_runs(at, cal_end_day, unit_days, customers, report)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_MODEL_RUN_LATEST] = "SELECT id, at, cal_end_day, unit_days, customers, report FROM model_runs"
                           " ORDER BY id DESC LIMIT 1",
    [Q_PREDICTIONS_CLEAR] = "DELETE FROM member_predictions",
    [Q_PREDICTION_PUT] = "INSERT INTO member_predictions(member_id, run_id, x, p_alive,"
                         " expected_purchases_90d, expected_value_cents, clv_12m_cents)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_PREDICTION_GET] = "SELECT run_id, x, p_alive, expected_purchases_90d, expected_value_cents,"
                         " clv_12m_cents FROM member_predictions WHERE member_id = ?1",
    [Q_SCAN_PREDICTIONS] = "SELECT member_id, x, p_alive, expected_purchases_90d, clv_12m_cents"
                           " FROM member_predictions ORDER BY member_id",
    [Q_TAG_INSERT] = "INSERT INTO tags(name, kind, expr, created_at) VALUES (?1, ?2, ?3, ?4)",
    [Q_TAG_GET] = "SELECT id, name, kind, expr, created_at FROM tags WHERE id = ?1",
    [Q_TAG_BY_NAME] = "SELECT id FROM tags WHERE name = ?1",
    [Q_TAG_LIST] = "SELECT id, name, kind, expr, created_at FROM tags ORDER BY id",
    [Q_TAG_DELETE] = "DELETE FROM tags WHERE id = ?1",
    [Q_TAG_MEMBERS_CLEAR] = "DELETE FROM tag_members WHERE tag_id = ?1",
    [Q_TAG_MEMBER_ADD] = "INSERT OR IGNORE INTO tag_members(tag_id, member_id) VALUES (?1, ?2)",
    [Q_TAG_MEMBER_REMOVE] = "DELETE FROM tag_members WHERE tag_id = ?1 AND member_id = ?2",
    [Q_TAG_MEMBERS_MOVE] = "INSERT OR IGNORE INTO tag_members(tag_id, member_id)"
                           " SELECT tag_id, ?1 FROM tag_members WHERE member_id = ?2",
    [Q_SCAN_TAG_MEMBERS] = "SELECT tag_id, member_id FROM tag_members ORDER BY tag_id, member_id",
    [Q_MEMBER_TAG_NAMES] = "SELECT t.name, t.kind FROM tag_members m JOIN tags t ON t.id = m.tag_id"
                           " WHERE m.member_id = ?1 ORDER BY t.id",
    [Q_SEGMENT_INSERT] = "INSERT INTO segments(name, expr, created_at, updated_at)"
                         " VALUES (?1, ?2, ?3, ?3)",
    [Q_SEGMENT_GET] = "SELECT id, name, expr, created_at, updated_at FROM segments WHERE id = ?1",
    [Q_SEGMENT_BY_NAME] = "SELECT id FROM segments WHERE name = ?1",
    [Q_SEGMENT_LIST] = "SELECT id, name, expr, created_at, updated_at FROM segments WHERE id > ?1"
                       " ORDER BY id LIMIT ?2",
    [Q_SEGMENT_UPDATE] = "UPDATE segments SET name = ?1, expr = ?2, updated_at = ?3 WHERE id = ?4",
    [Q_SEGMENT_DELETE] = "DELETE FROM segments WHERE id = ?1",
    [Q_SETTING_GET] = "SELECT value FROM settings WHERE key = ?1",
    [Q_SETTING_PUT] = "INSERT INTO settings(key, value) VALUES (?1, ?2)"
                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [Q_COUNT_MEMBERS] = "SELECT count(*) FROM members WHERE merged_into IS NULL",
    [Q_COUNT_ORDERS] = "SELECT count(*) FROM orders",
};
