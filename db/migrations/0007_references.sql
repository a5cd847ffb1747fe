-- References and metadata. A money-moving request (deposit, withdrawal, transfer, hold, capture)
-- may carry the client's own reference (1 to 64 printable characters) and metadata (a JSON object
-- of at most 20 string values, which the server checks). Both are stored with what the request
-- made: its journal entries (both legs of a transfer), its transfer, its hold. A reference is
-- unique per account among its movements -- a transfer's belongs to its from account, a capture's
-- to its hold's -- and movement_references is where apply_batch (db/functions.sql) claims it,
-- under the account's lock, so that a second movement with the same reference moves nothing.
CREATE TABLE movement_references (
    account_id bigint      NOT NULL REFERENCES accounts (id),
    reference  text        NOT NULL
        CONSTRAINT movement_references_reference_shape CHECK (reference ~ '^[ -~]{1,64}$'),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (account_id, reference)
);
COMMENT ON TABLE movement_references IS 'The references the clients gave their movements, one per account each.';
COMMENT ON COLUMN movement_references.account_id IS 'The account whose movement took the reference (a transfer''s from account, a capture''s hold''s).';
COMMENT ON COLUMN movement_references.reference IS 'The client''s own id of the movement, 1 to 64 printable ASCII characters.';
COMMENT ON COLUMN movement_references.created_at IS 'When the movement took it.';

ALTER TABLE entries
    ADD COLUMN reference text CONSTRAINT entries_reference_shape CHECK (reference ~ '^[ -~]{1,64}$'),
    ADD COLUMN metadata jsonb CONSTRAINT entries_metadata_object CHECK (jsonb_typeof(metadata) = 'object');
COMMENT ON COLUMN entries.reference IS 'The reference of the request that made the entry, if it gave one.';
COMMENT ON COLUMN entries.metadata IS 'The metadata of the request that made the entry, if it gave any: an object of strings.';
ALTER TABLE transfers
    ADD COLUMN reference text CONSTRAINT transfers_reference_shape CHECK (reference ~ '^[ -~]{1,64}$'),
    ADD COLUMN metadata jsonb CONSTRAINT transfers_metadata_object CHECK (jsonb_typeof(metadata) = 'object');
COMMENT ON COLUMN transfers.reference IS 'The reference the transfer request gave, if any.';
COMMENT ON COLUMN transfers.metadata IS 'The metadata the transfer request gave, if any.';
ALTER TABLE holds
    ADD COLUMN reference text CONSTRAINT holds_reference_shape CHECK (reference ~ '^[ -~]{1,64}$'),
    ADD COLUMN metadata jsonb CONSTRAINT holds_metadata_object CHECK (jsonb_typeof(metadata) = 'object');
COMMENT ON COLUMN holds.reference IS 'The reference the hold request gave, if any.';
COMMENT ON COLUMN holds.metadata IS 'The metadata the hold request gave, if any.';

-- A movement refused for its reference is remembered for its Idempotency-Key like any 409.
ALTER TABLE idempotency_keys
    DROP CONSTRAINT idempotency_keys_outcome_known,
    ADD CONSTRAINT idempotency_keys_outcome_known
        CHECK (outcome IN ('ok', 'unchanged', 'insufficient_funds', 'balance_limit_exceeded',
                           'account_not_found', 'account_frozen', 'account_closed',
                           'account_not_empty', 'hold_not_found', 'hold_not_pending',
                           'currency_mismatch', 'duplicate_reference'));
