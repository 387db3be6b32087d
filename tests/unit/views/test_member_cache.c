/* test_member_cache.c — member 360s kept in memory (views/member_cache.c, store/view_stamps.c).
 *
 *   - the writes are classed by the tables they write: an order's, a points entry's or a
 *     member's row names its member; a store's, a consent's or the settings' move the epoch;
 *     the audit log, a token's use and idempotency keys change no 360;
 *   - a kept answer is served until its member is touched, the epoch moves, the clock passes
 *     its limit or the day, or goes back; one kept for another role or member is not served;
 *   - an answer rendered before a touch or an epoch move is not kept (the ticket);
 *   - a commit that writes a member-keyed table moves the epoch unless its committer names
 *     its members; an UPDATE that changed no row moves nothing; a commit by another
 *     connection is found by the poll;
 *   - an entry found stale is dropped and missed, whatever shares its hash chain;
 *   - a cache over its byte cap drops the least recently served. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "domain/domain.h"
#include "store/store.h"
#include "views/member_cache.h"

static member_cache *mc;

static bool served(int64_t member, int as, int64_t now)
{
    char *body = NULL;
    size_t len;
    int64_t sid, gid;
    bool hit = member_cache_get(mc, member, as, now, &body, &len, &sid, &gid);
    if (hit) {
        CHECK_INT_EQ((long long)len, (long long)strlen(body));
        CHECK_INT_EQ(sid, 7);
        CHECK_INT_EQ(gid, member * 10);
    }
    free(body);
    return hit;
}

static void keep(int64_t member, int as, const member_cache_ticket *t, int64_t until)
{
    char body[64];
    snprintf(body, sizeof body, "{\"id\":%lld}", (long long)member);
    member_cache_put(mc, member, as, t, body, strlen(body), 7, member * 10, until);
}

static void commit_sql(store_conn *c, store_query q, int64_t a, bool names_members)
{
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(store_begin(c, true, &e), 0);
    store_stmt *s = store_q(c, q);
    store_bind_int(s, 1, a);
    CHECK_INT_EQ(store_exec(s, &e), 0);
    store_conn_names_members(c, names_members);
    CHECK_INT_EQ(store_commit(c, &e), 0);
    store_conn_names_members(c, false);
}

/* A member row (a member-keyed table) committed by a committer that names its members or
 * not. */
static void member_insert(store_conn *c, int64_t now, bool names_members)
{
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(store_begin(c, true, &e), 0);
    store_stmt *s = store_q(c, Q_MEMBER_INSERT);
    store_bind_text(s, 7, "store");
    store_bind_int(s, 8, now);
    store_bind_int(s, 9, now);
    CHECK_INT_EQ(store_exec(s, &e), 0);
    store_conn_names_members(c, names_members);
    CHECK_INT_EQ(store_commit(c, &e), 0);
    store_conn_names_members(c, false);
}

int main(void)
{
    char dir[] = "/tmp/siyu-mcache-XXXXXX", db[128];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(db, sizeof db, "%s/m.db", dir);
    store_t *st;
    siyu_err e;
    siyu_err_init(&e);
    store_options create = {.sync = STORE_SYNC_NORMAL, .create = true};
    CHECK_INT_EQ(store_open(db, &create, &st, &e), 0);
    mc = member_cache_open(st, MEMBER_CACHE_ON, 1 << 20, 20, &e);
    CHECK(mc != NULL);

    /* the classes of writes */
    CHECK_INT_EQ(store_view_class(Q_ORDER_INSERT), STORE_VIEW_MEMBER);
    CHECK_INT_EQ(store_view_class(Q_LEDGER_INSERT), STORE_VIEW_MEMBER);
    CHECK_INT_EQ(store_view_class(Q_MEMBER_UPDATE), STORE_VIEW_MEMBER);
    CHECK_INT_EQ(store_view_class(Q_REACH_UPSERT), STORE_VIEW_MEMBER);
    CHECK_INT_EQ(store_view_class(Q_STORE_INSERT), STORE_VIEW_GLOBAL);
    CHECK_INT_EQ(store_view_class(Q_CTEMPLATE_INSERT), STORE_VIEW_GLOBAL);
    CHECK_INT_EQ(store_view_class(Q_AUDIT_INSERT), 0);
    CHECK_INT_EQ(store_view_class(Q_TOKEN_TOUCH), 0);
    CHECK_INT_EQ(store_view_class(Q_IDEM_PUT), 0);
    CHECK_INT_EQ(store_view_class(Q_MEMBER_GET), 0);   /* a read writes nothing */
    CHECK_INT_EQ(store_view_class(Q_STAFF_INSERT), 0); /* nobody's guide yet */
    CHECK_INT_EQ(store_view_class(Q_STAFF_WECOM_SET), STORE_VIEW_GLOBAL); /* contacts show it */

    /* served until touched; others still served */
    int64_t now = 1796000000; /* 2026-12-01 */
    member_cache_ticket t;
    member_cache_ticket_take(&t, now);
    keep(1, 1, &t, 0);
    keep(2, 1, &t, now + 60);
    CHECK(served(1, 1, now));
    CHECK(!served(1, 2, now)); /* another role's */
    CHECK(!served(3, 1, now));
    CHECK(served(2, 1, now + 59));
    CHECK(!served(2, 1, now + 60)); /* its points turned spendable */
    CHECK(!served(1, 1, now - 1));  /* the clock went back */
    member_cache_ticket_take(&t, now);
    keep(1, 1, &t, 0);
    CHECK(!served(1, 1, now + 86400)); /* another day */
    member_cache_ticket_take(&t, now);
    keep(1, 1, &t, 0);
    keep(4, 1, &t, 0);
    store_view_touch(1);
    CHECK(!served(1, 1, now));
    CHECK(served(4, 1, now));
    /* rendered before a touch: not kept */
    member_cache_ticket_take(&t, now);
    store_view_touch(4);
    keep(4, 1, &t, 0);
    CHECK(!served(4, 1, now));
    /* the epoch: every answer */
    member_cache_ticket_take(&t, now);
    keep(4, 1, &t, 0);
    keep(5, 1, &t, 0);
    store_view_bump();
    CHECK(!served(4, 1, now));
    CHECK(!served(5, 1, now));

    /* commits: a member-keyed write moves the epoch unless its committer names members */
    store_conn *c;
    CHECK_INT_EQ(store_conn_open(st, &c, &e), 0);
    /* a connection's first commit moves the epoch: it cannot tell whether another process
     * committed since the poll last looked */
    uint64_t ep = store_view_epoch();
    CHECK_INT_EQ(store_begin(c, true, &e), 0);
    store_stmt *s = store_q(c, Q_BRAND_INSERT);
    store_bind_text(s, 1, "a");
    store_bind_int(s, 2, now);
    CHECK_INT_EQ(store_exec(s, &e), 0);
    CHECK_INT_EQ(store_commit(c, &e), 0);
    CHECK(store_view_epoch() > ep);
    ep = store_view_epoch();
    commit_sql(c, Q_REACH_DELETE, 1, true);
    CHECK_INT_EQ((long long)store_view_epoch(), (long long)ep); /* a DELETE of no row */
    member_insert(c, now, true);
    CHECK_INT_EQ((long long)store_view_epoch(), (long long)ep); /* named: only its member */
    member_insert(c, now, false);
    CHECK(store_view_epoch() > ep); /* not named: everyone */
    ep = store_view_epoch();
    CHECK_INT_EQ(store_begin(c, true, &e), 0);
    s = store_q(c, Q_BRAND_INSERT);
    store_bind_text(s, 1, "b");
    store_bind_int(s, 2, now);
    CHECK_INT_EQ(store_exec(s, &e), 0);
    store_conn_names_members(c, true);
    CHECK_INT_EQ(store_commit(c, &e), 0);
    store_conn_names_members(c, false);
    /* a brand is no table the 360 reads; what moved the epoch, if anything, is the poll */
    /* another connection's commit (as another process's would be): the poll finds it */
    member_cache_ticket_take(&t, now);
    keep(6, 1, &t, 0);
    usleep(100000); /* the poll accounts for what came before */
    member_cache_ticket_take(&t, now);
    keep(6, 1, &t, 0);
    CHECK(served(6, 1, now));
    ep = store_view_epoch();
    /* as another process commits (the CLI): only the change sequence tells this one */
    sqlite3 *other;
    CHECK_INT_EQ(sqlite3_open(db, &other), SQLITE_OK);
    CHECK_INT_EQ(
        sqlite3_exec(other,
                     "BEGIN IMMEDIATE; INSERT INTO brands(name, created_at) VALUES ('c', 1);"
                     " UPDATE change_seq SET seq = seq + 1 WHERE id = 1; COMMIT;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(other);
    for (int i = 0; i < 100 && store_view_epoch() == ep; i++)
        usleep(10000);
    CHECK(store_view_epoch() > ep);
    CHECK(!served(6, 1, now));
    store_conn_close(c);

    /* a commit's changes: the members they name; what the index applies to everyone moves
     * the epoch */
    member_cache_ticket_take(&t, now);
    keep(8, 1, &t, 0);
    keep(9, 1, &t, 0);
    ep = store_view_epoch();
    dom_change order[] = {{DOM_CHANGE_ORDER, 77, 8}, {DOM_CHANGE_REFUND, 5, 77}};
    dom_changes_touch(order, 2);
    CHECK(!served(8, 1, now));
    CHECK(served(9, 1, now));
    CHECK_INT_EQ((long long)store_view_epoch(), (long long)ep);
    dom_change rule[] = {{DOM_CHANGE_TAG, 3, 0}};
    dom_changes_touch(rule, 1);
    CHECK(store_view_epoch() > ep);
    CHECK(!served(9, 1, now));

    /* many members share a hash chain: a stale entry dropped on the way is a miss, never the
     * chain's next member's answer (served() checks the guide kept is the member's) */
    member_cache_ticket_take(&t, now);
    for (int m = 100; m < 6100; m++)
        keep(m, 1, &t, 0);
    for (int m = 101; m < 6100; m += 2)
        store_view_touch(m);
    int wrong = 0;
    for (int m = 100; m < 6100; m++)
        wrong += served(m, 1, now) != (m % 2 == 0);
    CHECK_INT_EQ(wrong, 0);

    /* the byte cap: the least recently served go */
    member_cache_close(mc);
    mc = member_cache_open(st, MEMBER_CACHE_ON, 64 * 1024, 1000, &e); /* 1 KiB a shard */
    CHECK(mc != NULL);
    member_cache_ticket_take(&t, now);
    for (int m = 1; m <= 2000; m++)
        keep(m, 1, &t, 0);
    member_cache_stats ms;
    member_cache_get_stats(mc, &ms);
    CHECK(ms.bytes <= 64 * 1024);
    CHECK(ms.entries > 0 && ms.entries < 2000);
    CHECK(served(2000, 1, now)); /* the last kept */
    CHECK(!served(1, 1, now));   /* the first, dropped */
    member_cache_close(mc);

    /* off keeps nothing */
    mc = member_cache_open(st, MEMBER_CACHE_OFF, 1 << 20, 100, &e);
    keep(1, 1, &t, 0);
    CHECK(!served(1, 1, now));
    member_cache_close(mc);
    store_close(st);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT_EQ(system(cmd), 0);
    return CHECK_DONE();
}
