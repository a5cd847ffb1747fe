/* API keys (README "Operations"): "<id>:<secret>[:<scope>]" entries, matched in constant time, the
 * id naming the client, the scope (all unless written) saying which methods it may use. */
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

/* Asserts that text is refused, with a reason (into error) and no keys. */
static void assert_refused(const char *text, char *error, size_t error_size) {
    struct mx_api_keys *keys = (struct mx_api_keys *)1;
    error[0] = '\0';
    ck_assert_msg(mx_api_keys_parse(text, &keys, error, error_size) == MX_INVALID_REQUEST,
                  "\"%s\" accepted", text);
    ck_assert_ptr_null(keys);
    ck_assert_msg(error[0] != '\0', "no reason for \"%s\"", text);
}

START_TEST(each_secret_matches_its_own_id_and_nothing_else_matches) {
    struct mx_api_keys *keys = parse_ok("alice:" SECRET_A ",bob:" SECRET_B);
    ck_assert_uint_eq(mx_api_keys_count(keys), 2);
    ck_assert_str_eq(mx_api_keys_match(keys, SECRET_A, NULL), "alice");
    ck_assert_str_eq(mx_api_keys_match(keys, SECRET_B, NULL), "bob");
    const char *wrong[] = {"",
                           "alice",
                           "alice:" SECRET_A,
                           SECRET_A "x",
                           "aaaaaaaaa",
                           "aaaaaaaaaaaaaaaa",
                           "Aaaaaaaaaaaaaaaa1",
                           SECRET_B " "};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++)
        ck_assert_msg(mx_api_keys_match(keys, wrong[i], NULL) == NULL, "\"%s\" matched", wrong[i]);
    ck_assert_ptr_null(mx_api_keys_match(keys, NULL, NULL));
    ck_assert_ptr_null(mx_api_keys_match(NULL, SECRET_A, NULL));
    mx_api_keys_free(keys);
}
END_TEST

START_TEST(keys_may_be_split_by_lines_with_blanks_and_comments) {
    struct mx_api_keys *keys =
        parse_ok("# the teller, and ops: both\n  teller:" SECRET_A "  \r\n\n\tops.team-1:" SECRET_B
                 "\n# retired, gone:" SECRET_A "x\n");
    ck_assert_uint_eq(mx_api_keys_count(keys), 2);
    ck_assert_str_eq(mx_api_keys_match(keys, SECRET_B, NULL), "ops.team-1");
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
        char error[256];
        assert_refused(bad[i], error, sizeof error);
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
    ck_assert_str_eq(mx_api_keys_match(keys, secret, NULL), "max");
    mx_api_keys_free(keys);
    secret[MX_API_KEY_SECRET_MAX] = 's';
    secret[MX_API_KEY_SECRET_MAX + 1] = '\0';
    snprintf(text, sizeof text, "max:%s", secret);
    char error[256];
    ck_assert_int_eq(mx_api_keys_parse(text, &keys, error, sizeof error), MX_INVALID_REQUEST);
    secret[MX_API_KEY_SECRET_MIN] = '\0';
    snprintf(text, sizeof text, "min:%s", secret);
    keys = parse_ok(text);
    ck_assert_str_eq(mx_api_keys_match(keys, secret, NULL), "min");
    /* A presented secret longer than any key never matches, however it starts. */
    char longer[MX_API_KEY_SECRET_MAX * 2];
    memset(longer, 's', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    ck_assert_ptr_null(mx_api_keys_match(keys, longer, NULL));
    mx_api_keys_free(keys);
}
END_TEST

START_TEST(a_key_without_a_scope_may_do_everything_and_each_scope_only_its_own_level) {
    struct mx_api_keys *keys =
        parse_ok("alice:" SECRET_A ",bob:" SECRET_B ":read\ncarol:cccccccccccccccc3:all,"
                 "dave:dddddddddddddddd4:teller,erin:eeeeeeeeeeeeeeee5:admin");
    ck_assert_uint_eq(mx_api_keys_count(keys), 5);
    const struct mx_api_scope *scope = NULL;
    ck_assert_str_eq(mx_api_keys_match(keys, SECRET_A, &scope), "alice");
    ck_assert_ptr_eq(scope, mx_api_scope_find("all", 3));
    ck_assert_str_eq(mx_api_keys_match(keys, "cccccccccccccccc3", &scope), "carol");
    ck_assert_ptr_eq(scope, mx_api_scope_find("all", 3));
    ck_assert_str_eq(mx_api_keys_match(keys, SECRET_B, &scope), "bob");
    ck_assert_ptr_eq(scope, mx_api_scope_find("read", 4));
    ck_assert_str_eq(mx_api_keys_match(keys, "dddddddddddddddd4", &scope), "dave");
    ck_assert_ptr_eq(scope, mx_api_scope_find("teller", 6));
    ck_assert_str_eq(mx_api_keys_match(keys, "eeeeeeeeeeeeeeee5", &scope), "erin");
    ck_assert_ptr_eq(scope, mx_api_scope_find("admin", 5));
    ck_assert_ptr_null(mx_api_keys_match(keys, SECRET_B ":read", &scope));
    ck_assert_ptr_null(scope);

    /* Each scope against each level: all and admin everything, teller all but admin, read only
     * reading. */
    const char *names[] = {"all", "admin", "teller", "read"};
    const int allowed[][3] = {{1, 1, 1}, {1, 1, 1}, {1, 1, 0}, {1, 0, 0}};
    const enum mx_access levels[] = {MX_ACCESS_READ, MX_ACCESS_TELLER, MX_ACCESS_ADMIN};
    for (size_t i = 0; i < 4; i++) {
        const struct mx_api_scope *s = mx_api_scope_find(names[i], strlen(names[i]));
        ck_assert_ptr_nonnull(s);
        for (size_t l = 0; l < 3; l++)
            ck_assert_msg(mx_api_scope_allows(s, levels[l]) == allowed[i][l], "%s at level %zu",
                          names[i], l);
    }
    ck_assert_ptr_null(mx_api_scope_find("Read", 4));
    ck_assert_ptr_null(mx_api_scope_find("tell", 4));
    ck_assert_str_eq(mx_api_scope_find("read", 4)->refusal,
                     "this API key's scope is read: it may only GET and HEAD");
    mx_api_keys_free(keys);
}
END_TEST

START_TEST(an_unknown_scope_is_refused_naming_the_id_and_the_scopes_but_not_the_scope) {
    const char *bad[] = {"alice:" SECRET_A ":write",
                         "alice:" SECRET_A ":",
                         "alice:" SECRET_A ":READ",
                         "alice:" SECRET_A ":read:all",
                         "alice:" SECRET_A ":re ad",
                         "alice:" SECRET_A ":alll",
                         "bob:" SECRET_B ",alice:" SECRET_A ":wrote"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char error[256];
        assert_refused(bad[i], error, sizeof error);
        ck_assert_str_eq(
            error, "API key \"alice\" has an unknown scope: it must be all, read, teller or admin");
    }
    ck_assert_ptr_null(mx_api_scope_find("", 0));
    ck_assert_ptr_null(mx_api_scope_find("rea", 3));
    ck_assert_ptr_nonnull(mx_api_scope_find("reader", 4));
}
END_TEST

START_TEST(scope_names_make_one_sentence_and_a_short_buffer_stays_terminated) {
    char names[64];
    mx_api_scope_names(names, sizeof names);
    ck_assert_str_eq(names, "all, read, teller or admin");
    char short_names[6];
    memset(short_names, 'x', sizeof short_names);
    mx_api_scope_names(short_names, sizeof short_names);
    ck_assert_str_eq(short_names, "all, ");
}
END_TEST

int main(void) {
    Suite *s = suite_create("api_keys");
    TCase *tc = tcase_create("api_keys");
    tcase_add_test(tc, each_secret_matches_its_own_id_and_nothing_else_matches);
    tcase_add_test(tc, keys_may_be_split_by_lines_with_blanks_and_comments);
    tcase_add_test(tc, malformed_keys_are_refused_without_quoting_the_secret);
    tcase_add_test(tc, secrets_of_the_length_limits_are_accepted_and_one_beyond_is_not);
    tcase_add_test(tc, a_key_without_a_scope_may_do_everything_and_each_scope_only_its_own_level);
    tcase_add_test(tc, an_unknown_scope_is_refused_naming_the_id_and_the_scopes_but_not_the_scope);
    tcase_add_test(tc, scope_names_make_one_sentence_and_a_short_buffer_stays_terminated);
    suite_add_tcase(s, tc);
    return mx_unit_run(s);
}
