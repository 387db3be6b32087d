/* journeys.c — saving journeys, their states, and the ready-made library. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "journey/internal.h"
#include "messaging/msg_guardrails.h"

static json_t *journey_row_json(store_stmt *s)
{
    json_t *def = json_loads(store_col_text(s, 2), 0, NULL);
    json_t *o = json_pack(
        "{s:I, s:s, s:s, s:I, s:o, s:o, s:o}", "id", (json_int_t)store_col_int(s, 0), "name",
        store_col_text(s, 1), "state", store_col_text(s, 3), "version",
        (json_int_t)store_col_int(s, 4), "definition", def ? def : json_null(), "created_at",
        dom_time(store_col_int(s, 6)), "updated_at", dom_time(store_col_int(s, 7)));
    return o;
}

int journeys_get(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_JOURNEY_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "journey %lld not found", (long long)id);
    }
    if (out) *out = journey_row_json(s);
    store_reset(s);
    return 200;
}

int journeys_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e)
{
    json_t *items = json_array();
    int64_t last = 0;
    store_stmt *s = store_q(d->conn, Q_JOURNEY_LIST);
    store_bind_int(s, 1, cursor);
    store_bind_int(s, 2, limit);
    while (store_step(s) == STORE_ROW) {
        last = store_col_int(s, 0);
        json_array_append_new(items, journey_row_json(s));
    }
    store_reset(s);
    *out = dom_list(items, limit, last);
    return 200;
}

/* A definition may name a ready-made journey: {"from_library": "birthday_coupon", ...}
 * starts from it, any other field overriding. */
static json_t *expand(json_t *body, siyu_err *e)
{
    json_t *lib = json_object_get(body, "from_library");
    if (!lib) return json_incref(body);
    json_t *all = journey_library(), *found = NULL;
    size_t i;
    json_t *it;
    json_array_foreach(
        json_object_get(all, "items"), i,
        it) if (json_is_string(lib) &&
                strcmp(json_string_value(json_object_get(it, "key")), json_string_value(lib)) == 0)
        found = json_deep_copy(json_object_get(it, "definition"));
    json_decref(all);
    if (!found) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "from_library",
                     "from_library: not a ready-made journey (GET /api/v1/journey-library)");
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) if (strcmp(k, "from_library") != 0)
        json_object_set(found, k, v);
    return found;
}

/* The definition read and every reference in it checked (expressions against idx when
 * given, coupon templates and tags in the store). */
static int check_definition(dom *d, struct seg_index *idx, json_t *def, siyu_err *e)
{
    j_spec s;
    int rc = j_spec_parse(def, &s, e);
    if (rc == 0) rc = j_spec_check_refs(d, idx, &s, e);
    j_spec_free(&s);
    return rc;
}

int journeys_create(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    return journeys_create_with_index(d, NULL, body, out, e);
}

int journeys_create_with_index(dom *d, struct seg_index *idx, json_t *body, json_t **out,
                               siyu_err *e)
{
    json_t *def = expand(body, e);
    if (!def) return -1;
    if (check_definition(d, idx, def, e)) {
        json_decref(def);
        return -1;
    }
    const char *name = json_string_value(json_object_get(def, "name"));
    char *text = json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS);
    store_stmt *s = store_q(d->conn, Q_JOURNEY_INSERT);
    store_bind_text(s, 1, name);
    store_bind_text(s, 2, text);
    store_bind_text(s, 3, "draft");
    store_bind_int(s, 4, d->now);
    store_step_rc rc = store_step(s);
    store_reset(s);
    free(text);
    json_decref(def);
    if (rc == STORE_CONSTRAINT)
        return siyu_err_set(e, SIYU_CONFLICT, "name", "name: a journey with this name exists");
    if (rc != STORE_DONE)
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: %s", store_errmsg(d->conn));
    return journeys_get(d, store_last_id(d->conn), out, e) < 0 ? -1 : 201;
}

int journeys_update(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e)
{
    return journeys_update_with_index(d, NULL, id, body, out, e);
}

int journeys_update_with_index(dom *d, struct seg_index *idx, int64_t id, json_t *body,
                               json_t **out, siyu_err *e)
{
    if (journeys_get(d, id, NULL, e) < 0) return -1;
    json_t *def = expand(body, e);
    if (!def) return -1;
    if (check_definition(d, idx, def, e)) {
        json_decref(def);
        return -1;
    }
    char *text = json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS);
    store_stmt *s = store_q(d->conn, Q_JOURNEY_UPDATE_SPEC);
    store_bind_text(s, 1, json_string_value(json_object_get(def, "name")));
    store_bind_text(s, 2, text);
    store_bind_int(s, 3, d->now);
    store_bind_int(s, 4, id);
    store_step_rc rc = store_step(s);
    store_reset(s);
    free(text);
    json_decref(def);
    if (rc == STORE_CONSTRAINT)
        return siyu_err_set(e, SIYU_CONFLICT, "name", "name: a journey with this name exists");
    if (rc != STORE_DONE)
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: %s", store_errmsg(d->conn));
    return journeys_get(d, id, out, e) < 0 ? -1 : 200;
}

int journeys_set_state(dom *d, int64_t id, const char *action, json_t **out, siyu_err *e)
{
    return journeys_set_state_with_index(d, NULL, id, action, out, e);
}

int journeys_set_state_with_index(dom *d, struct seg_index *idx, int64_t id, const char *action,
                                  json_t **out, siyu_err *e)
{
    char state[16] = "";
    store_stmt *s = store_q(d->conn, Q_JOURNEY_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "journey %lld not found", (long long)id);
    }
    snprintf(state, sizeof state, "%s", store_col_text(s, 3));
    store_reset(s);
    static const struct {
        const char *action, *from1, *from2, *to;
    } moves[] = {
        {"activate", "draft", "paused", "active"},
        {"resume", "paused", NULL, "active"},
        {"pause", "active", NULL, "paused"},
        {"archive", "draft", "paused", "archived"},
    };
    const char *to = NULL;
    for (size_t i = 0; i < sizeof moves / sizeof *moves; i++)
        if (strcmp(moves[i].action, action) == 0) {
            if (strcmp(state, moves[i].from1) == 0 ||
                (moves[i].from2 && strcmp(state, moves[i].from2) == 0) ||
                (strcmp(action, "archive") == 0 && strcmp(state, "active") == 0))
                to = moves[i].to;
            else
                return siyu_err_set(e, SIYU_CONFLICT, "state", "state: a %s journey cannot %s",
                                    state, action);
        }
    if (!to)
        return siyu_err_set(e, SIYU_NOT_FOUND, "action",
                            "action: one of activate, pause, resume, archive");
    if (strcmp(to, "active") == 0) {
        /* what it names may have gone since it was saved (a tag, a template, a saved
         * segment): checked again, and the journey reacts to what happens from now on */
        j_spec sp;
        int rc = j_spec_load(d, id, &sp, NULL, 0, e);
        if (rc == 0) rc = j_spec_check_refs(d, idx, &sp, e);
        j_spec_free(&sp);
        if (rc || j_activation_mark(d, id, e)) return -1;
    }
    s = store_q(d->conn, Q_JOURNEY_SET_STATE);
    store_bind_text(s, 1, to);
    store_bind_int(s, 2, d->now);
    store_bind_int(s, 3, id);
    if (store_exec(s, e)) return -1;
    return journeys_get(d, id, out, e) < 0 ? -1 : 200;
}

/* ---------------- ready-made journeys ---------------- */

/* A step that may send on wechat_template carries its WeChat template message: the
 * template ids here (WELCOME, COUPON_ISSUED, POINTS_BALANCE) stand for the chain's own template
 * ids on its public account, which an operator puts in when adopting the journey.
 *
 * Each ready-made journey that issues a coupon names the template it expects by id and
 * carries that template's suggested definition (coupon_template in the library's
 * answer), with a per-member limit that fits the journey: a new member's welcome once in
 * a lifetime, a birthday once a year, a win-back once a month, a post-payment coupon at
 * most five a month (the journey re-enters after 7 days), a live-stream coupon once a
 * day. `siyu demo` creates them in this order: 1 new member, 2 friends (no journey),
 * 3 birthday, 4 post-payment, 5 win-back, 6 live. */
#define COUPON_NEW_MEMBER                                                                          \
    "{\"name\":\"新人券 满50减10\",\"kind\":\"cash_off\",\"value_cents\":1000,"               \
    "\"min_spend_cents\":5000,\"valid_days\":30,\"per_member_limit\":1,\"shareable\":true}"
#define COUPON_BIRTHDAY                                                                            \
    "{\"name\":\"生日礼券 满100减20\",\"kind\":\"cash_off\",\"value_cents\":2000,"           \
    "\"min_spend_cents\":10000,\"valid_days\":14,\"per_member_limit\":1,"                          \
    "\"per_member_period\":\"year\"}"
#define COUPON_POST_PAYMENT                                                                        \
    "{\"name\":\"回购券 满100减10\",\"kind\":\"cash_off\",\"value_cents\":1000,"              \
    "\"min_spend_cents\":10000,\"valid_days\":14,\"per_member_limit\":5,"                          \
    "\"per_member_period\":\"month\"}"
#define COUPON_WINBACK                                                                             \
    "{\"name\":\"挽回券 满80减15\",\"kind\":\"cash_off\",\"value_cents\":1500,"               \
    "\"min_spend_cents\":8000,\"valid_days\":14,\"per_member_limit\":1,"                           \
    "\"per_member_period\":\"month\"}"
#define COUPON_LIVE                                                                                \
    "{\"name\":\"直播专享 9折\",\"kind\":\"percent_off\",\"percent\":10,"                     \
    "\"max_off_cents\":2000,\"valid_days\":3,\"per_member_limit\":1,"                              \
    "\"per_member_period\":\"day\"}"

const char *const journey_library_coupons[] = {
    COUPON_NEW_MEMBER, NULL /* 2: the friends' coupon of the demo */,
    COUPON_BIRTHDAY,   COUPON_POST_PAYMENT,
    COUPON_WINBACK,    COUPON_LIVE};
const int journey_library_coupon_count = 6;

static const struct {
    const char *key, *json, *coupon;
} library[] = {
    {"new_member_series",
     "{\"name\":\"新会员培育 3/7/15/30天\",\"trigger\":{\"event\":\"member_joined\"},"
     "\"reentry\":{\"policy\":\"once\"},\"goal\":{\"event\":\"order_paid\",\"within_days\":30},"
     "\"steps\":["
     "{\"id\":\"d3\",\"action\":\"wait\",\"after_trigger\":\"3d\"},"
     "{\"id\":\"m3\",\"action\":\"send_message\",\"channel\":\"wecom\",\"fallback\":[\"wechat_"
     "template\",\"sms\"],"
     "\"template\":\"{{member.name}}您好，我是{{store.name}}的{{guide.name}}"
     "，有任何需要随时找我。\","
     "\"wechat_template\":{\"template_id\":\"WELCOME\",\"data\":{\"first\":"
     "\"{{member.name}}您好\",\"keyword1\":\"{{store.name}}\",\"keyword2\":"
     "\"{{guide.name}}\"}}},"
     "{\"id\":\"d7\",\"action\":\"wait\",\"after_trigger\":\"7d\"},"
     "{\"id\":\"b7\",\"action\":\"branch\",\"if_goal\":true,\"goto\":\"end\"},"
     "{\"id\":\"c7\",\"action\":\"issue_coupon\",\"template_id\":1},"
     "{\"id\":\"m7\",\"action\":\"send_message\",\"channel\":\"wechat_template\",\"fallback\":["
     "\"sms\"],"
     "\"template\":\"{{member.name}}，送您一张新人券 "
     "{{coupon.code}}，{{coupon.expires_on}}前有效。\","
     "\"wechat_template\":{\"template_id\":\"COUPON_ISSUED\",\"data\":{\"first\":"
     "\"{{member.name}}，送您一张新人券\",\"keyword1\":\"{{coupon.code}}\",\"keyword2\":"
     "\"{{coupon.expires_on}}\"}}},"
     "{\"id\":\"d15\",\"action\":\"wait\",\"after_trigger\":\"15d\"},"
     "{\"id\":\"t15\",\"action\":\"guide_task\",\"script\":\"回访新会员{{member.name}}"
     "，了解首购体验\",\"due\":\"2d\"},"
     "{\"id\":\"d30\",\"action\":\"wait\",\"after_trigger\":\"30d\"},"
     "{\"id\":\"m30\",\"action\":\"send_message\",\"channel\":\"wechat_template\","
     "\"template\":\"{{member.name}}，您已有{{points.balance}}积分，可在{{store.name}}抵现。\","
     "\"wechat_template\":{\"template_id\":\"POINTS_BALANCE\",\"data\":{\"first\":"
     "\"{{member.name}}，您的积分\",\"keyword1\":\"{{points.balance}}\",\"remark\":"
     "\"可在{{store.name}}抵现\"}}},"
     "{\"id\":\"end\",\"action\":\"exit\"}]}",
     COUPON_NEW_MEMBER},
    {"birthday_coupon",
     "{\"name\":\"生日礼券\",\"trigger\":{\"date\":\"birthday\",\"days_before\":3},"
     "\"steps\":[{\"id\":\"c\",\"action\":\"issue_coupon\",\"template_id\":3},"
     "{\"id\":\"m\",\"action\":\"send_message\",\"channel\":\"wechat_template\",\"fallback\":["
     "\"sms\"],"
     "\"template\":\"{{member.name}}，生日快乐！为您准备了生日礼券 "
     "{{coupon.code}}，{{coupon.expires_on}}前有效。\","
     "\"wechat_template\":{\"template_id\":\"COUPON_ISSUED\",\"data\":{\"first\":"
     "\"{{member.name}}，生日快乐！\",\"keyword1\":\"{{coupon.code}}\",\"keyword2\":"
     "\"{{coupon.expires_on}}\"}}}]}",
     COUPON_BIRTHDAY},
    {"post_payment_coupon",
     "{\"name\":\"支付后发券\",\"trigger\":{\"event\":\"order_paid\"},"
     "\"reentry\":{\"policy\":\"cooldown\",\"days\":7},\"goal\":{\"event\":\"order_paid\",\"within_"
     "days\":14},"
     "\"steps\":[{\"id\":\"c\",\"action\":\"issue_coupon\",\"template_id\":4},"
     "{\"id\":\"m\",\"action\":\"send_message\",\"channel\":\"wechat_template\",\"fallback\":["
     "\"sms\"],"
     "\"template\":\"感谢光临{{store.name}}！下次到店可用券 {{coupon.code}}。\","
     "\"wechat_template\":{\"template_id\":\"COUPON_ISSUED\",\"data\":{\"first\":"
     "\"感谢光临{{store.name}}！\",\"keyword1\":\"{{coupon.code}}\",\"keyword2\":"
     "\"{{coupon.expires_on}}\"}}}]}",
     COUPON_POST_PAYMENT},
    {"winback_30d",
     "{\"name\":\"30天未购挽回\",\"trigger\":{\"inactivity_days\":30},\"audience\":\"orders >= 1\","
     "\"goal\":{\"event\":\"order_paid\",\"within_days\":14},"
     "\"steps\":[{\"id\":\"c\",\"action\":\"issue_coupon\",\"template_id\":5},"
     "{\"id\":\"m\",\"action\":\"send_message\",\"channel\":\"wecom\",\"fallback\":[\"wechat_"
     "template\",\"sms\"],"
     "\"template\":\"{{member.name}}，好久不见！{{guide.name}}为您留了一张券 {{coupon.code}}。\","
     "\"wechat_template\":{\"template_id\":\"COUPON_ISSUED\",\"data\":{\"first\":"
     "\"{{member.name}}，好久不见！\",\"keyword1\":\"{{coupon.code}}\",\"keyword2\":"
     "\"{{coupon.expires_on}}\"}}},"
     "{\"id\":\"w\",\"action\":\"wait\",\"for_event\":\"order_paid\",\"timeout\":\"7d\"},"
     "{\"id\":\"b\",\"action\":\"branch\",\"if_goal\":true,\"goto\":\"end\"},"
     "{\"id\":\"t\",\"action\":\"guide_task\",\"script\":\"电话回访{{member.name}}\",\"due\":"
     "\"3d\"},"
     "{\"id\":\"end\",\"action\":\"exit\"}]}",
     COUPON_WINBACK},
    {"post_live_72h",
     "{\"name\":\"直播后72小时\",\"trigger\":{\"event\":\"live_view\"},"
     "\"reentry\":{\"policy\":\"cooldown\",\"days\":3},\"goal\":{\"event\":\"order_paid\",\"within_"
     "days\":3},"
     "\"steps\":[{\"id\":\"w\",\"action\":\"wait\",\"duration\":\"2h\"},"
     "{\"id\":\"c\",\"action\":\"issue_coupon\",\"template_id\":6},"
     "{\"id\":\"m\",\"action\":\"send_message\",\"channel\":\"wechat_template\",\"fallback\":["
     "\"sms\"],"
     "\"template\":\"{{member.name}}，直播专享券 {{coupon.code}} 72小时内有效。\","
     "\"wechat_template\":{\"template_id\":\"COUPON_ISSUED\",\"data\":{\"first\":"
     "\"{{member.name}}，直播专享券\",\"keyword1\":\"{{coupon.code}}\",\"keyword2\":"
     "\"{{coupon.expires_on}}\"}}},"
     "{\"id\":\"w2\",\"action\":\"wait\",\"for_event\":\"order_paid\",\"timeout\":\"70h\"}]}",
     COUPON_LIVE},
};

json_t *journey_library(void)
{
    json_t *items = json_array();
    for (size_t i = 0; i < sizeof library / sizeof *library; i++) {
        json_t *def = json_loads(library[i].json, 0, NULL);
        json_t *it = json_pack("{s:s, s:O, s:o}", "key", library[i].key, "name",
                               json_object_get(def, "name"), "definition", def);
        if (library[i].coupon)
            json_object_set_new(it, "coupon_template", json_loads(library[i].coupon, 0, NULL));
        json_array_append_new(items, it);
    }
    return json_pack("{s:o}", "items", items);
}

/* ---------------- guardrails for every journey ---------------- */

#define KEY_GUARDRAILS "journeys.guardrails"

int journey_guardrails_load(dom *d, msg_guard_settings *out, siyu_err *e)
{
    *out = msg_guard_settings_default();
    store_stmt *s = store_q(d->conn, Q_SETTING_GET);
    store_bind_text(s, 1, KEY_GUARDRAILS);
    json_t *v = NULL;
    if (store_step(s) == STORE_ROW) v = json_loads(store_col_text(s, 0), 0, NULL);
    store_reset(s);
    int rc = v ? msg_guard_settings_from_json(v, out, e) : 0;
    json_decref(v);
    /* the per-member WeCom caps shared with mass messages and task campaigns (the
     * guides' settings, PUT /mass-messages/settings) */
    out->freq_cap[0] = MSG_FREQ_DEFAULT_DAY;
    out->freq_cap[1] = MSG_FREQ_DEFAULT_WEEK;
    out->freq_cap[2] = MSG_FREQ_DEFAULT_MONTH;
    s = store_q(d->conn, Q_GUIDE_SETTINGS_GET);
    if (store_step(s) == STORE_ROW)
        for (int i = 0; i < 3; i++)
            out->freq_cap[i] = store_col_null(s, i) ? MSG_CAP_NONE : (int)store_col_int(s, i);
    store_reset(s);
    return rc;
}

int journeys_guardrails_put(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    msg_guard_settings g;
    if (msg_guard_settings_from_json(body, &g, e)) return -1;
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    store_stmt *s = store_q(d->conn, Q_SETTING_PUT);
    store_bind_text(s, 1, KEY_GUARDRAILS);
    store_bind_text(s, 2, text);
    int rc = store_exec(s, e);
    free(text);
    if (rc) return -1;
    return journeys_guardrails_get(d, out, e) < 0 ? -1 : 200;
}

int journeys_guardrails_get(dom *d, json_t **out, siyu_err *e)
{
    msg_guard_settings g;
    if (journey_guardrails_load(d, &g, e)) return -1;
    json_t *caps = json_object();
    for (int ch = 0; ch < MSG_CHANNEL_COUNT; ch++)
        json_object_set_new(caps, msg_channel_name((msg_channel)ch),
                            g.month_cap[ch] == MSG_CAP_NONE ? json_null()
                            : g.month_cap[ch] == MSG_CAP_DAYS_IN_MONTH
                                ? json_string("days_in_month")
                                : json_integer(g.month_cap[ch]));
    char quiet[16], tz[8];
    snprintf(quiet, sizeof quiet, "%02d:%02d-%02d:%02d", g.quiet_start_s / 3600,
             g.quiet_start_s / 60 % 60, g.quiet_end_s / 3600, g.quiet_end_s / 60 % 60);
    int off = g.tz_offset_s;
    snprintf(tz, sizeof tz, "%c%02d:%02d", off < 0 ? '-' : '+', abs(off) / 3600,
             abs(off) / 60 % 60);
    *out = json_pack("{s:i, s:I, s:o, s:I, s:s, s:o}", "budget_max", g.budget_max,
                     "budget_window_days", (json_int_t)(g.budget_window_s / 86400), "quiet_hours",
                     g.quiet_start_s == g.quiet_end_s ? json_null() : json_string(quiet),
                     "stale_after_hours", (json_int_t)(g.stale_after_s / 3600), "time_zone", tz,
                     "monthly_caps", caps);
    return 200;
}
