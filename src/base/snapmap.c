/* snapmap.c — snapshots mapped in place (snapmap.h).
 *
 * The registry is a few slots of address ranges. A range is registered before any pointer
 * into it is handed out and unregistered after the last structure holding such pointers
 * has freed them, so a lookup racing with either never concerns the pointer it asks
 * about. What a lookup must not do is compare against half of each: the start of a range
 * being released and the end of the next one registered in its slot, which could cover a
 * heap block between the two. So each slot has a generation, odd while its range changes,
 * and a lookup reads the range again until the generation held still around it. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/snapmap.h"

#define SNAPMAP_SLOTS 16 /* a node holds one; tests and CLI commands a few */

struct snapmap {
    unsigned char *data;
    size_t len;
    int slot; /* -1: not registered (used by copying) */
    atomic_int refs;
};

static struct {
    _Atomic uintptr_t lo, hi; /* [lo, hi); lo == 0: free */
    atomic_uint gen;          /* odd while lo and hi change */
} slots[SNAPMAP_SLOTS];

static int register_range(uintptr_t lo, uintptr_t hi)
{
    for (int i = 0; i < SNAPMAP_SLOTS; i++) {
        uintptr_t expect = 0;
        /* claim the slot by its lo, then publish hi (0 while free, so until then lookups
         * see an empty range) */
        if (atomic_compare_exchange_strong(&slots[i].lo, &expect, lo)) {
            atomic_fetch_add(&slots[i].gen, 1);
            atomic_store(&slots[i].hi, hi);
            atomic_fetch_add(&slots[i].gen, 1);
            return i;
        }
    }
    return -1;
}

snapmap *snapmap_open(const char *path, char *why, size_t whycap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whycap, "%s", errno == ENOENT ? "none" : strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) || sb.st_size <= 0) {
        close(fd);
        snprintf(why, whycap, "empty");
        return NULL;
    }
    /* writable and private: writes copy the page and never reach the file */
    void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (p == MAP_FAILED) {
        snprintf(why, whycap, "%s", strerror(err));
        return NULL;
    }
    snapmap *m = calloc(1, sizeof *m);
    if (!m) {
        munmap(p, (size_t)sb.st_size);
        snprintf(why, whycap, "out of memory");
        return NULL;
    }
    m->data = p;
    m->len = (size_t)sb.st_size;
    atomic_init(&m->refs, 1);
    m->slot = register_range((uintptr_t)p, (uintptr_t)p + m->len);
    return m;
}

unsigned char *snapmap_data(const snapmap *m)
{
    return m->data;
}

size_t snapmap_len(const snapmap *m)
{
    return m->len;
}

bool snapmap_in_place(const snapmap *m)
{
    return m->slot >= 0;
}

snapmap *snapmap_retain(snapmap *m)
{
    if (m) atomic_fetch_add(&m->refs, 1);
    return m;
}

void snapmap_release(snapmap *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1) return;
    if (m->slot >= 0) {
        atomic_fetch_add(&slots[m->slot].gen, 1);
        atomic_store(&slots[m->slot].hi, 0);
        atomic_store(&slots[m->slot].lo, 0);
        atomic_fetch_add(&slots[m->slot].gen, 1);
    }
    munmap(m->data, m->len);
    free(m);
}

bool snapmap_owns(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    for (int i = 0; i < SNAPMAP_SLOTS; i++) {
        unsigned g;
        uintptr_t lo, hi;
        do { /* a slot changes in a few instructions: wait them out */
            g = atomic_load(&slots[i].gen);
            lo = atomic_load(&slots[i].lo);
            hi = atomic_load(&slots[i].hi);
        } while ((g & 1) || g != atomic_load(&slots[i].gen));
        if (lo && a >= lo && a < hi) return true;
    }
    return false;
}

void snapmap_free(void *p)
{
    if (p && !snapmap_owns(p)) free(p);
}

void *snapmap_realloc(void *p, size_t oldsize, size_t newsize)
{
    if (!p || !snapmap_owns(p)) return realloc(p, newsize ? newsize : 1);
    void *q = malloc(newsize ? newsize : 1);
    if (q) memcpy(q, p, oldsize < newsize ? oldsize : newsize);
    return q;
}
