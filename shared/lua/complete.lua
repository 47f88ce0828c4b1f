--[[
  Complete claimed seqs: hand each result on, if its claim is still the caller's. Replaying
  it changes nothing: a seq whose claim token no longer matches (reaped, released, timed out,
  completed already) is reported stale and left alone.

  Strict pipelines keep each output envelope in the seq's state (done: the envelope without its
  closing brace, as the caller sends it, lib/state.lua) and append ONE
  entry to the results stream naming the completed seqs (and their createdAt and processedAt,
  for the sequencer's stage latencies); the sequencer emits them in order from there. Unordered pipelines append the outputs to the output list and forget the seqs.

  KEYS[1] state    hash   seq -> state (lib/state.lua)
  KEYS[2] results  stream strict: entries { s = "seq,seq,...", c = createdAt list, p = processedAt
                          list } of settled seqs
  KEYS[3] output   list   unordered: output envelopes, appended
  KEYS[4] claims   hash   claim token -> "remaining|seqs"; a claim goes when its last seq settles
  KEYS[5] held     hash   seq -> a copy held until its seq's claim is judged: completed seqs
                          were their messages', so their held copies become conflicts
  KEYS[6] dead     list   dead-letter records of those conflicts, appended
  KEYS[7] meta     hash   increments "dead"
  KEYS[8] input    list   read only by lib/held.lua (nothing goes back from a completion)
  KEYS[9] queue    zset   as KEYS[8], for unordered pipelines
  ARGV[1] ordering "strict" | "none"
  ARGV[2] channel  sequencers' wake channel ("" = none)
  ARGV[3] tag      the partition's tag, the wake message
  ARGV[4 ..]       5-tuples: seq, claim token, output envelope (JSON; strict pipelines: without
                   its closing brace), createdAt, processedAt (epoch ms)

  Returns an array with one entry per tuple: 1 = completed, 0 = stale (claim not ours).
]]
local rcall = redis.call
local state, results, output, claims, held, dead, meta, input, queue =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local ordering = ARGV[1]
local strict = ordering == 'strict'

--#include lib/time.lua
--#include lib/state.lua
--#include lib/claims.lua
--#include lib/wake.lua
--#include lib/put-back.lua
--#include lib/held.lua

local seqs = {}
for i = 4, #ARGV, 5 do seqs[#seqs + 1] = ARGV[i] end
local out = {}
if #seqs == 0 then return out end

-- One HMGET for every state and one write per key: per-seq calls cost Redis CPU per message.
local got = rcall('HMGET', state, unpack(seqs))
local current = {}
for j = 1, #seqs do current[seqs[j]] = got[j] end

local writes, bodies, done, created, processed, perToken, order, prefixes = {}, {}, {}, {}, {}, {}, {}, {}
local j = 0
for i = 4, #ARGV, 5 do
  j = j + 1
  local seq, token, body = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local prefix = prefixes[token]
  if not prefix then
    prefix = 'C|' .. token .. '|'
    prefixes[token] = prefix
  end
  if isClaimedBy(current[seq], prefix) then
    current[seq] = '{' -- a seq given twice in one call completes once
    if strict then
      writes[#writes + 1] = seq
      writes[#writes + 1] = body
    else
      bodies[#bodies + 1] = body
    end
    done[#done + 1] = seq
    created[#created + 1] = ARGV[i + 3]
    processed[#processed + 1] = ARGV[i + 4]
    if not perToken[token] then
      perToken[token] = 0
      order[#order + 1] = token
    end
    perToken[token] = perToken[token] + 1
    out[j] = 1
  else
    out[j] = 0
  end
end

if #done > 0 then
  if strict then
    rcall('HSET', state, unpack(writes))
    rcall('XADD', results, '*', 's', table.concat(done, ','), 'c', table.concat(created, ','), 'p', table.concat(processed, ','))
    wake(ARGV[2], ARGV[3])
  else
    rcall('RPUSH', output, unpack(bodies))
    rcall('HDEL', state, unpack(done))
  end
  for _, token in ipairs(order) do settleClaim(token, perToken[token]) end
  if rcall('EXISTS', held) == 1 then
    local owned = {}
    for i = 1, #done do owned[i] = { done[i], true } end
    judgeHeld(owned, nowMs())
  end
end
return out
