/* guides.h — the guide's side of the chain (issue 15, items 1–3 so far).
 *
 * Owns: a guide's WeCom userid (staff_patch), contacts as edges between a member and a
 * guide fed by the bridge's WeCom-shaped events (contacts.c), and channel QR codes —
 * which guide a scan goes to under a daily cap per guide, and what a code brought in
 * (qrcodes.c). Like the domain, these calls read a parsed body, check it completely,
 * write through named queries inside the caller's transaction and answer JSON:
 * 201 created, 200 an existing thing, -1 with e filled. Depends on domain, store, base.
 *
 * A contact edge is (guide, external_userid): live while neither the customer deleted
 * the guide (customer_deleted_at) nor the guide the customer (guide_deleted_at). The
 * member's `reach.wecom` is "has a live edge" (consent still gates it, see consent.c).
 * The credited guide of a member is its bound guide when that guide is still a live
 * contact, else the guide of its earliest live edge, else the bound guide. */
#ifndef SIYU_GUIDES_GUIDES_H
#define SIYU_GUIDES_GUIDES_H

#include "domain/domain.h"

/* ---- staff lifecycle (staff.c) ----
 * PATCH /staff/{id}: {"wecom_userid": "…" | null (unique across staff: 409), "store_id"
 * (a move closes the open staff_stores row and opens one), "status": "active" |
 * "departed"} → the staff record with its "stores" history. */
int staff_patch(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);
/* POST /staff/{id}/depart {"transfer_to": [guide ids] ([]: none), "split"?}: departed, tokens
 * revoked, no new tasks or scans; a departed transfer of all their customers when
 * transfer_to names receivers; then guides_depart_handover. → the record + transfer_id. */
int staff_depart(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);
bool guides_staff_active(dom *d, int64_t id);

/* What a departure hands over, for guides_depart_handover: the ONE call point where
 * other parts of the guide's side (communities: the guide's groups) take part in a
 * departure, inside the same write. A failure undoes the whole departure. */
typedef struct guides_departure {
    int64_t staff_id;
    const int64_t *to; /* the receivers named (may be none) */
    size_t n_to;
    int64_t transfer_id; /* the customers' transfer, 0 for none */
} guides_departure;
int guides_depart_handover(dom *d, const guides_departure *dep, siyu_err *e);

/* ---- transfers (transfers.c): 在职继承 / 离职继承 ----
 * A guide's customers are the members bound to them and their live contacts. Each
 * member becomes one item on one receiver (even split in rotation, or least loaded),
 * waiting until the bridge reports done / refused / failed or the wait ends (done).
 * At once failed: `limit` (an on-job transfer would move the member a third time in
 * 90 days), `capacity` (every receiver holds the configured maximum of customers),
 * `in_transfer` (the member already waits in another transfer). Done moves the member's
 * bound guide (future orders' credit), their open tasks and the old guide's live edge
 * to the receiver at that instant; past orders keep their guide. */
#define TRANSFER_MAX_RECEIVERS 100
typedef struct transfer_spec {
    bool departed; /* kind departed (no 90-day limit) or on_job */
    int64_t from;
    const int64_t *to;
    size_t n_to;
    bool least_loaded; /* else even split */
    bool all;          /* every customer; else members[] */
    const int64_t *members;
    size_t n_members;
} transfer_spec;
/* Reads a receivers array (active guides or store managers, no repeats). */
int transfer_receivers(dom *d, json_t *arr, const char *field, int64_t *ids, size_t *n,
                       siyu_err *e);
int transfer_open(dom *d, const transfer_spec *sp, int64_t *id, siyu_err *e);
/* POST /transfers {from_guide_id, to_guide_ids, member_ids | segment | all, kind, split?};
 * segment_ids: the segment's members (resolved by the caller) when the body has one. */
int transfers_create(dom *d, json_t *body, const int64_t *segment_ids, size_t n_segment,
                     json_t **out, siyu_err *e);
int transfers_list(dom *d, int64_t guide_id, int64_t cursor, int limit, json_t **out, siyu_err *e);
int transfers_get(dom *d, int64_t id, int64_t cursor, int limit, json_t **out, siyu_err *e);
int transfers_results(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);
/* Ends waiting items whose wait is over as done (at most limit); *done says how many. */
int transfers_sweep(dom *d, int limit, int *done, siyu_err *e);
/* GET /bridge/messages: what the bridge is asked to carry out (transfer_customer). */
int bridge_messages_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e);
/* GET / PUT /guides/settings {max_contacts_per_guide, transfer_wait_hours}. */
int guides_settings_get(dom *d, json_t **out, siyu_err *e);
int guides_settings_put(dom *d, json_t *body, json_t **out, siyu_err *e);
/* The staff and transfer invariants of `siyu check`: appends at most max violations
 * {check, message} to v and answers how many were found. */
int transfers_check(store_conn *c, int max, json_t *v);

/* reach.wecom follows the member's live edges (contacts.c). */
int guides_reach_follow(dom *d, int64_t member_id, int64_t at, siyu_err *e);

/* POST /wecom/events: one event or {"events": [...]} (at most 1000), each
 * {event, userid, external_userid, at, state?, unionid?, phone?, name?, add_way?,
 * remark?}; events already recorded (same content) are skipped. */
int wecom_events_record(dom *d, json_t *body, json_t **out, siyu_err *e);

/* GET /reports/contacts?from=&to=[&store=&guide=]: per guide, live contacts now, and
 * added, lost (the customer deleted the guide) and deleted by the guide in the period
 * (local dates, inclusive), with totals. A store manager sees their store, a guide
 * themself. */
int contacts_report(dom *d, int32_t from, int32_t to, int64_t store_id, int64_t guide_id,
                    json_t **out, siyu_err *e);

/* GET /members/{id}/contacts: {member_id, credited_guide_id, live, items: [...]}. */
int member_contacts(dom *d, int64_t member_id, json_t **out, siyu_err *e);

/* The credited guide of a member by the rule above; 0 for none. */
int64_t guides_credited(dom *d, int64_t member_id);

/* Adds the member 360's guide block to an answered member: "contacts" (live edges),
 * "credited_guide_id" and "acquisition" {qr_code_id, campaign}. */
void guides_member_block(dom *d, json_t *member);

/* POST /qr-codes, POST /qr-codes/{id}/scan, GET /qr-codes/{id}/stats. A code is
 * chain-level: HQ, and the store manager of the code's store (a code whose guides
 * span stores belongs to HQ alone). */
int qr_codes_create(dom *d, json_t *body, json_t **out, siyu_err *e);
int qr_codes_scan(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);
int qr_codes_stats(dom *d, int64_t id, json_t **out, siyu_err *e);
/* GET /qr-codes: the codes by id and cursor, each its stats with `id`, `name`, `store_id`,
 * `created_at`; a store manager's are their store's. */
int qr_codes_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e);
/* GET /qr-campaigns[?campaign=]: the codes' figures summed per campaign, with the
 * acquisition cost per member and per first order. */
int qr_campaigns_report(dom *d, const char *campaign, json_t **out, siyu_err *e);

/* "qr-12" -> 12; 0 when the state does not name a code. */
int64_t qr_state_code(const char *state);

/* Is the local (+08:00) instant inside a schedule {"weekdays": [1..7], "from": "HH:MM",
 * "to": "HH:MM"} (Monday = 1; to is exclusive; from > to spans midnight)? A NULL
 * schedule always is. */
bool qr_schedule_open(json_t *schedule, int64_t unix_s);
/* Checks a schedule object; -1 with e naming "schedule…" when malformed. */
int qr_schedule_check(json_t *schedule, siyu_err *e);

/* ---------------- task campaigns (tasks.c; docs/tasks.md) ---------------- */

struct seg_index;

/* The campaign kinds of POST /task-campaigns, NULL-terminated; and the outcomes a task
 * may be completed with. */
extern const char *const tcamp_kinds[];
extern const char *const task_outcomes[];
/* Kinds that make one task per member (moments and group posts: one per guide). */
bool tcamp_kind_has_members(const char *kind);

/* Options every campaign carries (hours, days, percent), with their defaults. */
typedef struct guides_campaign_opts {
    int64_t due_hours, holdout_pct, window_days, remind_hours, expire_hours;
} guides_campaign_opts;
int guides_campaign_opts_read(json_t *body, guides_campaign_opts *o, siyu_err *e);

/* POST /task-campaigns: checks the body, stores the campaign and runs its first round
 * (201). The segment of a target is evaluated on idx. */
int task_campaigns_create(dom *d, struct seg_index *idx, json_t *body, json_t **out, siyu_err *e);
int task_campaigns_get(dom *d, int64_t id, json_t **out, siyu_err *e);
/* GET /task-campaigns: the campaigns by id and cursor; a store manager's are HQ's and
 * their store's. */
int task_campaigns_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e);
/* GET /task-campaigns/{id}/report: roll-ups by store, guide and region, outcomes and
 * the uplift against the holdout (a store manager: their store's tasks). */
int task_campaigns_report(dom *d, int64_t id, json_t **out, siyu_err *e);
/* POST /tasks/{id}/reassign {"guide_id"}: an open task to another guide (a store
 * manager: among their store's guides). */
int tasks_reassign(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);
/* Expires overdue campaign tasks, writes the reminders and runs the recurring rounds
 * due now; *out (optional) gets {expired, reminded, rounds}. */
int guides_tasks_tick(dom *d, struct seg_index *idx, json_t **out, siyu_err *e);

/* Shared with mass messages and content: a target {segment, store_ids, guide_ids}
 * checked (a store manager's narrowed to their store), content ids checked (the JSON
 * text in *out, or NULL), a campaign row written, a script checked and rendered. */
int guides_target_check(dom *d, struct seg_index *idx, json_t *target, siyu_err *e);
int guides_content_ids_check(dom *d, json_t *body, char **out, siyu_err *e);
int guides_campaign_insert(dom *d, const char *name, const char *kind, const char *script,
                           const char *content_ids, json_t *target, json_t *recurring, int64_t due,
                           const guides_campaign_opts *o, int64_t *id, siyu_err *e);
int guides_script_check(const char *text, const char *field, siyu_err *e);
/* 95% Wilson interval and Newcombe's interval of a difference (as the journeys' report). */
void guides_wilson(int64_t x, int64_t n, double *lo, double *hi);
void guides_newcombe(int64_t x1, int64_t n1, int64_t x2, int64_t n2, double *lo, double *hi);

/* ---------------- mass messages (mass.c) ---------------- */

/* POST /mass-messages: a message to a segment or list, split by credited guide into
 * confirmable tasks, under consent and the frequency cap (201). */
int mass_messages_create(dom *d, struct seg_index *idx, json_t *body, json_t **out, siyu_err *e);
/* GET and PUT /mass-messages/settings: the per-member WeCom frequency cap. */
int mass_settings_get(dom *d, json_t **out, siyu_err *e);
int mass_settings_put(dom *d, json_t *body, json_t **out, siyu_err *e);
/* One round of a mass message campaign (tasks.c calls it). */
int guides_mass_round(dom *d, struct seg_index *idx, int64_t campaign, json_t *target,
                      const char *round, int64_t due, int64_t *tasks, int64_t *consent,
                      int64_t *cap, int64_t *no_contact, siyu_err *e);

/* The shared per-member WeCom frequency caps (docs/tasks.md): is there room for one
 * more WeCom send to the member now; and the members at a cap now (sorted ids, *n of
 * them; malloc'd) — answers 1 when a cap of 0 holds back everyone, else 0. */
bool guides_wecom_room(dom *d, int64_t member);
int guides_wecom_capped(dom *d, int64_t **ids, size_t *n);

/* ---------------- content (content.c) ---------------- */

int content_create(dom *d, json_t *body, json_t **out, siyu_err *e);
int content_list(dom *d, const char *tag, int64_t cursor, int limit, json_t **out, siyu_err *e);
int content_share(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);
int content_views(dom *d, json_t *body, json_t **out, siyu_err *e);
int content_stats(dom *d, int64_t id, json_t **out, siyu_err *e);

/* ---------------- the guide's day (workbench.c) ---------------- */

/* GET /workbench: a guide's own (guide_id 0: the caller), or a manager's guide. */
int guides_workbench(dom *d, int64_t guide_id, int64_t quiet_days, json_t **out, siyu_err *e);

/* The guide leaderboard people can read (reports/leaderboard?by=guide): each row gets
 * the guide's name, store and store name, live contacts, contacts lost, tasks done and
 * on time in [from, to) (unix seconds); with only_store, rows of other stores' guides
 * are dropped and the ranks (this period's and the previous one's) recounted. */
void guides_leaderboard_decorate(dom *d, json_t *board, int64_t only_store, int64_t from,
                                 int64_t to);

/* siyu check: tasks naming members or guides that do not exist, campaigns whose
 * counts differ from their tasks and holdout; appends {check, message} to v (at most
 * max in all) and answers how many were found. */
int tasks_check(store_conn *c, int max, json_t *v);
/* All of the guides' part of `siyu check`: tasks_check, then transfers_check. */
int guides_check(store_conn *c, int max, json_t *v);

#endif
