/* Unit tests for the member center: create-or-match, identities, conflicts, patch,
 * merge, scopes and phone masking, worked by hand. */
#include "fixture.h"

/* The names in a JSON array of strings, joined with commas ("" for none or not an array). */
static const char *fields_of(json_t *arr, char *buf, size_t cap)
{
    buf[0] = 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", len ? "," : "", json_string_value(v));
    }
    return buf;
}

int main(void)
{
    fixture f;
    fixture_open(&f);
    siyu_err e;
    siyu_err_init(&e);
    json_t *m;

    /* created once, matched after: the phone is one identity in any spelling */
    CHECK_INT_EQ(call(&f, members_create_or_match,
                      "{\"phone\":\"+86 138-0013-8000\",\"name\":\"张伟\",\"guide_id\":1}", &m, &e),
                 201);
    CHECK_INT_EQ(jint(m, "id"), 1);
    CHECK_INT_EQ(jint(m, "store_id"), 1); /* bound to a guide: in the guide's store */
    json_decref(m);
    CHECK_INT_EQ(
        call(&f, members_create_or_match, "{\"phone\":\"13800138000\",\"card_no\":\"C1\"}", &m, &e),
        200);
    CHECK_INT_EQ(jint(m, "id"), 1);
    CHECK_INT_EQ(json_array_size(json_object_get(m, "identities")), 2); /* card added */
    json_decref(m);
    /* a second person */
    CHECK_INT_EQ(
        call(&f, members_create_or_match, "{\"unionid\":\"U2\",\"card_no\":\"C2\"}", &m, &e), 201);
    CHECK_INT_EQ(jint(m, "id"), 2);
    json_decref(m);
    /* identities of two different members: 409 naming both */
    CHECK_INT_EQ(
        call(&f, members_create_or_match, "{\"card_no\":\"C1\",\"unionid\":\"U2\"}", &m, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_CONFLICT);
    CHECK_INT_EQ(json_integer_value(json_array_get(json_object_get(e.details, "member_ids"), 0)),
                 1);
    CHECK_INT_EQ(json_integer_value(json_array_get(json_object_get(e.details, "member_ids"), 1)),
                 2);
    /* bad input is refused and names the field */
    CHECK_INT_EQ(call(&f, members_create_or_match, "{\"phone\":\"12345\"}", NULL, &e), -1);
    CHECK_STR_EQ(e.field, "phone");
    CHECK_INT_EQ(call(&f, members_create_or_match,
                      "{\"phone\":\"13900000001\",\"birthday\":\"1990-02-30\"}", NULL, &e),
                 -1);
    CHECK_STR_EQ(e.field, "birthday");
    CHECK_INT_EQ(
        call(&f, members_create_or_match, "{\"phone\":\"13900000001\",\"store_id\":99}", NULL, &e),
        -1);
    CHECK_STR_EQ(e.field, "store_id");
    CHECK_INT_EQ(e.code, SIYU_NOT_FOUND);
    CHECK_INT_EQ(
        call(&f, members_create_or_match, "{\"phone\":\"13900000001\",\"guide_id\":3}", NULL, &e),
        -1);
    CHECK_STR_EQ(e.field, "guide_id"); /* staff 3 is a store manager, not a guide */
    CHECK_INT_EQ(call(&f, members_create_or_match, "{\"name\":\"无身份\"}", NULL, &e), -1);
    CHECK_INT_EQ(
        call(&f, members_create_or_match, "{\"phone\":\"13900000001\",\"nmae\":\"x\"}", NULL, &e),
        -1);
    CHECK_STR_EQ(e.field, "nmae");
    /* nothing was written by the refusals */
    store_stmt *s = store_q(f.d.conn, Q_COUNT_MEMBERS);
    CHECK_INT_EQ(store_step(s), STORE_ROW);
    CHECK_INT_EQ(store_col_int(s, 0), 2);
    store_reset(s);

    /* lookup by identity */
    CHECK_INT_EQ(members_lookup(&f.d, "phone", "138 0013 8000", NULL, &m, &e), 200);
    CHECK_INT_EQ(jint(m, "id"), 1);
    json_decref(m);
    CHECK_INT_EQ(members_lookup(&f.d, "card_no", "nope", NULL, &m, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_NOT_FOUND);

    /* patch: named fields change, others stay; null clears */
    json_t *b = J("{\"city\":\"杭州\",\"gender\":\"male\"}");
    CHECK_INT_EQ(members_patch(&f.d, 1, b, &m, &e), 200);
    CHECK_STR_EQ(json_string_value(json_object_get(m, "city")), "杭州");
    CHECK_STR_EQ(json_string_value(json_object_get(m, "name")), "张伟");
    json_decref(m);
    json_decref(b);
    b = J("{\"city\":null}");
    CHECK_INT_EQ(members_patch(&f.d, 1, b, &m, &e), 200);
    CHECK(json_is_null(json_object_get(m, "city")));
    json_decref(m);
    json_decref(b);

    /* scopes: guide 1 sees member 1 with the phone masked, not member 2 */
    dom guide = f.d;
    guide.who = (principal){.role = ROLE_GUIDE, .staff_id = 1, .store_id = 1};
    CHECK_INT_EQ(members_get(&guide, 1, &m, &e), 200);
    CHECK_STR_EQ(json_string_value(json_object_get(m, "phone")), "138****8000");
    json_decref(m);
    CHECK_INT_EQ(members_get(&guide, 2, &m, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_PERMISSION_DENIED);
    dom manager = f.d;
    manager.who = (principal){.role = ROLE_STORE_MANAGER, .staff_id = 3, .store_id = 1};
    CHECK_INT_EQ(members_get(&manager, 1, &m, &e), 200);
    CHECK_STR_EQ(json_string_value(json_object_get(m, "phone")), "13800138000");
    json_decref(m);
    CHECK_INT_EQ(members_get(&manager, 2, &m, &e), -1); /* member 2 has no store */
    /* a guide creating a member binds it to themselves */
    siyu_err_clear(&e);
    store_begin(f.d.conn, true, &e);
    b = J("{\"phone\":\"13700000007\"}");
    CHECK_INT_EQ(members_create_or_match(&guide, b, &m, &e), 201);
    CHECK_INT_EQ(jint(m, "guide_id"), 1);
    store_commit(f.d.conn, &e);
    int64_t guides_member = jint(m, "id");
    json_decref(m);
    json_decref(b);

    /* merge: member 2 into member 1 moves identities and orders; 2 answers merged_into */
    CHECK_INT_EQ(
        call(&f, orders_create,
             "{\"channel\":\"store\",\"external_id\":\"m2-1\",\"store_id\":1,"
             "\"placed_at\":\"2026-11-01T10:00:00+08:00\",\"total_cents\":500,"
             "\"member_id\":2,\"items\":[{\"sku\":\"A\",\"qty\":1,\"unit_price_cents\":500}]}",
             NULL, &e),
        201);
    store_begin(f.d.conn, true, &e);
    b = J("{\"from_member_id\":2}");
    CHECK_INT_EQ(members_merge(&f.d, 1, b, &m, &e), 200);
    store_commit(f.d.conn, &e);
    CHECK_INT_EQ(jint(m, "stats.orders"), 1);
    CHECK_INT_EQ(jint(m, "stats.spend_cents"), 500);
    CHECK_INT_EQ(json_array_size(json_object_get(m, "identities")), 4);
    CHECK_INT_EQ(json_array_size(json_object_get(m, "merged_from")), 1);
    json_decref(m);
    CHECK_INT_EQ(members_get(&f.d, 2, &m, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_NOT_FOUND);
    CHECK_INT_EQ(json_integer_value(json_object_get(e.details, "merged_into")), 1);
    /* the merged member's identities now find member 1 */
    CHECK_INT_EQ(call(&f, members_create_or_match, "{\"unionid\":\"U2\"}", &m, &e), 200);
    CHECK_INT_EQ(jint(m, "id"), 1);
    json_decref(m);
    /* merging again is a replay; into itself is refused */
    store_begin(f.d.conn, true, &e);
    CHECK_INT_EQ(members_merge(&f.d, 1, b, NULL, &e), 200);
    json_decref(b);
    b = J("{\"from_member_id\":1}");
    CHECK_INT_EQ(members_merge(&f.d, 1, b, NULL, &e), -1);
    json_decref(b);
    store_commit(f.d.conn, &e);
    CHECK(guides_member > 2);

    /* A member first made at the till from a phone alone: a later create-or-match fills
     * the empty name, gender and birthday, keeps what it has, and says which is which. */
    {
        char got[128];
        CHECK_INT_EQ(call(&f, members_create_or_match, "{\"phone\":\"13700000077\"}", &m, &e), 201);
        int64_t till = jint(m, "id");
        json_decref(m);
        CHECK_INT_EQ(call(&f, members_create_or_match,
                          "{\"phone\":\"13700000077\",\"name\":\"周敏\",\"gender\":\"female\","
                          "\"birthday\":\"1991-03-08\"}",
                          &m, &e),
                     200);
        CHECK_INT_EQ(jint(m, "id"), till);
        CHECK_STR_EQ(fields_of(json_object_get(m, "filled"), got, sizeof got),
                     "name,gender,birthday");
        CHECK_STR_EQ(fields_of(json_object_get(m, "kept"), got, sizeof got), "");
        CHECK_STR_EQ(json_string_value(json_object_get(m, "birthday")), "1991-03-08");
        CHECK_STR_EQ(json_string_value(json_object_get(m, "gender")), "female");
        json_decref(m);
        /* a different name is kept as it was; the city was empty and is filled */
        CHECK_INT_EQ(call(&f, members_create_or_match,
                          "{\"phone\":\"13700000077\",\"name\":\"周小敏\",\"city\":\"杭州\","
                          "\"gender\":\"female\"}",
                          &m, &e),
                     200);
        CHECK_STR_EQ(fields_of(json_object_get(m, "filled"), got, sizeof got), "city");
        CHECK_STR_EQ(fields_of(json_object_get(m, "kept"), got, sizeof got), "name");
        CHECK_STR_EQ(json_string_value(json_object_get(m, "name")), "周敏");
        /* the 360 shows both changes, newest first */
        json_t *pc = json_object_get(m, "profile_changes");
        CHECK_INT_EQ(json_array_size(pc), 2);
        CHECK_STR_EQ(fields_of(json_object_get(json_array_get(pc, 0), "filled"), got, sizeof got),
                     "city");
        CHECK_STR_EQ(fields_of(json_object_get(json_array_get(pc, 0), "kept"), got, sizeof got),
                     "name");
        CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(pc, 1), "source")),
                     "create_or_match");
        json_decref(m);

        /* a merge fills the kept member's empty fields from the merged-away member */
        CHECK_INT_EQ(
            call(&f, members_create_or_match,
                 "{\"phone\":\"13700000078\",\"name\":\"吴军\",\"birthday\":\"1980-12-01\","
                 "\"city\":\"宁波\"}",
                 &m, &e),
            201);
        int64_t away = jint(m, "id");
        json_decref(m);
        CHECK_INT_EQ(
            call(&f, members_create_or_match, "{\"card_no\":\"C78\",\"city\":\"杭州\"}", &m, &e),
            201);
        int64_t kept_id = jint(m, "id");
        json_decref(m);
        char body[64];
        snprintf(body, sizeof body, "{\"from_member_id\":%lld}", (long long)away);
        json_t *mb = J(body);
        store_begin(f.d.conn, true, &e);
        CHECK_INT_EQ(members_merge(&f.d, kept_id, mb, &m, &e), 200);
        store_commit(f.d.conn, &e);
        json_decref(mb);
        CHECK_STR_EQ(fields_of(json_object_get(m, "filled"), got, sizeof got), "name,birthday");
        CHECK_STR_EQ(fields_of(json_object_get(m, "kept"), got, sizeof got), "city");
        json_decref(m);
        CHECK_INT_EQ(members_get(&f.d, kept_id, &m, &e), 200);
        CHECK_STR_EQ(json_string_value(json_object_get(m, "name")), "吴军");
        CHECK_STR_EQ(json_string_value(json_object_get(m, "birthday")), "1980-12-01");
        CHECK_STR_EQ(json_string_value(json_object_get(m, "city")), "杭州");
        /* the merge audit carries the fill */
        json_t *mf = json_array_get(json_object_get(m, "merged_from"), 0);
        CHECK_STR_EQ(fields_of(json_object_get(mf, "filled"), got, sizeof got), "name,birthday");
        json_decref(m);
    }

    siyu_err_clear(&e);
    fixture_close(&f);
    return CHECK_DONE();
}
