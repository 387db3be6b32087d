/* coupons.c — coupon templates, issuing, forwarding to friends, redeeming on orders.
 *
 * A coupon moves through issued -> redeemed (-> issued again when a full refund
 * restores it) or issued -> expired; every move is a coupon_events row, which is the
 * coupon's history on the member 360. Stock is taken with a conditional update
 * (issued < stock), redemption with another (state = 'issued'), so neither can be
 * passed twice however many requests race: the second finds the condition false. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/phone.h"
#include "base/timeutil.h"
#include "loyalty/internal.h"

enum { KIND_CASH_OFF, KIND_PERCENT_OFF, KIND_GIFT };
static const char *const kinds[] = {"cash_off", "percent_off", "gift", NULL};

/* The period a per-member limit counts in: the member's local calendar day, month or
 * year, or their whole life (the default). */
enum { PERIOD_LIFETIME, PERIOD_DAY, PERIOD_MONTH, PERIOD_YEAR };
static const char *const periods[] = {"lifetime", "day", "month", "year", NULL};

/* The instant the period holding `now` began (local calendar; 0 for lifetime). */
static int64_t period_start(int period, int64_t now)
{
    int32_t day = time_local_day(now);
    int y, m, dd;
    date_civil(day, &y, &m, &dd);
    switch (period) {
    case PERIOD_DAY:
        return loy_day_start(day);
    case PERIOD_MONTH:
        return loy_day_start(date_from_civil(y, m, 1));
    case PERIOD_YEAR:
        return loy_day_start(date_from_civil(y, 1, 1));
    default:
        return INT64_MIN;
    }
}

struct loy_template {
    int64_t id;
    int kind;
    int64_t value_cents, percent, max_off_cents, min_spend_cents;
    const char *gift_sku;
    int64_t valid_from, valid_to, valid_days;
    int64_t per_member_limit;
    int per_member_period; /* PERIOD_*: the limit counts within the current one */
    uint32_t channels;
    int64_t stores[LOY_MAX_SCOPE];
    int n_stores;
    bool shareable, restore_on_refund;
    json_t *spec; /* owns the strings above */
};

static void fail_reason(siyu_err *e, const char *reason)
{
    json_decref(e->details);
    e->details = json_pack("{s:s}", "reason", reason);
}

/* How many coupons of template t the member received in the current period; -1 with e
 * set (field `field`, reason per_member_limit in the details) when the limit is
 * reached. Runs in the write transaction, which the one writer serialises, so two
 * issues racing for the last coupon of a period cannot both pass. */
static int limit_check(dom *d, const loy_template *t, int64_t member, const char *field,
                       siyu_err *e)
{
    if (!t->per_member_limit) return 0;
    store_stmt *s = store_q(d->conn, Q_COUPON_RECEIVED_SINCE);
    store_bind_int(s, 1, member);
    store_bind_int(s, 2, t->id);
    store_bind_int(s, 3, period_start(t->per_member_period, d->now));
    int64_t have = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    if (have < t->per_member_limit) return 0;
    const char *per = t->per_member_period == PERIOD_LIFETIME ? "" : " this ";
    siyu_err_set(e, SIYU_UNPROCESSABLE, field,
                 "%s: member %lld already received %lld of template %lld%s%s (limit %lld%s%s)",
                 field, (long long)member, (long long)have, (long long)t->id, per,
                 t->per_member_period == PERIOD_LIFETIME ? "" : periods[t->per_member_period],
                 (long long)t->per_member_limit,
                 t->per_member_period == PERIOD_LIFETIME ? "" : " per ",
                 t->per_member_period == PERIOD_LIFETIME ? "" : periods[t->per_member_period]);
    fail_reason(e, "per_member_limit");
    return -1;
}

const char *coupons_issue_outcome(int rc, const siyu_err *e)
{
    if (rc >= 0) return "coupon_issued";
    const char *r = json_string_value(json_object_get(e->details, "reason"));
    if (r && strcmp(r, "per_member_limit") == 0) return "coupon_failed_per_member_limit";
    if (r && strcmp(r, "out_of_stock") == 0) return "coupon_failed_out_of_stock";
    if (r && strcmp(r, "expired") == 0) return "coupon_failed_expired";
    if (e->code == SIYU_NOT_FOUND) return "coupon_failed_no_template";
    return "coupon_failed";
}

static int parse_template(json_t *spec, loy_template *t, siyu_err *e)
{
    static const char *const keys[] = {"name",
                                       "kind",
                                       "value_cents",
                                       "percent",
                                       "max_off_cents",
                                       "gift_sku",
                                       "min_spend_cents",
                                       "valid_from",
                                       "valid_to",
                                       "valid_days",
                                       "stock",
                                       "per_member_limit",
                                       "per_member_period",
                                       "channels",
                                       "store_ids",
                                       "shareable",
                                       "restore_on_refund",
                                       NULL};
    memset(t, 0, sizeof *t);
    t->spec = spec;
    const char *name;
    if (jx_only(spec, keys, NULL, e) || jx_str(spec, "name", true, &name, e) < 0 ||
        jx_enum(spec, "kind", true, kinds, &t->kind, e) < 0 ||
        jx_int(spec, "value_cents", t->kind == KIND_CASH_OFF, &t->value_cents, e) < 0 ||
        jx_int(spec, "percent", t->kind == KIND_PERCENT_OFF, &t->percent, e) < 0 ||
        jx_int(spec, "max_off_cents", false, &t->max_off_cents, e) < 0 ||
        jx_str(spec, "gift_sku", t->kind == KIND_GIFT, &t->gift_sku, e) < 0 ||
        jx_int(spec, "min_spend_cents", false, &t->min_spend_cents, e) < 0 ||
        jx_time(spec, "valid_from", false, &t->valid_from, e) < 0 ||
        jx_time(spec, "valid_to", false, &t->valid_to, e) < 0 ||
        jx_int(spec, "valid_days", false, &t->valid_days, e) < 0 ||
        jx_int(spec, "per_member_limit", false, &t->per_member_limit, e) < 0 ||
        jx_enum(spec, "per_member_period", false, periods, &t->per_member_period, e) < 0 ||
        jx_bool(spec, "shareable", false, &t->shareable, e) < 0 ||
        jx_bool(spec, "restore_on_refund", false, &t->restore_on_refund, e) < 0)
        return -1;
    if (!*name || strlen(name) > 200)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: 1 to 200 bytes");
    if (t->kind == KIND_CASH_OFF && (t->value_cents <= 0 || t->value_cents > 100000000))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "value_cents",
                            "value_cents: a positive amount of at most 100000000");
    if (t->kind == KIND_PERCENT_OFF && (t->percent < 1 || t->percent > 99))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "percent",
                            "percent: the share taken off, 1 to 99");
    if (t->max_off_cents < 0 || t->min_spend_cents < 0 || t->min_spend_cents > 100000000000)
        return siyu_err_set(
            e, SIYU_INVALID_ARGUMENT, t->max_off_cents < 0 ? "max_off_cents" : "min_spend_cents",
            "%s: must not be negative", t->max_off_cents < 0 ? "max_off_cents" : "min_spend_cents");
    if (t->kind == KIND_GIFT && !*t->gift_sku)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "gift_sku", "gift_sku: must not be empty");
    if (!t->valid_days && !t->valid_to)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "valid_days",
                            "valid_days: give valid_days (N days from issue) or valid_to");
    if (t->valid_days && t->valid_to)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "valid_days",
                            "valid_days: give valid_days or valid_to, not both");
    if (t->valid_days < 0 || t->valid_days > 3660)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "valid_days", "valid_days: 1 to 3660");
    if (t->valid_to && t->valid_from && t->valid_to <= t->valid_from)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "valid_to", "valid_to: not after valid_from");
    json_t *st = json_object_get(spec, "stock");
    if (st && !json_is_null(st) && (!json_is_integer(st) || json_integer_value(st) < 0))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "stock",
                            "stock: a non-negative count, or null for no limit");
    if (t->per_member_limit < 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "per_member_limit",
                            "per_member_limit: must not be negative (0 or absent: no limit)");
    if (t->per_member_period != PERIOD_LIFETIME && !t->per_member_limit)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "per_member_period",
                            "per_member_period: needs a per_member_limit");
    json_t *a = json_object_get(spec, "channels");
    if (a && !json_is_null(a)) {
        if (!json_is_array(a))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "channels", "channels: an array");
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
        {
            int k = -1;
            for (int j = 0; dom_channels[j] && json_is_string(v); j++)
                if (strcmp(dom_channels[j], json_string_value(v)) == 0) k = j;
            if (k < 0)
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "channels",
                                    "channels[%zu]: not a channel", i);
            t->channels |= 1u << k;
        }
    }
    a = json_object_get(spec, "store_ids");
    if (a && !json_is_null(a)) {
        if (!json_is_array(a) || json_array_size(a) > LOY_MAX_SCOPE)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "store_ids",
                                "store_ids: an array of at most %d store ids", LOY_MAX_SCOPE);
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
        {
            if (!json_is_integer(v) || json_integer_value(v) <= 0)
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "store_ids",
                                    "store_ids[%zu]: not a store id", i);
            t->stores[t->n_stores++] = json_integer_value(v);
        }
    }
    return 0;
}

/* Loads template id (its spec owned by the caller via t->spec). */
static int template_load(dom *d, int64_t id, loy_template *t, int64_t *stock, int64_t *issued,
                         siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_CTEMPLATE_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "template_id", "template_id: %lld not found",
                            (long long)id);
    }
    json_t *spec = json_loads(store_col_text(s, 2), 0, NULL);
    if (stock) *stock = store_col_null(s, 3) ? -1 : store_col_int(s, 3);
    if (issued) *issued = store_col_int(s, 4);
    store_reset(s);
    siyu_err sub;
    siyu_err_init(&sub);
    if (!spec || parse_template(spec, t, &sub)) {
        json_decref(spec);
        siyu_err_clear(&sub);
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "template %lld is unreadable", (long long)id);
    }
    t->id = id;
    return 0;
}

static json_t *template_row_json(store_stmt *s)
{
    json_t *o = json_loads(store_col_text(s, 2), 0, NULL);
    if (!o) o = json_object();
    json_object_set_new(o, "id", json_integer(store_col_int(s, 0)));
    json_object_set_new(o, "stock", dom_nullable_int(s, 3));
    json_object_set_new(o, "issued", json_integer(store_col_int(s, 4)));
    json_object_set_new(o, "remaining",
                        store_col_null(s, 3)
                            ? json_null()
                            : json_integer(store_col_int(s, 3) - store_col_int(s, 4)));
    json_object_set_new(o, "created_at", dom_time(store_col_int(s, 5)));
    return o;
}

int coupon_templates_create(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    loy_template t;
    if (parse_template(body, &t, e)) return -1;
    for (int i = 0; i < t.n_stores; i++)
        if (dom_require_store(d, t.stores[i], "store_ids", e)) return -1;
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    json_t *st = json_object_get(body, "stock");
    store_stmt *s = store_q(d->conn, Q_CTEMPLATE_INSERT);
    store_bind_text(s, 1, json_string_value(json_object_get(body, "name")));
    store_bind_text(s, 2, text);
    if (json_is_integer(st)) store_bind_int(s, 3, json_integer_value(st));
    store_bind_int(s, 4, d->now);
    int rc = store_exec(s, e);
    free(text);
    if (rc) return -1;
    return coupon_templates_get(d, store_last_id(d->conn), out, e) < 0 ? -1 : 201;
}

int coupon_templates_get(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_CTEMPLATE_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "coupon template %lld not found",
                            (long long)id);
    }
    if (out) *out = template_row_json(s);
    store_reset(s);
    return 200;
}

int coupon_templates_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e)
{
    json_t *items = json_array();
    int64_t last = 0;
    store_stmt *s = store_q(d->conn, Q_CTEMPLATE_LIST);
    store_bind_int(s, 1, cursor);
    store_bind_int(s, 2, limit);
    while (store_step(s) == STORE_ROW) {
        last = store_col_int(s, 0);
        json_array_append_new(items, template_row_json(s));
    }
    store_reset(s);
    *out = dom_list(items, limit, last);
    return 200;
}

/* ---------------- coupons ---------------- */

static json_t *coupon_row_json(dom *d, store_stmt *s, bool history)
{
    int64_t id = store_col_int(s, 0), tid = store_col_int(s, 2);
    json_t *o = json_pack(
        "{s:s, s:I, s:I, s:s, s:o, s:o, s:o}", "code", store_col_text(s, 1), "template_id",
        (json_int_t)tid, "member_id", (json_int_t)store_col_int(s, 3), "state",
        store_col_text(s, 5), "issued_at", dom_time(store_col_int(s, 6)), "valid_from",
        dom_time(store_col_int(s, 7)), "expires_at", dom_time(store_col_int(s, 8)));
    json_object_set_new(o, "order_id", dom_nullable_int(s, 9));
    json_object_set_new(o, "redeemed_at",
                        store_col_null(s, 10) ? json_null() : dom_time(store_col_int(s, 10)));
    if (store_col_int(s, 4) != store_col_int(s, 3))
        json_object_set_new(o, "first_member_id", json_integer(store_col_int(s, 4)));
    /* the template's name and kind, for the till and the 360 */
    store_stmt *t = store_q(d->conn, Q_CTEMPLATE_GET);
    store_bind_int(t, 1, tid);
    if (store_step(t) == STORE_ROW) {
        json_t *spec = json_loads(store_col_text(t, 2), 0, NULL);
        json_object_set(o, "name", json_object_get(spec, "name"));
        json_object_set(o, "kind", json_object_get(spec, "kind"));
        json_decref(spec);
    }
    store_reset(t);
    if (history) {
        json_t *h = json_array();
        store_stmt *ev = store_q(d->conn, Q_COUPON_EVENTS);
        store_bind_int(ev, 1, id);
        while (store_step(ev) == STORE_ROW) {
            json_t *x = json_pack("{s:o, s:s}", "at", dom_time(store_col_int(ev, 0)), "kind",
                                  store_col_text(ev, 1));
            json_object_set_new(x, "member_id", dom_nullable_int(ev, 2));
            json_object_set_new(x, "order_id", dom_nullable_int(ev, 3));
            if (!store_col_null(ev, 4))
                json_object_set_new(x, "details", json_loads(store_col_text(ev, 4), 0, NULL));
            json_array_append_new(h, x);
        }
        store_reset(ev);
        json_object_set_new(o, "history", h);
    }
    return o;
}

static json_t *coupon_json(dom *d, const char *code, bool history)
{
    store_stmt *s = store_q(d->conn, Q_COUPON_BY_CODE);
    store_bind_text(s, 1, code);
    json_t *o = NULL;
    if (store_step(s) == STORE_ROW) {
        /* coupon_row_json runs other statements: copy the row out first */
        o = coupon_row_json(d, s, history);
    }
    store_reset(s);
    return o;
}

static int event(dom *d, int64_t coupon, int64_t at, const char *kind, int64_t member,
                 int64_t order, json_t *details, siyu_err *e)
{
    char *text = details ? json_dumps(details, JSON_COMPACT) : NULL;
    json_decref(details);
    store_stmt *s = store_q(d->conn, Q_COUPON_EVENT_INSERT);
    store_bind_int(s, 1, coupon);
    store_bind_int(s, 2, at);
    store_bind_text(s, 3, kind);
    if (member) store_bind_int(s, 4, member);
    if (order) store_bind_int(s, 5, order);
    store_bind_text(s, 6, text);
    int rc = store_exec(s, e);
    free(text);
    /* every change to a coupon comes with an event naming its holder (both, when forwarded):
     * the holder's kept 360 lists it (views/member_cache.h) */
    if (!rc && member) dom_note(d, DOM_CHANGE_MEMBER_360, member, 0);
    return rc;
}

static void new_code(char *out)
{
    /* no 0/O, 1/I/L: read aloud at a till */
    static const char alphabet[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    out[0] = 'C';
    for (int i = 1; i < 13; i++)
        out[i] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
    out[13] = 0;
}

/* Issues one coupon of t to member; *code receives it. 422 when stock or the
 * member's limit is exhausted. */
static int issue_one(dom *d, const loy_template *t, int64_t member, const char *ref, char *code,
                     siyu_err *e)
{
    if (ref) {
        store_stmt *s = store_q(d->conn, Q_COUPON_BY_REF);
        store_bind_text(s, 1, ref);
        if (store_step(s) == STORE_ROW) {
            snprintf(code, 16, "%s", store_col_text(s, 0));
            store_reset(s);
            return 200;
        }
        store_reset(s);
    }
    if (limit_check(d, t, member, "member_id", e)) return -1;
    int64_t valid_from = t->valid_from ? t->valid_from : d->now;
    int64_t expires = t->valid_to
                          ? t->valid_to
                          : loy_day_start(time_local_day(d->now) + (int32_t)t->valid_days + 1);
    if (expires <= d->now) {
        siyu_err_set(e, SIYU_UNPROCESSABLE, "template_id",
                     "template_id: template %lld is no longer valid", (long long)t->id);
        fail_reason(e, "expired");
        return -1;
    }
    store_stmt *s = store_q(d->conn, Q_CTEMPLATE_TAKE);
    store_bind_int(s, 1, t->id);
    if (store_exec(s, e)) return -1;
    if (store_changes(d->conn) != 1) {
        siyu_err_set(e, SIYU_UNPROCESSABLE, "template_id",
                     "template_id: template %lld is out of stock", (long long)t->id);
        fail_reason(e, "out_of_stock");
        return -1;
    }
    for (int attempt = 0;; attempt++) {
        new_code(code);
        s = store_q(d->conn, Q_COUPON_INSERT);
        store_bind_text(s, 1, code);
        store_bind_int(s, 2, t->id);
        store_bind_int(s, 3, member);
        store_bind_int(s, 4, d->now);
        store_bind_int(s, 5, valid_from);
        store_bind_int(s, 6, expires);
        store_bind_text(s, 7, ref);
        store_step_rc rc = store_step(s);
        store_reset(s);
        if (rc == STORE_DONE) break;
        if (rc != STORE_CONSTRAINT || attempt == 5)
            return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: %s", store_errmsg(d->conn));
    }
    if (event(d, store_last_id(d->conn), d->now, "issued", member, 0, NULL, e)) return -1;
    dom_note(d, DOM_CHANGE_LOYALTY, member, 0);
    return 201;
}

int coupons_issue(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"template_id", "member_id", "member_ids", "external_id",
                                          NULL};
    int64_t tid, member = 0;
    const char *ext = NULL;
    if (jx_only(body, allowed, NULL, e) || jx_int(body, "template_id", true, &tid, e) < 0 ||
        jx_int(body, "member_id", false, &member, e) < 0 ||
        jx_str(body, "external_id", false, &ext, e) < 0)
        return -1;
    json_t *list = json_object_get(body, "member_ids");
    if (!member && !list)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "member_id",
                            "member_id: required (or member_ids)");
    if (member && list)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "member_ids",
                            "member_ids: give member_id or member_ids, not both");
    if (list &&
        (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > 100000))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "member_ids",
                            "member_ids: an array of 1 to 100000 member ids");
    if (ext && (!*ext || strlen(ext) > 100))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "external_id", "external_id: 1 to 100 bytes");
    loy_template t;
    if (template_load(d, tid, &t, NULL, NULL, e)) return -1;
    int rc = -1;
    char code[16], ref[160];
    if (member) {
        if (!loy_member_visible(d, member, e) ||
            (member = members_live_id(d, member, "member_id", e)) < 0)
            goto done;
        if (ext) snprintf(ref, sizeof ref, "%s:%lld", ext, (long long)member);
        rc = issue_one(d, &t, member, ext ? ref : NULL, code, e);
        if (rc > 0 && out) *out = coupon_json(d, code, true);
        goto done;
    }
    /* a list: each member in its own savepoint, refusals reported, not fatal */
    json_t *issued = json_array(), *skipped = json_array();
    size_t i;
    json_t *v;
    rc = 201;
    json_array_foreach(list, i, v)
    {
        char f[40];
        snprintf(f, sizeof f, "member_ids[%zu]", i);
        siyu_err sub;
        siyu_err_init(&sub);
        int64_t m = json_is_integer(v) ? json_integer_value(v) : 0;
        if (m <= 0) {
            json_decref(issued);
            json_decref(skipped);
            rc = siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: not a member id", f);
            goto done;
        }
        if (store_savepoint(d->conn, e)) {
            rc = -1;
            break;
        }
        int r1 = -1;
        if (loy_member_visible(d, m, &sub) && (m = members_live_id(d, m, f, &sub)) > 0) {
            if (ext) snprintf(ref, sizeof ref, "%s:%lld", ext, (long long)m);
            r1 = issue_one(d, &t, m, ext ? ref : NULL, code, &sub);
        }
        if (r1 > 0) {
            store_savepoint_release(d->conn);
            json_array_append_new(
                issued, json_pack("{s:I, s:s}", "member_id", (json_int_t)m, "code", code));
        } else {
            store_savepoint_undo(d->conn);
            if (sub.code == SIYU_INTERNAL) {
                siyu_err_set(e, sub.code, NULL, "%s", sub.message);
                siyu_err_clear(&sub);
                rc = -1;
                break;
            }
            json_array_append_new(
                skipped, json_pack("{s:o, s:s}", "member_id", json_copy(v), "error", sub.message));
        }
        siyu_err_clear(&sub);
    }
    if (rc < 0) {
        json_decref(issued);
        json_decref(skipped);
        goto done;
    }
    if (out)
        *out = json_pack("{s:I, s:o, s:o}", "template_id", (json_int_t)tid, "issued", issued,
                         "skipped", skipped);
    else {
        json_decref(issued);
        json_decref(skipped);
    }
done:
    json_decref(t.spec);
    return rc;
}

int coupons_get(dom *d, const char *code, json_t **out, siyu_err *e)
{
    json_t *o = coupon_json(d, code, true);
    if (!o) return siyu_err_set(e, SIYU_NOT_FOUND, "code", "coupon %s not found", code);
    int64_t member = json_integer_value(json_object_get(o, "member_id"));
    if (!loy_member_visible(d, member, e)) {
        json_decref(o);
        return -1;
    }
    *out = o;
    return 200;
}

int loyalty_member_coupons(dom *d, int64_t member_id, json_t **out, siyu_err *e)
{
    if (!loy_member_visible(d, member_id, e)) return -1;
    json_t *items = json_array();
    store_stmt *s = store_q(d->conn, Q_COUPONS_OF_MEMBER);
    store_bind_int(s, 1, member_id);
    /* collect codes first: rendering runs other statements on this connection */
    json_t *codes = json_array();
    while (store_step(s) == STORE_ROW)
        json_array_append_new(codes, json_string(store_col_text(s, 1)));
    store_reset(s);
    size_t i;
    json_t *c;
    json_array_foreach(codes, i, c)
        json_array_append_new(items, coupon_json(d, json_string_value(c), true));
    json_decref(codes);
    *out = json_pack("{s:o}", "items", items);
    return 200;
}

typedef struct coupon_row {
    int64_t id, template_id, member_id, valid_from, expires_at, order_id;
    char state[16];
} coupon_row;

static int coupon_row_load(dom *d, const char *code, coupon_row *r)
{
    store_stmt *s = store_q(d->conn, Q_COUPON_BY_CODE);
    store_bind_text(s, 1, code);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return -1;
    }
    r->id = store_col_int(s, 0);
    r->template_id = store_col_int(s, 2);
    r->member_id = store_col_int(s, 3);
    snprintf(r->state, sizeof r->state, "%s", store_col_text(s, 5));
    r->valid_from = store_col_int(s, 7);
    r->expires_at = store_col_int(s, 8);
    r->order_id = store_col_null(s, 9) ? 0 : store_col_int(s, 9);
    store_reset(s);
    return 0;
}

static loyalty_forward_fn forward_hook; /* fission's, set by loyalty_set_forward_hook */

int coupons_forward(dom *d, const char *code, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"phone", NULL};
    const char *phone;
    if (jx_only(body, allowed, NULL, e) || jx_str(body, "phone", true, &phone, e) < 0) return -1;
    char normal[24];
    if (phone_normalise(phone, normal, sizeof normal))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "phone", "phone: not a phone number");
    coupon_row c;
    if (coupon_row_load(d, code, &c))
        return siyu_err_set(e, SIYU_NOT_FOUND, "code", "coupon %s not found", code);
    if (!loy_member_visible(d, c.member_id, e)) return -1;
    /* who holds the phone now, if anyone */
    int64_t friend = 0;
    store_stmt *s = store_q(d->conn, Q_IDENTITY_FIND);
    store_bind_text(s, 1, "phone");
    store_bind_text(s, 2, "");
    store_bind_text(s, 3, normal);
    if (store_step(s) == STORE_ROW) friend = store_col_int(s, 0);
    store_reset(s);
    if (friend) {
        siyu_err sub;
        siyu_err_init(&sub);
        int64_t live = members_live_id(d, friend, "phone", &sub);
        siyu_err_clear(&sub);
        if (live > 0) friend = live;
    }
    if (friend && friend == c.member_id)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "phone",
                            "phone: the coupon already belongs to that member");
    if (strcmp(c.state, "issued") != 0 || c.expires_at <= d->now)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "code",
                            "coupon %s is %s and cannot be forwarded", code,
                            strcmp(c.state, "issued") ? c.state : "expired");
    loy_template t;
    if (template_load(d, c.template_id, &t, NULL, NULL, e)) return -1;
    int rc = -1;
    if (!t.shareable) {
        siyu_err_set(e, SIYU_UNPROCESSABLE, "code", "coupon %s is not shareable", code);
        goto done;
    }
    bool created = false;
    if (!friend) {
        /* the sender's store and guide welcome the friend: a prospect member */
        store_stmt *m = store_q(d->conn, Q_MEMBER_GET);
        store_bind_int(m, 1, c.member_id);
        member_defaults defs = {.joined_at = d->now, .channel = "miniprogram"};
        if (store_step(m) == STORE_ROW) {
            defs.store_id = store_col_opt_by(m, "store_id");
            defs.guide_id = store_col_opt_by(m, "guide_id");
        }
        store_reset(m);
        json_t *ident = json_pack("{s:s}", "phone", normal);
        friend = members_resolve(d, ident, "", true, &defs, e);
        json_decref(ident);
        if (friend < 0) goto done;
        created = true;
    }
    /* a friend the caller may not see (another store's member) is never named to them */
    siyu_err sub;
    siyu_err_init(&sub);
    bool hidden = !created && scope_member(d, friend, &sub) != 1;
    siyu_err_clear(&sub);
    if (limit_check(d, &t, friend, "phone", e)) {
        if (hidden) {
            siyu_err_clear(e);
            siyu_err_set(e, SIYU_UNPROCESSABLE, "phone",
                         "phone: the friend already received as many of this template as its "
                         "per-member limit allows");
            fail_reason(e, "per_member_limit");
        }
        goto done;
    }
    s = store_q(d->conn, Q_COUPON_SET_MEMBER);
    store_bind_int(s, 1, friend);
    store_bind_int(s, 2, c.id);
    if (store_exec(s, e) ||
        event(d, c.id, d->now, "forwarded", c.member_id, 0,
              json_pack("{s:I}", "to_member_id", (json_int_t) friend), e) ||
        event(d, c.id, d->now, "received", friend, 0,
              json_pack("{s:I}", "from_member_id", (json_int_t)c.member_id), e))
        goto done;
    if (created) {
        /* only a phone new to the chain is a referral: an existing member or buyer earns
         * nobody anything */
        if (loy_account_ensure(d, friend, e)) goto done;
        s = store_q(d->conn, Q_LACCOUNT_SET_REFERRER);
        store_bind_int(s, 1, c.member_id);
        store_bind_int(s, 2, d->now);
        store_bind_int(s, 3, d->now);
        store_bind_int(s, 4, friend);
        if (store_exec(s, e)) goto done;
    }
    if (forward_hook && forward_hook(d, c.member_id, friend, created, code, e)) goto done;
    dom_note(d, DOM_CHANGE_LOYALTY, friend, 0);
    dom_note(d, DOM_CHANGE_LOYALTY, c.member_id, 0);
    if (out) {
        *out = coupon_json(d, code, !hidden);
        json_object_set_new(*out, "friend",
                            json_pack("{s:o, s:b, s:o}", "member_id",
                                      hidden ? json_null() : json_integer(friend), "created",
                                      created, "referrer_id",
                                      created ? json_integer(c.member_id) : json_null()));
        if (hidden) json_object_set_new(*out, "member_id", json_null());
    }
    rc = 200;
done:
    json_decref(t.spec);
    return rc;
}

void loyalty_set_forward_hook(loyalty_forward_fn fn)
{
    forward_hook = fn;
}

/* ---------------- on orders ---------------- */

static bool in_scope(const loy_template *t, int channel, int64_t store_id)
{
    if (t->channels && channel >= 0 && !(t->channels & (1u << channel))) return false;
    if (t->n_stores && store_id) {
        bool ok = false;
        for (int i = 0; i < t->n_stores; i++)
            ok |= t->stores[i] == store_id;
        return ok;
    }
    return true;
}

/* What the coupon takes off a basket of `gross` cents. */
static int64_t coupon_value(const loy_template *t, int64_t gross, int64_t gift_price)
{
    int64_t v;
    switch (t->kind) {
    case KIND_CASH_OFF:
        v = t->value_cents;
        break;
    case KIND_PERCENT_OFF:
        v = gross * t->percent / 100;
        if (t->max_off_cents && v > t->max_off_cents) v = t->max_off_cents;
        break;
    default:
        v = gift_price;
    }
    return v > gross ? gross : v;
}

/* Why the coupon cannot be used on this basket, or NULL. */
static const char *unusable(const loy_template *t, const coupon_row *c, int64_t member, int64_t at,
                            int channel, int64_t store_id, int64_t gross, const char *const *skus,
                            size_t n_skus, char *buf, size_t len)
{
    if (c->member_id != member) return "belongs to another member";
    if (strcmp(c->state, "issued") != 0) {
        snprintf(buf, len, "is %s%s", c->state,
                 strcmp(c->state, "redeemed") == 0 ? " already" : "");
        return buf;
    }
    if (at < c->valid_from) return "is not valid yet";
    if (at >= c->expires_at) return "has expired";
    if (!in_scope(t, channel, store_id)) return "is not valid in this store or channel";
    if (gross >= 0 && gross < t->min_spend_cents) {
        snprintf(buf, len, "needs a spend of at least %lld cents", (long long)t->min_spend_cents);
        return buf;
    }
    if (t->kind == KIND_GIFT && skus) {
        bool found = false;
        for (size_t i = 0; i < n_skus; i++)
            found |= strcmp(skus[i], t->gift_sku) == 0;
        if (!found) {
            snprintf(buf, len, "needs the gift %s in the basket", t->gift_sku);
            return buf;
        }
    }
    return NULL;
}

int loy_coupon_redeem(dom *d, const dom_order_facts *o, int64_t gross, siyu_err *e)
{
    coupon_row c;
    if (coupon_row_load(d, o->coupon_code, &c))
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "coupon_code", "coupon_code: %s not found",
                            o->coupon_code);
    if (!o->member_id)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "coupon_code",
                            "coupon_code: a coupon is redeemed by its member; name the member");
    loy_template t;
    if (template_load(d, c.template_id, &t, NULL, NULL, e)) return -1;
    const char **skus = calloc(o->n_items + 1, sizeof *skus);
    for (size_t i = 0; i < o->n_items; i++)
        skus[i] = o->items[i].sku;
    char buf[128];
    const char *why = unusable(&t, &c, o->member_id, o->placed_at, o->channel, o->store_id, gross,
                               skus, o->n_items, buf, sizeof buf);
    free(skus);
    json_decref(t.spec);
    if (why)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "coupon_code", "coupon_code: %s %s",
                            o->coupon_code, why);
    store_stmt *s = store_q(d->conn, Q_COUPON_REDEEM);
    store_bind_int(s, 1, o->id);
    store_bind_int(s, 2, o->placed_at);
    store_bind_int(s, 3, c.id);
    if (store_exec(s, e)) return -1;
    if (store_changes(d->conn) != 1)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "coupon_code",
                            "coupon_code: %s is redeemed already", o->coupon_code);
    return event(d, c.id, o->placed_at, "redeemed", o->member_id, o->id, NULL, e);
}

int loy_coupon_restore(dom *d, int64_t order_id, int64_t at, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_COUPON_BY_ORDER);
    store_bind_int(s, 1, order_id);
    char code[32] = "";
    if (store_step(s) == STORE_ROW) snprintf(code, sizeof code, "%s", store_col_text(s, 0));
    store_reset(s);
    coupon_row c;
    if (!code[0] || coupon_row_load(d, code, &c)) return 0;
    loy_template t;
    if (template_load(d, c.template_id, &t, NULL, NULL, e)) return -1;
    bool restore = t.restore_on_refund;
    json_decref(t.spec);
    if (!restore) return 0;
    s = store_q(d->conn, Q_COUPON_RESTORE);
    store_bind_int(s, 1, c.id);
    if (store_exec(s, e) || event(d, c.id, at, "restored", c.member_id, order_id, NULL, e))
        return -1;
    dom_note(d, DOM_CHANGE_LOYALTY, c.member_id, 0);
    return 0;
}

int64_t loy_coupons_expire(dom *d, int64_t t, int limit, siyu_err *e)
{
    size_t n = 0, cap = 64;
    int64_t(*due)[2] = malloc(cap * sizeof *due);
    store_stmt *s = store_q(d->conn, Q_COUPONS_DUE_EXPIRY);
    store_bind_int(s, 1, t);
    store_bind_int(s, 2, limit > 0 ? limit : INT32_MAX);
    while (store_step(s) == STORE_ROW) {
        if (n == cap) due = realloc(due, (cap *= 2) * sizeof *due);
        due[n][0] = store_col_int(s, 0);
        due[n][1] = store_col_int(s, 1);
        n++;
    }
    store_reset(s);
    for (size_t i = 0; i < n; i++) {
        s = store_q(d->conn, Q_COUPON_EXPIRE);
        store_bind_int(s, 1, due[i][0]);
        if (store_exec(s, e) || event(d, due[i][0], t, "expired", due[i][1], 0, NULL, e)) {
            free(due);
            return -1;
        }
        dom_note(d, DOM_CHANGE_LOYALTY, due[i][1], 0);
    }
    free(due);
    return (int64_t)n;
}

int loy_coupons_usable(dom *d, int64_t member, const loyalty_basket *b, json_t *usable,
                       json_t *unusable_out)
{
    json_t *codes = json_array();
    store_stmt *s = store_q(d->conn, Q_COUPONS_OF_MEMBER);
    store_bind_int(s, 1, member);
    while (store_step(s) == STORE_ROW)
        if (strcmp(store_col_text(s, 5), "issued") == 0)
            json_array_append_new(codes, json_string(store_col_text(s, 1)));
    store_reset(s);
    size_t n_skus = 0;
    while (b->skus && b->skus[n_skus])
        n_skus++;
    size_t i;
    json_t *cj;
    json_array_foreach(codes, i, cj)
    {
        const char *code = json_string_value(cj);
        coupon_row c;
        loy_template t;
        siyu_err sub;
        siyu_err_init(&sub);
        if (coupon_row_load(d, code, &c) || template_load(d, c.template_id, &t, NULL, NULL, &sub)) {
            siyu_err_clear(&sub);
            continue;
        }
        char buf[128];
        const char *why = unusable(&t, &c, member, d->now, b->channel, b->store_id, b->amount_cents,
                                   b->skus, n_skus, buf, sizeof buf);
        json_t *o = json_pack(
            "{s:s, s:O, s:O, s:o}", "code", code, "name", json_object_get(t.spec, "name"), "kind",
            json_object_get(t.spec, "kind"), "expires_at", dom_time(c.expires_at));
        if (why) {
            json_object_set_new(o, "reason", json_string(why));
            json_array_append_new(unusable_out, o);
        } else {
            if (b->amount_cents >= 0 && t.kind != KIND_GIFT)
                json_object_set_new(o, "discount_cents",
                                    json_integer(coupon_value(&t, b->amount_cents, 0)));
            if (t.kind == KIND_GIFT) json_object_set_new(o, "gift_sku", json_string(t.gift_sku));
            json_array_append_new(usable, o);
        }
        json_decref(t.spec);
    }
    json_decref(codes);
    return 0;
}

/* ---- for other modules (games): one coupon of a template, with its stock and limits ---- */
int loyalty_coupon_grant(dom *d, int64_t template_id, int64_t member, const char *ref,
                         char code[16], siyu_err *e)
{
    loy_template t;
    if (template_load(d, template_id, &t, NULL, NULL, e)) return -1;
    int rc = issue_one(d, &t, member, ref, code, e);
    json_decref(t.spec);
    return rc;
}

int loyalty_coupon_void(dom *d, const char *code, const char *why, char state[16], siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_COUPON_BY_CODE);
    store_bind_text(s, 1, code);
    int64_t id = 0, holder = 0;
    char now[16] = "";
    if (store_step(s) == STORE_ROW) {
        id = store_col_int_by(s, "id");
        holder = store_col_int_by(s, "member_id");
        snprintf(now, sizeof now, "%s", store_col_text_by(s, "state"));
    }
    store_reset(s);
    if (store_conn_check(d->conn, e)) return -1;
    if (state) snprintf(state, 16, "%s", now);
    if (!id || strcmp(now, "issued") != 0) return 0;
    s = store_q(d->conn, Q_COUPON_VOID);
    store_bind_int(s, 1, id);
    if (store_exec(s, e)) return -1;
    if (!store_changes(d->conn)) return 0;
    if (state) snprintf(state, 16, "void");
    return event(d, id, d->now, "voided", holder, 0, why ? json_pack("{s:s}", "why", why) : NULL, e)
               ? -1
               : 1;
}
