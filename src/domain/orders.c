/* orders.c — orders from every channel, and their refunds.
 *
 * An order is keyed by (channel, external_id): a retried POST finds the stored order
 * and answers it (200) when the body is the same, or refuses (409) when a different
 * order claims the key. The digest of the canonical body is what "the same" means.
 * Totals must add up (Σ qty × unit price − discount, summed with checked arithmetic so a
 * long invoice can never wrap past 2^63 into a small total), and refunds can never exceed
 * what was paid — per order, and per line when lines are named. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/checked.h"
#include "base/digest.h"
#include "base/jsonx.h"
#include "domain/domain.h"
#include "domain/memo.h"

/* The line cap: process-wide, set before serving (orders_set_max_lines). */
static _Atomic int max_items = ORDERS_MAX_LINES_DEFAULT;
#define MAX_MONEY 100000000000LL /* a billion yuan: anything larger is a typo */
#define MAX_QTY 1000000

typedef struct item_in {
    const char *sku, *category, *name;
    int64_t qty, unit;
} item_in;

/* The identity of an order body: every field that defines the order, in a fixed
 * order, so a retry with its keys reordered is still the same order. */
static void order_digest(int channel, const char *external_id, int64_t store_id, int64_t placed_at,
                         int64_t total, int64_t discount, int64_t points, const char *coupon,
                         int64_t member_id, json_t *member, int64_t guide_id, const item_in *items,
                         size_t n, unsigned char out[DIGEST_BYTES])
{
    static const char *const member_keys[] = {"phone",   "unionid",           "openid", "app_id",
                                              "card_no", "wecom_external_id", "name"};
    digest d;
    digest_init(&d);
    digest_str(&d, dom_channels[channel]);
    digest_str(&d, external_id);
    digest_int(&d, store_id);
    digest_int(&d, placed_at);
    digest_int(&d, total);
    digest_int(&d, discount);
    digest_int(&d, points);
    digest_str(&d, coupon);
    digest_int(&d, member_id);
    if (member && json_is_object(member)) {
        for (size_t k = 0; k < sizeof member_keys / sizeof *member_keys; k++)
            digest_str(&d, json_string_value(json_object_get(member, member_keys[k])));
    } else {
        digest_json(&d, member);
    }
    digest_int(&d, guide_id);
    digest_int(&d, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        digest_str(&d, items[i].sku);
        digest_str(&d, items[i].category);
        digest_str(&d, items[i].name);
        digest_int(&d, items[i].qty);
        digest_int(&d, items[i].unit);
    }
    digest_final(&d, out);
}

static bool scope_sees_order(const dom *d, int64_t store_id, int64_t guide_id, int64_t member_guide)
{
    switch (d->who.role) {
    case ROLE_ADMIN:
    case ROLE_OPERATOR:
        return true;
    case ROLE_STORE_MANAGER:
    case ROLE_CASHIER: /* a till sees the orders it posts: its store's */
        return store_id == d->who.store_id;
    case ROLE_GUIDE:
        return guide_id == d->who.staff_id || member_guide == d->who.staff_id;
    default:
        return false;
    }
}

/* ---------------- rendering ---------------- */

static json_t *refund_json(store_stmt *s)
{
    json_t *items = json_null();
    const char *t = store_col_text(s, 5);
    if (t) items = json_loads(t, 0, NULL);
    return json_pack("{s:I, s:I, s:s, s:I, s:o, s:o}", "id", (json_int_t)store_col_int(s, 0),
                     "order_id", (json_int_t)store_col_int(s, 1), "external_id",
                     store_col_text(s, 2), "amount_cents", (json_int_t)store_col_int(s, 3),
                     "refunded_at", dom_time(store_col_int(s, 4)), "items",
                     items ? items : json_null());
}

static json_t *order_row_json(store_stmt *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(store_col_int(s, 0)));
    json_object_set_new(o, "channel", json_string(store_col_text(s, 1)));
    json_object_set_new(o, "external_id", json_string(store_col_text(s, 2)));
    json_object_set_new(o, "store_id", json_integer(store_col_int(s, 3)));
    json_object_set_new(o, "member_id", dom_nullable_int(s, 4));
    json_object_set_new(o, "guide_id", dom_nullable_int(s, 5));
    json_object_set_new(o, "placed_at", dom_time(store_col_int(s, 6)));
    json_object_set_new(o, "total_cents", json_integer(store_col_int(s, 7)));
    json_object_set_new(o, "discount_cents", json_integer(store_col_int(s, 8)));
    json_object_set_new(o, "points_used", json_integer(store_col_int(s, 9)));
    json_object_set_new(o, "coupon_code", dom_nullable_text(s, 10));
    json_object_set_new(o, "refunded_cents", json_integer(store_col_int(s, 11)));
    return o;
}

static json_t *order_render(dom *d, int64_t id)
{
    store_stmt *s = store_q(d->conn, Q_ORDER_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) return NULL;
    json_t *o = order_row_json(s);
    store_reset(s);
    json_t *items = json_array();
    s = store_q(d->conn, Q_ORDER_ITEMS);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW)
        json_array_append_new(
            items, json_pack("{s:I, s:s, s:o, s:o, s:I, s:I, s:I}", "line",
                             (json_int_t)store_col_int(s, 0), "sku", store_col_text(s, 1),
                             "category", dom_nullable_text(s, 2), "name", dom_nullable_text(s, 3),
                             "qty", (json_int_t)store_col_int(s, 4), "unit_price_cents",
                             (json_int_t)store_col_int(s, 5), "refunded_qty",
                             (json_int_t)store_col_int(s, 6)));
    json_object_set_new(o, "items", items);
    json_t *refunds = json_array();
    s = store_q(d->conn, Q_REFUND_LIST);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW)
        json_array_append_new(refunds, refund_json(s));
    json_object_set_new(o, "refunds", refunds);
    return o;
}

static int64_t member_guide(dom *d, int64_t member_id)
{
    if (!member_id) return 0;
    store_stmt *s = store_q(d->conn, Q_MEMBER_GET);
    store_bind_int(s, 1, member_id);
    /* the guide's id, not whether there is one (a && here made every bound guide staff 1) */
    int64_t g = store_step(s) == STORE_ROW ? store_col_opt_by(s, "guide_id") : 0;
    store_reset(s);
    return g;
}

int orders_get(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_ORDER_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW)
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "order %lld does not exist", (long long)id);
    int64_t store_id = store_col_int_by(s, "store_id");
    int64_t member_id = store_col_opt_by(s, "member_id");
    int64_t guide_id = store_col_opt_by(s, "guide_id");
    store_reset(s);
    if (!scope_sees_order(d, store_id, guide_id, member_guide(d, member_id)))
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, NULL, "order %lld is outside your scope",
                            (long long)id);
    if (out) *out = order_render(d, id);
    return 200;
}

int orders_list(dom *d, int64_t cursor, int limit, int64_t member_id, int64_t store_id,
                json_t **out, siyu_err *e)
{
    if (d->who.role == ROLE_STORE_MANAGER) {
        if (store_id && store_id != d->who.store_id)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, "store_id",
                                "store_id: outside your store");
        store_id = d->who.store_id;
    }
    int64_t ids[1000];
    int n = 0;
    store_stmt *s = store_q(d->conn, Q_ORDER_LIST);
    store_bind_int(s, 1, cursor);
    store_bind_int(s, 2, limit);
    if (member_id) store_bind_int(s, 3, member_id);
    if (store_id) store_bind_int(s, 4, store_id);
    if (d->who.role == ROLE_GUIDE) store_bind_int(s, 5, d->who.staff_id);
    while (n < limit && n < 1000 && store_step(s) == STORE_ROW)
        ids[n++] = store_col_int(s, 0);
    store_reset(s);
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, order_render(d, ids[i]));
    *out = dom_list(items, limit, n ? ids[n - 1] : 0);
    return 200;
}

/* ---------------- creating ---------------- */

/* Names a field of item i in an error: "items[2].qty". Only runs on the error path. */
static int item_error(siyu_err *e, size_t i, const siyu_err *sub)
{
    char f[64];
    snprintf(f, sizeof f, "items[%zu].%s", i, sub->field);
    return siyu_err_set(e, sub->code, f, "items[%zu].%s", i, sub->message);
}

void orders_set_max_lines(int n)
{
    if (n >= 1 && n <= ORDERS_MAX_LINES_LIMIT) atomic_store(&max_items, n);
}

int orders_max_lines(void)
{
    return atomic_load(&max_items);
}

size_t orders_max_body(void)
{
    return ((size_t)1 << 20) + (size_t)orders_max_lines() * 512;
}

/* Reads the items array into a new array (*out, caller frees). */
static int read_items(json_t *body, item_in **out, size_t *count, int64_t *sum, siyu_err *e)
{
    json_t *arr = json_object_get(body, "items");
    if (!arr || json_is_null(arr))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "items", "items: required");
    if (!json_is_array(arr))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "items", "items: not an array");
    size_t n = json_array_size(arr);
    if (n == 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "items",
                            "items: an order needs at least one item");
    if (n > (size_t)orders_max_lines())
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "items", "items: more than %d lines",
                            orders_max_lines());
    static const char *const allowed[] = {"sku", "category",         "name",
                                          "qty", "unit_price_cents", NULL};
    item_in *items = calloc(n, sizeof *items);
    *sum = 0;
    siyu_err sub;
    siyu_err_init(&sub);
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(arr, i);
        item_in *x = &items[i];
        if (!json_is_object(it)) {
            free(items);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "items", "items[%zu]: not an object", i);
        }
        if (jx_only(it, allowed, NULL, &sub) || jx_str(it, "sku", true, &x->sku, &sub) < 0 ||
            jx_str(it, "category", false, &x->category, &sub) < 0 ||
            jx_str(it, "name", false, &x->name, &sub) < 0 ||
            jx_int(it, "qty", true, &x->qty, &sub) < 0 ||
            jx_int(it, "unit_price_cents", true, &x->unit, &sub) < 0)
            goto fail;
        if (!*x->sku) {
            siyu_err_set(&sub, SIYU_INVALID_ARGUMENT, "sku", "sku: must not be empty");
            goto fail;
        }
        if (x->qty <= 0 || x->qty > MAX_QTY) {
            siyu_err_set(&sub, SIYU_INVALID_ARGUMENT, "qty", "qty: must be between 1 and %d",
                         MAX_QTY);
            goto fail;
        }
        if (x->unit < 0 || x->unit > MAX_MONEY) {
            siyu_err_set(&sub, SIYU_INVALID_ARGUMENT, "unit_price_cents",
                         "unit_price_cents: must be between 0 and %lld", MAX_MONEY);
            goto fail;
        }
        /* a line is at most 1e6 × 1e11, but many lines can pass 2^63: checked */
        if (!ck_add_mul(sum, x->qty, x->unit)) {
            free(items);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "items",
                                "items: the lines' sum passes the largest amount at items[%zu]", i);
        }
        continue;
    fail:
        free(items);
        return item_error(e, i, &sub);
    }
    *out = items;
    *count = n;
    return 0;
}

static int money(json_t *body, const char *key, bool required, int64_t *v, siyu_err *e)
{
    int rc = jx_int(body, key, required, v, e);
    if (rc == 1 && (*v < 0 || *v > MAX_MONEY))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key, "%s: must be between 0 and %lld", key,
                            MAX_MONEY);
    return rc;
}

static int refunds_inline(dom *d, int64_t order_id, json_t *refunds, siyu_err *e)
{
    if (!json_is_array(refunds))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "refunds", "refunds: not an array");
    size_t i;
    json_t *r;
    json_array_foreach(refunds, i, r)
    {
        if (!json_is_object(r))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "refunds", "refunds[%zu]: not an object",
                                i);
        json_t *body = json_deep_copy(r);
        if (!json_object_get(body, "at") && json_object_get(r, "refunded_at"))
            json_object_set(body, "at", json_object_get(r, "refunded_at"));
        json_object_del(body, "refunded_at");
        int rc = orders_refund(d, order_id, body, NULL, e);
        json_decref(body);
        if (rc < 0) {
            char f[64];
            snprintf(f, sizeof f, "refunds[%zu].%s", i, e->field);
            char m[256];
            snprintf(m, sizeof m, "refunds[%zu].%s", i, e->message);
            snprintf(e->field, sizeof e->field, "%s", f);
            snprintf(e->message, sizeof e->message, "%s", m);
            return -1;
        }
    }
    return 0;
}

int orders_create(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    order_made made;
    return orders_create_id(d, body, out, &made, e);
}

static json_t *body_text(json_t *body, const char *key)
{
    const char *v = json_string_value(json_object_get(body, key));
    return v ? json_string(v) : json_null();
}

static json_int_t body_int(json_t *body, const char *key)
{
    return json_integer_value(json_object_get(body, key)); /* absent: 0, as written */
}

json_t *orders_render_made(json_t *body, const order_made *m)
{
    siyu_err e;
    siyu_err_init(&e);
    int64_t placed_at = 0;
    jx_time(body, "placed_at", true, &placed_at, &e); /* accepted by the write */
    siyu_err_clear(&e);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(m->id));
    json_object_set_new(o, "channel", body_text(body, "channel"));
    json_object_set_new(o, "external_id", body_text(body, "external_id"));
    json_object_set_new(o, "store_id", json_integer(body_int(body, "store_id")));
    json_object_set_new(o, "member_id", m->member_id ? json_integer(m->member_id) : json_null());
    json_object_set_new(o, "guide_id", m->guide_id ? json_integer(m->guide_id) : json_null());
    json_object_set_new(o, "placed_at", dom_time(placed_at));
    json_object_set_new(o, "total_cents", json_integer(body_int(body, "total_cents")));
    json_object_set_new(o, "discount_cents", json_integer(body_int(body, "discount_cents")));
    json_object_set_new(o, "points_used", json_integer(body_int(body, "points_used")));
    json_object_set_new(o, "coupon_code", body_text(body, "coupon_code"));
    json_object_set_new(o, "refunded_cents", json_integer(0));
    json_t *items = json_array(), *it;
    size_t i;
    json_array_foreach(json_object_get(body, "items"), i, it)
    {
        json_array_append_new(items, json_pack("{s:I, s:o, s:o, s:o, s:I, s:I, s:I}", "line",
                                               (json_int_t)i + 1, "sku", body_text(it, "sku"),
                                               "category", body_text(it, "category"), "name",
                                               body_text(it, "name"), "qty", body_int(it, "qty"),
                                               "unit_price_cents", body_int(it, "unit_price_cents"),
                                               "refunded_qty", (json_int_t)0));
    }
    json_object_set_new(o, "items", items);
    json_object_set_new(o, "refunds", json_array());
    return o;
}

/* An order body checked against everything but the store: its fields, its lines, its
 * totals and its digest. It points into the body, which outlives it. */
struct order_in {
    int channel;
    const char *external_id, *coupon;
    int64_t store_id, placed_at, total, discount, points, member_id, guide_id;
    json_t *member, *refunds; /* NULL when absent */
    member_idents *idents;    /* member's identities, read when it was prepared; or NULL */
    item_in *items;
    size_t n_items;
    int64_t item_count; /* units over all lines */
    unsigned char digest[DIGEST_BYTES];
    /* orders_keys_check found the key free in this generation of d->memo (0: not asked) */
    uint64_t key_free_in;
};

void orders_prepared_prefetch(const order_in *o, int stage)
{
    if (!o) return;
    switch (stage) {
    case 0:
        __builtin_prefetch(o);
        __builtin_prefetch((const char *)o + 64);
        break;
    case 1:
        __builtin_prefetch(o->items);
        __builtin_prefetch(o->external_id);
        __builtin_prefetch(o->idents);
        break;
    default:
        for (size_t i = 0; i < o->n_items && i < 4; i++) {
            __builtin_prefetch(o->items[i].sku);
            if (o->items[i].category) __builtin_prefetch(o->items[i].category);
            if (o->items[i].name) __builtin_prefetch(o->items[i].name);
        }
        break;
    }
}

void orders_prepared_free(order_in *o)
{
    if (!o) return;
    members_idents_free(o->idents);
    free(o->items);
    free(o);
}

order_in *orders_prepare(json_t *body, const order_rules *rules, siyu_err *e)
{
    static const char *const allowed[] = {
        "channel",     "external_id", "store_id", "placed_at", "total_cents",
        "items",       "member_id",   "member",   "guide_id",  "discount_cents",
        "coupon_code", "points_used", "refunds",  NULL};
    if (jx_only(body, allowed, NULL, e)) return NULL;
    json_t *refunds = json_object_get(body, "refunds");
    if (refunds && !rules->inline_refunds) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "refunds",
                     "refunds: post refunds to /api/v1/orders/{id}/refunds");
        return NULL;
    }
    order_in *o = calloc(1, sizeof *o);
    o->refunds = refunds;
    if (jx_enum(body, "channel", true, dom_channels, &o->channel, e) < 0 ||
        jx_str(body, "external_id", true, &o->external_id, e) < 0 ||
        jx_int(body, "store_id", true, &o->store_id, e) < 0 ||
        jx_time(body, "placed_at", true, &o->placed_at, e) < 0 ||
        money(body, "total_cents", true, &o->total, e) < 0 ||
        money(body, "discount_cents", false, &o->discount, e) < 0 ||
        jx_int(body, "points_used", false, &o->points, e) < 0 ||
        jx_str(body, "coupon_code", false, &o->coupon, e) < 0 ||
        jx_int(body, "member_id", false, &o->member_id, e) < 0 ||
        jx_int(body, "guide_id", false, &o->guide_id, e) < 0)
        goto fail;
    if (!*o->external_id || strlen(o->external_id) > 128) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "external_id",
                     "external_id: must be 1 to 128 bytes");
        goto fail;
    }
    if (o->points < 0) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "points_used", "points_used: must not be negative");
        goto fail;
    }
    if (o->placed_at > rules->now + 86400) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "placed_at", "placed_at: is in the future");
        goto fail;
    }
    int64_t sum = 0;
    if (read_items(body, &o->items, &o->n_items, &sum, e)) goto fail;
    /* The rule (docs/api.md): Σ qty × unit_price_cents = total_cents + discount_cents. */
    int64_t charged;
    if (!ck_add(o->total, o->discount, &charged)) { /* both ≤ MAX_MONEY: cannot happen */
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "total_cents", "total_cents: too large");
        goto fail;
    }
    if (o->discount > sum) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "discount_cents",
                     "discount_cents: %lld is more than the items' %lld", (long long)o->discount,
                     (long long)sum);
        goto fail;
    }
    if (charged != sum) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "total_cents",
                     "total_cents: %lld does not equal the items' %lld minus discount %lld",
                     (long long)o->total, (long long)sum, (long long)o->discount);
        goto fail;
    }
    for (size_t i = 0; i < o->n_items; i++)
        if (!ck_add(o->item_count, o->items[i].qty, &o->item_count)) {
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, "items", "items: too many units");
            goto fail;
        }
    o->member = json_object_get(body, "member");
    if (o->member_id && o->member) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "member",
                     "member: give member_id or member, not both");
        goto fail;
    }
    if (o->member && !json_is_null(o->member)) {
        /* read here, off the writer's thread; one it refuses is refused again there,
         * where the order's other checks come first, as they always did */
        siyu_err ie;
        siyu_err_init(&ie);
        o->idents = members_idents_read(o->member, "member.", &ie);
        siyu_err_clear(&ie);
    }
    /* Idempotency: the key decides, the digest tells a replay from a collision. */
    order_digest(o->channel, o->external_id, o->store_id, o->placed_at, o->total, o->discount,
                 o->points, o->coupon, o->member_id, o->member, o->guide_id, o->items, o->n_items,
                 o->digest);
    return o;
fail:
    orders_prepared_free(o);
    return NULL;
}

int orders_create_id(dom *d, json_t *body, json_t **out, order_made *made, siyu_err *e)
{
    *made = (order_made){0};
    order_rules rules = {.inline_refunds = d->inline_refunds, .now = d->now};
    order_in *o = orders_prepare(body, &rules, e);
    if (!o) return -1;
    int rc = orders_create_prepared(d, o, out, made, e);
    orders_prepared_free(o);
    return rc;
}

/* An order of a list, and where it stands in it. */
typedef struct listed_order {
    order_in *o;
    size_t at;
} listed_order;

/* Orders by their key, then by their place in the list, to find a key twice in one list. */
static int key_order(const void *a, const void *b)
{
    const listed_order *x = a, *y = b;
    if (x->o->channel != y->o->channel) return x->o->channel < y->o->channel ? -1 : 1;
    int c = strcmp(x->o->external_id, y->o->external_id);
    return c ? c : x->at < y->at ? -1 : x->at > y->at;
}

int orders_keys_check(dom *d, order_in *const *os, size_t n, siyu_err *e)
{
    if (!d->memo || !n) return 0;
    for (size_t i = 0; i < n; i++) /* none marked until the store has answered */
        os[i]->key_free_in = 0;
    listed_order *sorted = malloc(n * sizeof *sorted);
    json_t *keys = json_array();
    if (!sorted || !keys) { /* only a speed-up: nothing marked, each order looks itself up */
        free(sorted);
        json_decref(keys);
        return 0;
    }
    bool listed = true;
    for (size_t i = 0; i < n; i++) {
        sorted[i] = (listed_order){os[i], i};
        json_t *key = json_pack("[ss]", dom_channels[os[i]->channel], os[i]->external_id);
        if (!key || json_array_append_new(keys, key)) listed = false; /* appending takes key */
    }
    char *text = listed ? json_dumps(keys, JSON_COMPACT) : NULL;
    json_decref(keys);
    if (!text) { /* every key stays unmarked: each order looks itself up */
        free(sorted);
        return 0;
    }
    store_stmt *s = store_q(d->conn, Q_ORDER_KEYS_TAKEN);
    store_bind_text(s, 1, text);
    bool *taken = calloc(n, sizeof *taken);
    store_step_rc rc;
    while (taken && (rc = store_step(s)) == STORE_ROW) {
        int64_t i = store_col_int(s, 0);
        if (i >= 0 && (size_t)i < n) taken[i] = true;
    }
    store_reset(s);
    free(text);
    if (!taken || rc != STORE_DONE) {
        free(sorted);
        free(taken);
        return taken ? store_conn_check(d->conn, e) : 0; /* no memory: none marked */
    }
    uint64_t generation = dom_memo_generation(d->memo);
    for (size_t i = 0; i < n; i++)
        if (!taken[i]) os[i]->key_free_in = generation;
    /* a key twice in the list: the later order must find the earlier one written */
    qsort(sorted, n, sizeof *sorted, key_order);
    for (size_t i = 1; i < n; i++)
        if (sorted[i].o->channel == sorted[i - 1].o->channel &&
            strcmp(sorted[i].o->external_id, sorted[i - 1].o->external_id) == 0)
            sorted[i].o->key_free_in = 0;
    free(sorted);
    free(taken);
    return 0;
}

int orders_create_prepared(dom *d, const order_in *o, json_t **out, order_made *made, siyu_err *e)
{
    *made = (order_made){0};
    const char *channel = dom_channels[o->channel];
    int64_t member_id = o->member_id, guide_id = o->guide_id; /* resolved below */
    store_stmt *s = NULL;
    bool known = false; /* the key is taken: by this order (a retry) or another */
    if (!o->key_free_in || o->key_free_in != dom_memo_generation(d->memo)) {
        s = store_q(d->conn, Q_ORDER_BY_KEY);
        store_bind_text(s, 1, channel);
        store_bind_text(s, 2, o->external_id);
        known = store_step(s) == STORE_ROW;
    }
    if (known) {
        int64_t id = store_col_int(s, 0);
        int n;
        const void *old = store_col_blob(s, 1, &n);
        bool same = n == 16 && memcmp(old, o->digest, 16) == 0;
        store_reset(s);
        if (!same) {
            /* another store's order is not named to a caller who may not see it */
            if (scope_order(d, id, e) != 1) {
                siyu_err_clear(e);
                return siyu_err_set(
                    e, SIYU_CONFLICT, "external_id",
                    "external_id: channel %s and external_id %s are already used by "
                    "another order",
                    channel, o->external_id);
            }
            siyu_err_set(e, SIYU_CONFLICT, "external_id",
                         "external_id: order %lld already has channel %s and external_id %s with a "
                         "different body",
                         (long long)id, channel, o->external_id);
            e->details = json_pack("{s:I}", "order_id", (json_int_t)id);
            return -1;
        }
        if (o->refunds && refunds_inline(d, id, o->refunds, e)) return -1;
        made->id = id;
        return orders_get(d, id, out, e) < 0 ? -1 : 200;
    }

    if (d->who.role == ROLE_STORE_MANAGER && o->store_id != d->who.store_id)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, "store_id", "store_id: outside your store");
    if (dom_require_store(d, o->store_id, "store_id", e)) return -1;
    if (guide_id && dom_require_staff(d, guide_id, "guide", "guide_id", NULL, e)) return -1;
    dom_member_brief brief;
    bool have_brief = false;
    if (member_id) {
        member_id = members_live_brief(d, member_id, "member_id", &brief, e);
        if (member_id < 0) return -1;
        have_brief = true;
    } else if (o->member && !json_is_null(o->member)) {
        /* 支付即会员: a customer named at the till becomes a member there. */
        member_defaults defs = {.store_id = o->store_id,
                                .guide_id = guide_id,
                                .joined_at = o->placed_at,
                                .channel = channel};
        member_id = o->idents ? members_resolve_idents(d, o->idents, o->member, "member.", true,
                                                       &defs, &brief, &have_brief, e)
                              : members_resolve_brief(d, o->member, "member.", true, &defs, &brief,
                                                      &have_brief, e);
        if (member_id < 0) return -1;
    }
    /* Attribution: the named guide, else the member's bound guide — wherever they bought. */
    if (!guide_id && member_id) guide_id = have_brief ? brief.guide_id : member_guide(d, member_id);

    s = store_q(d->conn, Q_ORDER_INSERT);
    store_bind_text(s, 1, channel);
    store_bind_text(s, 2, o->external_id);
    store_bind_int(s, 3, o->store_id);
    if (member_id) store_bind_int(s, 4, member_id);
    if (guide_id) store_bind_int(s, 5, guide_id);
    store_bind_int(s, 6, o->placed_at);
    store_bind_int(s, 7, o->total);
    store_bind_int(s, 8, o->discount);
    store_bind_int(s, 9, o->points);
    store_bind_text(s, 10, o->coupon);
    store_bind_blob(s, 11, o->digest, 16);
    store_bind_int(s, 12, o->item_count);
    if (store_exec(s, e)) return -1;
    int64_t id = store_last_id(d->conn);
    for (size_t i = 0; i < o->n_items; i++) {
        s = store_q(d->conn, Q_ORDER_ITEM_INSERT);
        store_bind_int(s, 1, id);
        store_bind_int(s, 2, (int64_t)i + 1);
        store_bind_text(s, 3, o->items[i].sku);
        store_bind_text(s, 4, o->items[i].category);
        store_bind_text(s, 5, o->items[i].name);
        store_bind_int(s, 6, o->items[i].qty);
        store_bind_int(s, 7, o->items[i].unit);
        if (store_exec(s, e)) return -1;
    }
    const dom_loyalty_hooks *loy = dom_loyalty();
    if (loy) {
        dom_item *li = calloc(o->n_items, sizeof *li);
        for (size_t i = 0; i < o->n_items; i++)
            li[i] = (dom_item){o->items[i].sku, o->items[i].category, o->items[i].qty,
                               o->items[i].unit};
        dom_order_facts f = {.id = id,
                             .member_id = member_id,
                             .store_id = o->store_id,
                             .placed_at = o->placed_at,
                             .total = o->total,
                             .discount = o->discount,
                             .points_used = o->points,
                             .channel = o->channel,
                             .coupon_code = o->coupon,
                             .member = have_brief ? &brief : NULL,
                             .items = li,
                             .n_items = o->n_items};
        int lrc = loy->order_placed(d, &f, e);
        free(li);
        if (lrc) return -1;
    }
    dom_note(d, DOM_CHANGE_ORDER, id, member_id);
    made->id = id;
    made->member_id = member_id;
    made->guide_id = guide_id;
    made->from_body = !o->refunds;
    if (o->refunds && refunds_inline(d, id, o->refunds, e)) return -1;
    if (out) *out = order_render(d, id);
    return 201;
}

/* ---------------- refunds ---------------- */

int orders_refund(dom *d, int64_t order_id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"external_id", "amount_cents", "items",
                                          "at",          "reason",       NULL};
    const char *external_id, *reason = NULL;
    int64_t amount, at = d->now;
    if (jx_only(body, allowed, NULL, e) || jx_str(body, "external_id", true, &external_id, e) < 0 ||
        jx_int(body, "amount_cents", true, &amount, e) < 0 ||
        jx_time(body, "at", false, &at, e) < 0 || jx_str(body, "reason", false, &reason, e) < 0)
        return -1;
    if (!*external_id || strlen(external_id) > 128)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "external_id",
                            "external_id: must be 1 to 128 bytes");
    if (amount <= 0 || amount > MAX_MONEY)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "amount_cents",
                            "amount_cents: must be a positive amount");
    json_t *items = json_object_get(body, "items");
    if (items && !json_is_null(items) && !json_is_array(items))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "items", "items: not an array");

    unsigned char dg[DIGEST_BYTES];
    digest dd;
    digest_init(&dd);
    digest_int(&dd, order_id);
    digest_json(&dd, body);
    digest_final(&dd, dg);
    store_stmt *s = store_q(d->conn, Q_REFUND_BY_KEY);
    store_bind_text(s, 1, external_id);
    if (store_step(s) == STORE_ROW) {
        int64_t id = store_col_int(s, 0), of_order = store_col_int(s, 1);
        int n;
        const void *old = store_col_blob(s, 2, &n);
        bool same = n == 16 && memcmp(old, dg, 16) == 0;
        store_reset(s);
        if (!same) {
            /* nor another store's refund */
            if (scope_order(d, of_order, e) != 1) {
                siyu_err_clear(e);
                return siyu_err_set(e, SIYU_CONFLICT, "external_id",
                                    "external_id: %s is already used by another refund",
                                    external_id);
            }
            siyu_err_set(
                e, SIYU_CONFLICT, "external_id",
                "external_id: refund %lld already uses external_id %s with a different body",
                (long long)id, external_id);
            e->details = json_pack("{s:I}", "refund_id", (json_int_t)id);
            return -1;
        }
        if (out) {
            s = store_q(d->conn, Q_REFUND_GET);
            store_bind_int(s, 1, id);
            store_step(s);
            *out = refund_json(s);
            store_reset(s);
        }
        return 200;
    }

    /* The order must exist, be visible, and have room for this refund. */
    if (orders_get(d, order_id, NULL, e) < 0) return -1;
    s = store_q(d->conn, Q_ORDER_GET);
    store_bind_int(s, 1, order_id);
    store_step(s);
    int64_t total = store_col_int_by(s, "total_cents"),
            refunded = store_col_int_by(s, "refunded_cents"),
            placed_at = store_col_int_by(s, "placed_at");
    int64_t member = store_col_opt_by(s, "member_id");
    store_reset(s);
    int64_t refundable = 0;
    if (!ck_sub(total, refunded, &refundable) || amount > refundable) {
        siyu_err_set(e, SIYU_UNPROCESSABLE, "amount_cents",
                     "amount_cents: %lld is more than the %lld still refundable on order %lld",
                     (long long)amount, (long long)refundable, (long long)order_id);
        return -1;
    }
    if (at < placed_at)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "at", "at: before the order was placed");

    json_t *items_out = json_null();
    if (items && json_is_array(items)) {
        items_out = json_array();
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            char f[48];
            int64_t line = 0, qty = 0;
            const char *sku = NULL;
            siyu_err sub;
            siyu_err_init(&sub);
            if (!json_is_object(it) || jx_int(it, "line", false, &line, &sub) < 0 ||
                jx_str(it, "sku", false, &sku, &sub) < 0 ||
                jx_int(it, "qty", true, &qty, &sub) < 0) {
                json_decref(items_out);
                snprintf(f, sizeof f, "items[%zu].%s", i, sub.field[0] ? sub.field : "");
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "items[%zu]: %s", i,
                                    json_is_object(it) ? sub.message : "not an object");
            }
            snprintf(f, sizeof f, "items[%zu].qty", i);
            if (qty <= 0) {
                json_decref(items_out);
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: must be positive", f);
            }
            if (!line && sku) { /* find the first line with that SKU and room left */
                store_stmt *li = store_q(d->conn, Q_ORDER_ITEMS);
                store_bind_int(li, 1, order_id);
                while (store_step(li) == STORE_ROW)
                    if (strcmp(store_col_text(li, 1), sku) == 0 &&
                        store_col_int(li, 4) - store_col_int(li, 6) >= qty) {
                        line = store_col_int(li, 0);
                        break;
                    }
                store_reset(li);
            }
            if (!line) {
                json_decref(items_out);
                snprintf(f, sizeof f, "items[%zu]", i);
                return siyu_err_set(e, SIYU_UNPROCESSABLE, f,
                                    "%s: no line of order %lld with that sku and %lld refundable",
                                    f, (long long)order_id, (long long)qty);
            }
            store_stmt *u = store_q(d->conn, Q_ORDER_ITEM_REFUND);
            store_bind_int(u, 1, qty);
            store_bind_int(u, 2, order_id);
            store_bind_int(u, 3, line);
            if (store_exec(u, e)) {
                json_decref(items_out);
                return -1;
            }
            if (store_changes(d->conn) != 1) {
                json_decref(items_out);
                return siyu_err_set(e, SIYU_UNPROCESSABLE, f,
                                    "%s: more than line %lld still has to refund", f,
                                    (long long)line);
            }
            json_array_append_new(items_out, json_pack("{s:I, s:I}", "line", (json_int_t)line,
                                                       "qty", (json_int_t)qty));
        }
    }
    s = store_q(d->conn, Q_ORDER_ADD_REFUNDED);
    store_bind_int(s, 1, amount);
    store_bind_int(s, 2, order_id);
    if (store_exec(s, e) || store_changes(d->conn) != 1) {
        json_decref(items_out);
        if (e->code == SIYU_OK)
            siyu_err_set(e, SIYU_UNPROCESSABLE, "amount_cents",
                         "amount_cents: more than is still refundable");
        return -1;
    }
    char *items_text = json_is_null(items_out) ? NULL : json_dumps(items_out, JSON_COMPACT);
    json_decref(items_out);
    s = store_q(d->conn, Q_REFUND_INSERT);
    store_bind_int(s, 1, order_id);
    store_bind_text(s, 2, external_id);
    store_bind_int(s, 3, amount);
    store_bind_int(s, 4, at);
    store_bind_text(s, 5, items_text);
    store_bind_blob(s, 6, dg, 16);
    int rc = store_exec(s, e);
    free(items_text);
    if (rc) return -1;
    int64_t refund_id = store_last_id(d->conn);
    const dom_loyalty_hooks *loy = dom_loyalty();
    if (loy && loy->order_refunded(d, order_id, refund_id, at, e)) return -1;
    dom_note(d, DOM_CHANGE_REFUND, refund_id, order_id);
    if (member) dom_note(d, DOM_CHANGE_MEMBER_360, member, 0);
    if (out) {
        int64_t id = refund_id;
        s = store_q(d->conn, Q_REFUND_GET);
        store_bind_int(s, 1, id);
        store_step(s);
        *out = refund_json(s);
        store_reset(s);
    }
    return 201;
}
