/* Shared inside src/store only: the statement table and the per-thread connection. */
#ifndef MONDUX_STORE_INTERNAL_H
#define MONDUX_STORE_INTERNAL_H

#include <libpq-fe.h>
#include <time.h>

#include "mondux/store.h"

/* Every statement the service prepares; the SQL text of each is in statements.c. */
enum mx_stmt {
    MX_STMT_CREATE_ACCOUNT,
    MX_STMT_GET_ACCOUNT,
    MX_STMT_MOVE,
    MX_STMT_TRANSFER,
    MX_STMT_GET_TRANSFER,
    MX_STMT_HISTORY,
    MX_STMT_BEGIN,
    MX_STMT_COMMIT,
    MX_STMT_ROLLBACK,
    MX_STMT_IDEMPOTENCY_CLAIM,
    MX_STMT_IDEMPOTENCY_RECORD,
    MX_STMT_IDEMPOTENCY_SWEEP,
    MX_STMT_IDEMPOTENCY_EFFECT,
    MX_STMT_MOVE_BATCH,
    MX_STMT_READ_BATCH,
    MX_STMT_BATCH_LOCK_TIMEOUT,
    MX_STMT_LOCK_FREE_ACCOUNTS,
    MX_STMT_PING,
    MX_STMT_APPLY_BATCH,
    MX_STMT_READ_TRANSFERS,
    MX_STMT_HISTORY_BATCH,
    MX_STMT_KEYED_LOCK_TIMEOUT,
    MX_STMT_COUNT
};

/* What a money movement or creation changed, so that an idempotency record can point at it. */
enum mx_effect_kind { MX_EFFECT_NONE, MX_EFFECT_ACCOUNT, MX_EFFECT_ENTRY, MX_EFFECT_TRANSFER };

struct mx_statement {
    const char *name;
    const char *sql;
    int param_count;
    const Oid *param_types;
    int can_resend; /* changes nothing, so safe to send again after a broken connection */
};

/* Borrowed; the table is static. */
const struct mx_statement *mx_statement(enum mx_stmt stmt);

/* The audit's statements (check.c), on its own read-only connection, so the service's
 * connections never prepare them. */
enum mx_check_stmt {
    MX_CHECK_BEGIN,
    MX_CHECK_TOTALS,
    MX_CHECK_BALANCES,
    MX_CHECK_TRANSFERS,
    MX_CHECK_STMT_COUNT
};
extern const struct mx_statement mx_check_statements[MX_CHECK_STMT_COUNT];

/* SQL run outside the prepared set: on each new connection, and by the migrator. */
extern const char mx_sql_session_setup[];
extern const char mx_sql_migration_quiet[];
extern const char mx_sql_migration_lock[];
extern const char mx_sql_migration_table[];
extern const char mx_sql_migration_no_body_checks[];
extern const char mx_sql_migration_pre_baseline_count[];
extern const char mx_sql_migration_pre_baseline_adopt[];
extern const char mx_sql_migration_applied[];
extern const char mx_sql_migration_record[];

/* A column of a result row as an integer (0 for NULL) or as text (copied, "" for NULL, cut to
 * size). */
int64_t mx_pg_int64(const PGresult *result, int row, int column);
void mx_pg_text(char *dst, size_t size, const PGresult *result, int row, int column);

/* One database connection and when it last failed to open (for the reconnect backoff). */
struct mx_conn_slot {
    PGconn *pg; /* NULL until first use, and after a failure */
    struct timespec last_failure;
};

/* Closes slot's connection, if any; the slot stays usable and reconnects on its next use
 * (slot.c). */
void mx_conn_slot_close(struct mx_conn_slot *slot);

/* The pool of connections that request threads borrow (pool.c), size connections. Acquire waits
 * a bounded time for one to come free; NULL if none did. */
mx_status mx_pool_init(unsigned size);
struct mx_conn_slot *mx_pool_acquire(void);
void mx_pool_release(struct mx_conn_slot *slot);
/* Closes every pooled connection; only once no thread uses the pool any more. */
void mx_pool_close(void);

/* Opens a new connection with the parameters given to mx_store_init. New reference (PQfinish it);
 * check PQstatus. */
PGconn *mx_conn_open(void);
/* The same without waiting: PQconnectStartParams, for PQconnectPoll on an event loop. */
PGconn *mx_conn_start(void);

/* Runs a prepared statement on a connection of the calling thread's -- borrowed from the pool for
 * this statement, or held since mx_conn_begin -- (re)connecting and preparing as needed. On MX_OK
 * *out is a new PGresult the caller PQclears; otherwise *out is NULL and the status says why
 * (MX_UNAVAILABLE for connection trouble, MX_INTERNAL for anything else). Outside a transaction a
 * statement that lost a deadlock or serialization conflict is sent again (bounded). Inside one
 * (mx_conn_begin) nothing is ever re-sent or re-connected: a failure ends the transaction's
 * usefulness, and the caller rolls back. */
mx_status mx_conn_exec(enum mx_stmt stmt, const char *const *params, PGresult **out);

/* The SQLSTATE of the calling thread's last failed statement ("" if none); borrowed, valid until
 * the thread's next statement. */
const char *mx_conn_last_sqlstate(void);

/* 1 when the calling thread's last statement failed because a lock wait ran out (lock_timeout,
 * SQLSTATE 55P03): it was rolled back, and may pass when tried again. */
int mx_conn_lock_wait_ran_out(void);

/* Opens a transaction on the calling thread's connection; later mx_conn_exec calls of the thread
 * run inside it until mx_conn_commit or mx_conn_rollback. The noted effect is reset. */
mx_status mx_conn_begin(void);

/* Commits; MX_OK only if the server confirmed the commit. The transaction is over either way. */
mx_status mx_conn_commit(void);

/* Rolls back (or just forgets a transaction whose connection is gone). Never fails. */
void mx_conn_rollback(void);

/* Records what a statement just changed: the effect (id as decimal text, copied) for the open
 * transaction's idempotency record, read back by mx_conn_effect; and the money it moved
 * (money_kind an mx_metrics_money_kind, or -1), counted in the metrics once committed. */
void mx_conn_note_effect(enum mx_effect_kind kind, const char *id, int money_kind,
                         int64_t money_cents);
enum mx_effect_kind mx_conn_effect(const char **id);
/* The money noted for the open transaction: its mx_metrics_money_kind (-1 for none), the cents in
 * *cents. For a caller that learns in another way that a commit whose answer was lost happened:
 * mx_conn_commit counts only what the server confirmed. */
int mx_conn_money(int64_t *cents);

/* Maps a failed result (or NULL) on conn to a status, logging what the client will not see. */
mx_status mx_conn_failure_status(PGconn *conn, const PGresult *result, const char *what);

/* 1 while the calling thread has a transaction open (mx_conn_begin). */
int mx_conn_in_transaction(void);

/* Group commit (batcher.c). mx_batcher_moves / _reads: 1 when that kind's workers run and the
 * calling thread has no transaction open (a transaction's statements must use its own
 * connection). The other two queue one operation, wait for its batch and answer like
 * mx_store_move / mx_store_get_account. */
int mx_batcher_moves(void);
/* mx_store_move and mx_store_get_account without the batcher: one statement of their own, on the
 * calling thread's connection. */
mx_status mx_store_move_alone(const char *number, mx_move_kind kind, int64_t sum_cents,
                              int64_t *out_balance_cents);
mx_status mx_store_get_account_alone(const char *number, struct mx_account *out);
int mx_batcher_reads(void);
mx_status mx_batcher_move(const char *number, int64_t delta_cents, int64_t *out_balance_cents);
mx_status mx_batcher_read(const char *number, struct mx_account *out);
/* The same two, answering through then instead of waiting (see mx_store_move_then). */
void mx_batcher_move_then(const char *number, int64_t delta_cents, int64_t *out_balance_cents,
                          mx_store_done then, void *arg);
void mx_batcher_read_then(const char *number, struct mx_account *out, mx_store_done then,
                          void *arg);

/* From now on the calling thread (a batch thread) uses a connection of its own instead of borrowing
 * from the pool, so that it never waits behind requests. */
void mx_conn_keep_own(void);

/* Closes the calling thread's own connection, if any. */
void mx_conn_close_thread(void);

/* Frees the copied parameters (after every thread's connection is closed). */
void mx_conn_forget_params(void);

#endif
