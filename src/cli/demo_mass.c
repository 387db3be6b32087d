/* demo_mass.c — the demo chain's mass messages through guides (群发, docs/tasks.md).
 *
 * Runs after the guides' demo, whose QR codes brought customers in as WeCom contacts. Most of
 * those customers agreed to their guide's WeCom messages (the guide asked them, source
 * "guide"). Three days ago HQ sent "春季新品" to every one of them with a live contact: one
 * confirmable task per member on the guide of the credited edge, those without consent
 * skipped; the guides confirmed most (sent), skipped a few and left the rest open. The same
 * afternoon store 1 tried its own message to the same customers and the frequency cap (one a
 * day) held every one of them back; yesterday store 1's message went out. So the mass
 * message screens, the campaign report and the skipped counts have something true to show.
 * Everything goes through the domain calls the API uses. */
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "cli/demo.h"
#include "guides/guides.h"
#include "journey/journey.h"

#define DAY 86400

/* One domain call in its own savepoint; the campaign id it answered (0 when refused). */
static int64_t mass(dom *d, json_t *body, int *rc, siyu_err *e)
{
    json_t *out = NULL;
    siyu_err sub;
    siyu_err_init(&sub);
    int64_t id = 0;
    if (*rc == 0 && (*rc = store_savepoint(d->conn, e)) == 0) {
        int r = mass_messages_create(d, NULL, body, &out, &sub);
        if (r >= 0) id = json_integer_value(json_object_get(out, "id"));
        *rc = demo_settle(d->conn, r, &sub, e);
        if (*rc > 0) *rc = 0; /* refused: skipped */
    }
    json_decref(out);
    json_decref(body);
    return id;
}

static void act(dom *d, int64_t task, const char *action, int *rc, siyu_err *e)
{
    if (*rc) return;
    json_t *out = NULL;
    siyu_err sub;
    siyu_err_init(&sub);
    if ((*rc = store_savepoint(d->conn, e)) == 0) {
        int r = tasks_act(d, task, action, NULL, &out, &sub);
        *rc = demo_settle(d->conn, r, &sub, e);
        if (*rc > 0) *rc = 0;
    }
    json_decref(out);
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int demo_mass(store_t *st, siyu_err *e)
{
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    store_conn_cache(c, 64);
    int64_t now = clock_now();
    dom d = {.conn = c, .now = now - 4 * DAY};
    d.who.role = ROLE_ADMIN;
    int rc = store_begin(c, true, e);

    /* the members with a live contact edge (the codes' customers), once each */
    size_t n = 0, cap = 1024;
    int64_t *ids = malloc(cap * sizeof *ids);
    store_stmt *s = rc ? NULL : store_q(c, Q_TCAMP_CONTACTS_DUE);
    if (s) {
        store_bind_int(s, 1, 0);
        store_bind_int(s, 2, now);
        while (store_step(s) == STORE_ROW) {
            if (n == cap) ids = realloc(ids, (cap *= 2) * sizeof *ids);
            ids[n++] = store_col_int(s, 0);
        }
        store_reset(s);
    }
    if (n) qsort(ids, n, sizeof *ids, cmp_id);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (!u || ids[u - 1] != ids[i]) ids[u++] = ids[i];
    n = u;
    /* four in five agreed to their guide's WeCom messages, when they were added */
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i % 5 == 4) continue;
        if ((rc = store_savepoint(c, e)) == 0) {
            siyu_err sub;
            siyu_err_init(&sub);
            int r = dom_consent_put(&d, ids[i], "marketing", "wecom", true, "guide", "demo-1",
                                    d.now, &sub);
            rc = demo_settle(c, r < 0 ? -1 : 200, &sub, e);
            if (rc > 0) rc = 0;
        }
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_integer(ids[i]));
    free(ids);

    /* three days ago, 10:00: HQ's message to all of them */
    d.now = now - 3 * DAY;
    int64_t hq = n ? mass(&d,
                          json_pack("{s:s, s:s, s:O}", "name", "春季新品", "text",
                                    "{{member.name}}您好，春季新品已到{{store.name}}，"
                                    "回复“预约”为您留货～",
                                    "member_ids", list),
                          &rc, e)
                   : 0;
    /* the guides confirm most the same day, skip one in eight, leave one in six open */
    size_t tcap = 4096, nt = 0;
    int64_t *tasks = malloc(tcap * sizeof *tasks);
    if (hq && rc == 0) {
        s = store_q(c, Q_TASK_LIST);
        store_bind_int(s, 3, 0);
        store_bind_int(s, 4, 1000000);
        while (store_step(s) == STORE_ROW)
            if (!store_col_null(s, 12) && store_col_int(s, 12) == hq && nt < tcap)
                tasks[nt++] = store_col_int(s, 0);
        store_reset(s);
    }
    d.now = now - 3 * DAY + 4 * 3600;
    for (size_t i = 0; i < nt && rc == 0; i++) {
        if (i % 6 == 5) continue;
        act(&d, tasks[i], i % 8 == 3 ? "skip" : "confirm", &rc, e);
    }
    free(tasks);
    /* the same afternoon store 1's own message: the cap of one a day holds them back */
    d.now = now - 3 * DAY + 6 * 3600;
    if (n)
        mass(&d,
             json_pack("{s:s, s:s, s:O, s:i}", "name", "门店周末活动", "text",
                       "{{member.name}}，周末到{{store.name}}有惊喜", "member_ids", list,
                       "store_id", 1),
             &rc, e);
    /* yesterday it went out */
    d.now = now - DAY;
    if (n)
        mass(&d,
             json_pack("{s:s, s:s, s:O, s:i}", "name", "门店周末活动（补发）", "text",
                       "{{member.name}}，周末到{{store.name}}有惊喜", "member_ids", list,
                       "store_id", 1),
             &rc, e);
    json_decref(list);
    if (rc == 0)
        rc = store_commit(c, e);
    else
        store_rollback(c);
    store_conn_close(c);
    return rc;
}
