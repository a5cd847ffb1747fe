/* The operations of a load test: deposits, withdrawals and transfers, each sending a sum that no
 * other operation of the test sends (so that each journal entry names the one operation that made
 * it), perhaps with an Idempotency-Key, and what its client was told. Thread-safe like
 * ft_http_on: each client thread has its own curl handle, its own operations and its own
 * failures. */
#ifndef MX_FT_LOAD_H
#define MX_FT_LOAD_H

#include "harness.h"

enum ft_op_kind { FT_OP_DEPOSIT, FT_OP_WITHDRAW, FT_OP_TRANSFER };

struct ft_op {
    enum ft_op_kind kind;
    int64_t sum;     /* unique in the test: names the op's journal entries */
    int account;     /* the account moved, or a transfer's "from" */
    int to;          /* a transfer's "to" */
    char key[48];    /* Idempotency-Key, "" for none */
    long first;      /* the status of the first answer (0: no answer, a transport error) */
    long final;      /* the status of the definitive answer, 0 if none */
    int replayed;    /* the definitive answer carried Idempotent-Replayed: true */
    int attempts;    /* requests sent for it */
    int seen;        /* journal entries (or transfers) found for it */
    int unavailable; /* answers 503 unavailable: nothing was changed */
    int unknown;     /* answers 503 outcome_unknown: the one that may have committed */
    int in_use;      /* answers 409 idempotency_key_in_use */
    int transport;   /* requests that got no HTTP answer at all */
    int after_kill;  /* was retried after a transport error (the server was gone) */
};

/* A client thread's operations; grows as it goes. */
struct ft_op_list {
    struct ft_op *ops;
    int count;
    int cap;
};

/* A new operation at the end of list, zeroed; NULL when out of memory. Free list->ops. */
struct ft_op *ft_op_add(struct ft_op_list *list);

/* Sends op to base_url (accounts[op->account] and so on), with its key if it has one, and counts
 * the attempt. NULL only when out of memory. */
struct ft_response *ft_op_send(CURL *curl, const char *base_url, char (*accounts)[FT_ACCOUNT_SIZE],
                               struct ft_op *op);

/* The answer is a success of op: 200 with the account's JSON (201 with the transfer's). */
int ft_op_succeeded(const struct ft_response *response, const struct ft_op *op,
                    char (*accounts)[FT_ACCOUNT_SIZE]);

/* The first few unexpected answers of a client, for the failure message. */
struct ft_failures {
    int count;
    char text[1200];
};

/* Counts one, and keeps its description (op, why, the answer; response may be NULL) if it is
 * among the first three. */
void ft_note_failure(struct ft_failures *failures, const struct ft_op *op,
                     const struct ft_response *response, const char *why);

#endif
