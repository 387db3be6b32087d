/* test_docs.c — every example of README.md and docs/ (every .md), run against a fresh demo chain.
 *
 * The convention (docs/README.md says it for writers): a fenced block is an example by its
 * language, and an HTML comment on the line just before the fence says what to do with it
 * when the language alone does not:
 *
 *   ```sh                                     runs with bash -e -o pipefail in the sandbox
 *   <!-- example: exit N -->  ```sh           ... and must exit N (default 0)
 *   <!-- example: output -->  ```json|```     the previous example's output: a JSON block
 *                                             must be contained in the JSON answer (every
 *                                             field shown, with its value; "…" is any
 *                                             value; several values: the first ones
 *                                             printed, in order); a text block's lines must appear
 * in order, "…" standing for any text
 *   <!-- example: POST /api/v1/x [STATUS] --> ```json  sent with the admin token; answers
 *                                             STATUS (default: any 2xx)
 *   <!-- example: file NAME -->               written into the sandbox as NAME for the
 *                                             examples after it
 *   <!-- example: excerpt PATH -->            lines of PATH, a file of the repository
 *                                             under docs/examples
 *   <!-- example: segment -->                 each line is an audience expression: `siyu
 *                                             segment explain` must read it
 *   <!-- example: shape -->   ```json         an answer's shape with "…" for what varies:
 *                                             not run (name the call that answers it)
 *   <!-- example: skip REASON -->             not run, with the reason printed
 *   ```json (no comment)                      must be JSON (or one JSON value a line)
 *   ``` (no language)                         text: diagrams, grammars, formulas — not run
 *
 * Any other language (csv, python, cron, …) must carry a comment. The sandbox is a fresh
 * directory holding chain.db, a small demo chain (`siyu demo --no-serve`), served by
 * `siyu serve` on a free port; examples see `siyu` on PATH and SIYU_DB=chain.db,
 * SIYU_URL (http://127.0.0.1:PORT) and TOKEN (an admin token).
 * Run: test_docs PATH_TO_SIYU SOURCE_DIR */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char sandbox[64], token[128], url[64];
static char *last_out; /* the previous example's output (stdout or answer body) */
static char *last_err; /* and what it wrote on stderr */
static int passed, failed, skipped;
static const char *cur_file;
static int cur_line;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s:%d: ", cur_file, cur_line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    failed++;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

static void spit(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", sandbox, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        fail("cannot write %s", path);
        return;
    }
    fputs(text, f);
    fclose(f);
}

/* Runs a shell script in the sandbox; its stdout becomes last_out; returns its exit code. */
static int sh(const char *script)
{
    spit(".example.sh", script);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd %s && bash -e -o pipefail .example.sh > .example.out 2> .example.err </dev/null",
             sandbox);
    int st = system(cmd);
    free(last_out);
    char path[512];
    snprintf(path, sizeof path, "%s/.example.out", sandbox);
    last_out = slurp(path);
    free(last_err);
    snprintf(path, sizeof path, "%s/.example.err", sandbox);
    last_err = slurp(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void show_err(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/.example.err", sandbox);
    char *e = slurp(path);
    fprintf(stderr, "  stdout: %.2000s\n  stderr: %.2000s\n", last_out ? last_out : "", e);
    free(e);
}

/* ---- output comparison ---- */

static bool is_wild(json_t *v)
{
    return json_is_string(v) && strcmp(json_string_value(v), "…") == 0;
}

/* want is contained in got: every field shown with its value, "…" for any value, arrays
 * element by element from the first (got may have more). */
static bool contains(json_t *want, json_t *got, char *where, size_t cap)
{
    if (is_wild(want)) return got != NULL;
    if (!got) return false;
    if (json_is_object(want)) {
        if (!json_is_object(got)) return false;
        const char *k;
        json_t *v;
        json_object_foreach(want, k, v)
        {
            if (!contains(v, json_object_get(got, k), where, cap)) {
                if (!*where) snprintf(where, cap, "%s", k);
                return false;
            }
        }
        return true;
    }
    if (json_is_array(want)) {
        if (!json_is_array(got) || json_array_size(got) < json_array_size(want)) return false;
        for (size_t i = 0; i < json_array_size(want); i++)
            if (!contains(json_array_get(want, i), json_array_get(got, i), where, cap))
                return false;
        return true;
    }
    if (json_is_number(want) && json_is_number(got))
        return json_number_value(want) == json_number_value(got);
    return json_equal(want, got);
}

/* One line of text against a pattern where "…" is any run of characters. */
static bool line_matches(const char *pat, size_t plen, const char *s, size_t slen)
{
    const char *star = memmem(pat, plen, "…", 3);
    if (!star) return plen == slen && memcmp(pat, s, slen) == 0;
    size_t head = (size_t)(star - pat);
    if (slen < head || memcmp(pat, s, head)) return false;
    const char *rest = star + 3;
    size_t rlen = plen - head - 3;
    for (size_t k = head; k <= slen; k++)
        if (line_matches(rest, rlen, s + k, slen - k)) return true;
    return false;
}

/* Every JSON value of text, one after another (an answer, or a command printing several),
 * as an array; NULL when text is not such a stream. */
static json_t *json_stream(const char *text)
{
    json_t *all = json_array();
    size_t len = strlen(text), at = 0;
    for (;;) {
        while (at < len && strchr(" \t\r\n", text[at]))
            at++;
        if (at == len) break;
        json_error_t err;
        json_t *v = json_loadb(text + at, len - at, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &err);
        if (!v) {
            json_decref(all);
            return NULL;
        }
        json_array_append_new(all, v);
        at += (size_t)err.position;
    }
    if (!json_array_size(all)) {
        json_decref(all);
        return NULL;
    }
    return all;
}

static void check_output(const char *lang, const char *want)
{
    if (!last_out) {
        fail("an output block with no example before it");
        return;
    }
    if (strcmp(lang, "json") == 0) {
        json_t *w = json_stream(want);
        json_t *g = json_stream(last_out);
        char where[128] = "";
        if (!w)
            fail("the output block is not JSON");
        else if (!g)
            fail("the example's output is not JSON: %.300s", last_out);
        else if (!contains(w, g, where, sizeof where))
            fail("the output differs (at %s): got %.600s", *where ? where : "the top", last_out);
        else
            passed++;
        json_decref(w);
        json_decref(g);
        return;
    }
    /* text: every line shown appears in what a terminal shows (stdout, then stderr: their
     * interleaving is not kept, so lines are found in any order) */
    size_t lo = strlen(last_out), le = last_err ? strlen(last_err) : 0;
    char *all = malloc(lo + le + 2);
    memcpy(all, last_out, lo);
    all[lo] = lo && last_out[lo - 1] != '\n' ? '\n' : 0;
    size_t at = lo + (all[lo] == '\n');
    memcpy(all + at, last_err ? last_err : "", le + 1);
    for (const char *p = want; *p;) {
        size_t n = strcspn(p, "\n");
        if (n) {
            bool found = false;
            const char *g = all;
            while (*g && !found) {
                size_t m = strcspn(g, "\n");
                found = line_matches(p, n, g, m);
                g += m + (g[m] == '\n');
            }
            if (!found) {
                fail("no output line matches: %.*s\n  got: %.1500s", (int)n, p, all);
                free(all);
                return;
            }
        }
        p += n + (p[n] == '\n');
    }
    free(all);
    passed++;
}

/* ---- the blocks ---- */

static bool valid_json_or_lines(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    if (v) {
        json_decref(v);
        return true;
    }
    bool any = false;
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        if (n) {
            v = json_loadb(p, n, 0, NULL);
            if (!v) return false;
            json_decref(v);
            any = true;
        }
        p += n + (p[n] == '\n');
    }
    return any;
}

static void request(const char *method, const char *path, int want, const char *body)
{
    spit(".example.body", body);
    char script[2048];
    snprintf(script, sizeof script,
             "curl -sS -o .example.answer -w '%%{http_code}' -X %s -H \"Authorization: Bearer "
             "$TOKEN\" -H 'Content-Type: application/json' --data-binary @.example.body "
             "\"$SIYU_URL%s\"\n",
             method, path);
    int rc = sh(script);
    int status = atoi(last_out);
    char p[512];
    snprintf(p, sizeof p, "%s/.example.answer", sandbox);
    free(last_out);
    last_out = slurp(p);
    if (rc) {
        fail("curl failed");
    } else if (want ? status != want : (status < 200 || status > 299)) {
        fail("%s %s answered %d, not %d: %.600s", method, path, status, want ? want : 200,
             last_out);
    } else {
        passed++;
    }
}

static void block(const char *marker, const char *lang, const char *text)
{
    char kind[32] = "", arg[256] = "";
    if (*marker) sscanf(marker, "%31s %255[^\n]", kind, arg);
    if (strcmp(kind, "skip") == 0 || strcmp(kind, "shape") == 0) {
        if (strcmp(kind, "skip") == 0 && !*arg) fail("a skipped example must say why");
        printf("skip %s:%d (%s%s%s)\n", cur_file, cur_line, kind, *arg ? ": " : "", arg);
        skipped++;
        return;
    }
    if (strcmp(kind, "file") == 0) {
        spit(arg, text);
        passed++;
        return;
    }
    if (strcmp(kind, "output") == 0) {
        check_output(lang, text);
        return;
    }
    if (strcmp(kind, "excerpt") == 0) { /* the lines of a file of the repository */
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", sandbox, arg);
        free(last_out);
        last_out = slurp(p);
        free(last_err);
        last_err = NULL;
        if (!*last_out)
            fail("excerpt of %s: no such file (docs/examples is copied in)", arg);
        else
            check_output("", text);
        return;
    }
    if (strcmp(kind, "segment") == 0) {
        for (const char *p = text; *p;) {
            size_t n = strcspn(p, "\n");
            if (n) {
                char expr[1024], script[1400];
                snprintf(expr, sizeof expr, "%.*s", (int)n, p);
                spit(".example.expr", expr);
                snprintf(script, sizeof script, "siyu segment explain \"$(cat .example.expr)\"\n");
                if (sh(script)) {
                    fail("siyu segment explain refused: %s", expr);
                    show_err();
                } else {
                    passed++;
                }
            }
            p += n + (p[n] == '\n');
        }
        return;
    }
    if (*kind && strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ", kind[0])) { /* METHOD PATH [STATUS] */
        char path[256] = "";
        int want = 0;
        sscanf(arg, "%255s %d", path, &want);
        request(kind, path, want, text);
        return;
    }
    if (strcmp(lang, "sh") == 0) {
        int want = strcmp(kind, "exit") == 0 ? atoi(arg) : 0;
        if (*kind && strcmp(kind, "exit") != 0) fail("unknown marker for a sh block: %s", kind);
        int rc = sh(text);
        if (rc != want) {
            fail("exit %d, not %d", rc, want);
            show_err();
        } else {
            passed++;
        }
        return;
    }
    if (*kind) {
        fail("unknown marker: example: %s", marker);
        return;
    }
    if (strcmp(lang, "json") == 0) {
        if (valid_json_or_lines(text))
            passed++;
        else
            fail("not JSON (mark an answer's shape with <!-- example: shape -->)");
        return;
    }
    if (*lang) fail("a ```%s block needs a comment saying what it is (see docs/README.md)", lang);
}

static void run_file(const char *root, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, name);
    char *doc = slurp(path);
    cur_file = name;
    char marker[512] = "";
    int line = 0;
    for (char *p = doc; *p;) {
        size_t n = strcspn(p, "\n");
        line++;
        char *l = p;
        p += n + (p[n] == '\n');
        size_t ind = strspn(l, " ");
        if (n - ind >= 3 && strncmp(l + ind, "```", 3) == 0) {
            char lang[32] = "";
            sscanf(l + ind + 3, "%31[a-z]", lang);
            cur_line = line;
            /* the block's lines, without the fence's indentation */
            size_t cap = 4096, len = 0;
            char *text = malloc(cap);
            text[0] = 0;
            bool closed = false;
            while (*p) {
                size_t m = strcspn(p, "\n");
                char *bl = p;
                p += m + (p[m] == '\n');
                line++;
                size_t bi = strspn(bl, " ");
                if (m - bi >= 3 && strncmp(bl + bi, "```", 3) == 0) {
                    closed = true;
                    break;
                }
                size_t skip = bi < ind ? bi : ind;
                if (len + m + 2 > cap) text = realloc(text, cap = (len + m + 2) * 2);
                memcpy(text + len, bl + skip, m - skip);
                len += m - skip;
                text[len++] = '\n';
                text[len] = 0;
            }
            if (!closed) fail("a fence is never closed");
            block(marker, lang, text);
            free(text);
            marker[0] = 0;
            continue;
        }
        if (n - ind == 0) continue; /* a blank line keeps the comment before it */
        marker[0] = 0;
        const char *c = l + ind;
        if (strncmp(c, "<!-- example:", 13) == 0) {
            const char *end = strstr(c, "-->");
            if (end && end < l + n) {
                const char *s = c + 13;
                while (*s == ' ')
                    s++;
                size_t k = (size_t)(end - s);
                while (k && s[k - 1] == ' ')
                    k--;
                snprintf(marker, sizeof marker, "%.*s", (int)k, s);
            }
        }
    }
    free(doc);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    static char siyu[1024], root[1024]; /* absolute: examples run in the sandbox */
    if (!realpath(argv[1], siyu) || !realpath(argv[2], root)) return 2;
    snprintf(sandbox, sizeof sandbox, "/tmp/siyu-docs-XXXXXX");
    if (!mkdtemp(sandbox)) return 1;
    /* siyu on PATH, the demo chain as the default store */
    char bindir[1024], path[4096];
    snprintf(bindir, sizeof bindir, "%s", siyu);
    char *slash = strrchr(bindir, '/');
    if (slash) *slash = 0;
    char abs[1024];
    if (!realpath(bindir, abs)) snprintf(abs, sizeof abs, "%s", bindir);
    snprintf(path, sizeof path, "%s:%s", abs, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", path, 1);
    setenv("SIYU_DB", "chain.db", 1);
    unsetenv("SIYU_CORS_ORIGINS");
    cur_file = "(setup)";
    /* the files the docs name by their repository path (docs/examples/…) */
    char copy[2200];
    snprintf(copy, sizeof copy, "mkdir -p docs && cp -r '%s/docs/examples' docs/", root);
    if (sh(copy)) fail("cannot copy docs/examples");
    if (sh("siyu demo --no-serve --members 400 --seed 7 --db chain.db | sed -n "
           "'s/^siyu: admin token: //p'") ||
        !*last_out) {
        fail("the demo chain could not be made");
        show_err();
        return 1;
    }
    snprintf(token, sizeof token, "%.*s", (int)strcspn(last_out, "\n"), last_out);
    setenv("TOKEN", token, 1);
    /* a free port: bind 0, read it, let it go */
    int sfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t salen = sizeof sa;
    if (bind(sfd, (struct sockaddr *)&sa, sizeof sa) ||
        getsockname(sfd, (struct sockaddr *)&sa, &salen))
        return 1;
    close(sfd);
    int port = ntohs(sa.sin_port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    setenv("SIYU_URL", url, 1);
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(sandbox)) _exit(127);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        char listen[64];
        snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
        execl(siyu, siyu, "serve", "--db", "chain.db", "--listen", listen, "--access-log", "off",
              (char *)NULL);
        _exit(127);
    }
    bool up = false;
    for (int i = 0; i < 300 && !up; i++) {
        up = sh("curl -sf \"$SIYU_URL/healthz\" >/dev/null") == 0;
        if (!up) usleep(20000);
    }
    if (!up) fail("siyu serve did not start");

    /* README.md, then every .md of docs/ in name order */
    run_file(root, "README.md");
    char dirpath[1024];
    snprintf(dirpath, sizeof dirpath, "%s/docs", root);
    DIR *d = opendir(dirpath);
    char *names[256];
    size_t nn = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        size_t l = strlen(de->d_name);
        if (l > 3 && strcmp(de->d_name + l - 3, ".md") == 0 && nn < 256) {
            char *s = malloc(l + 6);
            snprintf(s, l + 6, "docs/%s", de->d_name);
            names[nn++] = s;
        }
    }
    if (d) closedir(d);
    qsort(names, nn, sizeof *names, cmp_names);
    for (size_t i = 0; i < nn; i++) {
        run_file(root, names[i]);
        free(names[i]);
    }

    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", sandbox);
    if (system(cmd)) fprintf(stderr, "cannot remove %s\n", sandbox);
    free(last_out);
    free(last_err);
    printf("docs examples: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
