-- The ledger: overdraft limits, transfers between accounts, and the stored outcomes of requests
-- that carry an Idempotency-Key. As in 0001, the rules live in constraints, so no code path can
-- break them.

-- An account may go down to minus its overdraft limit and no further; the constraint follows the
-- limit of each row.
ALTER TABLE accounts
    ADD COLUMN overdraft_limit_cents bigint NOT NULL DEFAULT 0
        CONSTRAINT accounts_overdraft_limit_range
        CHECK (overdraft_limit_cents >= 0 AND overdraft_limit_cents <= 9007199254740991);
ALTER TABLE accounts DROP CONSTRAINT accounts_balance_cents_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_balance_range
    CHECK (balance_cents >= -overdraft_limit_cents AND balance_cents <= 9007199254740991);

CREATE TABLE transfers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_account_id bigint      NOT NULL REFERENCES accounts (id),
    to_account_id   bigint      NOT NULL REFERENCES accounts (id),
    amount_cents    bigint      NOT NULL
                    CHECK (amount_cents >= 1 AND amount_cents <= 9007199254740991),
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (from_account_id <> to_account_id)
);

-- A transfer is two journal entries, transfer_out on one account and transfer_in on the other,
-- both pointing at it; deposits and withdrawals point at none.
ALTER TABLE entries ADD COLUMN transfer_id bigint REFERENCES transfers (id);
ALTER TABLE entries DROP CONSTRAINT entries_check;
ALTER TABLE entries DROP CONSTRAINT entries_balance_after_cents_check;
ALTER TABLE entries ADD CONSTRAINT entries_balance_after_range
    CHECK (balance_after_cents >= -9007199254740991 AND balance_after_cents <= 9007199254740991);
ALTER TABLE entries ADD CONSTRAINT entries_kind_and_sign
    CHECK ((kind IN ('deposit', 'transfer_in')
            AND amount_cents >= 1 AND amount_cents <= 9007199254740991)
        OR (kind IN ('withdrawal', 'transfer_out')
            AND amount_cents <= -1 AND amount_cents >= -9007199254740991));
ALTER TABLE entries ADD CONSTRAINT entries_transfer_legs
    CHECK ((kind IN ('transfer_in', 'transfer_out')) = (transfer_id IS NOT NULL));
CREATE INDEX entries_transfer_id_idx ON entries (transfer_id) WHERE transfer_id IS NOT NULL;

-- The history pages through an account's entries by id (keyset pagination), which is safe because
-- every writer takes the account's row lock before inserting its entry and holds it to commit: for
-- one account, id order is commit order, so no entry appears later below a page already read.
-- That needs the identity's sequence cache to stay 1 and every entry to be written under that lock.
-- created_at is taken when the row is written, after the lock, so it follows the same order (now()
-- would give the transaction's start, and a transaction may wait a while for its locks).
ALTER TABLE entries ALTER COLUMN created_at SET DEFAULT clock_timestamp();

-- Transfers are journal too: kept forever, never changed.
CREATE OR REPLACE FUNCTION entries_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER transfers_no_update_or_delete
    BEFORE UPDATE OR DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION entries_are_append_only();

CREATE TRIGGER transfers_no_truncate
    BEFORE TRUNCATE ON transfers
    FOR EACH STATEMENT EXECUTE FUNCTION entries_are_append_only();

-- What a request carrying an Idempotency-Key answered, written in the same transaction as its
-- effect, so a retry gets the same answer and never a second effect. A success points at the one
-- effect it made (an account, a journal entry or a transfer); a refusal made none. Keys belong to
-- a client: the id of its API key ('' when the service runs without API keys), so two clients
-- never see each other's answers.
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

-- Serialises the requests that carry one key: the first holds a transaction-scoped lock on the
-- key until it commits or rolls back; another waits for at most p_wait (a lock_timeout value; on
-- timeout it fails with SQLSTATE 55P03) and then reads what the first stored. The read is a new
-- statement, so at READ COMMITTED (which the caller's BEGIN asks for) it sees an outcome committed
-- while we waited. No row: the key is new, and the caller's transaction owns it.
CREATE FUNCTION idempotency_claim(p_client text, p_key text, p_wait text)
RETURNS TABLE (fingerprint text, http_status integer, body text, location text)
LANGUAGE plpgsql AS $$
DECLARE
    usual_wait text := current_setting('lock_timeout');
BEGIN
    PERFORM set_config('lock_timeout', p_wait, true);
    PERFORM pg_advisory_xact_lock(hashtextextended(p_client || '/' || p_key, 0));
    PERFORM set_config('lock_timeout', usual_wait, true);
    RETURN QUERY
        SELECT k.fingerprint, k.http_status, k.body, k.location
        FROM idempotency_keys k WHERE k.client = p_client AND k.key = p_key;
END
$$;

-- Moves p_amount from one account to another, all or nothing. Both rows are locked in id order,
-- so transfers crossing in opposite directions queue behind each other instead of deadlocking.
-- Refusals are outcomes, not errors: o_outcome is 'ok', 'account_not_found',
-- 'insufficient_funds' or 'balance_limit_exceeded', and only 'ok' changes anything.
CREATE FUNCTION transfer_funds(p_from text, p_to text, p_amount bigint, p_ceiling bigint,
                               OUT o_outcome text, OUT o_transfer_id bigint,
                               OUT o_from_balance bigint, OUT o_to_balance bigint,
                               OUT o_created_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    locked accounts%ROWTYPE;
    from_row accounts%ROWTYPE;
    to_row accounts%ROWTYPE;
BEGIN
    FOR locked IN
        SELECT * FROM accounts WHERE account_number IN (p_from, p_to) ORDER BY id FOR UPDATE
    LOOP
        IF locked.account_number = p_from THEN
            from_row := locked;
        ELSE
            to_row := locked;
        END IF;
    END LOOP;
    IF from_row.id IS NULL OR to_row.id IS NULL THEN
        o_outcome := 'account_not_found';
        RETURN;
    END IF;
    -- The rows are locked, so these are the balances the updates below change.
    IF from_row.balance_cents - p_amount < -from_row.overdraft_limit_cents THEN
        o_outcome := 'insufficient_funds';
        RETURN;
    END IF;
    IF to_row.balance_cents > p_ceiling - p_amount THEN
        o_outcome := 'balance_limit_exceeded';
        RETURN;
    END IF;
    INSERT INTO transfers (from_account_id, to_account_id, amount_cents)
        VALUES (from_row.id, to_row.id, p_amount)
        RETURNING id, created_at INTO o_transfer_id, o_created_at;
    UPDATE accounts SET balance_cents = balance_cents - p_amount WHERE id = from_row.id
        RETURNING balance_cents INTO o_from_balance;
    UPDATE accounts SET balance_cents = balance_cents + p_amount WHERE id = to_row.id
        RETURNING balance_cents INTO o_to_balance;
    INSERT INTO entries (account_id, kind, amount_cents, balance_after_cents, transfer_id)
        VALUES (from_row.id, 'transfer_out', -p_amount, o_from_balance, o_transfer_id),
               (to_row.id, 'transfer_in', p_amount, o_to_balance, o_transfer_id);
    o_outcome := 'ok';
END
$$;
