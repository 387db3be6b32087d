/* queries.h — the names of every statement the domain may run.
 *
 * A name says what the statement does; its text lives with the engine
 * (sqlite_queries.c), so the domain never sees SQL. Parameter order is documented
 * beside each name: (in: ...) -> out columns. */
#ifndef SIYU_STORE_QUERIES_H
#define SIYU_STORE_QUERIES_H

#define STORE_QUERY_LIST(Q)                                                                            \
    /* organisation */                                                                                 \
    Q(BRAND_INSERT)  /* (name, now) */                                                                 \
    Q(BRAND_GET)     /* (id) -> id, name, created_at */                                                \
    Q(BRAND_LIST)    /* (after_id, limit) -> as BRAND_GET */                                           \
    Q(STORE_INSERT)  /* (name, code, kind, brand_id, region, city, now) */                             \
    Q(STORE_GET)     /* (id) -> id, name, code, kind, brand_id, region, city, created_at */            \
    Q(STORE_BY_CODE) /* (code) -> id */                                                                \
    Q(STORE_LIST)    /* (after_id, limit) -> as STORE_GET */                                           \
    Q(BRAND_BY_NAME) /* (name) -> id */                                                                \
    Q(STAFF_INSERT)  /* (name, role, store_id, code, now) */                                           \
    Q(STAFF_GET)     /* (id) -> id, name, role, store_id, code, created_at */                          \
    Q(STAFF_BY_CODE) /* (code) -> id */                                                                \
    Q(STAFF_LIST)    /* (after_id, limit, store_id or NULL) -> as STAFF_GET */                         \
    Q(TOKEN_INSERT)  /* (hash, role, staff_id, name, now) */                                           \
    Q(TOKEN_BY_HASH) /* (hash) -> id, hash, role, staff_id, staff store_id */                          \
    /* members */                                                                                      \
    Q(MEMBER_INSERT)     /* (name, gender, birthday, city, store_id, guide_id, channel,                \
                            joined_at, now) */                                                         \
    Q(MEMBER_GET)        /* (id) -> id, name, gender, birthday, city, store_id, guide_id,              \
                            join_channel, joined_at, merged_into, created_at, updated_at */            \
    Q(MEMBER_UPDATE)     /* (name, gender, birthday, city, store_id, guide_id, now, id) */             \
    Q(MEMBER_SET_MERGED) /* (into, now, id) */                                                         \
    Q(MEMBER_LIST)       /* (after_id, limit, store_id or NULL, guide_id or NULL) -> as GET */         \
    Q(IDENTITY_FIND)     /* (kind, app_id, value) -> member_id */                                      \
    Q(IDENTITY_INSERT)   /* (kind, app_id, value, member_id) */                                        \
    Q(IDENTITY_LIST)     /* (member_id) -> kind, app_id, value */                                      \
    Q(IDENTITY_MOVE)     /* (into, from) */                                                            \
    Q(MEMBER_STATS)      /* (member_id) -> orders, gross_cents, refunded_cents, first, last */         \
    Q(MERGE_INSERT)      /* (into, from, now, details json) */                                         \
    Q(MERGE_LIST)        /* (into) -> from_id, at, details */                                          \
    Q(REACH_UPSERT)      /* (member_id, channel, on, at) — keeps the latest by at */                 \
    Q(REACH_LIST)        /* (member_id) -> channel, on, at */                                          \
    Q(REACH_MOVE)        /* (into, from) — keeps the latest per channel */                           \
    Q(REACH_DELETE)      /* (member_id) */                                                             \
    /* orders */                                                                                       \
    Q(ORDER_BY_KEY)       /* (channel, external_id) -> id, digest */                                   \
    Q(ORDER_KEYS_TAKEN)   /* ([[channel, external_id], ...] as JSON) -> i: the keys already used,      \
                             by their position in the list (0-based) */                                \
    Q(ORDER_INSERT)       /* (channel, external_id, store_id, member_id, guide_id, placed_at,          \
                             total, discount, points_used, coupon_code, digest, item_count) */         \
    Q(ORDER_ITEM_INSERT)  /* (order_id, line, sku, category, name, qty, unit_price) */                 \
    Q(ORDER_GET)          /* (id) -> id, channel, external_id, store_id, member_id, guide_id,          \
                             placed_at, total, discount, points_used, coupon_code, refunded */         \
    Q(ORDER_ITEMS)        /* (order_id) -> line, sku, category, name, qty, unit, refunded_qty */       \
    Q(ORDER_ITEM_REFUND)  /* (qty, order_id, line) — only while qty stays refundable */              \
    Q(ORDER_ADD_REFUNDED) /* (amount, id) — only while it stays within the total */                  \
    Q(ORDER_LIST)         /* (after_id, limit, member_id or NULL, store_id or NULL,                    \
                             guide scope or NULL) -> as ORDER_GET */                                   \
    Q(ORDERS_MOVE)        /* (into, from) */                                                           \
    Q(REFUND_BY_KEY)      /* (external_id) -> id, order_id, digest */                                  \
    Q(REFUND_INSERT)      /* (order_id, external_id, amount, at, items json, digest) */                \
    Q(REFUND_GET)         /* (id) -> id, order_id, external_id, amount, at, items */                   \
    Q(REFUND_LIST)        /* (order_id) -> as REFUND_GET */                                            \
    /* events */                                                                                       \
    Q(EVENT_INSERT)    /* (member_id, type, at, props json, digest) */                                 \
    Q(EVENT_BY_DIGEST) /* (digest) -> id */                                                            \
    Q(EVENTS_MOVE)     /* (into, from) */                                                              \
    Q(EVENT_LIST)      /* (member_id, limit) -> id, type, at, props */                                 \
    /* idempotency keys for side-effecting calls */                                                    \
    Q(IDEM_GET) /* (key, route) -> digest, status, body */                                             \
    Q(IDEM_PUT) /* (key, route, digest, status, body, now) */                                          \
    /* whole-store scans: start-up index build, model fitting */                                       \
    Q(SCAN_MEMBER_ORDERS)     /* () -> member_id, placed_at, total, refunded, item_count,              \
                                 store_id, channel, guide_id, id — by member, then time */           \
    Q(SCAN_MEMBERS)           /* () -> id, gender, birthday, city, store_id, guide_id,                 \
                                 join_channel, joined_at — live members by id */                     \
    Q(SCAN_MEMBER_CATEGORIES) /* () -> member_id, category, net_cents — by member */                 \
    Q(SCAN_REACH)             /* () -> member_id, channel, reachable */                                \
    Q(SCAN_ORDERS)            /* () -> id, member_id, store_id, channel, guide_id, placed_at,          \
                                 total, discount, refunded, item_count — every order by id */        \
    Q(SCAN_ITEMS)             /* () -> order_id, line, sku, category, qty, unit, refunded_qty */       \
    Q(SCAN_REFUNDS)           /* () -> order_id, amount, refunded_at — by id */                      \
    Q(SCAN_EVENTS_OF_TYPE)    /* (type) -> member_id, at, props — by id */                           \
    /* models */                                                                                       \
    Q(MODEL_RUN_INSERT)  /* (at, cal_end_day, unit_days, customers, report json) */                    \
    Q(MODEL_RUN_LATEST)  /* () -> id, at, cal_end_day, unit_days, customers, report */                 \
    Q(PREDICTIONS_CLEAR) /* () */                                                                      \
    Q(PREDICTION_PUT)    /* (member_id, run_id, x, p_alive, expected_90d, value, clv) */               \
    Q(PREDICTION_GET)    /* (member_id) -> run_id, x, p_alive, expected_90d, value, clv */             \
    Q(SCAN_PREDICTIONS)  /* () -> member_id, x, p_alive, expected_90d, clv */                          \
    /* tags, saved segments, settings */                                                               \
    Q(TAG_INSERT)        /* (name, kind, expr, now) */                                                 \
    Q(TAG_GET)           /* (id) -> id, name, kind, expr, created_at */                                \
    Q(TAG_BY_NAME)       /* (name) -> id */                                                            \
    Q(TAG_LIST)          /* () -> as TAG_GET, by id */                                                 \
    Q(TAG_DELETE)        /* (id) */                                                                    \
    Q(TAG_MEMBERS_CLEAR) /* (tag_id) */                                                                \
    Q(TAG_MEMBER_ADD)    /* (tag_id, member_id) — no-op when present */                              \
    Q(TAG_MEMBER_REMOVE) /* (tag_id, member_id) */                                                     \
    Q(TAG_MEMBERS_MOVE)  /* (into, from) — manual tags follow a merge */                             \
    Q(SCAN_TAG_MEMBERS)  /* () -> tag_id, member_id */                                                 \
    Q(MEMBER_TAG_NAMES)  /* (member_id) -> name, kind */                                               \
    Q(SEGMENT_INSERT)    /* (name, expr, now) */                                                       \
    Q(SEGMENT_GET)       /* (id) -> id, name, expr, created_at, updated_at */                          \
    Q(SEGMENT_BY_NAME)   /* (name) -> id */                                                            \
    Q(SEGMENT_LIST)      /* (after_id, limit) -> as SEGMENT_GET */                                     \
    Q(SEGMENT_UPDATE)    /* (name, expr, now, id) */                                                   \
    Q(SEGMENT_DELETE)    /* (id) */                                                                    \
    Q(SETTING_GET)       /* (key) -> value */                                                          \
    Q(SETTING_PUT)       /* (key, value) */                                                            \
    /* loyalty: configuration (tiers and settings live in settings) */                                 \
    Q(EARN_RULE_INSERT)     /* (name, spec json, now) */                                               \
    Q(EARN_RULE_LIST)       /* () -> id, name, spec, active, created_at — by id */                   \
    Q(EARN_RULE_DEACTIVATE) /* (id) */                                                                 \
    /* loyalty: accounts and tiers */                                                                  \
    Q(LACCOUNT_ENSURE)     /* (member_id, now) — no-op when present */                               \
    Q(LACCOUNT_GET)        /* (member_id) -> points, tier, tier_since, review_at, grace_until,         \
                              referrer_id, referred_at, referral_order_id, earn_day,                   \
                              earn_day_points, qualify_key, qualify_from, qualify_bound,               \
                              next_expiry */                                                           \
    Q(LACCOUNT_ADD_POINTS) /* (delta, now, member_id, lot expiry or NULL) — creates the account      \
                              if needed; an existing one keeps its next_expiry */                      \
    Q(LACCOUNT_ADD_LOT)    /* as ADD_POINTS; next_expiry becomes the earlier of it and expiry */       \
    Q(LACCOUNT_ADD_EARN)   /* (delta, now, member_id, lot expiry, earn_day, earn_day_points,           \
                              qualify_key, qualify_from, qualify_bound) — ADD_POINTS that also       \
                              sets the order marks; the account must exist */                          \
    Q(LACCOUNT_ADD_EARN_LOT)      /* as ADD_EARN, moving next_expiry as ADD_LOT does */                \
    Q(LACCOUNT_RESET_NEXT_EXPIRY) /* (member_id) — next_expiry from the lots left */                 \
    Q(CHECK_NEXT_EXPIRY)   /* (limit) -> member_id, next_expiry, earliest lot expiry — where the     \
                              account's next_expiry is later than a lot's */                           \
    Q(LACCOUNT_SET_MARKS)  /* (member_id, now, earn_day, earn_day_points, qualify_key,                 \
                              qualify_from, qualify_bound) — creates the account if needed */        \
    Q(LACCOUNT_MARKS_SCAN) /* () -> member_id, earn_day, earn_day_points, qualify_key,                 \
                              qualify_from, qualify_bound — accounts holding marks */                \
    Q(LACCOUNT_SET_TIER)   /* (tier, since, review_at, grace_until, now, member_id) */                 \
    Q(LACCOUNT_SET_REFERRER)       /* (referrer_id, at, now, member_id) */                             \
    Q(LACCOUNT_SET_REFERRAL_ORDER) /* (order_id or NULL, member_id) */                                 \
    Q(LACCOUNT_DELETE)             /* (member_id) */                                                   \
    Q(LACCOUNT_DUE_REVIEW)         /* (now, limit) -> member_id — review or grace end reached */     \
    Q(LACCOUNT_SCAN)               /* () -> member_id, points, tier, review_at, grace_until */         \
    Q(TIER_HISTORY_INSERT)         /* (member_id, at, from, to, reason, order_id) */                   \
    Q(TIER_HISTORY_LIST)           /* (member_id) -> at, from_tier, to_tier, reason, order_id */       \
    Q(TIER_HISTORY_LAST)           /* (member_id) -> to_tier */                                        \
    Q(TIER_HISTORY_MOVE)           /* (into, from) */                                                  \
    Q(MEMBER_SPEND_WINDOW)  /* (member_id, after, upto) -> net cents of orders placed in it,           \
                               the latest order's placed_at, net cents of all after `after` */         \
    Q(MEMBER_EARNED_WINDOW) /* (member_id, after, upto) -> points earned less reversed, NULL,          \
                               the same for everything after `after` */                                \
    Q(MEMBER_ORDER_COUNT)   /* (member_id) -> orders */                                                \
    Q(MEMBER_LAST_ORDER_AT) /* (member_id) -> max placed_at */                                         \
    Q(SCAN_SPEND_WINDOW)    /* (after, upto) -> member_id, net cents — members with orders */        \
    Q(SCAN_EARNED_WINDOW)   /* (after, upto) -> member_id, points earned less reversed */              \
    /* loyalty: the points ledger; a lot is an entry with delta > 0 and what remains of it */          \
    Q(LEDGER_INSERT)         /* (member_id, at, kind, delta, order_id, ref, reason, staff_id,          \
                                available_at, expires_at, remaining, now) */                           \
    Q(LEDGER_BY_REF)         /* (ref) -> id, delta */                                                  \
    Q(LEDGER_LIST)           /* (member_id, before_id, limit) -> id, at, kind, delta, order_id,        \
                                reason, available_at, expires_at, remaining — newest first */        \
    Q(LEDGER_GET)            /* (id) -> as LEDGER_LIST */                                              \
    Q(LEDGER_OF_ORDER)       /* (order_id, kind) -> id, member_id, delta, remaining, reversed;         \
                                any kind but 'earn' */                                                 \
    Q(LEDGER_SUM_REF_PREFIX) /* (prefix) -> sum(delta) of entries whose ref starts with it */          \
    Q(LOTS_SPENDABLE)        /* (member_id, t) -> id, remaining — available, unexpired, FEFO */      \
    Q(LOTS_UNEXPIRED)        /* (member_id, t) -> id, remaining — pending too, FEFO */               \
    Q(LOT_TAKE)              /* (amount, id) — only while that much remains */                       \
    Q(LOT_ADD_REVERSED)      /* (amount, id) */                                                        \
    Q(LOTS_DUE_EXPIRY)       /* (member_id, t) -> id, remaining, expires_at */                         \
    Q(EXPIRY_DUE_MEMBERS)    /* (t, limit) -> member_id */                                             \
    Q(POINTS_SUMMARY)        /* (member_id, t) -> spendable, pending */                                \
    Q(POINTS_NEXT_CHANGE)    /* (member_id, t) -> when after t a lot first turns spendable, and        \
                                first expires (each NULL: none) */                                     \
    Q(POINTS_EXPIRING)       /* (member_id, t) -> expires_at, points — soonest first */              \
    Q(LEDGER_EARN_OF_ORDER)  /* (order_id, member_id) -> as LEDGER_OF_ORDER, the order's earn */       \
    Q(MEMBER_LAST_EARN_AT)   /* (member_id) -> the latest earn entry's at, or NULL */                  \
    Q(POINTS_EARNED_BETWEEN) /* (member_id, from, to) -> points earned by orders in [from, to) */      \
    Q(LEDGER_MOVE)           /* (into, from) */                                                        \
    /* loyalty: coupons */                                                                             \
    Q(CTEMPLATE_INSERT)      /* (name, spec json, stock or NULL, now) */                               \
    Q(CTEMPLATE_GET)         /* (id) -> id, name, spec, stock, issued, created_at */                   \
    Q(CTEMPLATE_LIST)        /* (after_id, limit) -> as CTEMPLATE_GET */                               \
    Q(CTEMPLATE_TAKE)        /* (id) — one from stock, only while some is left */                    \
    Q(COUPON_INSERT)         /* (code, template_id, member_id, issued_at, valid_from, expires_at,      \
                                issue_ref) */                                                          \
    Q(COUPON_BY_CODE)        /* (code) -> id, code, template_id, member_id, first_member_id,           \
                                state, issued_at, valid_from, expires_at, order_id, redeemed_at */     \
    Q(COUPON_BY_REF)         /* (issue_ref) -> code */                                                 \
    Q(COUPON_BY_ORDER)       /* (order_id) -> code */                                                  \
    Q(COUPONS_OF_MEMBER)     /* (member_id) -> as COUPON_BY_CODE — newest first */                   \
    Q(COUPON_RECEIVED_COUNT) /* (member_id, template_id) -> coupons of it the member received */       \
    Q(COUPON_SET_MEMBER)     /* (member_id, id) */                                                     \
    Q(COUPON_REDEEM)         /* (order_id, at, id) — only while issued */                            \
    Q(COUPON_RESTORE)        /* (id) — only while redeemed */                                        \
    Q(COUPON_EXPIRE)         /* (id) — only while issued */                                          \
    Q(COUPONS_DUE_EXPIRY)    /* (t, limit) -> id, member_id */                                         \
    Q(COUPONS_MOVE)          /* (into, from) */                                                        \
    Q(COUPON_EVENT_INSERT)   /* (coupon_id, at, kind, member_id, order_id, details) */                 \
    Q(COUPON_EVENTS)         /* (coupon_id) -> at, kind, member_id, order_id, details */               \
    /* loyalty: invariants for siyu check (each returns violating rows, at most ?1) */                 \
    Q(CHECK_BALANCES)      /* (limit) -> member_id, account points, ledger sum, lots remaining */      \
    Q(CHECK_COUPON_STATES) /* (limit) -> code, state, redeemed, restored */                            \
    Q(CHECK_COUPON_ORDERS) /* (limit) -> coupon_code, orders — code on 2+ live orders */             \
    Q(CHECK_STOCK)         /* (limit) -> template_id, stock, issued, coupons */                        \
    Q(CHECK_ORDER_POINTS)  /* (limit) -> order_id, points_used — no matching redemption */           \
    /* journeys: definitions */                                                                        \
    Q(JOURNEY_INSERT)       /* (name, spec, state, now) */                                             \
    Q(JOURNEY_GET)          /* (id) -> id, name, spec, state, version, last_day, created_at,           \
                               updated_at */                                                           \
    Q(JOURNEY_LIST)         /* (after_id, limit) -> as JOURNEY_GET */                                  \
    Q(JOURNEY_UPDATE_SPEC)  /* (name, spec, now, id) — version + 1 */                                \
    Q(JOURNEY_SET_STATE)    /* (state, now, id) */                                                     \
    Q(JOURNEY_SET_LAST_DAY) /* (day, id) */                                                            \
    Q(JOURNEYS_ACTIVE)      /* () -> id — active journeys by id */                                   \
    /* journeys: member runs (durable timers) and their log */                                         \
    Q(RUN_INSERT)     /* (journey_id, member_id, step, step_index, next_at, holdout, now) */           \
    Q(RUN_ACTIVE_FOR) /* (journey_id, member_id) -> id */                                              \
    Q(RUN_LAST_ENTRY) /* (journey_id, member_id) -> max entered_at */                                  \
    Q(RUN_GET)        /* (id) -> id, journey_id, member_id, state, step, step_index,                   \
                         next_at, wait_event, holdout, entered_at, goal_at, task_id,                   \
                         channel_try */                                                                \
    Q(RUNS_DUE)       /* (now, limit) -> id — active runs whose timer is due */                      \
    Q(RUN_UPDATE)     /* (step, step_index, next_at, wait_event, task_id, channel_try, id) */          \
    Q(RUN_END)        /* (state, now, id) */                                                           \
    Q(RUNS_WAITING)   /* (member_id, event) -> id — active runs waiting for the event */             \
    Q(RUNS_GOAL_OPEN) /* (member_id, since) -> id, journey_id, entered_at */                           \
    Q(RUN_SET_GOAL)   /* (at, id) */                                                                   \
    Q(RUN_STATS)      /* (journey_id) -> holdout, runs, with goal, active */                           \
    Q(RUN_REVENUE)    /* (journey_id, window seconds) -> holdout, net cents of the members'            \
                         orders placed within the window after entering */                             \
    Q(JLOG_INSERT)    /* (journey_id, run_id, step, at, outcome) */                                    \
    Q(JLOG_COUNTS)    /* (journey_id) -> step, outcome, n */                                           \
    Q(JSEG_LIST)      /* (journey_id) -> member_id — ascending */                                    \
    Q(JSEG_ADD)       /* (journey_id, member_id) */                                                    \
    Q(JSEG_REMOVE)    /* (journey_id, member_id) */                                                    \
    Q(JCURSOR_GET)    /* (name) -> last_id */                                                          \
    Q(JCURSOR_PUT)    /* (name, last_id) */                                                            \
    Q(JCURSOR_START)  /* () -> max ids: members, orders, refunds, tier_history,                        \
                         coupon_events, events */                                                      \
    Q(SRC_MEMBERS)    /* (after, limit) -> id, member_id, at — members joined */                     \
    Q(SRC_ORDERS)     /* (after, limit) -> id, member_id, at — members' orders */                    \
    Q(SRC_REFUNDS)    /* (after, limit) -> id, member_id, at */                                        \
    Q(SRC_TIERS)      /* (after, limit) -> id, member_id, at */                                        \
    Q(SRC_COUPONS)    /* (after, limit) -> id, member_id, at — coupons received */                   \
    Q(SRC_EVENTS)     /* (after, limit) -> id, member_id, at, type */                                  \
    Q(DRY_SOURCE)     /* (source, since, type) -> member_id — distinct members with that             \
                         event since: source 0 joined, 1 orders, 2 refunds, 3 tiers,                   \
                         4 coupons, 5 events of type */                                                \
    /* journeys: channels, the outbox, guide tasks, consent */                                         \
    Q(CHANNEL_PUT)        /* (name, config, now) */                                                    \
    Q(CHANNEL_GET)        /* (name) -> config */                                                       \
    Q(CHANNEL_LIST)       /* () -> name, config, updated_at */                                         \
    Q(MESSAGE_INSERT)     /* (journey_id, run_id, member_id, channel, body, status,                    \
                             next_attempt_at, now, address json, template json) */                     \
    Q(MESSAGE_GET)        /* (id) -> id, journey_id, run_id, member_id, channel, body, status,         \
                             attempts, next_attempt_at, created_at, sent_at, delivered_at,             \
                             error, address, template */                                               \
    Q(MESSAGES_OF_MEMBER) /* (member_id, before_id, limit) -> as MESSAGE_GET, newest first */          \
    Q(MESSAGES_BY_STATUS) /* (status, before_id, limit) -> as MESSAGE_GET, newest first */             \
    Q(MESSAGES_DUE)       /* (now, limit) -> id, channel, body, attempts, member_id, journey_id,       \
                             created_at, address, template */                                          \
    Q(MESSAGE_SENT)       /* (now, id) — only while queued or retrying */                            \
    Q(MESSAGE_RETRY)      /* (next_attempt_at, error, id) */                                           \
    Q(MESSAGE_DEAD)       /* (error, now, id) */                                                       \
    Q(MESSAGE_RECEIPT)    /* (status, at, id) */                                                       \
    Q(MESSAGE_GUIDE_DONE) /* (status, now, run_id) — the run's message awaiting its guide */         \
    Q(MESSAGES_HISTORY)   /* (member_id, since) -> created_at, channel — the member's marketing      \
                             messages the guardrails count */                                          \
    Q(MESSAGES_SINCE) /* (member_id, since) -> n — marketing messages counted by the budget */       \
    Q(MESSAGES_CHANNEL_SINCE) /* (member_id, channel, since) -> n */                                   \
    Q(JOURNEY_MESSAGE_COUNTS) /* (journey_id) -> status, n */                                          \
    Q(TASK_INSERT)            /* (guide_id, member_id, journey_id, run_id, kind, script, channel,      \
                                 due_at, now) */                                                       \
    Q(TASK_GET)       /* (id) -> id, guide_id, member_id, journey_id, run_id, kind, script,            \
                         channel, due_at, state, created_at, done_at */                                \
    Q(TASK_LIST)      /* (guide_id or NULL, state or NULL, after_id, limit) -> as TASK_GET */          \
    Q(TASK_SET_STATE) /* (state, now, id) — only while open */                                       \
    Q(CONSENT_PUT)    /* (member_id, purpose, channel, granted, source, text_version, at)              \
                         — keeps the latest by at */                                                 \
    Q(CONSENT_GET)    /* (member_id, purpose, channel) -> granted */                                   \
    Q(CONSENT_LIST)   /* (member_id) -> purpose, channel, granted, source, text_version, at */         \
    /* counts for metrics and the demo */                                                              \
    Q(COUNT_MEMBERS) /* () -> n */                                                                     \
    Q(COUNT_ORDERS)  /* () -> n */                                                                     \
    /* scope: tokens with expiry, revocation and last use; idempotency keys per caller */              \
    Q(TOKEN_INSERT2)   /* (hash, role, staff_id, name, now, store_id, expires_at) */                   \
    Q(TOKEN_RESOLVE)   /* (hash) -> id, hash, role, staff_id, store_id (token's or staff's),           \
                          expires_at, revoked_at, last_used_at, staff role */                          \
    Q(TOKEN_LIST)      /* (after_id, limit) -> id, role, staff_id, store_id, name,                     \
                          created_at, expires_at, revoked_at, last_used_at */                          \
    Q(TOKEN_GET)       /* (id) -> as TOKEN_LIST */                                                     \
    Q(TOKEN_REVOKE)    /* (now, id) — only while not revoked */                                      \
    Q(TOKEN_TOUCH)     /* (now, id) */                                                                 \
    Q(IDEM_GET2)       /* (caller, key, route) -> digest, status, body */                              \
    Q(IDEM_PUT2)       /* (caller, key, route, digest, status, body, now) */                           \
    Q(SCOPE_MEMBER)    /* (id) -> store_id, guide_id */                                                \
    Q(SCOPE_ORDER)     /* (id) -> store_id, guide_id, member's guide_id */                             \
    Q(SCOPE_STAFF)     /* (id) -> store_id, role */                                                    \
    Q(SCOPE_TASK)      /* (id) -> guide_id, guide's store_id */                                        \
    Q(SCOPE_COUPON)    /* (code) -> member_id */                                                       \
    Q(SCOPE_IDENTITY)  /* (kind, app_id, value) -> member_id (live, merges followed) */                \
    Q(SCOPE_STORE)     /* (id) -> id */                                                                \
    Q(TASK_LIST_STORE) /* (guide_id or NULL, state or NULL, after_id, limit, store_id) ->              \
                          as TASK_GET: the tasks of one store's guides */                              \
    /* messaging (issue 14): consent on merges, message addresses */                                   \
    Q(CONSENT_MOVE)        /* (into, from) — keeps the latest per purpose and channel */             \
    Q(CONSENT_DELETE)      /* (member_id) */                                                           \
    Q(IDENTITY_OF_KIND)    /* (member_id, kind, app_id or NULL) -> app_id, value — the first */      \
    Q(MESSAGE_ADDRESS_SET) /* (address json, template json or NULL, id) */                             \
    Q(COUPON_RECEIVED_SINCE) /* (member_id, template_id, since) -> n issued to or received by */       \
    Q(CHECK_COUPON_LIMITS)   /* (limit) -> member_id, template_id, n, limit, period — over it */     \
    /* journeys (engine): failed runs, trigger instants, activation watermarks */                      \
    Q(RUN_INSERT_AT)      /* (journey_id, member_id, step, step_index, next_at, holdout, now,          \
                             trigger_at) */                                                            \
    Q(RUN_TRIGGER_AT)     /* (id) -> trigger instant (entered_at when none was kept) */                \
    Q(RUN_FAIL)           /* (now, error, id) — the run ends as failed, with its error */            \
    Q(JLOG_INSERT_DETAIL) /* (journey_id, run_id, step, at, outcome, detail) */                        \
    Q(JLOG_FAILURES)      /* (journey_id, limit) -> run_id, step, at, detail — newest first */       \
    Q(JLOG_DETAILS)       /* (journey_id, limit) -> step, outcome, detail, n — the reasons           \
                             logged with outcomes, most frequent first */                              \
    Q(DRY_EVENTS)         /* (source, since, type) -> member_id, at — as DRY_SOURCE, every           \
                             occurrence with its instant, in time order */                             \
    Q(DRY_FIRST_EVENT)    /* (source, member_id, after, until, type) -> first instant in               \
                             (after, until] */                                                         \
    /* rights (issue 21): export and erasure. EXPORT_* answer whole rows (SELECT *): the               \
       export renders them by column name, so a column added later is exported too */                  \
    Q(EXPORT_MEMBERS)         /* (id) -> members rows of the member and all merged into it */          \
    Q(EXPORT_IDENTITIES)      /* (member_id) -> identities rows */                                     \
    Q(EXPORT_MEMBER_REACH)    /* (member_id) -> member_reach rows */                                   \
    Q(EXPORT_MEMBER_CONSENTS) /* (member_id) -> member_consents rows */                                \
    Q(EXPORT_CONSENTS)    /* (member_id) -> consents rows (the per-channel opt-outs before 8) */       \
    Q(EXPORT_EVENTS)      /* (member_id) -> events rows */                                             \
    Q(EXPORT_ORDERS)      /* (member_id) -> orders rows */                                             \
    Q(EXPORT_ORDER_ITEMS) /* (order_id) -> order_items rows */                                         \
    Q(EXPORT_REFUNDS)     /* (order_id) -> refunds rows */                                             \
    Q(EXPORT_PREDICTIONS) /* (member_id) -> member_predictions rows */                                 \
    Q(EXPORT_TAG_MEMBERS) /* (member_id) -> tag_members rows with the tag's name and kind */           \
    Q(EXPORT_LOYALTY_ACCOUNTS)        /* (member_id) -> loyalty_accounts rows */                       \
    Q(EXPORT_POINTS_LEDGER)           /* (member_id) -> points_ledger rows */                          \
    Q(EXPORT_TIER_HISTORY)            /* (member_id) -> tier_history rows */                           \
    Q(EXPORT_COUPONS)                 /* (member_id) -> coupons rows */                                \
    Q(EXPORT_COUPON_EVENTS)           /* (member_id) -> coupon_events rows naming the member */        \
    Q(EXPORT_JOURNEY_RUNS)            /* (member_id) -> journey_runs rows */                           \
    Q(EXPORT_JOURNEY_SEGMENT_MEMBERS) /* (member_id) -> journey_segment_members rows */                \
    Q(EXPORT_MESSAGES)                /* (member_id) -> messages rows */                               \
    Q(EXPORT_GUIDE_TASKS)             /* (member_id) -> guide_tasks rows */                            \
    Q(EXPORT_MERGES)                  /* (member_id) -> merges rows into or from the member */         \
    Q(EXPORT_ERASURES)                /* (member_id) -> erasures rows */                               \
    Q(ERASURE_GET)          /* (member_id) -> at, staff_id, role, reason, request_id, members */       \
    Q(ERASURE_INSERT)       /* (member_id, at, staff_id, role, reason, request_id, members) */         \
    Q(ERASE_CHAIN)          /* (id) -> id: the member and every member merged into it */               \
    Q(ERASE_NEEDLES)        /* (member_id) -> text: identity values and the name, to scrub */          \
    Q(ERASE_MEMBER)         /* (now, id) — name, gender, birthday, city cleared */                   \
    Q(ERASE_IDENTITIES)     /* (member_id) — the identities deleted: never matched again */          \
    Q(ERASE_OLD_CONSENTS)   /* (member_id) */                                                          \
    Q(ERASE_MESSAGES)       /* (member_id) — texts, addresses, templates, errors cleared;            \
                               pending ones skipped */                                                 \
    Q(ERASE_TASKS)          /* (now, member_id) — scripts cleared; open tasks skipped */             \
    Q(ERASE_RUNS)           /* (now, member_id) — active journey runs exited, errors cleared */      \
    Q(ERASE_MERGES)         /* (member_id) — the identities in merge records removed */              \
    Q(ERASE_EVENT_PROPS)    /* (member_id, needle) — props naming the needle cleared */              \
    Q(ERASE_LEDGER_REASONS) /* (member_id, needle) — reasons naming the needle cleared */            \
    Q(ERASE_COUPON_DETAILS) /* (needle) — coupon event details naming it cleared */                  \
    Q(ERASE_IDEMPOTENCY)    /* (needle) — stored answers naming it forgotten */                      \
    Q(ERASE_IDEMPOTENCY_KEYS) /* (needle) — the same for the per-caller keys */                      \
    /* writer: readiness and the background jobs' backlog */                                           \
    Q(STORE_PING)           /* () -> 1 — the store answers */                                        \
    Q(BACKLOG_RUNS_DUE)     /* (now) -> n — active journey runs whose next step is due */            \
    Q(BACKLOG_MESSAGES_DUE) /* (now) -> n — messages queued or retrying, due to be sent */           \
    Q(TAG_MEMBER_HAS)       /* (tag_id, member_id) -> 1 when the member carries the tag */             \
    /* review (issue 14): the outbox re-checks consent before a send */                                \
    Q(MESSAGE_SKIP) /* (error, id) — a queued or retrying message that must not go */                \
    /* merges: a member's journeys, messages and tasks follow it onto the survivor */                  \
    Q(RUNS_MERGE_EXIT) /* (into, from, now) — from's active runs in a journey where into             \
                          has one too end as exited */                                                 \
    Q(RUNS_MOVE)       /* (into, from) */                                                              \
    Q(MESSAGES_MOVE)   /* (into, from) */                                                              \
    Q(TASKS_MOVE)      /* (into, from) */                                                              \
    /* numbers: order totals against their lines and refunds (siyu check) */                           \
    Q(CHECK_ORDER_LINES)   /* () -> order id, total, discount, refunded, qty, unit (one row per        \
                              line, NULL line for an order without lines), by order id */              \
    Q(CHECK_ORDER_REFUNDS) /* () -> order id, refunded, amount or NULL (one row per refund), by        \
                              order, for orders with refunds or a refunded amount */                   \
    /* numbers: profile fields filled on a create-or-match (the member 360 shows them) */              \
    Q(PROFILE_CHANGE_INSERT)  /* (member_id, at, source, details) */                                   \
    Q(PROFILE_CHANGES)        /* (member_id) -> at, source, details, newest first, at most 50 */       \
    Q(EXPORT_PROFILE_CHANGES) /* (member_id) -> profile_changes rows (the member's export) */          \
    /* games (issue 17): campaigns, prizes, plays, red envelope packets */                             \
    Q(GAME_INSERT)           /* (kind, name, starts_at, ends_at, rules, budget_cents,                  \
                                plays_per_day, plays_per_member, entry_points, grabs_per_member,       \
                                now) */                                                                \
    Q(GAME_GET)              /* (id) -> id, kind, name, starts_at, ends_at, rules, budget_cents,       \
                                spent_cents, plays_per_day, plays_per_member, entry_points,            \
                                grabs_per_member, created_at */                                        \
    Q(GAME_LIST)             /* (after id, limit) -> as GAME_GET */                                    \
    Q(GAME_SPEND)            /* (cost, id) — only while the spend stays within the budget */         \
    Q(GAME_PRIZE_INSERT)     /* (campaign_id, idx, name, kind, template_id, points, gift,              \
                                odds_ppb, stock, cost_cents) */                                        \
    Q(GAME_PRIZES)           /* (campaign_id) -> id, idx, name, kind, template_id, points, gift,       \
                                odds_ppb, stock, won, cost_cents */                                    \
    Q(GAME_PRIZE_TAKE)       /* (id) — only while won < stock */                                     \
    Q(GAME_PLAY_GET)         /* (campaign_id, play_id) -> member_id, at, draw, prize_id, outcome,      \
                                cost_cents, entry_points, coupon_code */                               \
    Q(GAME_PLAY_INSERT)      /* (campaign_id, member_id, play_id, at, day, draw, prize_id,             \
                                outcome, cost_cents, entry_points, coupon_code) */                     \
    Q(GAME_PLAY_COUNTS)      /* (campaign_id, member_id, day) -> plays that day, plays in all */       \
    Q(GAME_PACKET_INSERT)    /* (campaign_id, seq, amount_cents) */                                    \
    Q(GAME_PACKET_TAKE)      /* (member_id, grab_id, now, campaign_id) — the first unclaimed         \
                                packet */                                                              \
    Q(GAME_PACKET_BY_GRAB)   /* (campaign_id, grab_id) -> id, seq, amount_cents, member_id,            \
                                grabbed_at, points */                                                  \
    Q(GAME_PACKET_POINTS)    /* (points, id) */                                                        \
    Q(GAME_GRABS_OF)         /* (campaign_id, member_id) -> packets the member grabbed */              \
    Q(GAME_REPORT_PLAYS)     /* (campaign_id) -> plays, participants, wins, spend of plays, entry      \
                                points */                                                              \
    Q(GAME_REPORT_PACKETS)   /* (campaign_id) -> packets, grabbed, amount grabbed, amount left,        \
                                grabbers, total, min, max */                                           \
    Q(GAME_CHECK_PRIZES)     /* (limit) -> campaign_id, prize_id, stock, won, plays that won it */     \
    Q(GAME_CHECK_SPEND)      /* (limit) -> campaign_id, budget, spent, sum of plays' cost */           \
    Q(GAME_CHECK_PACKETS)    /* (limit) -> campaign_id, packets, want, sum, total, out of bounds       \
                              */                                                                       \
    Q(GAME_CHECK_CAPS)       /* (limit) -> campaign_id, member_id, day or NULL, n, cap — over a      \
                                cap */                                                                 \
    Q(EXPORT_CAMPAIGN_PLAYS) /* (member_id) -> campaign_plays rows */                                  \
    Q(EXPORT_CAMPAIGN_PACKETS) /* (member_id) -> campaign_packets rows */                              \
    /* guides (issue 15): WeCom userids, contacts as edges, channel QR codes */                        \
    Q(STAFF_WECOM_GET)      /* (id) -> wecom_userid */                                                 \
    Q(STAFF_WECOM_SET)      /* (wecom_userid or NULL, id) */                                           \
    Q(STAFF_BY_WECOM)       /* (wecom_userid) -> id, store_id, role */                                 \
    Q(WECOM_EVENT_SEEN)     /* (digest) -> 1 when an event of this content was recorded */             \
    Q(WECOM_EVENT_PUT)      /* (digest, event, at, now) */                                             \
    Q(CONTACT_GET)          /* (guide_id, external_userid) -> id, member_id */                         \
    Q(CONTACT_ADD)          /* (member_id, guide_id, external_userid, added_at, add_way, state,        \
                               qr_code_id, remark, now) — a re-add revives the edge */               \
    Q(CONTACT_EDIT)         /* (remark or NULL, state or NULL, now, guide_id, external_userid) */      \
    Q(CONTACT_GUIDE_DEL)    /* (at, now, guide_id, external_userid) — the guide deleted */           \
    Q(CONTACT_CUSTOMER_DEL) /* (at, now, guide_id, external_userid) — the customer deleted */        \
    Q(CONTACTS_OF_MEMBER)   /* (member_id) -> guide_id, guide name, wecom_userid, external_userid,     \
                               added_at, add_way, state, qr_code_id, remark, customer_deleted_at,      \
                               guide_deleted_at — oldest first */                                    \
    Q(CONTACTS_LIVE_COUNT)  /* (member_id) -> live edges */                                            \
    Q(CONTACT_CREDITED)     /* (member_id) -> guide_id: the bound guide when a live contact,           \
                               else the earliest live edge's guide */                                  \
    Q(CONTACTS_MOVE)        /* (into, from) — a merge moves the edges */                             \
    Q(MEMBER_ACQUIRED_SET)  /* (qr_code_id, campaign, id) — only when not yet attributed */          \
    Q(MEMBER_ACQUISITION)   /* (id) -> qr_code_id, campaign */                                         \
    Q(QR_INSERT)            /* (name, store_id, rotation, daily_cap, backup_guide_id, schedule,        \
                               campaign, cost_cents, now, target) */                                   \
    Q(QR_SET_STATE)         /* (state, id) */                                                          \
    Q(QR_GET)               /* (id) -> id, name, state, store_id, rotation, daily_cap,                 \
                               backup_guide_id, schedule, campaign, cost_cents, rr_next, target */     \
    Q(QR_BY_STATE)          /* (state) -> id, store_id, campaign */                                    \
    Q(QR_GUIDE_ADD)         /* (code_id, guide_id, position) */                                        \
    Q(QR_GUIDES)            /* (code_id) -> guide_id — in rotation order */                          \
    Q(QR_STORE_GUIDES)      /* (store_id) -> guide_id — the store's guides by id */                  \
    Q(QR_SET_NEXT)          /* (rr_next, id) */                                                        \
    Q(QR_SCAN_REPEAT)       /* (code_id, day, external_userid) -> guide_id */                          \
    Q(QR_SCAN_COUNTS)       /* (code_id, day) -> guide_id, scans counted */                            \
    Q(QR_SCAN_INSERT)       /* (code_id, day, guide_id, external_userid or NULL, now) */               \
    Q(QR_STATS)             /* (code_id) -> scans, contacts_added, new_members,                        \
                               first_orders_30d, sales_cents (net of refunds) */                       \
    Q(EXPORT_CONTACTS)      /* (member_id) -> contacts rows */                                         \
    Q(ERASE_CONTACTS)    /* (member_id) — remarks and external userids cleared, edges ended */       \
    Q(REACH_WECOM_EDGES) /* (member_id) — a member with edges: reach.wecom is "has a live            \
                            edge" (after a merge moved edges and reach rows together) */               \
    Q(CONTACTS_SUMMARY)  /* (member_id) -> live edges, first added_at (NULL: none) */                  \
    Q(SCAN_CONTACTS)     /* () -> member_id, live edges, first added_at — members with edges */      \
    /* audit (issue 21): consent history, the audit log, retention */                                  \
    Q(CONSENT_HISTORY_INSERT) /* (member_id, purpose, channel, granted, source, text_version, at)      \
                               */                                                                      \
    Q(CONSENT_HISTORY_LIST) /* (member_id) -> purpose, channel, granted, source, text_version, at      \
                             */                                                                        \
    Q(CONSENT_HISTORY_MOVE) /* (into, from) */                                                         \
    Q(CONSENT_HISTORY_DELETE) /* (member_id) */                                                        \
    Q(EXPORT_CONSENT_HISTORY) /* (member_id) -> consent_history rows */                                \
    Q(EXPORT_AUDIT_MEMBERS)   /* (member_id) -> audit_members rows */                                  \
    Q(AUDIT_INSERT)        /* (at, staff_id, role, action, member_ids json, request_id, detail) */     \
    Q(AUDIT_MEMBER_INSERT) /* (member_id, audit_id) */                                                 \
    Q(AUDIT_LIST)          /* (member_id, staff_id, action, from, to, after_id, limit) -> id, at,      \
                              staff_id, role, action, member_ids, request_id, detail */                \
    Q(RETENTION_GET)       /* () -> events_days, messages_days, audit_days, updated_at */              \
    Q(RETENTION_PUT)       /* (events_days, messages_days, audit_days, at) */                          \
    Q(RETENTION_EVENTS)    /* (cutoff, limit) — events older, except types reports read */           \
    Q(RETENTION_MESSAGES)  /* (cutoff, limit) — finished messages older */                           \
    Q(RETENTION_AUDIT_MEMBERS) /* (cutoff, limit) — the index rows of the oldest audit rows */       \
    Q(RETENTION_AUDIT)         /* (cutoff, limit) — audit rows older */                              \
    Q(LOGIN_PUT)       /* (staff_id, username, hash, now) — sets or resets, clears failures */       \
    Q(LOGIN_BY_NAME)   /* (username) -> staff_id, hash, failures, locked_until, staff role */          \
    Q(LOGIN_GET)       /* (staff_id) -> username, failures, locked_until, updated_at */                \
    Q(LOGIN_FAIL)      /* (staff_id, now, max failures, locked until) — counts a failure */          \
    Q(LOGIN_OK)        /* (staff_id) — a success clears the failures */                              \
    Q(LOGIN_DELETE)    /* (staff_id) */                                                                \
    Q(SESSION_INSERT)  /* (hash, staff_id, csrf, now, expires_at) */                                   \
    Q(SESSION_RESOLVE) /* (hash) -> id, hash, staff_id, csrf, expires_at, revoked_at,                  \
                          staff role, staff store_id, staff name */                                    \
    Q(SESSION_GET)     /* (id) -> csrf, created_at, expires_at, username */                            \
    Q(SESSION_REVOKE)  /* (now, id) — only while not revoked */                                      \
    Q(SESSION_REVOKE_STAFF) /* (now, staff_id) — every open session of a staff member */             \
    /* communities (issue 16): groups, stints, activity, codes, seats, group sales */                  \
    Q(GRP_EVENT_SEEN)     /* (digest) -> 1 when a group event of this content was recorded */          \
    Q(GRP_EVENT_PUT)      /* (digest, event, at, now) */                                               \
    Q(GRP_BY_CHAT)        /* (chat_id) -> id, store_id, dismissed_at */                                \
    Q(GRP_INSERT)         /* (chat_id, store_id, owner_id, owner_userid, name, theme, cap,             \
               created_at, now) */                                                                     \
    Q(GRP_UPDATE)         /* (name or NULL, owner_id, owner_userid or NULL: kept, now, id): a new      \
               owner of a departed owner's group: inherited */                                         \
    Q(GRP_DISMISS)        /* (at, now, id) */                                                          \
    Q(GRP_DISMISS_STINTS) /* (at, day, group_id): every live stint ends with the group */              \
    Q(GRP_GET)        /* (id) -> id, chat_id, store_id, owner_id, owner_userid, name, theme, cap,      \
              state, created_at, dismissed_at, updated_at */                                           \
    Q(GRP_LIST)       /* (store_id or NULL, after_id, limit) -> as GRP_GET */                          \
    Q(GRP_PATCH)      /* (theme or NULL, cap or NULL, now, id) */                                      \
    Q(GRP_SET_STATE)  /* (state, owner_id or NULL: kept, now, id) */                                   \
    Q(GRP_OF_OWNER)   /* (owner_id) -> id: the owner's groups not dismissed */                         \
    Q(GRP_LIVE_STINT) /* (group_id, person) -> id, is_staff */                                         \
    Q(GRP_JOIN)       /* (group_id, person, is_staff, unionid, joined_at, joined_day,                  \
             join_scene, state, inviter, code_id) */                                                   \
    Q(GRP_QUIT)       /* (quit_at, quit_day, quit_scene, id) */                                        \
    Q(GRP_LIVE_CUSTOMERS) /* (group_id) -> customers in the group now */                               \
    Q(GRP_PEOPLE)         /* (group_id) -> person, is_staff, member_id or NULL, joined_at,             \
               join_scene, state, inviter, code_id: live stints */                                     \
    Q(GRP_ACT_PUT)        /* (group_id, person, day, messages): replaces; changes nothing (0           \
              changes) when the count is the same */                                                   \
    Q(GRP_DAY_ROLLUP)     /* (group_id, day): the group-day roll-up computed again from the            \
           activity */                                                                                 \
    Q(GRP_STINTS)         /* (group_id) -> joined_day, quit_day or NULL, quit_scene: customers */      \
    Q(GRP_DAYS)           /* (group_id, from_day, to_day) -> day, speakers, messages */                \
    Q(GRP_SILENT)         /* (group_id, since_day) -> live customers who spoke since the day (the      \
               rest are silent) */                                                                     \
    Q(GCODE_INSERT)       /* (store_id, theme, cap, hold_seconds, now) */                              \
    Q(GCODE_SET_STATE)    /* (state, id) */                                                            \
    Q(GCODE_GET)          /* (id) -> id, store_id, theme, cap, state, hold_seconds */                  \
    Q(GCODE_BY_STATE)     /* (state) -> id, store_id */                                                \
    Q(GCODE_GROUPS)       /* (store_id, theme) -> id, chat_id, cap: groups a code serves, oldest       \
             first */                                                                                  \
    Q(SEAT_OPEN)          /* (group_id, now) -> seats reserved, not kept, not lapsed */                \
    Q(SEAT_REPEAT)        /* (code_id, external_userid, now) -> group_id of the customer's open        \
              seat */                                                                                  \
    Q(SEAT_INSERT)        /* (code_id, group_id, external_userid or NULL, now, expires_at) */          \
    Q(SEAT_KEEP_EXT)      /* (at, group_id, external_userid): the customer's open seat is kept */      \
    Q(SEAT_KEEP_CODE)     /* (at, group_id, code_id): the oldest open anonymous seat of the            \
           code */                                                                                     \
    Q(GREQ_PENDING)       /* (code_id) -> id of the code's unfulfilled request */                      \
    Q(GREQ_INSERT)        /* (code_id, store_id, theme, now) */                                        \
    Q(GREQ_FULFIL)        /* (group_id, now, store_id, theme): a new group of the store and theme      \
              answers */                                                                               \
    Q(GREQ_LIST)          /* (pending only 0/1, after_id, limit) -> id, code_id, store_id, theme,      \
                requested_at, group_id, fulfilled_at, push_state, push_attempts,                       \
                pushed_at, push_error */                                                               \
    Q(GSALE_INSERT)       /* (name or NULL, from_at, to_at, now) */                                    \
    Q(GSALE_GROUP_ADD)    /* (sale_id, group_id) */                                                    \
    Q(GSALE_SKU_ADD)      /* (sale_id, sku) */                                                         \
    Q(GSALE_GET)          /* (id) -> id, name, from_at, to_at, created_at */                           \
    Q(GSALE_GROUPS)       /* (sale_id) -> group_id, store_id */                                        \
    Q(GSALE_SKUS)         /* (sale_id) -> sku */                                                       \
    Q(GSALE_LINES)        /* (sale_id) -> order_id, line, sku, qty net of refunds,                     \
              unit_price_cents, total_cents, refunded_cents: promoted lines of orders members          \
              placed in the window while in one of the groups */                                       \
    Q(GRP_ORDERS)         /* (from, to, store_id or NULL, within seconds of joining or NULL) ->        \
               group_id, order_id, total_cents, refunded_cents: orders members placed while in the     \
               group */                                                                                \
    Q(GRP_BOARD)        /* (from_day, to_day, store_id or NULL) -> id, store_id, owner_id, theme,      \
              name, chat_id, cap, state, speaker-days, messages */                                     \
    Q(GRP_BOARD_STINTS) /* (from_day, to_day, store_id or NULL) -> group_id, joins, quits,             \
       members at the end, member-days */                                                              \
    Q(GRP_CONVERSION)   /* (from, to, store_id or NULL) -> store_id, in a group 0/1,                   \
         members, buyers: the home store's members who had joined by `to` */                           \
    Q(GRP_MEMBER_SUMMARY)    /* (member_id) -> groups the member is in now, first joined_at            \
          (NULL: never) */                                                                             \
    Q(SCAN_MEMBER_GROUPS)    /* () -> member_id, groups now, first joined_at: members with             \
          stints */                                                                                    \
    Q(EXPORT_GROUP_MEMBERS)  /* (member_id) -> chat_group_members rows */                              \
    Q(EXPORT_GROUP_ACTIVITY) /* (member_id) -> chat_group_activity rows */                             \
    Q(ERASE_GROUP_ACTIVITY)  /* (member_id): the member's activity keeps its counts under a            \
        pseudonym */                                                                                   \
    Q(ERASE_GROUP_SEATS)     /* (member_id): seats forget the customer */                              \
    Q(ERASE_GROUP_MEMBERS)   /* (member_id): the member's stints keep their days under a               \
         pseudonym */                                                                                  \
    Q(GRP_PERSON_MEMBER)     /* (person, unionid or NULL) -> member_id the person is matched           \
           to */                                                                                       \
    Q(CHECK_GROUP_DAYS)      /* () -> group_id, day: roll-up rows that differ from the activity */     \
    Q(CHECK_GROUP_SEATS)     /* () -> group_id, customers in it now who joined through a code,         \
           cap: groups over the code's cap or their own */                                             \
    Q(CHECK_GROUP_SEAT_STORE) /* () -> seat id: seats in a group of another store or theme than        \
           their code's, or kept with no stint from the code */                                        \
    /* several nodes on one store: the change log, its notification, the jobs' lease */                \
    Q(CHANGE_LOG_WRITE) /* (node, changes as JSON [[kind, id, other], …], at) */                     \
    Q(CHANGE_NOTIFY)    /* (node) — wakes the other nodes when the transaction commits */            \
    Q(CHANGE_LOG_MAX)   /* () -> seq — the last change logged (0: none) */                           \
    Q(CHANGE_LOG_AFTER) /* (seq, node, limit) -> seq, kind, id, other — other nodes' changes */      \
    Q(CHANGE_LOG_PRUNE) /* (cutoff, limit) — changes older than every node's catch-up */             \
    Q(JOBS_LEASE)     /* (key) -> held — this connection holds the jobs' lease (or takes it) */      \
    Q(ERASE_QR_SCANS) /* (value) — a QR code's scans forget an erased WeCom id */                    \
    Q(ERASE_EVENT_PROPS_NAMING) /* (value) — any member's event props naming it anywhere */          \
    Q(TCAMP_INSERT)     /* (name, kind, script, content_ids, target, recurring, due_at, due_hours,     \
                           holdout_pct, window_days, remind_hours, expire_hours, store_id, created_by, \
                           created_at) */                                                              \
    Q(TCAMP_GET)        /* (id) -> id, name, kind, script, content_ids, target, recurring, due_at,     \
                           due_hours, holdout_pct, window_days, remind_hours, expire_hours, store_id,  \
                           created_by, created_at, last_round, tasks, held_out, skipped_consent,       \
                           skipped_cap, skipped_no_guide */                                            \
    Q(TCAMP_ROUND_DONE) /* (last_round, +tasks, +held_out, +consent, +cap, +no_guide, id) — the      \
                           reminder watermark starts again (a round's tasks may fall below it) */      \
    Q(TCAMP_RECURRING)  /* () -> id, last_round: the campaigns with a recurring rule */                \
    Q(SCAN_LIVE_MEMBER_IDS) /* () -> id of every live member, in order */                              \
    Q(TCAMP_TASKS_INSERT)   /* (campaign_id, kind, channel, due_at, now, round, member ids json,       \
                               store ids json or NULL, guide ids json or NULL): one task per member    \
                               on their credited guide */                                              \
    Q(TCAMP_HOLDOUT_INSERT) /* (campaign_id, now, member ids json, store ids json or NULL, guide       \
                               ids json or NULL) */                                                    \
    Q(TCAMP_GUIDE_TASKS_INSERT) /* (campaign_id, kind, channel, due_at, now, round, store ids json     \
                                   or NULL, guide ids json or NULL): one task per guide */             \
    Q(TASK_INSERT_CAMPAIGN) /* (guide_id, member_id, campaign_id, store_id, kind, channel, due_at,     \
                               now, round) */                                                          \
    Q(TCAMP_REPORT) /* (campaign_id, store_id or NULL) -> store_id, store name, region, guide_id,      \
                       guide name, state, on_time, count */                                            \
    Q(TCAMP_OUTCOMES)    /* (campaign_id, store_id or NULL) -> outcome, count */                       \
    Q(TCAMP_UPLIFT_DONE) /* (campaign_id, window seconds, store_id or NULL) -> members with a done     \
                            task, of them with an order within the window after completion */          \
    Q(TCAMP_UPLIFT_TASKED)  /* (campaign_id, window seconds, store_id or NULL) -> members tasked,      \
                               of them with an order within the window after the task was made */      \
    Q(TCAMP_UPLIFT_HOLDOUT) /* (campaign_id, window seconds) -> held-out members, of them with an      \
                               order within the window after they were held out */                     \
    Q(TCAMP_TICK_LIST) /* () -> id, remind_hours, expire_hours, reminded_until: every campaign,        \
                          for the tick */                                                              \
    Q(TASKS_EXPIRE) /* (campaign_id, cutoff) — the campaign's open tasks due at or before cutoff     \
                       expire */                                                                       \
    Q(TASKS_REMIND_LIST)  /* (campaign_id, after, up to) -> guide_id, tasks, first due: the            \
                             campaign's open tasks due in (after, up to], per guide */                 \
    Q(TASKS_REMIND_MARK)  /* (now, campaign_id, after, up to) — those tasks are reminded */          \
    Q(TCAMP_SET_REMINDED) /* (reminded_until, id) */                                                   \
    Q(NOTICE_INSERT)      /* (staff_id, kind, campaign_id, tasks, due_at, at) */                       \
    Q(NOTICES_OF) /* (staff_id, since) -> id, kind, campaign_id, campaign name, tasks, due_at, at      \
                   */                                                                                  \
    Q(TCAMP_CONTACTS_DUE) /* (added after, added up to) -> member_id, guide_id, contact id,            \
                             added_at, guide's store: live edges added in the window */                \
    Q(TASK_REASSIGN)      /* (guide_id, store_id, id) — only while open */                           \
    Q(TASK_OUTCOME)       /* (outcome, note, id) */                                                    \
    Q(GUIDE_SETTINGS_GET) /* () -> per_day, per_week, per_month, updated_at */                         \
    Q(GUIDE_SETTINGS_PUT) /* (per_day, per_week, per_month, at) */                                     \
    Q(WECOM_SENDS_SINCE)  /* (member_id, since a day, since a week, since a month) -> the member's     \
                             WeCom sends (journeys' and mass messages') since each */                  \
    Q(CONTENT_INSERT)     /* (kind, title, body, url, tags, created_by, at) */                         \
    Q(CONTENT_GET)        /* (id) -> id, kind, title, body, url, tags, created_by, created_at */       \
    Q(CONTENT_LIST)       /* (tag or NULL, after_id, limit) -> as CONTENT_GET */                       \
    Q(CONTENT_EVENT_INSERT)   /* (content_id, kind, share_id, token, guide_id, member_id, task_id,     \
                                 at, digest) */                                                        \
    Q(CONTENT_SHARE_BY_TOKEN) /* (token) -> id, content_id, guide_id, member_id */                     \
    Q(CONTENT_EVENT_BY_DIGEST) /* (digest) -> id, content_id */                                        \
    Q(CONTENT_STATS)           /* (content_id) -> sent, shared, views, members reached */              \
    Q(CONTENT_ATTRIBUTED) /* (content_id, window seconds) -> orders, sales net of refunds: the         \
                             orders whose latest touch within the window before them is of this        \
                             content */                                                                \
    Q(WB_TASK_COUNTS)     /* (guide_id, now) -> open tasks due (not yet past), overdue */              \
    Q(WB_TASKS)   /* (guide_id, now, overdue 0/1, limit) -> as TASK_GET, soonest due first */          \
    Q(WB_MEMBERS) /* (guide_id, now, since) -> id, name, birthday, p_alive, first coupon expiring      \
                     within 7 days, last order at, wecom reachable, orders credited to the guide       \
                     since, their sales: the guide's customers (credited members and live              \
                     contacts) */                                                                      \
    Q(WB_CONTACT_FIGURES) /* (guide_id, since) -> live edges, added since, lost (the customer          \
                             deleted the guide) since */                                               \
    Q(WB_NEW_CONTACTS) /* (guide_id, since, limit) -> member_id, name, added_at, state: live edges     \
                          added since, newest first */                                                 \
    Q(WB_TASKS_DONE)   /* (guide_id, since) -> tasks done since, of them on time */                    \
    Q(CHECK_TASKS)     /* () -> tasks naming a member or guide that does not exist, campaign tasks     \
                          whose count differs from their campaign's */                                 \
    Q(EXPORT_TASK_HOLDOUT)   /* (member_id) -> task_holdout rows */                                    \
    Q(EXPORT_CONTENT_EVENTS) /* (member_id) -> content_events rows */                                  \
    Q(HOLDOUT_MOVE)          /* (into, from) — a merge moves held-out rows the survivor lacks */     \
    Q(CONTENT_EVENTS_MOVE)   /* (into, from) */                                                        \
    Q(LB_TASKS) /* (guide_id, from, to) -> tasks due in [from, to), of them done, done on time */      \
    Q(FIS_CAMPAIGN)             /* (id) -> kind, rules, starts_at, ends_at, paused,                    \
                                   created_at, name */                                                 \
    Q(FIS_CAMPAIGN_PATCH)       /* (name or NULL, ends_at, paused or NULL, id, 1 to set                \
                                   ends_at) */                                                         \
    Q(FIS_INVITE_FIND)          /* (campaign_id, member_id) -> id, state of the member's               \
                                   link */                                                             \
    Q(FIS_INVITE_INSERT)        /* (campaign_id, member_id, channel, state, coupon_code,               \
                                   device_id, at) */                                                   \
    Q(FIS_INVITE_BY_STATE)      /* (state) -> id, campaign_id, member_id, channel,                     \
                                   device_id, created_at */                                            \
    Q(FIS_REF_GET)              /* (member_id) -> referrer_id, root_id, depth, path,                   \
                                   invite_id, campaign_id, channel, via, joined_at,                    \
                                   first_order_id, first_order_at, sales_cents */                      \
    Q(FIS_REF_INSERT)           /* (member_id, referrer_id, root_id, depth, path,                      \
                                   invite_id, campaign_id, channel, via, joined_at,                    \
                                   referrer_joined_at) */                                              \
    Q(FIS_REF_FIRST_ORDER)      /* (order_id, at, member_id) — only the first */                     \
    Q(FIS_REF_SALES)            /* (delta, member_id) */                                               \
    Q(FIS_STATS_ADD)            /* (member_id, direct, downstream, direct_sales,                       \
                                   downstream_sales) — added */                                      \
    Q(FIS_STATS_GET)            /* (member_id) -> direct, downstream, direct_sales,                    \
                                   downstream_sales, referred (member_id or NULL) */                   \
    Q(FIS_MEMBER_JOINED)        /* (member_id) -> joined_at */                                         \
    Q(FIS_MEMBER_PHONE)         /* (member_id) -> a phone */                                           \
    Q(FIS_ATTEMPT_INSERT)       /* (invite_id, campaign_id, referrer_id, member_id,                    \
                                   phone_hash, device_id, via, outcome, reason, at,                    \
                                   day) */                                                             \
    Q(FIS_PHONE_SEEN)           /* (phone_hash) -> attempts with it */                                 \
    Q(FIS_DEVICE_REFERRER)      /* (device_id, referrer_id) -> accepted joins */                       \
    Q(FIS_DEVICE_DAY)           /* (device_id, day) -> accepted joins */                               \
    Q(FIS_REWARD_GET)           /* (campaign_id, referee_id, level) -> id, status */                   \
    Q(FIS_REWARD_REFEREES)      /* (campaign_id, referrer_id, referee_id) -> referees                  \
                                   paid, rows of this referee */                                       \
    Q(FIS_REWARD_INSERT)        /* (campaign_id, referrer_id, referee_id, level,                       \
                                   order_id, points, coupon_code, status, at) */                       \
    Q(FIS_REWARD_BY_ORDER)      /* (order_id) -> id, campaign_id, referrer_id, points,                 \
                                   at — a paid first-order reward */                                 \
    Q(FIS_REWARD_CLAW)          /* (points taken, at, id) */                                           \
    Q(FIS_ORDER_FACTS)          /* (order_id, refund_id) -> member_id, total, refunded,                \
                                   refund amount */                                                    \
    Q(FIS_DIRECT_LIST)          /* (referrer_id, limit) -> member_id, joined_at,                       \
                                   campaign_id, channel, first_order_at, sales_cents,                  \
                                   downstream */                                                       \
    Q(FIS_DOWN_DEPTH)           /* (member_id) -> the deepest level below it (NULL: none) */           \
    Q(FIS_MEMBER_CAMPAIGNS)     /* (member_id) -> campaign_id, kind, name, role,                       \
                                   first at */                                                         \
    Q(FIS_KOL_DIRECT)           /* (limit) -> member_id, direct, downstream, direct_sales,             \
                                   downstream_sales by direct */                                       \
    Q(FIS_KOL_ALL)              /* (limit) -> member_id, direct, downstream, direct_sales,             \
                                   downstream_sales by downstream */                                   \
    Q(FIS_KOL_DSALES)           /* (limit) -> member_id, direct, downstream, direct_sales,             \
                                   downstream_sales by direct_sales_cents */                           \
    Q(FIS_KOL_ASALES)           /* (limit) -> member_id, direct, downstream, direct_sales,             \
                                   downstream_sales by downstream_sales_cents */                       \
    Q(FIS_ORDER_OF_MEMBER)      /* (external_id, member_id) -> id, total, refunded */                  \
    Q(FIS_TEAM_GET)             /* (id) -> campaign_id, leader_id, size, paid,                         \
                                   virtual_members, status, deadline, created_at, closed_at */         \
    Q(FIS_TEAM_MEMBERS)         /* (team_id) -> member_id, seq, order_external_id,                     \
                                   amount_cents, joined_at */                                          \
    Q(FIS_TEAM_REFUNDS)         /* (team_id) -> id, member_id, order_external_id,                      \
                                   amount_cents, status, created_at */                                 \
    Q(FIS_TEAM_SEAT)            /* (id, now) — only while open, before the deadline and not          \
                                   full */                                                             \
    Q(FIS_TEAM_MEMBER_INSERT)   /* (team_id, member_id, seq, order_id,                                 \
                                   order_external_id, amount_cents, at) */                             \
    Q(FIS_TEAM_CLOSE)           /* (status, virtual_members, at, id) — an open team */               \
    Q(FIS_TEAM_SEAT_OF)         /* (team_id, member_id) -> order_external_id */                        \
    Q(FIS_TEAM_BY_ORDER_EXT)    /* (campaign_id, leader_id, order external_id) ->                      \
                                   team id */                                                          \
    Q(FIS_TEAM_INSERT)          /* (campaign_id, leader_id, size, deadline, at) */                     \
    Q(FIS_TEAM_REFUND_ALL)      /* (now, team_id) — a refund instruction per member */               \
    Q(FIS_TEAMS_DUE)            /* (now, limit) -> id, campaign_id, size, paid of open teams           \
                                   past their deadline */                                              \
    Q(FIS_ASSIST_GET)           /* (id) -> campaign_id, member_id, price, target, current,             \
                                   helpers, helped, status, deadline, coupon_code,                     \
                                   created_at, reached_at, steps */                                    \
    Q(FIS_ASSIST_HELPS)         /* (assist_id) -> member_id, seq, cut_cents, at */                     \
    Q(FIS_ASSIST_OF)            /* (campaign_id, member_id) -> id */                                   \
    Q(FIS_ASSIST_INSERT)        /* (campaign_id, member_id, price, target, helpers,                    \
                                   steps, deadline, at) */                                             \
    Q(FIS_ASSIST_CUT)           /* (cut, id, helped before) — only while open with helpers           \
                                   to go */                                                            \
    Q(FIS_HELP_OF)              /* (campaign_id, member_id) -> assist_id */                            \
    Q(FIS_HELP_INSERT)          /* (assist_id, campaign_id, member_id, seq, cut_cents, at) */          \
    Q(FIS_ASSIST_CLOSE)         /* (status, coupon_code, at, id) */                                    \
    Q(FIS_ASSISTS_EXPIRE)       /* (now) */                                                            \
    Q(FIS_MEMBER_NEW_SINCE)     /* (member_id, since) -> 1 when it joined since and                    \
                                   ordered nothing before */                                           \
    Q(FIS_CHECK_TEAMS)          /* (limit) -> id, size, paid, virtual, status, members,                \
                                   refunds — wrong teams */                                          \
    Q(FIS_CHECK_ASSISTS)        /* (limit) -> id, price, target, current, helped,                      \
                                   helpers, status, cut sum, helps — wrong assists */                \
    Q(FIS_CHECK_GRAPH)          /* (limit) -> member_id, depth, root_id, path, the depth,              \
                                   root and path its referrer gives */                                 \
    Q(FIS_CHECK_STATS)          /* (limit) -> member_id, kept direct, downstream, direct               \
                                   sales, downstream sales, recounted the same four */                 \
    Q(FIS_CHECK_SALES)          /* (limit) -> member_id, sales_cents kept, its orders' net             \
                                   — referees in no merge */                                         \
    Q(FIS_CHECK_CAPS)           /* () -> campaign_id, referrer_id, referees paid, rules */             \
    Q(EXPORT_REFERRAL_INVITES)  /* (member_id) -> referral_invites rows */                             \
    Q(EXPORT_REFERRALS)         /* (member_id) -> referrals rows */                                    \
    Q(EXPORT_REFERRAL_STATS)    /* (member_id) -> referral_stats rows */                               \
    Q(EXPORT_REFERRAL_ATTEMPTS) /* (member_id) -> referral_attempts rows */                            \
    Q(EXPORT_TEAM_MEMBERS)      /* (member_id) -> team_members rows */                                 \
    Q(EXPORT_MALL_INSTRUCTIONS) /* (member_id) -> mall_instructions rows */                            \
    Q(EXPORT_ASSISTS)           /* (member_id) -> assists rows */                                      \
    Q(EXPORT_ASSIST_HELPS)      /* (member_id) -> assist_helps rows */                                 \
    Q(EXPORT_REFERRAL_REWARDS)  /* (member_id) -> referral_rewards rows it earned                      \
                                   or brought */                                                       \
    Q(FIS_ERASE_ATTEMPTS)       /* (member_id) — the phone digest and device of its                  \
                                   referral attempts */                                                \
    Q(FIS_ATTEMPT_OF)           /* (invite_id, member_id) -> outcome, reason of its first              \
                                   attempt */                                                          \
    Q(SCAN_REFERRALS)           /* () -> member_id, referrals direct, downstream, own depth            \
                                   — members in the referral graph */                                \
    Q(FIS_SEG_ONE)              /* (member_id) -> referrals direct, downstream, own depth */           \
    Q(FIS_REPORT_COHORTS)       /* (first day, last day) -> day, campaign_id (0: none), channel,       \
                                   invites, inviters, joined, first_orders, cycle_seconds */           \
    Q(FIS_COHORT_ADD)           /* (day, campaign_id or 0, channel, invites, inviters, joined,         \
                                   first_orders, cycle_seconds) — added */                           \
    Q(FIS_INVITER_SAME_DAY)     /* (member_id, day start, day end, campaign_id or 0, channel) ->       \
                                   the member's invites of that cohort */                              \
    Q(FIS_INVITE_GET)           /* (id) -> campaign_id, channel, created_at */                         \
    Q(FIS_CHECK_COHORTS) /* (limit) -> day, campaign_id, channel, kept invites, inviters, joined,      \
                            first orders, cycle seconds, the same recounted from the invites */        \
    Q(FIS_INVITE_JOINED) /* (cycle seconds, invite_id) — one more member joined                      \
                            through it */                                                              \
    Q(FIS_INVITE_FIRST_ORDER) /* (invite_id) — one more of its members ordered */                    \
    Q(FIS_CHECK_INVITES)      /* (limit) -> invite_id, joined, first_orders,                           \
                                 cycle_seconds kept, the same recounted */                             \
    Q(FIS_ERASE_INVITES)      /* (member_id) — the device its invites were made from */              \
    Q(FIS_PARTICIPANTS)       /* (campaign_id) -> member_id, first at — everyone who                 \
                                 took part */                                                          \
    Q(FIS_MEMBER_FACTS)       /* (member_id, at) -> joined_at, store_id, orders before                 \
                                 at, orders and net sales in [at, at + 30 days) */                     \
    Q(FIS_MATCH_CANDIDATES)   /* (store_id or NULL, joined from, joined to, after                      \
                                 member_id, limit) -> member_id — members of the                     \
                                 same store who joined in the window, by id */                         \
    Q(FIS_INVITE_REPORT)      /* (campaign_id) -> invites, inviters, accepted joins,                   \
                                 refused joins, first orders, sum of cycle seconds */                  \
    Q(FIS_INVITE_REFUSALS)    /* (campaign_id) -> reason, count */                                     \
    Q(FIS_REWARD_REPORT)      /* (campaign_id) -> level, status, rows, points,                         \
                                 coupons, points clawed back */                                        \
    Q(FIS_TEAM_REPORT)        /* (campaign_id) -> teams, open, succeeded, failed,                      \
                                 virtual members, paid members, refund instructions,                   \
                                 refunded cents */                                                     \
    Q(FIS_TEAMS_VIRTUAL)      /* (campaign_id) -> team id, virtual members of teams                    \
                                 completed virtually */                                                \
    Q(FIS_ASSIST_REPORT)      /* (campaign_id) -> assists, open, reached, expired,                     \
                                 helps, cut cents, coupons */                                          \
    Q(STAFF_LIFE_GET)      /* (id) -> status, departed_at, store_id, role, wecom_userid, name */       \
    Q(STAFF_STATUS_SET)    /* (status, departed_at or NULL, id) */                                     \
    Q(STAFF_STORE_SET)     /* (store_id or NULL, id) */                                                \
    Q(STAFF_STORE_CLOSE)   /* (now, staff_id) — ends the open store row */                           \
    Q(STAFF_STORE_OPEN)    /* (staff_id, store_id, from_at) */                                         \
    Q(STAFF_STORES_OF)     /* (staff_id) -> store_id, from_at, to_at — oldest first */               \
    Q(STAFF_TOKENS_REVOKE) /* (now, staff_id) — every live token of the staff member */              \
    Q(GUIDE_CUSTOMERS) /* (guide_id) -> member_id: members bound to the guide or with a live edge      \
                          of theirs, by id */                                                          \
    Q(GUIDE_LOAD) /* (guide_id) -> customers (bound or live contact) + waiting items to them */        \
    Q(TRANSFER_ONJOB_MOVES)    /* (member_id, since) -> on-job items waiting, or done since */         \
    Q(TRANSFER_MEMBER_WAITING) /* (member_id) -> 1 when the member has a waiting item */               \
    Q(TRANSFER_INSERT)      /* (kind, from_guide_id, to_guide_ids json, split, now, created_by) */     \
    Q(TRANSFER_ITEM_INSERT) /* (transfer_id, member_id, from_guide_id, to_guide_id, state, reason,     \
                               due_at, done_at, asked) */                                              \
    Q(TRANSFER_GET)         /* (id) -> id, kind, from_guide_id, to_guide_ids, split, created_at,       \
                               created_by, from guide's store */                                       \
    Q(TRANSFER_COUNTS)      /* (id) -> state, count */                                                 \
    Q(TRANSFER_ITEMS) /* (transfer_id, after_item_id, limit) -> id, member_id, to_guide_id, state,     \
                         reason, done_at */                                                            \
    Q(TRANSFER_LIST)  /* (guide_id or NULL, store_id or NULL, after_id, limit) -> id */                \
    Q(TRANSFER_ITEM_OF)  /* (transfer_id, member_id) -> id, state, from_guide_id, to_guide_id,         \
                            reason */                                                                  \
    Q(TRANSFER_ITEM_END) /* (state, reason, done_at, id) — only while waiting */                     \
    Q(TRANSFER_DUE) /* (now, limit) -> id, transfer_id, member_id, from_guide_id, to_guide_id */       \
    Q(MEMBER_GUIDE_MOVE) /* (to_guide_id, now, member_id, from_guide_id) — only while bound to       \
                            from */                                                                    \
    Q(TASKS_FOLLOW) /* (to_guide_id, member_id, from_guide_id) — open tasks of the old guide or      \
                       none */                                                                         \
    Q(CONTACT_HANDOVER) /* (member_id, from_guide_id, to_guide_id, now, state) — the receiver's      \
                           edge */                                                                     \
    Q(CONTACT_HANDED)   /* (now, member_id, from_guide_id) — the old guide's live edges end */       \
    Q(BRIDGE_MESSAGE_INSERT) /* (kind, transfer_id, to_guide_id, now) */                               \
    Q(BRIDGE_MESSAGES) /* (after_id, limit) -> id, kind, transfer_id, to_guide_id, created_at,         \
                          from_guide_id */                                                             \
    Q(BRIDGE_TRANSFER_ITEMS) /* (transfer_id, to_guide_id) -> member_id, external_userid (of the       \
                                old guide's edge) or NULL */                                           \
    Q(EXPORT_TRANSFER_ITEMS) /* (member_id) -> transfer_items rows */                                  \
    Q(STAFF_CHECK_STORES) /* (limit) -> staff_id, open rows, store_id, open row's store — not one    \
                             open row at the staff's store */                                          \
    Q(TRANSFER_CHECK_ITEMS) /* (limit) -> item id, state, ended_at — inconsistent items */           \
    Q(STAFF_CHECK_TOKENS)   /* (limit) -> staff_id, token id of a departed staff member, live */       \
    Q(QR_CAMPAIGN_CODES) /* (campaign or NULL) -> campaign, code id, cost_cents — by campaign, id    \
                          */                                                                           \
    Q(CONTACTS_REPORT) /* (from, to, store_id or NULL, guide_id or NULL) -> guide id, name, store,     \
                          live, added, lost (customer deleted), deleted by the guide — by id */      \
    Q(QR_SCAN_COUNT_BUMP) /* (code_id, day, guide_id) — one more scan counted */                     \
    Q(QR_CHECK_COUNTS)    /* (limit) -> code_id, day, guide_id, counter, scans — counters that       \
                             differ from the scans */                                                  \
    Q(MASK_IDEMPOTENCY)   /* (needle) — a stored answer's string value equal to it masked */         \
    Q(MASK_IDEMPOTENCY_KEYS) /* (needle) — the same for the per-caller keys */                       \
    Q(MEMBER_SEARCH_NAME) /* (text, after_id, limit, store_id or NULL, guide_id or NULL) -> id of      \
                             live members whose name holds the text — by id */                       \
    Q(TASK_CAMPAIGN_LIST) /* (after_id, limit, store_id or NULL) -> id; with a store: HQ's and         \
                             that store's campaigns — by id */                                       \
    Q(QR_CODE_LIST)       /* (after_id, limit, store_id or NULL) -> id, name, store_id,                \
                             created_at — by id */                                                   \
    /* fission (issue 17): refund instructions leave siyu; coupon clawback */                          \
    Q(MALL_DUE)       /* (now, limit) -> id, kind, team_id, campaign_id, member_id, order_id,          \
                         order_external_id, amount_cents, attempts, created_at — pending and         \
                         queued or retrying, due */                                                    \
    Q(MALL_DELIVERED) /* (attempts, now, id) — only while queued or retrying */                      \
    Q(MALL_RETRY)     /* (attempts, next_attempt_at, error, id) */                                     \
    Q(MALL_DEAD)      /* (attempts, error, id) */                                                      \
    Q(MALL_LIST)      /* (status or NULL, cursor, limit) -> MALL_ROW columns, by id */                 \
    Q(MALL_GET)       /* (id) -> id, kind, team_id, campaign_id, member_id, order_id,                  \
                         order_external_id, amount_cents, status, delivery, attempts,                  \
                         next_attempt_at, last_error, sent_at, acked_at, reference, created_at */      \
    Q(MALL_ACK)       /* (now, reference or NULL, id) — only while pending */                        \
    Q(MALL_CHECK)     /* (limit) -> id, status, delivery, problem — instructions out of shape */     \
    Q(COUPON_VOID)    /* (id) — only while issued */                                                 \
    Q(FIS_CHECK_CLAWBACK) /* (limit) -> reward id, status, code, clawed_coupon, coupon state —       \
                             a reward whose coupon disagrees with its clawback */                      \
    Q(GREQ_PUSH_DUE) /* (now, limit) -> id, code_id, store_id, theme, requested_at, push_attempts:     \
                        unfulfilled requests whose push is due */                                      \
    Q(GREQ_PUSH_SENT)        /* (now, id) */                                                           \
    Q(GREQ_PUSH_RETRY)       /* (next_at, error, id) */                                                \
    Q(GREQ_PUSH_DEAD)        /* (error, id) */                                                         \
    Q(GREQ_PUSH_STATE)       /* (id) -> push_state, push_attempts, pushed_at, push_error */            \
    Q(GRP_MEMBER_GROUPS)     /* (member_id) -> group_id, live 0/1: the groups of the member's          \
                                customer stints */                                                     \
    Q(GRP_MEMBER_MESSAGES)   /* (member_id, from_day) -> day, messages: the member's group             \
                                messages per day from from_day (persons of their stints) */            \
    Q(GRP_DAY_MEMBERS)       /* (group_id, day) -> member_id: members with activity in the group       \
                                that day */                                                            \
    Q(SCAN_MEMBER_GROUP_IDS) /* () -> member_id, group_id: matched members' live stints */             \
    Q(SCAN_GROUP_MESSAGES)   /* (from_day) -> member_id, day, messages: by member */                   \
    Q(GSOP_INSERT) /* (name, campaign_id, store_id, theme, group_ids, weekday, minute, content_id,     \
                      text, due_hours, now, created_by) */                                             \
    Q(GSOP_GET)    /* (id) -> id, name, campaign_id, store_id, theme, group_ids, weekday, minute,      \
                      content_id, text, due_hours, state, created_at, created_by, updated_at */        \
    Q(GSOP_LIST)   /* (store_id or NULL, after_id, limit) -> as GSOP_GET */                            \
    Q(GSOP_ACTIVE) /* () -> id of each active SOP */                                                   \
    Q(GSOP_SET)    /* (state, text, now, id) */                                                        \
    Q(GSOP_GROUPS) /* (store_id or NULL, theme or NULL, group_ids JSON or NULL) -> id, owner_id,       \
                      state, store_id: the groups an SOP posts to now (not dismissed) */               \
    Q(GSOP_TASK_INSERT) /* (guide_id, campaign_id, store_id, text, due_at, now, round, group_id):      \
                           once per campaign, round and group */                                       \
    Q(GSOP_TASK_EXISTS) /* (campaign_id, round, group_id) -> 1 when the slot's task exists */          \
    Q(GSOP_CAMP_TASKS) /* (tasks, round, campaign_id): the campaign counts the slot's new tasks */     \
    Q(CHECK_GROUP_SOP_TASKS) /* () -> task id: an SOP's post without its group, SOP or round */        \
    Q(GSOP_ROLLUP)           /* (campaign_id) -> tasks, open, done, on_time, expired, slots */         \
    Q(WECOM_SENDS_RECENT) /* (since) -> member_id, created_at — WeCom sends (journeys' messages,     \
                             campaigns' wecom tasks) after since, by member, time */                   \
    Q(TCAMP_TARGET_COUNT) /* (member ids json, store ids json or NULL, guide ids json or NULL)         \
                             -> how many of them pass the campaign's filters */                        \
    /* (now, events cut-off, messages cut-off) -> made, dropped, events_rows, messages_rows:           \
       PostgreSQL's month partitions made ahead and dropped past retention (docs/scale.md);            \
       SQLite: a row of zeros */                                                                       \
    Q(PARTITIONS_MAINTAIN)                                                                             \
    /* (limit) -> what, id: order lines or refunds whose order is gone; on PostgreSQL also orders      \
       and events without their key row (or a key without its row) in order_keys / event_keys */       \
    Q(CHECK_ORDER_KEYS)                                                                                \
    /* () -> seq, tag: the store's change sequence and the tag of its last write (views snapshot)      \
     */                                                                                                \
    Q(CHANGE_SEQ_GET)                                                                                  \
    /* () -> the new seq: every committed write transaction moves it (store_commit) */                 \
    Q(CHANGE_SEQ_BUMP)                                                                                 \
    /* the group view (src/views/group_view.c): groups, group-days and customer stints, with           \
       the members their person or unionid names */                                                    \
    Q(GV_GROUPS)                                                                                       \
    Q(GV_GROUP)                                                                                        \
    Q(GV_DAYS)                                                                                         \
    Q(GV_DAY)                                                                                          \
    Q(GV_STINTS)                                                                                       \
    Q(GV_STINT)                                                                                        \
    Q(GV_STINT_MEMBERS)                                                                                \
    Q(GV_PERSON_MEMBERS)                                                                               \
    Q(GV_MEMBER_STINTS)                                                                                \
    /* (group) -> id: its customers' live stints (a dismissal ends them) */                            \
    Q(GRP_LIVE_STINT_IDS)                                                                              \
    /* new queries go above this line, each ending in a backslash */

typedef enum store_query {
#define Q(name) Q_##name,
    STORE_QUERY_LIST(Q)
#undef Q
        Q__COUNT
} store_query;

#endif
