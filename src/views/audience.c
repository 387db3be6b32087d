/* audience.c — the member index (src/segment) built from the store and kept current.
 *
 * At start-up every live member, order (net of its refunds), reachability flag,
 * prediction, tag and saved segment is loaded. After each committed write the changed
 * rows are read back and applied: a new order, a refund (by its order's day, so the
 * windows count them together), a profile, reachability, a merge. Days are local
 * (+08:00). The operator's RFM and lifecycle thresholds live here too (audience.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "segment/eval.h"
#include "segment/index.h"
#include "views/audience.h"
#include "views/views_internal.h"

static unsigned reach_bit(const char *channel)
{
    static const struct {
        const char *name;
        unsigned bit;
    } map[] = {{"public_account", SEG_REACH_PUBLIC_ACCOUNT},
               {"wecom", SEG_REACH_WECOM},
               {"group", SEG_REACH_GROUP},
               {"sms", SEG_REACH_SMS},
               {"miniprogram", SEG_REACH_MINIPROGRAM}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(map[i].name, channel) == 0) return map[i].bit;
    return 0;
}

/* Brand of each store, for the member's brand attribute. */
static int64_t store_brand(store_conn *c, int64_t store_id)
{
    if (!store_id) return 0;
    store_stmt *s = store_q(c, Q_STORE_GET);
    store_bind_int(s, 1, store_id);
    int64_t b = store_step(s) == STORE_ROW && !store_col_null(s, 4) ? store_col_int(s, 4) : 0;
    store_reset(s);
    return b;
}

/* Both MEMBER_GET and SCAN_MEMBERS name these columns: read by name, one reader for both. */
static void profile_from_row(store_conn *c, store_stmt *s, seg_member_profile *p, char *gender,
                             char *city, char *channel)
{
    memset(p, 0, sizeof *p);
    const char *g = store_col_text_by(s, "gender"), *ci = store_col_text_by(s, "city"),
               *ch = store_col_text_by(s, "join_channel");
    snprintf(gender, 16, "%s", g ? g : "");
    snprintf(city, 64, "%s", ci ? ci : "");
    snprintf(channel, 32, "%s", ch ? ch : "");
    p->gender = gender;
    p->city = city;
    p->join_channel = channel;
    p->birthday =
        store_col_null_by(s, "birthday") ? SEG_NO_DAY : (int32_t)store_col_int_by(s, "birthday");
    p->store_id = store_col_opt_by(s, "store_id");
    p->guide_id = store_col_opt_by(s, "guide_id");
    p->joined_day = time_local_day(store_col_int_by(s, "joined_at"));
    (void)c;
}

static int reload_member(seg_index *idx, store_conn *c, int64_t id)
{
    store_stmt *s = store_q(c, Q_MEMBER_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) return 0;
    if (!store_col_null_by(s, "merged_into")) { /* merged away */
        store_reset(s);
        seg_index_remove_member(idx, id, NULL);
        return 0;
    }
    seg_member_profile p;
    char gender[16], city[64], channel[32];
    profile_from_row(c, s, &p, gender, city, channel);
    p.id = id;
    store_reset(s);
    char campaign[256] = "";
    s = store_q(c, Q_MEMBER_ACQUISITION); /* the code and campaign it joined through */
    store_bind_int(s, 1, id);
    if (store_step(s) == STORE_ROW) {
        p.qr_code_id = store_col_null(s, 0) ? 0 : store_col_int(s, 0);
        if (!store_col_null(s, 1)) snprintf(campaign, sizeof campaign, "%s", store_col_text(s, 1));
    }
    store_reset(s);
    p.campaign = campaign;
    p.brand_id = store_brand(c, p.store_id);
    return seg_index_upsert_member(idx, &p, NULL);
}

/* group_messages_30d: the member's messages per day of the window, read again. */
static void reload_group_messages(seg_index *idx, store_conn *c, int64_t id)
{
    int32_t days[SEG_GROUP_MESSAGE_DAYS];
    int64_t msgs[SEG_GROUP_MESSAGE_DAYS];
    size_t n = 0;
    store_stmt *s = store_q(c, Q_GRP_MEMBER_MESSAGES);
    store_bind_int(s, 1, id);
    store_bind_int(s, 2, seg_index_today(idx) - SEG_GROUP_MESSAGE_DAYS + 1);
    while (store_step(s) == STORE_ROW && n < SEG_GROUP_MESSAGE_DAYS) {
        days[n] = (int32_t)store_col_int(s, 0);
        msgs[n++] = store_col_int(s, 1);
    }
    store_reset(s);
    seg_index_set_group_messages(idx, id, days, msgs, n, NULL);
}

static void reload_reach(seg_index *idx, store_conn *c, int64_t id)
{
    unsigned flags = 0;
    store_stmt *s = store_q(c, Q_REACH_LIST);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW)
        if (store_col_int(s, 1)) flags |= reach_bit(store_col_text(s, 0));
    seg_index_set_reach(idx, id, flags, NULL);
    /* the WeCom contact edges (src/guides) change with the wecom reach: contacts,
     * contact_days */
    s = store_q(c, Q_CONTACTS_SUMMARY);
    store_bind_int(s, 1, id);
    if (store_step(s) == STORE_ROW)
        seg_index_set_contacts(
            idx, id, store_col_int(s, 0),
            store_col_null(s, 1) ? SEG_NO_DAY : time_local_day(store_col_int(s, 1)), NULL);
    store_reset(s);
    /* store groups (src/community): noted with the reach, as contacts are */
    seg_index_clear_member_groups(idx, id, NULL);
    s = store_q(c, Q_GRP_MEMBER_SUMMARY);
    store_bind_int(s, 1, id);
    if (store_step(s) == STORE_ROW)
        seg_index_set_groups(
            idx, id, store_col_int(s, 0),
            store_col_null(s, 1) ? SEG_NO_DAY : time_local_day(store_col_int(s, 1)), NULL);
    store_reset(s);
    s = store_q(c, Q_GRP_MEMBER_GROUPS); /* group = ID */
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW)
        seg_index_set_member_group(idx, id, store_col_int(s, 0), store_col_int(s, 1) != 0, NULL);
    reload_group_messages(idx, c, id);
}

/* The member's place in the referral graph (src/fission): referrals_direct,
 * referrals_all, referral_depth. */
static void reload_referrals(seg_index *idx, store_conn *c, int64_t id)
{
    store_stmt *s = store_q(c, Q_FIS_SEG_ONE);
    store_bind_int(s, 1, id);
    if (store_step(s) == STORE_ROW)
        seg_index_set_referrals(idx, id, store_col_int(s, 0), store_col_int(s, 1),
                                store_col_int(s, 2), NULL);
    store_reset(s);
}

/* Category spend of one order's lines, net of refunded quantities. */
typedef struct cats {
    seg_category_spend v[64];
    char names[64][64];
    size_t n;
} cats;

static void cats_add(cats *k, const char *category, int64_t cents)
{
    const char *name = category ? category : "";
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->names[i], name) == 0) {
            k->v[i].cents += cents;
            return;
        }
    if (k->n == 64) return;
    snprintf(k->names[k->n], sizeof k->names[k->n], "%s", name);
    k->v[k->n].category = k->names[k->n];
    k->v[k->n].cents = cents;
    k->n++;
}

static void apply_order_row(seg_index *idx, store_conn *c, int64_t order_id)
{
    store_stmt *s = store_q(c, Q_ORDER_GET);
    store_bind_int(s, 1, order_id);
    if (store_step(s) != STORE_ROW || store_col_null_by(s, "member_id")) {
        store_reset(s);
        return;
    }
    int64_t member = store_col_int(s, 4), placed = store_col_int(s, 6), total = store_col_int(s, 7),
            refunded = store_col_int(s, 11);
    store_reset(s);
    if (total > 0 && refunded >= total) return;
    cats k = {.n = 0};
    int64_t items = 0;
    s = store_q(c, Q_ORDER_ITEMS);
    store_bind_int(s, 1, order_id);
    while (store_step(s) == STORE_ROW) {
        int64_t qty = store_col_int(s, 4) - store_col_int(s, 6);
        items += qty;
        cats_add(&k, store_col_text(s, 2), qty * store_col_int(s, 5));
    }
    seg_index_apply_order(idx, member, time_local_day(placed), total - refunded, (int32_t)items,
                          k.v, k.n, NULL);
}

static void apply_refund_row(seg_index *idx, store_conn *c, int64_t refund_id, int64_t order_id)
{
    store_stmt *s = store_q(c, Q_REFUND_GET);
    store_bind_int(s, 1, refund_id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return;
    }
    int64_t amount = store_col_int(s, 3);
    store_reset(s);
    s = store_q(c, Q_ORDER_GET);
    store_bind_int(s, 1, order_id);
    if (store_step(s) != STORE_ROW || store_col_null_by(s, "member_id")) {
        store_reset(s);
        return;
    }
    int64_t member = store_col_int(s, 4), placed = store_col_int(s, 6), total = store_col_int(s, 7),
            refunded = store_col_int(s, 11);
    store_reset(s);
    seg_index_apply_refund(idx, member, time_local_day(placed), amount, 0,
                           total > 0 && refunded >= total, NULL, 0, NULL);
}

/* The system churn_risk tag: a regular (two or more orders) whose p_alive is below the
 * threshold of the latest model run. Created once the first run exists; its threshold is
 * the one in force when it was created (a restart picks up a new one). */
static void ensure_churn_tag(seg_index *idx, store_conn *c)
{
    if (seg_index_tag_find(idx, "churn_risk") >= 0) return;
    store_stmt *s = store_q(c, Q_MODEL_RUN_LATEST);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return;
    }
    json_t *rep = json_loads(store_col_text(s, 5), 0, NULL);
    store_reset(s);
    json_t *t = json_object_get(json_object_get(rep, "options"), "churn_threshold");
    double threshold = json_is_number(t) ? json_number_value(t) : 0.3;
    json_decref(rep);
    char expr[96];
    snprintf(expr, sizeof expr, "p_alive < %.4f and orders >= 2", threshold);
    seg_index_tag_create(idx, "churn_risk", expr, NULL);
}

/* Every member's group messages per day of the window (group_messages_30d). */
static void load_group_messages(seg_index *idx, store_conn *c)
{
    int32_t days[SEG_GROUP_MESSAGE_DAYS];
    int64_t msgs[SEG_GROUP_MESSAGE_DAYS];
    size_t n = 0;
    int64_t cur = 0;
    store_stmt *s = store_q(c, Q_SCAN_GROUP_MESSAGES);
    store_bind_int(s, 1, seg_index_today(idx) - SEG_GROUP_MESSAGE_DAYS + 1);
    while (store_step(s) == STORE_ROW) {
        int64_t m = store_col_int(s, 0);
        if (m != cur) {
            if (cur) seg_index_set_group_messages(idx, cur, days, msgs, n, NULL);
            cur = m;
            n = 0;
        }
        if (n < SEG_GROUP_MESSAGE_DAYS) {
            days[n] = (int32_t)store_col_int(s, 1);
            msgs[n++] = store_col_int(s, 2);
        }
    }
    store_reset(s);
    if (cur) seg_index_set_group_messages(idx, cur, days, msgs, n, NULL);
}

static void load_predictions(seg_index *idx, store_conn *c)
{
    store_stmt *s = store_q(c, Q_SCAN_PREDICTIONS);
    while (store_step(s) == STORE_ROW)
        seg_index_set_prediction(idx, store_col_int(s, 0), store_col_real(s, 2),
                                 store_col_real(s, 3), store_col_int(s, 4), NULL);
    ensure_churn_tag(idx, c);
}

/* ---------------- RFM and lifecycle settings ---------------- */

#define SETTING_RFM "segment.rfm"
#define SETTING_LIFECYCLE "segment.lifecycle"
/* a hundred years: far beyond any sensible threshold, well inside the index's day range */
#define MAX_DAYS 36500

void audience_settings_init(audience_settings *s)
{
    memset(s, 0, sizeof *s);
    s->rfm_auto = true;
    /* the index's own defaults, so an unset store and a fresh index agree */
    seg_index *idx = seg_index_new(1);
    if (idx) {
        seg_index_rfm_get(idx, &s->rfm, NULL);
        seg_index_lifecycle_get(idx, &s->life);
        seg_index_free(idx);
    } else {
        s->life = (seg_lifecycle_thresholds){.new_days = 30, .active_days = 90, .lapsed_days = 180};
    }
}

/* A required integer field of a settings object, in [lo, hi]; errors name prefix.key. */
static int int_field(json_t *obj, const char *prefix, const char *key, int64_t lo, int64_t hi,
                     int64_t *out, siyu_err *e)
{
    char f[64];
    snprintf(f, sizeof f, "%s.%s", prefix, key);
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: required", f);
    if (!json_is_integer(v))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: not an integer", f);
    *out = json_integer_value(v);
    if (*out < lo || *out > hi)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: must be between %lld and %lld", f,
                            (long long)lo, (long long)hi);
    return 0;
}

static int rfm_from_json(json_t *v, audience_settings *s, siyu_err *e)
{
    if (json_is_string(v) && strcmp(json_string_value(v), "auto") == 0) {
        s->rfm_auto = true;
        return 0;
    }
    if (!json_is_object(v))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rfm",
                            "rfm: expected \"auto\" or {recency_max_days, frequency_min_orders, "
                            "monetary_min_cents}");
    static const char *const allowed[] = {"recency_max_days", "frequency_min_orders",
                                          "monetary_min_cents", NULL};
    int64_t r, f, m;
    if (jx_only(v, allowed, "rfm.", e) ||
        int_field(v, "rfm", "recency_max_days", 0, MAX_DAYS, &r, e) ||
        int_field(v, "rfm", "frequency_min_orders", 1, 1000000, &f, e) ||
        int_field(v, "rfm", "monetary_min_cents", 0, INT64_C(1000000000000000), &m, e))
        return -1;
    s->rfm_auto = false;
    s->rfm = (seg_rfm_thresholds){
        .r_max_days = (int32_t)r, .f_min_orders = (int32_t)f, .m_min_cents = m};
    return 0;
}

static int lifecycle_from_json(json_t *v, audience_settings *s, siyu_err *e)
{
    if (json_is_string(v) && strcmp(json_string_value(v), "default") == 0) {
        audience_settings def;
        audience_settings_init(&def);
        s->life = def.life;
        return 0;
    }
    if (!json_is_object(v))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "lifecycle",
                            "lifecycle: expected \"default\" or {new_days, active_days, "
                            "lapsed_days}");
    static const char *const allowed[] = {"new_days", "active_days", "lapsed_days", NULL};
    int64_t n, a, l;
    if (jx_only(v, allowed, "lifecycle.", e) ||
        int_field(v, "lifecycle", "new_days", 0, MAX_DAYS, &n, e) ||
        int_field(v, "lifecycle", "active_days", 0, MAX_DAYS, &a, e) ||
        int_field(v, "lifecycle", "lapsed_days", 0, MAX_DAYS, &l, e))
        return -1;
    /* at_risk is the span between the two: it cannot be negative */
    if (l < a)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "lifecycle.lapsed_days",
                            "lifecycle.lapsed_days: must be at least active_days (%lld)",
                            (long long)a);
    s->life = (seg_lifecycle_thresholds){
        .new_days = (int32_t)n, .active_days = (int32_t)a, .lapsed_days = (int32_t)l};
    return 0;
}

int audience_settings_update(audience_settings *s, json_t *body, siyu_err *e)
{
    static const char *const allowed[] = {"rfm", "lifecycle", NULL};
    if (jx_only(body, allowed, NULL, e)) return -1;
    json_t *rfm = json_object_get(body, "rfm"), *life = json_object_get(body, "lifecycle");
    if (!rfm && !life)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rfm",
                            "rfm: required (or lifecycle): nothing to change");
    if (rfm && rfm_from_json(rfm, s, e)) return -1;
    if (life && lifecycle_from_json(life, s, e)) return -1;
    return 0;
}

static json_t *rfm_json(const seg_rfm_thresholds *t)
{
    return json_pack("{s:i, s:i, s:I}", "recency_max_days", t->r_max_days, "frequency_min_orders",
                     t->f_min_orders, "monetary_min_cents", (json_int_t)t->m_min_cents);
}

json_t *audience_settings_json(const audience_settings *s, seg_index *idx)
{
    json_t *out = json_pack("{s:o, s:{s:i, s:i, s:i}}", "rfm",
                            s->rfm_auto ? json_string("auto") : rfm_json(&s->rfm), "lifecycle",
                            "new_days", s->life.new_days, "active_days", s->life.active_days,
                            "lapsed_days", s->life.lapsed_days);
    if (idx) {
        seg_rfm_thresholds t;
        seg_index_rfm_get(idx, &t, NULL);
        json_object_set_new(out, "rfm_in_force", rfm_json(&t));
    }
    return out;
}

int audience_settings_load(store_conn *c, audience_settings *s, siyu_err *e)
{
    audience_settings_init(s);
    static const char *const keys[] = {SETTING_RFM, SETTING_LIFECYCLE};
    int failed = 0;
    for (int k = 0; k < 2; k++) {
        store_stmt *st = store_q(c, Q_SETTING_GET);
        store_bind_text(st, 1, keys[k]);
        json_t *v = NULL;
        if (store_step(st) == STORE_ROW)
            v = json_loads(store_col_text(st, 0), JSON_DECODE_ANY, NULL);
        else
            v = json_null();
        store_reset(st);
        int rc = 0;
        if (!v)
            rc = siyu_err_set(e, SIYU_INTERNAL, NULL, "setting %s: not JSON", keys[k]);
        else if (!json_is_null(v))
            rc = k == 0 ? rfm_from_json(v, s, e) : lifecycle_from_json(v, s, e);
        json_decref(v);
        if (rc && !failed) {
            /* the readers above set nothing on error: s keeps the default of this key */
            char msg[sizeof e->message];
            snprintf(msg, sizeof msg, "%s", e->message);
            failed = siyu_err_set(e, SIYU_INTERNAL, NULL, "setting %s: %s", keys[k], msg);
        }
    }
    return failed;
}

int audience_settings_save(store_conn *c, const audience_settings *s, siyu_err *e)
{
    json_t *all = audience_settings_json(s, NULL);
    static const char *const keys[] = {SETTING_RFM, SETTING_LIFECYCLE};
    static const char *const fields[] = {"rfm", "lifecycle"};
    int rc = 0;
    for (int k = 0; k < 2 && rc == 0; k++) {
        char *text = json_dumps(json_object_get(all, fields[k]), JSON_COMPACT | JSON_ENCODE_ANY);
        store_stmt *st = store_q(c, Q_SETTING_PUT);
        store_bind_text(st, 1, keys[k]);
        store_bind_text(st, 2, text);
        rc = store_exec(st, e);
        free(text);
    }
    json_decref(all);
    return rc;
}

/* Sets the thresholds without touching rule tags (the caller refreshes them). */
static void settings_put_in_force(seg_index *idx, const audience_settings *s)
{
    seg_index_rfm_set(idx, s->rfm_auto ? NULL : &s->rfm);
    seg_index_lifecycle_set(idx, &s->life, NULL); /* validated when read */
}

void audience_settings_apply(seg_index *idx, const audience_settings *s)
{
    settings_put_in_force(idx, s);
    seg_index_rule_tags_refresh(idx, NULL);
}

static void load_audiences(seg_index *idx, store_conn *c);

int audience_load(store_conn *c, seg_index **out, siyu_err *e)
{
    seg_index *idx = seg_index_new(time_local_day(clock_now()));
    if (!idx) return siyu_err_set(e, SIYU_INTERNAL, NULL, "member index: out of memory");
    if (store_begin(c, false, e)) {
        seg_index_free(idx);
        return -1;
    }
    /* columns sized once for every member, not grown by doubling */
    store_stmt *cnt = store_q(c, Q_COUNT_MEMBERS);
    if (store_step(cnt) == STORE_ROW) seg_index_reserve(idx, (size_t)store_col_int(cnt, 0), NULL);
    store_reset(cnt);
    /* the brand of every store, so a member's brand is their store's */
    int64_t *brand_of = NULL, nstores = 0;
    store_stmt *s = store_q(c, Q_STORE_LIST);
    store_bind_int(s, 1, 0);
    store_bind_int(s, 2, 1000000);
    while (store_step(s) == STORE_ROW) {
        int64_t id = store_col_int(s, 0);
        if (id >= nstores) {
            brand_of = realloc(brand_of, (size_t)(id + 1) * sizeof *brand_of);
            memset(brand_of + nstores, 0, (size_t)(id + 1 - nstores) * sizeof *brand_of);
            nstores = id + 1;
        }
        brand_of[id] = store_col_null(s, 4) ? 0 : store_col_int(s, 4);
    }
    s = store_q(c, Q_SCAN_MEMBERS);
    while (store_step(s) == STORE_ROW) {
        seg_member_profile p;
        char gender[16], city[64], channel[32];
        /* SCAN_MEMBERS: id, gender, birthday, city, store, guide, channel, joined_at,
         * qr_code_id, campaign */
        profile_from_row(c, s, &p, gender, city, channel);
        p.id = store_col_int(s, 0);
        p.qr_code_id = store_col_null(s, 8) ? 0 : store_col_int(s, 8);
        p.campaign = store_col_null(s, 9) ? NULL : store_col_text(s, 9);
        p.brand_id = p.store_id > 0 && p.store_id < nstores ? brand_of[p.store_id] : 0;
        seg_index_upsert_member(idx, &p, NULL);
    }
    free(brand_of);
    /* orders net of refunds, with their lines' categories: orders and items both by id */
    store_stmt *o = store_q(c, Q_SCAN_ORDERS), *it = store_q(c, Q_SCAN_ITEMS);
    int have_item = store_step(it) == STORE_ROW;
    while (store_step(o) == STORE_ROW) {
        int64_t id = store_col_int(o, 0);
        cats k = {.n = 0};
        int64_t items = 0;
        while (have_item && store_col_int(it, 0) < id)
            have_item = store_step(it) == STORE_ROW;
        while (have_item && store_col_int(it, 0) == id) {
            int64_t qty = store_col_int(it, 4) - store_col_int(it, 6);
            items += qty;
            cats_add(&k, store_col_text(it, 3), qty * store_col_int(it, 5));
            have_item = store_step(it) == STORE_ROW;
        }
        if (store_col_null(o, 1)) continue;
        int64_t total = store_col_int(o, 6), refunded = store_col_int(o, 8);
        if (total > 0 && refunded >= total) continue;
        seg_index_apply_order(idx, store_col_int(o, 1), time_local_day(store_col_int(o, 5)),
                              total - refunded, (int32_t)items, k.v, k.n, NULL);
    }
    store_reset(it);
    /* reachability */
    int64_t cur = 0;
    unsigned flags = 0;
    s = store_q(c, Q_SCAN_REACH);
    while (store_step(s) == STORE_ROW) {
        int64_t m = store_col_int(s, 0);
        if (m != cur) {
            if (cur) seg_index_set_reach(idx, cur, flags, NULL);
            cur = m;
            flags = 0;
        }
        if (store_col_int(s, 2)) flags |= reach_bit(store_col_text(s, 1));
    }
    if (cur) seg_index_set_reach(idx, cur, flags, NULL);
    s = store_q(c, Q_SCAN_CONTACTS);
    while (store_step(s) == STORE_ROW)
        seg_index_set_contacts(idx, store_col_int(s, 0), store_col_int(s, 1),
                               time_local_day(store_col_int(s, 2)), NULL);
    s = store_q(c, Q_SCAN_MEMBER_GROUPS);
    while (store_step(s) == STORE_ROW)
        seg_index_set_groups(idx, store_col_int(s, 0), store_col_int(s, 1),
                             time_local_day(store_col_int(s, 2)), NULL);
    s = store_q(c, Q_SCAN_MEMBER_GROUP_IDS);
    while (store_step(s) == STORE_ROW)
        seg_index_set_member_group(idx, store_col_int(s, 0), store_col_int(s, 1), true, NULL);
    load_group_messages(idx, c);
    s = store_q(c, Q_SCAN_REFERRALS);
    while (store_step(s) == STORE_ROW)
        seg_index_set_referrals(idx, store_col_int(s, 0), store_col_int(s, 1), store_col_int(s, 2),
                                store_col_int(s, 3), NULL);
    load_predictions(idx, c);
    load_audiences(idx, c);
    *out = idx;
    return 0;
}

/* Tags and their members, saved segments and the operator's thresholds, in c's open
 * transaction, which it ends; then rule tags are evaluated and the index compacted. A
 * rebuild and a snapshot read (which holds no tags) both end here. */
static void load_audiences(seg_index *idx, store_conn *c)
{
    store_stmt *s;
    /* tags and their members, saved segments */
    s = store_q(c, Q_TAG_LIST);
    while (store_step(s) == STORE_ROW)
        seg_index_tag_create(idx, store_col_text(s, 1), store_col_text(s, 3), NULL);
    int64_t tag_store_id = 0;
    int tag = -1;
    s = store_q(c, Q_SCAN_TAG_MEMBERS);
    while (store_step(s) == STORE_ROW) {
        if (store_col_int(s, 0) != tag_store_id) {
            tag_store_id = store_col_int(s, 0);
            store_stmt *t = store_q(c, Q_TAG_GET);
            store_bind_int(t, 1, tag_store_id);
            tag = store_step(t) == STORE_ROW ? seg_index_tag_find(idx, store_col_text(t, 1)) : -1;
            store_reset(t);
        }
        if (tag >= 0) seg_index_tag_add(idx, tag, store_col_int(s, 1), NULL);
    }
    s = store_q(c, Q_SEGMENT_LIST);
    store_bind_int(s, 1, 0);
    store_bind_int(s, 2, 1000000);
    while (store_step(s) == STORE_ROW)
        seg_index_segment_define(idx, store_col_int(s, 0), store_col_text(s, 1),
                                 store_col_text(s, 2), NULL);
    /* the operator's thresholds before rule tags are materialised: a rule may name an
     * RFM class or a lifecycle stage */
    audience_settings set;
    siyu_err se;
    siyu_err_init(&se);
    if (audience_settings_load(c, &set, &se)) /* only a hand-edited store gets here */
        fprintf(stderr, "siyu: member index: %s; using the default\n", se.message);
    siyu_err_clear(&se);
    store_rollback(c);
    settings_put_in_force(idx, &set); /* under "auto" this computes the medians */
    seg_index_rule_tags_refresh(idx, NULL);
    seg_index_compact(idx);
}

int audience_load_audiences(store_conn *c, seg_index *idx, siyu_err *e)
{
    if (store_begin(c, false, e)) return -1;
    ensure_churn_tag(idx, c);
    load_audiences(idx, c);
    return 0;
}

/* Tags, saved segments and thresholds: read back from the store (views.c applies such
 * lists one at a time, so the index ends as the store did). */
static void apply_audience_change(seg_index *idx, store_conn *c, const dom_change *ch)
{
    seg_error se;
    if (ch->kind == DOM_CHANGE_AUDIENCE_SETTINGS) {
        audience_settings s;
        siyu_err e;
        siyu_err_init(&e);
        audience_settings_load(c, &s, &e); /* a broken stored value: its default */
        siyu_err_clear(&e);
        audience_settings_apply(idx, &s);
        return;
    }
    if (ch->kind == DOM_CHANGE_SEGMENT) {
        store_stmt *s = store_q(c, Q_SEGMENT_GET);
        store_bind_int(s, 1, ch->id);
        if (store_step(s) == STORE_ROW)
            seg_index_segment_define(idx, ch->id, store_col_text(s, 1), store_col_text(s, 2), &se);
        store_reset(s);
        return;
    }
    store_stmt *s = store_q(c, Q_TAG_GET);
    store_bind_int(s, 1, ch->id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return;
    }
    char name[256];
    snprintf(name, sizeof name, "%s", store_col_text(s, 1));
    bool rule = strcmp(store_col_text(s, 2), "rule") == 0;
    char *expr = rule && store_col_text(s, 3) ? strdup(store_col_text(s, 3)) : NULL;
    store_reset(s);
    int tag = seg_index_tag_find(idx, name);
    if (ch->kind == DOM_CHANGE_TAG) {
        if (tag < 0) seg_index_tag_create(idx, name, expr, &se);
    } else if (tag >= 0) {
        s = store_q(c, Q_TAG_MEMBER_HAS);
        store_bind_int(s, 1, ch->id);
        store_bind_int(s, 2, ch->other);
        store_step_rc has = store_step(s);
        store_reset(s);
        if (has == STORE_ROW)
            seg_index_tag_add(idx, tag, ch->other, &se);
        else if (has == STORE_DONE)
            seg_index_tag_remove(idx, tag, ch->other, &se);
    }
    free(expr);
}

void audience_apply(seg_index *idx, store_conn *c, const dom_change *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (v[i].kind) {
        case DOM_CHANGE_MEMBER:
            reload_member(idx, c, v[i].id);
            reload_reach(idx, c, v[i].id);
            reload_referrals(idx, c, v[i].id);
            break;
        case DOM_CHANGE_ORDER:
            apply_order_row(idx, c, v[i].id);
            break;
        case DOM_CHANGE_REFUND: {
            /* a refund carried inline by an order of this same change list was already
             * netted when the order was read back */
            bool fresh = false;
            for (size_t j = 0; j < i && !fresh; j++)
                fresh = v[j].kind == DOM_CHANGE_ORDER && v[j].id == v[i].other;
            if (!fresh) apply_refund_row(idx, c, v[i].id, v[i].other);
            break;
        }
        case DOM_CHANGE_REACH:
            reload_reach(idx, c, v[i].id);
            break;
        case DOM_CHANGE_MERGE:
            /* the store moved from's orders and manual tags onto the survivor: move
             * them in the index too, now rather than at the next start-up */
            if (seg_index_merge_member(idx, v[i].id, v[i].other, NULL))
                seg_index_remove_member(idx, v[i].other, NULL);
            reload_member(idx, c, v[i].id);
            reload_reach(idx, c, v[i].id);
            break;
        case DOM_CHANGE_LIVE_VIEW:
            break;
        case DOM_CHANGE_GROUP_DAY: { /* its members' group_messages_30d */
            if (v[i].other <= seg_index_today(idx) - SEG_GROUP_MESSAGE_DAYS) break;
            size_t nm = 0, cm = 0;
            int64_t *ms = NULL;
            store_stmt *s = store_q(c, Q_GRP_DAY_MEMBERS);
            store_bind_int(s, 1, v[i].id);
            store_bind_int(s, 2, v[i].other);
            while (store_step(s) == STORE_ROW) {
                if (nm == cm) {
                    cm = cm ? cm * 2 : 64;
                    int64_t *t = realloc(ms, cm * sizeof *ms);
                    if (!t) break;
                    ms = t;
                }
                ms[nm++] = store_col_int(s, 0);
            }
            store_reset(s);
            for (size_t k = 0; k < nm; k++) {
                reload_group_messages(idx, c, ms[k]);
                store_view_touch(ms[k]); /* their tags in a kept 360 (member_cache.h) */
            }
            free(ms);
            break;
        }
        case DOM_CHANGE_TAG:
        case DOM_CHANGE_TAG_MEMBER:
        case DOM_CHANGE_SEGMENT:
        case DOM_CHANGE_AUDIENCE_SETTINGS:
            apply_audience_change(idx, c, &v[i]);
            break;
        default:
            /* kinds added later (loyalty) are not followed by the index yet */
            break;
        }
    }
}

void audience_reload_predictions(seg_index *idx, store_conn *c)
{
    siyu_err e;
    siyu_err_init(&e);
    if (store_begin(c, false, &e) == 0) {
        load_predictions(idx, c);
        store_rollback(c);
        seg_index_rule_tags_refresh(idx, NULL);
    }
}
