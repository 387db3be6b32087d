/* snapshot.c — the views' snapshot file: the fact store and the member index as built
 * from the store at one change sequence, so a restart (or a CLI question) reads them back
 * instead of rebuilding.
 *
 * Layout: a header of fixed size — magic, format version, byte order, the store's schema
 * version, the change sequence and tag it was taken at, counts, the payload's length and
 * checksum, and a checksum of the header itself — then the payload: the fact store
 * (reports/snapshot.c) and the member index (segment/snapshot.c). It is written to a
 * temporary file, synced and renamed, so a crash leaves the old file or the new one whole.
 *
 * A server or CLI command maps the file (base/snapmap.h) and the two sections use their
 * columns where they lie, so start-up does not copy gigabytes. What it still reads whole
 * is the checksums: each section's is XXH3-128 over 64 MiB chunks, then over the chunks'
 * digests, so the two cores check a section at once (a few GB/s; BLAKE2b, which the
 * checksums were until format 3, ran at 0.7 GB/s and was most of a large restart). They
 * detect a damaged or cut file; anyone who can write the file could also write a matching
 * checksum of any kind, so nothing is lost by not using a cryptographic one.
 *
 * A snapshot is used only when its (seq, tag) equals the store's now: every committed write
 * moves both (store.h), so one written before a later write — a kill -9 after it, say — is
 * refused and the views are rebuilt. Everything else that could differ is refused too: a
 * file cut short or changed (checksums), another format, schema or byte order. */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/snapio.h"
#include "base/snapmap.h"
#include "views/snapshot.h"

#define SNAP_MAGIC "SIYUVIEW"
#define SNAP_FORMAT 4 /* 4: the facts' id maps; 3: aligned columns, XXH3 checksums */
#define SNAP_ORDER 0x01020304u
#define SUM_CHUNK ((size_t)64 << 20)

size_t views_snapshot_sum_chunk_for_tests;

static size_t sum_chunk(void)
{
    return views_snapshot_sum_chunk_for_tests ? views_snapshot_sum_chunk_for_tests : SUM_CHUNK;
}

typedef struct snap_header {
    char magic[8];
    uint32_t format, order, schema, reserved;
    int64_t seq, tag;
    uint64_t members, orders, written_at;
    /* the payload: the fact store's section, then the member index's, each checksummed on
     * its own so a reader wanting one reads only it */
    uint64_t facts_len, index_len;
    unsigned char facts_sum[16], index_sum[16];
    unsigned char header_sum[16]; /* of the bytes above */
} snap_header;

/* ---- checksums: XXH3-128 of each chunk, then of the chunks' digests ---- */

typedef struct chunk_sums {
    XXH128_canonical_t *d;
    size_t n, cap;
} chunk_sums;

static int sums_push(chunk_sums *c, XXH128_hash_t h)
{
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 16;
        XXH128_canonical_t *d = realloc(c->d, nc * sizeof *d);
        if (!d) return -1;
        c->d = d;
        c->cap = nc;
    }
    XXH128_canonicalFromHash(&c->d[c->n++], h);
    return 0;
}

static void sums_final(const chunk_sums *c, unsigned char out[16])
{
    XXH128_canonical_t f;
    XXH128_canonicalFromHash(&f, XXH3_128bits(c->d, c->n * sizeof *c->d));
    memcpy(out, &f, 16);
}

typedef struct sum_job {
    const unsigned char *p;
    size_t len, chunk, nchunks;
    XXH128_canonical_t *d;
    size_t first, step; /* the chunks this thread hashes */
} sum_job;

static void *sum_chunks(void *arg)
{
    sum_job *j = arg;
    for (size_t i = j->first; i < j->nchunks; i += j->step) {
        size_t off = i * j->chunk, n = j->len - off < j->chunk ? j->len - off : j->chunk;
        XXH128_canonicalFromHash(&j->d[i], XXH3_128bits(j->p + off, n));
    }
    return NULL;
}

/* The checksum of a section in memory, on two threads when it spans several chunks: -1
 * when out of memory. (An empty section is one empty chunk.) */
static int sum_section(const unsigned char *p, size_t len, unsigned char out[16])
{
    const size_t chunk = sum_chunk();
    size_t nchunks = len ? (len + chunk - 1) / chunk : 1;
    chunk_sums c = {.d = malloc(nchunks * sizeof *c.d), .n = nchunks, .cap = nchunks};
    if (!c.d) return -1;
    sum_job a = {p, len, chunk, nchunks, c.d, 0, 2}, b = {p, len, chunk, nchunks, c.d, 1, 2};
    pthread_t t;
    bool two = nchunks > 1 && pthread_create(&t, NULL, sum_chunks, &b) == 0;
    if (!two) a.step = 1;
    sum_chunks(&a);
    if (two) pthread_join(t, NULL);
    sums_final(&c, out);
    free(c.d);
    return 0;
}

static void sum_header(const snap_header *h, unsigned char out[16])
{
    XXH128_canonical_t f;
    XXH128_canonicalFromHash(&f, XXH3_128bits(h, offsetof(snap_header, header_sum)));
    memcpy(out, &f, 16);
}

/* ---- writing ---- */

typedef struct file_out {
    FILE *f;
    XXH3_state_t *h; /* the current chunk's */
    size_t in_chunk; /* its bytes so far */
    chunk_sums sums; /* the section's finished chunks */
    uint64_t len;    /* the section's bytes */
    bool bad;
} file_out;

static int file_put(void *ctx, const void *p, size_t n)
{
    file_out *o = ctx;
    if (fwrite(p, 1, n, o->f) != n) return -1;
    o->len += n;
    const unsigned char *b = p;
    const size_t chunk = sum_chunk();
    while (n) {
        size_t take = chunk - o->in_chunk < n ? chunk - o->in_chunk : n;
        XXH3_128bits_update(o->h, b, take);
        b += take;
        n -= take;
        if ((o->in_chunk += take) == chunk) {
            if (sums_push(&o->sums, XXH3_128bits_digest(o->h))) return -1;
            XXH3_128bits_reset(o->h);
            o->in_chunk = 0;
        }
    }
    return 0;
}

/* Ends the section being written: its checksum into out, and the next one starts. */
static void section_end(file_out *o, unsigned char out[16])
{
    if (o->in_chunk || o->sums.n == 0)
        o->bad |= sums_push(&o->sums, XXH3_128bits_digest(o->h)) != 0;
    sums_final(&o->sums, out);
    XXH3_128bits_reset(o->h);
    o->in_chunk = 0;
    o->sums.n = 0;
    o->len = 0;
}

int views_snapshot_write(const char *path, reports_t *r, seg_index *idx, int schema, int64_t seq,
                         int64_t tag, siyu_err *e)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    snprintf(tmp, plen + 8, "%s.tmp", path);
    file_out o = {.f = fopen(tmp, "wb"), .h = XXH3_createState()};
    if (!o.f || !o.h) {
        siyu_err_set(e, SIYU_INTERNAL, NULL, "snapshot: %s: %s", tmp, strerror(errno));
        if (o.f) fclose(o.f);
        XXH3_freeState(o.h);
        free(tmp);
        return -1;
    }
    XXH3_128bits_reset(o.h);
    snap_header h;
    memset(&h, 0, sizeof h);
    bool ok = fwrite(&h, sizeof h, 1, o.f) == 1; /* filled in at the end */
    snap_out w = {.put = file_put, .ctx = &o, .pos = sizeof h};
    ok = ok && reports_snapshot_write(r, &w) == 0;
    h.facts_len = o.len;
    section_end(&o, h.facts_sum);
    ok = ok && seg_index_snapshot_write(idx, &w) == 0;
    h.index_len = o.len;
    section_end(&o, h.index_sum);
    ok = ok && !o.bad;
    memcpy(h.magic, SNAP_MAGIC, 8);
    h.format = SNAP_FORMAT;
    h.order = SNAP_ORDER;
    h.schema = (uint32_t)schema;
    h.seq = seq;
    h.tag = tag;
    h.members = seg_index_member_count(idx);
    reports_stats rs;
    reports_get_stats(r, &rs);
    h.orders = rs.orders;
    h.written_at = (uint64_t)time(NULL);
    sum_header(&h, h.header_sum);
    ok = ok && fseek(o.f, 0, SEEK_SET) == 0 && fwrite(&h, sizeof h, 1, o.f) == 1;
    ok = ok && fflush(o.f) == 0 && fsync(fileno(o.f)) == 0;
    ok = (fclose(o.f) == 0) && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        siyu_err_set(e, SIYU_INTERNAL, NULL, "snapshot: writing %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    XXH3_freeState(o.h);
    free(o.sums.d);
    free(tmp);
    return ok ? 0 : -1;
}

/* ---- reading ---- */

/* buf holds the whole file; with map set it is that mapping, and the sections' columns are
 * used in place. */
static int parse_file(const unsigned char *buf, size_t len, snapmap *map, int schema, int64_t seq,
                      int64_t tag, reports_t **r, seg_index **idx, char *why, size_t whycap)
{
    if (r) *r = NULL;
    if (idx) *idx = NULL;
    snap_header h;
#define REFUSE(...) (snprintf(why, whycap, __VA_ARGS__), -1)
    if (len < sizeof h) return REFUSE("shorter than its header");
    memcpy(&h, buf, sizeof h);
    if (memcmp(h.magic, SNAP_MAGIC, 8) != 0) return REFUSE("not a views snapshot");
    unsigned char sum[16];
    if (h.format != SNAP_FORMAT) return REFUSE("format %u, not %u", h.format, SNAP_FORMAT);
    sum_header(&h, sum);
    if (memcmp(sum, h.header_sum, 16) != 0) return REFUSE("its header is damaged");
    if (h.order != SNAP_ORDER) return REFUSE("written on a machine of another byte order");
    if (h.schema != (uint32_t)schema)
        return REFUSE("taken at schema %u, the store is at %d", h.schema, schema);
    if (h.seq != seq || h.tag != tag)
        return REFUSE("taken at change %lld, the store is at %lld%s", (long long)h.seq,
                      (long long)seq, h.seq == seq ? " of another history" : "");
    if (h.facts_len > len - sizeof h || h.index_len != len - sizeof h - h.facts_len)
        return REFUSE("cut short or extended");
    const unsigned char *facts = buf + sizeof h, *index = facts + h.facts_len;
    if (r) {
        if (sum_section(facts, h.facts_len, sum)) return REFUSE("out of memory");
        if (memcmp(sum, h.facts_sum, 16) != 0) return REFUSE("its fact store is damaged");
        snap_in in = {.p = facts, .n = h.facts_len, .base = sizeof h, .map = map};
        *r = reports_snapshot_read(&in);
        if (!*r || in.pos != in.n) {
            reports_free(*r);
            *r = NULL;
            return REFUSE("its fact store does not read back");
        }
    }
    if (idx) {
        bool damaged = sum_section(index, h.index_len, sum) || memcmp(sum, h.index_sum, 16) != 0;
        snap_in in = {.p = index, .n = h.index_len, .base = sizeof h + h.facts_len, .map = map};
        if (!damaged) *idx = seg_index_snapshot_read(&in);
        if (!*idx || in.pos != in.n || seg_index_member_count(*idx) != h.members) {
            seg_index_free(*idx);
            *idx = NULL;
            if (r) {
                reports_free(*r);
                *r = NULL;
            }
            return REFUSE("its member index %s", damaged ? "is damaged" : "does not read back");
        }
    }
    return 0;
#undef REFUSE
}

int views_snapshot_parse(const unsigned char *buf, size_t len, int schema, int64_t seq, int64_t tag,
                         reports_t **r, seg_index **idx, char *why, size_t whycap)
{
    return parse_file(buf, len, NULL, schema, seq, tag, r, idx, why, whycap);
}

int views_snapshot_parse_payload(struct snap_in *in, reports_t **r, seg_index **idx)
{
    *r = reports_snapshot_read(in);
    *idx = *r ? seg_index_snapshot_read(in) : NULL;
    if (*r && *idx) return 0;
    reports_free(*r);
    *r = NULL;
    return -1;
}

int views_snapshot_read(const char *path, int schema, int64_t seq, int64_t tag, reports_t **r,
                        seg_index **idx, char *why, size_t whycap)
{
    snapmap *m = snapmap_open(path, why, whycap);
    if (!m) return -1;
    /* the views keep their own references to the mapping while their columns lie in it */
    int rc = parse_file(snapmap_data(m), snapmap_len(m), snapmap_in_place(m) ? m : NULL, schema,
                        seq, tag, r, idx, why, whycap);
    snapmap_release(m);
    return rc;
}

char *views_snapshot_default_path(store_t *st, const char *given)
{
    if (given && *given) return strdup(given);
    if (store_shared(st)) return NULL; /* PostgreSQL: only where the operator says */
    const char *p = store_path(st);
    size_t n = strlen(p) + 8;
    char *out = malloc(n);
    snprintf(out, n, "%s.views", p);
    return out;
}
