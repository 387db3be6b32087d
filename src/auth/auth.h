/* auth.h — who is calling, and what they may touch.
 *
 * A token is 32 random bytes shown once as "sy_" + hex; the store keeps only its
 * SHA-256. Lookup is by hash (an index), then the stored hash is compared in constant
 * time, so timing reveals nothing about other tokens. A principal is the resolved
 * caller: a role plus, for staff, their id and store (the scope of what they see). */
#ifndef SIYU_AUTH_AUTH_H
#define SIYU_AUTH_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "store/store.h"

typedef enum role {
    ROLE_NONE = 0,
    ROLE_ADMIN = 1 << 0,
    ROLE_OPERATOR = 1 << 1,
    ROLE_STORE_MANAGER = 1 << 2,
    ROLE_GUIDE = 1 << 3,
    ROLE_CASHIER = 1 << 4, /* a till: bound to a store, not to a staff member */
} role;

/* Every staff role; the cashier is named where a route admits it (a till does little). */
#define ROLES_ALL (ROLE_ADMIN | ROLE_OPERATOR | ROLE_STORE_MANAGER | ROLE_GUIDE)
#define ROLES_HQ (ROLE_ADMIN | ROLE_OPERATOR)

typedef struct principal {
    role role;
    int64_t staff_id;   /* 0 when the token belongs to no staff member */
    int64_t store_id;   /* the staff member's store (a cashier: the till's), 0 if none */
    int64_t token_id;   /* the token the caller presented, 0 for none (CLI, import) */
    int64_t session_id; /* the console session the caller signed in with, 0 for none */
    bool touch;         /* its last-used time is over a minute old: record the use */
    int cache_slot;     /* 1 + its entry in the cache of resolved tokens, 0 for none */
} principal;

const char *role_name(role r);
role role_parse(const char *s); /* ROLE_NONE if unknown */

#define AUTH_TOKEN_LEN 67 /* "sy_" + 64 hex */

/* Creates a token for role (and staff, 0 for none) inside the caller's transaction;
 * writes the plaintext into out (>= AUTH_TOKEN_LEN + 1). Staff-bound roles need a
 * staff member of the matching role. */
int auth_token_create(store_conn *c, role r, int64_t staff_id, const char *name, int64_t now,
                      char *out, siyu_err *e);

/* What a new token is: its role; the staff member it belongs to (store managers and
 * guides need one, and a token's role always equals its staff member's role); the
 * store of a cashier (required for a cashier, refused for every other role); an
 * optional expiry (Unix seconds, 0 for none; must lie in the future). */
typedef struct auth_token_spec {
    role role;
    int64_t staff_id, store_id, expires_at;
    const char *name;
} auth_token_spec;
/* As auth_token_create, with a spec; *id_out (may be NULL) gets the token's id. */
int auth_token_issue(store_conn *c, const auth_token_spec *spec, int64_t now, char *out,
                     int64_t *id_out, siyu_err *e);

/* Resolves a bearer token at `now`; unauthenticated when unknown, malformed, revoked,
 * expired, or when its staff member's role no longer is the token's. */
int auth_resolve_at(store_conn *c, const char *token, int64_t now, principal *p, siyu_err *e);
int auth_resolve(store_conn *c, const char *token, principal *p, siyu_err *e);

/* As auth_resolve_at, through a cache of the tokens resolved lately, so a request's token
 * check mostly reads no store (the server's path). An entry is what the store said of a
 * valid token: it serves while no write to tokens or staff has committed in this process
 * since it was read (store_auth_epoch) and for at most AUTH_CACHE_MS after, which bounds how
 * late a revocation made by another process (the CLI, another node) is seen; expiry is
 * checked on every use. A refused token is never kept: it is looked up each time. */
#define AUTH_CACHE_MS 1000
int auth_resolve_cached(store_conn *c, const char *token, int64_t now, principal *p, siyu_err *e);
/* The use of p's token at now was committed (its touch): the cache's entry learns it, so
 * the next minute's requests write no other. Only a committed use counts: a request that
 * decided to touch and then failed (a 403, a 400, a write undone) wrote nothing, and the
 * next request must touch again. */
void auth_cache_touched(const principal *p, int64_t now);
/* Lookups the cache answered, and those that went to the store (for /metrics). */
void auth_cache_counts(uint64_t *hits, uint64_t *misses);

/* Records that the principal's token was used at now (inside a write transaction). */
int auth_touch(store_conn *c, const principal *p, int64_t now, siyu_err *e);

/* The tokens (never their secret): {items, next_cursor}, each {id, role, staff_id,
 * store_id, name, created_at, expires_at, revoked_at, last_used_at, state}. */
int auth_token_list(store_conn *c, int64_t cursor, int limit, int64_t now, json_t **out,
                    siyu_err *e);
/* Revokes a token (inside a write transaction); not_found when there is none. Revoking
 * twice answers the token as it is. *out (may be NULL) gets the token. */
int auth_token_revoke(store_conn *c, int64_t id, int64_t now, json_t **out, siyu_err *e);

/* The caller an Idempotency-Key belongs to: "staff:ID" for a staff member's tokens,
 * "token:ID" for a token without one (admin scripts, tills). */
void auth_caller_key(const principal *p, char *buf, size_t cap);

#endif
