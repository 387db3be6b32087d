/* cmd_report.c — siyu report kpi|leaderboard|cohorts|products|live|distributions:
 * the reports of the API, readable in a terminal (or as CSV / JSON). Leaderboards
 * (--by store|channel|guide|tier) print one line per group with its previous period
 * beneath; CSV and JSON carry every field, the previous period's as previous.*. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "reports/reports.h"
#include "segment/index.h"
#include "views/views.h"

typedef enum { FMT_TABLE, FMT_CSV, FMT_JSON } out_format;

static void scalar(json_t *v, char *buf, size_t len)
{
    if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%.4f", json_real_value(v));
    else if (json_is_string(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_null(v) || !v)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "…");
}

static void csv_cell(const char *s)
{
    if (strpbrk(s, ",\"\n")) {
        putchar('"');
        for (; *s; s++) {
            if (*s == '"') putchar('"');
            putchar(*s);
        }
        putchar('"');
    } else {
        fputs(s, stdout);
    }
}

/* Flattens nested objects into dotted keys, so {"online_rate": {"any": 0.9}} prints
 * as online_rate.any. */
static void flatten(json_t *o, const char *prefix, json_t *into)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        char key[256];
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", k);
        if (json_is_object(v))
            flatten(v, key, into);
        else if (!json_is_array(v))
            json_object_set(into, key, v);
    }
}

/* Prints an array of objects as a table or CSV, columns from the first row. */
static void print_rows(const char *title, json_t *arr, out_format f)
{
    if (!json_array_size(arr)) return;
    json_t *cols = json_object();
    flatten(json_array_get(arr, 0), "", cols);
    if (f == FMT_TABLE) printf("\n%s\n", title);
    const char *k;
    json_t *v;
    int first = 1;
    json_object_foreach(cols, k, v)
    {
        if (f == FMT_CSV) {
            if (!first) putchar(',');
            csv_cell(k);
        } else {
            printf("%-16.16s ", k);
        }
        first = 0;
    }
    putchar('\n');
    size_t i;
    json_t *row;
    json_array_foreach(arr, i, row)
    {
        json_t *flat = json_object();
        flatten(row, "", flat);
        first = 1;
        json_object_foreach(cols, k, v)
        {
            char buf[128];
            scalar(json_object_get(flat, k), buf, sizeof buf);
            if (f == FMT_CSV) {
                if (!first) putchar(',');
                csv_cell(buf);
            } else {
                printf("%-16.16s ", buf);
            }
            first = 0;
        }
        putchar('\n');
        json_decref(flat);
    }
    json_decref(cols);
}

/* ---- leaderboards as a table: one line per group, its previous period beneath ---- */

static void cell_money(json_t *v, char *b, size_t n)
{
    if (!json_is_integer(v)) {
        snprintf(b, n, "-");
        return;
    }
    long long c = (long long)json_integer_value(v);
    snprintf(b, n, "%s%lld.%02lld", c < 0 ? "-" : "", (c < 0 ? -c : c) / 100,
             (c < 0 ? -c : c) % 100);
}

static void cell_pct(json_t *v, char *b, size_t n)
{
    if (json_is_number(v))
        snprintf(b, n, "%.1f%%", json_number_value(v) * 100);
    else
        snprintf(b, n, "-");
}

static void cell_num(json_t *v, char *b, size_t n)
{
    if (json_is_real(v))
        snprintf(b, n, "%.2f", json_real_value(v));
    else
        scalar(v, b, n);
}

typedef struct lb_col {
    const char *head, *field;
    void (*cell)(json_t *, char *, size_t);
    int width;
} lb_col;

static const lb_col lb_cols[] = {
    {"net sales", "net_sales_cents", cell_money, 13},
    {"orders", "orders", cell_num, 8},
    {"member%", "member_ratio_orders", cell_pct, 8},
    {"active", "active_members", cell_num, 7},
    {"freq", "purchase_frequency", cell_num, 6},
    {"visits/wk", "weekly_visit_frequency", cell_num, 9},
    {"ticket", "avg_ticket_cents", cell_money, 9},
    {"attach", "attachment_rate", cell_num, 6},
    {"repurch", "repurchase_rate", cell_pct, 7},
    {"churn", "churn_rate", cell_pct, 6},
    {"refund", "refund_rate", cell_pct, 6},
    {"members", "members", cell_num, 8},
    {"online", "online_rate", cell_pct, 6},
};
#define LB_NCOLS (sizeof lb_cols / sizeof *lb_cols)

static void lb_line(const char *rank, const char *who, json_t *row)
{
    printf("%-5s %-14.14s", rank, who);
    for (size_t c = 0; c < LB_NCOLS; c++) {
        char b[32];
        lb_cols[c].cell(json_object_get(row, lb_cols[c].field), b, sizeof b);
        printf(" %*s", lb_cols[c].width, b);
    }
    putchar('\n');
}

static void print_leaderboard(json_t *rep)
{
    const char *by = json_string_value(json_object_get(rep, "by"));
    json_t *pp = json_object_get(rep, "previous_period");
    printf("by %s, ranked by net sales; each second line (prev) is %s..%s\n", by,
           json_string_value(json_object_get(pp, "from")),
           json_string_value(json_object_get(pp, "to")));
    printf("%-5s %-14s", "rank", by);
    for (size_t c = 0; c < LB_NCOLS; c++)
        printf(" %*s", lb_cols[c].width, lb_cols[c].head);
    putchar('\n');
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(rep, "items"), i, row)
    {
        char key[64], rank[16];
        const char *idf = strcmp(by, "store") == 0   ? "store_id"
                          : strcmp(by, "guide") == 0 ? "guide_id"
                                                     : by;
        json_t *k = json_object_get(row, idf);
        if (json_is_null(k))
            snprintf(key, sizeof key, "(none)");
        else
            scalar(k, key, sizeof key);
        snprintf(rank, sizeof rank, "%lld",
                 (long long)json_integer_value(json_object_get(row, "rank")));
        lb_line(rank, key, row);
        json_t *p = json_object_get(row, "previous");
        snprintf(rank, sizeof rank, "(%lld)",
                 (long long)json_integer_value(json_object_get(p, "rank")));
        lb_line(rank, "  prev", p);
    }
    printf("money in yuan; freq = orders per active member; visits/wk = distinct visit days per "
           "active member per week; churn = share of the group's previous buyers gone; "
           "--format csv or json for every field\n");
}

static void print_report(json_t *rep, out_format f)
{
    if (f == FMT_JSON) {
        char *s = json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
        return;
    }
    if (f == FMT_TABLE && json_is_string(json_object_get(rep, "by"))) {
        print_leaderboard(rep);
        return;
    }
    json_t *cur = json_object_get(rep, "current"), *prev = json_object_get(rep, "previous");
    if (json_is_object(cur)) {
        /* a period and the one before it, side by side */
        json_t *a = json_object(), *b = json_object();
        flatten(cur, "", a);
        if (json_is_object(prev)) flatten(prev, "", b);
        if (f == FMT_CSV)
            printf("metric,current,previous\n");
        else
            printf("%-36s %18s %18s\n", "metric", "current", "previous");
        const char *k;
        json_t *v;
        json_object_foreach(a, k, v)
        {
            char x[64], y[64];
            scalar(v, x, sizeof x);
            scalar(json_object_get(b, k), y, sizeof y);
            if (f == FMT_CSV) {
                csv_cell(k);
                printf(",%s,%s\n", x, y);
            } else {
                printf("%-36s %18s %18s\n", k, x, y);
            }
        }
        json_decref(a);
        json_decref(b);
    }
    /* every array of rows in the answer becomes a table of its own */
    const char *k;
    json_t *v;
    json_object_foreach(rep, k, v)
    {
        if (json_is_array(v) && json_is_object(json_array_get(v, 0)))
            print_rows(k, v, f);
        else if (json_is_object(v) && v != cur && v != prev) {
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2,
                                v2) if (json_is_array(v2) && json_is_object(json_array_get(v2, 0)))
            {
                char title[128];
                snprintf(title, sizeof title, "%s.%s", k, k2);
                print_rows(title, v2, f);
            }
        }
    }
}

/* Tiers are in the member index (set by loyalty), built here from the store. */
static json_t *tier_leaderboard(store_t *st, reports_t *r, const reports_query *q, siyu_err *e)
{
    struct seg_index *idx = NULL;
    cli_step("report", "loading the member index");
    int vrc = views_open_cli(st, NULL, &idx, e);
    cli_step_done();
    if (vrc) return NULL;
    reports_classes *tiers = views_tier_classes(idx, e);
    json_t *out =
        tiers ? reports_leaderboard_by(r, q, "tier", reports_classes_classify, tiers, e) : NULL;
    reports_classes_free(tiers);
    seg_index_free(idx);
    return out;
}

int cmd_report(int argc, char **argv)
{
    const char *db = NULL, *from = NULL, *to = NULL, *store = NULL, *brand = NULL, *guide = NULL,
               *channel = NULL, *gran = NULL, *format = NULL, *by = NULL, *top = NULL;
    cli_opt opts[] = {
        {"--db", true, &db, NULL, "PATH  the store (default: $SIYU_DB)"},
        {"--from", true, &from, NULL, "DATE  first day, YYYY-MM-DD (required)"},
        {"--to", true, &to, NULL, "DATE  last day, YYYY-MM-DD (required)"},
        {"--store", true, &store, NULL, "ID  one store only (default: the whole chain)"},
        {"--brand", true, &brand, NULL, "ID  one brand only (default: all)"},
        {"--guide", true, &guide, NULL, "ID  one guide only (default: all)"},
        {"--channel", true, &channel, NULL, "NAME  one sales channel only (default: all)"},
        {"--granularity", true, &gran, NULL, "day|week|month  the series bucket (default: month)"},
        {"--format", true, &format, NULL, "table|csv|json  output format (default: table)"},
        {"--by", true, &by, NULL,
         "store|channel|guide|tier  the leaderboard dimension (default: store)"},
        {"--top", true, &top, NULL, "N  rows of a leaderboard or products report (default: 20)"},
        {0}};
    const char *pos[1];
    int np, rc = cli_parse("report", argc, argv, 2, opts, pos, 1, &np);
    if (rc) return rc;
    static const char *const kinds[] = {"kpi",      "leaderboard", "cohorts",
                                        "products", "live",        "distributions"};
    int kind = -1;
    for (int i = 0; np == 1 && i < 6; i++)
        if (strcmp(pos[0], kinds[i]) == 0) kind = i;
    if (kind < 0)
        return cli_fail("report", EXIT_USAGE,
                        "expected kpi, leaderboard, cohorts, products, live or distributions");
    out_format f = FMT_TABLE;
    if (format && strcmp(format, "csv") == 0)
        f = FMT_CSV;
    else if (format && strcmp(format, "json") == 0)
        f = FMT_JSON;
    else if (format && strcmp(format, "table") != 0)
        return cli_fail("report", EXIT_USAGE, "--format: expected table, csv or json");
    json_t *params = json_object();
    const char *keys[] = {"from", "to", "store", "brand", "guide", "channel", "granularity", "top"};
    const char *vals[] = {from, to, store, brand, guide, channel, gran, top};
    for (int i = 0; i < 8; i++)
        if (vals[i]) json_object_set_new(params, keys[i], json_string(vals[i]));
    reports_query q;
    siyu_err e;
    siyu_err_init(&e);
    if (reports_query_parse(params, &q, &e)) {
        json_decref(params);
        cli_fail("report", EXIT_USAGE, "--%s", e.message);
        siyu_err_clear(&e);
        return EXIT_USAGE;
    }
    json_decref(params);
    reports_dim dim = REPORTS_BY_STORE;
    bool by_tier = false;
    if (by && strcmp(by, "channel") == 0)
        dim = REPORTS_BY_CHANNEL;
    else if (by && strcmp(by, "guide") == 0)
        dim = REPORTS_BY_GUIDE;
    else if (by && strcmp(by, "tier") == 0)
        by_tier = true;
    else if (by && strcmp(by, "store") != 0)
        return cli_fail("report", EXIT_USAGE, "--by: expected store, channel, guide or tier");
    store_t *st;
    if ((rc = cli_open_store("report", cli_db(db), false, &st))) return rc;
    store_conn *c;
    reports_t *r = NULL;
    json_t *out = NULL;
    if (store_conn_open(st, &c, &e) == 0) {
        cli_step("report", "loading the order facts");
        int lrc = views_open_cli(st, &r, NULL, &e);
        cli_step_done();
        if (lrc == 0) {
            switch (kind) {
            case 0:
                out = reports_kpi(r, &q, &e);
                break;
            case 1:
                out =
                    by_tier ? tier_leaderboard(st, r, &q, &e) : reports_leaderboard(r, &q, dim, &e);
                break;
            case 2:
                out = reports_cohorts(r, &q, &e);
                break;
            case 3:
                out = reports_products(r, &q, &e);
                break;
            case 4:
                out = reports_live(r, &q, &e);
                break;
            default:
                out = reports_distributions(r, &q, &e);
                break;
            }
            reports_free(r);
        }
        store_conn_close(c);
    }
    store_close(st);
    if (!out) {
        cli_fail("report", 1, "%s", e.message);
        siyu_err_clear(&e);
        return 1;
    }
    print_report(out, f);
    json_decref(out);
    return 0;
}
