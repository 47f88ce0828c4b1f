--[[
  Take a new fencing token for a sequencer that has just acquired the leader lease. Every
  emit compares the caller's whole fence with the stored one, so a former leader's writes
  are refused from this moment on.

  KEYS[1] meta     hash   increments "epoch", sets "fence"; sets "next" if missing
  ARGV[1] owner    the new leader's instance id (no ":")
  ARGV[2] start    first seq of the partition

  Returns { fence, next }: the fence ("owner:epoch") and the next seq to emit.
]]
local rcall = redis.call
local meta = KEYS[1]
local epoch = rcall('HINCRBY', meta, 'epoch', 1)
local fence = ARGV[1] .. ':' .. epoch
rcall('HSET', meta, 'fence', fence)
rcall('HSETNX', meta, 'next', ARGV[2])
return { fence, rcall('HGET', meta, 'next') }
