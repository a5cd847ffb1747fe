-- The schema: accounts, their append-only journal, transfers, and the stored answers of requests
-- that carry an Idempotency-Key. The rules live in constraints, so that no code path can break
-- them; the one balance rule and the one ceiling (2^53-1, the largest integer every JSON reader
-- holds exactly) are the functions balance_allowed and cents_ceiling in db/functions.sql, which
-- the server applies before this file. Later changes to the schema are numbered files beside
-- this one; changes to the stored functions are edits of db/functions.sql.

CREATE TABLE accounts (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_number        text        NOT NULL UNIQUE CHECK (account_number ~ '^[0-9]{16}$'),
    balance_cents         bigint      NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL DEFAULT now(),
    overdraft_limit_cents bigint      NOT NULL DEFAULT 0
        CONSTRAINT accounts_overdraft_limit_range
        CHECK (overdraft_limit_cents BETWEEN 0 AND cents_ceiling()),
    CONSTRAINT accounts_balance_range CHECK (balance_allowed(balance_cents, overdraft_limit_cents))
);
COMMENT ON TABLE accounts IS 'One row per account. Never deleted: a number that finds no row was never opened.';
COMMENT ON COLUMN accounts.id IS 'Internal key; rows are locked in id order by every writer, so writers never deadlock.';
COMMENT ON COLUMN accounts.account_number IS '16 digits: 14 random, 2 ISO 7064 MOD 97-10 check digits. What clients see.';
COMMENT ON COLUMN accounts.balance_cents IS 'Current balance in cents; always the sum of the account''s entries.';
COMMENT ON COLUMN accounts.created_at IS 'When the account was opened.';
COMMENT ON COLUMN accounts.overdraft_limit_cents IS 'How far below zero the balance may go, in cents; 0 means no overdraft.';

CREATE TABLE transfers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_account_id bigint      NOT NULL REFERENCES accounts (id),
    to_account_id   bigint      NOT NULL REFERENCES accounts (id),
    amount_cents    bigint      NOT NULL
        CONSTRAINT transfers_amount_cents_check CHECK (amount_cents BETWEEN 1 AND cents_ceiling()),
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT transfers_check CHECK (from_account_id <> to_account_id)
);
COMMENT ON TABLE transfers IS 'One row per transfer; its two journal entries point at it. Append-only.';
COMMENT ON COLUMN transfers.id IS 'The transfer id clients see (GET /api/transfers/{id}).';
COMMENT ON COLUMN transfers.from_account_id IS 'The account the money left.';
COMMENT ON COLUMN transfers.to_account_id IS 'The account the money reached; never the same as from.';
COMMENT ON COLUMN transfers.amount_cents IS 'How much moved, in cents, at least 1.';
COMMENT ON COLUMN transfers.created_at IS 'When it was written, after its row locks were taken.';

-- The history pages through an account's entries by id (keyset pagination), which is safe because
-- every writer takes the account's row lock before inserting its entry and holds it to commit: for
-- one account, id order is commit order, so no entry appears later below a page already read.
-- That needs the identity's sequence cache to stay 1 and every entry to be written under that lock.
-- created_at is taken when the row is written, after the lock, so it follows the same order (now()
-- would give the transaction's start, and a transaction may wait a while for its locks).
CREATE TABLE entries (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id          bigint      NOT NULL REFERENCES accounts (id),
    kind                text        NOT NULL,
    amount_cents        bigint      NOT NULL,
    balance_after_cents bigint      NOT NULL
        CONSTRAINT entries_balance_after_range
        CHECK (balance_after_cents BETWEEN -cents_ceiling() AND cents_ceiling()),
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    transfer_id         bigint      REFERENCES transfers (id),
    CONSTRAINT entries_kind_and_sign
        CHECK ((kind IN ('deposit', 'transfer_in') AND amount_cents BETWEEN 1 AND cents_ceiling())
            OR (kind IN ('withdrawal', 'transfer_out')
                AND amount_cents BETWEEN -cents_ceiling() AND -1)),
    CONSTRAINT entries_transfer_legs
        CHECK ((kind IN ('transfer_in', 'transfer_out')) = (transfer_id IS NOT NULL))
);
CREATE INDEX entries_account_id_id_idx ON entries (account_id, id);
CREATE INDEX entries_transfer_id_idx ON entries (transfer_id) WHERE transfer_id IS NOT NULL;
COMMENT ON TABLE entries IS 'The journal: one row per change of a balance. Append-only (triggers refuse UPDATE, DELETE, TRUNCATE).';
COMMENT ON COLUMN entries.id IS 'Journal order; for one account also commit order (see the comment above the table).';
COMMENT ON COLUMN entries.account_id IS 'The account whose balance changed.';
COMMENT ON COLUMN entries.kind IS 'deposit, withdrawal, transfer_in or transfer_out.';
COMMENT ON COLUMN entries.amount_cents IS 'Signed change in cents: positive in, negative out, so balance = sum(amount_cents).';
COMMENT ON COLUMN entries.balance_after_cents IS 'The account''s balance right after this entry.';
COMMENT ON COLUMN entries.created_at IS 'When it was written, after the account''s row lock was taken.';
COMMENT ON COLUMN entries.transfer_id IS 'The transfer this entry is a leg of; NULL for deposits and withdrawals.';

CREATE TRIGGER entries_no_update_or_delete
    BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION entries_are_append_only();
CREATE TRIGGER entries_no_truncate
    BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION entries_are_append_only();
CREATE TRIGGER transfers_no_update_or_delete
    BEFORE UPDATE OR DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION entries_are_append_only();
CREATE TRIGGER transfers_no_truncate
    BEFORE TRUNCATE ON transfers
    FOR EACH STATEMENT EXECUTE FUNCTION entries_are_append_only();

-- What a request carrying an Idempotency-Key answered, written in the same transaction as its
-- effect, so a retry gets the same answer and never a second effect. A success points at the one
-- effect it made (an account, a journal entry or a transfer); a refusal made none.
CREATE TABLE idempotency_keys (
    client      text        NOT NULL DEFAULT '' CHECK (client ~ '^[A-Za-z0-9_.-]{0,32}$'),
    key         text        NOT NULL CHECK (key ~ '^[ -~]{1,255}$'),
    fingerprint text        NOT NULL,
    http_status integer     NOT NULL CHECK (http_status >= 200 AND http_status <= 499),
    body        text        NOT NULL,
    location    text,
    account_id  bigint      REFERENCES accounts (id),
    entry_id    bigint      REFERENCES entries (id),
    transfer_id bigint      REFERENCES transfers (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client, key),
    CHECK (num_nonnulls(account_id, entry_id, transfer_id)
           = CASE WHEN http_status < 300 THEN 1 ELSE 0 END)
);
-- The clean-up deletes the oldest keys first.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
-- One effect, one key: no answer is ever stored twice for the same account, entry or transfer.
CREATE UNIQUE INDEX idempotency_keys_account_id_key ON idempotency_keys (account_id);
CREATE UNIQUE INDEX idempotency_keys_entry_id_key ON idempotency_keys (entry_id);
CREATE UNIQUE INDEX idempotency_keys_transfer_id_key ON idempotency_keys (transfer_id);
COMMENT ON TABLE idempotency_keys IS 'The stored answer of each request that carried an Idempotency-Key, kept for MX_IDEMPOTENCY_TTL.';
COMMENT ON COLUMN idempotency_keys.client IS 'The API key id of the client (empty without API keys): keys are per client.';
COMMENT ON COLUMN idempotency_keys.key IS 'The Idempotency-Key header as sent: 1 to 255 printable ASCII characters.';
COMMENT ON COLUMN idempotency_keys.fingerprint IS 'Method, route, account and body of the first request: a different request with the key is refused.';
COMMENT ON COLUMN idempotency_keys.http_status IS 'The stored answer''s status; 5xx answers are never stored.';
COMMENT ON COLUMN idempotency_keys.body IS 'The stored answer''s JSON body, replayed byte for byte.';
COMMENT ON COLUMN idempotency_keys.location IS 'The stored answer''s Location header, if any.';
COMMENT ON COLUMN idempotency_keys.account_id IS 'The account a successful creation made.';
COMMENT ON COLUMN idempotency_keys.entry_id IS 'The journal entry a successful deposit or withdrawal made.';
COMMENT ON COLUMN idempotency_keys.transfer_id IS 'The transfer a successful transfer made.';
COMMENT ON COLUMN idempotency_keys.created_at IS 'When the answer was stored; the clean-up removes it after the time to live.';
