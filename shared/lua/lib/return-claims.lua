--[[
  Fragment, not a script: `--#include lib/return-claims.lua` is replaced by this text when the
  scripts are loaded. Needs lib/state.lua, lib/put-back.lua and lib/claims.lua included before
  it, and the locals `rcall`, `state` (hash), `claims` (hash), `owners` (zset).
]]
-- Takes every seq still claimed under `token` off its claim (state Q) and drops the claim;
-- adds each raw envelope to `back` (seq -> raw) for putBackAll. `countAttempt`: the attempt
-- failed (its owner died) rather than being given back.
local function takeClaim(token, countAttempt, back)
  local _, seqs = readClaim(token)
  if not seqs then return 0 end
  local n = 0
  for seq in string.gmatch(seqs, '[^,]+') do
    local attempts, raw = claimedBy(rcall('HGET', state, seq), token)
    if attempts then
      if not countAttempt then attempts = attempts - 1 end
      back[#back + 1] = { tonumber(seq), raw }
      rcall('HSET', state, seq, 'Q|' .. attempts)
      n = n + 1
    end
  end
  rcall('HDEL', claims, token)
  return n
end

-- Puts taken envelopes back at the head, lowest seq first in line.
local function putBackAll(back)
  table.sort(back, function(a, b) return a[1] > b[1] end)
  for _, item in ipairs(back) do putBack(item[2]) end
end

-- Gives `tokens` back at the head; returns how many seqs went.
local function returnClaims(tokens, countAttempt)
  local back, n = {}, 0
  for _, token in ipairs(tokens) do n = n + takeClaim(token, countAttempt, back) end
  putBackAll(back)
  return n
end

-- The claim tokens of `owner` among `tokens`: "owner:n", n holding no ":" (owners hold none).
local function tokensOf(owner, tokens)
  local prefix = owner .. ':'
  local mine = {}
  for _, token in ipairs(tokens) do
    if string.sub(token, 1, #prefix) == prefix and not string.find(token, ':', #prefix + 1, true) then
      mine[#mine + 1] = token
    end
  end
  return mine
end

-- Returns the claims of owners whose liveness lapsed before `now` (at most `limit` owners),
-- counting the attempt; returns how many seqs went back.
local function reapDeadOwners(now, limit)
  local dead = rcall('ZRANGE', owners, '-inf', '(' .. now, 'BYSCORE', 'LIMIT', 0, limit)
  if #dead == 0 then return 0 end
  local tokens = rcall('HKEYS', claims)
  local theirs = {}
  for _, owner in ipairs(dead) do
    for _, token in ipairs(tokensOf(owner, tokens)) do theirs[#theirs + 1] = token end
    rcall('ZREM', owners, owner)
  end
  return returnClaims(theirs, true)
end
