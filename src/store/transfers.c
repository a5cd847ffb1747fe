/* Transfers between accounts; the rules and the locking order are in transfer_funds
 * (db/functions.sql). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mondux/log.h"
#include "mondux/metrics.h"
#include "store_internal.h"

/* transfer_funds reports refusals as outcomes, so that they are answers, not errors. */
static mx_status outcome_status(const char *outcome) {
    if (strcmp(outcome, "ok") == 0)
        return MX_OK;
    if (strcmp(outcome, "account_not_found") == 0)
        return MX_ACCOUNT_NOT_FOUND;
    if (strcmp(outcome, "insufficient_funds") == 0)
        return MX_INSUFFICIENT_FUNDS;
    if (strcmp(outcome, "balance_limit_exceeded") == 0)
        return MX_BALANCE_LIMIT_EXCEEDED;
    mx_log(MX_LOG_ERROR, "transfer_funds answered an unknown outcome");
    return MX_INTERNAL;
}

mx_status mx_store_transfer(const char *from, const char *to, int64_t amount_cents,
                            struct mx_transfer *out) {
    char amount[24];
    snprintf(amount, sizeof amount, "%" PRId64, amount_cents);
    const char *params[3] = {from, to, amount};
    PGresult *result = NULL;
    mx_status status = mx_conn_exec(MX_STMT_TRANSFER, params, &result);
    /* transfer_funds gave up waiting for a row held elsewhere: nothing changed, try again. */
    if (status != MX_OK && mx_conn_lock_wait_ran_out())
        return MX_UNAVAILABLE;
    if (status != MX_OK)
        return status;
    status = PQntuples(result) == 1 ? outcome_status(PQgetvalue(result, 0, 0)) : MX_INTERNAL;
    if (status == MX_OK) {
        mx_conn_note_effect(MX_EFFECT_TRANSFER, PQgetvalue(result, 0, 1), MX_METRICS_TRANSFER,
                            amount_cents);
        out->id = mx_pg_int64(result, 0, 1);
        snprintf(out->from, sizeof out->from, "%s", from);
        snprintf(out->to, sizeof out->to, "%s", to);
        out->amount_cents = amount_cents;
        out->from_balance_cents = mx_pg_int64(result, 0, 2);
        out->to_balance_cents = mx_pg_int64(result, 0, 3);
        mx_pg_text(out->created_at, sizeof out->created_at, result, 0, 4);
    }
    PQclear(result);
    return status;
}

mx_status mx_store_get_transfer(int64_t id, struct mx_transfer *out) {
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%" PRId64, id);
    const char *params[1] = {id_text};
    PGresult *result = NULL;
    mx_status status = mx_conn_exec(MX_STMT_GET_TRANSFER, params, &result);
    if (status != MX_OK)
        return status;
    if (PQntuples(result) == 1) {
        out->id = id;
        mx_pg_text(out->from, sizeof out->from, result, 0, 0);
        mx_pg_text(out->to, sizeof out->to, result, 0, 1);
        out->amount_cents = mx_pg_int64(result, 0, 2);
        out->from_balance_cents = mx_pg_int64(result, 0, 3);
        out->to_balance_cents = mx_pg_int64(result, 0, 4);
        mx_pg_text(out->created_at, sizeof out->created_at, result, 0, 5);
    } else {
        status = MX_TRANSFER_NOT_FOUND;
    }
    PQclear(result);
    return status;
}
