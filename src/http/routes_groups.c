/* routes_groups.c — HTTP handlers for communities (src/community): the bridge's group
 * events, groups and their statistics, join codes, group sale sessions, the groups
 * report. The route table is in routes.c. */
#include <string.h>

#include "http/router.h"
#include "base/timeutil.h"
#include "community/community.h"
#include "views/group_view.h"
#include "views/views.h"

int h_groups_events(http_req *r, siyu_err *e);
int h_groups_list(http_req *r, siyu_err *e);
int h_groups_get(http_req *r, siyu_err *e);
int h_groups_patch(http_req *r, siyu_err *e);
int h_groups_stats(http_req *r, siyu_err *e);
int h_group_codes_create(http_req *r, siyu_err *e);
int h_group_codes_get(http_req *r, siyu_err *e);
int h_group_codes_scan(http_req *r, siyu_err *e);
int h_group_requests(http_req *r, siyu_err *e);
int h_group_sales_create(http_req *r, siyu_err *e);
int h_group_sales_report(http_req *r, siyu_err *e);
int h_report_groups(http_req *r, siyu_err *e);
int h_group_sops_create(http_req *r, siyu_err *e);
int h_group_sops_list(http_req *r, siyu_err *e);
int h_group_sops_get(http_req *r, siyu_err *e);
int h_group_sops_patch(http_req *r, siyu_err *e);

HTTP_BODY_CALL(h_group_sops_create, group_sops_create)
HTTP_ID_CALL(h_group_sops_get, group_sops_get)
HTTP_ID_BODY_CALL(h_group_sops_patch, group_sops_patch)

int h_group_sops_list(http_req *r, siyu_err *e)
{
    int64_t cursor, store_id = 0;
    int limit;
    json_t *out = NULL;
    if (req_page(r, &cursor, &limit, e) || req_query_int(r, "store_id", &store_id, e) < 0)
        return -1;
    int rc = group_sops_list(&r->d, store_id, cursor, limit, &out, e);
    return http_answer(r, rc, &out);
}

HTTP_BODY_CALL(h_groups_events, groups_events_record)
HTTP_ID_CALL(h_groups_get, groups_get)
HTTP_ID_BODY_CALL(h_groups_patch, groups_patch)
HTTP_BODY_CALL(h_group_codes_create, group_codes_create)
HTTP_ID_CALL(h_group_codes_get, group_codes_get)
HTTP_ID_BODY_CALL(h_group_codes_scan, group_codes_scan)
HTTP_BODY_CALL(h_group_sales_create, group_sales_create)
HTTP_ID_CALL(h_group_sales_report, group_sales_report)

int h_groups_list(http_req *r, siyu_err *e)
{
    int64_t cursor, store_id = 0;
    int limit;
    json_t *out = NULL;
    if (req_page(r, &cursor, &limit, e) || req_query_int(r, "store_id", &store_id, e) < 0)
        return -1;
    int rc = groups_list(&r->d, store_id, cursor, limit, &out, e);
    return http_answer(r, rc, &out);
}

/* A local date of the query; def when absent. */
static int query_date(http_req *r, const char *name, int32_t def, int32_t *out, siyu_err *e)
{
    const char *v = req_query(r, name);
    if (!v) {
        *out = def;
        return 0;
    }
    if (date_parse(v, out))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, name, "%s: expected YYYY-MM-DD", name);
    return 0;
}

int h_groups_stats(http_req *r, siyu_err *e)
{
    int32_t today = time_local_day(r->d.now), from, to;
    if (query_date(r, "to", today, &to, e) || query_date(r, "from", to - 29, &from, e)) return -1;
    json_t *out = NULL;
    int rc = groups_stats(&r->d, r->id, from, to, &out, e);
    return http_answer(r, rc, &out);
}

int h_group_requests(http_req *r, siyu_err *e)
{
    int64_t cursor, pending = 0;
    int limit;
    if (req_page(r, &cursor, &limit, e) || req_query_int(r, "pending", &pending, e) < 0) return -1;
    json_t *out = NULL;
    int rc = group_requests_list(&r->d, pending != 0, cursor, limit, &out, e);
    return http_answer(r, rc, &out);
}

int h_report_groups(http_req *r, siyu_err *e)
{
    int32_t today = time_local_day(r->d.now), from, to;
    int64_t store = 0, within = 0;
    if (query_date(r, "to", today, &to, e) || query_date(r, "from", to - 29, &from, e) ||
        req_query_int(r, "store", &store, e) < 0 || req_query_int(r, "within_days", &within, e) < 0)
        return -1;
    json_t *out = NULL;
    /* source=sql: the reference path, as siyu computed it before the group view */
    const char *source = req_query(r, "source");
    if (source && strcmp(source, "sql") != 0 && strcmp(source, "view") != 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "source", "source: view or sql");
    struct group_view *gv = http_views(r) && !(source && strcmp(source, "sql") == 0)
                                ? views_groups(http_views(r))
                                : NULL;
    int rc = groups_report_from(&r->d, gv ? group_view_figures : NULL, gv, from, to, store, within,
                                &out, e);
    return http_answer(r, rc, &out);
}
