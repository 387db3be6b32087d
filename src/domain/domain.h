/* domain.h — the member-operations domain: organisation, members, orders, events.
 *
 * Domain calls read a parsed JSON body, check it completely, write through the
 * store's named queries and answer with JSON. They know nothing of HTTP: the HTTP
 * layer and the bulk importer are both callers. Every call runs inside a transaction
 * the caller opened; a call that fails has written nothing the caller keeps (the
 * caller rolls back or undoes its savepoint).
 *
 * Return value: 201 when something was created, 200 when an existing thing answers
 * (a match or an idempotent replay), -1 with e filled on any error. `out` may be NULL
 * when the caller does not want the answer rendered (bulk import). */
#ifndef SIYU_DOMAIN_DOMAIN_H
#define SIYU_DOMAIN_DOMAIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "base/error.h"
#include "store/store.h"

/* What a write changed, for the in-memory views (member index, reports) that must
 * follow the store. The domain notes each change; the caller hands the list to the
 * views only after the transaction has committed, and drops it on rollback. */
typedef enum dom_change_kind {
    DOM_CHANGE_MEMBER,    /* id: a member created or its profile changed */
    DOM_CHANGE_ORDER,     /* id: a new order; other: its member, or 0 */
    DOM_CHANGE_REFUND,    /* id: a new refund; other: its order */
    DOM_CHANGE_REACH,     /* id: a member whose reachability changed */
    DOM_CHANGE_MERGE,     /* id: the surviving member; other: the member merged away */
    DOM_CHANGE_LIVE_VIEW, /* id: a member who watched a live stream; other: when */
    DOM_CHANGE_LOYALTY,   /* id: a member whose points or tier changed */
    /* audiences (domain/audiences.c) */
    DOM_CHANGE_TAG,        /* id: a tag created */
    DOM_CHANGE_TAG_MEMBER, /* id: a manual tag; other: a member added to or removed from it */
    DOM_CHANGE_SEGMENT,    /* id: a saved segment created */
    DOM_CHANGE_AUDIENCE_SETTINGS, /* the RFM and lifecycle thresholds changed */
    /* store groups (src/community) */
    DOM_CHANGE_GROUP_DAY, /* id: a group whose activity changed; other: the local day */
    DOM_CHANGE_GROUP,     /* id: a group whose row changed (other 0), or one of whose customer
                           * stints was added or changed (other: the stint) */
    /* last, so the kinds' numbers in the change log stay as they were */
    DOM_CHANGE_MEMBER_360, /* id: a member whose 360 changed in what no view follows (a
                            * refund), for the kept answers (views/member_cache.h) */
} dom_change_kind;

typedef struct dom_change {
    dom_change_kind kind;
    int64_t id, other;
} dom_change;

typedef struct dom_changes {
    dom_change *v;
    size_t n, cap;
} dom_changes;

void dom_changes_clear(dom_changes *c); /* empties, keeps the buffer */
void dom_changes_free(dom_changes *c);

typedef struct dom {
    store_conn *conn;
    principal who;
    int64_t now;           /* the request's clock reading, Unix seconds */
    bool inline_refunds;   /* bulk import: orders may carry their refunds inline */
    dom_changes *changes;  /* where to note changes, or NULL when nobody follows */
    struct dom_memo *memo; /* lookups valid for the open transaction (memo.h), or NULL */
    /* when what was rendered stops holding by the clock alone (points turning spendable or
     * expiring): a kept answer (views/member_cache.h) is not served from then; 0, never */
    int64_t until;
} dom;

/* Lowers d->until to t (t > 0). */
void dom_until(dom *d, int64_t t);

/* Notes a change if anyone follows (d->changes set). */
void dom_note(dom *d, dom_change_kind kind, int64_t id, int64_t other);

/* For the member 360s kept in memory (views/member_cache.h): the members these committed
 * changes name are touched, and a change the member index applies beyond the members it names
 * (a tag's rule, thresholds) moves the epoch (store.h); a group's activity is touched member
 * by member where the index reloads it (views/audience.c). The committer calls
 * it after its commit, and the views again once they applied the changes: an answer rendered
 * between the two read the store after the write and the index before it. */
void dom_changes_touch(const dom_change *v, size_t n);

/* Channels of api.md, in a fixed order (their index is stable). */
extern const char *const dom_channels[];
extern const char *const dom_store_kinds[];
extern const char *const dom_event_types[];

/* ---- organisation (org.c) ---- */
int brands_create(dom *d, json_t *body, json_t **out, siyu_err *e);
int stores_create(dom *d, json_t *body, json_t **out, siyu_err *e);
/* The id of the store with this code (an import maps a till's store code to it): 0, or -1
 * with NOT_FOUND naming store_code. */
int stores_id_by_code(dom *d, const char *code, int64_t *id, siyu_err *e);
int stores_get(dom *d, int64_t id, json_t **out, siyu_err *e);
int staff_create(dom *d, json_t *body, json_t **out, siyu_err *e);
int staff_get(dom *d, int64_t id, json_t **out, siyu_err *e);
/* A new token for a staff member: {token, role, staff_id}. */
int staff_token_create(dom *d, int64_t staff_id, json_t *body, json_t **out, siyu_err *e);
/* Lists: {items, next_cursor}; cursor is the last id seen (0 for the first page). */
int brands_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e);
int stores_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e);
int staff_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e);

/* ---- members (members.c) ---- */
int members_create_or_match(dom *d, json_t *body, json_t **out, siyu_err *e);
int members_get(dom *d, int64_t id, json_t **out, siyu_err *e); /* the member 360 */
/* kind: phone, unionid, openid (app_id may be NULL), card_no, wecom_external_id. */
int members_lookup(dom *d, const char *kind, const char *value, const char *app_id, json_t **out,
                   siyu_err *e);
int members_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e);
/* GET /members?name=: the live members in the caller's scope whose name holds `text`
 * (1 to 64 bytes), by id and cursor; a till may not search by name (403). */
int members_search_name(dom *d, const char *text, int64_t cursor, int limit, json_t **out,
                        siyu_err *e);
int members_patch(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);
int members_merge(dom *d, int64_t into_id, json_t *body, json_t **out, siyu_err *e);

/* Finds the member an object of identities names ({phone?, unionid?, ...}); with
 * create, makes one (a member joining at payment) using the given defaults. The
 * prefix names fields in errors ("member."). Returns the member id or -1. */
typedef struct member_defaults {
    int64_t store_id, guide_id, joined_at;
    const char *channel;
} member_defaults;
int64_t members_resolve(dom *d, json_t *ident, const char *prefix, bool create,
                        const member_defaults *defs, siyu_err *e);
/* The same, and the brief of a member found (not of one it makes): *found_brief says
 * which. An order takes its guide and birthday from the row the merge check reads. */
struct dom_member_brief;
int64_t members_resolve_brief(dom *d, json_t *ident, const char *prefix, bool create,
                              const member_defaults *defs, struct dom_member_brief *b,
                              bool *found_brief, siyu_err *e);
/* The same in two steps, so an import's reader thread can do the first beside the writer:
 * the identities read and checked from the object (NULL with e as members_resolve_brief
 * would refuse it), then resolved (the object is read again only for a new member's
 * name). */
typedef struct member_idents member_idents;
member_idents *members_idents_read(json_t *ident, const char *prefix, siyu_err *e);
void members_idents_free(member_idents *m);
int64_t members_resolve_idents(dom *d, member_idents *m, json_t *ident, const char *prefix,
                               bool create, const member_defaults *defs, struct dom_member_brief *b,
                               bool *found_brief, siyu_err *e);
/* Follows merges to the surviving member; -1 with not_found if there is none. */
int64_t members_live_id(dom *d, int64_t id, const char *field, siyu_err *e);
/* What an order needs of its member, from the row members_live_id reads anyway. */
typedef struct dom_member_brief {
    int64_t guide_id; /* 0: none bound */
    bool has_birthday;
    int32_t birthday; /* days since 1970-01-01 */
} dom_member_brief;
int64_t members_live_brief(dom *d, int64_t id, const char *field, dom_member_brief *b, siyu_err *e);
/* May the caller see/change this member? (admin/operator all; store manager their
 * store; guide their bound members) */
bool members_in_scope(const dom *d, int64_t store_id, int64_t guide_id);

/* ---- scope (scope.c): may the caller touch this object? 1 yes, 0 no (a 403), -1 with
 * not_found when it does not exist. The route table names which rule a path id or a
 * body field follows; src/http/scope.c applies them once per request. ---- */
int scope_member(dom *d, int64_t id, siyu_err *e);
int scope_order(dom *d, int64_t id, siyu_err *e);
int scope_staff(dom *d, int64_t id, siyu_err *e);
int scope_store(dom *d, int64_t id, siyu_err *e);
int scope_task(dom *d, int64_t id, siyu_err *e);
int scope_coupon(dom *d, const char *code, siyu_err *e);
/* The member's home store (0 for none); 0 when there is no such member. */
int scope_member_home(dom *d, int64_t id, int64_t *store_id);
/* The live member an identity names (phones normalised, merges followed), 0 if none. */
int64_t scope_identity_owner(dom *d, const char *kind, const char *app_id, const char *value);

/* ---- orders (orders.c) ---- */
/* The most lines one order may carry. Wholesale invoices run to a thousand lines and
 * more, so the default is 10 000; `siyu serve` and `siyu import` take
 * --max-order-lines (or SIYU_MAX_ORDER_LINES). Set it once, before serving. */
#define ORDERS_MAX_LINES_DEFAULT 10000
#define ORDERS_MAX_LINES_LIMIT 1000000
void orders_set_max_lines(int n);
int orders_max_lines(void);
/* The bytes one order's JSON may take (the body cap of POST /orders and of one import
 * record): 1 MiB plus 512 bytes a line, so the line cap is never refused by size. */
size_t orders_max_body(void);
int orders_create(dom *d, json_t *body, json_t **out, siyu_err *e);
/* What orders_create_id wrote: the order created or replayed, the member and guide it
 * was attributed to, and whether it was created just now with nothing but its body (no
 * inline refunds), so that orders_render_made can answer it without reading it back. */
typedef struct order_made {
    int64_t id, member_id, guide_id;
    bool from_body;
} order_made;
/* As orders_create; *made says what was written (out may be NULL). */
int orders_create_id(dom *d, json_t *body, json_t **out, order_made *made, siyu_err *e);
/* Writing an order in two steps, so that the checks that need no store can run on
 * another thread than the writer (the importer's reader): orders_prepare checks a body's
 * fields, lines and totals and digests it, orders_create_prepared writes it as
 * orders_create_id would. The prepared order points into body, which must outlive it. */
typedef struct order_in order_in;
typedef struct order_rules {
    bool inline_refunds; /* as dom.inline_refunds */
    int64_t now;         /* as dom.now: placed_at may be at most a day past it */
} order_rules;
order_in *orders_prepare(json_t *body, const order_rules *rules, siyu_err *e); /* NULL: e set */
int orders_create_prepared(dom *d, const order_in *o, json_t **out, order_made *made, siyu_err *e);
void orders_prepared_free(order_in *o);
/* For a bulk writer with a memo (the import): asks the store in one statement which of the
 * orders' keys are taken (one round trip for a block of orders on PostgreSQL, instead of one
 * each), and marks the others free, so orders_create_prepared writes them without its own
 * lookup while d->memo's generation holds (the memo is cleared when another connection
 * commits or the transaction rolls back). Of a key the list names twice only the first
 * order is marked. Call inside the write transaction; no memo: nothing is asked. Returns 0, or
 * -1 when the store failed (e); out of memory it marks nothing, and each order looks its key
 * up itself, as without the check. */
int orders_keys_check(dom *d, order_in *const *os, size_t n, siyu_err *e);
/* Asks the CPU for a prepared order's memory ahead of its use: stage 0 the order itself,
 * 1 what it points at, 2 what its lines point at; each stage reads what the one before
 * fetched. */
void orders_prepared_prefetch(const order_in *o, int stage);
/* The answer orders_get gives for an order made from body (made->from_body): the same
 * JSON, built from the body the write accepted instead of read back from the store. */
json_t *orders_render_made(json_t *body, const order_made *made);
int orders_get(dom *d, int64_t id, json_t **out, siyu_err *e);
int orders_list(dom *d, int64_t cursor, int limit, int64_t member_id, int64_t store_id,
                json_t **out, siyu_err *e);
int orders_refund(dom *d, int64_t order_id, json_t *body, json_t **out, siyu_err *e);

/* ---- events (events.c) ---- */
/* One event or {events: [...]} (at most 1000); all are checked before any is written. */
int events_record(dom *d, json_t *body, json_t **out, siyu_err *e);

/* ---- consent (consent.c): the one model every reader uses ----
 * Per member, purpose (marketing, profiling) and channel (sms, wechat_template, wecom,
 * public_account; webhook for the old body shape): granted or withdrawn, when, how
 * (source) and the text version agreed to. The latest by `at` wins. Reachability after
 * consent (Q_REACH_LIST, Q_SCAN_REACH read the view member_reach_now): sms is the
 * marketing consent for sms; a withdrawn marketing consent for wecom or public_account
 * hides that connection. */
extern const char *const dom_consent_purposes[]; /* NULL-terminated */
extern const char *const dom_consent_channels[]; /* NULL-terminated */
extern const char *const dom_consent_sources[];  /* NULL-terminated */
/* Records one consent (source and text_version may be NULL) and notes the member's
 * reachability as changed. */
int dom_consent_put(dom *d, int64_t member_id, const char *purpose, const char *channel,
                    bool granted, const char *source, const char *text_version, int64_t at,
                    siyu_err *e);
/* [{purpose, channel, granted, opted_out, source, text_version, at}] of a member. */
json_t *dom_consents_json(dom *d, int64_t member_id);
/* Every change, oldest first: [{purpose, channel, granted, source, text_version, at}]. */
json_t *dom_consent_history_json(dom *d, int64_t member_id);
/* The channels (bit i = dom_consent_channels[i]) with a granted marketing consent: the
 * only channels a member may be messaged on (a missing consent is a "no"). */
uint32_t dom_consent_marketing(dom *d, int64_t member_id);
/* The "consents" field of an imported member record: [{purpose, channel, granted,
 * text_version?}]; check validates it, import records each with source "import". */
int dom_consents_check(json_t *list, siyu_err *e);
int dom_consents_import(dom *d, int64_t member_id, json_t *list, siyu_err *e);

/* ---- the audit log (audit.c) ----
 * Append-only rows {at, staff_id, role, action, member_ids, request_id, detail}.
 * dom_audit_write writes one row on c, inside the caller's write (a staff write is
 * audited in its own savepoint); dom_audit_queue keeps a read's row in memory (no
 * store work) until dom_audit_flush writes the queue on c inside a write transaction
 * (the jobs' audit flush, through the group committer). detail is JSON text or NULL. */
typedef struct dom_audit_entry {
    int64_t at, staff_id;
    const char *role, *action, *request_id, *detail;
    const int64_t *members;
    size_t n_members;
} dom_audit_entry;
int dom_audit_write(store_conn *c, const dom_audit_entry *a, siyu_err *e);
void dom_audit_queue(const dom_audit_entry *a);
int dom_audit_flush(store_conn *c, siyu_err *e);
void dom_audit_stats(unsigned long long *queued_now, unsigned long long *written,
                     unsigned long long *dropped);
typedef struct dom_audit_filter {
    int64_t member_id, staff_id, from, to; /* 0: any member / staff */
    bool has_from, has_to;
    const char *action; /* NULL: any */
} dom_audit_filter;
/* {items: [{id, at, staff_id, role, action, member_ids, request_id, detail}],
 * next_cursor}, oldest first; cursor is the last id seen. */
int audit_list(dom *d, const dom_audit_filter *f, int64_t cursor, int limit, json_t **out,
               siyu_err *e);

/* ---- retention (retention.c) ----
 * How many days events, messages and the audit log are kept (defaults 730, 365,
 * 1095). retention_get/put answer {events_days, messages_days, audit_days,
 * updated_at}; retention_sweep deletes up to `batch` rows of each kind older than the
 * setting (orders, ledgers and coupons never; live_view events, which the reports
 * read, never; messages still to be sent never) and answers {events, messages, audit}
 * deleted; *more is set when a kind had more to delete. */
#define RETENTION_EVENTS_DAYS 730
#define RETENTION_MESSAGES_DAYS 365
#define RETENTION_AUDIT_DAYS 1095
int retention_get(dom *d, json_t **out, siyu_err *e);
int retention_put(dom *d, json_t *body, json_t **out, siyu_err *e);
int retention_sweep(dom *d, int batch, json_t **out, bool *more, siyu_err *e);
/* Rows deleted by every sweep of this process, per kind (for /metrics). */
void retention_stats(unsigned long long out[3]);

/* ---- members' rights (rights.c): access and erasure ----
 * members_export: everything held about a live member in scope, one document: the
 * member 360 under "member", then one section per table keyed by the member, named
 * after the table (orders with their items and refunds). members_erase (admins only):
 * body {"reason"}; removes the personal data of the member and of every member merged
 * into it, keeps the pseudonymous record, logs the erasure (request_id may be NULL);
 * 200 with {member_id, erased, erased_at, staff_id, role, reason, request_id,
 * members_erased}; a second call answers the first erasure. members_erased: whether
 * (and when, at may be NULL) a member was erased. */
int members_export(dom *d, int64_t id, json_t **out, siyu_err *e);
int members_erase(dom *d, int64_t id, json_t *body, const char *request_id, json_t **out,
                  siyu_err *e);
bool members_erased(dom *d, int64_t id, int64_t *at);

/* ---- loyalty hooks ----
 * Orders, refunds and merges move points, coupons and tiers. The loyalty engine lives
 * above the domain (src/loyalty) and registers these hooks at start-up, so the order
 * path calls it inside the same transaction without the domain depending on it. With
 * no hooks installed (domain unit tests) orders carry coupon_code and points_used as
 * plain data. */
typedef struct dom_item {
    const char *sku, *category;
    int64_t qty, unit_price;
} dom_item;

typedef struct dom_order_facts {
    int64_t id, member_id, store_id, placed_at, total, discount, points_used;
    int channel; /* index into dom_channels */
    const char *coupon_code;
    const dom_member_brief *member; /* NULL when not at hand: ask the store */
    const dom_item *items;
    size_t n_items;
} dom_order_facts;

typedef struct dom_loyalty_hooks {
    int (*order_placed)(dom *d, const dom_order_facts *o, siyu_err *e);
    /* after the refund row is written and the order's refunded total updated */
    int (*order_refunded)(dom *d, int64_t order_id, int64_t refund_id, int64_t at, siyu_err *e);
    int (*members_merged)(dom *d, int64_t into, int64_t from, siyu_err *e);
    /* the member 360's loyalty block (tier, points, coupons), or NULL */
    json_t *(*member_block)(dom *d, int64_t member_id);
} dom_loyalty_hooks;

void dom_set_loyalty(const dom_loyalty_hooks *hooks);
const dom_loyalty_hooks *dom_loyalty(void); /* NULL when none installed */

/* ---- audiences: tags, saved segments (audiences.c) ----
 * Writes only: each runs inside the caller's write transaction (the group committer's)
 * and notes its change; the member index follows after the commit. Expressions come
 * already parsed and printed in canonical form (the segment layer checks them). */
/* A tag: manual (rule_expr NULL) or a rule tag. 409 naming `name` when taken. */
int dom_tag_create(dom *d, const char *name, const char *rule_expr, int64_t *id, siyu_err *e);
/* Adds (or removes) members to manual tag tag_id: 404 for an unknown tag, 422 for a
 * rule tag. The members were checked by the caller (they exist and are in scope). */
int dom_tag_members(dom *d, int64_t tag_id, const int64_t *ids, size_t n, bool add, siyu_err *e);
/* A saved segment. 409 naming `name` when taken. */
int dom_segment_create(dom *d, const char *name, const char *expr, int64_t *id, siyu_err *e);

/* ---- shared helpers (util.c) ---- */
json_t *dom_time(int64_t unix_s);                            /* RFC 3339 string, or null for 0 */
json_t *dom_list(json_t *items, int limit, int64_t last_id); /* {items, next_cursor} */
/* A list's next_cursor: the last id as a string (every list answers a string or null). */
json_t *dom_cursor(int64_t last_id);
json_t *dom_nullable_int(store_stmt *s, int col);
json_t *dom_nullable_text(store_stmt *s, int col);
/* Checks a referenced row exists: store or staff (with an optional required role). */
int dom_require_store(dom *d, int64_t id, const char *field, siyu_err *e);
int dom_require_staff(dom *d, int64_t id, const char *want_role, const char *field,
                      int64_t *store_id, siyu_err *e);

#endif
