/* views.c — building the in-memory views and feeding them committed changes. */
#include "views/views.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/timeutil.h"
#include "views/group_view.h"
#include "views/views_internal.h"

struct views {
    reports_t *reports;
    seg_index *index;
    group_view *groups;
    /* Tag, segment and threshold changes are read back and applied one list at a time:
     * a later list then reads a later snapshot, so the index ends in the store's order. */
    pthread_mutex_t audience_lock;
    atomic_uint_fast64_t failed_updates; /* view updates whose reads failed */
};

static bool has_audience_change(const dom_change *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].kind >= DOM_CHANGE_TAG && v[i].kind <= DOM_CHANGE_AUDIENCE_SETTINGS) return true;
    return false;
}

int views_open(store_t *st, views **out, siyu_err *e)
{
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    views *v = calloc(1, sizeof *v);
    pthread_mutex_init(&v->audience_lock, NULL);
    uint64_t t0 = clock_mono_ns();
    int rc = reports_load(c, &v->reports, e);
    store_conn_close(c);
    if (rc) {
        views_close(v);
        return -1;
    }
    reports_stats rs;
    reports_get_stats(v->reports, &rs);
    fprintf(stderr, "siyu: reports: %zu orders, %zu members loaded in %.1f s\n", rs.orders,
            rs.members, (double)(clock_mono_ns() - t0) / 1e9);
    t0 = clock_mono_ns();
    if (store_conn_open(st, &c, e) == 0) {
        rc = audience_load(c, &v->index, e);
        if (rc == 0) loyalty_view_load(v->index, c);
        store_conn_close(c);
    } else {
        rc = -1;
    }
    if (rc) {
        views_close(v);
        return -1;
    }
    fprintf(stderr, "siyu: member index: %zu members in %.1f s\n", seg_index_member_count(v->index),
            (double)(clock_mono_ns() - t0) / 1e9);
    t0 = clock_mono_ns();
    if (store_conn_open(st, &c, e)) {
        views_close(v);
        return -1;
    }
    rc = group_view_load(st, c, v->reports, &v->groups, e);
    store_conn_close(c);
    if (rc) {
        views_close(v);
        return -1;
    }
    group_view_stats gs;
    group_view_get_stats(v->groups, &gs);
    fprintf(stderr, "siyu: group view: %zu groups, %zu group-days, %zu stints in %.1f s (%zu MB)\n",
            gs.groups, gs.days, gs.stints, (double)(clock_mono_ns() - t0) / 1e9, gs.bytes >> 20);
    *out = v;
    return 0;
}

void views_close(views *v)
{
    if (!v) return;
    group_view_free(v->groups);
    reports_free(v->reports);
    seg_index_free(v->index);
    free(v);
}

void views_on_commit(void *ctx, store_conn *c, const dom_change *v, size_t n)
{
    views *vw = ctx;
    siyu_err e;
    siyu_err_init(&e);
    /* a live view carries its member and time; everything else is read back */
    for (size_t i = 0; i < n; i++)
        if (v[i].kind == DOM_CHANGE_LIVE_VIEW &&
            reports_add_live_view(vw->reports, v[i].id, v[i].other, &e))
            siyu_err_clear(&e);
    dom_changes list = {.v = (dom_change *)v, .n = n, .cap = n};
    bool ordered = has_audience_change(v, n);
    if (ordered) pthread_mutex_lock(&vw->audience_lock);
    if (store_begin(c, false, &e) == 0) {
        if (reports_apply(vw->reports, c, &list, &e))
            fprintf(stderr, "siyu: reports: %s\n", e.message);
        audience_apply(vw->index, c, v, n);
        loyalty_view_apply(vw->index, c, v, n);
        group_view_apply(vw->groups, c, v, n);
        /* checked once per view update: a read that failed leaves a view behind the
         * store; it is counted (/metrics, /readyz) rather than taken for "no rows" */
        if (store_conn_failed(c)) {
            atomic_fetch_add(&vw->failed_updates, 1);
            fprintf(stderr, "siyu: views: a read failed while following a commit: %s\n",
                    store_conn_error(c));
            /* answered here (counted, and /readyz says so): the write it followed is
             * committed and its own answer stands */
            store_conn_clear(c);
        }
        store_rollback(c);
    } else {
        atomic_fetch_add(&vw->failed_updates, 1);
        fprintf(stderr, "siyu: views: %s\n", e.message);
    }
    if (ordered) pthread_mutex_unlock(&vw->audience_lock);
    siyu_err_clear(&e);
}

uint64_t views_failed_updates(views *v)
{
    return atomic_load(&v->failed_updates);
}

reports_t *views_reports(views *v)
{
    return v->reports;
}

struct seg_index *views_index(views *v)
{
    seg_index_advance_day(v->index, time_local_day(clock_now()), NULL);
    return v->index;
}

void views_reload_predictions(views *v, store_conn *c)
{
    audience_reload_predictions(v->index, c);
}

int views_open_index(store_t *st, struct seg_index **out, siyu_err *e)
{
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    int rc = audience_load(c, out, e);
    if (rc == 0) loyalty_view_load(*out, c);
    store_conn_close(c);
    return rc;
}

struct group_view *views_groups(views *v)
{
    return v ? v->groups : NULL;
}
