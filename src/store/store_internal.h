/* Shared inside src/store only: the statement table and the per-thread connection. */
#ifndef MONDUX_STORE_INTERNAL_H
#define MONDUX_STORE_INTERNAL_H

#include <libpq-fe.h>

#include "mondux/store.h"

/* Every statement the service prepares; the SQL text of each is in statements.c. */
enum mx_stmt {
    MX_STMT_CREATE_ACCOUNT,
    MX_STMT_GET_ACCOUNT,
    MX_STMT_MOVE,
    MX_STMT_PING,
    MX_STMT_COUNT
};

struct mx_statement {
    const char *name;
    const char *sql;
    int param_count;
    const Oid *param_types;
    int is_read_only; /* safe to send again after a broken connection */
};

/* Borrowed; the table is static. */
const struct mx_statement *mx_statement(enum mx_stmt stmt);

/* SQL the migrator runs outside the prepared set. */
extern const char mx_sql_migration_quiet[];
extern const char mx_sql_migration_lock[];
extern const char mx_sql_migration_table[];
extern const char mx_sql_migration_applied[];
extern const char mx_sql_migration_record[];

/* Opens a new connection with the parameters given to mx_store_init. New reference (PQfinish it);
 * check PQstatus. */
PGconn *mx_conn_open(void);

/* Runs a prepared statement on the calling thread's connection, (re)connecting and preparing as
 * needed. On MX_OK *out is a new PGresult the caller PQclears; otherwise *out is NULL and the
 * status says why (MX_UNAVAILABLE for connection trouble, MX_INTERNAL for anything else). */
mx_status mx_conn_exec(enum mx_stmt stmt, const char *const *params, PGresult **out);

/* Maps a failed result (or NULL) on conn to a status, logging what the client will not see. */
mx_status mx_conn_failure_status(PGconn *conn, const PGresult *result, const char *what);

/* Closes the calling thread's connection, if any. */
void mx_conn_close_thread(void);

/* Frees the copied parameters (after every thread's connection is closed). */
void mx_conn_forget_params(void);

#endif
