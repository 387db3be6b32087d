/* month_tasks.c — guide tasks and mass messages through the month (docs/tasks.md).
 *
 * Setup: the guides of the three stores with the most guides get WeCom userids and add some
 * of their members as contacts (matched by phone); nine in ten of those grant a marketing
 * consent for wecom. The frequency cap is 1 a day, 3 a week, 4 a month. A weekly task
 * campaign (a call to every member of the three stores, due 48 hours after each round, a 20%
 * holdout) starts; the core's guides work its tasks as they work every task — at once, late,
 * or never (then they expire). Every seventh day at 10:00 HQ sends a mass message to the
 * contacted members, and on the next day again (the cap holds most of them back).
 *
 * At the end: the weekly campaign's report — totals, every store's and guide's row — equals
 * the counts read from the store directly; it made one round per week; no member was ever
 * tasked by a mass message without a granted wecom consent, twice by the same message, or
 * beyond the cap counting every WeCom send before it (journeys' messages and mass messages);
 * and no journey's WeCom message went out beyond the same cap either (the caps are shared). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "month.h"

#define STORES 3
#define PER_GUIDE 25
#define MAX_CONTACTED 1024
#define MAX_MASS 32

static int ck; /* "G" */
static month_rng rng;
static int64_t store[STORES], weekly, mass[MAX_MASS];
static int n_mass, weekday;
static int64_t contacted[MAX_CONTACTED];
static int n_contacted;

static void contact_guides(int64_t s)
{
    for (int k = 0; k < 6; k++) {
        int64_t g = month_q1("SELECT id FROM staff WHERE role = 'guide' AND store_id = ?1"
                             " ORDER BY id LIMIT 1 OFFSET ?2",
                             s, k);
        if (g <= 0) return;
        char path[96];
        snprintf(path, sizeof path, "/api/v1/staff/%lld", (long long)g);
        month_seen(ck);
        if (month_call("PATCH", path, NULL, "{\"wecom_userid\":\"month-g%lld\"}", (long long)g) !=
            200) {
            month_fail(ck, "PATCH %s: %.200s", path, month_body());
            continue;
        }
        for (int i = 0; i < PER_GUIDE && n_contacted < MAX_CONTACTED; i++) {
            int64_t m = month_q1("SELECT id FROM members WHERE guide_id = ?1 AND merged_into IS"
                                 " NULL ORDER BY id LIMIT 1 OFFSET ?2",
                                 g, i);
            if (m <= 0) break;
            snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)m);
            json_t *o = NULL;
            if (month_call("GET", path, &o, NULL) != 200) {
                json_decref(o);
                continue;
            }
            const char *phone = json_string_value(json_object_get(o, "phone"));
            char ph[32] = "";
            if (phone && !strchr(phone, '*')) snprintf(ph, sizeof ph, "%s", phone);
            bool erased = json_is_true(json_object_get(o, "erased"));
            json_decref(o);
            if (!ph[0] || erased) continue;
            json_t *r = NULL;
            int st = month_call("POST", "/api/v1/wecom/events", &r,
                                "{\"event\":\"add_external_contact\",\"userid\":\"month-g%lld\","
                                "\"external_userid\":\"wm-month-%lld\",\"phone\":\"%s\","
                                "\"at\":\"%s\"}",
                                (long long)g, (long long)m, ph, month_T(month_now()));
            int64_t got = month_jint(r, "results.0.member_id");
            json_decref(r);
            month_seen(ck);
            if (st != 201 || got != m) {
                month_fail(ck, "contact of member %lld: HTTP %d, member %lld: %.200s", (long long)m,
                           st, (long long)got, month_body());
                continue;
            }
            contacted[n_contacted++] = m;
            if (month_chance(&rng, 0.9)) {
                snprintf(path, sizeof path, "/api/v1/members/%lld/consents", (long long)m);
                month_expect(month_call("POST", path, NULL,
                                        "{\"purpose\":\"marketing\",\"channel\":\"wecom\","
                                        "\"granted\":true,\"source\":\"guide\"}"),
                             200, 201, "POST /members/{id}/consents", m);
            }
        }
    }
}

static void setup(void)
{
    ck = month_check_kind("G guide tasks and mass messages");
    month_rng_init(&rng, "tasks");
    for (int k = 0; k < STORES; k++) {
        store[k] = month_q1("SELECT store_id FROM staff WHERE role = 'guide' AND store_id IS NOT"
                            " NULL GROUP BY store_id ORDER BY count(*) DESC, store_id"
                            " LIMIT 1 OFFSET ?1",
                            k, 0);
        if (store[k] > 0) contact_guides(store[k]);
    }
    month_seen(ck);
    if (month_call("PUT", "/api/v1/mass-messages/settings", NULL,
                   "{\"frequency_cap\":{\"per_day\":1,\"per_week\":3,\"per_month\":4}}") != 200)
        month_fail(ck, "PUT /mass-messages/settings: %.200s", month_body());
    /* the weekly round falls on the weekday after the month's first day */
    int64_t d = month_local_day(month_start()) + 1;
    weekday = (int)(((d % 7) + 7 + 3) % 7) + 1;
    json_t *o = NULL;
    int st = month_call("POST", "/api/v1/task-campaigns", &o,
                        "{\"name\":\"每周回访\",\"kind\":\"call\","
                        "\"script\":\"{{member.name}}您好，我是{{guide.name}}\","
                        "\"target\":{\"store_ids\":[%lld,%lld,%lld]},"
                        "\"recurring\":{\"weekday\":%d},\"due_hours\":48,\"holdout_pct\":20,"
                        "\"window_days\":14}",
                        (long long)store[0], (long long)store[1], (long long)store[2], weekday);
    weekly = month_jint(o, "id");
    json_decref(o);
    month_seen(ck);
    if (st != 201 || weekly <= 0)
        month_fail(ck, "POST /task-campaigns: HTTP %d %.300s", st, month_body());
}

static void send_mass(void)
{
    if (n_mass >= MAX_MASS || !n_contacted) return;
    char *ids = malloc((size_t)n_contacted * 24 + 8);
    size_t k = 0;
    ids[k++] = '[';
    for (int i = 0; i < n_contacted; i++)
        k += (size_t)sprintf(ids + k, "%s%lld", i ? "," : "", (long long)contacted[i]);
    ids[k++] = ']';
    ids[k] = 0;
    json_t *o = NULL;
    int st = month_call("POST", "/api/v1/mass-messages", &o,
                        "{\"name\":\"月度群发\",\"text\":\"{{member.name}}，本周新品到店\","
                        "\"member_ids\":%s}",
                        ids);
    free(ids);
    month_seen(ck);
    /* a member merged away or erased since is still a member id: merged ones follow, an
     * erased one is a 404 — the whole message is refused, which is fine once */
    if (st == 201)
        mass[n_mass++] = month_jint(o, "id");
    else if (st != 404)
        month_fail(ck, "POST /mass-messages: HTTP %d %.300s", st, month_body());
    json_decref(o);
}

static void act(int day, int minute)
{
    if (minute == 10 * 60 && day % 7 == 3) send_mass();
    if (minute == 13 * 60 + 30 && day % 7 == 4) send_mass();
}

/* The report's row against the store's own counts for the same tasks. */
static void compare(json_t *row, const char *where, int64_t a, const char *what)
{
    static const char *const col[] = {"tasks", "done",    "on_time", "late",
                                      "open",  "skipped", "expired"};
    static const char *const cond[] = {
        "1 = 1",
        "state = 'done'",
        "state = 'done' AND (due_at IS NULL OR done_at <= due_at)",
        "state = 'done' AND done_at > due_at",
        "state = 'open'",
        "state = 'skipped'",
        "state = 'expired'",
    };
    for (int i = 0; i < 7; i++) {
        char sql[400];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1 AND %s%s", cond[i],
                 where);
        int64_t want = month_q1(sql, weekly, a), got = month_jint(row, col[i]);
        month_seen(ck);
        if (got != want)
            month_fail(ck, "weekly campaign %s: %s is %lld in the report, %lld in the store", what,
                       col[i], (long long)got, (long long)want);
    }
}

static void check(void)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/task-campaigns/%lld/report", (long long)weekly);
    json_t *r = NULL;
    month_seen(ck);
    if (month_call("GET", path, &r, NULL) != 200) {
        month_fail(ck, "GET %s: %.300s", path, month_body());
        json_decref(r);
        return;
    }
    compare(r, "", 0, "total");
    json_t *rows = json_object_get(r, "by_store"), *row;
    size_t i;
    json_array_foreach(rows, i, row)
    {
        char what[48];
        snprintf(what, sizeof what, "store %lld", (long long)month_jint(row, "store_id"));
        compare(row, " AND store_id = ?2", month_jint(row, "store_id"), what);
    }
    int64_t guides_sum = 0;
    rows = json_object_get(r, "by_guide");
    json_array_foreach(rows, i, row)
    {
        char what[48];
        snprintf(what, sizeof what, "guide %lld", (long long)month_jint(row, "guide_id"));
        /* guide_id null: the tasks waiting for whoever takes a departed guide's members */
        int64_t g =
            json_is_null(json_object_get(row, "guide_id")) ? 0 : month_jint(row, "guide_id");
        compare(row, " AND COALESCE(guide_id, 0) = ?2", g, what);
        guides_sum += month_jint(row, "tasks");
    }
    month_seen(ck);
    if (guides_sum != month_jint(r, "tasks"))
        month_fail(ck, "weekly campaign: the guides' rows sum to %lld tasks of %lld",
                   (long long)guides_sum, (long long)month_jint(r, "tasks"));
    /* the states the month's guides leave: done on time, late, expired */
    if (month_days() >= 14 && (month_jint(r, "on_time") <= 0 || month_jint(r, "expired") <= 0))
        month_fail(ck, "weekly campaign: %lld on time, %lld late, %lld expired — expected all",
                   (long long)month_jint(r, "on_time"), (long long)month_jint(r, "late"),
                   (long long)month_jint(r, "expired"));
    json_decref(r);
    /* one round per week: the campaign's weekday between its first instant and now */
    int64_t d0 = month_local_day(month_start()), d1 = month_local_day(month_now()), want = 0;
    for (int64_t d = d0; d <= d1; d++)
        want += (int)(((d % 7) + 7 + 3) % 7) + 1 == weekday;
    int64_t rounds =
        month_q1("SELECT count(DISTINCT round) FROM guide_tasks WHERE campaign_id = ?1", weekly, 0);
    month_seen(ck);
    if (rounds != want)
        month_fail(ck, "weekly campaign: %lld rounds, %lld weekdays passed", (long long)rounds,
                   (long long)want);
    /* the campaign's counts and its tasks (siyu check holds it too) */
    month_seen(ck);
    if (month_q1("SELECT count(*) FROM task_campaigns c WHERE c.tasks <> (SELECT count(*) FROM"
                 " guide_tasks t WHERE t.campaign_id = c.id)",
                 0, 0) != 0)
        month_fail(ck, "a campaign's task count differs from its tasks");

    /* mass messages: consent, once per member, the cap */
    int64_t total = 0;
    for (int k = 0; k < n_mass; k++) {
        total += month_q1("SELECT count(*) FROM guide_tasks WHERE campaign_id = ?1", mass[k], 0);
        month_seen(ck);
        /* (a merge may bring two members' tasks together: survivors are left out) */
        int64_t dup = month_q1("SELECT count(*) - count(DISTINCT member_id) FROM guide_tasks t"
                               " WHERE campaign_id = ?1"
                               " AND NOT EXISTS (SELECT 1 FROM merges g WHERE g.into_id ="
                               " t.member_id)",
                               mass[k], 0);
        if (dup)
            month_fail(ck, "mass message %lld tasked %lld members twice", (long long)mass[k],
                       (long long)dup);
    }
    month_seen(ck);
    if (n_mass && total <= 0) month_fail(ck, "no mass message tasked anyone");
    int64_t no_consent =
        month_q1("SELECT count(*) FROM guide_tasks t WHERE t.kind = 'mass_message' AND NOT EXISTS"
                 " (SELECT 1 FROM consent_history h WHERE h.member_id = t.member_id AND h.purpose ="
                 " 'marketing' AND h.channel = 'wecom' AND h.granted = 1 AND h.at <= t.created_at)"
                 " AND NOT EXISTS (SELECT 1 FROM erasures x WHERE x.member_id = t.member_id)",
                 0, 0);
    month_seen(ck);
    if (no_consent)
        month_fail(ck, "%lld mass message tasks for members without a wecom consent",
                   (long long)no_consent);
    static const struct {
        int64_t window, cap;
        const char *name;
    } caps[] = {{86400, 1, "a day"}, {7 * 86400, 3, "a week"}, {30 * 86400, 4, "a month"}};
    for (int c = 0; c < 3; c++) {
        int64_t over = month_q1(
            "SELECT count(*) FROM guide_tasks t WHERE t.kind = 'mass_message' AND"
            " (SELECT count(*) FROM messages m WHERE m.member_id = t.member_id AND m.channel ="
            " 'wecom' AND m.created_at > t.created_at - ?1 AND m.created_at < t.created_at AND"
            " m.status NOT IN ('dead', 'failed', 'skipped')) + (SELECT count(*) FROM guide_tasks u"
            " WHERE u.member_id = t.member_id AND u.kind = 'mass_message' AND u.id < t.id AND"
            " u.created_at > t.created_at - ?1 AND u.state IN ('open', 'done')) >= ?2"
            " AND NOT EXISTS (SELECT 1 FROM merges g WHERE g.into_id = t.member_id)",
            caps[c].window, caps[c].cap);
        month_seen(ck);
        if (over)
            month_fail(ck, "%lld mass message tasks beyond the cap of %lld %s", (long long)over,
                       (long long)caps[c].cap, caps[c].name);
        /* the journeys' WeCom sends obey the same cap, counting the campaigns' WeCom tasks */
        over = month_q1(
            "SELECT count(*) FROM messages t WHERE t.channel = 'wecom' AND t.status NOT IN"
            " ('dead', 'failed', 'skipped') AND (SELECT count(*) FROM messages m WHERE"
            " m.member_id = t.member_id AND m.channel = 'wecom' AND m.id < t.id AND"
            " m.created_at > t.created_at - ?1 AND m.status NOT IN ('dead', 'failed', 'skipped'))"
            " + (SELECT count(*) FROM guide_tasks u WHERE u.member_id = t.member_id AND"
            " u.campaign_id IS NOT NULL AND u.channel = 'wecom' AND u.created_at <= t.created_at"
            " AND u.created_at > t.created_at - ?1 AND u.state IN ('open', 'done')) >= ?2"
            " AND NOT EXISTS (SELECT 1 FROM merges g WHERE g.into_id = t.member_id)",
            caps[c].window, caps[c].cap);
        month_seen(ck);
        if (over)
            month_fail(ck, "%lld journey WeCom messages beyond the shared cap of %lld %s",
                       (long long)over, (long long)caps[c].cap, caps[c].name);
    }
}

const month_participant month_tasks = {"tasks", setup, act, check, NULL};
