/* group_view.h — the groups report's in-memory view (issue 16, docs/communities.md).
 *
 * It owns a compact copy of what the groups report reads besides orders: every group's
 * row (store, owner, theme, name, chat_id, cap, state), its per-day speakers and messages
 * (chat_group_days), and every customer stint (joined and quit times, whether the quit
 * counts as one: not a dismissal) with the members its person or unionid names through
 * the identities. Orders and refunds are not copied: they are read from the KPI facts
 * (reports_each_order, reports_group_conversion). Built at start-up in one read
 * transaction, then fed every committed change list (views_on_commit): DOM_CHANGE_GROUP
 * and DOM_CHANGE_GROUP_DAY re-read a group, a stint or a group-day; a member's change,
 * reach change or merge re-reads the member's stints and who they name, which covers a
 * new identity, a merge and an erasure.
 *
 * Never a wrong answer: a value that does not fit the compact layout, or a read that
 * failed while following a commit, marks the view stale; the report then reads SQL,
 * while a background thread builds the view again (changes arriving meanwhile are kept
 * and re-read once the new copy is in). */
#ifndef SIYU_VIEWS_GROUP_VIEW_H
#define SIYU_VIEWS_GROUP_VIEW_H

#include "community/community.h"
#include "domain/domain.h"
#include "reports/reports.h"
#include "store/store.h"

typedef struct group_view group_view;

/* Builds the view from c (in a read transaction of its own); reports are the facts it
 * reads orders from. st (may be NULL) is where a background rebuild opens its
 * connection. */
int group_view_load(store_t *st, store_conn *c, reports_t *reports, group_view **out, siyu_err *e);
void group_view_free(group_view *g); /* NULL is a no-op; waits for a rebuild */

/* Applies a committed change list, reading rows back through c (inside a read txn). */
void group_view_apply(group_view *g, store_conn *c, const dom_change *v, size_t n);

/* A groups_source (community.h): ctx is the group_view. -1 when the view cannot answer
 * (stale, rebuilding, or SIYU_GROUPS_VIEW=off in the environment): use SQL. */
int group_view_figures(void *ctx, const groups_ask *q, groups_figures *out);

/* Marks the view stale and builds it again in the background (what a failed read while
 * following a commit does); the report reads SQL until the new copy is in. */
void group_view_rebuild(group_view *g);

typedef struct group_view_stats {
    size_t groups, days, stints, members, bytes;
    bool ready;
    uint64_t rebuilds;
} group_view_stats;
void group_view_get_stats(group_view *g, group_view_stats *out);

#endif
