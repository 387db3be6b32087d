/* report.c — what a journey did, what it would do, and whether it works.
 *
 * The report counts entries (treatment and holdout), each step's outcomes, the
 * messages by delivery status, and the goal: the share of each group that reached it
 * within the goal window, the uplift (treatment minus holdout) and its 95% interval
 * (normal approximation to the difference of two proportions). Holdout members go
 * through the same journey silently, so the comparison is like for like. */
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
    json_t *entry = json_incref(json_object_get(by_step, "entry"));
    for (int i = 0; i < sp.n_steps; i++) {
        static const char *const actions[] = {"wait",         "branch",       "send_message",
                                              "issue_coupon", "award_points", "add_tag",
                                              "remove_tag",   "guide_task",   "exit"};
        json_t *o = json_object_get(by_step, sp.steps[i].id);
        json_array_append_new(steps, json_pack("{s:s, s:s, s:O}", "id", sp.steps[i].id, "action",
                                               actions[sp.steps[i].kind], "outcomes",
                                               o ? o : json_object()));
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
        json_t *ci = json_null();
        if (n[0] && n[1]) {
            double se = sqrt(p1 * (1 - p1) / (double)n[0] + p0 * (1 - p0) / (double)n[1]);
            ci = json_pack("[f, f]", p1 - p0 - 1.96 * se, p1 - p0 + 1.96 * se);
        }
        g = json_pack("{s:s, s:I, s:{s:I, s:I, s:f}, s:{s:I, s:I, s:f}, s:o, s:o}", "event",
                      j_event_names[sp.goal_event], "within_days",
                      (json_int_t)(sp.goal_within / 86400), "treatment", "members",
                      (json_int_t)n[0], "converted", (json_int_t)goal[0], "rate", p1, "holdout",
                      "members", (json_int_t)n[1], "converted", (json_int_t)goal[1], "rate", p0,
                      "uplift", n[0] && n[1] ? json_real(p1 - p0) : json_null(), "uplift_ci95", ci);
    }
    /* what is left: runs that completed ("exit") and steps an edit has since removed */
    *out = json_pack("{s:I, s:s, s:s, s:{s:I, s:I, s:I, s:I}, s:o, s:o, s:o, s:o, s:o}",
                     "journey_id", (json_int_t)id, "name", sp.name, "state", state, "entered",
                     "total", (json_int_t)(n[0] + n[1]), "treatment", (json_int_t)n[0], "holdout",
                     (json_int_t)n[1], "active", (json_int_t)active, "entry_log",
                     entry ? entry : json_null(), "steps", steps, "other_outcomes", by_step,
                     "messages", messages, "goal", g);
    json_object_set_new(*out, "revenue", rev);
    j_spec_free(&sp);
    return 200;
}

/* ---------------- dry run ---------------- */

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
    /* who would have entered */
    size_t n = 0, cap = 1024;
    int64_t *ids = malloc(cap * sizeof *ids);
    seg_error se;
    if (sp.trigger == J_TRIG_EVENT) {
        static const int source_of[] = {0, 1, 2, 3, 4, 5, 5};
        store_stmt *s = store_q(d->conn, Q_DRY_SOURCE);
        store_bind_int(s, 1, source_of[sp.event]);
        store_bind_int(s, 2, d->now - days * 86400);
        store_bind_text(s, 3, sp.event == J_EV_LIVE_VIEW ? "live_view" : "join_group");
        while (store_step(s) == STORE_ROW) {
            if (n == cap) ids = realloc(ids, (cap *= 2) * sizeof *ids);
            ids[n++] = store_col_int(s, 0);
        }
        store_reset(s);
    } else {
        char text[4096] = "";
        size_t used = 0;
        switch (sp.trigger) {
        case J_TRIG_AFTER_JOIN:
            snprintf(text, sizeof text, "joined_days >= %d and joined_days < %lld", sp.days,
                     (long long)(sp.days + days));
            break;
        case J_TRIG_INACTIVITY:
            snprintf(text, sizeof text, "last_order_days >= %d and last_order_days < %lld", sp.days,
                     (long long)(sp.days + days));
            break;
        case J_TRIG_BIRTHDAY: {
            int32_t today = time_local_day(d->now);
            for (int64_t k = 0; k < days && used + 64 < sizeof text; k++) {
                int y, m, dd;
                date_civil(today - (int32_t)k + sp.days, &y, &m, &dd);
                used += (size_t)snprintf(text + used, sizeof text - used,
                                         "%s(birthday_month = %d and birthday_day = %d)",
                                         k ? " or " : "", m, dd);
            }
            break;
        }
        case J_TRIG_SEGMENT: /* today's members: an upper bound of who entered */
        case J_TRIG_SCHEDULE:
            snprintf(text, sizeof text, "%s", sp.segment);
            break;
        default:
            snprintf(text, sizeof text, "orders >= 0");
        }
        seg_expr *ex = NULL;
        seg_audience a = {0};
        if (seg_parse(text, idx, &ex, &se) == 0 && seg_select(idx, ex, NULL, &a, &se) == 0) {
            if (a.count > cap) ids = realloc(ids, (cap = a.count) * sizeof *ids);
            memcpy(ids, a.ids, a.count * sizeof *ids);
            n = a.count;
        }
        seg_expr_free(ex);
        seg_audience_release(&a);
    }
    seg_expr *aud = NULL, *br[J_MAX_STEPS] = {0};
    if (sp.audience) seg_parse(sp.audience, idx, &aud, &se);
    for (int i = 0; i < sp.n_steps; i++)
        if (sp.steps[i].expr) seg_parse(sp.steps[i].expr, idx, &br[i], &se);
    int64_t entered = 0, holdout = 0, reached[J_MAX_STEPS] = {0}, sends[J_MAX_STEPS] = {0};
    for (size_t k = 0; k < n; k++) {
        bool yes = true;
        if (aud && (seg_match(idx, aud, ids[k], &yes, &se) || !yes)) continue;
        entered++;
        bool h = msg_in_holdout(ids[k], id, (int)sp.holdout_pct);
        holdout += h;
        /* walk the steps; a goal is taken as not reached (it lies in the future) */
        for (int i = 0; i < sp.n_steps;) {
            reached[i]++;
            const j_step *st = &sp.steps[i];
            if (st->kind == J_EXIT) break;
            if (st->kind == J_SEND && !h) sends[i]++;
            int next = i + 1;
            if (st->kind == J_BRANCH) {
                bool b = false;
                if (br[i]) seg_match(idx, br[i], ids[k], &b, &se);
                int to = b ? st->then_ix : st->else_ix;
                if (to >= 0) next = to;
            }
            i = next;
        }
    }
    json_t *steps = json_array();
    for (int i = 0; i < sp.n_steps; i++) {
        json_t *o =
            json_pack("{s:s, s:I}", "id", sp.steps[i].id, "reached", (json_int_t)reached[i]);
        if (sp.steps[i].kind == J_SEND) json_object_set_new(o, "messages", json_integer(sends[i]));
        json_array_append_new(steps, o);
        seg_expr_free(br[i]);
    }
    seg_expr_free(aud);
    free(ids);
    *out = json_pack("{s:I, s:I, s:I, s:I, s:o, s:s}", "journey_id", (json_int_t)id, "days",
                     (json_int_t)days, "would_enter", (json_int_t)entered, "holdout",
                     (json_int_t)holdout, "steps", steps, "note",
                     "nothing was sent; messages are before frequency caps, quiet hours and "
                     "reachability, and goals count as not yet reached");
    j_spec_free(&sp);
    return 200;
}
