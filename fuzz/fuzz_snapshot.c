/* fuzz_snapshot.c — the views' snapshot reader (src/views/snapshot.c, reports/snapshot.c,
 * segment/snapshot.c) on payloads it did not write. The file's checksums refuse any change
 * to a written snapshot, so this goes past them: the reader itself must refuse or read back
 * every payload without reading or writing outside what it allocated, and whatever it reads
 * back must answer a count and a report. An input whose first byte is odd is a list of
 * (offset, xor) edits of a real payload (a small chain, snapshot_chain.h), which keeps the
 * mutations deep inside a well-formed file; an even one is read as a payload itself. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment/eval.h"
#include "snapshot_chain.h"

static chain_buf seed;

static void use(reports_t *r, seg_index *idx)
{
    static const char *exprs[] = {"orders >= 1", "city = \"杭州\" and tier = \"gold\"",
                                  "favourite_category = \"酒水\" or spend_365d_cents > 5000",
                                  "group = 8 or reach.sms", "rfm = \"重要价值\""};
    for (size_t i = 0; i < sizeof exprs / sizeof *exprs; i++) {
        seg_expr *e = NULL;
        seg_error err;
        uint64_t n;
        if (seg_parse(exprs[i], idx, &e, &err) == 0) seg_count(idx, e, NULL, &n, &err);
        seg_expr_free(e);
    }
    reports_query q = {.from = CHAIN_T0 / 86400 - 400, .to = CHAIN_T0 / 86400 + 30, .channel = -1};
    siyu_err e;
    siyu_err_init(&e);
    json_t *k = reports_kpi(r, &q, &e);
    json_decref(k);
    siyu_err_clear(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!seed.p) {
        reports_t *r;
        seg_index *idx;
        chain_build(&r, &idx);
        seed = chain_payload(r, idx);
        reports_free(r);
        seg_index_free(idx);
    }
    if (size < 1 || size > (1 << 20)) return 0;
    unsigned char *buf;
    size_t len;
    if (data[0] & 1) {
        buf = malloc(seed.n);
        memcpy(buf, seed.p, seed.n);
        len = seed.n;
        for (size_t i = 1; i + 5 <= size; i += 5) {
            uint32_t off;
            memcpy(&off, data + i, 4);
            buf[off % len] ^= data[i + 4] ? data[i + 4] : 1;
        }
    } else {
        len = size - 1;
        buf = malloc(len ? len : 1);
        memcpy(buf, data + 1, len);
    }
    snap_in in = {.p = buf, .n = len};
    reports_t *r = NULL;
    seg_index *idx = NULL;
    if (views_snapshot_parse_payload(&in, &r, &idx) == 0) {
        use(r, idx);
        reports_free(r);
        seg_index_free(idx);
    } else if ((data[0] & 1) && size < 6) {
        fprintf(stderr, "the payload as written was refused\n");
        abort();
    } else if (r || idx) {
        fprintf(stderr, "a refused payload left a result\n");
        abort();
    }
    free(buf);
    return 0;
}
