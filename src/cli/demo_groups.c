/* demo_groups.c — the demo chain's communities (docs/communities.md): two themed groups per
 * store, owned by one of its guides, with members joining over the last 60 days (some
 * through the store's join code), a few quitting, a month of message activity, and a group
 * sale session over last week's best-selling SKUs of the groups' members. Everything goes
 * through the domain calls the API uses (src/community), one transaction per store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "cli/demo.h"
#include "community/community.h"
#include "guides/guides.h"

#define DEMO_GROUP_PEOPLE 90 /* members per group */

static const char *const themes[] = {"health", "fresh", "mom"};

/* xorshift: the same demo for the same chain */
static uint64_t rnd_state = 88172645463325252ULL;
static uint32_t rnd(uint32_t n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return (uint32_t)(rnd_state % n);
}

static int call(dom *d, int (*fn)(dom *, json_t *, json_t **, siyu_err *), json_t *body,
                json_t **out, siyu_err *e)
{
    json_t *o = NULL;
    int rc = fn(d, body, &o, e);
    json_decref(body);
    if (out)
        *out = o;
    else
        json_decref(o);
    return rc < 0 ? -1 : 0;
}

static void at_text(int64_t t, char *buf)
{
    time_format_rfc3339(t, buf, 40);
}

/* Gives a member the WeCom external id it is known by in the groups, through its phone. */
static int give_external_id(dom *d, int64_t member, char *ext, size_t cap, siyu_err *e)
{
    char phone[64] = "";
    store_stmt *s = store_q(d->conn, Q_EXPORT_IDENTITIES);
    store_bind_int(s, 1, member);
    while (store_step(s) == STORE_ROW)
        if (strcmp(store_col_text(s, 0), "phone") == 0)
            snprintf(phone, sizeof phone, "%s", store_col_text(s, 2));
    store_reset(s);
    if (!phone[0]) return 1;
    snprintf(ext, cap, "wm-demo-%lld", (long long)member);
    return call(d, members_create_or_match,
                json_pack("{s:s, s:s}", "phone", phone, "wecom_external_id", ext), NULL, e);
}

static int one_store(dom *d, int64_t store, int64_t guide, const int64_t *members, int nm,
                     siyu_err *e)
{
    char uid[64], chat[2][64], at[40], day[16];
    snprintf(uid, sizeof uid, "demo-guide-%lld", (long long)guide);
    json_t *b = json_pack("{s:s}", "wecom_userid", uid);
    int rc = staff_patch(d, guide, b, NULL, e);
    json_decref(b);
    if (rc < 0) return -1;
    rc = 0;
    const char *theme[2] = {themes[store % 3], themes[(store + 1) % 3]};
    int64_t t0 = d->now - 60 * 86400, code = 0;
    json_t *out;
    if (call(d, group_codes_create,
             json_pack("{s:I, s:s, s:i}", "store_id", (json_int_t)store, "theme", theme[0], "cap",
                       GROUP_CAP_DEFAULT),
             &out, e))
        return -1;
    code = json_integer_value(json_object_get(out, "id"));
    char state[32];
    snprintf(state, sizeof state, "%s", json_string_value(json_object_get(out, "state")));
    json_decref(out);
    json_t *events = json_array();
    for (int g = 0; g < 2; g++) {
        snprintf(chat[g], sizeof chat[g], "demo-chat-%lld-%d", (long long)store, g + 1);
        at_text(t0, at);
        char name[64];
        snprintf(name, sizeof name, "%lld店%s群", (long long)store,
                 strcmp(theme[g], "health") == 0  ? "健康"
                 : strcmp(theme[g], "fresh") == 0 ? "生鲜"
                                                  : "母婴");
        json_array_append_new(events, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "event",
                                                "group_created", "chat_id", chat[g], "owner_userid",
                                                uid, "name", name, "theme", theme[g], "at", at));
    }
    if (call(d, groups_events_record, json_pack("{s:o}", "events", events), NULL, e)) return -1;
    /* joins over the 60 days; the first group's later joiners come through the code */
    int per = nm / 2;
    char(*ext)[40] = calloc((size_t)nm, sizeof *ext);
    int64_t *joined = calloc((size_t)nm, sizeof *joined);
    bool *quit = calloc((size_t)nm, sizeof *quit);
    for (int i = 0; i < nm && rc == 0; i++) {
        rc = give_external_id(d, members[i], ext[i], sizeof ext[i], e);
        if (rc == 1) {
            ext[i][0] = 0;
            rc = 0;
        }
    }
    events = json_array();
    for (int i = 0; i < nm && rc == 0; i++) {
        if (!ext[i][0]) continue;
        int g = i < per ? 0 : 1;
        joined[i] = t0 + 3600 + (int64_t)rnd(59 * 86400);
        at_text(joined[i], at);
        bool by_code = g == 0 && rnd(3) == 0;
        if (by_code) { /* a scan now holds a seat; the join keeps it */
            json_t *sc = NULL;
            int64_t now = d->now;
            d->now = joined[i] - 60;
            json_t *scan = json_pack("{s:s}", "external_userid", ext[i]);
            rc = group_codes_scan(d, code, scan, &sc, e) < 0 ? -1 : 0;
            json_decref(scan);
            d->now = now;
            const char *c = json_string_value(json_object_get(sc, "chat_id"));
            by_code = c && strcmp(c, chat[0]) == 0;
            json_decref(sc);
        }
        json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", "member_joined", "chat_id",
                               chat[g], "external_userid", ext[i], "join_scene",
                               by_code  ? "qr"
                               : rnd(2) ? "invited"
                                        : "link",
                               "at", at);
        if (by_code) json_object_set_new(ev, "state", json_string(state));
        json_array_append_new(events, ev);
        if (rnd(10) == 0) { /* one in ten leaves again */
            quit[i] = true;
            int64_t q = joined[i] + 3600 + (int64_t)rnd((uint32_t)(d->now - joined[i] - 3600));
            at_text(q < d->now ? q : d->now - 60, at);
            json_array_append_new(events,
                                  json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", "member_quit",
                                            "chat_id", chat[g], "external_userid", ext[i],
                                            "quit_scene", rnd(4) ? "left" : "removed", "at", at));
        }
    }
    /* the events go in time order, as the bridge sends them */
    if (rc == 0) {
        size_t n = json_array_size(events);
        json_t **v = malloc((n ? n : 1) * sizeof *v);
        for (size_t i = 0; i < n; i++)
            v[i] = json_array_get(events, i);
        for (size_t i = 1; i < n; i++) /* insertion sort by "at" text (one offset) */
            for (size_t k = i; k > 0 && strcmp(json_string_value(json_object_get(v[k - 1], "at")),
                                               json_string_value(json_object_get(v[k], "at"))) > 0;
                 k--) {
                json_t *t = v[k];
                v[k] = v[k - 1];
                v[k - 1] = t;
            }
        json_t *sorted = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append(sorted, v[i]);
        free(v);
        json_decref(events);
        events = NULL;
        rc = call(d, groups_events_record, json_pack("{s:o}", "events", sorted), NULL, e);
    } else {
        json_decref(events);
    }
    /* a month of activity: about a third of the members speak on a given day */
    int32_t today = time_local_day(d->now);
    for (int32_t dd = today - 29; dd <= today && rc == 0; dd++) {
        events = json_array();
        date_format(dd, day, sizeof day);
        for (int i = 0; i < nm; i++) {
            if (!ext[i][0] || time_local_day(joined[i]) > dd || quit[i] || rnd(3)) continue;
            json_array_append_new(events,
                                  json_pack("{s:s, s:s, s:s, s:s, s:i}", "event", "activity",
                                            "chat_id", chat[i < per ? 0 : 1], "external_userid",
                                            ext[i], "day", day, "messages", 1 + (int)rnd(20)));
        }
        if (json_array_size(events))
            rc = call(d, groups_events_record, json_pack("{s:o}", "events", events), NULL, e);
        else
            json_decref(events);
    }
    /* a group sale session last week over the SKUs the groups' members bought most */
    if (rc == 0) {
        json_t *skus = json_array();
        for (int i = 0; i < nm && json_array_size(skus) < 5; i++) {
            json_t *list = NULL;
            if (orders_list(d, 0, 3, members[i], 0, &list, e) < 0) {
                rc = -1;
                break;
            }
            size_t k;
            json_t *o;
            json_array_foreach(json_object_get(list, "items"), k, o)
            {
                json_t *full = NULL;
                if (orders_get(d, json_integer_value(json_object_get(o, "id")), &full, e) < 0) {
                    siyu_err_clear(e);
                    continue;
                }
                json_t *line = json_array_get(json_object_get(full, "items"), 0);
                const char *sku = json_string_value(json_object_get(line, "sku"));
                bool have = !sku;
                size_t q;
                json_t *x;
                json_array_foreach(skus, q, x) have |=
                    sku && strcmp(json_string_value(x), sku) == 0;
                if (!have && json_array_size(skus) < 5)
                    json_array_append_new(skus, json_string(sku));
                json_decref(full);
            }
            json_decref(list);
        }
        char from[40], to[40];
        at_text(d->now - 14 * 86400, from);
        at_text(d->now - 7 * 86400, to);
        int64_t ids[2];
        for (int g = 0; g < 2; g++) {
            store_stmt *s = store_q(d->conn, Q_GRP_BY_CHAT);
            store_bind_text(s, 1, chat[g]);
            ids[g] = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
            store_reset(s);
        }
        if (rc == 0 && json_array_size(skus))
            rc = call(d, group_sales_create,
                      json_pack("{s:[I, I], s:s, s:s, s:O, s:s}", "group_ids", (json_int_t)ids[0],
                                (json_int_t)ids[1], "from", from, "to", to, "skus", skus, "name",
                                "周末团购"),
                      NULL, e);
        json_decref(skus);
    }
    free(ext);
    free(joined);
    free(quit);
    return rc;
}

int demo_groups(store_t *st, siyu_err *e)
{
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    dom d = {.conn = c, .now = clock_now()};
    d.who.role = ROLE_ADMIN;
    int rc = 0;
    /* the stores with a guide, and their members (home store), at most 2 × 90 each */
    int64_t stores[512], guides[512];
    int ns = 0;
    store_stmt *s = store_q(c, Q_STAFF_LIST);
    store_bind_int(s, 1, 0);
    store_bind_int(s, 2, 100000);
    while (store_step(s) == STORE_ROW && ns < 512) {
        if (strcmp(store_col_text(s, 2), "guide") != 0 || store_col_null(s, 3)) continue;
        int64_t sid = store_col_int(s, 3);
        bool seen = false;
        for (int i = 0; i < ns; i++)
            seen |= stores[i] == sid;
        if (!seen) stores[ns] = sid, guides[ns++] = store_col_int(s, 0);
    }
    store_reset(s);
    int64_t(*members)[2 * DEMO_GROUP_PEOPLE] = calloc((size_t)(ns ? ns : 1), sizeof *members);
    int *nm = calloc((size_t)(ns ? ns : 1), sizeof *nm);
    s = store_q(c, Q_SCAN_MEMBERS);
    if (store_begin(c, false, e) == 0) {
        while (store_step(s) == STORE_ROW) {
            if (store_col_null(s, 4)) continue;
            int64_t sid = store_col_int(s, 4);
            for (int i = 0; i < ns; i++)
                if (stores[i] == sid && nm[i] < 2 * DEMO_GROUP_PEOPLE && rnd(4) == 0)
                    members[i][nm[i]++] = store_col_int(s, 0);
        }
        store_reset(s);
        store_commit(c, e);
    }
    for (int i = 0; i < ns && rc == 0; i++) {
        if (nm[i] < 4) continue;
        if ((rc = store_begin(c, true, e))) break;
        rc = one_store(&d, stores[i], guides[i], members[i], nm[i], e);
        if (rc == 0)
            rc = store_commit(c, e);
        else
            store_rollback(c);
    }
    /* group SOPs: every store's fresh groups get new arrivals on Mondays at 10:00 and its
     * health groups a live-stream reminder on Thursdays at 19:30, made three weeks ago; the
     * weekly slots since then are ticked in turn, so the owners' tasks show */
    int64_t now = d.now, made = d.now - 21 * 86400;
    for (int i = 0; i < ns && rc == 0; i++) {
        if (nm[i] < 4) continue;
        if ((rc = store_begin(c, true, e))) break;
        d.now = made;
        rc =
            call(&d, group_sops_create,
                 json_pack("{s:I, s:s, s:{s:i, s:s}, s:s, s:s}", "store_id", (json_int_t)stores[i],
                           "theme", "fresh", "schedule", "weekday", 1, "time", "10:00", "text",
                           "本周新品到店，欢迎来店选购 New arrivals this week", "name", "周一上新"),
                 NULL, e);
        if (rc == 0)
            rc = call(&d, group_sops_create,
                      json_pack("{s:I, s:s, s:{s:i, s:s}, s:s, s:s, s:i}", "store_id",
                                (json_int_t)stores[i], "theme", "health", "schedule", "weekday", 4,
                                "time", "19:30", "text",
                                "今晚8点健康直播，记得来看 Live at 8 tonight", "name",
                                "周四直播提醒", "due_hours", 2),
                      NULL, e);
        if (rc == 0)
            rc = store_commit(c, e);
        else
            store_rollback(c);
    }
    for (int64_t t = made; rc == 0 && t <= now; t += 86400) {
        d.now = t + 12 * 3600; /* midday each day, and the evening for Thursday's slot */
        for (int k = 0; k < 2 && rc == 0 && d.now <= now; k++, d.now += 9 * 3600) {
            if ((rc = store_begin(c, true, e))) break;
            rc = group_sops_tick(&d, NULL, e);
            if (rc == 0)
                rc = store_commit(c, e);
            else
                store_rollback(c);
        }
    }
    d.now = now;
    free(members);
    free(nm);
    store_conn_close(c);
    return rc;
}
