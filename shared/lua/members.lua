--[[
  Keep a group's membership (the sequencers of one key prefix): renew one member's liveness on
  Redis's clock, forget members whose liveness lapsed, and answer who is alive. The group uses
  it to share the partitions' leaderships evenly; it guards nothing (the leases and fences do).

  KEYS[1] members  zset   member -> liveness deadline (epoch ms, Redis clock)
  ARGV[1] member   this member's id
  ARGV[2] leaseMs  its deadline becomes now + leaseMs; 0 removes it (it is leaving)

  Returns the live members, in id order.
]]
local rcall = redis.call
local members = KEYS[1]

--#include lib/time.lua

local now = nowMs()
rcall('ZREMRANGEBYSCORE', members, '-inf', '(' .. now)
if tonumber(ARGV[2]) > 0 then
  rcall('ZADD', members, now + tonumber(ARGV[2]), ARGV[1])
else
  rcall('ZREM', members, ARGV[1])
end
local live = rcall('ZRANGE', members, 0, -1)
table.sort(live)
return live
