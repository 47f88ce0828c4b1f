--[[
  Initialise a partition's metadata, or read it back if it already exists.
  Every service runs this at start, so the first one to arrive sets the layout.

  KEYS[1] meta   hash  partition metadata (README, "Redis keys")
  ARGV[1] layout       data-layout version this code writes (integer)
  ARGV[2] start        first seq of the partition (positive integer)

  Returns { layout, next }: the layout stored in Redis (may differ from ARGV[1]: the caller
  refuses to run then) and the partition's next seq to emit.
]]
local rcall = redis.call
local meta = KEYS[1]
rcall('HSETNX', meta, 'layout', ARGV[1])
rcall('HSETNX', meta, 'next', ARGV[2])
return { rcall('HGET', meta, 'layout'), rcall('HGET', meta, 'next') }
