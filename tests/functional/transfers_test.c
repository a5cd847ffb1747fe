/* The ledger contract, "Transfers": POST /api/transfers moves a sum between two accounts all or
 * nothing, validated in the documented order, and GET /api/transfers/{id} reads it back; crossing
 * transfers from many clients never deadlock and conserve the total. The server of this suite is
 * configured with DATABASE_URL as a postgresql:// URI. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define ACCOUNT_NOT_FOUND_MESSAGE "account does not exist"
#define SAME_ACCOUNT_MESSAGE      "from and to must be two different accounts"
#define INVALID_SUM_MESSAGE       "sum must be a whole number of cents from 1 to 9007199254740991"
#define CLIENTS                   8
#define TRANSFERS_PER_CLIENT      40

static void transfer_body(char *out, size_t size, const char *from, const char *to, int64_t sum) {
    snprintf(out, size, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": %" PRId64 "}", from, to, sum);
}

static int64_t transfers(void) {
    return ft_sql_int64("SELECT count(*) FROM transfers", (const char *)NULL);
}

/* An account with balance_cents in it. */
static void funded_account(char number[FT_ACCOUNT_SIZE], int64_t balance_cents) {
    ft_create_account(number);
    if (balance_cents > 0)
        ck_assert_int_eq(ft_move(number, "deposit", balance_cents), balance_cents);
}

/* What a refusal must leave alone: both accounts and the whole database. */
struct pair_state {
    struct ft_snapshot a;
    int64_t b_balance, b_entries, transfers;
};

static struct pair_state pair_state(const char *a, const char *b) {
    struct ft_snapshot sb = ft_snapshot(b);
    return (struct pair_state){ft_snapshot(a), sb.balance_cents, sb.entries, transfers()};
}

static void assert_pair_unchanged(const struct pair_state *before, const char *a, const char *b) {
    ft_assert_unchanged(&before->a, a);
    struct ft_snapshot sb = ft_snapshot(b);
    ck_assert_int_eq(sb.balance_cents, before->b_balance);
    ck_assert_int_eq(sb.entries, before->b_entries);
    ck_assert_int_eq(transfers(), before->transfers);
}

/* POSTs body to /api/transfers and asserts the error. */
static void expect_refusal(const char *body, long status, const char *code, const char *message) {
    struct ft_response *r = ft_http("POST", "/api/transfers", body);
    if (r->status != status)
        ck_abort_msg("body %s: expected %ld %s, got %ld %s", body, status, code, r->status,
                     r->body);
    ft_assert_error(r, status, code, message);
    ft_response_free(r);
}

/* ---- success ------------------------------------------------------------------------------- */

START_TEST(transfer_moves_the_sum_and_answers_201_with_location_and_both_balances) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], body[256], location[256], expected[256], id[32];
    funded_account(a, 1000);
    funded_account(b, 50);
    transfer_body(body, sizeof body, a, b, 300);
    struct ft_response *r = ft_http("POST", "/api/transfers", body);
    ft_assert_status(r, 201);
    ft_assert_json(r);
    int64_t transfer_id = ft_json_int(r, "id");
    ck_assert_int_gt(transfer_id, 0);
    ck_assert_str_eq(ft_json_str(r, "from"), a);
    ck_assert_str_eq(ft_json_str(r, "to"), b);
    ck_assert_int_eq(ft_json_int(r, "sum"), 300);
    ck_assert_int_eq(ft_json_int(r, "from_balance"), 700);
    ck_assert_int_eq(ft_json_int(r, "to_balance"), 350);
    ck_assert_msg(ft_is_timestamp(ft_json_str(r, "created_at")), "bad created_at: %s", r->body);
    ck_assert_msg(ft_header(r, "Location", location, sizeof location) != NULL, "no Location");
    snprintf(expected, sizeof expected, "/api/transfers/%" PRId64, transfer_id);
    ck_assert_str_eq(location, expected);
    ft_response_free(r);

    ck_assert_int_eq(ft_balance(a), 700);
    ck_assert_int_eq(ft_balance(b), 350);
    /* The journal: one transfer row, two legs pointing at it. */
    snprintf(id, sizeof id, "%" PRId64, transfer_id);
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM transfers t JOIN accounts f ON f.id = "
                                  "t.from_account_id JOIN accounts d ON d.id = t.to_account_id "
                                  "WHERE t.id = $1 AND f.account_number = $2 AND "
                                  "d.account_number = $3 AND t.amount_cents = 300",
                                  id, a, b, (const char *)NULL),
                     1);
    const char *leg = "SELECT e.kind || ' ' || e.amount_cents || ' ' || e.balance_after_cents "
                      "FROM entries e JOIN accounts a ON a.id = e.account_id "
                      "WHERE e.transfer_id = $1 AND a.account_number = $2";
    ck_assert_str_eq(ft_sql_text(leg, id, a, (const char *)NULL), "transfer_out -300 700");
    ck_assert_str_eq(ft_sql_text(leg, id, b, (const char *)NULL), "transfer_in 300 350");
    ck_assert_int_eq(ft_snapshot(a).entries, 2);
    ck_assert_int_eq(ft_snapshot(b).entries, 2);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(get_transfer_returns_the_same_body_with_the_balances_right_after_it) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], body[256], location[256];
    funded_account(a, 500);
    funded_account(b, 0);
    transfer_body(body, sizeof body, a, b, 125);
    struct ft_response *created = ft_http("POST", "/api/transfers", body);
    ft_assert_status(created, 201);
    ck_assert_ptr_nonnull(ft_header(created, "Location", location, sizeof location));
    /* Later movements do not change what the transfer shows. */
    ft_move(a, "deposit", 1000);
    ft_move(b, "withdraw", 25);
    ft_transfer(a, b, 1);

    struct ft_response *r = ft_http("GET", location, NULL);
    ft_assert_status(r, 200);
    ft_assert_json(r);
    ck_assert_msg(json_equal(r->json, created->json), "GET %s: %s\n  POST answered: %s", location,
                  r->body, created->body);
    ck_assert_int_eq(ft_json_int(r, "from_balance"), 375);
    ck_assert_int_eq(ft_json_int(r, "to_balance"), 125);
    ft_response_free(r);
    ft_response_free(created);
}
END_TEST

START_TEST(unknown_or_non_canonical_transfer_id_is_404_transfer_not_found) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], path[256];
    funded_account(a, 100);
    funded_account(b, 0);
    int64_t id = ft_transfer(a, b, 10);
    char ids[10][64];
    snprintf(ids[0], sizeof ids[0], "%" PRId64, id + 1000000);              /* unknown */
    snprintf(ids[1], sizeof ids[1], "0%" PRId64, id);                       /* leading zero */
    snprintf(ids[2], sizeof ids[2], "%s", "0");                             /* below 1 */
    snprintf(ids[3], sizeof ids[3], "%s", "abc");                           /* not a number */
    snprintf(ids[4], sizeof ids[4], "-%" PRId64, id);                       /* a sign */
    snprintf(ids[5], sizeof ids[5], "%" PRId64 ".0", id);                   /* a decimal point */
    snprintf(ids[6], sizeof ids[6], "%s", "9007199254740992");              /* MAX + 1 */
    snprintf(ids[7], sizeof ids[7], "%s", "99999999999999999999999999999"); /* overflow */
    snprintf(ids[8], sizeof ids[8], "%%2B%" PRId64, id);                    /* a plus sign */
    snprintf(ids[9], sizeof ids[9], "%" PRId64 "%%20", id);                 /* a space */
    for (int i = 0; i < 10; i++) {
        snprintf(path, sizeof path, "/api/transfers/%.63s", ids[i]);
        struct ft_response *r = ft_http("GET", path, NULL);
        if (r->status != 404)
            ck_abort_msg("GET %s: expected 404 transfer_not_found, got %ld %s", path, r->status,
                         r->body);
        ft_assert_error(r, 404, "transfer_not_found", NULL);
        ft_response_free(r);
    }
    /* MAX itself is canonical: just unknown. */
    ft_expect_error("GET", "/api/transfers/9007199254740991", NULL, NULL, 404, "transfer_not_found",
                    NULL);
}
END_TEST

START_TEST(wrong_method_on_transfer_routes_is_405_with_allow) {
    struct ft_snapshot before = ft_snapshot(NULL);
    char allow[128];
    struct ft_response *r = ft_http("GET", "/api/transfers", NULL);
    ft_assert_error(r, 405, "method_not_allowed", NULL);
    ck_assert_msg(ft_header(r, "Allow", allow, sizeof allow) != NULL && strstr(allow, "POST"),
                  "GET /api/transfers: Allow lacks POST");
    ft_response_free(r);
    r = ft_http("DELETE", "/api/transfers/1", NULL);
    ft_assert_error(r, 405, "method_not_allowed", NULL);
    ck_assert_msg(ft_header(r, "Allow", allow, sizeof allow) != NULL && strstr(allow, "GET"),
                  "DELETE /api/transfers/1: Allow lacks GET");
    ft_response_free(r);
    ft_assert_unchanged(&before, NULL);
}
END_TEST

START_TEST(transfer_of_the_whole_balance_and_of_2_pow_53_minus_1_is_accepted) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE];
    funded_account(a, FT_MAX_SAFE_CENTS);
    funded_account(b, 0);
    ft_transfer(a, b, FT_MAX_SAFE_CENTS);
    ck_assert_int_eq(ft_balance(a), 0);
    ck_assert_int_eq(ft_balance(b), FT_MAX_SAFE_CENTS);
    ft_transfer(b, a, 1);
    ck_assert_int_eq(ft_balance(a), 1);
    ck_assert_int_eq(ft_balance(b), FT_MAX_SAFE_CENTS - 1);
}
END_TEST

/* ---- validation ---------------------------------------------------------------------------- */

START_TEST(transfer_body_not_a_json_object_with_string_from_and_to_is_400_invalid_request) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], bodies[16][320];
    funded_account(a, 100);
    funded_account(b, 0);
    struct pair_state before = pair_state(a, b);
    int count = 0;
    snprintf(bodies[count++], sizeof bodies[0], "%s", "");
    snprintf(bodies[count++], sizeof bodies[0], "%s", "not json");
    snprintf(bodies[count++], sizeof bodies[0], "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 5", a,
             b);
    snprintf(bodies[count++], sizeof bodies[0], "%s", "[]");
    snprintf(bodies[count++], sizeof bodies[0], "[\"%s\", \"%s\", 5]", a, b);
    snprintf(bodies[count++], sizeof bodies[0], "%s", "\"transfer\"");
    snprintf(bodies[count++], sizeof bodies[0], "%s", "null");
    snprintf(bodies[count++], sizeof bodies[0],
             "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 5, \"from\": \"%s\"}", a, b, a);
    snprintf(bodies[count++], sizeof bodies[0],
             "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 5, \"memo\": \"rent\"}", a, b);
    snprintf(bodies[count++], sizeof bodies[0], "{\"to\": \"%s\", \"sum\": 5}", b);
    snprintf(bodies[count++], sizeof bodies[0], "{\"from\": \"%s\", \"sum\": 5}", a);
    snprintf(bodies[count++], sizeof bodies[0], "{\"from\": %s, \"to\": \"%s\", \"sum\": 5}", a, b);
    snprintf(bodies[count++], sizeof bodies[0], "{\"from\": \"%s\", \"to\": null, \"sum\": 5}", a);
    snprintf(bodies[count++], sizeof bodies[0], "{\"from\": [\"%s\"], \"to\": \"%s\", \"sum\": 5}",
             a, b);
    /* Step 1 comes before the sum (step 2): an unknown field and a bad sum. */
    snprintf(bodies[count++], sizeof bodies[0],
             "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 0, \"x\": 1}", a, b);
    snprintf(bodies[count++], sizeof bodies[0], "{\"to\": \"%s\", \"sum\": -1}", b);
    for (int i = 0; i < count; i++)
        expect_refusal(bodies[i], 400, "invalid_request", NULL);
    assert_pair_unchanged(&before, a, b);
}
END_TEST

START_TEST(transfer_sum_missing_or_not_an_integer_from_1_to_max_is_400_invalid_sum) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], typo[FT_ACCOUNT_SIZE], body[320];
    funded_account(a, 100);
    funded_account(b, 0);
    ft_mistype(a, typo);
    struct pair_state before = pair_state(a, b);
    /* The last two are too big for any C integer, yet still well-formed JSON numbers. */
    const char *sums[] = {
        "0",    "-5",  "1.5", "1e3", "\"5\"", "9007199254740992",     "null",
        "true", "5.0", "[5]", "{}",  "-0",    "99999999999999999999", "-99999999999999999999"};
    for (size_t i = 0; i < sizeof sums / sizeof sums[0]; i++) {
        snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": %s}", a, b,
                 sums[i]);
        expect_refusal(body, 400, "invalid_sum", INVALID_SUM_MESSAGE);
    }
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\"}", a, b);
    expect_refusal(body, 400, "invalid_sum", INVALID_SUM_MESSAGE);
    /* The sum (step 2) comes before "same account" (3) and the accounts (4). */
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 0}", a, a);
    expect_refusal(body, 400, "invalid_sum", INVALID_SUM_MESSAGE);
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 1.5}", typo, b);
    expect_refusal(body, 400, "invalid_sum", INVALID_SUM_MESSAGE);
    assert_pair_unchanged(&before, a, b);
}
END_TEST

START_TEST(transfer_to_the_same_account_is_400_invalid_request_and_changes_nothing) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], body[256];
    funded_account(a, 100);
    funded_account(b, 0);
    struct pair_state before = pair_state(a, b);
    transfer_body(body, sizeof body, a, a, 5);
    expect_refusal(body, 400, "invalid_request", SAME_ACCOUNT_MESSAGE);
    /* "Same" is the same string, checked before the accounts are looked up (step 3 before 4). */
    transfer_body(body, sizeof body, "123", "123", 5);
    expect_refusal(body, 400, "invalid_request", SAME_ACCOUNT_MESSAGE);
    transfer_body(body, sizeof body, "", "", 5);
    expect_refusal(body, 400, "invalid_request", SAME_ACCOUNT_MESSAGE);
    assert_pair_unchanged(&before, a, b);
}
END_TEST

START_TEST(unknown_or_malformed_account_in_a_transfer_is_404_account_not_found) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], gone[FT_ACCOUNT_SIZE], typo[FT_ACCOUNT_SIZE],
        body[320];
    funded_account(a, 100);
    funded_account(b, 0);
    ft_create_account(gone);
    ft_sql_exec("DELETE FROM accounts WHERE account_number = $1", gone, (const char *)NULL);
    ft_mistype(a, typo);
    struct pair_state before = pair_state(a, b);
    const char *others[] = {gone, typo, "abc", "", "1234567890", "' OR 1=1 --"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        transfer_body(body, sizeof body, a, others[i], 5);
        expect_refusal(body, 404, "account_not_found", ACCOUNT_NOT_FOUND_MESSAGE);
        transfer_body(body, sizeof body, others[i], b, 5);
        expect_refusal(body, 404, "account_not_found", ACCOUNT_NOT_FOUND_MESSAGE);
    }
    /* Both unknown; and unknown beats the balance rules (step 4 before 5). */
    transfer_body(body, sizeof body, gone, typo, 5);
    expect_refusal(body, 404, "account_not_found", ACCOUNT_NOT_FOUND_MESSAGE);
    transfer_body(body, sizeof body, a, gone, 1000000);
    expect_refusal(body, 404, "account_not_found", ACCOUNT_NOT_FOUND_MESSAGE);
    assert_pair_unchanged(&before, a, b);
}
END_TEST

START_TEST(transfer_beyond_the_balance_is_409_insufficient_funds_and_changes_nothing) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], body[256];
    funded_account(a, 100);
    funded_account(b, 20);
    struct pair_state before = pair_state(a, b);
    transfer_body(body, sizeof body, a, b, 101);
    expect_refusal(body, 409, "insufficient_funds", NULL);
    transfer_body(body, sizeof body, a, b, FT_MAX_SAFE_CENTS);
    expect_refusal(body, 409, "insufficient_funds", NULL);
    assert_pair_unchanged(&before, a, b);
    /* The whole balance is still there to move. */
    ft_transfer(a, b, 100);
    ck_assert_int_eq(ft_balance(a), 0);
    ck_assert_int_eq(ft_balance(b), 120);
}
END_TEST

START_TEST(transfer_over_the_balance_limit_is_409_balance_limit_exceeded_and_changes_nothing) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], body[256];
    funded_account(a, 100);
    funded_account(b, FT_MAX_SAFE_CENTS - 10);
    struct pair_state before = pair_state(a, b);
    transfer_body(body, sizeof body, a, b, 11);
    expect_refusal(body, 409, "balance_limit_exceeded", NULL);
    assert_pair_unchanged(&before, a, b);
    ft_transfer(a, b, 10);
    ck_assert_int_eq(ft_balance(b), FT_MAX_SAFE_CENTS);
    ck_assert_int_eq(ft_balance(a), 90);
}
END_TEST

/* ---- crossing transfers -------------------------------------------------------------------- */

struct client {
    const char *base_url, *from, *to;
    int seed;
    pthread_barrier_t *barrier;
    int ok;
    int64_t moved;
    int other;
    char other_what[1024];
};

static void *shuttle(void *arg) {
    struct client *c = arg;
    char body[256];
    CURL *curl = curl_easy_init();
    pthread_barrier_wait(c->barrier);
    for (int i = 0; curl != NULL && i < TRANSFERS_PER_CLIENT; i++) {
        int64_t sum = 1 + (c->seed * 7 + i * 13) % 50;
        transfer_body(body, sizeof body, c->from, c->to, sum);
        struct ft_response *r =
            ft_http_on(curl, c->base_url, "POST", "/api/transfers", body, strlen(body));
        if (r != NULL && r->status == 201 && json_is_object(r->json)) {
            c->ok++;
            c->moved += sum;
        } else if (c->other++ == 0) {
            snprintf(c->other_what, sizeof c->other_what, "%ld (%s) %.200s",
                     r != NULL ? r->status : 0L, r != NULL ? r->curl_error : "out of memory",
                     r != NULL ? r->body : "");
        }
        ft_response_free(r);
    }
    if (curl == NULL)
        c->other = TRANSFERS_PER_CLIENT;
    curl_easy_cleanup(curl);
    return NULL;
}

START_TEST(crossing_transfers_from_8_clients_all_succeed_and_conserve_the_total) {
    const int64_t funded = 100000;
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE];
    funded_account(a, funded);
    funded_account(b, funded);
    int64_t transfers_before = transfers();
    struct client clients[CLIENTS];
    pthread_t threads[CLIENTS];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, CLIENTS);
    for (int t = 0; t < CLIENTS; t++) {
        /* Half of them A -> B, half B -> A, interleaved. */
        clients[t] = (struct client){ft_default_server()->base_url,
                                     t % 2 == 0 ? a : b,
                                     t % 2 == 0 ? b : a,
                                     t,
                                     &barrier,
                                     0,
                                     0,
                                     0,
                                     ""};
        ck_assert_int_eq(pthread_create(&threads[t], NULL, shuttle, &clients[t]), 0);
    }
    for (int t = 0; t < CLIENTS; t++)
        pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&barrier);

    int64_t a_to_b = 0, b_to_a = 0;
    for (int t = 0; t < CLIENTS; t++) {
        ck_assert_msg(clients[t].other == 0, "client %d: %d transfers failed, first: %s", t,
                      clients[t].other, clients[t].other_what);
        ck_assert_int_eq(clients[t].ok, TRANSFERS_PER_CLIENT);
        if (t % 2 == 0)
            a_to_b += clients[t].moved;
        else
            b_to_a += clients[t].moved;
    }
    ck_assert_int_eq(ft_balance(a), funded - a_to_b + b_to_a);
    ck_assert_int_eq(ft_balance(b), funded + a_to_b - b_to_a);
    ck_assert_int_eq(ft_balance(a) + ft_balance(b), 2 * funded);
    ck_assert_int_eq(transfers(), transfers_before + CLIENTS * TRANSFERS_PER_CLIENT);
    ck_assert_int_eq(ft_snapshot(a).entries, 1 + CLIENTS * TRANSFERS_PER_CLIENT);
    ft_assert_ledger_invariants();
}
END_TEST

/* Last on purpose: had the journal not refused the TRUNCATE, the suite's data would be gone. */
START_TEST(transfers_and_their_legs_are_append_only) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], id[32], state[6];
    funded_account(a, 100);
    funded_account(b, 0);
    snprintf(id, sizeof id, "%" PRId64, ft_transfer(a, b, 10));
    struct pair_state before = pair_state(a, b);
    int64_t all_entries = ft_snapshot(NULL).all_entries;
    const char *refused[] = {"UPDATE transfers SET amount_cents = 11 WHERE id = $1",
                             "UPDATE transfers SET to_account_id = from_account_id WHERE id = $1",
                             "DELETE FROM transfers WHERE id = $1",
                             "UPDATE entries SET amount_cents = amount_cents * 2 WHERE "
                             "transfer_id = $1",
                             "UPDATE entries SET transfer_id = NULL WHERE transfer_id = $1",
                             "DELETE FROM entries WHERE transfer_id = $1"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        ck_assert_msg(ft_sql_try(state, refused[i], id, (const char *)NULL) == -1,
                      "the database accepted: %s", refused[i]);
    ck_assert_msg(ft_sql_try(state, "TRUNCATE transfers CASCADE", (const char *)NULL) == -1,
                  "the database accepted TRUNCATE transfers CASCADE");
    ck_assert_msg(ft_sql_try(state, "TRUNCATE entries CASCADE", (const char *)NULL) == -1,
                  "the database accepted TRUNCATE entries CASCADE");
    assert_pair_unchanged(&before, a, b);
    ck_assert_int_eq(ft_snapshot(NULL).all_entries, all_entries);
    ft_assert_ledger_invariants();
}
END_TEST

int main(void) {
    Suite *s = suite_create("transfers");
    FT_ADD_TEST(s, transfer_moves_the_sum_and_answers_201_with_location_and_both_balances);
    FT_ADD_TEST(s, get_transfer_returns_the_same_body_with_the_balances_right_after_it);
    FT_ADD_TEST(s, unknown_or_non_canonical_transfer_id_is_404_transfer_not_found);
    FT_ADD_TEST(s, wrong_method_on_transfer_routes_is_405_with_allow);
    FT_ADD_TEST(s, transfer_of_the_whole_balance_and_of_2_pow_53_minus_1_is_accepted);
    FT_ADD_TEST(s, transfer_body_not_a_json_object_with_string_from_and_to_is_400_invalid_request);
    FT_ADD_TEST(s, transfer_sum_missing_or_not_an_integer_from_1_to_max_is_400_invalid_sum);
    FT_ADD_TEST(s, transfer_to_the_same_account_is_400_invalid_request_and_changes_nothing);
    FT_ADD_TEST(s, unknown_or_malformed_account_in_a_transfer_is_404_account_not_found);
    FT_ADD_TEST(s, transfer_beyond_the_balance_is_409_insufficient_funds_and_changes_nothing);
    FT_ADD_TEST(s,
                transfer_over_the_balance_limit_is_409_balance_limit_exceeded_and_changes_nothing);
    FT_ADD_TEST(s, crossing_transfers_from_8_clients_all_succeed_and_conserve_the_total);
    FT_ADD_TEST(s, transfers_and_their_legs_are_append_only);
    return ft_main(s, 1, FT_DATABASE_URL_URI, NULL);
}
