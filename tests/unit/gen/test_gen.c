/* test_gen.c — the demo chain generator: determinism, file formats, and the story the
 * data must tell (member ratio, refunds, Double 11, weekends, Zipf, BG/NBD).
 *
 * Usage: test_gen determinism|format|story|errors. Each mode generates a small chain
 * (2000 members, history ending 2025-11-21) into a fresh temporary directory and reads
 * it back with jansson, and with base's phone and time parsers — the ones the importer
 * uses — so "valid" here means what siyu will accept. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/phone.h"
#include "base/timeutil.h"
#include "check.h"
#include "gen/gen.h"

#define MEMBERS 2000

static int32_t until_day; /* 2025-11-22: history is 2023-11-23 .. 2025-11-21 */

/* ---------------- helpers ---------------- */

static char *make_dir(void)
{
    char tmpl[] = "/tmp/siyu-gen-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    if (!d) {
        perror("mkdtemp");
        exit(1);
    }
    return strdup(d);
}

static void remove_dir(const char *dir)
{
    static const char *const names[] = {"brands", "stores", "staff", "members", "orders", "events"};
    char path[512];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s.ndjson", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void generate(const char *dir, uint64_t seed, gen_summary *s)
{
    gen_options o;
    gen_options_init(&o);
    o.seed = seed;
    o.members = MEMBERS;
    o.until_day = until_day;
    char err[256] = "";
    int rc = gen_write_dir_summary(&o, dir, s, err, sizeof err, NULL, NULL);
    if (rc != 0) {
        fprintf(stderr, "gen_write_dir: %s\n", err);
        exit(1);
    }
}

/* Reads a whole file; NULL if missing. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

typedef void (*line_fn)(json_t *obj, long lineno, void *ctx);

/* Calls fn for every line of dir/name.ndjson, each parsed as a JSON object. */
static long each_line(const char *dir, const char *name, line_fn fn, void *ctx)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.ndjson", dir, name);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        CHECK(line[n - 1] == '\n');
        json_error_t je;
        json_t *obj = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &je);
        if (!obj || !json_is_object(obj)) {
            fprintf(stderr, "%s line %ld: %s\n", name, lineno, obj ? "not an object" : je.text);
            check_failures_++;
        } else {
            fn(obj, lineno, ctx);
        }
        json_decref(obj);
    }
    free(line);
    fclose(f);
    return lineno;
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long intv(json_t *o, const char *key, long long missing)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : missing;
}

static int one_of(const char *s, const char *const *list)
{
    for (int i = 0; s && list[i]; i++)
        if (strcmp(s, list[i]) == 0) return i;
    return -1;
}

/* An RFC 3339 time in +08:00 inside history; returns local seconds or -1. */
static int64_t local_time(const char *s)
{
    int64_t t;
    if (!s || strlen(s) != 25 || strcmp(s + 19, "+08:00") != 0 || time_parse_rfc3339(s, &t))
        return -1;
    t += 8 * 3600;
    if (t < (int64_t)(until_day - 730) * 86400 || t >= (int64_t)until_day * 86400) return -1;
    return t;
}

static long card_index(json_t *o) /* "member":{"card_no":"M00000001"} -> 0 */
{
    json_t *m = json_object_get(o, "member");
    if (!m) return -1;
    const char *c = str(m, "card_no");
    CHECK(c && c[0] == 'M' && strlen(c) == 9 && json_object_size(m) == 1);
    if (!c) return -2;
    return strtol(c + 1, NULL, 10) - 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Number of duplicates in an array of strings (sorts it). */
static long duplicates(char **v, long n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    long d = 0;
    for (long i = 1; i < n; i++)
        if (strcmp(v[i - 1], v[i]) == 0) d++;
    return d;
}

/* ---------------- reading a chain back ---------------- */

static const char *const channels[] = {"store", "miniprogram", "mall", "live", "points_mall", NULL};
static const char *const event_types[] = {"follow_public_account",
                                          "unfollow_public_account",
                                          "add_guide_contact",
                                          "remove_guide_contact",
                                          "join_group",
                                          "leave_group",
                                          "sms_opt_in",
                                          "sms_opt_out",
                                          "miniprogram_authorize",
                                          "share",
                                          "live_view",
                                          NULL};

#define NDAYS 730
#define NSKU 400

typedef struct chain {
    long stores, staff, members, orders, member_orders, refunds, events, items;
    int guide_store[200]; /* staff id -> store of a guide, 0 if not a guide */
    int64_t join_ts[MEMBERS];
    int member_orders_of[MEMBERS];
    int64_t last_order_ts[MEMBERS];
    bool has_guide[MEMBERS];
    char *phones[MEMBERS], *unionids[MEMBERS];
    long n_unionids, no_birthday;
    char **order_keys;
    long n_keys, cap_keys;
    char **refund_keys;
    long n_refund_keys, cap_refund_keys;
    long day_orders[NDAYS];
    long sku_lines[NSKU];
    long channel_orders[5];
    long events_by_type[11];
    long reached_follow[MEMBERS], reached_guide[MEMBERS], reached_group[MEMBERS];
} chain;

static void on_store(json_t *o, long n, void *ctx)
{
    chain *c = ctx;
    static const char *const kinds[] = {"physical", "mall", "live", "points_mall", NULL};
    int kind = one_of(str(o, "kind"), kinds);
    CHECK(str(o, "name") && str(o, "code"));
    CHECK_INT_EQ(intv(o, "brand_id", -1), 1);
    CHECK_INT_EQ(kind, n <= 20 ? 0 : (int)n - 20);
    if (n <= 20) CHECK(str(o, "city") && str(o, "region"));
    c->stores++;
}

static void on_staff(json_t *o, long n, void *ctx)
{
    chain *c = ctx;
    const char *role = str(o, "role");
    long long store = intv(o, "store_id", -1);
    CHECK(str(o, "name") && strlen(str(o, "name")) >= 6);
    CHECK(store >= 1 && store <= 20);
    if (n <= 20) {
        CHECK_STR_EQ(role, "store_manager");
        CHECK_INT_EQ(store, n);
    } else {
        CHECK_STR_EQ(role, "guide");
        CHECK(store >= c->guide_store[n - 1]); /* guides grouped by store */
        c->guide_store[n] = (int)store;
    }
    c->staff++;
}

static void on_member(json_t *o, long n, void *ctx)
{
    chain *c = ctx;
    long i = n - 1;
    static const char *const allowed[] = {"card_no",  "phone",    "unionid",   "name",
                                          "gender",   "birthday", "city",      "store_id",
                                          "guide_id", "channel",  "joined_at", NULL};
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) CHECK(one_of(key, allowed) >= 0);
    char card[16];
    snprintf(card, sizeof card, "M%08ld", n);
    CHECK_STR_EQ(str(o, "card_no"), card);
    const char *phone = str(o, "phone");
    char norm[32] = "";
    CHECK(phone && phone_normalise(phone, norm, sizeof norm) == 0);
    CHECK(phone && strlen(phone) == 11 && phone[0] == '1' && phone[1] >= '3' && phone[1] <= '9');
    CHECK_STR_EQ(norm, phone);
    c->phones[i] = strdup(phone ? phone : "");
    const char *uid = str(o, "unionid");
    if (uid) {
        CHECK(strlen(uid) == 28 && strncmp(uid, "o6_bm", 5) == 0);
        c->unionids[c->n_unionids++] = strdup(uid);
    }
    const char *name = str(o, "name");
    CHECK(name && strlen(name) >= 6 && strlen(name) <= 18); /* 2–6 CJK characters */
    static const char *const genders[] = {"male", "female", NULL};
    CHECK(one_of(str(o, "gender"), genders) >= 0);
    const char *bd = str(o, "birthday");
    int32_t bday;
    if (bd)
        CHECK(date_parse(bd, &bday) == 0 && bday < until_day - 16 * 365);
    else
        c->no_birthday++;
    CHECK(str(o, "city") != NULL);
    long long store = intv(o, "store_id", -1), guide = intv(o, "guide_id", 0);
    CHECK(store >= 1 && store <= 23);
    if (guide) {
        CHECK(guide > 20 && guide <= 120);
        CHECK_INT_EQ(c->guide_store[guide], store); /* the guide works at the member's store */
    }
    c->has_guide[i] = guide != 0;
    int ch = one_of(str(o, "channel"), channels);
    CHECK(ch >= 0 && ch <= 3);
    c->join_ts[i] = local_time(str(o, "joined_at"));
    CHECK(c->join_ts[i] > 0);
    c->members++;
}

static void add_key(char ***v, long *n, long *cap, const char *a, const char *b)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        *v = realloc(*v, sizeof **v * (size_t)*cap);
    }
    size_t len = strlen(a) + strlen(b) + 2;
    char *k = malloc(len);
    snprintf(k, len, "%s|%s", a, b);
    (*v)[(*n)++] = k;
}

static void on_order(json_t *o, long n, void *ctx)
{
    chain *c = ctx;
    static const char *const allowed[] = {"channel",     "external_id",    "store_id", "placed_at",
                                          "total_cents", "discount_cents", "member",   "guide_id",
                                          "items",       "refunds",        NULL};
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) CHECK(one_of(key, allowed) >= 0);
    int ch = one_of(str(o, "channel"), channels);
    CHECK(ch >= 0);
    const char *ext = str(o, "external_id");
    CHECK(ext && *ext);
    add_key(&c->order_keys, &c->n_keys, &c->cap_keys, str(o, "channel") ? str(o, "channel") : "",
            ext ? ext : "");
    long long store = intv(o, "store_id", -1);
    static const int online_store[] = {0, 21, 21, 22, 23};
    if (ch == 0)
        CHECK(store >= 1 && store <= 20);
    else if (ch > 0)
        CHECK_INT_EQ(store, online_store[ch]);
    int64_t ts = local_time(str(o, "placed_at"));
    CHECK(ts > 0);
    int sod = (int)(ts % 86400);
    if (ch == 0 && !(sod >= 8 * 3600 && sod < 22 * 3600))
        CHECK_FAIL_("order %ld: store order at second %d of the day", n, sod);

    /* totals */
    json_t *items = json_object_get(o, "items");
    CHECK(json_is_array(items) && json_array_size(items) >= 1 && json_array_size(items) <= 5);
    long long sum = 0;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *sku = str(it, "sku");
        long long qty = intv(it, "qty", -1), price = intv(it, "unit_price_cents", -1);
        CHECK(sku && strncmp(sku, "SKU", 3) == 0 && strlen(sku) == 7);
        CHECK(str(it, "category") && str(it, "name"));
        CHECK(qty >= 1 && qty <= 6 && price > 0);
        CHECK_INT_EQ(json_object_size(it), 5);
        sum += qty * price;
        int k = sku ? atoi(sku + 3) : 0;
        CHECK(k >= 1 && k < NSKU);
        if (k >= 1 && k < NSKU) c->sku_lines[k] += qty;
        c->items++;
    }
    long long total = intv(o, "total_cents", -1), discount = intv(o, "discount_cents", -1);
    CHECK(total >= 0 && discount >= 0);
    if (total != sum - discount)
        CHECK_FAIL_("order %ld: total %lld != %lld - %lld", n, total, sum, discount);

    /* member, guide */
    long m = card_index(o);
    long long guide = intv(o, "guide_id", 0);
    if (m >= 0) {
        CHECK(m < MEMBERS);
        if (m < MEMBERS) {
            CHECK(ts >= c->join_ts[m]);
            c->member_orders_of[m]++;
            if (ts > c->last_order_ts[m]) c->last_order_ts[m] = ts;
        }
        c->member_orders++;
        if (guide) {
            CHECK(ch == 0 && guide > 20 && guide <= 120);
            CHECK_INT_EQ(c->guide_store[guide], store);
        }
    } else {
        CHECK(m == -1);
        CHECK(guide == 0);
    }

    /* refunds */
    json_t *refunds = json_object_get(o, "refunds");
    if (refunds) {
        CHECK(json_is_array(refunds) && json_array_size(refunds) >= 1);
        long long refunded = 0;
        json_array_foreach(refunds, i, it)
        {
            long long amount = intv(it, "amount_cents", -1);
            int64_t at = local_time(str(it, "at"));
            CHECK(amount > 0);
            CHECK(at > ts);
            refunded += amount;
            add_key(&c->refund_keys, &c->n_refund_keys, &c->cap_refund_keys, "R",
                    str(it, "external_id") ? str(it, "external_id") : "");
        }
        if (refunded > total)
            CHECK_FAIL_("order %ld: refunds %lld exceed total %lld", n, refunded, total);
        c->refunds++;
    }
    if (ts > 0) {
        long day = (long)(ts / 86400) - (until_day - NDAYS);
        if (day >= 0 && day < NDAYS) c->day_orders[day]++;
    }
    if (ch >= 0) c->channel_orders[ch]++;
    c->orders++;
}

static void on_event(json_t *o, long n, void *ctx)
{
    chain *c = ctx;
    int type = one_of(str(o, "type"), event_types);
    CHECK(type >= 0);
    long m = card_index(o);
    CHECK(m >= 0 && m < MEMBERS);
    int64_t at = local_time(str(o, "at"));
    CHECK(at > 0);
    if (m >= 0 && m < MEMBERS) {
        if (at < c->join_ts[m]) CHECK_FAIL_("event %ld before the member joined", n);
        if (type == 0) c->reached_follow[m] = 1;
        if (type == 2) c->reached_guide[m] = 1;
        if (type == 4) c->reached_group[m] = 1;
    }
    json_t *props = json_object_get(o, "props");
    if (type == 10)
        CHECK_INT_EQ(intv(props, "store_id", -1), 22);
    else
        CHECK(props == NULL);
    if (type >= 0) c->events_by_type[type]++;
    c->events++;
}

static chain *read_chain(const char *dir)
{
    chain *c = calloc(1, sizeof *c);
    size_t len;
    char path[512];
    snprintf(path, sizeof path, "%s/brands.ndjson", dir);
    char *brands = slurp(path, &len);
    CHECK(brands && strcmp(brands, "{\"name\":\"鲜丰生活\"}\n") == 0);
    free(brands);
    each_line(dir, "stores", on_store, c);
    each_line(dir, "staff", on_staff, c);
    each_line(dir, "members", on_member, c);
    each_line(dir, "orders", on_order, c);
    each_line(dir, "events", on_event, c);
    return c;
}

static void free_chain(chain *c)
{
    for (long i = 0; i < MEMBERS; i++)
        free(c->phones[i]);
    for (long i = 0; i < c->n_unionids; i++)
        free(c->unionids[i]);
    for (long i = 0; i < c->n_keys; i++)
        free(c->order_keys[i]);
    for (long i = 0; i < c->n_refund_keys; i++)
        free(c->refund_keys[i]);
    free(c->order_keys);
    free(c->refund_keys);
    free(c);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* ---------------- the tests ---------------- */

static bool same_file(const char *a, const char *b, const char *name)
{
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/%s.ndjson", a, name);
    snprintf(pb, sizeof pb, "%s/%s.ndjson", b, name);
    size_t la = 0, lb = 0;
    char *x = slurp(pa, &la), *y = slurp(pb, &lb);
    bool same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static void test_determinism(void)
{
    char *a = make_dir(), *b = make_dir(), *c = make_dir();
    gen_summary sa, sb, sc;
    generate(a, 42, &sa);
    generate(b, 42, &sb);
    generate(c, 43, &sc);
    static const char *const names[] = {"brands", "stores", "staff", "members", "orders", "events"};
    for (int i = 0; i < 6; i++)
        if (!same_file(a, b, names[i]))
            CHECK_FAIL_("%s.ndjson differs between two runs with the same seed", names[i]);
    CHECK(memcmp(&sa, &sb, sizeof sa) == 0);
    CHECK(!same_file(a, c, "members"));
    CHECK(!same_file(a, c, "orders"));
    CHECK(!same_file(a, c, "events"));
    CHECK(same_file(a, c, "stores")); /* the organisation is fixed */
    remove_dir(a);
    remove_dir(b);
    remove_dir(c);
    free(a);
    free(b);
    free(c);
}

static void test_format(void)
{
    char *dir = make_dir();
    gen_summary s;
    generate(dir, 7, &s);
    chain *c = read_chain(dir);
    /* the summary counts what was written */
    CHECK_INT_EQ(s.brands, 1);
    CHECK_INT_EQ(c->stores, 23);
    CHECK_INT_EQ(s.stores, 23);
    CHECK_INT_EQ(c->staff, 120);
    CHECK_INT_EQ(s.staff, 120);
    CHECK_INT_EQ(c->members, MEMBERS);
    CHECK_INT_EQ(s.members, MEMBERS);
    CHECK_INT_EQ(c->orders, s.orders);
    CHECK_INT_EQ(c->member_orders, s.member_orders);
    CHECK_INT_EQ(c->refunds, s.refunds);
    CHECK_INT_EQ(c->events, s.events);
    CHECK_INT_EQ(c->items, s.items);
    /* identities are unique */
    CHECK_INT_EQ(duplicates(c->phones, MEMBERS), 0);
    CHECK_INT_EQ(duplicates(c->unionids, c->n_unionids), 0);
    CHECK_INT_EQ(duplicates(c->order_keys, c->n_keys), 0);
    CHECK_INT_EQ(duplicates(c->refund_keys, c->n_refund_keys), 0);
    /* some members lack a birthday or a unionid, most have them */
    CHECK(c->no_birthday > MEMBERS / 20 && c->no_birthday < MEMBERS / 4);
    CHECK(c->n_unionids > MEMBERS * 7 / 10 && c->n_unionids < MEMBERS * 95 / 100);
    /* every channel and every event type occurs */
    for (int i = 0; i < 5; i++)
        CHECK(c->channel_orders[i] > 0);
    for (int i = 0; i < 11; i++)
        if (c->events_by_type[i] == 0) CHECK_FAIL_("no %s events", event_types[i]);
    free_chain(c);
    remove_dir(dir);
    free(dir);
}

static void test_story(void)
{
    char *dir = make_dir();
    gen_summary s;
    generate(dir, 11, &s);
    chain *c = read_chain(dir);
    double orders = (double)c->orders;

    /* about 30% non-member orders, about 2% refunds, ~2.5 lines per order */
    double nonmember = 1 - c->member_orders / orders;
    fprintf(stderr, "non-member share %.3f, refunds %.4f, lines/order %.2f\n", nonmember,
            c->refunds / orders, s.items / orders);
    CHECK(nonmember > 0.25 && nonmember < 0.35);
    CHECK(c->refunds / orders > 0.01 && c->refunds / orders < 0.03);
    CHECK(s.items / orders > 2.2 && s.items / orders < 2.8);

    /* Double 11: 2025-11-11 and 2024-11-11 far above the median day */
    long sorted[NDAYS];
    memcpy(sorted, c->day_orders, sizeof sorted);
    qsort(sorted, NDAYS, sizeof *sorted, cmp_long);
    long median = sorted[NDAYS / 2];
    long d11 = c->day_orders[date_from_civil(2025, 11, 11) - (until_day - NDAYS)];
    long d11b = c->day_orders[date_from_civil(2024, 11, 11) - (until_day - NDAYS)];
    fprintf(stderr, "median day %ld orders, 2024-11-11 %ld, 2025-11-11 %ld\n", median, d11b, d11);
    CHECK(d11 > 2 * median);
    CHECK(d11b > 2 * median);

    /* weekends busier than weekdays (per day, over whole weeks) */
    double wk[2] = {0, 0};
    long nd[2] = {0, 0};
    for (int d = 0; d < NDAYS; d++) {
        int32_t day = until_day - NDAYS + d;
        int dow = (int)((day + 3) % 7); /* 0 = Monday */
        int weekend = dow >= 5;
        wk[weekend] += (double)c->day_orders[d];
        nd[weekend]++;
    }
    fprintf(stderr, "weekday avg %.1f, weekend avg %.1f\n", wk[0] / nd[0], wk[1] / nd[1]);
    CHECK(wk[1] / nd[1] > 1.15 * (wk[0] / nd[0]));

    /* growth: the last quarter busier than the first */
    long first_q = 0, last_q = 0;
    for (int d = 0; d < 90; d++) {
        first_q += c->day_orders[d];
        last_q += c->day_orders[NDAYS - 1 - d];
    }
    CHECK(last_q > 2 * first_q);

    /* Zipf: the top SKU sells far more than the median SKU; few SKUs make most sales */
    long skus[NSKU];
    int nsku = 0;
    long total_units = 0;
    for (int k = 1; k < NSKU; k++)
        if (c->sku_lines[k]) {
            skus[nsku++] = c->sku_lines[k];
            total_units += c->sku_lines[k];
        }
    qsort(skus, (size_t)nsku, sizeof *skus, cmp_long);
    long top = skus[nsku - 1], med = skus[nsku / 2], top20 = 0;
    for (int k = nsku - 1; k >= nsku - nsku / 5; k--)
        top20 += skus[k];
    fprintf(stderr, "skus sold %d, top %ld units, median %ld, top 20%% share %.2f\n", nsku, top,
            med, (double)top20 / total_units);
    CHECK(nsku > 250);
    CHECK(top > 30 * med);
    CHECK((double)top20 / total_units > 0.6);

    /* BG/NBD: heterogeneous buyers, many one-timers, dropouts that fall silent */
    long buyers = 0, one_timers = 0, early = 0, early_silent = 0, member_orders = 0;
    long counts[MEMBERS];
    for (int i = 0; i < MEMBERS; i++) {
        int k = c->member_orders_of[i];
        counts[i] = k;
        member_orders += k;
        buyers += k > 0;
        one_timers += k == 1;
        if (c->join_ts[i] < (int64_t)(until_day - NDAYS + 180) * 86400) {
            early++;
            early_silent += c->last_order_ts[i] < (int64_t)(until_day - 180) * 86400;
        }
    }
    qsort(counts, MEMBERS, sizeof *counts, cmp_long);
    long top_fifth = 0;
    for (int i = MEMBERS - MEMBERS / 5; i < MEMBERS; i++)
        top_fifth += counts[i];
    double per_member = (double)member_orders / MEMBERS;
    fprintf(stderr,
            "orders/member %.2f, buyers %.3f, one-timers among buyers %.3f, top fifth's share "
            "%.2f, early joiners silent for 180 days %.2f\n",
            per_member, (double)buyers / MEMBERS, (double)one_timers / buyers,
            (double)top_fifth / member_orders, (double)early_silent / early);
    CHECK(per_member > 7 && per_member < 14);
    CHECK((double)buyers / MEMBERS > 0.75);
    CHECK((double)one_timers / buyers > 0.1 && (double)one_timers / buyers < 0.5);
    CHECK((double)top_fifth / member_orders > 0.5);
    CHECK((double)early_silent / early > 0.3 && (double)early_silent / early < 0.9);

    /* reachability: most members are reachable online */
    long follow = 0, guide = 0, group = 0;
    for (int i = 0; i < MEMBERS; i++) {
        follow += c->reached_follow[i];
        guide += c->reached_guide[i];
        group += c->reached_group[i];
    }
    fprintf(stderr, "followed %.2f, guide contact %.2f, group %.2f\n", (double)follow / MEMBERS,
            (double)guide / MEMBERS, (double)group / MEMBERS);
    CHECK(follow > MEMBERS * 0.5 && follow < MEMBERS * 0.7);
    CHECK(guide > MEMBERS * 0.5 && guide < MEMBERS * 0.8);
    CHECK(group > MEMBERS * 0.3 && group < MEMBERS * 0.5);
    free_chain(c);
    remove_dir(dir);
    free(dir);
}

static void on_progress(void *ctx, const char *phase, double fraction)
{
    double *last = ctx;
    CHECK(phase != NULL);
    CHECK(fraction >= *last && fraction <= 1.0);
    *last = fraction;
}

static void test_errors(void)
{
    gen_options o;
    gen_options_init(&o);
    CHECK_INT_EQ(o.seed, 1);
    CHECK_INT_EQ(o.members, 100000);
    CHECK_INT_EQ(o.years, 2);
    CHECK(o.until_day > date_from_civil(2025, 1, 1));
    char err[256] = "";
    /* a directory that cannot be made: under a regular file */
    char *dir = make_dir();
    char file[512], sub[600];
    snprintf(file, sizeof file, "%s/plain", dir);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    snprintf(sub, sizeof sub, "%s/out", file);
    o.members = 10;
    CHECK_INT_EQ(gen_write_dir(&o, sub, err, sizeof err, NULL, NULL), -1);
    CHECK(strstr(err, "cannot create") != NULL);
    o.members = 0;
    CHECK_INT_EQ(gen_write_dir(&o, dir, err, sizeof err, NULL, NULL), -1);
    CHECK(strstr(err, "members") != NULL);
    /* a nested directory is created; the progress callback ends at 1 */
    o.members = 50;
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    double last = -1;
    CHECK_INT_EQ(gen_write_dir(&o, sub, err, sizeof err, on_progress, &last), 0);
    CHECK_NEAR(last, 1.0, 1e-9);
    remove_dir(sub);
    snprintf(sub, sizeof sub, "%s/a", dir);
    rmdir(sub);
    unlink(file);
    rmdir(dir);
    free(dir);
}

int main(int argc, char **argv)
{
    until_day = date_from_civil(2025, 11, 22);
    const char *mode = argc > 1 ? argv[1] : "all";
    bool all = strcmp(mode, "all") == 0;
    if (all || strcmp(mode, "determinism") == 0) test_determinism();
    if (all || strcmp(mode, "format") == 0) test_format();
    if (all || strcmp(mode, "story") == 0) test_story();
    if (all || strcmp(mode, "errors") == 0) test_errors();
    return CHECK_DONE();
}
