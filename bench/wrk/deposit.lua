-- deposit: PUT /api/accounts/{n}/deposit?sum=1..1000 on a uniformly random account → 200.
-- SQL: move (bench/pgbench/move.sql).
local mx = require("common")
function request()
   return wrk.format("PUT", "/api/accounts/" .. mx.random_account() ..
                     "/deposit?sum=" .. math.random(1, 1000))
end
