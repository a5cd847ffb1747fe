/* Holds: a hold reserves part of an account's balance; the available balance (balance minus
 * the pending holds that have not expired) is what withdrawals, transfers out and new holds may
 * use. A capture debits at most the sum held and releases the rest, a void releases it all, and
 * a hold past its expiry no longer counts, from that instant, and can no longer be settled.
 * Races are decided under the account's lock, never by luck: concurrent holds never exceed the
 * available balance, a capture and a void of one hold never both win, a capture and a withdrawal
 * never overdraw. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* POST body to path with the key (NULL: none); the response. */
static struct ft_response *post(const char *path, const char *body, const char *key) {
    char line[300];
    snprintf(line, sizeof line, "Idempotency-Key: %s", key != NULL ? key : "");
    const char *headers[] = {line, NULL};
    return ft_http_with_headers("POST", path, body, key != NULL ? headers : NULL);
}

/* A new hold of sum on number for seconds; asserts 201 and returns its id. */
static int64_t hold(const char *number, int64_t sum, int seconds) {
    char path[256], body[128], location[128], expected[128];
    snprintf(path, sizeof path, "/api/accounts/%s/holds", number);
    snprintf(body, sizeof body, "{\"sum\": %" PRId64 ", \"expires_in\": %d}", sum, seconds);
    struct ft_response *r = post(path, body, NULL);
    ft_assert_status(r, 201);
    ft_assert_json(r);
    int64_t id = ft_json_int(r, "id");
    ck_assert_str_eq(ft_json_str(r, "account_number"), number);
    ck_assert_int_eq(ft_json_int(r, "sum"), sum);
    ck_assert_int_eq(ft_json_int(r, "captured"), 0);
    ck_assert_str_eq(ft_json_str(r, "status"), "pending");
    ck_assert(ft_is_timestamp(ft_json_str(r, "expires_at")));
    ck_assert(ft_is_timestamp(ft_json_str(r, "created_at")));
    snprintf(expected, sizeof expected, "/api/holds/%" PRId64, id);
    ck_assert_ptr_nonnull(ft_header(r, "Location", location, sizeof location));
    ck_assert_str_eq(location, expected);
    ft_response_free(r);
    return id;
}

static struct ft_response *settle(int64_t id, const char *how, const char *body, const char *key) {
    char path[128];
    snprintf(path, sizeof path, "/api/holds/%" PRId64 "/%s", id, how);
    return post(path, body, key);
}

static int64_t available(const char *number) {
    char path[256];
    snprintf(path, sizeof path, "/api/accounts/%s/balance", number);
    struct ft_response *r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    int64_t cents = ft_json_int(r, "available_balance");
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s", number);
    r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "available_balance"), cents);
    ft_response_free(r);
    return cents;
}

static const char *hold_status(int64_t id) {
    static char status[16];
    char path[128];
    snprintf(path, sizeof path, "/api/holds/%" PRId64, id);
    struct ft_response *r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    snprintf(status, sizeof status, "%s", ft_json_str(r, "status"));
    ft_response_free(r);
    return status;
}

static void funded(char number[FT_ACCOUNT_SIZE], int64_t cents) {
    ft_create_account(number);
    ft_move(number, "deposit", cents);
}

START_TEST(a_hold_reduces_the_available_balance_not_the_balance) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], path[256], body[256];
    funded(a, 1000);
    ft_create_account(b);
    hold(a, 300, 3600);
    ck_assert_int_eq(ft_balance(a), 1000);
    ck_assert_int_eq(available(a), 700);

    /* Out of the account: at most the available balance. */
    struct ft_snapshot before = ft_snapshot(a);
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=701", a);
    ft_expect_error("PUT", path, NULL, NULL, 409, "insufficient_funds", NULL);
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 701}", a, b);
    ft_expect_error("POST", "/api/transfers", body, NULL, 409, "insufficient_funds", NULL);
    snprintf(path, sizeof path, "/api/accounts/%s/holds", a);
    ft_expect_error("POST", path, "{\"sum\": 701}", NULL, 409, "insufficient_funds", NULL);
    ft_assert_unchanged(&before, a);

    /* Deposits never need it; every answer that shows the balance shows the available one. */
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=50", a);
    struct ft_response *r = ft_http("PUT", path, NULL);
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "balance"), 1050);
    ck_assert_int_eq(ft_json_int(r, "available_balance"), 750);
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=750", a);
    r = ft_http("PUT", path, NULL);
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "balance"), 300);
    ck_assert_int_eq(ft_json_int(r, "available_balance"), 0);
    ft_response_free(r);
    r = ft_http("POST", "/api/accounts", NULL);
    ft_assert_status(r, 201);
    ck_assert_int_eq(ft_json_int(r, "available_balance"), 0);
    ft_response_free(r);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(a_capture_debits_at_most_the_sum_held_and_releases_the_rest) {
    char a[FT_ACCOUNT_SIZE], path[256];
    funded(a, 1000);
    int64_t id = hold(a, 300, 3600);
    struct ft_snapshot before = ft_snapshot(a);
    struct ft_response *r = settle(id, "capture", "{\"sum\": 301}", NULL);
    ft_assert_error(r, 400, "invalid_sum", "sum must be at most 300, the sum the hold keeps");
    ft_assert_error_field(r, "sum");
    ft_response_free(r);
    ft_assert_unchanged(&before, a);

    r = settle(id, "capture", "{\"sum\": 250}", NULL);
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "id"), id);
    ck_assert_str_eq(ft_json_str(r, "status"), "captured");
    ck_assert_int_eq(ft_json_int(r, "sum"), 300);
    ck_assert_int_eq(ft_json_int(r, "captured"), 250);
    ft_response_free(r);
    ck_assert_int_eq(ft_balance(a), 750);
    ck_assert_int_eq(available(a), 750);
    ck_assert_str_eq(hold_status(id), "captured");

    /* The journal entry of the capture names its hold. */
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?limit=1", a);
    r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    json_t *entry = json_array_get(json_object_get(r->json, "transactions"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(entry, "type")), "capture");
    ck_assert_int_eq(json_integer_value(json_object_get(entry, "amount")), -250);
    ck_assert_int_eq(json_integer_value(json_object_get(entry, "hold_id")), id);
    ft_response_free(r);

    /* Without a sum, the whole sum held. */
    int64_t whole = hold(a, 100, 3600);
    r = settle(whole, "capture", NULL, NULL);
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "captured"), 100);
    ft_response_free(r);
    ck_assert_int_eq(ft_balance(a), 650);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(a_void_releases_the_sum_and_writes_no_entry) {
    char a[FT_ACCOUNT_SIZE];
    funded(a, 500);
    int64_t id = hold(a, 500, 3600);
    ck_assert_int_eq(available(a), 0);
    struct ft_snapshot before = ft_snapshot(a);
    struct ft_response *r = settle(id, "void", NULL, NULL);
    ft_assert_status(r, 200);
    ck_assert_str_eq(ft_json_str(r, "status"), "voided");
    ck_assert_int_eq(ft_json_int(r, "captured"), 0);
    ft_response_free(r);
    ft_assert_unchanged(&before, a);
    ck_assert_int_eq(available(a), 500);
    /* Settled is settled. */
    const char *hows[] = {"capture", "void"};
    for (int i = 0; i < 2; i++) {
        r = settle(id, hows[i], NULL, NULL);
        ft_assert_error(r, 409, "hold_not_pending", NULL);
        ft_response_free(r);
    }
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(an_expired_hold_no_longer_counts_and_can_no_longer_be_settled) {
    char a[FT_ACCOUNT_SIZE], path[256];
    funded(a, 400);
    int64_t id = hold(a, 400, 1);
    /* Expiry is a comparison with the clock, not a sweep: wait (bounded) until it shows. */
    double deadline = ft_now() + 10;
    while (strcmp(hold_status(id), "expired") != 0 && ft_now() < deadline)
        ft_pause_ms(100);
    ck_assert_str_eq(hold_status(id), "expired");
    ck_assert_int_eq(available(a), 400);
    ck_assert_int_eq(ft_move(a, "withdraw", 400), 0);
    const char *hows[] = {"capture", "void"};
    for (int i = 0; i < 2; i++) {
        struct ft_response *r = settle(id, hows[i], NULL, NULL);
        ft_assert_error(r, 409, "hold_not_pending", NULL);
        ft_response_free(r);
    }
    snprintf(path, sizeof path, "/api/accounts/%s/holds?status=expired", a);
    struct ft_response *r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(r->json, "holds")), 1);
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/holds?status=pending", a);
    r = ft_http("GET", path, NULL);
    ck_assert_uint_eq(json_array_size(json_object_get(r->json, "holds")), 0);
    ft_response_free(r);
    ft_assert_ledger_invariants();
}
END_TEST

/* A capture that waited for its account's lock while the hold expired finds it expired: expiry
 * is counted from the instant the locks are held, not from when the request began to wait. */
START_TEST(a_hold_that_expires_while_its_capture_waits_for_the_lock_is_not_captured) {
    char a[FT_ACCOUNT_SIZE], path[128];
    funded(a, 500);
    int64_t id = hold(a, 100, 1);
    ft_hold_account(a);
    snprintf(path, sizeof path, "/api/holds/%" PRId64 "/capture", id);
    struct ft_call *call = ft_call_start("POST", path, NULL, NULL);
    ck_assert(ft_await_lock_waiters(1, 10));
    double deadline = ft_now() + 10;
    while (strcmp(hold_status(id), "expired") != 0 && ft_now() < deadline)
        ft_pause_ms(100);
    ck_assert_str_eq(hold_status(id), "expired");
    ft_release_account();
    struct ft_response *r = ft_call_finish(call);
    ft_assert_error(r, 409, "hold_not_pending", NULL);
    ft_response_free(r);
    ck_assert_int_eq(ft_balance(a), 500);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(sixteen_concurrent_holds_of_100_on_1000_available_exactly_ten_succeed) {
    enum { CALLS = 16 };
    char a[FT_ACCOUNT_SIZE], path[256];
    funded(a, 1000);
    snprintf(path, sizeof path, "/api/accounts/%s/holds", a);
    struct ft_call *calls[CALLS];
    for (int i = 0; i < CALLS; i++)
        calls[i] = ft_call_start("POST", path, "{\"sum\": 100}", NULL);
    int made = 0;
    for (int i = 0; i < CALLS; i++) {
        struct ft_response *r = ft_call_finish(calls[i]);
        if (r->status == 201)
            made++;
        else
            ft_assert_error(r, 409, "insufficient_funds", NULL);
        ft_response_free(r);
    }
    ck_assert_int_eq(made, 10);
    ck_assert_int_eq(available(a), 0);
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM holds h JOIN accounts a ON a.id = "
                                  "h.account_id WHERE a.account_number = $1",
                                  a, (const char *)NULL),
                     10);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(a_capture_and_a_void_of_one_hold_racing_exactly_one_wins) {
    char a[FT_ACCOUNT_SIZE], path[2][128];
    funded(a, 10000);
    for (int round = 0; round < 10; round++) {
        int64_t id = hold(a, 100, 3600);
        snprintf(path[0], sizeof path[0], "/api/holds/%" PRId64 "/capture", id);
        snprintf(path[1], sizeof path[1], "/api/holds/%" PRId64 "/void", id);
        struct ft_call *capture = ft_call_start("POST", path[round % 2], NULL, NULL);
        struct ft_call *other = ft_call_start("POST", path[(round + 1) % 2], NULL, NULL);
        struct ft_response *r[2] = {ft_call_finish(capture), ft_call_finish(other)};
        int wins = 0;
        for (int i = 0; i < 2; i++) {
            if (r[i]->status == 200)
                wins++;
            else
                ft_assert_error(r[i], 409, "hold_not_pending", NULL);
            ft_response_free(r[i]);
        }
        ck_assert_int_eq(wins, 1);
        ck_assert_str_ne(hold_status(id), "pending");
    }
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(a_capture_racing_a_withdrawal_never_takes_more_than_the_balance) {
    char a[FT_ACCOUNT_SIZE], path[128], capture[128];
    for (int round = 0; round < 8; round++) {
        funded(a, 1000);
        int64_t id = hold(a, 600, 3600);
        snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=500", a);
        snprintf(capture, sizeof capture, "/api/holds/%" PRId64 "/capture", id);
        struct ft_call *w = ft_call_start("PUT", path, NULL, NULL);
        struct ft_call *c = ft_call_start("POST", capture, NULL, NULL);
        struct ft_response *withdrawal = ft_call_finish(w), *captured = ft_call_finish(c);
        /* The capture always has its 600; the withdrawal of 500 never fits beside it. */
        ft_assert_status(captured, 200);
        ft_assert_error(withdrawal, 409, "insufficient_funds", NULL);
        ft_response_free(withdrawal);
        ft_response_free(captured);
        ck_assert_int_eq(ft_balance(a), 400);
    }
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(a_frozen_account_takes_no_new_hold_but_settles_earlier_ones) {
    char a[FT_ACCOUNT_SIZE], path[256];
    funded(a, 1000);
    int64_t first = hold(a, 100, 3600), second = hold(a, 200, 3600);
    snprintf(path, sizeof path, "/api/accounts/%s/freeze", a);
    struct ft_response *r = ft_http("POST", path, NULL);
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "available_balance"), 700);
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/holds", a);
    ft_expect_error("POST", path, "{\"sum\": 1}", NULL, 409, "account_frozen", NULL);
    r = settle(first, "capture", NULL, NULL);
    ft_assert_status(r, 200);
    ft_response_free(r);
    ck_assert_int_eq(ft_balance(a), 900);

    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=700", a);
    ft_expect_error("PUT", path, NULL, NULL, 409, "account_frozen", NULL);
    snprintf(path, sizeof path, "/api/accounts/%s/unfreeze", a);
    r = ft_http("POST", path, NULL);
    ft_assert_status(r, 200);
    ft_response_free(r);
    ck_assert_int_eq(ft_move(a, "withdraw", 700), 200);

    r = settle(second, "capture", "{\"sum\": 150}", NULL);
    ft_assert_status(r, 200);
    ft_response_free(r);
    ck_assert_int_eq(ft_move(a, "withdraw", 50), 0);

    /* An account with a pending hold is not empty, even at a balance of 0. */
    char b[FT_ACCOUNT_SIZE];
    ft_create_account_with_overdraft(b, 100);
    int64_t third = hold(b, 50, 3600);
    snprintf(path, sizeof path, "/api/accounts/%s/close", b);
    ft_expect_error("POST", path, NULL, NULL, 409, "account_not_empty", NULL);
    r = settle(third, "void", NULL, NULL);
    ft_assert_status(r, 200);
    ft_response_free(r);
    r = ft_http("POST", path, NULL);
    ft_assert_status(r, 200);
    ck_assert_str_eq(ft_json_str(r, "status"), "closed");
    ft_response_free(r);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(hold_requests_take_an_idempotency_key_like_a_move) {
    char a[FT_ACCOUNT_SIZE], path[256];
    funded(a, 1000);
    snprintf(path, sizeof path, "/api/accounts/%s/holds", a);
    struct ft_response *first = post(path, "{\"sum\": 300, \"expires_in\": 600}", "hold-once");
    ft_assert_status(first, 201);
    struct ft_response *again = post(path, "{\"expires_in\": 600, \"sum\": 300}", "hold-once");
    ft_assert_replay_of(first, again);
    int64_t id = ft_json_int(first, "id");
    ft_response_free(again);
    ft_response_free(first);
    ck_assert_int_eq(available(a), 700);
    struct ft_response *r = post(path, "{\"sum\": 301, \"expires_in\": 600}", "hold-once");
    ft_assert_error(r, 422, "idempotency_key_reused", NULL);
    ft_response_free(r);

    /* A capture's replay is the hold as the capture left it, and the money moved once. */
    first = settle(id, "capture", "{\"sum\": 120}", "capture-once");
    ft_assert_status(first, 200);
    again = settle(id, "capture", "{\"sum\": 120}", "capture-once");
    ft_assert_replay_of(first, again);
    ft_response_free(again);
    ft_response_free(first);
    ck_assert_int_eq(ft_balance(a), 880);
    r = settle(id, "capture", "{\"sum\": 121}", "capture-once");
    ft_assert_error(r, 422, "idempotency_key_reused", NULL);
    ft_response_free(r);

    /* A void's, and a refusal's. */
    int64_t other = hold(a, 50, 600);
    first = settle(other, "void", NULL, "void-once");
    ft_assert_status(first, 200);
    again = settle(other, "void", NULL, "void-once");
    ft_assert_replay_of(first, again);
    ft_response_free(again);
    ft_response_free(first);
    first = settle(other, "capture", NULL, "capture-voided");
    ft_assert_error(first, 409, "hold_not_pending", NULL);
    again = settle(other, "capture", NULL, "capture-voided");
    ft_assert_replay_of(first, again);
    ft_response_free(again);
    ft_response_free(first);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(a_hold_request_names_the_input_at_fault_and_changes_nothing) {
    char a[FT_ACCOUNT_SIZE], path[256];
    funded(a, 1000);
    snprintf(path, sizeof path, "/api/accounts/%s/holds", a);
    struct ft_snapshot before = ft_snapshot(a);
    const struct {
        const char *body, *code, *field;
    } bad[] = {
        {"{}", "invalid_sum", "sum"},
        {"{\"sum\": 0}", "invalid_sum", "sum"},
        {"{\"sum\": 10.5}", "invalid_sum", "sum"},
        {"{\"sum\": 10, \"expires_in\": 0}", "invalid_request", "expires_in"},
        {"{\"sum\": 10, \"expires_in\": 2592001}", "invalid_request", "expires_in"},
        {"{\"sum\": 10, \"expires_in\": \"1h\"}", "invalid_request", "expires_in"},
        {"{\"sum\": 10, \"memo\": \"x\"}", "invalid_request", "memo"},
        {NULL, "invalid_request", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ft_response *r = post(path, bad[i].body, NULL);
        ft_assert_error(r, 400, bad[i].code, NULL);
        ft_assert_error_field(r, bad[i].field);
        ft_response_free(r);
    }
    ft_assert_unchanged(&before, a);
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM holds h JOIN accounts a ON a.id = "
                                  "h.account_id WHERE a.account_number = $1",
                                  a, (const char *)NULL),
                     0);
    /* The longest hold is 30 days. */
    struct ft_response *r = post(path, "{\"sum\": 10, \"expires_in\": 2592000}", NULL);
    ft_assert_status(r, 201);
    ft_response_free(r);

    const char *unknown[] = {"/api/holds/0", "/api/holds/007", "/api/holds/x",
                             "/api/holds/9007199254740991", "/api/holds/9007199254740992"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        r = ft_http("GET", unknown[i], NULL);
        ft_assert_error(r, 404, "hold_not_found", NULL);
        ft_response_free(r);
    }
    r = post("/api/holds/9007199254740991/capture", NULL, NULL);
    ft_assert_error(r, 404, "hold_not_found", NULL);
    ft_response_free(r);
    r = post("/api/holds/9007199254740991/void", "{\"sum\": 1}", NULL);
    ft_assert_error(r, 400, "invalid_request", NULL);
    ft_assert_error_field(r, "sum");
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/holds?status=open", a);
    r = ft_http("GET", path, NULL);
    ft_assert_error(r, 400, "invalid_request", NULL);
    ft_assert_error_field(r, "status");
    ft_response_free(r);
    r = ft_http("GET", "/api/accounts/0000000000000000/holds", NULL);
    ft_assert_error(r, 404, "account_not_found", NULL);
    ft_response_free(r);
}
END_TEST

START_TEST(the_list_pages_through_an_accounts_holds_newest_first) {
    char a[FT_ACCOUNT_SIZE], path[256];
    funded(a, 1000);
    int64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = hold(a, 10 + i, 3600);
    struct ft_response *r = settle(ids[1], "void", NULL, NULL);
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/holds?limit=2&status=pending", a);
    int64_t seen[5];
    int count = 0;
    for (int page = 0; page < 5 && path[0] != '\0'; page++) {
        r = ft_http("GET", path, NULL);
        ft_assert_status(r, 200);
        json_t *list = json_object_get(r->json, "holds");
        for (size_t i = 0; i < json_array_size(list) && count < 5; i++)
            seen[count++] = json_integer_value(json_object_get(json_array_get(list, i), "id"));
        json_t *next = json_object_get(r->json, "next");
        snprintf(path, sizeof path, "%s", json_is_string(next) ? json_string_value(next) : "");
        ft_response_free(r);
    }
    ck_assert_int_eq(count, 4);
    ck_assert_int_eq(seen[0], ids[4]);
    ck_assert_int_eq(seen[1], ids[3]);
    ck_assert_int_eq(seen[2], ids[2]);
    ck_assert_int_eq(seen[3], ids[0]);
}
END_TEST

int main(void) {
    Suite *s = suite_create("holds");
    FT_ADD_TEST(s, a_hold_reduces_the_available_balance_not_the_balance);
    FT_ADD_TEST(s, a_capture_debits_at_most_the_sum_held_and_releases_the_rest);
    FT_ADD_TEST(s, a_void_releases_the_sum_and_writes_no_entry);
    FT_ADD_TEST(s, an_expired_hold_no_longer_counts_and_can_no_longer_be_settled);
    FT_ADD_TEST(s, a_hold_that_expires_while_its_capture_waits_for_the_lock_is_not_captured);
    FT_ADD_TEST(s, sixteen_concurrent_holds_of_100_on_1000_available_exactly_ten_succeed);
    FT_ADD_TEST(s, a_capture_and_a_void_of_one_hold_racing_exactly_one_wins);
    FT_ADD_TEST(s, a_capture_racing_a_withdrawal_never_takes_more_than_the_balance);
    FT_ADD_TEST(s, a_frozen_account_takes_no_new_hold_but_settles_earlier_ones);
    FT_ADD_TEST(s, hold_requests_take_an_idempotency_key_like_a_move);
    FT_ADD_TEST(s, a_hold_request_names_the_input_at_fault_and_changes_nothing);
    FT_ADD_TEST(s, the_list_pages_through_an_accounts_holds_newest_first);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
