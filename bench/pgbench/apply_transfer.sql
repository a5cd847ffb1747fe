-- apply_transfer: one transfer through the service's batch function apply_batch
-- (db/functions.sql), a batch of ONE operation per transaction, as the event-loop store calls it
-- (the statement "apply_batch" of src/store/statements.c). Two different accounts, each uniform,
-- as in transfer.sql.
--
-- How this copy differs, and why: as in apply_move.sql (ARRAY[...] of a parameter where the
-- service binds an array; the all-NULL arrays are constants).
\set i random(1, :accounts)
\set j (:i + random(1, :accounts - 1) - 1) % :accounts + 1
\set x :base + :i * :stride
\set from :x * 100 + 98 - (:x % 97) * 100 % 97
\set y :base + :j * :stride
\set to :y * 100 + 98 - (:y % 97) * 100 % 97
\set amount random(1, 100)
SELECT o_ord, o_outcome, o_replayed, o_number, o_balance, o_other_balance, o_available, o_overdraft, o_id,
 to_char(o_created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS"Z"'), o_status
 FROM apply_batch('{transfer}'::text[], ARRAY[:from::text], ARRAY[:to::text],
 ARRAY[:amount::int8], '{NULL}'::int8[], '{NULL}'::int4[], '{NULL}'::text[], '{NULL}'::jsonb[], '{NULL}'::text[], '{NULL}'::text[],
 '{NULL}'::text[], '{NULL}'::int8[], false);
