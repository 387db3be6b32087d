/* routes_journeys.c — HTTP handlers for journeys, channels, messages, guide tasks and
 * consent: thin adapters to src/journey. The route table is in routes.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "community/community.h"
#include "guides/guides.h"
#include "http/router.h"
#include "guides/guides.h"
#include "journey/journey.h"
#include "segment/index.h"
#include "views/views.h"
#include "writer/writer.h"

int h_journeys_create(http_req *r, siyu_err *e);
int h_journeys_list(http_req *r, siyu_err *e);
int h_journeys_get(http_req *r, siyu_err *e);
int h_journeys_update(http_req *r, siyu_err *e);
int h_journeys_activate(http_req *r, siyu_err *e);
int h_journeys_pause(http_req *r, siyu_err *e);
int h_journeys_resume(http_req *r, siyu_err *e);
int h_journeys_archive(http_req *r, siyu_err *e);
int h_journeys_report(http_req *r, siyu_err *e);
int h_journeys_dry_run(http_req *r, siyu_err *e);
int h_journeys_tick(http_req *r, siyu_err *e);
int h_journey_library(http_req *r, siyu_err *e);
int h_channels_put(http_req *r, siyu_err *e);
int h_channels_list(http_req *r, siyu_err *e);
int h_messages_list(http_req *r, siyu_err *e);
int h_messages_receipt(http_req *r, siyu_err *e);
int h_tasks_list(http_req *r, siyu_err *e);
int h_tasks_done(http_req *r, siyu_err *e);
int h_tasks_confirm(http_req *r, siyu_err *e);
int h_tasks_skip(http_req *r, siyu_err *e);
int h_consents_put(http_req *r, siyu_err *e);
int h_consents_get(http_req *r, siyu_err *e);
int h_journeys_guardrails_put(http_req *r, siyu_err *e);
int h_journeys_guardrails_get(http_req *r, siyu_err *e);

static int done(http_req *r, int rc, json_t *out)
{
    if (rc < 0) {
        json_decref(out);
        return -1;
    }
    r->status = rc;
    r->resp = out;
    return 0;
}

int h_journeys_create(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    struct views *v = http_views(r);
    int rc = journeys_create_with_index(&r->d, v ? views_index(v) : NULL, r->body, &out, e);
    return done(r, rc, out);
}

int h_journeys_list(http_req *r, siyu_err *e)
{
    int64_t cursor;
    int limit;
    if (req_page(r, &cursor, &limit, e)) return -1;
    json_t *out = NULL;
    int rc = journeys_list(&r->d, cursor, limit, &out, e);
    return done(r, rc, out);
}

int h_journeys_get(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = journeys_get(&r->d, r->id, &out, e);
    return done(r, rc, out);
}

int h_journeys_update(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    struct views *v = http_views(r);
    int rc = journeys_update_with_index(&r->d, v ? views_index(v) : NULL, r->id, r->body, &out, e);
    return done(r, rc, out);
}

#define STATE_HANDLER(action)                                                                      \
    int h_journeys_##action(http_req *r, siyu_err *e)                                              \
    {                                                                                              \
        json_t *out = NULL;                                                                        \
        struct views *v = http_views(r);                                                           \
        int rc = journeys_set_state_with_index(&r->d, v ? views_index(v) : NULL, r->id, #action,   \
                                               &out, e);                                           \
        return done(r, rc, out);                                                                   \
    }
STATE_HANDLER(activate)
STATE_HANDLER(pause)
STATE_HANDLER(resume)
STATE_HANDLER(archive)

int h_journeys_report(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = journeys_report(&r->d, r->id, &out, e);
    return done(r, rc, out);
}

int h_journeys_dry_run(http_req *r, siyu_err *e)
{
    struct views *v = http_views(r);
    json_t *out = NULL;
    int rc = journeys_dry_run(&r->d, v ? views_index(v) : NULL, r->id, r->body, &out, e);
    return done(r, rc, out);
}

/* POST /journeys/tick: one tick and one dispatch now (the server also runs them every
 * SIYU_TICK_SECONDS). With SIYU_NOW_FILE a test moves the clock and ticks. */
typedef struct tick_write {
    http_req *r;
    json_t *ticked;
} tick_write;

static int tick_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    tick_write *t = arg;
    struct views *v = http_views(t->r);
    dom d = t->r->d;
    d.conn = c;
    d.changes = changes;
    json_decref(t->ticked);
    t->ticked = NULL;
    if (journey_tick(&d, v ? views_index(v) : NULL, 0, &t->ticked, e)) return -1;
    /* and the guides' task campaigns: expiry, reminders, recurring rounds */
    json_t *tasks = NULL;
    if (guides_tasks_tick(&d, v ? views_index(v) : NULL, &tasks, e)) return -1;
    if (json_is_object(t->ticked))
        json_object_set_new(t->ticked, "task_campaigns", tasks);
    else
        json_decref(tasks);
    /* and the group SOPs' slots */
    json_t *sops = NULL;
    if (group_sops_tick(&d, &sops, e)) return -1;
    if (json_is_object(t->ticked))
        json_object_set_new(t->ticked, "group_sops", sops);
    else
        json_decref(sops);
    /* transfers whose wait is over end done (src/guides), as the background tick does */
    return transfers_sweep(&d, 0, NULL, e);
}

int h_journeys_tick(http_req *r, siyu_err *e)
{
    /* the tick is a write like any other: through the group committer */
    tick_write t = {.r = r};
    json_t *sent = NULL;
    int rc = writer_submit(http_writer(r), tick_fn, &t, r->d.conn, e);
    json_t *ticked = t.ticked;
    journey_writer jw = {
        .begin = writer_lease_cb, .end = writer_lease_end_cb, .ctx = http_writer(r)};
    if (rc == 0) rc = journey_dispatch_with(http_store(r), &jw, r->d.now, 0, &sent, e);
    if (rc) {
        json_decref(ticked);
        json_decref(sent);
        return -1;
    }
    r->status = 200;
    r->resp = json_pack("{s:o, s:o}", "tick", ticked, "dispatch", sent);
    return 0;
}

int h_journey_library(http_req *r, siyu_err *e)
{
    (void)e;
    r->status = 200;
    r->resp = journey_library();
    return 0;
}

int h_channels_put(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = channels_put(&r->d, r->word, r->body, &out, e);
    return done(r, rc, out);
}

int h_channels_list(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = channels_list(&r->d, &out, e);
    return done(r, rc, out);
}

int h_messages_list(http_req *r, siyu_err *e)
{
    int64_t cursor, member = 0;
    int limit;
    if (req_page(r, &cursor, &limit, e) || req_query_int(r, "member_id", &member, e) < 0) return -1;
    json_t *out = NULL;
    int rc = messages_list(&r->d, member, req_query(r, "status"), cursor, limit, &out, e);
    return done(r, rc, out);
}

int h_messages_receipt(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = messages_receipt(&r->d, r->body, &out, e);
    return done(r, rc, out);
}

int h_tasks_list(http_req *r, siyu_err *e)
{
    int64_t cursor, guide = 0;
    int limit;
    if (req_page(r, &cursor, &limit, e) || req_query_int(r, "guide_id", &guide, e) < 0) return -1;
    json_t *out = NULL;
    int rc = tasks_list(&r->d, guide, req_query(r, "state"), cursor, limit, &out, e);
    return done(r, rc, out);
}

#define TASK_HANDLER(action)                                                                       \
    int h_tasks_##action(http_req *r, siyu_err *e)                                                 \
    {                                                                                              \
        json_t *out = NULL;                                                                        \
        int rc = tasks_act(&r->d, r->id, #action, r->body, &out, e);                               \
        return done(r, rc, out);                                                                   \
    }
TASK_HANDLER(done)
TASK_HANDLER(confirm)
TASK_HANDLER(skip)

int h_consents_put(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = consents_put(&r->d, r->id, r->body, &out, e);
    return done(r, rc, out);
}

int h_consents_get(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = consents_get(&r->d, r->id, &out, e);
    return done(r, rc, out);
}

int h_journeys_guardrails_put(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = journeys_guardrails_put(&r->d, r->body, &out, e);
    return done(r, rc, out);
}

int h_journeys_guardrails_get(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = journeys_guardrails_get(&r->d, &out, e);
    return done(r, rc, out);
}
