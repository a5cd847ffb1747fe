-- withdraw: PUT /api/accounts/{n}/withdraw?sum=1..100 on a uniformly random account → 200 (every
-- account starts with 10,000,000.00, so no withdrawal is refused). SQL: move
-- (bench/pgbench/move.sql, sign -1).
local mx = require("common")
function request()
   return wrk.format("PUT", "/api/accounts/" .. mx.random_account() ..
                     "/withdraw?sum=" .. math.random(1, 100))
end
