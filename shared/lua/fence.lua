--[[
  Take a new fencing token for a sequencer that has just acquired the leader lease. Every
  emit compares the caller's whole fence with the stored one, so a former leader's writes
  are refused from this moment on.

  KEYS[1] meta     hash   increments "epoch", sets "fence"; sets "next" if missing; raises
                          "accepted" to the floor
  ARGV[1] owner    the new leader's instance id (no ":")
  ARGV[2] start    first seq of the partition
  ARGV[3] floor    the highest seq the caller knows was accepted into the partition (0 = none):
                   after a Redis rollback, the seqs up to it that nothing knows any more are
                   counted as lost instead of waited for

  Returns { fence, next }: the fence ("owner:epoch") and the next seq to emit.
]]
local rcall = redis.call
local meta = KEYS[1]
local epoch = rcall('HINCRBY', meta, 'epoch', 1)
local fence = ARGV[1] .. ':' .. epoch
rcall('HSET', meta, 'fence', fence)
rcall('HSETNX', meta, 'next', ARGV[2])
local floor = tonumber(ARGV[3])
if floor > tonumber(rcall('HGET', meta, 'accepted') or '0') then
  rcall('HSET', meta, 'accepted', string.format('%.0f', floor))
end
return { fence, rcall('HGET', meta, 'next') }
