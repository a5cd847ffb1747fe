-- balance: GET /api/accounts/{n}/balance on a uniformly random account → 200.
-- SQL: get_account (bench/pgbench/balance.sql).
local mx = require("common")
function request()
   return wrk.format("GET", "/api/accounts/" .. mx.random_account() .. "/balance")
end
