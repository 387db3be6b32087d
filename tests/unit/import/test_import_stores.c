/* The same orders file imported into SQLite and into PostgreSQL gives the same results: the
 * same counts of imported, duplicate and rejected records, the same errors, and the same
 * orders, lines, refunds and members — on PostgreSQL the lines go by COPY (store_bulk), so
 * the file has names with tabs, newlines and backslashes, lines without a category, batches
 * that fail part-way and are replayed record by record, duplicates and conflicts. Run as
 * pg_unit_import_stores (needs SIYU_TEST_DB=postgresql://…; skipped without). Ids are not
 * compared (a rolled-back batch uses PostgreSQL sequence values); rows are matched by their
 * keys. */
#include <check.h>
#include <unistd.h>

#include "../domain/fixture.h"
#include "import/import.h"

/* The orders file: n orders over three months, built by rule (no randomness). */
static char *orders_file(int n)
{
    size_t cap = (size_t)n * 1200 + 1024, len = 0;
    char *out = malloc(cap);
    static const char *const names[] = {"苹果\\t红富士", "a\\nb", "back\\\\slash", "\\\"quoted\\\"",
                                        "plain"};
    for (int i = 0; i < n; i++) {
        int id = i;
        char body[1100];
        int b = 0, total = 0;
        if (i % 17 == 5) id = i - 3;           /* a duplicate of an earlier order... */
        bool conflict = i % 29 == 11 && i > 3; /* ...or the same key with another body */
        bool bad = i % 23 == 7;                /* a rejected one: a quantity of zero */
        int items = 1 + id % 4;
        b += snprintf(body + b, sizeof body - b, "[");
        for (int k = 0; k < items; k++) {
            int j = id * 7 + k, qty = bad && k == 0 ? 0 : 1 + j % 3, unit = 100 + (j * 37) % 900;
            total += qty * unit;
            b +=
                snprintf(body + b, sizeof body - b,
                         "%s{\"sku\":\"S%d\",%s\"name\":\"%s\",\"qty\":%d,\"unit_price_cents\":%d}",
                         k ? "," : "", j % 11, j % 3 ? "\"category\":\"生鲜\"," : "", names[j % 5],
                         qty, unit);
        }
        b += snprintf(body + b, sizeof body - b, "]");
        if (conflict) id = i - 4; /* an earlier key, at the other store */
        char member[80] = "";
        if (id % 5)
            snprintf(member, sizeof member, "\"member\":{\"phone\":\"1381234%04d\"},", id % 40);
        char refund[200] = "";
        if (id % 13 == 3 && !bad)
            snprintf(refund, sizeof refund,
                     ",\"refunds\":[{\"external_id\":\"RF%d\",\"amount_cents\":%d,"
                     "\"at\":\"2026-11-21T10:00:00+08:00\"}]",
                     id, total / 2);
        /* some orders with a discount: the lines sum to total + discount */
        const char *discount = id % 7 == 2 ? "\"discount_cents\":50," : "";
        len += (size_t)snprintf(out + len, cap - len,
                                "{\"channel\":\"store\",\"external_id\":\"O%d\",\"store_id\":%d,"
                                "\"placed_at\":\"2026-%02d-%02dT10:%02d:00+08:00\","
                                "\"total_cents\":%d,%s%s\"items\":%s%s}\n",
                                id, conflict ? 2 - id % 2 : 1 + id % 2, 9 + id % 3, 1 + id % 28,
                                id % 60, total - (id % 7 == 2 ? 50 : 0), discount, member, body,
                                refund);
    }
    /* last, an order of a month no other order has, after seven good ones (so its batch
     * holds no refused record, and its rows are still kept when the import ends): on
     * PostgreSQL its partition is made at the end of the import, with the rows of that batch
     * sent before, so it does not stay in the default partition */
    for (int k = 0; k < 8; k++)
        len +=
            (size_t)snprintf(out + len, cap - len,
                             "{\"channel\":\"store\",\"external_id\":\"OLAST%d\",\"store_id\":1,"
                             "\"placed_at\":\"%s\",\"total_cents\":100,\"items\":[{\"sku\":"
                             "\"A\",\"qty\":1,\"unit_price_cents\":100}]}\n",
                             k, k < 7 ? "2026-10-15T10:00:00+08:00" : "2025-03-15T10:00:00+08:00");
    return out;
}

static import_result import_into(fixture *f, const char *text)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    import_options o;
    import_options_init(&o);
    o.format = IMPORT_NDJSON;
    o.batch_size = 7; /* many batches, some replayed record by record */
    o.max_errors_kept = 1000;
    import_result r;
    siyu_err e;
    siyu_err_init(&e);
    principal admin = {.role = ROLE_ADMIN};
    CHECK_INT_EQ(import_stream(f->d.conn, &admin, "orders", in, &o, &r, &e), 0);
    fclose(in);
    return r;
}

/* The rows of sql, one line each, fields joined by |, NULL as ∅. */
static char *dump(fixture *f, const char *sql)
{
    size_t cap = 1 << 20, len = 0;
    char *out = calloc(1, cap);
    if (f->pgname[0]) {
        const char *server = pgtest_server(), *host = strstr(server, "://") + 3;
        const char *slash = strchr(host, '/'), *query = strchr(host, '?');
        int head = slash ? (int)(slash - server) : (int)strlen(server);
        char url[512];
        snprintf(url, sizeof url, "%.*s/%s%s", head, server, f->pgname, query ? query : "");
        PGconn *pg = PQconnectdb(url);
        PGresult *r = PQexec(pg, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            fprintf(stderr, "%s: %s", sql, PQerrorMessage(pg));
        for (int i = 0; i < PQntuples(r); i++) {
            for (int j = 0; j < PQnfields(r); j++)
                len += (size_t)snprintf(out + len, cap - len, "%s%s", j ? "|" : "",
                                        PQgetisnull(r, i, j) ? "∅" : PQgetvalue(r, i, j));
            len += (size_t)snprintf(out + len, cap - len, "\n");
        }
        PQclear(r);
        PQfinish(pg);
        return out;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/d.db", f->dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    sqlite3_open(path, &db);
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
    while (s && sqlite3_step(s) == SQLITE_ROW) {
        for (int j = 0; j < sqlite3_column_count(s); j++) {
            const char *v = (const char *)sqlite3_column_text(s, j);
            len += (size_t)snprintf(out + len, cap - len, "%s%s", j ? "|" : "", v ? v : "∅");
        }
        len += (size_t)snprintf(out + len, cap - len, "\n");
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
}

static int same(fixture *a, fixture *b, const char *what, const char *sql)
{
    char *x = dump(a, sql), *y = dump(b, sql);
    int rows = 0;
    for (const char *p = x; *p; p++)
        rows += *p == '\n';
    bool eq = strcmp(x, y) == 0;
    if (!eq) {
        const char *p = x, *q = y;
        while (*p && *p == *q)
            p++, q++;
        while (p > x && p[-1] != '\n')
            p--, q--;
        fprintf(stderr, "%s differ:\n  SQLite     %.200s\n  PostgreSQL %.200s\n", what, p, q);
    }
    CHECK(eq);
    free(x);
    free(y);
    return rows;
}

int main(void)
{
    const char *server = getenv("SIYU_TEST_DB");
    if (!pgtest_server()) {
        puts("skipped: SIYU_TEST_DB names no PostgreSQL server");
        return 77;
    }
    char *keep = strdup(server);
    fixture lite, pg;
    unsetenv("SIYU_TEST_DB");
    fixture_open(&lite);
    setenv("SIYU_TEST_DB", keep, 1);
    fixture_open(&pg);
    CHECK(!lite.pgname[0] && pg.pgname[0]);

    char *text = orders_file(400);
    import_result a = import_into(&lite, text), b = import_into(&pg, text);
    /* the months the import brought have their partitions, its last batch's too */
    char *left = dump(&pg, "SELECT count(*) FROM orders_pdefault");
    CHECK_STR_EQ(left, "0\n");
    free(left);
    CHECK_INT_EQ(b.records, a.records);
    CHECK_INT_EQ(b.imported, a.imported);
    CHECK_INT_EQ(b.duplicates, a.duplicates);
    CHECK_INT_EQ(b.rejected, a.rejected);
    CHECK(a.imported > 300 && a.duplicates > 10 && a.rejected > 20);
    if (a.imported <= 300 || b.imported != a.imported) {
        fprintf(stderr, "SQLite: %lld imported, %lld duplicates, %lld rejected: %s\n",
                (long long)a.imported, (long long)a.duplicates, (long long)a.rejected,
                json_dumps(a.errors, 0));
        fprintf(stderr, "PostgreSQL: %s\n", json_dumps(b.errors, 0));
    }
    /* the same errors, but for the ids they name (PostgreSQL's sequence skips what a
     * rolled-back batch took) */
    CHECK_INT_EQ(json_array_size(b.errors), json_array_size(a.errors));
    for (size_t i = 0; i < json_array_size(a.errors); i++) {
        json_t *x = json_array_get(a.errors, i), *y = json_array_get(b.errors, i);
        static const char *const keys[] = {"line", "code", "field"};
        for (int k = 0; k < 3; k++)
            CHECK(json_equal(json_object_get(x, keys[k]), json_object_get(y, keys[k])));
    }
    /* again: every record is a duplicate or rejected as before, on both */
    import_result a2 = import_into(&lite, text), b2 = import_into(&pg, text);
    CHECK_INT_EQ(a2.imported, 0);
    CHECK_INT_EQ(b2.imported, 0);
    CHECK_INT_EQ(b2.duplicates, a2.duplicates);
    CHECK_INT_EQ(b2.rejected, a2.rejected);

#define PHONE(col)                                                                                 \
    "(SELECT min(value) FROM identities WHERE kind = 'phone' AND member_id = " col ")"
    int orders =
        same(&lite, &pg, "orders",
             "SELECT channel, external_id, store_id, " PHONE(
                 "o.member_id") ", guide_id, placed_at, total_cents, discount_cents, points_used,"
                                " coupon_code, refunded_cents, item_count FROM orders o"
                                " ORDER BY channel, external_id");
    CHECK_INT_EQ(orders, (int)a.imported);
    int lines = same(&lite, &pg, "order lines",
                     "SELECT o.channel, o.external_id, i.line, i.sku, i.category, i.name, i.qty,"
                     " i.unit_price_cents, i.refunded_qty FROM order_items i"
                     " JOIN orders o ON o.id = i.order_id ORDER BY 1, 2, 3");
    CHECK(lines > orders);
    CHECK(same(&lite, &pg, "refunds",
               "SELECT r.external_id, o.external_id, r.amount_cents, r.refunded_at, r.items"
               " FROM refunds r JOIN orders o ON o.id = r.order_id ORDER BY 1") > 5);
    CHECK(same(&lite, &pg, "members",
               "SELECT " PHONE("m.id") ", m.store_id, m.guide_id, m.join_channel, m.joined_at"
                                       " FROM members m ORDER BY 1") > 10);
    /* names with a tab, a newline and a backslash came through COPY as they were */
    char *names = dump(&pg, "SELECT name FROM order_items WHERE strpos(name, chr(92)) > 0 LIMIT 1");
    CHECK_STR_EQ(names, "back\\slash\n");
    free(names);

    json_decref(a.errors);
    json_decref(b.errors);
    json_decref(a2.errors);
    json_decref(b2.errors);
    free(text);
    free(keep);
    fixture_close(&lite);
    fixture_close(&pg);
    return CHECK_DONE();
}
