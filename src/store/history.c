/* An account's journal, newest first, a page at a time. */
#include <inttypes.h>
#include <stdio.h>

#include "store_internal.h"

mx_status mx_store_history(const char *number, int64_t before_id, unsigned limit,
                           struct mx_entry *out, unsigned *count, int *has_more) {
    *count = 0;
    *has_more = 0;
    if (limit < 1 || limit > MX_HISTORY_MAX_LIMIT)
        return MX_INTERNAL;
    char before[24], fetch[16];
    snprintf(before, sizeof before, "%" PRId64, before_id);
    /* One more than asked says whether another page exists. */
    snprintf(fetch, sizeof fetch, "%u", limit + 1);
    const char *params[3] = {number, before_id > 0 ? before : NULL, fetch};
    PGresult *result = NULL;
    mx_status status = mx_conn_exec(MX_STMT_HISTORY, params, &result);
    if (status != MX_OK)
        return status;
    int rows = PQntuples(result);
    if (rows == 0)
        status = MX_ACCOUNT_NOT_FOUND;
    for (int row = 0; row < rows && !PQgetisnull(result, row, 0); row++) {
        if ((unsigned)row == limit) {
            *has_more = 1;
            break;
        }
        struct mx_entry *entry = &out[row];
        entry->id = mx_pg_int64(result, row, 0);
        mx_pg_text(entry->kind, sizeof entry->kind, result, row, 1);
        entry->amount_cents = mx_pg_int64(result, row, 2);
        entry->balance_after_cents = mx_pg_int64(result, row, 3);
        mx_pg_text(entry->created_at, sizeof entry->created_at, result, row, 4);
        entry->transfer_id = mx_pg_int64(result, row, 5);
        mx_pg_text(entry->counterparty, sizeof entry->counterparty, result, row, 6);
        *count = (unsigned)row + 1;
    }
    PQclear(result);
    return status;
}
