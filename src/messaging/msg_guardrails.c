/* msg_guardrails.c — the send decision and the holdout (rules in msg_guardrails.h). */
#include "messaging/msg_guardrails.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"

msg_guard_settings msg_guard_settings_default(void)
{
    msg_guard_settings s;
    memset(&s, 0, sizeof s);
    s.budget_max = MSG_GUARD_DEFAULT_BUDGET_MAX;
    s.budget_window_s = MSG_GUARD_DEFAULT_BUDGET_WINDOW_S;
    for (int i = 0; i < MSG_CHANNEL_COUNT; i++)
        s.month_cap[i] = MSG_CAP_NONE;
    s.month_cap[MSG_CH_WECOM] = MSG_CAP_DAYS_IN_MONTH;
    s.quiet_start_s = MSG_GUARD_DEFAULT_QUIET_START_S;
    s.quiet_end_s = MSG_GUARD_DEFAULT_QUIET_END_S;
    s.stale_after_s = MSG_GUARD_DEFAULT_STALE_AFTER_S;
    s.tz_offset_s = MSG_GUARD_DEFAULT_TZ_OFFSET_S;
    for (int i = 0; i < 3; i++)
        s.freq_cap[i] = MSG_CAP_NONE;
    return s;
}

const char *msg_verdict_name(msg_verdict v)
{
    static const char *const n[] = {"send_now", "defer", "skip"};
    return (unsigned)v < 3 ? n[v] : "?";
}

const char *msg_reason_name(msg_reason r)
{
    static const char *const n[] = {"none",   "opted_out",    "no_consent",  "stale",
                                    "budget", "platform_cap", "quiet_hours", "frequency_cap"};
    return (unsigned)r < sizeof n / sizeof n[0] ? n[r] : "?";
}

/* ---------------------------------------------------------------- local calendar */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* The local day number of t and the seconds since that local midnight. */
static int64_t local_day(int32_t tz, int64_t t, int64_t *sod)
{
    int64_t local = t + tz;
    int64_t day = floor_div(local, 86400);
    if (sod) *sod = local - day * 86400;
    return day;
}

/* [start, end) of the local calendar month holding t, and its length in days. */
static void local_month(int32_t tz, int64_t t, int64_t *start, int64_t *end, int *days)
{
    int y, m, d;
    date_civil((int32_t)local_day(tz, t, NULL), &y, &m, &d);
    int32_t first = date_from_civil(y, m, 1);
    int32_t next = m == 12 ? date_from_civil(y + 1, 1, 1) : date_from_civil(y, m + 1, 1);
    *start = (int64_t)first * 86400 - tz;
    *end = (int64_t)next * 86400 - tz;
    *days = (int)(next - first);
}

/* ---------------------------------------------------------------- the rules */

bool msg_quiet_at(const msg_guard_settings *s, int32_t tz, int64_t t)
{
    int64_t sod;
    local_day(tz, t, &sod);
    if (s->quiet_start_s == s->quiet_end_s) return false;
    if (s->quiet_start_s > s->quiet_end_s) /* spans midnight */
        return sod >= s->quiet_start_s || sod < s->quiet_end_s;
    return sod >= s->quiet_start_s && sod < s->quiet_end_s;
}

int64_t msg_quiet_free_at(const msg_guard_settings *s, int32_t tz, int64_t t)
{
    if (!msg_quiet_at(s, tz, t)) return t;
    int64_t sod;
    local_day(tz, t, &sod);
    int64_t midnight = t - sod;
    /* quiet and before the end today (the morning part, or a same-day window) */
    if (sod < s->quiet_end_s) return midnight + s->quiet_end_s;
    return midnight + 86400 + s->quiet_end_s; /* the evening part: tomorrow morning */
}

int msg_budget_used(const msg_guard_settings *s, const msg_send *h, size_t n, int64_t t)
{
    int used = 0;
    for (size_t i = 0; i < n; i++)
        used += h[i].at > t - s->budget_window_s;
    return used;
}

static int cmp_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

int64_t msg_budget_free_at(const msg_guard_settings *s, const msg_send *h, size_t n, int64_t t)
{
    if (s->budget_max < 0) return t;
    if (s->budget_max == 0) return INT64_MAX;
    if (msg_budget_used(s, h, n, t) < s->budget_max) return t;
    /* fewer than max in the window once the max-th most recent send has left it: at
     * that send + window (every later send is more recent, every earlier one gone) */
    int64_t *at = malloc(n * sizeof *at);
    if (!at) return INT64_MAX; /* cannot tell: hold the message rather than overspend */
    for (size_t i = 0; i < n; i++)
        at[i] = h[i].at;
    qsort(at, n, sizeof *at, cmp_desc);
    int64_t free_at = at[s->budget_max - 1] + s->budget_window_s;
    free(at);
    return free_at > t ? free_at : t;
}

int msg_month_cap(const msg_guard_settings *s, msg_channel ch, int32_t tz, int64_t t)
{
    if ((unsigned)ch >= MSG_CHANNEL_COUNT) return MSG_CAP_NONE;
    int cap = s->month_cap[ch];
    if (cap == MSG_CAP_DAYS_IN_MONTH) {
        int64_t start, end;
        int days;
        local_month(tz, t, &start, &end, &days);
        return days;
    }
    return cap < 0 ? MSG_CAP_NONE : cap;
}

int msg_month_used(const msg_send *h, size_t n, msg_channel ch, int32_t tz, int64_t t)
{
    int64_t start, end;
    int days, used = 0;
    local_month(tz, t, &start, &end, &days);
    for (size_t i = 0; i < n; i++)
        used += h[i].channel == ch && h[i].at >= start && h[i].at < end;
    return used;
}

int64_t msg_cap_free_at(const msg_guard_settings *s, const msg_send *h, size_t n, msg_channel ch,
                        int32_t tz, int64_t t)
{
    /* a month whose cap is used up moves T to the next month's first second; history
     * holds only past sends, so the next month is nearly always free — the bound only
     * guards against a history full of future dates */
    for (int months = 0; months < 24; months++) {
        int cap = msg_month_cap(s, ch, tz, t);
        if (cap == MSG_CAP_NONE || msg_month_used(h, n, ch, tz, t) < cap) return t;
        int64_t start, end;
        int days;
        local_month(tz, t, &start, &end, &days);
        t = end;
    }
    return INT64_MAX;
}

const int64_t msg_freq_window_s[3] = {86400, 7 * 86400, 30 * 86400};

/* The k-th latest (0-based) WeCom send at or before t, or INT64_MIN when fewer. */
static int64_t wecom_kth_latest(const msg_send *h, size_t n, int64_t t, int k)
{
    /* k is small (a cap); keep the k+1 latest in a sorted window */
    int64_t best[1001];
    int have = 0;
    if (k > 1000) return INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        if (h[i].channel != MSG_CH_WECOM || h[i].at > t) continue;
        int64_t v = h[i].at;
        if (have == k + 1 && v <= best[k]) continue;
        int j = have < k + 1 ? have++ : k;
        while (j > 0 && best[j - 1] < v) {
            best[j] = best[j - 1];
            j--;
        }
        best[j] = v;
    }
    return have == k + 1 ? best[k] : INT64_MIN;
}

int64_t msg_freq_free_at(const msg_guard_settings *s, const msg_send *h, size_t n, int64_t t)
{
    /* each window only moves t forward; repeat until none objects */
    for (int round = 0; round < 16; round++) {
        int64_t t0 = t;
        for (int i = 0; i < 3; i++) {
            int cap = s->freq_cap[i];
            if (cap < 0) continue;
            if (cap == 0) return INT64_MAX;
            /* the window (t - w, t] holds >= cap sends iff the cap-th latest is inside */
            int64_t kth = wecom_kth_latest(h, n, t, cap - 1);
            if (kth != INT64_MIN && kth > t - msg_freq_window_s[i]) t = kth + msg_freq_window_s[i];
        }
        if (t == t0) return t;
    }
    return t;
}

/* ---------------------------------------------------------------- the decision */

msg_decision msg_guard_decide(const msg_guard_settings *s, const msg_member_state *m,
                              msg_channel ch, int64_t due_at, int64_t now)
{
    msg_decision d = {MSG_SKIP, MSG_REASON_NONE, 0};
    if ((unsigned)ch >= MSG_CHANNEL_COUNT || (m->opted_out & MSG_CH_BIT(ch))) {
        d.reason = MSG_REASON_OPTED_OUT;
        return d;
    }
    if (!(m->consent & MSG_CH_BIT(ch))) {
        d.reason = MSG_REASON_NO_CONSENT;
        return d;
    }
    if (s->stale_after_s > 0 && now - due_at > s->stale_after_s) {
        d.reason = MSG_REASON_STALE;
        return d;
    }
    int32_t tz = m->tz_offset_s == MSG_TZ_DEFAULT ? s->tz_offset_s : m->tz_offset_s;
    int64_t t = now;
    msg_reason first = MSG_REASON_NONE;
    /* each rule only moves T forward, so this settles within a few rounds; the bound
     * is for safety only */
    for (int round = 0; round < 64 && t != INT64_MAX; round++) {
        int64_t t0 = t;
        t = msg_budget_free_at(s, m->history, m->n_history, t);
        if (t != t0 && first == MSG_REASON_NONE) first = MSG_REASON_BUDGET;
        if (t == INT64_MAX) break;
        int64_t t1 = t;
        t = msg_cap_free_at(s, m->history, m->n_history, ch, tz, t);
        if (t != t1 && first == MSG_REASON_NONE) first = MSG_REASON_PLATFORM_CAP;
        if (t == INT64_MAX) break;
        if (ch == MSG_CH_WECOM) {
            int64_t t3 = t;
            t = msg_freq_free_at(s, m->history, m->n_history, t);
            if (t != t3 && first == MSG_REASON_NONE) first = MSG_REASON_FREQUENCY_CAP;
            if (t == INT64_MAX) break;
        }
        int64_t t2 = t;
        t = msg_quiet_free_at(s, tz, t);
        if (t != t2 && first == MSG_REASON_NONE) first = MSG_REASON_QUIET_HOURS;
        if (t == t0) break;
    }
    if (t == now) {
        d.verdict = MSG_SEND_NOW;
        return d;
    }
    d.reason = first;
    if (t == INT64_MAX || (s->stale_after_s > 0 && t - due_at > s->stale_after_s))
        return d; /* it could only go once stale: skip now rather than later */
    d.verdict = MSG_DEFER;
    d.until = t;
    return d;
}

/* ---------------------------------------------------------------- settings from JSON */

static int parse_hhmm(const char *s, int32_t *out)
{
    if (strlen(s) != 5 || s[2] != ':') return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9')) return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), mi = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || mi > 59) return -1;
    *out = h * 3600 + mi * 60;
    return 0;
}

static int parse_offset(const char *s, int32_t *out)
{
    if (strcmp(s, "Z") == 0 || strcmp(s, "UTC") == 0) {
        *out = 0;
        return 0;
    }
    int32_t hm;
    if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-') || parse_hhmm(s + 1, &hm) || hm > 14 * 3600)
        return -1;
    *out = s[0] == '-' ? -hm : hm;
    return 0;
}

int msg_guard_settings_from_json(json_t *obj, msg_guard_settings *out, siyu_err *e)
{
    static const char *const keys[] = {
        "budget_max", "budget_window_days", "quiet_hours", "stale_after_hours",
        "time_zone",  "monthly_caps",       NULL};
    msg_guard_settings s = msg_guard_settings_default();
    if (!json_is_object(obj))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "guardrails",
                            "guardrails: expected an object");
    if (jx_only(obj, keys, NULL, e)) return -1;
    int64_t v;
    int rc;
    if ((rc = jx_int(obj, "budget_max", false, &v, e)) < 0) return -1;
    if (rc == 1) {
        if (v < -1 || v > 1000)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "budget_max",
                                "budget_max: expected -1 (no budget) to 1000");
        s.budget_max = (int)v;
    }
    if ((rc = jx_int(obj, "budget_window_days", false, &v, e)) < 0) return -1;
    if (rc == 1) {
        if (v < 1 || v > 366)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "budget_window_days",
                                "budget_window_days: expected 1 to 366");
        s.budget_window_s = v * 86400;
    }
    json_t *q = json_object_get(obj, "quiet_hours");
    if (q && json_is_null(q)) {
        s.quiet_start_s = s.quiet_end_s = 0;
    } else if (q) {
        const char *qs = json_is_string(q) ? json_string_value(q) : "";
        int bad = strlen(qs) != 11 || qs[5] != '-';
        if (!bad) {
            char a[6], b[6];
            memcpy(a, qs, 5);
            memcpy(b, qs + 6, 5);
            a[5] = b[5] = 0;
            bad = parse_hhmm(a, &s.quiet_start_s) || parse_hhmm(b, &s.quiet_end_s);
        }
        if (bad)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "quiet_hours",
                                "quiet_hours: expected \"HH:MM-HH:MM\" (local time) or null");
    }
    if ((rc = jx_int(obj, "stale_after_hours", false, &v, e)) < 0) return -1;
    if (rc == 1) {
        if (v < 0 || v > 24 * 366)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "stale_after_hours",
                                "stale_after_hours: expected 0 (never stale) to 8784");
        s.stale_after_s = v * 3600;
    }
    const char *tz = NULL;
    if (jx_str(obj, "time_zone", false, &tz, e) < 0) return -1;
    if (tz && parse_offset(tz, &s.tz_offset_s))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "time_zone",
                            "time_zone: expected a UTC offset like +08:00");
    json_t *caps = json_object_get(obj, "monthly_caps");
    if (caps && !json_is_null(caps)) {
        if (!json_is_object(caps))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "monthly_caps",
                                "monthly_caps: expected an object of channel: cap");
        const char *k;
        json_t *c;
        json_object_foreach(caps, k, c)
        {
            char f[80];
            snprintf(f, sizeof f, "monthly_caps.%s", k);
            int ch = msg_channel_from_name(k, strlen(k));
            if (ch < 0) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: unknown channel", f);
            if (json_is_null(c))
                s.month_cap[ch] = MSG_CAP_NONE;
            else if (json_is_string(c) && strcmp(json_string_value(c), "days_in_month") == 0)
                s.month_cap[ch] = MSG_CAP_DAYS_IN_MONTH;
            else if (json_is_integer(c) && json_integer_value(c) >= 0 &&
                     json_integer_value(c) <= 100000)
                s.month_cap[ch] = (int)json_integer_value(c);
            else
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                                    "%s: expected a count, \"days_in_month\" or null", f);
        }
    }
    *out = s;
    return 0;
}

/* ---------------------------------------------------------------- holdout */

static void le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

uint32_t msg_holdout_bucket(int64_t member_id, int64_t journey_id)
{
    static const char tag[] = "siyu.holdout.v1";
    unsigned char in[sizeof tag - 1 + 16], out[16];
    memcpy(in, tag, sizeof tag - 1);
    le64(in + sizeof tag - 1, (uint64_t)member_id);
    le64(in + sizeof tag - 1 + 8, (uint64_t)journey_id);
    crypto_generichash(out, sizeof out, in, sizeof in, NULL, 0);
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--)
        h = (h << 8) | out[i];
    return (uint32_t)(h % 10000);
}

bool msg_in_holdout(int64_t member_id, int64_t journey_id, int pct)
{
    if (pct <= 0) return false;
    if (pct >= 100) return true;
    return msg_holdout_bucket(member_id, journey_id) < (uint32_t)pct * 100;
}
