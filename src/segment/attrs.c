/* attrs.c — the attribute table of spec/segments.md. */
#include "segment/attrs.h"

#include <string.h>
#include <strings.h>

const seg_attr_info seg_attrs[SEG_A_COUNT_] = {
    [SEG_A_STORE] = {"store", SEG_T_CAT_INT, "store id the member belongs to"},
    [SEG_A_GUIDE] = {"guide", SEG_T_CAT_INT, "staff id of the bound guide"},
    [SEG_A_BRAND] = {"brand", SEG_T_CAT_INT, "brand id"},
    [SEG_A_JOIN_CHANNEL] = {"join_channel", SEG_T_CAT_STR, "channel the member joined through"},
    [SEG_A_TIER] = {"tier", SEG_T_CAT_STR, "loyalty tier code"},
    [SEG_A_GENDER] = {"gender", SEG_T_CAT_STR, "gender as recorded"},
    [SEG_A_CITY] = {"city", SEG_T_CAT_STR, "city name"},
    [SEG_A_FAVOURITE_CATEGORY] = {"favourite_category", SEG_T_CAT_STR,
                                  "category with the most net spend"},
    [SEG_A_AGE] = {"age", SEG_T_INT, "age in whole years today"},
    [SEG_A_BIRTHDAY_MONTH] = {"birthday_month", SEG_T_INT, "month of birth, 1-12"},
    [SEG_A_BIRTHDAY_DAY] = {"birthday_day", SEG_T_INT, "day of month of birth, 1-31"},
    [SEG_A_BIRTHDAY] = {"birthday", SEG_T_DATE, "date of birth"},
    [SEG_A_JOINED_DAYS] = {"joined_days", SEG_T_INT, "days since joining"},
    [SEG_A_FIRST_ORDER_DAYS] = {"first_order_days", SEG_T_INT, "days since the first order"},
    [SEG_A_LAST_ORDER_DAYS] = {"last_order_days", SEG_T_INT, "days since the last order"},
    [SEG_A_JOINED_DATE] = {"joined_date", SEG_T_DATE, "date of joining"},
    [SEG_A_FIRST_ORDER_DATE] = {"first_order_date", SEG_T_DATE, "date of the first order"},
    [SEG_A_LAST_ORDER_DATE] = {"last_order_date", SEG_T_DATE, "date of the last order"},
    [SEG_A_ORDERS] = {"orders", SEG_T_INT, "orders, cancelled ones netted"},
    [SEG_A_ORDERS_30D] = {"orders_30d", SEG_T_INT, "orders in the last 30 days"},
    [SEG_A_ORDERS_90D] = {"orders_90d", SEG_T_INT, "orders in the last 90 days"},
    [SEG_A_ORDERS_365D] = {"orders_365d", SEG_T_INT, "orders in the last 365 days"},
    [SEG_A_SPEND] = {"spend_cents", SEG_T_INT, "net spend, lifetime"},
    [SEG_A_SPEND_30D] = {"spend_30d_cents", SEG_T_INT, "net spend in the last 30 days"},
    [SEG_A_SPEND_90D] = {"spend_90d_cents", SEG_T_INT, "net spend in the last 90 days"},
    [SEG_A_SPEND_365D] = {"spend_365d_cents", SEG_T_INT, "net spend in the last 365 days"},
    [SEG_A_AVG_TICKET] = {"avg_ticket_cents", SEG_T_INT, "spend_cents / orders, truncated"},
    [SEG_A_ITEMS_PER_ORDER] = {"items_per_order", SEG_T_DEC, "items / orders, lifetime"},
    [SEG_A_POINTS] = {"points_balance", SEG_T_INT, "points balance"},
    [SEG_A_REACH_PUBLIC_ACCOUNT] = {"reach.public_account", SEG_T_FLAG,
                                    "follows the public account"},
    [SEG_A_REACH_WECOM] = {"reach.wecom", SEG_T_FLAG, "is a guide's enterprise-WeChat contact"},
    [SEG_A_REACH_GROUP] = {"reach.group", SEG_T_FLAG, "is in a store group"},
    [SEG_A_REACH_SMS] = {"reach.sms", SEG_T_FLAG, "opted in to SMS"},
    [SEG_A_REACH_MINIPROGRAM] = {"reach.miniprogram", SEG_T_FLAG, "uses the mini-program"},
    [SEG_A_REACH_ANY] = {"reach.any", SEG_T_FLAG, "reachable on any channel"},
    [SEG_A_RFM] = {"rfm", SEG_T_ENUM, "RFM class"},
    [SEG_A_LIFECYCLE] = {"lifecycle", SEG_T_ENUM, "lifecycle stage"},
    [SEG_A_P_ALIVE] = {"p_alive", SEG_T_DEC, "probability still active (BG/NBD)"},
    [SEG_A_EXPECTED_PURCHASES_90D] = {"expected_purchases_90d", SEG_T_DEC,
                                      "expected purchases in the next 90 days"},
    [SEG_A_CONTACTS] = {"contacts", SEG_T_INT, "live WeCom contact edges with guides"},
    [SEG_A_CONTACT_DAYS] = {"contact_days", SEG_T_INT, "days since the first contact with a guide"},
    [SEG_A_GROUPS] = {"groups", SEG_T_INT, "store groups (社群) the member is in now"},
    [SEG_A_GROUP_DAYS] = {"group_days", SEG_T_INT, "days since first joining a store group"},
    [SEG_A_REFERRALS_DIRECT] = {"referrals_direct", SEG_T_INT,
                                "members the member referred (depth 1)"},
    [SEG_A_REFERRALS_ALL] = {"referrals_all", SEG_T_INT,
                             "members downstream of the member in the referral graph"},
    [SEG_A_REFERRAL_DEPTH] = {"referral_depth", SEG_T_INT,
                              "the member's depth in the referral graph (0: not referred)"},
    [SEG_A_CAMPAIGN] = {"campaign", SEG_T_CAT_STR, "the campaign the member joined through"},
    [SEG_A_QR_CODE] = {"qr_code", SEG_T_CAT_INT, "the channel QR code the member joined through"},
    [SEG_A_CLV_12M] = {"clv_12m_cents", SEG_T_INT, "predicted 12-month value"},
    [SEG_A_GROUP] = {"group", SEG_T_CAT_INT, "a store group (社群) id the member is in now"},
    [SEG_A_GROUP_MESSAGES_30D] = {"group_messages_30d", SEG_T_INT,
                                  "messages in store groups in the last 30 days"},
};

const char *const seg_rfm_names[SEG_RFM_CLASSES] = {
    "重要价值", "重要发展", "重要保持", "重要挽留", "一般价值", "一般发展", "一般保持", "一般挽留",
};

const char *const seg_lifecycle_names[SEG_LIFECYCLE_STAGES] = {
    "prospect", "new", "active", "at_risk", "lapsed", "won_back",
};

int seg_attr_find(const char *name, size_t len)
{
    for (int i = 0; i < SEG_A_COUNT_; i++)
        if (strlen(seg_attrs[i].name) == len && strncasecmp(seg_attrs[i].name, name, len) == 0)
            return i;
    return -1;
}
