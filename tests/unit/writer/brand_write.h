/* brand_write.h — the writer tests' smallest write: a brand added through the group
 * committer (or on a lent connection), its id noted as a change for the views to follow. */
#ifndef SIYU_TESTS_WRITER_BRAND_WRITE_H
#define SIYU_TESTS_WRITER_BRAND_WRITE_H

#include "../store/brands.h"
#include "domain/domain.h"

typedef struct brand_write {
    const char *name;
    int64_t id; /* out */
} brand_write;

/* A writer_fn: arg is a brand_write. changes NULL (a lent connection): nothing noted. */
static inline int brand_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    brand_write *b = arg;
    if (add_brand(c, b->name, e)) return -1;
    b->id = store_last_id(c);
    dom is = {.conn = c, .changes = changes};
    if (changes) dom_note(&is, DOM_CHANGE_MEMBER, b->id, 0); /* any kind: tests count ids */
    return 0;
}

#endif
