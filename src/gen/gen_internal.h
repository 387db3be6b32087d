/* gen_internal.h — the generator's private parts: the buffered NDJSON writer and the
 * fixed catalogue (stores, names, products). Not for use outside src/gen. */
#ifndef SIYU_GEN_INTERNAL_H
#define SIYU_GEN_INTERNAL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---------------- buffered writer ----------------
 *
 * Hand-rolled formatting because the orders file runs to hundreds of megabytes:
 * printf's format parsing and a JSON object per line would dominate the run. Every
 * put reserves room first; a failed write is remembered and reported at close. */

#define GW_CAP (1u << 20)
#define GW_MAX_PUT 4096 /* the most one put may write; longer raw strings go in pieces */

typedef struct gw {
    FILE *f;
    char *buf;
    size_t len;
    int failed; /* a write failed: errno-style value, 0 when fine */
} gw;

int gw_open(gw *w, const char *path); /* 0 or -1 (errno set) */
void gw_flush(gw *w);
int gw_close(gw *w); /* flushes and closes; 0, or -1 if anything failed */

static inline char *gw_room(gw *w, size_t n)
{
    if (w->len + n > GW_CAP) gw_flush(w);
    return w->buf + w->len;
}

static inline void gw_raw(gw *w, const char *s, size_t n)
{
    while (n > GW_MAX_PUT) {
        gw_raw(w, s, GW_MAX_PUT);
        s += GW_MAX_PUT;
        n -= GW_MAX_PUT;
    }
    memcpy(gw_room(w, n), s, n);
    w->len += n;
}

#define GW_LIT(w, lit) gw_raw((w), (lit), sizeof(lit) - 1)

static inline void gw_char(gw *w, char c)
{
    *gw_room(w, 1) = c;
    w->len++;
}

/* A non-negative or negative integer in decimal. */
static inline void gw_int(gw *w, int64_t v)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) tmp[n++] = '-';
    char *p = gw_room(w, (size_t)n);
    for (int i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    w->len += (size_t)n;
}

/* v in at least width digits, zero padded (a v too large for width is written whole). */
static inline void gw_pad(gw *w, uint64_t v, int width)
{
    uint64_t limit = 1;
    for (int i = 0; i < width && limit <= UINT64_MAX / 10; i++)
        limit *= 10;
    if (v >= limit) {
        gw_int(w, (int64_t)v);
        return;
    }
    char *p = gw_room(w, (size_t)width);
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    w->len += (size_t)width;
}

/* A JSON string, quoted and escaped (UTF-8 passes through unchanged). */
void gw_str(gw *w, const char *s);

/* ---------------- calendar ---------------- */

/* Days since 1970-01-01 <-> proleptic Gregorian (Hinnant's algorithms). */
int32_t gen_days_from_civil(int y, int m, int d);
void gen_civil_from_days(int32_t z, int *y, int *m, int *d);
/* 0 = Monday ... 6 = Sunday */
static inline int gen_weekday(int32_t day)
{
    int w = (int)((day + 3) % 7); /* 1970-01-01 was a Thursday */
    return w < 0 ? w + 7 : w;
}

/* ---------------- catalogue ---------------- */

typedef struct gen_store_def {
    const char *name, *code, *kind, *region, *city;
    double weight; /* relative traffic of a physical store */
} gen_store_def;

#define GEN_PHYSICAL_STORES 20
#define GEN_STORES 23
#define GEN_STORE_MALL 21 /* store ids of the virtual stores */
#define GEN_STORE_LIVE 22
#define GEN_STORE_POINTS 23
extern const gen_store_def gen_stores[GEN_STORES];

typedef struct gen_category_def {
    const char *name;
    double popularity; /* bias when Zipf ranks are dealt to products */
    int qty_max;       /* most units of one product on one line */
} gen_category_def;

typedef struct gen_product_def {
    int category; /* index into gen_categories */
    const char *name;
    int32_t price_cents;
} gen_product_def;

extern const gen_category_def gen_categories[];
extern const int gen_n_categories;
extern const gen_product_def gen_products[];
extern const int gen_n_products;

typedef struct gen_weighted_name {
    const char *name;
    double weight; /* share of the population, in percent */
} gen_weighted_name;

extern const gen_weighted_name gen_surnames[];
extern const int gen_n_surnames;
extern const char *const gen_given_male[];
extern const int gen_n_given_male;
extern const char *const gen_given_female[];
extern const int gen_n_given_female;
/* Cities a member may live in besides their store's. */
extern const char *const gen_other_cities[];
extern const int gen_n_other_cities;

#endif
