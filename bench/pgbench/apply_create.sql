-- apply_create: one account creation through the service's batch function apply_batch
-- (db/functions.sql), a batch of ONE operation per transaction, as the event-loop store calls it
-- (the statement "apply_batch" of src/store/statements.c). The number is drawn as in create.sql;
-- the overdraft limit is 0.
--
-- How this copy differs, and why: as in apply_move.sql (ARRAY[...] of a parameter where the
-- service binds an array; the all-NULL arrays are constants).
\set x random(10000000000000, 99999999999999)
\set account :x * 100 + 98 - (:x % 97) * 100 % 97
\set overdraft 0
SELECT o_ord, o_outcome, o_replayed, o_number, o_balance, o_other_balance, o_available, o_overdraft, o_id,
 to_char(o_created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS"Z"'), o_status
 FROM apply_batch('{create}'::text[], ARRAY[:account::text], '{NULL}'::text[],
 ARRAY[:overdraft::int8], '{NULL}'::int8[], '{NULL}'::int4[], '{NULL}'::text[], '{NULL}'::jsonb[], '{NULL}'::text[], '{NULL}'::text[],
 '{NULL}'::text[], '{NULL}'::int8[], false);
