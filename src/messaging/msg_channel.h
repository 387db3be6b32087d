/* msg_channel.h — the four message channels journeys send on.
 *
 * A channel is what the operator picks in a journey step (`"channel": "sms"`); an adapter
 * (msg_adapter.h) is how a channel's messages leave siyu. Channels are also the unit of
 * consent and of platform caps (msg_guardrails.h), so they live in their own small header
 * that both sides include. */
#ifndef SIYU_MESSAGING_MSG_CHANNEL_H
#define SIYU_MESSAGING_MSG_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

typedef enum msg_channel {
    MSG_CH_WECHAT_TEMPLATE, /* public-account template message */
    MSG_CH_SMS,             /* text message to the member's phone */
    MSG_CH_WECOM,           /* enterprise WeChat, sent by the member's guide */
    MSG_CH_WEBHOOK,         /* a generic integration: whatever listens on the URL */
    MSG_CHANNEL_COUNT
} msg_channel;

/* One bit per channel, for consent and opt-out sets. */
#define MSG_CH_BIT(ch) (1u << (unsigned)(ch))
#define MSG_CH_ALL ((1u << MSG_CHANNEL_COUNT) - 1u)

/* "wechat_template", "sms", "wecom", "webhook"; NULL for an out-of-range value. */
const char *msg_channel_name(msg_channel ch);
/* Exact, case-sensitive lookup of len bytes; -1 when unknown. */
int msg_channel_from_name(const char *name, size_t len);

#endif
