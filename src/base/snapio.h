/* snapio.h — writing and strictly reading the sections of a binary snapshot (the views'
 * snapshot, views/snapshot.c; its parts in segment/ and reports/).
 *
 * A writer hands bytes to a callback (the file and its checksum are the caller's); a reader
 * walks a buffer with every length checked against what is left, and once a read fails
 * every later one fails too, so a parser checks `bad` once at its end. Numbers are in the
 * machine's byte order: a snapshot is read back by the machine that wrote it (the header
 * says which order, and a reader refuses another). */
#ifndef SIYU_BASE_SNAPIO_H
#define SIYU_BASE_SNAPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct snap_out {
    int (*put)(void *ctx, const void *p, size_t n); /* 0, or -1 on failure */
    void *ctx;
    bool bad;
} snap_out;

static inline void snap_put(snap_out *w, const void *p, size_t n)
{
    if (!w->bad && n && w->put(w->ctx, p, n)) w->bad = true;
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
