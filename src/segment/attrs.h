/* attrs.h — the attribute table: every attribute of spec/segments.md, its type and
 * how it is evaluated. One table drives the parser (names and types), the evaluator
 * (which column, which kind of scan) and the docs test. */
#ifndef SIYU_SEGMENT_ATTRS_H
#define SIYU_SEGMENT_ATTRS_H

#include <stddef.h>

typedef enum seg_attr_id {
    SEG_A_STORE,
    SEG_A_GUIDE,
    SEG_A_BRAND,
    SEG_A_JOIN_CHANNEL,
    SEG_A_TIER,
    SEG_A_GENDER,
    SEG_A_CITY,
    SEG_A_FAVOURITE_CATEGORY,
    SEG_A_AGE,
    SEG_A_BIRTHDAY_MONTH,
    SEG_A_BIRTHDAY_DAY,
    SEG_A_BIRTHDAY,
    SEG_A_JOINED_DAYS,
    SEG_A_FIRST_ORDER_DAYS,
    SEG_A_LAST_ORDER_DAYS,
    SEG_A_JOINED_DATE,
    SEG_A_FIRST_ORDER_DATE,
    SEG_A_LAST_ORDER_DATE,
    SEG_A_ORDERS,
    SEG_A_ORDERS_30D,
    SEG_A_ORDERS_90D,
    SEG_A_ORDERS_365D,
    SEG_A_SPEND,
    SEG_A_SPEND_30D,
    SEG_A_SPEND_90D,
    SEG_A_SPEND_365D,
    SEG_A_AVG_TICKET,
    SEG_A_ITEMS_PER_ORDER,
    SEG_A_POINTS,
    SEG_A_REACH_PUBLIC_ACCOUNT,
    SEG_A_REACH_WECOM,
    SEG_A_REACH_GROUP,
    SEG_A_REACH_SMS,
    SEG_A_REACH_MINIPROGRAM,
    SEG_A_REACH_ANY,
    SEG_A_RFM,
    SEG_A_LIFECYCLE,
    SEG_A_P_ALIVE,
    SEG_A_EXPECTED_PURCHASES_90D,
    SEG_A_CLV_12M,
    SEG_A_CONTACTS,
    SEG_A_CONTACT_DAYS,
    SEG_A_GROUPS,
    SEG_A_GROUP_DAYS,
    SEG_A_REFERRALS_DIRECT,
    SEG_A_REFERRALS_ALL,
    SEG_A_REFERRAL_DEPTH,
    SEG_A_CAMPAIGN,
    SEG_A_QR_CODE,
    SEG_A_GROUP,
    SEG_A_GROUP_MESSAGES_30D,
    SEG_A_COUNT_
} seg_attr_id;

typedef enum seg_attr_type {
    SEG_T_CAT_INT, /* categorical named by an integer id: store, guide, brand */
    SEG_T_CAT_STR, /* categorical named by a string: city, tier, ... */
    SEG_T_ENUM,    /* fixed set of names: rfm, lifecycle (an unknown name is an error) */
    SEG_T_INT,     /* integer: counts, cents, days since */
    SEG_T_DEC,     /* decimal: items_per_order, p_alive, ... */
    SEG_T_DATE,    /* a date, compared with date literals: joined_date, birthday */
    SEG_T_FLAG     /* boolean, used alone: reach.* */
} seg_attr_type;

typedef struct seg_attr_info {
    const char *name;
    seg_attr_type type;
    const char *doc; /* one line, English */
} seg_attr_info;

extern const seg_attr_info seg_attrs[SEG_A_COUNT_];

/* Case-insensitive lookup; -1 when unknown. */
int seg_attr_find(const char *name, size_t len);

/* The names of the fixed classes, index = stored code - 1. */
#define SEG_RFM_CLASSES 8
extern const char *const seg_rfm_names[SEG_RFM_CLASSES];
#define SEG_LIFECYCLE_STAGES 6
extern const char *const seg_lifecycle_names[SEG_LIFECYCLE_STAGES];

#endif
