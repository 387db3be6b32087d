/* Unit tests for events: reachability follows the latest event by time, duplicates
 * are stored once, a batch is all or nothing. */
#include "fixture.h"

static int reach(fixture *f, int64_t id, const char *channel)
{
    json_t *m;
    siyu_err e;
    siyu_err_init(&e);
    if (members_get(&f->d, id, &m, &e) != 200) return -1;
    int on = json_is_true(json_object_get(json_object_get(m, "reachability"), channel));
    json_decref(m);
    return on;
}

int main(void)
{
    fixture f;
    fixture_open(&f);
    siyu_err e;
    siyu_err_init(&e);
    json_t *o;
    CHECK_INT_EQ(call(&f, members_create_or_match,
                      "{\"phone\":\"13812345678\",\"openid\":\"o1\",\"app_id\":\"wx1\"}", NULL, &e),
                 201);

    /* the unfollow at 10:00 arrives before the follow at 09:00: the member is not reachable */
    CHECK_INT_EQ(call(&f, events_record,
                      "{\"type\":\"unfollow_public_account\",\"member_id\":1,\"at\":\"2026-11-"
                      "20T10:00:00+08:00\"}",
                      NULL, &e),
                 201);
    CHECK_INT_EQ(call(&f, events_record,
                      "{\"type\":\"follow_public_account\",\"member\":{\"openid\":\"o1\",\"app_"
                      "id\":\"wx1\"},\"at\":\"2026-11-20T09:00:00+08:00\"}",
                      NULL, &e),
                 201);
    CHECK_INT_EQ(reach(&f, 1, "public_account"), 0);
    CHECK_INT_EQ(call(&f, events_record,
                      "{\"type\":\"follow_public_account\",\"member_id\":1,\"at\":\"2026-11-20T11:"
                      "00:00+08:00\"}",
                      NULL, &e),
                 201);
    CHECK_INT_EQ(reach(&f, 1, "public_account"), 1);
    CHECK_INT_EQ(reach(&f, 1, "any"), 1);
    CHECK_INT_EQ(reach(&f, 1, "sms"), 0);
    /* the same event again is a duplicate */
    CHECK_INT_EQ(call(&f, events_record,
                      "{\"type\":\"follow_public_account\",\"member_id\":1,\"at\":\"2026-11-20T11:"
                      "00:00+08:00\"}",
                      &o, &e),
                 200);
    CHECK_INT_EQ(jint(o, "duplicates"), 1);
    json_decref(o);
    /* a batch with one bad event writes nothing and names the event */
    CHECK_INT_EQ(call(&f, events_record,
                      "{\"events\":[{\"type\":\"sms_opt_in\",\"member_id\":1},{\"type\":\"sms_opt_"
                      "inn\",\"member_id\":1}]}",
                      NULL, &e),
                 -1);
    CHECK_STR_EQ(e.field, "events[1].type");
    CHECK_INT_EQ(reach(&f, 1, "sms"), 0);
    CHECK_INT_EQ(
        call(&f, events_record,
             "{\"events\":[{\"type\":\"sms_opt_in\",\"member_id\":1,\"at\":\"2026-11-21T08:00:00+"
             "08:00\"},{\"type\":\"live_view\",\"member_id\":1,\"props\":{\"store_id\":2}}]}",
             &o, &e),
        201);
    CHECK_INT_EQ(jint(o, "accepted"), 2);
    json_decref(o);
    CHECK_INT_EQ(reach(&f, 1, "sms"), 1);
    /* unknown members and bad fields */
    CHECK_INT_EQ(call(&f, events_record,
                      "{\"type\":\"share\",\"member\":{\"phone\":\"13900000000\"}}", NULL, &e),
                 -1);
    CHECK_INT_EQ(e.code, SIYU_NOT_FOUND);
    CHECK_INT_EQ(call(&f, events_record,
                      "{\"type\":\"share\",\"member_id\":1,\"at\":\"yesterday\"}", NULL, &e),
                 -1);
    CHECK_STR_EQ(e.field, "at");
    CHECK_INT_EQ(
        call(&f, events_record, "{\"type\":\"share\",\"member_id\":1,\"props\":[1]}", NULL, &e),
        -1);
    CHECK_STR_EQ(e.field, "props");
    CHECK_INT_EQ(call(&f, events_record, "{\"events\":[]}", NULL, &e), -1);
    siyu_err_clear(&e);
    fixture_close(&f);
    return CHECK_DONE();
}
