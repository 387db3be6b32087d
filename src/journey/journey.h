/* journey.h — automated lifecycle marketing: journeys, their member runs, the outbox.
 *
 * A journey is a JSON definition (docs/journeys.md): a trigger, an optional audience,
 * steps, a goal, guardrails and a state (draft, active, paused, archived). Members who
 * trigger it get a run: a row with a durable timer (next_at) and the id of the step
 * it is on, so a restart resumes every wait and an edited journey never re-runs a
 * step a member has passed.
 *
 * Time moves through journey_tick, which the server calls every few seconds (and
 * tests call with a clock they control): it reads what happened since the last tick
 * (new members, orders, refunds, tier changes, coupons received, events) through
 * durable cursors, enrols members, evaluates date triggers once per local day, and
 * advances every run whose timer is due. Messages go into the outbox in the same
 * transaction as the step that sends them; journey_dispatch delivers the outbox
 * through each channel's adapter, outside any transaction. */
#ifndef SIYU_JOURNEY_JOURNEY_H
#define SIYU_JOURNEY_JOURNEY_H

#include "domain/domain.h"

struct seg_index;

/* ---- definitions (spec.c, compile.c, journeys.c) ----
 * Saving checks every field and everything the definition names: its expressions
 * (audience, entered_segment, a daily segment, a branch's if) with the segment parser,
 * its coupon templates and its (manual) tags in the store; activating and resuming
 * check them again. With an index (the server's), tag: and segment: references in the
 * expressions are checked too; without one (the demo's set-up, fuzzing) their syntax
 * only, and the engine checks them when it loads the journey. An error names the
 * field (400). */
int journeys_create(dom *d, json_t *body, json_t **out, siyu_err *e);
int journeys_create_with_index(dom *d, struct seg_index *idx, json_t *body, json_t **out,
                               siyu_err *e);
/* A new version of the definition; runs keep the step they are on. */
int journeys_update(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);
int journeys_update_with_index(dom *d, struct seg_index *idx, int64_t id, json_t *body,
                               json_t **out, siyu_err *e);
int journeys_get(dom *d, int64_t id, json_t **out, siyu_err *e);
int journeys_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e);
/* action: activate, pause, resume, archive. Activating (and resuming) re-checks what
 * the definition names; from then on the journey reacts to every qualifying event
 * committed after that moment, whenever the scheduler next ticks. */
int journeys_set_state(dom *d, int64_t id, const char *action, json_t **out, siyu_err *e);
int journeys_set_state_with_index(dom *d, struct seg_index *idx, int64_t id, const char *action,
                                  json_t **out, siyu_err *e);
/* Checks a definition without saving it; 0 or -1 with the field named. */
int journey_validate(json_t *spec, siyu_err *e);
/* The chain's guardrails for every journey: {budget_max, budget_window_days, quiet_hours,
 * stale_after_hours, time_zone, monthly_caps} (docs/messaging.md). */
int journeys_guardrails_put(dom *d, json_t *body, json_t **out, siyu_err *e);
int journeys_guardrails_get(dom *d, json_t **out, siyu_err *e);
/* Ready-made journeys: {items: [{key, name, definition, coupon_template?}]}. */
json_t *journey_library(void);
/* The coupon templates the ready-made journeys name, by id - 1 (NULL: an id no library
 * journey uses): the definitions `siyu demo` creates and coupon_template shows. */
extern const char *const journey_library_coupons[];
extern const int journey_library_coupon_count;

/* ---- running (engine.c) ---- */
/* One tick inside the caller's write transaction: events since the last tick, date
 * triggers for a new local day, due runs (at most limit). Every entry and every step
 * runs in its own savepoint (savepoints nest, so the caller may hold one too): a step
 * that fails is undone and fails its own run, never the tick. Returns -1 only when the
 * store fails (it cannot record even that). Out: {events, entered, advanced, queued,
 * failed, errors: [{journey_id, run_id, step, error}] (the first few)}. */
int journey_tick(dom *d, struct seg_index *idx, int limit, json_t **out, siyu_err *e);

/* ---- the outbox (outbox.c) ---- */
/* Delivers up to limit due messages: reads them in one transaction, calls the
 * adapters with no transaction open, records the outcomes in another. */
int journey_dispatch(store_t *st, int64_t now, int limit, json_t **out, siyu_err *e);
/* Where the outbox records what it delivered: begin lends a connection to write on, with
 * no transaction open (siyu serve: the group committer's, between two batches —
 * writer_lease), end gives it back: -1 when what was committed on it may not be durable. */
typedef struct journey_writer {
    int (*begin)(void *ctx, store_conn **c, siyu_err *e);
    int (*end)(void *ctx, siyu_err *e);
    void *ctx;
} journey_writer;
/* As journey_dispatch, writing through w (NULL: on a connection of its own). */
int journey_dispatch_with(store_t *st, const journey_writer *w, int64_t now, int limit,
                          json_t **out, siyu_err *e);
/* Messages the outbox recorded since start: sent, set to retry, dead, skipped (consent
 * withdrawn since the message was made). For /metrics. */
void journey_outbox_outcomes(unsigned long long out[4]);
int channels_put(dom *d, const char *name, json_t *body, json_t **out, siyu_err *e);
int channels_list(dom *d, json_t **out, siyu_err *e);
/* A member's messages (optionally of one status), or with no member every message of a
 * status (status=dead: the dead letters; HQ only). */
int messages_list(dom *d, int64_t member_id, const char *status, int64_t cursor, int limit,
                  json_t **out, siyu_err *e);
/* {message_id, status: delivered|failed|read, at?} from a channel's receipt callback */
int messages_receipt(dom *d, json_t *body, json_t **out, siyu_err *e);

/* ---- guide tasks and consent (tasks.c) ---- */
int tasks_list(dom *d, int64_t guide_id, const char *state, int64_t cursor, int limit, json_t **out,
               siyu_err *e);
/* action: done, confirm (a wecom send the guide made), skip; body (optional)
 * {outcome: done|sent|unreachable|refused, note} for done and confirm. A wecom send
 * confirmed unreachable or refused was not sent: its run moves on as if skipped. */
int tasks_act(dom *d, int64_t id, const char *action, json_t *body, json_t **out, siyu_err *e);
int tasks_get(dom *d, int64_t id, json_t **out, siyu_err *e);
/* A campaign script rendered for a member (0: none) and guide (template variables
 * member.name, member.tier, points.balance, store.name, guide.name); NULL when a
 * variable it uses is missing. */
char *tasks_script_render(dom *d, const char *text, int64_t member, int64_t guide);
/* {purpose, channel, granted, source?, text_version?, at?} — or the first shape
 * {channel, opted_out} (a marketing consent) — into the one consent model
 * (domain/consent.c); answers as consents_get. */
int consents_put(dom *d, int64_t member_id, json_t *body, json_t **out, siyu_err *e);
/* {member_id, consents: [{purpose, channel, granted, opted_out, source, text_version, at}]} */
int consents_get(dom *d, int64_t member_id, json_t **out, siyu_err *e);

/* ---- measuring (report.c) ---- */
int journeys_report(dom *d, int64_t id, json_t **out, siyu_err *e);
/* {days}: who would have entered over the last N days and reached each step. */
int journeys_dry_run(dom *d, struct seg_index *idx, int64_t id, json_t *body, json_t **out,
                     siyu_err *e);

#endif
