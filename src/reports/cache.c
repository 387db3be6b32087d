/* cache.c — a few recent report answers, each valid for the facts' version it was
 * computed at (reports.h, "the answer cache"). 64 slots replaced oldest first; a lookup
 * answers a deep copy, made under the cache's mutex, so the kept answer is never shared
 * with a caller that may change or free it. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "reports.h"

#define SLOTS 64

struct rp_cache {
    pthread_mutex_t mu;
    struct slot {
        char *key;
        uint64_t version;
        json_t *answer;
    } s[SLOTS];
    size_t next; /* the slot a new key takes */
    uint64_t hits, misses;
    bool off; /* SIYU_REPORTS_CACHE=off: every answer computed (the benchmark's baseline) */
};

struct rp_cache *rp_cache_new(void)
{
    struct rp_cache *c = calloc(1, sizeof *c);
    if (!c) abort();
    pthread_mutex_init(&c->mu, NULL);
    const char *env = getenv("SIYU_REPORTS_CACHE");
    c->off = env && strcmp(env, "off") == 0;
    return c;
}

void rp_cache_free(struct rp_cache *c)
{
    if (!c) return;
    for (size_t i = 0; i < SLOTS; i++) {
        free(c->s[i].key);
        json_decref(c->s[i].answer);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

uint64_t reports_version(reports_t *r)
{
    pthread_rwlock_rdlock(&r->lock);
    uint64_t v = r->version;
    pthread_rwlock_unlock(&r->lock);
    return v;
}

json_t *reports_cache_get(reports_t *r, const char *key)
{
    uint64_t now = reports_version(r);
    struct rp_cache *c = r->cache;
    json_t *out = NULL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < SLOTS && !out && !c->off; i++)
        if (c->s[i].key && c->s[i].version == now && strcmp(c->s[i].key, key) == 0)
            out = json_deep_copy(c->s[i].answer);
    if (out)
        c->hits++;
    else
        c->misses++;
    pthread_mutex_unlock(&c->mu);
    return out;
}

void reports_cache_put(reports_t *r, const char *key, uint64_t version, const json_t *answer)
{
    if (!answer || r->cache->off) return;
    json_t *copy = json_deep_copy(answer);
    char *k = strdup(key);
    if (!copy || !k) {
        json_decref(copy);
        free(k);
        return;
    }
    struct rp_cache *c = r->cache;
    pthread_mutex_lock(&c->mu);
    size_t at = SLOTS;
    for (size_t i = 0; i < SLOTS && at == SLOTS; i++) /* the same key: replace it */
        if (c->s[i].key && strcmp(c->s[i].key, key) == 0) at = i;
    if (at == SLOTS) {
        at = c->next;
        c->next = (c->next + 1) % SLOTS;
    }
    free(c->s[at].key);
    json_decref(c->s[at].answer);
    c->s[at] = (struct slot){.key = k, .version = version, .answer = copy};
    pthread_mutex_unlock(&c->mu);
}

void reports_cache_counts(reports_t *r, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&r->cache->mu);
    *hits = r->cache->hits;
    *misses = r->cache->misses;
    pthread_mutex_unlock(&r->cache->mu);
}
