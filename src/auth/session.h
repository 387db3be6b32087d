/* session.h — staff sign-in for the console: logins, sessions, lock-out.
 *
 * A staff member may have one login: a username and an argon2id hash of the password
 * (libsodium's crypto_pwhash_str). Signing in opens a session: 32 random bytes sent as
 * an HttpOnly cookie, kept as SHA-256 like a token, with a CSRF token every write must
 * carry back in a header. A session authenticates as its staff member, with their role
 * and store as they are now, so the route table's roles and scope rules apply as they
 * do to a token. Repeated failures lock a login for a while. Setting, resetting or
 * removing a login ends the staff member's sessions. */
#ifndef SIYU_AUTH_SESSION_H
#define SIYU_AUTH_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "base/error.h"
#include "store/store.h"

#define AUTH_LOCK_FAILURES 5             /* failures in a row that lock a login */
#define AUTH_LOCK_SECONDS (15 * 60)      /* how long it stays locked */
#define AUTH_SESSION_SECONDS (12 * 3600) /* a session's life from sign-in */
#define AUTH_SESSION_COOKIE "siyu_session"
#define AUTH_CSRF_HEADER "X-CSRF-Token"
#define AUTH_SESSION_LEN 67 /* "ss_" + 64 hex */
#define AUTH_CSRF_LEN 64
#define AUTH_PWHASH_LEN 128 /* crypto_pwhash_STRBYTES */

/* Checks a username (3 to 64 of letters, digits, . _ - @) and a password (8 to 256
 * bytes); fills e naming the field. */
int auth_login_check(const char *username, const char *password, siyu_err *e);
/* The argon2id hash of a password (slow on purpose: tens of milliseconds, 64 MiB). */
int auth_password_hash(const char *password, char out[AUTH_PWHASH_LEN], siyu_err *e);
/* Is password the one hashed? Constant time in the password; as slow as hashing. At most
 * two run at once in a process, so a burst of sign-ins costs bounded memory. */
bool auth_password_verify(const char *hash, const char *password);

/* Sets or resets a staff member's login (inside a write transaction) with a hash made
 * by auth_password_hash; ends their sessions. not_found without the staff member,
 * conflict when another staff member has the username. *out: {staff_id, username,
 * updated_at}. */
int auth_login_store(store_conn *c, int64_t staff_id, const char *username, const char *hash,
                     int64_t now, json_t **out, siyu_err *e);
/* Removes a login and ends the staff member's sessions (when they leave). */
int auth_login_remove(store_conn *c, int64_t staff_id, int64_t now, siyu_err *e);

/* A sign-in, in two steps: the login is read (in any transaction) and the password
 * checked with no transaction open, then the outcome is written (auth_signin_finish,
 * inside a write transaction) — a failure counted, or a session opened. */
typedef struct auth_signin {
    int64_t staff_id; /* 0: no such username */
    char hash[AUTH_PWHASH_LEN];
    int64_t locked_until; /* 0 when not locked */
    bool ok;              /* the password matched (set by the caller from verify) */
} auth_signin;
int auth_signin_lookup(store_conn *c, const char *username, int64_t now, auth_signin *s,
                       siyu_err *e);
/* On success fills cookie (AUTH_SESSION_LEN + 1) and csrf (AUTH_CSRF_LEN + 1), returns 201;
 * on a wrong password counts the failure and returns 401 (e set: the caller answers it
 * and commits the count); a locked login returns 429. */
int auth_signin_finish(store_conn *c, const auth_signin *s, int64_t now, char *cookie, char *csrf,
                       int64_t *expires_at, siyu_err *e);

/* Resolves a session cookie at now into the principal (role and store as the staff
 * member's now). When csrf_needed, csrf must equal the session's CSRF token, else
 * permission_denied. Unauthenticated when unknown, expired or signed out. */
int auth_session_resolve(store_conn *c, const char *cookie, bool csrf_needed, const char *csrf,
                         int64_t now, principal *p, siyu_err *e);
/* Who is signed in: {staff_id, name, role, store_id, username, via, session: {csrf_token,
 * created_at, expires_at} or null}. */
int auth_session_describe(store_conn *c, const principal *p, json_t **out, siyu_err *e);
/* Signs a session out (inside a write transaction). */
int auth_session_end(store_conn *c, int64_t session_id, int64_t now, siyu_err *e);

#endif
