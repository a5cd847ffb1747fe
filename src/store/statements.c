/* Every SQL statement the running service sends, in one place. All take parameters; none is
 * assembled from strings. The schema is in db/migrations/, the stored functions in
 * db/functions.sql. */
#include "store_internal.h"

#define OID_INT8 20
#define OID_TEXT 25

#define UTC_TIMESTAMP(column)                                                                      \
    "to_char(" column " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const Oid int8_only[] = {OID_INT8};
static const Oid sweep_types[] = {OID_INT8, OID_INT8};
#define OID_TEXT_ARRAY 1009
#define OID_INT8_ARRAY 1016
static const Oid read_batch_types[] = {OID_TEXT_ARRAY};
#define OID_INT4_ARRAY  1007
#define OID_BOOL        16
#define OID_JSONB_ARRAY 3807
static const Oid apply_batch_types[] = {
    OID_TEXT_ARRAY, OID_TEXT_ARRAY, OID_TEXT_ARRAY,  OID_INT8_ARRAY, OID_INT8_ARRAY,
    OID_INT4_ARRAY, OID_TEXT_ARRAY, OID_JSONB_ARRAY, OID_TEXT_ARRAY, OID_TEXT_ARRAY,
    OID_TEXT_ARRAY, OID_INT8_ARRAY, OID_BOOL};
static const Oid int8_array_only[] = {OID_INT8_ARRAY};
static const Oid history_batch_types[] = {OID_TEXT_ARRAY, OID_INT8_ARRAY, OID_INT4_ARRAY};
static const Oid holds_page_types[] = {OID_TEXT_ARRAY, OID_INT8_ARRAY, OID_INT4_ARRAY,
                                       OID_TEXT_ARRAY};

/* A hold as the API shows it: a pending one past its expires_at is expired, from that instant. */
#define HOLD_STATUS(h)                                                                             \
    "CASE WHEN " h ".status = 'pending' AND " h ".expires_at <= now() THEN 'expired'"              \
    " ELSE " h ".status END"

#define OID_TIMESTAMPTZ_ARRAY 1185
static const Oid events_page_types[] = {OID_TEXT_ARRAY, OID_INT8_ARRAY, OID_INT4_ARRAY};
static const Oid balance_at_types[] = {OID_TEXT_ARRAY, OID_TIMESTAMPTZ_ARRAY};
static const Oid statement_summary_types[] = {OID_TEXT_ARRAY, OID_TIMESTAMPTZ_ARRAY,
                                              OID_TIMESTAMPTZ_ARRAY};
static const Oid statement_page_types[] = {OID_TEXT_ARRAY,        OID_TIMESTAMPTZ_ARRAY,
                                           OID_TIMESTAMPTZ_ARRAY, OID_INT8_ARRAY,
                                           OID_INT8_ARRAY,        OID_INT4_ARRAY};
#define OID_INT4 23
static const Oid int4_only[] = {OID_INT4};

/* An event's time to the microsecond: the feed's and balance?at's instants compare exactly. */
#define UTC_INSTANT(column)                                                                        \
    "to_char(" column " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* An event's columns, after u.ord and whether its account exists: position, type, account,
 * currency, amount, balance after, hold sum, entry, transfer, counterparty, hold, time, reference,
 * metadata. */
#define EVENT_COLUMNS                                                                              \
    "ev.position, ev.type, acc.account_number, acc.currency, ev.amount_cents,"                     \
    " ev.balance_after_cents, ev.hold_amount_cents, ev.entry_id, e.transfer_id,"                   \
    " other.account_number, ev.hold_id, " UTC_INSTANT(                                             \
        "ev.created_at") ","                                                                       \
                         " coalesce(e.reference, h.reference), coalesce(e.metadata, h.metadata)"
/* Each a lateral subquery of one row by its key: a generic plan, which cannot know how many events
 * a page has, would otherwise hash whole tables to join them (measured: a page of 100 events read
 * all of entries, 70 ms with 310,000 of them; this way 100 index lookups). */
#define EVENT_JOINS                                                                                \
    " LEFT JOIN LATERAL (SELECT acc.account_number, acc.currency FROM accounts acc"                \
    " WHERE acc.id = ev.account_id LIMIT 1) acc ON true"                                           \
    " LEFT JOIN LATERAL (SELECT e.kind, e.transfer_id, e.reference, e.metadata FROM entries e"     \
    " WHERE e.id = ev.entry_id LIMIT 1) e ON true"                                                 \
    " LEFT JOIN LATERAL (SELECT h.reference, h.metadata FROM holds h"                              \
    " WHERE h.id = ev.hold_id LIMIT 1) h ON true"                                                  \
    " LEFT JOIN LATERAL (SELECT other.account_number FROM transfers t JOIN accounts other"         \
    " ON other.id = CASE e.kind WHEN 'transfer_out' THEN t.to_account_id"                          \
    " WHEN 'transfer_in' THEN t.from_account_id END WHERE t.id = e.transfer_id LIMIT 1) other"     \
    " ON true"

/* Journal entries, each with the other account of its transfer (NULL for none) as counterparty. */
#define ENTRIES_WITH_COUNTERPARTY                                                                  \
    " SELECT e.*, other.account_number AS counterparty FROM entries e"                             \
    " LEFT JOIN transfers t ON t.id = e.transfer_id"                                               \
    " LEFT JOIN accounts other ON other.id = CASE e.kind"                                          \
    " WHEN 'transfer_out' THEN t.to_account_id WHEN 'transfer_in' THEN t.from_account_id END"

static const struct mx_statement statements[MX_STMT_COUNT] = {
    /* $1 age in seconds, $2 at most this many rows: short transactions, oldest first. Each
     * DELETE takes exactly the rows it selected, by their tuple ids: a key belongs to its
     * client, so another client's key of the same name is another row and stays, however it
     * ages. Rows that another instance's sweep has taken are left to it. (By tuple id the
     * DELETE is a TID scan; a join on the primary key was planned, generically, as a scan
     * of the whole table.) */
    [MX_STMT_IDEMPOTENCY_SWEEP] = {"idempotency_sweep",
                                   "DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY("
                                   " SELECT ctid FROM idempotency_keys"
                                   " WHERE created_at < now() - $1 * interval '1 second'"
                                   " ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED))"
                                   " AND created_at < now() - $1 * interval '1 second'",
                                   2, sweep_types},
    /* Many requests' account reads at once: $1 account numbers; a row per number, NULLs for
     * an unknown one. */
    [MX_STMT_READ_BATCH] =
        {"read_batch",
         "SELECT u.ord, a.balance_cents, a.overdraft_limit_cents, " UTC_TIMESTAMP(
             "a.created_at") ", a.status, a.balance_cents - p.held_cents, a.currency"
                             " FROM unnest($1) WITH ORDINALITY AS u(number, ord)"
                             " LEFT JOIN accounts a ON a.account_number = u.number"
                             " LEFT JOIN LATERAL pending_holds(a.id, now()) p ON true",
         1, read_batch_types},
    /* Readiness: whether this server takes writes (not a standby, not made read-only). */
    [MX_STMT_PING] = {"ping", "SELECT current_setting('transaction_read_only') = 'off'", 0, NULL},
    /* Many requests' pages of the change feed at once: $1 accounts (NULL: the whole ledger), $2
     * only events after this position, $3 how many; oldest first, the operation's ord first and
     * whether its account exists second. Only numbered events are read: positions are given
     * after commit, in commit order (db/migrations/0008_events.sql). */
    [MX_STMT_EVENTS_PAGE] = {"events_page",
                             "SELECT u.ord, u.number IS NULL OR a.id IS NOT NULL, " EVENT_COLUMNS
                             " FROM unnest($1, $2, $3) WITH ORDINALITY"
                             " AS u(number, after, wanted, ord)"
                             " LEFT JOIN accounts a ON a.account_number = u.number"
                             " LEFT JOIN LATERAL ("
                             "(SELECT x.* FROM events x WHERE u.number IS NULL"
                             " AND x.position > u.after ORDER BY x.position LIMIT u.wanted)"
                             " UNION ALL"
                             " (SELECT x.* FROM events x WHERE u.number IS NOT NULL"
                             " AND x.account_id = a.id AND x.position > u.after"
                             " ORDER BY x.account_id, x.position LIMIT u.wanted)"
                             ") ev ON true" EVENT_JOINS " ORDER BY u.ord, ev.position",
                             3, events_page_types},
    /* Many requests' balances as of an instant: $1 accounts, $2 instants; a row per request:
     * whether the account exists, whether it had been opened by then, the balance after its last
     * entry written at or before then (0 before the first), its currency. */
    [MX_STMT_BALANCE_AT] = {"balance_at",
                            "SELECT u.ord, a.id IS NOT NULL, a.created_at <= u.at,"
                            " coalesce(e.balance_after_cents, 0), a.currency"
                            " FROM unnest($1, $2) WITH ORDINALITY AS u(number, at, ord)"
                            " LEFT JOIN accounts a ON a.account_number = u.number"
                            " LEFT JOIN LATERAL (SELECT x.balance_after_cents FROM entries x"
                            " WHERE x.account_id = a.id AND x.created_at <= u.at"
                            " ORDER BY x.created_at DESC, x.id DESC LIMIT 1) e ON true",
                            2, balance_at_types},
    /* Many requests' statements at once: $1 accounts, $2 from (inclusive), $3 to (exclusive); a
     * row per request, all of one snapshot: whether the account exists, its currency, the
     * balance before the period (after the last entry written before it; 0 before the first),
     * the balance after the period's last entry, the number of its entries, the sums in and out,
     * the ids of its first and last entries, and the currency's exponent. An account's entries are
     * written one after another under its row lock, their times taken after it, so the period's
     * entries are exactly those between the two ids, and its pages (below) read nothing written
     * later. */
    [MX_STMT_STATEMENT_SUMMARY] =
        {"statement_summary",
         "SELECT u.ord, a.id IS NOT NULL, a.currency, coalesce(o.balance_after_cents, 0),"
         " coalesce(c.balance_after_cents, o.balance_after_cents, 0), coalesce(s.n, 0),"
         " coalesce(s.credits, 0), coalesce(s.debits, 0), coalesce(s.first_id, 0),"
         " coalesce(s.last_id, 0), cur.exponent"
         " FROM unnest($1, $2, $3) WITH ORDINALITY AS u(number, since, until, ord)"
         " LEFT JOIN accounts a ON a.account_number = u.number"
         " LEFT JOIN currencies cur ON cur.code = a.currency"
         " LEFT JOIN LATERAL (SELECT x.balance_after_cents FROM entries x"
         " WHERE x.account_id = a.id AND x.created_at < u.since"
         " ORDER BY x.created_at DESC, x.id DESC LIMIT 1) o ON true"
         " LEFT JOIN LATERAL (SELECT count(*) AS n,"
         " (sum(x.amount_cents) FILTER (WHERE x.amount_cents > 0))::bigint AS credits,"
         " (-sum(x.amount_cents) FILTER (WHERE x.amount_cents < 0))::bigint AS debits,"
         " min(x.id) AS first_id, max(x.id) AS last_id FROM entries x"
         " WHERE x.account_id = a.id AND x.created_at >= u.since AND x.created_at < u.until) s"
         " ON true"
         " LEFT JOIN entries c ON c.id = s.last_id",
         3, statement_summary_types},
    /* Many requests' pages of a statement at once: $1 accounts, $2 from, $3 to, $4 only entries
     * after this id, $5 up to this one (the summary's last), $6 how many; oldest first, with the
     * columns of history_batch. */
    [MX_STMT_STATEMENT_PAGE] =
        {"statement_page",
         "SELECT u.ord, a.id IS NOT NULL, e.id, e.kind, e.amount_cents, e.balance_after_cents,"
         " " UTC_INSTANT("e.created_at") ", e.transfer_id, e.counterparty, e.hold_id,"
                                         " a.currency, e.reference, e.metadata"
                                         " FROM unnest($1, $2, $3, $4, $5, $6) WITH ORDINALITY"
                                         " AS u(number, since, until, after, last, wanted, ord)"
                                         " LEFT JOIN accounts a ON a.account_number = u.number"
                                         " LEFT JOIN LATERAL (" ENTRIES_WITH_COUNTERPARTY
                                         " WHERE e.account_id = a.id AND e.id > u.after"
                                         " AND e.id <= u.last AND e.created_at >= u.since"
                                         " AND e.created_at < u.until"
                                         " ORDER BY e.id LIMIT u.wanted) e ON true"
                                         " ORDER BY u.ord, e.id",
         6, statement_page_types},
    /* The last position the change feed has given: where a live stream starts. */
    [MX_STMT_FEED_HEAD] = {"feed_head", "SELECT last_position FROM event_sequencer", 0, NULL},
    /* A numbering round of the change feed: $1 events at most; how many got a position. */
    [MX_STMT_SEQUENCE] = {"sequence_events", "SELECT sequence_events($1)", 1, int4_only},
    /* Every move of a batch (src/store/db.c): kinds, accounts, other accounts, amounts,
     * holds, seconds, clients, keys, fingerprints, attempt tokens, and whether to wait for
     * no lock; the rules are in apply_batch (db/functions.sql). */
    [MX_STMT_APPLY_BATCH] =
        {"apply_batch",
         "SELECT o_ord, o_outcome, o_replayed, o_own, o_number, o_balance, o_other_balance,"
         " o_overdraft, o_id, " UTC_TIMESTAMP(
             "o_created_at") ", o_status, o_available, o_sum,"
                             " o_captured, " UTC_TIMESTAMP(
                                 "o_expires_at") ", o_currency, o_reference, o_metadata"
                                                 " FROM apply_batch($1, $2, $3, $4, $5, $6, $7, "
                                                 "$8, $9, $10, $11, $12, $13)",
         13, apply_batch_types},
    /* Many requests' transfer reads at once: $1 ids; no row for an unknown id. */
    [MX_STMT_READ_TRANSFERS] =
        {"read_transfers",
         "SELECT u.ord, f.account_number, t.account_number, tr.amount_cents,"
         " out_leg.balance_after_cents, in_leg.balance_after_cents, " UTC_TIMESTAMP(
             "tr.created_at") ", f.currency, tr.reference, tr.metadata"
                              " FROM unnest($1) WITH ORDINALITY AS u(id, ord)"
                              " JOIN transfers tr ON tr.id = u.id"
                              " JOIN accounts f ON f.id = tr.from_account_id"
                              " JOIN accounts t ON t.id = tr.to_account_id"
                              " JOIN entries out_leg ON out_leg.transfer_id = tr.id"
                              " AND out_leg.kind = 'transfer_out'"
                              " JOIN entries in_leg ON in_leg.transfer_id = tr.id"
                              " AND in_leg.kind = 'transfer_in'",
         1, int8_array_only},
    /* Many requests' history pages at once: $1 accounts, $2 only entries older than this id
     * (NULL: from the newest), $3 how many; as MX_STMT_HISTORY, with the operation's ord
     * first and whether its account exists second. */
    [MX_STMT_HISTORY_BATCH] =
        {"history_batch",
         "SELECT u.ord, a.id IS NOT NULL, e.id, e.kind, e.amount_cents, "
         "e.balance_after_cents,"
         " " UTC_TIMESTAMP(
             "e.created_at") ", e.transfer_id, e.counterparty, e.hold_id, a.currency, e.reference,"
                             " e.metadata"
                             " FROM unnest($1, $2, $3) WITH ORDINALITY"
                             " AS u(number, before, wanted, ord)"
                             " LEFT JOIN accounts a ON a.account_number = u.number"
                             " LEFT JOIN LATERAL (" ENTRIES_WITH_COUNTERPARTY
                             " WHERE e.account_id = a.id"
                             " AND e.id < COALESCE(u.before, 9223372036854775807)"
                             " ORDER BY e.id DESC LIMIT u.wanted) e ON true"
                             " ORDER BY u.ord, e.id DESC",
         3, history_batch_types},
    /* Many requests' hold reads at once: $1 ids; no row for an unknown id. */
    [MX_STMT_READ_HOLDS] =
        {"read_holds",
         "SELECT u.ord, a.account_number, h.amount_cents, "
         "h.captured_cents, " HOLD_STATUS("h") ", " UTC_TIMESTAMP(
             "h.expires_at") ", " UTC_TIMESTAMP("h.created_at") ", a.currency, h.reference, "
                                                                "h.metadata FROM unnest($1) WITH "
                                                                "ORDINALITY AS u(id,"
                                                                " ord) JOIN holds h ON "
                                                                "h.id = u.id"
                                                                " JOIN accounts a ON "
                                                                "a.id = h.account_id",
         1, int8_array_only},
    /* Many requests' pages of an account's holds, newest first, like the history: $1
     * accounts, $2 only holds older than this id (NULL: from the newest), $3 how many, $4
     * of this status only (NULL: any); the operation's ord first and whether its account
     * exists second. */
    [MX_STMT_HOLDS_PAGE] =
        {"holds_page",
         "SELECT u.ord, a.id IS NOT NULL, h.id, h.amount_cents, h.captured_cents, h.shown,"
         " " UTC_TIMESTAMP("h.expires_at") ", " UTC_TIMESTAMP(
             "h.created_at") ", a.currency, h.reference, h.metadata"
                             " FROM unnest($1, $2, $3, $4) WITH ORDINALITY"
                             " AS u(number, before, wanted, status, ord)"
                             " LEFT JOIN accounts a ON a.account_number = u.number"
                             " LEFT JOIN LATERAL (SELECT x.*, " HOLD_STATUS(
                                 "x") " AS shown FROM holds x WHERE x.account_id = a.id"
                                      " AND x.id < COALESCE(u.before, 9223372036854775807)"
                                      " AND (u.status IS NULL OR " HOLD_STATUS(
                                          "x") " = u.status) ORDER BY x.id DESC"
                                               " LIMIT u.wanted) h ON true"
                                               " ORDER BY u.ord, h.id DESC",
         4, holds_page_types},
};

/* One snapshot for all of the audit, so a movement committing meanwhile cannot look like a fault;
 * READ ONLY, so it can change nothing. $1 of the last two: how many faults to list. */
const struct mx_statement mx_check_statements[MX_CHECK_STMT_COUNT] = {
    [MX_CHECK_BEGIN] = {"check_begin", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL},
    [MX_CHECK_TOTALS] = {"check_totals",
                         "SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM entries),"
                         " (SELECT count(*) FROM transfers)",
                         0, NULL},
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
                           1, int8_only},
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
         1, int8_only},
};

const struct mx_statement *mx_statement(enum mx_stmt stmt) {
    return &statements[stmt];
}

/* Sent once on every new connection (three statements, so through the simple protocol; fixed
 * text). A transaction of ours holds row locks between statements: should this process freeze or
 * lose the network in between, the server ends it rather than keeping every other writer of those
 * accounts waiting. And every statement here is written for READ COMMITTED (a guarded UPDATE
 * re-checks the newest row; apply_batch reads what committed while it waited for a key), whatever
 * the database's own default is. Last, every statement is a key lookup whose best plan does not
 * depend on its parameters, so it is planned once per connection instead of on each execution
 * (measured: batched balance reads at 8 connections 16.3k/s with the default, 20.6k/s with
 * plan_cache_mode = force_generic_plan). A generic plan cannot know a page's size, so its cost
 * estimate can pass jit_above_cost, and PostgreSQL then compiles the query on every execution:
 * measured, a feed page of 200 events took 243-300 ms with JIT and 1.3 ms without. No statement
 * here runs long enough to gain from it, so JIT is off. */
/* sequence_events notifies this channel when it has given positions (db/functions.sql). */
const char mx_sql_listen[] = "LISTEN mondux_events";

const char mx_sql_session_setup[] = "SET idle_in_transaction_session_timeout = '10s';"
                                    " SET default_transaction_isolation = 'read committed';"
                                    " SET plan_cache_mode = force_generic_plan; SET jit = off";

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
/* The server's default currency (MX_CURRENCY), checked once at start-up. */
const char mx_sql_currency_known[] = "SELECT 1 FROM currencies WHERE code = $1";
const char mx_sql_migration_record[] = "INSERT INTO schema_migrations (version) VALUES ($1)";
