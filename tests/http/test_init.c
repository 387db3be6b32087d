/* test_init.c — `siyu init` makes a store and is harmless run again: the second run
 * migrates nothing and reports the same schema version; a store never initialised is
 * refused with the way out. Run: test_init PATH_TO_SIYU (SIYU_TEST_DB=postgresql://… runs
 * it on a fresh PostgreSQL database). */
#include <check.h>

#include "harness.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_init PATH_TO_SIYU\n");
        return 2;
    }
    siyu = argv[1];
    snprintf(dir, sizeof dir, "/tmp/siyu-init-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    harness_store("i.db");
    char cmd[1200], out[512], again[512];

    /* not initialised yet: refused (an empty PostgreSQL database names siyu init; a
     * SQLite file that is not there cannot be opened) */
    snprintf(cmd, sizeof cmd, "%s token create --db '%s' --role admin 2>&1", siyu, db);
    CHECK(run(cmd, out, sizeof out) != 0);
    CHECK(strstr(out, harness_on_pg() ? "siyu init" : "cannot open") != NULL);

    snprintf(cmd, sizeof cmd, "%s init --db '%s'", siyu, db);
    CHECK_INT_EQ(run(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "schema version") != NULL);
    CHECK_INT_EQ(run(cmd, again, sizeof again), 0); /* twice: nothing to do, same version */
    CHECK_STR_EQ(again, out);

    long long migrations = -1;
    if (harness_on_pg()) {
        /* one row per migration, none run twice */
        long long distinct = -2;
        CHECK_INT_EQ(db_ints("SELECT count(*) FROM schema_migrations", &migrations, 1), 0);
        CHECK_INT_EQ(db_ints("SELECT count(DISTINCT version) FROM schema_migrations", &distinct, 1),
                     0);
        CHECK_INT_EQ(migrations, distinct);
    } else
        CHECK_INT_EQ(db_ints("PRAGMA user_version", &migrations, 1), 0);
    char want[64];
    snprintf(want, sizeof want, "schema version %lld)", migrations);
    CHECK(strstr(out, want) != NULL);

    /* and the store works */
    snprintf(cmd, sizeof cmd, "%s token create --db '%s' --role admin", siyu, db);
    CHECK_INT_EQ(run(cmd, token, sizeof token), 0);
    CHECK(strlen(token) > 10);

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT_EQ(system(cmd), 0);
    harness_store_drop();
    return CHECK_DONE();
}
