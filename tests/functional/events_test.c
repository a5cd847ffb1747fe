/* The change feed and the balance at an instant. GET /api/events?after=P&limit=L pages through
 * every change of the ledger -- each journal entry, each hold made or voided, each account opened
 * -- oldest first, and a client that follows "next" sees every event exactly once, in an order
 * that keeps each account's history, however transactions commit. GET /api/accounts/{n}/events
 * is the same for one account; GET /api/accounts/{n}/balance?at=T is the balance after the last
 * entry written at or before T. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* The feed of path's prefix (all of it, or one account's) from after to its end as the server
 * has it now: the events, in order (new reference). */
static json_t *read_feed(const char *prefix, int64_t after) {
    json_t *all = json_array();
    for (;;) {
        char path[256];
        snprintf(path, sizeof path, "%s?after=%" PRId64 "&limit=1000", prefix, after);
        struct ft_response *r = ft_http("GET", path, NULL);
        ft_assert_status(r, 200);
        ft_assert_json(r);
        json_t *events = json_object_get(r->json, "events");
        ck_assert_msg(json_is_array(events), "no events array");
        size_t count = json_array_size(events);
        json_array_extend(all, events);
        int64_t next = ft_json_int(r, "next");
        ck_assert_int_ge(next, after);
        ft_response_free(r);
        if (count == 0)
            return all;
        after = next;
    }
}

/* Waits (bounded) until every event written has its position, so that the feed has them all. */
static void await_numbered(void) {
    double deadline = ft_now() + 20;
    while (ft_sql_int64("SELECT count(*) FROM events WHERE position IS NULL", NULL) > 0)
        ck_assert_msg(ft_now() < deadline, "events were left without a position");
}

static const char *type_of(const json_t *event) {
    return json_string_value(json_object_get(event, "type"));
}

static int64_t int_of(const json_t *event, const char *name) {
    return json_integer_value(json_object_get(event, name));
}

START_TEST(the_feed_shows_every_change_of_an_account_in_order_with_its_tags) {
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], path[256];
    int64_t start = ft_sql_int64("SELECT coalesce(max(position), 0) FROM events", NULL);
    ft_create_account(a);
    ft_create_account(b);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit", a);
    struct ft_response *r = ft_http(
        "POST", path, "{\"sum\": 1000, \"reference\": \"inv-1\", \"metadata\": {\"k\": \"v\"}}");
    ft_assert_status(r, 200);
    ft_response_free(r);
    ft_transfer(a, b, 300);
    snprintf(path, sizeof path, "/api/accounts/%s/holds", a);
    r = ft_http("POST", path, "{\"sum\": 200}");
    ft_assert_status(r, 201);
    int64_t hold = ft_json_int(r, "id");
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/holds/%" PRId64 "/void", hold);
    r = ft_http("POST", path, NULL);
    ft_assert_status(r, 200);
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/accounts/%s/freeze", a);
    r = ft_http("POST", path, NULL);
    ft_assert_status(r, 200);
    ft_response_free(r);
    await_numbered();

    snprintf(path, sizeof path, "/api/accounts/%s/events", a);
    json_t *mine = read_feed(path, 0);
    const char *types[] = {"open", "deposit", "transfer_out", "hold", "void", "freeze"};
    const int64_t amounts[] = {0, 1000, -300, 0, 0, 0};
    const int64_t after[] = {0, 1000, 700, 700, 700, 700};
    ck_assert_int_eq(json_array_size(mine), 6);
    int64_t last = 0;
    for (size_t i = 0; i < 6; i++) {
        const json_t *e = json_array_get(mine, i);
        ck_assert_str_eq(type_of(e), types[i]);
        ck_assert_str_eq(json_string_value(json_object_get(e, "account_number")), a);
        ck_assert_str_eq(json_string_value(json_object_get(e, "currency")), "EUR");
        ck_assert_int_eq(int_of(e, "amount"), amounts[i]);
        ck_assert_int_eq(int_of(e, "balance_after"), after[i]);
        ck_assert_int_gt(int_of(e, "position"), last);
        ck_assert_int_gt(int_of(e, "position"), start);
        ck_assert_ptr_nonnull(json_string_value(json_object_get(e, "created_at")));
        last = int_of(e, "position");
    }
    const json_t *deposit = json_array_get(mine, 1);
    ck_assert_str_eq(json_string_value(json_object_get(deposit, "reference")), "inv-1");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(deposit, "metadata"), "k")),
                     "v");
    ck_assert_int_gt(int_of(deposit, "entry_id"), 0);
    const json_t *out = json_array_get(mine, 2);
    ck_assert_str_eq(json_string_value(json_object_get(out, "counterparty")), b);
    ck_assert_int_gt(int_of(out, "transfer_id"), 0);
    for (size_t i = 3; i <= 4; i++) {
        ck_assert_int_eq(int_of(json_array_get(mine, i), "hold_id"), hold);
        ck_assert_int_eq(int_of(json_array_get(mine, i), "hold_amount"), 200);
    }

    /* The whole ledger's feed has them too, with b's, in one order; "next" goes on from the
     * last one shown, and past the end there is nothing yet. */
    json_t *all = read_feed("/api/events", start);
    size_t seen_a = 0, seen_b = 0;
    for (size_t i = 0; i < json_array_size(all); i++) {
        const char *who =
            json_string_value(json_object_get(json_array_get(all, i), "account_number"));
        seen_a += strcmp(who, a) == 0;
        seen_b += strcmp(who, b) == 0;
    }
    ck_assert_uint_eq(seen_a, 6);
    ck_assert_uint_eq(seen_b, 2); /* open, transfer_in */
    snprintf(path, sizeof path, "/api/events?after=%" PRId64 "&limit=2", start);
    r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(r->json, "events")), 2);
    ck_assert_int_eq(ft_json_int(r, "next"),
                     int_of(json_array_get(json_object_get(r->json, "events"), 1), "position"));
    ft_response_free(r);
    snprintf(path, sizeof path, "/api/events?after=%" PRId64, last + 1000000);
    r = ft_http("GET", path, NULL);
    ft_assert_status(r, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(r->json, "events")), 0);
    ck_assert_int_eq(ft_json_int(r, "next"), last + 1000000);
    ft_response_free(r);
    json_decref(mine);
    json_decref(all);
}
END_TEST

START_TEST(a_feed_request_with_bad_parameters_is_refused_naming_them) {
    struct {
        const char *path, *field;
    } cases[] = {
        {"/api/events?after=-1", "after"},
        {"/api/events?after=01", "after"},
        {"/api/events?after=x", "after"},
        {"/api/events?after=1&after=2", "after"},
        {"/api/events?after", "after"},
        {"/api/events?limit=0", "limit"},
        {"/api/events?limit=1001", "limit"},
        {"/api/accounts/1234567890123452/events?limit=abc", "limit"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ft_response *r = ft_http("GET", cases[i].path, NULL);
        ft_assert_error(r, 400, "invalid_request", NULL);
        ft_assert_error_field(r, cases[i].field);
        ft_response_free(r);
    }
    struct ft_response *r = ft_http("GET", "/api/accounts/1234567890123452/events", NULL);
    ft_assert_error(r, 404, "account_not_found", NULL);
    ft_response_free(r);
    r = ft_http("GET", "/api/accounts/1234567890123453/events", NULL); /* bad check digits */
    ft_assert_error(r, 404, "account_not_found", NULL);
    ft_response_free(r);
}
END_TEST

/* ---- the race: writers and a follower ------------------------------------------------------ */

#define WRITERS       32
#define RACE_SECONDS  20.0
#define RACE_ACCOUNTS 20

struct race {
    const char *base_url;
    char accounts[RACE_ACCOUNTS][FT_ACCOUNT_SIZE];
    atomic_int stop;
    double end;
};

struct writer {
    struct race *race;
    unsigned seed;
    long done;
};

/* Deposits, withdrawals, transfers and holds (voided or captured) on a few accounts, so that
 * transactions of many sizes commit out of the order they drew their ids. */
static void *write_loop(void *arg) {
    struct writer *w = arg;
    CURL *curl = curl_easy_init();
    while (ft_now() < w->race->end) {
        const char *a = w->race->accounts[rand_r(&w->seed) % RACE_ACCOUNTS];
        const char *b = w->race->accounts[rand_r(&w->seed) % RACE_ACCOUNTS];
        char path[256], body[256];
        int pick = rand_r(&w->seed) % 10;
        struct ft_response *r;
        if (pick < 4) {
            snprintf(path, sizeof path, "/api/accounts/%s/deposit", a);
            snprintf(body, sizeof body, "{\"sum\": %d}", 1 + rand_r(&w->seed) % 500);
        } else if (pick < 6) {
            snprintf(path, sizeof path, "/api/accounts/%s/withdraw", a);
            snprintf(body, sizeof body, "{\"sum\": %d}", 1 + rand_r(&w->seed) % 300);
        } else if (pick < 8 && strcmp(a, b) != 0) {
            snprintf(path, sizeof path, "/api/transfers");
            snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": %d}", a, b,
                     1 + rand_r(&w->seed) % 200);
        } else {
            snprintf(path, sizeof path, "/api/accounts/%s/holds", a);
            snprintf(body, sizeof body, "{\"sum\": %d}", 1 + rand_r(&w->seed) % 100);
        }
        r = ft_http_on(curl, w->race->base_url, "POST", path, body, strlen(body));
        if (r != NULL && r->status == 201 && pick >= 8 && r->json != NULL) {
            json_int_t hold = json_integer_value(json_object_get(r->json, "id"));
            snprintf(path, sizeof path, "/api/holds/%" JSON_INTEGER_FORMAT "/%s", hold,
                     rand_r(&w->seed) % 2 ? "void" : "capture");
            ft_response_free(r);
            r = ft_http_on(curl, w->race->base_url, "POST", path, NULL, 0);
        }
        ft_response_free(r);
        w->done++;
    }
    curl_easy_cleanup(curl);
    return NULL;
}

struct follower {
    struct race *race;
    json_t *seen; /* every event, in the order read */
    atomic_llong next;
    atomic_int broken; /* a page that was not 200 */
};

static void *follow_loop(void *arg) {
    struct follower *f = arg;
    CURL *curl = curl_easy_init();
    while (!atomic_load(&f->race->stop)) {
        char path[128];
        snprintf(path, sizeof path, "/api/events?after=%lld&limit=1000", atomic_load(&f->next));
        struct ft_response *r = ft_http_on(curl, f->race->base_url, "GET", path, NULL, 0);
        if (r == NULL || r->status != 200 || r->json == NULL) {
            atomic_store(&f->broken, 1);
            ft_response_free(r);
            break;
        }
        json_array_extend(f->seen, json_object_get(r->json, "events"));
        atomic_store(&f->next, json_integer_value(json_object_get(r->json, "next")));
        ft_response_free(r);
    }
    curl_easy_cleanup(curl);
    return NULL;
}

START_TEST(a_follower_racing_32_writers_sees_every_event_once_in_each_accounts_order) {
    static struct race race;
    race.base_url = ft_default_server()->base_url;
    int64_t start = ft_sql_int64("SELECT coalesce(max(position), 0) FROM events", NULL);
    for (int i = 0; i < RACE_ACCOUNTS; i++) {
        ft_create_account(race.accounts[i]);
        ft_move(race.accounts[i], "deposit", 100000);
    }
    struct follower follower = {&race, json_array(), start, 0};
    static struct writer writers[WRITERS];
    pthread_t threads[WRITERS], follow_thread;
    race.end = ft_now() + RACE_SECONDS;
    ck_assert_int_eq(pthread_create(&follow_thread, NULL, follow_loop, &follower), 0);
    for (int t = 0; t < WRITERS; t++) {
        writers[t] = (struct writer){&race, (unsigned)(t * 7919 + 1), 0};
        ck_assert_int_eq(pthread_create(&threads[t], NULL, write_loop, &writers[t]), 0);
    }
    long requests = 0;
    for (int t = 0; t < WRITERS; t++) {
        pthread_join(threads[t], NULL);
        requests += writers[t].done;
    }
    /* The writers are done: once everything is numbered, the follower reads to the end. */
    await_numbered();
    int64_t end = ft_sql_int64("SELECT max(position) FROM events", NULL);
    double deadline = ft_now() + 20;
    while (atomic_load(&follower.next) < end && !atomic_load(&follower.broken) &&
           ft_now() < deadline)
        ; /* the follower thread reads on */
    atomic_store(&race.stop, 1);
    pthread_join(follow_thread, NULL);
    ck_assert_msg(!atomic_load(&follower.broken), "a feed page was not answered 200");
    int64_t reached = atomic_load(&follower.next);
    ck_assert_msg(reached == end, "the follower stopped at %" PRId64 " of %" PRId64, reached, end);

    /* Exactly the table's events since start (positions rise strictly, so each once). */
    size_t count = json_array_size(follower.seen);
    char start_text[24];
    snprintf(start_text, sizeof start_text, "%" PRId64, start);
    int64_t in_table =
        ft_sql_int64("SELECT count(*) FROM events WHERE position > $1::bigint", start_text, NULL);
    ck_assert_int_eq((int64_t)count, in_table);
    /* Every journal entry is an event. */
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM entries e WHERE NOT EXISTS"
                                  " (SELECT FROM events v WHERE v.entry_id = e.id)",
                                  NULL),
                     0);
    int64_t last = start;
    json_t *chain = json_object();       /* account -> its last balance_after */
    json_t *entry_order = json_object(); /* account -> its last entry id */
    for (size_t i = 0; i < count; i++) {
        const json_t *e = json_array_get(follower.seen, i);
        int64_t position = int_of(e, "position");
        ck_assert_msg(position > last, "position %" PRId64 " after %" PRId64, position, last);
        last = position;
        const char *who = json_string_value(json_object_get(e, "account_number"));
        json_t *before = json_object_get(chain, who);
        if (before != NULL)
            ck_assert_msg(json_integer_value(before) + int_of(e, "amount") ==
                              int_of(e, "balance_after"),
                          "account %s: %" JSON_INTEGER_FORMAT " + %" PRId64 " is not %" PRId64
                          " at position %" PRId64,
                          who, json_integer_value(before), int_of(e, "amount"),
                          int_of(e, "balance_after"), position);
        json_object_set_new(chain, who, json_integer(int_of(e, "balance_after")));
        if (int_of(e, "entry_id") > 0) {
            json_t *previous = json_object_get(entry_order, who);
            if (previous != NULL)
                ck_assert_int_gt(int_of(e, "entry_id"), json_integer_value(previous));
            json_object_set_new(entry_order, who, json_integer(int_of(e, "entry_id")));
        }
    }
    /* And each account's chain ends at its balance. */
    for (int i = 0; i < RACE_ACCOUNTS; i++)
        ck_assert_int_eq(json_integer_value(json_object_get(chain, race.accounts[i])),
                         ft_balance(race.accounts[i]));
    fprintf(stderr, "events race: %ld requests by %d writers in %.0f s, %zu events followed\n",
            requests, WRITERS, RACE_SECONDS, count);
    ck_assert_int_gt(requests, 1000);
    json_decref(chain);
    json_decref(entry_order);
    json_decref(follower.seen);
    ft_assert_ledger_invariants();
}
END_TEST

/* ---- the balance at an instant ------------------------------------------------------------- */

/* The feed's events of number: their instants, to the microsecond. */
static json_t *events_of(const char *number) {
    char path[128];
    await_numbered();
    snprintf(path, sizeof path, "/api/accounts/%s/events", number);
    return read_feed(path, 0);
}

static struct ft_response *balance_at(const char *number, const char *at) {
    char path[256];
    snprintf(path, sizeof path, "/api/accounts/%s/balance?at=%s", number, at);
    return ft_http("GET", path, NULL);
}

/* The instant one microsecond before an event's "...SS.ffffffZ" (the test's entries are not at a
 * second's first microsecond, or this says so). */
static void microsecond_before(const char *instant, char *out, size_t size) {
    snprintf(out, size, "%s", instant);
    char *digit = out + strlen(out) - 2; /* the last digit of the fraction */
    while (*digit == '0') {
        *digit = '9';
        digit--;
        ck_assert_msg(*digit != '.', "an entry at a whole second: %s", instant);
    }
    (*digit)--;
}

START_TEST(the_balance_at_an_instant_is_the_one_after_the_last_entry_by_then) {
    char a[FT_ACCOUNT_SIZE];
    ft_create_account(a);
    ft_move(a, "deposit", 500);
    ft_move(a, "deposit", 250);
    ft_move(a, "withdraw", 100);
    json_t *events = events_of(a);
    ck_assert_uint_eq(json_array_size(events), 4); /* open and three entries */
    const int64_t after[] = {500, 750, 650};
    for (size_t i = 1; i <= 3; i++) {
        const char *at =
            json_string_value(json_object_get(json_array_get(events, i), "created_at"));
        /* At the entry's instant: it counts. */
        struct ft_response *r = balance_at(a, at);
        ft_assert_status(r, 200);
        ft_assert_json(r);
        ck_assert_int_eq(ft_json_int(r, "balance"), after[i - 1]);
        ck_assert_str_eq(ft_json_str(r, "account_number"), a);
        ck_assert_str_eq(ft_json_str(r, "currency"), "EUR");
        ck_assert_str_eq(ft_json_str(r, "at"), at);
        ft_response_free(r);
        /* A microsecond before: the balance before it. */
        char before[64];
        microsecond_before(at, before, sizeof before);
        r = balance_at(a, before);
        ft_assert_status(r, 200);
        ck_assert_int_eq(ft_json_int(r, "balance"), i == 1 ? 0 : after[i - 2]);
        ft_response_free(r);
    }
    /* Long after, and in another offset: the balance now. */
    struct ft_response *r = balance_at(a, "2999-01-01T01:30:00%2B01:30");
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "balance"), 650);
    ck_assert_str_eq(ft_json_str(r, "at"), "2999-01-01T00:00:00.000000Z");
    ft_response_free(r);
    /* Before the account was opened: there was no such account. */
    r = balance_at(a, "2020-01-01");
    ft_assert_error(r, 404, "account_not_found", NULL);
    ft_assert_error_field(r, "at");
    ft_response_free(r);
    json_decref(events);
}
END_TEST

START_TEST(a_balance_at_an_instant_that_is_not_one_is_refused) {
    char a[FT_ACCOUNT_SIZE];
    ft_create_account(a);
    const char *bad[] = {"yesterday",
                         "2026-13-01",
                         "2026-02-30",
                         "2026-12-03T25:00:00Z",
                         "2026-12-03T10:00:00",
                         "2026-12-03T10:00:00.1234567Z",
                         "now",
                         "2026-12-03T10:00:00%2B24:00",
                         "1e9",
                         ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ft_response *r = balance_at(a, bad[i]);
        ft_assert_error(r, 400, "invalid_request", NULL);
        ft_assert_error_field(r, "at");
        ft_response_free(r);
    }
    char path[128];
    snprintf(path, sizeof path, "/api/accounts/%s/balance?at=2026-01-01&at=2026-01-02", a);
    struct ft_response *r = ft_http("GET", path, NULL);
    ft_assert_error(r, 400, "invalid_request", NULL);
    ft_response_free(r);
    r = balance_at("1234567890123452", "2026-01-01");
    ft_assert_error(r, 404, "account_not_found", NULL);
    ft_response_free(r);
}
END_TEST

int main(void) {
    Suite *suite = suite_create("events");
    FT_ADD_TEST(suite, the_feed_shows_every_change_of_an_account_in_order_with_its_tags);
    FT_ADD_TEST(suite, a_feed_request_with_bad_parameters_is_refused_naming_them);
    TCase *race =
        tcase_create("a_follower_racing_32_writers_sees_every_event_once_in_each_accounts_order");
    tcase_set_timeout(race, 150);
    tcase_add_test(race, a_follower_racing_32_writers_sees_every_event_once_in_each_accounts_order);
    suite_add_tcase(suite, race);
    FT_ADD_TEST(suite, the_balance_at_an_instant_is_the_one_after_the_last_entry_by_then);
    FT_ADD_TEST(suite, a_balance_at_an_instant_that_is_not_one_is_refused);
    return ft_main(suite, 1, FT_DATABASE_URL, NULL);
}
