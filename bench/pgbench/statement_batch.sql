-- statement_batch: GET /api/accounts/{n}/statement?from=…&to=… (JSON) as the service reads it,
-- with ONE request per transaction: the statement "statement_summary" of src/store/statements.c,
-- then "statement_page" for each page of 500 entries (STATEMENT_PAGE in src/api/statement.c),
-- bounded by the summary's first and last ids, the next page after the last id of the one before.
-- The seeded month has 1,000 entries, so that is the summary and two full pages: three
-- statements, each in autocommit as the service sends them, counted as one pgbench transaction.
--
-- How this copy differs, and why: the service binds arrays as parameters; pgbench cannot build an
-- array from a computed number, so each is ARRAY[...] of one parameter. pgbench's \gset and \aset
-- take a page's ids into variables named after the columns, and refuse a column named "?column?":
-- "a.id IS NOT NULL" is named "known" in both statements, and the summary's first and last ids
-- "first_id" and "last_id"; the names change nothing else. The to_char format is written
-- E'…\x3a…' as in history.sql. The account is one of the statement accounts of bench/sql/seed.sql
-- (i = accounts + 1 .. accounts + statement_accounts), as in bench/wrk/statement.lua; since and
-- until are the period bench/run seeds (-D).
\set i :accounts + random(1, :statement_accounts)
\set x :base + :i * :stride
\set account :x * 100 + 98 - (:x % 97) * 100 % 97
\set wanted 500
SELECT u.ord, a.id IS NOT NULL AS known, a.currency, coalesce(o.balance_after_cents, 0),
 coalesce(c.balance_after_cents, o.balance_after_cents, 0), coalesce(s.n, 0),
 coalesce(s.credits, 0), coalesce(s.debits, 0), coalesce(s.first_id, 0) AS first_id,
 coalesce(s.last_id, 0) AS last_id, cur.exponent
 FROM unnest(ARRAY[:account::text], ARRAY[:since::timestamptz], ARRAY[:until::timestamptz])
 WITH ORDINALITY AS u(number, since, until, ord)
 LEFT JOIN accounts a ON a.account_number = u.number
 LEFT JOIN currencies cur ON cur.code = a.currency
 LEFT JOIN LATERAL (SELECT x.balance_after_cents FROM entries x
 WHERE x.account_id = a.id AND x.created_at < u.since
 ORDER BY x.created_at DESC, x.id DESC LIMIT 1) o ON true
 LEFT JOIN LATERAL (SELECT count(*) AS n,
 (sum(x.amount_cents) FILTER (WHERE x.amount_cents > 0))::bigint AS credits,
 (-sum(x.amount_cents) FILTER (WHERE x.amount_cents < 0))::bigint AS debits,
 min(x.id) AS first_id, max(x.id) AS last_id FROM entries x
 WHERE x.account_id = a.id AND x.created_at >= u.since AND x.created_at < u.until) s
 ON true
 LEFT JOIN entries c ON c.id = s.last_id
\gset s_
\set after :s_first_id - 1
SELECT u.ord, a.id IS NOT NULL AS known, e.id, e.kind, e.amount_cents, e.balance_after_cents,
 to_char(e.created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS.US"Z"'),
 e.transfer_id, e.counterparty, e.hold_id, a.currency, e.reference, e.metadata
 FROM unnest(ARRAY[:account::text], ARRAY[:since::timestamptz], ARRAY[:until::timestamptz],
 ARRAY[:after::int8], ARRAY[:s_last_id::int8], ARRAY[:wanted::int4]) WITH ORDINALITY
 AS u(number, since, until, after, last, wanted, ord)
 LEFT JOIN accounts a ON a.account_number = u.number
 LEFT JOIN LATERAL ( SELECT e.*, other.account_number AS counterparty FROM entries e
 LEFT JOIN transfers t ON t.id = e.transfer_id
 LEFT JOIN accounts other ON other.id = CASE e.kind
 WHEN 'transfer_out' THEN t.to_account_id WHEN 'transfer_in' THEN t.from_account_id END
 WHERE e.account_id = a.id AND e.id > u.after
 AND e.id <= u.last AND e.created_at >= u.since
 AND e.created_at < u.until
 ORDER BY e.id LIMIT u.wanted) e ON true
 ORDER BY u.ord, e.id
\aset p_
\set after :p_id
SELECT u.ord, a.id IS NOT NULL AS known, e.id, e.kind, e.amount_cents, e.balance_after_cents,
 to_char(e.created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS.US"Z"'),
 e.transfer_id, e.counterparty, e.hold_id, a.currency, e.reference, e.metadata
 FROM unnest(ARRAY[:account::text], ARRAY[:since::timestamptz], ARRAY[:until::timestamptz],
 ARRAY[:after::int8], ARRAY[:s_last_id::int8], ARRAY[:wanted::int4]) WITH ORDINALITY
 AS u(number, since, until, after, last, wanted, ord)
 LEFT JOIN accounts a ON a.account_number = u.number
 LEFT JOIN LATERAL ( SELECT e.*, other.account_number AS counterparty FROM entries e
 LEFT JOIN transfers t ON t.id = e.transfer_id
 LEFT JOIN accounts other ON other.id = CASE e.kind
 WHEN 'transfer_out' THEN t.to_account_id WHEN 'transfer_in' THEN t.from_account_id END
 WHERE e.account_id = a.id AND e.id > u.after
 AND e.id <= u.last AND e.created_at >= u.since
 AND e.created_at < u.until
 ORDER BY e.id LIMIT u.wanted) e ON true
 ORDER BY u.ord, e.id;
