/* The calling thread's use of the database: a thread borrows a connection from the pool (pool.c)
 * for one statement, or from BEGIN to COMMIT; a batch thread keeps one of its own. Statements are
 * prepared once per connection; a connection is thrown away and re-opened after any
 * connection-level failure. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mondux/log.h"
#include "mondux/metrics.h"
#include "store_internal.h"

/* After a failed connect, requests in the next moment answer 503 at once instead of each waiting
 * for its own connect attempt against a database that is down. */
#define RECONNECT_BACKOFF_NS 200000000L
/* A statement that lost a deadlock or serialization conflict (outside a transaction of ours) is
 * sent again this many times before the failure is reported. */
#define CONFLICT_RETRIES 3

struct thread_conn {
    struct mx_conn_slot *held; /* the connection in use: borrowed, or &own; NULL between uses */
    struct mx_conn_slot own;   /* a worker thread's own connection */
    int keeps_own;
    int in_transaction;
    enum mx_effect_kind effect; /* what the open transaction changed, for its idempotency record */
    char effect_id[24];
    int money_kind; /* and the money it moved (an mx_metrics_money_kind, or -1 for none) */
    int64_t money_cents;
    char last_sqlstate[6];
};

static struct mx_store_params params_copy;
static pthread_key_t conn_key;
static pthread_once_t conn_key_once = PTHREAD_ONCE_INIT;

static void thread_conn_free(void *data) {
    struct thread_conn *tc = data;
    /* Only if a thread ends mid-use (a bug): never hand on a connection with its transaction. */
    if (tc->held != NULL && tc->in_transaction)
        mx_conn_slot_close(tc->held);
    if (tc->held != NULL && tc->held != &tc->own)
        mx_pool_release(tc->held);
    mx_conn_slot_close(&tc->own);
    free(tc);
}

static void conn_key_create(void) {
    pthread_key_create(&conn_key, thread_conn_free);
}

mx_status mx_store_check_conninfo(const char *conninfo, char **error) {
    char *message = NULL;
    PQconninfoOption *options = PQconninfoParse(conninfo, &message);
    if (options == NULL) {
        const char *reason = message != NULL ? message : "out of memory\n";
        *error = strdup(reason);
        if (*error != NULL) {
            size_t n = strlen(*error);
            if (n > 0 && (*error)[n - 1] == '\n')
                (*error)[n - 1] = '\0';
        }
        PQfreemem(message);
        return MX_INVALID_REQUEST;
    }
    PQconninfoFree(options);
    return MX_OK;
}

mx_status mx_store_init(const struct mx_store_params *params) {
    pthread_once(&conn_key_once, conn_key_create);
    if (mx_pool_init(params->pool_size) != MX_OK)
        return MX_INTERNAL;
    memset(&params_copy, 0, sizeof params_copy);
    for (int i = 0; i < MX_STORE_MAX_PARAMS && params->keywords[i] != NULL; i++) {
        params_copy.keywords[i] = strdup(params->keywords[i]);
        params_copy.values[i] = strdup(params->values[i]);
        if (params_copy.keywords[i] == NULL || params_copy.values[i] == NULL)
            return MX_INTERNAL;
    }
    return MX_OK;
}

void mx_conn_forget_params(void) {
    for (int i = 0; i < MX_STORE_MAX_PARAMS; i++) {
        free((char *)params_copy.keywords[i]);
        free((char *)params_copy.values[i]);
    }
    memset(&params_copy, 0, sizeof params_copy);
}

PGconn *mx_conn_open(void) {
    return PQconnectdbParams(params_copy.keywords, params_copy.values, 1);
}

PGconn *mx_conn_start(void) {
    return PQconnectStartParams(params_copy.keywords, params_copy.values, 1);
}

/* 55P03 lock_not_available: a lock wait ran out (lock_timeout). */
static int is_lock_wait(const char *sqlstate) {
    return sqlstate != NULL && strcmp(sqlstate, "55P03") == 0;
}

mx_status mx_conn_failure_status(PGconn *conn, const PGresult *result, const char *what) {
    const char *sqlstate = result != NULL ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
    /* Class 08 (connection), 57P01-03 (shutdown, crash, starting up) and 53 (out of resources,
     * e.g. too many connections) pass with time: the client may retry. */
    int transient = conn == NULL || PQstatus(conn) == CONNECTION_BAD ||
                    (sqlstate != NULL &&
                     (strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "57P0", 4) == 0 ||
                      strncmp(sqlstate, "53", 2) == 0));
    const char *message = result != NULL ? PQresultErrorMessage(result)
                                         : (conn != NULL ? PQerrorMessage(conn) : "no connection");
    /* A lock wait that ran out (55P03) is a busy resource, not a database failure: callers that
     * set a lock_timeout turn it into their own answer. */
    int lock_wait = is_lock_wait(sqlstate);
    if (!lock_wait)
        mx_metrics_db(transient ? MX_METRICS_DB_UNAVAILABLE : MX_METRICS_DB_ERROR);
    mx_log(lock_wait ? MX_LOG_WARN : MX_LOG_ERROR, "database %s failed (%s): %s", what,
           sqlstate != NULL ? sqlstate : "no sqlstate", message);
    return transient ? MX_UNAVAILABLE : MX_INTERNAL;
}

static struct thread_conn *thread_conn(void) {
    struct thread_conn *tc = pthread_getspecific(conn_key);
    if (tc == NULL) {
        tc = calloc(1, sizeof *tc);
        if (tc != NULL && pthread_setspecific(conn_key, tc) != 0) {
            free(tc);
            tc = NULL;
        }
    }
    return tc;
}

static int in_backoff(const struct mx_conn_slot *slot) {
    if (slot->last_failure.tv_sec == 0)
        return 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed_ns = (long)(now.tv_sec - slot->last_failure.tv_sec) * 1000000000L +
                      (now.tv_nsec - slot->last_failure.tv_nsec);
    return elapsed_ns < RECONNECT_BACKOFF_NS;
}

/* A fresh, fully prepared connection, or a status saying why there is none. */
static mx_status connect_and_prepare(struct mx_conn_slot *slot) {
    if (in_backoff(slot))
        return MX_UNAVAILABLE;
    slot->pg = mx_conn_open();
    if (slot->pg != NULL)
        mx_metrics_db_connection(+1); /* until mx_conn_slot_close, whether it connected or not */
    mx_status status = MX_OK;
    if (slot->pg == NULL || PQstatus(slot->pg) != CONNECTION_OK) {
        (void)mx_conn_failure_status(slot->pg, NULL, "connect");
        status = MX_UNAVAILABLE; /* whatever the reason, a failed connect is an outage */
        goto out;
    }
    PGresult *setup = PQexec(slot->pg, mx_sql_session_setup);
    if (PQresultStatus(setup) != PGRES_COMMAND_OK)
        status = mx_conn_failure_status(slot->pg, setup, "session setup");
    PQclear(setup);
    if (status != MX_OK)
        goto out;
    for (int i = 0; i < MX_STMT_COUNT; i++) {
        const struct mx_statement *s = mx_statement((enum mx_stmt)i);
        PGresult *result = PQprepare(slot->pg, s->name, s->sql, s->param_count, s->param_types);
        if (PQresultStatus(result) != PGRES_COMMAND_OK)
            status = mx_conn_failure_status(slot->pg, result, "prepare");
        PQclear(result);
        if (status != MX_OK)
            goto out;
    }
out:
    if (status != MX_OK) {
        mx_conn_slot_close(slot);
        clock_gettime(CLOCK_MONOTONIC, &slot->last_failure);
    } else {
        slot->last_failure.tv_sec = 0;
        mx_metrics_db(MX_METRICS_DB_CONNECT);
    }
    return status;
}

/* An idle connection learns that the server went away only when it reads; do that read now,
 * without blocking, so a request is not sent into a connection known to be dead. A server that
 * shuts down first sends its farewell (which libpq takes as a notice) and then closes: so read
 * as long as there is something to read, and the close is seen too. */
static int still_alive(PGconn *pg) {
    for (int reads = 0; reads < 4; reads++) {
        if (!PQconsumeInput(pg) || PQstatus(pg) != CONNECTION_OK)
            return 0;
        struct pollfd socket_state = {.fd = PQsocket(pg), .events = POLLIN};
        if (poll(&socket_state, 1, 0) <= 0)
            return 1; /* nothing more to read: as alive as we can tell */
    }
    return PQstatus(pg) == CONNECTION_OK;
}

/* The statement was sent, then the connection broke without an answer -- not even an error: it may
 * have committed or not. That matters for a statement that commits on its own (outside a
 * transaction) and for COMMIT; inside a transaction nothing commits without COMMIT. */
static int outcome_unknown(const struct thread_conn *tc, enum mx_stmt stmt,
                           const struct mx_statement *s) {
    PGconn *pg = tc->held->pg;
    return !s->can_resend && tc->last_sqlstate[0] == '\0' &&
           (pg == NULL || PQstatus(pg) == CONNECTION_BAD) &&
           (!tc->in_transaction || stmt == MX_STMT_COMMIT);
}

static void remember_sqlstate(struct thread_conn *tc, const PGresult *result) {
    const char *sqlstate = result != NULL ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
    snprintf(tc->last_sqlstate, sizeof tc->last_sqlstate, "%s", sqlstate != NULL ? sqlstate : "");
}

/* 40001 serialization failure, 40P01 deadlock: the statement was rolled back and may be retried. */
static int lost_a_conflict(const char *sqlstate) {
    return strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0;
}

/* Makes tc->held a connection slot (possibly not yet connected): the thread's own, or one
 * borrowed from the pool (MX_UNAVAILABLE when none comes free in time). */
static mx_status hold(struct thread_conn *tc) {
    if (tc->held != NULL)
        return MX_OK;
    tc->held = tc->keeps_own ? &tc->own : mx_pool_acquire();
    if (tc->held != NULL)
        return MX_OK;
    mx_log(MX_LOG_WARN, "no database connection came free in time");
    return MX_UNAVAILABLE;
}

static void let_go(struct thread_conn *tc) {
    if (tc->held != NULL && tc->held != &tc->own)
        mx_pool_release(tc->held);
    tc->held = NULL;
}

/* mx_conn_exec on the held slot. */
static mx_status exec_held(struct thread_conn *tc, enum mx_stmt stmt, const char *const *params,
                           PGresult **out) {
    struct mx_conn_slot *slot = tc->held;
    const struct mx_statement *s = mx_statement(stmt);
    int conflicts = 0;

    /* A read may be sent once more on a fresh connection; a write never: it may have committed. */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (tc->in_transaction && slot->pg == NULL)
            return MX_UNAVAILABLE; /* the transaction died with its connection */
        int reused = slot->pg != NULL;
        if (reused && !tc->in_transaction && !still_alive(slot->pg)) {
            mx_conn_slot_close(slot);
            reused = 0;
        }
        if (slot->pg == NULL) {
            mx_status status = connect_and_prepare(slot);
            if (status != MX_OK)
                return status;
        }
        PGresult *result = PQexecPrepared(slot->pg, s->name, s->param_count, params, NULL, NULL, 0);
        ExecStatusType rs = PQresultStatus(result);
        if (rs == PGRES_TUPLES_OK || rs == PGRES_COMMAND_OK) {
            *out = result;
            return MX_OK;
        }
        remember_sqlstate(tc, result);
        if (!tc->in_transaction && lost_a_conflict(tc->last_sqlstate) &&
            conflicts++ < CONFLICT_RETRIES) {
            PQclear(result);
            attempt--;
            continue;
        }
        mx_status status = mx_conn_failure_status(slot->pg, result, s->name);
        PQclear(result);
        if (status != MX_UNAVAILABLE)
            return status;
        if (outcome_unknown(tc, stmt, s))
            status = MX_OUTCOME_UNKNOWN;
        mx_conn_slot_close(slot);
        if (!(reused && s->can_resend) || tc->in_transaction)
            return status;
    }
    return MX_UNAVAILABLE;
}

mx_status mx_conn_exec(enum mx_stmt stmt, const char *const *params, PGresult **out) {
    *out = NULL;
    struct thread_conn *tc = thread_conn();
    if (tc == NULL)
        return MX_INTERNAL;
    tc->last_sqlstate[0] = '\0';
    int borrowed_here = tc->held == NULL; /* inside a transaction the slot is already held */
    mx_status status = hold(tc);
    if (status != MX_OK)
        return status;
    status = exec_held(tc, stmt, params, out);
    if (borrowed_here)
        let_go(tc);
    return status;
}

const char *mx_conn_last_sqlstate(void) {
    struct thread_conn *tc = thread_conn();
    return tc != NULL ? tc->last_sqlstate : "";
}

int mx_conn_lock_wait_ran_out(void) {
    return is_lock_wait(mx_conn_last_sqlstate());
}

mx_status mx_conn_begin(void) {
    struct thread_conn *tc = thread_conn();
    if (tc == NULL || tc->in_transaction)
        return MX_INTERNAL; /* a transaction left open is a bug of ours */
    tc->effect = MX_EFFECT_NONE;
    tc->effect_id[0] = '\0';
    tc->money_kind = -1;
    tc->last_sqlstate[0] = '\0';
    mx_status status = hold(tc); /* kept until COMMIT or ROLLBACK */
    if (status != MX_OK)
        return status;
    PGresult *result = NULL;
    status = exec_held(tc, MX_STMT_BEGIN, NULL, &result);
    PQclear(result);
    if (status == MX_OK)
        tc->in_transaction = 1;
    else
        let_go(tc);
    return status;
}

mx_status mx_conn_commit(void) {
    struct thread_conn *tc = thread_conn();
    if (tc == NULL || !tc->in_transaction)
        return MX_INTERNAL;
    tc->last_sqlstate[0] = '\0';
    PGresult *result = NULL;
    mx_status status = exec_held(tc, MX_STMT_COMMIT, NULL, &result);
    /* COMMIT of a transaction that had failed answers "ROLLBACK", not an error. */
    if (status == MX_OK && strcmp(PQcmdStatus(result), "COMMIT") != 0) {
        mx_log(MX_LOG_ERROR, "database commit answered %s", PQcmdStatus(result));
        status = MX_INTERNAL;
    }
    PQclear(result);
    tc->in_transaction = 0;
    /* Whatever went wrong, this connection may still hold the transaction open: never reuse it. */
    if (status != MX_OK)
        mx_conn_slot_close(tc->held);
    else if (tc->money_kind >= 0)
        mx_metrics_money((mx_metrics_money_kind)tc->money_kind, tc->money_cents);
    let_go(tc);
    return status;
}

void mx_conn_rollback(void) {
    struct thread_conn *tc = thread_conn();
    if (tc == NULL || !tc->in_transaction)
        return;
    tc->last_sqlstate[0] = '\0';
    if (tc->held->pg != NULL) {
        PGresult *result = NULL;
        if (exec_held(tc, MX_STMT_ROLLBACK, NULL, &result) != MX_OK)
            mx_conn_slot_close(tc->held); /* fresh is cleaner than a connection in doubt */
        PQclear(result);
    }
    tc->in_transaction = 0;
    let_go(tc);
}

int mx_conn_in_transaction(void) {
    struct thread_conn *tc = thread_conn();
    return tc != NULL && tc->in_transaction;
}

void mx_conn_note_effect(enum mx_effect_kind kind, const char *id, int money_kind,
                         int64_t money_cents) {
    struct thread_conn *tc = thread_conn();
    if (tc == NULL)
        return;
    /* Money counts in the metrics once it moved for good: now, or when the transaction commits. */
    if (!tc->in_transaction) {
        if (money_kind >= 0)
            mx_metrics_money((mx_metrics_money_kind)money_kind, money_cents);
        return;
    }
    tc->effect = kind;
    snprintf(tc->effect_id, sizeof tc->effect_id, "%s", id);
    tc->money_kind = money_kind;
    tc->money_cents = money_cents;
}

enum mx_effect_kind mx_conn_effect(const char **id) {
    struct thread_conn *tc = thread_conn();
    if (tc == NULL || tc->effect == MX_EFFECT_NONE) {
        *id = NULL;
        return MX_EFFECT_NONE;
    }
    *id = tc->effect_id;
    return tc->effect;
}

int mx_conn_money(int64_t *cents) {
    struct thread_conn *tc = thread_conn();
    *cents = tc != NULL ? tc->money_cents : 0;
    return tc != NULL && tc->in_transaction ? tc->money_kind : -1;
}

void mx_conn_keep_own(void) {
    struct thread_conn *tc = thread_conn();
    if (tc != NULL)
        tc->keeps_own = 1;
}

void mx_conn_close_thread(void) {
    pthread_once(&conn_key_once, conn_key_create);
    struct thread_conn *tc = pthread_getspecific(conn_key);
    if (tc != NULL) {
        pthread_setspecific(conn_key, NULL);
        thread_conn_free(tc);
    }
}
