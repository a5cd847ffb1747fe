-- balance: what GET /api/accounts/{n}/balance sends — the prepared statement "get_account"
-- (MX_STMT_GET_ACCOUNT in src/store/statements.c), one round trip. $1 account number (text).
--
-- How this copy differs, and why (see bench/README.md):
--  * every :variable carries the cast to the type the service declares (pgbench declares none);
--  * 'HH24:MI:SS' would read as pgbench variables :MI and :SS, so the to_char format is written
--    E'…\x3a…' — the same constant once parsed;
--  * the account number comes from the formula of bench/wrk/common.lua (no lookup): pgbench sends
--    it as a literal parameter, as the service does. -D accounts/base/stride come from bench/run.
\set i random(1, :accounts)
\set x :base + :i * :stride
\set account :x * 100 + 98 - (:x % 97) * 100 % 97
SELECT balance_cents, overdraft_limit_cents,
 to_char(created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS"Z"')
 FROM accounts WHERE account_number = :account::text;
