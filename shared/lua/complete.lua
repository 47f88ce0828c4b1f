--[[
  Complete claimed seqs: hand each result on, if the claim is still ours. Replaying it changes
  nothing: a seq whose claim token no longer matches (reaped, timed out, already completed) is
  reported stale and left alone.

  KEYS[1] state    hash   seq -> state (see claim.lua); a completed seq becomes "D" (ordered) or
                          is removed (unordered)
  KEYS[2] target   stream results stream (ordered: ONE entry per call, fields seq -> body for
                          every completed seq) or list (unordered: the output list, bodies
                          appended)
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

-- One HMGET for every state and one write per key: per-seq calls cost Redis CPU per message.
local seqs = {}
for i = 3 + n, #ARGV, 3 do seqs[#seqs + 1] = ARGV[i] end
local results = {}
if #seqs == 0 then return results end
local states = rcall('HMGET', state, unpack(seqs))
local current, bodies, done = {}, {}, {}
for j = 1, #seqs do current[seqs[j]] = states[j] end
local j = 0
for i = 3 + n, #ARGV, 3 do
  j = j + 1
  local seq, token, body = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local prefix = 'C|' .. token .. '|'
  local st = current[seq]
  if st and string.sub(st, 1, #prefix) == prefix then
    current[seq] = 'D' -- a seq given twice in one call completes once
    if ordered then
      bodies[#bodies + 1] = seq
      bodies[#bodies + 1] = body
      done[#done + 1] = seq
      done[#done + 1] = 'D'
    else
      bodies[#bodies + 1] = body
      done[#done + 1] = seq
    end
    results[j] = 1
  else
    results[j] = 0
  end
end
if #done > 0 then
  if ordered then
    -- One stream entry for the whole call: the sequencer deletes it once all its seqs are out.
    rcall('XADD', target, '*', unpack(bodies))
    rcall('HSET', state, unpack(done))
  else
    rcall('RPUSH', target, unpack(bodies))
    rcall('HDEL', state, unpack(done))
  end
end
return results
