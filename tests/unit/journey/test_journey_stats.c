/* test_journey_stats.c — the journey report's intervals against values computed by hand.
 *
 * Wilson's score interval for one proportion and Newcombe's hybrid score interval
 * (method 10 of Newcombe, Statistics in Medicine 1998;17:873–890) for a difference of
 * two. The expected figures are the published ones (Newcombe's worked examples, to four
 * decimals, z = 1.96) and closed forms worked out below for the zero cases. */
#include <check.h>
#include <math.h>

#include "journey/internal.h"

#define Z 1.959963984540054

static void wilson(void)
{
    double lo, hi;
    /* 81 of 263 (Newcombe 1998, the single-proportion paper's example): 0.2553 to 0.3662 */
    j_wilson(81, 263, Z, &lo, &hi);
    CHECK(fabs(lo - 0.2553) < 5e-5);
    CHECK(fabs(hi - 0.3662) < 5e-5);
    /* 0 of n: [0, z^2 / (n + z^2)] — with n = 10, 3.8415 / 13.8415 = 0.2775 */
    j_wilson(0, 10, Z, &lo, &hi);
    CHECK_NEAR(lo, 0, 1e-12);
    CHECK_NEAR(hi, Z * Z / (10 + Z * Z), 1e-12);
    CHECK(fabs(hi - 0.2775) < 5e-5);
    /* n of n mirrors it: [n / (n + z^2), 1] */
    j_wilson(10, 10, Z, &lo, &hi);
    CHECK_NEAR(lo, 10 / (10 + Z * Z), 1e-12);
    CHECK_NEAR(hi, 1, 1e-12);
    /* 1 of 2: symmetric about 0.5, (0.0945, 0.9055) */
    j_wilson(1, 2, Z, &lo, &hi);
    CHECK_NEAR(lo + hi, 1, 1e-12);
    CHECK(fabs(lo - 0.0945) < 5e-5);
    /* no members: nothing is known */
    j_wilson(0, 0, Z, &lo, &hi);
    CHECK_NEAR(lo, 0, 0);
    CHECK_NEAR(hi, 1, 0);
}

static void newcombe(void)
{
    double lo, hi;
    /* Newcombe's examples (Table II, method 10) */
    j_newcombe(56, 70, 48, 80, Z, &lo, &hi); /* (a) 0.0524 to 0.3339 */
    CHECK(fabs(lo - 0.0524) < 5e-5);
    CHECK(fabs(hi - 0.3339) < 5e-5);
    j_newcombe(9, 10, 3, 10, Z, &lo, &hi); /* (c) 0.1705 to 0.8090 */
    CHECK(fabs(lo - 0.1705) < 5e-5);
    CHECK(fabs(hi - 0.8090) < 5e-5);
    /* (h) 0/10 against 0/20: -0.1611 to 0.2775 — zero on both sides is a real interval,
     * [-u2, u1] with u the Wilson upper bounds: -(z^2/(20+z^2)), z^2/(10+z^2) */
    j_newcombe(0, 10, 0, 20, Z, &lo, &hi);
    CHECK_NEAR(lo, -(Z * Z / (20 + Z * Z)), 1e-12);
    CHECK_NEAR(hi, Z * Z / (10 + Z * Z), 1e-12);
    CHECK(fabs(lo + 0.1611) < 5e-5);
    CHECK(fabs(hi - 0.2775) < 5e-5);
    CHECK(lo < 0 && hi > 0);
    /* swapping the groups mirrors the interval */
    double lo1, hi1, lo2, hi2;
    j_newcombe(56, 70, 48, 80, Z, &lo1, &hi1);
    j_newcombe(48, 80, 56, 70, Z, &lo2, &hi2);
    CHECK_NEAR(lo2, -hi1, 1e-12);
    CHECK_NEAR(hi2, -lo1, 1e-12);
}

int main(void)
{
    wilson();
    newcombe();
    return CHECK_DONE();
}
