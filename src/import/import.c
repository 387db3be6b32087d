/* import.c — the bulk loader: records in, domain calls out, batches committed. */
#include "import/import.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_arena.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "domain/domain.h"
#include "domain/memo.h"
#include "import/csv.h"

/* Memory stays bounded whatever the file: one record is at most the body cap of
 * POST /orders (it grows with the order line cap, orders_max_body), the parsed records
 * queued ahead come from at most QUEUE_BYTES of text (or one block, however large), and a batch
 * commits early once its records came from BATCH_BYTES of text (a file of wholesale
 * invoices would otherwise keep 5 000 large orders parsed for the replay; small
 * records fill a batch of 5 000 before 4 MiB). */
#define BATCH_BYTES (4u << 20)

static size_t max_record(void)
{
    size_t o = orders_max_body();
    return o > (1u << 20) ? o : (1u << 20);
}

typedef int (*import_fn)(dom *d, json_t *body, json_t **out, siyu_err *e);

/* A member record may carry its consents ({purpose, channel, granted, text_version}):
 * recorded with source "import" on the member the record matched or created. */
static int import_member(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    json_t *consents = json_object_get(body, "consents");
    if (!consents) return members_create_or_match(d, body, out, e);
    if (dom_consents_check(consents, e)) return -1;
    json_t *rec = json_copy(body);
    json_object_del(rec, "consents");
    int rc = members_create_or_match(d, rec, out, e);
    if (rc < 0) {
        json_decref(rec);
        return rc;
    }
    /* the member the record matched or created, found again by its identities */
    static const char *const idk[] = {"phone",   "unionid",           "openid", "app_id",
                                      "card_no", "wecom_external_id", NULL};
    json_t *ids = json_object();
    for (int i = 0; idk[i]; i++)
        if (json_object_get(rec, idk[i]))
            json_object_set(ids, idk[i], json_object_get(rec, idk[i]));
    json_decref(rec);
    int64_t id = members_resolve(d, ids, "", false, NULL, e);
    json_decref(ids);
    if (id > 0) id = members_live_id(d, id, NULL, e);
    if (id <= 0 || dom_consents_import(d, id, consents, e)) {
        if (id == 0) siyu_err_set(e, SIYU_INTERNAL, NULL, "the imported member is not found");
        if (out) {
            json_decref(*out);
            *out = NULL;
        }
        return -1;
    }
    return rc;
}

static const struct {
    const char *kind;
    import_fn fn;
} kinds[] = {
    {"brands", brands_create},  {"stores", stores_create}, {"staff", staff_create},
    {"members", import_member}, {"orders", orders_create}, {"events", events_record},
};
_Static_assert(sizeof kinds / sizeof *kinds == IMPORT_KINDS, "IMPORT_KINDS counts kinds[]");

/* CSV columns that hold integers; every other column is text. */
static const char *const int_columns[] = {
    "store_id",    "guide_id", "brand_id",         "member_id",    "total_cents", "discount_cents",
    "points_used", "qty",      "unit_price_cents", "amount_cents", NULL};
/* CSV columns "member_phone" etc. become the member object of orders and events. */
static const char *const member_prefix = "member_";
/* CSV columns of an order row that describe its item. */
static const char *const item_columns[] = {"sku",        "category",         "item_name", "qty",
                                           "unit_price", "unit_price_cents", NULL};
/* CSV columns that hold an instant: any common format, stated in import_options.tz. */
static const char *const time_columns[] = {"placed_at", "joined_at", "at", NULL};
/* CSV columns (after mapping) that hold an amount in yuan; they land as NAME_cents. */
static const char *const yuan_columns[] = {"total", "discount", "unit_price", NULL};

void import_options_init(import_options *o)
{
    memset(o, 0, sizeof *o);
    o->batch_size = 5000;
    o->max_errors_kept = 100;
    o->cache_mib = IMPORT_CACHE_MIB;
}

bool import_kind_known(const char *kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(kinds[i].kind, kind) == 0) return true;
    return false;
}

static bool in_list(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0) return true;
    return false;
}

/* ---------------- mapping, dates, amounts ---------------- */

/* "items.name" is the row's item_name column, "member.phone" member_phone. */
static void target_column(const char *t, char *out, size_t len)
{
    if (strncmp(t, "items.", 6) == 0)
        snprintf(out, len, "%s", strcmp(t + 6, "name") == 0 ? "item_name" : t + 6);
    else if (strncmp(t, "member.", 7) == 0)
        snprintf(out, len, "member_%s", t + 7);
    else
        snprintf(out, len, "%s", t);
}

int import_check_pair(const char *pair, bool is_set, siyu_err *e)
{
    const char *what = is_set ? "set" : "map";
    const char *eq = strchr(pair, '=');
    if (!eq || eq == pair || (!is_set && !eq[1]))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, what, "%s: expected %s, got '%s'", what,
                            is_set ? "FIELD=VALUE" : "COLUMN=FIELD", pair);
    const char *t = is_set ? pair : eq + 1;
    size_t n = is_set ? (size_t)(eq - pair) : strlen(t);
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.'))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, what,
                                "%s: '%.*s' is not a field name (such as external_id, items.sku, "
                                "member.phone)",
                                what, (int)n, t);
    return 0;
}

int import_check_tz(const char *tz, siyu_err *e)
{
    if (strcmp(tz, "Z") == 0) return 0;
    if (strlen(tz) == 6 && (tz[0] == '+' || tz[0] == '-') && isdigit((unsigned char)tz[1]) &&
        isdigit((unsigned char)tz[2]) && tz[3] == ':' && isdigit((unsigned char)tz[4]) &&
        isdigit((unsigned char)tz[5]) && (tz[1] - '0') * 10 + (tz[2] - '0') <= 14 && tz[4] <= '5')
        return 0;
    return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "tz",
                        "tz: expected an offset such as +08:00, got '%s'", tz);
}

/* Reads 1..max digits (exactly max when fixed); returns the number or -1. */
static int digits(const char **p, int max, bool fixed)
{
    int v = 0, n = 0;
    while (n < max && isdigit((unsigned char)**p)) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    return n == 0 || (fixed && n != max) ? -1 : v;
}

int import_date(const char *in, const char *tz, char *out, size_t len)
{
    int64_t t;
    if (!tz) tz = "+08:00";
    if (time_parse_rfc3339(in, &t) == 0) { /* it has its own offset */
        snprintf(out, len, "%s", in);
        return 0;
    }
    const char *p = in;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    size_t n = strlen(in);
    bool compact = n >= 8 && strspn(in, "0123456789") == n;
    if (compact) { /* 20261122, 202611221000, 20261122100000 */
        if (n != 8 && n != 12 && n != 14) return -1;
        y = digits(&p, 4, true), mo = digits(&p, 2, true), d = digits(&p, 2, true);
        if (n >= 12) h = digits(&p, 2, true), mi = digits(&p, 2, true);
        if (n == 14) sec = digits(&p, 2, true);
    } else {
        if ((y = digits(&p, 4, true)) < 0 || (*p != '-' && *p != '/')) return -1;
        char sep = *p++;
        if ((mo = digits(&p, 2, false)) < 0 || *p++ != sep || (d = digits(&p, 2, false)) < 0)
            return -1;
        if (*p == ' ' || *p == 'T') {
            p++;
            if ((h = digits(&p, 2, false)) < 0 || *p++ != ':' || (mi = digits(&p, 2, true)) < 0)
                return -1;
            if (*p == ':') {
                p++;
                if ((sec = digits(&p, 2, true)) < 0) return -1;
                if (*p == '.') { /* a fraction of a second is dropped */
                    p++;
                    while (isdigit((unsigned char)*p))
                        p++;
                }
            }
        }
        if (*p) return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return -1;
    int cy, cm, cd;
    date_civil(date_from_civil(y, mo, d), &cy, &cm, &cd);
    if (cy != y || cm != mo || cd != d) return -1; /* 2026-02-30 */
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d%s", y, mo, d, h, mi, sec, tz);
    return 0;
}

/* "12", "12.5", "12.50" yuan as cents; -1 when it is not such an amount. */
static int yuan_cents(const char *s, long long *cents)
{
    long long whole = 0;
    int n = 0, frac = 0, fd = 0;
    const char *p = s;
    while (isdigit((unsigned char)*p) && n < 15)
        whole = whole * 10 + (*p++ - '0'), n++;
    if (n == 0) return -1;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p) && fd < 2)
            frac = frac * 10 + (*p++ - '0'), fd++;
        if (fd == 0) return -1;
        if (fd == 1) frac *= 10;
    }
    if (*p) return -1;
    *cents = whole * 100 + frac; /* < 10^17: no overflow */
    return 0;
}

typedef struct loader {
    store_conn *conn;
    dom d;
    dom_changes changes;
    import_fn fn;
    const import_options *o;
    import_result *r;
    long pending;         /* records in the open transaction */
    size_t pending_bytes; /* their text */
    /* The open batch runs without a savepoint per record until a record fails: a
     * savepoint copies every page a record touches into a sub-journal, a fifth of the
     * import's time. On a failure the batch rolls back and is replayed record by
     * record in savepoints, so the bad record is rejected alone (careful mode, until
     * the batch commits). The batch's records are kept (a reference each) for that. */
    bool careful;
    struct kept_rec {
        json_t *rec;
        long line;
        long *item_lines; /* a CSV order: the file line of each item, or NULL */
        size_t n_item_lines;
        bool borrowed; /* rec lives in a pipeline block held until its batch commits */
    } * kept;
    size_t nkept, kept_cap;
    long long batch_imported, batch_duplicates; /* the counters when the batch began */
    unsigned long batch_seq;                    /* batches committed so far */
} loader;

/* A grouped CSV order's error naming items[N] is reported on the line of that row. */
static long item_line(long line, const char *field, const long *item_lines, size_t n)
{
    if (!item_lines || !field || strncmp(field, "items[", 6) != 0) return line;
    char *end;
    unsigned long k = strtoul(field + 6, &end, 10);
    return *end == ']' && k < n ? item_lines[k] : line;
}

static void reject(loader *L, long line, const char *field, siyu_code code, const char *msg)
{
    L->r->rejected++;
    if (L->o->reject_log) fprintf(L->o->reject_log, "line %ld: %s\n", line, msg);
    if ((long)json_array_size(L->r->errors) < L->o->max_errors_kept) {
        json_t *err = json_pack("{s:I, s:s, s:s}", "line", (json_int_t)line, "code",
                                siyu_code_name(code), "message", msg);
        if (field && *field) json_object_set_new(err, "field", json_string(field));
        json_array_append_new(L->r->errors, err);
    }
}

static void kept_release(loader *L)
{
    for (size_t i = 0; i < L->nkept; i++) {
        if (!L->kept[i].borrowed) json_decref(L->kept[i].rec);
        free(L->kept[i].item_lines);
    }
    L->nkept = 0;
}

static int flush(loader *L, siyu_err *e, bool reopen)
{
    if (store_commit(L->conn, e)) return -1;
    L->pending = 0;
    L->pending_bytes = 0;
    L->careful = false;
    L->batch_seq++;
    kept_release(L);
    L->batch_imported = L->r->imported;
    L->batch_duplicates = L->r->duplicates;
    if (L->o->on_commit && L->changes.n)
        L->o->on_commit(L->o->on_commit_ctx, L->changes.v, L->changes.n);
    dom_changes_clear(&L->changes);
    if (!reopen) return 0;
    if (store_begin(L->conn, true, e)) return -1;
    /* what the memo holds stays true until another connection commits (memo.h) */
    if (L->d.memo && store_conn_others_wrote(L->conn)) dom_memo_clear(L->d.memo);
    return 0;
}

static void count_result(loader *L, int rc)
{
    if (rc == 201)
        L->r->imported++;
    else
        L->r->duplicates++;
}

/* Runs one record inside a savepoint. Returns -1 only when the store itself failed. */
static int run_careful(loader *L, json_t *rec, long line, const long *item_lines, size_t n_lines,
                       siyu_err *fatal)
{
    siyu_err e;
    siyu_err_init(&e);
    if (store_savepoint(L->conn, fatal)) return -1;
    L->d.now = clock_now();
    size_t noted = L->changes.n;
    int rc = L->fn(&L->d, rec, NULL, &e);
    if (store_conn_failed(L->conn)) { /* a failed read is not a rejected record */
        siyu_err_clear(&e);
        store_conn_check(L->conn, fatal);
        return -1;
    }
    if (rc < 0) {
        store_savepoint_undo(L->conn);
        L->changes.n = noted; /* what the undone record noted never happened */
        if (e.code == SIYU_INTERNAL) {
            *fatal = e;
            return -1;
        }
        reject(L, item_line(line, e.field, item_lines, n_lines), e.field, e.code, e.message);
        siyu_err_clear(&e);
    } else {
        store_savepoint_release(L->conn);
        count_result(L, rc);
    }
    return 0;
}

/* A record of the batch failed with no savepoint around it: undo the batch, then run
 * its records again, each in a savepoint, the failed one last (it is rejected there). */
static int replay_careful(loader *L, siyu_err *fatal)
{
    store_rollback(L->conn);
    dom_memo_clear(L->d.memo);
    L->changes.n = 0;
    L->r->imported = L->batch_imported;
    L->r->duplicates = L->batch_duplicates;
    L->careful = true;
    if (store_begin(L->conn, true, fatal)) return -1;
    for (size_t i = 0; i < L->nkept; i++)
        if (run_careful(L, L->kept[i].rec, L->kept[i].line, L->kept[i].item_lines,
                        L->kept[i].n_item_lines, fatal))
            return -1;
    return 0;
}

/* A borrowed record is not referenced: the writer would touch every record's cold
 * reference count twice (here and at the commit), a cache miss each, which measured
 * 3% of an NDJSON import's samples; its block outlives the batch anyway. */
static int keep(loader *L, json_t *rec, bool borrowed, long line, long *item_lines, size_t n_lines,
                siyu_err *fatal)
{
    if (L->nkept == L->kept_cap) {
        size_t cap = L->kept_cap ? L->kept_cap * 2 : 1024;
        struct kept_rec *k = realloc(L->kept, cap * sizeof *k);
        if (!k) {
            free(item_lines);
            return siyu_err_set(fatal, SIYU_INTERNAL, NULL, "import: out of memory");
        }
        L->kept = k;
        L->kept_cap = cap;
    }
    L->kept[L->nkept++] =
        (struct kept_rec){borrowed ? rec : json_incref(rec), line, item_lines, n_lines, borrowed};
    return 0;
}

/* A store code in the file (a till knows its store by code) becomes the store_id the
 * domain takes. Returns 0, or -1 with e when no store has the code. */
static int resolve_store_code(loader *L, json_t *rec, siyu_err *e)
{
    json_t *code = json_object_get(rec, "store_code");
    if (!code) return 0;
    int64_t id;
    if (!json_is_string(code))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "store_code", "store_code: not a string");
    if (stores_id_by_code(&L->d, json_string_value(code), &id, e)) return -1;
    json_object_set_new(rec, "store_id", json_integer(id));
    json_object_del(rec, "store_code");
    return 0;
}

/* Feeds one record to the domain. Returns -1 only when the store itself failed (the
 * import must stop); a rejected record returns 0. The record is used again only until
 * its batch commits. item_lines (a grouped CSV order's row lines, or NULL) is the
 * loader's from here on. borrowed: the caller keeps rec alive until its batch commits. */
static int load_one(loader *L, json_t *rec, bool borrowed, const order_in *prep, long line,
                    long *item_lines, size_t n_lines, size_t bytes, siyu_err *fatal)
{
    siyu_err ce;
    siyu_err_init(&ce);
    /* the reader prepares only orders without a store code: no lookup in a cold record */
    if (!prep && resolve_store_code(L, rec, &ce)) {
        L->r->records++;
        reject(L, line, ce.field, ce.code, ce.message);
        siyu_err_clear(&ce);
        free(item_lines);
        return 0;
    }
    L->r->records++;
    if (L->careful) {
        int rc = run_careful(L, rec, line, item_lines, n_lines, fatal);
        free(item_lines);
        if (rc) return -1;
    } else {
        if (keep(L, rec, borrowed, line, item_lines, n_lines, fatal)) return -1;
        siyu_err e;
        siyu_err_init(&e);
        L->d.now = clock_now();
        order_made made;
        int rc = prep ? orders_create_prepared(&L->d, prep, NULL, &made, &e)
                      : L->fn(&L->d, rec, NULL, &e);
        if (store_conn_failed(L->conn)) { /* a failed read is not a rejected record */
            siyu_err_clear(&e);
            store_conn_check(L->conn, fatal);
            return -1;
        }
        if (rc >= 0) {
            count_result(L, rc);
        } else if (e.code == SIYU_INTERNAL) {
            *fatal = e;
            return -1;
        } else {
            siyu_err_clear(&e);
            if (replay_careful(L, fatal)) return -1;
        }
    }
    L->pending_bytes += bytes;
    if ((++L->pending >= L->o->batch_size || L->pending_bytes >= BATCH_BYTES) &&
        flush(L, fatal, true))
        return -1;
    return 0;
}

/* ---------------- NDJSON ---------------- */

/* Parsing JSON costs about as much as writing the record, so a reader thread parses
 * ahead while this thread writes: a pipeline over blocks of records. The reader reads
 * each block's lines as text (cheap) and parses blocks in file order; the writer, when
 * the block it needs is not parsed yet, parses a waiting one itself rather than idle,
 * so neither thread waits while the other has work (on two cores the two stages
 * measured within 5% of each other, and either may be the slower one). The queue is
 * bounded, so memory stays a few blocks whatever the file size. */
#define BLOCK_RECORDS 512
#define BLOCK_BYTES (256u << 10)
#define QUEUE_BYTES (1u << 20) /* text queued ahead; one block always fits, however large */
#define QUEUE_BLOCKS 8
#define RAW_AHEAD 2 /* blocks read but not yet claimed, kept for the writer to take */

typedef struct parsed {
    json_t *rec;    /* NULL when the line was rejected (err) */
    order_in *prep; /* an order checked at parse time, or NULL: the writer checks it */
    long line;
    size_t bytes;  /* the line's length */
    size_t at;     /* where the line starts in the block's text */
    bool refused;  /* refused when read (too long): nothing to parse */
    siyu_err *err; /* why the line was rejected; NULL for most: a block is 20 KiB, not 190 */
} parsed;

typedef enum block_state { BLOCK_RAW, BLOCK_PARSING, BLOCK_PARSED } block_state;

typedef struct block {
    parsed recs[BLOCK_RECORDS];
    int n;
    long long bytes; /* file position after the block, for the progress bar */
    char *text;      /* the records' lines, each ended by a NUL */
    size_t text_len, text_cap;
    block_state state;   /* under pipeline.lock */
    unsigned long batch; /* the writer's batch its last record went into */
    json_arena *arena;   /* where its records were parsed: released with the block */
    struct block *next_done;
} block;

typedef struct pipeline {
    FILE *in;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    block *queue[QUEUE_BLOCKS];
    int head, count;
    size_t queued_text; /* text of the queued blocks: bounded by QUEUE_BYTES */
    bool eof, cancel;   /* eof: every block has been queued */
    /* blocks the writer is done with go back to the reader, which frees them: memory is
     * freed by the thread that allocated it, which glibc's malloc does much faster */
    block *done;
    bool prepare_orders; /* records are orders: parsing checks them too (orders_prepare) */
    bool inline_refunds;
} pipeline;

static void free_block(block *b)
{
    for (int i = 0; i < b->n; i++) {
        /* A prepared order's tree is only read after its parse (it has no store code to
         * replace; orders_create_prepared and a replay's orders_create set nothing into
         * it), so when its arena took no malloc it goes with the arena, unwalked: the
         * walk was 16% of the reader's time, a cache miss a node. */
        bool all_arena = b->recs[i].prep != NULL && json_arena_holds_all(b->arena);
        orders_prepared_free(b->recs[i].prep);
        if (!all_arena) json_decref(b->recs[i].rec);
        if (b->recs[i].err) siyu_err_clear(b->recs[i].err);
        free(b->recs[i].err);
    }
    json_arena_release(b->arena);
    free(b->text);
    free(b);
}

/* A block's records are parsed into an arena of their own: they are dropped together. */
static block *new_block(void)
{
    block *b = calloc(1, sizeof *b);
    b->arena = json_arena_new();
    return b;
}

static void free_done(pipeline *p)
{
    pthread_mutex_lock(&p->lock);
    block *d = p->done;
    p->done = NULL;
    pthread_mutex_unlock(&p->lock);
    while (d) {
        block *next = d->next_done;
        free_block(d);
        d = next;
    }
}

/* Keeps why line r was rejected with it (a block holds an error only for such lines; a
 * copy that cannot be made is reported as out of memory). */
static void keep_err(parsed *r, const siyu_err *why)
{
    r->err = malloc(sizeof *r->err);
    if (r->err) *r->err = *why; /* a line's refusal carries no details */
}

/* Reads the next block's lines; NULL at the end of the file. */
static block *read_block(pipeline *p, char **line, size_t *cap, long *lineno, bool *eof)
{
    block *b = new_block();
    size_t limit = max_record();
    while (b->n < BLOCK_RECORDS && b->text_len < BLOCK_BYTES) {
        ssize_t n = getline(line, cap, p->in);
        if (n < 0) {
            *eof = true;
            break;
        }
        ++*lineno;
        char *l = *line;
        while (n > 0 && (l[n - 1] == '\n' || l[n - 1] == '\r'))
            l[--n] = 0;
        size_t skip = 0;
        while (skip < (size_t)n && isspace((unsigned char)l[skip]))
            skip++;
        if (skip == (size_t)n) continue; /* blank lines are not records */
        parsed *r = &b->recs[b->n++];
        r->line = *lineno;
        r->bytes = (size_t)n;
        siyu_err why;
        siyu_err_init(&why);
        if ((size_t)n > limit) {
            r->refused = true;
            siyu_err_set(&why, SIYU_PAYLOAD_TOO_LARGE, NULL, "record: longer than %zu bytes",
                         limit);
            keep_err(r, &why);
            continue;
        }
        if (b->text_len + (size_t)n + 1 > b->text_cap) {
            size_t want = b->text_cap ? b->text_cap * 2 : 64u << 10;
            while (want < b->text_len + (size_t)n + 1)
                want *= 2;
            char *t = realloc(b->text, want);
            if (!t) { /* refused like any record that cannot be taken */
                r->refused = true;
                siyu_err_set(&why, SIYU_INTERNAL, NULL, "record: out of memory");
                keep_err(r, &why);
                continue;
            }
            b->text = t;
            b->text_cap = want;
        }
        r->at = b->text_len;
        memcpy(b->text + b->text_len, l, (size_t)n + 1);
        b->text_len += (size_t)n + 1;
    }
    b->bytes = (long long)ftell(p->in);
    if (b->n == 0) {
        free_block(b);
        return NULL;
    }
    return b;
}

/* Parses a claimed block: on the reader, or on the writer while it would wait. */
static void parse_block(const pipeline *p, block *b)
{
    order_rules rules = {.inline_refunds = p->inline_refunds, .now = clock_now()};
    for (int i = 0; i < b->n; i++) {
        parsed *r = &b->recs[i];
        if (r->refused) continue;
        /* the arena is current for the parse alone: code that frees what jansson made
         * with free() (json_dumps' text) must never get arena memory */
        json_arena_use(b->arena);
        siyu_err perr;
        siyu_err_init(&perr);
        r->rec = jx_parse(b->text + r->at, r->bytes, false, &perr);
        json_arena_use(NULL);
        if (!r->rec) keep_err(r, &perr);
        if (r->rec && p->prepare_orders && !json_object_get(r->rec, "store_code")) {
            /* The checks that need no store run here, beside the writer. A record they
             * refuse goes to the writer unprepared, to be refused where every refusal is
             * (a batch's refusal replays it in savepoints). */
            siyu_err pe;
            siyu_err_init(&pe);
            r->prep = orders_prepare(r->rec, &rules, &pe);
            siyu_err_clear(&pe);
        }
    }
}

static atomic_bool parse_on_writer_only; /* import_parse_on_writer_for_tests */

void import_parse_on_writer_for_tests(bool on)
{
    atomic_store(&parse_on_writer_only, on);
}

/* How many queued blocks nobody parses yet (of at most QUEUE_BLOCKS). Under p->lock. */
static int raw_blocks(const pipeline *p)
{
    int n = 0;
    for (int i = 0; i < p->count; i++)
        n += p->queue[(p->head + i) % QUEUE_BLOCKS]->state == BLOCK_RAW;
    return n;
}

/* The oldest queued block nobody parses yet, claimed for the caller; NULL if none.
 * Called under p->lock. */
static block *claim_raw(pipeline *p)
{
    for (int i = 0; i < p->count; i++) {
        block *b = p->queue[(p->head + i) % QUEUE_BLOCKS];
        if (b->state == BLOCK_RAW) {
            b->state = BLOCK_PARSING;
            return b;
        }
    }
    return NULL;
}

/* Parses b (claimed) outside the lock and marks it parsed. Called under p->lock. */
static void parse_claimed(pipeline *p, block *b)
{
    bool cancelled = p->cancel; /* a cancelled import only drains its blocks */
    pthread_mutex_unlock(&p->lock);
    if (!cancelled) parse_block(p, b);
    pthread_mutex_lock(&p->lock);
    b->state = BLOCK_PARSED;
    pthread_cond_broadcast(&p->changed);
}

static void *ndjson_reader(void *arg)
{
    pipeline *p = arg;
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    bool eof = false;
    pthread_mutex_lock(&p->lock);
    while (!p->cancel) {
        /* read ahead while there is room, keeping a block or two for the writer to take */
        while (!eof && raw_blocks(p) < RAW_AHEAD && p->count < QUEUE_BLOCKS &&
               (p->count == 0 || p->queued_text < QUEUE_BYTES) && !p->cancel) {
            pthread_mutex_unlock(&p->lock);
            free_done(p);
            block *b = read_block(p, &line, &cap, &lineno, &eof);
            pthread_mutex_lock(&p->lock);
            if (b) {
                b->state = BLOCK_RAW;
                p->queue[(p->head + p->count) % QUEUE_BLOCKS] = b;
                p->count++;
                p->queued_text += b->text_len;
                pthread_cond_broadcast(&p->changed);
            }
            if (eof && !p->eof) {
                p->eof = true;
                pthread_cond_broadcast(&p->changed);
            }
        }
        block *mine = atomic_load(&parse_on_writer_only) ? NULL : claim_raw(p);
        if (mine) {
            parse_claimed(p, mine);
        } else if (eof) {
            break; /* every block is read and claimed */
        } else {
            pthread_cond_wait(&p->changed, &p->lock); /* the queue is full and parsed */
        }
    }
    p->eof = true;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    free(line);
    return NULL;
}

/* The next block in file order, parsed; NULL once every block has been taken. */
static block *next_block(pipeline *p)
{
    pthread_mutex_lock(&p->lock);
    block *b = NULL;
    for (;;) {
        if (p->count == 0) {
            if (p->eof) break;
            pthread_cond_wait(&p->changed, &p->lock);
            continue;
        }
        block *h = p->queue[p->head];
        if (h->state == BLOCK_PARSED) {
            b = h;
            p->head = (p->head + 1) % QUEUE_BLOCKS;
            p->count--;
            p->queued_text -= b->text_len;
            pthread_cond_broadcast(&p->changed);
            break;
        }
        /* not parsed yet: parse a waiting block rather than wait (the head first) */
        block *w = claim_raw(p);
        if (w)
            parse_claimed(p, w);
        else
            pthread_cond_wait(&p->changed, &p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return b;
}

/* Asks the store at once which of a block's order keys are taken (orders_keys_check): on
 * PostgreSQL one round trip for the block instead of one an order (on SQLite a lookup is a
 * function call, and the one statement measured no faster than the lookups it replaced).
 * Inside the batch's transaction only, and not while a failed batch is replayed (its
 * records go one by one). */
static int keys_check(loader *L, block *b, siyu_err *e)
{
    if (!L->d.memo || L->careful || !store_conn_remote(L->conn) || !store_in_tx(L->conn)) return 0;
    order_in *os[BLOCK_RECORDS];
    size_t n = 0;
    for (int i = 0; i < b->n; i++) {
        /* an order left unprepared (a store code) writes a key the check would not know:
         * a later order of the block under the same key must look it up, so none skips */
        if (b->recs[i].rec && !b->recs[i].prep) return 0;
        if (b->recs[i].prep) os[n++] = b->recs[i].prep;
    }
    return orders_keys_check(&L->d, os, n, e);
}

static int load_ndjson(loader *L, FILE *in, siyu_err *e)
{
    pipeline p = {
        .in = in, .prepare_orders = L->fn == orders_create, .inline_refunds = L->d.inline_refunds};
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.changed, NULL);
    pthread_t reader;
    pthread_create(&reader, NULL, ndjson_reader, &p);
    int rc = 0;
    block *b, *held = NULL;
    while ((b = next_block(&p))) {
        if (rc == 0) rc = keys_check(L, b, e);
        for (int i = 0; i < b->n; i++) {
            parsed *r = &b->recs[i];
            /* the reader parsed these on the other core: ask for the next orders' memory
             * before it is needed (each stage reads what the one before fetched) */
            if (i + 3 < b->n) orders_prepared_prefetch(b->recs[i + 3].prep, 0);
            if (i + 2 < b->n) orders_prepared_prefetch(b->recs[i + 2].prep, 1);
            if (i + 1 < b->n) orders_prepared_prefetch(b->recs[i + 1].prep, 2);
            if (rc == 0) {
                if (!r->rec) {
                    L->r->records++;
                    if (r->err)
                        reject(L, r->line, r->err->field, r->err->code, r->err->message);
                    else
                        reject(L, r->line, NULL, SIYU_INTERNAL, "record: out of memory");
                } else {
                    rc = load_one(L, r->rec, true, r->prep, r->line, NULL, 0, r->bytes, e);
                }
            }
        }
        if (L->o->progress) L->o->progress(L->o->progress_ctx, b->bytes, L->r->records);
        /* a block stays here while the open batch keeps records for its replay: they
         * live in the block's arena, which goes with the block (a record whose store
         * failed is kept though the batch counts nothing pending: nkept, not pending);
         * then the record's last reference is the block's, dropped by the reader that
         * allocated it (see pipeline.done) */
        b->batch = L->batch_seq;
        b->next_done = held;
        held = b;
        block **link = &held, *give = NULL;
        while (*link) {
            block *h = *link;
            if (h->batch < L->batch_seq || !L->nkept) {
                *link = h->next_done;
                h->next_done = give;
                give = h;
            } else {
                link = &h->next_done;
            }
        }
        pthread_mutex_lock(&p.lock);
        while (give) {
            block *next = give->next_done;
            give->next_done = p.done;
            p.done = give;
            give = next;
        }
        pthread_mutex_unlock(&p.lock);
        if (rc) { /* stop the reader and drain what it queued */
            pthread_mutex_lock(&p.lock);
            p.cancel = true;
            pthread_cond_broadcast(&p.changed);
            pthread_mutex_unlock(&p.lock);
        }
    }
    pthread_join(reader, NULL);
    free_done(&p);
    /* The batch still open (import_stream commits or drops it) no longer needs its records
     * for a replay, and they go with their blocks' arenas. */
    kept_release(L);
    for (block *h = held; h; h = b) {
        b = h->next_done;
        free_block(h);
    }
    pthread_mutex_destroy(&p.lock);
    pthread_cond_destroy(&p.changed);
    return rc;
}

/* ---------------- CSV ---------------- */

typedef struct csv_header {
    char **names; /* the field each column feeds; NULL: a column the map leaves out */
    size_t n;
    char **set_names, **set_vals; /* import_options.set: a value for every record */
    size_t nset;
    const char *tz;
} csv_header;

static void header_free(csv_header *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->names[i]);
    for (size_t i = 0; i < h->nset; i++) {
        free(h->set_names[i]);
        free(h->set_vals[i]);
    }
    free(h->names);
    free(h->set_names);
    free(h->set_vals);
}

/* The header row through the map: each column's field, or NULL when a map leaves it out. */
static int header_read(csv_header *h, csv_reader *cr, const import_options *o, siyu_err *e)
{
    char col[200];
    h->n = cr->nfields;
    h->names = calloc(h->n, sizeof *h->names);
    h->tz = o->tz;
    for (size_t i = 0; i < h->n; i++) {
        const char *name = csv_field(cr, i);
        if (i == 0 && strncmp(name, "\xEF\xBB\xBF", 3) == 0) /* a UTF-8 byte-order mark */
            name += 3;
        if (!o->map) {
            h->names[i] = strdup(name);
            continue;
        }
        for (int k = 0; o->map[k]; k++) {
            const char *eq = strchr(o->map[k], '=');
            if (eq && strlen(name) == (size_t)(eq - o->map[k]) &&
                strncmp(name, o->map[k], (size_t)(eq - o->map[k])) == 0) {
                target_column(eq + 1, col, sizeof col);
                h->names[i] = strdup(col);
            }
        }
    }
    if (o->map) /* a mapped column the file lacks is a mistake in the map, not a row */
        for (int k = 0; o->map[k]; k++) {
            const char *eq = strchr(o->map[k], '=');
            size_t len = eq ? (size_t)(eq - o->map[k]) : strlen(o->map[k]);
            bool found = false;
            for (size_t i = 0; i < cr->nfields && !found; i++) {
                const char *name = csv_field(cr, i);
                if (i == 0 && strncmp(name, "\xEF\xBB\xBF", 3) == 0) name += 3;
                found = strlen(name) == len && strncmp(name, o->map[k], len) == 0;
            }
            if (!found)
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "map",
                                    "map: the file has no column '%.*s'", (int)len, o->map[k]);
        }
    for (int k = 0; o->set && o->set[k]; k++)
        h->nset++;
    h->set_names = calloc(h->nset + 1, sizeof *h->set_names);
    h->set_vals = calloc(h->nset + 1, sizeof *h->set_vals);
    for (size_t k = 0; k < h->nset; k++) {
        const char *eq = strchr(o->set[k], '=');
        snprintf(col, sizeof col, "%.*s", eq ? (int)(eq - o->set[k]) : 0, o->set[k]);
        char field[200];
        target_column(col, field, sizeof field);
        h->set_names[k] = strdup(field);
        h->set_vals[k] = strdup(eq ? eq + 1 : "");
    }
    return 0;
}

/* Sets one cell on the record; a bad integer is reported by returning -1 with e. */
static int set_cell(json_t *obj, const char *col, const char *val, const char *tz, siyu_err *e)
{
    if (!*val) return 0; /* an empty cell is an absent field */
    if (in_list(int_columns, col)) {
        char *end;
        long long v = strtoll(val, &end, 10);
        if (*end || end == val)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, col, "%s: not an integer", col);
        json_object_set_new(obj, col, json_integer(v));
    } else if (in_list(yuan_columns, col)) {
        long long v;
        char key[64];
        snprintf(key, sizeof key, "%s_cents", col);
        if (yuan_cents(val, &v))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, key,
                                "%s: '%s' is not an amount in yuan (such as 12.50)", col, val);
        json_object_set_new(obj, key, json_integer(v));
    } else if (in_list(time_columns, col)) {
        char t[64];
        if (strlen(val) > 40 || import_date(val, tz, t, sizeof t))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, col,
                                "%s: '%.40s' is not a date such as 2026-11-22 10:00:00, "
                                "2026/11/22 10:00, 20261122100000 or RFC 3339",
                                col, val);
        json_object_set_new(obj, col, json_string(t));
    } else if (strcmp(col, "props") == 0) {
        json_t *p = jx_parse(val, strlen(val), false, e);
        if (!p) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, col, "props: not a JSON object");
        json_object_set_new(obj, col, p);
    } else {
        json_object_set_new(obj, col, json_string(val));
    }
    return 0;
}

/* Puts one cell where its column goes: the record, its member object or the item. */
static int put_cell(const csv_header *h, json_t *rec, json_t **member, json_t *item,
                    const char *col, const char *val, siyu_err *e)
{
    json_t *target = rec;
    const char *key = col;
    if (item && in_list(item_columns, col)) {
        target = item;
        key = strcmp(col, "item_name") == 0 ? "name" : col;
    } else if (strncmp(col, member_prefix, strlen(member_prefix)) == 0 &&
               strcmp(col, "member_id") != 0) {
        if (!*val) return 0;
        if (!*member) *member = json_object();
        target = *member;
        key = col + strlen(member_prefix);
    }
    return set_cell(target, key, val, h->tz, e);
}

/* Member CSV columns consent_PURPOSE_CHANNEL = true | false (1/0, yes/no) become the
 * record's "consents" list, with consent_text_version for them all. */
static int consent_columns(json_t *rec, siyu_err *e)
{
    json_t *consents = NULL, *tv = json_object_get(rec, "consent_text_version");
    const char *text = json_is_string(tv) ? json_string_value(tv) : NULL;
    const char *col;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(rec, tmp, col, v)
    {
        if (strncmp(col, "consent_", 8) != 0 || strcmp(col, "consent_text_version") == 0) continue;
        const char *val = json_is_string(v) ? json_string_value(v) : "";
        const char *pc = col + 8, *us = strchr(pc, '_');
        bool yes = !strcmp(val, "true") || !strcmp(val, "1") || !strcmp(val, "yes");
        bool no = !strcmp(val, "false") || !strcmp(val, "0") || !strcmp(val, "no");
        if (!us || (!yes && !no)) {
            json_decref(consents);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, col,
                                "%s: expected consent_PURPOSE_CHANNEL = true or false", col);
        }
        if (!consents) consents = json_array();
        json_t *c = json_object();
        json_object_set_new(c, "purpose", json_stringn(pc, (size_t)(us - pc)));
        json_object_set_new(c, "channel", json_string(us + 1));
        json_object_set_new(c, "granted", json_boolean(yes));
        if (text) json_object_set_new(c, "text_version", json_string(text));
        json_array_append_new(consents, c);
        json_object_del(rec, col);
    }
    if (consents) json_object_set_new(rec, "consents", consents);
    json_object_del(rec, "consent_text_version");
    return 0;
}

/* Turns one CSV row into the JSON record the domain reads; for orders, also
 * returns the item object of the row. */
static json_t *row_to_json(const csv_header *h, csv_reader *cr, bool orders, json_t **item,
                           siyu_err *e)
{
    if (cr->nfields != h->n) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, NULL, "record: %zu fields where the header has %zu",
                     cr->nfields, h->n);
        return NULL;
    }
    json_t *rec = json_object(), *member = NULL;
    *item = orders ? json_object() : NULL;
    int rc = 0;
    for (size_t i = 0; i < h->nset && !rc; i++)
        rc = put_cell(h, rec, &member, *item, h->set_names[i], h->set_vals[i], e);
    for (size_t i = 0; i < h->n && !rc; i++)
        if (h->names[i]) rc = put_cell(h, rec, &member, *item, h->names[i], csv_field(cr, i), e);
    if (rc) {
        json_decref(rec);
        json_decref(member);
        json_decref(*item);
        *item = NULL;
        return NULL;
    }
    if (member) json_object_set_new(rec, "member", member);
    if (!orders && consent_columns(rec, e)) {
        json_decref(rec);
        if (item) {
            json_decref(*item);
            *item = NULL;
        }
        return NULL;
    }
    return rec;
}

/* The order a CSV row belongs to: its channel and external id, read from the raw row
 * (so a row with a bad cell still finds its order). */
static void row_key(const csv_header *h, const csv_reader *cr, char *key, size_t len)
{
    const char *ch = "", *ext = "";
    for (size_t i = 0; i < h->nset; i++) {
        if (strcmp(h->set_names[i], "channel") == 0)
            ch = h->set_vals[i];
        else if (strcmp(h->set_names[i], "external_id") == 0)
            ext = h->set_vals[i];
    }
    for (size_t i = 0; i < h->n && i < cr->nfields; i++) {
        if (h->names[i] && strcmp(h->names[i], "channel") == 0)
            ch = csv_field(cr, i);
        else if (h->names[i] && strcmp(h->names[i], "external_id") == 0)
            ext = csv_field(cr, i);
    }
    snprintf(key, len, "%s\x1f%s", ch, ext);
}

/* An order without a total: its items' sum less its discount. When an item or the
 * discount is not a usable number the order gets 0, and the domain names the field. */
static void total_from_lines(json_t *order)
{
    json_t *t = json_object_get(order, "total_cents");
    if (t && !json_is_null(t)) return;
    long long sum = 0, ok = 1;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(order, "items"), i, it)
    {
        json_t *q = json_object_get(it, "qty"), *u = json_object_get(it, "unit_price_cents");
        long long line;
        if (!json_is_integer(q) || !json_is_integer(u) ||
            __builtin_mul_overflow(json_integer_value(q), json_integer_value(u), &line) ||
            __builtin_add_overflow(sum, line, &sum))
            ok = 0;
    }
    json_t *dj = json_object_get(order, "discount_cents");
    long long disc = json_is_integer(dj) ? json_integer_value(dj) : 0;
    if (!ok || __builtin_sub_overflow(sum, disc, &sum) || sum < 0) sum = 0;
    json_object_set_new(order, "total_cents", json_integer(sum));
}

/* Loads a grouped order (and drops it): refused whole, on the bad row's line, when a
 * row of it was bad; else its total comes from its lines when the file had none. */
static int emit_order(loader *L, json_t *order, long line, long *item_lines, size_t n_lines,
                      size_t bytes, siyu_err *bad, long bad_line, siyu_err *e)
{
    int rc = 0;
    if (bad->code) {
        L->r->records++;
        reject(L, bad_line, bad->field, bad->code, bad->message);
        siyu_err_clear(bad);
        siyu_err_init(bad);
        free(item_lines);
    } else {
        total_from_lines(order);
        rc = load_one(L, order, false, NULL, line, item_lines, n_lines, bytes, e);
    }
    json_decref(order);
    return rc;
}

static int load_csv(loader *L, FILE *in, bool orders, siyu_err *e)
{
    csv_reader cr;
    csv_init(&cr, in);
    csv_header h = {0};
    long line;
    int rc = 0;
    if (csv_next(&cr, &line) != 1) {
        csv_free(&cr);
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "header", "line 1: expected a header row");
    }
    if (header_read(&h, &cr, L->o, e)) {
        header_free(&h);
        csv_free(&cr);
        return -1;
    }
    /* Orders: consecutive rows with the same channel and external_id are one order,
     * its fields read from its first row. At most one line past the cap is kept (enough
     * for the order to be refused naming items), so memory is one order. */
    json_t *pending = NULL;
    long pending_line = 0, *item_lines = NULL;
    size_t pending_bytes = 0, lines_cap = (size_t)orders_max_lines(), n_lines = 0, lines_room = 0;
    char pending_key[300] = "";
    siyu_err bad; /* the first bad row of the pending order */
    siyu_err_init(&bad);
    long bad_line = 0;
    long long pos = ftell(in);
    for (;;) {
        int got = csv_next(&cr, &line);
        long long now_pos = ftell(in);
        size_t row_bytes = now_pos > pos ? (size_t)(now_pos - pos) : 0;
        pos = now_pos;
        if (got == 0) break;
        if (got < 0) {
            L->r->records++;
            reject(L, line, NULL, SIYU_INVALID_ARGUMENT, "record: malformed CSV quoting");
            continue;
        }
        if (cr.nfields == 1 && !*csv_field(&cr, 0)) continue; /* blank line */
        siyu_err pe;
        siyu_err_init(&pe);
        json_t *item = NULL;
        json_t *rec = row_to_json(&h, &cr, orders, &item, &pe);
        if (!rec && !orders) {
            L->r->records++;
            reject(L, line, pe.field, pe.code, pe.message);
            siyu_err_clear(&pe);
            continue;
        }
        if (orders) {
            char key[300];
            row_key(&h, &cr, key, sizeof key);
            if (pending && strcmp(key, pending_key) == 0) {
                json_t *items = json_object_get(pending, "items");
                if (!rec) { /* a bad row refuses its whole order, on the row's line */
                    if (!bad.code) {
                        bad = pe;
                        bad_line = line;
                    } else {
                        siyu_err_clear(&pe);
                    }
                } else if (json_array_size(items) <= lines_cap) {
                    if (n_lines == lines_room) { /* grows with the order, not the cap */
                        size_t room = lines_room * 2;
                        long *grown = realloc(item_lines, room * sizeof *grown);
                        if (!grown) {
                            json_decref(item);
                            json_decref(rec);
                            rc = siyu_err_set(e, SIYU_INTERNAL, NULL, "import: out of memory");
                            break;
                        }
                        item_lines = grown;
                        lines_room = room;
                    }
                    json_array_append(items, item);
                    item_lines[n_lines++] = line;
                }
                json_decref(item);
                json_decref(rec);
                pending_bytes += row_bytes;
                continue;
            }
            if (pending) {
                rc = emit_order(L, pending, pending_line, item_lines, n_lines, pending_bytes, &bad,
                                bad_line, e);
                item_lines = NULL;
                pending = NULL;
                if (rc) {
                    json_decref(rec);
                    json_decref(item);
                    siyu_err_clear(&pe);
                    break;
                }
                if (L->o->progress && L->pending == 0)
                    L->o->progress(L->o->progress_ctx, (long long)ftell(in), L->r->records);
            }
            if (!rec) { /* the order's first row is bad: the order is refused */
                rec = json_object();
                bad = pe;
                bad_line = line;
            }
            json_object_set_new(rec, "items", json_array());
            if (item) json_array_append_new(json_object_get(rec, "items"), item);
            lines_room = 4;
            item_lines = malloc(lines_room * sizeof *item_lines);
            if (!item_lines) {
                json_decref(rec);
                rc = siyu_err_set(e, SIYU_INTERNAL, NULL, "import: out of memory");
                break;
            }
            item_lines[0] = line;
            n_lines = item ? 1 : 0;
            pending = rec;
            pending_line = line;
            pending_bytes = row_bytes;
            snprintf(pending_key, sizeof pending_key, "%s", key);
            continue;
        }
        rc = load_one(L, rec, false, NULL, line, NULL, 0, row_bytes, e);
        json_decref(rec);
        if (rc) break;
        if (L->o->progress && L->pending == 0)
            L->o->progress(L->o->progress_ctx, (long long)ftell(in), L->r->records);
    }
    if (pending && !rc) {
        rc = emit_order(L, pending, pending_line, item_lines, n_lines, pending_bytes, &bad,
                        bad_line, e);
        item_lines = NULL;
        pending = NULL;
    }
    json_decref(pending);
    siyu_err_clear(&bad);
    free(item_lines);
    header_free(&h);
    csv_free(&cr);
    return rc;
}

static import_format sniff(FILE *in)
{
    int c;
    while ((c = getc(in)) != EOF && isspace(c))
        ;
    if (c != EOF) ungetc(c, in);
    return c == '{' ? IMPORT_NDJSON : IMPORT_CSV;
}

/* What every import of this process did, per kind, for /metrics: records imported,
 * duplicates, rejected, and imports that could not finish. */
static atomic_ullong counts[IMPORT_KINDS][4];

const char *import_kind_name(int k)
{
    return k >= 0 && k < IMPORT_KINDS ? kinds[k].kind : NULL;
}

void import_counts(int k, unsigned long long out[4])
{
    for (int i = 0; i < 4; i++)
        out[i] = k >= 0 && k < IMPORT_KINDS ? atomic_load(&counts[k][i]) : 0;
}

static int import_run(store_conn *c, const principal *who, const char *kind, FILE *in,
                      const import_options *o, import_result *r, siyu_err *e);

int import_stream(store_conn *c, const principal *who, const char *kind, FILE *in,
                  const import_options *o, import_result *r, siyu_err *e)
{
    /* order lines go to PostgreSQL by COPY, a batch's at once (store_bulk); SQLite: as is */
    store_bulk(c, true);
    int rc = import_run(c, who, kind, in, o, r, e);
    store_bulk(c, false);
    for (int k = 0; k < IMPORT_KINDS; k++)
        if (strcmp(kinds[k].kind, kind) == 0) {
            atomic_fetch_add(&counts[k][0], (unsigned long long)r->imported);
            atomic_fetch_add(&counts[k][1], (unsigned long long)r->duplicates);
            atomic_fetch_add(&counts[k][2], (unsigned long long)r->rejected);
            if (rc) atomic_fetch_add(&counts[k][3], 1);
        }
    return rc;
}

/* PostgreSQL: the months an import brought get their partitions, their rows moved out of the
 * default partition, in the import's last batch (the retention job would do it within the
 * hour; docs/scale.md); a failure fails that batch as any failed statement does. SQLite:
 * a statement that does nothing. */
static void partitions_make(store_conn *c)
{
    store_stmt *s = store_q(c, Q_PARTITIONS_MAINTAIN);
    store_bind_int(s, 1, clock_now());
    store_bind_null(s, 2); /* no retention cut-off: nothing dropped */
    store_bind_null(s, 3);
    store_step(s);
    store_reset(s); /* a failure sticks to the connection: the commit refuses */
}

static int import_run(store_conn *c, const principal *who, const char *kind, FILE *in,
                      const import_options *o, import_result *r, siyu_err *e)
{
    memset(r, 0, sizeof *r);
    r->errors = json_array();
    loader L = {.conn = c, .o = o, .r = r};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(kinds[i].kind, kind) == 0) L.fn = kinds[i].fn;
    if (!L.fn)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "kind",
                            "kind: expected brands, stores, staff, members, orders or events");
    L.d.conn = c;
    if (o->cache_mib > 0) store_conn_cache(c, o->cache_mib);
    L.d.who = *who;
    L.d.inline_refunds = true;
    if (o->on_commit) L.d.changes = &L.changes;
    /* orders and events write no store or staff row and change no member's guide: what
     * they look up stays true until another connection commits (domain/memo.h) */
    if (strcmp(kind, "orders") == 0 || strcmp(kind, "events") == 0) L.d.memo = dom_memo_new();
    import_format f = o->format == IMPORT_AUTO ? sniff(in) : o->format;
    if (store_begin(c, true, e)) {
        dom_memo_free(L.d.memo);
        return -1;
    }
    if (L.d.memo) store_conn_others_wrote(c); /* where the memo starts: from here on */
    int rc = f == IMPORT_NDJSON ? load_ndjson(&L, in, e)
                                : load_csv(&L, in, strcmp(kind, "orders") == 0, e);
    if (rc) {
        store_rollback(c); /* the open batch only: committed batches stay */
        kept_release(&L);
        free(L.kept);
        dom_changes_free(&L.changes);
        dom_memo_free(L.d.memo);
        return -1;
    }
    if (strcmp(kind, "orders") == 0 || strcmp(kind, "events") == 0) partitions_make(c);
    rc = flush(&L, e, false);
    kept_release(&L);
    free(L.kept);
    dom_changes_free(&L.changes);
    dom_memo_free(L.d.memo);
    if (rc) return -1;
    if (o->progress) o->progress(o->progress_ctx, (long long)ftell(in), r->records);
    return 0;
}
