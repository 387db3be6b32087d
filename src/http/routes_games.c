/* routes_games.c — HTTP handlers for the games (src/fission): thin adapters from the
 * path, query and body to games.h. The route table is in routes.c. */
#include "fission/games.h"
#include "http/router.h"

int h_campaigns_create(http_req *r, siyu_err *e);
int h_campaigns_list(http_req *r, siyu_err *e);
int h_campaigns_get(http_req *r, siyu_err *e);
int h_campaigns_report(http_req *r, siyu_err *e);
int h_campaigns_play(http_req *r, siyu_err *e);
int h_campaigns_grab(http_req *r, siyu_err *e);

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

int h_campaigns_create(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = games_campaign_create(&r->d, r->body, &out, e);
    return done(r, rc, out);
}

int h_campaigns_list(http_req *r, siyu_err *e)
{
    int64_t cursor;
    int limit;
    if (req_page(r, &cursor, &limit, e)) return -1;
    json_t *out = NULL;
    int rc = games_campaign_list(&r->d, cursor, limit, &out, e);
    return done(r, rc, out);
}

int h_campaigns_get(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = games_campaign_get(&r->d, r->id, &out, e);
    return done(r, rc, out);
}

int h_campaigns_report(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = games_report(&r->d, r->id, &out, e);
    return done(r, rc, out);
}

int h_campaigns_play(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = games_play(&r->d, r->id, r->body, &out, e);
    return done(r, rc, out);
}

int h_campaigns_grab(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = games_grab(&r->d, r->id, r->body, &out, e);
    return done(r, rc, out);
}
