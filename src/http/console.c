/* console.c — the web console's files, served by siyu itself (docs/console.md).
 *
 * The console is built once by npm and Vite into a directory of files with content
 * hashes in their names (console/dist: index.html and assets/). siyu looks for it in
 * $SIYU_CONSOLE_DIR, then beside the binary (console/), then in the source tree it was
 * built from; without one, `/` is the plain landing page. Nothing is ever fetched from
 * elsewhere at run time: store networks are often offline. index.html is never cached
 * (it names the current assets); an asset's name changes with its content, so it is
 * cached for a year. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/router.h"

int h_console_index(http_req *r, siyu_err *e);
int h_console_asset(http_req *r, siyu_err *e);
int h_home(http_req *r, siyu_err *e); /* routes.c: the landing page without a console */

#ifndef SIYU_CONSOLE_SOURCE
#define SIYU_CONSOLE_SOURCE ""
#endif

static char console_root[PATH_MAX];

static bool has_index(const char *dir)
{
    char p[PATH_MAX + 16];
    struct stat st;
    snprintf(p, sizeof p, "%s/index.html", dir);
    return *dir && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static void find_root(void)
{
    const char *env = getenv("SIYU_CONSOLE_DIR");
    if (env && *env) {
        snprintf(console_root, sizeof console_root, "%s", env);
        if (!has_index(console_root)) console_root[0] = 0;
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(console_root, sizeof console_root, "%.*s/console", PATH_MAX - 16, exe);
            if (has_index(console_root)) return;
        }
    }
    snprintf(console_root, sizeof console_root, "%s", SIYU_CONSOLE_SOURCE);
    if (!has_index(console_root)) console_root[0] = 0;
}

static const char *root(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, find_root);
    return console_root;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 && n < (64l << 20) ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (!b) return NULL;
    b[n] = 0;
    *len = (size_t)n;
    return b;
}

/* GET /: the console's page, or the landing page when no console is installed. */
int h_console_index(http_req *r, siyu_err *e)
{
    const char *dir = root();
    if (!*dir) return h_home(r, e);
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/index.html", dir);
    size_t n;
    char *page = slurp(p, &n);
    if (!page) return h_home(r, e);
    r->status = 200;
    r->text = page;
    r->content_type = "text/html; charset=utf-8";
    r->cache_control = "no-cache";
    r->page_headers = true;
    return 0;
}

static const struct {
    const char *ext, *type;
} types[] = {
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".json", "application/json; charset=utf-8"},
};

/* GET /assets/{file}: one built file; only names Vite makes (letters, digits, . _ -). */
int h_console_asset(http_req *r, siyu_err *e)
{
    const char *name = r->word ? r->word : "";
    const char *dir = root();
    bool ok = *dir && name[0] && name[0] != '.';
    for (const char *c = name; ok && *c; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
             *c == '.' || *c == '_' || *c == '-';
    const char *type = NULL;
    size_t len = strlen(name);
    for (size_t i = 0; ok && i < sizeof types / sizeof *types; i++) {
        size_t x = strlen(types[i].ext);
        if (len > x && strcmp(name + len - x, types[i].ext) == 0) type = types[i].type;
    }
    char p[PATH_MAX + 80];
    size_t n = 0;
    char *body = NULL;
    if (ok && type) {
        snprintf(p, sizeof p, "%s/assets/%s", dir, name);
        body = slurp(p, &n);
    }
    if (!body || strlen(body) != n) {
        free(body);
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "no console file %s", name);
    }
    r->status = 200;
    r->text = body;
    r->content_type = type;
    r->cache_control = "public, max-age=31536000, immutable";
    return 0;
}
