-- create: what POST /api/accounts (no body: overdraft limit 0) sends — the prepared statement
-- "create_account" (MX_STMT_CREATE_ACCOUNT in src/store/statements.c), one round trip,
-- autocommit. $1 a new random valid account number (text), $2 the overdraft limit (int8).
--
-- How this copy differs, and why (see bench/README.md):
--  * every :variable carries the cast to the type the service declares (pgbench declares none);
--  * 'HH24:MI:SS' would read as pgbench variables :MI and :SS, so the to_char format is written
--    E'…\x3a…' — the same constant once parsed;
--  * the number is 14 random digits plus the MOD 97-10 check digits, like mx_acct_generate, but
--    with a non-zero first digit (so that the integer pgbench formats has 16 digits).
\set x random(10000000000000, 99999999999999)
\set account :x * 100 + 98 - (:x % 97) * 100 % 97
\set overdraft 0
INSERT INTO accounts (account_number, overdraft_limit_cents)
 VALUES (:account::text, :overdraft::int8)
 ON CONFLICT (account_number) DO NOTHING
 RETURNING id, balance_cents, overdraft_limit_cents,
 to_char(created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS"Z"');
