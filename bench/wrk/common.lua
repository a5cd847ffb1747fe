-- common.lua — shared by every workload script of scripts/bench (bench/run runs wrk from this
-- directory, so `require("common")` finds it).
--
-- Arguments after wrk's `--`: ACCOUNTS BASE STRIDE STATEMENT_ACCOUNTS FROM TO. Account i
-- (1..ACCOUNTS + STATEMENT_ACCOUNTS) has the number that bench/sql/seed.sql gave it and that
-- bench/pgbench/*.sql compute with the same formula:
--   x = BASE + i * STRIDE  (14 digits),  number = x * 100 + 98 - (x % 97) * 100 % 97
-- (ISO 7064 MOD 97-10 check digits, as src/core/account_number.c appends them). All values stay
-- below 2^53, so LuaJIT's doubles hold them exactly. Accounts ACCOUNTS + 1 .. ACCOUNTS +
-- STATEMENT_ACCOUNTS are the statement accounts, each with its 1,000 entries in [FROM, TO) (two
-- dates); no other workload draws them.
--
-- Every thread counts the answers that are not 2xx (by status) in response(); done() prints one
-- line for bench/run to parse:
--   MXBENCH requests=… seconds=… rps=… p50_us=… p99_us=… non2xx=… socket_errors=… statuses=…
local M = {}

local accounts, base, stride = 10000, 0, 0
local statement_accounts = 100
M.from, M.to = "2026-11-01", "2026-12-01"

function M.number(i)
   local x = base + i * stride
   return string.format("%.0f", x * 100 + 98 - (x % 97) * 100 % 97)
end

function M.random_account()
   return M.number(math.random(1, accounts))
end

-- One of the statement accounts, uniform, as bench/pgbench/statement.sql draws them.
function M.random_statement_account()
   return M.number(accounts + math.random(1, statement_accounts))
end

-- Two different accounts, each uniform, as bench/pgbench/transfer.sql draws them.
function M.random_pair()
   local i = math.random(1, accounts)
   local j = (i + math.random(1, accounts - 1) - 1) % accounts + 1
   return M.number(i), M.number(j)
end

-- ---- wrk's hooks ----------------------------------------------------------------------------
local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_index", #threads)
end

function init(args)
   accounts = tonumber(args[1]) or accounts
   base = tonumber(args[2]) or base
   stride = tonumber(args[3]) or stride
   statement_accounts = tonumber(args[4]) or statement_accounts
   M.from = args[5] or M.from
   M.to = args[6] or M.to
   -- Each thread its own random sequence (two identical ones would collide on the same rows).
   math.randomseed(os.time() * 1000 + (thread_index or 0) * 7919 + math.floor(os.clock() * 1e6))
   non2xx = 0
   bad_statuses = {}
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      bad_statuses[status] = (bad_statuses[status] or 0) + 1
   end
end

function done(summary, latency, requests)
   local non2xx_total, by_status = 0, {}
   for _, thread in ipairs(threads) do
      non2xx_total = non2xx_total + (thread:get("non2xx") or 0)
      for status, n in pairs(thread:get("bad_statuses") or {}) do
         by_status[status] = (by_status[status] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(by_status) do
      table.insert(parts, string.format("%d:%d", status, n))
   end
   table.sort(parts)
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      "MXBENCH requests=%d seconds=%.3f rps=%.1f p50_us=%.0f p99_us=%.0f non2xx=%d" ..
      " socket_errors=%d statuses=%s\n",
      summary.requests, seconds, summary.requests / seconds, latency:percentile(50),
      latency:percentile(99), non2xx_total, e.connect + e.read + e.write + e.timeout,
      #parts > 0 and table.concat(parts, "/") or "-"))
end

return M
