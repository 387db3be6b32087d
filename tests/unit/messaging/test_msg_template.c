/* Templates: compiling (errors with line, column, byte offset and variable, counted by
 * hand from the source strings below) and rendering (values, missing values, escaping). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "messaging/msg_template.h"

static msg_template *compile_ok(const char *src)
{
    siyu_err e;
    siyu_err_init(&e);
    msg_template *t = NULL;
    int rc = msg_template_compile(src, strlen(src), &t, &e);
    if (rc != 0) fprintf(stderr, "compile failed for \"%s\": %s\n", src, e.message);
    CHECK_INT_EQ(rc, 0);
    CHECK(t != NULL);
    siyu_err_clear(&e);
    return t;
}

/* Compiles src expecting failure at (offset, line, column); var may be NULL. */
static void compile_bad(const char *src, size_t len, long offset, long line, long col,
                        const char *var, const char *msg_part)
{
    siyu_err e;
    siyu_err_init(&e);
    msg_template *t = (msg_template *)1;
    CHECK_INT_EQ(msg_template_compile(src, len, &t, &e), -1);
    CHECK(t == NULL);
    CHECK_INT_EQ(e.code, SIYU_INVALID_ARGUMENT);
    CHECK_STR_EQ(e.field, "template");
    if (!strstr(e.message, msg_part))
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", e.message, msg_part);
    CHECK(strstr(e.message, msg_part) != NULL);
    CHECK(e.details != NULL);
    if (e.details) {
        CHECK_INT_EQ(json_integer_value(json_object_get(e.details, "offset")), offset);
        CHECK_INT_EQ(json_integer_value(json_object_get(e.details, "line")), line);
        CHECK_INT_EQ(json_integer_value(json_object_get(e.details, "column")), col);
        json_t *v = json_object_get(e.details, "variable");
        if (var)
            CHECK_STR_EQ(json_string_value(v), var);
        else
            CHECK(v == NULL);
    }
    siyu_err_clear(&e);
}

static char *render(msg_template *t, const char *values_json, siyu_err *e)
{
    json_error_t je;
    json_t *v = json_loads(values_json, JSON_ALLOW_NUL, &je);
    CHECK(v != NULL);
    char *out = (char *)1;
    int rc = msg_template_render(t, v, &out, e);
    json_decref(v);
    if (rc != 0) CHECK(out == NULL);
    return rc == 0 ? out : NULL;
}

static void test_names(void)
{
    CHECK_STR_EQ(msg_var_name(MSG_VAR_MEMBER_NAME), "member.name");
    CHECK_STR_EQ(msg_var_name(MSG_VAR_COUPON_EXPIRES_ON), "coupon.expires_on");
    CHECK_INT_EQ(msg_var_from_name("guide.name", 10), MSG_VAR_GUIDE_NAME);
    CHECK_INT_EQ(msg_var_from_name("guide.nam", 9), -1);
    CHECK(msg_var_name(MSG_VAR_COUNT) == NULL);
}

static void test_render_chinese_nested(void)
{
    msg_template *t = compile_ok("{{member.name}}您好，您的积分余额为{{points.balance}}分");
    CHECK_INT_EQ(msg_template_vars(t),
                 MSG_VAR_BIT(MSG_VAR_MEMBER_NAME) | MSG_VAR_BIT(MSG_VAR_POINTS_BALANCE));
    siyu_err e;
    siyu_err_init(&e);
    char *s = render(t, "{\"member\": {\"name\": \"王芳\"}, \"points\": {\"balance\": 1200}}", &e);
    CHECK_STR_EQ(s, "王芳您好，您的积分余额为1200分");
    free(s);
    msg_template_free(t);
}

static void test_render_english_flat_and_spaces(void)
{
    msg_template *t = compile_ok("Hi {{ member.name }}, your {{member.tier}} coupon "
                                 "{{coupon.code}} expires on {{\tcoupon.expires_on}}. "
                                 "{{store.name}} / {{guide.name}}");
    /* every variable but points.balance */
    CHECK_INT_EQ(msg_template_vars(t), MSG_VAR_ALL & ~MSG_VAR_BIT(MSG_VAR_POINTS_BALANCE));
    siyu_err e;
    siyu_err_init(&e);
    char *s = render(t,
                     "{\"member.name\": \"Amy\", \"member.tier\": \"Gold\", \"coupon.code\": "
                     "\"C-77\", \"coupon.expires_on\": \"2026-12-31\", \"store.name\": "
                     "\"Xujiahui\", \"guide\": {\"name\": \"Li\"}}",
                     &e);
    CHECK_STR_EQ(s, "Hi Amy, your Gold coupon C-77 expires on 2026-12-31. Xujiahui / Li");
    free(s);
    /* the dotted key wins over the nested one when both are present */
    s = render(t,
               "{\"member.name\": \"Flat\", \"member\": {\"name\": \"Nested\", \"tier\": "
               "\"Silver\"}, \"coupon\": {\"code\": \"X\", \"expires_on\": \"2027-01-01\"}, "
               "\"store\": {\"name\": \"S\"}, \"guide.name\": \"G\"}",
               &e);
    CHECK_STR_EQ(s, "Hi Flat, your Silver coupon X expires on 2027-01-01. S / G");
    free(s);
    msg_template_free(t);
}

static void test_literal_braces_and_escapes(void)
{
    /* \{ → {, a lone { is text, \} → }, a lone } is text, \\ → \, \n stays two chars */
    msg_template *t = compile_ok("\\{{member.name\\}} = {{member.name}}; a { b } c; \\\\ \\n");
    siyu_err e;
    siyu_err_init(&e);
    char *s = render(t, "{\"member\": {\"name\": \"王\"}}", &e);
    CHECK_STR_EQ(s, "{{member.name}} = 王; a { b } c; \\ \\n");
    free(s);
    msg_template_free(t);
    /* a template without variables renders to itself; newlines in the text are kept */
    t = compile_ok("第一行\n第二行");
    CHECK_INT_EQ(msg_template_vars(t), 0);
    s = render(t, "{}", &e);
    CHECK_STR_EQ(s, "第一行\n第二行");
    free(s);
    msg_template_free(t);
}

static void test_compile_errors(void)
{
    /* 亲爱的 is 3 characters of 3 bytes: `{{` at byte 9, column 4 */
    compile_bad("亲爱的{{member.nmae}}", strlen("亲爱的{{member.nmae}}"), 9, 1, 4, "member.nmae",
                "unknown variable {{member.nmae}}; did you mean {{member.name}}?");
    /* second line: "Hello\n" is 6 bytes, two spaces → byte 8, column 3 */
    compile_bad("Hello\n  {{store.nam}} ok", 24, 8, 2, 3, "store.nam", "line 2, column 3");
    compile_bad("{{Member.Name}}", 15, 0, 1, 1, "Member.Name", "did you mean {{member.name}}");
    compile_bad("{{order.total}}", 15, 0, 1, 1, "order.total", "unknown variable {{order.total}}");
    /* `{member.name}}`: the lone { is text, the }} at byte 12 is unmatched */
    compile_bad("{member.name}}", 14, 12, 1, 13, NULL, "unmatched }}");
    compile_bad("Hi {{member.name", 16, 3, 1, 4, "member.name", "not closed");
    compile_bad("a\n{{member.name}\nb", 18, 2, 2, 1, "member.name", "not closed");
    compile_bad("x{{member.name {{store.name}}", 29, 1, 1, 2, "member.name", "not closed");
    compile_bad("你{{}}", strlen("你{{}}"), 3, 1, 2, NULL, "empty placeholder");
    compile_bad("{{ }}", 5, 0, 1, 1, NULL, "empty placeholder");
    compile_bad("{{{member.name}}}", 17, 0, 1, 1, NULL, "\\{");
    compile_bad("{{member name}}", 15, 0, 1, 1, "member", "found 'n'");
    compile_bad("{{member.name!}}", 16, 0, 1, 1, "member.name", "found '!'");
    /* bad UTF-8: 0xFF at byte 2; a truncated 你 (E4 BD) at byte 1; an overlong '/' */
    compile_bad("ab\xff", 3, 2, 1, 3, NULL, "not valid UTF-8");
    compile_bad("a\xe4\xbd", 3, 1, 1, 2, NULL, "not valid UTF-8");
    compile_bad("\xc0\xaf", 2, 0, 1, 1, NULL, "not valid UTF-8");
    compile_bad("ab\0cd", 5, 2, 1, 3, NULL, "NUL");

    siyu_err e;
    siyu_err_init(&e);
    msg_template *t = (msg_template *)1;
    CHECK_INT_EQ(msg_template_compile("", 0, &t, &e), -1);
    CHECK(t == NULL);
    CHECK_STR_EQ(e.field, "template");
    siyu_err_clear(&e);
    char *big = malloc(MSG_TEMPLATE_MAX_BYTES + 2);
    memset(big, 'a', MSG_TEMPLATE_MAX_BYTES + 1);
    big[MSG_TEMPLATE_MAX_BYTES + 1] = 0;
    CHECK_INT_EQ(msg_template_compile(big, MSG_TEMPLATE_MAX_BYTES + 1, &t, &e), -1);
    CHECK(strstr(e.message, "longer than") != NULL);
    siyu_err_clear(&e);
    CHECK_INT_EQ(msg_template_compile(big, MSG_TEMPLATE_MAX_BYTES, &t, &e), 0);
    msg_template_free(t);
    free(big);

    /* 65 placeholders: the 65th `{{` is at byte 64 * 15 */
    char many[65 * 15 + 1] = "";
    for (int i = 0; i < 65; i++)
        strcat(many, "{{member.name}}");
    compile_bad(many, strlen(many), 64 * 15, 1, 64 * 15 + 1, NULL, "more than 64");
}

static void test_render_errors(void)
{
    msg_template *t = compile_ok("Hi {{member.name}}, code: {{coupon.code}}");
    siyu_err e;
    siyu_err_init(&e);
    CHECK(render(t, "{\"member\": {\"name\": \"A\"}}", &e) == NULL);
    CHECK_INT_EQ(e.code, SIYU_UNPROCESSABLE);
    CHECK_STR_EQ(e.field, "coupon.code");
    CHECK(strstr(e.message, "no value for {{coupon.code}}") != NULL);
    /* "Hi {{member.name}}, code: " is 26 bytes */
    CHECK_INT_EQ(json_integer_value(json_object_get(e.details, "column")), 27);
    siyu_err_clear(&e);
    /* null counts as missing */
    CHECK(render(t, "{\"member\": {\"name\": \"A\"}, \"coupon\": {\"code\": null}}", &e) == NULL);
    CHECK_STR_EQ(e.field, "coupon.code");
    siyu_err_clear(&e);
    /* a nested path through a non-object is missing too */
    CHECK(render(t, "{\"member\": \"A\", \"coupon\": {\"code\": \"X\"}}", &e) == NULL);
    CHECK_STR_EQ(e.field, "member.name");
    CHECK_INT_EQ(e.code, SIYU_UNPROCESSABLE);
    siyu_err_clear(&e);
    /* wrong types */
    CHECK(render(t, "{\"member\": {\"name\": true}, \"coupon\": {\"code\": \"X\"}}", &e) == NULL);
    CHECK_INT_EQ(e.code, SIYU_INVALID_ARGUMENT);
    CHECK_STR_EQ(e.field, "member.name");
    siyu_err_clear(&e);
    CHECK(render(t, "{\"member\": {\"name\": 1.5}, \"coupon\": {\"code\": \"X\"}}", &e) == NULL);
    CHECK_STR_EQ(e.field, "member.name");
    siyu_err_clear(&e);
    CHECK(render(t, "{\"member\": {\"name\": {}}, \"coupon\": {\"code\": \"X\"}}", &e) == NULL);
    CHECK_STR_EQ(e.field, "member.name");
    siyu_err_clear(&e);
    /* values is not an object at all */
    CHECK(render(t, "[]", &e) == NULL);
    CHECK_INT_EQ(e.code, SIYU_UNPROCESSABLE);
    siyu_err_clear(&e);
    /* a value over the cap */
    char *longv = malloc(MSG_VALUE_MAX_BYTES + 64);
    strcpy(longv, "{\"member.name\": \"");
    size_t k = strlen(longv);
    memset(longv + k, 'x', MSG_VALUE_MAX_BYTES + 1);
    strcpy(longv + k + MSG_VALUE_MAX_BYTES + 1, "\", \"coupon.code\": \"X\"}");
    CHECK(render(t, longv, &e) == NULL);
    CHECK_STR_EQ(e.field, "member.name");
    CHECK(strstr(e.message, "longer than") != NULL);
    siyu_err_clear(&e);
    free(longv);
    msg_template_free(t);
}

static void test_value_escaping(void)
{
    msg_template *t = compile_ok("[{{member.name}}]");
    siyu_err e;
    siyu_err_init(&e);
    /* newline, tab, NUL, DEL, C1 0x85, U+2028 and a right-to-left override each become
     * one space; ordinary CJK and emoji pass */
    char *s = render(t,
                     "{\"member\": {\"name\": \"A\\nB\\tC\\u0000D\\u007fE\\u0085F\\u2028G"
                     "\\u202eH王😀\"}}",
                     &e);
    CHECK_STR_EQ(s, "[A B C D E F G H王😀]");
    free(s);
    /* a value that looks like a placeholder is text: rendering is one pass */
    s = render(t, "{\"member\": {\"name\": \"{{store.name}}\"}, \"store\": {\"name\": \"S\"}}", &e);
    CHECK_STR_EQ(s, "[{{store.name}}]");
    free(s);
    /* negative and large integers print in decimal */
    msg_template_free(t);
    t = compile_ok("{{points.balance}}");
    s = render(t, "{\"points\": {\"balance\": -9007199254740993}}", &e);
    CHECK_STR_EQ(s, "-9007199254740993");
    free(s);
    s = render(t, "{\"points.balance\": \"1,200\"}", &e);
    CHECK_STR_EQ(s, "1,200");
    free(s);
    msg_template_free(t);
}

static void test_check_available(void)
{
    msg_template *t = compile_ok("您好{{member.name}}\n券码：{{coupon.code}}");
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(msg_template_check_available(t, MSG_VAR_ALL, &e), 0);
    uint32_t no_coupon =
        MSG_VAR_ALL & ~(MSG_VAR_BIT(MSG_VAR_COUPON_CODE) | MSG_VAR_BIT(MSG_VAR_COUPON_EXPIRES_ON));
    CHECK_INT_EQ(msg_template_check_available(t, no_coupon, &e), -1);
    CHECK_STR_EQ(e.field, "template");
    CHECK_STR_EQ(json_string_value(json_object_get(e.details, "variable")), "coupon.code");
    /* line 2: 券码： is three characters, so `{{` is column 4; byte offset:
     * 您好 (6) + {{member.name}} (15) + \n (1) + 券码： (9) = 31 */
    CHECK_INT_EQ(json_integer_value(json_object_get(e.details, "line")), 2);
    CHECK_INT_EQ(json_integer_value(json_object_get(e.details, "column")), 4);
    CHECK_INT_EQ(json_integer_value(json_object_get(e.details, "offset")), 31);
    CHECK(strstr(e.message, "line 2, column 4") != NULL);
    siyu_err_clear(&e);
    msg_template_free(t);
    msg_template_free(NULL);
}

int main(void)
{
    test_names();
    test_render_chinese_nested();
    test_render_english_flat_and_spaces();
    test_literal_braces_and_escapes();
    test_compile_errors();
    test_render_errors();
    test_value_escaping();
    test_check_available();
    return CHECK_DONE();
}
