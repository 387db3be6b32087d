/* Guardrails and holdout. Every instant below is written in RFC 3339 and every expected
 * answer was worked out by hand on a calendar (quiet hours across midnight, month and
 * year ends; budget windows; 28-, 29-, 30- and 31-day months for the wecom cap). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "check.h"
#include "messaging/msg_guardrails.h"

static int64_t T(const char *s)
{
    int64_t t = 0;
    if (time_parse_rfc3339(s, &t) != 0) {
        fprintf(stderr, "bad time in test: %s\n", s);
        exit(2);
    }
    return t;
}

#define TZ8 (8 * 3600)

static msg_member_state member(const msg_send *h, size_t n)
{
    msg_member_state m = {MSG_CH_ALL, 0, MSG_TZ_DEFAULT, h, n};
    return m;
}

/* Expects a deferral until `until` for `reason`. */
static void expect_defer(msg_decision d, const char *until, msg_reason reason)
{
    CHECK_STR_EQ(msg_verdict_name(d.verdict), "defer");
    CHECK_STR_EQ(msg_reason_name(d.reason), msg_reason_name(reason));
    CHECK_INT_EQ(d.until, T(until));
}

static void expect_now(msg_decision d)
{
    CHECK_STR_EQ(msg_verdict_name(d.verdict), "send_now");
    CHECK_INT_EQ(d.until, 0);
}

static void expect_skip(msg_decision d, msg_reason reason)
{
    CHECK_STR_EQ(msg_verdict_name(d.verdict), "skip");
    CHECK_STR_EQ(msg_reason_name(d.reason), msg_reason_name(reason));
}

static msg_decision decide_at(const msg_guard_settings *s, const msg_member_state *m,
                              msg_channel ch, const char *now)
{
    return msg_guard_decide(s, m, ch, T(now), T(now));
}

static void test_quiet_hours(void)
{
    msg_guard_settings s = msg_guard_settings_default();
    msg_member_state m = member(NULL, 0);
    expect_now(decide_at(&s, &m, MSG_CH_SMS, "2026-03-10T20:59:59+08:00"));
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, "2026-03-10T21:00:00+08:00"),
                 "2026-03-11T09:00:00+08:00", MSG_REASON_QUIET_HOURS);
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, "2026-03-10T23:59:59+08:00"),
                 "2026-03-11T09:00:00+08:00", MSG_REASON_QUIET_HOURS);
    /* after midnight: the same morning */
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, "2026-03-11T00:00:00+08:00"),
                 "2026-03-11T09:00:00+08:00", MSG_REASON_QUIET_HOURS);
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, "2026-03-11T08:59:59+08:00"),
                 "2026-03-11T09:00:00+08:00", MSG_REASON_QUIET_HOURS);
    expect_now(decide_at(&s, &m, MSG_CH_SMS, "2026-03-11T09:00:00+08:00"));
    /* across a month end, a year end, and February's end in a common and a leap year */
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, "2026-01-31T23:30:00+08:00"),
                 "2026-02-01T09:00:00+08:00", MSG_REASON_QUIET_HOURS);
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, "2026-12-31T22:00:00+08:00"),
                 "2027-01-01T09:00:00+08:00", MSG_REASON_QUIET_HOURS);
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, "2026-02-28T21:30:00+08:00"),
                 "2026-03-01T09:00:00+08:00", MSG_REASON_QUIET_HOURS);
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, "2028-02-28T21:30:00+08:00"),
                 "2028-02-29T09:00:00+08:00", MSG_REASON_QUIET_HOURS);
    /* the clock may come in UTC: 13:30Z is 21:30 in Shanghai, 09:00 there is 01:00Z */
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, "2026-03-10T13:30:00Z"), "2026-03-11T01:00:00Z",
                 MSG_REASON_QUIET_HOURS);
    /* UTC 2026-03-10T23:00Z is 07:00 on the 11th in Shanghai: quiet, but the morning part */
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, "2026-03-10T23:00:00Z"), "2026-03-11T01:00:00Z",
                 MSG_REASON_QUIET_HOURS);
    /* a member in New York (-05:00): 22:00 there waits for 09:00 there */
    m.tz_offset_s = -5 * 3600;
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, "2026-03-10T22:00:00-05:00"),
                 "2026-03-11T09:00:00-05:00", MSG_REASON_QUIET_HOURS);
    /* ... while 10:00 in Shanghai (21:00 in New York the day before) is quiet for them */
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, "2026-03-11T10:00:00+08:00"),
                 "2026-03-11T09:00:00-05:00", MSG_REASON_QUIET_HOURS);
    m.tz_offset_s = MSG_TZ_DEFAULT;

    /* a window inside one day, and none at all */
    siyu_err e;
    siyu_err_init(&e);
    json_t *cfg = json_pack("{s:s}", "quiet_hours", "12:00-14:00");
    CHECK_INT_EQ(msg_guard_settings_from_json(cfg, &s, &e), 0);
    json_decref(cfg);
    expect_now(decide_at(&s, &m, MSG_CH_SMS, "2026-03-10T11:59:59+08:00"));
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, "2026-03-10T13:00:00+08:00"),
                 "2026-03-10T14:00:00+08:00", MSG_REASON_QUIET_HOURS);
    expect_now(decide_at(&s, &m, MSG_CH_SMS, "2026-03-10T22:00:00+08:00"));
    cfg = json_pack("{s:n}", "quiet_hours");
    CHECK_INT_EQ(msg_guard_settings_from_json(cfg, &s, &e), 0);
    json_decref(cfg);
    expect_now(decide_at(&s, &m, MSG_CH_SMS, "2026-03-10T23:00:00+08:00"));
    CHECK(!msg_quiet_at(&s, TZ8, T("2026-03-10T03:00:00+08:00")));
}

static void test_budget(void)
{
    msg_guard_settings s = msg_guard_settings_default();
    const char *now = "2026-03-10T12:00:00+08:00";
    /* 3 days and 6 days ago: 2 in the window → full until the older one is 7 days old,
     * 2026-03-04T12:00 + 7 days = 2026-03-11T12:00 (24 h from due: within staleness) */
    msg_send h1[] = {{T("2026-03-07T10:00:00+08:00"), MSG_CH_SMS},
                     {T("2026-03-04T12:00:00+08:00"), MSG_CH_WECHAT_TEMPLATE}};
    msg_member_state m = member(h1, 2);
    CHECK_INT_EQ(msg_budget_used(&s, h1, 2, T(now)), 2);
    expect_defer(decide_at(&s, &m, MSG_CH_WECOM, now), "2026-03-11T12:00:00+08:00",
                 MSG_REASON_BUDGET);
    /* the same message due an hour earlier could only go 25 h after its due time: skip */
    expect_skip(msg_guard_decide(&s, &m, MSG_CH_WECOM, T("2026-03-10T11:00:00+08:00"), T(now)),
                MSG_REASON_BUDGET);
    /* exactly 7 days ago has left the window: 1 used, send */
    msg_send h2[] = {{T("2026-03-07T10:00:00+08:00"), MSG_CH_SMS},
                     {T("2026-03-03T12:00:00+08:00"), MSG_CH_SMS}};
    m = member(h2, 2);
    CHECK_INT_EQ(msg_budget_used(&s, h2, 2, T(now)), 1);
    expect_now(decide_at(&s, &m, MSG_CH_SMS, now));
    /* one second less than 7 days ago still counts */
    h2[1].at = T("2026-03-03T12:00:01+08:00");
    CHECK_INT_EQ(msg_budget_used(&s, h2, 2, T(now)), 2);
    /* three sends, unsorted: the 2nd most recent (03-08 08:00) frees the budget at
     * 2026-03-15T08:00 — five days on, so stale unless staleness is off ... */
    msg_send h3[] = {{T("2026-03-05T09:00:00+08:00"), MSG_CH_SMS},
                     {T("2026-03-09T15:00:00+08:00"), MSG_CH_WECOM},
                     {T("2026-03-08T08:00:00+08:00"), MSG_CH_SMS}};
    m = member(h3, 3);
    CHECK_INT_EQ(msg_budget_free_at(&s, h3, 3, T(now)), T("2026-03-15T08:00:00+08:00"));
    expect_skip(decide_at(&s, &m, MSG_CH_SMS, now), MSG_REASON_BUDGET);
    s.stale_after_s = 0;
    /* ... and 08:00 is still quiet: 09:00 */
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, now), "2026-03-15T09:00:00+08:00",
                 MSG_REASON_BUDGET);
    /* budget frees at 22:00, inside quiet hours → the next morning at 09:00 */
    msg_send h4[] = {{T("2026-03-04T22:00:00+08:00"), MSG_CH_SMS},
                     {T("2026-03-08T10:00:00+08:00"), MSG_CH_SMS}};
    m = member(h4, 2);
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, now), "2026-03-12T09:00:00+08:00",
                 MSG_REASON_BUDGET);

    /* configured: 3 per 14 days; the 3 sends of h3 are all within 14 days, the
     * 3rd most recent (03-05 09:00) leaves at 2026-03-19T09:00 */
    siyu_err e;
    siyu_err_init(&e);
    json_t *cfg = json_pack("{s:i, s:i, s:i}", "budget_max", 3, "budget_window_days", 14,
                            "stale_after_hours", 0);
    CHECK_INT_EQ(msg_guard_settings_from_json(cfg, &s, &e), 0);
    json_decref(cfg);
    CHECK_INT_EQ(s.budget_window_s, 14 * 86400);
    m = member(h3, 3);
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, now), "2026-03-19T09:00:00+08:00",
                 MSG_REASON_BUDGET);
    m = member(h3, 2); /* only two of them: room for a third */
    expect_now(decide_at(&s, &m, MSG_CH_SMS, now));
    /* no budget at all (-1), and a budget of zero (never) */
    s.budget_max = -1;
    m = member(h3, 3);
    expect_now(decide_at(&s, &m, MSG_CH_SMS, now));
    s.budget_max = 0;
    m = member(NULL, 0);
    expect_skip(decide_at(&s, &m, MSG_CH_SMS, now), MSG_REASON_BUDGET);
}

/* n wecom sends, one a day at 12:00 local from the first of the month given as
 * "YYYY-MM" (days past the month's end spill into the next month on purpose only if
 * the caller asks for more than it has) */
static size_t month_of_sends(msg_send *h, const char *ym, int n)
{
    for (int i = 0; i < n; i++) {
        char buf[40];
        snprintf(buf, sizeof buf, "%s-%02dT12:00:00+08:00", ym, i + 1);
        h[i].at = T(buf);
        h[i].channel = MSG_CH_WECOM;
    }
    return (size_t)n;
}

static void test_wecom_cap(void)
{
    msg_guard_settings s = msg_guard_settings_default();
    s.budget_max = -1; /* isolate the platform cap */
    s.stale_after_s = 0;
    msg_send h[40];
    CHECK_INT_EQ(msg_month_cap(&s, MSG_CH_WECOM, TZ8, T("2026-02-10T12:00:00+08:00")), 28);
    CHECK_INT_EQ(msg_month_cap(&s, MSG_CH_WECOM, TZ8, T("2028-02-10T12:00:00+08:00")), 29);
    CHECK_INT_EQ(msg_month_cap(&s, MSG_CH_WECOM, TZ8, T("2026-04-10T12:00:00+08:00")), 30);
    CHECK_INT_EQ(msg_month_cap(&s, MSG_CH_WECOM, TZ8, T("2026-01-10T12:00:00+08:00")), 31);
    /* 2026-02-28T16:30Z is 00:30 on 1 March in Shanghai: March has 31 days */
    CHECK_INT_EQ(msg_month_cap(&s, MSG_CH_WECOM, TZ8, T("2026-02-28T16:30:00Z")), 31);
    CHECK_INT_EQ(msg_month_cap(&s, MSG_CH_SMS, TZ8, T("2026-02-10T12:00:00+08:00")), MSG_CAP_NONE);

    /* February 2026: 27 sent → one more; 28 sent → 1 March, 00:00 is quiet → 09:00 */
    msg_member_state m = member(h, month_of_sends(h, "2026-02", 27));
    expect_now(decide_at(&s, &m, MSG_CH_WECOM, "2026-02-28T15:00:00+08:00"));
    m = member(h, month_of_sends(h, "2026-02", 28));
    expect_defer(decide_at(&s, &m, MSG_CH_WECOM, "2026-02-28T15:00:00+08:00"),
                 "2026-03-01T09:00:00+08:00", MSG_REASON_PLATFORM_CAP);
    /* other channels are not capped by wecom's count */
    expect_now(decide_at(&s, &m, MSG_CH_SMS, "2026-02-28T15:00:00+08:00"));
    /* leap February 2028: 28 sent still leaves the 29th */
    m = member(h, month_of_sends(h, "2028-02", 28));
    expect_now(decide_at(&s, &m, MSG_CH_WECOM, "2028-02-29T15:00:00+08:00"));
    m = member(h, month_of_sends(h, "2028-02", 29));
    expect_defer(decide_at(&s, &m, MSG_CH_WECOM, "2028-02-29T15:00:00+08:00"),
                 "2028-03-01T09:00:00+08:00", MSG_REASON_PLATFORM_CAP);
    /* January: 30 of 31 → send; 31 → 1 February 09:00 */
    m = member(h, month_of_sends(h, "2026-01", 30));
    expect_now(decide_at(&s, &m, MSG_CH_WECOM, "2026-01-31T15:00:00+08:00"));
    m = member(h, month_of_sends(h, "2026-01", 31));
    expect_defer(decide_at(&s, &m, MSG_CH_WECOM, "2026-01-31T15:00:00+08:00"),
                 "2026-02-01T09:00:00+08:00", MSG_REASON_PLATFORM_CAP);
    /* April, 30 days: 30 sent → 1 May */
    m = member(h, month_of_sends(h, "2026-04", 30));
    expect_defer(decide_at(&s, &m, MSG_CH_WECOM, "2026-04-30T10:00:00+08:00"),
                 "2026-05-01T09:00:00+08:00", MSG_REASON_PLATFORM_CAP);
    /* December's cap rolls into January of the next year */
    m = member(h, month_of_sends(h, "2026-12", 31));
    expect_defer(decide_at(&s, &m, MSG_CH_WECOM, "2026-12-31T10:00:00+08:00"),
                 "2027-01-01T09:00:00+08:00", MSG_REASON_PLATFORM_CAP);

    /* months are local: 2026-01-31T20:00Z is 04:00 on 1 February in Shanghai */
    msg_send edge[] = {{T("2026-01-31T20:00:00Z"), MSG_CH_WECOM},
                       {T("2026-01-31T15:59:59Z"), MSG_CH_WECOM}}; /* 23:59:59 on 31 Jan */
    CHECK_INT_EQ(msg_month_used(edge, 2, MSG_CH_WECOM, TZ8, T("2026-02-10T12:00:00+08:00")), 1);
    CHECK_INT_EQ(msg_month_used(edge, 2, MSG_CH_WECOM, TZ8, T("2026-01-10T12:00:00+08:00")), 1);
    /* in UTC both fall in January */
    CHECK_INT_EQ(msg_month_used(edge, 2, MSG_CH_WECOM, 0, T("2026-01-10T12:00:00Z")), 2);

    /* a fixed monthly cap from JSON: sms at most 3 per month */
    siyu_err e;
    siyu_err_init(&e);
    json_t *cfg = json_loads("{\"monthly_caps\": {\"sms\": 3, \"wecom\": null}, "
                             "\"budget_max\": -1, \"stale_after_hours\": 0}",
                             0, NULL);
    CHECK_INT_EQ(msg_guard_settings_from_json(cfg, &s, &e), 0);
    json_decref(cfg);
    msg_send sms[] = {{T("2026-05-02T10:00:00+08:00"), MSG_CH_SMS},
                      {T("2026-05-09T10:00:00+08:00"), MSG_CH_SMS},
                      {T("2026-05-16T10:00:00+08:00"), MSG_CH_SMS}};
    m = member(sms, 3);
    expect_defer(decide_at(&s, &m, MSG_CH_SMS, "2026-05-20T10:00:00+08:00"),
                 "2026-06-01T09:00:00+08:00", MSG_REASON_PLATFORM_CAP);
    m = member(h, month_of_sends(h, "2026-01", 31));
    expect_now(decide_at(&s, &m, MSG_CH_WECOM, "2026-01-31T15:00:00+08:00"));
}

static void test_consent_and_staleness(void)
{
    msg_guard_settings s = msg_guard_settings_default();
    msg_member_state m = member(NULL, 0);
    const char *now = "2026-03-10T12:00:00+08:00";
    m.consent = MSG_CH_BIT(MSG_CH_SMS) | MSG_CH_BIT(MSG_CH_WECOM);
    m.opted_out = MSG_CH_BIT(MSG_CH_SMS);
    expect_skip(decide_at(&s, &m, MSG_CH_SMS, now), MSG_REASON_OPTED_OUT);
    expect_skip(decide_at(&s, &m, MSG_CH_WECHAT_TEMPLATE, now), MSG_REASON_NO_CONSENT);
    expect_now(decide_at(&s, &m, MSG_CH_WECOM, now));
    /* opt-out beats everything, even in quiet hours */
    expect_skip(decide_at(&s, &m, MSG_CH_SMS, "2026-03-10T23:00:00+08:00"), MSG_REASON_OPTED_OUT);

    m = member(NULL, 0);
    /* due exactly 24 h ago: still on time; one second more: stale */
    expect_now(msg_guard_decide(&s, &m, MSG_CH_SMS, T("2026-03-09T12:00:00+08:00"), T(now)));
    expect_skip(msg_guard_decide(&s, &m, MSG_CH_SMS, T("2026-03-09T11:59:59+08:00"), T(now)),
                MSG_REASON_STALE);
    /* due at 22:00 yesterday, asked at 08:00: waits until 09:00 = 11 h after due: fine */
    expect_defer(msg_guard_decide(&s, &m, MSG_CH_SMS, T("2026-03-09T22:00:00+08:00"),
                                  T("2026-03-10T08:00:00+08:00")),
                 "2026-03-10T09:00:00+08:00", MSG_REASON_QUIET_HOURS);
    /* due at 08:30 yesterday, the journey paused; resumed at 23:00 today → stale first */
    expect_skip(msg_guard_decide(&s, &m, MSG_CH_SMS, T("2026-03-09T08:30:00+08:00"),
                                 T("2026-03-10T23:00:00+08:00")),
                MSG_REASON_STALE);
    /* due at 10:00, resumed at 22:00: 09:00 tomorrow is 23 h after due → defer; due at
     * 09:00 → 24 h → defer; due 08:59 → it could only go 24 h 1 min late → skip */
    expect_defer(msg_guard_decide(&s, &m, MSG_CH_SMS, T("2026-03-10T10:00:00+08:00"),
                                  T("2026-03-10T22:00:00+08:00")),
                 "2026-03-11T09:00:00+08:00", MSG_REASON_QUIET_HOURS);
    expect_defer(msg_guard_decide(&s, &m, MSG_CH_SMS, T("2026-03-10T09:00:00+08:00"),
                                  T("2026-03-10T22:00:00+08:00")),
                 "2026-03-11T09:00:00+08:00", MSG_REASON_QUIET_HOURS);
    expect_skip(msg_guard_decide(&s, &m, MSG_CH_SMS, T("2026-03-10T08:59:00+08:00"),
                                 T("2026-03-10T22:00:00+08:00")),
                MSG_REASON_QUIET_HOURS);
    /* staleness off: a week-old message still goes */
    s.stale_after_s = 0;
    expect_now(msg_guard_decide(&s, &m, MSG_CH_SMS, T("2026-03-03T12:00:00+08:00"), T(now)));
}

static void test_settings_json_errors(void)
{
    static const struct {
        const char *json, *field;
    } bad[] = {
        {"{\"budget_max\": \"two\"}", "budget_max"},
        {"{\"budget_max\": 1001}", "budget_max"},
        {"{\"budget_window_days\": 0}", "budget_window_days"},
        {"{\"quiet_hours\": \"21:00\"}", "quiet_hours"},
        {"{\"quiet_hours\": \"24:00-09:00\"}", "quiet_hours"},
        {"{\"quiet_hours\": 21}", "quiet_hours"},
        {"{\"stale_after_hours\": -1}", "stale_after_hours"},
        {"{\"time_zone\": \"Asia/Shanghai\"}", "time_zone"},
        {"{\"time_zone\": \"+15:00\"}", "time_zone"},
        {"{\"monthly_caps\": {\"fax\": 3}}", "monthly_caps.fax"},
        {"{\"monthly_caps\": {\"sms\": -3}}", "monthly_caps.sms"},
        {"{\"monthly_caps\": {\"sms\": \"lots\"}}", "monthly_caps.sms"},
        {"{\"monthly_caps\": []}", "monthly_caps"},
        {"{\"quiet_hour\": \"21:00-09:00\"}", "quiet_hour"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        siyu_err e;
        siyu_err_init(&e);
        json_t *cfg = json_loads(bad[i].json, 0, NULL);
        msg_guard_settings s = msg_guard_settings_default();
        msg_guard_settings before = s;
        CHECK_INT_EQ(msg_guard_settings_from_json(cfg, &s, &e), -1);
        CHECK_STR_EQ(e.field, bad[i].field);
        CHECK_INT_EQ(e.code, SIYU_INVALID_ARGUMENT);
        CHECK(memcmp(&s, &before, sizeof s) == 0); /* untouched on error */
        json_decref(cfg);
    }
    siyu_err e;
    siyu_err_init(&e);
    msg_guard_settings s;
    json_t *cfg = json_loads("{\"time_zone\": \"-03:30\"}", 0, NULL);
    CHECK_INT_EQ(msg_guard_settings_from_json(cfg, &s, &e), 0);
    CHECK_INT_EQ(s.tz_offset_s, -(3 * 3600 + 30 * 60));
    CHECK_INT_EQ(s.budget_max, 2);
    CHECK_INT_EQ(s.budget_window_s, 7 * 86400);
    CHECK_INT_EQ(s.quiet_start_s, 21 * 3600);
    CHECK_INT_EQ(s.quiet_end_s, 9 * 3600);
    CHECK_INT_EQ(s.month_cap[MSG_CH_WECOM], MSG_CAP_DAYS_IN_MONTH);
    json_decref(cfg);
}

/* The documented hash, computed here from its definition. */
static uint32_t bucket_by_definition(int64_t member, int64_t journey)
{
    unsigned char in[15 + 16], out[16];
    memcpy(in, "siyu.holdout.v1", 15);
    for (int i = 0; i < 8; i++) {
        in[15 + i] = (unsigned char)((uint64_t)member >> (8 * i));
        in[23 + i] = (unsigned char)((uint64_t)journey >> (8 * i));
    }
    crypto_generichash(out, 16, in, sizeof in, NULL, 0);
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h |= (uint64_t)out[i] << (8 * i);
    return (uint32_t)(h % 10000);
}

static void test_holdout(void)
{
    const int N = 100000;
    int held = 0, held20 = 0, both_journeys = 0, left_on_raise = 0, unstable = 0;
    for (int64_t id = 1; id <= N; id++) {
        bool h = msg_in_holdout(id, 7, MSG_HOLDOUT_DEFAULT_PCT);
        held += h;
        held20 += msg_in_holdout(id, 7, 20);
        left_on_raise += h && !msg_in_holdout(id, 7, 20);
        both_journeys += h && msg_in_holdout(id, 8, 10);
        unstable += h != msg_in_holdout(id, 7, 10);
    }
    /* Binomial(100000, 0.1): sd 94.9, so ±500 is more than 5 sd */
    CHECK(held >= 9500 && held <= 10500);
    /* Binomial(100000, 0.2): sd 126.5 → ±650 */
    CHECK(held20 >= 19350 && held20 <= 20650);
    CHECK_INT_EQ(left_on_raise, 0);
    CHECK_INT_EQ(unstable, 0);
    /* two journeys pick independently: ~1% in both (sd 31.5 → ±160) */
    CHECK(both_journeys >= 840 && both_journeys <= 1160);
    /* the bucket is exactly the documented hash, so it survives any code change */
    const int64_t ids[] = {1, 2, 42, 1000003, -5, INT64_MAX};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        CHECK_INT_EQ(msg_holdout_bucket(ids[i], 7), bucket_by_definition(ids[i], 7));
        CHECK_INT_EQ(msg_holdout_bucket(ids[i], 123456), bucket_by_definition(ids[i], 123456));
        CHECK_INT_EQ(msg_in_holdout(ids[i], 7, 10), bucket_by_definition(ids[i], 7) < 1000);
    }
    CHECK(!msg_in_holdout(1, 7, 0));
    CHECK(msg_in_holdout(1, 7, 100));
    int none = 0;
    for (int64_t id = 1; id <= 1000; id++)
        none += msg_in_holdout(id, 7, 0);
    CHECK_INT_EQ(none, 0);
}

/* The per-member WeCom frequency caps shared with mass messages: rolling windows of a day,
 * a week and 30 days, counted on wecom sends only; worked by hand. */
static void test_frequency_caps(void)
{
    msg_guard_settings s = msg_guard_settings_default();
    s.budget_max = -1;
    s.month_cap[MSG_CH_WECOM] = MSG_CAP_NONE;
    s.stale_after_s = 0;
    s.freq_cap[0] = 1;
    s.freq_cap[1] = 3;
    s.freq_cap[2] = 4;
    /* one wecom send at 10:00: the next may go 24 h later, 10:00 the next day */
    msg_send h[] = {{T("2026-03-02T10:00:00+08:00"), MSG_CH_WECOM},
                    {T("2026-03-02T11:00:00+08:00"), MSG_CH_SMS}};
    msg_member_state m = member(h, 2);
    expect_defer(decide_at(&s, &m, MSG_CH_WECOM, "2026-03-02T10:30:00+08:00"),
                 "2026-03-03T10:00:00+08:00", MSG_REASON_FREQUENCY_CAP);
    expect_now(decide_at(&s, &m, MSG_CH_WECOM, "2026-03-03T10:00:00+08:00"));
    /* other channels are not held back by the wecom caps */
    expect_now(decide_at(&s, &m, MSG_CH_SMS, "2026-03-02T12:00:00+08:00"));
    CHECK_INT_EQ(msg_freq_free_at(&s, h, 2, T("2026-03-02T10:30:00+08:00")),
                 T("2026-03-03T10:00:00+08:00"));
    /* three in a week (Mon, Wed, Fri 10:00): the fourth waits until the Monday's send is
     * 7 days old — the next Monday 10:00 */
    msg_send w[] = {{T("2026-03-02T10:00:00+08:00"), MSG_CH_WECOM},
                    {T("2026-03-04T10:00:00+08:00"), MSG_CH_WECOM},
                    {T("2026-03-06T10:00:00+08:00"), MSG_CH_WECOM}};
    m = member(w, 3);
    expect_defer(decide_at(&s, &m, MSG_CH_WECOM, "2026-03-07T12:00:00+08:00"),
                 "2026-03-09T10:00:00+08:00", MSG_REASON_FREQUENCY_CAP);
    /* four in 30 days: sends on 1, 8, 15, 22 March → free when 1 March's is 30 days old,
     * 31 March 10:00 (the week window is clear by then) */
    msg_send mo[] = {{T("2026-03-01T10:00:00+08:00"), MSG_CH_WECOM},
                     {T("2026-03-08T10:00:00+08:00"), MSG_CH_WECOM},
                     {T("2026-03-15T10:00:00+08:00"), MSG_CH_WECOM},
                     {T("2026-03-22T10:00:00+08:00"), MSG_CH_WECOM}};
    m = member(mo, 4);
    expect_defer(decide_at(&s, &m, MSG_CH_WECOM, "2026-03-25T10:00:00+08:00"),
                 "2026-03-31T10:00:00+08:00", MSG_REASON_FREQUENCY_CAP);
    /* a window freeing lands in another: 1 a day and 2 a week, sends Mon 10:00 and Tue
     * 09:00 → Wednesday 09:00 frees the day but the week holds until next Monday 10:00 */
    s.freq_cap[1] = 2;
    msg_send x[] = {{T("2026-03-02T10:00:00+08:00"), MSG_CH_WECOM},
                    {T("2026-03-03T09:00:00+08:00"), MSG_CH_WECOM}};
    m = member(x, 2);
    expect_defer(decide_at(&s, &m, MSG_CH_WECOM, "2026-03-03T12:00:00+08:00"),
                 "2026-03-09T10:00:00+08:00", MSG_REASON_FREQUENCY_CAP);
    /* a cap of 0 never lets a wecom send go; none (MSG_CAP_NONE) never holds one back */
    s.freq_cap[0] = 0;
    CHECK_INT_EQ(msg_freq_free_at(&s, x, 0, T("2026-03-03T12:00:00+08:00")), INT64_MAX);
    s.freq_cap[0] = s.freq_cap[1] = s.freq_cap[2] = MSG_CAP_NONE;
    expect_now(decide_at(&s, &m, MSG_CH_WECOM, "2026-03-03T12:00:00+08:00"));
    CHECK_STR_EQ(msg_reason_name(MSG_REASON_FREQUENCY_CAP), "frequency_cap");
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    test_quiet_hours();
    test_budget();
    test_wecom_cap();
    test_frequency_caps();
    test_consent_and_staleness();
    test_settings_json_errors();
    test_holdout();
    return CHECK_DONE();
}
