/* spec.c — reading a journey definition: every field checked, every error named.
 *
 * Steps are addressed by id. A step without one gets "s" + a digest of its own JSON, so
 * an edit that inserts or removes other steps leaves a run's current step where it is:
 * a run never goes back through a step it has passed. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "journey/internal.h"

const char *const j_event_names[] = {"member_joined", "order_paid",      "refund",
                                     "tier_changed",  "coupon_received", "live_view",
                                     "joined_group",  "contact_added",   NULL};

static const char *const channel_names[] = {"wechat_template", "sms", "wecom", "webhook", NULL};

bool j_channel_known(const char *channel)
{
    for (int i = 0; channel_names[i]; i++)
        if (strcmp(channel_names[i], channel) == 0) return true;
    return false;
}

const char *j_reach_channel(const char *channel)
{
    if (strcmp(channel, "wechat_template") == 0) return "public_account";
    if (strcmp(channel, "sms") == 0) return "sms";
    if (strcmp(channel, "wecom") == 0) return "wecom";
    return NULL;
}

/* "3d", "12h", "30m", "45s" or a number of seconds. */
static int duration(json_t *v, const char *field, int64_t *out, siyu_err *e)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        long long n = strtoll(s, &end, 10);
        int64_t unit = *end == 'd'   ? 86400
                       : *end == 'h' ? 3600
                       : *end == 'm' ? 60
                       : *end == 's' ? 1
                                     : 0;
        if (end != s && n >= 0 && n <= 3660 * 86400LL && unit && end[1] == 0) {
            *out = n * unit;
            return 0;
        }
    }
    return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field,
                        "%s: a duration such as \"3d\", \"12h\" or \"30m\"", field);
}

/* "HH:MM" local -> minute of day */
static int clock_time(json_t *v, const char *field, int *out, siyu_err *e)
{
    int h, m;
    char tail;
    if (!json_is_string(v) || sscanf(json_string_value(v), "%d:%d%c", &h, &m, &tail) != 2 ||
        h < 0 || h > 23 || m < 0 || m > 59)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: a local time such as \"10:00\"",
                            field);
    *out = h * 60 + m;
    return 0;
}

static int event_of(json_t *v, const char *field, int *out, siyu_err *e)
{
    for (int i = 0; json_is_string(v) && j_event_names[i]; i++)
        if (strcmp(j_event_names[i], json_string_value(v)) == 0) {
            *out = i;
            return 0;
        }
    return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field,
                        "%s: one of member_joined, order_paid, refund, tier_changed, "
                        "coupon_received, live_view, joined_group, contact_added",
                        field);
}

static int only(json_t *obj, const char *const *allowed, const char *prefix, siyu_err *e)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        bool ok = false;
        for (int i = 0; allowed[i]; i++)
            ok |= strcmp(allowed[i], k) == 0;
        if (!ok) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, k, "%s%s: unknown field", prefix, k);
    }
    return 0;
}

static const char *str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int parse_trigger(json_t *t, j_spec *s, siyu_err *e)
{
    static const char *const keys[] = {
        "event",           "date",     "days",    "days_before",     "on",
        "inactivity_days", "daily_at", "segment", "entered_segment", NULL};
    if (!json_is_object(t))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "trigger", "trigger: required, an object");
    if (only(t, keys, "trigger.", e)) return -1;
    json_t *v;
    if ((v = json_object_get(t, "event"))) {
        s->trigger = J_TRIG_EVENT;
        return event_of(v, "trigger.event", &s->event, e);
    }
    if ((v = json_object_get(t, "inactivity_days"))) {
        s->trigger = J_TRIG_INACTIVITY;
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3650)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "trigger.inactivity_days",
                                "trigger.inactivity_days: 1 to 3650");
        s->days = (int)json_integer_value(v);
        return 0;
    }
    if ((v = json_object_get(t, "entered_segment"))) {
        s->trigger = J_TRIG_SEGMENT;
        if (!json_is_string(v) || !*json_string_value(v))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "trigger.entered_segment",
                                "trigger.entered_segment: a segment expression");
        s->segment = json_string_value(v);
        return 0;
    }
    if ((v = json_object_get(t, "daily_at"))) {
        s->trigger = J_TRIG_SCHEDULE;
        s->segment = str(t, "segment");
        if (!s->segment)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "trigger.segment",
                                "trigger.segment: a daily broadcast needs its audience expression");
        return clock_time(v, "trigger.daily_at", &s->at_minute, e);
    }
    const char *date = str(t, "date");
    if (!date)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "trigger",
                            "trigger: give event, date, inactivity_days, daily_at or "
                            "entered_segment");
    if (strcmp(date, "after_join") == 0) {
        s->trigger = J_TRIG_AFTER_JOIN;
        v = json_object_get(t, "days");
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 3650)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "trigger.days",
                                "trigger.days: 0 to 3650");
        s->days = (int)json_integer_value(v);
    } else if (strcmp(date, "birthday") == 0) {
        s->trigger = J_TRIG_BIRTHDAY;
        v = json_object_get(t, "days_before");
        s->days = 0;
        if (v && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 60))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "trigger.days_before",
                                "trigger.days_before: 0 to 60");
        if (v) s->days = (int)json_integer_value(v);
    } else if (strcmp(date, "fixed") == 0) {
        s->trigger = J_TRIG_FIXED_DATE;
        const char *on = str(t, "on");
        if (!on || date_parse(on, &s->on_day))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "trigger.on",
                                "trigger.on: a date such as 2026-12-12");
    } else {
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "trigger.date",
                            "trigger.date: one of after_join, birthday, fixed");
    }
    return 0;
}

static int parse_step(json_t *st, int i, j_spec *s, bool *coupon_before, siyu_err *e)
{
    static const char *const keys[] = {
        "id",      "action", "duration", "until",   "for_event", "timeout",       "if",
        "if_goal", "goto",   "else",     "channel", "fallback",  "template",      "template_id",
        "points",  "reason", "tag",      "script",  "due",       "after_trigger", "wechat_template",
        NULL};
    static const char *const actions[] = {"wait",         "branch",  "send_message", "issue_coupon",
                                          "award_points", "add_tag", "remove_tag",   "guide_task",
                                          "exit",         NULL};
    char f[64], p[32];
    snprintf(p, sizeof p, "steps[%d].", i);
    j_step *x = &s->steps[i];
    memset(x, 0, sizeof *x);
    x->until_minute = -1;
    x->for_event = -1;
    x->after_trigger = -1;
    x->then_ix = x->else_ix = -1;
    if (!json_is_object(st))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "steps", "steps[%d]: not an object", i);
    if (only(st, keys, p, e)) return -1;
    const char *action = str(st, "action");
    int k = -1;
    for (int a = 0; action && actions[a]; a++)
        if (strcmp(actions[a], action) == 0) k = a;
    snprintf(f, sizeof f, "steps[%d].action", i);
    if (k < 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                            "%s: one of wait, branch, send_message, issue_coupon, award_points, "
                            "add_tag, remove_tag, guide_task, exit",
                            f);
    x->kind = (j_step_kind)k;
    const char *id = str(st, "id");
    if (id) {
        if (!*id || strlen(id) >= J_ID_LEN) {
            snprintf(f, sizeof f, "steps[%d].id", i);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: 1 to %d bytes", f, J_ID_LEN - 1);
        }
        snprintf(x->id, sizeof x->id, "%s", id);
    } else {
        char *text = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
        unsigned char h[4];
        crypto_generichash(h, sizeof h, (const unsigned char *)text, strlen(text), NULL, 0);
        free(text);
        snprintf(x->id, sizeof x->id, "s%02x%02x%02x%02x", h[0], h[1], h[2], h[3]);
        /* identical steps: number the repeats */
        for (int j = 0, n = 1; j < i; j++)
            if (strncmp(s->steps[j].id, x->id, 9) == 0)
                snprintf(x->id, sizeof x->id, "s%02x%02x%02x%02x-%d", h[0], h[1], h[2], h[3], ++n);
    }
    for (int j = 0; j < i; j++)
        if (strcmp(s->steps[j].id, x->id) == 0) {
            snprintf(f, sizeof f, "steps[%d].id", i);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: %s is used twice", f, x->id);
        }
    json_t *v;
    switch (x->kind) {
    case J_WAIT: {
        static const char *const kinds[] = {"duration", "until", "for_event", "after_trigger"};
        const char *first = NULL;
        for (size_t w = 0; w < sizeof kinds / sizeof *kinds; w++)
            if (json_object_get(st, kinds[w])) {
                if (first) {
                    snprintf(f, sizeof f, "steps[%d].%s", i, kinds[w]);
                    return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                                        "%s: a wait takes one of duration, until, for_event or "
                                        "after_trigger (%s is given)",
                                        f, first);
                }
                first = kinds[w];
            }
        if ((v = json_object_get(st, "after_trigger"))) {
            /* "7d": seven days after the instant the member's trigger happened, however
             * long earlier steps took (a guide confirming late shifts nothing) */
            snprintf(f, sizeof f, "steps[%d].after_trigger", i);
            if (duration(v, f, &x->after_trigger, e)) return -1;
            for (int j = i - 1; j >= 0; j--)
                if (s->steps[j].kind == J_WAIT && s->steps[j].after_trigger >= 0) {
                    if (s->steps[j].after_trigger > x->after_trigger)
                        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                                            "%s: earlier than steps[%d].after_trigger; "
                                            "trigger-timed waits go forward in time",
                                            f, j);
                    break;
                }
        } else if ((v = json_object_get(st, "duration"))) {
            snprintf(f, sizeof f, "steps[%d].duration", i);
            if (duration(v, f, &x->duration, e)) return -1;
        } else if ((v = json_object_get(st, "until"))) {
            snprintf(f, sizeof f, "steps[%d].until", i);
            if (clock_time(v, f, &x->until_minute, e)) return -1;
        } else if ((v = json_object_get(st, "for_event"))) {
            snprintf(f, sizeof f, "steps[%d].for_event", i);
            if (event_of(v, f, &x->for_event, e)) return -1;
            snprintf(f, sizeof f, "steps[%d].timeout", i);
            json_t *to = json_object_get(st, "timeout");
            if (!to)
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                                    "%s: waiting for an event needs a timeout", f);
            if (duration(to, f, &x->timeout, e)) return -1;
        } else {
            snprintf(f, sizeof f, "steps[%d]", i);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                                "%s: a wait needs duration, until, for_event or after_trigger", f);
        }
        break;
    }
    case J_BRANCH:
        x->expr = str(st, "if");
        v = json_object_get(st, "if_goal");
        x->if_goal = json_is_true(v);
        if (!x->expr == !x->if_goal) {
            snprintf(f, sizeof f, "steps[%d].if", i);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                                "%s: a branch needs an expression (if) or if_goal: true", f);
        }
        break;
    case J_SEND: {
        const char *ch = str(st, "channel");
        snprintf(f, sizeof f, "steps[%d].channel", i);
        if (!ch || !j_channel_known(ch))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                                "%s: one of wechat_template, sms, wecom, webhook", f);
        x->channels[x->n_channels++] = ch;
        json_t *fb = json_object_get(st, "fallback");
        snprintf(f, sizeof f, "steps[%d].fallback", i);
        if (fb && (!json_is_array(fb) || json_array_size(fb) > J_MAX_CHANNELS - 1))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: up to %d channels", f,
                                J_MAX_CHANNELS - 1);
        size_t n;
        json_t *c;
        json_array_foreach(fb, n, c)
        {
            if (!json_is_string(c) || !j_channel_known(json_string_value(c)))
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s[%zu]: not a channel", f, n);
            x->channels[x->n_channels++] = json_string_value(c);
        }
        x->timeout = 24 * 3600; /* how long a guide has to confirm a wecom send */
        if ((v = json_object_get(st, "timeout"))) {
            snprintf(f, sizeof f, "steps[%d].timeout", i);
            if (duration(v, f, &x->timeout, e)) return -1;
        }
        x->template_text = str(st, "template");
        snprintf(f, sizeof f, "steps[%d].template", i);
        if (!x->template_text || !*x->template_text)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: required", f);
        if (j_template_check(x->template_text, *coupon_before, f, e)) return -1;
        /* a WeChat template message: its template id and named data fields */
        x->wechat_template = json_object_get(st, "wechat_template");
        bool wx = false;
        for (int k2 = 0; k2 < x->n_channels; k2++)
            wx |= strcmp(x->channels[k2], "wechat_template") == 0;
        snprintf(f, sizeof f, "steps[%d].wechat_template", i);
        if ((wx || x->wechat_template) &&
            j_wx_template_check(x->wechat_template, *coupon_before, f, e))
            return -1;
        break;
    }
    case J_COUPON:
        v = json_object_get(st, "template_id");
        if (!json_is_integer(v) || json_integer_value(v) <= 0) {
            snprintf(f, sizeof f, "steps[%d].template_id", i);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: a coupon template id", f);
        }
        x->coupon_template = json_integer_value(v);
        *coupon_before = true;
        break;
    case J_POINTS:
        v = json_object_get(st, "points");
        if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > 1000000) {
            snprintf(f, sizeof f, "steps[%d].points", i);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: 1 to 1000000", f);
        }
        x->points = json_integer_value(v);
        x->reason = str(st, "reason");
        break;
    case J_TAG_ADD:
    case J_TAG_REMOVE:
        x->tag = str(st, "tag");
        if (!x->tag || !*x->tag) {
            snprintf(f, sizeof f, "steps[%d].tag", i);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: a tag name", f);
        }
        break;
    case J_TASK:
        x->script = str(st, "script");
        snprintf(f, sizeof f, "steps[%d].script", i);
        if (!x->script || !*x->script)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: what the guide should do or say",
                                f);
        if (j_template_check(x->script, *coupon_before, f, e)) return -1;
        x->due = 2 * 86400;
        if ((v = json_object_get(st, "due"))) {
            snprintf(f, sizeof f, "steps[%d].due", i);
            if (duration(v, f, &x->due, e)) return -1;
        }
        break;
    case J_EXIT:
        break;
    }
    return 0;
}

int j_step_index(const j_spec *s, const char *id)
{
    for (int i = 0; id && i < s->n_steps; i++)
        if (strcmp(s->steps[i].id, id) == 0) return i;
    return -1;
}

int j_spec_parse(json_t *json, j_spec *s, siyu_err *e)
{
    static const char *const keys[] = {"name",  "trigger",     "audience",   "reentry", "goal",
                                       "steps", "holdout_pct", "guardrails", NULL};
    memset(s, 0, sizeof *s);
    s->json = json_incref(json);
    s->goal_event = -1;
    s->holdout_pct = 10;
    s->staleness = 24 * 3600;
    if (!json_is_object(json))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, NULL, "body: not an object");
    if (only(json, keys, "", e)) return -1;
    s->name = str(json, "name");
    if (!s->name || !*s->name || strlen(s->name) > 200)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: 1 to 200 bytes");
    if (parse_trigger(json_object_get(json, "trigger"), s, e)) return -1;
    json_t *v = json_object_get(json, "audience");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "audience",
                                "audience: a segment expression");
        s->audience = json_string_value(v);
    }
    s->reentry =
        s->trigger == J_TRIG_EVENT || s->trigger == J_TRIG_SCHEDULE || s->trigger == J_TRIG_SEGMENT
            ? J_REENTER_ALWAYS
            : J_REENTER_ONCE;
    if (s->trigger == J_TRIG_BIRTHDAY || s->trigger == J_TRIG_INACTIVITY) {
        s->reentry = J_REENTER_COOLDOWN; /* once a year / once per lapse */
        s->reentry_days = s->trigger == J_TRIG_BIRTHDAY ? 300 : s->days;
    }
    if ((v = json_object_get(json, "reentry"))) {
        static const char *const rk[] = {"policy", "days", NULL};
        if (!json_is_object(v) || only(v, rk, "reentry.", e))
            return e->code
                       ? -1
                       : siyu_err_set(e, SIYU_INVALID_ARGUMENT, "reentry", "reentry: an object");
        const char *p = str(v, "policy");
        if (p && strcmp(p, "once") == 0)
            s->reentry = J_REENTER_ONCE;
        else if (p && strcmp(p, "every_time") == 0)
            s->reentry = J_REENTER_ALWAYS;
        else if (p && strcmp(p, "cooldown") == 0) {
            s->reentry = J_REENTER_COOLDOWN;
            json_t *d = json_object_get(v, "days");
            if (!json_is_integer(d) || json_integer_value(d) < 1 || json_integer_value(d) > 3650)
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "reentry.days",
                                    "reentry.days: 1 to 3650");
            s->reentry_days = json_integer_value(d);
        } else
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "reentry.policy",
                                "reentry.policy: one of once, every_time, cooldown");
    }
    if ((v = json_object_get(json, "goal")) && !json_is_null(v)) {
        static const char *const gk[] = {"event", "within_days", NULL};
        if (!json_is_object(v) || only(v, gk, "goal.", e))
            return e->code ? -1 : siyu_err_set(e, SIYU_INVALID_ARGUMENT, "goal", "goal: an object");
        if (event_of(json_object_get(v, "event"), "goal.event", &s->goal_event, e)) return -1;
        json_t *w = json_object_get(v, "within_days");
        s->goal_within = 14 * 86400;
        if (w && (!json_is_integer(w) || json_integer_value(w) < 1 || json_integer_value(w) > 365))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "goal.within_days",
                                "goal.within_days: 1 to 365");
        if (w) s->goal_within = json_integer_value(w) * 86400;
    }
    if ((v = json_object_get(json, "holdout_pct"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 50)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "holdout_pct", "holdout_pct: 0 to 50");
        s->holdout_pct = json_integer_value(v);
    }
    if ((v = json_object_get(json, "guardrails"))) {
        static const char *const gk[] = {"staleness", NULL};
        if (!json_is_object(v) || only(v, gk, "guardrails.", e))
            return e->code ? -1
                           : siyu_err_set(e, SIYU_INVALID_ARGUMENT, "guardrails",
                                          "guardrails: an object");
        if (json_object_get(v, "staleness") &&
            duration(json_object_get(v, "staleness"), "guardrails.staleness", &s->staleness, e))
            return -1;
    }
    json_t *steps = json_object_get(json, "steps");
    if (!json_is_array(steps) || json_array_size(steps) == 0 ||
        json_array_size(steps) > J_MAX_STEPS)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "steps", "steps: 1 to %d steps", J_MAX_STEPS);
    s->n_steps = (int)json_array_size(steps);
    bool coupon_before = false;
    for (int i = 0; i < s->n_steps; i++)
        if (parse_step(json_array_get(steps, (size_t)i), i, s, &coupon_before, e)) return -1;
    /* branch targets resolve once every id is known */
    for (int i = 0; i < s->n_steps; i++) {
        json_t *st = json_array_get(steps, (size_t)i);
        if (s->steps[i].kind != J_BRANCH) continue;
        const char *go = str(st, "goto"), *el = str(st, "else");
        char f[48];
        snprintf(f, sizeof f, "steps[%d].goto", i);
        if (go && (s->steps[i].then_ix = j_step_index(s, go)) < 0)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: no step %s", f, go);
        snprintf(f, sizeof f, "steps[%d].else", i);
        if (el && (s->steps[i].else_ix = j_step_index(s, el)) < 0)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: no step %s", f, el);
        if (!go && !el)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                                "steps[%d]: a branch needs goto or else", i);
        /* only forward jumps: a journey always ends */
        if (s->steps[i].then_ix >= 0 && s->steps[i].then_ix <= i)
            snprintf(f, sizeof f, "steps[%d].goto", i);
        if ((s->steps[i].then_ix >= 0 && s->steps[i].then_ix <= i) ||
            (s->steps[i].else_ix >= 0 && s->steps[i].else_ix <= i))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: a branch may only jump forward",
                                f);
    }
    return 0;
}

void j_spec_free(j_spec *s)
{
    json_decref(s->json);
    s->json = NULL;
}

int journey_validate(json_t *spec, siyu_err *e)
{
    j_spec s;
    int rc = j_spec_parse(spec, &s, e);
    j_spec_free(&s);
    return rc;
}

int j_spec_load(dom *d, int64_t id, j_spec *out, char *state, size_t state_len, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_JOURNEY_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        memset(out, 0, sizeof *out);
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "journey %lld not found", (long long)id);
    }
    json_t *json = json_loads(store_col_text(s, 2), 0, NULL);
    if (state) snprintf(state, state_len, "%s", store_col_text(s, 3));
    store_reset(s);
    int rc = j_spec_parse(json, out, e);
    json_decref(json);
    return rc;
}
