/* test_index.c — index upkeep that the property test does not reach: merges and the
 * operator's RFM / lifecycle thresholds.
 *
 * Merge: index A gets random orders and refunds for pairs of members and then merges
 * each pair; index B gets the very same orders, but the merged-away member's are
 * applied to the survivor from the start (what a rebuild from the store sees). Every
 * column of every live member must agree, before and after the days roll past the
 * 30/90/365-day windows (the merged member's day buckets must leave the survivor's
 * windows). The evaluator's rfm / lifecycle block kernels are checked against the
 * member-by-member rules under odd thresholds. A category block is handed out zeroed (the
 * views snapshot writes the pool whole). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "segment/eval.h"
#include "segment/index.h"
#include "segment/seg_internal.h"

#define T0 20000 /* today, as a day number */
#define PAIRS 300
#define SINGLES 50

static uint64_t rs = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(uint32_t n)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)(rs % n);
}

static const char *const cats[] = {"生鲜", "日化", "酒水", "零食", "母婴"};

typedef struct op {
    int64_t member;
    int32_t day;
    int64_t cents;
    int32_t items;
    int refund; /* 0 order, 1 partial refund, 2 refund cancelling the order */
    int cat;
} op;

static void profile(seg_index *idx, int64_t id)
{
    seg_member_profile p = {.id = id,
                            .store_id = 1 + id % 7,
                            .city = id % 2 ? "杭州" : "上海",
                            .birthday = SEG_NO_DAY,
                            .joined_day = T0 - 600};
    seg_error err;
    CHECK_INT_EQ(seg_index_upsert_member(idx, &p, &err), 0);
}

static void apply(seg_index *idx, const op *o, int64_t as_member)
{
    seg_error err;
    seg_category_spend c = {cats[o->cat], o->cents};
    int rc = o->refund
                 ? seg_index_apply_refund(idx, as_member, o->day, o->cents, o->items,
                                          o->refund == 2, &c, 1, &err)
                 : seg_index_apply_order(idx, as_member, o->day, o->cents, o->items, &c, 1, &err);
    CHECK_INT_EQ(rc, 0);
}

static const char *fav(const seg_index *idx, uint32_t o)
{
    uint32_t code = seg_ix_dim_code(idx, SEG_D_FAV, o);
    return code ? idx->dims[SEG_D_FAV].dict.strs[code] : "";
}

/* Every column of every live member of a against b (same ids, same ordinals). */
static void compare(seg_index *a, seg_index *b, const char *when)
{
    int before = check_failures_;
    CHECK_INT_EQ(a->nlive, b->nlive);
    CHECK_INT_EQ(a->today, b->today);
    for (uint32_t o = 0; o < a->n && check_failures_ - before < 10; o++) {
        bool live_a = a->live[o >> 6] >> (o & 63) & 1, live_b = b->live[o >> 6] >> (o & 63) & 1;
        CHECK_INT_EQ(live_a, live_b);
        if (!live_a) continue;
        CHECK_INT_EQ(a->ids[o], b->ids[o]);
        CHECK_INT_EQ(a->orders[o], b->orders[o]);
        CHECK_INT_EQ(a->items[o], b->items[o]);
        CHECK_INT_EQ(a->spend[o], b->spend[o]);
        CHECK_INT_EQ(a->o30[o], b->o30[o]);
        CHECK_INT_EQ(a->o90[o], b->o90[o]);
        CHECK_INT_EQ(a->o365[o], b->o365[o]);
        CHECK_INT_EQ(a->s30[o], b->s30[o]);
        CHECK_INT_EQ(a->s90[o], b->s90[o]);
        CHECK_INT_EQ(a->s365[o], b->s365[o]);
        CHECK_INT_EQ(a->first[o], b->first[o]);
        CHECK_INT_EQ(a->last[o], b->last[o]);
        CHECK_INT_EQ(a->prev[o], b->prev[o]);
        CHECK_STR_EQ(fav(a, o), fav(b, o));
        for (int t = 0; t < a->ntags; t++)
            CHECK_INT_EQ(seg_set_has(&a->tags[t].set, o), seg_set_has(&b->tags[t].set, o));
        CHECK_INT_EQ(seg_ix_lifecycle(a, o), seg_ix_lifecycle(b, o));
    }
    /* and through the language: the same audiences */
    static const char *const exprs[] = {"orders >= 1",
                                        "orders_30d >= 1 and spend_30d_cents > 5000",
                                        "orders_90d >= 2",
                                        "spend_365d_cents between 1 and 20000",
                                        "last_order_days <= 45",
                                        "first_order_days > 300",
                                        "favourite_category = \"生鲜\"",
                                        "tag:x and not tag:y",
                                        "tag:y",
                                        "lifecycle in (\"won_back\", \"at_risk\")",
                                        "avg_ticket_cents >= 3000",
                                        "items_per_order > 2.5"};
    for (size_t i = 0; i < sizeof exprs / sizeof *exprs; i++) {
        seg_expr *e;
        seg_error err;
        uint64_t na = 0, nb = 0;
        CHECK_INT_EQ(seg_parse(exprs[i], a, &e, &err), 0);
        CHECK_INT_EQ(seg_count(a, e, NULL, &na, &err), 0);
        CHECK_INT_EQ(seg_count(b, e, NULL, &nb, &err), 0);
        seg_expr_free(e);
        if (na != nb)
            fprintf(stderr, "%s: %s: %llu vs %llu\n", when, exprs[i], (unsigned long long)na,
                    (unsigned long long)nb);
        CHECK_INT_EQ(na, nb);
    }
    if (check_failures_ != before) fprintf(stderr, "merge: columns differ %s\n", when);
}

static void test_merge(void)
{
    seg_index *a = seg_index_new(T0), *b = seg_index_new(T0);
    seg_error err;
    int nm = 2 * PAIRS + SINGLES;
    for (int64_t id = 1; id <= nm; id++) {
        profile(a, id);
        profile(b, id);
    }
    int xa = seg_index_tag_create(a, "x", NULL, &err),
        ya = seg_index_tag_create(a, "y", NULL, &err);
    int xb = seg_index_tag_create(b, "x", NULL, &err),
        yb = seg_index_tag_create(b, "y", NULL, &err);
    CHECK(xa >= 0 && ya >= 0 && xb == xa && yb == ya);
    /* orders for everybody, in one random sequence; refunds only of orders placed */
    size_t nops = 0;
    op *ops = calloc(20000, sizeof *ops);
    for (int k = 0; k < 8000; k++) {
        op o = {.member = 1 + rnd((uint32_t)nm),
                /* days from 2 years back to today: some never in a window */
                .day = T0 - (int32_t)rnd(700),
                .cents = 100 + rnd(20000),
                .items = 1 + (int32_t)rnd(4),
                .cat = (int)rnd(5)};
        ops[nops++] = o;
        if (rnd(6) == 0) { /* a refund of it, partial or whole */
            op r = o;
            r.refund = rnd(2) ? 1 : 2;
            if (r.refund == 1) {
                r.cents = o.cents / 3;
                r.items = 0;
            }
            ops[nops++] = r;
        }
    }
    /* into = odd ids, from = the next even id; the singles are never merged */
    for (size_t i = 0; i < nops; i++) {
        int64_t m = ops[i].member;
        apply(a, &ops[i], m);
        apply(b, &ops[i], m <= 2 * PAIRS && m % 2 == 0 ? m - 1 : m);
    }
    for (int64_t p = 1; p <= 2 * PAIRS; p += 2) {
        if (rnd(3) == 0) { /* the merged-away member carries x: the survivor must too */
            seg_index_tag_add(a, xa, p + 1, &err);
            seg_index_tag_add(b, xb, p, &err);
        }
        if (rnd(3) == 0) {
            seg_index_tag_add(a, ya, p, &err);
            seg_index_tag_add(b, yb, p, &err);
        }
        seg_index_remove_member(b, p + 1, &err);
    }
    for (int64_t p = 1; p <= 2 * PAIRS; p += 2)
        CHECK_INT_EQ(seg_index_merge_member(a, p, p + 1, &err), 0);
    CHECK_INT_EQ(seg_index_member_count(a), PAIRS + SINGLES);
    compare(a, b, "right after the merges");
    /* a replayed merge moves nothing twice; merging into oneself or an unknown id fails */
    CHECK_INT_EQ(seg_index_merge_member(a, 1, 2, &err), 0);
    CHECK_INT_EQ(seg_index_merge_member(a, 1, 1, &err), -1);
    CHECK_INT_EQ(seg_index_merge_member(a, 1, 99999, &err), -1);
    compare(a, b, "after a replayed merge");
    /* orders after the merge land on the survivor, and every window empties as days pass */
    op late = {.member = 3, .day = T0, .cents = 777, .items = 1, .cat = 4};
    apply(a, &late, 3);
    apply(b, &late, 3);
    static const int32_t days[] = {1, 29, 31, 89, 91, 200, 364, 366, 800};
    for (size_t i = 0; i < sizeof days / sizeof *days; i++) {
        char when[64];
        snprintf(when, sizeof when, "%d days later", days[i]);
        CHECK_INT_EQ(seg_index_advance_day(a, T0 + days[i], &err), 0);
        CHECK_INT_EQ(seg_index_advance_day(b, T0 + days[i], &err), 0);
        compare(a, b, when);
    }
    /* and everything left the windows: no member has a windowed order any more */
    for (uint32_t o = 0; o < a->n; o++)
        if (a->live[o >> 6] >> (o & 63) & 1) CHECK(a->o365[o] == 0 && a->s365[o] == 0);
    free(ops);
    seg_index_free(a);
    seg_index_free(b);
}

static int cmp64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* Fixed thresholds stay fixed through recomputes and day rolls; "auto" gives the
 * median split of spec/segments.md, computed here by sorting. */
static void test_rfm_settings(void)
{
    seg_index *idx = seg_index_new(T0);
    seg_error err;
    enum { N = 101 };
    int64_t rec[N], freq[N], mon[N];
    int nb = 0;
    for (int64_t id = 1; id <= N + 20; id++) {
        profile(idx, id);
        if (id > N) continue; /* 20 members without orders: no class, not in the medians */
        int k = 1 + (int)rnd(5);
        int32_t last = 0;
        int64_t spend = 0;
        for (int j = 0; j < k; j++) {
            op o = {
                .member = id, .day = T0 - (int32_t)rnd(400), .cents = 100 + rnd(9000), .items = 1};
            apply(idx, &o, id);
            last = o.day > last ? o.day : last;
            spend += o.cents;
        }
        rec[nb] = T0 - last;
        freq[nb] = k;
        mon[nb] = spend;
        nb++;
    }
    seg_index_rfm_recompute(idx);
    seg_rfm_thresholds t;
    bool automatic;
    seg_index_rfm_get(idx, &t, &automatic);
    CHECK(automatic);
    qsort(rec, N, sizeof *rec, cmp64);
    qsort(freq, N, sizeof *freq, cmp64);
    qsort(mon, N, sizeof *mon, cmp64);
    CHECK_INT_EQ(t.r_max_days, rec[(N - 1) / 2] - 1);
    CHECK_INT_EQ(t.f_min_orders, freq[(N - 1) / 2] + 1);
    CHECK_INT_EQ(t.m_min_cents, mon[(N - 1) / 2] + 1);

    seg_rfm_thresholds fixed = {.r_max_days = 30, .f_min_orders = 3, .m_min_cents = 5000};
    seg_index_rfm_set(idx, &fixed);
    seg_index_rfm_recompute(idx); /* must not override the operator */
    CHECK_INT_EQ(seg_index_advance_day(idx, T0 + 1, &err), 0);
    seg_index_rfm_get(idx, &t, &automatic);
    CHECK(!automatic);
    CHECK_INT_EQ(t.r_max_days, 30);
    CHECK_INT_EQ(t.f_min_orders, 3);
    CHECK_INT_EQ(t.m_min_cents, 5000);
    /* a member's class follows the fixed thresholds: one recent big order = 重要发展 */
    profile(idx, 1000);
    op o = {.member = 1000, .day = T0 + 1, .cents = 6000, .items = 1};
    apply(idx, &o, 1000);
    CHECK_STR_EQ(seg_rfm_names[seg_index_member_rfm(idx, 1000) - 1], "重要发展");
    seg_index_rfm_set(idx, NULL);
    seg_index_rfm_get(idx, &t, &automatic);
    CHECK(automatic);
    CHECK(t.r_max_days != 30 || t.f_min_orders != 3 || t.m_min_cents != 5000);

    /* lifecycle thresholds: the member above is new (first order 0 days ago) unless
     * new_days is 0, then active */
    seg_lifecycle_thresholds life = {.new_days = 0, .active_days = 10, .lapsed_days = 20};
    CHECK_INT_EQ(seg_index_lifecycle_set(idx, &life, &err), 0);
    CHECK_STR_EQ(seg_lifecycle_names[seg_index_member_lifecycle(idx, 1000)], "active");
    life.new_days = 1;
    CHECK_INT_EQ(seg_index_lifecycle_set(idx, &life, &err), 0);
    CHECK_STR_EQ(seg_lifecycle_names[seg_index_member_lifecycle(idx, 1000)], "new");
    life.lapsed_days = 5; /* below active_days: refused, the old ones stay */
    CHECK_INT_EQ(seg_index_lifecycle_set(idx, &life, &err), -1);
    seg_lifecycle_thresholds now;
    seg_index_lifecycle_get(idx, &now);
    CHECK_INT_EQ(now.lapsed_days, 20);
    seg_index_free(idx);

    /* back to "auto" with nobody to take medians of: the defaults, not the old values */
    idx = seg_index_new(T0);
    seg_rfm_thresholds def;
    seg_index_rfm_get(idx, &def, NULL);
    seg_index_rfm_set(idx, &fixed);
    seg_index_rfm_set(idx, NULL);
    seg_index_rfm_get(idx, &t, NULL);
    CHECK_INT_EQ(t.r_max_days, def.r_max_days);
    CHECK_INT_EQ(t.m_min_cents, def.m_min_cents);
    seg_index_free(idx);
}

static int64_t count_expr(seg_index *idx, const char *text)
{
    seg_expr *e;
    seg_error err;
    uint64_t n = 0;
    if (seg_parse(text, idx, &e, &err) != 0) {
        fprintf(stderr, "%s: %s\n", text, err.msg);
        CHECK(0);
        return -1;
    }
    CHECK_INT_EQ(seg_count(idx, e, NULL, &n, &err), 0);
    seg_expr_free(e);
    return (int64_t)n;
}

/* Counts by rfm and lifecycle against the member-by-member definitions
 * (seg_ix_rfm_class / seg_ix_lifecycle, the rules of index.h). */
static void check_classes(seg_index *idx)
{
    int64_t stage[SEG_LIFECYCLE_STAGES] = {0}, cls[SEG_RFM_CLASSES + 1] = {0};
    for (uint32_t o = 0; o < idx->n; o++)
        if (idx->live[o >> 6] >> (o & 63) & 1) {
            stage[seg_ix_lifecycle(idx, o)]++;
            cls[seg_ix_rfm_class(idx, o)]++;
        }
    char text[160];
    for (int k = 0; k < SEG_LIFECYCLE_STAGES; k++) {
        snprintf(text, sizeof text, "lifecycle = \"%s\"", seg_lifecycle_names[k]);
        CHECK_INT_EQ(count_expr(idx, text), stage[k]);
        snprintf(text, sizeof text, "lifecycle != \"%s\"", seg_lifecycle_names[k]);
        CHECK_INT_EQ(count_expr(idx, text), (int64_t)idx->nlive - stage[k]);
    }
    CHECK_INT_EQ(count_expr(idx, "lifecycle in (\"active\", \"won_back\")"), stage[2] + stage[5]);
    for (int k = 1; k <= SEG_RFM_CLASSES; k++) {
        snprintf(text, sizeof text, "rfm = \"%s\"", seg_rfm_names[k - 1]);
        CHECK_INT_EQ(count_expr(idx, text), cls[k]);
        /* members without a class match no rfm comparison, != included */
        snprintf(text, sizeof text, "rfm != \"%s\"", seg_rfm_names[k - 1]);
        CHECK_INT_EQ(count_expr(idx, text), (int64_t)idx->nlive - cls[0] - cls[k]);
    }
}

/* The evaluator's rfm and lifecycle answers (class columns kept by the index) against
 * the member-by-member definitions, for odd thresholds too (zero days, equal bounds, a
 * recency nobody meets), after each threshold change and after same-day writes. */
static void test_class_kernels(void)
{
    seg_index *idx = seg_index_new(T0);
    seg_error err;
    for (int64_t id = 1; id <= 9000; id++) {
        profile(idx, id);
        int k = (int)rnd(4); /* a quarter without orders */
        for (int j = 0; j < k; j++) {
            op o = {.member = id,
                    .day = T0 - (int32_t)rnd(900),
                    .cents = (int64_t)rnd(30000),
                    .items = 1};
            apply(idx, &o, id);
        }
        if (k && rnd(10) == 0) { /* some cancelled: orders 0 but order days kept */
            op r = {.member = id, .day = T0, .cents = 1, .refund = 2};
            apply(idx, &r, id);
        }
    }
    seg_index_remove_member(idx, 17, &err);
    static const seg_lifecycle_thresholds lives[] = {
        {30, 90, 180}, {0, 0, 0}, {1, 30, 30}, {400, 10, 700}, {5, 365, 366}};
    static const seg_rfm_thresholds rfms[] = {
        {90, 2, 1}, {0, 1, 0}, {-1, 3, 15000}, {1000, 100, 1}, {30, 2, 9999999}};
    for (size_t t = 0; t < sizeof lives / sizeof *lives; t++) {
        /* each change on its own: the class columns must follow each */
        CHECK_INT_EQ(seg_index_lifecycle_set(idx, &lives[t], &err), 0);
        check_classes(idx);
        seg_index_rfm_set(idx, &rfms[t]);
        check_classes(idx);
        /* the same day (no day roll to recompute everyone): orders, cancelling refunds,
         * a merge — each member's classes must move with its own change */
        for (int k = 0; k < 300; k++) {
            int64_t id = 1 + (int64_t)rnd(9000);
            if (id == 17) continue;
            op o = {.member = id,
                    .day = T0 - (int32_t)rnd(200),
                    .cents = 1 + (int64_t)rnd(90000),
                    .items = 1};
            apply(idx, &o, id);
            if (rnd(3) == 0) {
                o.refund = 2;
                o.cents = 1;
                apply(idx, &o, id);
            }
        }
        CHECK_INT_EQ(seg_index_merge_member(idx, 100 + (int64_t)t, 200 + (int64_t)t, &err), 0);
        check_classes(idx);
    }
    seg_index_free(idx);
}

/* A member set through its three forms (sorted array, roaring, bitset) against a plain
 * reference, in an index sized for 8 M members: adds and removes in random order, the
 * form changing at the documented counts, contents kept by every change of form and by
 * shrinking; and built from a sorted list in each form. */
static void test_set_forms(void)
{
    const size_t nwords = 8000000 / 64, nbits = nwords * 64;
    uint8_t *ref = calloc(nbits, 1);
    seg_set s = {0};
    uint64_t card = 0;
    bool saw_array = false, saw_roaring = false, saw_dense = false;
    for (int step = 0; step < 300000; step++) {
        uint32_t o = (uint32_t)rnd(nbits);
        if (rnd(5) == 0 && card) { /* remove one that is in, or one that is not */
            seg_set_remove(&s, o);
            card -= ref[o];
            ref[o] = 0;
        } else {
            CHECK_INT_EQ(seg_set_add(&s, o, nwords), 0);
            card += !ref[o];
            ref[o] = 1;
        }
        CHECK((s.w != NULL) + (s.r != NULL) + (s.a != NULL) <= 1);
        saw_array |= s.a != NULL;
        saw_roaring |= s.r != NULL;
        saw_dense |= s.w != NULL;
        if (step % 9973 == 0 || step == 300000 - 1) {
            CHECK_INT_EQ(s.card, card);
            for (int k = 0; k < 2000; k++) {
                uint32_t q = (uint32_t)rnd(nbits);
                CHECK_INT_EQ(seg_set_has(&s, q), ref[q]);
            }
            seg_set_shrink(&s);
            CHECK_INT_EQ(s.card, card);
        }
        /* an array holds up to 32 a chunk (123 chunks here), roaring up to 1 in 64 */
        if (s.a) CHECK(s.card <= 123 * 32);
        if (s.r) CHECK(s.card > 123 * 32 && s.card <= nbits / 64);
    }
    CHECK(saw_array && saw_roaring && saw_dense);
    for (uint32_t o = 0; o < nbits; o += 977)
        CHECK_INT_EQ(seg_set_has(&s, o), ref[o]);
    seg_set_clear(&s);
    /* from a sorted list: each size lands in its form */
    static const size_t sizes[] = {10, 3936, 3937, 125000, 125001};
    uint32_t *a = malloc(125001 * sizeof *a);
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        for (size_t i = 0; i < sizes[z]; i++)
            a[i] = (uint32_t)(i * (nbits / sizes[z]));
        CHECK_INT_EQ(seg_set_from_sorted(&s, a, sizes[z], nwords), 0);
        CHECK_INT_EQ(s.card, sizes[z]);
        CHECK(z < 2 ? s.a != NULL : z < 4 ? s.r != NULL : s.w != NULL);
        for (size_t i = 0; i < sizes[z]; i += 97) {
            CHECK(seg_set_has(&s, a[i]));
            CHECK(!seg_set_has(&s, a[i] + 1));
        }
    }
    seg_set_clear(&s);
    free(a);
    free(ref);
}

/* ---- group (a given store group) and group_messages_30d ---- */

/* By hand: m1 in groups 5 and 7, m2 in 7, m3 in none (it left 5). m1 spoke 4 today, 6
 * ten days ago and 100 thirty days ago (outside the window: today and the 29 days
 * before it); m2 spoke 1 twenty-nine days ago. */
static void test_groups_by_hand(void)
{
    seg_index *idx = seg_index_new(T0);
    seg_error err;
    for (int64_t id = 1; id <= 3; id++)
        profile(idx, id);
    CHECK_INT_EQ(seg_index_set_member_group(idx, 1, 5, true, &err), 0);
    CHECK_INT_EQ(seg_index_set_member_group(idx, 1, 7, true, &err), 0);
    CHECK_INT_EQ(seg_index_set_member_group(idx, 2, 7, true, &err), 0);
    CHECK_INT_EQ(seg_index_set_member_group(idx, 3, 5, true, &err), 0);
    CHECK_INT_EQ(seg_index_set_member_group(idx, 3, 5, false, &err), 0);
    CHECK_INT_EQ(seg_index_set_member_group(idx, 3, 9, false, &err), 0); /* never in it */
    CHECK_INT_EQ(seg_index_set_member_group(idx, 3, 0, true, &err), -1);
    int32_t d1[] = {T0, T0 - 10, T0 - 30, T0};
    int64_t m1[] = {3, 6, 100, 1}; /* days may repeat: they add up (two groups) */
    CHECK_INT_EQ(seg_index_set_group_messages(idx, 1, d1, m1, 4, &err), 0);
    int32_t d2[] = {T0 - 29};
    int64_t m2[] = {1};
    CHECK_INT_EQ(seg_index_set_group_messages(idx, 2, d2, m2, 1, &err), 0);
    CHECK_INT_EQ(count_expr(idx, "group = 5"), 1);
    CHECK_INT_EQ(count_expr(idx, "group = 7"), 2);
    CHECK_INT_EQ(count_expr(idx, "group in (5, 7)"), 2);
    CHECK_INT_EQ(count_expr(idx, "group in (5, 5, 9, 12345)"), 1);
    CHECK_INT_EQ(count_expr(idx, "group = 9"), 0);
    CHECK_INT_EQ(count_expr(idx, "group != 5"), 2);
    CHECK_INT_EQ(count_expr(idx, "not group = 7"), 1);
    CHECK_INT_EQ(count_expr(idx, "group = 7 and not group = 5"), 1);
    CHECK_INT_EQ(count_expr(idx, "group_messages_30d = 10"), 1);
    CHECK_INT_EQ(count_expr(idx, "group_messages_30d = 1"), 1);
    CHECK_INT_EQ(count_expr(idx, "group_messages_30d = 0"), 1);
    CHECK_INT_EQ(count_expr(idx, "group_messages_30d > 0 and group = 5"), 1);
    /* a day later m2's day leaves the window; twenty days later m1's day ten days ago */
    CHECK_INT_EQ(seg_index_advance_day(idx, T0 + 1, &err), 0);
    CHECK_INT_EQ(count_expr(idx, "group_messages_30d = 0"), 2);
    CHECK_INT_EQ(count_expr(idx, "group_messages_30d = 10"), 1);
    CHECK_INT_EQ(seg_index_advance_day(idx, T0 + 20, &err), 0);
    CHECK_INT_EQ(count_expr(idx, "group_messages_30d = 4"), 1);
    /* replacing the days: what the store says now */
    int32_t d3[] = {T0 + 20};
    int64_t m3[] = {7};
    CHECK_INT_EQ(seg_index_set_group_messages(idx, 1, d3, m3, 1, &err), 0);
    CHECK_INT_EQ(count_expr(idx, "group_messages_30d = 7"), 1);
    CHECK_INT_EQ(seg_index_set_group_messages(idx, 1, NULL, NULL, 0, &err), 0);
    CHECK_INT_EQ(count_expr(idx, "group_messages_30d = 0"), 3);
    /* clearing m1's groups (it is in the 2 its count says) before setting them again */
    CHECK_INT_EQ(seg_index_set_groups(idx, 1, 2, T0 - 40, &err), 0);
    CHECK_INT_EQ(seg_index_clear_member_groups(idx, 1, &err), 0);
    CHECK_INT_EQ(count_expr(idx, "group in (5, 7)"), 1);
    CHECK_INT_EQ(seg_index_set_member_group(idx, 1, 7, true, &err), 0);
    CHECK_INT_EQ(count_expr(idx, "group = 7"), 2);
    /* a removed member is in no audience */
    CHECK_INT_EQ(seg_index_remove_member(idx, 2, &err), 0);
    CHECK_INT_EQ(count_expr(idx, "group = 7"), 1);
    seg_index_free(idx);
}

/* Random: members in 80 groups (more than a membership list holds at once), joining and
 * leaving, messages on random days; every count against the members' own lists, while
 * the days roll past the window. */
#define GM 1500
#define GG 80
static bool gin[GM + 1][GG + 1];
static int32_t gday[GM + 1][8];
static int64_t gmsg[GM + 1][8];

static void test_groups_random(void)
{
    seg_index *idx = seg_index_new(T0);
    seg_error err;
    for (int64_t id = 1; id <= GM; id++)
        profile(idx, id);
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < GM * 4; k++) {
            int m = 1 + (int)rnd(GM), g = 1 + (int)rnd(GG);
            bool in = rnd(3) != 0;
            gin[m][g] = in;
            CHECK_INT_EQ(seg_index_set_member_group(idx, m, g, in, &err), 0);
        }
        int32_t today = seg_index_today(idx);
        for (int m = 1; m <= GM; m++) {
            for (int k = 0; k < 8; k++) {
                gday[m][k] = today - (int32_t)rnd(40);
                gmsg[m][k] = rnd(4) ? 0 : (int64_t)rnd(50);
            }
            CHECK_INT_EQ(seg_index_set_group_messages(idx, m, gday[m], gmsg[m], 8, &err), 0);
        }
        for (int step = 0; step < 3; step++) {
            today = seg_index_today(idx);
            int64_t want_ge[4] = {0}, thresholds[4] = {1, 20, 60, 150};
            for (int m = 1; m <= GM; m++) {
                int64_t sum = 0;
                for (int k = 0; k < 8; k++)
                    if (gday[m][k] > today - 30) sum += gmsg[m][k];
                for (int t = 0; t < 4; t++)
                    want_ge[t] += sum >= thresholds[t];
            }
            char text[600];
            for (int t = 0; t < 4; t++) {
                snprintf(text, sizeof text, "group_messages_30d >= %lld", (long long)thresholds[t]);
                CHECK_INT_EQ(count_expr(idx, text), want_ge[t]);
            }
            for (int g = 1; g <= GG; g += 7) {
                int64_t want = 0, want_pair = 0;
                int g2 = 1 + (g * 13) % GG;
                for (int m = 1; m <= GM; m++) {
                    want += gin[m][g];
                    want_pair += gin[m][g] || gin[m][g2];
                }
                snprintf(text, sizeof text, "group = %d", g);
                CHECK_INT_EQ(count_expr(idx, text), want);
                snprintf(text, sizeof text, "group != %d", g);
                CHECK_INT_EQ(count_expr(idx, text), GM - want);
                snprintf(text, sizeof text, "group in (%d, %d)", g, g2);
                CHECK_INT_EQ(count_expr(idx, text), want_pair);
            }
            /* every group named at once: members in any group */
            size_t n = (size_t)snprintf(text, sizeof text, "group in (1");
            for (int g = 2; g <= GG; g++)
                n += (size_t)snprintf(text + n, sizeof text - n, ", %d", g);
            snprintf(text + n, sizeof text - n, ")");
            int64_t any = 0;
            for (int m = 1; m <= GM; m++) {
                bool a = false;
                for (int g = 1; g <= GG; g++)
                    a |= gin[m][g];
                any += a;
            }
            CHECK_INT_EQ(count_expr(idx, text), any);
            CHECK_INT_EQ(seg_index_advance_day(idx, today + 1 + (int32_t)rnd(12), &err), 0);
        }
    }
    seg_index_free(idx);
}

/* The category pool is written whole to the views snapshot, room past each member's pairs
 * included: a block is zeroed when handed out. Member 1 fills a block of 4 and moves on to
 * one of 8, leaving its 4 pairs on the free list; member 2's third category takes that block:
 * the room past member 2's 3 pairs must be zero, not member 1's fourth pair. */
static void test_category_blocks(void)
{
    seg_index *idx = seg_index_new(T0);
    seg_error err;
    profile(idx, 1);
    profile(idx, 2);
    for (int c = 0; c < 5; c++) {
        seg_category_spend cs = {cats[c], 100 + c};
        CHECK_INT_EQ(seg_index_apply_order(idx, 1, T0, 100 + c, 1, &cs, 1, &err), 0);
    }
    for (int c = 0; c < 3; c++) {
        seg_category_spend cs = {cats[c], 7};
        CHECK_INT_EQ(seg_index_apply_order(idx, 2, T0, 7, 1, &cs, 1, &err), 0);
    }
    int o = seg_ix_ord(idx, 2);
    CHECK(o >= 0 && idx->cat_len[o] == 3 && idx->cat_cap_log[o] == 2);
    if (o >= 0) {
        const seg_catpair *b = &idx->catpool[idx->cat_off[o]];
        CHECK(b[0].cents == 7 && b[2].cents == 7);
        CHECK_INT_EQ(b[3].cat, 0);
        CHECK_INT_EQ(b[3].cents, 0);
    }
    seg_index_free(idx);
}

int main(void)
{
    test_category_blocks();
    test_groups_by_hand();
    test_groups_random();
    test_merge();
    test_rfm_settings();
    test_class_kernels();
    test_set_forms();
    return CHECK_DONE();
}
