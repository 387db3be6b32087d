/* month_fission.c — fission through the month (docs/fission.md).
 *
 * Setup: an invite campaign (a join and a first order pay the referrer, at most 8 paid
 * referees each, one join per device a day), a lucky wheel whose one gift has stock 40, a
 * group-buy of teams of 3 with a day to fill, and an assist of 4 helpers; ten seed members get
 * invite links. Every day at 10:00: new members join through the links (a few from a device
 * already used that day, a few members already in the chain come with a link: both refused),
 * a third of the new members send links of their own, referees place first orders, members
 * play the wheel, two teams open (one left short, so it fails at its deadline), an assist
 * starts and gets helpers. At 00:30 the test sweeps the deadlines.
 *
 * Check: every referral, refusal and team seat the test was answered is in the store as it
 * was answered; the wheel's gift never past its stock and its count equal to the wins
 * answered; every team holds exactly the seats acknowledged, no more than 3, succeeded
 * exactly when full, a refund instruction per member of a failed one, which the mall pulls
 * (GET /refund-instructions, by cursor, each once) and acknowledges; every assist's cuts sum
 * to its price minus its current price, helped as many times as acknowledged; and the
 * referral report (links) equals an independent count: invites sent, inviters, members
 * joined, first orders (counted from the orders), and the downstream of the referrer that
 * brought the most, walked here from the test's own record of who referred whom. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "month.h"

#define MAX_MEMBERS 4096
#define MAX_TEAMS 512
#define MAX_ASSISTS 256

static int ck; /* "F" */
static month_rng rng;
static int64_t invite_c, wheel_c, group_c, assist_c;
static int phone_seq, order_seq, play_seq;

/* the test's own record of the graph: who joined through whose link */
static struct {
    int64_t id, referrer;
    bool ordered;
} joined[MAX_MEMBERS];
static int n_joined;
static struct {
    int64_t member;
    char state[64];
} inviters[MAX_MEMBERS];
static int n_inviters;
static int refused_answers, wins;
static struct {
    int64_t id;
    int seats;   /* acknowledged: the leader and each 201 join */
    bool short_; /* left short on purpose */
} teams[MAX_TEAMS];
static int n_teams;
static struct {
    int64_t id;
    int helped;
} assists[MAX_ASSISTS];
static int n_assists;

static int64_t create(const char *body)
{
    json_t *o = NULL;
    int st = month_call("POST", "/api/v1/campaigns", &o, "%s", body);
    month_seen(ck);
    if (st != 201) month_fail(ck, "POST /campaigns answered %d: %.300s", st, month_body());
    int64_t id = month_jint(o, "id");
    json_decref(o);
    return id;
}

static bool invite(int64_t member)
{
    if (n_inviters >= MAX_MEMBERS) return false;
    char path[96];
    json_t *o = NULL;
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/invites", (long long)invite_c);
    int st = month_call("POST", path, &o, "{\"member_id\":%lld}", (long long)member);
    bool ok = month_expect(st, 201, 200, "POST /campaigns/{id}/invites", member);
    if (ok && st == 201) { /* a 200 is the member's link already listed */
        inviters[n_inviters].member = member;
        snprintf(inviters[n_inviters].state, sizeof inviters[n_inviters].state, "%s",
                 json_string_value(json_object_get(o, "state")));
        n_inviters++;
    }
    json_decref(o);
    return ok;
}

static int64_t order(int64_t member, int64_t cents, char ext[32])
{
    json_t *o = NULL;
    snprintf(ext, 32, "FIS-%d", ++order_seq);
    int st = month_call("POST", "/api/v1/orders", &o,
                        "{\"channel\":\"miniprogram\",\"external_id\":\"%s\",\"store_id\":1,"
                        "\"member_id\":%lld,\"placed_at\":\"%s\",\"total_cents\":%lld,"
                        "\"discount_cents\":0,\"points_used\":0,\"items\":[{\"sku\":\"A1\","
                        "\"category\":\"grocery\",\"qty\":1,\"unit_price_cents\":%lld}]}",
                        ext, (long long)member, month_T(month_now()), (long long)cents,
                        (long long)cents);
    int64_t id =
        month_expect(st, 201, 201, "POST /orders (fission)", member) ? month_jint(o, "id") : 0;
    json_decref(o);
    return id;
}

static void setup(void)
{
    ck = month_check_kind("F fission: referrals, wheel, teams, assists");
    month_rng_init(&rng, "fission");
    char ends[40];
    snprintf(ends, sizeof ends, "%s", month_T(month_start() + (int64_t)(month_days() + 5) * 86400));
    char body[1024];
    invite_c = create("{\"kind\":\"invite\",\"name\":\"月测老带新\",\"rules\":{\"on_join\":"
                      "{\"points\":20},\"on_first_order\":{\"points\":50},"
                      "\"max_rewards_per_referrer\":8,\"clawback_days\":30,"
                      "\"max_joins_per_device_per_day\":1}}");
    snprintf(body, sizeof body,
             "{\"kind\":\"wheel\",\"name\":\"月测转盘\",\"ends_at\":\"%s\",\"rules\":{"
             "\"plays_per_member_per_day\":1,\"budget_cents\":1000000,\"prizes\":[{\"name\":"
             "\"保温杯\",\"gift\":\"cup\",\"odds\":0.5,\"stock\":40,\"cost_cents\":3000}]}}",
             ends);
    wheel_c = create(body);
    group_c = create("{\"kind\":\"group_buy\",\"name\":\"月测三人团\",\"rules\":{\"sku\":\"A1\","
                     "\"price_cents\":9900,\"team_size\":3,\"hours\":24}}");
    assist_c = create("{\"kind\":\"assist\",\"name\":\"月测砍价\",\"rules\":{\"sku\":\"B2\","
                      "\"price_cents\":8800,\"target_cents\":1800,\"helpers\":4,"
                      "\"step\":\"random\",\"hours\":48}}");
    for (int i = 0; i < 10; i++) {
        int64_t m = month_pick_member();
        if (m > 0) invite(m);
    }
}

/* A new member through a link (device: its own, or one already used today). */
static void join_one(int day)
{
    if (!n_inviters || n_joined >= MAX_MEMBERS) return;
    int k = (int)month_uniform(&rng, n_inviters);
    bool reuse = month_chance(&rng, 0.1) && phone_seq > 0;
    char phone[24], device[48];
    snprintf(phone, sizeof phone, "1580%07d", ++phone_seq);
    snprintf(device, sizeof device, "fis-dev-%d-%d", day, reuse ? 0 : phone_seq);
    json_t *o = NULL;
    int st = month_call("POST", "/api/v1/members", &o,
                        "{\"phone\":\"%s\",\"state\":\"%s\",\"device_id\":\"%s\"}", phone,
                        inviters[k].state, device);
    if (!month_expect(st, 201, 201, "POST /members with an invite state", 0)) {
        json_decref(o);
        return;
    }
    int64_t id = month_jint(o, "id");
    json_t *ref = json_object_get(o, "referral");
    month_seen(ck);
    if (json_is_true(json_object_get(ref, "accepted"))) {
        /* the inviter, or the member it was merged into since */
        joined[n_joined].id = id;
        joined[n_joined].referrer = month_jint(ref, "referrer_id");
        n_joined++;
        if (month_chance(&rng, 0.33)) invite(id);
    } else {
        refused_answers++;
        if (!reuse)
            month_fail(ck, "member %lld's join was refused (%s) from a fresh device", (long long)id,
                       json_string_value(json_object_get(ref, "reason")));
    }
    json_decref(o);
}

static void team_day(void)
{
    for (int t = 0; t < 2 && n_teams < MAX_TEAMS; t++) {
        int64_t leader = month_pick_member();
        if (leader <= 0) return;
        char ext[32], path[96], body[128];
        if (!order(leader, 9900, ext)) return;
        json_t *o = NULL;
        snprintf(path, sizeof path, "/api/v1/campaigns/%lld/teams", (long long)group_c);
        int st = month_call("POST", path, &o, "{\"member_id\":%lld,\"order\":\"%s\"}",
                            (long long)leader, ext);
        if (!month_expect(st, 201, 201, "POST /campaigns/{id}/teams", leader)) {
            json_decref(o);
            return;
        }
        int k = n_teams++;
        teams[k].id = month_jint(o, "id");
        teams[k].seats = 1;
        teams[k].short_ = t == 1;
        json_decref(o);
        int want = teams[k].short_ ? 1 : 3; /* a full one, and one extra join refused */
        for (int j = 0; j < want; j++) {
            int64_t m = month_pick_member();
            if (m <= 0 || m == leader || !order(m, 9900, ext)) continue;
            snprintf(path, sizeof path, "/api/v1/teams/%lld/join", (long long)teams[k].id);
            snprintf(body, sizeof body, "{\"member_id\":%lld,\"order\":\"%s\"}", (long long)m, ext);
            int fd = month_conn();
            char resp[4096];
            st = month_call_on(fd, month_token(), "POST", path, body, resp, sizeof resp);
            month_conn_close(fd);
            if (st == 201)
                teams[k].seats++;
            else if (st != 422 && st != 409)
                month_fail(ck, "team %lld: a join answered %d: %.200s", (long long)teams[k].id, st,
                           resp);
        }
    }
}

static void assist_day(void)
{
    if (n_assists >= MAX_ASSISTS) return;
    int64_t owner = month_pick_member();
    if (owner <= 0) return;
    char path[96];
    json_t *o = NULL;
    snprintf(path, sizeof path, "/api/v1/campaigns/%lld/assists", (long long)assist_c);
    int st = month_call("POST", path, &o, "{\"member_id\":%lld}", (long long)owner);
    if (st == 200) { /* this member's assist already: leave it */
        json_decref(o);
        return;
    }
    if (!month_expect(st, 201, 201, "POST /campaigns/{id}/assists", owner)) {
        json_decref(o);
        return;
    }
    int k = n_assists++;
    assists[k].id = month_jint(o, "id");
    json_decref(o);
    int helpers = (int)month_uniform(&rng, 6);
    snprintf(path, sizeof path, "/api/v1/assists/%lld/help", (long long)assists[k].id);
    for (int h = 0; h < helpers; h++) {
        int64_t m = month_pick_member();
        if (m <= 0 || m == owner) continue;
        char body[64], resp[4096];
        snprintf(body, sizeof body, "{\"member_id\":%lld}", (long long)m);
        int fd = month_conn();
        st = month_call_on(fd, month_token(), "POST", path, body, resp, sizeof resp);
        month_conn_close(fd);
        if (st == 201)
            assists[k].helped++;
        else if (st != 422 && st != 200)
            month_fail(ck, "assist %lld: a help answered %d: %.200s", (long long)assists[k].id, st,
                       resp);
    }
}

/* The mall's side of failed teams: it pulls the pending refund instructions by cursor, makes
 * each refund and acknowledges it with its own reference (some twice: a retry answers the
 * same). An instruction seen twice in one walk, or an acknowledgement that does not stick, is
 * a failure. */
static int64_t refunds_acked;

static void mall_pulls(void)
{
    json_t *seen = json_object();
    char path[160];
    int64_t cursor = 0;
    for (int pages = 0; pages < 1000; pages++) {
        json_t *o = NULL;
        snprintf(path, sizeof path,
                 "/api/v1/refund-instructions?status=pending&limit=5&cursor=%lld",
                 (long long)cursor);
        int st = month_call("GET", path, &o, NULL);
        if (!month_expect(st, 200, 200, "GET /refund-instructions", 0)) {
            json_decref(o);
            break;
        }
        json_t *items = json_object_get(o, "items"), *it;
        size_t i;
        json_array_foreach(items, i, it)
        {
            int64_t id = month_jint(it, "id");
            char key[32];
            snprintf(key, sizeof key, "%lld", (long long)id);
            if (json_object_get(seen, key))
                month_fail(ck, "refund instruction %lld listed twice in one walk", (long long)id);
            json_object_set_new(seen, key, json_true());
        }
        const char *next = json_string_value(json_object_get(o, "next_cursor"));
        cursor = next ? atoll(next) : 0;
        json_decref(o);
        if (!next) break;
    }
    const char *k;
    json_t *v;
    json_object_foreach(seen, k, v)
    {
        int tries = month_chance(&rng, 0.3) ? 2 : 1;
        for (int t = 0; t < tries; t++) {
            json_t *o = NULL;
            snprintf(path, sizeof path, "/api/v1/refund-instructions/%s/ack", k);
            int st = month_call("POST", path, &o, "{\"reference\":\"mall-%s\"}", k);
            month_seen(ck);
            if (st != 200 || strcmp(json_string_value(json_object_get(o, "status")), "acked") != 0)
                month_fail(ck, "ack of refund instruction %s answered %d: %.200s", k, st,
                           month_body());
            else if (t == 0)
                refunds_acked++;
            json_decref(o);
        }
    }
    json_decref(seen);
}

static void act(int day, int minute)
{
    if (minute == 30) {
        month_seen(ck);
        int st = month_call("POST", "/api/v1/campaigns/sweep", NULL, NULL);
        month_expect(st, 200, 200, "POST /campaigns/sweep", 0);
        mall_pulls();
        return;
    }
    if (minute != 10 * 60) return;
    for (int i = 0; i < 4; i++)
        join_one(day);
    /* a member already in the chain comes with a link: refused, nothing written for it (a
     * device of its own, so the body is never the member's own joining's, which would be an
     * idempotent replay of that first answer) */
    int64_t old = month_pick_member();
    if (old > 0 && n_inviters) {
        json_t *o = NULL;
        char path[64];
        snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)old);
        if (month_call("GET", path, &o, NULL) == 200) {
            const char *phone = json_string_value(json_object_get(o, "phone"));
            /* one this invite already brought answers its first answer again (documented):
             * only members no invite brought are "members already" here */
            json_t *ref = json_object_get(o, "referral");
            if (phone && !strchr(phone, '*') && (!ref || json_is_null(ref))) {
                json_t *r = NULL;
                int st = month_call(
                    "POST", "/api/v1/members", &r,
                    "{\"phone\":\"%s\",\"state\":\"%s\",\"device_id\":\"month-old-%lld\"}", phone,
                    inviters[0].state, (long long)old);
                month_seen(ck);
                if (st == 200 && json_is_true(month_jget(r, "referral.accepted")))
                    month_fail(ck, "member %lld (a member already) was referred", (long long)old);
                json_decref(r);
            }
        }
        json_decref(o);
    }
    /* first orders of some referees */
    for (int i = 0; i < n_joined; i++)
        if (!joined[i].ordered && month_chance(&rng, 0.3)) {
            char ext[32];
            if (order(joined[i].id, 2000 + month_uniform(&rng, 20000), ext))
                joined[i].ordered = true;
        }
    /* the wheel */
    for (int i = 0; i < 5; i++) {
        int64_t m = month_pick_member();
        if (m <= 0) continue;
        char path[96];
        json_t *o = NULL;
        snprintf(path, sizeof path, "/api/v1/campaigns/%lld/plays", (long long)wheel_c);
        int st = month_call("POST", path, &o, "{\"member_id\":%lld,\"play_id\":\"fis-%d\"}",
                            (long long)m, ++play_seq);
        if (st == 201 && json_is_object(json_object_get(o, "prize"))) wins++;
        if (st != 201 && st != 422) month_fail(ck, "a play answered %d: %.200s", st, month_body());
        json_decref(o);
    }
    team_day();
    assist_day();
}

/* Members downstream of m in the test's own record. */
static int64_t downstream(int64_t m, int depth)
{
    if (depth > 64) return 0;
    int64_t n = 0;
    for (int i = 0; i < n_joined; i++)
        if (joined[i].referrer == m) n += 1 + downstream(joined[i].id, depth + 1);
    return n;
}

static void check(void)
{
    month_seen(ck);
    /* the graph as answered */
    for (int i = 0; i < n_joined; i++) {
        int64_t r =
            month_q1("SELECT referrer_id FROM referrals WHERE member_id = ?1", joined[i].id, 0);
        if (r != joined[i].referrer)
            month_fail(ck, "member %lld: referrer %lld in the store, %lld answered",
                       (long long)joined[i].id, (long long)r, (long long)joined[i].referrer);
    }
    int64_t links = month_q1("SELECT count(*) FROM referrals WHERE campaign_id = ?1", invite_c, 0);
    if (links != n_joined)
        month_fail(ck, "%lld referrals through links in the store, %d accepted", (long long)links,
                   n_joined);
    /* first orders from the orders themselves: the core's traffic may pick a referee too
     * (it draws members by id), so the test's own orders are not all of them. A referee the
     * core merged into another member: its orders moved to the survivor, so an order of the
     * survivor counts when placed between the referee's join and the merge; the survivor's
     * orders after it are the survivor's own (docs/fission.md, merges) */
    int64_t first = month_q1("SELECT count(*) FROM referrals r WHERE r.campaign_id = ?1 AND"
                             " EXISTS (SELECT 1 FROM orders o WHERE o.total_cents > 0 AND"
                             " (o.member_id = r.member_id OR (o.member_id = (SELECT m.merged_into"
                             " FROM members m WHERE m.id = r.member_id) AND o.placed_at >="
                             " r.joined_at AND o.placed_at < (SELECT min(g.at) FROM merges g"
                             " WHERE g.from_id = r.member_id))))",
                             invite_c, 0);
    /* the report against the test's own count (this campaign's: the demo chain has its own,
     * and the core forwards coupons) */
    json_t *r = NULL;
    char path[200];
    snprintf(path, sizeof path, "/api/v1/reports/referrals?from=%s&to=%s",
             month_T(month_start() - 86400), month_T(month_now() + 86400));
    for (char *p = path; *p; p++)
        if (*p == '+') { /* the offset's plus, escaped */
            memmove(p + 3, p + 1, strlen(p + 1) + 1);
            memcpy(p, "%2B", 3);
        }
    if (month_call("GET", path, &r, NULL) != 200) {
        month_fail(ck, "GET %s answered %.300s", path, month_body());
    } else {
        json_t *ch = json_object_get(r, "campaigns"), *link = NULL;
        size_t i;
        json_t *v;
        json_array_foreach(ch, i, v) if (month_jint(v, "campaign_id") == invite_c) link = v;
        int distinct = 0;
        for (int a = 0; a < n_inviters; a++) {
            bool seen = false;
            for (int b = 0; b < a && !seen; b++)
                seen = inviters[b].member == inviters[a].member;
            distinct += !seen;
        }
        if (month_jint(link, "invites_sent") != n_inviters ||
            month_jint(link, "inviters") != distinct ||
            month_jint(link, "members_joined") != n_joined ||
            month_jint(link, "first_orders") != first)
            month_fail(ck,
                       "referral report (campaign): %lld invites by %lld, %lld joined, %lld first "
                       "orders; the test counted %d by %d, %d, %lld",
                       (long long)month_jint(link, "invites_sent"),
                       (long long)month_jint(link, "inviters"),
                       (long long)month_jint(link, "members_joined"),
                       (long long)month_jint(link, "first_orders"), n_inviters, distinct, n_joined,
                       (long long)first);
    }
    json_decref(r);
    /* the referrer that brought the most, walked by the test */
    int64_t best = 0, most = -1;
    for (int a = 0; a < n_joined; a++) {
        int64_t n = downstream(joined[a].referrer, 0);
        if (n > most) {
            most = n;
            best = joined[a].referrer;
        }
    }
    if (best) {
        snprintf(path, sizeof path, "/api/v1/members/%lld/referrals", (long long)best);
        json_t *o = NULL;
        if (month_call("GET", path, &o, NULL) != 200 || month_jint(o, "downstream.members") != most)
            month_fail(ck, "member %lld: %lld downstream answered, the test walked %lld",
                       (long long)best, (long long)month_jint(o, "downstream.members"),
                       (long long)most);
        json_decref(o);
    }
    /* the wheel: stock and wins */
    int64_t won = month_q1("SELECT won FROM campaign_prizes WHERE campaign_id = ?1", wheel_c, 0);
    if (won > 40 || won != wins)
        month_fail(ck, "wheel: %lld gifts won in the store (stock 40), %d answered", (long long)won,
                   wins);
    /* teams */
    for (int k = 0; k < n_teams; k++) {
        int64_t paid = month_q1("SELECT paid FROM teams WHERE id = ?1", teams[k].id, 0),
                rows = month_q1("SELECT count(*) FROM team_members WHERE team_id = ?1", teams[k].id,
                                0),
                full = month_q1("SELECT count(*) FROM teams WHERE id = ?1 AND status ="
                                " 'succeeded'",
                                teams[k].id, 0),
                failed = month_q1("SELECT count(*) FROM teams WHERE id = ?1 AND status = 'failed'",
                                  teams[k].id, 0),
                refunds = month_q1("SELECT count(*) FROM mall_instructions WHERE team_id = ?1",
                                   teams[k].id, 0);
        if (paid != teams[k].seats || rows != paid || paid > 3 || full != (paid == 3) ||
            (failed && refunds != paid))
            month_fail(ck,
                       "team %lld: %lld paid, %lld rows, succeeded %lld, failed %lld with %lld "
                       "refunds; %d seats acknowledged",
                       (long long)teams[k].id, (long long)paid, (long long)rows, (long long)full,
                       (long long)failed, (long long)refunds, teams[k].seats);
    }
    /* refund instructions: one per paid seat of a failed team, every one the mall pulled
     * acknowledged once; those of teams failed since the last pull are still pending */
    int64_t dup =
                month_q1("SELECT count(*) - count(DISTINCT order_id) FROM mall_instructions", 0, 0),
            acked = month_q1("SELECT count(*) FROM mall_instructions WHERE status = 'acked' AND"
                             " reference = 'mall-' || id",
                             0, 0),
            seats = month_q1("SELECT count(*) FROM team_members m JOIN teams t ON t.id ="
                             " m.team_id WHERE t.status = 'failed'",
                             0, 0),
            all = month_q1("SELECT count(*) FROM mall_instructions", 0, 0);
    if (dup != 0 || acked != refunds_acked || all != seats)
        month_fail(ck,
                   "refund instructions: %lld in all for %lld failed seats, %lld orders twice, "
                   "%lld acknowledged with the mall's reference, %lld acknowledged by the mall",
                   (long long)all, (long long)seats, (long long)dup, (long long)acked,
                   (long long)refunds_acked);
    /* assists */
    for (int k = 0; k < n_assists; k++) {
        int64_t helped = month_q1("SELECT helped FROM assists WHERE id = ?1", assists[k].id, 0),
                gap = month_q1("SELECT price_cents - current_cents - (SELECT COALESCE(sum("
                               "cut_cents), 0) FROM assist_helps WHERE assist_id = ?1) FROM"
                               " assists WHERE id = ?1",
                               assists[k].id, 0);
        if (helped != assists[k].helped || gap != 0)
            month_fail(ck, "assist %lld: helped %lld (answered %d), cuts off by %lld",
                       (long long)assists[k].id, (long long)helped, assists[k].helped,
                       (long long)gap);
    }
    fprintf(stderr,
            "fission: %d inviters, %d joined through links (%d refused), %d teams, %d assists, "
            "%d gifts won, %lld refund instructions acknowledged by the mall\n",
            n_inviters, n_joined, refused_answers, n_teams, n_assists, wins,
            (long long)refunds_acked);
}

const month_participant month_fission = {"fission", setup, act, check, NULL};
