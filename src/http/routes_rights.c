/* routes_rights.c — HTTP handlers for members' rights: the export of everything held
 * about a member and erasure (src/domain/rights.c). The route table is in routes.c. */
#include <microhttpd.h>

#include "fission/fission.h"
#include "http/router.h"
#include "guides/guides.h"

int h_members_export(http_req *r, siyu_err *e);
int h_members_erase(http_req *r, siyu_err *e);
void segments_member_block(http_req *r, json_t *member); /* routes_segments.c */

int h_members_export(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = members_export(&r->d, r->id, &out, e);
    if (rc < 0) return -1;
    /* the member 360 as GET /members/{id} shows it: with the index's tags and classes */
    segments_member_block(r, json_object_get(out, "member"));
    guides_member_block(&r->d, json_object_get(out, "member"));
    fission_member_block(&r->d, json_object_get(out, "member"));
    r->status = rc;
    r->resp = out;
    return 0;
}

/* The erasure log keeps the request id (X-Request-Id, sent or made by siyu). */
int h_members_erase(http_req *r, siyu_err *e)
{
    const char *rid = r->request_id[0] ? r->request_id : NULL;
    json_t *out = NULL;
    int rc = members_erase(&r->d, r->id, r->body, rid, &out, e);
    if (rc < 0) return -1;
    r->status = rc;
    r->resp = out;
    return 0;
}
