/* msg_template.c — compiling and rendering message templates (rules in msg_template.h).
 *
 * Compiling validates the whole source as UTF-8 first, so the scanner can then walk bytes:
 * the syntax characters `{`, `}` and `\` are ASCII and never occur inside a multi-byte
 * sequence. The compiled form is a list of segments — literal text (escapes already
 * resolved) or a variable — with each variable's line and column kept for render errors. */
#include "messaging/msg_template.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "messaging/msg_utf8.h"

static const char *const var_names[MSG_VAR_COUNT] = {
    "member.name",       "member.tier", "points.balance", "coupon.code",
    "coupon.expires_on", "store.name",  "guide.name",
};

const char *msg_var_name(msg_var v)
{
    return (unsigned)v < MSG_VAR_COUNT ? var_names[v] : NULL;
}

int msg_var_from_name(const char *name, size_t len)
{
    for (int i = 0; i < MSG_VAR_COUNT; i++)
        if (strlen(var_names[i]) == len && memcmp(var_names[i], name, len) == 0) return i;
    return -1;
}

/* ---------------------------------------------------------------- compiled form */

typedef struct tpl_seg {
    int var;                     /* a msg_var, or -1 for literal text */
    uint32_t off, len;           /* literal: bytes of lit; variable: unused */
    uint32_t src_off, line, col; /* variable: where its `{{` stands, for errors */
} tpl_seg;

struct msg_template {
    tpl_seg *segs;
    size_t n;
    char *lit; /* all literal text, escapes resolved */
    uint32_t vars;
};

void msg_template_free(msg_template *t)
{
    if (!t) return;
    free(t->segs);
    free(t->lit);
    free(t);
}

uint32_t msg_template_vars(const msg_template *t)
{
    return t ? t->vars : 0;
}

/* Line and column (1-based; the column counts characters, not bytes) of byte off in a
 * source already known to be valid UTF-8. */
static void position(const char *src, size_t off, uint32_t *line, uint32_t *col)
{
    uint32_t l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        unsigned char b = (unsigned char)src[i];
        if (b == '\n') {
            l++;
            c = 1;
        } else if ((b & 0xC0) != 0x80) { /* count lead bytes only */
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* Fills e with a positioned error. var may be NULL. Always returns -1. */
static int pos_err(siyu_err *e, siyu_code code, const char *field, size_t off, uint32_t line,
                   uint32_t col, const char *var, size_t var_len, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));
static int pos_err(siyu_err *e, siyu_code code, const char *field, size_t off, uint32_t line,
                   uint32_t col, const char *var, size_t var_len, const char *fmt, ...)
{
    if (!e) return -1;
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (strcmp(field, "template") == 0)
        siyu_err_set(e, code, field, "template: line %u, column %u: %s", line, col, what);
    else
        siyu_err_set(e, code, field, "%s: %s (template line %u, column %u)", field, what, line,
                     col);
    json_decref(e->details);
    e->details = json_pack("{s:I, s:I, s:I}", "offset", (json_int_t)off, "line", (json_int_t)line,
                           "column", (json_int_t)col);
    if (var && e->details) json_object_set_new(e->details, "variable", json_stringn(var, var_len));
    return -1;
}

static int src_err(siyu_err *e, const char *src, size_t off, const char *var, size_t var_len,
                   const char *what)
{
    uint32_t line, col;
    position(src, off, &line, &col);
    return pos_err(e, SIYU_INVALID_ARGUMENT, "template", off, line, col, var, var_len, "%s", what);
}

/* Levenshtein distance, capped: only tiny names are ever compared. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[64];
    if (la >= 63 || lb >= 63) return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t sub =
                diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            size_t best = sub < up + 1 ? sub : up + 1;
            row[j] = best < row[j - 1] + 1 ? best : row[j - 1] + 1;
            diag = up;
        }
    }
    return row[lb];
}

static const char *suggest(const char *name, size_t len)
{
    const char *best = NULL;
    size_t best_d = 3; /* suggest only within two edits (case differences are free) */
    for (int i = 0; i < MSG_VAR_COUNT; i++) {
        size_t d = edit_distance(name, len, var_names[i], strlen(var_names[i]));
        if (d < best_d) {
            best_d = d;
            best = var_names[i];
        }
    }
    return best;
}

static int name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

static int push_seg(msg_template *t, size_t *cap, tpl_seg s)
{
    if (t->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        tpl_seg *n = realloc(t->segs, ncap * sizeof *n);
        if (!n) return -1;
        t->segs = n;
        *cap = ncap;
    }
    t->segs[t->n++] = s;
    return 0;
}

int msg_template_compile(const char *src, size_t len, msg_template **out, siyu_err *e)
{
    *out = NULL;
    if (!src || len == 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "template", "template: empty");
    if (len > MSG_TEMPLATE_MAX_BYTES)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "template", "template: longer than %d bytes",
                            MSG_TEMPLATE_MAX_BYTES);
    size_t bad = msg_utf8_check(src, len);
    if (bad < len)
        return src_err(e, src, bad, NULL, 0,
                       src[bad] ? "not valid UTF-8" : "contains a NUL character");

    msg_template *t = calloc(1, sizeof *t);
    size_t cap = 0, lit_len = 0, lit_start = 0, nvars = 0;
    if (!t || !(t->lit = malloc(len + 1))) goto oom;
    size_t i = 0;
    while (i < len) {
        char c = src[i];
        if (c == '\\' && i + 1 < len &&
            (src[i + 1] == '{' || src[i + 1] == '}' || src[i + 1] == '\\')) {
            t->lit[lit_len++] = src[i + 1];
            i += 2;
            continue;
        }
        if (c == '}' && i + 1 < len && src[i + 1] == '}') {
            src_err(e, src, i, NULL, 0,
                    "unmatched }} (a variable is written {{name}}; a literal } is written \\})");
            goto fail;
        }
        if (!(c == '{' && i + 1 < len && src[i + 1] == '{')) {
            t->lit[lit_len++] = c;
            i++;
            continue;
        }
        /* a placeholder: {{ spaces name spaces }} */
        size_t open = i, j = i + 2;
        while (j < len && (src[j] == ' ' || src[j] == '\t'))
            j++;
        size_t ns = j;
        while (j < len && name_char(src[j]))
            j++;
        size_t ne = j;
        while (j < len && (src[j] == ' ' || src[j] == '\t'))
            j++;
        if (!(j + 1 < len && src[j] == '}' && src[j + 1] == '}')) {
            char what[200];
            if (j == open + 2 && j < len && src[j] == '{')
                snprintf(what, sizeof what,
                         "{{{ is not a placeholder (a literal { is written \\{)");
            else if (j >= len || src[j] == '\n' || src[j] == '{' || src[j] == '}')
                snprintf(what, sizeof what, "{{ is not closed by }}");
            else {
                size_t clen = msg_utf8_len((unsigned char)src[j]);
                if (j + clen > len) clen = 1;
                snprintf(what, sizeof what,
                         "malformed placeholder: expected }} after \"%.*s\","
                         " found '%.*s'",
                         (int)(j - open > 60 ? 60 : j - open), src + open, (int)clen, src + j);
            }
            src_err(e, src, open, ns < ne ? src + ns : NULL, ne - ns, what);
            goto fail;
        }
        if (ns == ne) {
            src_err(e, src, open, NULL, 0, "empty placeholder {{}}");
            goto fail;
        }
        int v = msg_var_from_name(src + ns, ne - ns);
        if (v < 0) {
            char what[200];
            const char *hint = suggest(src + ns, ne - ns);
            int nl = (int)(ne - ns > 60 ? 60 : ne - ns);
            if (hint)
                snprintf(what, sizeof what, "unknown variable {{%.*s}}; did you mean {{%s}}?", nl,
                         src + ns, hint);
            else
                snprintf(what, sizeof what, "unknown variable {{%.*s}}", nl, src + ns);
            src_err(e, src, open, src + ns, ne - ns, what);
            goto fail;
        }
        if (++nvars > MSG_TEMPLATE_MAX_VARS) {
            char what[80];
            snprintf(what, sizeof what, "more than %d placeholders", MSG_TEMPLATE_MAX_VARS);
            src_err(e, src, open, NULL, 0, what);
            goto fail;
        }
        if (lit_len > lit_start) {
            tpl_seg s = {-1, (uint32_t)lit_start, (uint32_t)(lit_len - lit_start), 0, 0, 0};
            if (push_seg(t, &cap, s)) goto oom;
            lit_start = lit_len;
        }
        tpl_seg s = {v, 0, 0, (uint32_t)open, 0, 0};
        position(src, open, &s.line, &s.col);
        if (push_seg(t, &cap, s)) goto oom;
        t->vars |= MSG_VAR_BIT(v);
        i = j + 2;
    }
    if (lit_len > lit_start) {
        tpl_seg s = {-1, (uint32_t)lit_start, (uint32_t)(lit_len - lit_start), 0, 0, 0};
        if (push_seg(t, &cap, s)) goto oom;
    }
    t->lit[lit_len] = 0;
    *out = t;
    return 0;
oom:
    siyu_err_set(e, SIYU_INTERNAL, NULL, "template: out of memory");
fail:
    msg_template_free(t);
    return -1;
}

int msg_template_check_available(const msg_template *t, uint32_t available, siyu_err *e)
{
    for (size_t i = 0; i < t->n; i++) {
        const tpl_seg *s = &t->segs[i];
        if (s->var >= 0 && !(available & MSG_VAR_BIT(s->var))) {
            const char *name = var_names[s->var];
            return pos_err(e, SIYU_INVALID_ARGUMENT, "template", s->src_off, s->line, s->col, name,
                           strlen(name), "{{%s}} has no value at this step", name);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- rendering */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static int buf_add(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *p = realloc(b->p, ncap);
        if (!p) return -1;
        b->p = p;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

/* The value of a variable: the dotted key first, then the nested path. */
static json_t *lookup(json_t *values, const char *name)
{
    if (!json_is_object(values)) return NULL;
    json_t *v = json_object_get(values, name);
    if (v && !json_is_null(v)) return v;
    json_t *cur = values;
    const char *p = name;
    while (cur && json_is_object(cur)) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        cur = json_object_getn(cur, p, n);
        if (!dot) return cur && !json_is_null(cur) ? cur : NULL;
        p = dot + 1;
    }
    return NULL;
}

/* Appends a value's text, each layout-control character replaced by one space. */
static int add_clean(buf *b, const char *s, size_t n)
{
    size_t i = 0, run = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = msg_utf8_decode(s + i, n - i, &cp);
        if (k == 0) return -1; /* checked by the caller; defensive */
        if (msg_utf8_is_layout_control(cp)) {
            if (buf_add(b, s + run, i - run) || buf_add(b, " ", 1)) return -1;
            run = i + k;
        }
        i += k;
    }
    return buf_add(b, s + run, n - run);
}

int msg_template_render(const msg_template *t, json_t *values, char **out, siyu_err *e)
{
    *out = NULL;
    buf b = {0};
    for (size_t i = 0; i < t->n; i++) {
        const tpl_seg *s = &t->segs[i];
        if (s->var < 0) {
            if (buf_add(&b, t->lit + s->off, s->len)) goto oom;
            continue;
        }
        const char *name = var_names[s->var];
        size_t nl = strlen(name);
        json_t *v = lookup(values, name);
        if (!v) {
            pos_err(e, SIYU_UNPROCESSABLE, name, s->src_off, s->line, s->col, name, nl,
                    "no value for {{%s}}", name);
            goto fail;
        }
        if (json_is_integer(v)) {
            char num[32];
            int k = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            if (buf_add(&b, num, (size_t)k)) goto oom;
        } else if (json_is_string(v)) {
            const char *sv = json_string_value(v);
            size_t sl = json_string_length(v);
            if (sl > MSG_VALUE_MAX_BYTES) {
                pos_err(e, SIYU_INVALID_ARGUMENT, name, s->src_off, s->line, s->col, name, nl,
                        "value longer than %d bytes", MSG_VALUE_MAX_BYTES);
                goto fail;
            }
            if (msg_utf8_check_nul_ok(sv, sl) < sl) {
                pos_err(e, SIYU_INVALID_ARGUMENT, name, s->src_off, s->line, s->col, name, nl,
                        "value is not valid UTF-8");
                goto fail;
            }
            if (add_clean(&b, sv, sl)) goto oom;
        } else {
            pos_err(e, SIYU_INVALID_ARGUMENT, name, s->src_off, s->line, s->col, name, nl,
                    "expected a string or an integer value");
            goto fail;
        }
        if (b.len > MSG_RENDER_MAX_BYTES) {
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, "template",
                         "template: rendered message longer than %d bytes", MSG_RENDER_MAX_BYTES);
            goto fail;
        }
    }
    if (b.len > MSG_RENDER_MAX_BYTES) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "template",
                     "template: rendered message longer than %d bytes", MSG_RENDER_MAX_BYTES);
        goto fail;
    }
    if (!b.p && buf_add(&b, "", 0)) goto oom;
    *out = b.p;
    return 0;
oom:
    siyu_err_set(e, SIYU_INTERNAL, NULL, "template: out of memory");
fail:
    free(b.p);
    return -1;
}
