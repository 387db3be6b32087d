/* cli.h — what the subcommands share: option parsing and opening the store. */
#ifndef SIYU_CLI_CLI_H
#define SIYU_CLI_CLI_H

#include <stdbool.h>

#include "store/store.h"

#define EXIT_USAGE 2

/* A tiny option table: --name VALUE or --flag. Unknown options are usage errors. The
 * table is the command's help too: `siyu CMD [SUB] --help` prints the usage line and
 * every option with its help text, so the two cannot drift. */
typedef struct cli_opt {
    const char *name; /* "--db" */
    bool takes_value;
    const char **value; /* where a value goes */
    bool *flag;         /* where a flag goes */
    const char *help;   /* "VALUE  what it means (default: ...)" — one line */
} cli_opt;

/* The usage line of the command being run (main.c sets it). */
extern const char *cli_usage;

/* Parses argv[from..]; positional arguments land in pos (up to npos). Returns 0 or
 * prints a usage line and returns EXIT_USAGE. --help or -h anywhere prints the
 * command's help on stdout and exits 0. */
int cli_parse(const char *cmd, int argc, char **argv, int from, const cli_opt *opts,
              const char **pos, int npos, int *got_pos);

/* --db, else $SIYU_DB. */
const char *cli_db(const char *flag_value);

/* Opens the store for a command (create: run migrations); prints the error. */
int cli_open_store(const char *cmd, const char *db, bool create, store_t **out);

/* Prints "siyu: CMD: message" on stderr and returns code. */
int cli_fail(const char *cmd, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Is stderr a terminal (progress is drawn only then)? */
bool cli_progress_wanted(void);
/* A long step without a measurable fraction: "siyu: CMD: WHAT..." on stderr while it runs,
 * erased by cli_step_done; both do nothing unless stderr is a terminal. */
void cli_step(const char *cmd, const char *what);
void cli_step_done(void);

int cmd_init(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_segment(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_loyalty(int argc, char **argv);
int cmd_backup(int argc, char **argv); /* cmd_backup.c: backup, restore, vacuum, member */
int cmd_restore(int argc, char **argv);
int cmd_vacuum(int argc, char **argv);
int cmd_views(int argc, char **argv);
int cmd_member(int argc, char **argv);
int cmd_openapi(int argc, char **argv); /* cmd_serve.c */
int cmd_staff(int argc, char **argv);   /* cmd_staff.c: console sign-ins */
/* The demo chain's console password (demo_console.c): a demo, never a real chain's. */
#define DEMO_CONSOLE_PASSWORD "siyu-demo"

/* Serves until SIGINT/SIGTERM (used by serve and demo). */
int cli_serve_until_signal(store_t *st, const char *listen, int threads, const char *access_log,
                           const char *banner_token);

#endif
