/* snapshot.h — the views' snapshot file (snapshot.c); views.h has what serve and the CLI call. */
#ifndef SIYU_VIEWS_SNAPSHOT_H
#define SIYU_VIEWS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "reports/reports.h"
#include "segment/index.h"
#include "store/store.h"

/* Writes r and idx as taken at the store's (seq, tag) and schema: to path.tmp, synced, then
 * renamed over path. */
int views_snapshot_write(const char *path, reports_t *r, seg_index *idx, int schema, int64_t seq,
                         int64_t tag, siyu_err *e);
/* Reads path back when it was taken at exactly (schema, seq, tag) and reads back whole;
 * else -1 with the reason in why ("none" when there is no file). r or idx may be NULL: that
 * section is then neither checked nor read. The index holds no tags or saved segments (the
 * caller defines them from the store). */
int views_snapshot_read(const char *path, int schema, int64_t seq, int64_t tag, reports_t **r,
                        seg_index **idx, char *why, size_t whycap);
/* The same on a file's bytes (tests). */
int views_snapshot_parse(const unsigned char *buf, size_t len, int schema, int64_t seq, int64_t tag,
                         reports_t **r, seg_index **idx, char *why, size_t whycap);
/* The payload alone, checksums aside (the fuzz target): 0, or -1 with nothing allocated. */
struct snap_in;
int views_snapshot_parse_payload(struct snap_in *in, reports_t **r, seg_index **idx);
/* Tests only: when non-zero, the bytes per checksum chunk instead of 64 MiB (so a small
 * snapshot spans several chunks, hashed on both threads). */
extern size_t views_snapshot_sum_chunk_for_tests;
/* given, else "<db>.views" beside a SQLite file; NULL on PostgreSQL without one. Free it. */
char *views_snapshot_default_path(store_t *st, const char *given);

#endif
