/* fission.h — fission (issue 17, docs/fission.md): the referral graph, invite campaigns,
 * group-buy teams and assists.
 *
 * Owns the tables of the fission migration: referral_invites (a link's state or a
 * forwarded coupon), referrals (a member's one referrer, its root, depth and path of
 * ancestors), referral_stats (what each member brought: direct and downstream members
 * and net sales, kept exact by every join, order and refund), referral_attempts (every
 * join through an invite, accepted or refused with its reason), referral_rewards, teams,
 * team_members, mall_instructions (refunds the mall must make) and assists with their
 * helps. Campaign rows are games.c's (one table for every kind).
 *
 * Every call runs inside the caller's write or read transaction (domain.h's
 * conventions): 201/200 or -1 with e filled, nothing kept on error. Counters (seats,
 * cuts, stats) move by guarded updates on the group committer, so no stale read can
 * oversell a team or overshoot an assist.
 *
 * Invariants (fission_check, part of `siyu check`): a team's paid seats equal its
 * members and never exceed its size, a succeeded team is full (paid + virtual), a failed
 * one has a refund instruction per member; an assist's cuts sum to its price minus its
 * current price, its helps number `helped`, and it is reached exactly when the current
 * price is the target; a referral's depth is its referrer's plus one and its root its
 * referrer's root; every member's stats equal a recount from the graph and the orders;
 * no referrer paid for more referees than the campaign's cap; a refund instruction's
 * status, delivery and their times agree, and its member and amount are its team seat's;
 * a reward whose clawback voided its coupon holds a void coupon, and no reward coupon is
 * void without that clawback. */
#ifndef SIYU_FISSION_FISSION_H
#define SIYU_FISSION_FISSION_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/domain.h"

/* Wraps the loyalty hooks (orders, refunds, merges) so fission follows orders in the
 * same transaction: first orders, net sales brought, rewards and their clawback.
 * Call after loyalty_install. Also registers the coupon-forward hook. */
void fission_install(void);

/* Campaign rules of the fission kinds ("invite", "group_buy", "assist"), checked when
 * a campaign is created; 0 or -1 with e naming rules.<field>. */
int fission_rules_check(dom *d, const char *kind, json_t *rules, siyu_err *e);

/* POST /campaigns/{id}/invites {member_id, device_id?} -> {invite_id, state, link,
 * campaign_id, member_id}; one invite per member and campaign (200 the second time). */
int fission_invite_create(dom *d, int64_t campaign, json_t *body, json_t **out, siyu_err *e);

/* A `state` came with a member (POST /members, or the WeCom contact that follows):
 * when it names an invite, the join is judged (existing member, self-referral, abuse
 * rules), recorded, and, accepted, the member gets its referrer and the campaign's
 * join reward is paid. created: the member was made by this request. Out (may be
 * NULL): {invite_id, accepted, reason?, referrer_id?, depth?}. A state naming no invite
 * is ignored (0, *out NULL). */
int fission_state_arrived(dom *d, int64_t member, bool created, const char *state,
                          const char *device_id, const char *via, json_t **out, siyu_err *e);

/* GET /members/{id}/referrals: {member_id, referred_by, direct: {members, sales_cents,
 * items}, downstream: {members, sales_cents, depth_max}} (items: the direct referees). */
int fission_member_referrals(dom *d, int64_t member, json_t **out, siyu_err *e);
/* GET /reports/referrals?from=&to=: K-factor and cycle time per campaign, channel and
 * month cohort; top KOLs by members and sales at depth 1 and in all. */
int fission_referrals_report(dom *d, int64_t from, int64_t to, int top, json_t **out, siyu_err *e);
/* Adds "referral" {referred_by, depth, root_id, direct, downstream} and "campaigns"
 * (those the member took part in) to a member 360. */
void fission_member_block(dom *d, json_t *member);
/* The referral attributes of a member for the segment index: direct, all downstream,
 * and whether it was referred. 0, or -1 on a store error. */
int fission_member_attrs(store_conn *c, int64_t member, int64_t *direct, int64_t *all,
                         bool *referred);

/* Group-buy: POST /campaigns/{id}/teams {member_id, order} (the leader's paid order
 * external_id); POST /teams/{id}/join {member_id, order}; GET /teams/{id}. */
int fission_team_open(dom *d, int64_t campaign, json_t *body, json_t **out, siyu_err *e);
int fission_team_join(dom *d, int64_t team, json_t *body, json_t **out, siyu_err *e);
int fission_team_get(dom *d, int64_t team, json_t **out, siyu_err *e);

/* Assist: POST /campaigns/{id}/assists {member_id}; POST /assists/{id}/help {member_id};
 * GET /assists/{id}. */
int fission_assist_start(dom *d, int64_t campaign, json_t *body, json_t **out, siyu_err *e);
int fission_assist_help(dom *d, int64_t assist, json_t *body, json_t **out, siyu_err *e);
int fission_assist_get(dom *d, int64_t assist, json_t **out, siyu_err *e);

/* Refund instructions (a failed team's payments, one per paid member) as the mall reads
 * them: GET /refund-instructions?status=pending|acked&cursor= (by id, {items,
 * next_cursor}); GET /refund-instructions/{id}; POST /refund-instructions/{id}/ack
 * {reference?}: pending -> acked (200); again, the same answer; acked with another
 * reference, a 409. They are also pushed to the channel binding "mall" by the outbox
 * (journey/outbox.c). */
int fission_refunds_list(dom *d, const char *status, int64_t cursor, int limit, json_t **out,
                         siyu_err *e);
int fission_refund_get(dom *d, int64_t id, json_t **out, siyu_err *e);
int fission_refund_ack(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);

/* Closes teams and assists past their deadline, at most `limit` of each (0: all):
 * a team fails (refund instructions) or is completed by virtual members; an assist
 * expires. Out: {teams_failed, teams_completed_virtually, assists_expired}. */
int fission_sweep(dom *d, int limit, json_t **out, siyu_err *e);

/* Adds a fission campaign's figures to its report object (kind-specific), and for
 * every kind what it brought: participants, new members, cost per new member, and the
 * next 30 days' orders and sales of participants against matched non-participants. */
int fission_campaign_report(dom *d, int64_t campaign, const char *kind, int64_t created_at,
                            json_t *report, siyu_err *e);

/* The fission invariants above, appended as {check, message}; returns how many. */
int fission_check(store_conn *c, int max, json_t *out);

/* ---- pure (unit-tested) ----
 * The cuts of an assist: total = price - target over n helpers. Fixed: equal cuts, the
 * first total % n one cent larger. Random: each within [min, max] (0: 1 and total),
 * summing exactly to total (games_split). -1 when impossible. */
int fission_assist_steps(int64_t total, int64_t n, bool random, int64_t min, int64_t max,
                         uint64_t (*rnd)(uint64_t), int64_t *out);

#endif
