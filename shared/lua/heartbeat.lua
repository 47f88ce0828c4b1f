--[[
  A processor's heartbeat in one partition: renew its liveness, return the claims of owners
  whose liveness lapsed (reap), and reconcile its claims with what it holds in memory. A claim
  of this owner that it no longer knows (a Redis rollback brought back a claim it had settled)
  is given back to the input; a claim it holds that Redis no longer has was reaped (the owner
  was presumed dead) or rolled back: the caller stops its work.

  KEYS[1] owners   zset   owner -> liveness deadline (epoch ms, Redis clock)
  KEYS[2] claims   hash   claim token -> "remaining|seqs"
  KEYS[3] state    hash   seq -> state (lib/state.lua); returned seqs become Q
  KEYS[4] input    list   strict pipelines: returned entries go to the head
  KEYS[5] queue    zset   unordered pipelines: returned entries go to the head of their class
  ARGV[1] ordering "strict" | "none"
  ARGV[2] owner    the processor's id
  ARGV[3] leaseMs  its liveness deadline becomes now + leaseMs
  ARGV[4] channel  processors' wake channel ("" = none), when seqs went back to the input
  ARGV[5] tag      the partition's tag, the wake message
  ARGV[6 ..]       the claim tokens the owner holds in this partition (sent or settling)

  Returns { alive, gone, returned, now }
    alive    1 = renewed; 0 = this owner is not live here (presumed dead and reaped, or it
             never claimed here): it holds no claim here and is not renewed (its next claim
             makes it live again)
    gone     tokens the owner holds that Redis has no claim for
    returned seqs given back: of dead owners, and of this owner's unknown claims
    now      Redis's clock, epoch ms
]]
local rcall = redis.call
local owners, claims, state, input, queue = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local ordering = ARGV[1]
local owner = ARGV[2]

--#include lib/time.lua
--#include lib/state.lua
--#include lib/put-back.lua
--#include lib/claims.lua
--#include lib/return-claims.lua
--#include lib/wake.lua

local now = nowMs()
local held = {}
for i = 6, #ARGV do held[ARGV[i]] = true end
local alive = 0
if rcall('ZSCORE', owners, owner) then
  rcall('ZADD', owners, now + tonumber(ARGV[3]), owner)
  alive = 1
end
local returned = reapDeadOwners(now, 10)
local gone = {}
for token in pairs(held) do
  if rcall('HEXISTS', claims, token) == 0 then gone[#gone + 1] = token end
end
if alive == 1 then
  local unknown = {}
  for _, token in ipairs(tokensOf(owner, rcall('HKEYS', claims))) do
    if not held[token] then unknown[#unknown + 1] = token end
  end
  returned = returned + returnClaims(unknown, false)
end
if returned > 0 then wake(ARGV[4], ARGV[5]) end
return { alive, gone, returned, now }
