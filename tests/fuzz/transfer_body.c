/* Fuzz target: the body of POST /api/transfers (mx_api_read_transfer_body), handed the bytes
 * exactly as they came, without a NUL after them.
 *
 * Properties: the answer is OK, INVALID_REQUEST or INVALID_SUM; OK means a body jansson itself
 * reads as an object of the members from, to (strings that differ) and sum (an integer in
 * 1..2^53-1), besides at most a reference and metadata (read by mx_api_read_tags), with the order's
 * fields equal to them (an account field is "" only when the string is too long or holds a NUL);
 * the canonical body written back from an OK order reads as the same order; reading twice gives the
 * same answer; a refusal says why in words that may be sent (refusal.h). */
#include <jansson.h>

#include "api/request_bodies.h"
#include "fuzz.h"
#include "refusal.h"
#include "mondux/money.h"

/* The order's copy of an account string: the string itself when it fits, else "". */
static void check_account(const json_t *value, const char *copy) {
    FUZZ_CHECK(json_is_string(value), "from and to are strings");
    const char *text = json_string_value(value);
    size_t length = json_string_length(value);
    FUZZ_CHECK(strnlen(copy, MX_ACCT_LENGTH + 1) <= MX_ACCT_LENGTH, "account copy terminated");
    if (length <= MX_ACCT_LENGTH && strlen(text) == length)
        FUZZ_CHECK(strcmp(copy, text) == 0, "an account that fits is copied as sent");
    else
        FUZZ_CHECK(copy[0] == '\0', "an account that cannot be a number is copied as \"\"");
}

static void check_reread(const struct mx_transfer_order *order) {
    /* "" stands for any string too long to keep: the same order only when the copies differ. */
    if (order->from[0] == '\0' || order->to[0] == '\0')
        return;
    json_t *object = json_pack("{s:s, s:s, s:I}", "from", order->from, "to", order->to, "sum",
                               (json_int_t)order->sum_cents);
    char *text = object != NULL ? json_dumps(object, JSON_COMPACT) : NULL;
    FUZZ_CHECK(text != NULL, "out of memory");
    struct mx_transfer_order again;
    memset(&again, 0x5a, sizeof again);
    struct mx_api_refusal why;
    FUZZ_CHECK(mx_api_read_transfer_body(text, strlen(text), &again, &why) == MX_OK,
               "the canonical body of an accepted order is accepted");
    FUZZ_CHECK(strcmp(again.from, order->from) == 0 && strcmp(again.to, order->to) == 0 &&
                   again.sum_cents == order->sum_cents,
               "and reads as the same order");
    free(text);
    json_decref(object);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *body = (const char *)data;
    struct mx_transfer_order order, again;
    memset(&order, 0x5a, sizeof order);
    memset(&again, 0x5a, sizeof again);
    struct mx_api_refusal why, why_again;
    mx_status status = mx_api_read_transfer_body(body, size, &order, &why);
    FUZZ_CHECK(status == MX_OK || status == MX_INVALID_REQUEST || status == MX_INVALID_SUM,
               "OK, INVALID_REQUEST or INVALID_SUM");
    FUZZ_CHECK(mx_api_read_transfer_body(body, size, &again, &why_again) == status,
               "same answer twice");
    if (status != MX_OK) {
        fuzz_check_refusal(&why, status);
        return 0;
    }
    FUZZ_CHECK(memcmp(&order, &again, sizeof order) == 0, "same order twice");
    FUZZ_CHECK(order.sum_cents >= 1 && order.sum_cents <= MX_MONEY_MAX_CENTS,
               "sum within 1..2^53-1");
    FUZZ_CHECK(order.from[0] == '\0' || strcmp(order.from, order.to) != 0,
               "from and to are different accounts");

    json_error_t error;
    json_t *object = json_loadb(body, size, JSON_REJECT_DUPLICATES, &error);
    FUZZ_CHECK(json_is_object(object), "an accepted body is one JSON object");
    /* from, to and sum, and maybe the reference and metadata that mx_api_read_tags reads. */
    size_t tags = (json_object_get(object, "reference") != NULL) +
                  (json_object_get(object, "metadata") != NULL);
    FUZZ_CHECK(json_object_size(object) == 3 + tags, "with from, to, sum and no unknown member");
    json_t *from = json_object_get(object, "from"), *to = json_object_get(object, "to");
    json_t *sum = json_object_get(object, "sum");
    check_account(from, order.from);
    check_account(to, order.to);
    FUZZ_CHECK(!json_equal(from, to), "from and to differ as sent");
    FUZZ_CHECK(json_is_integer(sum) && json_integer_value(sum) == order.sum_cents,
               "the sum is the member's integer");
    json_decref(object);
    check_reread(&order);
    return 0;
}
