--[[
  Give claims back to the head of the input without counting the attempt (a processor
  stopping gracefully, or giving up a claim it cannot finish), and optionally end the owner's
  liveness. Only seqs still claimed under a token move; settled ones are left alone.

  KEYS[1] input    list   strict pipelines: returned entries go to the head
  KEYS[2] queue    zset   unordered pipelines: returned entries go to the head of their class
  KEYS[3] state    hash   seq -> state (lib/state.lua); returned seqs become Q
  KEYS[4] claims   hash   claim token -> "remaining|seqs"; given tokens are removed
  KEYS[5] owners   zset   owner -> liveness deadline; the owner is removed when given
  ARGV[1] ordering "strict" | "none"
  ARGV[2] owner    the owner to remove from `owners` ("" = keep it)
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

local returned = 0
for i = 5, #ARGV do returned = returned + returnClaim(ARGV[i], false) end
if ARGV[2] ~= '' then rcall('ZREM', owners, ARGV[2]) end
if returned > 0 then wake(ARGV[3], ARGV[4]) end
return returned
