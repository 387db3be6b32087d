/* auth.h — who is calling, and what they may touch.
 *
 * A token is 32 random bytes shown once as "sy_" + hex; the store keeps only its
 * SHA-256. Lookup is by hash (an index), then the stored hash is compared in constant
 * time, so timing reveals nothing about other tokens. A principal is the resolved
 * caller: a role plus, for staff, their id and store (the scope of what they see). */
#ifndef SIYU_AUTH_AUTH_H
#define SIYU_AUTH_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "store/store.h"

typedef enum role {
    ROLE_NONE = 0,
    ROLE_ADMIN = 1 << 0,
    ROLE_OPERATOR = 1 << 1,
    ROLE_STORE_MANAGER = 1 << 2,
    ROLE_GUIDE = 1 << 3,
} role;

#define ROLES_ALL (ROLE_ADMIN | ROLE_OPERATOR | ROLE_STORE_MANAGER | ROLE_GUIDE)
#define ROLES_HQ (ROLE_ADMIN | ROLE_OPERATOR)

typedef struct principal {
    role role;
    int64_t staff_id; /* 0 when the token belongs to no staff member */
    int64_t store_id; /* the staff member's store, 0 if none */
} principal;

const char *role_name(role r);
role role_parse(const char *s); /* ROLE_NONE if unknown */

#define AUTH_TOKEN_LEN 67 /* "sy_" + 64 hex */

/* Creates a token for role (and staff, 0 for none) inside the caller's transaction;
 * writes the plaintext into out (>= AUTH_TOKEN_LEN + 1). Staff-bound roles need a
 * staff member of the matching role. */
int auth_token_create(store_conn *c, role r, int64_t staff_id, const char *name, int64_t now,
                      char *out, siyu_err *e);

/* Resolves a bearer token; unauthenticated when unknown or malformed. */
int auth_resolve(store_conn *c, const char *token, principal *p, siyu_err *e);

#endif
