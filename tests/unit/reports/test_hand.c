/* test_hand.c — a small chain built by hand, every KPI worked out in the comments.
 *
 * Stores: 1 文三路店 (physical, brand 1), 2 线上商城 (mall), 3 直播间 (live, brand 1),
 * 4 古墩路店 (physical, brand 1). Guides: 1 (store 1), 2 (store 2), 4 (store 4).
 * SKUs: A 10.00 fruit, B 5.00 fruit, C 8.00 dairy, D 3.00 dairy, E 2.00 snack.
 *
 * The period under test is October 2026 (31 days): previous period 2026-08-31 ..
 * 2026-09-30, the one before that 2026-07-31 .. 2026-08-30 (for the previous churn).
 *
 * Members (joined, join channel, home store, guide):
 *   M1-M6   2026-07-15 store 1 guide 1 (channel store)
 *   M7-M9   2026-09-10 store 2 guide 2 (miniprogram)   — new in the previous period
 *   M10-M12 2026-08-20 store 4 guide 4 (store)         — M12 is merged into M11
 *   M13-M16 2026-10-05 store 1 guide 1 (store)         — new in October
 *   M17-M18 2026-10-20 store 3 no guide (live)
 *   M19-M20 2026-10-25 store 2 guide 2 (mall)
 *   M21-M22 2026-11-05 store 1 (store)                 — joined after the period
 *   M23     2026-10-10 at the till of store 4 (order O14; guide 4, channel store)
 *   M24     2026-10-20 at an order in the live room (O15; channel live, store 3)
 * Reachability: public_account M1 M2 M3 M7 M13 M17; wecom M1 M4 M10 M13 M14;
 * group M19; sms M5 on then off; miniprogram M7 M8. Live views on 10-20: M1 M2 M7. */
#include <check.h>

#include "chain.h"
#include "segment/index.h"
#include "sqlref.h"
#include "views/views.h"

static int64_t order(chain *c, const char *ext, int store, const char *channel, int member,
                     int guide, const char *day, const char *spec, int discount)
{
    static const struct {
        char sku;
        const char *cat;
        int price;
    } cat[] = {{'A', "fruit", 1000},
               {'B', "fruit", 500},
               {'C', "dairy", 800},
               {'D', "dairy", 300},
               {'E', "snack", 200}};
    char items[512] = "";
    int sum = 0;
    for (const char *p = spec; *p; p += 2) {
        int k = *p - 'A', q = p[1] - '0';
        char one[128];
        snprintf(one, sizeof one,
                 "%s{\"sku\":\"%c\",\"category\":\"%s\",\"qty\":%d,\"unit_price_cents\":%d}",
                 *items ? "," : "", cat[k].sku, cat[k].cat, q, cat[k].price);
        strcat(items, one);
        sum += q * cat[k].price;
    }
    char who[96] = "";
    if (member > 0)
        snprintf(who, sizeof who, ",\"member_id\":%d", member);
    else if (member < 0)
        snprintf(who, sizeof who, ",\"member\":{\"phone\":\"138000000%02d\"}", -member);
    char g[32] = "";
    if (guide) snprintf(g, sizeof g, ",\"guide_id\":%d", guide);
    char body[1024];
    snprintf(body, sizeof body,
             "{\"channel\":\"%s\",\"external_id\":\"%s\",\"store_id\":%d,\"placed_at\":\"%sT12:00:"
             "00+08:00\","
             "\"total_cents\":%d,\"discount_cents\":%d,\"items\":[%s]%s%s}",
             channel, ext, store, day, sum - discount, discount, items, who, g);
    json_t *o = NULL;
    CHECK(chain_tx(c, orders_create, NULL, 0, body, &o) == 201);
    int64_t id = jint(o, "id");
    json_decref(o);
    return id;
}

static void refund(chain *c, int64_t order_id, const char *ext, int amount, const char *items)
{
    char body[256];
    snprintf(
        body, sizeof body,
        "{\"external_id\":\"%s\",\"amount_cents\":%d,\"at\":\"2026-11-01T10:00:00+08:00\"%s%s}",
        ext, amount, items ? ",\"items\":" : "", items ? items : "");
    CHECK(chain_tx(c, NULL, refund_fn, order_id, body, NULL) == 201);
}

static void member(chain *c, int n, const char *channel, int store, int guide, const char *joined)
{
    char body[256], g[32] = "";
    if (guide) snprintf(g, sizeof g, ",\"guide_id\":%d", guide);
    snprintf(body, sizeof body,
             "{\"phone\":\"138000000%02d\",\"channel\":\"%s\",\"store_id\":%d%s,\"joined_at\":\"%"
             "sT10:00:00+08:00\"}",
             n, channel, store, g, joined);
    json_t *o = NULL;
    CHECK(chain_tx(c, members_create_or_match, NULL, 0, body, &o) == 201);
    CHECK_INT_EQ(jint(o, "id"), n);
    json_decref(o);
}

static void event(chain *c, const char *type, int m, const char *at)
{
    char body[256];
    snprintf(body, sizeof body, "{\"type\":\"%s\",\"member_id\":%d,\"at\":\"%sT09:00:00+08:00\"}",
             type, m, at);
    CHECK(chain_tx(c, events_record, NULL, 0, body, NULL) == 201);
}

static void build(chain *c)
{
    CHECK(chain_tx(c, stores_create, NULL, 0,
                   "{\"name\":\"直播间\",\"code\":\"L1\",\"kind\":\"live\",\"brand_id\":1}",
                   NULL) == 201);
    CHECK(chain_tx(c, stores_create, NULL, 0,
                   "{\"name\":\"古墩路店\",\"code\":\"S4\",\"kind\":\"physical\",\"brand_id\":1}",
                   NULL) == 201);
    CHECK(chain_tx(c, staff_create, NULL, 0,
                   "{\"name\":\"陈静\",\"role\":\"guide\",\"store_id\":4}", NULL) == 201);
    for (int i = 1; i <= 6; i++)
        member(c, i, "store", 1, 1, "2026-07-15");
    for (int i = 7; i <= 9; i++)
        member(c, i, "miniprogram", 2, 2, "2026-09-10");
    for (int i = 10; i <= 12; i++)
        member(c, i, "store", 4, 4, "2026-08-20");
    for (int i = 13; i <= 16; i++)
        member(c, i, "store", 1, 1, "2026-10-05");
    for (int i = 17; i <= 18; i++)
        member(c, i, "live", 3, 0, "2026-10-20");
    for (int i = 19; i <= 20; i++)
        member(c, i, "mall", 2, 2, "2026-10-25");
    for (int i = 21; i <= 22; i++)
        member(c, i, "store", 1, 0, "2026-11-05");
    /* reachability */
    int pa[] = {1, 2, 3, 7, 13, 17}, wc[] = {1, 4, 10, 13, 14};
    for (size_t i = 0; i < 6; i++)
        event(c, "follow_public_account", pa[i], "2026-10-01");
    for (size_t i = 0; i < 5; i++)
        event(c, "add_guide_contact", wc[i], "2026-10-01");
    event(c, "join_group", 19, "2026-10-26");
    event(c, "sms_opt_in", 5, "2026-09-01");
    event(c, "sms_opt_out", 5, "2026-10-02");
    event(c, "miniprogram_authorize", 7, "2026-09-10");
    event(c, "miniprogram_authorize", 8, "2026-09-10");
    event(c, "live_view", 1, "2026-10-20");
    event(c, "live_view", 2, "2026-10-20");
    event(c, "live_view", 7, "2026-10-20");

    /* P-2 (07-31 .. 08-30) */
    order(c, "Q1", 1, "store", 1, 0, "2026-08-10", "A1", 0);
    order(c, "Q2", 1, "store", 3, 0, "2026-08-12", "B1", 0);
    /* previous period (08-31 .. 09-30) */
    order(c, "P1", 1, "store", 1, 0, "2026-09-05", "A1", 0);
    order(c, "P2", 1, "store", 2, 0, "2026-09-06", "B2", 0);
    order(c, "P3", 1, "store", 5, 0, "2026-09-07", "C1", 0);
    order(c, "P4", 1, "store", 6, 0, "2026-09-08", "D1", 0);
    order(c, "P5", 2, "miniprogram", 7, 0, "2026-09-12", "A1", 0);
    order(c, "P6", 4, "store", 10, 0, "2026-09-15", "E1", 0);
    order(c, "P7", 4, "store", 12, 0, "2026-09-16", "A1", 0);
    order(c, "P8", 1, "store", 0, 0, "2026-09-20", "B1", 0);
    order(c, "P9", 1, "store", 1, 0, "2026-09-25", "C1", 0);
    /* October */
    order(c, "O1", 1, "store", 1, 0, "2026-10-03", "A2B1", 0);
    order(c, "O2", 1, "store", 1, 0, "2026-10-03", "C1", 0);
    order(c, "O3", 2, "mall", 1, 0, "2026-10-10", "A1C1", 0);
    order(c, "O4", 1, "store", 2, 0, "2026-10-05", "B2D1", 100);
    int64_t o5 = order(c, "O5", 1, "store", 3, 0, "2026-10-08", "A1", 0);
    int64_t o6 = order(c, "O6", 1, "store", 4, 0, "2026-10-12", "C2E1", 0);
    order(c, "O7", 1, "store", 0, 0, "2026-10-12", "A1B1", 0);
    order(c, "O8", 4, "store", 0, 0, "2026-10-15", "D2", 0);
    int64_t o9 = order(c, "O9", 1, "store", 0, 0, "2026-10-20", "E5", 0);
    order(c, "O10", 1, "store", 13, 0, "2026-10-06", "A1C1", 0);
    order(c, "O11", 1, "store", 14, 0, "2026-11-10", "B1", 0);
    order(c, "O12", 2, "mall", 15, 0, "2026-11-01", "D1", 0);
    order(c, "O13", 3, "live", 17, 0, "2026-10-20", "A1E2", 0);
    order(c, "O14", 4, "store", -23, 4, "2026-10-10", "C1D1", 0);
    int64_t o15 = order(c, "O15", 3, "live", -24, 0, "2026-10-20", "A2", 0);
    order(c, "O16", 2, "miniprogram", 7, 0, "2026-10-25", "B1C1", 0);
    order(c, "O17", 1, "store", 7, 0, "2026-10-26", "E1", 0);
    order(c, "O18", 4, "store", 10, 0, "2026-10-30", "A1D1", 0);
    order(c, "O19", 1, "store", 1, 0, "2026-10-22", "C1", 0);
    refund(c, o5, "R5", 1000, NULL);                         /* O5 fully refunded */
    refund(c, o6, "R6", 200, "[{\"sku\":\"E\",\"qty\":1}]"); /* O6: the E line */
    refund(c, o9, "R9a", 600, NULL);                         /* O9 in two steps */
    refund(c, o9, "R9b", 400, NULL);
    refund(c, o15, "R15", 1000, NULL); /* O15 half, no lines */
    CHECK(chain_tx(c, NULL, merge_fn, 11, "{\"from_member_id\":12}", NULL) == 200);
}

static reports_query oct(void)
{
    reports_query q = {.from = day_of("2026-10-01"),
                       .to = day_of("2026-10-31"),
                       .channel = -1,
                       .granularity = REPORTS_WEEK};
    return q;
}

static void check_kpi(json_t *k)
{
    /* ---- October: orders O1..O10, O13..O19 (O11, O12 are November) = 17 placed ----
     * void (fully refunded): O5, O9 → 2; orders = 17 − 2 = 15
     * gross = 2500+800+1800+1200+1000+1800+1500+600+1000+1800+1400+1100+2000+1300+200+1300+800 =
     * 22100 refunded = 1000 (O5) + 200 (O6) + 1000 (O9) + 1000 (O15) = 3200; net = 18900 member
     * orders (valid): O1 O2 O3 O4 O6 O10 O13 O14 O15 O16 O17 O18 O19 = 13; non-member O7 O8 = 2
     * member net = 2500+800+1800+1200+0+1600+1800+1400+1100+1000+1300+200+1300+800 = 16800 */
    CHECK_J_INT(k, "current.orders", 15);
    CHECK_J_INT(k, "current.fully_refunded_orders", 2);
    CHECK_J_INT(k, "current.refunded_orders", 4);
    CHECK_J_INT(k, "current.member_orders", 13);
    CHECK_J_INT(k, "current.non_member_orders", 2);
    CHECK_J_INT(k, "current.gross_sales_cents", 22100);
    CHECK_J_INT(k, "current.refunded_cents", 3200);
    CHECK_J_INT(k, "current.net_sales_cents", 18900);
    CHECK_J_INT(k, "current.member_net_sales_cents", 16800);
    CHECK_J_REAL(k, "current.member_ratio_orders", 13.0 / 15);
    CHECK_J_REAL(k, "current.member_ratio_sales", 16800.0 / 18900);
    CHECK_J_REAL(k, "current.refund_rate", 3200.0 / 22100);
    /* avg ticket = 18900 / 15 = 1260 */
    CHECK_J_INT(k, "current.avg_ticket_cents", 1260);
    /* items of valid orders: 3+1+2+3+3+2+2+2+3+2+2+2+1+2+1 = 31 → 31/15 */
    CHECK_J_INT(k, "current.items", 31);
    CHECK_J_REAL(k, "current.attachment_rate", 31.0 / 15);
    /* active: M1 M2 M4 M13 M17 M23 M24 M7 M10 = 9 (M3's only order O5 is void) */
    CHECK_J_INT(k, "current.active_members", 9);
    CHECK_J_REAL(k, "current.purchase_frequency", 13.0 / 9);
    /* bought again: M1 (O1 O2 O3 O19), M7 (O16 O17) → 2/9 */
    CHECK_J_INT(k, "current.repeat_buyers", 2);
    CHECK_J_REAL(k, "current.repurchase_rate", 2.0 / 9);
    /* visit days: M1 10-03 10-10 10-22 = 3 (O1, O2 same day), M7 2, seven others 1 → 12
     * weekly = 12 / 9 / (31 / 7) = 84 / 279 */
    CHECK_J_INT(k, "current.visit_days", 12);
    CHECK_J_REAL(k, "current.weekly_visit_frequency", 84.0 / 279);
    /* annual = 16800 / 9 × 365 / 31 = 6132000 / 279 = 21978.49 → 21978 */
    CHECK_J_INT(k, "current.annual_contribution_cents", 21978);
    /* churn: active before M1 M2 M5 M6 M7 M10 M11 (P7 moved from M12) = 7; gone M5 M6 M11 */
    CHECK_J_INT(k, "current.previously_active_members", 7);
    CHECK_J_INT(k, "current.churned_members", 3);
    CHECK_J_REAL(k, "current.churn_rate", 3.0 / 7);
    /* members joined by 10-31: M1..M20 without M12, plus M23 M24 = 21 */
    CHECK_J_INT(k, "current.members", 21);
    CHECK_J_INT(k, "current.reachable_members.any", 11);
    CHECK_J_INT(k, "current.reachable_members.public_account", 6);
    CHECK_J_INT(k, "current.reachable_members.wecom", 5);
    CHECK_J_INT(k, "current.reachable_members.group", 1);
    CHECK_J_INT(k, "current.reachable_members.sms", 0);
    CHECK_J_INT(k, "current.reachable_members.miniprogram", 2);
    CHECK_J_REAL(k, "current.online_rate.any", 11.0 / 21);
    CHECK_J_REAL(k, "current.online_rate.sms", 0.0);
    /* new in October: M13-16, M17-18, M19-20, M23, M24 = 10; store 5, live 3, mall 2
     * converted within 30 days: M13 (day 1), M15 (11-01: 27 days), M17, M23, M24 = 5
     * (M14's first order 11-10 is 36 days after) */
    CHECK_J_INT(k, "current.new_members", 10);
    CHECK_J_INT(k, "current.new_members_by_channel.store", 5);
    CHECK_J_INT(k, "current.new_members_by_channel.live", 3);
    CHECK_J_INT(k, "current.new_members_by_channel.mall", 2);
    CHECK_J_INT(k, "current.new_members_by_channel.miniprogram", 0);
    CHECK_J_INT(k, "current.new_members_converted_30d", 5);
    CHECK_J_REAL(k, "current.new_member_conversion_rate", 0.5);
    /* by store: 1: M13-16 (2 converted), 2: M19-20 (0), 3: M17 M18 M24 (2), 4: M23 (1) */
    CHECK_J_INT(k, "current.new_members_by_store.0.store_id", 1);
    CHECK_J_INT(k, "current.new_members_by_store.0.new_members", 4);
    CHECK_J_INT(k, "current.new_members_by_store.0.converted_30d", 2);
    CHECK_J_INT(k, "current.new_members_by_store.1.new_members", 2);
    CHECK_J_INT(k, "current.new_members_by_store.1.converted_30d", 0);
    CHECK_J_INT(k, "current.new_members_by_store.2.store_id", 3);
    CHECK_J_INT(k, "current.new_members_by_store.2.new_members", 3);
    CHECK_J_REAL(k, "current.new_members_by_store.2.conversion_rate", 2.0 / 3);
    CHECK_J_INT(k, "current.new_members_by_store.3.converted_30d", 1);

    /* ---- previous period 08-31 .. 09-30: P1..P9, nothing refunded ----
     * gross = net = 1000+1000+800+300+1000+200+1000+500+800 = 6600; member net 6100
     * orders 9, member 8; items 10; active M1 M2 M5 M6 M7 M10 M11 = 7; repeat M1 */
    CHECK_J_STR(k, "previous.from", "2026-08-31");
    CHECK_J_STR(k, "previous.to", "2026-09-30");
    CHECK_J_INT(k, "previous.orders", 9);
    CHECK_J_INT(k, "previous.net_sales_cents", 6600);
    CHECK_J_INT(k, "previous.member_net_sales_cents", 6100);
    CHECK_J_REAL(k, "previous.member_ratio_orders", 8.0 / 9);
    CHECK_J_REAL(k, "previous.member_ratio_sales", 6100.0 / 6600);
    CHECK_J_INT(k, "previous.avg_ticket_cents", 733); /* 733.33 */
    CHECK_J_REAL(k, "previous.attachment_rate", 10.0 / 9);
    CHECK_J_INT(k, "previous.active_members", 7);
    CHECK_J_REAL(k, "previous.purchase_frequency", 8.0 / 7);
    CHECK_J_REAL(k, "previous.repurchase_rate", 1.0 / 7);
    CHECK_J_REAL(k, "previous.weekly_visit_frequency", 8.0 * 7 / (7 * 31)); /* 8 visit days */
    CHECK_J_INT(k, "previous.annual_contribution_cents", 10260); /* 6100×365/217 = 10260.4 */
    CHECK_J_REAL(k, "previous.refund_rate", 0.0);
    /* churn: active 07-31..08-30 M1 M3; M3 gone → 1/2 */
    CHECK_J_REAL(k, "previous.churn_rate", 0.5);
    /* members by 09-30: M1..M12 without M12 = 11; reachable (today's flags) M1 M2 M3 M4 M7 M8 M10
     */
    CHECK_J_INT(k, "previous.members", 11);
    CHECK_J_REAL(k, "previous.online_rate.any", 7.0 / 11);
    CHECK_J_INT(k, "previous.reachable_members.public_account", 4);
    /* new: M7 M8 M9 (miniprogram); converted M7 (P5 two days later) */
    CHECK_J_INT(k, "previous.new_members", 3);
    CHECK_J_INT(k, "previous.new_members_by_channel.miniprogram", 3);
    CHECK_J_REAL(k, "previous.new_member_conversion_rate", 1.0 / 3);

    /* ---- weekly series: 10-01 is a Thursday → 10-01..04, 05..11, 12..18, 19..25, 26..31 ---- */
    CHECK_INT_EQ(json_array_size(at(k, "series")), 5);
    /* week 1: O1 O2 on 10-03 by M1: 2 orders, 3300, one active member */
    CHECK_J_STR(k, "series.0.to", "2026-10-04");
    CHECK_J_INT(k, "series.0.orders", 2);
    CHECK_J_INT(k, "series.0.net_sales_cents", 3300);
    CHECK_J_INT(k, "series.0.active_members", 1);
    /* week 2 (05..11): O4 O5(void) O10 O14 O3 → 4 orders; new members M13-16, M23 = 5 */
    CHECK_J_INT(k, "series.1.orders", 4);
    CHECK_J_INT(k, "series.1.new_members", 5);
    CHECK_J_INT(k, "series.1.net_sales_cents", 1200 + 1800 + 1100 + 1800);
    /* last week (26..31): O17 O18 → 2 orders, 1500 */
    CHECK_J_STR(k, "series.4.from", "2026-10-26");
    CHECK_J_INT(k, "series.4.net_sales_cents", 1500);
    /* repeat buyers within each week: only M1 (O1 O2, both 10-03) bought twice in one week
     * → week 1: 1 of 1. M1's O3 (week 2) and O19 (week 4), M7's O16 (10-25, week 4) and O17
     * (10-26, week 5) fall in different weeks. Week 2: active M1 M2 M13 M23 (M3's O5 is
     * void) = 4, none twice → 0/4. Week 4: M17 M24 M7 M1 = 4, 0/4. */
    CHECK_J_INT(k, "series.0.repeat_buyers", 1);
    CHECK_J_REAL(k, "series.0.repurchase_rate", 1.0);
    CHECK_J_INT(k, "series.1.active_members", 4);
    CHECK_J_INT(k, "series.1.repeat_buyers", 0);
    CHECK_J_REAL(k, "series.1.repurchase_rate", 0.0);
    CHECK_J_INT(k, "series.3.active_members", 4);
    CHECK_J_INT(k, "series.3.repeat_buyers", 0);
    CHECK_J_INT(k, "series.4.active_members", 2);
    CHECK_J_INT(k, "series.4.repeat_buyers", 0);
}

static void check_filters(reports_t *r)
{
    siyu_err e;
    siyu_err_init(&e);
    /* store 4: O8 (non-member 600), O14 (M23 1100), O18 (M10 1300) */
    reports_query q = oct();
    q.store_id = 4;
    json_t *k = reports_kpi(r, &q, &e);
    CHECK_J_INT(k, "current.orders", 3);
    CHECK_J_INT(k, "current.member_orders", 2);
    CHECK_J_INT(k, "current.net_sales_cents", 3000);
    CHECK_J_REAL(k, "current.member_ratio_sales", 2400.0 / 3000);
    /* home store 4: M10 M11 M23; new: M23 */
    CHECK_J_INT(k, "current.members", 3);
    CHECK_J_INT(k, "current.new_members", 1);
    /* churn at store 4: before M10 (P6) M11 (P7); now M10 M23 → M11 churned, 1/2 */
    CHECK_J_REAL(k, "current.churn_rate", 0.5);
    json_decref(k);
    /* channel live: O13 (1400) and O15 (2000 − 1000) */
    q = oct();
    q.channel = rp_test_channel("live");
    k = reports_kpi(r, &q, &e);
    CHECK_J_INT(k, "current.orders", 2);
    CHECK_J_INT(k, "current.net_sales_cents", 2400);
    CHECK_J_REAL(k, "current.member_ratio_orders", 1.0);
    CHECK_J_INT(k, "current.members", 3); /* joined by live: M17 M18 M24 */
    json_decref(k);
    /* an empty period: ratios are null, never NaN */
    q = oct();
    q.from = day_of("2025-01-01");
    q.to = day_of("2025-01-31");
    k = reports_kpi(r, &q, &e);
    CHECK_J_INT(k, "current.orders", 0);
    CHECK_J_NULL(k, "current.member_ratio_orders");
    CHECK_J_NULL(k, "current.avg_ticket_cents");
    CHECK_J_NULL(k, "current.attachment_rate");
    CHECK_J_NULL(k, "current.purchase_frequency");
    CHECK_J_NULL(k, "current.weekly_visit_frequency");
    CHECK_J_NULL(k, "current.churn_rate");
    CHECK_J_NULL(k, "current.online_rate.any");
    json_decref(k);
}

static void check_leaderboards(reports_t *r)
{
    siyu_err e;
    siyu_err_init(&e);
    reports_query q = oct();
    json_t *l = reports_leaderboard(r, &q, REPORTS_BY_STORE, &e);
    /* store 1: O1 2500 O2 800 O4 1200 O5 void O6 1600 O7 1500 O9 void O10 1800 O17 200 O19 800
     *   net 10400, orders 8, member orders 7, active M1 M2 M4 M13 M7 = 5, repeat M1
     * store 2: O3 1800 + O16 1300 = 3100; store 4: 600 + 1100 + 1300 = 3000;
     * store 3: 1400 + 1000 = 2400 → ranks 1, 2, 3, 4 */
    CHECK_J_INT(l, "items.0.store_id", 1);
    CHECK_J_INT(l, "items.0.rank", 1);
    CHECK_J_INT(l, "items.0.net_sales_cents", 10400);
    CHECK_J_INT(l, "items.0.orders", 8);
    CHECK_J_INT(l, "items.0.member_orders", 7);
    CHECK_J_INT(l, "items.0.active_members", 5);
    CHECK_J_INT(l, "items.0.repeat_buyers", 1);
    CHECK_J_INT(l, "items.0.members", 10);          /* M1-6, M13-16 */
    CHECK_J_INT(l, "items.0.reachable_members", 6); /* M1 M2 M3 M4 M13 M14 */
    CHECK_J_INT(l, "items.1.store_id", 2);
    CHECK_J_INT(l, "items.1.net_sales_cents", 3100);
    CHECK_J_INT(l, "items.2.store_id", 4);
    CHECK_J_INT(l, "items.2.rank", 3);
    CHECK_J_INT(l, "items.2.members", 3);
    CHECK_J_INT(l, "items.3.store_id", 3);
    CHECK_J_STR(l, "items.3.kind", "live");
    CHECK_J_INT(l, "items.3.refunded_cents", 1000);
    /* store 1, the KPIs of the chain-wide report per group:
     * member ratio 7/8; avg ticket 10400/8 = 1300; items O1 3 O2 1 O4 3 O6 3 O7 2 O10 2
     * O17 1 O19 1 = 16 → 16/8; refund rate (O5 1000 + O6 200 + O9 1000) / 12600 gross;
     * visit days M1 10-03 10-22 (O3 was in store 2), M2 M4 M13 M7 one each = 6 →
     * weekly 6 / 5 / (31/7) = 42/155; previously active at store 1 (P1 P9 M1, P2 M2,
     * P3 M5, P4 M6) = 4, churned M5 M6 → 1/2 */
    CHECK_J_REAL(l, "items.0.member_ratio_orders", 7.0 / 8);
    CHECK_J_INT(l, "items.0.avg_ticket_cents", 1300);
    CHECK_J_REAL(l, "items.0.attachment_rate", 16.0 / 8);
    CHECK_J_REAL(l, "items.0.refund_rate", 2200.0 / 12600);
    CHECK_J_REAL(l, "items.0.purchase_frequency", 7.0 / 5);
    CHECK_J_REAL(l, "items.0.repurchase_rate", 1.0 / 5);
    CHECK_J_INT(l, "items.0.visit_days", 6);
    CHECK_J_REAL(l, "items.0.weekly_visit_frequency", 42.0 / 155);
    CHECK_J_INT(l, "items.0.previously_active_members", 4);
    CHECK_J_INT(l, "items.0.churned_members", 2);
    CHECK_J_REAL(l, "items.0.churn_rate", 0.5);
    CHECK_J_INT(l, "items.0.new_members", 4); /* M13-16 */
    /* store 1 in the previous period: P1 1000 P2 1000 P3 800 P4 300 P8 500 P9 800 = 4400
     * from 6 orders (member 5: 3900), items 7; active M1 M2 M5 M6, M1 twice; visit days
     * 5 → 5 / 4 / (31/7) = 35/124; ranks by previous net: store 1 4400, store 4 1200,
     * store 2 1000, store 3 0. Churn before: Q1 M1, Q2 M3 at store 1; M3 gone → 1/2.
     * Members who had joined by 09-30: M1-6; reachable M1 M2 M3 M4; none new. */
    CHECK_J_STR(l, "previous_period.from", "2026-08-31");
    CHECK_J_STR(l, "previous_period.to", "2026-09-30");
    CHECK_J_INT(l, "items.0.previous.rank", 1);
    CHECK_J_INT(l, "items.0.previous.net_sales_cents", 4400);
    CHECK_J_INT(l, "items.0.previous.orders", 6);
    CHECK_J_INT(l, "items.0.previous.member_net_sales_cents", 3900);
    CHECK_J_REAL(l, "items.0.previous.member_ratio_orders", 5.0 / 6);
    CHECK_J_INT(l, "items.0.previous.avg_ticket_cents", 733);
    CHECK_J_REAL(l, "items.0.previous.attachment_rate", 7.0 / 6);
    CHECK_J_INT(l, "items.0.previous.active_members", 4);
    CHECK_J_INT(l, "items.0.previous.repeat_buyers", 1);
    CHECK_J_INT(l, "items.0.previous.visit_days", 5);
    CHECK_J_REAL(l, "items.0.previous.weekly_visit_frequency", 35.0 / 124);
    CHECK_J_INT(l, "items.0.previous.previously_active_members", 2);
    CHECK_J_REAL(l, "items.0.previous.churn_rate", 0.5);
    CHECK_J_INT(l, "items.0.previous.members", 6);
    CHECK_J_INT(l, "items.0.previous.reachable_members", 4);
    CHECK_J_INT(l, "items.0.previous.new_members", 0);
    CHECK_J_REAL(l, "items.0.previous.refund_rate", 0.0);
    /* store 2: active M1 (O3) M7 (O16); before M7 (P5), still active → churn 0 */
    CHECK_J_INT(l, "items.1.previous.rank", 3);
    CHECK_J_INT(l, "items.1.previous.net_sales_cents", 1000);
    CHECK_J_INT(l, "items.1.previously_active_members", 1);
    CHECK_J_REAL(l, "items.1.churn_rate", 0.0);
    /* store 4: active M23 (O14) M10 (O18), 2 visit days → 2 / 2 / (31/7) = 7/31; before
     * M10 (P6) and M11 (P7, moved from M12), M11 gone → 1/2. Previous: P6 200 + P7 1000,
     * nobody active before it → churn null; members M10 M11, reachable M10 */
    CHECK_J_REAL(l, "items.2.weekly_visit_frequency", 7.0 / 31);
    CHECK_J_REAL(l, "items.2.churn_rate", 0.5);
    CHECK_J_INT(l, "items.2.previous.rank", 2);
    CHECK_J_INT(l, "items.2.previous.net_sales_cents", 1200);
    CHECK_J_INT(l, "items.2.previous.active_members", 2);
    CHECK_J_NULL(l, "items.2.previous.churn_rate");
    CHECK_J_INT(l, "items.2.previous.members", 2);
    CHECK_J_INT(l, "items.2.previous.reachable_members", 1);
    /* store 3: no order before October: its previous figures are empty, not missing */
    CHECK_J_INT(l, "items.3.previous.rank", 4);
    CHECK_J_INT(l, "items.3.previous.orders", 0);
    CHECK_J_NULL(l, "items.3.previous.avg_ticket_cents");
    CHECK_J_NULL(l, "items.3.churn_rate");
    json_decref(l);
    /* guide 4: O14 (named) 1100 + O18 (M10's bound guide) 1300; O8 had no guide */
    q.guide_id = 4;
    l = reports_leaderboard(r, &q, REPORTS_BY_GUIDE, &e);
    CHECK_INT_EQ(json_array_size(at(l, "items")), 1);
    CHECK_J_INT(l, "items.0.net_sales_cents", 2400);
    CHECK_J_INT(l, "items.0.members", 3); /* M10 M11 M23 */
    CHECK_J_INT(l, "items.0.reachable_members", 1);
    /* credited to guide 4 before: P6 (M10) and P7 (M12, now M11), by their bound guide:
     * 1200; M11 has not bought since → churn 1/2; visits 2 → weekly 7/31 both periods */
    CHECK_J_INT(l, "items.0.active_members", 2);
    CHECK_J_INT(l, "items.0.churned_members", 1);
    CHECK_J_REAL(l, "items.0.churn_rate", 0.5);
    CHECK_J_REAL(l, "items.0.weekly_visit_frequency", 7.0 / 31);
    CHECK_J_INT(l, "items.0.previous.net_sales_cents", 1200);
    CHECK_J_INT(l, "items.0.previous.active_members", 2);
    CHECK_J_REAL(l, "items.0.previous.weekly_visit_frequency", 7.0 / 31);
    CHECK_J_INT(l, "items.0.previous.members", 2); /* M10 M11; M23 joined in October */
    json_decref(l);
    q = oct();
    l = reports_leaderboard(r, &q, REPORTS_BY_CHANNEL, &e);
    /* by channel: store = O1 O2 O4 O6 O7
     * O8 O10 O14 O17 O18 O19 = 2500+800+1200+1600+1500+600+1800+1100+200+1300+800 = 13400 */
    CHECK_J_STR(l, "items.0.channel", "store");
    CHECK_J_INT(l, "items.0.net_sales_cents", 13400);
    CHECK_J_STR(l, "items.1.channel", "live");
    CHECK_J_INT(l, "items.1.net_sales_cents", 2400);
    CHECK_J_STR(l, "items.2.channel", "mall");        /* O3 1800 */
    CHECK_J_STR(l, "items.3.channel", "miniprogram"); /* O16 1300 */
    CHECK_J_INT(l, "items.3.rank", 4);
    CHECK_J_INT(l, "items.4.rank", 5); /* the channels without orders tie at 5 */
    CHECK_J_INT(l, "items.6.rank", 5);
    /* the store channel: active M1 (O1 O2 O19) M2 M4 M13 M23 M7 M10 = 7, M1 again;
     * visits M1 10-03 10-22 + 6 = 8; before: P1 P9 M1, P2 M2, P3 M5, P4 M6, P6 M10,
     * P7 M11 = 6, gone M5 M6 M11 → 1/2. Previous: 9 − P5 (miniprogram) = 8 orders, 5600 */
    CHECK_J_INT(l, "items.0.active_members", 7);
    CHECK_J_INT(l, "items.0.repeat_buyers", 1);
    CHECK_J_INT(l, "items.0.visit_days", 8);
    CHECK_J_INT(l, "items.0.previously_active_members", 6);
    CHECK_J_REAL(l, "items.0.churn_rate", 0.5);
    CHECK_J_INT(l, "items.0.previous.orders", 8);
    CHECK_J_INT(l, "items.0.previous.net_sales_cents", 5600);
    CHECK_J_INT(l, "items.0.previous.rank", 1);
    CHECK_J_INT(l, "items.3.previous.rank", 2); /* miniprogram: P5 1000 */
    CHECK_J_INT(l, "items.3.previous.net_sales_cents", 1000);
    json_decref(l);
}

/* The same tiers set in a member index, as loyalty does (seg_index_set_tier), read
 * back by views_tier_classes: the same rows as by hand above. */
static void check_tiers_from_index(reports_t *r)
{
    siyu_err e;
    siyu_err_init(&e);
    seg_index *idx = seg_index_new(day_of("2026-11-20"));
    for (int64_t m = 1; m <= 24; m++) {
        seg_member_profile p = {.id = m, .birthday = SEG_NO_DAY, .joined_day = SEG_NO_DAY};
        CHECK(seg_index_upsert_member(idx, &p, NULL) == 0);
    }
    const int64_t gold[] = {1, 7}, silver[] = {2, 4, 10, 13};
    for (size_t i = 0; i < 2; i++)
        CHECK(seg_index_set_tier(idx, gold[i], "gold", NULL) == 0);
    for (size_t i = 0; i < 4; i++)
        CHECK(seg_index_set_tier(idx, silver[i], "silver", NULL) == 0);
    CHECK(seg_index_set_tier(idx, 3, "铂金 \"V\"", NULL) == 0); /* quotes in a name */
    reports_classes *t = views_tier_classes(idx, &e);
    CHECK(t != NULL);
    reports_query q = oct();
    json_t *l = reports_leaderboard_by(r, &q, "tier", reports_classes_classify, t, &e);
    CHECK_J_STR(l, "items.0.tier", "gold");
    CHECK_J_INT(l, "items.0.net_sales_cents", 7400);
    CHECK_J_STR(l, "items.1.tier", "silver");
    CHECK_J_INT(l, "items.1.net_sales_cents", 5900);
    /* M3's only order O5 is void: a row with 0, after no-tier's 3500 */
    CHECK_J_NULL(l, "items.2.tier");
    CHECK_J_INT(l, "items.2.net_sales_cents", 3500);
    CHECK_J_STR(l, "items.3.tier", "铂金 \"V\"");
    CHECK_J_INT(l, "items.3.fully_refunded_orders", 1);
    CHECK_J_INT(l, "items.3.members", 1);
    json_decref(l);
    reports_classes_free(t);
    seg_index_free(idx);
}

/* Tiers as the loyalty engine will set them in the member index, handed over the way
 * the API does: ids per tier in a reports_classes table; the rest have no tier. */
static void check_tiers(reports_t *r)
{
    siyu_err e;
    siyu_err_init(&e);
    reports_classes *t = reports_classes_new(NULL);
    const int64_t gold[] = {7, 1}, silver[] = {2, 4, 10, 13};
    reports_classes_add(t, "gold", gold, 2);
    reports_classes_add(t, "silver", silver, 4);
    reports_query q = oct();
    json_t *l = reports_leaderboard_by(r, &q, "tier", reports_classes_classify, t, &e);
    CHECK(l != NULL);
    CHECK_J_STR(l, "by", "tier");
    CHECK_INT_EQ(json_array_size(at(l, "items")), 3);
    /* gold, M1 M7: O1 2500 O2 800 O3 1800 O19 800 O16 1300 O17 200 = 7400 from 6 orders,
     * both bought again; visits M1 10-03 10-10 10-22, M7 10-25 10-26 = 5 → 5 / 2 / (31/7);
     * before: M1 (P1 P9) M7 (P5) = 2800, both still active → churn 0; the previous
     * period's churn: Q1 M1 before, active in P-1 → 0. Members M1 M7 (M7 new in P-1) */
    CHECK_J_STR(l, "items.0.tier", "gold");
    CHECK_J_INT(l, "items.0.rank", 1);
    CHECK_J_INT(l, "items.0.net_sales_cents", 7400);
    CHECK_J_INT(l, "items.0.orders", 6);
    CHECK_J_REAL(l, "items.0.member_ratio_orders", 1.0);
    CHECK_J_INT(l, "items.0.active_members", 2);
    CHECK_J_REAL(l, "items.0.repurchase_rate", 1.0);
    CHECK_J_REAL(l, "items.0.purchase_frequency", 3.0);
    CHECK_J_REAL(l, "items.0.weekly_visit_frequency", 35.0 / 62);
    CHECK_J_REAL(l, "items.0.churn_rate", 0.0);
    CHECK_J_INT(l, "items.0.members", 2);
    CHECK_J_INT(l, "items.0.reachable_members", 2);
    CHECK_J_INT(l, "items.0.previous.rank", 1);
    CHECK_J_INT(l, "items.0.previous.net_sales_cents", 2800);
    CHECK_J_INT(l, "items.0.previous.repeat_buyers", 1);
    CHECK_J_INT(l, "items.0.previous.visit_days", 3);
    CHECK_J_REAL(l, "items.0.previous.churn_rate", 0.0);
    CHECK_J_INT(l, "items.0.previous.new_members", 1);
    /* silver, M2 M4 M10 M13: O4 1200 O6 1600 O18 1300 O10 1800 = 5900; before M2 P2 1000,
     * M10 P6 200 = 1200 (third of three before), neither gone; members 4 all reachable,
     * M13 new */
    CHECK_J_STR(l, "items.1.tier", "silver");
    CHECK_J_INT(l, "items.1.net_sales_cents", 5900);
    CHECK_J_INT(l, "items.1.active_members", 4);
    CHECK_J_INT(l, "items.1.repeat_buyers", 0);
    CHECK_J_INT(l, "items.1.previously_active_members", 2);
    CHECK_J_INT(l, "items.1.churned_members", 0);
    CHECK_J_INT(l, "items.1.members", 4);
    CHECK_J_INT(l, "items.1.reachable_members", 4);
    CHECK_J_INT(l, "items.1.new_members", 1);
    CHECK_J_INT(l, "items.1.previous.rank", 3);
    CHECK_J_INT(l, "items.1.previous.net_sales_cents", 1200);
    /* no tier (null): O5 (M3, void) O13 M17 1400 O14 M23 1100 O15 M24 1000 → 3500 from 3
     * orders, 1 void; non-member O7 O8 O9 are on no row. Before: P3 M5 800 P4 M6 300
     * P7 M11 1000 = 2100, all three gone → churn 1; members 21 − 6 = 15 */
    CHECK_J_NULL(l, "items.2.tier");
    CHECK_J_INT(l, "items.2.rank", 3);
    CHECK_J_INT(l, "items.2.net_sales_cents", 3500);
    CHECK_J_INT(l, "items.2.orders", 3);
    CHECK_J_INT(l, "items.2.fully_refunded_orders", 1);
    CHECK_J_INT(l, "items.2.active_members", 3);
    CHECK_J_INT(l, "items.2.churned_members", 3);
    CHECK_J_REAL(l, "items.2.churn_rate", 1.0);
    CHECK_J_INT(l, "items.2.members", 15);
    CHECK_J_INT(l, "items.2.previous.rank", 2);
    CHECK_J_INT(l, "items.2.previous.net_sales_cents", 2100);
    json_decref(l);
    /* a store manager's view: store 1's orders only, members by home store 1.
     * silver M2 O4 1200 M4 O6 1600 M13 O10 1800 = 4600, home store 1: M2 M4 M13;
     * gold M1 O1 2500 O2 800 O19 800 + M7 O17 200 = 4300, visits M1 10-03 10-22, M7 10-26
     * = 3, home store 1: M1; no tier: O5 void → 0, members M3 M5 M6 M14 M15 M16 */
    q.store_id = 1;
    l = reports_leaderboard_by(r, &q, "tier", reports_classes_classify, t, &e);
    CHECK_J_STR(l, "items.0.tier", "silver");
    CHECK_J_INT(l, "items.0.net_sales_cents", 4600);
    CHECK_J_INT(l, "items.0.members", 3);
    CHECK_J_STR(l, "items.1.tier", "gold");
    CHECK_J_INT(l, "items.1.net_sales_cents", 4300);
    CHECK_J_INT(l, "items.1.visit_days", 3);
    CHECK_J_INT(l, "items.1.members", 1);
    CHECK_J_NULL(l, "items.2.tier");
    CHECK_J_INT(l, "items.2.net_sales_cents", 0);
    CHECK_J_INT(l, "items.2.members", 6);
    json_decref(l);
    reports_classes_free(t);
}

static void check_others(reports_t *r)
{
    siyu_err e;
    siyu_err_init(&e);
    reports_query q = oct();
    /* products: A 9000, C 6400, B 2500, D 1500, E 600 (E of O6 refunded) = 20000
     * 80% = 16000: A+C = 15400 < 16000, A+C+B = 17900 → 3 SKUs; top 2% and 20% = 1 SKU = 45% */
    json_t *p = reports_products(r, &q, &e);
    CHECK_J_INT(p, "net_sales_cents", 20000);
    CHECK_J_INT(p, "skus_sold", 5);
    CHECK_J_INT(p, "skus_for_80pct", 3);
    CHECK_J_REAL(p, "top_2pct_share", 0.45);
    CHECK_J_REAL(p, "top_20pct_share", 0.45);
    CHECK_J_STR(p, "best_sellers.0.sku", "A");
    CHECK_J_STR(p, "best_sellers.1.sku", "C");
    CHECK_J_INT(p, "best_sellers.1.net_sales_cents", 6400);
    /* store 3 (live): A 1000 (O13) + 2000 (O15) = 3000, E 400 */
    CHECK_J_INT(p, "best_sellers_by_store.2.store_id", 3);
    CHECK_J_INT(p, "best_sellers_by_store.2.top.0.net_sales_cents", 3000);
    /* categories sorted: dairy (C+D = 7900), fruit (A+B = 11500), snack */
    CHECK_J_STR(p, "best_sellers_by_category.0.category", "dairy");
    CHECK_J_INT(p, "best_sellers_by_category.0.net_sales_cents", 7900);
    /* pairs: A-B in O1 O7, A-C in O3 O10 → 2 of 15 baskets each; then the singles by name */
    CHECK_J_INT(p, "baskets", 15);
    CHECK_J_STR(p, "bought_together.0.sku_a", "A");
    CHECK_J_STR(p, "bought_together.0.sku_b", "B");
    CHECK_J_INT(p, "bought_together.0.orders", 2);
    CHECK_J_REAL(p, "bought_together.0.support", 2.0 / 15);
    CHECK_J_STR(p, "bought_together.1.sku_b", "C");
    CHECK_J_STR(p, "bought_together.2.sku_b", "D"); /* A-D (O18) */
    CHECK_INT_EQ(json_array_size(at(p, "bought_together")), 7);
    json_decref(p);
    /* live: one session, 10-20: O13 1400 + O15 1000 in the live room; viewers M1 M2 M7;
     * in the next 72 hours (10-21..23) M1's O19 800 in store */
    json_t *l = reports_live(r, &q, &e);
    CHECK_INT_EQ(json_array_size(at(l, "sessions")), 1);
    CHECK_J_STR(l, "sessions.0.day", "2026-10-20");
    CHECK_J_INT(l, "sessions.0.live_orders", 2);
    CHECK_J_INT(l, "sessions.0.live_sales_cents", 2400);
    CHECK_J_INT(l, "sessions.0.viewers", 3);
    CHECK_J_INT(l, "sessions.0.viewer_orders_72h", 1);
    CHECK_J_INT(l, "sessions.0.viewer_sales_72h_cents", 800);
    CHECK_J_INT(l, "sessions.0.viewer_sales_72h_by_channel.store", 800);
    CHECK_J_REAL(l, "sessions.0.viewer_conversion_72h", 1.0 / 3);
    json_decref(l);
    /* cohorts: October joiners (10); bought in October M13 M17 M23 M24 → 0.4;
     * sales 1800 + 1400 + 1100 + 1000 = 5300 → 530 per member */
    json_t *c = reports_cohorts(r, &q, &e);
    CHECK_J_STR(c, "cohorts.0.cohort", "2026-10");
    CHECK_J_INT(c, "cohorts.0.members", 10);
    CHECK_J_REAL(c, "cohorts.0.months.0.retention", 0.4);
    CHECK_J_INT(c, "cohorts.0.months.0.cumulative_sales_per_member_cents", 530);
    json_decref(c);
    /* distributions: reachable (any) 11 members, October net M1 5900 M2 1200 M4 1600 M7 1500
     * M10 1300 M13 1800 M17 1400 = 14700 from 7 buyers; none: 10 members, 2100 (M23, M24) */
    json_t *d = reports_distributions(r, &q, &e);
    CHECK_J_INT(d, "members", 21);
    CHECK_J_STR(d, "groups.0.classes.5.class", "any");
    CHECK_J_INT(d, "groups.0.classes.5.members", 11);
    CHECK_J_INT(d, "groups.0.classes.5.net_sales_cents", 14700);
    CHECK_J_INT(d, "groups.0.classes.5.buyers", 7);
    CHECK_J_INT(d, "groups.0.classes.6.members", 10);
    CHECK_J_INT(d, "groups.0.classes.6.net_sales_cents", 2100);
    CHECK_J_STR(d, "groups.1.classes.3.class", "live");
    CHECK_J_INT(d, "groups.1.classes.3.members", 3);
    json_decref(d);
}

/* the hook: a made-up class from the member id */
static const char *parity(void *ctx, int64_t id)
{
    (void)ctx;
    return id % 2 ? "odd" : "even";
}

int main(void)
{
    chain c;
    chain_open(&c);
    build(&c);
    siyu_err e;
    siyu_err_init(&e);
    reports_query q = oct();
    json_t *k = reports_kpi(c.live, &q, &e);
    CHECK(k != NULL);
    check_kpi(k);
    {
        /* one month-long bucket is the period itself: M1 and M7 bought again → 2 of 9 */
        reports_query mq = oct();
        mq.granularity = REPORTS_MONTH;
        json_t *mk = reports_kpi(c.live, &mq, &e);
        CHECK_INT_EQ(json_array_size(at(mk, "series")), 1);
        CHECK_J_INT(mk, "series.0.active_members", 9);
        CHECK_J_INT(mk, "series.0.repeat_buyers", 2);
        CHECK_J_REAL(mk, "series.0.repurchase_rate", 2.0 / 9);
        json_decref(mk);
    }
    check_filters(c.live);
    check_leaderboards(c.live);
    check_tiers(c.live);
    check_tiers_from_index(c.live);
    check_others(c.live);
    json_t *h = reports_distribution_by(c.live, &q, "parity", parity, NULL, &e);
    CHECK_J_STR(h, "classes.0.class", "even");
    CHECK_J_INT(h, "classes.0.members", 10); /* even ids ≤ 20 without 12, and 24 */
    json_decref(h);

    /* the same report recomputed from the store */
    reports_t *fresh = NULL;
    CHECK(reports_load(c.f.d.conn, &fresh, &e) == 0);
    char *a = dump(k), *b = dump(reports_kpi(fresh, &q, &e));
    CHECK_STR_EQ(a, b);
    free(a);
    free(b);
    check_filters(fresh);
    check_leaderboards(fresh);
    check_tiers(fresh);
    check_others(fresh);
    /* every leaderboard, live == recomputed */
    for (int dim = 0; dim < 3; dim++) {
        a = dump(reports_leaderboard(c.live, &q, (reports_dim)dim, &e));
        b = dump(reports_leaderboard(fresh, &q, (reports_dim)dim, &e));
        CHECK_STR_EQ(a, b);
        free(a);
        free(b);
    }

    /* and the main figures by plain SQL */
    sqlref_db *db = sqlref_open(store_path(c.f.st)); /* the file, or the PostgreSQL database */
    sqlref_period sp;
    sqlref_period_kpis(db, q.from, q.to, &sp);
    CHECK_INT_EQ(sp.orders, 15);
    CHECK_INT_EQ(sp.net, 18900);
    CHECK_INT_EQ(sp.member_net, 16800);
    CHECK_INT_EQ(sp.items, 31);
    CHECK_INT_EQ(sp.active, 9);
    CHECK_INT_EQ(sp.repeat, 2);
    CHECK_INT_EQ(sp.visit_days, 12);
    CHECK_INT_EQ(sp.prev_active, 7);
    CHECK_INT_EQ(sp.churned, 3);
    sqlref_close(db);

    /* a bad query is a clear error */
    reports_query bad = oct();
    bad.to = bad.from - 1;
    CHECK(reports_kpi(c.live, &bad, &e) == NULL);
    CHECK_STR_EQ(e.field, "to");
    siyu_err_clear(&e);
    json_t *params = J("{\"from\":\"2026-10-01\",\"to\":\"2026-10-31\",\"channel\":\"tv\"}");
    CHECK(reports_query_parse(params, &bad, &e) < 0);
    CHECK_STR_EQ(e.field, "channel");
    json_decref(params);
    siyu_err_clear(&e);
    params = J(
        "{\"from\":\"2026-10-01\",\"to\":\"2026-10-31\",\"store\":\"4\",\"granularity\":\"day\"}");
    CHECK(reports_query_parse(params, &bad, &e) == 0);
    CHECK_INT_EQ(bad.store_id, 4);
    CHECK_INT_EQ(bad.granularity, REPORTS_DAY);
    json_decref(params);

    /* the answer cache: an answer is kept for the facts' version it was computed at, and
     * any change to the facts (here one more October order) makes it stale */
    {
        uint64_t v = reports_version(c.live);
        json_t *before = reports_kpi(c.live, &q, &e);
        CHECK(reports_cache_get(c.live, "kpi|october") == NULL);
        reports_cache_put(c.live, "kpi|october", v, before);
        json_t *hit = reports_cache_get(c.live, "kpi|october");
        CHECK(hit != NULL && json_equal(hit, before));
        CHECK(reports_cache_get(c.live, "kpi|november") == NULL);
        json_decref(hit);
        order(&c, "CACHE-1", 1, "store", 1, 1, "2026-10-16", "A1", 0);
        CHECK(reports_version(c.live) > v);
        CHECK(reports_cache_get(c.live, "kpi|october") == NULL);
        json_t *after = reports_kpi(c.live, &q, &e);
        CHECK_INT_EQ(json_integer_value(at(after, "current.orders")),
                     json_integer_value(at(before, "current.orders")) + 1);
        /* kept at a version already passed: never answered */
        reports_cache_put(c.live, "kpi|october", v, after);
        CHECK(reports_cache_get(c.live, "kpi|october") == NULL);
        uint64_t hits, misses;
        reports_cache_counts(c.live, &hits, &misses);
        CHECK_INT_EQ(hits, 1);
        CHECK_INT_EQ(misses, 4);
        json_decref(before);
        json_decref(after);
    }

    reports_free(fresh);
    chain_close(&c);
    return CHECK_DONE();
}
