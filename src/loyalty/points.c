/* points.c — the points ledger.
 *
 * Every change is a row of points_ledger; the account's `points` is kept equal to the
 * ledger's sum in the same statement batch. A positive entry is a lot: it remembers
 * what remains of it, when it becomes spendable (after the return window) and when it
 * expires. Spending takes from lots first-expiring-first, and the ledger entry for a
 * debit is exactly what was taken, so "sum of the ledger = sum of what remains" holds
 * row by row. All writes run on the single writer, and each debit re-reads the lots
 * inside its transaction, so concurrent redemptions cannot overspend; the table's
 * CHECK constraints would refuse it anyway. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "loyalty/internal.h"

int loy_account_ensure(dom *d, int64_t member, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_LACCOUNT_ENSURE);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, d->now);
    return store_exec(s, e);
}

int64_t loy_cash_value(const loy_config *cfg, int64_t points)
{
    return points * 100 / cfg->redeem_points_per_yuan;
}

static void bind_opt(store_stmt *s, int i, int64_t v)
{
    if (v) store_bind_int(s, i, v);
}

/* Binds the five mark columns from position i; unknown marks are NULL. */
static void bind_marks(store_stmt *s, int i, const loy_marks *m)
{
    if (m->earn_known) {
        store_bind_int(s, i, m->earn_day);
        store_bind_int(s, i + 1, m->earn_day_points);
    }
    if (m->qualify_key) {
        store_bind_int(s, i + 2, m->qualify_key);
        store_bind_int(s, i + 3, m->qualify_from);
        store_bind_int(s, i + 4, m->qualify_bound);
    }
}

int loy_marks_write(dom *d, int64_t member, const loy_marks *m, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_LACCOUNT_SET_MARKS);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, d->now);
    bind_marks(s, 3, m);
    return store_exec(s, e);
}

void loy_earn_marks_load(store_conn *c, int64_t member, loy_marks *m)
{
    store_stmt *s = store_q(c, Q_MEMBER_LAST_EARN_AT);
    store_bind_int(s, 1, member);
    bool any = store_step(s) == STORE_ROW && !store_col_null(s, 0);
    int64_t last = any ? store_col_int(s, 0) : 0;
    store_reset(s);
    m->earn_known = true;
    m->earn_day = any ? time_local_day(last) : 0;
    m->earn_day_points = 0;
    if (!any) return;
    s = store_q(c, Q_POINTS_EARNED_BETWEEN);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, loy_day_start(m->earn_day));
    store_bind_int(s, 3, loy_day_start(m->earn_day + 1));
    if (store_step(s) == STORE_ROW) m->earn_day_points = store_col_int(s, 0);
    store_reset(s);
}

int loy_ledger_write(dom *d, const loy_entry *en, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_LEDGER_INSERT);
    store_bind_int(s, 1, en->member_id);
    store_bind_int(s, 2, en->at);
    store_bind_text(s, 3, en->kind);
    store_bind_int(s, 4, en->delta);
    bind_opt(s, 5, en->order_id);
    store_bind_text(s, 6, en->ref);
    store_bind_text(s, 7, en->reason);
    bind_opt(s, 8, en->staff_id);
    if (en->delta > 0) {
        store_bind_int(s, 9, en->available_at);
        store_bind_int(s, 10, en->expires_at);
        store_bind_int(s, 11, en->delta);
    }
    store_bind_int(s, 12, d->now);
    if (store_exec(s, e)) return -1;
    if (en->id_out) *en->id_out = store_last_id(d->conn);
    /* next_expiry is indexed: name it only when this lot may expire before it */
    bool moves_expiry = en->delta > 0 && !(en->marks && en->marks->next_expiry > 0 &&
                                           en->marks->next_expiry <= en->expires_at);
    store_query q = en->marks ? (moves_expiry ? Q_LACCOUNT_ADD_EARN_LOT : Q_LACCOUNT_ADD_EARN)
                              : (moves_expiry ? Q_LACCOUNT_ADD_LOT : Q_LACCOUNT_ADD_POINTS);
    if (en->marks && !en->marks->exists && loy_account_ensure(d, en->member_id, e)) return -1;
    s = store_q(d->conn, q);
    store_bind_int(s, 1, en->delta);
    store_bind_int(s, 2, d->now);
    store_bind_int(s, 3, en->member_id);
    if (en->delta > 0) store_bind_int(s, 4, en->expires_at);
    if (en->marks) bind_marks(s, 5, en->marks);
    if (store_exec(s, e)) return -1;
    dom_note(d, DOM_CHANGE_LOYALTY, en->member_id, 0);
    return 0;
}

static int credit(dom *d, const loy_config *cfg, int64_t member, int64_t points, int64_t t,
                  bool pending, const char *kind, int64_t order_id, const char *ref,
                  const char *reason, const loy_marks *marks, int64_t *id_out, siyu_err *e)
{
    if (points <= 0) return 0;
    loy_entry en = {.member_id = member,
                    .at = t,
                    .delta = points,
                    .order_id = order_id,
                    .staff_id = d->who.staff_id,
                    .kind = kind,
                    .ref = ref,
                    .reason = reason,
                    .available_at = pending ? t + cfg->pending_days * 86400 : t,
                    .expires_at = loy_expiry_of(cfg, t),
                    .marks = marks,
                    .id_out = id_out};
    return loy_ledger_write(d, &en, e);
}

int loy_credit(dom *d, const loy_config *cfg, int64_t member, int64_t points, int64_t t,
               bool pending, const char *kind, int64_t order_id, const char *ref,
               const char *reason, siyu_err *e)
{
    return credit(d, cfg, member, points, t, pending, kind, order_id, ref, reason, NULL, NULL, e);
}

int loy_credit_earn(dom *d, const loy_config *cfg, int64_t member, int64_t points, int64_t t,
                    int64_t order_id, const loy_marks *marks, siyu_err *e)
{
    return credit(d, cfg, member, points, t, true, "earn", order_id, NULL, NULL, marks, NULL, e);
}

typedef struct lot {
    int64_t id, remaining;
} lot;

int loy_take(dom *d, int64_t member, int64_t want, int64_t t, bool spendable_only,
             int64_t first_lot, int64_t *taken, siyu_err *e)
{
    *taken = 0;
    if (want <= 0) return 0;
    /* Read the lots first, then update: never write a table under an open cursor. */
    size_t n = 0, cap = 16;
    lot *lots = malloc(cap * sizeof *lots);
    store_stmt *s = store_q(d->conn, spendable_only ? Q_LOTS_SPENDABLE : Q_LOTS_UNEXPIRED);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, t);
    while (store_step(s) == STORE_ROW) {
        if (n == cap) lots = realloc(lots, (cap *= 2) * sizeof *lots);
        lots[n++] = (lot){store_col_int(s, 0), store_col_int(s, 1)};
    }
    store_reset(s);
    /* the named lot (an order's own earn, when reversing it) goes first */
    for (size_t i = 0; first_lot && i < n; i++)
        if (lots[i].id == first_lot) {
            lot x = lots[i];
            memmove(lots + 1, lots, i * sizeof *lots);
            lots[0] = x;
        }
    int rc = 0;
    for (size_t i = 0; i < n && *taken < want; i++) {
        int64_t k = want - *taken < lots[i].remaining ? want - *taken : lots[i].remaining;
        s = store_q(d->conn, Q_LOT_TAKE);
        store_bind_int(s, 1, k);
        store_bind_int(s, 2, lots[i].id);
        if ((rc = store_exec(s, e)) != 0) break;
        *taken += k;
    }
    free(lots);
    return rc;
}

void loy_points_at(store_conn *c, int64_t member, int64_t t, int64_t *spendable, int64_t *pending)
{
    store_stmt *s = store_q(c, Q_POINTS_SUMMARY);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, t);
    *spendable = *pending = 0;
    if (store_step(s) == STORE_ROW) {
        *spendable = store_col_int(s, 0);
        *pending = store_col_int(s, 1);
    }
    store_reset(s);
}

int64_t loy_settle(dom *d, int64_t member, int64_t t, bool reset, siyu_err *e)
{
    size_t n = 0, cap = 8;
    struct due {
        int64_t id, remaining, at;
    } *due = malloc(cap * sizeof *due);
    store_stmt *s = store_q(d->conn, Q_LOTS_DUE_EXPIRY);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, t);
    while (store_step(s) == STORE_ROW) {
        if (n == cap) due = realloc(due, (cap *= 2) * sizeof *due);
        due[n++] = (struct due){store_col_int(s, 0), store_col_int(s, 1), store_col_int(s, 2)};
    }
    store_reset(s);
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        /* no ref needed: LOT_TAKE empties the lot, so a second settle finds nothing */
        s = store_q(d->conn, Q_LOT_TAKE);
        store_bind_int(s, 1, due[i].remaining);
        store_bind_int(s, 2, due[i].id);
        /* the entry is dated when the lot expired, not when we noticed */
        loy_entry en = {
            .member_id = member, .at = due[i].at, .delta = -due[i].remaining, .kind = "expire"};
        if (store_exec(s, e) || loy_ledger_write(d, &en, e)) {
            free(due);
            return -1;
        }
        total += due[i].remaining;
    }
    free(due);
    /* whatever was due is gone: the account's next expiry is the earliest lot left
     * (also when nothing was due: the lot it named may have been spent since) */
    if (n || reset) {
        s = store_q(d->conn, Q_LACCOUNT_RESET_NEXT_EXPIRY);
        store_bind_int(s, 1, member);
        if (store_exec(s, e)) return -1;
    }
    return total;
}

/* ---------------- the API ---------------- */

bool loy_member_visible(dom *d, int64_t member, siyu_err *e)
{
    /* members_get without an answer only checks: it applies the caller's scope (guide:
     * own members; manager: own store) and answers a merged id with a 404 naming the
     * survivor. */
    return members_get(d, member, NULL, e) >= 0;
}

static json_t *ledger_row_json(store_stmt *s)
{
    json_t *o = json_pack("{s:I, s:o, s:s, s:I}", "id", (json_int_t)store_col_int(s, 0), "at",
                          dom_time(store_col_int(s, 1)), "kind", store_col_text(s, 2), "delta",
                          (json_int_t)store_col_int(s, 3));
    json_object_set_new(o, "order_id", dom_nullable_int(s, 4));
    json_object_set_new(o, "reason", dom_nullable_text(s, 5));
    if (!store_col_null(s, 8)) {
        json_object_set_new(o, "available_at", dom_time(store_col_int(s, 6)));
        json_object_set_new(o, "expires_at",
                            store_col_int(s, 7) == INT64_MAX ? json_null()
                                                             : dom_time(store_col_int(s, 7)));
        json_object_set_new(o, "remaining", json_integer(store_col_int(s, 8)));
    }
    return o;
}

static json_t *points_json(dom *d, const loy_config *cfg, int64_t member, int64_t cursor, int limit)
{
    int64_t spendable, pending;
    loy_points_at(d->conn, member, d->now, &spendable, &pending);
    json_t *expiring = json_array();
    store_stmt *s = store_q(d->conn, Q_POINTS_EXPIRING);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, d->now);
    while (store_step(s) == STORE_ROW)
        if (store_col_int(s, 0) != INT64_MAX)
            json_array_append_new(expiring, json_pack("{s:o, s:I}", "expires_at",
                                                      dom_time(store_col_int(s, 0)), "points",
                                                      (json_int_t)store_col_int(s, 1)));
    store_reset(s);
    json_t *items = json_array();
    int64_t last = 0;
    int n = 0;
    s = store_q(d->conn, Q_LEDGER_LIST);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, cursor > 0 ? cursor : INT64_MAX);
    store_bind_int(s, 3, limit + 1);
    while (store_step(s) == STORE_ROW) {
        if (n++ == limit) break;
        last = store_col_int(s, 0);
        json_array_append_new(items, ledger_row_json(s));
    }
    store_reset(s);
    json_t *ledger = json_pack("{s:o, s:o}", "items", items, "next_cursor",
                               n > limit ? dom_cursor(last) : json_null());
    return json_pack("{s:I, s:I, s:I, s:I, s:o, s:o}", "member_id", (json_int_t)member, "balance",
                     (json_int_t)spendable, "pending", (json_int_t)pending, "cash_value_cents",
                     (json_int_t)loy_cash_value(cfg, spendable), "expiring", expiring, "ledger",
                     ledger);
}

int loyalty_points_get(dom *d, int64_t member_id, int64_t cursor, int limit, json_t **out,
                       siyu_err *e)
{
    if (!loy_member_visible(d, member_id, e)) return -1;
    loy_config *cfg = loy_config_get(d->conn, e);
    if (!cfg) return -1;
    *out = points_json(d, cfg, member_id, cursor, limit);
    loy_config_release(cfg);
    return 200;
}

/* One member's credit or debit; 422 when a debit finds the balance short. *entry_id
 * (may be NULL) gets the ledger entry written. */
static int apply_delta(dom *d, const loy_config *cfg, int64_t member, int64_t delta,
                       const char *reason, int64_t *entry_id, siyu_err *e)
{
    if (loy_settle(d, member, d->now, false, e) < 0) return -1;
    if (delta > 0)
        return credit(d, cfg, member, delta, d->now, false, "adjust", 0, NULL, reason, NULL,
                      entry_id, e);
    int64_t spendable, pending;
    loy_points_at(d->conn, member, d->now, &spendable, &pending);
    if (spendable < -delta)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "delta",
                            "delta: member %lld has %lld spendable points, fewer than %lld",
                            (long long)member, (long long)spendable, (long long)-delta);
    int64_t taken;
    if (loy_take(d, member, -delta, d->now, true, 0, &taken, e)) return -1;
    loy_entry en = {.member_id = member,
                    .at = d->now,
                    .delta = -taken,
                    .kind = "redeem",
                    .reason = reason,
                    .staff_id = d->who.staff_id,
                    .id_out = entry_id};
    return loy_ledger_write(d, &en, e);
}

static int read_delta(json_t *body, int64_t *delta, const char **reason, siyu_err *e)
{
    if (jx_int(body, "delta", true, delta, e) < 0 || jx_str(body, "reason", true, reason, e) < 0)
        return -1;
    if (*delta == 0 || *delta > 1000000000 || *delta < -1000000000)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "delta",
                            "delta: a non-zero number of points within ±1000000000");
    if (!**reason || strlen(*reason) > 500)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "reason", "reason: 1 to 500 bytes");
    return 0;
}

int loyalty_points_post(dom *d, int64_t member_id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"delta", "reason", NULL};
    int64_t delta;
    const char *reason;
    if (jx_only(body, allowed, NULL, e) || read_delta(body, &delta, &reason, e)) return -1;
    if (!loy_member_visible(d, member_id, e)) return -1;
    member_id = members_live_id(d, member_id, "member_id", e);
    loy_config *cfg = loy_config_get(d->conn, e);
    if (!cfg) return -1;
    int64_t entry_id = 0;
    int rc = apply_delta(d, cfg, member_id, delta, reason, &entry_id, e);
    if (rc == 0 && out) {
        /* the new balance and the entry just written: small, because it is stored with
         * the Idempotency-Key and rendered on the single writer */
        int64_t spendable, pending;
        loy_points_at(d->conn, member_id, d->now, &spendable, &pending);
        json_t *entry = json_null();
        store_stmt *s = store_q(d->conn, Q_LEDGER_GET);
        store_bind_int(s, 1, entry_id);
        if (store_step(s) == STORE_ROW) entry = ledger_row_json(s);
        store_reset(s);
        *out = json_pack("{s:I, s:I, s:I, s:I, s:o}", "member_id", (json_int_t)member_id, "balance",
                         (json_int_t)spendable, "pending", (json_int_t)pending, "cash_value_cents",
                         (json_int_t)loy_cash_value(cfg, spendable), "entry", entry);
    }
    loy_config_release(cfg);
    return rc ? -1 : 201;
}

int loyalty_points_bulk(dom *d, json_t *body, const int64_t *members, size_t n, json_t **out,
                        siyu_err *e)
{
    int64_t delta;
    const char *reason;
    if (read_delta(body, &delta, &reason, e)) return -1;
    loy_config *cfg = loy_config_get(d->conn, e);
    if (!cfg) return -1;
    json_t *skipped = json_array();
    int64_t applied = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        siyu_err sub;
        siyu_err_init(&sub);
        if (store_savepoint(d->conn, e)) {
            rc = -1;
            break;
        }
        if (apply_delta(d, cfg, members[i], delta, reason, NULL, &sub) == 0) {
            store_savepoint_release(d->conn);
            applied++;
        } else if (sub.code == SIYU_UNPROCESSABLE) {
            store_savepoint_undo(d->conn);
            json_array_append_new(skipped, json_pack("{s:I, s:s}", "member_id",
                                                     (json_int_t)members[i], "error", sub.message));
        } else {
            store_savepoint_undo(d->conn);
            siyu_err_set(e, sub.code, sub.field, "%s", sub.message);
            rc = -1;
        }
        siyu_err_clear(&sub);
    }
    loy_config_release(cfg);
    if (rc) {
        json_decref(skipped);
        return -1;
    }
    *out =
        json_pack("{s:I, s:I, s:I, s:o}", "members", (json_int_t)n, "applied", (json_int_t)applied,
                  "points", (json_int_t)(applied * delta), "skipped", skipped);
    return 201;
}

/* ---- for other modules (games): credits and debits through the ledger ---- */
int loyalty_points_credit(dom *d, int64_t member, int64_t points, const char *kind,
                          const char *reason, siyu_err *e)
{
    loy_config *cfg = loy_config_get(d->conn, e);
    if (!cfg) return -1;
    int rc = loy_settle(d, member, d->now, false, e) < 0
                 ? -1
                 : loy_credit(d, cfg, member, points, d->now, false, kind, 0, NULL, reason, e);
    loy_config_release(cfg);
    return rc ? -1 : 0;
}

int loyalty_points_debit(dom *d, int64_t member, int64_t points, const char *kind,
                         const char *reason, const char *field, siyu_err *e)
{
    if (loy_settle(d, member, d->now, false, e) < 0) return -1;
    int64_t spendable, pending, taken;
    loy_points_at(d->conn, member, d->now, &spendable, &pending);
    if (spendable < points)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, field,
                            "%s: member %lld has %lld spendable points, fewer than %lld", field,
                            (long long)member, (long long)spendable, (long long)points);
    if (loy_take(d, member, points, d->now, true, 0, &taken, e)) return -1;
    loy_entry en = {.member_id = member,
                    .at = d->now,
                    .delta = -taken,
                    .kind = kind,
                    .reason = reason,
                    .staff_id = d->who.staff_id};
    return loy_ledger_write(d, &en, e);
}

int loyalty_points_of_cents(store_conn *c, int64_t cents, int64_t *points, siyu_err *e)
{
    loy_config *cfg = loy_config_get(c, e);
    if (!cfg) return -1;
    int64_t p;
    int rc = 0;
    if (__builtin_mul_overflow(cents, cfg->redeem_points_per_yuan, &p))
        rc = siyu_err_set(e, SIYU_INVALID_ARGUMENT, "amount_cents", "amount_cents: too large");
    else
        *points = p / 100;
    loy_config_release(cfg);
    return rc;
}
