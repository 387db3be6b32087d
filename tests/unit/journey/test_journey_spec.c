/* test_journey_spec.c — reading journey definitions, without a store.
 *
 * Durations and local times as an operator writes them; trigger defaults (re-entry per
 * trigger kind); branch targets resolved and only forward; templates checked when saved
 * (unknown variables, coupon variables before any coupon step); and step ids: a step
 * without an id is named by its content, so inserting other steps before it leaves its
 * id — and every run standing on it — where it was. */
#include <check.h>
#include <jansson.h>
#include <string.h>

#include "journey/internal.h"

static json_t *J(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    if (!v) abort();
    return v;
}

static int parse(const char *text, j_spec *s, siyu_err *e)
{
    json_t *v = J(text);
    siyu_err_clear(e);
    int rc = j_spec_parse(v, s, e);
    json_decref(v);
    return rc;
}

static void durations_and_defaults(void)
{
    j_spec s;
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(
        parse(
            "{\"name\":\"a\",\"trigger\":{\"date\":\"birthday\",\"days_before\":3},\"steps\":["
            "{\"action\":\"wait\",\"duration\":\"3d\"},{\"action\":\"wait\",\"duration\":\"12h\"},"
            "{\"action\":\"wait\",\"duration\":\"30m\"},{\"action\":\"wait\",\"duration\":90},"
            "{\"action\":\"wait\",\"until\":\"09:30\"},"
            "{\"action\":\"wait\",\"for_event\":\"order_paid\",\"timeout\":\"7d\"}]}",
            &s, &e),
        0);
    CHECK_INT_EQ(s.steps[0].duration, 3 * 86400);
    CHECK_INT_EQ(s.steps[1].duration, 12 * 3600);
    CHECK_INT_EQ(s.steps[2].duration, 30 * 60);
    CHECK_INT_EQ(s.steps[3].duration, 90);
    CHECK_INT_EQ(s.steps[4].until_minute, 9 * 60 + 30);
    CHECK_INT_EQ(s.steps[5].for_event, J_EV_ORDER_PAID);
    CHECK_INT_EQ(s.steps[5].timeout, 7 * 86400);
    /* a birthday journey: once a year by default (a 300-day cooldown), 10% holdout */
    CHECK_INT_EQ(s.trigger, J_TRIG_BIRTHDAY);
    CHECK_INT_EQ(s.days, 3);
    CHECK_INT_EQ(s.reentry, J_REENTER_COOLDOWN);
    CHECK_INT_EQ(s.reentry_days, 300);
    CHECK_INT_EQ(s.holdout_pct, 10);
    CHECK_INT_EQ(s.staleness, 24 * 3600);
    j_spec_free(&s);
    /* an event journey re-enters every time; inactivity once per lapse */
    CHECK_INT_EQ(parse("{\"name\":\"b\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{"
                       "\"action\":\"exit\"}]}",
                       &s, &e),
                 0);
    CHECK_INT_EQ(s.reentry, J_REENTER_ALWAYS);
    j_spec_free(&s);
    CHECK_INT_EQ(parse("{\"name\":\"c\",\"trigger\":{\"inactivity_days\":45},\"steps\":[{"
                       "\"action\":\"exit\"}]}",
                       &s, &e),
                 0);
    CHECK_INT_EQ(s.reentry, J_REENTER_COOLDOWN);
    CHECK_INT_EQ(s.reentry_days, 45);
    j_spec_free(&s);
}

static void errors(void)
{
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{\"action\":\"exit\"}]}", "name"},
        {"{\"name\":\"x\",\"steps\":[{\"action\":\"exit\"}]}", "trigger"},
        {"{\"name\":\"x\",\"trigger\":{\"date\":\"weekly\"},\"steps\":[{\"action\":\"exit\"}]}",
         "trigger.date"},
        {"{\"name\":\"x\",\"trigger\":{\"daily_at\":\"25:00\",\"segment\":\"orders > "
         "1\"},\"steps\":[{\"action\":\"exit\"}]}",
         "trigger.daily_at"},
        {"{\"name\":\"x\",\"trigger\":{\"daily_at\":\"10:00\"},\"steps\":[{\"action\":\"exit\"}]}",
         "trigger.segment"},
        {"{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[]}", "steps"},
        {"{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{\"action\":\"fly\"}]}",
         "steps[0].action"},
        {"{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{\"action\":\"wait\"}]"
         "}",
         "steps[0]"},
        {"{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{\"action\":\"wait\","
         "\"for_event\":\"refund\"}]}",
         "steps[0].timeout"},
        {"{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{\"action\":\"send_"
         "message\","
         "\"channel\":\"sms\",\"template\":\"{{coupon.code}}\"}]}",
         "steps[0].template"},
        {"{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{\"action\":\"send_"
         "message\","
         "\"channel\":\"sms\",\"fallback\":[\"pigeon\"],\"template\":\"hi\"}]}",
         "steps[0].fallback"},
        {"{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{\"action\":\"branch\","
         "\"if\":\"orders > 1\","
         "\"goto\":\"nowhere\"}]}",
         "steps[0].goto"},
        {"{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"holdout_pct\":80,\"steps\":[{"
         "\"action\":\"exit\"}]}",
         "holdout_pct"},
        {"{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"reentry\":{\"policy\":"
         "\"cooldown\"},"
         "\"steps\":[{\"action\":\"exit\"}]}",
         "reentry.days"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        j_spec s;
        siyu_err e;
        siyu_err_init(&e);
        CHECK_INT_EQ(parse(bad[i].body, &s, &e), -1);
        if (strcmp(e.field, bad[i].field) != 0) fprintf(stderr, "case %zu: %s\n", i, e.message);
        CHECK_STR_EQ(e.field, bad[i].field);
        j_spec_free(&s);
        siyu_err_clear(&e);
    }
    /* a coupon step before makes the coupon variables fine */
    j_spec s;
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(
        parse("{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":[{\"action\":"
              "\"issue_coupon\","
              "\"template_id\":1},{\"action\":\"send_message\",\"channel\":\"sms\",\"template\":"
              "\"券 {{coupon.code}} {{coupon.expires_on}}前有效\"}]}",
              &s, &e),
        0);
    j_spec_free(&s);
}

static void stable_ids(void)
{
    j_spec a, b;
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(parse("{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":["
                       "{\"action\":\"wait\",\"duration\":\"1d\"},"
                       "{\"action\":\"send_message\",\"channel\":\"sms\",\"template\":\"hi\"}]}",
                       &a, &e),
                 0);
    /* a step inserted at the front: the two old steps keep their ids */
    CHECK_INT_EQ(parse("{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":["
                       "{\"action\":\"award_points\",\"points\":5},"
                       "{\"action\":\"wait\",\"duration\":\"1d\"},"
                       "{\"action\":\"send_message\",\"channel\":\"sms\",\"template\":\"hi\"}]}",
                       &b, &e),
                 0);
    CHECK_STR_EQ(b.steps[1].id, a.steps[0].id);
    CHECK_STR_EQ(b.steps[2].id, a.steps[1].id);
    CHECK_INT_EQ(j_step_index(&b, a.steps[1].id), 2);
    CHECK(strcmp(b.steps[0].id, a.steps[0].id) != 0);
    j_spec_free(&a);
    j_spec_free(&b);
    /* identical steps get distinct ids; branch targets resolve to indexes */
    CHECK_INT_EQ(
        parse("{\"name\":\"x\",\"trigger\":{\"event\":\"order_paid\"},\"steps\":["
              "{\"action\":\"wait\",\"duration\":\"1d\"},{\"action\":\"wait\",\"duration\":\"1d\"},"
              "{\"action\":\"branch\",\"if_goal\":true,\"goto\":\"end\",\"else\":\"t\"},"
              "{\"id\":\"t\",\"action\":\"guide_task\",\"script\":\"回访\"},{\"id\":\"end\","
              "\"action\":\"exit\"}]}",
              &a, &e),
        0);
    CHECK(strcmp(a.steps[0].id, a.steps[1].id) != 0);
    CHECK_INT_EQ(a.steps[2].then_ix, 4);
    CHECK_INT_EQ(a.steps[2].else_ix, 3);
    CHECK_INT_EQ(a.steps[3].due, 2 * 86400);
    j_spec_free(&a);
}

/* Waits timed from the trigger: the field, its unit, its order, one kind per wait. */
static void after_trigger(void)
{
    j_spec s;
    siyu_err e;
    siyu_err_init(&e);
    CHECK_INT_EQ(parse("{\"name\":\"a\",\"trigger\":{\"event\":\"member_joined\"},\"steps\":["
                       "{\"action\":\"wait\",\"after_trigger\":\"3d\"},"
                       "{\"action\":\"wait\",\"duration\":\"1h\"},"
                       "{\"action\":\"wait\",\"after_trigger\":\"7d\"},"
                       "{\"action\":\"wait\",\"after_trigger\":\"7d\"}]}",
                       &s, &e),
                 0);
    CHECK_INT_EQ(s.steps[0].after_trigger, 3 * 86400);
    CHECK_INT_EQ(s.steps[1].after_trigger, -1);
    CHECK_INT_EQ(s.steps[1].duration, 3600);
    CHECK_INT_EQ(s.steps[2].after_trigger, 7 * 86400);
    CHECK_INT_EQ(s.steps[3].after_trigger, 7 * 86400);
    j_spec_free(&s);
    static const struct {
        const char *steps, *field;
    } bad[] = {
        {"{\"action\":\"wait\",\"after_trigger\":\"7 days\"}", "steps[0].after_trigger"},
        {"{\"action\":\"wait\",\"after_trigger\":-5}", "steps[0].after_trigger"},
        {"{\"action\":\"wait\",\"after_trigger\":\"7d\"},{\"action\":\"wait\",\"after_"
         "trigger\":\"3d\"}",
         "steps[1].after_trigger"},
        {"{\"action\":\"wait\",\"duration\":\"1d\",\"after_trigger\":\"3d\"}",
         "steps[0].after_trigger"},
        {"{\"action\":\"wait\",\"until\":\"10:00\",\"for_event\":\"order_paid\","
         "\"timeout\":\"1d\"}",
         "steps[0].for_event"},
        {"{\"action\":\"issue_coupon\",\"template_id\":0}", "steps[0].template_id"},
        {"{\"action\":\"add_tag\"}", "steps[0].tag"},
        {"{\"action\":\"award_points\",\"points\":0}", "steps[0].points"},
        {"{\"action\":\"guide_task\"}", "steps[0].script"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"name\":\"b\",\"trigger\":{\"event\":\"member_joined\"},\"steps\":[%s]}",
                 bad[i].steps);
        CHECK_INT_EQ(parse(text, &s, &e), -1);
        CHECK_STR_EQ(e.field, bad[i].field);
        j_spec_free(&s);
    }
    siyu_err_clear(&e);
}

int main(void)
{
    after_trigger();
    durations_and_defaults();
    errors();
    stable_ids();
    return CHECK_DONE();
}
