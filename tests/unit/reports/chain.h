/* chain.h — a domain fixture whose writes also feed a live reports object, the way
 * the server will: each call runs in its own transaction with the change list on,
 * and after the commit the changes go to reports_apply (live_view events, which the
 * change list does not carry, go to reports_add_live_view). */
#ifndef SIYU_TEST_REPORTS_CHAIN_H
#define SIYU_TEST_REPORTS_CHAIN_H

#include "../domain/fixture.h"
#include "reports/reports.h"

typedef struct chain {
    fixture f;
    reports_t *live;
    dom_changes ch;
} chain;

static void chain_open(chain *c)
{
    memset(c, 0, sizeof *c);
    fixture_open(&c->f);
    siyu_err e;
    siyu_err_init(&e);
    /* the fixture's organisation was written before we followed: load it */
    if (reports_load(c->f.d.conn, &c->live, &e)) {
        fprintf(stderr, "load: %s\n", e.message);
        abort();
    }
}

static void chain_close(chain *c)
{
    reports_free(c->live);
    dom_changes_free(&c->ch);
    fixture_close(&c->f);
}

typedef int (*chain_fn)(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);

/* Runs fn (with an id or 0) on a JSON body in its own transaction, then applies. */
static int chain_tx(chain *c, body_fn fn, chain_fn idfn, int64_t id, const char *body, json_t **out)
{
    siyu_err e;
    siyu_err_init(&e);
    json_t *b = J(body);
    dom_changes_clear(&c->ch);
    c->f.d.changes = &c->ch;
    store_begin(c->f.d.conn, true, &e);
    json_t *o = NULL;
    int rc = fn ? fn(&c->f.d, b, &o, &e) : idfn(&c->f.d, id, b, &o, &e);
    if (rc < 0) {
        store_rollback(c->f.d.conn);
        fprintf(stderr, "chain_tx: %s: %s\n", body, e.message);
        json_decref(o);
        o = NULL;
    } else {
        store_commit(c->f.d.conn, &e);
        siyu_err ae;
        siyu_err_init(&ae);
        if (reports_apply(c->live, c->f.d.conn, &c->ch, &ae)) {
            fprintf(stderr, "reports_apply: %s\n", ae.message);
            abort();
        }
        /* live_view events: the one thing the change list does not carry */
        if (fn == events_record) {
            json_t *ev = json_object_get(b, "events");
            size_t i;
            json_t *x;
            json_t *one = json_array();
            if (!ev) {
                json_array_append(one, b);
                ev = one;
            }
            json_array_foreach(ev, i, x)
            {
                const char *t = json_string_value(json_object_get(x, "type"));
                if (t && strcmp(t, "live_view") == 0) {
                    int64_t at;
                    time_parse_rfc3339(json_string_value(json_object_get(x, "at")), &at);
                    reports_add_live_view(
                        c->live, json_integer_value(json_object_get(x, "member_id")), at, &ae);
                }
            }
            json_decref(one);
        }
    }
    c->f.d.changes = NULL;
    siyu_err_clear(&e); /* an error may carry details */
    json_decref(b);
    if (out)
        *out = o;
    else
        json_decref(o);
    return rc;
}

static inline int refund_fn(dom *d, int64_t id, json_t *b, json_t **o, siyu_err *e)
{
    return orders_refund(d, id, b, o, e);
}
static inline int merge_fn(dom *d, int64_t id, json_t *b, json_t **o, siyu_err *e)
{
    return members_merge(d, id, b, o, e);
}
static inline int patch_fn(dom *d, int64_t id, json_t *b, json_t **o, siyu_err *e)
{
    return members_patch(d, id, b, o, e);
}

/* The JSON text of a report with sorted keys, for exact comparison; frees v. */
static char *dump(json_t *v)
{
    char *s = json_dumps(v, JSON_SORT_KEYS | JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    json_decref(v);
    return s;
}

/* Walks "a.b.0.c" into an object. */
static json_t *at(json_t *o, const char *path)
{
    char buf[160];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = o;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save)) {
        if (json_is_array(cur))
            cur = json_array_get(cur, (size_t)atoi(tok));
        else
            cur = json_object_get(cur, tok);
    }
    return cur;
}

#define CHECK_J_INT(o, path, want)                                                                 \
    do {                                                                                           \
        json_t *v_ = at((o), (path));                                                              \
        if (!v_ || !json_is_integer(v_))                                                           \
            CHECK_FAIL_("%s: not an integer (want %lld)", (path), (long long)(want));              \
        else                                                                                       \
            CHECK_INT_EQ(json_integer_value(v_), (want));                                          \
    } while (0)

#define CHECK_J_REAL(o, path, want)                                                                \
    do {                                                                                           \
        json_t *v_ = at((o), (path));                                                              \
        if (!v_ || !json_is_real(v_))                                                              \
            CHECK_FAIL_("%s: not a number (want %g)", (path), (double)(want));                     \
        else                                                                                       \
            CHECK_NEAR(json_real_value(v_), (want), 1e-12);                                        \
    } while (0)

#define CHECK_J_NULL(o, path)                                                                      \
    do {                                                                                           \
        json_t *v_ = at((o), (path));                                                              \
        if (!v_ || !json_is_null(v_)) CHECK_FAIL_("%s: not null", (path));                         \
    } while (0)

#define CHECK_J_STR(o, path, want)                                                                 \
    do {                                                                                           \
        json_t *v_ = at((o), (path));                                                              \
        CHECK_STR_EQ(v_ ? json_string_value(v_) : NULL, (want));                                   \
    } while (0)

static int rp_test_channel(const char *name)
{
    for (int i = 0; dom_channels[i]; i++)
        if (strcmp(dom_channels[i], name) == 0) return i;
    abort();
}

static int32_t day_of(const char *s)
{
    int32_t d;
    if (date_parse(s, &d)) abort();
    return d;
}

#endif
