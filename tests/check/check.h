/* check.h — the assertion macros every unit test uses.
 *
 * Each failed check prints file, line and both operands, then the test exits non-zero
 * (libuv style: one process per test, so one failure never hides another test). */
#ifndef SIYU_CHECK_H
#define SIYU_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures_;

#define CHECK_FAIL_(fmt, ...)                                                                      \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__);                      \
        check_failures_++;                                                                         \
    } while (0)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) CHECK_FAIL_("CHECK(%s) failed", #cond);                                       \
    } while (0)

#define CHECK_INT_EQ(a, b)                                                                         \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) CHECK_FAIL_("%s == %s failed: %lld != %lld", #a, #b, a_, b_);                \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            CHECK_FAIL_("%s == %s failed: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",           \
                        b_ ? b_ : "(null)");                                                       \
    } while (0)

/* Relative tolerance, falling back to absolute near zero. */
#define CHECK_NEAR(a, b, rel)                                                                      \
    do {                                                                                           \
        double a_ = (double)(a), b_ = (double)(b), r_ = (double)(rel);                             \
        double s_ = fabs(b_) > 1.0 ? fabs(b_) : 1.0;                                               \
        if (!(fabs(a_ - b_) <= r_ * s_))                                                           \
            CHECK_FAIL_("%s ~= %s failed: %.10g vs %.10g (tol %g)", #a, #b, a_, b_, r_);           \
    } while (0)

/* Ends main(): prints the result line and returns the exit code. */
#define CHECK_DONE()                                                                               \
    (check_failures_ ? (fprintf(stderr, "%d check(s) failed\n", check_failures_), 1) : 0)

#endif
