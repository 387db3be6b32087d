/* classes.c — a member-id → label table, the ready-made classifier of reports.h.
 *
 * Callers that hold classes elsewhere (tiers in the member index) hand them over as
 * lists of ids per label; the leaderboard then asks per member. Ids are sorted once,
 * on the first lookup, so adding stays O(1) and a lookup is a binary search. */
#include <stdlib.h>
#include <string.h>

#include "reports/reports.h"

typedef struct entry {
    int64_t id;
    uint32_t label, seq; /* seq: the later add wins for an id added twice */
} entry;

struct reports_classes {
    char **labels; /* [0]: the default */
    size_t n_labels;
    entry *v;
    size_t n, cap;
    bool sorted;
};

static void *xalloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) abort();
    return q;
}

reports_classes *reports_classes_new(const char *default_label)
{
    reports_classes *c = xalloc(NULL, sizeof *c);
    memset(c, 0, sizeof *c);
    c->labels = xalloc(NULL, sizeof *c->labels);
    c->labels[0] = strdup(default_label ? default_label : "");
    c->n_labels = 1;
    return c;
}

void reports_classes_free(reports_classes *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n_labels; i++)
        free(c->labels[i]);
    free(c->labels);
    free(c->v);
    free(c);
}

void reports_classes_add(reports_classes *c, const char *label, const int64_t *ids, size_t n)
{
    size_t li = 0;
    while (li < c->n_labels && strcmp(c->labels[li], label ? label : "") != 0)
        li++;
    if (li == c->n_labels) {
        c->labels = xalloc(c->labels, (c->n_labels + 1) * sizeof *c->labels);
        c->labels[c->n_labels++] = strdup(label ? label : "");
    }
    if (c->n + n > c->cap) {
        c->cap = (c->n + n) * 2;
        c->v = xalloc(c->v, c->cap * sizeof *c->v);
    }
    for (size_t i = 0; i < n; i++, c->n++)
        c->v[c->n] = (entry){ids[i], (uint32_t)li, (uint32_t)c->n};
    c->sorted = false;
}

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

const char *reports_classes_classify(void *ctx, int64_t member_id)
{
    reports_classes *c = ctx;
    if (!c->sorted) { /* the first lookup of a report, before any concurrent use */
        qsort(c->v, c->n, sizeof *c->v, entry_cmp);
        c->sorted = true;
    }
    size_t lo = 0, hi = c->n; /* the last entry with this id */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->v[mid].id <= member_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0 && c->v[lo - 1].id == member_id) return c->labels[c->v[lo - 1].label];
    return c->labels[0];
}
