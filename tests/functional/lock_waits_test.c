/* Lock waits: a request whose account row another session holds (here the harness, in an open
 * transaction, as a psql session would) waits a bounded time, then answers 503 unavailable with
 * Retry-After and changes nothing -- on every path, with an Idempotency-Key and without. A
 * creation touches no existing account and waits for none.
 *
 * What is asserted is the answer, not its timing: the service bounds its own wait (5 s, 12 s for
 * a request with a key), and a test gives up only at its deadline, well beyond that, and fails. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

/* Far beyond the service's own bound on a lock wait: no answer by then is a wait without one. */
#define ANSWER_DEADLINE_S 20.0

/* Sends the request while held's row is locked elsewhere and returns its answer (new), failing
 * if none came before the deadline. */
static struct ft_response *send_while_held(const char *held, const char *method, const char *path,
                                           const char *body, const char *key) {
    ft_hold_account(held);
    struct ft_call *call = ft_call_start(method, path, body, key);
    int answered = ft_call_await(call, ANSWER_DEADLINE_S);
    ft_release_account();
    struct ft_response *response = ft_call_finish(call);
    ck_assert_msg(answered,
                  "%s: no answer in %.0f s while a row it needs was held elsewhere (it waited "
                  "without a bound); after the release it answered %ld %.200s",
                  response->what, ANSWER_DEADLINE_S, response->status, response->body);
    return response;
}

/* The request waits for held, gives up, answers 503 unavailable with Retry-After, and nothing
 * changed. With a key nothing was stored either: the same request sent again once the row is free
 * is done afresh (expected status), not a replay. */
static void assert_bounded_wait(const char *held, const char *method, const char *path,
                                const char *body, const char *key, long status) {
    struct ft_snapshot before = ft_snapshot(held);
    struct ft_response *r = send_while_held(held, method, path, body, key);
    ck_assert_msg(ft_is_503(r, "unavailable"),
                  "%s while a row it needs was held: %ld %.200s, not 503 unavailable with "
                  "Retry-After",
                  r->what, r->status, r->body);
    ft_response_free(r);
    ft_assert_unchanged(&before, held);
    if (key == NULL)
        return;
    struct ft_response *again = ft_http_keyed(method, path, body, key);
    ft_assert_status(again, status);
    ft_assert_not_replayed(again);
    ft_response_free(again);
}

START_TEST(a_deposit_waits_for_a_held_account_a_bounded_time_then_503_and_changes_nothing) {
    char held[FT_ACCOUNT_SIZE], path[128];
    ft_create_account(held);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=11", held);
    assert_bounded_wait(held, "PUT", path, NULL, NULL, 200);
    ck_assert_int_eq(ft_balance(held), 0);
}
END_TEST

START_TEST(a_keyed_deposit_waits_for_a_held_account_a_bounded_time_then_503_and_stores_nothing) {
    char held[FT_ACCOUNT_SIZE], path[128];
    ft_create_account(held);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=12", held);
    assert_bounded_wait(held, "PUT", path, NULL, "lock-wait-deposit", 200);
    ck_assert_int_eq(ft_balance(held), 12); /* the retry's */
}
END_TEST

START_TEST(a_transfer_to_a_held_account_waits_a_bounded_time_then_503_and_changes_nothing) {
    char from[FT_ACCOUNT_SIZE], held[FT_ACCOUNT_SIZE], body[256];
    ft_create_account(from);
    ft_create_account(held);
    ft_move(from, "deposit", 100);
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 14}", from, held);
    assert_bounded_wait(held, "POST", "/api/transfers", body, NULL, 201);
    ck_assert_int_eq(ft_balance(from), 100);
}
END_TEST

START_TEST(a_keyed_transfer_from_a_held_account_waits_a_bounded_time_then_503_and_stores_nothing) {
    char held[FT_ACCOUNT_SIZE], to[FT_ACCOUNT_SIZE], body[256];
    ft_create_account(held);
    ft_create_account(to);
    ft_move(held, "deposit", 100);
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 15}", held, to);
    assert_bounded_wait(held, "POST", "/api/transfers", body, "lock-wait-transfer", 201);
    ck_assert_int_eq(ft_balance(held), 85);
    ck_assert_int_eq(ft_balance(to), 15);
    ft_assert_ledger_invariants();
}
END_TEST

/* A creation makes a new row and locks no existing one: it is answered while a row is held. */
START_TEST(an_account_is_created_while_another_account_is_held) {
    char held[FT_ACCOUNT_SIZE];
    ft_create_account(held);
    const char *keys[] = {NULL, "lock-wait-create"};
    for (int i = 0; i < 2; i++) {
        struct ft_response *r = send_while_held(held, "POST", "/api/accounts", NULL, keys[i]);
        ft_assert_status(r, 201);
        ck_assert_int_eq(ft_json_int(r, "balance"), 0);
        ft_response_free(r);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("lock_waits");
    FT_ADD_TEST(s, a_deposit_waits_for_a_held_account_a_bounded_time_then_503_and_changes_nothing);
    FT_ADD_TEST(
        s, a_keyed_deposit_waits_for_a_held_account_a_bounded_time_then_503_and_stores_nothing);
    FT_ADD_TEST(s, a_transfer_to_a_held_account_waits_a_bounded_time_then_503_and_changes_nothing);
    FT_ADD_TEST(
        s, a_keyed_transfer_from_a_held_account_waits_a_bounded_time_then_503_and_stores_nothing);
    FT_ADD_TEST(s, an_account_is_created_while_another_account_is_held);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
