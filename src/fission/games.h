/* games.h — fission: interactive games that pull members back — the lucky wheel, the
 * scratch card and the red envelope (issue 17, docs/games.md).
 *
 * This module owns the tables of the games migration: campaigns (their rules, caps and
 * budget), campaign_prizes (odds, stock, what was won), campaign_plays (every play with
 * the random value it drew) and campaign_packets (a red envelope's split). Prizes and
 * entry costs move through the loyalty engine (coupons and the points ledger) inside the
 * play's own transaction, so a play and what it gave are written together or not at all.
 *
 * Invariants (games_check, part of `siyu check`): no prize won more than its stock, and
 * each prize's count equals the plays that won it; a campaign's spend equals the cost of
 * its plays' prizes and stays within its budget; no member over a play or grab cap; a
 * red envelope's packets number what its rules say, sum exactly to its total and each
 * lies between its minimum and maximum.
 *
 * Calls follow domain.h's conventions: inside the caller's transaction, 201/200 or -1
 * with e filled, nothing kept on error. */
#ifndef SIYU_FISSION_GAMES_H
#define SIYU_FISSION_GAMES_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/domain.h"

/* Odds are kept in parts per billion; a draw is uniform in [0, GAMES_SCALE). */
#define GAMES_SCALE 1000000000u
#define GAMES_MAX_PRIZES 32
#define GAMES_MAX_PACKETS 10000

int games_campaign_create(dom *d, json_t *body, json_t **out, siyu_err *e);
int games_campaign_get(dom *d, int64_t id, json_t **out, siyu_err *e);
int games_campaign_list(dom *d, int64_t cursor, int limit, json_t **out, siyu_err *e);
/* {member_id, play_id} -> {play_id, campaign_id, member_id, prize: null | {...}, draw,
 * outcome, at}; 201 for a new play, 200 for a replay of the same play_id. */
int games_play(dom *d, int64_t campaign, json_t *body, json_t **out, siyu_err *e);
/* {member_id, grab_id} -> {grab_id, campaign_id, member_id, packet, amount_cents, points, at} */
int games_grab(dom *d, int64_t campaign, json_t *body, json_t **out, siyu_err *e);
int games_report(dom *d, int64_t id, json_t **out, siyu_err *e);
/* PATCH /campaigns/{id}: {name?, ends_at? (null: none), paused?}; rules never change. */
int games_campaign_patch(dom *d, int64_t id, json_t *body, json_t **out, siyu_err *e);

/* ---- pure functions (unit-tested) ---- */
/* The prize a draw in [0, GAMES_SCALE) lands on: prize i holds the interval
 * [sum of odds before i, that + odds[i]); the rest of the scale is "nothing" (-1). */
int games_pick(const uint32_t *odds_ppb, int n, uint32_t draw);
/* A uniform value in [0, n), n > 0, from libsodium's generator. */
uint64_t games_random_below(uint64_t n);
/* Splits total into n packets, each within [min, max], summing exactly to total.
 * Needs min * n <= total <= max * n (checked: -1 when not, or on overflow). rnd(n)
 * gives a uniform value in [0, n) (games_random_below on the server). */
int games_split(int64_t total, int64_t n, int64_t min, int64_t max, uint64_t (*rnd)(uint64_t),
                int64_t *out);

/* Appends violations ({check, message}) to *out as loyalty_check does; returns how many
 * were found. Called by loyalty_check (`siyu check`). */
int games_check(store_conn *c, int max, json_t *out);

#endif
