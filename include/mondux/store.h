/* The repository: everything the service keeps, behind plain C values. Implemented over libpq in
 * src/store; no other layer sees the database.
 *
 * Threading: calls may come from any number of threads at once, once mx_store_init has returned.
 * Each call borrows a connection from a pool of pool_size for one statement or one transaction
 * (waiting a bounded time for one to come free, else MX_UNAVAILABLE); pooled connections open on
 * first use and re-open after a failure. */
#ifndef MONDUX_STORE_H
#define MONDUX_STORE_H

#include <stdint.h>

#include "mondux/account_number.h"
#include "mondux/money.h"
#include "mondux/status.h"

/* Connection settings as libpq keyword/value pairs. A "dbname" value may itself be a full
 * conninfo string or URI (it is expanded, so DATABASE_URL goes there). */
#define MX_STORE_MAX_PARAMS 12
struct mx_store_params {
    const char *keywords[MX_STORE_MAX_PARAMS + 1]; /* NULL-terminated */
    const char *values[MX_STORE_MAX_PARAMS + 1];
    unsigned pool_size; /* connections shared by the calling threads, at least 1 */
};

/* Ids of entries and transfers reach clients as JSON numbers, so the same bound as money holds. */
#define MX_ID_MAX MX_MONEY_MAX_CENTS

#define MX_TIMESTAMP_SIZE 32 /* RFC 3339, UTC, e.g. "2026-11-25T19:46:33Z", and its NUL */

struct mx_account {
    char number[MX_ACCT_LENGTH + 1];
    int64_t balance_cents; /* may be negative, down to -overdraft_limit_cents */
    int64_t overdraft_limit_cents;
    char created_at[MX_TIMESTAMP_SIZE];
};

struct mx_transfer {
    int64_t id;
    char from[MX_ACCT_LENGTH + 1];
    char to[MX_ACCT_LENGTH + 1];
    int64_t amount_cents;
    int64_t from_balance_cents; /* each account's balance right after the transfer */
    int64_t to_balance_cents;
    char created_at[MX_TIMESTAMP_SIZE];
};

/* One journal entry, as the history shows it. */
struct mx_entry {
    int64_t id;
    char kind[16];        /* "deposit", "withdrawal", "transfer_in" or "transfer_out" */
    int64_t amount_cents; /* signed: + into the account, - out of it */
    int64_t balance_after_cents;
    char created_at[MX_TIMESTAMP_SIZE];
    int64_t transfer_id;                   /* 0 unless a transfer leg */
    char counterparty[MX_ACCT_LENGTH + 1]; /* the other account of a transfer, else "" */
};

/* The answer a request with an Idempotency-Key got the first time. */
struct mx_stored_outcome {
    int same_request; /* its fingerprint equals the one asked about */
    unsigned http_status;
    char *body; /* new: malloc'd, NUL-terminated; free() it */
    size_t body_size;
    char location[96]; /* "" when none */
};

/* Checks that conninfo is a connection string or URI libpq understands. MX_OK, or
 * MX_INVALID_REQUEST with a reason (a new malloc'd string the caller frees) in *error. */
mx_status mx_store_check_conninfo(const char *conninfo, char **error);

/* Remembers params (copied) for every later connection. Call once before any other mx_store_*. */
mx_status mx_store_init(const struct mx_store_params *params);

/* Applies the migrations compiled into the binary that the database lacks, in one transaction
 * under an advisory lock, so several servers may start at once. Retries to connect for up to
 * wait_seconds, or until stop_requested (may be NULL) returns 1. MX_OK, MX_UNAVAILABLE (could not
 * connect, or told to stop) or MX_INTERNAL (a migration failed). */
mx_status mx_store_migrate(unsigned wait_seconds, int (*stop_requested)(void));

/* 1 if the calling thread's connection answers a trivial query now (reconnecting if needed). */
int mx_store_ping(void);

/* Creates an account with a fresh random number (a collision is retried), balance 0 and the given
 * overdraft limit (0..MX_MONEY_MAX_CENTS). */
mx_status mx_store_create_account(int64_t overdraft_limit_cents, struct mx_account *out);

/* Reads one account. MX_ACCOUNT_NOT_FOUND when there is none. */
mx_status mx_store_get_account(const char *number, struct mx_account *out);

/* Deposits or withdraws sum_cents in one atomic statement that also appends to the journal.
 * MX_OK and the new balance, MX_ACCOUNT_NOT_FOUND, MX_INSUFFICIENT_FUNDS (below minus the
 * overdraft limit), MX_BALANCE_LIMIT_EXCEEDED (nothing changed), MX_UNAVAILABLE or MX_INTERNAL. */
mx_status mx_store_move(const char *number, mx_move_kind kind, int64_t sum_cents,
                        int64_t *out_balance_cents);

/* A completion: called exactly once with the status of the operation it was given to; must not
 * block, for it may run on a thread that serves other requests' batches. */
typedef void (*mx_store_done)(void *arg, mx_status status);

/* mx_store_move and mx_store_get_account without waiting, for a thread that must not: 1 when the
 * operation joined the next batch -- then then(arg, status) runs once it is known, on a database
 * thread, with *out filled in on MX_OK (or at once, on the calling thread, when it is refused
 * before the database); out must stay valid until then. 0 when this server sends such operations
 * one at a time (MX_DB_WRITERS or MX_DB_READERS 0) or the calling thread has a transaction open:
 * nothing happened, and the operation needs mx_store_move or mx_store_get_account. */
int mx_store_move_then(const char *number, mx_move_kind kind, int64_t sum_cents,
                       int64_t *out_balance_cents, mx_store_done then, void *arg);
int mx_store_get_account_then(const char *number, struct mx_account *out, mx_store_done then,
                              void *arg);

/* Moves amount_cents from one account to another, all or nothing, with both journal legs. MX_OK
 * and *out, MX_ACCOUNT_NOT_FOUND (either account), MX_INSUFFICIENT_FUNDS,
 * MX_BALANCE_LIMIT_EXCEEDED (nothing changed), MX_UNAVAILABLE or MX_INTERNAL. */
mx_status mx_store_transfer(const char *from, const char *to, int64_t amount_cents,
                            struct mx_transfer *out);

/* Reads one transfer. MX_TRANSFER_NOT_FOUND when there is none. */
mx_status mx_store_get_transfer(int64_t id, struct mx_transfer *out);

/* The largest page the history hands out. */
#define MX_HISTORY_MAX_LIMIT 100

/* Up to limit (1..MX_HISTORY_MAX_LIMIT) entries of an account, newest first, only those with an
 * id below before_id (0: from the newest). out has room for limit entries; *count gets how many
 * were written and *has_more whether older entries exist. MX_ACCOUNT_NOT_FOUND when there is no
 * such account. */
mx_status mx_store_history(const char *number, int64_t before_id, unsigned limit,
                           struct mx_entry *out, unsigned *count, int *has_more);

/* ---- idempotency ----------------------------------------------------------------------------
 * A request with an Idempotency-Key runs as one transaction on the calling thread:
 * mx_store_idempotent_begin, then the store calls that make its effect, then
 * mx_store_idempotent_commit (which stores the answer with the effect) or _rollback. */

/* Keys belong to a client: the id of its API key, or "" without API keys.
 *
 * Waits (at most 5 s) for any other request holding the client's key, then looks for its stored
 * answer. MX_OK and *found = 0: the key is new and a transaction is open; the store calls this
 * thread makes until commit/rollback belong to it. MX_OK and *found = 1: nothing is open and
 * *stored holds the answer (free stored->body). MX_IDEMPOTENCY_KEY_IN_USE when the other request is
 * still running, MX_UNAVAILABLE, MX_INTERNAL: nothing is open. */
mx_status mx_store_idempotent_begin(const char *client, const char *key, const char *fingerprint,
                                    int *found, struct mx_stored_outcome *stored);

/* Stores the answer (body borrowed, NUL-terminated; location "" for none), pointing at the effect
 * the transaction made, and commits. MX_OK: stored and committed. On failure nothing was stored
 * or changed: when the connection is lost during the commit, the key is looked up again on a new
 * connection to tell which, and only if that cannot be told either is the outcome unknown
 * (MX_UNAVAILABLE), which a retry with the same key then resolves. */
mx_status mx_store_idempotent_commit(const char *client, const char *key, const char *fingerprint,
                                     unsigned http_status, const char *body, const char *location);

/* Undoes the open transaction, if any. */
void mx_store_idempotent_rollback(void);

/* Starts a thread that deletes stored answers older than ttl_seconds every interval_seconds (it
 * does nothing when interval_seconds is 0). MX_OK or MX_INTERNAL. */
mx_status mx_store_sweeper_start(unsigned ttl_seconds, unsigned interval_seconds);

/* Stops the thread, waiting for a clean-up in progress to finish. */
void mx_store_sweeper_stop(void);

/* Starts group commit: deposits and withdrawals (outside an idempotent transaction) and account
 * reads are then sent in batches, by writers and readers threads with a connection each, one
 * statement and one commit per batch. Without it every call sends its own statement. MX_OK or
 * MX_INTERNAL. */
mx_status mx_store_batcher_start(unsigned writers, unsigned readers);

/* Lets queued operations finish, then stops the batch threads. */
void mx_store_batcher_stop(void);

/* ---- the ledger's own audit (mondux check) -------------------------------------------------- */

/* How many faults of each kind mx_store_check reports one by one; beyond that it only counts. */
#define MX_CHECK_REPORT_MAX 100

struct mx_check_totals {
    int64_t accounts, entries, transfers;
    int64_t bad_balances;  /* accounts whose balance is not the sum of their journal */
    int64_t bad_transfers; /* transfers without exactly their two legs */
};

/* One fault: a balance (transfer_id 0) or a transfer. */
struct mx_check_fault {
    int64_t transfer_id;
    char account[MX_ACCT_LENGTH + 1]; /* the account of a balance; a transfer's "from" */
    char to[MX_ACCT_LENGTH + 1];      /* a transfer's "to" */
    int64_t balance_cents;            /* the balance, or a transfer's amount */
    char journal_cents[24];           /* what the account's journal sums to (decimal) */
    int64_t legs;                     /* a transfer's journal entries, matching or not */
};

/* Reads in one read-only snapshot, on a connection of its own (tried once): every account whose
 * balance is not the sum of its journal, and every transfer that has not exactly two legs, a
 * transfer_out of -amount on "from" and a transfer_in of +amount on "to". Calls report(arg, fault)
 * for the first MX_CHECK_REPORT_MAX faults of each kind (the fault is borrowed for the call) and
 * fills *totals. MX_OK, MX_UNAVAILABLE (no connection) or MX_INTERNAL (e.g. no schema yet), the
 * reason logged. Changes nothing. */
mx_status mx_store_check(struct mx_check_totals *totals,
                         void (*report)(void *arg, const struct mx_check_fault *fault), void *arg);

/* Frees what mx_store_init kept and the calling thread's connection. */
void mx_store_shutdown(void);

#endif
