/* Fuzz target: the body of POST /api/accounts (mx_api_read_account_body), handed the bytes
 * exactly as they came, without a NUL after them.
 *
 * Properties: the answer is OK or INVALID_REQUEST; OK means an overdraft limit in 0..2^53-1 and
 * a currency of three capital letters (or none) that are what jansson itself reads from the body
 * (an object whose only members, if any, are an integer "overdraft_limit" and a string
 * "currency"), and the canonical body written back from them reads the same; an empty body is OK
 * with limit 0 and no currency; reading twice gives the same answer; a refusal says why in words
 * that may be sent (refusal.h). */
#include <jansson.h>
#include <string.h>

#include "api/request_bodies.h"
#include "fuzz.h"
#include "refusal.h"
#include "mondux/money.h"

static void check_reread(const struct mx_account_order *order) {
    json_t *object =
        json_pack("{s:I}", "overdraft_limit", (json_int_t)order->overdraft_limit_cents);
    if (object != NULL && order->currency[0] != '\0')
        json_object_set_new(object, "currency", json_string(order->currency));
    char *text = object != NULL ? json_dumps(object, JSON_COMPACT) : NULL;
    FUZZ_CHECK(text != NULL, "out of memory");
    struct mx_account_order again;
    struct mx_api_refusal why;
    FUZZ_CHECK(mx_api_read_account_body(text, strlen(text), &again, &why) == MX_OK &&
                   again.overdraft_limit_cents == order->overdraft_limit_cents &&
                   strcmp(again.currency, order->currency) == 0,
               "the canonical body of an accepted order reads the same");
    free(text);
    json_decref(object);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *body = (const char *)data;
    struct mx_account_order order;
    struct mx_api_refusal why;
    mx_status status = mx_api_read_account_body(body, size, &order, &why);
    int64_t limit = order.overdraft_limit_cents;
    FUZZ_CHECK(status == MX_OK || status == MX_INVALID_REQUEST, "OK or INVALID_REQUEST");

    struct mx_account_order again;
    struct mx_api_refusal why_again;
    FUZZ_CHECK(mx_api_read_account_body(body, size, &again, &why_again) == status,
               "same answer twice");
    if (status != MX_OK) {
        fuzz_check_refusal(&why, status);
        return 0;
    }
    FUZZ_CHECK(again.overdraft_limit_cents == limit && strcmp(again.currency, order.currency) == 0,
               "same order twice");
    FUZZ_CHECK(limit >= 0 && limit <= MX_MONEY_MAX_CENTS, "limit within 0..2^53-1");
    if (size == 0) {
        FUZZ_CHECK(limit == 0 && order.currency[0] == '\0', "an empty body means no overdraft");
        check_reread(&order);
        return 0;
    }

    json_error_t error;
    json_t *object = json_loadb(body, size, JSON_REJECT_DUPLICATES, &error);
    FUZZ_CHECK(json_is_object(object), "an accepted body is one JSON object");
    FUZZ_CHECK(json_object_size(object) <= 2, "with at most two members");
    json_t *member = json_object_get(object, "overdraft_limit");
    json_t *currency = json_object_get(object, "currency");
    FUZZ_CHECK(json_object_size(object) ==
                   (member != NULL ? 1u : 0u) + (currency != NULL ? 1u : 0u),
               "and those are known");
    if (currency == NULL)
        FUZZ_CHECK(order.currency[0] == '\0', "no currency means none");
    else
        FUZZ_CHECK(json_is_string(currency) &&
                       strcmp(json_string_value(currency), order.currency) == 0 &&
                       strlen(order.currency) == 3,
                   "the currency is the member's string of three letters");
    if (member == NULL)
        FUZZ_CHECK(limit == 0, "absent means 0");
    else
        FUZZ_CHECK(json_is_integer(member) && json_integer_value(member) == limit,
                   "the limit is the member's integer");
    json_decref(object);
    check_reread(&order);
    return 0;
}
