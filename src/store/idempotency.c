/* The stored answers of requests that carry an Idempotency-Key, kept in the transaction of their
 * effect: either both the effect and its answer are committed, or neither is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mondux/log.h"
#include "mondux/metrics.h"
#include "store_internal.h"

/* How long a request waits for another one holding its key (a PostgreSQL lock_timeout value). */
#define WAIT_FOR_KEY "5s"

static mx_status read_outcome(const PGresult *result, const char *fingerprint,
                              struct mx_stored_outcome *stored) {
    int length = PQgetlength(result, 0, 2);
    stored->body = malloc((size_t)length + 1);
    if (stored->body == NULL)
        return MX_INTERNAL;
    memcpy(stored->body, PQgetvalue(result, 0, 2), (size_t)length + 1);
    stored->body_size = (size_t)length;
    stored->same_request = strcmp(PQgetvalue(result, 0, 0), fingerprint) == 0;
    stored->http_status = (unsigned)mx_pg_int64(result, 0, 1);
    mx_pg_text(stored->location, sizeof stored->location, result, 0, 3);
    return MX_OK;
}

mx_status mx_store_idempotent_begin(const char *client, const char *key, const char *fingerprint,
                                    int *found, struct mx_stored_outcome *stored) {
    *found = 0;
    memset(stored, 0, sizeof *stored);
    mx_status status = mx_conn_begin();
    if (status != MX_OK)
        return status;
    const char *params[3] = {client, key, WAIT_FOR_KEY};
    PGresult *result = NULL;
    status = mx_conn_exec(MX_STMT_IDEMPOTENCY_CLAIM, params, &result);
    /* lock_not_available: the request holding the key outlasted our wait. */
    if (status != MX_OK && mx_conn_lock_wait_ran_out())
        status = MX_IDEMPOTENCY_KEY_IN_USE;
    if (status == MX_OK && PQntuples(result) == 1) {
        *found = 1;
        status = read_outcome(result, fingerprint, stored);
    }
    PQclear(result);
    /* The effect waits for a row held elsewhere a bounded time: then it fails (55P03), and the
     * request is a 503 that changed nothing. */
    if (status == MX_OK && !*found) {
        PGresult *bounded = NULL;
        status = mx_conn_exec(MX_STMT_KEYED_LOCK_TIMEOUT, NULL, &bounded);
        PQclear(bounded);
    }
    /* Only a new key keeps the transaction: its request is about to make the effect. */
    if (status != MX_OK || *found)
        mx_conn_rollback();
    if (status != MX_OK) {
        free(stored->body);
        memset(stored, 0, sizeof *stored);
        *found = 0;
    }
    return status;
}

/* How long to keep asking whether a commit whose answer was lost happened: a database that is
 * restarting is usually back within it. */
#define RESOLVE_ATTEMPTS 20
#define RESOLVE_PAUSE_NS 250000000L

/* What a transaction of a keyed request changed, kept past its COMMIT: the ids of its effect as
 * the record's parameters (account, entry, transfer; NULL but one, or all NULL), and its money. */
struct our_effect {
    char id[24];
    const char *ids[3];
    int money_kind; /* an mx_metrics_money_kind, or -1 for none */
    int64_t money_cents;
};

static void note_our_effect(struct our_effect *ours) {
    const char *id = NULL;
    enum mx_effect_kind effect = mx_conn_effect(&id);
    snprintf(ours->id, sizeof ours->id, "%s", id != NULL ? id : "");
    ours->ids[0] = effect == MX_EFFECT_ACCOUNT ? ours->id : NULL;
    ours->ids[1] = effect == MX_EFFECT_ENTRY ? ours->id : NULL;
    ours->ids[2] = effect == MX_EFFECT_TRANSFER ? ours->id : NULL;
    ours->money_kind = mx_conn_money(&ours->money_cents);
}

/* A lost commit found to have happened moved its money: count it as mx_conn_commit would have,
 * unless the stored answer is not ours but that of a retry which ran once our transaction had
 * ended without committing (that retry counted its own). When the check itself fails the money
 * is not counted: a counter may miss a movement, never show one that did not happen. */
static void count_lost_commit(const char *client, const char *key, const struct our_effect *ours) {
    if (ours->money_kind < 0)
        return;
    const char *params[5] = {client, key, ours->ids[0], ours->ids[1], ours->ids[2]};
    PGresult *result = NULL;
    if (mx_conn_exec(MX_STMT_IDEMPOTENCY_EFFECT, params, &result) == MX_OK &&
        PQntuples(result) == 1)
        mx_metrics_money((mx_metrics_money_kind)ours->money_kind, ours->money_cents);
    PQclear(result);
}

/* The connection broke during COMMIT: it may or may not have happened. Claiming the key on a new
 * connection waits for the old transaction to end either way, then finds the answer if and only
 * if it was committed. While the database cannot be reached, ask again for a while; after that
 * the outcome stays unknown, and the client's retry with the same key will learn it. */
static mx_status resolve_lost_commit(const char *client, const char *key, const char *fingerprint,
                                     const struct our_effect *ours) {
    for (int attempt = 0; attempt < RESOLVE_ATTEMPTS; attempt++) {
        if (attempt > 0) {
            struct timespec pause = {0, RESOLVE_PAUSE_NS};
            nanosleep(&pause, NULL);
        }
        int found = 0;
        struct mx_stored_outcome stored;
        mx_status status = mx_store_idempotent_begin(client, key, fingerprint, &found, &stored);
        if (status == MX_UNAVAILABLE)
            continue;
        if (status != MX_OK)
            return MX_OUTCOME_UNKNOWN;
        free(stored.body);
        if (!found) {
            mx_conn_rollback(); /* it was not committed: nothing changed */
            return MX_UNAVAILABLE;
        }
        mx_log(MX_LOG_WARN, "the connection broke during a commit that did happen");
        if (!stored.same_request)
            return MX_INTERNAL;
        count_lost_commit(client, key, ours);
        return MX_OK;
    }
    return MX_OUTCOME_UNKNOWN;
}

mx_status mx_store_idempotent_commit(const char *client, const char *key, const char *fingerprint,
                                     unsigned http_status, const char *body, const char *location) {
    char status_text[16];
    snprintf(status_text, sizeof status_text, "%u", http_status);
    struct our_effect ours;
    note_our_effect(&ours);
    const char *params[9] = {client,      key,         fingerprint,
                             status_text, body,        location[0] != '\0' ? location : NULL,
                             ours.ids[0], ours.ids[1], ours.ids[2]};
    PGresult *result = NULL;
    mx_status status = mx_conn_exec(MX_STMT_IDEMPOTENCY_RECORD, params, &result);
    PQclear(result);
    if (status != MX_OK) {
        mx_conn_rollback();
        return status;
    }
    status = mx_conn_commit();
    if (status == MX_OUTCOME_UNKNOWN || status == MX_UNAVAILABLE)
        status = resolve_lost_commit(client, key, fingerprint, &ours);
    return status;
}

void mx_store_idempotent_rollback(void) {
    mx_conn_rollback();
}
