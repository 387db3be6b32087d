/* cmd_token.c — siyu token create | list | revoke: the API tokens of a store.
 *
 * A token is shown once, at creation; the store keeps its hash. A staff member's token
 * carries that staff member's role (never more); a cashier token belongs to a store
 * (a till). Tokens may expire (--expires) and may be revoked; the list shows when each
 * was last used (recorded at most once a minute). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/timeutil.h"
#include "cli/cli.h"

static int parse_id(const char *s, int64_t *out)
{
    char *end;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || v <= 0) return -1;
    *out = v;
    return 0;
}

/* --expires: an RFC 3339 time, or a span from now: 90d, 12h, 30m. */
static int parse_expires(const char *s, int64_t now, int64_t *out)
{
    if (time_parse_rfc3339(s, out) == 0) return 0;
    char *end;
    long long n = strtoll(s, &end, 10);
    if (end == s || n <= 0 || n > 100000 || end[1] != 0) return -1;
    int64_t unit = *end == 'd' ? 86400 : *end == 'h' ? 3600 : *end == 'm' ? 60 : 0;
    if (!unit) return -1;
    *out = now + n * unit;
    return 0;
}

/* Runs fn inside one write transaction on a fresh connection; prints its error. */
typedef int (*token_fn)(store_conn *c, void *ctx, siyu_err *e);
static int in_tx(const char *db, bool write, token_fn fn, void *ctx)
{
    store_t *st;
    int rc = cli_open_store("token", cli_db(db), false, &st);
    if (rc) return rc;
    store_conn *c;
    siyu_err e;
    siyu_err_init(&e);
    rc = 1;
    if (store_conn_open(st, &c, &e) == 0) {
        if (store_begin(c, write, &e) == 0 && fn(c, ctx, &e) == 0 && store_commit(c, &e) == 0)
            rc = 0;
        else
            store_rollback(c);
        store_conn_close(c);
    }
    if (rc) cli_fail("token", 1, "%s", e.message);
    siyu_err_clear(&e);
    store_close(st);
    return rc;
}

typedef struct create_ctx {
    auth_token_spec spec;
    char token[AUTH_TOKEN_LEN + 1];
} create_ctx;

static int do_create(store_conn *c, void *ctx, siyu_err *e)
{
    create_ctx *x = ctx;
    return auth_token_issue(c, &x->spec, clock_now(), x->token, NULL, e);
}

typedef struct list_ctx {
    bool json;
} list_ctx;

static const char *text_or(json_t *v, const char *dflt)
{
    return json_is_string(v) ? json_string_value(v) : dflt;
}

static int do_list(store_conn *c, void *ctx, siyu_err *e)
{
    list_ctx *x = ctx;
    int64_t cursor = 0;
    if (!x->json)
        printf("%-6s %-14s %-6s %-6s %-12s %-26s %-26s %-8s\n", "id", "role", "staff", "store",
               "name", "expires_at", "last_used_at", "state");
    for (;;) {
        json_t *page;
        if (auth_token_list(c, cursor, 1000, clock_now(), &page, e) < 0) return -1;
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(page, "items"), i, t)
        {
            if (x->json) {
                char *line = json_dumps(t, JSON_COMPACT);
                printf("%s\n", line);
                free(line);
                continue;
            }
            json_t *staff = json_object_get(t, "staff_id"), *store = json_object_get(t, "store_id");
            char sb[24] = "-", tb[24] = "-";
            if (json_is_integer(staff))
                snprintf(sb, sizeof sb, "%lld", (long long)json_integer_value(staff));
            if (json_is_integer(store))
                snprintf(tb, sizeof tb, "%lld", (long long)json_integer_value(store));
            printf("%-6lld %-14s %-6s %-6s %-12s %-26s %-26s %-8s\n",
                   (long long)json_integer_value(json_object_get(t, "id")),
                   text_or(json_object_get(t, "role"), "?"), sb, tb,
                   text_or(json_object_get(t, "name"), "-"),
                   text_or(json_object_get(t, "expires_at"), "never"),
                   text_or(json_object_get(t, "last_used_at"), "never"),
                   text_or(json_object_get(t, "state"), "?"));
        }
        json_t *next = json_object_get(page, "next_cursor");
        bool more = json_is_string(next);
        if (more) cursor = strtoll(json_string_value(next), NULL, 10);
        json_decref(page);
        if (!more) return 0;
    }
}

static int do_revoke(store_conn *c, void *ctx, siyu_err *e)
{
    json_t *t = NULL;
    if (auth_token_revoke(c, *(int64_t *)ctx, clock_now(), &t, e) < 0) return -1;
    printf("siyu: token %lld revoked\n", (long long)json_integer_value(json_object_get(t, "id")));
    json_decref(t);
    return 0;
}

int cmd_token(int argc, char **argv)
{
    const char *db = NULL, *role_s = NULL, *staff_s = NULL, *store_s = NULL, *name = NULL,
               *expires_s = NULL;
    bool json = false;
    cli_opt opts[] = {
        {"--db", true, &db, NULL, "PATH  the store (default: $SIYU_DB)"},
        {"--role", true, &role_s, NULL,
         "ROLE  create: admin, operator, store_manager, guide or cashier (required)"},
        {"--staff", true, &staff_s, NULL,
         "ID  create: the staff member the token acts as (with their role)"},
        {"--store", true, &store_s, NULL,
         "ID  create: the store a store_manager or cashier token is bound to"},
        {"--name", true, &name, NULL, "NAME  create: a label shown by list (default: none)"},
        {"--expires", true, &expires_s, NULL,
         "TIME|SPAN  create: RFC 3339 time or 90d, 12h, 30m from now (default: never)"},
        {"--json", false, NULL, &json, "list: print JSON (default: a table)"},
        {0}};
    const char *pos[2];
    int np, rc = cli_parse("token", argc, argv, 2, opts, pos, 2, &np);
    if (rc) return rc;
    const char *sub = np >= 1 ? pos[0] : "";
    if (strcmp(sub, "list") == 0 && np == 1) {
        list_ctx x = {.json = json};
        return in_tx(db, false, do_list, &x);
    }
    if (strcmp(sub, "revoke") == 0) {
        int64_t id;
        if (np != 2 || parse_id(pos[1], &id))
            return cli_fail("token", EXIT_USAGE,
                            "revoke: expected a token id (see siyu token list)");
        return in_tx(db, true, do_revoke, &id);
    }
    if (strcmp(sub, "create") != 0 || np != 1)
        return cli_fail("token", EXIT_USAGE,
                        "expected 'token create', 'token list' or 'token revoke ID'");
    if (!role_s)
        return cli_fail("token", EXIT_USAGE,
                        "--role is required (admin, operator, store_manager, guide, cashier)");
    create_ctx x;
    memset(&x, 0, sizeof x);
    x.spec.role = role_parse(role_s);
    x.spec.name = name;
    if (x.spec.role == ROLE_NONE)
        return cli_fail("token", EXIT_USAGE,
                        "--role: expected admin, operator, store_manager, guide or cashier");
    if (staff_s && parse_id(staff_s, &x.spec.staff_id))
        return cli_fail("token", EXIT_USAGE, "--staff: expected a staff id");
    if (store_s && parse_id(store_s, &x.spec.store_id))
        return cli_fail("token", EXIT_USAGE, "--store: expected a store id");
    if (expires_s && parse_expires(expires_s, clock_now(), &x.spec.expires_at))
        return cli_fail("token", EXIT_USAGE,
                        "--expires: expected an RFC 3339 time or a span such as 90d, 12h, 30m");
    rc = in_tx(db, true, do_create, &x);
    if (rc == 0) printf("%s\n", x.token);
    return rc;
}
