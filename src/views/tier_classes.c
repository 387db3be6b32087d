/* tier_classes.c — the members' tiers, read from the member index, as report classes.
 *
 * The loyalty engine keeps each member's current tier in the member index (the `tier`
 * column, seg_index_set_tier); the reports keep no copy, so a tier change needs no
 * write here. A tier leaderboard asks the index once per report: its tiers (a
 * breakdown by tier), then each tier's members, into a reports_classes table.
 * It lives with the views, which own both the index and the reports, so the
 * reports never depend on the index. */
#include <stdio.h>
#include <string.h>

#include "segment/eval.h"
#include "views/views.h"

/* `tier = "<label>"` with the language's \" and \\ escapes */
static int tier_expr(const char *label, seg_expr **out, seg_error *se)
{
    char text[160] = "tier = \"";
    size_t n = strlen(text);
    for (const char *p = label; *p && n < sizeof text - 4; p++) {
        if (*p == '"' || *p == '\\') text[n++] = '\\';
        text[n++] = *p;
    }
    text[n++] = '"';
    text[n] = 0;
    return seg_parse(text, NULL, out, se);
}

reports_classes *views_tier_classes(struct seg_index *idx, siyu_err *e)
{
    seg_error se = {0};
    seg_expr *all = NULL;
    seg_breakdown bd = {0};
    /* every member: orders is never negative */
    if (seg_parse("orders >= 0", NULL, &all, &se) ||
        seg_breakdown_by(idx, all, NULL, "tier", &bd, &se)) {
        seg_expr_free(all);
        siyu_err_set(e, SIYU_INTERNAL, NULL, "tiers: %s", se.msg);
        return NULL;
    }
    seg_expr_free(all);
    reports_classes *c = reports_classes_new(NULL);
    for (size_t i = 0; i < bd.n; i++) {
        if (!bd.rows[i].label[0]) continue; /* no tier: the default label */
        seg_expr *ex = NULL;
        seg_audience a = {0};
        if (tier_expr(bd.rows[i].label, &ex, &se) || seg_select(idx, ex, NULL, &a, &se)) {
            seg_expr_free(ex);
            seg_breakdown_release(&bd);
            reports_classes_free(c);
            siyu_err_set(e, SIYU_INTERNAL, NULL, "tiers: %s", se.msg);
            return NULL;
        }
        reports_classes_add(c, bd.rows[i].label, a.ids, a.count);
        seg_audience_release(&a);
        seg_expr_free(ex);
    }
    seg_breakdown_release(&bd);
    return c;
}
