/* views.c — building the in-memory views and feeding them committed changes. */
#include "views/views.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "views/group_view.h"
#include "views/snapshot.h"
#include "views/views_internal.h"

struct views {
    reports_t *reports;
    seg_index *index;
    group_view *groups;
    /* Tag, segment and threshold changes are read back and applied one list at a time:
     * a later list then reads a later snapshot, so the index ends in the store's order. */
    pthread_mutex_t audience_lock;
    atomic_uint_fast64_t failed_updates; /* view updates whose reads failed */
    int64_t seq, tag;    /* the store's change sequence the views were built or read at */
    atomic_bool unsaved; /* an update the facts refused: a snapshot would keep the gap */
    bool from_snapshot;  /* read from the snapshot file, whose pages it uses in place */
    uint64_t start_ns;   /* how long views_open_snapshot took */
};

static bool has_audience_change(const dom_change *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].kind >= DOM_CHANGE_TAG && v[i].kind <= DOM_CHANGE_AUDIENCE_SETTINGS) return true;
    return false;
}

/* The group view, from the store and the facts (never in the snapshot: it reads the facts'
 * orders, and its own rows load in seconds). */
static int load_groups(store_t *st, views *v, siyu_err *e)
{
    uint64_t t0 = clock_mono_ns();
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    int rc = group_view_load(st, c, v->reports, &v->groups, e);
    store_conn_close(c);
    if (rc) return -1;
    group_view_stats gs;
    group_view_get_stats(v->groups, &gs);
    fprintf(stderr, "siyu: group view: %zu groups, %zu group-days, %zu stints in %.1f s (%zu MB)\n",
            gs.groups, gs.days, gs.stints, (double)(clock_mono_ns() - t0) / 1e9, gs.bytes >> 20);
    return 0;
}

/* cli: only the parts wanted (the others stay NULL), and quiet when there is no file */
static int views_from_snapshot(store_t *st, const char *path, bool cli, bool want_reports,
                               bool want_index, views **out, siyu_err *e);

int views_open(store_t *st, views **out, siyu_err *e)
{
    return views_open_snapshot(st, NULL, out, e);
}

static int open_views(store_t *st, const char *snapshot, views **out, siyu_err *e)
{
    if (snapshot && views_from_snapshot(st, snapshot, false, true, true, out, e) == 0) return 0;
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    views *v = calloc(1, sizeof *v);
    pthread_mutex_init(&v->audience_lock, NULL);
    if (store_change_seq(c, &v->seq, &v->tag, e)) {
        store_conn_close(c);
        views_close(v);
        return -1;
    }
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
    if (views_open_index(st, &v->index, e)) {
        views_close(v);
        return -1;
    }
    fprintf(stderr, "siyu: member index: %zu members rebuilt in %.1f s\n",
            seg_index_member_count(v->index), (double)(clock_mono_ns() - t0) / 1e9);
    if (load_groups(st, v, e)) {
        views_close(v);
        return -1;
    }
    *out = v;
    return 0;
}

int views_open_snapshot(store_t *st, const char *snapshot, views **out, siyu_err *e)
{
    uint64_t t0 = clock_mono_ns();
    int rc = open_views(st, snapshot, out, e);
    if (rc == 0) (*out)->start_ns = clock_mono_ns() - t0;
    return rc;
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
    int32_t day = seg_index_today(vw->index);
    if (ordered) pthread_mutex_lock(&vw->audience_lock);
    if (store_begin(c, false, &e) == 0) {
        if (reports_apply(vw->reports, c, &list, &e)) {
            fprintf(stderr, "siyu: reports: %s\n", e.message);
            atomic_store(&vw->unsaved, true);
        }
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
        /* the kept 360s: what the index now shows (an order dated ahead moves its day) */
        dom_changes_touch(v, n);
        if (seg_index_today(vw->index) != day) store_view_bump();
    } else {
        atomic_fetch_add(&vw->failed_updates, 1);
        store_view_bump(); /* the index lags the store: no kept 360 is trusted */
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
    store_view_bump(); /* predictions and the churn_risk tag in every kept 360 */
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

/* ---- Snapshot (snapshot.c has the file) ---- */

static int views_from_snapshot(store_t *st, const char *path, bool cli, bool want_reports,
                               bool want_index, views **out, siyu_err *e)
{
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    views *v = calloc(1, sizeof *v);
    pthread_mutex_init(&v->audience_lock, NULL);
    uint64_t t0 = clock_mono_ns();
    char why[160] = "";
    int rc = store_change_seq(c, &v->seq, &v->tag, e);
    if (rc == 0)
        rc = views_snapshot_read(path, store_schema_version(st), v->seq, v->tag,
                                 want_reports ? &v->reports : NULL, want_index ? &v->index : NULL,
                                 why, sizeof why);
    if (rc == 0 && want_index) {
        /* tags, saved segments and thresholds from the store, as a rebuild defines them */
        seg_index_advance_day(v->index, time_local_day(clock_now()), NULL);
        rc = audience_load_audiences(c, v->index, e);
    }
    store_conn_close(c);
    if (rc) {
        if (strcmp(why, "none") == 0) {
            if (!cli) fprintf(stderr, "siyu: no views snapshot at %s: rebuilding\n", path);
        } else if (why[0])
            fprintf(stderr, "siyu: views snapshot %s not used (%s): rebuilding\n", path, why);
        views_close(v);
        return -1;
    }
    reports_stats rs = {0};
    if (v->reports) reports_get_stats(v->reports, &rs);
    if (!cli)
        fprintf(stderr,
                "siyu: reports: %zu orders, %zu members; member index: %zu members from the "
                "snapshot in %.1f s\n",
                rs.orders, rs.members, seg_index_member_count(v->index),
                (double)(clock_mono_ns() - t0) / 1e9);
    if (!cli && load_groups(st, v, e)) {
        views_close(v);
        return -1;
    }
    v->from_snapshot = true;
    *out = v;
    return 0;
}

bool views_read_from_snapshot(const views *v)
{
    return v && v->from_snapshot;
}

double views_start_seconds(const views *v)
{
    return v ? (double)v->start_ns / 1e9 : 0;
}

int views_store_seq(store_t *st, int64_t at[2], siyu_err *e)
{
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    int rc = store_change_seq(c, &at[0], &at[1], e);
    store_conn_close(c);
    return rc;
}

int views_save_snapshot(views *v, store_t *st, const char *path, const int64_t *at, siyu_err *e)
{
    if (atomic_load(&v->failed_updates) || atomic_load(&v->unsaved))
        return siyu_err_set(e, SIYU_CONFLICT, NULL,
                            "snapshot: the views missed an update; not written");
    int64_t now[2];
    if (!at) {
        if (views_store_seq(st, now, e)) return -1;
        if (now[0] != v->seq || now[1] != v->tag)
            return siyu_err_set(e, SIYU_CONFLICT, NULL,
                                "snapshot: the store changed since the views were built; "
                                "not written");
        at = now;
    }
    return views_snapshot_write(path, v->reports, v->index, store_schema_version(st), at[0], at[1],
                                e);
}

int views_open_cli(store_t *st, reports_t **r, struct seg_index **idx, siyu_err *e)
{
    const char *flag = getenv("SIYU_VIEWS_SNAPSHOT");
    char *path = flag && strcmp(flag, "off") == 0 ? NULL : views_snapshot_default_path(st, flag);
    views *v = NULL;
    int rc = path ? views_from_snapshot(st, path, true, r != NULL, idx != NULL, &v, e) : -1;
    free(path);
    if (rc == 0) {
        if (r) *r = v->reports, v->reports = NULL;
        if (idx) *idx = v->index, v->index = NULL;
        views_close(v);
        return 0;
    }
    siyu_err_clear(e);
    if (r) {
        store_conn *c;
        if (store_conn_open(st, &c, e)) return -1;
        rc = reports_load(c, r, e);
        store_conn_close(c);
        if (rc) return -1;
    }
    if (idx && views_open_index(st, idx, e)) {
        if (r) reports_free(*r), *r = NULL;
        return -1;
    }
    return 0;
}

struct group_view *views_groups(views *v)
{
    return v ? v->groups : NULL;
}
