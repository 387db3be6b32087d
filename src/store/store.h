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

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/metric.h"
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
/* Whether another connection may have committed since this one last asked (the first
 * ask: true). A cache kept across transactions (domain/memo.h) is dropped when it did.
 * SQLite answers from PRAGMA data_version; PostgreSQL from the change sequence, one read
 * (every write transaction moves it, and this connection knows where its own commits left
 * it). Call it inside a transaction on PostgreSQL. */
bool store_conn_others_wrote(store_conn *c);
/* Marks c as the group committer's connection: with SIYU_CHECKPOINTER=on SQLite then
 * checkpoints its WAL on a thread of its own rather than inside the committer's commits
 * (store_sqlite.c). */
void store_conn_writer(store_conn *c);
/* Asks that c's commits not wait for the disk: true when the driver agreed (SQLite under
 * synchronous=FULL), and then a commit on c is durable only after a store_sync_now that
 * began after it (the group committer answers its writers after one). False: every commit
 * is durable when it returns (PostgreSQL; SQLite under SIYU_SYNC=normal). */
bool store_conn_defer_sync(store_conn *c);
/* On a connection store_conn_defer_sync agreed for, between transactions: whether its
 * commits sync inside COMMIT again (true: durable when it returns, and seen by no one
 * before) or leave it to store_sync_now (false, as store_conn_defer_sync left it). False
 * when the setting did not change (the commits go on as before). */
bool store_conn_sync_commits(store_conn *c, bool sync);
/* Makes every commit made before it durable (an fdatasync of SQLite's WAL); 0 or -1. Safe
 * from another thread than c's own while c writes. */
int store_sync_now(store_conn *c, siyu_err *e);

/* Bulk loading (the import): the driver may keep writes nobody reads back at once and send
 * them together — PostgreSQL sends order rows (outside a savepoint; their ids taken ahead,
 * so store_last_id answers at once) and order lines with a COPY each before anything that
 * could see them (a statement naming orders, order_keys or order_items, a savepoint, the
 * commit); a rollback drops them. Results are the same; an error of a kept write shows at
 * that point, not at its step. Nothing changes on SQLite, whose inserts are function calls
 * already. */
void store_bulk(store_conn *c, bool on);

/* Transactions. begin_write takes the write lock up front (no upgrade deadlocks). */
int store_begin(store_conn *c, bool write, siyu_err *e);
int store_commit(store_conn *c, siyu_err *e);
void store_rollback(store_conn *c);
bool store_in_tx(store_conn *c);
/* Outside a transaction: the next statement on c reads the latest commit. SQLite keeps the
 * read snapshot of a statement left running (stepped to a row, never reset) for every
 * statement of its connection; this resets such statements. Inside a transaction, or on
 * PostgreSQL, nothing to do. */
void store_read_latest(store_conn *c);

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

typedef enum store_step_rc {
    STORE_ROW = 1,
    STORE_DONE = 0,
    STORE_ERROR = -1,
    STORE_CONSTRAINT = -2
} store_step_rc;
/* On STORE_ERROR / STORE_CONSTRAINT the message is in store_errmsg(c). */
store_step_rc store_step(store_stmt *s);
/* Steps a statement that returns no rows; fills e (internal) on error. */
int store_exec(store_stmt *s, siyu_err *e);
/* Finishes a statement early (after reading the one row wanted). */
void store_reset(store_stmt *s);

int64_t store_col_int(store_stmt *s, int i);      /* i is 0-based */
const char *store_col_text(store_stmt *s, int i); /* NULL for NULL; valid until next step */
const void *store_col_blob(store_stmt *s, int i, int *n);
bool store_col_null(store_stmt *s, int i);
double store_col_real(store_stmt *s, int i);

/* ---- Columns by name ----
 * The same reads by the column's name in the query's result (its AS name, or the column's
 * own), which both engines' texts of a query must give alike: store_col_int_by(s, "guide_id")
 * instead of store_col_int(s, 6). Names are resolved once per prepared statement (the
 * driver's column names: sqlite3_column_name, PQfname) and then found by the name's pointer,
 * so pass string literals. A name the query does not have is a programming error: it is
 * reported on stderr and reads as NULL (0, NULL, true). */
int store_col_index(store_stmt *s, const char *name); /* -1 when the query has no such column */
int64_t store_col_int_by(store_stmt *s, const char *name);
const char *store_col_text_by(store_stmt *s, const char *name);
bool store_col_null_by(store_stmt *s, const char *name);
double store_col_real_by(store_stmt *s, const char *name);
/* The column as an int, 0 when NULL (an optional reference: a guide, a store). */
int64_t store_col_opt_by(store_stmt *s, const char *name);

int64_t store_last_id(store_conn *c);
int store_changes(store_conn *c);
const char *store_errmsg(store_conn *c);
store_conn *store_stmt_conn(store_stmt *s);

/* A row read whole, by column name (the member export renders SELECT * rows). */
typedef enum store_col_kind {
    STORE_COL_NULL,
    STORE_COL_INT,
    STORE_COL_REAL,
    STORE_COL_TEXT,
    STORE_COL_BLOB
} store_col_kind;
int store_col_count(store_stmt *s);
const char *store_col_name(store_stmt *s, int i);
store_col_kind store_col_type(store_stmt *s, int i);

/* ---- Errors that stick ----
 * The first failed step of a connection (an I/O error, a busy or locked store, any
 * failure but a constraint, which is a refusal the caller handles) sticks to it until
 * the next store_begin or store_conn_clear: every later step fails at once, and
 * store_commit refuses. Undoing a savepoint does not clear it: the transaction is lost
 * whole (and retried whole), never taken for one record's or one step's own refusal.
 * A caller that ignored a STORE_ERROR (and answered a short list or a 404) is caught
 * where the request, the commit or the view update asks: */
bool store_conn_failed(store_conn *c);
const char *store_conn_error(store_conn *c); /* the first error's message, "" if none */
/* Fills e (internal) with the sticky error and returns -1; returns 0 when none. */
int store_conn_check(store_conn *c, siyu_err *e);
void store_conn_clear(store_conn *c);

/* ---- Fault injection (tests) ----
 * store_fault_set(st, n, kind) makes the n-th step (store_step, store_exec, the
 * commit) from now on, on any connection of st but one made store_conn_no_faults, fail as
 * SQLite fails it with kind;
 * n = 0 turns it off. Inert unless set. SIYU_STORE_FAULT="N" or "N:busy" in the
 * environment sets it when the store opens (for tests that start siyu). */
typedef enum store_fault { STORE_FAULT_IOERR = 1, STORE_FAULT_BUSY = 2 } store_fault;
void store_fault_set(store_t *st, long n, store_fault kind);
/* How many faults were injected so far (0 or 1 per store_fault_set). */
long store_fault_hits(store_t *st);
/* A connection of siyu's own machinery beside the code under test (the member cache's poll,
 * every 100 ms on a thread of its own): its steps neither count nor fail. */
void store_conn_no_faults(store_conn *c);
/* Makes the n-th store_sync_now from now on fail (0: none), as an fdatasync that failed.
 * SIYU_STORE_SYNC_FAULT="N" sets it when the store opens (for tests that start siyu). */
void store_fault_sync(store_t *st, long n);
/* Makes every sync from now on take us microseconds longer (0: as the disk does), in this
 * process: SQLite's own (through the VFS) and store_sync_now's, as a slow disk. The group
 * committer's choice of who syncs follows it (tests). */
void store_slow_sync(long us);
/* Waits as long as store_slow_sync asked, before a sync (the VFS's and store_sync_now). */
void store_slow_sync_wait(void);

/* ---- Several nodes on one store ----
 * store_shared: true when several siyu processes may serve the store at once (PostgreSQL);
 * each then follows the others' commits through the change log (views/follow.c).
 * store_listen subscribes a connection to a channel (PostgreSQL's LISTEN; nothing on
 * SQLite); store_wait_notify waits up to timeout_ms for a notification on it: 1 when one
 * (or more) arrived, 0 on timeout (always on SQLite, after the wait), -1 when the
 * connection is lost (open another and listen again). */
bool store_shared(store_t *st);
/* True when every statement is a round trip to a server (PostgreSQL), not a function call
 * (SQLite): a bulk writer then asks many lookups in one statement (orders_keys_check),
 * which on SQLite would cost more than the lookups it replaces. */
bool store_conn_remote(store_conn *c);
/* This process's name among the nodes (host, pid and a random part; made once). */
const char *store_node_id(void);

/* The auth epoch: a counter that moves after every commit, in this process, of a write to
 * the tables that say who a bearer token is (tokens, staff; a token's last use aside). A
 * cache of resolved tokens (auth.h) drops what it read before the epoch last moved, so a
 * revocation through this process takes effect on the next request. Writes from other
 * processes (the CLI, another node) do not move it: the cache bounds their delay by age. */
uint64_t store_auth_epoch(void);
/* Whether q writes tokens or staff (what moves the epoch when it commits). */
bool store_query_changes_auth(store_query q);
/* Whether the SQL text writes table (UPDATE, INSERT or REPLACE INTO, DELETE FROM, TRUNCATE;
 * any case, conflict clause, schema or quotes): how the queries above are found. */
bool store_sql_writes_table(const char *sql, const char *table);
/* The same walk: fn(table) for every table the text writes (a table may come twice). */
void store_sql_each_write(const char *sql, void (*fn)(const char *table, void *arg), void *arg);
/* The next word of a query text (lower-cased; literals, schemas and quotes skipped) into w,
 * *sp moved past it; false at the end. */
bool store_sql_next_word(const char **sp, char *w, size_t cap);

/* ---- What a member 360 kept in memory checks (view_stamps.c, views/member_cache.h) ----
 * store_view_define, once before serving, names the queries the 360 runs, the tables
 * among theirs whose every write names its member, and the writes to their tables that change
 * no column a 360 shows (a counter). From then on a commit in this process
 * moves the epoch when it wrote any other table those queries name, or a member-keyed one
 * on a connection whose committer does not name the members it wrote; a committer that
 * does (store_conn_names_members) calls store_view_touch for each after the commit. A kept
 * answer is served while the epoch is the one read before it was rendered and its member
 * was not touched since the clock read then. store_view_poll moves the epoch when the change
 * sequence went past this process's own commits (another process or node wrote): 1 then, 0
 * when not, -1 when it could not be read. */
enum { STORE_VIEW_MEMBER = 1, STORE_VIEW_GLOBAL = 2 };
void store_view_define(const store_query *reads, size_t n, const char *const *member_tables,
                       const store_query *exempt, size_t n_exempt);
uint8_t store_view_class(store_query q); /* STORE_VIEW_* bits; 0 before the definition */
uint64_t store_view_epoch(void);
void store_view_bump(void);
uint64_t store_view_clock(void);
void store_view_touch(int64_t member);
bool store_view_touched_since(int64_t member, uint64_t clock);
int store_view_poll(store_conn *c, siyu_err *e);
void store_conn_names_members(store_conn *c, bool on);
/* Tests: marks seen[q] (Q__COUNT bytes) for every query c prepares from now on; NULL stops. */
void store_conn_trace(store_conn *c, uint8_t *seen);
int store_listen(store_conn *c, const char *channel, siyu_err *e);
int store_wait_notify(store_conn *c, int timeout_ms);

/* ---- The change sequence ----
 * A number every committed write transaction (store_begin(c, true, …) … store_commit) moves,
 * with a random tag drawn anew by each: (seq, tag) names the store's state, so a snapshot
 * of what was built from it (the views) is current exactly when both still match. Reads
 * in c's open transaction, or in one of its own. */
int store_change_seq(store_conn *c, int64_t *seq, int64_t *tag, siyu_err *e);

/* Size of the store on disk, for /metrics (PostgreSQL: the database's size). */
int64_t store_size_bytes(store_t *st);
/* The seconds each fsync of a SQLite store took (every store of the process). */
metric_hist *store_sync_seconds(void);
const char *store_path(store_t *st); /* the path or URL, a password hidden */

#endif
