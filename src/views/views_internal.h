/* views_internal.h — what the files of src/views share. */
#ifndef SIYU_VIEWS_INTERNAL_H
#define SIYU_VIEWS_INTERNAL_H

#include "domain/domain.h"
#include "segment/index.h"
#include "store/store.h"

int audience_load(store_conn *c, seg_index **out, siyu_err *e);
/* Tags, saved segments and thresholds into an index read from a snapshot (which holds none). */
int audience_load_audiences(store_conn *c, seg_index *idx, siyu_err *e);
void audience_apply(seg_index *idx, store_conn *c, const dom_change *v, size_t n);
void audience_reload_predictions(seg_index *idx, store_conn *c);
/* tier and points columns (loyalty_view.c) */
void loyalty_view_load(seg_index *idx, store_conn *c);
void loyalty_view_apply(seg_index *idx, store_conn *c, const dom_change *v, size_t n);

#endif
