/* Every outcome the service can report, and its one mapping to HTTP. */
#ifndef MONDUX_STATUS_H
#define MONDUX_STATUS_H

typedef enum mx_status {
    MX_OK = 0,
    MX_INVALID_SUM,
    MX_INVALID_REQUEST,
    MX_UNAUTHORIZED,
    MX_FORBIDDEN,
    MX_ACCOUNT_NOT_FOUND,
    MX_TRANSFER_NOT_FOUND,
    MX_NOT_FOUND,
    MX_METHOD_NOT_ALLOWED,
    MX_INSUFFICIENT_FUNDS,
    MX_BALANCE_LIMIT_EXCEEDED,
    MX_ACCOUNT_FROZEN,
    MX_ACCOUNT_CLOSED,
    MX_ACCOUNT_NOT_EMPTY,
    MX_HOLD_NOT_FOUND,
    MX_HOLD_NOT_PENDING,
    MX_CURRENCY_MISMATCH,
    MX_DUPLICATE_REFERENCE,
    MX_IDEMPOTENCY_KEY_IN_USE,
    MX_IDEMPOTENCY_KEY_REUSED,
    MX_PAYLOAD_TOO_LARGE,
    MX_URI_TOO_LONG,
    MX_HEADERS_TOO_LARGE,
    MX_NOT_IMPLEMENTED,
    MX_UNAVAILABLE,
    MX_OUTCOME_UNKNOWN,
    MX_INTERNAL,
    MX_STATUS_COUNT /* not a status: the number of them */
} mx_status;

/* One row of the status table (api.md "Errors"). */
struct mx_status_info {
    mx_status status;
    unsigned http_status;
    const char *code;    /* machine code, e.g. "insufficient_funds" */
    const char *message; /* human sentence for the "error" field */
};

/* Borrowed pointer into the static table; never NULL (unknown values map to MX_INTERNAL).
 * Thread-safe. */
const struct mx_status_info *mx_status_info(mx_status status);

#endif
