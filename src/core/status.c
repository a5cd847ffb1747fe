/* The one table from outcome to HTTP status, machine code and message (api.md "Errors"). */
#include "mondux/status.h"

static const struct mx_status_info status_table[MX_STATUS_COUNT] = {
    [MX_OK] = {MX_OK, 200, "ok", "ok"},
    [MX_INVALID_SUM] = {MX_INVALID_SUM, 400, "invalid_sum", "transaction sum is invalid"},
    [MX_INVALID_REQUEST] = {MX_INVALID_REQUEST, 400, "invalid_request", "request is invalid"},
    [MX_UNAUTHORIZED] = {MX_UNAUTHORIZED, 401, "unauthorized",
                         "a valid API key is required: Authorization: Bearer <key>"},
    [MX_FORBIDDEN] = {MX_FORBIDDEN, 403, "forbidden", "this API key's scope does not allow this"},
    [MX_ACCOUNT_NOT_FOUND] = {MX_ACCOUNT_NOT_FOUND, 404, "account_not_found",
                              "account does not exist"},
    [MX_TRANSFER_NOT_FOUND] = {MX_TRANSFER_NOT_FOUND, 404, "transfer_not_found",
                               "transfer does not exist"},
    [MX_NOT_FOUND] = {MX_NOT_FOUND, 404, "not_found", "no such resource"},
    [MX_METHOD_NOT_ALLOWED] = {MX_METHOD_NOT_ALLOWED, 405, "method_not_allowed",
                               "method not allowed on this resource"},
    [MX_INSUFFICIENT_FUNDS] = {MX_INSUFFICIENT_FUNDS, 409, "insufficient_funds",
                               "insufficient funds"},
    [MX_BALANCE_LIMIT_EXCEEDED] = {MX_BALANCE_LIMIT_EXCEEDED, 409, "balance_limit_exceeded",
                                   "balance would exceed the limit of 9007199254740991 cents"},
    [MX_ACCOUNT_FROZEN] = {MX_ACCOUNT_FROZEN, 409, "account_frozen",
                           "the account is frozen: no money moves in or out of it until it is "
                           "unfrozen (holds made before the freeze may still be captured)"},
    [MX_ACCOUNT_CLOSED] = {MX_ACCOUNT_CLOSED, 409, "account_closed",
                           "the account is closed: nothing moves in or out of it, and it stays "
                           "closed"},
    [MX_ACCOUNT_NOT_EMPTY] = {MX_ACCOUNT_NOT_EMPTY, 409, "account_not_empty",
                              "only an account with a balance of exactly 0 and no pending hold "
                              "can be closed"},
    [MX_HOLD_NOT_FOUND] = {MX_HOLD_NOT_FOUND, 404, "hold_not_found", "hold does not exist"},
    [MX_HOLD_NOT_PENDING] = {MX_HOLD_NOT_PENDING, 409, "hold_not_pending",
                             "the hold is no longer pending: it was captured, voided or has "
                             "expired"},
    [MX_CURRENCY_MISMATCH] = {MX_CURRENCY_MISMATCH, 409, "currency_mismatch",
                              "the two accounts hold different currencies: money moves only "
                              "between accounts of the same currency"},
    [MX_DUPLICATE_REFERENCE] = {MX_DUPLICATE_REFERENCE, 409, "duplicate_reference",
                                "the account already has a movement with this reference"},
    [MX_IDEMPOTENCY_KEY_IN_USE] = {MX_IDEMPOTENCY_KEY_IN_USE, 409, "idempotency_key_in_use",
                                   "a request with this idempotency key is still in progress, "
                                   "try again"},
    [MX_IDEMPOTENCY_KEY_REUSED] = {MX_IDEMPOTENCY_KEY_REUSED, 422, "idempotency_key_reused",
                                   "this idempotency key was already used for a different request"},
    [MX_PAYLOAD_TOO_LARGE] = {MX_PAYLOAD_TOO_LARGE, 413, "payload_too_large",
                              "request body is too large"},
    [MX_URI_TOO_LONG] = {MX_URI_TOO_LONG, 414, "uri_too_long", "request URL is too long"},
    [MX_HEADERS_TOO_LARGE] = {MX_HEADERS_TOO_LARGE, 431, "headers_too_large",
                              "request headers are too large"},
    [MX_NOT_IMPLEMENTED] = {MX_NOT_IMPLEMENTED, 501, "not_implemented",
                            "the only Transfer-Encoding served is chunked: send the body with "
                            "Content-Length or chunked"},
    [MX_UNAVAILABLE] = {MX_UNAVAILABLE, 503, "unavailable",
                        "service temporarily unavailable, try again"},
    [MX_OUTCOME_UNKNOWN] = {MX_OUTCOME_UNKNOWN, 503, "outcome_unknown",
                            "the database connection broke before the outcome was known: read "
                            "the account, or retry with the same Idempotency-Key, to learn it"},
    [MX_INTERNAL] = {MX_INTERNAL, 500, "internal_error", "internal error"},
};

const struct mx_status_info *mx_status_info(mx_status status) {
    if ((unsigned)status >= MX_STATUS_COUNT)
        return &status_table[MX_INTERNAL];
    return &status_table[status];
}
