/* member_cache.h — member 360 answers kept in memory, served while they still hold.
 *
 * GET /members/{id} renders from some twenty queries; a guide's console and a till ask the
 * same members again and again. The answer's bytes are kept per member and caller's role
 * (a guide's has phones masked) with what it was rendered against, and served again only
 * while all of it holds (store/view_stamps.c says how writes are followed):
 *   - no commit in this process touched the member since (its committer names it) and none
 *     wrote what every member's answer shows (the epoch);
 *   - no other process or node committed unseen: a thread polls the store's change
 *     sequence every SIYU_MEMBER_CACHE_POLL_MS (100), so their writes show within that;
 *   - the clock has not passed what the answer depends on: the day (lifecycle, windows) and
 *     the member's next points maturing or expiring (dom.until).
 * Scope is checked on each hit from the member's store and guide kept with the answer.
 * SIYU_MEMBER_CACHE: on (default), off, or verify (every hit is rendered again and
 * compared; a difference is counted as stale, reported on stderr, and the fresh answer
 * served — the chain-month test runs so). At most SIYU_MEMBER_CACHE_MIB (64) of answers are
 * kept, the least recently served dropped first. */
#ifndef SIYU_VIEWS_MEMBER_CACHE_H
#define SIYU_VIEWS_MEMBER_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "store/store.h"

typedef enum member_cache_mode {
    MEMBER_CACHE_OFF,
    MEMBER_CACHE_ON,
    MEMBER_CACHE_VERIFY
} member_cache_mode;

typedef struct member_cache member_cache;

/* What a render is checked against, read before its read transaction begins. */
typedef struct member_cache_ticket {
    uint64_t epoch, clock;
    int64_t now;
} member_cache_ticket;

/* Reads SIYU_MEMBER_CACHE, _MIB and _POLL_MS: -1 (e names the variable) when malformed. */
int member_cache_config(member_cache_mode *mode, size_t *max_bytes, int *poll_ms, siyu_err *e);

/* A cache following st (defines what the 360 reads: store_view_define) with its poll
 * thread; NULL with e filled when the thread's connection cannot be opened. Mode off
 * makes a cache that keeps nothing. */
member_cache *member_cache_open(store_t *st, member_cache_mode mode, size_t max_bytes, int poll_ms,
                                siyu_err *e);
void member_cache_close(member_cache *mc); /* NULL is a no-op */
member_cache_mode member_cache_mode_of(const member_cache *mc);

void member_cache_ticket_take(member_cache_ticket *t, int64_t now);

/* The kept answer of member for role, when it still holds at now: a copy in *body (free
 * it), *len bytes, with the member's store and guide for the scope. */
bool member_cache_get(member_cache *mc, int64_t member, int role, int64_t now, char **body,
                      size_t *len, int64_t *store_id, int64_t *guide_id);
/* Keeps an answer rendered under ticket t, unless something it read moved since; until
 * (0: none) is when the clock alone makes it stale. */
void member_cache_put(member_cache *mc, int64_t member, int role, const member_cache_ticket *t,
                      const char *body, size_t len, int64_t store_id, int64_t guide_id,
                      int64_t until);
/* The queries the 360 runs, whose tables a kept answer follows (unit_member_reads checks the
 * list against a render). */
const store_query *member_cache_reads(size_t *n);

/* Verify mode: a kept answer differed from a fresh render (counted, and where they part
 * reported on stderr). */
void member_cache_stale(member_cache *mc, int64_t member, const char *kept, size_t kept_len,
                        const char *fresh, size_t fresh_len);

typedef struct member_cache_stats {
    uint64_t hits, misses, stale, poll_failures, entries, bytes;
} member_cache_stats;
void member_cache_get_stats(member_cache *mc, member_cache_stats *out);

#endif
