/* expr.h — the segment expression language of spec/segments.md: parse, print, free.
 *
 * Owns: the syntax tree (opaque seg_expr), its canonical printed form and the
 * errors that name a 1-based column ("column 23: unknown attribute \"spend_356d\"").
 * Knows nothing of members: attribute names come from attrs.h; tag and segment
 * names are checked against an index when one is given to seg_parse. */
#ifndef SIYU_SEGMENT_EXPR_H
#define SIYU_SEGMENT_EXPR_H

#include <stddef.h>

typedef struct seg_expr seg_expr;
typedef struct seg_index seg_index;

/* An error about an expression or an index call. `column` is 1-based and counts
 * characters (UTF-8 code points), 0 when the error is not about a position; `msg`
 * is the whole text shown to the user, column included. */
typedef struct seg_error {
    int column;
    char msg[256];
} seg_error;

/* Expressions longer than this, or nested deeper, are refused with an error. */
#define SEG_EXPR_MAX_LEN 65536
#define SEG_EXPR_MAX_DEPTH 64

/* Parses `text`. With idx, tag and segment references must name an existing tag or
 * saved segment (an unknown one is an error with its column); with idx NULL they
 * are only checked for syntax (e.g. `explain` without a loaded index).
 * Returns 0 and *out (free with seg_expr_free), or -1 with *out NULL and err filled. */
int seg_parse(const char *text, const seg_index *idx, seg_expr **out, seg_error *err);

/* The canonical printed form: keywords lower case, strings quoted with \" and \\
 * escapes, "and" groups inside "or" and any group under "not" parenthesised,
 * single spaces. print(parse(print(e))) == print(e). Returns a malloc'd string. */
char *seg_print(const seg_expr *e);

/* Frees e; NULL is a no-op. */
void seg_expr_free(seg_expr *e);

#endif
