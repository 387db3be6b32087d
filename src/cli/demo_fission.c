/* demo_fission.c — the demo chain's fission: an invite campaign with a referral tree, a
 * group-buy with teams that succeeded, one that failed at its deadline (refunds instructed)
 * and some still open, and an assist campaign with helpers — all through the domain calls the
 * API makes, so the console's fission pages and `siyu check` have something true to show.
 *
 * Invites: the first 12 members send links; 120 new members join through them (a few of
 * them invite again, so the tree is three levels deep), a handful of joins are refused
 * (a member already, a device seen before); two in three referees place a first order.
 * Group-buy: 12 teams of 3 opened two days ago with a 24-hour limit by members 301…; 9 fill,
 * 3 fail at the sweep. Assist: 15 members start a 5-helper bargain; helpers are members
 * 401…, the first 10 assists reach their target. */
#include <stdio.h>
#include <string.h>

#include "base/timeutil.h"
#include "cli/demo.h"
#include "fission/fission.h"
#include "fission/games.h"

#define DAY 86400

/* One domain call in its own savepoint (see demo_settle); the answer's "id" into *id. */
typedef int (*body_fn)(dom *d, json_t *body, json_t **out, siyu_err *e);
typedef int (*id_body_fn)(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);

static int step(dom *d, body_fn f, id_body_fn g, int64_t id, const char *text, int64_t *got,
                siyu_err *e)
{
    json_t *b = json_loads(text, 0, NULL), *out = NULL;
    siyu_err sub;
    siyu_err_init(&sub);
    int rc = store_savepoint(d->conn, e);
    if (rc == 0) {
        int r = f ? f(d, b, &out, &sub) : g(d, id, b, &out, &sub);
        if (r >= 0 && got) *got = json_integer_value(json_object_get(out, "id"));
        rc = demo_settle(d->conn, r, &sub, e);
    }
    json_decref(b);
    json_decref(out);
    return rc < 0 ? -1 : rc;
}

static int order(dom *d, const char *ext, int64_t member, int64_t cents, siyu_err *e)
{
    char body[512], at[40];
    time_format_rfc3339(d->now, at, sizeof at);
    snprintf(body, sizeof body,
             "{\"channel\":\"miniprogram\",\"external_id\":\"%s\",\"store_id\":1,"
             "\"member_id\":%lld,\"placed_at\":\"%s\",\"total_cents\":%lld,\"discount_cents\":0,"
             "\"points_used\":0,\"items\":[{\"sku\":\"A1\",\"category\":\"grocery\",\"qty\":1,"
             "\"unit_price_cents\":%lld}]}",
             ext, (long long)member, at, (long long)cents, (long long)cents);
    return step(d, orders_create, NULL, 0, body, NULL, e);
}

/* A new member through an invite state, as POST /members with "state" does. */
static int join(dom *d, const char *phone, const char *state, const char *device, int64_t *id,
                siyu_err *e)
{
    char body[256];
    snprintf(body, sizeof body, "{\"phone\":\"%s\",\"store_id\":1,\"channel\":\"miniprogram\"}",
             phone);
    json_t *b = json_loads(body, 0, NULL), *out = NULL;
    siyu_err sub;
    siyu_err_init(&sub);
    int rc = store_savepoint(d->conn, e);
    if (rc == 0) {
        int r = members_create_or_match(d, b, &out, &sub);
        *id = r >= 0 ? json_integer_value(json_object_get(out, "id")) : 0;
        if (r >= 0 && fission_state_arrived(d, *id, r == 201, state, device, "members", NULL, &sub))
            r = -1;
        rc = demo_settle(d->conn, r, &sub, e);
    }
    json_decref(b);
    json_decref(out);
    return rc < 0 ? -1 : rc;
}

static int state_of(dom *d, int64_t campaign, int64_t member, char state[64], siyu_err *e)
{
    char body[64];
    snprintf(body, sizeof body, "{\"member_id\":%lld}", (long long)member);
    json_t *b = json_loads(body, 0, NULL), *out = NULL;
    siyu_err sub;
    siyu_err_init(&sub);
    int rc = store_savepoint(d->conn, e);
    state[0] = 0;
    if (rc == 0) {
        int r = fission_invite_create(d, campaign, b, &out, &sub);
        if (r >= 0) snprintf(state, 64, "%s", json_string_value(json_object_get(out, "state")));
        rc = demo_settle(d->conn, r, &sub, e);
    }
    json_decref(b);
    json_decref(out);
    return rc < 0 ? -1 : rc;
}

int demo_fission(store_t *st, siyu_err *e)
{
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    int64_t now = clock_now();
    dom d = {.conn = c, .now = now - 20 * DAY};
    d.who.role = ROLE_ADMIN;
    int rc = store_begin(c, true, e);
    store_stmt *s = rc ? NULL : store_q(c, Q_COUNT_MEMBERS);
    int64_t members = s && store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    if (s) store_reset(s);
    if (members < 600) {
        store_rollback(c);
        store_conn_close(c);
        return 0;
    }
    char body[1024];
    int64_t invite = 0, group = 0, assist = 0;
    snprintf(body, sizeof body,
             "{\"kind\":\"invite\",\"name\":\"老带新\",\"rules\":{\"on_join\":{\"points\":50},"
             "\"on_first_order\":{\"points\":200},\"max_rewards_per_referrer\":20,"
             "\"clawback_days\":30,\"max_joins_per_device_per_day\":3}}");
    if (rc == 0 && step(&d, games_campaign_create, NULL, 0, body, &invite, e) < 0) rc = -1;
    /* the tree: 12 seeds, 120 joins over 20 days, every 10th referee invites again */
    char states[64][64];
    int n_inv = 0;
    for (int64_t m = 1; m <= 12 && rc == 0; m++) {
        if (state_of(&d, invite, m, states[n_inv], e) < 0) rc = -1;
        n_inv++;
    }
    for (int i = 0; i < 120 && rc == 0; i++) {
        d.now = now - 20 * DAY + i * (18 * DAY / 120);
        int k = (i * 7) % n_inv;
        char phone[32], device[32];
        snprintf(phone, sizeof phone, "1770000%04d", i);
        snprintf(device, sizeof device, "demo-dev-%d", i % 9 == 8 ? i - 1 : i);
        int64_t id = 0;
        if (join(&d, phone, states[k], device, &id, e) < 0) {
            rc = -1;
            break;
        }
        if (id && i % 3 != 2) {
            char ext[32];
            snprintf(ext, sizeof ext, "demo-ref-%d", i);
            d.now += 3600;
            if (order(&d, ext, id, 5000 + (i % 7) * 1500, e) < 0) rc = -1;
        }
        if (rc == 0 && id && i % 10 == 0 && n_inv < 64) {
            if (state_of(&d, invite, id, states[n_inv], e) < 0) rc = -1;
            n_inv++;
        }
    }
    /* a member already, through a seed's link: refused */
    if (rc == 0) {
        int64_t id;
        rc = join(&d, "17700000000", states[1], "demo-dev-x", &id, e) < 0 ? -1 : 0;
    }
    /* group-buy: teams opened two days ago with a day's limit */
    d.now = now - 2 * DAY;
    snprintf(body, sizeof body,
             "{\"kind\":\"group_buy\",\"name\":\"三人团\",\"rules\":{\"sku\":\"A1\","
             "\"price_cents\":9900,\"team_size\":3,\"hours\":24}}");
    if (rc == 0 && step(&d, games_campaign_create, NULL, 0, body, &group, e) < 0) rc = -1;
    for (int t = 0; t < 12 && rc == 0; t++) {
        int64_t leader = 301 + t * 3;
        char ext[32], req[128];
        int64_t team = 0;
        snprintf(ext, sizeof ext, "demo-gb-%lld", (long long)leader);
        if (order(&d, ext, leader, 9900, e) < 0) {
            rc = -1;
            break;
        }
        snprintf(req, sizeof req, "{\"member_id\":%lld,\"order\":\"%s\"}", (long long)leader, ext);
        if (step(&d, NULL, fission_team_open, group, req, &team, e) < 0) rc = -1;
        int joiners = t < 9 ? 2 : 1; /* the last three stay short and fail */
        for (int j = 1; j <= joiners && rc == 0 && team; j++) {
            int64_t m = leader + j;
            snprintf(ext, sizeof ext, "demo-gb-%lld", (long long)m);
            if (order(&d, ext, m, 9900, e) < 0) rc = -1;
            snprintf(req, sizeof req, "{\"member_id\":%lld,\"order\":\"%s\"}", (long long)m, ext);
            if (rc == 0 && step(&d, NULL, fission_team_join, team, req, NULL, e) < 0) rc = -1;
        }
    }
    /* assists: 15 bargains, each helped by up to 5 members */
    d.now = now - DAY;
    snprintf(body, sizeof body,
             "{\"kind\":\"assist\",\"name\":\"砍一刀\",\"rules\":{\"sku\":\"B2\","
             "\"price_cents\":10000,\"target_cents\":4000,\"helpers\":5,\"step\":\"random\","
             "\"min_step_cents\":200,\"max_step_cents\":3000,\"hours\":72}}");
    if (rc == 0 && step(&d, games_campaign_create, NULL, 0, body, &assist, e) < 0) rc = -1;
    for (int a = 0; a < 15 && rc == 0; a++) {
        int64_t owner = 360 + a, id = 0;
        char req[64];
        snprintf(req, sizeof req, "{\"member_id\":%lld}", (long long)owner);
        if (step(&d, NULL, fission_assist_start, assist, req, &id, e) < 0) rc = -1;
        int helpers = a < 10 ? 5 : a % 5;
        for (int h = 0; h < helpers && rc == 0 && id; h++) {
            snprintf(req, sizeof req, "{\"member_id\":%lld}", (long long)(401 + a * 5 + h));
            d.now += 60;
            if (step(&d, NULL, fission_assist_help, id, req, NULL, e) < 0) rc = -1;
        }
    }
    /* today: the teams past their deadline fail, their payments instructed back */
    d.now = now;
    if (rc == 0) {
        json_t *out = NULL;
        rc = fission_sweep(&d, 0, &out, e) < 0 ? -1 : 0;
        json_decref(out);
    }
    if (rc == 0)
        rc = store_commit(c, e);
    else
        store_rollback(c);
    store_conn_close(c);
    return rc;
}
