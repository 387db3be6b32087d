/* test_generated.c — live aggregates == recomputed from the store == plain SQL.
 *
 * A small deterministic generator writes a chain through the domain calls — members
 * (some joining at the till), orders in every channel with items and discounts,
 * full and partial refunds (with and without lines), reachability and live_view
 * events, profile moves and merges — feeding the live reports object after every
 * commit (chain.h). Then every report, for several slices, must be byte-for-byte the
 * same as from a fresh reports_load(), and the main KPIs and the per-store
 * leaderboard must equal the pure-SQL reference (sqlref.h). */
#include <check.h>

#include "chain.h"
#include "sqlref.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

#define NSTORES 4
static const char *const store_channel[NSTORES + 1][3] = {{NULL},
                                                          {"store", "store", "store"},
                                                          {"mall", "miniprogram", "mall"},
                                                          {"live", "live", "live"},
                                                          {"store", "third_party", "store"}};
static const int store_guide[NSTORES + 1] = {0, 1, 2, 5, 4};

static void day_str(int32_t day, char *buf)
{
    date_format(day, buf, 16);
}

static void generate(chain *c)
{
    CHECK(chain_tx(c, brands_create, NULL, 0, "{\"name\":\"二号品牌\"}", NULL) == 201);
    CHECK(chain_tx(c, stores_create, NULL, 0,
                   "{\"name\":\"直播间\",\"code\":\"L1\",\"kind\":\"live\",\"brand_id\":1}",
                   NULL) == 201);
    CHECK(chain_tx(c, stores_create, NULL, 0,
                   "{\"name\":\"四店\",\"code\":\"S4\",\"kind\":\"physical\",\"brand_id\":2}",
                   NULL) == 201);
    CHECK(chain_tx(c, staff_create, NULL, 0, "{\"name\":\"g4\",\"role\":\"guide\",\"store_id\":4}",
                   NULL) == 201);
    CHECK(chain_tx(c, staff_create, NULL, 0, "{\"name\":\"g5\",\"role\":\"guide\",\"store_id\":3}",
                   NULL) == 201);
    const int32_t d0 = day_of("2026-05-01"), d1 = day_of("2026-11-20");
    int nmembers = 0, phone_next = 1000;
    static const char *const events[] = {"follow_public_account",
                                         "unfollow_public_account",
                                         "add_guide_contact",
                                         "remove_guide_contact",
                                         "join_group",
                                         "sms_opt_in",
                                         "sms_opt_out",
                                         "miniprogram_authorize"};
    char body[2048], day[16];
    int norders = 0;
    for (int32_t d = d0; d <= d1; d++) {
        day_str(d, day);
        /* now and then the live object rebuilds its member-major records, so later
         * orders, refunds and merges meet built runs as well as tails */
        if ((d - d0) % 45 == 44) reports_compact(c->live);
        /* a few members join */
        for (int k = rnd(3); k > 0; k--) {
            int st = 1 + rnd(NSTORES);
            char g[32] = "";
            if (rnd(3)) snprintf(g, sizeof g, ",\"guide_id\":%d", store_guide[st]);
            snprintf(body, sizeof body,
                     "{\"phone\":\"139%08d\",\"channel\":\"%s\",\"store_id\":%d%s,\"joined_at\":\"%"
                     "sT%02d:00:00+08:00\"}",
                     phone_next++, store_channel[st][rnd(3)], st, g, day, 8 + rnd(12));
            CHECK(chain_tx(c, members_create_or_match, NULL, 0, body, NULL) == 201);
            nmembers++;
        }
        /* orders */
        for (int k = 2 + rnd(6); k > 0 && norders < 4000; k--) {
            int st = 1 + rnd(NSTORES);
            char items[1024] = "";
            int sum = 0;
            for (int l = 0, n = 1 + rnd(3); l < n; l++) {
                int sku = rnd(20) < 12 ? rnd(5) : rnd(30), qty = 1 + rnd(3),
                    price = 100 * (1 + sku % 9);
                char one[160];
                snprintf(one, sizeof one,
                         "%s{\"sku\":\"SKU%02d\",\"category\":\"cat%d\",\"qty\":%d,\"unit_price_"
                         "cents\":%d}",
                         l ? "," : "", sku, sku % 5, qty, price);
                strcat(items, one);
                sum += qty * price;
            }
            int disc = rnd(5) == 0 ? sum / 10 : 0;
            char who[96] = "", g[32] = "";
            int w = rnd(10);
            if (w < 6 && nmembers)
                snprintf(who, sizeof who, ",\"member_id\":%d", 1 + rnd((uint32_t)nmembers));
            else if (w < 7) { /* a customer joins at the till */
                snprintf(who, sizeof who, ",\"member\":{\"phone\":\"139%08d\"}", phone_next++);
                nmembers++;
            }
            if (rnd(4) == 0) snprintf(g, sizeof g, ",\"guide_id\":%d", store_guide[st]);
            snprintf(
                body, sizeof body,
                "{\"channel\":\"%s\",\"external_id\":\"E%d\",\"store_id\":%d,"
                "\"placed_at\":\"%sT%02d:%02d:00+08:00\",\"total_cents\":%d,\"discount_cents\":%d,"
                "\"items\":[%s]%s%s}",
                store_channel[st][rnd(3)], norders, st, day, rnd(24), rnd(60), sum - disc, disc,
                items, who, g);
            json_t *o = NULL;
            int rc = chain_tx(c, orders_create, NULL, 0, body, &o);
            if (rc == 409 || rc < 0) { /* a merged member id: skip */
                json_decref(o);
                continue;
            }
            norders++;
            /* refunds: some full, some one line, some an amount only */
            int rr = rnd(12);
            if (rr == 0) {
                snprintf(
                    body, sizeof body,
                    "{\"external_id\":\"RF%d\",\"amount_cents\":%d,\"at\":\"%sT23:59:00+08:00\"}",
                    norders, sum - disc, day);
                if (sum - disc > 0)
                    CHECK(chain_tx(c, NULL, refund_fn, jint(o, "id"), body, NULL) == 201);
            } else if (rr == 1 && sum - disc >= 100) {
                json_t *it = json_array_get(json_object_get(o, "items"), 0);
                int64_t amt = json_integer_value(json_object_get(it, "unit_price_cents"));
                if (amt > sum - disc) amt = sum - disc;
                snprintf(body, sizeof body,
                         "{\"external_id\":\"RP%d\",\"amount_cents\":%lld,\"items\":[{\"line\":1,"
                         "\"qty\":1}],\"at\":\"%sT23:59:00+08:00\"}",
                         norders, (long long)amt, day);
                if (amt > 0) CHECK(chain_tx(c, NULL, refund_fn, jint(o, "id"), body, NULL) == 201);
            } else if (rr == 2 && sum - disc >= 2) {
                snprintf(
                    body, sizeof body,
                    "{\"external_id\":\"RA%d\",\"amount_cents\":%d,\"at\":\"%sT23:59:00+08:00\"}",
                    norders, (sum - disc) / 2, day);
                CHECK(chain_tx(c, NULL, refund_fn, jint(o, "id"), body, NULL) == 201);
            }
            json_decref(o);
        }
        /* reachability and live views */
        for (int k = rnd(4); k > 0 && nmembers; k--) {
            snprintf(body, sizeof body,
                     "{\"type\":\"%s\",\"member_id\":%d,\"at\":\"%sT%02d:00:00+08:00\"}",
                     events[rnd(8)], 1 + rnd((uint32_t)nmembers), day, rnd(24));
            chain_tx(c, events_record, NULL, 0, body, NULL); /* merged ids fail: fine */
        }
        if (rnd(7) == 0)
            for (int k = 1 + rnd(6); k > 0 && nmembers; k--) {
                snprintf(body, sizeof body,
                         "{\"type\":\"live_view\",\"member_id\":%d,\"at\":\"%sT20:%02d:00+08:00\"}",
                         1 + rnd((uint32_t)nmembers), day, rnd(60));
                chain_tx(c, events_record, NULL, 0, body, NULL);
            }
        /* now and then a member moves to another store's guide, or two are merged */
        if (rnd(15) == 0 && nmembers > 2) {
            int st = 1 + rnd(NSTORES);
            snprintf(body, sizeof body, "{\"guide_id\":%d}", store_guide[st]);
            chain_tx(c, NULL, patch_fn, 1 + rnd((uint32_t)nmembers), body, NULL);
        }
        if (rnd(25) == 0 && nmembers > 2) {
            int a = 1 + rnd((uint32_t)nmembers), b = 1 + rnd((uint32_t)nmembers);
            snprintf(body, sizeof body, "{\"from_member_id\":%d}", b);
            if (a != b) chain_tx(c, NULL, merge_fn, a, body, NULL);
        }
    }
    fprintf(stderr, "generated %d members, %d orders\n", nmembers, norders);
}

/* made-up tiers, a function of the id; a few members have none */
static const char *tier_of(void *ctx, int64_t id)
{
    (void)ctx;
    static const char *const t[] = {"bronze", "silver", "gold", ""};
    return t[id % 4];
}

static void same(reports_t *live, reports_t *fresh, const reports_query *q, const char *what)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *(*fns[])(reports_t *, const reports_query *, siyu_err *) = {
        reports_kpi, reports_cohorts, reports_products, reports_live, reports_distributions};
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
        char *a = dump(fns[i](live, q, &e)), *b = dump(fns[i](fresh, q, &e));
        if (!a || !b || strcmp(a, b) != 0) {
            CHECK_FAIL_("%s: report %zu differs between live and recomputed", what, i);
            FILE *f = fopen("/tmp/reports-live.json", "w");
            fputs(a ? a : "null", f);
            fclose(f);
            f = fopen("/tmp/reports-fresh.json", "w");
            fputs(b ? b : "null", f);
            fclose(f);
        }
        free(a);
        free(b);
    }
    for (int dim = 0; dim < 3; dim++) {
        char *a = dump(reports_leaderboard(live, q, (reports_dim)dim, &e));
        char *b = dump(reports_leaderboard(fresh, q, (reports_dim)dim, &e));
        if (!a || !b || strcmp(a, b) != 0) CHECK_FAIL_("%s: leaderboard %d differs", what, dim);
        free(a);
        free(b);
    }
    char *a = dump(reports_leaderboard_by(live, q, "tier", tier_of, NULL, &e));
    char *b = dump(reports_leaderboard_by(fresh, q, "tier", tier_of, NULL, &e));
    if (!a || !b || strcmp(a, b) != 0) CHECK_FAIL_("%s: tier leaderboard differs", what);
    free(a);
    free(b);
}

static void against_sql(reports_t *r, sqlref_db *db, const reports_query *q)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *k = reports_kpi(r, q, &e);
    sqlref_period sp;
    sqlref_period_kpis(db, q->from, q->to, &sp);
    CHECK(sp.orders > 10);
    CHECK_J_INT(k, "current.orders", sp.orders);
    CHECK_J_INT(k, "current.member_orders", sp.member_orders);
    CHECK_J_INT(k, "current.gross_sales_cents", sp.gross);
    CHECK_J_INT(k, "current.refunded_cents", sp.refunded);
    CHECK_J_INT(k, "current.net_sales_cents", sp.net);
    CHECK_J_INT(k, "current.member_net_sales_cents", sp.member_net);
    CHECK_J_INT(k, "current.items", sp.items);
    CHECK_J_INT(k, "current.active_members", sp.active);
    CHECK_J_INT(k, "current.repeat_buyers", sp.repeat);
    CHECK_J_INT(k, "current.visit_days", sp.visit_days);
    CHECK_J_INT(k, "current.previously_active_members", sp.prev_active);
    CHECK_J_INT(k, "current.churned_members", sp.churned);
    /* every series bucket is a period of its own for the distinct figures */
    size_t b;
    json_t *bucket;
    json_array_foreach(json_object_get(k, "series"), b, bucket)
    {
        sqlref_period bp;
        sqlref_period_kpis(db, day_of(json_string_value(json_object_get(bucket, "from"))),
                           day_of(json_string_value(json_object_get(bucket, "to"))), &bp);
        CHECK_J_INT(bucket, "orders", bp.orders);
        CHECK_J_INT(bucket, "active_members", bp.active);
        CHECK_J_INT(bucket, "repeat_buyers", bp.repeat);
        if (bp.active)
            CHECK_J_REAL(bucket, "repurchase_rate", (double)bp.repeat / (double)bp.active);
        else
            CHECK(json_is_null(json_object_get(bucket, "repurchase_rate")));
    }
    json_decref(k);
    json_t *l = reports_leaderboard(r, q, REPORTS_BY_STORE, &e);
    sqlref_store rows[64];
    size_t n = sqlref_stores(db, q->from, q->to, rows, 64);
    CHECK(n == NSTORES);
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(l, "items"), i, row)
    {
        int64_t id = json_integer_value(json_object_get(row, "store_id"));
        for (size_t j = 0; j < n; j++)
            if (rows[j].store_id == id) {
                CHECK_J_INT(row, "orders", rows[j].orders);
                CHECK_J_INT(row, "member_orders", rows[j].member_orders);
                CHECK_J_INT(row, "net_sales_cents", rows[j].net);
                CHECK_J_INT(row, "member_net_sales_cents", rows[j].member_net);
                CHECK_J_INT(row, "active_members", rows[j].active);
                CHECK_J_INT(row, "repeat_buyers", rows[j].repeat);
                CHECK_J_INT(row, "visit_days", rows[j].visit_days);
                CHECK_J_INT(row, "previously_active_members", rows[j].prev_active);
                CHECK_J_INT(row, "churned_members", rows[j].churned);
            }
        /* the previous period alongside: the same SQL one period earlier */
        int32_t len = q->to - q->from + 1;
        sqlref_store prev[64];
        size_t np = sqlref_stores(db, q->from - len, q->from - 1, prev, 64);
        for (size_t j = 0; j < np; j++)
            if (prev[j].store_id == id) {
                json_t *p = json_object_get(row, "previous");
                CHECK_J_INT(p, "orders", prev[j].orders);
                CHECK_J_INT(p, "member_orders", prev[j].member_orders);
                CHECK_J_INT(p, "net_sales_cents", prev[j].net);
                CHECK_J_INT(p, "active_members", prev[j].active);
                CHECK_J_INT(p, "repeat_buyers", prev[j].repeat);
                CHECK_J_INT(p, "visit_days", prev[j].visit_days);
                CHECK_J_INT(p, "previously_active_members", prev[j].prev_active);
                CHECK_J_INT(p, "churned_members", prev[j].churned);
            }
    }
    json_decref(l);
}

int main(void)
{
    chain c;
    chain_open(&c);
    generate(&c);
    siyu_err e;
    siyu_err_init(&e);
    reports_t *fresh = NULL;
    CHECK(reports_load(c.f.d.conn, &fresh, &e) == 0);
    reports_stats a, b;
    reports_get_stats(c.live, &a);
    reports_get_stats(fresh, &b);
    CHECK_INT_EQ(a.orders, b.orders);
    CHECK_INT_EQ(a.items, b.items);

    reports_query qs[] = {
        {.from = day_of("2026-08-01"),
         .to = day_of("2026-10-31"),
         .channel = -1,
         .granularity = REPORTS_MONTH},
        {.from = day_of("2026-06-01"),
         .to = day_of("2026-11-20"),
         .channel = -1,
         .store_id = 1,
         .granularity = REPORTS_WEEK},
        {.from = day_of("2026-09-01"),
         .to = day_of("2026-09-30"),
         .channel = rp_test_channel("mall"),
         .granularity = REPORTS_DAY},
        {.from = day_of("2026-10-01"),
         .to = day_of("2026-10-31"),
         .channel = -1,
         .guide_id = 1,
         .granularity = REPORTS_DAY,
         .top_n = 3},
        {.from = day_of("2026-05-01"),
         .to = day_of("2026-11-22"),
         .channel = -1,
         .brand_id = 1,
         .granularity = REPORTS_MONTH},
        {.from = day_of("2026-07-01"),
         .to = day_of("2026-07-31"),
         .channel = rp_test_channel("live"),
         .brand_id = 1,
         .store_id = 3},
    };
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
        char what[32];
        snprintf(what, sizeof what, "query %zu", i);
        same(c.live, fresh, &qs[i], what);
    }
    sqlref_db *db = sqlref_open(store_path(c.f.st)); /* the file, or the PostgreSQL database */
    against_sql(c.live, db, &qs[0]);
    reports_query whole = {.from = day_of("2026-05-01"), .to = day_of("2026-11-20"), .channel = -1};
    against_sql(c.live, db, &whole);
    reports_query week = {.from = day_of("2026-09-07"), .to = day_of("2026-09-13"), .channel = -1};
    against_sql(fresh, db, &week);
    sqlref_close(db);
    reports_free(fresh);
    chain_close(&c);
    return CHECK_DONE();
}
