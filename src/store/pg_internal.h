/* pg_internal.h — what the PostgreSQL driver files share; nothing outside store/ (and its
 * unit test) includes it. */
#ifndef SIYU_STORE_PG_INTERNAL_H
#define SIYU_STORE_PG_INTERNAL_H

#include "store/queries.h"

extern const char *const pg_migrations[];
extern const int pg_migration_count;
/* The PostgreSQL text of every named query. Parameters are written ?N as in the SQLite
 * texts; the driver turns them into $N when it prepares. An INSERT ending in
 * "RETURNING id" reports the id through store_last_id, not as a row. */
extern const char *const pg_queries[Q__COUNT];

#endif
