/* sqlite_schema.c — the SQLite schema, as an ordered list of migrations.
 *
 * PRAGMA user_version holds how many migrations have run; opening with create runs
 * the rest inside one transaction, so `siyu init` twice is harmless and an older
 * store is brought forward. Append new migrations; never edit a released one. */
#include "store/sqlite_internal.h"

const char *const sqlite_migrations[] = {
    /* 1: organisation, members, orders, events, tokens, idempotency */
    "CREATE TABLE brands ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);"
    "CREATE TABLE stores ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, code TEXT NOT NULL UNIQUE,"
    "  kind TEXT NOT NULL, brand_id INTEGER REFERENCES brands(id), region TEXT, city TEXT,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE staff ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,"
    "  store_id INTEGER REFERENCES stores(id), code TEXT UNIQUE, created_at INTEGER NOT NULL);"
    "CREATE INDEX staff_store ON staff(store_id);"
    "CREATE TABLE tokens ("
    "  id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, role TEXT NOT NULL,"
    "  staff_id INTEGER REFERENCES staff(id), name TEXT, created_at INTEGER NOT NULL);"
    "CREATE TABLE members ("
    "  id INTEGER PRIMARY KEY, name TEXT, gender TEXT, birthday INTEGER, city TEXT,"
    "  store_id INTEGER REFERENCES stores(id), guide_id INTEGER REFERENCES staff(id),"
    "  join_channel TEXT, joined_at INTEGER NOT NULL, merged_into INTEGER REFERENCES members(id),"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX members_store ON members(store_id);"
    "CREATE INDEX members_guide ON members(guide_id);"
    /* one row per way of recognising a person; (kind, app_id, value) is unique */
    "CREATE TABLE identities ("
    "  kind TEXT NOT NULL, app_id TEXT NOT NULL DEFAULT '', value TEXT NOT NULL,"
    "  member_id INTEGER NOT NULL REFERENCES members(id),"
    "  PRIMARY KEY (kind, app_id, value)) WITHOUT ROWID;"
    "CREATE INDEX identities_member ON identities(member_id);"
    "CREATE TABLE member_reach ("
    "  member_id INTEGER NOT NULL REFERENCES members(id), channel TEXT NOT NULL,"
    "  reachable INTEGER NOT NULL, at INTEGER NOT NULL,"
    "  PRIMARY KEY (member_id, channel)) WITHOUT ROWID;"
    "CREATE TABLE merges ("
    "  id INTEGER PRIMARY KEY, into_id INTEGER NOT NULL REFERENCES members(id),"
    "  from_id INTEGER NOT NULL REFERENCES members(id), at INTEGER NOT NULL, details TEXT);"
    "CREATE INDEX merges_into ON merges(into_id);"
    "CREATE TABLE orders ("
    "  id INTEGER PRIMARY KEY, channel TEXT NOT NULL, external_id TEXT NOT NULL,"
    "  store_id INTEGER NOT NULL REFERENCES stores(id), member_id INTEGER REFERENCES members(id),"
    "  guide_id INTEGER REFERENCES staff(id), placed_at INTEGER NOT NULL,"
    "  total_cents INTEGER NOT NULL, discount_cents INTEGER NOT NULL,"
    "  points_used INTEGER NOT NULL, coupon_code TEXT, refunded_cents INTEGER NOT NULL DEFAULT 0,"
    "  item_count INTEGER NOT NULL, digest BLOB NOT NULL,"
    "  UNIQUE (channel, external_id));"
    "CREATE INDEX orders_member ON orders(member_id) WHERE member_id IS NOT NULL;"
    "CREATE TABLE order_items ("
    "  order_id INTEGER NOT NULL REFERENCES orders(id), line INTEGER NOT NULL,"
    "  sku TEXT NOT NULL, category TEXT, name TEXT, qty INTEGER NOT NULL,"
    "  unit_price_cents INTEGER NOT NULL, refunded_qty INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (order_id, line)) WITHOUT ROWID;"
    "CREATE TABLE refunds ("
    "  id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id),"
    "  external_id TEXT NOT NULL UNIQUE, amount_cents INTEGER NOT NULL,"
    "  refunded_at INTEGER NOT NULL, items TEXT, digest BLOB NOT NULL);"
    "CREATE INDEX refunds_order ON refunds(order_id);"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL REFERENCES members(id),"
    "  type TEXT NOT NULL, at INTEGER NOT NULL, props TEXT, digest BLOB NOT NULL UNIQUE);"
    "CREATE INDEX events_member ON events(member_id);"
    "CREATE TABLE idempotency ("
    "  key TEXT NOT NULL, route TEXT NOT NULL, digest BLOB NOT NULL, status INTEGER NOT NULL,"
    "  body TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (key, route)) WITHOUT ROWID;",
    /* 2: model runs and the predictions they leave on members */
    "CREATE TABLE model_runs ("
    "  id INTEGER PRIMARY KEY, at INTEGER NOT NULL, cal_end_day INTEGER NOT NULL,"
    "  unit_days REAL NOT NULL, customers INTEGER NOT NULL, report TEXT NOT NULL);"
    "CREATE TABLE member_predictions ("
    "  member_id INTEGER PRIMARY KEY REFERENCES members(id), run_id INTEGER NOT NULL,"
    "  x INTEGER NOT NULL, p_alive REAL NOT NULL, expected_purchases_90d REAL NOT NULL,"
    "  expected_value_cents INTEGER NOT NULL, clv_12m_cents INTEGER NOT NULL);",
    /* 3: tags, saved segments, settings */
    "CREATE TABLE tags ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, expr TEXT,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE tag_members ("
    "  tag_id INTEGER NOT NULL REFERENCES tags(id), member_id INTEGER NOT NULL REFERENCES "
    "members(id),"
    "  PRIMARY KEY (tag_id, member_id)) WITHOUT ROWID;"
    "CREATE INDEX tag_members_member ON tag_members(member_id);"
    "CREATE TABLE segments ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, expr TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
    /* 4: loyalty — the points ledger, tiers, coupons. CHECKs are the last line of
     * defence behind the domain's own checks: a balance or a lot can never go
     * negative, a template never issues more than its stock. */
    "CREATE TABLE earn_rules ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, spec TEXT NOT NULL,"
    "  active INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL);"
    "CREATE TABLE loyalty_accounts ("
    "  member_id INTEGER PRIMARY KEY REFERENCES members(id),"
    "  points INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),"
    "  tier TEXT, tier_since INTEGER, review_at INTEGER, grace_until INTEGER,"
    "  referrer_id INTEGER REFERENCES members(id), referred_at INTEGER,"
    "  referral_order_id INTEGER, updated_at INTEGER NOT NULL);"
    "CREATE INDEX loyalty_review ON loyalty_accounts(review_at) WHERE review_at IS NOT NULL;"
    "CREATE TABLE points_ledger ("
    "  id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL REFERENCES members(id),"
    "  at INTEGER NOT NULL, kind TEXT NOT NULL, delta INTEGER NOT NULL,"
    "  order_id INTEGER, ref TEXT, reason TEXT, staff_id INTEGER,"
    "  available_at INTEGER, expires_at INTEGER,"
    "  remaining INTEGER CHECK (remaining IS NULL OR (remaining >= 0 AND remaining <= delta)),"
    "  reversed INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);"
    "CREATE INDEX points_ledger_member ON points_ledger(member_id, id);"
    "CREATE INDEX points_lots ON points_ledger(member_id, expires_at, id) WHERE remaining > 0;"
    "CREATE INDEX points_expiry ON points_ledger(expires_at) WHERE remaining > 0;"
    "CREATE INDEX points_order ON points_ledger(order_id) WHERE order_id IS NOT NULL;"
    "CREATE UNIQUE INDEX points_ref ON points_ledger(ref) WHERE ref IS NOT NULL;"
    "CREATE TABLE tier_history ("
    "  id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL REFERENCES members(id),"
    "  at INTEGER NOT NULL, from_tier TEXT, to_tier TEXT NOT NULL, reason TEXT NOT NULL,"
    "  order_id INTEGER);"
    "CREATE INDEX tier_history_member ON tier_history(member_id, id);"
    "CREATE TABLE coupon_templates ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, spec TEXT NOT NULL, stock INTEGER,"
    "  issued INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"
    "  CHECK (stock IS NULL OR (issued >= 0 AND issued <= stock)));"
    "CREATE TABLE coupons ("
    "  id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE,"
    "  template_id INTEGER NOT NULL REFERENCES coupon_templates(id),"
    "  member_id INTEGER NOT NULL REFERENCES members(id), first_member_id INTEGER NOT NULL,"
    "  state TEXT NOT NULL, issued_at INTEGER NOT NULL, valid_from INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL, order_id INTEGER, redeemed_at INTEGER, issue_ref TEXT UNIQUE);"
    "CREATE INDEX coupons_member ON coupons(member_id, template_id);"
    "CREATE INDEX coupons_expiry ON coupons(expires_at) WHERE state = 'issued';"
    "CREATE UNIQUE INDEX coupons_order ON coupons(order_id) WHERE order_id IS NOT NULL;"
    "CREATE TABLE coupon_events ("
    "  id INTEGER PRIMARY KEY, coupon_id INTEGER NOT NULL REFERENCES coupons(id),"
    "  at INTEGER NOT NULL, kind TEXT NOT NULL, member_id INTEGER, order_id INTEGER, details TEXT);"
    "CREATE INDEX coupon_events_coupon ON coupon_events(coupon_id);",
    /* 5: journeys — definitions, member runs with durable timers, the message outbox,
     * guide tasks, consent, channel bindings. A member is in a journey at most once at a
     * time: the partial unique index says so. */
    "CREATE TABLE journeys ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, spec TEXT NOT NULL,"
    "  state TEXT NOT NULL, version INTEGER NOT NULL, last_day INTEGER,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE TABLE journey_runs ("
    "  id INTEGER PRIMARY KEY, journey_id INTEGER NOT NULL REFERENCES journeys(id),"
    "  member_id INTEGER NOT NULL REFERENCES members(id), state TEXT NOT NULL,"
    "  step TEXT, step_index INTEGER NOT NULL, next_at INTEGER, wait_event TEXT,"
    "  holdout INTEGER NOT NULL, entered_at INTEGER NOT NULL, ended_at INTEGER,"
    "  goal_at INTEGER, task_id INTEGER, channel_try INTEGER NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX journey_runs_once ON journey_runs(journey_id, member_id)"
    "  WHERE state = 'active';"
    "CREATE INDEX journey_runs_due ON journey_runs(next_at) WHERE state = 'active';"
    "CREATE INDEX journey_runs_member ON journey_runs(member_id, journey_id);"
    "CREATE TABLE journey_log ("
    "  id INTEGER PRIMARY KEY, journey_id INTEGER NOT NULL, run_id INTEGER NOT NULL,"
    "  step TEXT NOT NULL, at INTEGER NOT NULL, outcome TEXT NOT NULL);"
    "CREATE INDEX journey_log_journey ON journey_log(journey_id, step, outcome);"
    "CREATE TABLE journey_cursors (name TEXT PRIMARY KEY, last_id INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE channels (name TEXT PRIMARY KEY, config TEXT NOT NULL, updated_at INTEGER NOT "
    "NULL)"
    "  WITHOUT ROWID;"
    "CREATE TABLE messages ("
    "  id INTEGER PRIMARY KEY, journey_id INTEGER, run_id INTEGER,"
    "  member_id INTEGER NOT NULL REFERENCES members(id), channel TEXT NOT NULL,"
    "  body TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER, created_at INTEGER NOT NULL, sent_at INTEGER,"
    "  delivered_at INTEGER, error TEXT);"
    "CREATE INDEX messages_due ON messages(next_attempt_at) WHERE status IN ('queued', 'retry');"
    "CREATE INDEX messages_member ON messages(member_id, created_at);"
    "CREATE TABLE guide_tasks ("
    "  id INTEGER PRIMARY KEY, guide_id INTEGER, member_id INTEGER NOT NULL,"
    "  journey_id INTEGER, run_id INTEGER, kind TEXT NOT NULL, script TEXT,"
    "  channel TEXT, due_at INTEGER, state TEXT NOT NULL, created_at INTEGER NOT NULL,"
    "  done_at INTEGER);"
    "CREATE INDEX guide_tasks_guide ON guide_tasks(guide_id, state);"
    "CREATE TABLE consents ("
    "  member_id INTEGER NOT NULL, channel TEXT NOT NULL, opted_out INTEGER NOT NULL,"
    "  at INTEGER NOT NULL, PRIMARY KEY (member_id, channel)) WITHOUT ROWID;",
    /* 6: who was in a journey's segment at its last look, for "entered a segment" */
    "CREATE TABLE journey_segment_members ("
    "  journey_id INTEGER NOT NULL, member_id INTEGER NOT NULL,"
    "  PRIMARY KEY (journey_id, member_id)) WITHOUT ROWID;",
    /* 7: an account remembers what the order path would otherwise ask of the ledger
     * and the orders on every order (see loyalty/orders.c): the day of the latest
     * earn and what that day earned, for the daily cap; and an upper bound on the
     * ladder's metric over everything after an instant, for skipping tier checks.
     * NULL means unknown, recomputed when next needed. The earn of an order is found
     * through its member, so earn entries — most of the ledger — skip points_order. */
    "ALTER TABLE loyalty_accounts ADD COLUMN earn_day INTEGER;"
    "ALTER TABLE loyalty_accounts ADD COLUMN earn_day_points INTEGER;"
    "ALTER TABLE loyalty_accounts ADD COLUMN qualify_key INTEGER;"
    "ALTER TABLE loyalty_accounts ADD COLUMN qualify_from INTEGER;"
    "ALTER TABLE loyalty_accounts ADD COLUMN qualify_bound INTEGER;"
    /* no lot with points left expires before next_expiry (NULL: no such lot), so
     * neither an order nor the sweep has to search the ledger for due lots */
    "ALTER TABLE loyalty_accounts ADD COLUMN next_expiry INTEGER;"
    "UPDATE loyalty_accounts SET next_expiry = (SELECT min(expires_at) FROM points_ledger l"
    "  WHERE l.member_id = loyalty_accounts.member_id AND l.remaining > 0);"
    "CREATE INDEX loyalty_next_expiry ON loyalty_accounts(next_expiry)"
    "  WHERE next_expiry IS NOT NULL;"
    "DROP INDEX points_expiry;"
    /* one index per member serves both the history and the lots (FEFO reads pass over
     * spent lots): an earn entry updates two indexes, not four */
    "DROP INDEX points_lots;"
    "DROP INDEX points_ledger_member;"
    "CREATE INDEX points_member ON points_ledger(member_id, expires_at);"
    "DROP INDEX points_order;"
    "CREATE INDEX points_order ON points_ledger(order_id)"
    "  WHERE order_id IS NOT NULL AND kind != 'earn';",
    /* ---- messaging (issue 14): one consent model, message addresses, coupon limits
     * per period ---- */
    /* 8: consent per member, purpose and channel — the one model every reader uses.
     * sms reachability is the marketing consent for sms (sms_opt_in / sms_opt_out
     * events record it with source 'event'); a withdrawn marketing consent for wecom
     * or public_account hides that connection. member_reach_now is reachability after
     * consent: the segment index, the reports and the member 360 read it. The old
     * per-channel opt-outs and the sms reach rows are carried over, latest first. */
    "CREATE TABLE member_consents ("
    "  member_id INTEGER NOT NULL REFERENCES members(id), purpose TEXT NOT NULL,"
    "  channel TEXT NOT NULL, granted INTEGER NOT NULL, source TEXT, text_version TEXT,"
    "  at INTEGER NOT NULL, PRIMARY KEY (member_id, purpose, channel)) WITHOUT ROWID;"
    "INSERT INTO member_consents(member_id, purpose, channel, granted, source, at)"
    "  SELECT member_id, 'marketing', 'sms', reachable, 'event', at FROM member_reach"
    "  WHERE channel = 'sms';"
    "INSERT INTO member_consents(member_id, purpose, channel, granted, source, at)"
    "  SELECT member_id, 'marketing', channel, 1 - opted_out, NULL, at FROM consents WHERE 1"
    "  ON CONFLICT(member_id, purpose, channel) DO UPDATE SET granted = excluded.granted,"
    "  source = excluded.source, at = excluded.at WHERE excluded.at >= member_consents.at;"
    "CREATE VIEW member_reach_now AS"
    "  SELECT r.member_id AS member_id, r.channel AS channel,"
    "    CASE WHEN r.channel IN ('wecom', 'public_account') AND EXISTS (SELECT 1"
    "      FROM member_consents c WHERE c.member_id = r.member_id AND c.purpose = 'marketing'"
    "      AND c.channel = r.channel AND c.granted = 0) THEN 0 ELSE r.reachable END AS reachable,"
    "    r.at AS at"
    "  FROM member_reach r WHERE r.channel <> 'sms'"
    "  UNION ALL"
    "  SELECT member_id, 'sms', granted, at FROM member_consents"
    "  WHERE purpose = 'marketing' AND channel = 'sms';"
    /* a message carries its address on the channel and, for WeChat template messages,
     * the template id and named data fields (JSON) */
    "ALTER TABLE messages ADD COLUMN address TEXT;"
    "ALTER TABLE messages ADD COLUMN template TEXT;",
    /* ---- scope (issue 14) ---- */
    /* 9: tokens bound to a store (the till's cashier), with an expiry, a
     * revocation and the last time they were used (recorded at most once a minute);
     * Idempotency-Keys belong to the caller, so two callers' keys never meet */
    "ALTER TABLE tokens ADD COLUMN store_id INTEGER REFERENCES stores(id);"
    "ALTER TABLE tokens ADD COLUMN expires_at INTEGER;"
    "ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;"
    "ALTER TABLE tokens ADD COLUMN last_used_at INTEGER;"
    "CREATE TABLE idempotency_keys ("
    "  caller TEXT NOT NULL, key TEXT NOT NULL, route TEXT NOT NULL, digest BLOB NOT NULL,"
    "  status INTEGER NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (caller, key, route)) WITHOUT ROWID;",
    /* 10 (journeys): a run that failed keeps its error; a run remembers the instant its
     * trigger happened (waits timed from the trigger count from it); the log keeps the
     * detail of an outcome (the error of a failed step, the reason of a failed coupon) */
    "ALTER TABLE journey_runs ADD COLUMN error TEXT;"
    "ALTER TABLE journey_runs ADD COLUMN trigger_at INTEGER;"
    "ALTER TABLE journey_log ADD COLUMN detail TEXT;",
    /* ---- rights (issue 21): erasure ---- */
    /* 11: the erasure log — who erased which member, when, why, under which request.
     * The member row stays (orders, ledgers and reports keep their figures); the
     * personal data is gone. Append-only: nothing updates or deletes it. */
    "CREATE TABLE erasures ("
    "  id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL REFERENCES members(id),"
    "  at INTEGER NOT NULL, staff_id INTEGER, role TEXT NOT NULL, reason TEXT NOT NULL,"
    "  request_id TEXT, members INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX erasures_member ON erasures(member_id);",
    /* 12 (numbers): empty profile fields filled by a create-or-match for a known identity —
     * which fields were filled and which kept, by whom (details is JSON) */
    "CREATE TABLE profile_changes ("
    "  id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL REFERENCES members(id),"
    "  at INTEGER NOT NULL, source TEXT NOT NULL, details TEXT NOT NULL);"
    "CREATE INDEX profile_changes_member ON profile_changes(member_id, id);",
    /* ---- games (issue 17): lucky wheel, scratch card, red envelope ---- */
    /* 13: a campaign with its caps and budget; a game's prizes with their stock (won
     * never above stock) and odds in parts per billion; every play with the draw it
     * made; a red envelope's packets, split at creation, each grabbed once */
    "CREATE TABLE campaigns ("
    "  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, starts_at INTEGER,"
    "  ends_at INTEGER, rules TEXT NOT NULL, budget_cents INTEGER,"
    "  spent_cents INTEGER NOT NULL DEFAULT 0, plays_per_day INTEGER, plays_per_member INTEGER,"
    "  entry_points INTEGER NOT NULL DEFAULT 0, grabs_per_member INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  CHECK (spent_cents >= 0 AND (budget_cents IS NULL OR spent_cents <= budget_cents)));"
    "CREATE TABLE campaign_prizes ("
    "  id INTEGER PRIMARY KEY, campaign_id INTEGER NOT NULL REFERENCES campaigns(id),"
    "  idx INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, template_id INTEGER,"
    "  points INTEGER, gift TEXT, odds_ppb INTEGER NOT NULL, stock INTEGER,"
    "  won INTEGER NOT NULL DEFAULT 0, cost_cents INTEGER NOT NULL,"
    "  UNIQUE (campaign_id, idx), CHECK (won >= 0 AND (stock IS NULL OR won <= stock)));"
    "CREATE TABLE campaign_plays ("
    "  id INTEGER PRIMARY KEY, campaign_id INTEGER NOT NULL REFERENCES campaigns(id),"
    "  member_id INTEGER NOT NULL REFERENCES members(id), play_id TEXT NOT NULL,"
    "  at INTEGER NOT NULL, day INTEGER NOT NULL, draw INTEGER NOT NULL,"
    "  prize_id INTEGER REFERENCES campaign_prizes(id), outcome TEXT NOT NULL,"
    "  cost_cents INTEGER NOT NULL DEFAULT 0, entry_points INTEGER NOT NULL DEFAULT 0,"
    "  coupon_code TEXT, UNIQUE (campaign_id, play_id));"
    "CREATE INDEX campaign_plays_member ON campaign_plays(campaign_id, member_id, day);"
    "CREATE TABLE campaign_packets ("
    "  id INTEGER PRIMARY KEY, campaign_id INTEGER NOT NULL REFERENCES campaigns(id),"
    "  seq INTEGER NOT NULL, amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),"
    "  member_id INTEGER REFERENCES members(id), grab_id TEXT, grabbed_at INTEGER,"
    "  points INTEGER, UNIQUE (campaign_id, seq), UNIQUE (campaign_id, grab_id));"
    "CREATE INDEX campaign_packets_free ON campaign_packets(campaign_id, seq)"
    "  WHERE member_id IS NULL;"
    "CREATE INDEX campaign_packets_member ON campaign_packets(campaign_id, member_id)"
    "  WHERE member_id IS NOT NULL;",
    /* ---- guides (issue 15): contacts as edges, channel QR codes ---- */
    /* 14: a guide's WeCom userid (unique); a contact is an edge between a member and a
     * guide, keyed as WeCom keys it (the guide, the customer's external userid), live
     * while neither side deleted the other; a channel QR code hands each scan to one of
     * its guides under a daily cap per guide (qr_scans counts per code, guide and local
     * day); a member remembers the code and campaign it joined through. WeCom events are
     * idempotent by content (wecom_events keeps their digests). */
    "ALTER TABLE staff ADD COLUMN wecom_userid TEXT;"
    "CREATE UNIQUE INDEX staff_wecom_userid ON staff(wecom_userid);"
    "CREATE TABLE qr_codes ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL, target TEXT NOT NULL,"
    "  store_id INTEGER REFERENCES stores(id), rotation TEXT NOT NULL, daily_cap INTEGER,"
    "  backup_guide_id INTEGER REFERENCES staff(id), schedule TEXT, campaign TEXT,"
    "  cost_cents INTEGER NOT NULL DEFAULT 0 CHECK (cost_cents >= 0),"
    "  rr_next INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);"
    "CREATE INDEX qr_codes_state ON qr_codes(state);"
    "CREATE TABLE qr_code_guides ("
    "  code_id INTEGER NOT NULL REFERENCES qr_codes(id),"
    "  guide_id INTEGER NOT NULL REFERENCES staff(id), position INTEGER NOT NULL,"
    "  PRIMARY KEY (code_id, guide_id));"
    "CREATE TABLE qr_scans ("
    "  id INTEGER PRIMARY KEY, code_id INTEGER NOT NULL REFERENCES qr_codes(id),"
    "  day INTEGER NOT NULL, guide_id INTEGER NOT NULL REFERENCES staff(id),"
    "  external_userid TEXT, at INTEGER NOT NULL);"
    "CREATE INDEX qr_scans_cap ON qr_scans(code_id, day, guide_id);"
    "CREATE UNIQUE INDEX qr_scans_repeat ON qr_scans(code_id, day, external_userid);"
    "CREATE TABLE contacts ("
    "  id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL REFERENCES members(id),"
    "  guide_id INTEGER NOT NULL REFERENCES staff(id), external_userid TEXT NOT NULL,"
    "  added_at INTEGER NOT NULL, add_way INTEGER, state TEXT,"
    "  qr_code_id INTEGER REFERENCES qr_codes(id), remark TEXT,"
    "  customer_deleted_at INTEGER, guide_deleted_at INTEGER, updated_at INTEGER NOT NULL,"
    "  UNIQUE (guide_id, external_userid));"
    "CREATE INDEX contacts_member ON contacts(member_id);"
    "CREATE INDEX contacts_code ON contacts(qr_code_id);"
    "CREATE TABLE wecom_events ("
    "  digest BLOB PRIMARY KEY, event TEXT NOT NULL, at INTEGER NOT NULL,"
    "  recorded_at INTEGER NOT NULL);"
    "ALTER TABLE members ADD COLUMN qr_code_id INTEGER REFERENCES qr_codes(id);"
    "ALTER TABLE members ADD COLUMN campaign TEXT;"
    "CREATE INDEX members_qr_code ON members(qr_code_id);",
    /* ---- audit (issue 21): consent history, the audit log, retention ---- */
    /* 15: every consent change is kept (member_consents is the current state derived
     * from it, updated in the same write); the rule "no marketing consent, no message"
     * now holds on every channel, so a store that messaged members on a connection
     * alone (wecom, public_account and its template messages) grants those marketing
     * consents once here, from the reachability it had, with text version
     * 'reachability' — nothing that went out before stops silently. The audit log
     * is append-only (only the retention sweep deletes); audit_members indexes it
     * by member. retention_settings: days kept per kind of log, NULL = the default. */
    "CREATE TABLE consent_history ("
    "  id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL REFERENCES members(id),"
    "  purpose TEXT NOT NULL, channel TEXT NOT NULL, granted INTEGER NOT NULL, source TEXT,"
    "  text_version TEXT, at INTEGER NOT NULL);"
    "CREATE INDEX consent_history_member ON consent_history(member_id, at);"
    "INSERT INTO member_consents(member_id, purpose, channel, granted, source, text_version, at)"
    "  SELECT r.member_id, 'marketing', c.channel, 1, NULL, 'reachability', r.at"
    "  FROM member_reach r JOIN (SELECT 'wecom' AS channel, 'wecom' AS reach UNION ALL"
    "  SELECT 'public_account', 'public_account' UNION ALL"
    "  SELECT 'wechat_template', 'public_account') c ON c.reach = r.channel"
    "  WHERE r.reachable = 1 AND 1 ON CONFLICT(member_id, purpose, channel) DO NOTHING;"
    "INSERT INTO consent_history(member_id, purpose, channel, granted, source, text_version, at)"
    "  SELECT member_id, purpose, channel, granted, source, text_version, at"
    "  FROM member_consents ORDER BY at, member_id;"
    "CREATE TABLE audit_log ("
    "  id INTEGER PRIMARY KEY, at INTEGER NOT NULL, staff_id INTEGER, role TEXT NOT NULL,"
    "  action TEXT NOT NULL, member_ids TEXT NOT NULL, request_id TEXT, detail TEXT);"
    "CREATE INDEX audit_log_at ON audit_log(at);"
    "CREATE INDEX audit_log_staff ON audit_log(staff_id, id);"
    "CREATE TABLE audit_members ("
    "  member_id INTEGER NOT NULL, audit_id INTEGER NOT NULL,"
    "  PRIMARY KEY (member_id, audit_id)) WITHOUT ROWID;"
    "CREATE INDEX audit_members_audit ON audit_members(audit_id);"
    "CREATE INDEX events_at ON events(at);"
    "CREATE INDEX messages_created ON messages(created_at);"
    "CREATE TABLE retention_settings ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1), events_days INTEGER, messages_days INTEGER,"
    "  audit_days INTEGER, updated_at INTEGER);",
    /* 16: indexes the month's growth asked for — a coupon's per-member-period limit counts
     * the member's coupon events (without one it scanned them all, per issue), and a
     * guide's confirmation or timeout finds its run's waiting message */
    "CREATE INDEX coupon_events_member ON coupon_events(member_id, at);"
    "CREATE INDEX messages_run_waiting ON messages(run_id) WHERE status = 'awaiting_guide';",
    /* 17: staff sign-in for the console — a login per staff member (username, argon2id
     * hash, failures and lock-out) and the sessions it opens, kept as SHA-256 */
    "CREATE TABLE staff_logins ("
    "  staff_id INTEGER PRIMARY KEY REFERENCES staff(id), username TEXT NOT NULL UNIQUE,"
    "  hash TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0, locked_until INTEGER,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE sessions ("
    "  id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE,"
    "  staff_id INTEGER NOT NULL REFERENCES staff(id), csrf TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, revoked_at INTEGER);"
    "CREATE INDEX sessions_staff ON sessions(staff_id);",
    /* ---- communities (issue 16) ---- */
    /* 18: store groups (社群) fed by the bridge's WeCom-shaped group events. A stint is one
     * stay of a person in a group (joined .. quit); a rejoin is a new stint. person is the
     * customer's external_userid or the staff member's userid (is_staff); members are
     * matched through identities when read, so a stranger becomes a member the moment an
     * identity names them. Activity is a count per group, person and local day; the day
     * rows are its roll-up, kept in the same write. Codes fill a store's groups of a theme
     * in creation order, with seats reserved for a few minutes so a group never overfills;
     * group_requests is the outbox of "open a new group" asks to the bridge. */
    "CREATE TABLE chat_groups ("
    "  id INTEGER PRIMARY KEY, chat_id TEXT NOT NULL UNIQUE,"
    "  store_id INTEGER NOT NULL REFERENCES stores(id), owner_id INTEGER REFERENCES staff(id),"
    "  owner_userid TEXT, name TEXT, theme TEXT, cap INTEGER NOT NULL CHECK (cap > 0),"
    "  state TEXT NOT NULL CHECK (state IN ('normal', 'owner_departed', 'inheriting',"
    "  'inherited')), created_at INTEGER NOT NULL, dismissed_at INTEGER,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX chat_groups_store ON chat_groups(store_id, theme, id);"
    "CREATE INDEX chat_groups_owner ON chat_groups(owner_id);"
    "CREATE TABLE chat_group_members ("
    "  id INTEGER PRIMARY KEY, group_id INTEGER NOT NULL REFERENCES chat_groups(id),"
    "  person TEXT NOT NULL, is_staff INTEGER NOT NULL, unionid TEXT,"
    "  joined_at INTEGER NOT NULL, joined_day INTEGER NOT NULL, join_scene TEXT, state TEXT,"
    "  inviter TEXT, code_id INTEGER, quit_at INTEGER, quit_day INTEGER, quit_scene TEXT);"
    "CREATE UNIQUE INDEX chat_group_members_live ON chat_group_members(group_id, person)"
    "  WHERE quit_at IS NULL;"
    "CREATE INDEX chat_group_members_person ON chat_group_members(person);"
    "CREATE INDEX chat_group_members_unionid ON chat_group_members(unionid)"
    "  WHERE unionid IS NOT NULL;"
    "CREATE TABLE chat_group_activity ("
    "  group_id INTEGER NOT NULL, person TEXT NOT NULL, day INTEGER NOT NULL,"
    "  messages INTEGER NOT NULL CHECK (messages >= 0),"
    "  PRIMARY KEY (group_id, day, person)) WITHOUT ROWID;"
    "CREATE TABLE chat_group_days ("
    "  group_id INTEGER NOT NULL, day INTEGER NOT NULL, speakers INTEGER NOT NULL,"
    "  messages INTEGER NOT NULL, PRIMARY KEY (group_id, day)) WITHOUT ROWID;"
    "CREATE INDEX chat_group_days_day ON chat_group_days(day, group_id);"
    "CREATE TABLE group_events ("
    "  digest BLOB PRIMARY KEY, event TEXT NOT NULL, at INTEGER NOT NULL,"
    "  recorded_at INTEGER NOT NULL);"
    "CREATE TABLE group_codes ("
    "  id INTEGER PRIMARY KEY, store_id INTEGER NOT NULL REFERENCES stores(id),"
    "  theme TEXT NOT NULL, cap INTEGER NOT NULL CHECK (cap > 0), state TEXT NOT NULL,"
    "  hold_seconds INTEGER NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE INDEX group_codes_state ON group_codes(state);"
    "CREATE TABLE group_seats ("
    "  id INTEGER PRIMARY KEY, code_id INTEGER NOT NULL REFERENCES group_codes(id),"
    "  group_id INTEGER NOT NULL REFERENCES chat_groups(id), external_userid TEXT,"
    "  reserved_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, kept_at INTEGER);"
    "CREATE INDEX group_seats_open ON group_seats(group_id, expires_at) WHERE kept_at IS NULL;"
    "CREATE TABLE group_requests ("
    "  id INTEGER PRIMARY KEY, code_id INTEGER NOT NULL REFERENCES group_codes(id),"
    "  store_id INTEGER NOT NULL, theme TEXT NOT NULL, requested_at INTEGER NOT NULL,"
    "  group_id INTEGER REFERENCES chat_groups(id), fulfilled_at INTEGER);"
    "CREATE INDEX group_requests_pending ON group_requests(code_id) WHERE fulfilled_at IS NULL;"
    "CREATE TABLE group_sales ("
    "  id INTEGER PRIMARY KEY, name TEXT, from_at INTEGER NOT NULL, to_at INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL, CHECK (to_at > from_at));"
    "CREATE TABLE group_sale_groups ("
    "  sale_id INTEGER NOT NULL REFERENCES group_sales(id),"
    "  group_id INTEGER NOT NULL REFERENCES chat_groups(id), PRIMARY KEY (sale_id, group_id));"
    "CREATE TABLE group_sale_skus ("
    "  sale_id INTEGER NOT NULL REFERENCES group_sales(id), sku TEXT NOT NULL,"
    "  PRIMARY KEY (sale_id, sku));",
    /* 19: the change log — written only where several nodes share the store (PostgreSQL);
     * kept here so both stores have the same tables */
    "CREATE TABLE change_log ("
    "  seq INTEGER PRIMARY KEY, node TEXT NOT NULL, kind INTEGER NOT NULL, id INTEGER NOT NULL,"
    "  other INTEGER NOT NULL, at INTEGER NOT NULL);"
    "CREATE INDEX change_log_at ON change_log(at);",
    /* ---- guides (issue 15): task campaigns, mass messages, content ---- */
    /* 20: a guide task may name no member (a moments or group post is one per guide), so
     * guide_tasks is rebuilt with member_id nullable and what a campaign task carries: its
     * campaign and round, the store it fell to, the outcome and note of its completion and
     * when its reminder went (guide_tasks_open finds a campaign's open tasks by deadline, for
     * the tick's reminders and expiry). A campaign (a mass message is one of kind mass_message)
     * keeps its rule; task_holdout the targeted members it held out, for the uplift; guide_notices
     * the reminders; content and content_events the library, its uses, shares and views. */
    "CREATE TABLE guide_tasks_new ("
    "  id INTEGER PRIMARY KEY, guide_id INTEGER, member_id INTEGER,"
    "  journey_id INTEGER, run_id INTEGER, kind TEXT NOT NULL, script TEXT,"
    "  channel TEXT, due_at INTEGER, state TEXT NOT NULL, created_at INTEGER NOT NULL,"
    "  done_at INTEGER, campaign_id INTEGER, store_id INTEGER, outcome TEXT, note TEXT,"
    "  round TEXT, reminded_at INTEGER);"
    "INSERT INTO guide_tasks_new(id, guide_id, member_id, journey_id, run_id, kind, script,"
    "  channel, due_at, state, created_at, done_at, store_id)"
    "  SELECT t.id, t.guide_id, t.member_id, t.journey_id, t.run_id, t.kind, t.script, t.channel,"
    "  t.due_at, t.state, t.created_at, t.done_at, (SELECT s.store_id FROM staff s"
    "  WHERE s.id = t.guide_id) FROM guide_tasks t;"
    "DROP TABLE guide_tasks;"
    "ALTER TABLE guide_tasks_new RENAME TO guide_tasks;"
    "CREATE INDEX guide_tasks_guide ON guide_tasks(guide_id, state);"
    "CREATE INDEX guide_tasks_member ON guide_tasks(member_id, created_at);"
    "CREATE INDEX guide_tasks_campaign ON guide_tasks(campaign_id, round);"
    "CREATE INDEX guide_tasks_open ON guide_tasks(campaign_id, due_at) WHERE state = 'open';"
    "CREATE TABLE task_campaigns ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, script TEXT,"
    "  content_ids TEXT, target TEXT NOT NULL, recurring TEXT, due_at INTEGER,"
    "  due_hours INTEGER NOT NULL, holdout_pct INTEGER NOT NULL, window_days INTEGER NOT NULL,"
    "  remind_hours INTEGER NOT NULL, expire_hours INTEGER NOT NULL, store_id INTEGER,"
    "  created_by INTEGER, created_at INTEGER NOT NULL, last_round TEXT,"
    "  tasks INTEGER NOT NULL DEFAULT 0, held_out INTEGER NOT NULL DEFAULT 0,"
    "  skipped_consent INTEGER NOT NULL DEFAULT 0, skipped_cap INTEGER NOT NULL DEFAULT 0,"
    "  skipped_no_guide INTEGER NOT NULL DEFAULT 0, digest BLOB, reminded_until INTEGER);"
    "CREATE TABLE task_holdout ("
    "  campaign_id INTEGER NOT NULL, member_id INTEGER NOT NULL, at INTEGER NOT NULL,"
    "  PRIMARY KEY (campaign_id, member_id)) WITHOUT ROWID;"
    "CREATE INDEX task_holdout_member ON task_holdout(member_id);"
    "CREATE TABLE guide_notices ("
    "  id INTEGER PRIMARY KEY, staff_id INTEGER NOT NULL, kind TEXT NOT NULL,"
    "  campaign_id INTEGER, tasks INTEGER NOT NULL, due_at INTEGER, at INTEGER NOT NULL);"
    "CREATE INDEX guide_notices_staff ON guide_notices(staff_id, at);"
    "CREATE TABLE guide_settings ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1), per_day INTEGER, per_week INTEGER,"
    "  per_month INTEGER, updated_at INTEGER);"
    "CREATE TABLE content ("
    "  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL, body TEXT, url TEXT,"
    "  tags TEXT NOT NULL, created_by INTEGER, created_at INTEGER NOT NULL);"
    "CREATE TABLE content_events ("
    "  id INTEGER PRIMARY KEY, content_id INTEGER NOT NULL REFERENCES content(id),"
    "  kind TEXT NOT NULL, share_id INTEGER, token TEXT UNIQUE, guide_id INTEGER,"
    "  member_id INTEGER, task_id INTEGER, at INTEGER NOT NULL, digest BLOB UNIQUE);"
    "CREATE INDEX content_events_content ON content_events(content_id, kind);"
    "CREATE INDEX content_events_member ON content_events(member_id, at);"
    "CREATE INDEX contacts_added ON contacts(added_at);",
    /* ---- fission (issue 17): referrals, invites, group-buy, assist ---- */
    /* 21: a campaign may be paused; invites (a link's state or a forwarded coupon) by a
     * member; the referral graph — a member's one referrer, set at joining and never
     * changed, with its root, depth and path of ancestors ("/root/…/referrer/") so no
     * cycle can form; what each member brought (kept exact by every join, order and
     * refund); every referral attempt, accepted or refused with its reason; invite
     * rewards (one per campaign, referee and level); group-buy teams whose paid seats
     * never exceed their size, with their members and the mall's refund instructions;
     * assists whose cuts sum to the price minus the current price, one help per helper
     * and campaign */
    "ALTER TABLE campaigns ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE referral_invites ("
    "  id INTEGER PRIMARY KEY, campaign_id INTEGER REFERENCES campaigns(id),"
    "  member_id INTEGER NOT NULL REFERENCES members(id), channel TEXT NOT NULL,"
    "  state TEXT UNIQUE, coupon_code TEXT, device_id TEXT, created_at INTEGER NOT NULL,"
    "  joined INTEGER NOT NULL DEFAULT 0, first_orders INTEGER NOT NULL DEFAULT 0,"
    "  cycle_seconds INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX referral_invites_member ON referral_invites(member_id, campaign_id);"
    "CREATE INDEX referral_invites_report ON referral_invites(member_id, created_at,"
    "  campaign_id, channel, joined, first_orders, cycle_seconds);"
    "CREATE TABLE referrals ("
    "  member_id INTEGER PRIMARY KEY REFERENCES members(id),"
    "  referrer_id INTEGER NOT NULL REFERENCES members(id), root_id INTEGER NOT NULL,"
    "  depth INTEGER NOT NULL CHECK (depth >= 1), path TEXT NOT NULL,"
    "  invite_id INTEGER NOT NULL REFERENCES referral_invites(id), campaign_id INTEGER,"
    "  channel TEXT NOT NULL, via TEXT NOT NULL, joined_at INTEGER NOT NULL,"
    "  referrer_joined_at INTEGER NOT NULL, first_order_id INTEGER, first_order_at INTEGER,"
    "  sales_cents INTEGER NOT NULL DEFAULT 0,"
    "  CHECK (member_id <> referrer_id));"
    "CREATE INDEX referrals_referrer ON referrals(referrer_id, member_id);"
    "CREATE INDEX referrals_joined ON referrals(joined_at);"
    "CREATE INDEX referrals_invite ON referrals(invite_id);"
    "CREATE TABLE referral_cohorts ("
    "  day INTEGER NOT NULL, campaign_id INTEGER NOT NULL, channel TEXT NOT NULL,"
    "  invites INTEGER NOT NULL DEFAULT 0, inviters INTEGER NOT NULL DEFAULT 0,"
    "  joined INTEGER NOT NULL DEFAULT 0, first_orders INTEGER NOT NULL DEFAULT 0,"
    "  cycle_seconds INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (day, campaign_id, channel));"
    "CREATE TABLE referral_stats ("
    "  member_id INTEGER PRIMARY KEY, direct INTEGER NOT NULL DEFAULT 0,"
    "  downstream INTEGER NOT NULL DEFAULT 0, direct_sales_cents INTEGER NOT NULL DEFAULT 0,"
    "  downstream_sales_cents INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX referral_stats_direct ON referral_stats(direct DESC, member_id);"
    "CREATE INDEX referral_stats_downstream ON referral_stats(downstream DESC, member_id);"
    "CREATE INDEX referral_stats_dsales ON referral_stats(direct_sales_cents DESC, member_id);"
    "CREATE INDEX referral_stats_asales ON referral_stats(downstream_sales_cents DESC, member_id);"
    "CREATE TABLE referral_attempts ("
    "  id INTEGER PRIMARY KEY, invite_id INTEGER NOT NULL REFERENCES referral_invites(id),"
    "  campaign_id INTEGER, referrer_id INTEGER NOT NULL, member_id INTEGER NOT NULL,"
    "  phone_hash TEXT, device_id TEXT, via TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT,"
    "  at INTEGER NOT NULL, day INTEGER NOT NULL);"
    "CREATE INDEX referral_attempts_device ON referral_attempts(device_id, day);"
    "CREATE INDEX referral_attempts_phone ON referral_attempts(phone_hash);"
    "CREATE INDEX referral_attempts_member ON referral_attempts(member_id);"
    "CREATE INDEX referral_attempts_campaign ON referral_attempts(campaign_id, outcome);"
    "CREATE TABLE referral_rewards ("
    "  id INTEGER PRIMARY KEY, campaign_id INTEGER NOT NULL REFERENCES campaigns(id),"
    "  referrer_id INTEGER NOT NULL, referee_id INTEGER NOT NULL, level TEXT NOT NULL,"
    "  order_id INTEGER, points INTEGER NOT NULL DEFAULT 0, coupon_code TEXT,"
    "  status TEXT NOT NULL, at INTEGER NOT NULL, clawed_back_at INTEGER, clawed_points INTEGER,"
    "  UNIQUE (campaign_id, referee_id, level));"
    "CREATE INDEX referral_rewards_referrer ON referral_rewards(campaign_id, referrer_id);"
    "CREATE INDEX referral_rewards_order ON referral_rewards(order_id);"
    "CREATE TABLE teams ("
    "  id INTEGER PRIMARY KEY, campaign_id INTEGER NOT NULL REFERENCES campaigns(id),"
    "  leader_id INTEGER NOT NULL REFERENCES members(id), size INTEGER NOT NULL,"
    "  paid INTEGER NOT NULL DEFAULT 0, virtual_members INTEGER NOT NULL DEFAULT 0,"
    "  status TEXT NOT NULL, deadline INTEGER NOT NULL, created_at INTEGER NOT NULL,"
    "  closed_at INTEGER, CHECK (paid >= 0 AND paid + virtual_members <= size));"
    "CREATE INDEX teams_open ON teams(deadline) WHERE status = 'open';"
    "CREATE INDEX teams_campaign ON teams(campaign_id);"
    "CREATE TABLE team_members ("
    "  team_id INTEGER NOT NULL REFERENCES teams(id), member_id INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL, order_id INTEGER NOT NULL UNIQUE, order_external_id TEXT NOT NULL,"
    "  amount_cents INTEGER NOT NULL, joined_at INTEGER NOT NULL,"
    "  PRIMARY KEY (team_id, member_id), UNIQUE (team_id, seq));"
    "CREATE INDEX team_members_member ON team_members(member_id);"
    "CREATE TABLE mall_instructions ("
    "  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, team_id INTEGER, member_id INTEGER NOT NULL,"
    "  order_id INTEGER NOT NULL, order_external_id TEXT NOT NULL,"
    "  amount_cents INTEGER NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL,"
    "  UNIQUE (kind, order_id));"
    "CREATE INDEX mall_instructions_team ON mall_instructions(team_id);"
    "CREATE TABLE assists ("
    "  id INTEGER PRIMARY KEY, campaign_id INTEGER NOT NULL REFERENCES campaigns(id),"
    "  member_id INTEGER NOT NULL REFERENCES members(id), price_cents INTEGER NOT NULL,"
    "  target_cents INTEGER NOT NULL, current_cents INTEGER NOT NULL,"
    "  helpers INTEGER NOT NULL, helped INTEGER NOT NULL DEFAULT 0, steps TEXT NOT NULL,"
    "  status TEXT NOT NULL, deadline INTEGER NOT NULL, coupon_code TEXT,"
    "  created_at INTEGER NOT NULL, reached_at INTEGER, UNIQUE (campaign_id, member_id),"
    "  CHECK (helped >= 0 AND helped <= helpers AND current_cents >= target_cents));"
    "CREATE INDEX assists_open ON assists(deadline) WHERE status = 'open';"
    "CREATE TABLE assist_helps ("
    "  assist_id INTEGER NOT NULL REFERENCES assists(id), campaign_id INTEGER NOT NULL,"
    "  member_id INTEGER NOT NULL, seq INTEGER NOT NULL, cut_cents INTEGER NOT NULL"
    "  CHECK (cut_cents > 0), at INTEGER NOT NULL, PRIMARY KEY (assist_id, seq),"
    "  UNIQUE (campaign_id, member_id));"
    "CREATE INDEX assist_helps_member ON assist_helps(member_id);"
    "CREATE INDEX campaign_plays_member_only ON campaign_plays(member_id);"
    "CREATE INDEX campaign_packets_member_only ON campaign_packets(member_id)"
    "  WHERE member_id IS NOT NULL;",
    /* ---- staff lifecycle and transfers (issue 15 items 1 and 4) ---- */
    /* 22: a staff member is active or departed; staff_stores keeps where each worked and
     * when (the open row, to_at NULL, is the current store). A transfer moves a guide's
     * customers (在职继承 / 离职继承): one item per member with its receiver, waiting
     * until the bridge reports done / refused / failed or the wait ends; ended_at is when
     * it ended (for a done item, the moment the member's credit moved); asked: the bridge
     * was asked to carry it out (0: failed at once, limit or capacity). bridge_messages is what
     * siyu asks the bridge to carry out (one transfer_customer per transfer and receiver), read by
     * cursor. */
    "ALTER TABLE staff ADD COLUMN status TEXT NOT NULL DEFAULT 'active';"
    "ALTER TABLE staff ADD COLUMN departed_at INTEGER;"
    "CREATE TABLE staff_stores ("
    "  id INTEGER PRIMARY KEY, staff_id INTEGER NOT NULL REFERENCES staff(id),"
    "  store_id INTEGER REFERENCES stores(id), from_at INTEGER NOT NULL, to_at INTEGER);"
    "CREATE INDEX staff_stores_staff ON staff_stores(staff_id, from_at);"
    "INSERT INTO staff_stores(staff_id, store_id, from_at)"
    "  SELECT id, store_id, created_at FROM staff WHERE store_id IS NOT NULL;"
    "CREATE TABLE transfers ("
    "  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, from_guide_id INTEGER NOT NULL REFERENCES "
    "staff(id),"
    "  to_guide_ids TEXT NOT NULL, split TEXT NOT NULL, created_at INTEGER NOT NULL,"
    "  created_by INTEGER);"
    "CREATE INDEX transfers_from ON transfers(from_guide_id, id);"
    "CREATE TABLE transfer_items ("
    "  id INTEGER PRIMARY KEY, transfer_id INTEGER NOT NULL REFERENCES transfers(id),"
    "  member_id INTEGER NOT NULL REFERENCES members(id),"
    "  from_guide_id INTEGER NOT NULL REFERENCES staff(id),"
    "  to_guide_id INTEGER NOT NULL REFERENCES staff(id), state TEXT NOT NULL, reason TEXT,"
    "  due_at INTEGER NOT NULL, ended_at INTEGER, asked INTEGER NOT NULL,"
    "  UNIQUE (transfer_id, member_id));"
    "CREATE INDEX transfer_items_due ON transfer_items(due_at) WHERE state = 'waiting';"
    "CREATE INDEX transfer_items_member ON transfer_items(member_id, state);"
    "CREATE INDEX transfer_items_to ON transfer_items(to_guide_id) WHERE state = 'waiting';"
    "CREATE TABLE bridge_messages ("
    "  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, transfer_id INTEGER REFERENCES transfers(id),"
    "  to_guide_id INTEGER REFERENCES staff(id), created_at INTEGER NOT NULL);"
    /* a scan's cap check reads one counter per guide instead of counting the day's scans */
    "CREATE TABLE qr_scan_counts ("
    "  code_id INTEGER NOT NULL REFERENCES qr_codes(id), day INTEGER NOT NULL,"
    "  guide_id INTEGER NOT NULL REFERENCES staff(id), n INTEGER NOT NULL,"
    "  PRIMARY KEY (code_id, day, guide_id));"
    "INSERT INTO qr_scan_counts(code_id, day, guide_id, n)"
    "  SELECT code_id, day, guide_id, count(*) FROM qr_scans GROUP BY code_id, day, guide_id;",
    /* 23: fission (issue 17): refund instructions leave siyu — delivered to the mall's
     * webhook (the channel binding "mall") with attempts and retries, and pulled by cursor
     * and acknowledged (status pending -> acked, with the mall's reference); a clawed-back
     * invite reward records what happened to its coupon (voided, or redeemed: not recovered). */
    "ALTER TABLE mall_instructions ADD COLUMN delivery TEXT NOT NULL DEFAULT 'queued';"
    "ALTER TABLE mall_instructions ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE mall_instructions ADD COLUMN next_attempt_at INTEGER;"
    "ALTER TABLE mall_instructions ADD COLUMN last_error TEXT;"
    "ALTER TABLE mall_instructions ADD COLUMN sent_at INTEGER;"
    "ALTER TABLE mall_instructions ADD COLUMN acked_at INTEGER;"
    "ALTER TABLE mall_instructions ADD COLUMN reference TEXT;"
    "UPDATE mall_instructions SET next_attempt_at = created_at;"
    "CREATE INDEX mall_instructions_due ON mall_instructions(next_attempt_at)"
    "  WHERE status = 'pending' AND delivery IN ('queued', 'retry');"
    "CREATE INDEX mall_instructions_status ON mall_instructions(status, id);"
    "ALTER TABLE referral_rewards ADD COLUMN clawed_coupon TEXT;",
    /* 24: a request for a new group is also pushed to the bridge through the wecom
     * channel's adapter (the pull stays): its delivery state, attempts and next try */
    "ALTER TABLE group_requests ADD COLUMN push_state TEXT NOT NULL DEFAULT 'pending';"
    "ALTER TABLE group_requests ADD COLUMN push_attempts INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE group_requests ADD COLUMN push_next_at INTEGER;"
    "ALTER TABLE group_requests ADD COLUMN pushed_at INTEGER;"
    "ALTER TABLE group_requests ADD COLUMN push_error TEXT;"
    "CREATE INDEX group_requests_push ON group_requests(id) WHERE push_state = 'pending'"
    " AND fulfilled_at IS NULL;",
    /* 25: group SOPs — posts scheduled weekly to a store's groups (by theme) or named groups,
     * each slot a group_post task per group on its owner, rolled up under a task campaign;
     * a task names its group, once per campaign, slot (round) and group */
    "ALTER TABLE guide_tasks ADD COLUMN group_id INTEGER;"
    "CREATE UNIQUE INDEX guide_tasks_group_slot ON guide_tasks(campaign_id, round, group_id)"
    " WHERE group_id IS NOT NULL;"
    "CREATE TABLE group_sops ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    "  campaign_id INTEGER NOT NULL REFERENCES task_campaigns(id), store_id INTEGER,"
    "  theme TEXT, group_ids TEXT, weekday INTEGER NOT NULL, minute INTEGER NOT NULL,"
    "  content_id INTEGER, text TEXT NOT NULL, due_hours INTEGER NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('active', 'paused')), created_at INTEGER NOT NULL,"
    "  created_by INTEGER, updated_at INTEGER NOT NULL);"
    "CREATE INDEX group_sops_store ON group_sops(store_id, id);",
    /* 26: (PostgreSQL: orders, events and messages partitioned by month; see pg_schema.c.)
     * One SQLite file keeps them whole: retention deletes rows in batches. */
    "SELECT 1;",
    /* 27: the store's change sequence: every committed write transaction adds one to seq and
     * draws a new random tag (store.c), so a snapshot of the views taken at (seq, tag) is
     * known to be the store's state exactly when both still match (views/snapshot.c) */
    "CREATE TABLE change_seq (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " seq INTEGER NOT NULL, tag INTEGER NOT NULL);"
    "INSERT INTO change_seq(id, seq, tag) VALUES (1, 0, random());",
};
const int sqlite_migration_count = (int)(sizeof sqlite_migrations / sizeof *sqlite_migrations);
