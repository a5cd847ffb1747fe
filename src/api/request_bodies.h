/* The JSON request bodies the API accepts, read strictly: one object, no duplicate or unknown
 * members, numbers that are JSON integers in range. Pure functions of the bytes (no store, no
 * request), so they are also fuzz targets (tests/fuzz). Thread-safe. */
#ifndef MONDUX_API_REQUEST_BODIES_H
#define MONDUX_API_REQUEST_BODIES_H

#include <stddef.h>
#include <stdint.h>

#include "mondux/account_number.h"
#include "mondux/status.h"

/* POST /api/accounts: empty, or {"overdraft_limit": 0..MX_MONEY_MAX_CENTS} (absent means 0).
 * MX_OK and *overdraft_limit_cents, or MX_INVALID_REQUEST. body need not be NUL-terminated. */
mx_status mx_api_read_account_body(const char *body, size_t size, int64_t *overdraft_limit_cents);

struct mx_transfer_order {
    /* As sent, when it fits and holds no NUL; else "" (no account's number, so answered as
     * unknown). */
    char from[MX_ACCT_LENGTH + 1];
    char to[MX_ACCT_LENGTH + 1];
    int64_t sum_cents;
};

/* POST /api/transfers: exactly {"from": "<string>", "to": "<string>", "sum": 1..MAX}. In api.md's
 * order: MX_INVALID_REQUEST for the body's shape, then MX_INVALID_SUM for the sum, then
 * MX_INVALID_REQUEST when from and to are the same string. MX_OK fills *out. */
mx_status mx_api_read_transfer_body(const char *body, size_t size, struct mx_transfer_order *out);

#endif
