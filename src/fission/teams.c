/* teams.c — group-buy teams (拼团) and assists (助力 / 砍价) (docs/fission.md).
 *
 * A seat in a team is taken by a guarded update (paid < size while open), so under any
 * number of concurrent joins a team never holds more than its size; the member's row
 * is keyed (team, member) and the order is unique, so nobody joins twice and no order
 * pays twice. An assist's cuts are planned when it starts (summing exactly to the price
 * minus the target); each help takes the next planned cut by a guarded update (helped <
 * helpers while open), so the last helper lands on the target exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "fission/internal.h"
#include "loyalty/loyalty.h"

int fission_assist_steps(int64_t total, int64_t n, bool random, int64_t min, int64_t max,
                         uint64_t (*rnd)(uint64_t), int64_t *out)
{
    if (n <= 0 || total < n) return -1;
    if (!random) {
        for (int64_t i = 0; i < n; i++)
            out[i] = total / n + (i < total % n ? 1 : 0);
        return 0;
    }
    if (min <= 0) min = 1;
    if (max <= 0) max = total;
    return games_split(total, n, min, max, rnd, out);
}

static int read_member(dom *d, json_t *body, const char *const *allowed, int64_t *member,
                       siyu_err *e)
{
    if (jx_only(body, allowed, NULL, e) || jx_int(body, "member_id", true, member, e) < 0)
        return -1;
    if (*member <= 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "member_id", "member_id: not a member id");
    *member = members_live_id(d, *member, "member_id", e);
    return *member < 0 ? -1 : 0;
}

/* ---------------- group-buy ---------------- */

/* The member's paid order by its external_id: id and what is still paid (total minus
 * refunded). */
static int paid_order(dom *d, int64_t member, const char *ext, int64_t price, int64_t *id,
                      int64_t *amount, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_FIS_ORDER_OF_MEMBER);
    store_bind_text(s, 1, ext);
    store_bind_int(s, 2, member);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "order",
                            "order: member %lld has no order %s (post it to /orders first)",
                            (long long)member, ext);
    }
    *id = store_col_int(s, 0);
    *amount = store_col_int(s, 1) - store_col_int(s, 2);
    store_reset(s);
    if (*amount < price)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "order",
                            "order: %s paid %lld cents, the group price is %lld", ext,
                            (long long)*amount, (long long)price);
    return 0;
}

static json_t *team_json(dom *d, int64_t id)
{
    store_stmt *s = store_q(d->conn, Q_FIS_TEAM_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return NULL;
    }
    json_t *o = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:o, s:o, s:o}", "id", (json_int_t)id, "campaign_id",
        (json_int_t)store_col_int(s, 0), "leader_id", (json_int_t)store_col_int(s, 1), "size",
        (json_int_t)store_col_int(s, 2), "paid", (json_int_t)store_col_int(s, 3), "virtual_members",
        (json_int_t)store_col_int(s, 4), "status", store_col_text(s, 5), "deadline",
        dom_time(store_col_int(s, 6)), "created_at", dom_time(store_col_int(s, 7)), "closed_at",
        store_col_null(s, 8) ? json_null() : dom_time(store_col_int(s, 8)));
    store_reset(s);
    json_t *m = json_array();
    s = store_q(d->conn, Q_FIS_TEAM_MEMBERS);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW)
        json_array_append_new(
            m, json_pack("{s:I, s:I, s:s, s:I, s:o}", "member_id", (json_int_t)store_col_int(s, 0),
                         "seq", (json_int_t)store_col_int(s, 1), "order", store_col_text(s, 2),
                         "amount_cents", (json_int_t)store_col_int(s, 3), "joined_at",
                         dom_time(store_col_int(s, 4))));
    store_reset(s);
    json_object_set_new(o, "members", m);
    json_t *r = json_array();
    s = store_q(d->conn, Q_FIS_TEAM_REFUNDS);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW)
        json_array_append_new(
            r, json_pack("{s:I, s:I, s:s, s:I, s:s, s:o}", "instruction_id",
                         (json_int_t)store_col_int(s, 0), "member_id",
                         (json_int_t)store_col_int(s, 1), "order", store_col_text(s, 2),
                         "amount_cents", (json_int_t)store_col_int(s, 3), "status",
                         store_col_text(s, 4), "created_at", dom_time(store_col_int(s, 5))));
    store_reset(s);
    json_object_set_new(o, "refunds", r);
    return o;
}

int fission_team_get(dom *d, int64_t team, json_t **out, siyu_err *e)
{
    json_t *o = team_json(d, team);
    if (!o) return siyu_err_set(e, SIYU_NOT_FOUND, "id", "team %lld not found", (long long)team);
    *out = o;
    return 200;
}

/* Takes a seat for member with their paid order; a 422 when the team is full or closed. */
static int seat(dom *d, int64_t team, int64_t size, int64_t member, const char *ext,
                int64_t order_id, int64_t amount, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_FIS_TEAM_SEAT);
    store_bind_int(s, 1, team);
    store_bind_int(s, 2, d->now);
    if (store_exec(s, e)) return -1;
    if (store_changes(d->conn) != 1) {
        siyu_err_set(e, SIYU_UNPROCESSABLE, "id", "team %lld is full or closed", (long long)team);
        json_decref(e->details);
        e->details = json_pack("{s:s}", "reason", "team_closed");
        return -1;
    }
    int64_t paid = 0;
    s = store_q(d->conn, Q_FIS_TEAM_GET);
    store_bind_int(s, 1, team);
    if (store_step(s) == STORE_ROW) paid = store_col_int(s, 3);
    store_reset(s);
    s = store_q(d->conn, Q_FIS_TEAM_MEMBER_INSERT);
    dom_note(d, DOM_CHANGE_MEMBER_360, member, 0); /* its campaigns in the 360 */
    store_bind_int(s, 1, team);
    store_bind_int(s, 2, member);
    store_bind_int(s, 3, paid);
    store_bind_int(s, 4, order_id);
    store_bind_text(s, 5, ext);
    store_bind_int(s, 6, amount);
    store_bind_int(s, 7, d->now);
    if (store_exec(s, e)) {
        if (e->code != SIYU_CONFLICT) return -1;
        siyu_err_clear(e);
        siyu_err_set(e, SIYU_CONFLICT, "order",
                     "order: %s already paid a seat, or the member is already in the team", ext);
        return -1;
    }
    if (paid >= size) {
        s = store_q(d->conn, Q_FIS_TEAM_CLOSE);
        store_bind_text(s, 1, "succeeded");
        store_bind_int(s, 2, 0);
        store_bind_int(s, 3, d->now);
        store_bind_int(s, 4, team);
        if (store_exec(s, e)) return -1;
    }
    dom_note(d, DOM_CHANGE_MEMBER, member, 0);
    return 0;
}

/* An existing seat of member in team: 200 with the team (a retry), or 409 when it was
 * taken with another order. */
static int already(dom *d, int64_t team, int64_t member, const char *ext, json_t **out, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_FIS_TEAM_SEAT_OF);
    store_bind_int(s, 1, team);
    store_bind_int(s, 2, member);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return 0;
    }
    bool same = strcmp(store_col_text(s, 0), ext) == 0;
    store_reset(s);
    if (!same)
        return siyu_err_set(e, SIYU_CONFLICT, "member_id",
                            "member_id: member %lld already joined team %lld", (long long)member,
                            (long long)team);
    if (out) *out = team_json(d, team);
    return 200;
}

int fission_team_open(dom *d, int64_t campaign, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"member_id", "order", NULL};
    int64_t member;
    const char *ext;
    if (read_member(d, body, allowed, &member, e) || jx_str(body, "order", true, &ext, e) < 0)
        return -1;
    fis_campaign c;
    if (fis_campaign_load(d, campaign, &c, e)) return -1;
    int rc = -1;
    int64_t price = fis_rule_int(c.rules, "price_cents", 0),
            size = fis_rule_int(c.rules, "team_size", 0),
            hours = fis_rule_int(c.rules, "hours", 24);
    int64_t order_id, amount;
    /* a retry of the same opening answers the team it opened */
    store_stmt *s = store_q(d->conn, Q_FIS_TEAM_BY_ORDER_EXT);
    store_bind_int(s, 1, campaign);
    store_bind_int(s, 2, member);
    store_bind_text(s, 3, ext);
    if (store_step(s) == STORE_ROW) {
        int64_t team = store_col_int(s, 0);
        store_reset(s);
        if (out) *out = team_json(d, team);
        rc = 200;
        goto done;
    }
    store_reset(s);
    if (fis_campaign_open(d, &c, "group_buy", e) ||
        paid_order(d, member, ext, price, &order_id, &amount, e))
        goto done;
    s = store_q(d->conn, Q_FIS_TEAM_INSERT);
    store_bind_int(s, 1, campaign);
    store_bind_int(s, 2, member);
    store_bind_int(s, 3, size);
    int64_t deadline = d->now + hours * 3600;
    if (c.ends_at && c.ends_at < deadline) deadline = c.ends_at;
    store_bind_int(s, 4, deadline);
    store_bind_int(s, 5, d->now);
    if (store_exec(s, e)) goto done;
    int64_t team = store_last_id(d->conn);
    if (seat(d, team, size, member, ext, order_id, amount, e)) goto done;
    if (out) *out = team_json(d, team);
    rc = 201;
done:
    fis_campaign_free(&c);
    return rc;
}

int fission_team_join(dom *d, int64_t team, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"member_id", "order", NULL};
    int64_t member;
    const char *ext;
    if (read_member(d, body, allowed, &member, e) || jx_str(body, "order", true, &ext, e) < 0)
        return -1;
    store_stmt *s = store_q(d->conn, Q_FIS_TEAM_GET);
    store_bind_int(s, 1, team);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "team %lld not found", (long long)team);
    }
    int64_t campaign = store_col_int(s, 0), size = store_col_int(s, 2),
            deadline = store_col_int(s, 6);
    char status[16];
    snprintf(status, sizeof status, "%s", store_col_text(s, 5));
    store_reset(s);
    int rc = already(d, team, member, ext, out, e);
    if (rc) return rc;
    if (strcmp(status, "open") != 0 || d->now >= deadline) {
        siyu_err_set(e, SIYU_UNPROCESSABLE, "id", "team %lld is %s", (long long)team,
                     strcmp(status, "open") ? status : "past its deadline");
        e->details = json_pack("{s:s}", "reason", "team_closed");
        return -1;
    }
    fis_campaign c;
    if (fis_campaign_load(d, campaign, &c, e)) return -1;
    int64_t price = fis_rule_int(c.rules, "price_cents", 0), order_id, amount;
    rc = -1;
    if (fis_campaign_open(d, &c, "group_buy", e) ||
        paid_order(d, member, ext, price, &order_id, &amount, e) ||
        seat(d, team, size, member, ext, order_id, amount, e))
        goto done;
    if (out) *out = team_json(d, team);
    rc = 201;
done:
    fis_campaign_free(&c);
    return rc;
}

/* ---------------- assists ---------------- */

static json_t *assist_json(dom *d, int64_t id)
{
    store_stmt *s = store_q(d->conn, Q_FIS_ASSIST_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return NULL;
    }
    json_t *o =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:o, s:o, s:o, s:o}", "id",
                  (json_int_t)id, "campaign_id", (json_int_t)store_col_int(s, 0), "member_id",
                  (json_int_t)store_col_int(s, 1), "price_cents", (json_int_t)store_col_int(s, 2),
                  "target_cents", (json_int_t)store_col_int(s, 3), "current_cents",
                  (json_int_t)store_col_int(s, 4), "helpers", (json_int_t)store_col_int(s, 5),
                  "helped", (json_int_t)store_col_int(s, 6), "status", store_col_text(s, 7),
                  "deadline", dom_time(store_col_int(s, 8)), "coupon_code", dom_nullable_text(s, 9),
                  "created_at", dom_time(store_col_int(s, 10)), "reached_at",
                  store_col_null(s, 11) ? json_null() : dom_time(store_col_int(s, 11)));
    json_object_set_new(o, "discount_cents",
                        json_integer(store_col_int(s, 2) - store_col_int(s, 4)));
    store_reset(s);
    json_t *h = json_array();
    s = store_q(d->conn, Q_FIS_ASSIST_HELPS);
    store_bind_int(s, 1, id);
    while (store_step(s) == STORE_ROW)
        json_array_append_new(
            h, json_pack("{s:I, s:I, s:I, s:o}", "member_id", (json_int_t)store_col_int(s, 0),
                         "seq", (json_int_t)store_col_int(s, 1), "cut_cents",
                         (json_int_t)store_col_int(s, 2), "at", dom_time(store_col_int(s, 3))));
    store_reset(s);
    json_object_set_new(o, "helps", h);
    return o;
}

int fission_assist_get(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    json_t *o = assist_json(d, id);
    if (!o) return siyu_err_set(e, SIYU_NOT_FOUND, "id", "assist %lld not found", (long long)id);
    *out = o;
    return 200;
}

int fission_assist_start(dom *d, int64_t campaign, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"member_id", NULL};
    int64_t member;
    if (read_member(d, body, allowed, &member, e)) return -1;
    fis_campaign c;
    if (fis_campaign_load(d, campaign, &c, e)) return -1;
    int rc = -1;
    int64_t *steps = NULL;
    store_stmt *s = store_q(d->conn, Q_FIS_ASSIST_OF);
    store_bind_int(s, 1, campaign);
    store_bind_int(s, 2, member);
    if (store_step(s) == STORE_ROW) { /* one assist per member and campaign */
        int64_t id = store_col_int(s, 0);
        store_reset(s);
        if (out) *out = assist_json(d, id);
        rc = 200;
        goto done;
    }
    store_reset(s);
    if (fis_campaign_open(d, &c, "assist", e)) goto done;
    int64_t price = fis_rule_int(c.rules, "price_cents", 0),
            target = fis_rule_int(c.rules, "target_cents", 0),
            n = fis_rule_int(c.rules, "helpers", 1), hours = fis_rule_int(c.rules, "hours", 48);
    const char *step = json_string_value(json_object_get(c.rules, "step"));
    steps = malloc((size_t)n * sizeof *steps);
    if (fission_assist_steps(price - target, n, step && strcmp(step, "random") == 0,
                             fis_rule_int(c.rules, "min_step_cents", 0),
                             fis_rule_int(c.rules, "max_step_cents", 0), games_random_below,
                             steps)) {
        siyu_err_set(e, SIYU_UNPROCESSABLE, "id", "campaign %lld: its steps cannot be planned",
                     (long long)campaign);
        goto done;
    }
    json_t *a = json_array();
    for (int64_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer(steps[i]));
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    int64_t deadline = d->now + hours * 3600;
    if (c.ends_at && c.ends_at < deadline) deadline = c.ends_at;
    s = store_q(d->conn, Q_FIS_ASSIST_INSERT);
    dom_note(d, DOM_CHANGE_MEMBER_360, member, 0); /* its campaigns in the 360 */
    store_bind_int(s, 1, campaign);
    store_bind_int(s, 2, member);
    store_bind_int(s, 3, price);
    store_bind_int(s, 4, target);
    store_bind_int(s, 5, n);
    store_bind_text(s, 6, text);
    store_bind_int(s, 7, deadline);
    store_bind_int(s, 8, d->now);
    int x = store_exec(s, e);
    free(text);
    if (x) goto done;
    if (out) *out = assist_json(d, store_last_id(d->conn));
    dom_note(d, DOM_CHANGE_MEMBER, member, 0);
    rc = 201;
done:
    free(steps);
    fis_campaign_free(&c);
    return rc;
}

static int assist_reached(dom *d, const fis_campaign *c, int64_t id, int64_t owner, siyu_err *e)
{
    char code[16] = "";
    const char *reward = json_string_value(json_object_get(c->rules, "reward"));
    if (reward && strcmp(reward, "coupon") == 0) {
        char ref[80];
        snprintf(ref, sizeof ref, "assist:%lld", (long long)id);
        siyu_err sub;
        siyu_err_init(&sub);
        if (loyalty_coupon_grant(d, fis_rule_int(c->rules, "coupon_template_id", 0), owner, ref,
                                 code, &sub) < 0) {
            bool internal = sub.code == SIYU_INTERNAL;
            if (internal) siyu_err_set(e, sub.code, NULL, "%s", sub.message);
            siyu_err_clear(&sub);
            if (internal) return -1;
            code[0] = 0; /* refused by the template: the discount stands, stated in the answer */
        }
        dom_note(d, DOM_CHANGE_LOYALTY, owner, 0);
    }
    store_stmt *s = store_q(d->conn, Q_FIS_ASSIST_CLOSE);
    store_bind_text(s, 1, "reached");
    if (code[0]) store_bind_text(s, 2, code);
    store_bind_int(s, 3, d->now);
    store_bind_int(s, 4, id);
    return store_exec(s, e);
}

int fission_assist_help(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"member_id", NULL};
    int64_t member;
    if (read_member(d, body, allowed, &member, e)) return -1;
    store_stmt *s = store_q(d->conn, Q_FIS_ASSIST_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "assist %lld not found", (long long)id);
    }
    int64_t campaign = store_col_int(s, 0), owner = store_col_int(s, 1),
            helpers = store_col_int(s, 5), helped = store_col_int(s, 6),
            deadline = store_col_int(s, 8), created = store_col_int(s, 10);
    char status[16];
    snprintf(status, sizeof status, "%s", store_col_text(s, 7));
    json_t *steps = json_loads(store_col_text(s, 12), 0, NULL);
    store_reset(s);
    int rc = -1;
    fis_campaign c = {0};
    /* a helper helps once per campaign: the same help again answers the assist */
    s = store_q(d->conn, Q_FIS_HELP_OF);
    store_bind_int(s, 1, campaign);
    store_bind_int(s, 2, member);
    if (store_step(s) == STORE_ROW) {
        bool same = store_col_int(s, 0) == id;
        store_reset(s);
        if (!same) {
            siyu_err_set(e, SIYU_UNPROCESSABLE, "member_id",
                         "member_id: member %lld already helped in campaign %lld",
                         (long long)member, (long long)campaign);
            e->details = json_pack("{s:s}", "reason", "helped_once");
            goto done;
        }
        if (out) *out = assist_json(d, id);
        rc = 200;
        goto done;
    }
    store_reset(s);
    if (member == owner) {
        siyu_err_set(e, SIYU_UNPROCESSABLE, "member_id",
                     "member_id: the member who started the assist cannot help it");
        e->details = json_pack("{s:s}", "reason", "own_assist");
        goto done;
    }
    if (strcmp(status, "open") != 0 || d->now >= deadline || helped >= helpers) {
        siyu_err_set(e, SIYU_UNPROCESSABLE, "id", "assist %lld is %s", (long long)id,
                     strcmp(status, "open") ? status : "past its deadline");
        e->details = json_pack("{s:s}", "reason", "assist_closed");
        goto done;
    }
    if (fis_campaign_load(d, campaign, &c, e) || fis_campaign_open(d, &c, "assist", e)) goto done;
    if (json_is_true(json_object_get(c.rules, "new_members_only"))) {
        /* a new member: joined after the assist started, and no order before it */
        s = store_q(d->conn, Q_FIS_MEMBER_NEW_SINCE);
        store_bind_int(s, 1, member);
        store_bind_int(s, 2, created);
        bool fresh = store_step(s) == STORE_ROW && store_col_int(s, 0) != 0;
        store_reset(s);
        if (!fresh) {
            siyu_err_set(e, SIYU_UNPROCESSABLE, "member_id",
                         "member_id: only members new since the assist started may help");
            e->details = json_pack("{s:s}", "reason", "not_new_member");
            goto done;
        }
    }
    int64_t cut = json_integer_value(json_array_get(steps, (size_t)helped));
    s = store_q(d->conn, Q_FIS_ASSIST_CUT);
    store_bind_int(s, 1, cut);
    store_bind_int(s, 2, id);
    store_bind_int(s, 3, helped);
    if (store_exec(s, e)) goto done;
    if (store_changes(d->conn) != 1) {
        siyu_err_set(e, SIYU_UNPROCESSABLE, "id", "assist %lld is closed", (long long)id);
        goto done;
    }
    s = store_q(d->conn, Q_FIS_HELP_INSERT);
    dom_note(d, DOM_CHANGE_MEMBER_360, member, 0); /* its campaigns in the 360 */
    store_bind_int(s, 1, id);
    store_bind_int(s, 2, campaign);
    store_bind_int(s, 3, member);
    store_bind_int(s, 4, helped + 1);
    store_bind_int(s, 5, cut);
    store_bind_int(s, 6, d->now);
    if (store_exec(s, e)) goto done;
    if (helped + 1 == helpers && assist_reached(d, &c, id, owner, e)) goto done;
    dom_note(d, DOM_CHANGE_MEMBER, member, 0);
    if (out) {
        *out = assist_json(d, id);
        json_object_set_new(*out, "cut_cents", json_integer(cut));
    }
    rc = 201;
done:
    json_decref(steps);
    fis_campaign_free(&c);
    return rc;
}

/* ---------------- deadlines ---------------- */

static int team_fail(dom *d, int64_t team, bool virtual_ok, int64_t size, int64_t paid, siyu_err *e)
{
    store_stmt *s;
    if (virtual_ok && paid > 0) {
        s = store_q(d->conn, Q_FIS_TEAM_CLOSE);
        store_bind_text(s, 1, "succeeded");
        store_bind_int(s, 2, size - paid);
        store_bind_int(s, 3, d->now);
        store_bind_int(s, 4, team);
        return store_exec(s, e);
    }
    s = store_q(d->conn, Q_FIS_TEAM_CLOSE);
    store_bind_text(s, 1, "failed");
    store_bind_int(s, 2, 0);
    store_bind_int(s, 3, d->now);
    store_bind_int(s, 4, team);
    if (store_exec(s, e)) return -1;
    /* every payment goes back: one refund instruction per member to the mall */
    s = store_q(d->conn, Q_FIS_TEAM_REFUND_ALL);
    store_bind_int(s, 1, d->now);
    store_bind_int(s, 2, team);
    return store_exec(s, e);
}

int fission_sweep(dom *d, int limit, json_t **out, siyu_err *e)
{
    int64_t failed = 0, virt = 0, expired = 0;
    int64_t ids[1000], sizes[1000], paids[1000], camps[1000];
    int n = 0;
    store_stmt *s = store_q(d->conn, Q_FIS_TEAMS_DUE);
    store_bind_int(s, 1, d->now);
    store_bind_int(s, 2, limit > 0 && limit < 1000 ? limit : 1000);
    while (store_step(s) == STORE_ROW && n < 1000) {
        ids[n] = store_col_int(s, 0);
        camps[n] = store_col_int(s, 1);
        sizes[n] = store_col_int(s, 2);
        paids[n] = store_col_int(s, 3);
        n++;
    }
    store_reset(s);
    for (int i = 0; i < n; i++) {
        fis_campaign c;
        if (fis_campaign_load(d, camps[i], &c, e)) return -1;
        bool v = json_is_true(json_object_get(c.rules, "virtual_completion"));
        fis_campaign_free(&c);
        if (team_fail(d, ids[i], v, sizes[i], paids[i], e)) return -1;
        if (v && paids[i] > 0)
            virt++;
        else
            failed++;
    }
    s = store_q(d->conn, Q_FIS_ASSISTS_EXPIRE);
    store_bind_int(s, 1, d->now);
    if (store_exec(s, e)) return -1;
    expired = store_changes(d->conn);
    if (out)
        *out = json_pack("{s:I, s:I, s:I}", "teams_failed", (json_int_t)failed,
                         "teams_completed_virtually", (json_int_t)virt, "assists_expired",
                         (json_int_t)expired);
    return 200;
}

/* ---------------- refund instructions: what the mall pulls and acknowledges ---------------- */

static json_t *refund_json(store_stmt *s)
{
    json_t *o = json_pack(
        "{s:I, s:s, s:I, s:I, s:s, s:I, s:s, s:s, s:I, s:o}", "id", (json_int_t)store_col_int(s, 0),
        "kind", store_col_text(s, 1), "member_id", (json_int_t)store_col_int(s, 4), "order_id",
        (json_int_t)store_col_int(s, 5), "order_external_id", store_col_text(s, 6), "amount_cents",
        (json_int_t)store_col_int(s, 7), "status", store_col_text(s, 8), "delivery",
        store_col_text(s, 9), "attempts", (json_int_t)store_col_int(s, 10), "created_at",
        dom_time(store_col_int(s, 16)));
    json_object_set_new(o, "team_id", dom_nullable_int(s, 2));
    json_object_set_new(o, "campaign_id", dom_nullable_int(s, 3));
    static const struct {
        int col;
        const char *key;
    } times[] = {{11, "next_attempt_at"}, {13, "sent_at"}, {14, "acked_at"}};
    for (size_t i = 0; i < sizeof times / sizeof *times; i++)
        json_object_set_new(o, times[i].key,
                            store_col_null(s, times[i].col)
                                ? json_null()
                                : dom_time(store_col_int(s, times[i].col)));
    json_object_set_new(o, "last_error", dom_nullable_text(s, 12));
    json_object_set_new(o, "reference", dom_nullable_text(s, 15));
    return o;
}

int fission_refunds_list(dom *d, const char *status, int64_t cursor, int limit, json_t **out,
                         siyu_err *e)
{
    if (status && strcmp(status, "pending") != 0 && strcmp(status, "acked") != 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "status", "status: pending or acked");
    json_t *items = json_array();
    int64_t last = 0;
    store_stmt *s = store_q(d->conn, Q_MALL_LIST);
    store_bind_text(s, 1, status);
    store_bind_int(s, 2, cursor);
    store_bind_int(s, 3, limit);
    while (store_step(s) == STORE_ROW) {
        last = store_col_int(s, 0);
        json_array_append_new(items, refund_json(s));
    }
    store_reset(s);
    if (store_conn_check(d->conn, e)) {
        json_decref(items);
        return -1;
    }
    *out = dom_list(items, limit, last);
    return 200;
}

static int refund_load(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_MALL_GET);
    store_bind_int(s, 1, id);
    *out = store_step(s) == STORE_ROW ? refund_json(s) : NULL;
    store_reset(s);
    if (store_conn_check(d->conn, e)) {
        json_decref(*out);
        *out = NULL;
        return -1;
    }
    if (!*out) return siyu_err_set(e, SIYU_NOT_FOUND, "id", "refund instruction not found");
    return 200;
}

int fission_refund_get(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    return refund_load(d, id, out, e);
}

int fission_refund_ack(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"reference", NULL};
    const char *ref = NULL;
    if (body && !json_is_object(body))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, NULL, "body: an object");
    if (body && (jx_only(body, allowed, NULL, e) || jx_str(body, "reference", false, &ref, e) < 0))
        return -1;
    if (ref && (!*ref || strlen(ref) > 128))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "reference",
                            "reference: 1 to 128 characters (the mall's refund number)");
    json_t *o = NULL;
    if (refund_load(d, id, &o, e) < 0) return -1;
    const char *status = json_string_value(json_object_get(o, "status"));
    if (strcmp(status, "acked") == 0) {
        /* an acknowledgement again is the same answer; another reference is a conflict */
        const char *had = json_string_value(json_object_get(o, "reference"));
        if (ref && (!had || strcmp(had, ref) != 0)) {
            json_decref(o);
            return siyu_err_set(e, SIYU_CONFLICT, "reference",
                                "reference: the instruction was acknowledged with another one");
        }
        *out = o;
        return 200;
    }
    json_decref(o);
    store_stmt *s = store_q(d->conn, Q_MALL_ACK);
    store_bind_int(s, 1, d->now);
    store_bind_text(s, 2, ref);
    store_bind_int(s, 3, id);
    if (store_exec(s, e)) return -1;
    return refund_load(d, id, out, e);
}
