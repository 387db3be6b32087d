#include "import/csv.h"

#include <stdlib.h>
#include <string.h>

void csv_init(csv_reader *r, FILE *in)
{
    memset(r, 0, sizeof *r);
    r->in = in;
    r->line = 1;
}

void csv_free(csv_reader *r)
{
    free(r->buf);
    free(r->offsets);
}

static void put(csv_reader *r, char c)
{
    if (r->len + 1 >= r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->buf = realloc(r->buf, r->cap);
    }
    r->buf[r->len++] = c;
}

static void start_field(csv_reader *r)
{
    if (r->nfields == r->fcap) {
        r->fcap = r->fcap ? r->fcap * 2 : 16;
        r->offsets = realloc(r->offsets, r->fcap * sizeof *r->offsets);
    }
    r->offsets[r->nfields++] = r->len;
}

int csv_next(csv_reader *r, long *start_line)
{
    r->len = 0;
    r->nfields = 0;
    *start_line = r->line;
    int c = getc_unlocked(r->in);
    if (c == EOF) return 0;
    start_field(r);
    enum { FIELD_START, UNQUOTED, QUOTED, QUOTE_IN_QUOTED } st = FIELD_START;
    for (;; c = getc_unlocked(r->in)) {
        if (c == EOF) {
            if (st == QUOTED) return -1; /* unterminated quote */
            put(r, 0);
            return 1;
        }
        switch (st) {
        case FIELD_START:
        case UNQUOTED:
            if (c == '"' && st == FIELD_START) {
                st = QUOTED;
            } else if (c == ',') {
                put(r, 0);
                start_field(r);
                st = FIELD_START;
            } else if (c == '\n' || c == '\r') {
                if (c == '\r') {
                    int n = getc_unlocked(r->in);
                    if (n != '\n' && n != EOF) ungetc(n, r->in);
                }
                r->line++;
                put(r, 0);
                return 1;
            } else if (c == '"') {
                /* a quote inside an unquoted field: malformed; skip to end of line */
                while ((c = getc_unlocked(r->in)) != EOF && c != '\n')
                    ;
                r->line++;
                return -1;
            } else {
                put(r, (char)c);
                st = UNQUOTED;
            }
            break;
        case QUOTED:
            if (c == '"')
                st = QUOTE_IN_QUOTED;
            else {
                if (c == '\n') r->line++;
                put(r, (char)c);
            }
            break;
        case QUOTE_IN_QUOTED:
            if (c == '"') {
                put(r, '"');
                st = QUOTED;
            } else if (c == ',') {
                put(r, 0);
                start_field(r);
                st = FIELD_START;
            } else if (c == '\n' || c == '\r') {
                if (c == '\r') {
                    int n = getc_unlocked(r->in);
                    if (n != '\n' && n != EOF) ungetc(n, r->in);
                }
                r->line++;
                put(r, 0);
                return 1;
            } else {
                while ((c = getc_unlocked(r->in)) != EOF && c != '\n')
                    ;
                r->line++;
                return -1;
            }
            break;
        }
    }
}
