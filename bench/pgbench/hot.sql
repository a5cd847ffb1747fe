-- hot: deposits all on ONE account (account 1) — the prepared statement "move"
-- (MX_STMT_MOVE in src/store/statements.c), one round trip, autocommit; the row lock serialises.
-- Parameters as the service binds them: $1 account number (text), $2 the signed change (int8,
-- here +sum).
--
-- How this copy differs, and why (see bench/README.md):
--  * pgbench gives every :variable occurrence its own $n and declares no types, so each one carries
--    the cast to the type the service declares (text/int8): the parse tree and plans are the same.
--  * The account number comes from the formula of bench/wrk/common.lua (no lookup): pgbench sends
--    it as a literal parameter, as the service does. -D accounts/base/stride come from bench/run.
\set i 1
\set x :base + :i * :stride
\set account :x * 100 + 98 - (:x % 97) * 100 % 97
\set delta random(1, 1000)
WITH moved AS (
  UPDATE accounts SET balance_cents = balance_cents + :delta::int8
  WHERE account_number = :account::text
  AND balance_allowed(balance_cents + :delta::int8, overdraft_limit_cents)
  RETURNING id, balance_cents),
 journal AS (
  INSERT INTO entries (account_id, kind, amount_cents, balance_after_cents)
  SELECT id, CASE WHEN :delta::int8 > 0 THEN 'deposit' ELSE 'withdrawal' END, :delta::int8,
  balance_cents FROM moved RETURNING id)
 SELECT true, balance_cents, (SELECT id FROM journal) FROM moved
 UNION ALL
 SELECT false, balance_cents, NULL FROM accounts
 WHERE account_number = :account::text AND NOT EXISTS (SELECT 1 FROM moved);
