/* test_chain_month.c — a demo chain lives through a month (or two) with every role at work.
 *
 * The real generator builds the chain (`siyu demo --no-serve`, history ending the day before
 * the simulation starts); a real `siyu serve` runs on a free loopback port with the test's clock
 * (SIYU_NOW_FILE) and no background jobs, so every tick is the test's. Every channel is bound to
 * a webhook receiver in this process that checks each signature and records each message with
 * the simulated instant it arrived. Every ready-made journey (GET /api/v1/journey-library) is
 * active, plus a join + 3/7/15/30-day series timed from the trigger and a win-back that waits for
 * an order. Then day after day, at several instants (quiet hours included), a seeded PRNG posts
 * over HTTP what a chain's systems post: new members with their consents, POS orders, live-room
 * views and orders, refunds, opt-outs and merges; guides confirm wecom tasks at once, late, skip
 * them or let them time out, and close follow-ups; the scheduler is ticked.
 *
 * At the end every promise is checked against an independent reader — the store read directly
 * (month_reader.h: the sqlite3 C API on a file, libpq on PostgreSQL), and the receiver's own log:
 *   T  no tick ever failed (each answered 200); readiness answers 200
 *   D  every due step ran: no active run is past its timer; no run still waits for an order its
 *      member placed, and none timed out past one; the trigger-timed series ran each step of
 *      each run between trigger + N days and the tick after it; every member who joined after
 *      activation entered the member_joined journeys
 *   S  each journey report's entries and per-step outcomes equal the journey log counted in SQL
 *   M  no message reached a member on a channel after they opted out of it, or a member after
 *      they were merged away; none went out in quiet hours, over the frequency budget or over a
 *      monthly platform cap; every sent message reached the receiver once, signed
 *   C  no coupon step failed; no member holds more coupons of a template than its limit; no
 *      template issued more than its stock
 *   K  the KPI report equals plain SQL over the orders (and each weekly bucket's active members
 *      and repeat buyers)
 *   X  `siyu check --db` exits 0
 *   Z  `siyu serve` stops cleanly (exit 0; under the sanitizers: no report)
 *   N  mid-month the node is stopped cleanly and started again, as after a deploy: it writes
 *      its views snapshot at the stop and, on SQLite, starts from it and uses its pages in
 *      place (taking the file out of the directory), so the second half of the month and every
 *      check above run on views read back from the snapshot and changed since
 * Every failure names the check, the member, the day, the journey and step, expected vs actual.
 *
 * Scale: SIYU_MONTH_MEMBERS (default 20000), SIYU_MONTH_DAYS (default 60), SIYU_MONTH_SEED
 * (default 1); SIYU_MONTH_VERBOSE=1 prints a line a day; SIYU_MONTH_KEEP=1 keeps the
 * store. CTest runs a smaller scale under the sanitizers; bench/month/ runs the long variant.
 * Run: test_chain_month PATH_TO_SIYU */
#include <check.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/timeutil.h"
#include "harness.h"
#include "month_reader.h"
#include "month.h"
#include "webhook_rx.h"

#define SECRET "month-secret-0123456789abcdef"
#define LOCAL 28800 /* +08:00 */
#define DAY 86400
#define SMS_CAP 4 /* the monthly SMS cap the test sets */

static int fd;
static pid_t server_pid;
static char *buf;
#define BUFCAP (8u << 20)
static char clock_path[160];
static _Atomic int64_t sim_now;
static int n_members, n_days;
static uint64_t seed;
static bool verbose;
static int64_t t_start; /* the first simulated instant (journeys activated) */

/* ---------------- failures: counted per check, the first few printed ---------------- */

/* The core's checks; participants add theirs with month_check_kind. */
enum {
    CK_TICK,
    CK_DUE,
    CK_STEPS,
    CK_MSG,
    CK_COUPON,
    CK_KPI,
    CK_CHECK,
    CK_STOP,
    CK_HTTP,
    CK_RESTART,
    CK_KEPT,
    CK_N
};
#define CK_MAX 32
static int ck_n = CK_N;
static const char *ck_name[CK_MAX] = {"T no tick failed",
                                      "D every due step ran",
                                      "S report = journey log",
                                      "M messages within consent, quiet hours and caps",
                                      "C coupons within limits, no step failed",
                                      "K KPIs = SQL",
                                      "X siyu check clean",
                                      "Z siyu serve stopped cleanly",
                                      "H the day's HTTP calls",
                                      "N restarted mid-month from the views snapshot",
                                      "V kept member 360s = fresh renders"};
static long ck_fail[CK_MAX], ck_seen[CK_MAX];

static void fail(int ck, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(int ck, const char *fmt, ...)
{
    ck_fail[ck]++;
    check_failures_++;
    if (ck_fail[ck] > 12) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL [%s] ", ck_name[ck]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
#define SEEN(ck) (ck_seen[ck]++)

/* ---------------- the clock ---------------- */

static void fmt_time(int64_t t, char *out, size_t cap)
{
    time_t lt = (time_t)(t + LOCAL);
    struct tm tm;
    gmtime_r(&lt, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d+08:00", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
static const char *T(int64_t t) /* for messages: a rotating set of buffers */
{
    static char b[8][40];
    static int k;
    char *o = b[k++ & 7];
    fmt_time(t, o, 40);
    return o;
}
static void set_now(int64_t t)
{
    char s[40];
    fmt_time(t, s, sizeof s);
    char tmp[200];
    snprintf(tmp, sizeof tmp, "%s.tmp", clock_path);
    FILE *f = fopen(tmp, "w");
    fprintf(f, "%s\n", s);
    fclose(f);
    rename(tmp, clock_path); /* the server never reads half a line */
    atomic_store(&sim_now, t);
}
static int local_minute(int64_t t)
{
    return (int)(((t + LOCAL) % DAY) / 60);
}
static int64_t local_day(int64_t t)
{
    return (t + LOCAL) / DAY;
}
static bool in_quiet(int64_t t) /* 21:00-09:00 */
{
    int m = local_minute(t);
    return m >= 21 * 60 || m < 9 * 60;
}
static int days_in_month(int ym)
{
    static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = ym / 12, m = ym % 12;
    return n[m] + (m == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}
static int local_month(int64_t t) /* yyyy*12+mm */
{
    time_t lt = (time_t)(t + LOCAL);
    struct tm tm;
    gmtime_r(&lt, &tm);
    return (tm.tm_year + 1900) * 12 + tm.tm_mon;
}

/* ---------------- a seeded PRNG ---------------- */

static uint64_t rng_state;
static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static int64_t uniform(int64_t n)
{
    return n > 0 ? (int64_t)(rnd() % (uint64_t)n) : 0;
}
static bool chance(double p)
{
    return (double)(rnd() >> 11) / 9007199254740992.0 < p;
}
static uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t z = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    return z ^ (z >> 31);
}

/* ---------------- the receiver ---------------- */

typedef struct rx_msg {
    int64_t id, member, journey, at;
    char channel[24];
    bool has_to;
} rx_msg;
static pthread_mutex_t rx_lock = PTHREAD_MUTEX_INITIALIZER;
static rx_msg *rxv;
static size_t rx_n, rx_cap;
static atomic_long bad_signatures, bad_bodies;
static int rx_port_;

/* a message's recipient: an address string, or an object of address fields */
static bool has_address(json_t *to)
{
    return (json_is_string(to) && json_string_length(to) > 0) ||
           (json_is_object(to) && json_object_size(to) > 0);
}

/* Each message that reached the receiver, with the simulated instant it arrived. */
static int on_webhook(void *ctx, json_t *b, const char *key, bool signature_ok)
{
    (void)ctx, (void)key;
    if (!signature_ok) {
        atomic_fetch_add(&bad_signatures, 1);
        return 401;
    }
    json_t *id = json_object_get(b, "message_id"), *m = json_object_get(b, "member_id");
    if (!json_is_integer(id) || !json_is_integer(m)) {
        atomic_fetch_add(&bad_bodies, 1);
        return 200;
    }
    rx_msg r = {.id = json_integer_value(id),
                .member = json_integer_value(m),
                .journey = json_integer_value(json_object_get(b, "journey_id")),
                .at = atomic_load(&sim_now),
                .has_to = has_address(json_object_get(b, "to"))};
    const char *channel = json_string_value(json_object_get(b, "channel"));
    snprintf(r.channel, sizeof r.channel, "%s", channel ? channel : "?");
    pthread_mutex_lock(&rx_lock);
    if (rx_n == rx_cap) rxv = realloc(rxv, (rx_cap = rx_cap ? 2 * rx_cap : 4096) * sizeof *rxv);
    rxv[rx_n++] = r;
    pthread_mutex_unlock(&rx_lock);
    return 200;
}

/* ---------------- calls ---------------- */

static char body[1 << 16];
static int call(const char *method, const char *path, json_t **out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int call(const char *method, const char *path, json_t **out, const char *fmt, ...)
{
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(body, sizeof body, fmt, ap);
        va_end(ap);
    }
    int st = request_hdr(fd, token, method, path, NULL, fmt ? body : NULL, buf, BUFCAP);
    if (st < 0) {
        fprintf(stderr, "%s %s: the server closed the connection (did it die?)\n", method, path);
        exit(1);
    }
    if (out) *out = json_loads(buf, 0, NULL);
    return st;
}
/* A call that must succeed as part of the simulation (counted under H otherwise). */
static bool expect(int st, int want1, int want2, const char *what, int64_t member)
{
    SEEN(CK_HTTP);
    if (st == want1 || st == want2) return true;
    fail(CK_HTTP, "%s (member %lld) at %s: HTTP %d, expected %d: %.300s", what, (long long)member,
         T(atomic_load(&sim_now)), st, want1, buf);
    return false;
}

static json_t *jget(json_t *o, const char *path)
{
    char p[256];
    snprintf(p, sizeof p, "%s", path);
    json_t *cur = o;
    for (char *save = NULL, *t = strtok_r(p, ".", &save); t && cur; t = strtok_r(NULL, ".", &save))
        cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(t)) : json_object_get(cur, t);
    return cur;
}
static int64_t jint(json_t *o, const char *path)
{
    json_t *v = jget(o, path);
    return json_is_integer(v) ? json_integer_value(v) : -999;
}

/* ---------------- the independent reader ---------------- */

/* month_reader.h: the sqlite3 API on a file, libpq on a PostgreSQL database */
static void rdb_open(void)
{
    rq_open(db);
}
static rq_stmt *q(const char *sql)
{
    return rq_prepare(sql);
}
static int64_t q1(const char *sql, int64_t a, int64_t b)
{
    rq_stmt *s = q(sql);
    /* bound only as far as the text names them: PostgreSQL must know every parameter's type */
    if (strstr(sql, "?1")) rq_bind_int(s, 1, a);
    if (strstr(sql, "?2")) rq_bind_int(s, 2, b);
    int64_t v = rq_step(s) == RQ_ROW ? rq_int(s, 0) : -1;
    rq_finalize(s);
    return v;
}

/* ---------------- the simulation's memory ---------------- */

typedef struct opt_out {
    int64_t member, at;
    char channel[24];
} opt_out;
static opt_out *optv;
static size_t opt_n, opt_cap;
static int64_t *merged_at; /* by member id: when it was merged away (0: never) */
static int64_t *erased_at; /* by member id: when it was erased (0: never) */
/* by member id: when another member was last merged into it (0: never). Before that
 * instant siyu knew the two as two people, each with its own frequency budget. */
static int64_t *absorbed_at;
static int64_t member_cap, max_member;
static int64_t *task_seen; /* by task id: first seen (0: not yet) */
static int64_t task_cap;
typedef struct placed {
    int64_t id, total, member;
} placed;
static placed *recent;
static size_t recent_n, recent_cap;
static int order_seq, refund_seq, phone_seq;
static long n_orders, n_refunds, n_joins, n_optouts, n_merges, n_live, n_confirm, n_late, n_skip,
    n_gave_up, n_done, n_ticks;

static void grow_members(int64_t id)
{
    if (id < member_cap) return;
    int64_t cap = member_cap ? member_cap : 1024;
    while (cap <= id)
        cap *= 2;
    merged_at = realloc(merged_at, (size_t)cap * sizeof *merged_at);
    memset(merged_at + member_cap, 0, (size_t)(cap - member_cap) * sizeof *merged_at);
    absorbed_at = realloc(absorbed_at, (size_t)cap * sizeof *absorbed_at);
    memset(absorbed_at + member_cap, 0, (size_t)(cap - member_cap) * sizeof *absorbed_at);
    erased_at = realloc(erased_at, (size_t)cap * sizeof *erased_at);
    memset(erased_at + member_cap, 0, (size_t)(cap - member_cap) * sizeof *erased_at);
    member_cap = cap;
}

/* a live member (never merged away nor erased), drawn uniformly, or -1 */
static int64_t pick_member(void)
{
    for (int k = 0; k < 20; k++) {
        int64_t m = 1 + uniform(max_member);
        if (m < member_cap && !merged_at[m] && !erased_at[m]) return m;
    }
    return -1;
}

/* ---------------- what the chain's systems post ---------------- */

static void tick_once(int day, const char *instant);
static double tick_s, guide_s; /* wall time in ticks and in the guides' task lists */
static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void tick_until_quiet(int day, const char *instant)
{
    double t0 = now_s();
    tick_once(day, instant);
    tick_s += now_s() - t0;
}

static void tick_once(int day, const char *instant)
{
    for (int round = 0; round < 50; round++) {
        json_t *o;
        int st = call("POST", "/api/v1/journeys/tick", &o, NULL);
        n_ticks++;
        SEEN(CK_TICK);
        if (st != 200) {
            fail(CK_TICK, "day %d %s (%s): POST /journeys/tick answered %d: %.400s", day, instant,
                 T(atomic_load(&sim_now)), st, buf);
            json_decref(o);
            return;
        }
        int64_t adv = jint(o, "tick.advanced"), ev = jint(o, "tick.events"),
                out =
                    jint(o, "dispatch.sent") + jint(o, "dispatch.retry") + jint(o, "dispatch.dead");
        json_decref(o);
        if (adv < 5000 && ev < 5000 && out < 2000) return; /* under every per-tick limit */
    }
}

static void post_order(int64_t member, bool live)
{
    int lines = 1 + (int)uniform(3);
    char items[1024] = "";
    size_t len = 0;
    int64_t total = 0, first = uniform(300);
    for (int i = 0; i < lines; i++) {
        int sku = 1 + (int)((first + i * 97) % 300); /* distinct SKUs */
        int64_t price = 200 + 100 * uniform(60), qty = 1 + uniform(2);
        total += price * qty;
        len += (size_t)snprintf(items + len, sizeof items - len,
                                "%s{\"sku\":\"SKU%04d\",\"qty\":%lld,\"unit_price_cents\":%lld}",
                                i ? "," : "", sku, (long long)qty, (long long)price);
    }
    char who[64] = "";
    if (member > 0) snprintf(who, sizeof who, ",\"member_id\":%lld", (long long)member);
    int store = live ? 22 : 1 + (int)uniform(20);
    json_t *o;
    int st = call("POST", "/api/v1/orders", &o,
                  "{\"channel\":\"%s\",\"external_id\":\"MONTH-%d\",\"store_id\":%d%s,"
                  "\"placed_at\":\"%s\",\"total_cents\":%lld,\"items\":[%s]}",
                  live ? "live" : "store", ++order_seq, store, who, T(atomic_load(&sim_now)),
                  (long long)total, items);
    if (expect(st, 201, 201, "POST /orders", member)) {
        n_orders++;
        if (recent_n == recent_cap)
            recent =
                realloc(recent, (recent_cap = recent_cap ? 2 * recent_cap : 1024) * sizeof *recent);
        recent[recent_n++] = (placed){jint(o, "id"), total, member};
    }
    json_decref(o);
}

static void post_refund(void)
{
    if (!recent_n) return;
    size_t k = (size_t)uniform((int64_t)recent_n);
    placed p = recent[k];
    recent[k] = recent[--recent_n];
    if (p.member > 0 && p.member < member_cap && merged_at[p.member]) return;
    int64_t amount = chance(0.45) ? p.total : p.total / 3 + 1;
    char path[80];
    snprintf(path, sizeof path, "/api/v1/orders/%lld/refunds", (long long)p.id);
    int st = call("POST", path, NULL,
                  "{\"external_id\":\"MONTH-R%d\",\"amount_cents\":%lld,\"at\":\"%s\"}",
                  ++refund_seq, (long long)amount, T(atomic_load(&sim_now)));
    if (expect(st, 201, 200, "POST /orders/{id}/refunds", p.member)) n_refunds++;
}

static void post_event(int64_t member, const char *type, const char *props)
{
    int st = call("POST", "/api/v1/events", NULL,
                  "{\"member_id\":%lld,\"type\":\"%s\",\"at\":\"%s\"%s%s}", (long long)member, type,
                  T(atomic_load(&sim_now)), props ? ",\"props\":" : "", props ? props : "");
    expect(st, 201, 200, type, member);
}

/* the test's own guides, one per physical store, with a staff code (their WeCom userid) */
static int64_t my_guides[20];

/* A marketing consent given at the till for one channel (no chance() inside: the seeded
 * sequence of the month stays what it was). */
static void grant(int64_t member, const char *channel)
{
    char path[80];
    snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)member);
    int st = call("POST", path, NULL,
                  "{\"purpose\":\"marketing\",\"channel\":\"%s\",\"granted\":true,"
                  "\"source\":\"till\",\"text_version\":\"month-1\",\"at\":\"%s\"}",
                  channel, T(atomic_load(&sim_now)));
    expect(st, 200, 201, "POST /members/{id}/consents", member);
}

/* A new member at the till: phone, WeCom contact (most), a guide. */
static void join(void)
{
    int64_t guide = chance(0.8) ? my_guides[uniform(20)] : 21 + uniform(100);
    json_t *o;
    int seq = ++phone_seq;
    char wecom[48] = "";
    if (chance(0.8)) snprintf(wecom, sizeof wecom, ",\"wecom_external_id\":\"wmMONTH%07d\"", seq);
    int st = call("POST", "/api/v1/members", &o,
                  "{\"phone\":\"1990%07d\",\"name\":\"月测%d\",\"guide_id\":%lld%s,"
                  "\"channel\":\"store\",\"joined_at\":\"%s\"}",
                  seq, seq, (long long)guide, wecom, T(atomic_load(&sim_now)));
    if (!expect(st, 201, 200, "POST /members", 0)) {
        json_decref(o);
        return;
    }
    int64_t id = jint(o, "id");
    json_decref(o);
    if (st != 201) return; /* the phone was a demo member's: matched, not new */
    n_joins++;
    grow_members(id);
    if (id > max_member) max_member = id;
    if (chance(0.7)) post_event(id, "sms_opt_in", NULL);
    if (chance(0.6)) {
        post_event(id, "follow_public_account", NULL);
        grant(id, "wechat_template");
        grant(id, "public_account");
    }
    if (chance(0.8)) {
        post_event(id, "add_guide_contact", NULL);
        grant(id, "wecom");
    }
    if (chance(0.5)) post_order(id, false); /* 支付即会员: many join at the till */
}

static void opt_out_someone(void)
{
    /* someone who has been messaged recently is the one who opts out (read from the store
     * in id order, so the seed decides who) */
    int64_t m = -1;
    rq_stmt *s = q("SELECT member_id FROM messages ORDER BY id DESC LIMIT 1 OFFSET ?1");
    rq_bind_int(s, 1, uniform(300));
    if (rq_step(s) == RQ_ROW) m = rq_int(s, 0);
    rq_finalize(s);
    if (m <= 0 || chance(0.3)) m = pick_member();
    if (m <= 0 || m >= member_cap || merged_at[m] || erased_at[m]) return;
    const char *channel = chance(0.6) ? "sms" : "wechat_template";
    bool by_event = strcmp(channel, "sms") == 0 && chance(0.3);
    if (by_event) {
        post_event(m, "sms_opt_out", NULL);
    } else {
        char path[80];
        snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)m);
        int st = call("POST", path, NULL, "{\"channel\":\"%s\",\"opted_out\":true}", channel);
        if (!expect(st, 200, 201, "POST /members/{id}/consents", m)) return;
    }
    n_optouts++;
    if (opt_n == opt_cap)
        optv = realloc(optv, (opt_cap = opt_cap ? 2 * opt_cap : 256) * sizeof *optv);
    optv[opt_n] = (opt_out){.member = m, .at = atomic_load(&sim_now)};
    snprintf(optv[opt_n].channel, sizeof optv[opt_n].channel, "%s", channel);
    opt_n++;
}

static void merge_two(void)
{
    int64_t a = pick_member(), b = pick_member();
    if (a <= 0 || b <= 0 || a == b) return;
    char path[80];
    snprintf(path, sizeof path, "/api/v1/members/%lld/merge", (long long)a);
    int st = call("POST", path, NULL, "{\"from_member_id\":%lld}", (long long)b);
    if (expect(st, 200, 201, "POST /members/{id}/merge", b)) {
        merged_at[b] = atomic_load(&sim_now);
        absorbed_at[a] = merged_at[b];
        n_merges++;
    }
}

/* Guides look at their open tasks: wecom sends are confirmed at once (45%), late (25%, after
 * 16-23 hours — inside the 24-hour timeout), skipped (15%) or left to time out (15%); follow-ups
 * are done at once (50%), two days late (25%) or given up (skipped) after a week. */
static void guides_look(void);
static void guides_act(void)
{
    double t0 = now_s();
    guides_look();
    guide_s += now_s() - t0;
}
static void guides_look(void)
{
    int64_t now = atomic_load(&sim_now);
    char cursor[40] = "";
    for (int page = 0; page < 100; page++) {
        char path[160];
        snprintf(path, sizeof path, "/api/v1/tasks?state=open&limit=500%s%s",
                 cursor[0] ? "&cursor=" : "", cursor);
        json_t *o;
        int st = call("GET", path, &o, NULL);
        if (!expect(st, 200, 200, "GET /tasks", 0)) {
            json_decref(o);
            return;
        }
        json_t *items = json_object_get(o, "items"), *t;
        size_t i;
        json_array_foreach(items, i, t)
        {
            int64_t id = jint(t, "id"), member = jint(t, "member_id");
            const char *kind = json_string_value(json_object_get(t, "kind"));
            if (id <= 0 || !kind) continue;
            if (id >= task_cap) {
                int64_t cap = task_cap ? task_cap : 4096;
                while (cap <= id)
                    cap *= 2;
                task_seen = realloc(task_seen, (size_t)cap * sizeof *task_seen);
                memset(task_seen + task_cap, 0, (size_t)(cap - task_cap) * sizeof *task_seen);
                task_cap = cap;
            }
            bool first = task_seen[id] == 0;
            if (first) task_seen[id] = now;
            int64_t age = now - task_seen[id];
            int r = (int)(mix(seed, (uint64_t)id) % 100);
            const char *act = NULL;
            if (strcmp(kind, "wecom_send") == 0) {
                if (r < 45 && first)
                    act = "confirm";
                else if (r >= 45 && r < 70 && age >= 16 * 3600 && age < 23 * 3600)
                    act = "confirm", n_late++;
                else if (r >= 70 && r < 85 && first)
                    act = "skip";
            } else {
                if (r < 50 && first)
                    act = "done";
                else if (r >= 50 && r < 75 && age >= 2 * DAY)
                    act = "done";
                else if (r >= 75 && age >= 7 * DAY)
                    act = "skip"; /* given up after a week */
            }
            if (!act) continue;
            snprintf(path, sizeof path, "/api/v1/tasks/%lld/%s", (long long)id, act);
            int s2 = call("POST", path, NULL, NULL);
            expect(s2, 200, 200, path, member);
            if (act[0] == 'c')
                n_confirm++;
            else if (act[0] == 's' && strcmp(kind, "wecom_send") == 0)
                n_skip++;
            else if (act[0] == 's')
                n_gave_up++;
            else
                n_done++;
        }
        const char *next = json_string_value(json_object_get(o, "next_cursor"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        json_decref(o);
        if (!cursor[0]) break;
    }
}

/* members now waiting in a journey for their next order: a share of them will order */
static int64_t *waiting;
static size_t waiting_n;
static void read_waiting(void)
{
    free(waiting);
    waiting = NULL;
    waiting_n = 0;
    size_t cap = 0;
    rq_stmt *s = q("SELECT member_id FROM journey_runs WHERE state = 'active'"
                   " AND wait_event = 'order_paid'");
    while (rq_step(s) == RQ_ROW) {
        if (waiting_n == cap)
            waiting = realloc(waiting, (cap = cap ? 2 * cap : 256) * sizeof *waiting);
        waiting[waiting_n++] = rq_int(s, 0);
    }
    rq_finalize(s);
}

/* ---------------- setup ---------------- */

static int64_t lib_ids[16], join_j = -1, winback_j = -1, t_join_tpl, t_winback_tpl;
static int n_lib;
static char lib_keys[16][48];

static int64_t create_journey(const char *what, const char *def)
{
    json_t *o;
    int st = call("POST", "/api/v1/journeys", &o, "%s", def);
    if (st != 201) {
        fail(CK_DUE, "journey %s could not be saved: HTTP %d %.400s", what, st, buf);
        json_decref(o);
        return -1;
    }
    int64_t id = jint(o, "id");
    json_decref(o);
    char path[80];
    snprintf(path, sizeof path, "/api/v1/journeys/%lld/activate", (long long)id);
    st = call("POST", path, NULL, NULL);
    if (st != 200) {
        fail(CK_DUE, "journey %s (%lld) could not be activated: HTTP %d %.400s", what,
             (long long)id, st, buf);
        return -1;
    }
    return id;
}

static int64_t coupon_template(const char *json)
{
    json_t *o;
    int st = call("POST", "/api/v1/coupon-templates", &o, "%s", json);
    CHECK_INT_EQ(st, 201);
    int64_t id = jint(o, "id");
    json_decref(o);
    return id;
}

static void setup_journeys(void)
{
    /* every channel to the receiver; an SMS cap per month so that caps are exercised */
    static const char *channels[] = {"sms", "wechat_template", "wecom", "webhook"};
    for (int i = 0; i < 4; i++) {
        char path[64];
        snprintf(path, sizeof path, "/api/v1/channels/%s", channels[i]);
        CHECK_INT_EQ(
            call("PUT", path, NULL,
                 "{\"adapter\":\"webhook\",\"url\":\"http://127.0.0.1:%d/hook\",\"secret\":"
                 "\"" SECRET "\"}",
                 rx_port_),
            200);
    }
    CHECK_INT_EQ(call("PUT", "/api/v1/journeys/guardrails", NULL,
                      "{\"budget_max\":2,\"budget_window_days\":7,\"quiet_hours\":\"21:00-09:00\","
                      "\"stale_after_hours\":24,\"time_zone\":\"+08:00\","
                      "\"monthly_caps\":{\"wecom\":\"days_in_month\",\"sms\":%d}}",
                      SMS_CAP),
                 200);
    for (int i = 0; i < 20; i++) {
        json_t *o;
        CHECK_INT_EQ(call("POST", "/api/v1/staff", &o,
                          "{\"name\":\"月测导购%d\",\"role\":\"guide\",\"store_id\":%d,"
                          "\"code\":\"month-guide-%02d\"}",
                          i + 1, i + 1, i + 1),
                     201);
        my_guides[i] = jint(o, "id");
        json_decref(o);
    }
    t_join_tpl =
        coupon_template("{\"name\":\"月测新人券\",\"kind\":\"cash_off\",\"value_cents\":500,"
                        "\"valid_days\":14,\"per_member_limit\":1}");
    t_winback_tpl =
        coupon_template("{\"name\":\"月测回流券\",\"kind\":\"cash_off\",\"value_cents\":"
                        "800,\"valid_days\":10,\"per_member_limit\":3}");
    /* every ready-made journey, as the library defines it */
    json_t *lib;
    CHECK_INT_EQ(call("GET", "/api/v1/journey-library", &lib, NULL), 200);
    json_t *it;
    size_t i;
    json_array_foreach(json_object_get(lib, "items"), i, it)
    {
        const char *key = json_string_value(json_object_get(it, "key"));
        const char *name = json_string_value(json_object_get(it, "name"));
        if (!key || n_lib == 16) continue;
        char def[512];
        snprintf(def, sizeof def, "{\"from_library\":\"%s\",\"name\":\"%s（月测）\"}", key,
                 name ? name : key);
        snprintf(lib_keys[n_lib], sizeof lib_keys[n_lib], "%s", key);
        lib_ids[n_lib++] = create_journey(key, def);
    }
    json_decref(lib);
    CHECK(n_lib >= 5);
    /* join + 3/7/15/30 days, each wait timed from the trigger */
    char def[4096];
    snprintf(def, sizeof def,
             "{\"name\":\"月测入会 3/7/15/30\",\"trigger\":{\"event\":\"member_joined\"},"
             "\"holdout_pct\":0,\"reentry\":{\"policy\":\"once\"},\"steps\":["
             "{\"id\":\"d3\",\"action\":\"wait\",\"after_trigger\":\"3d\"},"
             "{\"id\":\"m3\",\"action\":\"send_message\",\"channel\":\"wecom\",\"fallback\":["
             "\"sms\"],\"timeout\":\"24h\",\"template\":\"{{member.name}}"
             "您好，欢迎加入{{store.name}}\"},"
             "{\"id\":\"d7\",\"action\":\"wait\",\"after_trigger\":\"7d\"},"
             "{\"id\":\"c7\",\"action\":\"issue_coupon\",\"template_id\":%lld},"
             "{\"id\":\"m7\",\"action\":\"send_message\",\"channel\":\"sms\","
             "\"template\":\"{{member.name}}，新人券 {{coupon.code}}\"},"
             "{\"id\":\"d15\",\"action\":\"wait\",\"after_trigger\":\"15d\"},"
             "{\"id\":\"t15\",\"action\":\"guide_task\",\"script\":\"回访{{member.name}}\","
             "\"due\":\"2d\"},"
             "{\"id\":\"d30\",\"action\":\"wait\",\"after_trigger\":\"30d\"},"
             "{\"id\":\"m30\",\"action\":\"send_message\",\"channel\":\"sms\",\"template\":"
             "\"{{member.name}}，您有{{points.balance}}积分\"}]}",
             (long long)t_join_tpl);
    join_j = create_journey("join 3/7/15/30", def);
    /* a win-back that waits for the member's next order */
    snprintf(def, sizeof def,
             "{\"name\":\"月测回流\",\"trigger\":{\"inactivity_days\":21},\"audience\":\"orders >= "
             "1\",\"holdout_pct\":0,\"reentry\":{\"policy\":\"cooldown\",\"days\":20},"
             "\"goal\":{\"event\":\"order_paid\",\"within_days\":10},\"steps\":["
             "{\"id\":\"c\",\"action\":\"issue_coupon\",\"template_id\":%lld},"
             "{\"id\":\"m\",\"action\":\"send_message\",\"channel\":\"sms\","
             "\"template\":\"{{member.name}}，回来看看 {{coupon.code}}\"},"
             "{\"id\":\"w\",\"action\":\"wait\",\"for_event\":\"order_paid\",\"timeout\":\"5d\"},"
             "{\"id\":\"b\",\"action\":\"branch\",\"if_goal\":true,\"goto\":\"end\"},"
             "{\"id\":\"t\",\"action\":\"guide_task\",\"script\":\"电话回访{{member.name}}\","
             "\"due\":\"2d\"},"
             "{\"id\":\"thanks\",\"action\":\"award_points\",\"points\":1},"
             "{\"id\":\"end\",\"action\":\"exit\"}]}",
             (long long)t_winback_tpl);
    winback_j = create_journey("win-back with wait for_event", def);
}

/* ---------------- the days ---------------- */

static const int instants[] = {30,      8 * 60 + 45,  10 * 60,     13 * 60 + 30,
                               17 * 60, 20 * 60 + 45, 22 * 60 + 15};
#define N_INSTANTS ((int)(sizeof instants / sizeof *instants))
#define SLACK (9 * 3600) /* longer than the longest gap between two ticks (00:30 → 08:45) */

/* The features that live through the month beside the chain's own traffic (month.h). */
static const month_participant *const participants[] = {
    &month_rights, &month_groups, &month_tasks, &month_fission, &month_staff,
};
#define N_PARTICIPANTS (sizeof participants / sizeof *participants)

static void kept_tally(void);

/* Stops the node cleanly and starts it again (see R above). */
static void restart_server(int day)
{
    SEEN(CK_RESTART);
    kept_tally();
    close(fd);
    kill(server_pid, SIGTERM);
    int status = 0;
    waitpid(server_pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail(CK_RESTART, "day %d: siyu serve exited with status %d at a clean stop", day, status);
    char snap[512];
    snprintf(snap, sizeof snap, "%s.views", db);
    bool embedded = strncmp(db, "postgres", 8) != 0; /* PostgreSQL: no snapshot unless given */
    if (embedded && access(snap, R_OK) != 0)
        fail(CK_RESTART, "day %d: no views snapshot at %s after a clean stop", day, snap);
    server_pid = start_server();
    fd = conn_open();
    /* serving from the snapshot, the node takes the file out of the directory */
    for (int i = 0; embedded && i < 250 && access(snap, F_OK) == 0; i++)
        usleep(20000);
    if (embedded && access(snap, F_OK) == 0)
        fail(CK_RESTART, "day %d: the node did not start from its views snapshot", day);
}

static void read_360s(void);
static void simulate(void)
{
    int64_t day0 = local_day(t_start);
    int orders_per_day = n_members / 60, joins_per_day = n_members / 300 + 1,
        views_per_day = n_members / 400 + 1, optouts_per_day = n_members / 2000 + 1,
        merges_per_day = n_members / 5000 + 1;
    for (int day = 0; day < n_days; day++) {
        read_waiting();
        read_360s(); /* kept now, read again at the day's end */
        for (int k = 0; k < N_INSTANTS; k++) {
            int minute = instants[k];
            int64_t now = (day0 + day) * DAY - LOCAL + minute * 60;
            if (now < t_start) continue;
            set_now(now);
            bool open = minute >= 8 * 60 && minute < 22 * 60, evening = minute >= 19 * 60;
            if (open) {
                int n = (int)(orders_per_day / 5 *
                              (0.7 + 0.6 * (double)(rnd() >> 11) / 9007199254740992.0));
                for (int i = 0; i < n; i++)
                    post_order(chance(0.7) ? pick_member() : 0, false);
                /* members waiting for their next order: a share of them come back */
                for (size_t i = 0; i < waiting_n; i++)
                    if (chance(0.03) && waiting[i] < member_cap && !merged_at[waiting[i]] &&
                        !erased_at[waiting[i]])
                        post_order(waiting[i], false);
                for (int i = 0; i < joins_per_day / 5 + (chance(0.5) ? 1 : 0); i++)
                    join();
                for (int i = 0; i < (int)(orders_per_day / 5 * 0.03) + 1; i++)
                    post_refund();
                if (minute < 19 * 60 && chance((double)merges_per_day / 4)) merge_two();
                if (minute >= 9 * 60 && minute < 21 * 60) guides_act();
            }
            if (evening || minute < 60) { /* the live room: evenings until 01:00 */
                for (int i = 0; i < views_per_day / 3 + 1; i++) {
                    int64_t m = pick_member();
                    if (m <= 0) continue;
                    post_event(m, "live_view", "{\"store_id\":22}");
                    n_live++;
                    if (chance(0.4)) post_order(m, true);
                }
            }
            for (int i = 0; i < optouts_per_day; i++)
                if (chance(1.0 / N_INSTANTS * 1.5)) opt_out_someone();
            for (size_t p = 0; p < N_PARTICIPANTS; p++)
                if (participants[p]->act) participants[p]->act(day, minute);
            char label[16];
            snprintf(label, sizeof label, "%02d:%02d", minute / 60, minute % 60);
            tick_until_quiet(day, label);
        }
        if (verbose)
            fprintf(stderr,
                    "day %d: %ld orders, %ld refunds, %ld joins, %ld live views, %ld opt-outs, "
                    "%ld merges, %zu messages received, %ld ticks\n",
                    day, n_orders, n_refunds, n_joins, n_live, n_optouts, n_merges, rx_n, n_ticks);
        read_360s();
        if (day == n_days / 2) restart_server(day);
    }
}

/* ---------------- V: kept member 360s ----------------
 * The server runs with SIYU_MEMBER_CACHE=verify: every 360 it answers from memory it also
 * renders from the store, and counts a difference as stale. A sample of members is read at
 * each day's start (kept then) and end (after the day's orders, refunds, merges, consents,
 * points and guides' work, and the clock's move); /metrics must count hits and no stale. */
static void read_360s(void)
{
    int step = n_members / 250 > 0 ? n_members / 250 : 1;
    for (int m = 1; m <= n_members; m += step) {
        char path[64];
        snprintf(path, sizeof path, "/api/v1/members/%d", m);
        int st = call("GET", path, NULL, NULL);
        if (st != 200 && st != 404) /* 404: merged away */
            fail(CK_HTTP, "GET %s at %s: HTTP %d: %.300s", path, T(atomic_load(&sim_now)), st, buf);
    }
}

/* The node's counts so far, added up before each stop (a restart starts them again). */
static long long kept_hits, kept_stale;
static void kept_tally(void)
{
    int st = call("GET", "/metrics", NULL, NULL);
    long long stale = harness_metric(buf, "siyu_member_cache_stale_total"),
              hits = harness_metric(buf, "siyu_member_cache_total{result=\"hit\"}");
    if (st != 200 || stale < 0 || hits < 0) {
        fail(CK_KEPT, "GET /metrics %d: no member cache counts: %.300s", st, buf);
        return;
    }
    kept_hits += hits;
    kept_stale += stale;
}

static void check_kept(void)
{
    SEEN(CK_KEPT);
    kept_tally();
    fprintf(stderr, "kept 360s: %lld hits, %lld stale\n", kept_hits, kept_stale);
    if (kept_stale != 0 || kept_hits <= 0)
        fail(CK_KEPT, "%lld kept 360s served, %lld of them stale", kept_hits, kept_stale);
}

/* ---------------- D: every due step ran ---------------- */

static const char *jname(int64_t j)
{
    static char b[4][128];
    static int k;
    char *o = b[k++ & 3];
    rq_stmt *s = q("SELECT name FROM journeys WHERE id = ?1");
    rq_bind_int(s, 1, j);
    snprintf(o, 128, "%lld %s", (long long)j,
             rq_step(s) == RQ_ROW ? (const char *)rq_text(s, 0) : "?");
    rq_finalize(s);
    return o;
}

static void exec(const char *sql)
{
    rq_exec(sql);
}

static void check_due(int64_t final_now)
{
    /* the journey log by run, in the reader's own temporary tables (the store is opened
     * read-only and is not touched) */
    exec(
        "CREATE TEMP TABLE jl AS SELECT id, journey_id, run_id, step, at, outcome FROM journey_log;"
        "CREATE INDEX temp.jl_run ON jl(run_id, id);"
        "CREATE TEMP TABLE survivors AS SELECT DISTINCT into_id AS id FROM merges;"
        "CREATE INDEX temp.survivors_id ON survivors(id);");
    /* no active run of an active journey is past its timer */
    rq_stmt *s = q("SELECT r.id, r.journey_id, r.member_id, r.step, r.next_at, r.wait_event"
                   " FROM journey_runs r JOIN journeys j ON j.id = r.journey_id"
                   " WHERE r.state = 'active' AND j.state = 'active' AND r.next_at <= ?1"
                   " ORDER BY r.next_at");
    rq_bind_int(s, 1, final_now);
    while (rq_step(s) == RQ_ROW) {
        SEEN(CK_DUE);
        fail(CK_DUE,
             "journey %s, member %lld, run %lld: step '%s' was due at %s (wait '%s') and had not "
             "run by %s",
             jname(rq_int(s, 1)), (long long)rq_int(s, 2), (long long)rq_int(s, 0),
             (const char *)rq_text(s, 3), T(rq_int(s, 4)),
             rq_text(s, 5) ? (const char *)rq_text(s, 5) : "", T(final_now));
    }
    rq_finalize(s);

    /* a run waiting for an order moves on when the order comes: none still waits after one
     * (members into whom someone was merged are left out: orders moved onto them) */
    s = q("WITH w AS (SELECT run_id, max(at) AS start FROM jl GROUP BY run_id)"
          " SELECT r.id, r.journey_id, r.member_id, r.step, w.start,"
          "  (SELECT min(o.placed_at) FROM orders o WHERE o.member_id = r.member_id"
          "   AND o.placed_at > w.start)"
          " FROM journey_runs r JOIN w ON w.run_id = r.id"
          " WHERE r.state = 'active' AND r.wait_event = 'order_paid'"
          "  AND r.member_id NOT IN (SELECT id FROM survivors)");
    while (rq_step(s) == RQ_ROW) {
        SEEN(CK_DUE);
        if (rq_null(s, 5)) continue;
        fail(CK_DUE,
             "journey %s, member %lld, run %lld: still waits at '%s' (since %s) for an order, "
             "though the member ordered at %s",
             jname(rq_int(s, 1)), (long long)rq_int(s, 2), (long long)rq_int(s, 0),
             (const char *)rq_text(s, 3), T(rq_int(s, 4)), T(rq_int(s, 5)));
    }
    rq_finalize(s);

    /* ... and never times out past one */
    s = q("SELECT l.run_id, l.journey_id, r.member_id, l.step, l.at,"
          "  (SELECT max(p.at) FROM jl p WHERE p.run_id = l.run_id AND p.id < l.id)"
          "  AS start FROM jl l JOIN journey_runs r ON r.id = l.run_id"
          " WHERE l.outcome = 'timeout' AND r.member_id NOT IN (SELECT id FROM survivors)");
    rq_stmt *o = q("SELECT min(placed_at) FROM orders WHERE member_id = ?1 AND placed_at > ?2"
                   " AND placed_at < ?3");
    while (rq_step(s) == RQ_ROW) {
        SEEN(CK_DUE);
        rq_reset(o);
        rq_bind_int(o, 1, rq_int(s, 2));
        rq_bind_int(o, 2, rq_int(s, 5));
        rq_bind_int(o, 3, rq_int(s, 4));
        if (rq_step(o) == RQ_ROW && !rq_null(o, 0))
            fail(CK_DUE,
                 "journey %s, member %lld, run %lld: the wait '%s' (from %s) timed out at %s, "
                 "though the member ordered at %s",
                 jname(rq_int(s, 1)), (long long)rq_int(s, 2), (long long)rq_int(s, 0),
                 (const char *)rq_text(s, 3), T(rq_int(s, 5)), T(rq_int(s, 4)), T(rq_int(o, 0)));
    }
    rq_finalize(o);
    rq_finalize(s);

    /* every member who joined after activation (and was not merged away) entered each
     * member_joined journey */
    for (int i = -1; i < n_lib; i++) {
        int64_t j = i < 0 ? join_j : lib_ids[i];
        if (j <= 0) continue;
        rq_stmt *t = q("SELECT json_extract(spec, '$.trigger.event') FROM journeys WHERE id = ?1");
        rq_bind_int(t, 1, j);
        bool joined = rq_step(t) == RQ_ROW && rq_text(t, 0) &&
                      strcmp((const char *)rq_text(t, 0), "member_joined") == 0;
        rq_finalize(t);
        if (!joined) continue;
        s = q("SELECT m.id, m.joined_at FROM members m WHERE m.joined_at >= ?1"
              " AND m.merged_into IS NULL AND NOT EXISTS (SELECT 1 FROM journey_runs r"
              " WHERE r.journey_id = ?2 AND r.member_id = m.id) ORDER BY m.id");
        rq_bind_int(s, 1, t_start);
        rq_bind_int(s, 2, j);
        long missing = 0;
        while (rq_step(s) == RQ_ROW) {
            missing++;
            fail(CK_DUE, "journey %s: member %lld joined at %s (day %lld) and never entered",
                 jname(j), (long long)rq_int(s, 0), T(rq_int(s, 1)),
                 (long long)(local_day(rq_int(s, 1)) - local_day(t_start)));
        }
        rq_finalize(s);
        int64_t want =
            q1("SELECT count(*) FROM members WHERE joined_at >= ?1 AND merged_into IS NULL",
               t_start, 0);
        SEEN(CK_DUE);
        if (missing)
            fail(CK_DUE,
                 "journey %s: %ld of %lld members who joined after activation never entered",
                 jname(j), missing, (long long)want);
    }

    /* birthday journeys: each member whose birthday is N days after a simulated day entered
     * on that day, once (members into whom someone was merged are left out: a merge may fill
     * their birthday) */
    for (int i = 0; i < n_lib; i++) {
        int64_t j = lib_ids[i];
        if (j <= 0) continue;
        rq_stmt *t = q("SELECT json_extract(spec, '$.trigger.date'),"
                       " json_extract(spec, '$.trigger.days_before') FROM journeys WHERE id = ?1");
        rq_bind_int(t, 1, j);
        bool bday = rq_step(t) == RQ_ROW && rq_text(t, 0) &&
                    strcmp((const char *)rq_text(t, 0), "birthday") == 0;
        int before = bday ? (int)rq_int(t, 1) : 0;
        rq_finalize(t);
        if (!bday) continue;
        int32_t first = (int32_t)local_day(t_start), last = first + n_days; /* and the final noon */
        long expected = 0, entered = 0;
        s = q(
            "SELECT m.id, m.birthday, (SELECT min(r.entered_at) FROM journey_runs r"
            "  WHERE r.journey_id = ?1 AND r.member_id = m.id),"
            " (SELECT count(*) FROM journey_runs r WHERE r.journey_id = ?1 AND r.member_id = m.id)"
            " FROM members m WHERE m.birthday IS NOT NULL AND m.merged_into IS NULL"
            " AND m.id NOT IN (SELECT id FROM survivors) AND m.joined_at < ?2");
        rq_bind_int(s, 1, j);
        rq_bind_int(s, 2, t_start);
        while (rq_step(s) == RQ_ROW) {
            int64_t m = rq_int(s, 0);
            int by, bm, bd;
            date_civil((int32_t)rq_int(s, 1), &by, &bm, &bd);
            int32_t due = -1;
            for (int32_t d = first; d <= last && due < 0; d++) {
                int y, mo, dd;
                date_civil(d + before, &y, &mo, &dd);
                if (mo == bm && dd == bd) due = d;
            }
            bool has = !rq_null(s, 2);
            int64_t at = has ? rq_int(s, 2) : 0, runs = rq_int(s, 3);
            SEEN(CK_DUE);
            if (due >= 0) {
                expected++;
                if (!has)
                    fail(CK_DUE,
                         "journey %s: member %lld (birthday %02d-%02d) should have entered on %s",
                         jname(j), (long long)m, bm, bd, T(due * (int64_t)DAY - LOCAL + 43200));
                else if (local_day(at) != due)
                    fail(CK_DUE,
                         "journey %s: member %lld (birthday %02d-%02d) entered at %s, expected on "
                         "%s",
                         jname(j), (long long)m, bm, bd, T(at),
                         T(due * (int64_t)DAY - LOCAL + 43200));
                else
                    entered++;
                if (runs > 1)
                    fail(CK_DUE, "journey %s: member %lld entered %lld times", jname(j),
                         (long long)m, (long long)runs);
            } else if (has) {
                fail(CK_DUE,
                     "journey %s: member %lld (birthday %02d-%02d) entered at %s, not %d days "
                     "before",
                     jname(j), (long long)m, bm, bd, T(at), before);
            }
        }
        rq_finalize(s);
        fprintf(stderr,
                "  birthday journey %s: %ld members due to enter, %ld entered on their day\n",
                jname(j), expected, entered);
    }

    /* the trigger-timed series: step k of each run runs between trigger + N_k days and the
     * tick after (entered_at + N_k + SLACK); every run whose step is due by the end has it */
    if (join_j <= 0) return;
    static const struct {
        const char *step;
        int days;
    } due[] = {{"m3", 3}, {"c7", 7}, {"t15", 15}, {"m30", 30}};
    enum { ND = 4 };
    int64_t max_run = q1("SELECT max(id) FROM journey_runs", 0, 0);
    if (max_run <= 0) max_run = 1;
    int64_t(*first)[ND] = calloc((size_t)max_run + 1, sizeof *first);
    s = q("SELECT run_id, step, min(at) FROM journey_log WHERE journey_id = ?1 GROUP BY run_id, "
          "step");
    rq_bind_int(s, 1, join_j);
    while (rq_step(s) == RQ_ROW) {
        int64_t run = rq_int(s, 0);
        for (int k = 0; k < ND; k++)
            if (run <= max_run && strcmp((const char *)rq_text(s, 1), due[k].step) == 0)
                first[run][k] = rq_int(s, 2);
    }
    rq_finalize(s);
    long expected[ND] = {0}, ran[ND] = {0}, on_time[ND] = {0};
    /* A run follows its member through a merge, so the join that triggered it may be the
     * merged-away member's: the earliest join among the survivor and those merged into it
     * bounds the step from below. */
    s = q(month_on_pg()
              ? "SELECT r.id, r.member_id, least(m.joined_at, coalesce((SELECT min(f.joined_at)"
                " FROM members f WHERE f.merged_into = m.id), m.joined_at)), r.entered_at,"
                " CASE WHEN r.state = 'exited' THEN r.ended_at END"
                " FROM journey_runs r JOIN members m ON m.id = r.member_id WHERE r.journey_id = ?1"
                " ORDER BY r.id"
              : "SELECT r.id, r.member_id, min(m.joined_at, coalesce((SELECT min(f.joined_at)"
                " FROM members f WHERE f.merged_into = m.id), m.joined_at)), r.entered_at,"
                " CASE WHEN r.state = 'exited' THEN r.ended_at END"
                " FROM journey_runs r JOIN members m ON m.id = r.member_id WHERE r.journey_id = ?1"
                " ORDER BY r.id");
    rq_bind_int(s, 1, join_j);
    while (rq_step(s) == RQ_ROW) {
        int64_t run = rq_int(s, 0), member = rq_int(s, 1), joined = rq_int(s, 2),
                entered = rq_int(s, 3), exited = rq_int(s, 4);
        for (int k = 0; k < ND; k++) {
            int64_t lo = joined + due[k].days * DAY, hi = entered + due[k].days * DAY + SLACK;
            if (hi > final_now) continue;
            /* a run that ended early (a merge into a member already on the journey ends the
             * merged-away member's run) owes no step due after its end — due from its own
             * entry, which a merge may put later than the survivor's earliest join; an
             * erasure at the very instant the step fell due, before the tick, ends it too */
            if (exited &&
                exited <= (lo > entered + due[k].days * DAY ? lo : entered + due[k].days * DAY) &&
                !(run <= max_run && first[run][k]))
                continue;
            expected[k]++;
            int64_t at = run <= max_run ? first[run][k] : 0;
            SEEN(CK_DUE);
            if (!at) {
                fail(CK_DUE,
                     "journey %s, member %lld (joined %s), run %lld: step '%s' (day %d) was due "
                     "by %s and never ran",
                     jname(join_j), (long long)member, T(joined), (long long)run, due[k].step,
                     due[k].days, T(hi));
                continue;
            }
            ran[k]++;
            if (at < lo || at > hi)
                fail(CK_DUE,
                     "journey %s, member %lld (joined %s), run %lld: step '%s' (day %d after the "
                     "trigger) ran at %s, expected between %s and %s (%+.1f h off)",
                     jname(join_j), (long long)member, T(joined), (long long)run, due[k].step,
                     due[k].days, T(at), T(lo), T(hi),
                     (double)(at < lo ? at - lo : at - hi) / 3600.0);
            else
                on_time[k]++;
        }
    }
    rq_finalize(s);
    free(first);
    for (int k = 0; k < ND; k++) {
        fprintf(stderr, "  join series step %-4s (day %2d): due %ld, ran %ld, on time %ld\n",
                due[k].step, due[k].days, expected[k], ran[k], on_time[k]);
        if (ran[k] != expected[k] || on_time[k] != expected[k])
            fail(CK_DUE, "journey %s step '%s': %ld runs due by the end, %ld ran, %ld on time",
                 jname(join_j), due[k].step, expected[k], ran[k], on_time[k]);
    }
}

/* ---------------- S: reports = the journey log; C: no coupon step failed ---------------- */

static void check_reports(void)
{
    rq_stmt *js = q("SELECT id FROM journeys WHERE state = 'active' ORDER BY id");
    while (rq_step(js) == RQ_ROW) {
        int64_t j = rq_int(js, 0);
        char path[80];
        snprintf(path, sizeof path, "/api/v1/journeys/%lld/report", (long long)j);
        json_t *r;
        int st = call("GET", path, &r, NULL);
        SEEN(CK_STEPS);
        if (st != 200) {
            fail(CK_STEPS, "journey %s: report answered %d: %.200s", jname(j), st, buf);
            json_decref(r);
            continue;
        }
        int64_t runs = q1("SELECT count(*) FROM journey_runs WHERE journey_id = ?1", j, 0);
        if (jint(r, "entered.total") != runs)
            fail(CK_STEPS, "journey %s: report entered.total %lld, journey_runs %lld", jname(j),
                 (long long)jint(r, "entered.total"), (long long)runs);
        json_t *steps = json_object_get(r, "steps"), *step;
        size_t i;
        json_array_foreach(steps, i, step)
        {
            const char *id = json_string_value(json_object_get(step, "id"));
            json_t *outs = json_object_get(step, "outcomes");
            if (!id) continue;
            /* every outcome of the log appears in the report with its count ... */
            rq_stmt *s = q("SELECT outcome, count(*) FROM journey_log WHERE journey_id = ?1"
                           " AND step = ?2 GROUP BY outcome");
            rq_bind_int(s, 1, j);
            rq_bind_text(s, 2, id);
            int64_t logged_total = 0;
            while (rq_step(s) == RQ_ROW) {
                const char *oc = (const char *)rq_text(s, 0);
                int64_t n = rq_int(s, 1);
                logged_total += n;
                json_t *v = json_object_get(outs, oc);
                int64_t got = json_is_integer(v) ? json_integer_value(v) : 0;
                SEEN(CK_STEPS);
                if (got != n)
                    fail(CK_STEPS,
                         "journey %s step '%s' outcome '%s': report %lld, journey log %lld",
                         jname(j), id, oc, (long long)got, (long long)n);
                SEEN(CK_COUPON);
                if (strcmp(oc, "coupon_failed") == 0 || strcmp(oc, "points_failed") == 0) {
                    char who[256] = "";
                    size_t wl = 0;
                    rq_stmt *w = q("SELECT r.member_id, l.at, m.merged_into FROM journey_log l"
                                   " JOIN journey_runs r ON r.id = l.run_id"
                                   " JOIN members m ON m.id = r.member_id"
                                   " WHERE l.journey_id = ?1 AND l.step = ?2 AND l.outcome = ?3"
                                   " ORDER BY l.id LIMIT 3");
                    rq_bind_int(w, 1, j);
                    rq_bind_text(w, 2, id);
                    rq_bind_text(w, 3, oc);
                    while (rq_step(w) == RQ_ROW && wl < sizeof who - 80)
                        wl += (size_t)snprintf(who + wl, sizeof who - wl, "%smember %lld at %s%s",
                                               wl ? "; " : "", (long long)rq_int(w, 0),
                                               T(rq_int(w, 1)),
                                               rq_null(w, 2) ? "" : " (merged away)");
                    rq_finalize(w);
                    fail(CK_COUPON, "journey %s step '%s': %lld runs ended the step with '%s' (%s)",
                         jname(j), id, (long long)n, oc, who);
                }
            }
            rq_finalize(s);
            /* ... and nothing more */
            const char *oc;
            json_t *v;
            int64_t reported = 0;
            json_object_foreach(outs, oc, v) reported +=
                json_is_integer(v) ? json_integer_value(v) : 0;
            if (reported != logged_total)
                fail(CK_STEPS, "journey %s step '%s': report counts %lld outcomes, the log %lld",
                     jname(j), id, (long long)reported, (long long)logged_total);
        }
        json_decref(r);
    }
    rq_finalize(js);
}

/* ---------------- M: messages ---------------- */

typedef struct sent {
    int64_t member, at, id, journey;
    char channel[24];
} sent;
static int cmp_sent(const void *a, const void *b)
{
    const sent *x = a, *y = b;
    if (x->member != y->member) return x->member < y->member ? -1 : 1;
    return (x->at > y->at) - (x->at < y->at);
}
static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void check_messages(void)
{
    SEEN(CK_MSG);
    if (atomic_load(&bad_signatures) || atomic_load(&bad_bodies))
        fail(CK_MSG, "%ld messages with a bad signature, %ld unreadable bodies",
             atomic_load(&bad_signatures), atomic_load(&bad_bodies));
    /* every message the store says was sent reached the receiver exactly once */
    int64_t *ids = malloc((rx_n + 1) * sizeof *ids);
    for (size_t i = 0; i < rx_n; i++)
        ids[i] = rxv[i].id;
    qsort(ids, rx_n, sizeof *ids, cmp_i64);
    for (size_t i = 1; i < rx_n; i++)
        if (ids[i] == ids[i - 1])
            fail(CK_MSG, "message %lld reached the receiver twice", (long long)ids[i]);
    rq_stmt *s = q("SELECT id, member_id, channel FROM messages WHERE channel != 'wecom'"
                   " AND status IN ('sent', 'delivered', 'read')");
    long stored = 0;
    while (rq_step(s) == RQ_ROW) {
        stored++;
        int64_t id = rq_int(s, 0);
        if (!bsearch(&id, ids, rx_n, sizeof *ids, cmp_i64))
            fail(CK_MSG,
                 "message %lld to member %lld on %s is 'sent' in the store but never "
                 "reached the receiver",
                 (long long)id, (long long)rq_int(s, 1), (const char *)rq_text(s, 2));
    }
    rq_finalize(s);
    free(ids);
    /* what went out: the receiver's log, plus the wecom messages guides were asked to send
     * (at the instant siyu handed them over) */
    size_t n = 0, cap = rx_n + 1024;
    sent *v = malloc(cap * sizeof *v);
    rq_stmt *jq = q("SELECT journey_id FROM messages WHERE id = ?1");
    for (size_t i = 0; i < rx_n; i++) {
        if (!rxv[i].journey) { /* the body did not say: the store does */
            rq_reset(jq);
            rq_bind_int(jq, 1, rxv[i].id);
            if (rq_step(jq) == RQ_ROW) rxv[i].journey = rq_int(jq, 0);
        }
        v[n] = (sent){rxv[i].member, rxv[i].at, rxv[i].id, rxv[i].journey, ""};
        snprintf(v[n].channel, sizeof v[n].channel, "%s", rxv[i].channel);
        n++;
        SEEN(CK_MSG);
        if (!rxv[i].has_to)
            fail(CK_MSG,
                 "message %lld to member %lld on %s (journey %s) carries no recipient ('to')",
                 (long long)rxv[i].id, (long long)rxv[i].member, rxv[i].channel,
                 jname(rxv[i].journey));
    }
    rq_finalize(jq);
    s = q("SELECT member_id, created_at, id, journey_id FROM messages WHERE channel = 'wecom'"
          " AND status IN ('sent', 'delivered', 'read')");
    while (rq_step(s) == RQ_ROW) {
        if (n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
        v[n] = (sent){rq_int(s, 0), rq_int(s, 1), rq_int(s, 2), rq_int(s, 3), "wecom"};
        n++;
    }
    rq_finalize(s);
    qsort(v, n, sizeof *v, cmp_sent);
    rq_stmt *consent_q = q("SELECT granted FROM consent_history WHERE member_id = ?1"
                           " AND purpose = 'marketing' AND channel = ?2 AND at <= ?3"
                           " ORDER BY at DESC, id DESC LIMIT 1");
    for (size_t i = 0; i < n; i++) {
        sent *m = &v[i];
        SEEN(CK_MSG);
        if (in_quiet(m->at))
            fail(CK_MSG,
                 "quiet hours: message %lld to member %lld on %s (journey %s) went out at %s",
                 (long long)m->id, (long long)m->member, m->channel, jname(m->journey), T(m->at));
        for (size_t k = 0; k < opt_n; k++)
            if (optv[k].member == m->member && strcmp(optv[k].channel, m->channel) == 0 &&
                optv[k].at < m->at)
                fail(CK_MSG,
                     "opt-out: member %lld opted out of %s at %s (day %lld), yet message %lld "
                     "(journey %s) reached them at %s",
                     (long long)m->member, m->channel, T(optv[k].at),
                     (long long)(local_day(optv[k].at) - local_day(t_start)), (long long)m->id,
                     jname(m->journey), T(m->at));
        if (m->member < member_cap && erased_at[m->member] && erased_at[m->member] < m->at)
            fail(CK_MSG,
                 "erasure: member %lld was erased at %s, yet message %lld (journey %s) "
                 "reached them at %s",
                 (long long)m->member, T(erased_at[m->member]), (long long)m->id, jname(m->journey),
                 T(m->at));
        if (m->member < member_cap && merged_at[m->member] && merged_at[m->member] < m->at)
            fail(CK_MSG,
                 "merge: member %lld was merged away at %s, yet message %lld (journey %s) "
                 "reached them at %s",
                 (long long)m->member, T(merged_at[m->member]), (long long)m->id, jname(m->journey),
                 T(m->at));
        /* marketing consent: the member's latest consent for the channel, at or before the
         * send, was a grant (issue 21: no consent, no marketing). A merged-away member's
         * history moved to its survivor, so only messages after a merge into the member, to
         * a member never merged away, are judged. An erased member's consents were erased
         * with them: their messages before the erasure are judged by the log above only. */
        if (strcmp(m->channel, "webhook") != 0 &&
            !(m->member < member_cap && merged_at[m->member]) &&
            !(m->member < member_cap && erased_at[m->member]) &&
            !(m->member < member_cap && absorbed_at[m->member] &&
              m->at <= absorbed_at[m->member])) {
            SEEN(CK_MSG);
            rq_bind_int(consent_q, 1, m->member);
            rq_bind_text(consent_q, 2, m->channel);
            rq_bind_int(consent_q, 3, m->at);
            int granted = rq_step(consent_q) == RQ_ROW ? (int)rq_int(consent_q, 0) : -1;
            rq_reset(consent_q);
            if (granted != 1)
                fail(CK_MSG,
                     "consent: message %lld to member %lld on %s (journey %s) at %s, when the "
                     "member's marketing consent for it was %s",
                     (long long)m->id, (long long)m->member, m->channel, jname(m->journey),
                     T(m->at), granted == 0 ? "withdrawn" : "never given");
        }
        /* the frequency budget: at most 2 in any 7 days, across journeys and channels */
        /* A merge brings the merged-away member's messages along: a window whose messages
         * all went out before the merge was two people's, each within its own budget. */
        bool before_merge =
            m->member < member_cap && absorbed_at[m->member] && m->at <= absorbed_at[m->member];
        if (i >= 2 && v[i - 2].member == m->member && m->at - v[i - 2].at < 7 * DAY &&
            !before_merge)
            fail(CK_MSG,
                 "budget: member %lld got 3 messages within 7 days: %lld at %s (%s, journey %s), "
                 "%lld at %s (%s, journey %s), %lld at %s (%s, journey %s)",
                 (long long)m->member, (long long)v[i - 2].id, T(v[i - 2].at), v[i - 2].channel,
                 jname(v[i - 2].journey), (long long)v[i - 1].id, T(v[i - 1].at), v[i - 1].channel,
                 jname(v[i - 1].journey), (long long)m->id, T(m->at), m->channel,
                 jname(m->journey));
        /* the monthly caps: SMS as set, wecom as many as the month has days */
        int month = local_month(m->at);
        int sms = 0, wecom = 0;
        for (size_t k = i + 1; k-- > 0 && v[k].member == m->member;)
            if (local_month(v[k].at) == month) {
                sms += strcmp(v[k].channel, "sms") == 0;
                wecom += strcmp(v[k].channel, "wecom") == 0;
            }
        if (strcmp(m->channel, "sms") == 0 && sms > SMS_CAP)
            fail(CK_MSG,
                 "cap: member %lld got SMS number %d of the month at %s (cap %d; message %lld)",
                 (long long)m->member, sms, T(m->at), SMS_CAP, (long long)m->id);
        if (strcmp(m->channel, "wecom") == 0 && wecom > days_in_month(month))
            fail(CK_MSG, "cap: member %lld got wecom message number %d of the month at %s",
                 (long long)m->member, wecom, T(m->at));
    }
    fprintf(stderr,
            "  messages: %zu received by the webhook, %ld sent in the store (not wecom), "
            "%zu sends checked\n",
            rx_n, stored, n);
    rq_finalize(consent_q);
    free(v);
}

/* ---------------- C: coupons within limits ---------------- */

static void check_coupons(void)
{
    /* what each member received of each template within each period of its limit (local
     * calendar; a template without per_member_period counts over the member's lifetime) */
    rq_stmt *s = q(
        month_on_pg()
            ? "WITH t AS (SELECT id, name, (spec::jsonb #>> '{per_member_limit}')::bigint AS lim,"
              "  coalesce(spec::jsonb #>> '{per_member_period}', 'lifetime') AS per"
              "  FROM coupon_templates"
              "  WHERE coalesce((spec::jsonb #>> '{per_member_limit}')::bigint, 0) > 0)"
              " SELECT e.member_id, t.id, t.name, t.lim, t.per,"
              "  CASE t.per WHEN 'day' THEN to_char(to_timestamp(e.at + 28800) AT TIME ZONE 'UTC',"
              "   'YYYY-MM-DD') WHEN 'month' THEN to_char(to_timestamp(e.at + 28800) AT TIME ZONE"
              "   'UTC', 'YYYY-MM') WHEN 'year' THEN to_char(to_timestamp(e.at + 28800) AT TIME "
              "ZONE"
              "   'UTC', 'YYYY') ELSE 'lifetime' END AS p,"
              "  count(*), max(e.at)"
              " FROM coupon_events e JOIN coupons c ON c.id = e.coupon_id"
              " JOIN t ON t.id = c.template_id"
              " WHERE e.kind IN ('issued', 'received') AND e.member_id IS NOT NULL"
              " GROUP BY e.member_id, t.id, t.name, t.lim, t.per, p HAVING count(*) > t.lim"
            : "WITH t AS (SELECT id, name, json_extract(spec, '$.per_member_limit') AS lim,"
              "  coalesce(json_extract(spec, '$.per_member_period'), 'lifetime') AS per"
              "  FROM coupon_templates WHERE json_extract(spec, '$.per_member_limit') > 0)"
              " SELECT e.member_id, t.id, t.name, t.lim, t.per,"
              "  CASE t.per WHEN 'day' THEN date(e.at + 28800, 'unixepoch')"
              "   WHEN 'month' THEN strftime('%Y-%m', e.at + 28800, 'unixepoch')"
              "   WHEN 'year' THEN strftime('%Y', e.at + 28800, 'unixepoch') ELSE 'lifetime' END "
              "AS p,"
              "  count(*), max(e.at)"
              " FROM coupon_events e JOIN coupons c ON c.id = e.coupon_id JOIN t ON t.id = "
              "c.template_id"
              " WHERE e.kind IN ('issued', 'received') AND e.member_id IS NOT NULL"
              " GROUP BY e.member_id, t.id, p HAVING count(*) > t.lim");
    while (rq_step(s) == RQ_ROW)
        fail(CK_COUPON,
             "member %lld received %lld coupons of template %lld (%s) in %s (the last at %s); "
             "limit %lld per %s",
             (long long)rq_int(s, 0), (long long)rq_int(s, 6), (long long)rq_int(s, 1),
             (const char *)rq_text(s, 2), (const char *)rq_text(s, 5), T(rq_int(s, 7)),
             (long long)rq_int(s, 3), (const char *)rq_text(s, 4));
    rq_finalize(s);
    s = q("SELECT t.id, t.name, t.issued, t.stock, (SELECT count(*) FROM coupons c"
          " WHERE c.template_id = t.id) FROM coupon_templates t");
    while (rq_step(s) == RQ_ROW) {
        SEEN(CK_COUPON);
        int64_t issued = rq_int(s, 2), count = rq_int(s, 4);
        if (issued != count)
            fail(CK_COUPON, "template %lld (%s): issued %lld, coupons %lld",
                 (long long)rq_int(s, 0), (const char *)rq_text(s, 1), (long long)issued,
                 (long long)count);
        if (!rq_null(s, 3) && count > rq_int(s, 3))
            fail(CK_COUPON, "template %lld (%s): %lld coupons over a stock of %lld",
                 (long long)rq_int(s, 0), (const char *)rq_text(s, 1), (long long)count,
                 (long long)rq_int(s, 3));
    }
    rq_finalize(s);
    fprintf(stderr, "  coupons issued during the run: %lld\n",
            (long long)q1("SELECT count(*) FROM coupons WHERE issued_at >= ?1", t_start, 0));
}

/* ---------------- K: the KPIs equal plain SQL ---------------- */

/* orders of local days [d0, d1] with their refunds, in plain SQL (metrics.md) */
#define KPI_CTE                                                                                    \
    "WITH o AS (SELECT o.id, o.member_id, o.total_cents AS total,"                                 \
    "  (o.placed_at + 28800) / 86400 AS day,"                                                      \
    "  coalesce((SELECT sum(amount_cents) FROM refunds r WHERE r.order_id = o.id), 0) AS rf"       \
    "  FROM orders o WHERE o.placed_at >= ?1 * 86400 - 28800"                                      \
    "  AND o.placed_at < (?2 + 1) * 86400 - 28800),"                                               \
    " v AS (SELECT * FROM o WHERE NOT (rf > 0 AND rf >= total)) "

static void kpi_eq(const char *what, const char *field, int64_t api, int64_t sql)
{
    SEEN(CK_KPI);
    if (api != sql)
        fail(CK_KPI, "%s %s: report %lld, SQL %lld", what, field, (long long)api, (long long)sql);
}

static void check_kpis(int32_t d0, int32_t d1)
{
    char from[16], to[16], path[160];
    int y, m, d;
    date_civil(d0, &y, &m, &d);
    snprintf(from, sizeof from, "%04d-%02d-%02d", y, m, d);
    date_civil(d1, &y, &m, &d);
    snprintf(to, sizeof to, "%04d-%02d-%02d", y, m, d);
    snprintf(path, sizeof path, "/api/v1/reports/kpi?from=%s&to=%s&granularity=week", from, to);
    json_t *r;
    int st = call("GET", path, &r, NULL);
    SEEN(CK_KPI);
    if (st != 200) {
        fail(CK_KPI, "GET %s answered %d: %.200s", path, st, buf);
        json_decref(r);
        return;
    }
    rq_stmt *s =
        q(KPI_CTE "SELECT (SELECT count(*) FROM v), (SELECT count(*) FROM v WHERE member_id"
                  " IS NOT NULL), (SELECT coalesce(sum(total), 0) FROM o),"
                  " (SELECT coalesce(sum(rf), 0) FROM o),"
                  " (SELECT coalesce(sum(total - rf), 0) FROM o WHERE member_id IS NOT NULL),"
                  " (SELECT count(DISTINCT member_id) FROM v),"
                  " (SELECT count(*) FROM (SELECT member_id FROM v WHERE member_id IS NOT NULL"
                  "   GROUP BY member_id HAVING count(*) >= 2) r),"
                  " (SELECT count(*) FROM (SELECT DISTINCT member_id, day FROM v"
                  "   WHERE member_id IS NOT NULL) d),"
                  " (SELECT coalesce(sum(i.qty), 0) FROM v JOIN order_items i"
                  "   ON i.order_id = v.id),"
                  " (SELECT count(*) FROM o WHERE rf > 0)");
    rq_bind_int(s, 1, d0);
    rq_bind_int(s, 2, d1);
    CHECK(rq_step(s) == RQ_ROW);
    int64_t orders = rq_int(s, 0), member_orders = rq_int(s, 1), gross = rq_int(s, 2),
            refunded = rq_int(s, 3), member_net = rq_int(s, 4), active = rq_int(s, 5),
            repeat = rq_int(s, 6), visit_days = rq_int(s, 7), items = rq_int(s, 8),
            refunded_orders = rq_int(s, 9);
    rq_finalize(s);
    int64_t net = gross - refunded;
    kpi_eq(from, "orders", jint(r, "current.orders"), orders);
    kpi_eq(from, "member_orders", jint(r, "current.member_orders"), member_orders);
    kpi_eq(from, "non_member_orders", jint(r, "current.non_member_orders"), orders - member_orders);
    kpi_eq(from, "refunded_orders", jint(r, "current.refunded_orders"), refunded_orders);
    kpi_eq(from, "gross_sales_cents", jint(r, "current.gross_sales_cents"), gross);
    kpi_eq(from, "refunded_cents", jint(r, "current.refunded_cents"), refunded);
    kpi_eq(from, "net_sales_cents", jint(r, "current.net_sales_cents"), net);
    kpi_eq(from, "member_net_sales_cents", jint(r, "current.member_net_sales_cents"), member_net);
    kpi_eq(from, "items", jint(r, "current.items"), items);
    kpi_eq(from, "active_members", jint(r, "current.active_members"), active);
    kpi_eq(from, "repeat_buyers", jint(r, "current.repeat_buyers"), repeat);
    kpi_eq(from, "visit_days", jint(r, "current.visit_days"), visit_days);
    /* the member side: who had joined by the last day, and who joined within the period
     * (a merged-away member exists nowhere) */
    kpi_eq(from, "members", jint(r, "current.members"),
           q1("SELECT count(*) FROM members WHERE merged_into IS NULL"
              " AND joined_at < (?1 + 1) * 86400 - 28800",
              d1, 0));
    kpi_eq(from, "new_members", jint(r, "current.new_members"),
           q1("SELECT count(*) FROM members WHERE merged_into IS NULL"
              " AND joined_at >= ?1 * 86400 - 28800 AND joined_at < (?2 + 1) * 86400 - 28800",
              d0, d1));
    /* 客单价: net / orders, to the nearest fen, halves away from zero */
    int64_t avg = orders ? (2 * net + (net >= 0 ? orders : -orders)) / (2 * orders) : -999;
    kpi_eq(from, "avg_ticket_cents", orders ? jint(r, "current.avg_ticket_cents") : -999, avg);
    struct {
        const char *field;
        double want;
        bool defined;
    } ratios[] = {
        {"current.member_ratio_orders", orders ? (double)member_orders / (double)orders : 0,
         orders > 0},
        {"current.member_ratio_sales", net ? (double)member_net / (double)net : 0, net != 0},
        {"current.repurchase_rate", active ? (double)repeat / (double)active : 0, active > 0},
        {"current.attachment_rate", orders ? (double)items / (double)orders : 0, orders > 0},
        {"current.purchase_frequency", active ? (double)member_orders / (double)active : 0,
         active > 0},
    };
    for (size_t i = 0; i < sizeof ratios / sizeof *ratios; i++) {
        json_t *v = jget(r, ratios[i].field);
        SEEN(CK_KPI);
        if (!ratios[i].defined
                ? !json_is_null(v)
                : !json_is_number(v) || fabs(json_number_value(v) - ratios[i].want) > 1e-9)
            fail(CK_KPI, "%s %s: report %s, SQL %.9f", from, ratios[i].field,
                 json_is_number(v) ? "a number" : "not a number", ratios[i].want);
        if (ratios[i].defined && json_is_number(v) &&
            fabs(json_number_value(v) - ratios[i].want) > 1e-9)
            fprintf(stderr, "    (%s: report %.9f)\n", ratios[i].field, json_number_value(v));
    }
    /* each weekly bucket: orders, active members and repeat buyers within it */
    json_t *b;
    size_t i;
    json_array_foreach(json_object_get(r, "series"), i, b)
    {
        int32_t b0, b1;
        const char *f = json_string_value(json_object_get(b, "from"));
        const char *t = json_string_value(json_object_get(b, "to"));
        if (!f || !t || date_parse(f, &b0) || date_parse(t, &b1)) {
            fail(CK_KPI, "series bucket %zu has no from/to", i);
            continue;
        }
        s = q(KPI_CTE "SELECT (SELECT count(*) FROM v), (SELECT count(DISTINCT member_id) FROM v),"
                      " (SELECT count(*) FROM (SELECT member_id FROM v WHERE member_id IS NOT NULL"
                      "   GROUP BY member_id HAVING count(*) >= 2) r)");
        rq_bind_int(s, 1, b0);
        rq_bind_int(s, 2, b1);
        rq_step(s);
        char what[64];
        snprintf(what, sizeof what, "series %s..%s", f, t);
        kpi_eq(what, "orders", jint(b, "orders"), rq_int(s, 0));
        kpi_eq(what, "active_members", jint(b, "active_members"), rq_int(s, 1));
        kpi_eq(what, "repeat_buyers", jint(b, "repeat_buyers"), rq_int(s, 2));
        rq_finalize(s);
    }
    fprintf(stderr,
            "  KPIs %s..%s: %lld orders (%lld member), net %lld fen, %lld active, %lld repeat\n",
            from, to, (long long)orders, (long long)member_orders, (long long)net,
            (long long)active, (long long)repeat);
    json_decref(r);
}

/* ---------------- main ---------------- */

/* ---------------- the participants' services (month.h) ---------------- */

const char *month_siyu(void)
{
    return siyu;
}
const char *month_db(void)
{
    return db;
}
const char *month_dir(void)
{
    return dir;
}
const char *month_token(void)
{
    return token;
}
bool month_on_pg(void)
{
    return harness_on_pg();
}
int month_members(void)
{
    return n_members;
}
int month_days(void)
{
    return n_days;
}
int64_t month_now(void)
{
    return atomic_load(&sim_now);
}
int64_t month_start(void)
{
    return t_start;
}
const char *month_T(int64_t t)
{
    return T(t);
}
int64_t month_local_day(int64_t t)
{
    return local_day(t);
}

int month_call(const char *method, const char *path, json_t **out, const char *fmt, ...)
{
    char req[sizeof body];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(req, sizeof req, fmt, ap);
        va_end(ap);
    }
    return fmt ? call(method, path, out, "%s", req) : call(method, path, out, NULL);
}
const char *month_body(void)
{
    return buf;
}
int month_conn(void)
{
    return conn_open();
}
int month_call_on(int conn, const char *tok, const char *method, const char *path, const char *req,
                  char *resp, size_t cap)
{
    return request_hdr(conn, tok, method, path, NULL, req, resp, cap);
}
void month_conn_close(int conn)
{
    close(conn);
}
int month_run(const char *cmd, char *out, size_t cap)
{
    return run(cmd, out, cap);
}

int month_check_kind(const char *name)
{
    for (int k = 0; k < ck_n; k++)
        if (strcmp(ck_name[k], name) == 0) return k;
    if (ck_n == CK_MAX) {
        fprintf(stderr, "too many check lines (CK_MAX)\n");
        exit(2);
    }
    ck_name[ck_n] = name;
    return ck_n++;
}
void month_seen(int kind)
{
    ck_seen[kind]++;
}
void month_fail(int kind, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fail(kind, "%s", msg);
}
bool month_expect(int status, int want1, int want2, const char *what, int64_t member)
{
    return expect(status, want1, want2, what, member);
}

int64_t month_pick_member(void)
{
    return pick_member();
}
void month_member_added(int64_t id)
{
    grow_members(id);
    if (id > max_member) max_member = id;
}
void month_member_erased(int64_t id, int64_t at)
{
    grow_members(id);
    erased_at[id] = at;
}
int64_t month_erased_at(int64_t id)
{
    return id > 0 && id < member_cap ? erased_at[id] : 0;
}
int64_t month_q1(const char *sql, int64_t a, int64_t b)
{
    return q1(sql, a, b);
}

void month_rng_init(month_rng *r, const char *name)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a of the name */
    for (const char *c = name; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211ULL;
    r->state = mix(seed, h);
}
uint64_t month_rnd(month_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
int64_t month_uniform(month_rng *r, int64_t n)
{
    return n > 0 ? (int64_t)(month_rnd(r) % (uint64_t)n) : 0;
}
bool month_chance(month_rng *r, double p)
{
    return (double)(month_rnd(r) >> 11) / 9007199254740992.0 < p;
}
json_t *month_jget(json_t *o, const char *path)
{
    return jget(o, path);
}
int64_t month_jint(json_t *o, const char *path)
{
    return jint(o, path);
}

static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

static double seconds(struct timespec a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_chain_month PATH_TO_SIYU\n");
        return 2;
    }
    if (sodium_init() < 0) return 1;
    siyu = argv[1];
    n_members = env_int("SIYU_MONTH_MEMBERS", 20000);
    n_days = env_int("SIYU_MONTH_DAYS", 60);
    seed = (uint64_t)env_int("SIYU_MONTH_SEED", 1);
    verbose = env_int("SIYU_MONTH_VERBOSE", 0) != 0;
    rng_state = mix(seed, 14);
    buf = malloc(BUFCAP);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    /* the receiver */
    webhook_rx wrx;
    CHECK(webhook_rx_start(&wrx, SECRET, on_webhook, NULL) == 0);
    rx_port_ = wrx.port;

    /* the chain: its history ends the day before the month starts */
    snprintf(dir, sizeof dir, "/tmp/siyu-month-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    harness_store("chain.db"); /* dir/chain.db, or a fresh PostgreSQL database (SIYU_TEST_DB) */
    snprintf(clock_path, sizeof clock_path, "%s/now", dir);
    time_parse_rfc3339("2026-03-02T08:00:00+08:00", &t_start);
    set_now(t_start - 3600);
    setenv("SIYU_NOW_FILE", clock_path, 1);
    setenv("SIYU_TICK_SECONDS", "0", 1);
    setenv("SIYU_SWEEP_SECONDS", "0", 1);
    setenv("SIYU_SYNC", "normal", 1); /* durability is test_kill9's; this test is about a month */
    setenv("SIYU_MEMBER_CACHE", "verify", 1); /* every kept 360 checked (check_kept) */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s demo --db %s --members %d --seed %llu --no-serve >/dev/null",
             siyu, db, n_members, (unsigned long long)seed);
    if (run(cmd, NULL, 0)) {
        fprintf(stderr, "siyu demo failed\n");
        return 1;
    }
    snprintf(cmd, sizeof cmd, "%s token create --db %s --role admin", siyu, db);
    if (run(cmd, token, sizeof token)) return 1;
    rdb_open();
    max_member = q1("SELECT max(id) FROM members", 0, 0);
    grow_members(max_member);
    fprintf(stderr, "chain of %lld members built in %.1f s\n", (long long)max_member, seconds(t0));
    server_pid = start_server();
    fd = conn_open();
    set_now(t_start);
    setup_journeys();
    for (size_t p = 0; p < N_PARTICIPANTS; p++)
        if (participants[p]->setup) participants[p]->setup();

    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    simulate();
    /* the day after: noon, and everything due by then has been ticked */
    int64_t final_now = (local_day(t_start) + n_days) * DAY - LOCAL + 12 * 3600;
    set_now(final_now);
    tick_until_quiet(n_days, "12:00");
    double sim_s = seconds(t1);
    fprintf(stderr,
            "%d days in %.1f s: %ld orders, %ld refunds, %ld joins, %ld live views, %ld opt-outs, "
            "%ld merges; guides confirmed %ld wecom sends (%ld late), skipped %ld, closed %ld "
            "follow-ups and gave up %ld; %ld ticks (%.1f s); %zu messages received; guides' task "
            "lists %.1f s\n",
            n_days, sim_s, n_orders, n_refunds, n_joins, n_live, n_optouts, n_merges, n_confirm,
            n_late, n_skip, n_done, n_gave_up, n_ticks, tick_s, rx_n, guide_s);

    /* readiness: the scheduler, the outbox and the sweep say how they are */
    SEEN(CK_TICK);
    int st = call("GET", "/readyz", NULL, NULL);
    if (st != 200) fail(CK_TICK, "GET /readyz answered %d after the month: %.300s", st, buf);

    struct timespec t2;
    clock_gettime(CLOCK_MONOTONIC, &t2);
    check_due(final_now);
    check_reports();
    check_messages();
    check_coupons();
    check_kpis((int32_t)local_day(t_start), (int32_t)(local_day(t_start) + n_days - 1));
    check_kept();
    for (size_t p = 0; p < N_PARTICIPANTS; p++)
        if (participants[p]->check) participants[p]->check();
    fprintf(stderr, "checks in %.1f s\n", seconds(t2));

    close(fd);
    kill(server_pid, SIGTERM);
    int status = 0;
    waitpid(server_pid, &status, 0);
    int exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    SEEN(CK_STOP);
    if (exit_status != 0)
        fail(CK_STOP,
             "siyu serve exited %d after SIGTERM (under the sanitizers: their report is above)",
             exit_status);
    rq_close();
    webhook_rx_stop(&wrx);

    /* siyu check, on the store as the month left it */
    snprintf(cmd, sizeof cmd, "%s check --db %s 2>&1", siyu, db);
    char out[4096] = "";
    FILE *p = popen(cmd, "r");
    size_t got = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[got] = 0;
    int rc = p ? pclose(p) : -1;
    SEEN(CK_CHECK);
    if (rc != 0) fail(CK_CHECK, "siyu check --db exited %d: %s", WEXITSTATUS(rc), out);
    for (size_t k = 0; k < N_PARTICIPANTS; k++)
        if (participants[k]->check_stopped) participants[k]->check_stopped();

    fprintf(stderr, "month: %d members, %d days, %.1f s in all\n", n_members, n_days, seconds(t0));
    for (int k = 0; k < ck_n; k++)
        fprintf(stderr, "  %-48s %s (%ld checked, %ld failed)\n", ck_name[k],
                ck_fail[k] ? "FAIL" : "ok", ck_seen[k], ck_fail[k]);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (env_int("SIYU_MONTH_KEEP", 0))
        fprintf(stderr, "the store is kept in %s\n", db);
    else {
        if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
        harness_store_drop();
    }
    free(buf);
    return CHECK_DONE();
}
