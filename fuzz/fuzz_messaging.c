/* fuzz_messaging.c — the messaging layer's parsers of untrusted text: the template
 * compiler (operators type templates), the delivery-receipt parser (providers call
 * back) and the guardrail settings (part of a journey's JSON). The first byte picks
 * which: 'R' receipt, 'G' guardrail settings, anything else a template.
 *
 * Besides not crashing, each must keep its promises: a template that compiles renders
 * whenever every variable has a value, to valid UTF-8, and fails with a variable-named
 * "unprocessable" error when the values are empty; a parsed receipt has a positive id,
 * a known status and a short reason; settings that parse are within their ranges. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "messaging/msg_guardrails.h"
#include "messaging/msg_receipt.h"
#include "messaging/msg_template.h"
#include "messaging/msg_utf8.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_messaging: %s\n", what);
    abort();
}

static void fuzz_template(const char *s, size_t n)
{
    siyu_err e;
    siyu_err_init(&e);
    msg_template *t = NULL;
    if (msg_template_compile(s, n, &t, &e) != 0) {
        if (t || e.code != SIYU_INVALID_ARGUMENT || !e.field[0])
            fail("compile failed without a template error");
        siyu_err_clear(&e);
        return;
    }
    json_t *values = json_pack("{s:{s:s, s:s}, s:{s:I}, s:{s:s, s:s}, s:{s:s}, s:{s:s}}", "member",
                               "name", "王芳\n\xe2\x80\xae", "tier", "Gold", "points", "balance",
                               (json_int_t)-12, "coupon", "code", "{{coupon.code}}", "expires_on",
                               "2026-12-31", "store", "name", "徐家汇店", "guide", "name", "\\}}");
    char *out = NULL;
    if (msg_template_render(t, values, &out, &e) != 0 || !out)
        fail("a compiled template did not render with every value present");
    if (msg_utf8_check(out, strlen(out)) != strlen(out)) fail("rendered text is not valid UTF-8");
    free(out);
    if (msg_template_check_available(t, MSG_VAR_ALL, &e) != 0)
        fail("check_available refused the full set");
    json_t *empty = json_object();
    int rc = msg_template_render(t, empty, &out, &e);
    if (msg_template_vars(t) && (rc == 0 || e.code != SIYU_UNPROCESSABLE || !e.field[0]))
        fail("rendering without values did not name the missing variable");
    if (!msg_template_vars(t) && rc != 0) fail("a template without variables failed to render");
    free(out);
    siyu_err_clear(&e);
    json_decref(empty);
    json_decref(values);
    msg_template_free(t);
}

static void fuzz_receipt(const char *s, size_t n)
{
    siyu_err e;
    siyu_err_init(&e);
    msg_receipt r;
    if (msg_receipt_parse(s, n, &r, &e) == 0) {
        if (r.message_id <= 0 || (unsigned)r.status > MSG_RECEIPT_READ ||
            strlen(r.reason) > MSG_RECEIPT_REASON_MAX)
            fail("receipt out of range");
    } else if (e.code == SIYU_OK) {
        fail("receipt refused without an error");
    }
    siyu_err_clear(&e);
}

static void fuzz_settings(const char *s, size_t n)
{
    json_t *j = json_loadb(s, n, 0, NULL);
    if (!j) return;
    siyu_err e;
    siyu_err_init(&e);
    msg_guard_settings g;
    if (msg_guard_settings_from_json(j, &g, &e) == 0) {
        if (g.quiet_start_s < 0 || g.quiet_start_s >= 86400 || g.quiet_end_s < 0 ||
            g.quiet_end_s >= 86400 || g.budget_window_s <= 0 || g.stale_after_s < 0)
            fail("settings out of range");
        /* and a decision with them always answers something sane */
        msg_send h[3] = {
            {1800000000, MSG_CH_WECOM}, {1800003600, MSG_CH_SMS}, {1799990000, MSG_CH_WECOM}};
        msg_member_state m = {MSG_CH_ALL, 0, MSG_TZ_DEFAULT, h, 3};
        for (int ch = 0; ch < MSG_CHANNEL_COUNT; ch++) {
            msg_decision d = msg_guard_decide(&g, &m, (msg_channel)ch, 1800007200, 1800007200);
            if (d.verdict == MSG_DEFER && d.until <= 1800007200) fail("deferred into the past");
        }
    }
    siyu_err_clear(&e);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384) return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0]) {
    case 'R':
        fuzz_receipt(s, n);
        break;
    case 'G':
        fuzz_settings(s, n);
        break;
    default:
        fuzz_template(s, n);
        break;
    }
    return 0;
}
