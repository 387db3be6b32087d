/* csv.h — a streaming RFC 4180 reader: quoted fields, doubled quotes, newlines
 * inside quotes, CRLF or LF. One record at a time; memory is one record. */
#ifndef SIYU_IMPORT_CSV_H
#define SIYU_IMPORT_CSV_H

#include <stddef.h>
#include <stdio.h>

typedef struct csv_reader {
    FILE *in;
    long line; /* the line the next record starts on (1-based) */
    char *buf; /* field bytes, NUL-separated */
    size_t len, cap;
    size_t *offsets; /* start of each field in buf */
    size_t nfields, fcap;
} csv_reader;

void csv_init(csv_reader *r, FILE *in);
void csv_free(csv_reader *r);

/* Reads the next record. Returns 1 with fields set, 0 at end of input, -1 on a
 * malformed record (an unterminated quote, a stray quote). *start_line gets the
 * record's first line. Fields are valid until the next call. */
int csv_next(csv_reader *r, long *start_line);
static inline const char *csv_field(const csv_reader *r, size_t i)
{
    return r->buf + r->offsets[i];
}

#endif
