/* The ledger contract, "Accounts and overdraft limits": an account may be created with an
 * overdraft limit, its balance may then go down to minus that limit and no further, negative
 * balances show in every answer, and the database itself refuses anything else. The server of
 * this suite is configured like the original was, with the API_DB* variables. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void transfer_body(char *out, size_t size, const char *from, const char *to, int64_t sum) {
    snprintf(out, size, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": %" PRId64 "}", from, to, sum);
}

/* GET path, asserting 200 and JSON; the caller frees. */
static struct ft_response *get_ok(const char *path) {
    struct ft_response *r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    ft_assert_json(r);
    return r;
}

static int64_t sql_overdraft(const char *number) {
    return ft_sql_int64("SELECT overdraft_limit_cents FROM accounts WHERE account_number = $1",
                        number, (const char *)NULL);
}

/* Sends a withdrawal and asserts the answer and the balance it shows. */
static void expect_withdrawal(const char *number, int64_t sum, int64_t balance) {
    char path[256];
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=%" PRId64, number, sum);
    struct ft_response *r = ft_http("PUT", path, NULL);
    ft_assert_status(r, 200);
    ft_assert_json(r);
    ck_assert_int_eq(ft_json_int(r, "balance"), balance);
    ft_response_free(r);
}

static void expect_insufficient(const char *method, const char *path, const char *body,
                                const char *number) {
    struct ft_snapshot before = ft_snapshot(number);
    ft_expect_error(method, path, body, NULL, 409, "insufficient_funds", NULL);
    ft_assert_unchanged(&before, number);
}

START_TEST(account_created_with_an_overdraft_limit_shows_it_everywhere) {
    char n[FT_ACCOUNT_SIZE], path[256], location[256];
    struct ft_response *r = ft_http("POST", "/api/accounts", "{\"overdraft_limit\": 500}");
    ft_assert_status(r, 201);
    ft_assert_json(r);
    ck_assert_int_eq(ft_json_int(r, "overdraft_limit"), 500);
    ck_assert_int_eq(ft_json_int(r, "balance"), 0);
    snprintf(n, sizeof n, "%s", ft_json_str(r, "account_number"));
    ck_assert_ptr_nonnull(ft_header(r, "Location", location, sizeof location));
    ft_response_free(r);

    r = get_ok(location);
    ck_assert_str_eq(ft_json_str(r, "account_number"), n);
    ck_assert_int_eq(ft_json_int(r, "overdraft_limit"), 500);
    ck_assert_int_eq(ft_json_int(r, "balance"), 0);
    ft_response_free(r);
    ck_assert_int_eq(sql_overdraft(n), 500);

    /* The bounds are accepted. */
    ft_create_account_with_overdraft(n, 0);
    ck_assert_int_eq(sql_overdraft(n), 0);
    ft_create_account_with_overdraft(n, FT_MAX_SAFE_CENTS);
    ck_assert_int_eq(sql_overdraft(n), FT_MAX_SAFE_CENTS);
    snprintf(path, sizeof path, "/api/accounts/%s", n);
    r = get_ok(path);
    ck_assert_int_eq(ft_json_int(r, "overdraft_limit"), FT_MAX_SAFE_CENTS);
    ft_response_free(r);
}
END_TEST

START_TEST(default_overdraft_limit_is_0_and_the_original_route_ignores_its_body) {
    const char *bodies[] = {NULL, "{}"};
    for (size_t i = 0; i < 2; i++) {
        struct ft_response *r = ft_http("POST", "/api/accounts", bodies[i]);
        ft_assert_status(r, 201);
        ft_assert_json(r);
        ck_assert_int_eq(ft_json_int(r, "overdraft_limit"), 0);
        ck_assert_int_eq(sql_overdraft(ft_json_str(r, "account_number")), 0);
        ft_response_free(r);
    }
    struct ft_response *r = ft_http("POST", "/api/accounts/create", "{\"overdraft_limit\": 500}");
    ft_assert_status(r, 200);
    ft_assert_json(r);
    ck_assert_int_eq(ft_json_int(r, "overdraft_limit"), 0);
    ck_assert_int_eq(sql_overdraft(ft_json_str(r, "account_number")), 0);
    ft_response_free(r);
    r = ft_http("POST", "/api/accounts/create", "not json, and ignored");
    ft_assert_status(r, 200);
    ft_response_free(r);
}
END_TEST

START_TEST(withdrawal_into_the_overdraft_goes_negative_and_beyond_it_is_409) {
    char n[FT_ACCOUNT_SIZE], path[256];
    ft_create_account_with_overdraft(n, 500);
    ft_move(n, "deposit", 100);
    expect_withdrawal(n, 400, -300);
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=201", n);
    expect_insufficient("POST", path, NULL, n);
    expect_withdrawal(n, 200, -500); /* exactly the limit */
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=1", n);
    expect_insufficient("PUT", path, NULL, n);

    /* Negative in every answer. */
    ck_assert_int_eq(ft_balance(n), -500);
    snprintf(path, sizeof path, "/api/accounts/%s", n);
    struct ft_response *r = get_ok(path);
    ck_assert_int_eq(ft_json_int(r, "balance"), -500);
    ck_assert_int_eq(ft_json_int(r, "overdraft_limit"), 500);
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?limit=1", n);
    r = get_ok(path);
    json_t *entry = json_array_get(json_object_get(r->json, "transactions"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(entry, "balance_after")), -500);
    ck_assert_int_eq(json_integer_value(json_object_get(entry, "amount")), -200);
    ft_response_free(r);
    ck_assert_int_eq(ft_move(n, "deposit", 50), -450);
    ck_assert_int_eq(ft_snapshot(n).balance_cents, -450);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(transfer_into_the_overdraft_is_allowed_up_to_the_limit) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], body[256];
    ft_create_account_with_overdraft(a, 1000);
    ft_create_account(b);
    transfer_body(body, sizeof body, a, b, 700);
    struct ft_response *r = ft_http("POST", "/api/transfers", body);
    ft_assert_status(r, 201);
    ft_assert_json(r);
    ck_assert_int_eq(ft_json_int(r, "from_balance"), -700);
    ck_assert_int_eq(ft_json_int(r, "to_balance"), 700);
    ft_response_free(r);
    transfer_body(body, sizeof body, a, b, 301);
    expect_insufficient("POST", "/api/transfers", body, a);
    ft_transfer(a, b, 300);
    ck_assert_int_eq(ft_balance(a), -1000);
    ck_assert_int_eq(ft_balance(b), 1000);
    /* b has no overdraft: it cannot give more than it has. */
    transfer_body(body, sizeof body, b, a, 1001);
    expect_insufficient("POST", "/api/transfers", body, b);
    ft_transfer(b, a, 1000);
    ck_assert_int_eq(ft_balance(a), 0);
    ck_assert_int_eq(ft_balance(b), 0);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(invalid_account_bodies_are_400_invalid_request_and_create_nothing) {
    const char *bodies[] = {"not json",
                            "{\"overdraft_limit\": 5",
                            "[]",
                            "[{\"overdraft_limit\": 5}]",
                            "\"x\"",
                            "5",
                            "null",
                            "{\"overdraft_limit\": 1, \"overdraft_limit\": 1}",
                            "{\"overdraft_limit\": 1, \"colour\": \"red\"}",
                            "{\"overdraft\": 1}",
                            "{\"overdraft_limit\": -1}",
                            "{\"overdraft_limit\": 9007199254740992}",
                            "{\"overdraft_limit\": 1.0}",
                            "{\"overdraft_limit\": 1e3}",
                            "{\"overdraft_limit\": \"5\"}",
                            "{\"overdraft_limit\": null}",
                            "{\"overdraft_limit\": true}",
                            "{\"overdraft_limit\": [5]}",
                            "{\"balance\": 1000}"};
    struct ft_snapshot before = ft_snapshot(NULL);
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct ft_response *r = ft_http("POST", "/api/accounts", bodies[i]);
        if (r->status != 400)
            ck_abort_msg("body %s: expected 400 invalid_request, got %ld %s", bodies[i], r->status,
                         r->body);
        ft_assert_error(r, 400, "invalid_request", NULL);
        ft_response_free(r);
    }
    ft_assert_unchanged(&before, NULL);
}
END_TEST

START_TEST(database_refuses_a_balance_below_minus_the_overdraft_limit) {
    char n[FT_ACCOUNT_SIZE], state[6];
    ft_create_account_with_overdraft(n, 500);
    ft_move(n, "deposit", 10);
    struct ft_snapshot before = ft_snapshot(n);
    const char *update = "UPDATE accounts SET balance_cents = $2::bigint WHERE account_number = $1";
    ck_assert_int_eq(ft_sql_try(state, update, n, "-501", (const char *)NULL), -1);
    ck_assert_str_eq(state, "23514"); /* check_violation */
    ck_assert_int_eq(ft_sql_try(state, update, n, "9007199254740992", (const char *)NULL), -1);
    ck_assert_str_eq(state, "23514");
    /* Lowering the limit under the balance is refused as well. */
    ft_sql_exec("BEGIN", (const char *)NULL);
    ft_sql_exec(update, n, "-500", (const char *)NULL); /* the limit itself is fine */
    ck_assert_int_eq(ft_sql_try(state,
                                "UPDATE accounts SET overdraft_limit_cents = 499 WHERE "
                                "account_number = $1",
                                n, (const char *)NULL),
                     -1);
    ck_assert_str_eq(state, "23514");
    ft_sql_exec("ROLLBACK", (const char *)NULL);
    const char *limit = "UPDATE accounts SET overdraft_limit_cents = $2::bigint WHERE "
                        "account_number = $1";
    ck_assert_int_eq(ft_sql_try(state, limit, n, "-1", (const char *)NULL), -1);
    ck_assert_str_eq(state, "23514");
    ck_assert_int_eq(ft_sql_try(state, limit, n, "9007199254740992", (const char *)NULL), -1);
    ck_assert_str_eq(state, "23514");
    ft_assert_unchanged(&before, n);
    ck_assert_int_eq(sql_overdraft(n), 500);
}
END_TEST

int main(void) {
    Suite *s = suite_create("overdraft");
    FT_ADD_TEST(s, account_created_with_an_overdraft_limit_shows_it_everywhere);
    FT_ADD_TEST(s, default_overdraft_limit_is_0_and_the_original_route_ignores_its_body);
    FT_ADD_TEST(s, withdrawal_into_the_overdraft_goes_negative_and_beyond_it_is_409);
    FT_ADD_TEST(s, transfer_into_the_overdraft_is_allowed_up_to_the_limit);
    FT_ADD_TEST(s, invalid_account_bodies_are_400_invalid_request_and_create_nothing);
    FT_ADD_TEST(s, database_refuses_a_balance_below_minus_the_overdraft_limit);
    return ft_main(s, 1, FT_API_DB_VARS, NULL);
}
