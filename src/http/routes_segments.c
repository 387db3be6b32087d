/* routes_segments.c — audiences over HTTP: count, breakdown, saved segments with their
 * members and CSV export, tags. Answers come from the in-memory member index; saved
 * segments and tags are kept in the store so the index can be rebuilt at start-up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/phone.h"
#include "base/timeutil.h"
#include "http/router.h"
#include "segment/eval.h"
#include "segment/attrs.h"
#include "segment/index.h"
#include "views/views.h"

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
    if (rc)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "by", "by: %s", se.msg);
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

int h_segments_create(http_req *r, siyu_err *e);
int h_segments_create(http_req *r, siyu_err *e)
{
    static const char *const allowed[] = {"name", "expr", NULL};
    const char *name, *text;
    if (jx_only(r->body, allowed, NULL, e) || jx_str(r->body, "name", true, &name, e) < 0 ||
        jx_str(r->body, "expr", true, &text, e) < 0)
        return -1;
    if (!*name)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: must not be empty");
    seg_index *idx = index_of(r, e);
    seg_expr *ex = NULL;
    if (!idx || parse_expr(idx, text, &ex, e))
        return -1;
    char *canon = seg_print(ex);
    seg_expr_free(ex);
    store_conn *c = r->d.conn;
    int rc = -1;
    if (store_begin(c, true, e) == 0) {
        store_stmt *s = store_q(c, Q_SEGMENT_BY_NAME);
        store_bind_text(s, 1, name);
        int taken = store_step(s) == STORE_ROW;
        store_reset(s);
        if (taken) {
            siyu_err_set(e, SIYU_CONFLICT, "name", "name: a segment called %s exists", name);
        } else {
            s = store_q(c, Q_SEGMENT_INSERT);
            store_bind_text(s, 1, name);
            store_bind_text(s, 2, canon);
            store_bind_int(s, 3, r->d.now);
            rc = store_exec(s, e);
        }
        int64_t id = store_last_id(c);
        if (rc == 0 && store_commit(c, e) == 0) {
            seg_error se;
            seg_index_segment_define(idx, id, name, canon, &se);
            s = store_q(c, Q_SEGMENT_GET);
            store_bind_int(s, 1, id);
            store_step(s);
            r->resp = segment_row(s);
            store_reset(s);
            r->status = 201;
        } else {
            store_rollback(c);
            rc = -1;
        }
    }
    free(canon);
    return rc;
}

int h_segments_list(http_req *r, siyu_err *e);
int h_segments_list(http_req *r, siyu_err *e)
{
    int64_t cursor;
    int limit;
    if (req_page(r, &cursor, &limit, e))
        return -1;
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
    if (row)
        *row = segment_row(s);
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
    if (req_page(r, &cursor, &limit, e))
        return -1;
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
        if (members_get(&r->d, ids[i], &m, &me) == 200)
            json_array_append_new(items, m);
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
    if (quote)
        tmp[n++] = '"';
    if (*v == '=' || *v == '+' || *v == '-' || *v == '@')
        tmp[n++] = '\'';
    for (const char *p = v; *p && n < sizeof tmp - 4; p++) {
        if (*p == '"')
            tmp[n++] = '"';
        tmp[n++] = *p;
    }
    if (quote)
        tmp[n++] = '"';
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
    int rc = seg_select(idx, ex, scope, &a, &se);
    seg_expr_free(ex);
    seg_expr_free(scope);
    if (rc)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, "expr", "expr: %s", se.msg);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    const char *header = "member_id,name,phone,store_id,guide_id,city,joined_at\n";
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
                               json_string_value(json_object_get(m, "name")) ? json_string_value(json_object_get(m, "name")) : "",
                               phone,
                               store,
                               guide,
                               json_string_value(json_object_get(m, "city")) ? json_string_value(json_object_get(m, "city")) : "",
                               json_string_value(json_object_get(m, "joined_at")) ? json_string_value(json_object_get(m, "joined_at")) : ""};
        for (size_t k = 0; k < 7; k++) {
            csv_put(&buf, &len, &cap, cells[k]);
            buf[len++] = k < 6 ? ',' : '\n'; /* csv_put always leaves room for two bytes */
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
    if (!*name)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "name", "name: must not be empty");
    seg_index *idx = index_of(r, e);
    if (!idx)
        return -1;
    char *canon = NULL;
    if (text) {
        seg_expr *ex;
        if (parse_expr(idx, text, &ex, e))
            return -1;
        canon = seg_print(ex);
        seg_expr_free(ex);
    }
    if (seg_index_tag_find(idx, name) >= 0) {
        free(canon);
        return siyu_err_set(e, SIYU_CONFLICT, "name", "name: a tag called %s exists", name);
    }
    store_conn *c = r->d.conn;
    int rc = store_begin(c, true, e);
    if (!rc) {
        store_stmt *s = store_q(c, Q_TAG_INSERT);
        store_bind_text(s, 1, name);
        store_bind_text(s, 2, canon ? "rule" : "manual");
        store_bind_text(s, 3, canon);
        store_bind_int(s, 4, r->d.now);
        rc = store_exec(s, e);
        int64_t id = store_last_id(c);
        if (!rc && !(rc = store_commit(c, e))) {
            seg_error se;
            seg_index_tag_create(idx, name, canon, &se);
            r->status = 201;
            r->resp = json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)id, "name", name, "kind",
                                canon ? "rule" : "manual", "expr",
                                canon ? json_string(canon) : json_null());
        } else {
            store_rollback(c);
        }
    }
    free(canon);
    return rc ? -1 : 0;
}

int h_tags_list(http_req *r, siyu_err *e);
int h_tags_list(http_req *r, siyu_err *e)
{
    seg_index *idx = index_of(r, e);
    if (!idx)
        return -1;
    seg_expr *scope = NULL;
    if (scope_of(r, &scope, e))
        return -1;
    json_t *items = json_array();
    store_stmt *s = store_q(r->d.conn, Q_TAG_LIST);
    while (store_step(s) == STORE_ROW) {
        const char *name = store_col_text(s, 1);
        json_t *t = json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)store_col_int(s, 0), "name",
                              name, "kind", store_col_text(s, 2), "expr",
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

/* POST /tags/{id}/members {member_ids?, phones?, expr?} and .../members/remove
 * {member_ids?, phones?}: a manual tag's members, by id, by phone or by audience. */
static int tag_members(http_req *r, bool add, siyu_err *e)
{
    static const char *const allowed[] = {"member_ids", "phones", "expr", NULL};
    if (jx_only(r->body, allowed, NULL, e))
        return -1;
    seg_index *idx = index_of(r, e);
    if (!idx)
        return -1;
    store_stmt *s = store_q(r->d.conn, Q_TAG_GET);
    store_bind_int(s, 1, r->id);
    if (store_step(s) != STORE_ROW)
        return siyu_err_set(e, SIYU_NOT_FOUND, NULL, "tag %lld does not exist", (long long)r->id);
    char name[256];
    snprintf(name, sizeof name, "%s", store_col_text(s, 1));
    bool rule = strcmp(store_col_text(s, 2), "rule") == 0;
    store_reset(s);
    if (rule)
        return siyu_err_set(e, SIYU_UNPROCESSABLE, NULL,
                            "tag %s is a rule tag: its members follow its expression", name);
    int tag = seg_index_tag_find(idx, name);
    /* gather member ids: listed, by phone, by audience */
    size_t n = 0, cap = 64;
    int64_t *ids = malloc(cap * sizeof *ids);
    json_t *list = json_object_get(r->body, "member_ids");
    json_t *phones = json_object_get(r->body, "phones");
    const char *text = NULL;
    if (jx_str(r->body, "expr", false, &text, e) < 0)
        goto fail;
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
        if (!json_is_integer(v)) {
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, "member_ids", "member_ids[%zu]: not an integer", i);
            goto fail;
        }
        if (n == cap)
            ids = realloc(ids, (cap *= 2) * sizeof *ids);
        ids[n++] = json_integer_value(v);
    }
    json_array_foreach(phones, i, v)
    {
        json_t *m = NULL;
        if (!json_is_string(v) ||
            members_lookup(&r->d, "phone", json_string_value(v), NULL, &m, e) < 0) {
            char f[32];
            snprintf(f, sizeof f, "phones[%zu]", i);
            siyu_err_set(e, e->code == SIYU_OK ? SIYU_INVALID_ARGUMENT : e->code, f,
                         "%s: no member with that phone", f);
            goto fail;
        }
        if (n == cap)
            ids = realloc(ids, (cap *= 2) * sizeof *ids);
        ids[n++] = json_integer_value(json_object_get(m, "id"));
        json_decref(m);
    }
    if (text && add) {
        seg_expr *ex, *scope = NULL;
        if (parse_expr(idx, text, &ex, e) || scope_of(r, &scope, e))
            goto fail;
        seg_audience a;
        seg_error se;
        int rc = seg_select(idx, ex, scope, &a, &se);
        seg_expr_free(ex);
        seg_expr_free(scope);
        if (rc) {
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, "expr", "expr: %s", se.msg);
            goto fail;
        }
        ids = realloc(ids, (n + a.count + 1) * sizeof *ids);
        memcpy(ids + n, a.ids, a.count * sizeof *ids);
        n += a.count;
        seg_audience_release(&a);
    }
    /* every member must exist and be in the caller's scope */
    for (size_t k = 0; k < n; k++) {
        if (members_get(&r->d, ids[k], NULL, e) < 0) {
            char f[32];
            snprintf(f, sizeof f, "member_ids");
            snprintf(e->field, sizeof e->field, "%s", f);
            goto fail;
        }
    }
    store_conn *c = r->d.conn;
    if (store_begin(c, true, e))
        goto fail;
    for (size_t k = 0; k < n; k++) {
        s = store_q(c, add ? Q_TAG_MEMBER_ADD : Q_TAG_MEMBER_REMOVE);
        store_bind_int(s, 1, r->id);
        store_bind_int(s, 2, ids[k]);
        if (store_exec(s, e)) {
            store_rollback(c);
            goto fail;
        }
    }
    if (store_commit(c, e))
        goto fail;
    for (size_t k = 0; k < n; k++) {
        seg_error se;
        if (add)
            seg_index_tag_add(idx, tag, ids[k], &se);
        else
            seg_index_tag_remove(idx, tag, ids[k], &se);
    }
    free(ids);
    r->status = 200;
    r->resp = json_pack("{s:I, s:I}", "tag_id", (json_int_t)r->id, add ? "added" : "removed",
                        (json_int_t)n);
    return 0;
fail:
    free(ids);
    return -1;
}

int h_tags_add(http_req *r, siyu_err *e);
int h_tags_add(http_req *r, siyu_err *e)
{
    return tag_members(r, true, e);
}

int h_tags_remove(http_req *r, siyu_err *e);
int h_tags_remove(http_req *r, siyu_err *e)
{
    return tag_members(r, false, e);
}

/* The member 360's audience block: tags, RFM class, lifecycle stage. */
void segments_member_block(http_req *r, json_t *member);
void segments_member_block(http_req *r, json_t *member)
{
    struct views *v = http_views(r);
    if (!v || !member)
        return;
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
