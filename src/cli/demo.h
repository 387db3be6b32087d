/* demo.h — the parts of the demo chain that `siyu demo` adds after the generated history
 * (cmd_demo.c runs them in order, each in its own transactions on the new store). One file
 * per feature (demo_FEATURE.c), so a feature's demo data lives beside nothing else's. */
#ifndef SIYU_CLI_DEMO_H
#define SIYU_CLI_DEMO_H

#include "base/error.h"
#include "store/store.h"

/* Members' rights: a few members erased at their request, and the audit trail of a week of
 * staff work (reads of member 360s, an export, the erasures). */
int demo_rights(store_t *st, siyu_err *e);

#endif
