/* config.c — the operator's loyalty rules: the tier ladder, earn rules, settings.
 *
 * Rules are validated completely when saved (every error names its field) and kept
 * as JSON in the store. Orders read them through one shared, immutable parsed copy:
 * each configuration write sets a fresh random "loyalty.version", and a reader that
 * finds the stored version differs from its copy's reparses. A random token rather
 * than a counter, so a rolled-back write can never be mistaken for a committed one. */
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "domain/memo.h"
#include "loyalty/internal.h"

#define KEY_TIERS "loyalty.tiers"
#define KEY_SETTINGS "loyalty.settings"
#define KEY_VERSION "loyalty.version"

/* ---------------- time ---------------- */

int64_t loy_day_start(int32_t day)
{
    return (int64_t)day * 86400 - SIYU_LOCAL_OFFSET_S;
}

static int month_days(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

int64_t loy_add_months(int64_t t, int n)
{
    int32_t day = time_local_day(t);
    int64_t in_day = t - loy_day_start(day);
    int y, m, dd;
    date_civil(day, &y, &m, &dd);
    int total = y * 12 + (m - 1) + n;
    y = total / 12;
    m = total % 12 + 1;
    if (dd > month_days(y, m)) dd = month_days(y, m);
    return loy_day_start(date_from_civil(y, m, dd)) + in_day;
}

int64_t loy_expiry_of(const loy_config *cfg, int64_t t)
{
    int y, m, dd;
    switch (cfg->expiry) {
    case LOY_EXPIRY_NEVER:
        return INT64_MAX;
    case LOY_EXPIRY_END_OF_NEXT_YEAR:
        date_civil(time_local_day(t), &y, &m, &dd);
        return loy_day_start(date_from_civil(y + 2, 1, 1));
    case LOY_EXPIRY_MONTHS:
    default:
        /* through the end of the local day N months on */
        return loy_day_start(time_local_day(loy_add_months(t, cfg->expiry_months)) + 1);
    }
}

/* ---------------- parsing helpers ---------------- */

/* A non-negative number with at most `scale` decimals as an integer × 10^scale. */
static int scaled(json_t *obj, const char *key, bool required, int scale, int64_t max, int64_t *out,
                  const char *field, siyu_err *e)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: required", field);
        return 0;
    }
    if (!json_is_number(v))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: not a number", field);
    double x = json_number_value(v), f = pow(10, scale);
    double r = round(x * f);
    if (x < 0 || r > (double)max * f || fabs(x * f - r) > 1e-6)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field,
                            "%s: must be between 0 and %lld with at most %d decimals", field,
                            (long long)max, scale);
    *out = (int64_t)r;
    return 1;
}

static int whole(json_t *obj, const char *key, bool required, int64_t lo, int64_t hi, int64_t *out,
                 const char *field, siyu_err *e)
{
    siyu_err sub;
    siyu_err_init(&sub);
    int rc = jx_int(obj, key, required, out, &sub);
    if (rc < 0) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: %s", field,
                     strchr(sub.message, ':') ? strchr(sub.message, ':') + 2 : sub.message);
        siyu_err_clear(&sub);
        return -1;
    }
    if (rc == 1 && (*out < lo || *out > hi))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: must be between %lld and %lld",
                            field, (long long)lo, (long long)hi);
    return rc;
}

static int only(json_t *obj, const char *const *allowed, const char *field, siyu_err *e)
{
    if (!json_is_object(obj))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, field, "%s: not an object", field);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        bool ok = false;
        for (int i = 0; allowed[i]; i++)
            ok |= strcmp(allowed[i], k) == 0;
        if (!ok)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, k, "%s%s%s: unknown field", field,
                                *field ? "." : "", k);
    }
    return 0;
}

/* ---------------- the ladder ---------------- */

static int parse_tiers(json_t *body, loy_config *cfg, siyu_err *e)
{
    static const char *const top[] = {"tiers", "review", NULL};
    static const char *const tier_keys[] = {"code",         "name",     "qualify", "multiplier",
                                            "discount_pct", "benefits", NULL};
    static const char *const qual_keys[] = {"metric", "min", "window_months", NULL};
    static const char *const review_keys[] = {"schedule", "grace_days", NULL};
    if (only(body, top, "", e)) return -1;
    json_t *arr = json_object_get(body, "tiers");
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > LOY_MAX_TIERS)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "tiers",
                            "tiers: an array of 1 to %d tiers, lowest first", LOY_MAX_TIERS);
    cfg->n_tiers = (int)json_array_size(arr);
    for (int i = 0; i < cfg->n_tiers; i++) {
        json_t *t = json_array_get(arr, (size_t)i);
        loy_tier *x = &cfg->tiers[i];
        char f[64];
        snprintf(f, sizeof f, "tiers[%d]", i);
        if (only(t, tier_keys, f, e)) return -1;
        const char *code, *name;
        char ff[96];
        snprintf(ff, sizeof ff, "%s.code", f);
        if (!json_is_string(json_object_get(t, "code")) ||
            !*(code = json_string_value(json_object_get(t, "code"))) ||
            strlen(code) >= LOY_CODE_LEN)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, ff, "%s: a code of 1 to %d bytes", ff,
                                LOY_CODE_LEN - 1);
        for (int j = 0; j < i; j++)
            if (strcmp(cfg->tiers[j].code, code) == 0)
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, ff, "%s: %s is used twice", ff, code);
        snprintf(x->code, sizeof x->code, "%s", code);
        snprintf(ff, sizeof ff, "%s.name", f);
        if (!json_is_string(json_object_get(t, "name")) ||
            !*(name = json_string_value(json_object_get(t, "name"))))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, ff, "%s: required", ff);
        x->multiplier_pct = 100;
        snprintf(ff, sizeof ff, "%s.multiplier", f);
        if (scaled(t, "multiplier", false, 2, 100, &x->multiplier_pct, ff, e) < 0) return -1;
        snprintf(ff, sizeof ff, "%s.discount_pct", f);
        if (scaled(t, "discount_pct", false, 2, 100, &x->discount_bp, ff, e) < 0) return -1;
        json_t *ben = json_object_get(t, "benefits");
        snprintf(ff, sizeof ff, "%s.benefits", f);
        if (ben && !json_is_null(ben)) {
            if (!json_is_array(ben))
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, ff, "%s: an array of strings", ff);
            size_t k;
            json_t *b;
            json_array_foreach(ben, k, b) if (!json_is_string(b)) return siyu_err_set(
                e, SIYU_INVALID_ARGUMENT, ff, "%s[%zu]: not a string", ff, k);
        }
        json_t *q = json_object_get(t, "qualify");
        snprintf(ff, sizeof ff, "%s.qualify", f);
        if (i == 0) {
            if (q && !json_is_null(q))
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, ff,
                                    "%s: the first tier is where every member starts; it has no "
                                    "qualifying rule",
                                    ff);
            x->metric = LOY_METRIC_NONE;
            continue;
        }
        if (!q || json_is_null(q))
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, ff, "%s: required above the first tier",
                                ff);
        if (only(q, qual_keys, ff, e)) return -1;
        static const char *const metrics[] = {"net_spend", "points_earned", NULL};
        int mi;
        siyu_err sub;
        siyu_err_init(&sub);
        if (jx_enum(q, "metric", true, metrics, &mi, &sub) < 0) {
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, ff, "%s.metric: one of net_spend, points_earned",
                         ff);
            siyu_err_clear(&sub);
            return -1;
        }
        x->metric = mi == 0 ? LOY_METRIC_SPEND : LOY_METRIC_POINTS;
        char fm[112];
        snprintf(fm, sizeof fm, "%s.min", ff);
        if (whole(q, "min", true, 1, INT64_C(100000000000000), &x->min, fm, e) < 0) return -1;
        int64_t w = 12;
        snprintf(fm, sizeof fm, "%s.window_months", ff);
        if (whole(q, "window_months", false, 1, 120, &w, fm, e) < 0) return -1;
        x->window_months = (int)w;
        snprintf(fm, sizeof fm, "%s.min", ff);
        for (int j = 1; j < i; j++)
            if (cfg->tiers[j].metric == x->metric && cfg->tiers[j].min >= x->min)
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, fm,
                                    "%s.min: must be above the lower tier %s's %lld", ff,
                                    cfg->tiers[j].code, (long long)cfg->tiers[j].min);
    }
    cfg->review = LOY_REVIEW_ANNIVERSARY;
    cfg->grace_days = 0;
    json_t *rv = json_object_get(body, "review");
    if (rv && !json_is_null(rv)) {
        if (only(rv, review_keys, "review", e)) return -1;
        static const char *const sched[] = {"anniversary", "calendar_year", "none", NULL};
        int si = 0;
        siyu_err sub;
        siyu_err_init(&sub);
        if (jx_enum(rv, "schedule", false, sched, &si, &sub) < 0) {
            siyu_err_clear(&sub);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "review.schedule",
                                "review.schedule: one of anniversary, calendar_year, none");
        }
        cfg->review = (loy_review)si;
        if (whole(rv, "grace_days", false, 0, 366, &cfg->grace_days, "review.grace_days", e) < 0)
            return -1;
    }
    return 0;
}

int loy_tier_index(const loy_config *cfg, const char *code)
{
    if (!cfg->n_tiers) return -1;
    if (!code) return 0;
    for (int i = 0; i < cfg->n_tiers; i++)
        if (strcmp(cfg->tiers[i].code, code) == 0) return i;
    return -1;
}

json_t *loy_tier_json(const loy_config *cfg, int i)
{
    if (i < 0 || i >= cfg->n_tiers) return json_null();
    json_t *src = json_array_get(json_object_get(cfg->tiers_json, "tiers"), (size_t)i);
    json_t *benefits = json_object_get(src, "benefits");
    return json_pack("{s:s, s:O, s:i, s:f, s:f, s:o}", "code", cfg->tiers[i].code, "name",
                     json_object_get(src, "name"), "rank", i, "multiplier",
                     (double)cfg->tiers[i].multiplier_pct / 100.0, "discount_pct",
                     (double)cfg->tiers[i].discount_bp / 100.0, "benefits",
                     benefits ? json_incref(benefits) : json_array());
}

/* ---------------- earn rules ---------------- */

static int parse_rule(json_t *spec, loy_rule *r, siyu_err *e)
{
    static const char *const keys[] = {
        "name",       "points_per_yuan",     "channels",        "store_ids",
        "categories", "birthday_multiplier", "tier_multiplier", "cap_per_order",
        NULL};
    if (only(spec, keys, "", e)) return -1;
    if (!json_is_string(json_object_get(spec, "name")) ||
        !*json_string_value(json_object_get(spec, "name")))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: required");
    if (scaled(spec, "points_per_yuan", true, 3, 10000, &r->ppy_milli, "points_per_yuan", e) < 0)
        return -1;
    r->birthday_pct = 100;
    if (scaled(spec, "birthday_multiplier", false, 2, 100, &r->birthday_pct, "birthday_multiplier",
               e) < 0)
        return -1;
    r->tier_multiplier = true;
    if (jx_bool(spec, "tier_multiplier", false, &r->tier_multiplier, e) < 0) return -1;
    if (whole(spec, "cap_per_order", false, 1, INT64_C(1000000000), &r->cap_per_order,
              "cap_per_order", e) < 0)
        return -1;
    json_t *a = json_object_get(spec, "channels");
    if (a && !json_is_null(a)) {
        if (!json_is_array(a) || json_array_size(a) > LOY_MAX_SCOPE)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "channels",
                                "channels: an array of channels");
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
        {
            int k = -1;
            for (int j = 0; dom_channels[j] && json_is_string(v); j++)
                if (strcmp(dom_channels[j], json_string_value(v)) == 0) k = j;
            if (k < 0)
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "channels",
                                    "channels[%zu]: not a channel", i);
            r->channels |= 1u << k;
        }
    }
    a = json_object_get(spec, "store_ids");
    if (a && !json_is_null(a)) {
        if (!json_is_array(a) || json_array_size(a) > LOY_MAX_SCOPE)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "store_ids",
                                "store_ids: an array of at most %d store ids", LOY_MAX_SCOPE);
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
        {
            if (!json_is_integer(v) || json_integer_value(v) <= 0)
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "store_ids",
                                    "store_ids[%zu]: not a store id", i);
            r->stores[r->n_stores++] = json_integer_value(v);
        }
    }
    a = json_object_get(spec, "categories");
    if (a && !json_is_null(a)) {
        if (!json_is_array(a) || json_array_size(a) > LOY_MAX_SCOPE)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "categories",
                                "categories: an array of at most %d categories", LOY_MAX_SCOPE);
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
        {
            if (!json_is_string(v) || !*json_string_value(v))
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "categories",
                                    "categories[%zu]: not a category", i);
            r->categories[r->n_categories++] = strdup(json_string_value(v));
        }
    }
    return 0;
}

static void rule_free(loy_rule *r)
{
    for (int i = 0; i < r->n_categories; i++)
        free(r->categories[i]);
    r->n_categories = 0;
}

/* ---------------- settings ---------------- */

static int parse_settings(json_t *body, loy_config *cfg, siyu_err *e)
{
    static const char *const keys[] = {"points_expiry",      "pending_days",
                                       "max_points_per_day", "redeem_points_per_yuan",
                                       "referral",           NULL};
    static const char *const exp_keys[] = {"mode", "months", NULL};
    static const char *const ref_keys[] = {"referrer_points", NULL};
    cfg->expiry = LOY_EXPIRY_END_OF_NEXT_YEAR;
    cfg->expiry_months = 24;
    cfg->pending_days = 0;
    cfg->max_points_per_day = 0;
    cfg->redeem_points_per_yuan = 100;
    cfg->referral_points = 0;
    if (!body) return 0;
    if (only(body, keys, "", e)) return -1;
    json_t *x = json_object_get(body, "points_expiry");
    if (x && !json_is_null(x)) {
        if (only(x, exp_keys, "points_expiry", e)) return -1;
        static const char *const modes[] = {"months", "end_of_next_year", "never", NULL};
        int mi;
        siyu_err sub;
        siyu_err_init(&sub);
        if (jx_enum(x, "mode", true, modes, &mi, &sub) < 0) {
            siyu_err_clear(&sub);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "points_expiry.mode",
                                "points_expiry.mode: one of months, end_of_next_year, never");
        }
        cfg->expiry = (loy_expiry)mi;
        int64_t m = 24;
        if (whole(x, "months", mi == 0, 1, 120, &m, "points_expiry.months", e) < 0) return -1;
        cfg->expiry_months = (int)m;
    }
    if (whole(body, "pending_days", false, 0, 365, &cfg->pending_days, "pending_days", e) < 0 ||
        whole(body, "max_points_per_day", false, 1, INT64_C(1000000000), &cfg->max_points_per_day,
              "max_points_per_day", e) < 0 ||
        whole(body, "redeem_points_per_yuan", false, 1, 100000, &cfg->redeem_points_per_yuan,
              "redeem_points_per_yuan", e) < 0)
        return -1;
    x = json_object_get(body, "referral");
    if (x && !json_is_null(x)) {
        if (only(x, ref_keys, "referral", e) ||
            whole(x, "referrer_points", false, 0, INT64_C(1000000000), &cfg->referral_points,
                  "referral.referrer_points", e) < 0)
            return -1;
    }
    return 0;
}

/* ---------------- the shared copy ---------------- */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static loy_config *cache;

void loy_config_release(loy_config *cfg)
{
    if (!cfg) return;
    pthread_mutex_lock(&cache_lock);
    bool last = --cfg->refs == 0;
    pthread_mutex_unlock(&cache_lock);
    if (!last) return;
    for (int i = 0; i < cfg->n_rules; i++)
        rule_free(&cfg->rules[i]);
    json_decref(cfg->tiers_json);
    json_decref(cfg->settings_json);
    free(cfg);
}

static json_t *setting_json(store_conn *c, const char *key)
{
    store_stmt *s = store_q(c, Q_SETTING_GET);
    store_bind_text(s, 1, key);
    json_t *v = NULL;
    if (store_step(s) == STORE_ROW) v = json_loads(store_col_text(s, 0), 0, NULL);
    store_reset(s);
    return v;
}

static void read_version(store_conn *c, char *out, size_t len)
{
    store_stmt *s = store_q(c, Q_SETTING_GET);
    store_bind_text(s, 1, KEY_VERSION);
    snprintf(out, len, "%s", store_step(s) == STORE_ROW ? store_col_text(s, 0) : "");
    store_reset(s);
}

/* Bounds need one metric and one window above the first tier. The key is a hash of
 * the version, so any configuration change retires every bound taken before it. */
static void qualify_shape(loy_config *cfg)
{
    cfg->qualify_key = 0;
    if (cfg->n_tiers < 2) return;
    for (int i = 2; i < cfg->n_tiers; i++)
        if (cfg->tiers[i].metric != cfg->tiers[1].metric ||
            cfg->tiers[i].window_months != cfg->tiers[1].window_months)
            return;
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (const char *p = cfg->version; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    cfg->qualify_key = (int64_t)(h >> 2) | 1; /* positive, never 0 */
    cfg->qualify_metric = cfg->tiers[1].metric;
    cfg->qualify_window = cfg->tiers[1].window_months;
}

static loy_config *config_load(store_conn *c, const char *version, siyu_err *e)
{
    loy_config *cfg = calloc(1, sizeof *cfg);
    cfg->refs = 1;
    snprintf(cfg->version, sizeof cfg->version, "%s", version);
    cfg->tiers_json = setting_json(c, KEY_TIERS);
    cfg->settings_json = setting_json(c, KEY_SETTINGS);
    siyu_err sub;
    siyu_err_init(&sub);
    /* what was stored was validated when saved; a failure here is corruption */
    if ((cfg->tiers_json && parse_tiers(cfg->tiers_json, cfg, &sub)) ||
        parse_settings(cfg->settings_json, cfg, &sub)) {
        siyu_err_set(e, SIYU_INTERNAL, NULL, "stored loyalty configuration: %s", sub.message);
        siyu_err_clear(&sub);
        loy_config_release(cfg);
        return NULL;
    }
    store_stmt *s = store_q(c, Q_EARN_RULE_LIST);
    while (store_step(s) == STORE_ROW) {
        if (!store_col_int(s, 3) || cfg->n_rules == LOY_MAX_RULES) continue;
        json_t *spec = json_loads(store_col_text(s, 2), 0, NULL);
        loy_rule *r = &cfg->rules[cfg->n_rules];
        memset(r, 0, sizeof *r);
        r->id = store_col_int(s, 0);
        if (spec && parse_rule(spec, r, &sub) == 0)
            cfg->n_rules++;
        else
            rule_free(r);
        siyu_err_clear(&sub);
        json_decref(spec);
    }
    store_reset(s);
    qualify_shape(cfg);
    return cfg;
}

static loy_config *config_of_version(store_conn *c, const char *version, siyu_err *e)
{
    pthread_mutex_lock(&cache_lock);
    if (cache && strcmp(cache->version, version) == 0) {
        cache->refs++;
        loy_config *cfg = cache;
        pthread_mutex_unlock(&cache_lock);
        return cfg;
    }
    pthread_mutex_unlock(&cache_lock);
    loy_config *cfg = config_load(c, version, e);
    if (!cfg) return NULL;
    pthread_mutex_lock(&cache_lock);
    loy_config *old = cache;
    cache = cfg;
    cfg->refs++; /* the cache's reference */
    pthread_mutex_unlock(&cache_lock);
    loy_config_release(old);
    return cfg;
}

loy_config *loy_config_get(store_conn *c, siyu_err *e)
{
    char version[40];
    read_version(c, version, sizeof version);
    return config_of_version(c, version, e);
}

loy_config *loy_config_get_dom(dom *d, siyu_err *e)
{
    char version[40];
    const char *known = dom_memo_setting_get(d->memo, KEY_VERSION);
    if (known) {
        snprintf(version, sizeof version, "%s", known);
    } else {
        read_version(d->conn, version, sizeof version);
        dom_memo_setting_add(d->memo, KEY_VERSION, version);
    }
    return config_of_version(d->conn, version, e);
}

static int bump_version(dom *d, siyu_err *e)
{
    unsigned char r[16];
    char hex[33];
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(hex, sizeof hex, r, sizeof r);
    store_stmt *s = store_q(d->conn, Q_SETTING_PUT);
    store_bind_text(s, 1, KEY_VERSION);
    store_bind_text(s, 2, hex);
    return store_exec(s, e);
}

static int put_setting(dom *d, const char *key, json_t *v, siyu_err *e)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    store_stmt *s = store_q(d->conn, Q_SETTING_PUT);
    store_bind_text(s, 1, key);
    store_bind_text(s, 2, text);
    int rc = store_exec(s, e);
    free(text);
    return rc ? rc : bump_version(d, e);
}

/* ---------------- the API ---------------- */

int loyalty_tiers_put(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    loy_config probe = {0};
    if (parse_tiers(body, &probe, e)) return -1;
    if (put_setting(d, KEY_TIERS, body, e)) return -1;
    loy_config *cfg = loy_config_get(d->conn, e);
    if (!cfg) return -1;
    /* Members move to what the new ladder gives them now, so no one sits below the
     * tier its rules say (the checker's invariant) from the moment the ladder changes. */
    int rc = loy_tier_reevaluate_all(d, cfg, e);
    loy_config_release(cfg);
    if (rc) return -1;
    return loyalty_tiers_get(d, out, e) < 0 ? -1 : 200;
}

int loyalty_tiers_get(dom *d, json_t **out, siyu_err *e)
{
    loy_config *cfg = loy_config_get(d->conn, e);
    if (!cfg) return -1;
    if (out) {
        json_t *tiers = json_array();
        for (int i = 0; i < cfg->n_tiers; i++) {
            json_t *t = loy_tier_json(cfg, i);
            json_t *q = json_object_get(
                json_array_get(json_object_get(cfg->tiers_json, "tiers"), (size_t)i), "qualify");
            if (q) {
                json_t *qc = json_deep_copy(q);
                if (!json_object_get(qc, "window_months"))
                    json_object_set_new(qc, "window_months", json_integer(12));
                json_object_set_new(t, "qualify", qc);
            } else {
                json_object_set_new(t, "qualify", json_null());
            }
            json_array_append_new(tiers, t);
        }
        static const char *const sched[] = {"anniversary", "calendar_year", "none"};
        *out = json_pack("{s:o, s:{s:s, s:I}}", "tiers", tiers, "review", "schedule",
                         sched[cfg->review], "grace_days", (json_int_t)cfg->grace_days);
    }
    loy_config_release(cfg);
    return 200;
}

static json_t *rule_row_json(store_stmt *s)
{
    json_t *spec = json_loads(store_col_text(s, 2), 0, NULL);
    if (!spec) spec = json_object();
    json_object_set_new(spec, "id", json_integer(store_col_int(s, 0)));
    json_object_set_new(spec, "active", json_boolean(store_col_int(s, 3)));
    json_object_set_new(spec, "created_at", dom_time(store_col_int(s, 4)));
    return spec;
}

int loyalty_rules_create(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    loy_rule r;
    memset(&r, 0, sizeof r);
    int rc = parse_rule(body, &r, e);
    rule_free(&r);
    if (rc) return -1;
    for (int i = 0; i < r.n_stores; i++)
        if (dom_require_store(d, r.stores[i], "store_ids", e)) return -1;
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    store_stmt *s = store_q(d->conn, Q_EARN_RULE_INSERT);
    store_bind_text(s, 1, json_string_value(json_object_get(body, "name")));
    store_bind_text(s, 2, text);
    store_bind_int(s, 3, d->now);
    rc = store_exec(s, e);
    free(text);
    if (rc || bump_version(d, e)) return -1;
    int64_t id = store_last_id(d->conn);
    if (out) {
        s = store_q(d->conn, Q_EARN_RULE_LIST);
        while (store_step(s) == STORE_ROW)
            if (store_col_int(s, 0) == id) *out = rule_row_json(s);
        store_reset(s);
    }
    return 201;
}

int loyalty_rules_list(dom *d, json_t **out, siyu_err *e)
{
    json_t *items = json_array();
    store_stmt *s = store_q(d->conn, Q_EARN_RULE_LIST);
    while (store_step(s) == STORE_ROW)
        json_array_append_new(items, rule_row_json(s));
    store_reset(s);
    *out = json_pack("{s:o}", "items", items);
    return 200;
}

int loyalty_rules_deactivate(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_EARN_RULE_DEACTIVATE);
    store_bind_int(s, 1, id);
    if (store_exec(s, e)) return -1;
    if (store_changes(d->conn) != 1)
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "earn rule %lld not found", (long long)id);
    if (bump_version(d, e)) return -1;
    if (out) {
        s = store_q(d->conn, Q_EARN_RULE_LIST);
        while (store_step(s) == STORE_ROW)
            if (store_col_int(s, 0) == id) *out = rule_row_json(s);
        store_reset(s);
    }
    return 200;
}

int loyalty_settings_put(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    loy_config probe = {0};
    if (parse_settings(body, &probe, e)) return -1;
    if (put_setting(d, KEY_SETTINGS, body, e)) return -1;
    return loyalty_settings_get(d, out, e) < 0 ? -1 : 200;
}

int loyalty_settings_get(dom *d, json_t **out, siyu_err *e)
{
    loy_config *cfg = loy_config_get(d->conn, e);
    if (!cfg) return -1;
    static const char *const modes[] = {"months", "end_of_next_year", "never"};
    json_t *exp = json_pack("{s:s}", "mode", modes[cfg->expiry]);
    if (cfg->expiry == LOY_EXPIRY_MONTHS)
        json_object_set_new(exp, "months", json_integer(cfg->expiry_months));
    *out = json_pack("{s:o, s:I, s:o, s:I, s:{s:I}}", "points_expiry", exp, "pending_days",
                     (json_int_t)cfg->pending_days, "max_points_per_day",
                     cfg->max_points_per_day ? json_integer(cfg->max_points_per_day) : json_null(),
                     "redeem_points_per_yuan", (json_int_t)cfg->redeem_points_per_yuan, "referral",
                     "referrer_points", (json_int_t)cfg->referral_points);
    loy_config_release(cfg);
    return 200;
}
