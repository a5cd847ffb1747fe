-- The stored functions: the balance rule, the journal's guard, and every operation that is more
-- than one statement. Applied at every start-up, before the numbered schema files and in the same
-- transaction under the same advisory lock, so changing a function is an edit of this file.
-- Everything here is CREATE OR REPLACE; a function whose arguments change is dropped first in the
-- "retired" list, since CREATE OR REPLACE would add an overload instead. Bodies are checked when
-- first called, not here (check_function_bodies is off while this runs): on an empty database
-- the tables they use do not exist yet.

-- ---- retired signatures ---------------------------------------------------------------------------
-- apply_batch before holds (p_holds, p_seconds) and its earlier shapes.
DROP FUNCTION IF EXISTS apply_batch(text[], text[], text[], bigint[], text[], text[], text[],
                                    bigint[], boolean);
-- apply_batch before references and metadata (p_references, p_metadata).
DROP FUNCTION IF EXISTS apply_batch(text[], text[], text[], bigint[], bigint[], integer[], text[],
                                    text[], text[], bigint[], boolean);
-- held_cents, a scalar function the planner cannot inline, is pending_holds now.
DROP FUNCTION IF EXISTS held_cents(bigint);
DROP FUNCTION IF EXISTS held_cents(bigint, timestamptz);
DROP FUNCTION IF EXISTS apply_batch(text[], text[], text[], bigint[], text[], text[], text[],
                                    boolean);
-- The ceiling used to travel from C as an argument; it is cents_ceiling() now.
DROP FUNCTION IF EXISTS move_batch(text[], bigint[], bigint);
DROP FUNCTION IF EXISTS move_batch_in_order(text[], bigint[], bigint);
-- Replaced by apply_batch, which claims keys, makes effects and stores outcomes in one call.
DROP FUNCTION IF EXISTS move_batch(text[], bigint[]);
DROP FUNCTION IF EXISTS move_batch_in_order(text[], bigint[]);
DROP FUNCTION IF EXISTS idempotency_claim(text, text, text);
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

-- What an account's pending holds keep back at p_at (a read passes now(), the transaction's
-- time; a batch the instant it holds its locks): those that have not expired by then. The
-- available balance is the balance minus this; expiry needs no sweep, it is this comparison.
-- One row, used as LATERAL pending_holds(id, at): a set-returning SQL function, which the
-- planner inlines into the statement (a scalar one it would run apart, per row, some 50 us).
CREATE OR REPLACE FUNCTION pending_holds(p_account_id bigint, p_at timestamptz)
    RETURNS TABLE (held_cents bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce(sum(h.amount_cents), 0)::bigint FROM holds h
    WHERE h.account_id = p_account_id AND h.status = 'pending' AND h.expires_at > p_at
$$;

-- ---- the journal is append-only --------------------------------------------------------------------
CREATE OR REPLACE FUNCTION entries_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

-- ---- transfers --------------------------------------------------------------------------------------
-- One transfer on its own, all or nothing: what a client of the database alone would call (the
-- benchmark's reference for transfers; the service sends its transfers in apply_batch). Both rows are locked in id order,
-- so transfers crossing in opposite directions queue behind each other instead of deadlocking.
-- Refusals are outcomes, not errors: o_outcome is 'ok', 'account_not_found', 'currency_mismatch',
-- 'insufficient_funds' or 'balance_limit_exceeded', and only 'ok' changes anything. A row held
-- elsewhere is waited for at most 5 s, as a batch waits: then the call fails with 55P03 and
-- changes nothing.
CREATE OR REPLACE FUNCTION transfer_funds(p_from text, p_to text, p_amount bigint,
                                          OUT o_outcome text, OUT o_transfer_id bigint,
                                          OUT o_from_balance bigint, OUT o_to_balance bigint,
                                          OUT o_created_at timestamptz)
LANGUAGE plpgsql
SET lock_timeout = '5s'
AS $$
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
    IF from_row.currency <> to_row.currency THEN
        o_outcome := 'currency_mismatch';
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
    WITH journal AS (
        INSERT INTO entries (account_id, kind, amount_cents, balance_after_cents, transfer_id)
            VALUES (from_row.id, 'transfer_out', -p_amount, o_from_balance, o_transfer_id),
                   (to_row.id, 'transfer_in', p_amount, o_to_balance, o_transfer_id)
            RETURNING id, account_id, kind, amount_cents, balance_after_cents, created_at)
    INSERT INTO events (account_id, type, amount_cents, balance_after_cents, entry_id, created_at)
    SELECT j.account_id, j.kind, j.amount_cents, j.balance_after_cents, j.id, j.created_at
    FROM journal j ORDER BY j.id;
    o_outcome := 'ok';
END
$$;

-- ---- every money-moving or creating request of a loop turn, at once ------------------------------
-- One call per batch: one transaction and one commit for every operation in it, each with its own
-- guard and its own answer; a refused operation changes nothing, and the others still happen.
-- Operation i (its ord) is p_kinds[i] with the i-th element of every other array:
--   deposit, withdraw  p_accounts[i], p_amounts[i] (the sum, >= 1)
--   transfer           from p_accounts[i] to p_others[i], p_amounts[i]
--   create             the new number p_accounts[i] (drawn by the caller), p_amounts[i] its
--                      overdraft limit, p_others[i] its currency (NULL: EUR)
--   freeze, unfreeze,  the status of account p_accounts[i]: each change is a journal entry of
--   close              amount 0; close only from a balance of 0 with no pending hold
--   set_overdraft      the overdraft limit of account p_accounts[i] becomes p_amounts[i], unless
--                      its available balance would then already be too low
--   hold               on p_accounts[i], p_amounts[i] held for p_seconds[i] seconds
--   capture            hold p_holds[i]: its account is debited p_amounts[i] (0: the whole sum held)
--   void               hold p_holds[i], released
-- A move, hold or capture may carry p_references[i], the client's own reference, unique per
-- account among movements (a transfer's is its from account's, a capture's its hold's), and
-- p_metadata[i]; both are stored with its entries, transfer or hold.
-- And, when p_keys[i] is not NULL, the Idempotency-Key of client p_clients[i] for the request
-- p_fingerprints[i], in the caller's attempt p_attempts[i]: its claim, its effect and its stored
-- outcome are written here, together.
--
-- The available balance is the balance minus the account's pending holds that have not expired
-- (at the transaction's time); withdrawals, transfers out and new holds keep it at or above minus
-- the overdraft limit. The operations happen in ord order, each on the balances the ones before
-- it left, but every account's row is updated once and its journal entries are inserted
-- together: a hot account costs one row update per batch, not one per request. Locks are taken
-- in one global order -- the batch's keys (advisory, by hash), then its accounts by id, as
-- transfer_funds does -- so concurrent batches queue behind each other and never deadlock; a hold
-- changes only under its account's lock. A lock held elsewhere is waited for at most 5 s
-- (lock_timeout: the call fails with 55P03 and changes nothing). Called again with p_skip_locked,
-- it waits for none: the operations whose key or account another session holds get 'key_in_use'
-- or 'busy' and change nothing, and the rest happen.
--
-- One row per operation. o_outcome: ok, unchanged (freeze or unfreeze of an account already in
-- that status), insufficient_funds, balance_limit_exceeded, account_not_found, account_frozen,
-- account_closed (no money moves in or out; nothing changes a closed account), currency_mismatch
-- (a transfer between accounts of two currencies), unknown_currency (a create's; never stored for
-- a key, like any 400), duplicate_reference (the account has a movement with this reference),
-- account_not_empty
-- (close of an account whose balance is not 0 or that has a pending hold), hold_not_found,
-- hold_not_pending (captured, voided or expired), capture_exceeds_hold (never stored for a key,
-- like any 400), key_reused (the key belongs to another request), key_in_use, busy, number_taken
-- (create: draw another number; nothing was stored). o_replayed: the key had been used for this
-- very request, and the row is its stored outcome; o_own: stored by the attempt p_attempts[i]
-- names (the caller's own, whose answer was lost). Then o_number is the account's number,
-- o_balance the balance after (a transfer's from side), o_other_balance a transfer's to side,
-- o_available the available balance after (not for transfers), o_overdraft the limit, o_id the
-- entry, transfer, account or hold made or changed, o_created_at a transfer's, an account's or a
-- hold's time, o_status the account's status (or the hold's: pending, captured, voided), and for
-- a hold o_sum, o_captured and o_expires_at; o_currency the account's (a transfer's from side's);
-- o_reference and o_metadata a transfer's or a hold's.
CREATE OR REPLACE FUNCTION apply_batch(p_kinds text[], p_accounts text[], p_others text[],
                                       p_amounts bigint[], p_holds bigint[], p_seconds integer[],
                                       p_references text[], p_metadata jsonb[],
                                       p_clients text[], p_keys text[], p_fingerprints text[],
                                       p_attempts bigint[], p_skip_locked boolean)
RETURNS TABLE (o_ord integer, o_outcome text, o_replayed boolean, o_own boolean, o_number text,
               o_balance bigint, o_other_balance bigint, o_available bigint, o_overdraft bigint,
               o_id bigint, o_created_at timestamptz, o_status text, o_sum bigint,
               o_captured bigint, o_expires_at timestamptz, o_currency text, o_reference text,
               o_metadata jsonb)
LANGUAGE plpgsql
SET lock_timeout = '5s'
AS $$
DECLARE
    n integer := coalesce(cardinality(p_kinds), 0);
    -- Each operation's account: p_accounts, or for a capture or void its hold's.
    account_of text[] := p_accounts;
    outcome text[];
    replayed boolean[];
    number text[];
    balance bigint[];
    other_balance bigint[];
    available bigint[];
    overdraft bigint[];
    made bigint[];
    made_at timestamptz[];
    status_of text[];
    sum_of bigint[];
    captured_of bigint[];
    expiry_of timestamptz[];
    currency_of text[];
    reference_of text[];
    metadata_of jsonb[];
    -- The batch's accounts, locked, by a dense index 1..m; op_from/op_to: each operation's.
    acc_id bigint[];
    acc_number text[];
    acc_balance bigint[];
    acc_held bigint[];
    acc_limit bigint[];
    acc_status text[];
    acc_created timestamptz[];
    acc_currency text[];
    acc_dirty boolean[];
    wanted text[];
    busy text[] := '{}';
    op_from integer[];
    op_to integer[];
    -- The batch's existing holds (captures, voids), read once their accounts are locked.
    hold_id bigint[];
    hold_amount bigint[];
    hold_status text[];
    hold_expires timestamptz[];
    hold_created timestamptz[];
    hold_captured bigint[];
    hold_reference text[];
    hold_metadata jsonb[];
    hold_dirty boolean[];
    op_hold integer[];
    -- What the batch writes, in ord order: entries (entry_of: the ord of the operation; a
    -- transfer's two legs share it), transfers and new holds.
    entry_account bigint[] := '{}';
    entry_amount bigint[] := '{}';
    entry_after bigint[] := '{}';
    entry_hold bigint[] := '{}';
    entry_ref text[] := '{}';
    entry_meta jsonb[] := '{}';
    entry_of integer[] := '{}';
    -- The entries as written (by their index above), for their change-feed events.
    entry_made bigint[];
    entry_kind text[];
    entry_made_at timestamptz[];
    -- The batch's hold events (hold made, void), each after the entries appended before it,
    -- so that an account's events keep the order of its operations (db/migrations/0008).
    hev_type text[] := '{}';
    hev_account bigint[] := '{}';
    hev_after bigint[] := '{}';
    hev_held bigint[] := '{}';
    hev_hold bigint[] := '{}';
    hev_of integer[] := '{}';
    hev_entries integer[] := '{}';
    settled timestamptz;
    transfer_of integer[] := '{}';
    new_hold_of integer[] := '{}';
    capture_entry bigint[];
    -- The references the batch's accounts have, as "account id/reference", those of its own
    -- movements included once made.
    taken_refs text[];
    -- Keys seen earlier in this batch: client/key, and the ord of their first operation.
    seen_key text[] := '{}';
    seen_ord integer[] := '{}';
    replay_of integer[];
    own boolean[];
    i integer;
    a integer;
    b integer;
    h integer;
    k integer;
    delta bigint;
    take bigint;
    key_name text;
    -- The instant the batch holds its locks: what has expired by then has expired.
    locked_at timestamptz;
    row record;
BEGIN
    -- 0. The usual batch: moves only, no key, no account twice. Every operation then depends on
    --    its own accounts alone, so one set-based statement decides and writes them all, at a
    --    fraction of the cost of the steps below. Locks are taken in the same order (id).
    IF NOT p_skip_locked AND p_kinds <@ '{deposit,withdraw,transfer}'::text[]
       AND cardinality(array_remove(p_keys, NULL)) = 0
       AND cardinality(array_remove(p_references, NULL)) = 0
       AND cardinality(array_remove(p_metadata, NULL)) = 0
       AND (SELECT count(*) = count(DISTINCT x) FROM unnest(p_accounts || p_others) AS x
            WHERE x IS NOT NULL) THEN
        -- The locks first, in a statement of their own: the next one's snapshot is taken once
        -- they are held, so it reads the rows as they are now. (Locking and updating in one
        -- statement would not do: an UPDATE of a row that committed after the statement's
        -- snapshot rechecks its join, and a CTE's rows are not seen again there -- the update is
        -- silently skipped.)
        SELECT coalesce(array_agg(l.id), '{}') INTO acc_id
        FROM (SELECT x.id FROM accounts x WHERE x.account_number = ANY (p_accounts || p_others)
              ORDER BY x.id FOR NO KEY UPDATE) l;
        -- Holds expire by the clock from here on, not by when the batch began to wait.
        locked_at := clock_timestamp();
        RETURN QUERY
        WITH op AS (
            SELECT u.ord::integer AS ord, u.kind, u.account, u.other, u.amount
            FROM unnest(p_kinds, p_accounts, p_others, p_amounts)
                WITH ORDINALITY AS u(kind, account, other, amount, ord)),
        locked AS (
            -- Exactly the rows locked above: one made since is no row of this batch.
            SELECT x.id, x.account_number, x.balance_cents, x.overdraft_limit_cents, x.status,
                   x.currency, p.held_cents AS held
            FROM accounts x CROSS JOIN LATERAL pending_holds(x.id, locked_at) p
            WHERE x.id = ANY (acc_id)),
        decided AS (
            SELECT op.*, f.id AS from_id, t.id AS to_id, f.held AS from_held,
                   f.currency AS from_currency,
                   f.balance_cents + CASE WHEN op.kind = 'deposit' THEN op.amount
                                          ELSE -op.amount END AS from_after,
                   t.balance_cents + op.amount AS to_after,
                   CASE WHEN f.id IS NULL OR (op.kind = 'transfer' AND t.id IS NULL)
                            THEN 'account_not_found'
                        WHEN 'closed' IN (f.status, t.status) THEN 'account_closed'
                        WHEN 'frozen' IN (f.status, t.status) THEN 'account_frozen'
                        WHEN f.currency <> t.currency THEN 'currency_mismatch'
                        WHEN op.kind = 'deposit'
                            THEN CASE WHEN balance_allowed(f.balance_cents + op.amount,
                                                           f.overdraft_limit_cents)
                                      THEN 'ok' ELSE 'balance_limit_exceeded' END
                        WHEN NOT balance_allowed(f.balance_cents - f.held - op.amount,
                                                 f.overdraft_limit_cents)
                            THEN 'insufficient_funds'
                        WHEN op.kind = 'transfer'
                             AND NOT balance_allowed(t.balance_cents + op.amount,
                                                     t.overdraft_limit_cents)
                            THEN 'balance_limit_exceeded'
                        ELSE 'ok' END AS outcome
            FROM op LEFT JOIN locked f ON f.account_number = op.account
                    LEFT JOIN locked t ON t.account_number = op.other),
        moved AS (
            UPDATE accounts x SET balance_cents = v.after
            FROM (SELECT d.from_id, d.from_after FROM decided d WHERE d.outcome = 'ok'
                  UNION ALL
                  SELECT d.to_id, d.to_after FROM decided d
                  WHERE d.outcome = 'ok' AND d.kind = 'transfer') AS v(id, after)
            WHERE x.id = v.id),
        sent AS (
            INSERT INTO transfers (from_account_id, to_account_id, amount_cents)
            SELECT d.from_id, d.to_id, d.amount FROM decided d
            WHERE d.outcome = 'ok' AND d.kind = 'transfer' ORDER BY d.ord
            RETURNING id, from_account_id, created_at),
        journal AS (
            INSERT INTO entries (account_id, kind, amount_cents, balance_after_cents, transfer_id)
            SELECT l.account, l.kind, l.amount, l.after, l.transfer
            FROM (SELECT d.ord, 1 AS leg, d.from_id,
                         CASE d.kind WHEN 'deposit' THEN 'deposit'
                                     WHEN 'withdraw' THEN 'withdrawal' ELSE 'transfer_out' END,
                         CASE WHEN d.kind = 'deposit' THEN d.amount ELSE -d.amount END,
                         d.from_after, s.id
                  FROM decided d LEFT JOIN sent s ON s.from_account_id = d.from_id
                  WHERE d.outcome = 'ok'
                  UNION ALL
                  SELECT d.ord, 2, d.to_id, 'transfer_in', d.amount, d.to_after, s.id
                  FROM decided d JOIN sent s ON s.from_account_id = d.from_id
                  WHERE d.outcome = 'ok')
                AS l(ord, leg, account, kind, amount, after, transfer)
            ORDER BY l.ord, l.leg
            RETURNING id, account_id, kind, amount_cents, balance_after_cents, created_at),
        feed AS (
            -- Each entry is a change-feed event, in the entries' order (db/migrations/0008).
            INSERT INTO events (account_id, type, amount_cents, balance_after_cents, entry_id,
                                created_at)
            SELECT j.account_id, j.kind, j.amount_cents, j.balance_after_cents, j.id, j.created_at
            FROM journal j ORDER BY j.id)
        SELECT d.ord, d.outcome, false, false, d.account,
               CASE WHEN d.outcome = 'ok' THEN d.from_after END,
               CASE WHEN d.outcome = 'ok' AND d.kind = 'transfer' THEN d.to_after END,
               CASE WHEN d.outcome = 'ok' AND d.kind <> 'transfer'
                    THEN d.from_after - d.from_held END,
               NULL::bigint, coalesce(s.id, j.id), s.created_at, NULL::text, NULL::bigint,
               NULL::bigint, NULL::timestamptz, d.from_currency, NULL::text, NULL::jsonb
        FROM decided d
        LEFT JOIN sent s ON s.from_account_id = d.from_id AND d.outcome = 'ok'
        LEFT JOIN journal j ON j.account_id = d.from_id AND d.outcome = 'ok'
                           AND d.kind <> 'transfer'
        ORDER BY d.ord;
        RETURN;
    END IF;

    outcome := array_fill(NULL::text, ARRAY[n]);
    replayed := array_fill(false, ARRAY[n]);
    number := array_fill(NULL::text, ARRAY[n]);
    balance := array_fill(NULL::bigint, ARRAY[n]);
    other_balance := array_fill(NULL::bigint, ARRAY[n]);
    available := array_fill(NULL::bigint, ARRAY[n]);
    overdraft := array_fill(NULL::bigint, ARRAY[n]);
    made := array_fill(NULL::bigint, ARRAY[n]);
    made_at := array_fill(NULL::timestamptz, ARRAY[n]);
    status_of := array_fill(NULL::text, ARRAY[n]);
    sum_of := array_fill(NULL::bigint, ARRAY[n]);
    captured_of := array_fill(NULL::bigint, ARRAY[n]);
    expiry_of := array_fill(NULL::timestamptz, ARRAY[n]);
    currency_of := array_fill(NULL::text, ARRAY[n]);
    reference_of := array_fill(NULL::text, ARRAY[n]);
    metadata_of := array_fill(NULL::jsonb, ARRAY[n]);
    replay_of := array_fill(NULL::integer, ARRAY[n]);
    own := array_fill(false, ARRAY[n]);
    capture_entry := array_fill(NULL::bigint, ARRAY[n]);

    -- 1. The keys: claimed in one order, then their stored outcomes read.
    FOR row IN
        SELECT DISTINCT hashtextextended(c || '/' || kk, 0) AS hk
        FROM unnest(p_clients, p_keys) AS t(c, kk) WHERE kk IS NOT NULL ORDER BY 1
    LOOP
        IF NOT p_skip_locked THEN
            PERFORM pg_advisory_xact_lock(row.hk);
        ELSIF NOT pg_try_advisory_xact_lock(row.hk) THEN
            FOR i IN 1 .. n LOOP
                IF p_keys[i] IS NOT NULL
                   AND hashtextextended(p_clients[i] || '/' || p_keys[i], 0) = row.hk THEN
                    outcome[i] := 'key_in_use';
                END IF;
            END LOOP;
        END IF;
    END LOOP;
    FOR row IN
        SELECT u.ord::integer AS ord, s.fingerprint = u.f AS same,
               s.attempt IS NOT NULL AND s.attempt = p_attempts[u.ord] AS own,
               coalesce(s.outcome, CASE WHEN s.http_status < 300 THEN 'ok'
                                        ELSE s.body::jsonb ->> 'code' END) AS stored,
               coalesce(ea.account_number, ca.account_number, ha.account_number,
                        sa.account_number) AS number,
               coalesce(s.balance_cents, e.balance_after_cents, t_out.balance_after_cents,
                        CASE WHEN ca.id IS NOT NULL THEN 0 END, sa.balance_cents) AS balance,
               t_in.balance_after_cents AS other_balance,
               coalesce(s.available_cents, e.balance_after_cents,
                        CASE WHEN ca.id IS NOT NULL THEN 0 END) AS available,
               coalesce(s.overdraft_limit_cents, ca.overdraft_limit_cents,
                        sa.overdraft_limit_cents) AS overdraft,
               coalesce(s.entry_id, s.transfer_id, s.account_id, s.hold_id, s.released_hold_id,
                        s.limit_account_id) AS made,
               coalesce(t.created_at, ca.created_at, hs.created_at, sa.created_at) AS created_at,
               CASE u.kind WHEN 'create' THEN 'active' WHEN 'freeze' THEN 'frozen'
                           WHEN 'unfreeze' THEN 'active' WHEN 'close' THEN 'closed'
                           WHEN 'hold' THEN 'pending' WHEN 'capture' THEN 'captured'
                           WHEN 'void' THEN 'voided' ELSE sa.status END AS status,
               coalesce(ea.currency, ca.currency, ha.currency, sa.currency, tf.currency)
                   AS currency,
               coalesce(t.reference, hs.reference) AS reference,
               coalesce(t.metadata, hs.metadata) AS metadata,
               hs.id AS hold, hs.amount_cents AS hold_sum,
               CASE WHEN u.kind = 'capture' THEN hs.captured_cents ELSE 0 END AS captured,
               hs.expires_at
        FROM unnest(p_clients, p_keys, p_fingerprints, p_kinds, p_accounts)
            WITH ORDINALITY AS u(c, kk, f, kind, account, ord)
        JOIN idempotency_keys s ON s.client = u.c AND s.key = u.kk
        LEFT JOIN entries e ON e.id = s.entry_id
        LEFT JOIN accounts ea ON ea.id = e.account_id AND e.hold_id IS NULL
        LEFT JOIN transfers t ON t.id = s.transfer_id
        LEFT JOIN accounts tf ON tf.id = t.from_account_id
        LEFT JOIN entries t_out ON t_out.transfer_id = t.id AND t_out.kind = 'transfer_out'
        LEFT JOIN entries t_in ON t_in.transfer_id = t.id AND t_in.kind = 'transfer_in'
        LEFT JOIN accounts ca ON ca.id = s.account_id
        -- A hold, a capture or a void answers with the hold as that request left it.
        LEFT JOIN holds hs ON hs.id = coalesce(s.hold_id, s.released_hold_id, e.hold_id)
        LEFT JOIN accounts ha ON ha.id = hs.account_id
        -- A status change answers with its account: its balances then, the rest as it is now.
        LEFT JOIN accounts sa ON u.kind IN ('freeze', 'unfreeze', 'close', 'set_overdraft')
                             AND sa.account_number = u.account
    LOOP
        CONTINUE WHEN outcome[row.ord] IS NOT NULL;
        IF NOT row.same THEN
            outcome[row.ord] := 'key_reused';
        ELSE
            outcome[row.ord] := row.stored;
            replayed[row.ord] := true;
            own[row.ord] := row.own;
            number[row.ord] := row.number;
            balance[row.ord] := row.balance;
            other_balance[row.ord] := row.other_balance;
            available[row.ord] := row.available;
            overdraft[row.ord] := row.overdraft;
            made[row.ord] := coalesce(row.hold, row.made);
            made_at[row.ord] := row.created_at;
            status_of[row.ord] := row.status;
            sum_of[row.ord] := row.hold_sum;
            captured_of[row.ord] := row.captured;
            expiry_of[row.ord] := row.expires_at;
            currency_of[row.ord] := row.currency;
            reference_of[row.ord] := row.reference;
            metadata_of[row.ord] := row.metadata;
        END IF;
    END LOOP;

    -- 2. The accounts the rest need -- a capture's or a void's is its hold's -- locked in id
    --    order: waiting for each (at most the lock timeout), or, sent again, taking only those no
    --    other session holds.
    FOR row IN
        SELECT u.ord::integer AS ord, a.account_number
        FROM unnest(p_kinds, p_holds) WITH ORDINALITY AS u(kind, hold, ord)
        JOIN holds hh ON hh.id = u.hold JOIN accounts a ON a.id = hh.account_id
        WHERE u.kind IN ('capture', 'void')
    LOOP
        account_of[row.ord] := row.account_number;
    END LOOP;
    SELECT coalesce(array_agg(DISTINCT w.number), '{}') INTO wanted
    FROM unnest(p_kinds, account_of, p_others, outcome) AS u(kind, account, other, decided),
         LATERAL (VALUES (u.account), (u.other)) AS w(number)
    WHERE u.kind <> 'create' AND u.decided IS NULL AND w.number IS NOT NULL;
    IF p_skip_locked THEN
        SELECT array_agg(l.id ORDER BY l.id), array_agg(l.account_number ORDER BY l.id)
        INTO acc_id, acc_number
        FROM (SELECT x.id, x.account_number FROM accounts x WHERE x.account_number = ANY (wanted)
              ORDER BY x.id FOR NO KEY UPDATE SKIP LOCKED) l;
        -- Those that exist but were not locked are held elsewhere.
        SELECT coalesce(array_agg(x.account_number), '{}') INTO busy FROM accounts x
        WHERE x.account_number = ANY (wanted)
          AND x.account_number <> ALL (coalesce(acc_number, '{}'));
    ELSE
        SELECT array_agg(l.id ORDER BY l.id), array_agg(l.account_number ORDER BY l.id)
        INTO acc_id, acc_number
        FROM (SELECT x.id, x.account_number FROM accounts x WHERE x.account_number = ANY (wanted)
              ORDER BY x.id FOR NO KEY UPDATE) l;
    END IF;
    -- Read in a statement of its own, after the locks: the rows as they are now, and their
    -- pending holds as of this instant.
    locked_at := clock_timestamp();
    SELECT array_agg(x.balance_cents ORDER BY x.id), array_agg(x.overdraft_limit_cents ORDER BY x.id),
           array_agg(x.status ORDER BY x.id), array_agg(x.created_at ORDER BY x.id),
           array_agg(p.held_cents ORDER BY x.id), array_agg(x.currency ORDER BY x.id)
    INTO acc_balance, acc_limit, acc_status, acc_created, acc_held, acc_currency
    FROM accounts x CROSS JOIN LATERAL pending_holds(x.id, locked_at) p
    WHERE x.id = ANY (coalesce(acc_id, '{}'));
    acc_dirty := array_fill(false, ARRAY[coalesce(cardinality(acc_id), 0)]);
    SELECT coalesce(array_agg(r.account_id || '/' || r.reference), '{}') INTO taken_refs
    FROM movement_references r
    WHERE r.account_id = ANY (coalesce(acc_id, '{}')) AND r.reference = ANY (p_references);
    SELECT array_agg(fa.idx ORDER BY u.ord), array_agg(ta.idx ORDER BY u.ord)
    INTO op_from, op_to
    FROM unnest(account_of, p_others) WITH ORDINALITY AS u(account, other, ord)
    LEFT JOIN unnest(acc_number) WITH ORDINALITY AS fa(number, idx) ON fa.number = u.account
    LEFT JOIN unnest(acc_number) WITH ORDINALITY AS ta(number, idx) ON ta.number = u.other;
    -- The holds of captures and voids, under their accounts' locks.
    SELECT array_agg(hh.id ORDER BY hh.id), array_agg(hh.amount_cents ORDER BY hh.id),
           array_agg(hh.status ORDER BY hh.id), array_agg(hh.expires_at ORDER BY hh.id),
           array_agg(hh.created_at ORDER BY hh.id), array_agg(hh.captured_cents ORDER BY hh.id),
           array_agg(hh.reference ORDER BY hh.id), array_agg(hh.metadata ORDER BY hh.id)
    INTO hold_id, hold_amount, hold_status, hold_expires, hold_created, hold_captured,
         hold_reference, hold_metadata
    FROM holds hh WHERE hh.id = ANY (coalesce(p_holds, '{}'));
    hold_dirty := array_fill(false, ARRAY[coalesce(cardinality(hold_id), 0)]);
    SELECT array_agg(hx.idx ORDER BY u.ord) INTO op_hold
    FROM unnest(p_holds) WITH ORDINALITY AS u(hold, ord)
    LEFT JOIN unnest(hold_id) WITH ORDINALITY AS hx(id, idx) ON hx.id = u.hold;

    -- 3. Each operation in turn, on the balances so far.
    FOR i IN 1 .. n LOOP
        IF p_keys[i] IS NOT NULL AND outcome[i] IS NULL THEN
            key_name := p_clients[i] || '/' || p_keys[i];
            k := array_position(seen_key, key_name);
            IF k IS NOT NULL THEN -- a second request with a key of this batch
                IF p_fingerprints[i] <> p_fingerprints[seen_ord[k]] THEN
                    outcome[i] := 'key_reused';
                ELSE
                    replay_of[i] := seen_ord[k]; -- answered once the first one is (step 6)
                    outcome[i] := 'replay';
                END IF;
                CONTINUE;
            END IF;
            seen_key := seen_key || key_name;
            seen_ord := seen_ord || i;
        END IF;
        CONTINUE WHEN outcome[i] IS NOT NULL OR p_kinds[i] = 'create';
        a := op_from[i];
        b := op_to[i];
        h := op_hold[i];
        IF p_kinds[i] IN ('capture', 'void') AND h IS NULL THEN
            outcome[i] := 'hold_not_found';
            CONTINUE;
        END IF;
        IF a IS NULL OR (p_kinds[i] = 'transfer' AND b IS NULL) THEN
            outcome[i] := CASE WHEN account_of[i] = ANY (busy) OR p_others[i] = ANY (busy)
                               THEN 'busy' ELSE 'account_not_found' END;
            CONTINUE;
        END IF;
        currency_of[i] := acc_currency[a];
        IF p_kinds[i] IN ('capture', 'void') THEN
            -- A hold made before a freeze is still captured or voided.
            IF hold_status[h] <> 'pending' OR hold_expires[h] <= locked_at THEN
                outcome[i] := 'hold_not_pending';
            ELSE
                take := CASE WHEN p_kinds[i] = 'void' THEN 0
                             ELSE coalesce(nullif(p_amounts[i], 0), hold_amount[h]) END;
                IF take > hold_amount[h] THEN
                    outcome[i] := 'capture_exceeds_hold';
                ELSIF (acc_id[a] || '/' || p_references[i]) = ANY (taken_refs) THEN
                    outcome[i] := 'duplicate_reference';
                ELSIF NOT balance_allowed(acc_balance[a] - take, acc_limit[a]) THEN
                    outcome[i] := 'insufficient_funds';
                ELSE
                    acc_held[a] := acc_held[a] - hold_amount[h];
                    hold_status[h] := CASE WHEN take > 0 THEN 'captured' ELSE 'voided' END;
                    hold_captured[h] := take;
                    hold_dirty[h] := true;
                    IF take = 0 THEN
                        hev_type := hev_type || 'void'::text;
                        hev_account := hev_account || acc_id[a];
                        hev_after := hev_after || acc_balance[a];
                        hev_held := hev_held || hold_amount[h];
                        hev_hold := hev_hold || hold_id[h];
                        hev_of := hev_of || i;
                        hev_entries := hev_entries || cardinality(entry_of);
                    END IF;
                    IF take > 0 THEN
                        acc_balance[a] := acc_balance[a] - take;
                        acc_dirty[a] := true;
                        entry_account := entry_account || acc_id[a];
                        entry_amount := entry_amount || -take;
                        entry_after := entry_after || acc_balance[a];
                        entry_hold := entry_hold || hold_id[h];
                        entry_ref := entry_ref || p_references[i];
                        entry_meta := entry_meta || p_metadata[i];
                        entry_of := entry_of || i;
                    END IF;
                    taken_refs := taken_refs || (acc_id[a] || '/' || p_references[i]);
                    outcome[i] := 'ok';
                END IF;
            END IF;
            IF outcome[i] IN ('ok', 'hold_not_pending', 'capture_exceeds_hold') THEN
                number[i] := acc_number[a];
                made[i] := hold_id[h];
                made_at[i] := hold_created[h];
                sum_of[i] := hold_amount[h];
                captured_of[i] := hold_captured[h];
                status_of[i] := hold_status[h];
                expiry_of[i] := hold_expires[h];
                reference_of[i] := hold_reference[h];
                metadata_of[i] := hold_metadata[h];
            END IF;
            CONTINUE;
        END IF;
        -- What an account is (its limit, its status): answered with the account.
        IF p_kinds[i] IN ('set_overdraft', 'freeze', 'unfreeze', 'close') THEN
            IF acc_status[a] = 'closed' THEN
                outcome[i] := 'account_closed';
            ELSIF p_kinds[i] = 'set_overdraft' THEN
                IF NOT balance_allowed(acc_balance[a] - acc_held[a], p_amounts[i]) THEN
                    outcome[i] := 'insufficient_funds';
                ELSE
                    acc_limit[a] := p_amounts[i];
                    acc_dirty[a] := true;
                    outcome[i] := 'ok';
                    made[i] := acc_id[a];
                END IF;
            ELSIF p_kinds[i] = 'close' AND (acc_balance[a] <> 0 OR acc_held[a] <> 0) THEN
                outcome[i] := 'account_not_empty';
            ELSIF acc_status[a] = (CASE p_kinds[i] WHEN 'freeze' THEN 'frozen'
                                                   WHEN 'unfreeze' THEN 'active' END) THEN
                outcome[i] := 'unchanged';
            ELSE
                acc_status[a] := CASE p_kinds[i] WHEN 'freeze' THEN 'frozen'
                                                 WHEN 'unfreeze' THEN 'active' ELSE 'closed' END;
                acc_dirty[a] := true;
                outcome[i] := 'ok';
                entry_account := entry_account || acc_id[a];
                entry_amount := entry_amount || 0::bigint;
                entry_after := entry_after || acc_balance[a];
                entry_hold := entry_hold || NULL::bigint;
                entry_ref := entry_ref || NULL::text;
                entry_meta := entry_meta || NULL::jsonb;
                entry_of := entry_of || i;
            END IF;
            number[i] := acc_number[a];
            balance[i] := acc_balance[a];
            available[i] := acc_balance[a] - acc_held[a];
            overdraft[i] := acc_limit[a];
            made_at[i] := acc_created[a];
            status_of[i] := acc_status[a];
            CONTINUE;
        END IF;
        -- Money moves, and holds are made, only on active accounts.
        IF acc_status[a] = 'closed' OR (p_kinds[i] = 'transfer' AND acc_status[b] = 'closed') THEN
            outcome[i] := 'account_closed';
            CONTINUE;
        END IF;
        IF acc_status[a] = 'frozen' OR (p_kinds[i] = 'transfer' AND acc_status[b] = 'frozen') THEN
            outcome[i] := 'account_frozen';
            CONTINUE;
        END IF;
        IF p_kinds[i] = 'transfer' AND acc_currency[a] <> acc_currency[b] THEN
            outcome[i] := 'currency_mismatch';
            CONTINUE;
        END IF;
        -- A reference the account's movements already have moves nothing.
        IF (acc_id[a] || '/' || p_references[i]) = ANY (taken_refs) THEN
            outcome[i] := 'duplicate_reference';
            CONTINUE;
        END IF;
        IF p_kinds[i] = 'hold' THEN
            IF NOT balance_allowed(acc_balance[a] - acc_held[a] - p_amounts[i], acc_limit[a]) THEN
                outcome[i] := 'insufficient_funds';
            ELSE
                acc_held[a] := acc_held[a] + p_amounts[i];
                new_hold_of := new_hold_of || i;
                hev_type := hev_type || 'hold'::text;
                hev_account := hev_account || acc_id[a];
                hev_after := hev_after || acc_balance[a];
                hev_held := hev_held || p_amounts[i];
                hev_hold := hev_hold || NULL::bigint; -- made[i], once drawn
                hev_of := hev_of || i;
                hev_entries := hev_entries || cardinality(entry_of);
                taken_refs := taken_refs || (acc_id[a] || '/' || p_references[i]);
                outcome[i] := 'ok';
                reference_of[i] := p_references[i];
                metadata_of[i] := p_metadata[i];
                number[i] := acc_number[a];
                sum_of[i] := p_amounts[i];
                captured_of[i] := 0;
                status_of[i] := 'pending';
            END IF;
            CONTINUE;
        END IF;
        IF p_kinds[i] = 'transfer' THEN
            IF NOT balance_allowed(acc_balance[a] - acc_held[a] - p_amounts[i], acc_limit[a]) THEN
                outcome[i] := 'insufficient_funds';
            ELSIF NOT balance_allowed(acc_balance[b] + p_amounts[i], acc_limit[b]) THEN
                outcome[i] := 'balance_limit_exceeded';
            ELSE
                acc_balance[a] := acc_balance[a] - p_amounts[i];
                acc_balance[b] := acc_balance[b] + p_amounts[i];
                acc_dirty[a] := true;
                acc_dirty[b] := true;
                outcome[i] := 'ok';
                balance[i] := acc_balance[a];
                other_balance[i] := acc_balance[b];
                transfer_of := transfer_of || i;
                entry_account := entry_account || acc_id[a] || acc_id[b];
                entry_amount := entry_amount || -p_amounts[i] || p_amounts[i];
                entry_after := entry_after || acc_balance[a] || acc_balance[b];
                entry_hold := entry_hold || NULL::bigint || NULL::bigint;
                entry_ref := entry_ref || p_references[i] || p_references[i];
                entry_meta := entry_meta || p_metadata[i] || p_metadata[i];
                entry_of := entry_of || i || i;
                taken_refs := taken_refs || (acc_id[a] || '/' || p_references[i]);
                reference_of[i] := p_references[i];
                metadata_of[i] := p_metadata[i];
            END IF;
            CONTINUE;
        END IF;
        delta := CASE WHEN p_kinds[i] = 'deposit' THEN p_amounts[i] ELSE -p_amounts[i] END;
        IF delta > 0 AND NOT balance_allowed(acc_balance[a] + delta, acc_limit[a]) THEN
            outcome[i] := 'balance_limit_exceeded';
            CONTINUE;
        END IF;
        IF delta < 0 AND NOT balance_allowed(acc_balance[a] - acc_held[a] + delta, acc_limit[a]) THEN
            outcome[i] := 'insufficient_funds';
            CONTINUE;
        END IF;
        acc_balance[a] := acc_balance[a] + delta;
        acc_dirty[a] := true;
        outcome[i] := 'ok';
        balance[i] := acc_balance[a];
        available[i] := acc_balance[a] - acc_held[a];
        entry_account := entry_account || acc_id[a];
        entry_amount := entry_amount || delta;
        entry_after := entry_after || acc_balance[a];
        entry_hold := entry_hold || NULL::bigint;
        entry_ref := entry_ref || p_references[i];
        entry_meta := entry_meta || p_metadata[i];
        entry_of := entry_of || i;
        taken_refs := taken_refs || (acc_id[a] || '/' || p_references[i]);
    END LOOP;

    -- 4. What moved: each account's row once, the holds, then the transfers and the journal,
    --    their ids drawn in ord order so that, for each account, id order is the order the
    --    entries happened in (the history's keyset pagination relies on it).
    UPDATE accounts x SET balance_cents = v.balance, status = v.status,
                          overdraft_limit_cents = v.overdraft
    FROM unnest(acc_id, acc_balance, acc_status, acc_limit, acc_dirty)
        AS v(id, balance, status, overdraft, dirty)
    WHERE x.id = v.id AND v.dirty;
    settled := clock_timestamp();
    UPDATE holds x SET status = v.status, captured_cents = v.captured, settled_at = settled
    FROM unnest(hold_id, hold_status, hold_captured, hold_dirty) AS v(id, status, captured, dirty)
    WHERE x.id = v.id AND v.dirty;
    IF cardinality(new_hold_of) > 0 THEN
        FOR row IN
            WITH drawn AS (
                SELECT t.ord, nextval(pg_get_serial_sequence('holds', 'id')) AS id
                FROM unnest(new_hold_of) WITH ORDINALITY AS t(op, ord) ORDER BY t.ord),
            written AS (
                INSERT INTO holds (id, account_id, amount_cents, expires_at, reference, metadata)
                OVERRIDING SYSTEM VALUE
                SELECT d.id, acc_id[op_from[t.op]], p_amounts[t.op],
                       clock_timestamp() + make_interval(secs => p_seconds[t.op]),
                       p_references[t.op], p_metadata[t.op]
                FROM unnest(new_hold_of) WITH ORDINALITY AS t(op, ord)
                JOIN drawn d ON d.ord = t.ord
                RETURNING id, created_at, expires_at)
            SELECT t.op, w.id, w.created_at, w.expires_at
            FROM unnest(new_hold_of) WITH ORDINALITY AS t(op, ord)
            JOIN drawn d ON d.ord = t.ord JOIN written w ON w.id = d.id
        LOOP
            made[row.op] := row.id;
            made_at[row.op] := row.created_at;
            expiry_of[row.op] := row.expires_at;
        END LOOP;
    END IF;
    IF cardinality(transfer_of) > 0 THEN
        FOR row IN
            WITH drawn AS (
                SELECT t.ord, nextval(pg_get_serial_sequence('transfers', 'id')) AS id
                FROM unnest(transfer_of) WITH ORDINALITY AS t(op, ord) ORDER BY t.ord),
            written AS (
                INSERT INTO transfers (id, from_account_id, to_account_id, amount_cents, reference,
                                       metadata)
                OVERRIDING SYSTEM VALUE
                SELECT d.id, acc_id[op_from[t.op]], acc_id[op_to[t.op]], p_amounts[t.op],
                       p_references[t.op], p_metadata[t.op]
                FROM unnest(transfer_of) WITH ORDINALITY AS t(op, ord)
                JOIN drawn d ON d.ord = t.ord
                RETURNING id, created_at)
            SELECT t.op, w.id, w.created_at
            FROM unnest(transfer_of) WITH ORDINALITY AS t(op, ord)
            JOIN drawn d ON d.ord = t.ord JOIN written w ON w.id = d.id
        LOOP
            made[row.op] := row.id;
            made_at[row.op] := row.created_at;
        END LOOP;
    END IF;
    IF cardinality(entry_of) > 0 THEN
        FOR row IN
            WITH drawn AS (
                SELECT e.ord, nextval(pg_get_serial_sequence('entries', 'id')) AS id
                FROM unnest(entry_of) WITH ORDINALITY AS e(op, ord) ORDER BY e.ord),
            written AS (
                INSERT INTO entries (id, account_id, kind, amount_cents, balance_after_cents,
                                     transfer_id, hold_id, reference, metadata)
                OVERRIDING SYSTEM VALUE
                SELECT d.id, e.account, CASE
                           WHEN p_kinds[e.op] IN ('freeze', 'unfreeze', 'close', 'capture')
                               THEN p_kinds[e.op]
                           WHEN p_kinds[e.op] = 'transfer' AND e.amount < 0 THEN 'transfer_out'
                           WHEN p_kinds[e.op] = 'transfer' THEN 'transfer_in'
                           WHEN e.amount > 0 THEN 'deposit' ELSE 'withdrawal' END,
                       e.amount, e.after,
                       CASE WHEN p_kinds[e.op] = 'transfer' THEN made[e.op] END, e.hold, e.ref,
                       e.meta
                FROM unnest(entry_of, entry_account, entry_amount, entry_after, entry_hold,
                            entry_ref, entry_meta)
                    WITH ORDINALITY AS e(op, account, amount, after, hold, ref, meta, ord)
                JOIN drawn d ON d.ord = e.ord
                RETURNING id, kind, created_at)
            SELECT e.op, e.ord, d.id, w.kind, w.created_at
            FROM unnest(entry_of) WITH ORDINALITY AS e(op, ord)
            JOIN drawn d ON d.ord = e.ord JOIN written w ON w.id = d.id
        LOOP
            entry_made[row.ord] := row.id;
            entry_kind[row.ord] := row.kind;
            entry_made_at[row.ord] := row.created_at;
            -- A capture's answer is its hold; its key points at the entry (step 7).
            IF p_kinds[row.op] = 'capture' THEN
                capture_entry[row.op] := row.id;
            ELSIF p_kinds[row.op] <> 'transfer' THEN
                made[row.op] := row.id;
            END IF;
        END LOOP;
    END IF;

    -- The change-feed events of it all: each entry, each hold made or voided, in the order of
    --    the operations (a hold event after the entries appended before it).
    IF cardinality(entry_of) + cardinality(hev_of) > 0 THEN
        INSERT INTO events (account_id, type, amount_cents, balance_after_cents,
                            hold_amount_cents, entry_id, hold_id, created_at)
        SELECT v.account, v.type, v.amount, v.after, v.held, v.entry, v.hold, v.at
        FROM (SELECT e.account, entry_kind[e.ord] AS type, e.amount, e.after, h.amount_cents,
                     entry_made[e.ord], e.hold, entry_made_at[e.ord], e.ord AS turn, 0 AS sub,
                     e.ord AS tie
              FROM unnest(entry_account, entry_amount, entry_after, entry_hold)
                  WITH ORDINALITY AS e(account, amount, after, hold, ord)
              LEFT JOIN holds h ON h.id = e.hold
              UNION ALL
              SELECT x.account, x.type, 0, x.after, x.held, NULL, coalesce(x.hold, made[x.op]),
                     CASE WHEN x.type = 'void' THEN settled ELSE made_at[x.op] END, x.entries,
                     1, x.ord
              FROM unnest(hev_type, hev_account, hev_after, hev_held, hev_hold, hev_of,
                          hev_entries)
                  WITH ORDINALITY AS x(type, account, after, held, hold, op, entries, ord))
            AS v(account, type, amount, after, held, entry, hold, at, turn, sub, tie)
        ORDER BY v.turn, v.sub, v.tie;
    END IF;

    -- The references of the movements made now are theirs from here on.
    INSERT INTO movement_references (account_id, reference)
    SELECT acc_id[op_from[g]], p_references[g] FROM generate_series(1, n) AS g
    WHERE outcome[g] = 'ok' AND NOT replayed[g] AND p_references[g] IS NOT NULL
      AND p_kinds[g] IN ('deposit', 'withdraw', 'transfer', 'hold', 'capture');

    -- 5. The new accounts; a number someone already has is the caller's to draw again.
    FOR row IN
        WITH wanted AS (
            -- A create without a currency gets the accounts table's default, EUR.
            SELECT u.ord::integer AS ord, u.account, u.amount,
                   coalesce(u.currency, 'EUR') AS currency,
                   EXISTS (SELECT FROM currencies c
                           WHERE c.code = coalesce(u.currency, 'EUR')) AS known
            FROM unnest(p_kinds, p_accounts, p_amounts, p_others, outcome)
                WITH ORDINALITY AS u(kind, account, amount, currency, decided, ord)
            WHERE u.kind = 'create' AND u.decided IS NULL),
        opened AS (
            INSERT INTO accounts (account_number, overdraft_limit_cents, currency)
            SELECT w.account, w.amount, w.currency FROM wanted w WHERE w.known ORDER BY w.ord
            ON CONFLICT (account_number) DO NOTHING
            RETURNING id, account_number, overdraft_limit_cents, created_at, currency),
        feed AS (
            INSERT INTO events (account_id, type, amount_cents, balance_after_cents, created_at)
            SELECT o.id, 'open', 0, 0, o.created_at FROM opened o ORDER BY o.id)
        SELECT w.ord, w.known, o.id, o.account_number, o.overdraft_limit_cents, o.created_at,
               o.currency
        FROM wanted w LEFT JOIN opened o ON o.account_number = w.account
    LOOP
        IF NOT row.known THEN
            outcome[row.ord] := 'unknown_currency';
        ELSIF row.id IS NULL THEN
            outcome[row.ord] := 'number_taken';
        ELSE
            outcome[row.ord] := 'ok';
            number[row.ord] := row.account_number;
            balance[row.ord] := 0;
            available[row.ord] := 0;
            overdraft[row.ord] := row.overdraft_limit_cents;
            made[row.ord] := row.id;
            made_at[row.ord] := row.created_at;
            status_of[row.ord] := 'active';
            currency_of[row.ord] := row.currency;
        END IF;
    END LOOP;

    -- 6. A second request of this batch with a key of it has the first one's outcome -- unless
    --    that one has none to give yet (busy, key_in_use, number_taken, capture_exceeds_hold,
    --    unknown_currency).
    FOR i IN 1 .. n LOOP
        CONTINUE WHEN replay_of[i] IS NULL;
        k := replay_of[i];
        IF outcome[k] IN ('ok', 'unchanged', 'insufficient_funds', 'balance_limit_exceeded',
                          'account_not_found', 'account_frozen', 'account_closed',
                          'account_not_empty', 'hold_not_found', 'hold_not_pending',
                          'currency_mismatch', 'duplicate_reference') THEN
            outcome[i] := outcome[k];
            replayed[i] := true;
            number[i] := number[k];
            balance[i] := balance[k];
            other_balance[i] := other_balance[k];
            available[i] := available[k];
            overdraft[i] := overdraft[k];
            made[i] := made[k];
            made_at[i] := made_at[k];
            status_of[i] := status_of[k];
            sum_of[i] := sum_of[k];
            captured_of[i] := captured_of[k];
            expiry_of[i] := expiry_of[k];
            currency_of[i] := currency_of[k];
            reference_of[i] := reference_of[k];
            metadata_of[i] := metadata_of[k];
        ELSE
            outcome[i] := 'key_in_use';
        END IF;
    END LOOP;

    -- 7. The outcomes of keyed operations, in the same transaction as their effects, with the
    --    caller's token for this attempt: sent again after a lost answer, the caller learns that
    --    the stored outcome is its own (o_own). A capture's effect is its journal entry, a
    --    void's the hold it released; an answer that shows an account's balances keeps them.
    INSERT INTO idempotency_keys (client, key, fingerprint, outcome, account_id, entry_id,
                                  transfer_id, hold_id, released_hold_id, limit_account_id,
                                  balance_cents, available_cents, overdraft_limit_cents, attempt)
    SELECT u.c, u.kk, u.f, outcome[u.ord],
           CASE WHEN u.kind = 'create' AND outcome[u.ord] = 'ok' THEN made[u.ord] END,
           CASE WHEN outcome[u.ord] <> 'ok' THEN NULL
                WHEN u.kind IN ('deposit', 'withdraw', 'freeze', 'unfreeze', 'close')
                    THEN made[u.ord]
                WHEN u.kind = 'capture' THEN capture_entry[u.ord] END,
           CASE WHEN u.kind = 'transfer' AND outcome[u.ord] = 'ok' THEN made[u.ord] END,
           CASE WHEN u.kind = 'hold' AND outcome[u.ord] = 'ok' THEN made[u.ord] END,
           CASE WHEN u.kind = 'void' AND outcome[u.ord] = 'ok' THEN made[u.ord] END,
           CASE WHEN u.kind = 'set_overdraft' AND outcome[u.ord] = 'ok' THEN made[u.ord] END,
           CASE WHEN outcome[u.ord] IN ('ok', 'unchanged') THEN balance[u.ord] END,
           CASE WHEN outcome[u.ord] IN ('ok', 'unchanged') THEN available[u.ord] END,
           CASE WHEN u.kind IN ('set_overdraft', 'create') AND outcome[u.ord] = 'ok'
                THEN overdraft[u.ord] END,
           p_attempts[u.ord]
    FROM unnest(p_kinds, p_clients, p_keys, p_fingerprints)
        WITH ORDINALITY AS u(kind, c, kk, f, ord)
    WHERE u.kk IS NOT NULL AND NOT replayed[u.ord]
      AND outcome[u.ord] IN ('ok', 'unchanged', 'insufficient_funds', 'balance_limit_exceeded',
                             'account_not_found', 'account_frozen', 'account_closed',
                             'account_not_empty', 'hold_not_found', 'hold_not_pending',
                          'currency_mismatch', 'duplicate_reference')
      AND array_position(seen_key, u.c || '/' || u.kk) IS NOT NULL
      AND seen_ord[array_position(seen_key, u.c || '/' || u.kk)] = u.ord;

    RETURN QUERY
    SELECT g::integer, outcome[g], replayed[g], own[g], coalesce(number[g], account_of[g]),
           balance[g], other_balance[g],
           available[g], overdraft[g], made[g], made_at[g], status_of[g], sum_of[g],
           captured_of[g], expiry_of[g], currency_of[g], reference_of[g], metadata_of[g]
    FROM generate_series(1, n) AS g;
END
$$;

-- ---- the change feed's positions -------------------------------------------------------------------
-- One numbering round (db/migrations/0008_events.sql says why there are rounds): the events that
-- have committed without a position get the next ones, in id order, at most p_limit of them; the
-- number given comes back. Under event_sequencer's row lock, so rounds run one after another, each
-- committing before the next reads the last position. The lock comes first, in a statement of its
-- own: the next statement's snapshot is then taken once it is held, and sees every round and every
-- event committed before. With nothing to number it takes no lock and writes nothing.
CREATE OR REPLACE FUNCTION sequence_events(p_limit integer) RETURNS integer
LANGUAGE plpgsql
SET lock_timeout = '5s'
AS $$
DECLARE
    last bigint;
    given integer;
BEGIN
    IF NOT EXISTS (SELECT FROM events WHERE position IS NULL) THEN
        RETURN 0;
    END IF;
    SELECT s.last_position INTO last FROM event_sequencer s FOR UPDATE;
    UPDATE events e SET position = last + p.rank
    FROM (SELECT w.id, row_number() OVER (ORDER BY w.id) AS rank
          FROM (SELECT x.id FROM events x WHERE x.position IS NULL
                ORDER BY x.id LIMIT p_limit) w) p
    WHERE e.id = p.id;
    GET DIAGNOSTICS given = ROW_COUNT;
    UPDATE event_sequencer SET last_position = last + given WHERE given > 0;
    -- Live streams listen (LISTEN mondux_events): the news is delivered once this commits.
    IF given > 0 THEN
        PERFORM pg_notify('mondux_events', (last + given)::text);
    END IF;
    RETURN given;
END
$$;
