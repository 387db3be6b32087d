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

/* PATCH /staff/{id}: {"wecom_userid": "…" | null} — unique across staff (409). */
int staff_patch(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);

/* POST /wecom/events: one event or {"events": [...]} (at most 1000), each
 * {event, userid, external_userid, at, state?, unionid?, phone?, name?, add_way?,
 * remark?}; events already recorded (same content) are skipped. */
int wecom_events_record(dom *d, json_t *body, json_t **out, siyu_err *e);

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

/* "qr-12" -> 12; 0 when the state does not name a code. */
int64_t qr_state_code(const char *state);

/* Is the local (+08:00) instant inside a schedule {"weekdays": [1..7], "from": "HH:MM",
 * "to": "HH:MM"} (Monday = 1; to is exclusive; from > to spans midnight)? A NULL
 * schedule always is. */
bool qr_schedule_open(json_t *schedule, int64_t unix_s);
/* Checks a schedule object; -1 with e naming "schedule…" when malformed. */
int qr_schedule_check(json_t *schedule, siyu_err *e);

#endif
