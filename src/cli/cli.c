#include "cli/cli.h"
#include "messaging/msg_adapter.h"
#include "writer/writer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_fail(const char *cmd, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "siyu: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

const char *cli_usage;

bool cli_progress_wanted(void)
{
    return isatty(STDERR_FILENO);
}

static bool step_shown;

void cli_step(const char *cmd, const char *what)
{
    if (!cli_progress_wanted()) return;
    fprintf(stderr, "siyu: %s: %s...", cmd, what);
    fflush(stderr);
    step_shown = true;
}

void cli_step_done(void)
{
    if (step_shown) fprintf(stderr, "\r\033[K");
    step_shown = false;
}

static void help(const char *cmd, const cli_opt *opts)
{
    printf("usage: siyu %s\n", cli_usage ? cli_usage : cmd);
    printf("\noptions:\n");
    for (int k = 0; opts[k].name; k++) {
        const char *h = opts[k].help ? opts[k].help : "(undocumented)";
        /* "VALUE  meaning": the value's name goes beside the option */
        const char *gap = opts[k].takes_value ? strstr(h, "  ") : NULL;
        char left[64];
        if (gap) {
            snprintf(left, sizeof left, "%s %.*s", opts[k].name, (int)(gap - h), h);
            h = gap + 2;
        } else {
            snprintf(left, sizeof left, "%s", opts[k].name);
        }
        printf("  %-26s %s\n", left, h);
    }
    printf("  %-26s %s\n", "-h, --help", "print this help and exit");
    printf("\nexit status: 0 success, 1 failure (an import with rejected records too), 2 usage "
           "error\n");
}

int cli_parse(const char *cmd, int argc, char **argv, int from, const cli_opt *opts,
              const char **pos, int npos, int *got_pos)
{
    int np = 0;
    for (int i = from; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help(cmd, opts);
            fflush(stdout);
            exit(0);
        }
    for (int i = from; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (np >= npos) return cli_fail(cmd, EXIT_USAGE, "unexpected argument '%s'", a);
            pos[np++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        const cli_opt *o = NULL;
        for (int k = 0; opts[k].name; k++)
            if (strlen(opts[k].name) == nlen && strncmp(opts[k].name, a, nlen) == 0) o = &opts[k];
        if (!o)
            return cli_fail(cmd, EXIT_USAGE, "unknown option '%.*s' (see siyu %s --help)",
                            (int)nlen, a, cmd);
        if (o->takes_value) {
            if (eq)
                *o->value = eq + 1;
            else if (i + 1 < argc)
                *o->value = argv[++i];
            else
                return cli_fail(cmd, EXIT_USAGE, "%s needs a value", o->name);
        } else {
            *o->flag = true;
        }
    }
    if (got_pos) *got_pos = np;
    return 0;
}

const char *cli_db(const char *flag_value)
{
    if (flag_value && *flag_value) return flag_value;
    const char *env = getenv("SIYU_DB");
    return env && *env ? env : NULL;
}

int cli_open_store(const char *cmd, const char *db, bool create, store_t **out)
{
    if (!db) return cli_fail(cmd, EXIT_USAGE, "--db PATH is required (or set SIYU_DB)");
    siyu_err e;
    siyu_err_init(&e);
    /* FULL: every commit is fsynced before siyu answers, so it survives power loss;
     * group commit keeps that affordable. SIYU_SYNC=normal survives a crash of siyu
     * (kill -9, api.md's bar) but not of the machine, for a little more throughput. */
    store_options so = {.sync = STORE_SYNC_FULL, .create = create};
    const char *sync = getenv("SIYU_SYNC");
    if (sync && strcmp(sync, "normal") == 0)
        so.sync = STORE_SYNC_NORMAL;
    else if (sync && *sync && strcmp(sync, "full") != 0)
        return cli_fail(cmd, EXIT_USAGE, "SIYU_SYNC: expected normal or full");
    sync_policy defer; /* the group committer's */
    if (writer_sync_policy(&defer))
        return cli_fail(cmd, EXIT_USAGE, "SIYU_DEFER_SYNC: expected auto, on or off");
    /* file adapters write inside the outbox directory: --outbox-dir (set before), else
     * SIYU_OUTBOX_DIR, else a folder "outbox" beside the store (a database URL has no
     * beside: "outbox" in the working directory) */
    if (!msg_outbox_dir()) {
        const char *env = getenv("SIYU_OUTBOX_DIR");
        char dir[4096];
        const char *slash = strrchr(db, '/');
        if (env && *env)
            snprintf(dir, sizeof dir, "%s", env);
        else if (slash && !strstr(db, "://"))
            snprintf(dir, sizeof dir, "%.*s/outbox", (int)(slash - db), db);
        else
            snprintf(dir, sizeof dir, "outbox");
        msg_outbox_dir_set(dir[0] ? dir : "/outbox");
    }
    if (store_open(db, &so, out, &e)) {
        cli_fail(cmd, 1, "%s", e.message);
        siyu_err_clear(&e);
        return 1;
    }
    return 0;
}
