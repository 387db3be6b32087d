/* eval.h — answering expressions against an index: counts, member lists in id order,
 * breakdowns, single-member tests.
 *
 * Every call takes the index's read lock for its whole evaluation, so it sees one
 * consistent state. `scope` (may be NULL) restricts the audience to the members
 * matching another expression — a guide's token evaluates with scope "guide = 12",
 * a store manager's with "store = 3".
 * Errors that only evaluation can find (a tag or saved segment removed since the
 * expression was parsed, a cycle of segments) are returned, never an empty audience. */
#ifndef SIYU_SEGMENT_EVAL_H
#define SIYU_SEGMENT_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segment/expr.h"
#include "segment/index.h"

int seg_count(seg_index *idx, const seg_expr *e, const seg_expr *scope, uint64_t *out,
              seg_error *err);

/* Does one member match? (journey branches, member 360) */
int seg_match(seg_index *idx, const seg_expr *e, int64_t member_id, bool *out, seg_error *err);

/* Up to `limit` member ids of the audience greater than `after_id`, ascending, into
 * ids[]; *n = how many. Page with after_id = the last id of the previous page (start
 * from INT64_MIN). */
int seg_page(seg_index *idx, const seg_expr *e, const seg_expr *scope, int64_t after_id,
             size_t limit, int64_t *ids, size_t *n, seg_error *err);

/* The whole audience as ascending member ids, detached from the index (for CSV export:
 * no lock is held while the caller writes). */
typedef struct seg_audience {
    size_t count;
    int64_t *ids;
} seg_audience;
int seg_select(seg_index *idx, const seg_expr *e, const seg_expr *scope, seg_audience *out,
               seg_error *err);
void seg_audience_release(seg_audience *a);

/* Counts of the audience grouped by a categorical attribute (store, guide, brand,
 * join_channel, tier, gender, city, favourite_category, rfm, lifecycle,
 * birthday_month). Rows with a zero count are left out; members without a value are
 * one row with label "" (value 0). Rows by descending count, then label. */
typedef struct seg_breakdown_row {
    char label[64]; /* the value as text: "3" for store 3, "杭州", "重要价值" */
    int64_t value;  /* the integer id for store/guide/brand/birthday_month, else 0 */
    uint64_t count;
} seg_breakdown_row;
typedef struct seg_breakdown {
    size_t n;
    seg_breakdown_row *rows;
    uint64_t total;
} seg_breakdown;
int seg_breakdown_by(seg_index *idx, const seg_expr *e, const seg_expr *scope, const char *by,
                     seg_breakdown *out, seg_error *err);
void seg_breakdown_release(seg_breakdown *b);

#endif
