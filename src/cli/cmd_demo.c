/* cmd_demo.c — siyu gen (the demo chain as NDJSON files) and siyu demo (generate,
 * load and serve it in one go, printing a token a newcomer can paste into curl). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "cli/demo.h"
#include "fission/games.h"
#include "gen/gen.h"
#include "journey/journey.h"
#include "loyalty/loyalty.h"

int cli_import_file(store_t *st, const char *kind, const char *path, const char *format, int batch,
                    const char *rejects_path, bool quiet);

static int read_gen_options(const char *cmd, const char *members_s, const char *seed_s,
                            const char *until_s, gen_options *o)
{
    gen_options_init(o);
    o->until_day = time_local_day(clock_now());
    if (members_s) {
        char *end;
        long n = strtol(members_s, &end, 10);
        if (*end || n < 1 || n > 100000000)
            return cli_fail(cmd, EXIT_USAGE, "--members: expected 1 to 100000000");
        o->members = n;
    }
    if (seed_s) {
        char *end;
        unsigned long long s = strtoull(seed_s, &end, 10);
        if (*end) return cli_fail(cmd, EXIT_USAGE, "--seed: expected a number");
        o->seed = s;
    }
    if (until_s && date_parse(until_s, &o->until_day))
        return cli_fail(cmd, EXIT_USAGE, "--until: expected YYYY-MM-DD");
    return 0;
}

static void gen_progress(void *ctx, const char *phase, double fraction)
{
    (void)ctx;
    if (isatty(STDERR_FILENO)) fprintf(stderr, "\rgenerating %-10s %3.0f%%", phase, fraction * 100);
}

int cmd_gen(int argc, char **argv)
{
    const char *out = NULL, *members = NULL, *seed = NULL, *until = NULL;
    cli_opt opts[] = {
        {"--out", true, &out, NULL, "DIR  where the NDJSON files go (required)"},
        {"--members", true, &members, NULL, "N  members in the chain (default: 100000)"},
        {"--seed", true, &seed, NULL,
         "S  random seed, the same chain for the same seed (default: 1)"},
        {"--until", true, &until, NULL,
         "DATE  last day of the generated history, YYYY-MM-DD (default: today)"},
        {0}};
    int rc = cli_parse("gen", argc, argv, 2, opts, NULL, 0, NULL);
    if (rc) return rc;
    if (!out) return cli_fail("gen", EXIT_USAGE, "--out DIR is required");
    gen_options o;
    if ((rc = read_gen_options("gen", members, seed, until, &o))) return rc;
    char err[256];
    if (gen_write_dir(&o, out, err, sizeof err, gen_progress, NULL))
        return cli_fail("gen", 1, "%s", err);
    if (isatty(STDERR_FILENO)) fputc('\n', stderr);
    printf("siyu: wrote the demo chain (%ld members, seed %llu) to %s\n", o.members,
           (unsigned long long)o.seed, out);
    return 0;
}

static int64_t count(store_t *st, store_query q)
{
    store_conn *c;
    siyu_err e;
    siyu_err_init(&e);
    if (store_conn_open(st, &c, &e)) return -1;
    store_stmt *s = store_q(c, q);
    int64_t n = store_step(s) == STORE_ROW ? store_col_int(s, 0) : -1;
    store_reset(s);
    store_conn_close(c);
    return n;
}

static int remove_dir(const char *dir)
{
    static const char *const files[] = {"brands", "stores", "staff", "members", "orders", "events"};
    char path[4096];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s.ndjson", dir, files[i]);
        unlink(path);
    }
    return rmdir(dir);
}

/* The demo chain's loyalty programme and journeys, as an HQ operator would set them
 * over the API: a three-tier ladder on net spend (members are placed on it from their
 * history), points per yuan, the coupons the ready-made journeys issue (each limited per
 * member per period to fit its journey), a friends' coupon, and the ready-made journeys as drafts
 * (nothing is sent until someone activates one and binds a channel). */
static int demo_programme(store_t *st, siyu_err *e)
{
    static const struct {
        int (*fn)(dom *, json_t *, json_t **, siyu_err *);
        const char *body;
    } steps[] = {
        {loyalty_settings_put,
         "{\"points_expiry\":{\"mode\":\"end_of_next_year\"},\"pending_days\":7,"
         "\"redeem_points_per_yuan\":100,\"referral\":{\"referrer_points\":200}}"},
        {loyalty_tiers_put,
         "{\"tiers\":[{\"code\":\"normal\",\"name\":\"普通会员\"},"
         "{\"code\":\"silver\",\"name\":\"银卡\",\"qualify\":{\"metric\":\"net_spend\","
         "\"min\":100000},\"multiplier\":1.2,\"discount_pct\":3,\"benefits\":[\"生日双倍积分\"]},"
         "{\"code\":\"gold\",\"name\":\"金卡\",\"qualify\":{\"metric\":\"net_spend\","
         "\"min\":500000},\"multiplier\":1.5,\"discount_pct\":5,\"benefits\":[\"生日双倍积分\","
         "\"专属导购\",\"免费配送\"]}],\"review\":{\"schedule\":\"anniversary\",\"grace_days\":30}"
         "}"},
        {loyalty_rules_create, "{\"name\":\"基础积分\",\"points_per_yuan\":1}"},
        {loyalty_rules_create,
         "{\"name\":\"生鲜生日双倍\",\"points_per_yuan\":1,\"categories\":[\"生鲜\"],"
         "\"birthday_multiplier\":2}"},
        {journeys_create, "{\"from_library\":\"new_member_series\"}"},
        {journeys_create, "{\"from_library\":\"birthday_coupon\"}"},
        {journeys_create, "{\"from_library\":\"post_payment_coupon\"}"},
        {journeys_create, "{\"from_library\":\"winback_30d\"}"},
        {journeys_create, "{\"from_library\":\"post_live_72h\"}"},
    };
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    dom d = {.conn = c, .now = clock_now()};
    d.who.role = ROLE_ADMIN;
    int rc = store_begin(c, true, e);
    /* the coupon templates the ready-made journeys name (ids 1 to 6), each with a
     * per-member limit that fits its journey; 2 is the friends' coupon */
    for (int i = 0; i < journey_library_coupon_count && rc == 0; i++) {
        const char *spec = journey_library_coupons[i]
                               ? journey_library_coupons[i]
                               : "{\"name\":\"好友6折券\",\"kind\":\"percent_off\",\"percent\":40,"
                                 "\"max_off_cents\":3000,\"valid_days\":14,\"shareable\":true,"
                                 "\"restore_on_refund\":true}";
        json_t *body = json_loads(spec, 0, NULL), *out = NULL;
        rc = coupon_templates_create(&d, body, &out, e) < 0 ? -1 : 0;
        json_decref(body);
        json_decref(out);
    }
    for (size_t i = 0; i < sizeof steps / sizeof *steps && rc == 0; i++) {
        json_t *body = json_loads(steps[i].body, 0, NULL), *out = NULL;
        rc = steps[i].fn(&d, body, &out, e) < 0 ? -1 : 0;
        json_decref(body);
        json_decref(out);
    }
    if (rc == 0)
        rc = store_commit(c, e);
    else
        store_rollback(c);
    store_conn_close(c);
    return rc;
}

int demo_settle(store_conn *c, int r, siyu_err *sub, siyu_err *e)
{
    int rc = 0;
    if (r < 0) {
        store_savepoint_undo(c);
        rc = sub->code == SIYU_INTERNAL ? siyu_err_set(e, sub->code, NULL, "%s", sub->message) : 1;
    } else {
        store_savepoint_release(c);
    }
    siyu_err_clear(sub);
    return rc;
}

/* The demo chain's games: a lucky wheel open for 30 days from now (its own coupon, points,
 * a gift, each with stock and cost within a budget) played once
 * by each of the first 300 members, and a red envelope grabbed by the first 40. Each play
 * is its own savepoint, so a member the rules refuse (a merged one's cap) is skipped. */
static int demo_games(store_t *st, siyu_err *e)
{
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    dom d = {.conn = c, .now = clock_now()};
    d.who.role = ROLE_ADMIN;
    char starts[40], ends[40], body[1024];
    time_format_rfc3339(d.now - 60, starts, sizeof starts);
    time_format_rfc3339(d.now + 30 * 86400, ends, sizeof ends);
    static const char envelope[] =
        "{\"kind\":\"red_envelope\",\"name\":\"开业红包\",\"rules\":{\"total_cents\":100000,"
        "\"packets\":50,\"min_cents\":100,\"max_cents\":8000}}";
    int rc = store_begin(c, true, e);
    /* the wheel's own coupon, so the journeys' templates and their per-member limits are
     * left to the journeys */
    int64_t tpl = 0;
    if (rc == 0) {
        json_t *t = json_loads("{\"name\":\"转盘满50减10\",\"kind\":\"cash_off\",\"value_cents\":"
                               "1000,\"min_spend_cents\":5000,\"valid_days\":30,\"stock\":100}",
                               0, NULL),
               *out = NULL;
        rc = coupon_templates_create(&d, t, &out, e) < 0 ? -1 : 0;
        tpl = json_integer_value(json_object_get(out, "id"));
        json_decref(t);
        json_decref(out);
    }
    snprintf(
        body, sizeof body,
        "{\"kind\":\"wheel\",\"name\":\"幸运大转盘\",\"starts_at\":\"%s\",\"ends_at\":\"%s\","
        "\"rules\":{\"plays_per_member_per_day\":1,\"plays_per_member\":3,"
        "\"budget_cents\":500000,\"prizes\":[{\"name\":\"满50减10\",\"coupon_template_id\":%lld,"
        "\"odds\":0.05,\"stock\":100,\"cost_cents\":1000},{\"name\":\"20积分\",\"points\":20,"
        "\"odds\":0.30,\"stock\":null,\"cost_cents\":20},{\"name\":\"环保袋\",\"gift\":"
        "\"tote-bag\",\"odds\":0.02,\"stock\":10,\"cost_cents\":1500}]}}",
        starts, ends, (long long)tpl);
    int64_t ids[2] = {0, 0};
    const char *specs[2] = {body, envelope};
    for (int k = 0; k < 2 && rc == 0; k++) {
        json_t *b = json_loads(specs[k], 0, NULL), *out = NULL;
        rc = games_campaign_create(&d, b, &out, e) < 0 ? -1 : 0;
        ids[k] = json_integer_value(json_object_get(out, "id"));
        json_decref(b);
        json_decref(out);
    }
    int64_t members = count(st, Q_COUNT_MEMBERS);
    for (int64_t m = 1; m <= members && m <= 300 && rc == 0; m++) {
        for (int k = 0; k < 2 && rc == 0; k++) {
            if (k == 1 && m > 40) break;
            char req[128];
            snprintf(req, sizeof req, "{\"member_id\":%lld,\"%s\":\"demo-%lld\"}", (long long)m,
                     k ? "grab_id" : "play_id", (long long)m);
            json_t *b = json_loads(req, 0, NULL), *out = NULL;
            siyu_err sub;
            siyu_err_init(&sub);
            if ((rc = store_savepoint(c, e)) == 0)
                rc = demo_settle(c,
                                 k ? games_grab(&d, ids[1], b, &out, &sub)
                                   : games_play(&d, ids[0], b, &out, &sub),
                                 &sub, e) < 0
                         ? -1
                         : 0;
            json_decref(b);
            json_decref(out);
        }
    }
    if (rc == 0)
        rc = store_commit(c, e);
    else
        store_rollback(c);
    store_conn_close(c);
    return rc;
}

int cmd_demo(int argc, char **argv)
{
    const char *db = NULL, *members = NULL, *seed = NULL, *listen = NULL, *threads_s = NULL,
               *log = NULL;
    bool no_serve = false;
    cli_opt opts[] = {
        {"--db", true, &db, NULL,
         "PATH  the demo store (default: $SIYU_DB, else a new one in a temporary directory)"},
        {"--members", true, &members, NULL, "N  members in the chain (default: 100000)"},
        {"--seed", true, &seed, NULL,
         "S  random seed, the same chain for the same seed (default: 1)"},
        {"--listen", true, &listen, NULL,
         "ADDR  where to serve (default: $SIYU_LISTEN, else 127.0.0.1:8080)"},
        {"--threads", true, &threads_s, NULL, "N  HTTP worker threads (default: one per core)"},
        {"--access-log", true, &log, NULL,
         "FILE|-|off  one line per request; - is stderr (default: off)"},
        {"--no-serve", false, NULL, &no_serve,
         "build the store and exit without serving (default: serve)"},
        {0}};
    int rc = cli_parse("demo", argc, argv, 2, opts, NULL, 0, NULL);
    if (rc) return rc;
    gen_options o;
    if ((rc = read_gen_options("demo", members, seed, NULL, &o))) return rc;
    db = cli_db(db);
    if (!db) db = "siyu-demo.db";
    if (!listen) listen = getenv("SIYU_LISTEN");
    store_t *st;
    if ((rc = cli_open_store("demo", db, true, &st))) return rc;
    if (count(st, Q_COUNT_MEMBERS) > 0) {
        printf("siyu: %s already holds a chain; serving it as it is\n", db);
    } else {
        /* Generate beside the store (a database URL: in the temporary directory), load
         * through the importer, clean up. */
        char dir[4096];
        const char *tmp = getenv("TMPDIR");
        if (strstr(db, "://"))
            snprintf(dir, sizeof dir, "%s/siyu-demo.gen-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        else
            snprintf(dir, sizeof dir, "%s.gen-XXXXXX", db);
        if (!mkdtemp(dir)) {
            store_close(st);
            return cli_fail("demo", 1, "cannot create a directory beside %s", db);
        }
        char err[256];
        uint64_t t0 = clock_mono_ns();
        printf("siyu: generating a demo chain of %ld members (seed %llu)...\n", o.members,
               (unsigned long long)o.seed);
        fflush(stdout);
        if (gen_write_dir(&o, dir, err, sizeof err, gen_progress, NULL)) {
            remove_dir(dir);
            store_close(st);
            return cli_fail("demo", 1, "%s", err);
        }
        if (isatty(STDERR_FILENO)) fputc('\n', stderr);
        static const char *const kinds[] = {"brands",  "stores", "staff",
                                            "members", "orders", "events"};
        /* the demo store is rebuilt from scratch if interrupted, so batch generously */
        for (size_t i = 0; i < sizeof kinds / sizeof *kinds && rc == 0; i++) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%s.ndjson", dir, kinds[i]);
            rc = cli_import_file(st, kinds[i], path, "ndjson", 20000, NULL, false);
        }
        remove_dir(dir);
        if (rc) {
            store_close(st);
            return rc;
        }
        siyu_err pe;
        siyu_err_init(&pe);
        /* what the demo adds to the generated history, in order: one line a feature */
        static const struct {
            const char *what;
            int (*fn)(store_t *, siyu_err *);
        } steps[] = {
            {"loyalty and journeys", demo_programme},
            {"games", demo_games},
            {"members' rights", demo_rights},
            {"console logins", demo_console},
            {"communities", demo_groups},
            {"task campaigns and content", demo_tasks},
            {"fission", demo_fission},
            {"guides, QR codes and transfers", demo_guides},
            {"mass messages", demo_mass},
        };
        size_t k = 0;
        while (k < sizeof steps / sizeof *steps && steps[k].fn(st, &pe) == 0)
            k++;
        if (k < sizeof steps / sizeof *steps) {
            store_close(st);
            rc = cli_fail("demo", 1, "%s: %s", steps[k].what, pe.message);
            siyu_err_clear(&pe);
            return rc;
        }
        printf("siyu: demo chain ready in %.1f s: %lld members, %lld orders in %s\n",
               (double)(clock_mono_ns() - t0) / 1e9, (long long)count(st, Q_COUNT_MEMBERS),
               (long long)count(st, Q_COUNT_ORDERS), db);
    }
    /* A fresh admin token every run: only hashes are stored, so an old one cannot be shown. */
    store_conn *c;
    siyu_err e;
    siyu_err_init(&e);
    char token[AUTH_TOKEN_LEN + 1] = "";
    if (store_conn_open(st, &c, &e) == 0) {
        if (store_begin(c, true, &e) ||
            auth_token_create(c, ROLE_ADMIN, 0, "demo", clock_now(), token, &e) ||
            store_commit(c, &e))
            store_rollback(c);
        store_conn_close(c);
    }
    if (!token[0]) {
        store_close(st);
        return cli_fail("demo", 1, "%s", e.message);
    }
    printf("siyu: console: sign in as admin, operator, manager or guide with the password %s\n",
           DEMO_CONSOLE_PASSWORD);
    if (no_serve) {
        printf("siyu: admin token: %s\n", token);
        store_close(st);
        return 0;
    }
    rc = cli_serve_until_signal(st, listen, threads_s ? atoi(threads_s) : 0, log ? log : "off",
                                token);
    store_close(st);
    return rc;
}
