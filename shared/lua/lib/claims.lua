--[[
  Fragment, not a script: `--#include lib/claims.lua` is replaced by this text when the scripts
  are loaded. Expects the locals `rcall` and `claims` (hash).

  A claim is one field of `claims`: token -> "remaining|seq,seq,...", where `remaining` counts
  its seqs not yet settled. The field goes when the last one settles, so a replayed settle
  that finds the token gone changes nothing, and a claim whose seqs are still claimed is never
  dropped by a settle of the others (a Redis rollback can bring such a mix back).
]]
-- remaining, seqs-string of a claim, or nil when the token holds no claim.
local function readClaim(token)
  local v = rcall('HGET', claims, token)
  if not v then return nil end
  local bar = string.find(v, '|', 1, true)
  return tonumber(string.sub(v, 1, bar - 1)), string.sub(v, bar + 1)
end

-- Counts `settled` seqs of the claim as settled; drops the claim when none remains.
local function settleClaim(token, settled)
  local remaining, seqs = readClaim(token)
  if not remaining then return end
  remaining = remaining - settled
  if remaining <= 0 then
    rcall('HDEL', claims, token)
  else
    rcall('HSET', claims, token, string.format('%d', remaining) .. '|' .. seqs)
  end
end
