/* outbox.c — messages leaving siyu, and what comes back about them.
 *
 * A step puts a message in the outbox (status queued) in the same transaction that
 * moves the run on, so a message is never lost and never queued twice. Dispatch then
 * works in three phases so no transaction is open while a receiver is slow: read the
 * due messages, call each channel's adapter (src/messaging: webhook signed with
 * HMAC-SHA256 and carrying the message id as Idempotency-Key, or an NDJSON file), and
 * write the outcomes — sent, retry at T with backoff and jitter, or dead. A crash
 * between the call and the write sends the message again on restart with the same
 * Idempotency-Key, so a receiver drops the redelivery. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/phone.h"
#include "base/timeutil.h"
#include "journey/internal.h"
#include "messaging/msg_adapter.h"

int channels_put(dom *d, const char *name, json_t *body, json_t **out, siyu_err *e)
{
    /* "mall" is no member channel: it binds where refund instructions go (mall_dispatch) */
    if (msg_channel_from_name(name, strlen(name)) < 0 && strcmp(name, "mall") != 0)
        return siyu_err_set(e, SIYU_NOT_FOUND, "name",
                            "name: one of wechat_template, sms, wecom, webhook, mall");
    msg_adapter *a = msg_adapter_new(body, e); /* validates every field */
    if (!a) return -1;
    json_t *shown = msg_adapter_describe(a);
    msg_adapter_free(a);
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    store_stmt *s = store_q(d->conn, Q_CHANNEL_PUT);
    store_bind_text(s, 1, name);
    store_bind_text(s, 2, text);
    store_bind_int(s, 3, d->now);
    int rc = store_exec(s, e);
    free(text);
    if (rc) {
        json_decref(shown);
        return -1;
    }
    *out = json_pack("{s:s, s:o}", "name", name, "binding", shown);
    return 200;
}

int channels_list(dom *d, json_t **out, siyu_err *e)
{
    json_t *items = json_array();
    store_stmt *s = store_q(d->conn, Q_CHANNEL_LIST);
    while (store_step(s) == STORE_ROW) {
        json_t *cfg = json_loads(store_col_text(s, 1), 0, NULL);
        siyu_err sub;
        siyu_err_init(&sub);
        msg_adapter *a = cfg ? msg_adapter_new(cfg, &sub) : NULL;
        json_array_append_new(items, json_pack("{s:s, s:o, s:o}", "name", store_col_text(s, 0),
                                               "binding", a ? msg_adapter_describe(a) : json_null(),
                                               "updated_at", dom_time(store_col_int(s, 2))));
        msg_adapter_free(a);
        json_decref(cfg);
        siyu_err_clear(&sub);
    }
    store_reset(s);
    *out = json_pack("{s:o}", "items", items);
    return 200;
}

static json_t *message_row_json(store_stmt *s, const principal *who)
{
    json_t *o =
        json_pack("{s:I, s:I, s:s, s:s, s:s, s:I, s:o}", "id", (json_int_t)store_col_int(s, 0),
                  "member_id", (json_int_t)store_col_int(s, 3), "channel", store_col_text(s, 4),
                  "text", store_col_text(s, 5), "status", store_col_text(s, 6), "attempts",
                  (json_int_t)store_col_int(s, 7), "created_at", dom_time(store_col_int(s, 9)));
    json_object_set_new(o, "journey_id", dom_nullable_int(s, 1));
    json_object_set_new(o, "next_attempt_at",
                        store_col_null(s, 8) ? json_null() : dom_time(store_col_int(s, 8)));
    json_object_set_new(o, "sent_at",
                        store_col_null(s, 10) ? json_null() : dom_time(store_col_int(s, 10)));
    json_object_set_new(o, "delivered_at",
                        store_col_null(s, 11) ? json_null() : dom_time(store_col_int(s, 11)));
    json_object_set_new(o, "error", dom_nullable_text(s, 12));
    json_t *to = store_col_null(s, 13) ? NULL : json_loads(store_col_text(s, 13), 0, NULL);
    const char *phone = json_string_value(json_object_get(to, "phone"));
    if (phone && who && who->role == ROLE_GUIDE) { /* a guide sees phones masked */
        char masked[40];
        phone_mask(phone, masked, sizeof masked);
        json_object_set_new(to, "phone", json_string(masked));
    }
    json_object_set_new(o, "to", to ? to : json_null());
    json_t *tm = store_col_null(s, 14) ? NULL : json_loads(store_col_text(s, 14), 0, NULL);
    json_object_set_new(o, "template", tm ? tm : json_null());
    return o;
}

int messages_list(dom *d, int64_t member_id, const char *status, int64_t cursor, int limit,
                  json_t **out, siyu_err *e)
{
    if (!member_id && !status)
        return siyu_err_set(
            e, SIYU_INVALID_ARGUMENT, "member_id",
            "member_id: required (or status, e.g. status=dead for the dead letters)");
    if (member_id && members_get(d, member_id, NULL, e) < 0) return -1;
    if (!member_id && d->who.role != ROLE_ADMIN && d->who.role != ROLE_OPERATOR)
        return siyu_err_set(e, SIYU_PERMISSION_DENIED, "status",
                            "status: only HQ lists messages across members");
    json_t *items = json_array();
    int64_t last = 0;
    int n = 0;
    store_stmt *s = store_q(d->conn, member_id ? Q_MESSAGES_OF_MEMBER : Q_MESSAGES_BY_STATUS);
    if (member_id)
        store_bind_int(s, 1, member_id);
    else
        store_bind_text(s, 1, status);
    store_bind_int(s, 2, cursor > 0 ? cursor : INT64_MAX);
    store_bind_int(s, 3, limit + 1);
    while (store_step(s) == STORE_ROW) {
        if (member_id && status && strcmp(store_col_text(s, 6), status) != 0) continue;
        if (n++ == limit) break;
        last = store_col_int(s, 0);
        json_array_append_new(items, message_row_json(s, &d->who));
    }
    store_reset(s);
    *out = json_pack("{s:o, s:o}", "items", items, "next_cursor",
                     n > limit ? dom_cursor(last) : json_null());
    return 200;
}

int messages_receipt(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    static const char *const allowed[] = {"message_id", "status", "at", NULL};
    static const char *const statuses[] = {"delivered", "failed", "read", NULL};
    int64_t id, at = d->now;
    int st;
    if (jx_only(body, allowed, NULL, e) || jx_int(body, "message_id", true, &id, e) < 0 ||
        jx_enum(body, "status", true, statuses, &st, e) < 0 ||
        jx_time(body, "at", false, &at, e) < 0)
        return -1;
    store_stmt *s = store_q(d->conn, Q_MESSAGE_GET);
    store_bind_int(s, 1, id);
    if (store_step(s) != STORE_ROW) {
        store_reset(s);
        return siyu_err_set(e, SIYU_NOT_FOUND, "message_id", "message_id: %lld not found",
                            (long long)id);
    }
    store_reset(s);
    s = store_q(d->conn, Q_MESSAGE_RECEIPT);
    store_bind_text(s, 1, statuses[st]);
    store_bind_int(s, 2, at);
    store_bind_int(s, 3, id);
    if (store_exec(s, e)) return -1;
    s = store_q(d->conn, Q_MESSAGE_GET);
    store_bind_int(s, 1, id);
    store_step(s);
    *out = message_row_json(s, &d->who);
    store_reset(s);
    return 200;
}

/* ---------------- dispatch ---------------- */

typedef struct due {
    int64_t id, member, journey, created_at;
    int attempts;
    char channel[24];
    char *text;
    json_t *to, *tmpl; /* the address and the WeChat template message, or NULL */
    bool withdrawn;    /* the member's consent no longer allows the channel */
    msg_outcome out;
} due;

#define DISPATCH_THREADS 4

/* A request for a new group (src/community, a full join code) pushed to the bridge on the
 * wecom channel's binding — the bridge's own — beside the pull of GET /group-requests. */
typedef struct greq_push {
    int64_t id, code_id, store_id, requested_at;
    int attempts;
    char theme[128];
    msg_outcome out;
} greq_push;
#define GREQ_PUSH_MAX 100

static void greq_send(msg_bindings *b, greq_push *g, int64_t now)
{
    char key[48], t[40];
    snprintf(key, sizeof key, "group-request-%lld", (long long)g->id);
    time_format_rfc3339(g->requested_at, t, sizeof t);
    json_t *data =
        json_pack("{s:s, s:I, s:I, s:I, s:s, s:s}", "kind", "group_request", "request_id",
                  (json_int_t)g->id, "code_id", (json_int_t)g->code_id, "store_id",
                  (json_int_t)g->store_id, "theme", g->theme, "requested_at", t);
    msg_message m = {.id = g->id,
                     .channel = MSG_CH_WECOM,
                     .text = "group_request: open a new group for a full join code (请新建群)",
                     .data = data,
                     .created_at = g->requested_at,
                     .attempts = g->attempts,
                     .key = key};
    msg_bindings_send(b, &m, now * 1000, &g->out);
    json_decref(data);
}

typedef struct send_job {
    msg_bindings *b;
    due *v;
    size_t from, to;
    int64_t now;
    bool joined;
} send_job;

static void *send_range(void *arg)
{
    send_job *j = arg;
    for (size_t i = j->from; i < j->to; i++) {
        due *x = &j->v[i];
        int ch = msg_channel_from_name(x->channel, strlen(x->channel));
        msg_message m = {.id = x->id,
                         .channel = (msg_channel)(ch < 0 ? 0 : ch),
                         .member_id = x->member,
                         .journey_id = x->journey,
                         .to = x->to,
                         .text = x->text,
                         .tmpl = x->tmpl,
                         .created_at = x->created_at,
                         .attempts = x->attempts};
        if (x->withdrawn) {
            continue; /* never sent: skipped below */
        } else if (ch < 0) {
            x->out.status = MSG_DEAD;
            snprintf(x->out.error, sizeof x->out.error, "unknown channel %s", x->channel);
        } else if (!x->to) { /* never sent blank (a message queued before addresses) */
            x->out.status = MSG_DEAD;
            x->out.attempts = x->attempts;
            snprintf(x->out.error, sizeof x->out.error, "no address for channel %s", x->channel);
        } else {
            msg_bindings_send(j->b, &m, j->now * 1000, &x->out);
        }
    }
    return NULL;
}

/* One dispatcher at a time in a process: two would read the same due messages. */
static pthread_mutex_t dispatch_lock = PTHREAD_MUTEX_INITIALIZER;

static int dispatch_locked(store_t *st, const journey_writer *w, int64_t now, int limit,
                           int64_t mall[3], json_t **out, siyu_err *e);

int journey_dispatch(store_t *st, int64_t now, int limit, json_t **out, siyu_err *e)
{
    return journey_dispatch_with(st, NULL, now, limit, out, e);
}

/* What the outbox recorded, per process, for /metrics: sent, retry, dead, skipped. */
static atomic_ullong outcomes[4];

void journey_outbox_outcomes(unsigned long long out[4])
{
    for (int i = 0; i < 4; i++)
        out[i] = atomic_load(&outcomes[i]);
}

static int mall_dispatch(store_conn *c, const journey_writer *w, int64_t now, int limit,
                         int64_t counts[3], siyu_err *e);

/* Gives the lent connection back. The states recorded on it may not be durable when that
 * fails (a sync after them failed): said, not answered — a state a power cut loses is sent
 * again, the outbox being at least once. */
static void give_back(const journey_writer *w)
{
    siyu_err e;
    siyu_err_init(&e);
    if (w->end(w->ctx, &e)) fprintf(stderr, "siyu: outbox: %s\n", e.message);
    siyu_err_clear(&e);
}

int journey_dispatch_with(store_t *st, const journey_writer *w, int64_t now, int limit,
                          json_t **out, siyu_err *e)
{
    pthread_mutex_lock(&dispatch_lock);
    int64_t mall[3] = {0, 0, 0};
    int rc = dispatch_locked(st, w, now, limit, mall, out, e);
    pthread_mutex_unlock(&dispatch_lock);
    if (rc == 0 && out && *out)
        json_object_set_new(*out, "refund_instructions",
                            json_pack("{s:I, s:I, s:I}", "sent", (json_int_t)mall[0], "retry",
                                      (json_int_t)mall[1], "dead", (json_int_t)mall[2]));
    return rc;
}

static int dispatch_locked(store_t *st, const journey_writer *w, int64_t now, int limit,
                           int64_t mall[3], json_t **out, siyu_err *e)
{
    store_conn *c;
    if (store_conn_open(st, &c, e)) return -1;
    if (limit <= 0) limit = 2000;
    due *v = calloc((size_t)limit, sizeof *v);
    size_t n = 0;
    msg_bindings b;
    msg_bindings_init(&b);
    greq_push gv[GREQ_PUSH_MAX];
    size_t ng = 0;
    int rc = store_begin(c, false, e);
    if (rc == 0) {
        store_stmt *s = store_q(c, Q_MESSAGES_DUE);
        store_bind_int(s, 1, now);
        store_bind_int(s, 2, limit);
        while (store_step(s) == STORE_ROW) {
            due *x = &v[n++];
            x->id = store_col_int(s, 0);
            snprintf(x->channel, sizeof x->channel, "%s", store_col_text(s, 1));
            x->text = strdup(store_col_text(s, 2));
            x->attempts = (int)store_col_int(s, 3);
            x->member = store_col_int(s, 4);
            x->journey = store_col_null(s, 5) ? 0 : store_col_int(s, 5);
            x->created_at = store_col_int(s, 6);
            x->to = store_col_null(s, 7) ? NULL : json_loads(store_col_text(s, 7), 0, NULL);
            x->tmpl = store_col_null(s, 8) ? NULL : json_loads(store_col_text(s, 8), 0, NULL);
        }
        store_reset(s);
        /* consent as it is now, not as it was when the message was made: an opt-out (or
         * a withdrawn consent that takes the channel's connection away) that lands while a
         * message waits in the outbox (queued, or retrying) stops it; the one consent
         * model, read as the journey guardrails read it */
        dom cd = {.conn = c, .now = now};
        for (size_t i = 0; i < n; i++) {
            int ch = msg_channel_from_name(v[i].channel, strlen(v[i].channel));
            if (ch < 0) continue;
            uint32_t reach, opted;
            j_member_consent(&cd, v[i].member, &reach, &opted);
            v[i].withdrawn = (opted & MSG_CH_BIT(ch)) || !(reach & MSG_CH_BIT(ch));
        }
        s = store_q(c, Q_CHANNEL_LIST);
        while (store_step(s) == STORE_ROW) {
            json_t *cfg = json_loads(store_col_text(s, 1), 0, NULL);
            siyu_err sub;
            siyu_err_init(&sub);
            if (cfg) msg_bindings_bind(&b, store_col_text(s, 0), cfg, &sub);
            siyu_err_clear(&sub);
            json_decref(cfg);
        }
        store_reset(s);
        /* requests for new groups, when the bridge's channel is bound (else it pulls) */
        if (b.adapter[MSG_CH_WECOM]) {
            s = store_q(c, Q_GREQ_PUSH_DUE);
            store_bind_int(s, 1, now);
            store_bind_int(s, 2, GREQ_PUSH_MAX);
            while (store_step(s) == STORE_ROW) {
                greq_push *g = &gv[ng++];
                g->id = store_col_int(s, 0);
                g->code_id = store_col_int(s, 1);
                g->store_id = store_col_int(s, 2);
                snprintf(g->theme, sizeof g->theme, "%s", store_col_text(s, 3));
                g->requested_at = store_col_int(s, 4);
                g->attempts = (int)store_col_int(s, 5);
            }
            store_reset(s);
        }
        if (store_conn_check(c, e)) { /* a failed read: send nothing, mark nothing */
            ng = 0;
            for (size_t i = 0; i < n; i++)
                free(v[i].text), json_decref(v[i].to), json_decref(v[i].tmpl);
            n = 0;
            rc = -1;
        }
        store_rollback(c);
    }
    /* no transaction open while receivers answer; several senders at once, because a
     * receiver's round trip, not siyu, is what one connection waits on */
    send_job jobs[DISPATCH_THREADS];
    pthread_t th[DISPATCH_THREADS];
    int nt = n < 64 ? 1 : DISPATCH_THREADS;
    for (int k = 0; k < nt; k++) {
        jobs[k] = (send_job){.b = &b,
                             .v = v,
                             .from = n * (size_t)k / (size_t)nt,
                             .to = n * (size_t)(k + 1) / (size_t)nt,
                             .now = now};
        if (nt == 1 || pthread_create(&th[k], NULL, send_range, &jobs[k]))
            send_range(&jobs[k]), jobs[k].joined = true;
    }
    for (int k = 0; k < nt; k++)
        if (!jobs[k].joined) pthread_join(th[k], NULL);
    for (size_t i = 0; i < ng; i++)
        greq_send(&b, &gv[i], now);
    int64_t sent = 0, retry = 0, dead = 0, skipped = 0;
    msg_bindings_clear(&b);
    store_conn *own = c; /* what was delivered is written on w's connection when given */
    size_t nw = n + ng;  /* anything to write */
    if (rc == 0 && nw && w) rc = w->begin(w->ctx, &c, e);
    if (rc == 0 && nw) rc = store_begin(c, true, e);
    for (size_t i = 0; rc == 0 && i < ng; i++) {
        store_stmt *s;
        if (gv[i].out.status == MSG_SENT) {
            s = store_q(c, Q_GREQ_PUSH_SENT);
            store_bind_int(s, 1, now);
            store_bind_int(s, 2, gv[i].id);
        } else if (gv[i].out.status == MSG_RETRY) {
            s = store_q(c, Q_GREQ_PUSH_RETRY);
            store_bind_int(s, 1, (gv[i].out.retry_at_ms + 999) / 1000);
            store_bind_text(s, 2, gv[i].out.error);
            store_bind_int(s, 3, gv[i].id);
        } else {
            s = store_q(c, Q_GREQ_PUSH_DEAD);
            store_bind_text(s, 1, gv[i].out.error[0] ? gv[i].out.error : "dead");
            store_bind_int(s, 2, gv[i].id);
        }
        rc = store_exec(s, e);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        store_stmt *s;
        if (v[i].withdrawn) {
            char why[96];
            snprintf(why, sizeof why, "consent for %s withdrawn since the message was made",
                     v[i].channel);
            s = store_q(c, Q_MESSAGE_SKIP);
            store_bind_text(s, 1, why);
            store_bind_int(s, 2, v[i].id);
            skipped++;
            rc = store_exec(s, e);
            continue;
        }
        switch (v[i].out.status) {
        case MSG_SENT:
            s = store_q(c, Q_MESSAGE_SENT);
            store_bind_int(s, 1, now);
            store_bind_int(s, 2, v[i].id);
            sent++;
            break;
        case MSG_RETRY:
            s = store_q(c, Q_MESSAGE_RETRY);
            store_bind_int(s, 1, (v[i].out.retry_at_ms + 999) / 1000);
            store_bind_text(s, 2, v[i].out.error);
            store_bind_int(s, 3, v[i].id);
            retry++;
            break;
        default:
            s = store_q(c, Q_MESSAGE_DEAD);
            store_bind_text(s, 1, v[i].out.error[0] ? v[i].out.error : "dead");
            store_bind_int(s, 2, now);
            store_bind_int(s, 3, v[i].id);
            dead++;
        }
        rc = store_exec(s, e);
    }
    if (rc == 0 && nw)
        rc = store_commit(c, e);
    else if (nw && store_in_tx(c))
        store_rollback(c);
    if (rc == 0) {
        atomic_fetch_add(&outcomes[0], (unsigned long long)sent);
        atomic_fetch_add(&outcomes[1], (unsigned long long)retry);
        atomic_fetch_add(&outcomes[2], (unsigned long long)dead);
        atomic_fetch_add(&outcomes[3], (unsigned long long)skipped);
    }
    if (c != own) {
        give_back(w);
        c = own;
    }
    for (size_t i = 0; i < n; i++) {
        free(v[i].text);
        json_decref(v[i].to);
        json_decref(v[i].tmpl);
    }
    free(v);
    if (rc == 0) rc = mall_dispatch(c, w, now, limit, mall, e); /* on the same connection */
    store_conn_close(c);
    if (rc == 0 && out)
        *out =
            json_pack("{s:I, s:I, s:I, s:I}", "sent", (json_int_t)sent, "retry", (json_int_t)retry,
                      "dead", (json_int_t)dead, "skipped", (json_int_t)skipped);
    return rc;
}

/* ---------------- refund instructions to the mall ---------------- */

/* A failed group-buy team leaves one refund instruction per paid member
 * (mall_instructions, docs/fission.md). When the channel binding "mall" exists, they go
 * out as the outbox's messages do: read, sent through the binding's adapter with no
 * transaction open (the webhook signs the body and carries the instruction id as its
 * Idempotency-Key), the outcomes written on w's connection. A crash between the send and
 * the write sends the instruction again with the same key. Without a binding the mall
 * pulls them (GET /refund-instructions) and nothing is sent. */
typedef struct mall_due {
    int64_t id, team, campaign, member, order, amount, created_at;
    int attempts;
    char kind[16], ext[128];
    msg_outcome out;
} mall_due;

static int mall_dispatch(store_conn *c, const journey_writer *w, int64_t now, int limit,
                         int64_t counts[3], siyu_err *e)
{
    if (limit <= 0) limit = 2000;
    msg_adapter *a = NULL;
    mall_due *v = NULL;
    size_t n = 0;
    int rc = store_begin(c, false, e);
    if (rc == 0) {
        store_stmt *s = store_q(c, Q_CHANNEL_GET);
        store_bind_text(s, 1, "mall");
        json_t *cfg = store_step(s) == STORE_ROW ? json_loads(store_col_text(s, 0), 0, NULL) : NULL;
        store_reset(s);
        if (cfg) {
            siyu_err sub;
            siyu_err_init(&sub);
            a = msg_adapter_new(cfg, &sub); /* checked when bound: NULL sends nothing */
            siyu_err_clear(&sub);
            json_decref(cfg);
        }
        if (a) {
            v = calloc((size_t)limit, sizeof *v);
            s = store_q(c, Q_MALL_DUE);
            store_bind_int(s, 1, now);
            store_bind_int(s, 2, limit);
            while (v && n < (size_t)limit && store_step(s) == STORE_ROW) {
                mall_due *x = &v[n++];
                x->id = store_col_int(s, 0);
                snprintf(x->kind, sizeof x->kind, "%s", store_col_text(s, 1));
                x->team = store_col_null(s, 2) ? 0 : store_col_int(s, 2);
                x->campaign = store_col_null(s, 3) ? 0 : store_col_int(s, 3);
                x->member = store_col_int(s, 4);
                x->order = store_col_int(s, 5);
                snprintf(x->ext, sizeof x->ext, "%s", store_col_text(s, 6));
                x->amount = store_col_int(s, 7);
                x->attempts = (int)store_col_int(s, 8);
                x->created_at = store_col_int(s, 9);
            }
            store_reset(s);
        }
        if (store_conn_check(c, e)) n = 0, rc = -1;
        store_rollback(c);
    }
    for (size_t i = 0; i < n; i++) {
        mall_due *x = &v[i];
        char text[256];
        snprintf(text, sizeof text,
                 "退款 refund: order %s, %lld cents (group-buy team %lld failed)", x->ext,
                 (long long)x->amount, (long long)x->team);
        json_t *data = json_pack("{s:s, s:I, s:s, s:I, s:s, s:I}", "kind", "refund_instruction",
                                 "refund_instruction_id", (json_int_t)x->id, "instruction", x->kind,
                                 "order_id", (json_int_t)x->order, "order_external_id", x->ext,
                                 "amount_cents", (json_int_t)x->amount);
        json_object_set_new(data, "team_id", x->team ? json_integer(x->team) : json_null());
        json_object_set_new(data, "campaign_id",
                            x->campaign ? json_integer(x->campaign) : json_null());
        msg_message m = {.id = x->id,
                         .channel = MSG_CH_WEBHOOK,
                         .member_id = x->member,
                         .text = text,
                         .data = data,
                         .created_at = x->created_at,
                         .attempts = x->attempts};
        msg_adapter_send(a, &m, now * 1000, &x->out);
        json_decref(data);
    }
    msg_adapter_free(a);
    store_conn *own = c;
    if (rc == 0 && n && w) rc = w->begin(w->ctx, &c, e);
    if (rc == 0 && n) rc = store_begin(c, true, e);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        store_stmt *s;
        mall_due *x = &v[i];
        switch (x->out.status) {
        case MSG_SENT:
            s = store_q(c, Q_MALL_DELIVERED);
            store_bind_int(s, 1, x->out.attempts);
            store_bind_int(s, 2, now);
            store_bind_int(s, 3, x->id);
            counts[0]++;
            break;
        case MSG_RETRY:
            s = store_q(c, Q_MALL_RETRY);
            store_bind_int(s, 1, x->out.attempts);
            store_bind_int(s, 2, (x->out.retry_at_ms + 999) / 1000);
            store_bind_text(s, 3, x->out.error);
            store_bind_int(s, 4, x->id);
            counts[1]++;
            break;
        default:
            s = store_q(c, Q_MALL_DEAD);
            store_bind_int(s, 1, x->out.attempts);
            store_bind_text(s, 2, x->out.error[0] ? x->out.error : "dead");
            store_bind_int(s, 3, x->id);
            counts[2]++;
        }
        rc = store_exec(s, e);
    }
    if (rc == 0 && n)
        rc = store_commit(c, e);
    else if (n && store_in_tx(c))
        store_rollback(c);
    if (c != own) {
        give_back(w);
        c = own;
    }
    free(v);
    return rc;
}

/* ---------------- addresses ---------------- */

/* The member's first identity of a kind: value (and app id) into the buffers. */
static bool identity_of(dom *d, int64_t member, const char *kind, char *value, size_t vlen,
                        char *app, size_t alen)
{
    store_stmt *s = store_q(d->conn, Q_IDENTITY_OF_KIND);
    store_bind_int(s, 1, member);
    store_bind_text(s, 2, kind);
    bool found = store_step(s) == STORE_ROW;
    if (found) {
        if (app) snprintf(app, alen, "%s", store_col_text(s, 0));
        snprintf(value, vlen, "%s", store_col_text(s, 1));
    }
    store_reset(s);
    return found;
}

json_t *j_message_address(dom *d, int64_t member, const char *channel, const char **why)
{
    char value[256], app[128];
    *why = NULL;
    if (strcmp(channel, "sms") == 0) {
        if (identity_of(d, member, "phone", value, sizeof value, NULL, 0))
            return json_pack("{s:s}", "phone", value);
        *why = "no_phone";
        return NULL;
    }
    if (strcmp(channel, "wechat_template") == 0) {
        if (identity_of(d, member, "openid", value, sizeof value, app, sizeof app))
            return json_pack("{s:s, s:s}", "openid", value, "app_id", app);
        *why = "no_openid";
        return NULL;
    }
    if (strcmp(channel, "wecom") == 0) {
        if (!identity_of(d, member, "wecom_external_id", value, sizeof value, NULL, 0)) {
            *why = "no_wecom_external_id";
            return NULL;
        }
        /* the sending guide: the member's guide, by their WeCom userid (else their staff
         * code, which chains used as the userid before staff had one) */
        char userid[128] = "";
        store_stmt *s = store_q(d->conn, Q_MEMBER_GET);
        store_bind_int(s, 1, member);
        int64_t guide = store_step(s) == STORE_ROW ? store_col_opt_by(s, "guide_id") : 0;
        store_reset(s);
        if (guide) {
            s = store_q(d->conn, Q_STAFF_GET);
            store_bind_int(s, 1, guide);
            if (store_step(s) == STORE_ROW) {
                if (!store_col_null(s, 8))
                    snprintf(userid, sizeof userid, "%s", store_col_text(s, 8));
                else if (!store_col_null(s, 4))
                    snprintf(userid, sizeof userid, "%s", store_col_text(s, 4));
            }
            store_reset(s);
        }
        if (!userid[0]) {
            *why = "no_guide_userid";
            return NULL;
        }
        return json_pack("{s:s, s:s}", "external_userid", value, "userid", userid);
    }
    return json_pack("{s:I}", "member_id", (json_int_t)member); /* webhook: the receiver looks up */
}
