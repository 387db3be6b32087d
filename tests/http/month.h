/* month.h — the chain-month test's participants.
 *
 * test_chain_month.c is the core: it builds the demo chain, runs the real `siyu serve` on the
 * test's clock, posts what a chain's own systems post (orders, joins, refunds, opt-outs,
 * merges, the guides' task lists, the scheduler's ticks) and checks the journeys, messages,
 * coupons and KPIs. A feature joins the month as a participant: one file month_FEATURE.c that
 * defines a `month_participant` and is listed in participants[] in test_chain_month.c. It acts
 * at every simulated instant next to the chain's own traffic, and checks its own promises at
 * the end under its own check line (month_check_kind), so a failure names the feature.
 *
 * Participants draw from their own seeded generator (month_rng), so adding one never changes
 * what the core or another participant draws. Everything here runs on the test's main thread
 * unless a function says otherwise. */
#ifndef SIYU_TEST_MONTH_H
#define SIYU_TEST_MONTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct month_participant {
    const char *name;
    /* The server is up, the clock stands at the month's first instant, the journeys are
     * active. May be NULL. */
    void (*setup)(void);
    /* At each simulated instant (day 0.., local minute of the day), after the chain's own
     * traffic and before the scheduler's tick. May be NULL. */
    void (*act)(int day, int minute);
    /* After the last tick, the server still up: check the participant's promises. */
    void (*check)(void);
    /* After the server stopped (and `siyu check` ran): look at files. May be NULL. */
    void (*check_stopped)(void);
} month_participant;

/* ---- where things are ---- */
const char *month_siyu(void);  /* the siyu binary */
const char *month_db(void);    /* the store (a file path, or a postgresql:// URL) */
const char *month_dir(void);   /* the test's temporary directory */
const char *month_token(void); /* an admin token */
bool month_on_pg(void);
int month_members(void); /* the scale: SIYU_MONTH_MEMBERS */
int month_days(void);    /* SIYU_MONTH_DAYS */

/* ---- the clock ---- */
int64_t month_now(void);            /* the simulated instant (unix seconds) */
int64_t month_start(void);          /* the month's first instant */
const char *month_T(int64_t t);     /* an instant as RFC 3339 (+08:00), rotating buffers */
int64_t month_local_day(int64_t t); /* days since the epoch in +08:00 */

/* ---- calls ---- */
/* On the core's connection as admin; the body is a printf format (NULL: no body). *out gets
 * the parsed answer (the caller decrefs), month_body() its text. */
int month_call(const char *method, const char *path, json_t **out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *month_body(void);
/* A new keep-alive connection, and a call on it with any token; thread-safe (one connection
 * per thread). Answers the status, the body into resp. */
int month_conn(void);
int month_call_on(int fd, const char *token, const char *method, const char *path, const char *body,
                  char *resp, size_t cap);
void month_conn_close(int fd);
/* A shell command's exit status (0: success), its first output line in out if given. */
int month_run(const char *cmd, char *out, size_t cap);

/* ---- checks ---- */
int month_check_kind(const char *name); /* a check line of its own ("R members' rights") */
void month_seen(int kind);
void month_fail(int kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An HTTP call that must succeed as part of the simulation (counted under H otherwise). */
bool month_expect(int status, int want1, int want2, const char *what, int64_t member);

/* ---- the chain's members ---- */
int64_t month_pick_member(void); /* a live member (never merged away or erased), or -1 */
void month_member_added(int64_t id);
/* The member was erased at the instant: the core picks them no more, and judges the
 * messages and consents of erased members accordingly. */
void month_member_erased(int64_t id, int64_t at);
int64_t month_erased_at(int64_t id); /* 0: never */

/* ---- the independent reader (the store read directly, never through siyu) ---- */
/* A single integer: sql with ?1 and ?2 bound to a and b; -1 when no row. */
int64_t month_q1(const char *sql, int64_t a, int64_t b);

/* ---- randomness: each participant its own stream ---- */
typedef struct month_rng {
    uint64_t state;
} month_rng;
void month_rng_init(month_rng *r, const char *name); /* seeded by SIYU_MONTH_SEED and name */
uint64_t month_rnd(month_rng *r);
int64_t month_uniform(month_rng *r, int64_t n); /* 0..n-1 */
bool month_chance(month_rng *r, double p);

/* json helpers: a dotted path ("a.b.0.c") */
json_t *month_jget(json_t *o, const char *path);
int64_t month_jint(json_t *o, const char *path); /* -999 when absent */

/* The participants (each defined in its month_FEATURE.c). */
extern const month_participant month_rights;
extern const month_participant month_groups;
extern const month_participant month_tasks;
extern const month_participant month_fission;
extern const month_participant month_staff;

#endif
