/* Money is an integer number of cents; this is the one place that says how big it may be. */
#ifndef MONDUX_MONEY_H
#define MONDUX_MONEY_H

#include <stdint.h>

#include "mondux/status.h"

/* 2^53 - 1: the largest integer every JSON reader holds exactly. Balances and sums stay within it.
 */
#define MX_MONEY_MAX_CENTS INT64_C(9007199254740991)

/* Parses a canonical unsigned decimal: ASCII digits only, no sign, no spaces, no leading zeros
 * ("0" itself is allowed), value <= max. Returns 1 and writes *out on success, 0 otherwise
 * (NULL text included). Used for money and for configuration numbers alike. */
int mx_parse_decimal(const char *text, uint64_t max, uint64_t *out);

/* Parses the `sum` of a deposit or withdrawal as api.md says: 1 <= sum <= MX_MONEY_MAX_CENTS.
 * NULL (sum missing) is invalid. Returns MX_OK and writes *out_cents, or MX_INVALID_SUM. */
mx_status mx_money_parse_sum(const char *text, int64_t *out_cents);

typedef enum mx_move_kind { MX_MOVE_DEPOSIT, MX_MOVE_WITHDRAWAL } mx_move_kind;

/* The change a movement makes to a balance: +sum for a deposit, -sum for a withdrawal. */
int64_t mx_money_delta(mx_move_kind kind, int64_t sum_cents);

/* Why a movement the balance rules refused was refused: a deposit can only break the upper limit,
 * a withdrawal only the lower one. */
mx_status mx_money_refusal(mx_move_kind kind);

/* minor units as a decimal of major units with exponent (0..4) digits after the point, e.g.
 * -1234 with 2 is "-12.34", 5 with 0 is "5"; into out (at least 24 bytes). */
void mx_money_format(int64_t minor, int exponent, char *out, unsigned long size);

#endif
