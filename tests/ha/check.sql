-- The ledger against what the clients of tests/ha/hadrive.c saw; run by scripts/test-ha on the
-- surviving primary with psql -v dir=… (the directory holding accounts.tsv, ops.tsv, events.tsv and
-- faults.tsv, cut from hadrive's record by the script). Prints two tab-separated blocks:
--   W  window  t0  seconds_unavailable  acknowledged  lost  duplicated  unavailable  outcome_unknown
--      other (every other non-definitive answer: proxy_503, proxy_5xx, in_use, transport, other_503)
--   T  name  value     the totals the script judges
-- Nothing here writes to the ledger: the tables are temporary.
\set ON_ERROR_STOP 1
\pset format unaligned
\pset fieldsep '\t'
\pset tuples_only on
\pset footer off

CREATE TEMP TABLE ha_accounts (i int PRIMARY KEY, number text NOT NULL);
CREATE TEMP TABLE ha_ops (n bigint PRIMARY KEY, key text, kind text, sum bigint, from_i int,
                          to_i int, status int, attempts int, replayed int, t_first float8,
                          t_final float8);
CREATE TEMP TABLE ha_events (t float8, n bigint, what text);
CREATE TEMP TABLE ha_faults (ord int, name text, t0 float8, t1 float8);
\set f :dir '/accounts.tsv'
COPY ha_accounts FROM :'f';
\set f :dir '/ops.tsv'
COPY ha_ops FROM :'f';
\set f :dir '/events.tsv'
COPY ha_events FROM :'f';
\set f :dir '/faults.tsv'
COPY ha_faults FROM :'f';

-- What the journal holds of each operation: deposits and withdrawals by (kind, account, sum);
-- transfers by (from, to, sum), each with its number of legs on the right accounts.
CREATE TEMP TABLE ha_journal AS
SELECT e.kind, a.account_number, abs(e.amount_cents) AS sum, count(*) AS found
FROM entries e JOIN accounts a ON a.id = e.account_id
WHERE e.kind IN ('deposit', 'withdrawal')
GROUP BY 1, 2, 3;
CREATE TEMP TABLE ha_transfers AS
SELECT fa.account_number AS from_number, ta.account_number AS to_number, t.amount_cents AS sum,
       count(*) AS found,
       sum((SELECT count(*) FROM entries e
            WHERE e.transfer_id = t.id
              AND ((e.kind = 'transfer_out' AND e.account_id = t.from_account_id
                    AND e.amount_cents = -t.amount_cents)
                OR (e.kind = 'transfer_in' AND e.account_id = t.to_account_id
                    AND e.amount_cents = t.amount_cents)))) AS legs
FROM transfers t
JOIN accounts fa ON fa.id = t.from_account_id
JOIN accounts ta ON ta.id = t.to_account_id
GROUP BY 1, 2, 3;

CREATE TEMP TABLE ha_seen AS
SELECT o.*,
       coalesce(CASE WHEN o.kind = 'transfer' THEN tr.found ELSE j.found END, 0) AS found,
       coalesce(tr.legs, 0) AS legs
FROM ha_ops o
JOIN ha_accounts fa ON fa.i = o.from_i
LEFT JOIN ha_accounts ta ON ta.i = o.to_i
LEFT JOIN ha_journal j ON o.kind <> 'transfer' AND j.kind = o.kind
                      AND j.account_number = fa.number AND j.sum = o.sum
LEFT JOIN ha_transfers tr ON o.kind = 'transfer' AND tr.from_number = fa.number
                         AND tr.to_number = ta.number AND tr.sum = o.sum;

-- Per window: from its fault to the next one (the first window, "none", is the load before any).
-- Unavailable: from the fault to the first acknowledgement after the window's last
-- non-definitive answer; 0 when the window had none.
WITH w AS (
    SELECT f.*,
           (SELECT max(t) FROM ha_events e WHERE e.t >= f.t0 AND e.t < f.t1) AS last_bad
    FROM ha_faults f
)
SELECT 'W', w.name, to_char(to_timestamp(w.t0), 'HH24:MI:SS.MS'),
       CASE WHEN w.last_bad IS NULL THEN '0.0'
            ELSE coalesce(to_char((SELECT min(s.t_final) FROM ha_seen s
                                   WHERE s.status BETWEEN 200 AND 299
                                     AND s.t_final > w.last_bad) - w.t0, 'FM99990.0'),
                          'never') END,
       (SELECT count(*) FROM ha_seen s WHERE s.status BETWEEN 200 AND 299
          AND s.t_final >= w.t0 AND s.t_final < w.t1),
       (SELECT count(*) FROM ha_seen s WHERE s.status BETWEEN 200 AND 299 AND s.found = 0
          AND s.t_final >= w.t0 AND s.t_final < w.t1),
       (SELECT count(*) FROM ha_seen s WHERE s.found > 1
          AND s.t_final >= w.t0 AND s.t_final < w.t1),
       (SELECT count(*) FROM ha_events e WHERE e.what = 'unavailable'
          AND e.t >= w.t0 AND e.t < w.t1),
       (SELECT count(*) FROM ha_events e WHERE e.what = 'outcome_unknown'
          AND e.t >= w.t0 AND e.t < w.t1),
       (SELECT coalesce(string_agg(what || ' ' || c, ', ' ORDER BY what), '0')
        FROM (SELECT e.what, count(*) AS c FROM ha_events e
              WHERE e.what NOT IN ('unavailable', 'outcome_unknown')
                AND e.t >= w.t0 AND e.t < w.t1 GROUP BY 1) x)
FROM w ORDER BY w.ord;

-- The totals.
SELECT 'T', 'operations', count(*) FROM ha_seen
UNION ALL
SELECT 'T', 'acknowledged', count(*) FROM ha_seen WHERE status BETWEEN 200 AND 299
UNION ALL
SELECT 'T', 'replayed', count(*) FROM ha_seen WHERE status BETWEEN 200 AND 299 AND replayed = 1
UNION ALL
SELECT 'T', 'refused_4xx', count(*) FROM ha_seen WHERE status BETWEEN 400 AND 499
UNION ALL
SELECT 'T', 'lost', count(*) FROM ha_seen WHERE status BETWEEN 200 AND 299 AND found = 0
UNION ALL
SELECT 'T', 'duplicated', count(*) FROM ha_seen WHERE found > 1
UNION ALL
SELECT 'T', 'refused_but_applied', count(*) FROM ha_seen WHERE status BETWEEN 400 AND 499
                                                           AND found > 0
UNION ALL
SELECT 'T', 'without_definitive_answer', count(*) FROM ha_seen WHERE status NOT BETWEEN 200 AND 499
UNION ALL
SELECT 'T', 'transfer_legs_wrong', count(*) FROM ha_seen WHERE kind = 'transfer' AND found > 0
                                                           AND legs <> 2 * found
-- Journal rows no operation of the clients accounts for (there should be none: the database is
-- fresh, and only hadrive writes to it).
UNION ALL
SELECT 'T', 'unexplained_entries',
       (SELECT coalesce(sum(j.found), 0) FROM ha_journal j
        WHERE NOT EXISTS (SELECT 1 FROM ha_ops o JOIN ha_accounts fa ON fa.i = o.from_i
                          WHERE o.kind = j.kind AND fa.number = j.account_number
                            AND o.sum = j.sum))
     + (SELECT coalesce(sum(t.found), 0) FROM ha_transfers t
        WHERE NOT EXISTS (SELECT 1 FROM ha_ops o JOIN ha_accounts fa ON fa.i = o.from_i
                          JOIN ha_accounts ta ON ta.i = o.to_i
                          WHERE o.kind = 'transfer' AND fa.number = t.from_number
                            AND ta.number = t.to_number AND o.sum = t.sum))
-- Every balance against the acknowledged operations alone (the clients' view of the money).
UNION ALL
SELECT 'T', 'balances_off', count(*)
FROM (SELECT a.i, acc.balance_cents,
             coalesce((SELECT sum(CASE WHEN s.kind = 'deposit' AND s.from_i = a.i THEN s.sum
                                       WHEN s.kind = 'withdrawal' AND s.from_i = a.i THEN -s.sum
                                       WHEN s.kind = 'transfer' AND s.from_i = a.i THEN -s.sum
                                       WHEN s.kind = 'transfer' AND s.to_i = a.i THEN s.sum
                                       ELSE 0 END)
                       FROM ha_seen s WHERE s.status BETWEEN 200 AND 299), 0) AS expected
      FROM ha_accounts a JOIN accounts acc ON acc.account_number = a.number) b
WHERE balance_cents <> expected
UNION ALL
SELECT 'T', 'journal_entries', count(*) FROM entries;
