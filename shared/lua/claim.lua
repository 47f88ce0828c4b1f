--[[
  Claim a batch of envelopes from the head of the partition's input list.

  Each popped entry is checked against the seq's state:
  - not parseable to a seq              -> dead letter, reason "malformed" (raw text kept)
  - seq below next, recorded as skipped -> dead letter, reason "late"
  - seq below next otherwise            -> dropped as a duplicate (already emitted)
  - seq claimed, waiting for retry or done -> dropped as a duplicate
  - seq unknown, or returned to input (Q) -> claimed: state C with this call's token, attempts + 1
  - seq at or past next + window         -> pushed back with everything after it; claiming
                                            stops (back-pressure)

  KEYS[1] input    list   raw envelopes; the head (left) is claimed first
  KEYS[2] state    hash   seq -> "C|token|attempts|raw" claimed, "R|attempts|raw" waiting for a
                          retry, "Q|attempts" returned to input, "D" done (in the results stream)
  KEYS[3] leases   zset   claim token -> lease deadline (epoch ms)
  KEYS[4] batches  hash   claim token -> comma-separated seqs claimed under it
  KEYS[5] meta     hash   reads "next"; increments "dead"
  KEYS[6] skipped  zset   seq -> epoch ms it was skipped as a gap
  KEYS[7] dead     list   dead-letter records (JSON)
  KEYS[8] queue    zset   raw envelopes of an unordered pipeline, lowest score claimed first
  KEYS[9] signal   list   one entry while `queue` is non-empty; removed when a claim empties it
  ARGV[1] count    most entries to pop (integer, 1..1000)
  ARGV[2] token    claim token, unique per call ("owner:n", no "|" or ",")
  ARGV[3] now      epoch ms
  ARGV[4] leaseMs  lease length in ms
  ARGV[5] window   most seqs ahead of next that may be claimed (0 = no limit; list mode only)
  ARGV[6] mode     "list" (strict pipelines: pop KEYS[1]) | "queue" (unordered: pop KEYS[8])

  Returns { claimed, dropped, blocked, replayed }
    claimed  flat array: seq, attempts, raw, seq, attempts, raw, ...
    dropped  flat array: kind ("duplicate" | "late" | "malformed"), seq ("" if unreadable), state
    blocked  1 when claiming stopped at the window, else 0
    replayed 1 when the token was already used (a resent call whose first reply was lost):
             nothing is claimed, and the earlier claim is left to expire and be reaped
]]
local rcall = redis.call
local input, state, leases, batches, meta, skipped, dead =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local count = tonumber(ARGV[1])
local token = ARGV[2]
local now = tonumber(ARGV[3])
local leaseMs = tonumber(ARGV[4])
local window = tonumber(ARGV[5])
local fromQueue = ARGV[6] == 'queue'

local function seqOf(raw)
  local s = string.match(raw, '^{"seq":(%d+)[,}]')
  local n
  if s then
    n = tonumber(s)
  else
    local ok, obj = pcall(cjson.decode, raw)
    if ok and type(obj) == 'table' and type(obj.seq) == 'number' then n = obj.seq end
  end
  if n and n >= 1 and n == math.floor(n) and n < 9007199254740992 then return n end
  return nil
end

local function deadLetter(reason, seq, raw)
  local record = { reason = reason, raw = raw, deadAt = now }
  if seq then record.seq = seq end
  rcall('RPUSH', dead, cjson.encode(record))
  rcall('HINCRBY', meta, 'dead', 1)
end

if rcall('HEXISTS', batches, token) == 1 then return { {}, {}, 0, 1 } end
local popped
if fromQueue then
  popped = {}
  local scored = rcall('ZPOPMIN', KEYS[8], count)
  for i = 1, #scored, 2 do popped[#popped + 1] = scored[i] end
  if rcall('ZCARD', KEYS[8]) == 0 then rcall('DEL', KEYS[9]) end
  if #popped == 0 then return { {}, {}, 0, 0 } end
else
  popped = rcall('LPOP', input, count)
  if not popped then return { {}, {}, 0, 0 } end
end

local next = tonumber(rcall('HGET', meta, 'next') or '1')

-- Read the state of every popped seq in one call.
local seqAt, fields = {}, {}
for i = 1, #popped do
  local seq = seqOf(popped[i])
  seqAt[i] = seq or false
  if seq then fields[#fields + 1] = string.format('%.0f', seq) end
end
local states = {}
if #fields > 0 then
  local got = rcall('HMGET', state, unpack(fields))
  for j = 1, #fields do states[fields[j]] = got[j] end
end

local claimed, dropped, seqs, writes = {}, {}, {}, {}
local blocked = 0
for i = 1, #popped do
  local raw = popped[i]
  local seq = seqAt[i]
  if not seq then
    deadLetter('malformed', nil, raw)
    dropped[#dropped + 1] = 'malformed'
    dropped[#dropped + 1] = ''
    dropped[#dropped + 1] = ''
  elseif window > 0 and not fromQueue and seq >= next + window then
    for j = #popped, i, -1 do rcall('LPUSH', input, popped[j]) end
    blocked = 1
    break
  else
    local f = string.format('%.0f', seq)
    local st = states[f]
    if seq < next then
      if rcall('ZSCORE', skipped, f) then
        deadLetter('late', seq, raw)
        dropped[#dropped + 1] = 'late'
      else
        dropped[#dropped + 1] = 'duplicate'
      end
      dropped[#dropped + 1] = f
      dropped[#dropped + 1] = 'emitted'
    elseif st and string.sub(st, 1, 1) ~= 'Q' then
      dropped[#dropped + 1] = 'duplicate'
      dropped[#dropped + 1] = f
      dropped[#dropped + 1] = string.sub(st, 1, 1)
    else
      local attempts = 1
      if st then attempts = tonumber(string.sub(st, 3)) + 1 end
      local value = 'C|' .. token .. '|' .. attempts .. '|' .. raw
      -- A second copy of this seq later in the same batch is a duplicate.
      states[f] = value
      writes[#writes + 1] = f
      writes[#writes + 1] = value
      claimed[#claimed + 1] = f
      claimed[#claimed + 1] = attempts
      claimed[#claimed + 1] = raw
      seqs[#seqs + 1] = f
    end
  end
end

if #writes > 0 then rcall('HSET', state, unpack(writes)) end
if #seqs > 0 then
  rcall('ZADD', leases, now + leaseMs, token)
  rcall('HSET', batches, token, table.concat(seqs, ','))
end
return { claimed, dropped, blocked, 0 }
