-- statement: GET /api/accounts/{n}/statement?from=…&to=… (JSON) as one request's own SQL. It
-- mirrors the statements "statement_summary" and "statement_page" of src/store/statements.c
-- (written out in statement_batch.sql) for one account, without their unnest: first the summary
-- — the opening balance (after the account's last entry before the period, 0 before the first),
-- the closing balance, the number of the period's entries, the sums of the positive and of the
-- negative amounts, the first and last ids, the currency's exponent — then the period's entries
-- in one statement, by id, bounded by those ids, with reference and metadata, LIMIT 1000 (the
-- seeded month has 1,000; the service reads them in pages of 500). Two statements, each in
-- autocommit, one pgbench transaction.
--
-- How this copy differs, and why (see bench/README.md):
--  * every :variable carries the cast to the type the service declares (pgbench declares none);
--  * pgbench's \gset takes the summary's ids into variables named after its columns;
--  * 'HH24:MI:SS.US' would read as pgbench variables :MI and :SS, so the to_char format is
--    written E'…\x3a…' — the same constant once parsed;
--  * the account is one of the statement accounts of bench/sql/seed.sql (i = accounts + 1 ..
--    accounts + statement_accounts), as in bench/wrk/statement.lua; since and until are the
--    period bench/run seeds (-D).
\set i :accounts + random(1, :statement_accounts)
\set x :base + :i * :stride
\set account :x * 100 + 98 - (:x % 97) * 100 % 97
\set wanted 1000
WITH account AS (SELECT id, currency FROM accounts WHERE account_number = :account::text)
 SELECT account.currency, coalesce(o.balance_after_cents, 0) AS opening,
 coalesce(c.balance_after_cents, o.balance_after_cents, 0) AS closing, coalesce(s.n, 0) AS n,
 coalesce(s.credits, 0) AS credits, coalesce(s.debits, 0) AS debits,
 coalesce(s.first_id, 0) AS first_id, coalesce(s.last_id, 0) AS last_id, cur.exponent
 FROM account
 LEFT JOIN currencies cur ON cur.code = account.currency
 LEFT JOIN LATERAL (SELECT x.balance_after_cents FROM entries x
 WHERE x.account_id = account.id AND x.created_at < :since::timestamptz
 ORDER BY x.created_at DESC, x.id DESC LIMIT 1) o ON true
 LEFT JOIN LATERAL (SELECT count(*) AS n,
 (sum(x.amount_cents) FILTER (WHERE x.amount_cents > 0))::bigint AS credits,
 (-sum(x.amount_cents) FILTER (WHERE x.amount_cents < 0))::bigint AS debits,
 min(x.id) AS first_id, max(x.id) AS last_id FROM entries x
 WHERE x.account_id = account.id AND x.created_at >= :since::timestamptz
 AND x.created_at < :until::timestamptz) s ON true
 LEFT JOIN entries c ON c.id = s.last_id
\gset s_
WITH account AS (SELECT id, currency FROM accounts WHERE account_number = :account::text)
 SELECT e.id, e.kind, e.amount_cents, e.balance_after_cents,
 to_char(e.created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS.US"Z"'),
 e.transfer_id, e.counterparty, e.hold_id, account.currency, e.reference, e.metadata
 FROM account LEFT JOIN LATERAL (
 SELECT e.*, other.account_number AS counterparty FROM entries e
 LEFT JOIN transfers t ON t.id = e.transfer_id
 LEFT JOIN accounts other ON other.id = CASE e.kind
 WHEN 'transfer_out' THEN t.to_account_id
 WHEN 'transfer_in' THEN t.from_account_id END
 WHERE e.account_id = account.id
 AND e.id >= :s_first_id::int8 AND e.id <= :s_last_id::int8
 AND e.created_at >= :since::timestamptz AND e.created_at < :until::timestamptz
 ORDER BY e.id LIMIT :wanted::int8) e ON true
 ORDER BY e.id;
