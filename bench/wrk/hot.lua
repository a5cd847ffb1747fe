-- hot: every deposit on ONE account (account 1): the row lock serialises them.
-- PUT /api/accounts/{n}/deposit?sum=1..1000 → 200. SQL: move (bench/pgbench/move.sql, span 1).
local mx = require("common")
local hot
function request()
   hot = hot or mx.number(1)
   return wrk.format("PUT", "/api/accounts/" .. hot .. "/deposit?sum=" .. math.random(1, 1000))
end
