/* References and metadata: a deposit, withdrawal, transfer, hold or capture may carry the
 * client's own "reference" (1 to 64 printable characters, unique per account among its
 * movements) and "metadata" (an object of at most 20 strings); both come back in the history,
 * the transfer and the hold. A second movement with a reference the account has is
 * 409 duplicate_reference and moves nothing -- also when the two race; Idempotency-Keys work
 * beside references, as a separate mechanism. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct ft_response *post(const char *path, const char *body, const char *key) {
    char line[300];
    snprintf(line, sizeof line, "Idempotency-Key: %s", key != NULL ? key : "");
    const char *headers[] = {line, NULL};
    return ft_http_with_headers("POST", path, body, key != NULL ? headers : NULL);
}

/* The newest entry of number's history (new reference; json_decref it). */
static json_t *newest_entry(const char *number) {
    char path[256];
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?limit=1", number);
    struct ft_response *r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    json_t *entry = json_incref(json_array_get(json_object_get(r->json, "transactions"), 0));
    ft_response_free(r);
    ck_assert_ptr_nonnull(entry);
    return entry;
}

static void assert_tags(const json_t *object, const char *reference, const char *order) {
    ck_assert_str_eq(json_string_value(json_object_get(object, "reference")), reference);
    const json_t *metadata = json_object_get(object, "metadata");
    ck_assert_msg(json_is_object(metadata), "no metadata object");
    ck_assert_str_eq(json_string_value(json_object_get(metadata, "order")), order);
}

START_TEST(a_movement_carries_its_reference_and_metadata_to_the_history_transfer_and_hold) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], path[256], body[512];
    ft_create_account(a);
    ft_create_account(b);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit", a);
    struct ft_response *r = post(
        path, "{\"sum\": 1000, \"reference\": \"inv-1\", \"metadata\": {\"order\": \"41\"}}", NULL);
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "balance"), 1000);
    ft_response_free(r);
    json_t *entry = newest_entry(a);
    assert_tags(entry, "inv-1", "41");
    json_decref(entry);

    snprintf(body, sizeof body,
             "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 300, \"reference\": \"pay-7\", "
             "\"metadata\": {\"order\": \"42\", \"note\": \"caf\\u00e9, \\\"quoted\\\"\"}}",
             a, b);
    r = post("/api/transfers", body, NULL);
    ft_assert_status(r, 201);
    assert_tags(r->json, "pay-7", "42");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(r->json, "metadata"), "note")),
        "caf\xc3\xa9, \"quoted\"");
    char location[128];
    ck_assert_ptr_nonnull(ft_header(r, "Location", location, sizeof location));
    ft_response_free(r);
    r = ft_http("GET", location, NULL);
    ft_assert_status(r, 200);
    assert_tags(r->json, "pay-7", "42");
    ft_response_free(r);
    /* Both legs carry them. */
    const char *legs[] = {a, b};
    for (int i = 0; i < 2; i++) {
        entry = newest_entry(legs[i]);
        assert_tags(entry, "pay-7", "42");
        json_decref(entry);
    }

    snprintf(path, sizeof path, "/api/accounts/%s/holds", a);
    r = post(path, "{\"sum\": 100, \"reference\": \"hold-3\", \"metadata\": {\"order\": \"43\"}}",
             NULL);
    ft_assert_status(r, 201);
    assert_tags(r->json, "hold-3", "43");
    int64_t hold = ft_json_int(r, "id");
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/holds/%" PRId64 "/capture", hold);
    r = post(path, "{\"reference\": \"cap-3\", \"metadata\": {\"order\": \"44\"}}", NULL);
    ft_assert_status(r, 200);
    assert_tags(r->json, "hold-3", "43"); /* the hold, as it was made */
    ft_response_free(r);
    entry = newest_entry(a);
    ck_assert_str_eq(json_string_value(json_object_get(entry, "type")), "capture");
    assert_tags(entry, "cap-3", "44");
    json_decref(entry);

    /* The original route, with the sum in the query and the reference in the body. */
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw?sum=5", b);
    r = ft_http("PUT", path, "{\"reference\": \"atm-1\"}");
    ft_assert_status(r, 200);
    ft_response_free(r);
    entry = newest_entry(b);
    ck_assert_str_eq(json_string_value(json_object_get(entry, "reference")), "atm-1");
    ck_assert_ptr_null(json_object_get(entry, "metadata"));
    json_decref(entry);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(a_second_movement_with_a_reference_the_account_has_is_409_and_moves_nothing) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], path[256], body[256];
    ft_create_account(a);
    ft_create_account(b);
    ft_move(a, "deposit", 1000);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit", a);
    struct ft_response *r = post(path, "{\"sum\": 10, \"reference\": \"r-1\"}", NULL);
    ft_assert_status(r, 200);
    ft_response_free(r);
    struct ft_snapshot before = ft_snapshot(a);
    ft_expect_error("POST", path, "{\"sum\": 10, \"reference\": \"r-1\"}", NULL, 409,
                    "duplicate_reference", NULL);
    snprintf(path, sizeof path, "/api/accounts/%s/withdraw", a);
    ft_expect_error("POST", path, "{\"sum\": 10, \"reference\": \"r-1\"}", NULL, 409,
                    "duplicate_reference", NULL);
    snprintf(body, sizeof body,
             "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 1, \"reference\": \"r-1\"}", a, b);
    ft_expect_error("POST", "/api/transfers", body, NULL, 409, "duplicate_reference", NULL);
    snprintf(path, sizeof path, "/api/accounts/%s/holds", a);
    ft_expect_error("POST", path, "{\"sum\": 1, \"reference\": \"r-1\"}", NULL, 409,
                    "duplicate_reference", NULL);
    ft_assert_unchanged(&before, a);

    /* A reference belongs to one account: another may use it, the receiver of a transfer too. */
    snprintf(path, sizeof path, "/api/accounts/%s/deposit", b);
    r = post(path, "{\"sum\": 10, \"reference\": \"r-1\"}", NULL);
    ft_assert_status(r, 200);
    ft_response_free(r);
    snprintf(body, sizeof body,
             "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 1, \"reference\": \"t-1\"}", a, b);
    r = post("/api/transfers", body, NULL);
    ft_assert_status(r, 201);
    ft_response_free(r);
    r = post(path, "{\"sum\": 10, \"reference\": \"t-1\"}", NULL);
    ft_assert_status(r, 200);
    ft_response_free(r);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(movements_racing_with_one_reference_move_the_money_once) {
    enum { CALLS = 12 };
    char a[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(a);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit", a);
    struct ft_call *calls[CALLS];
    for (int i = 0; i < CALLS; i++)
        calls[i] = ft_call_start("POST", path, "{\"sum\": 25, \"reference\": \"once\"}", NULL);
    int landed = 0;
    for (int i = 0; i < CALLS; i++) {
        struct ft_response *r = ft_call_finish(calls[i]);
        if (r->status == 200)
            landed++;
        else
            ft_assert_error(r, 409, "duplicate_reference", NULL);
        ft_response_free(r);
    }
    ck_assert_int_eq(landed, 1);
    ck_assert_int_eq(ft_balance(a), 25);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(an_idempotency_key_works_beside_a_reference) {
    char a[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(a);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit", a);
    const char *body =
        "{\"sum\": 70, \"reference\": \"k-1\", \"metadata\": {\"b\": \"2\", \"a\": \"1\"}}";
    struct ft_response *first = post(path, body, "key-1");
    ft_assert_status(first, 200);
    /* The same request again -- the metadata's members in another order is the same request --
     * is the stored answer, not a duplicate reference. */
    struct ft_response *again = post(
        path, "{\"metadata\": {\"a\": \"1\", \"b\": \"2\"}, \"reference\": \"k-1\", \"sum\": 70}",
        "key-1");
    ft_assert_replay_of(first, again);
    ft_response_free(again);
    ft_response_free(first);
    ck_assert_int_eq(ft_balance(a), 70);
    struct ft_response *r = post(path, "{\"sum\": 70, \"reference\": \"k-2\"}", "key-1");
    ft_assert_error(r, 422, "idempotency_key_reused", NULL);
    ft_response_free(r);
    /* A new key with the used reference: the reference says no. */
    r = post(path, body, "key-2");
    ft_assert_error(r, 409, "duplicate_reference", NULL);
    ft_response_free(r);
    ck_assert_int_eq(ft_balance(a), 70);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(a_bad_reference_or_metadata_is_400_naming_it_and_moves_nothing) {
    char a[FT_ACCOUNT_SIZE], path[256], body[4096];
    ft_create_account(a);
    ft_move(a, "deposit", 100);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit", a);
    struct ft_snapshot before = ft_snapshot(a);
    char long_key[64], long_value[600];
    memset(long_key, 'k', 41);
    long_key[41] = '\0';
    memset(long_value, 'v', 501);
    long_value[501] = '\0';
    char many[1024] = "";
    for (int i = 0; i < 21; i++) {
        size_t used = strlen(many);
        snprintf(many + used, sizeof many - used, "%s\"k%d\": \"v\"", i == 0 ? "" : ", ", i);
    }
    const struct {
        const char *tags, *field;
    } bad[] = {
        {"\"reference\": \"\"", "reference"},
        {"\"reference\": \"0123456789012345678901234567890123456789012345678901234567890123x\"",
         "reference"},
        {"\"reference\": \"caf\\u00e9\"", "reference"},
        {"\"reference\": \"tab\\there\"", "reference"},
        {"\"reference\": 7", "reference"},
        {"\"metadata\": [\"a\"]", "metadata"},
        {"\"metadata\": \"text\"", "metadata"},
        {"\"metadata\": {\"n\": 1}", "metadata"},
        {"\"metadata\": {\"\": \"empty key\"}", "metadata"},
        {NULL, "metadata"}, /* the long key */
        {NULL, "metadata"}, /* the long value */
        {NULL, "metadata"}, /* 21 keys */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (i == 9)
            snprintf(body, sizeof body, "{\"sum\": 1, \"metadata\": {\"%s\": \"v\"}}", long_key);
        else if (i == 10)
            snprintf(body, sizeof body, "{\"sum\": 1, \"metadata\": {\"k\": \"%s\"}}", long_value);
        else if (i == 11)
            snprintf(body, sizeof body, "{\"sum\": 1, \"metadata\": {%s}}", many);
        else
            snprintf(body, sizeof body, "{\"sum\": 1, %s}", bad[i].tags);
        struct ft_response *r = post(path, body, NULL);
        ft_assert_error(r, 400, "invalid_request", NULL);
        ft_assert_error_field(r, bad[i].field);
        ft_response_free(r);
    }
    ft_assert_unchanged(&before, a);
    /* At the limits: 64 characters, 20 keys of 40, values of 500 characters (é is one). */
    /* About 62 KB, inside the default MX_BODY_LIMIT of 64 KiB. */
    enum { LIMITS_SIZE = 65536 };
    char *limits = malloc(LIMITS_SIZE);
    ck_assert_ptr_nonnull(limits);
    snprintf(limits, LIMITS_SIZE,
             "{\"sum\": 1, \"reference\": "
             "\"0123456789012345678901234567890123456789012345678901234567890123\", "
             "\"metadata\": {");
    for (int i = 0; i < 20; i++) {
        size_t used = strlen(limits);
        used += (size_t)snprintf(limits + used, LIMITS_SIZE - used, "%s\"%02d%.38s\": \"",
                                 i == 0 ? "" : ", ", i, long_key);
        for (int c = 0; c < 500; c++)
            used += (size_t)snprintf(limits + used, LIMITS_SIZE - used, "\\u00e9");
        snprintf(limits + used, LIMITS_SIZE - used, "\"");
    }
    strcat(limits, "}}");
    struct ft_response *r = post(path, limits, NULL);
    free(limits);
    ft_assert_status(r, 200);
    ft_response_free(r);
    json_t *entry = newest_entry(a);
    ck_assert_uint_eq(json_object_size(json_object_get(entry, "metadata")), 20);
    json_decref(entry);
}
END_TEST

int main(void) {
    Suite *s = suite_create("references");
    FT_ADD_TEST(s, a_movement_carries_its_reference_and_metadata_to_the_history_transfer_and_hold);
    FT_ADD_TEST(s, a_second_movement_with_a_reference_the_account_has_is_409_and_moves_nothing);
    FT_ADD_TEST(s, movements_racing_with_one_reference_move_the_money_once);
    FT_ADD_TEST(s, an_idempotency_key_works_beside_a_reference);
    FT_ADD_TEST(s, a_bad_reference_or_metadata_is_400_naming_it_and_moves_nothing);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
