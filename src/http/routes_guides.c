/* routes_guides.c — HTTP handlers for the guide's side (src/guides): a guide's WeCom
 * userid, the bridge's WeCom events, a member's contacts, channel QR codes. The route
 * table is in routes.c. */
#include "http/router.h"
#include "guides/guides.h"

int h_staff_patch(http_req *r, siyu_err *e);
int h_wecom_events(http_req *r, siyu_err *e);
int h_member_contacts(http_req *r, siyu_err *e);
int h_qr_codes_create(http_req *r, siyu_err *e);
int h_qr_codes_scan(http_req *r, siyu_err *e);
int h_qr_codes_stats(http_req *r, siyu_err *e);

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

int h_staff_patch(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = staff_patch(&r->d, r->id, r->body, &out, e);
    return done(r, rc, out);
}

int h_wecom_events(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = wecom_events_record(&r->d, r->body, &out, e);
    return done(r, rc, out);
}

int h_member_contacts(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = member_contacts(&r->d, r->id, &out, e);
    return done(r, rc, out);
}

int h_qr_codes_create(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = qr_codes_create(&r->d, r->body, &out, e);
    return done(r, rc, out);
}

int h_qr_codes_scan(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = qr_codes_scan(&r->d, r->id, r->body, &out, e);
    return done(r, rc, out);
}

int h_qr_codes_stats(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = qr_codes_stats(&r->d, r->id, &out, e);
    return done(r, rc, out);
}
