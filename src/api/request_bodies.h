/* The JSON request bodies the API accepts, read strictly: one object, no duplicate or unknown
 * members, numbers that are JSON integers in range. The readers are pure functions of the bytes
 * (no store, no request), so they are also fuzz targets (tests/fuzz). A refusal fills *why with a
 * sentence that names the field and the rule. Thread-safe. */
#ifndef MONDUX_API_REQUEST_BODIES_H
#define MONDUX_API_REQUEST_BODIES_H

#include <stddef.h>
#include <stdint.h>

#include "mondux/account_number.h"
#include "mondux/api.h"
#include "mondux/status.h"
#include "mondux/store.h"
#include "refusal.h"

/* Each body as an example, in the sentences that refuse one; a deposit's says where else the sum
 * may go. */
#define MX_API_ACCOUNT_BODY_EXAMPLE                                                                \
    "{\"overdraft_limit\": 50000, \"currency\": \"EUR\"}, either optional, or no body"
#define MX_API_TRANSFER_BODY_EXAMPLE                                                               \
    "{\"from\": \"<account>\", \"to\": \"<account>\", \"sum\": 500}"
#define MX_API_MOVE_BODY_EXAMPLE    "{\"sum\": 500}, or no body and ?sum=500 in the query"
#define MX_API_EMPTY_BODY_EXAMPLE   "no body, or {}"
#define MX_API_LIMIT_BODY_EXAMPLE   "{\"overdraft_limit\": 50000}"
#define MX_API_HOLD_BODY_EXAMPLE    "{\"sum\": 500, \"expires_in\": 3600}"
#define MX_API_CAPTURE_BODY_EXAMPLE "{\"sum\": 500}, or no body for the whole sum held"

/* Whether request's body may be read as JSON: MX_OK when it has none, or its Content-Type is
 * absent or one application/json (with any parameters); else MX_INVALID_REQUEST naming the header,
 * with example (borrowed) as the body to send. */
mx_status mx_api_check_body_type(const struct mx_request *request, const char *example,
                                 struct mx_api_refusal *why);

struct mx_account_order {
    int64_t overdraft_limit_cents;   /* 0 when not given */
    char currency[MX_CURRENCY_SIZE]; /* three capital letters; "" when not given */
};

/* POST /api/accounts: empty, or {"overdraft_limit": 0..MX_MONEY_MAX_CENTS, "currency": "XYZ"},
 * each optional. MX_OK and *out, or MX_INVALID_REQUEST. Whether the currency exists is the
 * database's to say. body need not be NUL-terminated. */
mx_status mx_api_read_account_body(const char *body, size_t size, struct mx_account_order *out,
                                   struct mx_api_refusal *why);

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
mx_status mx_api_read_transfer_body(const char *body, size_t size, struct mx_transfer_order *out,
                                    struct mx_api_refusal *why);

/* PATCH /api/accounts/{n}: exactly {"overdraft_limit": 0..MX_MONEY_MAX_CENTS}. MX_OK and
 * *overdraft_limit_cents, or MX_INVALID_REQUEST. */
mx_status mx_api_read_limit_body(const char *body, size_t size, int64_t *overdraft_limit_cents,
                                 struct mx_api_refusal *why);

/* POST .../holds: {"sum": 1..MAX, "expires_in": MX_HOLD_SECONDS_MIN..MAX} (expires_in absent:
 * MX_HOLD_SECONDS_DEFAULT). MX_OK, MX_INVALID_SUM for the sum, MX_INVALID_REQUEST otherwise. */
mx_status mx_api_read_hold_body(const char *body, size_t size, int64_t *sum_cents,
                                unsigned *seconds, struct mx_api_refusal *why);

/* POST /api/holds/{id}/capture: empty, {} or {"sum": 1..MAX}; *sum_cents 0 when absent (the
 * whole sum held). MX_OK, MX_INVALID_SUM or MX_INVALID_REQUEST. */
mx_status mx_api_read_capture_body(const char *body, size_t size, int64_t *sum_cents,
                                   struct mx_api_refusal *why);

/* A movement's reference and metadata, from a move's, transfer's, hold's or capture's body. */
#define MX_METADATA_KEYS_MAX  20
#define MX_METADATA_KEY_MAX   40
#define MX_METADATA_VALUE_MAX 500
struct mx_api_tags {
    char reference[MX_REFERENCE_MAX + 1]; /* "" when none */
    char *metadata; /* the object as compact JSON with sorted keys, malloc'd; NULL when none */
};

/* The "reference" (1 to MX_REFERENCE_MAX printable ASCII characters) and "metadata" (an object
 * of at most 20 string values, keys 1 to 40 characters, values at most 500) of a body the kind's
 * own reader has accepted. MX_OK and *out (its metadata the caller's to free), or
 * MX_INVALID_REQUEST naming the field. */
mx_status mx_api_read_tags(const char *body, size_t size, struct mx_api_tags *out,
                           struct mx_api_refusal *why);

/* A request that takes no input (freeze, unfreeze, close): empty or {}. MX_OK, or
 * MX_INVALID_REQUEST naming the first member it has. */
mx_status mx_api_read_empty_body(const char *body, size_t size, struct mx_api_refusal *why);

/* PUT|POST .../deposit and .../withdraw, whose sum may come in the body instead of the query:
 * empty, {} or {"sum": ...}. *has_sum is 1 when the body has a "sum" member (also when it is
 * refused), then MX_OK and *sum_cents for an integer in 1..MX_MONEY_MAX_CENTS, else MX_INVALID_SUM
 * with the status table's sentence; MX_INVALID_REQUEST for any other body. */
mx_status mx_api_read_move_body(const char *body, size_t size, int *has_sum, int64_t *sum_cents,
                                struct mx_api_refusal *why);

#endif
