/* Which named queries move the auth epoch (store.h): those whose commit changes who a
 * bearer token is — any write to tokens or staff but a token's last use. The epoch's scan
 * of the query texts (store_query_changes_auth) is checked against SQLite itself: each
 * query is prepared on a migrated store with an authorizer, which SQLite calls for every
 * table and column a statement writes (its triggers' included), whatever the text looks
 * like. And the scan's word rules on texts no query has yet: other cases, spacing,
 * conflict clauses, schemas, quotes, PostgreSQL's ONLY and TRUNCATE. */
#include <check.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite_internal.h"
#include "store/store.h"

static bool wrote_auth;

static int authorizer(void *arg, int action, const char *a1, const char *a2, const char *db,
                      const char *trigger)
{
    (void)arg;
    (void)db;
    (void)trigger;
    bool table = a1 && (strcmp(a1, "tokens") == 0 || strcmp(a1, "staff") == 0);
    if (table && (action == SQLITE_INSERT || action == SQLITE_DELETE)) wrote_auth = true;
    /* a token's last use is when, not who: it alone does not count */
    if (table && action == SQLITE_UPDATE &&
        !(strcmp(a1, "tokens") == 0 && a2 && strcmp(a2, "last_used_at") == 0))
        wrote_auth = true;
    return SQLITE_OK;
}

int main(void)
{
    static const struct {
        const char *sql;
        bool tokens, staff;
    } texts[] = {
        {"UPDATE staff SET store_id = ?1 WHERE id = ?2", false, true},
        {"update staff set status = 'departed'", false, true},
        {"UPDATE\tstaff\nSET x = 1", false, true},
        {"UPDATE OR IGNORE staff SET x = 1", false, true},
        {"UPDATE OR REPLACE tokens SET x = 1", true, false},
        {"UPDATE staff AS s SET x = 1 FROM stores t WHERE t.id = s.store_id", false, true},
        {"UPDATE ONLY staff SET x = 1", false, true},
        {"UPDATE main.tokens SET revoked_at = 1", true, false},
        {"UPDATE \"staff\" SET x = 1", false, true},
        {"INSERT INTO tokens(hash) VALUES (?1)", true, false},
        {"INSERT OR ABORT INTO staff(name) VALUES (?1)", false, true},
        {"insert or ignore into tokens(hash) values (?1)", true, false},
        {"REPLACE INTO staff(id) VALUES (1)", false, true},
        {"INSERT INTO staff SELECT * FROM old_staff", false, true},
        {"DELETE FROM tokens WHERE id = 1", true, false},
        {"DELETE  FROM  public.staff", false, true},
        {"DELETE FROM ONLY tokens", true, false},
        {"TRUNCATE staff", false, true},
        {"TRUNCATE TABLE tokens, staff", true, false}, /* the first: enough for the epoch */
        {"WITH d AS (DELETE FROM tokens WHERE staff_id = ?1 RETURNING id) SELECT count(*) FROM d",
         true, false},
        {"WITH x AS (SELECT 1) UPDATE staff SET x = 1", false, true},
        /* reads, and writes of other tables that read tokens or staff */
        {"SELECT * FROM staff", false, false},
        {"SELECT t.id FROM tokens t LEFT JOIN staff s ON s.id = t.staff_id", false, false},
        {"UPDATE staff_stores SET to_at = 1", false, false},
        {"INSERT INTO staff_logins(staff_id) VALUES (1)", false, false},
        {"INSERT INTO guide_tasks(guide_id) SELECT id FROM staff WHERE status = 'active'", false,
         false},
        {"UPDATE guide_tasks SET store_id = (SELECT store_id FROM staff WHERE id = ?1)", false,
         false},
        {"DELETE FROM sessions WHERE staff_id IN (SELECT id FROM staff)", false, false},
        {"UPDATE members SET note = 'update staff'", false, false},
        {"UPDATE members SET note = 'it''s into tokens'", false, false},
        {"DELETE FROM tokens_old", false, false},
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        bool t = store_sql_writes_table(texts[i].sql, "tokens");
        bool s = store_sql_writes_table(texts[i].sql, "staff");
        if (t != texts[i].tokens || s != texts[i].staff)
            fprintf(stderr, "%s: tokens %d staff %d\n", texts[i].sql, t, s);
        CHECK(t == texts[i].tokens);
        CHECK(s == texts[i].staff || (texts[i].tokens && strstr(texts[i].sql, "staff")));
    }

    char dir[] = "/tmp/siyu-auth-epoch-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char db[300];
    snprintf(db, sizeof db, "%s/t.db", dir);
    store_options create = {.sync = STORE_SYNC_NORMAL, .create = true};
    store_t *st = NULL;
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(store_open(db, &create, &st, &e), 0);
    store_close(st);

    sqlite3 *h = NULL;
    CHECK_INT_EQ(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_set_authorizer(h, authorizer, NULL);
    int writers = 0;
    for (int q = 0; q < Q__COUNT; q++) {
        if (!sqlite_queries[q]) continue;
        wrote_auth = false;
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2(h, sqlite_queries[q], -1, &s, NULL);
        if (rc != SQLITE_OK)
            fprintf(stderr, "query %d: %s\n%s\n", q, sqlite3_errmsg(h), sqlite_queries[q]);
        CHECK_INT_EQ(rc, SQLITE_OK);
        sqlite3_finalize(s);
        if (wrote_auth != store_query_changes_auth((store_query)q))
            fprintf(stderr, "query %d writes tokens or staff: %d, moves the epoch: %d\n%s\n", q,
                    wrote_auth, store_query_changes_auth((store_query)q), sqlite_queries[q]);
        CHECK(wrote_auth == store_query_changes_auth((store_query)q));
        writers += wrote_auth;
    }
    /* staff created, moved, departed; tokens issued and revoked: there are such queries */
    CHECK(writers >= 6);
    CHECK(store_query_changes_auth(Q_STAFF_STORE_SET) && store_query_changes_auth(Q_TOKEN_REVOKE));
    CHECK(!store_query_changes_auth(Q_TOKEN_TOUCH));
    sqlite3_close(h);

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT_EQ(system(cmd), 0);
    return CHECK_DONE();
}
