/* test_member_reads.c — the queries a member 360 runs are the ones the kept answers follow.
 *
 * A kept 360 is made stale by a write to a table one of the 360's queries names, and those
 * queries are a list (member_cache.c, reads_360). This renders the 360 of every member of a
 * demo chain — with orders, refunds, coupons, tiers, consents, contacts, referrals, games,
 * merges, erasures and a model's predictions — with the store recording every query it runs,
 * and checks each is on the list: a query added to the 360 and not to the list fails here.
 * Run: test_member_reads PATH_TO_SIYU */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fission/fission.h"
#include "guides/guides.h"
#include "loyalty/loyalty.h"
#include "store/store.h"
#include "views/member_cache.h"

static const char *const names[] = {
#define NAME(x) #x,
    STORE_QUERY_LIST(NAME)
#undef NAME
};

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    char dir[] = "/tmp/siyu-reads-XXXXXX", db[128], cmd[600];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(db, sizeof db, "%s/d.db", dir);
    snprintf(cmd, sizeof cmd,
             "%s demo --db %s --members 400 --no-serve >/dev/null 2>&1 &&"
             " %s model fit --db %s >/dev/null 2>&1",
             argv[1], db, argv[1], db);
    CHECK_INT_EQ(system(cmd), 0);
    loyalty_install();
    fission_install();
    store_t *st;
    siyu_err e;
    siyu_err_init(&e);
    store_options opt = {.sync = STORE_SYNC_NORMAL};
    CHECK_INT_EQ(store_open(db, &opt, &st, &e), 0);
    store_conn *c;
    CHECK_INT_EQ(store_conn_open(st, &c, &e), 0);
    size_t n;
    const store_query *listed = member_cache_reads(&n);
    static uint8_t seen[Q__COUNT];
    int rendered = 0;
    for (int64_t id = 1; id <= 420; id++) {
        dom d = {.conn = c, .who = {.role = ROLE_ADMIN}, .now = 1796000000};
        CHECK_INT_EQ(store_begin(c, false, &e), 0);
        json_t *out = NULL;
        store_conn_trace(c, seen);
        if (members_get(&d, id, &out, &e) == 200) {
            guides_member_block(&d, out);
            fission_member_block(&d, out);
            rendered++;
        }
        store_conn_trace(c, NULL);
        siyu_err_clear(&e);
        json_decref(out);
        CHECK(!store_conn_failed(c));
        store_rollback(c);
    }
    CHECK(rendered > 350);
    int extra = 0;
    for (int q = 0; q < Q__COUNT; q++) {
        if (!seen[q]) continue;
        bool on = false;
        for (size_t i = 0; i < n && !on; i++)
            on = listed[i] == (store_query)q;
        if (!on) {
            fprintf(stderr, "the 360 runs Q_%s, which member_cache.c's reads_360 lacks\n",
                    names[q]);
            extra++;
        }
    }
    CHECK_INT_EQ(extra, 0);
    store_conn_close(c);
    store_close(st);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT_EQ(system(cmd), 0);
    return CHECK_DONE();
}
