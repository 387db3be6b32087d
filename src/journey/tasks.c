/* tasks.c — guide tasks (follow-ups, and wecom sends waiting for a guide) and consent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "journey/internal.h"
#include "messaging/msg_channel.h"
#include "messaging/msg_template.h"
#include "loyalty/loyalty.h"
#include <inttypes.h>

char *tasks_script_render(dom *d, const char *text, int64_t member, int64_t guide)
{
    json_t *v = json_object();
    int64_t store_id = 0;
    store_stmt *s;
    if (member) {
        s = store_q(d->conn, Q_MEMBER_GET);
        store_bind_int(s, 1, member);
        if (store_step(s) == STORE_ROW) {
            if (!store_col_null(s, 1))
                json_object_set_new(v, "member.name", json_string(store_col_text(s, 1)));
            store_id = store_col_null(s, 5) ? 0 : store_col_int(s, 5);
        }
        store_reset(s);
        char tier[64];
        int64_t points;
        if (loyalty_member_state(d->conn, member, tier, sizeof tier, &points) == 0) {
            if (tier[0]) json_object_set_new(v, "member.tier", json_string(tier));
            char n[24];
            snprintf(n, sizeof n, "%" PRId64, points);
            json_object_set_new(v, "points.balance", json_string(n));
        }
    }
    if (guide) {
        s = store_q(d->conn, Q_STAFF_GET);
        store_bind_int(s, 1, guide);
        if (store_step(s) == STORE_ROW) {
            json_object_set_new(v, "guide.name", json_string(store_col_text(s, 1)));
            if (!store_id && !store_col_null(s, 3)) store_id = store_col_int(s, 3);
        }
        store_reset(s);
    }
    if (store_id) {
        s = store_q(d->conn, Q_STORE_GET);
        store_bind_int(s, 1, store_id);
        if (store_step(s) == STORE_ROW)
            json_object_set_new(v, "store.name", json_string(store_col_text(s, 1)));
        store_reset(s);
    }
    msg_template *t = NULL;
    siyu_err e;
    siyu_err_init(&e);
    char *out = NULL;
    if (msg_template_compile(text, strlen(text), &t, &e) == 0) msg_template_render(t, v, &out, &e);
    msg_template_free(t);
    siyu_err_clear(&e);
    json_decref(v);
    return out;
}

/* A task as the API shows it. A campaign's task renders the campaign's script with the
 * member's values when read. */
static json_t *task_row_json(dom *d, store_stmt *s)
{
    json_t *o = json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)store_col_int(s, 0), "kind",
                          store_col_text(s, 5), "state", store_col_text(s, 9), "created_at",
                          dom_time(store_col_int(s, 10)));
    json_object_set_new(o, "member_id", dom_nullable_int(s, 2));
    json_object_set_new(o, "guide_id", dom_nullable_int(s, 1));
    json_object_set_new(o, "journey_id", dom_nullable_int(s, 3));
    json_object_set_new(o, "campaign_id", dom_nullable_int(s, 12));
    json_object_set_new(o, "group_id", dom_nullable_int(s, 21)); /* a group SOP's post */
    json_object_set_new(o, "campaign", dom_nullable_text(s, 20));
    json_object_set_new(o, "store_id", dom_nullable_int(s, 13));
    json_object_set_new(o, "round", dom_nullable_text(s, 16));
    json_object_set_new(o, "channel", dom_nullable_text(s, 7));
    json_object_set_new(o, "due_at",
                        store_col_null(s, 8) ? json_null() : dom_time(store_col_int(s, 8)));
    bool done = strcmp(store_col_text(s, 9), "done") == 0;
    json_object_set_new(o, "done_at",
                        store_col_null(s, 11) ? json_null() : dom_time(store_col_int(s, 11)));
    json_object_set_new(o, "completed_at",
                        done && !store_col_null(s, 11) ? dom_time(store_col_int(s, 11))
                                                       : json_null());
    json_object_set_new(
        o, "on_time",
        !done ? json_null()
              : json_boolean(store_col_null(s, 8) || store_col_int(s, 11) <= store_col_int(s, 8)));
    json_object_set_new(o, "outcome", dom_nullable_text(s, 14));
    json_object_set_new(o, "note", dom_nullable_text(s, 15));
    json_object_set_new(o, "reminded_at",
                        store_col_null(s, 17) ? json_null() : dom_time(store_col_int(s, 17)));
    json_object_set_new(o, "content_ids",
                        store_col_null(s, 19) ? json_array()
                                              : json_loads(store_col_text(s, 19), 0, NULL));
    /* the campaign's script, kept to render below once s is reset */
    if (store_col_null(s, 6) && !store_col_null(s, 18))
        json_object_set_new(o, "script_template", json_string(store_col_text(s, 18)));
    else
        json_object_set_new(o, "script", dom_nullable_text(s, 6));
    (void)d;
    return o;
}

/* Renders a campaign task's script (after its statement was reset: rendering reads). */
static void task_render(dom *d, json_t *o)
{
    json_t *tpl = json_object_get(o, "script_template");
    if (!tpl) return;
    int64_t member = json_integer_value(json_object_get(o, "member_id"));
    int64_t guide = json_integer_value(json_object_get(o, "guide_id"));
    char *text = tasks_script_render(d, json_string_value(tpl), member, guide);
    json_object_set_new(o, "script", text ? json_string(text) : json_null());
    free(text);
    json_object_del(o, "script_template");
}

int tasks_get(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_TASK_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "task %lld not found", (long long)id);
    }
    *out = task_row_json(d, s);
    store_reset(s);
    task_render(d, *out);
    return 200;
}

int tasks_list(dom *d, int64_t guide_id, const char *state, int64_t cursor, int limit, json_t **out,
               siyu_err *e)
{
    /* a guide sees their own tasks, whatever they ask for */
    if (d->who.role == ROLE_GUIDE) guide_id = d->who.staff_id;
    json_t *items = json_array();
    int64_t last = 0;
    /* a store manager sees their store's guides' tasks */
    bool mgr = d->who.role == ROLE_STORE_MANAGER;
    store_stmt *s = store_q(d->conn, mgr ? Q_TASK_LIST_STORE : Q_TASK_LIST);
    if (mgr) store_bind_int(s, 5, d->who.store_id);
    if (guide_id) store_bind_int(s, 1, guide_id);
    store_bind_text(s, 2, state);
    store_bind_int(s, 3, cursor);
    store_bind_int(s, 4, limit);
    while (store_step(s) == STORE_ROW) {
        last = store_col_int(s, 0);
        json_array_append_new(items, task_row_json(d, s));
    }
    store_reset(s);
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o) task_render(d, o);
    *out = dom_list(items, limit, last);
    return 200;
}

int tasks_act(dom *d, int64_t id, const char *action, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const keys[] = {"outcome", "note", NULL};
    static const char *const outcomes[] = {"done", "sent", "unreachable", "refused", NULL};
    int outcome_ix = -1;
    const char *note = NULL;
    if (body && (jx_only(body, keys, NULL, e) ||
                 jx_enum(body, "outcome", false, outcomes, &outcome_ix, e) < 0 ||
                 jx_str(body, "note", false, &note, e) < 0))
        return -1;
    if (note && strlen(note) > 2000)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "note", "note: at most 2000 bytes");
    store_stmt *s = store_q(d->conn, Q_TASK_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "task %lld not found", (long long)id);
    }
    int64_t guide = store_col_null(s, 1) ? 0 : store_col_int(s, 1);
    int64_t run = store_col_null(s, 4) ? 0 : store_col_int(s, 4);
    int64_t member = store_col_null(s, 2) ? 0 : store_col_int(s, 2);
    char kind[24], state[16];
    snprintf(kind, sizeof kind, "%s", store_col_text(s, 5));
    snprintf(state, sizeof state, "%s", store_col_text(s, 9));
    store_reset(s);
    if (d->who.role == ROLE_GUIDE && guide != d->who.staff_id)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, "id", "task %lld is another guide's",
                            (long long)id);
    if (strcmp(state, "open") != 0)
        return siyu_err_set(e, SIYU_CONFLICT, "state", "state: the task is %s already", state);
    bool wecom = strcmp(kind, "wecom_send") == 0 || strcmp(kind, "mass_message") == 0;
    const char *to;
    if (strcmp(action, "done") == 0 || strcmp(action, "confirm") == 0)
        to = "done";
    else if (strcmp(action, "skip") == 0)
        to = "skipped";
    else
        return siyu_err_set(e, SIYU_NOT_FOUND, "action", "action: one of done, confirm, skip");
    if (strcmp(to, "done") != 0 && outcome_ix >= 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "outcome",
                            "outcome: only for done or confirm");
    /* a wecom send confirmed is sent unless the guide says otherwise */
    const char *outcome = outcome_ix >= 0                           ? outcomes[outcome_ix]
                          : strcmp(to, "done") != 0                 ? NULL
                          : wecom || strcmp(action, "confirm") == 0 ? "sent"
                                                                    : "done";
    bool delivered = outcome && (strcmp(outcome, "sent") == 0 || strcmp(outcome, "done") == 0);
    if (wecom && member && delivered) {
        /* the consent rule holds until the guide sends: one withdrawn (or never given)
         * since the task was made refuses the confirmation; the guide skips the task */
        int wecom_ix = 0;
        while (dom_consent_channels[wecom_ix] && strcmp(dom_consent_channels[wecom_ix], "wecom"))
            wecom_ix++;
        if (!(dom_consent_marketing(d, member) & (1u << wecom_ix)))
            return siyu_err_set(e, SIYU_CONFLICT, "consent",
                                "consent: the member has no marketing consent for wecom; skip "
                                "the task");
    }
    s = store_q(d->conn, Q_TASK_SET_STATE);
    store_bind_text(s, 1, to);
    store_bind_int(s, 2, d->now);
    store_bind_int(s, 3, id);
    if (store_exec(s, e)) return -1;
    if (outcome || note) {
        s = store_q(d->conn, Q_TASK_OUTCOME);
        store_bind_text(s, 1, outcome);
        store_bind_text(s, 2, note);
        store_bind_int(s, 3, id);
        if (store_exec(s, e)) return -1;
    }
    if (wecom && run) {
        /* the guide sent it (confirm) or will not (skip): the run moves now — on to the
         * next step, or back to its send step to try the next channel */
        store_stmt *r = store_q(d->conn, Q_RUN_GET);
        store_bind_int(r, 1, run);
        if (store_step(r) == STORE_ROW && strcmp(store_col_text(r, 3), "active") == 0) {
            char step[J_ID_LEN];
            snprintf(step, sizeof step, "%s", store_col_text(r, 4));
            int64_t ix = store_col_int(r, 5), tries = store_col_int(r, 12);
            store_reset(r);
            bool confirmed = strcmp(to, "done") == 0 && delivered;
            r = store_q(d->conn, Q_RUN_UPDATE);
            store_bind_text(r, 1, step);
            store_bind_int(r, 2, ix);
            store_bind_int(r, 3, d->now);
            if (confirmed) store_bind_text(r, 4, "@confirmed");
            store_bind_int(r, 6, confirmed ? tries : tries + 1);
            store_bind_int(r, 7, run);
            if (store_exec(r, e)) return -1;
        } else {
            store_reset(r);
        }
        /* the message the task held: sent by the guide, or not sent */
        store_stmt *m = store_q(d->conn, Q_MESSAGE_GUIDE_DONE);
        store_bind_text(m, 1, strcmp(to, "done") == 0 && delivered ? "sent" : "skipped");
        store_bind_int(m, 2, d->now);
        store_bind_int(m, 3, run);
        if (store_exec(m, e)) return -1;
    }
    return tasks_get(d, id, out, e);
}

/* ---------------- consent ----------------
 * The one consent model lives in the domain (domain/consent.c); this is its API and the
 * journeys' reading of it. */

static int pick(json_t *body, const char *field, const char *const *names, const char *what,
                bool required, const char **out, siyu_err *e)
{
    const char *v = NULL;
    if (jx_str(body, field, required, &v, e) < 0) return -1;
    *out = NULL;
    if (!v) return 0;
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], v) == 0) {
            *out = names[i];
            return 0;
        }
    return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: one of %s", field, what);
}

int consents_get(dom *d, int64_t member_id, json_t **out, siyu_err *e)
{
    if (members_get(d, member_id, NULL, e) < 0) return -1;
    *out = json_pack("{s:I, s:o, s:o}", "member_id", (json_int_t)member_id, "consents",
                     dom_consents_json(d, member_id), "history",
                     dom_consent_history_json(d, member_id));
    return 200;
}

int consents_put(dom *d, int64_t member_id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const new_keys[] = {"purpose",      "channel", "granted", "source",
                                           "text_version", "at",      NULL};
    static const char *const old_keys[] = {"channel", "opted_out", NULL};
    static const char *const old_channels[] = {"sms",     "wechat_template", "wecom",
                                               "webhook", "public_account",  NULL};
    const char *purpose = "marketing", *channel = NULL, *source = NULL, *text_version = NULL;
    bool granted;
    int64_t at = d->now;
    if (json_object_get(body, "opted_out") && !json_object_get(body, "granted")) {
        /* the first body shape: {channel, opted_out} — a marketing consent */
        bool opted_out;
        if (jx_only(body, old_keys, NULL, e) ||
            pick(body, "channel", old_channels,
                 "sms, wechat_template, wecom, public_account, webhook", true, &channel, e) ||
            jx_bool(body, "opted_out", true, &opted_out, e) < 0)
            return -1;
        granted = !opted_out;
    } else {
        if (jx_only(body, new_keys, NULL, e) ||
            pick(body, "purpose", dom_consent_purposes, "marketing, profiling", true, &purpose,
                 e) ||
            pick(body, "channel", dom_consent_channels,
                 "sms, wechat_template, wecom, public_account", true, &channel, e) ||
            jx_bool(body, "granted", true, &granted, e) < 0 ||
            pick(body, "source", dom_consent_sources, "till, miniprogram, guide, import, event",
                 false, &source, e) ||
            jx_str(body, "text_version", false, &text_version, e) < 0 ||
            jx_time(body, "at", false, &at, e) < 0)
            return -1;
        if (text_version && (!*text_version || strlen(text_version) > 64))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "text_version",
                                "text_version: 1 to 64 bytes");
        if (at > d->now + 300)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "at", "at: is in the future");
    }
    if (members_get(d, member_id, NULL, e) < 0) return -1;
    member_id = members_live_id(d, member_id, "id", e);
    if (member_id < 0) return -1;
    if (dom_consent_put(d, member_id, purpose, channel, granted, source, text_version, at, e))
        return -1;
    return consents_get(d, member_id, out, e);
}

void j_member_consent(dom *d, int64_t member, uint32_t *reachable, uint32_t *opted_out)
{
    /* reachable: the channels the member's connections allow after consent (webhook
     * always); opted_out: the message channels with a withdrawn marketing consent */
    *reachable = MSG_CH_BIT(MSG_CH_WEBHOOK);
    *opted_out = 0;
    store_stmt *s = store_q(d->conn, Q_REACH_LIST);
    store_bind_int(s, 1, member);
    while (store_step(s) == STORE_ROW) {
        if (!store_col_int(s, 1)) continue;
        const char *rc = store_col_text(s, 0);
        for (int ch = 0; ch < MSG_CHANNEL_COUNT; ch++) {
            const char *need = j_reach_channel(msg_channel_name((msg_channel)ch));
            if (need && strcmp(need, rc) == 0) *reachable |= MSG_CH_BIT(ch);
        }
    }
    store_reset(s);
    s = store_q(d->conn, Q_CONSENT_LIST);
    store_bind_int(s, 1, member);
    while (store_step(s) == STORE_ROW) {
        if (strcmp(store_col_text(s, 0), "marketing") != 0 || store_col_int(s, 2)) continue;
        const char *name = store_col_text(s, 1);
        int ch = msg_channel_from_name(name, strlen(name));
        if (ch >= 0) *opted_out |= MSG_CH_BIT(ch);
    }
    store_reset(s);
    /* the one rule: no granted marketing consent for a channel, no message on it — a
     * missing consent is a "no" on every member channel (webhook is an integration,
     * not a message to the member) */
    uint32_t granted = dom_consent_marketing(d, member);
    for (int ch = 0; ch < MSG_CHANNEL_COUNT; ch++) {
        if (ch == MSG_CH_WEBHOOK) continue;
        const char *name = msg_channel_name((msg_channel)ch);
        bool ok = false;
        for (int i = 0; dom_consent_channels[i]; i++)
            if (strcmp(dom_consent_channels[i], name) == 0) ok = granted & (1u << i);
        if (!ok) *reachable &= ~MSG_CH_BIT(ch);
    }
}
