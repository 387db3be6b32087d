/* orders2csv.c — the demo orders as the CSV rows the sqlite3 shell imports.
 *
 *   bench_orders2csv MEMBERS.ndjson ORDERS.ndjson OUTDIR
 *
 * Writes OUTDIR/orders.csv, order_items.csv and refunds.csv with a header row and the
 * columns of the orders, order_items and refunds tables (src/store/sqlite_schema.c), so
 * `.import --skip 1` loads the same rows `siyu import orders` writes. Member ids are
 * resolved from card_no by the position of the member in MEMBERS.ndjson (the ids a
 * fresh `siyu import members` assigns); the guide is the order's, else the member's
 * bound guide, as siyu attributes it. Digests are a placeholder: 16 hex digits of an
 * FNV-1a hash of the input line, so the column is filled and unique-ish. This is
 * benchmark plumbing, not a product path: input errors abort. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"

typedef struct slot {
    char *card;
    int64_t id, guide;
} slot;

static slot *tab;
static size_t tab_cap;

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static slot *find(const char *card, int insert)
{
    size_t i = fnv(card, strlen(card)) & (tab_cap - 1);
    while (tab[i].card && strcmp(tab[i].card, card) != 0)
        i = (i + 1) & (tab_cap - 1);
    if (!tab[i].card && insert) tab[i].card = strdup(card);
    return tab[i].card ? &tab[i] : NULL;
}

static void die(const char *what, long line)
{
    fprintf(stderr, "orders2csv: %s (line %ld)\n", what, line);
    exit(1);
}

/* A CSV text cell: always quoted, quotes doubled. NULL writes an empty cell. */
static void cell(FILE *f, const char *s)
{
    if (!s) return;
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int64_t num(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static int64_t when(json_t *o, const char *k, long line)
{
    int64_t t;
    const char *s = str(o, k);
    if (!s || time_parse_rfc3339(s, &t)) die("bad time", line);
    return t;
}

static FILE *open_out(const char *dir, const char *name, const char *header)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) die(path, 0);
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    fputs(header, f);
    return f;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s MEMBERS.ndjson ORDERS.ndjson OUTDIR\n", argv[0]);
        return 2;
    }
    FILE *mf = fopen(argv[1], "r"), *of = fopen(argv[2], "r");
    if (!mf || !of) die("cannot open input", 0);
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    long line = 0, members = 0;
    /* count first so the table never resizes */
    while (getline(&buf, &cap, mf) > 0)
        members++;
    rewind(mf);
    for (tab_cap = 1024; tab_cap < (size_t)members * 2; tab_cap *= 2)
        ;
    tab = calloc(tab_cap, sizeof *tab);
    int64_t id = 0;
    json_error_t je;
    while ((n = getline(&buf, &cap, mf)) > 0) {
        line++;
        json_t *m = json_loadb(buf, (size_t)n, 0, &je);
        if (!m) die("bad member JSON", line);
        const char *card = str(m, "card_no");
        if (!card) die("member without card_no", line);
        slot *s = find(card, 1);
        s->id = ++id;
        s->guide = num(m, "guide_id");
        json_decref(m);
    }
    fclose(mf);

    FILE *fo =
        open_out(argv[3], "orders.csv",
                 "id,channel,external_id,store_id,member_id,guide_id,placed_at,total_cents,"
                 "discount_cents,points_used,coupon_code,refunded_cents,item_count,digest\n");
    FILE *fi = open_out(argv[3], "order_items.csv",
                        "order_id,line,sku,category,name,qty,unit_price_cents,refunded_qty\n");
    FILE *fr = open_out(argv[3], "refunds.csv",
                        "id,order_id,external_id,amount_cents,refunded_at,items,digest\n");
    int64_t oid = 0, rid = 0, items_n = 0;
    line = 0;
    while ((n = getline(&buf, &cap, of)) > 0) {
        line++;
        json_t *o = json_loadb(buf, (size_t)n, 0, &je);
        if (!o) die("bad order JSON", line);
        oid++;
        int64_t member = 0, guide = num(o, "guide_id");
        json_t *mo = json_object_get(o, "member");
        if (mo) {
            slot *s = find(str(mo, "card_no") ? str(mo, "card_no") : "", 0);
            if (!s) die("order of an unknown card_no", line);
            member = s->id;
            if (!guide) guide = s->guide;
        }
        int64_t refunded = 0;
        json_t *refunds = json_object_get(o, "refunds");
        size_t i;
        json_t *r;
        json_array_foreach(refunds, i, r)
        {
            int64_t amount = num(r, "amount_cents");
            refunded += amount;
            fprintf(fr, "%lld,%lld,", (long long)++rid, (long long)oid);
            cell(fr, str(r, "external_id"));
            fprintf(fr, ",%lld,%lld,,%016llx\n", (long long)amount, (long long)when(r, "at", line),
                    (unsigned long long)(fnv(buf, (size_t)n) ^ (uint64_t)rid));
        }
        json_t *items = json_object_get(o, "items");
        fprintf(fo, "%lld,", (long long)oid);
        cell(fo, str(o, "channel"));
        fputc(',', fo);
        cell(fo, str(o, "external_id"));
        fprintf(fo, ",%lld,", (long long)num(o, "store_id"));
        if (member) fprintf(fo, "%lld", (long long)member);
        fputc(',', fo);
        if (guide) fprintf(fo, "%lld", (long long)guide);
        fprintf(fo, ",%lld,%lld,%lld,%lld,", (long long)when(o, "placed_at", line),
                (long long)num(o, "total_cents"), (long long)num(o, "discount_cents"),
                (long long)num(o, "points_used"));
        cell(fo, str(o, "coupon_code"));
        fprintf(fo, ",%lld,%zu,%016llx\n", (long long)refunded, json_array_size(items),
                (unsigned long long)fnv(buf, (size_t)n));
        json_t *it;
        json_array_foreach(items, i, it)
        {
            fprintf(fi, "%lld,%zu,", (long long)oid, i + 1);
            cell(fi, str(it, "sku"));
            fputc(',', fi);
            cell(fi, str(it, "category"));
            fputc(',', fi);
            cell(fi, str(it, "name"));
            fprintf(fi, ",%lld,%lld,0\n", (long long)num(it, "qty"),
                    (long long)num(it, "unit_price_cents"));
            items_n++;
        }
        json_decref(o);
    }
    free(buf);
    fclose(of);
    if (fclose(fo) || fclose(fi) || fclose(fr)) die("write failed", 0);
    printf("%lld orders, %lld items, %lld refunds\n", (long long)oid, (long long)items_n,
           (long long)rid);
    return 0;
}
