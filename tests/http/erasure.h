/* erasure.h — what the erasure tests share (test_rights.c, month_rights.c). */
#ifndef SIYU_TEST_ERASURE_H
#define SIYU_TEST_ERASURE_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Writes the paths where two JSON values differ into out ("a.b[3].c: 5 -> 6; …"), so a failed
 * comparison of two large reports names what changed instead of printing both whole. */
static inline void json_diff_paths(const json_t *a, const json_t *b, const char *at, char *out,
                                   size_t cap)
{
    if (json_equal(a, b) || strlen(out) + 1 >= cap) return;
    char sub[256];
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)a, k, x)
        {
            snprintf(sub, sizeof sub, "%s.%s", at, k);
            json_t *y = json_object_get(b, k);
            if (!y) {
                size_t n = strlen(out);
                snprintf(out + n, cap - n, "%s: only before; ", sub);
            } else
                json_diff_paths(x, y, sub, out, cap);
        }
        json_object_foreach((json_t *)b, k, x) if (!json_object_get(a, k))
        {
            size_t n = strlen(out);
            snprintf(out + n, cap - n, "%s.%s: only after; ", at, k);
        }
        return;
    }
    if (json_is_array(a) && json_is_array(b) && json_array_size(a) == json_array_size(b)) {
        for (size_t i = 0; i < json_array_size(a); i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", at, i);
            json_diff_paths(json_array_get(a, i), json_array_get(b, i), sub, out, cap);
        }
        return;
    }
    char *x = json_dumps(a, JSON_ENCODE_ANY | JSON_COMPACT);
    char *y = json_dumps(b, JSON_ENCODE_ANY | JSON_COMPACT);
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "%s: %.80s -> %.80s; ", at, x ? x : "?", y ? y : "?");
    free(x);
    free(y);
}

#endif
