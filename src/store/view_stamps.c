/* view_stamps.c — what a member 360 kept in memory checks before it is served again.
 *
 * The 360 (GET /members/{id}) reads some twenty tables. A kept answer is stale once a
 * commit wrote any of them for that member, or wrote one every member's answer shows (a
 * store's name, the loyalty settings, a campaign). The statements a commit ran say which
 * tables it wrote (their texts, as for the auth epoch): a write to a table no 360 query
 * names changes no answer (the audit log, messages, idempotency keys); a write to a
 * member-keyed table (orders, points, reachability, ...) changes the answers of the members
 * its write names, when the connection's committer names them (store_conn_names_members and
 * store_view_touch); any other moves the epoch, which every kept answer checks. Writes this
 * process does not make (the CLI, another node) move the epoch when store_view_poll finds
 * the change sequence past this process's own commits. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_internal.h"
#include "store/sqlite_internal.h"
#include "store/store_driver.h"

static uint8_t view_class[Q__COUNT]; /* STORE_VIEW_* of each query, once defined */
static atomic_bool view_defined;
static _Atomic uint64_t view_epoch = 1;
static _Atomic uint64_t seq_accounted; /* the change sequence this process accounted for */
static atomic_int commits_in_flight;   /* this process's, between their bump and their settle */

#define TOUCH_BUCKETS 65536 /* members hash into these; a shared bucket only costs a miss */
static _Atomic uint64_t touch_clock;
static _Atomic uint64_t touched[TOUCH_BUCKETS];

/* The lower-cased identifiers of the 360's query texts: the tables it reads are among them
 * (with its columns, which only makes a write count when it need not). */
typedef struct words {
    char (*v)[64];
    size_t n, cap;
} words;

static bool words_has(const words *w, const char *s)
{
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->v[i], s) == 0) return true;
    return false;
}

static void words_add_text(words *w, const char *sql)
{
    char cur[64];
    for (const char *p = sql; p && store_sql_next_word(&p, cur, sizeof cur);) {
        if (words_has(w, cur)) continue;
        if (w->n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 128;
            w->v = realloc(w->v, w->cap * sizeof *w->v);
        }
        memcpy(w->v[w->n++], cur, sizeof cur);
    }
}

/* The schema's views and triggers (both engines' migrations): a view's words stand for its
 * name where a query reads it; a trigger's writes are its table's writes. A definition runs
 * from its CREATE to the next one (a migration's later statements may come with it, which
 * only counts more). */
typedef struct defn {
    char name[64], on[64];
    const char *start, *end;
    bool trigger;
} defn;

typedef struct defs {
    defn *v;
    size_t n, cap;
} defs;

static void defs_scan(defs *d, const char *sql)
{
    char w[64], prev[64] = "";
    const char *p = sql;
    defn *open = NULL;
    while (p) {
        const char *before = p;
        if (!store_sql_next_word(&p, w, sizeof w)) break;
        if (strcmp(w, "create") == 0 && open) {
            open->end = before;
            open = NULL;
        }
        bool view = strcmp(w, "view") == 0, trig = strcmp(w, "trigger") == 0;
        if ((view || trig) && (strcmp(prev, "create") == 0 || strcmp(prev, "temp") == 0 ||
                               strcmp(prev, "temporary") == 0 || strcmp(prev, "replace") == 0)) {
            char name[64];
            do {
                if (!store_sql_next_word(&p, name, sizeof name)) return;
            } while (strcmp(name, "if") == 0 || strcmp(name, "not") == 0 ||
                     strcmp(name, "exists") == 0);
            if (d->n == d->cap) {
                d->cap = d->cap ? d->cap * 2 : 8;
                d->v = realloc(d->v, d->cap * sizeof *d->v);
            }
            defn *x = &d->v[d->n++];
            memset(x, 0, sizeof *x);
            memcpy(x->name, name, sizeof name);
            x->trigger = trig;
            x->start = p;
            /* a view ends at its statement's end; a trigger's body holds semicolons, so it
             * ends at the next CREATE */
            x->end = trig ? NULL : strchr(p, ';');
            open = trig ? x : NULL;
            for (const char *q = p; trig && store_sql_next_word(&q, w, sizeof w);)
                if (strcmp(w, "on") == 0) { /* ... ON table */
                    store_sql_next_word(&q, x->on, sizeof x->on);
                    break;
                }
        }
        memcpy(prev, w, sizeof prev);
    }
}

static void defs_read(defs *d, const char *const *migrations, int n)
{
    for (int i = 0; i < n; i++)
        if (migrations[i]) defs_scan(d, migrations[i]);
}

/* A definition's text, NUL-terminated (freed by the caller). */
static char *defn_text(const defn *x)
{
    size_t n = x->end ? (size_t)(x->end - x->start) : strlen(x->start);
    char *t = malloc(n + 1);
    memcpy(t, x->start, n);
    t[n] = 0;
    return t;
}

typedef struct classify {
    const words *read;
    const char *const *member_tables;
    uint8_t cls;
    int depth;
} classify;

static const defs *schema;

static void on_target(const char *table, void *arg)
{
    classify *k = arg;
    /* what its triggers write, it writes */
    for (size_t i = 0; schema && i < schema->n && k->depth < 4; i++)
        if (schema->v[i].trigger && strcmp(schema->v[i].on, table) == 0) {
            char *t = defn_text(&schema->v[i]);
            k->depth++;
            store_sql_each_write(t, on_target, k);
            k->depth--;
            free(t);
        }
    if (!words_has(k->read, table)) return;
    bool keyed = false;
    for (size_t i = 0; k->member_tables[i] && !keyed; i++)
        keyed = strcmp(k->member_tables[i], table) == 0;
    k->cls |= keyed ? STORE_VIEW_MEMBER : STORE_VIEW_GLOBAL;
}

void store_view_define(const store_query *reads, size_t n, const char *const *member_tables,
                       const store_query *exempt, size_t n_exempt)
{
    if (atomic_load(&view_defined)) return;
    defs d = {0};
    defs_read(&d, sqlite_migrations, sqlite_migration_count);
    defs_read(&d, pg_migrations, pg_migration_count);
    schema = &d;
    words w = {0};
    for (size_t i = 0; i < n; i++) {
        words_add_text(&w, sqlite_queries[reads[i]]);
        words_add_text(&w, pg_queries[reads[i]]);
    }
    /* a view read is its tables read */
    for (bool more = true; more;) {
        more = false;
        for (size_t i = 0; i < d.n; i++)
            if (!d.v[i].trigger && words_has(&w, d.v[i].name) && d.v[i].name[0]) {
                size_t before = w.n;
                char *t = defn_text(&d.v[i]);
                words_add_text(&w, t);
                free(t);
                d.v[i].name[0] = 0; /* once */
                more = more || w.n > before;
            }
    }
    /* either engine's text counts, as for the auth epoch */
    for (int q = 0; q < Q__COUNT; q++) {
        classify k = {&w, member_tables, 0, 0};
        if (sqlite_queries[q]) store_sql_each_write(sqlite_queries[q], on_target, &k);
        if (pg_queries[q]) store_sql_each_write(pg_queries[q], on_target, &k);
        view_class[q] = k.cls;
    }
    for (size_t i = 0; i < n_exempt; i++)
        view_class[exempt[i]] = 0;
    schema = NULL;
    free(d.v);
    free(w.v);
    atomic_store(&view_defined, true);
}

uint8_t store_view_class(store_query q)
{
    return q >= 0 && q < Q__COUNT ? view_class[q] : 0;
}

uint64_t store_view_epoch(void)
{
    return atomic_load(&view_epoch);
}

void store_view_bump(void)
{
    atomic_fetch_add(&view_epoch, 1);
}

/* *a = max(*a, v): two raisers may race, the larger value wins. */
static void raise_to(_Atomic uint64_t *a, uint64_t v)
{
    uint64_t was = atomic_load(a);
    while (was < v && !atomic_compare_exchange_weak(a, &was, v)) {
    }
}

static uint32_t bucket(int64_t member)
{
    uint64_t x = (uint64_t)member * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(x >> 48) & (TOUCH_BUCKETS - 1);
}

uint64_t store_view_clock(void)
{
    return atomic_load(&touch_clock);
}

void store_view_touch(int64_t member)
{
    /* two touches of one bucket may store out of order: the later stamp wins */
    raise_to(&touched[bucket(member)], atomic_fetch_add(&touch_clock, 1) + 1);
}

bool store_view_touched_since(int64_t member, uint64_t clock)
{
    return atomic_load(&touched[bucket(member)]) > clock;
}

/* After a commit on c (store.c): the epoch moves for what no member names. */
void store_view_settle(store_conn *c, bool committed)
{
    uint8_t d = c->view_dirty;
    c->view_dirty = 0;
    if (committed && c->seq_fresh) {
        if (c->seq_jumped) store_view_bump(); /* someone else committed since our last one */
        raise_to(&seq_accounted, (uint64_t)c->seq_seen);
    }
    c->seq_fresh = c->seq_jumped = false;
    if ((d & STORE_VIEW_GLOBAL) || ((d & STORE_VIEW_MEMBER) && !c->names_members))
        store_view_bump();
}

void store_view_commit_begins(void)
{
    atomic_fetch_add(&commits_in_flight, 1);
}

void store_view_commit_ends(void)
{
    atomic_fetch_sub(&commits_in_flight, 1);
}

int store_view_poll(store_conn *c, siyu_err *e)
{
    int64_t seq, tag;
    if (store_change_seq(c, &seq, &tag, e)) return -1;
    /* read after the sequence: a commit of ours that the sequence holds is either still in
     * flight or accounted for by now (settled before it stops counting) */
    bool ours_in_flight = atomic_load(&commits_in_flight) > 0;
    if ((uint64_t)seq <= atomic_load(&seq_accounted)) return 0;
    /* perhaps our own, not yet accounted: the next poll decides (another process's commit
     * in between makes our committer's next sequence jump, which moves the epoch too) */
    if (ours_in_flight) return 0;
    /* a commit this process did not make (or made a moment ago, which costs a miss) */
    store_view_bump();
    raise_to(&seq_accounted, (uint64_t)seq);
    return 1;
}

void store_conn_names_members(store_conn *c, bool on)
{
    c->names_members = on;
}

void store_conn_trace(store_conn *c, uint8_t *seen)
{
    c->trace = seen;
}

void store_conn_no_faults(store_conn *c)
{
    c->no_faults = true;
}
