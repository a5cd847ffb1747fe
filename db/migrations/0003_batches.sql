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
