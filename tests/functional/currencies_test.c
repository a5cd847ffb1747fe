/* Currencies: every account holds one ISO 4217 currency, chosen when it is opened
 * ({"currency": "JPY"}, else MX_CURRENCY, EUR by default); every account, transfer, hold and
 * entry answer names it; amounts stay integers in its minor units; money moves only between
 * accounts of the same currency; an unknown or malformed code opens nothing. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* POST /api/accounts with body; asserts 201 and the currency, writes the number. */
static void open_in(char number[FT_ACCOUNT_SIZE], const char *currency) {
    char body[64];
    snprintf(body, sizeof body, "{\"currency\": \"%s\"}", currency);
    struct ft_response *r = ft_http("POST", "/api/accounts", body);
    ft_assert_status(r, 201);
    ck_assert_str_eq(ft_json_str(r, "currency"), currency);
    snprintf(number, FT_ACCOUNT_SIZE, "%s", ft_json_str(r, "account_number"));
    ft_response_free(r);
}

START_TEST(an_account_holds_the_currency_it_was_opened_with_and_every_answer_names_it) {
    char yen[FT_ACCOUNT_SIZE], path[256];
    open_in(yen, "JPY");
    const char *reads[] = {"", "/balance"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s%s", yen, reads[i]);
        struct ft_response *r = ft_http("GET", path, NULL);
        ft_assert_status(r, 200);
        ck_assert_str_eq(ft_json_str(r, "currency"), "JPY");
        ft_response_free(r);
    }
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=1500", yen);
    struct ft_response *r = ft_http("PUT", path, NULL);
    ft_assert_status(r, 200);
    ck_assert_str_eq(ft_json_str(r, "currency"), "JPY");
    ck_assert_int_eq(ft_json_int(r, "balance"), 1500); /* 1,500 yen: JPY has no minor unit */
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/holds", yen);
    r = ft_http("POST", path, "{\"sum\": 500}");
    ft_assert_status(r, 201);
    ck_assert_str_eq(ft_json_str(r, "currency"), "JPY");
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/transactions", yen);
    r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    json_t *entry = json_array_get(json_object_get(r->json, "transactions"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(entry, "currency")), "JPY");
    ft_response_free(r);

    /* Two accounts of one currency transfer, and the transfer names it. */
    char other[FT_ACCOUNT_SIZE], body[256];
    open_in(other, "JPY");
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 700}", yen, other);
    r = ft_http("POST", "/api/transfers", body);
    ft_assert_status(r, 201);
    ck_assert_str_eq(ft_json_str(r, "currency"), "JPY");
    ft_response_free(r);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(an_account_that_names_no_currency_gets_the_default) {
    struct ft_response *r = ft_http("POST", "/api/accounts/create", NULL);
    ft_assert_status(r, 200);
    ck_assert_str_eq(ft_json_str(r, "currency"), "EUR");
    ft_response_free(r);
    r = ft_http("POST", "/api/accounts", "{\"overdraft_limit\": 5}");
    ft_assert_status(r, 201);
    ck_assert_str_eq(ft_json_str(r, "currency"), "EUR");
    ft_response_free(r);

    /* MX_CURRENCY names the default; the original route's accounts get it too. */
    const char *env[] = {"MX_CURRENCY=KWD", NULL};
    struct ft_server *shared = ft_default_server();
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ft_set_default_server(server);
    r = ft_http("POST", "/api/accounts/create", NULL);
    ft_assert_status(r, 200);
    ck_assert_str_eq(ft_json_str(r, "currency"), "KWD");
    ft_response_free(r);
    ft_set_default_server(shared);
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

START_TEST(an_unknown_or_malformed_currency_is_400_and_opens_no_account) {
    int64_t before = ft_sql_int64("SELECT count(*) FROM accounts", (const char *)NULL);
    const char *bodies[] = {"{\"currency\": \"ZZZ\"}",  "{\"currency\": \"eur\"}",
                            "{\"currency\": \"EURO\"}", "{\"currency\": 978}",
                            "{\"currency\": \"XAU\"}",  "{\"currency\": \"\"}"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct ft_response *r = ft_http("POST", "/api/accounts", bodies[i]);
        ft_assert_error(r, 400, "invalid_request", NULL);
        ft_assert_error_field(r, "currency");
        ft_response_free(r);
    }
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM accounts", (const char *)NULL), before);
}
END_TEST

START_TEST(a_transfer_between_two_currencies_is_409_and_moves_nothing) {
    char euro[FT_ACCOUNT_SIZE], dollar[FT_ACCOUNT_SIZE], body[256];
    open_in(euro, "EUR");
    open_in(dollar, "USD");
    ft_move(euro, "deposit", 1000);
    ft_move(dollar, "deposit", 1000);
    struct ft_snapshot before = ft_snapshot(euro);
    const char *directions[][2] = {{euro, dollar}, {dollar, euro}};
    for (int i = 0; i < 2; i++) {
        snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 100}",
                 directions[i][0], directions[i][1]);
        ft_expect_error("POST", "/api/transfers", body, NULL, 409, "currency_mismatch", NULL);
        /* Keyed, the refusal is stored and replayed. */
        char key[32];
        snprintf(key, sizeof key, "mismatch-%d", i);
        ft_expect_error("POST", "/api/transfers", body, key, 409, "currency_mismatch", NULL);
        ft_expect_error("POST", "/api/transfers", body, key, 409, "currency_mismatch", NULL);
    }
    ft_assert_unchanged(&before, euro);
    ck_assert_int_eq(ft_balance(dollar), 1000);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(mx_currency_must_be_a_currency_the_database_knows) {
    const char *cases[][2] = {{"MX_CURRENCY=eur", "MX_CURRENCY must be an ISO 4217 code"},
                              {"MX_CURRENCY=EURO", "MX_CURRENCY must be an ISO 4217 code"},
                              {"MX_CURRENCY=ZZZ", "MX_CURRENCY ZZZ is not a currency"}};
    for (int i = 0; i < 3; i++) {
        const char *env[] = {cases[i][0], NULL};
        const char *argv[] = {MX_BINARY, NULL};
        char *out = NULL, *err = NULL;
        int status = ft_run_program(argv, FT_DATABASE_URL, ft_db(), env, &out, &err, 30);
        ck_assert_msg(status == 2, "%s: exit %d, stderr %s", cases[i][0], status, err);
        ck_assert_msg(strstr(err, cases[i][1]) != NULL, "%s: stderr %s", cases[i][0], err);
        free(out);
        free(err);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("currencies");
    FT_ADD_TEST(s, an_account_holds_the_currency_it_was_opened_with_and_every_answer_names_it);
    FT_ADD_TEST(s, an_account_that_names_no_currency_gets_the_default);
    FT_ADD_TEST(s, an_unknown_or_malformed_currency_is_400_and_opens_no_account);
    FT_ADD_TEST(s, a_transfer_between_two_currencies_is_409_and_moves_nothing);
    FT_ADD_TEST(s, mx_currency_must_be_a_currency_the_database_knows);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
