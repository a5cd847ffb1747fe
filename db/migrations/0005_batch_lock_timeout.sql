-- A batch that waits for a row lock holds up every deposit and withdrawal queued behind it, on
-- any account (one batch at a time per writer). So move_batch waits at most 5 s for a lock; then
-- the statement fails with 55P03, nothing of the batch is changed, and each of its requests is
-- answered 503 unavailable (try again), and the batches behind it go on. The bound is per batch:
-- while a row stays locked (an open transaction in another session), every batch that holds an
-- operation on its account waits its 5 s and is refused whole, the other operations in it too.
ALTER FUNCTION move_batch(text[], bigint[], bigint) SET lock_timeout = '5s';
