/* demo.h — the parts of the demo chain that `siyu demo` adds after the generated history
 * (cmd_demo.c runs them in order, each in its own transactions on the new store). One file
 * per feature (demo_FEATURE.c), so a feature's demo data lives beside nothing else's. */
#ifndef SIYU_CLI_DEMO_H
#define SIYU_CLI_DEMO_H

#include "base/error.h"
#include "store/store.h"

/* One demo step in its own savepoint: call as
 *     if ((rc = store_savepoint(c, e)) == 0) rc = demo_settle(c, fn(&d, ..., &sub), &sub, e);
 * A step the rules refuse (r < 0 with a client error in sub: a merged member, a cap) is undone
 * and skipped (1); an internal error is the demo's (-1, in e); a success is kept (0). sub is
 * cleared either way. */
int demo_settle(store_conn *c, int r, siyu_err *sub, siyu_err *e);

/* Members' rights: a few members erased at their request, and the audit trail of a week of
 * staff work (reads of member 360s, an export, the erasures). */
int demo_rights(store_t *st, siyu_err *e);
/* Console sign-in for the demo's staff (demo_console.c). */
int demo_console(store_t *st, siyu_err *e);
/* Communities: groups per store with joins, quits, activity and sale sessions (demo_groups.c). */
int demo_groups(store_t *st, siyu_err *e);

/* Guide tasks and the content library: campaigns with tasks in every state, a weekly moments
 * post, content used and shared (demo_tasks.c, docs/tasks.md). */
int demo_tasks(store_t *st, siyu_err *e);
/* Fission: an invite campaign with its referral tree, a group-buy (teams filled, failed and
 * open) and an assist campaign with helpers (demo_fission.c). */
int demo_fission(store_t *st, siyu_err *e);

/* Guides: WeCom userids, channel QR codes in two campaigns and the members they brought
 * (orders, lost contacts), an on-job transfer, and a departure with its transfer in mixed
 * states (docs/guides.md). */
int demo_guides(store_t *st, siyu_err *e);
/* Mass messages through guides to the codes' customers: sent, skipped, open, and held back by
 * the frequency cap (demo_mass.c, docs/tasks.md). */
int demo_mass(store_t *st, siyu_err *e);

#endif
