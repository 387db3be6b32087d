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
