/* phone.h — one spelling per phone number, so one person is one identity.
 *
 * Mainland numbers become their 11 digits ("+86 138-0013-8000" -> "13800138000");
 * other countries become E.164 ("+852 9123 4567" -> "+85291234567"). */
#ifndef SIYU_BASE_PHONE_H
#define SIYU_BASE_PHONE_H

#include <stddef.h>

/* Returns 0 and writes the normal form into out (>= 20 bytes), or -1 if not a phone. */
int phone_normalise(const char *in, char *out, size_t len);

/* "13812345678" -> "138****5678" for roles that must not see the number. */
void phone_mask(const char *normal, char *out, size_t len);

#endif
