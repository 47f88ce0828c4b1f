--[[
  Settle failed attempts of claimed seqs, if the claim is still the caller's. Replaying it
  changes nothing (the claim no longer matches). Per seq, one of:
  - retry     the state becomes R|attempts|envelope and the seq waits in `delayed` until due;
  - dead      the dead-letter record is appended; strict pipelines leave a tombstone (state T,
              named in a results stream entry) so the order moves past the seq at once;
  - malformed the entry was not the message its seq claimed to be (not JSON after all, or a
              seq the processor read differently): the record is appended and the seq is given
              back untouched (state as before the claim), so the real message can still take it.

  KEYS[1] state    hash   seq -> state (lib/state.lua)
  KEYS[2] delayed  zset   seq -> due time of its retry (epoch ms, Redis clock)
  KEYS[3] results  stream strict: entries { s = "seq,seq,..." } of settled seqs (tombstones)
  KEYS[4] dead     list   dead-letter records (JSON), appended
  KEYS[5] claims   hash   claim token -> "remaining|seqs"; a claim goes when its last seq settles
  KEYS[6] meta     hash   increments "dead"
  KEYS[7] held     hash   seq -> a copy held until its seq's claim is judged (lib/held.lua):
                          a conflict once a retry or dead letter proves the claim, back to the
                          input once a malformed one disproves it
  KEYS[8] input    list   strict pipelines: held copies given their chance go to the head
  KEYS[9] queue    zset   unordered pipelines: as KEYS[8], at the head of their class
  ARGV[1] ordering "strict" | "none"
  ARGV[2] channel  sequencers' wake channel ("" = none)
  ARGV[3] tag      the partition's tag, the wake message
  ARGV[4] inputChannel processors' wake channel ("" = none), when a held copy went back
  ARGV[5 ..]       5-tuples: seq, claim token, action ("retry" | "dead" | "malformed"), delay
                   in ms (retry; else 0), body (retry: the envelope of the next attempt; else
                   the dead-letter record), JSON

  Returns { settled, dueAt }: settled has one entry per tuple (1 = settled, 0 = stale);
  dueAt is the earliest retry due time this call scheduled (epoch ms, Redis clock), or -1.
]]
local rcall = redis.call
local state, delayed, results, dead, claims, meta, held, input, queue =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local ordering = ARGV[1]
local strict = ordering == 'strict'

--#include lib/time.lua
--#include lib/state.lua
--#include lib/claims.lua
--#include lib/wake.lua
--#include lib/put-back.lua
--#include lib/held.lua

local now = nowMs()
local out, tombstones, perToken, order, judged = {}, {}, {}, {}, {}
local deadCount, dueAt = 0, -1
for i = 5, #ARGV, 5 do
  local seq, token, action, delayMs, body = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local attempts = claimAttempts(rcall('HGET', state, seq), token)
  if attempts then
    if action == 'retry' then
      local due = now + tonumber(delayMs)
      rcall('HSET', state, seq, 'R|' .. attempts .. '|' .. body)
      rcall('ZADD', delayed, due, seq)
      if dueAt == -1 or due < dueAt then dueAt = due end
    else
      rcall('RPUSH', dead, body)
      deadCount = deadCount + 1
      if action == 'malformed' then
        if attempts > 1 then
          rcall('HSET', state, seq, 'Q|' .. (attempts - 1))
        else
          rcall('HDEL', state, seq)
        end
      elseif strict then
        rcall('HSET', state, seq, 'T')
        tombstones[#tombstones + 1] = seq
      else
        rcall('HDEL', state, seq)
      end
    end
    judged[#judged + 1] = { seq, action ~= 'malformed' }
    if not perToken[token] then
      perToken[token] = 0
      order[#order + 1] = token
    end
    perToken[token] = perToken[token] + 1
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
for _, token in ipairs(order) do settleClaim(token, perToken[token]) end
if deadCount > 0 then rcall('HINCRBY', meta, 'dead', deadCount) end
if #tombstones > 0 then
  rcall('XADD', results, '*', 's', table.concat(tombstones, ','))
  wake(ARGV[2], ARGV[3])
end
if judgeHeld(judged, now) > 0 then wake(ARGV[4], ARGV[3]) end
return { out, dueAt }
