-- transfer: what POST /api/transfers {"from","to","sum"} sends — the prepared statement
-- "transfer" (MX_STMT_TRANSFER in src/store/statements.c), one round trip, autocommit; the work is
-- in transfer_funds (db/functions.sql). $1 from, $2 to (text), $3 the amount (int8).
--
-- How this copy differs, and why (see bench/README.md):
--  * every :variable carries the cast to the type the service declares (pgbench declares none);
--  * 'HH24:MI:SS' would read as pgbench variables :MI and :SS, so the to_char format is written
--    E'…\x3a…' — the same constant once parsed;
--  * the account numbers come from the formula of bench/wrk/common.lua (no lookup): pgbench sends
--    them as literal parameters, as the service does. Two different accounts, each uniform.
\set i random(1, :accounts)
\set j (:i + random(1, :accounts - 1) - 1) % :accounts + 1
\set x :base + :i * :stride
\set from :x * 100 + 98 - (:x % 97) * 100 % 97
\set y :base + :j * :stride
\set to :y * 100 + 98 - (:y % 97) * 100 % 97
\set amount random(1, 100)
SELECT o_outcome, o_transfer_id, o_from_balance, o_to_balance,
 to_char(o_created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS"Z"')
 FROM transfer_funds(:from::text, :to::text, :amount::int8);
