/* The command line as a script meets it: the real siyu binary run as a child.
 *
 * - every command's help (`siyu CMD --help`, `siyu CMD SUB --help`) answers with exit 0 and
 *   lists every option, each with a meaning; every option the help lists is one the command's
 *   parser takes, and every option its usage line shows is listed;
 * - exit codes: 0 success, 1 failure (an import with any rejected record too), 2 usage;
 * - the --json outputs parse as JSON and carry their figures;
 * - the POS line export of docs/examples imports through its mapping file.
 *
 * usage: test_cli SIYU_BINARY SOURCE_DIR */
#include <check.h>
#include <pgtest.h>
#include <sqlite3.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *siyu, *src;
static char dir[256];
/* the store the commands run on: dir/c.db, or with SIYU_TEST_DB a fresh PostgreSQL database */
static char store[512], pg_name[64];

/* Runs `siyu ARGS` (a shell fragment); stdout into out (malloc'd), stderr into err.
 * Returns the exit status. */
static int run(char **out, char **err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run(char **out, char **err, const char *fmt, ...)
{
    char args[4096], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s 2>'%s/stderr' </dev/null", siyu, args, dir);
    FILE *p = popen(cmd, "r");
    size_t cap = 1 << 16, len = 0, got;
    char *buf = malloc(cap);
    while ((got = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (len + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    int st = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    if (err) {
        char path[300];
        snprintf(path, sizeof path, "%s/stderr", dir);
        FILE *f = fopen(path, "r");
        *err = calloc(1, 1 << 16);
        if (f) {
            size_t n = fread(*err, 1, (1 << 16) - 1, f);
            (*err)[n] = 0;
            fclose(f);
        }
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static json_t *parse(const char *text, const char *what)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (!v) fprintf(stderr, "%s: not JSON (%s): %s\n", what, je.text, text);
    CHECK(v != NULL);
    return v;
}

/* One command's help: exit 0, a usage line, every option documented and known. */
static void check_help(const char *cmd)
{
    char *out, *err;
    int rc = run(&out, &err, "%s --help", cmd);
    CHECK_INT_EQ(rc, 0);
    char want[64];
    snprintf(want, sizeof want, "usage: siyu %s", cmd);
    if (strncmp(out, want, strlen(want)) != 0)
        fprintf(stderr, "siyu %s --help: no usage line: %.80s\n", cmd, out);
    CHECK(strncmp(out, want, strlen(want)) == 0);
    CHECK(strstr(out, "(undocumented)") == NULL);
    char *opts = strstr(out, "\noptions:\n");
    CHECK(opts != NULL);
    if (!opts) {
        free(out);
        free(err);
        return;
    }
    *opts = 0; /* out: the usage text; opts + 10: the option list */
    const char *list = opts + 10;
    /* every option the usage line shows is in the list */
    for (const char *u = strstr(out, "--"); u; u = strstr(u + 2, "--")) {
        char name[64];
        size_t n = strspn(u + 2, "abcdefghijklmnopqrstuvwxyz-");
        snprintf(name, sizeof name, "  %.*s ", (int)(n + 2), u);
        if (!strstr(list, name))
            fprintf(stderr, "siyu %s: usage shows %s but the option list lacks it\n", cmd, name);
        CHECK(strstr(list, name) != NULL);
    }
    /* every listed option has a meaning and is taken by the parser: it is passed, then an
     * unknown option, which must be the one refused */
    int listed = 0;
    for (const char *l = list; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
        if (strncmp(l, "  --", 4) != 0) continue;
        char name[64], value[64] = "", meaning[16] = "";
        const char *end = strchr(l, '\n');
        int len = end ? (int)(end - l) : (int)strlen(l);
        char line[512];
        snprintf(line, sizeof line, "%.*s", len, l);
        if (sscanf(line, " %63s", name) != 1) continue;
        const char *after = line + 2 + strlen(name);
        if (after[0] == ' ' && after[1] != ' ') /* "--db PATH   meaning" */
            sscanf(after, " %63s %15s", value, meaning);
        else
            sscanf(after, " %15s", meaning);
        CHECK(meaning[0] != 0);
        char *o2, *e2;
        int rc2 = run(&o2, &e2, "%s %s %s --zz-no-such", cmd, name, value[0] ? "x" : "");
        if (rc2 != 2 || !strstr(e2, "unknown option '--zz-no-such'"))
            fprintf(stderr, "siyu %s: the listed %s is not taken: %s\n", cmd, name, e2);
        CHECK_INT_EQ(rc2, 2);
        CHECK(strstr(e2, "unknown option '--zz-no-such'") != NULL);
        free(o2);
        free(e2);
        listed++;
    }
    CHECK(listed >= 1 || strcmp(cmd, "version") == 0);
    free(out);
    free(err);
}

static void test_help(void)
{
    char *top;
    CHECK_INT_EQ(run(&top, NULL, "--help"), 0);
    int commands = 0;
    for (const char *l = strstr(top, "\n  siyu "); l; l = strstr(l + 1, "\n  siyu ")) {
        char cmd[32];
        if (sscanf(l, "\n  siyu %31[a-z]", cmd) != 1 || strcmp(cmd, "CMD") == 0) continue;
        check_help(cmd);
        commands++;
    }
    CHECK(commands >= 15);
    free(top);
    /* SUB --help and -h: the same help as CMD --help */
    static const char *const subs[][2] = {{"token", "token create --help"},
                                          {"token", "token list -h"},
                                          {"segment", "segment count 'x >' --help"},
                                          {"report", "report kpi --from 2026 --help"},
                                          {"model", "model show --help"},
                                          {"import", "import orders x.csv --help"},
                                          {"loyalty", "loyalty sweep --help"},
                                          {"member", "member export 1 --help"}};
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        char *a, *b;
        CHECK_INT_EQ(run(&a, NULL, "%s --help", subs[i][0]), 0);
        CHECK_INT_EQ(run(&b, NULL, "%s", subs[i][1]), 0);
        if (strcmp(a, b) != 0)
            fprintf(stderr, "siyu %s: not the help of %s\n", subs[i][1], subs[i][0]);
        CHECK_STR_EQ(a, b);
        free(a);
        free(b);
    }
}

static void test_exit_codes(void)
{
    CHECK_INT_EQ(run(NULL, NULL, "%s", ""), 2);
    CHECK_INT_EQ(run(NULL, NULL, "no-such-command"), 2);
    CHECK_INT_EQ(run(NULL, NULL, "--version"), 0);
    CHECK_INT_EQ(run(NULL, NULL, "import orders x.csv --db '%s/c.db' --nope", dir), 2);
    CHECK_INT_EQ(run(NULL, NULL, "import orders x.csv --db '%s/c.db' --tz 8", dir), 2);
    CHECK_INT_EQ(run(NULL, NULL, "import orders x.csv --db '%s/c.db' --map InvoiceNo", dir), 2);
    CHECK_INT_EQ(run(NULL, NULL, "import orders x.csv --db '%s/c.db' --cache-mib 0", dir), 2);
    CHECK_INT_EQ(run(NULL, NULL, "import orders x.csv --db '%s/c.db' --cache-mib 8x", dir), 2);
    CHECK_INT_EQ(run(NULL, NULL, "import orders '%s/missing.csv' --db '%s/c.db'", dir, dir), 1);
    /* a bad value of a setting in the environment is refused, naming it */
    setenv("SIYU_DEFER_SYNC", "maybe", 1);
    char *err = NULL;
    CHECK_INT_EQ(run(NULL, &err, "init --db '%s/env.db'", dir), 2);
    CHECK(err && strstr(err, "SIYU_DEFER_SYNC") != NULL);
    free(err);
    unsetenv("SIYU_DEFER_SYNC");
}

/* The store's only member, read directly: on PostgreSQL an id is never given back, so the
 * batch the import replayed after its rejected row has used up the first one. */
static long long only_member(void)
{
    long long id = -1;
    const char *sql = "SELECT min(id) FROM members";
    if (pg_name[0]) {
        PGconn *pg = PQconnectdb(store);
        PGresult *r = PQexec(pg, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        PQfinish(pg);
        return id;
    }
    sqlite3 *s;
    sqlite3_stmt *q = NULL;
    if (sqlite3_open_v2(store, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(s, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        id = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(s);
    return id;
}

static void write_file(const char *name, const char *text)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_import_and_json(void)
{
    char *out, *err;
    CHECK_INT_EQ(run(NULL, NULL, "init --db '%s'", store), 0);
    write_file("brands.csv", "name\n鲜丰\n");
    write_file("stores.csv", "name,code,kind,brand_id\n文三路店,S1,physical,1\n");
    CHECK_INT_EQ(run(NULL, NULL, "import brands '%s/brands.csv' --db '%s'", dir, store), 0);
    CHECK_INT_EQ(
        run(NULL, NULL, "import stores '%s/stores.csv' --db '%s' --cache-mib 64", dir, store), 0);
    /* a rerun imports nothing new and rejects nothing: a success */
    CHECK_INT_EQ(run(&out, NULL, "import brands '%s/brands.csv' --db '%s'", dir, store), 0);
    CHECK(strstr(out, "duplicates 1, rejected 0") != NULL);
    free(out);
    /* the documented POS recipe: one record per invoice, one rejected row on its line,
     * the summary printed, and exit 1 */
    const char *pos = "import orders '%s/docs/examples/pos-lines.csv' --db '%s' "
                      "--map-file '%s/docs/examples/pos-lines.map' --set channel=store --tz +08:00";
    char args[2048];
    snprintf(args, sizeof args, pos, src, store, src);
    CHECK_INT_EQ(run(&out, &err, "%s", args), 1);
    CHECK(strstr(out, "orders: imported 3, duplicates 0, rejected 1") != NULL);
    CHECK(strstr(err, "line 8: items[0].qty") != NULL);
    CHECK(strchr(err, '\r') == NULL); /* no progress bar into a file */
    free(out);
    free(err);
    CHECK_INT_EQ(run(&out, NULL, "%s --json", args), 1);
    json_t *v = parse(out, "import --json");
    CHECK_INT_EQ(json_integer_value(json_object_get(v, "records")), 4);
    CHECK_INT_EQ(json_integer_value(json_object_get(v, "imported")), 0);
    CHECK_INT_EQ(json_integer_value(json_object_get(v, "duplicates")), 3);
    CHECK_INT_EQ(json_integer_value(json_object_get(v, "rejected")), 1);
    json_t *e0 = json_array_get(json_object_get(v, "errors"), 0);
    CHECK_INT_EQ(json_integer_value(json_object_get(e0, "line")), 8);
    CHECK_STR_EQ(json_string_value(json_object_get(e0, "field")), "items[0].qty");
    json_decref(v);
    free(out);
    /* totals from the lines: 2 × 12.90 + 8.50 and 12.90 + 2 × 6.00 + 4 × 3.50 */
    CHECK_INT_EQ(run(&out, NULL, "member export %lld --db '%s'", only_member(), store), 0);
    v = parse(out, "member export");
    json_t *orders = json_object_get(v, "orders");
    CHECK_INT_EQ(json_array_size(orders), 2);
    CHECK_INT_EQ(json_integer_value(json_object_get(json_array_get(orders, 0), "total_cents")),
                 2 * 1290 + 850);
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(orders, 0), "placed_at")),
                 "2026-11-21T09:31:12+08:00");
    CHECK_INT_EQ(json_integer_value(json_object_get(json_array_get(orders, 1), "total_cents")),
                 1290 + 2 * 600 + 4 * 350);
    json_decref(v);
    free(out);
    CHECK_INT_EQ(run(&out, NULL, "segment count 'orders >= 1' --db '%s' --json", store), 0);
    v = parse(out, "segment count --json");
    CHECK_INT_EQ(json_integer_value(json_object_get(v, "count")), 1); /* the member of the phone */
    CHECK(json_is_string(json_object_get(v, "expression")));
    json_decref(v);
    free(out);
    CHECK_INT_EQ(run(&out, NULL, "segment explain 'orders >= 1' --json"), 0);
    v = parse(out, "segment explain --json");
    json_decref(v);
    free(out);
    /* progress is for a terminal: with stderr in a file, a long step writes nothing there */
    CHECK_INT_EQ(run(&out, &err, "check --db '%s' --json", store), 0);
    CHECK_STR_EQ(err, "");
    free(err);
    v = parse(out, "check --json");
    CHECK(json_is_true(json_object_get(v, "ok")));
    json_decref(v);
    free(out);
    CHECK_INT_EQ(run(NULL, NULL, "token create --db '%s' --role admin", store), 0);
    CHECK_INT_EQ(run(&out, NULL, "token list --db '%s' --json", store), 0);
    v = parse(out, "token list --json");
    json_decref(v);
    free(out);
    CHECK_INT_EQ(run(&out, NULL,
                     "report kpi --db '%s' --from 2026-11-01 --to 2026-11-30 --format json", store),
                 0);
    v = parse(out, "report kpi --format json");
    json_decref(v);
    free(out);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_cli SIYU SOURCE_DIR\n");
        return 2;
    }
    siyu = argv[1];
    src = argv[2];
    snprintf(dir, sizeof dir, "/tmp/siyu-cli-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    setenv("SIYU_NOW", "2026-11-25T12:00:00+08:00", 1);
    unsetenv("SIYU_DB");
    int pg = pgtest_fresh("cli", pg_name, store, sizeof store);
    if (pg < 0) return 1;
    if (pg > 0) snprintf(store, sizeof store, "%s/c.db", dir);
    test_help();
    test_exit_codes();
    test_import_and_json();
    char rm[300];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    if (system(rm) != 0) fprintf(stderr, "could not remove %s\n", dir);
    pgtest_drop(pg_name);
    return CHECK_DONE();
}
