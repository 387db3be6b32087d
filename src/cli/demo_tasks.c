/* demo_tasks.c — the demo chain's guide tasks and content library (docs/tasks.md).
 *
 * Four items in the content library (a call script, moments copy, a poster, a mini-program
 * link). Ten days ago HQ launched a call campaign over stores 1–3 due two days later; the
 * guides did a fifth of it on time, a fifth late, skipped a fifth, and left the rest to expire.
 * Yesterday HQ launched a visit campaign over stores 4–5, due tomorrow: some done, the rest
 * open (and reminded). Store 1 posts to moments every week on today's weekday. Store 1's guides
 * used the script on their members five days ago and shared the poster, whose link was
 * viewed. So the tasks of every state, the reports, the workbench and "which script sells"
 * have something true to show. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "cli/demo.h"
#include "guides/guides.h"
#include "journey/journey.h"

#define DAY 86400

typedef int (*body_fn)(dom *d, json_t *body, json_t **out, siyu_err *e);

/* One domain call in its own savepoint; the id it answered (0 when the rules refused). */
static int64_t step(dom *d, body_fn fn, json_t *body, siyu_err *e, int *rc)
{
    json_t *out = NULL;
    siyu_err sub;
    siyu_err_init(&sub);
    int64_t id = 0;
    if (*rc == 0 && (*rc = store_savepoint(d->conn, e)) == 0) {
        int r = fn(d, body, &out, &sub);
        if (r >= 0) id = json_integer_value(json_object_get(out, "id"));
        *rc = demo_settle(d->conn, r, &sub, e);
        if (*rc > 0) *rc = 0; /* refused: skipped */
    }
    json_decref(out);
    json_decref(body);
    return id;
}

static int campaign(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    return task_campaigns_create(d, NULL, body, out, e);
}

/* The ids of a campaign's tasks, in order (at most cap). */
static size_t campaign_tasks(dom *d, int64_t camp, int64_t *ids, size_t cap)
{
    size_t n = 0;
    store_stmt *s = store_q(d->conn, Q_TASK_LIST);
    store_bind_int(s, 3, 0);
    store_bind_int(s, 4, 1000000);
    while (store_step(s) == STORE_ROW && n < cap)
        if (!store_col_null(s, 12) && store_col_int(s, 12) == camp) ids[n++] = store_col_int(s, 0);
    store_reset(s);
    return n;
}

static void act(dom *d, int64_t task, const char *action, const char *outcome, const char *note,
                siyu_err *e, int *rc)
{
    if (*rc) return;
    json_t *body = outcome ? json_pack("{s:s, s:s}", "outcome", outcome, "note", note) : NULL;
    json_t *out = NULL;
    siyu_err sub;
    siyu_err_init(&sub);
    if ((*rc = store_savepoint(d->conn, e)) == 0) {
        int r = tasks_act(d, task, action, body, &out, &sub);
        *rc = demo_settle(d->conn, r, &sub, e);
        if (*rc > 0) *rc = 0;
    }
    json_decref(out);
    json_decref(body);
}

int demo_tasks(store_t *st, siyu_err *e)
{
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    store_conn_cache(c, 64);
    int64_t now = clock_now();
    dom d = {.conn = c, .now = now - 12 * DAY};
    d.who.role = ROLE_ADMIN;
    int rc = store_begin(c, true, e);

    /* ---- the content library ---- */
    int64_t script = step(&d, content_create,
                          json_pack("{s:s, s:s, s:s, s:[s, s]}", "kind", "script", "title",
                                    "换季回访话术", "body",
                                    "{{member.name}}您好，我是{{store.name}}的{{guide.name}}，"
                                    "换季新品到店了，周末有空来试试吗？",
                                    "tags", "回访", "换季"),
                          e, &rc);
    step(&d, content_create,
         json_pack("{s:s, s:s, s:s, s:[s]}", "kind", "moments", "title", "周末朋友圈文案", "body",
                   "周末到{{store.name}}，新品八折，到店有惊喜～", "tags", "朋友圈"),
         e, &rc);
    int64_t poster =
        step(&d, content_create,
             json_pack("{s:s, s:s, s:s, s:[s, s]}", "kind", "poster", "title", "会员日海报", "url",
                       "https://cdn.example.com/posters/member-day.png", "tags", "会员日", "海报"),
             e, &rc);
    step(&d, content_create,
         json_pack("{s:s, s:s, s:s, s:[s]}", "kind", "miniprogram", "title", "积分商城", "url",
                   "https://mp.example.com/points-mall", "tags", "积分"),
         e, &rc);

    /* ---- ten days ago: a call campaign over stores 1–3, due two days later ---- */
    d.now = now - 10 * DAY;
    char due[40];
    time_format_rfc3339(d.now + 2 * DAY, due, sizeof due);
    int64_t call =
        step(&d, campaign,
             json_pack("{s:s, s:s, s:s, s:[I], s:{s:[i, i, i]}, s:s, s:i, s:i}", "name", "换季回访",
                       "kind", "call", "script",
                       "{{member.name}}您好，我是{{store.name}}的{{guide.name}}，换季新品到店了",
                       "content_ids", (json_int_t)script, "target", "store_ids", 1, 2, 3, "due",
                       due, "holdout_pct", 10, "window_days", 14),
             e, &rc);
    size_t cap = 200000, n = 0;
    int64_t *ids = malloc(cap * sizeof *ids);
    if (call && rc == 0) n = campaign_tasks(&d, call, ids, cap);
    /* the guides work: on time (a day later), late (three days later), skipped, expired */
    for (size_t i = 0; i < n && rc == 0; i++) {
        switch (i % 5) {
        case 0:
            d.now = now - 9 * DAY;
            act(&d, ids[i], "done", i % 10 ? "done" : "unreachable", "电话回访，约了周末到店", e,
                &rc);
            break;
        case 1:
            d.now = now - 7 * DAY;
            act(&d, ids[i], "done", i % 3 ? "done" : "refused", "晚了两天才联系上", e, &rc);
            break;
        case 2:
            d.now = now - 8 * DAY;
            act(&d, ids[i], "skip", NULL, NULL, e, &rc);
            break;
        default:
            break;
        }
    }

    /* ---- yesterday: a visit campaign over stores 4–5, due tomorrow ---- */
    d.now = now - DAY;
    time_format_rfc3339(now + DAY, due, sizeof due);
    int64_t visit =
        step(&d, campaign,
             json_pack("{s:s, s:s, s:s, s:{s:[i, i]}, s:s}", "name", "会员日邀约", "kind", "visit",
                       "script", "{{member.name}}，会员日积分翻倍，欢迎到{{store.name}}", "target",
                       "store_ids", 4, 5, "due", due),
             e, &rc);
    n = visit && rc == 0 ? campaign_tasks(&d, visit, ids, cap) : 0;
    d.now = now - 3600;
    for (size_t i = 0; i < n && rc == 0; i += 3)
        act(&d, ids[i], "done", "done", "已邀约", e, &rc);

    /* ---- store 1's guides use the script and share the poster (five days ago) ---- */
    d.now = now - 5 * DAY;
    store_stmt *s = rc ? NULL : store_q(c, Q_TASK_LIST);
    size_t k = 0;
    if (s) {
        /* the members of the call campaign's done tasks in store 1 */
        store_bind_int(s, 3, 0);
        store_bind_int(s, 4, 1000000);
        while (store_step(s) == STORE_ROW && k < 200)
            if (!store_col_null(s, 12) && store_col_int(s, 12) == call && !store_col_null(s, 13) &&
                store_col_int(s, 13) == 1 && strcmp(store_col_text(s, 9), "done") == 0)
                ids[k++] = store_col_int(s, 2);
        store_reset(s);
    }
    for (size_t i = 0; i < k && rc == 0 && script; i++) {
        int64_t member = ids[i];
        json_t *body = json_pack("{s:s, s:I}", "kind", "sent", "member_id", (json_int_t)member);
        json_t *out = NULL;
        siyu_err sub;
        siyu_err_init(&sub);
        if ((rc = store_savepoint(c, e)) == 0) {
            int r = content_share(&d, script, body, &out, &sub);
            rc = demo_settle(c, r, &sub, e);
            if (rc > 0) rc = 0;
        }
        json_decref(out);
        json_decref(body);
    }
    if (poster && rc == 0) {
        json_t *out = NULL;
        siyu_err sub;
        siyu_err_init(&sub);
        json_t *body = json_pack("{s:s, s:i}", "kind", "shared", "guide_id", 21);
        if ((rc = store_savepoint(c, e)) == 0) {
            int r = content_share(&d, poster, body, &out, &sub);
            rc = demo_settle(c, r, &sub, e);
            if (rc > 0) rc = 0;
        }
        json_decref(body);
        const char *token = json_string_value(json_object_get(out, "token"));
        for (int i = 0; token && i < 30 && rc == 0; i++) {
            char at[40];
            time_format_rfc3339(now - 5 * DAY + 3600 * (i + 1), at, sizeof at);
            json_t *v = json_pack("{s:s, s:s}", "token", token, "at", at);
            if (i < (int)k) json_object_set_new(v, "member_id", json_integer(ids[i]));
            json_t *o2 = NULL;
            d.now = now - 4 * DAY;
            if ((rc = store_savepoint(c, e)) == 0) {
                int r = content_views(&d, v, &o2, &sub);
                rc = demo_settle(c, r, &sub, e);
                if (rc > 0) rc = 0;
            }
            json_decref(o2);
            json_decref(v);
        }
        json_decref(out);
    }

    /* ---- store 1 posts to moments every week on today's weekday ---- */
    d.now = now;
    int32_t today = time_local_day(now);
    int wd = (int)(((today % 7) + 7 + 3) % 7) + 1;
    step(&d, campaign,
         json_pack("{s:s, s:s, s:s, s:{s:[i]}, s:{s:i}, s:i}", "name", "每周朋友圈", "kind",
                   "moments", "script", "本周{{store.name}}新品上架，欢迎到店", "target",
                   "store_ids", 1, "recurring", "weekday", wd, "due_hours", 12),
         e, &rc);
    free(ids);

    /* ---- now: the tick expires the forgotten tasks and reminds the open ones ---- */
    if (rc == 0) rc = guides_tasks_tick(&d, NULL, NULL, e);
    if (rc == 0)
        rc = store_commit(c, e);
    else
        store_rollback(c);
    store_conn_close(c);
    return rc;
}
