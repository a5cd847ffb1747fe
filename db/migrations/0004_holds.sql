-- Money that waits: a hold reserves part of an account's balance until it is captured (the
-- account is debited, at most the held sum), voided, or expires. A pending hold that has not
-- expired counts against the account's available balance (balance minus such holds), which
-- withdrawals, transfers out and new holds must keep at or above minus the overdraft limit; the
-- rule is apply_batch's (db/functions.sql), under the account's row lock. Expiry needs no sweep:
-- a pending hold whose expires_at has passed is expired from that instant, wherever it is read.
CREATE TABLE holds (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id     bigint      NOT NULL REFERENCES accounts (id),
    amount_cents   bigint      NOT NULL
        CONSTRAINT holds_amount_range CHECK (amount_cents BETWEEN 1 AND cents_ceiling()),
    captured_cents bigint      NOT NULL DEFAULT 0,
    status         text        NOT NULL DEFAULT 'pending'
        CONSTRAINT holds_status_known CHECK (status IN ('pending', 'captured', 'voided')),
    expires_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    settled_at     timestamptz,
    -- Only a capture takes money, never more than was held, and only a settled hold is settled.
    CONSTRAINT holds_captured_range CHECK (captured_cents BETWEEN 0 AND amount_cents
                                           AND (status = 'captured') = (captured_cents > 0)),
    CONSTRAINT holds_settled_when_not_pending CHECK ((status = 'pending') = (settled_at IS NULL)),
    CONSTRAINT holds_expire_after_creation CHECK (expires_at > created_at)
);
COMMENT ON TABLE holds IS 'Sums reserved on an account until captured, voided or expired (two-phase payments).';
COMMENT ON COLUMN holds.id IS 'The hold''s id, as the API shows it (/api/holds/{id}).';
COMMENT ON COLUMN holds.account_id IS 'The account whose available balance the hold reduces.';
COMMENT ON COLUMN holds.amount_cents IS 'The sum held, in minor units.';
COMMENT ON COLUMN holds.captured_cents IS 'What a capture took (at most the sum held); 0 unless captured.';
COMMENT ON COLUMN holds.status IS 'pending, captured or voided as stored; a pending hold past expires_at is expired, which the API shows without a write.';
COMMENT ON COLUMN holds.expires_at IS 'From this instant a pending hold no longer counts, and can no longer be captured or voided.';
COMMENT ON COLUMN holds.created_at IS 'When the hold was made.';
COMMENT ON COLUMN holds.settled_at IS 'When it was captured or voided; NULL while pending.';
-- The available balance sums an account's pending holds, and its list pages by id.
CREATE INDEX holds_account_id_id_idx ON holds (account_id, id);
CREATE INDEX holds_pending_idx ON holds (account_id, expires_at) WHERE status = 'pending';

-- A capture is the journal entry that takes the money; it names its hold.
ALTER TABLE entries
    ADD COLUMN hold_id bigint REFERENCES holds (id),
    DROP CONSTRAINT entries_kind_and_sign,
    ADD CONSTRAINT entries_kind_and_sign
        CHECK ((kind IN ('deposit', 'transfer_in') AND amount_cents BETWEEN 1 AND cents_ceiling())
            OR (kind IN ('withdrawal', 'transfer_out', 'capture')
                AND amount_cents BETWEEN -cents_ceiling() AND -1)
            OR (kind IN ('freeze', 'unfreeze', 'close') AND amount_cents = 0)),
    ADD CONSTRAINT entries_capture_names_its_hold CHECK ((kind = 'capture') = (hold_id IS NOT NULL));
CREATE UNIQUE INDEX entries_hold_id_key ON entries (hold_id) WHERE hold_id IS NOT NULL;
COMMENT ON COLUMN entries.hold_id IS 'The hold a capture took its money from; NULL for every other kind.';
COMMENT ON COLUMN entries.kind IS 'deposit, withdrawal, transfer_in, transfer_out, capture (money moved), or freeze, unfreeze, close (the account''s status changed; amount 0).';

-- A keyed hold points at the hold it made, a keyed void at the hold it released; a keyed capture
-- at its journal entry. Each effect has one key at most.
ALTER TABLE idempotency_keys
    ADD COLUMN hold_id bigint REFERENCES holds (id),
    ADD COLUMN released_hold_id bigint REFERENCES holds (id),
    ADD COLUMN balance_cents bigint,
    ADD COLUMN available_cents bigint,
    DROP CONSTRAINT idempotency_keys_one_effect_per_success,
    ADD CONSTRAINT idempotency_keys_one_effect_per_success
        CHECK (num_nonnulls(account_id, entry_id, transfer_id, hold_id, released_hold_id)
               = CASE WHEN coalesce(outcome = 'ok', http_status < 300) THEN 1 ELSE 0 END),
    DROP CONSTRAINT idempotency_keys_outcome_known,
    ADD CONSTRAINT idempotency_keys_outcome_known
        CHECK (outcome IN ('ok', 'unchanged', 'insufficient_funds', 'balance_limit_exceeded',
                           'account_not_found', 'account_frozen', 'account_closed',
                           'account_not_empty', 'hold_not_found', 'hold_not_pending'));
CREATE UNIQUE INDEX idempotency_keys_hold_id_key ON idempotency_keys (hold_id);
CREATE UNIQUE INDEX idempotency_keys_released_hold_id_key ON idempotency_keys (released_hold_id);
COMMENT ON COLUMN idempotency_keys.hold_id IS 'The hold a successful keyed hold request made.';
COMMENT ON COLUMN idempotency_keys.released_hold_id IS 'The hold a successful keyed void released.';
COMMENT ON COLUMN idempotency_keys.balance_cents IS 'The balance the stored answer showed, where it shows one (NULL on older rows: the entry has it).';
COMMENT ON COLUMN idempotency_keys.available_cents IS 'The available balance (balance minus pending holds) the stored answer showed, where it shows one.';
