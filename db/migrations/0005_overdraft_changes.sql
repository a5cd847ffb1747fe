-- An account's overdraft limit may change (PATCH /api/accounts/{n}), through apply_batch
-- (db/functions.sql), never to a limit under which its available balance would already be too
-- low. A keyed change points at the account it changed, and keeps the limit it set, so that its
-- replay answers as it did; an account may have many such changes.
ALTER TABLE idempotency_keys
    ADD COLUMN limit_account_id bigint REFERENCES accounts (id),
    ADD COLUMN overdraft_limit_cents bigint,
    DROP CONSTRAINT idempotency_keys_one_effect_per_success,
    ADD CONSTRAINT idempotency_keys_one_effect_per_success
        CHECK (num_nonnulls(account_id, entry_id, transfer_id, hold_id, released_hold_id,
                            limit_account_id)
               = CASE WHEN coalesce(outcome = 'ok', http_status < 300) THEN 1 ELSE 0 END);
COMMENT ON COLUMN idempotency_keys.limit_account_id IS 'The account whose overdraft limit a successful keyed change set.';
COMMENT ON COLUMN idempotency_keys.overdraft_limit_cents IS 'The overdraft limit the stored answer showed, for a change of it.';
CREATE INDEX idempotency_keys_limit_account_id_idx ON idempotency_keys (limit_account_id)
    WHERE limit_account_id IS NOT NULL;
