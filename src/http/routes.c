/* routes.c — the route table and its handlers: thin adapters from HTTP to the domain.
 *
 * Each handler reads what the path and query say, calls one domain function and
 * sets the answer. Everything generic (auth, roles, body, transactions, idempotency,
 * errors) happened in server.c before the handler ran. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "guides/guides.h"
#include "import/import.h"
#include "fission/fission.h"
#include "jobs/jobs.h"
#include "models/models.h"
#include "views/views.h"
#include "writer/writer.h"

#define BODY_CALL(fn) static HTTP_BODY_CALL(h_##fn, fn)
#define ID_CALL(fn) static HTTP_ID_CALL(h_##fn, fn)
#define ID_BODY_CALL(fn) static HTTP_ID_BODY_CALL(h_##fn, fn)
#define LIST_CALL(fn) static HTTP_LIST_CALL(h_##fn, fn)

BODY_CALL(brands_create)
BODY_CALL(stores_create)
BODY_CALL(staff_create)
BODY_CALL(events_record)
ID_CALL(stores_get)
ID_CALL(staff_get)
ID_CALL(orders_get)
ID_BODY_CALL(staff_token_create)
ID_BODY_CALL(members_patch)
ID_BODY_CALL(members_merge)
ID_BODY_CALL(orders_refund)
LIST_CALL(brands_list)
LIST_CALL(stores_list)
LIST_CALL(staff_list)

int h_staff_patch(http_req *r, siyu_err *e); /* routes_guides.c */
int h_wecom_events(http_req *r, siyu_err *e);
int h_member_contacts(http_req *r, siyu_err *e);
int h_qr_codes_create(http_req *r, siyu_err *e);
int h_qr_codes_scan(http_req *r, siyu_err *e);
int h_qr_codes_stats(http_req *r, siyu_err *e);
int h_qr_codes_list(http_req *r, siyu_err *e);
int h_task_campaigns_list(http_req *r, siyu_err *e);
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
int h_staff_depart(http_req *r, siyu_err *e);
int h_transfers_create(http_req *r, siyu_err *e);
int h_transfers_list(http_req *r, siyu_err *e);
int h_transfers_get(http_req *r, siyu_err *e);
int h_transfers_results(http_req *r, siyu_err *e);
int h_transfers_sweep(http_req *r, siyu_err *e);
int h_bridge_messages(http_req *r, siyu_err *e);
int h_group_sops_create(http_req *r, siyu_err *e);
int h_group_sops_list(http_req *r, siyu_err *e);
int h_group_sops_get(http_req *r, siyu_err *e);
int h_group_sops_patch(http_req *r, siyu_err *e);
int h_guides_settings_get(http_req *r, siyu_err *e);
int h_guides_settings_put(http_req *r, siyu_err *e);
int h_qr_campaigns(http_req *r, siyu_err *e);
int h_report_contacts(http_req *r, siyu_err *e);

int h_segments_count(http_req *r, siyu_err *e);
int h_segments_breakdown(http_req *r, siyu_err *e);
int h_segments_create(http_req *r, siyu_err *e);
int h_segments_list(http_req *r, siyu_err *e);
int h_segments_get(http_req *r, siyu_err *e);
int h_segments_members(http_req *r, siyu_err *e);
int h_segments_export(http_req *r, siyu_err *e);
int h_tags_create(http_req *r, siyu_err *e);
int h_tags_list(http_req *r, siyu_err *e);
int h_tags_add(http_req *r, siyu_err *e);
int h_tags_remove(http_req *r, siyu_err *e);
void segments_member_block(http_req *r, json_t *member);
int h_segments_settings(http_req *r, siyu_err *e);

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
int h_campaigns_create(http_req *r, siyu_err *e);
int h_campaigns_list(http_req *r, siyu_err *e);
int h_campaigns_get(http_req *r, siyu_err *e);
int h_campaigns_report(http_req *r, siyu_err *e);
int h_campaigns_play(http_req *r, siyu_err *e);
int h_campaigns_grab(http_req *r, siyu_err *e);
/* fission (routes_fission.c) */
int h_members_create_or_match(http_req *r, siyu_err *e);
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
int h_member_benefits(http_req *r, siyu_err *e);
int h_loyalty_sweep(http_req *r, siyu_err *e);

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
int h_members_export(http_req *r, siyu_err *e); /* routes_rights.c */
int h_members_erase(http_req *r, siyu_err *e);
int h_consents_get(http_req *r, siyu_err *e);
int h_audit_list(http_req *r, siyu_err *e);
struct writer *http_server_writer(void *srv);    /* server.c */
int h_staff_login_put(http_req *r, siyu_err *e); /* routes_session.c */
int h_staff_login_delete(http_req *r, siyu_err *e);
int h_session_create(http_req *r, siyu_err *e);
int h_session_get(http_req *r, siyu_err *e);
int h_session_delete(http_req *r, siyu_err *e);
int h_console_index(http_req *r, siyu_err *e); /* console.c */
int h_console_asset(http_req *r, siyu_err *e);
int h_retention_get(http_req *r, siyu_err *e);
int h_retention_put(http_req *r, siyu_err *e);
int h_retention_sweep(http_req *r, siyu_err *e);
int h_journeys_guardrails_put(http_req *r, siyu_err *e);
int h_journeys_guardrails_get(http_req *r, siyu_err *e);
int h_groups_events(http_req *r, siyu_err *e); /* routes_groups.c */
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

static int render_order(http_req *r, siyu_err *e)
{
    if (r->render_order.from_body) { /* created just now: its answer needs no read */
        r->resp = orders_render_made(r->body, &r->render_order);
        return 0;
    }
    json_t *out = NULL;
    int rc = orders_get(&r->d, r->render_order.id, &out, e);
    if (rc < 0) return -1;
    r->resp = out;
    return 0;
}

/* POST /orders, the hottest write: the worker checks the body (prepare_order), the
 * order is written on the group committer and rendered by the worker after the commit. */
static void prepare_order(http_req *r)
{
    order_rules rules = {.inline_refunds = r->d.inline_refunds, .now = r->d.now};
    siyu_err e;
    siyu_err_init(&e);
    r->order_prep = orders_prepare(r->body, &rules, &e);
    siyu_err_clear(&e); /* refused again on the writer, after the scope rule */
}

static int h_orders_create(http_req *r, siyu_err *e)
{
    if (!r->defer_render) {
        json_t *out = NULL;
        order_made made;
        int rc = r->order_prep ? orders_create_prepared(&r->d, r->order_prep, &out, &made, e)
                               : orders_create(&r->d, r->body, &out, e);
        return http_answer(r, rc, &out);
    }
    int rc = r->order_prep ? orders_create_prepared(&r->d, r->order_prep, NULL, &r->render_order, e)
                           : orders_create_id(&r->d, r->body, NULL, &r->render_order, e);
    if (rc < 0) return -1;
    r->status = rc;
    r->render_after = render_order;
    return 0;
}

/* ---------------- tokens (admins) ---------------- */

static int h_tokens_list(http_req *r, siyu_err *e)
{
    int64_t cursor;
    int limit;
    json_t *out = NULL;
    if (req_page(r, &cursor, &limit, e)) return -1;
    int rc = auth_token_list(r->d.conn, cursor, limit, r->d.now, &out, e);
    return http_answer(r, rc, &out);
}

static int h_tokens_revoke(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = auth_token_revoke(r->d.conn, r->id, r->d.now, &out, e);
    return http_answer(r, rc, &out);
}

/* POST /tokens: {role, staff_id?, store_id?, name?, expires_at?} — a till's cashier
 * token (role cashier with store_id) or any other; the token is shown once. */
static int h_tokens_create(http_req *r, siyu_err *e)
{
    static const char *const allowed[] = {"role", "staff_id",   "store_id",
                                          "name", "expires_at", NULL};
    static const char *const roles[] = {"admin", "operator", "store_manager",
                                        "guide", "cashier",  NULL};
    auth_token_spec spec = {0};
    int ix;
    if (jx_only(r->body, allowed, NULL, e) || jx_enum(r->body, "role", true, roles, &ix, e) < 0 ||
        jx_int(r->body, "staff_id", false, &spec.staff_id, e) < 0 ||
        jx_int(r->body, "store_id", false, &spec.store_id, e) < 0 ||
        jx_str(r->body, "name", false, &spec.name, e) < 0 ||
        jx_time(r->body, "expires_at", false, &spec.expires_at, e) < 0)
        return -1;
    spec.role = role_parse(roles[ix]);
    char token[AUTH_TOKEN_LEN + 1];
    int64_t id = 0;
    if (auth_token_issue(r->d.conn, &spec, r->d.now, token, &id, e)) {
        /* name the body's fields, not the CLI's */
        if (strcmp(e->field, "staff") == 0 || strcmp(e->field, "store") == 0)
            strncat(e->field, "_id", sizeof e->field - strlen(e->field) - 1);
        return -1;
    }
    json_t *out =
        json_pack("{s:s, s:I, s:s}", "token", token, "id", (json_int_t)id, "role", roles[ix]);
    json_object_set_new(out, "staff_id", spec.staff_id ? json_integer(spec.staff_id) : json_null());
    json_object_set_new(out, "store_id", spec.store_id ? json_integer(spec.store_id) : json_null());
    json_object_set_new(out, "expires_at", dom_time(spec.expires_at));
    r->status = 201;
    r->resp = out;
    return 0;
}

/* GET /stores: the chain's stores for HQ; for anyone bound to a store, that store. */
static int h_stores_list_scoped(http_req *r, siyu_err *e)
{
    if (r->d.who.role == ROLE_ADMIN || r->d.who.role == ROLE_OPERATOR) return h_stores_list(r, e);
    json_t *items = json_array(), *one = NULL;
    if (r->d.who.store_id && stores_get(&r->d, r->d.who.store_id, &one, e) < 0) {
        json_decref(items);
        return -1;
    }
    if (one) json_array_append_new(items, one);
    r->status = 200;
    r->resp = json_pack("{s:o, s:n}", "items", items, "next_cursor");
    return 0;
}

/* GET /members/{id} from memory: the kept 360 of the member for the caller's role, when it
 * still holds (views/member_cache.h) and the member is in the caller's scope. */
static int h_members_kept(http_req *r)
{
    member_cache *mc = http_member_cache(r);
    if (member_cache_mode_of(mc) == MEMBER_CACHE_OFF) return 0;
    member_cache_ticket_take(&r->kept_ticket, r->d.now); /* before the store is read */
    r->kept_ticket_taken = true;
    char *body;
    size_t len;
    int64_t store_id, guide_id;
    if (!member_cache_get(mc, r->id, r->d.who.role, r->d.now, &body, &len, &store_id, &guide_id))
        return 0;
    if (!members_in_scope(&r->d, store_id, guide_id) ||
        member_cache_mode_of(mc) == MEMBER_CACHE_VERIFY) {
        /* out of scope: the usual path answers the 403; verify: it renders to compare */
        r->kept_body = body;
        r->kept_len = len;
        return 0;
    }
    r->status = 200;
    r->text = body;
    r->content_type = "application/json; charset=utf-8";
    return 1;
}

static int h_members_get(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    r->d.until = 0;
    int rc = members_get(&r->d, r->id, &out, e);
    if (rc >= 0) {
        segments_member_block(r, out);
        guides_member_block(&r->d, out);
        fission_member_block(&r->d, out);
    }
    if (rc != 200 || !r->kept_ticket_taken || !out || store_conn_failed(r->d.conn))
        return http_answer(r, rc, &out);
    /* kept as the bytes it is answered with */
    char *text = json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) return http_answer(r, rc, &out);
    size_t len = strlen(text);
    member_cache *mc = http_member_cache(r);
    if (r->kept_body && (r->kept_len != len || memcmp(r->kept_body, text, len) != 0))
        member_cache_stale(mc, r->id, r->kept_body, r->kept_len, text, len);
    json_t *sid = json_object_get(out, "store_id"), *gid = json_object_get(out, "guide_id");
    member_cache_put(mc, r->id, r->d.who.role, &r->kept_ticket, text, len,
                     json_is_integer(sid) ? json_integer_value(sid) : 0,
                     json_is_integer(gid) ? json_integer_value(gid) : 0, r->d.until);
    json_decref(out);
    r->status = 200;
    r->text = text;
    r->content_type = "application/json; charset=utf-8";
    return 0;
}

/* GET /members: a lookup when an identity is given, else the list in scope. */
static int h_members_list(http_req *r, siyu_err *e)
{
    static const char *const kinds[] = {"phone", "unionid", "openid", "card_no",
                                        "wecom_external_id"};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        const char *v = req_query(r, kinds[i]);
        if (v) {
            json_t *out = NULL;
            int rc = members_lookup(&r->d, kinds[i], v, req_query(r, "app_id"), &out, e);
            return http_answer(r, rc, &out);
        }
    }
    int64_t cursor;
    int limit;
    json_t *out = NULL;
    if (req_page(r, &cursor, &limit, e)) return -1;
    const char *name = req_query(r, "name");
    int rc = name ? members_search_name(&r->d, name, cursor, limit, &out, e)
                  : members_list(&r->d, cursor, limit, &out, e);
    return http_answer(r, rc, &out);
}

static int h_orders_list(http_req *r, siyu_err *e)
{
    int64_t cursor, member_id = 0, store_id = 0;
    int limit;
    json_t *out = NULL;
    if (req_page(r, &cursor, &limit, e) || req_query_int(r, "member_id", &member_id, e) < 0 ||
        req_query_int(r, "store_id", &store_id, e) < 0)
        return -1;
    int rc = orders_list(&r->d, cursor, limit, member_id, store_id, &out, e);
    return http_answer(r, rc, &out);
}

/* An import commits batch by batch on the group committer's thread, alone. */
typedef struct import_write {
    http_req *r;
    FILE *in;
    import_options *o;
    import_result *res;
} import_write;

static int import_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    (void)changes; /* each batch reaches the views through the import's observer */
    import_write *x = arg;
    int rc = import_stream(c, &x->r->d.who, x->r->word, x->in, x->o, x->res, e);
    store_conn_cache(c, 128); /* the writer's own page cache again (writer_start) */
    return rc;
}

static int h_import(http_req *r, siyu_err *e)
{
    if (!import_kind_known(r->word))
        return siyu_err_set(e, SIYU_NOT_FOUND, "kind",
                            "kind: expected brands, stores, staff, members, orders or events");
    /* the body was spooled to disk as it arrived (server.c): read it as a stream, so
     * an import holds a few blocks of records in memory, never the whole upload */
    FILE *in = r->raw_file;
    if (!in) return siyu_err_set(e, SIYU_INTERNAL, NULL, "cannot read the body");
    import_options o;
    import_options_init(&o);
    o.format = IMPORT_NDJSON;
    o.max_errors_kept = 1000;
    http_import_observer(r, &o);
    import_result res;
    import_write x = {.r = r, .in = in, .o = &o, .res = &res};
    int rc = writer_exclusive(http_writer(r), import_fn, &x, NULL, e);
    if (rc) return -1;
    r->status = 200;
    r->resp = json_pack("{s:I, s:I, s:I, s:I, s:o}", "records", (json_int_t)res.records, "imported",
                        (json_int_t)res.imported, "duplicates", (json_int_t)res.duplicates,
                        "rejected", (json_int_t)res.rejected, "errors", res.errors);
    return 0;
}

static int h_models_fit(http_req *r, siyu_err *e)
{
    model_options o;
    model_options_init(&o, r->d.now);
    if (model_options_from_json(&o, r->body, e)) return -1;
    /* read and computed on the worker's connection; written on the group committer's */
    o.write_begin = writer_lease_cb;
    o.write_end = writer_lease_end_cb;
    o.write_ctx = http_writer(r);
    json_t *out = NULL;
    int rc = models_fit(r->d.conn, &o, r->d.now, &out, e);
    if (rc >= 0 && http_views(r)) views_reload_predictions(http_views(r), r->d.conn);
    return http_answer(r, rc, &out);
}

static int h_models_current(http_req *r, siyu_err *e)
{
    json_t *out = NULL;
    int rc = models_current(r->d.conn, &out, e);
    return http_answer(r, rc, &out);
}

/* GET /models/validation?cal_end=YYYY-MM-DD&holdout_end=YYYY-MM-DD&unit=weeks */
static int h_models_validation(http_req *r, siyu_err *e)
{
    const char *a = req_query(r, "cal_end"), *b = req_query(r, "holdout_end"),
               *unit = req_query(r, "unit");
    int32_t cal_end, holdout_end;
    if (!a || date_parse(a, &cal_end))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "cal_end", "cal_end: expected YYYY-MM-DD");
    if (!b || date_parse(b, &holdout_end))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "holdout_end",
                            "holdout_end: expected YYYY-MM-DD");
    if (unit && strcmp(unit, "days") != 0 && strcmp(unit, "weeks") != 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "unit", "unit: expected days or weeks");
    json_t *out = NULL;
    int rc = models_validate(r->d.conn, cal_end, holdout_end,
                             unit && strcmp(unit, "weeks") == 0 ? 7 : 1, &out, e);
    return http_answer(r, rc, &out);
}

/* ---------------- reports ---------------- */

/* Reads the report query from the URL and narrows it to the caller's scope: a store
 * manager sees their store, a guide what is credited to them. */
static int report_query(http_req *r, reports_query *q, reports_t **rep, siyu_err *e)
{
    struct views *v = http_views(r);
    if (!v) return siyu_err_set(e, SIYU_INTERNAL, NULL, "reports are not loaded");
    static const char *const keys[] = {"from",  "to",      "brand",       "store",
                                       "guide", "channel", "granularity", "top"};
    json_t *params = json_object();
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *val = req_query(r, keys[i]);
        if (val) json_object_set_new(params, keys[i], json_string(val));
    }
    int rc = reports_query_parse(params, q, e);
    json_decref(params);
    if (rc) return -1;
    if (r->d.who.role == ROLE_STORE_MANAGER) {
        if (q->store_id && q->store_id != r->d.who.store_id)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, "store", "store: outside your store");
        q->store_id = r->d.who.store_id;
    } else if (r->d.who.role == ROLE_GUIDE) {
        if (q->guide_id && q->guide_id != r->d.who.staff_id)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, "guide", "guide: only your own figures");
        q->guide_id = r->d.who.staff_id;
    }
    *rep = views_reports(v);
    return 0;
}

static int report_answer(http_req *r, json_t *out)
{
    if (!out) return -1;
    r->status = 200;
    r->resp = out;
    return 0;
}

/* A report's answer from the reports' answer cache (reports.h), or computed and kept: the
 * key is the report, the query as narrowed to the caller's scope, and today (+08:00). */
typedef json_t *(*report_fn)(reports_t *, const reports_query *, siyu_err *);
static json_t *report_cached(http_req *r, reports_t *rep, const char *name, const reports_query *q,
                             int dim, report_fn fn, siyu_err *e)
{
    char key[256];
    snprintf(key, sizeof key, "%s|%d|%d|%d|%lld|%lld|%lld|%d|%d|%d|%d|%lld", name, dim,
             (int)q->from, (int)q->to, (long long)q->brand_id, (long long)q->store_id,
             (long long)q->guide_id, q->channel, (int)q->granularity, q->top_n,
             (int)q->concentration_only, (long long)((r->d.now + 8 * 3600) / 86400));
    json_t *out = reports_cache_get(rep, key);
    if (out) return out;
    uint64_t version = reports_version(rep);
    out = fn ? fn(rep, q, e) : reports_leaderboard(rep, q, (reports_dim)dim, e);
    reports_cache_put(rep, key, version, out);
    return out;
}

static int h_report_kpi(http_req *r, siyu_err *e)
{
    reports_query q;
    reports_t *rep;
    if (report_query(r, &q, &rep, e)) return -1;
    return report_answer(r, report_cached(r, rep, "kpi", &q, 0, reports_kpi, e));
}

static int h_report_leaderboard(http_req *r, siyu_err *e)
{
    reports_query q;
    reports_t *rep;
    if (report_query(r, &q, &rep, e)) return -1;
    const char *by = req_query(r, "by");
    reports_dim dim;
    if (!by || strcmp(by, "store") == 0)
        dim = REPORTS_BY_STORE;
    else if (strcmp(by, "channel") == 0)
        dim = REPORTS_BY_CHANNEL;
    else if (strcmp(by, "guide") == 0)
        dim = REPORTS_BY_GUIDE;
    else if (strcmp(by, "tier") == 0) {
        /* tiers live in the member index (loyalty sets them): read them once per report */
        reports_classes *tiers = views_tier_classes(views_index(http_views(r)), e);
        if (!tiers) return -1;
        json_t *out = reports_leaderboard_by(rep, &q, "tier", reports_classes_classify, tiers, e);
        reports_classes_free(tiers);
        return report_answer(r, out);
    } else
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "by",
                            "by: expected store, channel, guide or tier");
    if (dim != REPORTS_BY_GUIDE)
        return report_answer(r, report_cached(r, rep, "leaderboard", &q, (int)dim, NULL, e));
    /* guides: a store manager's are the guides of their store, credited for their
     * customers' orders in every store and channel (not only the orders of the store) */
    int64_t only_store = 0;
    if (r->d.who.role == ROLE_STORE_MANAGER) {
        only_store = q.store_id;
        q.store_id = 0;
    }
    /* the ranking from the cache; the guides' names, contacts and tasks read now */
    json_t *out = report_cached(r, rep, "leaderboard", &q, (int)dim, NULL, e);
    if (!out) return -1;
    guides_leaderboard_decorate(&r->d, out, only_store, (int64_t)q.from * 86400 - 8 * 3600,
                                (int64_t)(q.to + 1) * 86400 - 8 * 3600);
    return report_answer(r, out);
}

#define REPORT_ROUTE(name)                                                                         \
    static int h_report_##name(http_req *r, siyu_err *e)                                           \
    {                                                                                              \
        reports_query q;                                                                           \
        reports_t *rep;                                                                            \
        if (report_query(r, &q, &rep, e)) return -1;                                               \
        return report_answer(r, report_cached(r, rep, #name, &q, 0, reports_##name, e));           \
    }
REPORT_ROUTE(cohorts)

static int h_report_products(http_req *r, siyu_err *e)
{
    reports_query q;
    reports_t *rep;
    if (report_query(r, &q, &rep, e)) return -1;
    const char *part = req_query(r, "part");
    if (part && strcmp(part, "concentration") != 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "part", "part: expected concentration");
    q.concentration_only = part != NULL;
    return report_answer(r, report_cached(r, rep, "products", &q, 0, reports_products, e));
}
REPORT_ROUTE(live)
REPORT_ROUTE(distributions)

static int h_healthz(http_req *r, siyu_err *e)
{
    r->status = 200;
    r->resp = json_pack("{s:s}", "status", "ok");
    return 0;
}

/* Readiness: the store answers, the in-memory views follow it and every background
 * job's last run succeeded; else 503 naming the failing job, its last error and since
 * when. /healthz stays liveness. */
static int h_readyz(http_req *r, siyu_err *e)
{
    store_stmt *s = store_q(r->d.conn, Q_STORE_PING);
    bool store_ok = store_step(s) == STORE_ROW;
    store_reset(s);
    json_t *failing = NULL;
    struct jobs *j = http_jobs(r);
    bool jobs_ok = j ? jobs_ready(j, &failing) : true;
    /* a view update whose reads failed leaves reports and audiences behind the store
     * until a restart rebuilds them */
    struct views *v = http_views(r);
    uint64_t view_failures = v ? views_failed_updates(v) : 0;
    /* a failed sync of the store refuses every write until a restart (writer.h) */
    char sync_error[200] = "";
    /* only the writer's state is read, nothing waits: not http_writer, which is for
     * handlers that submit writes (never on an I/O thread) */
    bool writes_ok =
        !writer_sync_failed(http_server_writer(r->server), sync_error, sizeof sync_error);
    r->status = store_ok && jobs_ok && !view_failures && writes_ok ? 200 : 503;
    r->resp =
        json_pack("{s:s, s:b, s:b, s:b, s:o}", "status", r->status == 200 ? "ready" : "not_ready",
                  "store", store_ok, "views", view_failures == 0, "writes", writes_ok, "failing",
                  failing ? failing : json_array());
    if (!store_ok)
        json_object_set_new(r->resp, "store_error", json_string(store_conn_error(r->d.conn)));
    if (!writes_ok) json_object_set_new(r->resp, "writes_error", json_string(sync_error));
    store_conn_clear(r->d.conn); /* answered here: not a 500 */
    return 0;
}

static int h_openapi(http_req *r, siyu_err *e)
{
    r->status = 200;
    r->resp = openapi_document();
    return 0;
}

static int h_metrics(http_req *r, siyu_err *e)
{
    r->status = 200;
    r->text = metrics_render_background(metrics_render(r->server), r->server, r->d.conn);
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return 0;
}

int h_home(http_req *r, siyu_err *e);
int h_home(http_req *r, siyu_err *e)
{
    static const char page[] =
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        "<title>siyu 私域</title><style>body{font-family:sans-serif;max-width:42em;margin:3em auto;"
        "line-height:1.6}code{background:#f3f3f3;padding:0 .3em}</style></head><body>"
        "<h1>siyu 私域会员运营</h1>"
        "<p>会员中心、全渠道订单与导购 API 正在运行。The member center, omnichannel orders and "
        "guide API are running.</p><ul>"
        "<li><a href=\"/healthz\">/healthz</a> — 健康检查 health</li>"
        "<li><a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a> — API 文档 OpenAPI</li>"
        "<li><a href=\"/metrics\">/metrics</a> — 监控指标 Prometheus metrics</li></ul>"
        "<p>调用 API 需要令牌 Calls need a token: <code>curl -H 'Authorization: Bearer TOKEN' "
        "http://HOST/api/v1/members</code></p></body></html>";
    r->status = 200;
    r->text = strdup(page);
    r->content_type = "text/html; charset=utf-8";
    return 0;
}

#define ANY ROLES_ALL
#define HQ ROLES_HQ
#define ADMIN ROLE_ADMIN
#define MGR (ROLE_ADMIN | ROLE_OPERATOR | ROLE_STORE_MANAGER)
#define STAFF_GROUPS (MGR | ROLE_GUIDE) /* groups: a guide sees the groups they own */

const route routes[] = {
    {"GET", "/", h_console_index, 0, ROUTE_PUBLIC | ROUTE_HTML,
     "The console (docs/console.md), or a landing page when none is installed", "system",
     SCOPE_PUBLIC, 0, .response = "text/html"},
    {"GET", "/healthz", h_healthz, 0, ROUTE_PUBLIC, "Liveness check", "system", SCOPE_PUBLIC, 0,
     .response = "Health"},
    {"GET", "/readyz", h_readyz, 0, ROUTE_PUBLIC,
     "Readiness: the store, the views and the background jobs", "system", SCOPE_PUBLIC, 0,
     .response = "Readiness", .answers = ANS_503},
    {"GET", "/metrics", h_metrics, 0, ROUTE_PUBLIC | ROUTE_HTML, "Prometheus metrics", "system",
     SCOPE_PUBLIC, 0, .response = "text/plain"},
    {"GET", "/api/v1/openapi.json", h_openapi, 0, ROUTE_PUBLIC, "This document", "system",
     SCOPE_PUBLIC, 0, .response = "OpenAPIDocument"},
    {"POST", "/api/v1/brands", h_brands_create, ADMIN, ROUTE_WRITE | ROUTE_BODY, "Create a brand",
     "organisation", SCOPE_CHAIN, 0, .request = "BrandCreate", .response = "Brand",
     .answers = ANS_201},
    {"GET", "/api/v1/brands", h_brands_list, ANY, 0, "List brands", "organisation", SCOPE_CHAIN, 0,
     .query = "page", .response = "Brand[]"},
    {"POST", "/api/v1/stores", h_stores_create, ADMIN, ROUTE_WRITE | ROUTE_BODY, "Create a store",
     "organisation", SCOPE_CHAIN, 0, .request = "StoreCreate", .response = "Store",
     .answers = ANS_201 | ANS_404},
    {"GET", "/api/v1/stores", h_stores_list_scoped, ANY, 0, "List stores", "organisation",
     SCOPE_CHAIN, 0, .query = "page", .response = "Store[]"},
    {"GET", "/api/v1/stores/{id}", h_stores_get, ANY, 0, "Get a store", "organisation", SCOPE_STORE,
     0, .response = "Store"},
    {"POST", "/api/v1/staff", h_staff_create, ADMIN, ROUTE_WRITE | ROUTE_BODY,
     "Create a staff member", "organisation", SCOPE_CHAIN, 0, .request = "StaffCreate",
     .response = "Staff", .answers = ANS_201 | ANS_404 | ANS_409},
    {"GET", "/api/v1/staff", h_staff_list, MGR, 0, "List staff (a store manager: their store's)",
     "organisation", SCOPE_CHAIN, 0, .query = "page", .response = "Staff[]"},
    {"GET", "/api/v1/staff/{id}", h_staff_get, MGR, 0, "Get a staff member", "organisation",
     SCOPE_STAFF, 0, .response = "Staff"},
    {"POST", "/api/v1/staff/{id}/tokens", h_staff_token_create, ADMIN,
     ROUTE_WRITE | ROUTE_BODY_OPT | ROUTE_SECRET, "Create a token for a staff member (shown once)",
     "organisation", SCOPE_STAFF, 0, .request = "StaffTokenCreate", .response = "TokenIssued",
     .answers = ANS_201 | ANS_409},
    {"GET", "/api/v1/tokens", h_tokens_list, ADMIN, 0,
     "List API tokens (never their secret): role, staff, store, expiry, last use, state",
     "organisation", SCOPE_CHAIN, 0, .query = "page", .response = "Token[]"},
    {"POST", "/api/v1/tokens", h_tokens_create, ADMIN, ROUTE_WRITE | ROUTE_BODY | ROUTE_SECRET,
     "Create a token (a till's cashier token: role cashier with store_id), shown once",
     "organisation", SCOPE_CHAIN, SB_STORE, .request = "TokenCreate", .response = "TokenIssued",
     .answers = ANS_201 | ANS_404},
    {"DELETE", "/api/v1/tokens/{id}", h_tokens_revoke, ADMIN, ROUTE_WRITE,
     "Revoke a token: it answers 401 from then on", "organisation", SCOPE_TOKEN, 0,
     .response = "Token"},
    {"POST", "/api/v1/members", h_members_create_or_match, ANY, ROUTE_WRITE | ROUTE_BODY,
     "Create or match a member by identity", "members", SCOPE_CHAIN,
     SB_STORE | SB_GUIDE | SB_IDENTITY, .request = "MemberCreate", .response = "Member",
     .answers = ANS_201 | ANS_404 | ANS_409},
    {"GET", "/api/v1/members", h_members_list, ANY | ROLE_CASHIER, 0,
     "List members in scope, search them by name, or look one up by phone, unionid, openid, "
     "card_no",
     "members", SCOPE_CHAIN, SB_LOOKUP,
     .query = "page phone unionid openid card_no wecom_external_id app_id name",
     .long_with = "name", .response = "Member|Member[]", .answers = ANS_404},
    {"GET", "/api/v1/members/{id}", h_members_get, ANY, 0, "The member 360", "members",
     SCOPE_MEMBER, 0, .response = "Member", .kept = h_members_kept},
    {"PATCH", "/api/v1/members/{id}", h_members_patch, ANY, ROUTE_WRITE | ROUTE_BODY,
     "Change a member's profile", "members", SCOPE_MEMBER, SB_STORE | SB_GUIDE,
     .request = "MemberPatch", .response = "Member", .answers = ANS_409},
    {"POST", "/api/v1/members/{id}/merge", h_members_merge, MGR, ROUTE_WRITE | ROUTE_BODY,
     "Merge another member into this one", "members", SCOPE_MEMBER, SB_MEMBER,
     .request = "MemberMerge", .response = "Member", .answers = ANS_409 | ANS_422},
    {"POST", "/api/v1/orders", h_orders_create, MGR | ROLE_CASHIER,
     ROUTE_WRITE | ROUTE_BODY | ROUTE_KEYED | ROUTE_LINES,
     "Record an order (idempotent by channel and external_id)", "orders", SCOPE_CHAIN,
     SB_STORE | SB_GUIDE | SB_MEMBER | SB_IDENTITY, .request = "OrderCreate", .response = "Order",
     .answers = ANS_201 | ANS_404 | ANS_409 | ANS_422, .prepare = prepare_order},
    {"GET", "/api/v1/orders", h_orders_list, ANY, 0, "List orders in scope", "orders", SCOPE_CHAIN,
     SB_MEMBER | SB_STORE, .query = "page member_id:int store_id:int", .response = "Order[]"},
    {"GET", "/api/v1/orders/{id}", h_orders_get, ANY, 0, "Get an order with items and refunds",
     "orders", SCOPE_ORDER, 0, .response = "Order"},
    {"POST", "/api/v1/orders/{id}/refunds", h_orders_refund, MGR,
     ROUTE_WRITE | ROUTE_BODY | ROUTE_KEYED,
     "Refund an order in full or in part (idempotent by external_id)", "orders", SCOPE_ORDER, 0,
     .request = "RefundCreate", .response = "Refund", .answers = ANS_201 | ANS_409 | ANS_422},
    {"POST", "/api/v1/events", h_events_record, ANY, ROUTE_WRITE | ROUTE_BODY,
     "Record one event or a batch", "events", SCOPE_CHAIN,
     SB_MEMBER | SB_IDENTITY | SB_FIND | SB_EACH_EVENT, .request = "EventsRecord",
     .response = "EventsRecorded", .answers = ANS_201 | ANS_404},
    {"POST", "/api/v1/import/{kind}", h_import, HQ, ROUTE_RAW,
     "Bulk import NDJSON: brands, stores, staff, members, orders or events", "import", SCOPE_CHAIN,
     0, .request = "application/x-ndjson", .response = "ImportResult"},
    {"POST", "/api/v1/segments/count", h_segments_count, ANY, ROUTE_BODY,
     "Count an audience (segment expression) in the caller's scope", "segments", SCOPE_CHAIN, 0,
     .request = "SegmentQuery", .response = "SegmentCount"},
    {"POST", "/api/v1/segments/breakdown", h_segments_breakdown, ANY, ROUTE_BODY,
     "An audience's counts by store, tier, guide, RFM class, lifecycle stage, city…", "segments",
     SCOPE_CHAIN, 0, .request = "SegmentBreakdownQuery", .response = "SegmentBreakdown"},
    {"POST", "/api/v1/segments", h_segments_create, HQ, ROUTE_OWN_TX | ROUTE_BODY, "Save a segment",
     "segments", SCOPE_CHAIN, 0, .request = "SegmentCreate", .response = "Segment",
     .answers = ANS_201 | ANS_409},
    {"GET", "/api/v1/segments", h_segments_list, ANY, 0, "List saved segments", "segments",
     SCOPE_CHAIN, 0, .query = "page", .response = "Segment[]"},
    {"GET", "/api/v1/segments/{id}", h_segments_get, ANY, 0,
     "A saved segment with its current count", "segments", SCOPE_CHAIN, 0, .response = "Segment"},
    {"GET", "/api/v1/segments/{id}/members", h_segments_members, ANY, ROUTE_LONG,
     "A saved segment's members by cursor", "segments", SCOPE_CHAIN, 0, .query = "page",
     .response = "Member[]"},
    {"GET", "/api/v1/segments/{id}/export", h_segments_export, ANY, ROUTE_HTML | ROUTE_LONG,
     "A saved segment's members as CSV (phones masked for guides)", "segments", SCOPE_CHAIN, 0,
     .query = "consent:sms|wechat_template|wecom|public_account", .response = "text/csv"},
    {"POST", "/api/v1/tags", h_tags_create, HQ, ROUTE_OWN_TX | ROUTE_BODY,
     "Create a manual tag, or a rule tag with an expression", "tags", SCOPE_CHAIN, 0,
     .request = "TagCreate", .response = "Tag", .answers = ANS_201 | ANS_409},
    {"GET", "/api/v1/tags", h_tags_list, ANY, 0, "List tags with their member counts", "tags",
     SCOPE_CHAIN, 0, .query = "page", .response = "Tag[]"},
    {"POST", "/api/v1/tags/{id}/members", h_tags_add, MGR, ROUTE_OWN_TX | ROUTE_BODY,
     "Add members to a manual tag by id, phone or audience", "tags", SCOPE_CHAIN, SB_MEMBER,
     .request = "TagMembers", .response = "TagChange", .answers = ANS_422},
    {"POST", "/api/v1/tags/{id}/members/remove", h_tags_remove, MGR, ROUTE_OWN_TX | ROUTE_BODY,
     "Remove members from a manual tag", "tags", SCOPE_CHAIN, SB_MEMBER, .request = "TagMembers",
     .response = "TagChange", .answers = ANS_422},
    {"POST", "/api/v1/tags/{id}/members/csv", h_tags_add, MGR, ROUTE_OWN_TX | ROUTE_RAW,
     "Add members to a manual tag from a CSV file of phones (text/csv, a phone column)", "tags",
     SCOPE_CHAIN, 0, .request = "text/csv", .response = "TagChange", .answers = ANS_422},
    {"POST", "/api/v1/tags/{id}/members/remove/csv", h_tags_remove, MGR, ROUTE_OWN_TX | ROUTE_RAW,
     "Remove members from a manual tag by a CSV file of phones", "tags", SCOPE_CHAIN, 0,
     .request = "text/csv", .response = "TagChange", .answers = ANS_422},
    {"GET", "/api/v1/segments/settings", h_segments_settings, ANY, 0,
     "RFM and lifecycle thresholds (and the RFM thresholds in force)", "segments", SCOPE_CHAIN, 0,
     .response = "SegmentSettings"},
    {"PUT", "/api/v1/segments/settings", h_segments_settings, HQ, ROUTE_OWN_TX | ROUTE_BODY,
     "Set the RFM thresholds (or \"auto\": median split) and lifecycle thresholds", "segments",
     SCOPE_CHAIN, 0, .request = "SegmentSettingsPut", .response = "SegmentSettings"},
    {"GET", "/api/v1/reports/kpi", h_report_kpi, ANY, ROUTE_LONG,
     "KPIs for a period and the previous one, with a series", "reports", SCOPE_CHAIN,
     SB_STORE | SB_GUIDE,
     .query = "from:date! to:date! brand:int store:int guide:int "
              "channel:store|miniprogram|mall|live|points_mall|distribution|third_party "
              "granularity:day|week|month top:int",
     .response = "ReportKpi"},
    {"GET", "/api/v1/reports/leaderboard", h_report_leaderboard, ANY, ROUTE_LONG,
     "KPIs per store, channel, guide or tier, ranked, with the previous period", "reports",
     SCOPE_CHAIN, SB_STORE | SB_GUIDE,
     .query = "from:date! to:date! brand:int store:int guide:int "
              "channel:store|miniprogram|mall|live|points_mall|distribution|third_party "
              "granularity:day|week|month top:int by:store|channel|guide|tier",
     .response = "ReportLeaderboard"},
    {"GET", "/api/v1/reports/cohorts", h_report_cohorts, ANY, ROUTE_LONG,
     "Monthly join cohorts: retention and cumulative sales per member", "reports", SCOPE_CHAIN,
     SB_STORE | SB_GUIDE,
     .query = "from:date! to:date! brand:int store:int guide:int "
              "channel:store|miniprogram|mall|live|points_mall|distribution|third_party "
              "granularity:day|week|month top:int",
     .response = "ReportCohorts"},
    {"GET", "/api/v1/reports/products", h_report_products, ANY, ROUTE_LONG,
     "Sales concentration, best sellers, items bought together", "reports", SCOPE_CHAIN,
     SB_STORE | SB_GUIDE,
     .query = "from:date! to:date! brand:int store:int guide:int "
              "channel:store|miniprogram|mall|live|points_mall|distribution|third_party "
              "granularity:day|week|month top:int part:concentration",
     .response = "ReportProducts"},
    {"GET", "/api/v1/reports/live", h_report_live, ANY, ROUTE_LONG,
     "Live sessions: sales during and in the 72 hours after", "reports", SCOPE_CHAIN,
     SB_STORE | SB_GUIDE,
     .query = "from:date! to:date! brand:int store:int guide:int "
              "channel:store|miniprogram|mall|live|points_mall|distribution|third_party "
              "granularity:day|week|month top:int",
     .response = "ReportLive"},
    {"GET", "/api/v1/reports/distributions", h_report_distributions, ANY, ROUTE_LONG,
     "Members by reachability and join channel, with sales", "reports", SCOPE_CHAIN,
     SB_STORE | SB_GUIDE,
     .query = "from:date! to:date! brand:int store:int guide:int "
              "channel:store|miniprogram|mall|live|points_mall|distribution|third_party "
              "granularity:day|week|month top:int",
     .response = "ReportDistributions"},
    {"POST", "/api/v1/models/fit", h_models_fit, HQ, ROUTE_OWN_TX | ROUTE_BODY_OPT,
     "Fit BG/NBD and Gamma-Gamma on the orders and score every member", "predictions", SCOPE_CHAIN,
     0, .request = "ModelFitOptions", .response = "ModelRun", .answers = ANS_422},
    {"GET", "/api/v1/models/current", h_models_current, HQ, 0,
     "The latest model run: parameters, standard errors, log-likelihood", "predictions",
     SCOPE_CHAIN, 0, .response = "ModelRun", .answers = ANS_404},
    {"GET", "/api/v1/models/validation", h_models_validation, HQ, ROUTE_LONG,
     "Holdout check: predicted vs actual repeat purchases", "predictions", SCOPE_CHAIN, 0,
     .query = "cal_end:date! holdout_end:date! unit:days|weeks", .response = "ModelValidation",
     .answers = ANS_422},
    {"PUT", "/api/v1/loyalty/tiers", h_loyalty_tiers_put, HQ, ROUTE_WRITE | ROUTE_BODY,
     "Set the tier ladder (members are re-evaluated against it)", "loyalty", SCOPE_CHAIN, 0,
     .request = "TierLadder", .response = "TierLadder"},
    {"GET", "/api/v1/loyalty/tiers", h_loyalty_tiers_get, ANY, 0, "The tier ladder", "loyalty",
     SCOPE_CHAIN, 0, .response = "TierLadder"},
    {"POST", "/api/v1/loyalty/earn-rules", h_loyalty_rules_create, HQ, ROUTE_WRITE | ROUTE_BODY,
     "Add an earn rule (points per yuan, scope, multipliers, cap)", "loyalty", SCOPE_CHAIN, 0,
     .request = "EarnRuleCreate", .response = "EarnRule", .answers = ANS_201},
    {"GET", "/api/v1/loyalty/earn-rules", h_loyalty_rules_list, ANY, 0, "List earn rules",
     "loyalty", SCOPE_CHAIN, 0, .query = "page", .response = "EarnRule[]"},
    {"DELETE", "/api/v1/loyalty/earn-rules/{id}", h_loyalty_rules_delete, HQ, ROUTE_WRITE,
     "Retire an earn rule (kept, inactive)", "loyalty", SCOPE_CHAIN, 0, .response = "EarnRule"},
    {"PUT", "/api/v1/loyalty/settings", h_loyalty_settings_put, HQ, ROUTE_WRITE | ROUTE_BODY,
     "Set points expiry, pending days, daily cap, redemption value, referral reward", "loyalty",
     SCOPE_CHAIN, 0, .request = "LoyaltySettings", .response = "LoyaltySettings"},
    {"GET", "/api/v1/loyalty/settings", h_loyalty_settings_get, ANY, 0, "Loyalty settings",
     "loyalty", SCOPE_CHAIN, 0, .response = "LoyaltySettings"},
    {"POST", "/api/v1/loyalty/sweep", h_loyalty_sweep, HQ, ROUTE_WRITE,
     "Expire due points and coupons and run due tier reviews now", "loyalty", SCOPE_CHAIN, 0,
     .response = "LoyaltySweep"},
    {"GET", "/api/v1/members/{id}/points", h_points_get, ANY, 0,
     "Points balance, pending, expiring and the ledger", "loyalty", SCOPE_MEMBER, 0,
     .query = "page", .response = "Points"},
    {"POST", "/api/v1/members/{id}/points", h_points_post, HQ,
     ROUTE_WRITE | ROUTE_BODY | ROUTE_IDEM,
     "Credit points, or redeem with a negative delta (Idempotency-Key required)", "loyalty",
     SCOPE_MEMBER, 0, .request = "PointsMove", .response = "PointsMoved",
     .answers = ANS_201 | ANS_422},
    {"POST", "/api/v1/points/bulk", h_points_bulk, HQ, ROUTE_WRITE | ROUTE_BODY | ROUTE_IDEM,
     "Credit or debit many members (a list or a segment) at once", "loyalty", SCOPE_CHAIN,
     SB_MEMBER, .request = "PointsBulk", .response = "PointsBulkResult",
     .answers = ANS_201 | ANS_404 | ANS_422},
    {"GET", "/api/v1/members/{id}/benefits", h_member_benefits, ANY | ROLE_CASHIER, 0,
     "What the till needs: tier, discount, usable coupons, redeemable points", "loyalty",
     SCOPE_MEMBER, SB_STORE,
     .query = "store_id:int amount_cents:int "
              "channel:store|miniprogram|mall|live|points_mall|distribution|third_party skus",
     .response = "Benefits"},
    {"GET", "/api/v1/members/{id}/coupons", h_member_coupons, ANY, 0,
     "A member's coupons with their history", "loyalty", SCOPE_MEMBER, 0, .query = "page",
     .response = "Coupon[]"},
    {"POST", "/api/v1/coupon-templates", h_coupon_templates_create, HQ, ROUTE_WRITE | ROUTE_BODY,
     "Create a coupon template", "loyalty", SCOPE_CHAIN, 0, .request = "CouponTemplateCreate",
     .response = "CouponTemplate", .answers = ANS_201},
    {"GET", "/api/v1/coupon-templates", h_coupon_templates_list, ANY, 0,
     "List coupon templates with stock", "loyalty", SCOPE_CHAIN, 0, .query = "page",
     .response = "CouponTemplate[]"},
    {"GET", "/api/v1/coupon-templates/{id}", h_coupon_templates_get, ANY, 0,
     "Get a coupon template", "loyalty", SCOPE_CHAIN, 0, .response = "CouponTemplate"},
    {"POST", "/api/v1/coupons", h_coupons_issue, MGR, ROUTE_WRITE | ROUTE_BODY,
     "Issue a coupon to a member or a list of members", "loyalty", SCOPE_CHAIN, SB_MEMBER,
     .request = "CouponIssue", .response = "CouponsIssued", .answers = ANS_201 | ANS_404 | ANS_422},
    {"GET", "/api/v1/coupons/{code}", h_coupons_get, ANY, 0, "A coupon with its history", "loyalty",
     SCOPE_COUPON, 0, .response = "Coupon"},
    {"POST", "/api/v1/coupons/{code}/forward", h_coupons_forward, ANY, ROUTE_WRITE | ROUTE_BODY,
     "Forward a shareable coupon to a friend by phone", "loyalty", SCOPE_COUPON, 0,
     .request = "CouponForward", .response = "Coupon", .answers = ANS_422},
    {"POST", "/api/v1/journeys", h_journeys_create, HQ, ROUTE_WRITE | ROUTE_BODY,
     "Create a journey (a draft), from JSON or from the ready-made library", "journeys",
     SCOPE_CHAIN, 0, .request = "JourneyCreate", .response = "Journey",
     .answers = ANS_201 | ANS_404},
    {"GET", "/api/v1/journeys", h_journeys_list, ANY, 0, "List journeys", "journeys", SCOPE_CHAIN,
     0, .query = "page", .response = "Journey[]"},
    {"POST", "/api/v1/journeys/tick", h_journeys_tick, HQ, ROUTE_OWN_TX,
     "Run the journey scheduler and the outbox now", "journeys", SCOPE_CHAIN, 0,
     .response = "JourneyTick"},
    {"PUT", "/api/v1/journeys/guardrails", h_journeys_guardrails_put, HQ, ROUTE_WRITE | ROUTE_BODY,
     "Set the guardrails every journey obeys: budget, quiet hours, staleness, monthly caps",
     "journeys", SCOPE_CHAIN, 0, .request = "Guardrails", .response = "Guardrails"},
    {"GET", "/api/v1/journeys/guardrails", h_journeys_guardrails_get, ANY, 0,
     "The guardrails every journey obeys", "journeys", SCOPE_CHAIN, 0, .response = "Guardrails"},
    {"GET", "/api/v1/journeys/{id}", h_journeys_get, ANY, 0, "Get a journey", "journeys",
     SCOPE_CHAIN, 0, .response = "Journey"},
    {"PUT", "/api/v1/journeys/{id}", h_journeys_update, HQ, ROUTE_WRITE | ROUTE_BODY,
     "Edit a journey (members keep the step they are on)", "journeys", SCOPE_CHAIN, 0,
     .request = "JourneyCreate", .response = "Journey"},
    {"POST", "/api/v1/journeys/{id}/activate", h_journeys_activate, HQ, ROUTE_WRITE,
     "Activate a draft or paused journey", "journeys", SCOPE_CHAIN, 0, .response = "Journey",
     .answers = ANS_409},
    {"POST", "/api/v1/journeys/{id}/pause", h_journeys_pause, HQ, ROUTE_WRITE, "Pause a journey",
     "journeys", SCOPE_CHAIN, 0, .response = "Journey", .answers = ANS_409},
    {"POST", "/api/v1/journeys/{id}/resume", h_journeys_resume, HQ, ROUTE_WRITE,
     "Resume a paused journey (stale sends are skipped)", "journeys", SCOPE_CHAIN, 0,
     .response = "Journey", .answers = ANS_409},
    {"POST", "/api/v1/journeys/{id}/archive", h_journeys_archive, HQ, ROUTE_WRITE,
     "Archive a journey", "journeys", SCOPE_CHAIN, 0, .response = "Journey", .answers = ANS_409},
    {"GET", "/api/v1/journeys/{id}/report", h_journeys_report, HQ, ROUTE_LONG,
     "Entries, step outcomes, messages, goal conversion and uplift against the holdout", "journeys",
     SCOPE_CHAIN, 0, .response = "JourneyReport"},
    {"POST", "/api/v1/journeys/{id}/dry-run", h_journeys_dry_run, HQ, ROUTE_BODY_OPT,
     "Who would have entered over the last N days and reached each step", "journeys", SCOPE_CHAIN,
     0, .request = "JourneyDryRunOptions", .response = "JourneyDryRun"},
    {"GET", "/api/v1/journey-library", h_journey_library, ANY, 0,
     "Ready-made journeys an operator can switch on", "journeys", SCOPE_CHAIN, 0, .query = "page",
     .response = "JourneyTemplate[]"},
    {"PUT", "/api/v1/channels/{name}", h_channels_put, HQ, ROUTE_WRITE | ROUTE_BODY,
     "Bind a channel to an adapter (webhook or file)", "journeys", SCOPE_CHAIN, 0,
     .request = "ChannelBinding", .response = "Channel"},
    {"GET", "/api/v1/channels", h_channels_list, HQ, 0, "Channel bindings (secrets hidden)",
     "journeys", SCOPE_CHAIN, 0, .query = "page", .response = "Channel[]"},
    {"GET", "/api/v1/messages", h_messages_list, ANY, 0,
     "A member's messages with their delivery status, or every message of a status (dead letters)",
     "journeys", SCOPE_CHAIN, SB_MEMBER, .query = "page member_id:int status",
     .response = "Message[]"},
    {"POST", "/api/v1/messages/receipts", h_messages_receipt, HQ, ROUTE_WRITE | ROUTE_BODY,
     "A delivery receipt from a channel", "journeys", SCOPE_CHAIN, 0, .request = "Receipt",
     .response = "ReceiptResult", .answers = ANS_404},
    {"GET", "/api/v1/tasks", h_tasks_list, ANY, 0, "Guide tasks (a guide sees their own)",
     "journeys", SCOPE_CHAIN, SB_GUIDE, .query = "page guide_id:int state", .response = "Task[]"},
    {"POST", "/api/v1/tasks/{id}/done", h_tasks_done, ANY, ROUTE_WRITE | ROUTE_BODY_OPT,
     "Mark a task done, with an optional outcome and note", "journeys", SCOPE_TASK, 0,
     .request = "TaskDone", .response = "Task", .answers = ANS_409},
    {"POST", "/api/v1/tasks/{id}/confirm", h_tasks_confirm, ANY, ROUTE_WRITE | ROUTE_BODY_OPT,
     "Confirm a wecom send the guide made", "journeys", SCOPE_TASK, 0, .request = "TaskDone",
     .response = "Task", .answers = ANS_409},
    {"POST", "/api/v1/tasks/{id}/skip", h_tasks_skip, ANY, ROUTE_WRITE,
     "Skip a task (a wecom send falls back to the next channel)", "journeys", SCOPE_TASK, 0,
     .response = "Task", .answers = ANS_409},
    {"POST", "/api/v1/members/{id}/consents", h_consents_put, MGR, ROUTE_WRITE | ROUTE_BODY,
     "Record a member's consent for a purpose and channel (granted or withdrawn)", "journeys",
     SCOPE_MEMBER, 0, .request = "ConsentCreate", .response = "Consent", .answers = ANS_201},
    {"GET", "/api/v1/members/{id}/consents", h_consents_get, ANY, 0,
     "A member's consents, per purpose and channel", "journeys", SCOPE_MEMBER, 0,
     .response = "Consents"},
    /* members' rights (issue 21): admins only — an export holds unmasked personal data,
     * an erasure cannot be undone (docs/privacy.md) */
    {"GET", "/api/v1/members/{id}/export", h_members_export, ADMIN, ROUTE_LONG,
     "Everything held about a member, as one JSON document (access and portability)", "members",
     SCOPE_MEMBER, 0, .response = "MemberExport"},
    {"POST", "/api/v1/members/{id}/erase", h_members_erase, ADMIN, ROUTE_WRITE | ROUTE_BODY,
     "Erase a member's personal data, keeping a pseudonymous record (audited)", "members",
     SCOPE_MEMBER, 0, .request = "MemberErase", .response = "Erasure", .answers = ANS_409},
    /* games (issue 17): campaigns are the chain's rules; plays and grabs name a member */
    {"POST", "/api/v1/campaigns", h_campaigns_create, HQ, ROUTE_WRITE | ROUTE_BODY,
     "Create a game: a lucky wheel, a scratch card or a red envelope", "games", SCOPE_CHAIN, 0,
     .request = "CampaignCreate", .response = "Campaign", .answers = ANS_201},
    {"GET", "/api/v1/campaigns", h_campaigns_list, ANY, 0, "List game campaigns", "games",
     SCOPE_CHAIN, 0, .query = "page", .response = "Campaign[]"},
    {"GET", "/api/v1/campaigns/{id}", h_campaigns_get, ANY, 0,
     "A game campaign with its prizes, stock and spend", "games", SCOPE_CHAIN, 0,
     .response = "Campaign"},
    {"GET", "/api/v1/campaigns/{id}/report", h_campaigns_report, ANY, ROUTE_LONG,
     "Participants, plays, prizes won, stock left, spend, packets grabbed and left", "games",
     SCOPE_CHAIN, 0, .response = "CampaignReport"},
    {"POST", "/api/v1/campaigns/{id}/plays", h_campaigns_play, ANY, ROUTE_WRITE | ROUTE_BODY,
     "Play a wheel or scratch card for a member (idempotent by play_id)", "games", SCOPE_CHAIN,
     SB_MEMBER, .request = "PlayCreate", .response = "Play",
     .answers = ANS_201 | ANS_409 | ANS_422},
    {"POST", "/api/v1/campaigns/{id}/envelopes/grab", h_campaigns_grab, ANY,
     ROUTE_WRITE | ROUTE_BODY, "Grab a red envelope packet for a member (idempotent by grab_id)",
     "games", SCOPE_CHAIN, SB_MEMBER, .request = "GrabCreate", .response = "Grab",
     .answers = ANS_201 | ANS_409 | ANS_422},
    /* guides (issue 15): WeCom userids, contacts as edges, channel QR codes (docs/guides.md) */
    {"PATCH", "/api/v1/staff/{id}", h_staff_patch, ADMIN, ROUTE_WRITE | ROUTE_BODY,
     "Change a staff member: store (history kept), status, WeCom userid (unique)", "guides",
     SCOPE_STAFF, 0, .request = "StaffPatch", .response = "Staff", .answers = ANS_409},
    {"POST", "/api/v1/wecom/events", h_wecom_events, HQ, ROUTE_WRITE | ROUTE_BODY,
     "The bridge's WeCom contact events, one or a batch (idempotent by content)", "guides",
     SCOPE_CHAIN, 0, .request = "WecomEvents", .response = "WecomEventsResult",
     .answers = ANS_201 | ANS_404 | ANS_422},
    {"GET", "/api/v1/members/{id}/contacts", h_member_contacts, ANY, 0,
     "A member's contact edges with guides, and the credited guide", "guides", SCOPE_MEMBER, 0,
     .response = "MemberContacts"},
    {"POST", "/api/v1/qr-codes", h_qr_codes_create, MGR, ROUTE_WRITE | ROUTE_BODY,
     "Create a channel QR code: guides in rotation or a store's guides, daily cap, backup",
     "guides", SCOPE_CHAIN, 0, .request = "QrCodeCreate", .response = "QrCode",
     .answers = ANS_201 | ANS_404},
    {"POST", "/api/v1/qr-codes/{id}/scan", h_qr_codes_scan, MGR, ROUTE_WRITE | ROUTE_BODY_OPT,
     "Which guide gets the customer who scanned this code (caps exact)", "guides", SCOPE_CHAIN, 0,
     .request = "QrScan", .response = "QrScanResult", .answers = ANS_201 | ANS_422},
    {"GET", "/api/v1/qr-codes/{id}/stats", h_qr_codes_stats, MGR, ROUTE_LONG,
     "What a code brought: scans, contacts, new members, first orders, sales, cost per member",
     "guides", SCOPE_CHAIN, 0, .response = "QrStats"},
    /* audit and retention (issue 21): admins only (docs/privacy.md) */
    {"GET", "/api/v1/audit", h_audit_list, ADMIN, ROUTE_OWN_TX,
     "The audit log: staff writes and reads of unmasked personal data", "audit", SCOPE_CHAIN, 0,
     .query = "page member_id:int staff_id:int from:time to:time action",
     .response = "AuditEntry[]"},
    {"GET", "/api/v1/retention", h_retention_get, ADMIN, 0,
     "How many days events, messages and the audit log are kept", "audit", SCOPE_CHAIN, 0,
     .response = "Retention"},
    {"PUT", "/api/v1/retention", h_retention_put, ADMIN, ROUTE_WRITE | ROUTE_BODY,
     "Set how many days events, messages and the audit log are kept", "audit", SCOPE_CHAIN, 0,
     .request = "Retention", .response = "Retention"},
    {"POST", "/api/v1/retention/sweep", h_retention_sweep, ADMIN, ROUTE_WRITE,
     "Delete one batch of what is older than the retention settings", "audit", SCOPE_CHAIN, 0,
     .query = "batch:int", .response = "RetentionSweep"},
    /* staff sign-in for the console (issue 18, docs/console.md) */
    {"PUT", "/api/v1/staff/{id}/login", h_staff_login_put, ADMIN, ROUTE_OWN_TX | ROUTE_BODY,
     "Set or reset a staff member's sign-in (username, password); ends their sessions",
     "organisation", SCOPE_STAFF, 0, .request = "StaffLoginSet", .response = "StaffLogin",
     .answers = ANS_409},
    {"DELETE", "/api/v1/staff/{id}/login", h_staff_login_delete, ADMIN, ROUTE_WRITE,
     "Remove a staff member's sign-in (they left); ends their sessions", "organisation",
     SCOPE_STAFF, 0, .response = "text/plain", .answers = ANS_204},
    {"POST", "/api/v1/session", h_session_create, 0, ROUTE_PUBLIC | ROUTE_BODY,
     "Sign in with a username and password: a session cookie, and the CSRF token every "
     "write with it must carry (X-CSRF-Token); locked after repeated failures",
     "organisation", SCOPE_PUBLIC, 0, .request = "SessionCreate", .response = "Session",
     .answers = ANS_201 | ANS_401 | ANS_429},
    {"GET", "/api/v1/session", h_session_get, ANY | ROLE_CASHIER, 0,
     "Who is signed in: staff, role, store, and the session's CSRF token", "organisation",
     SCOPE_CHAIN, 0, .response = "Session"},
    {"GET", "/assets/{file}", h_console_asset, 0, ROUTE_PUBLIC | ROUTE_HTML,
     "The console's built files (content-hashed names, cached for a year)", "system", SCOPE_PUBLIC,
     0, .response = "text/javascript"},
    {"DELETE", "/api/v1/session", h_session_delete, ANY, ROUTE_WRITE, "Sign out", "organisation",
     SCOPE_CHAIN, 0, .response = "text/plain", .answers = ANS_204},
    /* communities (issue 16): store groups, join codes, group sales (docs/communities.md) */
    {"POST", "/api/v1/groups/events", h_groups_events, HQ, ROUTE_WRITE | ROUTE_BODY,
     "The bridge's WeCom group events, one or a batch (idempotent by content)", "groups",
     SCOPE_CHAIN, 0, .request = "GroupEvents", .response = "GroupEventsResult",
     .answers = ANS_201 | ANS_409 | ANS_422},
    {"GET", "/api/v1/groups", h_groups_list, STAFF_GROUPS, 0,
     "Store groups (a store manager sees their store's, a guide their own)", "groups", SCOPE_CHAIN,
     SB_STORE, .query = "page store_id:int", .response = "Group[]", .answers = ANS_404},
    {"GET", "/api/v1/groups/{id}", h_groups_get, STAFF_GROUPS, 0,
     "A group: its people (members, non-members, staff) and its last 30 days", "groups",
     SCOPE_CHAIN, 0, .response = "GroupDetail", .answers = ANS_404},
    {"PATCH", "/api/v1/groups/{id}", h_groups_patch, MGR, ROUTE_WRITE | ROUTE_BODY,
     "Change a group's theme or cap", "groups", SCOPE_CHAIN, 0, .request = "GroupPatch",
     .response = "Group", .answers = ANS_404},
    {"GET", "/api/v1/groups/{id}/stats", h_groups_stats, STAFF_GROUPS, ROUTE_LONG,
     "A group's statistics per day: new members, quits, members, speakers, messages", "groups",
     SCOPE_CHAIN, 0, .query = "from:date to:date", .response = "GroupStats", .answers = ANS_404},
    {"POST", "/api/v1/group-codes", h_group_codes_create, MGR, ROUTE_WRITE | ROUTE_BODY,
     "Create a join code serving a store's groups of a theme (无限群)", "groups", SCOPE_CHAIN,
     SB_STORE, .request = "GroupCodeCreate", .response = "GroupCode", .answers = ANS_201},
    {"GET", "/api/v1/group-codes/{id}", h_group_codes_get, MGR, 0,
     "A join code and the group it points at now", "groups", SCOPE_CHAIN, 0,
     .response = "GroupCode", .answers = ANS_404},
    {"POST", "/api/v1/group-codes/{id}/scan", h_group_codes_scan, MGR, ROUTE_WRITE | ROUTE_BODY_OPT,
     "Which group a scan joins: a seat held for a few minutes (caps exact), or 503 while a new "
     "group is asked for",
     "groups", SCOPE_CHAIN, 0, .request = "GroupScan", .response = "GroupScanResult|GroupScanFull",
     .answers = ANS_201 | ANS_404 | ANS_503},
    {"GET", "/api/v1/group-requests", h_group_requests, HQ, 0,
     "The bridge's queue: new groups asked for by full codes", "groups", SCOPE_CHAIN, 0,
     .query = "page pending:int", .response = "GroupRequest[]"},
    {"POST", "/api/v1/group-sales", h_group_sales_create, STAFF_GROUPS, ROUTE_WRITE | ROUTE_BODY,
     "A group sale session: groups, a time window and the SKUs promoted", "groups", SCOPE_CHAIN, 0,
     .request = "GroupSaleCreate", .response = "GroupSale", .answers = ANS_201 | ANS_422},
    {"GET", "/api/v1/group-sales/{id}/report", h_group_sales_report, STAFF_GROUPS, ROUTE_LONG,
     "A group sale session's orders and sales by SKU, net of refunds, and its 2:80", "groups",
     SCOPE_CHAIN, 0, .response = "GroupSaleReport", .answers = ANS_404},
    {"GET", "/api/v1/reports/groups", h_report_groups, STAFF_GROUPS, ROUTE_LONG,
     "The group leaderboard and roll-ups per store, guide, theme and the chain", "groups",
     SCOPE_CHAIN, SB_STORE, .query = "from:date to:date store:int within_days:int source:view|sql",
     .response = "GroupsReport", .answers = ANS_404},
    /* guides (issue 15): task campaigns, mass messages, content, the workbench (docs/tasks.md) */
    {"POST", "/api/v1/task-campaigns", h_task_campaigns_create, MGR, ROUTE_WRITE | ROUTE_BODY,
     "Launch a task campaign (SOP): one task per targeted member on their credited guide", "tasks",
     SCOPE_CHAIN, 0, .request = "TaskCampaignCreate", .response = "TaskCampaign",
     .answers = ANS_201 | ANS_404},
    {"GET", "/api/v1/task-campaigns/{id}", h_task_campaigns_get, MGR, 0,
     "A task campaign: its rule and what its rounds made", "tasks", SCOPE_CHAIN, 0,
     .response = "TaskCampaign"},
    {"GET", "/api/v1/task-campaigns/{id}/report", h_task_campaigns_report, MGR, ROUTE_LONG,
     "Tasks done, on time and late by store, guide and region, outcomes, uplift vs the holdout",
     "tasks", SCOPE_CHAIN, 0, .response = "TaskCampaignReport"},
    {"POST", "/api/v1/tasks/{id}/reassign", h_tasks_reassign, MGR, ROUTE_WRITE | ROUTE_BODY,
     "Give an open task to another guide (a store manager: among their guides)", "tasks",
     SCOPE_TASK, SB_GUIDE, .request = "TaskReassign", .response = "Task",
     .answers = ANS_404 | ANS_409},
    {"POST", "/api/v1/mass-messages", h_mass_messages_create, MGR, ROUTE_WRITE | ROUTE_BODY,
     "A message to a segment through each member's guide, under consent and the frequency cap",
     "tasks", SCOPE_CHAIN, SB_STORE, .request = "MassMessageCreate", .response = "TaskCampaign",
     .answers = ANS_201 | ANS_404},
    {"GET", "/api/v1/mass-messages/settings", h_mass_settings_get, ANY, 0,
     "The per-member WeCom frequency cap mass messages and journeys share", "tasks", SCOPE_CHAIN, 0,
     .response = "MassSettings"},
    {"PUT", "/api/v1/mass-messages/settings", h_mass_settings_put, HQ, ROUTE_WRITE | ROUTE_BODY,
     "Set the per-member WeCom frequency cap (per day, week, month)", "tasks", SCOPE_CHAIN, 0,
     .request = "MassSettings", .response = "MassSettings"},
    {"POST", "/api/v1/content", h_content_create, MGR, ROUTE_WRITE | ROUTE_BODY,
     "Add a script, moments copy, poster or mini-program link to the content library", "tasks",
     SCOPE_CHAIN, 0, .request = "ContentCreate", .response = "Content", .answers = ANS_201},
    {"GET", "/api/v1/content", h_content_list, ANY, 0, "The content library, by tag", "tasks",
     SCOPE_CHAIN, 0, .query = "page tag", .response = "Content[]"},
    {"POST", "/api/v1/content/{id}/shares", h_content_share, ANY, ROUTE_WRITE | ROUTE_BODY_OPT,
     "Record a guide's use of content: sent to a member, or shared as a tracked link", "tasks",
     SCOPE_CHAIN, SB_GUIDE | SB_MEMBER, .request = "ContentShare", .response = "ContentUse",
     .answers = ANS_201 | ANS_404},
    {"POST", "/api/v1/content/views", h_content_views, HQ, ROUTE_WRITE | ROUTE_BODY,
     "Views of tracked links, one or a batch (idempotent by content)", "tasks", SCOPE_CHAIN, 0,
     .request = "ContentViews", .response = "ContentViewsResult", .answers = ANS_201 | ANS_404},
    {"GET", "/api/v1/content/{id}/stats", h_content_stats, ANY, ROUTE_LONG,
     "Uses, views, members reached, orders and sales attributed: which script sells", "tasks",
     SCOPE_CHAIN, 0, .response = "ContentStats"},
    {"GET", "/api/v1/workbench", h_workbench, ANY, ROUTE_LONG,
     "The guide's day: tasks due and overdue, members to call, new contacts, figures", "tasks",
     SCOPE_CHAIN, SB_GUIDE, .query = "guide_id:int no_purchase_days:int", .response = "Workbench"},
    /* fission (issue 17): invites and the referral graph, group-buy, assists (docs/fission.md) */
    {"PATCH", "/api/v1/campaigns/{id}", h_campaigns_patch, HQ, ROUTE_WRITE | ROUTE_BODY,
     "Rename a campaign, move its end or pause it (its rules never change)", "fission", SCOPE_CHAIN,
     0, .request = "CampaignPatch", .response = "Campaign", .answers = ANS_422},
    {"POST", "/api/v1/campaigns/{id}/invites", h_campaigns_invite, ANY, ROUTE_WRITE | ROUTE_BODY,
     "A member's invite link for an invite campaign, with its state (one per member)", "fission",
     SCOPE_CHAIN, SB_MEMBER, .request = "InviteCreate", .response = "Invite",
     .answers = ANS_201 | ANS_422},
    {"GET", "/api/v1/members/{id}/referrals", h_member_referrals, ANY, 0,
     "Who referred a member, its direct referees and everyone downstream, with net sales",
     "fission", SCOPE_MEMBER, 0, .response = "MemberReferrals"},
    {"GET", "/api/v1/reports/referrals", h_referrals_report, HQ, ROUTE_LONG,
     "K-factor and cycle time per campaign, channel and month; top KOLs by members and sales",
     "fission", SCOPE_CHAIN, 0, .query = "from:time to:time top:int", .response = "ReferralReport"},
    {"POST", "/api/v1/campaigns/{id}/teams", h_teams_open, ANY, ROUTE_WRITE | ROUTE_BODY,
     "Open a group-buy team: the leader with their paid order", "fission", SCOPE_CHAIN, SB_MEMBER,
     .request = "TeamOpen", .response = "Team", .answers = ANS_201 | ANS_422},
    {"POST", "/api/v1/teams/{id}/join", h_teams_join, ANY, ROUTE_WRITE | ROUTE_BODY,
     "Join a group-buy team with a paid order (never more than the team size)", "fission",
     SCOPE_CHAIN, SB_MEMBER, .request = "TeamJoin", .response = "Team",
     .answers = ANS_201 | ANS_409 | ANS_422},
    {"GET", "/api/v1/teams/{id}", h_teams_get, ANY, 0,
     "A group-buy team: its members, status and refund instructions", "fission", SCOPE_CHAIN, 0,
     .response = "Team"},
    {"POST", "/api/v1/campaigns/{id}/assists", h_assists_start, ANY, ROUTE_WRITE | ROUTE_BODY,
     "Start an assist (bargain) for a member (one per member and campaign)", "fission", SCOPE_CHAIN,
     SB_MEMBER, .request = "AssistStart", .response = "Assist", .answers = ANS_201 | ANS_422},
    {"POST", "/api/v1/assists/{id}/help", h_assists_help, ANY, ROUTE_WRITE | ROUTE_BODY,
     "Help an assist: the next planned cut (once per helper and campaign)", "fission", SCOPE_CHAIN,
     SB_MEMBER, .request = "AssistHelp", .response = "Assist", .answers = ANS_201 | ANS_422},
    {"GET", "/api/v1/assists/{id}", h_assists_get, ANY, 0,
     "An assist: its price now, helps and reward", "fission", SCOPE_CHAIN, 0, .response = "Assist"},
    {"POST", "/api/v1/campaigns/sweep", h_campaigns_sweep, HQ, ROUTE_WRITE,
     "Close teams and assists past their deadline (the background sweep does it too)", "fission",
     SCOPE_CHAIN, 0, .response = "FissionSweep"},
    /* staff lifecycle and transfers (issue 15 items 1 and 4, docs/guides.md) */
    {"POST", "/api/v1/staff/{id}/depart", h_staff_depart, ADMIN, ROUTE_WRITE | ROUTE_BODY,
     "A staff member departs: tokens revoked, no new tasks or scans, their customers transferred",
     "guides", SCOPE_STAFF, 0, .request = "StaffDepart", .response = "Staff",
     .answers = ANS_409 | ANS_422},
    {"POST", "/api/v1/transfers", h_transfers_create, MGR, ROUTE_WRITE | ROUTE_BODY,
     "Transfer a guide's customers (all, a list or a segment) to other guides", "guides",
     SCOPE_CHAIN, 0, .request = "TransferCreate", .response = "Transfer",
     .answers = ANS_201 | ANS_404 | ANS_422},
    {"GET", "/api/v1/transfers", h_transfers_list, MGR, 0,
     "Transfers, with their counts (guide_id: given or received)", "guides", SCOPE_CHAIN, SB_GUIDE,
     .query = "page guide_id:int", .response = "Transfer[]"},
    {"GET", "/api/v1/transfers/{id}", h_transfers_get, MGR, 0,
     "A transfer: counts and its items, a page at a time", "guides", SCOPE_CHAIN, 0,
     .query = "page", .response = "Transfer"},
    {"POST", "/api/v1/transfers/{id}/results", h_transfers_results, HQ, ROUTE_WRITE | ROUTE_BODY,
     "The bridge reports transfer results per customer: done, refused or failed", "guides",
     SCOPE_CHAIN, 0, .request = "TransferResults", .response = "Transfer",
     .answers = ANS_201 | ANS_409 | ANS_422},
    {"POST", "/api/v1/transfers/sweep", h_transfers_sweep, HQ, ROUTE_WRITE,
     "End as done the transfer items whose wait is over (the jobs' tick does it too)", "guides",
     SCOPE_CHAIN, 0, .response = "TransfersSwept"},
    {"GET", "/api/v1/bridge/messages", h_bridge_messages, HQ, 0,
     "What the bridge is asked to carry out in WeCom (transfer_customer), by cursor", "guides",
     SCOPE_CHAIN, 0, .query = "page", .response = "BridgeMessage[]"},
    {"GET", "/api/v1/guides/settings", h_guides_settings_get, MGR, 0,
     "Guides' settings: maximum customers per guide, a transfer's wait", "guides", SCOPE_CHAIN, 0,
     .response = "GuidesSettings"},
    {"PUT", "/api/v1/guides/settings", h_guides_settings_put, HQ, ROUTE_WRITE | ROUTE_BODY,
     "Set the maximum customers per guide and a transfer's wait", "guides", SCOPE_CHAIN, 0,
     .request = "GuidesSettings", .response = "GuidesSettings"},
    {"GET", "/api/v1/qr-campaigns", h_qr_campaigns, HQ, 0,
     "Per campaign: adds, new members, first orders, sales, acquisition cost per member", "guides",
     SCOPE_CHAIN, 0, .query = "campaign", .response = "QrCampaigns", .answers = ANS_404},
    {"GET", "/api/v1/reports/contacts", h_report_contacts, ANY, ROUTE_LONG,
     "Contacts per guide: live, added, lost (the customer deleted the guide) in a period",
     "reports", SCOPE_CHAIN, SB_STORE | SB_GUIDE,
     .query = "from:date! to:date! store:int guide:int store_id:int guide_id:int",
     .response = "ContactsReport"},
    /* the console's lists (issue 18): what the by-id routes read, a page at a time */
    {"GET", "/api/v1/task-campaigns", h_task_campaigns_list, MGR, 0,
     "Task campaigns by id (a store manager: HQ's and their store's)", "tasks", SCOPE_CHAIN, 0,
     .query = "page", .response = "TaskCampaign[]"},
    {"GET", "/api/v1/qr-codes", h_qr_codes_list, MGR, 0,
     "Channel QR codes by id, each with what it brought (a store manager: their store's)", "guides",
     SCOPE_CHAIN, 0, .query = "page", .response = "QrCodeListed[]"},
    /* fission (issue 17): refund instructions of failed group-buy teams, for the mall */
    {"GET", "/api/v1/refund-instructions", h_refunds_list, HQ, 0,
     "Refund instructions for the mall (a failed team's payments), by cursor; status=pending",
     "fission", SCOPE_CHAIN, 0, .query = "page status", .response = "RefundInstruction[]"},
    {"GET", "/api/v1/refund-instructions/{id}", h_refunds_get, HQ, 0,
     "A refund instruction: its order, amount, delivery to the mall and acknowledgement", "fission",
     SCOPE_CHAIN, 0, .response = "RefundInstruction"},
    {"POST", "/api/v1/refund-instructions/{id}/ack", h_refunds_ack, HQ,
     ROUTE_WRITE | ROUTE_BODY_OPT,
     "The mall acknowledges a refund instruction (made), with its reference; again: the same "
     "answer",
     "fission", SCOPE_CHAIN, 0, .request = "RefundAck", .response = "RefundInstruction",
     .answers = ANS_409},
    /* group SOPs (issue 16): weekly posts to groups as tasks for their owners */
    {"POST", "/api/v1/group-sops", h_group_sops_create, MGR, ROUTE_WRITE | ROUTE_BODY,
     "Schedule a weekly post to groups (a store's, a theme's or named ones): a group_post task "
     "per group on its owner",
     "groups", SCOPE_CHAIN, SB_STORE, .request = "GroupSopCreate", .response = "GroupSop",
     .answers = ANS_201 | ANS_422},
    {"GET", "/api/v1/group-sops", h_group_sops_list, MGR, 0,
     "Group SOPs (a store manager: their store's)", "groups", SCOPE_CHAIN, SB_STORE,
     .query = "page store_id:int", .response = "GroupSop[]"},
    {"GET", "/api/v1/group-sops/{id}", h_group_sops_get, MGR, 0,
     "A group SOP and the roll-up of its tasks: done, on time, late, expired", "groups",
     SCOPE_CHAIN, 0, .response = "GroupSop", .answers = ANS_404},
    {"PATCH", "/api/v1/group-sops/{id}", h_group_sops_patch, MGR, ROUTE_WRITE | ROUTE_BODY,
     "Pause or resume a group SOP, or change its text", "groups", SCOPE_CHAIN, 0,
     .request = "GroupSopPatch", .response = "GroupSop", .answers = ANS_404},
};
const int route_count = (int)(sizeof routes / sizeof *routes);
