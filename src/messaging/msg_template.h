/* msg_template.h — message templates: `{{member.name}}您好，您的积分余额为{{points.balance}}`.
 *
 * A template is compiled once, when the operator saves it: compiling rejects malformed
 * braces, unknown variables and bad UTF-8 with an error naming the line, the column (in
 * characters, so a Chinese template points at the right place) and the variable. Rendering
 * the compiled form against a JSON object of values is then the only step left at send
 * time, and it fails only when a value is missing or unusable — never on syntax.
 *
 * Syntax (docs/messaging.md has the full rules):
 *   {{ name }}    a variable; spaces inside the braces are allowed; names are case-sensitive
 *   \{  \}  \\    a literal `{`, `}` or `\` (so `\{{` writes `{{`); any other `\` is literal
 *   a lone `{` or `}` is literal text; a `}}` outside a variable is an error
 *
 * Values are plain text: inserted once, never re-read as template syntax, with control
 * and text-direction characters replaced by a space (a value cannot break a line, forge a
 * second message or reverse the text). Escaping for a transport (JSON for webhooks, form
 * encoding for a gateway) is the adapter's job, not the template's. */
#ifndef SIYU_MESSAGING_MSG_TEMPLATE_H
#define SIYU_MESSAGING_MSG_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* The variables a template may use. The table in msg_template.c gives their names. */
typedef enum msg_var {
    MSG_VAR_MEMBER_NAME,       /* member.name */
    MSG_VAR_MEMBER_TIER,       /* member.tier */
    MSG_VAR_POINTS_BALANCE,    /* points.balance */
    MSG_VAR_COUPON_CODE,       /* coupon.code */
    MSG_VAR_COUPON_EXPIRES_ON, /* coupon.expires_on */
    MSG_VAR_STORE_NAME,        /* store.name */
    MSG_VAR_GUIDE_NAME,        /* guide.name */
    MSG_VAR_COUNT
} msg_var;

#define MSG_VAR_BIT(v) (1u << (unsigned)(v))
#define MSG_VAR_ALL ((1u << MSG_VAR_COUNT) - 1u)

#define MSG_TEMPLATE_MAX_BYTES 8192 /* source size cap */
#define MSG_TEMPLATE_MAX_VARS 64    /* placeholders per template */
#define MSG_VALUE_MAX_BYTES 512     /* one rendered value */
#define MSG_RENDER_MAX_BYTES 32768  /* one rendered message */

/* "member.name" …; NULL when out of range. */
const char *msg_var_name(msg_var v);
/* Exact lookup of len bytes; -1 when unknown. */
int msg_var_from_name(const char *name, size_t len);

typedef struct msg_template msg_template; /* opaque, immutable once compiled */

/* Compiles len bytes of src (need not be NUL-terminated). On success *out owns a new
 * template and 0 is returned; on failure *out is NULL, -1 is returned and e says why:
 * code invalid_argument, field "template", a message naming line, column and variable,
 * and details {"offset": byte offset, "line", "column", "variable"?} (JSON, owned by e). */
int msg_template_compile(const char *src, size_t len, msg_template **out, siyu_err *e);
/* Frees t; NULL is a no-op. */
void msg_template_free(msg_template *t);

/* The variables t uses, as MSG_VAR_BIT()s. */
uint32_t msg_template_vars(const msg_template *t);

/* Save-time check that every variable t uses is one the sending step can fill (e.g. the
 * coupon.* variables only after a step that issues a coupon). Returns 0, or -1 with e
 * naming the first variable not in `available` and its position, as compile does. */
int msg_template_check_available(const msg_template *t, uint32_t available, siyu_err *e);

/* Renders t with values: an object holding each variable either nested
 * ({"member": {"name": "王芳"}}) or under its dotted name ({"member.name": "王芳"}; this
 * form wins when both are present). A value is a string or an integer; null or absent is
 * missing. On success *out is a new NUL-terminated UTF-8 string (free() it) and 0 is
 * returned; on failure *out is NULL, -1 is returned, and e has field = the variable:
 * code unprocessable for a missing value, invalid_argument for one of the wrong type,
 * not UTF-8 or longer than MSG_VALUE_MAX_BYTES; details as compile. */
int msg_template_render(const msg_template *t, json_t *values, char **out, siyu_err *e);

#endif
