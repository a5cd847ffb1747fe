/* The `sum` rules of api.md and the canonical-decimal parser under them, as tables.
 *
 * What is asserted on a rejected input: money.h promises "returns 1 and writes *out on success,
 * 0 otherwise" (and MX_OK-and-writes or MX_INVALID_SUM for sums). It promises nothing about *out
 * after a failure, so the tables check only the verdict there: *out is irrelevant on failure, and
 * callers (src/api, src/config.c) must not read it. Accepted rows check the exact value written. */
#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mondux/money.h"
#include "mondux/status.h"
#include "unit_run.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Written over *out before each call, so an accepted row proves the value really was written. */
#define SENTINEL_CENTS INT64_C(-424242)
#define SENTINEL_U64   UINT64_C(0xDEADBEEFDEADBEEF)

/* Renders text for a failure message: NULL as (null), control and non-ASCII bytes as \xNN. */
static const char *show(const char *text) {
    static char buffer[256];
    if (text == NULL)
        return "(null)";
    size_t used = 0;
    buffer[used++] = '"';
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if (used + 6 >= sizeof buffer)
            break;
        if (*p >= 0x20 && *p < 0x7F && *p != '"' && *p != '\\')
            buffer[used++] = (char)*p;
        else
            used += (size_t)snprintf(buffer + used, sizeof buffer - used, "\\x%02X", *p);
    }
    buffer[used++] = '"';
    buffer[used] = '\0';
    return buffer;
}

/* ---- mx_money_parse_sum: api.md "sum rules" ---------------------------------------------- */

struct sum_accepted {
    const char *text;
    int64_t cents;
};

static const struct sum_accepted sums_accepted[] = {
    {"1", 1},
    {"2", 2},
    {"9", 9},
    {"10", 10},
    {"20", 20},
    {"100", 100},
    {"12345", 12345},
    {"1000000", 1000000},
    {"2147483647", INT64_C(2147483647)},
    {"2147483648", INT64_C(2147483648)}, /* the original overflowed at 2^31 cents */
    {"4294967296", INT64_C(4294967296)},
    {"1000000000000000", INT64_C(1000000000000000)},
    {"9007199254740990", INT64_C(9007199254740990)},
    {"9007199254740991", INT64_C(9007199254740991)}, /* 2^53 - 1, the limit itself */
};

static void check_sum_rejected(const char *text) {
    int64_t cents = SENTINEL_CENTS;
    mx_status status = mx_money_parse_sum(text, &cents);
    ck_assert_msg(status == MX_INVALID_SUM, "sum %s: expected MX_INVALID_SUM (%d), got %d",
                  show(text), (int)MX_INVALID_SUM, (int)status);
    /* cents is irrelevant here: see the comment at the top of this file. */
}

START_TEST(sum_of_ascii_digits_from_1_to_2pow53_minus_1_is_accepted_exactly) {
    const struct sum_accepted *row = &sums_accepted[_i];
    int64_t cents = SENTINEL_CENTS;
    mx_status status = mx_money_parse_sum(row->text, &cents);
    ck_assert_msg(status == MX_OK, "sum %s: expected MX_OK, got %d", show(row->text), (int)status);
    ck_assert_msg(cents == row->cents, "sum %s: expected %lld cents, got %lld", show(row->text),
                  (long long)row->cents, (long long)cents);
}
END_TEST

static const char *const sums_missing[] = {NULL, ""};

START_TEST(sum_missing_or_empty_is_invalid_sum) {
    check_sum_rejected(sums_missing[_i]);
}
END_TEST

static const char *const sums_zero[] = {"0", "00", "000", "-0", "+0"};

START_TEST(sum_of_zero_is_invalid_sum) {
    check_sum_rejected(sums_zero[_i]);
}
END_TEST

static const char *const sums_leading_zero[] = {"01", "05", "007", "0100", "09007199254740991"};

START_TEST(sum_with_leading_zeros_is_invalid_sum) {
    check_sum_rejected(sums_leading_zero[_i]);
}
END_TEST

static const char *const sums_signed[] = {"-5", "+5", "-1", "--5", "+-5", "-9007199254740991"};

START_TEST(sum_with_a_sign_is_invalid_sum) {
    check_sum_rejected(sums_signed[_i]);
}
END_TEST

static const char *const sums_spaced[] = {
    " 5",        "5 ", "1 000", "\t5", "5\t", "5\n", "\n5",      "5\r\n",
    " ",         "\t", "\n",    "5\v", "\f5", "5\r", "\x7F\x35", /* DEL then "5" */
    "5\xC2\xA0", /* trailing U+00A0 no-break space */
};

START_TEST(sum_with_spaces_or_control_characters_is_invalid_sum) {
    check_sum_rejected(sums_spaced[_i]);
}
END_TEST

static const char *const sums_fractional[] = {
    "5.0", "5.", ".5", "0.5", "5.00", "1e3", "1E3", "1e+3", "1e-3", "1.5e2", "5,00", "5,0",
};

START_TEST(sum_with_decimal_point_or_exponent_is_invalid_sum) {
    check_sum_rejected(sums_fractional[_i]);
}
END_TEST

static const char *const sums_not_decimal[] = {
    "0x10",
    "0X1F",
    "0b1",
    "0o7",
    "1_000",
    "1'000",
    "abc",
    "5a",
    "a5",
    "NaN",
    "Infinity",
    "inf",
    "%35",          /* percent-encoded "5": decoding is the HTTP layer's job, never the parser's */
    "\xD9\xA1",     /* U+0661 ARABIC-INDIC DIGIT ONE */
    "\xD9\xA5",     /* U+0665 ARABIC-INDIC DIGIT FIVE */
    "\xEF\xBC\x95", /* U+FF15 FULLWIDTH DIGIT FIVE */
    "5\xEF\xBC\x90" /* "5" + U+FF10 FULLWIDTH DIGIT ZERO */,
    "\xE2\x91\xA4", /* U+2464 CIRCLED DIGIT FIVE */
    "5/1",
    "5;DROP TABLE accounts",
};

START_TEST(sum_with_non_ascii_or_non_decimal_characters_is_invalid_sum) {
    check_sum_rejected(sums_not_decimal[_i]);
}
END_TEST

static const char *const sums_too_large[] = {
    "9007199254740992", /* 2^53 */
    "9007199254740993",
    "9007199254741000",
    "9999999999999999",
    "10000000000000000",
    "90071992547409910",    /* the limit with a digit appended */
    "9223372036854775807",  /* INT64_MAX */
    "9223372036854775808",  /* INT64_MAX + 1 */
    "18446744073709551615", /* UINT64_MAX */
    "18446744073709551616", /* UINT64_MAX + 1: wraps to 0 if overflow is checked after */
    "18446744073709551617", /* wraps to 1 */
    "36893488147419103232", /* 2^65 */
    "123456789012345678901234567890",
    "999999999999999999999999999999",
    "100000000000000000000000000001",
};

START_TEST(sum_above_2pow53_minus_1_is_invalid_sum) {
    check_sum_rejected(sums_too_large[_i]);
}
END_TEST

/* ---- mx_parse_decimal: canonical unsigned decimal <= max ---------------------------------- */

struct decimal_row {
    const char *text;
    uint64_t max;
    int accepted;
    uint64_t value; /* meaningful only when accepted */
};

#define U64_MAX UINT64_C(18446744073709551615)
#define MONEY   ((uint64_t)MX_MONEY_MAX_CENTS)

static const struct decimal_row decimal_rows[] = {
    /* "0" itself is canonical, unlike sums */
    {"0", U64_MAX, 1, 0},
    {"0", 0, 1, 0},
    {"0", 65535, 1, 0},
    {"1", 1, 1, 1},
    {"5000", 65535, 1, 5000},
    {"65535", 65535, 1, 65535},
    {"99", 99, 1, 99},
    {"100", 100, 1, 100},
    {"9", 9, 1, 9},
    {"7", 7, 1, 7},
    {"9007199254740991", MONEY, 1, UINT64_C(9007199254740991)},
    {"18446744073709551615", U64_MAX, 1, U64_MAX},
    {"18446744073709551610", U64_MAX, 1, UINT64_C(18446744073709551610)},
    /* leading zeros are refused whatever the bound */
    {"00", U64_MAX, 0, 0},
    {"01", U64_MAX, 0, 0},
    {"000", U64_MAX, 0, 0},
    {"0065535", 65535, 0, 0},
    /* the bound is inclusive, and everything above it is refused */
    {"1", 0, 0, 0},
    {"8", 7, 0, 0},
    {"10", 9, 0, 0},
    {"101", 100, 0, 0},
    {"100", 99, 0, 0},
    {"65536", 65535, 0, 0},
    {"9007199254740992", MONEY, 0, 0},
    {"18446744073709551616", U64_MAX, 0, 0},
    {"18446744073709551620", U64_MAX, 0, 0},
    {"99999999999999999999", U64_MAX, 0, 0},
    {"184467440737095516150", U64_MAX, 0, 0},
    {"123456789012345678901234567890", U64_MAX, 0, 0},
    /* a bound below 9: a single digit above it must be refused too */
    {"7", 5, 0, 0},
    {"9", 8, 0, 0},
    {"17", 5, 0, 0},
    {"3", 2, 0, 0},
    /* not a canonical unsigned decimal at all */
    {NULL, U64_MAX, 0, 0},
    {"", U64_MAX, 0, 0},
    {"-1", U64_MAX, 0, 0},
    {"-0", U64_MAX, 0, 0},
    {"+1", U64_MAX, 0, 0},
    {" 1", U64_MAX, 0, 0},
    {"1 ", U64_MAX, 0, 0},
    {"1\n", U64_MAX, 0, 0},
    {"1.0", U64_MAX, 0, 0},
    {"1e3", U64_MAX, 0, 0},
    {"0x1", U64_MAX, 0, 0},
    {"\xD9\xA1", U64_MAX, 0, 0},
};

START_TEST(decimal_is_canonical_ascii_digits_zero_allowed_at_most_max) {
    const struct decimal_row *row = &decimal_rows[_i];
    uint64_t value = SENTINEL_U64;
    int accepted = mx_parse_decimal(row->text, row->max, &value);
    ck_assert_msg(accepted == row->accepted, "decimal %s max %llu: expected %s, got return %d",
                  show(row->text), (unsigned long long)row->max,
                  row->accepted ? "accepted (1)" : "rejected (0)", accepted);
    if (row->accepted)
        ck_assert_msg(value == row->value, "decimal %s max %llu: expected value %llu, got %llu",
                      show(row->text), (unsigned long long)row->max, (unsigned long long)row->value,
                      (unsigned long long)value);
    /* value is irrelevant on rejection: see the comment at the top of this file. */
}
END_TEST

/* ---- movements --------------------------------------------------------------------------- */

START_TEST(deposit_adds_the_sum_and_withdrawal_subtracts_it) {
    const int64_t sums[] = {1, 20, INT64_C(2147483648), MX_MONEY_MAX_CENTS};
    for (size_t i = 0; i < COUNT(sums); i++) {
        ck_assert_int_eq(mx_money_delta(MX_MOVE_DEPOSIT, sums[i]), sums[i]);
        ck_assert_int_eq(mx_money_delta(MX_MOVE_WITHDRAWAL, sums[i]), -sums[i]);
    }
}
END_TEST

START_TEST(refused_deposit_is_balance_limit_exceeded_and_refused_withdrawal_insufficient_funds) {
    ck_assert_int_eq(mx_money_refusal(MX_MOVE_DEPOSIT), MX_BALANCE_LIMIT_EXCEEDED);
    ck_assert_int_eq(mx_money_refusal(MX_MOVE_WITHDRAWAL), MX_INSUFFICIENT_FUNDS);
}
END_TEST

/* One TCase per rule, named after it, so the report reads like api.md. */
static void add_table(Suite *suite, const char *name, const TTest *test, size_t rows) {
    TCase *tc = tcase_create(name);
    tcase_add_loop_test(tc, test, 0, (int)rows);
    suite_add_tcase(suite, tc);
}

static void add_single(Suite *suite, const char *name, const TTest *test) {
    add_table(suite, name, test, 1);
}

#define ADD_TABLE(suite, test, table) add_table((suite), #test, (test), COUNT(table))

/* Amounts in major units, as a statement's CSV writes them. */
static const struct {
    int64_t minor;
    int exponent;
    const char *text;
} formatted[] = {
    {-1234, 2, "-12.34"},
    {5, 2, "0.05"},
    {-5, 2, "-0.05"},
    {0, 2, "0.00"},
    {100, 2, "1.00"},
    {5, 0, "5"},
    {-7, 0, "-7"},
    {1234, 3, "1.234"},
    {1, 4, "0.0001"},
    {INT64_MIN, 2, "-92233720368547758.08"},
    {INT64_MAX, 2, "92233720368547758.07"},
};

START_TEST(an_amount_in_major_units_has_exactly_its_exponent_of_digits_after_the_point) {
    char text[32];
    mx_money_format(formatted[_i].minor, formatted[_i].exponent, text, sizeof text);
    ck_assert_str_eq(text, formatted[_i].text);
}
END_TEST

static Suite *money_suite(void) {
    Suite *s = suite_create("money");
    ADD_TABLE(s, sum_of_ascii_digits_from_1_to_2pow53_minus_1_is_accepted_exactly, sums_accepted);
    ADD_TABLE(s, sum_missing_or_empty_is_invalid_sum, sums_missing);
    ADD_TABLE(s, sum_of_zero_is_invalid_sum, sums_zero);
    ADD_TABLE(s, sum_with_leading_zeros_is_invalid_sum, sums_leading_zero);
    ADD_TABLE(s, sum_with_a_sign_is_invalid_sum, sums_signed);
    ADD_TABLE(s, sum_with_spaces_or_control_characters_is_invalid_sum, sums_spaced);
    ADD_TABLE(s, sum_with_decimal_point_or_exponent_is_invalid_sum, sums_fractional);
    ADD_TABLE(s, sum_with_non_ascii_or_non_decimal_characters_is_invalid_sum, sums_not_decimal);
    ADD_TABLE(s, sum_above_2pow53_minus_1_is_invalid_sum, sums_too_large);
    ADD_TABLE(s, decimal_is_canonical_ascii_digits_zero_allowed_at_most_max, decimal_rows);
    ADD_TABLE(s, an_amount_in_major_units_has_exactly_its_exponent_of_digits_after_the_point,
              formatted);
    add_single(s, "deposit_adds_the_sum_and_withdrawal_subtracts_it",
               deposit_adds_the_sum_and_withdrawal_subtracts_it);
    add_single(
        s, "refused_deposit_is_balance_limit_exceeded_and_refused_withdrawal_insufficient_funds",
        refused_deposit_is_balance_limit_exceeded_and_refused_withdrawal_insufficient_funds);
    return s;
}

int main(void) {
    size_t sum_rows = COUNT(sums_accepted) + COUNT(sums_missing) + COUNT(sums_zero) +
                      COUNT(sums_leading_zero) + COUNT(sums_signed) + COUNT(sums_spaced) +
                      COUNT(sums_fractional) + COUNT(sums_not_decimal) + COUNT(sums_too_large);
    printf("money: %zu sum rows, %zu decimal rows\n", sum_rows, COUNT(decimal_rows));

    return mx_unit_run(money_suite());
}
