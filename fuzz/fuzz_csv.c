/* fuzz_csv.c — the bulk import: the CSV reader alone, then import_stream of the same
 * bytes (fmemopen'd) as members, orders and events.
 *
 * The format is sniffed as the CLI does when it cannot tell from the file name, so an
 * input starting with '{' takes the NDJSON path and anything else the CSV path. Imports
 * commit in batches of two (to exercise batch boundaries), so after each input the rows
 * they wrote are deleted with plain SQL on a side connection and the seed member and its
 * order are put back: every input starts from the same store. */
#include <sqlite3.h>
#include <stdint.h>

#include "fuzz_store.h"
#include "import/csv.h"
#include "import/import.h"

static sqlite3 *side; /* a second connection, only for the reset between inputs */

static void reset_store(void)
{
    if (!side && sqlite3_open_v2(fz.path, &side, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        fz_die("side connection", NULL);
    sqlite3_busy_timeout(side, 5000);
    char *msg = NULL;
    if (sqlite3_exec(side,
                     "BEGIN IMMEDIATE;"
                     "DELETE FROM order_items; DELETE FROM refunds; DELETE FROM events;"
                     "DELETE FROM member_reach; DELETE FROM merges; DELETE FROM member_predictions;"
                     "DELETE FROM idempotency; DELETE FROM orders; DELETE FROM identities;"
                     "UPDATE members SET merged_into = NULL; DELETE FROM members;"
                     "COMMIT;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "fuzz reset: %s\n", msg ? msg : "?");
        abort();
    }
    fz_seed_member();
}

static void on_commit(void *ctx, const dom_change *v, size_t n)
{
    size_t *total = ctx;
    for (size_t i = 0; i < n; i++)
        if (v[i].id <= 0) abort(); /* a change names a row that exists */
    *total += n;
}

static void read_csv(const uint8_t *data, size_t size)
{
    FILE *in = fmemopen((void *)data, size, "r");
    if (!in) return;
    csv_reader r;
    csv_init(&r, in);
    long line, last = 0;
    int got;
    size_t bytes = 0;
    while ((got = csv_next(&r, &line)) != 0) {
        if (line < last) /* records start on increasing lines */
            abort();
        last = line;
        if (got < 0) continue;
        for (size_t i = 0; i < r.nfields; i++)
            bytes += strlen(csv_field(&r, i));
    }
    if (bytes > size) /* fields hold no more bytes than the input */
        abort();
    csv_free(&r);
    fclose(in);
}

static void import_as(const char *kind, const uint8_t *data, size_t size)
{
    FILE *in = fmemopen((void *)data, size, "r");
    if (!in) return;
    import_options o;
    import_options_init(&o);
    o.batch_size = 2;
    o.max_errors_kept = 4;
    size_t changes = 0;
    o.on_commit = on_commit;
    o.on_commit_ctx = &changes;
    import_result r;
    siyu_err e;
    siyu_err_init(&e);
    principal admin = {.role = ROLE_ADMIN};
    int rc = import_stream(fz.d.conn, &admin, kind, in, &o, &r, &e);
    if (rc == 0 && r.records != r.imported + r.duplicates + r.rejected) {
        fprintf(stderr, "import %s: %lld records but %lld+%lld+%lld\n", kind, r.records, r.imported,
                r.duplicates, r.rejected);
        abort();
    }
    if (rc != 0 && (e.code == SIYU_OK || e.code == SIYU_INTERNAL)) {
        fprintf(stderr, "import %s: failed with code %s: %s\n", kind, siyu_code_name(e.code),
                e.message);
        abort();
    }
    if (store_in_tx(fz.d.conn)) {
        fprintf(stderr, "import %s: left a transaction open\n", kind);
        abort();
    }
    json_decref(r.errors);
    siyu_err_clear(&e);
    fclose(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 16))
        return 0; /* large inputs only slow the fuzzer; the reader is streaming anyway */
    fz_open();
    read_csv(data, size);
    static const char *const kinds[] = {"members", "orders", "events"};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        import_as(kinds[i], data, size);
    reset_store();
    return 0;
}
