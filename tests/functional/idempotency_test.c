/* The ledger contract, "Idempotency": a request that carries an Idempotency-Key has its answer
 * stored with its effect, so that a retry gets the same answer byte for byte and never a second
 * effect; a different request with a used key is refused; bad keys are refused before anything
 * else is looked at; old keys are swept. Keys are global, so every test uses keys of its own. The
 * server of this suite is configured with DATABASE_URL as a keyword/value conninfo. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "harness.h"

#define RACERS              12
#define SWEEP_DEADLINE_S    20.0
#define LOCK_WAIT_DEADLINE  10.0
#define ROUNDS_PER_RACE     3
#define INVALID_KEY_HEADERS 8

static void transfer_body(char *out, size_t size, const char *from, const char *to, int64_t sum) {
    snprintf(out, size, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": %" PRId64 "}", from, to, sum);
}

static int64_t key_count(const char *key) {
    return ft_sql_int64("SELECT count(*) FROM idempotency_keys WHERE key = $1", key,
                        (const char *)NULL);
}

static int64_t all_keys(void) {
    return ft_sql_int64("SELECT count(*) FROM idempotency_keys", (const char *)NULL);
}

static int64_t transfers(void) {
    return ft_sql_int64("SELECT count(*) FROM transfers", (const char *)NULL);
}

/* Sends a keyed request, asserts the status and that it is a first answer; caller frees. */
static struct ft_response *first_answer(const char *method, const char *path, const char *body,
                                        const char *key, long status) {
    struct ft_response *r = ft_http_keyed(method, path, body, key);
    ft_assert_status(r, status);
    ft_assert_json(r);
    ft_assert_not_replayed(r);
    return r;
}

/* Sends the request of first again with key, and asserts that it is first replayed. */
static void expect_replay(const struct ft_response *first, const char *method, const char *path,
                          const char *body, const char *key) {
    struct ft_response *r = ft_http_keyed(method, path, body, key);
    ft_assert_replay_of(first, r);
    ft_response_free(r);
}

/* Sends a keyed request and asserts 422 idempotency_key_reused. */
static void expect_reused(const char *method, const char *path, const char *body, const char *key) {
    struct ft_response *r = ft_http_keyed(method, path, body, key);
    ft_assert_error(r, 422, "idempotency_key_reused", NULL);
    ft_assert_not_replayed(r);
    ft_response_free(r);
}

/* ---- replays ------------------------------------------------------------------------------- */

START_TEST(replay_of_a_deposit_or_withdrawal_is_the_stored_answer_byte_for_byte_and_moves_nothing) {
    char n[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);

    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=100", n);
    struct ft_response *deposit = first_answer("PUT", path, NULL, "replay-deposit", 200);
    ck_assert_int_eq(ft_json_int(deposit, "balance"), 100);
    /* Another movement in between: a recomputed answer would now say 105. */
    ck_assert_int_eq(ft_move(n, "deposit", 5), 105);
    struct ft_snapshot before = ft_snapshot(n);
    for (int i = 0; i < 2; i++)
        expect_replay(deposit, "PUT", path, NULL, "replay-deposit");
    ft_assert_unchanged(&before, n);
    ft_response_free(deposit);

    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=30", n);
    struct ft_response *withdrawal = first_answer("POST", path, NULL, "replay-withdraw", 200);
    ck_assert_int_eq(ft_json_int(withdrawal, "balance"), 75);
    ck_assert_int_eq(ft_move(n, "withdraw", 5), 70);
    before = ft_snapshot(n);
    for (int i = 0; i < 2; i++)
        expect_replay(withdrawal, "POST", path, NULL, "replay-withdraw");
    ft_assert_unchanged(&before, n);
    ft_response_free(withdrawal);

    ck_assert_int_eq(ft_balance(n), 70);
    ck_assert_int_eq(key_count("replay-deposit") + key_count("replay-withdraw"), 2);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(keyed_account_creation_creates_exactly_one_account_and_replays_its_answer) {
    int64_t accounts = ft_snapshot(NULL).accounts;
    char location[256], expected[256];

    /* {} and {"overdraft_limit": 0} are the same request. */
    struct ft_response *created = first_answer("POST", "/api/accounts", "{}", "create-one", 201);
    ck_assert_int_eq(ft_json_int(created, "overdraft_limit"), 0);
    ck_assert_msg(ft_header(created, "Location", location, sizeof location) != NULL,
                  "a keyed creation without Location");
    snprintf(expected, sizeof expected, "/api/accounts/%s", ft_json_str(created, "account_number"));
    ck_assert_str_eq(location, expected);
    expect_replay(created, "POST", "/api/accounts", "{\"overdraft_limit\": 0}", "create-one");
    expect_replay(created, "POST", "/api/accounts", "{}", "create-one");
    ck_assert_int_eq(ft_snapshot(NULL).accounts, accounts + 1);
    ck_assert_str_eq(ft_sql_text("SELECT a.account_number FROM idempotency_keys k JOIN accounts "
                                 "a ON a.id = k.account_id WHERE k.key = 'create-one'",
                                 (const char *)NULL),
                     ft_json_str(created, "account_number"));
    ft_response_free(created);

    created =
        first_answer("POST", "/api/accounts", "{\"overdraft_limit\": 250}", "create-limit", 201);
    ck_assert_int_eq(ft_json_int(created, "overdraft_limit"), 250);
    expect_replay(created, "POST", "/api/accounts", "{ \"overdraft_limit\" : 250 }",
                  "create-limit");
    ck_assert_int_eq(ft_snapshot(NULL).accounts, accounts + 2);
    ft_response_free(created);

    /* The original route answers 200, and is replayed as such. */
    created = first_answer("POST", "/api/accounts/create", NULL, "create-original", 200);
    expect_replay(created, "POST", "/api/accounts/create", NULL, "create-original");
    ck_assert_int_eq(ft_snapshot(NULL).accounts, accounts + 3);
    ft_response_free(created);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(keyed_transfer_replay_is_the_stored_201_with_its_location_and_moves_nothing) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], body[256], reordered[256], location[256],
        expected[256];
    ft_create_account(a);
    ft_create_account(b);
    ft_move(a, "deposit", 1000);
    transfer_body(body, sizeof body, a, b, 250);
    struct ft_response *first =
        first_answer("POST", "/api/transfers", body, "replay-transfer", 201);
    ck_assert_int_eq(ft_json_int(first, "from_balance"), 750);
    ck_assert_int_eq(ft_json_int(first, "to_balance"), 250);
    ck_assert_msg(ft_header(first, "Location", location, sizeof location) != NULL,
                  "a transfer without Location");
    snprintf(expected, sizeof expected, "/api/transfers/%" PRId64, ft_json_int(first, "id"));
    ck_assert_str_eq(location, expected);

    ft_move(a, "deposit", 1);
    struct ft_snapshot before = ft_snapshot(a);
    int64_t transfers_before = transfers();
    expect_replay(first, "POST", "/api/transfers", body, "replay-transfer");
    /* The same values in another order and spacing are the same request. */
    snprintf(reordered, sizeof reordered, "{\"sum\":250,\"to\":\"%s\",  \"from\":\"%s\"}", b, a);
    expect_replay(first, "POST", "/api/transfers", reordered, "replay-transfer");
    ft_assert_unchanged(&before, a);
    ck_assert_int_eq(ft_balance(b), 250);
    ck_assert_int_eq(transfers(), transfers_before);
    ft_response_free(first);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(refusals_are_stored_and_replayed_byte_for_byte_even_after_the_account_changed) {
    char a[FT_ACCOUNT_SIZE], full[FT_ACCOUNT_SIZE], gone[FT_ACCOUNT_SIZE], path[256], body[256];
    ft_create_account(a);
    ft_create_account(full);
    ft_move(full, "deposit", FT_MAX_SAFE_CENTS);

    /* 409 insufficient_funds, replayed after the account got the money. */
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=50", a);
    struct ft_response *refused = ft_http_keyed("PUT", path, NULL, "refusal-funds");
    ft_assert_error(refused, 409, "insufficient_funds", NULL);
    ft_assert_not_replayed(refused);
    ck_assert_int_eq(ft_move(a, "deposit", 100), 100);
    struct ft_snapshot before = ft_snapshot(a);
    expect_replay(refused, "PUT", path, NULL, "refusal-funds");
    ft_assert_unchanged(&before, a);
    ft_response_free(refused);

    /* 409 balance_limit_exceeded, replayed after there is room. */
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=1", full);
    refused = ft_http_keyed("POST", path, NULL, "refusal-limit");
    ft_assert_error(refused, 409, "balance_limit_exceeded", NULL);
    ft_move(full, "withdraw", 10);
    before = ft_snapshot(full);
    expect_replay(refused, "POST", path, NULL, "refusal-limit");
    ft_assert_unchanged(&before, full);
    ft_response_free(refused);

    /* A refused transfer, replayed after its source got the money. */
    transfer_body(body, sizeof body, a, full, 5000);
    refused = ft_http_keyed("POST", "/api/transfers", body, "refusal-transfer");
    ft_assert_error(refused, 409, "insufficient_funds", NULL);
    ft_move(a, "deposit", 10000);
    before = ft_snapshot(a);
    int64_t transfers_before = transfers();
    expect_replay(refused, "POST", "/api/transfers", body, "refusal-transfer");
    ft_assert_unchanged(&before, a);
    ck_assert_int_eq(transfers(), transfers_before);
    ft_response_free(refused);

    /* 404 account_not_found for a well-formed number whose account is gone. */
    ft_create_account(gone);
    ft_sql_exec("DELETE FROM accounts WHERE account_number = $1", gone, (const char *)NULL);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=5", gone);
    refused = ft_http_keyed("PUT", path, NULL, "refusal-gone");
    ft_assert_error(refused, 404, "account_not_found", NULL);
    before = ft_snapshot(NULL);
    expect_replay(refused, "PUT", path, NULL, "refusal-gone");
    ft_assert_unchanged(&before, NULL);
    ft_response_free(refused);

    /* 404 account_not_found for a mistyped number: answered without the accounts table, but
     * stored all the same, so the key now belongs to that request. */
    char typo[FT_ACCOUNT_SIZE];
    ft_mistype(a, typo);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=5", typo);
    refused = ft_http_keyed("PUT", path, NULL, "refusal-typo");
    ft_assert_error(refused, 404, "account_not_found", NULL);
    before = ft_snapshot(NULL);
    expect_replay(refused, "PUT", path, NULL, "refusal-typo");
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=5", a);
    expect_reused("PUT", path, NULL, "refusal-typo");
    ft_assert_unchanged(&before, NULL);
    ft_response_free(refused);

    const char *keys[] = {"refusal-funds", "refusal-limit", "refusal-transfer", "refusal-gone",
                          "refusal-typo"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ck_assert_int_eq(key_count(keys[i]), 1);
    ft_assert_ledger_invariants();
}
END_TEST

/* ---- a used key, another request ----------------------------------------------------------- */

START_TEST(key_reused_with_another_sum_is_422_idempotency_key_reused_and_moves_nothing) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], path[256], other[256], body[256];
    ft_create_account(a);
    ft_create_account(b);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=100", a);
    struct ft_response *first = first_answer("PUT", path, NULL, "reused-sum", 200);
    struct ft_snapshot before = ft_snapshot(a);
    snprintf(other, sizeof other, "/api/accounts/%s/deposit?sum=101", a);
    expect_reused("PUT", other, NULL, "reused-sum");
    snprintf(other, sizeof other, "/api/accounts/%s/deposit?sum=1000", a);
    expect_reused("PUT", other, NULL, "reused-sum");
    ft_assert_unchanged(&before, a);
    expect_replay(first, "PUT", path, NULL, "reused-sum");
    ft_response_free(first);

    /* A transfer and a creation, likewise. */
    transfer_body(body, sizeof body, a, b, 40);
    first = first_answer("POST", "/api/transfers", body, "reused-transfer-sum", 201);
    before = ft_snapshot(a);
    int64_t transfers_before = transfers();
    transfer_body(other, sizeof other, a, b, 41);
    expect_reused("POST", "/api/transfers", other, "reused-transfer-sum");
    ft_assert_unchanged(&before, a);
    ck_assert_int_eq(transfers(), transfers_before);
    ft_response_free(first);

    first = first_answer("POST", "/api/accounts", "{\"overdraft_limit\": 10}", "reused-limit", 201);
    before = ft_snapshot(NULL);
    expect_reused("POST", "/api/accounts", "{\"overdraft_limit\": 11}", "reused-limit");
    expect_reused("POST", "/api/accounts", "{}", "reused-limit");
    ft_assert_unchanged(&before, NULL);
    ft_response_free(first);
    ft_assert_ledger_invariants();
}
END_TEST

/* A deposit's sum may come in the body: the fingerprint is the sum meant, wherever it was sent. */
START_TEST(a_sum_sent_in_the_body_is_part_of_the_keys_request) {
    char a[FT_ACCOUNT_SIZE], path[256], query[256];
    ft_create_account(a);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit", a);
    struct ft_response *first = first_answer("PUT", path, "{\"sum\": 500}", "body-sum", 200);
    ck_assert_int_eq(ft_json_int(first, "balance"), 500);
    struct ft_snapshot before = ft_snapshot(a);
    expect_reused("PUT", path, "{\"sum\": 900}", "body-sum");
    snprintf(query, sizeof query, "/api/accounts/%s/deposit?sum=900", a);
    expect_reused("PUT", query, NULL, "body-sum");
    ft_assert_unchanged(&before, a);
    /* The same sum is the same request, in the body or in the query. */
    expect_replay(first, "PUT", path, "{\"sum\": 500}", "body-sum");
    snprintf(query, sizeof query, "/api/accounts/%s/deposit?sum=500", a);
    expect_replay(first, "PUT", query, NULL, "body-sum");
    ft_assert_unchanged(&before, a);
    ft_response_free(first);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(key_reused_on_another_route_method_or_account_is_422_and_changes_nothing) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], path[256], other[256], body[256];
    ft_create_account(a);
    ft_create_account(b);
    ft_move(a, "deposit", 500);
    ft_move(b, "deposit", 500);
    const char *key = "reused-elsewhere";
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=40", a);
    struct ft_response *first = first_answer("PUT", path, NULL, key, 200);
    struct ft_snapshot before = ft_snapshot(a);
    int64_t b_before = ft_balance(b), transfers_before = transfers(), keys_before = all_keys();

    expect_reused("POST", path, NULL, key); /* another method */
    snprintf(other, sizeof other, "/api/accounts/%s/withdraw?sum=40", a);
    expect_reused("PUT", other, NULL, key); /* another route */
    snprintf(other, sizeof other, "/api/accounts/%s/deposit?sum=40", b);
    expect_reused("PUT", other, NULL, key); /* another account: keys are global */
    expect_reused("POST", "/api/accounts", NULL, key);
    expect_reused("POST", "/api/accounts", "{}", key);
    expect_reused("POST", "/api/accounts/create", NULL, key);
    transfer_body(body, sizeof body, a, b, 40);
    expect_reused("POST", "/api/transfers", body, key);

    ft_assert_unchanged(&before, a);
    ck_assert_int_eq(ft_balance(b), b_before);
    ck_assert_int_eq(transfers(), transfers_before);
    ck_assert_int_eq(all_keys(), keys_before);
    expect_replay(first, "PUT", path, NULL, key);
    ft_response_free(first);

    /* A transfer's key, reused for the reverse transfer and for a deposit. */
    first = first_answer("POST", "/api/transfers", body, "reused-transfer", 201);
    before = ft_snapshot(a);
    transfers_before = transfers();
    transfer_body(other, sizeof other, b, a, 40);
    expect_reused("POST", "/api/transfers", other, "reused-transfer");
    snprintf(other, sizeof other, "/api/accounts/%s/deposit?sum=40", b);
    expect_reused("PUT", other, NULL, "reused-transfer");
    ft_assert_unchanged(&before, a);
    ck_assert_int_eq(transfers(), transfers_before);
    ft_response_free(first);
    ft_assert_ledger_invariants();
}
END_TEST

/* ---- key validation ------------------------------------------------------------------------ */

/* Fills sets with the invalid ways to send the header: each a NULL-terminated list of lines. */
static void invalid_key_headers(const char *sets[INVALID_KEY_HEADERS][3], char *long_line,
                                size_t long_size) {
    /* "Idempotency-Key: " and 256 characters. (A value of blanks only cannot be tested through
     * libcurl: it drops a header whose value is blank.) */
    size_t prefix = strlen("Idempotency-Key: ");
    ck_assert_uint_gt(long_size, prefix + 256);
    memcpy(long_line, "Idempotency-Key: ", prefix);
    memset(long_line + prefix, 'k', 256);
    long_line[prefix + 256] = '\0';
    const char *lines[INVALID_KEY_HEADERS][2] = {
        {"Idempotency-Key;", NULL},                           /* empty */
        {long_line, NULL},                                    /* 256 characters */
        {"Idempotency-Key: bad\001key", NULL},                /* a control byte */
        {"Idempotency-Key: bad\177key", NULL},                /* DEL */
        {"Idempotency-Key: caf\303\251", NULL},               /* not ASCII */
        {"Idempotency-Key: tab\there", NULL},                 /* a tab inside */
        {"Idempotency-Key: twice", "Idempotency-Key: twice"}, /* twice, the same */
        {"Idempotency-Key: one", "Idempotency-Key: two"},     /* twice, different */
    };
    for (int i = 0; i < INVALID_KEY_HEADERS; i++) {
        sets[i][0] = lines[i][0];
        sets[i][1] = lines[i][1];
        sets[i][2] = NULL;
    }
}

START_TEST(invalid_keys_are_400_invalid_request_and_change_nothing) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], long_line[300], deposit[256], withdraw[256],
        body[256];
    ft_create_account(a);
    ft_create_account(b);
    ft_move(a, "deposit", 100);
    snprintf(deposit, sizeof deposit, "/api/accounts/%s/deposit?sum=5", a);
    snprintf(withdraw, sizeof withdraw, "/api/accounts/%s/withdraw?sum=5", a);
    transfer_body(body, sizeof body, a, b, 5);
    const struct {
        const char *method, *path, *body;
    } requests[] = {{"PUT", deposit, NULL},
                    {"POST", withdraw, NULL},
                    {"POST", "/api/accounts", "{}"},
                    {"POST", "/api/accounts/create", NULL},
                    {"POST", "/api/transfers", body}};
    const char *sets[INVALID_KEY_HEADERS][3];
    invalid_key_headers(sets, long_line, sizeof long_line);

    struct ft_snapshot before = ft_snapshot(a);
    int64_t keys_before = all_keys(), transfers_before = transfers();
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        for (int k = 0; k < INVALID_KEY_HEADERS; k++) {
            struct ft_response *r = ft_http_with_headers(requests[i].method, requests[i].path,
                                                         requests[i].body, sets[k]);
            ck_assert_msg(r->status == 400, "header set %d (%s%s%s): %s -> %ld %s", k, sets[k][0],
                          sets[k][1] != NULL ? " + " : "", sets[k][1] != NULL ? sets[k][1] : "",
                          r->what, r->status, r->body);
            ft_assert_error(r, 400, "invalid_request", NULL);
            ft_response_free(r);
        }
    }
    ft_assert_unchanged(&before, a);
    ck_assert_int_eq(ft_balance(b), 0);
    ck_assert_int_eq(all_keys(), keys_before);
    ck_assert_int_eq(transfers(), transfers_before);
}
END_TEST

START_TEST(keys_of_1_to_255_printable_characters_are_accepted_and_kept_exactly) {
    char n[FT_ACCOUNT_SIZE], path[256], longest[256];
    ft_create_account(n);
    /* 255 characters covering every printable one, the space included (inside, not trimmed). */
    for (int i = 0; i < 255; i++)
        longest[i] = (char)(0x21 + i % (0x7F - 0x21));
    longest[100] = ' ';
    longest[255] = '\0';
    const char *keys[] = {"~", longest, "a \"quoted\" key; with 'SQL' -- and \\ and %00"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=%zu", n, i + 1);
        struct ft_response *first = first_answer("PUT", path, NULL, keys[i], 200);
        expect_replay(first, "PUT", path, NULL, keys[i]);
        ft_response_free(first);
        ck_assert_msg(key_count(keys[i]) == 1, "key '%s' is not stored as sent", keys[i]);
    }
    ck_assert_int_eq(ft_balance(n), 1 + 2 + 3);
    ck_assert_int_eq(ft_snapshot(n).entries, 3);
}
END_TEST

START_TEST(the_key_is_checked_after_route_and_method_and_before_sum_body_and_account) {
    char n[FT_ACCOUNT_SIZE], typo[FT_ACCOUNT_SIZE], path[256], body[256];
    const char *empty_key[] = {"Idempotency-Key;", NULL};
    ft_create_account(n);
    ft_mistype(n, typo);
    struct ft_snapshot before = ft_snapshot(n);

    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=abc", n);
    struct ft_response *r = ft_http_with_headers("PUT", path, NULL, empty_key);
    ft_assert_error(r, 400, "invalid_request", NULL);
    ft_response_free(r);

    transfer_body(body, sizeof body, n, typo, 0);
    r = ft_http_with_headers("POST", "/api/transfers", body, empty_key);
    ft_assert_error(r, 400, "invalid_request", NULL);
    ft_response_free(r);

    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=5", typo);
    r = ft_http_with_headers("PUT", path, NULL, empty_key);
    ft_assert_error(r, 400, "invalid_request", NULL);
    ft_response_free(r);

    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=5", n);
    r = ft_http_with_headers("DELETE", path, NULL, empty_key);
    ft_assert_error(r, 405, "method_not_allowed", NULL);
    ft_response_free(r);

    r = ft_http_with_headers("POST", "/api/nothing", NULL, empty_key);
    ft_assert_error(r, 404, "not_found", NULL);
    ft_response_free(r);
    ft_assert_unchanged(&before, n);
}
END_TEST

START_TEST(requests_refused_with_400_neither_use_nor_consult_the_key) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], path[256], bad[256];
    ft_create_account(a);
    ft_create_account(b);
    const char *key = "not-consumed";

    /* Refused before the key: it stays unused. */
    snprintf(bad, sizeof bad, "/api/accounts/%s/deposit?sum=abc", a);
    ft_expect_error("PUT", bad, NULL, key, 400, "invalid_sum", NULL);
    ft_expect_error("POST", "/api/transfers", "{\"from\": 1}", key, 400, "invalid_request", NULL);
    ft_expect_error("POST", "/api/accounts", "{\"overdraft_limit\": -1}", key, 400,
                    "invalid_request", NULL);
    ck_assert_int_eq(key_count(key), 0);

    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=5", a);
    struct ft_response *first = first_answer("PUT", path, NULL, key, 200);
    ck_assert_int_eq(ft_json_int(first, "balance"), 5);

    /* Once used, a 400 still answers as a 400: neither a replay nor idempotency_key_reused. */
    struct ft_response *r = ft_http_keyed("PUT", bad, NULL, key);
    ft_assert_error(r, 400, "invalid_sum", NULL);
    ft_assert_not_replayed(r);
    ft_response_free(r);
    snprintf(bad, sizeof bad, "/api/accounts/%s/deposit?sum=0", a);
    ft_expect_error("PUT", bad, NULL, key, 400, "invalid_sum", NULL);
    ft_expect_error("POST", "/api/transfers", "[]", key, 400, "invalid_request", NULL);
    ft_expect_error("POST", "/api/accounts", "{\"colour\": \"red\"}", key, 400, "invalid_request",
                    NULL);

    expect_replay(first, "PUT", path, NULL, key);
    ft_response_free(first);
    ck_assert_int_eq(ft_balance(a), 5);
    ck_assert_int_eq(ft_snapshot(a).entries, 1);
}
END_TEST

START_TEST(keys_are_ignored_on_get_and_head) {
    char n[FT_ACCOUNT_SIZE], path[256], long_key[300];
    ft_create_account(n);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=7", n);
    struct ft_response *first = first_answer("PUT", path, NULL, "ignored-on-get", 200);
    ft_response_free(first);
    memset(long_key, 'g', 299);
    long_key[299] = '\0';

    const char *reads[][2] = {
        {"GET", "/balance"}, {"GET", ""}, {"GET", "/transactions"}, {"HEAD", "/transactions"}};
    const char *keys[] = {"ignored-on-get", long_key};
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        for (size_t k = 0; k < 2; k++) {
            snprintf(path, sizeof path, "/api/accounts/%s%s", n, reads[i][1]);
            struct ft_response *r = ft_http_keyed(reads[i][0], path, NULL, keys[k]);
            ft_assert_status(r, 200);
            ft_assert_not_replayed(r);
            if (strcmp(reads[i][0], "GET") == 0)
                ft_assert_json(r);
            if (strcmp(reads[i][1], "/balance") == 0)
                ck_assert_int_eq(ft_json_int(r, "balance"), 7);
            ft_response_free(r);
        }
    }
    ck_assert_int_eq(key_count(long_key), 0);
}
END_TEST

/* ---- concurrent retries -------------------------------------------------------------------- */

struct racer {
    const char *base_url, *method, *path, *body, *key;
    pthread_barrier_t *barrier;
    struct ft_response *response; /* new; NULL when out of memory */
};

static void *race(void *arg) {
    struct racer *racer = arg;
    char line[300];
    snprintf(line, sizeof line, "Idempotency-Key: %s", racer->key);
    const char *headers[] = {line, NULL};
    CURL *curl = curl_easy_init();
    pthread_barrier_wait(racer->barrier);
    if (curl != NULL)
        racer->response =
            ft_http_on_with_headers(curl, racer->base_url, racer->method, racer->path, racer->body,
                                    racer->body != NULL ? strlen(racer->body) : 0, headers);
    curl_easy_cleanup(curl);
    return NULL;
}

/* Sends one keyed request from RACERS threads at once, each with its own connection. Asserts
 * that exactly one answer is a first answer, with status, and that every other one is its replay
 * or a 409 idempotency_key_in_use with Retry-After: 1. Returns the first answer (new). */
static struct ft_response *race_one_key(const char *method, const char *path, const char *body,
                                        const char *key, long status) {
    struct racer racers[RACERS];
    pthread_t threads[RACERS];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, RACERS);
    for (int t = 0; t < RACERS; t++) {
        racers[t] =
            (struct racer){ft_default_server()->base_url, method, path, body, key, &barrier, NULL};
        ck_assert_int_eq(pthread_create(&threads[t], NULL, race, &racers[t]), 0);
    }
    for (int t = 0; t < RACERS; t++)
        pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&barrier);

    struct ft_response *first = NULL;
    int firsts = 0, in_use = 0;
    char value[64];
    for (int t = 0; t < RACERS; t++) {
        struct ft_response *r = racers[t].response;
        ck_assert_ptr_nonnull(r);
        ck_assert_msg(r->status != 0, "thread %d: no answer (%s)", t, r->curl_error);
        if (r->status == 409 && ft_header(r, "Idempotent-Replayed", value, sizeof value) == NULL) {
            ft_assert_error(r, 409, "idempotency_key_in_use", NULL);
            ck_assert_msg(ft_header(r, "Retry-After", value, sizeof value) != NULL &&
                              strcmp(value, "1") == 0,
                          "409 idempotency_key_in_use without 'Retry-After: 1'");
            in_use++;
        } else if (ft_header(r, "Idempotent-Replayed", value, sizeof value) == NULL) {
            ck_assert_msg(r->status == status, "thread %d: the first answer is %ld: %s", t,
                          r->status, r->body);
            first = r;
            firsts++;
        }
    }
    ck_assert_msg(firsts == 1, "%d of %d answers are first answers (%d in use)", firsts, RACERS,
                  in_use);
    for (int t = 0; t < RACERS; t++) {
        struct ft_response *r = racers[t].response;
        if (r != first && ft_header(r, "Idempotent-Replayed", value, sizeof value) != NULL)
            ft_assert_replay_of(first, r);
        if (r != first)
            ft_response_free(r);
    }
    /* Once the dust settles, a retry is a replay. */
    expect_replay(first, method, path, body, key);
    return first;
}

/* Sends RACERS keyed requests at once, each with a key of its own (key_prefix-N); returns how many
 * got status. */
static int race_distinct_keys(const char *method, const char *path, const char *key_prefix,
                              long status) {
    struct racer racers[RACERS];
    pthread_t threads[RACERS];
    char keys[RACERS][64];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, RACERS);
    for (int t = 0; t < RACERS; t++) {
        snprintf(keys[t], sizeof keys[t], "%s-%d", key_prefix, t);
        racers[t] = (struct racer){
            ft_default_server()->base_url, method, path, NULL, keys[t], &barrier, NULL};
        ck_assert_int_eq(pthread_create(&threads[t], NULL, race, &racers[t]), 0);
    }
    for (int t = 0; t < RACERS; t++)
        pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&barrier);
    int matching = 0;
    for (int t = 0; t < RACERS; t++) {
        struct ft_response *r = racers[t].response;
        ck_assert_ptr_nonnull(r);
        ck_assert_msg(r->status == status, "racer %d: %ld %s", t, r->status, r->body);
        matching++;
        ft_response_free(r);
    }
    return matching;
}

/* The claim relies on READ COMMITTED (each statement sees what committed while it waited), and so
 * do the guarded single-statement movements; a database whose default is stricter must not turn
 * races into 500s. */
START_TEST(a_database_defaulting_to_serializable_still_serves_races_and_retries) {
    char conninfo[512], url[600];
    ft_conninfo(ft_db(), conninfo, sizeof conninfo);
    snprintf(url, sizeof url,
             "DATABASE_URL=%s options='-c default_transaction_isolation=serializable'", conninfo);
    const char *env[] = {url, NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ft_set_default_server(server);

    char n[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=100", n);
    struct ft_response *first = race_one_key("PUT", path, NULL, "serializable-same", 200);
    ck_assert_int_eq(ft_json_int(first, "balance"), 100);
    ft_response_free(first);
    ck_assert_int_eq(race_distinct_keys("PUT", path, "serializable-distinct", 200), RACERS);
    ck_assert_int_eq(ft_balance(n), 100 * (RACERS + 1));
    ft_assert_ledger_invariants();
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

START_TEST(twelve_concurrent_retries_of_a_deposit_move_the_money_exactly_once) {
    char n[FT_ACCOUNT_SIZE], path[256], key[64];
    ft_create_account(n);
    int64_t balance = 0;
    for (int round = 0; round < ROUNDS_PER_RACE; round++) {
        const char *op = round % 2 == 0 ? "deposit" : "withdraw";
        int64_t sum = round % 2 == 0 ? 700 : 300;
        snprintf(path, sizeof path, "/api/accounts/%s/%s?sum=%" PRId64, n, op, sum);
        snprintf(key, sizeof key, "race-move-%d", round);
        struct ft_snapshot before = ft_snapshot(n);
        struct ft_response *first =
            race_one_key(round % 2 == 0 ? "PUT" : "POST", path, NULL, key, 200);
        balance += round % 2 == 0 ? sum : -sum;
        ck_assert_int_eq(ft_json_int(first, "balance"), balance);
        ft_response_free(first);
        struct ft_snapshot after = ft_snapshot(n);
        ck_assert_int_eq(after.balance_cents, balance);
        ck_assert_int_eq(after.entries, before.entries + 1);
        ck_assert_int_eq(after.all_entries, before.all_entries + 1);
        ck_assert_int_eq(key_count(key), 1);
        /* The key references the one new entry. */
        ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM idempotency_keys k JOIN entries e ON "
                                      "e.id = k.entry_id JOIN accounts a ON a.id = e.account_id "
                                      "WHERE k.key = $1 AND a.account_number = $2 AND e.id = "
                                      "(SELECT max(id) FROM entries WHERE account_id = a.id)",
                                      key, n, (const char *)NULL),
                         1);
    }
    ck_assert_int_eq(ft_balance(n), balance);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(twelve_concurrent_retries_of_a_transfer_move_the_money_exactly_once) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], body[256], key[64];
    ft_create_account(a);
    ft_create_account(b);
    ft_move(a, "deposit", 10000);
    for (int round = 0; round < ROUNDS_PER_RACE; round++) {
        transfer_body(body, sizeof body, a, b, 1000 + round);
        snprintf(key, sizeof key, "race-transfer-%d", round);
        int64_t transfers_before = transfers(), entries_before = ft_snapshot(NULL).all_entries;
        int64_t a_before = ft_balance(a), b_before = ft_balance(b);
        struct ft_response *first = race_one_key("POST", "/api/transfers", body, key, 201);
        ck_assert_int_eq(ft_json_int(first, "from_balance"), a_before - (1000 + round));
        ck_assert_int_eq(ft_json_int(first, "to_balance"), b_before + (1000 + round));
        ck_assert_int_eq(transfers(), transfers_before + 1);
        ck_assert_int_eq(ft_snapshot(NULL).all_entries, entries_before + 2);
        ck_assert_int_eq(ft_balance(a), a_before - (1000 + round));
        ck_assert_int_eq(ft_balance(b), b_before + (1000 + round));
        ck_assert_int_eq(key_count(key), 1);
        ck_assert_int_eq(ft_sql_int64("SELECT transfer_id FROM idempotency_keys WHERE key = $1",
                                      key, (const char *)NULL),
                         ft_json_int(first, "id"));
        ft_response_free(first);
    }
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(twelve_concurrent_retries_of_an_account_creation_create_exactly_one_account) {
    char key[64];
    for (int round = 0; round < ROUNDS_PER_RACE; round++) {
        snprintf(key, sizeof key, "race-create-%d", round);
        int64_t accounts_before = ft_snapshot(NULL).accounts;
        struct ft_response *first =
            round % 2 == 0
                ? race_one_key("POST", "/api/accounts", "{\"overdraft_limit\": 5}", key, 201)
                : race_one_key("POST", "/api/accounts/create", NULL, key, 200);
        ck_assert_int_eq(ft_snapshot(NULL).accounts, accounts_before + 1);
        ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM accounts WHERE account_number = $1",
                                      ft_json_str(first, "account_number"), (const char *)NULL),
                         1);
        ft_response_free(first);
    }
    ft_assert_ledger_invariants();
}
END_TEST

/* ---- a retry while the first is in flight -------------------------------------------------- */

struct in_flight {
    const char *base_url, *path, *key;
    struct ft_response *response; /* new */
    const char *authorization;    /* an Authorization header line, or NULL */
};

static void *send_deposit(void *arg) {
    struct in_flight *call = arg;
    char line[300];
    snprintf(line, sizeof line, "Idempotency-Key: %s", call->key);
    const char *headers[] = {line, call->authorization, NULL};
    CURL *curl = curl_easy_init();
    if (curl != NULL)
        call->response =
            ft_http_on_with_headers(curl, call->base_url, "PUT", call->path, NULL, 0, headers);
    curl_easy_cleanup(curl);
    return NULL;
}

START_TEST(a_retry_while_the_first_is_in_flight_waits_for_it_and_replays_it) {
    char n[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=60", n);
    struct in_flight calls[2];
    pthread_t threads[2];
    ft_hold_account(n);
    for (int i = 0; i < 2; i++) {
        calls[i] =
            (struct in_flight){ft_default_server()->base_url, path, "in-flight-wait", NULL, NULL};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, send_deposit, &calls[i]), 0);
        /* The first is blocked on the account; the second then waits for the first. */
        if (!ft_await_lock_waiters(i + 1, LOCK_WAIT_DEADLINE)) {
            ft_release_account();
            ck_abort_msg("request %d never waited for a lock", i + 1);
        }
    }
    ft_release_account();
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    ck_assert_ptr_nonnull(calls[0].response);
    ck_assert_ptr_nonnull(calls[1].response);
    /* Either may have reached the server first. */
    char value[64];
    int second_is_first =
        ft_header(calls[0].response, "Idempotent-Replayed", value, sizeof value) != NULL;
    struct ft_response *first = calls[second_is_first].response;
    struct ft_response *replay = calls[!second_is_first].response;
    ft_assert_status(first, 200);
    ck_assert_int_eq(ft_json_int(first, "balance"), 60);
    ft_assert_replay_of(first, replay);
    ft_response_free(first);
    ft_response_free(replay);
    ck_assert_int_eq(ft_balance(n), 60);
    ck_assert_int_eq(ft_snapshot(n).entries, 1);
    ft_assert_ledger_invariants();
}
END_TEST

/* Every wait for a lock is bounded: a first request stuck behind an account another session holds,
 * and its retry stuck behind the first's key, are each answered within seconds -- 503 or 409, with
 * Retry-After, having changed nothing -- while the account is still held; and since no outcome was
 * stored, the same request with the same key later goes through, once. */
START_TEST(
    a_first_request_and_its_retry_stuck_behind_a_held_account_are_refused_and_change_nothing) {
    char n[FT_ACCOUNT_SIZE], path[256], retry_after[64];
    ft_create_account(n);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=80", n);
    struct in_flight call = {ft_default_server()->base_url, path, "in-flight-busy", NULL, NULL};
    pthread_t thread;
    ft_hold_account(n);
    ck_assert_int_eq(pthread_create(&thread, NULL, send_deposit, &call), 0);
    if (!ft_await_lock_waiters(1, LOCK_WAIT_DEADLINE)) {
        ft_release_account();
        ck_abort_msg("the first request never waited for the account");
    }
    struct ft_response *retry = ft_http_keyed("PUT", path, NULL, "in-flight-busy");
    pthread_join(thread, NULL); /* the account is still held: the first is refused too */
    ft_release_account();

    struct ft_response *answers[] = {call.response, retry};
    for (int i = 0; i < 2; i++) {
        ck_assert_ptr_nonnull(answers[i]);
        ck_assert_msg(answers[i]->status == 503 || answers[i]->status == 409,
                      "%s answered %ld while the account was held: %s",
                      i ? "the retry" : "the first", answers[i]->status, answers[i]->body);
        ft_assert_error(answers[i], answers[i]->status,
                        answers[i]->status == 503 ? "unavailable" : "idempotency_key_in_use", NULL);
        ck_assert_ptr_nonnull(
            ft_header(answers[i], "Retry-After", retry_after, sizeof retry_after));
        ft_response_free(answers[i]);
    }
    ck_assert_int_eq(ft_balance(n), 0);
    ck_assert_int_eq(ft_snapshot(n).entries, 0);

    struct ft_response *later = ft_http_keyed("PUT", path, NULL, "in-flight-busy");
    ft_assert_status(later, 200);
    ft_assert_not_replayed(later);
    ck_assert_int_eq(ft_json_int(later, "balance"), 80);
    expect_replay(later, "PUT", path, NULL, "in-flight-busy");
    ft_response_free(later);
    ck_assert_int_eq(ft_balance(n), 80);
    ck_assert_int_eq(ft_snapshot(n).entries, 1);
    ft_assert_ledger_invariants();
}
END_TEST

/* ---- 5xx ------------------------------------------------------------------------------------ */

START_TEST(a_5xx_is_not_stored_and_a_retry_is_processed_afresh) {
    char n[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);
    ft_move(n, "deposit", 10);
    ft_sql_exec("CREATE FUNCTION mx_ft_idem_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'injected' USING ERRCODE = 'MXF02'; END $$",
                (const char *)NULL);
    ft_sql_exec("CREATE TRIGGER mx_ft_idem_fail BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE "
                "FUNCTION mx_ft_idem_fail()",
                (const char *)NULL);
    struct ft_snapshot before = ft_snapshot(n);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=15", n);
    struct ft_response *failed = ft_http_keyed("PUT", path, NULL, "after-5xx");
    ft_sql_exec("DROP TRIGGER mx_ft_idem_fail ON accounts", (const char *)NULL);
    ft_sql_exec("DROP FUNCTION mx_ft_idem_fail()", (const char *)NULL);
    ft_assert_error(failed, 500, "internal_error", NULL);
    ft_response_free(failed);
    ft_assert_unchanged(&before, n);
    ck_assert_int_eq(key_count("after-5xx"), 0);

    struct ft_response *first = first_answer("PUT", path, NULL, "after-5xx", 200);
    ck_assert_int_eq(ft_json_int(first, "balance"), 25);
    expect_replay(first, "PUT", path, NULL, "after-5xx");
    ft_response_free(first);
    ck_assert_int_eq(ft_balance(n), 25);
}
END_TEST

/* ---- expiry ---------------------------------------------------------------------------------- */

/* Makes a key through the API (a deposit of 1 on n) and backdates it by hours. */
static void aged_key(const char *n, const char *key, int hours) {
    char path[256], age[32];
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=1", n);
    struct ft_response *r = first_answer("PUT", path, NULL, key, 200);
    ft_response_free(r);
    snprintf(age, sizeof age, "%d hours", hours);
    ft_sql_exec("UPDATE idempotency_keys SET created_at = now() - $2::interval WHERE key = $1", key,
                age, (const char *)NULL);
}

/* Waits (bounded) until key is gone; asserting. */
static void await_swept(const char *key) {
    double deadline = ft_now() + SWEEP_DEADLINE_S;
    while (key_count(key) != 0) {
        ck_assert_msg(ft_now() < deadline, "key '%s' was not swept within %.0f s", key,
                      SWEEP_DEADLINE_S);
        ft_pause_ms(100);
    }
}

START_TEST(keys_older_than_24_h_are_swept_and_younger_ones_stay) {
    const char *env[] = {"MX_IDEMPOTENCY_SWEEP=1", NULL};
    struct ft_server *sweeper = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    char n[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);
    aged_key(n, "sweep-fresh", 0);
    aged_key(n, "sweep-23h", 23);
    aged_key(n, "sweep-25h", 25);
    await_swept("sweep-25h");
    /* One DELETE removed the old key: had it taken younger ones, they would be gone too. */
    ck_assert_int_eq(key_count("sweep-fresh"), 1);
    ck_assert_int_eq(key_count("sweep-23h"), 1);
    /* Gone means forgotten: the key now serves a new request. */
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=9", n);
    struct ft_response *r = first_answer("PUT", path, NULL, "sweep-25h", 200);
    ck_assert_int_eq(ft_json_int(r, "balance"), 3 + 9);
    ft_response_free(r);
    ck_assert_int_eq(ft_server_stop(sweeper), 0);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(mx_idempotency_ttl_sets_how_long_keys_are_kept) {
    const char *env[] = {"MX_IDEMPOTENCY_SWEEP=1", "MX_IDEMPOTENCY_TTL=172800", NULL};
    struct ft_server *sweeper = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    char n[FT_ACCOUNT_SIZE];
    ft_create_account(n);
    aged_key(n, "ttl-25h", 25);
    aged_key(n, "ttl-47h", 47);
    aged_key(n, "ttl-49h", 49);
    await_swept("ttl-49h");
    ck_assert_int_eq(key_count("ttl-25h"), 1);
    ck_assert_int_eq(key_count("ttl-47h"), 1);
    ck_assert_int_eq(ft_server_stop(sweeper), 0);
}
END_TEST

/* ---- the sweep and live keys: each way it could touch one ---------------------------------- */

#define TELLER_SECRET    "sweep-teller-Tq7vLx2Rm9zK"
#define OPS_SECRET       "sweep-ops-Zr8Hc5Yd1qWf6e"
#define AS_TELLER        "Authorization: Bearer " TELLER_SECRET
#define AS_OPS           "Authorization: Bearer " OPS_SECRET
#define SWEEP_BATCH_ROWS 1000 /* rows per DELETE, sweeper.c */

/* A server of this test's own with two API keys, teller and ops, that sweeps every second; it
 * becomes the default server. */
static struct ft_server *two_client_sweeper(void) {
    const char *env[] = {"MX_API_KEYS=teller:" TELLER_SECRET ",ops:" OPS_SECRET,
                         "MX_IDEMPOTENCY_SWEEP=1", NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ft_set_default_server(server);
    return server;
}

/* method path with an Authorization line and an Idempotency-Key (none when key is NULL). */
static struct ft_response *keyed_as(const char *authorization, const char *method, const char *path,
                                    const char *key) {
    char line[300];
    snprintf(line, sizeof line, "Idempotency-Key: %s", key != NULL ? key : "");
    const char *headers[] = {authorization, key != NULL ? line : NULL, NULL};
    return ft_http_with_headers(method, path, NULL, headers);
}

/* A first answer 200 to a keyed deposit of sum on n by a client; caller frees. */
static struct ft_response *deposit_as(const char *authorization, const char *n, int64_t sum,
                                      const char *key) {
    char path[256];
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=%" PRId64, n, sum);
    struct ft_response *r = keyed_as(authorization, "PUT", path, key);
    ft_assert_status(r, 200);
    ft_assert_not_replayed(r);
    return r;
}

/* Asserts that the client's deposit of first (sum on n, with key) sent again is first replayed. */
static void expect_deposit_replay(const char *authorization, const struct ft_response *first,
                                  const char *n, int64_t sum, const char *key) {
    char path[256];
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=%" PRId64, n, sum);
    struct ft_response *r = keyed_as(authorization, "PUT", path, key);
    ft_assert_replay_of(first, r);
    ft_response_free(r);
}

static void account_as(const char *authorization, char number[FT_ACCOUNT_SIZE]) {
    struct ft_response *r = keyed_as(authorization, "POST", "/api/accounts", NULL);
    ft_assert_status(r, 201);
    snprintf(number, FT_ACCOUNT_SIZE, "%s", ft_json_str(r, "account_number"));
    ft_response_free(r);
}

static int64_t client_key_count(const char *client, const char *key) {
    return ft_sql_int64("SELECT count(*) FROM idempotency_keys WHERE client = $1 AND key = $2",
                        client, key, (const char *)NULL);
}

/* Backdates the client's key by age (an interval), on a connection of its own, committed at
 * once: the harness's connection may be inside a transaction that holds an account. */
static void backdate(const char *client, const char *key, const char *age) {
    char conninfo[512], error[256];
    ft_conninfo(ft_db(), conninfo, sizeof conninfo);
    PGconn *conn = PQconnectdb(conninfo);
    const char *params[3] = {client, key, age};
    PGresult *result = PQexecParams(conn,
                                    "UPDATE idempotency_keys SET created_at = now() - $3::interval"
                                    " WHERE client = $1 AND key = $2",
                                    3, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    snprintf(error, sizeof error, "%s", PQerrorMessage(conn));
    PQclear(result);
    PQfinish(conn);
    ck_assert_msg(ok, "backdating %s's key '%s': %s", client, key, error);
}

/* Past the default time to live. */
static void expire(const char *client, const char *key) {
    backdate(client, key, "2 days");
}

/* Waits (bounded) until the client's key is gone; asserting. */
static void await_client_key_swept(const char *client, const char *key) {
    double deadline = ft_now() + SWEEP_DEADLINE_S;
    while (client_key_count(client, key) != 0) {
        ck_assert_msg(ft_now() < deadline, "%s's key '%s' was not swept within %.0f s", client, key,
                      SWEEP_DEADLINE_S);
        ft_pause_ms(100);
    }
}

START_TEST(a_clients_expired_key_is_swept_and_another_clients_same_key_still_replays) {
    struct ft_server *server = two_client_sweeper();
    char n[FT_ACCOUNT_SIZE];
    account_as(AS_TELLER, n);
    struct ft_response *teller = deposit_as(AS_TELLER, n, 100, "sweep-K1");
    struct ft_response *ops = deposit_as(AS_OPS, n, 100, "sweep-K1");
    ck_assert_int_eq(ft_snapshot(n).balance_cents, 200);

    expire("teller", "sweep-K1");
    await_client_key_swept("teller", "sweep-K1");
    /* ops' key is a day younger than the time to live: its faithful retry is a replay, and the
     * money moves once. */
    expect_deposit_replay(AS_OPS, ops, n, 100, "sweep-K1");
    ck_assert_int_eq(client_key_count("ops", "sweep-K1"), 1);
    ck_assert_int_eq(ft_snapshot(n).balance_cents, 200);
    ck_assert_int_eq(ft_snapshot(n).entries, 2);
    /* The teller's key, gone, serves a new request. */
    ft_response_free(deposit_as(AS_TELLER, n, 100, "sweep-K1"));
    ck_assert_int_eq(ft_snapshot(n).balance_cents, 300);
    ft_response_free(teller);
    ft_response_free(ops);
    ck_assert_int_eq(ft_server_stop(server), 0);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(a_clients_expired_key_is_swept_and_its_own_fresh_keys_still_replay) {
    struct ft_server *server = two_client_sweeper();
    char n[FT_ACCOUNT_SIZE];
    account_as(AS_TELLER, n);
    ft_response_free(deposit_as(AS_TELLER, n, 10, "sweep-own-old"));
    struct ft_response *fresh = deposit_as(AS_TELLER, n, 20, "sweep-own-fresh");
    struct ft_response *older = deposit_as(AS_TELLER, n, 30, "sweep-own-23h");
    backdate("teller", "sweep-own-23h", "23 hours");

    expire("teller", "sweep-own-old");
    await_client_key_swept("teller", "sweep-own-old");
    expect_deposit_replay(AS_TELLER, fresh, n, 20, "sweep-own-fresh");
    expect_deposit_replay(AS_TELLER, older, n, 30, "sweep-own-23h");
    ck_assert_int_eq(ft_snapshot(n).balance_cents, 60);
    ft_response_free(fresh);
    ft_response_free(older);
    ck_assert_int_eq(ft_server_stop(server), 0);
    ft_assert_ledger_invariants();
}
END_TEST

/* A key whose request is still running is claimed (its transaction holds it) but not yet
 * stored: the sweep neither waits for it nor takes its answer once it is stored. */
START_TEST(a_sweep_while_a_request_holds_its_key_leaves_that_key_and_its_answer) {
    struct ft_server *server = two_client_sweeper();
    char m[FT_ACCOUNT_SIZE], n[FT_ACCOUNT_SIZE], path[256];
    account_as(AS_TELLER, m);
    account_as(AS_TELLER, n);
    ft_response_free(deposit_as(AS_TELLER, m, 5, "sweep-busy"));

    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=70", n);
    struct in_flight call = {server->base_url, path, "sweep-busy", NULL, AS_OPS};
    pthread_t thread;
    ft_hold_account(n);
    ck_assert_int_eq(pthread_create(&thread, NULL, send_deposit, &call), 0);
    if (!ft_await_lock_waiters(1, LOCK_WAIT_DEADLINE)) {
        ft_release_account();
        ck_abort_msg("ops' deposit never waited for the account");
    }
    /* A sweep happens while ops' request holds the key. */
    expire("teller", "sweep-busy");
    await_client_key_swept("teller", "sweep-busy");
    ft_release_account();
    pthread_join(thread, NULL);

    ck_assert_ptr_nonnull(call.response);
    ft_assert_status(call.response, 200);
    ft_assert_not_replayed(call.response);
    ck_assert_int_eq(ft_json_int(call.response, "balance"), 70);
    /* Sweeps go on every second; the answer stays. */
    ck_assert_int_eq(client_key_count("ops", "sweep-busy"), 1);
    expect_deposit_replay(AS_OPS, call.response, n, 70, "sweep-busy");
    ck_assert_int_eq(ft_snapshot(n).balance_cents, 70);
    ck_assert_int_eq(ft_snapshot(n).entries, 1);
    ft_response_free(call.response);
    ck_assert_int_eq(ft_server_stop(server), 0);
    ft_assert_ledger_invariants();
}
END_TEST

/* Stored refusals (no effect) made in SQL, so that there can be thousands: count names of the
 * form "<prefix><i>" for client, created age ago. */
static void stored_refusals(const char *client, const char *prefix, int count, const char *age) {
    char count_text[16];
    snprintf(count_text, sizeof count_text, "%d", count);
    ft_sql_exec("INSERT INTO idempotency_keys (client, key, fingerprint, http_status, body,"
                " created_at) SELECT $1, $2 || i, 'x', 404, '{}', now() - $4::interval"
                " FROM generate_series(1, $3::int) i",
                client, prefix, count_text, age, (const char *)NULL);
}

static int64_t keys_like(const char *client, const char *pattern) {
    return ft_sql_int64("SELECT count(*) FROM idempotency_keys WHERE client = $1 AND key LIKE $2",
                        client, pattern, (const char *)NULL);
}

/* The teller's and ops' keys "batch-<i>" still stored. */
static int64_t expired_batch_keys(void) {
    return ft_sql_int64("SELECT count(*) FROM idempotency_keys WHERE client IN ('teller', 'ops')"
                        " AND key ~ '^batch-[0-9]+$'",
                        (const char *)NULL);
}

START_TEST(more_expired_keys_than_one_batch_all_go_in_bounded_batches_and_live_ones_stay) {
    /* Two clients' expired keys share their names with a third client's live ones; each client
     * also has live keys of other names. */
    const int names = 2 * SWEEP_BATCH_ROWS + SWEEP_BATCH_ROWS / 2;
    stored_refusals("teller", "batch-", names, "2 days");
    stored_refusals("ops", "batch-", names, "3 days");
    stored_refusals("auditor", "batch-", names, "1 hour");
    stored_refusals("teller", "batch-live-", 10, "0 seconds");
    stored_refusals("ops", "batch-live-", 10, "23 hours");
    /* Counts the rows of every DELETE on the table, one row per statement. */
    ft_sql_exec("CREATE TABLE mx_ft_sweep_batches (deleted bigint)", (const char *)NULL);
    ft_sql_exec("CREATE FUNCTION mx_ft_sweep_batch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "INSERT INTO mx_ft_sweep_batches SELECT count(*) FROM gone; RETURN NULL; END $$",
                (const char *)NULL);
    ft_sql_exec("CREATE TRIGGER mx_ft_sweep_batch AFTER DELETE ON idempotency_keys REFERENCING "
                "OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION mx_ft_sweep_batch()",
                (const char *)NULL);

    /* Its first sweep, at start-up, is its only one in this test: it must take every batch. */
    const char *env[] = {"MX_IDEMPOTENCY_SWEEP=600", NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    double deadline = ft_now() + SWEEP_DEADLINE_S;
    int64_t left;
    while ((left = expired_batch_keys()) != 0) {
        ck_assert_msg(ft_now() < deadline, "%" PRId64 " expired keys left after %.0f s", left,
                      SWEEP_DEADLINE_S);
        ft_pause_ms(100);
    }
    ck_assert_int_eq(ft_server_stop(server), 0);
    ck_assert_int_eq(keys_like("teller", "batch-live-%"), 10);
    ck_assert_int_eq(keys_like("ops", "batch-live-%"), 10);
    ck_assert_int_eq(keys_like("auditor", "batch-%"), names);
    int64_t largest =
        ft_sql_int64("SELECT max(deleted) FROM mx_ft_sweep_batches", (const char *)NULL);
    int64_t deleted =
        ft_sql_int64("SELECT sum(deleted) FROM mx_ft_sweep_batches", (const char *)NULL);
    ft_sql_exec("DROP TRIGGER mx_ft_sweep_batch ON idempotency_keys", (const char *)NULL);
    ft_sql_exec("DROP FUNCTION mx_ft_sweep_batch()", (const char *)NULL);
    ft_sql_exec("DROP TABLE mx_ft_sweep_batches", (const char *)NULL);
    ck_assert_msg(largest <= SWEEP_BATCH_ROWS, "one DELETE took %" PRId64 " rows", largest);
    ck_assert_int_ge(deleted, 2 * names);
}
END_TEST

START_TEST(invalid_idempotency_ttl_or_sweep_exits_2_with_one_line_on_stderr) {
    const char *cases[] = {"MX_IDEMPOTENCY_TTL=3600",  "MX_IDEMPOTENCY_TTL=86399",
                           "MX_IDEMPOTENCY_TTL=abc",   "MX_IDEMPOTENCY_TTL=-86400",
                           "MX_IDEMPOTENCY_TTL=0",     "MX_IDEMPOTENCY_TTL=86400.5",
                           "MX_IDEMPOTENCY_SWEEP=abc", "MX_IDEMPOTENCY_SWEEP=-1",
                           "MX_IDEMPOTENCY_SWEEP=1.5", "MX_IDEMPOTENCY_SWEEP=10s"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ft_assert_config_refused(cases[i], "MX_IDEMPOTENCY_");
    /* The boundaries are valid. */
    const char *env[] = {"MX_IDEMPOTENCY_TTL=86400", "MX_IDEMPOTENCY_SWEEP=0", NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("idempotency");
    FT_ADD_TEST(
        s, replay_of_a_deposit_or_withdrawal_is_the_stored_answer_byte_for_byte_and_moves_nothing);
    FT_ADD_TEST(s, keyed_account_creation_creates_exactly_one_account_and_replays_its_answer);
    FT_ADD_TEST(s, keyed_transfer_replay_is_the_stored_201_with_its_location_and_moves_nothing);
    FT_ADD_TEST(s, refusals_are_stored_and_replayed_byte_for_byte_even_after_the_account_changed);
    FT_ADD_TEST(s, key_reused_with_another_sum_is_422_idempotency_key_reused_and_moves_nothing);
    FT_ADD_TEST(s, a_sum_sent_in_the_body_is_part_of_the_keys_request);
    FT_ADD_TEST(s, key_reused_on_another_route_method_or_account_is_422_and_changes_nothing);
    FT_ADD_TEST(s, invalid_keys_are_400_invalid_request_and_change_nothing);
    FT_ADD_TEST(s, keys_of_1_to_255_printable_characters_are_accepted_and_kept_exactly);
    FT_ADD_TEST(s, the_key_is_checked_after_route_and_method_and_before_sum_body_and_account);
    FT_ADD_TEST(s, requests_refused_with_400_neither_use_nor_consult_the_key);
    FT_ADD_TEST(s, keys_are_ignored_on_get_and_head);
    FT_ADD_TEST(s, twelve_concurrent_retries_of_a_deposit_move_the_money_exactly_once);
    FT_ADD_TEST(s, a_database_defaulting_to_serializable_still_serves_races_and_retries);
    FT_ADD_TEST(s, twelve_concurrent_retries_of_a_transfer_move_the_money_exactly_once);
    FT_ADD_TEST(s, twelve_concurrent_retries_of_an_account_creation_create_exactly_one_account);
    FT_ADD_TEST(s, a_retry_while_the_first_is_in_flight_waits_for_it_and_replays_it);
    FT_ADD_TEST(
        s,
        a_first_request_and_its_retry_stuck_behind_a_held_account_are_refused_and_change_nothing);
    FT_ADD_TEST(s, a_5xx_is_not_stored_and_a_retry_is_processed_afresh);
    FT_ADD_TEST(s, keys_older_than_24_h_are_swept_and_younger_ones_stay);
    FT_ADD_TEST(s, mx_idempotency_ttl_sets_how_long_keys_are_kept);
    FT_ADD_TEST(s, a_clients_expired_key_is_swept_and_another_clients_same_key_still_replays);
    FT_ADD_TEST(s, a_clients_expired_key_is_swept_and_its_own_fresh_keys_still_replay);
    FT_ADD_TEST(s, a_sweep_while_a_request_holds_its_key_leaves_that_key_and_its_answer);
    FT_ADD_TEST(s, more_expired_keys_than_one_batch_all_go_in_bounded_batches_and_live_ones_stay);
    FT_ADD_TEST(s, invalid_idempotency_ttl_or_sweep_exits_2_with_one_line_on_stderr);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
