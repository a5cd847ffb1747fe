/* The database as the event loop sees it: a few non-blocking PostgreSQL connections in pipeline
 * mode, registered in the loop, and one queue of operations. A caller fills in an operation and
 * submits it with a completion; before the loop next waits, every queued operation goes out
 * together -- all moves as one apply_batch call (one transaction, one commit), all reads as one
 * set-based statement of their kind -- each batch on a connection that has nothing in flight, so
 * that while one batch commits the next is already on its way. Completions run on the loop's
 * thread, once each. Implemented in src/store/db.c (connections) and db_batches.c (the SQL of
 * each kind and the reading of its rows). */
#ifndef MONDUX_DB_H
#define MONDUX_DB_H

#include <stdint.h>

#include "mondux/loop.h"
#include "mondux/status.h"
#include "mondux/store.h"

enum mx_db_kind {
    /* Moves (and the status changes below): one apply_batch call for all of them. */
    MX_DB_DEPOSIT,
    MX_DB_WITHDRAW,
    MX_DB_TRANSFER,
    MX_DB_CREATE,
    /* The account's status: freeze, unfreeze, close. */
    MX_DB_FREEZE,
    MX_DB_UNFREEZE,
    MX_DB_CLOSE,
    /* The account's overdraft limit becomes amount. */
    MX_DB_SET_OVERDRAFT,
    /* Holds: a new one (account, amount, seconds), its capture (id, amount; 0: all of it) and
     * its void (id). */
    MX_DB_HOLD,
    MX_DB_CAPTURE,
    MX_DB_VOID,
    /* Reads: one statement per kind for all of them. */
    MX_DB_READ_ACCOUNT,
    MX_DB_READ_TRANSFER,
    MX_DB_HISTORY,
    MX_DB_READ_HOLD,  /* id */
    MX_DB_LIST_HOLDS, /* account, before_id, limit, status_filter */
    MX_DB_EVENTS,     /* the feed after position after, limit events; of account ("": all) */
    MX_DB_BALANCE_AT, /* account's balance as of instant at */
    /* A statement of account from instant at (inclusive) to until (exclusive): its sums
     * (period_out), then its entries by pages: after id after, up to id period_out.last_id, limit
     * at a time, oldest first. */
    MX_DB_STATEMENT,
    MX_DB_STATEMENT_PAGE,
    MX_DB_FEED_HEAD, /* the feed's last position given so far, into after */
    MX_DB_PING,
    /* The expired Idempotency-Keys: amount their age in seconds, limit rows at most. */
    MX_DB_SWEEP,
    /* A numbering round of the change feed: at most limit events get positions; entry_count says
     * how many did. */
    MX_DB_SEQUENCE,
    MX_DB_KIND_COUNT
};

struct mx_db_op;
typedef void mx_db_done(struct mx_db_op *op);

/* One operation. The caller owns it (usually inside its request) and keeps it, unchanged, from
 * mx_db_submit until done is called. */
struct mx_db_op {
    enum mx_db_kind kind;
    /* In. account: the account of a move, a read or a history page, a transfer's from; other: a
     * transfer's to. amount: a move's sum (>= 1), a create's overdraft limit, a hold's sum, a
     * capture's (0: the whole sum held). id: the transfer or hold a read asks for, the hold a
     * capture or void is about. before_id (0: from the newest) and limit: a history page or a
     * page of holds; status_filter: the holds of that status only ("" for all). seconds: how
     * long a new hold lasts. */
    char account[MX_ACCT_LENGTH + 1];
    char other[MX_ACCT_LENGTH + 1];
    int64_t amount;
    int64_t id;
    int64_t before_id;
    unsigned limit;
    unsigned seconds;
    char status_filter[12];
    int64_t after;                   /* the feed's events after this position */
    char at[MX_TIMESTAMP_SIZE];      /* a balance's instant, RFC 3339 in UTC (mondux/instant.h) */
    char until[MX_TIMESTAMP_SIZE];   /* a statement's end, the same */
    char currency[MX_CURRENCY_SIZE]; /* a new account's */
    /* A move's, hold's or capture's reference ("" for none) and metadata (a JSON object's text,
     * borrowed until done; NULL for none). */
    char reference[MX_REFERENCE_MAX + 1];
    const char *metadata;
    /* An Idempotency-Key (NULL: none), of client (the API key's id, "" without keys), for the
     * request fingerprint; borrowed until done. */
    const char *client, *key, *fingerprint;

    /* Out, when done is called. status: MX_OK or the operation's refusal, or MX_UNAVAILABLE
     * (nothing happened: the database is down, or an account was held by another session past
     * the wait), MX_OUTCOME_UNKNOWN (a move sent on a connection that broke before its answer),
     * MX_IDEMPOTENCY_KEY_REUSED / _IN_USE, MX_INTERNAL. replayed: the stored outcome of an
     * earlier request with the key. */
    mx_status status;
    int replayed;
    struct mx_account account_out;   /* a move's account and balance after; a create's or read's */
    struct mx_transfer transfer_out; /* a transfer's, or a read one */
    struct mx_hold hold_out;         /* a hold made, captured, voided or read */
    struct mx_period period_out;     /* a statement's sums; its pages read last_id from it */
    struct mx_entry *entries;        /* a history page: new, newest first (mx_db_op_release); a
                                        feed page, oldest first */
    struct mx_hold *holds;           /* a page of holds: the same */
    unsigned entry_count;            /* a page's entries or holds; a sweep's keys deleted */
    int has_more;                    /* older entries (holds) than the page exist */
    int existed;                     /* a balance at: the account had been opened by then */

    mx_db_done *done;
    void *arg; /* the caller's */

    /* The store's own, while it has the operation. */
    struct mx_db_op *next;
    uint64_t deadline_ns; /* after this, waiting for a connection is 503 unavailable */
    unsigned attempts;
    int64_t attempt_token; /* stored with a keyed outcome: a resend knows its own (db.c) */
    int uncertain;         /* sent on a connection that broke before its answer came */
    int resend;            /* its answer says: send it again */
};

struct mx_db;

/* Opens connections (count of them, at least 1) in the background, reconnecting after a failure;
 * the connection settings are mx_store_init's. NULL when out of memory. */
struct mx_db *mx_db_new(struct mx_loop *loop, unsigned connections);

/* Frees what op's answer holds (a page's entries or holds, metadata); op may be submitted again
 * afterwards, or dropped. */
void mx_db_op_release(struct mx_db_op *op);

/* Queues op for the next batch of its kind. op->done is called exactly once, on the loop's thread
 * -- never from inside this call. */
void mx_db_submit(struct mx_db *db, struct mx_db_op *op);

/* Operations queued or in flight, whose completions are still to come. */
unsigned mx_db_pending(const struct mx_db *db);

/* Deletes the stored answers older than ttl_seconds every interval_seconds (none when 0), in
 * short batches, as operations of the loop. */
void mx_db_sweep_keys(struct mx_db *db, unsigned ttl_seconds, unsigned interval_seconds);

/* Gives the change feed's new events their positions: a numbering round shortly after every batch
 * of moves, and one every second besides (for events another server wrote and could not number). */
void mx_db_sequence_events(struct mx_db *db);

/* Listens for the change feed's news on a connection of its own (LISTEN; sequence_events
 * notifies when it has given positions): news(arg) is called on the loop's thread after each
 * notification, and after the listening connection came back from a failure (a notification may
 * have been missed meanwhile). One listener per db; a second call replaces the callback. */
void mx_db_listen(struct mx_db *db, void (*news)(void *arg), void *arg);

/* The loop db runs on. */
struct mx_loop *mx_db_loop(const struct mx_db *db);

/* Closes every connection. Call when nothing is pending, or the pending completions never come. */
void mx_db_free(struct mx_db *db);

#endif
