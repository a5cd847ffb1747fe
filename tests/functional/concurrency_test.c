/* Concurrency: money movements racing on one account land exactly and never break the balance
 * rules, and the journal always adds up (each test ends with the harness's ledger invariants). Each
 * thread has its own curl handle (its own keep-alive connection); a barrier releases them together.
 * The server of this suite is configured with DATABASE_URL as a postgresql:// URI. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define THREADS 16

struct worker {
    /* in */
    const char *base_url;
    const char *number; /* NULL: create accounts instead of moving money */
    const char *op;     /* "deposit" or "withdraw" */
    int64_t sum;
    int attempts;
    pthread_barrier_t *barrier;
    /* out */
    int ok;
    int refused; /* 409 with the expected code */
    int other;   /* anything else: always a failure */
    char other_what[1024];
    int64_t moved;                    /* the sum of the successful movements */
    char (*created)[FT_ACCOUNT_SIZE]; /* attempts slots, when creating */
    const char *refusal_code;
};

static void *work(void *arg) {
    struct worker *w = arg;
    CURL *curl = curl_easy_init();
    char path[256];
    pthread_barrier_wait(w->barrier);
    for (int i = 0; curl != NULL && i < w->attempts; i++) {
        struct ft_response *r;
        if (w->number == NULL) {
            r = ft_http_on(curl, w->base_url, "POST", "/api/accounts", NULL, 0);
        } else {
            snprintf(path, sizeof path, "/api/accounts/%s/%s?sum=%" PRId64, w->number, w->op,
                     w->sum);
            r = ft_http_on(curl, w->base_url, i % 2 == 0 ? "PUT" : "POST", path, NULL, 0);
        }
        if (r == NULL) {
            w->other++;
            continue;
        }
        const char *code = json_string_value(json_object_get(r->json, "code"));
        if ((r->status == 200 || r->status == 201) && json_is_object(r->json)) {
            w->ok++;
            w->moved += w->sum;
            const char *number = json_string_value(json_object_get(r->json, "account_number"));
            if (w->created != NULL && number != NULL)
                snprintf(w->created[i], FT_ACCOUNT_SIZE, "%s", number);
        } else if (r->status == 409 && w->refusal_code != NULL && code != NULL &&
                   strcmp(code, w->refusal_code) == 0) {
            w->refused++;
        } else {
            if (w->other++ == 0)
                snprintf(w->other_what, sizeof w->other_what, "%s -> %ld (%s) %.200s", r->what,
                         r->status, r->curl_error, r->body);
        }
        ft_response_free(r);
    }
    if (curl == NULL)
        w->other = w->attempts;
    curl_easy_cleanup(curl);
    return NULL;
}

/* Runs THREADS workers filled in by the caller, released together; asserts no "other" outcome. */
static void run_workers(struct worker *workers, int count) {
    pthread_t threads[THREADS];
    pthread_barrier_t barrier;
    ck_assert_int_le(count, THREADS);
    pthread_barrier_init(&barrier, NULL, (unsigned)count);
    for (int t = 0; t < count; t++) {
        workers[t].barrier = &barrier;
        workers[t].base_url = ft_default_server()->base_url;
        ck_assert_int_eq(pthread_create(&threads[t], NULL, work, &workers[t]), 0);
    }
    for (int t = 0; t < count; t++)
        pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&barrier);
    for (int t = 0; t < count; t++)
        ck_assert_msg(workers[t].other == 0, "thread %d: %d unexpected answers, first: %s", t,
                      workers[t].other, workers[t].other_what);
}

START_TEST(concurrent_deposits_on_one_account_all_land_exactly) {
    enum { PER_THREAD = 25 };
    char n[FT_ACCOUNT_SIZE];
    ft_create_account(n);
    struct worker workers[THREADS];
    memset(workers, 0, sizeof workers);
    int64_t total = 0;
    for (int t = 0; t < THREADS; t++) {
        workers[t].number = n;
        workers[t].op = "deposit";
        workers[t].sum = t + 1;
        workers[t].attempts = PER_THREAD;
        total += (int64_t)(t + 1) * PER_THREAD;
    }
    run_workers(workers, THREADS);
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(workers[t].ok, PER_THREAD);
    ck_assert_int_eq(ft_balance(n), total);
    struct ft_snapshot s = ft_snapshot(n);
    ck_assert_int_eq(s.balance_cents, total);
    ck_assert_int_eq(s.entries, THREADS * PER_THREAD);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(racing_withdrawals_succeed_exactly_floor_balance_over_sum_times) {
    enum { PER_THREAD = 12 };
    const int64_t funded = 1000, sum = 7;
    const int64_t fits = funded / sum; /* 142 of the 192 attempts */
    char n[FT_ACCOUNT_SIZE];
    ft_create_account(n);
    ft_move(n, "deposit", funded);
    struct worker workers[THREADS];
    memset(workers, 0, sizeof workers);
    for (int t = 0; t < THREADS; t++) {
        workers[t].number = n;
        workers[t].op = "withdraw";
        workers[t].sum = sum;
        workers[t].attempts = PER_THREAD;
        workers[t].refusal_code = "insufficient_funds";
    }
    run_workers(workers, THREADS);
    int ok = 0, refused = 0;
    for (int t = 0; t < THREADS; t++) {
        ok += workers[t].ok;
        refused += workers[t].refused;
    }
    ck_assert_int_eq(ok, fits);
    ck_assert_int_eq(refused, THREADS * PER_THREAD - fits);
    ck_assert_int_eq(ft_balance(n), funded - fits * sum);
    struct ft_snapshot s = ft_snapshot(n);
    ck_assert_int_eq(s.balance_cents, funded - fits * sum);
    ck_assert_int_eq(s.entries, 1 + fits);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(racing_deposits_never_exceed_the_balance_limit) {
    enum { PER_THREAD = 5 };
    const int64_t room = 100, sum = 10;
    char n[FT_ACCOUNT_SIZE];
    ft_create_account(n);
    ft_move(n, "deposit", FT_MAX_SAFE_CENTS - room);
    struct worker workers[THREADS];
    memset(workers, 0, sizeof workers);
    for (int t = 0; t < THREADS; t++) {
        workers[t].number = n;
        workers[t].op = "deposit";
        workers[t].sum = sum;
        workers[t].attempts = PER_THREAD;
        workers[t].refusal_code = "balance_limit_exceeded";
    }
    run_workers(workers, THREADS);
    int ok = 0, refused = 0;
    for (int t = 0; t < THREADS; t++) {
        ok += workers[t].ok;
        refused += workers[t].refused;
    }
    ck_assert_int_eq(ok, room / sum);
    ck_assert_int_eq(refused, THREADS * PER_THREAD - room / sum);
    ck_assert_int_eq(ft_balance(n), FT_MAX_SAFE_CENTS);
    ck_assert_int_eq(ft_snapshot(n).entries, 1 + room / sum);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(concurrent_creations_give_distinct_accounts) {
    enum { PER_THREAD = 10 };
    static char created[THREADS][PER_THREAD][FT_ACCOUNT_SIZE];
    memset(created, 0, sizeof created);
    int64_t accounts_before = ft_snapshot(NULL).accounts;
    struct worker workers[THREADS];
    memset(workers, 0, sizeof workers);
    for (int t = 0; t < THREADS; t++) {
        workers[t].attempts = PER_THREAD;
        workers[t].created = created[t];
    }
    run_workers(workers, THREADS);
    ck_assert_int_eq(ft_snapshot(NULL).accounts, accounts_before + THREADS * PER_THREAD);
    /* All distinct, all in the database. */
    char(*all)[FT_ACCOUNT_SIZE] = &created[0][0];
    for (int i = 0; i < THREADS * PER_THREAD; i++) {
        ck_assert_msg(all[i][0] != '\0', "creation %d gave no account number", i);
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(all[i], all[j]);
    }
    for (int i = 0; i < THREADS * PER_THREAD; i += 17)
        ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM accounts WHERE account_number = $1",
                                      all[i], (const char *)NULL),
                         1);
    ft_assert_ledger_invariants();
}
END_TEST

/* A server of the test's own, started with env and made the default, and two new accounts on it:
 * held (the one the test locks) and other. */
static struct ft_server *own_server_with_two_accounts(const char *const *env,
                                                      char held[FT_ACCOUNT_SIZE],
                                                      char other[FT_ACCOUNT_SIZE]) {
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    ft_set_default_server(server);
    ft_create_account(held);
    ft_create_account(other);
    return server;
}

/* Asserts that the default server's /metrics holds this sample line, whole. */
static void assert_metric(const char *sample, const char *otherwise) {
    struct ft_response *metrics = ft_http("GET", "/metrics", NULL);
    ft_assert_status(metrics, 200);
    char line[256];
    snprintf(line, sizeof line, "%s\n", sample);
    ck_assert_msg(strstr(metrics->body, line) != NULL, "%s:\n%s", otherwise, metrics->body);
    ft_response_free(metrics);
}

/* Stops a server of the test's own (it must exit 0), the shared one the default again. */
static void stop_own_server(struct ft_server *server, struct ft_server *shared) {
    ft_set_default_server(shared);
    ck_assert_int_eq(ft_server_stop(server), 0);
}

/* However many requests come at once, the server holds no more database connections than
 * MX_DB_CONNECTIONS (every request's work shares them, in batches), and every request is still
 * answered. */
START_TEST(many_concurrent_clients_share_the_configured_database_connections) {
    enum { PER_THREAD = 6, POOL = 2 };
    char url[1024], database_url[1100], pool[32];
    snprintf(pool, sizeof pool, "MX_DB_CONNECTIONS=%d", POOL);
    ft_conninfo_uri(ft_db(), url, sizeof url);
    snprintf(database_url, sizeof database_url, "DATABASE_URL=%s&application_name=mx-pool-test",
             url);
    const char *env[] = {database_url, pool, "MX_IDEMPOTENCY_SWEEP=0", NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), env);
    struct ft_server *shared = ft_default_server();
    ft_set_default_server(server);

    char n[FT_ACCOUNT_SIZE];
    ft_create_account(n);
    struct worker workers[THREADS];
    memset(workers, 0, sizeof workers);
    for (int t = 0; t < THREADS; t++) {
        /* Half create accounts, half deposit: both need the database for every request. */
        workers[t].number = t % 2 == 0 ? n : NULL;
        workers[t].op = "deposit";
        workers[t].sum = 1;
        workers[t].attempts = PER_THREAD;
    }
    run_workers(workers, THREADS);
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(workers[t].ok, PER_THREAD);
    ck_assert_int_eq(ft_balance(n), (THREADS / 2) * PER_THREAD);

    /* Pooled connections stay open, so every connection the server ever opened is still here. */
    int64_t connections =
        ft_sql_int64("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                     "mx-pool-test", (const char *)NULL);
    ck_assert_int_ge(connections, 1);
    ck_assert_int_le(connections, POOL);

    stop_own_server(server, shared);
    ft_assert_ledger_invariants();
}
END_TEST

struct waiting_deposit {
    const char *base_url;
    char path[128];
    const char *key; /* NULL: none */
    struct ft_response *response;
};

static void *send_waiting_deposit(void *arg) {
    struct waiting_deposit *call = arg;
    CURL *curl = curl_easy_init();
    char line[128];
    snprintf(line, sizeof line, "Idempotency-Key: %s", call->key != NULL ? call->key : "");
    const char *headers[] = {call->key != NULL ? line : NULL, NULL};
    if (curl != NULL)
        call->response =
            ft_http_on_with_headers(curl, call->base_url, "PUT", call->path, NULL, 0, headers);
    curl_easy_cleanup(curl);
    return NULL;
}

/* Locks held's row, sends a deposit of 7 on it (with key, unless NULL) from a thread of its own,
 * and returns once that deposit waits for the lock in the database. Asserting. */
static void start_waiting_deposit(const struct ft_server *server, const char *held, const char *key,
                                  struct waiting_deposit *call, pthread_t *thread) {
    ft_hold_account(held);
    *call = (struct waiting_deposit){.base_url = server->base_url, .key = key};
    snprintf(call->path, sizeof call->path, "/api/accounts/%s/deposit?sum=7", held);
    ck_assert_int_eq(pthread_create(thread, NULL, send_waiting_deposit, call), 0);
    if (!ft_await_lock_waiters(1, 20)) {
        ft_release_account();
        pthread_join(*thread, NULL);
        ck_abort_msg("the deposit never waited for the lock");
    }
}

/* A deposit that waits for a row lock (the harness holds the account) holds up nothing else: the
 * server answers everything meanwhile, deposits on other accounts too (they go out in a batch of
 * their own, on the other database connection). Were it waiting in the server's thread, each of
 * these would hang until the lock is released, which happens only after them. */
START_TEST(a_request_waiting_for_a_lock_holds_up_no_other_request) {
    static const struct { const char *key; } cases[] = {{"waits-for-a-lock"}, {NULL}};
    struct ft_server *shared = ft_default_server();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *env[] = {"MX_DB_CONNECTIONS=2", NULL};
        char held[FT_ACCOUNT_SIZE], free_account[FT_ACCOUNT_SIZE];
        struct ft_server *server = own_server_with_two_accounts(env, held, free_account);

        struct waiting_deposit call;
        pthread_t thread;
        start_waiting_deposit(server, held, cases[c].key, &call, &thread);

        struct ft_response *health = ft_http("GET", "/healthz", NULL);
        ft_assert_status(health, 200);
        ft_response_free(health);
        ck_assert_int_eq(ft_balance(free_account), 0);
        char path[128];
        snprintf(path, sizeof path, "/api/accounts/%s/transactions", free_account);
        struct ft_response *history = ft_http("GET", path, NULL);
        ft_assert_status(history, 200);
        ft_response_free(history);
        ck_assert_int_eq(ft_move(free_account, "deposit", 30), 30);

        ft_release_account();
        pthread_join(thread, NULL);
        ck_assert_ptr_nonnull(call.response);
        ft_assert_status(call.response, 200);
        ck_assert_int_eq(ft_json_int(call.response, "balance"), 7);
        ft_response_free(call.response);
        stop_own_server(server, shared);
    }
    ft_assert_ledger_invariants();
}
END_TEST

/* A batch stuck on a row lock holds up every deposit queued behind it, on any account; so it
 * waits at most 5 s (apply_batch's lock_timeout). Then only the operations on the held account are
 * refused, 503 with Retry-After, and the rest go through -- all while the lock is still held
 * (without the bound, every deposit here would wait for the release, which comes only after
 * them). With one database connection, the second deposit on the held account and the one on the
 * free account queue up while the first batch waits, so they are sent together. */
START_TEST(a_batch_stuck_on_a_row_lock_refuses_only_the_held_account_after_a_bounded_wait) {
    const char *env[] = {"MX_DB_CONNECTIONS=1", NULL};
    struct ft_server *shared = ft_default_server();
    char held[FT_ACCOUNT_SIZE], other[FT_ACCOUNT_SIZE];
    struct ft_server *server = own_server_with_two_accounts(env, held, other);

    struct waiting_deposit first, second = {.base_url = server->base_url},
                                  free_one = {.base_url = server->base_url};
    pthread_t threads[3];
    start_waiting_deposit(server, held, NULL, &first, &threads[0]);
    snprintf(second.path, sizeof second.path, "/api/accounts/%s/deposit?sum=9", held);
    snprintf(free_one.path, sizeof free_one.path, "/api/accounts/%s/deposit?sum=30", other);
    ck_assert_int_eq(pthread_create(&threads[1], NULL, send_waiting_deposit, &second), 0);
    ck_assert_int_eq(pthread_create(&threads[2], NULL, send_waiting_deposit, &free_one), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    ft_release_account();

    struct ft_response *refused[] = {first.response, second.response};
    for (int i = 0; i < 2; i++) {
        ck_assert_ptr_nonnull(refused[i]);
        ft_assert_error(refused[i], 503, "unavailable", NULL);
        char retry_after[16];
        ck_assert_ptr_nonnull(
            ft_header(refused[i], "Retry-After", retry_after, sizeof retry_after));
        ft_response_free(refused[i]);
    }
    ck_assert_int_eq(ft_snapshot(held).entries, 0);
    ck_assert_int_eq(ft_balance(held), 0);
    ck_assert_ptr_nonnull(free_one.response);
    ft_assert_status(free_one.response, 200);
    ck_assert_int_eq(ft_json_int(free_one.response, "balance"), 30);
    ft_response_free(free_one.response);
    ck_assert_int_eq(ft_snapshot(other).entries, 1);
    /* The refused deposit, sent again now, goes through; the metrics count only what moved (this
     * server saw no other money). */
    ck_assert_int_eq(ft_move(held, "deposit", 7), 7);
    assert_metric("mondux_money_moved_cents_total{kind=\"deposit\"} 37",
                  "money counted that did not move");
    stop_own_server(server, shared);
    ft_assert_ledger_invariants();
}
END_TEST

START_TEST(every_balance_equals_the_sum_of_its_journal) {
    enum { ACCOUNTS = 4, PER_THREAD = 20 };
    char numbers[ACCOUNTS][FT_ACCOUNT_SIZE];
    for (int a = 0; a < ACCOUNTS; a++) {
        ft_create_account(numbers[a]);
        ft_move(numbers[a], "deposit", 500);
    }
    /* Per account: two depositing and two withdrawing threads, with different sums. */
    struct worker workers[THREADS];
    memset(workers, 0, sizeof workers);
    for (int t = 0; t < THREADS; t++) {
        workers[t].number = numbers[t % ACCOUNTS];
        workers[t].op = (t / ACCOUNTS) % 2 == 0 ? "deposit" : "withdraw";
        workers[t].sum = 3 + t;
        workers[t].attempts = PER_THREAD;
        workers[t].refusal_code = "insufficient_funds";
    }
    run_workers(workers, THREADS);
    for (int a = 0; a < ACCOUNTS; a++) {
        int64_t expected = 500;
        for (int t = a; t < THREADS; t += ACCOUNTS)
            expected +=
                strcmp(workers[t].op, "deposit") == 0 ? workers[t].moved : -workers[t].moved;
        ck_assert_int_eq(ft_balance(numbers[a]), expected);
    }

    ck_assert_int_gt(ft_sql_int64("SELECT count(*) FROM entries", (const char *)NULL), 0);
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM accounts a WHERE a.balance_cents <> "
                                  "coalesce((SELECT sum(e.amount_cents) FROM entries e "
                                  "WHERE e.account_id = a.id), 0)",
                                  (const char *)NULL),
                     0);
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM accounts a WHERE a.balance_cents <> "
                                  "coalesce((SELECT e.balance_after_cents FROM entries e "
                                  "WHERE e.account_id = a.id ORDER BY e.id DESC LIMIT 1), 0)",
                                  (const char *)NULL),
                     0);
    /* Each entry's balance_after is the running sum of its account's journal. */
    ck_assert_int_eq(ft_sql_int64("SELECT count(*) FROM (SELECT balance_after_cents, "
                                  "sum(amount_cents) OVER (PARTITION BY account_id ORDER BY id) "
                                  "AS running FROM entries) x WHERE running <> balance_after_cents",
                                  (const char *)NULL),
                     0);
    ck_assert_int_eq(
        ft_sql_int64("SELECT count(*) FROM entries WHERE NOT ((kind = 'deposit' AND "
                     "amount_cents > 0) OR (kind = 'withdrawal' AND amount_cents < 0))",
                     (const char *)NULL),
        0);
    ft_assert_ledger_invariants();
}
END_TEST

int main(void) {
    Suite *s = suite_create("concurrency");
    FT_ADD_TEST(s, concurrent_deposits_on_one_account_all_land_exactly);
    FT_ADD_TEST(s, racing_withdrawals_succeed_exactly_floor_balance_over_sum_times);
    FT_ADD_TEST(s, racing_deposits_never_exceed_the_balance_limit);
    FT_ADD_TEST(s, concurrent_creations_give_distinct_accounts);
    FT_ADD_TEST(s, many_concurrent_clients_share_the_configured_database_connections);
    FT_ADD_TEST(s, a_request_waiting_for_a_lock_holds_up_no_other_request);
    FT_ADD_TEST(s, a_batch_stuck_on_a_row_lock_refuses_only_the_held_account_after_a_bounded_wait);
    FT_ADD_TEST(s, every_balance_equals_the_sum_of_its_journal);
    return ft_main(s, 1, FT_DATABASE_URL_URI, NULL);
}
