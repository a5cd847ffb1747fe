/* API keys (README "Access control"): "<id>:<secret>" entries, matched in constant time, the id
 * naming the client. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mondux/api_keys.h"
#include "unit_run.h"

#define SECRET_A "aaaaaaaaaaaaaaaa1"
#define SECRET_B "bbbbbbbbbbbbbbbb2"

static struct mx_api_keys *parse_ok(const char *text) {
    struct mx_api_keys *keys = NULL;
    char error[256] = "";
    ck_assert_msg(mx_api_keys_parse(text, &keys, error, sizeof error) == MX_OK, "%s refused: %s",
                  text, error);
    return keys;
}

START_TEST(each_secret_matches_its_own_id_and_nothing_else_matches) {
    struct mx_api_keys *keys = parse_ok("alice:" SECRET_A ",bob:" SECRET_B);
    ck_assert_uint_eq(mx_api_keys_count(keys), 2);
    ck_assert_str_eq(mx_api_keys_match(keys, SECRET_A), "alice");
    ck_assert_str_eq(mx_api_keys_match(keys, SECRET_B), "bob");
    const char *wrong[] = {"",
                           "alice",
                           "alice:" SECRET_A,
                           SECRET_A "x",
                           "aaaaaaaaa",
                           "aaaaaaaaaaaaaaaa",
                           "Aaaaaaaaaaaaaaaa1",
                           SECRET_B " "};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++)
        ck_assert_msg(mx_api_keys_match(keys, wrong[i]) == NULL, "\"%s\" matched", wrong[i]);
    ck_assert_ptr_null(mx_api_keys_match(keys, NULL));
    ck_assert_ptr_null(mx_api_keys_match(NULL, SECRET_A));
    mx_api_keys_free(keys);
}
END_TEST

START_TEST(keys_may_be_split_by_lines_with_blanks_and_comments) {
    struct mx_api_keys *keys =
        parse_ok("# the teller, and ops: both\n  teller:" SECRET_A "  \r\n\n\tops.team-1:" SECRET_B
                 "\n# retired, gone:" SECRET_A "x\n");
    ck_assert_uint_eq(mx_api_keys_count(keys), 2);
    ck_assert_str_eq(mx_api_keys_match(keys, SECRET_B), "ops.team-1");
    mx_api_keys_free(keys);
}
END_TEST

START_TEST(malformed_keys_are_refused_without_quoting_the_secret) {
    const char *bad[] = {"", " , \n", "nocolon" SECRET_A, ":" SECRET_A, "alice:short",
                         "al ice:" SECRET_A, "alice:" SECRET_A " x", "alice:" SECRET_A ":x",
                         "alice:" SECRET_A ",alice:" SECRET_B, "alice:" SECRET_A ",bob:" SECRET_A,
                         "a23456789012345678901234567890123:" SECRET_A, "alice:\x01" SECRET_A,
                         /* "#" starts a comment only at the start of a line */
                         "alice:" SECRET_A ",#bob:" SECRET_B};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct mx_api_keys *keys = (struct mx_api_keys *)1;
        char error[256] = "";
        ck_assert_msg(mx_api_keys_parse(bad[i], &keys, error, sizeof error) == MX_INVALID_REQUEST,
                      "\"%s\" accepted", bad[i]);
        ck_assert_ptr_null(keys);
        ck_assert_msg(error[0] != '\0', "no reason for \"%s\"", bad[i]);
        ck_assert_msg(strstr(error, "aaaaaaaa") == NULL && strstr(error, "bbbbbbbb") == NULL,
                      "the reason quotes a secret: %s", error);
    }
}
END_TEST

START_TEST(secrets_of_the_length_limits_are_accepted_and_one_beyond_is_not) {
    char text[300], secret[MX_API_KEY_SECRET_MAX + 2];
    memset(secret, 's', sizeof secret);
    secret[MX_API_KEY_SECRET_MAX] = '\0';
    snprintf(text, sizeof text, "max:%s", secret);
    struct mx_api_keys *keys = parse_ok(text);
    ck_assert_str_eq(mx_api_keys_match(keys, secret), "max");
    mx_api_keys_free(keys);
    secret[MX_API_KEY_SECRET_MAX] = 's';
    secret[MX_API_KEY_SECRET_MAX + 1] = '\0';
    snprintf(text, sizeof text, "max:%s", secret);
    char error[256];
    ck_assert_int_eq(mx_api_keys_parse(text, &keys, error, sizeof error), MX_INVALID_REQUEST);
    secret[MX_API_KEY_SECRET_MIN] = '\0';
    snprintf(text, sizeof text, "min:%s", secret);
    keys = parse_ok(text);
    ck_assert_str_eq(mx_api_keys_match(keys, secret), "min");
    /* A presented secret longer than any key never matches, however it starts. */
    char longer[MX_API_KEY_SECRET_MAX * 2];
    memset(longer, 's', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    ck_assert_ptr_null(mx_api_keys_match(keys, longer));
    mx_api_keys_free(keys);
}
END_TEST

int main(void) {
    Suite *s = suite_create("api_keys");
    TCase *tc = tcase_create("api_keys");
    tcase_add_test(tc, each_secret_matches_its_own_id_and_nothing_else_matches);
    tcase_add_test(tc, keys_may_be_split_by_lines_with_blanks_and_comments);
    tcase_add_test(tc, malformed_keys_are_refused_without_quoting_the_secret);
    tcase_add_test(tc, secrets_of_the_length_limits_are_accepted_and_one_beyond_is_not);
    suite_add_tcase(s, tc);
    return mx_unit_run(s);
}
