/* loyalty.h — tiers, the points ledger, coupons, referrals, benefits, the checker.
 *
 * The loyalty engine owns every table of migration 4. It is driven by rules an HQ
 * operator configures (docs/loyalty.md): a tier ladder, earn rules, settings. Orders,
 * refunds and merges reach it through the domain's hooks (loyalty_install), inside
 * the same transaction as the order, so a point is awarded exactly when the order is
 * written and never twice: the order's idempotency is the points' idempotency.
 *
 * Invariants (checked by loyalty_check, `siyu check`):
 *   - a member's points balance is the sum of its ledger entries, and equals what
 *     remains of its positive entries ("lots"); neither ever goes below zero;
 *   - spending takes from lots first-expiring-first;
 *   - a coupon is redeemed at most once (a full refund may restore it), and a
 *     template never issues more than its stock;
 *   - no member sits below the tier its rules give it;
 *   - every order's lines sum to its total plus its discount, and what was refunded
 *     equals the sum of its refunds and never exceeds its total.
 *
 * Every call follows domain.h's conventions: it runs inside the caller's
 * transaction, answers 200/201 or -1 with e filled, and writes nothing the caller
 * keeps on error. */
#ifndef SIYU_LOYALTY_LOYALTY_H
#define SIYU_LOYALTY_LOYALTY_H

#include "domain/domain.h"

/* Registers the order, refund, merge and member-360 hooks with the domain. */
void loyalty_install(void);

/* ---- configuration (config.c) ---- */
int loyalty_tiers_put(dom *d, json_t *body, json_t **out, siyu_err *e);
int loyalty_tiers_get(dom *d, json_t **out, siyu_err *e);
int loyalty_rules_create(dom *d, json_t *body, json_t **out, siyu_err *e);
int loyalty_rules_list(dom *d, json_t **out, siyu_err *e);
int loyalty_rules_deactivate(dom *d, int64_t id, json_t **out, siyu_err *e);
int loyalty_settings_put(dom *d, json_t *body, json_t **out, siyu_err *e);
int loyalty_settings_get(dom *d, json_t **out, siyu_err *e);

/* ---- points (points.c) ---- */
/* {balance, pending, cash_value_cents, expiring: [...], ledger: {items, next_cursor}};
 * cursor is the last ledger id seen (0 for the newest page). */
int loyalty_points_get(dom *d, int64_t member_id, int64_t cursor, int limit, json_t **out,
                       siyu_err *e);
/* {delta, reason}: an operator's credit, or a redemption when negative (422 when the
 * balance is short). */
int loyalty_points_post(dom *d, int64_t member_id, json_t *body, json_t **out, siyu_err *e);
/* {delta, reason} applied to each member of the list; a debit skips members whose
 * balance is short and names them. */
int loyalty_points_bulk(dom *d, json_t *body, const int64_t *members, size_t n, json_t **out,
                        siyu_err *e);

/* ---- coupons (coupons.c) ---- */
int coupon_templates_create(dom *d, json_t *body, json_t **out, siyu_err *e);
int coupon_templates_get(dom *d, int64_t id, json_t **out, siyu_err *e);
int coupon_templates_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e);
/* {template_id, member_id | member_ids, external_id?} */
int coupons_issue(dom *d, json_t *body, json_t **out, siyu_err *e);
/* A journey step's outcome for coupons_issue's answer: "coupon_issued", or
 * "coupon_failed_per_member_limit", "coupon_failed_out_of_stock", "coupon_failed_expired",
 * "coupon_failed_no_template", "coupon_failed" (the refusal's details carry
 * {"reason": "per_member_limit" | "out_of_stock" | "expired"}). */
const char *coupons_issue_outcome(int rc, const siyu_err *e);
int coupons_get(dom *d, const char *code, json_t **out, siyu_err *e);
/* {phone}: moves a shareable coupon to a friend, who becomes a prospect member whose
 * referrer is the sender when the phone was new. */
int coupons_forward(dom *d, const char *code, json_t *body, json_t **out, siyu_err *e);
int loyalty_member_coupons(dom *d, int64_t member_id, json_t **out, siyu_err *e);

/* ---- the till (benefits.c) ---- */
typedef struct loyalty_basket {
    int64_t store_id;        /* 0: any */
    int channel;             /* index into dom_channels, -1: any */
    int64_t amount_cents;    /* the basket's gross value; -1: unknown */
    const char *const *skus; /* NULL-terminated, may be NULL */
} loyalty_basket;
int loyalty_benefits(dom *d, int64_t member_id, const loyalty_basket *b, json_t **out, siyu_err *e);

/* ---- time passing (sweep.c) ----
 * Expires due points and coupons and runs due tier reviews, at most `limit` members
 * of each kind per call (0: no limit). Out: {points_expired, coupons_expired,
 * reviews}. Orders run their member's due work themselves, so the sweep only has to
 * catch members nobody touches. */
int loyalty_sweep(dom *d, int limit, json_t **out, siyu_err *e);

/* ---- the checker (check.c) ---- */
/* Appends up to max violations ({check, message}) to *out (an array); returns how
 * many were found, -1 on a store error. */
int loyalty_check(store_conn *c, int64_t now, int max, json_t **out, siyu_err *e);

/* ---- for the member index ---- */
/* The member's tier code (the ladder's first tier when it holds none; NULL with no
 * ladder) into buf, and its points (the ledger's sum). Returns 0, or -1 when unknown. */
int loyalty_member_state(store_conn *c, int64_t member_id, char *tier, size_t len, int64_t *points);

/* ---- for other modules (games, src/fission) ----
 * One coupon of a template to a member, with the template's stock, validity and
 * per-member limits (422 with details.reason when refused); ref makes it idempotent. */
int loyalty_coupon_grant(dom *d, int64_t template_id, int64_t member, const char *ref,
                         char code[16], siyu_err *e);
/* A credit (a lot expiring per the settings) or a debit (first-expiring-first; 422
 * naming `field` when the spendable balance is short) written to the ledger. */
int loyalty_points_credit(dom *d, int64_t member, int64_t points, const char *kind,
                          const char *reason, siyu_err *e);
int loyalty_points_debit(dom *d, int64_t member, int64_t points, const char *kind,
                         const char *reason, const char *field, siyu_err *e);
/* Points worth `cents` at the till (the settings' redeem_points_per_yuan), rounded down. */
int loyalty_points_of_cents(store_conn *c, int64_t cents, int64_t *points, siyu_err *e);
/* Voids a coupon while it is still unused (state issued -> void, event "voided" with
 * `why`), as a clawback does: 1 when voided, 0 when it was not (state, when not NULL,
 * says what it is: redeemed, expired, void, or "" when no coupon has that code), -1 on a
 * store error. A voided coupon never returns to its template's stock. */
int loyalty_coupon_void(dom *d, const char *code, const char *why, char state[16], siyu_err *e);
/* Called by coupons_forward in its transaction after a coupon moved to a friend
 * (created: the friend was made by the forward), so fission can record the invite and
 * the referral. NULL (the default) calls nothing. */
typedef int (*loyalty_forward_fn)(dom *d, int64_t sender, int64_t friend, bool created,
                                  const char *code, siyu_err *e);
void loyalty_set_forward_hook(loyalty_forward_fn fn);

#endif
