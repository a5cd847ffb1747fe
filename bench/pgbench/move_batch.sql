-- move_batch: one deposit or withdrawal through move_batch (db/functions.sql), the batch function
-- the threaded service's batch writer calls (the statement "move_batch" of
-- src/store/statements.c), with ONE operation per transaction. For comparison with apply_batch
-- (apply_move.sql). Same -D as move.sql: sign, most, span.
--
-- How this copy differs, and why (see bench/README.md): the service binds the two arrays as
-- parameters; pgbench cannot build a text array from a computed number, so each is ARRAY[...] of
-- one parameter.
\set i random(1, :span)
\set x :base + :i * :stride
\set account :x * 100 + 98 - (:x % 97) * 100 % 97
\set delta :sign * random(1, :most)
SELECT o_ord, o_found, o_moved, o_balance, o_entry_id
 FROM move_batch(ARRAY[:account::text], ARRAY[:delta::int8]);
