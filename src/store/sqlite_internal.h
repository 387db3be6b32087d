/* sqlite_internal.h — what the SQLite driver files share; nothing outside store/ includes it. */
#ifndef SIYU_STORE_SQLITE_INTERNAL_H
#define SIYU_STORE_SQLITE_INTERNAL_H

#include <stdint.h>

#include "store/queries.h"

extern const char *const sqlite_migrations[];
extern const int sqlite_migration_count;
extern const char *const sqlite_queries[Q__COUNT];
/* The VFS that times fsyncs (sqlite_vfs.c), or NULL for SQLite's default. */
const char *sqlite_timed_vfs(void);
/* The WAL writes the VFS gathered, and their bytes, since the process began (for tests). */
void sqlite_vfs_gathered(uint64_t *writes, uint64_t *bytes);
/* The pages a connection's cache spilled to the WAL mid-transaction since it opened (for
 * tests: nothing may spill under a savepoint, store_sqlite.c), or -1 when c is not
 * SQLite's. */
struct store_conn;
long long sqlite_conn_spilled(struct store_conn *c);

#endif
