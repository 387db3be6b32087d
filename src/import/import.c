/* import.c — the bulk loader: records in, domain calls out, batches committed. */
#include "import/import.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "domain/domain.h"
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

static const struct {
    const char *kind;
    import_fn fn;
} kinds[] = {
    {"brands", brands_create},   {"stores", stores_create}, {"staff", staff_create},
    {"members", members_create_or_match}, {"orders", orders_create}, {"events", events_record},
};

/* CSV columns that hold integers; every other column is text. */
static const char *const int_columns[] = {
    "store_id", "guide_id", "brand_id", "member_id", "total_cents", "discount_cents",
    "points_used", "qty", "unit_price_cents", "amount_cents", NULL};
/* CSV columns "member_phone" etc. become the member object of orders and events. */
static const char *const member_prefix = "member_";
/* CSV columns of an order row that describe its item. */
static const char *const item_columns[] = {"sku", "category", "item_name", "qty",
                                           "unit_price_cents", NULL};

void import_options_init(import_options *o)
{
    memset(o, 0, sizeof *o);
    o->batch_size = 5000;
    o->max_errors_kept = 100;
    o->cache_mib = 256;
}

bool import_kind_known(const char *kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(kinds[i].kind, kind) == 0)
            return true;
    return false;
}

static bool in_list(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

typedef struct loader {
    store_conn *conn;
    dom d;
    dom_changes changes;
    import_fn fn;
    const import_options *o;
    import_result *r;
    long pending; /* records in the open transaction */
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
    } *kept;
    size_t nkept, kept_cap;
    long long batch_imported, batch_duplicates; /* the counters when the batch began */
    unsigned long batch_seq;                    /* batches committed so far */
} loader;

static void reject(loader *L, long line, const char *field, siyu_code code, const char *msg)
{
    L->r->rejected++;
    if (L->o->reject_log)
        fprintf(L->o->reject_log, "line %ld: %s\n", line, msg);
    if ((long)json_array_size(L->r->errors) < L->o->max_errors_kept) {
        json_t *err = json_pack("{s:I, s:s, s:s}", "line", (json_int_t)line, "code",
                                siyu_code_name(code), "message", msg);
        if (field && *field)
            json_object_set_new(err, "field", json_string(field));
        json_array_append_new(L->r->errors, err);
    }
}

static void kept_release(loader *L)
{
    for (size_t i = 0; i < L->nkept; i++)
        json_decref(L->kept[i].rec);
    L->nkept = 0;
}

static int flush(loader *L, siyu_err *e, bool reopen)
{
    if (store_commit(L->conn, e))
        return -1;
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
    return reopen ? store_begin(L->conn, true, e) : 0;
}

static void count_result(loader *L, int rc)
{
    if (rc == 201)
        L->r->imported++;
    else
        L->r->duplicates++;
}

/* Runs one record inside a savepoint. Returns -1 only when the store itself failed. */
static int run_careful(loader *L, json_t *rec, long line, siyu_err *fatal)
{
    siyu_err e;
    siyu_err_init(&e);
    if (store_savepoint(L->conn, fatal))
        return -1;
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
        reject(L, line, e.field, e.code, e.message);
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
    L->changes.n = 0;
    L->r->imported = L->batch_imported;
    L->r->duplicates = L->batch_duplicates;
    L->careful = true;
    if (store_begin(L->conn, true, fatal))
        return -1;
    for (size_t i = 0; i < L->nkept; i++)
        if (run_careful(L, L->kept[i].rec, L->kept[i].line, fatal))
            return -1;
    return 0;
}

static int keep(loader *L, json_t *rec, long line, siyu_err *fatal)
{
    if (L->nkept == L->kept_cap) {
        size_t cap = L->kept_cap ? L->kept_cap * 2 : 1024;
        struct kept_rec *k = realloc(L->kept, cap * sizeof *k);
        if (!k)
            return siyu_err_set(fatal, SIYU_INTERNAL, NULL, "import: out of memory");
        L->kept = k;
        L->kept_cap = cap;
    }
    L->kept[L->nkept++] = (struct kept_rec){json_incref(rec), line};
    return 0;
}

/* Feeds one record to the domain. Returns -1 only when the store itself failed (the
 * import must stop); a rejected record returns 0. The record is used again only until
 * its batch commits. */
static int load_one(loader *L, json_t *rec, long line, size_t bytes, siyu_err *fatal)
{
    L->r->records++;
    if (L->careful) {
        if (run_careful(L, rec, line, fatal))
            return -1;
    } else {
        if (keep(L, rec, line, fatal))
            return -1;
        siyu_err e;
        siyu_err_init(&e);
        L->d.now = clock_now();
        int rc = L->fn(&L->d, rec, NULL, &e);
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
            if (replay_careful(L, fatal))
                return -1;
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
 * ahead while this thread writes: a two-stage pipeline over blocks of records. The
 * queue is bounded, so memory stays a few blocks whatever the file size. */
#define BLOCK_RECORDS 512
#define BLOCK_BYTES (256u << 10)
#define QUEUE_BYTES (1u << 20) /* text queued ahead; one block always fits, however large */
#define QUEUE_BLOCKS 8

typedef struct parsed {
    json_t *rec;   /* NULL when the line was rejected while parsing */
    long line;
    size_t bytes;  /* the line's length */
    siyu_err err;  /* the parse error of a rejected line */
} parsed;

typedef struct block {
    parsed recs[BLOCK_RECORDS];
    int n;
    long long bytes; /* file position after the block, for the progress bar */
    size_t text;     /* bytes of text in the block's records */
    unsigned long batch; /* the writer's batch its last record went into */
    struct block *next_done;
} block;

typedef struct pipeline {
    FILE *in;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    block *queue[QUEUE_BLOCKS];
    int head, count;
    size_t queued_text; /* text of the queued blocks: bounded by QUEUE_BYTES */
    bool eof, cancel;
    /* blocks the writer is done with go back to the reader, which frees them: memory is
     * freed by the thread that allocated it, which glibc's malloc does much faster */
    block *done;
} pipeline;

static void free_block(block *b)
{
    for (int i = 0; i < b->n; i++) {
        json_decref(b->recs[i].rec);
        siyu_err_clear(&b->recs[i].err);
    }
    free(b);
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

static void *ndjson_reader(void *arg)
{
    pipeline *p = arg;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    block *b = calloc(1, sizeof *b);
    size_t block_bytes = 0, limit = max_record();
    for (;;) {
        n = getline(&line, &cap, p->in);
        if (n >= 0) {
            lineno++;
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = 0;
            size_t skip = 0;
            while (skip < (size_t)n && isspace((unsigned char)line[skip]))
                skip++;
            if (skip == (size_t)n)
                continue; /* blank lines are not records */
            parsed *r = &b->recs[b->n++];
            siyu_err_init(&r->err);
            r->line = lineno;
            r->bytes = (size_t)n;
            block_bytes += (size_t)n;
            if ((size_t)n > limit) {
                r->rec = NULL;
                siyu_err_set(&r->err, SIYU_PAYLOAD_TOO_LARGE, NULL, "record: longer than %zu bytes",
                             limit);
            } else {
                r->rec = jx_parse(line, (size_t)n, false, &r->err);
            }
        }
        if (b->n == BLOCK_RECORDS || block_bytes >= BLOCK_BYTES || (n < 0 && b->n > 0)) {
            b->text = block_bytes;
            block_bytes = 0;
            b->bytes = (long long)ftell(p->in);
            pthread_mutex_lock(&p->lock);
            while ((p->count == QUEUE_BLOCKS ||
                    (p->count > 0 && p->queued_text + b->text > QUEUE_BYTES)) &&
                   !p->cancel)
                pthread_cond_wait(&p->changed, &p->lock);
            if (p->cancel) {
                pthread_mutex_unlock(&p->lock);
                break;
            }
            p->queue[(p->head + p->count) % QUEUE_BLOCKS] = b;
            p->count++;
            p->queued_text += b->text;
            pthread_cond_broadcast(&p->changed);
            pthread_mutex_unlock(&p->lock);
            free_done(p);
            b = calloc(1, sizeof *b);
        }
        if (n < 0)
            break;
    }
    free_block(b);
    free(line);
    pthread_mutex_lock(&p->lock);
    p->eof = true;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static block *next_block(pipeline *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->count == 0 && !p->eof)
        pthread_cond_wait(&p->changed, &p->lock);
    block *b = NULL;
    if (p->count) {
        b = p->queue[p->head];
        p->head = (p->head + 1) % QUEUE_BLOCKS;
        p->count--;
        p->queued_text -= b->text;
        pthread_cond_broadcast(&p->changed);
    }
    pthread_mutex_unlock(&p->lock);
    return b;
}

static int load_ndjson(loader *L, FILE *in, siyu_err *e)
{
    pipeline p = {.in = in};
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.changed, NULL);
    pthread_t reader;
    pthread_create(&reader, NULL, ndjson_reader, &p);
    int rc = 0;
    block *b, *held = NULL;
    while ((b = next_block(&p))) {
        for (int i = 0; i < b->n; i++) {
            parsed *r = &b->recs[i];
            if (rc == 0) {
                if (!r->rec) {
                    L->r->records++;
                    reject(L, r->line, r->err.field, r->err.code, r->err.message);
                } else {
                    rc = load_one(L, r->rec, r->line, r->bytes, e);
                }
            }
        }
        if (L->o->progress)
            L->o->progress(L->o->progress_ctx, b->bytes, L->r->records);
        /* the kept references keep a replayable record alive on their own; a block
         * stays here until its batch commits so that the record's last reference is
         * the block's, dropped by the reader that allocated it (see pipeline.done) */
        b->batch = L->batch_seq;
        b->next_done = held;
        held = b;
        block **link = &held, *give = NULL;
        while (*link) {
            block *h = *link;
            if (h->batch < L->batch_seq || !L->pending) {
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
    /* the batch still open keeps its records (import_stream commits or drops it) */
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
    char **names;
    size_t n;
} csv_header;

/* Sets one cell on the record; a bad integer is reported by returning -1 with e. */
static int set_cell(json_t *obj, const char *col, const char *val, siyu_err *e)
{
    if (!*val)
        return 0; /* an empty cell is an absent field */
    if (in_list(int_columns, col)) {
        char *end;
        long long v = strtoll(val, &end, 10);
        if (*end || end == val)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, col, "%s: not an integer", col);
        json_object_set_new(obj, col, json_integer(v));
    } else if (strcmp(col, "props") == 0) {
        json_t *p = jx_parse(val, strlen(val), false, e);
        if (!p)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, col, "props: not a JSON object");
        json_object_set_new(obj, col, p);
    } else {
        json_object_set_new(obj, col, json_string(val));
    }
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
    if (item)
        *item = orders ? json_object() : NULL;
    for (size_t i = 0; i < h->n; i++) {
        const char *col = h->names[i], *val = csv_field(cr, i);
        json_t *target = rec;
        const char *key = col;
        if (orders && in_list(item_columns, col)) {
            target = *item;
            key = strcmp(col, "item_name") == 0 ? "name" : col;
        } else if (strncmp(col, member_prefix, strlen(member_prefix)) == 0 &&
                   strcmp(col, "member_id") != 0) {
            if (!*val)
                continue;
            if (!member)
                member = json_object();
            target = member;
            key = col + strlen(member_prefix);
        }
        if (set_cell(target, key, val, e)) {
            json_decref(rec);
            json_decref(member);
            if (item)
                json_decref(*item);
            return NULL;
        }
    }
    if (member)
        json_object_set_new(rec, "member", member);
    return rec;
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
    h.n = cr.nfields;
    h.names = calloc(h.n, sizeof *h.names);
    for (size_t i = 0; i < h.n; i++) {
        const char *name = csv_field(&cr, i);
        if (i == 0 && strncmp(name, "\xEF\xBB\xBF", 3) == 0) /* a UTF-8 byte-order mark */
            name += 3;
        h.names[i] = strdup(name);
    }
    /* Orders: consecutive rows with the same channel and external_id are one order. */
    json_t *pending = NULL;
    long pending_line = 0;
    size_t pending_bytes = 0, lines_cap = (size_t)orders_max_lines();
    char pending_key[300] = "";
    long long pos = ftell(in);
    for (;;) {
        int got = csv_next(&cr, &line);
        long long now_pos = ftell(in);
        size_t row_bytes = now_pos > pos ? (size_t)(now_pos - pos) : 0;
        pos = now_pos;
        if (got == 0)
            break;
        if (got < 0) {
            L->r->records++;
            reject(L, line, NULL, SIYU_INVALID_ARGUMENT, "record: malformed CSV quoting");
            continue;
        }
        if (cr.nfields == 1 && !*csv_field(&cr, 0))
            continue; /* blank line */
        siyu_err pe;
        siyu_err_init(&pe);
        json_t *item = NULL;
        json_t *rec = row_to_json(&h, &cr, orders, &item, &pe);
        if (!rec) {
            L->r->records++;
            char msg[300];
            snprintf(msg, sizeof msg, "%s", pe.message);
            reject(L, line, pe.field, pe.code, msg);
            continue;
        }
        if (orders) {
            char key[300];
            const char *ch = json_string_value(json_object_get(rec, "channel"));
            const char *ext = json_string_value(json_object_get(rec, "external_id"));
            snprintf(key, sizeof key, "%s\x1f%s", ch ? ch : "", ext ? ext : "");
            if (pending && strcmp(key, pending_key) == 0) {
                /* one line past the cap is enough for the order to be refused naming
                 * items; more would only grow memory */
                json_t *items = json_object_get(pending, "items");
                if (json_array_size(items) <= lines_cap) json_array_append(items, item);
                json_decref(item);
                json_decref(rec);
                pending_bytes += row_bytes;
                continue;
            }
            if (pending) {
                rc = load_one(L, pending, pending_line, pending_bytes, e);
                json_decref(pending);
                pending = NULL;
                if (rc)
                    break;
            }
            json_object_set_new(rec, "items", json_array());
            json_array_append_new(json_object_get(rec, "items"), item);
            pending = rec;
            pending_line = line;
            pending_bytes = row_bytes;
            snprintf(pending_key, sizeof pending_key, "%s", key);
            continue;
        }
        rc = load_one(L, rec, line, row_bytes, e);
        json_decref(rec);
        if (rc)
            break;
        if (L->o->progress && L->pending == 0)
            L->o->progress(L->o->progress_ctx, (long long)ftell(in), L->r->records);
    }
    if (pending) {
        if (!rc) rc = load_one(L, pending, pending_line, pending_bytes, e);
        json_decref(pending);
    }
    for (size_t i = 0; i < h.n; i++)
        free(h.names[i]);
    free(h.names);
    csv_free(&cr);
    return rc;
}

static import_format sniff(FILE *in)
{
    int c;
    while ((c = getc(in)) != EOF && isspace(c))
        ;
    if (c != EOF)
        ungetc(c, in);
    return c == '{' ? IMPORT_NDJSON : IMPORT_CSV;
}

int import_stream(store_conn *c, const principal *who, const char *kind, FILE *in,
                  const import_options *o, import_result *r, siyu_err *e)
{
    memset(r, 0, sizeof *r);
    r->errors = json_array();
    loader L = {.conn = c, .o = o, .r = r};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(kinds[i].kind, kind) == 0)
            L.fn = kinds[i].fn;
    if (!L.fn)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "kind",
                            "kind: expected brands, stores, staff, members, orders or events");
    L.d.conn = c;
    if (o->cache_mib > 0)
        store_conn_cache(c, o->cache_mib); /* an import writes long runs of index pages */
    L.d.who = *who;
    L.d.inline_refunds = true;
    if (o->on_commit)
        L.d.changes = &L.changes;
    import_format f = o->format == IMPORT_AUTO ? sniff(in) : o->format;
    if (store_begin(c, true, e))
        return -1;
    int rc = f == IMPORT_NDJSON ? load_ndjson(&L, in, e) : load_csv(&L, in, strcmp(kind, "orders") == 0, e);
    if (rc) {
        store_rollback(c); /* the open batch only: committed batches stay */
        kept_release(&L);
        free(L.kept);
        dom_changes_free(&L.changes);
        return -1;
    }
    rc = flush(&L, e, false);
    kept_release(&L);
    free(L.kept);
    dom_changes_free(&L.changes);
    if (rc)
        return -1;
    if (o->progress)
        o->progress(o->progress_ctx, (long long)ftell(in), r->records);
    return 0;
}
