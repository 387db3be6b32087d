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
int h_qr_codes_list(http_req *r, siyu_err *e);
int h_task_campaigns_list(http_req *r, siyu_err *e);

HTTP_ID_BODY_CALL(h_staff_patch, staff_patch)
/* h_wecom_events is in routes_fission.c: a contact may carry an invite state */
HTTP_ID_CALL(h_member_contacts, member_contacts)
HTTP_BODY_CALL(h_qr_codes_create, qr_codes_create)
HTTP_ID_BODY_CALL(h_qr_codes_scan, qr_codes_scan)
HTTP_ID_CALL(h_qr_codes_stats, qr_codes_stats)

int h_qr_codes_list(http_req *r, siyu_err *e)
{
    int64_t cursor;
    int limit;
    if (req_page(r, &cursor, &limit, e)) return -1;
    json_t *out = NULL;
    int rc = qr_codes_list(&r->d, cursor, limit, &out, e);
    return http_answer(r, rc, &out);
}

int h_task_campaigns_list(http_req *r, siyu_err *e)
{
    int64_t cursor;
    int limit;
    if (req_page(r, &cursor, &limit, e)) return -1;
    json_t *out = NULL;
    int rc = task_campaigns_list(&r->d, cursor, limit, &out, e);
    return http_answer(r, rc, &out);
}

/* ---- task campaigns, mass messages, content, the workbench (docs/tasks.md) ---- */
#include "segment/index.h"
#include "views/views.h"

int h_task_campaigns_create(http_req *r, siyu_err *e);
int h_task_campaigns_get(http_req *r, siyu_err *e);
int h_task_campaigns_report(http_req *r, siyu_err *e);
int h_tasks_reassign(http_req *r, siyu_err *e);
int h_mass_messages_create(http_req *r, siyu_err *e);
int h_mass_settings_get(http_req *r, siyu_err *e);
int h_mass_settings_put(http_req *r, siyu_err *e);
int h_content_create(http_req *r, siyu_err *e);
int h_content_list(http_req *r, siyu_err *e);
int h_content_share(http_req *r, siyu_err *e);
int h_content_views(http_req *r, siyu_err *e);
int h_content_stats(http_req *r, siyu_err *e);
int h_workbench(http_req *r, siyu_err *e);

static struct seg_index *index_of(http_req *r)
{
    struct views *v = http_views(r);
    return v ? views_index(v) : NULL;
}

int h_task_campaigns_create(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = task_campaigns_create(&r->d, index_of(r), r->body, &out, e);
    return http_answer(r, rc, &out);
}

int h_mass_messages_create(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = mass_messages_create(&r->d, index_of(r), r->body, &out, e);
    return http_answer(r, rc, &out);
}

HTTP_ID_CALL(h_task_campaigns_get, task_campaigns_get)
HTTP_ID_CALL(h_task_campaigns_report, task_campaigns_report)
HTTP_ID_BODY_CALL(h_tasks_reassign, tasks_reassign)
HTTP_BODY_CALL(h_mass_settings_put, mass_settings_put)
HTTP_BODY_CALL(h_content_create, content_create)
HTTP_ID_BODY_CALL(h_content_share, content_share)
HTTP_BODY_CALL(h_content_views, content_views)
HTTP_ID_CALL(h_content_stats, content_stats)

int h_mass_settings_get(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = mass_settings_get(&r->d, &out, e);
    return http_answer(r, rc, &out);
}

int h_content_list(http_req *r, siyu_err *e)
{
    int64_t cursor;
    int limit;
    if (req_page(r, &cursor, &limit, e)) return -1;
    json_t *out = NULL;
    int rc = content_list(&r->d, req_query(r, "tag"), cursor, limit, &out, e);
    return http_answer(r, rc, &out);
}

int h_workbench(http_req *r, siyu_err *e)
{
    int64_t guide = 0, days = 0;
    if (req_query_int(r, "guide_id", &guide, e) < 0 ||
        req_query_int(r, "no_purchase_days", &days, e) < 0)
        return -1;
    if (days < 0 || days > 3650)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "no_purchase_days",
                            "no_purchase_days: 1 to 3650");
    json_t *out = NULL;
    int rc = guides_workbench(&r->d, guide, days, &out, e);
    return http_answer(r, rc, &out);
}

/* ---- staff lifecycle and transfers (issue 15 items 1 and 4) ---- */
#include <stdlib.h>

#include "segment/eval.h"
#include "segment/expr.h"
#include "base/timeutil.h"
#include "views/views.h"

int h_staff_depart(http_req *r, siyu_err *e);
int h_transfers_create(http_req *r, siyu_err *e);
int h_transfers_list(http_req *r, siyu_err *e);
int h_transfers_get(http_req *r, siyu_err *e);
int h_transfers_results(http_req *r, siyu_err *e);
int h_transfers_sweep(http_req *r, siyu_err *e);
int h_bridge_messages(http_req *r, siyu_err *e);
int h_guides_settings_get(http_req *r, siyu_err *e);
int h_guides_settings_put(http_req *r, siyu_err *e);

HTTP_ID_BODY_CALL(h_staff_depart, staff_depart)
HTTP_ID_BODY_CALL(h_transfers_results, transfers_results)
HTTP_LIST_CALL(h_bridge_messages, bridge_messages_list)
HTTP_BODY_CALL(h_guides_settings_put, guides_settings_put)

int h_guides_settings_get(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = guides_settings_get(&r->d, &out, e);
    return http_answer(r, rc, &out);
}

/* POST /transfers: a "segment" (an audience expression) is resolved on the member index
 * here; the domain keeps the giving guide's customers among its members. */
int h_transfers_create(http_req *r, siyu_err *e)
{
    json_t *seg = json_object_get(r->body, "segment");
    seg_audience a = {0};
    if (seg) {
        if (!json_is_string(seg))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "segment",
                                "segment: an audience expression");
        struct views *v = http_views(r);
        if (!v) return siyu_err_set(e, SIYU_INTERNAL, "segment", "segment: no member index here");
        seg_index *idx = views_index(v);
        seg_expr *ex = NULL;
        seg_error se;
        if (seg_parse(json_string_value(seg), idx, &ex, &se))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "segment", "segment: %s", se.msg);
        int rc = seg_select(idx, ex, NULL, &a, &se);
        seg_expr_free(ex);
        if (rc) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "segment", "segment: %s", se.msg);
    }
    json_t *out = NULL;
    int rc = transfers_create(&r->d, r->body, a.ids, a.count, &out, e);
    if (seg) seg_audience_release(&a);
    return http_answer(r, rc, &out);
}

int h_transfers_list(http_req *r, siyu_err *e)
{
    int64_t cursor, guide = 0;
    int limit;
    if (req_page(r, &cursor, &limit, e) || req_query_int(r, "guide_id", &guide, e) < 0) return -1;
    json_t *out = NULL;
    int rc = transfers_list(&r->d, guide, cursor, limit, &out, e);
    return http_answer(r, rc, &out);
}

int h_transfers_get(http_req *r, siyu_err *e)
{
    int64_t cursor;
    int limit;
    if (req_page(r, &cursor, &limit, e)) return -1;
    json_t *out = NULL;
    int rc = transfers_get(&r->d, r->id, cursor, limit, &out, e);
    return http_answer(r, rc, &out);
}

int h_transfers_sweep(http_req *r, siyu_err *e)
{
    int done = 0;
    if (transfers_sweep(&r->d, 0, &done, e)) return -1;
    r->status = 200;
    r->resp = json_pack("{s:i}", "done", done);
    return 0;
}

int h_qr_campaigns(http_req *r, siyu_err *e);
int h_report_contacts(http_req *r, siyu_err *e);

int h_qr_campaigns(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = qr_campaigns_report(&r->d, req_query(r, "campaign"), &out, e);
    return http_answer(r, rc, &out);
}

/* GET /reports/contacts?from=&to=[&store=&guide=] (store_id / guide_id too) */
int h_report_contacts(http_req *r, siyu_err *e)
{
    const char *names[2] = {"from", "to"};
    int32_t day[2];
    for (int i = 0; i < 2; i++) {
        const char *v = req_query(r, names[i]);
        if (!v || date_parse(v, &day[i]))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, names[i], "%s: a date YYYY-MM-DD",
                                names[i]);
    }
    int64_t store = 0, guide = 0;
    if (req_query_int(r, "store", &store, e) < 0 || req_query_int(r, "guide", &guide, e) < 0 ||
        (!store && req_query_int(r, "store_id", &store, e) < 0) ||
        (!guide && req_query_int(r, "guide_id", &guide, e) < 0))
        return -1;
    json_t *out = NULL;
    int rc = contacts_report(&r->d, day[0], day[1], store, guide, &out, e);
    return http_answer(r, rc, &out);
}
