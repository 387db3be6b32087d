/* sqlite_internal.h — what the SQLite driver files share; nothing outside store/ includes it. */
#ifndef SIYU_STORE_SQLITE_INTERNAL_H
#define SIYU_STORE_SQLITE_INTERNAL_H

#include "store/queries.h"

extern const char *const sqlite_migrations[];
extern const int sqlite_migration_count;
extern const char *const sqlite_queries[Q__COUNT];
/* The VFS that times fsyncs (sqlite_vfs.c), or NULL for SQLite's default. */
const char *sqlite_timed_vfs(void);

#endif
