/* template.c — a journey's templates, through src/messaging's template compiler.
 *
 * Saving checks each template completely (syntax, known variables, and coupon.* only
 * after a step that issues a coupon) and names the step's field; sending renders with
 * the member's values and skips the member when one is missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/internal.h"
#include "messaging/msg_template.h"

int j_template_check(const char *text, bool has_coupon, const char *field, siyu_err *e)
{
    msg_template *t = NULL;
    siyu_err sub;
    siyu_err_init(&sub);
    uint32_t available = MSG_VAR_ALL;
    if (!has_coupon)
        available &= ~(MSG_VAR_BIT(MSG_VAR_COUPON_CODE) | MSG_VAR_BIT(MSG_VAR_COUPON_EXPIRES_ON));
    int rc = msg_template_compile(text, strlen(text), &t, &sub);
    if (rc == 0) rc = msg_template_check_available(t, available, &sub);
    msg_template_free(t);
    if (rc) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: %s%s", field, sub.message,
                     has_coupon || !strstr(sub.message, "coupon.")
                         ? ""
                         : " (coupon variables need an issue_coupon step before this one)");
        siyu_err_clear(&sub);
        return -1;
    }
    return 0;
}

char *j_template_render(const char *text, json_t *vars)
{
    msg_template *t = NULL;
    siyu_err e;
    siyu_err_init(&e);
    char *out = NULL;
    if (msg_template_compile(text, strlen(text), &t, &e) == 0)
        msg_template_render(t, vars, &out, &e);
    msg_template_free(t);
    siyu_err_clear(&e);
    return out;
}

/* ---------------- WeChat template messages ----------------
 * A send step that may go out on wechat_template carries
 *   "wechat_template": {"template_id": "…", "data": {"first": "{{member.name}}…", …}}
 * as WeChat's template messages do: the id of the template registered on the public
 * account and its named fields, each a template over the same variables. */

#define WX_MAX_FIELDS 16

int j_wx_template_check(json_t *v, bool has_coupon, const char *field, siyu_err *e)
{
    char f[96];
    if (!v)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field,
                            "%s: required to send on wechat_template: {template_id, data}", field);
    if (!json_is_object(v))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: an object {template_id, data}",
                            field);
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) if (strcmp(k, "template_id") != 0 && strcmp(k, "data") != 0)
    {
        snprintf(f, sizeof f, "%s.%s", field, k);
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: unknown field", f);
    }
    json_t *id = json_object_get(v, "template_id");
    snprintf(f, sizeof f, "%s.template_id", field);
    if (!json_is_string(id) || json_string_length(id) == 0 || json_string_length(id) > 128)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                            "%s: the template's id on the public account, 1 to 128 bytes", f);
    json_t *data = json_object_get(v, "data");
    snprintf(f, sizeof f, "%s.data", field);
    if (!json_is_object(data) || json_object_size(data) == 0 ||
        json_object_size(data) > WX_MAX_FIELDS)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                            "%s: an object of 1 to %d named fields, each a template", f,
                            WX_MAX_FIELDS);
    json_object_foreach(data, k, x)
    {
        snprintf(f, sizeof f, "%s.data.%s", field, k);
        if (!*k || strlen(k) > 32)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: a field name of 1 to 32 bytes",
                                f);
        if (!json_is_string(x) || json_string_length(x) == 0)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: a template text", f);
        if (j_template_check(json_string_value(x), has_coupon, f, e)) return -1;
    }
    return 0;
}

json_t *j_wx_template_render(json_t *v, json_t *vars)
{
    json_t *data = json_object();
    const char *k;
    json_t *x;
    json_object_foreach(json_object_get(v, "data"), k, x)
    {
        char *text = j_template_render(json_string_value(x), vars);
        if (!text) {
            json_decref(data);
            return NULL;
        }
        json_object_set_new(data, k, json_pack("{s:s}", "value", text));
        free(text);
    }
    return json_pack("{s:O, s:o}", "template_id", json_object_get(v, "template_id"), "data", data);
}
