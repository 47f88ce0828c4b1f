--[[
  Complete claimed seqs: hand each result on, if the claim is still ours. Replaying it changes
  nothing: a seq whose claim token no longer matches (reaped, timed out, already completed) is
  reported stale and left alone.

  KEYS[1] state    hash   seq -> state (see claim.lua); a completed seq becomes "D" (ordered) or
                          is removed (unordered)
  KEYS[2] target   stream results stream (ordered: fields s=seq, k="r", b=body)
                   or list (unordered: the output list, body appended)
  KEYS[3] leases   zset   claim token -> lease deadline; finished tokens are removed
  KEYS[4] batches  hash   claim token -> seqs; finished tokens are removed
  ARGV[1] mode     "ordered" | "unordered"
  ARGV[2] n        number of finished claim tokens that follow
  ARGV[3 .. 2+n]   finished claim tokens (every seq of that claim is settled)
  ARGV[3+n ..]     triples: seq, claim token, body (the output envelope, JSON)

  Returns an array with one entry per triple: 1 = completed, 0 = stale (claim no longer ours).
]]
local rcall = redis.call
local state, target, leases, batches = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ordered = ARGV[1] == 'ordered'
local n = tonumber(ARGV[2])
for i = 3, 2 + n do
  rcall('ZREM', leases, ARGV[i])
  rcall('HDEL', batches, ARGV[i])
end

local results = {}
for i = 3 + n, #ARGV, 3 do
  local seq, token, body = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local prefix = 'C|' .. token .. '|'
  local st = rcall('HGET', state, seq)
  if st and string.sub(st, 1, #prefix) == prefix then
    if ordered then
      rcall('XADD', target, '*', 's', seq, 'k', 'r', 'b', body)
      rcall('HSET', state, seq, 'D')
    else
      rcall('RPUSH', target, body)
      rcall('HDEL', state, seq)
    end
    results[#results + 1] = 1
  else
    results[#results + 1] = 0
  end
end
return results
