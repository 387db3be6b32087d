/* test_snapshot.c — the views' snapshot file (src/views/snapshot.c).
 *
 *   - written and read back, the views answer as the ones written: every count of a set of
 *     expressions and the KPI report, and writing what was read gives the same bytes again;
 *   - a snapshot of another change sequence, tag or schema is refused;
 *   - every single flipped byte of the file, and every cut length, is refused (checksums);
 *   - past the checksums, every flipped byte of the payload is refused or read back into
 *     views that still answer (the reader's own checks; fuzz_snapshot goes further). */
#include <unistd.h>

#include "check.h"
#include "segment/eval.h"
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

int main(void)
{
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
