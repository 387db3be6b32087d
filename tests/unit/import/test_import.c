/* Unit tests for import: the CSV reader's edge cases, CSV orders grouped by order,
 * rejected records with line numbers, reruns counted as duplicates, NDJSON, and
 * batches that fail part-way (undone and replayed record by record). */
#include <check.h>
#include <unistd.h>

#include "../domain/fixture.h"
#include "import/csv.h"
#include "import/import.h"

static void test_csv_reader(void)
{
    const char text[] = "a,b,c\r\n1,\"x,y\",\"he said \"\"hi\"\"\"\n\"multi\nline\",,end\n\"open";
    FILE *in = fmemopen((void *)text, sizeof text - 1, "r");
    csv_reader r;
    csv_init(&r, in);
    long line;
    CHECK_INT_EQ(csv_next(&r, &line), 1);
    CHECK_INT_EQ(line, 1);
    CHECK_INT_EQ(r.nfields, 3);
    CHECK_STR_EQ(csv_field(&r, 2), "c");
    CHECK_INT_EQ(csv_next(&r, &line), 1);
    CHECK_INT_EQ(line, 2);
    CHECK_STR_EQ(csv_field(&r, 1), "x,y");
    CHECK_STR_EQ(csv_field(&r, 2), "he said \"hi\"");
    CHECK_INT_EQ(csv_next(&r, &line), 1);
    CHECK_INT_EQ(line, 3);
    CHECK_STR_EQ(csv_field(&r, 0), "multi\nline");
    CHECK_STR_EQ(csv_field(&r, 1), "");
    CHECK_STR_EQ(csv_field(&r, 2), "end");
    CHECK_INT_EQ(csv_next(&r, &line), -1); /* unterminated quote */
    CHECK_INT_EQ(line, 5);
    CHECK_INT_EQ(csv_next(&r, &line), 0);
    csv_free(&r);
    fclose(in);
}

/* Imports text as an admin; on_commit (may be NULL) sees every committed batch. */
static import_result run_batched(fixture *f, const char *kind, const char *text,
                                 import_format fmt, int batch_size,
                                 void (*on_commit)(void *, const dom_change *, size_t),
                                 void *ctx)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    import_options o;
    import_options_init(&o);
    o.format = fmt;
    o.batch_size = batch_size;
    o.on_commit = on_commit;
    o.on_commit_ctx = ctx;
    import_result r;
    siyu_err e;
    siyu_err_init(&e);
    principal admin = {.role = ROLE_ADMIN};
    CHECK_INT_EQ(import_stream(f->d.conn, &admin, kind, in, &o, &r, &e), 0);
    fclose(in);
    return r;
}

static import_result run(fixture *f, const char *kind, const char *text, import_format fmt)
{
    return run_batched(f, kind, text, fmt, 2 /* several batches even in a small file */,
                       NULL, NULL);
}

static void test_csv_orders(fixture *f)
{
    /* order O1 has two rows (two items); line 4 has a bad total; O3 a total that does not add up */
    const char csv[] =
        "channel,external_id,store_id,placed_at,total_cents,member_phone,sku,qty,unit_price_cents\n"
        "store,O1,1,2026-11-20T10:00:00+08:00,3080,13812345678,A,2,1290\n"
        "store,O1,1,2026-11-20T10:00:00+08:00,3080,13812345678,B,1,500\n"
        "store,O2,1,2026-11-20T11:00:00+08:00,abc,,A,1,1290\n"
        "store,O3,1,2026-11-20T12:00:00+08:00,999,,A,1,1290\n"
        "mall,O4,2,2026-11-20T13:00:00+08:00,1290,13812345678,A,1,1290\n";
    import_result r = run(f, "orders", csv, IMPORT_CSV);
    CHECK_INT_EQ(r.records, 4); /* O1 (two rows), O2, O3, O4 */
    CHECK_INT_EQ(r.imported, 2);
    CHECK_INT_EQ(r.rejected, 2);
    CHECK_INT_EQ(json_array_size(r.errors), 2);
    json_t *e0 = json_array_get(r.errors, 0), *e1 = json_array_get(r.errors, 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(e0, "line")), 4);
    CHECK_STR_EQ(json_string_value(json_object_get(e0, "message")), "total_cents: not an integer");
    CHECK_INT_EQ(json_integer_value(json_object_get(e1, "line")), 5);
    CHECK_STR_EQ(json_string_value(json_object_get(e1, "field")), "total_cents");
    json_decref(r.errors);
    json_t *m;
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(members_lookup(&f->d, "phone", "13812345678", NULL, &m, &e), 200);
    CHECK_INT_EQ(jint(m, "stats.orders"), 2);
    CHECK_INT_EQ(jint(m, "stats.spend_cents"), 3080 + 1290);
    CHECK_INT_EQ(jint(m, "stats.items"), 4);
    json_decref(m);
    /* the rerun lands nothing new */
    r = run(f, "orders", csv, IMPORT_CSV);
    CHECK_INT_EQ(r.imported, 0);
    CHECK_INT_EQ(r.duplicates, 2);
    CHECK_INT_EQ(r.rejected, 2);
    json_decref(r.errors);
}

static void test_ndjson(fixture *f)
{
    const char nd[] =
        "{\"card_no\":\"M1\",\"phone\":\"13900000001\",\"name\":\"甲\"}\n"
        "\n"
        "{\"card_no\":\"M2\",\"birthday\":\"1990-02-30\"}\n"
        "not json\n"
        "{\"card_no\":\"M1\"}\n";
    import_result r = run(f, "members", nd, IMPORT_NDJSON);
    CHECK_INT_EQ(r.imported, 1);
    CHECK_INT_EQ(r.duplicates, 1);
    CHECK_INT_EQ(r.rejected, 2);
    CHECK_INT_EQ(json_integer_value(json_object_get(json_array_get(r.errors, 0), "line")), 3);
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(r.errors, 0), "field")), "birthday");
    CHECK_INT_EQ(json_integer_value(json_object_get(json_array_get(r.errors, 1), "line")), 4);
    json_decref(r.errors);
    /* an order with refunds carried inline */
    const char orders[] =
        "{\"channel\":\"store\",\"external_id\":\"Q1\",\"store_id\":1,\"placed_at\":\"2026-11-20T10:00:00+08:00\","
        "\"total_cents\":1000,\"member\":{\"card_no\":\"M1\"},\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":1000}],"
        "\"refunds\":[{\"external_id\":\"QR1\",\"amount_cents\":400,\"at\":\"2026-11-21T10:00:00+08:00\"}]}\n";
    r = run(f, "orders", orders, IMPORT_AUTO);
    CHECK_INT_EQ(r.imported, 1);
    json_decref(r.errors);
    r = run(f, "orders", orders, IMPORT_AUTO); /* rerun: the refund is not taken twice */
    CHECK_INT_EQ(r.duplicates, 1);
    json_decref(r.errors);
    json_t *m;
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(members_lookup(&f->d, "card_no", "M1", NULL, &m, &e), 200);
    CHECK_INT_EQ(jint(m, "stats.spend_cents"), 600);
    json_decref(m);
}

/* Orders seen by on_commit: each must be noted once, and only when committed. */
typedef struct seen_orders {
    int64_t ids[2048];
    int n, dup;
} seen_orders;

static void note_commit(void *ctx, const dom_change *v, size_t n)
{
    seen_orders *s = ctx;
    for (size_t i = 0; i < n; i++) {
        if (v[i].kind != DOM_CHANGE_ORDER) continue;
        for (int k = 0; k < s->n; k++)
            if (s->ids[k] == v[i].id) s->dup++;
        if (s->n < 2048) s->ids[s->n++] = v[i].id;
    }
}

/* A batch runs without a savepoint per record until one fails; then the batch is
 * undone and replayed in savepoints. A bad record must still be rejected alone —
 * including one that fails after it has written (an inline refund larger than the
 * order is found only after the order row went in) — and nothing may be counted, noted or
 * written twice, whatever the batch size and wherever the reader's 512-record blocks
 * end. */
static void test_failed_batches(fixture *f)
{
    static const int bad[] = {0, 250, 251, 511, 512, 599};
    const int nrec = 600, nbad = (int)(sizeof bad / sizeof *bad);
    static const int batches[] = {1000, 7, 1};
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
        size_t cap = (size_t)nrec * 400, len = 0;
        char *nd = malloc(cap);
        for (int i = 0; i < nrec; i++) {
            bool is_bad = false;
            for (int k = 0; k < nbad; k++)
                is_bad |= bad[k] == i;
            len += (size_t)snprintf(
                nd + len, cap - len,
                "{\"channel\":\"store\",\"external_id\":\"B%zu-%d\",\"store_id\":1,"
                "\"placed_at\":\"2026-11-20T10:00:00+08:00\",\"total_cents\":%s,"
                "\"member\":{\"phone\":\"1370000000%zu\"},%s"
                "\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":100}]}\n",
                b, i, is_bad && i % 2 == 0 ? "\"100\"" : "100", b,
                is_bad && i % 2 ? "\"refunds\":[{\"external_id\":\"R\",\"amount_cents\":5000,"
                                  "\"at\":\"2026-11-21T10:00:00+08:00\"}]," : "");
        }
        seen_orders seen = {0};
        import_result r =
            run_batched(f, "orders", nd, IMPORT_AUTO, batches[b], note_commit, &seen);
        siyu_err e;
        siyu_err_init(&e);
        CHECK_INT_EQ(r.records, nrec);
        CHECK_INT_EQ(r.imported, nrec - nbad);
        CHECK_INT_EQ(r.duplicates, 0);
        CHECK_INT_EQ(r.rejected, nbad);
        CHECK_INT_EQ(json_array_size(r.errors), nbad);
        for (int k = 0; k < nbad; k++) {
            json_t *err = json_array_get(r.errors, (size_t)k);
            CHECK_INT_EQ(json_integer_value(json_object_get(err, "line")), bad[k] + 1);
            CHECK_STR_EQ(json_string_value(json_object_get(err, "field")),
                         bad[k] % 2 ? "refunds[0].amount_cents" : "total_cents");
        }
        json_decref(r.errors);
        CHECK_INT_EQ(seen.n, nrec - nbad);
        CHECK_INT_EQ(seen.dup, 0);
        json_t *m;
        char phone[16];
        snprintf(phone, sizeof phone, "1370000000%zu", b);
        CHECK_INT_EQ(members_lookup(&f->d, "phone", phone, NULL, &m, &e), 200);
        CHECK_INT_EQ(jint(m, "stats.orders"), nrec - nbad);
        CHECK_INT_EQ(jint(m, "stats.spend_cents"), (nrec - nbad) * 100);
        json_decref(m);
        free(nd);
    }
}

/* The order line cap (orders_set_max_lines) holds in both formats: an order at the cap goes
 * in, one line more is rejected naming items, and the rest of the file goes on. Wholesale
 * files also commit in smaller batches (by bytes), which must not change what lands. */
static void test_line_cap(fixture *f)
{
    orders_set_max_lines(3);
    char csv[2048] =
        "channel,external_id,store_id,placed_at,total_cents,sku,qty,unit_price_cents\n";
    for (int i = 0; i < 3; i++)
        snprintf(csv + strlen(csv), sizeof csv - strlen(csv),
                 "store,CAP3,1,2026-11-20T10:00:00+08:00,300,S%d,1,100\n", i);
    for (int i = 0; i < 7; i++) /* rows past the cap are not kept, the order is still refused */
        snprintf(csv + strlen(csv), sizeof csv - strlen(csv),
                 "store,CAP7,1,2026-11-20T10:00:00+08:00,700,S%d,1,100\n", i);
    snprintf(csv + strlen(csv), sizeof csv - strlen(csv),
             "store,CAP1,1,2026-11-20T10:00:00+08:00,100,S,1,100\n");
    import_result r = run(f, "orders", csv, IMPORT_CSV);
    CHECK_INT_EQ(r.records, 3);
    CHECK_INT_EQ(r.imported, 2);
    CHECK_INT_EQ(r.rejected, 1);
    json_t *e0 = json_array_get(r.errors, 0);
    CHECK_INT_EQ(json_integer_value(json_object_get(e0, "line")), 5);
    CHECK_STR_EQ(json_string_value(json_object_get(e0, "field")), "items");
    CHECK_STR_EQ(json_string_value(json_object_get(e0, "message")), "items: more than 3 lines");
    json_decref(r.errors);
    const char nd[] =
        "{\"channel\":\"store\",\"external_id\":\"NCAP4\",\"store_id\":1,\"placed_at\":"
        "\"2026-11-20T10:00:00+08:00\",\"total_cents\":400,\"items\":[{\"sku\":\"A\",\"qty\":1,"
        "\"unit_price_cents\":100},{\"sku\":\"B\",\"qty\":1,\"unit_price_cents\":100},{\"sku\":"
        "\"C\",\"qty\":1,\"unit_price_cents\":100},{\"sku\":\"D\",\"qty\":1,\"unit_price_cents\":100}]}"
        "\n";
    r = run(f, "orders", nd, IMPORT_NDJSON);
    CHECK_INT_EQ(r.rejected, 1);
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(r.errors, 0), "field")),
                 "items");
    json_decref(r.errors);
    orders_set_max_lines(4);
    r = run(f, "orders", nd, IMPORT_NDJSON);
    CHECK_INT_EQ(r.imported, 1);
    json_decref(r.errors);
    orders_set_max_lines(ORDERS_MAX_LINES_DEFAULT);
    CHECK_INT_EQ(orders_max_lines(), 10000);
    CHECK(orders_max_body() >= (size_t)10000 * 512);
}

int main(void)
{
    test_csv_reader();
    fixture f;
    fixture_open(&f);
    test_csv_orders(&f);
    test_ndjson(&f);
    test_failed_batches(&f);
    test_line_cap(&f);
    fixture_close(&f);
    return CHECK_DONE();
}
