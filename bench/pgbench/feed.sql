-- feed: one page of GET /api/events?after=P&limit=100 (the whole ledger, oldest first) as one
-- request's own statement: the statement "events_page" of src/store/statements.c (its
-- EVENT_COLUMNS and EVENT_JOINS written out) for one request of the whole ledger, without the
-- unnest of the batch and without its per-account branch: the next 100 numbered events after
-- :after, each with its account, its entry's transfer and counterparty, and its reference and
-- metadata. feed_batch.sql is the service's statement itself.
--
-- How this copy differs, and why (see bench/README.md):
--  * every :variable carries the cast to the type the service declares (pgbench declares none);
--  * 'HH24:MI:SS.US' would read as pgbench variables :MI and :SS, so the to_char format is
--    written E'…\x3a…' — the same constant once parsed;
--  * after is drawn uniformly from 0 to the last position given when the cell starts
--    (last_position, which bench/run passes), where each wrk connection follows "next" from 0 to
--    the end and starts over: both read pages all along the feed, the last one short.
\set after random(0, :last_position)
\set wanted 100
SELECT ev.position, ev.type, acc.account_number, acc.currency, ev.amount_cents,
 ev.balance_after_cents, ev.hold_amount_cents, ev.entry_id, e.transfer_id,
 other.account_number, ev.hold_id,
 to_char(ev.created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS.US"Z"'),
 coalesce(e.reference, h.reference), coalesce(e.metadata, h.metadata)
 FROM (SELECT x.* FROM events x WHERE x.position > :after::int8
 ORDER BY x.position LIMIT :wanted::int8) ev
 LEFT JOIN accounts acc ON acc.id = ev.account_id
 LEFT JOIN entries e ON e.id = ev.entry_id
 LEFT JOIN holds h ON h.id = ev.hold_id
 LEFT JOIN transfers t ON t.id = e.transfer_id
 LEFT JOIN accounts other ON other.id = CASE e.kind
 WHEN 'transfer_out' THEN t.to_account_id WHEN 'transfer_in' THEN t.from_account_id END
 ORDER BY ev.position;
