-- move: one deposit or withdrawal as a correct client sends it — ONE statement, autocommit: the
-- guarded UPDATE, its journal INSERT and its change-feed event, and, when nothing moved, whether
-- the account exists. The
-- same text as the threaded service's prepared statement "move" (src/store/statements.c).
-- $1 the account number (text), $2 the signed change (int8). Used by the deposit, withdraw, hot
-- and mix workloads, which bench/run tells apart with -D:
--   sign  1 (deposit) or -1 (withdraw);  most  the largest sum (1000 or 100);
--   span  the accounts drawn from: all of them, or 1 (hot: every deposit on account 1).
--
-- How this copy differs, and why (see bench/README.md):
--  * pgbench gives every :variable occurrence its own $n and declares no types, so each one carries
--    the cast to the type the service declares (text/int8): the parse tree and plans are the same.
--  * The account number comes from the formula of bench/wrk/common.lua (no lookup): pgbench sends
--    it as a literal parameter, as the service does. -D accounts/base/stride come from bench/run.
\set i random(1, :span)
\set x :base + :i * :stride
\set account :x * 100 + 98 - (:x % 97) * 100 % 97
\set delta :sign * random(1, :most)
WITH moved AS (
  UPDATE accounts SET balance_cents = balance_cents + :delta::int8
  WHERE account_number = :account::text
  AND balance_allowed(balance_cents + :delta::int8, overdraft_limit_cents)
  RETURNING id, balance_cents),
 journal AS (
  INSERT INTO entries (account_id, kind, amount_cents, balance_after_cents)
  SELECT id, CASE WHEN :delta::int8 > 0 THEN 'deposit' ELSE 'withdrawal' END, :delta::int8,
  balance_cents FROM moved
  RETURNING id, account_id, kind, amount_cents, balance_after_cents, created_at),
 feed AS (
  INSERT INTO events (account_id, type, amount_cents, balance_after_cents, entry_id, created_at)
  SELECT account_id, kind, amount_cents, balance_after_cents, id, created_at FROM journal)
 SELECT true, balance_cents, (SELECT id FROM journal) FROM moved
 UNION ALL
 SELECT false, balance_cents, NULL FROM accounts
 WHERE account_number = :account::text AND NOT EXISTS (SELECT 1 FROM moved);
