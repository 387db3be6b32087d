/* The bulk writer's memo (domain/memo.h): what it keeps, how it grows, what it refuses to
 * keep, and store_conn_others_wrote, which says when it must be dropped. */
#include "domain/memo.h"

#include "fixture.h"

static void test_tables(void)
{
    dom_memo *m = dom_memo_new();
    CHECK(!dom_memo_store_known(m, 1));
    CHECK(dom_memo_staff_get(m, 1) == NULL);
    CHECK(dom_memo_member_get(m, "card_no", "", "C1") == NULL);
    /* enough of each to grow both tables several times; ids of stores and staff overlap */
    for (int64_t i = 1; i <= 3000; i++) {
        dom_memo_store_add(m, i * 7);
        dom_memo_staff_add(m, i, &(dom_memo_staff){.role = "guide", .store_id = i % 50});
        char card[32];
        snprintf(card, sizeof card, "C%lld", (long long)i);
        dom_memo_member_add(m, "card_no", "", card,
                            &(dom_memo_member){.id = i + 100000,
                                               .guide_id = i % 9,
                                               .has_birthday = i % 2,
                                               .birthday = (int32_t)i});
    }
    int wrong = 0;
    for (int64_t i = 1; i <= 3000; i++) {
        wrong += !dom_memo_store_known(m, i * 7) || dom_memo_store_known(m, i * 7 + 1);
        const dom_memo_staff *st = dom_memo_staff_get(m, i);
        wrong += !st || strcmp(st->role, "guide") != 0 || st->store_id != i % 50;
        char card[32];
        snprintf(card, sizeof card, "C%lld", (long long)i);
        const dom_memo_member *mb = dom_memo_member_get(m, "card_no", "", card);
        wrong += !mb || mb->id != i + 100000 || mb->guide_id != i % 9 ||
                 mb->has_birthday != (i % 2 == 1) || mb->birthday != (int32_t)i;
    }
    CHECK_INT_EQ(wrong, 0);
    CHECK(dom_memo_staff_get(m, 3001) == NULL);
    /* a mark is its own kind: the same id as a store or a staff member is another key */
    CHECK(!dom_memo_marked(m, DOM_MEMO_NO_REFERRAL, 7));
    dom_memo_mark_add(m, DOM_MEMO_NO_REFERRAL, 7);
    CHECK(dom_memo_marked(m, DOM_MEMO_NO_REFERRAL, 7));
    CHECK(!dom_memo_marked(m, DOM_MEMO_NO_REFERRAL, 14));
    CHECK(dom_memo_store_known(m, 7) && dom_memo_staff_get(m, 7) != NULL);
    /* the same value under another kind or app is another identity */
    CHECK(dom_memo_member_get(m, "phone", "", "C1") == NULL);
    CHECK(dom_memo_member_get(m, "card_no", "wx1", "C1") == NULL);
    /* an identity whose key would not fit is never kept */
    char huge[600];
    memset(huge, 'x', sizeof huge - 1);
    huge[sizeof huge - 1] = 0;
    dom_memo_member_add(m, "card_no", "", huge, &(dom_memo_member){.id = 1});
    CHECK(dom_memo_member_get(m, "card_no", "", huge) == NULL);
    /* settings: eight at most, short keys and values only */
    dom_memo_setting_add(m, "loyalty.version", "abc");
    dom_memo_setting_add(m, "loyalty.version", "other"); /* the first read stays */
    CHECK_STR_EQ(dom_memo_setting_get(m, "loyalty.version"), "abc");
    dom_memo_setting_add(m, "long", huge);
    CHECK(dom_memo_setting_get(m, "long") == NULL);
    for (int i = 0; i < 10; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        dom_memo_setting_add(m, k, "v");
    }
    CHECK(dom_memo_setting_get(m, "k6") != NULL);
    CHECK(dom_memo_setting_get(m, "k7") == NULL); /* the ninth setting */
    dom_memo_clear(m);
    CHECK(!dom_memo_store_known(m, 7));
    CHECK(dom_memo_staff_get(m, 1) == NULL);
    CHECK(dom_memo_member_get(m, "card_no", "", "C1") == NULL);
    CHECK(dom_memo_setting_get(m, "loyalty.version") == NULL);
    CHECK(!dom_memo_marked(m, DOM_MEMO_NO_REFERRAL, 7));
    /* a cleared memo fills again */
    dom_memo_member_add(m, "card_no", "", "C1", &(dom_memo_member){.id = 5});
    CHECK_INT_EQ(dom_memo_member_get(m, "card_no", "", "C1")->id, 5);
    dom_memo_free(m);
    dom_memo_free(NULL);
    /* without a memo (NULL) nothing is known and nothing fails */
    CHECK(!dom_memo_store_known(NULL, 1));
    dom_memo_store_add(NULL, 1);
    CHECK(dom_memo_setting_get(NULL, "k") == NULL);
}

/* dom_require_staff answers from the memo as the store would, and a cleared memo reads
 * again; store_conn_others_wrote says when another connection committed: another siyu
 * connection's commit, on both engines, and on SQLite any write at all. On PostgreSQL it
 * reads the change sequence, which siyu's every write transaction moves; a write behind
 * siyu's back is seen there only if it moves the sequence too, as the one below does. */
static void test_with_store(fixture *f)
{
    siyu_err e;
    siyu_err_init(&e);
    f->d.memo = dom_memo_new();
    store_conn_others_wrote(f->d.conn); /* where this connection starts from */
    CHECK(!store_conn_others_wrote(f->d.conn));
    CHECK_INT_EQ(dom_require_staff(&f->d, 1, "guide", "guide_id", NULL, &e), 0);
    int64_t store = 0;
    CHECK_INT_EQ(dom_require_staff(&f->d, 3, NULL, "guide_id", &store, &e), 0);
    CHECK_INT_EQ(store, 1);
    CHECK_INT_EQ(dom_require_staff(&f->d, 3, "guide", "guide_id", NULL, &e), -1); /* from memo */
    CHECK_STR_EQ(e.message, "guide_id: staff 3 is a store_manager, not a guide");
    siyu_err_clear(&e);
    CHECK_INT_EQ(dom_require_store(&f->d, 2, "store_id", &e), 0);
    CHECK_INT_EQ(dom_require_store(&f->d, 9, "store_id", &e), -1); /* misses are not kept */
    siyu_err_clear(&e);
    /* this connection's own commits are not another's */
    CHECK_INT_EQ(call(f, brands_create, "{\"name\":\"memo\"}", NULL, &e), 201);
    CHECK_INT_EQ(call(f, brands_create, "{\"name\":\"memo2\"}", NULL, &e), 201);
    CHECK(!store_conn_others_wrote(f->d.conn));
    /* another connection of siyu's commits */
    fixture other = *f;
    CHECK_INT_EQ(store_conn_open(f->st, &other.d.conn, &e), 0);
    other.d.memo = NULL;
    CHECK_INT_EQ(call(&other, brands_create, "{\"name\":\"elsewhere\"}", NULL, &e), 201);
    CHECK(store_conn_others_wrote(f->d.conn));
    CHECK(!store_conn_others_wrote(f->d.conn));
    /* ... between two of this connection's own: still seen */
    CHECK_INT_EQ(call(f, brands_create, "{\"name\":\"memo3\"}", NULL, &e), 201);
    CHECK_INT_EQ(call(&other, brands_create, "{\"name\":\"elsewhere2\"}", NULL, &e), 201);
    CHECK_INT_EQ(call(f, brands_create, "{\"name\":\"memo4\"}", NULL, &e), 201);
    CHECK(store_conn_others_wrote(f->d.conn));
    store_conn_close(other.d.conn);
    /* a write behind siyu's back, moving the sequence as siyu's commits do */
    CHECK_INT_EQ(fixture_exec(f, "UPDATE staff SET role = 'cashier' WHERE id = 1;"
                                 " UPDATE change_seq SET seq = seq + 1 WHERE id = 1"),
                 0);
    /* the memo still holds the row it read: whoever keeps one must ask, as below */
    CHECK_INT_EQ(dom_require_staff(&f->d, 1, "guide", "guide_id", NULL, &e), 0);
    CHECK(store_conn_others_wrote(f->d.conn));
    dom_memo_clear(f->d.memo);
    CHECK_INT_EQ(dom_require_staff(&f->d, 1, "guide", "guide_id", NULL, &e), -1);
    CHECK_STR_EQ(e.message, "guide_id: staff 1 is a cashier, not a guide");
    siyu_err_clear(&e);
    CHECK_INT_EQ(fixture_exec(f, "UPDATE staff SET role = 'guide' WHERE id = 1"), 0);
    dom_memo_free(f->d.memo);
    f->d.memo = NULL;
}

/* An order's text under key (external_id), with one line, in buf. */
static const char *order_text(char *buf, size_t cap, const char *key, int cents)
{
    snprintf(buf, cap,
             "{\"channel\":\"store\",\"external_id\":\"%s\",\"store_id\":1,"
             "\"placed_at\":\"2026-11-20T19:30:00+08:00\",\"total_cents\":%d,"
             "\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":%d}]}",
             key, cents, cents);
    return buf;
}

/* The same as a JSON body. */
static json_t *order_body(const char *key, int cents)
{
    char text[512];
    return J(order_text(text, sizeof text, key, cents));
}

/* Writes a prepared order as the import does; returns the status or -1. */
static int write_prepared(fixture *f, const order_in *o)
{
    siyu_err e;
    siyu_err_init(&e);
    order_made made;
    int rc = orders_create_prepared(&f->d, o, NULL, &made, &e);
    if (rc < 0) fprintf(stderr, "write_prepared: %s\n", e.message);
    siyu_err_clear(&e);
    return rc;
}

/* The end of a keys check's case: its prepared orders and bodies freed, bulk loading off,
 * the memo dropped. */
static void keys_case_end(fixture *f, order_in **prep, json_t **body, int n)
{
    for (int k = 0; k < n; k++) {
        orders_prepared_free(prep[k]);
        json_decref(body[k]);
    }
    store_bulk(f->d.conn, false);
    dom_memo_free(f->d.memo);
    f->d.memo = NULL;
}

/* orders_keys_check, as the import uses it (store_bulk on: on PostgreSQL the order rows
 * go by COPY): an order whose key was free at the check is written without its own lookup;
 * a key the list names twice is looked up the second time, whichever of the two was
 * prepared first (in memory, the later one may lie lower); a key taken before the check is
 * found, and so is one another connection takes after it, once the memo is cleared as the
 * import clears it then. Each case would write the key twice if the check were wrong:
 * the store refuses that, and the write or the commit fails. */
static void test_keys_check(fixture *f)
{
    siyu_err e;
    siyu_err_init(&e);
    char text[512];
    f->d.memo = dom_memo_new();
    store_bulk(f->d.conn, true);
    CHECK_INT_EQ(call(f, orders_create, order_text(text, sizeof text, "K0", 100), NULL, &e), 201);
    order_rules rules = {.now = f->d.now};
    json_t *body[5] = {order_body("K2", 200), order_body("K1", 300), order_body("K1", 300),
                       order_body("K0", 100), order_body("K3", 400)};
    order_in *prep[5];
    /* the list's second K1 is prepared first */
    int made_in[5] = {2, 1, 0, 3, 4};
    for (int i = 0; i < 5; i++) {
        int k = made_in[i];
        prep[k] = orders_prepare(body[k], &rules, &e);
        CHECK(prep[k] != NULL);
    }
    CHECK_INT_EQ(store_begin(f->d.conn, true, &e), 0);
    CHECK_INT_EQ(orders_keys_check(&f->d, prep, 5, &e), 0);
    CHECK_INT_EQ(write_prepared(f, prep[0]), 201); /* K2, free */
    CHECK_INT_EQ(write_prepared(f, prep[1]), 201); /* K1, free */
    CHECK_INT_EQ(write_prepared(f, prep[2]), 200); /* K1 again: found, the same body */
    CHECK_INT_EQ(write_prepared(f, prep[3]), 200); /* K0, taken before the check */
    CHECK_INT_EQ(store_commit(f->d.conn, &e), 0);
    /* K3 was free at the check; another connection takes it before it is written */
    fixture other = *f;
    CHECK_INT_EQ(store_conn_open(f->st, &other.d.conn, &e), 0);
    other.d.memo = NULL;
    CHECK_INT_EQ(call(&other, orders_create, order_text(text, sizeof text, "K3", 400), NULL, &e),
                 201);
    store_conn_close(other.d.conn);
    CHECK_INT_EQ(store_begin(f->d.conn, true, &e), 0);
    CHECK(store_conn_others_wrote(f->d.conn));
    dom_memo_clear(f->d.memo);
    CHECK_INT_EQ(write_prepared(f, prep[4]), 200);
    CHECK_INT_EQ(store_commit(f->d.conn, &e), 0);
    /* four orders, each once, with its line */
    json_t *list = NULL;
    CHECK_INT_EQ(store_begin(f->d.conn, false, &e), 0);
    CHECK_INT_EQ(orders_list(&f->d, 0, 100, 0, 0, &list, &e), 200);
    store_rollback(f->d.conn);
    json_t *items = json_object_get(list, "items");
    CHECK_INT_EQ(json_array_size(items), 4);
    size_t i;
    json_t *v;
    json_array_foreach(items, i, v) CHECK_INT_EQ(json_array_size(json_object_get(v, "items")), 1);
    json_decref(list);
    keys_case_end(f, prep, body, 5);
}

/* jansson's allocations fail once allocs_left reaches 0 (-1: never). */
static long allocs_left = -1;
static void *failing_malloc(size_t n)
{
    if (allocs_left == 0) return NULL;
    if (allocs_left > 0) allocs_left--;
    return malloc(n);
}

/* orders_keys_check with jansson's memory running out at each of its allocations in turn:
 * it marks the right keys or none (each order then looks itself up), and never fails the
 * import for a speed-up. The list is a free key, then K0 (taken by test_keys_check): when
 * the free key could not be listed, K0 stood first in the list, the store's answer named the
 * first order taken, and K0 was marked free — written again without its lookup, which the
 * store refuses. */
static void test_keys_check_out_of_memory(fixture *f)
{
    siyu_err e;
    siyu_err_init(&e);
    f->d.memo = dom_memo_new();
    store_bulk(f->d.conn, true);
    order_rules rules = {.now = f->d.now};
    json_t *body[2] = {order_body("KM", 500), order_body("K0", 100)};
    order_in *prep[2];
    for (int i = 0; i < 2; i++) {
        prep[i] = orders_prepare(body[i], &rules, &e);
        CHECK(prep[i] != NULL);
    }
    json_set_alloc_funcs(failing_malloc, free);
    int failed = 0;
    for (long n = 0; n < 200; n++) {
        CHECK_INT_EQ(store_begin(f->d.conn, true, &e), 0);
        allocs_left = n;
        CHECK_INT_EQ(orders_keys_check(&f->d, prep, 2, &e), 0);
        bool failed_one = allocs_left == 0;
        allocs_left = -1;
        failed += failed_one;
        CHECK_INT_EQ(write_prepared(f, prep[1]), 200); /* K0: found, whatever was marked */
        CHECK_INT_EQ(write_prepared(f, prep[0]), 201);
        store_rollback(f->d.conn);
        dom_memo_clear(f->d.memo);
        if (!failed_one) break; /* every allocation it makes has failed once */
    }
    json_set_alloc_funcs(malloc, free);
    CHECK(failed > 1); /* the list's first allocation, and the ones after it */
    keys_case_end(f, prep, body, 2);
}

/* Under store_bulk (on PostgreSQL: order ids taken ahead, rows by COPY) an order's id is
 * still above every order committed before its transaction began: readers that follow new
 * orders by id (the journeys' event sources) see them all. Ids taken ahead in one
 * transaction are not used in the next, after another connection's order. */
static void test_ids_follow_commits(fixture *f)
{
    siyu_err e;
    siyu_err_init(&e);
    char text[512];
    store_bulk(f->d.conn, true);
    order_rules rules = {.now = f->d.now};
    json_t *body[2] = {order_body("I1", 100), order_body("I2", 100)};
    order_in *prep[2];
    int64_t id[3];
    for (int i = 0; i < 2; i++) {
        prep[i] = orders_prepare(body[i], &rules, &e);
        CHECK(prep[i] != NULL);
    }
    order_made made;
    CHECK_INT_EQ(store_begin(f->d.conn, true, &e), 0);
    CHECK_INT_EQ(orders_create_prepared(&f->d, prep[0], NULL, &made, &e), 201);
    id[0] = made.id;
    CHECK_INT_EQ(store_commit(f->d.conn, &e), 0);
    fixture other = *f;
    CHECK_INT_EQ(store_conn_open(f->st, &other.d.conn, &e), 0);
    json_t *o = NULL;
    CHECK_INT_EQ(call(&other, orders_create, order_text(text, sizeof text, "I3", 100), &o, &e),
                 201);
    id[1] = jint(o, "id");
    json_decref(o);
    store_conn_close(other.d.conn);
    CHECK_INT_EQ(store_begin(f->d.conn, true, &e), 0);
    CHECK_INT_EQ(orders_create_prepared(&f->d, prep[1], NULL, &made, &e), 201);
    id[2] = made.id;
    CHECK_INT_EQ(store_commit(f->d.conn, &e), 0);
    CHECK(id[0] < id[1]);
    CHECK(id[1] < id[2]);
    for (int i = 0; i < 2; i++) {
        orders_prepared_free(prep[i]);
        json_decref(body[i]);
    }
    store_bulk(f->d.conn, false);
}

int main(void)
{
    test_tables();
    fixture f;
    fixture_open(&f);
    test_with_store(&f);
    test_keys_check(&f);
    test_keys_check_out_of_memory(&f);
    test_ids_follow_commits(&f);
    fixture_close(&f);
    return CHECK_DONE();
}
