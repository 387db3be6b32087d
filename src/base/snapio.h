/* snapio.h — writing and strictly reading the sections of a binary snapshot (the views'
 * snapshot, views/snapshot.c; its parts in segment/ and reports/).
 *
 * A writer hands bytes to a callback (the file and its checksum are the caller's); a reader
 * walks a buffer with every length checked against what is left, and once a read fails
 * every later one fails too, so a parser checks `bad` once at its end. Numbers are in the
 * machine's byte order: a snapshot is read back by the machine that wrote it (the header
 * says which order, and a reader refuses another).
 *
 * Columns (snap_put_column / snap_get_column) start at a multiple of SNAP_ALIGN in the
 * file, after zero padding, so a reader over a mapped file (snapmap.h) can use them where
 * they lie instead of copying them. */
#ifndef SIYU_BASE_SNAPIO_H
#define SIYU_BASE_SNAPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/snapmap.h"

#define SNAP_ALIGN 64 /* a cache line: enough for every element type */

typedef struct snap_out {
    int (*put)(void *ctx, const void *p, size_t n); /* 0, or -1 on failure */
    void *ctx;
    bool bad;
    uint64_t pos; /* the file offset of the next byte (the caller sets where it starts) */
} snap_out;

static inline void snap_put(snap_out *w, const void *p, size_t n)
{
    if (!w->bad && n && w->put(w->ctx, p, n)) w->bad = true;
    w->pos += n;
}
/* A column: zero bytes up to the next multiple of SNAP_ALIGN, then its n bytes. */
static inline void snap_put_column(snap_out *w, const void *p, size_t n)
{
    static const unsigned char zeros[SNAP_ALIGN];
    size_t pad = (size_t)(-w->pos & (SNAP_ALIGN - 1));
    snap_put(w, zeros, pad);
    snap_put(w, p, n);
}
static inline void snap_put_u64(snap_out *w, uint64_t v)
{
    snap_put(w, &v, sizeof v);
}
static inline void snap_put_i64(snap_out *w, int64_t v)
{
    snap_put(w, &v, sizeof v);
}
/* A section mark: a reader that finds another is reading out of step. */
static inline void snap_put_mark(snap_out *w, uint32_t mark)
{
    snap_put(w, &mark, sizeof mark);
}

typedef struct snap_in {
    const unsigned char *p;
    size_t n, pos;
    bool bad;
    uint64_t base; /* the file offset of p[0] (columns are aligned in the file) */
    /* When set, p lies in this mapping and columns are used in place: a reader that kept
     * any retains it (and frees its columns with snapmap_free). NULL: columns are copied. */
    snapmap *map;
} snap_in;

/* The next n bytes, or NULL (and bad) when fewer are left. */
static inline const void *snap_take(snap_in *r, size_t n)
{
    if (r->bad || n > r->n - r->pos) {
        r->bad = true;
        return NULL;
    }
    const void *q = r->p + r->pos;
    r->pos += n;
    return q;
}
static inline bool snap_get(snap_in *r, void *out, size_t n)
{
    const void *q = snap_take(r, n);
    if (q && n) memcpy(out, q, n);
    return q != NULL;
}
static inline uint64_t snap_get_u64(snap_in *r)
{
    uint64_t v = 0;
    snap_get(r, &v, sizeof v);
    return v;
}
static inline int64_t snap_get_i64(snap_in *r)
{
    int64_t v = 0;
    snap_get(r, &v, sizeof v);
    return v;
}
/* The next bytes bytes, copied into a new block (*p, freed by the caller; one byte for
 * none, so an empty column is still an allocation): false when fewer are left or the
 * allocation failed. */
static inline bool snap_get_copy(snap_in *r, void **p, size_t bytes)
{
    const void *src = snap_take(r, bytes);
    if (!src) return false;
    *p = malloc(bytes ? bytes : 1);
    if (!*p) return false;
    if (bytes) memcpy(*p, src, bytes);
    return true;
}
/* A column of bytes bytes written by snap_put_column: its padding (which must be zeros) is
 * skipped, then *p is the column in place when the buffer is a mapping, else a new copy
 * as snap_get_copy makes. An empty column is always a new block: a pointer to the end of a
 * mapping would not be recognised as the mapping's. */
static inline bool snap_get_column(snap_in *r, void **p, size_t bytes)
{
    size_t pad = (size_t)(-(r->base + r->pos) & (SNAP_ALIGN - 1));
    const unsigned char *z = snap_take(r, pad);
    for (size_t i = 0; z && i < pad; i++)
        if (z[i]) r->bad = true;
    if (r->bad) return false;
    if (!r->map || !bytes) return snap_get_copy(r, p, bytes);
    const void *src = snap_take(r, bytes);
    if (!src) return false;
    *p = (void *)src; /* the mapping is writable: copy on write */
    return true;
}
/* A count read back, refused when above max (or when its elements of size each could
 * not be left in the buffer): allocations follow counts, so a count is checked first. */
static inline uint64_t snap_get_count(snap_in *r, uint64_t max, size_t each)
{
    uint64_t v = snap_get_u64(r);
    if (r->bad || v > max || (each && v > (r->n - r->pos) / each)) {
        r->bad = true;
        return 0;
    }
    return v;
}
static inline void snap_expect_mark(snap_in *r, uint32_t mark)
{
    uint32_t m = 0;
    if (!snap_get(r, &m, sizeof m) || m != mark) r->bad = true;
}

#endif
