/* gen.h — the demo chain: a realistic retail chain written as NDJSON files.
 *
 * `siyu gen` writes these files for benchmarks and `siyu demo` imports them. The data
 * tells a story later analytics can find: members join with growth, buy by the BG/NBD
 * story (a gamma-distributed purchase rate, a beta-distributed dropout chance after each
 * purchase), products sell by a Zipf law, weekends and Double 11 are busy, about 30% of
 * orders are non-member and about 2% are refunded. docs/demo-data.md has the numbers.
 *
 * Output is a pure function of the options: the same options give byte-identical files.
 * Memory does not grow with the number of members or orders (20 million members work). */
#ifndef SIYU_GEN_GEN_H
#define SIYU_GEN_GEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct gen_options {
    uint64_t seed; /* default 1 */
    long members;  /* default 100000 */
    /* The day after the last day of history, as days since 1970-01-01 (UTC+8 local date).
     * The caller passes today: history then ends at yesterday 24:00, so that no order or
     * event lies in the importer's future. Default: the current local day. */
    int32_t until_day;
    int years; /* history length in years of 365 days, default 2 */
} gen_options;

/* What one run wrote. */
typedef struct gen_summary {
    long brands, stores, staff, members;
    long orders;        /* all orders (member and non-member) */
    long member_orders; /* orders that name a member */
    long refunds;       /* orders carrying a refund */
    long events;
    long items; /* order lines */
} gen_summary;

typedef void (*gen_progress_fn)(void *ctx, const char *phase, double fraction);

void gen_options_init(gen_options *o);

/* Writes brands.ndjson, stores.ndjson, staff.ndjson, members.ndjson, orders.ndjson and
 * events.ndjson into dir (created if missing, files replaced). Returns 0, or -1 with a
 * message in err. progress may be NULL; it is called with a phase name and the fraction
 * done, at most a few hundred times a run. */
int gen_write_dir(const gen_options *o, const char *dir, char *err, size_t errlen,
                  gen_progress_fn progress, void *ctx);

/* The same, also filling *summary (which may be NULL). */
int gen_write_dir_summary(const gen_options *o, const char *dir, gen_summary *summary, char *err,
                          size_t errlen, gen_progress_fn progress, void *ctx);

#endif
