/* month_rights.c — members' rights and the operator's safety net through the month.
 *
 * Erasure: a quarter, half and three quarters through the month, at 10:00, a few members ask
 * to be forgotten. Around each erasure the KPI report of the month so far (every day before
 * today) is read: after it, every figure but reachability (`reachable_members`, `online_rate`:
 * an erased member can be reached no more, docs/privacy.md) equals what it was. The member
 * then answers `"erased": true` with no personal field, the audit log holds the erasure with
 * the member, and a new registration with the erased phone is a new member. The core (check
 * M) holds that no message reaches an erased member after the instant of erasure.
 *
 * Backup: halfway through, at 13:30, `siyu backup` runs while 8 threads stream orders over
 * HTTP. The backup restored into a new store: `siyu check` is clean on it, every order
 * acknowledged before the backup began is in it exactly once, no order is in it twice or
 * that nobody posted, and none of the phones erased before it is in its bytes. (SQLite's
 * online backup; on PostgreSQL an operator uses pg_dump, and this part is skipped.)
 *
 * At the end, after the server stopped: `siyu vacuum`, and no erased phone is anywhere in the
 * store's files. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "erasure.h"
#include "month.h"

#define MAX_ERASED 64
#define WRITERS 8
#define MAX_BACKUP_ORDERS 100000

static int ck; /* "R" */
static month_rng rng;
static struct {
    int64_t id, at, again; /* the member, when erased, the new member with the same phone */
    char phone[24];
} erased[MAX_ERASED];
static int n_erased;

/* ---------------- erasure ---------------- */

/* The KPI report of the month so far: from its first day to yesterday. */
static json_t *kpi_so_far(void)
{
    int64_t d0 = month_local_day(month_start()), d1 = month_local_day(month_now()) - 1;
    char from[40], to[40], path[200];
    snprintf(from, sizeof from, "%.10s", month_T(d0 * 86400 - 28800 + 43200));
    snprintf(to, sizeof to, "%.10s", month_T(d1 * 86400 - 28800 + 43200));
    snprintf(path, sizeof path, "/api/v1/reports/kpi?from=%s&to=%s&granularity=week", from, to);
    json_t *r = NULL;
    int st = month_call("GET", path, &r, NULL);
    month_seen(ck);
    if (st != 200) {
        month_fail(ck, "GET %s answered %d: %.200s", path, st, month_body());
        json_decref(r);
        return NULL;
    }
    kpi_drop_reach(r);
    return r;
}

static void erase_one(int64_t m)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)m);
    json_t *before = NULL;
    if (!month_expect(month_call("GET", path, &before, NULL), 200, 200, "GET /members/{id}", m)) {
        json_decref(before);
        return;
    }
    const char *phone = json_string_value(json_object_get(before, "phone"));
    if (!phone || strchr(phone, '*') || strlen(phone) >= sizeof erased[0].phone) {
        json_decref(before);
        return; /* a member without a phone teaches nothing about where phones go */
    }
    int k = n_erased;
    snprintf(erased[k].phone, sizeof erased[k].phone, "%s", phone);
    json_t *stats = json_incref(json_object_get(before, "stats"));
    json_decref(before);

    snprintf(path, sizeof path, "/api/v1/members/%lld/erase", (long long)m);
    int st =
        month_call("POST", path, NULL, "{\"reason\":\"the member asked at the till (month)\"}");
    if (!month_expect(st, 200, 200, "POST /members/{id}/erase", m)) {
        json_decref(stats);
        return;
    }
    erased[k].id = m;
    erased[k].at = month_now();
    n_erased++;
    month_member_erased(m, erased[k].at);

    /* the pseudonymous record: erased, its figures kept, nothing personal */
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)m);
    json_t *after = NULL;
    st = month_call("GET", path, &after, NULL);
    month_seen(ck);
    if (st != 200 || !json_is_true(json_object_get(after, "erased")))
        month_fail(ck, "member %lld after erasure: HTTP %d, %.200s", (long long)m, st,
                   month_body());
    else {
        static const char *const personal[] = {"name", "phone", "birthday", "unionid", "card_no"};
        for (size_t f = 0; f < sizeof personal / sizeof *personal; f++)
            if (json_object_get(after, personal[f]))
                month_fail(ck, "member %lld still shows '%s' after erasure", (long long)m,
                           personal[f]);
        if (strstr(month_body(), erased[k].phone))
            month_fail(ck, "member %lld: the erased phone is still in the member 360",
                       (long long)m);
        if (!json_equal(stats, json_object_get(after, "stats")))
            month_fail(ck, "member %lld: the figures changed with the erasure", (long long)m);
    }
    json_decref(after);
    json_decref(stats);

    /* one in three phones registers again: a new member, never the erased one (the others
     * must leave the store's bytes entirely) */
    if (k % 3) return;
    json_t *o = NULL;
    st =
        month_call("POST", "/api/v1/members", &o,
                   "{\"phone\":\"%s\",\"channel\":\"store\",\"store_id\":%lld,\"joined_at\":"
                   "\"%s\"}",
                   erased[k].phone, (long long)(1 + month_uniform(&rng, 20)), month_T(month_now()));
    month_seen(ck);
    int64_t again = month_jint(o, "id");
    json_decref(o);
    if (st != 201 || again <= 0 || again == m)
        month_fail(ck,
                   "the erased member %lld's phone registered again: HTTP %d, member %lld "
                   "(a new member expected)",
                   (long long)m, st, (long long)again);
    else {
        erased[k].again = again;
        month_member_added(again);
    }
}

/* A till that still knows an erased member's id posts an order for them: the order is kept
 * (the pseudonymous record's figures stay whole), but it starts nothing — no journey enters an
 * erased member (checked at the end), and check M holds that nothing reaches them. Posted after
 * the report around the erasures is taken: a new order may rightly move a forward-looking figure
 * of past days (new members converted within 30 days of joining, docs/metrics.md). */
static void order_for_erased(int64_t m)
{
    int st = month_call("POST", "/api/v1/orders", NULL,
                        "{\"channel\":\"store\",\"external_id\":\"ERASED-%lld\",\"store_id\":1,"
                        "\"member_id\":%lld,\"placed_at\":\"%s\",\"total_cents\":990,\"items\":"
                        "[{\"sku\":\"SKU0001\",\"qty\":1,\"unit_price_cents\":990}]}",
                        (long long)m, (long long)m, month_T(month_now()));
    month_expect(st, 201, 201, "POST /orders for an erased member", m);
}

static void erase_some(void)
{
    json_t *kb = kpi_so_far();
    int first = n_erased;
    int want = month_members() / 4000 + 2;
    for (int i = 0; i < want && n_erased < MAX_ERASED; i++) {
        int64_t m = month_pick_member();
        if (m > 0) erase_one(m);
    }
    json_t *ka = kpi_so_far();
    month_seen(ck);
    if (kb && ka && !json_equal(kb, ka)) {
        char diff[1500] = "";
        json_diff_paths(kb, ka, "kpi", diff, sizeof diff);
        month_fail(ck, "the KPI report of the month so far changed with erasures at %s: %s",
                   month_T(month_now()), diff);
    }
    json_decref(kb);
    json_decref(ka);
    for (int k = first; k < n_erased; k++)
        order_for_erased(erased[k].id);
}

/* ---------------- backup while 8 writers stream orders ---------------- */

typedef struct writer_arg {
    int no;
    char placed_at[40];
} writer_arg;
static atomic_int backup_begun, writers_stop;
static atomic_long acked_before, acked_total;
static char *before_ids; /* "BK-w-n" of every order acknowledged before the backup began */
static size_t before_len, before_cap;
static long n_attempted;
static pthread_mutex_t ids_lock = PTHREAD_MUTEX_INITIALIZER;

static void *writer(void *p)
{
    writer_arg *a = p;
    int conn = month_conn();
    char req[512], resp[4096];
    for (int n = 0; !atomic_load(&writers_stop) && n < MAX_BACKUP_ORDERS / WRITERS; n++) {
        char id[32];
        snprintf(id, sizeof id, "BK-%d-%d", a->no, n);
        snprintf(req, sizeof req,
                 "{\"channel\":\"store\",\"external_id\":\"%s\",\"store_id\":%d,"
                 "\"placed_at\":\"%s\",\"total_cents\":1990,\"items\":[{\"sku\":\"SKU0001\","
                 "\"qty\":1,\"unit_price_cents\":1990}]}",
                 id, 1 + a->no, a->placed_at);
        pthread_mutex_lock(&ids_lock);
        n_attempted++;
        pthread_mutex_unlock(&ids_lock);
        /* read before the call: an order answered while this was still 0 was acknowledged
         * before the backup began */
        int begun = atomic_load(&backup_begun);
        int st =
            month_call_on(conn, month_token(), "POST", "/api/v1/orders", req, resp, sizeof resp);
        if (st != 201) continue; /* counted as attempted: the restored store may hold it */
        atomic_fetch_add(&acked_total, 1);
        if (begun || atomic_load(&backup_begun)) continue;
        pthread_mutex_lock(&ids_lock);
        if (before_len + 40 > before_cap)
            before_ids = realloc(before_ids, before_cap = before_cap ? 2 * before_cap : 65536);
        before_len +=
            (size_t)snprintf(before_ids + before_len, before_cap - before_len, "%s\n", id);
        pthread_mutex_unlock(&ids_lock);
        atomic_fetch_add(&acked_before, 1);
    }
    month_conn_close(conn);
    return NULL;
}

static char backup_file[600];
static bool backed_up;
static int64_t backup_at;

static void backup_while_writing(void)
{
    pthread_t t[WRITERS];
    writer_arg args[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        args[i].no = i;
        snprintf(args[i].placed_at, sizeof args[i].placed_at, "%s", month_T(month_now()));
        pthread_create(&t[i], NULL, writer, &args[i]);
    }
    while (atomic_load(&acked_total) < 200)
        usleep(2000);
    atomic_store(&backup_begun, 1);
    backup_at = month_now();
    snprintf(backup_file, sizeof backup_file, "%s/month.bak", month_dir());
    char cmd[1400], out[512] = "";
    snprintf(cmd, sizeof cmd, "%s backup --db %s --out %s 2>&1", month_siyu(), month_db(),
             backup_file);
    int rc = month_run(cmd, out, sizeof out);
    long during = atomic_load(&acked_total);
    usleep(50000); /* and the writers go on a little after it */
    atomic_store(&writers_stop, 1);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    month_seen(ck);
    if (rc != 0) {
        month_fail(ck, "siyu backup while 8 writers streamed: exit %d: %s", rc, out);
        return;
    }
    backed_up = true;
    fprintf(stderr,
            "  rights: backup at %s while 8 writers streamed: %ld orders acknowledged before it "
            "began, %ld by its end, %ld in all\n",
            month_T(month_now()), atomic_load(&acked_before), during, atomic_load(&acked_total));
}

/* How often needle occurs in a file's bytes (0 when the file does not exist). */
static long file_count(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = strlen(needle), cap = 1 << 20;
    char *b = malloc(cap + n);
    size_t keep = 0, got;
    long hits = 0;
    while ((got = fread(b + keep, 1, cap, f)) > 0) {
        size_t len = keep + got;
        for (size_t i = 0; i + n <= len; i++)
            if (memcmp(b + i, needle, n) == 0) hits++;
        keep = len < n - 1 ? len : n - 1; /* a match across two reads is seen once */
        memmove(b, b + len - keep, keep);
    }
    free(b);
    fclose(f);
    return hits;
}

static int64_t restored_int(sqlite3 *r, const char *sql, const char *text)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(r, sql, -1, &s, NULL) != SQLITE_OK) return -1;
    if (text) sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return v;
}

static void check_restored(void)
{
    if (!backed_up) return;
    char restored[600], cmd[2000], out[2048] = "";
    snprintf(restored, sizeof restored, "%s/restored.db", month_dir());
    snprintf(cmd, sizeof cmd, "%s restore --from %s --db %s 2>&1", month_siyu(), backup_file,
             restored);
    int rc = month_run(cmd, out, sizeof out);
    month_seen(ck);
    if (rc != 0) {
        month_fail(ck, "siyu restore: exit %d: %s", rc, out);
        return;
    }
    snprintf(cmd, sizeof cmd, "%s check --db %s 2>&1", month_siyu(), restored);
    rc = month_run(cmd, out, sizeof out);
    month_seen(ck);
    if (rc != 0) month_fail(ck, "siyu check on the restored backup: exit %d: %s", rc, out);

    sqlite3 *r = NULL;
    if (sqlite3_open_v2(restored, &r, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        month_fail(ck, "cannot open the restored store %s", restored);
        sqlite3_close(r);
        return;
    }
    long missing = 0, present = 0;
    for (char *line = before_ids, *end; line && *line; line = end + 1) {
        end = strchr(line, '\n');
        *end = 0;
        int64_t n = restored_int(r, "SELECT count(*) FROM orders WHERE external_id = ?1", line);
        month_seen(ck);
        if (n == 1)
            present++;
        else if (missing++ < 5)
            month_fail(ck,
                       "order %s was acknowledged before the backup began; the restored "
                       "store holds it %lld times",
                       line, (long long)n);
    }
    int64_t twice = restored_int(r,
                                 "SELECT count(*) FROM (SELECT external_id FROM orders"
                                 " GROUP BY channel, external_id HAVING count(*) > 1)",
                                 NULL);
    int64_t bk = restored_int(r, "SELECT count(*) FROM orders WHERE external_id LIKE 'BK-%'", NULL);
    month_seen(ck);
    if (twice != 0) month_fail(ck, "the restored store holds %lld orders twice", (long long)twice);
    if (bk < present || bk > n_attempted)
        month_fail(ck,
                   "the restored store holds %lld of the writers' orders: %ld were "
                   "acknowledged before the backup began, %ld attempted in all",
                   (long long)bk, present, n_attempted);
    sqlite3_close(r);
    /* the phones erased before the backup are not in its bytes */
    for (int k = 0; k < n_erased; k++) {
        month_seen(ck);
        long hits = file_count(backup_file, erased[k].phone);
        /* a phone registered again belongs to a new member, who is rightly in the backup */
        if (erased[k].again || erased[k].at > backup_at) continue;
        if (hits) month_fail(ck, "the backup holds the erased phone %s", erased[k].phone);
    }
    fprintf(stderr,
            "  rights: the restored backup holds %ld of %ld orders acknowledged before "
            "it began, %lld of the writers' orders in all\n",
            present, (long)atomic_load(&acked_before), (long long)bk);
}

/* ---------------- the participant ---------------- */

static void setup(void)
{
    ck = month_check_kind("R erasure, audit, backup and restore");
    month_rng_init(&rng, "rights");
    /* the demo chain comes with its members' requests answered (src/cli/demo_rights.c):
     * members 97 and 2024 erased, a week of audited reads and the erasures */
    int64_t demo_erased = month_q1("SELECT count(*) FROM erasures e JOIN members m"
                                   " ON m.id = e.member_id WHERE m.id IN (97, 2024)",
                                   0, 0),
            audited = month_q1("SELECT count(*) FROM audit_log WHERE action = 'member.read'"
                               " AND role = 'store_manager'",
                               0, 0);
    /* the chain's own traffic must not pick them: they are gone for every till */
    static const int64_t demo_ids[] = {97, 2024, 31415};
    for (size_t i = 0; i < sizeof demo_ids / sizeof *demo_ids; i++) {
        int64_t at = month_q1("SELECT at FROM erasures WHERE member_id = ?1", demo_ids[i], 0);
        if (at > 0) month_member_erased(demo_ids[i], at);
    }
    month_seen(ck);
    if (month_members() >= 2024 && (demo_erased != 2 || audited < 60))
        month_fail(ck,
                   "the demo chain: %lld of members 97 and 2024 erased, %lld audited reads "
                   "(2 and 60 expected)",
                   (long long)demo_erased, (long long)audited);
}

static void act(int day, int minute)
{
    int days = month_days();
    if (minute == 10 * 60 && (day == days / 4 || day == days / 2 || day == 3 * days / 4))
        erase_some();
    if (minute == 13 * 60 + 30 && day == days / 2 && !month_on_pg()) backup_while_writing();
}

static void check(void)
{
    /* the audit log answers for every erasure: who, which member, the request */
    for (int k = 0; k < n_erased; k++) {
        char path[200];
        snprintf(path, sizeof path,
                 "/api/v1/audit?member_id=%lld&action=POST%%20/api/v1/members/%%7Bid%%7D/erase",
                 (long long)erased[k].id);
        json_t *o = NULL;
        int st = month_call("GET", path, &o, NULL);
        month_seen(ck);
        json_t *items = json_object_get(o, "items");
        if (st != 200 || json_array_size(items) != 1)
            month_fail(ck,
                       "audit: the erasure of member %lld at %s: HTTP %d, %zu entries: "
                       "%.300s",
                       (long long)erased[k].id, month_T(erased[k].at), st, json_array_size(items),
                       month_body());
        json_decref(o);
        /* no journey entered the member after the erasure */
        month_seen(ck);
        int64_t runs = month_q1("SELECT count(*) FROM journey_runs WHERE member_id = ?1"
                                " AND entered_at >= ?2",
                                erased[k].id, erased[k].at);
        if (runs)
            month_fail(ck, "member %lld, erased at %s, entered %lld journey runs afterwards",
                       (long long)erased[k].id, month_T(erased[k].at), (long long)runs);
        /* and the erasure log keeps it once */
        month_seen(ck);
        int64_t n = month_q1("SELECT count(*) FROM erasures WHERE member_id = ?1", erased[k].id, 0);
        if (n != 1)
            month_fail(ck, "the erasure log holds member %lld %lld times", (long long)erased[k].id,
                       (long long)n);
    }
    month_seen(ck);
    if (n_erased == 0) month_fail(ck, "no member was erased in the month");
    int again = 0;
    for (int k = 0; k < n_erased; k++)
        again += erased[k].again != 0;
    fprintf(stderr,
            "  rights: %d members erased, %d phones of them registered again as new "
            "members\n",
            n_erased, again);
    check_restored();
}

/* After the server stopped: vacuumed, the store's files hold no erased phone, except where
 * the same phone belongs to the new member who registered with it. */
static void check_stopped(void)
{
    if (month_on_pg()) return;
    char cmd[1200], out[512] = "";
    snprintf(cmd, sizeof cmd, "%s vacuum --db %s 2>&1", month_siyu(), month_db());
    int rc = month_run(cmd, out, sizeof out);
    month_seen(ck);
    if (rc != 0) {
        month_fail(ck, "siyu vacuum: exit %d: %s", rc, out);
        return;
    }
    sqlite3 *r = NULL;
    if (sqlite3_open_v2(month_db(), &r, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(r);
        return;
    }
    for (int k = 0; k < n_erased; k++) {
        /* the new member's own rows name the phone: count those, and the store may hold
         * no more of it than they do */
        char path[600];
        long hits = 0;
        static const char *const sfx[] = {"", "-wal", "-shm"};
        for (int f = 0; f < 3; f++) {
            snprintf(path, sizeof path, "%s%s", month_db(), sfx[f]);
            hits += file_count(path, erased[k].phone);
        }
        int64_t owned =
            restored_int(r, "SELECT count(*) FROM identities WHERE value = ?1", erased[k].phone);
        month_seen(ck);
        if (erased[k].again ? owned != 1 : hits != 0)
            month_fail(ck,
                       "after vacuum: the erased phone %s is in the store's files %ld times "
                       "(the new member with it: %lld identities)",
                       erased[k].phone, hits, (long long)owned);
    }
    sqlite3_close(r);
}

const month_participant month_rights = {"rights", setup, act, check, check_stopped};
