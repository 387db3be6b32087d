/* main.c — the siyu command: one binary, one subcommand per job (git's commands[]). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/json_arena.h"
#include "cli/cli.h"
#include "fission/fission.h"
#include "loyalty/loyalty.h"

static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *usage;
} commands[] = {
    {"init", cmd_init, "init --db PATH                 create or migrate the store"},
    {"token", cmd_token,
     "token create --db PATH --role ROLE [--staff ID | --store ID] [--name NAME] "
     "[--expires TIME|90d]   print a new API token | token list --db PATH [--json] | "
     "token revoke ID --db PATH"},
    {"serve", cmd_serve,
     "serve --db PATH [--listen 127.0.0.1:8080] [--threads N] [--access-log FILE|-|off]\n"
     "       [--outbox-dir DIR] [--max-conn-per-client 256] [--max-connections 4096]\n"
     "       [--request-timeout 10] [--idle-timeout 120] [--max-order-lines 10000]\n"
     "       [--max-import-mib 64]   the HTTP API"},
    {"import", cmd_import,
     "import brands|stores|staff|members|orders|events FILE --db PATH [--format csv|ndjson]\n"
     "       [--map COL=FIELD,... | --map-file FILE] [--set FIELD=VALUE,...] [--tz +08:00]\n"
     "       [--batch N] [--rejects FILE] [--max-order-lines 10000] [--json] [--quiet]\n"
     "       bulk load CSV or NDJSON (exit 1 when any record is rejected)"},
    {"demo", cmd_demo,
     "demo [--db PATH] [--members N] [--seed S] [--listen ADDR] [--threads N] [--access-log "
     "FILE|-|off]\n"
     "       [--no-serve]   build a demo chain and serve it"},
    {"gen", cmd_gen,
     "gen --out DIR [--members N] [--seed S] [--until DATE]   write the demo chain as NDJSON"},
    {"report", cmd_report,
     "report kpi|leaderboard|cohorts|products|live|distributions --db PATH --from D --to D\n"
     "       [--store ID] [--brand ID] [--guide ID] [--channel NAME] [--granularity "
     "day|week|month]\n"
     "       [--by store|channel|guide|tier] [--top N] [--format table|csv|json]   KPI reports"},
    {"segment", cmd_segment,
     "segment count|export|explain EXPR [--db PATH] [--json] | segment settings --db PATH [--set "
     "JSON]   "
     "audiences (explain needs no store)"},
    {"model", cmd_model,
     "model fit|show|validate --db PATH [--unit days|weeks] [--cal-end D] [--holdout-end D]\n"
     "       [--churn-threshold P] [--json]   "
     "member predictions"},
    {"check", cmd_check,
     "check --db PATH [--max N] [--json]   verify the loyalty invariants (exit 1 on violations)"},
    {"loyalty", cmd_loyalty,
     "loyalty sweep --db PATH   expire due points and coupons, run due tier reviews"},
    {"member", cmd_member, "member export ID --db PATH   everything held about a member, as JSON"},
    {"backup", cmd_backup,
     "backup --db PATH --out FILE   a consistent copy of the store while it serves"},
    {"restore", cmd_restore,
     "restore --from FILE --db PATH [--force]   restore a backup (refuses to overwrite a store)"},
    {"vacuum", cmd_vacuum,
     "vacuum --db PATH   rebuild the store so deleted and erased data leaves its files"},
    {"openapi", cmd_openapi,
     "openapi [--out FILE]   the HTTP API's OpenAPI 3.1 document (as GET /api/v1/openapi.json)"},
    {"staff", cmd_staff,
     "staff login --db PATH --staff ID --username NAME [--remove]   set a staff member's "
     "console sign-in (password on stdin)"},
    {"views", cmd_views,
     "views snapshot --db PATH [--out PATH]   write the views' snapshot (serve starts from it, "
     "segment count and report answer from it)"},
};

static void usage(FILE *f)
{
    fprintf(f, "siyu %s — member operations for retail chains (私域会员运营)\n\nusage:\n",
            SIYU_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  siyu %s\n", commands[i].usage);
    fprintf(f, "\n  siyu CMD --help       options of one command\n"
               "  siyu --version\n\nSIYU_DB and SIYU_LISTEN may stand in for --db and --listen.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("siyu %s\n", SIYU_VERSION);
        return 0;
    }
    /* libsodium asks for sodium_init before any other call (it picks its implementations
     * there); an import digests every order without otherwise reaching code that calls it */
    if (sodium_init() < 0) {
        fprintf(stderr, "siyu: libsodium failed to initialise\n");
        return 1;
    }
    json_arena_install(); /* before any thread: the importer parses into arenas */
    loyalty_install();    /* orders, refunds and merges move points, coupons and tiers */
    fission_install();    /* and the referral graph follows orders, refunds and forwards */
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            /* `siyu CMD --help` and `siyu CMD SUB [ARGS] --help` both ask for the
             * command's help: help wins over whatever else the line says. Every command
             * parses its options first, and cli_parse prints the help from the table. */
            cli_usage = commands[i].usage;
            return commands[i].fn(argc, argv);
        }
    fprintf(stderr, "siyu: unknown command '%s' (see siyu --help)\n", argv[1]);
    return EXIT_USAGE;
}
