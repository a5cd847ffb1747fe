-- check.sql — after a run: the ledger's invariants still hold (balance = sum of the account's
-- entries; every transfer has its two legs). Prints one line: "accounts=… bad_balances=… …".
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
SELECT format('accounts=%s entries=%s transfers=%s bad_balances=%s bad_transfers=%s',
    (SELECT count(*) FROM accounts),
    (SELECT count(*) FROM entries),
    (SELECT count(*) FROM transfers),
    (SELECT count(*) FROM accounts a
      LEFT JOIN (SELECT account_id, sum(amount_cents) AS total FROM entries GROUP BY account_id) s
        ON s.account_id = a.id
      WHERE a.balance_cents <> coalesce(s.total, 0)),
    (SELECT count(*) FROM transfers t
      WHERE (SELECT count(*) FROM entries e WHERE e.transfer_id = t.id) <> 2));
