-- The change feed: one row per change of the ledger -- every journal entry, every hold made or
-- voided, every account opened -- written by apply_batch (db/functions.sql) in the transaction of
-- the change, and given its feed position only after that transaction has committed.
--
-- Why positions come after the commit: ids are drawn while transactions run, and transactions
-- commit in another order than they drew them, so a reader following ids could pass id 11 while
-- id 10 is still uncommitted and never see it. sequence_events() (db/functions.sql) is the only
-- writer of positions: under the one row lock of event_sequencer, it numbers the events that have
-- committed and have none yet, in id order, after the highest position given so far. Numbering
-- rounds therefore follow each other, each commits before the next starts, and a reader who has
-- seen position P can only ever find new events above P. For one account, id order is already
-- its history's order (every event is written under the account's row lock), and a round numbers
-- in id order, so positions keep each account's order too.
CREATE TABLE events (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position            bigint,
    account_id          bigint      NOT NULL,
    type                text        NOT NULL
        CONSTRAINT events_type_known
        CHECK (type IN ('open', 'deposit', 'withdrawal', 'transfer_in', 'transfer_out',
                        'capture', 'freeze', 'unfreeze', 'close', 'hold', 'void')),
    amount_cents        bigint      NOT NULL,
    balance_after_cents bigint      NOT NULL,
    hold_amount_cents   bigint,
    entry_id            bigint,
    hold_id             bigint,
    created_at          timestamptz NOT NULL,
    -- A change of the balance is a journal entry; a hold event names its hold.
    CONSTRAINT events_entries_move_money
        CHECK ((entry_id IS NOT NULL) = (type NOT IN ('open', 'hold', 'void'))
               AND (amount_cents = 0 OR entry_id IS NOT NULL)),
    CONSTRAINT events_holds_named
        CHECK ((type IN ('hold', 'void', 'capture')) = (hold_id IS NOT NULL)
               AND (hold_id IS NULL) = (hold_amount_cents IS NULL))
);
-- No foreign keys: each event copies a row (entry, hold, account) that has its own, written in
-- the same statement, and a foreign key would cost a lookup per event on the path every move
-- takes. A position, once given, is never given again.
CREATE UNIQUE INDEX events_position_key ON events (position);
-- The numbering round finds the events still without a position; the per-account feed pages by
-- account and position.
CREATE INDEX events_unsequenced_idx ON events (id) WHERE position IS NULL;
CREATE INDEX events_account_position_idx ON events (account_id, position)
    WHERE position IS NOT NULL;
COMMENT ON TABLE events IS 'The change feed: every journal entry, hold made or voided and account opened, numbered in commit order by sequence_events().';
COMMENT ON COLUMN events.id IS 'Write order: for one account also its history''s order, not commit order across accounts.';
COMMENT ON COLUMN events.position IS 'The feed position: given after commit, in commit order, never reused; NULL until then.';
COMMENT ON COLUMN events.account_id IS 'The account the event is about.';
COMMENT ON COLUMN events.type IS 'A journal entry''s kind, or open, hold, void.';
COMMENT ON COLUMN events.amount_cents IS 'The change of the balance (0 unless a journal entry moved money).';
COMMENT ON COLUMN events.balance_after_cents IS 'The account''s balance after the event.';
COMMENT ON COLUMN events.hold_amount_cents IS 'The sum of the hold made, voided or captured; NULL for other events.';
COMMENT ON COLUMN events.entry_id IS 'The journal entry, for the events that are one.';
COMMENT ON COLUMN events.hold_id IS 'The hold made, voided or captured.';
COMMENT ON COLUMN events.created_at IS 'When the change was written (its entry''s, hold''s or account''s time).';

-- The one row that serialises the numbering rounds.
CREATE TABLE event_sequencer (
    only_row      boolean PRIMARY KEY DEFAULT true CONSTRAINT event_sequencer_one_row CHECK (only_row),
    last_position bigint  NOT NULL
);
COMMENT ON TABLE event_sequencer IS 'The highest feed position given; its row lock serialises sequence_events().';
COMMENT ON COLUMN event_sequencer.only_row IS 'Always true: the table has its one row.';
COMMENT ON COLUMN event_sequencer.last_position IS 'The highest position given so far.';

-- The ledger so far, as events: each account's opening, then its entries, holds and voids by
-- time (a hold's balance is the one its account had then), so each account's order holds.
INSERT INTO events (account_id, type, amount_cents, balance_after_cents, hold_amount_cents,
                    entry_id, hold_id, created_at)
SELECT x.account_id, x.type, x.amount, x.after, x.held, x.entry, x.hold, x.at
FROM (SELECT a.id AS account_id, 'open' AS type, 0::bigint AS amount, 0::bigint AS after,
             NULL::bigint AS held, NULL::bigint AS entry, NULL::bigint AS hold,
             a.created_at AS at, 0 AS rank
      FROM accounts a
      UNION ALL
      SELECT e.account_id, e.kind, e.amount_cents, e.balance_after_cents, h.amount_cents, e.id,
             e.hold_id, e.created_at, 1
      FROM entries e LEFT JOIN holds h ON h.id = e.hold_id
      UNION ALL
      SELECT h.account_id, v.type, 0, coalesce(b.balance_after_cents, 0), h.amount_cents, NULL,
             h.id, v.at, 1
      FROM holds h
      CROSS JOIN LATERAL (VALUES ('hold', h.created_at), ('void', h.settled_at)) AS v(type, at)
      LEFT JOIN LATERAL (SELECT e.balance_after_cents FROM entries e
                         WHERE e.account_id = h.account_id AND e.created_at <= v.at
                         ORDER BY e.id DESC LIMIT 1) b ON true
      WHERE v.type = 'hold' OR h.status = 'voided') AS x
ORDER BY x.account_id, x.rank, x.at, x.entry NULLS FIRST;
INSERT INTO event_sequencer (last_position) VALUES (0);

-- The balance at an instant is the one after the account's last entry written by then.
CREATE INDEX entries_account_id_created_at_idx ON entries (account_id, created_at);
