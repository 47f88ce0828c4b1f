--[[
  Emit a contiguous run of settled seqs from next, in one atomic step guarded by the fence.
  Optionally skip a gap first: seqs from next up to skipTo that nothing knows of (never
  produced, or lost by Redis) are recorded as skipped. Each seq of the run must be settled:
  a done one (its output without the closing brace) goes to the output list with the sequencer's
  two timestamps appended, T (a tombstone)
  only moves next on. Emitted seqs leave the state hash; the stream entries the caller names
  (those whose every seq is now emitted) leave the results stream. Nothing is written unless
  the whole call is accepted.

  KEYS[1] meta     hash   reads "fence", "next"; sets "next", "movedAt"; removes "stall";
                          increments "emitted", "skipped", "lost"
  KEYS[2] results  stream the named entries are deleted
  KEYS[3] output   list   outputs appended in seq order
  KEYS[4] state    hash   seq -> state (lib/state.lua); emitted seqs are removed
  KEYS[5] skipped  zset   "from-to" -> from, one member per skipped range
  KEYS[6] parked   zset   read only: when it holds entries, processors are woken (the window moved)
  ARGV[1] fence    the caller's fence ("owner:epoch"), compared whole with meta "fence"
  ARGV[2] next     the seq the caller believes comes next
  ARGV[3] now      the caller's clock (epoch ms): sequencedAt, and movedAt
  ARGV[4] skipTo   0, or the first seq after a gap to skip (at most 10,000 seqs past next)
  ARGV[5] lostUpTo skipped seqs up to this one were accepted into the partition: counted as
                   lost, the others as gaps
  ARGV[6] channel  processors' wake channel ("" = none)
  ARGV[7] tag      the partition's tag, the wake message
  ARGV[8] m        number of stream entry ids that follow
  ARGV[9 .. 8+m]   stream entry ids to delete
  ARGV[9+m ..]     pairs: count, sequencingAt (epoch ms) - the run, in order from next (or
                   skipTo): `count` seqs that the caller read at `sequencingAt`

  Returns { code, next, results, tombstones, detail }
    code  1 = emitted; -1 = fenced (the caller is not the current leader); -2 = next differs;
          -3 = a seq to skip is known after all (detail = that seq); -4 = a seq of the run is
          not settled (detail = that seq). Nothing is written unless the code is 1.
    next  the stored next seq after the call
]]
local rcall = redis.call
local meta, results, output, state, skipped, parked = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

--#include lib/wake.lua

if rcall('HGET', meta, 'fence') ~= ARGV[1] then
  return { -1, rcall('HGET', meta, 'next') or '', 0, 0, '' }
end
local stored = rcall('HGET', meta, 'next')
if stored ~= ARGV[2] then return { -2, stored or '', 0, 0, '' } end

local next = tonumber(ARGV[2])
local now = ARGV[3]
local skipTo = tonumber(ARGV[4])
local m = tonumber(ARGV[8])
-- A seq as its hash field: tostring is exact below 10^14, string.format beyond.
local fmt = function(n)
  if n < 1e14 then return tostring(n) end
  return string.format('%.0f', n)
end

-- Every seq of the gap must be unknown.
local start = next
if skipTo > next then
  for from = next, skipTo - 1, 1000 do
    local fields = {}
    for seq = from, math.min(from + 999, skipTo - 1) do fields[#fields + 1] = fmt(seq) end
    local got = rcall('HMGET', state, unpack(fields))
    for j = 1, #fields do
      if got[j] then return { -3, stored, 0, 0, fields[j] } end
    end
  end
  start = skipTo
end

-- Every seq of the run must be settled.
local seqs, readAt = {}, {}
for i = 9 + m, #ARGV, 2 do
  for _ = 1, tonumber(ARGV[i]) do
    seqs[#seqs + 1] = fmt(start + #seqs)
    readAt[#seqs] = ARGV[i + 1]
  end
end
local states = {}
if #seqs > 0 then states = rcall('HMGET', state, unpack(seqs)) end
local bodies, tombstones = {}, 0
for j = 1, #seqs do
  local st = states[j]
  local kind = st and string.sub(st, 1, 1)
  if kind == '{' then
    bodies[#bodies + 1] = st .. ',"sequencingAt":' .. readAt[j] .. ',"sequencedAt":' .. now .. '}'
  elseif kind == 'T' then
    tombstones = tombstones + 1
  else
    return { -4, stored, 0, 0, seqs[j] }
  end
end

if start > next then
  local last = start - 1
  rcall('ZADD', skipped, next, fmt(next) .. '-' .. fmt(last))
  local lostUpTo = math.min(tonumber(ARGV[5]), last)
  local lost = 0
  if lostUpTo >= next then lost = lostUpTo - next + 1 end
  rcall('HINCRBY', meta, 'skipped', start - next)
  if lost > 0 then rcall('HINCRBY', meta, 'lost', lost) end
end
if #bodies > 0 then
  rcall('RPUSH', output, unpack(bodies))
  rcall('HINCRBY', meta, 'emitted', #bodies)
end
if #seqs > 0 then rcall('HDEL', state, unpack(seqs)) end
local done = {}
for i = 9, 8 + m do done[#done + 1] = ARGV[i] end
if #done > 0 then rcall('XDEL', results, unpack(done)) end
local newNext = fmt(start + #seqs)
rcall('HSET', meta, 'next', newNext, 'movedAt', now)
rcall('HDEL', meta, 'stall')
if rcall('ZCARD', parked) > 0 then wake(ARGV[6], ARGV[7]) end
return { 1, newNext, #bodies, tombstones, '' }
