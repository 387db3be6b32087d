/* snapshot_chain.h — a small chain in the views (a fact store and a member index built
 * through their public calls), and its snapshot payload: what fuzz_snapshot.c mutates and
 * tests/unit/views/test_snapshot.c checks. Every set form (dense, roaring, sorted array),
 * orders with lines and categories, refunds, a merge, reach, points, tiers, store groups and
 * live views, so every section of the payload holds something. */
#ifndef SIYU_FUZZ_SNAPSHOT_CHAIN_H
#define SIYU_FUZZ_SNAPSHOT_CHAIN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/snapio.h"
#include "reports/reports.h"
#include "segment/index.h"
#include "views/snapshot.h"

#define CHAIN_MEMBERS 400
#define CHAIN_T0 1700000000 /* 2023-11-14 */

static uint32_t chain_mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

static void chain_must(int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "building the chain: %s failed\n", what);
        abort();
    }
}

static void chain_build(reports_t **rp, seg_index **ip)
{
    static const char *channels[] = {"store", "miniprogram", "live"};
    static const char *tiers[] = {"bronze", "silver", "gold"};
    static const char *cities[] = {"杭州", "上海", "北京", "宁波"};
    static const char *cats[] = {"生鲜", "日化", "酒水", "零食"};
    int32_t today = CHAIN_T0 / 86400 + 30;
    reports_t *r = reports_new();
    seg_index *idx = seg_index_new(today);
    siyu_err e;
    siyu_err_init(&e);
    seg_error se;
    for (int64_t s = 1; s <= 6; s++)
        chain_must(
            reports_upsert_store(
                r, &(reports_store_in){.id = s, .kind = "physical", .brand_id = 1 + s % 2}, &e),
            "store");
    int64_t order_id = 1;
    for (int64_t id = 1; id <= CHAIN_MEMBERS; id++) {
        uint32_t h = chain_mix((uint32_t)id);
        int64_t store = 1 + h % 6, guide = h % 3 ? 100 + h % 5 : 0;
        chain_must(
            reports_upsert_member(r,
                                  &(reports_member_in){.id = id,
                                                       .joined_at = CHAIN_T0 - (h % 400) * 86400,
                                                       .join_channel = channels[h % 3],
                                                       .store_id = store,
                                                       .guide_id = guide},
                                  &e),
            "member");
        seg_member_profile p = {.id = id,
                                .store_id = store,
                                .guide_id = h % 3 ? (int64_t)(h >> 8) % 200 + 1 : 0,
                                .brand_id = 1 + store % 2,
                                .join_channel = channels[h % 3],
                                .tier = tiers[(h >> 9) % 3],
                                .city = cities[(h >> 14) % 4],
                                .birthday = SEG_NO_DAY,
                                .joined_day = today - (int32_t)(h % 400)};
        chain_must(seg_index_upsert_member(idx, &p, &se), "index member");
        chain_must(reports_set_reach(r, id, "wecom", h % 2, &e), "reach");
        chain_must(seg_index_set_reach(idx, id, (h >> 7) & 31, &se), "index reach");
        chain_must(seg_index_set_points(idx, id, (int64_t)(h % 5000), &se), "points");
        if (h % 5 == 0) chain_must(seg_index_set_groups(idx, id, 1, today - 3, &se), "groups");
        if (h % 5 == 0)
            chain_must(seg_index_set_member_group(idx, id, 7 + h % 3, true, &se), "group");
        for (int k = 0; k < (int)(h >> 20) % 5; k++) {
            uint32_t g = chain_mix(h + (uint32_t)k);
            int64_t at = CHAIN_T0 - (int64_t)(g % 300) * 86400;
            reports_item_in items[2] = {{"SKU-A", cats[g % 4], 1 + g % 3, 1999, 0},
                                        {"SKU-B", cats[(g >> 3) % 4], 1, 5900, 0}};
            int64_t total = items[0].qty * 1999 + 5900;
            chain_must(reports_add_order(r,
                                         &(reports_order_in){.id = order_id,
                                                             .member_id = id,
                                                             .store_id = store,
                                                             .channel = channels[g % 3],
                                                             .placed_at = at,
                                                             .total_cents = total,
                                                             .items = items,
                                                             .n_items = 2},
                                         &e),
                       "order");
            seg_category_spend cs[2] = {{cats[g % 4], items[0].qty * 1999},
                                        {cats[(g >> 3) % 4], 5900}};
            chain_must(seg_index_apply_order(idx, id, (int32_t)(at / 86400), total,
                                             (int32_t)items[0].qty + 1, cs, 2, &se),
                       "index order");
            if (g % 7 == 0)
                chain_must(
                    reports_add_refund(
                        r, &(reports_refund_in){.order_id = order_id, .amount_cents = 5900}, &e),
                    "refund");
            order_id++;
        }
        if (h % 11 == 0) chain_must(reports_add_live_view(r, id, CHAIN_T0 - 3600, &e), "live view");
    }
    chain_must(reports_merge_members(r, 2, 3, &e), "merge");
    chain_must(seg_index_merge_member(idx, 2, 3, &se), "index merge");
    *rp = r;
    *ip = idx;
}

typedef struct chain_buf {
    unsigned char *p;
    size_t n, cap;
} chain_buf;

static int chain_put(void *ctx, const void *p, size_t n)
{
    chain_buf *b = ctx;
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) return -1;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

/* The payload views/snapshot.c writes after its header. */
static chain_buf chain_payload(reports_t *r, seg_index *idx)
{
    chain_buf b = {0};
    snap_out w = {.put = chain_put, .ctx = &b};
    chain_must(reports_snapshot_write(r, &w) || seg_index_snapshot_write(idx, &w), "payload");
    return b;
}

#endif
