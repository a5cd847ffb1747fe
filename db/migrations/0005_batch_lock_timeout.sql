-- A batch that waits for a row lock holds up every deposit and withdrawal queued behind it, on
-- any account (one batch at a time per writer). So move_batch waits at most 5 s for a lock; then
-- the statement fails with 55P03 and nothing of the batch is changed. The batcher (batcher.c)
-- refuses the operations on accounts another session holds, 503 unavailable (try again), and
-- sends the rest again at once. The bound is per batch: while a row stays locked (an open
-- transaction in another session), each batch with an operation on its account waits its 5 s.
ALTER FUNCTION move_batch(text[], bigint[], bigint) SET lock_timeout = '5s';
