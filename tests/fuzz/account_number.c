/* Fuzz target: the account-number check (mx_acct_is_valid).
 *
 * Properties: valid exactly when the text is 16 ASCII digits whose value is 1 modulo 97 (computed
 * here in one 64-bit step, not digit by digit as the code under test does); and, the point of ISO
 * 7064 MOD 97-10, no valid number stays valid under any single-digit substitution or any swap of
 * two different adjacent digits. A valid input's check digits are the ones mx_acct_generate would
 * compute for its first 14 digits (modulo 97: "00", "01" and "99" pass for "97", "98" and "02"). */
#include "fuzz.h"
#include "mondux/account_number.h"

static int oracle(const char *text) {
    if (strlen(text) != MX_ACCT_LENGTH)
        return 0;
    uint64_t value = 0; /* < 10^16 < 2^64 */
    for (size_t i = 0; i < MX_ACCT_LENGTH; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
        value = value * 10 + (uint64_t)(text[i] - '0');
    }
    return value % 97 == 1;
}

static void check_neighbours_invalid(const char *valid) {
    char copy[MX_ACCT_LENGTH + 1];
    memcpy(copy, valid, sizeof copy);
    for (size_t i = 0; i < MX_ACCT_LENGTH; i++) {
        for (char digit = '0'; digit <= '9'; digit++) {
            if (digit == valid[i])
                continue;
            copy[i] = digit;
            FUZZ_CHECK(!mx_acct_is_valid(copy), "a single-digit substitution is detected");
        }
        copy[i] = valid[i];
    }
    for (size_t i = 0; i + 1 < MX_ACCT_LENGTH; i++) {
        if (valid[i] == valid[i + 1])
            continue;
        copy[i] = valid[i + 1];
        copy[i + 1] = valid[i];
        FUZZ_CHECK(!mx_acct_is_valid(copy), "an adjacent transposition is detected");
        copy[i] = valid[i];
        copy[i + 1] = valid[i + 1];
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_strndup(data, size);
    int valid = mx_acct_is_valid(text);
    FUZZ_CHECK(valid == 0 || valid == 1, "mx_acct_is_valid answers 0 or 1");
    FUZZ_CHECK(valid == oracle(text), "valid exactly when 16 digits = 1 (mod 97)");
    if (valid) {
        check_neighbours_invalid(text);
        uint64_t head = 0;
        for (size_t i = 0; i < MX_ACCT_RANDOM_DIGITS; i++)
            head = head * 10 + (uint64_t)(text[i] - '0');
        unsigned check = (unsigned)(98 - (head * 100) % 97);
        /* mx_acct_generate writes 02..98; 00, 01 and 99 are the same checks modulo 97. */
        unsigned given = (unsigned)(text[14] - '0') * 10 + (unsigned)(text[15] - '0');
        FUZZ_CHECK(given % 97 == check % 97,
                   "check digits are 98 - (digits * 100 mod 97), modulo 97");
    }
    free(text);
    return 0;
}
