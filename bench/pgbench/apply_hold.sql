-- apply_hold: a hold and its capture through the service's batch function apply_batch
-- (db/functions.sql), ONE operation per call, as the event-loop store sends them when each meets
-- no other in its batch. Two operations per pgbench transaction (bench/run's OPS_PER_TX).
--
-- How this copy differs, and why (see apply_move.sql): the arrays of one element are ARRAY[...]
-- of a parameter or constants; the hold's id comes back with \gset.
\set i random(1, :accounts)
\set x :base + :i * :stride
\set account :x * 100 + 98 - (:x % 97) * 100 % 97
\set amount random(1, 100)
SELECT o_id AS hold_id FROM apply_batch('{hold}'::text[], ARRAY[:account::text], '{NULL}'::text[],
 ARRAY[:amount::int8], '{NULL}'::int8[], '{3600}'::int4[], '{NULL}'::text[], '{NULL}'::jsonb[], '{NULL}'::text[], '{NULL}'::text[],
 '{NULL}'::text[], '{NULL}'::int8[], false) \gset
SELECT o_ord, o_outcome, o_number, o_id, o_status, o_sum, o_captured
 FROM apply_batch('{capture}'::text[], '{NULL}'::text[], '{NULL}'::text[], '{0}'::int8[],
 ARRAY[:hold_id::int8], '{NULL}'::int4[], '{NULL}'::text[], '{NULL}'::jsonb[], '{NULL}'::text[], '{NULL}'::text[], '{NULL}'::text[],
 '{NULL}'::int8[], false);
