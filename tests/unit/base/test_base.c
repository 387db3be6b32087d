/* Unit tests for src/base: phones, dates and times, JSON reading, the error table, snapshot
 * mappings. */
#include <check.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/checked.h"
#include "base/digest.h"
#include "base/error.h"
#include "base/json_arena.h"
#include "base/jsonx.h"
#include "base/phone.h"
#include "base/snapmap.h"
#include "base/timeutil.h"

static void test_phone(void)
{
    char out[32];
    CHECK_INT_EQ(phone_normalise("+86 138-0013-8000", out, sizeof out), 0);
    CHECK_STR_EQ(out, "13800138000");
    CHECK_INT_EQ(phone_normalise("13800138000", out, sizeof out), 0);
    CHECK_STR_EQ(out, "13800138000");
    CHECK_INT_EQ(phone_normalise("0086 13800138000", out, sizeof out), 0);
    CHECK_STR_EQ(out, "13800138000");
    CHECK_INT_EQ(phone_normalise("8613800138000", out, sizeof out), 0);
    CHECK_STR_EQ(out, "13800138000");
    CHECK_INT_EQ(phone_normalise("+852 9123 4567", out, sizeof out), 0);
    CHECK_STR_EQ(out, "+85291234567");
    CHECK_INT_EQ(phone_normalise("12800138000", out, sizeof out), -1); /* 12x is not mobile */
    CHECK_INT_EQ(phone_normalise("1380013800", out, sizeof out), -1);  /* 10 digits */
    CHECK_INT_EQ(phone_normalise("138001380001", out, sizeof out), -1);
    CHECK_INT_EQ(phone_normalise("138a0138000", out, sizeof out), -1);
    CHECK_INT_EQ(phone_normalise("", out, sizeof out), -1);
    CHECK_INT_EQ(phone_normalise("+", out, sizeof out), -1);
    phone_mask("13812345678", out, sizeof out);
    CHECK_STR_EQ(out, "138****5678");
}

static void test_dates(void)
{
    int32_t d;
    CHECK_INT_EQ(date_parse("1970-01-01", &d), 0);
    CHECK_INT_EQ(d, 0);
    CHECK_INT_EQ(date_parse("2026-11-22", &d), 0);
    CHECK_INT_EQ(d, 20779); /* independently: date -u -d 2026-11-22 +%s / 86400 */
    char buf[16];
    date_format(d, buf, sizeof buf);
    CHECK_STR_EQ(buf, "2026-11-22");
    CHECK_INT_EQ(date_parse("2024-02-29", &d), 0);
    CHECK_INT_EQ(date_parse("2023-02-29", &d), -1);
    CHECK_INT_EQ(date_parse("2026-13-01", &d), -1);
    CHECK_INT_EQ(date_parse("2026-1-01", &d), -1);
    CHECK_INT_EQ(date_parse("2026-01-01x", &d), -1);
    /* round trip every day over 300 years */
    for (int32_t day = -30000; day < 80000; day += 7) {
        int y, m, dd;
        date_civil(day, &y, &m, &dd);
        CHECK_INT_EQ(date_from_civil(y, m, dd), day);
    }
}

static void test_times(void)
{
    int64_t t;
    CHECK_INT_EQ(time_parse_rfc3339("1970-01-01T00:00:00Z", &t), 0);
    CHECK_INT_EQ(t, 0);
    CHECK_INT_EQ(time_parse_rfc3339("1970-01-01T08:00:00+08:00", &t), 0);
    CHECK_INT_EQ(t, 0);
    CHECK_INT_EQ(time_parse_rfc3339("2026-11-22T10:00:00+08:00", &t), 0);
    CHECK_INT_EQ(t, 1795312800);
    CHECK_INT_EQ(time_parse_rfc3339("2026-11-22T02:00:00.123Z", &t), 0);
    CHECK_INT_EQ(t, 1795312800);
    char buf[40];
    time_format_rfc3339(1795312800, buf, sizeof buf);
    CHECK_STR_EQ(buf, "2026-11-22T10:00:00+08:00");
    CHECK_INT_EQ(time_local_day(1795312800), 20779);
    /* 23:30 UTC is already the next local day in +08:00 */
    CHECK_INT_EQ(time_parse_rfc3339("2026-11-22T23:30:00Z", &t), 0);
    CHECK_INT_EQ(time_local_day(t), 20780);
    CHECK_INT_EQ(time_parse_rfc3339("2026-11-22T10:00:00", &t), -1); /* no offset */
    CHECK_INT_EQ(time_parse_rfc3339("2026-11-22T24:00:00Z", &t), -1);
    CHECK_INT_EQ(time_parse_rfc3339("2026-11-22 10:00:00+08:00", &t), 0);
    CHECK_INT_EQ(time_parse_rfc3339("2026-11-22T10:00:00+8:00", &t), -1);
}

static void test_json(void)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *v = jx_parse("{\"qty\": 2, \"name\": \"x\", \"ok\": true, \"d\": \"2026-01-31\"}", 54,
                         false, &e);
    CHECK(v != NULL);
    int64_t qty = 0;
    const char *name = NULL;
    bool ok = false;
    int32_t day = 0;
    CHECK_INT_EQ(jx_int(v, "qty", true, &qty, &e), 1);
    CHECK_INT_EQ(qty, 2);
    CHECK_INT_EQ(jx_str(v, "name", true, &name, &e), 1);
    CHECK_STR_EQ(name, "x");
    CHECK_INT_EQ(jx_bool(v, "ok", true, &ok, &e), 1);
    CHECK(ok);
    CHECK_INT_EQ(jx_date(v, "d", true, &day, &e), 1);
    CHECK_INT_EQ(jx_int(v, "missing", false, &qty, &e), 0);
    CHECK_INT_EQ(jx_int(v, "missing", true, &qty, &e), -1);
    CHECK_STR_EQ(e.field, "missing");
    CHECK_INT_EQ(jx_int(v, "name", true, &qty, &e), -1);
    CHECK_STR_EQ(e.message, "name: not an integer");
    CHECK_INT_EQ(e.code, SIYU_INVALID_ARGUMENT);
    static const char *const allowed[] = {"qty", "name", "ok", NULL};
    CHECK_INT_EQ(jx_only(v, allowed, "items[0].", &e), -1);
    CHECK_STR_EQ(e.field, "items[0].d");
    json_decref(v);

    /* depth: 32 levels parse, 33 do not */
    char deep[200];
    int n = 0;
    for (int i = 0; i < 32; i++)
        deep[n++] = '[';
    for (int i = 0; i < 32; i++)
        deep[n++] = ']';
    v = jx_parse(deep, (size_t)n, true, &e);
    CHECK(v != NULL);
    json_decref(v);
    n = 0;
    for (int i = 0; i < 33; i++)
        deep[n++] = '[';
    for (int i = 0; i < 33; i++)
        deep[n++] = ']';
    CHECK(jx_parse(deep, (size_t)n, true, &e) == NULL);
    /* brackets inside strings do not count */
    v = jx_parse("{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}", 48, false, &e);
    CHECK(v != NULL);
    json_decref(v);
    CHECK(jx_parse("[1]", 3, false, &e) == NULL);                /* not an object */
    CHECK(jx_parse("{\"a\":1,\"a\":2}", 13, false, &e) == NULL); /* duplicate keys */
    CHECK(jx_parse("", 0, false, &e) == NULL);

    /* canonical form ignores key order */
    json_t *a = json_loads("{\"b\":1,\"a\":[1,2]}", 0, NULL),
           *b = json_loads("{\"a\":[1,2],\"b\":1}", 0, NULL);
    unsigned char da[DIGEST_BYTES], db[DIGEST_BYTES];
    digest_of_json(a, da);
    digest_of_json(b, db);
    CHECK(memcmp(da, db, DIGEST_BYTES) == 0);
    /* field boundaries count: "ab"+"c" is not "a"+"bc" */
    digest x, y;
    digest_init(&x);
    digest_str(&x, "ab");
    digest_str(&x, "c");
    digest_final(&x, da);
    digest_init(&y);
    digest_str(&y, "a");
    digest_str(&y, "bc");
    digest_final(&y, db);
    CHECK(memcmp(da, db, DIGEST_BYTES) != 0);
    json_decref(a);
    json_decref(b);
    siyu_err_clear(&e);

    /* Fields are gathered before BLAKE2b sees them; the digest must stay that of the
     * stream itself (stored digests are compared with new ones), whatever the field
     * sizes: checked against one BLAKE2b call over the stream built here by hand. */
    static const size_t sizes[] = {0, 1, 200, 246, 247, 255, 256, 257, 700};
    unsigned char stream[4096], want[DIGEST_BYTES], got[DIGEST_BYTES];
    char text[701];
    memset(text, 'x', sizeof text - 1);
    for (size_t first = 0; first < sizeof sizes / sizeof *sizes; first++) {
        size_t used = 0;
        digest z;
        digest_init(&z);
        for (int round = 0; round < 3; round++) {
            size_t len = sizes[(first + (size_t)round * 4) % (sizeof sizes / sizeof *sizes)];
            text[len] = 0;
            digest_str(&z, text);
            stream[used++] = 'i'; /* the length, as digest_int writes it */
            for (int i = 0; i < 8; i++)
                stream[used++] = (unsigned char)((uint64_t)len >> (8 * i));
            memcpy(stream + used, text, len);
            used += len;
            text[len] = 'x';
            digest_str(&z, NULL);
            stream[used++] = 'n';
            digest_int(&z, -2);
            stream[used++] = 'i';
            for (int i = 0; i < 8; i++)
                stream[used++] = (unsigned char)((uint64_t)-2 >> (8 * i));
        }
        digest_final(&z, got);
        crypto_generichash(want, DIGEST_BYTES, stream, used, NULL, 0);
        CHECK(memcmp(got, want, DIGEST_BYTES) == 0);
    }
}

static void test_errors(void)
{
    CHECK_INT_EQ(siyu_code_status(SIYU_UNPROCESSABLE), 422);
    CHECK_STR_EQ(siyu_code_name(SIYU_PAYLOAD_TOO_LARGE), "payload_too_large");
    siyu_err e;
    siyu_err_init(&e);
    siyu_err_set(&e, SIYU_INVALID_ARGUMENT, "birthday", "birthday: expected YYYY-MM-DD");
    json_t *j = siyu_err_to_json(&e);
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    CHECK_STR_EQ(s, "{\"error\":{\"code\":\"invalid_argument\",\"field\":\"birthday\",\"message\":"
                    "\"birthday: expected YYYY-MM-DD\"}}");
    free(s);
    json_decref(j);
}

/* checked arithmetic: exact results pass, anything past int64 is refused (and the
 * target left alone), the saturating add clamps and says so */
static void test_checked(void)
{
    int64_t v = 7;
    CHECK(ck_add(INT64_MAX - 1, 1, &v) && v == INT64_MAX);
    v = 7;
    CHECK(!ck_add(INT64_MAX, 1, &v));
    CHECK_INT_EQ(v, 7);
    CHECK(!ck_sub(INT64_MIN, 1, &v));
    CHECK(ck_mul(1000000, 100000000000LL, &v) && v == 100000000000000000LL);
    CHECK(!ck_mul(INT64_MAX / 2 + 1, 2, &v));
    /* the order that wrapped: 185 lines of 10^6 × 10^11 */
    int64_t sum = 0;
    int i = 0;
    for (; i < 185 && ck_add_mul(&sum, 1000000, 100000000000LL); i++)
        ;
    CHECK_INT_EQ(i, 92); /* the 93rd line passes 2^63 − 1 */
    CHECK_INT_EQ(sum, 92 * 100000000000000000LL);
    bool ov = false;
    CHECK_INT_EQ(ck_add_sat(INT64_MAX - 5, 3, &ov), INT64_MAX - 2);
    CHECK(!ov);
    CHECK_INT_EQ(ck_add_sat(INT64_MAX - 5, 10, &ov), INT64_MAX);
    CHECK(ov);
    ov = false;
    CHECK_INT_EQ(ck_add_sat(INT64_MIN + 1, -2, &ov), INT64_MIN);
    CHECK(ov);
}

/* The arena: a tree parsed under it is the arena's, values set into it from plain
 * malloc are freed with it, big requests and a spent range fall back to malloc, and
 * releasing gives every chunk back. */
static void *parse_in_arena(void *arg)
{
    json_arena *a = arg;
    json_arena_use(a);
    json_t *v = json_loads("{\"a\":[1,2,{\"b\":\"text\"}],\"c\":\"d\"}", 0, NULL);
    json_arena_use(NULL);
    return v;
}

static void test_json_arena(void)
{
    /* before install jansson allocates with malloc, arena current or not: a tree parsed
     * under an arena must still be freed node by node (the importer asks this) */
    json_arena *before = json_arena_new();
    json_arena_use(before);
    json_t *early = json_loads("{\"a\":[1]}", 0, NULL);
    json_arena_use(NULL);
    CHECK(early && !json_arena_owns(early));
    CHECK(!json_arena_holds_all(before));
    json_decref(early);
    json_arena_release(before);
    json_arena_install();
    json_t *plain = json_string("plain");
    CHECK(!json_arena_owns(plain));
    json_arena *a = json_arena_new();
    pthread_t t;
    pthread_create(&t, NULL, parse_in_arena, a);
    json_t *tree;
    pthread_join(t, (void **)&tree);
    CHECK(tree != NULL);
    CHECK(json_arena_owns(tree));
    CHECK(json_arena_owns(json_object_get(tree, "a")));
    CHECK(json_arena_holds_all(a)); /* the whole tree in its chunks */
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_array_get(json_object_get(tree, "a"), 2), "b")),
        "text");
    CHECK(json_arena_bytes_in_use() > 0);
    /* this thread has no arena: its values are malloc'd, and freed with the tree */
    json_object_set_new(tree, "added", json_string("malloc'd"));
    CHECK(!json_arena_owns(json_object_get(tree, "added")));
    json_decref(tree);
    json_arena_release(a);
    CHECK_INT_EQ(json_arena_bytes_in_use(), 0);
#if defined(__SANITIZE_ADDRESS__)
    CHECK(__asan_address_is_poisoned(tree)); /* a use after release is reported */
#endif

    /* a request larger than an eighth of a chunk, and a spent range, are malloc's */
    json_malloc_t m;
    json_free_t f;
    json_get_alloc_funcs(&m, &f);
    a = json_arena_new();
    json_arena_use(a);
    void *big = m((size_t)1 << 20);
    CHECK(big && !json_arena_owns(big));
    CHECK(!json_arena_holds_all(a)); /* one allocation under it went to malloc */
    f(big);
    size_t owned = 0, step = ((size_t)1 << 20) / 8; /* never written: pages stay untouched */
    void *p;
    while ((p = m(step)) && json_arena_owns(p))
        owned++;
    CHECK(p != NULL);         /* the range spent, malloc answered */
    CHECK(owned >= 7 * 1000); /* about 1 GiB of address space went by first */
    f(p);
    json_arena_use(NULL);
    json_arena_release(a);
    CHECK_INT_EQ(json_arena_bytes_in_use(), 0);
    json_decref(plain);
}

/* A mapped snapshot: its range is recognised while referenced, writes never reach the file,
 * growing a block in it copies the block out, and freeing one is left to the mapping. */
static void test_snapmap(void)
{
    char path[] = "/tmp/siyu-snapmap-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unsigned char bytes[8192];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)(i * 7);
    CHECK(write(fd, bytes, sizeof bytes) == (ssize_t)sizeof bytes);
    close(fd);
    char why[64] = "";
    CHECK(snapmap_open("/nonexistent/x", why, sizeof why) == NULL);
    CHECK_STR_EQ(why, "none");

    snapmap *m = snapmap_open(path, why, sizeof why);
    CHECK(m != NULL && snapmap_in_place(m) && snapmap_len(m) == sizeof bytes);
    unsigned char *d = snapmap_data(m);
    CHECK(memcmp(d, bytes, sizeof bytes) == 0);
    CHECK(snapmap_owns(d) && snapmap_owns(d + sizeof bytes - 1) && !snapmap_owns(d + sizeof bytes));
    void *heap = malloc(16);
    CHECK(!snapmap_owns(heap) && !snapmap_owns(NULL));
    heap = snapmap_realloc(heap, 16, 4096); /* a malloc'd block: plain realloc */
    CHECK(heap != NULL && !snapmap_owns(heap));
    snapmap_free(heap);

    d[100] = 0xEE; /* copy on write: the process sees it, the file does not */
    unsigned char *grown = snapmap_realloc(d + 64, 128, 256);
    CHECK(grown != NULL && !snapmap_owns(grown));
    CHECK(grown[36] == 0xEE && memcmp(grown, bytes + 64, 36) == 0 &&
          memcmp(grown + 37, bytes + 101, 91) == 0);
    grown[200] = 1; /* the new block's tail is its own */
    snapmap_free(grown);
    snapmap_free(d + 4096); /* in the mapping: nothing happens */

    /* a reference keeps it mapped; the last release unregisters it */
    CHECK(snapmap_retain(m) == m);
    snapmap_release(m);
    CHECK(snapmap_owns(d) && d[100] == 0xEE);
    snapmap_release(m);
    CHECK(!snapmap_owns(d));
    FILE *f = fopen(path, "rb");
    unsigned char back[sizeof bytes];
    CHECK(f && fread(back, 1, sizeof back, f) == sizeof back);
    if (f) fclose(f);
    CHECK(memcmp(back, bytes, sizeof bytes) == 0);

    /* more mappings than the registry holds: the rest are usable, but not in place */
    snapmap *all[20];
    int in_place = 0;
    for (int i = 0; i < 20; i++) {
        all[i] = snapmap_open(path, why, sizeof why);
        CHECK(all[i] != NULL);
        in_place += all[i] && snapmap_in_place(all[i]);
        CHECK(!all[i] || snapmap_in_place(all[i]) == snapmap_owns(snapmap_data(all[i])));
    }
    CHECK_INT_EQ(in_place, 16);
    for (int i = 0; i < 20; i++)
        snapmap_release(all[i]);
    unlink(path);
}

/* The registry under churn: one thread maps and unmaps a file over and over (taking and
 * giving back the same slots, often at the same address), while others ask about blocks of
 * their own: a malloc'd block is never taken for a mapped one (it would then be leaked by
 * snapmap_free, or copied by snapmap_realloc), and a mapping held throughout is always known. */
typedef struct churn {
    const char *path;
    const unsigned char *held; /* in a mapping open throughout */
    atomic_bool stop;
    atomic_int wrong;
} churn;

static void *churn_maps(void *arg)
{
    churn *c = arg;
    char why[64];
    for (int i = 0; i < 3000; i++) {
        snapmap *m[3];
        for (int k = 0; k < 3; k++)
            m[k] = snapmap_open(c->path, why, sizeof why);
        for (int k = 0; k < 3; k++) {
            if (!m[k] || !snapmap_owns(snapmap_data(m[k]) + 100)) atomic_fetch_add(&c->wrong, 1);
            snapmap_release(m[k]);
        }
    }
    atomic_store(&c->stop, true);
    return NULL;
}

static void *churn_blocks(void *arg)
{
    churn *c = arg;
    while (!atomic_load(&c->stop)) {
        unsigned char *p = malloc(8192);
        if (!p || snapmap_owns(p) || snapmap_owns(p + 8191)) atomic_fetch_add(&c->wrong, 1);
        unsigned char *q = snapmap_realloc(p, 8192, 65536);
        if (!q || snapmap_owns(q)) atomic_fetch_add(&c->wrong, 1);
        snapmap_free(q ? q : p);
        if (!snapmap_owns(c->held)) atomic_fetch_add(&c->wrong, 1);
    }
    return NULL;
}

static void test_snapmap_threads(void)
{
    char path[] = "/tmp/siyu-snapmap-churn-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unsigned char bytes[8192] = {1};
    CHECK(write(fd, bytes, sizeof bytes) == (ssize_t)sizeof bytes);
    close(fd);
    char why[64];
    snapmap *held = snapmap_open(path, why, sizeof why);
    CHECK(held && snapmap_in_place(held));
    churn c = {.path = path, .held = held ? snapmap_data(held) + 4000 : NULL};
    atomic_init(&c.stop, false);
    atomic_init(&c.wrong, 0);
    pthread_t t[3];
    pthread_create(&t[0], NULL, churn_maps, &c);
    pthread_create(&t[1], NULL, churn_blocks, &c);
    pthread_create(&t[2], NULL, churn_blocks, &c);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    CHECK_INT_EQ(atomic_load(&c.wrong), 0);
    snapmap_release(held);
    unlink(path);
}

int main(void)
{
    test_checked();
    test_snapmap();
    test_snapmap_threads();
    test_phone();
    test_dates();
    test_times();
    test_json();
    test_json_arena();
    test_errors();
    return CHECK_DONE();
}
