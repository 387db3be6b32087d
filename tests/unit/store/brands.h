/* brands.h — the store tests' smallest write and read: a brand added, the brands counted
 * (on the connection given, inside its transaction if one is open). */
#ifndef SIYU_TESTS_STORE_BRANDS_H
#define SIYU_TESTS_STORE_BRANDS_H

#include "store/store.h"

static inline int brands(store_conn *c)
{
    int n = 0;
    store_stmt *s = store_q(c, Q_BRAND_LIST);
    store_bind_int(s, 1, 0);
    store_bind_int(s, 2, 1000);
    while (store_step(s) == STORE_ROW)
        n++;
    return n;
}

static inline int add_brand(store_conn *c, const char *name, siyu_err *e)
{
    store_stmt *s = store_q(c, Q_BRAND_INSERT);
    store_bind_text(s, 1, name);
    store_bind_int(s, 2, 1);
    return store_exec(s, e);
}

#endif
