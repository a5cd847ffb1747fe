/* The repository: everything the service keeps, behind plain C values. Implemented over libpq in
 * src/store; no other layer sees the database.
 *
 * Threading: each calling thread gets its own database connection, opened on first use, re-opened
 * after a failure and closed when the thread ends. So calls need no locks and may come from any
 * number of threads at once, once mx_store_init has returned. */
#ifndef MONDUX_STORE_H
#define MONDUX_STORE_H

#include <stdint.h>

#include "mondux/account_number.h"
#include "mondux/money.h"
#include "mondux/status.h"

/* Connection settings as libpq keyword/value pairs. A "dbname" value may itself be a full
 * conninfo string or URI (it is expanded, so DATABASE_URL goes there). */
#define MX_STORE_MAX_PARAMS 8
struct mx_store_params {
    const char *keywords[MX_STORE_MAX_PARAMS + 1]; /* NULL-terminated */
    const char *values[MX_STORE_MAX_PARAMS + 1];
};

struct mx_account {
    char number[MX_ACCT_LENGTH + 1];
    int64_t balance_cents;
    char created_at[32]; /* RFC 3339, UTC, e.g. "2026-11-25T19:46:33Z" */
};

/* Checks that conninfo is a connection string or URI libpq understands. MX_OK, or
 * MX_INVALID_REQUEST with a reason (a new malloc'd string the caller frees) in *error. */
mx_status mx_store_check_conninfo(const char *conninfo, char **error);

/* Remembers params (copied) for every later connection. Call once before any other mx_store_*. */
mx_status mx_store_init(const struct mx_store_params *params);

/* Applies the migrations compiled into the binary that the database lacks, in one transaction
 * under an advisory lock, so several servers may start at once. Retries to connect for up to
 * wait_seconds. MX_OK, MX_UNAVAILABLE (could not connect) or MX_INTERNAL (a migration failed). */
mx_status mx_store_migrate(unsigned wait_seconds);

/* 1 if the calling thread's connection answers a trivial query now (reconnecting if needed). */
int mx_store_ping(void);

/* Creates an account with a fresh random number (a collision is retried) and balance 0. */
mx_status mx_store_create_account(struct mx_account *out);

/* Reads one account. MX_ACCOUNT_NOT_FOUND when there is none. */
mx_status mx_store_get_account(const char *number, struct mx_account *out);

/* Deposits or withdraws sum_cents in one atomic statement that also appends to the journal.
 * MX_OK and the new balance, MX_ACCOUNT_NOT_FOUND, MX_INSUFFICIENT_FUNDS,
 * MX_BALANCE_LIMIT_EXCEEDED (nothing changed), MX_UNAVAILABLE or MX_INTERNAL. */
mx_status mx_store_move(const char *number, mx_move_kind kind, int64_t sum_cents,
                        int64_t *out_balance_cents);

/* Frees what mx_store_init kept and the calling thread's connection. */
void mx_store_shutdown(void);

#endif
