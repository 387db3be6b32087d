/* rights.c — a member's rights over their data: access (export) and erasure.
 *
 * Export answers everything siyu holds about one member as one JSON document: the
 * member 360 as the API shows it, then every row of every table keyed by the member,
 * one section per table named after it (orders carry their items and refunds). Rows
 * are read whole (SELECT *) and rendered by column name, so a column added to a
 * table later is exported without touching this file; a table added later needs its
 * section here, and the export test (tests/http/test_rights.c) fails until it has one.
 *
 * Erasure removes the personal data and keeps the member as a pseudonymous record:
 * the row stays with its id, store, guide, join channel and dates, so orders, the
 * points ledger, coupons, tiers, reports and `siyu check` stay whole. Gone: the
 * profile (name, gender, birthday, city), every identity (phone, unionid, openids,
 * card, WeCom id — nothing can match the member again: a new registration with the
 * same phone is a new member), reachability and consents, message texts and
 * addresses, guide task scripts, the identities in merge records, any event
 * property, ledger reason, coupon event detail or stored idempotent answer that names
 * one of the erased values, another member's event property that is one, and a QR
 * code scan's WeCom id. Active journey runs exit; queued messages and open tasks are
 * skipped. Members merged into the erased one are erased with it. Every erasure leaves
 * one row in the erasure log (who, role, when, reason, request id).
 * The bytes leave the store's files with `siyu vacuum` (docs/privacy.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "domain/domain.h"

#define MAX_REASON 500

/* ---------------- export ---------------- */

static bool time_column(const char *name)
{
    size_t n = strlen(name);
    if (strcmp(name, "at") == 0 || strcmp(name, "next_expiry") == 0) return true;
    static const char *const suffixes[] = {"_at", "_since", "_until", NULL};
    for (int i = 0; suffixes[i]; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && strcmp(name + n - k, suffixes[i]) == 0) return true;
    }
    return false;
}

/* One row as an object keyed by column name: instants as RFC 3339, the birthday as
 * a date, JSON texts (props, details, addresses) as JSON; blobs (request digests)
 * are siyu's own bookkeeping, not the member's data, and are left out. */
static json_t *row_json(store_stmt *s)
{
    json_t *o = json_object();
    int n = store_col_count(s);
    for (int i = 0; i < n; i++) {
        const char *name = store_col_name(s, i);
        json_t *v;
        switch (store_col_type(s, i)) {
        case STORE_COL_INT:
            if (strcmp(name, "birthday") == 0) {
                char day[16];
                date_format((int32_t)store_col_int(s, i), day, sizeof day);
                v = json_string(day);
            } else if (time_column(name)) {
                v = dom_time(store_col_int(s, i));
            } else {
                v = json_integer(store_col_int(s, i));
            }
            break;
        case STORE_COL_REAL:
            v = json_real(store_col_real(s, i));
            break;
        case STORE_COL_TEXT: {
            const char *t = store_col_text(s, i);
            v = NULL;
            if (t[0] == '{' || t[0] == '[') v = json_loads(t, JSON_DECODE_ANY, NULL);
            if (!v) v = json_string(t);
            break;
        }
        case STORE_COL_BLOB:
            continue;
        default:
            v = json_null();
        }
        json_object_set_new(o, name, v ? v : json_null());
    }
    return o;
}

static json_t *rows_json(dom *d, store_query q, int64_t key)
{
    json_t *arr = json_array();
    store_stmt *s = store_q(d->conn, q);
    store_bind_int(s, 1, key);
    while (store_step(s) == STORE_ROW)
        json_array_append_new(arr, row_json(s));
    return arr;
}

/* The sections of the export: one per table keyed by the member, named after it. */
static const struct section {
    const char *name;
    store_query q;
} sections[] = {
    {"members", Q_EXPORT_MEMBERS},
    {"identities", Q_EXPORT_IDENTITIES},
    {"member_reach", Q_EXPORT_MEMBER_REACH},
    {"member_consents", Q_EXPORT_MEMBER_CONSENTS},
    {"consents", Q_EXPORT_CONSENTS},
    {"events", Q_EXPORT_EVENTS},
    {"orders", Q_EXPORT_ORDERS},
    {"member_predictions", Q_EXPORT_PREDICTIONS},
    {"tag_members", Q_EXPORT_TAG_MEMBERS},
    {"loyalty_accounts", Q_EXPORT_LOYALTY_ACCOUNTS},
    {"points_ledger", Q_EXPORT_POINTS_LEDGER},
    {"tier_history", Q_EXPORT_TIER_HISTORY},
    {"coupons", Q_EXPORT_COUPONS},
    {"coupon_events", Q_EXPORT_COUPON_EVENTS},
    {"journey_runs", Q_EXPORT_JOURNEY_RUNS},
    {"journey_segment_members", Q_EXPORT_JOURNEY_SEGMENT_MEMBERS},
    {"messages", Q_EXPORT_MESSAGES},
    {"guide_tasks", Q_EXPORT_GUIDE_TASKS},
    {"merges", Q_EXPORT_MERGES},
    {"erasures", Q_EXPORT_ERASURES},
    {"profile_changes", Q_EXPORT_PROFILE_CHANGES},
    {"campaign_plays", Q_EXPORT_CAMPAIGN_PLAYS},
    {"campaign_packets", Q_EXPORT_CAMPAIGN_PACKETS},
    {"contacts", Q_EXPORT_CONTACTS},
    {"consent_history", Q_EXPORT_CONSENT_HISTORY},
    {"audit_members", Q_EXPORT_AUDIT_MEMBERS},
    /* communities (src/community): stints matched through the member's identities */
    {"chat_group_members", Q_EXPORT_GROUP_MEMBERS},
    {"chat_group_activity", Q_EXPORT_GROUP_ACTIVITY},
    {"task_holdout", Q_EXPORT_TASK_HOLDOUT},
    {"content_events", Q_EXPORT_CONTENT_EVENTS},
    {"referral_invites", Q_EXPORT_REFERRAL_INVITES},
    {"referrals", Q_EXPORT_REFERRALS},
    {"referral_stats", Q_EXPORT_REFERRAL_STATS},
    {"referral_attempts", Q_EXPORT_REFERRAL_ATTEMPTS},
    {"referral_rewards", Q_EXPORT_REFERRAL_REWARDS},
    {"team_members", Q_EXPORT_TEAM_MEMBERS},
    {"mall_instructions", Q_EXPORT_MALL_INSTRUCTIONS},
    {"assists", Q_EXPORT_ASSISTS},
    {"assist_helps", Q_EXPORT_ASSIST_HELPS},
    /* transfers of the member between guides (issue 15): no personal data beyond the
     * member id; erasure keeps them as the pseudonymous record's history */
    {"transfer_items", Q_EXPORT_TRANSFER_ITEMS},
};

bool members_erased(dom *d, int64_t id, int64_t *at)
{
    store_stmt *s = store_q(d->conn, Q_ERASURE_GET);
    store_bind_int(s, 1, id);
    bool erased = store_step(s) == STORE_ROW;
    if (erased && at) *at = store_col_int(s, 0);
    store_reset(s);
    return erased;
}

int members_export(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    json_t *m360 = NULL;
    if (members_get(d, id, &m360, e) < 0) /* checks the member is live and in scope */
        return -1;
    json_t *doc = json_object();
    json_object_set_new(doc, "format", json_string("siyu.member-export"));
    json_object_set_new(doc, "version", json_integer(1));
    json_object_set_new(doc, "exported_at", dom_time(d->now));
    json_object_set_new(doc, "member_id", json_integer(id));
    json_object_set_new(doc, "erased", json_boolean(members_erased(d, id, NULL)));
    json_object_set_new(doc, "member", m360);
    for (size_t i = 0; i < sizeof sections / sizeof *sections; i++) {
        json_t *rows = rows_json(d, sections[i].q, id);
        if (sections[i].q == Q_EXPORT_ORDERS) {
            size_t k;
            json_t *o;
            json_array_foreach(rows, k, o)
            {
                int64_t oid = json_integer_value(json_object_get(o, "id"));
                json_object_set_new(o, "items", rows_json(d, Q_EXPORT_ORDER_ITEMS, oid));
                json_object_set_new(o, "refunds", rows_json(d, Q_EXPORT_REFUNDS, oid));
            }
        }
        json_object_set_new(doc, sections[i].name, rows);
    }
    if (out)
        *out = doc;
    else
        json_decref(doc);
    return 200;
}

/* ---------------- erasure ---------------- */

static json_t *erasure_json(dom *d, int64_t id)
{
    store_stmt *s = store_q(d->conn, Q_ERASURE_GET);
    store_bind_int(s, 1, id);
    json_t *o = NULL;
    if (store_step(s) == STORE_ROW) {
        o = json_pack("{s:I, s:b, s:o, s:o, s:s, s:s, s:o, s:I}", "member_id", (json_int_t)id,
                      "erased", 1, "erased_at", dom_time(store_col_int(s, 0)), "staff_id",
                      dom_nullable_int(s, 1), "role", store_col_text(s, 2), "reason",
                      store_col_text(s, 3), "request_id", dom_nullable_text(s, 4), "members_erased",
                      (json_int_t)store_col_int(s, 5));
    }
    store_reset(s);
    return o;
}

static int exec_id(dom *d, store_query q, int64_t a, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, q);
    store_bind_int(s, 1, a);
    return store_exec(s, e);
}

static int exec_now_id(dom *d, store_query q, int64_t id, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, q);
    store_bind_int(s, 1, d->now);
    store_bind_int(s, 2, id);
    return store_exec(s, e);
}

typedef struct strs {
    char **v;
    size_t n, cap;
} strs;

static void strs_add(strs *a, const char *t)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->v = realloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = strdup(t);
}

static void strs_free(strs *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
}

/* Erases one member of the chain: its own rows. Needles collect what to scrub elsewhere. */
static int erase_one(dom *d, int64_t id, strs *needles, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_ERASE_NEEDLES);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW)
        strs_add(needles, store_col_text(s, 0));
    if (exec_id(d, Q_ERASE_MESSAGES, id, e) || exec_now_id(d, Q_ERASE_TASKS, id, e) ||
        exec_now_id(d, Q_ERASE_RUNS, id, e) || exec_id(d, Q_ERASE_MERGES, id, e) ||
        exec_id(d, Q_REACH_DELETE, id, e) || exec_id(d, Q_CONSENT_DELETE, id, e) ||
        exec_id(d, Q_CONSENT_HISTORY_DELETE, id, e) || exec_id(d, Q_ERASE_OLD_CONSENTS, id, e) ||
        /* group stints and activity keep their counts under a pseudonym; read through
         * the identities, so before they go */
        exec_id(d, Q_ERASE_GROUP_ACTIVITY, id, e) || exec_id(d, Q_ERASE_GROUP_SEATS, id, e) ||
        exec_id(d, Q_ERASE_GROUP_MEMBERS, id, e) || exec_id(d, Q_ERASE_IDENTITIES, id, e) ||
        exec_id(d, Q_FIS_ERASE_ATTEMPTS, id, e) || exec_id(d, Q_FIS_ERASE_INVITES, id, e) ||
        exec_id(d, Q_ERASE_CONTACTS, id, e) || exec_now_id(d, Q_ERASE_MEMBER, id, e))
        return -1;
    return 0;
}

static int scrub(dom *d, const int64_t *ids, size_t n_ids, const strs *needles, siyu_err *e)
{
    for (size_t k = 0; k < needles->n; k++) {
        const char *needle = needles->v[k];
        for (size_t i = 0; i < n_ids; i++) {
            static const store_query per_member[] = {Q_ERASE_EVENT_PROPS, Q_ERASE_LEDGER_REASONS};
            for (size_t q = 0; q < sizeof per_member / sizeof *per_member; q++) {
                store_stmt *s = store_q(d->conn, per_member[q]);
                store_bind_int(s, 1, ids[i]);
                store_bind_text(s, 2, needle);
                if (store_exec(s, e)) return -1;
            }
        }
        static const store_query anywhere[] = {Q_ERASE_COUPON_DETAILS,    Q_MASK_IDEMPOTENCY,
                                               Q_MASK_IDEMPOTENCY_KEYS,   Q_ERASE_IDEMPOTENCY,
                                               Q_ERASE_IDEMPOTENCY_KEYS,  Q_ERASE_QR_SCANS,
                                               Q_ERASE_EVENT_PROPS_NAMING};
        for (size_t q = 0; q < sizeof anywhere / sizeof *anywhere; q++) {
            store_stmt *s = store_q(d->conn, anywhere[q]);
            store_bind_text(s, 1, needle);
            if (store_exec(s, e)) return -1;
        }
    }
    return 0;
}

int members_erase(dom *d, int64_t id, json_t *body, const char *request_id, json_t **out,
                  siyu_err *e)
{
    if (d->who.role != ROLE_ADMIN)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, NULL, "only an admin may erase a member");
    json_t *reason = json_object_get(body, "reason");
    if (!reason || !json_is_string(reason))
        return siyu_err_set(
            e, SIYU_INVALID_ARGUMENT, "reason",
            "reason: required, the text of the member's request or the legal ground");
    size_t len = json_string_length(reason);
    if (len == 0 || len > MAX_REASON || strlen(json_string_value(reason)) != len)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "reason",
                            "reason: must be 1 to %d bytes of text", MAX_REASON);
    if (request_id && (!*request_id || strlen(request_id) > 128)) request_id = NULL;
    store_stmt *s = store_q(d->conn, Q_MEMBER_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW)
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "member %lld does not exist", (long long)id);
    int64_t into = store_col_opt_by(s, "merged_into");
    store_reset(s);
    if (into) {
        int64_t live = members_live_id(d, into, NULL, e);
        siyu_err_set(e, SIYU_NOT_FOUND, NULL, "member %lld was merged into member %lld",
                     (long long)id, (long long)(live > 0 ? live : into));
        e->details = json_pack("{s:I}", "merged_into", (json_int_t)(live > 0 ? live : into));
        return -1;
    }
    if (members_erased(d, id, NULL)) { /* asked twice: the first erasure answers */
        if (out) *out = erasure_json(d, id);
        return 200;
    }
    /* the member and every member merged into it, at any depth */
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    s = store_q(d->conn, Q_ERASE_CHAIN);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            ids = realloc(ids, cap * sizeof *ids);
        }
        ids[n++] = store_col_int(s, 0);
    }
    strs needles = {0};
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = erase_one(d, ids[i], &needles, e);
    if (!rc) rc = scrub(d, ids, n, &needles, e);
    strs_free(&needles);
    free(ids);
    if (rc) return -1;
    s = store_q(d->conn, Q_ERASURE_INSERT);
    store_bind_int(s, 1, id);
    store_bind_int(s, 2, d->now);
    if (d->who.staff_id)
        store_bind_int(s, 3, d->who.staff_id);
    else
        store_bind_null(s, 3);
    store_bind_text(s, 4, role_name(d->who.role));
    store_bind_text(s, 5, json_string_value(reason));
    store_bind_text(s, 6, request_id);
    store_bind_int(s, 7, (int64_t)n);
    if (store_exec(s, e)) return -1;
    /* the views follow: the profile columns and reachability of the live member */
    dom_note(d, DOM_CHANGE_MEMBER, id, 0);
    dom_note(d, DOM_CHANGE_REACH, id, 0);
    if (out) *out = erasure_json(d, id);
    return 200;
}
