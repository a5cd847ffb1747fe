/* Group commit: deposits, withdrawals and account reads from many request threads are queued and
 * sent by a few worker threads, each batch as one statement (move_batch, read_batch). Every
 * request still waits for, and gets, its own answer -- after its batch committed -- but N
 * requests cost one round trip and one commit (one WAL flush) instead of N (performance.md).
 *
 * Each operation is allocated here; the worker that takes it copies the answer to where its
 * caller wants it, calls its completion and frees it. A caller that waits instead (mx_batcher_move,
 * _read) gives a completion that wakes it. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mondux/metrics.h"
#include "store_internal.h"

/* Most operations in one statement. Larger batches amortise more but wait longer behind each
 * other; measured in bench/ (README "Performance"). */
#define BATCH_MAX 64

enum op_kind { OP_MOVE, OP_READ, OP_KIND_COUNT };

struct batch_op {
    struct batch_op *next;
    /* in */
    char number[MX_ACCT_LENGTH + 1]; /* a copy: a completion may come after the caller's is gone */
    int64_t delta_cents;             /* OP_MOVE */
    /* out */
    mx_status status;
    struct mx_account account; /* OP_READ: all of it; OP_MOVE: balance_cents */
    /* the hand-over: the completion, and where the answer goes */
    mx_store_done then;
    void *then_arg;
    int64_t *then_balance;           /* OP_MOVE */
    struct mx_account *then_account; /* OP_READ */
    struct queue *queue;
};

struct queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    struct batch_op *head, *tail;
    atomic_uint waiting; /* requests queued or in a batch right now */
    int stopping;        /* under lock */
    unsigned workers;
    pthread_t threads[8];
};

static struct {
    struct queue queues[OP_KIND_COUNT];
    atomic_int running[OP_KIND_COUNT];
} batcher = {
    .queues = {{.lock = PTHREAD_MUTEX_INITIALIZER, .not_empty = PTHREAD_COND_INITIALIZER},
               {.lock = PTHREAD_MUTEX_INITIALIZER, .not_empty = PTHREAD_COND_INITIALIZER}},
};

static void finish(struct batch_op *op, mx_status status) {
    /* Money counts once its batch committed, which is when an operation gets MX_OK. */
    if (status == MX_OK && op->queue == &batcher.queues[OP_MOVE]) {
        int deposit = op->delta_cents > 0;
        mx_metrics_money(deposit ? MX_METRICS_DEPOSIT : MX_METRICS_WITHDRAWAL,
                         deposit ? op->delta_cents : -op->delta_cents);
    }
    if (status == MX_OK && op->then_balance != NULL)
        *op->then_balance = op->account.balance_cents;
    if (status == MX_OK && op->then_account != NULL)
        *op->then_account = op->account;
    atomic_fetch_sub(&op->queue->waiting, 1);
    op->then(op->then_arg, status);
    free(op);
}

/* A PostgreSQL array literal of one field of every operation, e.g. {"1234...","5678..."} or
 * {500,-20}: new malloc'd text, or NULL. The numbers are 16 digits (every caller checks them
 * before the store), and the literal is a parameter value, never SQL. */
static char *array_literal(struct batch_op **ops, int count, int numbers) {
    size_t size = (size_t)count * (MX_ACCT_LENGTH + 24) + 3;
    char *text = malloc(size);
    if (text == NULL)
        return NULL;
    size_t used = 0;
    text[used++] = '{';
    for (int i = 0; i < count; i++) {
        const char *comma = i > 0 ? "," : "";
        if (numbers)
            used += (size_t)snprintf(text + used, size - used, "%s\"%s\"", comma, ops[i]->number);
        else
            used += (size_t)snprintf(text + used, size - used, "%s%" PRId64, comma,
                                     ops[i]->delta_cents);
    }
    snprintf(text + used, size - used, "}");
    return text;
}

/* Fills in one operation's answer from its row of the batch's result. */
typedef void (*row_reader)(struct batch_op *op, const PGresult *result, int row);

/* Sends one batch statement and hands each row to its operation: row ord (1-based, as the
 * database counts) belongs to ops[ord - 1]. Anything but one row per operation is a bug. */
static mx_status run_batch(enum mx_stmt stmt, const char *const *params, struct batch_op **ops,
                           int count, row_reader read_row) {
    PGresult *result = NULL;
    mx_status status = mx_conn_exec(stmt, params, &result);
    /* A lock wait that ran out (move_batch's lock_timeout, db/functions.sql) rolled the batch back:
     * nothing changed, and it may well pass when tried again. */
    if (status != MX_OK && mx_conn_lock_wait_ran_out())
        return MX_UNAVAILABLE;
    if (status != MX_OK)
        return status;
    if (PQntuples(result) != count)
        status = MX_INTERNAL;
    for (int row = 0; status == MX_OK && row < count; row++) {
        long ord = strtol(PQgetvalue(result, row, 0), NULL, 10);
        if (ord < 1 || ord > count)
            status = MX_INTERNAL;
        else
            read_row(ops[ord - 1], result, row);
    }
    PQclear(result);
    if (status == MX_OK)
        mx_metrics_batch(stmt == MX_STMT_MOVE_BATCH ? MX_METRICS_BATCH_MOVES
                                                    : MX_METRICS_BATCH_READS,
                         (unsigned)count);
    return status;
}

static void read_move(struct batch_op *op, const PGresult *result, int row) {
    mx_move_kind kind = op->delta_cents > 0 ? MX_MOVE_DEPOSIT : MX_MOVE_WITHDRAWAL;
    if (strcmp(PQgetvalue(result, row, 1), "t") != 0) {
        op->status = MX_ACCOUNT_NOT_FOUND;
    } else if (strcmp(PQgetvalue(result, row, 2), "t") != 0) {
        op->status = mx_money_refusal(kind);
    } else {
        op->status = MX_OK;
        op->account.balance_cents = mx_pg_int64(result, row, 3);
    }
}

static void read_account(struct batch_op *op, const PGresult *result, int row) {
    if (PQgetisnull(result, row, 1)) {
        op->status = MX_ACCOUNT_NOT_FOUND;
        return;
    }
    op->status = MX_OK;
    snprintf(op->account.number, sizeof op->account.number, "%s", op->number);
    op->account.balance_cents = mx_pg_int64(result, row, 1);
    op->account.overdraft_limit_cents = mx_pg_int64(result, row, 2);
    mx_pg_text(op->account.created_at, sizeof op->account.created_at, result, row, 3);
}

/* One move_batch call for ops, numbers being their account numbers' array literal. */
static mx_status send_moves(struct batch_op **ops, int count, const char *numbers) {
    char *deltas = array_literal(ops, count, 0);
    if (deltas == NULL)
        return MX_INTERNAL;
    const char *params[2] = {numbers, deltas};
    mx_status status = run_batch(MX_STMT_MOVE_BATCH, params, ops, count, read_move);
    free(deltas);
    return status;
}

/* 1 when number is among the values of column in result. */
static int in_column(const PGresult *result, int column, const char *number) {
    for (int row = 0; row < PQntuples(result); row++)
        if (!PQgetisnull(result, row, column) &&
            strcmp(PQgetvalue(result, row, column), number) == 0)
            return 1;
    return 0;
}

/* The batch waited its lock_timeout for a row another session holds, and was rolled back. Rather
 * than refuse all of it, only the operations on accounts locked elsewhere at this moment are
 * refused (503, try again); the rest go again at once, in one transaction that first locks their
 * accounts -- in id order, skipping the locked ones, so it does not wait for them -- and reads
 * which accounts exist (an unknown one is move_batch's 404, not a 503). Each operation's status
 * is set; the result is the transaction's. */
static mx_status move_around_held_accounts(struct batch_op **ops, int count, const char *numbers) {
    const char *params[1] = {numbers};
    PGresult *free_accounts = NULL, *known = NULL;
    struct batch_op *rest[BATCH_MAX];
    int rest_count = 0;
    mx_status status = mx_conn_begin();
    if (status != MX_OK)
        return status;
    PGresult *bounded = NULL; /* the transaction's lock waits too, a table lock say */
    status = mx_conn_exec(MX_STMT_BATCH_LOCK_TIMEOUT, NULL, &bounded);
    PQclear(bounded);
    if (status == MX_OK)
        status = mx_conn_exec(MX_STMT_LOCK_FREE_ACCOUNTS, params, &free_accounts);
    if (status == MX_OK)
        status = mx_conn_exec(MX_STMT_READ_BATCH, params, &known);
    if (status == MX_OK && PQntuples(known) != count)
        status = MX_INTERNAL; /* a row per operation, row ord for ops[ord - 1] */
    for (int row = 0; status == MX_OK && row < count; row++) {
        long ord = strtol(PQgetvalue(known, row, 0), NULL, 10);
        if (ord < 1 || ord > count) {
            status = MX_INTERNAL;
            break;
        }
        struct batch_op *op = ops[ord - 1];
        if (!PQgetisnull(known, row, 1) && !in_column(free_accounts, 0, op->number))
            op->status = MX_UNAVAILABLE; /* held elsewhere */
        else
            rest[rest_count++] = op;
    }
    char *rest_numbers = NULL;
    if (status == MX_OK && rest_count > 0) {
        rest_numbers = array_literal(rest, rest_count, 1);
        status = rest_numbers != NULL ? send_moves(rest, rest_count, rest_numbers) : MX_INTERNAL;
    }
    if (status == MX_OK)
        status = mx_conn_commit();
    else
        mx_conn_rollback();
    free(rest_numbers);
    PQclear(free_accounts);
    PQclear(known);
    return status;
}

static mx_status run_moves(struct batch_op **ops, int count) {
    char *numbers = array_literal(ops, count, 1);
    if (numbers == NULL)
        return MX_INTERNAL;
    mx_status status = send_moves(ops, count, numbers);
    if (status == MX_UNAVAILABLE && mx_conn_lock_wait_ran_out())
        status = move_around_held_accounts(ops, count, numbers);
    free(numbers);
    return status;
}

static mx_status run_reads(struct batch_op **ops, int count) {
    char *numbers = array_literal(ops, count, 1);
    if (numbers == NULL)
        return MX_INTERNAL;
    const char *params[1] = {numbers};
    mx_status status = run_batch(MX_STMT_READ_BATCH, params, ops, count, read_account);
    free(numbers);
    return status;
}

static void *worker_main(void *arg) {
    enum op_kind kind = (enum op_kind)(intptr_t)arg;
    struct queue *queue = &batcher.queues[kind];
    struct batch_op *ops[BATCH_MAX];
    mx_conn_keep_own(); /* a batch never waits behind the requests it serves */
    for (;;) {
        pthread_mutex_lock(&queue->lock);
        while (queue->head == NULL && !queue->stopping)
            pthread_cond_wait(&queue->not_empty, &queue->lock);
        if (queue->head == NULL) { /* stopping, and nothing is left to do */
            pthread_mutex_unlock(&queue->lock);
            break;
        }
        /* Whatever queued up while the last batch ran goes now, oldest first. */
        int count = 0;
        while (queue->head != NULL && count < BATCH_MAX) {
            ops[count++] = queue->head;
            queue->head = queue->head->next;
        }
        if (queue->head == NULL)
            queue->tail = NULL;
        pthread_mutex_unlock(&queue->lock);

        mx_status status = kind == OP_MOVE ? run_moves(ops, count) : run_reads(ops, count);
        /* A failed batch changed nothing (one statement, or the one transaction of a retry
         * around held accounts): each operation gets its status. */
        for (int i = 0; i < count; i++)
            finish(ops[i], status == MX_OK ? ops[i]->status : status);
    }
    mx_conn_close_thread();
    return NULL;
}

/* Puts op at the end of its queue and wakes a worker. */
static void enqueue(enum op_kind kind, struct batch_op *op) {
    struct queue *queue = &batcher.queues[kind];
    atomic_fetch_add(&queue->waiting, 1);
    op->queue = queue;
    op->next = NULL;
    pthread_mutex_lock(&queue->lock);
    if (queue->tail != NULL)
        queue->tail->next = op;
    else
        queue->head = op;
    queue->tail = op;
    pthread_cond_signal(&queue->not_empty);
    pthread_mutex_unlock(&queue->lock);
}

static int batching(enum op_kind kind) {
    return atomic_load(&batcher.running[kind]) && !mx_conn_in_transaction();
}

int mx_batcher_moves(void) {
    return batching(OP_MOVE);
}

int mx_batcher_reads(void) {
    return batching(OP_READ);
}

/* Queues a new operation with its completion, or (when it is refused before the database: only
 * well-formed numbers may reach a batch, for one that is not would spoil it) runs then at once.
 * Never waits: an HTTP thread calls it. */
static void queue_then(enum op_kind kind, const char *number, int64_t delta_cents,
                       int64_t *out_balance, struct mx_account *out_account, mx_store_done then,
                       void *arg) {
    if (!mx_acct_is_valid(number)) {
        then(arg, MX_ACCOUNT_NOT_FOUND);
        return;
    }
    struct batch_op *op = calloc(1, sizeof *op);
    if (op == NULL) {
        then(arg, MX_INTERNAL);
        return;
    }
    snprintf(op->number, sizeof op->number, "%s", number);
    op->status = MX_INTERNAL; /* until its row says otherwise: no row is never a success */
    op->delta_cents = delta_cents;
    op->then = then;
    op->then_arg = arg;
    op->then_balance = out_balance;
    op->then_account = out_account;
    enqueue(kind, op);
}

void mx_batcher_move_then(const char *number, int64_t delta_cents, int64_t *out_balance_cents,
                          mx_store_done then, void *arg) {
    queue_then(OP_MOVE, number, delta_cents, out_balance_cents, NULL, then, arg);
}

void mx_batcher_read_then(const char *number, struct mx_account *out, mx_store_done then,
                          void *arg) {
    queue_then(OP_READ, number, 0, NULL, out, then, arg);
}

/* A caller that waits for its operation's completion. */
struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t done_signal;
    int done;
    mx_status status;
};

static void wake_waiter(void *arg, mx_status status) {
    struct waiter *waiter = arg;
    pthread_mutex_lock(&waiter->lock);
    waiter->status = status;
    waiter->done = 1;
    pthread_cond_signal(&waiter->done_signal);
    pthread_mutex_unlock(&waiter->lock); /* the last touch: the waiter may be gone after this */
}

static mx_status queue_and_wait(enum op_kind kind, const char *number, int64_t delta_cents,
                                int64_t *out_balance, struct mx_account *out_account) {
    struct waiter waiter = {.done = 0};
    pthread_mutex_init(&waiter.lock, NULL);
    pthread_cond_init(&waiter.done_signal, NULL);
    queue_then(kind, number, delta_cents, out_balance, out_account, wake_waiter, &waiter);
    pthread_mutex_lock(&waiter.lock);
    while (!waiter.done)
        pthread_cond_wait(&waiter.done_signal, &waiter.lock);
    pthread_mutex_unlock(&waiter.lock);
    pthread_cond_destroy(&waiter.done_signal);
    pthread_mutex_destroy(&waiter.lock);
    return waiter.status;
}

mx_status mx_batcher_move(const char *number, int64_t delta_cents, int64_t *out_balance_cents) {
    return queue_and_wait(OP_MOVE, number, delta_cents, out_balance_cents, NULL);
}

mx_status mx_batcher_read(const char *number, struct mx_account *out) {
    return queue_and_wait(OP_READ, number, 0, NULL, out);
}

static void stop_workers(void) {
    for (int k = 0; k < OP_KIND_COUNT; k++) {
        pthread_mutex_lock(&batcher.queues[k].lock);
        batcher.queues[k].stopping = 1;
        pthread_cond_broadcast(&batcher.queues[k].not_empty);
        pthread_mutex_unlock(&batcher.queues[k].lock);
    }
    for (int k = 0; k < OP_KIND_COUNT; k++) {
        for (unsigned i = 0; i < batcher.queues[k].workers; i++)
            pthread_join(batcher.queues[k].threads[i], NULL);
        batcher.queues[k].workers = 0;
    }
}

mx_status mx_store_batcher_start(unsigned writers, unsigned readers) {
    const unsigned wanted[OP_KIND_COUNT] = {writers, readers};
    for (int k = 0; k < OP_KIND_COUNT; k++) {
        struct queue *queue = &batcher.queues[k];
        queue->stopping = 0; /* no thread of its own yet */
        for (unsigned i = 0; i < wanted[k] && i < sizeof queue->threads / sizeof queue->threads[0];
             i++) {
            if (pthread_create(&queue->threads[i], NULL, worker_main, (void *)(intptr_t)k) != 0) {
                stop_workers();
                return MX_INTERNAL;
            }
            queue->workers++;
        }
    }
    for (int k = 0; k < OP_KIND_COUNT; k++)
        atomic_store(&batcher.running[k], batcher.queues[k].workers > 0);
    return MX_OK;
}

void mx_store_batcher_stop(void) {
    for (int k = 0; k < OP_KIND_COUNT; k++)
        atomic_store(&batcher.running[k], 0);
    stop_workers();
}
