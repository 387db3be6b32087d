/* demo_guides.c — the demo chain's guides: WeCom userids, channel QR codes in two campaigns,
 * customers who scanned them and became members (some of whom bought, some of whom deleted
 * their guide), and a guide who left last week with the transfer of their customers in mixed
 * states — done, refused, failed, and still waiting for the bridge. So the guides' pages and
 * reports (codes, campaigns' acquisition cost, contacts lost, transfers) have something true
 * to show. Everything goes through the domain calls the API uses. */
#include <stdio.h>
#include <string.h>

#include "base/timeutil.h"
#include "cli/demo.h"
#include "domain/domain.h"
#include "guides/guides.h"

#define DAY 86400
#define MAX_GUIDES 8

/* The guides of a store (role guide), by id. */
static int store_guides(store_conn *c, int64_t store, int64_t *ids, int cap)
{
    int n = 0;
    store_stmt *s = store_q(c, Q_STAFF_LIST);
    store_bind_int(s, 1, 0);
    store_bind_int(s, 2, 1000);
    store_bind_int(s, 3, store);
    while (n < cap && store_step(s) == STORE_ROW)
        if (strcmp(store_col_text(s, 2), "guide") == 0) ids[n++] = store_col_int(s, 0);
    store_reset(s);
    return n;
}

/* One domain call in its own savepoint (demo.h); the answer's integer field `key`, or 0. */
typedef int (*body_fn)(dom *d, json_t *body, json_t **out, siyu_err *e);
typedef int (*id_body_fn)(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);

static int64_t step(store_conn *c, dom *d, body_fn f, id_body_fn g, int64_t id, json_t *body,
                    const char *key, int *rc, siyu_err *e)
{
    json_t *out = NULL;
    siyu_err sub;
    siyu_err_init(&sub);
    int64_t v = 0;
    if (*rc == 0 && (*rc = store_savepoint(c, e)) == 0) {
        int r = f ? f(d, body, &out, &sub) : g(d, id, body, &out, &sub);
        if (r >= 0 && key) {
            json_t *x = json_object_get(out, key);
            if (!x && json_is_array(json_object_get(out, "results")))
                x = json_object_get(json_array_get(json_object_get(out, "results"), 0), key);
            v = json_integer_value(x);
        }
        *rc = demo_settle(c, r, &sub, e);
        if (*rc == 1) *rc = 0; /* refused by the rules: skipped */
    }
    json_decref(body);
    json_decref(out);
    return v;
}

static int transfers_create_plain(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    return transfers_create(d, body, NULL, 0, out, e);
}

int demo_guides(store_t *st, siyu_err *e)
{
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    int64_t now = clock_now();
    int rc = store_begin(c, true, e);
    dom d = {.conn = c, .now = now - 30 * DAY};
    d.who.role = ROLE_ADMIN;
    int64_t g1[MAX_GUIDES], g2[MAX_GUIDES];
    int n1 = rc ? 0 : store_guides(c, 1, g1, MAX_GUIDES),
        n2 = rc ? 0 : store_guides(c, 2, g2, MAX_GUIDES);
    if (n1 < 3 || n2 < 2) { /* a chain too small for the guides' story */
        if (rc == 0) rc = store_commit(c, e);
        store_conn_close(c);
        return rc;
    }
    /* WeCom userids: store 1's and store 2's guides */
    for (int i = 0; i < n1 + n2; i++) {
        int64_t id = i < n1 ? g1[i] : g2[i - n1];
        char uid[32];
        snprintf(uid, sizeof uid, "guide-%lld", (long long)id);
        step(c, &d, NULL, staff_patch, id, json_pack("{s:s}", "wecom_userid", uid), NULL, &rc, e);
    }
    /* codes: two in the spring campaign (store 1's guides in rotation, store 2's), one for
     * store 1's member day */
    json_t *ids1 = json_array(), *ids2 = json_array();
    for (int i = 0; i < 3; i++)
        json_array_append_new(ids1, json_integer(g1[i]));
    for (int i = 0; i < 2; i++)
        json_array_append_new(ids2, json_integer(g2[i]));
    int64_t codes[3];
    codes[0] = step(c, &d, qr_codes_create, NULL, 0,
                    json_pack("{s:s, s:{s:o}, s:s, s:i, s:I, s:s, s:i}", "name",
                              "春季拉新·门店海报", "target", "guide_ids", ids1, "rotation",
                              "round_robin", "daily_cap_per_guide", 20, "backup_guide_id",
                              (json_int_t)g1[n1 - 1], "campaign", "春季拉新", "cost_cents", 300000),
                    "id", &rc, e);
    codes[1] = step(c, &d, qr_codes_create, NULL, 0,
                    json_pack("{s:s, s:{s:o}, s:s, s:s, s:i}", "name", "春季拉新·朋友圈", "target",
                              "guide_ids", ids2, "rotation", "least_loaded", "campaign", "春季拉新",
                              "cost_cents", 120000),
                    "id", &rc, e);
    codes[2] = step(c, &d, qr_codes_create, NULL, 0,
                    json_pack("{s:s, s:{s:i}, s:s, s:i}", "name", "会员日·收银台", "target",
                              "store_id", 1, "campaign", "会员日", "cost_cents", 50000),
                    "id", &rc, e);
    /* 30 days of scans: each customer scans, the bridge reports the contact that follows */
    int64_t joined[240];
    int n_joined = 0;
    for (int day = 0; day < 30 && rc == 0; day++)
        for (int k = 0; k < 8 && rc == 0; k++) {
            int code = k < 4 ? 0 : k < 6 ? 1 : 2;
            if (!codes[code]) continue;
            d.now = now - (30 - day) * DAY + (10 + k) * 3600;
            char ext[40], state[32], at[40];
            snprintf(ext, sizeof ext, "wmDEMO%02d%02d", day, k);
            int64_t guide = step(c, &d, NULL, qr_codes_scan, codes[code],
                                 json_pack("{s:s}", "external_userid", ext), "guide_id", &rc, e);
            if (!guide) continue;
            snprintf(state, sizeof state, "qr-%lld", (long long)codes[code]);
            time_format_rfc3339(d.now + 300, at, sizeof at);
            d.now += 600;
            char uid[32];
            snprintf(uid, sizeof uid, "guide-%lld", (long long)guide);
            int64_t m = step(c, &d, wecom_events_record, NULL, 0,
                             json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "event",
                                       "add_external_contact", "userid", uid, "external_userid",
                                       ext, "state", state, "at", at, "add_way", 1),
                             "member_id", &rc, e);
            if (m && n_joined < 240) joined[n_joined++] = m;
            /* one in three buys within a week; one in twelve deletes the guide later */
            if (m && (day + k) % 3 == 0 && d.now + (k + 1) * DAY / 2 < now - 3600) {
                char placed[40], ext_id[40];
                time_format_rfc3339(d.now + (k + 1) * DAY / 2, placed, sizeof placed);
                snprintf(ext_id, sizeof ext_id, "DEMO-QR-%02d%02d", day, k);
                int64_t cents = 9900 + 1000 * ((day * 7 + k) % 20);
                d.now += (k + 1) * DAY / 2;
                step(c, &d, orders_create, NULL, 0,
                     json_pack("{s:s, s:s, s:i, s:I, s:s, s:I, s:[{s:s, s:i, s:I}]}", "channel",
                               "store", "external_id", ext_id, "store_id", code == 1 ? 2 : 1,
                               "member_id", (json_int_t)m, "placed_at", placed, "total_cents",
                               (json_int_t)cents, "items", "sku", "DEMO-SKU-1", "qty", 1,
                               "unit_price_cents", (json_int_t)cents),
                     NULL, &rc, e);
            }
            if (m && (day * 8 + k) % 12 == 5 && day < 25) {
                d.now = now - (30 - day) * DAY + 3 * DAY;
                time_format_rfc3339(d.now, at, sizeof at);
                step(c, &d, wecom_events_record, NULL, 0,
                     json_pack("{s:s, s:s, s:s, s:s}", "event", "del_follow_user", "userid", uid,
                               "external_userid", ext, "at", at),
                     NULL, &rc, e);
            }
        }
    /* an on-job transfer in store 2 of a few of the code's customers: done */
    d.now = now - 10 * DAY;
    json_t *few = json_array();
    for (int i = 0; i < n_joined && json_array_size(few) < 5; i++) {
        store_stmt *s = store_q(c, Q_MEMBER_GET);
        store_bind_int(s, 1, joined[i]);
        if (store_step(s) == STORE_ROW && store_col_opt_by(s, "guide_id") == g2[0] &&
            store_col_null_by(s, "merged_into"))
            json_array_append_new(few, json_integer(joined[i]));
        store_reset(s);
    }
    int64_t onjob = 0;
    if (json_array_size(few))
        onjob =
            step(c, &d, transfers_create_plain, NULL, 0,
                 json_pack("{s:I, s:[I], s:o, s:s}", "from_guide_id", (json_int_t)g2[0],
                           "to_guide_ids", (json_int_t)g2[1], "member_ids", few, "kind", "on_job"),
                 "id", &rc, e);
    else
        json_decref(few);
    if (onjob) {
        d.now = now - 9 * DAY;
        rc = rc ? rc : transfers_sweep(&d, 0, NULL, e); /* nothing due yet */
        d.now = now - 8 * DAY;
        rc = rc ? rc : transfers_sweep(&d, 0, NULL, e); /* the wait is over: done */
    }
    /* a guide of store 1 left a week ago: their customers go to two colleagues; the bridge
     * has reported part of it (done, refused, failed) and the rest still waits */
    d.now = now - 7 * DAY;
    /* the bridge answers slowly in this chain: items wait up to 10 days */
    step(c, &d, guides_settings_put, NULL, 0, json_pack("{s:i}", "transfer_wait_hours", 10 * 24),
         NULL, &rc, e);
    int64_t leaver = g1[n1 - 1]; /* also the backup of the spring code: skipped from now on */
    json_t *dep = NULL;
    siyu_err sub;
    siyu_err_init(&sub);
    int64_t tid = 0;
    if (rc == 0 && (rc = store_savepoint(c, e)) == 0) {
        json_t *body = json_pack("{s:[I, I]}", "transfer_to", (json_int_t)g1[0], (json_int_t)g1[1]);
        int r = staff_depart(&d, leaver, body, &dep, &sub);
        if (r >= 0) tid = json_integer_value(json_object_get(dep, "transfer_id"));
        json_decref(body);
        json_decref(dep);
        rc = demo_settle(c, r, &sub, e);
        if (rc == 1) rc = 0;
    }
    if (tid) {
        d.now = now - 6 * DAY;
        json_t *page = NULL;
        if (transfers_get(&d, tid, 0, 1000, &page, &sub) >= 0) {
            json_t *res = json_array(), *it;
            size_t i;
            json_array_foreach(json_object_get(page, "items"), i, it)
            {
                if (strcmp(json_string_value(json_object_get(it, "state")), "waiting") != 0 ||
                    i % 10 >= 7 || json_array_size(res) >= 1000)
                    continue;
                const char *state = i % 10 < 4 ? "done" : i % 10 < 6 ? "refused" : "failed";
                json_t *x =
                    json_pack("{s:I, s:s}", "member_id",
                              json_integer_value(json_object_get(it, "member_id")), "state", state);
                if (i % 10 == 6) json_object_set_new(x, "reason", json_string("customer_limit"));
                json_array_append_new(res, x);
            }
            if (json_array_size(res))
                step(c, &d, NULL, transfers_results, tid, json_pack("{s:o}", "results", res), NULL,
                     &rc, e);
            else
                json_decref(res);
        }
        siyu_err_clear(&sub);
        json_decref(page);
    }
    if (rc == 0)
        rc = store_commit(c, e);
    else
        store_rollback(c);
    store_conn_close(c);
    return rc;
}
