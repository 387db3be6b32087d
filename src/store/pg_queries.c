/* pg_queries.c — the PostgreSQL text of every named query in queries.h.
 *
 * Mostly the SQLite text (sqlite_queries.c); where the dialects differ: INSERT OR IGNORE is
 * ON CONFLICT DO NOTHING, the scalar max/min are GREATEST/LEAST, a parameter whose type
 * nothing around it tells is cast, sums of booleans are counted with FILTER, and an INSERT
 * into a table with an id ends in RETURNING id (the driver's store_last_id). */
#include "store/pg_internal.h"

#define MEMBER_COLS                                                                                \
    "id, name, gender, birthday, city, store_id, guide_id, join_channel, joined_at,"               \
    " merged_into, created_at, updated_at"
#define ORDER_COLS                                                                                 \
    "id, channel, external_id, store_id, member_id, guide_id, placed_at, total_cents,"             \
    " discount_cents, points_used, coupon_code, refunded_cents"

#define COUPON_COLS                                                                                \
    "id, code, template_id, member_id, first_member_id, state, issued_at, valid_from, expires_at," \
    " order_id, redeemed_at"

#define JOURNEY_COLS "id, name, spec, state, version, last_day, created_at, updated_at"
#define MESSAGE_COLS                                                                               \
    "id, journey_id, run_id, member_id, channel, body, status, attempts, next_attempt_at,"         \
    " created_at, sent_at, delivered_at, error, address, template"
#define TASK_COLS                                                                                  \
    "id, guide_id, member_id, journey_id, run_id, kind, script, channel, due_at, state,"           \
    " created_at, done_at, campaign_id, store_id, outcome, note, round, reminded_at,"              \
    " (SELECT c.script FROM task_campaigns c WHERE c.id = guide_tasks.campaign_id),"               \
    " (SELECT c.content_ids FROM task_campaigns c WHERE c.id = guide_tasks.campaign_id),"          \
    " (SELECT c.name FROM task_campaigns c WHERE c.id = guide_tasks.campaign_id), group_id"

const char *const pg_queries[Q__COUNT] = {
    [Q_BRAND_INSERT] = "INSERT INTO brands(name, created_at) VALUES (?1, ?2)"
                       " RETURNING id",
    [Q_BRAND_GET] = "SELECT id, name, created_at FROM brands WHERE id = ?1",
    [Q_BRAND_LIST] = "SELECT id, name, created_at FROM brands WHERE id > ?1 ORDER BY id LIMIT ?2",
    [Q_STORE_INSERT] = "INSERT INTO stores(name, code, kind, brand_id, region, city, created_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                       " RETURNING id",
    [Q_STORE_GET] = "SELECT id, name, code, kind, brand_id, region, city, created_at FROM stores"
                    " WHERE id = ?1",
    [Q_STORE_BY_CODE] = "SELECT id FROM stores WHERE code = ?1",
    [Q_STORE_LIST] = "SELECT id, name, code, kind, brand_id, region, city, created_at FROM stores"
                     " WHERE id > ?1 ORDER BY id LIMIT ?2",
    [Q_STAFF_INSERT] = "INSERT INTO staff(name, role, store_id, code, created_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)"
                       " RETURNING id",
    [Q_STAFF_GET] = "SELECT id, name, role, store_id, code, created_at, status, departed_at,"
                    " wecom_userid FROM staff WHERE id = ?1",
    [Q_STAFF_BY_CODE] = "SELECT id FROM staff WHERE code = ?1",
    [Q_BRAND_BY_NAME] = "SELECT id FROM brands WHERE name = ?1",
    [Q_STAFF_LIST] = "SELECT id, name, role, store_id, code, created_at, status, departed_at,"
                     " wecom_userid FROM staff WHERE id > ?1"
                     " AND (?3::bigint IS NULL OR store_id = ?3) ORDER BY id LIMIT ?2",
    [Q_TOKEN_INSERT] = "INSERT INTO tokens(hash, role, staff_id, name, created_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)"
                       " RETURNING id",
    [Q_TOKEN_BY_HASH] = "SELECT t.id, t.hash, t.role, t.staff_id, s.store_id FROM tokens t"
                        " LEFT JOIN staff s ON s.id = t.staff_id WHERE t.hash = ?1",
    [Q_MEMBER_INSERT] = "INSERT INTO members(name, gender, birthday, city, store_id, guide_id,"
                        " join_channel, joined_at, created_at, updated_at)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"
                        " RETURNING id",
    [Q_MEMBER_GET] = "SELECT " MEMBER_COLS " FROM members WHERE id = ?1",
    [Q_MEMBER_UPDATE] = "UPDATE members SET name = ?1, gender = ?2, birthday = ?3, city = ?4,"
                        " store_id = ?5, guide_id = ?6, updated_at = ?7 WHERE id = ?8",
    [Q_MEMBER_SET_MERGED] = "UPDATE members SET merged_into = ?1, updated_at = ?2 WHERE id = ?3",
    [Q_MEMBER_LIST] =
        "SELECT " MEMBER_COLS " FROM members WHERE id > ?1 AND merged_into IS NULL"
        " AND (?3::bigint IS NULL OR store_id = ?3) AND (?4::bigint IS NULL OR guide_id = ?4)"
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
    [Q_MERGE_INSERT] = "INSERT INTO merges(into_id, from_id, at, details) VALUES (?1, ?2, ?3, ?4)"
                       " RETURNING id",
    [Q_MERGE_LIST] = "SELECT from_id, at, details FROM merges WHERE into_id = ?1 ORDER BY id",
    [Q_REACH_UPSERT] = "INSERT INTO member_reach(member_id, channel, reachable, at)"
                       " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(member_id, channel) DO UPDATE SET"
                       " reachable = excluded.reachable, at = excluded.at"
                       " WHERE excluded.at >= member_reach.at",
    [Q_REACH_LIST] = "SELECT channel, reachable, at FROM member_reach_now WHERE member_id = ?1"
                     " ORDER BY channel",
    [Q_REACH_MOVE] =
        "INSERT INTO member_reach(member_id, channel, reachable, at)"
        " SELECT ?1::bigint, channel, reachable, at FROM member_reach WHERE member_id = ?2"
        " ON CONFLICT(member_id, channel) DO UPDATE SET"
        " reachable = excluded.reachable, at = excluded.at"
        " WHERE excluded.at > member_reach.at",
    [Q_REACH_DELETE] = "DELETE FROM member_reach WHERE member_id = ?1",
    /* orders are partitioned by month: their key lives in order_keys (see pg_schema.c 26) */
    [Q_ORDER_BY_KEY] = "SELECT o.id, o.digest FROM order_keys k JOIN orders o"
                       " ON o.id = k.order_id AND o.placed_at = k.placed_at"
                       " WHERE k.channel = ?1 AND k.external_id = ?2",
    [Q_ORDER_KEYS_TAKEN] = "SELECT (k.i - 1)::bigint AS i"
                           " FROM jsonb_array_elements(?1::jsonb) WITH ORDINALITY k(v, i)"
                           " JOIN order_keys o ON o.channel = k.v->>0 AND o.external_id = k.v->>1",
    [Q_ORDER_INSERT] = "INSERT INTO orders(channel, external_id, store_id, member_id, guide_id,"
                       " placed_at, total_cents, discount_cents, points_used, coupon_code, digest,"
                       " item_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
                       " RETURNING id",
    [Q_ORDER_ITEM_INSERT] = "INSERT INTO order_items(order_id, line, sku, category, name, qty,"
                            " unit_price_cents) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_ORDER_GET] = "SELECT " ORDER_COLS " FROM orders WHERE id = ?1",
    [Q_ORDER_ITEMS] = "SELECT line, sku, category, name, qty, unit_price_cents, refunded_qty"
                      " FROM order_items WHERE order_id = ?1 ORDER BY line",
    [Q_ORDER_ITEM_REFUND] = "UPDATE order_items SET refunded_qty = refunded_qty + ?1"
                            " WHERE order_id = ?2 AND line = ?3 AND refunded_qty + ?1 <= qty",
    [Q_ORDER_ADD_REFUNDED] = "UPDATE orders SET refunded_cents = refunded_cents + ?1"
                             " WHERE id = ?2 AND refunded_cents + ?1 <= total_cents",
    [Q_ORDER_LIST] =
        "SELECT " ORDER_COLS " FROM orders WHERE id > ?1"
        " AND (?3::bigint IS NULL OR member_id = ?3) AND (?4::bigint IS NULL OR store_id = ?4)"
        " AND (?5::bigint IS NULL OR guide_id = ?5 OR member_id IN"
        "      (SELECT id FROM members WHERE guide_id = ?5))"
        " ORDER BY id LIMIT ?2",
    [Q_ORDERS_MOVE] = "UPDATE orders SET member_id = ?1 WHERE member_id = ?2",
    [Q_REFUND_BY_KEY] = "SELECT id, order_id, digest FROM refunds WHERE external_id = ?1",
    [Q_REFUND_INSERT] = "INSERT INTO refunds(order_id, external_id, amount_cents, refunded_at,"
                        " items, digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                        " RETURNING id",
    [Q_REFUND_GET] = "SELECT id, order_id, external_id, amount_cents, refunded_at, items"
                     " FROM refunds WHERE id = ?1",
    [Q_REFUND_LIST] = "SELECT id, order_id, external_id, amount_cents, refunded_at, items"
                      " FROM refunds WHERE order_id = ?1 ORDER BY id",
    [Q_EVENT_INSERT] = "INSERT INTO events(member_id, type, at, props, digest)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)"
                       " RETURNING id",
    [Q_EVENT_BY_DIGEST] = "SELECT event_id AS id FROM event_keys WHERE digest = ?1",
    [Q_EVENTS_MOVE] = "UPDATE events SET member_id = ?1 WHERE member_id = ?2",
    [Q_EVENT_LIST] = "SELECT id, type, at, props FROM events WHERE member_id = ?1"
                     " ORDER BY at DESC, id DESC LIMIT ?2",
    [Q_IDEM_GET] = "SELECT digest, status, body FROM idempotency WHERE key = ?1 AND route = ?2",
    [Q_IDEM_PUT] = "INSERT INTO idempotency(key, route, digest, status, body, created_at)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_SCAN_MEMBER_ORDERS] = "SELECT member_id, placed_at, total_cents, refunded_cents, item_count,"
                             " store_id, channel, guide_id, id FROM orders"
                             " WHERE member_id IS NOT NULL ORDER BY member_id, placed_at",
    [Q_SCAN_MEMBERS] =
        "SELECT id, gender, birthday, city, store_id, guide_id, join_channel, joined_at,"
        " qr_code_id, campaign FROM members WHERE merged_into IS NULL ORDER BY id",
    [Q_SCAN_MEMBER_CATEGORIES] =
        "SELECT o.member_id, coalesce(i.category, ''),"
        " sum((i.qty - i.refunded_qty) * i.unit_price_cents) FROM orders o"
        " JOIN order_items i ON i.order_id = o.id WHERE o.member_id IS NOT NULL"
        " GROUP BY o.member_id, i.category ORDER BY o.member_id",
    [Q_SCAN_REACH] =
        "SELECT member_id, channel, reachable FROM member_reach_now ORDER BY member_id",
    [Q_SCAN_ORDERS] = "SELECT id, member_id, store_id, channel, guide_id, placed_at, total_cents,"
                      " discount_cents, refunded_cents, item_count FROM orders ORDER BY id",
    [Q_SCAN_ITEMS] = "SELECT order_id, line, sku, category, qty, unit_price_cents, refunded_qty"
                     " FROM order_items ORDER BY order_id, line",
    [Q_SCAN_REFUNDS] = "SELECT order_id, amount_cents, refunded_at FROM refunds ORDER BY id",
    [Q_SCAN_EVENTS_OF_TYPE] = "SELECT member_id, at, props FROM events WHERE type = ?1 ORDER BY id",
    [Q_MODEL_RUN_INSERT] = "INSERT INTO model_runs(at, cal_end_day, unit_days, customers, report)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)"
                           " RETURNING id",
    [Q_MODEL_RUN_LATEST] =
        "SELECT id, at, cal_end_day, unit_days, customers, report FROM model_runs"
        " ORDER BY id DESC LIMIT 1",
    [Q_PREDICTIONS_CLEAR] = "DELETE FROM member_predictions",
    [Q_PREDICTION_PUT] = "INSERT INTO member_predictions(member_id, run_id, x, p_alive,"
                         " expected_purchases_90d, expected_value_cents, clv_12m_cents)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_PREDICTION_GET] = "SELECT run_id, x, p_alive, expected_purchases_90d, expected_value_cents,"
                         " clv_12m_cents FROM member_predictions WHERE member_id = ?1",
    [Q_SCAN_PREDICTIONS] = "SELECT member_id, x, p_alive, expected_purchases_90d, clv_12m_cents"
                           " FROM member_predictions ORDER BY member_id",
    [Q_TAG_INSERT] = "INSERT INTO tags(name, kind, expr, created_at) VALUES (?1, ?2, ?3, ?4)"
                     " RETURNING id",
    [Q_TAG_GET] = "SELECT id, name, kind, expr, created_at FROM tags WHERE id = ?1",
    [Q_TAG_BY_NAME] = "SELECT id FROM tags WHERE name = ?1",
    [Q_TAG_LIST] = "SELECT id, name, kind, expr, created_at FROM tags ORDER BY id",
    [Q_TAG_DELETE] = "DELETE FROM tags WHERE id = ?1",
    [Q_TAG_MEMBERS_CLEAR] = "DELETE FROM tag_members WHERE tag_id = ?1",
    [Q_TAG_MEMBER_ADD] = "INSERT INTO tag_members(tag_id, member_id) VALUES (?1, ?2)"
                         " ON CONFLICT DO NOTHING",
    [Q_TAG_MEMBER_REMOVE] = "DELETE FROM tag_members WHERE tag_id = ?1 AND member_id = ?2",
    [Q_TAG_MEMBERS_MOVE] = "INSERT INTO tag_members(tag_id, member_id)"
                           " SELECT tag_id, ?1 FROM tag_members WHERE member_id = ?2"
                           " ON CONFLICT DO NOTHING",
    [Q_SCAN_TAG_MEMBERS] = "SELECT tag_id, member_id FROM tag_members ORDER BY tag_id, member_id",
    [Q_MEMBER_TAG_NAMES] = "SELECT t.name, t.kind FROM tag_members m JOIN tags t ON t.id = m.tag_id"
                           " WHERE m.member_id = ?1 ORDER BY t.id",
    [Q_SEGMENT_INSERT] = "INSERT INTO segments(name, expr, created_at, updated_at)"
                         " VALUES (?1, ?2, ?3, ?3)"
                         " RETURNING id",
    [Q_SEGMENT_GET] = "SELECT id, name, expr, created_at, updated_at FROM segments WHERE id = ?1",
    [Q_SEGMENT_BY_NAME] = "SELECT id FROM segments WHERE name = ?1",
    [Q_SEGMENT_LIST] = "SELECT id, name, expr, created_at, updated_at FROM segments WHERE id > ?1"
                       " ORDER BY id LIMIT ?2",
    [Q_SEGMENT_UPDATE] = "UPDATE segments SET name = ?1, expr = ?2, updated_at = ?3 WHERE id = ?4",
    [Q_SEGMENT_DELETE] = "DELETE FROM segments WHERE id = ?1",
    [Q_SETTING_GET] = "SELECT value FROM settings WHERE key = ?1",
    [Q_SETTING_PUT] = "INSERT INTO settings(key, value) VALUES (?1, ?2)"
                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [Q_EARN_RULE_INSERT] = "INSERT INTO earn_rules(name, spec, created_at) VALUES (?1, ?2, ?3)"
                           " RETURNING id",
    [Q_EARN_RULE_LIST] = "SELECT id, name, spec, active, created_at FROM earn_rules ORDER BY id",
    [Q_EARN_RULE_DEACTIVATE] = "UPDATE earn_rules SET active = 0 WHERE id = ?1",
    [Q_LACCOUNT_ENSURE] = "INSERT INTO loyalty_accounts(member_id, updated_at) VALUES (?1, ?2)"
                          " ON CONFLICT DO NOTHING",
    [Q_LACCOUNT_GET] =
        "SELECT points, tier, tier_since, review_at, grace_until, referrer_id,"
        " referred_at, referral_order_id, earn_day, earn_day_points, qualify_key,"
        " qualify_from, qualify_bound, next_expiry FROM loyalty_accounts WHERE member_id = ?1",
    /* Two forms each: one moving next_expiry (indexed, so only when it changes) and one
     * leaving it. LEAST ignores a NULL. */
    [Q_LACCOUNT_ADD_POINTS] =
        "INSERT INTO loyalty_accounts(member_id, points, updated_at,"
        " next_expiry) VALUES (?3, GREATEST(?1::bigint, 0), ?2, ?4)"
        " ON CONFLICT(member_id) DO UPDATE SET points = loyalty_accounts.points + ?1,"
        " updated_at = ?2",
    [Q_LACCOUNT_ADD_LOT] =
        "INSERT INTO loyalty_accounts(member_id, points, updated_at,"
        " next_expiry) VALUES (?3, GREATEST(?1::bigint, 0), ?2, ?4)"
        " ON CONFLICT(member_id) DO UPDATE SET points = loyalty_accounts.points + ?1,"
        " updated_at = ?2, next_expiry = LEAST(loyalty_accounts.next_expiry, ?4)",
    /* the hottest account write: a plain UPDATE (the order path makes sure the row
     * exists first), cheaper than an upsert */
    [Q_LACCOUNT_ADD_EARN] = "UPDATE loyalty_accounts SET points = points + ?1, updated_at = ?2,"
                            " earn_day = ?5, earn_day_points = ?6, qualify_key = ?7,"
                            " qualify_from = ?8, qualify_bound = ?9 WHERE member_id = ?3",
    [Q_LACCOUNT_ADD_EARN_LOT] = "UPDATE loyalty_accounts SET points = points + ?1, updated_at = ?2,"
                                " next_expiry = LEAST(next_expiry, ?4),"
                                " earn_day = ?5, earn_day_points = ?6, qualify_key = ?7,"
                                " qualify_from = ?8, qualify_bound = ?9 WHERE member_id = ?3",
    /* walks the member's lots in expiry order and stops at the first with points left */
    [Q_LACCOUNT_RESET_NEXT_EXPIRY] = "UPDATE loyalty_accounts SET next_expiry = (SELECT"
                                     " expires_at FROM points_ledger WHERE member_id = ?1"
                                     " AND expires_at IS NOT NULL AND remaining > 0"
                                     " ORDER BY expires_at LIMIT 1) WHERE member_id = ?1",
    [Q_CHECK_NEXT_EXPIRY] = "SELECT member_id, next_expiry, m FROM (SELECT a.member_id,"
                            " a.next_expiry, (SELECT min(expires_at) FROM points_ledger l"
                            " WHERE l.member_id = a.member_id AND l.remaining > 0) AS m"
                            " FROM loyalty_accounts a) AS x WHERE m IS NOT NULL"
                            " AND (next_expiry IS NULL OR next_expiry > m) LIMIT ?1",
    [Q_LACCOUNT_SET_MARKS] = "INSERT INTO loyalty_accounts(member_id, updated_at, earn_day,"
                             " earn_day_points, qualify_key, qualify_from, qualify_bound)"
                             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(member_id)"
                             " DO UPDATE SET updated_at = ?2, earn_day = ?3, earn_day_points = ?4,"
                             " qualify_key = ?5, qualify_from = ?6, qualify_bound = ?7",
    [Q_LACCOUNT_MARKS_SCAN] =
        "SELECT member_id, earn_day, earn_day_points, qualify_key, qualify_from,"
        " qualify_bound FROM loyalty_accounts WHERE earn_day IS NOT NULL"
        " OR qualify_key IS NOT NULL ORDER BY member_id",
    [Q_LACCOUNT_SET_TIER] =
        "UPDATE loyalty_accounts SET tier = ?1, tier_since = ?2, review_at = ?3,"
        " grace_until = ?4, updated_at = ?5 WHERE member_id = ?6",
    [Q_LACCOUNT_SET_REFERRER] = "UPDATE loyalty_accounts SET referrer_id = ?1, referred_at = ?2,"
                                " updated_at = ?3 WHERE member_id = ?4",
    [Q_LACCOUNT_SET_REFERRAL_ORDER] = "UPDATE loyalty_accounts SET referral_order_id = ?1"
                                      " WHERE member_id = ?2",
    [Q_LACCOUNT_DELETE] = "DELETE FROM loyalty_accounts WHERE member_id = ?1",
    [Q_LACCOUNT_DUE_REVIEW] = "SELECT member_id FROM loyalty_accounts WHERE review_at <= ?1"
                              " OR grace_until <= ?1 ORDER BY member_id LIMIT ?2",
    [Q_LACCOUNT_SCAN] =
        "SELECT member_id, points, tier, review_at, grace_until FROM loyalty_accounts"
        " ORDER BY member_id",
    [Q_TIER_HISTORY_INSERT] = "INSERT INTO tier_history(member_id, at, from_tier, to_tier, reason,"
                              " order_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                              " RETURNING id",
    [Q_TIER_HISTORY_LIST] = "SELECT at, from_tier, to_tier, reason, order_id FROM tier_history"
                            " WHERE member_id = ?1 ORDER BY id",
    [Q_TIER_HISTORY_LAST] = "SELECT to_tier FROM tier_history WHERE member_id = ?1"
                            " ORDER BY id DESC LIMIT 1",
    [Q_TIER_HISTORY_MOVE] = "UPDATE tier_history SET member_id = ?1 WHERE member_id = ?2",
    [Q_MEMBER_SPEND_WINDOW] = "SELECT COALESCE(SUM(total_cents - refunded_cents)"
                              " FILTER (WHERE placed_at > ?2 AND placed_at <= ?3), 0),"
                              " max(placed_at), COALESCE(SUM(total_cents - refunded_cents)"
                              " FILTER (WHERE placed_at > ?2), 0) FROM orders WHERE member_id = ?1",
    [Q_MEMBER_EARNED_WINDOW] = "SELECT COALESCE(SUM(delta - reversed) FILTER (WHERE at <= ?3), 0),"
                               " NULL, COALESCE(SUM(delta - reversed), 0) FROM points_ledger"
                               " WHERE member_id = ?1 AND kind = 'earn' AND at > ?2",
    [Q_MEMBER_ORDER_COUNT] = "SELECT count(*) FROM orders WHERE member_id = ?1",
    [Q_MEMBER_LAST_ORDER_AT] = "SELECT max(placed_at) FROM orders WHERE member_id = ?1",
    [Q_SCAN_SPEND_WINDOW] = "SELECT member_id, SUM(total_cents - refunded_cents) FROM orders"
                            " WHERE member_id IS NOT NULL AND placed_at > ?1 AND placed_at <= ?2"
                            " GROUP BY member_id",
    [Q_SCAN_EARNED_WINDOW] = "SELECT member_id, SUM(delta - reversed) FROM points_ledger"
                             " WHERE kind = 'earn' AND at > ?1 AND at <= ?2 GROUP BY member_id",
    [Q_LEDGER_INSERT] =
        "INSERT INTO points_ledger(member_id, at, kind, delta, order_id, ref, reason,"
        " staff_id, available_at, expires_at, remaining, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        " RETURNING id",
    [Q_LEDGER_GET] = "SELECT id, at, kind, delta, order_id, reason, available_at, expires_at,"
                     " remaining FROM points_ledger WHERE id = ?1",
    [Q_LEDGER_BY_REF] = "SELECT id, delta FROM points_ledger WHERE ref = ?1",
    [Q_LEDGER_LIST] = "SELECT id, at, kind, delta, order_id, reason, available_at, expires_at,"
                      " remaining FROM points_ledger WHERE member_id = ?1 AND id < ?2"
                      " ORDER BY id DESC LIMIT ?3",
    /* "kind != 'earn'" lets the partial index points_order serve the lookup */
    [Q_LEDGER_OF_ORDER] = "SELECT id, member_id, delta, remaining, reversed FROM points_ledger"
                          " WHERE order_id = ?1 AND kind = ?2 AND kind != 'earn' ORDER BY id",
    [Q_LEDGER_EARN_OF_ORDER] = "SELECT id, member_id, delta, remaining, reversed FROM points_ledger"
                               " WHERE member_id = ?2 AND order_id = ?1 AND kind = 'earn'"
                               " ORDER BY id",
    [Q_MEMBER_LAST_EARN_AT] = "SELECT max(at) FROM points_ledger WHERE member_id = ?1"
                              " AND kind = 'earn'",
    [Q_LEDGER_SUM_REF_PREFIX] = "SELECT COALESCE(SUM(delta), 0) FROM points_ledger"
                                " WHERE starts_with(ref, ?1)",
    [Q_LOTS_SPENDABLE] = "SELECT id, remaining FROM points_ledger WHERE member_id = ?1"
                         " AND remaining > 0 AND expires_at > ?2 AND available_at <= ?2"
                         " ORDER BY expires_at, id",
    [Q_LOTS_UNEXPIRED] = "SELECT id, remaining FROM points_ledger WHERE member_id = ?1"
                         " AND remaining > 0 AND expires_at > ?2 ORDER BY expires_at, id",
    [Q_LOT_TAKE] = "UPDATE points_ledger SET remaining = remaining - ?1 WHERE id = ?2"
                   " AND remaining >= ?1",
    [Q_LOT_ADD_REVERSED] = "UPDATE points_ledger SET reversed = reversed + ?1 WHERE id = ?2",
    [Q_LOTS_DUE_EXPIRY] = "SELECT id, remaining, expires_at FROM points_ledger WHERE member_id = ?1"
                          " AND remaining > 0 AND expires_at <= ?2 ORDER BY expires_at, id",
    [Q_EXPIRY_DUE_MEMBERS] = "SELECT member_id FROM loyalty_accounts WHERE next_expiry <= ?1"
                             " LIMIT ?2",
    [Q_POINTS_SUMMARY] = "SELECT COALESCE(SUM(remaining) FILTER (WHERE available_at <= ?2), 0),"
                         " COALESCE(SUM(remaining) FILTER (WHERE available_at > ?2), 0)"
                         " FROM points_ledger WHERE member_id = ?1 AND remaining > 0"
                         " AND expires_at > ?2",
    [Q_POINTS_NEXT_CHANGE] =
        "SELECT MIN(available_at) FILTER (WHERE available_at > ?2), MIN(expires_at)"
        " FROM points_ledger WHERE member_id = ?1 AND remaining > 0 AND expires_at > ?2",
    [Q_POINTS_EXPIRING] =
        "SELECT expires_at, SUM(remaining) FROM points_ledger WHERE member_id = ?1"
        " AND remaining > 0 AND expires_at > ?2 GROUP BY expires_at"
        " ORDER BY expires_at LIMIT 12",
    [Q_POINTS_EARNED_BETWEEN] = "SELECT COALESCE(SUM(delta), 0) FROM points_ledger"
                                " WHERE member_id = ?1 AND kind = 'earn' AND at >= ?2 AND at < ?3",
    [Q_LEDGER_MOVE] = "UPDATE points_ledger SET member_id = ?1 WHERE member_id = ?2",
    [Q_CTEMPLATE_INSERT] = "INSERT INTO coupon_templates(name, spec, stock, created_at)"
                           " VALUES (?1, ?2, ?3, ?4)"
                           " RETURNING id",
    [Q_CTEMPLATE_GET] = "SELECT id, name, spec, stock, issued, created_at FROM coupon_templates"
                        " WHERE id = ?1",
    [Q_CTEMPLATE_LIST] = "SELECT id, name, spec, stock, issued, created_at FROM coupon_templates"
                         " WHERE id > ?1 ORDER BY id LIMIT ?2",
    [Q_CTEMPLATE_TAKE] = "UPDATE coupon_templates SET issued = issued + 1 WHERE id = ?1"
                         " AND (stock IS NULL OR issued < stock)",
    [Q_COUPON_INSERT] = "INSERT INTO coupons(code, template_id, member_id, first_member_id, state,"
                        " issued_at, valid_from, expires_at, issue_ref)"
                        " VALUES (?1, ?2, ?3, ?3, 'issued', ?4, ?5, ?6, ?7)"
                        " RETURNING id",
    [Q_COUPON_BY_CODE] = "SELECT " COUPON_COLS " FROM coupons WHERE code = ?1",
    [Q_COUPON_BY_REF] = "SELECT code FROM coupons WHERE issue_ref = ?1",
    [Q_COUPON_BY_ORDER] = "SELECT code FROM coupons WHERE order_id = ?1",
    [Q_COUPONS_OF_MEMBER] = "SELECT " COUPON_COLS " FROM coupons WHERE member_id = ?1"
                            " ORDER BY id DESC LIMIT 200",
    [Q_COUPON_RECEIVED_COUNT] = "SELECT count(*) FROM coupon_events e JOIN coupons c"
                                " ON c.id = e.coupon_id WHERE e.member_id = ?1"
                                " AND c.template_id = ?2 AND e.kind IN ('issued', 'received')",
    [Q_COUPON_SET_MEMBER] = "UPDATE coupons SET member_id = ?1 WHERE id = ?2",
    [Q_COUPON_REDEEM] = "UPDATE coupons SET state = 'redeemed', order_id = ?1, redeemed_at = ?2"
                        " WHERE id = ?3 AND state = 'issued'",
    [Q_COUPON_RESTORE] = "UPDATE coupons SET state = 'issued', order_id = NULL, redeemed_at = NULL"
                         " WHERE id = ?1 AND state = 'redeemed'",
    [Q_COUPON_EXPIRE] = "UPDATE coupons SET state = 'expired' WHERE id = ?1 AND state = 'issued'",
    [Q_COUPONS_DUE_EXPIRY] = "SELECT id, member_id FROM coupons WHERE state = 'issued'"
                             " AND expires_at <= ?1 LIMIT ?2",
    [Q_COUPONS_MOVE] = "UPDATE coupons SET member_id = ?1 WHERE member_id = ?2",
    [Q_COUPON_EVENT_INSERT] = "INSERT INTO coupon_events(coupon_id, at, kind, member_id, order_id,"
                              " details) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                              " RETURNING id",
    [Q_COUPON_EVENTS] = "SELECT at, kind, member_id, order_id, details FROM coupon_events"
                        " WHERE coupon_id = ?1 ORDER BY id",
    [Q_CHECK_BALANCES] =
        "WITH l AS (SELECT member_id, SUM(delta) AS s, SUM(COALESCE(remaining, 0)) AS r"
        " FROM points_ledger GROUP BY member_id)"
        " SELECT a.member_id, a.points, COALESCE(l.s, 0), COALESCE(l.r, 0)"
        " FROM loyalty_accounts a LEFT JOIN l ON l.member_id = a.member_id"
        " WHERE a.points != COALESCE(l.s, 0) OR a.points != COALESCE(l.r, 0)"
        " UNION ALL SELECT l.member_id, NULL, l.s, l.r FROM l"
        " WHERE l.member_id NOT IN (SELECT member_id FROM loyalty_accounts) LIMIT ?1",
    [Q_CHECK_COUPON_STATES] =
        "SELECT c.code, c.state, count(*) FILTER (WHERE e.kind = 'redeemed'),"
        " count(*) FILTER (WHERE e.kind = 'restored')"
        " FROM coupons c JOIN coupon_events e ON e.coupon_id = c.id GROUP BY c.id"
        " HAVING count(*) FILTER (WHERE e.kind = 'redeemed')"
        " - count(*) FILTER (WHERE e.kind = 'restored') NOT IN (0, 1)"
        " OR (count(*) FILTER (WHERE e.kind = 'redeemed')"
        " - count(*) FILTER (WHERE e.kind = 'restored') = 1) != (c.state = 'redeemed')"
        " LIMIT ?1",
    [Q_CHECK_COUPON_ORDERS] =
        "SELECT coupon_code, count(*) FROM orders WHERE coupon_code IS NOT NULL"
        " AND refunded_cents < total_cents GROUP BY coupon_code"
        " HAVING count(*) > 1 LIMIT ?1",
    [Q_CHECK_STOCK] = "SELECT id, stock, issued, n FROM (SELECT t.id, t.stock, t.issued,"
                      " (SELECT count(*) FROM coupons c WHERE c.template_id = t.id) AS n"
                      " FROM coupon_templates t) AS x"
                      " WHERE (stock IS NOT NULL AND issued > stock) OR issued != n LIMIT ?1",
    [Q_CHECK_ORDER_POINTS] =
        "SELECT o.id, o.points_used FROM orders o WHERE o.points_used > 0"
        " AND NOT EXISTS (SELECT 1 FROM points_ledger l WHERE l.order_id = o.id"
        " AND l.kind = 'redeem' AND l.kind != 'earn'"
        " AND l.delta = -o.points_used) LIMIT ?1",
    [Q_JOURNEY_INSERT] = "INSERT INTO journeys(name, spec, state, version, created_at, updated_at)"
                         " VALUES (?1, ?2, ?3, 1, ?4, ?4)"
                         " RETURNING id",
    [Q_JOURNEY_GET] = "SELECT " JOURNEY_COLS " FROM journeys WHERE id = ?1",
    [Q_JOURNEY_LIST] = "SELECT " JOURNEY_COLS " FROM journeys WHERE id > ?1 ORDER BY id LIMIT ?2",
    [Q_JOURNEY_UPDATE_SPEC] = "UPDATE journeys SET name = ?1, spec = ?2, updated_at = ?3,"
                              " version = version + 1 WHERE id = ?4",
    [Q_JOURNEY_SET_STATE] = "UPDATE journeys SET state = ?1, updated_at = ?2 WHERE id = ?3",
    [Q_JOURNEY_SET_LAST_DAY] = "UPDATE journeys SET last_day = ?1 WHERE id = ?2",
    [Q_JOURNEYS_ACTIVE] = "SELECT id FROM journeys WHERE state = 'active' ORDER BY id",
    [Q_RUN_INSERT] = "INSERT INTO journey_runs(journey_id, member_id, state, step, step_index,"
                     " next_at, holdout, entered_at) VALUES (?1, ?2, 'active', ?3, ?4, ?5, ?6, ?7)"
                     " RETURNING id",
    [Q_RUN_ACTIVE_FOR] = "SELECT id FROM journey_runs WHERE journey_id = ?1 AND member_id = ?2"
                         " AND state = 'active'",
    [Q_RUN_LAST_ENTRY] = "SELECT max(entered_at) FROM journey_runs WHERE journey_id = ?1"
                         " AND member_id = ?2",
    [Q_RUN_GET] =
        "SELECT id, journey_id, member_id, state, step, step_index, next_at, wait_event,"
        " holdout, entered_at, goal_at, task_id, channel_try FROM journey_runs WHERE id = ?1",
    [Q_RUNS_DUE] = "SELECT r.id FROM journey_runs r JOIN journeys j ON j.id = r.journey_id"
                   " WHERE r.state = 'active' AND j.state = 'active' AND r.next_at <= ?1"
                   " ORDER BY r.next_at, r.id LIMIT ?2",
    [Q_RUN_UPDATE] = "UPDATE journey_runs SET step = ?1, step_index = ?2, next_at = ?3,"
                     " wait_event = ?4, task_id = ?5, channel_try = ?6 WHERE id = ?7",
    [Q_RUN_END] = "UPDATE journey_runs SET state = ?1, ended_at = ?2, next_at = NULL WHERE id = ?3",
    [Q_RUNS_WAITING] = "SELECT id FROM journey_runs WHERE member_id = ?1 AND state = 'active'"
                       " AND wait_event = ?2",
    [Q_RUNS_GOAL_OPEN] = "SELECT id, journey_id, entered_at FROM journey_runs WHERE member_id = ?1"
                         " AND goal_at IS NULL AND entered_at >= ?2",
    [Q_RUN_SET_GOAL] = "UPDATE journey_runs SET goal_at = ?1 WHERE id = ?2",
    [Q_RUN_STATS] =
        "SELECT holdout, count(*), count(goal_at), count(*) FILTER (WHERE state = 'active')"
        " FROM journey_runs WHERE journey_id = ?1 GROUP BY holdout ORDER BY holdout",
    [Q_RUN_REVENUE] = "SELECT r.holdout, COALESCE(SUM(o.total_cents - o.refunded_cents), 0)"
                      " FROM journey_runs r JOIN orders o ON o.member_id = r.member_id"
                      " AND o.placed_at > r.entered_at AND o.placed_at <= r.entered_at + ?2"
                      " WHERE r.journey_id = ?1 GROUP BY r.holdout",
    [Q_JLOG_INSERT] = "INSERT INTO journey_log(journey_id, run_id, step, at, outcome)"
                      " VALUES (?1, ?2, ?3, ?4, ?5)"
                      " RETURNING id",
    [Q_JLOG_COUNTS] = "SELECT step, outcome, count(*) FROM journey_log WHERE journey_id = ?1"
                      " GROUP BY step, outcome ORDER BY min(id)",
    [Q_JSEG_LIST] = "SELECT member_id FROM journey_segment_members WHERE journey_id = ?1"
                    " ORDER BY member_id",
    [Q_JSEG_ADD] = "INSERT INTO journey_segment_members(journey_id, member_id)"
                   " VALUES (?1, ?2)"
                   " ON CONFLICT DO NOTHING",
    [Q_JSEG_REMOVE] =
        "DELETE FROM journey_segment_members WHERE journey_id = ?1 AND member_id = ?2",
    [Q_JCURSOR_GET] = "SELECT last_id FROM journey_cursors WHERE name = ?1",
    [Q_JCURSOR_PUT] = "INSERT INTO journey_cursors(name, last_id) VALUES (?1, ?2)"
                      " ON CONFLICT(name) DO UPDATE SET last_id = excluded.last_id",
    [Q_JCURSOR_START] = "SELECT (SELECT COALESCE(max(id), 0) FROM members),"
                        " (SELECT COALESCE(max(id), 0) FROM orders),"
                        " (SELECT COALESCE(max(id), 0) FROM refunds),"
                        " (SELECT COALESCE(max(id), 0) FROM tier_history),"
                        " (SELECT COALESCE(max(id), 0) FROM coupon_events),"
                        " (SELECT COALESCE(max(id), 0) FROM events)",
    [Q_SRC_MEMBERS] = "SELECT id, id, joined_at FROM members WHERE id > ?1 AND merged_into IS NULL"
                      " ORDER BY id LIMIT ?2",
    [Q_SRC_ORDERS] = "SELECT id, member_id, placed_at FROM orders WHERE id > ?1"
                     " AND member_id IS NOT NULL ORDER BY id LIMIT ?2",
    [Q_SRC_REFUNDS] = "SELECT r.id, o.member_id, r.refunded_at FROM refunds r JOIN orders o"
                      " ON o.id = r.order_id WHERE r.id > ?1 AND o.member_id IS NOT NULL"
                      " ORDER BY r.id LIMIT ?2",
    [Q_SRC_TIERS] = "SELECT id, member_id, at FROM tier_history WHERE id > ?1 ORDER BY id LIMIT ?2",
    [Q_SRC_COUPONS] = "SELECT id, member_id, at FROM coupon_events WHERE id > ?1"
                      " AND kind IN ('issued', 'received') AND member_id IS NOT NULL"
                      " ORDER BY id LIMIT ?2",
    [Q_SRC_EVENTS] =
        "SELECT id, member_id, at, type FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
    [Q_DRY_SOURCE] =
        "SELECT id FROM members WHERE ?1::bigint = 0 AND joined_at >= ?2 AND merged_into IS NULL"
        " UNION SELECT member_id FROM orders WHERE ?1 = 1 AND placed_at >= ?2"
        " AND member_id IS NOT NULL"
        " UNION SELECT o.member_id FROM refunds r JOIN orders o ON o.id = r.order_id"
        " WHERE ?1 = 2 AND r.refunded_at >= ?2 AND o.member_id IS NOT NULL"
        " UNION SELECT member_id FROM tier_history WHERE ?1 = 3 AND at >= ?2"
        " UNION SELECT member_id FROM coupon_events WHERE ?1 = 4 AND at >= ?2"
        " AND kind IN ('issued', 'received') AND member_id IS NOT NULL"
        " UNION SELECT member_id FROM events WHERE ?1 = 5 AND at >= ?2 AND type = ?3",
    [Q_CHANNEL_PUT] = "INSERT INTO channels(name, config, updated_at) VALUES (?1, ?2, ?3)"
                      " ON CONFLICT(name) DO UPDATE SET config = excluded.config,"
                      " updated_at = excluded.updated_at",
    [Q_CHANNEL_GET] = "SELECT config FROM channels WHERE name = ?1",
    [Q_CHANNEL_LIST] = "SELECT name, config, updated_at FROM channels ORDER BY name",
    [Q_MESSAGE_INSERT] =
        "INSERT INTO messages(journey_id, run_id, member_id, channel, body, status,"
        " next_attempt_at, created_at, address, template)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
    [Q_MESSAGE_GET] = "SELECT " MESSAGE_COLS " FROM messages WHERE id = ?1",
    [Q_MESSAGES_OF_MEMBER] =
        "SELECT " MESSAGE_COLS " FROM messages WHERE member_id = ?1 AND id < ?2"
        " ORDER BY id DESC LIMIT ?3",
    [Q_MESSAGES_BY_STATUS] = "SELECT " MESSAGE_COLS " FROM messages WHERE status = ?1 AND id < ?2"
                             " ORDER BY id DESC LIMIT ?3",
    [Q_MESSAGES_DUE] = "SELECT id, channel, body, attempts, member_id, journey_id, created_at,"
                       " address, template FROM messages"
                       " WHERE status IN ('queued', 'retry') AND next_attempt_at <= ?1"
                       " ORDER BY next_attempt_at, id LIMIT ?2",
    [Q_MESSAGE_SENT] = "UPDATE messages SET status = 'sent', sent_at = ?1, attempts = attempts + 1,"
                       " next_attempt_at = NULL, error = NULL WHERE id = ?2"
                       " AND status IN ('queued', 'retry', 'awaiting_guide')",
    [Q_MESSAGE_RETRY] = "UPDATE messages SET status = 'retry', next_attempt_at = ?1, error = ?2,"
                        " attempts = attempts + 1 WHERE id = ?3 AND status IN ('queued', 'retry')",
    [Q_MESSAGE_DEAD] = "UPDATE messages SET status = 'dead', error = ?1, next_attempt_at = NULL,"
                       " attempts = attempts + 1, sent_at = ?2 WHERE id = ?3"
                       " AND status IN ('queued', 'retry')",
    [Q_MESSAGE_RECEIPT] = "UPDATE messages SET status = ?1, delivered_at = ?2 WHERE id = ?3",
    [Q_MESSAGE_GUIDE_DONE] = "UPDATE messages SET status = ?1, sent_at = ?2 WHERE run_id = ?3"
                             " AND status = 'awaiting_guide'",
    [Q_MESSAGES_HISTORY] = "SELECT created_at, channel FROM messages WHERE member_id = ?1"
                           " AND created_at >= ?2 AND status NOT IN ('dead', 'failed', 'skipped')"
                           " UNION ALL SELECT created_at, 'wecom' FROM guide_tasks"
                           " WHERE member_id = ?1 AND campaign_id IS NOT NULL AND channel = 'wecom'"
                           " AND created_at >= ?2"
                           " AND state IN ('open', 'done') ORDER BY 1 DESC LIMIT 256",
    [Q_MESSAGES_SINCE] = "SELECT count(*) FROM messages WHERE member_id = ?1 AND created_at >= ?2"
                         " AND status NOT IN ('dead', 'failed', 'skipped')",
    [Q_MESSAGES_CHANNEL_SINCE] = "SELECT count(*) FROM messages WHERE member_id = ?1"
                                 " AND channel = ?2 AND created_at >= ?3"
                                 " AND status NOT IN ('dead', 'failed', 'skipped')",
    [Q_JOURNEY_MESSAGE_COUNTS] = "SELECT status, count(*) FROM messages WHERE journey_id = ?1"
                                 " GROUP BY status ORDER BY status",
    [Q_TASK_INSERT] =
        "INSERT INTO guide_tasks(guide_id, member_id, journey_id, run_id, kind, script,"
        " channel, due_at, state, created_at)"
        " VALUES ((SELECT id FROM staff WHERE id = ?1 AND status = 'active'), ?2, ?3, ?4, ?5,"
        " ?6, ?7, ?8, 'open', ?9)"
        " RETURNING id",
    [Q_TASK_GET] = "SELECT " TASK_COLS " FROM guide_tasks WHERE id = ?1",
    [Q_TASK_LIST] =
        "SELECT " TASK_COLS " FROM guide_tasks WHERE (?1::bigint IS NULL OR guide_id = ?1)"
        " AND (?2::text IS NULL OR state = ?2) AND id > ?3 ORDER BY id LIMIT ?4",
    [Q_TASK_SET_STATE] = "UPDATE guide_tasks SET state = ?1, done_at = ?2 WHERE id = ?3"
                         " AND state = 'open'",
    [Q_CONSENT_PUT] = "INSERT INTO member_consents(member_id, purpose, channel, granted, source,"
                      " text_version, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                      " ON CONFLICT(member_id, purpose, channel) DO UPDATE SET"
                      " granted = excluded.granted, source = excluded.source,"
                      " text_version = excluded.text_version, at = excluded.at"
                      " WHERE excluded.at >= member_consents.at",
    [Q_CONSENT_GET] = "SELECT granted FROM member_consents WHERE member_id = ?1 AND purpose = ?2"
                      " AND channel = ?3",
    [Q_CONSENT_LIST] = "SELECT purpose, channel, granted, source, text_version, at"
                       " FROM member_consents WHERE member_id = ?1 ORDER BY purpose, channel",
    [Q_COUNT_MEMBERS] = "SELECT count(*) FROM members WHERE merged_into IS NULL",
    [Q_COUNT_ORDERS] = "SELECT count(*) FROM orders",
    /* scope: tokens with expiry, revocation and last use; idempotency keys per caller */
    [Q_TOKEN_INSERT2] = "INSERT INTO tokens(hash, role, staff_id, name, created_at, store_id,"
                        " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
    [Q_TOKEN_RESOLVE] = "SELECT t.id, t.hash, t.role, t.staff_id, coalesce(t.store_id, s.store_id),"
                        " t.expires_at, t.revoked_at, t.last_used_at, s.role FROM tokens t"
                        " LEFT JOIN staff s ON s.id = t.staff_id WHERE t.hash = ?1",
    [Q_TOKEN_LIST] =
        "SELECT t.id, t.role, t.staff_id, coalesce(t.store_id, s.store_id), t.name,"
        " t.created_at, t.expires_at, t.revoked_at, t.last_used_at FROM tokens t"
        " LEFT JOIN staff s ON s.id = t.staff_id WHERE t.id > ?1 ORDER BY t.id LIMIT ?2",
    [Q_TOKEN_GET] = "SELECT t.id, t.role, t.staff_id, coalesce(t.store_id, s.store_id), t.name,"
                    " t.created_at, t.expires_at, t.revoked_at, t.last_used_at FROM tokens t"
                    " LEFT JOIN staff s ON s.id = t.staff_id WHERE t.id = ?1",
    [Q_TOKEN_REVOKE] = "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
    [Q_TOKEN_TOUCH] = "UPDATE tokens SET last_used_at = ?1 WHERE id = ?2",
    [Q_IDEM_GET2] = "SELECT digest, status, body FROM idempotency_keys WHERE caller = ?1"
                    " AND key = ?2 AND route = ?3",
    [Q_IDEM_PUT2] = "INSERT INTO idempotency_keys(caller, key, route, digest, status, body,"
                    " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_SCOPE_MEMBER] = "SELECT store_id, guide_id FROM members WHERE id = ?1",
    [Q_SCOPE_ORDER] = "SELECT o.store_id, o.guide_id, m.guide_id FROM orders o"
                      " LEFT JOIN members m ON m.id = o.member_id WHERE o.id = ?1",
    [Q_SCOPE_STAFF] = "SELECT store_id, role FROM staff WHERE id = ?1",
    [Q_SCOPE_TASK] = "SELECT t.guide_id, s.store_id FROM guide_tasks t"
                     " LEFT JOIN staff s ON s.id = t.guide_id WHERE t.id = ?1",
    [Q_SCOPE_COUPON] = "SELECT member_id FROM coupons WHERE code = ?1",
    [Q_SCOPE_IDENTITY] =
        "WITH RECURSIVE live(id, next, hops) AS ("
        " SELECT m.id, m.merged_into, 0 FROM identities i JOIN members m"
        " ON m.id = i.member_id WHERE i.kind = ?1 AND i.app_id = ?2 AND i.value = ?3"
        " UNION ALL SELECT m.id, m.merged_into, hops + 1 FROM live JOIN members m"
        " ON m.id = live.next WHERE hops < 16)"
        " SELECT id FROM live WHERE next IS NULL LIMIT 1",
    [Q_SCOPE_STORE] = "SELECT id FROM stores WHERE id = ?1",
    [Q_TASK_LIST_STORE] = "SELECT " TASK_COLS " FROM guide_tasks WHERE"
                          " (?1::bigint IS NULL OR guide_id = ?1)"
                          " AND (?2::text IS NULL OR state = ?2) AND id > ?3 AND guide_id IN"
                          " (SELECT id FROM staff WHERE store_id = ?5) ORDER BY id LIMIT ?4",
    /* ---- messaging (issue 14) ---- */
    [Q_CONSENT_MOVE] = "INSERT INTO member_consents(member_id, purpose, channel, granted, source,"
                       " text_version, at) SELECT ?1::bigint, purpose, channel, granted, source,"
                       " text_version, at FROM member_consents WHERE member_id = ?2"
                       " ON CONFLICT(member_id, purpose, channel) DO UPDATE SET"
                       " granted = excluded.granted, source = excluded.source,"
                       " text_version = excluded.text_version, at = excluded.at"
                       " WHERE excluded.at > member_consents.at",
    [Q_CONSENT_DELETE] = "DELETE FROM member_consents WHERE member_id = ?1",
    [Q_IDENTITY_OF_KIND] = "SELECT app_id, value FROM identities WHERE member_id = ?1 AND kind = ?2"
                           " AND (?3::text IS NULL OR app_id = ?3) ORDER BY app_id, value LIMIT 1",
    [Q_COUPON_RECEIVED_SINCE] = "SELECT count(*) FROM coupon_events e JOIN coupons c"
                                " ON c.id = e.coupon_id WHERE e.member_id = ?1"
                                " AND c.template_id = ?2 AND e.kind IN ('issued', 'received')"
                                " AND e.at >= ?3",
    /* a member over a template's per-member limit within one period (local calendar,
     * UTC+8 as the SQLite text); the spec is JSON text, read as jsonb */
    [Q_CHECK_COUPON_LIMITS] =
        "SELECT member_id, template_id, n, lim, per FROM ("
        " SELECT e.member_id AS member_id, c.template_id AS template_id, count(*) AS n,"
        " (t.spec::jsonb ->> 'per_member_limit')::numeric AS lim,"
        " coalesce(t.spec::jsonb ->> 'per_member_period', 'lifetime') AS per,"
        " CASE coalesce(t.spec::jsonb ->> 'per_member_period', 'lifetime')"
        "  WHEN 'day' THEN to_char(to_timestamp(e.at + 28800) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        "  WHEN 'month' THEN to_char(to_timestamp(e.at + 28800) AT TIME ZONE 'UTC', 'YYYY-MM')"
        "  WHEN 'year' THEN to_char(to_timestamp(e.at + 28800) AT TIME ZONE 'UTC', 'YYYY')"
        "  ELSE '' END AS bucket"
        " FROM coupon_events e JOIN coupons c ON c.id = e.coupon_id"
        " JOIN coupon_templates t ON t.id = c.template_id"
        " WHERE e.kind IN ('issued', 'received')"
        " AND coalesce((t.spec::jsonb ->> 'per_member_limit')::numeric, 0) > 0"
        " GROUP BY e.member_id, c.template_id, t.spec, bucket) AS x"
        " WHERE n > lim ORDER BY member_id, template_id LIMIT ?1",
    [Q_MESSAGE_ADDRESS_SET] = "UPDATE messages SET address = ?1, template = ?2 WHERE id = ?3",
    /* journeys (engine): failed runs, trigger instants, activation watermarks */
    [Q_RUN_INSERT_AT] = "INSERT INTO journey_runs(journey_id, member_id, state, step, step_index,"
                        " next_at, holdout, entered_at, trigger_at)"
                        " VALUES (?1, ?2, 'active', ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
    [Q_RUN_TRIGGER_AT] = "SELECT COALESCE(trigger_at, entered_at) FROM journey_runs WHERE id = ?1",
    [Q_RUN_FAIL] = "UPDATE journey_runs SET state = 'failed', ended_at = ?1, next_at = NULL,"
                   " error = ?2 WHERE id = ?3",
    [Q_JLOG_INSERT_DETAIL] =
        "INSERT INTO journey_log(journey_id, run_id, step, at, outcome, detail)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
    [Q_JLOG_FAILURES] = "SELECT run_id, step, at, detail FROM journey_log WHERE journey_id = ?1"
                        " AND outcome = 'failed' ORDER BY id DESC LIMIT ?2",
    [Q_JLOG_DETAILS] =
        "SELECT step, outcome, detail, count(*) FROM journey_log WHERE journey_id = ?1"
        " AND detail IS NOT NULL GROUP BY step, outcome, detail"
        " ORDER BY count(*) DESC LIMIT ?2",
    [Q_DRY_EVENTS] = "SELECT id, joined_at FROM members WHERE ?1::bigint = 0 AND joined_at >= ?2"
                     " AND merged_into IS NULL"
                     " UNION ALL SELECT member_id, placed_at FROM orders WHERE ?1 = 1"
                     " AND placed_at >= ?2 AND member_id IS NOT NULL"
                     " UNION ALL SELECT o.member_id, r.refunded_at FROM refunds r"
                     " JOIN orders o ON o.id = r.order_id"
                     " WHERE ?1 = 2 AND r.refunded_at >= ?2 AND o.member_id IS NOT NULL"
                     " UNION ALL SELECT member_id, at FROM tier_history WHERE ?1 = 3 AND at >= ?2"
                     " UNION ALL SELECT member_id, at FROM coupon_events WHERE ?1 = 4 AND at >= ?2"
                     " AND kind IN ('issued', 'received') AND member_id IS NOT NULL"
                     " UNION ALL SELECT member_id, at FROM events WHERE ?1 = 5 AND at >= ?2"
                     " AND type = ?3 ORDER BY 2, 1",
    [Q_DRY_FIRST_EVENT] = "SELECT min(at) FROM ("
                          "SELECT joined_at AS at FROM members WHERE ?1::bigint = 0 AND id = ?2"
                          " UNION ALL SELECT placed_at FROM orders WHERE ?1 = 1 AND member_id = ?2"
                          " UNION ALL SELECT r.refunded_at FROM refunds r JOIN orders o"
                          " ON o.id = r.order_id WHERE ?1 = 2 AND o.member_id = ?2"
                          " UNION ALL SELECT at FROM tier_history WHERE ?1 = 3 AND member_id = ?2"
                          " UNION ALL SELECT at FROM coupon_events WHERE ?1 = 4 AND member_id = ?2"
                          " AND kind IN ('issued', 'received')"
                          " UNION ALL SELECT at FROM events WHERE ?1 = 5 AND member_id = ?2"
                          " AND type = ?5) AS x WHERE at > ?3 AND at <= ?4",
/* ---- rights (issue 21): export and erasure ---- */
#define CHAIN_CTE                                                                                  \
    "WITH RECURSIVE chain(id) AS (SELECT ?1::bigint UNION SELECT m.id FROM members m"              \
    " JOIN chain ON m.merged_into = chain.id) "
    [Q_EXPORT_MEMBERS] =
        CHAIN_CTE "SELECT * FROM members WHERE id IN (SELECT id FROM chain) ORDER BY id",
    [Q_EXPORT_IDENTITIES] = "SELECT * FROM identities WHERE member_id = ?1"
                            " ORDER BY kind, app_id, value",
    [Q_EXPORT_MEMBER_REACH] = "SELECT * FROM member_reach WHERE member_id = ?1 ORDER BY channel",
    [Q_EXPORT_MEMBER_CONSENTS] = "SELECT * FROM member_consents WHERE member_id = ?1"
                                 " ORDER BY purpose, channel",
    [Q_EXPORT_CONSENTS] = "SELECT * FROM consents WHERE member_id = ?1 ORDER BY channel",
    [Q_EXPORT_EVENTS] = "SELECT * FROM events WHERE member_id = ?1 ORDER BY id",
    [Q_EXPORT_ORDERS] = "SELECT * FROM orders WHERE member_id = ?1 ORDER BY id",
    [Q_EXPORT_ORDER_ITEMS] = "SELECT * FROM order_items WHERE order_id = ?1 ORDER BY line",
    [Q_EXPORT_REFUNDS] = "SELECT * FROM refunds WHERE order_id = ?1 ORDER BY id",
    [Q_EXPORT_PREDICTIONS] = "SELECT * FROM member_predictions WHERE member_id = ?1",
    [Q_EXPORT_TAG_MEMBERS] = "SELECT tm.*, t.name AS tag, t.kind AS tag_kind FROM tag_members tm"
                             " JOIN tags t ON t.id = tm.tag_id WHERE tm.member_id = ?1"
                             " ORDER BY tm.tag_id",
    [Q_EXPORT_LOYALTY_ACCOUNTS] = "SELECT * FROM loyalty_accounts WHERE member_id = ?1",
    [Q_EXPORT_POINTS_LEDGER] = "SELECT * FROM points_ledger WHERE member_id = ?1 ORDER BY id",
    [Q_EXPORT_TIER_HISTORY] = "SELECT * FROM tier_history WHERE member_id = ?1 ORDER BY id",
    [Q_EXPORT_COUPONS] = "SELECT * FROM coupons WHERE member_id = ?1 ORDER BY id",
    [Q_EXPORT_COUPON_EVENTS] = "SELECT * FROM coupon_events WHERE member_id = ?1 ORDER BY id",
    [Q_EXPORT_JOURNEY_RUNS] = "SELECT * FROM journey_runs WHERE member_id = ?1 ORDER BY id",
    [Q_EXPORT_JOURNEY_SEGMENT_MEMBERS] = "SELECT * FROM journey_segment_members"
                                         " WHERE member_id = ?1 ORDER BY journey_id",
    [Q_EXPORT_MESSAGES] = "SELECT * FROM messages WHERE member_id = ?1 ORDER BY id",
    [Q_EXPORT_GUIDE_TASKS] = "SELECT * FROM guide_tasks WHERE member_id = ?1 ORDER BY id",
    [Q_EXPORT_MERGES] = "SELECT * FROM merges WHERE into_id = ?1 OR from_id = ?1 ORDER BY id",
    [Q_EXPORT_ERASURES] = "SELECT * FROM erasures WHERE member_id = ?1 ORDER BY id",
    [Q_ERASURE_GET] = "SELECT at, staff_id, role, reason, request_id, members FROM erasures"
                      " WHERE member_id = ?1",
    [Q_ERASURE_INSERT] = "INSERT INTO erasures(member_id, at, staff_id, role, reason, request_id,"
                         " members) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
    [Q_ERASE_CHAIN] = CHAIN_CTE "SELECT id FROM chain ORDER BY id",
    [Q_ERASE_NEEDLES] = "SELECT value FROM identities WHERE member_id = ?1 AND length(value) >= 4"
                        " UNION SELECT name FROM members WHERE id = ?1 AND length(name) >= 2",
    [Q_ERASE_MEMBER] = "UPDATE members SET name = NULL, gender = NULL, birthday = NULL,"
                       " city = NULL, updated_at = ?1 WHERE id = ?2",
    [Q_ERASE_IDENTITIES] = "DELETE FROM identities WHERE member_id = ?1",
    [Q_ERASE_OLD_CONSENTS] = "DELETE FROM consents WHERE member_id = ?1",
    [Q_ERASE_MESSAGES] = "UPDATE messages SET body = '', address = NULL, template = NULL,"
                         " error = NULL, next_attempt_at = NULL, status = CASE WHEN status IN"
                         " ('queued', 'retry', 'awaiting_guide') THEN 'skipped' ELSE status END"
                         " WHERE member_id = ?1",
    [Q_ERASE_TASKS] = "UPDATE guide_tasks SET script = NULL, state = CASE WHEN state = 'open'"
                      " THEN 'skipped' ELSE state END, done_at = CASE WHEN state = 'open'"
                      " THEN ?1 ELSE done_at END, note = NULL WHERE member_id = ?2",
    [Q_ERASE_RUNS] = "UPDATE journey_runs SET error = NULL, ended_at = CASE WHEN state = 'active'"
                     " THEN ?1 ELSE ended_at END, next_at = CASE WHEN state = 'active' THEN NULL"
                     " ELSE next_at END, state = CASE WHEN state = 'active' THEN 'exited'"
                     " ELSE state END WHERE member_id = ?2",
    /* siyu_json_valid (pg_schema.c, migration 11) stands in for SQLite's json_valid */
    [Q_ERASE_MERGES] = "UPDATE merges SET details = (details::jsonb - 'identities')::text"
                       " WHERE (into_id = ?1 OR from_id = ?1) AND CASE WHEN"
                       " siyu_json_valid(details) THEN jsonb_typeof(details::jsonb) = 'object'"
                       " ELSE false END",
    [Q_ERASE_EVENT_PROPS] = "UPDATE events SET props = NULL WHERE member_id = ?1"
                            " AND strpos(props, ?2) > 0",
    [Q_ERASE_LEDGER_REASONS] = "UPDATE points_ledger SET reason = NULL WHERE member_id = ?1"
                               " AND strpos(reason, ?2) > 0",
    [Q_ERASE_COUPON_DETAILS] =
        "UPDATE coupon_events SET details = NULL WHERE strpos(details, ?1) > 0",
    [Q_ERASE_IDEMPOTENCY] = "DELETE FROM idempotency WHERE strpos(body, ?1) > 0",
    [Q_ERASE_IDEMPOTENCY_KEYS] = "DELETE FROM idempotency_keys WHERE strpos(body, ?1) > 0",
    /* a retry after an erasure still gets its first answer, without the values: the
     * string values equal to an erased identity are masked; answers naming one in free
     * text are forgotten by Q_ERASE_IDEMPOTENCY after this */
    [Q_MASK_IDEMPOTENCY] = "UPDATE idempotency SET body = replace(body, '\"' || ?1::text || '\"', "
                           "'\"***\"') WHERE strpos(body, '\"' || ?1::text || '\"') > 0",
    [Q_MASK_IDEMPOTENCY_KEYS] =
        "UPDATE idempotency_keys SET body = replace(body, '\"' || ?1::text || "
        "'\"', '\"***\"') WHERE strpos(body, '\"' || ?1::text || '\"') > 0",
#undef CHAIN_CTE
    /* writer: readiness and the background jobs' backlog */
    [Q_STORE_PING] = "SELECT 1",
    [Q_BACKLOG_RUNS_DUE] = "SELECT count(*) FROM journey_runs WHERE state = 'active'"
                           " AND next_at IS NOT NULL AND next_at <= ?1",
    [Q_BACKLOG_MESSAGES_DUE] = "SELECT count(*) FROM messages WHERE status IN ('queued', 'retry')"
                               " AND next_attempt_at <= ?1",
    [Q_TAG_MEMBER_HAS] = "SELECT 1 FROM tag_members WHERE tag_id = ?1 AND member_id = ?2",
    /* review (issue 14): the outbox re-checks consent before a send */
    [Q_MESSAGE_SKIP] = "UPDATE messages SET status = 'skipped', error = ?1, next_attempt_at = NULL"
                       " WHERE id = ?2 AND status IN ('queued', 'retry')",
    /* merges: a member's journeys, messages and tasks follow it onto the survivor */
    [Q_RUNS_MERGE_EXIT] = "UPDATE journey_runs SET state = 'exited', ended_at = ?3, next_at = NULL"
                          " WHERE member_id = ?2 AND state = 'active' AND journey_id IN"
                          " (SELECT journey_id FROM journey_runs WHERE member_id = ?1"
                          " AND state = 'active')",
    [Q_RUNS_MOVE] = "UPDATE journey_runs SET member_id = ?1 WHERE member_id = ?2",
    [Q_MESSAGES_MOVE] = "UPDATE messages SET member_id = ?1 WHERE member_id = ?2",
    [Q_TASKS_MOVE] = "UPDATE guide_tasks SET member_id = ?1 WHERE member_id = ?2",
    /* numbers: order totals against their lines and refunds (siyu check) */
    [Q_CHECK_ORDER_LINES] = "SELECT o.id, o.total_cents, o.discount_cents, o.refunded_cents, i.qty,"
                            " i.unit_price_cents FROM orders o"
                            " LEFT JOIN order_items i ON i.order_id = o.id ORDER BY o.id, i.line",
    [Q_CHECK_ORDER_REFUNDS] = "SELECT o.id, o.refunded_cents, r.amount_cents FROM orders o"
                              " LEFT JOIN refunds r ON r.order_id = o.id"
                              " WHERE o.refunded_cents != 0 OR r.id IS NOT NULL ORDER BY o.id",
    /* numbers: profile fields filled on a create-or-match */
    [Q_PROFILE_CHANGE_INSERT] = "INSERT INTO profile_changes(member_id, at, source, details)"
                                " VALUES (?1, ?2, ?3, ?4) RETURNING id",
    [Q_PROFILE_CHANGES] = "SELECT at, source, details FROM profile_changes WHERE member_id = ?1"
                          " ORDER BY id DESC LIMIT 50",
    [Q_EXPORT_PROFILE_CHANGES] = "SELECT * FROM profile_changes WHERE member_id = ?1 ORDER BY id",
    /* ---- games (issue 17) ---- */
    [Q_GAME_INSERT] =
        "INSERT INTO campaigns(kind, name, starts_at, ends_at, rules, budget_cents,"
        " plays_per_day, plays_per_member, entry_points, grabs_per_member, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
    [Q_GAME_GET] =
        "SELECT id, kind, name, starts_at, ends_at, rules, budget_cents, spent_cents,"
        " plays_per_day, plays_per_member, entry_points, grabs_per_member, created_at, paused"
        " FROM campaigns WHERE id = ?1",
    [Q_GAME_LIST] =
        "SELECT id, kind, name, starts_at, ends_at, rules, budget_cents, spent_cents,"
        " plays_per_day, plays_per_member, entry_points, grabs_per_member, created_at, paused"
        " FROM campaigns WHERE id > ?1 ORDER BY id LIMIT ?2",
    [Q_GAME_SPEND] = "UPDATE campaigns SET spent_cents = spent_cents + ?1 WHERE id = ?2"
                     " AND (budget_cents IS NULL OR spent_cents + ?1 <= budget_cents)",
    [Q_GAME_PRIZE_INSERT] = "INSERT INTO campaign_prizes(campaign_id, idx, name, kind, template_id,"
                            " points, gift, odds_ppb, stock, cost_cents)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
    [Q_GAME_PRIZES] = "SELECT id, idx, name, kind, template_id, points, gift, odds_ppb, stock, won,"
                      " cost_cents FROM campaign_prizes WHERE campaign_id = ?1 ORDER BY idx",
    [Q_GAME_PRIZE_TAKE] = "UPDATE campaign_prizes SET won = won + 1 WHERE id = ?1"
                          " AND (stock IS NULL OR won < stock)",
    [Q_GAME_PLAY_GET] = "SELECT member_id, at, draw, prize_id, outcome, cost_cents, entry_points,"
                        " coupon_code FROM campaign_plays WHERE campaign_id = ?1 AND play_id = ?2",
    [Q_GAME_PLAY_INSERT] = "INSERT INTO campaign_plays(campaign_id, member_id, play_id, at, day,"
                           " draw, prize_id, outcome, cost_cents, entry_points, coupon_code)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
    [Q_GAME_PLAY_COUNTS] = "SELECT count(CASE WHEN day = ?3 THEN 1 END), count(*)"
                           " FROM campaign_plays WHERE campaign_id = ?1 AND member_id = ?2",
    [Q_GAME_PACKET_INSERT] = "INSERT INTO campaign_packets(campaign_id, seq, amount_cents)"
                             " VALUES (?1, ?2, ?3) RETURNING id",
    [Q_GAME_PACKET_TAKE] = "UPDATE campaign_packets SET member_id = ?1, grab_id = ?2,"
                           " grabbed_at = ?3 WHERE id = (SELECT id FROM campaign_packets"
                           " WHERE campaign_id = ?4 AND member_id IS NULL ORDER BY seq LIMIT 1)",
    [Q_GAME_PACKET_BY_GRAB] = "SELECT id, seq, amount_cents, member_id, grabbed_at, points"
                              " FROM campaign_packets WHERE campaign_id = ?1 AND grab_id = ?2",
    [Q_GAME_PACKET_POINTS] = "UPDATE campaign_packets SET points = ?1 WHERE id = ?2",
    [Q_GAME_GRABS_OF] = "SELECT count(*) FROM campaign_packets WHERE campaign_id = ?1"
                        " AND member_id = ?2",
    [Q_GAME_REPORT_PLAYS] = "SELECT count(*), count(DISTINCT member_id),"
                            " count(prize_id), coalesce(sum(cost_cents), 0),"
                            " coalesce(sum(entry_points), 0)"
                            " FROM campaign_plays WHERE campaign_id = ?1",
    [Q_GAME_REPORT_PACKETS] =
        "SELECT count(*), count(member_id),"
        " coalesce(sum(CASE WHEN member_id IS NOT NULL THEN amount_cents END), 0),"
        " coalesce(sum(CASE WHEN member_id IS NULL THEN amount_cents END), 0),"
        " count(DISTINCT member_id), coalesce(sum(amount_cents), 0),"
        " min(amount_cents), max(amount_cents)"
        " FROM campaign_packets WHERE campaign_id = ?1",
    /* PostgreSQL names no output column in WHERE: the checks read a subquery */
    [Q_GAME_CHECK_PRIZES] = "SELECT campaign_id, id, stock, won, n FROM (SELECT p.campaign_id,"
                            " p.id, p.stock, p.won, (SELECT count(*) FROM campaign_plays y"
                            " WHERE y.prize_id = p.id) AS n FROM campaign_prizes p) AS x"
                            " WHERE n <> won OR (stock IS NOT NULL AND won > stock) LIMIT ?1",
    [Q_GAME_CHECK_SPEND] = "SELECT id, budget_cents, spent_cents, s FROM (SELECT c.id,"
                           " c.budget_cents, c.spent_cents, (SELECT coalesce(sum(cost_cents), 0)"
                           " FROM campaign_plays y WHERE y.campaign_id = c.id) AS s"
                           " FROM campaigns c) AS x"
                           " WHERE s <> spent_cents OR spent_cents < 0"
                           " OR (budget_cents IS NOT NULL AND spent_cents > budget_cents)"
                           " LIMIT ?1",
    [Q_GAME_CHECK_PACKETS] =
        "SELECT c.id, count(p.id), (c.rules::jsonb ->> 'packets')::numeric,"
        " coalesce(sum(p.amount_cents), 0), (c.rules::jsonb ->> 'total_cents')::numeric,"
        " count(CASE WHEN p.amount_cents < (c.rules::jsonb ->> 'min_cents')::numeric OR "
        "p.amount_cents > (c.rules::jsonb ->> 'max_cents')::numeric THEN 1 END)"
        " AS bad FROM campaigns c LEFT JOIN campaign_packets p"
        " ON p.campaign_id = c.id WHERE c.kind = 'red_envelope'"
        " GROUP BY c.id HAVING count(p.id) <> (c.rules::jsonb ->> 'packets')::numeric"
        " OR coalesce(sum(p.amount_cents), 0) <> (c.rules::jsonb ->> 'total_cents')::numeric"
        " OR count(CASE WHEN p.amount_cents < (c.rules::jsonb ->> 'min_cents')::numeric OR "
        "p.amount_cents > (c.rules::jsonb ->> 'max_cents')::numeric THEN 1 END) > 0"
        " LIMIT ?1",
    [Q_GAME_CHECK_CAPS] = "SELECT c.id, y.member_id, y.day, count(*), c.plays_per_day"
                          " FROM campaign_plays y JOIN campaigns c ON c.id = y.campaign_id"
                          " WHERE c.plays_per_day IS NOT NULL GROUP BY c.id,"
                          " y.member_id, y.day HAVING count(*) > c.plays_per_day"
                          " UNION ALL SELECT c.id, y.member_id, NULL, count(*),"
                          " c.plays_per_member FROM campaign_plays y JOIN campaigns c"
                          " ON c.id = y.campaign_id WHERE c.plays_per_member IS NOT NULL"
                          " GROUP BY c.id, y.member_id"
                          " HAVING count(*) > c.plays_per_member"
                          " UNION ALL SELECT c.id, p.member_id, NULL, count(*),"
                          " c.grabs_per_member FROM campaign_packets p JOIN campaigns c"
                          " ON c.id = p.campaign_id WHERE p.member_id IS NOT NULL"
                          " GROUP BY c.id, p.member_id"
                          " HAVING count(*) > c.grabs_per_member LIMIT ?1",
    [Q_EXPORT_CAMPAIGN_PLAYS] = "SELECT * FROM campaign_plays WHERE member_id = ?1 ORDER BY id",
    [Q_EXPORT_CAMPAIGN_PACKETS] = "SELECT * FROM campaign_packets WHERE member_id = ?1"
                                  " ORDER BY id",
    /* ---- guides (issue 15) ---- */
    [Q_STAFF_WECOM_GET] = "SELECT wecom_userid FROM staff WHERE id = ?1",
    [Q_STAFF_WECOM_SET] = "UPDATE staff SET wecom_userid = ?1 WHERE id = ?2",
    [Q_STAFF_BY_WECOM] = "SELECT id, store_id, role FROM staff WHERE wecom_userid = ?1",
    [Q_WECOM_EVENT_SEEN] = "SELECT 1 FROM wecom_events WHERE digest = ?1",
    [Q_WECOM_EVENT_PUT] = "INSERT INTO wecom_events(digest, event, at, recorded_at)"
                          " VALUES (?1, ?2, ?3, ?4)",
    [Q_CONTACT_GET] = "SELECT id, member_id FROM contacts WHERE guide_id = ?1"
                      " AND external_userid = ?2",
    [Q_CONTACT_ADD] =
        "INSERT INTO contacts(member_id, guide_id, external_userid, added_at, add_way,"
        " state, qr_code_id, remark, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
        " ?8, ?9) ON CONFLICT(guide_id, external_userid) DO UPDATE SET"
        " member_id = excluded.member_id, added_at = excluded.added_at,"
        " add_way = excluded.add_way, state = excluded.state,"
        " qr_code_id = excluded.qr_code_id,"
        " remark = COALESCE(excluded.remark, contacts.remark),"
        " customer_deleted_at = NULL, guide_deleted_at = NULL,"
        " updated_at = excluded.updated_at RETURNING id",
    [Q_CONTACT_EDIT] =
        "UPDATE contacts SET remark = COALESCE(?1, remark), state = COALESCE(?2, state),"
        " updated_at = ?3 WHERE guide_id = ?4 AND external_userid = ?5",
    [Q_CONTACT_GUIDE_DEL] = "UPDATE contacts SET guide_deleted_at = COALESCE(guide_deleted_at, ?1),"
                            " updated_at = ?2 WHERE guide_id = ?3 AND external_userid = ?4",
    [Q_CONTACT_CUSTOMER_DEL] = "UPDATE contacts SET customer_deleted_at ="
                               " COALESCE(customer_deleted_at, ?1), updated_at = ?2"
                               " WHERE guide_id = ?3 AND external_userid = ?4",
    [Q_CONTACTS_OF_MEMBER] = "SELECT c.guide_id, s.name, s.wecom_userid, c.external_userid,"
                             " c.added_at, c.add_way, c.state, c.qr_code_id, c.remark,"
                             " c.customer_deleted_at, c.guide_deleted_at FROM contacts c"
                             " JOIN staff s ON s.id = c.guide_id WHERE c.member_id = ?1"
                             " ORDER BY c.added_at, c.id",
    [Q_CONTACTS_LIVE_COUNT] = "SELECT count(*) FROM contacts WHERE member_id = ?1"
                              " AND customer_deleted_at IS NULL AND guide_deleted_at IS NULL",
    [Q_CONTACT_CREDITED] = "SELECT c.guide_id FROM contacts c JOIN members m ON m.id = c.member_id"
                           " WHERE c.member_id = ?1 AND c.customer_deleted_at IS NULL"
                           " AND c.guide_deleted_at IS NULL ORDER BY"
                           " CASE WHEN c.guide_id = m.guide_id THEN 0 ELSE 1 END, c.added_at, c.id"
                           " LIMIT 1",
    [Q_CONTACTS_MOVE] = "UPDATE contacts SET member_id = ?1 WHERE member_id = ?2",
    [Q_MEMBER_ACQUIRED_SET] = "UPDATE members SET qr_code_id = ?1, campaign = ?2 WHERE id = ?3"
                              " AND qr_code_id IS NULL AND campaign IS NULL",
    [Q_MEMBER_ACQUISITION] =
        "SELECT m.qr_code_id, m.campaign, m.join_channel, COALESCE((SELECT q.store_id"
        " FROM qr_codes q WHERE q.id = m.qr_code_id), m.store_id), (SELECT c.guide_id"
        " FROM contacts c WHERE c.member_id = m.id AND c.qr_code_id = m.qr_code_id"
        " ORDER BY c.added_at, c.id LIMIT 1) FROM members m WHERE m.id = ?1",
    [Q_QR_INSERT] = "INSERT INTO qr_codes(name, state, store_id, rotation, daily_cap,"
                    " backup_guide_id, schedule, campaign, cost_cents, rr_next, created_at, target)"
                    " VALUES (?1, '', ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10) RETURNING id",
    [Q_QR_SET_STATE] = "UPDATE qr_codes SET state = ?1 WHERE id = ?2",
    [Q_QR_GET] = "SELECT id, name, state, store_id, rotation, daily_cap, backup_guide_id, schedule,"
                 " campaign, cost_cents, rr_next, target FROM qr_codes WHERE id = ?1",
    [Q_QR_BY_STATE] = "SELECT id, store_id, campaign FROM qr_codes WHERE state = ?1",
    [Q_QR_GUIDE_ADD] =
        "INSERT INTO qr_code_guides(code_id, guide_id, position) VALUES (?1, ?2, ?3)",
    [Q_QR_GUIDES] = "SELECT g.guide_id FROM qr_code_guides g JOIN staff s ON s.id = g.guide_id"
                    " WHERE g.code_id = ?1 AND s.status = 'active' ORDER BY g.position",
    [Q_QR_STORE_GUIDES] = "SELECT id FROM staff WHERE store_id = ?1 AND role = 'guide'"
                          " AND status = 'active' ORDER BY id",
    [Q_QR_SET_NEXT] = "UPDATE qr_codes SET rr_next = ?1 WHERE id = ?2",
    [Q_QR_SCAN_REPEAT] = "SELECT guide_id FROM qr_scans WHERE code_id = ?1 AND day = ?2"
                         " AND external_userid = ?3",
    [Q_QR_SCAN_COUNTS] = "SELECT guide_id, n FROM qr_scan_counts WHERE code_id = ?1 AND day = ?2",
    [Q_QR_SCAN_INSERT] = "INSERT INTO qr_scans(code_id, day, guide_id, external_userid, at)"
                         " VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
    [Q_QR_STATS] =
        "SELECT (SELECT count(*) FROM qr_scans WHERE code_id = ?1),"
        " (SELECT count(*) FROM contacts WHERE qr_code_id = ?1),"
        " (SELECT count(*) FROM members WHERE qr_code_id = ?1 AND merged_into IS NULL),"
        " (SELECT count(DISTINCT m.id) FROM members m JOIN orders o ON o.member_id = m.id"
        "   WHERE m.qr_code_id = ?1 AND m.merged_into IS NULL AND o.placed_at >= m.joined_at"
        "   AND o.placed_at < m.joined_at + 30 * 86400),"
        " (SELECT COALESCE(sum(o.total_cents - o.refunded_cents), 0) FROM members m"
        "   JOIN orders o ON o.member_id = m.id WHERE m.qr_code_id = ?1"
        "   AND m.merged_into IS NULL AND o.placed_at >= m.joined_at"
        "   AND o.placed_at < m.joined_at + 30 * 86400)",
    [Q_EXPORT_CONTACTS] = "SELECT * FROM contacts WHERE member_id = ?1 ORDER BY id",
    [Q_REACH_WECOM_EDGES] =
        "UPDATE member_reach SET reachable = CASE WHEN EXISTS (SELECT 1"
        " FROM contacts c WHERE c.member_id = ?1 AND c.customer_deleted_at IS NULL"
        " AND c.guide_deleted_at IS NULL) THEN 1 ELSE 0 END"
        " WHERE member_id = ?1 AND channel = 'wecom'"
        " AND EXISTS (SELECT 1 FROM contacts c WHERE c.member_id = ?1)",
    [Q_CONTACTS_SUMMARY] = "SELECT COALESCE(sum(CASE WHEN customer_deleted_at IS NULL AND"
                           " guide_deleted_at IS NULL THEN 1 ELSE 0 END), 0), min(added_at)"
                           " FROM contacts WHERE member_id = ?1",
    [Q_SCAN_CONTACTS] = "SELECT member_id, sum(CASE WHEN customer_deleted_at IS NULL AND"
                        " guide_deleted_at IS NULL THEN 1 ELSE 0 END), min(added_at)"
                        " FROM contacts GROUP BY member_id ORDER BY member_id",
    [Q_ERASE_CONTACTS] = "UPDATE contacts SET remark = NULL, external_userid = 'erased:' || id,"
                         " guide_deleted_at = COALESCE(guide_deleted_at, updated_at)"
                         " WHERE member_id = ?1",
    /* ---- audit (issue 21): consent history, the audit log, retention ---- */
    [Q_CONSENT_HISTORY_INSERT] = "INSERT INTO consent_history(member_id, purpose, channel, granted,"
                                 " source, text_version, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                                 " RETURNING id",
    [Q_CONSENT_HISTORY_LIST] = "SELECT purpose, channel, granted, source, text_version, at"
                               " FROM consent_history WHERE member_id = ?1 ORDER BY at, id",
    [Q_CONSENT_HISTORY_MOVE] = "UPDATE consent_history SET member_id = ?1 WHERE member_id = ?2",
    [Q_CONSENT_HISTORY_DELETE] = "DELETE FROM consent_history WHERE member_id = ?1",
    [Q_EXPORT_CONSENT_HISTORY] =
        "SELECT * FROM consent_history WHERE member_id = ?1 ORDER BY at, id",
    [Q_EXPORT_AUDIT_MEMBERS] = "SELECT m.member_id, a.id AS audit_id, a.at, a.staff_id, a.role,"
                               " a.action, a.request_id FROM audit_members m JOIN audit_log a"
                               " ON a.id = m.audit_id WHERE m.member_id = ?1 ORDER BY a.id",
    [Q_AUDIT_INSERT] = "INSERT INTO audit_log(at, staff_id, role, action, member_ids, request_id,"
                       " detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
    [Q_AUDIT_MEMBER_INSERT] = "INSERT INTO audit_members(member_id, audit_id) VALUES (?1, ?2)"
                              " ON CONFLICT DO NOTHING",
    [Q_AUDIT_LIST] = "SELECT a.id, a.at, a.staff_id, a.role, a.action, a.member_ids, a.request_id,"
                     " a.detail FROM audit_log a WHERE (?1::bigint IS NULL OR a.id IN (SELECT"
                     " audit_id FROM audit_members WHERE member_id = ?1::bigint)) AND"
                     " (?2::bigint IS NULL OR a.staff_id = ?2::bigint) AND (?3::text IS NULL OR"
                     " a.action = ?3::text) AND (?4::bigint IS NULL OR a.at >= ?4::bigint) AND"
                     " (?5::bigint IS NULL OR a.at < ?5::bigint) AND a.id > ?6 ORDER BY a.id"
                     " LIMIT ?7",
    [Q_RETENTION_GET] = "SELECT events_days, messages_days, audit_days, updated_at"
                        " FROM retention_settings WHERE id = 1",
    [Q_RETENTION_PUT] = "INSERT INTO retention_settings(id, events_days, messages_days, audit_days,"
                        " updated_at) VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT(id) DO UPDATE SET"
                        " events_days = excluded.events_days, messages_days ="
                        " excluded.messages_days, audit_days = excluded.audit_days,"
                        " updated_at = excluded.updated_at",
    [Q_RETENTION_EVENTS] = "WITH d AS (DELETE FROM events WHERE id IN (SELECT id FROM events"
                           " WHERE at < ?1 AND type <> 'live_view' ORDER BY at LIMIT ?2)"
                           " RETURNING digest)"
                           " DELETE FROM event_keys WHERE digest IN (SELECT digest FROM d)",
    [Q_RETENTION_MESSAGES] = "DELETE FROM messages WHERE id IN (SELECT id FROM messages"
                             " WHERE created_at < ?1 AND status NOT IN ('queued', 'retry',"
                             " 'awaiting_guide') ORDER BY created_at LIMIT ?2)",
    [Q_RETENTION_AUDIT_MEMBERS] = "DELETE FROM audit_members WHERE audit_id IN (SELECT id"
                                  " FROM audit_log WHERE at < ?1 ORDER BY id LIMIT ?2)",
    [Q_RETENTION_AUDIT] = "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log"
                          " WHERE at < ?1 ORDER BY id LIMIT ?2)",
    [Q_LOGIN_PUT] =
        "INSERT INTO staff_logins(staff_id, username, hash, failures, locked_until,"
        " updated_at) VALUES (?1, ?2, ?3, 0, NULL, ?4) ON CONFLICT(staff_id) DO UPDATE SET"
        " username = excluded.username, hash = excluded.hash, failures = 0,"
        " locked_until = NULL, updated_at = excluded.updated_at",
    [Q_LOGIN_BY_NAME] =
        "SELECT l.staff_id, l.hash, l.failures, l.locked_until, s.role FROM staff_logins l"
        " JOIN staff s ON s.id = l.staff_id WHERE l.username = ?1",
    [Q_LOGIN_GET] = "SELECT username, failures, locked_until, updated_at FROM staff_logins"
                    " WHERE staff_id = ?1",
    [Q_LOGIN_FAIL] = "UPDATE staff_logins SET failures = CASE WHEN locked_until IS NOT NULL AND"
                     " locked_until <= ?2::bigint THEN 1 ELSE failures + 1 END, locked_until = CASE"
                     " WHEN locked_until IS NOT NULL AND locked_until <= ?2::bigint THEN NULL WHEN"
                     " failures + 1 >= ?3::bigint THEN ?4::bigint ELSE locked_until END"
                     " WHERE staff_id = ?1",
    [Q_LOGIN_OK] = "UPDATE staff_logins SET failures = 0, locked_until = NULL WHERE staff_id = ?1",
    [Q_LOGIN_DELETE] = "DELETE FROM staff_logins WHERE staff_id = ?1",
    [Q_SESSION_INSERT] = "INSERT INTO sessions(hash, staff_id, csrf, created_at, expires_at)"
                         " VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
    [Q_SESSION_RESOLVE] =
        "SELECT x.id, x.hash, x.staff_id, x.csrf, x.expires_at, x.revoked_at, s.role,"
        " s.store_id, s.name FROM sessions x JOIN staff s ON s.id = x.staff_id"
        " WHERE x.hash = ?1",
    [Q_SESSION_GET] = "SELECT x.csrf, x.created_at, x.expires_at, l.username FROM sessions x"
                      " LEFT JOIN staff_logins l ON l.staff_id = x.staff_id WHERE x.id = ?1",
    [Q_SESSION_REVOKE] = "UPDATE sessions SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
    [Q_SESSION_REVOKE_STAFF] =
        "UPDATE sessions SET revoked_at = ?1 WHERE staff_id = ?2 AND revoked_at IS NULL",
    /* communities (issue 16) */
    [Q_GRP_EVENT_SEEN] = "SELECT 1 FROM group_events WHERE digest = ?1",
    [Q_GRP_EVENT_PUT] =
        "INSERT INTO group_events(digest, event, at, recorded_at) VALUES (?1, ?2, ?3, ?4)",
    [Q_GRP_BY_CHAT] = "SELECT id, store_id, dismissed_at FROM chat_groups WHERE chat_id = ?1",
    [Q_GRP_INSERT] =
        "INSERT INTO chat_groups(chat_id, store_id, owner_id, owner_userid, name, theme, cap, "
        "state, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'normal', ?8, ?9) "
        "RETURNING id",
    [Q_GRP_UPDATE] =
        "UPDATE chat_groups SET name = COALESCE(?1::text, name), state = CASE WHEN ?3::text IS "
        "NOT NULL AND ?3::text <> COALESCE(owner_userid, '') AND state IN ('owner_departed', "
        "'inheriting') THEN 'inherited' ELSE state END, owner_id = CASE WHEN ?3::text IS NULL "
        "THEN owner_id ELSE ?2::bigint END, owner_userid = COALESCE(?3::text, owner_userid), "
        "updated_at = ?4 WHERE id = ?5",
    [Q_GRP_DISMISS] =
        "UPDATE chat_groups SET dismissed_at = COALESCE(dismissed_at, ?1), updated_at = ?2 "
        "WHERE id = ?3",
    [Q_GRP_DISMISS_STINTS] =
        "UPDATE chat_group_members SET quit_at = ?1, quit_day = ?2, quit_scene = 'dismissed' "
        "WHERE group_id = ?3 AND quit_at IS NULL",
    [Q_GRP_GET] = "SELECT id, chat_id, store_id, owner_id, owner_userid, name, theme, cap, state, "
                  "created_at, dismissed_at, updated_at FROM chat_groups WHERE id = ?1",
    [Q_GRP_LIST] =
        "SELECT id, chat_id, store_id, owner_id, owner_userid, name, theme, cap, state, "
        "created_at, dismissed_at, updated_at FROM chat_groups WHERE (?1::bigint IS NULL OR "
        "store_id = ?1::bigint) AND id > ?2 ORDER BY id LIMIT ?3",
    [Q_GRP_PATCH] =
        "UPDATE chat_groups SET theme = COALESCE(?1::text, theme), cap = COALESCE(?2::bigint, "
        "cap), updated_at = ?3 WHERE id = ?4",
    [Q_GRP_SET_STATE] =
        "UPDATE chat_groups SET state = ?1, owner_id = COALESCE(?2::bigint, owner_id), "
        "updated_at = ?3 WHERE id = ?4",
    [Q_GRP_OF_OWNER] =
        "SELECT id FROM chat_groups WHERE owner_id = ?1 AND dismissed_at IS NULL ORDER BY id",
    [Q_GRP_LIVE_STINT] =
        "SELECT id, is_staff FROM chat_group_members WHERE group_id = ?1 AND person = ?2 AND "
        "quit_at IS NULL",
    [Q_GRP_JOIN] =
        "INSERT INTO chat_group_members(group_id, person, is_staff, unionid, joined_at, "
        "joined_day, join_scene, state, inviter, code_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
        "?8, ?9, ?10) RETURNING id",
    [Q_GRP_QUIT] =
        "UPDATE chat_group_members SET quit_at = ?1, quit_day = ?2, quit_scene = ?3 WHERE id = "
        "?4",
    [Q_GRP_LIVE_CUSTOMERS] =
        "SELECT count(*) FROM chat_group_members WHERE group_id = ?1 AND quit_at IS NULL AND "
        "is_staff = 0",
    [Q_GRP_PEOPLE] =
        "SELECT gm.person, gm.is_staff, COALESCE((SELECT i.member_id FROM identities i WHERE "
        "i.kind = 'wecom_external_id' AND i.app_id = '' AND i.value = gm.person), (SELECT "
        "i.member_id FROM identities i WHERE i.kind = 'unionid' AND i.app_id = '' AND i.value "
        "= gm.unionid)), gm.joined_at, gm.join_scene, gm.state, gm.inviter, gm.code_id FROM "
        "chat_group_members gm WHERE gm.group_id = ?1 AND gm.quit_at IS NULL ORDER BY gm.id",
    [Q_GRP_ACT_PUT] =
        "INSERT INTO chat_group_activity(group_id, day, person, messages) VALUES (?1, ?3, ?2, "
        "?4) ON CONFLICT(group_id, day, person) DO UPDATE SET messages = excluded.messages "
        "WHERE chat_group_activity.messages <> excluded.messages",
    [Q_GRP_DAY_ROLLUP] =
        "INSERT INTO chat_group_days(group_id, day, speakers, messages) SELECT ?1::bigint, "
        "?2::bigint, COALESCE(SUM(CASE WHEN messages > 0 THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(messages), 0) FROM chat_group_activity WHERE group_id = ?1::bigint AND "
        "day = ?2::bigint ON CONFLICT(group_id, day) DO UPDATE SET speakers = "
        "excluded.speakers, messages = excluded.messages",
    [Q_GRP_STINTS] =
        "SELECT joined_day, quit_day, quit_scene FROM chat_group_members WHERE group_id = ?1 "
        "AND is_staff = 0",
    [Q_GRP_DAYS] =
        "SELECT day, speakers, messages FROM chat_group_days WHERE group_id = ?1 AND day >= ?2 "
        "AND day <= ?3 ORDER BY day",
    [Q_GRP_SILENT] =
        "SELECT count(DISTINCT a.person) FROM chat_group_activity a JOIN chat_group_members gm "
        "ON gm.group_id = a.group_id AND gm.person = a.person AND gm.quit_at IS NULL AND "
        "gm.is_staff = 0 WHERE a.group_id = ?1 AND a.day >= ?2 AND a.messages > 0",
    [Q_GCODE_INSERT] =
        "INSERT INTO group_codes(store_id, theme, cap, state, hold_seconds, created_at) VALUES "
        "(?1, ?2, ?3, '', ?4, ?5) RETURNING id",
    [Q_GCODE_SET_STATE] = "UPDATE group_codes SET state = ?1 WHERE id = ?2",
    [Q_GCODE_GET] =
        "SELECT id, store_id, theme, cap, state, hold_seconds FROM group_codes WHERE id = ?1",
    [Q_GCODE_BY_STATE] = "SELECT id, store_id FROM group_codes WHERE state = ?1",
    [Q_GCODE_GROUPS] =
        "SELECT id, chat_id, cap FROM chat_groups WHERE store_id = ?1 AND theme = ?2 AND "
        "dismissed_at IS NULL AND state IN ('normal', 'inherited') ORDER BY id",
    [Q_SEAT_OPEN] = "SELECT count(*) FROM group_seats WHERE group_id = ?1 AND kept_at IS NULL AND "
                    "expires_at > ?2",
    [Q_SEAT_REPEAT] =
        "SELECT group_id FROM group_seats WHERE code_id = ?1 AND external_userid = ?2 AND "
        "kept_at IS NULL AND expires_at > ?3 ORDER BY id LIMIT 1",
    [Q_SEAT_INSERT] =
        "INSERT INTO group_seats(code_id, group_id, external_userid, reserved_at, expires_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
    [Q_SEAT_KEEP_EXT] =
        "UPDATE group_seats SET kept_at = ?1 WHERE id = (SELECT id FROM group_seats WHERE "
        "group_id = ?2 AND external_userid = ?3 AND kept_at IS NULL AND expires_at > ?1 ORDER "
        "BY id LIMIT 1)",
    [Q_SEAT_KEEP_CODE] =
        "UPDATE group_seats SET kept_at = ?1 WHERE id = (SELECT id FROM group_seats WHERE "
        "group_id = ?2 AND code_id = ?3 AND external_userid IS NULL AND kept_at IS NULL AND "
        "expires_at > ?1 ORDER BY id LIMIT 1)",
    [Q_GREQ_PENDING] = "SELECT id FROM group_requests WHERE code_id = ?1 AND fulfilled_at IS NULL",
    [Q_GREQ_INSERT] =
        "INSERT INTO group_requests(code_id, store_id, theme, requested_at) VALUES (?1, ?2, "
        "?3, ?4) RETURNING id",
    [Q_GREQ_FULFIL] =
        "UPDATE group_requests SET group_id = ?1, fulfilled_at = ?2 WHERE fulfilled_at IS NULL "
        "AND store_id = ?3 AND theme = ?4",
    [Q_GREQ_LIST] =
        "SELECT id, code_id, store_id, theme, requested_at, group_id, fulfilled_at, push_state,"
        " push_attempts, pushed_at, push_error FROM "
        "group_requests WHERE (?1 = 0 OR fulfilled_at IS NULL) AND id > ?2 ORDER BY id LIMIT ?3",
    [Q_GSALE_INSERT] =
        "INSERT INTO group_sales(name, from_at, to_at, created_at) VALUES (?1, ?2, ?3, ?4) "
        "RETURNING id",
    [Q_GSALE_GROUP_ADD] = "INSERT INTO group_sale_groups(sale_id, group_id) VALUES (?1, ?2)",
    [Q_GSALE_SKU_ADD] = "INSERT INTO group_sale_skus(sale_id, sku) VALUES (?1, ?2)",
    [Q_GSALE_GET] = "SELECT id, name, from_at, to_at, created_at FROM group_sales WHERE id = ?1",
    [Q_GSALE_GROUPS] =
        "SELECT g.id, g.store_id FROM group_sale_groups sg JOIN chat_groups g ON g.id = "
        "sg.group_id WHERE sg.sale_id = ?1 ORDER BY g.id",
    [Q_GSALE_SKUS] = "SELECT sku FROM group_sale_skus WHERE sale_id = ?1 ORDER BY sku",
    [Q_GSALE_LINES] =
        "SELECT DISTINCT o.id, it.line, it.sku, it.qty - it.refunded_qty, it.unit_price_cents, "
        "o.total_cents, o.refunded_cents FROM group_sales gs JOIN group_sale_groups sg ON "
        "sg.sale_id = gs.id JOIN chat_group_members gm ON gm.group_id = sg.group_id AND "
        "gm.is_staff = 0 JOIN identities i ON i.app_id = '' AND ((i.kind = 'wecom_external_id' "
        "AND i.value = gm.person) OR (i.kind = 'unionid' AND i.value = gm.unionid)) JOIN "
        "orders o ON o.member_id = i.member_id AND o.placed_at >= gs.from_at AND o.placed_at < "
        "gs.to_at AND o.placed_at >= gm.joined_at AND (gm.quit_at IS NULL OR o.placed_at < "
        "gm.quit_at) JOIN order_items it ON it.order_id = o.id JOIN group_sale_skus k ON "
        "k.sale_id = gs.id AND k.sku = it.sku WHERE gs.id = ?1 ORDER BY 1, 2",
    [Q_GRP_ORDERS] =
        "SELECT DISTINCT gm.group_id, o.id, o.total_cents, o.refunded_cents FROM chat_groups g "
        "JOIN chat_group_members gm ON gm.group_id = g.id AND gm.is_staff = 0 JOIN identities "
        "i ON i.app_id = '' AND ((i.kind = 'wecom_external_id' AND i.value = gm.person) OR "
        "(i.kind = 'unionid' AND i.value = gm.unionid)) JOIN orders o ON o.member_id = "
        "i.member_id AND o.placed_at >= ?1 AND o.placed_at < ?2 AND o.placed_at >= "
        "gm.joined_at AND (gm.quit_at IS NULL OR o.placed_at < gm.quit_at) AND (?4::bigint IS "
        "NULL OR o.placed_at < gm.joined_at + ?4::bigint) WHERE (?3::bigint IS NULL OR "
        "g.store_id = ?3::bigint) ORDER BY 1, 2",
    [Q_GRP_BOARD] =
        "SELECT g.id, g.store_id, g.owner_id, g.theme, g.name, g.chat_id, g.cap, g.state, "
        "COALESCE(SUM(d.speakers), 0), COALESCE(SUM(d.messages), 0) FROM chat_groups g LEFT "
        "JOIN chat_group_days d ON d.group_id = g.id AND d.day >= ?1 AND d.day <= ?2 WHERE "
        "(?3::bigint IS NULL OR g.store_id = ?3::bigint) GROUP BY g.id, g.store_id, "
        "g.owner_id, g.theme, g.name, g.chat_id, g.cap, g.state ORDER BY g.id",
    [Q_GRP_BOARD_STINTS] =
        "SELECT gm.group_id, SUM(CASE WHEN gm.joined_day >= ?1 AND gm.joined_day <= ?2 THEN 1 "
        "ELSE 0 END), SUM(CASE WHEN gm.quit_day >= ?1 AND gm.quit_day <= ?2 AND gm.quit_scene "
        "<> 'dismissed' THEN 1 ELSE 0 END), SUM(CASE WHEN gm.joined_day <= ?2 AND (gm.quit_day "
        "IS NULL OR gm.quit_day > ?2) THEN 1 ELSE 0 END), SUM(GREATEST(0, LEAST(?2, "
        "COALESCE(gm.quit_day - 1, ?2)) - GREATEST(?1, gm.joined_day) + 1)) FROM "
        "chat_group_members gm JOIN chat_groups g ON g.id = gm.group_id WHERE gm.is_staff = 0 "
        "AND (?3::bigint IS NULL OR g.store_id = ?3::bigint) GROUP BY gm.group_id ORDER BY "
        "gm.group_id",
    [Q_GRP_CONVERSION] =
        "SELECT m.store_id, CASE WHEN EXISTS (SELECT 1 FROM identities i JOIN "
        "chat_group_members gm ON gm.is_staff = 0 AND ((i.kind = 'wecom_external_id' AND "
        "gm.person = i.value) OR (i.kind = 'unionid' AND gm.unionid = i.value)) WHERE "
        "i.member_id = m.id AND i.app_id = '' AND gm.joined_at < ?2 AND (gm.quit_at IS NULL OR "
        "gm.quit_at > ?1)) THEN 1 ELSE 0 END AS ing, count(*), SUM(CASE WHEN EXISTS (SELECT 1 "
        "FROM orders o WHERE o.member_id = m.id AND o.placed_at >= ?1 AND o.placed_at < ?2 AND "
        "NOT (o.refunded_cents > 0 AND o.refunded_cents >= o.total_cents)) THEN 1 ELSE 0 END) "
        "FROM members m WHERE m.merged_into IS NULL AND m.store_id IS NOT NULL AND m.joined_at "
        "< ?2 AND (?3::bigint IS NULL OR m.store_id = ?3::bigint) GROUP BY m.store_id, ing "
        "ORDER BY 1, 2",
    [Q_GRP_MEMBER_SUMMARY] =
        "SELECT count(DISTINCT CASE WHEN gm.quit_at IS NULL THEN gm.group_id END), "
        "min(gm.joined_at) FROM chat_group_members gm WHERE gm.id IN (SELECT gm.id FROM "
        "chat_group_members gm JOIN identities i ON i.app_id = '' AND ((i.kind = "
        "'wecom_external_id' AND i.value = gm.person) OR (i.kind = 'unionid' AND i.value = "
        "gm.unionid)) WHERE i.member_id = ?1 AND gm.is_staff = 0)",
    [Q_SCAN_MEMBER_GROUPS] =
        "SELECT i.member_id, count(DISTINCT CASE WHEN gm.quit_at IS NULL THEN gm.group_id "
        "END), min(gm.joined_at) FROM chat_group_members gm JOIN identities i ON i.app_id = '' "
        "AND ((i.kind = 'wecom_external_id' AND i.value = gm.person) OR (i.kind = 'unionid' "
        "AND i.value = gm.unionid)) WHERE gm.is_staff = 0 GROUP BY i.member_id ORDER BY 1",
    [Q_EXPORT_GROUP_MEMBERS] =
        "SELECT gm.id, gm.group_id, g.chat_id, g.name, gm.person, gm.unionid, gm.joined_at, "
        "gm.join_scene, gm.state, gm.inviter, gm.code_id, gm.quit_at, gm.quit_scene FROM "
        "chat_group_members gm JOIN chat_groups g ON g.id = gm.group_id WHERE gm.id IN (SELECT "
        "gm.id FROM chat_group_members gm JOIN identities i ON i.app_id = '' AND ((i.kind = "
        "'wecom_external_id' AND i.value = gm.person) OR (i.kind = 'unionid' AND i.value = "
        "gm.unionid)) WHERE i.member_id = ?1 AND gm.is_staff = 0) ORDER BY gm.id",
    [Q_EXPORT_GROUP_ACTIVITY] =
        "SELECT a.group_id, a.person, a.day, a.messages FROM chat_group_activity a WHERE "
        "(a.group_id, a.person) IN (SELECT gm.group_id, gm.person FROM chat_group_members gm "
        "WHERE gm.id IN (SELECT gm.id FROM chat_group_members gm JOIN identities i ON i.app_id "
        "= '' AND ((i.kind = 'wecom_external_id' AND i.value = gm.person) OR (i.kind = "
        "'unionid' AND i.value = gm.unionid)) WHERE i.member_id = ?1 AND gm.is_staff = 0)) "
        "ORDER BY 1, 3",
    [Q_ERASE_GROUP_ACTIVITY] =
        "UPDATE chat_group_activity SET person = 'erased-' || ?1::bigint::text WHERE "
        "(group_id, person) IN (SELECT gm.group_id, gm.person FROM chat_group_members gm WHERE "
        "gm.id IN (SELECT gm.id FROM chat_group_members gm JOIN identities i ON i.app_id = '' "
        "AND ((i.kind = 'wecom_external_id' AND i.value = gm.person) OR (i.kind = 'unionid' "
        "AND i.value = gm.unionid)) WHERE i.member_id = ?1 AND gm.is_staff = 0))",
    [Q_ERASE_GROUP_SEATS] =
        "UPDATE group_seats SET external_userid = NULL WHERE external_userid IN (SELECT value "
        "FROM identities WHERE member_id = ?1 AND kind = 'wecom_external_id' AND app_id = '')",
    [Q_ERASE_GROUP_MEMBERS] =
        "UPDATE chat_group_members SET person = 'erased-' || ?1::bigint::text, unionid = NULL, "
        "inviter = NULL, state = NULL WHERE id IN (SELECT gm.id FROM chat_group_members gm "
        "JOIN identities i ON i.app_id = '' AND ((i.kind = 'wecom_external_id' AND i.value = "
        "gm.person) OR (i.kind = 'unionid' AND i.value = gm.unionid)) WHERE i.member_id = ?1 "
        "AND gm.is_staff = 0)",
    [Q_GRP_PERSON_MEMBER] =
        "SELECT COALESCE((SELECT i.member_id FROM identities i WHERE i.kind = "
        "'wecom_external_id' AND i.app_id = '' AND i.value = ?1), (SELECT i.member_id FROM "
        "identities i WHERE i.kind = 'unionid' AND i.app_id = '' AND i.value = ?2::text))",
    [Q_CHECK_GROUP_DAYS] =
        "SELECT COALESCE(a.group_id, d.group_id), COALESCE(a.day, d.day) FROM (SELECT "
        "group_id, day, SUM(CASE WHEN messages > 0 THEN 1 ELSE 0 END) AS sp, SUM(messages) AS "
        "ms FROM chat_group_activity GROUP BY group_id, day) a FULL OUTER JOIN chat_group_days "
        "d ON d.group_id = a.group_id AND d.day = a.day WHERE a.group_id IS NULL AND "
        "(d.speakers <> 0 OR d.messages <> 0) OR d.group_id IS NULL OR a.sp <> d.speakers OR "
        "a.ms <> d.messages LIMIT 20",
    [Q_CHECK_GROUP_SEATS] =
        "SELECT gm.group_id, count(*), LEAST(MIN(c.cap), MIN(g.cap)) FROM chat_group_members "
        "gm JOIN group_codes c ON c.id = gm.code_id JOIN chat_groups g ON g.id = gm.group_id "
        "WHERE gm.quit_at IS NULL AND gm.is_staff = 0 GROUP BY gm.group_id HAVING count(*) > "
        "LEAST(MIN(c.cap), MIN(g.cap)) LIMIT 20",
    [Q_CHECK_GROUP_SEAT_STORE] =
        "SELECT s.id FROM group_seats s JOIN group_codes c ON c.id = s.code_id JOIN "
        "chat_groups g ON g.id = s.group_id WHERE g.store_id <> c.store_id OR "
        "COALESCE(g.theme, '') <> c.theme OR (s.kept_at IS NOT NULL AND NOT EXISTS (SELECT 1 "
        "FROM chat_group_members gm WHERE gm.group_id = s.group_id AND gm.code_id = s.code_id "
        "AND gm.joined_at = s.kept_at)) LIMIT 20",
    [Q_CHANGE_LOG_WRITE] = "INSERT INTO change_log(node, kind, id, other, at) SELECT ?1,"
                           " (e->>0)::int, (e->>1)::bigint, (e->>2)::bigint, ?3::bigint"
                           " FROM jsonb_array_elements(?2::jsonb) e",
    [Q_CHANGE_NOTIFY] = "SELECT pg_notify('siyu_changes', ?1::text)",
    [Q_CHANGE_LOG_MAX] = "SELECT coalesce(max(seq), 0) FROM change_log",
    [Q_CHANGE_LOG_AFTER] = "SELECT seq, kind, id, other FROM change_log WHERE seq > ?1::bigint"
                           " AND node <> ?2::text ORDER BY seq LIMIT ?3::bigint",
    [Q_CHANGE_LOG_PRUNE] = "DELETE FROM change_log WHERE seq IN (SELECT seq FROM change_log"
                           " WHERE at < ?1::bigint ORDER BY seq LIMIT ?2::bigint)",
    /* a session's advisory lock: held until released or the session ends (a node killed) */
    [Q_JOBS_LEASE] =
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND"
        " pid = pg_backend_pid() AND granted AND classid = 0 AND"
        " objid::bigint = ?1::bigint AND objsubid = 1) OR pg_try_advisory_lock(?1::bigint)"
        " AS held",
    /* rights: a scan counts towards its code's caps and stats, without naming who scanned */
    [Q_ERASE_QR_SCANS] = "UPDATE qr_scans SET external_userid = NULL WHERE external_userid = ?1",
    /* rights: another member's event naming the erased value (a share to the member's
     * phone, a note that quotes it) loses its properties */
    [Q_ERASE_EVENT_PROPS_NAMING] = "UPDATE events SET props = NULL WHERE strpos(props, ?1) > 0",
    /* ---- guides (issue 15): task campaigns, mass messages, content, workbench ---- */
    [Q_TCAMP_INSERT] =
        "INSERT INTO task_campaigns(name, kind, script, content_ids, target, "
        "recurring, due_at, due_hours, holdout_pct, window_days, remind_hours, "
        "expire_hours, store_id, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, "
        "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) RETURNING id",
    [Q_TCAMP_GET] = "SELECT id, name, kind, script, content_ids, target, recurring, due_at, "
                    "due_hours, holdout_pct, window_days, remind_hours, expire_hours, store_id, "
                    "created_by, created_at, last_round, tasks, held_out, skipped_consent, "
                    "skipped_cap, skipped_no_guide FROM task_campaigns WHERE id = ?1",
    [Q_TCAMP_ROUND_DONE] =
        "UPDATE task_campaigns SET last_round = ?1, reminded_until = CASE WHEN "
        "?2::bigint > 0 THEN NULL ELSE reminded_until END, tasks = tasks + ?2, "
        "held_out = held_out + ?3, skipped_consent = skipped_consent + ?4, skipped_cap "
        "= skipped_cap + ?5, skipped_no_guide = skipped_no_guide + ?6 WHERE id = ?7",
    [Q_TCAMP_RECURRING] =
        "SELECT id, last_round FROM task_campaigns WHERE recurring IS NOT NULL ORDER "
        "BY id",
    [Q_SCAN_LIVE_MEMBER_IDS] = "SELECT id FROM members WHERE merged_into IS NULL ORDER BY id",
    [Q_TCAMP_TASKS_INSERT] =
        "INSERT INTO guide_tasks(guide_id, member_id, campaign_id, store_id, kind, "
        "channel, due_at, state, created_at, round) SELECT CASE WHEN s.status = 'active' "
        "THEN x.g END, x.id, ?1, s.store_id, "
        "?2, ?3, ?4, 'open', ?5, ?6 FROM (SELECT m.id AS id, COALESCE((SELECT "
        "c.guide_id FROM contacts c WHERE c.member_id = m.id AND c.guide_id = "
        "m.guide_id AND c.customer_deleted_at IS NULL AND c.guide_deleted_at IS NULL "
        "LIMIT 1), (SELECT c.guide_id FROM contacts c WHERE c.member_id = m.id AND "
        "c.customer_deleted_at IS NULL AND c.guide_deleted_at IS NULL ORDER BY "
        "c.added_at, c.id LIMIT 1), m.guide_id) AS g FROM members m WHERE m.id IN "
        "(SELECT jsonb_array_elements_text(?7::jsonb)::bigint) AND m.merged_into IS "
        "NULL) x JOIN staff s ON s.id = x.g WHERE (?8::text IS NULL OR s.store_id IN "
        "(SELECT jsonb_array_elements_text(?8::jsonb)::bigint)) AND (?9::text IS NULL "
        "OR x.g IN (SELECT jsonb_array_elements_text(?9::jsonb)::bigint)) ORDER BY x.id",
    [Q_TCAMP_HOLDOUT_INSERT] =
        "INSERT INTO task_holdout(campaign_id, member_id, at) SELECT ?1, x.id, ?2 FROM "
        "(SELECT m.id AS id, COALESCE((SELECT c.guide_id FROM contacts c WHERE "
        "c.member_id = m.id AND c.guide_id = m.guide_id AND c.customer_deleted_at IS "
        "NULL AND c.guide_deleted_at IS NULL LIMIT 1), (SELECT c.guide_id FROM "
        "contacts c WHERE c.member_id = m.id AND c.customer_deleted_at IS NULL AND "
        "c.guide_deleted_at IS NULL ORDER BY c.added_at, c.id LIMIT 1), m.guide_id) AS "
        "g FROM members m WHERE m.id IN (SELECT "
        "jsonb_array_elements_text(?3::jsonb)::bigint) AND m.merged_into IS NULL) x "
        "JOIN staff s ON s.id = x.g WHERE (?4::text IS NULL OR s.store_id IN (SELECT "
        "jsonb_array_elements_text(?4::jsonb)::bigint)) AND (?5::text IS NULL OR x.g "
        "IN (SELECT jsonb_array_elements_text(?5::jsonb)::bigint)) ON CONFLICT DO "
        "NOTHING",
    [Q_TCAMP_GUIDE_TASKS_INSERT] =
        "INSERT INTO guide_tasks(guide_id, member_id, campaign_id, store_id, kind, "
        "channel, due_at, state, created_at, round) SELECT s.id, NULL, ?1, s.store_id, "
        "?2, ?3, ?4, 'open', ?5, ?6 FROM staff s WHERE s.role = 'guide' AND s.status = 'active' "
        "AND (?7::text "
        "IS NULL OR s.store_id IN (SELECT "
        "jsonb_array_elements_text(?7::jsonb)::bigint)) AND (?8::text IS NULL OR s.id "
        "IN (SELECT jsonb_array_elements_text(?8::jsonb)::bigint)) ORDER BY s.id",
    [Q_TASK_INSERT_CAMPAIGN] =
        "INSERT INTO guide_tasks(guide_id, member_id, campaign_id, store_id, kind, "
        "channel, due_at, state, created_at, round) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
        "?7, 'open', ?8, ?9) RETURNING id",
    [Q_TCAMP_REPORT] =
        "SELECT t.store_id, s.name, s.region, t.guide_id, g.name, t.state, CASE WHEN "
        "t.state = 'done' AND (t.due_at IS NULL OR t.done_at <= t.due_at) THEN 1 ELSE "
        "0 END, count(*) FROM guide_tasks t LEFT JOIN stores s ON s.id = t.store_id "
        "LEFT JOIN staff g ON g.id = t.guide_id WHERE t.campaign_id = ?1 AND "
        "(?2::bigint IS NULL OR t.store_id = ?2) GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY "
        "1, 4",
    [Q_TCAMP_OUTCOMES] =
        "SELECT outcome, count(*) FROM guide_tasks WHERE campaign_id = ?1 AND outcome "
        "IS NOT NULL AND (?2::bigint IS NULL OR store_id = ?2) GROUP BY outcome ORDER "
        "BY outcome",
    [Q_TCAMP_UPLIFT_DONE] =
        "SELECT count(*), COALESCE(sum(conv), 0) FROM (SELECT t.member_id, MAX(CASE "
        "WHEN EXISTS (SELECT 1 FROM orders o WHERE o.member_id = t.member_id AND "
        "o.placed_at > t.done_at AND o.placed_at <= t.done_at + ?2) THEN 1 ELSE 0 END) "
        "AS conv FROM guide_tasks t WHERE t.campaign_id = ?1 AND t.state = 'done' AND "
        "t.member_id IS NOT NULL AND (?3::bigint IS NULL OR t.store_id = ?3) GROUP BY "
        "t.member_id) x",
    [Q_TCAMP_UPLIFT_TASKED] =
        "SELECT count(*), COALESCE(sum(conv), 0) FROM (SELECT t.member_id, MAX(CASE "
        "WHEN EXISTS (SELECT 1 FROM orders o WHERE o.member_id = t.member_id AND "
        "o.placed_at > t.created_at AND o.placed_at <= t.created_at + ?2) THEN 1 ELSE "
        "0 END) AS conv FROM guide_tasks t WHERE t.campaign_id = ?1 AND t.member_id IS "
        "NOT NULL AND (?3::bigint IS NULL OR t.store_id = ?3) GROUP BY t.member_id) x",
    [Q_TCAMP_UPLIFT_HOLDOUT] =
        "SELECT count(*), COALESCE(sum(CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE "
        "o.member_id = h.member_id AND o.placed_at > h.at AND o.placed_at <= h.at + "
        "?2) THEN 1 ELSE 0 END), 0) FROM task_holdout h WHERE h.campaign_id = ?1",
    [Q_TCAMP_TICK_LIST] =
        "SELECT id, remind_hours, expire_hours, reminded_until FROM task_campaigns "
        "ORDER BY id",
    [Q_TASKS_EXPIRE] =
        "UPDATE guide_tasks SET state = 'expired' WHERE campaign_id = ?1 AND state = "
        "'open' AND due_at <= ?2",
    [Q_TASKS_REMIND_LIST] =
        "SELECT guide_id, count(*), min(due_at) FROM guide_tasks WHERE campaign_id = "
        "?1 AND state = 'open' AND due_at > ?2 AND due_at <= ?3 AND guide_id IS NOT "
        "NULL AND reminded_at IS NULL GROUP BY guide_id ORDER BY guide_id",
    [Q_TASKS_REMIND_MARK] =
        "UPDATE guide_tasks SET reminded_at = ?1 WHERE campaign_id = ?2 AND state = "
        "'open' AND due_at > ?3 AND due_at <= ?4 AND reminded_at IS NULL",
    [Q_TCAMP_SET_REMINDED] = "UPDATE task_campaigns SET reminded_until = ?1 WHERE id = ?2",
    [Q_NOTICE_INSERT] = "INSERT INTO guide_notices(staff_id, kind, campaign_id, tasks, due_at, at) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
    [Q_NOTICES_OF] = "SELECT n.id, n.kind, n.campaign_id, c.name, n.tasks, n.due_at, n.at FROM "
                     "guide_notices n LEFT JOIN task_campaigns c ON c.id = n.campaign_id WHERE "
                     "n.staff_id = ?1 AND n.at >= ?2 ORDER BY n.at DESC, n.id DESC LIMIT 20",
    [Q_TCAMP_CONTACTS_DUE] =
        "SELECT c.member_id, c.guide_id, c.id, c.added_at, s.store_id, s.status FROM "
        "contacts c JOIN staff s ON s.id = c.guide_id WHERE c.added_at > ?1 AND c.added_at <= ?2 "
        "AND c.customer_deleted_at IS NULL AND c.guide_deleted_at IS NULL ORDER BY "
        "c.added_at, c.id",
    [Q_TASK_REASSIGN] =
        "UPDATE guide_tasks SET guide_id = ?1, store_id = ?2 WHERE id = ?3 AND state = "
        "'open'",
    [Q_TASK_OUTCOME] = "UPDATE guide_tasks SET outcome = ?1, note = ?2 WHERE id = ?3",
    [Q_GUIDE_SETTINGS_GET] =
        "SELECT per_day, per_week, per_month, updated_at FROM guide_settings WHERE id "
        "= 1",
    [Q_GUIDE_SETTINGS_PUT] =
        "INSERT INTO guide_settings(id, per_day, per_week, per_month, updated_at) "
        "VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT(id) DO UPDATE SET per_day = "
        "excluded.per_day, per_week = excluded.per_week, per_month = "
        "excluded.per_month, updated_at = excluded.updated_at",
    [Q_WECOM_SENDS_SINCE] =
        "SELECT (SELECT count(*) FROM messages WHERE member_id = ?1 AND channel = "
        "'wecom' AND created_at > ?2 AND status NOT IN ('dead', 'failed', 'skipped')) "
        "+ (SELECT count(*) FROM guide_tasks WHERE member_id = ?1 AND campaign_id "
        "IS NOT NULL AND channel = 'wecom' AND created_at > ?2 AND state IN ('open', "
        "'done')), (SELECT "
        "count(*) FROM messages WHERE member_id = ?1 AND channel = 'wecom' AND "
        "created_at > ?3 AND status NOT IN ('dead', 'failed', 'skipped')) + (SELECT "
        "count(*) FROM guide_tasks WHERE member_id = ?1 AND campaign_id IS NOT NULL "
        "AND channel = 'wecom' AND "
        "created_at > ?3 AND state IN ('open', 'done')), (SELECT count(*) FROM "
        "messages WHERE member_id = ?1 AND channel = 'wecom' AND created_at > ?4 AND "
        "status NOT IN ('dead', 'failed', 'skipped')) + (SELECT count(*) FROM "
        "guide_tasks WHERE member_id = ?1 AND campaign_id IS NOT NULL AND channel = "
        "'wecom' AND created_at > "
        "?4 AND state IN ('open', 'done'))",
    [Q_CONTENT_INSERT] =
        "INSERT INTO content(kind, title, body, url, tags, created_by, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
    [Q_CONTENT_GET] =
        "SELECT id, kind, title, body, url, tags, created_by, created_at FROM content "
        "WHERE id = ?1",
    [Q_CONTENT_LIST] =
        "SELECT id, kind, title, body, url, tags, created_by, created_at FROM content "
        "WHERE (?1::text IS NULL OR strpos(tags, ',' || ?1 || ',') > 0) AND id > ?2 "
        "ORDER BY id LIMIT ?3",
    [Q_CONTENT_EVENT_INSERT] =
        "INSERT INTO content_events(content_id, kind, share_id, token, guide_id, "
        "member_id, task_id, at, digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
        "RETURNING id",
    [Q_CONTENT_SHARE_BY_TOKEN] =
        "SELECT id, content_id, guide_id, member_id FROM content_events WHERE token = "
        "?1",
    [Q_CONTENT_EVENT_BY_DIGEST] = "SELECT id, content_id FROM content_events WHERE digest = ?1",
    [Q_CONTENT_STATS] =
        "SELECT (SELECT count(*) FROM content_events WHERE content_id = ?1 AND kind = "
        "'sent'), (SELECT count(*) FROM content_events WHERE content_id = ?1 AND kind "
        "= 'shared'), (SELECT count(*) FROM content_events WHERE content_id = ?1 AND "
        "kind = 'view'), (SELECT count(DISTINCT member_id) FROM content_events WHERE "
        "content_id = ?1 AND member_id IS NOT NULL)",
    [Q_CONTENT_ATTRIBUTED] =
        "SELECT count(*), COALESCE(sum(o.total_cents - o.refunded_cents), 0) FROM "
        "orders o WHERE o.member_id IN (SELECT member_id FROM content_events WHERE "
        "content_id = ?1 AND member_id IS NOT NULL) AND (SELECT e.content_id FROM "
        "content_events e WHERE e.member_id = o.member_id AND e.at < o.placed_at AND "
        "e.at >= o.placed_at - ?2 ORDER BY e.at DESC, e.id DESC LIMIT 1) = ?1",
    [Q_WB_TASK_COUNTS] =
        "SELECT COALESCE(sum(CASE WHEN due_at IS NULL OR due_at >= ?2 THEN 1 ELSE 0 "
        "END), 0), COALESCE(sum(CASE WHEN due_at < ?2 THEN 1 ELSE 0 END), 0) FROM "
        "guide_tasks WHERE guide_id = ?1 AND state = 'open'",
    [Q_WB_TASKS] = "SELECT " TASK_COLS " FROM guide_tasks WHERE guide_id = ?1 AND state = 'open' "
                   "AND ((?3::bigint = 1 AND due_at < ?2) OR (?3::bigint = 0 AND (due_at IS NULL "
                   "OR due_at >= ?2))) ORDER BY due_at, id LIMIT ?4",
    [Q_WB_MEMBERS] =
        "WITH gm AS (SELECT id FROM members WHERE guide_id = ?1 UNION SELECT "
        "c.member_id FROM contacts c WHERE c.guide_id = ?1 AND c.customer_deleted_at "
        "IS NULL AND c.guide_deleted_at IS NULL), od AS (SELECT o.member_id AS mid, "
        "max(o.placed_at) AS last, sum(CASE WHEN o.placed_at >= ?3 AND o.guide_id = ?1 "
        "THEN 1 ELSE 0 END) AS n, sum(CASE WHEN o.placed_at >= ?3 AND o.guide_id = ?1 "
        "THEN o.total_cents - o.refunded_cents ELSE 0 END) AS net FROM orders o WHERE "
        "o.member_id IN (SELECT id FROM gm) GROUP BY o.member_id), ck AS (SELECT "
        "k.member_id AS mid, min(k.expires_at) AS exp FROM coupons k WHERE k.member_id "
        "IN (SELECT id FROM gm) AND k.state = 'issued' AND k.expires_at >= ?2 AND "
        "k.expires_at < ?2 + 604800 GROUP BY k.member_id) SELECT m.id, m.name, "
        "m.birthday, p.p_alive, ck.exp, od.last, CASE WHEN EXISTS (SELECT 1 FROM "
        "member_reach r WHERE r.member_id = m.id AND r.channel = 'wecom' AND "
        "r.reachable = 1) AND NOT EXISTS (SELECT 1 FROM member_consents c WHERE "
        "c.member_id = m.id AND c.purpose = 'marketing' AND c.channel = 'wecom' AND "
        "c.granted = 0) THEN 1 ELSE 0 END, COALESCE(od.n, 0), COALESCE(od.net, 0) FROM "
        "gm JOIN members m ON m.id = gm.id LEFT JOIN member_predictions p ON "
        "p.member_id = m.id LEFT JOIN od ON od.mid = m.id LEFT JOIN ck ON ck.mid = "
        "m.id WHERE m.merged_into IS NULL ORDER BY m.id",
    [Q_WB_CONTACT_FIGURES] =
        "SELECT COALESCE(sum(CASE WHEN c.customer_deleted_at IS NULL AND "
        "c.guide_deleted_at IS NULL THEN 1 ELSE 0 END), 0), COALESCE(sum(CASE WHEN "
        "c.added_at >= ?2 THEN 1 ELSE 0 END), 0), COALESCE(sum(CASE WHEN "
        "c.customer_deleted_at >= ?2 THEN 1 ELSE 0 END), 0) FROM contacts c WHERE "
        "c.guide_id = ?1",
    [Q_WB_NEW_CONTACTS] =
        "SELECT c.member_id, m.name, c.added_at, c.state FROM contacts c JOIN members "
        "m ON m.id = c.member_id WHERE c.guide_id = ?1 AND c.added_at >= ?2 AND "
        "c.customer_deleted_at IS NULL AND c.guide_deleted_at IS NULL ORDER BY "
        "c.added_at DESC, c.id DESC LIMIT ?3",
    [Q_WB_TASKS_DONE] =
        "SELECT count(*), COALESCE(sum(CASE WHEN due_at IS NULL OR done_at <= due_at "
        "THEN 1 ELSE 0 END), 0) FROM guide_tasks WHERE guide_id = ?1 AND state = "
        "'done' AND done_at >= ?2",
    [Q_CHECK_TASKS] =
        "SELECT (SELECT count(*) FROM guide_tasks t WHERE t.member_id IS NOT NULL AND "
        "NOT EXISTS (SELECT 1 FROM members m WHERE m.id = t.member_id)), (SELECT "
        "count(*) FROM guide_tasks t WHERE t.guide_id IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM staff s WHERE s.id = t.guide_id)), (SELECT count(*) FROM "
        "task_campaigns c WHERE c.tasks <> (SELECT count(*) FROM guide_tasks t WHERE "
        "t.campaign_id = c.id)), (SELECT count(*) FROM task_campaigns c WHERE "
        "c.held_out <> (SELECT count(*) FROM task_holdout h WHERE h.campaign_id = "
        "c.id))",
    [Q_EXPORT_TASK_HOLDOUT] =
        "SELECT * FROM task_holdout WHERE member_id = ?1 ORDER BY campaign_id",
    [Q_EXPORT_CONTENT_EVENTS] = "SELECT * FROM content_events WHERE member_id = ?1 ORDER BY id",
    [Q_HOLDOUT_MOVE] =
        "UPDATE task_holdout SET member_id = ?1 WHERE member_id = ?2 AND campaign_id "
        "NOT IN (SELECT campaign_id FROM task_holdout WHERE member_id = ?1)",
    [Q_CONTENT_EVENTS_MOVE] = "UPDATE content_events SET member_id = ?1 WHERE member_id = ?2",
    [Q_LB_TASKS] = "SELECT count(*), COALESCE(sum(CASE WHEN state = 'done' THEN 1 ELSE 0 END), "
                   "0), COALESCE(sum(CASE WHEN state = 'done' AND done_at <= due_at THEN 1 ELSE 0 "
                   "END), 0) FROM guide_tasks WHERE guide_id = ?1 AND due_at >= ?2 AND due_at < ?3",
    [Q_FIS_CAMPAIGN] =
        "SELECT kind, rules, starts_at, ends_at, paused, created_at, name FROM campaigns"
        " WHERE id = ?1",
    [Q_FIS_CAMPAIGN_PATCH] =
        "UPDATE campaigns SET name = COALESCE(?1::text, name), ends_at = CASE WHEN"
        " ?5::bigint = 1 THEN ?2::bigint ELSE ends_at END, paused = COALESCE(?3::bigint,"
        " paused) WHERE id = ?4",
    [Q_FIS_INVITE_FIND] =
        "SELECT id, state FROM referral_invites WHERE campaign_id = ?1 AND member_id = ?2"
        " AND channel = 'link' ORDER BY id LIMIT 1",
    [Q_FIS_INVITE_INSERT] =
        "INSERT INTO referral_invites(campaign_id, member_id, channel, state,"
        " coupon_code, device_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        " RETURNING id",
    [Q_FIS_INVITE_BY_STATE] =
        "SELECT id, campaign_id, member_id, channel, device_id, created_at FROM"
        " referral_invites WHERE state = ?1",
    [Q_FIS_REF_GET] =
        "SELECT referrer_id, root_id, depth, path, invite_id, campaign_id, channel, via,"
        " joined_at, first_order_id, first_order_at, sales_cents FROM referrals WHERE"
        " member_id = ?1",
    [Q_FIS_REF_INSERT] =
        "INSERT INTO referrals(member_id, referrer_id, root_id, depth, path, invite_id,"
        " campaign_id, channel, via, joined_at, referrer_joined_at) VALUES (?1, ?2, ?3,"
        " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [Q_FIS_REF_FIRST_ORDER] =
        "UPDATE referrals SET first_order_id = ?1, first_order_at = ?2 WHERE member_id ="
        " ?3 AND first_order_id IS NULL",
    [Q_FIS_REF_SALES] = "UPDATE referrals SET sales_cents = sales_cents + ?1 WHERE member_id = ?2",
    [Q_FIS_STATS_ADD] =
        "INSERT INTO referral_stats(member_id, direct, downstream, direct_sales_cents,"
        " downstream_sales_cents) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(member_id) DO"
        " UPDATE SET direct = referral_stats.direct + excluded.direct, downstream ="
        " referral_stats.downstream + excluded.downstream, direct_sales_cents ="
        " referral_stats.direct_sales_cents + excluded.direct_sales_cents,"
        " downstream_sales_cents = referral_stats.downstream_sales_cents +"
        " excluded.downstream_sales_cents",
    [Q_FIS_STATS_GET] =
        "SELECT COALESCE(st.direct, 0), COALESCE(st.downstream, 0),"
        " COALESCE(st.direct_sales_cents, 0), COALESCE(st.downstream_sales_cents, 0),"
        " r.member_id FROM (SELECT ?1::bigint AS m) x LEFT JOIN referral_stats st ON"
        " st.member_id = x.m LEFT JOIN referrals r ON r.member_id = x.m",
    [Q_FIS_MEMBER_JOINED] = "SELECT joined_at FROM members WHERE id = ?1",
    [Q_FIS_MEMBER_PHONE] =
        "SELECT value FROM identities WHERE member_id = ?1 AND kind = 'phone' ORDER BY"
        " value LIMIT 1",
    [Q_FIS_ATTEMPT_INSERT] =
        "INSERT INTO referral_attempts(invite_id, campaign_id, referrer_id, member_id,"
        " phone_hash, device_id, via, outcome, reason, at, day) VALUES (?1, ?2, ?3, ?4,"
        " ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
    [Q_FIS_PHONE_SEEN] = "SELECT count(*) FROM referral_attempts WHERE phone_hash = ?1",
    [Q_FIS_DEVICE_REFERRER] =
        "SELECT count(*) FROM referral_attempts WHERE device_id = ?1 AND referrer_id = ?2"
        " AND outcome = 'accepted'",
    [Q_FIS_DEVICE_DAY] =
        "SELECT count(*) FROM referral_attempts WHERE device_id = ?1 AND day = ?2 AND"
        " outcome = 'accepted'",
    [Q_FIS_REWARD_GET] =
        "SELECT id, status FROM referral_rewards WHERE campaign_id = ?1 AND referee_id ="
        " ?2 AND level = ?3",
    [Q_FIS_REWARD_REFEREES] =
        "SELECT count(DISTINCT referee_id), count(CASE WHEN referee_id = ?3 THEN 1 END)"
        " FROM referral_rewards WHERE campaign_id = ?1 AND referrer_id = ?2 AND status <>"
        " 'capped'",
    [Q_FIS_REWARD_INSERT] =
        "INSERT INTO referral_rewards(campaign_id, referrer_id, referee_id, level,"
        " order_id, points, coupon_code, status, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
        " ?8, ?9) RETURNING id",
    [Q_FIS_REWARD_BY_ORDER] =
        "SELECT id, campaign_id, referrer_id, points, at, coupon_code FROM referral_rewards"
        " WHERE order_id = ?1 AND level = 'first_order' AND status = 'paid'",
    [Q_FIS_REWARD_CLAW] =
        "UPDATE referral_rewards SET clawed_points = ?1, clawed_back_at = ?2, status ="
        " 'clawed_back', clawed_coupon = ?4 WHERE id = ?3",
    [Q_FIS_ORDER_FACTS] =
        "SELECT o.member_id, o.total_cents, o.refunded_cents, r.amount_cents FROM orders"
        " o JOIN refunds r ON r.order_id = o.id WHERE o.id = ?1 AND r.id = ?2",
    [Q_FIS_DIRECT_LIST] =
        "SELECT r.member_id, r.joined_at, r.campaign_id, r.channel, r.first_order_at,"
        " r.sales_cents, COALESCE(st.downstream, 0) FROM referrals r LEFT JOIN"
        " referral_stats st ON st.member_id = r.member_id WHERE r.referrer_id = ?1 ORDER"
        " BY r.member_id LIMIT ?2",
    [Q_FIS_DOWN_DEPTH] =
        "WITH RECURSIVE d(m, lvl) AS (SELECT member_id, 1 FROM referrals WHERE"
        " referrer_id = ?1 UNION ALL SELECT r.member_id, d.lvl + 1 FROM referrals r JOIN"
        " d ON r.referrer_id = d.m) SELECT max(lvl) FROM d",
    [Q_FIS_MEMBER_CAMPAIGNS] =
        "SELECT c.id, c.kind, c.name, p.role, min(p.at) FROM (SELECT campaign_id,"
        " 'player' AS role, at FROM campaign_plays WHERE member_id = ?1 UNION ALL SELECT"
        " campaign_id, 'grabber', grabbed_at FROM campaign_packets WHERE member_id = ?1"
        " UNION ALL SELECT campaign_id, 'inviter', created_at FROM referral_invites WHERE"
        " member_id = ?1 AND campaign_id IS NOT NULL UNION ALL SELECT campaign_id,"
        " 'invited', joined_at FROM referrals WHERE member_id = ?1 AND campaign_id IS NOT"
        " NULL UNION ALL SELECT t.campaign_id, 'team_member', m.joined_at FROM"
        " team_members m JOIN teams t ON t.id = m.team_id WHERE m.member_id = ?1 UNION"
        " ALL SELECT campaign_id, 'assist_starter', created_at FROM assists WHERE"
        " member_id = ?1 UNION ALL SELECT campaign_id, 'helper', at FROM assist_helps"
        " WHERE member_id = ?1) p JOIN campaigns c ON c.id = p.campaign_id GROUP BY c.id,"
        " c.kind, c.name, p.role ORDER BY min(p.at), c.id, p.role",
    [Q_FIS_KOL_DIRECT] =
        "SELECT member_id, direct, downstream, direct_sales_cents, downstream_sales_cents"
        " FROM referral_stats WHERE direct > 0 ORDER BY direct DESC, member_id LIMIT ?1",
    [Q_FIS_KOL_ALL] =
        "SELECT member_id, direct, downstream, direct_sales_cents, downstream_sales_cents"
        " FROM referral_stats WHERE downstream > 0 ORDER BY downstream DESC, member_id"
        " LIMIT ?1",
    [Q_FIS_KOL_DSALES] =
        "SELECT member_id, direct, downstream, direct_sales_cents, downstream_sales_cents"
        " FROM referral_stats WHERE direct_sales_cents > 0 ORDER BY direct_sales_cents"
        " DESC, member_id LIMIT ?1",
    [Q_FIS_KOL_ASALES] =
        "SELECT member_id, direct, downstream, direct_sales_cents, downstream_sales_cents"
        " FROM referral_stats WHERE downstream_sales_cents > 0 ORDER BY"
        " downstream_sales_cents DESC, member_id LIMIT ?1",
    [Q_FIS_ORDER_OF_MEMBER] =
        "SELECT id, total_cents, refunded_cents FROM orders WHERE external_id = ?1 AND"
        " member_id = ?2 ORDER BY id LIMIT 1",
    [Q_FIS_TEAM_GET] =
        "SELECT campaign_id, leader_id, size, paid, virtual_members, status, deadline,"
        " created_at, closed_at FROM teams WHERE id = ?1",
    [Q_FIS_TEAM_MEMBERS] = "SELECT member_id, seq, order_external_id, amount_cents, joined_at FROM"
                           " team_members WHERE team_id = ?1 ORDER BY seq",
    [Q_FIS_TEAM_REFUNDS] =
        "SELECT id, member_id, order_external_id, amount_cents, status, created_at FROM"
        " mall_instructions WHERE team_id = ?1 ORDER BY id",
    [Q_FIS_TEAM_SEAT] =
        "UPDATE teams SET paid = paid + 1 WHERE id = ?1 AND status = 'open' AND paid <"
        " size AND deadline > ?2",
    [Q_FIS_TEAM_MEMBER_INSERT] =
        "INSERT INTO team_members(team_id, member_id, seq, order_id, order_external_id,"
        " amount_cents, joined_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_FIS_TEAM_CLOSE] =
        "UPDATE teams SET status = ?1, virtual_members = ?2, closed_at = ?3 WHERE id = ?4"
        " AND status = 'open'",
    [Q_FIS_TEAM_SEAT_OF] =
        "SELECT order_external_id FROM team_members WHERE team_id = ?1 AND member_id = ?2",
    [Q_FIS_TEAM_BY_ORDER_EXT] =
        "SELECT t.id FROM teams t JOIN team_members m ON m.team_id = t.id WHERE"
        " t.campaign_id = ?1 AND t.leader_id = ?2 AND m.member_id = ?2 AND"
        " m.order_external_id = ?3",
    [Q_FIS_TEAM_INSERT] =
        "INSERT INTO teams(campaign_id, leader_id, size, status, deadline, created_at)"
        " VALUES (?1, ?2, ?3, 'open', ?4, ?5) RETURNING id",
    [Q_FIS_TEAM_REFUND_ALL] =
        "INSERT INTO mall_instructions(kind, team_id, member_id, order_id,"
        " order_external_id, amount_cents, status, created_at, next_attempt_at) SELECT"
        " 'refund', team_id,"
        " member_id, order_id, order_external_id, amount_cents, 'pending', ?1::bigint,"
        " ?1::bigint FROM team_members WHERE team_id = ?2 ORDER BY seq ON CONFLICT DO NOTHING",
    [Q_FIS_TEAMS_DUE] =
        "SELECT id, campaign_id, size, paid FROM teams WHERE status = 'open' AND deadline"
        " <= ?1 ORDER BY deadline, id LIMIT ?2",
    [Q_FIS_ASSIST_GET] =
        "SELECT campaign_id, member_id, price_cents, target_cents, current_cents,"
        " helpers, helped, status, deadline, coupon_code, created_at, reached_at, steps"
        " FROM assists WHERE id = ?1",
    [Q_FIS_ASSIST_HELPS] =
        "SELECT member_id, seq, cut_cents, at FROM assist_helps WHERE assist_id = ?1"
        " ORDER BY seq",
    [Q_FIS_ASSIST_OF] = "SELECT id FROM assists WHERE campaign_id = ?1 AND member_id = ?2",
    [Q_FIS_ASSIST_INSERT] =
        "INSERT INTO assists(campaign_id, member_id, price_cents, target_cents,"
        " current_cents, helpers, steps, status, deadline, created_at) VALUES (?1, ?2,"
        " ?3, ?4, ?3, ?5, ?6, 'open', ?7, ?8) RETURNING id",
    [Q_FIS_ASSIST_CUT] =
        "UPDATE assists SET current_cents = current_cents - ?1, helped = helped + 1 WHERE"
        " id = ?2 AND status = 'open' AND helped = ?3 AND helped < helpers",
    [Q_FIS_HELP_OF] =
        "SELECT assist_id FROM assist_helps WHERE campaign_id = ?1 AND member_id = ?2",
    [Q_FIS_HELP_INSERT] =
        "INSERT INTO assist_helps(assist_id, campaign_id, member_id, seq, cut_cents, at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_FIS_ASSIST_CLOSE] =
        "UPDATE assists SET status = ?1, coupon_code = ?2, reached_at = ?3 WHERE id = ?4",
    [Q_FIS_ASSISTS_EXPIRE] =
        "UPDATE assists SET status = 'expired' WHERE status = 'open' AND deadline <= ?1",
    [Q_FIS_MEMBER_NEW_SINCE] =
        "SELECT CASE WHEN m.joined_at >= ?2 AND NOT EXISTS (SELECT 1 FROM orders o WHERE"
        " o.member_id = m.id AND o.placed_at < ?2) THEN 1 ELSE 0 END FROM members m WHERE"
        " m.id = ?1",
    [Q_FIS_CHECK_TEAMS] =
        "SELECT t.id, t.size, t.paid, t.virtual_members, t.status, (SELECT count(*) FROM"
        " team_members m WHERE m.team_id = t.id), (SELECT count(*) FROM mall_instructions"
        " i WHERE i.team_id = t.id AND i.kind = 'refund') FROM teams t WHERE t.paid <>"
        " (SELECT count(*) FROM team_members m WHERE m.team_id = t.id) OR t.paid +"
        " t.virtual_members > t.size OR (t.status = 'succeeded' AND t.paid +"
        " t.virtual_members <> t.size) OR (t.status = 'failed' AND (SELECT count(*) FROM"
        " mall_instructions i WHERE i.team_id = t.id AND i.kind = 'refund') <> t.paid) OR"
        " (t.status <> 'failed' AND EXISTS (SELECT 1 FROM mall_instructions i WHERE"
        " i.team_id = t.id)) ORDER BY t.id LIMIT ?1",
    [Q_FIS_CHECK_ASSISTS] =
        "SELECT a.id, a.price_cents, a.target_cents, a.current_cents, a.helped,"
        " a.helpers, a.status, COALESCE((SELECT sum(h.cut_cents) FROM assist_helps h"
        " WHERE h.assist_id = a.id), 0), (SELECT count(*) FROM assist_helps h WHERE"
        " h.assist_id = a.id) FROM assists a WHERE a.price_cents - a.current_cents <>"
        " COALESCE((SELECT sum(h.cut_cents) FROM assist_helps h WHERE h.assist_id ="
        " a.id), 0) OR a.helped <> (SELECT count(*) FROM assist_helps h WHERE h.assist_id"
        " = a.id) OR (a.status = 'reached') <> (a.current_cents = a.target_cents) OR"
        " (a.helped = a.helpers) <> (a.current_cents = a.target_cents) ORDER BY a.id"
        " LIMIT ?1",
    [Q_FIS_CHECK_GRAPH] =
        "SELECT r.member_id, r.depth, r.root_id, r.path, COALESCE(p.depth, 0) + 1,"
        " COALESCE(p.root_id, r.referrer_id), COALESCE(p.path, '/') || r.referrer_id ||"
        " '/' FROM referrals r LEFT JOIN referrals p ON p.member_id = r.referrer_id WHERE"
        " r.depth <> COALESCE(p.depth, 0) + 1 OR r.root_id <> COALESCE(p.root_id,"
        " r.referrer_id) OR r.path <> COALESCE(p.path, '/') || r.referrer_id || '/' ORDER"
        " BY r.member_id LIMIT ?1",
    [Q_FIS_CHECK_STATS] =
        "WITH RECURSIVE anc(m, a, lvl) AS (SELECT member_id, referrer_id, 1 FROM"
        " referrals UNION ALL SELECT anc.m, r.referrer_id, anc.lvl + 1 FROM anc JOIN"
        " referrals r ON r.member_id = anc.a), want AS (SELECT anc.a AS member_id,"
        " sum(CASE WHEN anc.lvl = 1 THEN 1 ELSE 0 END) AS direct, count(*) AS down,"
        " sum(CASE WHEN anc.lvl = 1 THEN x.sales_cents ELSE 0 END) AS dsales,"
        " sum(x.sales_cents) AS asales FROM anc JOIN referrals x ON x.member_id = anc.m"
        " GROUP BY anc.a) SELECT w.member_id, COALESCE(s.direct, 0),"
        " COALESCE(s.downstream, 0), COALESCE(s.direct_sales_cents, 0),"
        " COALESCE(s.downstream_sales_cents, 0), w.direct, w.down, w.dsales, w.asales"
        " FROM want w LEFT JOIN referral_stats s ON s.member_id = w.member_id WHERE"
        " COALESCE(s.direct, 0) <> w.direct OR COALESCE(s.downstream, 0) <> w.down OR"
        " COALESCE(s.direct_sales_cents, 0) <> w.dsales OR"
        " COALESCE(s.downstream_sales_cents, 0) <> w.asales UNION ALL SELECT s.member_id,"
        " s.direct, s.downstream, s.direct_sales_cents, s.downstream_sales_cents, 0, 0,"
        " 0, 0 FROM referral_stats s WHERE NOT EXISTS (SELECT 1 FROM referrals r WHERE"
        " r.referrer_id = s.member_id) AND (s.direct <> 0 OR s.downstream <> 0 OR"
        " s.direct_sales_cents <> 0 OR s.downstream_sales_cents <> 0) LIMIT ?1",
    [Q_FIS_CHECK_SALES] =
        "SELECT r.member_id, r.sales_cents, COALESCE((SELECT sum(o.total_cents -"
        " o.refunded_cents) FROM orders o WHERE o.member_id = r.member_id AND"
        " o.total_cents > 0), 0) FROM referrals r JOIN members m ON m.id = r.member_id"
        " WHERE m.merged_into IS NULL AND NOT EXISTS (SELECT 1 FROM members f WHERE"
        " f.merged_into = r.member_id) AND r.sales_cents <> COALESCE((SELECT"
        " sum(o.total_cents - o.refunded_cents) FROM orders o WHERE o.member_id ="
        " r.member_id AND o.total_cents > 0), 0) ORDER BY r.member_id LIMIT ?1",
    [Q_FIS_CHECK_CAPS] =
        "SELECT w.campaign_id, w.referrer_id, count(DISTINCT w.referee_id), c.rules FROM"
        " referral_rewards w JOIN campaigns c ON c.id = w.campaign_id WHERE w.status <>"
        " 'capped' GROUP BY w.campaign_id, w.referrer_id, c.rules",
    [Q_EXPORT_REFERRAL_INVITES] = "SELECT * FROM referral_invites WHERE member_id = ?1 ORDER BY id",
    [Q_EXPORT_REFERRALS] = "SELECT * FROM referrals WHERE member_id = ?1",
    [Q_EXPORT_REFERRAL_STATS] = "SELECT * FROM referral_stats WHERE member_id = ?1",
    [Q_EXPORT_REFERRAL_ATTEMPTS] =
        "SELECT * FROM referral_attempts WHERE member_id = ?1 ORDER BY id",
    [Q_EXPORT_TEAM_MEMBERS] = "SELECT * FROM team_members WHERE member_id = ?1 ORDER BY team_id",
    [Q_EXPORT_MALL_INSTRUCTIONS] =
        "SELECT * FROM mall_instructions WHERE member_id = ?1 ORDER BY id",
    [Q_EXPORT_ASSISTS] = "SELECT * FROM assists WHERE member_id = ?1 ORDER BY id",
    [Q_EXPORT_ASSIST_HELPS] = "SELECT * FROM assist_helps WHERE member_id = ?1 ORDER BY assist_id",
    [Q_EXPORT_REFERRAL_REWARDS] =
        "SELECT * FROM referral_rewards WHERE referrer_id = ?1 OR referee_id = ?1 ORDER"
        " BY id",
    [Q_FIS_ERASE_ATTEMPTS] =
        "UPDATE referral_attempts SET phone_hash = NULL, device_id = NULL WHERE member_id"
        " = ?1 OR referrer_id = ?1",
    [Q_FIS_ERASE_INVITES] = "UPDATE referral_invites SET device_id = NULL WHERE member_id = ?1",
    [Q_FIS_PARTICIPANTS] =
        "SELECT member_id, min(at) FROM (SELECT member_id, at FROM campaign_plays WHERE"
        " campaign_id = ?1 UNION ALL SELECT member_id, grabbed_at FROM campaign_packets"
        " WHERE campaign_id = ?1 AND member_id IS NOT NULL UNION ALL SELECT member_id,"
        " created_at FROM referral_invites WHERE campaign_id = ?1 UNION ALL SELECT"
        " member_id, joined_at FROM referrals WHERE campaign_id = ?1 UNION ALL SELECT"
        " m.member_id, m.joined_at FROM team_members m JOIN teams t ON t.id = m.team_id"
        " WHERE t.campaign_id = ?1 UNION ALL SELECT member_id, created_at FROM assists"
        " WHERE campaign_id = ?1 UNION ALL SELECT member_id, at FROM assist_helps WHERE"
        " campaign_id = ?1) p GROUP BY member_id ORDER BY member_id",
    [Q_FIS_MEMBER_FACTS] =
        "SELECT m.joined_at, m.store_id, (SELECT count(*) FROM orders o WHERE o.member_id"
        " = m.id AND o.placed_at < ?2::bigint), (SELECT count(*) FROM orders o WHERE"
        " o.member_id = m.id AND o.placed_at >= ?2::bigint AND o.placed_at < ?2::bigint +"
        " 2592000), (SELECT COALESCE(sum(o.total_cents - o.refunded_cents), 0) FROM"
        " orders o WHERE o.member_id = m.id AND o.placed_at >= ?2::bigint AND o.placed_at"
        " < ?2::bigint + 2592000) FROM members m WHERE m.id = ?1",
    [Q_FIS_MATCH_CANDIDATES] =
        "SELECT id FROM members WHERE merged_into IS NULL AND ((?1::bigint IS NULL AND"
        " store_id IS NULL) OR store_id = ?1::bigint) AND joined_at >= ?2 AND joined_at <"
        " ?3 AND id > ?4 ORDER BY id LIMIT ?5",
    [Q_FIS_INVITE_REPORT] =
        "SELECT (SELECT count(*) FROM referral_invites WHERE campaign_id = ?1), (SELECT"
        " count(DISTINCT member_id) FROM referral_invites WHERE campaign_id = ?1),"
        " (SELECT count(*) FROM referrals WHERE campaign_id = ?1), (SELECT count(*) FROM"
        " referral_attempts WHERE campaign_id = ?1 AND outcome = 'refused'), (SELECT"
        " count(*) FROM referrals WHERE campaign_id = ?1 AND first_order_id IS NOT NULL),"
        " (SELECT COALESCE(sum(joined_at - referrer_joined_at), 0) FROM referrals WHERE"
        " campaign_id = ?1)",
    [Q_FIS_INVITE_REFUSALS] =
        "SELECT reason, count(*) FROM referral_attempts WHERE campaign_id = ?1 AND"
        " outcome = 'refused' GROUP BY reason ORDER BY reason",
    [Q_FIS_REWARD_REPORT] =
        "SELECT level, status, count(*), COALESCE(sum(points), 0), count(coupon_code),"
        " COALESCE(sum(clawed_points), 0), count(CASE WHEN clawed_coupon = 'voided' THEN 1"
        " END), count(CASE WHEN clawed_coupon IS NOT NULL AND clawed_coupon <> 'voided' THEN 1"
        " END) FROM referral_rewards WHERE campaign_id = ?1"
        " GROUP BY level, status ORDER BY level, status",
    [Q_FIS_TEAM_REPORT] =
        "SELECT count(*), count(CASE WHEN status = 'open' THEN 1 END), count(CASE WHEN"
        " status = 'succeeded' THEN 1 END), count(CASE WHEN status = 'failed' THEN 1"
        " END), COALESCE(sum(virtual_members), 0), COALESCE(sum(paid), 0), (SELECT"
        " count(*) FROM mall_instructions i JOIN teams t ON t.id = i.team_id WHERE"
        " t.campaign_id = ?1), (SELECT COALESCE(sum(i.amount_cents), 0) FROM"
        " mall_instructions i JOIN teams t ON t.id = i.team_id WHERE t.campaign_id = ?1)"
        " FROM teams WHERE campaign_id = ?1",
    [Q_FIS_TEAMS_VIRTUAL] =
        "SELECT id, virtual_members FROM teams WHERE campaign_id = ?1 AND virtual_members"
        " > 0 ORDER BY id",
    [Q_FIS_ASSIST_REPORT] =
        "SELECT count(*), count(CASE WHEN status = 'open' THEN 1 END), count(CASE WHEN"
        " status = 'reached' THEN 1 END), count(CASE WHEN status = 'expired' THEN 1 END),"
        " COALESCE(sum(helped), 0), COALESCE(sum(price_cents - current_cents), 0),"
        " count(coupon_code) FROM assists WHERE campaign_id = ?1",
    [Q_FIS_ATTEMPT_OF] = "SELECT outcome, reason FROM referral_attempts WHERE invite_id = ?1"
                         " AND member_id = ?2 ORDER BY id LIMIT 1",
    [Q_SCAN_REFERRALS] =
        "SELECT x.m, COALESCE(st.direct, 0), COALESCE(st.downstream, 0),"
        " COALESCE(r.depth, 0) FROM (SELECT member_id AS m FROM referral_stats UNION"
        " SELECT member_id FROM referrals) x LEFT JOIN referral_stats st ON st.member_id"
        " = x.m LEFT JOIN referrals r ON r.member_id = x.m ORDER BY x.m",
    [Q_FIS_SEG_ONE] =
        "SELECT COALESCE(st.direct, 0), COALESCE(st.downstream, 0), COALESCE(r.depth, 0)"
        " FROM (SELECT ?1::bigint AS m) x LEFT JOIN referral_stats st ON st.member_id ="
        " x.m LEFT JOIN referrals r ON r.member_id = x.m",
    [Q_FIS_REPORT_COHORTS] =
        "SELECT day, campaign_id, channel, invites, inviters, joined, first_orders, cycle_seconds"
        " FROM referral_cohorts WHERE day >= ?1 AND day <= ?2 ORDER BY day, campaign_id, channel",
    [Q_FIS_COHORT_ADD] =
        "INSERT INTO referral_cohorts(day, campaign_id, channel, invites, inviters, joined,"
        " first_orders, cycle_seconds) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        " ON CONFLICT(day, campaign_id, channel) DO UPDATE SET"
        " invites = referral_cohorts.invites + excluded.invites,"
        " inviters = referral_cohorts.inviters + excluded.inviters,"
        " joined = referral_cohorts.joined + excluded.joined,"
        " first_orders = referral_cohorts.first_orders + excluded.first_orders,"
        " cycle_seconds = referral_cohorts.cycle_seconds + excluded.cycle_seconds",
    [Q_FIS_INVITER_SAME_DAY] =
        "SELECT count(*) FROM referral_invites WHERE member_id = ?1 AND created_at >= ?2"
        " AND created_at < ?3 AND COALESCE(campaign_id, 0) = ?4 AND channel = ?5",
    [Q_FIS_INVITE_GET] =
        "SELECT campaign_id, channel, created_at FROM referral_invites WHERE id = ?1",
    [Q_FIS_CHECK_COHORTS] =
        "WITH want AS (SELECT (created_at + 28800) / 86400 AS day, COALESCE(campaign_id, 0) AS c,"
        " channel, count(*) AS invites, count(DISTINCT member_id) AS inviters, sum(joined) AS j,"
        " sum(first_orders) AS f, sum(cycle_seconds) AS y FROM referral_invites"
        " GROUP BY (created_at + 28800) / 86400, COALESCE(campaign_id, 0), channel)"
        " SELECT w.day, w.c, w.channel, COALESCE(k.invites, 0), COALESCE(k.inviters, 0),"
        " COALESCE(k.joined, 0), COALESCE(k.first_orders, 0), COALESCE(k.cycle_seconds, 0),"
        " w.invites, w.inviters, w.j, w.f, w.y FROM want w LEFT JOIN referral_cohorts k"
        " ON k.day = w.day AND k.campaign_id = w.c AND k.channel = w.channel"
        " WHERE COALESCE(k.invites, 0) <> w.invites OR COALESCE(k.inviters, 0) <> w.inviters"
        " OR COALESCE(k.joined, 0) <> w.j OR COALESCE(k.first_orders, 0) <> w.f"
        " OR COALESCE(k.cycle_seconds, 0) <> w.y"
        " UNION ALL SELECT k.day, k.campaign_id, k.channel, k.invites, k.inviters, k.joined,"
        " k.first_orders, k.cycle_seconds, 0, 0, 0, 0, 0 FROM referral_cohorts k"
        " WHERE NOT EXISTS (SELECT 1 FROM referral_invites i WHERE (i.created_at + 28800) / 86400"
        " = k.day AND COALESCE(i.campaign_id, 0) = k.campaign_id AND i.channel = k.channel)"
        " LIMIT ?1",
    [Q_FIS_INVITE_JOINED] = "UPDATE referral_invites SET joined = joined + 1,"
                            " cycle_seconds = cycle_seconds + ?1 WHERE id = ?2",
    [Q_FIS_INVITE_FIRST_ORDER] =
        "UPDATE referral_invites SET first_orders = first_orders + 1 WHERE id = ?1",
    [Q_FIS_CHECK_INVITES] =
        "SELECT i.id, i.joined, i.first_orders, i.cycle_seconds, count(r.member_id),"
        " count(r.first_order_id), COALESCE(sum(r.joined_at - r.referrer_joined_at), 0)"
        " FROM referral_invites i LEFT JOIN referrals r ON r.invite_id = i.id"
        " GROUP BY i.id, i.joined, i.first_orders, i.cycle_seconds"
        " HAVING i.joined <> count(r.member_id) OR i.first_orders <> count(r.first_order_id)"
        " OR i.cycle_seconds <> COALESCE(sum(r.joined_at - r.referrer_joined_at), 0)"
        " ORDER BY i.id LIMIT ?1",
    /* staff lifecycle and transfers (issue 15 items 1 and 4) */
    [Q_STAFF_LIFE_GET] = "SELECT status, departed_at, store_id, role, wecom_userid, name FROM staff"
                         " WHERE id = ?1",
    [Q_STAFF_STATUS_SET] = "UPDATE staff SET status = ?1, departed_at = ?2 WHERE id = ?3",
    [Q_STAFF_STORE_SET] = "UPDATE staff SET store_id = ?1 WHERE id = ?2",
    [Q_STAFF_STORE_CLOSE] =
        "UPDATE staff_stores SET to_at = ?1 WHERE staff_id = ?2 AND to_at IS NULL",
    [Q_STAFF_STORE_OPEN] =
        "INSERT INTO staff_stores(staff_id, store_id, from_at) VALUES (?1, ?2, ?3)"
        " RETURNING id",
    [Q_STAFF_STORES_OF] = "SELECT store_id, from_at, to_at FROM staff_stores WHERE staff_id = ?1"
                          " ORDER BY from_at, id",
    [Q_STAFF_TOKENS_REVOKE] = "UPDATE tokens SET revoked_at = ?1 WHERE staff_id = ?2"
                              " AND revoked_at IS NULL",
    [Q_GUIDE_CUSTOMERS] = "SELECT id FROM members WHERE guide_id = ?1 AND merged_into IS NULL"
                          " UNION SELECT c.member_id FROM contacts c JOIN members m"
                          " ON m.id = c.member_id WHERE c.guide_id = ?1"
                          " AND c.customer_deleted_at IS NULL AND c.guide_deleted_at IS NULL"
                          " AND m.merged_into IS NULL ORDER BY 1",
    [Q_GUIDE_LOAD] = "SELECT (SELECT count(*) FROM (SELECT id FROM members WHERE guide_id = ?1"
                     " AND merged_into IS NULL UNION SELECT c.member_id FROM contacts c"
                     " JOIN members m ON m.id = c.member_id WHERE c.guide_id = ?1"
                     " AND c.customer_deleted_at IS NULL AND c.guide_deleted_at IS NULL"
                     " AND m.merged_into IS NULL) AS x) + (SELECT count(*) FROM transfer_items"
                     " WHERE to_guide_id = ?1 AND state = 'waiting')",
    [Q_TRANSFER_ONJOB_MOVES] = "SELECT count(*) FROM transfer_items i JOIN transfers t"
                               " ON t.id = i.transfer_id WHERE i.member_id = ?1"
                               " AND t.kind = 'on_job' AND (i.state = 'waiting'"
                               " OR (i.state = 'done' AND i.ended_at >= ?2))",
    [Q_TRANSFER_MEMBER_WAITING] = "SELECT 1 FROM transfer_items WHERE member_id = ?1"
                                  " AND state = 'waiting' LIMIT 1",
    [Q_TRANSFER_INSERT] =
        "INSERT INTO transfers(kind, from_guide_id, to_guide_ids, split, created_at,"
        " created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
    [Q_TRANSFER_ITEM_INSERT] = "INSERT INTO transfer_items(transfer_id, member_id, from_guide_id,"
                               " to_guide_id, state, reason, due_at, ended_at, asked)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
    [Q_TRANSFER_GET] =
        "SELECT t.id, t.kind, t.from_guide_id, t.to_guide_ids, t.split, t.created_at,"
        " t.created_by, s.store_id FROM transfers t JOIN staff s"
        " ON s.id = t.from_guide_id WHERE t.id = ?1",
    [Q_TRANSFER_COUNTS] = "SELECT state, count(*) FROM transfer_items WHERE transfer_id = ?1"
                          " GROUP BY state",
    [Q_TRANSFER_ITEMS] = "SELECT id, member_id, to_guide_id, state, reason, ended_at"
                         " FROM transfer_items WHERE transfer_id = ?1 AND id > ?2 ORDER BY id"
                         " LIMIT ?3",
    [Q_TRANSFER_LIST] =
        "SELECT t.id FROM transfers t JOIN staff s ON s.id = t.from_guide_id"
        " WHERE (?1::bigint IS NULL OR t.from_guide_id = ?1::bigint OR EXISTS (SELECT 1"
        " FROM transfer_items i WHERE i.transfer_id = t.id"
        " AND i.to_guide_id = ?1::bigint)) AND (?2::bigint IS NULL OR s.store_id = ?2::bigint)"
        " AND t.id > ?3 ORDER BY t.id LIMIT ?4",
    [Q_TRANSFER_ITEM_OF] =
        "SELECT id, state, from_guide_id, to_guide_id, reason FROM transfer_items"
        " WHERE transfer_id = ?1 AND member_id = ?2",
    [Q_TRANSFER_ITEM_END] = "UPDATE transfer_items SET state = ?1, reason = ?2, ended_at = ?3"
                            " WHERE id = ?4 AND state = 'waiting'",
    [Q_TRANSFER_DUE] = "SELECT id, transfer_id, member_id, from_guide_id, to_guide_id"
                       " FROM transfer_items WHERE state = 'waiting' AND due_at <= ?1"
                       " ORDER BY due_at, id LIMIT ?2",
    [Q_MEMBER_GUIDE_MOVE] = "UPDATE members SET guide_id = ?1, updated_at = ?2 WHERE id = ?3"
                            " AND (guide_id = ?4 OR guide_id IS NULL)",
    [Q_TASKS_FOLLOW] =
        "UPDATE guide_tasks SET guide_id = ?1, store_id = CASE WHEN campaign_id IS NULL"
        " THEN store_id ELSE (SELECT store_id FROM staff WHERE id = ?1::bigint) END WHERE"
        " member_id = ?2 AND state = 'open' AND (guide_id = ?3 OR guide_id IS NULL)",
    [Q_CONTACT_HANDOVER] =
        "INSERT INTO contacts(member_id, guide_id, external_userid, added_at, add_way, state,"
        " qr_code_id, remark, updated_at) SELECT member_id, ?3::bigint, external_userid, "
        "?4::bigint,"
        " NULL, ?5::text, NULL, remark, ?4::bigint FROM contacts WHERE member_id = ?1 AND guide_id "
        "= ?2"
        " AND customer_deleted_at IS NULL AND guide_deleted_at IS NULL"
        " ON CONFLICT(guide_id, external_userid) DO UPDATE SET member_id = excluded.member_id,"
        " added_at = excluded.added_at, state = excluded.state, customer_deleted_at = NULL,"
        " guide_deleted_at = NULL, updated_at = excluded.updated_at",
    [Q_CONTACT_HANDED] = "UPDATE contacts SET guide_deleted_at = ?1, updated_at = ?1"
                         " WHERE member_id = ?2 AND guide_id = ?3 AND customer_deleted_at IS NULL"
                         " AND guide_deleted_at IS NULL",
    [Q_BRIDGE_MESSAGE_INSERT] = "INSERT INTO bridge_messages(kind, transfer_id, to_guide_id,"
                                " created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
    [Q_BRIDGE_MESSAGES] = "SELECT b.id, b.kind, b.transfer_id, b.to_guide_id, b.created_at,"
                          " t.from_guide_id FROM bridge_messages b JOIN transfers t"
                          " ON t.id = b.transfer_id WHERE b.id > ?1 ORDER BY b.id LIMIT ?2",
    [Q_BRIDGE_TRANSFER_ITEMS] = "SELECT i.member_id, (SELECT c.external_userid FROM contacts c"
                                " WHERE c.member_id = i.member_id AND c.guide_id = i.from_guide_id"
                                " ORDER BY c.id DESC LIMIT 1) FROM transfer_items i"
                                " WHERE i.transfer_id = ?1 AND i.to_guide_id = ?2 AND i.asked = 1"
                                " ORDER BY i.id",
    [Q_EXPORT_TRANSFER_ITEMS] = "SELECT * FROM transfer_items WHERE member_id = ?1 ORDER BY id",
    [Q_STAFF_CHECK_STORES] =
        "SELECT id, open_rows, store_id, open_store FROM (SELECT s.id, s.store_id,"
        " (SELECT count(*) FROM staff_stores h WHERE h.staff_id = s.id AND h.to_at IS NULL)"
        " AS open_rows, (SELECT max(h.store_id) FROM staff_stores h WHERE h.staff_id = s.id"
        " AND h.to_at IS NULL) AS open_store FROM staff s) x WHERE NOT ((store_id IS NULL"
        " AND open_rows = 0) OR (open_rows = 1 AND open_store = store_id)) ORDER BY id LIMIT ?1",
    [Q_TRANSFER_CHECK_ITEMS] =
        "SELECT i.id, i.state, i.ended_at FROM transfer_items i WHERE (i.state = 'waiting'"
        " AND i.ended_at IS NOT NULL) OR (i.state <> 'waiting' AND i.ended_at IS NULL)"
        " OR i.state NOT IN ('waiting', 'done', 'refused', 'failed') OR (i.state = 'done'"
        " AND i.asked = 0) ORDER BY i.id LIMIT ?1",
    [Q_STAFF_CHECK_TOKENS] = "SELECT s.id, t.id FROM staff s JOIN tokens t ON t.staff_id = s.id"
                             " WHERE s.status = 'departed' AND t.revoked_at IS NULL ORDER BY t.id"
                             " LIMIT ?1",
    [Q_QR_CAMPAIGN_CODES] =
        "SELECT campaign, id, cost_cents FROM qr_codes WHERE campaign IS NOT NULL"
        " AND (?1::text IS NULL OR campaign = ?1::text) ORDER BY campaign, id",
    [Q_CONTACTS_REPORT] =
        "SELECT s.id, s.name, s.store_id, (SELECT count(*) FROM contacts c WHERE c.guide_id = s.id"
        " AND c.customer_deleted_at IS NULL AND c.guide_deleted_at IS NULL), (SELECT count(*)"
        " FROM contacts c WHERE c.guide_id = s.id AND c.added_at >= ?1 AND c.added_at < ?2),"
        " (SELECT count(*) FROM contacts c WHERE c.guide_id = s.id AND c.customer_deleted_at >= ?1"
        " AND c.customer_deleted_at < ?2), (SELECT count(*) FROM contacts c WHERE"
        " c.guide_id = s.id AND c.guide_deleted_at >= ?1 AND c.guide_deleted_at < ?2)"
        " FROM staff s WHERE s.role IN ('guide', 'store_manager') AND (?3::bigint IS NULL OR"
        " s.store_id = ?3::bigint) AND (?4::bigint IS NULL OR s.id = ?4::bigint) ORDER BY s.id",
    [Q_QR_SCAN_COUNT_BUMP] = "INSERT INTO qr_scan_counts(code_id, day, guide_id, n)"
                             " VALUES (?1, ?2, ?3, 1) ON CONFLICT(code_id, day, guide_id)"
                             " DO UPDATE SET n = qr_scan_counts.n + 1",
    [Q_QR_CHECK_COUNTS] =
        "SELECT c.code_id, c.day, c.guide_id, c.n, (SELECT count(*) FROM qr_scans s WHERE"
        " s.code_id = c.code_id AND s.day = c.day AND s.guide_id = c.guide_id) AS scans"
        " FROM qr_scan_counts c WHERE c.n <> (SELECT count(*) FROM qr_scans s WHERE"
        " s.code_id = c.code_id AND s.day = c.day AND s.guide_id = c.guide_id)"
        " UNION ALL SELECT s.code_id, s.day, s.guide_id, 0, count(*) FROM qr_scans s"
        " WHERE NOT EXISTS (SELECT 1 FROM qr_scan_counts c WHERE c.code_id = s.code_id AND"
        " c.day = s.day AND c.guide_id = s.guide_id) GROUP BY s.code_id, s.day, s.guide_id"
        " LIMIT ?1",
    [Q_MEMBER_SEARCH_NAME] =
        "SELECT id FROM members WHERE merged_into IS NULL AND name IS NOT NULL"
        " AND strpos(name, ?1::text) > 0 AND id > ?2 AND (?4::bigint IS NULL OR store_id = ?4)"
        " AND (?5::bigint IS NULL OR guide_id = ?5) ORDER BY id LIMIT ?3",
    [Q_TASK_CAMPAIGN_LIST] = "SELECT id FROM task_campaigns WHERE id > ?1"
                             " AND (?3::bigint IS NULL OR store_id IS NULL OR store_id = ?3)"
                             " ORDER BY id LIMIT ?2",
    [Q_QR_CODE_LIST] = "SELECT id, name, store_id, created_at FROM qr_codes WHERE id > ?1"
                       " AND (?3::bigint IS NULL OR store_id = ?3) ORDER BY id LIMIT ?2",
    [Q_MALL_DUE] =
        "SELECT i.id, i.kind, i.team_id, t.campaign_id, i.member_id, i.order_id,"
        " i.order_external_id, i.amount_cents, i.attempts, i.created_at FROM mall_instructions i"
        " LEFT JOIN teams t ON t.id = i.team_id WHERE i.status = 'pending' AND i.delivery IN"
        " ('queued', 'retry') AND i.next_attempt_at <= ?1 ORDER BY i.next_attempt_at, i.id"
        " LIMIT ?2",
    [Q_MALL_DELIVERED] =
        "UPDATE mall_instructions SET delivery = 'sent', attempts = ?1, sent_at = ?2,"
        " next_attempt_at = NULL, last_error = NULL WHERE id = ?3 AND delivery IN ('queued',"
        " 'retry')",
    [Q_MALL_RETRY] =
        "UPDATE mall_instructions SET delivery = 'retry', attempts = ?1, next_attempt_at = ?2,"
        " last_error = ?3 WHERE id = ?4 AND delivery IN ('queued', 'retry')",
    [Q_MALL_DEAD] =
        "UPDATE mall_instructions SET delivery = 'dead', attempts = ?1, next_attempt_at = NULL,"
        " last_error = ?2 WHERE id = ?3 AND delivery IN ('queued', 'retry')",
    [Q_MALL_LIST] =
        "SELECT i.id, i.kind, i.team_id, t.campaign_id, i.member_id, i.order_id, "
        "i.order_external_id, i.amount_cents, i.status, i.delivery, i.attempts, i.next_attempt_at, "
        "i.last_error, i.sent_at, i.acked_at, i.reference, i.created_at FROM mall_instructions i "
        "LEFT JOIN teams t ON t.id = i.team_id WHERE"
        " (?1::text IS NULL OR i.status = ?1) AND i.id > ?2 ORDER BY i.id LIMIT ?3",
    [Q_MALL_GET] = "SELECT i.id, i.kind, i.team_id, t.campaign_id, i.member_id, i.order_id, "
                   "i.order_external_id, i.amount_cents, i.status, i.delivery, i.attempts, "
                   "i.next_attempt_at, i.last_error, i.sent_at, i.acked_at, i.reference, "
                   "i.created_at FROM mall_instructions i LEFT JOIN teams t ON t.id = i.team_id"
                   " WHERE i.id = ?1",
    [Q_MALL_ACK] = "UPDATE mall_instructions SET status = 'acked', acked_at = ?1, reference = ?2"
                   " WHERE id = ?3 AND status = 'pending'",
    [Q_MALL_CHECK] =
        "SELECT i.id, i.status, i.delivery, CASE WHEN i.status NOT IN ('pending', 'acked') THEN"
        " 'unknown status' WHEN i.delivery NOT IN ('queued', 'retry', 'sent', 'dead') THEN"
        " 'unknown delivery' WHEN (i.status = 'acked') <> (i.acked_at IS NOT NULL) THEN"
        " 'acked without its time' WHEN (i.delivery = 'sent') <> (i.sent_at IS NOT NULL) THEN"
        " 'sent without its time' WHEN i.delivery IN ('queued', 'retry') AND i.status ="
        " 'pending' AND i.next_attempt_at IS NULL THEN 'queued with no attempt due' WHEN"
        " i.kind = 'refund' AND (m.amount_cents IS NULL OR m.amount_cents <> i.amount_cents OR"
        " m.member_id <> i.member_id) THEN 'differs from its team seat' ELSE NULL END AS"
        " problem FROM mall_instructions i LEFT JOIN team_members m ON m.order_id ="
        " i.order_id AND m.team_id = i.team_id WHERE i.status NOT IN ('pending', 'acked') OR"
        " i.delivery NOT IN ('queued', 'retry', 'sent', 'dead') OR (i.status = 'acked') <>"
        " (i.acked_at IS NOT NULL) OR (i.delivery = 'sent') <> (i.sent_at IS NOT NULL) OR"
        " (i.delivery IN ('queued', 'retry') AND i.status = 'pending' AND i.next_attempt_at IS"
        " NULL) OR (i.kind = 'refund' AND (m.amount_cents IS NULL OR m.amount_cents <>"
        " i.amount_cents OR m.member_id <> i.member_id)) ORDER BY i.id LIMIT ?1",
    [Q_COUPON_VOID] = "UPDATE coupons SET state = 'void' WHERE id = ?1 AND state = 'issued'",
    [Q_FIS_CHECK_CLAWBACK] =
        "SELECT r.id, r.status, r.coupon_code, r.clawed_coupon, c.state FROM referral_rewards r"
        " JOIN coupons c ON c.code = r.coupon_code WHERE (r.status = 'clawed_back' AND"
        " r.clawed_coupon = 'voided' AND c.state <> 'void') OR (c.state = 'void' AND"
        " (r.status <> 'clawed_back' OR r.clawed_coupon IS NULL OR r.clawed_coupon <> 'voided'))"
        " ORDER BY r.id LIMIT ?1",
    [Q_GREQ_PUSH_DUE] =
        "SELECT id, code_id, store_id, theme, requested_at, push_attempts FROM group_requests"
        " WHERE push_state = 'pending' AND fulfilled_at IS NULL"
        " AND COALESCE(push_next_at, requested_at) <= ?1 ORDER BY id LIMIT ?2",
    [Q_GREQ_PUSH_SENT] =
        "UPDATE group_requests SET push_state = 'sent', pushed_at = ?1,"
        " push_attempts = push_attempts + 1, push_next_at = NULL, push_error = NULL"
        " WHERE id = ?2 AND push_state = 'pending'",
    [Q_GREQ_PUSH_RETRY] =
        "UPDATE group_requests SET push_next_at = ?1, push_error = ?2,"
        " push_attempts = push_attempts + 1 WHERE id = ?3 AND push_state = 'pending'",
    [Q_GREQ_PUSH_DEAD] =
        "UPDATE group_requests SET push_state = 'dead', push_error = ?1, push_next_at = NULL,"
        " push_attempts = push_attempts + 1 WHERE id = ?2 AND push_state = 'pending'",
    [Q_GREQ_PUSH_STATE] =
        "SELECT push_state, push_attempts, pushed_at, push_error FROM group_requests WHERE id = ?1",
    [Q_GRP_MEMBER_GROUPS] =
        "SELECT gm.group_id, max(CASE WHEN gm.quit_at IS NULL THEN 1 ELSE 0 END) FROM "
        "chat_group_members gm WHERE gm.id IN (SELECT gm.id FROM chat_group_members gm JOIN "
        "identities i ON i.app_id = '' AND i.kind = 'wecom_external_id' AND i.value = gm.person "
        "WHERE i.member_id = ?1 AND gm.is_staff = 0 UNION SELECT gm.id FROM chat_group_members gm "
        "JOIN identities i ON i.app_id = '' AND i.kind = 'unionid' AND i.value = gm.unionid "
        "WHERE i.member_id = ?1 AND gm.is_staff = 0) GROUP BY gm.group_id ORDER BY 1",
    [Q_GRP_MEMBER_MESSAGES] =
        "SELECT a.day, SUM(a.messages) FROM ("
        "SELECT DISTINCT gm.group_id, gm.person FROM chat_group_members gm JOIN identities i ON "
        "i.app_id = '' AND i.kind = 'wecom_external_id' AND i.value = gm.person WHERE "
        "i.member_id = ?1 AND gm.is_staff = 0 UNION SELECT gm.group_id, gm.person FROM "
        "chat_group_members gm JOIN identities i ON i.app_id = '' AND i.kind = 'unionid' AND "
        "i.value = gm.unionid WHERE i.member_id = ?1 AND gm.is_staff = 0"
        ") p JOIN chat_group_activity a ON "
        "a.group_id = p.group_id AND a.person = p.person WHERE a.day >= ?2 GROUP BY a.day",
    [Q_GRP_DAY_MEMBERS] =
        "SELECT i.member_id FROM chat_group_activity a JOIN identities i ON i.app_id = '' AND "
        "i.kind = 'wecom_external_id' AND i.value = a.person WHERE a.group_id = ?1 AND a.day = ?2 "
        "UNION SELECT i.member_id FROM chat_group_activity a JOIN chat_group_members gm ON "
        "gm.group_id = a.group_id AND gm.person = a.person JOIN identities i ON i.app_id = '' AND "
        "i.kind = 'unionid' AND i.value = gm.unionid WHERE a.group_id = ?1 AND a.day = ?2",
    [Q_SCAN_MEMBER_GROUP_IDS] =
        "SELECT DISTINCT i.member_id, gm.group_id FROM chat_group_members gm JOIN identities i ON "
        "i.app_id = '' AND i.kind = 'wecom_external_id' AND i.value = gm.person WHERE "
        "gm.is_staff = 0 AND gm.quit_at IS NULL UNION SELECT i.member_id, gm.group_id FROM "
        "chat_group_members gm JOIN identities i ON i.app_id = '' AND i.kind = 'unionid' AND "
        "i.value = gm.unionid WHERE gm.is_staff = 0 AND gm.quit_at IS NULL",
    [Q_SCAN_GROUP_MESSAGES] =
        "SELECT p.member_id, a.day, SUM(a.messages) FROM ("
        "SELECT DISTINCT i.member_id, gm.group_id, gm.person FROM chat_group_members gm JOIN "
        "identities i ON i.app_id = '' AND i.kind = 'wecom_external_id' AND i.value = gm.person "
        "WHERE gm.is_staff = 0 UNION SELECT i.member_id, gm.group_id, gm.person FROM "
        "chat_group_members gm JOIN identities i ON i.app_id = '' AND i.kind = 'unionid' AND "
        "i.value = gm.unionid WHERE gm.is_staff = 0"
        ") p JOIN chat_group_activity a "
        "ON a.group_id = p.group_id AND a.person = p.person WHERE a.day >= ?1 GROUP BY "
        "p.member_id, a.day ORDER BY 1",
    [Q_GSOP_INSERT] =
        "INSERT INTO group_sops(name, campaign_id, store_id, theme, group_ids, weekday, minute,"
        " content_id, text, due_hours, state, created_at, created_by, updated_at) VALUES (?1,"
        " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'active', ?11, ?12, ?11) RETURNING id",
    [Q_GSOP_GET] = "SELECT id, name, campaign_id, store_id, theme, group_ids, weekday, minute, "
                   "content_id, text, due_hours, state, created_at, created_by, updated_at"
                   " FROM group_sops WHERE id = ?1",
    [Q_GSOP_LIST] =
        "SELECT id, name, campaign_id, store_id, theme, group_ids, weekday, minute, content_id, "
        "text, due_hours, state, created_at, created_by, updated_at"
        " FROM group_sops WHERE (?1::bigint IS NULL OR store_id = ?1) AND id > ?2 ORDER BY id"
        " LIMIT ?3",
    [Q_GSOP_ACTIVE] = "SELECT id FROM group_sops WHERE state = 'active' ORDER BY id",
    [Q_GSOP_SET] = "UPDATE group_sops SET state = ?1, text = ?2, updated_at = ?3 WHERE id = ?4",
    [Q_GSOP_GROUPS] =
        "SELECT id, owner_id, state, store_id FROM chat_groups WHERE dismissed_at IS NULL AND"
        " (?1::bigint IS NULL OR store_id = ?1) AND (?2::text IS NULL OR theme = ?2) AND (?3::text"
        " IS NULL OR id IN (SELECT jsonb_array_elements_text(?3::jsonb)::bigint)) ORDER BY id",
    [Q_GSOP_TASK_INSERT] =
        "INSERT INTO guide_tasks(guide_id, member_id, campaign_id, store_id, kind, script,"
        " channel, due_at, state, created_at, round, group_id) VALUES (?1, NULL, ?2, ?3,"
        " 'group_post', ?4, 'wecom', ?5, 'open', ?6, ?7, ?8) ON CONFLICT (campaign_id, round,"
        " group_id) WHERE group_id IS NOT NULL DO NOTHING",
    [Q_GSOP_TASK_EXISTS] = "SELECT 1 FROM guide_tasks WHERE campaign_id = ?1 AND round = ?2"
                           " AND group_id = ?3",
    [Q_GSOP_CAMP_TASKS] = "UPDATE task_campaigns SET tasks = tasks + ?1, last_round = ?2"
                          " WHERE id = ?3",
    [Q_CHECK_GROUP_SOP_TASKS] =
        "SELECT t.id FROM guide_tasks t WHERE t.group_id IS NOT NULL AND (t.round IS NULL OR"
        " t.kind <> 'group_post' OR NOT EXISTS (SELECT 1 FROM chat_groups g WHERE g.id ="
        " t.group_id) OR NOT EXISTS (SELECT 1 FROM group_sops p WHERE p.campaign_id ="
        " t.campaign_id)) ORDER BY t.id LIMIT 20",
    [Q_GSOP_ROLLUP] =
        "SELECT count(*), COALESCE(SUM(CASE WHEN state = 'open' THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN"
        " state = 'done' AND (due_at IS NULL OR done_at <= due_at) THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN state = 'expired' THEN 1 ELSE 0 END), 0),"
        " count(DISTINCT round) FROM guide_tasks WHERE campaign_id = ?1",
    [Q_WECOM_SENDS_RECENT] =
        "SELECT member_id, created_at FROM messages WHERE channel = 'wecom' AND"
        " created_at > ?1 AND status NOT IN ('dead', 'failed', 'skipped') AND member_id IS"
        " NOT NULL UNION ALL SELECT member_id, created_at FROM guide_tasks WHERE"
        " campaign_id IS NOT NULL AND channel = 'wecom' AND member_id IS NOT NULL AND"
        " created_at > ?1 AND state IN ('open', 'done') ORDER BY 1, 2",
    [Q_TCAMP_TARGET_COUNT] =
        "SELECT count(*) FROM (SELECT m.id AS id, COALESCE((SELECT c.guide_id FROM contacts"
        " c WHERE c.member_id = m.id AND c.guide_id = m.guide_id AND c.customer_deleted_at"
        " IS NULL AND c.guide_deleted_at IS NULL LIMIT 1), (SELECT c.guide_id FROM contacts"
        " c WHERE c.member_id = m.id AND c.customer_deleted_at IS NULL AND"
        " c.guide_deleted_at IS NULL ORDER BY c.added_at, c.id LIMIT 1), m.guide_id) AS g"
        " FROM members m WHERE m.id IN (SELECT jsonb_array_elements_text(?1::jsonb)::bigint)"
        " AND m.merged_into IS NULL) x JOIN staff s ON s.id = x.g WHERE (?2::text IS NULL"
        " OR s.store_id IN (SELECT jsonb_array_elements_text(?2::jsonb)::bigint)) AND"
        " (?3::text IS NULL OR x.g IN (SELECT jsonb_array_elements_text(?3::jsonb)::bigint))",
    [Q_PARTITIONS_MAINTAIN] = "SELECT made, dropped, events_rows, messages_rows"
                              " FROM siyu_partitions_maintain(?1::bigint, ?2::bigint, ?3::bigint)",
    /* the keys the partitioned tables cannot hold themselves (pg_schema.c 26) */
    [Q_CHECK_ORDER_KEYS] =
        "SELECT 'order line' AS what, i.order_id AS id FROM order_items i"
        " WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = i.order_id)"
        " UNION ALL SELECT 'refund', r.id FROM refunds r"
        " WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = r.order_id)"
        " UNION ALL SELECT 'order without its key', o.id FROM orders o"
        " WHERE NOT EXISTS (SELECT 1 FROM order_keys k WHERE k.channel = o.channel"
        " AND k.external_id = o.external_id AND k.order_id = o.id AND k.placed_at = o.placed_at)"
        " UNION ALL SELECT 'order key without its order', k.order_id FROM order_keys k"
        " WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = k.order_id)"
        " UNION ALL SELECT 'event without its key', e.id FROM events e"
        " WHERE NOT EXISTS (SELECT 1 FROM event_keys k WHERE k.digest = e.digest"
        " AND k.event_id = e.id AND k.at = e.at)"
        " UNION ALL SELECT 'event key without its event', k.event_id FROM event_keys k"
        " WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = k.event_id AND e.at = k.at)"
        " LIMIT ?1",
    [Q_CHANGE_SEQ_GET] = "SELECT seq, tag FROM change_seq WHERE id = 1",
    [Q_CHANGE_SEQ_BUMP] = "UPDATE change_seq SET seq = seq + 1,"
                          " tag = (random() * 9.2e18 - 4.6e18)::bigint WHERE id = 1"
                          " RETURNING seq",
    [Q_GV_GROUPS] =
        "SELECT id, store_id, owner_id, theme, name, chat_id, cap, state FROM chat_groups "
        "ORDER BY id",
    [Q_GV_GROUP] =
        "SELECT id, store_id, owner_id, theme, name, chat_id, cap, state FROM chat_groups "
        "WHERE id = ?1",
    [Q_GV_DAYS] =
        "SELECT group_id, day, speakers, messages FROM chat_group_days ORDER BY group_id, day",
    [Q_GV_DAY] = "SELECT speakers, messages FROM chat_group_days WHERE group_id = ?1 AND day = ?2",
    [Q_GV_STINTS] =
        "SELECT id, group_id, joined_at, joined_day, quit_at, quit_day, quit_scene FROM "
        "chat_group_members WHERE is_staff = 0 ORDER BY id",
    [Q_GV_STINT] =
        "SELECT id, group_id, joined_at, joined_day, quit_at, quit_day, quit_scene, is_staff,"
        " person, unionid FROM chat_group_members WHERE id = ?1",
    [Q_GV_STINT_MEMBERS] =
        "SELECT gm.id, i.member_id FROM chat_group_members gm JOIN identities i ON i.app_id ="
        " '' AND ((i.kind = 'wecom_external_id' AND i.value = gm.person) OR (i.kind = "
        "'unionid' AND i.value = gm.unionid)) WHERE gm.is_staff = 0",
    [Q_GV_PERSON_MEMBERS] =
        "SELECT member_id FROM identities WHERE app_id = '' AND ((kind = 'wecom_external_id' "
        "AND value = ?1) OR (kind = 'unionid' AND value = ?2))",
    [Q_GV_MEMBER_STINTS] =
        "SELECT gm.id FROM chat_group_members gm JOIN identities i ON i.app_id = '' AND "
        "((i.kind = 'wecom_external_id' AND i.value = gm.person) OR (i.kind = 'unionid' AND "
        "i.value = gm.unionid)) WHERE i.member_id = ?1 AND gm.is_staff = 0",
    [Q_GRP_LIVE_STINT_IDS] =
        "SELECT id FROM chat_group_members WHERE group_id = ?1 AND quit_at IS NULL AND "
        "is_staff = 0",
};
