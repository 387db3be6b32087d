/* snapshot.c — the views' snapshot file: the fact store and the member index as built
 * from the store at one change sequence, so a restart (or a CLI question) reads them back
 * instead of rebuilding.
 *
 * Layout: a header of fixed size — magic, format version, byte order, the store's schema
 * version, the change sequence and tag it was taken at, counts, the payload's length and
 * BLAKE2b checksum, and a checksum of the header itself — then the payload: the fact store
 * (reports/snapshot.c) and the member index (segment/snapshot.c). It is written to a
 * temporary file, synced and renamed, so a crash leaves the old file or the new one whole.
 *
 * A snapshot is used only when its (seq, tag) equals the store's now: every committed write
 * moves both (store.h), so one written before a later write — a kill -9 after it, say — is
 * refused and the views are rebuilt. Everything else that could differ is refused too: a
 * file cut short or changed (checksums), another format, schema or byte order. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/snapio.h"
#include "views/snapshot.h"

#define SNAP_MAGIC "SIYUVIEW"
#define SNAP_FORMAT 2 /* 2: an order's instant (the group view matches it to stints) */
#define SNAP_ORDER 0x01020304u

typedef struct snap_header {
    char magic[8];
    uint32_t format, order, schema, reserved;
    int64_t seq, tag;
    uint64_t members, orders, written_at;
    /* the payload: the fact store's section, then the member index's, each checksummed on
     * its own so a reader wanting one reads only it */
    uint64_t facts_len, index_len;
    unsigned char facts_sum[32], index_sum[32];
    unsigned char header_sum[32]; /* of the bytes above */
} snap_header;

typedef struct file_out {
    FILE *f;
    crypto_generichash_state h;
    uint64_t len;
} file_out;

static int file_put(void *ctx, const void *p, size_t n)
{
    file_out *o = ctx;
    if (fwrite(p, 1, n, o->f) != n) return -1;
    crypto_generichash_update(&o->h, p, n);
    o->len += n;
    return 0;
}

int views_snapshot_write(const char *path, reports_t *r, seg_index *idx, int schema, int64_t seq,
                         int64_t tag, siyu_err *e)
{
    if (sodium_init() < 0) return siyu_err_set(e, SIYU_INTERNAL, NULL, "snapshot: libsodium");
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    snprintf(tmp, plen + 8, "%s.tmp", path);
    file_out o = {.f = fopen(tmp, "wb")};
    if (!o.f) {
        siyu_err_set(e, SIYU_INTERNAL, NULL, "snapshot: %s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    crypto_generichash_init(&o.h, NULL, 0, 32);
    snap_header h;
    memset(&h, 0, sizeof h);
    bool ok = fwrite(&h, sizeof h, 1, o.f) == 1; /* filled in at the end */
    snap_out w = {.put = file_put, .ctx = &o};
    ok = ok && reports_snapshot_write(r, &w) == 0;
    h.facts_len = o.len;
    crypto_generichash_final(&o.h, h.facts_sum, 32);
    crypto_generichash_init(&o.h, NULL, 0, 32);
    ok = ok && seg_index_snapshot_write(idx, &w) == 0;
    h.index_len = o.len - h.facts_len;
    crypto_generichash_final(&o.h, h.index_sum, 32);
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
    crypto_generichash(h.header_sum, 32, (const unsigned char *)&h,
                       offsetof(snap_header, header_sum), NULL, 0);
    ok = ok && fseek(o.f, 0, SEEK_SET) == 0 && fwrite(&h, sizeof h, 1, o.f) == 1;
    ok = ok && fflush(o.f) == 0 && fsync(fileno(o.f)) == 0;
    ok = (fclose(o.f) == 0) && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        siyu_err_set(e, SIYU_INTERNAL, NULL, "snapshot: writing %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}

int views_snapshot_parse(const unsigned char *buf, size_t len, int schema, int64_t seq, int64_t tag,
                         reports_t **r, seg_index **idx, char *why, size_t whycap)
{
    if (r) *r = NULL;
    if (idx) *idx = NULL;
    snap_header h;
#define REFUSE(...) (snprintf(why, whycap, __VA_ARGS__), -1)
    if (len < sizeof h) return REFUSE("shorter than its header");
    memcpy(&h, buf, sizeof h);
    if (memcmp(h.magic, SNAP_MAGIC, 8) != 0) return REFUSE("not a views snapshot");
    unsigned char sum[32];
    crypto_generichash(sum, 32, (const unsigned char *)&h, offsetof(snap_header, header_sum), NULL,
                       0);
    if (memcmp(sum, h.header_sum, 32) != 0) return REFUSE("its header is damaged");
    if (h.format != SNAP_FORMAT) return REFUSE("format %u, not %u", h.format, SNAP_FORMAT);
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
        crypto_generichash(sum, 32, facts, h.facts_len, NULL, 0);
        if (memcmp(sum, h.facts_sum, 32) != 0) return REFUSE("its fact store is damaged");
        snap_in in = {.p = facts, .n = h.facts_len};
        *r = reports_snapshot_read(&in);
        if (!*r || in.pos != in.n) {
            reports_free(*r);
            *r = NULL;
            return REFUSE("its fact store does not read back");
        }
    }
    if (idx) {
        crypto_generichash(sum, 32, index, h.index_len, NULL, 0);
        snap_in in = {.p = index, .n = h.index_len};
        if (memcmp(sum, h.index_sum, 32) == 0) *idx = seg_index_snapshot_read(&in);
        if (!*idx || in.pos != in.n || seg_index_member_count(*idx) != h.members) {
            bool damaged = !*idx && memcmp(sum, h.index_sum, 32) != 0;
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
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whycap, "%s", errno == ENOENT ? "none" : strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) || sb.st_size <= 0) {
        close(fd);
        snprintf(why, whycap, "empty");
        return -1;
    }
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        snprintf(why, whycap, "%s", strerror(errno));
        return -1;
    }
    madvise(m, (size_t)sb.st_size, MADV_SEQUENTIAL);
    if (sodium_init() < 0) {
        munmap(m, (size_t)sb.st_size);
        snprintf(why, whycap, "libsodium");
        return -1;
    }
    int rc = views_snapshot_parse(m, (size_t)sb.st_size, schema, seq, tag, r, idx, why, whycap);
    munmap(m, (size_t)sb.st_size);
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
