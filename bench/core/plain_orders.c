/* bench_plain_orders — the storage floor under POST /orders: the rows one order of
 * bench_loadgen makes siyu write (the member found by card, the order, its lines, the
 * points it earns, the member's account, the audit entry), written with plain SQL by one
 * thread, with no HTTP, no checks and no views, in transactions of --batch orders, each
 * COMMIT synced (synchronous=FULL, as siyu serve's default) and SQLite's automatic
 * checkpoint. Run on a copy of the same demo store, it says what the disk and SQLite leave
 * for everything else siyu does with an order (bench/core/run.sh prints the ratio).
 *
 *   bench_plain_orders --db FILE [--batch N] [--seconds S] [--members N] [--stores N]
 *                      [--sync full|normal]
 *
 * --sync normal commits without a sync at all: the floor with durability taken away.
 *
 * Prints one line: orders=N seconds=S rate=R/s, and the bytes written per order. */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "bench_plain_orders: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) die(db, sql);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
        die(db, sql);
    return s;
}

static void run(sqlite3 *db, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) die(db, what);
    sqlite3_reset(s);
}

static uint64_t rnd(uint64_t *x) /* xorshift64: the same sequence on every run */
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static long long written_bytes(void) /* this process's write(2) bytes: WAL and checkpoints */
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    long long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "wchar: %lld", &v) == 1) break;
    if (f) fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *sync = "full";
    int batch = 64, members = 20000, stores = 20;
    double seconds = 8;
    bool bad = false;
    for (int i = 1; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            bad = true;
        else if (!strcmp(argv[i], "--db"))
            path = v;
        else if (!strcmp(argv[i], "--batch"))
            batch = atoi(v);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(v);
        else if (!strcmp(argv[i], "--members"))
            members = atoi(v);
        else if (!strcmp(argv[i], "--stores"))
            stores = atoi(v);
        else if (!strcmp(argv[i], "--sync"))
            sync = v;
        else
            bad = true;
    }
    bool full = !strcmp(sync, "full");
    if (bad || !path || batch < 1 || members < 1 || stores < 1 || seconds <= 0 ||
        (!full && strcmp(sync, "normal"))) {
        fprintf(stderr,
                "usage: %s --db FILE [--batch N] [--seconds S] [--members N] "
                "[--stores N] [--sync full|normal]\n",
                argv[0]);
        return 2;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK) die(db, path);
    /* siyu's writer connection: WAL, foreign keys checked, FULL, a 128 MiB page cache */
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-131072");
    exec(db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    sqlite3_stmt *card = prepare(db, "SELECT member_id FROM identities WHERE kind = 'card_no'"
                                     " AND app_id = '' AND value = ?1");
    sqlite3_stmt *order =
        prepare(db, "INSERT INTO orders(channel, external_id, store_id, member_id, placed_at,"
                    " total_cents, discount_cents, points_used, item_count, digest)"
                    " VALUES ('store', ?1, ?2, ?3, ?4, ?5, 0, 0, 2, randomblob(32))");
    sqlite3_stmt *line = prepare(
        db, "INSERT INTO order_items(order_id, line, sku, category, name, qty, unit_price_cents)"
            " VALUES (?1, ?2, ?3, '生鲜', ?3, ?4, ?5)");
    sqlite3_stmt *earn =
        prepare(db, "INSERT INTO points_ledger(member_id, at, kind, delta, order_id,"
                    " available_at, expires_at, remaining, created_at)"
                    " VALUES (?1, ?2, 'earn', ?3, ?4, ?2 + 604800, ?2 + 33600000, ?3, ?2)");
    sqlite3_stmt *account =
        prepare(db, "INSERT INTO loyalty_accounts(member_id, points, updated_at, next_expiry)"
                    " VALUES (?1, ?2, ?3, ?3 + 33600000) ON CONFLICT(member_id) DO UPDATE SET"
                    " points = points + excluded.points, updated_at = excluded.updated_at,"
                    " next_expiry = min(coalesce(next_expiry, excluded.next_expiry),"
                    " excluded.next_expiry)");
    sqlite3_stmt *audit = prepare(db, "INSERT INTO audit_log(at, staff_id, role, action,"
                                      " member_ids, request_id, detail)"
                                      " VALUES (?1, NULL, 'admin', 'orders.create', '[]', ?2,"
                                      " '{\"status\":201}')");
    uint64_t x = 0x9e3779b97f4a7c15ull;
    long long orders = 0, w0 = written_bytes();
    long long run_id = (long long)time(NULL);
    int64_t at = (int64_t)time(NULL) - 3600;
    char text[64];
    double t0 = now_s(), t = 0;
    while ((t = now_s() - t0) < seconds) {
        exec(db, "BEGIN IMMEDIATE");
        for (int k = 0; k < batch; k++, orders++) {
            int64_t member = 0; /* a card merged or erased away: another member (siyu would
                                 * make a member of it, twice in a run of the HTTP bench) */
            for (int tries = 0; !member && tries < 100; tries++) {
                snprintf(text, sizeof text, "M%08d", 1 + (int)(rnd(&x) % (uint64_t)members));
                sqlite3_bind_text(card, 1, text, -1, SQLITE_TRANSIENT);
                if (sqlite3_step(card) == SQLITE_ROW) member = sqlite3_column_int64(card, 0);
                sqlite3_reset(card);
            }
            if (!member) die(db, "no member with those cards (--members too large?)");
            long total = 0, qty[2], price[2];
            for (int i = 0; i < 2; i++) {
                qty[i] = 1 + (long)(rnd(&x) % 3);
                price[i] = 100 + (long)(rnd(&x) % 9900);
                total += qty[i] * price[i];
            }
            snprintf(text, sizeof text, "plain-%lld-%lld", run_id, orders);
            sqlite3_bind_text(order, 1, text, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int(order, 2, 1 + (int)(rnd(&x) % (uint64_t)stores));
            sqlite3_bind_int64(order, 3, member);
            sqlite3_bind_int64(order, 4, at);
            sqlite3_bind_int64(order, 5, total);
            run(db, order, "the order");
            int64_t id = sqlite3_last_insert_rowid(db);
            for (int i = 0; i < 2; i++) {
                snprintf(text, sizeof text, "SKU%04d", 1 + (int)(rnd(&x) % 300));
                sqlite3_bind_int64(line, 1, id);
                sqlite3_bind_int(line, 2, i + 1);
                sqlite3_bind_text(line, 3, text, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(line, 4, qty[i]);
                sqlite3_bind_int64(line, 5, price[i]);
                run(db, line, "a line");
            }
            sqlite3_bind_int64(earn, 1, member);
            sqlite3_bind_int64(earn, 2, at);
            sqlite3_bind_int64(earn, 3, total / 100);
            sqlite3_bind_int64(earn, 4, id);
            run(db, earn, "the points");
            sqlite3_bind_int64(account, 1, member);
            sqlite3_bind_int64(account, 2, total / 100);
            sqlite3_bind_int64(account, 3, at);
            run(db, account, "the account");
            snprintf(text, sizeof text, "plain-%lld", orders);
            sqlite3_bind_int64(audit, 1, at);
            sqlite3_bind_text(audit, 2, text, -1, SQLITE_TRANSIENT);
            run(db, audit, "the audit entry");
        }
        exec(db, "COMMIT");
    }
    long long w1 = written_bytes();
    printf("mode=plain-orders sync=%s batch=%d orders=%lld seconds=%.2f rate=%.0f/s "
           "bytes_per_order=%lld\n",
           sync, batch, orders, t, (double)orders / t,
           w0 >= 0 && w1 >= 0 ? (w1 - w0) / orders : -1);
    sqlite3_stmt *all[] = {card, order, line, earn, account, audit};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        sqlite3_finalize(all[i]);
    sqlite3_close(db);
    return 0;
}
