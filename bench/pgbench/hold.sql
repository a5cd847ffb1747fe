-- hold: a hold and its capture as a correct client sends them, ONE statement each, autocommit:
-- the hold locks its account and is made only if the available balance (balance minus the pending
-- holds, pending_holds in db/functions.sql) allows it; the capture settles the pending hold, takes
-- its whole sum from the balance and writes the journal entry; each writes its change-feed event. Two operations per pgbench
-- transaction (bench/run's OPS_PER_TX), as bench/wrk/hold.lua alternates them.
--
-- How this copy differs, and why: pgbench gives every :variable occurrence its own $n, so each
-- carries its cast; the hold's id comes back with \gset.
\set i random(1, :accounts)
\set x :base + :i * :stride
\set account :x * 100 + 98 - (:x % 97) * 100 % 97
\set amount random(1, 100)
WITH locked AS (
  SELECT id, balance_cents, overdraft_limit_cents FROM accounts
  WHERE account_number = :account::text FOR NO KEY UPDATE)
, made AS (
  INSERT INTO holds (account_id, amount_cents, expires_at)
  SELECT id, :amount::int8, clock_timestamp() + interval '1 hour' FROM locked
  WHERE balance_allowed(balance_cents - (SELECT held_cents FROM pending_holds(id, now()))
   - :amount::int8, overdraft_limit_cents)
  RETURNING id, account_id, amount_cents, created_at),
 feed AS (
  INSERT INTO events (account_id, type, amount_cents, balance_after_cents, hold_amount_cents,
   hold_id, created_at)
  SELECT m.account_id, 'hold', 0, l.balance_cents, m.amount_cents, m.id, m.created_at
  FROM made m JOIN locked l ON l.id = m.account_id)
SELECT id AS hold_id FROM made \gset
WITH settled AS (
  UPDATE holds SET status = 'captured', captured_cents = amount_cents,
   settled_at = clock_timestamp()
  WHERE id = :hold_id::int8 AND status = 'pending' AND expires_at > now()
  RETURNING id, account_id, amount_cents),
 moved AS (
  UPDATE accounts a SET balance_cents = a.balance_cents - s.amount_cents FROM settled s
  WHERE a.id = s.account_id RETURNING a.id, a.balance_cents, s.amount_cents, s.id AS hold),
 journal AS (
  INSERT INTO entries (account_id, kind, amount_cents, balance_after_cents, hold_id)
  SELECT id, 'capture', -amount_cents, balance_cents, hold FROM moved
  RETURNING id, account_id, amount_cents, balance_after_cents, hold_id, created_at)
INSERT INTO events (account_id, type, amount_cents, balance_after_cents, hold_amount_cents,
 entry_id, hold_id, created_at)
 SELECT j.account_id, 'capture', j.amount_cents, j.balance_after_cents, -j.amount_cents, j.id,
 j.hold_id, j.created_at FROM journal j;
