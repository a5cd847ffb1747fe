/* Strict decimal parsing: the sum is money, so anything not written exactly one way is refused;
 * and the one way an amount is written in major units. */
#include "mondux/money.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>

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

void mx_money_format(int64_t minor, int exponent, char *out, unsigned long size) {
    /* The magnitude as unsigned, so that INT64_MIN has one too. */
    uint64_t magnitude = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    char fraction[8] = "";
    int digits = exponent < 0 ? 0 : exponent > 4 ? 4 : exponent;
    for (int i = digits; i > 0; i--) {
        fraction[i] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    }
    if (digits > 0)
        fraction[0] = '.';
    fraction[digits > 0 ? digits + 1 : 0] = '\0';
    snprintf(out, size, "%s%" PRIu64 "%s", minor < 0 ? "-" : "", magnitude, fraction);
}
