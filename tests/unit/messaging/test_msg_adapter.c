/* Adapters without a network: the retry schedule (worked by hand), the signature
 * (RFC 4231 test vectors), configuration errors, the file adapter (lines read back with
 * jansson), channel bindings, and the receipt parser's field-named errors. */
#include <sodium.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "check.h"
#include "messaging/msg_adapter.h"
#include "messaging/msg_receipt.h"

static void test_backoff(void)
{
    msg_retry_policy p = {5, 1000, 60000};
    /* ceilings: 1 s, doubling per failure, capped at 60 s (64 s → 60 s) */
    const int64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    for (int n = 1; n <= 8; n++)
        CHECK_INT_EQ(msg_backoff_ceiling_ms(&p, n), want[n - 1]);
    CHECK_INT_EQ(msg_backoff_ceiling_ms(&p, 1000), 60000); /* no overflow */
    msg_retry_policy big = {100, 86400000, 7 * 86400000LL};
    CHECK_INT_EQ(msg_backoff_ceiling_ms(&big, 100), 7 * 86400000LL);

    /* full jitter endpoints: u = (rnd >> 11) / 2^53 */
    CHECK_INT_EQ(msg_backoff_delay_ms(&p, 3, 0), 0);
    CHECK_INT_EQ(msg_backoff_delay_ms(&p, 3, UINT64_MAX), 4000);
    CHECK_INT_EQ(msg_backoff_delay_ms(&p, 3, 1ull << 63), 2000);  /* floor(0.5 * 4001) */
    CHECK_INT_EQ(msg_backoff_delay_ms(&p, 1, 1ull << 63), 500);   /* floor(0.5 * 1001) */
    CHECK_INT_EQ(msg_backoff_delay_ms(&p, 1, 3ull << 62), 750);   /* floor(0.75 * 1001) */
    CHECK_INT_EQ(msg_backoff_delay_ms(&p, 7, 1ull << 62), 15000); /* floor(0.25 * 60001) */

    /* random draws stay in [0, ceiling] with mean ceiling/2 (sd of the mean of 20000
     * uniform draws: 0.002 * ceiling, so ±2% is 10 sd) */
    for (int n = 1; n <= 8; n++) {
        int64_t c = msg_backoff_ceiling_ms(&p, n), lo = c, hi = 0;
        double sum = 0;
        for (int i = 0; i < 20000; i++) {
            uint64_t r;
            randombytes_buf(&r, sizeof r);
            int64_t d = msg_backoff_delay_ms(&p, n, r);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
            sum += (double)d;
        }
        CHECK(lo >= 0);
        CHECK(hi <= c);
        CHECK_NEAR(sum / 20000 / (double)c, 0.5, 0.02);
    }

    /* decisions: attempt 1 of 5 fails → retry within 1 s; 5 of 5 → dead; permanent → dead */
    msg_outcome o;
    memset(&o, 0, sizeof o);
    msg_retry_decide(&p, 1, false, 1000000, 0, UINT64_MAX, &o);
    CHECK_INT_EQ(o.status, MSG_RETRY);
    CHECK_INT_EQ(o.attempts, 1);
    CHECK_INT_EQ(o.retry_at_ms, 1001000);
    msg_retry_decide(&p, 4, false, 1000000, 0, 0, &o);
    CHECK_INT_EQ(o.status, MSG_RETRY);
    CHECK_INT_EQ(o.retry_at_ms, 1000000);
    msg_retry_decide(&p, 5, false, 1000000, 0, 0, &o);
    CHECK_INT_EQ(o.status, MSG_DEAD);
    CHECK_INT_EQ(o.attempts, 5);
    CHECK_INT_EQ(o.retry_at_ms, 0);
    msg_retry_decide(&p, 1, true, 1000000, 0, 0, &o);
    CHECK_INT_EQ(o.status, MSG_DEAD);
    /* a Retry-After of 7 s beats a jitter of at most 1 s; one of 2 h is cut to the cap */
    msg_retry_decide(&p, 1, false, 1000000, 7000, UINT64_MAX, &o);
    CHECK_INT_EQ(o.retry_at_ms, 1007000);
    msg_retry_decide(&p, 1, false, 1000000, 7200000, 0, &o);
    CHECK_INT_EQ(o.retry_at_ms, 1060000);
    CHECK_STR_EQ(msg_status_name(MSG_SENT), "sent");
    CHECK_STR_EQ(msg_status_name(MSG_RETRY), "retry");
    CHECK_STR_EQ(msg_status_name(MSG_DEAD), "dead");
}

static void test_signature(void)
{
    char sig[MSG_SIGNATURE_LEN + 1];
    /* RFC 4231 test case 2 */
    const char *data = "what do ya want for nothing?";
    msg_sign("Jefe", 4, data, strlen(data), sig);
    CHECK_STR_EQ(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(msg_signature_verify("Jefe", 4, data, strlen(data), sig));
    /* RFC 4231 test case 6: a 131-byte key, longer than the block, is hashed first */
    char key[131];
    memset(key, 0xaa, sizeof key);
    const char *d6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    msg_sign(key, sizeof key, d6, strlen(d6), sig);
    CHECK_STR_EQ(sig, "sha256=60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    /* one flipped digit, a truncated value, a different body: refused */
    char bad[MSG_SIGNATURE_LEN + 1];
    strcpy(bad, sig);
    bad[20] = bad[20] == 'a' ? 'b' : 'a';
    CHECK(!msg_signature_verify(key, sizeof key, d6, strlen(d6), bad));
    bad[MSG_SIGNATURE_LEN - 1] = 0;
    CHECK(!msg_signature_verify(key, sizeof key, d6, strlen(d6), bad));
    CHECK(!msg_signature_verify(key, sizeof key, "x", 1, sig));
    CHECK(!msg_signature_verify(key, sizeof key, d6, strlen(d6), NULL));
}

static json_t *J(const char *s)
{
    json_error_t je;
    json_t *v = json_loads(s, 0, &je);
    if (!v) {
        fprintf(stderr, "bad JSON in test: %s\n", s);
        exit(2);
    }
    return v;
}

static void bad_config(const char *cfg, const char *field)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *c = J(cfg);
    msg_adapter *a = msg_adapter_new(c, &e);
    CHECK(a == NULL);
    if (strcmp(e.field, field) != 0) fprintf(stderr, "config %s: %s\n", cfg, e.message);
    CHECK_STR_EQ(e.field, field);
    CHECK_INT_EQ(e.code, SIYU_INVALID_ARGUMENT);
    msg_adapter_free(a);
    json_decref(c);
}

static void test_config(void)
{
    bad_config("{}", "adapter");
    bad_config("{\"adapter\": \"smtp\"}", "adapter");
    bad_config("{\"adapter\": \"webhook\", \"secret\": \"0123456789abcdef\"}", "url");
    bad_config(
        "{\"adapter\": \"webhook\", \"url\": \"ftp://h/x\", \"secret\": \"0123456789abcdef\"}",
        "url");
    bad_config("{\"adapter\": \"webhook\", \"url\": \"http://\", \"secret\": \"0123456789abcdef\"}",
               "url");
    bad_config(
        "{\"adapter\": \"webhook\", \"url\": \"http://h/a b\", \"secret\": \"0123456789abcdef\"}",
        "url");
    bad_config("{\"adapter\": \"webhook\", \"url\": \"http://h/\"}", "secret");
    bad_config("{\"adapter\": \"webhook\", \"url\": \"http://h/\", \"secret\": \"short\"}",
               "secret");
    bad_config(
        "{\"adapter\": \"webhook\", \"url\": \"http://h/\", \"secret\": \"0123456789abcdef\", "
        "\"secert\": 1}",
        "secert");
    bad_config(
        "{\"adapter\": \"webhook\", \"url\": \"http://h/\", \"secret\": \"0123456789abcdef\", "
        "\"timeout_ms\": 5}",
        "timeout_ms");
    bad_config(
        "{\"adapter\": \"webhook\", \"url\": \"http://h/\", \"secret\": \"0123456789abcdef\", "
        "\"max_attempts\": 0}",
        "max_attempts");
    bad_config("{\"adapter\": \"file\", \"path\": \"x.ndjson\", \"backoff_base_ms\": 5000, "
               "\"backoff_cap_ms\": 1000}",
               "backoff_cap_ms");
    bad_config("{\"adapter\": \"file\", \"path\": \"x.ndjson\", \"max_attempts\": \"3\"}",
               "max_attempts");
    bad_config("{\"adapter\": \"file\"}", "path");
    bad_config("{\"adapter\": \"file\", \"path\": \"nonexistent-dir-siyu/x.ndjson\"}", "path");
    bad_config("{\"adapter\": \"file\", \"path\": \"x.ndjson\", \"url\": \"http://h/\"}", "url");

    /* describe: defaults filled in, the secret never shown */
    siyu_err e;
    siyu_err_init(&e);
    json_t *c = J("{\"adapter\": \"webhook\", \"url\": \"https://example.test/hook\", "
                  "\"secret\": \"0123456789abcdef-very-secret\", \"max_attempts\": 3}");
    msg_adapter *a = msg_adapter_new(c, &e);
    CHECK(a != NULL);
    CHECK_STR_EQ(msg_adapter_kind(a), "webhook");
    json_t *d = msg_adapter_describe(a);
    char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR_EQ(text, "{\"adapter\":\"webhook\",\"backoff_base_ms\":5000,\"backoff_cap_ms\":"
                       "3600000,\"max_attempts\":3,\"secret_set\":true,\"timeout_ms\":5000,"
                       "\"url\":\"https://example.test/hook\"}");
    CHECK(strstr(text, "very-secret") == NULL);
    free(text);
    json_decref(d);
    msg_adapter_free(a);
    json_decref(c);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 16);
    *len = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    return buf;
}

static char outbox[] = "/tmp/siyu-msg-outbox-XXXXXX";

static void test_file_adapter(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/sms.ndjson", outbox); /* the adapter creates it */
    json_t *c = json_pack("{s:s, s:s}", "adapter", "file", "path", "sms.ndjson");
    siyu_err e;
    siyu_err_init(&e);
    msg_adapter *a = msg_adapter_new(c, &e);
    json_decref(c);
    CHECK(a != NULL);
    if (!a) return;
    CHECK_STR_EQ(msg_adapter_kind(a), "file");

    int64_t created;
    time_parse_rfc3339("2026-03-10T11:00:00+08:00", &created);
    json_t *data = json_pack("{s:s}", "campaign", "spring");
    json_t *to = json_pack("{s:s}", "phone", "13800138000");
    json_t *wx_to = json_pack("{s:s, s:s}", "openid", "o-abc", "app_id", "wx-pa");
    json_t *tmpl =
        json_pack("{s:s, s:{s:{s:s}}}", "template_id", "TPL-1", "data", "first", "value", "您好");
    msg_message m1 = {.id = 501,
                      .channel = MSG_CH_SMS,
                      .member_id = 42,
                      .journey_id = 7,
                      .to = to,
                      .text = "王芳您好，\"感谢\"光临\n欢迎再来",
                      .data = data,
                      .created_at = created};
    msg_message m2 = {.id = 502,
                      .channel = MSG_CH_WECHAT_TEMPLATE,
                      .member_id = 43,
                      .to = wx_to,
                      .text = "Hello",
                      .tmpl = tmpl,
                      .attempts = 2};
    msg_outcome o;
    int64_t now_ms = (created + 60) * 1000 + 250; /* 11:01:00.250 */
    msg_adapter_send(a, &m1, now_ms, &o);
    CHECK_INT_EQ(o.status, MSG_SENT);
    CHECK_INT_EQ(o.attempts, 1);
    CHECK_STR_EQ(o.error, "");
    msg_adapter_send(a, &m2, now_ms, &o);
    CHECK_INT_EQ(o.status, MSG_SENT);
    CHECK_INT_EQ(o.attempts, 3);
    /* a message without text is a bug upstream: dead, and nothing written */
    msg_message m3 = {.id = 503, .channel = MSG_CH_SMS, .member_id = 1};
    msg_adapter_send(a, &m3, now_ms, &o);
    CHECK_INT_EQ(o.status, MSG_DEAD);
    msg_message m4 = {.id = 0, .channel = MSG_CH_SMS, .member_id = 1, .text = "x"};
    msg_adapter_send(a, &m4, now_ms, &o);
    CHECK_INT_EQ(o.status, MSG_DEAD);
    msg_adapter_free(a);

    size_t len = 0;
    char *text = slurp(path, &len);
    CHECK(text != NULL);
    if (text) {
        CHECK(len > 0 && text[len - 1] == '\n');
        char *nl = strchr(text, '\n');
        CHECK(nl != NULL && strchr(nl + 1, '\n') == text + len - 1); /* exactly 2 lines */
        json_t *l1 = json_loadb(text, (size_t)(nl - text), 0, NULL);
        json_t *l2 = json_loads(nl + 1, 0, NULL);
        CHECK(l1 && l2);
        if (l1 && l2) {
            CHECK_INT_EQ(json_integer_value(json_object_get(l1, "message_id")), 501);
            CHECK_STR_EQ(json_string_value(json_object_get(l1, "channel")), "sms");
            CHECK_INT_EQ(json_integer_value(json_object_get(l1, "member_id")), 42);
            CHECK_INT_EQ(json_integer_value(json_object_get(l1, "journey_id")), 7);
            CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(l1, "to"), "phone")),
                         "13800138000");
            CHECK_STR_EQ(json_string_value(json_object_get(l1, "text")),
                         "王芳您好，\"感谢\"光临\n欢迎再来");
            CHECK_STR_EQ(
                json_string_value(json_object_get(json_object_get(l1, "data"), "campaign")),
                "spring");
            CHECK(json_object_get(l1, "template") == NULL);
            CHECK_STR_EQ(json_string_value(json_object_get(l1, "created_at")),
                         "2026-03-10T11:00:00+08:00");
            CHECK_STR_EQ(json_string_value(json_object_get(l1, "written_at")),
                         "2026-03-10T11:01:00+08:00");
            CHECK_INT_EQ(json_integer_value(json_object_get(l2, "message_id")), 502);
            CHECK_STR_EQ(json_string_value(json_object_get(l2, "channel")), "wechat_template");
            CHECK(json_object_get(l2, "journey_id") == NULL);
            CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(l2, "to"), "openid")),
                         "o-abc");
            CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(l2, "to"), "app_id")),
                         "wx-pa");
            json_t *tp = json_object_get(l2, "template");
            CHECK_STR_EQ(json_string_value(json_object_get(tp, "template_id")), "TPL-1");
            CHECK_STR_EQ(json_string_value(json_object_get(
                             json_object_get(json_object_get(tp, "data"), "first"), "value")),
                         "您好");
            CHECK(json_object_get(l2, "created_at") == NULL);
        }
        json_decref(l1);
        json_decref(l2);
        free(text);
    }
    json_decref(data);

    /* reopening appends after what is there */
    c = json_pack("{s:s, s:s}", "adapter", "file", "path", "sms.ndjson");
    a = msg_adapter_new(c, &e);
    json_decref(c);
    msg_adapter_send(a, &m2, now_ms, &o);
    CHECK_INT_EQ(o.status, MSG_SENT);
    msg_adapter_free(a);
    text = slurp(path, &len);
    int lines = 0;
    for (size_t i = 0; text && i < len; i++)
        lines += text[i] == '\n';
    CHECK_INT_EQ(lines, 3);
    free(text);
    unlink(path);

    json_decref(to);
    json_decref(wx_to);
    json_decref(tmpl);

    /* a full disk: /dev/full refuses every write → retry, then dead after max_attempts */
    msg_outbox_dir_set("/dev");
    c = J("{\"adapter\": \"file\", \"path\": \"full\", \"max_attempts\": 2, "
          "\"backoff_base_ms\": 100, \"backoff_cap_ms\": 100}");
    a = msg_adapter_new(c, &e);
    json_decref(c);
    CHECK(a != NULL);
    if (a) {
        msg_message m = {.id = 9, .channel = MSG_CH_SMS, .member_id = 1, .text = "x"};
        msg_adapter_send(a, &m, 5000, &o);
        CHECK_INT_EQ(o.status, MSG_RETRY);
        CHECK_INT_EQ(o.attempts, 1);
        CHECK(o.retry_at_ms >= 5000 && o.retry_at_ms <= 5100);
        CHECK(strstr(o.error, "No space left") != NULL);
        m.attempts = o.attempts;
        msg_adapter_send(a, &m, o.retry_at_ms, &o);
        CHECK_INT_EQ(o.status, MSG_DEAD);
        CHECK_INT_EQ(o.attempts, 2);
        msg_adapter_free(a);
    }
    msg_outbox_dir_set(outbox);
}

/* A file adapter writes only inside the outbox directory: absolute paths, "..", and
 * symbolic links that lead out are refused, naming the field, and create nothing. */
static void refused_path(const char *path, const char *why)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *c = json_pack("{s:s, s:s}", "adapter", "file", "path", path);
    msg_adapter *a = msg_adapter_new(c, &e);
    json_decref(c);
    CHECK(a == NULL);
    msg_adapter_free(a);
    CHECK_STR_EQ(e.field, "path");
    CHECK_INT_EQ(e.code, SIYU_INVALID_ARGUMENT);
    if (!strstr(e.message, why)) fprintf(stderr, "%s: %s\n", path, e.message);
    CHECK(strstr(e.message, why) != NULL);
    siyu_err_clear(&e);
}

static void test_outbox_dir(void)
{
    char outside[] = "/tmp/siyu-msg-outside-XXXXXX";
    CHECK(mkdtemp(outside) != NULL);
    char p[400], q[400];
    snprintf(p, sizeof p, "%s/evil.ndjson", outside);
    refused_path(p, "not absolute");
    refused_path("../evil.ndjson", ". or ..");
    refused_path("a/../../evil.ndjson", ". or ..");
    refused_path("./x.ndjson", ". or ..");
    refused_path("sub//x.ndjson", "empty component");
    refused_path("sub/", "directory");
    /* a directory link that leads out */
    snprintf(q, sizeof q, "%s/out", outbox);
    CHECK_INT_EQ(symlink(outside, q), 0);
    refused_path("out/evil.ndjson", "outside the outbox directory");
    /* a file link, wherever it points */
    snprintf(q, sizeof q, "%s/link.ndjson", outbox);
    CHECK_INT_EQ(symlink(p, q), 0);
    refused_path("link.ndjson", "symbolic link");
    struct stat st;
    CHECK(stat(p, &st) != 0); /* nothing was created outside */
    /* a subdirectory inside is fine */
    snprintf(q, sizeof q, "%s/sub", outbox);
    CHECK_INT_EQ(mkdir(q, 0750), 0);
    siyu_err e;
    siyu_err_init(&e);
    json_t *c = J("{\"adapter\": \"file\", \"path\": \"sub/ok.ndjson\"}");
    msg_adapter *a = msg_adapter_new(c, &e);
    CHECK(a != NULL);
    json_t *d = a ? msg_adapter_describe(a) : NULL;
    CHECK_STR_EQ(json_string_value(json_object_get(d, "path")), "sub/ok.ndjson");
    json_decref(d);
    msg_adapter_free(a);
    json_decref(c);
    /* no directory configured: refused */
    msg_outbox_dir_set(NULL);
    refused_path("x.ndjson", "no outbox directory");
    msg_outbox_dir_set(outbox);
    rmdir(outside);
}

static void test_bindings(void)
{
    const char *path = "bind.ndjson";
    msg_bindings b;
    msg_bindings_init(&b);
    siyu_err e;
    siyu_err_init(&e);
    json_t *c = json_pack("{s:s, s:s}", "adapter", "file", "path", path);
    CHECK_INT_EQ(msg_bindings_bind(&b, "sms", c, &e), 0);
    CHECK_INT_EQ(msg_bindings_bind(&b, "fax", c, &e), -1);
    CHECK_STR_EQ(e.field, "channel");
    /* a bad configuration leaves the old binding in place */
    json_t *bad = J("{\"adapter\": \"file\"}");
    CHECK_INT_EQ(msg_bindings_bind(&b, "sms", bad, &e), -1);
    CHECK_STR_EQ(e.field, "path");
    json_decref(bad);
    CHECK(b.adapter[MSG_CH_SMS] != NULL);

    msg_outcome o;
    msg_message m = {.id = 1, .channel = MSG_CH_SMS, .member_id = 1, .text = "hi"};
    msg_bindings_send(&b, &m, 0, &o);
    CHECK_INT_EQ(o.status, MSG_SENT);
    m.channel = MSG_CH_WECOM;
    msg_bindings_send(&b, &m, 0, &o);
    CHECK_INT_EQ(o.status, MSG_DEAD);
    CHECK_STR_EQ(o.error, "channel wecom is not bound to an adapter");
    /* rebinding replaces */
    CHECK_INT_EQ(msg_bindings_bind(&b, "sms", c, &e), 0);
    msg_bindings_clear(&b);
    CHECK(b.adapter[MSG_CH_SMS] == NULL);
    json_decref(c);

    CHECK_STR_EQ(msg_channel_name(MSG_CH_WECHAT_TEMPLATE), "wechat_template");
    CHECK_INT_EQ(msg_channel_from_name("wecom", 5), MSG_CH_WECOM);
    CHECK_INT_EQ(msg_channel_from_name("wecomx", 6), -1);
    CHECK(msg_channel_name(MSG_CHANNEL_COUNT) == NULL);
}

static void receipt_bad(const char *body, const char *field, const char *msg_part)
{
    siyu_err e;
    siyu_err_init(&e);
    msg_receipt r;
    memset(&r, 0x5a, sizeof r);
    msg_receipt before = r;
    CHECK_INT_EQ(msg_receipt_parse(body, strlen(body), &r, &e), -1);
    if (strcmp(e.field, field) != 0 || !strstr(e.message, msg_part))
        fprintf(stderr, "receipt %s: field %s, message %s\n", body, e.field, e.message);
    CHECK_STR_EQ(e.field, field);
    CHECK(strstr(e.message, msg_part) != NULL);
    CHECK(memcmp(&r, &before, sizeof r) == 0);
}

static void test_receipts(void)
{
    siyu_err e;
    siyu_err_init(&e);
    msg_receipt r;
    const char *ok = "{\"message_id\": 123, \"status\": \"delivered\", "
                     "\"at\": \"2026-11-22T10:00:05+08:00\"}";
    CHECK_INT_EQ(msg_receipt_parse(ok, strlen(ok), &r, &e), 0);
    CHECK_INT_EQ(r.message_id, 123);
    CHECK_STR_EQ(msg_receipt_status_name(r.status), "delivered");
    /* 2026-11-22T02:00:05Z: 56 years of 365 days + 14 leap days to 2026-01-01 (20454),
     * + 325 days to 22 November = 20779 days, plus 2 h 5 s */
    CHECK_INT_EQ(r.at, 20779LL * 86400 + 7205);
    CHECK_STR_EQ(r.reason, "");
    const char *ok2 = "{\"at\": \"2026-11-22T02:00:05Z\", \"status\": \"failed\", "
                      "\"message_id\": \"987654321\", \"reason\": \"空号\"}";
    CHECK_INT_EQ(msg_receipt_parse(ok2, strlen(ok2), &r, &e), 0);
    CHECK_INT_EQ(r.message_id, 987654321);
    CHECK_INT_EQ(r.status, MSG_RECEIPT_FAILED);
    CHECK_INT_EQ(r.at, 20779LL * 86400 + 7205);
    CHECK_STR_EQ(r.reason, "空号");
    const char *ok3 = "{\"message_id\": 5, \"status\": \"read\", \"at\": \"2026-01-01T00:00:00Z\"}";
    CHECK_INT_EQ(msg_receipt_parse(ok3, strlen(ok3), &r, &e), 0);
    CHECK_INT_EQ(r.status, MSG_RECEIPT_READ);

    receipt_bad("", "", "expected a JSON object");
    receipt_bad("not json", "", "invalid JSON");
    receipt_bad("[1]", "", "expected a JSON object");
    receipt_bad("{\"status\": \"read\", \"at\": \"2026-01-01T00:00:00Z\"}", "message_id",
                "message_id: required");
    receipt_bad("{\"message_id\": 0, \"status\": \"read\", \"at\": \"2026-01-01T00:00:00Z\"}",
                "message_id", "positive");
    receipt_bad("{\"message_id\": \"12a\", \"status\": \"read\", \"at\": \"2026-01-01T00:00:00Z\"}",
                "message_id", "expected an integer");
    receipt_bad("{\"message_id\": 1.5, \"status\": \"read\", \"at\": \"2026-01-01T00:00:00Z\"}",
                "message_id", "expected an integer");
    receipt_bad("{\"message_id\": 1, \"status\": \"sent\", \"at\": \"2026-01-01T00:00:00Z\"}",
                "status", "expected one of delivered, failed, read");
    receipt_bad("{\"message_id\": 1, \"at\": \"2026-01-01T00:00:00Z\"}", "status", "required");
    receipt_bad("{\"message_id\": 1, \"status\": \"read\", \"at\": \"2026-01-01 10:00\"}", "at",
                "RFC 3339");
    receipt_bad("{\"message_id\": 1, \"status\": \"read\", \"at\": \"2026-01-01T10:00:00\"}", "at",
                "RFC 3339");
    receipt_bad("{\"message_id\": 1, \"status\": \"read\"}", "at", "required");
    receipt_bad("{\"message_id\": 1, \"stauts\": \"read\", \"at\": \"2026-01-01T00:00:00Z\"}",
                "stauts", "unknown field");
    receipt_bad("{\"message_id\": 1, \"status\": \"read\", \"at\": \"2026-01-01T00:00:00Z\", "
                "\"reason\": 3}",
                "reason", "not a string");
    char big[5000];
    memset(big, ' ', sizeof big);
    big[0] = '{';
    big[sizeof big - 2] = '}';
    big[sizeof big - 1] = 0;
    receipt_bad(big, "", "larger than 4096");
    char reason[400];
    snprintf(reason, sizeof reason,
             "{\"message_id\": 1, \"status\": \"failed\", \"at\": \"2026-01-01T00:00:00Z\", "
             "\"reason\": \"%0201d\"}",
             0);
    receipt_bad(reason, "reason", "longer than 200");
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    if (!mkdtemp(outbox)) return 1;
    msg_outbox_dir_set(outbox);
    test_backoff();
    test_signature();
    test_config();
    test_file_adapter();
    test_outbox_dir();
    test_bindings();
    test_receipts();
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", outbox);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", outbox);
    return CHECK_DONE();
}
