/* msg_utf8.h — the small UTF-8 checks templates and adapters need (internal to messaging).
 *
 * Strict decoding: no overlong forms, no surrogates, nothing above U+10FFFF — text that
 * passes here passes every JSON parser and every SMS gateway's encoder. */
#ifndef SIYU_MESSAGING_MSG_UTF8_H
#define SIYU_MESSAGING_MSG_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes taken by the sequence a lead byte starts (1 for a stray continuation byte). */
size_t msg_utf8_len(unsigned char lead);
/* Decodes one character at s (n bytes available): its length, or 0 when invalid. */
size_t msg_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* The offset of the first invalid sequence or NUL byte, or n when there is none. */
size_t msg_utf8_check(const char *s, size_t n);
/* The same, with NUL bytes accepted. */
size_t msg_utf8_check_nul_ok(const char *s, size_t n);
/* Characters that steer layout rather than show text: C0 and C1 controls, DEL, the line
 * and paragraph separators, and the bidirectional marks, embeddings and isolates. */
bool msg_utf8_is_layout_control(uint32_t cp);

#endif
