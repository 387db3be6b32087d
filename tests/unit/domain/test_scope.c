/* Unit tests for tokens and scopes: a token's role is its staff member's, a cashier's
 * token belongs to a store, expired and revoked tokens do not resolve, a token's use
 * is recorded at most once a minute, and each kind of object's scope rule. */
#include "fixture.h"

static int issue(fixture *f, role r, int64_t staff, int64_t store, int64_t expires, char *tok,
                 int64_t *id, siyu_err *e)
{
    auth_token_spec spec = {.role = r, .staff_id = staff, .store_id = store, .expires_at = expires};
    siyu_err_clear(e);
    store_begin(f->d.conn, true, e);
    int rc = auth_token_issue(f->d.conn, &spec, f->d.now, tok, id, e);
    if (rc)
        store_rollback(f->d.conn);
    else
        store_commit(f->d.conn, e);
    return rc;
}

static int as(fixture *f, role r, int64_t staff, int64_t store)
{
    f->d.who.role = r;
    f->d.who.staff_id = staff;
    f->d.who.store_id = store;
    return 0;
}

int main(void)
{
    fixture f;
    fixture_open(&f);
    siyu_err e;
    siyu_err_init(&e);
    char tok[AUTH_TOKEN_LEN + 1];
    int64_t id;
    principal p;

    /* a guide's token is a guide's: admin for staff 1 (a guide) is refused */
    CHECK_INT_EQ(issue(&f, ROLE_ADMIN, 1, 0, 0, tok, &id, &e), -1);
    CHECK_STR_EQ(e.field, "role");
    CHECK_INT_EQ(issue(&f, ROLE_OPERATOR, 3, 0, 0, tok, &id, &e), -1);
    CHECK_INT_EQ(issue(&f, ROLE_GUIDE, 0, 0, 0, tok, &id, &e), -1);
    CHECK_STR_EQ(e.field, "staff");
    /* a cashier belongs to a store that exists, and to no staff member */
    CHECK_INT_EQ(issue(&f, ROLE_CASHIER, 0, 0, 0, tok, &id, &e), -1);
    CHECK_STR_EQ(e.field, "store");
    CHECK_INT_EQ(issue(&f, ROLE_CASHIER, 0, 9, 0, tok, &id, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_NOT_FOUND);
    CHECK_INT_EQ(issue(&f, ROLE_CASHIER, 1, 1, 0, tok, &id, &e), -1);
    CHECK_INT_EQ(issue(&f, ROLE_GUIDE, 1, 1, 0, tok, &id, &e),
                 -1); /* only a cashier takes a store */
    CHECK_INT_EQ(issue(&f, ROLE_CASHIER, 0, 2, 0, tok, &id, &e), 0);
    CHECK_INT_EQ(auth_resolve_at(f.d.conn, tok, f.d.now, &p, &e), 0);
    CHECK_INT_EQ(p.role, ROLE_CASHIER);
    CHECK_INT_EQ(p.store_id, 2);
    CHECK_INT_EQ(p.staff_id, 0);
    CHECK_INT_EQ(p.token_id, id);
    CHECK(p.touch); /* never used yet */

    /* last use: recorded, then not again within the minute */
    store_begin(f.d.conn, true, &e);
    CHECK_INT_EQ(auth_touch(f.d.conn, &p, f.d.now, &e), 0);
    store_commit(f.d.conn, &e);
    CHECK_INT_EQ(auth_resolve_at(f.d.conn, tok, f.d.now + 59, &p, &e), 0);
    CHECK(!p.touch);
    CHECK_INT_EQ(auth_resolve_at(f.d.conn, tok, f.d.now + 60, &p, &e), 0);
    CHECK(p.touch);

    /* expiry: in the future at creation, refused from that instant on */
    CHECK_INT_EQ(issue(&f, ROLE_GUIDE, 1, 0, f.d.now, tok, &id, &e), -1);
    CHECK_STR_EQ(e.field, "expires_at");
    CHECK_INT_EQ(issue(&f, ROLE_GUIDE, 1, 0, f.d.now + 3600, tok, &id, &e), 0);
    CHECK_INT_EQ(auth_resolve_at(f.d.conn, tok, f.d.now + 3599, &p, &e), 0);
    CHECK_INT_EQ(p.staff_id, 1);
    CHECK_INT_EQ(p.store_id, 1);
    CHECK_INT_EQ(auth_resolve_at(f.d.conn, tok, f.d.now + 3600, &p, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_UNAUTHENTICATED);
    CHECK_INT_EQ(p.role, ROLE_NONE);

    /* revocation */
    CHECK_INT_EQ(issue(&f, ROLE_STORE_MANAGER, 3, 0, 0, tok, &id, &e), 0);
    CHECK_INT_EQ(auth_resolve_at(f.d.conn, tok, f.d.now, &p, &e), 0);
    json_t *o;
    store_begin(f.d.conn, true, &e);
    CHECK_INT_EQ(auth_token_revoke(f.d.conn, id, f.d.now, &o, &e), 200);
    store_commit(f.d.conn, &e);
    CHECK_STR_EQ(json_string_value(json_object_get(o, "state")), "revoked");
    json_decref(o);
    CHECK_INT_EQ(auth_resolve_at(f.d.conn, tok, f.d.now, &p, &e), -1);
    CHECK_INT_EQ(auth_token_revoke(f.d.conn, 999, f.d.now, NULL, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_NOT_FOUND);

    /* the cache of resolved tokens (the server's path): the same answers, and a write to
     * tokens or staff committed in this process is seen at the next check */
    CHECK(store_query_changes_auth(Q_TOKEN_REVOKE) && store_query_changes_auth(Q_TOKEN_INSERT2));
    CHECK(store_query_changes_auth(Q_STAFF_STORE_SET) &&
          store_query_changes_auth(Q_STAFF_STATUS_SET) &&
          store_query_changes_auth(Q_STAFF_TOKENS_REVOKE) &&
          store_query_changes_auth(Q_STAFF_INSERT));
    CHECK(!store_query_changes_auth(Q_TOKEN_TOUCH));      /* the last use: not who it is */
    CHECK(!store_query_changes_auth(Q_TOKEN_RESOLVE));    /* a read */
    CHECK(!store_query_changes_auth(Q_STAFF_STORE_OPEN)); /* staff_stores, not staff */
    uint64_t hits0, misses0, hits, misses;
    auth_cache_counts(&hits0, &misses0);
    CHECK_INT_EQ(issue(&f, ROLE_STORE_MANAGER, 3, 0, f.d.now + 3600, tok, &id, &e), 0);
    CHECK_INT_EQ(auth_resolve_cached(f.d.conn, tok, f.d.now, &p, &e), 0);
    CHECK(p.touch); /* never used */
    CHECK_INT_EQ(p.staff_id, 3);
    int64_t store3 = p.store_id;
    CHECK(store3 > 0);
    /* a use decided but never written (the request failed after the check) is no use:
     * the next check touches again */
    CHECK_INT_EQ(auth_resolve_cached(f.d.conn, tok, f.d.now + 1, &p, &e), 0);
    CHECK(p.touch);
    auth_cache_touched(&p, f.d.now + 1); /* this request's use is committed */
    CHECK_INT_EQ(auth_resolve_cached(f.d.conn, tok, f.d.now + 1, &p, &e), 0);
    CHECK(!p.touch);
    CHECK_INT_EQ(p.role, ROLE_STORE_MANAGER);
    CHECK_INT_EQ(p.token_id, id);
    CHECK_INT_EQ(auth_resolve_cached(f.d.conn, tok, f.d.now + 61, &p, &e), 0);
    CHECK(p.touch); /* a minute on */
    auth_cache_counts(&hits, &misses);
    CHECK_INT_EQ(misses - misses0, 1);
    CHECK_INT_EQ(hits - hits0, 3);
    /* expiry is checked at each use, not when the entry was read */
    CHECK_INT_EQ(auth_resolve_cached(f.d.conn, tok, f.d.now + 3600, &p, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_UNAUTHENTICATED);
    CHECK_INT_EQ(auth_resolve_cached(f.d.conn, tok, f.d.now + 2, &p, &e), 0);
    /* the staff member moves store: the next check has the new store */
    uint64_t epoch = store_auth_epoch();
    int64_t other = store3 == 1 ? 2 : 1;
    store_begin(f.d.conn, true, &e);
    store_stmt *st = store_q(f.d.conn, Q_STAFF_STORE_SET);
    store_bind_int(st, 1, other);
    store_bind_int(st, 2, 3);
    CHECK_INT_EQ(store_exec(st, &e), 0);
    CHECK(store_auth_epoch() == epoch); /* not before the commit */
    CHECK_INT_EQ(store_commit(f.d.conn, &e), 0);
    CHECK(store_auth_epoch() > epoch);
    CHECK_INT_EQ(auth_resolve_cached(f.d.conn, tok, f.d.now + 3, &p, &e), 0);
    CHECK_INT_EQ(p.store_id, other);
    /* revoked in this process: refused at once */
    store_begin(f.d.conn, true, &e);
    CHECK_INT_EQ(auth_token_revoke(f.d.conn, id, f.d.now, NULL, &e), 200);
    store_commit(f.d.conn, &e);
    CHECK_INT_EQ(auth_resolve_cached(f.d.conn, tok, f.d.now + 4, &p, &e), -1);
    CHECK_INT_EQ(p.role, ROLE_NONE);
    /* a refused token is never kept: a bad one misses every time */
    auth_cache_counts(&hits0, &misses0);
    CHECK_INT_EQ(auth_resolve_cached(f.d.conn, tok, f.d.now + 5, &p, &e), -1);
    CHECK_INT_EQ(auth_resolve_cached(f.d.conn, "sy_x", f.d.now + 5, &p, &e), -1);
    auth_cache_counts(&hits, &misses);
    CHECK_INT_EQ(hits - hits0, 0);
    /* a write undone moves the epoch too (it only ever drops entries) */
    epoch = store_auth_epoch();
    store_begin(f.d.conn, true, &e);
    st = store_q(f.d.conn, Q_STAFF_STORE_SET);
    store_bind_int(st, 1, store3);
    store_bind_int(st, 2, 3);
    CHECK_INT_EQ(store_exec(st, &e), 0);
    store_rollback(f.d.conn);
    CHECK(store_auth_epoch() > epoch);

    /* the list never shows a secret */
    CHECK_INT_EQ(auth_token_list(f.d.conn, 0, 1000, f.d.now + 7200, &o, &e), 200);
    CHECK_INT_EQ(json_array_size(json_object_get(o, "items")), 4);
    char *text = json_dumps(o, 0);
    CHECK(strstr(text, "sy_") == NULL && strstr(text, "hash") == NULL);
    free(text);
    json_decref(o);

    /* a statement left running on the checking connection, outside any transaction, keeps
     * SQLite's read snapshot open: a revocation committed meanwhile on another connection
     * moves the epoch, and the check after it must read the token's row as it is now, not
     * as that snapshot has it (which the cache would then keep under the new epoch) */
    {
        char t2[AUTH_TOKEN_LEN + 1];
        int64_t id2;
        CHECK_INT_EQ(issue(&f, ROLE_OPERATOR, 0, 0, 0, t2, &id2, &e), 0);
        CHECK_INT_EQ(auth_resolve_cached(f.d.conn, t2, f.d.now, &p, &e), 0);
        store_stmt *left = store_q(f.d.conn, Q_TOKEN_LIST);
        store_bind_int(left, 1, 0);
        store_bind_int(left, 2, 1000);
        CHECK_INT_EQ(store_step(left), STORE_ROW); /* and left running */
        store_conn *c2;
        CHECK_INT_EQ(store_conn_open(f.st, &c2, &e), 0);
        CHECK_INT_EQ(store_begin(c2, true, &e), 0);
        CHECK_INT_EQ(auth_token_revoke(c2, id2, f.d.now, NULL, &e), 200);
        CHECK_INT_EQ(store_commit(c2, &e), 0);
        store_conn_close(c2);
        CHECK_INT_EQ(auth_resolve_cached(f.d.conn, t2, f.d.now + 1, &p, &e), -1);
        CHECK_INT_EQ(auth_resolve_cached(f.d.conn, t2, f.d.now + 2, &p, &e), -1);
        CHECK_INT_EQ(p.role, ROLE_NONE);
        store_reset(left);
    }

    /* callers: a staff member's keys are theirs across tokens; a token's are its own */
    char k[48];
    principal a = {.role = ROLE_GUIDE, .staff_id = 7, .token_id = 1};
    auth_caller_key(&a, k, sizeof k);
    CHECK_STR_EQ(k, "staff:7");
    principal b = {.role = ROLE_ADMIN, .token_id = 4};
    auth_caller_key(&b, k, sizeof k);
    CHECK_STR_EQ(k, "token:4");

    /* scope rules: member 1 of store 1 bound to guide 1, member 2 of store 2 (guide 2) */
    as(&f, ROLE_ADMIN, 0, 0);
    CHECK_INT_EQ(call(&f, members_create_or_match,
                      "{\"phone\":\"13800000001\",\"store_id\":1,\"guide_id\":1}", NULL, &e),
                 201);
    CHECK_INT_EQ(call(&f, members_create_or_match,
                      "{\"phone\":\"13800000002\",\"store_id\":2,\"guide_id\":2}", NULL, &e),
                 201);
    CHECK_INT_EQ(scope_member(&f.d, 2, &e), 1);
    CHECK_INT_EQ(scope_member(&f.d, 99, &e), -1);
    CHECK_INT_EQ(e.code, SIYU_NOT_FOUND);
    as(&f, ROLE_STORE_MANAGER, 3, 1);
    CHECK_INT_EQ(scope_member(&f.d, 1, &e), 1);
    CHECK_INT_EQ(scope_member(&f.d, 2, &e), 0);
    CHECK_INT_EQ(scope_staff(&f.d, 1, &e), 1);
    CHECK_INT_EQ(scope_staff(&f.d, 2, &e), 0);
    CHECK_INT_EQ(scope_store(&f.d, 1, &e), 1);
    CHECK_INT_EQ(scope_store(&f.d, 2, &e), 0);
    as(&f, ROLE_GUIDE, 1, 1);
    CHECK_INT_EQ(scope_member(&f.d, 1, &e), 1);
    CHECK_INT_EQ(scope_member(&f.d, 2, &e), 0);
    CHECK_INT_EQ(scope_staff(&f.d, 1, &e), 1);
    CHECK_INT_EQ(scope_staff(&f.d, 3, &e), 0); /* not even their manager */
    as(&f, ROLE_CASHIER, 0, 1);
    CHECK_INT_EQ(scope_member(&f.d, 2, &e), 1); /* a till serves every member */
    CHECK_INT_EQ(scope_store(&f.d, 2, &e), 0);  /* at its own store only */
    CHECK_INT_EQ(scope_staff(&f.d, 2, &e), 0);
    /* identities name live members, phones normalised */
    CHECK_INT_EQ(scope_identity_owner(&f.d, "phone", NULL, "+86 138-0000-0002"), 2);
    CHECK_INT_EQ(scope_identity_owner(&f.d, "phone", NULL, "13899999999"), 0);
    CHECK_INT_EQ(scope_identity_owner(&f.d, "phone", NULL, "not a phone"), 0);

    siyu_err_clear(&e);
    fixture_close(&f);
    return CHECK_DONE();
}
