/* erasure.h — what the erasure tests share (test_rights.c, month_rights.c). */
#ifndef SIYU_TEST_ERASURE_H
#define SIYU_TEST_ERASURE_H

#include <jansson.h>

/* Drops the reachability figures of a KPI report, at any depth: an erased member can be
 * reached no more, and every other figure must stay as it was (docs/privacy.md). */
static inline void kpi_drop_reach(json_t *v)
{
    if (json_is_object(v)) {
        json_object_del(v, "reachable_members");
        json_object_del(v, "online_rate");
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) kpi_drop_reach(x);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) kpi_drop_reach(x);
    }
}

#endif
