-- apply_move: one deposit or withdrawal through the service's batch function apply_batch
-- (db/functions.sql), a batch of ONE operation per transaction, as the event-loop store calls it
-- (the statement "apply_batch" of src/store/statements.c): what a request costs PostgreSQL when
-- it meets no other in its batch. Used by deposit, withdraw, hot and mix; -D from bench/run:
--   kinds  {deposit} or {withdraw} (the one-element array of kinds);  most  the largest sum;
--   span   the accounts drawn from: all of them, or 1 (hot).
-- apply_batch takes the sum (>= 1) and the kind, not a signed change.
--
-- How this copy differs, and why (see bench/README.md): the service binds every argument as an
-- array parameter ('{...}'); pgbench cannot build a text array from a computed number, so the
-- account and the sum are ARRAY[...] of a parameter, and the arrays that are all NULL for a
-- plain move (other account, client, key, fingerprint) are constants. The function, its
-- plan and its work are the same.
\set i random(1, :span)
\set x :base + :i * :stride
\set account :x * 100 + 98 - (:x % 97) * 100 % 97
\set amount random(1, :most)
SELECT o_ord, o_outcome, o_replayed, o_number, o_balance, o_other_balance, o_available, o_overdraft, o_id,
 to_char(o_created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS"Z"'), o_status
 FROM apply_batch(:kinds::text[], ARRAY[:account::text], '{NULL}'::text[],
 ARRAY[:amount::int8], '{NULL}'::int8[], '{NULL}'::int4[], '{NULL}'::text[], '{NULL}'::jsonb[], '{NULL}'::text[], '{NULL}'::text[],
 '{NULL}'::text[], '{NULL}'::int8[], false);
