/* test_snapshot.c — the views' snapshot file (src/views/snapshot.c).
 *
 *   - written and read back, the views answer as the ones written: every count of a set of
 *     expressions and the KPI report, and writing what was read gives the same bytes again;
 *   - read from the file, the columns lie in its mapping (base/snapmap.h); views so read and
 *     then changed (members and orders added past their capacity, members changed, merged,
 *     removed, the index compacted) answer as the written views given the same changes,
 *     the file's bytes stay as written, and freeing them frees no mapped column (ASan);
 *     more of a node's changes (stores, guides and live views past capacity, refunds, reach,
 *     store groups, messages, predictions, a day past the window) leave the same bytes as on
 *     copied views; written over the file they lie in and read back, they answer alike and the
 *     first mapping goes with its last holder; an index with an id hash and slack (compacted
 *     and rehashed in place) beside an empty fact store does the same;
 *   - the checksums' chunks, written streaming and read on two threads, agree for any chunk
 *     size (one byte, a section's length, one less or more);
 *   - a snapshot of another change sequence, tag or schema is refused;
 *   - every single flipped byte of the file, and every cut length, is refused (checksums);
 *   - past the checksums, every flipped byte of the payload is refused or read back into
 *     views that still answer (the reader's own checks; fuzz_snapshot goes further), read
 *     from a copy or in place from a mapping (a section refused half way frees what it borrowed
 *     and gives its reference back);
 *   - an id map read back is refused unless it finds exactly its column's ids. */
#include <unistd.h>

#include "base/snapmap.h"
#include "check.h"
#include "reports/internal.h"
#include "segment/eval.h"
#include "segment/seg_internal.h"
#include "snapshot_chain.h"

static const char *exprs[] = {"orders >= 1",
                              "orders >= 2 and city = \"杭州\"",
                              "tier = \"gold\" or favourite_category = \"酒水\"",
                              "spend_365d_cents > 5000 and orders_90d >= 1",
                              "group = 8",
                              "groups >= 1 and store = 3",
                              "guide = 17 or reach.wecom",
                              "rfm = \"重要价值\" or lifecycle = \"active\"",
                              "points_balance between 100 and 2000",
                              "join_channel = \"live\" and brand = 2"};
#define NEXPR (sizeof exprs / sizeof *exprs)

static bool quiet; /* flipped payloads: a refused expression is expected there */

static void answers(reports_t *r, seg_index *idx, uint64_t *counts, char **kpi)
{
    for (size_t i = 0; i < NEXPR; i++) {
        seg_expr *e = NULL;
        seg_error err;
        counts[i] = UINT64_MAX;
        if (seg_parse(exprs[i], idx, &e, &err) == 0)
            seg_count(idx, e, NULL, &counts[i], &err);
        else if (!quiet)
            fprintf(stderr, "%s: %s\n", exprs[i], err.msg);
        seg_expr_free(e);
    }
    reports_query q = {.from = CHAIN_T0 / 86400 - 400, .to = CHAIN_T0 / 86400 + 30, .channel = -1};
    siyu_err e;
    siyu_err_init(&e);
    json_t *k = reports_kpi(r, &q, &e);
    json_object_del(k, "took_ms");
    *kpi = k ? json_dumps(k, JSON_SORT_KEYS | JSON_COMPACT) : strdup("(none)");
    json_decref(k);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    if (fread(b, 1, *n, f) != *n) *n = 0;
    fclose(f);
    return b;
}

/* The same changes to two sets of views: enough new members and orders to grow every
 * column past the capacity a snapshot gives it, and changes to members read from it. */
static void change(reports_t *r, seg_index *idx)
{
    siyu_err e;
    siyu_err_init(&e);
    seg_error se;
    int32_t today = CHAIN_T0 / 86400 + 30;
    for (int64_t id = CHAIN_MEMBERS + 1; id <= 3 * CHAIN_MEMBERS; id++) {
        chain_must(reports_upsert_member(r,
                                         &(reports_member_in){.id = id,
                                                              .joined_at = CHAIN_T0 - 86400,
                                                              .join_channel = "store",
                                                              .store_id = 1 + id % 6},
                                         &e),
                   "new member");
        seg_member_profile p = {.id = id,
                                .store_id = 1 + id % 6,
                                .brand_id = 1,
                                .join_channel = "store",
                                .tier = "silver",
                                .city = "杭州",
                                .birthday = SEG_NO_DAY,
                                .joined_day = today - 1};
        chain_must(seg_index_upsert_member(idx, &p, &se), "new index member");
        chain_must(seg_index_set_reach(idx, id, 1, &se), "new reach");
    }
    for (int64_t k = 0; k < 6000; k++) { /* past the fact store's order and item capacity */
        int64_t member = 1 + k % (3 * CHAIN_MEMBERS);
        if (member == 3 || member == 5) continue; /* merged, removed */
        reports_item_in item = {"SKU-C", "生鲜", 1, 800, 0};
        chain_must(reports_add_order(r,
                                     &(reports_order_in){.id = 1000000 + k,
                                                         .member_id = member,
                                                         .store_id = 1 + k % 6,
                                                         .channel = "store",
                                                         .placed_at = CHAIN_T0 - k * 600,
                                                         .total_cents = 800,
                                                         .items = &item,
                                                         .n_items = 1},
                                     &e),
                   "new order");
        seg_category_spend cs = {"生鲜", 800};
        chain_must(seg_index_apply_order(idx, member, (int32_t)((CHAIN_T0 - k * 600) / 86400), 800,
                                         1, &cs, 1, &se),
                   "new index order");
    }
    for (int64_t id = 1; id <= CHAIN_MEMBERS; id += 7)
        if (id != 3 && id != 5) chain_must(seg_index_set_points(idx, id, id * 3, &se), "points");
    chain_must(seg_index_merge_member(idx, 4, 6, &se), "merge");
    chain_must(reports_merge_members(r, 4, 6, &e), "facts merge");
    chain_must(seg_index_remove_member(idx, 5, &se), "remove");
    seg_index_compact(idx);
}

/* An id map read back is taken only when it finds exactly its column's ids, each by a lookup. */
static void test_map_checks(void)
{
    enum { ROWS = 3000 };
    int64_t ids[ROWS];
    rp_map m = {0};
    for (int i = 0; i < ROWS; i++) {
        ids[i] = 1000003 * (int64_t)(i + 1);
        rp_map_put(&m, ids[i], i);
    }
    CHECK(rp_map_is_rows(&m, ids, ROWS));
    CHECK(!rp_map_is_rows(&m, ids, ROWS - 1)); /* a count that is not the column's */
    size_t a = 0, b;
    while (!m.k[a])
        a++;
    for (b = a + 1; !m.k[b]; b++)
        ;
    int32_t va = m.v[a];
    m.v[a] = m.v[b]; /* two slots naming one row */
    CHECK(!rp_map_is_rows(&m, ids, ROWS));
    m.v[a] = ROWS; /* a row past the column */
    CHECK(!rp_map_is_rows(&m, ids, ROWS));
    m.v[a] = va;
    int64_t ka = m.k[a];
    m.k[a] = ka + 1; /* a key that is not its row's id */
    CHECK(!rp_map_is_rows(&m, ids, ROWS));
    m.k[a] = ka;
    CHECK(rp_map_is_rows(&m, ids, ROWS));
    /* a key moved past an empty slot after its home: a lookup stops at the empty one */
    size_t e = a + 1;
    while (m.k[e % m.cap])
        e++;
    size_t to = (e + 1) % m.cap;
    while (m.k[to])
        to = (to + 1) % m.cap;
    m.k[to] = m.k[a];
    m.v[to] = m.v[a];
    m.k[a] = 0;
    CHECK(!rp_map_is_rows(&m, ids, ROWS));
    rp_map_free(&m);
}

/* More of what a running node does to views read from a snapshot, the same to both sets:
 * new stores and guides past the capacity read (6 stores), live views past theirs, refunds
 * and reach of orders and members read from the file (written in place), store groups joined
 * and left (dense, roaring and array sets), group messages, contacts, referrals, predictions,
 * a tier and a city new to their dictionaries, and a day past the whole window (every bucket
 * leaves). */
static void change_more(reports_t *r, seg_index *idx)
{
    siyu_err e;
    siyu_err_init(&e);
    seg_error se;
    int32_t today = CHAIN_T0 / 86400 + 30;
    for (int64_t s = 7; s <= 40; s++)
        chain_must(reports_upsert_store(
                       r, &(reports_store_in){.id = s, .kind = "physical", .brand_id = 3}, &e),
                   "new store");
    for (int64_t k = 0; k < 1500; k++) {
        int64_t member = 1 + (k * 7) % (3 * CHAIN_MEMBERS);
        if (member == 3 || member == 5 || member == 6) continue; /* merged, removed */
        chain_must(reports_add_live_view(r, member, CHAIN_T0 - k * 60, &e), "live view");
        if (k < 200) {
            reports_item_in item = {"SKU-G", "日化", 1, 1200, 0};
            chain_must(reports_add_order(r,
                                         &(reports_order_in){.id = 2000000 + k,
                                                             .member_id = member,
                                                             .store_id = 7 + k % 34,
                                                             .guide_id = 900 + k,
                                                             .channel = "live",
                                                             .placed_at = CHAIN_T0 - k * 300,
                                                             .total_cents = 1200,
                                                             .items = &item,
                                                             .n_items = 1},
                                         &e),
                       "order at a new store");
        }
    }
    for (int64_t o = 1; o <= 40; o += 3) /* orders read from the file */
        chain_must(
            reports_add_refund(r, &(reports_refund_in){.order_id = o, .amount_cents = 1}, &e),
            "refund of an old order");
    for (int64_t id = 1; id <= 3 * CHAIN_MEMBERS; id += 5) {
        if (id == 3 || id == 5 || id == 6) continue;
        chain_must(reports_set_reach(r, id, "sms", id % 2, &e), "reach");
        chain_must(seg_index_set_reach(idx, id, (unsigned)(id % 32), &se), "index reach");
        chain_must(seg_index_set_member_group(idx, id, 8, id % 3 != 0, &se), "group 8");
        chain_must(seg_index_set_member_group(idx, id, 100 + id % 4, true, &se), "new group");
        chain_must(seg_index_set_contacts(idx, id, id % 4, today - 2, &se), "contacts");
        chain_must(seg_index_set_referrals(idx, id, id % 3, id % 5, id % 2, &se), "referrals");
        chain_must(seg_index_set_prediction(idx, id, 0.5, 1.25, id * 10, &se), "prediction");
        int32_t days[2] = {today - 1, today};
        int64_t msgs[2] = {id % 7, 2};
        chain_must(seg_index_set_group_messages(idx, id, days, msgs, 2, &se), "messages");
        if (id % 10 == 1) chain_must(seg_index_set_tier(idx, id, "diamond", &se), "tier");
    }
    seg_member_profile p = {.id = 7,
                            .store_id = 40,
                            .brand_id = 3,
                            .join_channel = "store",
                            .tier = "silver",
                            .city = "苏州",
                            .birthday = SEG_NO_DAY,
                            .joined_day = today - 1};
    chain_must(seg_index_upsert_member(idx, &p, &se), "a member moved");
    chain_must(seg_index_clear_member_groups(idx, 11, &se), "groups cleared");
    chain_must(seg_index_advance_day(idx, today + 400, &se), "a day past the window");
}

/* Members added to both sets of views, looked up by id after (the id hash when there is one). */
static void add_members(reports_t *r, seg_index *idx, int64_t from, int64_t to)
{
    siyu_err e;
    siyu_err_init(&e);
    seg_error se;
    for (int64_t id = from; id <= to; id++) {
        chain_must(reports_upsert_member(r, &(reports_member_in){.id = id, .store_id = 1}, &e),
                   "member");
        reports_item_in item = {"SKU-H", "生鲜", 1, 500, 0};
        chain_must(reports_add_order(r,
                                     &(reports_order_in){.id = id,
                                                         .member_id = id,
                                                         .store_id = 1,
                                                         .channel = "store",
                                                         .placed_at = CHAIN_T0 - id * 60,
                                                         .total_cents = 500,
                                                         .items = &item,
                                                         .n_items = 1},
                                     &e),
                   "order");
        seg_member_profile p = {.id = id,
                                .store_id = 1,
                                .city = id % 2 ? "杭州" : "上海",
                                .birthday = SEG_NO_DAY,
                                .joined_day = CHAIN_T0 / 86400};
        chain_must(seg_index_upsert_member(idx, &p, &se), "index member");
    }
    for (int64_t id = 1; id <= to; id++)
        chain_must(seg_index_set_points(idx, id, id, &se), "every member found by id");
}

/* Views the chain does not have: a member index whose ids came out of order (so it keeps an id
 * hash, read in place), with room for more members than it holds (compacted in place), beside
 * a fact store with nothing in it (every column empty). Read in place or copied, then changed
 * alike (the hash filled in place, then rehashed; every column grown from empty or from the
 * mapping), the two write the same bytes. */
static void test_hash_and_empty(void)
{
    char path[] = "/tmp/siyu-views-hash-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    reports_t *r = reports_new();
    seg_index *idx = seg_index_new(CHAIN_T0 / 86400 + 1);
    seg_error se;
    for (int64_t id = 600; id >= 1; id--) {
        seg_member_profile p = {
            .id = id, .store_id = 2, .birthday = SEG_NO_DAY, .joined_day = CHAIN_T0 / 86400};
        chain_must(seg_index_upsert_member(idx, &p, &se), "member out of order");
    }
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(views_snapshot_write(path, r, idx, 27, 7, 7, &e), 0);
    reports_free(r);
    seg_index_free(idx);
    size_t n = 0;
    unsigned char *file = slurp(path, &n);
    char why[160] = "";
    reports_t *rm = NULL, *rc = NULL;
    seg_index *im = NULL, *ic = NULL;
    CHECK_INT_EQ(views_snapshot_read(path, 27, 7, 7, &rm, &im, why, sizeof why), 0);
    CHECK_INT_EQ(views_snapshot_parse(file, n, 27, 7, 7, &rc, &ic, why, sizeof why), 0);
    if (!rm || !im || !rc || !ic) {
        fprintf(stderr, "hash and empty: %s\n", why);
        return;
    }
    CHECK(im->hslots && snapmap_owns(im->hslots) && im->cap > 640 && snapmap_owns(im->ids));
    reports_t *rq = NULL;
    seg_index *iq = NULL; /* freed as read: its hash still in the mapping */
    CHECK_INT_EQ(views_snapshot_read(path, 27, 7, 7, &rq, &iq, why, sizeof why), 0);
    CHECK(iq && snapmap_owns(iq->hslots));
    reports_free(rq);
    seg_index_free(iq);
    CHECK(!snapmap_owns(rm->m_id) && !snapmap_owns(rm->o_id)); /* empty: own blocks */
    seg_index_compact(im);
    seg_index_compact(ic);
    CHECK(im->cap == 640 && !snapmap_owns(im->ids) && snapmap_owns(im->hslots));
    add_members(rm, im, 601, 700); /* into the hash in the mapping */
    add_members(rc, ic, 601, 700);
    CHECK(snapmap_owns(im->hslots));
    chain_buf a = chain_payload(rm, im), b = chain_payload(rc, ic);
    CHECK(a.n == b.n && memcmp(a.p, b.p, a.n) == 0);
    free(a.p);
    free(b.p);
    add_members(rm, im, 701, 1500); /* the hash rehashed, the columns grown again */
    add_members(rc, ic, 701, 1500);
    CHECK(!snapmap_owns(im->hslots));
    a = chain_payload(rm, im);
    b = chain_payload(rc, ic);
    CHECK(a.n == b.n && memcmp(a.p, b.p, a.n) == 0);
    free(a.p);
    free(b.p);
    reports_free(rm);
    seg_index_free(im);
    reports_free(rc);
    seg_index_free(ic);
    free(file);
    unlink(path);
}

int main(void)
{
    test_map_checks();
    test_hash_and_empty();
    reports_t *r;
    seg_index *idx;
    chain_build(&r, &idx);
    uint64_t want[NEXPR], got[NEXPR];
    char *want_kpi, *got_kpi;
    answers(r, idx, want, &want_kpi);
    for (size_t i = 0; i < NEXPR; i++)
        CHECK(want[i] != UINT64_MAX);
    CHECK(want[0] > 0 && want[0] < CHAIN_MEMBERS);

    char path[] = "/tmp/siyu-views-snapshot-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(views_snapshot_write(path, r, idx, 27, 1234, -99, &e), 0);

    /* read back: the same answers, and the same bytes when written again */
    reports_t *r2;
    seg_index *i2;
    char why[160];
    CHECK_INT_EQ(views_snapshot_read(path, 27, 1234, -99, &r2, &i2, why, sizeof why), 0);
    answers(r2, i2, got, &got_kpi);
    for (size_t i = 0; i < NEXPR; i++)
        CHECK_INT_EQ(got[i], want[i]);
    CHECK_STR_EQ(got_kpi, want_kpi);
    chain_buf a = chain_payload(r, idx), b = chain_payload(r2, i2);
    CHECK_INT_EQ(a.n, b.n);
    CHECK(a.n == b.n && memcmp(a.p, b.p, a.n) == 0);
    free(got_kpi);
    reports_free(r2);
    seg_index_free(i2);

    /* in place: mapped columns, changed like the written views, the file untouched */
    size_t n0 = 0;
    unsigned char *before = slurp(path, &n0);
    CHECK_INT_EQ(views_snapshot_read(path, 27, 1234, -99, &r2, &i2, why, sizeof why), 0);
    CHECK(snapmap_owns(i2->ids) && snapmap_owns(i2->live) && snapmap_owns(i2->dims[0].col));
    CHECK(snapmap_owns(r2->m_id) && snapmap_owns(r2->o_total) && snapmap_owns(r2->i_unit));
    CHECK(snapmap_owns(r2->member_ix.k) && snapmap_owns(r2->order_ix.v));
    CHECK(!snapmap_owns(i2->gdays) && !snapmap_owns(r2->o_mpos));
    const void *first_map = i2->ids;
    reports_t *rc = NULL;
    seg_index *ic = NULL;
    CHECK_INT_EQ(views_snapshot_parse(before, n0, 27, 1234, -99, &rc, &ic, why, sizeof why), 0);
    CHECK(!snapmap_owns(ic->ids) && !snapmap_owns(rc->m_id)); /* a buffer: copied */
    change(r2, i2);
    change(rc, ic);
    CHECK(!snapmap_owns(i2->ids) && !snapmap_owns(r2->o_total)); /* grown: copied out */
    CHECK(!snapmap_owns(r2->member_ix.k) && !snapmap_owns(r2->order_ix.v));
    CHECK(snapmap_owns(r2->s_id) && snapmap_owns(r2->lv_member));
    change_more(r2, i2);
    change_more(rc, ic);
    CHECK(!snapmap_owns(r2->s_id) && !snapmap_owns(r2->lv_member));
    /* mapped or copied, the same changes leave the same views, to the byte (the category
     * pool's room past each member's pairs included: zeroed, not what the heap held) */
    chain_buf pm = chain_payload(r2, i2), pc = chain_payload(rc, ic);
    CHECK(pm.n == pc.n && memcmp(pm.p, pc.p, pm.n) == 0);
    free(pm.p);
    free(pc.p);
    uint64_t changed[NEXPR];
    char *changed_kpi;
    answers(rc, ic, changed, &changed_kpi);
    answers(r2, i2, got, &got_kpi);
    CHECK(changed[0] > want[0]);
    for (size_t i = 0; i < NEXPR; i++)
        CHECK_INT_EQ(got[i], changed[i]);
    CHECK_STR_EQ(got_kpi, changed_kpi);
    free(got_kpi);
    free(changed_kpi);
    size_t n1 = 0;
    unsigned char *after = slurp(path, &n1);
    CHECK(n1 == n0 && memcmp(before, after, n0) == 0);
    free(before);
    free(after);

    /* a clean stop then a restart: the views, partly still in the first mapping, written over
     * the file they were read from; read back in place they answer as the copied ones, and
     * they outlive the first mapping (freed first) */
    CHECK_INT_EQ(views_snapshot_write(path, r2, i2, 27, 1235, -99, &e), 0);
    reports_t *r3 = NULL;
    seg_index *i3 = NULL;
    CHECK_INT_EQ(views_snapshot_read(path, 27, 1235, -99, &r3, &i3, why, sizeof why), 0);
    CHECK(r3 && i3 && snapmap_owns(i3->ids) && snapmap_owns(r3->o_total));
    CHECK(snapmap_owns(first_map)); /* held by r2 and i2, whatever still lies in it */
    reports_free(r2);
    seg_index_free(i2);
    CHECK(!snapmap_owns(first_map)); /* the first mapping went with its last holder */
    uint64_t again[NEXPR];
    char *again_kpi;
    answers(r3, i3, again, &again_kpi);
    answers(rc, ic, changed, &changed_kpi);
    for (size_t i = 0; i < NEXPR; i++)
        CHECK_INT_EQ(again[i], changed[i]);
    CHECK_STR_EQ(again_kpi, changed_kpi);
    free(again_kpi);
    free(changed_kpi);
    pm = chain_payload(r3, i3);
    pc = chain_payload(rc, ic);
    CHECK(pm.n == pc.n && memcmp(pm.p, pc.p, pm.n) == 0);
    free(pm.p);
    free(pc.p);
    change(r3, i3); /* ids already there: only updates, in the second mapping */
    reports_free(r3);
    seg_index_free(i3);
    reports_free(rc);
    seg_index_free(ic);
    CHECK_INT_EQ(views_snapshot_write(path, r, idx, 27, 1234, -99, &e), 0); /* as before */

    /* stale or foreign */
    CHECK_INT_EQ(views_snapshot_read(path, 27, 1235, -99, &r2, &i2, why, sizeof why), -1);
    CHECK(strstr(why, "change 1234") != NULL);
    CHECK_INT_EQ(views_snapshot_read(path, 27, 1234, 5, &r2, &i2, why, sizeof why), -1);
    CHECK(strstr(why, "another history") != NULL);
    CHECK_INT_EQ(views_snapshot_read(path, 28, 1234, -99, &r2, &i2, why, sizeof why), -1);
    CHECK(r2 == NULL && i2 == NULL);
    CHECK_INT_EQ(
        views_snapshot_read("/nonexistent/x.views", 27, 1234, -99, &r2, &i2, why, sizeof why), -1);
    CHECK_STR_EQ(why, "none");

    /* every flipped byte and every cut of the file is refused */
    size_t n = 0;
    unsigned char *file = slurp(path, &n);
    CHECK(file && n > 1000);
    size_t step = n / 3000 + 1, refused = 0, tried = 0;
    for (size_t off = 0; off < n; off += (off < 512 ? 1 : step)) {
        file[off] ^= 0x41;
        tried++;
        refused += views_snapshot_parse(file, n, 27, 1234, -99, &r2, &i2, why, sizeof why) == -1 &&
                   !r2 && !i2;
        file[off] ^= 0x41;
    }
    CHECK_INT_EQ(refused, tried);
    refused = tried = 0;
    for (size_t cut = 0; cut < n; cut += (cut < 512 ? 1 : step)) {
        tried++;
        refused += views_snapshot_parse(file, cut, 27, 1234, -99, &r2, &i2, why, sizeof why) == -1;
    }
    CHECK_INT_EQ(refused, tried);
    CHECK_INT_EQ(views_snapshot_parse(file, n, 27, 1234, -99, &r2, &i2, why, sizeof why), 0);
    reports_free(r2);
    seg_index_free(i2);

    /* the checksums' chunks: the writer's, cut as the bytes stream out, and the reader's, cut
     * from the section in memory and hashed on two threads, agree whatever the chunk's size
     * (one byte, a section's length exactly, one byte less or more); a chunk size that changes
     * the digests shows the chunks are really cut */
    uint64_t flen, ilen;
    memcpy(&flen, file + 64, 8); /* snap_header: facts_len, index_len */
    memcpy(&ilen, file + 72, 8);
    CHECK(n == 128 + flen + ilen && flen > 4096 && ilen > 4096);
    size_t chunks[] = {1,        3,        64,   4096,     flen - 1, flen,
                       flen + 1, ilen - 1, ilen, ilen + 1, flen / 2, ilen / 3 + 1};
    for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
        views_snapshot_sum_chunk_for_tests = chunks[c];
        CHECK_INT_EQ(views_snapshot_write(path, r, idx, 27, 1234, -99, &e), 0);
        CHECK_INT_EQ(views_snapshot_read(path, 27, 1234, -99, &r2, &i2, why, sizeof why), 0);
        if (!r2 || !i2) {
            fprintf(stderr, "chunk %zu: %s\n", chunks[c], why);
            continue;
        }
        chain_buf cb = chain_payload(r2, i2);
        CHECK(a.n == cb.n && memcmp(a.p, cb.p, a.n) == 0);
        free(cb.p);
        reports_free(r2);
        seg_index_free(i2);
        views_snapshot_sum_chunk_for_tests = chunks[c] < 4096 ? 1u << 20 : 1;
        CHECK_INT_EQ(views_snapshot_read(path, 27, 1234, -99, &r2, &i2, why, sizeof why), -1);
        CHECK(strstr(why, "damaged") != NULL);
    }
    views_snapshot_sum_chunk_for_tests = 0;
    CHECK_INT_EQ(views_snapshot_write(path, r, idx, 27, 1234, -99, &e), 0);

    /* past the checksums: each flipped payload byte is refused or still answers */
    size_t accepted = 0, accepted3 = 0; /* accepted3: at every third offset */
    quiet = true;
    size_t pstep = a.n / 6000 + 1, pflips = 0;
    for (size_t off = 0; off < a.n; off += pstep) {
        pflips++;
        a.p[off] ^= 0x80;
        snap_in in = {.p = a.p, .n = a.n};
        if (views_snapshot_parse_payload(&in, &r2, &i2) == 0) {
            accepted++;
            accepted3 += (off / pstep) % 3 == 0;
            answers(r2, i2, got, &got_kpi);
            free(got_kpi);
            reports_free(r2);
            seg_index_free(i2);
        } else {
            CHECK(r2 == NULL && i2 == NULL);
        }
        a.p[off] ^= 0x80;
    }
    /* values (spend, days, points) may change and still read; structure may not */
    CHECK(accepted < pflips);
    for (size_t cut = 0; cut < a.n; cut += pstep) {
        snap_in in = {.p = a.p, .n = cut};
        CHECK_INT_EQ(views_snapshot_parse_payload(&in, &r2, &i2), -1);
    }
    fprintf(stderr, "payload %zu bytes: %zu of %zu single-byte flips read back, the rest refused\n",
            a.n, accepted, pflips);

    /* the same flips read in place: a section refused half way, with some columns in the
     * mapping and some copied, frees each as it should (ASan), and every reference it took is
     * given back (the mapping is gone after its own release) */
    char ppath[] = "/tmp/siyu-views-payload-XXXXXX";
    int pfd = mkstemp(ppath);
    CHECK(pfd >= 0 && write(pfd, a.p, a.n) == (ssize_t)a.n);
    close(pfd);
    snapmap *pmap = snapmap_open(ppath, why, sizeof why);
    CHECK(pmap && snapmap_in_place(pmap));
    unsigned char *pd = snapmap_data(pmap);
    size_t in_place = 0;
    for (size_t off = 0; off < a.n; off += 3 * pstep) {
        pd[off] ^= 0x80; /* copy on write: the file stays */
        snap_in in = {.p = pd, .n = a.n, .map = pmap};
        if (views_snapshot_parse_payload(&in, &r2, &i2) == 0) {
            in_place++;
            CHECK(snapmap_owns(i2->ids) && snapmap_owns(r2->m_id));
            answers(r2, i2, got, &got_kpi);
            free(got_kpi);
            reports_free(r2);
            seg_index_free(i2);
        } else {
            CHECK(r2 == NULL && i2 == NULL);
        }
        pd[off] ^= 0x80;
    }
    CHECK_INT_EQ(in_place, accepted3);
    snapmap_release(pmap);
    CHECK(!snapmap_owns(pd));
    unlink(ppath);

    free(file);
    free(a.p);
    free(b.p);
    free(want_kpi);
    unlink(path);
    reports_free(r);
    seg_index_free(idx);
    return CHECK_DONE();
}
