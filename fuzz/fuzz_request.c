/* fuzz_request.c — request decoding: bytes through jx_parse into the domain writes.
 *
 * Each input is parsed as a request body would be (size and depth caps), then handed
 * to every write a client can send a body to — create an order, create-or-match a
 * member, record events, patch member 1, refund order 1, and the loyalty rules
 * (ladder, earn rules, settings, coupon templates), issuing coupons, moving member 1's
 * points and forwarding a coupon — each in its own write
 * transaction that is rolled back, so the seeded store is the same for every input.
 * Any answer must be a success or a client error (fz_check); ASan/UBSan catch the rest. */
#include <stdint.h>

#include "fuzz_store.h"
#include "journey/journey.h"
#include "loyalty/loyalty.h"

typedef int (*body_fn)(dom *d, json_t *body, json_t **out, siyu_err *e);

static int patch_member_1(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    return members_patch(d, 1, body, out, e);
}

static int refund_order_1(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    return orders_refund(d, 1, body, out, e);
}

static int points_member_1(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    return loyalty_points_post(d, 1, body, out, e);
}

static int forward_unknown(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    return coupons_forward(d, "CNOSUCHCODE", body, out, e);
}

static int consent_member_1(dom *d, json_t *body, json_t **out, siyu_err *e)
{
    return consents_put(d, 1, body, out, e);
}

static void run(const char *what, body_fn fn, json_t *body)
{
    siyu_err e;
    siyu_err_init(&e);
    if (store_begin(fz.d.conn, true, &e)) fz_die("begin", &e);
    json_t *out = NULL;
    int rc = fn(&fz.d, body, &out, &e);
    fz_check(what, rc, &e);
    static int verbose = -1; /* FUZZ_VERBOSE=1: what each call answered, for corpus authors */
    if (verbose < 0) verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (verbose) fprintf(stderr, "  %-24s %d %s\n", what, rc, rc < 0 ? e.message : "");
    if (rc > 0 && out) { /* render the answer as the HTTP layer would */
        char *text = json_dumps(out, JSON_COMPACT);
        free(text);
    }
    json_decref(out);
    store_rollback(fz.d.conn);
    siyu_err_clear(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_open();
    loyalty_install(); /* orders and refunds go through the loyalty hooks, as in siyu */
    siyu_err e;
    siyu_err_init(&e);
    /* any JSON value first: the parser's caps apply to arrays and scalars too */
    json_t *any = jx_parse((const char *)data, size, true, &e);
    json_decref(any);
    siyu_err_clear(&e);

    json_t *body = jx_parse((const char *)data, size, false, &e);
    if (!body) {
        if (e.code == SIYU_OK || e.code == SIYU_INTERNAL) {
            fprintf(stderr, "jx_parse: failed with code %s\n", siyu_code_name(e.code));
            abort();
        }
        siyu_err_clear(&e);
        return 0;
    }
    /* the importer lets orders carry refunds inline; let half the inputs try that */
    fz.d.inline_refunds = size & 1;
    /* the calls may rewrite the body they are given (inline refunds), so each gets a copy */
    static const struct {
        const char *name;
        body_fn fn;
    } calls[] = {
        {"orders_create", orders_create},
        {"members_create_or_match", members_create_or_match},
        {"events_record", events_record},
        {"members_patch", patch_member_1},
        {"orders_refund", refund_order_1},
        /* the loyalty rules and calls read bodies too */
        {"loyalty_tiers_put", loyalty_tiers_put},
        {"loyalty_rules_create", loyalty_rules_create},
        {"loyalty_settings_put", loyalty_settings_put},
        {"coupon_templates_create", coupon_templates_create},
        {"coupons_issue", coupons_issue},
        {"loyalty_points_post", points_member_1},
        {"coupons_forward", forward_unknown},
        /* journeys: definitions, guardrails, receipts, consent (not channel bindings: a
         * file adapter creates its file when bound, and a fuzzer must not write files) */
        {"journeys_create", journeys_create},
        {"journeys_guardrails_put", journeys_guardrails_put},
        {"messages_receipt", messages_receipt},
        {"consents_put", consent_member_1},
    };
    for (size_t i = 0; i < sizeof calls / sizeof *calls; i++) {
        json_t *copy = json_deep_copy(body);
        if (copy) run(calls[i].name, calls[i].fn, copy);
        json_decref(copy);
    }
    json_decref(body);
    fz.d.inline_refunds = false;
    return 0;
}
