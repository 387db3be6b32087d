/* snapmap.h — a views snapshot mapped into memory and used in place.
 *
 * A restart of a node with 20 M members reads a snapshot of several GB. Copying it into
 * freshly allocated columns costs a page fault per 4 KiB on both sides, which on a
 * virtual machine runs at a few hundred MB/s: tens of seconds. Mapped privately (copy on
 * write), the file's pages become the columns themselves: a page is faulted in when first
 * read, copied only when first written, and the file is never changed.
 *
 * Columns taken from a mapping then live beside malloc'd ones in the same structures, so
 * whoever frees or grows a column calls snapmap_free / snapmap_realloc, which tell the two
 * apart by address (every open mapping's range is registered here), as json_arena does.
 * A mapping is reference-counted: each structure holding columns in it keeps a reference
 * and releases it after freeing them; the last release unmaps.
 *
 * siyu replaces a snapshot by renaming a new file over it, which leaves a mapped one whole.
 * A file truncated in place under a mapping faults its reader (SIGBUS), so a serving node
 * takes its snapshot out of the directory (cmd_serve.c); a CLI command maps it for a moment. */
#ifndef SIYU_BASE_SNAPMAP_H
#define SIYU_BASE_SNAPMAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct snapmap snapmap;

/* Maps the file at path, copy on write, with one reference. NULL with why filled ("none"
 * when there is no file). A mapping that could not be registered (too many open at once)
 * is still returned, with snapmap_in_place false: its readers must copy what they keep. */
snapmap *snapmap_open(const char *path, char *why, size_t whycap);
unsigned char *snapmap_data(const snapmap *m);
size_t snapmap_len(const snapmap *m);
bool snapmap_in_place(const snapmap *m);

snapmap *snapmap_retain(snapmap *m); /* NULL-safe; answers m */
void snapmap_release(snapmap *m);    /* NULL-safe; the last one unmaps */

/* Whether p points into a registered mapping. */
bool snapmap_owns(const void *p);
/* free(p), unless p points into a mapping (then nothing: the mapping goes with its
 * last reference). */
void snapmap_free(void *p);
/* realloc(p, newsize), except that a block in a mapping is copied (its first
 * min(oldsize, newsize) bytes) into a new malloc'd one. NULL on failure, p unchanged. */
void *snapmap_realloc(void *p, size_t oldsize, size_t newsize);

#endif
