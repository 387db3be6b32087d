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

HTTP_ID_BODY_CALL(h_staff_patch, staff_patch)
/* h_wecom_events is in routes_fission.c: a contact may carry an invite state */
HTTP_ID_CALL(h_member_contacts, member_contacts)
HTTP_BODY_CALL(h_qr_codes_create, qr_codes_create)
HTTP_ID_BODY_CALL(h_qr_codes_scan, qr_codes_scan)
HTTP_ID_CALL(h_qr_codes_stats, qr_codes_stats)
