/* openapi.c — the OpenAPI 3.1 document, generated from the route table and the schemas
 * kept beside the routes (the .json files of src/http/schemas, embedded at build time), so it can
 * never list a route the server does not serve nor leave one out.
 *
 * Per route: an operationId made from the method and the pattern, its tag, the roles
 * that may call it (x-roles) and its scope rule (x-scope), the path and declared query
 * parameters, the body's schema, the success answer's schema and every status it may
 * answer, each error with the shared Error schema. docs/api.md "The contract" says how
 * it is checked. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "http/router.h"

extern const char *const openapi_schema_files[][2]; /* schemas_embed.c */

static json_t *components_cache;
static pthread_once_t components_once = PTHREAD_ONCE_INIT;

static void components_load(void)
{
    json_t *all = json_object();
    for (int i = 0; openapi_schema_files[i][0]; i++) {
        json_error_t je;
        json_t *f = json_loads(openapi_schema_files[i][1], 0, &je);
        if (!json_is_object(f)) {
            fprintf(stderr, "siyu: src/http/schemas/%s:%d: %s\n", openapi_schema_files[i][0],
                    je.line, je.text);
            json_decref(f);
            json_decref(all);
            return;
        }
        const char *k;
        json_t *v;
        json_object_foreach(f, k, v)
        {
            if (k[0] == '$') continue; /* "$comment" */
            json_object_set(all, k, v);
        }
        json_decref(f);
    }
    components_cache = all;
}

json_t *openapi_components(void)
{
    pthread_once(&components_once, components_load);
    return components_cache;
}

static json_t *ref(const char *kind, const char *name)
{
    char buf[160];
    snprintf(buf, sizeof buf, "#/components/%s/%s", kind, name);
    return json_pack("{s:s}", "$ref", buf);
}

/* getMembersByIdPoints: the method, then each segment after /api/v1 capitalised
 * ({id} is "ById", {kind} "ByKind"), '-' dropped. */
static void operation_id(const route *rt, char *out, size_t len)
{
    size_t n = 0;
    for (const char *m = rt->method; *m && n + 1 < len; m++)
        out[n++] = (char)(*m >= 'A' && *m <= 'Z' ? *m + 32 : *m);
    const char *p = rt->pattern;
    if (strncmp(p, "/api/v1", 7) == 0) p += 7;
    if (strcmp(p, "/") == 0 && n + 5 < len) {
        memcpy(out + n, "Root", 4);
        n += 4;
    }
    bool up = true;
    for (; *p && n + 3 < len; p++) {
        if (*p == '/' || *p == '-' || *p == '.' || *p == '_') {
            up = true;
            continue;
        }
        if (*p == '{') {
            out[n++] = 'B';
            out[n++] = 'y';
            up = true;
            continue;
        }
        if (*p == '}') continue;
        char c = *p;
        if (up && c >= 'a' && c <= 'z') c = (char)(c - 32);
        up = false;
        out[n++] = c;
    }
    out[n] = 0;
}

/* The schema of a declared query parameter's type. */
static json_t *param_schema(const route_param *p)
{
    if (strcmp(p->name, "limit") == 0)
        return json_pack("{s:s, s:i, s:i, s:i}", "type", "integer", "minimum", 1, "maximum", 1000,
                         "default", 50);
    if (strcmp(p->name, "cursor") == 0)
        return json_pack("{s:s, s:s}", "type", "string", "description",
                         "next_cursor of the previous page");
    if (strcmp(p->type, "int") == 0)
        return json_pack("{s:s, s:i}", "type", "integer", "minimum", 0);
    if (strcmp(p->type, "date") == 0)
        return json_pack("{s:s, s:s}", "type", "string", "format", "date");
    if (strcmp(p->type, "time") == 0)
        return json_pack("{s:s, s:s}", "type", "string", "format", "date-time");
    if (strcmp(p->type, "bool") == 0) return json_pack("{s:s}", "type", "boolean");
    if (strcmp(p->type, "string") == 0)
        return json_pack("{s:s, s:i}", "type", "string", "minLength", 1);
    json_t *values = json_array();
    char buf[sizeof p->type];
    snprintf(buf, sizeof buf, "%s", p->type);
    for (char *save = NULL, *w = strtok_r(buf, "|", &save); w; w = strtok_r(NULL, "|", &save))
        json_array_append_new(values, json_string(w));
    return json_pack("{s:s, s:o}", "type", "string", "enum", values);
}

/* A response schema: "Member", "Member[]" (a page), "A|B" (one of). */
static json_t *response_schema(const char *spec)
{
    char buf[200];
    snprintf(buf, sizeof buf, "%s", spec);
    json_t *alts = json_array();
    for (char *save = NULL, *w = strtok_r(buf, "|", &save); w; w = strtok_r(NULL, "|", &save)) {
        size_t n = strlen(w);
        if (n > 2 && strcmp(w + n - 2, "[]") == 0) {
            w[n - 2] = 0;
            json_array_append_new(
                alts,
                json_pack("{s:s, s:[s,s], s:{s:{s:s, s:o}, s:{s:[s,s], s:s}}}", "type", "object",
                          "required", "items", "next_cursor", "properties", "items", "type",
                          "array", "items", ref("schemas", w), "next_cursor", "type", "string",
                          "null", "description", "the cursor of the next page; null on the last"));
        } else {
            json_array_append_new(alts, ref("schemas", w));
        }
    }
    if (json_array_size(alts) == 1) {
        json_t *one = json_incref(json_array_get(alts, 0));
        json_decref(alts);
        return one;
    }
    return json_pack("{s:o}", "oneOf", alts);
}

/* The media type and schema of a success answer. */
static json_t *success_content(const route *rt)
{
    const char *spec = rt->response;
    if (!spec) return NULL;
    if (strchr(spec, '/')) /* a media type: text/html, text/csv, text/plain */
        return json_pack("{s:{s:{s:s}}}", spec, "schema", "type", "string");
    return json_pack("{s:{s:o}}", "application/json", "schema", response_schema(spec));
}

static void error_status(json_t *responses, const char *status, const char *name)
{
    json_object_set_new(responses, status, ref("responses", name));
}

static bool writes_with_key(const route *rt)
{
    return (rt->flags & ROUTE_WRITE) && !(rt->flags & ROUTE_SECRET);
}

static json_t *operation(const route *rt)
{
    json_t *op = json_object();
    char opid[160];
    operation_id(rt, opid, sizeof opid);
    json_object_set_new(op, "operationId", json_string(opid));
    json_object_set_new(op, "summary", json_string(rt->summary));
    json_object_set_new(op, "tags", json_pack("[s]", rt->tag));
    /* who may call it, and the scope rule the pipeline applies (router.h) */
    json_t *roles = json_array();
    static const role all[] = {ROLE_ADMIN, ROLE_OPERATOR, ROLE_STORE_MANAGER, ROLE_GUIDE,
                               ROLE_CASHIER};
    char desc[400];
    size_t dn = (size_t)snprintf(desc, sizeof desc, "%s.", rt->summary);
    if (rt->flags & ROUTE_PUBLIC) {
        snprintf(desc + dn, sizeof desc - dn, " No token needed.");
    } else {
        dn += (size_t)snprintf(desc + dn, sizeof desc - dn, " Roles:");
        for (size_t k = 0; k < sizeof all / sizeof *all; k++)
            if (rt->roles & all[k]) {
                json_array_append_new(roles, json_string(role_name(all[k])));
                if (dn < sizeof desc)
                    dn += (size_t)snprintf(desc + dn, sizeof desc - dn, " %s", role_name(all[k]));
            }
        if (dn < sizeof desc)
            snprintf(desc + dn, sizeof desc - dn, "; scope: %s.", route_scope_name(rt->scope));
    }
    json_object_set_new(op, "description", json_string(desc));
    json_object_set_new(op, "x-roles", roles);
    json_object_set_new(op, "x-scope", json_string(route_scope_name(rt->scope)));

    json_t *params = json_array();
    if (strstr(rt->pattern, "{id}"))
        json_array_append_new(params,
                              json_pack("{s:s, s:s, s:b, s:{s:s, s:i}}", "name", "id", "in", "path",
                                        "required", 1, "schema", "type", "integer", "minimum", 1));
    if (strstr(rt->pattern, "{kind}"))
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s, s:[s,s,s,s,s,s]}}", "name",
                                                "kind", "in", "path", "required", 1, "schema",
                                                "type", "string", "enum", "brands", "stores",
                                                "staff", "members", "orders", "events"));
    static const char *const words[] = {"code", "name", "file"};
    for (size_t k = 0; k < sizeof words / sizeof *words; k++) {
        char w[16];
        snprintf(w, sizeof w, "{%s}", words[k]);
        if (strstr(rt->pattern, w))
            json_array_append_new(params,
                                  json_pack("{s:s, s:s, s:b, s:{s:s, s:i, s:i}}", "name", words[k],
                                            "in", "path", "required", 1, "schema", "type", "string",
                                            "minLength", 1, "maxLength", 63));
    }
    route_param ps[32];
    char err[120];
    int np = route_query_parse(rt->query, ps, 32, err, sizeof err);
    for (int i = 0; i < np; i++) {
        json_t *p = json_pack("{s:s, s:s, s:o}", "name", ps[i].name, "in", "query", "schema",
                              param_schema(&ps[i]));
        if (ps[i].required) json_object_set_new(p, "required", json_true());
        json_array_append_new(params, p);
    }
    if (writes_with_key(rt))
        json_array_append_new(
            params, json_pack("{s:s, s:s, s:b, s:s, s:{s:s, s:i, s:i}}", "name", "Idempotency-Key",
                              "in", "header", "required", (rt->flags & ROUTE_IDEM) != 0,
                              "description", "a retry with the same key answers the first answer",
                              "schema", "type", "string", "minLength", 1, "maxLength", 200));
    if (json_array_size(params))
        json_object_set_new(op, "parameters", params);
    else
        json_decref(params);

    if (rt->flags & (ROUTE_BODY | ROUTE_BODY_OPT)) {
        json_t *schema =
            rt->request ? ref("schemas", rt->request) : json_pack("{s:s}", "type", "object");
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:o}}}", "required",
                                      (rt->flags & ROUTE_BODY) != 0, "content", "application/json",
                                      "schema", schema));
    }
    if (rt->flags & ROUTE_RAW) {
        const char *type =
            rt->request && strchr(rt->request, '/') ? rt->request : "application/x-ndjson";
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:{s:s}}}}", "required", 1, "content", type,
                                      "schema", "type", "string"));
    }

    json_t *responses = json_object();
    bool created = rt->answers & ANS_201, empty = rt->answers & ANS_204;
    json_t *content = success_content(rt);
    if ((!created && !empty) || writes_with_key(rt) || (rt->flags & ROUTE_KEYED)) {
        json_t *ok =
            json_pack("{s:s}", "description", created ? "OK (a replay of the first answer)" : "OK");
        if (content) json_object_set(ok, "content", content);
        json_object_set_new(responses, "200", ok);
    }
    if (created) {
        json_t *c = json_pack("{s:s}", "description", "Created");
        if (content) json_object_set(c, "content", content);
        json_object_set_new(responses, "201", c);
    }
    if (empty)
        json_object_set_new(responses, "204", json_pack("{s:s}", "description", "No content"));
    json_decref(content);
    error_status(responses, "400", "BadRequest");
    if (!(rt->flags & ROUTE_PUBLIC)) {
        error_status(responses, "401", "Unauthorized");
        error_status(responses, "403", "Forbidden");
    } else {
        json_object_set_new(op, "security", json_array());
    }
    if (strchr(rt->pattern, '{') || (rt->answers & ANS_404))
        error_status(responses, "404", "NotFound");
    if (writes_with_key(rt) || (rt->answers & ANS_409)) error_status(responses, "409", "Conflict");
    if (rt->flags & (ROUTE_BODY | ROUTE_BODY_OPT | ROUTE_RAW))
        error_status(responses, "413", "PayloadTooLarge");
    if (rt->answers & ANS_422) error_status(responses, "422", "Unprocessable");
    if (rt->answers & ANS_401) error_status(responses, "401", "Unauthorized");
    if (rt->answers & ANS_429) error_status(responses, "429", "TooManyRequests");
    if (rt->answers & ANS_503) {
        json_t *c = json_pack("{s:s}", "description", "Not ready");
        json_t *sc = success_content(rt);
        if (sc) json_object_set_new(c, "content", sc);
        json_object_set_new(responses, "503", c);
    }
    /* a fault in siyu (the store failed): the request wrote nothing */
    error_status(responses, "5XX", "InternalError");
    json_object_set_new(op, "responses", responses);
    return op;
}

static json_t *error_response(const char *what, const char *code, const char *message)
{
    return json_pack("{s:s, s:{s:{s:o, s:{s:{s:s, s:s}}}}}", "description", what, "content",
                     "application/json", "schema", ref("schemas", "Error"), "example", "error",
                     "code", code, "message", message);
}

json_t *openapi_document(void)
{
    json_t *paths = json_object();
    json_t *tags = json_array();
    for (int i = 0; i < route_count; i++) {
        const route *rt = &routes[i];
        json_t *item = json_object_get(paths, rt->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, rt->pattern, item);
        }
        char lower[8];
        size_t k = 0;
        for (; rt->method[k] && k < sizeof lower - 1; k++)
            lower[k] = (char)(rt->method[k] >= 'A' && rt->method[k] <= 'Z' ? rt->method[k] + 32
                                                                           : rt->method[k]);
        lower[k] = 0;
        json_object_set_new(item, lower, operation(rt));
        bool seen = false;
        size_t t;
        json_t *v;
        json_array_foreach(tags, t, v) seen |=
            strcmp(json_string_value(json_object_get(v, "name")), rt->tag) == 0;
        if (!seen) {
            char d[80];
            snprintf(d, sizeof d, "The %s routes", rt->tag);
            json_array_append_new(tags, json_pack("{s:s, s:s}", "name", rt->tag, "description", d));
        }
    }
    json_t *schemas = openapi_components();
    schemas = schemas ? json_incref(schemas) : json_object();
    json_t *responses = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "BadRequest",
        error_response("A bad body, field or query parameter (an unknown one included)",
                       "invalid_argument", "limit: must be between 1 and 1000"),
        "Unauthorized",
        error_response("No token, or a bad, revoked or expired one", "unauthenticated",
                       "a bearer token is required"),
        "Forbidden",
        error_response("The role or the scope does not allow it", "permission_denied",
                       "role guide may not call GET /api/v1/staff"),
        "NotFound", error_response("No such resource", "not_found", "no member 42"), "Conflict",
        error_response("A key already used by another request, or identities of two members",
                       "conflict", "Idempotency-Key: already used with a different body"),
        "PayloadTooLarge",
        error_response("The body is over its cap", "payload_too_large",
                       "body: larger than 1048576 bytes"),
        "Unprocessable",
        error_response("Well-formed but against a rule", "unprocessable",
                       "amount_cents: more than is left to refund"),
        "TooManyRequests",
        error_response("Refused for a while: a sign-in locked after repeated failures",
                       "rate_limited", "sign-in locked after 5 failures until …"),
        "InternalError",
        error_response("A fault in siyu (the store failed); the request wrote nothing", "internal",
                       "the store failed"));
    return json_pack(
        "{s:s, s:{s:s, s:s, s:s, s:{s:s, s:s}}, s:[{s:s, s:s}], s:o, s:o, "
        "s:{s:{s:{s:s, s:s}}, s:o, s:o}, s:[{s:[]}]}",
        "openapi", "3.1.0", "info", "title", "siyu API", "version", SIYU_VERSION, "description",
        "Member operations for retail chains. Conventions: docs/api.md.", "license", "name",
        "Proprietary", "identifier", "LicenseRef-siyu", "servers", "url", "http://127.0.0.1:8080",
        "description", "siyu serve (its --listen address)", "tags", tags, "paths", paths,
        "components", "securitySchemes", "bearer", "type", "http", "scheme", "bearer", "schemas",
        schemas, "responses", responses, "security", "bearer");
}
