--[[
  Claim a batch of messages for one processor (the owner), after returning the claims of
  owners that stopped beating (reap) and moving retries that are due to the head (promote).

  Strict pipelines take parked entries that the window now admits first, then pop the input
  list; unordered pipelines pop the lowest scores of their queue. Each entry is then:
  - unreadable (not JSON, no seq)         -> dead letter "malformed", its text kept; no seq taken
  - seq at or past next + window (strict) -> parked by seq, claimed once the window admits it
  - seq below next, skipped as a gap      -> dead letter "late"
  - seq below next otherwise              -> dropped as a duplicate (already emitted)
  - seq claimed, waiting or done          -> the same message (payload and id): dropped as a
                                             duplicate; another message: dead letter "conflict"
                                             (a copy meeting a claim is held instead, until that
                                             claim proves to be the seq's message: lib/held.lua)
  - seq dead-lettered, not yet emitted    -> dropped as a duplicate (its envelope is in the
                                             dead-letter list, not compared)
  - seq unknown, or returned (Q)          -> claimed: state C with this token, attempts + 1

  KEYS[1] input    list   raw envelopes of a strict pipeline; the head is claimed first
  KEYS[2] queue    zset   raw envelopes of an unordered pipeline, lowest score first
  KEYS[3] parked   zset   raw envelope -> seq: strict entries held back by the window
  KEYS[4] state    hash   seq -> state (lib/state.lua)
  KEYS[5] claims   hash   claim token -> "remaining|seqs" (lib/claims.lua)
  KEYS[6] owners   zset   owner -> liveness deadline (epoch ms, Redis clock)
  KEYS[7] meta     hash   reads "next"; raises "accepted"; increments "dead", "duplicates"
  KEYS[8] skipped  zset   "from-to" -> from: seqs skipped as gaps
  KEYS[9] dead     list   dead-letter records (JSON), appended
  KEYS[10] delayed zset   seq -> due time of its retry (epoch ms, Redis clock)
  KEYS[11] held    hash   seq -> a copy held until the claim of its seq is judged (lib/held.lua)
  ARGV[1] ordering "strict" | "none"
  ARGV[2] count    most entries to take (1..1000)
  ARGV[3] token    claim token "owner:n", unique per call (no "|" or ",")
  ARGV[4] owner    the claiming processor (the token's prefix)
  ARGV[5] leaseMs  owner liveness lease: its deadline becomes now + leaseMs
  ARGV[6] window   strict: seqs at or past next + window are parked (0 = no limit)
  ARGV[7] floor    the highest seq the caller ever claimed here (0 = none): raises "accepted",
                   so seqs a Redis rollback lost are counted as lost, not waited for

  Returns { claimed, dropped, replayed, now, parked, reaped, dueIn }
    claimed  flat: seq, attempts, raw, seq, attempts, raw, ...
    dropped  flat: kind ("duplicate" | "late" | "malformed" | "conflict" | "held"), seq (""
             when unreadable), reason
    replayed 1 when the token was used already (a resent call): nothing taken
    now      Redis's clock, epoch ms
    parked   entries parked by this call
    reaped   seqs of dead owners returned to the input before claiming
    dueIn    ms until the earliest retry still waiting is due, or -1 when none waits; -2 when
             the call claimed something (it was not looked up: the caller is busy anyway)
]]
local rcall = redis.call
local input, queue, parked, state, claims, owners, meta, skipped, dead, delayed, held =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]
local ordering = ARGV[1]
local count = tonumber(ARGV[2])
local token = ARGV[3]
local owner = ARGV[4]
local leaseMs = tonumber(ARGV[5])
local window = tonumber(ARGV[6])
local floor = tonumber(ARGV[7])
local strict = ordering == 'strict'

--#include lib/time.lua
--#include lib/state.lua
--#include lib/put-back.lua
--#include lib/claims.lua
--#include lib/return-claims.lua
--#include lib/envelope.lua

local now = nowMs()
local reaped = reapDeadOwners(now, 10)

-- Due retries go to the head, latest due first, so the earliest is claimed first.
local due = rcall('ZRANGE', delayed, '-inf', now, 'BYSCORE', 'LIMIT', 0, count)
for i = #due, 1, -1 do
  local st = rcall('HGET', state, due[i])
  if st and string.sub(st, 1, 1) == 'R' then
    local attempts, body = parseWaiting(st)
    putBack(body)
    rcall('HSET', state, due[i], 'Q|' .. attempts)
  end
  rcall('ZREM', delayed, due[i])
end
local function dueIn()
  local first = rcall('ZRANGE', delayed, 0, 0, 'WITHSCORES')
  if not first[2] then return -1 end
  return math.max(0, tonumber(first[2]) - now)
end

if strict and floor > tonumber(rcall('HGET', meta, 'accepted') or '0') then
  rcall('HSET', meta, 'accepted', string.format('%.0f', floor))
end
if rcall('HEXISTS', claims, token) == 1 then return { {}, {}, 1, now, 0, reaped, dueIn() } end

local next = tonumber(rcall('HGET', meta, 'next') or '1')
local limit = math.huge
if strict and window > 0 then limit = next + window end

-- Parked entries the window admits come first: they are the lowest seqs waiting.
local taken = {}
if strict and rcall('ZCARD', parked) > 0 then
  local below = '+inf'
  if limit ~= math.huge then below = '(' .. string.format('%.0f', limit) end
  taken = rcall('ZRANGE', parked, '-inf', below, 'BYSCORE', 'LIMIT', 0, count)
  if #taken > 0 then rcall('ZREM', parked, unpack(taken)) end
end
if #taken < count then
  if strict then
    local popped = rcall('LPOP', input, count - #taken)
    if popped then
      for i = 1, #popped do taken[#taken + 1] = popped[i] end
    end
  else
    local scored = rcall('ZPOPMIN', queue, count - #taken)
    for i = 1, #scored, 2 do taken[#taken + 1] = scored[i] end
  end
end
if #taken == 0 then return { {}, {}, 0, now, 0, reaped, dueIn() } end

-- Read the state of every readable seq in one call.
local seqAt, textAt, fields = {}, {}, {}
for i = 1, #taken do
  local seq, text = seqOf(taken[i])
  seqAt[i] = seq or false
  textAt[i] = text
  if seq then fields[#fields + 1] = text end
end
local states = {}
if #fields > 0 then
  local got = rcall('HMGET', state, unpack(fields))
  for j = 1, #fields do states[fields[j]] = got[j] end
end

local dropped, claimed, writes, seqs = {}, {}, {}, {}
local deadCount, duplicates, parkedCount, highest = 0, 0, 0, 0

local function drop(kind, f, reason, raw)
  dropped[#dropped + 1] = kind
  dropped[#dropped + 1] = f
  dropped[#dropped + 1] = reason
  if kind == 'duplicate' then
    duplicates = duplicates + 1
    return
  end
  if kind == 'held' then return end
  -- A copy that did not take its seq (late, conflict) names it as readSeq: its dead letter does
  -- not account for the seq, which was skipped or belongs to another message.
  local record = cjson.encode({ reason = kind, raw = raw, lastError = reason, deadAt = now })
  -- Spliced as text: cjson writes numbers with 14 significant digits, seqs go to 16.
  if f ~= '' then record = string.sub(record, 1, -2) .. ',"readSeq":' .. f .. '}' end
  rcall('RPUSH', dead, record)
  deadCount = deadCount + 1
end

-- The skipped range holding `seq`, as "from-to", or nil.
local function skippedRange(seq)
  local found = rcall('ZRANGE', skipped, string.format('%.0f', seq), '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, 1)
  if not found[1] then return nil end
  local to = tonumber(string.match(found[1], '-(%d+)$'))
  if to and seq <= to then return found[1] end
  return nil
end

local WHAT = { C = 'claimed', R = 'waiting for a retry', ['{'] = 'done', T = 'dead-lettered' }

for i = 1, #taken do
  local raw, seq = taken[i], seqAt[i]
  if not seq then
    drop('malformed', '', 'unreadable entry: ' .. textAt[i], raw)
  elseif seq >= limit then
    rcall('ZADD', parked, seq, raw)
    parkedCount = parkedCount + 1
  else
    local f = textAt[i]
    local st = states[f]
    local kind = st and string.sub(st, 1, 1)
    if strict and seq < next then
      local range = skippedRange(seq)
      if range then
        drop('late', f, 'seq ' .. f .. ' arrived after it was skipped as a gap (skipped ' .. range .. ')', raw)
      else
        drop('duplicate', f, 'seq ' .. f .. ' was emitted already', raw)
      end
    elseif st and kind ~= 'Q' then
      local stored
      if kind == 'C' then
        local _, _, r = parseClaimed(st)
        stored = r
      elseif kind == 'R' then
        local _, r = parseWaiting(st)
        stored = r
      elseif kind == '{' then
        stored = st .. '}'
      end
      if stored == nil or sameMessage(stored, raw) then
        drop('duplicate', f, 'seq ' .. f .. ' is ' .. WHAT[kind] .. ' already', raw)
      elseif kind == 'C' and rcall('HSETNX', held, f, raw) == 1 then
        drop('held', f, 'seq ' .. f .. ' is claimed by another payload or id: this copy is held until that claim is judged', raw)
      else
        drop('conflict', f, 'seq ' .. f .. ' is ' .. WHAT[kind] .. ' already, with another payload or id: this copy was not processed', raw)
      end
    else
      local attempts = 1
      if st then attempts = parseWaiting(st) + 1 end
      local value = 'C|' .. token .. '|' .. attempts .. '|' .. raw
      states[f] = value -- a second copy later in this batch meets the claim
      writes[#writes + 1] = f
      writes[#writes + 1] = value
      claimed[#claimed + 1] = f
      claimed[#claimed + 1] = attempts
      claimed[#claimed + 1] = raw
      seqs[#seqs + 1] = f
      if seq > highest then highest = seq end
    end
  end
end

if #writes > 0 then
  rcall('HSET', state, unpack(writes))
  rcall('HSET', claims, token, #seqs .. '|' .. table.concat(seqs, ','))
  rcall('ZADD', owners, now + leaseMs, owner)
  if strict and highest > math.max(floor, tonumber(rcall('HGET', meta, 'accepted') or '0')) then
    rcall('HSET', meta, 'accepted', string.format('%.0f', highest))
  end
end
if deadCount > 0 then rcall('HINCRBY', meta, 'dead', deadCount) end
if duplicates > 0 then rcall('HINCRBY', meta, 'duplicates', duplicates) end
if #claimed > 0 then return { claimed, dropped, 0, now, parkedCount, reaped, -2 } end
return { claimed, dropped, 0, now, parkedCount, reaped, dueIn() }
