-- seed.sql — the accounts scripts/bench works on (psql -v accounts=… base=… stride=… balance=…
-- statement_accounts=… statement_entries=… earlier_entries=… statement_from=… statement_to=…).
--
-- Account i (1..:accounts + :statement_accounts) gets the number of the formula that
-- bench/wrk/common.lua and bench/pgbench/*.sql compute, so neither needs a lookup:
--   x = base + i * stride (14 digits), number = x * 100 + 98 - (x % 97) * 100 % 97
-- i.e. x followed by its ISO 7064 MOD 97-10 check digits, as src/core/account_number.c makes them
-- (number mod 97 = 1). Each account starts with :balance cents, and gets the matching 'deposit'
-- entry in the journal, so that balance = sum(entries) holds from the start, as for any account
-- made through the API. Ids follow i (a fresh database), which nothing relies on.
--
-- Then the statement accounts, i = :accounts + 1 .. :accounts + :statement_accounts, which no
-- other workload draws: each opened on 1 October 2026, with :earlier_entries entries before
-- :statement_from (the first a deposit of 1,000,000.00, then deposits and withdrawals) and exactly
-- :statement_entries inside [:statement_from, :statement_to), each of those with a reference
-- (claimed in movement_references, as apply_batch claims one) and every other one with metadata.
-- Their times are given explicitly, increasing with the id within each account, as if written
-- under its lock; balance_after_cents is the running sum and balance_cents the last of it.
--
-- Last, the change feed: every account's 'open' event and one event per entry, as apply_batch
-- writes them (db/functions.sql), in time order (each account's order holds), numbered by
-- sequence_events() as the service numbers them, so GET /api/events has a few hundred thousand
-- events to page through.
\set ON_ERROR_STOP on
BEGIN;
WITH numbered AS (
    SELECT i, :base::bigint + i * :stride::bigint AS x FROM generate_series(1, :accounts) AS i),
created AS (
    INSERT INTO accounts (account_number, balance_cents)
    SELECT (x * 100 + 98 - (x % 97) * 100 % 97)::text, :balance FROM numbered ORDER BY i
    RETURNING id, balance_cents)
INSERT INTO entries (account_id, kind, amount_cents, balance_after_cents)
SELECT id, 'deposit', balance_cents, balance_cents FROM created ORDER BY id;

-- The statement accounts: the plan of every entry first (k-th of account j, times, amounts).
CREATE TEMP TABLE statement_plan ON COMMIT DROP AS
WITH acct AS (
    SELECT j, :base::bigint + (:accounts + j) * :stride::bigint AS x,
           timestamptz '2026-10-01T00:00:00Z' + j * interval '1 second' AS opened_at
    FROM generate_series(1, :statement_accounts) AS j),
steps AS (
    -- before the period: spread evenly between the opening and :statement_from
    SELECT a.j, k, a.opened_at + k * ((timestamptz :'statement_from' - a.opened_at)
           / (:earlier_entries + 1)) AS at, false AS in_period
    FROM acct a, generate_series(1, :earlier_entries) AS k
    UNION ALL
    -- the period: :statement_entries, evenly spread, each account a little after the one before
    SELECT a.j, :earlier_entries + k, timestamptz :'statement_from'
           + (k - 1) * ((timestamptz :'statement_to' - timestamptz :'statement_from') / :statement_entries)
           + a.j * ((timestamptz :'statement_to' - timestamptz :'statement_from')
                    / :statement_entries / (:statement_accounts + 1)), true
    FROM acct a, generate_series(1, :statement_entries) AS k),
amounts AS (
    SELECT s.*, CASE WHEN s.k = 1 THEN 100000000::bigint
                     WHEN s.k % 3 = 0 THEN -((s.j * 7919 + s.k * 104729) % 5000 + 1)::bigint
                     ELSE ((s.j * 7919 + s.k * 104729) % 20000 + 1)::bigint END AS amount
    FROM steps s)
SELECT m.j, (a.x * 100 + 98 - (a.x % 97) * 100 % 97)::text AS number, a.opened_at, m.k, m.at,
       m.in_period, m.amount, CASE WHEN m.amount > 0 THEN 'deposit' ELSE 'withdrawal' END AS kind,
       sum(m.amount) OVER (PARTITION BY m.j ORDER BY m.k) AS after
FROM amounts m JOIN acct a USING (j);
CREATE TEMP TABLE statement_accounts ON COMMIT DROP AS
WITH created AS (
    INSERT INTO accounts (account_number, balance_cents, created_at)
    SELECT DISTINCT ON (p.j) p.number, p.after, p.opened_at FROM statement_plan p
    ORDER BY p.j, p.k DESC
    RETURNING id, account_number)
SELECT c.id, p.j FROM created c JOIN (SELECT DISTINCT j, number FROM statement_plan) p
    ON p.number = c.account_number;
-- Entries in time order across accounts, as they would have been written.
WITH made AS (
    INSERT INTO entries (account_id, kind, amount_cents, balance_after_cents, created_at,
                         reference, metadata)
    SELECT s.id, p.kind, p.amount, p.after, p.at,
           CASE WHEN p.in_period THEN 'stmt-' || p.j || '-' || p.k END,
           CASE WHEN p.in_period AND p.k % 2 = 0
                THEN jsonb_build_object('invoice', 'INV-' || p.j || '-' || p.k) END
    FROM statement_plan p JOIN statement_accounts s USING (j)
    ORDER BY p.at, p.j
    RETURNING account_id, reference, created_at)
INSERT INTO movement_references (account_id, reference, created_at)
SELECT account_id, reference, created_at FROM made WHERE reference IS NOT NULL;

-- The change feed, as apply_batch writes it: an account's 'open' (balance 0), then an event per
-- entry; in time order, each account's opening before its entries and its entries by id.
INSERT INTO events (account_id, type, amount_cents, balance_after_cents, entry_id, created_at)
SELECT x.account_id, x.type, x.amount, x.after, x.entry, x.at
FROM (SELECT a.id AS account_id, 'open' AS type, 0::bigint AS amount, 0::bigint AS after,
             NULL::bigint AS entry, a.created_at AS at, 0 AS rank
      FROM accounts a
      UNION ALL
      SELECT e.account_id, e.kind, e.amount_cents, e.balance_after_cents, e.id, e.created_at, 1
      FROM entries e) AS x
ORDER BY x.at, x.account_id, x.rank, x.entry;
-- The numbers are valid for the service (16 digits, mod 97 = 1) and the first is the one that
-- bench/wrk/hot.lua and the hot workload of bench/pgbench/move.sql (span 1) hit.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM accounts WHERE account_number !~ '^[0-9]{16}$'
               OR account_number::bigint % 97 <> 1) THEN
        RAISE EXCEPTION 'seed: an account number fails MOD 97-10';
    END IF;
END
$$;
COMMIT;
-- Positions, as the service's numbering rounds give them: sequence_events(100000), each call in
-- its own transaction, until it numbers nothing more.
SELECT 'SELECT sequence_events(100000)' FROM generate_series(0,
    (SELECT count(*) FROM events WHERE position IS NULL) / 100000)
\gexec
DO $$
BEGIN
    IF EXISTS (SELECT FROM events WHERE position IS NULL) THEN
        RAISE EXCEPTION 'seed: events left without a position';
    END IF;
END
$$;
VACUUM ANALYZE accounts;
VACUUM ANALYZE entries;
VACUUM ANALYZE movement_references;
VACUUM ANALYZE events;
VACUUM ANALYZE event_sequencer;
