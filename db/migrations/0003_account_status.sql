-- Accounts that can be frozen and closed. The status is on the account's row, changed only under
-- the row's lock by apply_batch (db/functions.sql), and every change is a journal entry of amount
-- 0 (freeze, unfreeze, close), so the history shows it and balance = sum(entries) still holds.
ALTER TABLE accounts
    ADD COLUMN status text NOT NULL DEFAULT 'active'
        CONSTRAINT accounts_status_known CHECK (status IN ('active', 'frozen', 'closed')),
    -- Closing is only allowed from an empty account, and a closed one never moves again.
    ADD CONSTRAINT accounts_closed_is_empty CHECK (status <> 'closed' OR balance_cents = 0);
COMMENT ON COLUMN accounts.status IS 'active (the default), frozen (no money moves in or out, reads work) or closed (final; only from a balance of 0).';

ALTER TABLE entries
    DROP CONSTRAINT entries_kind_and_sign,
    ADD CONSTRAINT entries_kind_and_sign
        CHECK ((kind IN ('deposit', 'transfer_in') AND amount_cents BETWEEN 1 AND cents_ceiling())
            OR (kind IN ('withdrawal', 'transfer_out')
                AND amount_cents BETWEEN -cents_ceiling() AND -1)
            OR (kind IN ('freeze', 'unfreeze', 'close') AND amount_cents = 0));
COMMENT ON COLUMN entries.kind IS 'deposit, withdrawal, transfer_in, transfer_out (money moved), or freeze, unfreeze, close (the account''s status changed; amount 0).';

-- What a keyed freeze, unfreeze or close came to is stored like a move's: a change points at its
-- journal entry; "unchanged" (already in that status) and the refusals point at nothing.
ALTER TABLE idempotency_keys
    DROP CONSTRAINT idempotency_keys_outcome_known,
    ADD CONSTRAINT idempotency_keys_outcome_known
        CHECK (outcome IN ('ok', 'unchanged', 'insufficient_funds', 'balance_limit_exceeded',
                           'account_not_found', 'account_frozen', 'account_closed',
                           'account_not_empty'));
