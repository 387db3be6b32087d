/* routes_fission.c — HTTP handlers for fission (src/fission/fission.h): invites and the
 * referral graph, group-buy teams, assists, the campaign edit and sweep; and the two
 * places a member's invite `state` arrives (POST /members, the WeCom contact events).
 * The route table is in routes.c. */
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "fission/fission.h"
#include "fission/games.h"
#include "guides/guides.h"
#include "http/router.h"

int h_members_create_or_match(http_req *r, siyu_err *e);
int h_wecom_events(http_req *r, siyu_err *e);
int h_campaigns_patch(http_req *r, siyu_err *e);
int h_campaigns_invite(http_req *r, siyu_err *e);
int h_member_referrals(http_req *r, siyu_err *e);
int h_referrals_report(http_req *r, siyu_err *e);
int h_teams_open(http_req *r, siyu_err *e);
int h_teams_join(http_req *r, siyu_err *e);
int h_teams_get(http_req *r, siyu_err *e);
int h_assists_start(http_req *r, siyu_err *e);
int h_assists_help(http_req *r, siyu_err *e);
int h_assists_get(http_req *r, siyu_err *e);
int h_campaigns_sweep(http_req *r, siyu_err *e);
int h_refunds_list(http_req *r, siyu_err *e);
int h_refunds_get(http_req *r, siyu_err *e);
int h_refunds_ack(http_req *r, siyu_err *e);

HTTP_ID_BODY_CALL(h_campaigns_patch, games_campaign_patch)
HTTP_ID_BODY_CALL(h_campaigns_invite, fission_invite_create)
HTTP_ID_CALL(h_member_referrals, fission_member_referrals)
HTTP_ID_BODY_CALL(h_teams_open, fission_team_open)
HTTP_ID_BODY_CALL(h_teams_join, fission_team_join)
HTTP_ID_CALL(h_teams_get, fission_team_get)
HTTP_ID_BODY_CALL(h_assists_start, fission_assist_start)
HTTP_ID_BODY_CALL(h_assists_help, fission_assist_help)
HTTP_ID_CALL(h_assists_get, fission_assist_get)
HTTP_ID_CALL(h_refunds_get, fission_refund_get)
HTTP_ID_BODY_CALL(h_refunds_ack, fission_refund_ack)

/* POST /members: "state" (an invite link's) and "device_id" are fission's; the rest is
 * the member center's create-or-match. */
int h_members_create_or_match(http_req *r, siyu_err *e)
{
    json_t *body = json_copy(r->body);
    const char *state = NULL, *device = NULL;
    char state_buf[128] = "", device_buf[104] = "";
    if (jx_str(body, "state", false, &state, e) < 0 ||
        jx_str(body, "device_id", false, &device, e) < 0) {
        json_decref(body);
        return -1;
    }
    const char *bad = state && (!*state || strlen(state) >= sizeof state_buf)       ? "state"
                      : device && (!*device || strlen(device) >= sizeof device_buf) ? "device_id"
                                                                                    : NULL;
    if (bad) {
        json_decref(body);
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, bad, "%s: 1 to 100 bytes", bad);
    }
    if (state) snprintf(state_buf, sizeof state_buf, "%s", state);
    if (device) snprintf(device_buf, sizeof device_buf, "%s", device);
    json_object_del(body, "state");
    json_object_del(body, "device_id");
    json_t *out = NULL;
    int rc = members_create_or_match(&r->d, body, &out, e);
    json_decref(body);
    if (rc > 0 && state_buf[0]) {
        json_t *ref = NULL;
        int64_t id = json_integer_value(json_object_get(out, "id"));
        if (fission_state_arrived(&r->d, id, rc == 201, state_buf,
                                  device_buf[0] ? device_buf : NULL, "members", &ref, e))
            rc = -1;
        else if (ref)
            json_object_set_new(out, "referral", ref);
    }
    return http_answer(r, rc, &out);
}

/* The bridge's WeCom events: an add_external_contact whose state names an invite is
 * the join that follows an invite link. */
int h_wecom_events(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = wecom_events_record(&r->d, r->body, &out, e);
    if (rc < 0) return http_answer(r, rc, &out);
    json_t *batch = json_object_get(r->body, "events");
    json_t *results = json_object_get(out, "results");
    size_t n = batch ? json_array_size(batch) : 1;
    for (size_t i = 0; i < n; i++) {
        json_t *ev = batch ? json_array_get(batch, i) : r->body;
        json_t *res = json_array_get(results, i);
        const char *state = json_string_value(json_object_get(ev, "state"));
        const char *kind = json_string_value(json_object_get(ev, "event"));
        if (!state || !kind || strcmp(kind, "add_external_contact") != 0 ||
            json_is_true(json_object_get(res, "duplicate")))
            continue;
        json_t *ref = NULL;
        if (fission_state_arrived(&r->d, json_integer_value(json_object_get(res, "member_id")),
                                  json_is_true(json_object_get(res, "member_created")), state, NULL,
                                  "wecom", &ref, e)) {
            rc = -1;
            break;
        }
        if (ref) json_object_set_new(res, "referral", ref);
    }
    return http_answer(r, rc, &out);
}

static int query_time(http_req *r, const char *name, int64_t *out, siyu_err *e)
{
    const char *v = req_query(r, name);
    if (!v) return 0;
    if (time_parse_rfc3339(v, out))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, name, "%s: an RFC 3339 time", name);
    return 0;
}

int h_referrals_report(http_req *r, siyu_err *e)
{
    int64_t from = 0, to = r->d.now + 1, top = 10;
    if (query_time(r, "from", &from, e) || query_time(r, "to", &to, e) ||
        req_query_int(r, "top", &top, e) < 0)
        return -1;
    if (to <= from) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "to", "to: must be after from");
    if (top < 1 || top > 1000)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "top", "top: 1 to 1000");
    json_t *out = NULL;
    int rc = fission_referrals_report(&r->d, from, to, (int)top, &out, e);
    return http_answer(r, rc, &out);
}

int h_campaigns_sweep(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = fission_sweep(&r->d, 0, &out, e);
    return http_answer(r, rc, &out);
}

/* GET /refund-instructions?status=&cursor=&limit=: what the mall must refund, by id. */
int h_refunds_list(http_req *r, siyu_err *e)
{
    int64_t cursor;
    int limit;
    if (req_page(r, &cursor, &limit, e)) return -1;
    json_t *out = NULL;
    int rc = fission_refunds_list(&r->d, req_query(r, "status"), cursor, limit, &out, e);
    return http_answer(r, rc, &out);
}
