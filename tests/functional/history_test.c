/* The ledger contract, "History": GET /api/accounts/{n}/transactions lists an account's journal
 * newest first, with keyset pagination ("next") that never repeats or skips an entry, even while
 * new ones arrive. The server of this suite is configured with DATABASE_URL as a keyword/value
 * conninfo. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define ACCOUNT_NOT_FOUND_MESSAGE "account does not exist"
#define MAX_IDS                   64

/* The ids of number's journal, newest first, from the database; returns how many. */
static int journal_ids(const char *number, int64_t ids[MAX_IDS]) {
    const char *text = ft_sql_text("SELECT string_agg(e.id::text, ',' ORDER BY e.id DESC) FROM "
                                   "entries e JOIN accounts a ON a.id = e.account_id "
                                   "WHERE a.account_number = $1",
                                   number, (const char *)NULL);
    int count = 0;
    for (const char *p = text; *p != '\0' && count < MAX_IDS;) {
        char *end = NULL;
        ids[count++] = strtoll(p, &end, 10);
        p = *end == ',' ? end + 1 : end;
    }
    return count;
}

/* Asserts the shape of one entry: the common fields, and transfer_id and counterparty exactly
 * for the two transfer types, with the sign of amount following the type. */
static void assert_entry_shape(const json_t *entry, const char *body) {
    ck_assert_msg(json_is_object(entry), "an entry is not an object: %s", body);
    const char *type = json_string_value(json_object_get(entry, "type"));
    ck_assert_msg(json_is_integer(json_object_get(entry, "id")), "entry without an integer id: %s",
                  body);
    ck_assert_msg(json_is_integer(json_object_get(entry, "amount")), "entry without amount: %s",
                  body);
    ck_assert_msg(json_is_integer(json_object_get(entry, "balance_after")),
                  "entry without balance_after: %s", body);
    ck_assert_msg(ft_is_timestamp(json_string_value(json_object_get(entry, "created_at"))),
                  "entry without a created_at timestamp: %s", body);
    ck_assert_msg(type != NULL, "entry without type: %s", body);
    json_int_t amount = json_integer_value(json_object_get(entry, "amount"));
    int transfer = strcmp(type, "transfer_in") == 0 || strcmp(type, "transfer_out") == 0;
    int positive = strcmp(type, "deposit") == 0 || strcmp(type, "transfer_in") == 0;
    ck_assert_msg(transfer || positive || strcmp(type, "withdrawal") == 0, "unknown type %s: %s",
                  type, body);
    ck_assert_msg(positive ? amount > 0 : amount < 0, "%s with amount %lld: %s", type,
                  (long long)amount, body);
    ck_assert_msg(json_is_integer(json_object_get(entry, "transfer_id")) == transfer,
                  "%s: transfer_id %s: %s", type, transfer ? "missing" : "present", body);
    ck_assert_msg(json_is_string(json_object_get(entry, "counterparty")) == transfer,
                  "%s: counterparty %s: %s", type, transfer ? "missing" : "present", body);
}

/* GET path: asserts 200, JSON, a "transactions" array of well-shaped entries with strictly
 * decreasing ids, and "next" a string or null. The caller frees. */
static struct ft_response *get_page(const char *path) {
    struct ft_response *r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    ft_assert_json(r);
    json_t *list = json_object_get(r->json, "transactions");
    ck_assert_msg(json_is_array(list), "GET %s: no \"transactions\" array: %s", path, r->body);
    json_t *next = json_object_get(r->json, "next");
    ck_assert_msg(json_is_string(next) || json_is_null(next),
                  "GET %s: \"next\" is neither a string nor null: %s", path, r->body);
    json_int_t previous = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *entry = json_array_get(list, i);
        assert_entry_shape(entry, r->body);
        json_int_t id = json_integer_value(json_object_get(entry, "id"));
        ck_assert_msg(i == 0 || id < previous, "GET %s: ids not strictly decreasing: %s", path,
                      r->body);
        previous = id;
    }
    return r;
}

static size_t page_size(const struct ft_response *r) {
    return json_array_size(json_object_get(r->json, "transactions"));
}

static json_t *entry_at(const struct ft_response *r, size_t i) {
    return json_array_get(json_object_get(r->json, "transactions"), i);
}

static int64_t entry_id(const struct ft_response *r, size_t i) {
    return (int64_t)json_integer_value(json_object_get(entry_at(r, i), "id"));
}

/* The "next" link, or NULL (borrowed from r). */
static const char *next_link(const struct ft_response *r) {
    return json_string_value(json_object_get(r->json, "next"));
}

/* Asserts "next" is exactly the documented link for limit and the last entry of r. */
static void assert_next_is(const struct ft_response *r, const char *number, int limit) {
    char expected[256];
    ck_assert_uint_gt(page_size(r), 0);
    snprintf(expected, sizeof expected, "/api/accounts/%s/transactions?limit=%d&before=%" PRId64,
             number, limit, entry_id(r, page_size(r) - 1));
    ck_assert_msg(next_link(r) != NULL, "%s: next is null, expected %s: %s", r->what, expected,
                  r->body);
    ck_assert_str_eq(next_link(r), expected);
}

/* Follows "next" from path to the end; writes the ids seen, in order, and returns how many;
 * asserts at most limit entries per page and the exact next link. */
static int walk(const char *number, int limit, int64_t ids[MAX_IDS], int *pages) {
    char path[256];
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?limit=%d", number, limit);
    int count = 0;
    *pages = 0;
    for (;;) {
        ck_assert_int_lt(*pages, MAX_IDS);
        struct ft_response *r = get_page(path);
        (*pages)++;
        ck_assert_uint_le(page_size(r), (size_t)limit);
        for (size_t i = 0; i < page_size(r); i++) {
            ck_assert_int_lt(count, MAX_IDS);
            ids[count] = entry_id(r, i);
            ck_assert_msg(count == 0 || ids[count] < ids[count - 1],
                          "entry %" PRId64 " after %" PRId64 " across pages", ids[count],
                          ids[count - 1]);
            count++;
        }
        if (next_link(r) == NULL) {
            ft_response_free(r);
            return count;
        }
        assert_next_is(r, number, limit);
        snprintf(path, sizeof path, "%s", next_link(r));
        ft_response_free(r);
    }
}

/* Movements on a new account: count of them, alternating deposits and smaller withdrawals. */
static void account_with_entries(char number[FT_ACCOUNT_SIZE], int count) {
    ft_create_account(number);
    for (int i = 0; i < count; i++)
        ft_move(number, i % 3 == 2 ? "withdraw" : "deposit", i % 3 == 2 ? 5 : 10 + i);
}

START_TEST(paging_7_entries_by_3_sees_each_exactly_once_newest_first) {
    char n[FT_ACCOUNT_SIZE];
    int64_t expected[MAX_IDS], seen[MAX_IDS];
    account_with_entries(n, 7);
    int total = journal_ids(n, expected);
    ck_assert_int_eq(total, 7);
    int pages = 0;
    int count = walk(n, 3, seen, &pages);
    ck_assert_int_eq(pages, 3);
    ck_assert_int_eq(count, 7);
    for (int i = 0; i < total; i++)
        ck_assert_int_eq(seen[i], expected[i]);
}
END_TEST

START_TEST(next_is_null_exactly_when_no_older_entry_exists) {
    char n[FT_ACCOUNT_SIZE], path[256];
    account_with_entries(n, 6);
    int64_t seen[MAX_IDS];
    int pages = 0;
    /* 6 by 3: the second page is full and the last, so its next is null. */
    ck_assert_int_eq(walk(n, 3, seen, &pages), 6);
    ck_assert_int_eq(pages, 2);
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?limit=6", n);
    struct ft_response *r = get_page(path);
    ck_assert_uint_eq(page_size(r), 6);
    ck_assert_ptr_null(next_link(r));
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?limit=5", n);
    r = get_page(path);
    ck_assert_uint_eq(page_size(r), 5);
    assert_next_is(r, n, 5);
    ft_response_free(r);
}
END_TEST

START_TEST(paging_while_new_entries_arrive_never_repeats_or_skips_the_older_ones) {
    char n[FT_ACCOUNT_SIZE], other[FT_ACCOUNT_SIZE], path[256];
    int64_t expected[MAX_IDS];
    account_with_entries(n, 7);
    ft_create_account(other);
    ft_move(other, "deposit", 1000);
    ck_assert_int_eq(journal_ids(n, expected), 7);

    snprintf(path, sizeof path, "/api/accounts/%s/transactions?limit=3", n);
    int64_t seen[MAX_IDS];
    int count = 0;
    for (int page = 0; page < 3; page++) {
        struct ft_response *r = get_page(path);
        for (size_t i = 0; i < page_size(r); i++)
            seen[count++] = entry_id(r, i);
        /* New entries of every kind arrive between the pages. */
        ft_move(n, "deposit", 7);
        ft_transfer(other, n, 3);
        ft_transfer(n, other, 2);
        ft_move(n, "withdraw", 1);
        if (page < 2) {
            assert_next_is(r, n, 3);
            snprintf(path, sizeof path, "%s", next_link(r));
        } else {
            ck_assert_ptr_null(next_link(r));
        }
        ft_response_free(r);
    }
    ck_assert_int_eq(count, 7);
    for (int i = 0; i < 7; i++)
        ck_assert_int_eq(seen[i], expected[i]);
    /* The 12 new entries are on a fresh first page, before the 7 old ones. */
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?limit=19", n);
    struct ft_response *r = get_page(path);
    ck_assert_uint_eq(page_size(r), 19);
    ck_assert_int_eq(entry_id(r, 12), expected[0]);
    ck_assert_ptr_null(next_link(r));
    ft_response_free(r);
}
END_TEST

/* Asserts entry i of r: type, amount, balance_after, and (for transfers) transfer_id and
 * counterparty (NULL for neither). */
static void assert_entry(const struct ft_response *r, size_t i, const char *type, int64_t amount,
                         int64_t balance_after, int64_t transfer_id, const char *counterparty) {
    json_t *entry = entry_at(r, i);
    ck_assert_msg(entry != NULL, "no entry %zu: %s", i, r->body);
    ck_assert_str_eq(json_string_value(json_object_get(entry, "type")), type);
    ck_assert_int_eq(json_integer_value(json_object_get(entry, "amount")), amount);
    ck_assert_int_eq(json_integer_value(json_object_get(entry, "balance_after")), balance_after);
    if (counterparty != NULL) {
        ck_assert_int_eq(json_integer_value(json_object_get(entry, "transfer_id")), transfer_id);
        ck_assert_str_eq(json_string_value(json_object_get(entry, "counterparty")), counterparty);
    }
}

START_TEST(entries_show_type_signed_amount_balance_after_and_transfer_details) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(a);
    ft_create_account(b);
    ft_move(a, "deposit", 500);
    ft_move(a, "withdraw", 120);
    int64_t out = ft_transfer(a, b, 80);
    ft_move(b, "deposit", 40);
    int64_t in = ft_transfer(b, a, 30);

    snprintf(path, sizeof path, "/api/accounts/%s/transactions", a);
    struct ft_response *r = get_page(path);
    ck_assert_uint_eq(page_size(r), 4);
    assert_entry(r, 0, "transfer_in", 30, 330, in, b);
    assert_entry(r, 1, "transfer_out", -80, 300, out, b);
    assert_entry(r, 2, "withdrawal", -120, 380, 0, NULL);
    assert_entry(r, 3, "deposit", 500, 500, 0, NULL);
    ck_assert_ptr_null(next_link(r));
    int64_t ids[MAX_IDS];
    ck_assert_int_eq(journal_ids(a, ids), 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(entry_id(r, (size_t)i), ids[i]);
    ft_response_free(r);

    snprintf(path, sizeof path, "/api/accounts/%s/transactions", b);
    r = get_page(path);
    ck_assert_uint_eq(page_size(r), 3);
    assert_entry(r, 0, "transfer_out", -30, 90, in, a);
    assert_entry(r, 1, "deposit", 40, 120, 0, NULL);
    assert_entry(r, 2, "transfer_in", 80, 80, out, a);
    ft_response_free(r);
}
END_TEST

START_TEST(default_limit_is_20_and_limits_1_to_100_are_accepted) {
    char n[FT_ACCOUNT_SIZE], path[256];
    account_with_entries(n, 25);
    int64_t ids[MAX_IDS];
    ck_assert_int_eq(journal_ids(n, ids), 25);

    snprintf(path, sizeof path, "/api/accounts/%s/transactions", n);
    struct ft_response *r = get_page(path);
    ck_assert_uint_eq(page_size(r), 20);
    ck_assert_int_eq(entry_id(r, 19), ids[19]);
    ck_assert_ptr_nonnull(next_link(r));
    char before[64];
    snprintf(before, sizeof before, "before=%" PRId64, ids[19]);
    ck_assert_msg(strstr(next_link(r), before) != NULL, "next %s lacks %s", next_link(r), before);
    snprintf(path, sizeof path, "%s", next_link(r));
    ft_response_free(r);
    r = get_page(path);
    ck_assert_uint_eq(page_size(r), 5);
    ck_assert_int_eq(entry_id(r, 0), ids[20]);
    ck_assert_ptr_null(next_link(r));
    ft_response_free(r);

    const int limits[] = {1, 100};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s/transactions?limit=%d", n, limits[i]);
        r = get_page(path);
        ck_assert_uint_eq(page_size(r), limits[i] < 25 ? (size_t)limits[i] : 25);
        ck_assert_int_eq(entry_id(r, 0), ids[0]);
        ck_assert_int_eq(next_link(r) != NULL, limits[i] < 25);
        ft_response_free(r);
    }
}
END_TEST

START_TEST(before_lists_only_older_entries) {
    char n[FT_ACCOUNT_SIZE], path[256];
    account_with_entries(n, 6);
    int64_t ids[MAX_IDS];
    ck_assert_int_eq(journal_ids(n, ids), 6);
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?before=%" PRId64, n, ids[2]);
    struct ft_response *r = get_page(path);
    ck_assert_uint_eq(page_size(r), 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert_int_eq(entry_id(r, i), ids[3 + i]);
    ck_assert_ptr_null(next_link(r));
    ft_response_free(r);

    /* The greatest canonical before, and a before older than everything. */
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?before=9007199254740991", n);
    r = get_page(path);
    ck_assert_uint_eq(page_size(r), 6);
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?before=%" PRId64 "&limit=2", n,
             ids[5]);
    r = get_page(path);
    ck_assert_uint_eq(page_size(r), 0);
    ck_assert_ptr_null(next_link(r));
    ft_response_free(r);
    /* Other query parameters are ignored. */
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?colour=red&limit=2&page=9", n);
    r = get_page(path);
    ck_assert_uint_eq(page_size(r), 2);
    ck_assert_int_eq(entry_id(r, 0), ids[0]);
    ft_response_free(r);
}
END_TEST

START_TEST(invalid_limit_or_before_is_400_invalid_request) {
    char n[FT_ACCOUNT_SIZE], typo[FT_ACCOUNT_SIZE], path[256];
    account_with_entries(n, 2);
    ft_mistype(n, typo);
    const char *queries[] = {"limit=0",
                             "limit=101",
                             "limit=abc",
                             "limit=-1",
                             "limit=01",
                             "limit=1.5",
                             "limit=",
                             "limit=%2B3",
                             "limit=3&limit=3",
                             "limit=3&limit=4",
                             "limit=99999999999999999999",
                             "before=0",
                             "before=abc",
                             "before=01",
                             "before=-1",
                             "before=",
                             "before=9007199254740992",
                             "before=1e3",
                             "before=5&before=5",
                             "limit=2&before=x"};
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s/transactions?%s", n, queries[i]);
        struct ft_response *r = ft_http("GET", path, NULL);
        if (r->status != 400)
            ck_abort_msg("GET %s: expected 400 invalid_request, got %ld %s", path, r->status,
                         r->body);
        ft_assert_error(r, 400, "invalid_request", NULL);
        /* The sentence and "field" name the parameter at fault. */
        const char *field = strstr(queries[i], "before") != NULL ? "before" : "limit";
        ft_assert_error_field(r, field);
        ck_assert_msg(strncmp(ft_json_str(r, "error"), field, strlen(field)) == 0,
                      "GET %s: the sentence does not name %s: %s", path, field, r->body);
        ft_response_free(r);
    }
    /* Input before the account: a bad limit on a mistyped account is still a 400. */
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?limit=0", typo);
    ft_expect_error("GET", path, NULL, NULL, 400, "invalid_request", NULL);
}
END_TEST

START_TEST(unknown_or_malformed_account_history_is_404_account_not_found) {
    char n[FT_ACCOUNT_SIZE], gone[FT_ACCOUNT_SIZE], typo[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);
    ft_create_account(gone);
    ft_sql_exec("DELETE FROM accounts WHERE account_number = $1", gone, (const char *)NULL);
    ft_mistype(n, typo);
    const char *numbers[] = {gone, typo, "abc", "0", "12345678901234567890"};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        snprintf(path, sizeof path, "/api/accounts/%s/transactions?limit=5", numbers[i]);
        ft_expect_error("GET", path, NULL, NULL, 404, "account_not_found",
                        ACCOUNT_NOT_FOUND_MESSAGE);
        struct ft_response *r = ft_http("HEAD", path, NULL);
        ft_assert_status(r, 404);
        ft_response_free(r);
    }
}
END_TEST

START_TEST(empty_history_is_an_empty_list_and_next_null) {
    char n[FT_ACCOUNT_SIZE], path[256];
    ft_create_account(n);
    snprintf(path, sizeof path, "/api/accounts/%s/transactions", n);
    struct ft_response *r = get_page(path);
    ck_assert_uint_eq(page_size(r), 0);
    ck_assert_msg(json_is_null(json_object_get(r->json, "next")), "next is not null: %s", r->body);
    ft_response_free(r);
}
END_TEST

START_TEST(head_on_history_answers_200_like_get_without_a_body) {
    char n[FT_ACCOUNT_SIZE], path[256], type[128];
    account_with_entries(n, 2);
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?limit=1", n);
    struct ft_response *r = ft_http("HEAD", path, NULL);
    ft_assert_status(r, 200);
    ck_assert_uint_eq(r->body_size, 0);
    ck_assert_msg(ft_header(r, "Content-Type", type, sizeof type) != NULL &&
                      strncmp(type, "application/json", 16) == 0,
                  "HEAD: Content-Type is not application/json");
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/transactions?limit=0", n);
    r = ft_http("HEAD", path, NULL);
    ft_assert_status(r, 400);
    ft_response_free(r);
}
END_TEST

int main(void) {
    Suite *s = suite_create("history");
    FT_ADD_TEST(s, paging_7_entries_by_3_sees_each_exactly_once_newest_first);
    FT_ADD_TEST(s, next_is_null_exactly_when_no_older_entry_exists);
    FT_ADD_TEST(s, paging_while_new_entries_arrive_never_repeats_or_skips_the_older_ones);
    FT_ADD_TEST(s, entries_show_type_signed_amount_balance_after_and_transfer_details);
    FT_ADD_TEST(s, default_limit_is_20_and_limits_1_to_100_are_accepted);
    FT_ADD_TEST(s, before_lists_only_older_entries);
    FT_ADD_TEST(s, invalid_limit_or_before_is_400_invalid_request);
    FT_ADD_TEST(s, unknown_or_malformed_account_history_is_404_account_not_found);
    FT_ADD_TEST(s, empty_history_is_an_empty_list_and_next_null);
    FT_ADD_TEST(s, head_on_history_answers_200_like_get_without_a_body);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
