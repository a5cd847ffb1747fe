-- read_batch: one balance read through the service's set-based account read (the statement
-- "read_batch" of src/store/statements.c, which both the threaded reader and the event-loop
-- store send), with ONE account per transaction.
--
-- How this copy differs, and why: the service binds the array of numbers as a parameter; pgbench
-- cannot build a text array from a computed number, so it is ARRAY[...] of one parameter. The
-- to_char format is written E'…\x3a…' as in balance.sql.
\set i random(1, :accounts)
\set x :base + :i * :stride
\set account :x * 100 + 98 - (:x % 97) * 100 % 97
SELECT u.ord, a.balance_cents, a.overdraft_limit_cents,
 to_char(a.created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS"Z"'), a.status,
 a.balance_cents - p.held_cents, a.currency
 FROM unnest(ARRAY[:account::text]) WITH ORDINALITY AS u(number, ord)
 LEFT JOIN accounts a ON a.account_number = u.number
 LEFT JOIN LATERAL pending_holds(a.id, now()) p ON true;
