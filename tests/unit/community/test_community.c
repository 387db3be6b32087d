/* Unit tests for src/community: a code's state, how many SKUs make 80% (the 2:80 of group
 * selling), the Wilson interval, group days from events on a real store (a same-day join
 * and quit, a rejoin, a replaced activity count, a dismissal), the hook a departing
 * guide's transfer calls (owner states), and what `siyu check` finds when the day
 * roll-up is tampered with. */
#include <math.h>

#include "fixture.h"
#include "community/community.h"
#include "guides/guides.h"

static void states(void)
{
    CHECK_INT_EQ(group_code_state("gc-7"), 7);
    CHECK_INT_EQ(group_code_state("gc-"), 0);
    CHECK_INT_EQ(group_code_state("gc-7x"), 0);
    CHECK_INT_EQ(group_code_state("qr-7"), 0);
    CHECK_INT_EQ(group_code_state(NULL), 0);
}

static void share(void)
{
    int64_t a[] = {500, 4000, 3000}; /* 7500: 4000 < 6000 <= 7000 */
    CHECK_INT_EQ(group_skus_for_share(a, 3, 80), 2);
    CHECK_INT_EQ(a[0], 4000);         /* sorted, largest first */
    int64_t b[] = {8000, 1000, 1000}; /* exactly 80% with one */
    CHECK_INT_EQ(group_skus_for_share(b, 3, 80), 1);
    int64_t c[10]; /* ten equal SKUs: eight make 80% */
    for (int i = 0; i < 10; i++)
        c[i] = 100;
    CHECK_INT_EQ(group_skus_for_share(c, 10, 80), 8);
    int64_t z[] = {0, 0};
    CHECK_INT_EQ(group_skus_for_share(z, 2, 80), 0);
    CHECK_INT_EQ(group_skus_for_share(NULL, 0, 80), 0);
    int64_t big[] = {INT64_MAX / 2, INT64_MAX / 2, 10}; /* sums past 2^63 do not wrap */
    CHECK_INT_EQ(group_skus_for_share(big, 3, 80), 2);
}

static void wilson(void)
{
    double lo, hi;
    group_wilson(0, 0, &lo, &hi);
    CHECK(lo == 0 && hi == 1);
    /* 10 of 100 at 95%: [0.0552, 0.1744] (Wilson's formula by hand) */
    group_wilson(10, 100, &lo, &hi);
    CHECK(fabs(lo - 0.0552) < 0.0005 && fabs(hi - 0.1744) < 0.0005);
    group_wilson(0, 20, &lo, &hi);
    CHECK(lo == 0 && hi > 0 && hi < 0.2);
    group_wilson(20, 20, &lo, &hi);
    CHECK(hi == 1 && lo > 0.8);
}

static int ev(fixture *f, const char *body, json_t **out, siyu_err *e)
{
    return call(f, groups_events_record, body, out, e);
}

static int64_t at(const char *rfc3339)
{
    int64_t t = 0;
    if (time_parse_rfc3339(rfc3339, &t)) abort();
    return t;
}

static void days(fixture *f)
{
    siyu_err e;
    siyu_err_init(&e);
    /* guide 1 is WeCom userid g-1 */
    json_t *b = J("{\"wecom_userid\":\"g-1\"}");
    store_begin(f->d.conn, true, &e);
    CHECK_INT_EQ(staff_patch(&f->d, 1, b, NULL, &e), 200);
    store_commit(f->d.conn, &e);
    json_decref(b);
    f->d.now = at("2026-11-22T20:00:00+08:00");
    json_t *o;
    CHECK_INT_EQ(ev(f,
                    "{\"events\":["
                    "{\"event\":\"group_created\",\"chat_id\":\"c1\",\"owner_userid\":\"g-1\","
                    "\"theme\":\"fresh\",\"at\":\"2026-11-20T09:00:00+08:00\"},"
                    /* a joins the 20th; b joins and quits the 20th (0 member-days) */
                    "{\"event\":\"member_joined\",\"chat_id\":\"c1\",\"external_userid\":\"a\","
                    "\"at\":\"2026-11-20T10:00:00+08:00\"},"
                    "{\"event\":\"member_joined\",\"chat_id\":\"c1\",\"external_userid\":\"b\","
                    "\"at\":\"2026-11-20T11:00:00+08:00\"},"
                    "{\"event\":\"member_quit\",\"chat_id\":\"c1\",\"external_userid\":\"b\","
                    "\"at\":\"2026-11-20T23:59:00+08:00\"},"
                    /* b comes back on the 21st, a quits on the 22nd */
                    "{\"event\":\"member_joined\",\"chat_id\":\"c1\",\"external_userid\":\"b\","
                    "\"at\":\"2026-11-21T00:00:00+08:00\"},"
                    "{\"event\":\"member_quit\",\"chat_id\":\"c1\",\"external_userid\":\"a\","
                    "\"quit_scene\":\"removed\",\"at\":\"2026-11-22T08:00:00+08:00\"},"
                    "{\"event\":\"activity\",\"chat_id\":\"c1\",\"external_userid\":\"a\","
                    "\"day\":\"2026-11-21\",\"messages\":5},"
                    "{\"event\":\"activity\",\"chat_id\":\"c1\",\"external_userid\":\"b\","
                    "\"day\":\"2026-11-21\",\"messages\":2},"
                    "{\"event\":\"activity\",\"chat_id\":\"c1\",\"external_userid\":\"a\","
                    "\"day\":\"2026-11-21\",\"messages\":0},"
                    "{\"event\":\"activity\",\"chat_id\":\"c1\",\"userid\":\"g-1\","
                    "\"day\":\"2026-11-21\",\"messages\":9}]}",
                    &o, &e),
                 201);
    json_decref(o);
    group_day d[3];
    store_begin(f->d.conn, false, &e);
    CHECK_INT_EQ(
        groups_days(&f->d, 1, date_from_civil(2026, 11, 20), date_from_civil(2026, 11, 22), d, &e),
        0);
    store_commit(f->d.conn, &e);
    /* the 20th: 2 joins, 1 quit, a alone at the end of the day */
    CHECK_INT_EQ(d[0].new_members, 2);
    CHECK_INT_EQ(d[0].quits, 1);
    CHECK_INT_EQ(d[0].members, 1);
    /* the 21st: b back; a's 5 replaced by 0: one speaker (b), 2 messages; staff not counted */
    CHECK_INT_EQ(d[1].new_members, 1);
    CHECK_INT_EQ(d[1].members, 2);
    CHECK_INT_EQ(d[1].speakers, 1);
    CHECK_INT_EQ(d[1].messages, 2);
    /* the 22nd: a removed */
    CHECK_INT_EQ(d[2].quits, 1);
    CHECK_INT_EQ(d[2].members, 1);
    /* the checker is clean; a tampered roll-up is found */
    json_t *v = json_array();
    CHECK_INT_EQ(groups_check(f->d.conn, 10, v), 0);
    CHECK_INT_EQ(fixture_exec(f, "UPDATE chat_group_days SET messages = messages + 1"), 0);
    CHECK(groups_check(f->d.conn, 10, v) > 0);
    CHECK_INT_EQ(fixture_exec(f, "UPDATE chat_group_days SET messages = messages - 1"), 0);
    /* a group post that names no SOP's campaign is found too */
    CHECK_INT_EQ(fixture_exec(f, "INSERT INTO guide_tasks(kind, state, created_at, round, group_id)"
                                 " VALUES ('group_post', 'open', 0, '2026-11-23', 1)"),
                 0);
    CHECK_INT_EQ(groups_check(f->d.conn, 10, v), 1);
    CHECK_INT_EQ(fixture_exec(f, "DELETE FROM guide_tasks WHERE group_id = 1"), 0);
    CHECK_INT_EQ(groups_check(f->d.conn, 10, v), 0);
    json_decref(v);
    /* a quit of someone not in the group names the field; nothing is written */
    CHECK_INT_EQ(ev(f,
                    "{\"event\":\"member_quit\",\"chat_id\":\"c1\",\"external_userid\":\"zz\","
                    "\"at\":\"2026-11-22T09:00:00+08:00\"}",
                    NULL, &e),
                 -1);
    CHECK_STR_EQ(e.field, "external_userid");
    /* a dismissal ends every stint, not counted as quits */
    CHECK_INT_EQ(ev(f,
                    "{\"event\":\"group_dismissed\",\"chat_id\":\"c1\","
                    "\"at\":\"2026-11-22T12:00:00+08:00\"}",
                    NULL, &e),
                 201);
    store_begin(f->d.conn, false, &e);
    groups_days(&f->d, 1, date_from_civil(2026, 11, 22), date_from_civil(2026, 11, 22), d, &e);
    store_commit(f->d.conn, &e);
    CHECK_INT_EQ(d[0].quits, 1);
    CHECK_INT_EQ(d[0].members, 0);
}

static void departures(fixture *f)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *o;
    CHECK_INT_EQ(ev(f,
                    "{\"events\":["
                    "{\"event\":\"group_created\",\"chat_id\":\"c2\",\"owner_userid\":\"g-1\","
                    "\"theme\":\"mom\",\"at\":\"2026-11-21T09:00:00+08:00\"},"
                    "{\"event\":\"group_created\",\"chat_id\":\"c3\",\"owner_userid\":\"g-1\","
                    "\"at\":\"2026-11-21T09:00:00+08:00\"}]}",
                    &o, &e),
                 201);
    json_decref(o);
    int64_t ids[8];
    store_begin(f->d.conn, false, &e);
    CHECK_INT_EQ(groups_of_guide(&f->d, 1, ids, 8), 2); /* c1 was dismissed */
    store_commit(f->d.conn, &e);
    CHECK_INT_EQ(ids[0], 2);
    /* the transfer marks them; a code no longer serves them */
    store_begin(f->d.conn, true, &e);
    CHECK_INT_EQ(groups_set_owner_state(&f->d, ids[0], "owner_departed", 0, &e), 0);
    CHECK_INT_EQ(groups_set_owner_state(&f->d, ids[0], "gone", 0, &e), -1);
    CHECK_STR_EQ(e.field, "state");
    siyu_err_clear(&e);
    store_commit(f->d.conn, &e);
    CHECK_INT_EQ(call(f, group_codes_create, "{\"store_id\":1,\"theme\":\"mom\"}", &o, &e), 201);
    CHECK(json_is_null(json_object_get(o, "chat_id")));
    json_decref(o);
    /* WeCom's own transfer: a new owner in group_updated makes it inherited */
    json_t *b = J("{\"wecom_userid\":\"g-9\"}");
    CHECK_INT_EQ(
        call(f, staff_create, "{\"name\":\"周敏\",\"role\":\"guide\",\"store_id\":1}", &o, &e),
        201);
    store_begin(f->d.conn, true, &e);
    CHECK_INT_EQ(staff_patch(&f->d, jint(o, "id"), b, NULL, &e), 200);
    store_commit(f->d.conn, &e);
    json_decref(b);
    json_decref(o);
    CHECK_INT_EQ(ev(f,
                    "{\"event\":\"group_updated\",\"chat_id\":\"c2\",\"owner_userid\":\"g-9\","
                    "\"at\":\"2026-11-22T10:00:00+08:00\"}",
                    NULL, &e),
                 201);
    store_begin(f->d.conn, false, &e);
    CHECK_INT_EQ(groups_get(&f->d, 2, &o, &e), 200);
    store_commit(f->d.conn, &e);
    CHECK_STR_EQ(json_string_value(json_object_get(o, "state")), "inherited");
    CHECK_STR_EQ(json_string_value(json_object_get(o, "owner_userid")), "g-9");
    json_decref(o);
    CHECK_INT_EQ(call(f, group_codes_create, "{\"store_id\":1,\"theme\":\"mom\"}", &o, &e), 201);
    CHECK_STR_EQ(json_string_value(json_object_get(o, "chat_id")), "c2");
    json_decref(o);
}

int main(void)
{
    states();
    share();
    wilson();
    fixture f;
    fixture_open(&f);
    days(&f);
    departures(&f);
    fixture_close(&f);
    return CHECK_DONE();
}
