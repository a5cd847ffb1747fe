-- A database as the service left it before its schema was squashed into db/migrations/0001_baseline.sql:
-- the five migration files it applied, in order, and their rows in schema_migrations. Kept to test
-- that such a database still starts, with its accounts (functional.schema).

-- ---- 0001_init.sql
-- Accounts and their append-only journal. The balance rules live here too, so no code path can
-- break them: 0 <= balance <= 2^53-1, and every entry is kept forever.

CREATE TABLE accounts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_number text        NOT NULL UNIQUE CHECK (account_number ~ '^[0-9]{16}$'),
    balance_cents  bigint      NOT NULL DEFAULT 0
                   CHECK (balance_cents >= 0 AND balance_cents <= 9007199254740991),
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- amount_cents is signed (+ deposit, - withdrawal) so that balance = sum(amount_cents).
CREATE TABLE entries (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id          bigint      NOT NULL REFERENCES accounts (id),
    kind                text        NOT NULL,
    amount_cents        bigint      NOT NULL,
    balance_after_cents bigint      NOT NULL
                        CHECK (balance_after_cents >= 0 AND balance_after_cents <= 9007199254740991),
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'deposit' AND amount_cents > 0 AND amount_cents <= 9007199254740991)
        OR (kind = 'withdrawal' AND amount_cents < 0 AND amount_cents >= -9007199254740991))
);

CREATE INDEX entries_account_id_id_idx ON entries (account_id, id);

CREATE FUNCTION entries_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only: % on entries refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER entries_no_update_or_delete
    BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION entries_are_append_only();

CREATE TRIGGER entries_no_truncate
    BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION entries_are_append_only();

-- ---- 0002_ledger.sql
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

-- ---- 0003_batches.sql
-- Deposits and withdrawals of many requests in one statement: one round trip, one transaction and
-- one commit (one WAL flush) for all of them -- group commit. Each operation keeps its own guard
-- and gets its own answer; a refused one changes nothing, and the others still happen.
--
-- The rows are locked in account id order (as transfer_funds does), so two batches -- or a batch
-- and a transfer -- touching the same accounts queue behind each other instead of deadlocking.
-- Operations on one account keep their order in the batch (ord), which is the order their
-- requests arrived in.
--
-- o_found: the account exists; o_moved: the guard held and the entry is o_entry_id.
CREATE FUNCTION move_batch(p_numbers text[], p_deltas bigint[], p_ceiling bigint)
RETURNS TABLE (o_ord integer, o_found boolean, o_moved boolean, o_balance bigint,
               o_entry_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    op record;
BEGIN
    FOR op IN
        SELECT u.ord::integer AS ord, u.delta, a.id AS account_id
        FROM unnest(p_numbers, p_deltas) WITH ORDINALITY AS u(number, delta, ord)
        LEFT JOIN accounts a ON a.account_number = u.number
        ORDER BY a.id NULLS FIRST, u.ord
    LOOP
        o_ord := op.ord;
        o_found := op.account_id IS NOT NULL;
        o_moved := false;
        o_balance := NULL;
        o_entry_id := NULL;
        IF o_found THEN
            -- Its own statement, so the guard is checked on the newest version of the row.
            UPDATE accounts SET balance_cents = balance_cents + op.delta
                WHERE id = op.account_id
                AND balance_cents + op.delta BETWEEN -overdraft_limit_cents AND p_ceiling
                RETURNING balance_cents INTO o_balance;
            o_moved := FOUND;
            IF o_moved THEN
                INSERT INTO entries (account_id, kind, amount_cents, balance_after_cents)
                    VALUES (op.account_id,
                            CASE WHEN op.delta > 0 THEN 'deposit' ELSE 'withdrawal' END,
                            op.delta, o_balance)
                    RETURNING id INTO o_entry_id;
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

-- ---- 0004_set_based_batches.sql
-- move_batch, the same rules and answers as in 0003, with the work done a set at a time: one UPDATE
-- and one INSERT for every account that appears once in the batch, instead of two statements per
-- operation. Measured (README "Performance"): a call with 64 deposits took PostgreSQL about 5-6 ms
-- and now takes 3-4 ms; deposits at 64 connections went from about 10k to 16-17k requests/s.
--
-- 1. Every row the batch touches is locked first, in account id order (as transfer_funds does),
--    so two batches -- or a batch and a transfer -- queue behind each other instead of deadlocking.
--    NO KEY UPDATE, the lock the UPDATE itself takes: foreign-key checks on these accounts need
--    not wait. Accounts are never deleted, so a number that finds no row here is unknown (and so
--    is a NULL: every ord gets its row, whatever the input).
-- 2. The accounts that appear once: one UPDATE, each row with its own guard, and one INSERT of
--    their journal entries. Each is its own statement, so it reads the newest (now locked) rows.
-- 3. An account that appears more than once keeps the order of its operations (ord, the order
--    their requests arrived in): 0003's function, renamed, does those one at a time, since each
--    one's guard depends on those before it.
ALTER FUNCTION move_batch(text[], bigint[], bigint) RENAME TO move_batch_in_order;

CREATE FUNCTION move_batch(p_numbers text[], p_deltas bigint[], p_ceiling bigint)
RETURNS TABLE (o_ord integer, o_found boolean, o_moved boolean, o_balance bigint,
               o_entry_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_found text[]; -- the numbers that exist, each once
    v_once text[];  -- those of them that appear once in the batch
    v_numbers text[];
    v_deltas bigint[];
    v_ords integer[];
BEGIN
    SELECT coalesce(array_agg(l.account_number), '{}') INTO v_found FROM (
        SELECT a.account_number FROM accounts a WHERE a.account_number = ANY (p_numbers)
        ORDER BY a.id FOR NO KEY UPDATE) l;
    SELECT coalesce(array_agg(f.number), '{}') INTO v_once FROM unnest(v_found) AS f(number)
    WHERE array_position(p_numbers, f.number, array_position(p_numbers, f.number) + 1) IS NULL;

    -- For a number in v_once, array_position gives its one ord.
    RETURN QUERY
    WITH moved AS (
        UPDATE accounts a
        SET balance_cents = a.balance_cents + p_deltas[array_position(p_numbers, a.account_number)]
        WHERE a.account_number = ANY (v_once)
          AND a.balance_cents + p_deltas[array_position(p_numbers, a.account_number)]
              BETWEEN -a.overdraft_limit_cents AND p_ceiling
        RETURNING array_position(p_numbers, a.account_number) AS ord, a.id, a.balance_cents),
    journal AS (
        INSERT INTO entries (account_id, kind, amount_cents, balance_after_cents)
        SELECT m.id, CASE WHEN p_deltas[m.ord] > 0 THEN 'deposit' ELSE 'withdrawal' END,
               p_deltas[m.ord], m.balance_cents
        FROM moved m
        RETURNING id, account_id)
    SELECT u.ord::integer, coalesce(u.number = ANY (v_found), false), m.ord IS NOT NULL,
           m.balance_cents, j.id
    FROM unnest(p_numbers) WITH ORDINALITY AS u(number, ord)
    LEFT JOIN moved m ON m.ord = u.ord
    LEFT JOIN journal j ON j.account_id = m.id
    WHERE u.number = ANY (v_once) OR (u.number = ANY (v_found)) IS NOT TRUE;

    IF cardinality(v_once) = cardinality(v_found) THEN
        RETURN;
    END IF;
    -- The rest, in arrival order; its answers' ords are positions in v_ords.
    SELECT array_agg(u.number ORDER BY u.ord), array_agg(u.delta ORDER BY u.ord),
           array_agg(u.ord::integer ORDER BY u.ord)
    INTO v_numbers, v_deltas, v_ords
    FROM unnest(p_numbers, p_deltas) WITH ORDINALITY AS u(number, delta, ord)
    WHERE u.number = ANY (v_found) AND NOT u.number = ANY (v_once);
    RETURN QUERY
    SELECT v_ords[r.o_ord], r.o_found, r.o_moved, r.o_balance, r.o_entry_id
    FROM move_batch_in_order(v_numbers, v_deltas, p_ceiling) AS r;
END
$$;

-- ---- 0005_batch_lock_timeout.sql
-- A batch that waits for a row lock holds up every deposit and withdrawal queued behind it, on
-- any account (one batch at a time per writer). So move_batch waits at most 5 s for a lock; then
-- the statement fails with 55P03 and nothing of the batch is changed. The batcher (batcher.c)
-- refuses the operations on accounts another session holds, 503 unavailable (try again), and
-- sends the rest again at once. The bound is per batch: while a row stays locked (an open
-- transaction in another session), each batch with an operation on its account waits its 5 s.
ALTER FUNCTION move_batch(text[], bigint[], bigint) SET lock_timeout = '5s';

CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
INSERT INTO schema_migrations (version) VALUES ('0001_init'), ('0002_ledger'), ('0003_batches'),
    ('0004_set_based_batches'), ('0005_batch_lock_timeout');
