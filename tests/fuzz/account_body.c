/* Fuzz target: the body of POST /api/accounts (mx_api_read_account_body), handed the bytes
 * exactly as they came, without a NUL after them.
 *
 * Properties: the answer is OK or INVALID_REQUEST; OK means an overdraft limit in 0..2^53-1 that
 * is what jansson itself reads from the body (an object whose only member, if any, is an integer
 * "overdraft_limit"), and the canonical body written back from that limit reads the same; an
 * empty body is OK with limit 0; reading twice gives the same answer; a refusal says why in
 * words that may be sent (refusal.h). */
#include <jansson.h>

#include "api/request_bodies.h"
#include "fuzz.h"
#include "refusal.h"
#include "mondux/money.h"

static void check_reread(int64_t limit) {
    json_t *object = json_pack("{s:I}", "overdraft_limit", (json_int_t)limit);
    char *text = object != NULL ? json_dumps(object, JSON_COMPACT) : NULL;
    FUZZ_CHECK(text != NULL, "out of memory");
    int64_t again = -1;
    struct mx_api_refusal why;
    FUZZ_CHECK(mx_api_read_account_body(text, strlen(text), &again, &why) == MX_OK &&
                   again == limit,
               "the canonical body of an accepted limit reads the same");
    free(text);
    json_decref(object);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *body = (const char *)data;
    int64_t limit = -1;
    struct mx_api_refusal why;
    mx_status status = mx_api_read_account_body(body, size, &limit, &why);
    FUZZ_CHECK(status == MX_OK || status == MX_INVALID_REQUEST, "OK or INVALID_REQUEST");

    int64_t again = -1;
    struct mx_api_refusal why_again;
    FUZZ_CHECK(mx_api_read_account_body(body, size, &again, &why_again) == status,
               "same answer twice");
    if (status != MX_OK) {
        fuzz_check_refusal(&why, status);
        return 0;
    }
    FUZZ_CHECK(again == limit, "same limit twice");
    FUZZ_CHECK(limit >= 0 && limit <= MX_MONEY_MAX_CENTS, "limit within 0..2^53-1");
    if (size == 0) {
        FUZZ_CHECK(limit == 0, "an empty body means no overdraft");
        check_reread(limit);
        return 0;
    }

    json_error_t error;
    json_t *object = json_loadb(body, size, JSON_REJECT_DUPLICATES, &error);
    FUZZ_CHECK(json_is_object(object), "an accepted body is one JSON object");
    FUZZ_CHECK(json_object_size(object) <= 1, "with at most one member");
    json_t *member = json_object_get(object, "overdraft_limit");
    FUZZ_CHECK(json_object_size(object) == (member != NULL ? 1u : 0u), "and that one is known");
    if (member == NULL)
        FUZZ_CHECK(limit == 0, "absent means 0");
    else
        FUZZ_CHECK(json_is_integer(member) && json_integer_value(member) == limit,
                   "the limit is the member's integer");
    json_decref(object);
    check_reread(limit);
    return 0;
}
