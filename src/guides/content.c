/* content.c — the content library (话术 / 素材): scripts, moments copy, posters and
 * mini-program links, tagged, with every use by a guide recorded.
 *
 * A use is `sent` (the guide sent it to a member) or `shared` (a tracked link: a token
 * the bridge puts in the URL; views of it are ingested with POST /content/views).
 * "Which script sells" is answered by one attribution rule: an order is attributed to
 * the content of the member's latest touch — a use naming the member or a view by the
 * member — in the N days (7 by default, ?window_days=) before the order; the latest
 * touch wins, ties to the later record. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/digest.h"
#include "base/jsonx.h"
#include "guides/guides.h"

static const char *const content_kinds[] = {"script", "moments", "poster", "miniprogram", NULL};

static json_t *content_row(store_stmt *s)
{
    json_t *o = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)store_col_int(s, 0), "kind",
                          store_col_text(s, 1), "title", store_col_text(s, 2));
    json_object_set_new(o, "body", dom_nullable_text(s, 3));
    json_object_set_new(o, "url", dom_nullable_text(s, 4));
    json_t *tags = json_array();
    const char *t = store_col_text(s, 5);
    while (t && *t) {
        const char *end = strchr(t + 1, ',');
        if (!end) break;
        if (end > t + 1) json_array_append_new(tags, json_stringn(t + 1, (size_t)(end - t - 1)));
        t = end;
    }
    json_object_set_new(o, "tags", tags);
    json_object_set_new(o, "created_at", dom_time(store_col_int(s, 7)));
    return o;
}

int content_create(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const keys[] = {"kind", "title", "body", "url", "tags", NULL};
    int kind;
    const char *title = NULL, *text = NULL, *url = NULL;
    if (jx_only(body, keys, NULL, e) || jx_enum(body, "kind", true, content_kinds, &kind, e) < 0 ||
        jx_str(body, "title", true, &title, e) < 0 || jx_str(body, "body", false, &text, e) < 0 ||
        jx_str(body, "url", false, &url, e) < 0)
        return -1;
    if (!*title || strlen(title) > 200)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "title", "title: 1 to 200 bytes");
    if (text && (strlen(text) > 8000 || guides_script_check(text, "body", e)))
        return text && strlen(text) > 8000
                   ? siyu_err_set(e, SIYU_INVALID_ARGUMENT, "body", "body: at most 8000 bytes")
                   : -1;
    if (url && (strlen(url) > 2000 || strncmp(url, "http", 4) != 0))
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "url",
                            "url: an http(s) URL, at most 2000 bytes");
    if (!text && !url)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "body", "body: give a body or a url");
    json_t *tags = json_object_get(body, "tags");
    char tagtext[2048] = ",";
    size_t k = 1;
    if (tags) {
        if (!json_is_array(tags) || json_array_size(tags) > 20)
            return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "tags", "tags: at most 20 strings");
        size_t i;
        json_t *v;
        json_array_foreach(tags, i, v)
        {
            const char *t = json_string_value(v);
            if (!t || !*t || strlen(t) > 64 || strchr(t, ','))
                return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "tags",
                                    "tags[%zu]: 1 to 64 bytes, no comma", i);
            k += (size_t)snprintf(tagtext + k, sizeof tagtext - k, "%s,", t);
        }
    }
    store_stmt *s = store_q(d->conn, Q_CONTENT_INSERT);
    store_bind_text(s, 1, content_kinds[kind]);
    store_bind_text(s, 2, title);
    store_bind_text(s, 3, text);
    store_bind_text(s, 4, url);
    store_bind_text(s, 5, tagtext);
    if (d->who.staff_id) store_bind_int(s, 6, d->who.staff_id);
    store_bind_int(s, 7, d->now);
    if (store_exec(s, e)) return -1;
    int64_t id = store_last_id(d->conn);
    s = store_q(d->conn, Q_CONTENT_GET);
    store_bind_int(s, 1, id);
    store_step(s);
    *out = content_row(s);
    store_reset(s);
    return 201;
}

int content_list(dom *d, const char *tag, int64_t cursor, int limit, json_t **out, siyu_err *e)
{
    (void)e;
    json_t *items = json_array();
    int64_t last = 0;
    store_stmt *s = store_q(d->conn, Q_CONTENT_LIST);
    store_bind_text(s, 1, tag && *tag ? tag : NULL);
    store_bind_int(s, 2, cursor);
    store_bind_int(s, 3, limit);
    while (store_step(s) == STORE_ROW) {
        last = store_col_int(s, 0);
        json_array_append_new(items, content_row(s));
    }
    store_reset(s);
    *out = dom_list(items, limit, last);
    return 200;
}

/* POST /content/{id}/shares {"kind": "sent" | "shared", "guide_id"?, "member_id"?,
 * "task_id"?}: a guide's use. A guide records their own; a share gets a token and a
 * tracked link. */
int content_share(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const keys[] = {"kind", "guide_id", "member_id", "task_id", NULL};
    static const char *const kinds[] = {"sent", "shared", NULL};
    int kind = 1;
    int64_t guide = 0, member = 0, task = 0;
    if (body &&
        (jx_only(body, keys, NULL, e) || jx_enum(body, "kind", false, kinds, &kind, e) < 0 ||
         jx_int(body, "guide_id", false, &guide, e) < 0 ||
         jx_int(body, "member_id", false, &member, e) < 0 ||
         jx_int(body, "task_id", false, &task, e) < 0))
        return -1;
    store_stmt *s = store_q(d->conn, Q_CONTENT_GET);
    store_bind_int(s, 1, id);
    bool found = store_step(s) == STORE_ROW;
    store_reset(s);
    if (!found) return siyu_err_set(e, SIYU_NOT_FOUND, "id", "content %" PRId64 " not found", id);
    if (d->who.role == ROLE_GUIDE) {
        if (guide && guide != d->who.staff_id)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, "guide_id", "guide_id: only yourself");
        guide = d->who.staff_id;
    }
    if (guide) {
        int64_t sid = 0;
        if (dom_require_staff(d, guide, NULL, "guide_id", &sid, e)) return -1;
        if (d->who.role == ROLE_STORE_MANAGER && sid != d->who.store_id)
            return siyu_err_set(e, SIYU_PERMISSION_DENIED, "guide_id",
                                "guide_id: a guide of another store");
    }
    if (member) {
        member = members_live_id(d, member, "member_id", e);
        if (member < 0) return -1;
    }
    if (kind == 0 && !member)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "member_id",
                            "member_id: a sent use names the member it went to");
    char token[40] = "";
    if (kind == 1) {
        unsigned char raw[12];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2base64(token, sizeof token, raw, sizeof raw,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    }
    s = store_q(d->conn, Q_CONTENT_EVENT_INSERT);
    store_bind_int(s, 1, id);
    store_bind_text(s, 2, kinds[kind]);
    store_bind_text(s, 4, token[0] ? token : NULL);
    if (guide) store_bind_int(s, 5, guide);
    if (member) store_bind_int(s, 6, member);
    if (task) store_bind_int(s, 7, task);
    store_bind_int(s, 8, d->now);
    if (store_exec(s, e)) return -1;
    int64_t use = store_last_id(d->conn);
    json_t *o = json_pack("{s:I, s:I, s:s}", "id", (json_int_t)use, "content_id", (json_int_t)id,
                          "kind", kinds[kind]);
    json_object_set_new(o, "guide_id", guide ? json_integer(guide) : json_null());
    json_object_set_new(o, "member_id", member ? json_integer(member) : json_null());
    if (token[0]) {
        char link[96];
        snprintf(link, sizeof link, "/c/%s", token);
        json_object_set_new(o, "token", json_string(token));
        json_object_set_new(o, "link", json_string(link));
    }
    json_object_set_new(o, "at", dom_time(d->now));
    *out = o;
    return 201;
}

/* POST /content/views: one view or {"views": [...]}, each {"token", "at", "member_id"?};
 * idempotent by content (a view already recorded is a duplicate). */
int content_views(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const keys[] = {"token", "at", "member_id", NULL};
    json_t *list = json_object_get(body, "views");
    json_t *one = NULL;
    if (!list) {
        one = json_pack("[O]", body);
        list = one;
    } else if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > 1000)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "views", "views: 1 to 1000 views");
    int64_t recorded = 0, dup = 0;
    size_t i;
    json_t *v;
    int rc = -1;
    json_array_foreach(list, i, v)
    {
        char pre[32] = "";
        if (!one) snprintf(pre, sizeof pre, "views[%zu].", i);
        const char *token = NULL;
        int64_t at = 0, member = 0;
        if (!json_is_object(v)) {
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, "views", "views[%zu]: an object", i);
            goto out;
        }
        if (jx_only(v, keys, pre, e) || jx_str(v, "token", true, &token, e) < 0 ||
            jx_time(v, "at", true, &at, e) < 0 || jx_int(v, "member_id", false, &member, e) < 0)
            goto out;
        if (at > d->now + 300) {
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, "at", "%sat: in the future", pre);
            goto out;
        }
        store_stmt *s = store_q(d->conn, Q_CONTENT_SHARE_BY_TOKEN);
        store_bind_text(s, 1, token);
        int64_t share = 0, content = 0, guide = 0;
        if (store_step(s) == STORE_ROW) {
            share = store_col_int(s, 0);
            content = store_col_int(s, 1);
            guide = store_col_null(s, 2) ? 0 : store_col_int(s, 2);
        }
        store_reset(s);
        if (!share) {
            siyu_err_set(e, SIYU_NOT_FOUND, "token", "%stoken: no such shared link", pre);
            goto out;
        }
        if (member) {
            char f[48];
            snprintf(f, sizeof f, "%smember_id", pre);
            member = members_live_id(d, member, f, e);
            if (member < 0) goto out;
        }
        unsigned char dg[DIGEST_BYTES];
        digest_of_json(v, dg);
        s = store_q(d->conn, Q_CONTENT_EVENT_BY_DIGEST);
        store_bind_blob(s, 1, dg, sizeof dg);
        bool seen = store_step(s) == STORE_ROW;
        store_reset(s);
        if (seen) {
            dup++;
            continue;
        }
        s = store_q(d->conn, Q_CONTENT_EVENT_INSERT);
        store_bind_int(s, 1, content);
        store_bind_text(s, 2, "view");
        store_bind_int(s, 3, share);
        if (guide) store_bind_int(s, 5, guide);
        if (member) store_bind_int(s, 6, member);
        store_bind_int(s, 8, at);
        store_bind_blob(s, 9, dg, sizeof dg);
        if (store_exec(s, e)) goto out;
        recorded++;
    }
    *out = json_pack("{s:I, s:I}", "recorded", (json_int_t)recorded, "duplicates", (json_int_t)dup);
    rc = recorded ? 201 : 200;
out:
    json_decref(one);
    return rc;
}

int content_stats(dom *d, int64_t id, json_t **out, siyu_err *e)
{
    store_stmt *s = store_q(d->conn, Q_CONTENT_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "id", "content %" PRId64 " not found", id);
    }
    json_t *o =
        json_pack("{s:I, s:s}", "content_id", (json_int_t)id, "title", store_col_text(s, 2));
    store_reset(s);
    s = store_q(d->conn, Q_CONTENT_STATS);
    store_bind_int(s, 1, id);
    if (store_step(s) == STORE_ROW) {
        json_object_set_new(o, "uses",
                            json_pack("{s:I, s:I}", "sent", (json_int_t)store_col_int(s, 0),
                                      "shared", (json_int_t)store_col_int(s, 1)));
        json_object_set_new(o, "views", json_integer(store_col_int(s, 2)));
        json_object_set_new(o, "members_reached", json_integer(store_col_int(s, 3)));
    }
    store_reset(s);
    int64_t window = 7;
    json_object_set_new(o, "window_days", json_integer(window));
    s = store_q(d->conn, Q_CONTENT_ATTRIBUTED);
    store_bind_int(s, 1, id);
    store_bind_int(s, 2, window * 86400);
    if (store_step(s) == STORE_ROW) {
        json_object_set_new(o, "orders", json_integer(store_col_int(s, 0)));
        json_object_set_new(o, "sales_cents", json_integer(store_col_int(s, 1)));
    }
    store_reset(s);
    *out = o;
    return 200;
}
