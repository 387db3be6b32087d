/* import.h — bulk loading of brands, stores, staff, members, orders and events.
 *
 * Reads CSV (with a header row) or NDJSON as a stream — memory does not grow with the
 * file — and feeds each record to the same domain call the HTTP API uses, so a record
 * is accepted or rejected by exactly the same rules. Records are committed in batches;
 * a record that fails is undone alone (a savepoint) and reported with its line number
 * and field, and never stops the rest. Because every kind is idempotent (orders by
 * channel and external id, members by identity, events by content, stores by code),
 * rerunning a file after a crash skips what already landed and counts it as duplicate. */
#ifndef SIYU_IMPORT_IMPORT_H
#define SIYU_IMPORT_IMPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "auth/auth.h"
#include "domain/domain.h"
#include "base/error.h"
#include "store/store.h"

typedef enum import_format { IMPORT_AUTO, IMPORT_CSV, IMPORT_NDJSON } import_format;

/* A small page cache imports fastest. An import's table and index pages are new or rewritten
 * once a batch and the kernel's page cache holds the file anyway, so a large private cache
 * buys few hits, and each page it grows by is fresh memory the kernel must fault in: 256 MiB
 * against 8 MiB took 6-10% longer on the 20 000- and 100 000-member demo chains' orders. */
#define IMPORT_CACHE_MIB 8

typedef struct import_options {
    import_format format;
    int batch_size;      /* records per transaction; default 5000 */
    FILE *reject_log;    /* one line per rejected record, or NULL */
    int max_errors_kept; /* how many rejects to keep in import_result.errors */
    int cache_mib;       /* the connection's page cache during the import (MiB; default
                          * IMPORT_CACHE_MIB); 0 leaves it as it is */
    /* called every batch with bytes read so far (for a progress bar); may be NULL */
    void (*progress)(void *ctx, long long bytes, long long records);
    void *progress_ctx;
    /* called after each committed batch with what it changed; may be NULL */
    void (*on_commit)(void *ctx, const dom_change *v, size_t n);
    void *on_commit_ctx;
    /* CSV only. map: NULL-terminated "Column=target" pairs; with a map, columns it does
     * not name are ignored. A target is a field of the kind ("external_id"), an item
     * field of an order ("items.sku", "items.qty", "items.unit_price_cents"), a member
     * field ("member.phone"), or an amount in yuan ("total", "discount",
     * "items.unit_price": "12.5" is 1250 cents). set: NULL-terminated "target=value"
     * pairs given to every record (e.g. "channel=store"). */
    const char *const *map;
    const char *const *set;
    /* CSV only: the offset of dates written without one ("2026-11-22 10:00:00",
     * "2026/11/22 10:00", "20261122100000", "2026-11-22"); NULL is +08:00 */
    const char *tz;
} import_options;

typedef struct import_result {
    long long records, imported, duplicates, rejected;
    json_t *errors; /* [{line, field, code, message}], up to max_errors_kept; caller decrefs */
} import_result;

void import_options_init(import_options *o);

/* kind: brands, stores, staff, members, orders, events. Returns 0, or -1 when the
 * import could not run at all (unknown kind, unreadable header, store failure). */
int import_stream(store_conn *c, const principal *who, const char *kind, FILE *in,
                  const import_options *o, import_result *r, siyu_err *e);

/* Checks a mapping or set pair ("Column=target"; set: value may be anything) and a
 * time zone ("+08:00"). Return 0, or -1 with e naming what is wrong. */
/* For /metrics: the kinds (0 .. IMPORT_KINDS - 1) by name, and what this process's imports
 * of one did: records imported, duplicates, rejected, imports that could not finish. */
#define IMPORT_KINDS 6
const char *import_kind_name(int k);
void import_counts(int k, unsigned long long out[4]);

int import_check_pair(const char *pair, bool is_set, siyu_err *e);
int import_check_tz(const char *tz, siyu_err *e);

/* A CSV date in one of the formats above (or RFC 3339) as RFC 3339, with tz when it
 * had no offset of its own. Returns 0, or -1 when it is none of them. */
int import_date(const char *in, const char *tz, char *out, size_t len);

/* Is this a kind import_stream knows? */
bool import_kind_known(const char *kind);

/* Tests: with on, NDJSON's reader thread only reads and the writing thread parses every
 * block itself (the path it otherwise takes only while it would wait). */
void import_parse_on_writer_for_tests(bool on);

#endif
