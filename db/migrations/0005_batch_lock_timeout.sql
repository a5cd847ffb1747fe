-- A batch that waits for a row lock holds up every deposit and withdrawal queued behind it, on
-- any account (one batch at a time per writer). So move_batch waits at most 5 s for a lock; then
-- the statement fails with 55P03, nothing of the batch is changed, and each of its requests is
-- answered 503 unavailable (try again). The requests behind it go on, and a request waits about
-- 10 s at most: its batch's 5 s behind a stuck batch's 5 s, like a queued worker job (10 s).
ALTER FUNCTION move_batch(text[], bigint[], bigint) SET lock_timeout = '5s';
