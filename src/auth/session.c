/* session.c — staff logins, sign-in with lock-out, and console sessions (session.h). */
#include "auth/session.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/timeutil.h"

int auth_login_check(const char *username, const char *password, siyu_err *e)
{
    size_t n = username ? strlen(username) : 0;
    if (n < 3 || n > 64)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "username",
                            "username: 3 to 64 characters of letters, digits, . _ - @");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)username[i];
        if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-' && ch != '@')
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "username",
                                "username: 3 to 64 characters of letters, digits, . _ - @");
    }
    size_t p = password ? strlen(password) : 0;
    if (p < 8 || p > 256)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "password", "password: 8 to 256 bytes");
    return 0;
}

int auth_password_hash(const char *password, char out[AUTH_PWHASH_LEN], siyu_err *e)
{
    if (sodium_init() < 0 ||
        crypto_pwhash_str_alg(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "password: hashing failed (out of memory)");
    return 0;
}

/* At most two verifications at once: each takes 64 MiB for tens of milliseconds. */
static pthread_mutex_t verify_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t verify_cond = PTHREAD_COND_INITIALIZER;
static int verify_running;

bool auth_password_verify(const char *hash, const char *password)
{
    if (sodium_init() < 0) return false;
    pthread_mutex_lock(&verify_lock);
    while (verify_running >= 2)
        pthread_cond_wait(&verify_cond, &verify_lock);
    verify_running++;
    pthread_mutex_unlock(&verify_lock);
    bool ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
    pthread_mutex_lock(&verify_lock);
    verify_running--;
    pthread_cond_signal(&verify_cond);
    pthread_mutex_unlock(&verify_lock);
    return ok;
}

static int end_sessions(store_conn *c, int64_t staff_id, int64_t now, siyu_err *e)
{
    store_stmt *s = store_q(c, Q_SESSION_REVOKE_STAFF);
    store_bind_int(s, 1, now);
    store_bind_int(s, 2, staff_id);
    return store_exec(s, e);
}

static bool staff_exists(store_conn *c, int64_t staff_id)
{
    store_stmt *s = store_q(c, Q_STAFF_GET);
    store_bind_int(s, 1, staff_id);
    bool found = store_step(s) == STORE_ROW;
    store_reset(s);
    return found;
}

int auth_login_store(store_conn *c, int64_t staff_id, const char *username, const char *hash,
                     int64_t now, json_t **out, siyu_err *e)
{
    if (!staff_exists(c, staff_id))
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "staff %lld not found", (long long)staff_id);
    store_stmt *s = store_q(c, Q_LOGIN_PUT);
    store_bind_int(s, 1, staff_id);
    store_bind_text(s, 2, username);
    store_bind_text(s, 3, hash);
    store_bind_int(s, 4, now);
    int rc = store_step(s);
    store_reset(s);
    if (rc == STORE_CONSTRAINT)
        return siyu_err_set(e, SIYU_CONFLICT, "username",
                            "username: another staff member signs in as %s", username);
    if (rc != STORE_DONE)
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "storing the login: %s", store_errmsg(c));
    if (end_sessions(c, staff_id, now, e)) return -1;
    if (out) {
        char when[40];
        time_format_rfc3339(now, when, sizeof when);
        *out = json_pack("{s:I, s:s, s:s}", "staff_id", (json_int_t)staff_id, "username", username,
                         "updated_at", when);
    }
    return 200;
}

int auth_login_remove(store_conn *c, int64_t staff_id, int64_t now, siyu_err *e)
{
    if (!staff_exists(c, staff_id))
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "staff %lld not found", (long long)staff_id);
    store_stmt *s = store_q(c, Q_LOGIN_DELETE);
    store_bind_int(s, 1, staff_id);
    if (store_exec(s, e) || end_sessions(c, staff_id, now, e)) return -1;
    return 204;
}

/* A hash with the usual parameters of a password no one has: an unknown username is
 * checked against it, so the answer takes as long as for a known one. */
static char dummy_store[AUTH_PWHASH_LEN];
static void make_dummy(void)
{
    unsigned char r[16];
    char pw[33];
    if (sodium_init() < 0) return;
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(pw, sizeof pw, r, sizeof r);
    siyu_err e;
    siyu_err_init(&e);
    auth_password_hash(pw, dummy_store, &e);
    siyu_err_clear(&e);
}

int auth_signin_lookup(store_conn *c, const char *username, int64_t now, auth_signin *si,
                       siyu_err *e)
{
    memset(si, 0, sizeof *si);
    store_stmt *s = store_q(c, Q_LOGIN_BY_NAME);
    store_bind_text(s, 1, username ? username : "");
    if (store_step(s) == STORE_ROW) {
        si->staff_id = store_col_int(s, 0);
        snprintf(si->hash, sizeof si->hash, "%s", store_col_text(s, 1));
        int64_t until = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
        if (until > now) si->locked_until = until;
    }
    store_reset(s);
    if (store_conn_check(c, e)) return -1;
    if (!si->staff_id) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, make_dummy);
        memcpy(si->hash, dummy_store, sizeof si->hash);
    }
    return 0;
}

static int locked(int64_t until, siyu_err *e)
{
    char when[40];
    time_format_rfc3339(until, when, sizeof when);
    siyu_err_set(e, SIYU_RATE_LIMITED, "username",
                 "sign-in locked after %d failures until %s 多次失败，登录已锁定",
                 AUTH_LOCK_FAILURES, when);
    e->details = json_pack("{s:s}", "locked_until", when);
    return 429;
}

int auth_signin_finish(store_conn *c, const auth_signin *si, int64_t now, char *cookie, char *csrf,
                       int64_t *expires_at, siyu_err *e)
{
    static const char wrong[] = "wrong username or password 用户名或密码错误";
    if (!si->staff_id) {
        siyu_err_set(e, SIYU_UNAUTHENTICATED, NULL, "%s", wrong);
        return 401;
    }
    /* read again inside the write: a lock or a reset since the lookup wins */
    store_stmt *s = store_q(c, Q_LOGIN_GET);
    store_bind_int(s, 1, si->staff_id);
    bool found = store_step(s) == STORE_ROW;
    int64_t until = found && !store_col_null(s, 2) ? store_col_int(s, 2) : 0;
    store_reset(s);
    if (!found) {
        siyu_err_set(e, SIYU_UNAUTHENTICATED, NULL, "%s", wrong);
        return 401;
    }
    if (until > now) return locked(until, e);
    if (!si->ok) {
        s = store_q(c, Q_LOGIN_FAIL);
        store_bind_int(s, 1, si->staff_id);
        store_bind_int(s, 2, now);
        store_bind_int(s, 3, AUTH_LOCK_FAILURES);
        store_bind_int(s, 4, now + AUTH_LOCK_SECONDS);
        if (store_exec(s, e)) return -1;
        siyu_err_set(e, SIYU_UNAUTHENTICATED, NULL, "%s", wrong);
        return 401;
    }
    s = store_q(c, Q_LOGIN_OK);
    store_bind_int(s, 1, si->staff_id);
    if (store_exec(s, e)) return -1;
    unsigned char raw[32], h[crypto_hash_sha256_BYTES];
    randombytes_buf(raw, sizeof raw);
    memcpy(cookie, "ss_", 3);
    sodium_bin2hex(cookie + 3, 65, raw, sizeof raw);
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(csrf, AUTH_CSRF_LEN + 1, raw, sizeof raw);
    crypto_hash_sha256(h, (const unsigned char *)cookie, strlen(cookie));
    *expires_at = now + AUTH_SESSION_SECONDS;
    s = store_q(c, Q_SESSION_INSERT);
    store_bind_blob(s, 1, h, sizeof h);
    store_bind_int(s, 2, si->staff_id);
    store_bind_text(s, 3, csrf);
    store_bind_int(s, 4, now);
    store_bind_int(s, 5, *expires_at);
    if (store_exec(s, e)) return -1;
    return 201;
}

int auth_session_resolve(store_conn *c, const char *cookie, bool csrf_needed, const char *csrf,
                         int64_t now, principal *p, siyu_err *e)
{
    memset(p, 0, sizeof *p);
    if (!cookie || strncmp(cookie, "ss_", 3) != 0 || strlen(cookie) != AUTH_SESSION_LEN)
        return siyu_err_set(e, SIYU_UNAUTHENTICATED, NULL, "sign in first 请先登录");
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)cookie, strlen(cookie));
    store_stmt *s = store_q(c, Q_SESSION_RESOLVE);
    store_bind_blob(s, 1, h, sizeof h);
    int n = 0;
    const void *stored = NULL;
    if (store_step(s) == STORE_ROW) stored = store_col_blob(s, 1, &n);
    if (!stored || n != (int)sizeof h || sodium_memcmp(stored, h, sizeof h) != 0) {
        store_reset(s);
        return siyu_err_set(e, SIYU_UNAUTHENTICATED, NULL, "sign in first 请先登录");
    }
    int64_t id = store_col_int(s, 0), staff = store_col_int(s, 2);
    char want[AUTH_CSRF_LEN + 1];
    snprintf(want, sizeof want, "%s", store_col_text(s, 3) ? store_col_text(s, 3) : "");
    int64_t expires = store_col_int(s, 4);
    bool revoked = !store_col_null(s, 5);
    role r = role_parse(store_col_text(s, 6));
    int64_t store = store_col_null(s, 7) ? 0 : store_col_int(s, 7);
    store_reset(s);
    if (revoked || now >= expires || r == ROLE_NONE || r == ROLE_CASHIER)
        return siyu_err_set(e, SIYU_UNAUTHENTICATED, NULL,
                            revoked ? "session: signed out 已退出登录"
                                    : "session: expired, sign in again 会话已过期");
    if (csrf_needed) {
        size_t len = csrf ? strlen(csrf) : 0;
        if (len != AUTH_CSRF_LEN || strlen(want) != AUTH_CSRF_LEN ||
            sodium_memcmp(csrf, want, AUTH_CSRF_LEN) != 0)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, AUTH_CSRF_HEADER,
                                AUTH_CSRF_HEADER ": a write with a session must carry the "
                                                 "session's CSRF token");
    }
    p->role = r;
    p->staff_id = staff;
    p->store_id = store;
    p->session_id = id;
    return 0;
}

int auth_session_describe(store_conn *c, const principal *p, json_t **out, siyu_err *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "role", json_string(role_name(p->role)));
    json_object_set_new(o, "staff_id", p->staff_id ? json_integer(p->staff_id) : json_null());
    json_object_set_new(o, "store_id", p->store_id ? json_integer(p->store_id) : json_null());
    json_object_set_new(o, "via", json_string(p->session_id ? "session" : "token"));
    json_t *name = json_null();
    if (p->staff_id) {
        store_stmt *s = store_q(c, Q_STAFF_GET);
        store_bind_int(s, 1, p->staff_id);
        if (store_step(s) == STORE_ROW) name = json_string(store_col_text(s, 1));
        store_reset(s);
    }
    json_object_set_new(o, "name", name);
    json_t *session = json_null(), *username = json_null();
    if (p->session_id) {
        store_stmt *s = store_q(c, Q_SESSION_GET);
        store_bind_int(s, 1, p->session_id);
        if (store_step(s) == STORE_ROW) {
            char a[40], b[40];
            time_format_rfc3339(store_col_int(s, 1), a, sizeof a);
            time_format_rfc3339(store_col_int(s, 2), b, sizeof b);
            session = json_pack("{s:s, s:s, s:s}", "csrf_token", store_col_text(s, 0), "created_at",
                                a, "expires_at", b);
            if (!store_col_null(s, 3)) username = json_string(store_col_text(s, 3));
        }
        store_reset(s);
    }
    json_object_set_new(o, "username", username);
    json_object_set_new(o, "session", session);
    if (store_conn_check(c, e)) {
        json_decref(o);
        return -1;
    }
    *out = o;
    return 200;
}

int auth_session_end(store_conn *c, int64_t session_id, int64_t now, siyu_err *e)
{
    store_stmt *s = store_q(c, Q_SESSION_REVOKE);
    store_bind_int(s, 1, now);
    store_bind_int(s, 2, session_id);
    return store_exec(s, e);
}
