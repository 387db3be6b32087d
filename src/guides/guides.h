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
int guides_check(store_conn *c, int max, json_t *v);

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

#endif
