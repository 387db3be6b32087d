/* store_pg.c — the PostgreSQL driver behind store.h (a postgresql:// URL).
 *
 * One libpq connection per store_conn; every named query is prepared once per connection
 * (as "qN") on first use, its ?N parameters written $N, their types inferred by the server
 * from the text and the values sent as text (blobs as binary). A statement runs when first
 * stepped and its rows are read whole — a scan of a whole table (SCAN_*) inside a
 * transaction through a cursor, a batch at a time — so the domain may run other statements
 * on the same connection while it walks them, as it does on SQLite.
 *
 * What stands in for SQLite's habits:
 * - BEGIN IMMEDIATE: a write transaction takes a transaction-level advisory lock, so
 *   writers queue — in this process on a mutex first, across processes on the lock — and
 *   each sees every earlier commit, as SQLite's one writer does. Read transactions are
 *   REPEATABLE READ: one snapshot, like a WAL reader.
 * - A failed statement leaves a SQLite transaction usable; PostgreSQL aborts the whole
 *   transaction. So inside a transaction an INSERT runs under its own savepoint (sent
 *   with the statement in one pipeline: one round trip), undone when it fails, and the
 *   domain may go on as it does on SQLite (retry a coupon code, report a conflict). Other
 *   failed statements fail their request, which the domain undoes to its savepoint.
 * - last_insert_rowid: the INSERT texts end in RETURNING id, kept by the driver.
 * - PRAGMA user_version: a schema_migrations table, one row per migration run.
 * - synchronous=NORMAL: synchronous_commit=off (survives a crash of siyu, not of the
 *   database server's machine).
 * A connection the server dropped while idle (a restart, a failover) is opened again when
 * the next transaction begins; a statement outside a transaction fails once. */
#include <libpq-fe.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "store/pg_internal.h"
#include "store/store_driver.h"

/* advisory lock keys: the writers' queue, and migrations ("siyu", "sigr") */
#define PG_WRITE_LOCK 0x73697975LL
#define PG_MIGRATE_LOCK 0x73696772LL
#define BYTEAOID 17
#define BOOLOID 16

typedef struct pg_store {
    store_t base;
    char *url;   /* what libpq connects with */
    char *shown; /* the URL with any password hidden, for messages and logs */
    store_options opt;
    int schema_version;
    pthread_mutex_t write_lock; /* writers of this process queue here, in order */
    pthread_mutex_t admin_lock; /* guards admin, the connection of store_size_bytes */
    PGconn *admin;
} pg_store;

struct pg_conn;
static int copy_flush(struct pg_conn *c);

typedef struct pg_stmt {
    store_stmt base;
    struct pg_conn *conn;
    store_query q;
    bool prepared;
    bool returns_id;       /* INSERT ... RETURNING id: the id goes to store_last_id */
    bool is_write;         /* not a SELECT: counts store_changes */
    bool guarded;          /* an INSERT: runs under a statement savepoint inside a transaction */
    bool scan;             /* a scan of a whole table: read through a cursor inside a transaction */
    signed char sees_kept; /* the text names a table rows are kept for (1), or not (-1); 0: not
                            * looked yet (see bulk loading) */
    char *sql;             /* the text sent ($N), for the cursor's DECLARE */
    Oid types[64];         /* the parameter types given at PREPARE (0: inferred) */
    bool cursor;           /* rows come from the cursor named cursor_name, in batches */
    char cursor_name[32];
    int nparams;
    const char **values;
    int *lengths, *formats;
    char (*num)[32]; /* the text of numbers bound */
    PGresult *res;   /* the rows, once run; NULL before and after */
    PGresult *desc;  /* the columns, described before the statement runs */
    int row;
    struct pg_blob {
        unsigned char *p;
        size_t n;
    } * blobs; /* unescaped bytea columns of the current row */
    int nblobs;
} pg_stmt;

typedef struct pg_conn {
    store_conn base;
    pg_store *store;
    PGconn *pg;
    bool holds_write_lock;
    bool in_tx; /* between store_begin and its commit or rollback */
    int64_t last_id;
    int changes;
    unsigned cursors; /* cursors declared, for their names */
    /* Commands owed to the server, sent ahead of the next statement in its pipeline (or
     * with COMMIT): a read transaction's BEGIN, savepoints set and released. Each would
     * otherwise cost a round trip, and a request's savepoint often encloses no statement
     * at all. */
    const char *pending[16];
    int npending;
    /* Bulk loading (store_bulk): order rows and lines are kept here as COPY text instead of
     * being inserted one round trip each, and sent with a COPY each before anything that
     * could see them — a statement naming orders, order_keys or order_items, a savepoint
     * set, released or undone, the commit; a rollback drops them. */
    bool bulk;
    int savepoints; /* record savepoints open (pg_savepoint): order rows go one by one there */
    struct copy_buf {
        char *p;
        size_t len, cap;
    } copy[2];         /* COPY_ORDERS, COPY_LINES: sent in that order */
    int64_t ids[1024]; /* order ids taken ahead from the sequence in this transaction */
    int ids_at, ids_n, ids_ask;
    uint32_t kept_keys[4096]; /* the kept order rows' keys, a bit a hash (see key_hash) */
    char err[512];
    pg_stmt stmts[Q__COUNT];
} pg_conn;

static void quiet_notices(void *arg, const char *msg)
{
    (void)arg;
    (void)msg; /* "relation exists, skipping" and the like: not errors, not for the log */
}

/* libpq's message on one line (it breaks lines and indents hints): siyu reports one line. */
static const char *one_line(const char *msg, char *buf, size_t cap)
{
    size_t n = 0;
    for (const char *p = msg ? msg : ""; *p && n + 1 < cap; p++) {
        char ch = *p == '\n' || *p == '\t' ? ' ' : *p;
        if (ch == ' ' && (n == 0 || buf[n - 1] == ' ')) continue;
        buf[n++] = ch;
    }
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = 0;
    return buf;
}

static void set_err(pg_conn *c, const char *what, const char *msg)
{
    char line[480];
    one_line(msg, line, sizeof line);
    snprintf(c->err, sizeof c->err, "%s%s%s", what ? what : "", what ? ": " : "",
             line[0] ? line : "failed");
}

/* Hides the password of a postgresql://user:password@host/db?password=… URL. */
static char *shown_url(const char *url)
{
    size_t cap = strlen(url) + 8;
    char *out = malloc(cap);
    snprintf(out, cap, "%s", url);
    const char *p = strstr(url, "://");
    if (!p) return out;
    p += 3;
    const char *at = strchr(p, '@'), *slash = strchr(p, '/');
    const char *colon = at && !(slash && slash < at) ? memchr(p, ':', (size_t)(at - p)) : NULL;
    if (colon) {
        size_t head = (size_t)(colon + 1 - url);
        snprintf(out + head, cap - head, "***%s", at);
    }
    char *q = strchr(out, '?');
    char *pw = q ? strstr(q, "password=") : NULL;
    if (pw && (pw[-1] == '?' || pw[-1] == '&')) {
        char *end = pw + 9 + strcspn(pw + 9, "&");
        memmove(pw + 12, end, strlen(end) + 1);
        memcpy(pw + 9, "***", 3);
    }
    return out;
}

/* What every connection sets up: quiet notices, the commit durability asked for, and the
 * statement savepoint's two commands prepared. */
static void setup_conn(PGconn *pg, store_sync sync)
{
    PQsetNoticeProcessor(pg, quiet_notices, NULL);
    PQclear(PQexec(pg, sync == STORE_SYNC_FULL ? "SET synchronous_commit = on"
                                               : "SET synchronous_commit = off"));
    PQclear(PQprepare(pg, "sp_set", "SAVEPOINT stmt", 0, NULL));
    PQclear(PQprepare(pg, "sp_rel", "RELEASE SAVEPOINT stmt", 0, NULL));
}

static PGconn *connect_pg(pg_store *st, siyu_err *e)
{
    PGconn *pg = PQconnectdb(st->url);
    if (PQstatus(pg) != CONNECTION_OK) {
        char line[480];
        siyu_err_set(e, SIYU_INTERNAL, "db", "db: cannot connect to %s: %s", st->shown,
                     one_line(pg ? PQerrorMessage(pg) : "out of memory", line, sizeof line));
        PQfinish(pg);
        return NULL;
    }
    setup_conn(pg, st->opt.sync);
    return pg;
}

static bool ok(PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* Runs sql (any number of statements); fills e on failure. */
static int exec_sql(PGconn *pg, const char *sql, const char *what, siyu_err *e)
{
    PGresult *r = PQexec(pg, sql);
    int rc = 0;
    if (!ok(r)) {
        char line[480];
        siyu_err_set(e, SIYU_INTERNAL, "db", "db: %s: %s", what,
                     one_line(PQerrorMessage(pg), line, sizeof line));
        rc = -1;
    }
    PQclear(r);
    return rc;
}

/* How many migrations have run; 0 when there is no schema_migrations table yet. */
static int read_version(PGconn *pg)
{
    PGresult *r = PQexec(pg, "SELECT to_regclass('schema_migrations') IS NOT NULL");
    bool have = ok(r) && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!have) return 0;
    r = PQexec(pg, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    int v = ok(r) && PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return v;
}

/* Runs the migrations not run yet, in one transaction, under an advisory lock so two
 * `siyu init` at once migrate once. */
static int migrate(PGconn *pg, siyu_err *e)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "BEGIN; SELECT pg_advisory_xact_lock(%lld);"
             " CREATE TABLE IF NOT EXISTS schema_migrations ("
             "version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
             PG_MIGRATE_LOCK);
    if (exec_sql(pg, sql, "migration failed", e)) goto fail;
    int v = read_version(pg); /* re-read under the lock: another process may have migrated */
    for (int i = v; i < pg_migration_count; i++) {
        char what[64];
        snprintf(what, sizeof what, "migration %d failed", i + 1);
        if (exec_sql(pg, pg_migrations[i], what, e)) goto fail;
        snprintf(sql, sizeof sql, "INSERT INTO schema_migrations(version) VALUES (%d)", i + 1);
        if (exec_sql(pg, sql, what, e)) goto fail;
    }
    if (exec_sql(pg, "COMMIT", "migration failed", e)) goto fail;
    return 0;
fail:
    PQclear(PQexec(pg, "ROLLBACK"));
    return -1;
}

static void pg_close(store_t *st_)
{
    pg_store *st = (pg_store *)st_;
    PQfinish(st->admin);
    pthread_mutex_destroy(&st->write_lock);
    pthread_mutex_destroy(&st->admin_lock);
    free(st->url);
    free(st->shown);
    free(st);
}

static int pg_open(const char *url, const store_options *opt, store_t **out, siyu_err *e)
{
    pg_store *st = calloc(1, sizeof *st);
    st->base.drv = &store_pg_driver;
    st->url = strdup(url);
    st->shown = shown_url(url);
    st->opt = *opt;
    pthread_mutex_init(&st->write_lock, NULL);
    pthread_mutex_init(&st->admin_lock, NULL);
    PGconn *pg = connect_pg(st, e);
    if (!pg) {
        pg_close(&st->base);
        return -1;
    }
    int v = read_version(pg);
    if (st->opt.create && v >= 0 && v < pg_migration_count) {
        if (migrate(pg, e)) {
            PQfinish(pg);
            pg_close(&st->base);
            return -1;
        }
        v = read_version(pg);
    }
    PQfinish(pg);
    if (v < 0) {
        pg_close(&st->base);
        return siyu_err_set(e, SIYU_INTERNAL, "db", "db: %s: cannot read its schema version", url);
    }
    if (v < pg_migration_count) {
        char *shown = strdup(st->shown);
        pg_close(&st->base);
        if (v > 0)
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, "db",
                         "db: %s has schema version %d, older than this siyu's %d "
                         "(run siyu init --db %s to migrate it)",
                         shown, v, pg_migration_count, shown);
        else
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, "db",
                         "db: %s is not an initialised siyu store (run siyu init --db %s)", shown,
                         shown);
        free(shown);
        return -1;
    }
    if (v > pg_migration_count) {
        pg_close(&st->base);
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "db",
                            "db: schema version %d is newer than this siyu (%d)", v,
                            pg_migration_count);
    }
    st->schema_version = v;
    *out = &st->base;
    return 0;
}

static int pg_schema_version(store_t *st_)
{
    return ((pg_store *)st_)->schema_version;
}

static int64_t pg_size_bytes(store_t *st_)
{
    pg_store *st = (pg_store *)st_;
    int64_t n = 0;
    pthread_mutex_lock(&st->admin_lock);
    if (st->admin && PQstatus(st->admin) != CONNECTION_OK) {
        PQfinish(st->admin);
        st->admin = NULL;
    }
    if (!st->admin) {
        siyu_err e;
        siyu_err_init(&e);
        st->admin = connect_pg(st, &e);
        siyu_err_clear(&e);
    }
    if (st->admin) {
        PGresult *r = PQexec(st->admin, "SELECT pg_database_size(current_database())");
        if (ok(r) && PQntuples(r) == 1) n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    pthread_mutex_unlock(&st->admin_lock);
    return n;
}

static const char *pg_path(store_t *st_)
{
    return ((pg_store *)st_)->shown;
}

static int pg_conn_open(store_t *st_, store_conn **out, siyu_err *e)
{
    pg_store *st = (pg_store *)st_;
    PGconn *pg = connect_pg(st, e);
    if (!pg) return -1;
    pg_conn *c = calloc(1, sizeof *c);
    c->base.drv = &store_pg_driver;
    c->base.st = &st->base;
    c->store = st;
    c->pg = pg;
    *out = &c->base;
    return 0;
}

static void clear_blobs(pg_stmt *s)
{
    for (int i = 0; i < s->nblobs; i++) {
        PQfreemem(s->blobs[i].p);
        s->blobs[i].p = NULL;
    }
}

/* A cursor left open ends with its transaction: never closed by hand, so a transaction
 * ended or undone to a savepoint meanwhile costs nothing. */
static void finish(pg_stmt *s)
{
    clear_blobs(s);
    PQclear(s->res);
    s->res = NULL;
    s->row = -1;
    s->cursor = false;
}

static void pg_bulk(store_conn *c_, bool on)
{
    pg_conn *c = (pg_conn *)c_;
    if (!on) copy_flush(c);
    c->bulk = on;
}

static void pg_conn_close(store_conn *c_)
{
    pg_conn *c = (pg_conn *)c_;
    for (int i = 0; i < 2; i++)
        free(c->copy[i].p);
    if (c->holds_write_lock) {
        c->holds_write_lock = false;
        pthread_mutex_unlock(&c->store->write_lock);
    }
    for (int i = 0; i < Q__COUNT; i++) {
        pg_stmt *s = &c->stmts[i];
        finish(s);
        free(s->values);
        free(s->lengths);
        free(s->formats);
        free(s->num);
        free(s->blobs);
        free(s->sql);
        PQclear(s->desc);
    }
    PQfinish(c->pg);
    free(c);
}

static void pg_conn_cache(store_conn *c_, int mib)
{
    (void)c_; /* the server's shared buffers are the cache */
    (void)mib;
}

/* A transaction ends (committed, undone, or never begun): its write lock goes with it. */
static void release_write_lock(pg_conn *c)
{
    c->in_tx = false;
    if (c->holds_write_lock) {
        c->holds_write_lock = false;
        pthread_mutex_unlock(&c->store->write_lock);
    }
}

static const char BEGIN_READ[] = "BEGIN ISOLATION LEVEL REPEATABLE READ";
static const char SAVEPOINT_REC[] = "SAVEPOINT rec";
static const char RELEASE_REC[] = "RELEASE SAVEPOINT rec";

/* A read transaction begun but not yet sent: nothing of it reached the server. */
static bool begin_pending(pg_conn *c)
{
    return c->npending > 0 && c->pending[0] == BEGIN_READ;
}

/* In a transaction the server knows of, or one about to be sent with the next statement. */
static bool in_open_tx(pg_conn *c)
{
    return begin_pending(c) || PQtransactionStatus(c->pg) == PQTRANS_INTRANS;
}

static bool pg_in_tx(store_conn *c_)
{
    pg_conn *c = (pg_conn *)c_;
    PGTransactionStatusType t = PQtransactionStatus(c->pg);
    return begin_pending(c) || t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* The pending commands, then tail (or NULL), as one simple query: one round trip. The
 * result is the last command's, or the first that failed. */
static PGresult *send_pending(pg_conn *c, const char *tail)
{
    char sql[1024];
    size_t n = 0;
    for (int i = 0; i < c->npending; i++)
        n += (size_t)snprintf(sql + n, sizeof sql - n, "%s; ", c->pending[i]);
    c->npending = 0;
    snprintf(sql + n, sizeof sql - n, "%s", tail ? tail : "");
    return PQexec(c->pg, sql);
}

static void queue(pg_conn *c, const char *cmd)
{
    if (c->npending == (int)(sizeof c->pending / sizeof *c->pending)) {
        PGresult *r = send_pending(c, NULL);
        if (!ok(r)) set_err(c, NULL, PQerrorMessage(c->pg));
        PQclear(r);
    }
    c->pending[c->npending++] = cmd;
}

/* ---- bulk loading: order rows and lines by COPY ----
 * Two inserts are deferred, each to a COPY of its own: ORDER_INSERT, outside a record's
 * savepoint, and ORDER_ITEM_INSERT. Their VALUES are their parameters in order, so the text
 * "INSERT INTO t(cols) VALUES (...)" gives "COPY t(cols) FROM STDIN"; an order row also
 * carries its id, taken ahead from the table's sequence (16 at first, twice as many each
 * time up to 1 024), so store_last_id answers at once. Ids are taken inside the transaction
 * that uses them and the rest dropped at its end: writers hold one lock, so orders commit
 * in the order of their ids, which readers that follow new orders by id count on (the
 * journeys' event sources). Nothing reads a kept row back before a statement naming
 * its table, which sends the rows first: the domain looked the order's key up (or was told
 * it is free, orders_keys_check) and its store, member and guide under the writers' lock,
 * and validated every line. Outside a savepoint the import undoes the whole batch if an
 * order fails, and a savepoint sends the rows kept before it is set, so every order row of
 * a record's savepoint runs as its own statement, guarded, and fails where it ran.
 * Batching also spares the order rows a statement savepoint each: each is a
 * subtransaction, and 5 000 in a batch overflowed the backend's cache of them (64). */
enum { COPY_ORDERS, COPY_LINES };

static int deferred(pg_conn *c, pg_stmt *s)
{
    if (!c->bulk || !in_open_tx(c)) return -1;
    if (s->q == Q_ORDER_ITEM_INSERT) return COPY_LINES;
    if (s->q == Q_ORDER_INSERT && c->savepoints == 0) return COPY_ORDERS;
    return -1;
}

static void copy_put(struct copy_buf *b, const char *v, int n, bool blob)
{
    size_t len = !v ? 2 : blob ? (size_t)n * 2 + 3 : strlen(v) * 2;
    size_t need = b->len + len + 2; /* and the separator after it */
    if (need > b->cap) {
        b->cap = need * 2 > 65536 ? need * 2 : 65536;
        b->p = realloc(b->p, b->cap);
    }
    char *o = b->p + b->len;
    if (!v) {
        memcpy(o, "\\N", 2);
        o += 2;
    } else if (blob) { /* bytea's hex form, escaped for COPY: \\x… */
        static const char hex[] = "0123456789abcdef";
        *o++ = '\\', *o++ = '\\', *o++ = 'x';
        for (int i = 0; i < n; i++)
            *o++ = hex[(unsigned char)v[i] >> 4], *o++ = hex[(unsigned char)v[i] & 15];
    } else {
        for (const char *p = v; *p; p++) {
            char e = *p == '\\' ? '\\' : *p == '\t' ? 't' : *p == '\n' ? 'n' : *p == '\r' ? 'r' : 0;
            if (e)
                *o++ = '\\', *o++ = e;
            else
                *o++ = *p;
        }
    }
    b->len = (size_t)(o - b->p);
}

/* A key lookup (ORDER_BY_KEY) needs the kept order rows sent first only when one of them
 * may have its key: a filter of the kept keys' hashes, one bit a slot, where a false "may"
 * only costs a flush. So an import whose orders each look their key up (CSV, a store code)
 * still sends its rows by block. */
static uint64_t key_hash(const char *channel, const char *external_id)
{
    return XXH3_64bits_withSeed(external_id, strlen(external_id),
                                XXH3_64bits(channel, strlen(channel)));
}

static void key_keep(pg_conn *c, uint64_t h)
{
    c->kept_keys[(h >> 5) & 4095] |= 1u << (h & 31);
}

static bool key_maybe_kept(const pg_conn *c, uint64_t h)
{
    return c->kept_keys[(h >> 5) & 4095] & (1u << (h & 31));
}

/* The next order id of the ones taken ahead, taking more when none is left (with the
 * commands owed: one round trip). 0, or -1 with the error set. */
static int take_id(pg_conn *c, int64_t *id)
{
    if (c->ids_at == c->ids_n) {
        int most = (int)(sizeof c->ids / sizeof *c->ids);
        c->ids_ask = c->ids_ask < 16 ? 16 : c->ids_ask * 2 > most ? most : c->ids_ask * 2;
        char sql[160];
        snprintf(sql, sizeof sql,
                 "SELECT nextval(pg_get_serial_sequence('orders', 'id'))"
                 " FROM generate_series(1, %d)",
                 c->ids_ask);
        PGresult *r = send_pending(c, sql);
        bool good = PQresultStatus(r) == PGRES_TUPLES_OK;
        c->ids_at = c->ids_n = 0;
        for (int i = 0; good && i < PQntuples(r); i++)
            c->ids[c->ids_n++] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        if (!good) set_err(c, "bulk", PQerrorMessage(c->pg));
        PQclear(r);
        if (!good || !c->ids_n) return -1;
    }
    *id = c->ids[c->ids_at++];
    return 0;
}

/* Keeps s's row in its COPY (which: deferred). 0, or -1 with the error set. */
static int copy_row(pg_conn *c, pg_stmt *s, int which)
{
    struct copy_buf *b = &c->copy[which];
    if (which == COPY_ORDERS) {
        int64_t id;
        if (take_id(c, &id)) return -1;
        char num[24];
        snprintf(num, sizeof num, "%lld", (long long)id);
        copy_put(b, num, 0, false);
        b->p[b->len++] = '\t';
        c->last_id = id;
        key_keep(c, key_hash(s->values[0], s->values[1])); /* (channel, external_id, ...) */
    }
    for (int i = 0; i < s->nparams; i++) {
        copy_put(b, s->values[i], s->lengths[i], s->formats[i] == 1);
        b->p[b->len++] = i + 1 < s->nparams ? '\t' : '\n'; /* copy_put left room */
    }
    return 0;
}

static bool copy_kept(const pg_conn *c)
{
    return c->copy[COPY_ORDERS].len || c->copy[COPY_LINES].len;
}

static void copy_drop(pg_conn *c)
{
    if (c->copy[COPY_ORDERS].len) memset(c->kept_keys, 0, sizeof c->kept_keys);
    c->copy[COPY_ORDERS].len = c->copy[COPY_LINES].len = 0;
}

/* Forgets the rows kept and the ids taken ahead: at a transaction's start and end. */
static void bulk_end_tx(pg_conn *c)
{
    copy_drop(c);
    c->ids_at = c->ids_n = c->ids_ask = 0;
}

/* Sends one kept COPY: q's table and columns (the id first for an order row). The rows stay
 * counted until copy_drop. */
static bool copy_send(pg_conn *c, store_query q, const struct copy_buf *b)
{
    size_t len = b->len;
    const char *text = pg_queries[q];
    const char *into = strstr(text, "INTO "), *open = strchr(into, '('),
               *values = strstr(text, " VALUES");
    char sql[512];
    snprintf(sql, sizeof sql, "COPY %.*s%s%.*s FROM STDIN", (int)(open + 1 - into - 5), into + 5,
             q == Q_ORDER_INSERT ? "id, " : "", (int)(values - open - 1), open + 1);
    PGresult *r = PQexec(c->pg, sql);
    bool good = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    if (good)
        good = PQputCopyData(c->pg, b->p, (int)len) == 1 && PQputCopyEnd(c->pg, NULL) == 1;
    else
        PQputCopyEnd(c->pg, "not started");
    bool done = false;
    while ((r = PQgetResult(c->pg))) {
        if (!done) good = good && ok(r);
        done = true;
        PQclear(r);
    }
    return good;
}

/* Sends the rows kept, orders first (after the commands owed, a savepoint among them); 0,
 * or -1 with the error set (the transaction is then aborted on the server). */
static int copy_flush(pg_conn *c)
{
    if (!copy_kept(c)) return 0;
    if (c->npending) {
        PGresult *r = send_pending(c, NULL);
        bool good = ok(r);
        if (!good) set_err(c, "bulk", PQerrorMessage(c->pg));
        PQclear(r);
        if (!good) {
            copy_drop(c);
            return -1;
        }
    }
    bool good = true;
    if (c->copy[COPY_ORDERS].len) good = copy_send(c, Q_ORDER_INSERT, &c->copy[COPY_ORDERS]);
    if (good && c->copy[COPY_LINES].len)
        good = copy_send(c, Q_ORDER_ITEM_INSERT, &c->copy[COPY_LINES]);
    copy_drop(c);
    if (!good) set_err(c, "bulk", PQerrorMessage(c->pg));
    return good ? 0 : -1;
}

/* A connection the server dropped (restart, failover) is opened again between
 * transactions; its prepared statements are prepared again on first use. */
static void revive(pg_conn *c)
{
    if (PQstatus(c->pg) == CONNECTION_OK) return;
    PQreset(c->pg);
    if (PQstatus(c->pg) != CONNECTION_OK) return;
    setup_conn(c->pg, c->store->opt.sync);
    for (int i = 0; i < Q__COUNT; i++)
        c->stmts[i].prepared = false;
}

static int pg_begin(store_conn *c_, bool write, siyu_err *e)
{
    pg_conn *c = (pg_conn *)c_;
    if (write) {
        pthread_mutex_lock(&c->store->write_lock);
        c->holds_write_lock = true;
    }
    c->in_tx = true;
    revive(c);
    c->npending = 0;
    bulk_end_tx(c);
    c->savepoints = 0;
    if (!write) {
        /* sent with the first statement; the snapshot is taken there anyway */
        queue(c, BEGIN_READ);
        return 0;
    }
    /* another process holding the writers' lock (the CLI while siyu serve runs) is waited
     * for up to SIYU_BUSY_TIMEOUT_MS (default 10 s), as SQLite's busy timeout does */
    const char *busy = getenv("SIYU_BUSY_TIMEOUT_MS");
    char sql[160];
    snprintf(sql, sizeof sql,
             "BEGIN; SET LOCAL lock_timeout = %d; SELECT pg_advisory_xact_lock(%lld)",
             busy && atoi(busy) > 0 ? atoi(busy) : 10000, PG_WRITE_LOCK);
    PGresult *r = PQexec(c->pg, sql);
    if (!ok(r) && PQstatus(c->pg) == CONNECTION_BAD) {
        /* the server dropped the connection while it was idle (a restart, a failover):
         * nothing of this transaction was sent yet, so open it again and begin again */
        PQclear(r);
        revive(c);
        r = PQexec(c->pg, sql);
    }
    if (!ok(r)) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state && strcmp(state, "55P03") == 0) /* lock_not_available: SQLite's words */
            set_err(c, NULL, "database is locked (another writer holds it)");
        else
            set_err(c, NULL, PQerrorMessage(c->pg));
        PQclear(r);
        if (pg_in_tx(c_)) PQclear(PQexec(c->pg, "ROLLBACK"));
        release_write_lock(c);
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: begin: %s", c->err);
    }
    PQclear(r);
    return 0;
}

static void pg_rollback(store_conn *c_)
{
    pg_conn *c = (pg_conn *)c_;
    c->npending = 0; /* a BEGIN never sent needs no ROLLBACK */
    bulk_end_tx(c);  /* rows never sent need no undoing */
    if (pg_in_tx(c_)) PQclear(PQexec(c->pg, "ROLLBACK"));
    release_write_lock(c);
}

static int pg_commit(store_conn *c_, siyu_err *e)
{
    pg_conn *c = (pg_conn *)c_;
    if (begin_pending(c)) { /* nothing of the transaction was sent: nothing to commit */
        c->npending = 0;
        release_write_lock(c);
        return 0;
    }
    if (copy_flush(c)) {
        pg_rollback(c_);
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: commit: %s", c->err);
    }
    PGresult *r = send_pending(c, "COMMIT");
    /* COMMIT of a transaction a failed statement aborted answers "ROLLBACK" */
    bool done = ok(r) && strcmp(PQcmdStatus(r), "COMMIT") == 0;
    if (!done) {
        set_err(c, NULL,
                ok(r) ? "the transaction was aborted by an earlier error" : PQerrorMessage(c->pg));
        PQclear(r);
        pg_rollback(c_);
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "store: commit: %s", c->err);
    }
    PQclear(r);
    bulk_end_tx(c);
    release_write_lock(c);
    return 0;
}

static int pg_savepoint(store_conn *c_, siyu_err *e)
{
    (void)e;                   /* sent with the next statement; a failure shows there */
    copy_flush((pg_conn *)c_); /* the rows kept go before it: undoing it keeps them */
    queue((pg_conn *)c_, SAVEPOINT_REC);
    ((pg_conn *)c_)->savepoints++;
    return 0;
}

/* True (and forgotten) when the innermost savepoint was never sent: nothing ran in it. */
static bool savepoint_unsent(pg_conn *c)
{
    if (c->npending > 0 && c->pending[c->npending - 1] == SAVEPOINT_REC) {
        c->npending--;
        return true;
    }
    return false;
}

static void pg_savepoint_release(store_conn *c_)
{
    pg_conn *c = (pg_conn *)c_;
    copy_flush(c);
    if (c->savepoints > 0) c->savepoints--;
    if (!savepoint_unsent(c)) queue(c, RELEASE_REC);
}

static void pg_savepoint_undo(store_conn *c_)
{
    pg_conn *c = (pg_conn *)c_;
    copy_flush(c); /* sent, then undone with the rest */
    if (c->savepoints > 0) c->savepoints--;
    if (savepoint_unsent(c)) return;
    PGresult *r;
    if (c->npending > 0) { /* on their own: in a failed transaction they fail, this must not */
        r = send_pending(c, NULL);
        PQclear(r);
    }
    r = PQexec(c->pg, "ROLLBACK TO SAVEPOINT rec; RELEASE SAVEPOINT rec");
    if (!ok(r)) set_err(c, NULL, PQerrorMessage(c->pg));
    PQclear(r);
}

static const char *const query_names[Q__COUNT] = {
#define Q(name) #name,
    STORE_QUERY_LIST(Q)
#undef Q
};

/* The SQLite text's ?N become $N (outside quoted literals); returns the highest N, and
 * in used (up to 64) which N appear. */
static char *dollar_params(const char *sql, int *nparams, uint64_t *used)
{
    char *out = strdup(sql);
    int max = 0;
    *used = 0;
    bool quoted = false;
    for (char *p = out; *p; p++) {
        if (*p == '\'')
            quoted = !quoted;
        else if (!quoted && *p == '?' && p[1] >= '0' && p[1] <= '9') {
            *p = '$';
            int n = atoi(p + 1);
            if (n <= 64) *used |= 1ull << (n - 1);
            if (n > max) max = n;
        }
    }
    *nparams = max;
    return out;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

static int prepare(pg_conn *c, pg_stmt *s)
{
    const char *text = pg_queries[s->q];
    if (!text) {
        fprintf(stderr, "siyu: store: query %d has no PostgreSQL text\n", (int)s->q);
        abort();
    }
    if (!s->sql) { /* what the text says, once: the binding arrays, the kind of statement */
        int n;
        uint64_t used;
        s->sql = dollar_params(text, &n, &used);
        /* a parameter the text never names (bound by the domain, used by the SQLite text
         * only) is given a type, text, so the server accepts it; the rest it infers */
        for (int i = 0; i < n && i < 64; i++)
            if (!(used & (1ull << i))) s->types[i] = 25; /* TEXTOID */
        s->nparams = n;
        s->values = calloc((size_t)n + 1, sizeof *s->values);
        s->lengths = calloc((size_t)n + 1, sizeof *s->lengths);
        s->formats = calloc((size_t)n + 1, sizeof *s->formats);
        s->num = calloc((size_t)n + 1, sizeof *s->num);
        while (*text == ' ' || *text == '(')
            text++;
        s->is_write = strncmp(text, "SELECT", 6) != 0 && strncmp(text, "WITH", 4) != 0;
        s->returns_id = strncmp(text, "INSERT", 6) == 0 && ends_with(text, " RETURNING id");
        /* Inserts are where the domain meets a constraint and goes on (a coupon code
         * taken: try another). Any other statement that fails fails its request, which
         * the domain undoes to its own savepoint or rolls back, so it needs no guard. */
        s->guarded = strncmp(text, "INSERT", 6) == 0;
        const char *qname = query_names[s->q];
        s->scan = strncmp(qname, "SCAN_", 5) == 0 || ends_with(qname, "_SCAN");
    }
    char name[16];
    snprintf(name, sizeof name, "q%d", (int)s->q);
    PGresult *r = PQprepare(c->pg, name, s->sql, s->nparams < 64 ? s->nparams : 64, s->types);
    if (!ok(r) && PQstatus(c->pg) != CONNECTION_OK) {
        /* the connection is gone, not the text: the statement fails, and is prepared
         * again once the connection is back */
        PQclear(r);
        return -1;
    }
    if (!ok(r)) {
        /* A query text that does not prepare is a programming error, caught by tests. */
        fprintf(stderr, "siyu: store: cannot prepare query %s: %s%s\n", query_names[s->q],
                PQerrorMessage(c->pg), s->sql);
        abort();
    }
    PQclear(r);
    s->prepared = true;
    return 0;
}

static store_stmt *pg_q(store_conn *c_, store_query q)
{
    pg_conn *c = (pg_conn *)c_;
    pg_stmt *s = &c->stmts[q];
    if (!s->prepared) {
        s->base.drv = &store_pg_driver;
        s->conn = c;
        s->q = q;
        s->row = -1;
        prepare(c, s);
    }
    finish(s);
    for (int i = 0; i < s->nparams; i++) {
        s->values[i] = NULL;
        s->lengths[i] = 0;
        s->formats[i] = 0;
    }
    return &s->base;
}

static void bind_str(pg_stmt *s, int i, const char *v, int len, int format)
{
    if (i < 1 || i > s->nparams) return;
    s->values[i - 1] = v;
    s->lengths[i - 1] = len;
    s->formats[i - 1] = format;
}

static void pg_bind_int(store_stmt *s_, int i, int64_t v)
{
    pg_stmt *s = (pg_stmt *)s_;
    if (i < 1 || i > s->nparams) return;
    snprintf(s->num[i - 1], sizeof s->num[0], "%lld", (long long)v);
    bind_str(s, i, s->num[i - 1], 0, 0);
}

static void pg_bind_real(store_stmt *s_, int i, double v)
{
    pg_stmt *s = (pg_stmt *)s_;
    if (i < 1 || i > s->nparams) return;
    if (isnan(v))
        snprintf(s->num[i - 1], sizeof s->num[0], "NaN");
    else if (isinf(v))
        snprintf(s->num[i - 1], sizeof s->num[0], v > 0 ? "Infinity" : "-Infinity");
    else
        snprintf(s->num[i - 1], sizeof s->num[0], "%.17g", v);
    bind_str(s, i, s->num[i - 1], 0, 0);
}

static void pg_bind_text(store_stmt *s_, int i, const char *v)
{
    bind_str((pg_stmt *)s_, i, v, 0, 0);
}

static void pg_bind_blob(store_stmt *s_, int i, const void *v, int n)
{
    static const char empty[1];
    /* as sqlite3_bind_blob: a NULL pointer binds NULL, a zero length an empty blob */
    bind_str((pg_stmt *)s_, i, v ? (n > 0 ? v : empty) : NULL, n, 1);
}

static void pg_bind_null(store_stmt *s_, int i)
{
    bind_str((pg_stmt *)s_, i, NULL, 0, 0);
}

static store_step_rc failed(pg_conn *c, PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    set_err(c, NULL,
            r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
    /* class 23, integrity constraint violation: unique, check, foreign key, not null —
     * what SQLite calls SQLITE_CONSTRAINT */
    return state && strncmp(state, "23", 2) == 0 ? STORE_CONSTRAINT : STORE_ERROR;
}

/* Runs s in one pipeline, one round trip: the pending commands first, then, when guard,
 * the statement under its own savepoint, so a failure undoes the statement alone and leaves
 * the transaction usable. Returns the statement's result, or the first failure. */
static PGresult *run_pipeline(pg_conn *c, pg_stmt *s, const char *name, bool guard)
{
    PGconn *pg = c->pg;
    if (!PQenterPipelineMode(pg)) return NULL;
    int n = 0, mine_at;
    for (int i = 0; i < c->npending; i++, n++)
        PQsendQueryParams(pg, c->pending[i], 0, NULL, NULL, NULL, NULL, 0);
    c->npending = 0;
    if (guard) PQsendQueryPrepared(pg, "sp_set", 0, NULL, NULL, NULL, 0), n++;
    mine_at = n++;
    PQsendQueryPrepared(pg, name, s->nparams, s->values, s->lengths, s->formats, 0);
    if (guard) PQsendQueryPrepared(pg, "sp_rel", 0, NULL, NULL, NULL, 0), n++;
    PQpipelineSync(pg);
    PGresult *mine = NULL, *before = NULL, *r;
    for (int i = 0; i < n; i++) {
        while ((r = PQgetResult(pg)) != NULL) {
            if (i == mine_at && !mine)
                mine = r;
            else if (i < mine_at && !before && !ok(r))
                before = r; /* a command ahead of the statement failed: its message counts */
            else
                PQclear(r);
        }
    }
    while ((r = PQgetResult(pg)) != NULL) { /* the sync */
        bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
        PQclear(r);
        if (sync) break;
    }
    PQexitPipelineMode(pg);
    if (before) {
        PQclear(mine);
        return before;
    }
    if (guard && (!mine || !ok(mine)) && PQtransactionStatus(pg) == PQTRANS_INERROR)
        PQclear(PQexec(pg, "ROLLBACK TO SAVEPOINT stmt; RELEASE SAVEPOINT stmt"));
    return mine;
}

/* A scan's rows, a batch at a time: a table of millions is never held whole in memory,
 * and other statements may run on the connection between batches. */
#define SCAN_BATCH 4096

static PGresult *fetch(pg_conn *c, pg_stmt *s)
{
    char sql[64];
    snprintf(sql, sizeof sql, "FETCH FORWARD %d FROM %s", SCAN_BATCH, s->cursor_name);
    return PQexec(c->pg, sql);
}

static PGresult *run_cursor(pg_conn *c, pg_stmt *s)
{
    snprintf(s->cursor_name, sizeof s->cursor_name, "scan%u", c->cursors++);
    size_t len = strlen(s->sql) + 64;
    char *decl = malloc(len);
    snprintf(decl, len, "DECLARE %s NO SCROLL CURSOR FOR %s", s->cursor_name, s->sql);
    PGresult *r =
        PQexecParams(c->pg, decl, s->nparams, s->types, s->values, s->lengths, s->formats, 0);
    free(decl);
    if (!ok(r)) return r;
    PQclear(r);
    s->cursor = true;
    return fetch(c, s);
}

static PGresult *run_once(pg_conn *c, pg_stmt *s)
{
    char name[16];
    snprintf(name, sizeof name, "q%d", (int)s->q);
    if (!s->prepared && prepare(c, s)) return NULL;
    bool tx = in_open_tx(c);
    if (s->scan && tx) {
        if (c->npending > 0) {
            PGresult *r = send_pending(c, NULL);
            if (!ok(r)) return r;
            PQclear(r);
        }
        return run_cursor(c, s);
    }
    if (s->guarded && tx) return run_pipeline(c, s, name, true);
    if (c->npending > 0) return run_pipeline(c, s, name, false);
    return PQexecPrepared(c->pg, name, s->nparams, s->values, s->lengths, s->formats, 0);
}

static int run(pg_stmt *s, store_step_rc *rc)
{
    pg_conn *c = s->conn;
    if (copy_kept(c)) {
        if (!s->sees_kept) {
            /* the partitions' upkeep moves rows of the orders' default partition */
            const char *t = pg_queries[s->q];
            s->sees_kept = strstr(t, "orders") || strstr(t, "order_keys") ||
                                   strstr(t, "order_items") || strstr(t, "partition")
                               ? 1
                               : -1;
        }
        bool sees = s->sees_kept > 0;
        if (sees && s->q == Q_ORDER_BY_KEY) /* it reads no lines, and only its own key */
            sees = key_maybe_kept(c, key_hash(s->values[0], s->values[1]));
        if (sees && copy_flush(c)) {
            *rc = STORE_ERROR;
            return -1;
        }
    }
    /* the first statement of a read transaction carries its BEGIN: on a connection the
     * server dropped while idle, nothing was done yet, so open it again and go ahead */
    bool first = begin_pending(c);
    /* a statement of no transaction (a request's token check) on a connection the server
     * dropped: open it again first; a read that found it dropped only now runs again (a
     * write may have committed before the connection went, so it fails instead) */
    bool alone = !c->in_tx;
    if (alone && PQstatus(c->pg) == CONNECTION_BAD) revive(c);
    const char *pending[16];
    int npending = c->npending;
    memcpy(pending, c->pending, sizeof pending);
    PGresult *r = run_once(c, s);
    if (!ok(r) && (first || (alone && !s->is_write)) && PQstatus(c->pg) == CONNECTION_BAD) {
        PQclear(r);
        revive(c);
        memcpy(c->pending, pending, sizeof pending);
        c->npending = npending;
        r = run_once(c, s);
    }
    if (!ok(r)) {
        *rc = failed(c, r);
        PQclear(r);
        return -1;
    }
    /* a WITH whose statement writes (WITH d AS (DELETE …) DELETE …) counts as a write too */
    const char *tag = PQcmdStatus(r);
    if (s->is_write || (tag && (strncmp(tag, "DELETE", 6) == 0 || strncmp(tag, "UPDATE", 6) == 0 ||
                                strncmp(tag, "INSERT", 6) == 0))) {
        c->changes = atoi(PQcmdTuples(r));
        if (s->returns_id && PQntuples(r) > 0) c->last_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    }
    s->res = r;
    s->row = -1;
    int n = PQnfields(r);
    if (n > s->nblobs) {
        s->blobs = realloc(s->blobs, (size_t)n * sizeof *s->blobs);
        memset(s->blobs + s->nblobs, 0, (size_t)(n - s->nblobs) * sizeof *s->blobs);
        s->nblobs = n;
    }
    return 0;
}

static store_step_rc pg_step(store_stmt *s_)
{
    pg_stmt *s = (pg_stmt *)s_;
    int which;
    if (!s->res && (which = deferred(s->conn, s)) >= 0) {
        if (copy_row(s->conn, s, which)) return STORE_ERROR;
        s->conn->changes = 1;
        return STORE_DONE;
    }
    if (!s->res) {
        store_step_rc rc;
        if (run(s, &rc)) return rc;
    }
    clear_blobs(s);
    s->row++;
    if (s->cursor && s->row >= PQntuples(s->res) && PQntuples(s->res) == SCAN_BATCH) {
        PGresult *r = fetch(s->conn, s);
        if (!ok(r)) {
            store_step_rc rc = failed(s->conn, r);
            PQclear(r);
            finish(s);
            return rc;
        }
        PQclear(s->res);
        s->res = r;
        s->row = 0;
    }
    if (s->returns_id || s->row >= PQntuples(s->res)) {
        finish(s); /* as on SQLite: stepped again, the statement runs again */
        return STORE_DONE;
    }
    return STORE_ROW;
}

static void pg_reset(store_stmt *s_)
{
    finish((pg_stmt *)s_);
}

static const char *value(pg_stmt *s, int i)
{
    if (!s->res || s->row < 0 || s->row >= PQntuples(s->res) || i < 0 || i >= PQnfields(s->res) ||
        PQgetisnull(s->res, s->row, i))
        return NULL;
    return PQgetvalue(s->res, s->row, i);
}

static int64_t pg_col_int(store_stmt *s_, int i)
{
    pg_stmt *s = (pg_stmt *)s_;
    const char *v = value(s, i);
    if (!v) return 0;
    if (PQftype(s->res, i) == BOOLOID) return v[0] == 't';
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end == '.' || *end == 'e' || *end == 'E') /* a real or a numeric, as SQLite truncates */
        return (int64_t)strtod(v, NULL);
    return n;
}

static double pg_col_real(store_stmt *s_, int i)
{
    pg_stmt *s = (pg_stmt *)s_;
    const char *v = value(s, i);
    if (!v) return 0;
    if (PQftype(s->res, i) == BOOLOID) return v[0] == 't';
    return strtod(v, NULL);
}

static const char *pg_col_text(store_stmt *s_, int i)
{
    return value((pg_stmt *)s_, i);
}

static const void *pg_col_blob(store_stmt *s_, int i, int *n)
{
    pg_stmt *s = (pg_stmt *)s_;
    const char *v = value(s, i);
    *n = 0;
    if (!v) return NULL;
    if (PQftype(s->res, i) != BYTEAOID) {
        *n = PQgetlength(s->res, s->row, i);
        return v;
    }
    if (!s->blobs[i].p) s->blobs[i].p = PQunescapeBytea((const unsigned char *)v, &s->blobs[i].n);
    *n = (int)s->blobs[i].n;
    return s->blobs[i].p;
}

static bool pg_col_null(store_stmt *s_, int i)
{
    return value((pg_stmt *)s_, i) == NULL;
}

static int64_t pg_last_id(store_conn *c_)
{
    return ((pg_conn *)c_)->last_id;
}

static int pg_changes(store_conn *c_)
{
    return ((pg_conn *)c_)->changes;
}

static const char *pg_errmsg(store_conn *c_)
{
    pg_conn *c = (pg_conn *)c_;
    return c->err[0] ? c->err : "not an error";
}

static store_conn *pg_stmt_conn(store_stmt *s_)
{
    return &((pg_stmt *)s_)->conn->base;
}

/* The columns of a statement not yet run come from its description. */
static const PGresult *shape(pg_stmt *s)
{
    if (s->res) return s->res;
    if (!s->desc) {
        char name[16];
        snprintf(name, sizeof name, "q%d", (int)s->q);
        s->desc = PQdescribePrepared(s->conn->pg, name);
    }
    return s->desc;
}

static int pg_col_count(store_stmt *s_)
{
    return PQnfields(shape((pg_stmt *)s_));
}

static const char *pg_col_name(store_stmt *s_, int i)
{
    return PQfname(shape((pg_stmt *)s_), i);
}

static store_col_kind pg_col_type(store_stmt *s_, int i)
{
    pg_stmt *s = (pg_stmt *)s_;
    const char *v = value(s, i);
    if (!v) return STORE_COL_NULL;
    switch (PQftype(s->res, i)) {
    case 16: /* bool */
    case 20: /* int8 */
    case 21: /* int2 */
    case 23: /* int4 */
        return STORE_COL_INT;
    case 700: /* float4 */
    case 701: /* float8 */
        return STORE_COL_REAL;
    case 1700: /* numeric: a sum of integers is one */
        return strchr(v, '.') ? STORE_COL_REAL : STORE_COL_INT;
    case BYTEAOID:
        return STORE_COL_BLOB;
    default:
        return STORE_COL_TEXT;
    }
}

/* LISTEN on the connection (a channel name of letters, digits and '_' only). */
static int pg_listen(store_conn *c_, const char *channel, siyu_err *e)
{
    pg_conn *c = (pg_conn *)c_;
    char sql[96];
    snprintf(sql, sizeof sql, "LISTEN %s", channel);
    PGresult *r = PQexec(c->pg, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc) {
        char line[400];
        siyu_err_set(e, SIYU_INTERNAL, NULL, "store: %s",
                     one_line(PQerrorMessage(c->pg), line, sizeof line));
    }
    PQclear(r);
    return rc;
}

/* Waits on the connection's socket for a notification; drains every one that came. */
static int pg_wait_notify(store_conn *c_, int timeout_ms)
{
    pg_conn *c = (pg_conn *)c_;
    int got = 0;
    PGnotify *n;
    if (!PQconsumeInput(c->pg)) return -1;
    while ((n = PQnotifies(c->pg))) {
        got = 1;
        PQfreemem(n);
    }
    if (got) return 1;
    int fd = PQsocket(c->pg);
    if (fd < 0) return -1;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc = poll(&p, 1, timeout_ms);
    if (rc < 0) return 0; /* a signal: the caller looks again */
    if (rc == 0) return 0;
    if (!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK) return -1;
    while ((n = PQnotifies(c->pg))) {
        got = 1;
        PQfreemem(n);
    }
    return got;
}

const store_driver store_pg_driver = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .schema_version = pg_schema_version,
    .size_bytes = pg_size_bytes,
    .path = pg_path,
    .conn_open = pg_conn_open,
    .conn_close = pg_conn_close,
    .bulk = pg_bulk,
    .conn_cache = pg_conn_cache,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .in_tx = pg_in_tx,
    .savepoint = pg_savepoint,
    .savepoint_release = pg_savepoint_release,
    .savepoint_undo = pg_savepoint_undo,
    .q = pg_q,
    .bind_int = pg_bind_int,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .bind_real = pg_bind_real,
    .step = pg_step,
    .reset = pg_reset,
    .col_int = pg_col_int,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .col_null = pg_col_null,
    .col_real = pg_col_real,
    .col_count = pg_col_count,
    .col_name = pg_col_name,
    .col_type = pg_col_type,
    .last_id = pg_last_id,
    .changes = pg_changes,
    .errmsg = pg_errmsg,
    .stmt_conn = pg_stmt_conn,
    .shared = true,
    .remote = true,
    .listen = pg_listen,
    .wait_notify = pg_wait_notify,
};
