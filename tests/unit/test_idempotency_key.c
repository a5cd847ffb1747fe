/* Idempotency-Key values (README "Idempotency"): 1 to 255 printable ASCII characters, 0x20..0x7E.
 * Anything else is refused before the database sees it. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mondux/idempotency_key.h"
#include "unit_run.h"

START_TEST(every_printable_ascii_character_alone_is_a_valid_key) {
    for (int c = 0x20; c <= 0x7e; c++) {
        char key[2] = {(char)c, '\0'};
        ck_assert_msg(mx_idempotency_key_is_valid(key), "0x%02x refused", c);
    }
}
END_TEST

START_TEST(control_delete_and_non_ascii_bytes_are_refused_anywhere_in_the_key) {
    for (int c = 1; c <= 0xff; c++) {
        if (c >= 0x20 && c <= 0x7e)
            continue;
        char alone[2] = {(char)c, '\0'};
        char inside[4] = {'a', (char)c, 'b', '\0'};
        char last[3] = {'a', (char)c, '\0'};
        ck_assert_msg(!mx_idempotency_key_is_valid(alone), "0x%02x alone accepted", c);
        ck_assert_msg(!mx_idempotency_key_is_valid(inside), "0x%02x inside accepted", c);
        ck_assert_msg(!mx_idempotency_key_is_valid(last), "0x%02x at the end accepted", c);
    }
}
END_TEST

START_TEST(empty_and_null_keys_are_refused) {
    ck_assert(!mx_idempotency_key_is_valid(""));
    ck_assert(!mx_idempotency_key_is_valid(NULL));
}
END_TEST

START_TEST(a_key_of_255_characters_is_valid_and_one_of_256_is_not) {
    char key[MX_IDEMPOTENCY_KEY_MAX + 2];
    memset(key, 'k', sizeof key);
    key[MX_IDEMPOTENCY_KEY_MAX] = '\0';
    ck_assert_uint_eq(strlen(key), 255);
    ck_assert(mx_idempotency_key_is_valid(key));
    key[MX_IDEMPOTENCY_KEY_MAX] = 'k';
    key[MX_IDEMPOTENCY_KEY_MAX + 1] = '\0';
    ck_assert(!mx_idempotency_key_is_valid(key));
}
END_TEST

START_TEST(typical_keys_are_valid) {
    const char *keys[] = {"0b3c9f1e-7d2a-4c5b-9e8f-1a2b3c4d5e6f", "order 17 / try 1",
                          "~!@#$%^&*()"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ck_assert_msg(mx_idempotency_key_is_valid(keys[i]), "\"%s\" refused", keys[i]);
}
END_TEST

int main(void) {
    Suite *s = suite_create("idempotency_key");
    TCase *tc = tcase_create("idempotency_key");
    tcase_add_test(tc, every_printable_ascii_character_alone_is_a_valid_key);
    tcase_add_test(tc, control_delete_and_non_ascii_bytes_are_refused_anywhere_in_the_key);
    tcase_add_test(tc, empty_and_null_keys_are_refused);
    tcase_add_test(tc, a_key_of_255_characters_is_valid_and_one_of_256_is_not);
    tcase_add_test(tc, typical_keys_are_valid);
    suite_add_tcase(s, tc);
    return mx_unit_run(s);
}
