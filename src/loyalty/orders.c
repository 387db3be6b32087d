/* orders.c — what an order, a refund and a merge do to a member's loyalty.
 *
 * An order, in its own transaction: the member's due expiries and tier reviews run
 * first (as of the order's time), then its coupon is redeemed and its points_used
 * spent — either refusal fails the whole order with 422 — then points are earned,
 * the tier moves up if the order qualifies, and a referrer is paid for a referred
 * member's first order. A refund reverses the earned points in proportion to what
 * has been refunded so far, gives back spent points in the same proportion, and on a
 * full refund restores the coupon (when the template says so) and takes back the
 * referral reward. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/checked.h"
#include "base/timeutil.h"
#include "loyalty/internal.h"

/* ---------------- earning ---------------- */

static bool rule_matches(const loy_rule *r, int channel, int64_t store_id, const char *category)
{
    if (r->channels && !(r->channels & (1u << channel))) return false;
    if (r->n_stores) {
        bool ok = false;
        for (int i = 0; i < r->n_stores; i++)
            ok |= r->stores[i] == store_id;
        if (!ok) return false;
    }
    if (r->n_categories) {
        bool ok = false;
        for (int i = 0; category && i < r->n_categories; i++)
            ok |= strcmp(r->categories[i], category) == 0;
        if (!ok) return false;
    }
    return true;
}

static bool birthday_month(dom *d, const dom_order_facts *o)
{
    bool has = false;
    int32_t birthday = 0;
    if (o->member) { /* the order already read the member */
        has = o->member->has_birthday;
        birthday = o->member->birthday;
    } else {
        store_stmt *s = store_q(d->conn, Q_MEMBER_GET);
        store_bind_int(s, 1, o->member_id);
        if (store_step(s) == STORE_ROW && !store_col_null_by(s, "birthday")) {
            has = true;
            birthday = (int32_t)store_col_int_by(s, "birthday");
        }
        store_reset(s);
    }
    if (!has) return false;
    int y1, m1, d1, y2, m2, d2;
    date_civil(birthday, &y1, &m1, &d1);
    date_civil(time_local_day(o->placed_at), &y2, &m2, &d2);
    return m1 == m2;
}

/* Points an order earns. Each line goes to the matching rule with the most points
 * per yuan; the money the member actually paid (total less the cash value of the
 * points used) is spread over the lines in proportion to their value; each rule's
 * points are rounded down once per order, then capped. */
/* Points the member's earn entries hold on a local day: from the account's marks
 * when the day is the latest one earned on (or later), from the ledger for a day
 * before it (a back-filled order). */
static int64_t earned_on_day(dom *d, loy_account *a, int64_t member, int32_t day)
{
    if (!a->marks.earn_known) loy_earn_marks_load(d->conn, member, &a->marks);
    if (day > a->marks.earn_day) return 0;
    if (day == a->marks.earn_day) return a->marks.earn_day_points;
    store_stmt *s = store_q(d->conn, Q_POINTS_EARNED_BETWEEN);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, loy_day_start(day));
    store_bind_int(s, 3, loy_day_start(day + 1));
    int64_t already = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    return already;
}

static int64_t order_points(dom *d, const loy_config *cfg, const dom_order_facts *o,
                            loy_account *acct, int tier, int64_t gross)
{
    if (!cfg->n_rules || gross <= 0) return 0;
    int64_t paid = o->total - loy_cash_value(cfg, o->points_used);
    if (paid <= 0) return 0;
    int64_t base[LOY_MAX_RULES] = {0};
    bool any = false;
    for (size_t i = 0; i < o->n_items; i++) {
        int best = -1;
        for (int r = 0; r < cfg->n_rules; r++)
            if (rule_matches(&cfg->rules[r], o->channel, o->store_id, o->items[i].category) &&
                (best < 0 || cfg->rules[r].ppy_milli > cfg->rules[best].ppy_milli))
                best = r;
        if (best < 0) continue;
        /* the order's lines were summed, checked, before it got here: this cannot wrap */
        if (!ck_add_mul(&base[best], o->items[i].qty, o->items[i].unit_price)) return 0;
        any = true;
    }
    if (!any) return 0;
    bool bday = false, bday_known = false;
    int64_t total = 0;
    for (int r = 0; r < cfg->n_rules; r++) {
        if (!base[r]) continue;
        const loy_rule *rule = &cfg->rules[r];
        /* paid cents of this rule's lines = base × paid / gross; exact in 128 bits */
        __int128 num = (__int128)base[r] * paid * rule->ppy_milli;
        __int128 den = (__int128)gross * 100 * 1000;
        if (rule->tier_multiplier && tier >= 0) {
            num *= cfg->tiers[tier].multiplier_pct;
            den *= 100;
        }
        if (rule->birthday_pct != 100) {
            if (!bday_known) {
                bday = birthday_month(d, o);
                bday_known = true;
            }
            if (bday) {
                num *= rule->birthday_pct;
                den *= 100;
            }
        }
        int64_t pts = (int64_t)(num / den);
        if (rule->cap_per_order && pts > rule->cap_per_order) pts = rule->cap_per_order;
        total = ck_add_sat(total, pts, NULL);
    }
    if (cfg->max_points_per_day && total > 0) {
        int64_t already = earned_on_day(d, acct, o->member_id, time_local_day(o->placed_at));
        int64_t room = cfg->max_points_per_day - already;
        if (total > room) total = room > 0 ? room : 0;
    }
    return total;
}

static int order_placed(dom *d, const dom_order_facts *o, siyu_err *e)
{
    if (!o->member_id) {
        if (o->coupon_code)
            return siyu_err_set(e, SIYU_UNPROCESSABLE, "coupon_code",
                                "coupon_code: a coupon is redeemed by its member; name the member");
        if (o->points_used)
            return siyu_err_set(e, SIYU_UNPROCESSABLE, "points_used",
                                "points_used: points are spent by a member; name the member");
        return 0;
    }
    loy_config *cfg = loy_config_get_dom(d, e);
    if (!cfg) return -1;
    int rc = -1;
    int64_t gross = 0;
    for (size_t i = 0; i < o->n_items; i++)
        if (!ck_add_mul(&gross, o->items[i].qty, o->items[i].unit_price)) {
            loy_config_release(cfg);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "items",
                                "items: the lines' sum passes the largest amount");
        }
    /* nothing configured and nothing asked: loyalty off costs one lookup */
    bool active =
        cfg->n_rules || cfg->n_tiers || o->coupon_code || o->points_used || cfg->referral_points;
    if (!active) {
        loy_config_release(cfg);
        return 0;
    }
    loy_account acct;
    loy_account_read(d->conn, cfg, o->member_id, &acct);
    /* lots due by the order's time expire first; the account knows whether any are */
    if (acct.marks.next_expiry && acct.marks.next_expiry <= o->placed_at) {
        if (loy_settle(d, o->member_id, o->placed_at, true, e) < 0) goto done;
        acct.marks.next_expiry = 0; /* reset by the settle: unknown here */
    }
    if ((acct.review_at && acct.review_at <= o->placed_at) ||
        (acct.grace_until && acct.grace_until <= o->placed_at)) {
        if (loy_tier_review(d, cfg, o->member_id, o->placed_at, e)) goto done;
        loy_account_read(d->conn, cfg, o->member_id, &acct);
    }
    if (o->coupon_code && loy_coupon_redeem(d, o, gross, e)) goto done;
    if (o->points_used) {
        int64_t spendable, pending, taken;
        loy_points_at(d->conn, o->member_id, o->placed_at, &spendable, &pending);
        if (spendable < o->points_used) {
            siyu_err_set(e, SIYU_UNPROCESSABLE, "points_used",
                         "points_used: the member has %lld spendable points, fewer than %lld",
                         (long long)spendable, (long long)o->points_used);
            goto done;
        }
        char ref[48];
        snprintf(ref, sizeof ref, "order:%lld:redeem", (long long)o->id);
        loy_entry en = {.member_id = o->member_id,
                        .at = o->placed_at,
                        .delta = -o->points_used,
                        .order_id = o->id,
                        .kind = "redeem",
                        .ref = ref};
        if (loy_take(d, o->member_id, o->points_used, o->placed_at, true, 0, &taken, e) ||
            loy_ledger_write(d, &en, e))
            goto done;
    }
    int tier = cfg->n_tiers ? acct.tier : -1;
    int64_t pts = order_points(d, cfg, o, &acct, tier, gross);
    /* The account's marks move with the order, so the next order asks neither the
     * ledger (daily cap) nor the orders (tier) in the common case. */
    loy_marks m = acct.marks;
    bool dirty = false;
    if (pts > 0 && m.earn_known) {
        int32_t day = time_local_day(o->placed_at);
        if (day > m.earn_day)
            m.earn_day = day, m.earn_day_points = pts;
        else if (day == m.earn_day)
            m.earn_day_points += pts;
    }
    bool tier_query = cfg->n_tiers >= 2 && tier < cfg->n_tiers - 1;
    if (m.qualify_key && m.qualify_key != cfg->qualify_key) m.qualify_key = 0, dirty = true;
    if (m.qualify_key) {
        m.qualify_bound += cfg->qualify_metric == LOY_METRIC_SPEND ? o->total : pts;
        dirty = true;
        /* every window that could qualify this order starts at or after the bound's
         * instant and holds no more than the bound: below the next tier, no query */
        if (tier_query && !acct.grace_until &&
            loy_add_months(o->placed_at, -cfg->qualify_window) >= m.qualify_from &&
            m.qualify_bound < cfg->tiers[tier + 1].min)
            tier_query = false;
    }
    /* no ref: the order's own (channel, external_id) key already makes the earn happen
     * once, and a unique ref would cost an index entry on the hottest path */
    if (pts > 0) {
        if (loy_credit_earn(d, cfg, o->member_id, pts, o->placed_at, o->id, &m, e)) goto done;
    } else if (dirty && !tier_query && loy_marks_write(d, o->member_id, &m, e)) {
        goto done;
    }
    if (tier_query) {
        if (loy_tier_upgrade(d, cfg, o->member_id, tier, o->placed_at, o->id, &m, e) ||
            (m.qualify_key && loy_marks_write(d, o->member_id, &m, e)))
            goto done;
    }
    /* referral: the referee's first order pays the referrer, once ever */
    if (cfg->referral_points) {
        int64_t referrer = acct.referrer_id;
        bool unpaid = !acct.referral_paid;
        store_stmt *s;
        if (referrer && unpaid) {
            s = store_q(d->conn, Q_MEMBER_ORDER_COUNT);
            store_bind_int(s, 1, o->member_id);
            int64_t orders = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
            store_reset(s);
            char ref[48];
            snprintf(ref, sizeof ref, "referral:%lld", (long long)o->member_id);
            store_stmt *r = store_q(d->conn, Q_LEDGER_BY_REF);
            store_bind_text(r, 1, ref);
            bool paid_before = store_step(r) == STORE_ROW;
            store_reset(r);
            if (orders == 1 && !paid_before) {
                char reason[64];
                snprintf(reason, sizeof reason, "referred member %lld", (long long)o->member_id);
                int64_t live = members_live_id(d, referrer, "referrer", e);
                if (live < 0) goto done;
                s = store_q(d->conn, Q_LACCOUNT_SET_REFERRAL_ORDER);
                store_bind_int(s, 1, o->id);
                store_bind_int(s, 2, o->member_id);
                if (store_exec(s, e) || loy_credit(d, cfg, live, cfg->referral_points, o->placed_at,
                                                   true, "referral", o->id, ref, reason, e))
                    goto done;
            }
        }
    }
    rc = 0;
done:
    loy_config_release(cfg);
    return rc;
}

/* ---------------- refunds ---------------- */

/* Takes back `due` points: first from lot `first`, then from the member's other lots
 * (pending ones too); what cannot be found is recorded, never driven below zero. */
static int take_back(dom *d, int64_t member, int64_t due, int64_t at, int64_t first,
                     const char *kind, int64_t order_id, const char *ref, siyu_err *e)
{
    int64_t taken;
    if (due <= 0 || loy_take(d, member, due, at, false, first, &taken, e)) return due <= 0 ? 0 : -1;
    char reason[96] = "";
    if (taken < due)
        snprintf(reason, sizeof reason, "%lld of %lld could not be taken back: already spent",
                 (long long)(due - taken), (long long)due);
    if (!taken) return 0;
    loy_entry en = {.member_id = member,
                    .at = at,
                    .delta = -taken,
                    .order_id = order_id,
                    .kind = kind,
                    .ref = ref,
                    .reason = reason[0] ? reason : NULL};
    return loy_ledger_write(d, &en, e);
}

static int order_refunded(dom *d, int64_t order_id, int64_t refund_id, int64_t at, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_ORDER_GET);
    store_bind_int(s, 1, order_id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return 0;
    }
    int64_t member = store_col_null(s, 4) ? 0 : store_col_int(s, 4);
    int64_t total = store_col_int(s, 7), points_used = store_col_int(s, 9);
    int64_t refunded = store_col_int(s, 11);
    bool has_coupon = !store_col_null(s, 10);
    store_reset(s);
    if (!member || total <= 0) return 0;
    loy_config *cfg = loy_config_get(d->conn, e);
    if (!cfg) return -1;
    int rc = -1;
    char ref[64];
    /* earned points: reverse the refunded share, cumulatively so rounding never drifts */
    s = store_q(d->conn, Q_LEDGER_EARN_OF_ORDER);
    store_bind_int(s, 1, order_id);
    store_bind_int(s, 2, member);
    int64_t lot = 0, earned = 0, reversed = 0, owner = member;
    if (store_step(s) == STORE_ROW) {
        lot = store_col_int(s, 0);
        owner = store_col_int(s, 1);
        earned = store_col_int(s, 2);
        reversed = store_col_int(s, 4);
    }
    store_reset(s);
    if (lot) {
        int64_t due = (int64_t)((__int128)earned * refunded / total) - reversed;
        if (due > 0) {
            s = store_q(d->conn, Q_LOT_ADD_REVERSED);
            store_bind_int(s, 1, due);
            store_bind_int(s, 2, lot);
            snprintf(ref, sizeof ref, "refund:%lld:reverse", (long long)refund_id);
            if (store_exec(s, e) || take_back(d, owner, due, at, lot, "reverse", order_id, ref, e))
                goto done;
        }
    }
    /* spent points come back in the same proportion, as a fresh lot */
    if (points_used) {
        snprintf(ref, sizeof ref, "order:%lld:restore:", (long long)order_id);
        s = store_q(d->conn, Q_LEDGER_SUM_REF_PREFIX);
        store_bind_text(s, 1, ref);
        int64_t back = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
        store_reset(s);
        int64_t due = (int64_t)((__int128)points_used * refunded / total) - back;
        snprintf(ref, sizeof ref, "order:%lld:restore:%lld", (long long)order_id,
                 (long long)refund_id);
        if (due > 0 && loy_credit(d, cfg, member, due, at, false, "restore", order_id, ref,
                                  "points spent on a refunded order", e))
            goto done;
    }
    if (refunded >= total) {
        if (has_coupon && loy_coupon_restore(d, order_id, at, e)) goto done;
        /* a fully refunded first order pays no referral */
        s = store_q(d->conn, Q_LEDGER_OF_ORDER);
        store_bind_int(s, 1, order_id);
        store_bind_text(s, 2, "referral");
        int64_t rlot = 0, rmember = 0, rdelta = 0;
        if (store_step(s) == STORE_ROW) {
            rlot = store_col_int(s, 0);
            rmember = store_col_int(s, 1);
            rdelta = store_col_int(s, 2);
        }
        store_reset(s);
        if (rlot) {
            snprintf(ref, sizeof ref, "referral-reversal:%lld", (long long)order_id);
            store_stmt *r = store_q(d->conn, Q_LEDGER_BY_REF);
            store_bind_text(r, 1, ref);
            bool done_before = store_step(r) == STORE_ROW;
            store_reset(r);
            if (!done_before &&
                take_back(d, rmember, rdelta, at, rlot, "referral_reversal", order_id, ref, e))
                goto done;
        }
    }
    rc = 0;
done:
    loy_config_release(cfg);
    return rc;
}

/* ---------------- merges ---------------- */

static int members_merged(dom *d, int64_t into, int64_t from, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_LACCOUNT_GET);
    store_bind_int(s, 1, from);
    /* A merged-away member without an account still brings its orders (the domain moved
     * them): the survivor's marks and tier must be re-derived all the same, so both
     * cases take the one path below, the account-less one with nothing to carry. */
    bool has_account = store_step(s) == STORE_ROW;
    int64_t points = 0, referrer = 0;
    char from_tier[LOY_CODE_LEN] = "";
    if (has_account) {
        points = store_col_int(s, 0);
        if (!store_col_null(s, 1))
            snprintf(from_tier, sizeof from_tier, "%s", store_col_text(s, 1));
        referrer = store_col_null(s, 5) ? 0 : store_col_int(s, 5);
    }
    store_reset(s);
    if (loy_account_ensure(d, into, e)) return -1;
    static const store_query moves[] = {Q_LEDGER_MOVE, Q_COUPONS_MOVE};
    for (size_t i = 0; i < 2; i++) {
        s = store_q(d->conn, moves[i]);
        store_bind_int(s, 1, into);
        store_bind_int(s, 2, from);
        if (store_exec(s, e)) return -1;
    }
    s = store_q(d->conn, Q_LACCOUNT_RESET_NEXT_EXPIRY);
    store_bind_int(s, 1, into);
    if (store_exec(s, e)) return -1;
    /* the survivor's marks no longer describe its ledger and orders: unknown until
     * the next order re-derives them */
    loy_marks unknown = {0};
    if (loy_marks_write(d, into, &unknown, e)) return -1;
    /* the ledger moved whole, so the survivor's account moves by the same sum */
    s = store_q(d->conn, Q_LACCOUNT_ADD_POINTS);
    store_bind_int(s, 1, points);
    store_bind_int(s, 2, d->now);
    store_bind_int(s, 3, into);
    if (store_exec(s, e)) return -1;
    if (has_account) {
        s = store_q(d->conn, Q_LACCOUNT_DELETE);
        store_bind_int(s, 1, from);
        if (store_exec(s, e)) return -1;
    }
    (void)referrer; /* the survivor keeps its own referral standing */
    loy_config *cfg = loy_config_get(d->conn, e);
    if (!cfg) return -1;
    int rc = 0;
    /* the survivor holds the higher of the two tiers, then whatever the combined
     * history qualifies it for */
    if (cfg->n_tiers) {
        int a = loy_current_tier(d->conn, cfg, into), b = loy_tier_index(cfg, from_tier);
        if (b > a) rc = loy_tier_set(d, cfg, into, b, d->now, "merge", 0, e);
        if (!rc) rc = loy_tier_upgrade(d, cfg, into, -1, d->now, 0, NULL, e);
    }
    loy_config_release(cfg);
    dom_note(d, DOM_CHANGE_LOYALTY, into, 0);
    return rc;
}

/* ---------------- the member 360 ---------------- */

json_t *loy_member_block(dom *d, int64_t member)
{
    siyu_err e;
    siyu_err_init(&e);
    loy_config *cfg = loy_config_get(d->conn, &e);
    siyu_err_clear(&e);
    if (!cfg) return NULL;
    json_t *out = json_object();
    /* tier and its history */
    store_stmt *s = store_q(d->conn, Q_LACCOUNT_GET);
    store_bind_int(s, 1, member);
    char held[LOY_CODE_LEN] = "";
    int64_t since = 0, review = 0, grace = 0, referrer = 0;
    if (store_step(s) == STORE_ROW) {
        if (!store_col_null(s, 1)) snprintf(held, sizeof held, "%s", store_col_text(s, 1));
        since = store_col_null(s, 2) ? 0 : store_col_int(s, 2);
        review = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
        grace = store_col_null(s, 4) ? 0 : store_col_int(s, 4);
        referrer = store_col_null(s, 5) ? 0 : store_col_int(s, 5);
    }
    store_reset(s);
    if (cfg->n_tiers) {
        int i = held[0] ? loy_tier_index(cfg, held) : 0;
        json_t *t = loy_tier_json(cfg, i < 0 ? 0 : i);
        json_object_set_new(t, "since", since ? dom_time(since) : json_null());
        json_object_set_new(t, "review_at", review ? dom_time(review) : json_null());
        json_object_set_new(t, "grace_until", grace ? dom_time(grace) : json_null());
        json_object_set_new(out, "tier", t);
    } else {
        json_object_set_new(out, "tier", json_null());
    }
    json_t *hist = json_array();
    s = store_q(d->conn, Q_TIER_HISTORY_LIST);
    store_bind_int(s, 1, member);
    while (store_step(s) == STORE_ROW) {
        json_t *h = json_pack("{s:o, s:o, s:s, s:s}", "at", dom_time(store_col_int(s, 0)), "from",
                              dom_nullable_text(s, 1), "to", store_col_text(s, 2), "reason",
                              store_col_text(s, 3));
        json_object_set_new(h, "order_id", dom_nullable_int(s, 4));
        json_array_append_new(hist, h);
    }
    store_reset(s);
    json_object_set_new(out, "tier_history", hist);
    int64_t spendable, pending;
    loy_points_at(d->conn, member, d->now, &spendable, &pending);
    s = store_q(d->conn, Q_POINTS_NEXT_CHANGE);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, d->now);
    if (store_step(s) == STORE_ROW) /* SQLite's MIN(a, b) of a NULL is NULL: one by one */
        for (int i = 0; i < 2; i++)
            if (!store_col_null(s, i)) dom_until(d, store_col_int(s, i));
    store_reset(s);
    json_object_set_new(out, "points",
                        json_pack("{s:I, s:I, s:I}", "balance", (json_int_t)spendable, "pending",
                                  (json_int_t)pending, "cash_value_cents",
                                  (json_int_t)loy_cash_value(cfg, spendable)));
    json_object_set_new(out, "referrer_id", referrer ? json_integer(referrer) : json_null());
    json_t *coupons = NULL;
    siyu_err_init(&e);
    /* the 360 already checked scope; list the coupons with their history */
    if (loyalty_member_coupons(d, member, &coupons, &e) >= 0)
        json_object_set_new(out, "coupons", json_incref(json_object_get(coupons, "items")));
    json_decref(coupons);
    siyu_err_clear(&e);
    loy_config_release(cfg);
    return out;
}

/* ---------------- the till ---------------- */

int loyalty_benefits(dom *d, int64_t member_id, const loyalty_basket *b, json_t **out, siyu_err *e)
{
    if (!loy_member_visible(d, member_id, e)) return -1;
    loy_config *cfg = loy_config_get(d->conn, e);
    if (!cfg) return -1;
    int tier = cfg->n_tiers ? loy_current_tier(d->conn, cfg, member_id) : -1;
    int64_t spendable, pending;
    loy_points_at(d->conn, member_id, d->now, &spendable, &pending);
    json_t *usable = json_array(), *unusable = json_array();
    loy_coupons_usable(d, member_id, b, usable, unusable);
    int64_t discount_bp = tier >= 0 ? cfg->tiers[tier].discount_bp : 0;
    json_t *o =
        json_pack("{s:I, s:o, s:f, s:o, s:o}", "member_id", (json_int_t)member_id, "tier",
                  tier >= 0 ? loy_tier_json(cfg, tier) : json_null(), "discount_pct",
                  (double)discount_bp / 100.0, "coupons", usable, "unusable_coupons", unusable);
    if (b->amount_cents >= 0)
        json_object_set_new(o, "tier_discount_cents",
                            json_integer(b->amount_cents * discount_bp / 10000));
    /* points can pay at most the basket, when the basket is known */
    int64_t redeemable = spendable;
    if (b->amount_cents >= 0) {
        int64_t max = b->amount_cents * cfg->redeem_points_per_yuan / 100;
        if (redeemable > max) redeemable = max;
    }
    json_object_set_new(o, "points",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "balance", (json_int_t)spendable,
                                  "pending", (json_int_t)pending, "redeemable",
                                  (json_int_t)redeemable, "cash_value_cents",
                                  (json_int_t)loy_cash_value(cfg, redeemable), "points_per_yuan",
                                  (json_int_t)cfg->redeem_points_per_yuan));
    loy_config_release(cfg);
    *out = o;
    return 200;
}

/* ---------------- time passing ---------------- */

int loyalty_sweep(dom *d, int limit, json_t **out, siyu_err *e)
{
    loy_config *cfg = loy_config_get(d->conn, e);
    if (!cfg) return -1;
    int rc = -1;
    int64_t points = 0, coupons = 0, reviews = 0;
    int cap = limit > 0 ? limit : INT32_MAX;
    size_t n = 0, size = 256;
    int64_t *ids = malloc(size * sizeof *ids);
    store_stmt *s = store_q(d->conn, Q_EXPIRY_DUE_MEMBERS);
    store_bind_int(s, 1, d->now);
    store_bind_int(s, 2, cap);
    while (store_step(s) == STORE_ROW) {
        if (n == size) ids = realloc(ids, (size *= 2) * sizeof *ids);
        ids[n++] = store_col_int(s, 0);
    }
    store_reset(s);
    for (size_t i = 0; i < n; i++) {
        int64_t x = loy_settle(d, ids[i], d->now, true, e);
        if (x < 0) goto done;
        points += x;
    }
    if ((coupons = loy_coupons_expire(d, d->now, limit, e)) < 0) goto done;
    n = 0;
    s = store_q(d->conn, Q_LACCOUNT_DUE_REVIEW);
    store_bind_int(s, 1, d->now);
    store_bind_int(s, 2, cap);
    while (store_step(s) == STORE_ROW) {
        if (n == size) ids = realloc(ids, (size *= 2) * sizeof *ids);
        ids[n++] = store_col_int(s, 0);
    }
    store_reset(s);
    for (size_t i = 0; i < n; i++) {
        if (loy_tier_review(d, cfg, ids[i], d->now, e)) goto done;
        reviews++;
    }
    rc = 0;
    if (out)
        *out = json_pack("{s:I, s:I, s:I}", "points_expired", (json_int_t)points, "coupons_expired",
                         (json_int_t)coupons, "reviews", (json_int_t)reviews);
done:
    free(ids);
    loy_config_release(cfg);
    return rc;
}

/* ---------------- for the member index ---------------- */

int loyalty_member_state(store_conn *c, int64_t member_id, char *tier, size_t len, int64_t *points)
{
    siyu_err e;
    siyu_err_init(&e);
    loy_config *cfg = loy_config_get(c, &e);
    siyu_err_clear(&e);
    if (!cfg) return -1;
    tier[0] = 0;
    *points = 0;
    store_stmt *s = store_q(c, Q_LACCOUNT_GET);
    store_bind_int(s, 1, member_id);
    if (store_step(s) == STORE_ROW) {
        *points = store_col_int(s, 0);
        if (!store_col_null(s, 1)) snprintf(tier, len, "%s", store_col_text(s, 1));
    }
    store_reset(s);
    if (!tier[0] && cfg->n_tiers) snprintf(tier, len, "%s", cfg->tiers[0].code);
    loy_config_release(cfg);
    return 0;
}

static json_t *member_block_hook(dom *d, int64_t member)
{
    return loy_member_block(d, member);
}

static const dom_loyalty_hooks hooks = {
    .order_placed = order_placed,
    .order_refunded = order_refunded,
    .members_merged = members_merged,
    .member_block = member_block_hook,
};

void loyalty_install(void)
{
    dom_set_loyalty(&hooks);
}
