/* mo.c — the member-major records of member orders.
 *
 * The distinct-member figures (active members, repeat buyers, visit days, churn, and
 * all of them per store, channel, guide or tier) need every member's orders together.
 * Walking the day buckets and looking the member up per order is a random access per
 * order; here each member's orders are one contiguous run of 16-byte records, so the
 * reports read them front to back.
 *
 * Writes stay cheap: a new order goes to its member's tail list, a refund patches the
 * record in place, a merge links the merged-away member under its survivor. A report
 * that finds the tails long rebuilds the runs first (rp_mo_refresh), so the cost of a
 * rebuild (one pass over the orders) is paid once per n/32 new orders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/internal.h"

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "siyu: reports: out of memory (%zu bytes)\n", n);
        abort();
    }
    return q;
}

static rp_mrec rec_of(const reports_t *r, uint32_t o)
{
    return (rp_mrec){.day = r->o_day[o],
                     .store = r->o_store[o],
                     .guide = r->o_guide[o],
                     .ch = r->o_ch[o],
                     .valid = rp_valid(r, o)};
}

void rp_mo_build(reports_t *r)
{
    const size_t nm = r->n_members;
    uint32_t *off = xrealloc(r->mo_off, (nm + 1) * sizeof *off);
    memset(off, 0, (nm + 1) * sizeof *off);
    size_t n = 0;
    for (size_t o = 0; o < r->n_orders; o++)
        if (r->o_member[o] >= 0) {
            off[r->o_member[o] + 1]++;
            n++;
        }
    for (size_t m = 0; m < nm; m++)
        off[m + 1] += off[m];
    rp_mrec *mo = xrealloc(r->mo, n * sizeof *mo);
    uint32_t *cur = xrealloc(NULL, (nm + 1) * sizeof *cur);
    memcpy(cur, off, (nm + 1) * sizeof *cur);
    /* by day, so each member's run comes out in day order */
    for (size_t d = 0; d < r->n_days; d++) {
        const rp_vec *v = &r->bucket[d];
        for (uint32_t i = 0; i < v->n; i++) {
            const uint32_t o = v->v[i];
            const int32_t m = r->o_member[o];
            if (m < 0) {
                r->o_mpos[o] = RP_NO_POS;
                continue;
            }
            const uint32_t p = cur[m]++;
            mo[p] = rec_of(r, o);
            r->o_mpos[o] = p;
        }
    }
    free(cur);
    r->mo_off = off;
    r->mo = mo;
    r->mo_n = n;
    r->mo_members = nm;
    /* merges already moved o_member to the survivors: the runs say it all now */
    for (size_t m = 0; m < nm; m++)
        r->m_tail[m] = r->m_merged[m] = r->m_sib[m] = -1;
    r->n_tail = 0;
}

static bool tail_long(const reports_t *r)
{
    return r->n_tail > 16384 + r->n_orders / 32;
}

void rp_mo_refresh(reports_t *r)
{
    pthread_rwlock_rdlock(&r->lock);
    bool stale = tail_long(r);
    pthread_rwlock_unlock(&r->lock);
    if (!stale) return;
    pthread_rwlock_wrlock(&r->lock);
    if (tail_long(r)) /* another report may have rebuilt in between */
        rp_mo_build(r);
    pthread_rwlock_unlock(&r->lock);
}

void reports_compact(reports_t *r)
{
    pthread_rwlock_wrlock(&r->lock);
    rp_mo_build(r);
    pthread_rwlock_unlock(&r->lock);
}

void rp_mo_member_added(reports_t *r, int32_t m)
{
    r->m_tail[m] = r->m_merged[m] = r->m_sib[m] = -1;
}

void rp_mo_add(reports_t *r, uint32_t o)
{
    const int32_t m = r->o_member[o];
    r->o_mpos[o] = RP_NO_POS;
    r->o_tnext[o] = -1;
    if (m < 0) return;
    r->o_tnext[o] = r->m_tail[m];
    r->m_tail[m] = (int32_t)o;
    r->n_tail++;
}

void rp_mo_order_changed(reports_t *r, uint32_t o)
{
    if (r->o_mpos[o] != RP_NO_POS) r->mo[r->o_mpos[o]].valid = rp_valid(r, o);
}

void rp_mo_merge(reports_t *r, int32_t into, int32_t from)
{
    /* into's merged list becomes: from, from's merged members, into's old ones — flat,
     * so reading a member never recurses */
    int32_t last = from;
    r->m_sib[from] = r->m_merged[from];
    r->m_merged[from] = -1;
    while (r->m_sib[last] >= 0)
        last = r->m_sib[last];
    r->m_sib[last] = r->m_merged[into];
    r->m_merged[into] = from;
}

static int rec_day_cmp(const void *a, const void *b)
{
    const rp_mrec *x = a, *y = b;
    return (x->day > y->day) - (x->day < y->day);
}

static void put(rp_mbuf *buf, size_t *n, const rp_mrec *x)
{
    if (*n == buf->cap) {
        buf->cap = buf->cap ? buf->cap * 2 : 256;
        buf->v = xrealloc(buf->v, buf->cap * sizeof *buf->v);
    }
    buf->v[(*n)++] = *x;
}

static void put_own(const reports_t *r, int32_t m, rp_mbuf *buf, size_t *n)
{
    if ((size_t)m < r->mo_members)
        for (uint32_t p = r->mo_off[m]; p < r->mo_off[m + 1]; p++)
            put(buf, n, &r->mo[p]);
    for (int32_t o = r->m_tail[m]; o >= 0; o = r->o_tnext[o]) {
        rp_mrec x = rec_of(r, (uint32_t)o);
        put(buf, n, &x);
    }
}

size_t rp_mo_member(const reports_t *r, int32_t m, rp_mbuf *buf, const rp_mrec **out)
{
    if (r->m_tail[m] < 0 && r->m_merged[m] < 0) { /* the common case: one sorted run */
        if ((size_t)m >= r->mo_members) {
            *out = NULL;
            return 0;
        }
        *out = r->mo + r->mo_off[m];
        return r->mo_off[m + 1] - r->mo_off[m];
    }
    size_t n = 0;
    put_own(r, m, buf, &n);
    for (int32_t x = r->m_merged[m]; x >= 0; x = r->m_sib[x])
        put_own(r, x, buf, &n);
    if (n > 1) qsort(buf->v, n, sizeof *buf->v, rec_day_cmp);
    *out = buf->v;
    return n;
}
