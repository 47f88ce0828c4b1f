--[[
  Give claims back to the head of the input without counting the attempt (a processor
  stopping gracefully, or giving up a claim it cannot finish), and optionally end the owner's
  liveness: then every claim of the owner goes back, the given tokens and any it forgot (a
  claim whose reply it never got), since nothing would reap them. Only seqs still claimed
  under a token move; settled ones are left alone.

  KEYS[1] input    list   strict pipelines: returned entries go to the head
  KEYS[2] queue    zset   unordered pipelines: returned entries go to the head of their class
  KEYS[3] state    hash   seq -> state (lib/state.lua); returned seqs become Q
  KEYS[4] claims   hash   claim token -> "remaining|seqs"; given tokens are removed
  KEYS[5] owners   zset   owner -> liveness deadline; the owner is removed when given
  ARGV[1] ordering "strict" | "none"
  ARGV[2] owner    the owner leaving: removed from `owners`, all its claims given back ("" = none)
  ARGV[3] channel  processors' wake channel ("" = none)
  ARGV[4] tag      the partition's tag, the wake message
  ARGV[5 ..]       claim tokens to give back

  Returns the number of seqs given back.
]]
local rcall = redis.call
local input, queue, state, claims, owners = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local ordering = ARGV[1]

--#include lib/state.lua
--#include lib/put-back.lua
--#include lib/claims.lua
--#include lib/return-claims.lua
--#include lib/wake.lua

local tokens, seen = {}, {}
for i = 5, #ARGV do
  tokens[#tokens + 1] = ARGV[i]
  seen[ARGV[i]] = true
end
if ARGV[2] ~= '' then
  for _, token in ipairs(tokensOf(ARGV[2], rcall('HKEYS', claims))) do
    if not seen[token] then tokens[#tokens + 1] = token end
  end
  rcall('ZREM', owners, ARGV[2])
end
local returned = returnClaims(tokens, false)
if returned > 0 then wake(ARGV[3], ARGV[4]) end
return returned
