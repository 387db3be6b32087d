/* consent.c — the one consent model: per member, purpose and channel.
 *
 * Every reader goes through it: the journey guardrails (journey/tasks.c
 * j_member_consent), and reachability — the segment index's reach.* flags, the
 * reports' online rate and the member 360 read Q_REACH_LIST / Q_SCAN_REACH, which
 * read the view member_reach_now (sqlite_schema.c, migration 8): sms reachability is
 * the marketing consent for sms, and a withdrawn marketing consent for wecom or
 * public_account hides that connection. Writers: POST /members/{id}/consents
 * (journey/tasks.c consents_put) and the sms_opt_in / sms_opt_out events
 * (events.c, source "event") and imported member records (source "import").
 *
 * History: every change is appended to consent_history; member_consents is the state
 * derived from it (the latest change by `at` per purpose and channel), kept in the same
 * write. The rule every sender obeys: a member without a granted marketing consent for
 * a channel is never messaged on it — a missing consent is a "no" on every channel
 * (dom_consent_marketing; the journey guardrails read it through j_member_consent). */
#include <string.h>

#include "domain/domain.h"

const char *const dom_consent_purposes[] = {"marketing", "profiling", NULL};
const char *const dom_consent_channels[] = {"sms", "wechat_template", "wecom", "public_account",
                                            NULL};
const char *const dom_consent_sources[] = {"till", "miniprogram", "guide", "import", "event", NULL};

int dom_consent_put(dom *d, int64_t member_id, const char *purpose, const char *channel,
                    bool granted, const char *source, const char *text_version, int64_t at,
                    siyu_err *e)
{
    /* the latest by `at` wins, so an instant ahead of the clock (allowed to callers
     * whose clocks run a little fast) is recorded as now: it must not outlive a
     * withdrawal made a minute later */
    if (at > d->now) at = d->now;
    store_stmt *s = store_q(d->conn, Q_CONSENT_PUT);
    store_bind_int(s, 1, member_id);
    store_bind_text(s, 2, purpose);
    store_bind_text(s, 3, channel);
    store_bind_int(s, 4, granted);
    store_bind_text(s, 5, source);
    store_bind_text(s, 6, text_version);
    store_bind_int(s, 7, at);
    if (store_exec(s, e)) return -1;
    if (store_changes(d->conn)) dom_note(d, DOM_CHANGE_REACH, member_id, 0);
    /* every change is kept, even one older than the current state */
    s = store_q(d->conn, Q_CONSENT_HISTORY_INSERT);
    store_bind_int(s, 1, member_id);
    store_bind_text(s, 2, purpose);
    store_bind_text(s, 3, channel);
    store_bind_int(s, 4, granted);
    store_bind_text(s, 5, source);
    store_bind_text(s, 6, text_version);
    store_bind_int(s, 7, at);
    return store_exec(s, e);
}

static int consent_name(json_t *o, const char *key, const char *const *names, const char *what,
                        const char *field, const char **out, siyu_err *e)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        for (int i = 0; names[i]; i++)
            if (strcmp(names[i], json_string_value(v)) == 0) {
                *out = names[i];
                return 0;
            }
    return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: one of %s", field, what);
}

int dom_consents_check(json_t *list, siyu_err *e)
{
    if (!json_is_array(list) || json_array_size(list) > 64)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "consents",
                            "consents: a list of at most 64 {purpose, channel, granted, "
                            "text_version}");
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        const char *p, *ch;
        json_t *g = json_object_get(c, "granted"), *tv = json_object_get(c, "text_version");
        if (!json_is_object(c))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "consents",
                                "consents: each entry is an object");
        const char *k;
        json_t *v;
        json_object_foreach(c, k, v)
        {
            if (strcmp(k, "purpose") && strcmp(k, "channel") && strcmp(k, "granted") &&
                strcmp(k, "text_version"))
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "consents",
                                    "consents: unknown field %s", k);
        }
        if (consent_name(c, "purpose", dom_consent_purposes, "marketing, profiling",
                         "consents.purpose", &p, e) ||
            consent_name(c, "channel", dom_consent_channels,
                         "sms, wechat_template, wecom, public_account", "consents.channel", &ch, e))
            return -1;
        if (!json_is_boolean(g))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "consents.granted",
                                "consents.granted: true or false");
        if (tv && !json_is_null(tv) &&
            (!json_is_string(tv) || !json_string_length(tv) || json_string_length(tv) > 64))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "consents.text_version",
                                "consents.text_version: 1 to 64 bytes");
    }
    return 0;
}

int dom_consents_import(dom *d, int64_t member_id, json_t *list, siyu_err *e)
{
    if (dom_consents_check(list, e)) return -1;
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        const char *p = NULL, *ch = NULL;
        consent_name(c, "purpose", dom_consent_purposes, "", "", &p, e);
        consent_name(c, "channel", dom_consent_channels, "", "", &ch, e);
        json_t *tv = json_object_get(c, "text_version");
        if (dom_consent_put(d, member_id, p, ch, json_is_true(json_object_get(c, "granted")),
                            "import", json_is_string(tv) ? json_string_value(tv) : NULL, d->now, e))
            return -1;
    }
    return 0;
}

uint32_t dom_consent_marketing(dom *d, int64_t member_id)
{
    uint32_t bits = 0;
    store_stmt *s = store_q(d->conn, Q_CONSENT_LIST);
    store_bind_int(s, 1, member_id);
    while (store_step(s) == STORE_ROW) {
        if (strcmp(store_col_text(s, 0), "marketing") != 0 || !store_col_int(s, 2)) continue;
        for (int i = 0; dom_consent_channels[i]; i++)
            if (strcmp(dom_consent_channels[i], store_col_text(s, 1)) == 0) bits |= 1u << i;
    }
    store_reset(s);
    return bits;
}

json_t *dom_consent_history_json(dom *d, int64_t member_id)
{
    json_t *items = json_array();
    store_stmt *s = store_q(d->conn, Q_CONSENT_HISTORY_LIST);
    store_bind_int(s, 1, member_id);
    while (store_step(s) == STORE_ROW) {
        json_t *o = json_pack("{s:s, s:s, s:b}", "purpose", store_col_text(s, 0), "channel",
                              store_col_text(s, 1), "granted", store_col_int(s, 2) != 0);
        json_object_set_new(o, "source", dom_nullable_text(s, 3));
        json_object_set_new(o, "text_version", dom_nullable_text(s, 4));
        json_object_set_new(o, "at", dom_time(store_col_int(s, 5)));
        json_array_append_new(items, o);
    }
    store_reset(s);
    return items;
}

json_t *dom_consents_json(dom *d, int64_t member_id)
{
    json_t *items = json_array();
    store_stmt *s = store_q(d->conn, Q_CONSENT_LIST);
    store_bind_int(s, 1, member_id);
    while (store_step(s) == STORE_ROW) {
        bool granted = store_col_int(s, 2) != 0;
        json_t *o = json_pack("{s:s, s:s, s:b, s:b}", "purpose", store_col_text(s, 0), "channel",
                              store_col_text(s, 1), "granted", granted, "opted_out", !granted);
        json_object_set_new(o, "source", dom_nullable_text(s, 3));
        json_object_set_new(o, "text_version", dom_nullable_text(s, 4));
        json_object_set_new(o, "at", dom_time(store_col_int(s, 5)));
        json_array_append_new(items, o);
    }
    store_reset(s);
    return items;
}
