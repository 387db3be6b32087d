/* fuzz_segment.c — the audience expression language (src/segment): what an operator
 * types into the console, the API and `siyu segment`. Besides not crashing, every input
 * must either be refused with a message and a column inside the text, or be read so
 * that
 *   - its canonical form reads back to the same canonical form (print ∘ parse is
 *     idempotent, as docs/segments.md promises);
 *   - the block evaluator's count equals the members the one-member matcher accepts,
 *     two independent paths through the evaluator (seg_count, seg_match);
 *   - the expression and its negation split the members exactly.
 * The index is a small fixed chain built once: 600 members, every set form (dense,
 * roaring, sorted array), orders, refunds, reach, points, tiers, tags and a saved
 * segment, so every attribute has values to compare. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment/eval.h"
#include "segment/expr.h"
#include "segment/index.h"

#define NMEMBERS 600
#define TODAY 20000 /* 2024-10-04 as a day number */

static seg_index *idx;

static void fail(const char *what, const char *text)
{
    fprintf(stderr, "%s: \"%s\"\n", what, text);
    abort();
}

static void must(int rc, const char *what, const seg_error *err)
{
    if (rc != 0) {
        fprintf(stderr, "setting up the index: %s: %s\n", what, err->msg);
        abort();
    }
}

/* Deterministic values: the same chain on every run, so a crash replays. */
static uint32_t mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

static void build(void)
{
    static const char *channels[] = {"pos", "miniprogram", "live"};
    static const char *tiers[] = {"bronze", "silver", "gold"};
    static const char *genders[] = {"male", "female"};
    static const char *cities[] = {"杭州", "上海", "北京", "宁波"};
    static const char *cats[] = {"生鲜", "日化", "酒水", "零食"};
    seg_error err;
    idx = seg_index_new(TODAY);
    if (!idx) abort();
    for (int64_t id = 1; id <= NMEMBERS; id++) {
        uint32_t h = mix((uint32_t)id);
        seg_member_profile p = {.id = id};
        /* large stores and guides (dense sets), a tail of small ones (roaring, arrays) */
        p.store_id = h % 10 == 0 ? 0 : h % 7 == 0 ? 20 + (int64_t)(h >> 8) % 40 : 1 + h % 4;
        p.guide_id = h % 11 == 0 ? 0 : h % 3 == 0 ? 200 + (int64_t)(h >> 10) % 150 : 100 + h % 5;
        p.brand_id = (int64_t)(h >> 4) % 3;
        p.join_channel = channels[(h >> 6) % 3];
        p.tier = tiers[(h >> 9) % 3];
        p.gender = h % 13 == 0 ? NULL : genders[(h >> 12) % 2];
        p.city = cities[(h >> 14) % 4];
        p.birthday = h % 9 == 0 ? SEG_NO_DAY : TODAY - 7000 - (int32_t)((h >> 3) % 18000);
        p.joined_day = h % 17 == 0 ? SEG_NO_DAY : TODAY - (int32_t)((h >> 5) % 900);
        must(seg_index_upsert_member(idx, &p, &err), "member", &err);
        int norders = (int)((h >> 20) % 6);
        for (int k = 0; k < norders; k++) {
            uint32_t g = mix(h + (uint32_t)k);
            int32_t day = TODAY - (int32_t)(g % 500);
            seg_category_spend cs[2] = {{cats[g % 4], 1000 + (int64_t)(g >> 8) % 30000},
                                        {cats[(g >> 3) % 4], 500 + (int64_t)(g >> 12) % 5000}};
            must(seg_index_apply_order(idx, id, day, cs[0].cents + cs[1].cents,
                                       1 + (int32_t)(g >> 16) % 5, cs, 2, &err),
                 "order", &err);
            if (g % 7 == 0)
                must(seg_index_apply_refund(idx, id, day, cs[1].cents, 1, g % 14 == 0, &cs[1], 1,
                                            &err),
                     "refund", &err);
        }
        must(seg_index_set_reach(idx, id, (h >> 7) & 31, &err), "reach", &err);
        must(seg_index_set_points(idx, id, (int64_t)(h % 5000), &err), "points", &err);
    }
    int vip = seg_index_tag_create(idx, "vip", NULL, &err);
    int tail = seg_index_tag_create(idx, "高价值", NULL, &err);
    if (vip < 0 || tail < 0) must(-1, "tag", &err);
    for (int64_t id = 1; id <= NMEMBERS; id++) {
        if (mix((uint32_t)id * 3u) % 4 == 0)
            must(seg_index_tag_add(idx, vip, id, &err), "tag add", &err);
        if (id % 97 == 0) must(seg_index_tag_add(idx, tail, id, &err), "tag add", &err);
    }
    if (seg_index_tag_create(idx, "active_gold", "tier = \"gold\" and orders_90d >= 1", &err) < 0)
        must(-1, "rule tag", &err);
    must(seg_index_segment_define(idx, 1, "杭州金卡", "city = \"杭州\" and tier = \"gold\"", &err),
         "segment", &err);
}

static uint64_t count_of(const seg_expr *e, const char *text)
{
    seg_error err;
    uint64_t n;
    if (seg_count(idx, e, NULL, &n, &err) != 0) fail("a parsed expression failed to count", text);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!idx) build();
    if (size > 4096) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0; /* the parser takes a C string, as jansson hands it out */
    size_t len = strlen(text);

    seg_expr *e = NULL;
    seg_error err;
    memset(&err, 0, sizeof err);
    if (seg_parse(text, idx, &e, &err) != 0) {
        if (getenv("FUZZ_VERBOSE"))
            fprintf(stderr, "  refused: column %d: %s\n", err.column, err.msg);
        if (e) fail("a refused expression left a result", text);
        if (!err.msg[0]) fail("refused without a message", text);
        if (err.column < 0 || (size_t)err.column > len + 1)
            fail("refused with a column outside the text", text);
        free(text);
        return 0;
    }

    /* syntax alone (no index) accepts what the index accepted */
    seg_expr *bare = NULL;
    if (seg_parse(text, NULL, &bare, &err) != 0)
        fail("accepted with the index, refused without", text);
    seg_expr_free(bare);

    char *p1 = seg_print(e);
    seg_expr *e2 = NULL;
    if (!p1 || seg_parse(p1, idx, &e2, &err) != 0)
        fail("the canonical form does not read back", text);
    char *p2 = seg_print(e2);
    if (!p2 || strcmp(p1, p2) != 0) fail("printing is not stable", text);

    uint64_t n = count_of(e, text);
    if (count_of(e2, text) != n) fail("the canonical form counts differently", text);
    uint64_t matched = 0;
    for (int64_t id = 1; id <= NMEMBERS; id++) {
        bool in;
        if (seg_match(idx, e, id, &in, &err) != 0)
            fail("a parsed expression failed to match a member", text);
        matched += in;
    }
    if (matched != n) fail("count and per-member matching disagree", text);
    if (getenv("FUZZ_VERBOSE")) fprintf(stderr, "  %llu members: %s\n", (unsigned long long)n, p1);

    size_t nlen = strlen(p1) + 8;
    char *neg = malloc(nlen);
    seg_expr *en = NULL;
    if (neg) {
        snprintf(neg, nlen, "not (%s)", p1);
        if (seg_parse(neg, idx, &en, &err) == 0) {
            if (n + count_of(en, neg) != NMEMBERS)
                fail("an audience and its negation do not split the members", text);
        }
        seg_expr_free(en);
        free(neg);
    }
    free(p1);
    free(p2);
    seg_expr_free(e2);
    seg_expr_free(e);
    free(text);
    return 0;
}
