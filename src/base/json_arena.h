/* json_arena.h — bump allocation for JSON a thread parses in bulk and drops in bulk.
 *
 * The importer's reader thread parses hundreds of thousands of records whose trees live
 * for one block and die together. Through malloc, each tree is dozens of small chunks,
 * and freeing a block's worth of them coalesces into large chunks that make glibc
 * consolidate its free lists: a quarter of an import's CPU. Under an arena, a record's
 * allocations are bumps in a chunk and a whole block is released in one step.
 *
 * json_arena_install() routes jansson's allocations through this module once, at
 * process start, before any thread exists. A thread allocates from an arena only while
 * it has made one current (json_arena_use); every other allocation, on every thread, is
 * plain malloc. Freeing tells the two apart by address (arena chunks come from one
 * reserved range), so a tree may mix both: a malloc'd value set into an arena-parsed
 * record is freed normally when the record is deleted, and an arena value freed
 * early is simply left for the release. Without install, or when the range is
 * exhausted, everything falls back to malloc and stays correct. */
#ifndef SIYU_BASE_JSON_ARENA_H
#define SIYU_BASE_JSON_ARENA_H

#include <stdbool.h>
#include <stddef.h>

typedef struct json_arena json_arena;

/* Makes jansson allocate through this module. Call once, before threads start. */
void json_arena_install(void);

json_arena *json_arena_new(void);
/* Whether everything allocated while a was current lies in its chunks (nothing too large
 * or past the range went to malloc; false when json_arena_install never ran). Then a tree parsed
 * under a, and changed by nobody since, needs no json_decref before the release: the release frees
 * it whole. */
bool json_arena_holds_all(const json_arena *a);

/* Gives the arena's chunks back for reuse. Every tree allocated in it must already have
 * been deleted (json_decref), so the malloc'd values set into them are freed, unless
 * json_arena_holds_all and the tree was never changed. */
void json_arena_release(json_arena *a);

/* Makes a the calling thread's current arena (NULL: plain malloc again). Keep it current
 * only around a parse: code that frees with free() what jansson allocated (the text of
 * json_dumps) must never be handed arena memory. */
void json_arena_use(json_arena *a);

/* Bytes of arena chunks in use and free, process-wide (for tests). */
size_t json_arena_bytes_in_use(void);
/* Whether p came from an arena chunk (for tests). */
bool json_arena_owns(const void *p);

#endif
