/* parse.c — lexer and recursive-descent parser for spec/segments.md.
 *
 * The grammar is small enough that the lexer is a function the parser calls for the
 * next token; every token remembers its byte offset so each error names the column
 * (counted in UTF-8 code points, 1-based). Types are checked here, against the
 * attribute table, so a bad comparison is an error at parse time — never an empty
 * audience at evaluation time. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "segment/seg_internal.h"

void seg_err_set(seg_error *err, int column, const char *fmt, ...)
{
    if (!err) return;
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    err->column = column;
    if (column > 0)
        snprintf(err->msg, sizeof err->msg, "column %d: %s", column, buf);
    else
        snprintf(err->msg, sizeof err->msg, "%s", buf);
}

/* ================= lexer ================= */

typedef enum tok_kind {
    TK_EOF,
    TK_LP,
    TK_RP,
    TK_COMMA,
    TK_COLON,
    TK_OP,
    TK_IDENT,
    TK_INT,
    TK_DEC,
    TK_STR,
    TK_DATE,
    TK_AND,
    TK_OR,
    TK_NOT,
    TK_IN,
    TK_BETWEEN
} tok_kind;

typedef struct tok {
    tok_kind kind;
    size_t off, len; /* bytes of the source */
    seg_op op;
    seg_lit lit; /* for literals; lit.s owned by the parser until moved */
} tok;

typedef struct parser {
    const char *src;
    size_t len, pos;
    tok t; /* current token */
    const seg_index *idx;
    seg_error *err;
    int depth;
    bool failed;
} parser;

static int column_of(const parser *p, size_t off)
{
    int col = 1;
    for (size_t i = 0; i < off && i < p->len; i++)
        if (((unsigned char)p->src[i] & 0xC0) != 0x80) col++;
    return col;
}

static int fail(parser *p, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parser *p, size_t off, const char *fmt, ...)
{
    if (p->failed) return -1;
    p->failed = true;
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    seg_err_set(p->err, column_of(p, off), "%s", buf);
    return -1;
}

/* A printable excerpt of a token for error messages (truncated at 40 bytes, whole
 * UTF-8 characters). */
static void tok_text(const parser *p, const tok *t, char *out, size_t cap)
{
    if (t->kind == TK_EOF) {
        snprintf(out, cap, "end of expression");
        return;
    }
    size_t n = t->len < 40 ? t->len : 40;
    while (n < t->len && n > 0 && ((unsigned char)p->src[t->off + n] & 0xC0) == 0x80)
        n--;
    snprintf(out, cap, "\"%.*s\"", (int)n, p->src + t->off);
}

static bool is_ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
static bool is_ident_char(unsigned char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.';
}
static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void lit_clear(seg_lit *l)
{
    free(l->s);
    memset(l, 0, sizeof *l);
}

int32_t seg_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153u * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int32_t)doe - 719468;
}

void seg_civil_from_days(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)yoe + era * 400 + (*m <= 2);
}

static int lex_number(parser *p, size_t start)
{
    const char *s = p->src;
    size_t i = start;
    bool neg = false;
    if (s[i] == '-') {
        neg = true;
        i++;
    }
    size_t dstart = i;
    while (i < p->len && is_digit(s[i]))
        i++;
    size_t ndig = i - dstart;
    /* a date: exactly dddd-dd-dd */
    if (!neg && ndig == 4 && i + 6 <= p->len && s[i] == '-' && is_digit(s[i + 1]) &&
        is_digit(s[i + 2]) && s[i + 3] == '-' && is_digit(s[i + 4]) && is_digit(s[i + 5]) &&
        (i + 6 == p->len || !is_ident_char((unsigned char)s[i + 6]))) {
        int y = atoi(s + start), m = (s[i + 1] - '0') * 10 + (s[i + 2] - '0'),
            d = (s[i + 4] - '0') * 10 + (s[i + 5] - '0');
        static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
            return fail(p, start, "invalid date \"%.10s\"", s + start);
        p->t.kind = TK_DATE;
        p->t.len = i + 6 - start;
        p->t.lit.kind = SEG_L_DATE;
        p->t.lit.i = seg_days_from_civil(y, m, d);
        p->t.lit.d = (double)p->t.lit.i;
        p->t.lit.s = strndup(s + start, 10);
        return p->t.lit.s ? 0 : fail(p, start, "out of memory");
    }
    bool dec = false;
    size_t fstart = 0, nfrac = 0;
    if (i < p->len && s[i] == '.' && i + 1 < p->len && is_digit(s[i + 1])) {
        dec = true;
        fstart = ++i;
        while (i < p->len && is_digit(s[i]))
            i++;
        nfrac = i - fstart;
    }
    if (i < p->len && is_ident_char((unsigned char)s[i]))
        return fail(p, start, "malformed number \"%.*s\"", (int)(i - start + 1), s + start);
    p->t.len = i - start;
    if (ndig + nfrac > 18)
        return fail(p, start, "number \"%.*s\" has too many digits", (int)p->t.len, s + start);
    int64_t v = 0;
    for (size_t k = dstart; k < dstart + ndig; k++)
        v = v * 10 + (s[k] - '0');
    if (!dec) {
        p->t.kind = TK_INT;
        p->t.lit.kind = SEG_L_INT;
        p->t.lit.i = neg ? -v : v;
        p->t.lit.d = (double)p->t.lit.i;
        p->t.lit.num = p->t.lit.i;
        return 0;
    }
    for (size_t k = fstart; k < fstart + nfrac; k++)
        v = v * 10 + (s[k] - '0');
    p->t.kind = TK_DEC;
    p->t.lit.kind = SEG_L_DEC;
    p->t.lit.num = neg ? -v : v;
    p->t.lit.scale = (int)nfrac;
    p->t.lit.s = strndup(s + start, p->t.len);
    if (!p->t.lit.s) return fail(p, start, "out of memory");
    p->t.lit.d = strtod(p->t.lit.s, NULL);
    return 0;
}

static int lex_string(parser *p, size_t start)
{
    const char *s = p->src;
    size_t i = start + 1;
    char *buf = malloc(p->len - start + 1);
    size_t n = 0;
    if (!buf) return fail(p, start, "out of memory");
    for (;;) {
        if (i >= p->len) {
            free(buf);
            return fail(p, start, "unterminated string");
        }
        char c = s[i];
        if (c == '"') break;
        if (c == '\\') {
            if (i + 1 < p->len && (s[i + 1] == '"' || s[i + 1] == '\\')) {
                buf[n++] = s[i + 1];
                i += 2;
                continue;
            }
            free(buf);
            if (i + 1 >= p->len) return fail(p, start, "unterminated string");
            return fail(p, i, "unknown escape \"\\%c\" (only \\\" and \\\\)", s[i + 1]);
        }
        buf[n++] = c;
        i++;
    }
    buf[n] = 0;
    p->t.kind = TK_STR;
    p->t.len = i + 1 - start;
    p->t.lit.kind = SEG_L_STR;
    p->t.lit.s = buf;
    p->t.lit.slen = n;
    return 0;
}

/* Reads the next token into p->t (freeing the previous literal). */
static int next(parser *p)
{
    lit_clear(&p->t.lit);
    const char *s = p->src;
    while (p->pos < p->len &&
           (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' || s[p->pos] == '\r'))
        p->pos++;
    size_t start = p->pos;
    p->t.off = start;
    p->t.len = 1;
    if (start >= p->len) {
        p->t.kind = TK_EOF;
        p->t.len = 0;
        return 0;
    }
    char c = s[start];
    int rc = 0;
    switch (c) {
    case '(':
        p->t.kind = TK_LP;
        break;
    case ')':
        p->t.kind = TK_RP;
        break;
    case ',':
        p->t.kind = TK_COMMA;
        break;
    case ':':
        p->t.kind = TK_COLON;
        break;
    case '=':
        p->t.kind = TK_OP;
        p->t.op = SEG_OP_EQ;
        break;
    case '!':
        if (start + 1 < p->len && s[start + 1] == '=') {
            p->t.kind = TK_OP;
            p->t.op = SEG_OP_NE;
            p->t.len = 2;
        } else {
            return fail(p, start, "unexpected \"!\" (did you mean != or not?)");
        }
        break;
    case '<':
    case '>':
        p->t.kind = TK_OP;
        if (start + 1 < p->len && s[start + 1] == '=') {
            p->t.op = c == '<' ? SEG_OP_LE : SEG_OP_GE;
            p->t.len = 2;
        } else if (c == '<' && start + 1 < p->len && s[start + 1] == '>') {
            p->t.op = SEG_OP_NE;
            p->t.len = 2;
        } else {
            p->t.op = c == '<' ? SEG_OP_LT : SEG_OP_GT;
        }
        break;
    case '"':
        rc = lex_string(p, start);
        break;
    default:
        if (is_digit(c) || (c == '-' && start + 1 < p->len && is_digit(s[start + 1]))) {
            rc = lex_number(p, start);
        } else if (is_ident_start((unsigned char)c)) {
            size_t i = start;
            while (i < p->len && is_ident_char((unsigned char)s[i]))
                i++;
            p->t.len = i - start;
            p->t.kind = TK_IDENT;
            static const struct {
                const char *w;
                tok_kind k;
            } kw[] = {{"and", TK_AND},
                      {"or", TK_OR},
                      {"not", TK_NOT},
                      {"in", TK_IN},
                      {"between", TK_BETWEEN}};
            for (size_t k = 0; k < sizeof kw / sizeof kw[0]; k++)
                if (strlen(kw[k].w) == p->t.len && strncasecmp(kw[k].w, s + start, p->t.len) == 0)
                    p->t.kind = kw[k].k;
        } else {
            int clen = 1;
            while (start + clen < p->len && ((unsigned char)s[start + clen] & 0xC0) == 0x80)
                clen++;
            return fail(p, start, "unexpected \"%.*s\"", clen, s + start);
        }
    }
    if (rc == 0) p->pos = start + p->t.len;
    return rc;
}

/* ================= parser ================= */

static seg_node *node_new(parser *p, seg_node_kind k, size_t off)
{
    seg_node *n = calloc(1, sizeof *n);
    if (!n) {
        fail(p, off, "out of memory");
        return NULL;
    }
    n->kind = k;
    n->column = column_of(p, off);
    return n;
}

void seg_node_free(seg_node *n)
{
    if (!n) return;
    if (n->kids)
        for (size_t i = 0; i < n->n; i++)
            seg_node_free(n->kids[i]);
    if (n->lits)
        for (size_t i = 0; i < n->n; i++)
            free(n->lits[i].s);
    free(n->kids);
    free(n->lits);
    free(n->name);
    free(n);
}

void seg_expr_free(seg_expr *e)
{
    if (!e) return;
    seg_node_free(e->root);
    free(e);
}

static int add_kid(parser *p, seg_node *n, seg_node *k)
{
    /* flatten a and (b and c) into one group: the canonical form has no redundant
     * parentheses, so print/parse round-trips */
    if (k->kind == n->kind && (k->kind == SEG_N_AND || k->kind == SEG_N_OR)) {
        for (size_t i = 0; i < k->n; i++)
            if (add_kid(p, n, k->kids[i]) != 0) {
                for (size_t j = i + 1; j < k->n; j++)
                    seg_node_free(k->kids[j]);
                k->n = 0;
                seg_node_free(k);
                return -1;
            }
        k->n = 0;
        seg_node_free(k);
        return 0;
    }
    seg_node **nk = realloc(n->kids, (n->n + 1) * sizeof *nk);
    if (!nk) {
        seg_node_free(k);
        return fail(p, 0, "out of memory");
    }
    n->kids = nk;
    n->kids[n->n++] = k;
    return 0;
}

static seg_node *parse_or(parser *p);

static const char *type_word(seg_lit_kind k)
{
    switch (k) {
    case SEG_L_INT:
        return "an integer";
    case SEG_L_DEC:
        return "a decimal";
    case SEG_L_STR:
        return "a string";
    default:
        return "a date";
    }
}

/* Is literal l acceptable for attribute a? Fails with the literal's column if not. */
static int check_lit(parser *p, seg_attr_id a, const seg_lit *l, size_t off)
{
    const seg_attr_info *ai = &seg_attrs[a];
    switch (ai->type) {
    case SEG_T_CAT_INT:
        if (l->kind != SEG_L_INT)
            return fail(p, off, "%s is an id and compares with integers, not %s", ai->name,
                        type_word(l->kind));
        return 0;
    case SEG_T_CAT_STR:
        if (l->kind != SEG_L_STR)
            return fail(p, off, "%s compares with strings, not %s", ai->name, type_word(l->kind));
        return 0;
    case SEG_T_ENUM:
        if (l->kind != SEG_L_STR)
            return fail(p, off, "%s compares with strings, not %s", ai->name, type_word(l->kind));
        if (a == SEG_A_RFM) {
            for (int i = 0; i < SEG_RFM_CLASSES; i++)
                if (strlen(seg_rfm_names[i]) == l->slen &&
                    memcmp(seg_rfm_names[i], l->s, l->slen) == 0)
                    return 0;
            return fail(p, off,
                        "unknown rfm class \"%.40s\" (重要价值, 重要发展, 重要保持, 重要挽留, "
                        "一般价值, 一般发展, 一般保持, 一般挽留)",
                        l->s);
        }
        for (int i = 0; i < SEG_LIFECYCLE_STAGES; i++)
            if (strlen(seg_lifecycle_names[i]) == l->slen &&
                strncasecmp(seg_lifecycle_names[i], l->s, l->slen) == 0) {
                memcpy(((seg_lit *)l)->s, seg_lifecycle_names[i], l->slen); /* canonical case */
                return 0;
            }
        return fail(p, off,
                    "unknown lifecycle stage \"%.40s\" (prospect, new, active, at_risk, "
                    "lapsed, won_back)",
                    l->s);
    case SEG_T_INT:
    case SEG_T_DEC:
        if (l->kind != SEG_L_INT && l->kind != SEG_L_DEC)
            return fail(p, off, "%s is a number and cannot be compared with %s", ai->name,
                        type_word(l->kind));
        return 0;
    case SEG_T_DATE:
        if (l->kind != SEG_L_DATE)
            return fail(p, off, "%s is a date (write 2026-11-22), not %s", ai->name,
                        type_word(l->kind));
        return 0;
    case SEG_T_FLAG:
        break;
    }
    return fail(p, off, "%s is a flag: use it alone or with not", ai->name);
}

/* Takes the current token as a literal for attribute a, moving it into *out. */
static int take_lit(parser *p, seg_attr_id a, seg_lit *out)
{
    if (p->t.kind != TK_INT && p->t.kind != TK_DEC && p->t.kind != TK_STR && p->t.kind != TK_DATE) {
        char tt[64];
        tok_text(p, &p->t, tt, sizeof tt);
        return fail(p, p->t.off, "expected a value, found %s", tt);
    }
    if (check_lit(p, a, &p->t.lit, p->t.off) != 0) return -1;
    *out = p->t.lit;
    out->column = column_of(p, p->t.off);
    memset(&p->t.lit, 0, sizeof p->t.lit);
    if (next(p) != 0) {
        /* callers count a literal only when it was taken: on failure it is not theirs */
        lit_clear(out);
        return -1;
    }
    return 0;
}

static seg_node *parse_ref(parser *p, bool is_tag, size_t off)
{
    /* current token: the ':' */
    if (next(p) != 0) return NULL;
    seg_node *n = node_new(p, is_tag ? SEG_N_TAG : SEG_N_SEGMENT, off);
    if (!n) return NULL;
    if (p->t.kind == TK_STR || (is_tag && p->t.kind == TK_IDENT)) {
        if (p->t.kind == TK_STR) {
            n->name = p->t.lit.s;
            n->name_len = p->t.lit.slen;
            p->t.lit.s = NULL;
        } else {
            n->name = strndup(p->src + p->t.off, p->t.len);
            n->name_len = p->t.len;
        }
        if (!n->name) {
            fail(p, off, "out of memory");
            goto bad;
        }
        if (n->name_len == 0) {
            fail(p, off, "empty %s name", is_tag ? "tag" : "segment");
            goto bad;
        }
        if (p->idx) {
            bool found = is_tag ? seg_ix_tag_find(p->idx, n->name, n->name_len) >= 0
                                : seg_ix_saved_by_name(p->idx, n->name, n->name_len) != NULL;
            if (!found) {
                fail(p, p->t.off, "unknown %s \"%.60s\"", is_tag ? "tag" : "segment", n->name);
                goto bad;
            }
        }
    } else if (!is_tag && p->t.kind == TK_INT) {
        n->seg_id = p->t.lit.i;
        if (p->idx && !seg_ix_saved_by_id(p->idx, n->seg_id)) {
            fail(p, p->t.off, "unknown segment %lld", (long long)n->seg_id);
            goto bad;
        }
    } else {
        char tt[64];
        tok_text(p, &p->t, tt, sizeof tt);
        fail(p, p->t.off,
             is_tag ? "expected a tag name after tag:, found %s"
                    : "expected a segment id or \"name\" after segment:, found %s",
             tt);
        goto bad;
    }
    if (next(p) != 0) goto bad;
    return n;
bad:
    seg_node_free(n);
    return NULL;
}

static seg_node *parse_primary(parser *p)
{
    size_t off = p->t.off;
    if (p->t.kind == TK_LP) {
        if (next(p) != 0) return NULL;
        seg_node *n = parse_or(p);
        if (!n) return NULL;
        if (p->t.kind != TK_RP) {
            char tt[64];
            tok_text(p, &p->t, tt, sizeof tt);
            fail(p, p->t.off, "expected \")\" to close the \"(\" at column %d, found %s",
                 column_of(p, off), tt);
            seg_node_free(n);
            return NULL;
        }
        if (next(p) != 0) {
            seg_node_free(n);
            return NULL;
        }
        return n;
    }
    if (p->t.kind != TK_IDENT) {
        char tt[64];
        tok_text(p, &p->t, tt, sizeof tt);
        fail(p, off, "expected an attribute, tag:, segment: or \"(\", found %s", tt);
        return NULL;
    }
    const char *word = p->src + p->t.off;
    size_t wlen = p->t.len;
    /* tag: / segment: */
    if (p->pos < p->len && p->src[p->pos] == ':' &&
        ((wlen == 3 && strncasecmp(word, "tag", 3) == 0) ||
         (wlen == 7 && strncasecmp(word, "segment", 7) == 0))) {
        bool is_tag = wlen == 3;
        if (next(p) != 0) /* the ':' */
            return NULL;
        return parse_ref(p, is_tag, off);
    }
    int a = seg_attr_find(word, wlen);
    if (a < 0) {
        fail(p, off, "unknown attribute \"%.*s\"", (int)(wlen > 60 ? 60 : wlen), word);
        return NULL;
    }
    const seg_attr_info *ai = &seg_attrs[a];
    if (next(p) != 0) return NULL;
    if (ai->type == SEG_T_FLAG) {
        if (p->t.kind == TK_OP || p->t.kind == TK_IN || p->t.kind == TK_BETWEEN) {
            fail(p, p->t.off, "%s is a flag: use it alone or with not", ai->name);
            return NULL;
        }
        seg_node *n = node_new(p, SEG_N_FLAG, off);
        if (n) n->attr = (seg_attr_id)a;
        return n;
    }
    bool categorical =
        ai->type == SEG_T_CAT_INT || ai->type == SEG_T_CAT_STR || ai->type == SEG_T_ENUM;
    seg_node *n = NULL;
    if (p->t.kind == TK_OP) {
        if (categorical && p->t.op != SEG_OP_EQ && p->t.op != SEG_OP_NE) {
            fail(p, p->t.off, "%s is categorical: use =, != or in", ai->name);
            return NULL;
        }
        n = node_new(p, SEG_N_CMP, off);
        if (!n) return NULL;
        n->attr = (seg_attr_id)a;
        n->op = p->t.op;
        n->lits = calloc(1, sizeof *n->lits);
        if (!n->lits || next(p) != 0) goto bad;
        n->n = 1;
        if (take_lit(p, n->attr, &n->lits[0]) != 0) goto bad;
        return n;
    }
    if (p->t.kind == TK_IN) {
        n = node_new(p, SEG_N_IN, off);
        if (!n) return NULL;
        n->attr = (seg_attr_id)a;
        if (next(p) != 0) goto bad;
        if (p->t.kind != TK_LP) {
            char tt[64];
            tok_text(p, &p->t, tt, sizeof tt);
            fail(p, p->t.off, "expected \"(\" after in, found %s", tt);
            goto bad;
        }
        if (next(p) != 0) goto bad;
        for (;;) {
            if (n->n >= 4096) {
                fail(p, p->t.off, "too many values in one in (...) list (at most 4096)");
                goto bad;
            }
            seg_lit *nl = realloc(n->lits, (n->n + 1) * sizeof *nl);
            if (!nl) {
                fail(p, off, "out of memory");
                goto bad;
            }
            n->lits = nl;
            memset(&n->lits[n->n], 0, sizeof n->lits[0]);
            if (take_lit(p, n->attr, &n->lits[n->n]) != 0) goto bad;
            n->n++;
            if (p->t.kind == TK_COMMA) {
                if (next(p) != 0) goto bad;
                continue;
            }
            if (p->t.kind == TK_RP) break;
            char tt[64];
            tok_text(p, &p->t, tt, sizeof tt);
            fail(p, p->t.off, "expected \",\" or \")\" in the in (...) list, found %s", tt);
            goto bad;
        }
        if (next(p) != 0) goto bad;
        return n;
    }
    if (p->t.kind == TK_BETWEEN) {
        if (categorical) {
            fail(p, p->t.off, "%s is categorical: use =, != or in", ai->name);
            return NULL;
        }
        n = node_new(p, SEG_N_BETWEEN, off);
        if (!n) return NULL;
        n->attr = (seg_attr_id)a;
        n->lits = calloc(2, sizeof *n->lits);
        if (!n->lits || next(p) != 0) goto bad;
        if (take_lit(p, n->attr, &n->lits[0]) != 0) goto bad;
        n->n = 1;
        if (p->t.kind != TK_AND) {
            char tt[64];
            tok_text(p, &p->t, tt, sizeof tt);
            fail(p, p->t.off, "expected \"and\" in between ... and ..., found %s", tt);
            goto bad;
        }
        if (next(p) != 0 || take_lit(p, n->attr, &n->lits[1]) != 0) goto bad;
        n->n = 2;
        return n;
    }
    {
        char tt[64];
        tok_text(p, &p->t, tt, sizeof tt);
        fail(p, p->t.off, "%s needs a comparison (=, !=, <, <=, >, >=, in, between), found %s",
             ai->name, tt);
    }
    return NULL;
bad:
    seg_node_free(n);
    return NULL;
}

static seg_node *parse_unary(parser *p)
{
    if (p->t.kind != TK_NOT) return parse_primary(p);
    size_t off = p->t.off;
    if (++p->depth > SEG_EXPR_MAX_DEPTH) {
        fail(p, off, "expression nested too deeply (at most %d levels)", SEG_EXPR_MAX_DEPTH);
        return NULL;
    }
    if (next(p) != 0) return NULL;
    seg_node *k = parse_unary(p);
    p->depth--;
    if (!k) return NULL;
    if (k->kind == SEG_N_NOT) { /* not not x == x; keeps the canonical form minimal */
        seg_node *inner = k->kids[0];
        k->n = 0;
        seg_node_free(k);
        return inner;
    }
    seg_node *n = node_new(p, SEG_N_NOT, off);
    if (!n || add_kid(p, n, k) != 0) {
        if (!n) seg_node_free(k);
        seg_node_free(n);
        return NULL;
    }
    return n;
}

static seg_node *parse_group(parser *p, bool is_or)
{
    size_t off = p->t.off;
    if (++p->depth > SEG_EXPR_MAX_DEPTH) {
        fail(p, off, "expression nested too deeply (at most %d levels)", SEG_EXPR_MAX_DEPTH);
        return NULL;
    }
    seg_node *first = is_or ? parse_group(p, false) : parse_unary(p);
    tok_kind sep = is_or ? TK_OR : TK_AND;
    seg_node *n = NULL;
    if (!first) goto out;
    if (p->t.kind != sep) {
        n = first;
        goto out;
    }
    n = node_new(p, is_or ? SEG_N_OR : SEG_N_AND, off);
    if (!n || add_kid(p, n, first) != 0) {
        if (!n) seg_node_free(first);
        seg_node_free(n);
        n = NULL;
        goto out;
    }
    while (p->t.kind == sep) {
        if (next(p) != 0) goto bad;
        seg_node *k = is_or ? parse_group(p, false) : parse_unary(p);
        if (!k || add_kid(p, n, k) != 0) goto bad;
    }
out:
    p->depth--;
    return n;
bad:
    p->depth--;
    seg_node_free(n);
    return NULL;
}

static seg_node *parse_or(parser *p)
{
    return parse_group(p, true);
}

int seg_parse_ix(const char *text, const seg_index *idx, seg_expr **out, seg_error *err)
{
    *out = NULL;
    if (err) {
        err->column = 0;
        err->msg[0] = 0;
    }
    if (!text) {
        seg_err_set(err, 0, "no expression");
        return -1;
    }
    parser p = {.src = text, .len = strlen(text), .idx = idx, .err = err};
    if (p.len > SEG_EXPR_MAX_LEN) {
        seg_err_set(err, 0, "expression longer than %d bytes", SEG_EXPR_MAX_LEN);
        return -1;
    }
    if (next(&p) != 0) goto bad;
    if (p.t.kind == TK_EOF) {
        seg_err_set(err, 1, "empty expression");
        return -1;
    }
    seg_node *root = parse_or(&p);
    if (!root) goto bad;
    if (p.t.kind != TK_EOF) {
        char tt[64];
        tok_text(&p, &p.t, tt, sizeof tt);
        fail(&p, p.t.off,
             p.t.kind == TK_RP ? "unbalanced \")\"" : "expected and, or or the end, found %s", tt);
        seg_node_free(root);
        goto bad;
    }
    seg_expr *e = malloc(sizeof *e);
    if (!e) {
        seg_node_free(root);
        seg_err_set(err, 0, "out of memory");
        goto bad;
    }
    e->root = root;
    *out = e;
    lit_clear(&p.t.lit);
    return 0;
bad:
    lit_clear(&p.t.lit);
    if (!p.failed && err && !err->msg[0]) seg_err_set(err, 0, "out of memory");
    return -1;
}
