/* fuzz_time_phone.c — the small parsers every request leans on: RFC 3339 instants,
 * calendar dates and phone numbers. Besides not crashing, each must agree with its
 * own writer: what parses formats back to something that parses to the same value,
 * and a normalised phone is already normal. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/phone.h"
#include "base/timeutil.h"

static void fail(const char *what, const char *in, const char *out)
{
    fprintf(stderr, "%s: \"%s\" -> \"%s\"\n", what, in, out);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256) return 0;
    char s[257];
    memcpy(s, data, size);
    s[size] = 0; /* the parsers take C strings, as jansson hands them out */

    int64_t t, t2;
    if (time_parse_rfc3339(s, &t) == 0) {
        char buf[64];
        time_format_rfc3339(t, buf, sizeof buf);
        if (time_parse_rfc3339(buf, &t2) != 0 || t2 != t)
            fail("time_parse_rfc3339 round trip", s, buf);
        (void)time_local_day(t);
    }
    int32_t day, day2;
    if (date_parse(s, &day) == 0) {
        char buf[32];
        date_format(day, buf, sizeof buf);
        if (date_parse(buf, &day2) != 0 || day2 != day) fail("date_parse round trip", s, buf);
        int y, m, d;
        date_civil(day, &y, &m, &d);
        if (date_from_civil(y, m, d) != day) fail("date_civil round trip", s, buf);
    }
    char norm[32], again[32], masked[32];
    if (phone_normalise(s, norm, sizeof norm) == 0) {
        if (phone_normalise(norm, again, sizeof again) != 0 || strcmp(norm, again) != 0)
            fail("phone_normalise not idempotent", s, norm);
        phone_mask(norm, masked, sizeof masked);
    }
    return 0;
}
