/* Shared inside src/store only: the statement table, the SQL outside it, and opening connections.
 */
#ifndef MONDUX_STORE_INTERNAL_H
#define MONDUX_STORE_INTERNAL_H

#include <libpq-fe.h>

#include "mondux/store.h"

/* Every statement the service prepares; the SQL text of each is in statements.c. */
enum mx_stmt {
    MX_STMT_READ_BATCH,
    MX_STMT_PING,
    MX_STMT_IDEMPOTENCY_SWEEP,
    MX_STMT_APPLY_BATCH,
    MX_STMT_READ_TRANSFERS,
    MX_STMT_HISTORY_BATCH,
    MX_STMT_READ_HOLDS,
    MX_STMT_HOLDS_PAGE,
    MX_STMT_EVENTS_PAGE,
    MX_STMT_BALANCE_AT,
    MX_STMT_SEQUENCE,
    MX_STMT_STATEMENT_SUMMARY,
    MX_STMT_STATEMENT_PAGE,
    MX_STMT_FEED_HEAD,
    MX_STMT_COUNT
};

struct mx_statement {
    const char *name;
    const char *sql;
    int param_count;
    const Oid *param_types;
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
/* What the change feed's listening connection sends (db_listen.c). */
extern const char mx_sql_listen[];
extern const char mx_sql_migration_quiet[];
extern const char mx_sql_migration_lock[];
extern const char mx_sql_migration_table[];
extern const char mx_sql_migration_no_body_checks[];
extern const char mx_sql_migration_pre_baseline_count[];
extern const char mx_sql_migration_pre_baseline_adopt[];
extern const char mx_sql_migration_applied[];
extern const char mx_sql_currency_known[];
extern const char mx_sql_migration_record[];

/* A column of a result row as an integer (0 for NULL) or as text (copied, "" for NULL, cut to
 * size). */
int64_t mx_pg_int64(const PGresult *result, int row, int column);
void mx_pg_text(char *dst, size_t size, const PGresult *result, int row, int column);

/* Opens a new connection with the parameters given to mx_store_init. New reference (PQfinish it);
 * check PQstatus. */
PGconn *mx_conn_open(void);
/* The same without waiting: PQconnectStartParams, for PQconnectPoll on an event loop. */
PGconn *mx_conn_start(void);
/* How long a started connection may take to be made, in ms (0: no limit). libpq applies
 * connect_timeout only in its blocking calls; on the loop the caller does, as connect_timeout
 * seconds for each host of the connection string, as libpq would. */
unsigned mx_conn_start_timeout_ms(PGconn *pg);

/* Logs what failed (the SQLSTATE and the server's message), which the client never sees. */
void mx_conn_say_failure(PGconn *conn, const PGresult *result, const char *what);

/* Maps a failed result (or NULL) on conn to a status (db_classify's GONE is MX_UNAVAILABLE,
 * anything else MX_INTERNAL), logging what the client will not see. */
mx_status mx_conn_failure_status(PGconn *conn, const PGresult *result, const char *what);

#endif
