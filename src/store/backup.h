/* backup.h — the operator's safety net for the SQLite store: an online backup that
 * is consistent to one instant while siyu serves and writes, a restore that checks
 * what it restores, and a vacuum that leaves no erased byte in the store's files.
 *
 * PostgreSQL (later) uses its own tools: pg_dump / pg_restore (docs/privacy.md). */
#ifndef SIYU_STORE_BACKUP_H
#define SIYU_STORE_BACKUP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

typedef struct store_backup_info {
    int schema_version;
    int64_t bytes; /* size of the file written */
    int64_t at;    /* when the snapshot was taken (Unix seconds) */
} store_backup_info;

/* Copies the store at db into out with SQLite's online backup API in one step: one
 * read transaction, so the copy holds exactly the commits made before it began, and
 * writers go on meanwhile (WAL). The copy is then compacted (VACUUM with secure
 * delete, rollback journal): it carries no free pages, hence no bytes of data erased
 * before the backup. Written to out.partial, synced, renamed over out. */
int store_backup(const char *db, const char *out, store_backup_info *info, siyu_err *e);

/* Restores a backup into db. Checks that `from` is a sound SQLite file holding a
 * siyu store of a schema this siyu knows (version 1..current); refuses to overwrite
 * an existing store unless force. Brings an older schema forward (migrations) and
 * leaves the store in WAL mode. Stop `siyu serve` on db first. */
int store_restore(const char *from, const char *db, bool force, store_backup_info *info,
                  siyu_err *e);

/* Rebuilds the store file (VACUUM with secure delete) and truncates its WAL, so
 * nothing deleted or erased remains in the .db, -wal or -shm bytes. Safe while
 * siyu serves (writes wait for it); the WAL truncation needs a moment without
 * readers and is retried — *wal_truncated says whether it happened. */
int store_vacuum(const char *db, bool *wal_truncated, siyu_err *e);

#endif
