/* What each kind of batch sends (include/mondux/db.h): the statement, its array parameters built
 * from the operations, and the reading of its rows back into them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "mondux/log.h"
#include "mondux/metrics.h"

/* A creation whose number someone has draws another this many times at most. */
#define NUMBER_DRAWS_MAX 5

enum db_batch_kind db_batch_kind_of(enum mx_db_kind kind) {
    switch (kind) {
    case MX_DB_READ_ACCOUNT:
        return DB_BATCH_ACCOUNTS;
    case MX_DB_READ_TRANSFER:
        return DB_BATCH_TRANSFERS;
    case MX_DB_HISTORY:
        return DB_BATCH_HISTORY;
    case MX_DB_READ_HOLD:
        return DB_BATCH_HOLDS;
    case MX_DB_LIST_HOLDS:
        return DB_BATCH_HOLD_PAGES;
    case MX_DB_PING:
        return DB_BATCH_PING;
    case MX_DB_SWEEP:
        return DB_BATCH_SWEEP;
    case MX_DB_EVENTS:
        return DB_BATCH_EVENTS;
    case MX_DB_BALANCE_AT:
        return DB_BATCH_BALANCES_AT;
    case MX_DB_SEQUENCE:
        return DB_BATCH_SEQUENCE;
    case MX_DB_STATEMENT:
        return DB_BATCH_STATEMENTS;
    case MX_DB_STATEMENT_PAGE:
        return DB_BATCH_STATEMENT_PAGES;
    case MX_DB_FEED_HEAD:
        return DB_BATCH_FEED_HEAD;
    default:
        return DB_BATCH_MOVES;
    }
}

enum mx_stmt db_batch_statement(enum db_batch_kind kind) {
    static const enum mx_stmt statements[DB_BATCH_KIND_COUNT] = {
        [DB_BATCH_MOVES] = MX_STMT_APPLY_BATCH,
        [DB_BATCH_ACCOUNTS] = MX_STMT_READ_BATCH,
        [DB_BATCH_TRANSFERS] = MX_STMT_READ_TRANSFERS,
        [DB_BATCH_HISTORY] = MX_STMT_HISTORY_BATCH,
        [DB_BATCH_HOLDS] = MX_STMT_READ_HOLDS,
        [DB_BATCH_HOLD_PAGES] = MX_STMT_HOLDS_PAGE,
        [DB_BATCH_PING] = MX_STMT_PING,
        [DB_BATCH_SWEEP] = MX_STMT_IDEMPOTENCY_SWEEP,
        [DB_BATCH_EVENTS] = MX_STMT_EVENTS_PAGE,
        [DB_BATCH_BALANCES_AT] = MX_STMT_BALANCE_AT,
        [DB_BATCH_SEQUENCE] = MX_STMT_SEQUENCE,
        [DB_BATCH_STATEMENTS] = MX_STMT_STATEMENT_SUMMARY,
        [DB_BATCH_STATEMENT_PAGES] = MX_STMT_STATEMENT_PAGE,
        [DB_BATCH_FEED_HEAD] = MX_STMT_FEED_HEAD,
    };
    return statements[kind];
}

/* ---- array parameters ---------------------------------------------------------------------- */

/* A PostgreSQL array literal being written: {"a","b",NULL}. */
struct literal {
    char *text;
    size_t used, size;
    int failed;
};

static void put(struct literal *l, const char *bytes, size_t n) {
    if (l->failed)
        return;
    if (l->used + n + 2 > l->size) {
        size_t size = (l->used + n + 2) * 2;
        char *text = realloc(l->text, size);
        if (text == NULL) {
            l->failed = 1;
            return;
        }
        l->text = text;
        l->size = size;
    }
    memcpy(l->text + l->used, bytes, n);
    l->used += n;
}

static void put_separator(struct literal *l) {
    put(l, l->used == 0 ? "{" : ",", 1);
}

/* A text element, quoted: inside quotes only '"' and '\' need a backslash. NULL: the element is
 * NULL. */
static void put_text(struct literal *l, const char *value) {
    put_separator(l);
    if (value == NULL) {
        put(l, "NULL", 4);
        return;
    }
    put(l, "\"", 1);
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            put(l, "\\", 1);
        put(l, p, 1);
    }
    put(l, "\"", 1);
}

static void put_int(struct literal *l, int64_t value, int is_null) {
    char digits[24];
    put_separator(l);
    int n = is_null ? snprintf(digits, sizeof digits, "NULL")
                    : snprintf(digits, sizeof digits, "%" PRId64, value);
    put(l, digits, (size_t)n);
}

/* The finished literal (taken over), or NULL when out of memory. */
static char *finish(struct literal *l) {
    if (l->used == 0)
        put(l, "{", 1);
    put(l, "}", 1);
    if (l->failed) {
        free(l->text);
        return NULL;
    }
    l->text[l->used] = '\0';
    return l->text;
}

static const char *move_kind_name(enum mx_db_kind kind) {
    switch (kind) {
    case MX_DB_DEPOSIT:
        return "deposit";
    case MX_DB_WITHDRAW:
        return "withdraw";
    case MX_DB_TRANSFER:
        return "transfer";
    case MX_DB_FREEZE:
        return "freeze";
    case MX_DB_UNFREEZE:
        return "unfreeze";
    case MX_DB_CLOSE:
        return "close";
    case MX_DB_SET_OVERDRAFT:
        return "set_overdraft";
    case MX_DB_HOLD:
        return "hold";
    case MX_DB_CAPTURE:
        return "capture";
    case MX_DB_VOID:
        return "void";
    default:
        return "create";
    }
}

int db_batch_params(const struct db_batch *batch, char *values[], int *count) {
    if (batch->kind == DB_BATCH_SWEEP) { /* one sweep goes at a time: its own two numbers */
        char text[2][24];
        snprintf(text[0], sizeof text[0], "%" PRId64, batch->first->amount);
        snprintf(text[1], sizeof text[1], "%u", batch->first->limit);
        values[0] = strdup(text[0]);
        values[1] = strdup(text[1]);
        *count = 2;
        if (values[0] == NULL || values[1] == NULL) {
            db_params_free(values, 2);
            return 0;
        }
        return 1;
    }
    if (batch->kind == DB_BATCH_SEQUENCE) { /* one round at a time: its limit */
        char text[24];
        snprintf(text, sizeof text, "%u", batch->first->limit);
        values[0] = strdup(text);
        *count = 1;
        return values[0] != NULL;
    }
    enum { COLUMNS_MAX = 12 };
    struct literal columns[COLUMNS_MAX];
    memset(columns, 0, sizeof columns);
    int n = 0;
    for (const struct mx_db_op *op = batch->first; op != NULL; op = op->next) {
        switch (batch->kind) {
        case DB_BATCH_MOVES: {
            /* A capture or a void names its hold; the database knows its account. */
            int on_hold = op->kind == MX_DB_CAPTURE || op->kind == MX_DB_VOID;
            n = 12;
            put_text(&columns[0], move_kind_name(op->kind));
            put_text(&columns[1], on_hold ? NULL : op->account);
            /* The other text of an operation: a transfer's to, a new account's currency. */
            put_text(&columns[2], op->kind == MX_DB_TRANSFER ? op->other
                                  : op->kind == MX_DB_CREATE ? op->currency
                                                             : NULL);
            put_int(&columns[3], op->amount, 0);
            put_int(&columns[4], op->id, !on_hold);
            put_int(&columns[5], op->seconds, op->kind != MX_DB_HOLD);
            put_text(&columns[6], op->reference[0] != '\0' ? op->reference : NULL);
            put_text(&columns[7], op->metadata);
            put_text(&columns[8], op->key != NULL ? op->client : NULL);
            put_text(&columns[9], op->key);
            put_text(&columns[10], op->key != NULL ? op->fingerprint : NULL);
            put_int(&columns[11], op->attempt_token, op->key == NULL);
            break;
        }
        case DB_BATCH_ACCOUNTS:
            n = 1;
            put_text(&columns[0], op->account);
            break;
        case DB_BATCH_TRANSFERS:
            n = 1;
            put_int(&columns[0], op->id, 0);
            break;
        case DB_BATCH_HISTORY:
        case DB_BATCH_HOLD_PAGES:
            n = batch->kind == DB_BATCH_HISTORY ? 3 : 4;
            put_text(&columns[0], op->account);
            put_int(&columns[1], op->before_id, op->before_id == 0);
            /* One more than the page: whether older entries exist. */
            put_int(&columns[2], (int64_t)op->limit + 1, 0);
            if (n == 4)
                put_text(&columns[3], op->status_filter[0] != '\0' ? op->status_filter : NULL);
            break;
        case DB_BATCH_HOLDS:
            n = 1;
            put_int(&columns[0], op->id, 0);
            break;
        case DB_BATCH_EVENTS:
            n = 3;
            put_text(&columns[0], op->account[0] != '\0' ? op->account : NULL);
            put_int(&columns[1], op->after, 0);
            put_int(&columns[2], op->limit, 0);
            break;
        case DB_BATCH_BALANCES_AT:
            n = 2;
            put_text(&columns[0], op->account);
            put_text(&columns[1], op->at);
            break;
        case DB_BATCH_STATEMENTS:
        case DB_BATCH_STATEMENT_PAGES:
            n = batch->kind == DB_BATCH_STATEMENTS ? 3 : 6;
            put_text(&columns[0], op->account);
            put_text(&columns[1], op->at);
            put_text(&columns[2], op->until);
            if (n == 6) {
                put_int(&columns[3], op->after, 0);
                put_int(&columns[4], op->period_out.last_id, 0);
                put_int(&columns[5], op->limit, 0);
            }
            break;
        default:
            break;
        }
    }
    int ok = 1;
    for (int i = 0; i < n; i++) {
        values[i] = finish(&columns[i]);
        ok &= values[i] != NULL;
    }
    *count = n;
    if (batch->kind == DB_BATCH_MOVES) {
        values[n] = strdup(batch->skip_locked ? "true" : "false");
        ok &= values[n] != NULL;
        *count = n + 1;
    }
    if (!ok)
        db_params_free(values, *count);
    return ok;
}

void db_params_free(char *values[], int count) {
    for (int i = 0; i < count; i++) {
        free(values[i]);
        values[i] = NULL;
    }
}

/* ---- rows ------------------------------------------------------------------------------------ */

static int is_true(const PGresult *result, int row, int column) {
    return !PQgetisnull(result, row, column) && PQgetvalue(result, row, column)[0] == 't';
}

/* The batch's operations by ord (1-based), for rows that name theirs. */
static struct mx_db_op **by_ord(const struct db_batch *batch) {
    struct mx_db_op **ops = calloc(batch->count + 1, sizeof *ops);
    if (ops == NULL)
        return NULL;
    unsigned i = 1;
    for (struct mx_db_op *op = batch->first; op != NULL; op = op->next)
        ops[i++] = op;
    return ops;
}

static struct mx_db_op *op_of_row(struct mx_db_op **ops, unsigned count, const PGresult *result,
                                  int row) {
    int64_t ord = mx_pg_int64(result, row, 0);
    return ord >= 1 && ord <= (int64_t)count ? ops[ord] : NULL;
}

/* apply_batch's words for what came of an operation, as statuses. */
static mx_status move_status(const char *outcome) {
    static const struct {
        const char *word;
        mx_status status;
    } outcomes[] = {
        {"ok", MX_OK},
        {"unchanged", MX_OK}, /* freeze or unfreeze of an account already so */
        {"insufficient_funds", MX_INSUFFICIENT_FUNDS},
        {"account_frozen", MX_ACCOUNT_FROZEN},
        {"account_closed", MX_ACCOUNT_CLOSED},
        {"account_not_empty", MX_ACCOUNT_NOT_EMPTY},
        {"balance_limit_exceeded", MX_BALANCE_LIMIT_EXCEEDED},
        {"account_not_found", MX_ACCOUNT_NOT_FOUND},
        {"key_reused", MX_IDEMPOTENCY_KEY_REUSED},
        {"key_in_use", MX_IDEMPOTENCY_KEY_IN_USE},
        {"busy", MX_UNAVAILABLE},
        {"hold_not_found", MX_HOLD_NOT_FOUND},
        {"hold_not_pending", MX_HOLD_NOT_PENDING},
        {"capture_exceeds_hold", MX_INVALID_SUM},
        {"currency_mismatch", MX_CURRENCY_MISMATCH},
        {"unknown_currency", MX_INVALID_REQUEST}, /* a new account's */
        {"duplicate_reference", MX_DUPLICATE_REFERENCE},
    };
    for (size_t i = 0; i < sizeof outcomes / sizeof outcomes[0]; i++)
        if (strcmp(outcome, outcomes[i].word) == 0)
            return outcomes[i].status;
    return MX_INTERNAL;
}

static void count_money(const struct mx_db_op *op) {
    if (op->kind == MX_DB_DEPOSIT)
        mx_metrics_money(MX_METRICS_DEPOSIT, op->amount);
    else if (op->kind == MX_DB_WITHDRAW)
        mx_metrics_money(MX_METRICS_WITHDRAWAL, op->amount);
    else if (op->kind == MX_DB_TRANSFER)
        mx_metrics_money(MX_METRICS_TRANSFER, op->amount);
    else if (op->kind == MX_DB_CAPTURE)
        mx_metrics_money(MX_METRICS_CAPTURE, op->hold_out.captured_cents);
}

static int is_hold_kind(enum mx_db_kind kind) {
    return kind == MX_DB_HOLD || kind == MX_DB_CAPTURE || kind == MX_DB_VOID;
}

/* A hold's columns, at the positions at[] names: id, account, sum, captured, status,
 * expires_at, created_at, currency, reference, metadata -- where they come in the rows of
 * apply_batch and read_holds. 0 when out of memory. */
/* A nullable text column as a new string in *out (NULL for NULL), in place of the old one (an
 * answer read again after a resend). 0 when out of memory. */
static int take_text(char **out, const PGresult *result, int row, int column) {
    free(*out);
    *out = NULL;
    if (PQgetisnull(result, row, column))
        return 1;
    *out = strdup(PQgetvalue(result, row, column));
    return *out != NULL;
}

static int read_hold_columns(struct mx_hold *h, const PGresult *result, int row, const int at[10]) {
    if (at[0] >= 0) /* else the caller knows it */
        h->id = mx_pg_int64(result, row, at[0]);
    mx_pg_text(h->account, sizeof h->account, result, row, at[1]);
    h->sum_cents = mx_pg_int64(result, row, at[2]);
    h->captured_cents = mx_pg_int64(result, row, at[3]);
    mx_pg_text(h->status, sizeof h->status, result, row, at[4]);
    mx_pg_text(h->expires_at, sizeof h->expires_at, result, row, at[5]);
    mx_pg_text(h->created_at, sizeof h->created_at, result, row, at[6]);
    mx_pg_text(h->currency, sizeof h->currency, result, row, at[7]);
    mx_pg_text(h->reference, sizeof h->reference, result, row, at[8]);
    return take_text(&h->metadata, result, row, at[9]);
}

/* o_ord, o_outcome, o_replayed, o_own, o_number, o_balance, o_other_balance, o_overdraft, o_id,
 * o_created_at, o_status, o_available, o_sum, o_captured, o_expires_at, o_currency,
 * o_reference, o_metadata: one row per operation. */
static void read_move(struct mx_db_op *op, const PGresult *result, int row) {
    const char *outcome = PQgetvalue(result, row, 1);
    if (op->kind == MX_DB_CREATE && strcmp(outcome, "number_taken") == 0) {
        if (op->attempts < NUMBER_DRAWS_MAX && mx_acct_generate(op->account) == MX_OK)
            op->resend = 1;
        else
            op->status = MX_INTERNAL;
        return;
    }
    mx_status status = move_status(outcome);
    /* The stored outcome of this very attempt, sent again after its answer was lost: it is the
     * client's first answer, and its money moved now. */
    int own = is_true(result, row, 3);
    op->replayed = is_true(result, row, 2) && !own;
    if (is_hold_kind(op->kind) && (status == MX_OK || status == MX_INVALID_SUM)) {
        /* A capture over the sum held is refused with that sum, for the sentence. */
        static const int columns[10] = {8, 4, 12, 13, 10, 14, 9, 15, 16, 17};
        if (!read_hold_columns(&op->hold_out, result, row, columns))
            status = MX_INTERNAL;
    } else if (status == MX_OK) {
        if (op->kind == MX_DB_TRANSFER) {
            struct mx_transfer *t = &op->transfer_out;
            t->id = mx_pg_int64(result, row, 8);
            snprintf(t->from, sizeof t->from, "%s", op->account);
            snprintf(t->to, sizeof t->to, "%s", op->other);
            t->amount_cents = op->amount;
            t->from_balance_cents = mx_pg_int64(result, row, 5);
            t->to_balance_cents = mx_pg_int64(result, row, 6);
            mx_pg_text(t->created_at, sizeof t->created_at, result, row, 9);
            mx_pg_text(t->currency, sizeof t->currency, result, row, 15);
            mx_pg_text(t->reference, sizeof t->reference, result, row, 16);
            if (!take_text(&t->metadata, result, row, 17))
                status = MX_INTERNAL;
        } else {
            struct mx_account *a = &op->account_out;
            mx_pg_text(a->number, sizeof a->number, result, row, 4);
            a->balance_cents = mx_pg_int64(result, row, 5);
            a->overdraft_limit_cents = mx_pg_int64(result, row, 7);
            mx_pg_text(a->created_at, sizeof a->created_at, result, row, 9);
            mx_pg_text(a->status, sizeof a->status, result, row, 10);
            a->available_cents = mx_pg_int64(result, row, 11);
            mx_pg_text(a->currency, sizeof a->currency, result, row, 15);
        }
    }
    if (status == MX_OK && !op->replayed)
        count_money(op);
    if (own)
        mx_log(MX_LOG_WARN, "the connection broke during a commit that did happen");
    op->status = status;
}

/* u.ord, balance, overdraft limit, created_at, status, available, currency; NULLs for an unknown
 * number. */
static void read_account(struct mx_db_op *op, const PGresult *result, int row) {
    if (PQgetisnull(result, row, 1)) {
        op->status = MX_ACCOUNT_NOT_FOUND;
        return;
    }
    struct mx_account *a = &op->account_out;
    snprintf(a->number, sizeof a->number, "%s", op->account);
    a->balance_cents = mx_pg_int64(result, row, 1);
    a->overdraft_limit_cents = mx_pg_int64(result, row, 2);
    mx_pg_text(a->created_at, sizeof a->created_at, result, row, 3);
    mx_pg_text(a->status, sizeof a->status, result, row, 4);
    a->available_cents = mx_pg_int64(result, row, 5);
    mx_pg_text(a->currency, sizeof a->currency, result, row, 6);
    op->status = MX_OK;
}

/* u.ord, from, to, amount, from balance after, to balance after, created_at, currency,
 * reference, metadata. */
static void read_transfer(struct mx_db_op *op, const PGresult *result, int row) {
    struct mx_transfer *t = &op->transfer_out;
    t->id = op->id;
    mx_pg_text(t->from, sizeof t->from, result, row, 1);
    mx_pg_text(t->to, sizeof t->to, result, row, 2);
    t->amount_cents = mx_pg_int64(result, row, 3);
    t->from_balance_cents = mx_pg_int64(result, row, 4);
    t->to_balance_cents = mx_pg_int64(result, row, 5);
    mx_pg_text(t->created_at, sizeof t->created_at, result, row, 6);
    mx_pg_text(t->currency, sizeof t->currency, result, row, 7);
    mx_pg_text(t->reference, sizeof t->reference, result, row, 8);
    op->status = take_text(&t->metadata, result, row, 9) ? MX_OK : MX_INTERNAL;
}

/* The next free entry of op's page, its room made on first use; NULL when out of memory. */
static struct mx_entry *next_entry(struct mx_db_op *op) {
    if (op->entries == NULL)
        op->entries = calloc(op->limit, sizeof *op->entries);
    return op->entries != NULL ? &op->entries[op->entry_count++] : NULL;
}

/* u.ord, account found, then the entry (NULLs for none): id, kind, amount, balance after,
 * created_at, transfer id, counterparty. Rows of one operation come newest first, one more than
 * its page when older entries exist. 0 when out of memory. */
static int read_history_row(struct mx_db_op *op, const PGresult *result, int row) {
    if (PQgetisnull(result, row, 2))
        return 1;
    if (op->entry_count == op->limit) {
        op->has_more = 1;
        return 1;
    }
    struct mx_entry *e = next_entry(op);
    if (e == NULL)
        return 0;
    e->id = mx_pg_int64(result, row, 2);
    mx_pg_text(e->kind, sizeof e->kind, result, row, 3);
    e->amount_cents = mx_pg_int64(result, row, 4);
    e->balance_after_cents = mx_pg_int64(result, row, 5);
    mx_pg_text(e->created_at, sizeof e->created_at, result, row, 6);
    e->transfer_id = mx_pg_int64(result, row, 7);
    mx_pg_text(e->counterparty, sizeof e->counterparty, result, row, 8);
    e->hold_id = mx_pg_int64(result, row, 9);
    mx_pg_text(e->currency, sizeof e->currency, result, row, 10);
    mx_pg_text(e->reference, sizeof e->reference, result, row, 11);
    if (!take_text(&e->metadata, result, row, 12))
        return 0;
    return 1;
}

/* u.ord, account found, then the hold (NULLs for none): id, sum, captured, status, expires_at,
 * created_at; like a history row. 0 when out of memory. */
static int read_hold_page_row(struct mx_db_op *op, const PGresult *result, int row) {
    if (PQgetisnull(result, row, 2))
        return 1;
    if (op->entry_count == op->limit) {
        op->has_more = 1;
        return 1;
    }
    if (op->holds == NULL) {
        op->holds = calloc(op->limit, sizeof *op->holds);
        if (op->holds == NULL)
            return 0;
    }
    struct mx_hold *h = &op->holds[op->entry_count++];
    h->id = mx_pg_int64(result, row, 2);
    snprintf(h->account, sizeof h->account, "%s", op->account);
    h->sum_cents = mx_pg_int64(result, row, 3);
    h->captured_cents = mx_pg_int64(result, row, 4);
    mx_pg_text(h->status, sizeof h->status, result, row, 5);
    mx_pg_text(h->expires_at, sizeof h->expires_at, result, row, 6);
    mx_pg_text(h->created_at, sizeof h->created_at, result, row, 7);
    mx_pg_text(h->currency, sizeof h->currency, result, row, 8);
    mx_pg_text(h->reference, sizeof h->reference, result, row, 9);
    return take_text(&h->metadata, result, row, 10);
}

/* u.ord, account found, then the event (NULLs for none): position, type, account, currency,
 * amount, balance after, hold sum, entry, transfer, counterparty, hold, time, reference, metadata;
 * oldest first. 0 when out of memory. */
static int read_event_row(struct mx_db_op *op, const PGresult *result, int row) {
    if (PQgetisnull(result, row, 2) || op->entry_count == op->limit)
        return 1;
    struct mx_entry *e = next_entry(op);
    if (e == NULL)
        return 0;
    e->position = mx_pg_int64(result, row, 2);
    mx_pg_text(e->kind, sizeof e->kind, result, row, 3);
    mx_pg_text(e->account, sizeof e->account, result, row, 4);
    mx_pg_text(e->currency, sizeof e->currency, result, row, 5);
    e->amount_cents = mx_pg_int64(result, row, 6);
    e->balance_after_cents = mx_pg_int64(result, row, 7);
    e->hold_amount_cents = mx_pg_int64(result, row, 8);
    e->id = mx_pg_int64(result, row, 9);
    e->transfer_id = mx_pg_int64(result, row, 10);
    mx_pg_text(e->counterparty, sizeof e->counterparty, result, row, 11);
    e->hold_id = mx_pg_int64(result, row, 12);
    mx_pg_text(e->created_at, sizeof e->created_at, result, row, 13);
    mx_pg_text(e->reference, sizeof e->reference, result, row, 14);
    return take_text(&e->metadata, result, row, 15);
}

/* u.ord, account found, opened by then, balance, currency. */
static void read_balance_at(struct mx_db_op *op, const PGresult *result, int row) {
    if (!is_true(result, row, 1)) {
        op->status = MX_ACCOUNT_NOT_FOUND;
        return;
    }
    struct mx_account *a = &op->account_out;
    snprintf(a->number, sizeof a->number, "%s", op->account);
    op->existed = is_true(result, row, 2);
    a->balance_cents = mx_pg_int64(result, row, 3);
    mx_pg_text(a->currency, sizeof a->currency, result, row, 4);
    op->status = MX_OK;
}

/* u.ord, account found, currency, opening, closing, count, credits, debits, first and last id,
 * exponent. */
static void read_statement(struct mx_db_op *op, const PGresult *result, int row) {
    if (!is_true(result, row, 1)) {
        op->status = MX_ACCOUNT_NOT_FOUND;
        return;
    }
    snprintf(op->account_out.number, sizeof op->account_out.number, "%s", op->account);
    mx_pg_text(op->account_out.currency, sizeof op->account_out.currency, result, row, 2);
    struct mx_period *p = &op->period_out;
    p->opening_cents = mx_pg_int64(result, row, 3);
    p->closing_cents = mx_pg_int64(result, row, 4);
    p->entry_count = mx_pg_int64(result, row, 5);
    p->credits_cents = mx_pg_int64(result, row, 6);
    p->debits_cents = mx_pg_int64(result, row, 7);
    p->first_id = mx_pg_int64(result, row, 8);
    p->last_id = mx_pg_int64(result, row, 9);
    p->exponent = (int)mx_pg_int64(result, row, 10);
    op->status = MX_OK;
}

/* u.ord, account, sum, captured, status, expires_at, created_at, currency, reference,
 * metadata. */
static void read_hold(struct mx_db_op *op, const PGresult *result, int row) {
    static const int columns[10] = {-1, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    op->hold_out.id = op->id;
    op->status = read_hold_columns(&op->hold_out, result, row, columns) ? MX_OK : MX_INTERNAL;
}

/* Every history (or holds) operation's page: found (an account row came) or not, unless memory
 * ran out. */
static void read_pages(struct mx_db_op **ops, unsigned count, const PGresult *result,
                       int (*read_row)(struct mx_db_op *, const PGresult *, int)) {
    for (unsigned i = 1; i <= count; i++)
        ops[i]->status = MX_ACCOUNT_NOT_FOUND;
    for (int row = 0; row < PQntuples(result); row++) {
        int64_t ord = mx_pg_int64(result, row, 0);
        if (ord < 1 || ord > (int64_t)count || !is_true(result, row, 1))
            continue;
        struct mx_db_op *op = ops[ord];
        if (op->status == MX_ACCOUNT_NOT_FOUND)
            op->status = MX_OK;
        if (op->status == MX_OK && !read_row(op, result, row))
            op->status = MX_INTERNAL;
    }
}

void db_batch_read(struct db_batch *batch, const PGresult *result) {
    /* What an operation gets when no row names it: a transfer that does not exist; for any
     * other kind, a bug. */
    mx_status no_row = batch->kind == DB_BATCH_TRANSFERS ? MX_TRANSFER_NOT_FOUND
                       : batch->kind == DB_BATCH_HOLDS   ? MX_HOLD_NOT_FOUND
                                                         : MX_INTERNAL;
    int alone = batch->kind == DB_BATCH_PING || batch->kind == DB_BATCH_SWEEP ||
                batch->kind == DB_BATCH_SEQUENCE || batch->kind == DB_BATCH_FEED_HEAD;
    if (alone)
        no_row = MX_OK;
    for (struct mx_db_op *op = batch->first; op != NULL; op = op->next) {
        op->status = no_row;
        op->resend = 0;
        if (batch->kind == DB_BATCH_SWEEP)
            op->entry_count = (unsigned)strtoul(PQcmdTuples((PGresult *)result), NULL, 10);
        if (batch->kind == DB_BATCH_SEQUENCE)
            op->entry_count = (unsigned)mx_pg_int64(result, 0, 0);
        if (batch->kind == DB_BATCH_PING && !is_true(result, 0, 0)) {
            op->status = MX_UNAVAILABLE;
            batch->read_only = 1;
        }
        if (batch->kind == DB_BATCH_FEED_HEAD)
            op->after = PQntuples(result) > 0 ? mx_pg_int64(result, 0, 0) : 0;
    }
    if (alone)
        return;
    struct mx_db_op **ops = by_ord(batch);
    if (ops == NULL) {
        for (struct mx_db_op *op = batch->first; op != NULL; op = op->next)
            op->status = MX_INTERNAL;
        return;
    }
    if (batch->kind == DB_BATCH_HISTORY || batch->kind == DB_BATCH_HOLD_PAGES ||
        batch->kind == DB_BATCH_EVENTS || batch->kind == DB_BATCH_STATEMENT_PAGES) {
        read_pages(ops, batch->count, result,
                   batch->kind == DB_BATCH_HISTORY || batch->kind == DB_BATCH_STATEMENT_PAGES
                       ? read_history_row
                   : batch->kind == DB_BATCH_EVENTS ? read_event_row
                                                    : read_hold_page_row);
        free(ops);
        return;
    }
    for (int row = 0; row < PQntuples(result); row++) {
        struct mx_db_op *op = op_of_row(ops, batch->count, result, row);
        if (op == NULL)
            continue;
        if (batch->kind == DB_BATCH_MOVES)
            read_move(op, result, row);
        else if (batch->kind == DB_BATCH_ACCOUNTS)
            read_account(op, result, row);
        else if (batch->kind == DB_BATCH_HOLDS)
            read_hold(op, result, row);
        else if (batch->kind == DB_BATCH_BALANCES_AT)
            read_balance_at(op, result, row);
        else if (batch->kind == DB_BATCH_STATEMENTS)
            read_statement(op, result, row);
        else
            read_transfer(op, result, row);
    }
    free(ops);
}
