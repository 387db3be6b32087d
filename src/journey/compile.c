/* compile.c — what a definition names, checked and compiled once.
 *
 * A definition names expressions (the audience, a segment trigger, a branch's if),
 * coupon templates and tags. Saving checks them all and names the field of the first
 * that is wrong; activating checks them again (a tag or a template may have gone in
 * between). The engine and the dry run compile the expressions with the same function
 * and evaluate them with the same one, so what a dry run counts is who would enter. */
#include <stdio.h>
#include <string.h>

#include "base/timeutil.h"
#include "journey/internal.h"
#include "segment/index.h"

static int compile_one(const char *text, struct seg_index *idx, const char *field, seg_expr **out,
                       siyu_err *e)
{
    seg_error se;
    *out = NULL;
    if (seg_parse(text, idx, out, &se) == 0) return 0;
    return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: %s", field, se.msg);
}

int j_compile(const j_spec *s, struct seg_index *idx, j_compiled *out, siyu_err *e)
{
    memset(out, 0, sizeof *out);
    if (s->audience && compile_one(s->audience, idx, "audience", &out->audience, e)) goto fail;
    if (s->segment &&
        compile_one(s->segment, idx,
                    s->trigger == J_TRIG_SEGMENT ? "trigger.entered_segment" : "trigger.segment",
                    &out->segment, e))
        goto fail;
    for (int i = 0; i < s->n_steps; i++) {
        if (!s->steps[i].expr) continue;
        char f[32];
        snprintf(f, sizeof f, "steps[%d].if", i);
        if (compile_one(s->steps[i].expr, idx, f, &out->branch[i], e)) goto fail;
    }
    return 0;
fail:
    j_compiled_free(out);
    return -1;
}

void j_compiled_free(j_compiled *c)
{
    seg_expr_free(c->audience);
    seg_expr_free(c->segment);
    for (int i = 0; i < J_MAX_STEPS; i++)
        seg_expr_free(c->branch[i]);
    memset(c, 0, sizeof *c);
}

bool j_admits(struct seg_index *idx, const j_compiled *c, int64_t member)
{
    if (!c->audience) return true;
    if (!idx) return false;
    bool yes = false;
    seg_error se;
    if (seg_match(idx, c->audience, member, &yes, &se)) return false;
    return yes;
}

int j_date_audience(const j_spec *s, const j_compiled *c, struct seg_index *idx, int32_t today,
                    int back, seg_audience *out, siyu_err *e)
{
    memset(out, 0, sizeof *out);
    char text[200];
    int y, m, dd;
    switch (s->trigger) {
    case J_TRIG_AFTER_JOIN:
        snprintf(text, sizeof text, "joined_days = %d", s->days + back);
        break;
    case J_TRIG_BIRTHDAY:
        date_civil(today - back + s->days, &y, &m, &dd);
        snprintf(text, sizeof text, "birthday_month = %d and birthday_day = %d", m, dd);
        break;
    case J_TRIG_INACTIVITY:
        snprintf(text, sizeof text, "last_order_days = %d", s->days + back);
        break;
    case J_TRIG_FIXED_DATE:
        if (today - back != s->on_day) return 0; /* nobody on another day */
        snprintf(text, sizeof text, "orders >= 0");
        break;
    case J_TRIG_SCHEDULE:
    case J_TRIG_SEGMENT:
        text[0] = 0;
        break;
    default:
        snprintf(text, sizeof text, "orders >= 0");
    }
    seg_error se;
    seg_expr *ex = NULL;
    const seg_expr *use = c->segment;
    if (text[0]) {
        if (seg_parse(text, idx, &ex, &se))
            return siyu_err_set(e, SIYU_INTERNAL, "trigger", "trigger: %s", se.msg);
        use = ex;
    }
    if (!use) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "trigger", "trigger: no segment");
    int rc = seg_select(idx, use, NULL, out, &se);
    seg_expr_free(ex);
    if (rc)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "trigger.segment", "trigger.segment: %s",
                            se.msg);
    return 0;
}

int j_spec_check_refs(dom *d, struct seg_index *idx, const j_spec *s, siyu_err *e)
{
    j_compiled c;
    if (j_compile(s, idx, &c, e)) return -1;
    j_compiled_free(&c);
    for (int i = 0; i < s->n_steps; i++) {
        const j_step *st = &s->steps[i];
        char f[40];
        if (st->kind == J_COUPON) {
            snprintf(f, sizeof f, "steps[%d].template_id", i);
            store_stmt *q = store_q(d->conn, Q_CTEMPLATE_GET);
            store_bind_int(q, 1, st->coupon_template);
            bool found = store_step(q) == STORE_ROW;
            store_reset(q);
            if (!found)
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                                    "%s: no coupon template %lld (GET /api/v1/coupon-templates)", f,
                                    (long long)st->coupon_template);
        } else if (st->kind == J_TAG_ADD || st->kind == J_TAG_REMOVE) {
            snprintf(f, sizeof f, "steps[%d].tag", i);
            store_stmt *q = store_q(d->conn, Q_TAG_BY_NAME);
            store_bind_text(q, 1, st->tag);
            int64_t id = store_step(q) == STORE_ROW ? store_col_int(q, 0) : 0;
            store_reset(q);
            char kind[16] = "";
            if (id) {
                q = store_q(d->conn, Q_TAG_GET);
                store_bind_int(q, 1, id);
                if (store_step(q) == STORE_ROW)
                    snprintf(kind, sizeof kind, "%s", store_col_text(q, 2));
                store_reset(q);
            }
            if (!id)
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: no tag named \"%s\"", f,
                                    st->tag);
            if (strcmp(kind, "manual") != 0)
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                                    "%s: \"%s\" is a rule tag (its members follow its rule); "
                                    "a step can only add or remove a manual tag",
                                    f, st->tag);
        }
    }
    return 0;
}
