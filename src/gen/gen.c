/* gen.c — the demo chain, member by member.
 *
 * One pass over the members in join order writes each member's line, their orders, their
 * reachability events and the non-member orders that go with them, so memory stays
 * constant however many members are asked for. Everything random comes from one GSL
 * generator seeded from the options, drawn in a fixed order: the same options give the
 * same bytes. Unique identities (phones, unionids) come from keyed bijections of the
 * member's index rather than from a set of numbers already used.
 *
 * Times are handled as "local seconds": seconds since 1970-01-01 00:00 in UTC+8, which
 * makes the local day a division and the RFC 3339 text a table lookup. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "gen/gen.h"
#include "gen/gen_internal.h"

/* ================= the story's parameters (docs/demo-data.md explains them) ================= */

/* BG/NBD: purchase rate per day λ ~ Gamma(shape R, rate ALPHA); after each purchase the
 * member drops out for good with probability p ~ Beta(A, B). */
#define BG_R 0.9
#define BG_ALPHA 12.0
#define BG_A 0.8
#define BG_B 9.0
/* Non-member orders per member order: 3/7 makes them 30% of all orders. */
#define NONMEMBER_RATIO (3.0 / 7.0)
#define REFUND_P 0.02
#define ZIPF_S 1.1
/* Members join at a rate growing exponentially, GROWTH-fold from the first to the last day. */
#define GROWTH 3.0
#define N_GUIDES 100
#define STORE_OPEN_H 8 /* physical stores: 08:00–22:00 */
#define STORE_CLOSE_H 22
#define MAX_LINES 5

enum { CH_STORE, CH_MINIPROGRAM, CH_MALL, CH_LIVE, CH_POINTS_MALL, CH__COUNT };
static const char *const channel_names[CH__COUNT] = {"store", "miniprogram", "mall", "live",
                                                     "points_mall"};
/* external_id prefixes of the online channels (store orders use the store's code) */
static const char *const channel_prefix[CH__COUNT] = {"", "MP", "MALL", "LIVE", "PM"};

/* Relative traffic by weekday, Monday first. */
static const double weekday_factor[7] = {0.85, 0.85, 0.9, 0.9, 1.05, 1.3, 1.2};

/* Hour-of-day profiles. */
static const double hours_store[24] = {0,   0,   0,   0,   0,   0,   0,   0,   0.5, 0.7, 0.9, 1.1,
                                       1.0, 0.8, 0.7, 0.7, 0.9, 1.3, 1.5, 1.4, 1.1, 0.6, 0,   0};
static const double hours_online[24] = {0.4, 0.2, 0.1, 0.05, 0.05, 0.1, 0.2, 0.4,
                                        0.6, 0.7, 0.8, 0.9,  1.0,  0.9, 0.8, 0.8,
                                        0.8, 0.9, 1.0, 1.2,  1.5,  1.7, 1.4, 0.8};
static const double hours_live[24] = {0.3, 0.1, 0,   0,   0,   0,   0,   0,   0,   0,   0.2, 0.3,
                                      0.3, 0.2, 0.2, 0.2, 0.2, 0.2, 0.3, 1.0, 2.0, 2.2, 1.6, 0.8};

/* Lines per order: 1..5, mean 2.5. */
static const double lines_cdf[MAX_LINES] = {0.25, 0.55, 0.75, 0.90, 1.0};

/* Mainland mobile prefixes; 40 of them × 10^8 numbers fit the 32-bit permutation below. */
static const char *const phone_prefixes[] = {
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
    "150", "151", "152", "153", "155", "156", "157", "158", "159", "166",
    "173", "175", "176", "177", "178", "180", "181", "182", "183", "184",
    "185", "186", "187", "188", "189", "191", "193", "195", "198", "199"};
#define N_PHONE_PREFIXES ((uint32_t)(sizeof phone_prefixes / sizeof *phone_prefixes))
#define PHONE_SPACE (N_PHONE_PREFIXES * 100000000u)

enum {
    EV_FOLLOW,
    EV_UNFOLLOW,
    EV_ADD_GUIDE,
    EV_REMOVE_GUIDE,
    EV_JOIN_GROUP,
    EV_LEAVE_GROUP,
    EV_SMS_IN,
    EV_SMS_OUT,
    EV_MP_AUTH,
    EV_SHARE,
    EV_LIVE_VIEW,
    EV__COUNT
};
static const char *const event_names[EV__COUNT] = {"follow_public_account",
                                                   "unfollow_public_account",
                                                   "add_guide_contact",
                                                   "remove_guide_contact",
                                                   "join_group",
                                                   "leave_group",
                                                   "sms_opt_in",
                                                   "sms_opt_out",
                                                   "miniprogram_authorize",
                                                   "share",
                                                   "live_view"};

/* ================= the generator's state ================= */

typedef struct gen {
    const gen_options *o;
    gsl_rng *rng;
    uint64_t phone_keys[4], uid_key, uid_key2;

    int32_t first_day; /* first day of history */
    int ndays;
    int64_t end_ts; /* first local second after history */
    double *season; /* traffic factor per day */
    double *cum;    /* Σ season before each day (ndays + 1): the members' clock */
    double *jcum;   /* Σ join weight before each day (ndays + 1) */
    char (*daystr)[11];

    gsl_ran_discrete_t *sku, *store_pick, *surname, *nonmember_day;
    gsl_ran_discrete_t *hours[3]; /* store, online, live */
    gsl_ran_discrete_t *guide_pick[GEN_PHYSICAL_STORES];
    int guide_first[GEN_PHYSICAL_STORES], guide_count[GEN_PHYSICAL_STORES];

    long ext_store[GEN_PHYSICAL_STORES], ext_online[CH__COUNT], ext_refund;
    gw members, orders, events;
    gen_summary sum;
} gen;

/* One member as the walk needs them. */
typedef struct member {
    long index;       /* 0-based; card M(index+1) */
    int join_channel; /* CH_STORE, CH_MINIPROGRAM, CH_MALL, CH_LIVE */
    int home;         /* physical store id (1-based) they shop at */
    int store_id;     /* the store on their record */
    int guide_id;     /* 0 when none */
    int64_t join_ts;
    double online; /* share of their orders placed online */
} member;

typedef struct line {
    int product, qty;
} line;

/* ================= small helpers ================= */

static inline double unif(gen *g)
{
    return gsl_rng_uniform(g->rng);
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* A keyed permutation of 32-bit numbers (four Feistel rounds). */
static uint32_t feistel32(const uint64_t keys[4], uint32_t x)
{
    uint32_t l = x >> 16, r = x & 0xffff;
    for (int i = 0; i < 4; i++) {
        uint32_t f = (uint32_t)(mix64(r ^ keys[i]) & 0xffff);
        uint32_t t = l ^ f;
        l = r;
        r = t;
    }
    return l << 16 | r;
}

/* The member's phone: a permutation of [0, PHONE_SPACE) by cycle walking, so two members
 * never share a number and none needs to be remembered. */
static void member_phone(const gen *g, long index, char out[12])
{
    uint32_t x = (uint32_t)index;
    do
        x = feistel32(g->phone_keys, x);
    while (x >= PHONE_SPACE);
    memcpy(out, phone_prefixes[x / 100000000u], 3);
    uint32_t rest = x % 100000000u;
    for (int i = 10; i >= 3; i--) {
        out[i] = (char)('0' + rest % 10);
        rest /= 10;
    }
    out[11] = 0;
}

/* A 28-character WeChat-style unionid; its first 11 characters after the app prefix
 * encode a bijection of the index, so unionids are unique too. */
static void member_unionid(const gen *g, long index, char out[29])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    memcpy(out, "o6_bm", 5);
    uint64_t v = mix64((uint64_t)index ^ g->uid_key);
    for (int i = 0; i < 11; i++, v >>= 6)
        out[5 + i] = b64[v & 63];
    uint64_t r = mix64((uint64_t)index + g->uid_key2);
    for (int i = 0; i < 12; i++, r >>= 5)
        out[16 + i] = b64[r & 63];
    out[28] = 0;
}

static void put_card(gw *w, long index)
{
    GW_LIT(w, "\"M");
    gw_pad(w, (uint64_t)index + 1, 8);
    gw_char(w, '"');
}

/* "YYYY-MM-DDTHH:MM:SS+08:00" of a local second inside history. */
static void put_time(gen *g, gw *w, int64_t ts)
{
    int32_t day = (int32_t)(ts / 86400);
    int sod = (int)(ts % 86400);
    char *p = gw_room(w, 27);
    p[0] = '"';
    memcpy(p + 1, g->daystr[day - g->first_day], 10);
    p[11] = 'T';
    int h = sod / 3600, m = sod / 60 % 60, s = sod % 60;
    p[12] = (char)('0' + h / 10), p[13] = (char)('0' + h % 10), p[14] = ':';
    p[15] = (char)('0' + m / 10), p[16] = (char)('0' + m % 10), p[17] = ':';
    p[18] = (char)('0' + s / 10), p[19] = (char)('0' + s % 10);
    memcpy(p + 20, "+08:00\"", 7);
    w->len += 27;
}

static void put_date(gw *w, int32_t day)
{
    int y, m, d;
    gen_civil_from_days(day, &y, &m, &d);
    gw_char(w, '"');
    gw_pad(w, (uint64_t)y, 4);
    gw_char(w, '-');
    gw_pad(w, (uint64_t)m, 2);
    gw_char(w, '-');
    gw_pad(w, (uint64_t)d, 2);
    gw_char(w, '"');
}

/* A second of the day drawn from an hour profile. */
static int draw_sod(gen *g, int profile)
{
    int h = (int)gsl_ran_discrete(g->rng, g->hours[profile]);
    return h * 3600 + (int)(unif(g) * 3600);
}

static int hours_profile(int channel)
{
    return channel == CH_STORE ? 0 : channel == CH_LIVE ? 2 : 1;
}

/* Largest d with cum[d] <= x (0 <= d < ndays). */
static int day_at(const gen *g, double x)
{
    int lo = 0, hi = g->ndays - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (g->cum[mid] <= x)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static void put_name(gen *g, gw *w, bool female)
{
    char name[32];
    const char *sur = gen_surnames[gsl_ran_discrete(g->rng, g->surname)].name;
    size_t n = strlen(sur);
    memcpy(name, sur, n);
    int chars = unif(g) < 0.3 ? 1 : 2;
    for (int i = 0; i < chars; i++) {
        const char *c =
            female
                ? gen_given_female[gsl_rng_uniform_int(g->rng, (unsigned long)gen_n_given_female)]
                : gen_given_male[gsl_rng_uniform_int(g->rng, (unsigned long)gen_n_given_male)];
        size_t k = strlen(c);
        memcpy(name + n, c, k);
        n += k;
    }
    name[n] = 0;
    gw_str(w, name);
}

/* ================= setup ================= */

static int setup(gen *g, char *err, size_t errlen)
{
    const gen_options *o = g->o;
    /* GSL's Mersenne Twister takes 32 bits of seed; fold all 64 in. */
    g->rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!g->rng) goto oom;
    uint64_t s = mix64(o->seed ^ 0x5349595547454e31ULL); /* "SIYUGEN1" */
    gsl_rng_set(g->rng, (unsigned long)((s ^ (s >> 32)) & 0xffffffffUL) | 1UL);
    for (int i = 0; i < 4; i++)
        g->phone_keys[i] = mix64(o->seed * 4 + (uint64_t)i + 0x70686f6e65ULL);
    g->uid_key = mix64(o->seed + 0x756e696f6eULL);
    g->uid_key2 = mix64(o->seed + 0x756e696f6e32ULL);

    g->ndays = 365 * o->years;
    g->first_day = o->until_day - g->ndays;
    g->end_ts = (int64_t)o->until_day * 86400;
    g->season = malloc(sizeof *g->season * (size_t)g->ndays);
    g->cum = malloc(sizeof *g->cum * (size_t)(g->ndays + 1));
    g->jcum = malloc(sizeof *g->jcum * (size_t)(g->ndays + 1));
    g->daystr = malloc(sizeof *g->daystr * (size_t)g->ndays);
    double *w = malloc(sizeof *w * (size_t)(g->ndays > gen_n_products ? g->ndays : gen_n_products));
    if (!g->season || !g->cum || !g->jcum || !g->daystr || !w) goto oom;

    /* the calendar: weekday rhythm, Double 11, 618, Double 12, New Year */
    g->cum[0] = g->jcum[0] = 0;
    for (int i = 0; i < g->ndays; i++) {
        int32_t day = g->first_day + i;
        int y, m, d;
        gen_civil_from_days(day, &y, &m, &d);
        snprintf(g->daystr[i], sizeof g->daystr[i], "%04d-%02d-%02d", y, m, d);
        double f = weekday_factor[gen_weekday(day)];
        if (m == 11 && d == 11)
            f *= 3.5;
        else if (m == 11 && (d == 10 || d == 12))
            f *= 1.5;
        else if (m == 6 && d == 18)
            f *= 1.8;
        else if ((m == 12 && (d == 12 || d == 31)) || (m == 1 && d == 1))
            f *= 1.3;
        g->season[i] = f;
        g->cum[i + 1] = g->cum[i] + f;
        g->jcum[i + 1] = g->jcum[i] + f * pow(GROWTH, (double)i / g->ndays);
    }
    /* non-member traffic follows the calendar and the chain's growing footprint */
    for (int i = 0; i < g->ndays; i++)
        w[i] = g->season[i] * (0.25 + g->jcum[i + 1] / g->jcum[g->ndays]);
    g->nonmember_day = gsl_ran_discrete_preproc((size_t)g->ndays, w);

    /* Zipf popularity: ranks dealt by a weighted random permutation (fresh food and
     * snacks tend to rank high), weight 1 / rank^s */
    double *key = malloc(sizeof *key * (size_t)gen_n_products);
    int *order = malloc(sizeof *order * (size_t)gen_n_products);
    if (!key || !order) {
        free(key);
        free(order);
        goto oom;
    }
    for (int i = 0; i < gen_n_products; i++) {
        key[i] = pow(unif(g), 1.0 / gen_categories[gen_products[i].category].popularity);
        order[i] = i;
    }
    for (int i = 1; i < gen_n_products; i++) /* insertion sort by key, descending */
        for (int j = i; j > 0 && key[order[j]] > key[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int r = 0; r < gen_n_products; r++)
        w[order[r]] = 1.0 / pow(r + 1, ZIPF_S);
    free(key);
    free(order);
    g->sku = gsl_ran_discrete_preproc((size_t)gen_n_products, w);

    for (int i = 0; i < GEN_PHYSICAL_STORES; i++)
        w[i] = gen_stores[i].weight;
    g->store_pick = gsl_ran_discrete_preproc(GEN_PHYSICAL_STORES, w);
    for (int i = 0; i < gen_n_surnames; i++)
        w[i] = gen_surnames[i].weight;
    g->surname = gsl_ran_discrete_preproc((size_t)gen_n_surnames, w);
    g->hours[0] = gsl_ran_discrete_preproc(24, hours_store);
    g->hours[1] = gsl_ran_discrete_preproc(24, hours_online);
    g->hours[2] = gsl_ran_discrete_preproc(24, hours_live);
    free(w);
    if (!g->nonmember_day || !g->sku || !g->store_pick || !g->surname || !g->hours[0] ||
        !g->hours[1] || !g->hours[2])
        goto oom;

    /* guides: 3 per store, the other 40 by traffic (largest remainder); fixed, not random,
     * so docs/demo-data.md can print the id ranges */
    double total = 0;
    for (int i = 0; i < GEN_PHYSICAL_STORES; i++)
        total += gen_stores[i].weight;
    int given = 0;
    double rem[GEN_PHYSICAL_STORES];
    int spare = N_GUIDES - 3 * GEN_PHYSICAL_STORES;
    for (int i = 0; i < GEN_PHYSICAL_STORES; i++) {
        double q = spare * gen_stores[i].weight / total;
        g->guide_count[i] = 3 + (int)q;
        rem[i] = q - (int)q;
        given += g->guide_count[i];
    }
    while (given < N_GUIDES) {
        int best = 0;
        for (int i = 1; i < GEN_PHYSICAL_STORES; i++)
            if (rem[i] > rem[best]) best = i;
        g->guide_count[best]++;
        rem[best] = -1;
        given++;
    }
    int next = GEN_PHYSICAL_STORES + 1; /* staff ids: managers 1..20, then guides */
    for (int i = 0; i < GEN_PHYSICAL_STORES; i++) {
        g->guide_first[i] = next;
        next += g->guide_count[i];
        double gw_[N_GUIDES];
        for (int k = 0; k < g->guide_count[i]; k++)
            gw_[k] = gsl_ran_gamma(g->rng, 2.0, 1.0); /* some guides recruit more */
        g->guide_pick[i] = gsl_ran_discrete_preproc((size_t)g->guide_count[i], gw_);
        if (!g->guide_pick[i]) goto oom;
    }
    return 0;
oom:
    snprintf(err, errlen, "gen: out of memory");
    return -1;
}

static void teardown(gen *g)
{
    if (g->rng) gsl_rng_free(g->rng);
    free(g->season);
    free(g->cum);
    free(g->jcum);
    free(g->daystr);
    gsl_ran_discrete_t *d[] = {g->sku,      g->store_pick, g->surname, g->nonmember_day,
                               g->hours[0], g->hours[1],   g->hours[2]};
    for (size_t i = 0; i < sizeof d / sizeof *d; i++)
        if (d[i]) gsl_ran_discrete_free(d[i]);
    for (int i = 0; i < GEN_PHYSICAL_STORES; i++)
        if (g->guide_pick[i]) gsl_ran_discrete_free(g->guide_pick[i]);
}

/* ================= the organisation ================= */

static void write_org(gen *g, gw *brands, gw *stores, gw *staff)
{
    GW_LIT(brands, "{\"name\":\"鲜丰生活\"}\n");
    g->sum.brands = 1;
    for (int i = 0; i < GEN_STORES; i++) {
        const gen_store_def *s = &gen_stores[i];
        GW_LIT(stores, "{\"name\":");
        gw_str(stores, s->name);
        GW_LIT(stores, ",\"code\":");
        gw_str(stores, s->code);
        GW_LIT(stores, ",\"kind\":");
        gw_str(stores, s->kind);
        GW_LIT(stores, ",\"brand_id\":1");
        if (s->region) {
            GW_LIT(stores, ",\"region\":");
            gw_str(stores, s->region);
        }
        if (s->city) {
            GW_LIT(stores, ",\"city\":");
            gw_str(stores, s->city);
        }
        GW_LIT(stores, "}\n");
    }
    g->sum.stores = GEN_STORES;
    for (int i = 0; i < GEN_PHYSICAL_STORES; i++) {
        GW_LIT(staff, "{\"name\":");
        put_name(g, staff, unif(g) < 0.5);
        GW_LIT(staff, ",\"role\":\"store_manager\",\"store_id\":");
        gw_int(staff, i + 1);
        GW_LIT(staff, "}\n");
    }
    for (int i = 0; i < GEN_PHYSICAL_STORES; i++)
        for (int k = 0; k < g->guide_count[i]; k++) {
            GW_LIT(staff, "{\"name\":");
            put_name(g, staff, unif(g) < 0.8);
            GW_LIT(staff, ",\"role\":\"guide\",\"store_id\":");
            gw_int(staff, i + 1);
            GW_LIT(staff, "}\n");
        }
    g->sum.staff = GEN_PHYSICAL_STORES + N_GUIDES;
}

/* ================= orders ================= */

/* Writes one order. m is NULL for a non-member order. */
static void write_order(gen *g, int channel, int store_id, int64_t ts, const member *m,
                        int guide_id)
{
    gw *w = &g->orders;
    line lines[MAX_LINES];
    double u = unif(g);
    int n = 0;
    while (n < MAX_LINES - 1 && u > lines_cdf[n])
        n++;
    n++;
    int64_t subtotal = 0;
    for (int i = 0; i < n; i++) {
        int p = 0, dup = 1;
        for (int tries = 0; tries < 20 && dup; tries++) { /* distinct products per order */
            p = (int)gsl_ran_discrete(g->rng, g->sku);
            dup = 0;
            for (int k = 0; k < i; k++)
                dup |= lines[k].product == p;
        }
        if (dup) { /* only the bestsellers left to draw: a shorter order */
            n = i;
            break;
        }
        int qmax = gen_categories[gen_products[p].category].qty_max;
        int q = 1;
        if (qmax > 1 && unif(g) >= 0.65)
            q = 2 + (int)gsl_rng_uniform_int(g->rng, (unsigned long)(qmax - 1));
        lines[i].product = p;
        lines[i].qty = q;
        subtotal += (int64_t)q * gen_products[p].price_cents;
    }
    int64_t discount = 0;
    if (channel == CH_POINTS_MALL) {
        discount = (int64_t)(subtotal * (0.5 + 0.5 * unif(g))) / 100 * 100; /* points pay */
    } else if (unif(g) < (m ? 0.2 : 0.08)) {
        discount = subtotal >= 20000   ? 2000
                   : subtotal >= 10000 ? 1000
                   : subtotal >= 5000  ? 500
                   : subtotal >= 2000  ? 300
                                       : subtotal * 5 / 100;
    }
    int64_t total = subtotal - discount;

    GW_LIT(w, "{\"channel\":\"");
    gw_raw(w, channel_names[channel], strlen(channel_names[channel]));
    GW_LIT(w, "\",\"external_id\":\"");
    if (channel == CH_STORE) {
        gw_raw(w, gen_stores[store_id - 1].code, 4);
        gw_char(w, '-');
        gw_pad(w, (uint64_t)++g->ext_store[store_id - 1], 9);
    } else {
        gw_raw(w, channel_prefix[channel], strlen(channel_prefix[channel]));
        gw_pad(w, (uint64_t)++g->ext_online[channel], 9);
    }
    GW_LIT(w, "\",\"store_id\":");
    gw_int(w, store_id);
    GW_LIT(w, ",\"placed_at\":");
    put_time(g, w, ts);
    GW_LIT(w, ",\"total_cents\":");
    gw_int(w, total);
    GW_LIT(w, ",\"discount_cents\":");
    gw_int(w, discount);
    if (m) {
        GW_LIT(w, ",\"member\":{\"card_no\":");
        put_card(w, m->index);
        gw_char(w, '}');
        g->sum.member_orders++;
        if (guide_id) {
            GW_LIT(w, ",\"guide_id\":");
            gw_int(w, guide_id);
        }
    }
    GW_LIT(w, ",\"items\":[");
    for (int i = 0; i < n; i++) {
        const gen_product_def *p = &gen_products[lines[i].product];
        if (i) gw_char(w, ',');
        GW_LIT(w, "{\"sku\":\"SKU");
        gw_pad(w, (uint64_t)lines[i].product + 1, 4);
        GW_LIT(w, "\",\"category\":");
        gw_str(w, gen_categories[p->category].name);
        GW_LIT(w, ",\"name\":");
        gw_str(w, p->name);
        GW_LIT(w, ",\"qty\":");
        gw_int(w, lines[i].qty);
        GW_LIT(w, ",\"unit_price_cents\":");
        gw_int(w, p->price_cents);
        gw_char(w, '}');
    }
    gw_char(w, ']');
    g->sum.items += n;

    /* refunds: a returned line or the whole order, some time after, inside history */
    if (total > 0 && unif(g) < REFUND_P) {
        int64_t amount = total;
        if (unif(g) >= 0.45) {
            const line *l = &lines[gsl_rng_uniform_int(g->rng, (unsigned long)n)];
            amount = gen_products[l->product].price_cents;
            if (amount > total) amount = total;
        }
        int64_t at = ts + 600 + (int64_t)gsl_ran_exponential(g->rng, 2 * 86400.0);
        if (at >= g->end_ts && g->end_ts - ts > 1200)
            at = ts + 600 + (int64_t)(unif(g) * (double)(g->end_ts - ts - 1200));
        if (at < g->end_ts) {
            GW_LIT(w, ",\"refunds\":[{\"external_id\":\"R");
            gw_pad(w, (uint64_t)++g->ext_refund, 9);
            GW_LIT(w, "\",\"amount_cents\":");
            gw_int(w, amount);
            GW_LIT(w, ",\"at\":");
            put_time(g, w, at);
            GW_LIT(w, "}]");
            g->sum.refunds++;
        }
    }
    GW_LIT(w, "}\n");
    g->sum.orders++;
}

static int channel_store(int channel, int home)
{
    switch (channel) {
    case CH_STORE:
        return home;
    case CH_LIVE:
        return GEN_STORE_LIVE;
    case CH_POINTS_MALL:
        return GEN_STORE_POINTS;
    default:
        return GEN_STORE_MALL;
    }
}

static void write_nonmember_order(gen *g)
{
    int day = (int)gsl_ran_discrete(g->rng, g->nonmember_day);
    double u = unif(g);
    int channel = u < 0.88 ? CH_STORE : u < 0.94 ? CH_MALL : u < 0.97 ? CH_MINIPROGRAM : CH_LIVE;
    int store = channel_store(channel, 1 + (int)gsl_ran_discrete(g->rng, g->store_pick));
    int64_t ts = (int64_t)(g->first_day + day) * 86400 + draw_sod(g, hours_profile(channel));
    write_order(g, channel, store, ts, NULL, 0);
}

/* ================= events ================= */

static void write_event(gen *g, int type, const member *m, int64_t ts)
{
    gw *w = &g->events;
    GW_LIT(w, "{\"type\":\"");
    gw_raw(w, event_names[type], strlen(event_names[type]));
    GW_LIT(w, "\",\"member\":{\"card_no\":");
    put_card(w, m->index);
    GW_LIT(w, "},\"at\":");
    put_time(g, w, ts);
    if (type == EV_LIVE_VIEW) GW_LIT(w, ",\"props\":{\"store_id\":22}");
    GW_LIT(w, "}\n");
    g->sum.events++;
}

/* A moment after base: within half an hour with probability soon, else an exponential
 * wait of mean_days. -1 when it falls after history. */
static int64_t later(gen *g, int64_t base, double soon, double mean_days)
{
    int64_t t = unif(g) < soon
                    ? base + 30 + (int64_t)(unif(g) * 1800)
                    : base + 60 + (int64_t)gsl_ran_exponential(g->rng, mean_days * 86400);
    return t < g->end_ts ? t : -1;
}

/* An event that may be undone later: e.g. follow, and some time after, unfollow. */
static void event_pair(gen *g, const member *m, int on, int off, double p_on, double soon,
                       double mean_days, double p_off, double mean_off_days)
{
    if (unif(g) >= p_on) return;
    int64_t t = later(g, m->join_ts, soon, mean_days);
    if (t < 0) return;
    write_event(g, on, m, t);
    if (off >= 0 && unif(g) < p_off) {
        int64_t t2 = later(g, t, 0, mean_off_days);
        if (t2 >= 0) write_event(g, off, m, t2);
    }
}

static void member_events(gen *g, const member *m, int64_t last_ts)
{
    bool physical = m->store_id <= GEN_PHYSICAL_STORES;
    bool at_till = m->join_channel == CH_STORE;
    event_pair(g, m, EV_FOLLOW, EV_UNFOLLOW, 0.62, at_till ? 0.7 : 0.3, 20, 0.12, 120);
    if (m->guide_id)
        event_pair(g, m, EV_ADD_GUIDE, EV_REMOVE_GUIDE, 0.9, at_till ? 0.8 : 0.2, 10, 0.06, 150);
    if (physical) event_pair(g, m, EV_JOIN_GROUP, EV_LEAVE_GROUP, 0.48, 0.4, 15, 0.15, 90);
    event_pair(g, m, EV_SMS_IN, EV_SMS_OUT, 0.55, 1.0, 0, 0.10, 200);
    event_pair(g, m, EV_MP_AUTH, -1, m->join_channel == CH_MINIPROGRAM ? 1.0 : 0.35,
               m->join_channel == CH_MINIPROGRAM ? 1.0 : 0.1, 30, 0, 0);
    /* shares and stray live views while the member is around */
    int64_t until = last_ts + 90 * 86400;
    if (until > g->end_ts) until = g->end_ts;
    unsigned shares = gsl_ran_poisson(g->rng, 0.6);
    for (unsigned i = 0; i < shares && until > m->join_ts + 60; i++)
        write_event(g, EV_SHARE, m,
                    m->join_ts + 60 + (int64_t)(unif(g) * (double)(until - m->join_ts - 60)));
    if (unif(g) < 0.25) {
        unsigned views = 1 + gsl_ran_poisson(g->rng, 1.5);
        int first = (int)(m->join_ts / 86400) + 1 - g->first_day;
        for (unsigned i = 0; i < views && first < g->ndays; i++) {
            int day = first + (int)gsl_rng_uniform_int(g->rng, (unsigned long)(g->ndays - first));
            write_event(g, EV_LIVE_VIEW, m, (int64_t)(g->first_day + day) * 86400 + draw_sod(g, 2));
        }
    }
}

/* ================= members ================= */

static int64_t join_time(gen *g, long index, int channel, int *jd_walk)
{
    /* stratified: member i joins at quantile (i + U) / N of the growing join curve, so card
     * numbers follow join order without sorting */
    double u = ((double)index + unif(g)) / (double)g->o->members * g->jcum[g->ndays];
    int d = *jd_walk;
    while (d < g->ndays - 1 && g->jcum[d + 1] <= u)
        d++;
    *jd_walk = d;
    return (int64_t)(g->first_day + d) * 86400 + draw_sod(g, hours_profile(channel));
}

static void write_member(gen *g, const member *m, bool female)
{
    gw *w = &g->members;
    char phone[12], uid[29];
    member_phone(g, m->index, phone);
    GW_LIT(w, "{\"card_no\":");
    put_card(w, m->index);
    GW_LIT(w, ",\"phone\":\"");
    gw_raw(w, phone, 11);
    gw_char(w, '"');
    if (m->join_channel == CH_MINIPROGRAM || unif(g) < 0.82) {
        member_unionid(g, m->index, uid);
        GW_LIT(w, ",\"unionid\":\"");
        gw_raw(w, uid, 28);
        gw_char(w, '"');
    }
    GW_LIT(w, ",\"name\":");
    put_name(g, w, female);
    if (female)
        GW_LIT(w, ",\"gender\":\"female\"");
    else
        GW_LIT(w, ",\"gender\":\"male\"");
    if (unif(g) < 0.88) {
        double age = 36 + 11 * gsl_ran_gaussian_ziggurat(g->rng, 1.0);
        age = age < 16 ? 16 + unif(g) * 4 : age > 78 ? 78 : age;
        GW_LIT(w, ",\"birthday\":");
        put_date(w, (int32_t)(m->join_ts / 86400 - (int64_t)(age * 365.25)));
    }
    GW_LIT(w, ",\"city\":");
    gw_str(w,
           unif(g) < 0.92
               ? gen_stores[m->home - 1].city
               : gen_other_cities[gsl_rng_uniform_int(g->rng, (unsigned long)gen_n_other_cities)]);
    GW_LIT(w, ",\"store_id\":");
    gw_int(w, m->store_id);
    if (m->guide_id) {
        GW_LIT(w, ",\"guide_id\":");
        gw_int(w, m->guide_id);
    }
    GW_LIT(w, ",\"channel\":\"");
    gw_raw(w, channel_names[m->join_channel], strlen(channel_names[m->join_channel]));
    GW_LIT(w, "\",\"joined_at\":");
    put_time(g, w, m->join_ts);
    /* marketing consents, given at joining: without one a member is never messaged on a
     * channel (docs/privacy.md). Four in five members agree to WeChat messages (and to
     * their guide's WeCom ones); drawn from the index, not the random stream, so the
     * rest of the chain is the same with or without them. */
    if ((uint64_t)m->index * 2654435761u % 100u < 80u) {
        GW_LIT(w, ",\"consents\":[{\"purpose\":\"marketing\",\"channel\":\"wechat_template\","
                  "\"granted\":true,\"text_version\":\"demo-1\"},{\"purpose\":\"marketing\","
                  "\"channel\":\"public_account\",\"granted\":true,\"text_version\":\"demo-1\"}");
        if (m->guide_id)
            GW_LIT(w, ",{\"purpose\":\"marketing\",\"channel\":\"wecom\",\"granted\":true,"
                      "\"text_version\":\"demo-1\"}");
        gw_char(w, ']');
    }
    GW_LIT(w, "}\n");
    g->sum.members++;
}

static int pick_online_channel(gen *g, int join_channel)
{
    double u = unif(g);
    if (join_channel == CH_LIVE)
        return u < 0.5 ? CH_LIVE : u < 0.8 ? CH_MINIPROGRAM : u < 0.95 ? CH_MALL : CH_POINTS_MALL;
    return u < 0.5 ? CH_MINIPROGRAM : u < 0.78 ? CH_MALL : u < 0.93 ? CH_LIVE : CH_POINTS_MALL;
}

/* One member: their record, their purchases by the BG/NBD story, their events, and the
 * non-member orders that keep the member ratio near 70%. */
static void member_walk(gen *g, long index, int *jd_walk)
{
    member m = {.index = index};
    double u = unif(g);
    m.join_channel = u < 0.70 ? CH_STORE : u < 0.88 ? CH_MINIPROGRAM : u < 0.93 ? CH_MALL : CH_LIVE;
    m.home = 1 + (int)gsl_ran_discrete(g->rng, g->store_pick);
    bool physical = m.join_channel == CH_STORE || unif(g) < 0.5;
    m.store_id = physical ? m.home : channel_store(m.join_channel, m.home);
    if (physical && unif(g) < (m.join_channel == CH_STORE ? 0.93 : 0.7))
        m.guide_id =
            g->guide_first[m.home - 1] + (int)gsl_ran_discrete(g->rng, g->guide_pick[m.home - 1]);
    m.join_ts = join_time(g, index, m.join_channel, jd_walk);
    bool female = unif(g) < 0.58;
    write_member(g, &m, female);

    /* the BG/NBD story */
    double lambda = gsl_ran_gamma(g->rng, BG_R, 1.0 / BG_ALPHA);
    double p = gsl_ran_beta(g->rng, BG_A, BG_B);
    m.online = gsl_ran_beta(g->rng, 0.8, 2.4);
    if (m.join_channel != CH_STORE) m.online = 0.5 + 0.5 * m.online;

    int jday = (int)(m.join_ts / 86400 - g->first_day);
    double clock = g->cum[jday] + g->season[jday] * (double)(m.join_ts % 86400) / 86400.0;
    int64_t last = m.join_ts;
    long orders = 0;
    bool alive = true;
    if (m.join_channel == CH_STORE) { /* 支付即会员: joined at the till, paying */
        write_order(g, CH_STORE, m.home, m.join_ts, &m,
                    m.guide_id && unif(g) < 0.9 ? m.guide_id : 0);
        orders++;
        alive = unif(g) >= p;
    }
    while (alive) {
        clock += gsl_ran_exponential(g->rng, 1.0) / lambda;
        if (clock >= g->cum[g->ndays]) break;
        int day = day_at(g, clock);
        int32_t date = g->first_day + day;
        double online = m.online;
        if (g->daystr[day][5] == '1' && g->daystr[day][6] == '1' && g->daystr[day][8] == '1' &&
            g->daystr[day][9] == '1')
            online = online * 2 > 0.9 ? 0.9 : online * 2; /* Double 11 is an online festival */
        int channel = unif(g) < online ? pick_online_channel(g, m.join_channel) : CH_STORE;
        int store = CH_STORE == channel && unif(g) < 0.12
                        ? 1 + (int)gsl_ran_discrete(g->rng, g->store_pick) /* shopping elsewhere */
                        : channel_store(channel, m.home);
        int64_t ts = (int64_t)date * 86400 + draw_sod(g, hours_profile(channel));
        if (ts <= last) { /* same day as the last purchase: come back a little later */
            ts = last + 600 + (int64_t)(unif(g) * 3600);
            int sod = (int)(ts % 86400);
            if (ts / 86400 != date || ts >= g->end_ts ||
                (channel == CH_STORE && sod >= STORE_CLOSE_H * 3600))
                continue;
        }
        int guide =
            channel == CH_STORE && store == m.home && m.guide_id && unif(g) < 0.9 ? m.guide_id : 0;
        if (channel == CH_LIVE) { /* watched the stream, then bought */
            int64_t lead = 300 + (int64_t)(unif(g) * 3300);
            if (ts - lead > m.join_ts) write_event(g, EV_LIVE_VIEW, &m, ts - lead);
        }
        write_order(g, channel, store, ts, &m, guide);
        last = ts;
        orders++;
        alive = unif(g) >= p;
    }
    member_events(g, &m, last);
    for (long i = 0; i < orders; i++)
        if (unif(g) < NONMEMBER_RATIO) write_nonmember_order(g);
}

/* ================= files ================= */

static int mkdir_p(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] == '/' || path[i] == 0) {
            char c = path[i];
            path[i] = 0;
            if (mkdir(path, 0777) != 0 && errno != EEXIST) return -1;
            path[i] = c;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

void gen_options_init(gen_options *o)
{
    o->seed = 1;
    o->members = 100000;
    o->until_day = (int32_t)((time(NULL) + 8 * 3600) / 86400);
    o->years = 2;
}

int gen_write_dir(const gen_options *o, const char *dir, char *err, size_t errlen,
                  gen_progress_fn progress, void *ctx)
{
    return gen_write_dir_summary(o, dir, NULL, err, errlen, progress, ctx);
}

int gen_write_dir_summary(const gen_options *o, const char *dir, gen_summary *summary, char *err,
                          size_t errlen, gen_progress_fn progress, void *ctx)
{
    static const char *const names[6] = {"brands",  "stores", "staff",
                                         "members", "orders", "events"};
    if (summary) memset(summary, 0, sizeof *summary);
    if (o->members < 1 || o->members > 100000000) {
        snprintf(err, errlen, "gen: members must be 1 to 100000000");
        return -1;
    }
    if (o->years < 1 || o->years > 50) {
        snprintf(err, errlen, "gen: years must be 1 to 50");
        return -1;
    }
    if (mkdir_p(dir) != 0) {
        snprintf(err, errlen, "gen: cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    gen *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "gen: out of memory");
        return -1;
    }
    g->o = o;
    gw brands = {0}, stores = {0}, staff = {0};
    gw *files[6] = {&brands, &stores, &staff, &g->members, &g->orders, &g->events};
    int rc = -1;
    if (setup(g, err, errlen)) goto done;
    for (int i = 0; i < 6; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.ndjson", dir, names[i]);
        if (gw_open(files[i], path)) {
            snprintf(err, errlen, "gen: cannot write %s: %s", path, strerror(errno));
            goto done;
        }
    }
    if (progress) progress(ctx, "members", 0);
    write_org(g, &brands, &stores, &staff);
    long step = o->members / 200 > 0 ? o->members / 200 : 1;
    int jd_walk = 0;
    for (long i = 0; i < o->members; i++) {
        member_walk(g, i, &jd_walk);
        if (progress && (i + 1) % step == 0)
            progress(ctx, "members", (double)(i + 1) / (double)o->members);
    }
    rc = 0;
done:
    for (int i = 0; i < 6; i++)
        if (gw_close(files[i]) && rc == 0) {
            snprintf(err, errlen, "gen: cannot write %s/%s.ndjson: %s", dir, names[i],
                     strerror(errno));
            rc = -1;
        }
    if (rc == 0 && progress) progress(ctx, "members", 1);
    if (rc == 0 && summary) *summary = g->sum;
    teardown(g);
    free(g);
    return rc;
}
