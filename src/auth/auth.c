#include "auth/auth.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "base/timeutil.h"

static const struct {
    role r;
    const char *name;
} role_names[] = {
    {ROLE_ADMIN, "admin"}, {ROLE_OPERATOR, "operator"}, {ROLE_STORE_MANAGER, "store_manager"},
    {ROLE_GUIDE, "guide"}, {ROLE_CASHIER, "cashier"},
};

const char *role_name(role r)
{
    for (size_t i = 0; i < sizeof role_names / sizeof *role_names; i++)
        if (role_names[i].r == r) return role_names[i].name;
    return "none";
}

role role_parse(const char *s)
{
    for (size_t i = 0; s && i < sizeof role_names / sizeof *role_names; i++)
        if (strcmp(role_names[i].name, s) == 0) return role_names[i].r;
    return ROLE_NONE;
}

static void token_hash(const char *token, unsigned char h[crypto_hash_sha256_BYTES])
{
    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
}

int auth_token_create(store_conn *c, role r, int64_t staff_id, const char *name, int64_t now,
                      char *out, siyu_err *e)
{
    auth_token_spec spec = {.role = r, .staff_id = staff_id, .name = name};
    return auth_token_issue(c, &spec, now, out, NULL, e);
}

int auth_token_issue(store_conn *c, const auth_token_spec *spec, int64_t now, char *out,
                     int64_t *id_out, siyu_err *e)
{
    role r = spec->role;
    if (sodium_init() < 0)
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "libsodium failed to initialise");
    if (r == ROLE_NONE)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "role",
                            "role: expected one of admin, operator, store_manager, guide, cashier");
    if ((r == ROLE_STORE_MANAGER || r == ROLE_GUIDE) && spec->staff_id <= 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "staff",
                            "staff: a %s token must belong to a staff member", role_name(r));
    if (r == ROLE_CASHIER) {
        if (spec->staff_id > 0)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "staff",
                                "staff: a cashier token belongs to a store, not to a staff member");
        if (spec->store_id <= 0)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "store",
                                "store: a cashier token must belong to a store");
        store_stmt *s = store_q(c, Q_SCOPE_STORE);
        store_bind_int(s, 1, spec->store_id);
        int found = store_step(s) == STORE_ROW;
        store_reset(s);
        if (!found)
            return siyu_err_set(e, SIYU_NOT_FOUND, "store", "store: %lld does not exist",
                                (long long)spec->store_id);
    } else if (spec->store_id > 0) {
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "store",
                            "store: only a cashier token is bound to a store (a %s token takes "
                            "its staff member's store)",
                            role_name(r));
    }
    if (spec->expires_at && spec->expires_at <= now)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "expires_at",
                            "expires_at: must lie in the future");
    if (spec->staff_id > 0) {
        store_stmt *s = store_q(c, Q_STAFF_GET);
        store_bind_int(s, 1, spec->staff_id);
        if (store_step(s) != STORE_ROW) {
            store_reset(s);
            return siyu_err_set(e, SIYU_NOT_FOUND, "staff", "staff: %lld does not exist",
                                (long long)spec->staff_id);
        }
        char staff_role[32];
        snprintf(staff_role, sizeof staff_role, "%s", store_col_text(s, 2));
        store_reset(s);
        /* a token is never more than its staff member: a guide's token is a guide's */
        if (strcmp(staff_role, role_name(r)) != 0)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "role",
                                "role: staff %lld is a %s, not a %s", (long long)spec->staff_id,
                                staff_role, role_name(r));
    }
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    memcpy(out, "sy_", 3);
    sodium_bin2hex(out + 3, 65, raw, sizeof raw);
    unsigned char h[crypto_hash_sha256_BYTES];
    token_hash(out, h);
    store_stmt *s = store_q(c, Q_TOKEN_INSERT2);
    store_bind_blob(s, 1, h, sizeof h);
    store_bind_text(s, 2, role_name(r));
    if (spec->staff_id > 0) store_bind_int(s, 3, spec->staff_id);
    store_bind_text(s, 4, spec->name);
    store_bind_int(s, 5, now);
    if (spec->store_id > 0) store_bind_int(s, 6, spec->store_id);
    if (spec->expires_at) store_bind_int(s, 7, spec->expires_at);
    if (store_exec(s, e)) return -1;
    if (id_out) *id_out = store_last_id(c);
    return 0;
}

/* How often a token's last use is written down: at most once a minute. */
#define AUTH_TOUCH_EVERY 60

int auth_resolve(store_conn *c, const char *token, principal *p, siyu_err *e)
{
    return auth_resolve_at(c, token, clock_now(), p, e);
}

/* A presented token's SHA-256, or unauthenticated when it is not shaped as one. */
static int token_digest(const char *token, unsigned char h[crypto_hash_sha256_BYTES], siyu_err *e)
{
    if (!token || strncmp(token, "sy_", 3) != 0 || strlen(token) != AUTH_TOKEN_LEN)
        return siyu_err_set(e, SIYU_UNAUTHENTICATED, NULL, "a valid bearer token is required");
    token_hash(token, h);
    return 0;
}

/* The token's row, resolved at now; *expires and *used (0 for none) as stored. */
static int resolve_hash(store_conn *c, const unsigned char h[crypto_hash_sha256_BYTES], int64_t now,
                        principal *p, int64_t *expires_out, int64_t *used_out, siyu_err *e);

int auth_resolve_at(store_conn *c, const char *token, int64_t now, principal *p, siyu_err *e)
{
    memset(p, 0, sizeof *p);
    unsigned char h[crypto_hash_sha256_BYTES];
    if (token_digest(token, h, e)) return -1;
    int64_t expires, used;
    return resolve_hash(c, h, now, p, &expires, &used, e);
}

static int resolve_hash(store_conn *c, const unsigned char h[crypto_hash_sha256_BYTES], int64_t now,
                        principal *p, int64_t *expires_out, int64_t *used_out, siyu_err *e)
{
    memset(p, 0, sizeof *p);
    store_stmt *s = store_q(c, Q_TOKEN_RESOLVE);
    store_bind_blob(s, 1, h, crypto_hash_sha256_BYTES);
    int n = 0;
    const void *stored = NULL;
    if (store_step(s) == STORE_ROW) stored = store_col_blob(s, 1, &n);
    if (!stored || n != (int)crypto_hash_sha256_BYTES ||
        sodium_memcmp(stored, h, crypto_hash_sha256_BYTES) != 0) {
        store_reset(s);
        return siyu_err_set(e, SIYU_UNAUTHENTICATED, NULL, "a valid bearer token is required");
    }
    p->token_id = store_col_int(s, 0);
    p->role = role_parse(store_col_text(s, 2));
    p->staff_id = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
    p->store_id = store_col_null(s, 4) ? 0 : store_col_int(s, 4);
    int64_t expires = store_col_null(s, 5) ? 0 : store_col_int(s, 5);
    bool revoked = !store_col_null(s, 6);
    int64_t used = store_col_null(s, 7) ? 0 : store_col_int(s, 7);
    bool role_ok = p->staff_id == 0 ||
                   (!store_col_null(s, 8) && strcmp(store_col_text(s, 8), role_name(p->role)) == 0);
    store_reset(s);
    const char *why = NULL;
    if (p->role == ROLE_NONE)
        why = "token has an unknown role";
    else if (revoked)
        why = "token: revoked";
    else if (expires && now >= expires)
        why = "token: expired";
    else if (!role_ok)
        why = "token: its role is no longer its staff member's role";
    else if (p->role == ROLE_CASHIER && !p->store_id)
        why = "token: a cashier token without a store";
    if (why) {
        memset(p, 0, sizeof *p);
        return siyu_err_set(e, SIYU_UNAUTHENTICATED, NULL, "%s", why);
    }
    p->touch = used == 0 || now - used >= AUTH_TOUCH_EVERY || now < used;
    *expires_out = expires;
    *used_out = used;
    return 0;
}

/* ---- the cache of resolved tokens ----
 * Direct-mapped by the token's hash (already uniform), a lock per slot: the request path
 * takes one uncontended mutex for as long as it copies the entry. Two tokens that share a
 * slot take turns in it; a miss costs what a lookup costs without the cache. */
#define AUTH_CACHE_SLOTS 4096

typedef struct cached_token {
    pthread_mutex_t lock;
    bool live;
    unsigned char hash[crypto_hash_sha256_BYTES];
    principal who; /* touch unset: decided at each use from used */
    int64_t expires, used;
    uint64_t epoch;    /* store_auth_epoch() before the row was read */
    int64_t loaded_ms; /* monotonic */
} cached_token;

static cached_token cache[AUTH_CACHE_SLOTS];
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t cache_hits, cache_misses;

static void cache_init(void)
{
    for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++)
        pthread_mutex_init(&cache[i].lock, NULL);
}

void auth_cache_counts(uint64_t *hits, uint64_t *misses)
{
    *hits = atomic_load(&cache_hits);
    *misses = atomic_load(&cache_misses);
}

void auth_cache_touched(const principal *p, int64_t now)
{
    if (p->cache_slot < 1 || p->cache_slot > AUTH_CACHE_SLOTS || !p->token_id) return;
    cached_token *t = &cache[p->cache_slot - 1];
    pthread_mutex_lock(&t->lock);
    if (t->live && t->who.token_id == p->token_id) t->used = now; /* what the store holds */
    pthread_mutex_unlock(&t->lock);
}

int auth_resolve_cached(store_conn *c, const char *token, int64_t now, principal *p, siyu_err *e)
{
    memset(p, 0, sizeof *p);
    unsigned char h[crypto_hash_sha256_BYTES];
    if (token_digest(token, h, e)) return -1;
    pthread_once(&cache_once, cache_init);
    uint64_t slot_key;
    memcpy(&slot_key, h, sizeof slot_key);
    cached_token *t = &cache[slot_key % AUTH_CACHE_SLOTS];
    uint64_t epoch = store_auth_epoch();
    int64_t ms = (int64_t)(clock_mono_ns() / 1000000);
    pthread_mutex_lock(&t->lock);
    if (t->live && t->epoch == epoch && ms - t->loaded_ms < AUTH_CACHE_MS &&
        !(t->expires && now >= t->expires) && sodium_memcmp(t->hash, h, sizeof h) == 0) {
        *p = t->who;
        /* decided from the last use written down, never from one only decided: the request
         * that decided may yet fail without writing it (auth_cache_touched) */
        p->touch = t->used == 0 || now - t->used >= AUTH_TOUCH_EVERY || now < t->used;
        pthread_mutex_unlock(&t->lock);
        atomic_fetch_add(&cache_hits, 1);
        return 0;
    }
    pthread_mutex_unlock(&t->lock);
    atomic_fetch_add(&cache_misses, 1);
    int64_t expires, used;
    /* the epoch is read before the row: a write committing between the two leaves the
     * entry older than the epoch, and the next use reads the store again. That holds if
     * the row is read as committed now: never from a snapshot older than the epoch read —
     * a statement left running on the connection (store_read_latest ends it), or a
     * transaction the caller holds (its row answers this check, and is not kept). */
    bool keep = !store_in_tx(c);
    if (keep) store_read_latest(c);
    if (resolve_hash(c, h, now, p, &expires, &used, e)) return -1;
    if (store_conn_failed(c) || !keep) return 0; /* a failed read: the caller reports it */
    pthread_mutex_lock(&t->lock);
    t->live = true;
    memcpy(t->hash, h, sizeof h);
    p->cache_slot = (int)(t - cache) + 1;
    t->who = *p;
    t->who.touch = false;
    t->expires = expires;
    t->used = used; /* as stored: a use counts once written (auth_cache_touched) */
    t->epoch = epoch;
    t->loaded_ms = ms;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

int auth_touch(store_conn *c, const principal *p, int64_t now, siyu_err *e)
{
    if (!p->token_id) return 0;
    store_stmt *s = store_q(c, Q_TOKEN_TOUCH);
    store_bind_int(s, 1, now);
    store_bind_int(s, 2, p->token_id);
    return store_exec(s, e);
}

static json_t *opt_time(store_stmt *s, int col)
{
    if (store_col_null(s, col)) return json_null();
    char buf[40];
    time_format_rfc3339(store_col_int(s, col), buf, sizeof buf);
    return json_string(buf);
}

static json_t *token_row(store_stmt *s, int64_t now)
{
    const char *state = "active";
    if (!store_col_null(s, 7))
        state = "revoked";
    else if (!store_col_null(s, 6) && now >= store_col_int(s, 6))
        state = "expired";
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(store_col_int(s, 0)));
    json_object_set_new(o, "role", json_string(store_col_text(s, 1)));
    json_object_set_new(o, "staff_id",
                        store_col_null(s, 2) ? json_null() : json_integer(store_col_int(s, 2)));
    json_object_set_new(o, "store_id",
                        store_col_null(s, 3) ? json_null() : json_integer(store_col_int(s, 3)));
    json_object_set_new(o, "name",
                        store_col_null(s, 4) ? json_null() : json_string(store_col_text(s, 4)));
    json_object_set_new(o, "created_at", opt_time(s, 5));
    json_object_set_new(o, "expires_at", opt_time(s, 6));
    json_object_set_new(o, "revoked_at", opt_time(s, 7));
    json_object_set_new(o, "last_used_at", opt_time(s, 8));
    json_object_set_new(o, "state", json_string(state));
    return o;
}

int auth_token_list(store_conn *c, int64_t cursor, int limit, int64_t now, json_t **out,
                    siyu_err *e)
{
    json_t *items = json_array();
    int64_t last = 0;
    int n = 0;
    store_stmt *s = store_q(c, Q_TOKEN_LIST);
    store_bind_int(s, 1, cursor);
    store_bind_int(s, 2, limit);
    while (store_step(s) == STORE_ROW) {
        last = store_col_int(s, 0);
        n++;
        json_array_append_new(items, token_row(s, now));
    }
    store_reset(s);
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    if (n == limit) {
        char b[24];
        snprintf(b, sizeof b, "%lld", (long long)last);
        json_object_set_new(o, "next_cursor", json_string(b));
    } else {
        json_object_set_new(o, "next_cursor", json_null());
    }
    *out = o;
    return 200;
}

int auth_token_revoke(store_conn *c, int64_t id, int64_t now, json_t **out, siyu_err *e)
{
    store_stmt *s = store_q(c, Q_TOKEN_REVOKE);
    store_bind_int(s, 1, now);
    store_bind_int(s, 2, id);
    if (store_exec(s, e)) return -1;
    s = store_q(c, Q_TOKEN_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "token %lld not found", (long long)id);
    }
    if (out) *out = token_row(s, now);
    store_reset(s);
    return 200;
}

void auth_caller_key(const principal *p, char *buf, size_t cap)
{
    if (p->staff_id)
        snprintf(buf, cap, "staff:%lld", (long long)p->staff_id);
    else
        snprintf(buf, cap, "token:%lld", (long long)p->token_id);
}
