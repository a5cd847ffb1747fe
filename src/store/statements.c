/* Every SQL statement the running service sends, in one place. All take parameters; none is
 * assembled from strings. The schema is in db/migrations/, the stored functions in
 * db/functions.sql. */
#include "store_internal.h"

#define OID_INT8 20
#define OID_TEXT 25

#define UTC_TIMESTAMP(column)                                                                      \
    "to_char(" column " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define OID_INT4 23

static const Oid text_only[] = {OID_TEXT};
static const Oid int8_only[] = {OID_INT8};
static const Oid create_types[] = {OID_TEXT, OID_INT8};
static const Oid move_types[] = {OID_TEXT, OID_INT8};
static const Oid transfer_types[] = {OID_TEXT, OID_TEXT, OID_INT8};
static const Oid history_types[] = {OID_TEXT, OID_INT8, OID_INT8};
static const Oid claim_types[] = {OID_TEXT, OID_TEXT, OID_TEXT};
static const Oid record_types[] = {OID_TEXT, OID_TEXT, OID_TEXT, OID_INT4, OID_TEXT,
                                   OID_TEXT, OID_INT8, OID_INT8, OID_INT8};
static const Oid sweep_types[] = {OID_INT8, OID_INT8};
static const Oid effect_types[] = {OID_TEXT, OID_TEXT, OID_INT8, OID_INT8, OID_INT8};
#define OID_TEXT_ARRAY 1009
#define OID_INT8_ARRAY 1016
static const Oid move_batch_types[] = {OID_TEXT_ARRAY, OID_INT8_ARRAY};
static const Oid read_batch_types[] = {OID_TEXT_ARRAY};
#define OID_INT4_ARRAY 1007
#define OID_BOOL       16
static const Oid apply_batch_types[] = {OID_TEXT_ARRAY, OID_TEXT_ARRAY, OID_TEXT_ARRAY,
                                        OID_INT8_ARRAY, OID_TEXT_ARRAY, OID_TEXT_ARRAY,
                                        OID_TEXT_ARRAY, OID_INT8_ARRAY, OID_BOOL};
static const Oid int8_array_only[] = {OID_INT8_ARRAY};
static const Oid history_batch_types[] = {OID_TEXT_ARRAY, OID_INT8_ARRAY, OID_INT4_ARRAY};

static const struct mx_statement statements[MX_STMT_COUNT] = {
    /* $1 number, $2 overdraft limit. A colliding random number yields no row, and the caller
     * draws another. */
    [MX_STMT_CREATE_ACCOUNT] =
        {"create_account",
         "INSERT INTO accounts (account_number, overdraft_limit_cents)"
         " VALUES ($1, $2)"
         " ON CONFLICT (account_number) DO NOTHING"
         " RETURNING id, balance_cents, overdraft_limit_cents, " UTC_TIMESTAMP("created_at"),
         2, create_types, 0},
    [MX_STMT_GET_ACCOUNT] = {"get_account",
                             "SELECT balance_cents, overdraft_limit_cents, " UTC_TIMESTAMP(
                                 "created_at") " FROM accounts WHERE account_number = $1",
                             1, text_only, 1},
    /* $1 account, $2 signed change. One statement: the guarded UPDATE
     * (the row lock serialises concurrent movements, and the guard is re-checked on the newest
     * row), the journal entry, and, when nothing moved, whether the account exists at all. */
    [MX_STMT_MOVE] = {"move",
                      "WITH moved AS ("
                      " UPDATE accounts SET balance_cents = balance_cents + $2"
                      " WHERE account_number = $1"
                      " AND balance_allowed(balance_cents + $2, overdraft_limit_cents)"
                      " RETURNING id, balance_cents),"
                      " journal AS ("
                      " INSERT INTO entries (account_id, kind, amount_cents, balance_after_cents)"
                      " SELECT id, CASE WHEN $2 > 0 THEN 'deposit' ELSE 'withdrawal' END, $2,"
                      " balance_cents FROM moved RETURNING id)"
                      " SELECT true, balance_cents, (SELECT id FROM journal) FROM moved"
                      " UNION ALL"
                      " SELECT false, balance_cents, NULL FROM accounts"
                      " WHERE account_number = $1 AND NOT EXISTS (SELECT 1 FROM moved)",
                      2, move_types, 0},
    /* $1 from, $2 to, $3 amount; the rules are in transfer_funds (db/functions.sql). */
    [MX_STMT_TRANSFER] =
        {"transfer",
         "SELECT o_outcome, o_transfer_id, o_from_balance, o_to_balance, " UTC_TIMESTAMP(
             "o_created_at") " FROM transfer_funds($1, $2, $3)",
         3, transfer_types, 0},
    [MX_STMT_GET_TRANSFER] =
        {"get_transfer",
         "SELECT f.account_number, t.account_number, tr.amount_cents,"
         " out_leg.balance_after_cents, in_leg.balance_after_cents, " UTC_TIMESTAMP(
             "tr.created_at") " FROM transfers tr"
                              " JOIN accounts f ON f.id = tr.from_account_id"
                              " JOIN accounts t ON t.id = tr.to_account_id"
                              " JOIN entries out_leg ON out_leg.transfer_id = tr.id"
                              " AND out_leg.kind = 'transfer_out'"
                              " JOIN entries in_leg ON in_leg.transfer_id = tr.id"
                              " AND in_leg.kind = 'transfer_in'"
                              " WHERE tr.id = $1",
         1, int8_only, 1},
    /* $1 account, $2 only entries older than this id (NULL: from the newest), $3 how many.
     * Keyset pagination on (account_id, id): no OFFSET, and a page boundary stays put while new
     * entries arrive. An account with no entries (on this page) gives one row of NULLs, an
     * unknown account no row at all. */
    [MX_STMT_HISTORY] =
        {"history",
         "WITH account AS (SELECT id FROM accounts WHERE account_number = $1)"
         " SELECT e.id, e.kind, e.amount_cents, e.balance_after_cents, " UTC_TIMESTAMP(
             "e.created_at") ", e.transfer_id, e.counterparty"
                             " FROM account LEFT JOIN LATERAL ("
                             " SELECT e.*, other.account_number AS counterparty FROM entries e"
                             " LEFT JOIN transfers t ON t.id = e.transfer_id"
                             " LEFT JOIN accounts other ON other.id = CASE e.kind"
                             " WHEN 'transfer_out' THEN t.to_account_id"
                             " WHEN 'transfer_in' THEN t.from_account_id END"
                             " WHERE e.account_id = account.id"
                             " AND e.id < COALESCE($2, 9223372036854775807)"
                             " ORDER BY e.id DESC LIMIT $3) e ON true"
                             " ORDER BY e.id DESC",
         3, history_types, 1},
    /* Nothing has happened yet when BEGIN fails, so it may be sent again. READ COMMITTED whatever
     * the database's default: idempotency_claim relies on each statement's fresh snapshot. */
    [MX_STMT_BEGIN] = {"begin", "BEGIN ISOLATION LEVEL READ COMMITTED", 0, NULL, 1},
    [MX_STMT_COMMIT] = {"commit", "COMMIT", 0, NULL, 0},
    [MX_STMT_ROLLBACK] = {"rollback", "ROLLBACK", 0, NULL, 0},
    /* $1 client, $2 key, $3 how long to wait for a request holding it (a lock_timeout value). */
    [MX_STMT_IDEMPOTENCY_CLAIM] = {"idempotency_claim",
                                   "SELECT fingerprint, http_status, body, location"
                                   " FROM idempotency_claim($1, $2, $3)",
                                   3, claim_types, 0},
    [MX_STMT_IDEMPOTENCY_RECORD] = {"idempotency_record",
                                    "INSERT INTO idempotency_keys (client, key, fingerprint,"
                                    " http_status, body, location, account_id, entry_id,"
                                    " transfer_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                                    9, record_types, 0},
    /* $1 age in seconds, $2 at most this many rows: short transactions, oldest first. Each
     * DELETE takes exactly the rows it selected, by their tuple ids: a key belongs to its client,
     * so another client's key of the same name is another row and stays, however it ages. Rows
     * that another instance's sweep has taken are left to it. (By tuple id the DELETE is a TID
     * scan; a join on the primary key was planned, generically, as a scan of the whole table.) */
    [MX_STMT_IDEMPOTENCY_SWEEP] = {"idempotency_sweep",
                                   "DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY("
                                   " SELECT ctid FROM idempotency_keys"
                                   " WHERE created_at < now() - $1 * interval '1 second'"
                                   " ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED))"
                                   " AND created_at < now() - $1 * interval '1 second'",
                                   2, sweep_types, 0},
    /* $1 client, $2 key, $3 account, $4 entry, $5 transfer (NULL but one, or all NULL): a row
     * when the key's stored answer points at exactly that effect. */
    [MX_STMT_IDEMPOTENCY_EFFECT] = {"idempotency_effect",
                                    "SELECT 1 FROM idempotency_keys WHERE client = $1 AND key = $2"
                                    " AND account_id IS NOT DISTINCT FROM $3"
                                    " AND entry_id IS NOT DISTINCT FROM $4"
                                    " AND transfer_id IS NOT DISTINCT FROM $5",
                                    5, effect_types, 1},
    /* Many requests' deposits and withdrawals at once (batcher.c): $1 accounts, $2 signed
     * changes; the rules, and the bound on its lock waits, are in move_batch (db/functions.sql). */
    [MX_STMT_MOVE_BATCH] = {"move_batch",
                            "SELECT o_ord, o_found, o_moved, o_balance, o_entry_id"
                            " FROM move_batch($1, $2)",
                            2, move_batch_types, 0},
    /* Many requests' account reads at once: $1 account numbers; a row per number, NULLs for an
     * unknown one. */
    [MX_STMT_READ_BATCH] =
        {"read_batch",
         "SELECT u.ord, a.balance_cents, a.overdraft_limit_cents, " UTC_TIMESTAMP(
             "a.created_at") " FROM unnest($1) WITH ORDINALITY AS u(number, ord)"
                             " LEFT JOIN accounts a ON a.account_number = u.number",
         1, read_batch_types, 1},
    /* move_batch's own bound on a lock wait (db/functions.sql), for the rest of a transaction. */
    [MX_STMT_BATCH_LOCK_TIMEOUT] = {"batch_lock_timeout", "SET LOCAL lock_timeout = '5s'", 0, NULL,
                                    0},
    /* After a batch's lock wait ran out (batcher.c), in a transaction: $1 its account numbers;
     * locks those that no other session holds, in id order and without waiting, and returns
     * them. */
    [MX_STMT_LOCK_FREE_ACCOUNTS] = {"lock_free_accounts",
                                    "SELECT account_number FROM accounts"
                                    " WHERE account_number = ANY ($1)"
                                    " ORDER BY id FOR NO KEY UPDATE SKIP LOCKED",
                                    1, read_batch_types, 0},
    [MX_STMT_PING] = {"ping", "SELECT 1", 0, NULL, 1},
    /* Every move of a batch (src/store/db.c): kinds, accounts, other accounts, amounts, clients,
     * keys, fingerprints, attempt tokens, and whether to wait for no lock; the rules are in
     * apply_batch (db/functions.sql). */
    [MX_STMT_APPLY_BATCH] =
        {"apply_batch",
         "SELECT o_ord, o_outcome, o_replayed, o_own, o_number, o_balance, o_other_balance,"
         " o_overdraft, o_id, " UTC_TIMESTAMP("o_created_at") " FROM apply_batch($1, $2, $3, $4,"
                                                              " $5, $6, $7, $8, $9)",
         9, apply_batch_types, 0},
    /* Many requests' transfer reads at once: $1 ids; no row for an unknown id. */
    [MX_STMT_READ_TRANSFERS] =
        {"read_transfers",
         "SELECT u.ord, f.account_number, t.account_number, tr.amount_cents,"
         " out_leg.balance_after_cents, in_leg.balance_after_cents, " UTC_TIMESTAMP(
             "tr.created_at") " FROM unnest($1) WITH ORDINALITY AS u(id, ord)"
                              " JOIN transfers tr ON tr.id = u.id"
                              " JOIN accounts f ON f.id = tr.from_account_id"
                              " JOIN accounts t ON t.id = tr.to_account_id"
                              " JOIN entries out_leg ON out_leg.transfer_id = tr.id"
                              " AND out_leg.kind = 'transfer_out'"
                              " JOIN entries in_leg ON in_leg.transfer_id = tr.id"
                              " AND in_leg.kind = 'transfer_in'",
         1, int8_array_only, 1},
    /* Many requests' history pages at once: $1 accounts, $2 only entries older than this id
     * (NULL: from the newest), $3 how many; as MX_STMT_HISTORY, with the operation's ord first and
     * whether its account exists second. */
    [MX_STMT_HISTORY_BATCH] =
        {"history_batch",
         "SELECT u.ord, a.id IS NOT NULL, e.id, e.kind, e.amount_cents, e.balance_after_cents,"
         " " UTC_TIMESTAMP("e.created_at") ", e.transfer_id, e.counterparty"
                                           " FROM unnest($1, $2, $3) WITH ORDINALITY"
                                           " AS u(number, before, wanted, ord)"
                                           " LEFT JOIN accounts a ON a.account_number = u.number"
                                           " LEFT JOIN LATERAL ("
                                           " SELECT e.*, other.account_number AS counterparty"
                                           " FROM entries e"
                                           " LEFT JOIN transfers t ON t.id = e.transfer_id"
                                           " LEFT JOIN accounts other ON other.id = CASE e.kind"
                                           " WHEN 'transfer_out' THEN t.to_account_id"
                                           " WHEN 'transfer_in' THEN t.from_account_id END"
                                           " WHERE e.account_id = a.id"
                                           " AND e.id < COALESCE(u.before, 9223372036854775807)"
                                           " ORDER BY e.id DESC LIMIT u.wanted) e ON true"
                                           " ORDER BY u.ord, e.id DESC",
         3, history_batch_types, 1},
    /* A keyed request's bound on a lock wait, for the rest of its transaction (idempotency.c). It
     * holds its key meanwhile, so it waits longer than a retry with that key waits for the key
     * (idempotency_claim, 5 s): the retry is told 409 idempotency_key_in_use, the first is still
     * running. (Longer than a request waits for a worker, 10 s, too.) */
    [MX_STMT_KEYED_LOCK_TIMEOUT] = {"keyed_lock_timeout", "SET LOCAL lock_timeout = '12s'", 0, NULL,
                                    0},
};

/* One snapshot for all of the audit, so a movement committing meanwhile cannot look like a fault;
 * READ ONLY, so it can change nothing. $1 of the last two: how many faults to list. */
const struct mx_statement mx_check_statements[MX_CHECK_STMT_COUNT] = {
    [MX_CHECK_BEGIN] = {"check_begin", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
                        1},
    [MX_CHECK_TOTALS] = {"check_totals",
                         "SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM entries),"
                         " (SELECT count(*) FROM transfers)",
                         0, NULL, 1},
    /* Each row: account, balance, journal sum (numeric: a sum of bigints may exceed one), and how
     * many accounts are off in all. */
    [MX_CHECK_BALANCES] = {"check_balances",
                           "SELECT a.account_number, a.balance_cents, COALESCE(j.total, 0),"
                           " count(*) OVER ()"
                           " FROM accounts a LEFT JOIN ("
                           " SELECT account_id, sum(amount_cents) AS total FROM entries"
                           " GROUP BY account_id) j ON j.account_id = a.id"
                           " WHERE a.balance_cents <> COALESCE(j.total, 0)"
                           " ORDER BY a.id LIMIT $1",
                           1, int8_only, 1},
    /* Each row: transfer, from, to, amount, its legs, and how many transfers are off in all. */
    [MX_CHECK_TRANSFERS] =
        {"check_transfers",
         "SELECT t.id, f.account_number, r.account_number, t.amount_cents, count(e.id),"
         " count(*) OVER ()"
         " FROM transfers t"
         " JOIN accounts f ON f.id = t.from_account_id"
         " JOIN accounts r ON r.id = t.to_account_id"
         " LEFT JOIN entries e ON e.transfer_id = t.id"
         " GROUP BY t.id, f.account_number, r.account_number"
         " HAVING count(e.id) <> 2"
         " OR count(*) FILTER (WHERE e.kind = 'transfer_out' AND e.account_id = t.from_account_id"
         " AND e.amount_cents = -t.amount_cents) <> 1"
         " OR count(*) FILTER (WHERE e.kind = 'transfer_in' AND e.account_id = t.to_account_id"
         " AND e.amount_cents = t.amount_cents) <> 1"
         " ORDER BY t.id LIMIT $1",
         1, int8_only, 1},
};

const struct mx_statement *mx_statement(enum mx_stmt stmt) {
    return &statements[stmt];
}

/* Sent once on every new connection (three statements, so through the simple protocol; fixed
 * text). A transaction of ours holds row locks between statements: should this process freeze or
 * lose the network in between, the server ends it rather than keeping every other writer of those
 * accounts waiting. And every statement here is written for READ COMMITTED (a guarded UPDATE
 * re-checks the newest row; idempotency_claim reads what committed while it waited), whatever
 * the database's own default is. Last, every statement is a key lookup whose best plan does not
 * depend on its parameters, so it is planned once per connection instead of on each execution
 * (measured: batched balance reads at 8 connections 16.3k/s with the default, 20.6k/s with
 * plan_cache_mode = force_generic_plan). */
const char mx_sql_session_setup[] = "SET idle_in_transaction_session_timeout = '10s';"
                                    " SET default_transaction_isolation = 'read committed';"
                                    " SET plan_cache_mode = force_generic_plan";

const char mx_sql_migration_quiet[] = "SET LOCAL client_min_messages = warning";
/* Any constant works as long as every instance uses the same one. */
const char mx_sql_migration_lock[] = "SELECT pg_advisory_xact_lock(7316502219)";
const char mx_sql_migration_table[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())";
/* Applying db/functions.sql on an empty database: plpgsql bodies name tables not yet made. */
const char mx_sql_migration_no_body_checks[] = "SET LOCAL check_function_bodies = off";
/* migrate.c's adopt_pre_baseline: a row when the old files' records are there, and then one row
 * (the new record) only when all five were. */
#define PRE_BASELINE_VERSIONS                                                                      \
    "('0001_init'), ('0002_ledger'), ('0003_batches'), ('0004_set_based_batches'),"                \
    " ('0005_batch_lock_timeout')"
const char mx_sql_migration_pre_baseline_count[] =
    "SELECT 1 FROM schema_migrations WHERE version IN (VALUES " PRE_BASELINE_VERSIONS ") LIMIT 1";
const char mx_sql_migration_pre_baseline_adopt[] =
    "WITH old AS (DELETE FROM schema_migrations"
    " WHERE version IN (VALUES " PRE_BASELINE_VERSIONS ") RETURNING version)"
    " INSERT INTO schema_migrations (version)"
    " SELECT '0001_baseline' WHERE (SELECT count(*) FROM old) = 5 RETURNING version";
const char mx_sql_migration_applied[] = "SELECT 1 FROM schema_migrations WHERE version = $1";
const char mx_sql_migration_record[] = "INSERT INTO schema_migrations (version) VALUES ($1)";
