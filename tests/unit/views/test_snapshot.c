/* test_snapshot.c — the views' snapshot file (src/views/snapshot.c).
 *
 *   - written and read back, the views answer as the ones written: every count of a set of
 *     expressions and the KPI report, and writing what was read gives the same bytes again;
 *   - read from the file, the columns lie in its mapping (base/snapmap.h); views so read and
 *     then changed (members and orders added past their capacity, members changed, merged,
 *     removed, the index compacted) answer as the written views given the same changes,
 *     the file's bytes stay as written, and freeing them frees no mapped column (ASan);
 *   - a snapshot of another change sequence, tag or schema is refused;
 *   - every single flipped byte of the file, and every cut length, is refused (checksums);
 *   - past the checksums, every flipped byte of the payload is refused or read back into
 *     views that still answer (the reader's own checks; fuzz_snapshot goes further);
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

int main(void)
{
    test_map_checks();
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
    reports_t *rc = NULL;
    seg_index *ic = NULL;
    CHECK_INT_EQ(views_snapshot_parse(before, n0, 27, 1234, -99, &rc, &ic, why, sizeof why), 0);
    CHECK(!snapmap_owns(ic->ids) && !snapmap_owns(rc->m_id)); /* a buffer: copied */
    change(r2, i2);
    change(rc, ic);
    CHECK(!snapmap_owns(i2->ids) && !snapmap_owns(r2->o_total)); /* grown: copied out */
    CHECK(!snapmap_owns(r2->member_ix.k) && !snapmap_owns(r2->order_ix.v));
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
    reports_free(r2);
    seg_index_free(i2);
    reports_free(rc);
    seg_index_free(ic);

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

    /* past the checksums: each flipped payload byte is refused or still answers */
    size_t accepted = 0;
    quiet = true;
    size_t pstep = a.n / 6000 + 1, pflips = 0;
    for (size_t off = 0; off < a.n; off += pstep) {
        pflips++;
        a.p[off] ^= 0x80;
        snap_in in = {.p = a.p, .n = a.n};
        if (views_snapshot_parse_payload(&in, &r2, &i2) == 0) {
            accepted++;
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

    free(file);
    free(a.p);
    free(b.p);
    free(want_kpi);
    unlink(path);
    reports_free(r);
    seg_index_free(idx);
    return CHECK_DONE();
}
