/* store.h — the narrow storage boundary.
 *
 * Domain code talks to the store only through named queries (queries.h): it binds
 * parameters by position, steps, and reads columns. It never writes SQL: each engine
 * (SQLite, PostgreSQL) has its own query texts and a driver behind this header
 * (store_driver.h).
 *
 * A store_t is the opened database (shared, thread-safe); a store_conn is one
 * connection, used by one thread at a time, caching its prepared statements. */
#ifndef SIYU_STORE_STORE_H
#define SIYU_STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "store/queries.h"

typedef struct store store_t;
typedef struct store_conn store_conn;
typedef struct store_stmt store_stmt;

typedef enum store_sync {
    STORE_SYNC_FULL,   /* fsync on every commit: survives power loss */
    STORE_SYNC_NORMAL, /* survives a crash of siyu (kill -9), not of the machine */
} store_sync;

typedef struct store_options {
    store_sync sync;
    bool create; /* create the file and run migrations (siyu init); otherwise must exist */
} store_options;

/* Opens (and with create, creates or migrates) the store at url: a SQLite file path, or a
 * PostgreSQL database (postgresql://… or postgres://…, libpq's URL). */
int store_open(const char *url, const store_options *opt, store_t **out, siyu_err *e);
void store_close(store_t *st); /* NULL is a no-op */
int store_schema_version(store_t *st);

/* One connection per thread. */
int store_conn_open(store_t *st, store_conn **out, siyu_err *e);
void store_conn_close(store_conn *c);
/* Sets the connection's private page cache (default 8 MiB); the writer wants more. */
void store_conn_cache(store_conn *c, int mib);

/* Transactions. begin_write takes the write lock up front (no upgrade deadlocks). */
int store_begin(store_conn *c, bool write, siyu_err *e);
int store_commit(store_conn *c, siyu_err *e);
void store_rollback(store_conn *c);
bool store_in_tx(store_conn *c);

/* A savepoint inside the current transaction: lets one record of a batch fail
 * without undoing the batch (import) — release keeps its work, undo drops it. */
int store_savepoint(store_conn *c, siyu_err *e);
void store_savepoint_release(store_conn *c);
void store_savepoint_undo(store_conn *c);

/* Returns the connection's cached statement for q, reset with bindings cleared. */
store_stmt *store_q(store_conn *c, store_query q);
void store_bind_int(store_stmt *s, int i, int64_t v); /* i is 1-based */
/* Text and blobs are not copied: they must stay valid until the statement is stepped. */
void store_bind_text(store_stmt *s, int i, const char *v); /* NULL binds NULL */
void store_bind_blob(store_stmt *s, int i, const void *v, int n);
void store_bind_null(store_stmt *s, int i);
void store_bind_real(store_stmt *s, int i, double v);

typedef enum store_step_rc { STORE_ROW = 1, STORE_DONE = 0, STORE_ERROR = -1, STORE_CONSTRAINT = -2 } store_step_rc;
/* On STORE_ERROR / STORE_CONSTRAINT the message is in store_errmsg(c). */
store_step_rc store_step(store_stmt *s);
/* Steps a statement that returns no rows; fills e (internal) on error. */
int store_exec(store_stmt *s, siyu_err *e);
/* Finishes a statement early (after reading the one row wanted). */
void store_reset(store_stmt *s);

int64_t store_col_int(store_stmt *s, int i); /* i is 0-based */
const char *store_col_text(store_stmt *s, int i); /* NULL for NULL; valid until next step */
const void *store_col_blob(store_stmt *s, int i, int *n);
bool store_col_null(store_stmt *s, int i);
double store_col_real(store_stmt *s, int i);

int64_t store_last_id(store_conn *c);
int store_changes(store_conn *c);
const char *store_errmsg(store_conn *c);
store_conn *store_stmt_conn(store_stmt *s);

/* Size of the store on disk, for /metrics (PostgreSQL: the database's size). */
int64_t store_size_bytes(store_t *st);
const char *store_path(store_t *st); /* the path or URL, a password hidden */

#endif
