/* Faults under load: PostgreSQL restarted while clients move money, and
 * mondux killed with SIGKILL while clients move money with Idempotency-Keys. With its own private
 * PostgreSQL cluster (scripts/lib/pg-cluster, as in outage_test.c), so stopping it disturbs no
 * other suite.
 *
 * Every operation sends a sum used by no other operation of the test, so each journal entry (and
 * each transfer) names the one operation that made it: the tests compare the journal with what
 * every client was told, operation by operation, not only in total. Nothing waits a fixed time
 * for correctness: the fault is injected once the clients have shown, by their answers, that
 * they are in the middle of their work, and the tests wait (bounded) for conditions. The only
 * pauses are a client's polite pause after a 503 or a refused connection before it goes on. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "load.h"

/* ---- operations and what their clients were told -------------------------------------------- */

/* api.md's 503: the database cannot be reached, and nothing was changed. */
static int is_unavailable(const struct ft_response *r) {
    return ft_is_503(r, "unavailable");
}

/* The connection broke after the operation was sent and before its outcome was known: it may
 * have happened. The only 503 after which the money may have moved. */
static int is_outcome_unknown(const struct ft_response *r) {
    return ft_is_503(r, "outcome_unknown");
}

/* ---- the journal, read back --------------------------------------------------------------- */

static PGconn *journal_conn(void) {
    char conninfo[512];
    ft_conninfo(ft_db(), conninfo, sizeof conninfo);
    PGconn *conn = PQconnectdb(conninfo);
    ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "cannot connect to %s: %s", ft_db(),
                  PQerrorMessage(conn));
    return conn;
}

/* Runs sql (no parameters) and asserts that it returned rows. New result. */
static PGresult *journal_query(PGconn *conn, const char *sql, int params,
                               const char *const *values) {
    PGresult *result = PQexecParams(conn, sql, params, NULL, values, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(result) == PGRES_TUPLES_OK, "%s: %s", sql,
                  PQresultErrorMessage(result));
    return result;
}

/* ---- PostgreSQL restarted under load -------------------------------------------------------- */

#define PG_THREADS      6 /* PG_KEYED of them with Idempotency-Keys, the others without */
#define PG_KEYED        4
#define PG_ACCOUNTS     6       /* 0-3 for the keyed clients, 4-5 for the others */
#define PG_OPS_MAX      1000000 /* per thread: op i of thread t sends 1 + t * PG_OPS_MAX + i */
#define PG_OK_BEFORE    30      /* successes before the database is stopped */
#define PG_503_EACH     3       /* 503s every thread must get before it is started again */
#define PG_OK_AFTER     5       /* successes every thread must get after it is back */
#define PG_503_PAUSE_MS 10      /* a client's pause after a 503, before it goes on */

enum pg_phase { PG_UP, PG_DOWN, PG_BACK };

struct pg_load {
    const char *base_url;
    char accounts[PG_ACCOUNTS][FT_ACCOUNT_SIZE];
    atomic_int phase; /* enum pg_phase */
    atomic_int stop;
    atomic_long ok;
};

struct pg_client {
    struct pg_load *load;
    int index;
    int keyed;
    struct ft_op_list list;
    atomic_int unavailable; /* 503s answered while the database was down or coming back */
    atomic_int ok_after;    /* successes of requests sent after it was back */
    int refused;
    struct ft_failures failures;
};

/* One request for op; returns 1 when the answer is definitive (success or refusal). */
static int pg_attempt(struct pg_client *c, CURL *curl, struct ft_op *op) {
    struct pg_load *load = c->load;
    int phase = atomic_load(&load->phase);
    struct ft_response *r = ft_op_send(curl, load->base_url, load->accounts, op);
    int definitive = 1;
    if (r == NULL) {
        ft_note_failure(&c->failures, op, NULL, "out of memory");
    } else if (ft_op_succeeded(r, op, load->accounts)) {
        op->final = r->status;
        op->replayed = ft_is_replayed(r);
        atomic_fetch_add(&load->ok, 1);
        if (phase == PG_BACK)
            atomic_fetch_add(&c->ok_after, 1);
    } else if (r->status == 409 && op->kind == FT_OP_WITHDRAW &&
               strcmp(ft_code(r), "insufficient_funds") == 0) {
        op->final = r->status;
        op->replayed = ft_is_replayed(r);
        c->refused++;
    } else if (is_unavailable(r) || is_outcome_unknown(r)) {
        definitive = 0;
        op->unknown += is_outcome_unknown(r);
        if (phase != PG_UP)
            atomic_fetch_add(&c->unavailable, 1);
    } else if (r->status == 409 && op->key[0] != '\0' &&
               strcmp(ft_code(r), "idempotency_key_in_use") == 0) {
        definitive = 0; /* the same key still running: try again */
    } else {
        ft_note_failure(&c->failures, op, r,
                        r->status == 0 ? "a transport error (mondux never stops in this test)"
                                       : "an answer other than 200, 409 or a 503 unavailable or "
                                         "outcome_unknown with Retry-After");
    }
    if (op->first == 0 && op->attempts == 1)
        op->first = r != NULL ? r->status : 0;
    ft_response_free(r);
    return definitive;
}

static void *pg_client_run(void *arg) {
    struct pg_client *c = arg;
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        c->failures.count++;
        snprintf(c->failures.text, sizeof c->failures.text, "curl_easy_init failed");
        return NULL;
    }
    double deadline = ft_now() + 50 * ft_timeout_scale();
    for (int i = 0; i < PG_OPS_MAX && !atomic_load(&c->load->stop) && c->failures.count == 0; i++) {
        struct ft_op *op = ft_op_add(&c->list);
        if (op == NULL) {
            c->failures.count++;
            snprintf(c->failures.text, sizeof c->failures.text, "out of memory");
            break;
        }
        op->kind = i % 4 == 3 ? FT_OP_WITHDRAW : FT_OP_DEPOSIT;
        op->sum = 1 + (int64_t)c->index * PG_OPS_MAX + i;
        op->account = c->keyed ? (c->index + i) % PG_KEYED
                               : PG_KEYED + (c->index + i) % (PG_ACCOUNTS - PG_KEYED);
        if (c->keyed)
            snprintf(op->key, sizeof op->key, "pg-%d-%d", c->index, i);
        /* A client with a key retries a 503 with it until it gets an answer (README,
         * "Idempotency keys"); one without takes the 503 at its word -- nothing changed -- and
         * goes on with its next operation. */
        while (!pg_attempt(c, curl, op) && c->keyed && c->failures.count == 0) {
            if (ft_now() > deadline) {
                ft_note_failure(&c->failures, op, NULL, "no definitive answer before the deadline");
                break;
            }
            ft_pause_ms(PG_503_PAUSE_MS);
        }
        if (op->final == 0 && !c->keyed)
            ft_pause_ms(PG_503_PAUSE_MS);
    }
    curl_easy_cleanup(curl);
    return NULL;
}

/* Waits (bounded) until done(clients) says so; asserting, with what on a timeout. */
static void pg_wait(struct pg_client *clients, int (*done)(struct pg_client *), double timeout_s,
                    const char *what) {
    double deadline = ft_now() + timeout_s * ft_timeout_scale();
    while (!done(clients)) {
        for (int t = 0; t < PG_THREADS; t++)
            ck_assert_msg(clients[t].failures.count == 0, "client %d: %d unexpected outcomes:%s", t,
                          clients[t].failures.count, clients[t].failures.text);
        ck_assert_msg(ft_now() < deadline, "timed out after %.0f s waiting for %s", timeout_s,
                      what);
        ft_pause_ms(5);
    }
}

static int enough_successes(struct pg_client *clients) {
    return atomic_load(&clients[0].load->ok) >= PG_OK_BEFORE;
}

static int every_client_got_503s(struct pg_client *clients) {
    for (int t = 0; t < PG_THREADS; t++) {
        if (atomic_load(&clients[t].unavailable) < PG_503_EACH)
            return 0;
    }
    return 1;
}

static int every_client_served_again(struct pg_client *clients) {
    for (int t = 0; t < PG_THREADS; t++) {
        if (atomic_load(&clients[t].ok_after) < PG_OK_AFTER)
            return 0;
    }
    return 1;
}

/* The op a journal amount names, or NULL. */
static struct ft_op *pg_op_of(struct pg_client *clients, int64_t amount) {
    int64_t sum = amount < 0 ? -amount : amount;
    int64_t t = (sum - 1) / PG_OPS_MAX, i = (sum - 1) % PG_OPS_MAX;
    if (sum < 1 || t >= PG_THREADS || i >= clients[t].list.count)
        return NULL;
    return &clients[t].list.ops[i];
}

START_TEST(postgres_restarted_under_deposit_load_gives_only_503s_and_loses_no_acknowledged_cent) {
    struct pg_load load;
    memset(&load, 0, sizeof load);
    load.base_url = ft_default_server()->base_url;
    atomic_init(&load.phase, PG_UP);
    atomic_init(&load.stop, 0);
    atomic_init(&load.ok, 0);
    for (int a = 0; a < PG_ACCOUNTS; a++)
        ft_create_account(load.accounts[a]);

    struct pg_client clients[PG_THREADS];
    pthread_t threads[PG_THREADS];
    memset(clients, 0, sizeof clients);
    for (int t = 0; t < PG_THREADS; t++) {
        clients[t].load = &load;
        clients[t].index = t;
        clients[t].keyed = t < PG_KEYED;
        atomic_init(&clients[t].unavailable, 0);
        atomic_init(&clients[t].ok_after, 0);
    }
    for (int t = 0; t < PG_THREADS; t++)
        ck_assert_int_eq(pthread_create(&threads[t], NULL, pg_client_run, &clients[t]), 0);

    /* The outage starts while the clients are busy, and lasts until each of them has been
     * told 503 a few times; then the clients must all be served again by the same process. */
    pg_wait(clients, enough_successes, 20, "the first successes");
    ft_sql_disconnect();
    atomic_store(&load.phase, PG_DOWN);
    ft_own_cluster("stop");
    pg_wait(clients, every_client_got_503s, 20, "every client to get 503s");
    ft_own_cluster("start");
    atomic_store(&load.phase, PG_BACK);
    pg_wait(clients, every_client_served_again, 30, "every client to be served again");
    atomic_store(&load.stop, 1);
    for (int t = 0; t < PG_THREADS; t++)
        pthread_join(threads[t], NULL);

    int ops = 0, successes = 0, refused = 0, unavailable = 0, keyed_stored = 0;
    int keyed_successes = 0, keyed_in_doubt = 0, unkeyed_in_doubt = 0;
    int64_t expected[PG_ACCOUNTS] = {0};
    char in_doubt_example[200] = "";
    for (int t = 0; t < PG_THREADS; t++) {
        struct pg_client *c = &clients[t];
        ck_assert_msg(c->failures.count == 0, "client %d: %d unexpected outcomes:%s", t,
                      c->failures.count, c->failures.text);
        refused += c->refused;
        for (int i = 0; i < c->list.count; i++) {
            struct ft_op *op = &c->list.ops[i];
            ops++;
            unavailable += op->first == 503;
            if (c->keyed && op->final != 0)
                keyed_stored++;
            if (op->final == 200) {
                successes++;
                keyed_successes += c->keyed;
                expected[op->account] += op->kind == FT_OP_DEPOSIT ? op->sum : -op->sum;
            }
            /* A keyed op answered 503 whose retry was a replay had committed: only an
             * outcome_unknown may have said so, never an unavailable ("nothing was changed"). */
            if (op->first == 503 && op->replayed) {
                if (keyed_in_doubt++ == 0)
                    snprintf(in_doubt_example, sizeof in_doubt_example,
                             "the deposit/withdrawal of %" PRId64 " with key '%s'", op->sum,
                             op->key);
                ck_assert_msg(op->unknown > 0,
                              "the op of %" PRId64 " (key '%s') committed, yet it was only ever "
                              "answered 503 unavailable (\"nothing was changed\") before its "
                              "replay",
                              op->sum, op->key);
            }
        }
    }

    /* Each journal entry on these accounts is one operation that a client sent, once, on its
     * account and the right way round; each operation acknowledged with 200 has its entry; a
     * refusal has none. An entry of an op that got only a 503 is a commit whose answer was lost:
     * see below. */
    PGconn *conn = journal_conn();
    for (int a = 0; a < PG_ACCOUNTS; a++) {
        const char *params[1] = {load.accounts[a]};
        PGresult *rows = journal_query(conn,
                                       "SELECT e.amount_cents, e.kind FROM entries e JOIN accounts "
                                       "a ON a.id = e.account_id WHERE a.account_number = $1",
                                       1, params);
        for (int row = 0; row < PQntuples(rows); row++) {
            int64_t amount = strtoll(PQgetvalue(rows, row, 0), NULL, 10);
            struct ft_op *op = pg_op_of(clients, amount);
            ck_assert_msg(op != NULL, "an entry of %" PRId64 " on %s that no client sent", amount,
                          load.accounts[a]);
            ck_assert_msg(op->account == a && (amount > 0) == (op->kind == FT_OP_DEPOSIT),
                          "the entry of %" PRId64 " is on the wrong account or the wrong way",
                          amount);
            op->seen++;
            ck_assert_msg(op->seen == 1, "the op of %" PRId64 " is in the journal twice", op->sum);
            if (op->final == 200)
                continue;
            ck_assert_msg(op->key[0] == '\0' && op->first == 503 && op->final == 0,
                          "the %s of %" PRId64 " (key '%s') is in the journal, but its client was "
                          "told %ld first and %ld last after %d attempts",
                          op->kind == FT_OP_DEPOSIT ? "deposit" : "withdrawal", op->sum, op->key,
                          op->first, op->final, op->attempts);
            ck_assert_msg(op->unknown > 0,
                          "the %s of %" PRId64 " without a key committed, but its client was told "
                          "503 unavailable: \"nothing was changed\"",
                          op->kind == FT_OP_DEPOSIT ? "deposit" : "withdrawal", op->sum);
            if (unkeyed_in_doubt++ == 0 && keyed_in_doubt == 0)
                snprintf(in_doubt_example, sizeof in_doubt_example,
                         "the %s of %" PRId64 " without a key",
                         op->kind == FT_OP_DEPOSIT ? "deposit" : "withdrawal", op->sum);
            expected[op->account] += op->kind == FT_OP_DEPOSIT ? op->sum : -op->sum;
        }
        PQclear(rows);
    }
    for (int t = 0; t < PG_THREADS; t++) {
        for (int i = 0; i < clients[t].list.count; i++) {
            struct ft_op *op = &clients[t].list.ops[i];
            ck_assert_msg(op->final != 200 || op->seen == 1,
                          "the acknowledged op of %" PRId64 " (key '%s') is not in the journal",
                          op->sum, op->key);
        }
    }
    /* The keyed clients: exactly their definitive answers were stored, each success with its
     * entry. */
    const char *none[1] = {NULL};
    PGresult *keys = journal_query(conn,
                                   "SELECT count(*), count(entry_id) FROM idempotency_keys WHERE "
                                   "key LIKE 'pg-%'",
                                   0, none);
    int stored = atoi(PQgetvalue(keys, 0, 0)), stored_entries = atoi(PQgetvalue(keys, 0, 1));
    PQclear(keys);
    PQfinish(conn);
    ck_assert_int_eq(stored, keyed_stored);
    ck_assert_int_eq(stored_entries, keyed_successes);

    /* Balances, by the API and in the database. The keyed accounts hold exactly what their
     * clients were acknowledged (200), replays included. The others hold that plus the ops
     * answered 503 outcome_unknown that had committed (the connection broke between the commit
     * and its answer); a 503 unavailable never had (asserted above). */
    for (int a = 0; a < PG_ACCOUNTS; a++) {
        ck_assert_msg(ft_balance(load.accounts[a]) == expected[a],
                      "account %d: balance %" PRId64 ", acknowledged operations %" PRId64, a,
                      ft_balance(load.accounts[a]), expected[a]);
        ck_assert_int_eq(ft_snapshot(load.accounts[a]).balance_cents, expected[a]);
    }
    ft_assert_ledger_invariants();
    ck_assert_int_gt(unavailable, 0);
    /* Statements that the shutdown cut off in mid-flight, as the server logged them. */
    char *log = ft_server_stderr(ft_default_server());
    int cut = 0;
    for (const char *p = log; (p = strstr(p, "server closed the connection")) != NULL; p++)
        cut++;
    free(log);
    fprintf(stderr,
            "faults: PostgreSQL restart under load: %d operations, %d acknowledged (200), %d "
            "refused (409), %d first answered 503, %d statements cut off by the shutdown; "
            "answered 503 but committed: %d with a key (retry replayed), %d without%s%s\n",
            ops, successes, refused, unavailable, cut, keyed_in_doubt, unkeyed_in_doubt,
            in_doubt_example[0] != '\0' ? ", e.g. " : "", in_doubt_example);
    for (int t = 0; t < PG_THREADS; t++)
        free(clients[t].list.ops);
}
END_TEST

/* ---- mondux killed under load, clients retrying with their keys ---------------------------- */

#define KILL_THREADS  4
#define KILL_ACCOUNTS 4
#define KILL_OPS      100 /* per thread */
#define KILL_OK       40  /* acknowledged operations before the kill */
#define KILL_INITIAL  INT64_C(1000000000)

struct kill_load {
    char accounts[KILL_ACCOUNTS][FT_ACCOUNT_SIZE];
    pthread_mutex_t lock;
    pthread_cond_t changed;
    char base_url[64]; /* of the server running now */
    int generation;    /* how many times the server was replaced */
    atomic_long ok;
};

struct kill_client {
    struct kill_load *load;
    int index;
    struct ft_op ops[KILL_OPS];
    struct ft_failures failures;
};

/* Op i of client t, and what it intends. */
static void kill_plan(struct ft_op *op, int t, int i) {
    memset(op, 0, sizeof *op);
    op->sum = 1 + t * KILL_OPS + i;
    op->account = (t + i) % KILL_ACCOUNTS;
    op->to = (t + i + 1) % KILL_ACCOUNTS;
    op->kind = i % 3 == 2 ? FT_OP_TRANSFER : FT_OP_DEPOSIT;
    snprintf(op->key, sizeof op->key, "kill-%d-%d", t, i);
}

static void *kill_client_run(void *arg) {
    struct kill_client *c = arg;
    struct kill_load *load = c->load;
    CURL *curl = curl_easy_init();
    double deadline = ft_now() + 50 * ft_timeout_scale();
    char base_url[64];
    for (int i = 0; curl != NULL && i < KILL_OPS && c->failures.count == 0; i++) {
        struct ft_op *op = &c->ops[i];
        /* Every operation is sent again, with its key, until it gets a definitive answer. */
        while (op->final == 0 && c->failures.count == 0) {
            pthread_mutex_lock(&load->lock);
            snprintf(base_url, sizeof base_url, "%s", load->base_url);
            int generation = load->generation;
            pthread_mutex_unlock(&load->lock);

            struct ft_response *r = ft_op_send(curl, base_url, load->accounts, op);
            if (op->attempts == 1)
                op->first = r != NULL ? r->status : 0;
            if (r == NULL) {
                ft_note_failure(&c->failures, op, r, "out of memory");
            } else if (ft_op_succeeded(r, op, load->accounts)) {
                op->final = r->status;
                op->replayed = ft_is_replayed(r);
                atomic_fetch_add(&load->ok, 1);
            } else if (r->status == 0) {
                /* The server is gone: wait for its successor (or a moment) and send again. */
                op->after_kill = 1;
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += 200000000L;
                if (until.tv_nsec >= 1000000000L) {
                    until.tv_sec++;
                    until.tv_nsec -= 1000000000L;
                }
                pthread_mutex_lock(&load->lock);
                while (load->generation == generation &&
                       pthread_cond_timedwait(&load->changed, &load->lock, &until) == 0)
                    continue;
                pthread_mutex_unlock(&load->lock);
            } else if (is_unavailable(r) || is_outcome_unknown(r) ||
                       (r->status == 409 && strcmp(ft_code(r), "idempotency_key_in_use") == 0)) {
                ft_pause_ms(20); /* the old server's transaction may still hold the key */
            } else {
                ft_note_failure(&c->failures, op, r, "neither a success nor a reason to retry");
            }
            ft_response_free(r);
            if (op->final == 0 && ft_now() > deadline)
                ft_note_failure(&c->failures, op, NULL, "no definitive answer before the deadline");
        }
    }
    if (curl == NULL)
        ft_note_failure(&c->failures, &c->ops[0], NULL, "curl_easy_init failed");
    curl_easy_cleanup(curl);
    return NULL;
}

static struct ft_op *kill_op_of(struct kill_client *clients, int64_t sum) {
    int64_t t = (sum - 1) / KILL_OPS, i = (sum - 1) % KILL_OPS;
    if (sum < 1 || t >= KILL_THREADS)
        return NULL;
    return &clients[t].ops[i];
}

START_TEST(
    server_killed_mid_load_then_retries_with_the_same_keys_apply_every_operation_exactly_once) {
    static struct kill_client clients[KILL_THREADS]; /* ~60 KB: off the stack */
    struct kill_load load;
    memset(&load, 0, sizeof load);
    memset(clients, 0, sizeof clients);
    pthread_mutex_init(&load.lock, NULL);
    pthread_cond_init(&load.changed, NULL);
    atomic_init(&load.ok, 0);
    /* This test talks to its own servers only (the suite's may still hold connections that died
     * with the other test's database restart). */
    struct ft_server *first = ft_server_start(FT_DATABASE_URL, ft_db(), NULL);
    ft_set_default_server(first);
    snprintf(load.base_url, sizeof load.base_url, "%s", first->base_url);
    for (int a = 0; a < KILL_ACCOUNTS; a++) {
        ft_create_account(load.accounts[a]);
        ck_assert_int_eq(ft_move(load.accounts[a], "deposit", KILL_INITIAL), KILL_INITIAL);
    }
    pthread_t threads[KILL_THREADS];
    for (int t = 0; t < KILL_THREADS; t++) {
        clients[t].load = &load;
        clients[t].index = t;
        for (int i = 0; i < KILL_OPS; i++)
            kill_plan(&clients[t].ops[i], t, i);
        ck_assert_int_eq(pthread_create(&threads[t], NULL, kill_client_run, &clients[t]), 0);
    }

    /* SIGKILL once the clients are well into their work: requests are in flight, some
     * committed with their answers never sent. */
    double deadline = ft_now() + 20 * ft_timeout_scale();
    while (atomic_load(&load.ok) < KILL_OK) {
        ck_assert_msg(ft_now() < deadline, "only %ld operations acknowledged in 20 s",
                      atomic_load(&load.ok));
        ft_pause_ms(2);
    }
    ck_assert_int_eq(kill(first->pid, SIGKILL), 0);
    long acknowledged_before_kill = atomic_load(&load.ok);
    (void)ft_server_wait_exit(first, 10, NULL, NULL); /* -1: killed, as meant */

    struct ft_server *second = ft_server_start(FT_DATABASE_URL, ft_db(), NULL);
    ft_set_default_server(second);
    pthread_mutex_lock(&load.lock);
    snprintf(load.base_url, sizeof load.base_url, "%s", second->base_url);
    load.generation++;
    pthread_cond_broadcast(&load.changed);
    pthread_mutex_unlock(&load.lock);
    for (int t = 0; t < KILL_THREADS; t++)
        pthread_join(threads[t], NULL);
    pthread_cond_destroy(&load.changed);
    pthread_mutex_destroy(&load.lock);

    int retried = 0, replayed_after_retry = 0;
    int64_t expected[KILL_ACCOUNTS];
    for (int a = 0; a < KILL_ACCOUNTS; a++)
        expected[a] = KILL_INITIAL;
    for (int t = 0; t < KILL_THREADS; t++) {
        ck_assert_msg(clients[t].failures.count == 0, "client %d: %d unexpected outcomes:%s", t,
                      clients[t].failures.count, clients[t].failures.text);
        for (int i = 0; i < KILL_OPS; i++) {
            struct ft_op *op = &clients[t].ops[i];
            ck_assert_msg(op->final != 0, "op %s has no definitive answer", op->key);
            retried += op->after_kill;
            replayed_after_retry += op->after_kill && op->replayed;
            expected[op->account] -= op->kind == FT_OP_TRANSFER ? op->sum : -op->sum;
            if (op->kind == FT_OP_TRANSFER)
                expected[op->to] += op->sum;
        }
    }
    /* The kill must have interrupted the clients (else this proved nothing). */
    ck_assert_int_gt(retried, 0);

    /* Exactly once: one deposit entry per deposit, one transfer per transfer, one stored key per
     * operation pointing at it -- and nothing else on these accounts. */
    PGconn *conn = journal_conn();
    char initial[24];
    snprintf(initial, sizeof initial, "%" PRId64, KILL_INITIAL);
    const char *list_params[5] = {load.accounts[0], load.accounts[1], load.accounts[2],
                                  load.accounts[3], initial};
    PGresult *rows = journal_query(
        conn,
        "SELECT e.amount_cents, a.account_number FROM entries e JOIN accounts a ON a.id = "
        "e.account_id WHERE a.account_number IN ($1, $2, $3, $4) AND e.kind = 'deposit' AND "
        "e.amount_cents <> $5::bigint "
        "UNION ALL SELECT t.amount_cents, f.account_number || '>' || d.account_number FROM "
        "transfers t JOIN accounts f ON f.id = t.from_account_id JOIN accounts d ON d.id = "
        "t.to_account_id WHERE f.account_number IN ($1, $2, $3, $4)",
        5, list_params);
    for (int row = 0; row < PQntuples(rows); row++) {
        int64_t sum = strtoll(PQgetvalue(rows, row, 0), NULL, 10);
        const char *where = PQgetvalue(rows, row, 1);
        struct ft_op *op = kill_op_of(clients, sum);
        ck_assert_msg(op != NULL, "a movement of %" PRId64 " (%s) that no client asked for", sum,
                      where);
        char want[2 * FT_ACCOUNT_SIZE + 2];
        if (op->kind == FT_OP_TRANSFER)
            snprintf(want, sizeof want, "%s>%s", load.accounts[op->account], load.accounts[op->to]);
        else
            snprintf(want, sizeof want, "%s", load.accounts[op->account]);
        ck_assert_msg(strcmp(where, want) == 0, "op %s landed on %s, not %s", op->key, where, want);
        op->seen++;
        ck_assert_msg(op->seen == 1, "op %s (sum %" PRId64 ") was applied twice", op->key, sum);
    }
    PQclear(rows);
    const char *none[1] = {NULL};
    rows = journal_query(conn,
                         "SELECT k.key, coalesce(e.amount_cents, t.amount_cents) FROM "
                         "idempotency_keys k LEFT JOIN entries e ON e.id = k.entry_id LEFT JOIN "
                         "transfers t ON t.id = k.transfer_id WHERE k.key LIKE 'kill-%'",
                         0, none);
    int keys = PQntuples(rows);
    for (int row = 0; row < keys; row++) {
        int64_t sum = strtoll(PQgetvalue(rows, row, 1), NULL, 10);
        struct ft_op *op = kill_op_of(clients, sum);
        ck_assert_msg(op != NULL && strcmp(op->key, PQgetvalue(rows, row, 0)) == 0,
                      "key '%s' is stored with a movement of %" PRId64 " that is not its own",
                      PQgetvalue(rows, row, 0), sum);
    }
    PQclear(rows);
    PQfinish(conn);
    ck_assert_int_eq(keys, KILL_THREADS * KILL_OPS);
    for (int t = 0; t < KILL_THREADS; t++) {
        for (int i = 0; i < KILL_OPS; i++)
            ck_assert_msg(clients[t].ops[i].seen == 1, "op %s was never applied",
                          clients[t].ops[i].key);
    }
    for (int a = 0; a < KILL_ACCOUNTS; a++) {
        ck_assert_msg(ft_balance(load.accounts[a]) == expected[a],
                      "account %d: balance %" PRId64 ", intended %" PRId64, a,
                      ft_balance(load.accounts[a]), expected[a]);
        ck_assert_int_eq(ft_snapshot(load.accounts[a]).balance_cents, expected[a]);
    }
    ft_assert_ledger_invariants();
    ck_assert_int_eq(ft_server_stop(second), 0);
    fprintf(stderr,
            "faults: SIGKILL under load: %d operations, %ld acknowledged before the kill, %d "
            "sent again after it, %d of those replayed (committed by the killed server)\n",
            KILL_THREADS * KILL_OPS, acknowledged_before_kill, retried, replayed_after_retry);
}
END_TEST

/* ---- commits whose acknowledgement was lost, in the money counters --------------------------- */

/* A COMMIT that must wait for a synchronous standby is written to the server's own WAL first and
 * then waits for a confirmation; terminating its backend ends the wait, and the transaction stays
 * committed locally (PostgreSQL, "Synchronous Replication"). Naming a standby that never comes
 * thus makes, on demand, a commit that happened and whose answer the service never gets. */
#define NO_STANDBY_WAIT_S 10.0

static void reload_configuration(const char *sql) {
    ft_sql_admin_exec(sql, (const char *)NULL);
    ft_sql_admin_exec("SELECT pg_reload_conf()", (const char *)NULL);
}

/* Sends method path body with key; if its COMMIT comes to wait for the standby, terminates that
 * backend (the one running apply_batch: the change feed's numbering rounds wait for the standby
 * too) and returns 1; 0 when the request was answered first (the setting was not yet in
 * force: it committed the ordinary way). Either way asserts a first answer of status. */
static int send_with_its_commit_cut(const char *db, const char *method, const char *path,
                                    const char *body, const char *key, long status) {
    struct ft_call *call = ft_call_start(method, path, body, key);
    double deadline = ft_now() + NO_STANDBY_WAIT_S * ft_timeout_scale();
    int64_t waiting = 0;
    while (!ft_call_done(call) &&
           (waiting = ft_sql_admin_int64("SELECT coalesce(max(pid), 0) FROM pg_stat_activity "
                                         "WHERE datname = $1 AND wait_event = 'SyncRep'"
                                         " AND query LIKE '%apply_batch%'",
                                         db, (const char *)NULL)) == 0 &&
           ft_now() < deadline)
        ft_pause_ms(5);
    if (waiting != 0) {
        char pid[24];
        snprintf(pid, sizeof pid, "%" PRId64, waiting);
        ft_sql_admin_exec("SELECT pg_terminate_backend($1::int)", pid, (const char *)NULL);
    }
    struct ft_response *first = ft_call_finish(call);
    ft_assert_status(first, status);
    ft_assert_not_replayed(first);
    /* Committed: its retry is the replay. */
    struct ft_response *retry = ft_http_keyed(method, path, body, key);
    ft_assert_replay_of(first, retry);
    ft_response_free(retry);
    ft_response_free(first);
    return waiting != 0;
}

/* Asserts that /metrics shows the count and sum of a kind as the journal has them. */
static void assert_money_metrics(const char *kind, const char *count_sql, const char *sum_sql) {
    char count[160], sum[160];
    snprintf(count, sizeof count, "mondux_money_operations_total{kind=\"%s\"} %" PRId64 "\n", kind,
             ft_sql_int64(count_sql, (const char *)NULL));
    snprintf(sum, sizeof sum, "mondux_money_moved_cents_total{kind=\"%s\"} %" PRId64 "\n", kind,
             ft_sql_int64(sum_sql, (const char *)NULL));
    struct ft_response *metrics = ft_http("GET", "/metrics", NULL);
    ft_assert_status(metrics, 200);
    ck_assert_msg(strstr(metrics->body, count) != NULL && strstr(metrics->body, sum) != NULL,
                  "the journal says\n%s%sbut /metrics:\n%s", count, sum, metrics->body);
    ft_response_free(metrics);
}

START_TEST(commits_whose_answer_was_lost_are_counted_in_the_money_metrics_like_the_journal) {
    /* A database of this test alone, so that the journal is this server's alone; only its
     * sessions wait for a standby (the harness and every other server commit locally). */
    char db[64], conninfo[512], database_url[640];
    ft_db_create(db, sizeof db);
    ft_use_db(db);
    ft_conninfo(db, conninfo, sizeof conninfo);
    snprintf(database_url, sizeof database_url,
             "DATABASE_URL=%s options='-c synchronous_commit=on'", conninfo);
    reload_configuration("ALTER SYSTEM SET synchronous_commit = 'local'");
    const char *env[] = {database_url, "MX_IDEMPOTENCY_SWEEP=0", NULL};
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, db, env);
    ft_set_default_server(server);

    /* Money moved the ordinary way, with keys and without. */
    char a[FT_ACCOUNT_SIZE], b[FT_ACCOUNT_SIZE], path[256], body[256];
    ft_create_account(a);
    ft_create_account(b);
    ft_move(a, "deposit", 1000);
    ft_move(a, "withdraw", 100);
    ft_transfer(a, b, 50);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=7", b);
    struct ft_response *ordinary = ft_http_keyed("PUT", path, NULL, "lost-ordinary");
    ft_assert_status(ordinary, 200);
    ft_response_free(ordinary);

    /* A deposit, a withdrawal and a transfer whose commits happen unanswered. */
    reload_configuration("ALTER SYSTEM SET synchronous_standby_names = 'mx_ft_no_standby'");
    int cut[3] = {0, 0, 0}, attempt = 0;
    double deadline = ft_now() + NO_STANDBY_WAIT_S * ft_timeout_scale();
    for (; (!cut[0] || !cut[1] || !cut[2]) && ft_now() < deadline; attempt++) {
        char key[48];
        for (int kind = 0; kind < 3; kind++) {
            if (cut[kind])
                continue;
            snprintf(key, sizeof key, "lost-%d-%d", kind, attempt);
            if (kind == 2) {
                snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": %d}", a, b,
                         40 + attempt);
                cut[kind] = send_with_its_commit_cut(db, "POST", "/api/transfers", body, key, 201);
            } else {
                snprintf(path, sizeof path, "/api/accounts/%s/%s?sum=%d", a,
                         kind == 0 ? "deposit" : "withdraw", 300 + kind * 10 + attempt);
                cut[kind] = send_with_its_commit_cut(db, "PUT", path, NULL, key, 200);
            }
        }
    }
    reload_configuration("ALTER SYSTEM RESET synchronous_standby_names");
    reload_configuration("ALTER SYSTEM RESET synchronous_commit");
    ck_assert_msg(cut[0] && cut[1] && cut[2],
                  "no commit waited for the standby within %.0f s (deposit %d, withdrawal %d, "
                  "transfer %d)",
                  NO_STANDBY_WAIT_S, cut[0], cut[1], cut[2]);
    char *log = ft_server_stderr(server);
    int resolved = 0;
    for (const char *p = log; (p = strstr(p, "a commit that did happen")) != NULL; p++)
        resolved++;
    free(log);
    ck_assert_int_eq(resolved, 3);
    fprintf(stderr, "faults: lost answers: 3 commits cut from their answers in %d round(s)\n",
            attempt);

    assert_money_metrics("deposit", "SELECT count(*) FROM entries WHERE kind = 'deposit'",
                         "SELECT sum(amount_cents) FROM entries WHERE kind = 'deposit'");
    assert_money_metrics("withdrawal", "SELECT count(*) FROM entries WHERE kind = 'withdrawal'",
                         "SELECT -sum(amount_cents) FROM entries WHERE kind = 'withdrawal'");
    assert_money_metrics("transfer", "SELECT count(*) FROM transfers",
                         "SELECT sum(amount_cents) FROM transfers");
    ft_assert_ledger_invariants();
    ck_assert_int_eq(ft_server_stop(server), 0);
}
END_TEST

int main(void) {
    ft_init_with_own_cluster("faults");

    Suite *s = suite_create("faults");
    FT_ADD_TEST(
        s, postgres_restarted_under_deposit_load_gives_only_503s_and_loses_no_acknowledged_cent);
    FT_ADD_TEST(
        s,
        server_killed_mid_load_then_retries_with_the_same_keys_apply_every_operation_exactly_once);
    FT_ADD_TEST(s, commits_whose_answer_was_lost_are_counted_in_the_money_metrics_like_the_journal);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
