/* test_parse.c — the expression language: every example of spec/segments.md parses,
 * the canonical form round-trips, and bad expressions fail with the right column. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "segment/eval.h"
#include "segment/expr.h"
#include "segment/index.h"

static seg_index *idx;

/* print(parse(src)) == want, and print is a fixed point. */
static void canon(const char *src, const char *want, int line)
{
    seg_expr *e = NULL;
    seg_error err;
    if (seg_parse(src, idx, &e, &err) != 0) {
        fprintf(stderr, "line %d: parse of [%s] failed: %s\n", line, src, err.msg);
        check_failures_++;
        return;
    }
    char *p = seg_print(e);
    if (want && strcmp(p, want) != 0) {
        fprintf(stderr, "line %d: [%s] printed [%s], want [%s]\n", line, src, p, want);
        check_failures_++;
    }
    seg_expr *e2 = NULL;
    if (seg_parse(p, idx, &e2, &err) != 0) {
        fprintf(stderr, "line %d: reparse of [%s] failed: %s\n", line, p, err.msg);
        check_failures_++;
    } else {
        char *p2 = seg_print(e2);
        if (strcmp(p, p2) != 0) {
            fprintf(stderr, "line %d: not a fixed point: [%s] -> [%s]\n", line, p, p2);
            check_failures_++;
        }
        free(p2);
    }
    seg_expr_free(e2);
    seg_expr_free(e);
    free(p);
}
#define CANON(src, want) canon(src, want, __LINE__)

static void bad(const char *src, const char *want_msg, int line)
{
    seg_expr *e = NULL;
    seg_error err;
    if (seg_parse(src, idx, &e, &err) == 0) {
        fprintf(stderr, "line %d: [%s] parsed but should fail with [%s]\n", line, src, want_msg);
        check_failures_++;
        seg_expr_free(e);
        return;
    }
    if (e) {
        fprintf(stderr, "line %d: out set on error\n", line);
        check_failures_++;
    }
    if (strncmp(err.msg, want_msg, strlen(want_msg)) != 0) {
        fprintf(stderr, "line %d: [%s] failed with [%s], want prefix [%s]\n", line, src, err.msg,
                want_msg);
        check_failures_++;
    }
}
#define BAD(src, msg) bad(src, msg, __LINE__)

int main(void)
{
    idx = seg_index_new(20000);
    seg_error err;
    CHECK(seg_index_tag_create(idx, "高价值", NULL, &err) == 0);
    CHECK(seg_index_tag_create(idx, "流失风险", NULL, &err) == 1);
    CHECK(seg_index_tag_create(idx, "vip", NULL, &err) == 2);
    CHECK(seg_index_tag_create(idx, "say \"hi\" \\ back", NULL, &err) == 3);
    CHECK_INT_EQ(seg_index_segment_define(idx, 3, "高价值人群", "tag:\"高价值\"", &err), 0);

    /* every example of spec/segments.md, each already canonical */
    const char *examples[] = {
        "tag:\"高价值\" and not tag:\"流失风险\"",
        "spend_365d_cents >= 100000 and orders_365d >= 3",
        "store in (3, 5) and last_order_days <= 30",
        "birthday_month = 11 and reach.wecom",
        "tier = \"gold\" and (rfm = \"重要挽留\" or p_alive < 0.3)",
        "joined_days between 3 and 7 and orders = 0",
        "favourite_category = \"生鲜\" and city = \"杭州\"",
    };
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++)
        CANON(examples[i], examples[i]);

    /* canonical form: case, spacing, parentheses, flattening, escapes */
    CANON("TAG:vip AND NOT Tag:\"流失风险\"", "tag:\"vip\" and not tag:\"流失风险\"");
    CANON("(orders>1)", "orders > 1");
    CANON("orders>=1 or orders=0 and reach.sms", "orders >= 1 or (orders = 0 and reach.sms)");
    CANON("(orders>=1 or orders=0) and reach.sms", "(orders >= 1 or orders = 0) and reach.sms");
    CANON("orders = 1 and (orders = 2 and (orders = 3))",
          "orders = 1 and orders = 2 and orders = 3");
    CANON("orders = 1 or (orders = 2 or orders = 3)", "orders = 1 or orders = 2 or orders = 3");
    CANON("not not reach.sms", "reach.sms");
    CANON("not (reach.sms and reach.group)", "not (reach.sms and reach.group)");
    CANON("not(reach.sms or reach.group)", "not (reach.sms or reach.group)");
    CANON("NOT orders BETWEEN 1 AND 3", "not orders between 1 and 3");
    CANON("city IN (\"杭州\",\"上海\")", "city in (\"杭州\", \"上海\")");
    CANON("tag:\"say \\\"hi\\\" \\\\ back\"", "tag:\"say \\\"hi\\\" \\\\ back\"");
    CANON("segment:3 or segment:\"高价值人群\"", "segment:3 or segment:\"高价值人群\"");
    CANON("points_balance < -100", "points_balance < -100");
    CANON("items_per_order >= 2.50", "items_per_order >= 2.50");
    CANON("joined_date >= 2024-02-29", "joined_date >= 2024-02-29");
    CANON("spend_cents != 007", "spend_cents != 7");
    CANON("lifecycle = \"AT_RISK\"", "lifecycle = \"at_risk\"");
    CANON("reach.any and store = 3 and guide != 12", "reach.any and store = 3 and guide != 12");
    CANON("clv_12m_cents > 5 and expected_purchases_90d between 0.5 and 2",
          "clv_12m_cents > 5 and expected_purchases_90d between 0.5 and 2");
    CANON("age between 20 and 30 and gender = \"female\" and brand = 2 and join_channel = \"pos\"",
          NULL);

    /* errors name the column (code points, 1-based) */
    BAD("spend_365d_cents >= 100000 and spend_356d > 3",
        "column 32: unknown attribute \"spend_356d\"");
    BAD("city = 3", "column 8: city compares with strings, not an integer");
    BAD("store = \"三\"", "column 9: store is an id and compares with integers, not a string");
    BAD("orders >= \"3\"", "column 11: orders is a number and cannot be compared with a string");
    BAD("tag:\"高价值\" and tag:\"不存在\"", "column 19: unknown tag \"不存在\"");
    BAD("tag:nope", "column 5: unknown tag \"nope\"");
    BAD("segment:99", "column 9: unknown segment 99");
    BAD("segment:\"x\"", "column 9: unknown segment \"x\"");
    BAD("city = \"杭州", "column 8: unterminated string");
    BAD("city = \"a\\\"", "column 8: unterminated string");
    BAD("city = \"a\\n\"", "column 10: unknown escape");
    BAD("orders >", "column 9: expected a value, found end of expression");
    BAD("orders = 1 and", "column 15: expected an attribute");
    BAD("(orders = 1", "column 12: expected \")\" to close the \"(\" at column 1");
    BAD("orders = 1)", "column 11: unbalanced \")\"");
    BAD("orders = 1 orders = 2", "column 12: expected and, or or the end, found \"orders\"");
    BAD("", "column 1: empty expression");
    BAD("   ", "column 1: empty expression");
    BAD("store < 3", "column 7: store is categorical: use =, != or in");
    BAD("reach.wecom = 1", "column 13: reach.wecom is a flag");
    BAD("orders", "column 7: orders needs a comparison");
    BAD("orders = 1 & orders = 2", "column 12: unexpected \"&\"");
    BAD("rfm = \"重要\"", "column 7: unknown rfm class \"重要\"");
    BAD("lifecycle = \"dead\"", "column 13: unknown lifecycle stage \"dead\"");
    BAD("joined_date > 2023-02-29", "column 15: invalid date");
    BAD("joined_date > 3", "column 15: joined_date is a date");
    BAD("orders in (1, 2", "column 16: expected \",\" or \")\"");
    BAD("orders between 1 or 2", "column 18: expected \"and\" in between");
    BAD("orders = 12345678901234567890", "column 10: number \"12345678901234567890\" has too many");
    BAD("orders = 1x", "column 10: malformed number");
    BAD("tag:", "column 5: expected a tag name");
    BAD("orders ! 1", "column 8: unexpected \"!\"");

    /* nesting cap */
    {
        char deep[400];
        size_t k = 0;
        for (int i = 0; i < 100; i++)
            deep[k++] = '(';
        memcpy(deep + k, "orders = 1", 10);
        k += 10;
        for (int i = 0; i < 100; i++)
            deep[k++] = ')';
        deep[k] = 0;
        seg_expr *e = NULL;
        CHECK(seg_parse(deep, idx, &e, &err) != 0);
        CHECK(strstr(err.msg, "nested too deeply") != NULL);
    }
    /* without an index, tags and segments are not checked */
    {
        seg_expr *e = NULL;
        CHECK(seg_parse("tag:\"anything\" and segment:42", NULL, &e, &err) == 0);
        uint64_t n = 1;
        /* ...but evaluating against an index that lacks them is an error, not 0 */
        CHECK(seg_count(idx, e, NULL, &n, &err) != 0);
        CHECK_STR_EQ(err.msg, "column 1: unknown tag \"anything\"");
        seg_expr_free(e);
    }
    seg_index_free(idx);
    return CHECK_DONE();
}
