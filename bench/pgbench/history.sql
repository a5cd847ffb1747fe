-- history: what GET /api/accounts/{n}/transactions?limit=20 (the newest page) sends — the
-- prepared statement "history" (MX_STMT_HISTORY in src/store/statements.c), one round trip.
-- $1 account number (text), $2 NULL (no cursor: from the newest; int8), $3 limit + 1 = 21 (int8).
--
-- How this copy differs, and why (see bench/README.md):
--  * every :variable carries the cast to the type the service declares (pgbench declares none);
--  * 'HH24:MI:SS' would read as pgbench variables :MI and :SS, so the to_char format is written
--    E'…\x3a…' — the same constant once parsed;
--  * pgbench cannot bind a NULL parameter (it sends the text "NULL"), so $2 is
--    NULLIF(:before::int8, 0) with before = 0: still a parameter (same custom/generic plan choice),
--    NULL at run time, one NULLIF more per execution;
--  * the account number comes from the formula of bench/wrk/common.lua (no lookup): pgbench sends
--    it as a literal parameter, as the service does.
\set i random(1, :accounts)
\set x :base + :i * :stride
\set account :x * 100 + 98 - (:x % 97) * 100 % 97
\set before 0
\set fetch 21
WITH account AS (SELECT id FROM accounts WHERE account_number = :account::text)
 SELECT e.id, e.kind, e.amount_cents, e.balance_after_cents,
 to_char(e.created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS"Z"'),
 e.transfer_id, e.counterparty
 FROM account LEFT JOIN LATERAL (
 SELECT e.*, other.account_number AS counterparty FROM entries e
 LEFT JOIN transfers t ON t.id = e.transfer_id
 LEFT JOIN accounts other ON other.id = CASE e.kind
 WHEN 'transfer_out' THEN t.to_account_id
 WHEN 'transfer_in' THEN t.from_account_id END
 WHERE e.account_id = account.id
 AND e.id < COALESCE(NULLIF(:before::int8, 0), 9223372036854775807)
 ORDER BY e.id DESC LIMIT :fetch::int8) e ON true
 ORDER BY e.id DESC;
