-- history_batch: one history page (the newest 20, fetching 21) through the service's set-based
-- history read (the statement "history_batch" of src/store/statements.c, which the event-loop
-- store sends), with ONE account per transaction.
--
-- How this copy differs, and why: the service binds three arrays as parameters; pgbench cannot
-- build an array from a computed number, so each is ARRAY[...] of one parameter; the cursor is
-- NULLIF(:before::int8, 0) with before = 0, because pgbench cannot bind a NULL (as in
-- history.sql). The to_char format is written E'…\x3a…' as in balance.sql.
\set i random(1, :accounts)
\set x :base + :i * :stride
\set account :x * 100 + 98 - (:x % 97) * 100 % 97
\set before 0
\set fetch 21
SELECT u.ord, a.id IS NOT NULL, e.id, e.kind, e.amount_cents, e.balance_after_cents,
 to_char(e.created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS"Z"'),
 e.transfer_id, e.counterparty
 FROM unnest(ARRAY[:account::text], ARRAY[NULLIF(:before::int8, 0)], ARRAY[:fetch::int4])
 WITH ORDINALITY AS u(number, before, wanted, ord)
 LEFT JOIN accounts a ON a.account_number = u.number
 LEFT JOIN LATERAL (
 SELECT e.*, other.account_number AS counterparty FROM entries e
 LEFT JOIN transfers t ON t.id = e.transfer_id
 LEFT JOIN accounts other ON other.id = CASE e.kind
 WHEN 'transfer_out' THEN t.to_account_id
 WHEN 'transfer_in' THEN t.from_account_id END
 WHERE e.account_id = a.id
 AND e.id < COALESCE(u.before, 9223372036854775807)
 ORDER BY e.id DESC LIMIT u.wanted) e ON true
 ORDER BY u.ord, e.id DESC;
