/* referrals.c — the referral graph and invite campaigns (docs/fission.md).
 *
 * A member gets a referrer once, when it joins through an invite (a link's state sent
 * with POST /members or the WeCom contact, or a forwarded coupon), and never again: the
 * referrals row is keyed by the member. Its path lists its ancestors ("/root/…/referrer/"),
 * and since only a member made by the request can be referred, a member never becomes
 * its own ancestor. What each member brought (referral_stats) moves with every accepted
 * join, order and refund, on the group committer, so the counters are never read stale. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "domain/memo.h"
#include "fission/fission.h"
#include "fission/internal.h"
#include "loyalty/loyalty.h"

/* ---------------- campaigns ---------------- */

int fis_campaign_load(dom *d, int64_t id, fis_campaign *c, siyu_err *e)
{
    memset(c, 0, sizeof *c);
    store_stmt *s = store_q(d->conn, Q_FIS_CAMPAIGN);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "campaign %lld not found", (long long)id);
    }
    c->id = id;
    snprintf(c->kind, sizeof c->kind, "%s", store_col_text(s, 0));
    c->rules = json_loads(store_col_text(s, 1), 0, NULL);
    c->starts_at = store_col_null(s, 2) ? 0 : store_col_int(s, 2);
    c->ends_at = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
    c->paused = store_col_int(s, 4) != 0;
    c->created_at = store_col_int(s, 5);
    snprintf(c->name, sizeof c->name, "%s", store_col_text(s, 6));
    store_reset(s);
    if (!c->rules) c->rules = json_object();
    return 0;
}

void fis_campaign_free(fis_campaign *c)
{
    json_decref(c->rules);
    c->rules = NULL;
}

int fis_campaign_open(dom *d, const fis_campaign *c, const char *want, siyu_err *e)
{
    if (want && strcmp(c->kind, want) != 0)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "id", "campaign %lld is a %s campaign, not %s",
                            (long long)c->id, c->kind, want);
    if (c->paused)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "paused", "paused: campaign %lld is paused",
                            (long long)c->id);
    if (c->starts_at && d->now < c->starts_at)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "starts_at",
                            "starts_at: campaign %lld has not started", (long long)c->id);
    if (c->ends_at && d->now >= c->ends_at)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "ends_at", "ends_at: campaign %lld has ended",
                            (long long)c->id);
    return 0;
}

int64_t fis_rule_int(json_t *rules, const char *key, int64_t none)
{
    json_t *x = json_object_get(rules, key);
    return json_is_integer(x) ? json_integer_value(x) : none;
}

/* ---------------- rules ---------------- */

static int whole(json_t *o, const char *key, const char *field, int64_t lo, int64_t hi,
                 bool required, siyu_err *e)
{
    json_t *x = json_object_get(o, key);
    if (!x || json_is_null(x)) {
        if (required) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: required", field);
        return 0;
    }
    if (!json_is_integer(x) || json_integer_value(x) < lo || json_integer_value(x) > hi)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: a whole number from %lld to %lld",
                            field, (long long)lo, (long long)hi);
    return 0;
}

static int template_known(dom *d, int64_t id)
{
    store_stmt *s = store_q(d->conn, Q_CTEMPLATE_GET);
    store_bind_int(s, 1, id);
    int found = store_step(s) == STORE_ROW;
    store_reset(s);
    return found;
}

/* {points?, coupon_template_id?}: at least one */
static int reward_rules(dom *d, json_t *rules, const char *key, siyu_err *e)
{
    json_t *x = json_object_get(rules, key);
    if (!x || json_is_null(x)) return 0;
    char f[64], p[40];
    snprintf(p, sizeof p, "rules.%s.", key);
    static const char *const allowed[] = {"points", "coupon_template_id", NULL};
    if (!json_is_object(x))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, p, "rules.%s: an object", key);
    if (jx_only(x, allowed, p, e)) return -1;
    snprintf(f, sizeof f, "rules.%s.points", key);
    if (whole(x, "points", f, 1, 1000000000, false, e)) return -1;
    snprintf(f, sizeof f, "rules.%s.coupon_template_id", key);
    if (whole(x, "coupon_template_id", f, 1, INT64_MAX, false, e)) return -1;
    json_t *t = json_object_get(x, "coupon_template_id");
    if (json_is_integer(t) && !template_known(d, json_integer_value(t)))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: no coupon template %lld", f,
                            (long long)json_integer_value(t));
    if (!json_is_integer(json_object_get(x, "points")) && !json_is_integer(t))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                            "rules.%s: needs points or coupon_template_id", key);
    return 0;
}

int fission_rules_check(dom *d, const char *kind, json_t *rules, siyu_err *e)
{
    if (strcmp(kind, "invite") == 0) {
        static const char *const allowed[] = {"on_join",
                                              "on_first_order",
                                              "max_rewards_per_referrer",
                                              "clawback_days",
                                              "max_joins_per_device_per_day",
                                              NULL};
        if (jx_only(rules, allowed, "rules.", e) || reward_rules(d, rules, "on_join", e) ||
            reward_rules(d, rules, "on_first_order", e) ||
            whole(rules, "max_rewards_per_referrer", "rules.max_rewards_per_referrer", 1,
                  1000000000, false, e) ||
            whole(rules, "clawback_days", "rules.clawback_days", 0, 3650, false, e) ||
            whole(rules, "max_joins_per_device_per_day", "rules.max_joins_per_device_per_day", 1,
                  1000000, false, e))
            return -1;
        return 0;
    }
    if (strcmp(kind, "group_buy") == 0) {
        static const char *const allowed[] = {"sku",   "price_cents",        "team_size",
                                              "hours", "virtual_completion", NULL};
        const char *sku = json_string_value(json_object_get(rules, "sku"));
        if (jx_only(rules, allowed, "rules.", e)) return -1;
        if (!sku || !*sku || strlen(sku) > 100)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.sku", "rules.sku: 1 to 100 bytes");
        if (whole(rules, "price_cents", "rules.price_cents", 1, 1000000000000LL, true, e) ||
            whole(rules, "team_size", "rules.team_size", 2, 1000, true, e) ||
            whole(rules, "hours", "rules.hours", 1, 24 * 366, true, e))
            return -1;
        json_t *v = json_object_get(rules, "virtual_completion");
        if (v && !json_is_boolean(v))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.virtual_completion",
                                "rules.virtual_completion: true or false");
        return 0;
    }
    if (strcmp(kind, "assist") == 0) {
        static const char *const allowed[] = {
            "sku",   "price_cents",    "target_cents",       "helpers",
            "step",  "min_step_cents", "max_step_cents",     "new_members_only",
            "hours", "reward",         "coupon_template_id", NULL};
        if (jx_only(rules, allowed, "rules.", e)) return -1;
        const char *sku = json_string_value(json_object_get(rules, "sku"));
        if (!sku || !*sku || strlen(sku) > 100)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.sku", "rules.sku: 1 to 100 bytes");
        if (whole(rules, "price_cents", "rules.price_cents", 1, 1000000000000LL, true, e) ||
            whole(rules, "target_cents", "rules.target_cents", 0, 1000000000000LL, true, e) ||
            whole(rules, "helpers", "rules.helpers", 1, 10000, true, e) ||
            whole(rules, "hours", "rules.hours", 1, 24 * 366, true, e) ||
            whole(rules, "min_step_cents", "rules.min_step_cents", 1, 1000000000000LL, false, e) ||
            whole(rules, "max_step_cents", "rules.max_step_cents", 1, 1000000000000LL, false, e))
            return -1;
        int64_t price = fis_rule_int(rules, "price_cents", 0),
                target = fis_rule_int(rules, "target_cents", 0),
                n = fis_rule_int(rules, "helpers", 0);
        if (target >= price)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.target_cents",
                                "rules.target_cents: must be below price_cents");
        const char *step = json_string_value(json_object_get(rules, "step"));
        if (json_object_get(rules, "step") &&
            (!step || (strcmp(step, "fixed") != 0 && strcmp(step, "random") != 0)))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.step",
                                "rules.step: \"fixed\" or \"random\"");
        if (price - target < n)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.helpers",
                                "rules.helpers: more helpers than cents to cut");
        int64_t *tmp = malloc((size_t)n * sizeof *tmp);
        int bad =
            fission_assist_steps(price - target, n, step && strcmp(step, "random") == 0,
                                 fis_rule_int(rules, "min_step_cents", 0),
                                 fis_rule_int(rules, "max_step_cents", 0), games_random_below, tmp);
        free(tmp);
        if (bad)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.min_step_cents",
                                "rules.min_step_cents: helpers × the step bounds cannot reach "
                                "price_cents - target_cents exactly");
        json_t *v = json_object_get(rules, "new_members_only");
        if (v && !json_is_boolean(v))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.new_members_only",
                                "rules.new_members_only: true or false");
        const char *reward = json_string_value(json_object_get(rules, "reward"));
        if (json_object_get(rules, "reward") &&
            (!reward || (strcmp(reward, "coupon") != 0 && strcmp(reward, "discount") != 0)))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.reward",
                                "rules.reward: \"coupon\" or \"discount\"");
        if (reward && strcmp(reward, "coupon") == 0) {
            if (whole(rules, "coupon_template_id", "rules.coupon_template_id", 1, INT64_MAX, true,
                      e))
                return -1;
            if (!template_known(d, fis_rule_int(rules, "coupon_template_id", 0)))
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.coupon_template_id",
                                    "rules.coupon_template_id: no such coupon template");
        }
        return 0;
    }
    return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "kind", "kind: unknown");
}

/* ---------------- cohorts: what the invites of a local day brought ---------------- */

static int cohort_add(dom *d, int64_t created_at, int64_t campaign, const char *channel,
                      int64_t invites, int64_t inviters, int64_t joined, int64_t first,
                      int64_t cycle, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_FIS_COHORT_ADD);
    store_bind_int(s, 1, time_local_day(created_at));
    store_bind_int(s, 2, campaign);
    store_bind_text(s, 3, channel);
    store_bind_int(s, 4, invites);
    store_bind_int(s, 5, inviters);
    store_bind_int(s, 6, joined);
    store_bind_int(s, 7, first);
    store_bind_int(s, 8, cycle);
    return store_exec(s, e);
}

/* A new invite of member: counted in its day's cohort, and the member as an inviter of
 * that cohort unless it already sent one that day. Call before inserting the invite. */
static int cohort_invite(dom *d, int64_t member, int64_t campaign, const char *channel, siyu_err *e)
{
    int32_t day = time_local_day(d->now);
    int64_t start = (int64_t)day * 86400 - 28800;
    store_stmt *s = store_q(d->conn, Q_FIS_INVITER_SAME_DAY);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, start);
    store_bind_int(s, 3, start + 86400);
    store_bind_int(s, 4, campaign);
    store_bind_text(s, 5, channel);
    int64_t before = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    return cohort_add(d, d->now, campaign, channel, 1, before ? 0 : 1, 0, 0, 0, e);
}

/* ---------------- invites ---------------- */

static json_t *invite_json(int64_t id, int64_t campaign, int64_t member, const char *state)
{
    char link[160];
    snprintf(link, sizeof link, "/join?state=%s", state);
    return json_pack("{s:I, s:I, s:I, s:s, s:s}", "invite_id", (json_int_t)id, "campaign_id",
                     (json_int_t)campaign, "member_id", (json_int_t)member, "state", state, "link",
                     link);
}

int fission_invite_create(dom *d, int64_t campaign, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"member_id", "device_id", NULL};
    int64_t member;
    const char *device = NULL;
    if (jx_only(body, allowed, NULL, e) || jx_int(body, "member_id", true, &member, e) < 0 ||
        jx_str(body, "device_id", false, &device, e) < 0)
        return -1;
    if (device && (!*device || strlen(device) > 100))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "device_id", "device_id: 1 to 100 bytes");
    fis_campaign c;
    if (fis_campaign_load(d, campaign, &c, e)) return -1;
    int rc = -1;
    if (fis_campaign_open(d, &c, "invite", e)) goto done;
    if ((member = members_live_id(d, member, "member_id", e)) < 0) goto done;
    store_stmt *s = store_q(d->conn, Q_FIS_INVITE_FIND);
    store_bind_int(s, 1, campaign);
    store_bind_int(s, 2, member);
    if (store_step(s) == STORE_ROW) {
        if (out) *out = invite_json(store_col_int(s, 0), campaign, member, store_col_text(s, 1));
        store_reset(s);
        rc = 200;
        goto done;
    }
    store_reset(s);
    unsigned char raw[9];
    randombytes_buf(raw, sizeof raw);
    char state[40];
    int n = snprintf(state, sizeof state, "inv-");
    for (size_t i = 0; i < sizeof raw; i++)
        n += snprintf(state + n, sizeof state - (size_t)n, "%02x", raw[i]);
    if (cohort_invite(d, member, campaign, "link", e)) goto done;
    s = store_q(d->conn, Q_FIS_INVITE_INSERT);
    dom_note(d, DOM_CHANGE_MEMBER_360, member, 0); /* its campaigns in the 360 */
    store_bind_int(s, 1, campaign);
    store_bind_int(s, 2, member);
    store_bind_text(s, 3, "link");
    store_bind_text(s, 4, state);
    store_bind_text(s, 6, device);
    store_bind_int(s, 7, d->now);
    if (store_exec(s, e)) goto done;
    if (out) *out = invite_json(store_last_id(d->conn), campaign, member, state);
    rc = 201;
done:
    fis_campaign_free(&c);
    return rc;
}

/* ---------------- the graph ---------------- */

typedef struct invite {
    int64_t id, campaign_id, member_id, created_at;
    char channel[16], device[104];
} invite;

static int stats_add(dom *d, int64_t member, int64_t direct, int64_t down, int64_t dsales,
                     int64_t asales, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_FIS_STATS_ADD);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, direct);
    store_bind_int(s, 3, down);
    store_bind_int(s, 4, dsales);
    store_bind_int(s, 5, asales);
    if (store_exec(s, e)) return -1;
    dom_note(d, DOM_CHANGE_MEMBER, member, 0); /* the segment index re-reads its attributes */
    return 0;
}

/* Adds to every ancestor of a referral with path "/a/b/c/": c (the referrer) gets the
 * direct part too. */
static int ancestors_add(dom *d, const char *path, int64_t members, int64_t sales, siyu_err *e)
{
    const char *p = path;
    int64_t ids[4096];
    int n = 0;
    while (*p == '/' && p[1] && n < 4096) {
        char *end;
        long long v = strtoll(p + 1, &end, 10);
        if (end == p + 1) break;
        ids[n++] = v;
        p = end;
    }
    for (int i = 0; i < n; i++) {
        bool direct = i == n - 1;
        if (stats_add(d, ids[i], direct ? members : 0, members, direct ? sales : 0, sales, e))
            return -1;
    }
    return 0;
}

static void phone_hash(dom *d, int64_t member, char out[65])
{
    out[0] = 0;
    store_stmt *s = store_q(d->conn, Q_FIS_MEMBER_PHONE);
    store_bind_int(s, 1, member);
    if (store_step(s) == STORE_ROW) {
        const char *v = store_col_text(s, 0);
        unsigned char h[32];
        crypto_generichash(h, sizeof h, (const unsigned char *)v, strlen(v),
                           (const unsigned char *)"siyu-referral-phone", 19);
        sodium_bin2hex(out, 65, h, sizeof h);
    }
    store_reset(s);
}

/* A count by a text key and, when `two`, a second integer key. */
static int64_t count_by(dom *d, store_query q, const char *key, bool two, int64_t k2)
{
    store_stmt *s = store_q(d->conn, q);
    store_bind_text(s, 1, key);
    if (two) store_bind_int(s, 2, k2);
    int64_t n = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    return n;
}

/* Pays a campaign's reward of one level to the referrer, once per (campaign, referee,
 * level), within the cap on referees paid per referrer. */
static int reward(dom *d, const fis_campaign *c, int64_t referrer, int64_t referee,
                  const char *level, int64_t order_id, siyu_err *e)
{
    json_t *spec =
        json_object_get(c->rules, strcmp(level, "join") == 0 ? "on_join" : "on_first_order");
    if (!json_is_object(spec)) return 0;
    store_stmt *s = store_q(d->conn, Q_FIS_REWARD_GET);
    store_bind_int(s, 1, c->id);
    store_bind_int(s, 2, referee);
    store_bind_text(s, 3, level);
    bool had = store_step(s) == STORE_ROW;
    store_reset(s);
    if (had) return 0; /* idempotent */
    const char *status = "paid";
    int64_t cap = fis_rule_int(c->rules, "max_rewards_per_referrer", 0);
    if (cap) {
        s = store_q(d->conn, Q_FIS_REWARD_REFEREES);
        store_bind_int(s, 1, c->id);
        store_bind_int(s, 2, referrer);
        store_bind_int(s, 3, referee);
        int64_t paid = 0, this_one = 0;
        if (store_step(s) == STORE_ROW) {
            paid = store_col_int(s, 0);
            this_one = store_col_int(s, 1);
        }
        store_reset(s);
        if (!this_one && paid >= cap) status = "capped";
    }
    int64_t points = 0;
    char code[16] = "";
    if (strcmp(status, "paid") == 0) {
        points = fis_rule_int(spec, "points", 0);
        char reason[160], ref[120];
        snprintf(reason, sizeof reason, "campaign %lld: referred member %lld (%s)",
                 (long long)c->id, (long long)referee, level);
        if (points && loyalty_points_credit(d, referrer, points, "referral", reason, e)) return -1;
        int64_t tpl = fis_rule_int(spec, "coupon_template_id", 0);
        if (tpl) {
            snprintf(ref, sizeof ref, "invite:%lld:%lld:%s", (long long)c->id, (long long)referee,
                     level);
            siyu_err sub;
            siyu_err_init(&sub);
            if (loyalty_coupon_grant(d, tpl, referrer, ref, code, &sub) < 0) {
                bool internal = sub.code == SIYU_INTERNAL;
                if (internal) siyu_err_set(e, sub.code, NULL, "%s", sub.message);
                siyu_err_clear(&sub);
                if (internal) return -1;
                code[0] = 0; /* the template refused (stock, limit): the points stand */
            }
        }
        dom_note(d, DOM_CHANGE_LOYALTY, referrer, 0);
    }
    s = store_q(d->conn, Q_FIS_REWARD_INSERT);
    store_bind_int(s, 1, c->id);
    store_bind_int(s, 2, referrer);
    store_bind_int(s, 3, referee);
    store_bind_text(s, 4, level);
    if (order_id) store_bind_int(s, 5, order_id);
    store_bind_int(s, 6, points);
    if (code[0]) store_bind_text(s, 7, code);
    store_bind_text(s, 8, status);
    store_bind_int(s, 9, d->now);
    return store_exec(s, e);
}

/* Judges and records a join through invite inv. reason NULL: accepted. */
static int judge(dom *d, const invite *inv, const fis_campaign *c, int64_t member, bool created,
                 const char *device, const char *via, const char **reason, int64_t *referrer,
                 int *depth, siyu_err *e)
{
    siyu_err sub;
    siyu_err_init(&sub);
    int64_t ref = members_live_id(d, inv->member_id, NULL, &sub);
    siyu_err_clear(&sub);
    if (ref <= 0) ref = inv->member_id;
    *referrer = ref;
    *reason = NULL;
    *depth = 0;
    /* the same state arriving again for the same member answers what it answered */
    store_stmt *s = store_q(d->conn, Q_FIS_ATTEMPT_OF);
    store_bind_int(s, 1, inv->id);
    store_bind_int(s, 2, member);
    if (store_step(s) == STORE_ROW) {
        static char again[32];
        bool accepted = strcmp(store_col_text(s, 0), "accepted") == 0;
        if (!accepted) snprintf(again, sizeof again, "%s", store_col_text(s, 1));
        store_reset(s);
        *reason = accepted ? NULL : again;
        if (accepted) {
            s = store_q(d->conn, Q_FIS_REF_GET);
            store_bind_int(s, 1, member);
            if (store_step(s) == STORE_ROW) {
                *referrer = store_col_int(s, 0);
                *depth = (int)store_col_int(s, 2);
            }
            store_reset(s);
        }
        return 0;
    }
    store_reset(s);
    char phash[65];
    phone_hash(d, member, phash);
    int32_t day = time_local_day(d->now);
    s = store_q(d->conn, Q_FIS_REF_GET);
    store_bind_int(s, 1, member);
    bool referred = store_step(s) == STORE_ROW;
    store_reset(s);
    if (member == ref || (device && inv->device[0] && strcmp(device, inv->device) == 0))
        *reason = "self_referral";
    else if (referred)
        *reason = "already_referred";
    else if (!created)
        *reason = "existing_member";
    else if (phash[0] && count_by(d, Q_FIS_PHONE_SEEN, phash, false, 0) > 0)
        *reason = "phone_seen";
    else if (device && count_by(d, Q_FIS_DEVICE_REFERRER, device, true, ref) > 0)
        *reason = "device_seen";
    else if (device && c && fis_rule_int(c->rules, "max_joins_per_device_per_day", 0) > 0 &&
             count_by(d, Q_FIS_DEVICE_DAY, device, true, day) >=
                 fis_rule_int(c->rules, "max_joins_per_device_per_day", 0))
        *reason = "device_daily_cap";
    s = store_q(d->conn, Q_FIS_ATTEMPT_INSERT);
    store_bind_int(s, 1, inv->id);
    if (inv->campaign_id) store_bind_int(s, 2, inv->campaign_id);
    store_bind_int(s, 3, ref);
    store_bind_int(s, 4, member);
    if (phash[0]) store_bind_text(s, 5, phash);
    store_bind_text(s, 6, device);
    store_bind_text(s, 7, via);
    store_bind_text(s, 8, *reason ? "refused" : "accepted");
    store_bind_text(s, 9, *reason);
    store_bind_int(s, 10, d->now);
    store_bind_int(s, 11, day);
    if (store_exec(s, e)) return -1;
    if (*reason) return 0;
    /* the referrer's place in the graph gives the new member's */
    int64_t root = ref;
    int dep = 1;
    char path[8192];
    s = store_q(d->conn, Q_FIS_REF_GET);
    store_bind_int(s, 1, ref);
    if (store_step(s) == STORE_ROW) {
        root = store_col_int(s, 1);
        dep = (int)store_col_int(s, 2) + 1;
        snprintf(path, sizeof path, "%s%lld/", store_col_text(s, 3), (long long)ref);
    } else {
        snprintf(path, sizeof path, "/%lld/", (long long)ref);
    }
    store_reset(s);
    char needle[32];
    snprintf(needle, sizeof needle, "/%lld/", (long long)member);
    if (strstr(path, needle) || strlen(path) >= sizeof path - 24) {
        /* cannot happen for a member made now; kept as the last word against cycles */
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "state", "state: would make a cycle");
    }
    int64_t ref_joined = d->now;
    s = store_q(d->conn, Q_FIS_MEMBER_JOINED);
    store_bind_int(s, 1, ref);
    if (store_step(s) == STORE_ROW) ref_joined = store_col_int(s, 0);
    store_reset(s);
    int64_t joined = d->now;
    s = store_q(d->conn, Q_FIS_MEMBER_JOINED);
    store_bind_int(s, 1, member);
    if (store_step(s) == STORE_ROW) joined = store_col_int(s, 0);
    store_reset(s);
    s = store_q(d->conn, Q_FIS_REF_INSERT);
    dom_note(d, DOM_CHANGE_MEMBER_360, member, 0); /* its campaigns in the 360 */
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, ref);
    store_bind_int(s, 3, root);
    store_bind_int(s, 4, dep);
    store_bind_text(s, 5, path);
    store_bind_int(s, 6, inv->id);
    if (inv->campaign_id) store_bind_int(s, 7, inv->campaign_id);
    store_bind_text(s, 8, inv->channel);
    store_bind_text(s, 9, via);
    store_bind_int(s, 10, joined);
    store_bind_int(s, 11, ref_joined);
    if (store_exec(s, e) || ancestors_add(d, path, 1, 0, e)) return -1;
    s = store_q(d->conn, Q_FIS_INVITE_JOINED);
    store_bind_int(s, 1, joined - ref_joined);
    store_bind_int(s, 2, inv->id);
    if (store_exec(s, e) || cohort_add(d, inv->created_at, inv->campaign_id, inv->channel, 0, 0, 1,
                                       0, joined - ref_joined, e))
        return -1;
    dom_note(d, DOM_CHANGE_MEMBER, member, 0);
    *depth = dep;
    /* the join reward, while the campaign runs */
    if (c && strcmp(c->kind, "invite") == 0) {
        siyu_err closed;
        siyu_err_init(&closed);
        bool open = fis_campaign_open(d, c, NULL, &closed) == 0;
        siyu_err_clear(&closed);
        if (open && reward(d, c, ref, member, "join", 0, e)) return -1;
    }
    return 0;
}

static int join_through(dom *d, const invite *inv, int64_t member, bool created, const char *device,
                        const char *via, json_t **out, siyu_err *e)
{
    dom_memo_clear(d->memo); /* a referral made here ends what a bulk writer knew (memo.h) */
    fis_campaign c;
    bool have = false;
    if (inv->campaign_id) {
        if (fis_campaign_load(d, inv->campaign_id, &c, e)) return -1;
        have = true;
    }
    const char *reason;
    int64_t referrer;
    int depth;
    int rc = judge(d, inv, have ? &c : NULL, member, created, device, via, &reason, &referrer,
                   &depth, e);
    if (have) fis_campaign_free(&c);
    if (rc) return -1;
    if (out) {
        *out = json_pack("{s:I, s:b}", "invite_id", (json_int_t)inv->id, "accepted", !reason);
        if (reason)
            json_object_set_new(*out, "reason", json_string(reason));
        else {
            json_object_set_new(*out, "referrer_id", json_integer(referrer));
            json_object_set_new(*out, "depth", json_integer(depth));
        }
    }
    return 0;
}

int fission_state_arrived(dom *d, int64_t member, bool created, const char *state,
                          const char *device_id, const char *via, json_t **out, siyu_err *e)
{
    if (out) *out = NULL;
    if (!state || strncmp(state, "inv-", 4) != 0) return 0;
    store_stmt *s = store_q(d->conn, Q_FIS_INVITE_BY_STATE);
    store_bind_text(s, 1, state);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return 0;
    }
    invite inv = {.id = store_col_int(s, 0),
                  .campaign_id = store_col_null(s, 1) ? 0 : store_col_int(s, 1),
                  .member_id = store_col_int(s, 2),
                  .created_at = store_col_int(s, 5)};
    snprintf(inv.channel, sizeof inv.channel, "%s", store_col_text(s, 3));
    if (!store_col_null(s, 4)) snprintf(inv.device, sizeof inv.device, "%s", store_col_text(s, 4));
    store_reset(s);
    return join_through(d, &inv, member, created, device_id, via, out, e);
}

/* loyalty's coupon-forward hook: every forward is an invite; a friend made by it joins */
static int on_forward(dom *d, int64_t sender, int64_t friend, bool created, const char *code,
                      siyu_err *e)
{
    if (cohort_invite(d, sender, 0, "coupon", e)) return -1;
    store_stmt *s = store_q(d->conn, Q_FIS_INVITE_INSERT);
    dom_note(d, DOM_CHANGE_MEMBER_360, sender, 0); /* its campaigns in the 360 */
    store_bind_int(s, 2, sender);
    store_bind_text(s, 3, "coupon");
    store_bind_text(s, 5, code);
    store_bind_int(s, 7, d->now);
    if (store_exec(s, e)) return -1;
    invite inv = {.id = store_last_id(d->conn), .member_id = sender, .created_at = d->now};
    snprintf(inv.channel, sizeof inv.channel, "coupon");
    return join_through(d, &inv, friend, created, NULL, "coupon", NULL, e);
}

/* ---------------- orders and refunds ---------------- */

static const dom_loyalty_hooks *inner;

static int order_placed(dom *d, const dom_order_facts *o, siyu_err *e)
{
    if (inner && inner->order_placed(d, o, e)) return -1;
    if (!o->member_id) return 0;
    /* an import asks once per member (domain/memo.h): its orders make no referral */
    if (dom_memo_marked(d->memo, DOM_MEMO_NO_REFERRAL, o->member_id)) return 0;
    store_stmt *s = store_q(d->conn, Q_FIS_REF_GET);
    store_bind_int(s, 1, o->member_id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        if (!store_conn_failed(d->conn))
            dom_memo_mark_add(d->memo, DOM_MEMO_NO_REFERRAL, o->member_id);
        return 0;
    }
    int64_t referrer = store_col_int(s, 0), invite_id = store_col_int(s, 4),
            campaign = store_col_null(s, 5) ? 0 : store_col_int(s, 5);
    char path[8192];
    snprintf(path, sizeof path, "%s", store_col_text(s, 3));
    bool first = store_col_null(s, 9);
    store_reset(s);
    if (o->total > 0) {
        s = store_q(d->conn, Q_FIS_REF_SALES);
        store_bind_int(s, 1, o->total);
        store_bind_int(s, 2, o->member_id);
        if (store_exec(s, e) || ancestors_add(d, path, 0, o->total, e)) return -1;
    }
    if (!first || o->total <= 0) return 0;
    s = store_q(d->conn, Q_FIS_REF_FIRST_ORDER);
    store_bind_int(s, 1, o->id);
    store_bind_int(s, 2, o->placed_at);
    store_bind_int(s, 3, o->member_id);
    if (store_exec(s, e)) return -1;
    s = store_q(d->conn, Q_FIS_INVITE_FIRST_ORDER);
    store_bind_int(s, 1, invite_id);
    if (store_exec(s, e)) return -1;
    s = store_q(d->conn, Q_FIS_INVITE_GET);
    store_bind_int(s, 1, invite_id);
    if (store_step(s) == STORE_ROW) {
        int64_t ic = store_col_null(s, 0) ? 0 : store_col_int(s, 0), at = store_col_int(s, 2);
        char channel[16];
        snprintf(channel, sizeof channel, "%s", store_col_text(s, 1));
        store_reset(s);
        if (cohort_add(d, at, ic, channel, 0, 0, 0, 1, 0, e)) return -1;
    } else {
        store_reset(s);
    }
    if (!campaign) return 0;
    fis_campaign c;
    if (fis_campaign_load(d, campaign, &c, e)) return -1;
    siyu_err closed;
    siyu_err_init(&closed);
    bool open = fis_campaign_open(d, &c, "invite", &closed) == 0;
    siyu_err_clear(&closed);
    siyu_err sub;
    siyu_err_init(&sub);
    int64_t live = members_live_id(d, referrer, NULL, &sub);
    siyu_err_clear(&sub);
    int rc =
        open ? reward(d, &c, live > 0 ? live : referrer, o->member_id, "first_order", o->id, e) : 0;
    fis_campaign_free(&c);
    return rc;
}

static int order_refunded(dom *d, int64_t order_id, int64_t refund_id, int64_t at, siyu_err *e)
{
    if (inner && inner->order_refunded(d, order_id, refund_id, at, e)) return -1;
    store_stmt *s = store_q(d->conn, Q_FIS_ORDER_FACTS);
    store_bind_int(s, 1, order_id);
    store_bind_int(s, 2, refund_id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return 0;
    }
    int64_t member = store_col_null(s, 0) ? 0 : store_col_int(s, 0), total = store_col_int(s, 1),
            refunded = store_col_int(s, 2), amount = store_col_int(s, 3);
    store_reset(s);
    if (member) {
        s = store_q(d->conn, Q_FIS_REF_GET);
        store_bind_int(s, 1, member);
        char path[8192] = "";
        bool ref = store_step(s) == STORE_ROW;
        if (ref) snprintf(path, sizeof path, "%s", store_col_text(s, 3));
        store_reset(s);
        if (ref && amount > 0) {
            s = store_q(d->conn, Q_FIS_REF_SALES);
            store_bind_int(s, 1, -amount);
            store_bind_int(s, 2, member);
            if (store_exec(s, e) || ancestors_add(d, path, 0, -amount, e)) return -1;
        }
    }
    if (refunded < total) return 0;
    /* a fully refunded qualifying order takes back its reward within the clawback days */
    s = store_q(d->conn, Q_FIS_REWARD_BY_ORDER);
    store_bind_int(s, 1, order_id);
    int64_t rid = 0, campaign = 0, referrer = 0, points = 0, paid_at = 0;
    char code[32] = "";
    if (store_step(s) == STORE_ROW) {
        rid = store_col_int(s, 0);
        campaign = store_col_int(s, 1);
        referrer = store_col_int(s, 2);
        points = store_col_int(s, 3);
        paid_at = store_col_int(s, 4);
        if (!store_col_null(s, 5)) snprintf(code, sizeof code, "%s", store_col_text(s, 5));
    }
    store_reset(s);
    if (!rid) return 0;
    fis_campaign c;
    if (fis_campaign_load(d, campaign, &c, e)) return -1;
    int64_t days = fis_rule_int(c.rules, "clawback_days", -1);
    fis_campaign_free(&c);
    if (days < 0 || at > paid_at + days * 86400) return 0;
    siyu_err sub;
    siyu_err_init(&sub);
    int64_t live = members_live_id(d, referrer, NULL, &sub);
    siyu_err_clear(&sub);
    if (live <= 0) live = referrer;
    /* what is still there is taken back; a balance already spent stays spent */
    char tier[32];
    int64_t balance = 0, take = 0;
    if (points > 0 && loyalty_member_state(d->conn, live, tier, sizeof tier, &balance) == 0)
        take = balance < points ? (balance > 0 ? balance : 0) : points;
    if (take > 0) {
        char reason[160];
        snprintf(reason, sizeof reason, "campaign %lld: order %lld refunded", (long long)campaign,
                 (long long)order_id);
        siyu_err short_;
        siyu_err_init(&short_);
        if (loyalty_points_debit(d, live, take, "referral_clawback", reason, "points", &short_)) {
            bool internal = short_.code == SIYU_INTERNAL;
            if (internal) siyu_err_set(e, short_.code, NULL, "%s", short_.message);
            siyu_err_clear(&short_);
            if (internal) return -1;
            take = 0; /* pending points cannot be spent yet: nothing taken */
        }
        dom_note(d, DOM_CHANGE_LOYALTY, live, 0);
    }
    /* the coupon goes too while unused; one already redeemed (or expired) stays as it
     * is, recorded as not recovered (its state) and reported */
    char coupon[16] = "";
    if (code[0]) {
        char why[96];
        snprintf(why, sizeof why, "campaign %lld: order %lld refunded", (long long)campaign,
                 (long long)order_id);
        int v = loyalty_coupon_void(d, code, why, coupon, e);
        if (v < 0) return -1;
        if (v > 0) {
            snprintf(coupon, sizeof coupon, "voided");
            dom_note(d, DOM_CHANGE_LOYALTY, live, 0);
        } else if (!coupon[0]) {
            snprintf(coupon, sizeof coupon, "missing");
        }
    }
    s = store_q(d->conn, Q_FIS_REWARD_CLAW);
    store_bind_int(s, 1, take);
    store_bind_int(s, 2, at);
    store_bind_int(s, 3, rid);
    store_bind_text(s, 4, coupon[0] ? coupon : NULL);
    return store_exec(s, e);
}

static int members_merged(dom *d, int64_t into, int64_t from, siyu_err *e)
{
    /* plays, teams, helps, invites and referral rows stay with the ids they were made
     * under (docs/fission.md: merges) */
    return inner ? inner->members_merged(d, into, from, e) : 0;
}

static json_t *member_block(dom *d, int64_t member)
{
    return inner && inner->member_block ? inner->member_block(d, member) : NULL;
}

void fission_install(void)
{
    static dom_loyalty_hooks hooks;
    inner = dom_loyalty();
    hooks = (dom_loyalty_hooks){order_placed, order_refunded, members_merged, member_block};
    dom_set_loyalty(&hooks);
    loyalty_set_forward_hook(on_forward);
}

/* ---------------- reading ---------------- */

int fission_member_attrs(store_conn *c, int64_t member, int64_t *direct, int64_t *all,
                         bool *referred)
{
    *direct = *all = 0;
    *referred = false;
    store_stmt *s = store_q(c, Q_FIS_STATS_GET);
    store_bind_int(s, 1, member);
    if (store_step(s) == STORE_ROW) {
        *direct = store_col_int(s, 0);
        *all = store_col_int(s, 1);
        *referred = !store_col_null(s, 4);
    }
    store_reset(s);
    return 0;
}

static json_t *referred_by(dom *d, int64_t member)
{
    store_stmt *s = store_q(d->conn, Q_FIS_REF_GET);
    store_bind_int(s, 1, member);
    json_t *o = json_null();
    if (store_step(s) == STORE_ROW)
        o = json_pack("{s:I, s:I, s:I, s:o, s:s, s:s, s:o, s:o}", "referrer_id",
                      (json_int_t)store_col_int(s, 0), "root_id", (json_int_t)store_col_int(s, 1),
                      "depth", (json_int_t)store_col_int(s, 2), "campaign_id",
                      dom_nullable_int(s, 5), "channel", store_col_text(s, 6), "via",
                      store_col_text(s, 7), "joined_at", dom_time(store_col_int(s, 8)),
                      "first_order_at",
                      store_col_null(s, 10) ? json_null() : dom_time(store_col_int(s, 10)));
    store_reset(s);
    return o;
}

int fission_member_referrals(dom *d, int64_t member, json_t **out, siyu_err *e)
{
    (void)e;
    int64_t direct = 0, all = 0, dsales = 0, asales = 0;
    store_stmt *s = store_q(d->conn, Q_FIS_STATS_GET);
    store_bind_int(s, 1, member);
    if (store_step(s) == STORE_ROW) {
        direct = store_col_int(s, 0);
        all = store_col_int(s, 1);
        dsales = store_col_int(s, 2);
        asales = store_col_int(s, 3);
    }
    store_reset(s);
    json_t *items = json_array();
    s = store_q(d->conn, Q_FIS_DIRECT_LIST);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, 1000);
    while (store_step(s) == STORE_ROW)
        json_array_append_new(
            items, json_pack("{s:I, s:o, s:o, s:s, s:o, s:I, s:I}", "member_id",
                             (json_int_t)store_col_int(s, 0), "joined_at",
                             dom_time(store_col_int(s, 1)), "campaign_id", dom_nullable_int(s, 2),
                             "channel", store_col_text(s, 3), "first_order_at",
                             store_col_null(s, 4) ? json_null() : dom_time(store_col_int(s, 4)),
                             "sales_cents", (json_int_t)store_col_int(s, 5), "downstream",
                             (json_int_t)store_col_int(s, 6)));
    store_reset(s);
    int64_t depth_max = 0;
    s = store_q(d->conn, Q_FIS_DOWN_DEPTH);
    store_bind_int(s, 1, member);
    if (store_step(s) == STORE_ROW) depth_max = store_col_null(s, 0) ? 0 : store_col_int(s, 0);
    store_reset(s);
    *out = json_pack("{s:I, s:o, s:{s:I, s:I, s:o}, s:{s:I, s:I, s:I}}", "member_id",
                     (json_int_t)member, "referred_by", referred_by(d, member), "direct", "members",
                     (json_int_t)direct, "sales_cents", (json_int_t)dsales, "items", items,
                     "downstream", "members", (json_int_t)all, "sales_cents", (json_int_t)asales,
                     "depth_max", (json_int_t)depth_max);
    return 200;
}

void fission_member_block(dom *d, json_t *member)
{
    int64_t id = json_integer_value(json_object_get(member, "id"));
    if (!id) return;
    int64_t direct = 0, all = 0;
    bool referred;
    fission_member_attrs(d->conn, id, &direct, &all, &referred);
    json_object_set_new(member, "referral",
                        json_pack("{s:o, s:I, s:I}", "referred_by", referred_by(d, id), "direct",
                                  (json_int_t)direct, "downstream", (json_int_t)all));
    json_t *a = json_array();
    store_stmt *s = store_q(d->conn, Q_FIS_MEMBER_CAMPAIGNS);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW)
        json_array_append_new(a, json_pack("{s:I, s:s, s:s, s:s, s:o}", "campaign_id",
                                           (json_int_t)store_col_int(s, 0), "kind",
                                           store_col_text(s, 1), "name", store_col_text(s, 2), "as",
                                           store_col_text(s, 3), "first_at",
                                           dom_time(store_col_int(s, 4))));
    store_reset(s);
    json_object_set_new(member, "campaigns", a);
}

/* One group of the report: what the invites sent in the window brought, summed over the
 * day cohorts (an inviter counts once per day, campaign and channel it sent in). */
typedef struct group {
    char key[24];
    bool null_key;
    int64_t invites, inviters, joined, first, cycle;
} group;

typedef struct groups {
    group *v;
    size_t n, cap;
} groups;

static group *group_of(groups *g, const char *key, bool null_key)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->v[i].null_key == null_key && strcmp(g->v[i].key, key) == 0) return &g->v[i];
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->v = realloc(g->v, g->cap * sizeof *g->v);
    }
    group *x = &g->v[g->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->key, sizeof x->key, "%s", key);
    x->null_key = null_key;
    return x;
}

static void group_add(group *x, int64_t invites, int64_t inviters, int64_t joined, int64_t first,
                      int64_t cycle)
{
    x->invites += invites;
    x->inviters += inviters;
    x->joined += joined;
    x->first += first;
    x->cycle += cycle;
}

static int group_cmp(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->null_key != y->null_key) return x->null_key ? -1 : 1;
    size_t lx = strlen(x->key), ly = strlen(y->key);
    if (lx != ly && x->key[0] >= '0' && x->key[0] <= '9' && y->key[0] >= '0' && y->key[0] <= '9')
        return lx < ly ? -1 : 1; /* campaign ids in numeric order */
    return strcmp(x->key, y->key);
}

static json_t *group_json(const group *x, const char *key, bool numeric)
{
    json_t *k = x->null_key ? json_null()
                : numeric   ? json_integer(strtoll(x->key, NULL, 10))
                            : json_string(x->key);
    json_t *o =
        json_pack("{s:o, s:I, s:I, s:I, s:I}", key, k, "invites_sent", (json_int_t)x->invites,
                  "inviters", (json_int_t)x->inviters, "members_joined", (json_int_t)x->joined,
                  "first_orders", (json_int_t)x->first);
    if (!key[0]) json_object_del(o, "");
    json_object_set_new(o, "k_factor",
                        x->inviters ? json_real((double)x->joined / (double)x->inviters)
                                    : json_null());
    json_object_set_new(o, "join_rate",
                        x->invites ? json_real((double)x->joined / (double)x->invites)
                                   : json_null());
    json_object_set_new(o, "first_order_rate",
                        x->joined ? json_real((double)x->first / (double)x->joined) : json_null());
    json_object_set_new(o, "cycle_time_days",
                        x->joined ? json_real((double)x->cycle / (double)x->joined / 86400.0)
                                  : json_null());
    return o;
}

static json_t *groups_json(groups *g, const char *key, bool numeric)
{
    if (g->n) qsort(g->v, g->n, sizeof *g->v, group_cmp); /* an empty list may have no array */
    json_t *a = json_array();
    for (size_t i = 0; i < g->n; i++)
        json_array_append_new(a, group_json(&g->v[i], key, numeric));
    free(g->v);
    return a;
}

static json_t *kol_list(dom *d, store_query q, int top)
{
    json_t *a = json_array();
    store_stmt *s = store_q(d->conn, q);
    store_bind_int(s, 1, top);
    while (store_step(s) == STORE_ROW)
        json_array_append_new(
            a, json_pack("{s:I, s:I, s:I, s:I, s:I}", "member_id", (json_int_t)store_col_int(s, 0),
                         "direct", (json_int_t)store_col_int(s, 1), "downstream",
                         (json_int_t)store_col_int(s, 2), "direct_sales_cents",
                         (json_int_t)store_col_int(s, 3), "downstream_sales_cents",
                         (json_int_t)store_col_int(s, 4)));
    store_reset(s);
    return a;
}

int fission_referrals_report(dom *d, int64_t from, int64_t to, int top, json_t **out, siyu_err *e)
{
    (void)e;
    if (top <= 0 || top > 1000) top = 10;
    json_t *o = json_pack("{s:o, s:o}", "from", dom_time(from), "to", dom_time(to));
    group total = {0};
    groups by_campaign = {0}, by_channel = {0}, by_month = {0};
    /* the cohorts of the local days from `from`'s to the one before `to` */
    store_stmt *s = store_q(d->conn, Q_FIS_REPORT_COHORTS);
    store_bind_int(s, 1, time_local_day(from));
    store_bind_int(s, 2, time_local_day(to - 1));
    while (store_step(s) == STORE_ROW) {
        int32_t day = (int32_t)store_col_int(s, 0);
        int64_t campaign = store_col_int(s, 1), invites = store_col_int(s, 3),
                inviters = store_col_int(s, 4), joined = store_col_int(s, 5),
                first = store_col_int(s, 6), cycle = store_col_int(s, 7);
        char key[24];
        snprintf(key, sizeof key, "%lld", (long long)campaign);
        group_add(&total, invites, inviters, joined, first, cycle);
        group_add(group_of(&by_campaign, key, campaign == 0), invites, inviters, joined, first,
                  cycle);
        group_add(group_of(&by_channel, store_col_text(s, 2), false), invites, inviters, joined,
                  first, cycle);
        int y, m, dd;
        date_civil(day, &y, &m, &dd);
        snprintf(key, sizeof key, "%04d-%02d", y, m);
        group_add(group_of(&by_month, key, false), invites, inviters, joined, first, cycle);
    }
    store_reset(s);
    json_object_set_new(o, "total", group_json(&total, "", false));
    json_object_set_new(o, "campaigns", groups_json(&by_campaign, "campaign_id", true));
    json_object_set_new(o, "channels", groups_json(&by_channel, "channel", false));
    json_object_set_new(o, "months", groups_json(&by_month, "month", false));
    json_object_set_new(o, "top_kols",
                        json_pack("{s:o, s:o, s:o, s:o}", "by_direct_members",
                                  kol_list(d, Q_FIS_KOL_DIRECT, top), "by_all_members",
                                  kol_list(d, Q_FIS_KOL_ALL, top), "by_direct_sales",
                                  kol_list(d, Q_FIS_KOL_DSALES, top), "by_all_sales",
                                  kol_list(d, Q_FIS_KOL_ASALES, top)));
    *out = o;
    return 200;
}
