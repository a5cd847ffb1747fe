/* The repository's plain C values, where the database is, and what runs before the event loop
 * (the schema) or instead of it (the commands). The requests' own work goes through
 * mondux/db.h. Implemented over libpq in src/store; no other layer sees the database. */
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
};

/* Ids of entries and transfers reach clients as JSON numbers, so the same bound as money holds. */
#define MX_ID_MAX MX_MONEY_MAX_CENTS

#define MX_TIMESTAMP_SIZE 32 /* RFC 3339, UTC, e.g. "2026-11-25T19:46:33Z", and its NUL */
#define MX_CURRENCY_SIZE  4  /* an ISO 4217 code, e.g. "EUR", and its NUL */
#define MX_REFERENCE_MAX  64 /* a movement's reference: 1 to 64 printable ASCII characters */

/* A statement's period of one account, all read in one snapshot. */
struct mx_period {
    int64_t opening_cents; /* the balance before the period's first entry (0 before any) */
    int64_t closing_cents; /* after its last; = opening + credits - debits */
    int64_t credits_cents; /* the sum of the entries into the account */
    int64_t debits_cents;  /* the sum of those out of it, as a positive number */
    int64_t entry_count;
    int64_t first_id, last_id; /* its entries lie between these ids (0 when it has none) */
    int exponent;              /* of its currency: 2 when a major unit is 100 minor ones */
};

struct mx_account {
    char number[MX_ACCT_LENGTH + 1];
    int64_t balance_cents; /* may be negative, down to -overdraft_limit_cents */
    int64_t overdraft_limit_cents;
    char created_at[MX_TIMESTAMP_SIZE];
    char status[8]; /* "active", "frozen" or "closed"; "" where the answer does not show it */
    /* The balance minus the pending holds that have not expired. */
    int64_t available_cents;
    char currency[MX_CURRENCY_SIZE];
};

/* A sum held on an account until it is captured, voided or expires. */
struct mx_hold {
    int64_t id;
    char account[MX_ACCT_LENGTH + 1];
    int64_t sum_cents;      /* held */
    int64_t captured_cents; /* what the capture took; 0 unless captured */
    char status[12];        /* "pending", "captured", "voided" or "expired" */
    char expires_at[MX_TIMESTAMP_SIZE];
    char created_at[MX_TIMESTAMP_SIZE];
    char currency[MX_CURRENCY_SIZE];      /* its account's */
    char reference[MX_REFERENCE_MAX + 1]; /* the hold request's; "" when none */
    char *metadata;                       /* its JSON object, malloc'd; NULL when none */
};

struct mx_transfer {
    int64_t id;
    char from[MX_ACCT_LENGTH + 1];
    char to[MX_ACCT_LENGTH + 1];
    int64_t amount_cents;
    int64_t from_balance_cents; /* each account's balance right after the transfer */
    int64_t to_balance_cents;
    char created_at[MX_TIMESTAMP_SIZE];
    char currency[MX_CURRENCY_SIZE];      /* both accounts' */
    char reference[MX_REFERENCE_MAX + 1]; /* "" when it has none */
    char *metadata;                       /* its JSON object, malloc'd; NULL when none */
};

/* One journal entry, as the history shows it; or one change-feed event (position > 0), which is
 * a journal entry (id > 0) or a hold made or voided, or an account opened (id 0). */
struct mx_entry {
    int64_t position;                 /* an event's place in the feed; 0 for a history entry */
    char account[MX_ACCT_LENGTH + 1]; /* an event's account */
    int64_t hold_amount_cents;        /* an event's hold's sum, for hold, void and capture */
    int64_t id;
    char kind[16];        /* "deposit", "withdrawal", "transfer_in", "transfer_out", "capture"; or
                             "freeze", "unfreeze", "close" (amount 0: the account's status changed);
                             an event's also "open", "hold", "void" */
    int64_t amount_cents; /* signed: + into the account, - out of it */
    int64_t balance_after_cents;
    char created_at[MX_TIMESTAMP_SIZE];
    int64_t transfer_id;                   /* 0 unless a transfer leg */
    int64_t hold_id;                       /* 0 unless a capture */
    char currency[MX_CURRENCY_SIZE];       /* its account's */
    char counterparty[MX_ACCT_LENGTH + 1]; /* the other account of a transfer, else "" */
    char reference[MX_REFERENCE_MAX + 1];  /* the request's that made it; "" when none */
    char *metadata;                        /* its JSON object, malloc'd; NULL when none */
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

/* The largest page the history (and the list of holds) hands out. */
#define MX_HISTORY_MAX_LIMIT 100
/* The change feed's pages: 1 to this many events, 100 when not said. */
#define MX_EVENTS_MAX_LIMIT     1000
#define MX_EVENTS_DEFAULT_LIMIT 100

/* A hold's expires_in: 1 s to 30 days, a week when not given. */
#define MX_HOLD_SECONDS_MIN     1
#define MX_HOLD_SECONDS_MAX     2592000
#define MX_HOLD_SECONDS_DEFAULT 604800

/* After the migrations: MX_OK when the database knows the currency code (the currencies table),
 * MX_INVALID_REQUEST when it does not, or the status of a failure to ask. */
mx_status mx_store_knows_currency(const char *code);

/* Frees what mx_store_init kept. */
void mx_store_shutdown(void);

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

#endif
