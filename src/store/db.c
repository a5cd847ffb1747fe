/* The database on the event loop (include/mondux/db.h): non-blocking libpq connections in
 * pipeline mode, the queue of operations, and what to do with each outcome.
 *
 * A connection goes DOWN -> CONNECTING (PQconnectPoll) -> SETUP (the session settings) ->
 * PREPARING (every statement, pipelined) -> READY, and back to DOWN on any failure, to try again
 * after a back-off. A READY connection carries batches: one statement and one sync each, their
 * results read in order. Before the loop waits, each kind of queued operation goes out as one
 * batch on a connection with nothing in flight; with none free, it waits for the next turn. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "db_internal.h"
#include "mondux/log.h"
#include "mondux/metrics.h"

/* Back-off between connection attempts: doubling from the first to the last. */
#define RECONNECT_FIRST_MS 100
#define RECONNECT_LAST_MS  2000
/* How long an operation may wait for a connection before it is 503 unavailable. */
#define WAIT_FOR_CONNECTION_MS 10000
/* Times an operation goes out again: a read, or a keyed move, after its connection broke; a batch
 * after a SOFT outcome. */
#define SEND_AGAIN_MAX 3
/* Operations per statement at most; more wait for the next batch. */
#define BATCH_MAX 1024

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_SETUP, CONN_PREPARING, CONN_READY };

struct db_conn {
    struct mx_db *db;
    PGconn *pg;
    enum conn_state state;
    struct db_socket socket;
    struct mx_loop_timer retry;
    unsigned backoff_ms;
    int prepared;                 /* PREPARING: the statements answered so far */
    struct db_batch *head, *tail; /* in flight, oldest first */
};

struct mx_db {
    struct mx_loop *loop;
    struct db_conn *conns;
    unsigned conn_count;
    struct db_batch queues[DB_BATCH_KIND_COUNT]; /* what the next turn sends */
    struct db_batch *again;                      /* whole batches to send as they are, first */
    unsigned pending;
    struct mx_loop_hook hook;
    struct mx_loop_timer expiry; /* the oldest queued operation's deadline */
    struct db_sweep sweep;
    struct db_sequencer sequencer;
    struct db_listener listener;
    char server[192]; /* "host:port" of the last connection made */
    void (*moves_answered)(void *arg);
    void *moves_answered_arg;
    /* Attempt tokens: a random prefix for this process, then a counter. */
    uint64_t attempt_prefix, next_attempt;
};

struct mx_loop *db_loop(const struct mx_db *db) {
    return db->loop;
}

struct mx_loop *mx_db_loop(const struct mx_db *db) {
    return db->loop;
}

void mx_db_listen(struct mx_db *db, void (*news)(void *arg), void *arg) {
    db_listener_start(&db->listener, db->loop, news, arg);
}

struct db_sweep *db_sweep_of(struct mx_db *db) {
    return &db->sweep;
}

struct db_sequencer *db_sequencer_of(struct mx_db *db) {
    return &db->sequencer;
}

void db_on_moves_answered(struct mx_db *db, void (*fn)(void *arg), void *arg) {
    db->moves_answered = fn;
    db->moves_answered_arg = arg;
}

static void conn_start(void *arg);

/* ---- outcomes ------------------------------------------------------------------------------ */

static int lock_wait_ran_out(const PGresult *result) {
    const char *state = result != NULL ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
    return state != NULL && strcmp(state, "55P03") == 0;
}

/* ---- operations ---------------------------------------------------------------------------- */

static void batch_push(struct db_batch *batch, struct mx_db_op *op) {
    op->next = NULL;
    if (batch->last != NULL)
        batch->last->next = op;
    else
        batch->first = op;
    batch->last = op;
    batch->count++;
}

static void queue(struct mx_db *db, struct mx_db_op *op) {
    batch_push(&db->queues[db_batch_kind_of(op->kind)], op);
    mx_loop_again(db->loop);
}

static void db_op_finish(struct mx_db *db, struct mx_db_op *op, mx_status status) {
    op->status = status;
    db->pending--;
    op->done(op);
}

static void db_op_again(struct mx_db *db, struct mx_db_op *op) {
    op->attempts++;
    queue(db, op);
}

void mx_db_op_release(struct mx_db_op *op) {
    for (unsigned i = 0; op->entries != NULL && i < op->entry_count; i++)
        free(op->entries[i].metadata);
    for (unsigned i = 0; op->holds != NULL && i < op->entry_count; i++)
        free(op->holds[i].metadata);
    free(op->entries);
    free(op->holds);
    free(op->transfer_out.metadata);
    free(op->hold_out.metadata);
    op->entries = NULL;
    op->holds = NULL;
    op->entry_count = 0;
    op->transfer_out.metadata = NULL;
    op->hold_out.metadata = NULL;
}

void mx_db_submit(struct mx_db *db, struct mx_db_op *op) {
    op->status = MX_INTERNAL;
    op->replayed = 0;
    op->entries = NULL;
    op->holds = NULL;
    op->entry_count = 0;
    op->has_more = 0;
    op->attempts = 0;
    op->uncertain = 0;
    op->attempt_token = (int64_t)(db->attempt_prefix | (db->next_attempt++ & 0xffffffffu));
    op->deadline_ns = mx_loop_now_ns(db->loop) + WAIT_FOR_CONNECTION_MS * 1000000ull;
    db->pending++;
    queue(db, op);
}

unsigned mx_db_pending(const struct mx_db *db) {
    return db->pending;
}

/* Every operation of a batch that will not be answered by its statement. */
static void fail_batch(struct mx_db *db, struct db_batch *batch, mx_status status) {
    struct mx_db_op *op = batch->first;
    while (op != NULL) {
        struct mx_db_op *next = op->next;
        db_op_finish(db, op, status);
        op = next;
    }
    batch->first = batch->last = NULL;
    batch->count = 0;
}

/* A batch whose connection broke before its answer came: a read, or a move that carries its
 * Idempotency-Key (the key tells a repetition from a first), may go out once more; any other
 * move may or may not have committed. */
static void orphan_batch(struct mx_db *db, struct db_batch *batch) {
    struct mx_db_op *op = batch->first;
    while (op != NULL) {
        struct mx_db_op *next = op->next;
        int safe = batch->kind != DB_BATCH_MOVES || op->key != NULL;
        op->uncertain = batch->kind == DB_BATCH_MOVES;
        if (safe && op->attempts < SEND_AGAIN_MAX)
            db_op_again(db, op);
        else
            db_op_finish(db, op,
                         batch->kind == DB_BATCH_MOVES ? MX_OUTCOME_UNKNOWN : MX_UNAVAILABLE);
        op = next;
    }
}

/* A batch that certainly did nothing: each operation goes out again, a few times at most. */
static void again_batch(struct mx_db *db, struct db_batch *batch) {
    for (struct mx_db_op *op = batch->first, *next; op != NULL; op = next) {
        next = op->next;
        if (op->attempts < SEND_AGAIN_MAX)
            db_op_again(db, op);
        else
            db_op_finish(db, op, MX_UNAVAILABLE);
    }
    batch->first = batch->last = NULL;
    batch->count = 0;
}

static void free_batch(struct db_batch *batch) {
    PQclear(batch->result);
    free(batch);
}

/* ---- connections --------------------------------------------------------------------------- */

static int any_conn_in(const struct mx_db *db, enum conn_state lowest) {
    for (unsigned i = 0; i < db->conn_count; i++)
        if (db->conns[i].state >= lowest)
            return 1;
    return 0;
}

static void unwatch(struct db_conn *c) {
    db_socket_unwatch(&c->socket, c->db->loop);
}

/* Down it goes; whatever was in flight is orphaned, and the next attempt is armed. With no
 * connection left on its way up, the queue is answered at once: the database is down. */
static void conn_fail(struct db_conn *c, const char *what, const PGresult *result) {
    struct mx_db *db = c->db;
    if (c->pg != NULL)
        mx_conn_say_failure(c->pg, result, what);
    mx_metrics_db(MX_METRICS_DB_UNAVAILABLE);
    unwatch(c);
    if (c->pg != NULL) {
        if (c->state >= CONN_SETUP)
            mx_metrics_db_connection(-1);
        PQfinish(c->pg);
    }
    c->pg = NULL;
    c->state = CONN_DOWN;
    struct db_batch *batch = c->head;
    c->head = c->tail = NULL;
    while (batch != NULL) {
        struct db_batch *next = batch->next;
        orphan_batch(db, batch);
        free_batch(batch);
        batch = next;
    }
    c->backoff_ms = c->backoff_ms == 0 ? RECONNECT_FIRST_MS : 2 * c->backoff_ms;
    if (c->backoff_ms > RECONNECT_LAST_MS)
        c->backoff_ms = RECONNECT_LAST_MS;
    mx_loop_timer_set(db->loop, &c->retry, c->backoff_ms, conn_start, c);
    mx_loop_again(db->loop);
}

static void conn_event(void *arg, unsigned events);

static int conn_watch(struct db_conn *c, unsigned events) {
    return db_socket_watch(&c->socket, c->db->loop, c->pg, events, c->state == CONN_CONNECTING,
                           conn_event, c);
}

/* Sends what libpq holds; while some is left, also waits to write. */
static int conn_flush(struct db_conn *c) {
    int left = PQflush(c->pg);
    if (left < 0)
        return -1;
    return conn_watch(c, MX_LOOP_READ | (left ? MX_LOOP_WRITE : 0u));
}

/* A connection still not READY when its time is up (a host that accepts and never answers) is
 * given up, to be tried again. */
static void conn_timed_out(void *arg) {
    struct db_conn *c = arg;
    if (c->state != CONN_READY && c->state != CONN_DOWN)
        conn_fail(c, "connect (timed out)", NULL);
}

static void conn_start(void *arg) {
    struct db_conn *c = arg;
    c->pg = mx_conn_start();
    if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_fail(c, "connect", NULL);
        return;
    }
    c->state = CONN_CONNECTING;
    unsigned timeout_ms = mx_conn_start_timeout_ms(c->pg);
    if (timeout_ms > 0)
        mx_loop_timer_set(c->db->loop, &c->retry, timeout_ms, conn_timed_out, c);
    /* After PQconnectStart, libpq wants to be polled once the socket is writable. */
    if (conn_watch(c, MX_LOOP_WRITE) != 0)
        conn_fail(c, "connect", NULL);
}

/* Which server a connection reached ("host:port"): another one than the connection before it
 * reached is a failover that the multi-host DATABASE_URL followed. */
static void note_server(struct db_conn *c) {
    struct mx_db *db = c->db;
    char server[sizeof db->server];
    snprintf(server, sizeof server, "%s:%s", PQhost(c->pg), PQport(c->pg));
    if (db->server[0] != '\0' && strcmp(server, db->server) != 0) {
        mx_metrics_db(MX_METRICS_DB_FAILOVER);
        mx_log(MX_LOG_WARN, "connected to the database server %s (before: %s)", server, db->server);
    }
    memcpy(db->server, server, sizeof server);
}

static void conn_connecting(struct db_conn *c) {
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
        if (conn_watch(c, MX_LOOP_READ) != 0)
            conn_fail(c, "connect", NULL);
        return;
    case PGRES_POLLING_WRITING:
        if (conn_watch(c, MX_LOOP_WRITE) != 0)
            conn_fail(c, "connect", NULL);
        return;
    case PGRES_POLLING_OK:
        break;
    default:
        conn_fail(c, "connect", NULL);
        return;
    }
    mx_metrics_db_connection(1);
    mx_metrics_db(MX_METRICS_DB_CONNECT);
    note_server(c);
    c->state = CONN_SETUP;
    /* Three settings in one simple query, before pipeline mode (which has no simple queries). */
    if (PQsetnonblocking(c->pg, 1) != 0 || !PQsendQuery(c->pg, mx_sql_session_setup) ||
        conn_flush(c) != 0)
        conn_fail(c, "session setup", NULL);
}

static void conn_prepare(struct db_conn *c) {
    if (!PQenterPipelineMode(c->pg)) {
        conn_fail(c, "pipeline mode", NULL);
        return;
    }
    for (int i = 0; i < MX_STMT_COUNT; i++) {
        const struct mx_statement *s = mx_statement((enum mx_stmt)i);
        if (!PQsendPrepare(c->pg, s->name, s->sql, s->param_count, s->param_types)) {
            conn_fail(c, "prepare", NULL);
            return;
        }
    }
    c->prepared = 0;
    c->state = CONN_PREPARING;
    if (!PQpipelineSync(c->pg) || conn_flush(c) != 0)
        conn_fail(c, "prepare", NULL);
}

/* The operations of batch (emptied) as a batch of their own, sent before the queues next turn. */
static int send_again(struct mx_db *db, struct db_batch *batch, int skip_locked) {
    struct db_batch *again = calloc(1, sizeof *again);
    if (again == NULL)
        return 0;
    *again = (struct db_batch){batch->kind,  batch->first, batch->last,
                               batch->count, skip_locked,  batch->attempts + 1,
                               NULL,         db->again,    0};
    db->again = again;
    batch->first = batch->last = NULL;
    batch->count = 0;
    mx_loop_again(db->loop);
    return 1;
}

/* The halves of batch (emptied) go out on their own: one operation may be at fault. */
static int split(struct mx_db *db, struct db_batch *batch) {
    struct db_batch halves[2] = {{.kind = batch->kind, .skip_locked = batch->skip_locked},
                                 {.kind = batch->kind, .skip_locked = batch->skip_locked}};
    unsigned i = 0, half = batch->count / 2;
    for (struct mx_db_op *op = batch->first, *next; op != NULL; op = next, i++) {
        next = op->next;
        batch_push(&halves[i >= half], op);
    }
    batch->first = batch->last = NULL;
    batch->count = 0;
    int ok = 1;
    for (int h = 0; h < 2; h++)
        if (!send_again(db, &halves[h], halves[h].skip_locked)) {
            fail_batch(db, &halves[h], MX_INTERNAL);
            ok = 0;
        }
    return ok;
}

/* The server this connection reached takes no writes: counted and said; the caller leaves it. */
static void say_read_only(void) {
    mx_metrics_db(MX_METRICS_DB_READ_ONLY);
    mx_log(MX_LOG_WARN, "the database server is read-only; connecting again");
}

/* A batch's statement answered (its sync came): hand out the answers, or send it again. 0, or -1
 * when the connection is gone with it. */
static int batch_answered(struct mx_db *db, struct db_conn *c, struct db_batch *batch) {
    const PGresult *result = batch->result;
    switch (db_classify(c->pg, result)) {
    case DB_OK:
        db_batch_read(batch, result);
        if (batch->read_only) {
            /* Not ready here: answered so, and the connection is left for a writable server. */
            say_read_only();
            fail_batch(db, batch, MX_UNAVAILABLE);
            return -1;
        }
        if (batch->kind == DB_BATCH_MOVES && db->moves_answered != NULL)
            db->moves_answered(db->moves_answered_arg);
        for (struct mx_db_op *op = batch->first, *next; op != NULL; op = next) {
            next = op->next;
            if (op->resend)
                db_op_again(db, op);
            else
                db_op_finish(db, op, op->status);
        }
        batch->first = batch->last = NULL;
        return 0;
    case DB_SOFT:
        /* A lock held elsewhere past the wait: again at once, waiting for no lock (so it cannot
         * run out again). A deadlock or serialization failure: again as it was, a few times. */
        if (lock_wait_ran_out(result) ? !batch->skip_locked : batch->attempts < SEND_AGAIN_MAX) {
            if (send_again(db, batch, batch->skip_locked || lock_wait_ran_out(result)))
                return 0;
        }
        mx_conn_say_failure(c->pg, result, "batch");
        break;
    case DB_GONE:
        orphan_batch(db, batch);
        return -1;
    case DB_READ_ONLY:
        /* Nothing was written: each operation goes out again, on a connection that (with
         * target_session_attrs=read-write in DATABASE_URL) finds the primary; this one is left. */
        say_read_only();
        again_batch(db, batch);
        return -1;
    case DB_HARD:
        mx_conn_say_failure(c->pg, result, "batch");
        mx_metrics_db(MX_METRICS_DB_ERROR);
        if (batch->count > 1) {
            split(db, batch);
            return 0;
        }
        break;
    }
    fail_batch(db, batch, MX_INTERNAL);
    return 0;
}

/* Reads every result that has arrived: each batch's statement result, its end (NULL), its sync. */
static int conn_read(struct db_conn *c) {
    if (!PQconsumeInput(c->pg))
        return -1;
    while (!PQisBusy(c->pg)) {
        if (c->state == CONN_READY && c->head == NULL)
            return 0;
        PGresult *result = PQgetResult(c->pg);
        if (c->state == CONN_SETUP) {
            if (result == NULL) { /* the settings are in */
                conn_prepare(c);
                return c->state == CONN_DOWN ? 1 : 0;
            }
            int ok = PQresultStatus(result) == PGRES_COMMAND_OK;
            if (!ok)
                conn_fail(c, "session setup", result);
            PQclear(result);
            if (!ok)
                return 1;
            continue;
        }
        if (result == NULL)
            continue; /* the end of one statement's results; its sync follows */
        ExecStatusType status = PQresultStatus(result);
        if (c->state == CONN_PREPARING) {
            if (status == PGRES_PIPELINE_SYNC) {
                PQclear(result);
                c->state = CONN_READY;
                c->backoff_ms = 0;
                mx_loop_timer_cancel(c->db->loop, &c->retry);
                mx_loop_again(c->db->loop);
                return 0;
            }
            if (status != PGRES_COMMAND_OK) {
                conn_fail(c, "prepare", result);
                PQclear(result);
                return 1;
            }
            PQclear(result);
            continue;
        }
        struct db_batch *batch = c->head;
        if (batch == NULL) {
            PQclear(result);
            return -1; /* an answer to nothing we sent */
        }
        if (status != PGRES_PIPELINE_SYNC) {
            if (batch->result == NULL)
                batch->result = result;
            else
                PQclear(result);
            continue;
        }
        PQclear(result);
        c->head = batch->next;
        if (c->head == NULL)
            c->tail = NULL;
        int gone = batch_answered(c->db, c, batch);
        free_batch(batch);
        mx_loop_again(c->db->loop);
        if (gone)
            return -1;
    }
    return 0;
}

static void conn_event(void *arg, unsigned events) {
    struct db_conn *c = arg;
    if (c->state == CONN_CONNECTING) {
        conn_connecting(c);
        return;
    }
    if ((events & MX_LOOP_WRITE) && conn_flush(c) != 0) {
        conn_fail(c, "send", NULL);
        return;
    }
    if (events & (MX_LOOP_READ | MX_LOOP_ERROR)) {
        int rc = conn_read(c);
        if (rc < 0)
            conn_fail(c, "receive", NULL);
    }
}

/* ---- sending ------------------------------------------------------------------------------- */

static struct db_conn *idle_conn(struct mx_db *db) {
    for (unsigned i = 0; i < db->conn_count; i++)
        if (db->conns[i].state == CONN_READY && db->conns[i].head == NULL)
            return &db->conns[i];
    return NULL;
}

/* Sends batch (taken over) on c: one statement and a sync. */
static void send_batch(struct mx_db *db, struct db_conn *c, struct db_batch *batch) {
    char *values[DB_PARAMS_MAX];
    int count = 0;
    if (!db_batch_params(batch, values, &count)) {
        fail_batch(db, batch, MX_INTERNAL);
        free_batch(batch);
        return;
    }
    const struct mx_statement *s = mx_statement(db_batch_statement(batch->kind));
    int sent =
        PQsendQueryPrepared(c->pg, s->name, count, (const char *const *)values, NULL, NULL, 0) &&
        PQpipelineSync(c->pg);
    db_params_free(values, count);
    batch->next = NULL;
    if (c->tail != NULL)
        c->tail->next = batch;
    else
        c->head = batch;
    c->tail = batch;
    mx_metrics_batch(batch->kind == DB_BATCH_MOVES ? MX_METRICS_BATCH_MOVES
                                                   : MX_METRICS_BATCH_READS,
                     batch->count);
    if (!sent || conn_flush(c) != 0)
        conn_fail(c, "send", NULL);
}

/* Takes up to BATCH_MAX operations off a queue as a batch of their own. */
static struct db_batch *take(struct db_batch *queue) {
    struct db_batch *batch = calloc(1, sizeof *batch);
    if (batch == NULL)
        return NULL;
    batch->kind = queue->kind;
    while (queue->first != NULL && batch->count < BATCH_MAX) {
        struct mx_db_op *op = queue->first;
        queue->first = op->next;
        batch_push(batch, op);
        queue->count--;
    }
    if (queue->first == NULL)
        queue->last = NULL;
    return batch;
}

/* The queued operations that waited for a connection too long are 503 (all of them, when no
 * connection is even on its way up, but those whose fate is unknown); the expiry timer is armed
 * for the earliest of the rest. */
static void on_expiry(void *arg);

static void expire(struct mx_db *db, int all) {
    uint64_t now = mx_loop_now_ns(db->loop), earliest = UINT64_MAX;
    for (int k = 0; k < DB_BATCH_KIND_COUNT; k++) {
        struct db_batch *queue = &db->queues[k];
        struct mx_db_op *op = queue->first;
        queue->first = queue->last = NULL;
        queue->count = 0;
        while (op != NULL) {
            struct mx_db_op *next = op->next;
            /* A move whose fate is unknown waits its whole time: the database may come back
             * and tell it (a keyed one sent again learns its outcome). */
            if ((all && !op->uncertain) || op->deadline_ns <= now) {
                /* A move sent once on a connection that broke may have happened. */
                db_op_finish(db, op, op->uncertain ? MX_OUTCOME_UNKNOWN : MX_UNAVAILABLE);
            } else {
                batch_push(queue, op);
                if (op->deadline_ns < earliest)
                    earliest = op->deadline_ns;
            }
            op = next;
        }
    }
    if (earliest != UINT64_MAX)
        mx_loop_timer_set(db->loop, &db->expiry, (earliest - now + 999999u) / 1000000u, on_expiry,
                          db);
}

static void on_expiry(void *arg) {
    expire(arg, 0);
}

/* Before each wait: what was sent back first, then each kind's queue, each on a free connection. */
static void flush(void *arg) {
    struct mx_db *db = arg;
    struct db_conn *c;
    while (db->again != NULL && (c = idle_conn(db)) != NULL) {
        struct db_batch *batch = db->again;
        db->again = batch->next;
        send_batch(db, c, batch);
    }
    for (int k = 0; k < DB_BATCH_KIND_COUNT; k++) {
        if (db->queues[k].first == NULL || (c = idle_conn(db)) == NULL)
            continue;
        struct db_batch *batch = take(&db->queues[k]);
        if (batch == NULL)
            continue; /* out of memory: the next turn tries again */
        send_batch(db, c, batch);
    }
    int queued = 0;
    for (int k = 0; k < DB_BATCH_KIND_COUNT; k++)
        queued |= db->queues[k].first != NULL;
    if (!queued && db->again == NULL)
        return;
    if (!any_conn_in(db, CONN_CONNECTING)) {
        /* Nothing is even trying: the database is down, and a retry timer is armed. */
        for (struct db_batch *b = db->again; b != NULL;) {
            struct db_batch *next = b->next;
            fail_batch(db, b, MX_UNAVAILABLE);
            free_batch(b);
            b = next;
        }
        db->again = NULL;
        expire(db, 1);
    } else if (!mx_loop_timer_armed(&db->expiry)) {
        expire(db, 0);
    }
}

struct mx_db *mx_db_new(struct mx_loop *loop, unsigned connections) {
    struct mx_db *db = calloc(1, sizeof *db);
    if (db == NULL)
        return NULL;
    db->conns = calloc(connections > 0 ? connections : 1, sizeof *db->conns);
    if (db->conns == NULL) {
        free(db);
        return NULL;
    }
    db->loop = loop;
    uint32_t prefix = 0;
    if (getrandom(&prefix, sizeof prefix, 0) != (ssize_t)sizeof prefix)
        prefix = (uint32_t)time(NULL);
    db->attempt_prefix = (uint64_t)(prefix & 0x7fffffffu) << 32;
    db->conn_count = connections > 0 ? connections : 1;
    for (int k = 0; k < DB_BATCH_KIND_COUNT; k++)
        db->queues[k].kind = (enum db_batch_kind)k;
    for (unsigned i = 0; i < db->conn_count; i++) {
        db->conns[i].db = db;
        conn_start(&db->conns[i]);
    }
    mx_loop_before_wait(loop, &db->hook, flush, db);
    return db;
}

void mx_db_free(struct mx_db *db) {
    if (db == NULL)
        return;
    db_listener_close(&db->listener);
    for (unsigned i = 0; i < db->conn_count; i++) {
        struct db_conn *c = &db->conns[i];
        mx_loop_timer_cancel(db->loop, &c->retry);
        unwatch(c);
        if (c->pg != NULL) {
            if (c->state >= CONN_SETUP)
                mx_metrics_db_connection(-1);
            PQfinish(c->pg);
        }
        for (struct db_batch *b = c->head, *next; b != NULL; b = next) {
            next = b->next;
            free_batch(b);
        }
    }
    for (struct db_batch *b = db->again, *next; b != NULL; b = next) {
        next = b->next;
        free_batch(b);
    }
    mx_loop_timer_cancel(db->loop, &db->expiry);
    mx_loop_timer_cancel(db->loop, &db->sweep.timer);
    mx_loop_timer_cancel(db->loop, &db->sequencer.timer);
    mx_loop_forget(db->loop, &db->hook);
    free(db->conns);
    free(db);
}
