/* Accounts that are frozen, closed, or given another overdraft limit: an account is active until
 * an admin freezes it; a frozen
 * account takes no money in or out and still reads; unfreezing makes it active again; only an
 * account with a balance of exactly 0 can be closed, and a closed account is final. Every change
 * of status is a journal entry of amount 0 that the history shows, takes an Idempotency-Key like
 * any move, and the database refuses a closed account with money in it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* POST /api/accounts/<n>/<change> with no body (and the key unless NULL); the response. */
static struct ft_response *change(const char *number, const char *what, const char *key) {
    char path[256], line[300];
    snprintf(path, sizeof path, "/api/accounts/%s/%s", number, what);
    snprintf(line, sizeof line, "Idempotency-Key: %s", key != NULL ? key : "");
    const char *headers[] = {line, NULL};
    return ft_http_with_headers("POST", path, NULL, key != NULL ? headers : NULL);
}

/* Asserts that change answers 200 with the account in status, balance as given. */
static void expect_status(const char *number, const char *what, const char *status,
                          int64_t balance) {
    struct ft_response *r = change(number, what, NULL);
    ft_assert_status(r, 200);
    ft_assert_json(r);
    ck_assert_str_eq(ft_json_str(r, "account_number"), number);
    ck_assert_str_eq(ft_json_str(r, "status"), status);
    ck_assert_int_eq(ft_json_int(r, "balance"), balance);
    ck_assert_int_eq(ft_json_int(r, "overdraft_limit"), 0);
    ck_assert(ft_is_timestamp(ft_json_str(r, "created_at")));
    ft_response_free(r);
}

static const char *status_of(const char *number) {
    char path[256];
    static char status[16];
    snprintf(path, sizeof path, "/api/accounts/%s", number);
    struct ft_response *r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    snprintf(status, sizeof status, "%s", ft_json_str(r, "status"));
    ft_response_free(r);
    return status;
}

static int64_t entries_of(const char *number) {
    return ft_sql_int64("SELECT count(*) FROM entries e JOIN accounts a ON a.id = e.account_id "
                        "WHERE a.account_number = $1",
                        number, (const char *)NULL);
}

/* Every way money could move in or out of number is refused with code, and changes nothing. */
static void expect_no_money_moves(const char *number, const char *other, const char *code) {
    char path[256], body[256];
    struct ft_snapshot before = ft_snapshot(number);
    const char *moves[] = {"deposit", "withdraw"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s/%s?sum=1", number, moves[i]);
        ft_expect_error("PUT", path, NULL, NULL, 409, code, NULL);
        snprintf(path, sizeof path, "/api/accounts/%s/%s", number, moves[i]);
        ft_expect_error("POST", path, "{\"sum\": 1}", NULL, 409, code, NULL);
    }
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 1}", number, other);
    ft_expect_error("POST", "/api/transfers", body, NULL, 409, code, NULL);
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 1}", other, number);
    ft_expect_error("POST", "/api/transfers", body, NULL, 409, code, NULL);
    ft_assert_unchanged(&before, number);
}

START_TEST(a_new_account_is_active_and_every_account_answer_shows_its_status) {
    struct ft_response *r = ft_http("POST", "/api/accounts", NULL);
    ft_assert_status(r, 201);
    ck_assert_str_eq(ft_json_str(r, "status"), "active");
    char n[FT_ACCOUNT_SIZE];
    snprintf(n, sizeof n, "%s", ft_json_str(r, "account_number"));
    ft_response_free(r);
    ck_assert_str_eq(status_of(n), "active");
    r = ft_http("POST", "/api/accounts/create", NULL);
    ft_assert_status(r, 200);
    ck_assert_str_eq(ft_json_str(r, "status"), "active");
    ft_response_free(r);
}
END_TEST

START_TEST(a_frozen_account_refuses_every_move_in_or_out_and_still_reads) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(a);
    ft_create_account(b);
    ft_move(a, "deposit", 700);
    ft_move(b, "deposit", 300);
    expect_status(a, "freeze", "frozen", 700);
    ck_assert_str_eq(status_of(a), "frozen");
    expect_no_money_moves(a, b, "account_frozen");
    ck_assert_int_eq(ft_balance(a), 700);

    /* The history shows the freeze, newest first, with amount 0 and the balance it kept. */
    snprintf(path, sizeof path, "/api/accounts/%s/transactions", a);
    struct ft_response *r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    json_t *first = json_array_get(json_object_get(r->json, "transactions"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(first, "type")), "freeze");
    ck_assert_int_eq(json_integer_value(json_object_get(first, "amount")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(first, "balance_after")), 700);
    ft_response_free(r);

    expect_status(a, "unfreeze", "active", 700);
    ck_assert_int_eq(ft_move(a, "withdraw", 200), 500);
    ck_assert_int_eq(ft_transfer(b, a, 100) > 0, 1);
    ck_assert_int_eq(ft_balance(a), 600);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(freezing_a_frozen_or_unfreezing_an_active_account_changes_nothing) {
    char a[FT_ACCOUNT_SIZE];
    ft_create_account(a);
    expect_status(a, "unfreeze", "active", 0);
    ck_assert_int_eq(entries_of(a), 0);
    expect_status(a, "freeze", "frozen", 0);
    expect_status(a, "freeze", "frozen", 0);
    ck_assert_int_eq(entries_of(a), 1);
    expect_status(a, "unfreeze", "active", 0);
    ck_assert_int_eq(entries_of(a), 2);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(only_an_account_with_a_balance_of_exactly_0_can_be_closed) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE];
    ft_create_account(a);
    ft_create_account_with_overdraft(b, 1000);
    ft_move(a, "deposit", 500);
    struct ft_snapshot before = ft_snapshot(a);
    struct ft_response *r = change(a, "close", NULL);
    ft_assert_error(
        r, 409, "account_not_empty",
        "only an account with a balance of exactly 0 and no pending hold can be closed");
    ft_response_free(r);
    ft_assert_unchanged(&before, a);
    /* Below zero is not empty either. */
    ft_move(b, "withdraw", 1);
    r = change(b, "close", NULL);
    ft_assert_error(r, 409, "account_not_empty", NULL);
    ft_response_free(r);

    ft_move(a, "withdraw", 500);
    expect_status(a, "close", "closed", 0);
    ck_assert_str_eq(status_of(a), "closed");
    /* The database refuses money in a closed account, whoever writes it. */
    char sqlstate[6];
    ck_assert_int_eq(ft_sql_try(sqlstate,
                                "UPDATE accounts SET balance_cents = 1 WHERE account_number = $1",
                                a, (const char *)NULL),
                     -1);
    ck_assert_str_eq(sqlstate, "23514");
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(a_closed_account_is_final) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE];
    ft_create_account(a);
    ft_create_account(b);
    ft_move(b, "deposit", 100);
    expect_status(a, "freeze", "frozen", 0);
    /* A frozen account may be closed. */
    expect_status(a, "close", "closed", 0);
    expect_no_money_moves(a, b, "account_closed");
    struct ft_snapshot before = ft_snapshot(a);
    const char *changes[] = {"freeze", "unfreeze", "close"};
    for (size_t i = 0; i < 3; i++) {
        struct ft_response *r = change(a, changes[i], NULL);
        ft_assert_error(r, 409, "account_closed", NULL);
        ft_response_free(r);
    }
    ft_assert_unchanged(&before, a);
    ck_assert_str_eq(status_of(a), "closed");
    ck_assert_int_eq(ft_balance(a), 0);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(a_status_change_takes_an_idempotency_key_like_a_move) {
    char a[FT_ACCOUNT_SIZE];
    ft_create_account(a);
    ft_move(a, "deposit", 40);
    struct ft_response *first = change(a, "freeze", "freeze-once");
    ft_assert_status(first, 200);
    ck_assert_str_eq(ft_json_str(first, "status"), "frozen");
    ft_assert_not_replayed(first);
    expect_status(a, "unfreeze", "active", 40);
    /* Sent again, the stored answer -- frozen, though the account is active now -- and no second
     * freeze. */
    struct ft_response *again = change(a, "freeze", "freeze-once");
    ft_assert_replay_of(first, again);
    ck_assert_str_eq(status_of(a), "active");
    ck_assert_int_eq(entries_of(a), 3);
    ft_response_free(again);
    ft_response_free(first);

    /* The same key for another request is 422; a refusal is stored and replayed too. */
    struct ft_response *r = change(a, "close", "freeze-once");
    ft_assert_error(r, 422, "idempotency_key_reused", NULL);
    ft_response_free(r);
    first = change(a, "close", "close-once");
    ft_assert_error(first, 409, "account_not_empty", NULL);
    ft_move(a, "withdraw", 40);
    again = change(a, "close", "close-once");
    ft_assert_replay_of(first, again);
    ck_assert_str_eq(status_of(a), "active");
    ft_response_free(again);
    ft_response_free(first);

    /* A change that changed nothing is remembered as such. */
    first = change(a, "unfreeze", "unfreeze-active");
    ft_assert_status(first, 200);
    again = change(a, "unfreeze", "unfreeze-active");
    ft_assert_replay_of(first, again);
    ft_response_free(again);
    ft_response_free(first);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(a_status_change_takes_no_input_and_needs_a_known_account) {
    char a[FT_ACCOUNT_SIZE], typo[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(a);
    snprintf(path, sizeof path, "/api/accounts/%s/freeze", a);
    struct ft_snapshot before = ft_snapshot(a);
    struct ft_response *r = ft_http("POST", path, "{\"reason\": \"fraud\"}");
    ft_assert_error(r, 400, "invalid_request", NULL);
    ft_assert_error_field(r, "reason");
    ft_response_free(r);
    r = ft_http("POST", path, "[]");
    ft_assert_error(r, 400, "invalid_request", NULL);
    ft_response_free(r);
    ft_assert_unchanged(&before, a);
    ck_assert_str_eq(status_of(a), "active");
    r = ft_http("POST", path, "{}");
    ft_assert_status(r, 200);
    ck_assert_str_eq(ft_json_str(r, "status"), "frozen");
    ft_response_free(r);

    ft_mistype(a, typo);
    r = change(typo, "unfreeze", NULL);
    ft_assert_error(r, 404, "account_not_found", NULL);
    ft_response_free(r);
    r = change("4000000000000002", "close", "unknown-close");
    ft_assert_error(r, 404, "account_not_found", NULL);
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/freeze", a);
    r = ft_http("GET", path, NULL);
    ft_assert_error(r, 405, "method_not_allowed", NULL);
    ft_response_free(r);
}
END_TEST

/* A freeze racing with deposits: each deposit lands before it, whole, or is refused, and the
 * journal and the balance agree on which. */
START_TEST(deposits_racing_a_freeze_land_before_it_or_are_refused) {
    enum { CALLS = 24 };
    char a[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(a);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=10", a);
    struct ft_call *calls[CALLS];
    for (int i = 0; i < CALLS; i++) {
        calls[i] = ft_call_start("PUT", path, NULL, NULL);
        if (i == CALLS / 2) {
            struct ft_response *r = change(a, "freeze", NULL);
            ft_assert_status(r, 200);
            ft_response_free(r);
        }
    }
    int64_t landed = 0;
    for (int i = 0; i < CALLS; i++) {
        struct ft_response *r = ft_call_finish(calls[i]);
        if (r->status == 200)
            landed++;
        else
            ft_assert_error(r, 409, "account_frozen", NULL);
        ft_response_free(r);
    }
    ck_assert_int_eq(ft_balance(a), 10 * landed);
    ck_assert_str_eq(status_of(a), "frozen");
    /* The freeze is the newest entry: nothing landed after it. */
    ck_assert_str_eq(ft_sql_text("SELECT e.kind FROM entries e JOIN accounts a ON a.id = "
                                 "e.account_id WHERE a.account_number = $1 ORDER BY e.id DESC "
                                 "LIMIT 1",
                                 a, (const char *)NULL),
                     "freeze");
    ft_assert_ledger_invariants();
}
END_TEST

/* PATCH path {"overdraft_limit": limit} (the key unless NULL); the response. */
static struct ft_response *set_limit(const char *number, const char *body, const char *key) {
    char path[256], line[300];
    snprintf(path, sizeof path, "/api/accounts/%s", number);
    snprintf(line, sizeof line, "Idempotency-Key: %s", key != NULL ? key : "");
    const char *headers[] = {line, NULL};
    return ft_http_with_headers("PATCH", path, body, key != NULL ? headers : NULL);
}

START_TEST(the_overdraft_limit_changes_unless_the_available_balance_is_already_below_it) {
    char a[FT_ACCOUNT_SIZE], path[256];
    ft_create_account_with_overdraft(a, 500);
    ck_assert_int_eq(ft_move(a, "withdraw", 300), -300);
    struct ft_snapshot before = ft_snapshot(a);
    struct ft_response *r = set_limit(a, "{\"overdraft_limit\": 299}", NULL);
    ft_assert_error(r, 409, "insufficient_funds", NULL);
    ft_response_free(r);
    ft_assert_unchanged(&before, a);
    r = set_limit(a, "{\"overdraft_limit\": 300}", NULL);
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "overdraft_limit"), 300);
    ck_assert_int_eq(ft_json_int(r, "balance"), -300);
    ck_assert_str_eq(ft_json_str(r, "status"), "active");
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=1", a);
    ft_expect_error("PUT", path, NULL, NULL, 409, "insufficient_funds", NULL);

    /* Keyed, its replay shows the limit it set, whatever came after. */
    struct ft_response *first = set_limit(a, "{\"overdraft_limit\": 1000}", "limit-once");
    ft_assert_status(first, 200);
    ck_assert_int_eq(ft_json_int(first, "overdraft_limit"), 1000);
    ck_assert_int_eq(ft_move(a, "withdraw", 200), -500);
    r = set_limit(a, "{\"overdraft_limit\": 600}", NULL);
    ft_assert_status(r, 200);
    ft_response_free(r);
    struct ft_response *again = set_limit(a, "{\"overdraft_limit\": 1000}", "limit-once");
    ft_assert_status(again, 200);
    ck_assert(ft_is_replayed(again));
    ck_assert_int_eq(ft_json_int(again, "overdraft_limit"), 1000);
    ck_assert_int_eq(ft_json_int(again, "balance"), -300);
    ft_response_free(again);
    ft_response_free(first);
    ck_assert_int_eq(ft_sql_int64("SELECT overdraft_limit_cents FROM accounts WHERE "
                                  "account_number = $1",
                                  a, (const char *)NULL),
                     600);

    /* A keyed opening's replay shows the limit it opened with, whatever came after. */
    first = ft_http_with_headers("POST", "/api/accounts", "{\"overdraft_limit\": 70}",
                                 (const char *[]){"Idempotency-Key: open-once", NULL});
    ft_assert_status(first, 201);
    char opened[FT_ACCOUNT_SIZE];
    snprintf(opened, sizeof opened, "%s", ft_json_str(first, "account_number"));
    r = set_limit(opened, "{\"overdraft_limit\": 90}", NULL);
    ft_assert_status(r, 200);
    ft_response_free(r);
    again = ft_http_with_headers("POST", "/api/accounts", "{\"overdraft_limit\": 70}",
                                 (const char *[]){"Idempotency-Key: open-once", NULL});
    ft_assert_replay_of(first, again);
    ft_response_free(again);
    ft_response_free(first);

    /* The input, named; a closed account keeps its limit. */
    const char *bad[] = {NULL,
                         "{}",
                         "{\"overdraft_limit\": -1}",
                         "{\"overdraft_limit\": 1.5}",
                         "{\"overdraft_limit\": 9007199254740992}",
                         "{\"overdraft_limit\": 5, \"x\": 1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = set_limit(a, bad[i], NULL);
        ft_assert_error(r, 400, "invalid_request", NULL);
        ft_response_free(r);
    }
    char c[FT_ACCOUNT_SIZE];
    ft_create_account(c);
    r = change(c, "close", NULL);
    ft_response_free(r);
    r = set_limit(c, "{\"overdraft_limit\": 5}", NULL);
    ft_assert_error(r, 409, "account_closed", NULL);
    ft_response_free(r);
    ft_assert_ledger_invariants();
}
END_TEST

int main(void) {
    Suite *s = suite_create("lifecycle");
    FT_ADD_TEST(s, a_new_account_is_active_and_every_account_answer_shows_its_status);
    FT_ADD_TEST(s, a_frozen_account_refuses_every_move_in_or_out_and_still_reads);
    FT_ADD_TEST(s, freezing_a_frozen_or_unfreezing_an_active_account_changes_nothing);
    FT_ADD_TEST(s, only_an_account_with_a_balance_of_exactly_0_can_be_closed);
    FT_ADD_TEST(s, a_closed_account_is_final);
    FT_ADD_TEST(s, a_status_change_takes_an_idempotency_key_like_a_move);
    FT_ADD_TEST(s, a_status_change_takes_no_input_and_needs_a_known_account);
    FT_ADD_TEST(s, deposits_racing_a_freeze_land_before_it_or_are_refused);
    FT_ADD_TEST(s, the_overdraft_limit_changes_unless_the_available_balance_is_already_below_it);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
