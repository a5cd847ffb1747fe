-- feed_batch: one page of GET /api/events?after=P&limit=100 through the service's set-based feed
-- read (the statement "events_page" of src/store/statements.c, EVENT_COLUMNS and EVENT_JOINS
-- written out), with ONE request per transaction: the whole ledger (account NULL), after :after,
-- 100 events.
--
-- How this copy differs, and why: the service binds three arrays as parameters; pgbench cannot
-- build an array from a computed number, so each is ARRAY[...] of one parameter, and the array of
-- accounts, all NULL for the whole ledger, is a constant (as the keys are in apply_move.sql). The
-- to_char format is written E'…\x3a…' as in feed.sql, and after is drawn as there.
\set after random(0, :last_position)
\set wanted 100
SELECT u.ord, u.number IS NULL OR a.id IS NOT NULL, ev.position, ev.type, acc.account_number,
 acc.currency, ev.amount_cents, ev.balance_after_cents, ev.hold_amount_cents, ev.entry_id,
 e.transfer_id, other.account_number, ev.hold_id,
 to_char(ev.created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS.US"Z"'),
 coalesce(e.reference, h.reference), coalesce(e.metadata, h.metadata)
 FROM unnest(ARRAY[NULL::text], ARRAY[:after::int8], ARRAY[:wanted::int4]) WITH ORDINALITY
 AS u(number, after, wanted, ord)
 LEFT JOIN accounts a ON a.account_number = u.number
 LEFT JOIN LATERAL (
 (SELECT x.* FROM events x WHERE u.number IS NULL
 AND x.position > u.after ORDER BY x.position LIMIT u.wanted)
 UNION ALL
 (SELECT x.* FROM events x WHERE u.number IS NOT NULL
 AND x.account_id = a.id AND x.position > u.after
 ORDER BY x.account_id, x.position LIMIT u.wanted)
 ) ev ON true
 LEFT JOIN LATERAL (SELECT acc.account_number, acc.currency FROM accounts acc
 WHERE acc.id = ev.account_id LIMIT 1) acc ON true
 LEFT JOIN LATERAL (SELECT e.kind, e.transfer_id, e.reference, e.metadata FROM entries e
 WHERE e.id = ev.entry_id LIMIT 1) e ON true
 LEFT JOIN LATERAL (SELECT h.reference, h.metadata FROM holds h
 WHERE h.id = ev.hold_id LIMIT 1) h ON true
 LEFT JOIN LATERAL (SELECT other.account_number FROM transfers t JOIN accounts other
 ON other.id = CASE e.kind WHEN 'transfer_out' THEN t.to_account_id
 WHEN 'transfer_in' THEN t.from_account_id END WHERE t.id = e.transfer_id LIMIT 1) other
 ON true
 ORDER BY u.ord, ev.position;
