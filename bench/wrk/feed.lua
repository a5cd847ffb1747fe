-- feed: follow the change feed, GET /api/events?after=P&limit=100 → 200 {"events":[…],"next":P'}.
-- Each reader starts at 0 and asks after the "next" of its last page; when a page comes back
-- short (or empty: the end of the feed) it starts over from 0, so the workload never runs out.
-- SQL: events_page (bench/pgbench/feed.sql, feed_batch.sql).
--
-- wrk has no per-connection hooks, so the readers are the thread's: every answer puts where its
-- reader goes on into a queue, and the next request takes the oldest. Each connection has one
-- request at a time, so a thread holds as many readers as it has connections; which connection
-- carries which reader does not matter. The body is read cheaply: the first event's position at
-- its start and "next" at its end (positions are consecutive, so a full page has next = first +
-- limit - 1).
local mx = require("common")
local limit = 100
local queue, first, last = {}, 1, 0
local count_answer = response

local function go_on(after)
   last = last + 1
   queue[last] = after
end

function request()
   local after = 0
   if first <= last then
      after = queue[first]
      queue[first] = nil
      first = first + 1
   end
   return wrk.format("GET", "/api/events?after=" .. after .. "&limit=" .. limit)
end

function response(status, headers, body)
   count_answer(status, headers, body)
   if status ~= 200 then
      go_on(0)
      return
   end
   local from = body:match('^{%s*"events"%s*:%s*%[%s*{%s*"position"%s*:%s*(%d+)')
   local next = body:match('"next"%s*:%s*(%d+)%s*}%s*$', math.max(1, #body - 40))
   if from == nil or next == nil or tonumber(next) - tonumber(from) + 1 < limit then
      go_on(0)
   else
      go_on(next)
   end
end
