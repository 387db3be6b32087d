#include "auth/auth.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const struct {
    role r;
    const char *name;
} role_names[] = {
    {ROLE_ADMIN, "admin"},
    {ROLE_OPERATOR, "operator"},
    {ROLE_STORE_MANAGER, "store_manager"},
    {ROLE_GUIDE, "guide"},
};

const char *role_name(role r)
{
    for (size_t i = 0; i < sizeof role_names / sizeof *role_names; i++)
        if (role_names[i].r == r)
            return role_names[i].name;
    return "none";
}

role role_parse(const char *s)
{
    for (size_t i = 0; s && i < sizeof role_names / sizeof *role_names; i++)
        if (strcmp(role_names[i].name, s) == 0)
            return role_names[i].r;
    return ROLE_NONE;
}

static void token_hash(const char *token, unsigned char h[crypto_hash_sha256_BYTES])
{
    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
}

int auth_token_create(store_conn *c, role r, int64_t staff_id, const char *name, int64_t now,
                      char *out, siyu_err *e)
{
    if (sodium_init() < 0)
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "libsodium failed to initialise");
    if (r == ROLE_NONE)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "role",
                            "role: expected one of admin, operator, store_manager, guide");
    if (r == ROLE_STORE_MANAGER || r == ROLE_GUIDE) {
        if (staff_id <= 0)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "staff",
                                "staff: a %s token must belong to a staff member", role_name(r));
    }
    if (staff_id > 0) {
        store_stmt *s = store_q(c, Q_STAFF_GET);
        store_bind_int(s, 1, staff_id);
        if (store_step(s) != STORE_ROW)
            return siyu_err_set(e, SIYU_NOT_FOUND, "staff", "staff: %lld does not exist",
                                (long long)staff_id);
        const char *staff_role = store_col_text(s, 2);
        if ((r == ROLE_STORE_MANAGER || r == ROLE_GUIDE) && strcmp(staff_role, role_name(r)) != 0)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "role",
                                "role: staff %lld is a %s, not a %s", (long long)staff_id,
                                staff_role, role_name(r));
    }
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    memcpy(out, "sy_", 3);
    sodium_bin2hex(out + 3, 65, raw, sizeof raw);
    unsigned char h[crypto_hash_sha256_BYTES];
    token_hash(out, h);
    store_stmt *s = store_q(c, Q_TOKEN_INSERT);
    store_bind_blob(s, 1, h, sizeof h);
    store_bind_text(s, 2, role_name(r));
    if (staff_id > 0)
        store_bind_int(s, 3, staff_id);
    store_bind_text(s, 4, name);
    store_bind_int(s, 5, now);
    return store_exec(s, e);
}

int auth_resolve(store_conn *c, const char *token, principal *p, siyu_err *e)
{
    memset(p, 0, sizeof *p);
    if (!token || strncmp(token, "sy_", 3) != 0 || strlen(token) != AUTH_TOKEN_LEN)
        return siyu_err_set(e, SIYU_UNAUTHENTICATED, NULL, "a valid bearer token is required");
    unsigned char h[crypto_hash_sha256_BYTES];
    token_hash(token, h);
    store_stmt *s = store_q(c, Q_TOKEN_BY_HASH);
    store_bind_blob(s, 1, h, sizeof h);
    int n = 0;
    const void *stored = NULL;
    if (store_step(s) == STORE_ROW)
        stored = store_col_blob(s, 1, &n);
    if (!stored || n != (int)sizeof h || sodium_memcmp(stored, h, sizeof h) != 0) {
        store_step(s); /* finish the statement */
        return siyu_err_set(e, SIYU_UNAUTHENTICATED, NULL, "a valid bearer token is required");
    }
    p->role = role_parse(store_col_text(s, 2));
    p->staff_id = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
    p->store_id = store_col_null(s, 4) ? 0 : store_col_int(s, 4);
    store_step(s);
    if (p->role == ROLE_NONE)
        return siyu_err_set(e, SIYU_UNAUTHENTICATED, NULL, "token has an unknown role");
    return 0;
}
