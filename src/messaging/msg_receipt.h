/* msg_receipt.h — delivery receipts: what a channel's provider calls back with.
 *
 * A receipt is one JSON object:
 *   {"message_id": 123, "status": "delivered", "at": "2026-11-22T10:00:05+08:00"}
 * message_id is an integer, or a string of decimal digits (a receiver that echoes the
 * Idempotency-Key header back); status is delivered, failed or read; at is RFC 3339 with
 * an offset; an optional "reason" (string, at most 200 bytes) says why a delivery failed.
 * Any other key is an error, so a misspelt field never passes silently. */
#ifndef SIYU_MESSAGING_MSG_RECEIPT_H
#define SIYU_MESSAGING_MSG_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef enum msg_receipt_status {
    MSG_RECEIPT_DELIVERED,
    MSG_RECEIPT_FAILED,
    MSG_RECEIPT_READ
} msg_receipt_status;

#define MSG_RECEIPT_MAX_BYTES 4096
#define MSG_RECEIPT_REASON_MAX 200

typedef struct msg_receipt {
    int64_t message_id;
    msg_receipt_status status;
    int64_t at;                              /* unix seconds */
    char reason[MSG_RECEIPT_REASON_MAX + 1]; /* "" when none */
} msg_receipt;

/* "delivered", "failed", "read". */
const char *msg_receipt_status_name(msg_receipt_status s);

/* Parses a callback body of len bytes. Returns 0, or -1 with e naming the field
 * (code invalid_argument; payload_too_large above MSG_RECEIPT_MAX_BYTES). *out is
 * written only on success. */
int msg_receipt_parse(const char *body, size_t len, msg_receipt *out, siyu_err *e);

#endif
