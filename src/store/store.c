/* store.c — the storage boundary: picks the driver from the URL (postgresql:// or
 * postgres:// is PostgreSQL, anything else a SQLite file) and forwards each call. What
 * is the same on both stores happens here, around the driver's calls: errors that stick
 * to a connection, and the faults tests inject. */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/pg_internal.h"
#include "store/sqlite_internal.h"
#include "store/store_driver.h"

bool store_url_is_pg(const char *url)
{
    return url && (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0);
}

/* The statements that move the auth epoch (below), found once per process. */
static bool auth_query[Q__COUNT];
static pthread_once_t auth_once = PTHREAD_ONCE_INIT;
static void auth_queries_find(void);

int store_open(const char *url, const store_options *opt, store_t **out, siyu_err *e)
{
    *out = NULL;
    if (!url || !*url)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "db", "db: no path given (--db or SIYU_DB)");
    pthread_once(&auth_once, auth_queries_find); /* which statements move the auth epoch */
    int rc =
        (store_url_is_pg(url) ? &store_pg_driver : &store_sqlite_driver)->open(url, opt, out, e);
    if (rc == 0) {
        const char *fault = getenv("SIYU_STORE_FAULT");
        if (fault && *fault)
            store_fault_set(*out, atol(fault),
                            strstr(fault, ":busy") ? STORE_FAULT_BUSY : STORE_FAULT_IOERR);
        const char *sync_fault = getenv("SIYU_STORE_SYNC_FAULT");
        if (sync_fault && *sync_fault) store_fault_sync(*out, atol(sync_fault));
    }
    return rc;
}

/* ---- errors that stick (store.h), and injected faults ---- */

static void stick(store_conn *c, const char *msg)
{
    if (c->failed) return;
    c->failed = true;
    snprintf(c->fail_msg, sizeof c->fail_msg, "%s", msg && *msg ? msg : "store error");
}

/* Counts one step against an injected fault; returns the kind to fail with, or 0. */
static int fault_due(store_conn *c)
{
    if (c->no_faults) return 0;
    store_t *st = c->st;
    long at = atomic_load(&st->fault_at);
    if (at <= 0) return 0;
    if (atomic_fetch_add(&st->fault_seen, 1) + 1 != at) return 0;
    atomic_fetch_add(&st->fault_hits, 1);
    return st->fault_kind == STORE_FAULT_BUSY ? STORE_FAULT_BUSY : STORE_FAULT_IOERR;
}

bool store_conn_failed(store_conn *c)
{
    return c && c->failed;
}

const char *store_conn_error(store_conn *c)
{
    return c && c->failed ? c->fail_msg : "";
}

int store_conn_check(store_conn *c, siyu_err *e)
{
    if (!store_conn_failed(c)) return 0;
    /* the first error wins: a refusal set before the store failed is replaced */
    siyu_err_clear(e);
    return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: %s", c->fail_msg);
}

void store_conn_clear(store_conn *c)
{
    c->failed = false;
    c->fail_msg[0] = 0;
}

void store_fault_set(store_t *st, long n, store_fault kind)
{
    st->fault_kind = kind;
    atomic_store(&st->fault_seen, 0);
    atomic_store(&st->fault_at, n > 0 ? n : 0);
}

long store_fault_hits(store_t *st)
{
    return atomic_load(&st->fault_hits);
}

void store_close(store_t *st)
{
    if (st) st->drv->close(st);
}

int store_schema_version(store_t *st)
{
    return st->drv->schema_version(st);
}
static char node_id[96];
static pthread_once_t node_once = PTHREAD_ONCE_INIT;
static void node_id_make(void)
{
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    unsigned r = (unsigned)t.tv_nsec ^ ((unsigned)getpid() << 16);
    snprintf(node_id, sizeof node_id, "%s:%d:%08x", host, (int)getpid(), r);
}
const char *store_node_id(void)
{
    pthread_once(&node_once, node_id_make);
    return node_id;
}
bool store_shared(store_t *st)
{
    return st->drv->shared;
}
bool store_conn_remote(store_conn *c)
{
    return c->drv->remote;
}
int store_listen(store_conn *c, const char *channel, siyu_err *e)
{
    return c->drv->listen(c, channel, e);
}
int store_wait_notify(store_conn *c, int timeout_ms)
{
    return c->drv->wait_notify(c, timeout_ms);
}
int64_t store_size_bytes(store_t *st)
{
    return st->drv->size_bytes(st);
}
const char *store_path(store_t *st)
{
    return st->drv->path(st);
}

int store_conn_open(store_t *st, store_conn **out, siyu_err *e)
{
    return st->drv->conn_open(st, out, e);
}

void store_conn_close(store_conn *c)
{
    if (c) c->drv->conn_close(c);
}

void store_bulk(store_conn *c, bool on)
{
    c->bulk = on; /* a deferred write counts no changes when stepped (view_dirty) */
    if (c->drv->bulk) c->drv->bulk(c, on);
}

void store_conn_cache(store_conn *c, int mib)
{
    c->drv->conn_cache(c, mib);
}

bool store_conn_others_wrote(store_conn *c)
{
    if (c->drv->conn_others_wrote) return c->drv->conn_others_wrote(c);
    /* Every write transaction moves the change sequence by one in its commit (above), so
     * the sequence tells: as this connection's own commits left it, nobody else wrote. A
     * commit that rolled back after its bump only makes the answer yes, as does a failure
     * to read it (which also stops the transaction, as any failed read does). */
    int64_t seq, tag;
    siyu_err e;
    siyu_err_init(&e);
    if (store_change_seq(c, &seq, &tag, &e)) {
        siyu_err_clear(&e);
        c->seq_known = false;
        return true;
    }
    bool others = !c->seq_known || c->seq_others || seq != c->seq_seen;
    /* what moved the sequence past this connection's own commits is taken as seen from here
     * on (seq_seen): the kept member 360s must not miss it (view_stamps.c) */
    if (others) store_view_bump();
    c->seq_seen = seq;
    c->seq_known = true;
    c->seq_others = false;
    return others;
}

void store_conn_writer(store_conn *c)
{
    if (c->drv->conn_writer) c->drv->conn_writer(c);
}

bool store_conn_defer_sync(store_conn *c)
{
    return c->drv->conn_defer_sync && c->drv->conn_defer_sync(c);
}

bool store_conn_sync_commits(store_conn *c, bool sync)
{
    return c->drv->conn_sync_commits && c->drv->conn_sync_commits(c, sync);
}

int store_sync_now(store_conn *c, siyu_err *e)
{
    if (!c->drv->sync) return 0;
    store_slow_sync_wait();
    long at = atomic_load(&c->st->sync_fault_at);
    if (at > 0 && atomic_fetch_add(&c->st->sync_seen, 1) + 1 == at)
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: sync: disk I/O error (injected)");
    return c->drv->sync(c, e);
}

void store_fault_sync(store_t *st, long n)
{
    atomic_store(&st->sync_seen, 0);
    atomic_store(&st->sync_fault_at, n > 0 ? n : 0);
}

static atomic_long slow_sync_us;

void store_slow_sync(long us)
{
    atomic_store(&slow_sync_us, us > 0 ? us : 0);
}

void store_slow_sync_wait(void)
{
    long us = atomic_load(&slow_sync_us);
    if (us <= 0) return;
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}
/* ---- the auth epoch (store.h) ----
 * The statements that write tokens or staff are found in the query texts themselves (both
 * drivers write the same tables), so a query added later is counted without a list to
 * keep. A token's last use (TOKEN_TOUCH) changes nothing a cache keeps but the time. */
static _Atomic uint64_t auth_epoch;

/* The words of a query text, lower-cased, string literals and schema qualifiers
 * ("main.", "public.") skipped, quotes around names dropped: what a write's table is
 * found among, whatever its case, spacing or conflict clause. */
bool store_sql_next_word(const char **sp, char *w, size_t cap)
{
    const char *s = *sp;
    for (;;) {
        while (*s && !(isalnum((unsigned char)*s) || *s == '_' || *s == '\'' || *s == '"'))
            s++;
        if (!*s) return false;
        if (*s == '\'') { /* a literal: 'it''s' is one */
            for (s++; *s; s++)
                if (*s == '\'' && *++s != '\'') break;
            continue;
        }
        bool quoted = *s == '"';
        if (quoted) s++;
        size_t n = 0;
        while (*s && (isalnum((unsigned char)*s) || *s == '_' || *s == '$')) {
            if (n + 1 < cap) w[n++] = (char)tolower((unsigned char)*s);
            s++;
        }
        w[n] = 0;
        if (quoted && *s == '"') s++;
        if (*s == '.') { /* a schema's name: the table's follows */
            s++;
            continue;
        }
        *sp = s;
        if (n) return true;
        if (*s) s++;
        *sp = s;
    }
}

void store_sql_each_write(const char *sql, void (*fn)(const char *table, void *arg), void *arg)
{
    char w[3][64] = {"", "", ""}, cur[64]; /* w[0] the word before, w[1] the one before it */
    static const char *const conflict[] = {"ignore", "replace", "abort", "fail", "rollback", NULL};
    for (const char *p = sql; store_sql_next_word(&p, cur, sizeof cur);) {
        const char *a = w[0], *b = w[1], *c = w[2];
        if (strcmp(a, "only") == 0) { /* PostgreSQL: UPDATE ONLY t, DELETE FROM ONLY t */
            a = b;
            b = c;
            c = "";
        }
        bool target = strcmp(a, "update") == 0 || strcmp(a, "into") == 0 ||
                      strcmp(a, "truncate") == 0 ||
                      (strcmp(a, "table") == 0 && strcmp(b, "truncate") == 0) ||
                      (strcmp(a, "from") == 0 && strcmp(b, "delete") == 0);
        for (int k = 0; conflict[k] && !target; k++) /* UPDATE OR IGNORE t */
            target =
                strcmp(a, conflict[k]) == 0 && strcmp(b, "or") == 0 && strcmp(c, "update") == 0;
        /* an upsert's DO UPDATE SET names no table; ONLY is followed by the table */
        if (target && strcmp(cur, "set") != 0 && strcmp(cur, "only") != 0) fn(cur, arg);
        memcpy(w[2], w[1], sizeof w[2]);
        memcpy(w[1], w[0], sizeof w[1]);
        memcpy(w[0], cur, sizeof w[0]);
    }
}

typedef struct writes_one {
    const char *table;
    bool found;
} writes_one;

static void writes_one_fn(const char *table, void *arg)
{
    writes_one *k = arg;
    if (strcmp(table, k->table) == 0) k->found = true;
}

bool store_sql_writes_table(const char *sql, const char *table)
{
    writes_one k = {table, false};
    store_sql_each_write(sql, writes_one_fn, &k);
    return k.found;
}

static bool writes_auth(const char *sql)
{
    return sql && (store_sql_writes_table(sql, "tokens") || store_sql_writes_table(sql, "staff"));
}

/* Either engine's text counts: a PostgreSQL text may do in one statement (a CTE, an
 * UPDATE … FROM) what SQLite's does otherwise. */
static void auth_queries_find(void)
{
    for (int q = 0; q < Q__COUNT; q++)
        auth_query[q] =
            q != Q_TOKEN_TOUCH && (writes_auth(sqlite_queries[q]) || writes_auth(pg_queries[q]));
}

bool store_query_changes_auth(store_query q)
{
    pthread_once(&auth_once, auth_queries_find);
    return q >= 0 && q < Q__COUNT && auth_query[q];
}

uint64_t store_auth_epoch(void)
{
    return atomic_load(&auth_epoch);
}

static void auth_settle(store_conn *c)
{
    if (!c->auth_dirty) return;
    c->auth_dirty = false;
    atomic_fetch_add(&auth_epoch, 1);
}

int store_begin(store_conn *c, bool write, siyu_err *e)
{
    store_conn_clear(c); /* a new transaction starts clean */
    c->tx_write = write;
    c->tx_changes0 = write && c->drv->total_changes ? c->drv->total_changes(c) : -1;
    return c->drv->begin(c, write, e);
}

/* Every write transaction moves the store's change sequence in its own commit (one UPDATE
 * of one row), whatever wrote: the group committer, the import, the CLI, a model fit, the
 * demo. A snapshot of the views names the sequence it was taken at (views/snapshot.c). It
 * is stepped through the driver: injected faults count the caller's own steps only. */
static int bump_change_seq(store_conn *c, siyu_err *e)
{
    store_stmt *s = c->drv->q(c, Q_CHANGE_SEQ_BUMP);
    store_step_rc rc = s->drv->step(s);
    if (rc == STORE_DONE || rc == STORE_ROW) {
        if (rc == STORE_ROW) { /* the new sequence: this commit's, if nobody's came between */
            int64_t seq = s->drv->col_int(s, 0);
            if (c->seq_known && seq != c->seq_seen + 1) c->seq_others = true;
            /* a first commit cannot tell whether another came since the poll last looked */
            if (!c->seq_known || seq != c->seq_seen + 1) c->seq_jumped = true;
            c->seq_seen = seq;
            c->seq_known = true;
            c->seq_fresh = true;
        }
        s->drv->reset(s);
        return 0;
    }
    stick(c, s->drv->errmsg(c));
    s->drv->reset(s);
    siyu_err_set(e, SIYU_INTERNAL, NULL, "store: change sequence: %s", c->fail_msg);
    c->drv->rollback(c);
    return -1;
}

int store_change_seq(store_conn *c, int64_t *seq, int64_t *tag, siyu_err *e)
{
    bool own = !store_in_tx(c);
    if (own && store_begin(c, false, e)) return -1;
    store_stmt *s = store_q(c, Q_CHANGE_SEQ_GET);
    int rc = -1;
    if (store_step(s) == STORE_ROW) {
        *seq = store_col_int(s, 0);
        *tag = store_col_int(s, 1);
        rc = 0;
    }
    store_reset(s);
    if (store_conn_check(c, e))
        rc = -1;
    else if (rc)
        siyu_err_set(e, SIYU_INTERNAL, NULL, "store: the change sequence row is missing");
    if (own) store_rollback(c);
    return rc;
}

int store_commit(store_conn *c, siyu_err *e)
{
    if (c->failed) { /* an earlier step failed: what was read or written is not whole */
        siyu_err_set(e, SIYU_INTERNAL, NULL, "store: %s", c->fail_msg);
        c->drv->rollback(c);
        return -1;
    }
    if (fault_due(c)) {
        stick(c, "disk I/O error (injected at commit)");
        siyu_err_set(e, SIYU_INTERNAL, NULL, "store: commit: %s", c->fail_msg);
        c->drv->rollback(c);
        return -1;
    }
    /* a write transaction that changed no row (an idle job's round) leaves the sequence */
    bool changed =
        !c->drv->total_changes || c->tx_changes0 < 0 || c->drv->total_changes(c) != c->tx_changes0;
    bool bumps = c->tx_write && changed && c->drv->in_tx(c);
    if (bumps) store_view_commit_begins();
    if (bumps && bump_change_seq(c, e)) {
        store_view_settle(c, false);
        store_view_commit_ends();
        return -1;
    }
    int rc = c->drv->commit(c, e);
    auth_settle(c); /* after the commit, failed or not: a cache reads the store again */
    store_view_settle(c, rc == 0);
    if (bumps) store_view_commit_ends();
    return rc;
}
void store_rollback(store_conn *c)
{
    c->drv->rollback(c);
    auth_settle(c);
    c->view_dirty = 0; /* nothing it wrote stays */
    c->seq_fresh = c->seq_jumped = false;
}
void store_read_latest(store_conn *c)
{
    if (c->drv->read_latest) c->drv->read_latest(c);
}
bool store_in_tx(store_conn *c)
{
    return c->drv->in_tx(c);
}
int store_savepoint(store_conn *c, siyu_err *e)
{
    if (c->failed) return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: %s", c->fail_msg);
    return c->drv->savepoint(c, e);
}
void store_savepoint_release(store_conn *c)
{
    c->drv->savepoint_release(c);
}
void store_savepoint_undo(store_conn *c)
{
    c->drv->savepoint_undo(c);
}

store_stmt *store_q(store_conn *c, store_query q)
{
    if (auth_query[q]) c->auth_dirty = true; /* the table is made when a store opens */
    if (c->trace) c->trace[q] = 1;
    store_stmt *s = c->drv->q(c, q);
    if (s) s->view_class = store_view_class(q);
    return s;
}
void store_bind_int(store_stmt *s, int i, int64_t v)
{
    s->drv->bind_int(s, i, v);
}
void store_bind_text(store_stmt *s, int i, const char *v)
{
    s->drv->bind_text(s, i, v);
}
void store_bind_blob(store_stmt *s, int i, const void *v, int n)
{
    s->drv->bind_blob(s, i, v, n);
}
void store_bind_null(store_stmt *s, int i)
{
    s->drv->bind_null(s, i);
}
void store_bind_real(store_stmt *s, int i, double v)
{
    s->drv->bind_real(s, i, v);
}
store_step_rc store_step(store_stmt *s)
{
    store_conn *c = s->drv->stmt_conn(s);
    if (c->failed) { /* fail fast: the request or transaction is already lost */
        s->drv->reset(s);
        return STORE_ERROR;
    }
    int fault = fault_due(c);
    if (fault) {
        s->drv->reset(s);
        stick(c, fault == STORE_FAULT_BUSY ? "database is locked (injected)"
                                           : "disk I/O error (injected)");
        return STORE_ERROR;
    }
    store_step_rc rc = s->drv->step(s);
    if (rc == STORE_ERROR) stick(c, s->drv->errmsg(c));
    /* a write a kept 360 reads, when it changed a row (an idle job's UPDATE does not) */
    if (s->view_class &&
        (rc == STORE_ROW || (rc == STORE_DONE && (c->bulk || c->drv->changes(c) > 0))))
        c->view_dirty |= s->view_class;
    if (!c->drv->in_tx(c)) { /* it committed on its own */
        if (c->auth_dirty) auth_settle(c);
        if (c->view_dirty) store_view_settle(c, rc != STORE_ERROR);
    }
    return rc;
}

int store_exec(store_stmt *s, siyu_err *e)
{
    store_step_rc rc = store_step(s);
    if (rc == STORE_DONE || rc == STORE_ROW) {
        s->drv->reset(s);
        return 0;
    }
    store_conn *c = s->drv->stmt_conn(s);
    if (rc == STORE_CONSTRAINT)
        return siyu_err_set(e, SIYU_CONFLICT, NULL, "store: %s", s->drv->errmsg(c));
    return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: %s", c->fail_msg);
}
void store_reset(store_stmt *s)
{
    s->drv->reset(s);
}
int64_t store_col_int(store_stmt *s, int i)
{
    return s->drv->col_int(s, i);
}
const char *store_col_text(store_stmt *s, int i)
{
    return s->drv->col_text(s, i);
}
const void *store_col_blob(store_stmt *s, int i, int *n)
{
    return s->drv->col_blob(s, i, n);
}
bool store_col_null(store_stmt *s, int i)
{
    return s->drv->col_null(s, i);
}
double store_col_real(store_stmt *s, int i)
{
    return s->drv->col_real(s, i);
}
int store_col_index(store_stmt *s, const char *name)
{
    for (int k = 0; k < s->named; k++) /* resolved before: the literal's pointer */
        if (s->named_ptr[k] == name) return s->named_col[k];
    int n = s->drv->col_count(s), col = -1;
    for (int i = 0; i < n && col < 0; i++) {
        const char *cn = s->drv->col_name(s, i);
        if (cn && strcmp(cn, name) == 0) col = i;
    }
    if (col < 0) {
        fprintf(stderr, "siyu: store: the query has no column \"%s\"\n", name);
        return -1;
    }
    if (s->named < STORE_NAMED_MAX) {
        s->named_ptr[s->named] = name;
        s->named_col[s->named++] = (short)col;
    }
    return col;
}
int64_t store_col_int_by(store_stmt *s, const char *name)
{
    int i = store_col_index(s, name);
    return i < 0 ? 0 : s->drv->col_int(s, i);
}
const char *store_col_text_by(store_stmt *s, const char *name)
{
    int i = store_col_index(s, name);
    return i < 0 ? NULL : s->drv->col_text(s, i);
}
bool store_col_null_by(store_stmt *s, const char *name)
{
    int i = store_col_index(s, name);
    return i < 0 ? true : s->drv->col_null(s, i);
}
double store_col_real_by(store_stmt *s, const char *name)
{
    int i = store_col_index(s, name);
    return i < 0 ? 0 : s->drv->col_real(s, i);
}
int64_t store_col_opt_by(store_stmt *s, const char *name)
{
    int i = store_col_index(s, name);
    return i < 0 || s->drv->col_null(s, i) ? 0 : s->drv->col_int(s, i);
}
int store_col_count(store_stmt *s)
{
    return s->drv->col_count(s);
}
const char *store_col_name(store_stmt *s, int i)
{
    return s->drv->col_name(s, i);
}
store_col_kind store_col_type(store_stmt *s, int i)
{
    return s->drv->col_type(s, i);
}

int64_t store_last_id(store_conn *c)
{
    return c->drv->last_id(c);
}
int store_changes(store_conn *c)
{
    return c->drv->changes(c);
}
const char *store_errmsg(store_conn *c)
{
    return c->drv->errmsg(c);
}
store_conn *store_stmt_conn(store_stmt *s)
{
    return s->drv->stmt_conn(s);
}
