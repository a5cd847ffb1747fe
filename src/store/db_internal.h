/* Shared by src/store/db.c (connections, the queue) and db_batches.c (each kind's SQL and rows). */
#ifndef MONDUX_DB_INTERNAL_H
#define MONDUX_DB_INTERNAL_H

#include "mondux/db.h"
#include "store_internal.h"

/* Operations that go out as one statement. */
enum db_batch_kind {
    DB_BATCH_MOVES, /* deposits, withdrawals, transfers, creations, status changes, holds:
                       apply_batch */
    DB_BATCH_ACCOUNTS,
    DB_BATCH_TRANSFERS,
    DB_BATCH_HISTORY,
    DB_BATCH_HOLDS,
    DB_BATCH_HOLD_PAGES,
    DB_BATCH_PING,
    DB_BATCH_SWEEP,
    DB_BATCH_EVENTS,
    DB_BATCH_BALANCES_AT,
    DB_BATCH_SEQUENCE,
    DB_BATCH_STATEMENTS,
    DB_BATCH_STATEMENT_PAGES,
    DB_BATCH_FEED_HEAD,
    DB_BATCH_KIND_COUNT
};

struct db_batch {
    enum db_batch_kind kind;
    struct mx_db_op *first, *last; /* linked by op->next, in arrival order */
    unsigned count;
    int skip_locked; /* apply_batch waits for no lock (sent again after a lock wait ran out) */
    unsigned attempts;
    PGresult *result; /* the statement's, once it came */
    struct db_batch *next;
    int read_only; /* a readiness check found the server read-only */
};

/* The clean-up of expired keys (db_sweep.c): its operation and its schedule. */
struct db_sweep {
    struct mx_db *db;
    struct mx_db_op op;
    struct mx_loop_timer timer;
    uint64_t ttl_seconds;
    unsigned interval_seconds;
    unsigned long removed; /* in this round */
    int running;
};

/* The change feed's numbering rounds (db_sequence.c): one at a time, soon after moves committed. */
struct db_sequencer {
    struct mx_db *db;
    struct mx_db_op op;
    struct mx_loop_timer timer;
    int running;
    int wanted; /* moves committed since the running round began */
    int soon;   /* the timer is set for a round soon, not the idle one */
};

/* A libpq connection's socket as the loop watches it (db_socket.c). */
struct db_socket {
    struct mx_loop_io io;
    int watched; /* io is in the loop */
};

/* Watches the socket pg uses now for events (MX_LOOP_READ/WRITE), calling fn(arg, events);
 * connecting says PQconnectPoll is under way, when the socket may have been replaced. 0, or -1. */
int db_socket_watch(struct db_socket *socket, struct mx_loop *loop, PGconn *pg, unsigned events,
                    int connecting, mx_loop_io_fn *fn, void *arg);
/* Out of the loop (before PQfinish). */
void db_socket_unwatch(struct db_socket *socket, struct mx_loop *loop);

/* The change feed's listening connection (db_listen.c). */
struct db_listener {
    struct mx_loop *loop; /* NULL until started */
    PGconn *pg;
    struct db_socket socket;
    int listening; /* LISTEN has been sent */
    struct mx_loop_timer retry;
    void (*news)(void *arg);
    void *arg;
};

struct mx_loop *db_loop(const struct mx_db *db);
/* Starts listening on loop (mx_db_listen); a second call only replaces the callback. */
void db_listener_start(struct db_listener *listener, struct mx_loop *loop, void (*news)(void *arg),
                       void *arg);
/* Closes the listening connection (mx_db_free). */
void db_listener_close(struct db_listener *listener);
struct db_sweep *db_sweep_of(struct mx_db *db);
struct db_sequencer *db_sequencer_of(struct mx_db *db);

/* Calls fn(arg) each time a batch of moves has come back from the database, once its answers are
 * read: what the change feed's numbering waits for (db_sequence.c). */
void db_on_moves_answered(struct mx_db *db, void (*fn)(void *arg), void *arg);

enum db_batch_kind db_batch_kind_of(enum mx_db_kind kind);

/* The statement a batch of kind sends, and its parameters: values[] gets new strings (NULL for a
 * NULL parameter) that db_params_free releases. 0 when out of memory. */
enum mx_stmt db_batch_statement(enum db_batch_kind kind);
int db_batch_params(const struct db_batch *batch, char *values[], int *count);
void db_params_free(char *values[], int count);
#define DB_PARAMS_MAX 13 /* apply_batch's */

/* Reads each operation's answer from the statement's rows into it: op->status, or op->resend when
 * it must go out once more (a creation whose number was taken has drawn another). Calls nothing of
 * db.c's, which then completes or resends each. */
void db_batch_read(struct db_batch *batch, const PGresult *result);

/* The one map from a database outcome to what to do about it (GNUnet's HARD/SOFT): OK; SOFT,
 * the same transaction may well pass if sent again (deadlock, serialization failure, a lock wait
 * that ran out); GONE, the connection or the server is going or gone; READ_ONLY, the server takes
 * no writes (a standby now): nothing was written, and another server may be the primary; HARD,
 * anything else. */
enum db_outcome { DB_OK, DB_SOFT, DB_GONE, DB_HARD, DB_READ_ONLY };
enum db_outcome db_classify(PGconn *pg, const PGresult *result);

#endif
