/* consent.c — the one consent model: per member, purpose and channel.
 *
 * Every reader goes through it: the journey guardrails (journey/tasks.c
 * j_member_consent), and reachability — the segment index's reach.* flags, the
 * reports' online rate and the member 360 read Q_REACH_LIST / Q_SCAN_REACH, which
 * read the view member_reach_now (sqlite_schema.c, migration 8): sms reachability is
 * the marketing consent for sms, and a withdrawn marketing consent for wecom or
 * public_account hides that connection. Writers: POST /members/{id}/consents
 * (journey/tasks.c consents_put) and the sms_opt_in / sms_opt_out events
 * (events.c, source "event"). */
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
    return 0;
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
