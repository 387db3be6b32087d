/* A merge carries the merged-away member's journeys, messages and guide tasks onto the
 * survivor: a run in a journey the survivor is not in goes on as the survivor's; where
 * both are in the same journey the survivor's run is kept and the other ends. The rows
 * are planted and read back with SQLite itself, an independent reader of the store. */
#include <sqlite3.h>

#include "fixture.h"

static sqlite3 *raw;

static void sql(const char *q)
{
    char *err = NULL;
    if (sqlite3_exec(raw, q, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", q, err);
        abort();
    }
}

static int64_t one(const char *q)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(raw, q, -1, &s, NULL) != SQLITE_OK) abort();
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return v;
}

int main(void)
{
    fixture f;
    fixture_open(&f);
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(call(&f, members_create_or_match, "{\"phone\":\"13800000001\"}", NULL, &e), 201);
    CHECK_INT_EQ(call(&f, members_create_or_match, "{\"phone\":\"13800000002\"}", NULL, &e), 201);
    char path[160];
    snprintf(path, sizeof path, "%s/d.db", f.dir);
    CHECK_INT_EQ(sqlite3_open(path, &raw), SQLITE_OK);
    sql("INSERT INTO journeys(id, name, spec, state, version, created_at, updated_at)"
        " VALUES (1, 'a', '{}', 'active', 1, 0, 0), (2, 'b', '{}', 'active', 1, 0, 0)");
    /* journey 1: both members run it; journey 2: only the merged-away member */
    sql("INSERT INTO journey_runs(id, journey_id, member_id, state, step_index, next_at, holdout,"
        " entered_at) VALUES (10, 1, 1, 'active', 0, 100, 0, 0), (11, 1, 2, 'active', 0, 100, 0, "
        "0),"
        " (12, 2, 2, 'active', 1, 200, 0, 0), (13, 2, 2, 'completed', 2, NULL, 0, 0)");
    sql("INSERT INTO messages(id, journey_id, run_id, member_id, channel, body, status, created_at)"
        " VALUES (20, 2, 12, 2, 'sms', 'hi', 'queued', 0)");
    sql("INSERT INTO guide_tasks(id, guide_id, member_id, kind, script, due_at, state, created_at)"
        " VALUES (30, 1, 2, 'follow_up', 'call', 0, 'open', 0)");
    json_t *b = J("{\"from_member_id\":2}");
    store_begin(f.d.conn, true, &e);
    CHECK_INT_EQ(members_merge(&f.d, 1, b, NULL, &e), 200);
    CHECK_INT_EQ(store_commit(f.d.conn, &e), 0);
    json_decref(b);
    /* every row now names the survivor */
    CHECK_INT_EQ(one("SELECT count(*) FROM journey_runs WHERE member_id = 2"), 0);
    CHECK_INT_EQ(one("SELECT count(*) FROM messages WHERE member_id = 2"), 0);
    CHECK_INT_EQ(one("SELECT member_id FROM guide_tasks WHERE id = 30"), 1);
    /* the survivor's own run in journey 1 goes on; the other one ended */
    CHECK_INT_EQ(one("SELECT state = 'active' FROM journey_runs WHERE id = 10"), 1);
    CHECK_INT_EQ(one("SELECT state = 'exited' AND next_at IS NULL FROM journey_runs WHERE id = 11"),
                 1);
    /* journey 2's run goes on as the survivor's, with its timer; history keeps its state */
    CHECK_INT_EQ(one("SELECT member_id * 1000 + next_at FROM journey_runs WHERE id = 12"), 1200);
    CHECK_INT_EQ(one("SELECT state = 'active' FROM journey_runs WHERE id = 12"), 1);
    CHECK_INT_EQ(
        one("SELECT state = 'completed' AND member_id = 1 FROM journey_runs WHERE id = 13"), 1);
    /* at most one active run per journey and member still holds */
    CHECK_INT_EQ(
        one("SELECT max(n) FROM (SELECT count(*) n FROM journey_runs WHERE state = 'active'"
            " GROUP BY journey_id, member_id)"),
        1);
    sqlite3_close(raw);
    siyu_err_clear(&e);
    fixture_close(&f);
    return CHECK_DONE();
}
