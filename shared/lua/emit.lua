--[[
  Emit a contiguous run of seqs, starting at next, in one atomic step guarded by the fence.
  Results go to the output list in seq order; tombstones (dead-lettered seqs) only advance
  next; skips record a gap. Emitted seqs leave the state hash; the stream entries the caller
  names (those whose every seq is now emitted) leave the results stream.

  KEYS[1] meta     hash   reads "fence" and "next"; sets "next"; increments "emitted", "skipped"
  KEYS[2] results  stream the named entries are deleted
  KEYS[3] output   list   results appended in seq order
  KEYS[4] state    hash   emitted seqs are removed
  KEYS[5] skipped  zset   seq -> epoch ms, for each skipped gap
  ARGV[1] fence    the caller's fence ("owner:epoch"), compared whole with meta.fence
  ARGV[2] next     the seq the caller believes comes next
  ARGV[3] now      epoch ms
  ARGV[4] m        number of stream entry ids that follow
  ARGV[5 .. 4+m]   stream entry ids to delete
  ARGV[5+m ..]     pairs, one per seq from next on: kind ("r" result | "t" tombstone |
                   "s" skip), body (output JSON; "" unless "r")

  Returns { code, next }
    code  1 = emitted; -1 = fenced (the caller is not the current leader: nothing written);
          -2 = next differs (nothing written); -3 = a seq to skip is known after all (it was
          claimed since), nothing written
    next  the stored next seq after the call
]]
local rcall = redis.call
local meta, results, output, state, skipped = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
if rcall('HGET', meta, 'fence') ~= ARGV[1] then
  return { -1, rcall('HGET', meta, 'next') }
end
local stored = rcall('HGET', meta, 'next')
if stored ~= ARGV[2] then
  return { -2, stored }
end
local m = tonumber(ARGV[4])
if #ARGV < 5 + m then return { 1, stored } end

local next = tonumber(ARGV[2])
local seq = next
for i = 5 + m, #ARGV, 2 do
  if ARGV[i] == 's' and rcall('HEXISTS', state, string.format('%.0f', seq)) == 1 then
    return { -3, stored }
  end
  seq = seq + 1
end

local bodies, seqs, skips = {}, {}, 0
seq = next
for i = 5 + m, #ARGV, 2 do
  local kind, body = ARGV[i], ARGV[i + 1]
  local f = string.format('%.0f', seq)
  if kind == 'r' then
    bodies[#bodies + 1] = body
  elseif kind == 's' then
    rcall('ZADD', skipped, tonumber(ARGV[3]), f)
    skips = skips + 1
  end
  seqs[#seqs + 1] = f
  seq = seq + 1
end

if #bodies > 0 then rcall('RPUSH', output, unpack(bodies)) end
local done = {}
for i = 5, 4 + m do done[#done + 1] = ARGV[i] end
if #done > 0 then rcall('XDEL', results, unpack(done)) end
rcall('HDEL', state, unpack(seqs))
local newNext = string.format('%.0f', seq)
rcall('HSET', meta, 'next', newNext)
rcall('HINCRBY', meta, 'emitted', #bodies)
if skips > 0 then rcall('HINCRBY', meta, 'skipped', skips) end
return { 1, newNext }
