/* print.c — the canonical printed form of an expression (`siyu segment explain`).
 *
 * Lower-case keywords and attribute names, strings quoted with \" and \\ escapes,
 * single spaces, one level of "and"/"or" per group (the parser flattens), and
 * parentheses exactly where a reader could misread precedence: an "and" group inside
 * "or", an "or" group inside "and", any group under "not". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment/seg_internal.h"

typedef struct sbuf {
    char *s;
    size_t n, cap;
    bool oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t len)
{
    if (b->oom) return;
    if (b->n + len + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 64;
        while (nc < b->n + len + 1)
            nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->n, s, len);
    b->n += len;
    b->s[b->n] = 0;
}

static void puts_(sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_quoted(sbuf *b, const char *s, size_t len)
{
    put(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\') put(b, "\\", 1);
        put(b, s + i, 1);
    }
    put(b, "\"", 1);
}

static void put_lit(sbuf *b, const seg_lit *l)
{
    char num[32];
    switch (l->kind) {
    case SEG_L_INT:
        snprintf(num, sizeof num, "%lld", (long long)l->i);
        puts_(b, num);
        break;
    case SEG_L_DEC:
    case SEG_L_DATE:
        puts_(b, l->s);
        break;
    case SEG_L_STR:
        put_quoted(b, l->s, l->slen);
        break;
    }
}

static const char *op_text(seg_op op)
{
    static const char *const t[] = {"=", "!=", "<", "<=", ">", ">="};
    return t[op];
}

static void put_node(sbuf *b, const seg_node *n, seg_node_kind parent);

static void put_node(sbuf *b, const seg_node *n, seg_node_kind parent)
{
    char num[32];
    switch (n->kind) {
    case SEG_N_OR:
    case SEG_N_AND: {
        bool paren = parent == SEG_N_AND || parent == SEG_N_OR || parent == SEG_N_NOT;
        if (paren) put(b, "(", 1);
        for (size_t i = 0; i < n->n; i++) {
            if (i) puts_(b, n->kind == SEG_N_OR ? " or " : " and ");
            put_node(b, n->kids[i], n->kind);
        }
        if (paren) put(b, ")", 1);
        break;
    }
    case SEG_N_NOT:
        puts_(b, "not ");
        put_node(b, n->kids[0], SEG_N_NOT);
        break;
    case SEG_N_TAG:
        puts_(b, "tag:");
        put_quoted(b, n->name, n->name_len);
        break;
    case SEG_N_SEGMENT:
        puts_(b, "segment:");
        if (n->name) {
            put_quoted(b, n->name, n->name_len);
        } else {
            snprintf(num, sizeof num, "%lld", (long long)n->seg_id);
            puts_(b, num);
        }
        break;
    case SEG_N_FLAG:
        puts_(b, seg_attrs[n->attr].name);
        break;
    case SEG_N_CMP:
        puts_(b, seg_attrs[n->attr].name);
        put(b, " ", 1);
        puts_(b, op_text(n->op));
        put(b, " ", 1);
        put_lit(b, &n->lits[0]);
        break;
    case SEG_N_IN:
        puts_(b, seg_attrs[n->attr].name);
        puts_(b, " in (");
        for (size_t i = 0; i < n->n; i++) {
            if (i) puts_(b, ", ");
            put_lit(b, &n->lits[i]);
        }
        put(b, ")", 1);
        break;
    case SEG_N_BETWEEN:
        puts_(b, seg_attrs[n->attr].name);
        puts_(b, " between ");
        put_lit(b, &n->lits[0]);
        puts_(b, " and ");
        put_lit(b, &n->lits[1]);
        break;
    }
}

char *seg_print(const seg_expr *e)
{
    sbuf b = {0};
    if (!e) return NULL;
    put_node(&b, e->root, SEG_N_CMP);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
