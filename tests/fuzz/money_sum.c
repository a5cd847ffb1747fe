/* Fuzz target: the sum parser (mx_money_parse_sum) and the decimal parser under it
 * (mx_parse_decimal), against an oracle that compares decimal strings instead of computing, so it
 * shares no arithmetic (and no overflow) with the code under test.
 *
 * Properties: a sum is accepted exactly when the text is a canonical decimal (digits only, no
 * leading zero) in 1..2^53-1, and then printing the value gives the text back byte for byte; the
 * same for mx_parse_decimal against a range of maxima, 0 and UINT64_MAX included. */
#include <inttypes.h>

#include "fuzz.h"
#include "mondux/money.h"
#include "mondux/status.h"

/* 1 if text is digits only, non-empty, without a leading zero ("0" itself is canonical). */
static int canonical_digits(const char *text) {
    size_t length = strlen(text);
    if (length == 0 || (text[0] == '0' && length > 1))
        return 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
    }
    return 1;
}

/* For canonical decimals: 1 if a <= b, by length first, then digit by digit. */
static int decimal_le(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    return la != lb ? la < lb : strcmp(a, b) <= 0;
}

static void check_decimal(const char *text, uint64_t max) {
    char max_text[24];
    snprintf(max_text, sizeof max_text, "%" PRIu64, max);
    int expected = canonical_digits(text) && decimal_le(text, max_text);

    uint64_t value = 0xdeadbeef;
    int accepted = mx_parse_decimal(text, max, &value);
    FUZZ_CHECK(accepted == expected, "mx_parse_decimal accepts exactly the canonical 0..max");
    if (accepted) {
        char printed[24];
        snprintf(printed, sizeof printed, "%" PRIu64, value);
        FUZZ_CHECK(value <= max, "parsed value within max");
        FUZZ_CHECK(strcmp(printed, text) == 0, "parsed value prints as the input");
    } else {
        FUZZ_CHECK(value == 0xdeadbeef, "a refused text leaves *out alone");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_strndup(data, size);

    int64_t cents = -1;
    mx_status status = mx_money_parse_sum(text, &cents);
    FUZZ_CHECK(status == MX_OK || status == MX_INVALID_SUM, "sum status is OK or INVALID_SUM");
    int expected =
        canonical_digits(text) && strcmp(text, "0") != 0 && decimal_le(text, "9007199254740991");
    FUZZ_CHECK((status == MX_OK) == expected, "sum accepted exactly when canonical in 1..2^53-1");
    if (status == MX_OK) {
        char printed[24];
        snprintf(printed, sizeof printed, "%" PRId64, cents);
        FUZZ_CHECK(cents >= 1 && cents <= MX_MONEY_MAX_CENTS, "sum within 1..2^53-1");
        FUZZ_CHECK(strcmp(printed, text) == 0, "sum prints as the input");
    } else {
        FUZZ_CHECK(cents == -1, "a refused sum leaves *out_cents alone");
    }

    static const uint64_t maxima[] = {0,
                                      1,
                                      9,
                                      10,
                                      99,
                                      100,
                                      101,
                                      255,
                                      1000,
                                      UINT64_C(4294967295),
                                      (uint64_t)MX_MONEY_MAX_CENTS,
                                      UINT64_C(18446744073709551615)};
    for (size_t i = 0; i < sizeof maxima / sizeof maxima[0]; i++)
        check_decimal(text, maxima[i]);
    /* A maximum taken from the input's first bytes reaches the boundaries the list misses. */
    if (size >= 8) {
        uint64_t max = 0;
        for (int i = 0; i < 8; i++)
            max = max << 8 | data[i];
        check_decimal(text, max);
        check_decimal(text, max % 1000000);
    }
    free(text);
    return 0;
}
