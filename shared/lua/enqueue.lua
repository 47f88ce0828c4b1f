--[[
  Append envelopes to a partition's input in one atomic step.
  Strict pipelines: RPUSH to the input list, in the order given.
  Unordered pipelines: ZADD to the queue with score priority * 2^40 + arrival number (the
  meta hash's "arrival" counter), so lower priority numbers come first and equal priorities
  keep their arrival order; `signal` gets one entry if it has none.

  KEYS[1] input    list   strict pipelines' input
  KEYS[2] queue    zset   unordered pipelines' input
  KEYS[3] signal   list   one entry while `queue` is non-empty
  KEYS[4] meta     hash   increments "arrival" (unordered only)
  ARGV[1] mode     "list" | "queue"
  ARGV[2 ..]       pairs: priority (integer -1000..1000; ignored in list mode), raw envelope

  Returns the number of entries appended.
]]
local rcall = redis.call
local input, queue, signal, meta = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local n = 0
if ARGV[1] == 'queue' then
  for i = 2, #ARGV, 2 do
    local arrival = rcall('HINCRBY', meta, 'arrival', 1)
    rcall('ZADD', queue, tonumber(ARGV[i]) * 1099511627776 + arrival, ARGV[i + 1])
    n = n + 1
  end
  if n > 0 and rcall('LLEN', signal) == 0 then rcall('RPUSH', signal, '1') end
else
  local raws = {}
  for i = 2, #ARGV, 2 do raws[#raws + 1] = ARGV[i + 1] end
  if #raws > 0 then rcall('RPUSH', input, unpack(raws)) end
  n = #raws
end
return n
