/* loyalty_view.c — the member index's tier and points columns, from the loyalty
 * accounts: loaded at start-up, refreshed for every member a write marks with
 * DOM_CHANGE_LOYALTY. `points_balance` in the index is the ledger's sum (pending
 * points included), the same figure siyu check verifies. */
#include <stdio.h>
#include <stdlib.h>

#include "loyalty/loyalty.h"
#include "segment/index.h"
#include "views/views_internal.h"

static void set_member(seg_index *idx, store_conn *c, int64_t member)
{
    char tier[64];
    int64_t points;
    seg_error se;
    if (loyalty_member_state(c, member, tier, sizeof tier, &points)) return;
    if (tier[0]) seg_index_set_tier(idx, member, tier, &se);
    seg_index_set_points(idx, member, points, &se);
}

void loyalty_view_load(seg_index *idx, store_conn *c)
{
    siyu_err e;
    siyu_err_init(&e);
    if (store_begin(c, false, &e)) {
        siyu_err_clear(&e);
        return;
    }
    /* a ladder gives every member a tier, even those without an account row */
    char base[64];
    int64_t points;
    size_t cap = 4096, n = 0;
    int64_t *ids = malloc(cap * sizeof *ids);
    store_stmt *s;
    if (loyalty_member_state(c, 0, base, sizeof base, &points) == 0 && base[0]) {
        seg_error se;
        s = store_q(c, Q_SCAN_MEMBERS);
        while (store_step(s) == STORE_ROW)
            seg_index_set_tier(idx, store_col_int(s, 0), base, &se);
        store_reset(s);
    }
    s = store_q(c, Q_LACCOUNT_SCAN);
    while (store_step(s) == STORE_ROW) {
        if (n == cap) ids = realloc(ids, (cap *= 2) * sizeof *ids);
        ids[n++] = store_col_int(s, 0);
    }
    store_reset(s);
    for (size_t i = 0; i < n; i++)
        set_member(idx, c, ids[i]);
    free(ids);
    store_rollback(c);
}

void loyalty_view_apply(seg_index *idx, store_conn *c, const dom_change *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].kind == DOM_CHANGE_LOYALTY || v[i].kind == DOM_CHANGE_MEMBER ||
            v[i].kind == DOM_CHANGE_MERGE)
            set_member(idx, c, v[i].id);
}
