/* The group view against SQL: random chains of groups, stints (joins, quits, rejoins,
 * dismissals, events arriving late), activity, members whose identities come before or
 * after their stints, orders, refunds, merges and erasures go through the domain; every
 * commit's change list is fed to the views as the server does (views_on_commit), and
 * every few steps the groups report from the view must equal the report by SQL (the
 * reference, groups_report) over several periods, scopes and within_days. Seeds: 1..3,
 * or SIYU_TEST_SEED. */
#include <stdlib.h>

#include "fixture.h"
#include "community/community.h"
#include "guides/guides.h"
#include "views/group_view.h"
#include "views/views.h"

static uint64_t rng;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)((rng >> 11) % n);
}

static views *vw;
static store_conn *reader;
static dom_changes changes;

/* Runs fn's write; a committed write's changes go to the views, a failed one's are dropped. */
static int run(fixture *f, body_fn fn, const char *body, json_t **out)
{
    siyu_err e;
    siyu_err_init(&e);
    dom_changes_clear(&changes);
    int rc = call(f, fn, body, out, &e);
    if (rc >= 0) views_on_commit(vw, reader, changes.v, changes.n);
    dom_changes_clear(&changes);
    siyu_err_clear(&e);
    return rc;
}

#define T0 1790000000LL /* 2026-09-22, a window of two months before "now" */
static int64_t now_s;

static void when(char *buf, size_t n, int64_t t)
{
    time_format_rfc3339(t, buf, n);
}

static int64_t rand_time(void)
{
    return T0 + (int64_t)rnd((uint32_t)(now_s - T0));
}

#define PEOPLE 40
static int n_groups, n_members, n_orders;
static int64_t members[400], orders[800];

static void random_step(fixture *f)
{
    char body[1024], at[40];
    int op = (int)rnd(100);
    when(at, sizeof at, rand_time());
    json_t *o = NULL;
    if (op < 6 || n_groups < 2) {
        static const char *const themes[] = {NULL, "fresh", "health"};
        const char *theme = themes[rnd(3)];
        char name[64] = "";
        if (rnd(2)) snprintf(name, sizeof name, ",\"name\":\"群%d\"", n_groups);
        char th[64] = "";
        if (theme) snprintf(th, sizeof th, ",\"theme\":\"%s\"", theme);
        snprintf(
            body, sizeof body,
            "{\"event\":\"group_created\",\"chat_id\":\"c%d\",\"owner_userid\":\"g-%u\",\"at\":"
            "\"%s\"%s%s}",
            n_groups, 1 + rnd(2), at, name, th);
        if (run(f, groups_events_record, body, NULL) >= 0) n_groups++;
    } else if (op < 36) {
        char uid[48] = "";
        if (rnd(3) == 0) snprintf(uid, sizeof uid, ",\"unionid\":\"u%u\"", rnd(PEOPLE));
        snprintf(body, sizeof body,
                 "{\"event\":\"member_joined\",\"chat_id\":\"c%u\",\"external_userid\":\"x%u\","
                 "\"at\":\"%s\"%s}",
                 rnd((uint32_t)n_groups), rnd(PEOPLE), at, uid);
        run(f, groups_events_record, body, NULL);
    } else if (op < 46) {
        snprintf(body, sizeof body,
                 "{\"event\":\"member_quit\",\"chat_id\":\"c%u\",\"external_userid\":\"x%u\","
                 "\"at\":\"%s\",\"quit_scene\":\"%s\"}",
                 rnd((uint32_t)n_groups), rnd(PEOPLE), at, rnd(2) ? "left" : "removed");
        run(f, groups_events_record, body, NULL);
    } else if (op < 58) {
        char day[16];
        date_format(time_local_day(rand_time()), day, sizeof day);
        snprintf(body, sizeof body,
                 "{\"events\":[{\"event\":\"activity\",\"chat_id\":\"c%u\",\"external_userid\":"
                 "\"x%u\",\"day\":\"%s\",\"messages\":%u}]}",
                 rnd((uint32_t)n_groups), rnd(PEOPLE), day, rnd(40));
        run(f, groups_events_record, body, NULL);
    } else if (op < 60) {
        snprintf(body, sizeof body,
                 "{\"event\":\"group_dismissed\",\"chat_id\":\"c%u\",\"at\":\"%s\"}",
                 rnd((uint32_t)n_groups), at);
        run(f, groups_events_record, body, NULL);
    } else if (op < 62) {
        snprintf(body, sizeof body,
                 "{\"event\":\"group_updated\",\"chat_id\":\"c%u\",\"name\":\"新名%u\",\"at\":"
                 "\"%s\"}",
                 rnd((uint32_t)n_groups), rnd(1000), at);
        run(f, groups_events_record, body, NULL);
    } else if (op < 74 && n_members < 400) {
        /* a member named by a person, a unionid or both (a conflict fails, which is fine) */
        int k = (int)rnd(3);
        char ids[96];
        if (k == 0)
            snprintf(ids, sizeof ids, "\"wecom_external_id\":\"x%u\"", rnd(PEOPLE));
        else if (k == 1)
            snprintf(ids, sizeof ids, "\"unionid\":\"u%u\"", rnd(PEOPLE));
        else
            snprintf(ids, sizeof ids, "\"wecom_external_id\":\"x%u\",\"unionid\":\"u%u\"",
                     rnd(PEOPLE), rnd(PEOPLE));
        snprintf(body, sizeof body,
                 "{\"phone\":\"139%08d\",\"store_id\":%u,\"joined_at\":\"%s\",%s}",
                 n_members + (int)rnd(3) * 1000, 1 + rnd(2), at, ids);
        if (run(f, members_create_or_match, body, &o) >= 0 && o) {
            int64_t id = jint(o, "id");
            bool seen = false;
            for (int i = 0; i < n_members && !seen; i++)
                seen = members[i] == id;
            if (!seen && id > 0) members[n_members++] = id;
        }
    } else if (op < 88 && n_members && n_orders < 800) {
        int64_t m = members[rnd((uint32_t)n_members)];
        int64_t cents = 100 + rnd(10000);
        snprintf(body, sizeof body,
                 "{\"channel\":\"store\",\"external_id\":\"o%d\",\"store_id\":1,\"member_id\":%lld,"
                 "\"placed_at\":\"%s\",\"total_cents\":%lld,\"items\":[{\"sku\":\"A\",\"qty\":1,"
                 "\"unit_price_cents\":%lld}]}",
                 n_orders, (long long)m, at, (long long)cents, (long long)cents);
        if (run(f, orders_create, body, &o) >= 0 && o) orders[n_orders++] = jint(o, "id");
    } else if (op < 94 && n_orders) {
        int64_t id = orders[rnd((uint32_t)n_orders)];
        snprintf(body, sizeof body, "{\"external_id\":\"r%u\",\"amount_cents\":%u}", rnd(1000000),
                 rnd(2) ? 100000 : 50 + rnd(500));
        siyu_err e;
        siyu_err_init(&e);
        json_t *b = J(body);
        dom_changes_clear(&changes);
        store_begin(f->d.conn, true, &e);
        /* a refund past what is left fails; one for all of it voids the order */
        int rc = orders_refund(&f->d, id, b, NULL, &e);
        if (rc < 0) {
            siyu_err_clear(&e);
            json_decref(b);
            b = J("{\"external_id\":\"rall\",\"amount_cents\":1}");
            rc = 0;
            store_rollback(f->d.conn);
            dom_changes_clear(&changes);
        } else {
            store_commit(f->d.conn, &e);
            views_on_commit(vw, reader, changes.v, changes.n);
        }
        json_decref(b);
        siyu_err_clear(&e);
    } else if (op < 97 && n_members > 1) {
        int64_t a = members[rnd((uint32_t)n_members)], b = members[rnd((uint32_t)n_members)];
        if (a == b) return;
        snprintf(body, sizeof body, "{\"from_member_id\":%lld}", (long long)b);
        siyu_err e;
        siyu_err_init(&e);
        json_t *jb = J(body);
        dom_changes_clear(&changes);
        store_begin(f->d.conn, true, &e);
        if (members_merge(&f->d, a, jb, NULL, &e) >= 0) {
            store_commit(f->d.conn, &e);
            views_on_commit(vw, reader, changes.v, changes.n);
        } else {
            store_rollback(f->d.conn);
        }
        json_decref(jb);
        siyu_err_clear(&e);
    } else if (n_members) {
        int64_t m = members[rnd((uint32_t)n_members)];
        siyu_err e;
        siyu_err_init(&e);
        json_t *jb = J("{\"reason\":\"the member asked\"}");
        dom_changes_clear(&changes);
        store_begin(f->d.conn, true, &e);
        if (members_erase(&f->d, m, jb, NULL, NULL, &e) >= 0) {
            store_commit(f->d.conn, &e);
            views_on_commit(vw, reader, changes.v, changes.n);
        } else {
            store_rollback(f->d.conn);
        }
        json_decref(jb);
        siyu_err_clear(&e);
    }
    json_decref(o);
}

static int compared;

static void compare_one(fixture *f, int32_t from, int32_t to, int64_t store, int64_t within)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *a = NULL, *b = NULL;
    store_begin(f->d.conn, false, &e);
    int ra = groups_report(&f->d, from, to, store, within, &a, &e);
    siyu_err_clear(&e);
    /* the view answers itself (no silent fall-back to SQL) */
    groups_figures fig = {0};
    groups_ask q = {.from = from,
                    .to = to,
                    .from_s = (int64_t)from * 86400 - SIYU_LOCAL_OFFSET_S,
                    .to_s = ((int64_t)to + 1) * 86400 - SIYU_LOCAL_OFFSET_S};
    CHECK_INT_EQ(group_view_figures(views_groups(vw), &q, &fig), 0);
    free(fig.v);
    free(fig.cv);
    int rb = groups_report_from(&f->d, group_view_figures, views_groups(vw), from, to, store,
                                within, &b, &e);
    siyu_err_clear(&e);
    store_rollback(f->d.conn);
    CHECK_INT_EQ(ra, rb);
    if (a && b && !json_equal(a, b)) {
        char *x = json_dumps(a, JSON_SORT_KEYS | JSON_COMPACT),
             *y = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
        fprintf(stderr, "role %d store %lld within %lld:\nSQL  %s\nview %s\n", (int)f->d.who.role,
                (long long)store, (long long)within, x, y);
        free(x);
        free(y);
        CHECK(false);
    }
    compared++;
    json_decref(a);
    json_decref(b);
}

static void compare_all(fixture *f)
{
    int32_t today = time_local_day(now_s), start = time_local_day(T0);
    int32_t periods[][2] = {{start - 5, today},
                            {today - 6, today},
                            {start + (int32_t)rnd(40), today - (int32_t)rnd(10)},
                            {today, today}};
    principal admin = f->d.who;
    for (size_t p = 0; p < sizeof periods / sizeof *periods; p++) {
        int32_t from = periods[p][0], to = periods[p][1];
        if (to < from) continue;
        compare_one(f, from, to, 0, 0);
        compare_one(f, from, to, 0, 1 + rnd(20));
        compare_one(f, from, to, 1 + rnd(2), 0);
        /* the store manager of store 1, the guide 王芳 (staff 1, store 1) */
        f->d.who.role = ROLE_STORE_MANAGER;
        f->d.who.staff_id = 3;
        f->d.who.store_id = 1;
        compare_one(f, from, to, 0, p == 1 ? 7 : 0);
        f->d.who.role = ROLE_GUIDE;
        f->d.who.staff_id = 1;
        compare_one(f, from, to, 0, p == 2 ? 3 : 0);
        f->d.who = admin;
    }
}

static void chain(uint64_t seed, int steps)
{
    fixture f;
    fixture_open(&f);
    rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    n_groups = n_members = n_orders = 0;
    now_s = f.d.now;
    siyu_err e;
    siyu_err_init(&e);
    for (int g = 1; g <= 2; g++) {
        char b[64];
        snprintf(b, sizeof b, "{\"wecom_userid\":\"g-%d\"}", g);
        json_t *jb = J(b);
        store_begin(f.d.conn, true, &e);
        CHECK_INT_EQ(staff_patch(&f.d, g, jb, NULL, &e), 200);
        store_commit(f.d.conn, &e);
        json_decref(jb);
    }
    /* the views as the server builds them; from here every write is followed */
    CHECK_INT_EQ(views_open(f.st, &vw, &e), 0);
    CHECK_INT_EQ(store_conn_open(f.st, &reader, &e), 0);
    f.d.changes = &changes;
    for (int i = 0; i < steps; i++) {
        random_step(&f);
        if (i % 50 == 49) compare_all(&f);
        if (i == steps / 2) {
            /* stale (as after a failed read): SQL answers while it is built again, the
             * writes meanwhile are kept and applied to the new copy */
            group_view_rebuild(views_groups(vw));
            groups_figures fig = {0};
            groups_ask q = {.from = 20000, .to = 20001};
            group_view_stats gs;
            group_view_get_stats(views_groups(vw), &gs);
            if (!gs.ready) CHECK_INT_EQ(group_view_figures(views_groups(vw), &q, &fig), -1);
            json_t *a = NULL, *b = NULL;
            store_begin(f.d.conn, false, &e);
            groups_report(&f.d, 20400, 20420, 0, 0, &a, &e);
            groups_report_from(&f.d, group_view_figures, views_groups(vw), 20400, 20420, 0, 0, &b,
                               &e);
            store_rollback(f.d.conn);
            CHECK(json_equal(a, b));
            json_decref(a);
            json_decref(b);
            for (int k = 0; k < 20; k++)
                random_step(&f);
            for (int w = 0; w < 500; w++) { /* until the new copy is in */
                group_view_get_stats(views_groups(vw), &gs);
                if (gs.ready) break;
                usleep(10000);
            }
            CHECK(gs.ready);
            CHECK(gs.rebuilds >= 1);
        }
    }
    compare_all(&f);
    /* a view built now from the store answers the same as the one that followed it */
    views *again;
    CHECK_INT_EQ(views_open(f.st, &again, &e), 0);
    views *followed = vw;
    vw = again;
    compare_all(&f);
    vw = followed;
    views_close(again);
    f.d.changes = NULL;
    store_conn_close(reader);
    views_close(vw);
    dom_changes_free(&changes);
    fixture_close(&f);
    siyu_err_clear(&e);
}

int main(void)
{
    const char *env = getenv("SIYU_TEST_SEED");
    if (env) {
        chain(strtoull(env, NULL, 10), 600);
    } else {
        for (uint64_t s = 1; s <= 3; s++)
            chain(s, 400);
    }
    fprintf(stderr, "group view: %d reports compared with SQL\n", compared);
    CHECK(compared > 0);
    return CHECK_DONE();
}
