/* views.h — the in-memory views that follow the store while siyu serves.
 *
 * The KPI fact store (src/reports) and the member index (src/segment) are built from the
 * store at start-up and then kept current: the HTTP layer hands every committed write's
 * change list to views_on_commit(). Views are read-mostly; each guards itself with a
 * rwlock, so reports and audience counts run while writes stream in. */
#ifndef SIYU_VIEWS_VIEWS_H
#define SIYU_VIEWS_VIEWS_H

#include "base/error.h"
#include "domain/domain.h"
#include "reports/reports.h"
#include "store/store.h"

typedef struct views views;

/* Builds every view from the store (one read transaction each). */
int views_open(store_t *st, views **out, siyu_err *e);
void views_close(views *v); /* NULL is a no-op */

/* An http_commit_fn: applies a committed change list, reading rows back through c. */
void views_on_commit(void *ctx, store_conn *c, const dom_change *v, size_t n);

reports_t *views_reports(views *v);
/* The groups report's view (group_view.h), or NULL; a groups_source's context. */
struct group_view *views_groups(views *v);

/* The member index, its current day moved to today first (audiences move as days pass). */
struct seg_index *views_index(views *v);
/* View updates whose reads failed since start (the views lag the store until restart). */
uint64_t views_failed_updates(views *v);

/* Builds only the member index (the CLI's siyu segment). Free with seg_index_free. */
int views_open_index(store_t *st, struct seg_index **out, siyu_err *e);

/* The members' current tiers from the member index (the `tier` column the loyalty
 * engine sets), as report classes for a tier leaderboard; members without a tier get
 * "". A snapshot: build one per report. NULL with e filled on failure. */
reports_classes *views_tier_classes(struct seg_index *idx, siyu_err *e);

/* ---- Several nodes on one store (follow.c) ----
 * views_follow_mark reads the change log's last sequence number: taken before views_open
 * builds, it is where following starts (a change committed while the views were built is
 * applied again, which reloads the same rows). views_follow_start starts the thread that
 * applies every other node's commits to v, within half a second (at once when the store
 * notifies); on a store one process serves (SQLite) it does nothing and *out is NULL. */
struct views_follow;
int64_t views_follow_mark(store_t *st, siyu_err *e); /* -1 on failure */
int views_follow_start(store_t *st, views *v, int64_t from_seq, struct views_follow **out,
                       siyu_err *e);
void views_follow_stop(struct views_follow *f);        /* NULL is a no-op */
uint64_t views_follow_applied(struct views_follow *f); /* other nodes' changes applied */

/* After a model fit: the new predictions into the member index. */
void views_reload_predictions(views *v, store_conn *c);

/* ---- Snapshot (snapshot.c) ----
 * views_open_snapshot reads the views from the snapshot file at path when it was taken at
 * the store's change sequence now (store.h), else builds them as views_open does (and says
 * why on stderr); path NULL always builds. views_save_snapshot writes them at the store's
 * change sequence `at` (seq, tag), which the caller read once every write the views follow
 * had been applied (serve: its writers stopped, views_follow_stop_at); with at NULL, the
 * store's now, which must be the one the views were built at (the CLI). Refused when a view
 * update failed. views_store_seq reads the store's (seq, tag). */
int views_open_snapshot(store_t *st, const char *path, views **out, siyu_err *e);
int views_save_snapshot(views *v, store_t *st, const char *path, const int64_t *at, siyu_err *e);
int views_store_seq(store_t *st, int64_t at[2], siyu_err *e);
/* Whether views_open_snapshot read the views from the file (which they then use in place,
 * base/snapmap.h) rather than building them. */
bool views_read_from_snapshot(const views *v);
/* How long views_open_snapshot took to have the views (read or rebuilt), for /metrics. */
double views_start_seconds(const views *v);
/* The CLI's views: the fact store and/or the member index (either pointer may be NULL) from
 * the snapshot ($SIYU_VIEWS_SNAPSHOT, else <db>.views; off: never) when it is current, else
 * built from the store. Free them with reports_free and seg_index_free. */
int views_open_cli(store_t *st, reports_t **r, struct seg_index **idx, siyu_err *e);
/* Stops following like views_follow_stop, after reading the store's (seq, tag) into at and
 * applying every other node's change committed until then: 0 when all were applied. */
int views_follow_stop_at(struct views_follow *f, int64_t at[2]);

#endif
