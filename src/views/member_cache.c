/* member_cache.c — member 360 answers kept in memory (member_cache.h says when one holds).
 *
 * Entries live in 64 shards, each a chained hash under its own lock with a list from most
 * to least recently served; a shard over its share of the byte cap drops from the end.
 * Validity is checked on every hit, not pushed to entries: a touch or an epoch move costs
 * the writer two atomic operations whatever the cache holds. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/timeutil.h"
#include "views/member_cache.h"

#define SHARDS 64

typedef struct entry {
    struct entry *hnext, *prev, *next; /* hash chain; recency list */
    int64_t member, store_id, guide_id, rendered_at, until;
    uint64_t epoch, clock;
    int role;
    size_t len;
    char body[];
} entry;

typedef struct shard {
    pthread_mutex_t lock;
    entry **buckets;
    size_t nbuckets, n, bytes;
    entry *head, *tail; /* most, least recently served */
} shard;

struct member_cache {
    member_cache_mode mode;
    size_t shard_cap; /* bytes per shard */
    shard shards[SHARDS];
    _Atomic uint64_t hits, misses, stale, poll_failures;
    atomic_bool blind; /* the last poll failed: nothing is served until one succeeds */
    /* the poll thread */
    store_t *st;
    store_conn *conn;
    int poll_ms;
    pthread_t thread;
    bool running;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    bool stop;
};

/* The queries the 360 runs (members.c, loyalty, guides, fission, the models). A table any of
 * them names (or a view of theirs does) is one whose writes a kept answer must follow; a
 * query added to the 360 must be added here, which the chain-month test's verify mode
 * (every kept answer rendered again and compared) would otherwise find out. */
static const store_query reads_360[] = {
    Q_SCOPE_MEMBER,
    Q_MEMBER_GET,
    Q_IDENTITY_LIST,
    Q_ERASURE_GET,
    Q_STORE_GET,
    Q_STAFF_GET,
    Q_REACH_LIST,
    Q_CONSENT_LIST,
    Q_MEMBER_STATS,
    Q_PREDICTION_GET,
    Q_SETTING_GET,
    Q_LACCOUNT_GET,
    Q_TIER_HISTORY_LIST,
    Q_POINTS_SUMMARY,
    Q_POINTS_NEXT_CHANGE,
    Q_COUPONS_OF_MEMBER,
    Q_COUPON_BY_CODE,
    Q_CTEMPLATE_GET,
    Q_COUPON_EVENTS,
    Q_MERGE_LIST,
    Q_PROFILE_CHANGES,
    Q_CONTACTS_LIVE_COUNT,
    Q_CONTACT_CREDITED,
    Q_MEMBER_ACQUISITION,
    Q_EARN_RULE_LIST,
    Q_MODEL_RUN_LATEST,
    Q_FIS_REF_GET,
    Q_FIS_STATS_GET,
    Q_FIS_MEMBER_CAMPAIGNS,
};

/* The tables among theirs whose every write notes the member it changed (dom_note), which
 * the group committer then touches: orders and refunds, points and tiers, the member's row,
 * identities, reachability and consents, coupons (each change comes with an event naming
 * its holder), guides' contacts, and a member's part in campaigns (plays, red envelopes,
 * invites, the referral graph and its counts, teams joined, assists started and helped). A
 * write to any other table the 360 reads (a store's or guide's name, a template, a
 * campaign's name, the settings) moves the epoch. */
static const char *const member_tables[] = {
    "orders",           "order_items",
    "refunds",          "points_ledger",
    "loyalty_accounts", "tier_history",
    "members",          "identities",
    "member_reach",     "member_consents",
    "coupons",          "coupon_events",
    "contacts",         "campaign_plays",
    "campaign_packets", "referral_invites",
    "referrals",        "referral_stats",
    "team_members",     "assists",
    "assist_helps",     NULL,
};

/* Writes to a table the 360 reads that change nothing it shows. The 360 shows of a coupon
 * template its name and kind, of a QR code its store, of a campaign its name and kind, of
 * a team only which campaign it is in, of an assist who started it when, of an invite who
 * sent it when, of a red envelope who grabbed it when: not a template's issued count, a
 * code's round-robin position, a campaign's spending, a team's seats and state, an
 * assist's progress, an invite's counts, a packet's points, nor a new campaign, packet or
 * staff member nobody has taken part in or been served by yet (a guide's name shows on the
 * 360s of the members they serve, and each of those is touched when it is assigned). */
static const store_query exempt[] = {
    Q_CTEMPLATE_TAKE,     Q_QR_SET_NEXT,
    Q_GAME_SPEND,         Q_GAME_INSERT,
    Q_GAME_PACKET_INSERT, Q_GAME_PACKET_POINTS,
    Q_FIS_TEAM_INSERT,    Q_FIS_TEAM_SEAT,
    Q_FIS_TEAM_CLOSE,     Q_FIS_ASSIST_CUT,
    Q_FIS_ASSIST_CLOSE,   Q_FIS_ASSISTS_EXPIRE,
    Q_FIS_INVITE_JOINED,  Q_FIS_INVITE_FIRST_ORDER,
    Q_STAFF_INSERT,
};

const store_query *member_cache_reads(size_t *n)
{
    *n = sizeof reads_360 / sizeof *reads_360;
    return reads_360;
}

static int env_int(const char *name, long lo, long hi, long dflt, long *out, siyu_err *e)
{
    const char *v = getenv(name);
    *out = dflt;
    if (!v || !*v) return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || x < lo || x > hi)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, name, "%s: expected %ld to %ld, got \"%s\"",
                            name, lo, hi, v);
    *out = x;
    return 0;
}

int member_cache_config(member_cache_mode *mode, size_t *max_bytes, int *poll_ms, siyu_err *e)
{
    const char *m = getenv("SIYU_MEMBER_CACHE");
    *mode = MEMBER_CACHE_ON;
    if (m && *m) {
        if (strcmp(m, "on") == 0)
            *mode = MEMBER_CACHE_ON;
        else if (strcmp(m, "off") == 0)
            *mode = MEMBER_CACHE_OFF;
        else if (strcmp(m, "verify") == 0)
            *mode = MEMBER_CACHE_VERIFY;
        else
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "SIYU_MEMBER_CACHE",
                                "SIYU_MEMBER_CACHE: expected on, off or verify, got \"%s\"", m);
    }
    long mib, ms;
    if (env_int("SIYU_MEMBER_CACHE_MIB", 1, 65536, 64, &mib, e) ||
        env_int("SIYU_MEMBER_CACHE_POLL_MS", 10, 10000, 100, &ms, e))
        return -1;
    *max_bytes = (size_t)mib << 20;
    *poll_ms = (int)ms;
    return 0;
}

/* Every poll_ms: has anyone else committed? (store_view_poll moves the epoch if so.) */
static void *poll_main(void *arg)
{
    member_cache *mc = arg;
    pthread_mutex_lock(&mc->stop_lock);
    while (!mc->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)mc->poll_ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&mc->stop_cond, &mc->stop_lock, &ts);
        if (mc->stop) break;
        pthread_mutex_unlock(&mc->stop_lock);
        siyu_err e;
        siyu_err_init(&e);
        if (store_view_poll(mc->conn, &e) < 0) {
            /* unsure whether anyone wrote: serve nothing kept until a poll succeeds */
            if (!atomic_exchange(&mc->blind, true))
                fprintf(stderr, "siyu: member cache: the change sequence cannot be read: %s\n",
                        e.message);
            atomic_fetch_add(&mc->poll_failures, 1);
            store_view_bump();
        } else if (atomic_exchange(&mc->blind, false)) {
            store_view_bump(); /* what was kept before the failure is not trusted */
        }
        siyu_err_clear(&e);
        pthread_mutex_lock(&mc->stop_lock);
    }
    pthread_mutex_unlock(&mc->stop_lock);
    return NULL;
}

member_cache *member_cache_open(store_t *st, member_cache_mode mode, size_t max_bytes, int poll_ms,
                                siyu_err *e)
{
    member_cache *mc = calloc(1, sizeof *mc);
    mc->mode = mode;
    mc->shard_cap = max_bytes / SHARDS;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_init(&mc->shards[i].lock, NULL);
        mc->shards[i].nbuckets = 256;
        mc->shards[i].buckets = calloc(256, sizeof(entry *));
    }
    pthread_mutex_init(&mc->stop_lock, NULL);
    pthread_cond_init(&mc->stop_cond, NULL);
    if (mode == MEMBER_CACHE_OFF) return mc;
    store_view_define(reads_360, sizeof reads_360 / sizeof *reads_360, member_tables, exempt,
                      sizeof exempt / sizeof *exempt);
    mc->st = st;
    mc->poll_ms = poll_ms > 0 ? poll_ms : 100;
    if (store_conn_open(st, &mc->conn, e)) {
        member_cache_close(mc);
        return NULL;
    }
    store_conn_no_faults(mc->conn);
    if (pthread_create(&mc->thread, NULL, poll_main, mc)) {
        siyu_err_set(e, SIYU_INTERNAL, NULL, "member cache: cannot start its poll thread");
        member_cache_close(mc);
        return NULL;
    }
    mc->running = true;
    return mc;
}

void member_cache_close(member_cache *mc)
{
    if (!mc) return;
    if (mc->running) {
        pthread_mutex_lock(&mc->stop_lock);
        mc->stop = true;
        pthread_cond_signal(&mc->stop_cond);
        pthread_mutex_unlock(&mc->stop_lock);
        pthread_join(mc->thread, NULL);
    }
    if (mc->conn) store_conn_close(mc->conn);
    for (int i = 0; i < SHARDS; i++) {
        shard *s = &mc->shards[i];
        for (entry *x = s->head, *next; x; x = next) {
            next = x->next;
            free(x);
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->lock);
    }
    pthread_mutex_destroy(&mc->stop_lock);
    pthread_cond_destroy(&mc->stop_cond);
    free(mc);
}

member_cache_mode member_cache_mode_of(const member_cache *mc)
{
    return mc ? mc->mode : MEMBER_CACHE_OFF;
}

void member_cache_ticket_take(member_cache_ticket *t, int64_t now)
{
    /* both before the render's snapshot: a commit after them moves one or the other */
    t->epoch = store_view_epoch();
    t->clock = store_view_clock();
    t->now = now;
}

static uint64_t key_hash(int64_t member, int role)
{
    uint64_t x = ((uint64_t)member << 4 ^ (uint64_t)role) * 0x9E3779B97F4A7C15ull;
    return x ^ (x >> 29);
}

static shard *shard_of(member_cache *mc, uint64_t h)
{
    return &mc->shards[h & (SHARDS - 1)];
}

static entry **slot(shard *s, uint64_t h, int64_t member, int role)
{
    entry **p = &s->buckets[(h >> 6) & (s->nbuckets - 1)];
    while (*p && !((*p)->member == member && (*p)->role == role))
        p = &(*p)->hnext;
    return p;
}

static void list_unlink(shard *s, entry *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        s->head = x->next;
    if (x->next)
        x->next->prev = x->prev;
    else
        s->tail = x->prev;
    x->prev = x->next = NULL;
}

static void list_push(shard *s, entry *x)
{
    x->next = s->head;
    x->prev = NULL;
    if (s->head) s->head->prev = x;
    s->head = x;
    if (!s->tail) s->tail = x;
}

static void drop(shard *s, entry **p)
{
    entry *x = *p;
    *p = x->hnext;
    list_unlink(s, x);
    s->n--;
    s->bytes -= sizeof *x + x->len;
    free(x);
}

static bool holds(const entry *x, int64_t now)
{
    return x->epoch == store_view_epoch() && !store_view_touched_since(x->member, x->clock) &&
           now >= x->rendered_at && (!x->until || now < x->until) &&
           time_local_day(now) == time_local_day(x->rendered_at);
}

bool member_cache_get(member_cache *mc, int64_t member, int role, int64_t now, char **body,
                      size_t *len, int64_t *store_id, int64_t *guide_id)
{
    if (!mc || mc->mode == MEMBER_CACHE_OFF) return false;
    if (atomic_load(&mc->blind)) {
        atomic_fetch_add(&mc->misses, 1);
        return false;
    }
    uint64_t h = key_hash(member, role);
    shard *s = shard_of(mc, h);
    bool hit = false;
    pthread_mutex_lock(&s->lock);
    entry **p = slot(s, h, member, role);
    if (*p && !holds(*p, now)) {
        drop(s, p); /* *p is the chain's next entry now: another member's */
    } else if (*p) {
        entry *x = *p;
        *body = malloc(x->len + 1);
        memcpy(*body, x->body, x->len + 1);
        *len = x->len;
        *store_id = x->store_id;
        *guide_id = x->guide_id;
        list_unlink(s, x);
        list_push(s, x);
        hit = true;
    }
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add(hit ? &mc->hits : &mc->misses, 1);
    return hit;
}

static void grow(shard *s)
{
    size_t n = s->nbuckets * 2;
    entry **b = calloc(n, sizeof *b);
    if (!b) return; /* longer chains, still correct */
    for (size_t i = 0; i < s->nbuckets; i++)
        for (entry *x = s->buckets[i], *next; x; x = next) {
            next = x->hnext;
            entry **to = &b[(key_hash(x->member, x->role) >> 6) & (n - 1)];
            x->hnext = *to;
            *to = x;
        }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
}

void member_cache_put(member_cache *mc, int64_t member, int role, const member_cache_ticket *t,
                      const char *body, size_t len, int64_t store_id, int64_t guide_id,
                      int64_t until)
{
    if (!mc || mc->mode == MEMBER_CACHE_OFF || sizeof(entry) + len > mc->shard_cap / 4) return;
    entry *x = malloc(sizeof *x + len + 1);
    if (!x) return;
    *x = (entry){.member = member,
                 .store_id = store_id,
                 .guide_id = guide_id,
                 .rendered_at = t->now,
                 .until = until,
                 .epoch = t->epoch,
                 .clock = t->clock,
                 .role = role,
                 .len = len};
    memcpy(x->body, body, len);
    x->body[len] = 0;
    uint64_t h = key_hash(member, role);
    shard *s = shard_of(mc, h);
    pthread_mutex_lock(&s->lock);
    /* something it read moved while it was rendered: it may be stale already */
    if (!holds(x, t->now) || atomic_load(&mc->blind)) {
        pthread_mutex_unlock(&s->lock);
        free(x);
        return;
    }
    entry **p = slot(s, h, member, role);
    if (*p) drop(s, p);
    if (s->n >= s->nbuckets) {
        grow(s);
        p = slot(s, h, member, role);
    }
    x->hnext = *p;
    *p = x;
    list_push(s, x);
    s->n++;
    s->bytes += sizeof *x + len;
    while (s->bytes > mc->shard_cap && s->tail && s->tail != x) {
        entry *old = s->tail;
        drop(s, slot(s, key_hash(old->member, old->role), old->member, old->role));
    }
    pthread_mutex_unlock(&s->lock);
}

void member_cache_stale(member_cache *mc, int64_t member, const char *kept, size_t kept_len,
                        const char *fresh, size_t fresh_len)
{
    if (!mc) return;
    atomic_fetch_add(&mc->stale, 1);
    size_t at = 0; /* where they part, shown with what comes before and after */
    while (at < kept_len && at < fresh_len && kept[at] == fresh[at])
        at++;
    size_t from = at > 60 ? at - 60 : 0;
    fprintf(stderr,
            "siyu: member cache: the kept 360 of member %lld was stale at byte %zu:\n"
            "  kept:  %.160s\n  fresh: %.160s\n",
            (long long)member, at, kept + from, fresh + from);
}

void member_cache_get_stats(member_cache *mc, member_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!mc) return;
    out->hits = atomic_load(&mc->hits);
    out->misses = atomic_load(&mc->misses);
    out->stale = atomic_load(&mc->stale);
    out->poll_failures = atomic_load(&mc->poll_failures);
    for (int i = 0; i < SHARDS; i++) {
        shard *s = &mc->shards[i];
        pthread_mutex_lock(&s->lock);
        out->entries += s->n;
        out->bytes += s->bytes;
        pthread_mutex_unlock(&s->lock);
    }
}
