/* msg_guardrails.h — may this marketing message go to this member now?
 *
 * Pure decisions over a member's recent marketing sends and the journey's settings; no
 * clock, no store: the caller passes `now` and the history it keeps. In order:
 *   1. consent: the member opted out of the channel, or never consented → skip;
 *   2. staleness: due more than stale_after_s before now → skip (a paused journey
 *      resumed later never releases a burst of overdue messages);
 *   3. the earliest instant T >= now at which all of these hold, found by moving T
 *      forward until none objects:
 *        - one frequency budget across all channels: fewer than budget_max sends in the
 *          rolling budget_window_s before T (a send at s counts while T - window < s);
 *        - the channel's platform cap per calendar month in the member's time zone
 *          (wecom by default: as many as the month has days — 28 to 31);
 *        - quiet hours in the member's time zone (default 21:00–09:00), which defer to
 *          their end;
 *        - on wecom only, the per-member frequency caps shared with mass messages and
 *          task campaigns' WeCom messages (docs/tasks.md): fewer than freq_cap[i] WeCom
 *          sends in the rolling window msg_freq_window_s[i] before T (a day, 7 days, 30
 *          days); the history passed in holds those sends too;
 *      T = now → send now; otherwise defer until T, unless T is past the staleness
 *      window too (the message would be stale when it could go) → skip.
 * Time zones are fixed UTC offsets (China keeps no daylight saving time).
 *
 * And the holdout: a stable hash of (member, journey) puts a fixed share of members in a
 * journey's control group, which never changes as long as the ids do not. */
#ifndef SIYU_MESSAGING_MSG_GUARDRAILS_H
#define SIYU_MESSAGING_MSG_GUARDRAILS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "messaging/msg_channel.h"

/* One marketing message already sent to the member. */
typedef struct msg_send {
    int64_t at; /* unix seconds */
    msg_channel channel;
} msg_send;

#define MSG_CAP_NONE (-1)          /* no platform cap on the channel */
#define MSG_CAP_DAYS_IN_MONTH (-2) /* as many per month as the month has days */

#define MSG_GUARD_DEFAULT_BUDGET_MAX 2
#define MSG_GUARD_DEFAULT_BUDGET_WINDOW_S (7 * 86400)
#define MSG_GUARD_DEFAULT_QUIET_START_S (21 * 3600)
#define MSG_GUARD_DEFAULT_QUIET_END_S (9 * 3600)
#define MSG_GUARD_DEFAULT_STALE_AFTER_S (24 * 3600)
#define MSG_GUARD_DEFAULT_TZ_OFFSET_S (8 * 3600)

typedef struct msg_guard_settings {
    int budget_max;                   /* sends per window across channels; < 0: no budget */
    int64_t budget_window_s;          /* the rolling window */
    int month_cap[MSG_CHANNEL_COUNT]; /* a count, MSG_CAP_NONE or MSG_CAP_DAYS_IN_MONTH */
    int32_t quiet_start_s; /* local seconds after midnight; start == end: no quiet hours */
    int32_t quiet_end_s;   /* start > end spans midnight (21:00–09:00) */
    int64_t stale_after_s; /* 0: never stale */
    int32_t tz_offset_s;   /* members without their own zone */
    int freq_cap[3];       /* WeCom sends per rolling day, week, 30 days; MSG_CAP_NONE: none */
} msg_guard_settings;

/* The rolling windows of freq_cap: a day, 7 days, 30 days. */
extern const int64_t msg_freq_window_s[3];
/* The shared caps' defaults when the chain never set them: 1 a day, 7 a week, 4 in 30
 * days (PUT /mass-messages/settings changes them for everyone). */
#define MSG_FREQ_DEFAULT_DAY 1
#define MSG_FREQ_DEFAULT_WEEK 7
#define MSG_FREQ_DEFAULT_MONTH 4

/* The defaults: 2 per 7 days, wecom capped at the month's days, quiet 21:00–09:00,
 * stale after 24 hours, +08:00. */
msg_guard_settings msg_guard_settings_default(void);

/* Reads a journey's guardrail settings over the defaults (every key optional):
 *   {"budget_max": 2, "budget_window_days": 7, "quiet_hours": "21:00-09:00" (or null: none),
 *    "stale_after_hours": 24, "time_zone": "+08:00",
 *    "monthly_caps": {"wecom": "days_in_month", "sms": 10, "wechat_template": null}}
 * Errors name the field (code invalid_argument). */
int msg_guard_settings_from_json(json_t *obj, msg_guard_settings *out, siyu_err *e);

#define MSG_TZ_DEFAULT INT32_MIN

typedef struct msg_member_state {
    uint32_t consent;        /* channels the member can be reached and marketed on */
    uint32_t opted_out;      /* channels the member opted out of; wins over consent */
    int32_t tz_offset_s;     /* the member's UTC offset, or MSG_TZ_DEFAULT */
    const msg_send *history; /* recent marketing sends, any order (borrowed) */
    size_t n_history;
} msg_member_state;

typedef enum msg_verdict { MSG_SEND_NOW, MSG_DEFER, MSG_SKIP } msg_verdict;

typedef enum msg_reason {
    MSG_REASON_NONE,
    MSG_REASON_OPTED_OUT,
    MSG_REASON_NO_CONSENT,
    MSG_REASON_STALE,
    MSG_REASON_BUDGET,
    MSG_REASON_PLATFORM_CAP,
    MSG_REASON_QUIET_HOURS,
    MSG_REASON_FREQUENCY_CAP
} msg_reason;

typedef struct msg_decision {
    msg_verdict verdict;
    msg_reason reason; /* why deferred or skipped: the first rule that objected at now */
    int64_t until;     /* MSG_DEFER: when to ask again (unix seconds); otherwise 0 */
} msg_decision;

/* "send_now", "defer", "skip"; "opted_out", "no_consent", "stale", "budget",
 * "platform_cap", "quiet_hours", "frequency_cap" ("none" for MSG_REASON_NONE). */
const char *msg_verdict_name(msg_verdict v);
const char *msg_reason_name(msg_reason r);

msg_decision msg_guard_decide(const msg_guard_settings *s, const msg_member_state *m,
                              msg_channel ch, int64_t due_at, int64_t now);

/* The rules one by one (pure; tz is a UTC offset in seconds). Each *_free_at answers
 * the earliest instant >= t at which its rule allows a send, INT64_MAX for never. */
bool msg_quiet_at(const msg_guard_settings *s, int32_t tz, int64_t t);
int64_t msg_quiet_free_at(const msg_guard_settings *s, int32_t tz, int64_t t);
int msg_budget_used(const msg_guard_settings *s, const msg_send *h, size_t n, int64_t t);
int64_t msg_budget_free_at(const msg_guard_settings *s, const msg_send *h, size_t n, int64_t t);
/* The channel's cap in the local month holding t: a count, or MSG_CAP_NONE. */
int msg_month_cap(const msg_guard_settings *s, msg_channel ch, int32_t tz, int64_t t);
/* Sends on ch in the local calendar month holding t. */
int msg_month_used(const msg_send *h, size_t n, msg_channel ch, int32_t tz, int64_t t);
int64_t msg_cap_free_at(const msg_guard_settings *s, const msg_send *h, size_t n, msg_channel ch,
                        int32_t tz, int64_t t);
/* The shared WeCom frequency caps: the earliest instant >= t with room in every window. */
int64_t msg_freq_free_at(const msg_guard_settings *s, const msg_send *h, size_t n, int64_t t);

/* ---------------------------------------------------------------- holdout */

#define MSG_HOLDOUT_DEFAULT_PCT 10

/* The member's bucket in the journey, 0..9999: the first 8 bytes, read as a little-endian
 * integer, of the 16-byte unkeyed BLAKE2b hash (libsodium crypto_generichash) of
 * "siyu.holdout.v1" || le64(member_id) || le64(journey_id), modulo 10000. It depends on
 * nothing else, so it never changes. */
uint32_t msg_holdout_bucket(int64_t member_id, int64_t journey_id);
/* In the holdout at pct percent (0..100): bucket < pct * 100. Raising pct only adds
 * members to the holdout; nobody leaves it. */
bool msg_in_holdout(int64_t member_id, int64_t journey_id, int pct);

#endif
