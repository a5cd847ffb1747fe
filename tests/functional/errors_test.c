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

/* Sends method path body with headers (a NULL-terminated list, may be NULL) and asserts the error
 * status and code, the sentence (all of it, or only its start when message ends in "..."), and
 * the "field" (none when field is NULL). */
static void expect_sentence(const char *method, const char *path, const char *body,
                            const char *const *headers, long status, const char *code,
                            const char *message, const char *field) {
    struct ft_response *r = ft_http_with_headers(method, path, body, headers);
    size_t length = strlen(message);
    int prefix = length > 3 && strcmp(message + length - 3, "...") == 0;
    ft_assert_error(r, status, code, prefix ? NULL : message);
    if (prefix)
        ck_assert_msg(strncmp(ft_json_str(r, "error"), message, length - 3) == 0,
                      "%s: expected the sentence to start '%.*s': %s", r->what, (int)length - 3,
                      message, r->body);
    ft_assert_error_field(r, field);
    ft_response_free(r);
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

/* ---- the sentence names the field and the rule --------------------------------------------- */

START_TEST(transfer_to_the_same_account_says_so_and_names_to) {
    char a[FT_ACCOUNT_SIZE], body[256];
    funded_account(a, 100);
    struct ft_snapshot before = ft_snapshot(a);
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 5}", a, a);
    expect_sentence("POST", "/api/transfers", body, NULL, 400, "invalid_request",
                    "from and to must be two different accounts", "to");
    ft_assert_unchanged(&before, a);
}
END_TEST

START_TEST(limit_out_of_range_or_not_a_number_names_limit_and_its_range) {
    char n[FT_ACCOUNT_SIZE], path[256];
    funded_account(n, 100);
    const char *limits[] = {"101", "abc", "0", "", "-1", "1.5", "020", "99999999999999999999"};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s/transactions?limit=%s", n, limits[i]);
        expect_sentence("GET", path, NULL, NULL, 400, "invalid_request",
                        "limit must be a whole number from 1 to 100", "limit");
    }
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?limit=5&limit=6", n);
    expect_sentence("GET", path, NULL, NULL, 400, "invalid_request", "limit must be given once",
                    "limit");
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?before=abc", n);
    expect_sentence("GET", path, NULL, NULL, 400, "invalid_request",
                    "before must be a whole number from 1 to 9007199254740991: an entry id, as "
                    "in \"next\"",
                    "before");
    /* The limits themselves are fine. */
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?limit=100", n);
    struct ft_response *r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    ft_response_free(r);
}
END_TEST

START_TEST(unknown_body_field_is_named_with_the_fields_the_body_takes) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], body[320];
    funded_account(a, 100);
    funded_account(b, 0);
    struct ft_snapshot before = ft_snapshot(a);
    expect_sentence("POST", "/api/accounts", "{\"colour\": \"red\"}", NULL, 400, "invalid_request",
                    "unknown field \"colour\": this body takes only \"overdraft_limit\" and "
                    "\"currency\"",
                    "colour");
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 5, \"memo\": 1}", a,
             b);
    expect_sentence("POST", "/api/transfers", body, NULL, 400, "invalid_request",
                    "unknown field \"memo\": this body takes only \"from\", \"to\", \"sum\", "
                    "\"reference\" and \"metadata\"",
                    "memo");
    /* A name that cannot be quoted plainly (too long, or with a quote in it) is not echoed. */
    const char *odd[] = {"{\"a\\\"b\": 1}",
                         "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": 1}",
                         "{\"caf\\u00e9\": 1}"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        expect_sentence(
            "POST", "/api/accounts", odd[i], NULL, 400, "invalid_request",
            "the body has a field it does not take: it takes only \"overdraft_limit\" and "
            "\"currency\"",
            NULL);
    ft_assert_unchanged(&before, a);
}
END_TEST

START_TEST(wrongly_typed_field_is_named_with_its_rule) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], body[320];
    funded_account(a, 100);
    funded_account(b, 0);
    struct ft_snapshot before = ft_snapshot(a);
    const char *limits[] = {"\"100\"", "1.5", "-1", "null", "9007199254740992"};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        snprintf(body, sizeof body, "{\"overdraft_limit\": %s}", limits[i]);
        expect_sentence("POST", "/api/accounts", body, NULL, 400, "invalid_request",
                        "overdraft_limit must be a whole number of cents from 0 to "
                        "9007199254740991",
                        "overdraft_limit");
    }
    /* A number, not a string: one JSON can read whatever the digits (an account number may start
     * with 0, which JSON refuses in a number). */
    snprintf(body, sizeof body, "{\"from\": 1234, \"to\": \"%s\", \"sum\": 5}", b);
    expect_sentence("POST", "/api/transfers", body, NULL, 400, "invalid_request",
                    "from must be the number of the account to take the sum from, as a JSON "
                    "string",
                    "from");
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"sum\": 5}", a);
    expect_sentence("POST", "/api/transfers", body, NULL, 400, "invalid_request",
                    "to must be the number of the account to put the sum into, as a JSON string",
                    "to");
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": \"5\"}", a, b);
    expect_sentence("POST", "/api/transfers", body, NULL, 400, "invalid_sum",
                    "sum must be a whole number of cents from 1 to 9007199254740991", "sum");
    ft_assert_unchanged(&before, a);
}
END_TEST

START_TEST(form_encoded_body_names_content_type_and_what_to_send) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], body[320], path[256];
    funded_account(a, 100);
    funded_account(b, 0);
    struct ft_snapshot before = ft_snapshot(a);
    const char *const form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    snprintf(body, sizeof body, "from=%s&to=%s&sum=5", a, b);
    expect_sentence("POST", "/api/transfers", body, form, 400, "invalid_request",
                    "Content-Type must be application/json: the body is read as JSON, e.g. "
                    "{\"from\": \"<account>\", \"to\": \"<account>\", \"sum\": 500}",
                    "Content-Type");
    expect_sentence(
        "POST", "/api/accounts", "overdraft_limit=500", form, 400, "invalid_request",
        "Content-Type must be application/json: the body is read as JSON, e.g. "
        "{\"overdraft_limit\": 50000, \"currency\": \"EUR\"}, either optional, or no body",
        "Content-Type");
    /* Even JSON, when it is declared as something else: a browser's form or text/plain. */
    const char *const text[] = {"Content-Type: text/plain;charset=UTF-8", NULL};
    snprintf(path, sizeof path, "/api/accounts/%s/deposit", a);
    expect_sentence("POST", path, "{\"sum\": 5}", text, 400, "invalid_request",
                    "Content-Type must be application/json: the body is read as JSON, e.g. "
                    "{\"sum\": 500}, or no body and ?sum=500 in the query",
                    "Content-Type");
    const char *const twice[] = {"Content-Type: application/json", "Content-Type: application/json",
                                 NULL};
    expect_sentence("POST", path, "{\"sum\": 5}", twice, 400, "invalid_request",
                    "Content-Type must be sent once", "Content-Type");
    ft_assert_unchanged(&before, a);
    /* Parameters and case do not matter. */
    const char *const spelled[] = {"Content-Type: Application/JSON; charset=utf-8", NULL};
    struct ft_response *r = ft_http_with_headers("POST", path, "{\"sum\": 5}", spelled);
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "balance"), 105);
    ft_response_free(r);
}
END_TEST

START_TEST(malformed_json_says_where_and_what_to_send) {
    char n[FT_ACCOUNT_SIZE], path[256];
    funded_account(n, 100);
    struct ft_snapshot before = ft_snapshot(n);
    expect_sentence("POST", "/api/accounts", "{\"x\":", NULL, 400, "invalid_request",
                    "the body must be JSON, e.g. {\"overdraft_limit\": 50000, \"currency\": "
                    "\"EUR\"}, either optional, or no body; it is "
                    "not valid JSON at line 1, ...",
                    NULL);
    expect_sentence("POST", "/api/accounts", "[1, 2]", NULL, 400, "invalid_request",
                    "the body must be a JSON object, e.g. {\"overdraft_limit\": 50000, "
                    "\"currency\": \"EUR\"}, either optional, or no body",
                    NULL);
    expect_sentence("POST", "/api/accounts", "{\"overdraft_limit\": 1, \"overdraft_limit\": 2}",
                    NULL, 400, "invalid_request", "the body names a field twice ...", NULL);
    expect_sentence("POST", "/api/transfers", "", NULL, 400, "invalid_request",
                    "the body must be a JSON object, e.g. {\"from\": \"<account>\", \"to\": "
                    "\"<account>\", \"sum\": 500}; it is empty",
                    NULL);
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw", n);
    expect_sentence("PUT", path, "sum: 5", NULL, 400, "invalid_request",
                    "the body must be JSON, e.g. {\"sum\": 500}, or no body and ?sum=500 in the "
                    "query; it is not valid JSON at line 1, ...",
                    NULL);
    ft_assert_unchanged(&before, n);
}
END_TEST

START_TEST(idempotency_key_that_is_not_one_short_printable_value_names_the_header) {
    char n[FT_ACCOUNT_SIZE], path[256], long_key[300];
    funded_account(n, 100);
    struct ft_snapshot before = ft_snapshot(n);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=5", n);
    memset(long_key, 'k', 256);
    long_key[256] = '\0';
    const char *keys[] = {"", long_key};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char header[320];
        snprintf(header, sizeof header, "Idempotency-Key: %s", keys[i]);
        const char *const headers[] = {keys[i][0] == '\0' ? "Idempotency-Key;" : header, NULL};
        expect_sentence("PUT", path, NULL, headers, 400, "invalid_request",
                        "Idempotency-Key must be 1 to 255 printable ASCII characters",
                        "Idempotency-Key");
    }
    const char *const twice[] = {"Idempotency-Key: a", "Idempotency-Key: b", NULL};
    expect_sentence("PUT", path, NULL, twice, 400, "invalid_request",
                    "Idempotency-Key must be sent once", "Idempotency-Key");
    ft_assert_unchanged(&before, n);
}
END_TEST

/* ---- a body on the query-string routes is read, or refused saying where the sum goes ------- */

START_TEST(json_body_on_deposit_or_withdraw_is_read_as_the_sum) {
    char n[FT_ACCOUNT_SIZE], path[256];
    funded_account(n, 100);
    const char *methods[] = {"PUT", "POST"};
    int64_t expected = 100;
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s/deposit", n);
        struct ft_response *r = ft_http(methods[i], path, "{\"sum\": 250}");
        ft_assert_status(r, 200);
        ck_assert_int_eq(ft_json_int(r, "balance"), expected += 250);
        ft_response_free(r);
        snprintf(path, sizeof path, "/api/accounts/%s/withdraw", n);
        r = ft_http(methods[i], path, "{\"sum\": 40}");
        ft_assert_status(r, 200);
        ck_assert_int_eq(ft_json_int(r, "balance"), expected -= 40);
        ft_response_free(r);
    }
    ck_assert_int_eq(ft_balance(n), expected);
    /* An empty object says nothing: the sum is then the query's. */
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=1", n);
    struct ft_response *r = ft_http("PUT", path, "{}");
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "balance"), expected + 1);
    ft_response_free(r);
}
END_TEST

START_TEST(bad_sum_in_a_deposit_body_is_invalid_sum_and_other_bodies_say_where_the_sum_goes) {
    char n[FT_ACCOUNT_SIZE], path[256], body[64];
    funded_account(n, 100);
    struct ft_snapshot before = ft_snapshot(n);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit", n);
    const char *sums[] = {
        "0", "-5", "1.5", "\"5\"", "null", "9007199254740992", "99999999999999999999"};
    for (size_t i = 0; i < sizeof sums / sizeof sums[0]; i++) {
        snprintf(body, sizeof body, "{\"sum\": %s}", sums[i]);
        expect_sentence("PUT", path, body, NULL, 400, "invalid_sum", INVALID_SUM_MESSAGE, "sum");
    }
    expect_sentence("PUT", path, "{\"amount\": 5}", NULL, 400, "invalid_request",
                    "unknown field \"amount\": this body takes only \"sum\", \"reference\" and "
                    "\"metadata\"",
                    "amount");
    expect_sentence("POST", path, "500", NULL, 400, "invalid_request",
                    "the body must be a JSON object, e.g. {\"sum\": 500}, or no body and ?sum=500 "
                    "in the query",
                    NULL);
    /* The sum is checked before the account, from the body as from the query. */
    expect_sentence("PUT", "/api/accounts/0/withdraw", "{\"sum\": 0}", NULL, 400, "invalid_sum",
                    INVALID_SUM_MESSAGE, "sum");
    expect_sentence("PUT", "/api/accounts/0/withdraw", "{\"sum\": 5}", NULL, 404,
                    "account_not_found", ACCOUNT_NOT_FOUND_MESSAGE, NULL);
    ft_assert_unchanged(&before, n);
}
END_TEST

START_TEST(sum_in_both_query_and_body_is_400_naming_the_conflict) {
    char n[FT_ACCOUNT_SIZE], path[256];
    funded_account(n, 100);
    struct ft_snapshot before = ft_snapshot(n);
    const char *const sentence =
        "the sum is given twice, in the query and in the body: give it in one of them";
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=5", n);
    expect_sentence("PUT", path, "{\"sum\": 5}", NULL, 400, "invalid_request", sentence, "sum");
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=5", n);
    expect_sentence("POST", path, "{\"sum\": 7}", NULL, 400, "invalid_request", sentence, "sum");
    /* Both, even when one of them is bad: which one was meant is the question. */
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=abc", n);
    expect_sentence("POST", path, "{\"sum\": 7}", NULL, 400, "invalid_request", sentence, "sum");
    ft_assert_unchanged(&before, n);
}
END_TEST

START_TEST(the_original_routes_keep_their_two_sentences) {
    char n[FT_ACCOUNT_SIZE], path[256];
    funded_account(n, 100);
    struct ft_snapshot before = ft_snapshot(n);
    const char *ops[] = {"deposit", "withdraw"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s/%s?sum=abc", n, ops[i]);
        expect_sentence("PUT", path, NULL, NULL, 400, "invalid_sum", INVALID_SUM_MESSAGE, "sum");
        snprintf(path, sizeof path, "/api/accounts/%s/%s", n, ops[i]);
        expect_sentence("PUT", path, NULL, NULL, 400, "invalid_sum", INVALID_SUM_MESSAGE, "sum");
        snprintf(path, sizeof path, "/api/accounts/%s/%s?sum=1&sum=2", n, ops[i]);
        expect_sentence("PUT", path, NULL, NULL, 400, "invalid_sum", INVALID_SUM_MESSAGE, "sum");
        snprintf(path, sizeof path, "/api/accounts/0/%s?sum=5", ops[i]);
        expect_sentence("PUT", path, NULL, NULL, 404, "account_not_found",
                        ACCOUNT_NOT_FOUND_MESSAGE, NULL);
    }
    expect_sentence("GET", "/api/accounts/0/balance", NULL, NULL, 404, "account_not_found",
                    ACCOUNT_NOT_FOUND_MESSAGE, NULL);
    ft_assert_unchanged(&before, n);
}
END_TEST

/* ---- every JSON answer ends with a newline --------------------------------------------------- */

START_TEST(every_json_answer_ends_with_a_newline) {
    char n[FT_ACCOUNT_SIZE], path[256];
    funded_account(n, 100);
    snprintf(path, sizeof path, "/api/accounts/%s", n);
    const char *targets[][2] = {{"GET", "/healthz"},       {"GET", "/readyz"},
                                {"POST", "/api/accounts"}, {"GET", path},
                                {"GET", "/api/nothing"},   {"DELETE", "/api/accounts"}};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        struct ft_response *r = ft_http(targets[i][0], targets[i][1], NULL);
        ck_assert_msg(r->body_size > 1 && r->body[r->body_size - 1] == '\n' &&
                          r->body[r->body_size - 2] == '}',
                      "%s: the body does not end with \"}\\n\": %s", r->what, r->body);
        ck_assert_msg(r->json != NULL, "%s: not JSON: %s", r->what, r->body);
        ft_response_free(r);
    }
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
    FT_ADD_TEST(s, transfer_to_the_same_account_says_so_and_names_to);
    FT_ADD_TEST(s, limit_out_of_range_or_not_a_number_names_limit_and_its_range);
    FT_ADD_TEST(s, unknown_body_field_is_named_with_the_fields_the_body_takes);
    FT_ADD_TEST(s, wrongly_typed_field_is_named_with_its_rule);
    FT_ADD_TEST(s, form_encoded_body_names_content_type_and_what_to_send);
    FT_ADD_TEST(s, malformed_json_says_where_and_what_to_send);
    FT_ADD_TEST(s, idempotency_key_that_is_not_one_short_printable_value_names_the_header);
    FT_ADD_TEST(s, json_body_on_deposit_or_withdraw_is_read_as_the_sum);
    FT_ADD_TEST(s,
                bad_sum_in_a_deposit_body_is_invalid_sum_and_other_bodies_say_where_the_sum_goes);
    FT_ADD_TEST(s, sum_in_both_query_and_body_is_400_naming_the_conflict);
    FT_ADD_TEST(s, the_original_routes_keep_their_two_sentences);
    FT_ADD_TEST(s, every_json_answer_ends_with_a_newline);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
