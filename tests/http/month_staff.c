/* month_staff.c — guides, channel QR codes and a departure through the month.
 *
 * Three guides of store 1 (A, B, C) with WeCom userids; a channel QR code of campaign
 * "month-spring" rotates A and B under a daily cap of 4 per guide with C as backup. Every day
 * at 10:00 and 17:00 a few customers scan it and the bridge posts the contact that follows
 * (the code's state), which makes them members attributed to the code; at every instant of
 * the opening hours some of them buy. Halfway through the month, at 13:30, A departs with a
 * transfer of their customers to B and C; the next day at 10:00 the bridge reports a third of
 * the items done and a tenth refused, and the rest end done by the tick 24 h after.
 *
 * At the end: every order placed by a transferred member is credited to the guide the member
 * had at that instant (A before their item was done, the receiver after); A's gross sales
 * before the departure are what they were when A departed; no scan went to A after the departure;
 * the code's caps were never exceeded on any day; no item is still waiting and every customer
 * A had is in the transfer; the campaign's new members are the members the code brought.
 * Right after the departure HQ launches a call campaign over store 1: A gets no task
 * (nor any task made after the departure, by anyone); the tasks of A's customers wait without
 * a guide and follow each member to the receiver once their item is done — none still waits
 * for a member taken over. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "month.h"

#define CAP 4
#define MAX_MINE 4096

static int ck; /* "G" */
static month_rng rng;
static int64_t store = 1, ga, gb, gc, code, transfer, handover_campaign;
static int64_t mine[MAX_MINE]; /* the members the code brought */
static int n_mine, ext_seq, order_seq, last_scan_slot = -1;
static int depart_day, results_day;
static int64_t departed_at, a_sales_before = -1, a_customers;

static int64_t make(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int64_t make(const char *path, const char *fmt, ...)
{
    char body[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    json_t *o = NULL;
    int st = month_call("POST", path, &o, "%s", body);
    month_seen(ck);
    int64_t id = month_jint(o, "id");
    if (st != 201 && st != 200) {
        month_fail(ck, "setup: POST %s %s answered %d: %.200s", path, body, st, month_body());
        id = 0;
    }
    json_decref(o);
    return id;
}

static void userid(int64_t staff, const char *uid)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/staff/%lld", (long long)staff);
    month_seen(ck);
    int st = month_call("PATCH", path, NULL, "{\"wecom_userid\":\"%s\"}", uid);
    if (st != 200) month_fail(ck, "PATCH %s answered %d: %.200s", path, st, month_body());
}

static void setup(void)
{
    ck = month_check_kind("G guides: codes, contacts, a departure and its transfer");
    month_rng_init(&rng, "staff");
    /* the demo chain waits 10 days to show waiting items; a chain's month waits WeCom's 24 h */
    month_expect(month_call("PUT", "/api/v1/guides/settings", NULL, "{\"transfer_wait_hours\":24}"),
                 200, 200, "PUT /guides/settings", 0);
    const char *staff = "{\"name\":\"%s\",\"role\":\"guide\",\"store_id\":%lld}";
    ga = make("/api/v1/staff", staff, "月测离职导购", (long long)store);
    gb = make("/api/v1/staff", staff, "月测接替导购一", (long long)store);
    gc = make("/api/v1/staff", staff, "月测接替导购二", (long long)store);
    userid(ga, "month-staff-a");
    userid(gb, "month-staff-b");
    userid(gc, "month-staff-c");
    code = make("/api/v1/qr-codes",
                "{\"name\":\"月测活码\",\"target\":{\"guide_ids\":[%lld,%lld]},"
                "\"daily_cap_per_guide\":%d,\"backup_guide_id\":%lld,\"campaign\":\"month-spring\","
                "\"cost_cents\":120000}",
                (long long)ga, (long long)gb, CAP, (long long)gc);
    depart_day = month_days() / 2;
    results_day = depart_day + 1;
}

static const char *uid_of(int64_t guide)
{
    return guide == ga ? "month-staff-a" : guide == gb ? "month-staff-b" : "month-staff-c";
}

/* A customer scans the code; the bridge posts the contact that follows. */
static void scan_and_add(void)
{
    char path[64], ext[40];
    snprintf(path, sizeof path, "/api/v1/qr-codes/%lld/scan", (long long)code);
    snprintf(ext, sizeof ext, "wmMSTAFF%06d", ++ext_seq);
    json_t *o = NULL;
    int st = month_call("POST", path, &o, "{\"external_userid\":\"%s\"}", ext);
    month_seen(ck);
    if (st == 409) { /* every guide and the backup at their cap today */
        json_decref(o);
        return;
    }
    if (st != 201) {
        month_fail(ck, "scan answered %d: %.200s", st, month_body());
        json_decref(o);
        return;
    }
    int64_t guide = month_jint(o, "guide_id");
    json_decref(o);
    if (departed_at && guide == ga)
        month_fail(ck, "a scan went to departed guide %lld", (long long)ga);
    st = month_call("POST", "/api/v1/wecom/events", &o,
                    "{\"event\":\"add_external_contact\",\"userid\":\"%s\",\"external_userid\":"
                    "\"%s\",\"state\":\"qr-%lld\",\"at\":\"%s\"}",
                    uid_of(guide), ext, (long long)code, month_T(month_now()));
    if (month_expect(st, 201, 201, "POST /wecom/events", 0) && n_mine < MAX_MINE)
        mine[n_mine++] = month_jint(o, "results.0.member_id");
    json_decref(o);
}

static void buy(int64_t m)
{
    int64_t cents = 1000 + 100 * month_uniform(&rng, 200);
    int st = month_call("POST", "/api/v1/orders", NULL,
                        "{\"channel\":\"store\",\"external_id\":\"MSTAFF-%d\",\"store_id\":%lld,"
                        "\"member_id\":%lld,\"placed_at\":\"%s\",\"total_cents\":%lld,"
                        "\"items\":[{\"sku\":\"SKU0001\",\"qty\":1,\"unit_price_cents\":%lld}]}",
                        ++order_seq, (long long)store, (long long)m, month_T(month_now()),
                        (long long)cents, (long long)cents);
    month_expect(st, 201, 201, "POST /orders (guides)", m);
}

/* A's gross sales credited from the month's first day to yesterday (the KPI report; gross:
 * the chain's own refunds of those orders later lower their net, rightly). */
static int64_t a_sales_until_yesterday(void)
{
    int64_t d0 = month_local_day(month_start()), d1 = month_local_day(month_now()) - 1;
    if (d1 < d0) return 0;
    char from[16], to[16], path[200];
    snprintf(from, sizeof from, "%.10s", month_T(d0 * 86400 - 28800 + 43200));
    snprintf(to, sizeof to, "%.10s", month_T(d1 * 86400 - 28800 + 43200));
    snprintf(path, sizeof path, "/api/v1/reports/kpi?from=%s&to=%s&guide=%lld", from, to,
             (long long)ga);
    json_t *o = NULL;
    int st = month_call("GET", path, &o, NULL);
    month_seen(ck);
    int64_t v = month_jint(o, "current.gross_sales_cents");
    if (st != 200) month_fail(ck, "GET %s answered %d: %.200s", path, st, month_body());
    json_decref(o);
    return v;
}

static void depart(void)
{
    a_customers = month_q1("SELECT count(*) FROM (SELECT id FROM members WHERE guide_id = ?1"
                           " AND merged_into IS NULL UNION SELECT c.member_id FROM contacts c"
                           " JOIN members m ON m.id = c.member_id WHERE c.guide_id = ?1 AND"
                           " c.customer_deleted_at IS NULL AND c.guide_deleted_at IS NULL AND"
                           " m.merged_into IS NULL) x",
                           ga, 0);
    a_sales_before = a_sales_until_yesterday();
    char path[64];
    snprintf(path, sizeof path, "/api/v1/staff/%lld/depart", (long long)ga);
    json_t *o = NULL;
    int st =
        month_call("POST", path, &o, "{\"transfer_to\":[%lld,%lld]}", (long long)gb, (long long)gc);
    month_seen(ck);
    if (st != 200) {
        month_fail(ck, "depart answered %d: %.200s", st, month_body());
    } else {
        transfer = month_jint(o, "transfer_id");
        departed_at = month_now();
    }
    json_decref(o);
}

/* The bridge reports a third of the waiting items done and a tenth refused. */
static void bridge_results(void)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/transfers/%lld?limit=1000", (long long)transfer);
    json_t *o = NULL;
    int st = month_call("GET", path, &o, NULL);
    month_seen(ck);
    if (st != 200) {
        month_fail(ck, "GET %s answered %d", path, st);
        json_decref(o);
        return;
    }
    size_t cap = 200000, n = 0, i;
    char *body = malloc(cap);
    n += (size_t)snprintf(body + n, cap - n, "{\"results\":[");
    int k = 0;
    json_t *it;
    json_array_foreach(json_object_get(o, "items"), i, it)
    {
        if (strcmp(json_string_value(json_object_get(it, "state")), "waiting") != 0) continue;
        int r = (int)month_uniform(&rng, 30);
        if (r >= 13 || n + 128 > cap || k >= 1000) continue;
        n += (size_t)snprintf(body + n, cap - n, "%s{\"member_id\":%lld,\"state\":\"%s\"}",
                              k++ ? "," : "", (long long)month_jint(it, "member_id"),
                              r < 10 ? "done" : "refused");
    }
    snprintf(body + n, cap - n, "]}");
    json_decref(o);
    if (k) {
        snprintf(path, sizeof path, "/api/v1/transfers/%lld/results", (long long)transfer);
        st = month_call("POST", path, NULL, "%s", body);
        month_expect(st, 201, 201, "POST /transfers/{id}/results", 0);
    }
    free(body);
}

static void act(int day, int minute)
{
    if (!code) return;
    bool open = minute >= 8 * 60 && minute < 22 * 60;
    /* orders first: a done item at this instant comes after them (the rule below) */
    if (open && n_mine)
        for (int i = 0; i < 3; i++)
            if (month_chance(&rng, 0.5)) buy(mine[month_uniform(&rng, n_mine)]);
    int slot = day * 2 + (minute >= 17 * 60);
    if ((minute == 10 * 60 || minute == 17 * 60) && slot != last_scan_slot) {
        last_scan_slot = slot;
        int scans = 3 + (int)month_uniform(&rng, 4);
        for (int i = 0; i < scans; i++)
            scan_and_add();
    }
    if (day == depart_day && minute == 13 * 60 + 30 && !departed_at) depart();
    if (day == depart_day && departed_at && !handover_campaign) {
        json_t *o = NULL;
        char due[40];
        snprintf(due, sizeof due, "%s", month_T(month_now() + 5 * 86400));
        int st = month_call("POST", "/api/v1/task-campaigns", &o,
                            "{\"name\":\"交接期回访\",\"kind\":\"call\",\"script\":\"回访\","
                            "\"holdout_pct\":0,\"target\":{\"store_ids\":[%lld]},\"due\":\"%s\"}",
                            (long long)store, due);
        month_seen(ck);
        if (st != 201)
            month_fail(ck, "POST /task-campaigns after the departure: %d %.200s", st, month_body());
        handover_campaign = month_jint(o, "id");
        json_decref(o);
    }
    if (day == results_day && minute == 10 * 60 && transfer) bridge_results();
}

static void check(void)
{
    month_seen(ck);
    if (!transfer) {
        month_fail(ck, "guide %lld never departed with a transfer", (long long)ga);
        return;
    }
    /* every customer A had is in the transfer, and no item waits any more */
    int64_t items =
                month_q1("SELECT count(*) FROM transfer_items WHERE transfer_id = ?1", transfer, 0),
            waiting = month_q1("SELECT count(*) FROM transfer_items WHERE transfer_id = ?1 AND"
                               " state = 'waiting'",
                               transfer, 0),
            done = month_q1("SELECT count(*) FROM transfer_items WHERE transfer_id = ?1 AND"
                            " state = 'done'",
                            transfer, 0);
    month_seen(ck);
    if (items != a_customers)
        month_fail(ck, "the transfer holds %lld items, guide A had %lld customers",
                   (long long)items, (long long)a_customers);
    if (waiting != 0 && month_days() - depart_day > 2)
        month_fail(ck, "%lld transfer items still wait", (long long)waiting);
    /* credit: every order of a transferred member went to the guide the member had then —
     * the receiver of the item done before it, else A */
    int64_t
        wrong = month_q1(
            "SELECT count(*) FROM orders o JOIN transfer_items t ON t.member_id = o.member_id AND"
            " t.transfer_id = ?1 WHERE o.external_id LIKE 'MSTAFF-%' AND COALESCE(o.guide_id, 0) <>"
            " CASE WHEN t.state = 'done' AND t.ended_at < o.placed_at THEN t.to_guide_id ELSE ?2 "
            "END",
            transfer, ga),
        checked = month_q1("SELECT count(*) FROM orders o JOIN transfer_items t ON t.member_id"
                           " = o.member_id AND t.transfer_id = ?1 WHERE o.external_id LIKE"
                           " 'MSTAFF-%'",
                           transfer, 0);
    month_seen(ck);
    if (wrong != 0)
        month_fail(ck,
                   "%lld orders of transferred members credited to another guide than the "
                   "member's at that instant",
                   (long long)wrong);
    /* A's sales before the departure are what they were */
    if (a_sales_before >= 0) {
        int64_t d0 = month_local_day(month_start()), d1 = month_local_day(departed_at) - 1;
        char from[16], to[16], path[200];
        snprintf(from, sizeof from, "%.10s", month_T(d0 * 86400 - 28800 + 43200));
        snprintf(to, sizeof to, "%.10s", month_T(d1 * 86400 - 28800 + 43200));
        snprintf(path, sizeof path, "/api/v1/reports/kpi?from=%s&to=%s&guide=%lld", from, to,
                 (long long)ga);
        json_t *o = NULL;
        int st = month_call("GET", path, &o, NULL);
        month_seen(ck);
        if (st != 200 || month_jint(o, "current.gross_sales_cents") != a_sales_before)
            month_fail(ck, "guide A's sales before the departure: %lld then, %lld now (HTTP %d)",
                       (long long)a_sales_before,
                       (long long)month_jint(o, "current.gross_sales_cents"), st);
        json_decref(o);
    }
    /* scans: none to A after the departure; no cap ever exceeded */
    int64_t late = month_q1("SELECT count(*) FROM qr_scans WHERE code_id = ?1 AND guide_id = ?2"
                            " AND at >= (SELECT departed_at FROM staff WHERE id = ?2)",
                            code, ga),
            over = month_q1("SELECT count(*) FROM (SELECT day, guide_id, count(*) AS n"
                            " FROM qr_scans WHERE code_id = ?1 GROUP BY day, guide_id) x"
                            " WHERE n > ?2",
                            code, CAP);
    month_seen(ck);
    if (late) month_fail(ck, "%lld scans went to guide A after the departure", (long long)late);
    /* tasks: none made for A after the departure; the handover campaign's tasks of A's
     * customers are on the receiver of a done item, and without a guide otherwise */
    int64_t to_a = month_q1("SELECT count(*) FROM guide_tasks WHERE guide_id = ?1 AND"
                            " created_at >= (SELECT departed_at FROM staff WHERE id = ?1)",
                            ga, 0),
            astray =
                month_q1("SELECT count(*) FROM guide_tasks k JOIN transfer_items t ON t.member_id ="
                         " k.member_id AND t.transfer_id = ?1 WHERE k.campaign_id = ?2 AND"
                         " k.guide_id IS NULL AND t.state = 'done' AND (k.state = 'open' OR"
                         " COALESCE(k.done_at, 0) > t.ended_at)",
                         transfer, handover_campaign),
            handed = month_q1("SELECT count(*) FROM guide_tasks k JOIN transfer_items t ON"
                              " t.member_id = k.member_id AND t.transfer_id = ?1 WHERE"
                              " k.campaign_id = ?2",
                              transfer, handover_campaign);
    month_seen(ck);
    if (!handover_campaign) month_fail(ck, "no campaign after the departure");
    if (to_a) month_fail(ck, "%lld tasks made for departed guide A", (long long)to_a);
    if (astray)
        month_fail(ck,
                   "%lld of the handover campaign's %lld tasks of A's customers still wait for a "
                   "guide after their member was taken over",
                   (long long)astray, (long long)handed);
    if (over) month_fail(ck, "%lld (day, guide) pairs over the code's cap", (long long)over);
    /* the campaign's new members are the members the code brought (less those the chain's
     * own traffic merged away since) */
    int live = 0;
    for (int i = 0; i < n_mine; i++)
        live += month_q1("SELECT count(*) FROM members WHERE id = ?1 AND merged_into IS NULL",
                         mine[i], 0) == 1;
    json_t *o = NULL;
    int st = month_call("GET", "/api/v1/qr-campaigns?campaign=month-spring", &o, NULL);
    month_seen(ck);
    if (st != 200 || month_jint(o, "items.0.new_members") != live)
        month_fail(ck,
                   "campaign month-spring: %lld new members, the code brought %d live (HTTP %d)",
                   (long long)month_jint(o, "items.0.new_members"), live, st);
    json_decref(o);
    fprintf(stderr,
            "  guides: %d members through the code, %lld customers transferred (%lld done), "
            "%d orders of theirs, %lld by transferred members checked for credit\n",
            n_mine, (long long)items, (long long)done, order_seq, (long long)checked);
}

const month_participant month_staff = {"staff", setup, act, check, NULL};
