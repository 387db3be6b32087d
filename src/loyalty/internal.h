/* internal.h — what the loyalty files share: the parsed configuration and the
 * ledger's primitives. Not for use outside src/loyalty. */
#ifndef SIYU_LOYALTY_INTERNAL_H
#define SIYU_LOYALTY_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/domain.h"
#include "loyalty/loyalty.h"

#define LOY_MAX_TIERS 16
#define LOY_MAX_RULES 64
#define LOY_MAX_SCOPE 32
#define LOY_CODE_LEN 32

typedef enum loy_metric { LOY_METRIC_NONE, LOY_METRIC_SPEND, LOY_METRIC_POINTS } loy_metric;
typedef enum loy_review {
    LOY_REVIEW_ANNIVERSARY,
    LOY_REVIEW_CALENDAR_YEAR,
    LOY_REVIEW_NONE
} loy_review;
typedef enum loy_expiry {
    LOY_EXPIRY_MONTHS,
    LOY_EXPIRY_END_OF_NEXT_YEAR,
    LOY_EXPIRY_NEVER
} loy_expiry;

typedef struct loy_tier {
    char code[LOY_CODE_LEN];
    loy_metric metric; /* NONE for the first tier: everyone qualifies */
    int64_t min;       /* cents of net spend, or points earned */
    int window_months;
    int64_t multiplier_pct; /* points multiplier, 100 = ×1 */
    int64_t discount_bp;    /* POS discount in basis points, 500 = 5% */
} loy_tier;

typedef struct loy_rule {
    int64_t id;
    int64_t ppy_milli;     /* points per yuan × 1000 */
    int64_t birthday_pct;  /* multiplier in the member's birthday month, 100 = ×1 */
    bool tier_multiplier;  /* apply the member's tier multiplier */
    int64_t cap_per_order; /* 0: none */
    uint32_t channels;     /* bit per dom_channels index; 0: every channel */
    int64_t stores[LOY_MAX_SCOPE];
    int n_stores;
    char *categories[LOY_MAX_SCOPE];
    int n_categories;
} loy_rule;

/* One immutable configuration, shared by readers; replaced whole when the operator
 * changes it (the store's "loyalty.version" setting names the current one). */
typedef struct loy_config {
    char version[40];
    int refs;
    loy_tier tiers[LOY_MAX_TIERS];
    int n_tiers; /* 0: no ladder */
    loy_review review;
    int64_t grace_days;
    json_t *tiers_json; /* the ladder as stored, for rendering */
    loy_rule rules[LOY_MAX_RULES];
    int n_rules;
    /* settings */
    loy_expiry expiry;
    int expiry_months;
    int64_t pending_days;
    int64_t max_points_per_day;     /* 0: none */
    int64_t redeem_points_per_yuan; /* points worth ¥1 at the till */
    int64_t referral_points;        /* 0: no referral reward */
    json_t *settings_json;
    /* When every tier above the first is judged by one metric over one window, an
     * account may carry an upper bound on that metric (loy_marks); the key, derived
     * from the version, says which configuration the bound was taken under. 0: the
     * ladder mixes metrics or windows, or has no tier to reach — no bounds. */
    int64_t qualify_key;
    loy_metric qualify_metric;
    int qualify_window;
} loy_config;

/* The current configuration (a reference; release with loy_config_release). NULL
 * only on a store error, with e filled. */
loy_config *loy_config_get(store_conn *c, siyu_err *e);
/* The same, taking the configuration's version from d->memo when a bulk import keeps one
 * (domain/memo.h): an order then reads no setting. */
loy_config *loy_config_get_dom(dom *d, siyu_err *e);
void loy_config_release(loy_config *cfg);
/* Index of the tier with this code, or -1; NULL code means the first tier. */
int loy_tier_index(const loy_config *cfg, const char *code);

/* ---- time ---- */
/* An instant n calendar months later (earlier when n < 0) in local time, the day
 * clamped to the target month's length. */
int64_t loy_add_months(int64_t t, int n);
/* Local midnight starting the given local day. */
int64_t loy_day_start(int32_t day);
/* When points earned at t expire (INT64_MAX: never). */
int64_t loy_expiry_of(const loy_config *cfg, int64_t t);

/* ---- the ledger (points.c) ---- */
/* What an account remembers so an order need not ask the ledger and the orders:
 *  - earn_day: the local day of the member's latest earn entry (0: none ever) and
 *    earn_day_points the sum earned that day — the daily cap's "already earned";
 *    earn_known false when the row predates the marks or a merge cleared them.
 *  - qualify_bound: at least the ladder's metric summed over everything placed (or
 *    earned) after qualify_from. Any window starting at or after qualify_from holds
 *    no more, so an order whose bound stays under the next tier's minimum needs no
 *    tier query. Valid while qualify_key equals the configuration's.
 * `siyu check` verifies both against the ledger and the orders. */
typedef struct loy_marks {
    bool exists; /* the account row is there (as read) */
    bool earn_known;
    int32_t earn_day;
    int64_t earn_day_points;
    int64_t qualify_key, qualify_from, qualify_bound;
    int64_t next_expiry; /* the account's, as read; 0: none or unknown (not written back) */
} loy_marks;

typedef struct loy_entry {
    int64_t member_id, at, delta, order_id, staff_id, available_at, expires_at;
    const char *kind, *ref, *reason;
    const loy_marks *marks; /* when set, the account's marks are written with the delta */
    int64_t *id_out;        /* when set, gets the id of the entry written */
} loy_entry;
/* Writes a ledger entry and moves the account by its delta. A positive entry is a
 * lot (remaining = delta). A negative one must already have been taken from lots. */
int loy_ledger_write(dom *d, const loy_entry *en, siyu_err *e);
/* Credits a lot available at t + pending (pending only for earn) expiring per the
 * configuration. */
int loy_credit(dom *d, const loy_config *cfg, int64_t member, int64_t points, int64_t t,
               bool pending, const char *kind, int64_t order_id, const char *ref,
               const char *reason, siyu_err *e);
/* Credits an order's earned points (pending, kind "earn") and writes the account's
 * marks in the same statement. */
int loy_credit_earn(dom *d, const loy_config *cfg, int64_t member, int64_t points, int64_t t,
                    int64_t order_id, const loy_marks *marks, siyu_err *e);
/* Writes the account's marks (creating the account if needed). */
int loy_marks_write(dom *d, int64_t member, const loy_marks *m, siyu_err *e);
/* Re-derives the earn marks from the ledger (for accounts whose marks are unknown). */
void loy_earn_marks_load(store_conn *c, int64_t member, loy_marks *m);
/* Takes up to `want` points from the member's lots FEFO — spendable lots only, or
 * pending ones too — first from `first_lot` when non-zero. *taken says how much. */
int loy_take(dom *d, int64_t member, int64_t want, int64_t t, bool spendable_only,
             int64_t first_lot, int64_t *taken, siyu_err *e);
/* Spendable and pending points at t. */
void loy_points_at(store_conn *c, int64_t member, int64_t t, int64_t *spendable, int64_t *pending);
/* Writes expiry entries for the member's lots due by t and, when any were due or
 * `reset` asks, re-derives the account's next_expiry. Returns how many points
 * expired. */
int64_t loy_settle(dom *d, int64_t member, int64_t t, bool reset, siyu_err *e);
/* Makes sure the member has an account row. */
int loy_account_ensure(dom *d, int64_t member, siyu_err *e);
/* The cash value of points at the till, in cents. */
int64_t loy_cash_value(const loy_config *cfg, int64_t points);

/* A member's loyalty_accounts row, read once per order. */
typedef struct loy_account {
    bool exists;
    int tier; /* index into the ladder; 0 when none is held (or unknown) */
    int64_t review_at, grace_until, referrer_id;
    bool referral_paid;
    loy_marks marks;
} loy_account;
void loy_account_read(store_conn *c, const loy_config *cfg, int64_t member, loy_account *a);

/* ---- tiers (tiers.c) ---- */
/* Index of the highest tier the member qualifies for at t. */
int loy_qualifying(store_conn *c, const loy_config *cfg, int64_t member, int64_t t);
/* The ladder's (shared) metric summed over everything after `from` — what a
 * qualify bound taken at `from` must be at least. */
int64_t loy_metric_after(store_conn *c, const loy_config *cfg, int64_t member, int64_t from);
/* Index of the tier the member holds now (0 when it holds none). */
int loy_current_tier(store_conn *c, const loy_config *cfg, int64_t member);
/* Moves the member up if its orders now qualify it for more (reason "upgrade").
 * With `marks`, a fresh qualify bound taken by the query is left in it. */
int loy_tier_upgrade(dom *d, const loy_config *cfg, int64_t member, int cur, int64_t t,
                     int64_t order_id, loy_marks *marks, siyu_err *e);
/* Runs the member's reviews that are due by t (downgrades after grace). */
int loy_tier_review(dom *d, const loy_config *cfg, int64_t member, int64_t t, siyu_err *e);
/* Re-evaluates every member against a new ladder (reason "ladder"). */
int loy_tier_reevaluate_all(dom *d, const loy_config *cfg, siyu_err *e);
/* Sets the member's tier with a history entry. */
int loy_tier_set(dom *d, const loy_config *cfg, int64_t member, int to, int64_t t,
                 const char *reason, int64_t order_id, siyu_err *e);
json_t *loy_tier_json(const loy_config *cfg, int i);

/* ---- coupons (coupons.c) ---- */
/* Redeems the order's coupon, checking every rule (422 naming coupon_code). */
int loy_coupon_redeem(dom *d, const dom_order_facts *o, int64_t gross, siyu_err *e);
/* After a full refund: gives the coupon back when its template says so. */
int loy_coupon_restore(dom *d, int64_t order_id, int64_t at, siyu_err *e);
/* Expires the member's (or, with member 0, everyone's up to limit) coupons due by t. */
int64_t loy_coupons_expire(dom *d, int64_t t, int limit, siyu_err *e);
/* The discount a coupon gives a basket (gross cents), 0 when it does not apply; why
 * not in *why. */
typedef struct loy_template loy_template;
int loy_coupons_usable(dom *d, int64_t member, const loyalty_basket *b, json_t *usable,
                       json_t *unusable);

/* ---- shared ---- */
bool loy_member_visible(dom *d, int64_t member, siyu_err *e); /* 404/403 when not */
json_t *loy_member_block(dom *d, int64_t member);

#endif
