/* json_arena.c — bump allocation for JSON parsed and dropped in bulk (json_arena.h). */
#include "base/json_arena.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define CHUNK ((size_t)1 << 20)
/* Address space only: pages are committed as they are touched, so this bounds how much
 * the arenas may hold at once (the importer holds a few tens of MiB), not what they use. */
#define RANGE ((size_t)1 << 30)
#define BIG (CHUNK / 8) /* larger requests go to malloc: a chunk never wastes more than this */
#define HEADER 16       /* a chunk starts with the link to the arena's previous chunk */
#define KEEP_FREE 32    /* free chunks kept warm; past that their pages go back to the kernel */

struct json_arena {
    char *chunk;  /* the newest chunk, linked to the older ones through its header */
    size_t used;  /* bytes used in the newest chunk */
    bool spilled; /* an allocation made under this arena went to malloc */
};

static char *range; /* NULL: not installed, or the reservation failed */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t range_used; /* chunks carved from the range so far, in bytes */
static char *free_chunks; /* a stack linked through the chunks' headers */
static size_t n_free, in_use;
static _Thread_local json_arena *current;

bool json_arena_owns(const void *p)
{
    return range && (const char *)p >= range && (const char *)p < range + RANGE;
}

static char **link_of(char *chunk)
{
    return (char **)(void *)chunk;
}

static char *take_chunk(void)
{
    char *c = NULL;
    pthread_mutex_lock(&pool_lock);
    if (free_chunks) {
        c = free_chunks;
        UNPOISON(c, HEADER);
        free_chunks = *link_of(c);
        n_free--;
    } else if (range && range_used + CHUNK <= RANGE) {
        c = range + range_used;
        range_used += CHUNK;
        POISON(c, CHUNK); /* poisoned chunk by chunk: the whole range would cost ASan 128 MiB */
    }
    if (c) {
        UNPOISON(c, HEADER);
        in_use += CHUNK;
    }
    pthread_mutex_unlock(&pool_lock);
    return c;
}

static void *arena_malloc(size_t n)
{
    json_arena *a = current;
    if (!a) return malloc(n);
    if (n > BIG) {
        a->spilled = true;
        return malloc(n);
    }
    n = n ? (n + 15) & ~(size_t)15 : 16; /* every allocation its own address */
    if (!a->chunk || a->used + n > CHUNK) {
        char *c = take_chunk();
        if (!c) { /* the range is spent: correct, just slower */
            a->spilled = true;
            return malloc(n);
        }
        *link_of(c) = a->chunk;
        a->chunk = c;
        a->used = HEADER;
    }
    char *p = a->chunk + a->used;
    a->used += n;
    UNPOISON(p, n);
    return p;
}

static void arena_free(void *p)
{
    /* an arena's memory goes back with the arena (json_arena_release) */
    if (!json_arena_owns(p)) free(p);
}

void json_arena_install(void)
{
    void *r = mmap(NULL, RANGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (r == MAP_FAILED) return; /* every allocation stays malloc */
    range = r;
    json_set_alloc_funcs(arena_malloc, arena_free);
}

json_arena *json_arena_new(void)
{
    return calloc(1, sizeof(json_arena));
}

void json_arena_use(json_arena *a)
{
    current = a;
}

bool json_arena_holds_all(const json_arena *a)
{
    /* not installed, jansson never calls arena_malloc: everything went to malloc unseen */
    return a && range && !a->spilled;
}

void json_arena_release(json_arena *a)
{
    if (!a) return;
    if (current == a) current = NULL;
    char *c = a->chunk;
    pthread_mutex_lock(&pool_lock);
    while (c) {
        char *older = *link_of(c);
        if (n_free >= KEEP_FREE) madvise(c, CHUNK, MADV_DONTNEED);
        *link_of(c) = free_chunks;
        POISON(c, CHUNK); /* a use after release is an ASan report, as with free */
        free_chunks = c;
        n_free++;
        in_use -= CHUNK;
        c = older;
    }
    pthread_mutex_unlock(&pool_lock);
    free(a);
}

size_t json_arena_bytes_in_use(void)
{
    pthread_mutex_lock(&pool_lock);
    size_t n = in_use;
    pthread_mutex_unlock(&pool_lock);
    return n;
}
