/* Accounts, deposits and withdrawals over the prepared statements of statements.c. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mondux/log.h"
#include "mondux/metrics.h"
#include "store_internal.h"

/* Random 14-digit numbers collide about once in 10^14 / accounts draws; a few retries are plenty,
 * and running out means something else is wrong. */
#define CREATE_ATTEMPTS 8

mx_status mx_store_create_account(int64_t overdraft_limit_cents, struct mx_account *out) {
    char overdraft[24];
    snprintf(overdraft, sizeof overdraft, "%" PRId64, overdraft_limit_cents);
    for (int attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
        mx_status status = mx_acct_generate(out->number);
        if (status != MX_OK)
            return status;
        const char *params[2] = {out->number, overdraft};
        PGresult *result = NULL;
        status = mx_conn_exec(MX_STMT_CREATE_ACCOUNT, params, &result);
        if (status != MX_OK)
            return status;
        int created = PQntuples(result) == 1;
        if (created) {
            mx_conn_note_effect(MX_EFFECT_ACCOUNT, PQgetvalue(result, 0, 0), -1, 0);
            out->balance_cents = mx_pg_int64(result, 0, 1);
            out->overdraft_limit_cents = mx_pg_int64(result, 0, 2);
            mx_pg_text(out->created_at, sizeof out->created_at, result, 0, 3);
        }
        PQclear(result);
        if (created)
            return MX_OK;
    }
    mx_log(MX_LOG_ERROR, "%d account numbers in a row were taken", CREATE_ATTEMPTS);
    return MX_INTERNAL;
}

mx_status mx_store_get_account(const char *number, struct mx_account *out) {
    if (mx_batcher_reads())
        return mx_batcher_read(number, out);
    return mx_store_get_account_alone(number, out);
}

int mx_store_get_account_then(const char *number, struct mx_account *out, mx_store_done then,
                              void *arg) {
    if (!mx_batcher_reads())
        return 0;
    mx_batcher_read_then(number, out, then, arg);
    return 1;
}

mx_status mx_store_get_account_alone(const char *number, struct mx_account *out) {
    const char *params[1] = {number};
    PGresult *result = NULL;
    mx_status status = mx_conn_exec(MX_STMT_GET_ACCOUNT, params, &result);
    if (status != MX_OK)
        return status;
    if (PQntuples(result) == 1) {
        snprintf(out->number, sizeof out->number, "%s", number);
        out->balance_cents = mx_pg_int64(result, 0, 0);
        out->overdraft_limit_cents = mx_pg_int64(result, 0, 1);
        mx_pg_text(out->created_at, sizeof out->created_at, result, 0, 2);
    } else {
        status = MX_ACCOUNT_NOT_FOUND;
    }
    PQclear(result);
    return status;
}

mx_status mx_store_move(const char *number, mx_move_kind kind, int64_t sum_cents,
                        int64_t *out_balance_cents) {
    if (mx_batcher_moves())
        return mx_batcher_move(number, mx_money_delta(kind, sum_cents), out_balance_cents);
    return mx_store_move_alone(number, kind, sum_cents, out_balance_cents);
}

int mx_store_move_then(const char *number, mx_move_kind kind, int64_t sum_cents,
                       int64_t *out_balance_cents, mx_store_done then, void *arg) {
    if (!mx_batcher_moves())
        return 0;
    mx_batcher_move_then(number, mx_money_delta(kind, sum_cents), out_balance_cents, then, arg);
    return 1;
}

mx_status mx_store_move_alone(const char *number, mx_move_kind kind, int64_t sum_cents,
                              int64_t *out_balance_cents) {
    char delta[24];
    snprintf(delta, sizeof delta, "%" PRId64, mx_money_delta(kind, sum_cents));
    const char *params[2] = {number, delta};
    PGresult *result = NULL;
    mx_status status = mx_conn_exec(MX_STMT_MOVE, params, &result);
    /* A keyed request's transaction bounds its lock waits (idempotency.c): nothing changed. */
    if (status != MX_OK && mx_conn_lock_wait_ran_out())
        return MX_UNAVAILABLE;
    if (status != MX_OK)
        return status;
    if (PQntuples(result) != 1) {
        status = MX_ACCOUNT_NOT_FOUND;
    } else if (strcmp(PQgetvalue(result, 0, 0), "t") != 0) {
        status = mx_money_refusal(kind);
    } else {
        *out_balance_cents = mx_pg_int64(result, 0, 1);
        mx_conn_note_effect(MX_EFFECT_ENTRY, PQgetvalue(result, 0, 2),
                            kind == MX_MOVE_DEPOSIT ? MX_METRICS_DEPOSIT : MX_METRICS_WITHDRAWAL,
                            sum_cents);
    }
    PQclear(result);
    return status;
}

int mx_store_ping(void) {
    PGresult *result = NULL;
    mx_status status = mx_conn_exec(MX_STMT_PING, NULL, &result);
    PQclear(result);
    return status == MX_OK;
}

void mx_store_shutdown(void) {
    mx_conn_close_thread();
    mx_pool_close();
    mx_conn_forget_params();
}
