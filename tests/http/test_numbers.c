/* test_numbers.c — numbers that must hold over HTTP: a known identity's create-or-match
 * fills empty profile fields (and the audience index sees them at once), a merge fills
 * from the merged-away member, and the holdout check of the models answers over HTTP as
 * the CLI does (never a 500), with a 422 and its reason for data that cannot be fitted.
 * Run: test_numbers PATH_TO_SIYU */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>

#include "harness.h"

static char buf[1 << 20];

static json_t *J(int fd, const char *method, const char *path, const char *body, int *status)
{
    *status = request(fd, method, path, body, buf, sizeof buf);
    return json_loads(buf, JSON_DECODE_ANY, NULL);
}

static const char *joined(json_t *arr, char *out, size_t cap)
{
    out[0] = 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", len ? "," : "", json_string_value(v));
    }
    return out;
}

static int64_t count_of(int fd, const char *expr)
{
    json_t *body = json_pack("{s:s}", "expr", expr);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    int st;
    json_t *v = J(fd, "POST", "/api/v1/segments/count", text, &st);
    free(text);
    CHECK_INT_EQ(st, 200);
    int64_t n = json_integer_value(json_object_get(v, "count"));
    json_decref(v);
    return n;
}

static void member_fill(int fd)
{
    char got[128];
    int st;
    /* first seen at the till: a phone and nothing else */
    json_t *m =
        J(fd, "POST", "/api/v1/members", "{\"phone\":\"13600000001\",\"channel\":\"store\"}", &st);
    CHECK_INT_EQ(st, 201);
    int64_t id = json_integer_value(json_object_get(m, "id"));
    json_decref(m);
    CHECK_INT_EQ(count_of(fd, "birthday_month = 7"), 0);
    /* the member fills in the profile later, through the mini-program */
    m = J(fd, "POST", "/api/v1/members",
          "{\"phone\":\"13600000001\",\"name\":\"郑洁\",\"gender\":\"female\","
          "\"birthday\":\"1993-07-15\"}",
          &st);
    CHECK_INT_EQ(st, 200);
    CHECK_INT_EQ(json_integer_value(json_object_get(m, "id")), id);
    CHECK_STR_EQ(joined(json_object_get(m, "filled"), got, sizeof got), "name,gender,birthday");
    CHECK_STR_EQ(joined(json_object_get(m, "kept"), got, sizeof got), "");
    json_decref(m);
    /* the audience index sees the filled fields: a birthday journey finds her */
    CHECK_INT_EQ(count_of(fd, "birthday_month = 7"), 1);
    CHECK_INT_EQ(count_of(fd, "gender = \"female\" and birthday_day = 15"), 1);
    /* another name later is kept out, and said so */
    m = J(fd, "POST", "/api/v1/members", "{\"phone\":\"13600000001\",\"name\":\"郑小洁\"}", &st);
    CHECK_INT_EQ(st, 200);
    CHECK_STR_EQ(joined(json_object_get(m, "filled"), got, sizeof got), "");
    CHECK_STR_EQ(joined(json_object_get(m, "kept"), got, sizeof got), "name");
    json_decref(m);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/members/%lld", (long long)id);
    m = J(fd, "GET", path, NULL, &st);
    CHECK_INT_EQ(st, 200);
    CHECK_STR_EQ(json_string_value(json_object_get(m, "name")), "郑洁");
    json_t *pc = json_object_get(m, "profile_changes");
    CHECK_INT_EQ(json_array_size(pc), 1);
    CHECK_STR_EQ(joined(json_object_get(json_array_get(pc, 0), "filled"), got, sizeof got),
                 "name,gender,birthday");
    json_decref(m);

    /* a merge: the kept member lacks a birthday the merged-away one has */
    m = J(fd, "POST", "/api/v1/members", "{\"card_no\":\"K1\",\"name\":\"钱进\"}", &st);
    CHECK_INT_EQ(st, 201);
    int64_t into = json_integer_value(json_object_get(m, "id"));
    json_decref(m);
    m = J(fd, "POST", "/api/v1/members",
          "{\"phone\":\"13600000002\",\"name\":\"钱 进\",\"birthday\":\"1979-02-03\"}", &st);
    CHECK_INT_EQ(st, 201);
    int64_t from = json_integer_value(json_object_get(m, "id"));
    json_decref(m);
    char body[64];
    snprintf(path, sizeof path, "/api/v1/members/%lld/merge", (long long)into);
    snprintf(body, sizeof body, "{\"from_member_id\":%lld}", (long long)from);
    m = J(fd, "POST", path, body, &st);
    CHECK_INT_EQ(st, 200);
    CHECK_STR_EQ(joined(json_object_get(m, "filled"), got, sizeof got), "birthday");
    CHECK_STR_EQ(joined(json_object_get(m, "kept"), got, sizeof got), "name");
    CHECK_STR_EQ(json_string_value(json_object_get(m, "birthday")), "1979-02-03");
    CHECK_STR_EQ(
        joined(json_object_get(json_array_get(json_object_get(m, "merged_from"), 0), "filled"), got,
               sizeof got),
        "birthday");
    json_decref(m);
    CHECK_INT_EQ(count_of(fd, "birthday_month = 2"), 1);
}

/* One order of `cents` for member `phone` on day `day` of October/November 2026. */
static void order(int fd, int n, int phone, int month, int day, int cents)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"channel\":\"store\",\"external_id\":\"N%d\",\"store_id\":1,"
             "\"placed_at\":\"2026-%02d-%02dT12:00:00+08:00\",\"total_cents\":%d,"
             "\"member\":{\"phone\":\"135000000%02d\"},"
             "\"items\":[{\"sku\":\"S\",\"qty\":1,\"unit_price_cents\":%d}]}",
             n, month, day, cents, phone, cents);
    int st = request(fd, "POST", "/api/v1/orders", body, buf, sizeof buf);
    if (st != 201) fprintf(stderr, "order %d: %d %s\n", n, st, buf);
    CHECK_INT_EQ(st, 201);
}

static void models_validation(int fd)
{
    int st;
    /* one buyer: nothing to fit — a 422 that says why, not a 500 */
    order(fd, 1, 1, 9, 1, 1000);
    json_t *v = J(fd, "GET", "/api/v1/models/validation?cal_end=2026-10-15&holdout_end=2026-11-10",
                  NULL, &st);
    CHECK_INT_EQ(st, 422);
    const char *msg = json_string_value(json_object_get(json_object_get(v, "error"), "message"));
    CHECK(msg && *msg);
    json_decref(v);

    /* a small chain that can be fitted, drawn the way BG/NBD assumes: 40 members from
     * September 1 to November 19, each buying at its own pace and dropping out after a
     * purchase with probability 1/4 (a fixed pseudo-random sequence) */
    int n = 2;
    uint32_t seed = 12345;
#define NEXT() (seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff)
    for (int k = 2; k <= 41; k++) {
        int gap = 2 + (int)(NEXT() % 25);
        for (int d = (int)(NEXT() % 40); d < 80; d += 1 + (int)(NEXT() % (2 * gap))) {
            int month = 9 + (d >= 30) + (d >= 61), day = d - (d >= 30) * 30 - (d >= 61) * 31 + 1;
            order(fd, n++, k, month, day, 500 + 37 * k + 11 * d);
            if (NEXT() % 4 == 0) break;
        }
    }
#undef NEXT
    v = J(fd, "GET", "/api/v1/models/validation?cal_end=2026-10-15&holdout_end=2026-11-19", NULL,
          &st);
    if (st != 200) fprintf(stderr, "validation: %d %s\n", st, buf);
    CHECK_INT_EQ(st, 200);
    json_t *total = json_object_get(v, "total");
    CHECK_INT_EQ(json_integer_value(json_object_get(total, "customers")), 41);
    double predicted = json_number_value(json_object_get(total, "predicted"));
    CHECK(isfinite(predicted) && predicted > 0);
    /* the CLI answers the same */
    char cmd[512], out[1 << 16];
    snprintf(cmd, sizeof cmd,
             "%s model validate --db %s --cal-end 2026-10-15 --holdout-end 2026-11-19 --json", siyu,
             db);
    FILE *p = popen(cmd, "r");
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = 0;
    CHECK_INT_EQ(pclose(p), 0);
    json_t *cli = json_loads(out, 0, NULL);
    CHECK(cli != NULL);
    CHECK(fabs(json_number_value(json_object_get(json_object_get(cli, "total"), "predicted")) -
               predicted) < 1e-9 * (1 + predicted));
    json_decref(cli);
    json_decref(v);
    /* weeks, and a bad query names its field */
    v = J(fd, "GET",
          "/api/v1/models/validation?cal_end=2026-10-15&holdout_end=2026-11-19&unit=weeks", NULL,
          &st);
    CHECK(st == 200 || st == 422);
    json_decref(v);
    v = J(fd, "GET", "/api/v1/models/validation?cal_end=2026-10-15&holdout_end=2026-10-01", NULL,
          &st);
    CHECK_INT_EQ(st, 400);
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(v, "error"), "field")),
                 "holdout_end");
    json_decref(v);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_numbers PATH_TO_SIYU\n");
        return 2;
    }
    setenv("SIYU_NOW", "2026-11-20T12:00:00+08:00", 1);
    pid_t pid = harness_start(argv[1]);
    int fd = conn_open();
    int st =
        request(fd, "POST", "/api/v1/stores",
                "{\"name\":\"湖滨店\",\"code\":\"S1\",\"kind\":\"physical\"}", buf, sizeof buf);
    CHECK_INT_EQ(st, 201);
    member_fill(fd);
    models_validation(fd);
    close(fd);
    CHECK_INT_EQ(harness_stop(pid), 0);
    return CHECK_DONE();
}
