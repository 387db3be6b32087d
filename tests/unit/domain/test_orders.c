/* Unit tests for orders: totals, idempotency, attribution, refunds, worked by hand. */
#include "fixture.h"

#define ORDER_A                                                                                    \
    "{\"channel\":\"store\",\"external_id\":\"A\",\"store_id\":1,"                                 \
    "\"placed_at\":\"2026-11-20T19:30:00+08:00\",\"total_cents\":3000,\"discount_cents\":80,"      \
    "\"member\":{\"phone\":\"13812345678\"},\"guide_id\":1,"                                       \
    "\"items\":[{\"sku\":\"A\",\"category\":\"生鲜\",\"qty\":2,\"unit_price_cents\":1290},"      \
    "{\"sku\":\"B\",\"qty\":1,\"unit_price_cents\":500}]}"

int main(void)
{
    fixture f;
    fixture_open(&f);
    siyu_err e;
    siyu_err_init(&e);
    json_t *o, *m;

    /* 2 × 12.90 + 5.00 − 0.80 = 30.00; the unknown phone joins at the till (支付即会员) */
    CHECK_INT_EQ(call(&f, orders_create, ORDER_A, &o, &e), 201);
    CHECK_INT_EQ(jint(o, "id"), 1);
    CHECK_INT_EQ(jint(o, "member_id"), 1);
    CHECK_INT_EQ(jint(o, "guide_id"), 1);
    CHECK_INT_EQ(json_array_size(json_object_get(o, "items")), 2);
    json_decref(o);
    CHECK_INT_EQ(members_get(&f.d, 1, &m, &e), 200);
    CHECK_STR_EQ(json_string_value(json_object_get(m, "join_channel")), "store");
    CHECK_STR_EQ(json_string_value(json_object_get(m, "joined_at")), "2026-11-20T19:30:00+08:00");
    CHECK_INT_EQ(jint(m, "store_id"), 1);
    json_decref(m);

    /* a replay answers the stored order; another body under the key is a conflict */
    CHECK_INT_EQ(call(&f, orders_create, ORDER_A, &o, &e), 200);
    CHECK_INT_EQ(jint(o, "id"), 1);
    json_decref(o);
    CHECK_INT_EQ(call(&f, orders_create,
                      "{\"channel\":\"store\",\"external_id\":\"A\",\"store_id\":1,"
                      "\"placed_at\":\"2026-11-20T19:30:00+08:00\",\"total_cents\":500,"
                      "\"items\":[{\"sku\":\"B\",\"qty\":1,\"unit_price_cents\":500}]}",
                      NULL, &e),
                 -1);
    CHECK_INT_EQ(e.code, SIYU_CONFLICT);
    /* the same external id on another channel is another order */
    CHECK_INT_EQ(
        call(&f, orders_create,
             "{\"channel\":\"mall\",\"external_id\":\"A\",\"store_id\":2,"
             "\"placed_at\":\"2026-11-21T09:00:00+08:00\",\"total_cents\":990,"
             "\"member_id\":1,\"items\":[{\"sku\":\"C\",\"qty\":1,\"unit_price_cents\":990}]}",
             &o, &e),
        201);
    /* attribution: no guide named, so the member's bound guide (1) — even in the mall */
    CHECK_INT_EQ(jint(o, "guide_id"), 1);
    json_decref(o);
    /* a non-member order has neither member nor guide */
    CHECK_INT_EQ(call(&f, orders_create,
                      "{\"channel\":\"store\",\"external_id\":\"N\",\"store_id\":1,"
                      "\"placed_at\":\"2026-11-21T09:00:00+08:00\",\"total_cents\":100,"
                      "\"items\":[{\"sku\":\"D\",\"qty\":4,\"unit_price_cents\":25}]}",
                      &o, &e),
                 201);
    CHECK(json_is_null(json_object_get(o, "member_id")));
    CHECK(json_is_null(json_object_get(o, "guide_id")));
    json_decref(o);

    /* bad orders name the field and write nothing */
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"channel\":\"store\",\"external_id\":\"X\",\"store_id\":1,\"placed_at\":\"2026-11-"
         "21T09:00:00+08:00\",\"total_cents\":101,\"items\":[{\"sku\":\"D\",\"qty\":4,\"unit_price_"
         "cents\":25}]}",
         "total_cents"},
        {"{\"channel\":\"store\",\"external_id\":\"X\",\"store_id\":1,\"placed_at\":\"2026-11-"
         "21T09:00:00+08:00\",\"total_cents\":100,\"items\":[{\"sku\":\"D\",\"qty\":-4,\"unit_"
         "price_cents\":25}]}",
         "items[0].qty"},
        {"{\"channel\":\"store\",\"external_id\":\"X\",\"store_id\":1,\"placed_at\":\"2026-11-"
         "21T09:00:00+08:00\",\"total_cents\":100,\"items\":[{\"sku\":\"D\",\"qty\":\"4\",\"unit_"
         "price_cents\":25}]}",
         "items[0].qty"},
        {"{\"channel\":\"store\",\"external_id\":\"X\",\"store_id\":1,\"placed_at\":\"2026-11-"
         "21T09:00:00+08:00\",\"total_cents\":0,\"discount_cents\":200,\"items\":[{\"sku\":\"D\","
         "\"qty\":4,\"unit_price_cents\":25}]}",
         "discount_cents"},
        {"{\"channel\":\"store\",\"external_id\":\"X\",\"store_id\":9,\"placed_at\":\"2026-11-"
         "21T09:00:00+08:00\",\"total_cents\":100,\"items\":[{\"sku\":\"D\",\"qty\":4,\"unit_price_"
         "cents\":25}]}",
         "store_id"},
        {"{\"channel\":\"shop\",\"external_id\":\"X\",\"store_id\":1,\"placed_at\":\"2026-11-21T09:"
         "00:00+08:00\",\"total_cents\":100,\"items\":[{\"sku\":\"D\",\"qty\":4,\"unit_price_"
         "cents\":25}]}",
         "channel"},
        {"{\"channel\":\"store\",\"external_id\":\"X\",\"store_id\":1,\"placed_at\":\"2026-11-21\","
         "\"total_cents\":100,\"items\":[{\"sku\":\"D\",\"qty\":4,\"unit_price_cents\":25}]}",
         "placed_at"},
        {"{\"channel\":\"store\",\"external_id\":\"X\",\"store_id\":1,\"placed_at\":\"2026-11-"
         "21T09:00:00+08:00\",\"total_cents\":100,\"items\":[]}",
         "items"},
        {"{\"channel\":\"store\",\"external_id\":\"X\",\"store_id\":1,\"placed_at\":\"2026-11-"
         "21T09:00:00+08:00\",\"total_cents\":100,\"member_id\":77,\"items\":[{\"sku\":\"D\","
         "\"qty\":4,\"unit_price_cents\":25}]}",
         "member_id"},
        {"{\"channel\":\"store\",\"external_id\":\"X\",\"store_id\":1,\"placed_at\":\"2026-11-"
         "21T09:00:00+08:00\",\"total_cents\":100,\"member\":{\"phone\":\"999\"},\"items\":[{"
         "\"sku\":\"D\",\"qty\":4,\"unit_price_cents\":25}]}",
         "member.phone"},
        {"{\"channel\":\"store\",\"external_id\":\"X\",\"store_id\":1,\"placed_at\":\"2026-11-"
         "21T09:00:00+08:00\",\"total_cents\":100,\"guide_id\":3,\"items\":[{\"sku\":\"D\",\"qty\":"
         "4,\"unit_price_cents\":25}]}",
         "guide_id"},
        {"{\"channel\":\"store\",\"external_id\":\"X\",\"store_id\":1,\"placed_at\":\"2026-11-"
         "21T09:00:00+08:00\",\"total_cents\":-100,\"items\":[{\"sku\":\"D\",\"qty\":4,\"unit_"
         "price_cents\":25}]}",
         "total_cents"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_INT_EQ(call(&f, orders_create, bad[i].body, NULL, &e), -1);
        CHECK_STR_EQ(e.field, bad[i].field);
    }
    /* Lines whose exact sum is 2^64 + 100 fen: 184 lines of 10^6 × 10^11, one of
     * 10^6 × 46 744 073 709 and one of 1 × 551 716. Summed in 64 bits they wrap to 100,
     * the total claimed; the order is refused, naming the items, and nothing is written. */
    {
        json_t *wrap = J("{\"channel\":\"store\",\"external_id\":\"W\",\"store_id\":1,"
                         "\"placed_at\":\"2026-11-21T09:00:00+08:00\",\"total_cents\":100,"
                         "\"items\":[]}");
        json_t *lines = json_object_get(wrap, "items");
        for (int i = 0; i < 184; i++)
            json_array_append_new(lines, json_pack("{s:s, s:I, s:I}", "sku", "G", "qty",
                                                   (json_int_t)1000000, "unit_price_cents",
                                                   (json_int_t)100000000000LL));
        json_array_append_new(lines,
                              json_pack("{s:s, s:I, s:I}", "sku", "H", "qty", (json_int_t)1000000,
                                        "unit_price_cents", (json_int_t)46744073709LL));
        json_array_append_new(lines, json_pack("{s:s, s:I, s:I}", "sku", "I", "qty", (json_int_t)1,
                                               "unit_price_cents", (json_int_t)551716));
        siyu_err_clear(&e);
        store_begin(f.d.conn, true, &e);
        CHECK_INT_EQ(orders_create(&f.d, wrap, NULL, &e), -1);
        CHECK_INT_EQ(e.code, SIYU_INVALID_ARGUMENT);
        CHECK_STR_EQ(e.field, "items");
        store_rollback(f.d.conn);
        json_decref(wrap);
    }
    /* a total that is its lines plus the discount (not minus) is refused on total_cents */
    CHECK_INT_EQ(call(&f, orders_create,
                      "{\"channel\":\"store\",\"external_id\":\"X\",\"store_id\":1,"
                      "\"placed_at\":\"2026-11-21T09:00:00+08:00\",\"total_cents\":120,"
                      "\"discount_cents\":10,\"items\":[{\"sku\":\"D\",\"qty\":4,"
                      "\"unit_price_cents\":25}]}",
                      NULL, &e),
                 -1);
    CHECK_STR_EQ(e.field, "total_cents");

    store_stmt *s = store_q(f.d.conn, Q_COUNT_ORDERS);
    store_step(s);
    CHECK_INT_EQ(store_col_int(s, 0), 3);
    store_reset(s);

    /* a store manager records orders only in their store */
    dom manager = f.d;
    manager.who = (principal){.role = ROLE_STORE_MANAGER, .staff_id = 3, .store_id = 1};
    json_t *b = J("{\"channel\":\"mall\",\"external_id\":\"Z\",\"store_id\":2,\"placed_at\":\"2026-"
                  "11-21T09:00:00+08:00\",\"total_cents\":100,\"items\":[{\"sku\":\"D\",\"qty\":4,"
                  "\"unit_price_cents\":25}]}");
    store_begin(f.d.conn, true, &e);
    CHECK_INT_EQ(orders_create(&manager, b, NULL, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_PERMISSION_DENIED);
    store_rollback(f.d.conn);
    json_decref(b);

    /* refunds on order 1 (30.00): one A back (12.90), then too much, then the rest */
    store_begin(f.d.conn, true, &e);
    b = J("{\"external_id\":\"R1\",\"amount_cents\":1290,\"items\":[{\"sku\":\"A\",\"qty\":1}]}");
    CHECK_INT_EQ(orders_refund(&f.d, 1, b, &o, &e), 201);
    CHECK_INT_EQ(jint(o, "amount_cents"), 1290);
    json_decref(o);
    CHECK_INT_EQ(orders_refund(&f.d, 1, b, &o, &e), 200); /* replay */
    json_decref(o);
    json_decref(b);
    b = J("{\"external_id\":\"R1\",\"amount_cents\":1291}");
    CHECK_INT_EQ(orders_refund(&f.d, 1, b, NULL, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_CONFLICT);
    json_decref(b);
    b = J("{\"external_id\":\"R2\",\"amount_cents\":1711}");
    CHECK_INT_EQ(orders_refund(&f.d, 1, b, NULL, &e), -1); /* 30.00 − 12.90 = 17.10 left */
    CHECK_INT_EQ(e.code, SIYU_UNPROCESSABLE);
    CHECK_STR_EQ(e.field, "amount_cents");
    json_decref(b);
    b = J("{\"external_id\":\"R3\",\"amount_cents\":100,\"items\":[{\"sku\":\"B\",\"qty\":2}]}");
    CHECK_INT_EQ(orders_refund(&f.d, 1, b, NULL, &e), -1); /* only one B was bought */
    CHECK_INT_EQ(e.code, SIYU_UNPROCESSABLE);
    json_decref(b);
    b = J("{\"external_id\":\"R4\",\"amount_cents\":0}");
    CHECK_INT_EQ(orders_refund(&f.d, 1, b, NULL, &e), -1);
    CHECK_STR_EQ(e.field, "amount_cents");
    json_decref(b);
    b = J("{\"external_id\":\"R5\",\"amount_cents\":1710}");
    CHECK_INT_EQ(orders_refund(&f.d, 1, b, NULL, &e), 201);
    json_decref(b);
    b = J("{\"external_id\":\"R6\",\"amount_cents\":1}");
    CHECK_INT_EQ(orders_refund(&f.d, 99, b, NULL, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_NOT_FOUND);
    json_decref(b);
    store_commit(f.d.conn, &e);

    CHECK_INT_EQ(orders_get(&f.d, 1, &o, &e), 200);
    CHECK_INT_EQ(jint(o, "refunded_cents"), 3000);
    CHECK_INT_EQ(json_array_size(json_object_get(o, "refunds")), 2);
    CHECK_INT_EQ(json_integer_value(json_object_get(json_array_get(json_object_get(o, "items"), 0),
                                                    "refunded_qty")),
                 1);
    json_decref(o);
    /* member 1: order A fully refunded no longer counts; the mall order of 9.90 does */
    CHECK_INT_EQ(members_get(&f.d, 1, &m, &e), 200);
    CHECK_INT_EQ(jint(m, "stats.orders"), 1);
    CHECK_INT_EQ(jint(m, "stats.spend_cents"), 990);
    CHECK_INT_EQ(jint(m, "stats.gross_cents"), 3990);
    CHECK_INT_EQ(jint(m, "stats.refunded_cents"), 3000);
    json_decref(m);

    /* guide scope on orders: guide 2 sees none of member 1's orders */
    dom guide2 = f.d;
    guide2.who = (principal){.role = ROLE_GUIDE, .staff_id = 2, .store_id = 2};
    CHECK_INT_EQ(orders_get(&guide2, 2, NULL, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_PERMISSION_DENIED);
    dom guide1 = f.d;
    guide1.who = (principal){.role = ROLE_GUIDE, .staff_id = 1, .store_id = 1};
    CHECK_INT_EQ(orders_list(&guide1, 0, 50, 0, 0, &o, &e), 200);
    CHECK_INT_EQ(json_array_size(json_object_get(o, "items")), 2);
    json_decref(o);

    /* POST /orders answers a new order from the body the write accepted: the same JSON as
     * reading it back, whatever the body leaves out or names (a member by phone or id, a
     * guide or the member's, a coupon, points, categories and names, empty or absent) */
    static const char *const made_bodies[] = {
        ORDER_A,
        "{\"channel\":\"mall\",\"external_id\":\"R2\",\"store_id\":2,"
        "\"placed_at\":\"2026-11-22T10:00:00Z\",\"total_cents\":990,\"member_id\":1,"
        "\"coupon_code\":null,\"items\":[{\"sku\":\"C\",\"name\":\"\",\"category\":null,"
        "\"qty\":1,\"unit_price_cents\":990}]}",
        "{\"channel\":\"store\",\"external_id\":\"R3\",\"store_id\":1,"
        "\"placed_at\":\"2026-11-21T23:59:59.5+08:00\",\"total_cents\":0,\"discount_cents\":100,"
        "\"points_used\":0,\"guide_id\":2,\"items\":[{\"sku\":\"X\",\"name\":\"袜子\","
        "\"category\":\"\",\"qty\":1,\"unit_price_cents\":100}]}",
        "{\"channel\":\"store\",\"external_id\":\"R4\",\"store_id\":1,"
        "\"placed_at\":\"2026-11-23T08:00:00+08:00\",\"total_cents\":50,"
        "\"member\":{\"phone\":\"13900000001\",\"name\":\"新客\"},"
        "\"items\":[{\"sku\":\"Y\",\"qty\":2,\"unit_price_cents\":25}]}",
    };
    for (size_t k = 0; k < sizeof made_bodies / sizeof *made_bodies; k++) {
        json_t *body = J(made_bodies[k]);
        order_made made;
        store_begin(f.d.conn, true, &e);
        int rc = orders_create_id(&f.d, body, NULL, &made, &e);
        store_commit(f.d.conn, &e);
        if (rc < 0) fprintf(stderr, "body %zu: %s\n", k, e.message);
        CHECK_INT_EQ(rc, k == 0 ? 200 : 201); /* ORDER_A again: a replay, read back */
        CHECK(made.from_body == (k != 0));
        json_t *read = NULL;
        CHECK_INT_EQ(orders_get(&f.d, made.id, &read, &e), 200);
        if (made.from_body) {
            json_t *built = orders_render_made(body, &made);
            char *a = json_dumps(built, JSON_SORT_KEYS), *r = json_dumps(read, JSON_SORT_KEYS);
            CHECK_STR_EQ(a, r);
            free(a);
            free(r);
            json_decref(built);
        }
        json_decref(read);
        json_decref(body);
    }

    /* attribution by phone: a member who joined at guide 2's till (staff 2, not 1) buys
     * again with no guide named — the order is guide 2's, and guide 2 (not guide 1) sees it */
    CHECK_INT_EQ(call(&f, orders_create,
                      "{\"channel\":\"store\",\"external_id\":\"G1\",\"store_id\":2,"
                      "\"placed_at\":\"2026-11-21T10:00:00+08:00\",\"total_cents\":100,"
                      "\"guide_id\":2,\"member\":{\"phone\":\"13900000077\"},"
                      "\"items\":[{\"sku\":\"D\",\"qty\":1,\"unit_price_cents\":100}]}",
                      &o, &e),
                 201);
    int64_t bound = jint(o, "member_id");
    json_decref(o);
    CHECK_INT_EQ(members_get(&f.d, bound, &m, &e), 200);
    CHECK_INT_EQ(jint(m, "guide_id"), 2);
    json_decref(m);
    CHECK_INT_EQ(call(&f, orders_create,
                      "{\"channel\":\"store\",\"external_id\":\"G2\",\"store_id\":1,"
                      "\"placed_at\":\"2026-11-21T11:00:00+08:00\",\"total_cents\":100,"
                      "\"member\":{\"phone\":\"13900000077\"},"
                      "\"items\":[{\"sku\":\"D\",\"qty\":1,\"unit_price_cents\":100}]}",
                      &o, &e),
                 201);
    CHECK_INT_EQ(jint(o, "member_id"), bound);
    CHECK_INT_EQ(jint(o, "guide_id"), 2);
    int64_t g2 = jint(o, "id");
    json_decref(o);
    dom guide2b = f.d;
    guide2b.who = (principal){.role = ROLE_GUIDE, .staff_id = 2, .store_id = 2};
    CHECK_INT_EQ(orders_get(&guide2b, g2, NULL, &e), 200);
    dom guide1b = f.d;
    guide1b.who = (principal){.role = ROLE_GUIDE, .staff_id = 1, .store_id = 1};
    CHECK_INT_EQ(orders_get(&guide1b, g2, NULL, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_PERMISSION_DENIED);
    siyu_err_clear(&e);

    siyu_err_clear(&e);
    fixture_close(&f);
    return CHECK_DONE();
}
