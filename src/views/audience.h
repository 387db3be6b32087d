/* audience.h — the operator's settings of the member index: RFM and lifecycle thresholds.
 *
 * One place reads them from a request, keeps them in the store's settings table
 * (keys "segment.rfm" and "segment.lifecycle", JSON values) and applies them to an
 * index, so the HTTP API, the CLI and the start-up rebuild agree by construction.
 * Implemented in audience.c, which applies them when it builds the index.
 *
 * JSON form (a PUT body, a GET answer, the stored values):
 *   "rfm":       "auto" (median split, the default) or
 *                {"recency_max_days", "frequency_min_orders", "monetary_min_cents"}
 *   "lifecycle": "default" (30 / 90 / 180) or {"new_days", "active_days", "lapsed_days"}
 * Every field is required inside an object; errors name it ("rfm.recency_max_days"). */
#ifndef SIYU_VIEWS_AUDIENCE_H
#define SIYU_VIEWS_AUDIENCE_H

#include <jansson.h>
#include <stdbool.h>

#include "base/error.h"
#include "segment/index.h"
#include "store/store.h"

typedef struct audience_settings {
    bool rfm_auto;          /* median split, recomputed every day */
    seg_rfm_thresholds rfm; /* the fixed thresholds when !rfm_auto */
    seg_lifecycle_thresholds life;
} audience_settings;

/* The defaults: automatic RFM, lifecycle 30 / 90 / 180 days. */
void audience_settings_init(audience_settings *s);

/* Reads what is stored (defaults for what was never set), in the caller's transaction
 * or autocommit. A stored value that does not validate is an error naming its key,
 * and s then holds the default for that key (and what is stored for the other). */
int audience_settings_load(store_conn *c, audience_settings *s, siyu_err *e);

/* Applies a PUT body {rfm?, lifecycle?} onto s; at least one must be present. On error
 * s may be partly changed: callers work on a copy. */
int audience_settings_update(audience_settings *s, json_t *body, siyu_err *e);

/* Writes both keys, in the caller's write transaction. */
int audience_settings_save(store_conn *c, const audience_settings *s, siyu_err *e);

/* Puts them in force on a live index (rule tags are re-materialised, since a rule
 * may name an RFM class or a lifecycle stage). */
void audience_settings_apply(seg_index *idx, const audience_settings *s);

/* {rfm, lifecycle} as stored, plus "rfm_in_force" (the thresholds the index uses now,
 * the medians under "auto") when idx is not NULL. A new reference. */
json_t *audience_settings_json(const audience_settings *s, seg_index *idx);

#endif
