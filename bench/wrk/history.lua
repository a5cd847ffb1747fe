-- history: GET /api/accounts/{n}/transactions?limit=20 (the newest page) on a uniformly random
-- account → 200. SQL: history (bench/pgbench/history.sql).
local mx = require("common")
function request()
   return wrk.format("GET", "/api/accounts/" .. mx.random_account() .. "/transactions?limit=20")
end
