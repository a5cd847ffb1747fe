/* The original Flask service's API test suite, reproduced against mondux, then the REST routes
 * and the input rules of api.md. The server of this suite is configured like the original was:
 * with API_DB, API_DB_USER, API_DB_PASSWORD, API_DB_HOST and API_DB_PORT, no DATABASE_URL. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define INVALID_SUM_MESSAGE       "transaction sum is invalid"
#define ACCOUNT_NOT_FOUND_MESSAGE "account does not exist"
#define ACCOUNT_DIGITS            16

static int is_account_number(const char *text) {
    return strlen(text) == ACCOUNT_DIGITS && strspn(text, "0123456789") == ACCOUNT_DIGITS;
}

/* GET path, asserting 200 and JSON; the caller frees. */
static struct ft_response *get_ok(const char *path) {
    struct ft_response *r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    ft_assert_json(r);
    return r;
}

/* ---- the original's tests ------------------------------------------------------------------ */

START_TEST(create_account_then_balance_is_0) {
    struct ft_response *r = ft_http("POST", "/api/accounts/create", NULL);
    ft_assert_status(r, 200);
    ft_assert_json(r);
    char n[FT_ACCOUNT_SIZE], path[256];
    snprintf(n, sizeof n, "%s", ft_json_str(r, "account_number"));
    ft_response_free(r);
    ck_assert_msg(is_account_number(n), "account number '%s' is not 16 digits", n);

    snprintf(path, sizeof path, "/api/accounts/%s/balance", n);
    r = get_ok(path);
    ck_assert_int_eq(ft_json_int(r, "balance"), 0);
    ck_assert_str_eq(ft_json_str(r, "account_number"), n);
    ft_response_free(r);
}
END_TEST

START_TEST(deposit_20_then_balance_is_20) {
    char n[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=20", n);
    struct ft_response *r = ft_http("PUT", path, NULL);
    ft_assert_status(r, 200);
    ft_assert_json(r);
    ck_assert_int_eq(ft_json_int(r, "balance"), 20);
    ck_assert_str_eq(ft_json_str(r, "account_number"), n);
    ft_response_free(r);
    ck_assert_int_eq(ft_balance(n), 20);
}
END_TEST

START_TEST(withdraw_from_a_new_account_is_409_and_balance_stays_0) {
    char n[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);
    struct ft_snapshot before = ft_snapshot(n);
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=20", n);
    ft_expect_error("PUT", path, NULL, NULL, 409, "insufficient_funds", NULL);
    ck_assert_int_eq(ft_balance(n), 0);
    ft_assert_unchanged(&before, n);
}
END_TEST

START_TEST(unknown_account_is_404_on_balance_deposit_and_withdraw) {
    const char *paths[][2] = {{"GET", "/api/accounts/1234567890/balance"},
                              {"PUT", "/api/accounts/1234567890/deposit?sum=20"},
                              {"PUT", "/api/accounts/1234567890/withdraw?sum=20"}};
    struct ft_snapshot before = ft_snapshot(NULL);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        ft_expect_error(paths[i][0], paths[i][1], NULL, NULL, 404, "account_not_found",
                        ACCOUNT_NOT_FOUND_MESSAGE);
    }
    ft_assert_unchanged(&before, NULL);
}
END_TEST

START_TEST(invalid_sum_on_unknown_account_is_400) {
    const char *paths[] = {"/api/accounts/1234567890/deposit?sum=-20",
                           "/api/accounts/1234567890/withdraw?sum=abc",
                           "/api/accounts/1234567890/deposit"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        ft_expect_error("PUT", paths[i], NULL, NULL, 400, "invalid_sum", INVALID_SUM_MESSAGE);
    }
}
END_TEST

/* ---- REST routes --------------------------------------------------------------------------- */

START_TEST(post_accounts_is_201_with_a_location_that_gets_back) {
    struct ft_response *r = ft_http("POST", "/api/accounts", NULL);
    ft_assert_status(r, 201);
    ft_assert_json(r);
    char n[FT_ACCOUNT_SIZE], created_at[64], location[256], expected[256];
    snprintf(n, sizeof n, "%s", ft_json_str(r, "account_number"));
    snprintf(created_at, sizeof created_at, "%s", ft_json_str(r, "created_at"));
    ck_assert_msg(is_account_number(n), "account number '%s' is not 16 digits", n);
    ck_assert_msg(ft_is_timestamp(created_at), "created_at '%s' is not YYYY-MM-DDTHH:MM:SSZ",
                  created_at);
    ck_assert_int_eq(ft_json_int(r, "balance"), 0);
    ck_assert_int_eq(ft_json_int(r, "overdraft_limit"), 0);
    ck_assert_msg(ft_header(r, "Location", location, sizeof location) != NULL, "no Location");
    snprintf(expected, sizeof expected, "/api/accounts/%s", n);
    ck_assert_str_eq(location, expected);
    ft_response_free(r);

    r = get_ok(location);
    ck_assert_str_eq(ft_json_str(r, "account_number"), n);
    ck_assert_int_eq(ft_json_int(r, "balance"), 0);
    ck_assert_int_eq(ft_json_int(r, "overdraft_limit"), 0);
    ck_assert_str_eq(ft_json_str(r, "created_at"), created_at);
    ft_response_free(r);
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM accounts WHERE account_number = $1", n,
                                  (const char *)NULL),
                     1);
}
END_TEST

START_TEST(post_accounts_accepts_an_empty_object_body) {
    struct ft_response *r = ft_http("POST", "/api/accounts", "{}");
    ft_assert_status(r, 201);
    ft_assert_json(r);
    ck_assert_msg(is_account_number(ft_json_str(r, "account_number")), "bad account number");
    ft_response_free(r);
}
END_TEST

START_TEST(get_account_shows_number_balance_overdraft_limit_and_created_at) {
    char n[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);
    ft_move(n, "deposit", 1234);
    snprintf(path, sizeof path, "/api/accounts/%s", n);
    struct ft_response *r = get_ok(path);
    ck_assert_str_eq(ft_json_str(r, "account_number"), n);
    ck_assert_int_eq(ft_json_int(r, "balance"), 1234);
    ck_assert_int_eq(ft_json_int(r, "overdraft_limit"), 0);
    ck_assert_msg(ft_is_timestamp(ft_json_str(r, "created_at")), "bad created_at: %s", r->body);
    ft_response_free(r);
}
END_TEST

START_TEST(deposit_and_withdraw_answer_put_and_post_alike) {
    char n[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);
    const struct {
        const char *method, *op;
        int64_t sum, balance;
    } steps[] = {{"POST", "deposit", 100, 100},
                 {"PUT", "deposit", 50, 150},
                 {"POST", "withdraw", 30, 120},
                 {"PUT", "withdraw", 20, 100}};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s/%s?sum=%" PRId64, n, steps[i].op,
                 steps[i].sum);
        struct ft_response *r = ft_http(steps[i].method, path, NULL);
        ft_assert_status(r, 200);
        ft_assert_json(r);
        ck_assert_int_eq(ft_json_int(r, "balance"), steps[i].balance);
        ck_assert_str_eq(ft_json_str(r, "account_number"), n);
        ft_response_free(r);
    }
    ck_assert_int_eq(ft_balance(n), 100);
}
END_TEST

START_TEST(every_movement_is_journaled_with_a_signed_amount) {
    char n[FT_ACCOUNT_SIZE];
    ft_create_account(n);
    ft_move(n, "deposit", 20);
    ft_move(n, "withdraw", 5);
    /* kind, amount and balance after of the account's entries, oldest first. */
    const char *sql = "SELECT e.kind || ' ' || e.amount_cents || ' ' || e.balance_after_cents "
                      "FROM entries e JOIN accounts a ON a.id = e.account_id "
                      "WHERE a.account_number = $1 ORDER BY e.id OFFSET $2 LIMIT 1";
    ck_assert_str_eq(ft_sql_text(sql, n, "0", (const char *)NULL), "deposit 20 20");
    ck_assert_str_eq(ft_sql_text(sql, n, "1", (const char *)NULL), "withdrawal -5 15");
    ck_assert_int_eq(ft_snapshot(n).entries, 2);
}
END_TEST

START_TEST(healthz_is_200_status_ok) {
    struct ft_response *r = get_ok("/healthz");
    ck_assert_str_eq(ft_json_str(r, "status"), "ok");
    ft_response_free(r);
}
END_TEST

START_TEST(root_is_the_html_teller_page) {
    struct ft_response *r = ft_http("GET", "/", NULL);
    ft_assert_status(r, 200);
    char type[128];
    ck_assert_msg(ft_header(r, "Content-Type", type, sizeof type) != NULL, "no Content-Type");
    ck_assert_msg(strncmp(type, "text/html", 9) == 0, "Content-Type is %s", type);
    ck_assert_msg(r->body_size > 0 && strstr(r->body, "<") != NULL, "not HTML: %.200s", r->body);
    ft_response_free(r);
}
END_TEST

START_TEST(account_numbers_are_distinct_16_digit_strings) {
    enum { COUNT = 20 };
    char numbers[COUNT][FT_ACCOUNT_SIZE];
    for (int i = 0; i < COUNT; i++) {
        if (i % 2 == 0) {
            ft_create_account(numbers[i]);
        } else {
            struct ft_response *r = ft_http("POST", "/api/accounts/create", NULL);
            ft_assert_status(r, 200);
            ft_assert_json(r);
            snprintf(numbers[i], sizeof numbers[i], "%s", ft_json_str(r, "account_number"));
            ft_response_free(r);
        }
        ck_assert_msg(is_account_number(numbers[i]), "'%s' is not 16 digits", numbers[i]);
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(numbers[i], numbers[j]);
    }
}
END_TEST

/* ---- input rules --------------------------------------------------------------------------- */

START_TEST(invalid_sums_are_400_and_change_nothing) {
    char n[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);
    ft_move(n, "deposit", 50);
    struct ft_snapshot before = ft_snapshot(n);
    /* As they appear in the query string; "" means a missing parameter. */
    const char *sums[] = {"?sum=-5",
                          "?sum=0",
                          "?sum=01",
                          "?sum=1.5",
                          "?sum=1e3",
                          "?sum=abc",
                          "?sum=",
                          "",
                          "?other=5",
                          "?sum=9007199254740992",
                          "?sum=99999999999999999999999999",
                          "?sum=%2B5",
                          "?sum=+5",
                          "?sum=%205",
                          "?sum=5%20",
                          "?sum=0x10",
                          "?sum=5abc",
                          "?sum=-0"};
    const char *ops[] = {"deposit", "withdraw"};
    for (size_t o = 0; o < 2; o++) {
        for (size_t i = 0; i < sizeof sums / sizeof sums[0]; i++) {
            snprintf(path, sizeof path, "/api/accounts/%s/%s%s", n, ops[o], sums[i]);
            ft_expect_error(i % 2 == 0 ? "PUT" : "POST", path, NULL, NULL, 400, "invalid_sum",
                            INVALID_SUM_MESSAGE);
        }
    }
    ft_assert_unchanged(&before, n);
    ck_assert_int_eq(ft_balance(n), 50);
}
END_TEST

START_TEST(sums_from_1_to_2_pow_53_minus_1_are_accepted) {
    char n[FT_ACCOUNT_SIZE];
    ft_create_account(n);
    ck_assert_int_eq(ft_move(n, "deposit", 1), 1);
    ck_assert_int_eq(ft_move(n, "withdraw", 1), 0);
    ck_assert_int_eq(ft_move(n, "deposit", FT_MAX_SAFE_CENTS), FT_MAX_SAFE_CENTS);
    ck_assert_int_eq(ft_balance(n), FT_MAX_SAFE_CENTS);
    ck_assert_int_eq(ft_move(n, "withdraw", FT_MAX_SAFE_CENTS), 0);
    ck_assert_int_eq(ft_snapshot(n).entries, 4);
}
END_TEST

START_TEST(mistyped_account_number_is_404) {
    char n[FT_ACCOUNT_SIZE], typo[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);
    ft_move(n, "deposit", 10);
    ft_mistype(n, typo);
    ck_assert_str_ne(n, typo);
    struct ft_snapshot before = ft_snapshot(n);
    const char *routes[][2] = {
        {"GET", "/balance"}, {"GET", ""}, {"PUT", "/deposit?sum=5"}, {"POST", "/withdraw?sum=5"}};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s%s", typo, routes[i][1]);
        ft_expect_error(routes[i][0], path, NULL, NULL, 404, "account_not_found",
                        ACCOUNT_NOT_FOUND_MESSAGE);
    }
    ft_assert_unchanged(&before, n);
}
END_TEST

START_TEST(sql_shaped_account_numbers_are_404_and_change_nothing) {
    char n[FT_ACCOUNT_SIZE], path[512];
    ft_create_account(n);
    ft_move(n, "deposit", 10);
    struct ft_snapshot before = ft_snapshot(n);
    const char *numbers[] = {"%27%20OR%201%3D1--", "1;DROP%20TABLE%20accounts",
                             "1%27%3BDROP%20TABLE%20accounts%3B--",
                             "%27%29%20OR%20%28%271%27%3D%271", "1%20OR%201%3D1"};
    const char *routes[][2] = {
        {"GET", "/balance"}, {"GET", ""}, {"PUT", "/deposit?sum=5"}, {"POST", "/withdraw?sum=5"}};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        for (size_t j = 0; j < sizeof routes / sizeof routes[0]; j++) {
            snprintf(path, sizeof path, "/api/accounts/%s%s", numbers[i], routes[j][1]);
            ft_expect_error(routes[j][0], path, NULL, NULL, 404, "account_not_found",
                            ACCOUNT_NOT_FOUND_MESSAGE);
        }
    }
    ck_assert_int_eq(
        ft_sql_int64("SELECT (to_regclass('accounts') IS NOT NULL)::int", (const char *)NULL), 1);
    ft_assert_unchanged(&before, n);
}
END_TEST

/* An escaped slash is part of its path segment, not a separator: a proxy in front that routes on
 * the path as sent sees one segment "<n>%2Fdeposit", and so do we. */
START_TEST(an_escaped_slash_does_not_split_a_path_segment) {
    char n[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);
    ft_move(n, "deposit", 10);
    struct ft_snapshot before = ft_snapshot(n);
    for (int lower = 0; lower <= 1; lower++) {
        const char *slash = lower ? "%2f" : "%2F";
        snprintf(path, sizeof path, "/api/accounts/%s%sdeposit?sum=5", n, slash);
        ft_expect_error("PUT", path, NULL, NULL, 405, "method_not_allowed", NULL);
        snprintf(path, sizeof path, "/api/accounts/%s%sbalance", n, slash);
        ft_expect_error("GET", path, NULL, NULL, 404, "account_not_found", NULL);
    }
    ft_assert_unchanged(&before, n);
}
END_TEST

/* Query names are case-sensitive: "SUM" is not "sum" (libmicrohttpd's own lookup ignores case;
 * the fuzzer found "?SUM=999&sum=5" depositing 999). */
START_TEST(query_parameter_names_are_case_sensitive) {
    char n[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?SUM=999&sum=5", n);
    struct ft_response *r = ft_http("PUT", path, NULL);
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "balance"), 5);
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?SUM=999", n);
    ft_expect_error("PUT", path, NULL, NULL, 400, "invalid_sum", NULL);
    ck_assert_int_eq(ft_balance(n), 5);
}
END_TEST

int main(void) {
    Suite *s = suite_create("original_api");
    FT_ADD_TEST(s, an_escaped_slash_does_not_split_a_path_segment);
    FT_ADD_TEST(s, query_parameter_names_are_case_sensitive);
    FT_ADD_TEST(s, create_account_then_balance_is_0);
    FT_ADD_TEST(s, deposit_20_then_balance_is_20);
    FT_ADD_TEST(s, withdraw_from_a_new_account_is_409_and_balance_stays_0);
    FT_ADD_TEST(s, unknown_account_is_404_on_balance_deposit_and_withdraw);
    FT_ADD_TEST(s, invalid_sum_on_unknown_account_is_400);
    FT_ADD_TEST(s, post_accounts_is_201_with_a_location_that_gets_back);
    FT_ADD_TEST(s, post_accounts_accepts_an_empty_object_body);
    FT_ADD_TEST(s, get_account_shows_number_balance_overdraft_limit_and_created_at);
    FT_ADD_TEST(s, deposit_and_withdraw_answer_put_and_post_alike);
    FT_ADD_TEST(s, every_movement_is_journaled_with_a_signed_amount);
    FT_ADD_TEST(s, healthz_is_200_status_ok);
    FT_ADD_TEST(s, root_is_the_html_teller_page);
    FT_ADD_TEST(s, account_numbers_are_distinct_16_digit_strings);
    FT_ADD_TEST(s, invalid_sums_are_400_and_change_nothing);
    FT_ADD_TEST(s, sums_from_1_to_2_pow_53_minus_1_are_accepted);
    FT_ADD_TEST(s, mistyped_account_number_is_404);
    FT_ADD_TEST(s, sql_shaped_account_numbers_are_404_and_change_nothing);
    return ft_main(s, 1, FT_API_DB_VARS, NULL);
}
