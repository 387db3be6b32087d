/* test_concurrency.c — counts stay consistent while orders stream in.
 *
 * A writer applies orders (all dated today) and adds members (which grows and
 * reallocates every column) while readers count. Each count is one evaluation, and
 * within one evaluation no member may be seen half-updated:
 *   - orders >= 1 and orders_30d = 0      never (both move in one update)
 *   - orders >= 1 and last_order_days != 0 never
 *   - orders >= 1 or orders = 0            == every member seen so far, never decreasing
 *   - orders >= 1                          never decreasing (orders are only added),
 *                                          and never above every member counted after it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "segment/eval.h"
#include "segment/index.h"

#define START_MEMBERS 20000
#define ORDERS 60000
#define NEW_MEMBERS 30000
#define READERS 3

static seg_index *idx;
static atomic_bool done;
static atomic_int violations, reads;

static void *writer(void *arg)
{
    (void)arg;
    seg_error err;
    uint64_t r = 42;
    int64_t next_id = START_MEMBERS + 1;
    for (int i = 0; i < ORDERS; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        int64_t id = 1 + (int64_t)((r >> 33) % (uint64_t)(next_id - 1));
        seg_category_spend c = {"生鲜", 1000};
        if (seg_index_apply_order(idx, id, 20000, 1000, 2, &c, 1, &err) != 0)
            atomic_fetch_add(&violations, 1);
        if (i % 2 == 0 && next_id <= START_MEMBERS + NEW_MEMBERS) {
            seg_member_profile p = {.id = next_id++,
                                    .store_id = 1,
                                    .birthday = SEG_NO_DAY,
                                    .joined_day = 19990,
                                    .city = "杭州"};
            if (seg_index_upsert_member(idx, &p, &err) != 0) atomic_fetch_add(&violations, 1);
        }
    }
    atomic_store(&done, true);
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    seg_error err;
    seg_expr *torn1, *torn2, *all, *ordered;
    if (seg_parse("orders >= 1 and orders_30d = 0", idx, &torn1, &err) ||
        seg_parse("orders >= 1 and last_order_days != 0", idx, &torn2, &err) ||
        seg_parse("orders >= 1 or orders = 0", idx, &all, &err) ||
        seg_parse("orders >= 1", idx, &ordered, &err)) {
        atomic_fetch_add(&violations, 1);
        return NULL;
    }
    uint64_t last_all = 0, last_ordered = 0;
    while (!atomic_load(&done)) {
        /* c2 is counted after d: members are only added, so the members who have
         * ordered can never outnumber every member counted later (comparing d with c,
         * counted before, would race with the writer adding members in between) */
        uint64_t a = 0, b = 0, c = 0, d = 0, c2 = 0;
        if (seg_count(idx, torn1, NULL, &a, &err) || seg_count(idx, torn2, NULL, &b, &err) ||
            seg_count(idx, all, NULL, &c, &err) || seg_count(idx, ordered, NULL, &d, &err) ||
            seg_count(idx, all, NULL, &c2, &err)) {
            atomic_fetch_add(&violations, 1);
            break;
        }
        if (a || b || c < last_all || c < START_MEMBERS || d < last_ordered || d > c2 || c2 < c) {
            fprintf(
                stderr,
                "inconsistent read: torn %llu %llu, all %llu (was %llu), ordered %llu (was %llu)\n",
                (unsigned long long)a, (unsigned long long)b, (unsigned long long)c,
                (unsigned long long)last_all, (unsigned long long)d,
                (unsigned long long)last_ordered);
            atomic_fetch_add(&violations, 1);
        }
        last_all = c2;
        last_ordered = d;
        atomic_fetch_add(&reads, 1);
    }
    seg_expr_free(torn1);
    seg_expr_free(torn2);
    seg_expr_free(all);
    seg_expr_free(ordered);
    return NULL;
}

int main(void)
{
    seg_error err;
    idx = seg_index_new(20000);
    for (int64_t id = 1; id <= START_MEMBERS; id++) {
        seg_member_profile p = {.id = id,
                                .store_id = 1 + id % 7,
                                .birthday = SEG_NO_DAY,
                                .joined_day = 19990,
                                .city = "上海"};
        CHECK(seg_index_upsert_member(idx, &p, &err) == 0);
    }
    pthread_t w, rd[READERS];
    for (int i = 0; i < READERS; i++)
        pthread_create(&rd[i], NULL, reader, NULL);
    pthread_create(&w, NULL, writer, NULL);
    pthread_join(w, NULL);
    for (int i = 0; i < READERS; i++)
        pthread_join(rd[i], NULL);
    CHECK_INT_EQ(atomic_load(&violations), 0);
    CHECK(atomic_load(&reads) > 10);
    fprintf(stderr, "%d consistent reads during %d orders\n", atomic_load(&reads), ORDERS);

    /* the end state: every order counted exactly once */
    seg_expr *e;
    uint64_t n = 0;
    CHECK(seg_parse("orders >= 0", idx, &e, &err) == 0);
    CHECK(seg_count(idx, e, NULL, &n, &err) == 0);
    CHECK_INT_EQ(n, START_MEMBERS + NEW_MEMBERS);
    seg_expr_free(e);
    seg_breakdown bd;
    CHECK(seg_parse("orders >= 1", idx, &e, &err) == 0);
    CHECK(seg_breakdown_by(idx, e, NULL, "favourite_category", &bd, &err) == 0);
    CHECK_INT_EQ(bd.n, 1);
    seg_breakdown_release(&bd);
    seg_expr_free(e);
    seg_index_free(idx);
    return CHECK_DONE();
}
