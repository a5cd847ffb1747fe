-- hold: a hold, then its capture. POST /api/accounts/{n}/holds {"sum":1..100,"expires_in":3600}
-- on a uniformly random account → 201; the ids of the holds made wait in a queue of the thread,
-- and the next request takes one: POST /api/holds/{id}/capture (the whole sum) → 200. So about
-- half the requests make holds and half capture them. SQL: hold.sql, a hold and its capture per
-- pgbench transaction, counted as two operations (bench/run's OPS_PER_TX).
local mx = require("common")
local headers = {["Content-Type"] = "application/json"}
local made = {}
local count_answer = response

function request()
   if #made > 0 then
      return wrk.format("POST", "/api/holds/" .. table.remove(made, 1) .. "/capture")
   end
   return wrk.format("POST", "/api/accounts/" .. mx.random_account() .. "/holds", headers,
                     string.format('{"sum":%d,"expires_in":3600}', math.random(1, 100)))
end

function response(status, headers, body)
   count_answer(status, headers, body)
   if status == 201 then
      local id = body:match('"id":(%d+)')
      if id then
         table.insert(made, id)
      end
   end
end
