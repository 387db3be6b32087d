/* routes_segments.c — audiences over HTTP: count, breakdown, saved segments with their
 * members and CSV export, tags. Answers come from the in-memory member index; saved
 * segments, tags and the RFM / lifecycle settings are kept in the store so the index can
 * be rebuilt at start-up. */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/jsonx.h"
#include "base/phone.h"
#include "base/timeutil.h"
#include "http/router.h"
#include "import/csv.h"
#include "segment/eval.h"
#include "segment/attrs.h"
#include "segment/index.h"
#include "views/audience.h"
#include "views/views.h"
#include "writer/writer.h"

static seg_index *index_of(http_req *r, siyu_err *e)
{
    struct views *v = http_views(r);
    if (!v) {
        siyu_err_set(e, SIYU_INTERNAL, NULL, "the member index is not loaded");
        return NULL;
    }
    return views_index(v);
}

/* A guide counts inside their members, a store manager inside their store. */
static int scope_of(http_req *r, seg_expr **scope, siyu_err *e)
{
    char text[64];
    *scope = NULL;
    if (r->d.who.role == ROLE_GUIDE)
        snprintf(text, sizeof text, "guide = %lld", (long long)r->d.who.staff_id);
    else if (r->d.who.role == ROLE_STORE_MANAGER)
        snprintf(text, sizeof text, "store = %lld", (long long)r->d.who.store_id);
    else
        return 0;
    seg_error se;
    if (seg_parse(text, NULL, scope, &se))
        return siyu_err_set(e, SIYU_INTERNAL, NULL, "scope: %s", se.msg);
    return 0;
}

static int parse_expr(seg_index *idx, const char *text, seg_expr **out, siyu_err *e)
{
    seg_error se;
    if (seg_parse(text, idx, out, &se))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "expr", "expr: %s", se.msg);
    return 0;
}

int h_segments_count(http_req *r, siyu_err *e);
int h_segments_count(http_req *r, siyu_err *e)
{
    static const char *const allowed[] = {"expr", NULL};
    const char *text;
    if (jx_only(r->body, allowed, NULL, e) || jx_str(r->body, "expr", true, &text, e) < 0)
        return -1;
    seg_index *idx = index_of(r, e);
    seg_expr *ex = NULL, *scope = NULL;
    if (!idx || parse_expr(idx, text, &ex, e) || scope_of(r, &scope, e)) {
        seg_expr_free(ex);
        return -1;
    }
    uint64_t n = 0, t0 = clock_mono_ns();
    seg_error se;
    int rc = seg_count(idx, ex, scope, &n, &se);
    double ms = (double)(clock_mono_ns() - t0) / 1e6;
    char *canon = seg_print(ex);
    seg_expr_free(ex);
    seg_expr_free(scope);
    if (rc) {
        free(canon);
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "expr", "expr: %s", se.msg);
    }
    r->status = 200;
    r->resp = json_pack("{s:I, s:f, s:s}", "count", (json_int_t)n, "took_ms", ms, "expr", canon);
    free(canon);
    return 0;
}

int h_segments_breakdown(http_req *r, siyu_err *e);
int h_segments_breakdown(http_req *r, siyu_err *e)
{
    static const char *const allowed[] = {"expr", "by", NULL};
    const char *text, *by;
    if (jx_only(r->body, allowed, NULL, e) || jx_str(r->body, "expr", true, &text, e) < 0 ||
        jx_str(r->body, "by", true, &by, e) < 0)
        return -1;
    seg_index *idx = index_of(r, e);
    seg_expr *ex = NULL, *scope = NULL;
    if (!idx || parse_expr(idx, text, &ex, e) || scope_of(r, &scope, e)) {
        seg_expr_free(ex);
        return -1;
    }
    seg_breakdown b;
    seg_error se;
    int rc = seg_breakdown_by(idx, ex, scope, by, &b, &se);
    seg_expr_free(ex);
    seg_expr_free(scope);
    if (rc) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "by", "by: %s", se.msg);
    json_t *rows = json_array();
    for (size_t i = 0; i < b.n; i++)
        json_array_append_new(rows, json_pack("{s:s, s:I, s:I}", "label", b.rows[i].label, "value",
                                              (json_int_t)b.rows[i].value, "count",
                                              (json_int_t)b.rows[i].count));
    r->status = 200;
    r->resp = json_pack("{s:s, s:I, s:o}", "by", by, "total", (json_int_t)b.total, "rows", rows);
    seg_breakdown_release(&b);
    return 0;
}

/* ---------------- saved segments ---------------- */

static json_t *segment_row(store_stmt *s)
{
    char a[40], b[40];
    time_format_rfc3339(store_col_int(s, 3), a, sizeof a);
    time_format_rfc3339(store_col_int(s, 4), b, sizeof b);
    return json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)store_col_int(s, 0), "name",
                     store_col_text(s, 1), "expr", store_col_text(s, 2), "created_at", a,
                     "updated_at", b);
}

/* A tag, segment or threshold write, run by the group committer through the domain. */
typedef struct audience_write {
    http_req *r;
    const char *name, *expr;
    int64_t id;
    const int64_t *ids;
    size_t n;
    bool add;
    audience_settings settings;
} audience_write;

static dom write_dom(audience_write *w, store_conn *c, dom_changes *changes)
{
    dom d = w->r->d;
    d.conn = c;
    d.changes = changes;
    return d;
}

static int segment_create_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    audience_write *w = arg;
    dom d = write_dom(w, c, changes);
    return dom_segment_create(&d, w->name, w->expr, &w->id, e);
}

static int tag_create_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    audience_write *w = arg;
    dom d = write_dom(w, c, changes);
    return dom_tag_create(&d, w->name, w->expr, &w->id, e);
}

static int tag_members_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    audience_write *w = arg;
    dom d = write_dom(w, c, changes);
    return dom_tag_members(&d, w->r->id, w->ids, w->n, w->add, e);
}

static int settings_fn(store_conn *c, dom_changes *changes, void *arg, siyu_err *e)
{
    audience_write *w = arg;
    dom d = write_dom(w, c, changes);
    siyu_err le;
    siyu_err_init(&le);
    /* what the body leaves out stays as stored (a broken stored value: its default) */
    audience_settings_load(c, &w->settings, &le);
    siyu_err_clear(&le);
    if (store_conn_check(c, e) || audience_settings_update(&w->settings, w->r->body, e) ||
        audience_settings_save(c, &w->settings, e))
        return -1;
    dom_note(&d, DOM_CHANGE_AUDIENCE_SETTINGS, 0, 0);
    return 0;
}

int h_segments_create(http_req *r, siyu_err *e);
int h_segments_create(http_req *r, siyu_err *e)
{
    static const char *const allowed[] = {"name", "expr", NULL};
    const char *name, *text;
    if (jx_only(r->body, allowed, NULL, e) || jx_str(r->body, "name", true, &name, e) < 0 ||
        jx_str(r->body, "expr", true, &text, e) < 0)
        return -1;
    if (!*name) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: must not be empty");
    seg_index *idx = index_of(r, e);
    seg_expr *ex = NULL;
    if (!idx || parse_expr(idx, text, &ex, e)) return -1;
    char *canon = seg_print(ex);
    seg_expr_free(ex);
    audience_write w = {.r = r, .name = name, .expr = canon};
    int rc = writer_submit(http_writer(r), segment_create_fn, &w, r->d.conn, e);
    if (rc == 0) {
        /* the index has the segment: the commit observer defined it. The answer is what was
         * written, not a read after the commit: a read that failed there answered 500 for a
         * segment that was saved (and its retry 409) */
        char at[40];
        time_format_rfc3339(r->d.now, at, sizeof at);
        r->resp = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)w.id, "name", name,
                            "expr", canon, "created_at", at, "updated_at", at);
        r->status = 201;
    }
    free(canon);
    return rc;
}

int h_segments_list(http_req *r, siyu_err *e);
int h_segments_list(http_req *r, siyu_err *e)
{
    int64_t cursor;
    int limit;
    if (req_page(r, &cursor, &limit, e)) return -1;
    json_t *items = json_array();
    int64_t last = 0;
    store_stmt *s = store_q(r->d.conn, Q_SEGMENT_LIST);
    store_bind_int(s, 1, cursor);
    store_bind_int(s, 2, limit);
    while (store_step(s) == STORE_ROW) {
        last = store_col_int(s, 0);
        json_array_append_new(items, segment_row(s));
    }
    r->status = 200;
    r->resp = dom_list(items, limit, last);
    return 0;
}

/* Loads saved segment r->id and its audience expression (`segment:ID`). */
static int saved_expr(http_req *r, seg_index *idx, seg_expr **ex, json_t **row, siyu_err *e)
{
    store_stmt *s = store_q(r->d.conn, Q_SEGMENT_GET);
    store_bind_int(s, 1, r->id);
    if (store_step(s) != STORE_ROW)
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "segment %lld does not exist",
                            (long long)r->id);
    if (row) *row = segment_row(s);
    store_reset(s);
    char text[64];
    snprintf(text, sizeof text, "segment:%lld", (long long)r->id);
    return parse_expr(idx, text, ex, e);
}

int h_segments_get(http_req *r, siyu_err *e);
int h_segments_get(http_req *r, siyu_err *e)
{
    seg_index *idx = index_of(r, e);
    seg_expr *ex = NULL, *scope = NULL;
    json_t *row = NULL;
    if (!idx || saved_expr(r, idx, &ex, &row, e) || scope_of(r, &scope, e)) {
        json_decref(row);
        seg_expr_free(ex);
        return -1;
    }
    uint64_t n = 0;
    seg_error se;
    int rc = seg_count(idx, ex, scope, &n, &se);
    seg_expr_free(ex);
    seg_expr_free(scope);
    if (rc) {
        json_decref(row);
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "expr", "expr: %s", se.msg);
    }
    json_object_set_new(row, "count", json_integer((json_int_t)n));
    r->status = 200;
    r->resp = row;
    return 0;
}

int h_segments_members(http_req *r, siyu_err *e);
int h_segments_members(http_req *r, siyu_err *e)
{
    int64_t cursor;
    int limit;
    if (req_page(r, &cursor, &limit, e)) return -1;
    seg_index *idx = index_of(r, e);
    seg_expr *ex = NULL, *scope = NULL;
    if (!idx || saved_expr(r, idx, &ex, NULL, e) || scope_of(r, &scope, e)) {
        seg_expr_free(ex);
        return -1;
    }
    int64_t *ids = malloc((size_t)limit * sizeof *ids);
    size_t n = 0;
    seg_error se;
    int rc = seg_page(idx, ex, scope, cursor, (size_t)limit, ids, &n, &se);
    seg_expr_free(ex);
    seg_expr_free(scope);
    if (rc) {
        free(ids);
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "expr", "expr: %s", se.msg);
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *m = NULL;
        siyu_err me;
        siyu_err_init(&me);
        if (members_get(&r->d, ids[i], &m, &me) == 200) json_array_append_new(items, m);
        siyu_err_clear(&me);
    }
    r->status = 200;
    r->resp = dom_list(items, limit, n ? ids[n - 1] : 0);
    free(ids);
    return 0;
}

/* A CSV cell: quoted when needed, and a leading = + - @ defused so a spreadsheet never
 * runs it as a formula. */
static void csv_put(char **buf, size_t *len, size_t *cap, const char *v)
{
    char tmp[512];
    size_t n = 0;
    int quote = strpbrk(v, ",\"\n") != NULL;
    if (quote) tmp[n++] = '"';
    if (*v == '=' || *v == '+' || *v == '-' || *v == '@') tmp[n++] = '\'';
    for (const char *p = v; *p && n < sizeof tmp - 4; p++) {
        if (*p == '"') tmp[n++] = '"';
        tmp[n++] = *p;
    }
    if (quote) tmp[n++] = '"';
    if (*len + n + 2 > *cap) {
        *cap = (*cap + n + 2) * 2;
        *buf = realloc(*buf, *cap);
    }
    memcpy(*buf + *len, tmp, n);
    *len += n;
}

int h_segments_export(http_req *r, siyu_err *e);
int h_segments_export(http_req *r, siyu_err *e)
{
    seg_index *idx = index_of(r, e);
    seg_expr *ex = NULL, *scope = NULL;
    if (!idx || saved_expr(r, idx, &ex, NULL, e) || scope_of(r, &scope, e)) {
        seg_expr_free(ex);
        return -1;
    }
    seg_audience a;
    seg_error se;
    /* ?consent=CHANNEL: only members with a granted marketing consent for the channel
     * (the list to hand to an outreach tool); every row lists the member's marketing
     * consents in its last column either way */
    const char *want = req_query(r, "consent");
    if (want) {
        bool known = false;
        for (int i = 0; dom_consent_channels[i]; i++)
            known = known || strcmp(dom_consent_channels[i], want) == 0;
        if (!known) {
            seg_expr_free(ex);
            seg_expr_free(scope);
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "consent",
                                "consent: one of sms, wechat_template, wecom, public_account");
        }
    }
    int rc = seg_select(idx, ex, scope, &a, &se);
    seg_expr_free(ex);
    seg_expr_free(scope);
    if (rc) return siyu_err_set(e, SIYU_UNPROCESSABLE, "expr", "expr: %s", se.msg);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    const char *header =
        "member_id,name,phone,store_id,guide_id,city,joined_at,marketing_consents\n";
    len = strlen(header);
    memcpy(buf, header, len);
    bool mask = r->d.who.role == ROLE_GUIDE;
    for (size_t i = 0; i < a.count; i++) {
        json_t *m = NULL;
        siyu_err me;
        siyu_err_init(&me);
        if (members_get(&r->d, a.ids[i], &m, &me) != 200) {
            siyu_err_clear(&me);
            continue;
        }
        char consents[96] = "";
        bool wanted = !want;
        size_t ci;
        json_t *cv;
        json_array_foreach(json_object_get(m, "consents"), ci, cv)
        {
            const char *pu = json_string_value(json_object_get(cv, "purpose"));
            const char *ch = json_string_value(json_object_get(cv, "channel"));
            if (!pu || !ch || strcmp(pu, "marketing") ||
                !json_is_true(json_object_get(cv, "granted")))
                continue;
            size_t cl = strlen(consents);
            snprintf(consents + cl, sizeof consents - cl, "%s%s", cl ? ";" : "", ch);
            if (want && strcmp(want, ch) == 0) wanted = true;
        }
        if (!wanted) {
            json_decref(m);
            continue;
        }
        char id[32], store[32], guide[32], phone[40] = "";
        const char *ph = json_string_value(json_object_get(m, "phone"));
        if (ph && mask && !strchr(ph, '*'))
            phone_mask(ph, phone, sizeof phone);
        else if (ph)
            snprintf(phone, sizeof phone, "%s", ph);
        snprintf(id, sizeof id, "%lld", (long long)a.ids[i]);
        json_t *st = json_object_get(m, "store_id"), *gd = json_object_get(m, "guide_id");
        store[0] = 0;
        if (json_is_integer(st))
            snprintf(store, sizeof store, "%lld", (long long)json_integer_value(st));
        guide[0] = 0;
        if (json_is_integer(gd))
            snprintf(guide, sizeof guide, "%lld", (long long)json_integer_value(gd));
        const char *cells[] = {id,
                               json_string_value(json_object_get(m, "name"))
                                   ? json_string_value(json_object_get(m, "name"))
                                   : "",
                               phone,
                               store,
                               guide,
                               json_string_value(json_object_get(m, "city"))
                                   ? json_string_value(json_object_get(m, "city"))
                                   : "",
                               json_string_value(json_object_get(m, "joined_at"))
                                   ? json_string_value(json_object_get(m, "joined_at"))
                                   : "",
                               consents};
        for (size_t k = 0; k < 8; k++) {
            csv_put(&buf, &len, &cap, cells[k]);
            buf[len++] = k < 7 ? ',' : '\n'; /* csv_put always leaves room for two bytes */
        }
        json_decref(m);
    }
    buf[len] = 0;
    seg_audience_release(&a);
    r->status = 200;
    r->text = buf;
    r->content_type = "text/csv; charset=utf-8";
    return 0;
}

/* ---------------- tags ---------------- */

int h_tags_create(http_req *r, siyu_err *e);
int h_tags_create(http_req *r, siyu_err *e)
{
    static const char *const allowed[] = {"name", "expr", NULL};
    const char *name, *text = NULL;
    if (jx_only(r->body, allowed, NULL, e) || jx_str(r->body, "name", true, &name, e) < 0 ||
        jx_str(r->body, "expr", false, &text, e) < 0)
        return -1;
    if (!*name) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: must not be empty");
    seg_index *idx = index_of(r, e);
    if (!idx) return -1;
    char *canon = NULL;
    if (text) {
        seg_expr *ex;
        if (parse_expr(idx, text, &ex, e)) return -1;
        canon = seg_print(ex);
        seg_expr_free(ex);
    }
    if (seg_index_tag_find(idx, name) >= 0) {
        free(canon);
        return siyu_err_set(e, SIYU_CONFLICT, "name", "name: a tag called %s exists", name);
    }
    audience_write w = {.r = r, .name = name, .expr = canon};
    int rc = writer_submit(http_writer(r), tag_create_fn, &w, r->d.conn, e);
    if (rc == 0) {
        r->status = 201;
        r->resp =
            json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)w.id, "name", name, "kind",
                      canon ? "rule" : "manual", "expr", canon ? json_string(canon) : json_null());
    }
    free(canon);
    return rc ? -1 : 0;
}

int h_tags_list(http_req *r, siyu_err *e);
int h_tags_list(http_req *r, siyu_err *e)
{
    seg_index *idx = index_of(r, e);
    if (!idx) return -1;
    seg_expr *scope = NULL;
    if (scope_of(r, &scope, e)) return -1;
    json_t *items = json_array();
    store_stmt *s = store_q(r->d.conn, Q_TAG_LIST);
    while (store_step(s) == STORE_ROW) {
        const char *name = store_col_text(s, 1);
        json_t *t =
            json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)store_col_int(s, 0), "name", name,
                      "kind", store_col_text(s, 2), "expr",
                      store_col_null(s, 3) ? json_null() : json_string(store_col_text(s, 3)));
        /* members now carrying it, in the caller's scope */
        json_t *q = json_string(name);
        char *quoted = json_dumps(q, JSON_ENCODE_ANY);
        json_decref(q);
        char text[600];
        snprintf(text, sizeof text, "tag:%s", quoted);
        free(quoted);
        seg_expr *ex;
        seg_error se;
        uint64_t n = 0;
        if (seg_parse(text, idx, &ex, &se) == 0) {
            seg_count(idx, ex, scope, &n, &se);
            seg_expr_free(ex);
        }
        json_object_set_new(t, "count", json_integer((json_int_t)n));
        json_array_append_new(items, t);
    }
    seg_expr_free(scope);
    r->status = 200;
    r->resp = json_pack("{s:o, s:n}", "items", items, "next_cursor");
    return 0;
}

/* Loads manual tag r->id: its name and index number. A rule tag is refused. */
static int manual_tag_of(http_req *r, seg_index *idx, int *tag, siyu_err *e)
{
    store_stmt *s = store_q(r->d.conn, Q_TAG_GET);
    store_bind_int(s, 1, r->id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "tag %lld does not exist", (long long)r->id);
    }
    char name[256];
    snprintf(name, sizeof name, "%s", store_col_text(s, 1));
    bool rule = strcmp(store_col_text(s, 2), "rule") == 0;
    store_reset(s);
    if (rule)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, NULL,
                            "tag %s is a rule tag: its members follow its expression", name);
    *tag = seg_index_tag_find(idx, name);
    return 0;
}

/* Writes the tag rows of ids (added or removed) through the group committer; the index
 * follows from the commit. */
static int tag_write(http_req *r, const int64_t *ids, size_t n, bool add, siyu_err *e)
{
    audience_write w = {.r = r, .ids = ids, .n = n, .add = add};
    return writer_submit(http_writer(r), tag_members_fn, &w, r->d.conn, e);
}

static int push_id(int64_t **ids, size_t *n, size_t *cap, int64_t id)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        int64_t *p = realloc(*ids, nc * sizeof *p);
        if (!p) return -1;
        *ids = p;
        *cap = nc;
    }
    (*ids)[(*n)++] = id;
    return 0;
}

/* The member a phone names, live and in the caller's scope; fills e (no field) when
 * there is none. */
static int phone_member(http_req *r, const char *text, int64_t *id, siyu_err *e)
{
    char norm[32];
    if (phone_normalise(text, norm, sizeof norm))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, NULL, "not a valid phone number");
    store_stmt *s = store_q(r->d.conn, Q_IDENTITY_FIND);
    store_bind_text(s, 1, "phone");
    store_bind_text(s, 2, "");
    store_bind_text(s, 3, norm);
    int64_t owner = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    if (!owner) return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "no member with phone %s", norm);
    siyu_err me;
    siyu_err_init(&me);
    /* merges move identities, so this is the survivor already; follow merges anyway */
    if ((owner = members_live_id(&r->d, owner, NULL, &me)) < 0 ||
        members_get(&r->d, owner, NULL, &me) < 0) {
        /* a member out of the caller's scope answers as a phone nobody has */
        if (me.code == SIYU_PERMISSION_DENIED)
            siyu_err_set(e, SIYU_NOT_FOUND, NULL, "no member with phone %s", norm);
        else
            siyu_err_set(e, me.code, NULL, "%s", me.message);
        siyu_err_clear(&me);
        return -1;
    }
    *id = owner;
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* POST /tags/{id}/members {member_ids?, phones?, expr?} and .../members/remove (the same
 * body): a manual tag's members, by id, by phone or by audience (`segment:3` for a saved
 * segment). Every member must exist and be in the caller's scope, or nothing is written. */
static int tag_members_json(http_req *r, bool add, siyu_err *e)
{
    static const char *const allowed[] = {"member_ids", "phones", "expr", NULL};
    if (jx_only(r->body, allowed, NULL, e)) return -1;
    seg_index *idx = index_of(r, e);
    int tag;
    if (!idx || manual_tag_of(r, idx, &tag, e)) return -1;
    /* gather member ids: listed, by phone, by audience */
    size_t n = 0, cap = 0;
    int64_t *ids = NULL;
    json_t *list = json_object_get(r->body, "member_ids");
    json_t *phones = json_object_get(r->body, "phones");
    const char *text = NULL;
    if (jx_str(r->body, "expr", false, &text, e) < 0) goto fail;
    if (list && !json_is_array(list)) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "member_ids", "member_ids: not an array");
        goto fail;
    }
    if (phones && !json_is_array(phones)) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "phones", "phones: not an array");
        goto fail;
    }
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        char f[32];
        snprintf(f, sizeof f, "member_ids[%zu]", i);
        if (!json_is_integer(v)) {
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: not an integer", f);
            goto fail;
        }
        siyu_err me;
        siyu_err_init(&me);
        if (members_get(&r->d, json_integer_value(v), NULL, &me) < 0) {
            siyu_err_set(e, me.code, f, "%s: %s", f, me.message);
            siyu_err_clear(&me);
            goto fail;
        }
        if (push_id(&ids, &n, &cap, json_integer_value(v))) goto oom;
    }
    json_array_foreach(phones, i, v)
    {
        char f[32];
        snprintf(f, sizeof f, "phones[%zu]", i);
        int64_t id;
        siyu_err me;
        siyu_err_init(&me);
        if (!json_is_string(v)) {
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, f, "%s: not a string", f);
            goto fail;
        }
        if (phone_member(r, json_string_value(v), &id, &me)) {
            siyu_err_set(e, me.code, f, "%s: %s", f, me.message);
            siyu_err_clear(&me);
            goto fail;
        }
        if (push_id(&ids, &n, &cap, id)) goto oom;
    }
    if (text) {
        seg_expr *ex, *scope = NULL;
        if (parse_expr(idx, text, &ex, e) || scope_of(r, &scope, e)) goto fail;
        seg_audience a;
        seg_error se;
        int rc = seg_select(idx, ex, scope, &a, &se);
        seg_expr_free(ex);
        seg_expr_free(scope);
        if (rc) {
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, "expr", "expr: %s", se.msg);
            goto fail;
        }
        for (size_t k = 0; k < a.count; k++)
            if (push_id(&ids, &n, &cap, a.ids[k])) {
                seg_audience_release(&a);
                goto oom;
            }
        seg_audience_release(&a);
    }
    if (tag_write(r, ids, n, add, e)) goto fail;
    free(ids);
    r->status = 200;
    r->resp = json_pack("{s:I, s:I}", "tag_id", (json_int_t)r->id, add ? "added" : "removed",
                        (json_int_t)n);
    return 0;
oom:
    siyu_err_set(e, SIYU_INTERNAL, NULL, "out of memory");
fail:
    free(ids);
    return -1;
}

/* ---------------- tag members from a CSV of phones ---------------- */

static void trim(char *s)
{
    size_t n = strlen(s), a = 0;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = 0;
    while (s[a] == ' ' || s[a] == '\t')
        a++;
    memmove(s, s + a, n - a + 1);
}

/* A record holding nothing but blanks (a file often ends with some). */
static bool csv_blank(const csv_reader *c)
{
    if (c->nfields != 1) return false;
    for (const char *p = csv_field(c, 0); *p; p++)
        if (*p != ' ' && *p != '\t') return false;
    return true;
}

/* Reads the header (the first record that is not blank) and finds the phone column:
 * "phone" (any case) or 手机号 / 手机. -1 when there is none. */
static int csv_phone_column(csv_reader *c)
{
    long line;
    int rc;
    while ((rc = csv_next(c, &line)) == 1 && csv_blank(c))
        ;
    if (rc != 1) return -1;
    for (size_t col = 0; col < c->nfields && col < 256; col++) {
        char cell[64];
        const char *f = csv_field(c, col);
        if (col == 0 && strncmp(f, "\xEF\xBB\xBF", 3) == 0) f += 3; /* a UTF-8 byte order mark */
        snprintf(cell, sizeof cell, "%s", f);
        trim(cell);
        if (strcasecmp(cell, "phone") == 0 || strcmp(cell, "手机号") == 0 ||
            strcmp(cell, "手机") == 0)
            return (int)col;
    }
    return -1;
}

#define CSV_ERRORS_SHOWN 1000 /* a file of a million bad rows must not make a 100 MB answer */

/* POST /tags/{id}/members/csv and .../members/remove/csv: the body is a CSV file whose
 * header names a phone column. Every row is checked first; a bad or unknown phone is
 * reported with its line number, and then nothing is written. */
static int tag_members_csv(http_req *r, bool add, siyu_err *e)
{
    const char *type = MHD_lookup_connection_value((struct MHD_Connection *)r->conn,
                                                   MHD_HEADER_KIND, "Content-Type");
    if (type && (strncasecmp(type, "application/json", 16) == 0 ||
                 strncasecmp(type, "multipart/", 10) == 0))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "Content-Type",
                            "Content-Type: expected text/csv: send the file itself as the body");
    seg_index *idx = index_of(r, e);
    int tag;
    if (!idx || manual_tag_of(r, idx, &tag, e)) return -1;
    /* the one CSV reader (import/csv.h) reads the body as a stream */
    FILE *in = fmemopen((void *)(r->raw ? r->raw : ""), r->raw_len, "r");
    if (!in) return siyu_err_set(e, SIYU_INTERNAL, NULL, "cannot read the body");
    csv_reader c;
    csv_init(&c, in);
    int col = csv_phone_column(&c);
    if (col < 0) {
        csv_free(&c);
        fclose(in);
        return siyu_err_set(
            e, SIYU_INVALID_ARGUMENT, "phone",
            "phone: line 1 must be a header naming a phone column (phone or 手机号)");
    }
    size_t n = 0, cap = 0, rows = 0, rejected = 0;
    int64_t *ids = NULL;
    json_t *errors = json_array();
    int first_bad_line = 0;
    char first_bad[160] = "";
    /* reads run in one snapshot; the write goes to the group committer once all is known */
    bool tx = store_begin(r->d.conn, false, e) == 0;
    int rc = tx ? 0 : -1;
    while (rc == 0) {
        long line;
        int nf = csv_next(&c, &line);
        if (nf == 0) break;
        if (nf == 1 && csv_blank(&c)) continue;
        siyu_err re;
        siyu_err_init(&re);
        int64_t id = 0;
        if (nf < 0) {
            siyu_err_set(&re, SIYU_INVALID_ARGUMENT, NULL,
                         "a quoted field is never closed, or a quote stands inside a field");
        } else {
            char cell[64];
            const char *f = (size_t)col < c.nfields ? csv_field(&c, (size_t)col) : "";
            bool cut = strlen(f) >= sizeof cell;
            snprintf(cell, sizeof cell, "%s", f);
            trim(cell);
            rows++;
            if ((size_t)col >= c.nfields || !*cell)
                siyu_err_set(&re, SIYU_INVALID_ARGUMENT, NULL, "empty");
            else if (cut)
                siyu_err_set(&re, SIYU_INVALID_ARGUMENT, NULL, "not a valid phone number");
            else
                phone_member(r, cell, &id, &re);
        }
        if (store_conn_check(r->d.conn, e)) { /* a failed read is not an unknown phone */
            siyu_err_clear(&re);
            rc = -1;
            break;
        }
        if (re.code != SIYU_OK) {
            if (!rejected++) {
                first_bad_line = (int)line;
                snprintf(first_bad, sizeof first_bad, "%s", re.message);
            }
            if (json_array_size(errors) < CSV_ERRORS_SHOWN)
                json_array_append_new(errors, json_pack("{s:i, s:s, s:s}", "line", (int)line,
                                                        "field", "phone", "message", re.message));
            siyu_err_clear(&re);
            continue;
        }
        if (push_id(&ids, &n, &cap, id)) {
            rc = siyu_err_set(e, SIYU_INTERNAL, NULL, "out of memory");
            break;
        }
    }
    csv_free(&c);
    fclose(in);
    if (tx) store_rollback(r->d.conn);
    if (!rc && rejected)
        rc = siyu_err_set(e, SIYU_INVALID_ARGUMENT, "phone",
                          "phone: %zu of %zu rows rejected, nothing written (line %d: %s)",
                          rejected, rows, first_bad_line, first_bad);
    else if (!rc && rows == 0)
        rc = siyu_err_set(e, SIYU_INVALID_ARGUMENT, "phone", "phone: the file has no rows");
    if (rc) {
        if (rejected) {
            e->details = json_pack("{s:I, s:I, s:o}", "rows", (json_int_t)rows, "rejected",
                                   (json_int_t)rejected, "errors", errors);
            errors = NULL;
        }
        json_decref(errors);
        free(ids);
        return -1;
    }
    json_decref(errors);
    /* a phone listed twice is one member */
    qsort(ids, n, sizeof *ids, cmp_id);
    size_t distinct = 0;
    for (size_t k = 0; k < n; k++)
        if (k == 0 || ids[k] != ids[k - 1]) ids[distinct++] = ids[k];
    rc = tag_write(r, ids, distinct, add, e);
    free(ids);
    if (rc) return -1;
    r->status = 200;
    r->resp = json_pack("{s:I, s:I, s:I}", "tag_id", (json_int_t)r->id, "rows", (json_int_t)rows,
                        add ? "added" : "removed", (json_int_t)distinct);
    return 0;
}

/* The same routes take JSON or, at .../csv (a raw body), a CSV file. */
int h_tags_add(http_req *r, siyu_err *e);
int h_tags_add(http_req *r, siyu_err *e)
{
    return r->body ? tag_members_json(r, true, e) : tag_members_csv(r, true, e);
}

int h_tags_remove(http_req *r, siyu_err *e);
int h_tags_remove(http_req *r, siyu_err *e)
{
    return r->body ? tag_members_json(r, false, e) : tag_members_csv(r, false, e);
}

/* ---------------- RFM and lifecycle settings ---------------- */

/* GET and PUT /segments/settings: the thresholds of RFM classes and lifecycle stages
 * (views/audience.h says the format). A PUT is stored, then put in force at once. */
int h_segments_settings(http_req *r, siyu_err *e);
int h_segments_settings(http_req *r, siyu_err *e)
{
    seg_index *idx = index_of(r, e);
    if (!idx) return -1;
    audience_settings s;
    if (strcmp(r->method, "GET") == 0) {
        if (audience_settings_load(r->d.conn, &s, e)) return -1;
        r->status = 200;
        r->resp = audience_settings_json(&s, idx);
        return 0;
    }
    /* check the body before taking the write lock */
    audience_settings_init(&s);
    if (audience_settings_update(&s, r->body, e)) return -1;
    audience_write w = {.r = r};
    if (writer_submit(http_writer(r), settings_fn, &w, r->d.conn, e)) return -1;
    r->status = 200;
    r->resp = audience_settings_json(&w.settings, idx);
    return 0;
}

/* The member 360's audience block: tags, RFM class, lifecycle stage. */
void segments_member_block(http_req *r, json_t *member);
void segments_member_block(http_req *r, json_t *member)
{
    struct views *v = http_views(r);
    if (!v || !member) return;
    seg_index *idx = views_index(v);
    int64_t id = json_integer_value(json_object_get(member, "id"));
    int tags[64];
    int n = seg_index_member_tags(idx, id, tags, 64);
    json_t *names = json_array();
    for (int i = 0; i < n && i < 64; i++)
        json_array_append_new(names, json_string(seg_index_tag_name(idx, tags[i])));
    json_object_set_new(member, "tags", names);
    int rfm = seg_index_member_rfm(idx, id), stage = seg_index_member_lifecycle(idx, id);
    json_object_set_new(member, "rfm", rfm > 0 ? json_string(seg_rfm_names[rfm - 1]) : json_null());
    json_object_set_new(member, "lifecycle",
                        stage >= 0 ? json_string(seg_lifecycle_names[stage]) : json_null());
}
