/* Console sign-in against the real server: an admin sets staff logins (API and CLI); a
 * session authenticates with its staff member's role and scope; a write with the cookie
 * alone (stolen, or sent by another site) is refused and writes nothing; a signed-out,
 * reset or removed login's session reads nothing; repeated failures lock a login for the
 * documented time (the clock is a file the test moves, SIYU_NOW_FILE). */
#include <jansson.h>

#include "check.h"
#include "harness.h"

static char buf[1 << 16], hdrs[8192];
static char now_file[600];

static void set_now(const char *rfc3339)
{
    FILE *f = fopen(now_file, "w");
    fprintf(f, "%s\n", rfc3339);
    fclose(f);
}

/* One request with any headers (no Authorization unless given); the answer's headers
 * land in hdrs, its body in buf. */
static int raw(const char *method, const char *path, const char *headers, const char *body)
{
    int fd = conn_open();
    if (fd < 0) return -1;
    char req[8192];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, headers ? headers : "", blen, body ? body : "");
    send(fd, req, (size_t)n, MSG_NOSIGNAL);
    static char all[1 << 17];
    size_t got = 0;
    ssize_t r;
    while ((r = recv(fd, all + got, sizeof all - 1 - got, 0)) > 0)
        got += (size_t)r;
    close(fd);
    all[got] = 0;
    char *end = strstr(all, "\r\n\r\n");
    if (!end) return -1;
    size_t hl = (size_t)(end - all);
    snprintf(hdrs, sizeof hdrs, "%.*s", (int)hl, all);
    snprintf(buf, sizeof buf, "%s", end + 4);
    return atoi(all + 9);
}

static int admin(const char *method, const char *path, const char *body)
{
    char h[256];
    snprintf(h, sizeof h, "Authorization: Bearer %s\r\n", token);
    return raw(method, path, h, body);
}

static long long id_of(void)
{
    json_t *o = json_loads(buf, 0, NULL);
    long long id = json_integer_value(json_object_get(o, "id"));
    json_decref(o);
    return id;
}

typedef struct session {
    char cookie[128], csrf[128];
} session;

/* Signs in; 0 and the session on 201, else the status. */
static int sign_in(const char *user, const char *pw, const char *extra, session *s)
{
    char body[256];
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
    int st = raw("POST", "/api/v1/session", extra, body);
    if (st != 201) return st;
    const char *c = strcasestr(hdrs, "Set-Cookie: siyu_session=");
    CHECK(c != NULL);
    if (!c) return -1;
    c += strlen("Set-Cookie: ");
    snprintf(s->cookie, sizeof s->cookie, "%.*s", (int)strcspn(c, ";\r"), c);
    json_t *o = json_loads(buf, 0, NULL);
    snprintf(s->csrf, sizeof s->csrf, "%s",
             json_string_value(json_object_get(json_object_get(o, "session"), "csrf_token")));
    json_decref(o);
    return 0;
}

/* A call with the session's cookie, and the CSRF token when csrf is non-NULL. */
static int as(const session *s, const char *csrf, const char *method, const char *path,
              const char *body)
{
    char h[512];
    snprintf(h, sizeof h, "Cookie: %s\r\n%s%s%s", s->cookie, csrf ? "X-CSRF-Token: " : "",
             csrf ? csrf : "", csrf ? "\r\n" : "");
    return raw(method, path, h, body);
}

static long long members(void)
{
    return db_int("SELECT count(*) FROM members", 0, 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    char tmpl[] = "/tmp/siyu-now-XXXXXX";
    if (!mkdtemp(tmpl)) return 1;
    snprintf(now_file, sizeof now_file, "%s/now", tmpl);
    set_now("2026-03-01T09:00:00+08:00");
    setenv("SIYU_NOW_FILE", now_file, 1);
    pid_t pid = harness_start(argv[1]);

    CHECK_INT_EQ(
        admin("POST", "/api/v1/stores", "{\"name\":\"A\",\"code\":\"a\",\"kind\":\"physical\"}"),
        201);
    long long store_a = id_of();
    CHECK_INT_EQ(
        admin("POST", "/api/v1/stores", "{\"name\":\"B\",\"code\":\"b\",\"kind\":\"physical\"}"),
        201);
    long long store_b = id_of();
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"店长\",\"role\":\"store_manager\",\"store_id\":%lld}",
             store_a);
    CHECK_INT_EQ(admin("POST", "/api/v1/staff", body), 201);
    long long mgr = id_of();
    snprintf(body, sizeof body, "{\"name\":\"导购\",\"role\":\"guide\",\"store_id\":%lld}",
             store_a);
    CHECK_INT_EQ(admin("POST", "/api/v1/staff", body), 201);
    long long guide = id_of();
    snprintf(body, sizeof body,
             "{\"phone\":\"13900000002\",\"name\":\"B的会员\",\"store_id\":%lld}", store_b);
    CHECK_INT_EQ(admin("POST", "/api/v1/members", body), 201);
    long long member_b = id_of();

    /* logins: the API (admin only), checked fields, unique usernames; the CLI */
    char path[128];
    snprintf(path, sizeof path, "/api/v1/staff/%lld/login", mgr);
    CHECK_INT_EQ(admin("PUT", path, "{\"username\":\"mgr.a\",\"password\":\"short\"}"), 400);
    CHECK(strstr(buf, "password") != NULL);
    CHECK_INT_EQ(admin("PUT", path, "{\"username\":\"x y\",\"password\":\"long enough pw\"}"), 400);
    CHECK(strstr(buf, "username") != NULL);
    CHECK_INT_EQ(admin("PUT", path, "{\"username\":\"mgr.a\",\"password\":\"manager-pass-1\"}"),
                 200);
    CHECK_INT_EQ(db_int("SELECT count(*) FROM staff_logins WHERE hash LIKE '$argon2id$%'", 0, 0),
                 1);
    char other[128];
    snprintf(other, sizeof other, "/api/v1/staff/%lld/login", guide);
    CHECK_INT_EQ(admin("PUT", other, "{\"username\":\"mgr.a\",\"password\":\"whatever-pass\"}"),
                 409);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "printf 'guide-pass-1\\n' | %s staff login --db '%s' --staff %lld --username guide.a "
             ">/dev/null",
             siyu, db, guide);
    CHECK_INT_EQ(run(cmd, NULL, 0), 0);
    snprintf(cmd, sizeof cmd,
             "printf 'x\\n' | %s staff login --db '%s' --staff %lld --username g2 2>/dev/null",
             siyu, db, guide);
    CHECK(run(cmd, NULL, 0) != 0); /* too short a password: refused, nothing changed */

    /* sign in: the cookie is HttpOnly, SameSite=Strict; Secure behind a TLS proxy */
    session m, g;
    CHECK_INT_EQ(sign_in("mgr.a", "wrong-password", NULL, &m), 401);
    CHECK_INT_EQ(sign_in("nobody", "wrong-password", NULL, &m), 401);
    CHECK_INT_EQ(sign_in("mgr.a", "manager-pass-1", NULL, &m), 0);
    CHECK(strstr(hdrs, "HttpOnly") && strstr(hdrs, "SameSite=Strict"));
    CHECK(!strstr(hdrs, "Secure"));
    CHECK(strlen(m.csrf) == 64);
    session tls;
    CHECK_INT_EQ(sign_in("mgr.a", "manager-pass-1", "X-Forwarded-Proto: https\r\n", &tls), 0);
    CHECK(strstr(hdrs, "; Secure") != NULL);
    CHECK_INT_EQ(db_int("SELECT failures FROM staff_logins WHERE username = 'mgr.a'", 0, 0), 0);

    /* who: the staff member's role and store, the CSRF token */
    CHECK_INT_EQ(as(&m, NULL, "GET", "/api/v1/session", NULL), 200);
    json_t *who = json_loads(buf, 0, NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(who, "role")), "store_manager");
    CHECK_INT_EQ(json_integer_value(json_object_get(who, "store_id")), store_a);
    CHECK_STR_EQ(json_string_value(json_object_get(who, "username")), "mgr.a");
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(who, "session"), "csrf_token")),
                 m.csrf);
    json_decref(who);

    /* the route table's roles and scope apply as to a token */
    CHECK_INT_EQ(as(&m, NULL, "GET", "/api/v1/tokens", NULL), 403);
    snprintf(path, sizeof path, "/api/v1/members/%lld", member_b);
    CHECK_INT_EQ(as(&m, NULL, "GET", path, NULL), 403);

    /* a stolen cookie without the CSRF token writes nothing */
    long long before = members();
    snprintf(body, sizeof body, "{\"phone\":\"13900000003\",\"name\":\"新\",\"store_id\":%lld}",
             store_a);
    CHECK_INT_EQ(as(&m, NULL, "POST", "/api/v1/members", body), 403);
    CHECK(strstr(buf, "X-CSRF-Token") != NULL);
    CHECK_INT_EQ(as(&m, "0000000000000000000000000000000000000000000000000000000000000000", "POST",
                    "/api/v1/members", body),
                 403);
    CHECK_INT_EQ(as(&m, tls.csrf, "POST", "/api/v1/members", body), 403); /* another session's */
    CHECK_INT_EQ(members(), before);
    CHECK_INT_EQ(as(&m, m.csrf, "POST", "/api/v1/members", body), 201);
    CHECK_INT_EQ(members(), before + 1);
    snprintf(body, sizeof body, "{\"phone\":\"13900000004\",\"name\":\"越界\",\"store_id\":%lld}",
             store_b);
    CHECK_INT_EQ(as(&m, m.csrf, "POST", "/api/v1/members", body), 403);

    /* signing out needs the token too; afterwards the cookie reads nothing */
    CHECK_INT_EQ(as(&m, NULL, "DELETE", "/api/v1/session", NULL), 403);
    CHECK_INT_EQ(as(&m, m.csrf, "DELETE", "/api/v1/session", NULL), 204);
    CHECK(strstr(hdrs, "Max-Age=0") != NULL);
    CHECK_INT_EQ(as(&m, NULL, "GET", "/api/v1/session", NULL), 401);
    CHECK_INT_EQ(as(&m, NULL, "GET", "/api/v1/members", NULL), 401);
    CHECK_INT_EQ(as(&tls, NULL, "GET", "/api/v1/members", NULL), 200); /* the other goes on */

    /* a reset login ends its sessions */
    snprintf(path, sizeof path, "/api/v1/staff/%lld/login", mgr);
    CHECK_INT_EQ(admin("PUT", path, "{\"username\":\"mgr.a\",\"password\":\"manager-pass-2\"}"),
                 200);
    CHECK_INT_EQ(as(&tls, NULL, "GET", "/api/v1/members", NULL), 401);
    CHECK_INT_EQ(sign_in("mgr.a", "manager-pass-1", NULL, &m), 401);
    CHECK_INT_EQ(sign_in("mgr.a", "manager-pass-2", NULL, &m), 0);
    CHECK_INT_EQ(as(&m, NULL, "GET", "/api/v1/members", NULL), 200);

    /* lock-out: 5 failures in a row lock for 15 minutes, even the right password */
    CHECK_INT_EQ(sign_in("guide.a", "guide-pass-1", NULL, &g), 0);
    for (int i = 0; i < 5; i++)
        CHECK_INT_EQ(sign_in("guide.a", "not-the-password", NULL, &g), 401);
    CHECK_INT_EQ(sign_in("guide.a", "guide-pass-1", NULL, &g), 429);
    CHECK(strstr(buf, "locked_until") != NULL);
    set_now("2026-03-01T09:14:59+08:00");
    CHECK_INT_EQ(sign_in("guide.a", "guide-pass-1", NULL, &g), 429);
    set_now("2026-03-01T09:15:01+08:00");
    CHECK_INT_EQ(sign_in("guide.a", "guide-pass-1", NULL, &g), 0);
    CHECK_INT_EQ(db_int("SELECT failures FROM staff_logins WHERE username = 'guide.a'", 0, 0), 0);
    /* four failures, then a success: the count starts again */
    for (int i = 0; i < 4; i++)
        CHECK_INT_EQ(sign_in("guide.a", "not-the-password", NULL, &g), 401);
    CHECK_INT_EQ(sign_in("guide.a", "guide-pass-1", NULL, &g), 0);
    CHECK_INT_EQ(sign_in("guide.a", "not-the-password", NULL, &g), 401);
    CHECK_INT_EQ(sign_in("guide.a", "guide-pass-1", NULL, &g), 0);

    /* a guide's session: a guide's scope */
    CHECK_INT_EQ(as(&g, NULL, "GET", "/api/v1/staff", NULL), 403);
    CHECK_INT_EQ(as(&g, NULL, "GET", "/api/v1/session", NULL), 200);
    CHECK(strstr(buf, "\"guide\"") != NULL);

    /* sessions expire after 12 hours */
    set_now("2026-03-01T21:15:02+08:00");
    CHECK_INT_EQ(as(&g, NULL, "GET", "/api/v1/session", NULL), 401);
    CHECK_INT_EQ(sign_in("guide.a", "guide-pass-1", NULL, &g), 0);

    /* a removed login (the guide left): sessions end, sign-in fails */
    snprintf(path, sizeof path, "/api/v1/staff/%lld/login", guide);
    CHECK_INT_EQ(admin("DELETE", path, NULL), 204);
    CHECK_INT_EQ(as(&g, NULL, "GET", "/api/v1/session", NULL), 401);
    CHECK_INT_EQ(sign_in("guide.a", "guide-pass-1", NULL, &g), 401);
    /* only an admin sets logins: a manager's session may not (signed in again: the
     * morning's session expired with the clock's move) */
    CHECK_INT_EQ(sign_in("mgr.a", "manager-pass-2", NULL, &m), 0);
    CHECK_INT_EQ(
        as(&m, m.csrf, "PUT", path, "{\"username\":\"g.b\",\"password\":\"long enough pw\"}"), 403);

    CHECK_INT_EQ(harness_stop(pid), 0);
    unlink(now_file);
    rmdir(tmpl);
    CHECK_DONE();
}
