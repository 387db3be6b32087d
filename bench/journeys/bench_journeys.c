/* bench_journeys.c — issue 6's figures: daily date triggers, and outbox dispatch.
 *
 *   bench_journeys [--members N] [--messages M] [--no-sqlite] [--pg URL]
 *
 * 1. Date triggers. N synthetic members (default 20 000 000) go into the member index:
 *    a birthday for 70%, a join day over four years, 0-6 orders over the last two
 *    years. Three journeys are active — 3 days after joining, 3 days before the
 *    birthday, 30 days without an order — and one journey tick evaluates the day: the
 *    index answers each trigger, and every member it names is enrolled (a run row in the
 *    store, its first step started). Timed: the whole tick, in seconds per day.
 *    Against it, in the same run: the same three questions as SQL over a one-row-per-
 *    member SQLite table holding the same members (joined day, birthday month and day,
 *    last order day), each column indexed — SQLite's best shot — timing only the selects.
 * 2. Dispatch. M queued messages (default 20 000) on the sms channel bound to a
 *    webhook receiver in this process (libmicrohttpd, thread per connection); timed:
 *    journey_dispatch until the outbox is empty, messages/s. Against it: the same
 *    number of signed POSTs with one reused libcurl handle and no store — the transport's
 *    ceiling on this machine.
 *    With --pg URL (a PostgreSQL server): the same table, rows (by COPY) and indexes in a
 *    database of the bench's own there, the same three selects timed beside SQLite's; the
 *    ids found must be as many on both.
 * Members behind the enrolled runs are inserted into the store before the tick (the
 * runs reference them); that set-up is not timed. */
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <sqlite3.h>

#include "pgbench.h"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "journey/journey.h"
#include "segment/eval.h"
#include "segment/expr.h"
#include "segment/index.h"
#include "store/store.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static double unif(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}
static double secs(uint64_t a, uint64_t b)
{
    return (double)(b - a) / 1e9;
}

typedef struct gm {
    int32_t bday, joined, last;
} gm;

static int die(const char *what, const siyu_err *e)
{
    fprintf(stderr, "bench_journeys: %s: %s\n", what, e ? e->message : "");
    exit(1);
}

static int call(dom *d, int (*fn)(dom *, json_t *, json_t **, siyu_err *), const char *body)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *b = json_loads(body, 0, NULL), *o = NULL;
    if (store_begin(d->conn, true, &e)) die("begin", &e);
    int rc = fn(d, b, &o, &e);
    if (rc < 0) die(body, &e);
    store_commit(d->conn, &e);
    json_decref(b);
    json_decref(o);
    return rc;
}

/* ---------------- the receiver ---------------- */

static atomic_long received;
static enum MHD_Result rx(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                          const char *version, const char *data, size_t *size, void **ctx)
{
    (void)cls, (void)url, (void)method, (void)version, (void)data;
    if (!*ctx) {
        *ctx = (void *)1;
        return MHD_YES;
    }
    if (*size) {
        *size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&received, 1);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return rc;
}

static size_t sink(char *p, size_t s, size_t n, void *u)
{
    (void)p, (void)u;
    return s * n;
}

int main(int argc, char **argv)
{
    long members = 20000000, messages = 20000;
    bool sqlite = true;
    const char *pg_server = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--members") && i + 1 < argc)
            members = atol(argv[++i]);
        else if (!strcmp(argv[i], "--messages") && i + 1 < argc)
            messages = atol(argv[++i]);
        else if (!strcmp(argv[i], "--no-sqlite"))
            sqlite = false;
        else if (!strcmp(argv[i], "--pg") && i + 1 < argc)
            pg_server = argv[++i];
        else {
            fprintf(stderr, "usage: bench_journeys [--members N] [--messages M] [--no-sqlite] "
                            "[--pg URL]\n");
            return 2;
        }
    }
    setenv("SIYU_NOW", "2026-11-22T10:00:00+08:00", 1);
    int64_t now = clock_now();
    int32_t today = time_local_day(now);

    /* ---- the index ---- */
    printf("== %ld members into the member index\n", members);
    fflush(stdout);
    uint64_t t0 = clock_mono_ns();
    seg_index *idx = seg_index_new(today);
    gm *g = malloc((size_t)members * sizeof *g);
    seg_error se;
    seg_index_reserve(idx, (size_t)members, &se);
    for (long i = 0; i < members; i++) {
        gm *m = &g[i];
        m->bday = unif() < 0.7 ? today - 365 * 18 - (int32_t)(rnd() % (365 * 50)) : SEG_NO_DAY;
        m->joined = today - (int32_t)(rnd() % 1460);
        seg_member_profile p = {.id = i + 1,
                                .store_id = 1 + (int64_t)(rnd() % 500),
                                .birthday = m->bday,
                                .joined_day = m->joined};
        if (seg_index_upsert_member(idx, &p, &se)) die("upsert", NULL);
        int n = (int)(rnd() % 7);
        m->last = SEG_NO_DAY;
        int32_t span = today - m->joined < 730 ? today - m->joined : 730;
        int32_t days[8];
        for (int k = 0; k < n; k++)
            days[k] = today - (int32_t)(unif() * (span + 1));
        for (int a = 1; a < n; a++)
            for (int b = a; b > 0 && days[b] < days[b - 1]; b--) {
                int32_t x = days[b];
                days[b] = days[b - 1];
                days[b - 1] = x;
            }
        for (int k = 0; k < n; k++) {
            seg_category_spend cs = {"生鲜", 3000};
            seg_index_apply_order(idx, i + 1, days[k], 3000, 2, &cs, 1, &se);
            m->last = days[k];
        }
    }
    printf("   built in %.1f s\n", secs(t0, clock_mono_ns()));

    /* ---- the store, with the three journeys ---- */
    char dir[] = "/tmp/siyu-bench-journeys-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[128];
    snprintf(path, sizeof path, "%s/j.db", dir);
    store_options so = {.sync = STORE_SYNC_NORMAL, .create = true};
    store_t *st;
    siyu_err e;
    siyu_err_init(&e);
    if (store_open(path, &so, &st, &e)) die("store", &e);
    dom d = {.now = now};
    d.who.role = ROLE_ADMIN;
    if (store_conn_open(st, &d.conn, &e)) die("conn", &e);
    store_conn_cache(d.conn, 256);
    call(&d, stores_create, "{\"name\":\"店\",\"code\":\"S1\",\"kind\":\"physical\"}");
    static const char *const defs[] = {
        "{\"name\":\"入会3天\",\"trigger\":{\"date\":\"after_join\",\"days\":3},\"steps\":[{"
        "\"action\":"
        "\"wait\",\"duration\":\"1d\"}]}",
        "{\"name\":\"生日前3天\",\"trigger\":{\"date\":\"birthday\",\"days_before\":3},\"steps\":[{"
        "\"action\":\"wait\",\"duration\":\"1d\"}]}",
        "{\"name\":\"30天未购\",\"trigger\":{\"inactivity_days\":30},\"steps\":[{\"action\":"
        "\"wait\","
        "\"duration\":\"1d\"}]}",
    };
    for (int k = 0; k < 3; k++)
        call(&d, journeys_create, defs[k]);
    /* the members the day will name must exist in the store (runs reference them):
     * written straight into the file with SQLite, not timed */
    int y, mo, dd;
    date_civil(today + 3, &y, &mo, &dd);
    char q[3][96];
    snprintf(q[0], sizeof q[0], "joined_days = 3");
    snprintf(q[1], sizeof q[1], "birthday_month = %d and birthday_day = %d", mo, dd);
    snprintf(q[2], sizeof q[2], "last_order_days = 30");
    long named = 0;
    int64_t *named_ids = NULL;
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *ins, *consent;
    sqlite3_prepare_v2(db,
                       "INSERT OR IGNORE INTO members(id, store_id, join_channel, joined_at,"
                       " created_at, updated_at) VALUES (?1, 1, 'store', ?2, ?2, ?2)",
                       -1, &ins, NULL);
    /* each has agreed to marketing by sms: without it the outbox skips their messages */
    sqlite3_prepare_v2(db,
                       "INSERT OR IGNORE INTO member_consents(member_id, purpose, channel,"
                       " granted, source, at) VALUES (?1, 'marketing', 'sms', 1, 'import', ?2)",
                       -1, &consent, NULL);
    for (int k = 0; k < 3; k++) {
        seg_expr *ex;
        seg_audience a;
        if (seg_parse(q[k], idx, &ex, &se) || seg_select(idx, ex, NULL, &a, &se)) die(q[k], NULL);
        named_ids = realloc(named_ids, ((size_t)named + a.count + 1) * sizeof *named_ids);
        memcpy(named_ids + named, a.ids, a.count * sizeof *a.ids);
        for (size_t i = 0; i < a.count; i++) {
            sqlite3_bind_int64(ins, 1, a.ids[i]);
            sqlite3_bind_int64(ins, 2, now);
            sqlite3_step(ins);
            sqlite3_reset(ins);
            sqlite3_bind_int64(consent, 1, a.ids[i]);
            sqlite3_bind_int64(consent, 2, now);
            sqlite3_step(consent);
            sqlite3_reset(consent);
        }
        printf("   %-44s %zu members\n", q[k], a.count);
        named += (long)a.count;
        seg_audience_release(&a);
        seg_expr_free(ex);
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(consent);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    for (int k = 1; k <= 3; k++) {
        siyu_err_init(&e);
        if (store_begin(d.conn, true, &e) || journeys_set_state(&d, k, "activate", NULL, &e) < 0)
            die("activate", &e);
        store_commit(d.conn, &e);
    }

    /* ---- one tick: the day ---- */
    printf("== one journey tick: three date triggers over %ld members\n", members);
    fflush(stdout);
    json_t *out = NULL;
    t0 = clock_mono_ns();
    if (store_begin(d.conn, true, &e) || journey_tick(&d, idx, (int)(named + 1000), &out, &e))
        die("tick", &e);
    if (store_commit(d.conn, &e)) die("commit", &e);
    double tick_s = secs(t0, clock_mono_ns());
    printf("   %s\n", json_dumps(out, JSON_COMPACT));
    long entered = (long)json_integer_value(json_object_get(out, "entered"));
    json_decref(out);
    printf("   %.2f s for the day (%ld members entered and started)\n", tick_s, entered);

    /* the same three questions to SQLite, one row per member, each column indexed */
    double sql_s = -1, pg_s = -1;
    if (sqlite) {
        printf("== SQLite: %ld member rows, indexed (not timed)\n", members);
        fflush(stdout);
        char sp[160];
        snprintf(sp, sizeof sp, "%s/sql.db", dir);
        sqlite3 *s;
        sqlite3_open(sp, &s);
        sqlite3_exec(s,
                     "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                     "CREATE TABLE m (id INTEGER PRIMARY KEY, joined INTEGER, bmonth INTEGER,"
                     " bday INTEGER, last_order INTEGER); BEGIN",
                     NULL, NULL, NULL);
        sqlite3_stmt *w;
        sqlite3_prepare_v2(s, "INSERT INTO m VALUES (?1, ?2, ?3, ?4, ?5)", -1, &w, NULL);
        for (long i = 0; i < members; i++) {
            sqlite3_bind_int64(w, 1, i + 1);
            sqlite3_bind_int(w, 2, g[i].joined);
            if (g[i].bday != SEG_NO_DAY) {
                int by, bm, bd;
                date_civil(g[i].bday, &by, &bm, &bd);
                sqlite3_bind_int(w, 3, bm);
                sqlite3_bind_int(w, 4, bd);
            } else {
                sqlite3_bind_null(w, 3);
                sqlite3_bind_null(w, 4);
            }
            if (g[i].last != SEG_NO_DAY)
                sqlite3_bind_int(w, 5, g[i].last);
            else
                sqlite3_bind_null(w, 5);
            sqlite3_step(w);
            sqlite3_reset(w);
        }
        sqlite3_finalize(w);
        sqlite3_exec(
            s,
            "COMMIT; CREATE INDEX m_joined ON m(joined);"
            " CREATE INDEX m_bday ON m(bmonth, bday); CREATE INDEX m_last ON m(last_order);",
            NULL, NULL, NULL);
        char sqls[3][160];
        snprintf(sqls[0], sizeof sqls[0], "SELECT id FROM m WHERE joined = %d", today - 3);
        snprintf(sqls[1], sizeof sqls[1], "SELECT id FROM m WHERE bmonth = %d AND bday = %d", mo,
                 dd);
        snprintf(sqls[2], sizeof sqls[2], "SELECT id FROM m WHERE last_order = %d", today - 30);
        long found = 0;
        t0 = clock_mono_ns();
        for (int k = 0; k < 3; k++) {
            sqlite3_stmt *r;
            sqlite3_prepare_v2(s, sqls[k], -1, &r, NULL);
            while (sqlite3_step(r) == SQLITE_ROW)
                found++;
            sqlite3_finalize(r);
        }
        sql_s = secs(t0, clock_mono_ns());
        sqlite3_close(s);
        printf("   the three selects: %.3f s, %ld ids (the index named %ld)\n", sql_s, found,
               named);
        if (pg_server) {
            printf("== PostgreSQL: the same %ld rows by COPY, the same indexes (not timed)\n",
                   members);
            fflush(stdout);
            char url[512];
            pgb_database(pg_server, "siyu_bench_journeys", true, url, sizeof url);
            PGconn *c = pgb_connect(url);
            pgb_exec(c, "CREATE TABLE m (id BIGINT PRIMARY KEY, joined INT, bmonth INT, bday INT,"
                        " last_order INT)");
            pgb_copy p;
            pgb_copy_begin(&p, c, "COPY m FROM STDIN");
            for (long i = 0; i < members; i++) {
                char bm[8] = "\\N", bd[8] = "\\N", last[16] = "\\N";
                if (g[i].bday != SEG_NO_DAY) {
                    int by, m1, d1;
                    date_civil(g[i].bday, &by, &m1, &d1);
                    snprintf(bm, sizeof bm, "%d", m1);
                    snprintf(bd, sizeof bd, "%d", d1);
                }
                if (g[i].last != SEG_NO_DAY) snprintf(last, sizeof last, "%d", g[i].last);
                pgb_copy_row(&p, "%ld\t%d\t%s\t%s\t%s\n", i + 1, g[i].joined, bm, bd, last);
            }
            pgb_copy_end(&p);
            pgb_exec(c, "CREATE INDEX m_joined ON m(joined)");
            pgb_exec(c, "CREATE INDEX m_bday ON m(bmonth, bday)");
            pgb_exec(c, "CREATE INDEX m_last ON m(last_order)");
            pgb_exec(c, "VACUUM ANALYZE m");
            long pg_found = 0;
            t0 = clock_mono_ns();
            for (int k = 0; k < 3; k++) {
                PGresult *r = PQexec(c, sqls[k]);
                if (PQresultStatus(r) != PGRES_TUPLES_OK) die(sqls[k], NULL);
                pg_found += PQntuples(r);
                PQclear(r);
            }
            pg_s = secs(t0, clock_mono_ns());
            PQfinish(c);
            printf("   the three selects: %.3f s, %ld ids: PostgreSQL / SQLite %.2f%s\n", pg_s,
                   pg_found, pg_s / sql_s, pg_found == found ? "" : "  IDS DIFFER");
            if (pg_found != found) return 1;
        }
    }
    /* index evaluation alone, for the comparison with the selects */
    t0 = clock_mono_ns();
    long again = 0;
    for (int k = 0; k < 3; k++) {
        seg_expr *ex;
        seg_audience a;
        seg_parse(q[k], idx, &ex, &se);
        seg_select(idx, ex, NULL, &a, &se);
        again += (long)a.count;
        seg_audience_release(&a);
        seg_expr_free(ex);
    }
    double idx_s = secs(t0, clock_mono_ns());
    seg_index_free(idx);
    free(g);

    /* ---- dispatch ---- */
    printf("== dispatch: %ld queued sms messages to a local webhook\n", messages);
    fflush(stdout);
    int port = 0;
    struct MHD_Daemon *mhd = NULL;
    for (int tries = 0; !mhd && tries < 20; tries++) {
        port = 20000 + (int)(rnd() % 20000);
        mhd =
            MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)port, NULL,
                             NULL, rx, NULL, MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_END);
    }
    if (!mhd) die("receiver", NULL);
    char cfg[256];
    snprintf(cfg, sizeof cfg,
             "{\"adapter\":\"webhook\",\"url\":\"http://127.0.0.1:%d/hook\",\"secret\":"
             "\"bench-secret-0123456789\"}",
             port);
    json_t *cj = json_loads(cfg, 0, NULL), *co = NULL;
    if (store_begin(d.conn, true, &e) || channels_put(&d, "sms", cj, &co, &e) < 0)
        die("channel", &e);
    store_commit(d.conn, &e);
    json_decref(cj);
    json_decref(co);
    if (store_begin(d.conn, true, &e)) die("begin", &e);
    for (long i = 0; i < messages; i++) {
        store_stmt *s = store_q(d.conn, Q_MESSAGE_INSERT);
        store_bind_int(s, 3, named_ids[i % named]);
        store_bind_text(s, 4, "sms");
        store_bind_text(s, 5, "王芳您好，感谢光临湖滨店，下次到店可用券 C7K2M9QXR4TPD");
        store_bind_text(s, 6, "queued");
        store_bind_int(s, 7, now);
        store_bind_int(s, 8, now);
        /* the address, as the engine resolves it when it queues: never sent without */
        char to[64];
        snprintf(to, sizeof to, "{\"phone\":\"+8613%09ld\"}", i);
        store_bind_text(s, 9, to);
        if (store_exec(s, &e)) die("queue a message", &e);
    }
    store_commit(d.conn, &e);
    t0 = clock_mono_ns();
    long sent = 0;
    for (;;) {
        json_t *o = NULL;
        if (journey_dispatch(st, now, 5000, &o, &e)) die("dispatch", &e);
        long n = (long)json_integer_value(json_object_get(o, "sent"));
        if (!n && sent < messages) { /* what the outbox did instead */
            char *why = json_dumps(o, JSON_COMPACT);
            fprintf(stderr, "bench_journeys: dispatch: %.400s\n", why ? why : "");
            free(why);
        }
        json_decref(o);
        if (!n) break;
        sent += n;
    }
    double disp_s = secs(t0, clock_mono_ns());
    if (sent != messages) {
        fprintf(stderr, "bench_journeys: %ld of %ld messages sent\n", sent, messages);
        return 1;
    }
    printf("   siyu: %ld sent in %.2f s, %.0f messages/s (receiver saw %ld)\n", sent, disp_s,
           sent / disp_s, atomic_load(&received));
    /* the transport alone: one libcurl handle, the same body, no store, no signature */
    CURL *c = curl_easy_init();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", port);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(
        c, CURLOPT_POSTFIELDS,
        "{\"message_id\":1,\"channel\":\"sms\",\"member_id\":1,\"text\":\"王芳您好\"}");
    t0 = clock_mono_ns();
    for (long i = 0; i < messages; i++)
        curl_easy_perform(c);
    double raw_s = secs(t0, clock_mono_ns());
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    MHD_stop_daemon(mhd);
    printf("   libcurl alone: %ld POSTs in %.2f s, %.0f/s\n", messages, raw_s, messages / raw_s);

    printf("\n== results (%ld members, %ld messages)\n", members, messages);
    printf("%-52s %.2f s   (goal: < 10 s)\n", "date triggers: one day, three journeys, siyu tick",
           tick_s);
    printf("%-52s %.4f s\n", "  of which the index answering the three triggers", idx_s);
    if (sql_s >= 0)
        printf("%-52s %.4f s   ratio SQLite/index %.1fx\n", "  the same selects on indexed SQLite",
               sql_s, sql_s / idx_s);
    if (pg_s >= 0)
        printf("%-52s %.4f s   ratio PostgreSQL/index %.1fx, PostgreSQL/SQLite %.2f\n",
               "  the same selects on indexed PostgreSQL", pg_s, pg_s / idx_s, pg_s / sql_s);
    printf("%-52s %.0f messages/s   (goal: >= 20000/s)\n", "dispatch to a local webhook, siyu",
           sent / disp_s);
    printf("%-52s %.0f /s   ratio siyu/libcurl %.2f\n", "  one libcurl handle, no store",
           messages / raw_s, (sent / disp_s) / (messages / raw_s));
    free(named_ids);
    store_conn_close(d.conn);
    store_close(st);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    (void)again;
    return 0;
}
