/* The one status table (api.md "Errors"): every outcome has exactly one row, with the HTTP status
 * and machine code the contract names, and the original service's two messages word for word. */
#include <check.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mondux/status.h"
#include "unit_run.h"

/* api.md, transcribed. Indexed by status so a status added to the enum without a row here leaves
 * a NULL code, which every_status_has_the_http_status_and_code_of_api_md reports. */
static const struct {
    unsigned http_status;
    const char *code;
} contract[MX_STATUS_COUNT] = {
    [MX_OK] = {200, "ok"},
    [MX_INVALID_SUM] = {400, "invalid_sum"},
    [MX_INVALID_REQUEST] = {400, "invalid_request"},
    [MX_UNAUTHORIZED] = {401, "unauthorized"},
    [MX_FORBIDDEN] = {403, "forbidden"},
    [MX_ACCOUNT_NOT_FOUND] = {404, "account_not_found"},
    [MX_TRANSFER_NOT_FOUND] = {404, "transfer_not_found"},
    [MX_NOT_FOUND] = {404, "not_found"},
    [MX_METHOD_NOT_ALLOWED] = {405, "method_not_allowed"},
    [MX_INSUFFICIENT_FUNDS] = {409, "insufficient_funds"},
    [MX_BALANCE_LIMIT_EXCEEDED] = {409, "balance_limit_exceeded"},
    [MX_ACCOUNT_FROZEN] = {409, "account_frozen"},
    [MX_ACCOUNT_CLOSED] = {409, "account_closed"},
    [MX_ACCOUNT_NOT_EMPTY] = {409, "account_not_empty"},
    [MX_HOLD_NOT_FOUND] = {404, "hold_not_found"},
    [MX_HOLD_NOT_PENDING] = {409, "hold_not_pending"},
    [MX_CURRENCY_MISMATCH] = {409, "currency_mismatch"},
    [MX_DUPLICATE_REFERENCE] = {409, "duplicate_reference"},
    [MX_IDEMPOTENCY_KEY_IN_USE] = {409, "idempotency_key_in_use"},
    [MX_IDEMPOTENCY_KEY_REUSED] = {422, "idempotency_key_reused"},
    [MX_PAYLOAD_TOO_LARGE] = {413, "payload_too_large"},
    [MX_URI_TOO_LONG] = {414, "uri_too_long"},
    [MX_HEADERS_TOO_LARGE] = {431, "headers_too_large"},
    [MX_NOT_IMPLEMENTED] = {501, "not_implemented"},
    [MX_UNAVAILABLE] = {503, "unavailable"},
    [MX_OUTCOME_UNKNOWN] = {503, "outcome_unknown"},
    [MX_INTERNAL] = {500, "internal_error"},
};

static int is_snake_case(const char *code) {
    if (code[0] == '\0')
        return 0;
    for (const char *p = code; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
            return 0;
    }
    return 1;
}

START_TEST(every_status_has_its_own_row) {
    for (int s = MX_OK; s < MX_STATUS_COUNT; s++) {
        const struct mx_status_info *info = mx_status_info((mx_status)s);
        ck_assert_msg(info != NULL, "status %d has no row", s);
        ck_assert_msg(info->status == (mx_status)s, "status %d maps to the row of status %d", s,
                      (int)info->status);
    }
}
END_TEST

START_TEST(every_status_has_the_http_status_and_code_of_api_md) {
    for (int s = MX_OK; s < MX_STATUS_COUNT; s++) {
        ck_assert_msg(contract[s].code != NULL,
                      "status %d is missing from this test's transcription of api.md", s);
        const struct mx_status_info *info = mx_status_info((mx_status)s);
        ck_assert_msg(info->http_status == contract[s].http_status,
                      "status %d (%s): HTTP %u, api.md says %u", s, contract[s].code,
                      info->http_status, contract[s].http_status);
        ck_assert_msg(info->code != NULL && strcmp(info->code, contract[s].code) == 0,
                      "status %d: code \"%s\", api.md says \"%s\"", s,
                      info->code ? info->code : "(null)", contract[s].code);
    }
}
END_TEST

START_TEST(codes_are_distinct_non_empty_snake_case) {
    for (int s = MX_OK; s < MX_STATUS_COUNT; s++) {
        const char *code = mx_status_info((mx_status)s)->code;
        ck_assert_msg(code != NULL, "status %d has a NULL code", s);
        ck_assert_msg(is_snake_case(code), "status %d: code \"%s\" is not non-empty [a-z_]", s,
                      code);
        for (int t = MX_OK; t < s; t++)
            ck_assert_msg(strcmp(code, mx_status_info((mx_status)t)->code) != 0,
                          "statuses %d and %d share the code \"%s\"", t, s, code);
    }
}
END_TEST

START_TEST(every_status_has_a_non_empty_message) {
    for (int s = MX_OK; s < MX_STATUS_COUNT; s++) {
        const char *message = mx_status_info((mx_status)s)->message;
        ck_assert_msg(message != NULL && message[0] != '\0', "status %d has no message", s);
    }
}
END_TEST

START_TEST(original_messages_are_kept_word_for_word) {
    ck_assert_str_eq(mx_status_info(MX_ACCOUNT_NOT_FOUND)->message, "account does not exist");
    ck_assert_str_eq(mx_status_info(MX_INVALID_SUM)->message, "transaction sum is invalid");
}
END_TEST

START_TEST(out_of_range_status_maps_to_the_internal_error_row) {
    const struct mx_status_info *internal = mx_status_info(MX_INTERNAL);
    ck_assert_int_eq(internal->status, MX_INTERNAL);
    ck_assert_uint_eq(internal->http_status, 500);
    ck_assert_str_eq(internal->code, "internal_error");

    const int out_of_range[] = {MX_STATUS_COUNT, MX_STATUS_COUNT + 1, 1000, INT_MAX, -1, INT_MIN};
    for (size_t i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; i++) {
        const struct mx_status_info *info = mx_status_info((mx_status)out_of_range[i]);
        ck_assert_msg(info == internal, "status value %d does not map to the MX_INTERNAL row",
                      out_of_range[i]);
    }
}
END_TEST

static void add_case(Suite *suite, const char *name, const TTest *test) {
    TCase *tc = tcase_create(name);
    tcase_add_test(tc, test);
    suite_add_tcase(suite, tc);
}

#define ADD_CASE(suite, test) add_case((suite), #test, (test))

static Suite *status_suite(void) {
    Suite *s = suite_create("status");
    ADD_CASE(s, every_status_has_its_own_row);
    ADD_CASE(s, every_status_has_the_http_status_and_code_of_api_md);
    ADD_CASE(s, codes_are_distinct_non_empty_snake_case);
    ADD_CASE(s, every_status_has_a_non_empty_message);
    ADD_CASE(s, original_messages_are_kept_word_for_word);
    ADD_CASE(s, out_of_range_status_maps_to_the_internal_error_row);
    return s;
}

int main(void) {
    return mx_unit_run(status_suite());
}
