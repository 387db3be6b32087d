/* games.c — the lucky wheel, the scratch card and the red envelope (docs/games.md).
 *
 * Every write runs on the group committer, one savepoint per request, so the checks a
 * play makes (caps, stock, budget) read a state no other write can change before it
 * commits. The store still has the last word: stock is taken with a guarded update
 * (won < stock), the budget with another (spent + cost <= budget), a packet with an
 * update of the first unclaimed one, and the schema's CHECKs refuse the rest. */
#include <math.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "fission/fission.h"
#include "fission/games.h"
#include "loyalty/loyalty.h"

enum { KIND_WHEEL, KIND_SCRATCH, KIND_RED_ENVELOPE, KIND_INVITE, KIND_GROUP_BUY, KIND_ASSIST };
static const char *const kinds[] = {"wheel",  "scratch", "red_envelope", "invite", "group_buy",
                                    "assist", NULL};

/* The most a campaign may move: ¥10 000 000 000 in cents, 10^9 points. */
#define MAX_CENTS 1000000000000LL
#define MAX_POINTS 1000000000LL

/* ---------------- pure parts ---------------- */

int games_pick(const uint32_t *odds_ppb, int n, uint32_t draw)
{
    uint64_t edge = 0;
    for (int i = 0; i < n; i++) {
        edge += odds_ppb[i];
        if (draw < edge) return i;
    }
    return -1;
}

uint64_t games_random_below(uint64_t n)
{
    if (n <= UINT32_MAX) return randombytes_uniform((uint32_t)n);
    /* rejection sampling above 2^32: no modulo bias */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, v;
    do
        randombytes_buf(&v, sizeof v);
    while (v >= limit);
    return v % n;
}

int games_split(int64_t total, int64_t n, int64_t min, int64_t max, uint64_t (*rnd)(uint64_t),
                int64_t *out)
{
    int64_t lo_sum, hi_sum;
    if (n <= 0 || min <= 0 || max < min || total <= 0 || __builtin_mul_overflow(min, n, &lo_sum) ||
        __builtin_mul_overflow(max, n, &hi_sum) || lo_sum > total || total > hi_sum)
        return -1;
    /* every packet starts at min; the rest R is dealt out in order, each packet taking a
     * share between what the later packets cannot hold and what is left, at most twice
     * the mean of what is left (the usual "double mean" deal), then shuffled */
    int64_t rest = total - lo_sum, room = max - min;
    for (int64_t i = 0; i < n; i++) {
        int64_t left = n - i - 1, extra;
        if (left == 0) {
            extra = rest;
        } else {
            int64_t later; /* what the packets after this one can hold */
            if (__builtin_mul_overflow(left, room, &later)) later = INT64_MAX;
            int64_t lo = rest > later ? rest - later : 0;
            int64_t hi = rest < room ? rest : room;
            int64_t mean2 = rest / (left + 1) * 2 + (rest % (left + 1)) * 2 / (left + 1);
            if (mean2 < hi) hi = mean2 > lo ? mean2 : lo;
            extra = lo + (int64_t)rnd((uint64_t)(hi - lo) + 1);
        }
        out[i] = min + extra;
        rest -= extra;
    }
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)rnd((uint64_t)i + 1), t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
    return 0;
}

/* ---------------- reading a campaign ---------------- */

typedef struct prize {
    int64_t id, template_id, points, stock, won, cost;
    uint32_t odds;
    char name[128], kind[16], gift[128];
    bool has_stock;
} prize;

typedef struct campaign {
    int64_t id, starts_at, ends_at, budget, spent, per_day, per_member, entry_points,
        grabs_per_member, created_at;
    bool has_budget, paused;
    int kind;
    char name[256];
    json_t *rules;
    prize prizes[GAMES_MAX_PRIZES];
    int n_prizes;
} campaign;

static int64_t opt_int(store_stmt *s, int col, int64_t none)
{
    return store_col_null(s, col) ? none : store_col_int(s, col);
}

/* with_rules false: the rules text is not parsed (a play needs only the columns and the
 * prizes); the prizes array is filled by prizes_load, not cleared here */
static void campaign_row(store_stmt *s, campaign *c, bool with_rules)
{
    memset(c, 0, offsetof(campaign, prizes));
    c->n_prizes = 0;
    c->id = store_col_int(s, 0);
    const char *k = store_col_text(s, 1);
    for (int i = 0; kinds[i]; i++)
        if (strcmp(kinds[i], k) == 0) c->kind = i;
    snprintf(c->name, sizeof c->name, "%s", store_col_text(s, 2));
    c->starts_at = opt_int(s, 3, 0);
    c->ends_at = opt_int(s, 4, 0);
    c->rules = with_rules ? json_loads(store_col_text(s, 5), 0, NULL) : NULL;
    c->has_budget = !store_col_null(s, 6);
    c->budget = opt_int(s, 6, 0);
    c->spent = store_col_int(s, 7);
    c->per_day = opt_int(s, 8, 0);
    c->per_member = opt_int(s, 9, 0);
    c->entry_points = store_col_int(s, 10);
    c->grabs_per_member = opt_int(s, 11, 0);
    c->created_at = store_col_int(s, 12);
    c->paused = store_col_int(s, 13) != 0;
}

static void prizes_load(store_conn *conn, campaign *c)
{
    store_stmt *s = store_q(conn, Q_GAME_PRIZES);
    store_bind_int(s, 1, c->id);
    c->n_prizes = 0;
    while (store_step(s) == STORE_ROW && c->n_prizes < GAMES_MAX_PRIZES) {
        prize *p = &c->prizes[c->n_prizes++];
        memset(p, 0, sizeof *p);
        p->id = store_col_int(s, 0);
        snprintf(p->name, sizeof p->name, "%s", store_col_text(s, 2));
        snprintf(p->kind, sizeof p->kind, "%s", store_col_text(s, 3));
        p->template_id = opt_int(s, 4, 0);
        p->points = opt_int(s, 5, 0);
        if (!store_col_null(s, 6)) snprintf(p->gift, sizeof p->gift, "%s", store_col_text(s, 6));
        p->odds = (uint32_t)store_col_int(s, 7);
        p->has_stock = !store_col_null(s, 8);
        p->stock = opt_int(s, 8, 0);
        p->won = store_col_int(s, 9);
        p->cost = store_col_int(s, 10);
    }
    store_reset(s);
}

static int campaign_read(dom *d, int64_t id, campaign *c, bool with_rules, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_GAME_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "campaign %lld not found", (long long)id);
    }
    campaign_row(s, c, with_rules);
    store_reset(s);
    prizes_load(d->conn, c);
    return 0;
}

static int campaign_load(dom *d, int64_t id, campaign *c, siyu_err *e)
{
    return campaign_read(d, id, c, true, e);
}

static json_t *prize_json(const prize *p, bool full)
{
    json_t *o =
        json_pack("{s:I, s:s, s:s}", "id", (json_int_t)p->id, "name", p->name, "kind", p->kind);
    if (p->template_id) json_object_set_new(o, "coupon_template_id", json_integer(p->template_id));
    if (strcmp(p->kind, "points") == 0) json_object_set_new(o, "points", json_integer(p->points));
    if (p->gift[0]) json_object_set_new(o, "gift", json_string(p->gift));
    json_object_set_new(o, "cost_cents", json_integer(p->cost));
    if (full) {
        json_object_set_new(o, "odds", json_real((double)p->odds / GAMES_SCALE));
        json_object_set_new(o, "stock", p->has_stock ? json_integer(p->stock) : json_null());
        json_object_set_new(o, "won", json_integer(p->won));
        json_object_set_new(o, "stock_left",
                            p->has_stock ? json_integer(p->stock - p->won) : json_null());
    }
    return o;
}

static json_t *campaign_json(const campaign *c)
{
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:o, s:o, s:O, s:o, s:I, s:o}", "id", (json_int_t)c->id, "kind",
                  kinds[c->kind], "name", c->name, "starts_at", dom_time(c->starts_at), "ends_at",
                  dom_time(c->ends_at), "rules", c->rules ? c->rules : json_null(), "budget_cents",
                  c->has_budget ? json_integer(c->budget) : json_null(), "spent_cents",
                  (json_int_t)c->spent, "created_at", dom_time(c->created_at));
    json_object_set_new(o, "paused", json_boolean(c->paused));
    if (c->kind == KIND_WHEEL || c->kind == KIND_SCRATCH) {
        json_t *a = json_array();
        for (int i = 0; i < c->n_prizes; i++)
            json_array_append_new(a, prize_json(&c->prizes[i], true));
        json_object_set_new(o, "prizes", a);
    }
    return o;
}

/* ---------------- creating a campaign ---------------- */

/* An optional cap: absent or null is none; otherwise a whole number in [lo, hi]. */
static int opt_whole(json_t *o, const char *key, const char *field, int64_t lo, int64_t hi,
                     bool *has, int64_t *v, siyu_err *e)
{
    json_t *x = json_object_get(o, key);
    *has = false;
    if (!x || json_is_null(x)) return 0;
    if (!json_is_integer(x) || json_integer_value(x) < lo || json_integer_value(x) > hi)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: a whole number from %lld to %lld",
                            field, (long long)lo, (long long)hi);
    *has = true;
    *v = json_integer_value(x);
    return 0;
}

static int req_whole(json_t *o, const char *key, const char *field, int64_t lo, int64_t hi,
                     int64_t *v, siyu_err *e)
{
    bool has;
    if (opt_whole(o, key, field, lo, hi, &has, v, e)) return -1;
    if (!has) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: required", field);
    return 0;
}

static int template_exists(dom *d, int64_t id)
{
    store_stmt *s = store_q(d->conn, Q_CTEMPLATE_GET);
    store_bind_int(s, 1, id);
    int found = store_step(s) == STORE_ROW;
    store_reset(s);
    return found;
}

static int parse_prizes(dom *d, json_t *list, campaign *c, siyu_err *e)
{
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > GAMES_MAX_PRIZES)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.prizes",
                            "rules.prizes: an array of 1 to %d prizes", GAMES_MAX_PRIZES);
    static const char *const allowed[] = {"name",  "coupon_template_id", "points", "gift", "odds",
                                          "stock", "cost_cents",         NULL};
    uint64_t odds_sum = 0;
    size_t i;
    json_t *v;
    char f[64];
    json_array_foreach(list, i, v)
    {
        prize *p = &c->prizes[c->n_prizes++];
        memset(p, 0, sizeof *p);
        char prefix[40];
        snprintf(prefix, sizeof prefix, "rules.prizes[%zu].", i);
        if (!json_is_object(v))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.prizes",
                                "rules.prizes[%zu]: an object", i);
        if (jx_only(v, allowed, prefix, e)) return -1;
        const char *name = json_string_value(json_object_get(v, "name"));
        snprintf(f, sizeof f, "%sname", prefix);
        if (!name || !*name || strlen(name) >= sizeof p->name)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: 1 to %zu bytes", f,
                                sizeof p->name - 1);
        snprintf(p->name, sizeof p->name, "%s", name);
        json_t *tpl = json_object_get(v, "coupon_template_id"), *pts = json_object_get(v, "points"),
               *gift = json_object_get(v, "gift");
        int given = (tpl && !json_is_null(tpl)) + (pts && !json_is_null(pts)) +
                    (gift && !json_is_null(gift));
        if (given != 1) {
            snprintf(f, sizeof f, "%scoupon_template_id", prefix);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                                "%s: a prize is one of coupon_template_id, points or gift", f);
        }
        bool has;
        if (tpl && !json_is_null(tpl)) {
            snprintf(f, sizeof f, "%scoupon_template_id", prefix);
            if (opt_whole(v, "coupon_template_id", f, 1, INT64_MAX, &has, &p->template_id, e))
                return -1;
            if (!template_exists(d, p->template_id))
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: no coupon template %lld", f,
                                    (long long)p->template_id);
            snprintf(p->kind, sizeof p->kind, "coupon");
        } else if (pts && !json_is_null(pts)) {
            snprintf(f, sizeof f, "%spoints", prefix);
            if (opt_whole(v, "points", f, 1, MAX_POINTS, &has, &p->points, e)) return -1;
            snprintf(p->kind, sizeof p->kind, "points");
        } else {
            snprintf(f, sizeof f, "%sgift", prefix);
            const char *g = json_string_value(gift);
            if (!g || !*g || strlen(g) >= sizeof p->gift)
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: 1 to %zu bytes", f,
                                    sizeof p->gift - 1);
            snprintf(p->gift, sizeof p->gift, "%s", g);
            snprintf(p->kind, sizeof p->kind, "gift");
        }
        snprintf(f, sizeof f, "%sodds", prefix);
        json_t *o = json_object_get(v, "odds");
        double odds = json_is_number(o) ? json_number_value(o) : -1;
        if (!json_is_number(o) || !isfinite(odds) || odds < 0 || odds > 1)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: a probability from 0 to 1", f);
        p->odds = (uint32_t)llround(odds * GAMES_SCALE);
        odds_sum += p->odds;
        snprintf(f, sizeof f, "%sstock", prefix);
        if (!json_object_get(v, "stock"))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, f,
                                "%s: required (a number, or null for unlimited)", f);
        if (opt_whole(v, "stock", f, 0, MAX_POINTS, &p->has_stock, &p->stock, e)) return -1;
        snprintf(f, sizeof f, "%scost_cents", prefix);
        if (req_whole(v, "cost_cents", f, 0, MAX_CENTS, &p->cost, e)) return -1;
    }
    if (odds_sum > GAMES_SCALE)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.prizes",
                            "rules.prizes: the odds sum to %.9f, more than 1",
                            (double)odds_sum / GAMES_SCALE);
    return 0;
}

int games_campaign_create(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"kind", "name", "starts_at", "ends_at", "rules", NULL};
    static const char *const game_rules[] = {"plays_per_member_per_day",
                                             "plays_per_member",
                                             "entry_points",
                                             "budget_cents",
                                             "prizes",
                                             NULL};
    static const char *const envelope_rules[] = {"total_cents", "packets",          "min_cents",
                                                 "max_cents",   "grabs_per_member", NULL};
    campaign c;
    memset(&c, 0, sizeof c);
    const char *name;
    if (jx_only(body, allowed, NULL, e) || jx_enum(body, "kind", true, kinds, &c.kind, e) < 0 ||
        jx_str(body, "name", true, &name, e) < 0 ||
        jx_time(body, "starts_at", false, &c.starts_at, e) < 0 ||
        jx_time(body, "ends_at", false, &c.ends_at, e) < 0)
        return -1;
    if (!*name || strlen(name) >= sizeof c.name)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: 1 to %zu bytes",
                            sizeof c.name - 1);
    snprintf(c.name, sizeof c.name, "%s", name);
    if (c.starts_at && c.ends_at && c.ends_at <= c.starts_at)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "ends_at",
                            "ends_at: must be after starts_at");
    json_t *rules = json_object_get(body, "rules");
    if (!json_is_object(rules))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules", "rules: required, an object");
    int64_t packets = 0, total = 0, min = 0, max = 0;
    bool has;
    if (c.kind == KIND_RED_ENVELOPE) {
        if (jx_only(rules, envelope_rules, "rules.", e) ||
            req_whole(rules, "total_cents", "rules.total_cents", 1, MAX_CENTS, &total, e) ||
            req_whole(rules, "packets", "rules.packets", 1, GAMES_MAX_PACKETS, &packets, e) ||
            req_whole(rules, "min_cents", "rules.min_cents", 1, MAX_CENTS, &min, e) ||
            req_whole(rules, "max_cents", "rules.max_cents", 1, MAX_CENTS, &max, e) ||
            opt_whole(rules, "grabs_per_member", "rules.grabs_per_member", 1, GAMES_MAX_PACKETS,
                      &has, &c.grabs_per_member, e))
            return -1;
        if (!has) c.grabs_per_member = 1;
        int64_t lo, hi;
        if (max < min)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.max_cents",
                                "rules.max_cents: must be at least min_cents");
        if (__builtin_mul_overflow(min, packets, &lo) || lo > total)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.min_cents",
                                "rules.min_cents: min_cents × packets must not exceed total_cents");
        if (!__builtin_mul_overflow(max, packets, &hi) && hi < total)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.max_cents",
                                "rules.max_cents: max_cents × packets must reach total_cents");
        c.has_budget = true;
        c.budget = total;
    } else if (c.kind >= KIND_INVITE) {
        if (fission_rules_check(d, kinds[c.kind], rules, e)) return -1;
    } else {
        if (jx_only(rules, game_rules, "rules.", e) ||
            opt_whole(rules, "plays_per_member_per_day", "rules.plays_per_member_per_day", 1,
                      MAX_POINTS, &has, &c.per_day, e) ||
            opt_whole(rules, "plays_per_member", "rules.plays_per_member", 1, MAX_POINTS, &has,
                      &c.per_member, e) ||
            opt_whole(rules, "entry_points", "rules.entry_points", 0, MAX_POINTS, &has,
                      &c.entry_points, e) ||
            opt_whole(rules, "budget_cents", "rules.budget_cents", 0, MAX_CENTS, &c.has_budget,
                      &c.budget, e) ||
            parse_prizes(d, json_object_get(rules, "prizes"), &c, e))
            return -1;
        if (!json_object_get(rules, "prizes"))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.prizes", "rules.prizes: required");
    }
    char *text = json_dumps(rules, JSON_COMPACT | JSON_SORT_KEYS);
    store_stmt *s = store_q(d->conn, Q_GAME_INSERT);
    store_bind_text(s, 1, kinds[c.kind]);
    store_bind_text(s, 2, c.name);
    if (c.starts_at) store_bind_int(s, 3, c.starts_at);
    if (c.ends_at) store_bind_int(s, 4, c.ends_at);
    store_bind_text(s, 5, text);
    if (c.has_budget) store_bind_int(s, 6, c.budget);
    if (c.per_day) store_bind_int(s, 7, c.per_day);
    if (c.per_member) store_bind_int(s, 8, c.per_member);
    store_bind_int(s, 9, c.entry_points);
    if (c.grabs_per_member) store_bind_int(s, 10, c.grabs_per_member);
    store_bind_int(s, 11, d->now);
    int rc = store_exec(s, e);
    free(text);
    if (rc) return -1;
    c.id = store_last_id(d->conn);
    for (int i = 0; i < c.n_prizes; i++) {
        const prize *p = &c.prizes[i];
        s = store_q(d->conn, Q_GAME_PRIZE_INSERT);
        store_bind_int(s, 1, c.id);
        store_bind_int(s, 2, i);
        store_bind_text(s, 3, p->name);
        store_bind_text(s, 4, p->kind);
        if (p->template_id) store_bind_int(s, 5, p->template_id);
        if (strcmp(p->kind, "points") == 0) store_bind_int(s, 6, p->points);
        if (p->gift[0]) store_bind_text(s, 7, p->gift);
        store_bind_int(s, 8, p->odds);
        if (p->has_stock) store_bind_int(s, 9, p->stock);
        store_bind_int(s, 10, p->cost);
        if (store_exec(s, e)) return -1;
    }
    if (c.kind == KIND_RED_ENVELOPE) {
        int64_t *amounts = malloc((size_t)packets * sizeof *amounts);
        if (games_split(total, packets, min, max, games_random_below, amounts)) {
            free(amounts);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "rules.total_cents",
                                "rules.total_cents: cannot be split within the bounds");
        }
        for (int64_t i = 0; i < packets; i++) {
            s = store_q(d->conn, Q_GAME_PACKET_INSERT);
            store_bind_int(s, 1, c.id);
            store_bind_int(s, 2, i + 1);
            store_bind_int(s, 3, amounts[i]);
            if (store_exec(s, e)) {
                free(amounts);
                return -1;
            }
        }
        free(amounts);
    }
    if (out) return games_campaign_get(d, c.id, out, e) < 0 ? -1 : 201;
    return 201;
}

int games_campaign_get(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    campaign c;
    if (campaign_load(d, id, &c, e)) return -1;
    *out = campaign_json(&c);
    json_decref(c.rules);
    return 200;
}

int games_campaign_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e)
{
    json_t *items = json_array();
    store_stmt *s = store_q(d->conn, Q_GAME_LIST);
    store_bind_int(s, 1, cursor);
    store_bind_int(s, 2, limit);
    int64_t last = 0;
    campaign *c = malloc(sizeof *c);
    int64_t ids[1000];
    int n = 0;
    while (store_step(s) == STORE_ROW && n < 1000)
        ids[n++] = store_col_int(s, 0);
    store_reset(s);
    for (int i = 0; i < n; i++) {
        if (campaign_load(d, ids[i], c, e)) {
            free(c);
            json_decref(items);
            return -1;
        }
        json_array_append_new(items, campaign_json(c));
        json_decref(c->rules);
        last = ids[i];
    }
    free(c);
    *out = dom_list(items, limit, last);
    return 200;
}

/* ---------------- plays ---------------- */

static const prize *prize_by_id(const campaign *c, int64_t id)
{
    for (int i = 0; i < c->n_prizes; i++)
        if (c->prizes[i].id == id) return &c->prizes[i];
    return NULL;
}

static json_t *play_json(const campaign *c, const char *play_id, int64_t member, int64_t at,
                         int64_t draw, int64_t prize_id, const char *outcome,
                         const char *coupon_code, int64_t entry_points)
{
    json_t *pz = json_null();
    const prize *p = prize_id ? prize_by_id(c, prize_id) : NULL;
    if (p) {
        pz = prize_json(p, false);
        if (coupon_code) json_object_set_new(pz, "coupon_code", json_string(coupon_code));
    }
    return json_pack("{s:s, s:I, s:I, s:o, s:I, s:I, s:s, s:I, s:o}", "play_id", play_id,
                     "campaign_id", (json_int_t)c->id, "member_id", (json_int_t)member, "prize", pz,
                     "draw", (json_int_t)draw, "draw_scale", (json_int_t)GAMES_SCALE, "outcome",
                     outcome, "entry_points", (json_int_t)entry_points, "at", dom_time(at));
}

static int window_check(dom *d, const campaign *c, siyu_err *e)
{
    if (c->paused)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "paused", "paused: campaign %lld is paused",
                            (long long)c->id);
    if (c->starts_at && d->now < c->starts_at)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "starts_at",
                            "starts_at: campaign %lld has not started", (long long)c->id);
    if (c->ends_at && d->now >= c->ends_at)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "ends_at", "ends_at: campaign %lld has ended",
                            (long long)c->id);
    return 0;
}

static int read_request(json_t *body, const char *id_key, int64_t *member, const char **id,
                        siyu_err *e)
{
    const char *allowed[] = {"member_id", id_key, NULL};
    if (jx_only(body, allowed, NULL, e) || jx_int(body, "member_id", true, member, e) < 0 ||
        jx_str(body, id_key, true, id, e) < 0)
        return -1;
    if (*member <= 0)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "member_id", "member_id: not a member id");
    if (!**id || strlen(*id) > 100)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, id_key, "%s: 1 to 100 bytes", id_key);
    return 0;
}

/* Was `first` (who made a play or grab) merged since into `member`? Then a replay by the
 * surviving member is the same person's. */
static bool same_member(dom *d, int64_t first, int64_t member)
{
    siyu_err sub;
    siyu_err_init(&sub);
    int64_t live = members_live_id(d, first, "member_id", &sub);
    siyu_err_clear(&sub);
    return live == member;
}

static void refused(siyu_err *e, const char *reason)
{
    json_decref(e->details);
    e->details = json_pack("{s:s}", "reason", reason);
}

/* Tries to give prize p: its stock, then the budget, then the coupon or points, all in
 * one savepoint. Returns 1 when given, 0 when not (outcome says why; nothing written),
 * -1 on a store error. */
static int award(dom *d, const campaign *c, const prize *p, int64_t member, const char *ref,
                 char *code, const char **outcome, siyu_err *e)
{
    if (store_savepoint(d->conn, e)) return -1;
    store_stmt *s = store_q(d->conn, Q_GAME_PRIZE_TAKE);
    store_bind_int(s, 1, p->id);
    if (store_exec(s, e)) goto fail;
    if (store_changes(d->conn) != 1) {
        *outcome = "out_of_stock";
        goto undo;
    }
    s = store_q(d->conn, Q_GAME_SPEND);
    store_bind_int(s, 1, p->cost);
    store_bind_int(s, 2, c->id);
    if (store_exec(s, e)) goto fail;
    if (store_changes(d->conn) != 1) {
        *outcome = "over_budget";
        goto undo;
    }
    if (strcmp(p->kind, "coupon") == 0) {
        siyu_err sub;
        siyu_err_init(&sub);
        int rc = loyalty_coupon_grant(d, p->template_id, member, ref, code, &sub);
        if (rc < 0) {
            bool internal = sub.code == SIYU_INTERNAL;
            if (internal) siyu_err_set(e, sub.code, NULL, "%s", sub.message);
            siyu_err_clear(&sub);
            if (internal) goto fail;
            *outcome = "coupon_refused";
            goto undo;
        }
    } else if (strcmp(p->kind, "points") == 0) {
        char reason[160];
        snprintf(reason, sizeof reason, "campaign %lld: %s", (long long)c->id, p->name);
        if (loyalty_points_credit(d, member, p->points, "game", reason, e)) goto fail;
    }
    store_savepoint_release(d->conn);
    *outcome = "won";
    return 1;
undo:
    store_savepoint_undo(d->conn);
    return 0;
fail:
    store_savepoint_undo(d->conn);
    return -1;
}

int games_play(dom *d, int64_t campaign_id, json_t *body, json_t **out, siyu_err *e)
{
    int64_t member;
    const char *play_id;
    if (read_request(body, "play_id", &member, &play_id, e)) return -1;
    campaign *c = malloc(sizeof *c);
    int rc = -1;
    if (campaign_read(d, campaign_id, c, false, e)) {
        free(c);
        return -1;
    }
    if (c->kind != KIND_WHEEL && c->kind != KIND_SCRATCH) {
        siyu_err_set(e, SIYU_UNPROCESSABLE, "id",
                     c->kind == KIND_RED_ENVELOPE
                         ? "campaign %lld is a red envelope: grab it at /envelopes/grab"
                         : "campaign %lld is not a wheel or a scratch card",
                     (long long)c->id);
        goto done;
    }
    if ((member = members_live_id(d, member, "member_id", e)) < 0) goto done;
    /* a replay answers what the first play answered */
    store_stmt *s = store_q(d->conn, Q_GAME_PLAY_GET);
    store_bind_int(s, 1, c->id);
    store_bind_text(s, 2, play_id);
    if (store_step(s) == STORE_ROW) {
        int64_t first = store_col_int(s, 0);
        if (first != member && !same_member(d, first, member)) {
            store_reset(s);
            siyu_err_set(e, SIYU_CONFLICT, "play_id", "play_id: %s was played by another member",
                         play_id);
            goto done;
        }
        char code[32] = "";
        if (!store_col_null(s, 7)) snprintf(code, sizeof code, "%s", store_col_text(s, 7));
        char outcome[32];
        snprintf(outcome, sizeof outcome, "%s", store_col_text(s, 4));
        if (out)
            *out = play_json(c, play_id, member, store_col_int(s, 1), store_col_int(s, 2),
                             opt_int(s, 3, 0), outcome, code[0] ? code : NULL, store_col_int(s, 6));
        store_reset(s);
        rc = 200;
        goto done;
    }
    store_reset(s);
    if (window_check(d, c, e)) goto done;
    int32_t day = time_local_day(d->now);
    int64_t today = 0, ever = 0;
    if (c->per_day || c->per_member) { /* no cap, nothing to count */
        s = store_q(d->conn, Q_GAME_PLAY_COUNTS);
        store_bind_int(s, 1, c->id);
        store_bind_int(s, 2, member);
        store_bind_int(s, 3, day);
        if (store_step(s) == STORE_ROW) {
            today = store_col_int(s, 0);
            ever = store_col_int(s, 1);
        }
        store_reset(s);
    }
    if (c->per_day && today >= c->per_day) {
        siyu_err_set(e, SIYU_UNPROCESSABLE, "member_id",
                     "member_id: member %lld already played %lld times today (limit %lld)",
                     (long long)member, (long long)today, (long long)c->per_day);
        refused(e, "plays_per_member_per_day");
        goto done;
    }
    if (c->per_member && ever >= c->per_member) {
        siyu_err_set(e, SIYU_UNPROCESSABLE, "member_id",
                     "member_id: member %lld already played %lld times (limit %lld)",
                     (long long)member, (long long)ever, (long long)c->per_member);
        refused(e, "plays_per_member");
        goto done;
    }
    char reason[160];
    snprintf(reason, sizeof reason, "campaign %lld: play %s", (long long)c->id, play_id);
    if (c->entry_points &&
        loyalty_points_debit(d, member, c->entry_points, "game_entry", reason, "member_id", e))
        goto done;
    /* the draw: the server's generator, never the client's */
    uint32_t draw = (uint32_t)games_random_below(GAMES_SCALE);
    uint32_t odds[GAMES_MAX_PRIZES];
    for (int i = 0; i < c->n_prizes; i++)
        odds[i] = c->prizes[i].odds;
    int pick = games_pick(odds, c->n_prizes, draw);
    const char *outcome = "nothing";
    char code[16] = "", ref[200];
    int64_t prize_id = 0, cost = 0;
    if (pick >= 0) {
        const prize *p = &c->prizes[pick];
        snprintf(ref, sizeof ref, "game:%lld:%s", (long long)c->id, play_id);
        int got = award(d, c, p, member, ref, code, &outcome, e);
        if (got < 0) goto done;
        if (got) {
            prize_id = p->id;
            cost = p->cost;
            c->prizes[pick].won++;
        } else {
            code[0] = 0;
        }
    }
    s = store_q(d->conn, Q_GAME_PLAY_INSERT);
    dom_note(d, DOM_CHANGE_MEMBER_360, member, 0); /* its campaigns in the 360 */
    store_bind_int(s, 1, c->id);
    store_bind_int(s, 2, member);
    store_bind_text(s, 3, play_id);
    store_bind_int(s, 4, d->now);
    store_bind_int(s, 5, day);
    store_bind_int(s, 6, draw);
    if (prize_id) store_bind_int(s, 7, prize_id);
    store_bind_text(s, 8, outcome);
    store_bind_int(s, 9, cost);
    store_bind_int(s, 10, c->entry_points);
    if (code[0]) store_bind_text(s, 11, code);
    if (store_exec(s, e)) goto done;
    /* the member's points or coupons moved only with an entry cost or a prize of points or a
     * coupon: only then do the views (points, coupons) follow the member */
    if (c->entry_points || (prize_id && (code[0] || strcmp(c->prizes[pick].kind, "points") == 0)))
        dom_note(d, DOM_CHANGE_LOYALTY, member, 0);
    if (out)
        *out = play_json(c, play_id, member, d->now, draw, prize_id, outcome, code[0] ? code : NULL,
                         c->entry_points);
    rc = 201;
done:
    json_decref(c->rules);
    free(c);
    return rc;
}

/* ---------------- red envelopes ---------------- */

static json_t *grab_json(int64_t campaign_id, const char *grab_id, store_stmt *s)
{
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "grab_id", grab_id, "campaign_id",
                     (json_int_t)campaign_id, "member_id", (json_int_t)store_col_int(s, 3),
                     "packet", (json_int_t)store_col_int(s, 1), "amount_cents",
                     (json_int_t)store_col_int(s, 2), "points", dom_nullable_int(s, 5), "at",
                     dom_time(store_col_int(s, 4)));
}

int games_grab(dom *d, int64_t campaign_id, json_t *body, json_t **out, siyu_err *e)
{
    int64_t member;
    const char *grab_id;
    if (read_request(body, "grab_id", &member, &grab_id, e)) return -1;
    campaign *c = malloc(sizeof *c);
    int rc = -1;
    if (campaign_load(d, campaign_id, c, e)) {
        free(c);
        return -1;
    }
    if (c->kind != KIND_RED_ENVELOPE) {
        siyu_err_set(e, SIYU_UNPROCESSABLE, "id",
                     "campaign %lld is not a red envelope: play it at /plays", (long long)c->id);
        goto done;
    }
    if ((member = members_live_id(d, member, "member_id", e)) < 0) goto done;
    store_stmt *s = store_q(d->conn, Q_GAME_PACKET_BY_GRAB);
    store_bind_int(s, 1, c->id);
    store_bind_text(s, 2, grab_id);
    if (store_step(s) == STORE_ROW) {
        if (store_col_int(s, 3) != member && !same_member(d, store_col_int(s, 3), member)) {
            store_reset(s);
            siyu_err_set(e, SIYU_CONFLICT, "grab_id", "grab_id: %s was grabbed by another member",
                         grab_id);
            goto done;
        }
        if (out) *out = grab_json(c->id, grab_id, s);
        store_reset(s);
        rc = 200;
        goto done;
    }
    store_reset(s);
    if (window_check(d, c, e)) goto done;
    s = store_q(d->conn, Q_GAME_GRABS_OF);
    store_bind_int(s, 1, c->id);
    store_bind_int(s, 2, member);
    int64_t had = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    if (had >= c->grabs_per_member) {
        siyu_err_set(e, SIYU_UNPROCESSABLE, "member_id",
                     "member_id: member %lld already grabbed %lld packets (limit %lld)",
                     (long long)member, (long long)had, (long long)c->grabs_per_member);
        refused(e, "grabs_per_member");
        goto done;
    }
    s = store_q(d->conn, Q_GAME_PACKET_TAKE);
    dom_note(d, DOM_CHANGE_MEMBER_360, member, 0); /* its campaigns in the 360 */
    store_bind_int(s, 1, member);
    store_bind_text(s, 2, grab_id);
    store_bind_int(s, 3, d->now);
    store_bind_int(s, 4, c->id);
    if (store_exec(s, e)) goto done;
    if (store_changes(d->conn) != 1) {
        siyu_err_set(e, SIYU_UNPROCESSABLE, "id", "campaign %lld: no packet left",
                     (long long)c->id);
        refused(e, "no_packet_left");
        goto done;
    }
    s = store_q(d->conn, Q_GAME_PACKET_BY_GRAB);
    store_bind_int(s, 1, c->id);
    store_bind_text(s, 2, grab_id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        siyu_err_set(e, SIYU_INTERNAL, NULL, "the packet just taken is not there");
        goto done;
    }
    int64_t packet = store_col_int(s, 0), amount = store_col_int(s, 2);
    store_reset(s);
    /* the packet is credited as points worth its amount at the till */
    int64_t points = 0;
    if (loyalty_points_of_cents(d->conn, amount, &points, e)) goto done;
    if (points > 0) {
        char reason[160];
        snprintf(reason, sizeof reason, "campaign %lld: red envelope %s", (long long)c->id,
                 c->name);
        if (loyalty_points_credit(d, member, points, "game", reason, e)) goto done;
    }
    s = store_q(d->conn, Q_GAME_PACKET_POINTS);
    store_bind_int(s, 1, points);
    store_bind_int(s, 2, packet);
    if (store_exec(s, e)) goto done;
    dom_note(d, DOM_CHANGE_LOYALTY, member, 0);
    s = store_q(d->conn, Q_GAME_PACKET_BY_GRAB);
    store_bind_int(s, 1, c->id);
    store_bind_text(s, 2, grab_id);
    if (store_step(s) == STORE_ROW && out) *out = grab_json(c->id, grab_id, s);
    store_reset(s);
    rc = 201;
done:
    json_decref(c->rules);
    free(c);
    return rc;
}

/* ---------------- the report ---------------- */

int games_report(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    campaign *c = malloc(sizeof *c);
    if (campaign_load(d, id, c, e)) {
        free(c);
        return -1;
    }
    json_t *o = json_pack("{s:I, s:s, s:s}", "campaign_id", (json_int_t)c->id, "kind",
                          kinds[c->kind], "name", c->name);
    json_object_set_new(o, "budget_cents", c->has_budget ? json_integer(c->budget) : json_null());
    json_object_set_new(o, "spent_cents", json_integer(c->spent));
    json_object_set_new(o, "budget_left_cents",
                        c->has_budget ? json_integer(c->budget - c->spent) : json_null());
    if (c->kind == KIND_RED_ENVELOPE) {
        store_stmt *s = store_q(d->conn, Q_GAME_REPORT_PACKETS);
        store_bind_int(s, 1, c->id);
        if (store_step(s) == STORE_ROW) {
            json_object_set_new(o, "packets", json_integer(store_col_int(s, 0)));
            json_object_set_new(o, "packets_grabbed", json_integer(store_col_int(s, 1)));
            json_object_set_new(o, "packets_left",
                                json_integer(store_col_int(s, 0) - store_col_int(s, 1)));
            json_object_set_new(o, "grabbed_cents", json_integer(store_col_int(s, 2)));
            json_object_set_new(o, "left_cents", json_integer(store_col_int(s, 3)));
            json_object_set_new(o, "participants", json_integer(store_col_int(s, 4)));
            json_object_set_new(o, "total_cents", json_integer(store_col_int(s, 5)));
            json_object_set_new(o, "smallest_packet_cents", dom_nullable_int(s, 6));
            json_object_set_new(o, "largest_packet_cents", dom_nullable_int(s, 7));
            /* the spend of an envelope is what was grabbed */
            json_object_set_new(o, "spent_cents", json_integer(store_col_int(s, 2)));
            json_object_set_new(o, "budget_left_cents", json_integer(store_col_int(s, 3)));
        }
        store_reset(s);
    } else if (c->kind == KIND_WHEEL || c->kind == KIND_SCRATCH) {
        store_stmt *s = store_q(d->conn, Q_GAME_REPORT_PLAYS);
        store_bind_int(s, 1, c->id);
        if (store_step(s) == STORE_ROW) {
            json_object_set_new(o, "plays", json_integer(store_col_int(s, 0)));
            json_object_set_new(o, "participants", json_integer(store_col_int(s, 1)));
            json_object_set_new(o, "prizes_won", json_integer(store_col_int(s, 2)));
            json_object_set_new(o, "nothing",
                                json_integer(store_col_int(s, 0) - store_col_int(s, 2)));
            json_object_set_new(o, "entry_points_taken", json_integer(store_col_int(s, 4)));
        }
        store_reset(s);
        json_t *a = json_array();
        for (int i = 0; i < c->n_prizes; i++)
            json_array_append_new(a, prize_json(&c->prizes[i], true));
        json_object_set_new(o, "prizes", a);
    }
    json_object_set_new(o, "paused", json_boolean(c->paused));
    int rc = fission_campaign_report(d, c->id, kinds[c->kind], c->created_at, o, e);
    json_decref(c->rules);
    free(c);
    if (rc) {
        json_decref(o);
        return -1;
    }
    *out = o;
    return 200;
}

int games_campaign_patch(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"name", "ends_at", "paused", NULL};
    campaign c;
    if (campaign_load(d, id, &c, e)) return -1;
    json_decref(c.rules);
    const char *name = NULL;
    int64_t ends_at = 0;
    bool paused = false;
    int rp;
    if (jx_only(body, allowed, NULL, e) || jx_str(body, "name", false, &name, e) < 0 ||
        (rp = jx_bool(body, "paused", false, &paused, e)) < 0)
        return -1;
    json_t *ends = json_object_get(body, "ends_at");
    bool set_ends = ends != NULL;
    if (ends && !json_is_null(ends) && jx_time(body, "ends_at", true, &ends_at, e) < 0) return -1;
    if (name && (!*name || strlen(name) >= sizeof c.name))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: 1 to %zu bytes",
                            sizeof c.name - 1);
    if (set_ends && ends_at && c.starts_at && ends_at <= c.starts_at)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "ends_at",
                            "ends_at: must be after starts_at");
    store_stmt *s = store_q(d->conn, Q_FIS_CAMPAIGN_PATCH);
    store_bind_text(s, 1, name);
    if (ends_at) store_bind_int(s, 2, ends_at);
    if (rp == 1) store_bind_int(s, 3, paused ? 1 : 0);
    store_bind_int(s, 4, id);
    store_bind_int(s, 5, set_ends ? 1 : 0);
    if (store_exec(s, e)) return -1;
    return games_campaign_get(d, id, out, e) < 0 ? -1 : 200;
}
