/* Strict decimal parsing: the sum is money, so anything not written exactly one way is refused. */
#include "mondux/money.h"

#include <stddef.h>

int mx_parse_decimal(const char *text, uint64_t max, uint64_t *out) {
    if (text == NULL || text[0] == '\0')
        return 0;
    if (text[0] == '0' && text[1] != '\0')
        return 0; /* leading zeros would make "the same number" spellable many ways */

    uint64_t value = 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        uint64_t digit = (uint64_t)(*p - '0');
        /* Checked before the change, so the value can never wrap. */
        if (digit > max || value > (max - digit) / 10)
            return 0;
        value = value * 10 + digit;
    }
    *out = value;
    return 1;
}

mx_status mx_money_parse_sum(const char *text, int64_t *out_cents) {
    uint64_t value;
    if (!mx_parse_decimal(text, (uint64_t)MX_MONEY_MAX_CENTS, &value) || value == 0)
        return MX_INVALID_SUM;
    *out_cents = (int64_t)value;
    return MX_OK;
}

int64_t mx_money_delta(mx_move_kind kind, int64_t sum_cents) {
    return kind == MX_MOVE_DEPOSIT ? sum_cents : -sum_cents;
}

mx_status mx_money_refusal(mx_move_kind kind) {
    return kind == MX_MOVE_DEPOSIT ? MX_BALANCE_LIMIT_EXCEEDED : MX_INSUFFICIENT_FUNDS;
}
