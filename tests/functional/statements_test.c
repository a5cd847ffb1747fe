/* Statements: GET /api/accounts/{n}/statement?from=T1&to=T2 is the account's journal over
 * [T1, T2) with its opening and closing balances and its sums, where opening + credits - debits =
 * closing; the same as RFC 4180 CSV with Accept: text/csv or ?format=csv. A statement is streamed
 * page by page, and other requests are served while it is. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "raw_http.h"

static struct ft_response *statement(const char *number, const char *query) {
    char path[512];
    snprintf(path, sizeof path, "/api/accounts/%s/statement?%s", number, query);
    return ft_http("GET", path, NULL);
}

/* "from=<a day ago>&to=<a day ahead>": a period holding everything a test just did. */
static void around_now(char *out, size_t size) {
    time_t now = time(NULL);
    char from[32], to[32];
    time_t a = now - 86400, b = now + 86400;
    strftime(from, sizeof from, "%Y-%m-%dT%H:%M:%SZ", gmtime(&a));
    strftime(to, sizeof to, "%Y-%m-%dT%H:%M:%SZ", gmtime(&b));
    snprintf(out, size, "from=%s&to=%s", from, to);
}

/* An entry's "...T..:..:..ffffffZ" shifted by delta_us and written in the offset +05:30 (the '+'
 * encoded for the query string), so that the period's bounds fall mid-day in another zone. */
static void in_offset(const char *utc, long delta_us, char *out, size_t size) {
    struct tm tm = {0};
    int us = 0;
    ck_assert_int_eq(sscanf(utc, "%4d-%2d-%2dT%2d:%2d:%2d.%6dZ", &tm.tm_year, &tm.tm_mon,
                            &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &us),
                     7);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    long long total = (long long)timegm(&tm) * 1000000LL + us + delta_us + 19800LL * 1000000LL;
    time_t seconds = (time_t)(total / 1000000LL);
    struct tm local;
    gmtime_r(&seconds, &local);
    char text[32];
    strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &local);
    snprintf(out, size, "%s.%06lld%%2B05:30", text, total % 1000000LL);
}

static const json_t *entry_at(const struct ft_response *r, size_t i) {
    return json_array_get(json_object_get(r->json, "entries"), i);
}

static int64_t member(const json_t *object, const char *name) {
    return json_integer_value(json_object_get(object, name));
}

/* The sums and the entries of a JSON statement add up: opening + credits - debits = closing, and
 * the entries' amounts are the credits and debits, each entry's balance after following from the
 * one before it. */
static void assert_adds_up(const struct ft_response *r) {
    ft_assert_status(r, 200);
    ft_assert_json(r);
    int64_t opening = ft_json_int(r, "opening_balance"),
            closing = ft_json_int(r, "closing_balance");
    int64_t credits = ft_json_int(r, "total_credits"), debits = ft_json_int(r, "total_debits");
    ck_assert_int_eq(opening + credits - debits, closing);
    const json_t *entries = json_object_get(r->json, "entries");
    ck_assert_int_eq((int64_t)json_array_size(entries), ft_json_int(r, "entry_count"));
    int64_t balance = opening, in = 0, out = 0, last_id = 0;
    for (size_t i = 0; i < json_array_size(entries); i++) {
        const json_t *e = json_array_get(entries, i);
        int64_t amount = member(e, "amount");
        balance += amount;
        ck_assert_int_eq(member(e, "balance_after"), balance);
        ck_assert_int_gt(member(e, "id"), last_id); /* oldest first */
        last_id = member(e, "id");
        if (amount > 0)
            in += amount;
        else
            out -= amount;
    }
    ck_assert_int_eq(in, credits);
    ck_assert_int_eq(out, debits);
    ck_assert_int_eq(balance, closing);
}

/* The statement of number from the instant delta_from µs after since to delta_to µs after until,
 * both written in +05:30; checked to add up. */
static struct ft_response *statement_between(const char *number, const char *since, long delta_from,
                                             const char *until, long delta_to) {
    char from[64], to[64], query[160];
    in_offset(since, delta_from, from, sizeof from);
    in_offset(until, delta_to, to, sizeof to);
    snprintf(query, sizeof query, "from=%s&to=%s", from, to);
    struct ft_response *r = statement(number, query);
    assert_adds_up(r);
    return r;
}

START_TEST(a_statement_adds_up_over_a_known_history_and_any_part_of_it) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], period[128], path[128];
    ft_create_account(a);
    ft_create_account(b);
    ft_move(a, "deposit", 1000);
    ft_move(a, "withdraw", 300);
    ft_transfer(a, b, 200);
    ft_move(a, "deposit", 50);
    ft_transfer(b, a, 75);
    snprintf(path, sizeof path, "/api/accounts/%s/holds", a);
    struct ft_response *r = ft_http("POST", path, "{\"sum\": 100}");
    ft_assert_status(r, 201);
    snprintf(path, sizeof path, "/api/holds/%" PRId64 "/capture", ft_json_int(r, "id"));
    ft_response_free(r);
    r = ft_http("POST", path, NULL);
    ft_assert_status(r, 200);
    ft_response_free(r);

    /* The whole history: from nothing to the balance now. */
    around_now(period, sizeof period);
    struct ft_response *all = statement(a, period);
    assert_adds_up(all);
    ck_assert_str_eq(ft_json_str(all, "account_number"), a);
    ck_assert_str_eq(ft_json_str(all, "currency"), "EUR");
    ck_assert_int_eq(ft_json_int(all, "opening_balance"), 0);
    ck_assert_int_eq(ft_json_int(all, "closing_balance"), ft_balance(a));
    ck_assert_int_eq(ft_json_int(all, "closing_balance"), 1000 - 300 - 200 + 50 + 75 - 100);
    ck_assert_int_eq(ft_json_int(all, "total_credits"), 1125);
    ck_assert_int_eq(ft_json_int(all, "total_debits"), 600);
    ck_assert_int_eq(ft_json_int(all, "entry_count"), 6);
    const char *types[] = {"deposit", "withdrawal",  "transfer_out",
                           "deposit", "transfer_in", "capture"};
    for (size_t i = 0; i < 6; i++)
        ck_assert_str_eq(json_string_value(json_object_get(entry_at(all, i), "type")), types[i]);
    ck_assert_str_eq(json_string_value(json_object_get(entry_at(all, 2), "counterparty")), b);

    /* Cut mid-day in +05:30: from just after the 2nd entry to just after the 4th. */
    const char *t2 = json_string_value(json_object_get(entry_at(all, 1), "created_at"));
    const char *t4 = json_string_value(json_object_get(entry_at(all, 3), "created_at"));
    r = statement_between(a, t2, 1, t4, 1);
    ck_assert_int_eq(ft_json_int(r, "opening_balance"), 700);
    ck_assert_int_eq(ft_json_int(r, "closing_balance"), 550);
    ck_assert_int_eq(ft_json_int(r, "total_credits"), 50);
    ck_assert_int_eq(ft_json_int(r, "total_debits"), 200);
    ck_assert_int_eq(ft_json_int(r, "entry_count"), 2);
    ck_assert_int_eq(member(entry_at(r, 0), "id"), member(entry_at(all, 2), "id"));
    ft_response_free(r);
    /* "to" is exclusive, "from" inclusive: [t2, t4) holds the 2nd and 3rd entries. */
    r = statement_between(a, t2, 0, t4, 0);
    ck_assert_int_eq(ft_json_int(r, "opening_balance"), 1000);
    ck_assert_int_eq(ft_json_int(r, "closing_balance"), 500);
    ck_assert_int_eq(ft_json_int(r, "entry_count"), 2);
    ft_response_free(r);

    /* An empty period after the last entry: opening = closing = the balance, no entries. */
    const char *t6 = json_string_value(json_object_get(entry_at(all, 5), "created_at"));
    r = statement_between(a, t6, 1, t6, 2);
    ck_assert_int_eq(ft_json_int(r, "opening_balance"), 525);
    ck_assert_int_eq(ft_json_int(r, "closing_balance"), 525);
    ck_assert_int_eq(ft_json_int(r, "entry_count"), 0);
    ft_response_free(r);

    /* Before the account existed: nothing happened, nothing was held. */
    r = statement(a, "from=2020-01-01&to=2020-12-31");
    assert_adds_up(r);
    ck_assert_int_eq(ft_json_int(r, "opening_balance"), 0);
    ck_assert_int_eq(ft_json_int(r, "closing_balance"), 0);
    ck_assert_int_eq(ft_json_int(r, "entry_count"), 0);
    ck_assert_str_eq(ft_json_str(r, "from"), "2020-01-01T00:00:00.000000Z");
    ck_assert_str_eq(ft_json_str(r, "to"), "2020-12-31T00:00:00.000000Z");
    ft_response_free(r);
    ft_response_free(all);
}
END_TEST

/* ---- CSV ------------------------------------------------------------------------------------ */

/* Parses RFC 4180 text strictly (CRLF line ends, quoted fields with doubled quotes) into an array
 * of rows, each an array of strings. */
static json_t *parse_csv(const char *text) {
    json_t *rows = json_array(), *row = json_array();
    char *field = malloc(strlen(text) + 1);
    size_t n = 0;
    const char *p = text;
    while (*p != '\0') {
        if (*p == '"') {
            for (p++;; p++) {
                ck_assert_msg(*p != '\0', "an unterminated quoted field");
                if (*p == '"' && p[1] == '"')
                    field[n++] = *p++;
                else if (*p == '"')
                    break;
                else
                    field[n++] = *p;
            }
            p++;
        } else {
            while (*p != ',' && *p != '\r' && *p != '\0') {
                ck_assert_msg(*p != '"' && *p != '\n', "a quote or LF in an unquoted field");
                field[n++] = *p++;
            }
        }
        field[n] = '\0';
        json_array_append_new(row, json_string(field));
        n = 0;
        if (*p == ',') {
            p++;
            continue;
        }
        ck_assert_msg(p[0] == '\r' && p[1] == '\n', "a line that does not end in CRLF");
        p += 2;
        json_array_append_new(rows, row);
        row = json_array();
    }
    json_decref(row);
    free(field);
    return rows;
}

static const char *cell(const json_t *rows, size_t row, size_t column) {
    return json_string_value(json_array_get(json_array_get(rows, row), column));
}

START_TEST(a_csv_statement_quotes_commas_quotes_and_line_breaks_and_names_its_file) {
    char a[FT_ACCOUNT_SIZE], path[384], period[128];
    ft_create_account(a);
    const char *tricky = "{\"sum\": 1234, \"reference\": \"inv,\\\"7\\\"\", \"metadata\":"
                         " {\"memo\": \"line one\\nline two, \\\"quoted\\\"\"}}";
    snprintf(path, sizeof path, "/api/accounts/%s/deposit", a);
    struct ft_response *r = ft_http("POST", path, tricky);
    ft_assert_status(r, 200);
    ft_response_free(r);
    ft_move(a, "withdraw", 5);

    around_now(period, sizeof period);
    snprintf(path, sizeof path, "/api/accounts/%s/statement?%s", a, period);
    const char *accept_csv[] = {"Accept: text/html, text/csv;q=0.9", NULL};
    r = ft_http_with_headers("GET", path, NULL, accept_csv);
    ft_assert_status(r, 200);
    char value[256];
    ck_assert_str_eq(ft_header(r, "Content-Type", value, sizeof value),
                     "text/csv; charset=utf-8; header=present");
    ck_assert_ptr_nonnull(ft_header(r, "Content-Disposition", value, sizeof value));
    char expected[256];
    const char *from = strstr(period, "from=") + 5, *to = strstr(period, "&to=") + 4;
    snprintf(expected, sizeof expected,
             "attachment; filename=\"statement-%s-%.10sT%.2s%.2s%.2sZ-%.10sT%.2s%.2s%.2sZ.csv\"", a,
             from, from + 11, from + 14, from + 17, to, to + 11, to + 14, to + 17);
    ck_assert_str_eq(value, expected);

    json_t *rows = parse_csv(r->body);
    ck_assert_uint_eq(json_array_size(rows), 3);
    const char *header[] = {"entry_id",     "created_at",          "type",          "amount_minor",
                            "amount",       "balance_after_minor", "balance_after", "currency",
                            "counterparty", "transfer_id",         "hold_id",       "reference",
                            "metadata"};
    ck_assert_uint_eq(json_array_size(json_array_get(rows, 0)), 13);
    for (size_t i = 0; i < 13; i++)
        ck_assert_str_eq(cell(rows, 0, i), header[i]);
    ck_assert_str_eq(cell(rows, 1, 2), "deposit");
    ck_assert_str_eq(cell(rows, 1, 3), "1234");
    ck_assert_str_eq(cell(rows, 1, 4), "12.34");
    ck_assert_str_eq(cell(rows, 1, 7), "EUR");
    ck_assert_str_eq(cell(rows, 1, 11), "inv,\"7\"");
    json_t *metadata = json_loads(cell(rows, 1, 12), 0, NULL);
    ck_assert_ptr_nonnull(metadata);
    ck_assert_str_eq(json_string_value(json_object_get(metadata, "memo")),
                     "line one\nline two, \"quoted\"");
    json_decref(metadata);
    ck_assert_str_eq(cell(rows, 2, 2), "withdrawal");
    ck_assert_str_eq(cell(rows, 2, 3), "-5");
    ck_assert_str_eq(cell(rows, 2, 4), "-0.05");
    ck_assert_str_eq(cell(rows, 2, 5), "1229");
    ck_assert_str_eq(cell(rows, 2, 6), "12.29");
    ck_assert_str_eq(cell(rows, 2, 11), "");
    ck_assert_str_eq(cell(rows, 2, 12), "");
    json_decref(rows);
    ft_response_free(r);

    /* ?format= wins over Accept, either way. */
    snprintf(path, sizeof path, "/api/accounts/%s/statement?%s&format=json", a, period);
    r = ft_http_with_headers("GET", path, NULL, accept_csv);
    assert_adds_up(r);
    ft_response_free(r);
    snprintf(path, sizeof path, "%s&format=csv", period);
    r = statement(a, path);
    ft_assert_status(r, 200);
    ck_assert_str_eq(ft_header(r, "Content-Type", value, sizeof value),
                     "text/csv; charset=utf-8; header=present");
    ft_response_free(r);
}
END_TEST

START_TEST(a_statement_request_with_bad_parameters_is_refused_naming_them) {
    char a[FT_ACCOUNT_SIZE];
    ft_create_account(a);
    const struct {
        const char *query, *field;
    } bad[] = {
        {"to=2026-02-01", "from"},
        {"from=2026-01-01", "to"},
        {"from=2026-01-01&to=2026-01-01", "to"},
        {"from=2026-02-01&to=2026-01-01", "to"},
        {"from=2026-01-01&to=2027-01-03", "to"},
        {"from=yesterday&to=2026-01-01", "from"},
        {"from=2026-01-01&to=2026-13-01", "to"},
        {"from=2026-01-01&from=2026-01-02&to=2026-02-01", "from"},
        {"from=2026-01-01&to=2026-02-01&format=xml", "format"},
        {"from=2026-01-01&to=2026-02-01&format", "format"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ft_response *r = statement(a, bad[i].query);
        ft_assert_error(r, 400, "invalid_request", NULL);
        ft_assert_error_field(r, bad[i].field);
        ft_response_free(r);
    }
    /* 366 days is the longest period: a leap year's. */
    struct ft_response *r = statement(a, "from=2028-01-01&to=2029-01-01");
    assert_adds_up(r);
    ft_response_free(r);
    r = statement("1234567890123452", "from=2026-01-01&to=2026-02-01");
    ft_assert_error(r, 404, "account_not_found", NULL);
    ft_response_free(r);
    r = statement("12x", "from=2026-01-01&to=2026-02-01");
    ft_assert_error(r, 404, "account_not_found", NULL);
    ft_response_free(r);
}
END_TEST

/* ---- a long statement ----------------------------------------------------------------------- */

#define LONG_STATEMENT_ENTRIES 20000

/* count deposits of 1 into number in one batch of the service's own function. */
static void deposit_many(const char *number, int count) {
    char sql[1024], n[16];
    snprintf(n, sizeof n, "%d", count);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM apply_batch(array_fill('deposit'::text, ARRAY[$2::int]),"
             " array_fill($1::text, ARRAY[$2::int]), array_fill(NULL::text, ARRAY[$2::int]),"
             " array_fill(1::bigint, ARRAY[$2::int]), array_fill(NULL::bigint, ARRAY[$2::int]),"
             " array_fill(NULL::int, ARRAY[$2::int]), array_fill(NULL::text, ARRAY[$2::int]),"
             " array_fill(NULL::jsonb, ARRAY[$2::int]), array_fill(NULL::text, ARRAY[$2::int]),"
             " array_fill(NULL::text, ARRAY[$2::int]), array_fill(NULL::text, ARRAY[$2::int]),"
             " array_fill(NULL::bigint, ARRAY[$2::int]), false) WHERE o_outcome = 'ok'");
    ck_assert_int_eq(ft_sql_int64(sql, number, n, NULL), count);
}

/* Reads from fd until needle has come (or the connection ends): what came, new. */
static char *read_until(int fd, char *text, size_t *used, const char *needle, double deadline) {
    for (;;) {
        if (strstr(text, needle) != NULL)
            return text;
        ck_assert_msg(ft_now() < deadline, "the statement stopped coming");
        text = realloc(text, *used + 65536 + 1);
        ssize_t n = recv(fd, text + *used, 65536, 0);
        if (n == 0)
            return text;
        if (n > 0) {
            *used += (size_t)n;
            text[*used] = '\0';
        } else {
            usleep(1000);
        }
    }
}

START_TEST(a_long_statement_streams_while_other_requests_are_answered) {
    char a[FT_ACCOUNT_SIZE], period[128], request[512];
    ft_create_account(a);
    deposit_many(a, LONG_STATEMENT_ENTRIES);
    ck_assert_int_eq(ft_balance(a), LONG_STATEMENT_ENTRIES);

    /* Its head and first entries, and then the client stops reading for a while. */
    around_now(period, sizeof period);
    int fd = connect_to(ft_default_server()->port);
    int n = snprintf(request, sizeof request,
                     "GET /api/accounts/%s/statement?%s&format=csv HTTP/1.1\r\nHost: t\r\n"
                     "Connection: close\r\n\r\n",
                     a, period);
    ck_assert(send_all(fd, request, (size_t)n, deadline_in(10)));
    size_t used = 0;
    char *text = calloc(1, 1);
    text = read_until(fd, text, &used, "\r\n\r\n", deadline_in(20));
    ck_assert_msg(strstr(text, "Transfer-Encoding: chunked") != NULL, "not chunked: %s", text);
    text = read_until(fd, text, &used, ",deposit,", deadline_in(20));

    /* Meanwhile, the service answers others, money moves included. */
    char b[FT_ACCOUNT_SIZE];
    ft_create_account(b);
    ck_assert_int_eq(ft_move(b, "deposit", 10), 10);
    ck_assert_int_eq(ft_move(a, "withdraw", 1), LONG_STATEMENT_ENTRIES - 1);

    /* The rest: every entry once, in order, each balance after one more; the chunked body ends. */
    text = read_until(fd, text, &used, "\r\n0\r\n\r\n", deadline_in(60));
    close(fd);
    ck_assert_msg(strstr(text, "\r\n0\r\n\r\n") != NULL, "the body did not end");
    /* De-chunk, then count the lines. */
    char *body = strstr(text, "\r\n\r\n") + 4, *out = malloc(used + 1), *w = out;
    for (char *p = body;;) {
        long size = strtol(p, &p, 16);
        p = strstr(p, "\r\n") + 2;
        if (size == 0)
            break;
        memcpy(w, p, (size_t)size);
        w += size;
        p += size + 2;
    }
    *w = '\0';
    json_t *rows = parse_csv(out);
    ck_assert_uint_eq(json_array_size(rows), LONG_STATEMENT_ENTRIES + 1);
    for (size_t i = 1; i <= LONG_STATEMENT_ENTRIES; i++) {
        char expected[24];
        snprintf(expected, sizeof expected, "%zu", i);
        ck_assert_str_eq(cell(rows, i, 5), expected);
    }
    json_decref(rows);
    free(out);
    free(text);
}
END_TEST

int main(void) {
    Suite *suite = suite_create("statements");
    FT_ADD_TEST(suite, a_statement_adds_up_over_a_known_history_and_any_part_of_it);
    FT_ADD_TEST(suite, a_csv_statement_quotes_commas_quotes_and_line_breaks_and_names_its_file);
    FT_ADD_TEST(suite, a_statement_request_with_bad_parameters_is_refused_naming_them);
    FT_ADD_TEST(suite, a_long_statement_streams_while_other_requests_are_answered);
    return ft_main(suite, 1, FT_DATABASE_URL, NULL);
}
