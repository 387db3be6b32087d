/* internal.h — what the journey files share: the parsed definition and helpers. */
#ifndef SIYU_JOURNEY_INTERNAL_H
#define SIYU_JOURNEY_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "journey/journey.h"
#include "messaging/msg_guardrails.h"
#include "segment/eval.h"
#include "segment/expr.h"

#define J_MAX_STEPS 64
#define J_MAX_CHANNELS 4
#define J_ID_LEN 40

/* Trigger events, in the order of j_event_names. */
typedef enum j_event {
    J_EV_MEMBER_JOINED,
    J_EV_ORDER_PAID,
    J_EV_REFUND,
    J_EV_TIER_CHANGED,
    J_EV_COUPON_RECEIVED,
    J_EV_LIVE_VIEW,
    J_EV_JOINED_GROUP,
    J_EV_CONTACT_ADDED, /* a guide's WeCom contact added (src/guides): events row contact_added */
    J_EV__COUNT
} j_event;
extern const char *const j_event_names[]; /* NULL-terminated */

typedef enum j_trigger_kind {
    J_TRIG_EVENT,
    J_TRIG_AFTER_JOIN, /* N days after joining */
    J_TRIG_BIRTHDAY,   /* N days before the birthday */
    J_TRIG_FIXED_DATE,
    J_TRIG_INACTIVITY, /* no order for N days */
    J_TRIG_SCHEDULE,   /* daily at a local time, for a segment */
    J_TRIG_SEGMENT,    /* entered a segment (looked at every few minutes) */
} j_trigger_kind;

typedef enum j_step_kind {
    J_WAIT,
    J_BRANCH,
    J_SEND,
    J_COUPON,
    J_POINTS,
    J_TAG_ADD,
    J_TAG_REMOVE,
    J_TASK,
    J_EXIT,
} j_step_kind;

typedef struct j_step {
    char id[J_ID_LEN];
    j_step_kind kind;
    /* wait */
    int64_t duration;      /* seconds, 0: none */
    int64_t after_trigger; /* seconds after the run's trigger instant, -1: none */
    int until_minute;      /* local minute of day, -1: none */
    int for_event;         /* j_event, -1: none */
    int64_t timeout;       /* for_event / wecom confirmation, seconds */
    /* branch: jump to then/else (step index; -1 = the next step) */
    const char *expr; /* a segments.md expression over the member, or NULL */
    bool if_goal;     /* instead of expr: did the goal happen */
    int then_ix, else_ix;
    /* send */
    const char *channels[J_MAX_CHANNELS]; /* first, then the fallbacks */
    int n_channels;
    const char *template_text;
    json_t *wechat_template; /* {template_id, data: {name: template}} (borrowed), or NULL */
    /* coupon, points, tag, task */
    int64_t coupon_template;
    int64_t points;
    const char *reason, *tag, *script;
    int64_t due;
} j_step;

typedef struct j_spec {
    json_t *json; /* owns every string above */
    const char *name;
    j_trigger_kind trigger;
    int event;            /* J_TRIG_EVENT */
    int days;             /* after_join, birthday, inactivity */
    int32_t on_day;       /* fixed date */
    int at_minute;        /* schedule: local minute of day */
    const char *segment;  /* schedule's audience */
    const char *audience; /* optional expression checked on entry */
    enum { J_REENTER_ONCE, J_REENTER_ALWAYS, J_REENTER_COOLDOWN } reentry;
    int64_t reentry_days;
    int goal_event;      /* -1: no goal */
    int64_t goal_within; /* seconds after entry */
    int64_t holdout_pct;
    int64_t staleness; /* seconds: a send due longer ago is skipped */
    j_step steps[J_MAX_STEPS];
    int n_steps;
} j_spec;

/* Parses and validates; the spec borrows from (and keeps a reference to) json. */
int j_spec_parse(json_t *json, j_spec *out, siyu_err *e);
void j_spec_free(j_spec *s);
/* Loads the journey's current definition; -1 with not_found. */
int j_spec_load(dom *d, int64_t id, j_spec *out, char *state, size_t state_len, siyu_err *e);
int j_step_index(const j_spec *s, const char *id); /* -1 when gone */

/* ---- expressions and references (compile.c) ----
 * The expressions of a definition compiled against the member index: what the live
 * engine and the dry run both evaluate, so they cannot disagree. */
typedef struct j_compiled {
    seg_expr *audience;            /* NULL: everyone */
    seg_expr *segment;             /* entered_segment, or daily_at's segment */
    seg_expr *branch[J_MAX_STEPS]; /* a branch's if */
} j_compiled;
/* Compiles every expression of s against idx (tags and saved segments must exist);
 * -1 with the field named (audience, trigger.entered_segment, trigger.segment,
 * steps[i].if) and the parser's column when one is refused. */
int j_compile(const j_spec *s, struct seg_index *idx, j_compiled *out, siyu_err *e);
void j_compiled_free(j_compiled *c);
/* Does the member pass the audience? An evaluation error counts as no. */
bool j_admits(struct seg_index *idx, const j_compiled *c, int64_t member);
/* Who a date trigger (after_join, birthday, inactivity, fixed, daily) took `back` days
 * before the local day `today` (0: today; the index answers "days since" from today, so
 * the dry run asks with back > 0 where the engine asks with 0). */
int j_date_audience(const j_spec *s, const j_compiled *c, struct seg_index *idx, int32_t today,
                    int back, seg_audience *out, siyu_err *e);
/* Everything a definition names, checked: its expressions (syntax always; tags and
 * saved segments when idx is given), its coupon templates and its tags (existing,
 * manual) in the store. 0, or -1 with the field named. */
int j_spec_check_refs(dom *d, struct seg_index *idx, const j_spec *s, siyu_err *e);

/* ---- the engine's view of a member (engine.c) ---- */
/* Marks the journey's activation: it reacts to events committed from now on (and the
 * scheduler's cursors start here if it never ran). */
int j_activation_mark(dom *d, int64_t journey, siyu_err *e);
/* The member's channels, opt-outs and time zone as the send step sees them (no
 * history), for the dry run. */
void j_member_guard_state(dom *d, const msg_guard_settings *gs, int64_t member,
                          msg_member_state *out);

/* ---- intervals (report.c) ---- */
/* 95% (z = 1.96) Wilson score interval for x successes in n; n = 0 gives [0, 1]. */
void j_wilson(int64_t x, int64_t n, double z, double *lo, double *hi);
/* Newcombe's hybrid score interval (method 10) for p1 - p2 from two Wilson intervals. */
void j_newcombe(int64_t x1, int64_t n1, int64_t x2, int64_t n2, double z, double *lo, double *hi);

/* ---- templates (template.c) ---- */
/* Checks {{variables}}: known names, balanced braces; coupon.* only when the journey
 * issues a coupon before the send. */
int j_template_check(const char *text, bool has_coupon, const char *field, siyu_err *e);
/* Renders with the member's values; NULL when a value is missing (the caller skips). */
char *j_template_render(const char *text, json_t *vars);
/* A send step's WeChat template message {template_id, data: {name: template}}: checked
 * at save (v NULL: required, since the step may send on wechat_template), rendered at
 * send time into {template_id, data: {name: {value}}} — NULL when a value is missing. */
int j_wx_template_check(json_t *v, bool has_coupon, const char *field, siyu_err *e);
json_t *j_wx_template_render(json_t *v, json_t *vars);

/* ---- messages (outbox.c) ---- */
/* The member's address on a message channel, resolved from their identities when the
 * message is made: sms {phone}; wechat_template {openid, app_id}; wecom
 * {external_userid, userid} (the member's WeCom external id and their guide's userid,
 * the guide's staff code); webhook {member_id}. NULL when the member has none, with
 * *why saying what is missing ("no_phone", "no_openid", "no_wecom_external_id",
 * "no_guide_userid"). A new reference. */
json_t *j_message_address(dom *d, int64_t member, const char *channel, const char **why);

/* The chain's guardrail settings (journeys.c): the defaults of src/messaging, overridden
 * by what PUT /api/v1/journeys/guardrails stored. */
struct msg_guard_settings;
int journey_guardrails_load(dom *d, struct msg_guard_settings *out, siyu_err *e);

/* The member's consent as the guardrails read it, from the one consent model
 * (tasks.c): the message channels reachable after consent (msg_channel bits, webhook
 * always) and those with a withdrawn marketing consent. */
void j_member_consent(dom *d, int64_t member, uint32_t *reachable, uint32_t *opted_out);

/* Reachability channel a message channel needs (NULL: none, e.g. webhook). */
const char *j_reach_channel(const char *channel);
bool j_channel_known(const char *channel);

#endif
