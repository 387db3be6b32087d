/* cmd_import.c — siyu import KIND FILE: bulk load with a progress bar and a summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "cli/cli.h"
#include "domain/domain.h"
#include "import/import.h"

typedef struct progress {
    long long total_bytes;
    uint64_t t0, last;
    const char *label;
} progress;

static void draw(void *ctx, long long bytes, long long records)
{
    progress *p = ctx;
    uint64_t now = clock_mono_ns();
    if (now - p->last < 100000000ull && bytes < p->total_bytes)
        return; /* ten frames a second is plenty */
    p->last = now;
    double frac = p->total_bytes > 0 ? (double)bytes / (double)p->total_bytes : 0;
    if (frac > 1)
        frac = 1;
    int filled = (int)(frac * 30);
    double secs = (double)(now - p->t0) / 1e9;
    fprintf(stderr, "\r%-8s [%.*s%*s] %3.0f%% %lld records %.0f/s ", p->label, filled,
            "##############################", 30 - filled, "", frac * 100, records,
            secs > 0 ? (double)records / secs : 0);
}

/* Shared by import and demo: loads one file and prints the summary line. */
int cli_import_file(store_t *st, const char *kind, const char *path, const char *format,
                    int batch, const char *rejects_path, bool quiet);
int cli_import_file(store_t *st, const char *kind, const char *path, const char *format,
                    int batch, const char *rejects_path, bool quiet)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in)
        return cli_fail("import", 1, "cannot open %s", path);
    static char iobuf[1 << 20];
    setvbuf(in, iobuf, _IOFBF, sizeof iobuf);
    import_options o;
    import_options_init(&o);
    if (batch > 0)
        o.batch_size = batch;
    o.max_errors_kept = 0;
    if (format && strcmp(format, "csv") == 0)
        o.format = IMPORT_CSV;
    else if (format && strcmp(format, "ndjson") == 0)
        o.format = IMPORT_NDJSON;
    else if (!format) {
        const char *dot = strrchr(path, '.');
        if (dot && strcmp(dot, ".csv") == 0)
            o.format = IMPORT_CSV;
        else if (dot && (strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".jsonl") == 0))
            o.format = IMPORT_NDJSON;
    }
    FILE *rej = stderr;
    if (rejects_path && !(rej = fopen(rejects_path, "w")))
        return cli_fail("import", 1, "--rejects: cannot open %s", rejects_path);
    o.reject_log = rej;
    struct stat sb;
    progress p = {.total_bytes = fstat(fileno(in), &sb) == 0 ? sb.st_size : 0,
                  .t0 = clock_mono_ns(), .label = kind};
    if (!quiet && isatty(STDERR_FILENO)) {
        o.progress = draw;
        o.progress_ctx = &p;
    }
    store_conn *c;
    siyu_err e;
    siyu_err_init(&e);
    import_result r = {0};
    principal admin = {.role = ROLE_ADMIN};
    int rc = store_conn_open(st, &c, &e);
    if (!rc) {
        rc = import_stream(c, &admin, kind, in, &o, &r, &e);
        store_conn_close(c);
    }
    if (o.progress)
        fputc('\n', stderr);
    double secs = (double)(clock_mono_ns() - p.t0) / 1e9;
    if (in != stdin)
        fclose(in);
    if (rej != stderr)
        fclose(rej);
    json_decref(r.errors);
    if (rc) {
        cli_fail("import", 1, "%s", e.message);
        siyu_err_clear(&e);
        return 1;
    }
    if (!quiet)
        printf("%s: imported %lld, duplicates %lld, rejected %lld (%.1f s, %.0f records/s)\n", kind,
               r.imported, r.duplicates, r.rejected, secs, secs > 0 ? (double)r.records / secs : 0);
    return 0;
}

int cmd_import(int argc, char **argv)
{
    const char *db = NULL, *format = NULL, *batch_s = NULL, *rejects = NULL, *lines_s = NULL;
    cli_opt opts[] = {{"--db", true, &db, NULL},
                      {"--format", true, &format, NULL},
                      {"--batch", true, &batch_s, NULL},
                      {"--rejects", true, &rejects, NULL},
                      {"--max-order-lines", true, &lines_s, NULL},
                      {0}};
    const char *pos[2];
    int np, rc = cli_parse("import", argc, argv, 2, opts, pos, 2, &np);
    if (rc)
        return rc;
    if (np != 2)
        return cli_fail("import", EXIT_USAGE, "expected KIND FILE (kinds: brands, stores, staff, "
                                              "members, orders, events)");
    if (!import_kind_known(pos[0]))
        return cli_fail("import", EXIT_USAGE,
                        "unknown kind '%s' (brands, stores, staff, members, orders, events)", pos[0]);
    if (format && strcmp(format, "csv") != 0 && strcmp(format, "ndjson") != 0)
        return cli_fail("import", EXIT_USAGE, "--format: expected csv or ndjson");
    int batch = batch_s ? atoi(batch_s) : 0;
    if (batch_s && batch < 1)
        return cli_fail("import", EXIT_USAGE, "--batch: expected a positive number");
    /* the order line cap: the same flag and variable as siyu serve */
    const char *lines_v = lines_s ? lines_s : getenv("SIYU_MAX_ORDER_LINES");
    if (lines_v && *lines_v) {
        char *end;
        long n = strtol(lines_v, &end, 10);
        if (*end || n < 1 || n > ORDERS_MAX_LINES_LIMIT)
            return cli_fail("import", EXIT_USAGE, "%s: expected 1 to %d, got '%s'",
                            lines_s ? "--max-order-lines" : "SIYU_MAX_ORDER_LINES",
                            ORDERS_MAX_LINES_LIMIT, lines_v);
        orders_set_max_lines((int)n);
    }
    store_t *st;
    if ((rc = cli_open_store("import", cli_db(db), false, &st)))
        return rc;
    rc = cli_import_file(st, pos[0], pos[1], format, batch, rejects, false);
    store_close(st);
    return rc;
}
