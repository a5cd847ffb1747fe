/* Chaos: what clients see while the service's database sessions are killed under load; a batch
 * of which one operation is refused; and a request whose database work is in flight when SIGTERM
 * arrives. Everything is asserted as a client sees it -- answers, balances, the journal -- never
 * the service's machinery.
 *
 * Every operation of the load sends a sum that no other sends, so each journal entry and each
 * transfer names the one operation that made it, and the journal is compared with what every
 * client was told, operation by operation. Nothing waits a fixed time for correctness: the test
 * waits (bounded) for conditions; the only pauses are the kills' rhythm and a client's polite
 * pause after a 503 before it sends its key again. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "load.h"

/* ---- the load: 64 clients on 20 accounts while the database sessions are killed ------------- */

#define CLIENTS        64 /* the even ones send every operation with an Idempotency-Key */
#define ACCOUNTS       20
#define OPS_MAX        100000                 /* op i of client t sends 1 + t * OPS_MAX + i */
#define FUNDING        INT64_C(1000000000000) /* account a starts with FUNDING + a: above every op */
#define OK_BEFORE      200                    /* acknowledged operations before the first kill */
#define KILL_ROUNDS    10
#define KILL_EVERY_MS  300
#define OK_EACH_ROUND  20 /* acknowledged operations after each kill before the next one */
#define RETRY_PAUSE_MS 10

struct load {
    const char *base_url;
    char accounts[ACCOUNTS][FT_ACCOUNT_SIZE];
    atomic_int stop;
    atomic_long ok;
};

struct client {
    struct load *load;
    int index;
    int keyed;
    struct ft_op_list list;
    struct ft_failures failures;
};

/* Op i of client t: deposits, withdrawals and transfers spread over every account. */
static void plan(struct ft_op *op, int t, int i, int keyed) {
    static const enum ft_op_kind kinds[4] = {FT_OP_DEPOSIT, FT_OP_WITHDRAW, FT_OP_TRANSFER,
                                             FT_OP_DEPOSIT};
    op->kind = kinds[(t + i) % 4];
    op->sum = 1 + (int64_t)t * OPS_MAX + i;
    op->account = (t * 7 + i) % ACCOUNTS;
    op->to = (op->account + 1 + i % (ACCOUNTS - 1)) % ACCOUNTS;
    if (keyed)
        snprintf(op->key, sizeof op->key, "chaos-%d-%d", t, i);
}

/* One request for op; 1 when its answer is definitive. Any answer outside api.md's set for the
 * operation (a 500, say) is a failure. */
static int attempt(struct client *c, CURL *curl, struct ft_op *op) {
    struct ft_response *r = ft_op_send(curl, c->load->base_url, c->load->accounts, op);
    int definitive = 0;
    if (r == NULL) {
        ft_note_failure(&c->failures, op, NULL, "out of memory");
    } else if (ft_op_succeeded(r, op, c->load->accounts)) {
        definitive = 1;
        atomic_fetch_add(&c->load->ok, 1);
    } else if (r->status == 409 && op->kind != FT_OP_DEPOSIT &&
               strcmp(ft_code(r), "insufficient_funds") == 0) {
        definitive = 1;
    } else if (ft_is_503(r, "unavailable")) {
        op->unavailable++;
    } else if (ft_is_503(r, "outcome_unknown")) {
        op->unknown++;
    } else if (r->status == 409 && op->key[0] != '\0' &&
               strcmp(ft_code(r), "idempotency_key_in_use") == 0) {
        op->in_use++;
    } else if (r->status == 0) {
        op->transport++; /* asserted to be none at the end; a faithful client sends its key again */
    } else {
        ft_note_failure(&c->failures, op, r,
                        "an answer other than a success, 409 insufficient_funds or "
                        "idempotency_key_in_use, or a 503 unavailable or outcome_unknown with "
                        "Retry-After");
    }
    if (definitive) {
        op->final = r->status;
        op->replayed = ft_is_replayed(r);
    }
    ft_response_free(r);
    return definitive;
}

static void *client_run(void *arg) {
    struct client *c = arg;
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        c->failures.count++;
        snprintf(c->failures.text, sizeof c->failures.text, "curl_easy_init failed");
        return NULL;
    }
    for (int i = 0; i < OPS_MAX && !atomic_load(&c->load->stop) && c->failures.count == 0; i++) {
        struct ft_op *op = ft_op_add(&c->list);
        if (op == NULL) {
            c->failures.count++;
            snprintf(c->failures.text, sizeof c->failures.text, "out of memory");
            break;
        }
        plan(op, c->index, i, c->keyed);
        /* A client with a key sends it again until the answer is definitive -- also once the load
         * is over; one without takes a 503 at its word and goes on. */
        double deadline = ft_now() + 30 * ft_timeout_scale();
        while (!attempt(c, curl, op) && c->keyed && c->failures.count == 0) {
            if (ft_now() > deadline) {
                ft_note_failure(&c->failures, op, NULL, "no definitive answer in 30 s");
                break;
            }
            ft_pause_ms(RETRY_PAUSE_MS);
        }
    }
    curl_easy_cleanup(curl);
    return NULL;
}

static void assert_no_failures(struct client *clients) {
    for (int t = 0; t < CLIENTS; t++)
        ck_assert_msg(clients[t].failures.count == 0, "client %d: %d unexpected outcomes:%s", t,
                      clients[t].failures.count, clients[t].failures.text);
}

/* Waits (bounded) until at least count operations were acknowledged. */
static void await_acknowledged(struct client *clients, long count, const char *what) {
    double deadline = ft_now() + 30 * ft_timeout_scale();
    while (atomic_load(&clients[0].load->ok) < count) {
        assert_no_failures(clients);
        ck_assert_msg(ft_now() < deadline, "%s: only %ld operations acknowledged in 30 s", what,
                      atomic_load(&clients[0].load->ok));
        ft_pause_ms(5);
    }
}

/* A connection of the test's own to the current database, for reading the journal back. */
static PGconn *journal_conn(void) {
    char conninfo[512];
    ft_conninfo(ft_db(), conninfo, sizeof conninfo);
    PGconn *conn = PQconnectdb(conninfo);
    ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "%s", PQerrorMessage(conn));
    return conn;
}

static struct ft_op *op_of(struct client *clients, int64_t amount) {
    int64_t sum = amount < 0 ? -amount : amount;
    int64_t t = (sum - 1) / OPS_MAX, i = (sum - 1) % OPS_MAX;
    if (sum < 1 || t >= CLIENTS || i >= clients[t].list.count)
        return NULL;
    return &clients[t].list.ops[i];
}

/* Marks each op found in the journal: every deposit and withdrawal entry and every transfer
 * must be one that a client sent, on its account(s) and the right way round, and only once. */
static void match_journal(PGconn *conn, struct client *clients, struct load *load) {
    char funding[24];
    snprintf(funding, sizeof funding, "%" PRId64, FUNDING);
    const char *params[1] = {funding};
    PGresult *rows = PQexecParams(
        conn,
        "SELECT e.kind, e.amount_cents, a.account_number, '' FROM entries e"
        " JOIN accounts a ON a.id = e.account_id"
        " WHERE e.kind IN ('deposit', 'withdrawal') AND e.amount_cents < $1::bigint"
        " UNION ALL SELECT 'transfer', t.amount_cents, f.account_number, d.account_number"
        " FROM transfers t JOIN accounts f ON f.id = t.from_account_id"
        " JOIN accounts d ON d.id = t.to_account_id",
        1, NULL, params, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(rows) == PGRES_TUPLES_OK, "%s", PQresultErrorMessage(rows));
    for (int row = 0; row < PQntuples(rows); row++) {
        const char *kind = PQgetvalue(rows, row, 0);
        int64_t amount = strtoll(PQgetvalue(rows, row, 1), NULL, 10);
        struct ft_op *op = op_of(clients, amount);
        ck_assert_msg(op != NULL, "a %s of %" PRId64 " that no client sent", kind, amount);
        enum ft_op_kind want = strcmp(kind, "transfer") == 0 ? FT_OP_TRANSFER
                               : amount > 0                  ? FT_OP_DEPOSIT
                                                             : FT_OP_WITHDRAW;
        ck_assert_msg(op->kind == want &&
                          strcmp(PQgetvalue(rows, row, 2), load->accounts[op->account]) == 0 &&
                          (want != FT_OP_TRANSFER ||
                           strcmp(PQgetvalue(rows, row, 3), load->accounts[op->to]) == 0),
                      "the %s of %" PRId64 " is not what op %s asked for", kind, amount, op->key);
        op->seen++;
        ck_assert_msg(op->seen == 1, "the op of %" PRId64 " (key '%s') is in the journal twice",
                      op->sum, op->key);
    }
    PQclear(rows);
}

/* Each stored key points at its own op's effect, and exactly the keyed ops with a definitive
 * answer have one. */
static void match_stored_keys(PGconn *conn, struct client *clients, int keyed_definitive) {
    PGresult *rows = PQexec(conn, "SELECT k.key, coalesce(e.amount_cents, t.amount_cents)"
                                  " FROM idempotency_keys k"
                                  " LEFT JOIN entries e ON e.id = k.entry_id"
                                  " LEFT JOIN transfers t ON t.id = k.transfer_id"
                                  " WHERE k.key LIKE 'chaos-%'");
    ck_assert_msg(PQresultStatus(rows) == PGRES_TUPLES_OK, "%s", PQresultErrorMessage(rows));
    for (int row = 0; row < PQntuples(rows); row++) {
        if (PQgetisnull(rows, row, 1))
            continue; /* a stored refusal: no effect */
        struct ft_op *op = op_of(clients, strtoll(PQgetvalue(rows, row, 1), NULL, 10));
        ck_assert_msg(op != NULL && strcmp(op->key, PQgetvalue(rows, row, 0)) == 0,
                      "key '%s' is stored with a movement of %s that is not its own",
                      PQgetvalue(rows, row, 0), PQgetvalue(rows, row, 1));
    }
    ck_assert_int_eq(PQntuples(rows), keyed_definitive);
    PQclear(rows);
}

struct tally {
    int ops, acknowledged, refused, unavailable, unknown, unknown_landed, replayed, transport;
};

/* What each op's client was told against what the journal holds; adds its effect to expected. */
static void check_op(const struct ft_op *op, int keyed, int64_t *expected, struct tally *tally) {
    int acknowledged = op->final == 200 || op->final == 201;
    tally->ops++;
    tally->acknowledged += acknowledged;
    tally->refused += op->final == 409;
    tally->unavailable += op->unavailable;
    tally->unknown += op->unknown;
    tally->replayed += op->replayed;
    tally->transport += op->transport;
    ck_assert_msg(!keyed || op->final != 0, "keyed op %s has no definitive answer", op->key);
    ck_assert_msg(!acknowledged || op->seen == 1,
                  "the acknowledged op of %" PRId64 " (key '%s') is not in the journal", op->sum,
                  op->key);
    ck_assert_msg(op->final != 409 || op->seen == 0,
                  "the refused op of %" PRId64 " (key '%s') is in the journal", op->sum, op->key);
    /* In the journal without an acknowledgement: only after an answer that said it may have
     * happened, never after 503 unavailable alone ("nothing was changed"). */
    ck_assert_msg(op->seen == 0 || acknowledged || op->unknown > 0 || op->transport > 0,
                  "the op of %" PRId64 " (key '%s') is in the journal, but its client was told "
                  "only 503 unavailable (%d times)",
                  op->sum, op->key, op->unavailable);
    tally->unknown_landed += op->seen == 1 && !acknowledged;
    /* A replay tells the keyed client its earlier attempt had happened: one whose answer said it
     * might have (or never came, or found the attempt still running). */
    ck_assert_msg(!op->replayed || op->unknown > 0 || op->in_use > 0 || op->transport > 0,
                  "op %s was replayed, yet no earlier attempt may have happened (%d attempts, "
                  "%d answered 503 unavailable)",
                  op->key, op->attempts, op->unavailable);
    if (op->seen == 0)
        return;
    expected[op->account] += op->kind == FT_OP_DEPOSIT ? op->sum : -op->sum;
    if (op->kind == FT_OP_TRANSFER)
        expected[op->to] += op->sum;
}

START_TEST(
    killed_database_sessions_under_load_lose_no_acknowledged_operation_and_apply_none_twice) {
    /* A database and a server of this test alone: its sessions are the ones killed, and its
     * journal is this load's alone. */
    char db[64];
    ft_db_create(db, sizeof db);
    ft_use_db(db);
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, db, NULL);
    ft_set_default_server(server);
    static struct load load;
    static struct client clients[CLIENTS];
    memset(&load, 0, sizeof load);
    memset(clients, 0, sizeof clients);
    load.base_url = server->base_url;
    atomic_init(&load.stop, 0);
    atomic_init(&load.ok, 0);
    int64_t expected[ACCOUNTS];
    for (int a = 0; a < ACCOUNTS; a++) {
        ft_create_account(load.accounts[a]);
        expected[a] = FUNDING + a;
        ck_assert_int_eq(ft_move(load.accounts[a], "deposit", expected[a]), expected[a]);
    }
    pthread_t threads[CLIENTS];
    for (int t = 0; t < CLIENTS; t++) {
        clients[t].load = &load;
        clients[t].index = t;
        clients[t].keyed = t % 2 == 0;
        ck_assert_int_eq(pthread_create(&threads[t], NULL, client_run, &clients[t]), 0);
    }

    /* The kills come while the clients are busy, and each next one only once the service has
     * acknowledged operations again: it recovers by itself, every time. */
    await_acknowledged(clients, OK_BEFORE, "before the first kill");
    int64_t killed = 0;
    for (int round = 0; round < KILL_ROUNDS; round++) {
        long ok_before = atomic_load(&load.ok);
        killed += ft_end_service_sessions();
        ft_pause_ms(KILL_EVERY_MS);
        await_acknowledged(clients, ok_before + OK_EACH_ROUND, "after a kill");
    }
    atomic_store(&load.stop, 1);
    for (int t = 0; t < CLIENTS; t++)
        pthread_join(threads[t], NULL);
    assert_no_failures(clients);

    PGconn *conn = journal_conn();
    match_journal(conn, clients, &load);
    struct tally tally = {0};
    int keyed_definitive = 0;
    for (int t = 0; t < CLIENTS; t++) {
        for (int i = 0; i < clients[t].list.count; i++) {
            check_op(&clients[t].list.ops[i], clients[t].keyed, expected, &tally);
            keyed_definitive += clients[t].keyed && clients[t].list.ops[i].final != 0;
        }
    }
    match_stored_keys(conn, clients, keyed_definitive);
    PQfinish(conn);
    ck_assert_msg(tally.transport == 0, "%d requests got no HTTP answer at all", tally.transport);
    /* The kills must have reached the clients, else this proved nothing. */
    ck_assert_int_gt(killed, 0);
    ck_assert_msg(tally.unavailable + tally.unknown > 0,
                  "%" PRId64 " sessions killed, yet no client was ever told 503", killed);

    /* Balances, by the API and in the database: the funding plus every op in the journal. */
    for (int a = 0; a < ACCOUNTS; a++) {
        char path[128];
        snprintf(path, sizeof path, "/api/accounts/%s/balance", load.accounts[a]);
        struct ft_response *r = ft_http_after_outage("GET", path, NULL, 10);
        ft_assert_status(r, 200);
        ck_assert_msg(ft_json_int(r, "balance") == expected[a],
                      "account %d: balance %" PRId64 ", its operations %" PRId64, a,
                      ft_json_int(r, "balance"), expected[a]);
        ft_response_free(r);
        ck_assert_int_eq(ft_snapshot(load.accounts[a]).balance_cents, expected[a]);
    }
    ft_assert_ledger_invariants();
    ck_assert_int_eq(ft_server_stop(server), 0);
    fprintf(stderr,
            "chaos: %d clients, %d operations, %" PRId64 " sessions killed in %d rounds: %d "
            "acknowledged, %d refused, %d answers 503 unavailable, %d outcome_unknown (%d of "
            "those ops landed), %d replays\n",
            CLIENTS, tally.ops, killed, KILL_ROUNDS, tally.acknowledged, tally.refused,
            tally.unavailable, tally.unknown, tally.unknown_landed, tally.replayed);
    for (int t = 0; t < CLIENTS; t++)
        free(clients[t].list.ops);
}
END_TEST

/* ---- a batch with a refusal in it ----------------------------------------------------------- */

#define BATCH_OPS 24 /* on as many accounts, fired at once */

struct batch_op {
    const char *base_url;
    const char *number;
    const char *op; /* "deposit" or "withdraw" */
    int64_t sum;
    const char *key; /* or NULL */
    pthread_barrier_t *barrier;
    struct ft_response *response;
    atomic_int done;
};

static void *batch_op_run(void *arg) {
    struct batch_op *b = arg;
    char path[256], key_line[64];
    snprintf(path, sizeof path, "/api/accounts/%s/%s?sum=%" PRId64, b->number, b->op, b->sum);
    snprintf(key_line, sizeof key_line, "Idempotency-Key: %s", b->key != NULL ? b->key : "");
    const char *headers[] = {b->key != NULL ? key_line : NULL, NULL};
    CURL *curl = curl_easy_init();
    pthread_barrier_wait(b->barrier);
    if (curl != NULL)
        b->response = ft_http_on_with_headers(curl, b->base_url, "PUT", path, NULL, 0, headers);
    curl_easy_cleanup(curl);
    atomic_store(&b->done, 1);
    return NULL;
}

/* mondux_http_requests_in_flight of /metrics, or -1. */
static long requests_in_flight(void) {
    struct ft_response *r = ft_http("GET", "/metrics", NULL);
    const char *line =
        r->status == 200 ? strstr(r->body, "\nmondux_http_requests_in_flight ") : NULL;
    long count =
        line != NULL ? strtol(line + strlen("\nmondux_http_requests_in_flight "), NULL, 10) : -1;
    ft_response_free(r);
    return count;
}

START_TEST(a_batch_with_a_refused_operation_answers_every_other_operation_as_if_alone) {
    static char numbers[BATCH_OPS][FT_ACCOUNT_SIZE];
    char gate[FT_ACCOUNT_SIZE], path[128];
    const int64_t funded = 1000, poor = 3, full = 7;
    struct batch_op ops[BATCH_OPS];
    memset(ops, 0, sizeof ops);
    int64_t expected[BATCH_OPS];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, BATCH_OPS);
    for (int i = 0; i < BATCH_OPS; i++) {
        ft_create_account(numbers[i]);
        /* One withdrawal too large, one deposit over the ceiling; the rest fit. */
        int64_t start = i == full ? FT_MAX_SAFE_CENTS - 10 : funded;
        ft_move(numbers[i], "deposit", start);
        ops[i].base_url = ft_default_server()->base_url;
        ops[i].number = numbers[i];
        ops[i].barrier = &barrier;
        ops[i].op = i == poor ? "withdraw" : i == full || i % 2 == 0 ? "deposit" : "withdraw";
        ops[i].sum = i == poor ? funded + 1 : i == full ? 11 : 100 + i;
        ops[i].key = NULL;
        if (i % 6 == 1) { /* a few with keys: in the same batch, where the runtime has one */
            static char keys[BATCH_OPS][24];
            snprintf(keys[i], sizeof keys[i], "batch-refusal-%d", i);
            ops[i].key = keys[i];
        }
        atomic_init(&ops[i].done, 0);
        expected[i] = i == poor || i == full ? start
                      : ops[i].op[0] == 'd'  ? start + ops[i].sum
                                             : start - ops[i].sum;
    }

    /* A deposit on a held account keeps the database busy; the operations released meanwhile
     * gather behind it, and go to the database together once it is let go -- unless the service
     * has room to send them at once, and then they are answered before. */
    ft_create_account(gate);
    ft_hold_account(gate);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=5", gate);
    struct ft_call *gated = ft_call_start("PUT", path, NULL, NULL);
    ck_assert(ft_await_lock_waiters(1, 10 * ft_timeout_scale()));
    long in_flight_before = requests_in_flight(); /* the gated deposit, perhaps this request */
    pthread_t threads[BATCH_OPS];
    for (int i = 0; i < BATCH_OPS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, batch_op_run, &ops[i]), 0);
    double deadline = ft_now() + 10 * ft_timeout_scale();
    for (;;) {
        int answered = 0;
        for (int i = 0; i < BATCH_OPS; i++)
            answered += atomic_load(&ops[i].done);
        if (answered + requests_in_flight() - in_flight_before >= BATCH_OPS)
            break;
        if (ft_now() > deadline) {
            ft_release_account();
            ck_abort_msg("the operations neither arrived nor were answered in 10 s");
        }
        ft_pause_ms(5);
    }
    ft_release_account();
    for (int i = 0; i < BATCH_OPS; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&barrier);
    struct ft_response *r = ft_call_finish(gated);
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "balance"), 5);
    ft_response_free(r);

    for (int i = 0; i < BATCH_OPS; i++) {
        r = ops[i].response;
        ck_assert_msg(r != NULL, "op %d: out of memory", i);
        if (i == poor) {
            ft_assert_error(r, 409, "insufficient_funds", NULL);
        } else if (i == full) {
            ft_assert_error(r, 409, "balance_limit_exceeded", NULL);
        } else {
            ft_assert_status(r, 200);
            ck_assert_str_eq(ft_json_str(r, "account_number"), numbers[i]);
            ck_assert_int_eq(ft_json_int(r, "balance"), expected[i]);
        }
        ft_response_free(r);
        ck_assert_int_eq(ft_balance(numbers[i]), expected[i]);
        /* The refused ones have only their funding in the journal. */
        ck_assert_int_eq(ft_snapshot(numbers[i]).entries, i == poor || i == full ? 1 : 2);
    }
    ft_assert_ledger_invariants();
}
END_TEST

/* ---- SIGTERM with database work in flight ---------------------------------------------------- */

/* Waits (bounded) until the server's stderr names the signal: it has begun to stop. */
static void await_stopping(const struct ft_server *server) {
    double deadline = ft_now() + 10 * ft_timeout_scale();
    for (;;) {
        char *log = ft_server_stderr(server);
        int seen = strstr(log, "SIGTERM") != NULL;
        free(log);
        if (seen)
            return;
        if (ft_now() > deadline) {
            ft_release_account();
            ck_abort_msg("the server did not say it received SIGTERM within 10 s");
        }
        ft_pause_ms(10);
    }
}

START_TEST(requests_waiting_in_the_database_when_sigterm_arrives_get_their_answers) {
    /* A server of this test's own: it is the one stopped. */
    struct ft_server *server = ft_server_start(FT_DATABASE_URL, ft_db(), NULL);
    ft_set_default_server(server);
    char a[FT_ACCOUNT_SIZE], from[FT_ACCOUNT_SIZE], to[FT_ACCOUNT_SIZE], path[128], body[256];
    ft_create_account(a);
    ft_create_account(from);
    ft_create_account(to);
    ft_move(from, "deposit", 50);

    /* Both held, as one psql session would: a deposit and a keyed transfer wait for them. */
    ft_sql_exec("BEGIN", (const char *)NULL);
    ft_sql_exec("SELECT 1 FROM accounts WHERE account_number IN ($1, $2) FOR UPDATE", a, to,
                (const char *)NULL);
    snprintf(path, sizeof path, "/api/accounts/%s/deposit?sum=100", a);
    struct ft_call *deposit = ft_call_start("PUT", path, NULL, NULL);
    snprintf(body, sizeof body, "{\"from\": \"%s\", \"to\": \"%s\", \"sum\": 30}", from, to);
    struct ft_call *transfer = ft_call_start("POST", "/api/transfers", body, "sigterm-transfer");
    /* Both are in the server (the scrape itself is the third request in flight), and their
     * work waits for the rows in the database: in one batch or in two. */
    double deadline = ft_now() + 10 * ft_timeout_scale();
    while (requests_in_flight() < 3 && ft_now() < deadline)
        ft_pause_ms(10);
    if (requests_in_flight() < 3 || !ft_await_lock_waiters(1, 10 * ft_timeout_scale())) {
        ft_release_account();
        ck_abort_msg("the deposit and the transfer did not both come to wait for the rows");
    }
    ck_assert_int_eq(kill(server->pid, SIGTERM), 0);
    await_stopping(server);
    ft_release_account();

    struct ft_response *r = ft_call_finish(deposit);
    ft_assert_status(r, 200);
    ck_assert_int_eq(ft_json_int(r, "balance"), 100);
    ft_response_free(r);
    r = ft_call_finish(transfer);
    ft_assert_status(r, 201);
    ck_assert_int_eq(ft_json_int(r, "from_balance"), 20);
    ck_assert_int_eq(ft_json_int(r, "to_balance"), 30);
    ft_response_free(r);
    ck_assert_int_eq(ft_server_wait_exit(server, FT_STOP_TIMEOUT_S, NULL, NULL), 0);
    ck_assert_int_eq(ft_snapshot(a).balance_cents, 100);
    ck_assert_int_eq(ft_snapshot(from).balance_cents, 20);
    ck_assert_int_eq(ft_snapshot(to).balance_cents, 30);
    ft_assert_ledger_invariants();
}
END_TEST

int main(void) {
    Suite *s = suite_create("chaos");
    FT_ADD_TEST(
        s, killed_database_sessions_under_load_lose_no_acknowledged_operation_and_apply_none_twice);
    FT_ADD_TEST(s, a_batch_with_a_refused_operation_answers_every_other_operation_as_if_alone);
    FT_ADD_TEST(s, requests_waiting_in_the_database_when_sigterm_arrives_get_their_answers);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
