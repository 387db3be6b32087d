/* openapi.c — the OpenAPI 3 document, generated from the route table itself, so it
 * can never list a route the server does not serve (a test checks both ways). */
#include <string.h>

#include "http/router.h"

static json_t *error_response(const char *what)
{
    return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", what, "content", "application/json",
                     "schema", "$ref", "#/components/schemas/Error");
}

json_t *openapi_document(void)
{
    json_t *paths = json_object();
    for (int i = 0; i < route_count; i++) {
        const route *rt = &routes[i];
        json_t *item = json_object_get(paths, rt->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, rt->pattern, item);
        }
        json_t *op = json_object();
        json_object_set_new(op, "summary", json_string(rt->summary));
        json_object_set_new(op, "tags", json_pack("[s]", rt->tag));
        /* who may call it, and the scope rule the pipeline applies (router.h) */
        json_t *roles = json_array();
        static const role all[] = {ROLE_ADMIN, ROLE_OPERATOR, ROLE_STORE_MANAGER, ROLE_GUIDE,
                                   ROLE_CASHIER};
        for (size_t k = 0; k < sizeof all / sizeof *all; k++)
            if (!(rt->flags & ROUTE_PUBLIC) && (rt->roles & all[k]))
                json_array_append_new(roles, json_string(role_name(all[k])));
        json_object_set_new(op, "x-roles", roles);
        json_object_set_new(op, "x-scope", json_string(route_scope_name(rt->scope)));
        json_t *params = json_array();
        if (strstr(rt->pattern, "{id}"))
            json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s, s:i}}", "name", "id",
                                                    "in", "path", "required", 1, "schema", "type",
                                                    "integer", "minimum", 1));
        if (strstr(rt->pattern, "{kind}"))
            json_array_append_new(
                params, json_pack("{s:s, s:s, s:b, s:{s:s, s:[s,s,s,s,s,s]}}", "name", "kind", "in",
                                  "path", "required", 1, "schema", "type", "string", "enum",
                                  "brands", "stores", "staff", "members", "orders", "events"));
        if (rt->flags & ROUTE_WRITE && !(rt->flags & ROUTE_SECRET))
            json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name",
                                                    "Idempotency-Key", "in", "header", "required",
                                                    0, "schema", "type", "string"));
        if (strcmp(rt->method, "GET") == 0 && !(rt->flags & ROUTE_PUBLIC) &&
            !strstr(rt->pattern, "{id}")) {
            json_array_append_new(params, json_pack("{s:s, s:s, s:{s:s, s:i, s:i}}", "name",
                                                    "limit", "in", "query", "schema", "type",
                                                    "integer", "minimum", 1, "maximum", 1000));
            json_array_append_new(params, json_pack("{s:s, s:s, s:{s:s}}", "name", "cursor", "in",
                                                    "query", "schema", "type", "string"));
        }
        if (json_array_size(params))
            json_object_set_new(op, "parameters", params);
        else
            json_decref(params);
        if (rt->flags & (ROUTE_BODY | ROUTE_BODY_OPT))
            json_object_set_new(op, "requestBody",
                                json_pack("{s:b, s:{s:{s:{s:s}}}}", "required",
                                          (rt->flags & ROUTE_BODY) != 0, "content",
                                          "application/json", "schema", "type", "object"));
        if (rt->flags & ROUTE_RAW)
            json_object_set_new(op, "requestBody",
                                json_pack("{s:b, s:{s:{s:{s:s}}}}", "required", 1, "content",
                                          "application/x-ndjson", "schema", "type", "string"));
        json_t *responses = json_object();
        json_object_set_new(responses, "200", json_pack("{s:s}", "description", "OK"));
        if (rt->flags & ROUTE_WRITE)
            json_object_set_new(responses, "201", json_pack("{s:s}", "description", "Created"));
        json_object_set_new(responses, "400", error_response("Invalid argument"));
        if (!(rt->flags & ROUTE_PUBLIC)) {
            json_object_set_new(responses, "401", error_response("No or bad token"));
            json_object_set_new(responses, "403", error_response("Role or scope does not allow"));
        } else {
            json_object_set_new(op, "security", json_array());
        }
        json_object_set_new(op, "responses", responses);
        char lower[8];
        size_t k = 0;
        for (; rt->method[k] && k < sizeof lower - 1; k++)
            lower[k] = (char)(rt->method[k] >= 'A' && rt->method[k] <= 'Z' ? rt->method[k] + 32
                                                                           : rt->method[k]);
        lower[k] = 0;
        json_object_set_new(item, lower, op);
    }
    return json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:{s:{s:s, s:s}}, s:{s:{s:s, s:{s:{s:s, s:{s:{s:s}, "
        "s:{s:s}, s:{s:s}}, s:[s,s]}}}}}, s:[{s:[]}]}",
        "openapi", "3.0.3", "info", "title", "siyu API", "version", SIYU_VERSION, "description",
        "Member operations for retail chains. Conventions: see docs/api.md.", "paths", paths,
        "components", "securitySchemes", "bearer", "type", "http", "scheme", "bearer", "schemas",
        "Error", "type", "object", "properties", "error", "type", "object", "properties", "code",
        "type", "string", "message", "type", "string", "field", "type", "string", "required",
        "code", "message", "security", "bearer");
}
