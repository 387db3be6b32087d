/* engine.c — members entering journeys and moving through their steps.
 *
 * Everything here runs inside the caller's write transaction (one per tick), and every
 * unit of work inside it — a member entering, a run moved by an event, one step of a
 * run — runs in its own savepoint, so its effects (a message put in the outbox, a
 * coupon, points, the run moving on) commit together or not at all. A unit that fails
 * is undone alone: a failing step fails its own run (state failed, the error kept on
 * the run and in the log, counted in the report), never the tick. Only a store that
 * cannot record even that (I/O) makes journey_tick return an error.
 *
 * A run's timer is next_at; wait_event says what it is waiting for: "@timer" (a
 * duration, a time of day or an instant after the trigger), an event name (with
 * next_at as the timeout), "@task" (a guide confirming a wecom send), "@confirmed" (the
 * guide did), "@deferred" (the guardrails asked a send to wait). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "journey/internal.h"
#include "loyalty/loyalty.h"
#include "messaging/msg_guardrails.h"
#include "segment/eval.h"
#include "segment/expr.h"
#include "segment/index.h"

#define MAX_ACTIVE 256
#define MAX_ERRORS 8 /* failures described in a tick's answer; all are counted */

typedef struct loaded {
    int64_t id;
    j_spec spec;
    bool ok;
    j_compiled x;      /* the definition's expressions, as the dry run compiles them */
    bool x_ok;         /* every expression compiled; otherwise nobody enters */
    char x_error[256]; /* why not */
    int64_t since[6];  /* per source: events with a larger id trigger it (activation) */
} loaded;

typedef struct tick {
    dom *d;
    seg_index *idx;
    msg_guard_settings guard; /* the chain's guardrail settings, read once per tick */
    loaded j[MAX_ACTIVE];
    int n;
    int64_t entered, advanced, sent, events, failed;
    json_t *errors;  /* the first MAX_ERRORS failures: {journey_id, run_id, step, error} */
    bool log_failed; /* a journey_log row could not be written during the current unit */
    /* tags added or removed by steps whose savepoints were released, for the index */
    struct tag_move {
        int64_t member;
        const char *tag;
        bool add;
    } * moves;
    size_t n_moves, cap_moves;
} tick;

static loaded *journey_of(tick *t, int64_t id)
{
    for (int i = 0; i < t->n; i++)
        if (t->j[i].id == id) return t->j[i].ok ? &t->j[i] : NULL;
    return NULL;
}

static void jlog_detail(tick *t, int64_t journey, int64_t run, const char *step,
                        const char *outcome, const char *detail)
{
    store_stmt *s = store_q(t->d->conn, Q_JLOG_INSERT_DETAIL);
    store_bind_int(s, 1, journey);
    store_bind_int(s, 2, run);
    store_bind_text(s, 3, step);
    store_bind_int(s, 4, t->d->now);
    store_bind_text(s, 5, outcome);
    store_bind_text(s, 6, detail);
    siyu_err e;
    siyu_err_init(&e);
    if (store_exec(s, &e)) t->log_failed = true; /* the unit around it fails */
    siyu_err_clear(&e);
}

static void jlog(tick *t, int64_t journey, int64_t run, const char *step, const char *outcome)
{
    jlog_detail(t, journey, run, step, outcome, NULL);
}

/* Notes a failure in the tick's answer. */
static void note_failure(tick *t, int64_t journey, int64_t run, const char *step, const char *error)
{
    t->failed++;
    if (json_array_size(t->errors) < MAX_ERRORS)
        json_array_append_new(t->errors, json_pack("{s:I, s:I, s:s, s:s}", "journey_id",
                                                   (json_int_t)journey, "run_id", (json_int_t)run,
                                                   "step", step ? step : "", "error", error));
}

/* Starts a unit of work: a savepoint of its own inside the tick's transaction. */
static int unit_begin(tick *t, siyu_err *e)
{
    t->log_failed = false;
    return store_savepoint(t->d->conn, e);
}

/* Ends a unit: kept when rc is 0 and its log was written, undone otherwise (with the
 * reason in e). Returns 0 when kept. */
static int unit_end(tick *t, int rc, siyu_err *e)
{
    if (rc == 0 && t->log_failed) {
        rc = -1;
        siyu_err_set(e, SIYU_INTERNAL, NULL, "store: journey log: %s", store_errmsg(t->d->conn));
    }
    if (rc == 0) {
        store_savepoint_release(t->d->conn);
        return 0;
    }
    store_savepoint_undo(t->d->conn);
    return -1;
}

/* A unit of a run failed and was undone: the run ends as failed with the error, in a
 * savepoint of its own. -1 only when the store cannot record that (the tick fails). */
static int run_fail(tick *t, int64_t journey, int64_t run_id, const char *step, const char *error,
                    siyu_err *e)
{
    const char *msg = error && *error ? error : "failed";
    if (unit_begin(t, e)) return -1;
    int rc = 0;
    if (run_id) {
        store_stmt *s = store_q(t->d->conn, Q_RUN_FAIL);
        store_bind_int(s, 1, t->d->now);
        store_bind_text(s, 2, msg);
        store_bind_int(s, 3, run_id);
        rc = store_exec(s, e);
    }
    if (rc == 0) jlog_detail(t, journey, run_id, step ? step : "entry", "failed", msg);
    if (unit_end(t, rc, e)) return -1;
    note_failure(t, journey, run_id, step, msg);
    return 0;
}

static int64_t day_start(int32_t day)
{
    return (int64_t)day * 86400 - SIYU_LOCAL_OFFSET_S;
}

static int minute_of_day(int64_t t)
{
    return (int)((t - day_start(time_local_day(t))) / 60);
}

/* The next instant at local minute m of the day, after t. */
static int64_t next_minute(int64_t t, int m)
{
    int32_t day = time_local_day(t);
    int64_t at = day_start(day) + m * 60;
    return at > t ? at : day_start(day + 1) + m * 60;
}

/* ---------------- entering ---------------- */

/* One member entering one journey (if the audience, re-entry and "never twice at once"
 * allow), at the instant its trigger happened. In the caller's unit. */
static int enrol_in(tick *t, loaded *j, int64_t member, int64_t trigger_at, siyu_err *e)
{
    dom *d = t->d;
    if (!j->x_ok || !j_admits(t->idx, &j->x, member)) return 0;
    /* an erased member asked to be forgotten: an order a till still posts under their id
     * counts in the figures, but starts nothing (docs/privacy.md) */
    if (members_erased(d, member, NULL)) return 0;
    store_stmt *s = store_q(d->conn, Q_RUN_ACTIVE_FOR);
    store_bind_int(s, 1, j->id);
    store_bind_int(s, 2, member);
    bool active = store_step(s) == STORE_ROW;
    store_reset(s);
    if (active) /* never in the same journey twice at once */
        return 0;
    if (j->spec.reentry != J_REENTER_ALWAYS) {
        s = store_q(d->conn, Q_RUN_LAST_ENTRY);
        store_bind_int(s, 1, j->id);
        store_bind_int(s, 2, member);
        int64_t last =
            store_step(s) == STORE_ROW && !store_col_null(s, 0) ? store_col_int(s, 0) : 0;
        store_reset(s);
        if (last &&
            (j->spec.reentry == J_REENTER_ONCE || last > d->now - j->spec.reentry_days * 86400))
            return 0;
    }
    s = store_q(d->conn, Q_RUN_INSERT_AT);
    store_bind_int(s, 1, j->id);
    store_bind_int(s, 2, member);
    store_bind_text(s, 3, j->spec.steps[0].id);
    store_bind_int(s, 4, 0);
    store_bind_int(s, 5, d->now);
    store_bind_int(s, 6, msg_in_holdout(member, j->id, (int)j->spec.holdout_pct));
    store_bind_int(s, 7, d->now);
    /* an event reported late still counts from when it happened; never from the future */
    store_bind_int(s, 8, trigger_at > 0 && trigger_at < d->now ? trigger_at : d->now);
    if (store_exec(s, e)) return -1;
    jlog(t, j->id, store_last_id(d->conn), "entry", "entered");
    t->entered++;
    return 0;
}

/* enrol_in as a unit of its own: a member who cannot enter is counted and logged,
 * and the tick goes on. */
static int enrol(tick *t, loaded *j, int64_t member, int64_t trigger_at, siyu_err *e)
{
    if (unit_begin(t, e)) return -1;
    int64_t before = t->entered;
    siyu_err sub;
    siyu_err_init(&sub);
    int rc = enrol_in(t, j, member, trigger_at, &sub);
    if (unit_end(t, rc, &sub)) {
        t->entered = before;
        char msg[320];
        snprintf(msg, sizeof msg, "member %lld: %s", (long long)member, sub.message);
        siyu_err_clear(&sub);
        return run_fail(t, j->id, 0, "entry", msg, e);
    }
    siyu_err_clear(&sub);
    return 0;
}

/* ---------------- events since the last tick ---------------- */

static const struct source {
    const char *name;
    store_query q;
    int event; /* -1: from the events table's type */
    int start_col;
} sources[] = {
    {"members", Q_SRC_MEMBERS, J_EV_MEMBER_JOINED, 0},
    {"orders", Q_SRC_ORDERS, J_EV_ORDER_PAID, 1},
    {"refunds", Q_SRC_REFUNDS, J_EV_REFUND, 2},
    {"tiers", Q_SRC_TIERS, J_EV_TIER_CHANGED, 3},
    {"coupons", Q_SRC_COUPONS, J_EV_COUPON_RECEIVED, 4},
    {"events", Q_SRC_EVENTS, -1, 5},
};
#define N_SOURCES (sizeof sources / sizeof *sources)

/* The name of a journey's activation watermark for a source. */
static void watermark_name(int64_t journey, int source, char *buf, size_t len)
{
    snprintf(buf, len, "journey:%lld:%s", (long long)journey, sources[source].name);
}

int j_activation_mark(dom *d, int64_t journey, siyu_err *e)
{
    int64_t start[N_SOURCES] = {0};
    store_stmt *s = store_q(d->conn, Q_JCURSOR_START);
    if (store_step(s) == STORE_ROW)
        for (size_t c = 0; c < N_SOURCES; c++)
            start[c] = store_col_int(s, (int)c);
    store_reset(s);
    for (size_t k = 0; k < N_SOURCES; k++) {
        /* the journey reacts to what is committed from now on ... */
        char name[64];
        watermark_name(journey, (int)k, name, sizeof name);
        s = store_q(d->conn, Q_JCURSOR_PUT);
        store_bind_text(s, 1, name);
        store_bind_int(s, 2, start[k]);
        if (store_exec(s, e)) return -1;
        /* ... and the scheduler, if it never ran, reads from here: events committed
         * before its first tick are not lost */
        s = store_q(d->conn, Q_JCURSOR_GET);
        store_bind_text(s, 1, sources[k].name);
        bool have = store_step(s) == STORE_ROW;
        store_reset(s);
        if (!have) {
            s = store_q(d->conn, Q_JCURSOR_PUT);
            store_bind_text(s, 1, sources[k].name);
            store_bind_int(s, 2, start[k]);
            if (store_exec(s, e)) return -1;
        }
    }
    return 0;
}

/* A run waiting for ev moves on to its next step, in a unit of its own. */
static int move_waiting(tick *t, int64_t run_id, int ev, siyu_err *e);
/* A run reached its goal at `at`. */
static int set_goal(tick *t, int64_t run_id, int64_t journey, int64_t at, siyu_err *e);

static int on_event(tick *t, int ev, int source, int64_t id, int64_t member, int64_t at,
                    siyu_err *e)
{
    dom *d = t->d;
    t->events++;
    /* runs waiting for it move on now */
    store_stmt *s = store_q(d->conn, Q_RUNS_WAITING);
    store_bind_int(s, 1, member);
    store_bind_text(s, 2, j_event_names[ev]);
    int64_t waiting[16];
    int nw = 0;
    while (store_step(s) == STORE_ROW && nw < 16)
        waiting[nw++] = store_col_int(s, 0);
    store_reset(s);
    for (int i = 0; i < nw; i++)
        if (move_waiting(t, waiting[i], ev, e)) return -1;
    /* goals: runs that entered within the goal's window before this event */
    s = store_q(d->conn, Q_RUNS_GOAL_OPEN);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, at - 366 * 86400);
    int64_t runs[32][3];
    int nr = 0;
    while (store_step(s) == STORE_ROW && nr < 32) {
        runs[nr][0] = store_col_int(s, 0);
        runs[nr][1] = store_col_int(s, 1);
        runs[nr][2] = store_col_int(s, 2);
        nr++;
    }
    store_reset(s);
    for (int i = 0; i < nr; i++) {
        loaded *j = journey_of(t, runs[i][1]);
        if (!j || j->spec.goal_event != ev || at < runs[i][2] ||
            at > runs[i][2] + j->spec.goal_within)
            continue;
        if (set_goal(t, runs[i][0], runs[i][1], at, e)) return -1;
    }
    /* event triggers: journeys activated before this event was committed */
    for (int i = 0; i < t->n; i++) {
        loaded *j = &t->j[i];
        if (j->ok && j->spec.trigger == J_TRIG_EVENT && j->spec.event == ev &&
            id > j->since[source] && enrol(t, j, member, at, e))
            return -1;
    }
    return 0;
}

static int read_events(tick *t, int limit, siyu_err *e)
{
    dom *d = t->d;
    int64_t start[N_SOURCES] = {0};
    bool have_start = false;
    for (size_t k = 0; k < N_SOURCES; k++) {
        store_stmt *s = store_q(d->conn, Q_JCURSOR_GET);
        store_bind_text(s, 1, sources[k].name);
        int64_t after = -1;
        if (store_step(s) == STORE_ROW) after = store_col_int(s, 0);
        store_reset(s);
        if (after < 0) {
            /* no journey was ever activated (activation starts the cursors): history
             * triggers nothing */
            if (!have_start) {
                s = store_q(d->conn, Q_JCURSOR_START);
                if (store_step(s) == STORE_ROW)
                    for (size_t c = 0; c < N_SOURCES; c++)
                        start[c] = store_col_int(s, (int)c);
                store_reset(s);
                have_start = true;
            }
            after = start[sources[k].start_col];
        } else {
            s = store_q(d->conn, sources[k].q);
            store_bind_int(s, 1, after);
            store_bind_int(s, 2, limit);
            size_t n = 0, cap = 64;
            struct row {
                int64_t id, member, at;
                int ev;
            } *rows = malloc(cap * sizeof *rows);
            while (store_step(s) == STORE_ROW) {
                int ev = sources[k].event;
                if (ev < 0) {
                    const char *type = store_col_text(s, 3);
                    ev = strcmp(type, "live_view") == 0       ? J_EV_LIVE_VIEW
                         : strcmp(type, "join_group") == 0    ? J_EV_JOINED_GROUP
                         : strcmp(type, "contact_added") == 0 ? J_EV_CONTACT_ADDED
                                                              : -1;
                }
                if (n == cap) rows = realloc(rows, (cap *= 2) * sizeof *rows);
                rows[n++] =
                    (struct row){store_col_int(s, 0), store_col_int(s, 1), store_col_int(s, 2), ev};
            }
            store_reset(s);
            for (size_t i = 0; i < n; i++) {
                if (rows[i].ev >= 0 &&
                    on_event(t, rows[i].ev, (int)k, rows[i].id, rows[i].member, rows[i].at, e)) {
                    free(rows);
                    return -1;
                }
                after = rows[i].id;
            }
            free(rows);
        }
        store_stmt *p = store_q(d->conn, Q_JCURSOR_PUT);
        store_bind_text(p, 1, sources[k].name);
        store_bind_int(p, 2, after);
        if (store_exec(p, e)) return -1;
    }
    return 0;
}

/* ---------------- date triggers, once per local day ---------------- */

static int date_triggers(tick *t, siyu_err *e)
{
    dom *d = t->d;
    if (!t->idx) return 0;
    int32_t today = time_local_day(d->now);
    int minute = minute_of_day(d->now);
    for (int i = 0; i < t->n; i++) {
        loaded *j = &t->j[i];
        if (!j->ok || j->spec.trigger == J_TRIG_EVENT || j->spec.trigger == J_TRIG_SEGMENT)
            continue;
        store_stmt *s = store_q(d->conn, Q_JOURNEY_GET);
        store_bind_int(s, 1, j->id);
        int32_t last = -1;
        if (store_step(s) == STORE_ROW && !store_col_null(s, 5))
            last = (int32_t)store_col_int(s, 5);
        store_reset(s);
        if (last >= today) continue;
        if (j->spec.trigger == J_TRIG_SCHEDULE && minute < j->spec.at_minute) continue;
        if (j->spec.trigger == J_TRIG_FIXED_DATE && today != j->spec.on_day) continue;
        seg_audience a = {0};
        siyu_err sub;
        siyu_err_init(&sub);
        int rc = j_date_audience(&j->spec, &j->x, t->idx, today, 0, &a, &sub);
        if (rc) {
            /* the journey's segment no longer evaluates: nobody enters today */
            char msg[320];
            snprintf(msg, sizeof msg, "%s", sub.message);
            siyu_err_clear(&sub);
            if (run_fail(t, j->id, 0, "entry", msg, e)) return -1;
        }
        siyu_err_clear(&sub);
        for (size_t k = 0; rc == 0 && k < a.count; k++)
            if (enrol(t, j, a.ids[k], d->now, e)) {
                seg_audience_release(&a);
                return -1;
            }
        seg_audience_release(&a);
        s = store_q(d->conn, Q_JOURNEY_SET_LAST_DAY);
        store_bind_int(s, 1, today);
        store_bind_int(s, 2, j->id);
        if (store_exec(s, e)) return -1;
    }
    return 0;
}

/* ---------------- entering a segment ----------------
 * Every SEGMENT_EVERY seconds the journey's segment is evaluated and compared with who
 * was in it last time (journey_segment_members): the newcomers enter. The first look
 * only records who is there — being in the segment already is not entering it. */
#define SEGMENT_EVERY 300

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int segment_triggers(tick *t, siyu_err *e)
{
    dom *d = t->d;
    if (!t->idx) return 0;
    for (int i = 0; i < t->n; i++) {
        loaded *j = &t->j[i];
        if (!j->ok || j->spec.trigger != J_TRIG_SEGMENT || !j->x_ok) continue;
        char name[40];
        snprintf(name, sizeof name, "segment:%lld", (long long)j->id);
        store_stmt *s = store_q(d->conn, Q_JCURSOR_GET);
        store_bind_text(s, 1, name);
        int64_t last = -1;
        if (store_step(s) == STORE_ROW) last = store_col_int(s, 0);
        store_reset(s);
        if (last >= 0 && d->now - last < SEGMENT_EVERY) continue;
        seg_audience a = {0};
        seg_error se;
        if (seg_select(t->idx, j->x.segment, NULL, &a, &se)) {
            if (run_fail(t, j->id, 0, "entry", se.msg, e)) return -1;
            continue; /* a segment that no longer evaluates: the journey waits for a fix */
        }
        /* the previous members, ascending; the audience sorted the same way */
        size_t np = 0, cap = 1024;
        int64_t *prev = malloc(cap * sizeof *prev);
        s = store_q(d->conn, Q_JSEG_LIST);
        store_bind_int(s, 1, j->id);
        while (store_step(s) == STORE_ROW) {
            if (np == cap) prev = realloc(prev, (cap *= 2) * sizeof *prev);
            prev[np++] = store_col_int(s, 0);
        }
        store_reset(s);
        if (a.count) qsort(a.ids, a.count, sizeof *a.ids, cmp_i64);
        int rc = 0;
        size_t x = 0, y = 0;
        while (rc == 0 && (x < a.count || y < np)) {
            if (y == np || (x < a.count && a.ids[x] < prev[y])) { /* entered */
                s = store_q(d->conn, Q_JSEG_ADD);
                store_bind_int(s, 1, j->id);
                store_bind_int(s, 2, a.ids[x]);
                rc = store_exec(s, e);
                if (rc == 0 && last >= 0) rc = enrol(t, j, a.ids[x], d->now, e);
                x++;
            } else if (x == a.count || prev[y] < a.ids[x]) { /* left */
                s = store_q(d->conn, Q_JSEG_REMOVE);
                store_bind_int(s, 1, j->id);
                store_bind_int(s, 2, prev[y]);
                rc = store_exec(s, e);
                y++;
            } else {
                x++;
                y++;
            }
        }
        free(prev);
        seg_audience_release(&a);
        if (rc) return -1;
        s = store_q(d->conn, Q_JCURSOR_PUT);
        store_bind_text(s, 1, name);
        store_bind_int(s, 2, d->now);
        if (store_exec(s, e)) return -1;
    }
    return 0;
}

/* ---------------- steps ---------------- */

typedef struct run {
    int64_t id, journey, member, next_at, task_id;
    int step_index, channel_try;
    char step[J_ID_LEN], wait[32];
    bool holdout, goal;
    int jump; /* set by a branch: the step to go to, -1 for the next */
} run;

static int run_load(dom *d, int64_t id, run *r)
{
    store_stmt *s = store_q(d->conn, Q_RUN_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW || strcmp(store_col_text(s, 3), "active") != 0) {
        store_reset(s);
        return -1;
    }
    memset(r, 0, sizeof *r);
    r->id = id;
    r->journey = store_col_int(s, 1);
    r->member = store_col_int(s, 2);
    snprintf(r->step, sizeof r->step, "%s", store_col_null(s, 4) ? "" : store_col_text(s, 4));
    r->step_index = (int)store_col_int(s, 5);
    r->next_at = store_col_null(s, 6) ? 0 : store_col_int(s, 6);
    snprintf(r->wait, sizeof r->wait, "%s", store_col_null(s, 7) ? "" : store_col_text(s, 7));
    r->holdout = store_col_int(s, 8) != 0;
    r->goal = !store_col_null(s, 10);
    r->task_id = store_col_null(s, 11) ? 0 : store_col_int(s, 11);
    r->channel_try = (int)store_col_int(s, 12);
    store_reset(s);
    return 0;
}

static int run_save(dom *d, const run *r, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_RUN_UPDATE);
    store_bind_text(s, 1, r->step);
    store_bind_int(s, 2, r->step_index);
    if (r->next_at) store_bind_int(s, 3, r->next_at);
    if (r->wait[0]) store_bind_text(s, 4, r->wait);
    if (r->task_id) store_bind_int(s, 5, r->task_id);
    store_bind_int(s, 6, r->channel_try);
    store_bind_int(s, 7, r->id);
    return store_exec(s, e);
}

static void goto_step(const j_spec *sp, run *r, int ix)
{
    r->step_index = ix;
    snprintf(r->step, sizeof r->step, "%s", ix < sp->n_steps ? sp->steps[ix].id : "");
    r->wait[0] = 0;
    r->task_id = 0;
    r->channel_try = 0;
}

/* The values a template may use, for this member (absent ones stay absent). */
static json_t *member_vars(dom *d, int64_t member, const run *r, const j_spec *sp, int upto)
{
    json_t *v = json_object();
    store_stmt *s = store_q(d->conn, Q_MEMBER_GET);
    store_bind_int(s, 1, member);
    int64_t store_id = 0, guide_id = 0;
    if (store_step(s) == STORE_ROW) {
        if (!store_col_null_by(s, "name"))
            json_object_set_new(v, "member.name", json_string(store_col_text_by(s, "name")));
        store_id = store_col_opt_by(s, "store_id");
        guide_id = store_col_opt_by(s, "guide_id");
    }
    store_reset(s);
    if (store_id) {
        s = store_q(d->conn, Q_STORE_GET);
        store_bind_int(s, 1, store_id);
        if (store_step(s) == STORE_ROW)
            json_object_set_new(v, "store.name", json_string(store_col_text(s, 1)));
        store_reset(s);
    }
    if (guide_id) {
        s = store_q(d->conn, Q_STAFF_GET);
        store_bind_int(s, 1, guide_id);
        if (store_step(s) == STORE_ROW)
            json_object_set_new(v, "guide.name", json_string(store_col_text(s, 1)));
        store_reset(s);
    }
    char tier[64];
    int64_t points;
    if (loyalty_member_state(d->conn, member, tier, sizeof tier, &points) == 0) {
        if (tier[0]) json_object_set_new(v, "member.tier", json_string(tier));
        char n[24];
        snprintf(n, sizeof n, "%lld", (long long)points);
        json_object_set_new(v, "points.balance", json_string(n));
    }
    json_object_set_new(v, "journey.name", json_string(sp->name));
    /* the coupon the last issue_coupon step before this one gave */
    for (int i = upto - 1; i >= 0; i--)
        if (sp->steps[i].kind == J_COUPON) {
            char ref[96];
            snprintf(ref, sizeof ref, "j%lld-%s:%lld", (long long)r->id, sp->steps[i].id,
                     (long long)member);
            json_t *c = NULL;
            s = store_q(d->conn, Q_COUPON_BY_REF);
            store_bind_text(s, 1, ref);
            char code[32] = "";
            if (store_step(s) == STORE_ROW) snprintf(code, sizeof code, "%s", store_col_text(s, 0));
            store_reset(s);
            siyu_err e;
            siyu_err_init(&e);
            if (code[0] && coupons_get(d, code, &c, &e) >= 0) {
                json_object_set_new(v, "coupon.code", json_string(code));
                json_object_set(v, "coupon.name", json_object_get(c, "name"));
                const char *exp = json_string_value(json_object_get(c, "expires_at"));
                if (exp) /* the last valid day, not the instant it lapses */
                {
                    int64_t at;
                    if (time_parse_rfc3339(exp, &at) == 0) {
                        char day[16];
                        date_format(time_local_day(at - 1), day, sizeof day);
                        json_object_set_new(v, "coupon.expires_on", json_string(day));
                    }
                }
            }
            json_decref(c);
            siyu_err_clear(&e);
            break;
        }
    return v;
}

/* The member as the guardrails see it: the channels it can be reached on (from its
 * events; webhook always), those it opted out of, and its recent marketing sends. */
typedef struct guard_member {
    msg_member_state st;
    msg_send hist[256];
} guard_member;

static void guard_member_load(dom *d, const msg_guard_settings *gs, int64_t member, guard_member *g)
{
    memset(g, 0, sizeof *g);
    g->st.tz_offset_s = MSG_TZ_DEFAULT;
    j_member_consent(d, member, &g->st.consent, &g->st.opted_out);
    store_stmt *s;
    /* enough history for the budget window and the calendar month */
    int64_t since = d->now - (gs->budget_window_s > 32 * 86400 ? gs->budget_window_s : 32 * 86400);
    s = store_q(d->conn, Q_MESSAGES_HISTORY);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, since);
    size_t n = 0;
    while (store_step(s) == STORE_ROW && n < sizeof g->hist / sizeof *g->hist) {
        const char *name = store_col_text(s, 1);
        int ch = msg_channel_from_name(name, strlen(name));
        if (ch >= 0) g->hist[n++] = (msg_send){store_col_int(s, 0), (msg_channel)ch};
    }
    store_reset(s);
    g->st.history = g->hist;
    g->st.n_history = n;
}

/* Result of one step: move on, or stop here until the timer. */
enum { STEP_NEXT, STEP_WAIT, STEP_END };

static int step_send(tick *t, loaded *j, run *r, const j_step *st, int ix, siyu_err *e)
{
    dom *d = t->d;
    if (strcmp(r->wait, "@confirmed") == 0) {
        jlog(t, j->id, r->id, st->id, "sent");
        return STEP_NEXT;
    }
    if (strcmp(r->wait, "@task") == 0) {
        /* the guide did not confirm in time: give up the task, try the next channel */
        store_stmt *s = store_q(d->conn, Q_TASK_SET_STATE);
        store_bind_text(s, 1, "expired");
        store_bind_int(s, 2, d->now);
        store_bind_int(s, 3, r->task_id);
        if (store_exec(s, e)) return -1;
        s = store_q(d->conn, Q_MESSAGE_GUIDE_DONE);
        store_bind_text(s, 1, "skipped");
        store_bind_int(s, 2, d->now);
        store_bind_int(s, 3, r->id);
        if (store_exec(s, e)) return -1;
        jlog(t, j->id, r->id, st->id, "guide_timeout");
        r->channel_try++;
        r->wait[0] = 0;
        r->task_id = 0;
    }
    if (r->holdout) {
        jlog(t, j->id, r->id, st->id, "held_out");
        return STEP_NEXT;
    }
    /* The guardrails (src/messaging): consent and opt-out per channel, staleness (a
     * paused journey never releases a burst), one budget across journeys and channels,
     * the platform's monthly cap, quiet hours. A channel refused for consent or its cap
     * falls to the next; staleness and the budget skip the step; quiet hours (or a
     * budget that frees up soon) defer it. */
    msg_guard_settings gs = t->guard;
    gs.stale_after_s = j->spec.staleness;
    guard_member gm;
    guard_member_load(d, &gs, r->member, &gm);
    const char *channel = NULL;
    const char *why = "unreachable";
    json_t *address = NULL;
    for (int c = r->channel_try; c < st->n_channels && !channel; c++) {
        int ch = msg_channel_from_name(st->channels[c], strlen(st->channels[c]));
        msg_decision dec = msg_guard_decide(&gs, &gm.st, (msg_channel)ch,
                                            r->next_at ? r->next_at : d->now, d->now);
        if (dec.verdict == MSG_SEND_NOW) {
            /* the address for the channel, from the member's identities (outbox.c) */
            const char *missing;
            if (!(address = j_message_address(d, r->member, st->channels[c], &missing))) {
                why = "no_address";
                continue;
            }
            channel = st->channels[c];
            r->channel_try = c;
        } else if (dec.verdict == MSG_DEFER) {
            r->next_at = dec.until;
            snprintf(r->wait, sizeof r->wait, "@deferred");
            char o[48];
            snprintf(o, sizeof o, "deferred_%s", msg_reason_name(dec.reason));
            jlog(t, j->id, r->id, st->id, o);
            return STEP_WAIT;
        } else if (dec.reason == MSG_REASON_STALE || dec.reason == MSG_REASON_BUDGET) {
            jlog(t, j->id, r->id, st->id, msg_reason_name(dec.reason));
            return STEP_NEXT;
        } else {
            why = dec.reason == MSG_REASON_PLATFORM_CAP    ? "platform_cap"
                  : dec.reason == MSG_REASON_FREQUENCY_CAP ? "frequency_cap"
                                                           : "unreachable";
        }
    }
    if (!channel) {
        jlog(t, j->id, r->id, st->id, why);
        return STEP_NEXT;
    }
    json_t *vars = member_vars(d, r->member, r, &j->spec, ix);
    char *body = j_template_render(st->template_text, vars);
    /* a WeChat template message: its template id and rendered data fields (template.c) */
    json_t *wx = body && strcmp(channel, "wechat_template") == 0
                     ? j_wx_template_render(st->wechat_template, vars)
                     : NULL;
    json_decref(vars);
    if (!body || (strcmp(channel, "wechat_template") == 0 && !wx)) {
        free(body);
        json_decref(address);
        jlog(t, j->id, r->id, st->id, "missing_variable");
        return STEP_NEXT;
    }
    char *to_text = json_dumps(address, JSON_COMPACT | JSON_SORT_KEYS);
    char *wx_text = wx ? json_dumps(wx, JSON_COMPACT) : NULL;
    json_decref(address);
    json_decref(wx);
    bool wecom = strcmp(channel, "wecom") == 0;
    store_stmt *s = store_q(d->conn, Q_MESSAGE_INSERT);
    store_bind_int(s, 1, j->id);
    store_bind_int(s, 2, r->id);
    store_bind_int(s, 3, r->member);
    store_bind_text(s, 4, channel);
    store_bind_text(s, 5, body);
    store_bind_text(s, 6, wecom ? "awaiting_guide" : "queued");
    if (!wecom) store_bind_int(s, 7, d->now);
    store_bind_int(s, 8, d->now);
    store_bind_text(s, 9, to_text);
    store_bind_text(s, 10, wx_text);
    int rc = store_exec(s, e);
    free(to_text);
    free(wx_text);
    int64_t message = store_last_id(d->conn);
    if (rc == 0 && wecom) {
        /* Enterprise WeChat sends only when a guide confirms: the message becomes a task */
        int64_t guide = 0;
        store_stmt *g = store_q(d->conn, Q_MEMBER_GET);
        store_bind_int(g, 1, r->member);
        if (store_step(g) == STORE_ROW && !store_col_null_by(g, "guide_id"))
            guide = store_col_int_by(g, "guide_id");
        store_reset(g);
        s = store_q(d->conn, Q_TASK_INSERT);
        if (guide) store_bind_int(s, 1, guide);
        store_bind_int(s, 2, r->member);
        store_bind_int(s, 3, j->id);
        store_bind_int(s, 4, r->id);
        store_bind_text(s, 5, "wecom_send");
        store_bind_text(s, 6, body);
        store_bind_text(s, 7, "wecom");
        store_bind_int(s, 8, d->now + st->timeout);
        store_bind_int(s, 9, d->now);
        rc = store_exec(s, e);
        r->task_id = store_last_id(d->conn);
        r->next_at = d->now + st->timeout;
        snprintf(r->wait, sizeof r->wait, "@task");
        (void)message;
    }
    free(body);
    if (rc) return -1;
    if (wecom) {
        jlog(t, j->id, r->id, st->id, "awaiting_guide");
        return STEP_WAIT;
    }
    jlog(t, j->id, r->id, st->id, "sent");
    t->sent++;
    return STEP_NEXT;
}

/* For the dry run: the member's consent state as the engine sees it (no history). */
void j_member_guard_state(dom *d, const msg_guard_settings *gs, int64_t member,
                          msg_member_state *out)
{
    guard_member *g = malloc(sizeof *g);
    guard_member_load(d, gs, member, g);
    *out = g->st;
    out->history = NULL;
    out->n_history = 0;
    free(g);
}

/* ---- one function per step kind: each returns STEP_NEXT, STEP_WAIT or STEP_END, or -1
 * with e when the step failed (its unit is undone and the run fails) ---- */

static int step_wait(tick *t, loaded *j, run *r, const j_step *st, int ix, siyu_err *e)
{
    dom *d = t->d;
    (void)ix;
    if (r->wait[0] == 0) { /* arriving: set the timer */
        if (st->after_trigger >= 0) {
            store_stmt *s = store_q(d->conn, Q_RUN_TRIGGER_AT);
            store_bind_int(s, 1, r->id);
            if (store_step(s) != STORE_ROW) {
                store_reset(s);
                return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: run %lld: %s", (long long)r->id,
                                    store_errmsg(d->conn));
            }
            int64_t at = store_col_int(s, 0) + st->after_trigger;
            store_reset(s);
            if (at <= d->now) {
                /* already past: on at once, and what follows is as late as that instant
                 * (a send due long ago is stale, never a burst of overdue messages) */
                r->next_at = at;
                jlog(t, j->id, r->id, st->id, "waited");
                return STEP_NEXT;
            }
            r->next_at = at;
            snprintf(r->wait, sizeof r->wait, "@timer");
        } else if (st->duration) {
            r->next_at = d->now + st->duration;
            snprintf(r->wait, sizeof r->wait, "@timer");
        } else if (st->until_minute >= 0) {
            r->next_at = next_minute(d->now, st->until_minute);
            snprintf(r->wait, sizeof r->wait, "@timer");
        } else {
            r->next_at = d->now + st->timeout;
            snprintf(r->wait, sizeof r->wait, "%s", j_event_names[st->for_event]);
        }
        return STEP_WAIT;
    }
    if (r->next_at > d->now) return STEP_WAIT;
    jlog(t, j->id, r->id, st->id, st->for_event >= 0 ? "timeout" : "waited");
    return STEP_NEXT;
}

static int step_branch(tick *t, loaded *j, run *r, const j_step *st, int ix, siyu_err *e)
{
    bool yes = r->goal;
    if (!st->if_goal) {
        seg_error se;
        if (!t->idx) return siyu_err_set(e, SIYU_INTERNAL, NULL, "no member index to evaluate if");
        if (!j->x.branch[ix])
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, NULL, "steps[%d].if: %s", ix,
                                j->x_error[0] ? j->x_error : "does not compile");
        if (seg_match(t->idx, j->x.branch[ix], r->member, &yes, &se))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, NULL, "steps[%d].if: %s", ix, se.msg);
    }
    r->jump = yes ? st->then_ix : st->else_ix;
    jlog(t, j->id, r->id, st->id, yes ? "yes" : "no");
    return STEP_NEXT;
}

/* A coupon the member could not get (its limit, the stock) is an outcome of the step,
 * not a failure of the run: coupon_failed with the reason, and the run goes on. */
static int step_coupon(tick *t, loaded *j, run *r, const j_step *st, int ix, siyu_err *e)
{
    dom *d = t->d;
    (void)ix;
    if (r->holdout) {
        jlog(t, j->id, r->id, st->id, "held_out");
        return STEP_NEXT;
    }
    char ext[80];
    snprintf(ext, sizeof ext, "j%lld-%s", (long long)r->id, st->id);
    json_t *b = json_pack("{s:I, s:I, s:s}", "template_id", (json_int_t)st->coupon_template,
                          "member_id", (json_int_t)r->member, "external_id", ext);
    json_t *o = NULL;
    siyu_err sub;
    siyu_err_init(&sub);
    if (store_savepoint(d->conn, e)) {
        json_decref(b);
        return -1;
    }
    int rc = coupons_issue(d, b, &o, &sub);
    if (rc < 0)
        store_savepoint_undo(d->conn);
    else
        store_savepoint_release(d->conn);
    jlog_detail(t, j->id, r->id, st->id, coupons_issue_outcome(rc, &sub),
                rc < 0 ? sub.message : NULL);
    json_decref(b);
    json_decref(o);
    siyu_err_clear(&sub);
    return STEP_NEXT;
}

static int step_points(tick *t, loaded *j, run *r, const j_step *st, int ix, siyu_err *e)
{
    dom *d = t->d;
    (void)ix;
    if (r->holdout) {
        jlog(t, j->id, r->id, st->id, "held_out");
        return STEP_NEXT;
    }
    json_t *b = json_pack("{s:I, s:s}", "delta", (json_int_t)st->points, "reason",
                          st->reason ? st->reason : j->spec.name);
    json_t *o = NULL;
    siyu_err sub;
    siyu_err_init(&sub);
    if (store_savepoint(d->conn, e)) {
        json_decref(b);
        return -1;
    }
    int rc = loyalty_points_post(d, r->member, b, &o, &sub);
    if (rc < 0)
        store_savepoint_undo(d->conn);
    else
        store_savepoint_release(d->conn);
    jlog_detail(t, j->id, r->id, st->id, rc < 0 ? "points_failed" : "points_awarded",
                rc < 0 ? sub.message : NULL);
    json_decref(b);
    json_decref(o);
    siyu_err_clear(&sub);
    return STEP_NEXT;
}

static int step_tag(tick *t, loaded *j, run *r, const j_step *st, int ix, siyu_err *e)
{
    dom *d = t->d;
    (void)ix;
    store_stmt *s = store_q(d->conn, Q_TAG_BY_NAME);
    store_bind_text(s, 1, st->tag);
    int64_t tag = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    if (!tag) { /* deleted since the journey was activated */
        jlog(t, j->id, r->id, st->id, "no_such_tag");
        return STEP_NEXT;
    }
    s = store_q(d->conn, st->kind == J_TAG_ADD ? Q_TAG_MEMBER_ADD : Q_TAG_MEMBER_REMOVE);
    store_bind_int(s, 1, tag);
    store_bind_int(s, 2, r->member);
    if (store_exec(s, e)) return -1;
    /* the index follows once the step's savepoint is kept (journey_tick's end) */
    if (t->n_moves == t->cap_moves) {
        t->cap_moves = t->cap_moves ? 2 * t->cap_moves : 64;
        t->moves = realloc(t->moves, t->cap_moves * sizeof *t->moves);
    }
    t->moves[t->n_moves++] = (struct tag_move){r->member, st->tag, st->kind == J_TAG_ADD};
    jlog(t, j->id, r->id, st->id, st->kind == J_TAG_ADD ? "tagged" : "untagged");
    return STEP_NEXT;
}

static int step_task(tick *t, loaded *j, run *r, const j_step *st, int ix, siyu_err *e)
{
    dom *d = t->d;
    if (r->holdout) {
        jlog(t, j->id, r->id, st->id, "held_out");
        return STEP_NEXT;
    }
    json_t *vars = member_vars(d, r->member, r, &j->spec, ix);
    char *script = j_template_render(st->script, vars);
    json_decref(vars);
    int64_t guide = 0;
    store_stmt *g = store_q(d->conn, Q_MEMBER_GET);
    store_bind_int(g, 1, r->member);
    if (store_step(g) == STORE_ROW && !store_col_null_by(g, "guide_id"))
        guide = store_col_int_by(g, "guide_id");
    store_reset(g);
    store_stmt *s = store_q(d->conn, Q_TASK_INSERT);
    if (guide) store_bind_int(s, 1, guide);
    store_bind_int(s, 2, r->member);
    store_bind_int(s, 3, j->id);
    store_bind_int(s, 4, r->id);
    store_bind_text(s, 5, "follow_up");
    store_bind_text(s, 6, script ? script : st->script);
    store_bind_int(s, 8, d->now + st->due);
    store_bind_int(s, 9, d->now);
    int rc = store_exec(s, e);
    free(script);
    if (rc) return -1;
    jlog(t, j->id, r->id, st->id, "task_created");
    return STEP_NEXT;
}

static int step_exit(tick *t, loaded *j, run *r, const j_step *st, int ix, siyu_err *e)
{
    (void)ix, (void)e;
    jlog(t, j->id, r->id, st->id, "exited");
    return STEP_END;
}

typedef int (*step_fn)(tick *, loaded *, run *, const j_step *, int, siyu_err *);
static const step_fn step_fns[] = {
    [J_WAIT] = step_wait,      [J_BRANCH] = step_branch, [J_SEND] = step_send,
    [J_COUPON] = step_coupon,  [J_POINTS] = step_points, [J_TAG_ADD] = step_tag,
    [J_TAG_REMOVE] = step_tag, [J_TASK] = step_task,     [J_EXIT] = step_exit,
};

static int run_end(dom *d, const run *r, const char *state, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_RUN_END);
    store_bind_text(s, 1, state);
    store_bind_int(s, 2, d->now);
    store_bind_int(s, 3, r->id);
    return store_exec(s, e);
}

/* One step of a run, with the run's move, as one unit. Out: the step's result. A step
 * that fails is undone and fails the run (*res = STEP_END). -1: the store failed. */
static int run_one_step(tick *t, loaded *j, run *r, int *res, siyu_err *e)
{
    dom *d = t->d;
    const j_spec *sp = &j->spec;
    /* find the step by id: an edit may have moved it; if it is gone, carry on from the
     * same position */
    int ix = j_step_index(sp, r->step);
    if (ix < 0) ix = r->step_index;
    run before = *r;
    size_t moves_before = t->n_moves;
    int64_t sent_before = t->sent;
    if (unit_begin(t, e)) return -1;
    siyu_err sub;
    siyu_err_init(&sub);
    int rc = 0;
    const char *step_id = "exit";
    if (ix >= sp->n_steps) {
        jlog(t, j->id, r->id, "exit", "completed");
        rc = run_end(d, r, "done", &sub);
        *res = STEP_END;
    } else {
        const j_step *st = &sp->steps[ix];
        step_id = st->id;
        r->jump = -1;
        rc = step_fns[st->kind](t, j, r, st, ix, &sub);
        if (rc >= 0) {
            *res = rc;
            rc = 0;
            if (*res == STEP_END) {
                rc = run_end(d, r, "exited", &sub);
            } else if (*res == STEP_NEXT) {
                goto_step(sp, r, r->jump >= 0 ? r->jump : ix + 1);
                /* next_at keeps the instant the run fell due: a send after a wait that
                 * ended during a pause is as stale as the wait's end, not fresh at resume */
                if (!r->next_at) r->next_at = d->now;
            }
            if (rc == 0 && *res != STEP_END) rc = run_save(d, r, &sub);
        }
    }
    if (unit_end(t, rc, &sub) == 0) {
        siyu_err_clear(&sub);
        return 0;
    }
    /* the step failed: its effects are undone, the run ends as failed */
    *r = before;
    t->n_moves = moves_before;
    t->sent = sent_before;
    *res = STEP_END;
    char msg[320];
    snprintf(msg, sizeof msg, "%s", sub.message[0] ? sub.message : "failed");
    siyu_err_clear(&sub);
    return run_fail(t, j->id, r->id, step_id, msg, e);
}

/* Runs the run's steps until it has to wait or ends. */
static int advance(tick *t, int64_t run_id, siyu_err *e)
{
    run r;
    if (run_load(t->d, run_id, &r)) return 0;
    loaded *j = journey_of(t, r.journey);
    if (!j) {
        bool unreadable = false;
        for (int i = 0; i < t->n; i++)
            unreadable |= t->j[i].id == r.journey && !t->j[i].ok;
        /* a definition the engine cannot read any more: its due runs would be fetched
         * every tick ahead of everyone else's, so they fail, with the reason */
        if (unreadable)
            return run_fail(t, r.journey, r.id, r.step, "the journey's definition no longer reads",
                            e);
        return 0;
    }
    t->advanced++;
    for (int guard = 0; guard < 2 * J_MAX_STEPS + 1; guard++) {
        int res = STEP_NEXT;
        if (run_one_step(t, j, &r, &res, e)) return -1;
        if (res != STEP_NEXT) return 0;
    }
    return 0;
}

static int move_waiting_in(tick *t, int64_t run_id, int ev, siyu_err *e)
{
    dom *d = t->d;
    run r;
    if (run_load(d, run_id, &r)) return 0;
    if (strcmp(r.wait, j_event_names[ev]) != 0) return 0;
    loaded *j = journey_of(t, r.journey);
    if (!j) return 0; /* paused: it stands still, and the timeout still applies */
    int cur = j_step_index(&j->spec, r.step);
    int next = (cur >= 0 ? cur : r.step_index) + 1;
    jlog(t, j->id, r.id, r.step, "event");
    goto_step(&j->spec, &r, next);
    r.next_at = d->now; /* due now: the tick advances it below */
    return run_save(d, &r, e);
}

static int move_waiting(tick *t, int64_t run_id, int ev, siyu_err *e)
{
    if (unit_begin(t, e)) return -1;
    siyu_err sub;
    siyu_err_init(&sub);
    int rc = move_waiting_in(t, run_id, ev, &sub);
    if (unit_end(t, rc, &sub) == 0) {
        siyu_err_clear(&sub);
        return 0;
    }
    char msg[320];
    snprintf(msg, sizeof msg, "%s", sub.message);
    siyu_err_clear(&sub);
    run r;
    if (run_load(t->d, run_id, &r)) return 0;
    return run_fail(t, r.journey, run_id, r.step, msg, e);
}

static int set_goal(tick *t, int64_t run_id, int64_t journey, int64_t at, siyu_err *e)
{
    if (unit_begin(t, e)) return -1;
    siyu_err sub;
    siyu_err_init(&sub);
    store_stmt *s = store_q(t->d->conn, Q_RUN_SET_GOAL);
    store_bind_int(s, 1, at);
    store_bind_int(s, 2, run_id);
    int rc = store_exec(s, &sub);
    if (unit_end(t, rc, &sub) == 0) {
        siyu_err_clear(&sub);
        return 0;
    }
    char msg[320];
    snprintf(msg, sizeof msg, "goal: %s", sub.message);
    siyu_err_clear(&sub);
    return run_fail(t, journey, run_id, "goal", msg, e);
}

/* ---------------- the tick ---------------- */

static void load_active(tick *t)
{
    store_stmt *s = store_q(t->d->conn, Q_JOURNEYS_ACTIVE);
    int64_t ids[MAX_ACTIVE];
    int n = 0;
    while (store_step(s) == STORE_ROW && n < MAX_ACTIVE)
        ids[n++] = store_col_int(s, 0);
    store_reset(s);
    for (int i = 0; i < n; i++) {
        loaded *j = &t->j[t->n++];
        memset(j, 0, sizeof *j);
        j->id = ids[i];
        siyu_err e;
        siyu_err_init(&e);
        j->ok = j_spec_load(t->d, ids[i], &j->spec, NULL, 0, &e) == 0;
        siyu_err_clear(&e);
        for (size_t k = 0; k < N_SOURCES; k++) {
            char name[64];
            watermark_name(j->id, (int)k, name, sizeof name);
            s = store_q(t->d->conn, Q_JCURSOR_GET);
            store_bind_text(s, 1, name);
            j->since[k] = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
            store_reset(s);
        }
        if (!j->ok) continue;
        /* the same compilation as the dry run's: an expression refused here (a tag
         * deleted since activation) lets nobody enter, and says why in the log */
        j->x_ok = j_compile(&j->spec, t->idx, &j->x, &e) == 0;
        if (!j->x_ok) {
            snprintf(j->x_error, sizeof j->x_error, "%s", e.message);
            note_failure(t, j->id, 0, "entry", j->x_error);
        }
        siyu_err_clear(&e);
    }
}

static void unload(tick *t)
{
    for (int i = 0; i < t->n; i++) {
        j_compiled_free(&t->j[i].x);
        j_spec_free(&t->j[i].spec);
    }
}

/* Tags moved by steps that were kept: the member index follows. */
static void apply_tag_moves(tick *t)
{
    for (size_t i = 0; t->idx && i < t->n_moves; i++) {
        seg_error se;
        int ti = seg_index_tag_find(t->idx, t->moves[i].tag);
        if (ti < 0) continue;
        if (t->moves[i].add)
            seg_index_tag_add(t->idx, ti, t->moves[i].member, &se);
        else
            seg_index_tag_remove(t->idx, ti, t->moves[i].member, &se);
    }
}

int journey_tick(dom *d, struct seg_index *idx, int limit, json_t **out, siyu_err *e)
{
    tick *t = calloc(1, sizeof *t);
    t->d = d;
    t->idx = idx;
    t->errors = json_array();
    if (limit <= 0) limit = 5000;
    load_active(t);
    int rc = journey_guardrails_load(d, &t->guard, e);
    if (rc == 0) rc = read_events(t, limit, e);
    if (rc == 0) rc = date_triggers(t, e);
    if (rc == 0) rc = segment_triggers(t, e);
    if (rc == 0) {
        size_t n = 0;
        int64_t *ids = malloc((size_t)limit * sizeof *ids);
        store_stmt *s = store_q(d->conn, Q_RUNS_DUE);
        store_bind_int(s, 1, d->now);
        store_bind_int(s, 2, limit);
        while (store_step(s) == STORE_ROW)
            ids[n++] = store_col_int(s, 0);
        store_reset(s);
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = advance(t, ids[i], e);
        free(ids);
    }
    /* the tag moves are applied now, inside the caller's transaction: a tick that
     * failed (rc) is rolled back whole, and its moves are dropped with it */
    if (rc == 0) apply_tag_moves(t);
    if (rc == 0 && out)
        *out =
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:O}", "events", (json_int_t)t->events, "entered",
                      (json_int_t)t->entered, "advanced", (json_int_t)t->advanced, "queued",
                      (json_int_t)t->sent, "failed", (json_int_t)t->failed, "errors", t->errors);
    json_decref(t->errors);
    free(t->moves);
    unload(t);
    free(t);
    return rc;
}
