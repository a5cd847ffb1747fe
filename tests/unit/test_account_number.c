/* Account numbers (api.md "Create an account"): random, unique, and with check digits that catch a
 * mistyped number without the database. The scheme is ISO 7064 MOD 97-10, as in IBANs: 14 random
 * digits D, then the two check digits C = 98 - (D * 100 mod 97), so that the 16-digit number is
 * congruent to 1 modulo 97. The tests recompute that with 64-bit arithmetic (D * 100 < 10^16 <
 * 2^64), independently of the digit-at-a-time remainder in src/core. */
#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mondux/account_number.h"
#include "mondux/status.h"
#include "unit_run.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

#define GENERATED_COUNT 100000
#define SAMPLE_COUNT    1000

typedef char acct_text[MX_ACCT_LENGTH + 1];

/* The digits text[0..length) as a number; the caller checks they are digits. */
static uint64_t digits_value(const char *text, size_t length) {
    uint64_t value = 0;
    for (size_t i = 0; i < length; i++)
        value = value * 10 + (uint64_t)(text[i] - '0');
    return value;
}

static int all_ascii_digits(const char *text, size_t length) {
    for (size_t i = 0; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
    }
    return 1;
}

/* The check digits ISO 7064 MOD 97-10 gives the 14 digits in front of them. */
static unsigned expected_check(uint64_t random_part) {
    return 98u - (unsigned)((random_part * 100u) % 97u);
}

static acct_text *generate_many(size_t count) {
    acct_text *numbers = malloc(count * sizeof *numbers);
    ck_assert_ptr_nonnull(numbers);
    for (size_t i = 0; i < count; i++) {
        memset(numbers[i], 'x', sizeof numbers[i]);
        mx_status status = mx_acct_generate(numbers[i]);
        ck_assert_msg(status == MX_OK, "mx_acct_generate #%zu returned %d", i, (int)status);
    }
    return numbers;
}

static int compare_numbers(const void *a, const void *b) {
    return memcmp(a, b, MX_ACCT_LENGTH);
}

START_TEST(generated_number_is_16_ascii_digits_with_iso7064_check_digits_and_valid) {
    acct_text *numbers = generate_many(GENERATED_COUNT);
    for (size_t i = 0; i < GENERATED_COUNT; i++) {
        const char *n = numbers[i];
        ck_assert_msg(n[MX_ACCT_LENGTH] == '\0' && strlen(n) == MX_ACCT_LENGTH,
                      "generated #%zu is not %d characters and a NUL", i, MX_ACCT_LENGTH);
        ck_assert_msg(all_ascii_digits(n, MX_ACCT_LENGTH), "generated #%zu %s has a non-digit", i,
                      n);
        unsigned check = (unsigned)digits_value(n + MX_ACCT_RANDOM_DIGITS, 2);
        unsigned expected = expected_check(digits_value(n, MX_ACCT_RANDOM_DIGITS));
        ck_assert_msg(check == expected, "generated %s: check digits %02u, expected %02u", n, check,
                      expected);
        ck_assert_msg(digits_value(n, MX_ACCT_LENGTH) % 97 == 1, "generated %s: not 1 mod 97", n);
        ck_assert_msg(mx_acct_is_valid(n), "generated %s is not valid per mx_acct_is_valid", n);
    }
    free(numbers);
}
END_TEST

/* 14 random digits give 10^14 numbers; among 100,000 the chance of any repeat is about
 * n^2 / (2 * 10^14) = 5e-5, so a repeat here means the randomness is broken, not unlucky. */
START_TEST(generating_100000_numbers_gives_100000_distinct_ones) {
    acct_text *numbers = generate_many(GENERATED_COUNT);
    qsort(numbers, GENERATED_COUNT, sizeof *numbers, compare_numbers);
    for (size_t i = 1; i < GENERATED_COUNT; i++)
        ck_assert_msg(compare_numbers(numbers[i - 1], numbers[i]) != 0,
                      "account number %s was generated twice", numbers[i]);
    free(numbers);
}
END_TEST

/* Every random position takes every digit equally often (no modulo bias, no stuck digit). The
 * chi-square over 14 positions x 10 digits has 126 degrees of freedom: mean 126, standard
 * deviation about 16. A fair generator exceeds 260 with probability about 3e-11, while plain
 * `byte % 10` without rejection (digits 0-5 each 26/256, 6-9 each 25/256) adds about 510. */
START_TEST(generated_random_digits_are_uniform_at_every_position) {
    acct_text *numbers = generate_many(GENERATED_COUNT);
    static unsigned long counts[MX_ACCT_RANDOM_DIGITS][10];
    memset(counts, 0, sizeof counts);
    for (size_t i = 0; i < GENERATED_COUNT; i++)
        for (size_t pos = 0; pos < MX_ACCT_RANDOM_DIGITS; pos++)
            counts[pos][numbers[i][pos] - '0']++;
    const double expected = GENERATED_COUNT / 10.0;
    double chi_square = 0;
    for (size_t pos = 0; pos < MX_ACCT_RANDOM_DIGITS; pos++) {
        for (size_t digit = 0; digit < 10; digit++) {
            double diff = (double)counts[pos][digit] - expected;
            chi_square += diff * diff / expected;
        }
    }
    ck_assert_msg(chi_square < 260.0, "digit distribution chi-square %.1f (df 126) >= 260",
                  chi_square);
    free(numbers);
}
END_TEST

START_TEST(every_single_digit_substitution_of_a_generated_number_is_invalid) {
    acct_text *numbers = generate_many(SAMPLE_COUNT);
    for (size_t i = 0; i < SAMPLE_COUNT; i++) {
        for (size_t pos = 0; pos < MX_ACCT_LENGTH; pos++) {
            for (char digit = '0'; digit <= '9'; digit++) {
                if (digit == numbers[i][pos])
                    continue;
                acct_text typo;
                memcpy(typo, numbers[i], sizeof typo);
                typo[pos] = digit;
                ck_assert_msg(!mx_acct_is_valid(typo),
                              "%s (from %s, position %zu) is accepted as valid", typo, numbers[i],
                              pos);
            }
        }
    }
    free(numbers);
}
END_TEST

START_TEST(every_adjacent_transposition_of_a_generated_number_is_invalid) {
    acct_text *numbers = generate_many(SAMPLE_COUNT);
    size_t swaps = 0;
    for (size_t i = 0; i < SAMPLE_COUNT; i++) {
        for (size_t pos = 0; pos + 1 < MX_ACCT_LENGTH; pos++) {
            if (numbers[i][pos] == numbers[i][pos + 1])
                continue; /* swapping equal digits is no typo */
            acct_text typo;
            memcpy(typo, numbers[i], sizeof typo);
            typo[pos] = numbers[i][pos + 1];
            typo[pos + 1] = numbers[i][pos];
            ck_assert_msg(!mx_acct_is_valid(typo),
                          "%s (from %s, positions %zu-%zu swapped) is accepted as valid", typo,
                          numbers[i], pos, pos + 1);
            swaps++;
        }
    }
    /* ~90% of the 15 pairs differ; make sure the loop really ran. */
    ck_assert_uint_gt(swaps, SAMPLE_COUNT * 10);
    free(numbers);
}
END_TEST

/* Computed by hand from C = 98 - (D * 100 mod 97):
 *   D = 00000000000001: 100 mod 97 = 3, C = 95; 195 = 2 * 97 + 1.
 *   D = 00000000000000: 0 mod 97 = 0, C = 98; 98 = 97 + 1.
 *   D = 00000000000030: 3000 mod 97 = 90 (97 * 30 = 2910), C = 08; a check digit pair below 10.
 *   D = 12345678901234: C = 28 (1234567890123428 = 97 * 12727504021891 + 1).
 *   D = 99999999999999: C = 39. */
static const char *const known_valid[] = {
    "0000000000000195", "0000000000000098", "0000000000003008",
    "1234567890123428", "9999999999999939",
};

/* Each known-valid number with its check digits changed. */
static const char *const known_invalid[] = {
    "0000000000000194", "0000000000000196", "0000000000000159", "0000000000000097",
    "0000000000000099", "0000000000003080", "0000000000000308", "1234567890123482",
    "1234567890123427", "9999999999999993", "9999999999999938", "0000000000000000",
};

START_TEST(hand_computed_iso7064_numbers_are_valid_and_their_neighbours_are_not) {
    for (size_t i = 0; i < COUNT(known_valid); i++)
        ck_assert_msg(mx_acct_is_valid(known_valid[i]), "%s should be valid", known_valid[i]);
    for (size_t i = 0; i < COUNT(known_invalid); i++)
        ck_assert_msg(!mx_acct_is_valid(known_invalid[i]), "%s should be invalid",
                      known_invalid[i]);
}
END_TEST

/* For one prefix, all 100 two-digit endings: valid exactly when the whole is 1 mod 97. */
START_TEST(validity_is_exactly_the_16_digits_being_1_mod_97) {
    const char *prefixes[] = {"00000000000000", "00000000000001", "31415926535897",
                              "99999999999999"};
    for (size_t p = 0; p < COUNT(prefixes); p++) {
        for (unsigned ending = 0; ending < 100; ending++) {
            acct_text n;
            snprintf(n, sizeof n, "%s%02u", prefixes[p], ending);
            int expected = digits_value(n, MX_ACCT_LENGTH) % 97 == 1;
            ck_assert_msg(mx_acct_is_valid(n) == expected, "%s: expected %s", n,
                          expected ? "valid" : "invalid");
        }
    }
}
END_TEST

static const char *const malformed[] = {
    "",
    "0",
    "195",
    "000000000000195",   /* 15 digits: one short */
    "00000000000000195", /* 17 digits: 195 mod 97 = 1 still, but one too long */
    "00000000000000000000000000000195",
    "000000000000019A",
    "A000000000000195",
    "000000000000O195", /* letter O for zero */
    "abcdefghijklmnop",
    "' OR 1=1--",
    "0000000000000195' OR 1=1--",
    "1' OR '1'='1",
    "0000000000000195 ",
    "0000000000000195\n",
    "0000000000000195\r\n",
    "0000000000000195\t",
    " 0000000000000195",
    "\n0000000000000195",
    "+000000000000195",
    "-000000000000195",
    "0000000000000.95",
    "00000000000001 95",
    "0000000000000195/",
    "%30000000000000195",
    ("\xD9\xA0"
     "000000000000195"),       /* U+0660 ARABIC-INDIC DIGIT ZERO in front */
    "000000000000019\xD9\xA5", /* U+0665 ARABIC-INDIC DIGIT FIVE at the end */
};

START_TEST(malformed_account_number_is_invalid) {
    ck_assert_msg(!mx_acct_is_valid(NULL), "NULL should be invalid");
    for (size_t i = 0; i < COUNT(malformed); i++)
        ck_assert_msg(!mx_acct_is_valid(malformed[i]), "malformed row %zu should be invalid", i);
}
END_TEST

START_TEST(generated_number_with_trailing_or_leading_junk_is_invalid) {
    acct_text *numbers = generate_many(SAMPLE_COUNT);
    const char *junk[] = {" ", "\n", "\r\n", "\t", "0", "x", "'"};
    for (size_t i = 0; i < SAMPLE_COUNT; i++) {
        for (size_t j = 0; j < COUNT(junk); j++) {
            char text[MX_ACCT_LENGTH + 8];
            snprintf(text, sizeof text, "%s%s", numbers[i], junk[j]);
            ck_assert_msg(!mx_acct_is_valid(text), "%s + junk %zu should be invalid", numbers[i],
                          j);
            snprintf(text, sizeof text, "%s%s", junk[j], numbers[i]);
            ck_assert_msg(!mx_acct_is_valid(text), "junk %zu + %s should be invalid", j,
                          numbers[i]);
        }
        /* and truncated by one digit */
        acct_text short_text;
        memcpy(short_text, numbers[i], sizeof short_text);
        short_text[MX_ACCT_LENGTH - 1] = '\0';
        ck_assert_msg(!mx_acct_is_valid(short_text), "%s truncated should be invalid", numbers[i]);
    }
    free(numbers);
}
END_TEST

static void add_case(Suite *suite, const char *name, const TTest *test, int timeout_seconds) {
    TCase *tc = tcase_create(name);
    tcase_add_test(tc, test);
    /* Check's default is 4 s; 100,000 generations under ASan or gcov can take longer. */
    tcase_set_timeout(tc, timeout_seconds);
    suite_add_tcase(suite, tc);
}

#define ADD_CASE(suite, test, timeout) add_case((suite), #test, (test), (timeout))

static Suite *account_number_suite(void) {
    Suite *s = suite_create("account_number");
    ADD_CASE(s, generated_number_is_16_ascii_digits_with_iso7064_check_digits_and_valid, 120);
    ADD_CASE(s, generating_100000_numbers_gives_100000_distinct_ones, 120);
    ADD_CASE(s, generated_random_digits_are_uniform_at_every_position, 120);
    ADD_CASE(s, every_single_digit_substitution_of_a_generated_number_is_invalid, 120);
    ADD_CASE(s, every_adjacent_transposition_of_a_generated_number_is_invalid, 120);
    ADD_CASE(s, hand_computed_iso7064_numbers_are_valid_and_their_neighbours_are_not, 10);
    ADD_CASE(s, validity_is_exactly_the_16_digits_being_1_mod_97, 10);
    ADD_CASE(s, malformed_account_number_is_invalid, 10);
    ADD_CASE(s, generated_number_with_trailing_or_leading_junk_is_invalid, 120);
    return s;
}

int main(void) {
    return mx_unit_run(account_number_suite());
}
