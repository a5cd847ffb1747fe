-- seed.sql — the accounts scripts/bench works on (psql -v accounts=… base=… stride=… balance=…).
--
-- Account i (1..:accounts) gets the number of the formula that bench/wrk/common.lua and
-- bench/pgbench/*.sql compute, so neither needs a lookup:
--   x = base + i * stride (14 digits), number = x * 100 + 98 - (x % 97) * 100 % 97
-- i.e. x followed by its ISO 7064 MOD 97-10 check digits, as src/core/account_number.c makes them
-- (number mod 97 = 1). Each account starts with :balance cents, and gets the matching 'deposit'
-- entry in the journal, so that balance = sum(entries) holds from the start, as for any account
-- made through the API. Ids follow i (a fresh database), which nothing relies on.
\set ON_ERROR_STOP on
BEGIN;
WITH numbered AS (
    SELECT i, :base::bigint + i * :stride::bigint AS x FROM generate_series(1, :accounts) AS i),
created AS (
    INSERT INTO accounts (account_number, balance_cents)
    SELECT (x * 100 + 98 - (x % 97) * 100 % 97)::text, :balance FROM numbered ORDER BY i
    RETURNING id, balance_cents)
INSERT INTO entries (account_id, kind, amount_cents, balance_after_cents)
SELECT id, 'deposit', balance_cents, balance_cents FROM created ORDER BY id;
-- The numbers are valid for the service (16 digits, mod 97 = 1) and the first is the one that
-- bench/wrk/hot.lua and the hot workload of bench/pgbench/move.sql (span 1) hit.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM accounts WHERE account_number !~ '^[0-9]{16}$'
               OR account_number::bigint % 97 <> 1) THEN
        RAISE EXCEPTION 'seed: an account number fails MOD 97-10';
    END IF;
END
$$;
COMMIT;
VACUUM ANALYZE accounts;
VACUUM ANALYZE entries;
