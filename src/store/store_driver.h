/* store_driver.h — the drivers behind store.h (SQLite, PostgreSQL); nothing outside
 * store/ includes it.
 *
 * store.c picks a driver from the URL and forwards every call through its table; what
 * is the same on both — errors that stick, fault injection — it does itself, around the
 * driver's calls. Each driver's store, connection and statement begin with the base
 * structs below, so one pointer serves both the dispatch and the driver's own state. */
#ifndef SIYU_STORE_DRIVER_H
#define SIYU_STORE_DRIVER_H

#include <stdatomic.h>

#include "store/store.h"

typedef struct store_driver store_driver;

struct store {
    const store_driver *drv;
    /* fault injection (store.c): the fault_at-th counted step fails with fault_kind */
    atomic_long fault_at, fault_seen, fault_hits;
    int fault_kind;
    /* the sync_fault_at-th store_sync_now fails (store_fault_sync) */
    atomic_long sync_fault_at, sync_seen;
};
struct store_conn {
    const store_driver *drv;
    store_t *st;
    /* the sticky error (store.c): set by the first failed step, cleared by store_begin */
    bool failed;
    char fail_msg[200];
    /* the open transaction was begun to write: its commit moves the change sequence (when
     * it changed rows: total_changes moved from tx_changes0) */
    bool tx_write;
    int64_t tx_changes0;
    /* a statement that changes who a token is was prepared since the last commit (store.c):
     * its commit moves the auth epoch */
    bool auth_dirty;
    /* store_conn_others_wrote by the change sequence (drivers without conn_others_wrote):
     * the sequence as this connection last saw it, after its own commits too, and whether
     * one of its commits found the sequence moved by someone else first */
    bool seq_known, seq_others;
    int64_t seq_seen;
    /* the member 360's freshness (view_stamps.c): what the open transaction wrote that a
     * kept 360 reads (STORE_VIEW_* bits); whether its committer names the members it wrote
     * (store_conn_names_members); whether the last change-sequence bump is not yet accounted
     * for, and found the sequence moved by someone else first */
    uint8_t view_dirty;
    bool names_members, seq_fresh, seq_jumped;
    bool bulk;      /* store_bulk: writes may be deferred, their changes unknown when stepped */
    uint8_t *trace; /* store_conn_trace: set to 1 at each query's index as it is prepared */
    bool no_faults; /* store_conn_no_faults: injected faults are the others' */
};
/* view_stamps.c */
void store_view_settle(store_conn *c, bool committed);
void store_view_commit_begins(void); /* around a commit that moves the change sequence */
void store_view_commit_ends(void);
/* Columns read by name (store_col_index): each name a caller asked for, by its pointer (a
 * string literal), with the column it resolved to, kept with the prepared statement. */
#define STORE_NAMED_MAX 32
struct store_stmt {
    const store_driver *drv;
    uint8_t view_class; /* STORE_VIEW_* of its query (view_stamps.c) */
    int named;
    const char *named_ptr[STORE_NAMED_MAX];
    short named_col[STORE_NAMED_MAX];
};

struct store_driver {
    const char *name;
    int (*open)(const char *url, const store_options *opt, store_t **out, siyu_err *e);
    void (*close)(store_t *st);
    int (*schema_version)(store_t *st);
    int64_t (*size_bytes)(store_t *st);
    const char *(*path)(store_t *st);

    int (*conn_open)(store_t *st, store_conn **out, siyu_err *e);
    void (*conn_close)(store_conn *c);
    void (*conn_cache)(store_conn *c, int mib);
    bool (*conn_others_wrote)(store_conn *c); /* NULL: always true (PostgreSQL) */
    void (*conn_writer)(store_conn *c);       /* NULL: nothing to do (PostgreSQL) */
    /* NULL: every commit is durable when it returns (PostgreSQL) */
    bool (*conn_defer_sync)(store_conn *c);
    bool (*conn_sync_commits)(store_conn *c, bool sync);
    int (*sync)(store_conn *c, siyu_err *e);
    void (*bulk)(store_conn *c, bool on); /* NULL: nothing to do (SQLite) */

    int (*begin)(store_conn *c, bool write, siyu_err *e);
    int (*commit)(store_conn *c, siyu_err *e);
    void (*rollback)(store_conn *c);
    bool (*in_tx)(store_conn *c);
    /* outside a transaction, ends the reads left running (store_read_latest); NULL: every
     * statement outside a transaction reads the latest commit already (PostgreSQL) */
    void (*read_latest)(store_conn *c);
    int (*savepoint)(store_conn *c, siyu_err *e);
    void (*savepoint_release)(store_conn *c);
    void (*savepoint_undo)(store_conn *c);

    store_stmt *(*q)(store_conn *c, store_query q);
    void (*bind_int)(store_stmt *s, int i, int64_t v);
    void (*bind_text)(store_stmt *s, int i, const char *v);
    void (*bind_blob)(store_stmt *s, int i, const void *v, int n);
    void (*bind_null)(store_stmt *s, int i);
    void (*bind_real)(store_stmt *s, int i, double v);
    store_step_rc (*step)(store_stmt *s);
    void (*reset)(store_stmt *s);
    int64_t (*col_int)(store_stmt *s, int i);
    const char *(*col_text)(store_stmt *s, int i);
    const void *(*col_blob)(store_stmt *s, int i, int *n);
    bool (*col_null)(store_stmt *s, int i);
    double (*col_real)(store_stmt *s, int i);
    int (*col_count)(store_stmt *s);
    const char *(*col_name)(store_stmt *s, int i);
    store_col_kind (*col_type)(store_stmt *s, int i);

    int64_t (*last_id)(store_conn *c);
    int (*changes)(store_conn *c);
    /* rows changed on the connection since it opened; NULL when the engine cannot say
     * cheaply (PostgreSQL): every write transaction then moves the change sequence */
    int64_t (*total_changes)(store_conn *c);
    const char *(*errmsg)(store_conn *c);
    store_conn *(*stmt_conn)(store_stmt *s);

    /* several processes on one store (store_shared): notifications between them */
    bool shared;
    /* every statement is a round trip to a server (store_conn_remote) */
    bool remote;
    int (*listen)(store_conn *c, const char *channel, siyu_err *e);
    int (*wait_notify)(store_conn *c, int timeout_ms);
};

extern const store_driver store_sqlite_driver;
extern const store_driver store_pg_driver;

/* True when url names a PostgreSQL database (postgresql:// or postgres://). */
bool store_url_is_pg(const char *url);

#endif
