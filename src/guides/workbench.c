/* workbench.c — the guide's day in one call: tasks due and overdue, the members to call
 * today and why, the new contacts to welcome, the reminders, and the guide's figures.
 *
 * A guide's customers are the members credited to them (bound guide) and their live
 * contacts. One query walks them with what each reason needs (churn risk from the
 * predictions, birthday, a coupon about to expire, the last order, WeCom reachability,
 * the orders credited to the guide in the last 30 days); the rest are small aggregates
 * over the guide's tasks and contact edges. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "guides/guides.h"
#include "journey/journey.h"

#define LIST_MAX 50
#define CHURN_P_ALIVE 0.5 /* below this the model thinks the member is more gone than not */

/* Days from local day `today` to the member's next birthday (0: today). */
static int days_to_birthday(int32_t birthday, int32_t today)
{
    int y, m, dd, ty, tm, td;
    date_civil(birthday, &y, &m, &dd);
    date_civil(today, &ty, &tm, &td);
    for (int year = ty; year <= ty + 1; year++) {
        int day = dd;
        if (m == 2 && dd == 29) {
            bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            if (!leap) day = 28;
        }
        int32_t next = date_from_civil(year, m, day);
        if (next >= today) return (int)(next - today);
    }
    return 366;
}

static json_t *task_list(dom *d, int64_t guide, int overdue, siyu_err *e)
{
    json_t *items = json_array();
    int64_t ids[LIST_MAX];
    int n = 0;
    store_stmt *s = store_q(d->conn, Q_WB_TASKS);
    store_bind_int(s, 1, guide);
    store_bind_int(s, 2, d->now);
    store_bind_int(s, 3, overdue);
    store_bind_int(s, 4, LIST_MAX);
    while (store_step(s) == STORE_ROW && n < LIST_MAX)
        ids[n++] = store_col_int(s, 0);
    store_reset(s);
    for (int i = 0; i < n; i++) {
        json_t *t = NULL;
        if (tasks_get(d, ids[i], &t, e) >= 0) json_array_append_new(items, t);
    }
    return items;
}

int guides_workbench(dom *d, int64_t guide, int64_t quiet_days, json_t **out, siyu_err *e)
{
    if (d->who.role == ROLE_GUIDE) {
        if (guide && guide != d->who.staff_id)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, "guide_id",
                                "guide_id: only your own workbench");
        guide = d->who.staff_id;
    }
    if (!guide)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "guide_id",
                            "guide_id: which guide's workbench (required for managers)");
    int64_t sid = 0;
    if (dom_require_staff(d, guide, NULL, "guide_id", &sid, e)) return -1;
    if (d->who.role == ROLE_STORE_MANAGER && sid != d->who.store_id)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, "guide_id",
                            "guide_id: a guide of another store");
    if (quiet_days <= 0) quiet_days = 60;
    int64_t since30 = d->now - 30 * 86400;
    json_t *o = json_object();
    json_object_set_new(o, "guide_id", json_integer(guide));
    store_stmt *s = store_q(d->conn, Q_STAFF_GET);
    store_bind_int(s, 1, guide);
    if (store_step(s) == STORE_ROW)
        json_object_set_new(o, "guide_name", json_string(store_col_text(s, 1)));
    store_reset(s);
    json_object_set_new(o, "at", dom_time(d->now));
    /* tasks */
    int64_t due_n = 0, overdue_n = 0;
    s = store_q(d->conn, Q_WB_TASK_COUNTS);
    store_bind_int(s, 1, guide);
    store_bind_int(s, 2, d->now);
    if (store_step(s) == STORE_ROW) due_n = store_col_int(s, 0), overdue_n = store_col_int(s, 1);
    store_reset(s);
    json_object_set_new(
        o, "tasks_due",
        json_pack("{s:I, s:o}", "count", (json_int_t)due_n, "items", task_list(d, guide, 0, e)));
    json_object_set_new(o, "tasks_overdue",
                        json_pack("{s:I, s:o}", "count", (json_int_t)overdue_n, "items",
                                  task_list(d, guide, 1, e)));
    /* the guide's customers */
    int32_t today = time_local_day(d->now);
    int64_t members = 0, reachable = 0, buyers = 0, sales = 0, churn = 0, bday = 0, coupons = 0,
            quiet = 0;
    json_t *call = json_array();
    s = store_q(d->conn, Q_WB_MEMBERS);
    store_bind_int(s, 1, guide);
    store_bind_int(s, 2, d->now);
    store_bind_int(s, 3, since30);
    while (store_step(s) == STORE_ROW) {
        members++;
        int64_t id = store_col_int(s, 0);
        json_t *why = json_array();
        if (!store_col_null(s, 3) && store_col_real(s, 3) < CHURN_P_ALIVE) {
            json_array_append_new(why, json_string("churn_risk"));
            churn++;
        }
        if (!store_col_null(s, 2) && days_to_birthday((int32_t)store_col_int(s, 2), today) < 7) {
            json_array_append_new(why, json_string("birthday_this_week"));
            bday++;
        }
        if (!store_col_null(s, 4)) {
            json_array_append_new(why, json_string("coupon_expiring"));
            coupons++;
        }
        if (!store_col_null(s, 5) && store_col_int(s, 5) < d->now - quiet_days * 86400) {
            json_array_append_new(why, json_string("no_purchase"));
            quiet++;
        }
        if (!store_col_null(s, 6) && store_col_int(s, 6)) reachable++;
        if (store_col_int(s, 7) > 0) buyers++;
        sales += store_col_int(s, 8);
        if (json_array_size(why) && json_array_size(call) < LIST_MAX) {
            json_t *m = json_pack("{s:I, s:o, s:o}", "member_id", (json_int_t)id, "name",
                                  dom_nullable_text(s, 1), "reasons", why);
            if (!store_col_null(s, 4))
                json_object_set_new(m, "coupon_expires_at", dom_time(store_col_int(s, 4)));
            if (!store_col_null(s, 5))
                json_object_set_new(m, "last_order_at", dom_time(store_col_int(s, 5)));
            json_array_append_new(call, m);
        } else {
            json_decref(why);
        }
    }
    store_reset(s);
    json_object_set_new(o, "members_to_call",
                        json_pack("{s:{s:I, s:I, s:I, s:I}, s:I, s:o}", "counts", "churn_risk",
                                  (json_int_t)churn, "birthday_this_week", (json_int_t)bday,
                                  "coupon_expiring", (json_int_t)coupons, "no_purchase",
                                  (json_int_t)quiet, "no_purchase_days", (json_int_t)quiet_days,
                                  "items", call));
    /* new contacts to welcome (the last 7 days) */
    json_t *fresh = json_array();
    s = store_q(d->conn, Q_WB_NEW_CONTACTS);
    store_bind_int(s, 1, guide);
    store_bind_int(s, 2, d->now - 7 * 86400);
    store_bind_int(s, 3, LIST_MAX);
    while (store_step(s) == STORE_ROW)
        json_array_append_new(
            fresh, json_pack("{s:I, s:o, s:o, s:o}", "member_id", (json_int_t)store_col_int(s, 0),
                             "name", dom_nullable_text(s, 1), "added_at",
                             dom_time(store_col_int(s, 2)), "state", dom_nullable_text(s, 3)));
    store_reset(s);
    json_object_set_new(o, "new_contacts", fresh);
    /* reminders of the last day */
    json_t *notices = json_array();
    s = store_q(d->conn, Q_NOTICES_OF);
    store_bind_int(s, 1, guide);
    store_bind_int(s, 2, d->now - 86400);
    while (store_step(s) == STORE_ROW) {
        json_t *n =
            json_pack("{s:I, s:s, s:o, s:o, s:I, s:o, s:o}", "id", (json_int_t)store_col_int(s, 0),
                      "kind", store_col_text(s, 1), "campaign_id", dom_nullable_int(s, 2),
                      "campaign", dom_nullable_text(s, 3), "tasks", (json_int_t)store_col_int(s, 4),
                      "due_at", store_col_null(s, 5) ? json_null() : dom_time(store_col_int(s, 5)),
                      "at", dom_time(store_col_int(s, 6)));
        json_array_append_new(notices, n);
    }
    store_reset(s);
    json_object_set_new(o, "reminders", notices);
    /* figures */
    int64_t live = 0, added = 0, lost = 0, done = 0, on_time = 0;
    s = store_q(d->conn, Q_WB_CONTACT_FIGURES);
    store_bind_int(s, 1, guide);
    store_bind_int(s, 2, since30);
    if (store_step(s) == STORE_ROW)
        live = store_col_int(s, 0), added = store_col_int(s, 1), lost = store_col_int(s, 2);
    store_reset(s);
    s = store_q(d->conn, Q_WB_TASKS_DONE);
    store_bind_int(s, 1, guide);
    store_bind_int(s, 2, since30);
    if (store_step(s) == STORE_ROW) done = store_col_int(s, 0), on_time = store_col_int(s, 1);
    store_reset(s);
    json_t *f = json_object();
    json_object_set_new(f, "members", json_integer(members));
    json_object_set_new(f, "contacts", json_integer(live));
    json_object_set_new(f, "contacts_added_30d", json_integer(added));
    json_object_set_new(f, "contacts_lost_30d", json_integer(lost));
    json_object_set_new(f, "online_rate",
                        members ? json_real((double)reachable / (double)members) : json_null());
    json_object_set_new(f, "tasks_done_30d", json_integer(done));
    json_object_set_new(f, "tasks_on_time_rate",
                        done ? json_real((double)on_time / (double)done) : json_null());
    json_object_set_new(f, "sales_cents_30d", json_integer(sales));
    json_object_set_new(f, "buyers_30d", json_integer(buyers));
    json_object_set_new(f, "conversion_30d",
                        members ? json_real((double)buyers / (double)members) : json_null());
    json_object_set_new(o, "figures", f);
    *out = o;
    return 200;
}

int tasks_check(store_conn *c, int max, json_t *v)
{
    store_stmt *s = store_q(c, Q_CHECK_TASKS);
    int found = 0;
    if (store_step(s) == STORE_ROW) {
        static const char *const what[] = {
            "guide tasks name a member that does not exist",
            "guide tasks name a guide that does not exist",
            "task campaigns count tasks they do not have",
            "task campaigns count held-out members they do not have"};
        for (int i = 0; i < 4; i++) {
            int64_t n = store_col_int(s, i);
            if (!n) continue;
            found++;
            if ((int)json_array_size(v) >= max) continue;
            char msg[160];
            snprintf(msg, sizeof msg, "%" PRId64 " %s", n, what[i]);
            json_array_append_new(v,
                                  json_pack("{s:s, s:s}", "check", "guide_tasks", "message", msg));
        }
    }
    store_reset(s);
    return found;
}

/* ---------------- the guide leaderboard ---------------- */

static int64_t net_of(json_t *row)
{
    return json_integer_value(json_object_get(row, "net_sales_cents"));
}

static void rerank(json_t *items, bool previous)
{
    size_t n = json_array_size(items);
    json_t **v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_array_get(items, i);
        v[i] = previous ? json_object_get(row, "previous") : row;
    }
    /* ranks by net sales, descending, ties sharing the rank (a stable count) */
    for (size_t i = 0; i < n; i++) {
        int64_t better = 0;
        for (size_t j = 0; j < n; j++)
            better += net_of(v[j]) > net_of(v[i]);
        json_object_set_new(v[i], "rank", json_integer(better + 1));
    }
    free(v);
}

void guides_leaderboard_decorate(dom *d, json_t *board, int64_t only_store, int64_t from,
                                 int64_t to)
{
    json_t *items = json_object_get(board, "items");
    json_t *kept = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(items, i, row)
    {
        int64_t g = json_integer_value(json_object_get(row, "guide_id"));
        int64_t sid = 0;
        store_stmt *s = store_q(d->conn, Q_STAFF_GET);
        store_bind_int(s, 1, g);
        if (store_step(s) == STORE_ROW) {
            json_object_set_new(row, "name", json_string(store_col_text(s, 1)));
            sid = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
        } else {
            json_object_set_new(row, "name", json_null());
        }
        store_reset(s);
        if (only_store && sid != only_store) continue;
        json_object_set_new(row, "store_id", sid ? json_integer(sid) : json_null());
        json_t *sname = json_null();
        if (sid) {
            s = store_q(d->conn, Q_STORE_GET);
            store_bind_int(s, 1, sid);
            if (store_step(s) == STORE_ROW) {
                json_decref(sname);
                sname = json_string(store_col_text(s, 1));
            }
            store_reset(s);
        }
        json_object_set_new(row, "store_name", sname);
        s = store_q(d->conn, Q_WB_CONTACT_FIGURES);
        store_bind_int(s, 1, g);
        store_bind_int(s, 2, from);
        if (store_step(s) == STORE_ROW) {
            json_object_set_new(row, "contacts", json_integer(store_col_int(s, 0)));
            json_object_set_new(row, "contacts_added", json_integer(store_col_int(s, 1)));
            json_object_set_new(row, "contacts_lost", json_integer(store_col_int(s, 2)));
        }
        store_reset(s);
        s = store_q(d->conn, Q_LB_TASKS);
        store_bind_int(s, 1, g);
        store_bind_int(s, 2, from);
        store_bind_int(s, 3, to);
        if (store_step(s) == STORE_ROW) {
            int64_t due = store_col_int(s, 0), done = store_col_int(s, 1),
                    on_time = store_col_int(s, 2);
            json_object_set_new(
                row, "tasks",
                json_pack("{s:I, s:I, s:I, s:o}", "due", (json_int_t)due, "done", (json_int_t)done,
                          "on_time", (json_int_t)on_time, "completion_rate",
                          due ? json_real((double)done / (double)due) : json_null()));
        }
        store_reset(s);
        json_array_append(kept, row);
    }
    if (only_store) {
        rerank(kept, false);
        rerank(kept, true);
    }
    json_object_set_new(board, "items", kept);
}

/* The guides' part of `siyu check`: the tasks' invariants, then the staff and transfers'. */
int guides_check(store_conn *c, int max, json_t *v)
{
    int tasks = tasks_check(c, max, v);
    if (tasks < 0) return tasks;
    int transfers = transfers_check(c, max > tasks ? max - tasks : 0, v);
    return transfers < 0 ? transfers : tasks + transfers;
}
