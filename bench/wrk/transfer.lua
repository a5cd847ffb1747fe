-- transfer: POST /api/transfers {"from","to","sum":1..100} between two different uniformly random
-- accounts → 201. SQL: transfer, i.e. transfer_funds (bench/pgbench/transfer.sql).
local mx = require("common")
local headers = {["Content-Type"] = "application/json"}
function request()
   local from, to = mx.random_pair()
   return wrk.format("POST", "/api/transfers", headers, string.format(
      '{"from":"%s","to":"%s","sum":%d}', from, to, math.random(1, 100)))
end
