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

#endif
