-- An idempotent request's answer is stored as its outcome and the effect it points at, written by
-- apply_batch (db/functions.sql) in the transaction of the effect; the server renders the replay
-- from them. Rows from before keep their rendered body and status until they expire.
ALTER TABLE idempotency_keys
    ADD COLUMN outcome text
        CONSTRAINT idempotency_keys_outcome_known
        CHECK (outcome IN ('ok', 'insufficient_funds', 'balance_limit_exceeded',
                           'account_not_found')),
    ALTER COLUMN http_status DROP NOT NULL,
    ALTER COLUMN body DROP NOT NULL,
    DROP CONSTRAINT idempotency_keys_check,
    ADD CONSTRAINT idempotency_keys_one_effect_per_success
        CHECK (num_nonnulls(account_id, entry_id, transfer_id)
               = CASE WHEN coalesce(outcome = 'ok', http_status < 300) THEN 1 ELSE 0 END),
    ADD CONSTRAINT idempotency_keys_answer_stored
        CHECK (outcome IS NOT NULL OR (http_status IS NOT NULL AND body IS NOT NULL)),
    ADD COLUMN attempt bigint;
COMMENT ON COLUMN idempotency_keys.outcome IS 'What the request came to (ok or a refusal); the replay is rendered from it and the effect. NULL on rows that store a rendered body instead.';
COMMENT ON COLUMN idempotency_keys.attempt IS 'The server''s token for the attempt that stored the outcome: sent again after a lost answer, it learns the outcome is its own.';
COMMENT ON COLUMN idempotency_keys.http_status IS 'The rendered answer''s status, on rows stored before outcomes; 5xx answers are never stored.';
COMMENT ON COLUMN idempotency_keys.body IS 'The rendered answer''s JSON body, on rows stored before outcomes.';
