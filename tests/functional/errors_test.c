/* api.md "Errors": one test case per row of the table. Every refusal answers the documented
 * status, code and (where api.md fixes it) message as JSON, and changes nothing in the database.
 * The server of this suite is configured with DATABASE_URL as a keyword/value conninfo. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define INVALID_SUM_MESSAGE       "transaction sum is invalid"
#define ACCOUNT_NOT_FOUND_MESSAGE "account does not exist"

/* Sends method path and asserts the error, and that the database is as in before. */
static void expect_refusal(const char *method, const char *path, const char *body, long status,
                           const char *code, const char *message, const struct ft_snapshot *before,
                           const char *number) {
    ft_expect_error(method, path, body, NULL, status, code, message);
    ft_assert_unchanged(before, number);
}

/* An account with balance_cents in it. */
static void funded_account(char number[FT_ACCOUNT_SIZE], int64_t balance_cents) {
    ft_create_account(number);
    if (balance_cents > 0)
        ck_assert_int_eq(ft_move(number, "deposit", balance_cents), balance_cents);
}

START_TEST(invalid_sum_is_400_invalid_sum_and_changes_nothing) {
    char n[FT_ACCOUNT_SIZE], path[256];
    funded_account(n, 500);
    struct ft_snapshot before = ft_snapshot(n);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=-5", n);
    expect_refusal("PUT", path, NULL, 400, "invalid_sum", INVALID_SUM_MESSAGE, &before, n);
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=1.5", n);
    expect_refusal("POST", path, NULL, 400, "invalid_sum", INVALID_SUM_MESSAGE, &before, n);
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw", n);
    expect_refusal("PUT", path, NULL, 400, "invalid_sum", INVALID_SUM_MESSAGE, &before, n);
}
END_TEST

START_TEST(malformed_or_unknown_body_is_400_invalid_request_and_creates_nothing) {
    struct ft_snapshot before = ft_snapshot(NULL);
    expect_refusal("POST", "/api/accounts", "{\"x\":", 400, "invalid_request", NULL, &before, NULL);
    expect_refusal("POST", "/api/accounts", "{\"colour\":\"red\"}", 400, "invalid_request", NULL,
                   &before, NULL);
    expect_refusal("POST", "/api/accounts", "[1, 2]", 400, "invalid_request", NULL, &before, NULL);
    expect_refusal("POST", "/api/accounts", "not json at all", 400, "invalid_request", NULL,
                   &before, NULL);
}
END_TEST

START_TEST(unknown_or_malformed_account_is_404_account_not_found) {
    /* A well-formed number whose account is gone: made, then removed behind the service's back
     * (it has no journal entries, so the foreign key allows it). */
    char gone[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(gone);
    ft_sql_exec("DELETE FROM accounts WHERE account_number = $1", gone, (const char *)NULL);
    struct ft_snapshot before = ft_snapshot(NULL);
    const char *numbers[] = {gone, "0", "123", "abc", "12345678901234567890123456789012"};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s/balance", numbers[i]);
        expect_refusal("GET", path, NULL, 404, "account_not_found", ACCOUNT_NOT_FOUND_MESSAGE,
                       &before, NULL);
        snprintf(path, sizeof path, "/api/accounts/%s", numbers[i]);
        expect_refusal("GET", path, NULL, 404, "account_not_found", ACCOUNT_NOT_FOUND_MESSAGE,
                       &before, NULL);
        snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=5", numbers[i]);
        expect_refusal("PUT", path, NULL, 404, "account_not_found", ACCOUNT_NOT_FOUND_MESSAGE,
                       &before, NULL);
        snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=5", numbers[i]);
        expect_refusal("POST", path, NULL, 404, "account_not_found", ACCOUNT_NOT_FOUND_MESSAGE,
                       &before, NULL);
    }
}
END_TEST

START_TEST(unknown_route_is_404_not_found) {
    struct ft_snapshot before = ft_snapshot(NULL);
    const char *paths[] = {"/api/accounts/", "/api/nothing", "/api", "/api/accounts/1/nothing",
                           "/api/accounts/1/deposit/extra"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        expect_refusal("GET", paths[i], NULL, 404, "not_found", NULL, &before, NULL);
    expect_refusal("POST", "/api/nothing", NULL, 404, "not_found", NULL, &before, NULL);
}
END_TEST

/* The Allow header lists each of methods (a comma-separated list, any order). */
static void assert_allow_lists(const struct ft_response *r, const char *const *methods) {
    char allow[256];
    ck_assert_msg(ft_header(r, "Allow", allow, sizeof allow) != NULL, "%s: no Allow header",
                  r->what);
    for (; *methods != NULL; methods++) {
        int found = 0;
        char copy[256];
        snprintf(copy, sizeof copy, "%s", allow);
        for (char *save = NULL, *token = strtok_r(copy, ", ", &save); token != NULL;
             token = strtok_r(NULL, ", ", &save))
            found |= strcmp(token, *methods) == 0;
        ck_assert_msg(found, "%s: Allow '%s' lacks %s", r->what, allow, *methods);
    }
}

START_TEST(wrong_method_is_405_method_not_allowed_with_allow_header) {
    char n[FT_ACCOUNT_SIZE], path[256];
    funded_account(n, 300);
    struct ft_snapshot before = ft_snapshot(n);

    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=5", n);
    struct ft_response *r = ft_http("DELETE", path, NULL);
    ft_assert_error(r, 405, "method_not_allowed", NULL);
    assert_allow_lists(r, (const char *const[]){"PUT", "POST", NULL});
    ft_response_free(r);

    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=5", n);
    r = ft_http("GET", path, NULL);
    ft_assert_error(r, 405, "method_not_allowed", NULL);
    assert_allow_lists(r, (const char *const[]){"PUT", "POST", NULL});
    ft_response_free(r);

    r = ft_http("GET", "/api/accounts/create", NULL);
    ft_assert_error(r, 405, "method_not_allowed", NULL);
    assert_allow_lists(r, (const char *const[]){"POST", NULL});
    ft_response_free(r);

    snprintf(path, sizeof path, "/api/accounts/%s/balance", n);
    r = ft_http("PUT", path, NULL);
    ft_assert_error(r, 405, "method_not_allowed", NULL);
    assert_allow_lists(r, (const char *const[]){"GET", NULL});
    ft_response_free(r);

    r = ft_http("DELETE", "/api/accounts", NULL);
    ft_assert_error(r, 405, "method_not_allowed", NULL);
    assert_allow_lists(r, (const char *const[]){"POST", NULL});
    ft_response_free(r);

    ft_assert_unchanged(&before, n);
}
END_TEST

START_TEST(withdraw_more_than_balance_is_409_insufficient_funds_and_changes_nothing) {
    char n[FT_ACCOUNT_SIZE], path[256];
    funded_account(n, 100);
    struct ft_snapshot before = ft_snapshot(n);
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=101", n);
    expect_refusal("PUT", path, NULL, 409, "insufficient_funds", NULL, &before, n);
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=9007199254740991", n);
    expect_refusal("POST", path, NULL, 409, "insufficient_funds", NULL, &before, n);
    /* The whole balance is still there to take. */
    ck_assert_int_eq(ft_move(n, "withdraw", 100), 0);
}
END_TEST

START_TEST(deposit_over_the_balance_limit_is_409_balance_limit_exceeded_and_changes_nothing) {
    char n[FT_ACCOUNT_SIZE], path[256];
    funded_account(n, FT_MAX_SAFE_CENTS);
    ck_assert_int_eq(ft_balance(n), FT_MAX_SAFE_CENTS);
    struct ft_snapshot before = ft_snapshot(n);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=1", n);
    expect_refusal("PUT", path, NULL, 409, "balance_limit_exceeded", NULL, &before, n);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=9007199254740991", n);
    expect_refusal("POST", path, NULL, 409, "balance_limit_exceeded", NULL, &before, n);
    ck_assert_int_eq(ft_balance(n), FT_MAX_SAFE_CENTS);
}
END_TEST

START_TEST(body_over_the_limit_is_413_payload_too_large_and_creates_nothing) {
    /* The default limit is 64 KiB; this is a well-formed JSON object just over it. */
    size_t size = 65536 + 1024;
    char *body = malloc(size + 1);
    ck_assert_ptr_nonnull(body);
    memset(body, 'a', size);
    memcpy(body, "{\"x\":\"", 6);
    memcpy(body + size - 2, "\"}", 2);
    body[size] = '\0';
    struct ft_snapshot before = ft_snapshot(NULL);
    expect_refusal("POST", "/api/accounts", body, 413, "payload_too_large", NULL, &before, NULL);
    free(body);
}
END_TEST

START_TEST(database_failure_is_500_internal_error_without_details) {
    char n[FT_ACCOUNT_SIZE], path[256];
    funded_account(n, 40);
    struct ft_snapshot before = ft_snapshot(n);
    /* A bug's worth of failure: an error the service cannot expect, with a SQLSTATE of our own. */
    ft_sql_exec("CREATE FUNCTION mx_ft_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'mx-ft-secret-detail in table accounts' USING ERRCODE = 'MXF01', "
                "DETAIL = 'mx-ft-secret-detail'; END $$",
                (const char *)NULL);
    ft_sql_exec("CREATE TRIGGER mx_ft_fail BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE "
                "FUNCTION mx_ft_fail()",
                (const char *)NULL);

    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=5", n);
    struct ft_response *r = ft_http("PUT", path, NULL);
    ft_sql_exec("DROP TRIGGER mx_ft_fail ON accounts", (const char *)NULL);
    ft_sql_exec("DROP FUNCTION mx_ft_fail()", (const char *)NULL);

    ft_assert_error(r, 500, "internal_error", NULL);
    const char *leaks[] = {"mx-ft-secret-detail", "MXF01", "accounts", "trigger", "SQL", "ERROR:"};
    for (size_t i = 0; i < sizeof leaks / sizeof leaks[0]; i++)
        ck_assert_msg(strstr(r->body, leaks[i]) == NULL, "the 500 body shows '%s': %s", leaks[i],
                      r->body);
    ft_response_free(r);
    ft_assert_unchanged(&before, n);
    /* And the service goes on once the fault is gone. */
    ck_assert_int_eq(ft_move(n, "deposit", 5), 45);
}
END_TEST

START_TEST(database_unreachable_is_503_unavailable_with_retry_after_and_changes_nothing) {
    char n[FT_ACCOUNT_SIZE], path[256], sql[256];
    funded_account(n, 70);
    struct ft_snapshot before = ft_snapshot(n);

    /* Cut the service off: no new connection to its database (superusers included), and its
     * current ones ended. The harness's own connection stays, to look. */
    snprintf(sql, sizeof sql, "ALTER DATABASE \"%s\" ALLOW_CONNECTIONS false", ft_db());
    ft_sql_admin_exec(sql, (const char *)NULL);
    ft_sql_admin_exec(
        "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = $1 "
        "AND application_name <> 'mx_ft_harness' AND pid <> pg_backend_pid()",
        ft_db(), (const char *)NULL);

    struct ft_response *responses[4];
    const char *methods[4] = {"PUT", "POST", "GET", "POST"};
    char paths[4][256];
    snprintf(paths[0], sizeof paths[0], "/api/accounts/%s/deposit?sum=5", n);
    snprintf(paths[1], sizeof paths[1], "/api/accounts/%s/withdraw?sum=5", n);
    snprintf(paths[2], sizeof paths[2], "/api/accounts/%s/balance", n);
    snprintf(paths[3], sizeof paths[3], "/api/accounts");
    for (int i = 0; i < 4; i++)
        responses[i] = ft_http(methods[i], paths[i], NULL);

    snprintf(sql, sizeof sql, "ALTER DATABASE \"%s\" ALLOW_CONNECTIONS true", ft_db());
    ft_sql_admin_exec(sql, (const char *)NULL);

    for (int i = 0; i < 4; i++) {
        char retry_after[64];
        ft_assert_error(responses[i], 503, "unavailable", NULL);
        ck_assert_msg(ft_header(responses[i], "Retry-After", retry_after, sizeof retry_after) !=
                          NULL,
                      "%s: 503 without Retry-After", responses[i]->what);
        ck_assert_msg(retry_after[0] != '\0', "%s: empty Retry-After", responses[i]->what);
        ft_response_free(responses[i]);
    }
    ft_assert_unchanged(&before, n);

    /* The service recovers by itself (bounded wait: it may back off between attempts). */
    snprintf(path, sizeof path, "/api/accounts/%s/balance", n);
    struct ft_response *r = ft_http_after_outage("GET", path, NULL, 20);
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "balance"), 70);
    ft_response_free(r);
    ft_assert_unchanged(&before, n);
}
END_TEST

int main(void) {
    Suite *s = suite_create("errors");
    FT_ADD_TEST(s, invalid_sum_is_400_invalid_sum_and_changes_nothing);
    FT_ADD_TEST(s, malformed_or_unknown_body_is_400_invalid_request_and_creates_nothing);
    FT_ADD_TEST(s, unknown_or_malformed_account_is_404_account_not_found);
    FT_ADD_TEST(s, unknown_route_is_404_not_found);
    FT_ADD_TEST(s, wrong_method_is_405_method_not_allowed_with_allow_header);
    FT_ADD_TEST(s, withdraw_more_than_balance_is_409_insufficient_funds_and_changes_nothing);
    FT_ADD_TEST(s,
                deposit_over_the_balance_limit_is_409_balance_limit_exceeded_and_changes_nothing);
    FT_ADD_TEST(s, body_over_the_limit_is_413_payload_too_large_and_creates_nothing);
    FT_ADD_TEST(s, database_failure_is_500_internal_error_without_details);
    FT_ADD_TEST(s, database_unreachable_is_503_unavailable_with_retry_after_and_changes_nothing);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
