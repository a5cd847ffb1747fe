/* The ledger's own audit (store.h: mx_store_check), for `mondux check`. */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

/* Prepares and runs one audit statement: MX_OK and *out (PQclear it), or the failure, logged. */
static mx_status run(PGconn *pg, enum mx_check_stmt which, const char *param, PGresult **out) {
    const struct mx_statement *s = &mx_check_statements[which];
    *out = NULL;
    PGresult *result = PQprepare(pg, s->name, s->sql, s->param_count, s->param_types);
    mx_status status = MX_OK;
    if (PQresultStatus(result) != PGRES_COMMAND_OK)
        status = mx_conn_failure_status(pg, result, s->name);
    PQclear(result);
    if (status != MX_OK)
        return status;
    const char *params[1] = {param};
    result = PQexecPrepared(pg, s->name, s->param_count, params, NULL, NULL, 0);
    ExecStatusType rs = PQresultStatus(result);
    if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK) {
        status = mx_conn_failure_status(pg, result, s->name);
        PQclear(result);
        return status;
    }
    *out = result;
    return MX_OK;
}

/* Reports the rows of a fault query; the last column of each is the number of faults in all. */
static void report_faults(const PGresult *result, int is_transfer, int64_t *total,
                          void (*report)(void *arg, const struct mx_check_fault *fault),
                          void *arg) {
    int rows = PQntuples(result);
    *total = rows > 0 ? mx_pg_int64(result, 0, PQnfields(result) - 1) : 0;
    for (int row = 0; row < rows; row++) {
        struct mx_check_fault fault;
        memset(&fault, 0, sizeof fault);
        if (is_transfer) {
            fault.transfer_id = mx_pg_int64(result, row, 0);
            mx_pg_text(fault.account, sizeof fault.account, result, row, 1);
            mx_pg_text(fault.to, sizeof fault.to, result, row, 2);
            fault.balance_cents = mx_pg_int64(result, row, 3);
            fault.legs = mx_pg_int64(result, row, 4);
        } else {
            mx_pg_text(fault.account, sizeof fault.account, result, row, 0);
            fault.balance_cents = mx_pg_int64(result, row, 1);
            mx_pg_text(fault.journal_cents, sizeof fault.journal_cents, result, row, 2);
        }
        report(arg, &fault);
    }
}

mx_status mx_store_check(struct mx_check_totals *totals,
                         void (*report)(void *arg, const struct mx_check_fault *fault), void *arg) {
    memset(totals, 0, sizeof *totals);
    PGconn *pg = mx_conn_open();
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        (void)mx_conn_failure_status(pg, NULL, "connect");
        PQfinish(pg);
        return MX_UNAVAILABLE;
    }
    char limit[16];
    snprintf(limit, sizeof limit, "%d", MX_CHECK_REPORT_MAX);
    PGresult *result = NULL;
    mx_status status = run(pg, MX_CHECK_BEGIN, NULL, &result);
    PQclear(result);
    if (status == MX_OK)
        status = run(pg, MX_CHECK_TOTALS, NULL, &result);
    if (status == MX_OK) {
        totals->accounts = mx_pg_int64(result, 0, 0);
        totals->entries = mx_pg_int64(result, 0, 1);
        totals->transfers = mx_pg_int64(result, 0, 2);
        PQclear(result);
        status = run(pg, MX_CHECK_BALANCES, limit, &result);
    }
    if (status == MX_OK) {
        report_faults(result, 0, &totals->bad_balances, report, arg);
        PQclear(result);
        status = run(pg, MX_CHECK_TRANSFERS, limit, &result);
    }
    if (status == MX_OK) {
        report_faults(result, 1, &totals->bad_transfers, report, arg);
        PQclear(result);
    }
    PQfinish(pg); /* the read-only transaction ends with the connection */
    return status;
}
