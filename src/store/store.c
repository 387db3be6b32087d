/* store.c — the storage boundary: picks the driver from the URL (postgresql:// or
 * postgres:// is PostgreSQL, anything else a SQLite file) and forwards each call. */
#include <string.h>

#include "store/store_driver.h"

bool store_url_is_pg(const char *url)
{
    return url && (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0);
}

int store_open(const char *url, const store_options *opt, store_t **out, siyu_err *e)
{
    *out = NULL;
    if (!url || !*url)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "db", "db: no path given (--db or SIYU_DB)");
    return (store_url_is_pg(url) ? &store_pg_driver : &store_sqlite_driver)->open(url, opt, out, e);
}

void store_close(store_t *st)
{
    if (st) st->drv->close(st);
}

int store_schema_version(store_t *st)
{
    return st->drv->schema_version(st);
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

void store_conn_cache(store_conn *c, int mib)
{
    c->drv->conn_cache(c, mib);
}
int store_begin(store_conn *c, bool write, siyu_err *e)
{
    return c->drv->begin(c, write, e);
}
int store_commit(store_conn *c, siyu_err *e)
{
    return c->drv->commit(c, e);
}
void store_rollback(store_conn *c)
{
    c->drv->rollback(c);
}
bool store_in_tx(store_conn *c)
{
    return c->drv->in_tx(c);
}
int store_savepoint(store_conn *c, siyu_err *e)
{
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
    return c->drv->q(c, q);
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
    return s->drv->step(s);
}
int store_exec(store_stmt *s, siyu_err *e)
{
    return s->drv->exec(s, e);
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
