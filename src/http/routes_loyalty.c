/* routes_loyalty.c — HTTP handlers for the loyalty engine: thin adapters from the
 * path, query and body to src/loyalty. The route table is in routes.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "http/router.h"
#include "loyalty/loyalty.h"
#include "segment/eval.h"
#include "segment/expr.h"
#include "segment/index.h"
#include "views/views.h"

int h_loyalty_tiers_put(http_req *r, siyu_err *e);
int h_loyalty_tiers_get(http_req *r, siyu_err *e);
int h_loyalty_rules_create(http_req *r, siyu_err *e);
int h_loyalty_rules_list(http_req *r, siyu_err *e);
int h_loyalty_rules_delete(http_req *r, siyu_err *e);
int h_loyalty_settings_put(http_req *r, siyu_err *e);
int h_loyalty_settings_get(http_req *r, siyu_err *e);
int h_points_get(http_req *r, siyu_err *e);
int h_points_post(http_req *r, siyu_err *e);
int h_points_bulk(http_req *r, siyu_err *e);
int h_coupon_templates_create(http_req *r, siyu_err *e);
int h_coupon_templates_list(http_req *r, siyu_err *e);
int h_coupon_templates_get(http_req *r, siyu_err *e);
int h_coupons_issue(http_req *r, siyu_err *e);
int h_coupons_get(http_req *r, siyu_err *e);
int h_coupons_forward(http_req *r, siyu_err *e);
int h_member_coupons(http_req *r, siyu_err *e);
int h_member_benefits(http_req *r, siyu_err *e);
int h_loyalty_sweep(http_req *r, siyu_err *e);

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

int h_loyalty_tiers_put(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = loyalty_tiers_put(&r->d, r->body, &out, e);
    return done(r, rc, out);
}

int h_loyalty_tiers_get(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = loyalty_tiers_get(&r->d, &out, e);
    return done(r, rc, out);
}

int h_loyalty_rules_create(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = loyalty_rules_create(&r->d, r->body, &out, e);
    return done(r, rc, out);
}

int h_loyalty_rules_list(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = loyalty_rules_list(&r->d, &out, e);
    return done(r, rc, out);
}

int h_loyalty_rules_delete(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = loyalty_rules_deactivate(&r->d, r->id, &out, e);
    return done(r, rc, out);
}

int h_loyalty_settings_put(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = loyalty_settings_put(&r->d, r->body, &out, e);
    return done(r, rc, out);
}

int h_loyalty_settings_get(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = loyalty_settings_get(&r->d, &out, e);
    return done(r, rc, out);
}

int h_points_get(http_req *r, siyu_err *e)
{
    int64_t cursor;
    int limit;
    if (req_page(r, &cursor, &limit, e)) return -1;
    json_t *out = NULL;
    int rc = loyalty_points_get(&r->d, r->id, cursor, limit, &out, e);
    return done(r, rc, out);
}

int h_points_post(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = loyalty_points_post(&r->d, r->id, r->body, &out, e);
    return done(r, rc, out);
}

/* POST /points/bulk: {delta, reason, member_ids | segment} — a segment expression is
 * evaluated on the member index at the moment of the call. */
int h_points_bulk(http_req *r, siyu_err *e)
{
    static const char *const allowed[] = {"delta", "reason", "member_ids", "segment", NULL};
    if (jx_only(r->body, allowed, NULL, e)) return -1;
    json_t *list = json_object_get(r->body, "member_ids");
    const char *expr = NULL;
    if (jx_str(r->body, "segment", false, &expr, e) < 0) return -1;
    if (!list == !expr)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "member_ids",
                            "member_ids: give member_ids or segment (one of them)");
    int64_t *ids = NULL;
    size_t n = 0;
    seg_audience a = {0};
    if (list) {
        if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > 1000000)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "member_ids",
                                "member_ids: an array of 1 to 1000000 member ids");
        ids = malloc(json_array_size(list) * sizeof *ids);
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
            if (!json_is_integer(v) || json_integer_value(v) <= 0) {
                free(ids);
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "member_ids",
                                    "member_ids[%zu]: not a member id", i);
            }
            ids[n++] = json_integer_value(v);
        }
        /* every id must name a member: a typo is an error, not a silent skip */
        for (size_t k = 0; k < n; k++) {
            char f[40];
            snprintf(f, sizeof f, "member_ids[%zu]", k);
            int64_t live = members_live_id(&r->d, ids[k], f, e);
            if (live < 0) {
                free(ids);
                return -1;
            }
            ids[k] = live;
        }
    } else {
        struct views *v = http_views(r);
        if (!v) return siyu_err_set(e, SIYU_INTERNAL, "segment", "segment: no member index here");
        seg_index *idx = views_index(v);
        seg_expr *ex = NULL;
        seg_error se;
        if (seg_parse(expr, idx, &ex, &se))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "segment", "segment: %s", se.msg);
        int rc = seg_select(idx, ex, NULL, &a, &se);
        seg_expr_free(ex);
        if (rc) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "segment", "segment: %s", se.msg);
        ids = a.ids;
        n = a.count;
    }
    json_t *out = NULL;
    int rc = loyalty_points_bulk(&r->d, r->body, ids, n, &out, e);
    if (list)
        free(ids);
    else
        seg_audience_release(&a);
    return done(r, rc, out);
}

int h_coupon_templates_create(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = coupon_templates_create(&r->d, r->body, &out, e);
    return done(r, rc, out);
}

int h_coupon_templates_list(http_req *r, siyu_err *e)
{
    int64_t cursor;
    int limit;
    if (req_page(r, &cursor, &limit, e)) return -1;
    json_t *out = NULL;
    int rc = coupon_templates_list(&r->d, cursor, limit, &out, e);
    return done(r, rc, out);
}

int h_coupon_templates_get(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = coupon_templates_get(&r->d, r->id, &out, e);
    return done(r, rc, out);
}

int h_coupons_issue(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = coupons_issue(&r->d, r->body, &out, e);
    return done(r, rc, out);
}

int h_coupons_get(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = coupons_get(&r->d, r->word, &out, e);
    return done(r, rc, out);
}

int h_coupons_forward(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = coupons_forward(&r->d, r->word, r->body, &out, e);
    return done(r, rc, out);
}

int h_member_coupons(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = loyalty_member_coupons(&r->d, r->id, &out, e);
    return done(r, rc, out);
}

/* GET /members/{id}/benefits?store_id=&channel=&amount_cents=&skus=a,b */
int h_member_benefits(http_req *r, siyu_err *e)
{
    loyalty_basket b = {.channel = -1, .amount_cents = -1};
    if (req_query_int(r, "store_id", &b.store_id, e) < 0 ||
        req_query_int(r, "amount_cents", &b.amount_cents, e) < 0)
        return -1;
    if (b.amount_cents < -1)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "amount_cents",
                            "amount_cents: must not be negative");
    const char *ch = req_query(r, "channel");
    if (ch) {
        for (int i = 0; dom_channels[i]; i++)
            if (strcmp(dom_channels[i], ch) == 0) b.channel = i;
        if (b.channel < 0)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "channel", "channel: not a channel");
    }
    const char *skus = req_query(r, "skus");
    char *copy = NULL;
    const char **list = NULL;
    if (skus) {
        copy = strdup(skus);
        size_t n = 1;
        for (const char *p = copy; *p; p++)
            n += *p == ',';
        list = calloc(n + 1, sizeof *list);
        size_t k = 0;
        for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
            list[k++] = t;
        b.skus = list;
    }
    json_t *out = NULL;
    int rc = loyalty_benefits(&r->d, r->id, &b, &out, e);
    free(list);
    free(copy);
    return done(r, rc, out);
}

int h_loyalty_sweep(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = loyalty_sweep(&r->d, 0, &out, e);
    return done(r, rc < 0 ? -1 : 200, out);
}
