/* Every SQL statement the running service sends, in one place. All take parameters; none is
 * assembled from strings. The schema itself is in db/migrations/. */
#include "store_internal.h"

#define OID_INT8 20
#define OID_TEXT 25

#define UTC_TIMESTAMP(column)                                                                      \
    "to_char(" column " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const Oid text_only[] = {OID_TEXT};
static const Oid move_types[] = {OID_TEXT, OID_INT8, OID_INT8};

static const struct mx_statement statements[MX_STMT_COUNT] = {
    /* A colliding random number yields no row, and the caller draws another. */
    [MX_STMT_CREATE_ACCOUNT] = {"create_account",
                                "INSERT INTO accounts (account_number) VALUES ($1) "
                                "ON CONFLICT (account_number) DO NOTHING "
                                "RETURNING balance_cents, " UTC_TIMESTAMP("created_at"),
                                1, text_only, 0},
    [MX_STMT_GET_ACCOUNT] = {"get_account",
                             "SELECT balance_cents, " UTC_TIMESTAMP(
                                 "created_at") " "
                                               "FROM accounts WHERE account_number = $1",
                             1, text_only, 1},
    /* $1 account, $2 signed change, $3 the balance ceiling. One statement: the guarded UPDATE
     * (the row lock serialises concurrent movements, and the guard is re-checked on the newest
     * row), the journal entry, and, when nothing moved, whether the account exists at all. */
    [MX_STMT_MOVE] = {"move",
                      "WITH moved AS ("
                      " UPDATE accounts SET balance_cents = balance_cents + $2"
                      " WHERE account_number = $1"
                      " AND balance_cents + $2 BETWEEN 0 AND $3"
                      " RETURNING id, balance_cents),"
                      " journal AS ("
                      " INSERT INTO entries (account_id, kind, amount_cents, balance_after_cents)"
                      " SELECT id, CASE WHEN $2 > 0 THEN 'deposit' ELSE 'withdrawal' END, $2,"
                      " balance_cents FROM moved)"
                      " SELECT true, balance_cents FROM moved"
                      " UNION ALL"
                      " SELECT false, balance_cents FROM accounts"
                      " WHERE account_number = $1 AND NOT EXISTS (SELECT 1 FROM moved)",
                      3, move_types, 0},
    [MX_STMT_PING] = {"ping", "SELECT 1", 0, NULL, 1},
};

const struct mx_statement *mx_statement(enum mx_stmt stmt) {
    return &statements[stmt];
}

const char mx_sql_migration_quiet[] = "SET LOCAL client_min_messages = warning";
/* Any constant works as long as every instance uses the same one. */
const char mx_sql_migration_lock[] = "SELECT pg_advisory_xact_lock(7316502219)";
const char mx_sql_migration_table[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())";
const char mx_sql_migration_applied[] = "SELECT 1 FROM schema_migrations WHERE version = $1";
const char mx_sql_migration_record[] = "INSERT INTO schema_migrations (version) VALUES ($1)";
