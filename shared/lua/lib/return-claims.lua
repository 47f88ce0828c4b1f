--[[
  Fragment, not a script: `--#include lib/return-claims.lua` is replaced by this text when the
  scripts are loaded. Needs lib/state.lua, lib/put-back.lua and lib/claims.lua included before
  it, and the locals `rcall`, `state` (hash), `claims` (hash), `owners` (zset).
]]
-- Puts every seq still claimed under `token` back at the head of the input (state Q) and drops
-- the claim. `countAttempt`: the attempt failed (its owner died) rather than being given back.
local function returnClaim(token, countAttempt)
  local _, seqs = readClaim(token)
  if not seqs then return 0 end
  local n = 0
  for seq in string.gmatch(seqs, '[^,]+') do
    local attempts, raw = claimedBy(rcall('HGET', state, seq), token)
    if attempts then
      if not countAttempt then attempts = attempts - 1 end
      putBack(raw)
      rcall('HSET', state, seq, 'Q|' .. attempts)
      n = n + 1
    end
  end
  rcall('HDEL', claims, token)
  return n
end

-- The claim tokens of `owner` among `tokens`.
local function tokensOf(owner, tokens)
  local prefix = owner .. ':'
  local mine = {}
  for _, token in ipairs(tokens) do
    if string.sub(token, 1, #prefix) == prefix then mine[#mine + 1] = token end
  end
  return mine
end

-- Returns the claims of owners whose liveness lapsed before `now` (at most `limit` owners),
-- counting the attempt; returns how many seqs went back.
local function reapDeadOwners(now, limit)
  local dead = rcall('ZRANGE', owners, '-inf', '(' .. now, 'BYSCORE', 'LIMIT', 0, limit)
  if #dead == 0 then return 0 end
  local tokens = rcall('HKEYS', claims)
  local n = 0
  for _, owner in ipairs(dead) do
    for _, token in ipairs(tokensOf(owner, tokens)) do n = n + returnClaim(token, true) end
    rcall('ZREM', owners, owner)
  end
  return n
end
