-- statement: GET /api/accounts/{n}/statement?from=FROM&to=TO (JSON: the sums, then the period's
-- 1,000 entries, streamed in pages of 500) on a uniformly random statement account (seeded by
-- bench/sql/seed.sql, drawn by no other workload) → 200. SQL: statement_summary, then
-- statement_page per page (bench/pgbench/statement.sql, statement_batch.sql).
local mx = require("common")
function request()
   return wrk.format("GET", "/api/accounts/" .. mx.random_statement_account() ..
                     "/statement?from=" .. mx.from .. "&to=" .. mx.to)
end
