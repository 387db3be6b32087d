#include "messaging/msg_channel.h"

#include <string.h>

static const char *const names[MSG_CHANNEL_COUNT] = {"wechat_template", "sms", "wecom", "webhook"};

const char *msg_channel_name(msg_channel ch)
{
    return (unsigned)ch < MSG_CHANNEL_COUNT ? names[ch] : NULL;
}

int msg_channel_from_name(const char *name, size_t len)
{
    if (!name) return -1;
    for (int i = 0; i < MSG_CHANNEL_COUNT; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) return i;
    return -1;
}
