/* checked.h — arithmetic on money and quantities that never wraps.
 *
 * Every sum or product of cents, points or quantities goes through these: each returns
 * false (and leaves *out alone) when the exact result does not fit in an int64, so the
 * caller refuses the input or reports the overflow instead of storing a wrapped value.
 * The compiler's __builtin_*_overflow makes each one a single instruction and a branch. */
#ifndef SIYU_CHECKED_H
#define SIYU_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

/* *out = a + b, unless that overflows (then false, *out unchanged). */
static inline bool ck_add(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) return false;
    *out = r;
    return true;
}

/* *out = a − b, unless that overflows. */
static inline bool ck_sub(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r)) return false;
    *out = r;
    return true;
}

/* *out = a × b, unless that overflows. */
static inline bool ck_mul(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r)) return false;
    *out = r;
    return true;
}

/* *acc += a × b, unless the product or the sum overflows (then *acc is unchanged). */
static inline bool ck_add_mul(int64_t *acc, int64_t a, int64_t b)
{
    int64_t p;
    return ck_mul(a, b, &p) && ck_add(*acc, p, acc);
}

/* Saturating forms for aggregates that must not fail (reports): the result is clamped
 * to INT64_MAX / INT64_MIN, and *overflowed is set when it was. */
static inline int64_t ck_add_sat(int64_t a, int64_t b, bool *overflowed)
{
    int64_t r;
    if (!__builtin_add_overflow(a, b, &r)) return r;
    if (overflowed) *overflowed = true;
    return b > 0 ? INT64_MAX : INT64_MIN;
}

#endif
