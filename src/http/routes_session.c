/* routes_session.c — staff sign-in for the console (auth/session.h): staff logins set by
 * an admin, sessions opened by a username and password, who is signed in, sign-out.
 * A password is hashed and checked on the calling worker with no transaction open;
 * only the small writes that follow go through the group committer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "auth/session.h"
#include "base/jsonx.h"
#include "http/router.h"
#include "writer/writer.h"

int h_staff_login_put(http_req *r, siyu_err *e);
int h_staff_login_delete(http_req *r, siyu_err *e);
int h_session_create(http_req *r, siyu_err *e);
int h_session_get(http_req *r, siyu_err *e);
int h_session_delete(http_req *r, siyu_err *e);

/* Secure when the request came over TLS: siyu speaks plain HTTP, so that is a proxy in
 * front saying so (X-Forwarded-Proto: https), or SIYU_COOKIE_SECURE=1. */
static bool over_tls(http_req *r)
{
    const char *env = getenv("SIYU_COOKIE_SECURE");
    if (env && strcmp(env, "1") == 0) return true;
    const char *p = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
    return p && strcmp(p, "https") == 0;
}

static void set_cookie(http_req *r, const char *value, long max_age)
{
    snprintf(r->set_cookie, sizeof r->set_cookie,
             "%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Strict%s", AUTH_SESSION_COOKIE, value,
             max_age, over_tls(r) ? "; Secure" : "");
}

/* ---------------- PUT /staff/{id}/login, DELETE /staff/{id}/login ---------------- */

typedef struct login_write {
    http_req *r;
    const char *username;
    char hash[AUTH_PWHASH_LEN];
    json_t *out;
    int status;
} login_write;

static int login_put_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    login_write *w = arg;
    (void)changes;
    int rc = auth_login_store(c, w->r->id, w->username, w->hash, w->r->d.now, &w->out, e);
    if (rc < 0) return -1;
    w->status = rc;
    return 0; /* the pipeline audits the call (http_audit_read: a write of its own) */
}

/* PUT /staff/{id}/login {username, password}: sets or resets a login; the hash is made
 * here, on the worker, so the writer thread never spends a password hash. */
int h_staff_login_put(http_req *r, siyu_err *e)
{
    static const char *const allowed[] = {"username", "password", NULL};
    const char *username, *password;
    if (jx_only(r->body, allowed, NULL, e) || jx_str(r->body, "username", true, &username, e) < 0 ||
        jx_str(r->body, "password", true, &password, e) < 0 ||
        auth_login_check(username, password, e))
        return -1;
    login_write w = {.r = r, .username = username};
    if (auth_password_hash(password, w.hash, e)) return -1;
    if (writer_submit(http_writer(r), login_put_fn, &w, r->d.conn, e)) return -1;
    r->status = w.status;
    r->resp = w.out;
    return 0;
}

static int login_delete_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    login_write *w = arg;
    (void)changes;
    return auth_login_remove(c, w->r->id, w->r->d.now, e) < 0 ? -1 : 0;
}

/* DELETE /staff/{id}/login: the staff member can no longer sign in (they left, or their
 * account is suspected); their sessions end at once. A route-table write. */
int h_staff_login_delete(http_req *r, siyu_err *e)
{
    login_write w = {.r = r};
    if (login_delete_fn(r->d.conn, NULL, &w, e)) return -1;
    r->status = 204;
    return 0;
}

/* ---------------- POST /session: sign in ---------------- */

typedef struct signin_write {
    auth_signin si;
    int64_t now, expires;
    int status;
    siyu_err refusal; /* a wrong password or a lock: answered, yet the count commits */
    char cookie[AUTH_SESSION_LEN + 1], csrf[AUTH_CSRF_LEN + 1];
} signin_write;

static int signin_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    signin_write *w = arg;
    (void)changes;
    int rc = auth_signin_finish(c, &w->si, w->now, w->cookie, w->csrf, &w->expires, &w->refusal);
    if (rc < 0) {
        siyu_err_set(e, w->refusal.code, w->refusal.field[0] ? w->refusal.field : NULL, "%s",
                     w->refusal.message);
        return -1;
    }
    w->status = rc;
    return 0;
}

int h_session_create(http_req *r, siyu_err *e)
{
    static const char *const allowed[] = {"username", "password", NULL};
    const char *username, *password;
    if (jx_only(r->body, allowed, NULL, e) || jx_str(r->body, "username", true, &username, e) < 0 ||
        jx_str(r->body, "password", true, &password, e) < 0)
        return -1;
    signin_write w;
    memset(&w, 0, sizeof w);
    siyu_err_init(&w.refusal);
    w.now = r->d.now;
    if (store_begin(r->d.conn, false, e)) return -1;
    int rc = auth_signin_lookup(r->d.conn, username, r->d.now, &w.si, e);
    store_rollback(r->d.conn);
    if (rc) return -1;
    /* checked with no transaction open; a locked login is not checked at all */
    w.si.ok = !w.si.locked_until && auth_password_verify(w.si.hash, password) && w.si.staff_id;
    if (writer_submit(http_writer(r), signin_fn, &w, r->d.conn, e)) {
        siyu_err_clear(&w.refusal);
        return -1;
    }
    if (w.status != 201) { /* refused, with the failure counted */
        r->status = w.status;
        r->resp = siyu_err_to_json(&w.refusal);
        siyu_err_clear(&w.refusal);
        return 0;
    }
    siyu_err_clear(&w.refusal);
    principal p;
    if (store_begin(r->d.conn, false, e)) return -1;
    json_t *out = NULL;
    rc = auth_session_resolve(r->d.conn, w.cookie, false, NULL, r->d.now, &p, e);
    if (rc == 0) rc = auth_session_describe(r->d.conn, &p, &out, e) < 0 ? -1 : 0;
    store_rollback(r->d.conn);
    if (rc) return -1;
    set_cookie(r, w.cookie, AUTH_SESSION_SECONDS);
    r->status = 201;
    r->resp = out;
    return 0;
}

/* GET /session: who is calling (a session, or a token) and the session's CSRF token. */
int h_session_get(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = auth_session_describe(r->d.conn, &r->d.who, &out, e);
    return http_answer(r, rc, &out);
}

/* DELETE /session: signs out; the cookie is cleared. */
int h_session_delete(http_req *r, siyu_err *e)
{
    if (!r->d.who.session_id)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, NULL,
                            "session: this caller presented a token, not a session");
    if (auth_session_end(r->d.conn, r->d.who.session_id, r->d.now, e)) return -1;
    set_cookie(r, "", 0);
    r->status = 204;
    return 0;
}
