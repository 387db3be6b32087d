/* groupfacts.c — the facts the group view reads: orders by day with their member and
 * time, and conversion per home store (src/views/group_view.c, docs/communities.md). */
#include <stdlib.h>
#include <string.h>

#include "reports/internal.h"

void reports_each_order(reports_t *r, int32_t from, int32_t to,
                        void (*fn)(void *ctx, const reports_order_ref *o), void *ctx)
{
    pthread_rwlock_rdlock(&r->lock);
    for (int32_t d = from; d <= to; d++) {
        const rp_vec *b = rp_day(r, d);
        for (uint32_t i = 0; i < b->n; i++) {
            uint32_t o = b->v[i];
            int32_t m = r->o_member[o];
            if (m < 0 || !rp_valid(r, o)) continue;
            reports_order_ref x = {.member_id = r->m_id[m],
                                   .order_id = r->o_id[o],
                                   .placed_at = r->o_at[o],
                                   .total = r->o_total[o],
                                   .refunded = r->o_refunded[o]};
            fn(ctx, &x);
        }
    }
    pthread_rwlock_unlock(&r->lock);
}

static int by_store(const void *a, const void *b)
{
    int64_t x = ((const reports_group_conv *)a)->store_id,
            y = ((const reports_group_conv *)b)->store_id;
    return x < y ? -1 : x > y;
}

size_t reports_group_conversion(reports_t *r, int32_t from, int32_t to, int64_t store_id,
                                const int64_t *in_group, size_t n_in, reports_group_conv **out)
{
    pthread_rwlock_rdlock(&r->lock);
    size_t nm = r->n_members;
    /* bit 0: in a group; bit 1: bought in the period */
    uint8_t *flag = calloc(nm ? nm : 1, 1);
    for (size_t i = 0; i < n_in; i++) {
        int32_t m = rp_map_get(&r->member_ix, in_group[i]);
        if (m >= 0) flag[m] |= 1;
    }
    for (int32_t d = from; d <= to; d++) {
        const rp_vec *b = rp_day(r, d);
        for (uint32_t i = 0; i < b->n; i++) {
            uint32_t o = b->v[i];
            if (r->o_member[o] >= 0 && rp_valid(r, o)) flag[r->o_member[o]] |= 2;
        }
    }
    reports_group_conv *per = calloc(r->n_stores ? r->n_stores : 1, sizeof *per);
    for (size_t m = 0; m < nm; m++) {
        int32_t s = r->m_store[m];
        if (!r->m_alive[m] || s < 0 || r->m_join_day[m] > to) continue;
        if (store_id && r->s_id[s] != store_id) continue;
        int ing = flag[m] & 1, bought = (flag[m] >> 1) & 1;
        per[s].n[ing]++;
        per[s].b[ing] += bought;
    }
    size_t n = 0;
    for (size_t s = 0; s < r->n_stores; s++) {
        if (!per[s].n[0] && !per[s].n[1]) continue;
        per[s].store_id = r->s_id[s];
        per[n++] = per[s];
    }
    pthread_rwlock_unlock(&r->lock);
    free(flag);
    qsort(per, n, sizeof *per, by_store);
    *out = per;
    return n;
}
