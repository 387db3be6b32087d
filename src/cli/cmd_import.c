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
    if (frac > 1) frac = 1;
    int filled = (int)(frac * 30);
    double secs = (double)(now - p->t0) / 1e9;
    fprintf(stderr, "\r%-8s [%.*s%*s] %3.0f%% %lld records %.0f/s ", p->label, filled,
            "##############################", 30 - filled, "", frac * 100, records,
            secs > 0 ? (double)records / secs : 0);
}

typedef struct import_cli {
    const char *kind, *path, *format, *rejects_path, *tz;
    int batch;
    int cache_mib; /* 0: IMPORT_CACHE_MIB */
    const char *const *map, *const *set;
    bool quiet, json;
} import_cli;

/* Loads one file and prints the summary (a line, or JSON). Returns 0, 1 when the
 * import could not run or rejected any record (after the summary), 2 on usage. */
static int import_file(store_t *st, const import_cli *ic)
{
    const char *kind = ic->kind, *path = ic->path, *format = ic->format;
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) return cli_fail("import", 1, "cannot open %s", path);
    static char iobuf[1 << 20];
    setvbuf(in, iobuf, _IOFBF, sizeof iobuf);
    import_options o;
    import_options_init(&o);
    if (ic->batch > 0) o.batch_size = ic->batch;
    if (ic->cache_mib > 0) o.cache_mib = ic->cache_mib;
    o.max_errors_kept = ic->json ? 100 : 0;
    o.map = ic->map;
    o.set = ic->set;
    o.tz = ic->tz;
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
        else if (o.map || o.set)
            o.format = IMPORT_CSV; /* a mapping is for CSV */
    }
    FILE *rej = stderr;
    if (ic->rejects_path && !(rej = fopen(ic->rejects_path, "w"))) {
        if (in != stdin) fclose(in);
        return cli_fail("import", 1, "--rejects: cannot open %s", ic->rejects_path);
    }
    o.reject_log = rej;
    struct stat sb;
    progress p = {.total_bytes = fstat(fileno(in), &sb) == 0 ? sb.st_size : 0,
                  .t0 = clock_mono_ns(),
                  .label = kind};
    if (!ic->quiet && cli_progress_wanted()) {
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
    if (o.progress) fputc('\n', stderr);
    double secs = (double)(clock_mono_ns() - p.t0) / 1e9;
    if (in != stdin) fclose(in);
    if (rej != stderr) fclose(rej);
    if (rc) {
        json_decref(r.errors);
        rc = cli_fail("import", strcmp(e.field, "map") == 0 ? EXIT_USAGE : 1, "%s", e.message);
        siyu_err_clear(&e);
        return rc;
    }
    if (ic->json) {
        json_t *out = json_pack(
            "{s:s, s:I, s:I, s:I, s:I, s:I, s:O}", "kind", kind, "records", (json_int_t)r.records,
            "imported", (json_int_t)r.imported, "duplicates", (json_int_t)r.duplicates, "rejected",
            (json_int_t)r.rejected, "ms", (json_int_t)(secs * 1000), "errors", r.errors);
        json_dumpf(out, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(out);
    } else if (!ic->quiet) {
        printf("%s: imported %lld, duplicates %lld, rejected %lld (%.1f s, %.0f records/s)\n", kind,
               r.imported, r.duplicates, r.rejected, secs, secs > 0 ? (double)r.records / secs : 0);
    }
    json_decref(r.errors);
    return r.rejected > 0 ? 1 : 0; /* a partial import is not a success */
}

/* Shared by import and demo: loads one file and prints the summary line. */
int cli_import_file(store_t *st, const char *kind, const char *path, const char *format, int batch,
                    const char *rejects_path, bool quiet);
int cli_import_file(store_t *st, const char *kind, const char *path, const char *format, int batch,
                    const char *rejects_path, bool quiet)
{
    import_cli ic = {.kind = kind,
                     .path = path,
                     .format = format,
                     .batch = batch,
                     .rejects_path = rejects_path,
                     .quiet = quiet};
    return import_file(st, &ic);
}

/* Splits a list into a NULL-terminated array of pairs, checking each: --map and --set
 * separate pairs with commas, a map file with newlines (then a column name may hold a
 * comma); blank lines and lines starting with # are skipped. */
static char **pairs(char *text, char sep, bool is_set, const char *what)
{
    size_t n = 1;
    for (char *q = text; *q; q++)
        n += *q == sep;
    char **v = calloc(n + 1, sizeof *v);
    size_t k = 0;
    char *save = NULL, seps[3] = {sep, sep == '\n' ? '\r' : 0, 0};
    for (char *t = strtok_r(text, seps, &save); t; t = strtok_r(NULL, seps, &save)) {
        while (*t == ' ' || *t == '\t')
            t++;
        size_t len = strlen(t);
        while (len && (t[len - 1] == ' ' || t[len - 1] == '\t'))
            t[--len] = 0;
        if (!*t || *t == '#') continue;
        siyu_err e;
        siyu_err_init(&e);
        if (import_check_pair(t, is_set, &e)) {
            cli_fail("import", EXIT_USAGE, "%s: %s", what, e.message);
            siyu_err_clear(&e);
            free(v);
            return NULL;
        }
        v[k++] = t;
    }
    return v;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *b = malloc(cap);
    size_t got;
    while (b && (got = fread(b + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            char *g = cap < (1u << 20) ? realloc(b, cap *= 2) : NULL;
            if (!g) {
                free(b);
                b = NULL;
            } else {
                b = g;
            }
        }
    }
    fclose(f);
    if (b) b[len] = 0;
    return b;
}

int cmd_import(int argc, char **argv)
{
    const char *db = NULL, *format = NULL, *batch_s = NULL, *rejects = NULL, *lines_s = NULL,
               *map_s = NULL, *map_file = NULL, *set_s = NULL, *tz = NULL, *cache_s = NULL;
    bool json = false, quiet = false;
    cli_opt opts[] = {
        {"--db", true, &db, NULL, "PATH  the store (default: $SIYU_DB)"},
        {"--format", true, &format, NULL,
         "csv|ndjson  the file's format (default: from its extension, else sniffed)"},
        {"--batch", true, &batch_s, NULL, "N  records per transaction (default: 5000)"},
        {"--cache-mib", true, &cache_s, NULL,
         "MIB  the store's page cache while importing (default: 8, measured fastest on the demo "
         "chains; a larger one may pay off importing members into a very large store)"},
        {"--rejects", true, &rejects, NULL,
         "FILE  write rejected records' lines there (default: stderr)"},
        {"--max-order-lines", true, &lines_s, NULL,
         "N  lines per order at most (default: 10000; $SIYU_MAX_ORDER_LINES)"},
        {"--map", true, &map_s, NULL,
         "COL=FIELD,...  CSV: which column feeds which field; others are ignored (default: "
         "the header names are the fields)"},
        {"--map-file", true, &map_file, NULL,
         "FILE  CSV: the mapping, one COL=FIELD a line, # comments (default: none)"},
        {"--set", true, &set_s, NULL,
         "FIELD=VALUE,...  CSV: a value for every record, e.g. channel=store (default: none)"},
        {"--tz", true, &tz, NULL,
         "+HH:MM  CSV: the offset of dates written without one (default: +08:00)"},
        {"--json", false, NULL, &json,
         "print the summary as JSON with the first 100 rejects (default: a line)"},
        {"--quiet", false, NULL, &quiet, "print no summary and no progress (default: both)"},
        {0}};
    const char *pos[2];
    int np, rc = cli_parse("import", argc, argv, 2, opts, pos, 2, &np);
    if (rc) return rc;
    if (np != 2)
        return cli_fail("import", EXIT_USAGE,
                        "expected KIND FILE (kinds: brands, stores, staff, "
                        "members, orders, events)");
    if (!import_kind_known(pos[0]))
        return cli_fail("import", EXIT_USAGE,
                        "unknown kind '%s' (brands, stores, staff, members, orders, events)",
                        pos[0]);
    if (format && strcmp(format, "csv") != 0 && strcmp(format, "ndjson") != 0)
        return cli_fail("import", EXIT_USAGE, "--format: expected csv or ndjson");
    if ((map_s || map_file || set_s || tz) && format && strcmp(format, "ndjson") == 0)
        return cli_fail("import", EXIT_USAGE, "--map, --map-file, --set and --tz are for CSV");
    if (map_s && map_file)
        return cli_fail("import", EXIT_USAGE, "--map and --map-file: give one of them");
    int batch = batch_s ? atoi(batch_s) : 0;
    if (batch_s && batch < 1)
        return cli_fail("import", EXIT_USAGE, "--batch: expected a positive number");
    char *cache_end = NULL;
    long cache_mib = cache_s ? strtol(cache_s, &cache_end, 10) : 0;
    if (cache_s && (*cache_end || cache_mib < 1 || cache_mib > 65536))
        return cli_fail("import", EXIT_USAGE, "--cache-mib: expected 1 to 65536");
    siyu_err e;
    siyu_err_init(&e);
    if (tz && import_check_tz(tz, &e)) {
        rc = cli_fail("import", EXIT_USAGE, "--%s", e.message);
        siyu_err_clear(&e);
        return rc;
    }
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
    char *map_text = NULL, *set_text = NULL, **map = NULL, **set = NULL;
    rc = EXIT_USAGE;
    if (map_file && !(map_text = slurp(map_file))) {
        cli_fail("import", 1, "--map-file: cannot read %s", map_file);
        rc = 1;
        goto done;
    }
    if (map_s) map_text = strdup(map_s);
    if (map_text &&
        !(map = pairs(map_text, map_file ? '\n' : ',', false, map_file ? "--map-file" : "--map")))
        goto done;
    if (set_s && (!(set_text = strdup(set_s)) || !(set = pairs(set_text, ',', true, "--set"))))
        goto done;
    store_t *st;
    if ((rc = cli_open_store("import", cli_db(db), false, &st))) goto done;
    import_cli ic = {.kind = pos[0],
                     .path = pos[1],
                     .format = format,
                     .batch = batch,
                     .cache_mib = (int)cache_mib,
                     .rejects_path = rejects,
                     .tz = tz,
                     .map = (const char *const *)map,
                     .set = (const char *const *)set,
                     .quiet = quiet,
                     .json = json};
    rc = import_file(st, &ic);
    store_close(st);
done:
    free(map);
    free(set);
    free(map_text);
    free(set_text);
    return rc;
}
