/* report.c — what a journey did, what it would do, and whether it works.
 *
 * The report counts entries (treatment and holdout), each step's outcomes, the
 * messages by delivery status, and the goal: the share of each group that reached it
 * within the goal window with its 95% Wilson interval, the uplift (treatment minus
 * holdout) and its 95% interval by Newcombe's hybrid score method, which stays valid
 * at zero conversions and small groups (the normal approximation collapses to [0, 0]
 * there). Holdout members go through the same journey silently, so the comparison is
 * like for like. Failed runs are counted with their latest errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "journey/internal.h"
#include "messaging/msg_guardrails.h"
#include "segment/eval.h"
#include "segment/expr.h"
#include "segment/index.h"

#define Z95 1.959963984540054 /* the standard normal's 97.5th percentile */

void j_wilson(int64_t x, int64_t n, double z, double *lo, double *hi)
{
    if (n <= 0) {
        *lo = 0, *hi = 1;
        return;
    }
    double nn = (double)n, p = (double)x / nn, z2 = z * z;
    double denom = 1 + z2 / nn;
    double center = (p + z2 / (2 * nn)) / denom;
    double half = z * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / denom;
    *lo = x == 0 ? 0 : fmax(0, center - half);
    *hi = x == n ? 1 : fmin(1, center + half);
}

void j_newcombe(int64_t x1, int64_t n1, int64_t x2, int64_t n2, double z, double *lo, double *hi)
{
    double l1, u1, l2, u2;
    j_wilson(x1, n1, z, &l1, &u1);
    j_wilson(x2, n2, z, &l2, &u2);
    double p1 = n1 > 0 ? (double)x1 / (double)n1 : 0, p2 = n2 > 0 ? (double)x2 / (double)n2 : 0;
    double diff = p1 - p2;
    *lo = diff - sqrt((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2));
    *hi = diff + sqrt((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2));
}

int journeys_report(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    j_spec sp;
    char state[16];
    if (j_spec_load(d, id, &sp, state, sizeof state, e)) {
        j_spec_free(&sp);
        return -1;
    }
    int64_t n[2] = {0}, goal[2] = {0}, active = 0;
    store_stmt *s = store_q(d->conn, Q_RUN_STATS);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW) {
        int h = store_col_int(s, 0) ? 1 : 0;
        n[h] = store_col_int(s, 1);
        goal[h] = store_col_int(s, 2);
        active += store_col_int(s, 3);
    }
    store_reset(s);
    /* per step, in the definition's order; outcomes of steps since removed come last */
    json_t *steps = json_array(), *by_step = json_object();
    s = store_q(d->conn, Q_JLOG_COUNTS);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW) {
        const char *step = store_col_text(s, 0);
        json_t *o = json_object_get(by_step, step);
        if (!o) {
            o = json_object();
            json_object_set_new(by_step, step, o);
        }
        json_object_set_new(o, store_col_text(s, 1), json_integer(store_col_int(s, 2)));
    }
    store_reset(s);
    /* why: the reasons logged with outcomes (a coupon the member could not get, the
     * error of a failed step), per step and outcome */
    json_t *why = json_object();
    s = store_q(d->conn, Q_JLOG_DETAILS);
    store_bind_int(s, 1, id);
    store_bind_int(s, 2, 10000);
    while (store_step(s) == STORE_ROW) {
        const char *step = store_col_text(s, 0), *outcome = store_col_text(s, 1);
        json_t *o = json_object_get(why, step);
        if (!o) json_object_set_new(why, step, o = json_object());
        json_t *r = json_object_get(o, outcome);
        if (!r) json_object_set_new(o, outcome, r = json_object());
        /* one reason, whatever member, template or count it names: digits become N */
        char text[256];
        size_t len = 0;
        for (const char *c = store_col_text(s, 2); *c && len + 1 < sizeof text; c++) {
            if (*c >= '0' && *c <= '9') {
                if (len == 0 || text[len - 1] != 'N') text[len++] = 'N';
            } else {
                text[len++] = *c;
            }
        }
        if (len + 1 >= sizeof text) { /* cut: never inside a UTF-8 character */
            while (len && ((unsigned char)text[len - 1] & 0xC0) == 0x80)
                len--;
            if (len && ((unsigned char)text[len - 1] & 0x80)) len--;
        }
        text[len] = 0;
        json_t *was = json_object_get(r, text);
        if (was || json_object_size(r) < 10)
            json_object_set_new(
                r, text, json_integer((was ? json_integer_value(was) : 0) + store_col_int(s, 3)));
    }
    store_reset(s);
    json_t *entry = json_incref(json_object_get(by_step, "entry"));
    for (int i = 0; i < sp.n_steps; i++) {
        static const char *const actions[] = {"wait",         "branch",       "send_message",
                                              "issue_coupon", "award_points", "add_tag",
                                              "remove_tag",   "guide_task",   "exit"};
        json_t *o = json_object_get(by_step, sp.steps[i].id);
        json_t *row =
            json_pack("{s:s, s:s, s:o}", "id", sp.steps[i].id, "action", actions[sp.steps[i].kind],
                      "outcomes", o ? json_incref(o) : json_object());
        json_t *r = json_object_get(why, sp.steps[i].id);
        if (r) json_object_set(row, "reasons", r);
        json_array_append_new(steps, row);
        json_object_del(by_step, sp.steps[i].id);
    }
    json_object_del(by_step, "entry");
    json_t *messages = json_object();
    s = store_q(d->conn, Q_JOURNEY_MESSAGE_COUNTS);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW)
        json_object_set_new(messages, store_col_text(s, 0), json_integer(store_col_int(s, 1)));
    store_reset(s);
    /* revenue per member in the goal window (14 days when the journey has no goal) */
    int64_t window = sp.goal_event >= 0 ? sp.goal_within : 14 * 86400, revenue[2] = {0};
    s = store_q(d->conn, Q_RUN_REVENUE);
    store_bind_int(s, 1, id);
    store_bind_int(s, 2, window);
    while (store_step(s) == STORE_ROW)
        revenue[store_col_int(s, 0) ? 1 : 0] = store_col_int(s, 1);
    store_reset(s);
    double rpm[2] = {n[0] ? (double)revenue[0] / (double)n[0] : 0,
                     n[1] ? (double)revenue[1] / (double)n[1] : 0};
    json_t *rev = json_pack(
        "{s:I, s:{s:I, s:f}, s:{s:I, s:f}, s:o}", "window_days", (json_int_t)(window / 86400),
        "treatment", "net_cents", (json_int_t)revenue[0], "per_member_cents", rpm[0], "holdout",
        "net_cents", (json_int_t)revenue[1], "per_member_cents", rpm[1], "uplift_per_member_cents",
        n[0] && n[1] ? json_real(rpm[0] - rpm[1]) : json_null());
    json_t *g = json_null();
    if (sp.goal_event >= 0) {
        double p1 = n[0] ? (double)goal[0] / (double)n[0] : 0,
               p0 = n[1] ? (double)goal[1] / (double)n[1] : 0;
        double l1, h1, l0, h0;
        j_wilson(goal[0], n[0], Z95, &l1, &h1);
        j_wilson(goal[1], n[1], Z95, &l0, &h0);
        json_t *ci = json_null();
        if (n[0] && n[1]) {
            double lo, hi;
            j_newcombe(goal[0], n[0], goal[1], n[1], Z95, &lo, &hi);
            ci = json_pack("[f, f]", lo, hi);
        }
        g = json_pack("{s:s, s:I, s:{s:I, s:I, s:f, s:[f, f]}, s:{s:I, s:I, s:f, s:[f, f]}, s:o, "
                      "s:o}",
                      "event", j_event_names[sp.goal_event], "within_days",
                      (json_int_t)(sp.goal_within / 86400), "treatment", "members",
                      (json_int_t)n[0], "converted", (json_int_t)goal[0], "rate", p1, "rate_ci95",
                      l1, h1, "holdout", "members", (json_int_t)n[1], "converted",
                      (json_int_t)goal[1], "rate", p0, "rate_ci95", l0, h0, "uplift",
                      n[0] && n[1] ? json_real(p1 - p0) : json_null(), "uplift_ci95", ci);
    }
    /* runs that failed: how many, and the latest errors */
    int64_t failed = 0;
    json_t *recent = json_array();
    s = store_q(d->conn, Q_JLOG_FAILURES);
    store_bind_int(s, 1, id);
    store_bind_int(s, 2, 1000000);
    while (store_step(s) == STORE_ROW) {
        if (failed++ < 10)
            json_array_append_new(
                recent, json_pack("{s:I, s:s, s:o, s:s}", "run_id", (json_int_t)store_col_int(s, 0),
                                  "step", store_col_text(s, 1), "at", dom_time(store_col_int(s, 2)),
                                  "error", store_col_null(s, 3) ? "" : store_col_text(s, 3)));
    }
    store_reset(s);
    /* what is left: runs that completed ("exit") and steps an edit has since removed */
    *out = json_pack("{s:I, s:s, s:s, s:{s:I, s:I, s:I, s:I}, s:o, s:o, s:o, s:o, s:o}",
                     "journey_id", (json_int_t)id, "name", sp.name, "state", state, "entered",
                     "total", (json_int_t)(n[0] + n[1]), "treatment", (json_int_t)n[0], "holdout",
                     (json_int_t)n[1], "active", (json_int_t)active, "entry_log",
                     entry ? entry : json_null(), "steps", steps, "other_outcomes", by_step,
                     "messages", messages, "goal", g);
    json_object_set_new(*out, "revenue", rev);
    json_decref(why);
    json_object_set_new(*out, "failures",
                        json_pack("{s:I, s:o}", "total", (json_int_t)failed, "recent", recent));
    j_spec_free(&sp);
    return 200;
}

/* ---------------- dry run ----------------
 * Replays the trigger over the last N days and walks every entrant through the steps
 * in simulated time, from the instant its trigger happened: a wait moves the clock (a
 * run still waiting at the end of the window reaches no later step), a for_event wait
 * and an if_goal branch look at what the member really did in the store, an exit ends
 * the run, and every send meets the guardrails (holdout, consent and opt-out, quiet
 * hours, the journey's own sends against the budget and the monthly caps). Re-entry
 * and "never twice at once" hold as in the engine. Audiences and branch conditions are
 * compiled and evaluated by the engine's own functions (compile.c), on members as
 * they are now. */

typedef struct entrant {
    int64_t member, at;
} entrant;

static int cmp_entrant(const void *a, const void *b)
{
    const entrant *x = a, *y = b;
    if (x->member != y->member) return (x->member > y->member) - (x->member < y->member);
    return (x->at > y->at) - (x->at < y->at);
}

/* Source and type of an event for the DRY_ queries. */
static int dry_source(int ev, const char **type)
{
    static const int of[J_EV__COUNT] = {0, 1, 2, 3, 4, 5, 5, 5};
    *type = ev == J_EV_LIVE_VIEW       ? "live_view"
            : ev == J_EV_CONTACT_ADDED ? "contact_added"
                                       : "join_group";
    return of[ev];
}

/* The member's first ev in (after, until], or 0. */
static int64_t first_event(dom *d, int ev, int64_t member, int64_t after, int64_t until)
{
    const char *type;
    store_stmt *s = store_q(d->conn, Q_DRY_FIRST_EVENT);
    store_bind_int(s, 1, dry_source(ev, &type));
    store_bind_int(s, 2, member);
    store_bind_int(s, 3, after);
    store_bind_int(s, 4, until);
    store_bind_text(s, 5, type);
    int64_t at = store_step(s) == STORE_ROW && !store_col_null(s, 0) ? store_col_int(s, 0) : 0;
    store_reset(s);
    return at;
}

typedef struct dry {
    dom *d;
    seg_index *idx;
    const j_spec *sp;
    const j_compiled *x;
    msg_guard_settings gs;
    int64_t now;
    int64_t reached[J_MAX_STEPS], waiting[J_MAX_STEPS], messages[J_MAX_STEPS];
    json_t *outcomes[J_MAX_STEPS];
    int64_t completed, exited, running;
} dry;

/* The member as the guardrails see it, with the sends this dry run made. */
typedef struct dry_member {
    bool loaded;
    msg_member_state st;
    msg_send hist[64];
    size_t n_hist;
} dry_member;

static void count(dry *w, int i, const char *outcome)
{
    json_t *v = json_object_get(w->outcomes[i], outcome);
    json_object_set_new(w->outcomes[i], outcome, json_integer(v ? json_integer_value(v) + 1 : 1));
}

static int64_t next_local_minute(int64_t t, int m)
{
    int32_t day = time_local_day(t);
    int64_t start = (int64_t)day * 86400 - SIYU_LOCAL_OFFSET_S;
    int64_t at = start + m * 60;
    return at > t ? at : at + 86400;
}

/* One send step at simulated time *t. Returns false when the run is still deferred at
 * the end of the window. */
static bool dry_send(dry *w, int i, int64_t member, dry_member *m, int64_t *t)
{
    const j_step *st = &w->sp->steps[i];
    if (!m->loaded) {
        j_member_guard_state(w->d, &w->gs, member, &m->st);
        m->loaded = true;
    }
    m->st.history = m->hist;
    m->st.n_history = m->n_hist;
    const char *why = "unreachable";
    for (int guard = 0; guard < 16; guard++) {
        bool deferred = false;
        for (int c = 0; c < st->n_channels; c++) {
            int ch = msg_channel_from_name(st->channels[c], strlen(st->channels[c]));
            msg_decision dec = msg_guard_decide(&w->gs, &m->st, (msg_channel)ch, *t, *t);
            if (dec.verdict == MSG_SEND_NOW) {
                /* as the engine: no address on the channel, the next channel */
                const char *missing;
                json_t *to = j_message_address(w->d, member, st->channels[c], &missing);
                if (!to) {
                    why = "no_address";
                    continue;
                }
                json_decref(to);
                if (m->n_hist < sizeof m->hist / sizeof *m->hist)
                    m->hist[m->n_hist++] = (msg_send){*t, (msg_channel)ch};
                w->messages[i]++;
                count(w, i, "sent");
                return true;
            }
            if (dec.verdict == MSG_DEFER) {
                *t = dec.until;
                deferred = true;
                break;
            }
            if (dec.reason == MSG_REASON_STALE || dec.reason == MSG_REASON_BUDGET) {
                count(w, i, msg_reason_name(dec.reason));
                return true;
            }
            why = dec.reason == MSG_REASON_PLATFORM_CAP    ? "platform_cap"
                  : dec.reason == MSG_REASON_FREQUENCY_CAP ? "frequency_cap"
                                                           : "unreachable";
        }
        if (!deferred) break;
        if (*t > w->now) return false;
    }
    count(w, i, why);
    return true;
}

/* Walks one run from t0; returns when it ended, INT64_MAX when it is still running at
 * the end of the window. */
static int64_t dry_walk(dry *w, int64_t member, int64_t t0, bool held, dry_member *m)
{
    const j_spec *sp = w->sp;
    int64_t t = t0;
    for (int i = 0, guard = 0; i < sp->n_steps && guard < 2 * J_MAX_STEPS; guard++) {
        const j_step *st = &sp->steps[i];
        w->reached[i]++;
        int next = i + 1;
        switch (st->kind) {
        case J_WAIT: {
            int64_t until;
            const char *how = "waited";
            if (st->after_trigger >= 0)
                until = t0 + st->after_trigger > t ? t0 + st->after_trigger : t;
            else if (st->duration)
                until = t + st->duration;
            else if (st->until_minute >= 0)
                until = next_local_minute(t, st->until_minute);
            else {
                int64_t end = t + st->timeout < w->now ? t + st->timeout : w->now;
                int64_t at = first_event(w->d, st->for_event, member, t, end);
                until = at ? at : t + st->timeout;
                how = at ? "event" : "timeout";
            }
            if (until > w->now) {
                w->waiting[i]++;
                w->running++;
                return INT64_MAX;
            }
            t = until;
            count(w, i, how);
            break;
        }
        case J_BRANCH: {
            bool yes = false;
            if (st->if_goal) {
                int64_t end = t0 + sp->goal_within < t ? t0 + sp->goal_within : t;
                yes = sp->goal_event >= 0 && first_event(w->d, sp->goal_event, member, t0 - 1, end);
            } else if (w->x->branch[i]) {
                seg_error se;
                if (seg_match(w->idx, w->x->branch[i], member, &yes, &se)) yes = false;
            }
            int to = yes ? st->then_ix : st->else_ix;
            if (to >= 0) next = to;
            count(w, i, yes ? "yes" : "no");
            break;
        }
        case J_SEND:
            if (held) {
                count(w, i, "held_out");
            } else if (!dry_send(w, i, member, m, &t)) {
                w->waiting[i]++;
                w->running++;
                return INT64_MAX;
            }
            break;
        case J_COUPON:
            count(w, i, held ? "held_out" : "coupon_issued");
            break;
        case J_POINTS:
            count(w, i, held ? "held_out" : "points_awarded");
            break;
        case J_TAG_ADD:
            count(w, i, "tagged");
            break;
        case J_TAG_REMOVE:
            count(w, i, "untagged");
            break;
        case J_TASK:
            count(w, i, held ? "held_out" : "task_created");
            break;
        case J_EXIT:
            count(w, i, "exited");
            w->exited++;
            return t;
        }
        i = next;
    }
    w->completed++;
    return t;
}

/* Who the trigger took over the window, with the instant of each entry. */
static int dry_entrants(dry *w, int64_t days, entrant **out, size_t *n_out, siyu_err *e)
{
    const j_spec *sp = w->sp;
    size_t n = 0, cap = 1024;
    entrant *v = malloc(cap * sizeof *v);
    int64_t from = w->now - days * 86400;
    if (sp->trigger == J_TRIG_EVENT) {
        const char *type;
        store_stmt *s = store_q(w->d->conn, Q_DRY_EVENTS);
        store_bind_int(s, 1, dry_source(sp->event, &type));
        store_bind_int(s, 2, from);
        store_bind_text(s, 3, type);
        while (store_step(s) == STORE_ROW) {
            if (n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
            v[n++] = (entrant){store_col_int(s, 0), store_col_int(s, 1)};
        }
        store_reset(s);
    } else if (sp->trigger == J_TRIG_SEGMENT) {
        /* today's members, entering at the start of the window: an upper bound */
        seg_audience a;
        seg_error se;
        if (seg_select(w->idx, w->x->segment, NULL, &a, &se)) {
            free(v);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "trigger.entered_segment",
                                "trigger.entered_segment: %s", se.msg);
        }
        for (size_t k = 0; k < a.count; k++) {
            if (n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
            v[n++] = (entrant){a.ids[k], from};
        }
        seg_audience_release(&a);
    } else {
        int32_t today = time_local_day(w->now);
        for (int back = (int)days - 1; back >= 0; back--) {
            int64_t at = ((int64_t)(today - back)) * 86400 - SIYU_LOCAL_OFFSET_S;
            if (sp->trigger == J_TRIG_SCHEDULE) at += sp->at_minute * 60;
            if (at > w->now || at < from) continue;
            seg_audience a;
            if (j_date_audience(sp, w->x, w->idx, today, back, &a, e)) {
                free(v);
                return -1;
            }
            for (size_t k = 0; k < a.count; k++) {
                if (n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
                v[n++] = (entrant){a.ids[k], at};
            }
            seg_audience_release(&a);
        }
    }
    *out = v;
    *n_out = n;
    return 0;
}

int journeys_dry_run(dom *d, struct seg_index *idx, int64_t id, json_t *body, json_t **out,
                     siyu_err *e)
{
    static const char *const allowed[] = {"days", NULL};
    int64_t days = 30;
    if (body && (jx_only(body, allowed, NULL, e) || jx_int(body, "days", false, &days, e) < 0))
        return -1;
    if (days < 1 || days > 365)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "days", "days: 1 to 365");
    if (!idx) return siyu_err_set(e, SIYU_INTERNAL, NULL, "no member index here");
    j_spec sp;
    if (j_spec_load(d, id, &sp, NULL, 0, e)) {
        j_spec_free(&sp);
        return -1;
    }
    /* the engine's compilation: an expression it would refuse is refused here too,
     * instead of counting everyone */
    j_compiled x;
    if (j_compile(&sp, idx, &x, e)) {
        j_spec_free(&sp);
        return -1;
    }
    dry *w = calloc(1, sizeof *w);
    w->d = d;
    w->idx = idx;
    w->sp = &sp;
    w->x = &x;
    w->now = d->now;
    int rc = journey_guardrails_load(d, &w->gs, e);
    w->gs.stale_after_s = sp.staleness;
    for (int i = 0; i < sp.n_steps; i++)
        w->outcomes[i] = json_object();
    entrant *v = NULL;
    size_t n = 0;
    if (rc == 0) rc = dry_entrants(w, days, &v, &n, e);
    int64_t entered = 0, holdout = 0;
    if (rc == 0) {
        /* member by member, each one's entries in time order */
        qsort(v, n, sizeof *v, cmp_entrant);
        dry_member *m = malloc(sizeof *m);
        for (size_t k = 0; k < n;) {
            int64_t member = v[k].member;
            size_t end = k;
            while (end < n && v[end].member == member)
                end++;
            if (j_admits(idx, &x, member)) {
                memset(m, 0, sizeof *m);
                int64_t busy_until = INT64_MIN, last = 0;
                bool any = false;
                for (; k < end; k++) {
                    int64_t t0 = v[k].at;
                    if (t0 < busy_until) continue; /* never in the journey twice at once */
                    if (any &&
                        (sp.reentry == J_REENTER_ONCE ||
                         (sp.reentry == J_REENTER_COOLDOWN && t0 < last + sp.reentry_days * 86400)))
                        continue;
                    any = true;
                    last = t0;
                    entered++;
                    bool h = msg_in_holdout(member, id, (int)sp.holdout_pct);
                    holdout += h;
                    busy_until = dry_walk(w, member, t0, h, m);
                }
            }
            k = end;
        }
        free(m);
    }
    free(v);
    if (rc == 0) {
        static const char *const actions[] = {"wait",         "branch",       "send_message",
                                              "issue_coupon", "award_points", "add_tag",
                                              "remove_tag",   "guide_task",   "exit"};
        json_t *steps = json_array();
        for (int i = 0; i < sp.n_steps; i++) {
            json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:O}", "id", sp.steps[i].id, "action",
                                  actions[sp.steps[i].kind], "reached", (json_int_t)w->reached[i],
                                  "waiting", (json_int_t)w->waiting[i], "outcomes", w->outcomes[i]);
            if (sp.steps[i].kind == J_SEND)
                json_object_set_new(o, "messages", json_integer(w->messages[i]));
            json_array_append_new(steps, o);
        }
        *out = json_pack(
            "{s:I, s:I, s:I, s:I, s:o, s:{s:I, s:I, s:I}, s:s}", "journey_id", (json_int_t)id,
            "days", (json_int_t)days, "would_enter", (json_int_t)entered, "holdout",
            (json_int_t)holdout, "steps", steps, "runs", "completed", (json_int_t)w->completed,
            "exited", (json_int_t)w->exited, "running", (json_int_t)w->running, "note",
            "nothing was sent. Each entrant is walked through the steps from its trigger: waits "
            "move its clock (a run still waiting when the window ends reaches no later step), "
            "for_event waits and goals use what the member did, exits end runs, and sends meet "
            "the guardrails (holdout, consent and opt-out, an address on the channel, quiet hours, "
            "this journey's own sends against the budget and monthly caps). Audiences and branch "
            "conditions are evaluated "
            "on members as they are now; other journeys' sends, coupon limits and guide "
            "confirmations (taken as immediate) are not simulated");
    }
    for (int i = 0; i < sp.n_steps; i++)
        json_decref(w->outcomes[i]);
    free(w);
    j_compiled_free(&x);
    j_spec_free(&sp);
    return rc ? -1 : 200;
}
