/* Orders, events and messages over many months, on both stores: on PostgreSQL they are
 * partitioned by month (pg_schema.c, migration 26), on SQLite one table each. The same
 * domain calls give the same answers on both; on PostgreSQL the test also checks where the
 * rows are (each in its month's partition, none left in the default one), that the retention
 * job makes the coming months and drops whole months past the settings, that the keys the
 * partitions cannot hold still hold (an order's channel and external id, an event's
 * content), and that migration 26 converts a store that already has rows. */
#include <stdlib.h>
#include <time.h>

#include "fixture.h"
#include "loyalty/loyalty.h"
#include "store/pg_internal.h"

#define DAY 86400

/* One value from the fixture's store, by SQL both engines understand. */
static int64_t sql_int(fixture *f, const char *sql)
{
    int64_t v = -1;
    if (f->pgname[0]) {
        const char *server = pgtest_server(), *host = strstr(server, "://") + 3;
        const char *slash = strchr(host, '/'), *query = strchr(host, '?');
        int head = slash ? (int)(slash - server) : (int)strlen(server);
        char url[512];
        snprintf(url, sizeof url, "%.*s/%s%s", head, server, f->pgname, query ? query : "");
        PGconn *pg = PQconnectdb(url);
        PGresult *r = PQexec(pg, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        else
            fprintf(stderr, "%s: %s", sql, PQerrorMessage(pg));
        PQclear(r);
        PQfinish(pg);
        return v;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/d.db", f->dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    else
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static int64_t sqlf(fixture *f, const char *fmt, long long a)
{
    char sql[400];
    snprintf(sql, sizeof sql, fmt, a);
    return sql_int(f, sql);
}

/* An order of one line at instant at (UTC seconds), through the domain. */
static int order_at(fixture *f, const char *ext, int64_t at, json_t **out, siyu_err *e)
{
    char iso[40], body[400];
    time_t t = (time_t)at;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body,
             "{\"channel\":\"store\",\"external_id\":\"%s\",\"store_id\":1,\"placed_at\":\"%s\","
             "\"total_cents\":1200,\"member\":{\"phone\":\"13812345678\"},"
             "\"items\":[{\"sku\":\"A\",\"qty\":3,\"unit_price_cents\":400}]}",
             ext, iso);
    return call(f, orders_create, body, out, e);
}

static int event_at(fixture *f, const char *type, int64_t at, siyu_err *e)
{
    char iso[40], body[200];
    time_t t = (time_t)at;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body, "{\"type\":\"%s\",\"member_id\":1,\"at\":\"%s\"}", type, iso);
    return call(f, events_record, body, NULL, e);
}

static int sweep(fixture *f, json_t **out, siyu_err *e)
{
    bool more = true;
    int rc = 0, rounds = 0;
    int64_t ev = 0, msg = 0;
    while (rc == 0 && more && rounds++ < 100) {
        json_t *o = NULL;
        siyu_err_clear(e);
        store_begin(f->d.conn, true, e);
        rc = retention_sweep(&f->d, 1000, &o, &more, e);
        if (rc == 0)
            rc = store_commit(f->d.conn, e);
        else
            store_rollback(f->d.conn);
        ev += jint(o, "events");
        msg += jint(o, "messages");
        json_decref(o);
    }
    *out = json_pack("{s:I, s:I}", "events", (json_int_t)ev, "messages", (json_int_t)msg);
    return rc;
}

static int check_clean(fixture *f)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *v = NULL;
    store_begin(f->d.conn, false, &e);
    int found = loyalty_check(f->d.conn, f->d.now, 50, &v, &e);
    store_rollback(f->d.conn);
    if (found) {
        char *text = json_dumps(v, 0);
        fprintf(stderr, "check: %s\n", text ? text : "?");
        free(text);
    }
    json_decref(v);
    return found;
}

/* The month start (UTC) k months after the month holding t, by the calendar. */
static int64_t month(int64_t t, int k)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    int y = tm.tm_year + 1900, m = tm.tm_mon + k;
    y += m >= 0 ? m / 12 : -((11 - m) / 12);
    m = ((m % 12) + 12) % 12;
    /* days from 1970-01-01 to y-m-01 (civil calendar) */
    int yy = y - (m < 2), era = (yy >= 0 ? yy : yy - 399) / 400;
    int yoe = yy - era * 400, mp = (m + 10) % 12; /* March = 0 */
    int doy = (153 * mp + 2) / 5, doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return ((int64_t)era * 146097 + doe - 719468) * DAY;
}

static void living_store(void)
{
    fixture f;
    fixture_open(&f);
    bool pg = f.pgname[0] != 0;
    siyu_err e;
    siyu_err_init(&e);
    json_t *o;
    int64_t now = f.d.now;
    /* orders in seven months: this one, the five before it, and one three years back (no
     * partition was made for it: it lands in the default one, and no insert fails) */
    int64_t at[7] = {now - 3600,
                     month(now, -1) + DAY,
                     month(now, -2) + 2 * DAY,
                     month(now, -3) + 3 * DAY,
                     month(now, -4) + 4 * DAY,
                     month(now, -5) + 5 * DAY,
                     month(now, -36) + 6 * DAY};
    char ext[16];
    for (int i = 0; i < 7; i++) {
        snprintf(ext, sizeof ext, "P%d", i);
        CHECK_INT_EQ(order_at(&f, ext, at[i], &o, &e), 201);
        CHECK_INT_EQ(jint(o, "id"), i + 1);
        json_decref(o);
    }
    /* a retry answers the first order, wherever its month is */
    CHECK_INT_EQ(order_at(&f, "P6", at[6], &o, &e), 200);
    CHECK_INT_EQ(jint(o, "id"), 7);
    json_decref(o);
    CHECK_INT_EQ(order_at(&f, "P3", at[3], &o, &e), 200);
    CHECK_INT_EQ(jint(o, "id"), 4);
    json_decref(o);
    /* the same key with another month is a conflict, not a second order in that month */
    CHECK_INT_EQ(order_at(&f, "P3", at[0], &o, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_CONFLICT);
    CHECK_INT_EQ(sql_int(&f, "SELECT count(*) FROM orders"), 7);
    if (pg) {
        /* at least the three-year-old one waits in the default partition */
        CHECK(sql_int(&f, "SELECT count(*) FROM orders_pdefault") >= 1);
        CHECK_INT_EQ(sql_int(&f, "SELECT count(*) FROM order_keys"), 7);
    }

    /* events: four a month for eight months back, one of them a live_view in the oldest */
    int n_events = 0;
    for (int k = 0; k < 8; k++)
        for (int i = 0; i < 4; i++) {
            CHECK_INT_EQ(event_at(&f, k == 7 && i == 0 ? "live_view" : "share",
                                  month(now, -k) + (i + 1) * DAY + k, &e),
                         201);
            n_events++;
        }
    /* an event sent again is a duplicate across months too */
    CHECK_INT_EQ(event_at(&f, "share", month(now, -6) + DAY + 6, &e), 200);
    /* messages: three a month for eight months back; one queued in the month before last */
    char sql[600];
    for (int k = 0; k < 8; k++)
        for (int i = 0; i < 3; i++) {
            snprintf(sql, sizeof sql,
                     "INSERT INTO messages(member_id, channel, body, status, created_at)"
                     " VALUES (1, 'sms', 'x', '%s', %lld)",
                     k == 6 && i == 0 ? "queued" : "sent",
                     (long long)(month(now, -k) + (i + 1) * DAY));
            CHECK_INT_EQ(fixture_exec(&f, sql), 0);
        }

    /* the retention job: events kept 100 days, messages 100 days */
    CHECK_INT_EQ(call(&f, retention_put, "{\"events_days\":100,\"messages_days\":100}", NULL, &e),
                 200);
    int64_t cut = now - 100 * DAY;
    /* by an independent count: the rows the settings let go */
    int64_t want_ev = sqlf(
        &f, "SELECT count(*) FROM events WHERE at < %lld AND type <> 'live_view'", (long long)cut);
    int64_t want_msg = sqlf(&f,
                            "SELECT count(*) FROM messages WHERE created_at < %lld AND status"
                            " NOT IN ('queued', 'retry', 'awaiting_guide')",
                            (long long)cut);
    CHECK(want_ev > 8 && want_msg > 6);
    CHECK_INT_EQ(sweep(&f, &o, &e), 0);
    CHECK_INT_EQ(jint(o, "events"), want_ev);
    CHECK_INT_EQ(jint(o, "messages"), want_msg);
    json_decref(o);
    CHECK_INT_EQ(sql_int(&f, "SELECT count(*) FROM events"), n_events - want_ev);
    CHECK_INT_EQ(sqlf(&f, "SELECT count(*) FROM events WHERE at < %lld", (long long)cut), 1);
    CHECK_INT_EQ(sqlf(&f, "SELECT count(*) FROM messages WHERE created_at < %lld", (long long)cut),
                 1);
    CHECK_INT_EQ(sql_int(&f, "SELECT count(*) FROM orders"), 7); /* orders are kept */
    if (pg) {
        /* every order in its month: the three-year-old one got its partition */
        CHECK_INT_EQ(sql_int(&f, "SELECT count(*) FROM orders_pdefault"), 0);
        CHECK_INT_EQ(sql_int(&f, "SELECT count(DISTINCT tableoid) FROM orders"), 7);
        /* made ahead: this month and the next two, for each table */
        char name[40];
        for (int k = 0; k < 3; k++) {
            time_t t = (time_t)month(now, k);
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(name, sizeof name, "orders_p%Y%m", &tm);
            snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_class WHERE relname = '%s'", name);
            if (sql_int(&f, sql) != 1) fprintf(stderr, "no partition %s\n", name);
            CHECK_INT_EQ(sql_int(&f, sql), 1);
        }
        /* whole months past the cut-off went as partitions: of the events' months wholly
         * before it, the oldest stays (its live_view); of the messages', the one holding a
         * queued message */
        int whole = 0;
        for (int k = 1; k < 8; k++)
            if (month(now, -k + 1) <= cut) whole++;
        CHECK(whole >= 2);
        static const char *const before_cut =
            "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = '%s'"
            " AND CASE WHEN c.relname ~ '_p[0-9]{6}$' THEN extract(epoch FROM"
            " to_date(right(c.relname, 6), 'YYYYMM') + interval '1 month') <= %lld END";
        snprintf(sql, sizeof sql, before_cut, "events", (long long)cut);
        CHECK_INT_EQ(sql_int(&f, sql), 1);
        snprintf(sql, sizeof sql, before_cut, "messages", (long long)cut);
        CHECK_INT_EQ(sql_int(&f, sql), 1);
        CHECK_INT_EQ(sql_int(&f, "SELECT count(*) FROM event_keys"), n_events - want_ev);
        CHECK_INT_EQ(sql_int(&f, "SELECT count(*) FROM events_pdefault"), 0);
    }
    /* a dropped event may come again: it is new */
    CHECK_INT_EQ(event_at(&f, "share", month(now, -6) + DAY + 6, &e), 201);
    /* a second sweep finds nothing more */
    CHECK_INT_EQ(sweep(&f, &o, &e), 0);
    CHECK_INT_EQ(jint(o, "events"), 1);
    CHECK_INT_EQ(jint(o, "messages"), 0);
    json_decref(o);
    CHECK_INT_EQ(check_clean(&f), 0);
    /* the checker sees a line whose order is gone (the foreign key partitions cannot hold) */
    CHECK_INT_EQ(fixture_exec(&f, "INSERT INTO order_items(order_id, line, sku, qty,"
                                  " unit_price_cents) VALUES (999, 1, 'Z', 1, 1)"),
                 0);
    CHECK(check_clean(&f) > 0);
    fixture_close(&f);
}

/* The partitioning migration (26) on a PostgreSQL store made before it, with rows in several
 * months. */
static void converted_store(void)
{
    char name[64], url[512];
    if (pgtest_fresh("conv", name, url, sizeof url) != 0) return;
    PGconn *pg = PQconnectdb(url);
    PQclear(PQexec(pg, "SET client_min_messages = warning"));
    PGresult *r = PQexec(pg, "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY,"
                             " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    PQclear(r);
    /* every migration before the one that partitions (found by its text, wherever it is) */
    for (int i = 0; !strstr(pg_migrations[i], "siyu_partition_table('orders')"); i++) {
        r = PQexec(pg, pg_migrations[i]);
        CHECK(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
        PQclear(r);
        char sql[80];
        snprintf(sql, sizeof sql, "INSERT INTO schema_migrations(version) VALUES (%d)", i + 1);
        PQclear(PQexec(pg, sql));
    }
    /* a store, a member, five orders in five months (lines summing to their totals, one
     * refunded), events and messages in three months */
    int64_t now = (int64_t)time(NULL);
    char sql[8000];
    int n = snprintf(
        sql, sizeof sql,
        "INSERT INTO stores(name, code, kind, created_at) VALUES ('s', 'S', 'physical', 0);"
        "INSERT INTO members(joined_at, created_at, updated_at) VALUES (0, 0, 0);");
    for (int k = 0; k < 5; k++)
        n += snprintf(
            sql + n, sizeof sql - n,
            "INSERT INTO orders(channel, external_id, store_id, member_id, placed_at,"
            " total_cents, discount_cents, points_used, item_count, digest, refunded_cents)"
            " VALUES ('store', 'C%d', 1, 1, %lld, 800, 0, 0, 2, '\\x00', %d);"
            "INSERT INTO order_items(order_id, line, sku, qty, unit_price_cents)"
            " VALUES (%d, 1, 'A', 2, 400);",
            k, (long long)(month(now, -k) + DAY), k == 2 ? 400 : 0, k + 1);
    n += snprintf(sql + n, sizeof sql - n,
                  "INSERT INTO refunds(order_id, external_id, amount_cents, refunded_at, digest)"
                  " VALUES (3, 'R1', 400, %lld, '\\x00');",
                  (long long)now);
    for (int k = 0; k < 3; k++)
        n += snprintf(sql + n, sizeof sql - n,
                      "INSERT INTO events(member_id, type, at, digest) VALUES (1, 'share', %lld,"
                      " '\\x0%d');"
                      "INSERT INTO messages(member_id, channel, body, status, created_at)"
                      " VALUES (1, 'sms', 'x', 'sent', %lld);",
                      (long long)(month(now, -k) + 2 * DAY), k, (long long)(month(now, -k) + DAY));
    r = PQexec(pg, sql);
    CHECK(PQresultStatus(r) == PGRES_COMMAND_OK);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) fprintf(stderr, "%s", PQerrorMessage(pg));
    PQclear(r);

    /* siyu init brings it forward */
    siyu_err e;
    siyu_err_init(&e);
    store_options opt = {.sync = STORE_SYNC_NORMAL, .create = true};
    store_t *st = NULL;
    CHECK_INT_EQ(store_open(url, &opt, &st, &e), 0);
    CHECK_INT_EQ(store_schema_version(st), pg_migration_count);
    static const char *const counts[][2] = {
        {"SELECT count(*) FROM orders", "5"},
        {"SELECT count(*) FROM orders_pdefault", "0"},
        {"SELECT count(DISTINCT tableoid) FROM orders", "5"},
        {"SELECT count(*) FROM order_keys", "5"},
        {"SELECT count(*) FROM order_items", "5"},
        {"SELECT count(*) FROM events", "3"},
        {"SELECT count(*) FROM event_keys", "3"},
        {"SELECT count(*) FROM messages", "3"},
        {"SELECT count(*) FROM messages_pdefault", "0"},
        {"SELECT count(*) FROM pg_class WHERE relname LIKE '%\\_flat'", "0"},
        {"SELECT count(*) FROM pg_constraint WHERE conrelid = 'orders'::regclass"
         " AND contype = 'f'",
         "3"},
        {"SELECT count(*) FROM pg_indexes WHERE tablename = 'messages'", "5"},
    };
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        r = PQexec(pg, counts[i][0]);
        const char *got = PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "error";
        if (strcmp(got, counts[i][1]))
            fprintf(stderr, "%s: %s, expected %s\n", counts[i][0], got, counts[i][1]);
        CHECK_STR_EQ(got, counts[i][1]);
        PQclear(r);
    }
    /* the domain goes on: ids after the old ones, the old keys still keys */
    dom d = {.now = now};
    d.who.role = ROLE_ADMIN;
    CHECK_INT_EQ(store_conn_open(st, &d.conn, &e), 0);
    fixture f = {.d = d};
    snprintf(f.pgname, sizeof f.pgname, "%s", name);
    json_t *o = NULL;
    CHECK_INT_EQ(order_at(&f, "C5", now, &o, &e), 201);
    CHECK_INT_EQ(jint(o, "id"), 6);
    json_decref(o);
    CHECK_INT_EQ(order_at(&f, "C1", month(now, -1) + DAY, &o, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_CONFLICT); /* another body under an old key */
    siyu_err_clear(&e);                  /* its details name the first order */
    CHECK_INT_EQ(check_clean(&f), 0);
    store_conn_close(f.d.conn);
    store_close(st);
    PQfinish(pg);
    pgtest_drop(name);
}

int main(void)
{
    living_store();
    converted_store();
    return CHECK_DONE();
}
