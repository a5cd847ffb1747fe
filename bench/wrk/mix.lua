-- mix: 90 % balance reads, 10 % deposits (each drawn per request, like pgbench's
-- `-f balance.sql@9 -f move.sql@1`), uniformly random accounts.
local mx = require("common")
function request()
   local account = mx.random_account()
   if math.random(1, 10) == 1 then
      return wrk.format("PUT", "/api/accounts/" .. account .. "/deposit?sum=" ..
                        math.random(1, 1000))
   end
   return wrk.format("GET", "/api/accounts/" .. account .. "/balance")
end
