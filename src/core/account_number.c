/* Account numbers: random digits from the kernel plus ISO 7064 MOD 97-10 check digits. */
#include "mondux/account_number.h"

#include <stddef.h>
#include <stdint.h>

#include "mondux/random.h"

/* Remainder of the decimal digits text[0..length) modulo 97, one digit at a time. */
static unsigned mod97(const char *text, unsigned length) {
    unsigned remainder = 0;
    for (unsigned i = 0; i < length; i++)
        remainder = (remainder * 10 + (unsigned)(text[i] - '0')) % 97;
    return remainder;
}

mx_status mx_acct_generate(char out[MX_ACCT_LENGTH + 1]) {
    /* Rejection sampling: bytes >= 250 are dropped so every digit is equally likely. */
    unsigned char pool[64];
    unsigned digits = 0;
    while (digits < MX_ACCT_RANDOM_DIGITS) {
        if (mx_platform_random(pool, sizeof pool) != 0)
            return MX_INTERNAL;
        for (size_t i = 0; i < sizeof pool && digits < MX_ACCT_RANDOM_DIGITS; i++) {
            if (pool[i] < 250)
                out[digits++] = (char)('0' + pool[i] % 10);
        }
    }
    /* Appending "00" multiplies by 100; the check digits make the whole number = 1 (mod 97). */
    unsigned check = 98 - (mod97(out, MX_ACCT_RANDOM_DIGITS) * 100) % 97;
    out[MX_ACCT_RANDOM_DIGITS] = (char)('0' + check / 10);
    out[MX_ACCT_RANDOM_DIGITS + 1] = (char)('0' + check % 10);
    out[MX_ACCT_LENGTH] = '\0';
    return MX_OK;
}

int mx_acct_is_valid(const char *text) {
    if (text == NULL)
        return 0;
    unsigned length = 0;
    for (; text[length] != '\0'; length++) {
        if (length >= MX_ACCT_LENGTH || text[length] < '0' || text[length] > '9')
            return 0;
    }
    return length == MX_ACCT_LENGTH && mod97(text, MX_ACCT_LENGTH) == 1;
}
