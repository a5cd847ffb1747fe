-- The stored functions: the balance rule, the journal's guard, and every operation that is more
-- than one statement. Applied at every start-up, before the numbered schema files and in the same
-- transaction under the same advisory lock, so changing a function is an edit of this file.
-- Everything here is CREATE OR REPLACE; a function whose arguments change is dropped first in the
-- "retired" list, since CREATE OR REPLACE would add an overload instead. Bodies are checked when
-- first called, not here (check_function_bodies is off while this runs): on an empty database
-- the tables they use do not exist yet.

-- ---- retired signatures ---------------------------------------------------------------------------
-- The ceiling used to travel from C as an argument; it is cents_ceiling() now.
DROP FUNCTION IF EXISTS move_batch(text[], bigint[], bigint);
DROP FUNCTION IF EXISTS move_batch_in_order(text[], bigint[], bigint);
DROP FUNCTION IF EXISTS transfer_funds(text, text, bigint, bigint);

-- ---- the rule ---------------------------------------------------------------------------------------
-- 2^53-1: the largest balance, sum or limit, and the largest integer every JSON reader holds
-- exactly. Written here once; the constraints and the functions below use it.
CREATE OR REPLACE FUNCTION cents_ceiling() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 9007199254740991;

-- A balance an account may have: down to minus its overdraft limit, up to the ceiling. The CHECK
-- on accounts and every guarded UPDATE ask this one function (inlined by the planner).
CREATE OR REPLACE FUNCTION balance_allowed(p_balance bigint, p_overdraft_limit bigint)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN p_balance BETWEEN -p_overdraft_limit AND cents_ceiling();

-- ---- the journal is append-only --------------------------------------------------------------------
CREATE OR REPLACE FUNCTION entries_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

-- ---- idempotency keys -------------------------------------------------------------------------------
-- Serialises the requests that carry one key: the first holds a transaction-scoped lock on the
-- key until it commits or rolls back; another waits for at most p_wait (a lock_timeout value; on
-- timeout it fails with SQLSTATE 55P03) and then reads what the first stored. The read is a new
-- statement, so at READ COMMITTED (which the caller's BEGIN asks for) it sees an outcome committed
-- while we waited. No row: the key is new, and the caller's transaction owns it.
CREATE OR REPLACE FUNCTION idempotency_claim(p_client text, p_key text, p_wait text)
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

-- ---- transfers --------------------------------------------------------------------------------------
-- Moves p_amount from one account to another, all or nothing. Both rows are locked in id order,
-- so transfers crossing in opposite directions queue behind each other instead of deadlocking.
-- Refusals are outcomes, not errors: o_outcome is 'ok', 'account_not_found',
-- 'insufficient_funds' or 'balance_limit_exceeded', and only 'ok' changes anything.
CREATE OR REPLACE FUNCTION transfer_funds(p_from text, p_to text, p_amount bigint,
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
    -- The rows are locked, so these are the balances the updates below change. The sum is at
    -- most the ceiling, so neither subtraction nor addition overflows a bigint.
    IF NOT balance_allowed(from_row.balance_cents - p_amount, from_row.overdraft_limit_cents) THEN
        o_outcome := 'insufficient_funds';
        RETURN;
    END IF;
    IF NOT balance_allowed(to_row.balance_cents + p_amount, to_row.overdraft_limit_cents) THEN
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

-- ---- deposits and withdrawals of many requests at once -------------------------------------------
-- One round trip, one transaction and one commit (one WAL flush) for all of them: group commit.
-- Each operation keeps its own guard and gets its own answer; a refused one changes nothing, and
-- the others still happen. o_found: the account exists; o_moved: the guard held and the entry is
-- o_entry_id.
--
-- Operations on one account keep their order in the batch (ord), the order their requests arrived
-- in: this one does them one at a time, since each one's guard depends on those before it.
CREATE OR REPLACE FUNCTION move_batch_in_order(p_numbers text[], p_deltas bigint[])
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
                AND balance_allowed(balance_cents + op.delta, overdraft_limit_cents)
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

-- The batch a set at a time (measured: a call with 64 deposits went from 5-6 ms to 3-4 ms of
-- PostgreSQL's time):
-- 1. Every row the batch touches is locked first, in account id order (as transfer_funds does),
--    so two batches -- or a batch and a transfer -- queue behind each other instead of deadlocking.
--    NO KEY UPDATE, the lock the UPDATE itself takes: foreign-key checks on these accounts need
--    not wait. Accounts are never deleted, so a number that finds no row here is unknown (and so
--    is a NULL: every ord gets its row, whatever the input).
-- 2. The accounts that appear once: one UPDATE, each row with its own guard, and one INSERT of
--    their journal entries. Each is its own statement, so it reads the newest (now locked) rows.
-- 3. An account that appears more than once goes through move_batch_in_order.
--
-- A batch that waits for a row lock holds up every operation queued behind it, on any account, so
-- it waits at most 5 s; then the statement fails with 55P03 and nothing of the batch is changed.
CREATE OR REPLACE FUNCTION move_batch(p_numbers text[], p_deltas bigint[])
RETURNS TABLE (o_ord integer, o_found boolean, o_moved boolean, o_balance bigint,
               o_entry_id bigint)
LANGUAGE plpgsql
SET lock_timeout = '5s'
AS $$
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
          AND balance_allowed(a.balance_cents + p_deltas[array_position(p_numbers, a.account_number)],
                              a.overdraft_limit_cents)
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
    FROM move_batch_in_order(v_numbers, v_deltas) AS r;
END
$$;
