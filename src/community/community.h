/* community.h — store groups (社群): the community side of the chain (issue 16).
 *
 * Owns: groups (a store's, owned by a guide, with a theme, a cap and an owner state),
 * their people as stints (one stay of a customer or a staff member, join to quit) fed by
 * the bridge's WeCom-shaped group events, message activity as counts per person and
 * local day with a per-group-day roll-up (groups.c); join codes that fill a store's
 * groups of a theme in creation order with seats reserved for a few minutes, asking the
 * bridge for a new group when all are full (codes.c); group sale sessions, a group's
 * sales and the groups report — leaderboard, roll-ups, conversion against members in no
 * group (sales.c). Depends on domain, store, base.
 *
 * Like the domain, these calls check a parsed body completely, write through named
 * queries inside the caller's transaction (the group committer's) and answer JSON:
 * 201 created, 200 an existing thing, -1 with e filled. Scans are decided one after
 * another on the committer, so a group's cap is exact under any concurrency.
 *
 * Members are matched when read: a stint's person (external_userid) or unionid names a
 * member through identities, so a stranger in a group becomes a member the moment an
 * identity arrives, merges follow, and an erasure leaves counts under a pseudonym. */
#ifndef SIYU_COMMUNITY_COMMUNITY_H
#define SIYU_COMMUNITY_COMMUNITY_H

#include "domain/domain.h"

#define GROUP_CAP_DEFAULT 200
#define GROUP_SEAT_HOLD_DEFAULT 300 /* seconds a scan's seat waits for its member_joined */
#define GROUP_RETRY_AFTER 30        /* seconds a full code asks the caller to wait */
#define GROUP_SILENT_DAYS 30

/* ---- groups.c ---- */

/* POST /groups/events: one event or {"events": [...]} (at most 5000) — group_created,
 * group_updated, group_dismissed, member_joined, member_quit, activity. Events already
 * recorded (same content) are skipped; an activity count replaces the earlier count of
 * the same group, person and day. */
int groups_events_record(dom *d, json_t *body, json_t **out, siyu_err *e);

/* GET /groups?store_id=, GET /groups/{id}, PATCH /groups/{id} {theme?, cap?}. A group is
 * its store's: HQ, the store's manager, and its owner. */
int groups_list(dom *d, int64_t store_id, int64_t cursor, int limit, json_t **out, siyu_err *e);
int groups_get(dom *d, int64_t id, json_t **out, siyu_err *e);
int groups_patch(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);
/* GET /groups/{id}/stats?from=&to= (local dates): a row per day. */
int groups_stats(dom *d, int64_t id, int32_t from, int32_t to, json_t **out, siyu_err *e);

/* One group-day of statistics, as GET /groups/{id}/stats answers it. */
typedef struct group_day {
    int32_t day;
    int64_t new_members, quits, members, speakers, messages;
} group_day;
/* Fills out[0 .. to-from] for a group (no scope check). */
int groups_days(dom *d, int64_t id, int32_t from, int32_t to, group_day *out, siyu_err *e);

/* ---- the hook for a departing guide (the staff issue's transfers) ----
 * groups_of_guide: the ids of the guide's groups not dismissed (at most cap; answers
 * how many there are). groups_set_owner_state: "normal" | "owner_departed" |
 * "inheriting" | "inherited", and the new owner when one is named (0: kept). A group
 * whose owner departed is served by no join code until it is inherited. */
int groups_of_guide(dom *d, int64_t guide_id, int64_t *ids, int cap);
int groups_set_owner_state(dom *d, int64_t group_id, const char *state, int64_t new_owner_id,
                           siyu_err *e);

/* ---- codes.c ---- */

/* POST /group-codes {store_id, theme, cap?, hold_seconds?} -> {id, state, chat_id, ...} */
int group_codes_create(dom *d, json_t *body, json_t **out, siyu_err *e);
/* POST /group-codes/{id}/scan {external_userid?} -> {group_id, chat_id, seat_id} (201), the
 * same seat again for the same customer (200), or 503 {retry_after_seconds} when every
 * group is full (a request to the bridge is queued once). */
int group_codes_scan(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);
int group_codes_get(dom *d, int64_t id, json_t **out, siyu_err *e);
/* GET /group-requests?pending=1: what the bridge is asked to open. */
int group_requests_list(dom *d, bool pending, int64_t cursor, int limit, json_t **out, siyu_err *e);
/* "gc-12" -> 12; 0 when the state names no code. */
int64_t group_code_state(const char *state);
/* Keeps the seat a join fills (called by member_joined). */
int group_seat_keep(dom *d, int64_t group_id, int64_t code_id, const char *ext, int64_t at,
                    siyu_err *e);
/* A new group of a store and theme answers the pending requests for it. */
int group_requests_fulfil(dom *d, int64_t group_id, int64_t store_id, const char *theme,
                          siyu_err *e);

/* ---- sales.c ---- */

/* POST /group-sales {group_ids, from, to, skus, name?} -> {id}; GET /group-sales/{id}/report */
int group_sales_create(dom *d, json_t *body, json_t **out, siyu_err *e);
int group_sales_report(dom *d, int64_t id, json_t **out, siyu_err *e);
/* GET /reports/groups?from=&to=&store=&within_days=: the leaderboard and roll-ups. */
int groups_report(dom *d, int32_t from, int32_t to, int64_t store_id, int64_t within_days,
                  json_t **out, siyu_err *e);

/* The groups report's figures, gathered by SQL (groups_report) or by another source: the
 * in-memory group view (src/views/group_view.c). The report checks the ask, narrows it to
 * the caller's scope, asks the source, and renders; a source that cannot answer (not
 * built yet, stale) returns -1 and the report reads SQL instead. */
typedef struct group_board_row {
    int64_t id, store_id, owner_id, cap; /* owner_id 0: none */
    char chat_id[128], name[128], theme[64], state[16];
    bool has_theme;
    int64_t speaker_days, messages, joins, quits, members, member_days, orders, sales;
} group_board_row;
typedef struct group_conv_row {
    int64_t store, n[2], b[2]; /* [0] in no group, [1] in a group: members, buyers */
} group_conv_row;
typedef struct groups_ask {
    int32_t from, to;        /* local days, inclusive */
    int64_t from_s, to_s;    /* the same as Unix seconds, [from_s, to_s) */
    int64_t store_id, guide; /* 0: any */
    int64_t within_days;     /* 0: any time in the stint */
} groups_ask;
typedef struct groups_figures {
    group_board_row *v; /* the groups in scope, in id order (malloc'd) */
    size_t n;
    group_conv_row *cv; /* per member store in scope, in store order; none for a guide */
    size_t ncv;
    bool over; /* a sum saturated */
} groups_figures;
typedef int (*groups_source)(void *ctx, const groups_ask *q, groups_figures *out);
int groups_report_from(dom *d, groups_source src, void *ctx, int32_t from, int32_t to,
                       int64_t store_id, int64_t within_days, json_t **out, siyu_err *e);

/* How many of the largest values make 80% of their sum (the 2:80 of group selling);
 * 0 when the sum is not positive. Sorts v descending. */
int group_skus_for_share(int64_t *v, int n, int pct);
/* The Wilson score interval of k successes in n at 95%: lo, hi in [0, 1]. */
void group_wilson(int64_t k, int64_t n, double *lo, double *hi);

/* ---- sops.c: group SOPs (社群SOP) ---- */

/* POST /group-sops {name?, store_id? | group_ids? , theme?, schedule: {weekday 1..7,
 * time "HH:MM"}, text, content_id?, due_hours?} -> the SOP (201), with the task campaign
 * of kind group_post its tasks roll up under. GET /group-sops?store_id=, GET
 * /group-sops/{id} (with {tasks: {slots, total, open, done, on_time, late, expired}}),
 * PATCH /group-sops/{id} {state: active|paused, text?}. HQ, or the store's manager. */
int group_sops_create(dom *d, json_t *body, json_t **out, siyu_err *e);
int group_sops_get(dom *d, int64_t id, json_t **out, siyu_err *e);
int group_sops_list(dom *d, int64_t store_id, int64_t cursor, int limit, json_t **out, siyu_err *e);
int group_sops_patch(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);
/* On the journeys tick: the latest slot of each active SOP, a group_post task per
 * targeted group on its owner, written once per group and slot; groups whose owner left
 * wait for their inheritor. Out: {tasks (made now), waiting}. */
int group_sops_tick(dom *d, json_t **out, siyu_err *e);

/* The invariants for `siyu check` (called by loyalty_check): the group-day roll-up equals
 * the activity; no group holds more customers who
 * joined through a code than the code's cap (or its own); every seat is
 * in a group of its code's store and theme, and a kept seat has the join that kept it;
 * every SOP post names its group, slot and SOP's campaign.
 * Appends {check, message} to v (at most max), answers how many problems it found. */
int groups_check(store_conn *c, int max, json_t *v);

#endif
